//! Messages, keyring error mapping and the environment path; none of these touch a keychain.

use crate::{Error, Keychain, Secrets};
use crosswalk_core::{Code, ConnectionConfig, ConnectionSettings, Secret, SecretRef};
use std::collections::HashMap;
use std::ffi::OsString;

const VALUE: &str = "hunter2-sentinel-value";

fn assert_no_value(error: &Error) {
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{:?}", error.user_facing()),
    ] {
        assert!(!text.contains(VALUE), "secret leaked into {text}");
    }
}

#[test]
fn missing_tells_how_to_store_the_secret() {
    let error = Error::Missing {
        name: "jira-prod".into(),
    };
    assert_eq!(
        error.to_string(),
        "No secret named jira-prod in the OS keychain. Fix: `crosswalk secret set jira-prod` \
         (reads the value from stdin) or save the connection again in the console."
    );
    assert_eq!(error.user_facing().code, Code::NotFound);
}

#[cfg(target_os = "linux")]
#[test]
fn unavailable_names_the_secret_service_and_the_env_fallback() {
    let error = Error::Unavailable {
        detail: "Platform secure storage failure: DBus error: no bus".into(),
    };
    let facing = error.user_facing();
    assert_eq!(facing.code, Code::SecretsUnavailable);
    assert!(facing.message.starts_with(
        "No unlocked Secret Service (GNOME Keyring or KWallet) is reachable on the session D-Bus"
    ));
    assert!(
        facing.message.contains("DBus error: no bus"),
        "keeps keyring's detail"
    );
    assert!(facing.fix.unwrap().contains("secret = { env = \"VAR\" }"));
    assert_eq!(error.to_string(), error.user_facing().to_string());
}

#[test]
fn env_missing_names_the_variable_and_the_connection() {
    let error = Error::EnvMissing {
        var: "JIRA_TOKEN".into(),
        connection: Some("jira-prod".into()),
    };
    assert!(error.to_string().starts_with(
        "Environment variable JIRA_TOKEN named in the configuration of connection jira-prod is not set."
    ));
    assert_eq!(error.user_facing().code, Code::SecretsUnavailable);
}

#[test]
fn keyring_errors_map_without_carrying_the_value() {
    let check = |error: keyring::Error, expect: fn(&Error) -> bool| {
        let mapped = Error::from_keyring("jira-prod", error);
        assert!(expect(&mapped), "{mapped:?}");
        assert_no_value(&mapped);
    };
    check(
        keyring::Error::NoEntry,
        |e| matches!(e, Error::Missing { name } if name == "jira-prod"),
    );
    check(
        keyring::Error::BadEncoding(VALUE.as_bytes().to_vec()),
        |e| matches!(e, Error::Invalid { .. }),
    );
    check(
        keyring::Error::NoStorageAccess("locked".into()),
        |e| matches!(e, Error::Unavailable { detail } if detail.contains("locked")),
    );
    check(keyring::Error::PlatformFailure("no bus".into()), |e| {
        matches!(e, Error::Unavailable { .. })
    });
    check(keyring::Error::TooLong("user".into(), 255), |e| {
        matches!(e, Error::Invalid { .. })
    });
    check(
        keyring::Error::Invalid("user".into(), "empty".into()),
        |e| matches!(e, Error::Invalid { .. }),
    );
    check(keyring::Error::Ambiguous(Vec::new()), |e| {
        matches!(e, Error::Invalid { .. })
    });
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + Send + Sync + 'static {
    let map: HashMap<String, OsString> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    move |var| map.get(var).cloned()
}

fn jira_with(secret: SecretRef) -> ConnectionConfig {
    ConnectionConfig {
        name: "jira-prod".into(),
        settings: ConnectionSettings::Jira {
            site_url: "https://acme.atlassian.net".parse().unwrap(),
            email: "admin@acme.com".into(),
            assets_api_url: None,
        },
        secret: Some(secret),
    }
}

#[test]
fn env_refs_read_the_variable_and_explain_unset_or_empty_ones() {
    let secrets = Secrets::new(Keychain::with_service("crosswalk-unit-never-used"))
        .with_env_lookup(env(&[
            ("JIRA_TOKEN", &format!("{VALUE}\n")),
            ("EMPTY", "  "),
        ]));

    let secret = secrets
        .resolve(&SecretRef::Env("JIRA_TOKEN".into()))
        .unwrap();
    assert_eq!(secret.expose(), VALUE, "trailing newline removed");
    assert_eq!(format!("{secret:?}"), "Secret([redacted])");

    let error = secrets
        .resolve_for(&jira_with(SecretRef::Env("UNSET_VAR".into())))
        .unwrap_err();
    assert_eq!(
        error,
        Error::EnvMissing {
            var: "UNSET_VAR".into(),
            connection: Some("jira-prod".into())
        }
    );
    let error = secrets
        .resolve(&SecretRef::Env("UNSET_VAR".into()))
        .unwrap_err();
    assert!(error
        .to_string()
        .starts_with("Environment variable UNSET_VAR named in the configuration is not set."));

    let error = secrets
        .resolve(&SecretRef::Env("EMPTY".into()))
        .unwrap_err();
    assert!(
        matches!(&error, Error::Invalid { problem, .. } if problem == "is empty"),
        "{error:?}"
    );
    assert!(error.to_string().contains("EMPTY"));
    assert_eq!(error.user_facing().code, Code::Validation);
    assert_no_value(&error);
}

#[cfg(unix)]
#[test]
fn env_values_that_are_not_utf8_are_invalid() {
    use std::os::unix::ffi::OsStringExt;
    let secrets =
        Secrets::from_os().with_env_lookup(|_| Some(OsString::from_vec(vec![0xff, 0xfe])));
    let error = secrets
        .resolve(&SecretRef::Env("BINARY".into()))
        .unwrap_err();
    assert!(matches!(&error, Error::Invalid { problem, .. } if problem.contains("UTF-8")));
}

#[test]
fn empty_secrets_and_names_are_refused_before_the_keychain_is_touched() {
    let keychain = Keychain::with_service("crosswalk-unit-never-used");
    let error = keychain.set("jira-prod", &Secret::new("  \n")).unwrap_err();
    assert!(
        matches!(&error, Error::Invalid { problem, .. } if problem == "is empty"),
        "{error:?}"
    );
    assert!(matches!(keychain.get(""), Err(Error::Invalid { .. })));
    assert!(matches!(keychain.delete(" "), Err(Error::Invalid { .. })));
}

#[test]
fn the_default_service_is_crosswalk() {
    assert_eq!(Keychain::default().service(), "crosswalk");
    assert_eq!(
        Secrets::from_os().keychain().service(),
        Keychain::DEFAULT_SERVICE
    );
    assert!(!Keychain::platform_name().is_empty());
}

#[test]
fn secrets_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Secrets>();
    assert_send_sync::<Error>();
}
