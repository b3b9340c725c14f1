//! Round trips against the real OS keychain (a Secret Service on Linux).
//!
//! Skipped (with a note) unless `CROSSWALK_KEYRING_TESTS=1`, because they need a running,
//! unlocked keyring. `keyring-session.sh` provides a throwaway gnome-keyring and sets the
//! variable; with it set, every test here must pass. Entries go under a service name unique to
//! this run, so a developer's real entries are never touched.

use crosswalk_secrets::{Error, Keychain, Secret, SecretRef, Secrets};
use std::hash::{BuildHasher, RandomState};

fn enabled(test: &str) -> bool {
    let on = std::env::var("CROSSWALK_KEYRING_TESTS").is_ok_and(|value| value == "1");
    if !on {
        eprintln!("skipping {test}: set CROSSWALK_KEYRING_TESTS=1 (see keyring-session.sh) to use a real keychain");
    }
    on
}

/// A keychain under a service name nobody else uses; removes `names` again when dropped.
struct Scratch {
    keychain: Keychain,
    names: Vec<&'static str>,
}

impl Scratch {
    fn new(names: &[&'static str]) -> Scratch {
        let unique = RandomState::new().hash_one(std::process::id());
        let service = format!("crosswalk-test-{}-{unique:016x}", std::process::id());
        Scratch {
            keychain: Keychain::with_service(service),
            names: names.to_vec(),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = self.keychain.delete(name);
        }
    }
}

#[test]
fn set_get_overwrite_delete() {
    if !enabled("set_get_overwrite_delete") {
        return;
    }
    let scratch = Scratch::new(&["jira-prod"]);
    let keychain = &scratch.keychain;
    assert!(!keychain.exists("jira-prod").unwrap());

    keychain
        .set("jira-prod", &Secret::new("first-value\n"))
        .unwrap();
    assert!(keychain.exists("jira-prod").unwrap());
    assert_eq!(keychain.get("jira-prod").unwrap().expose(), "first-value");

    keychain
        .set("jira-prod", &Secret::new("second-value"))
        .unwrap();
    assert_eq!(keychain.get("jira-prod").unwrap().expose(), "second-value");

    assert!(keychain.delete("jira-prod").unwrap());
    assert!(
        !keychain.delete("jira-prod").unwrap(),
        "deleting twice is not an error"
    );
    assert!(!keychain.exists("jira-prod").unwrap());
}

#[test]
fn a_missing_entry_says_how_to_store_it_and_never_shows_a_value() {
    if !enabled("a_missing_entry_says_how_to_store_it_and_never_shows_a_value") {
        return;
    }
    let scratch = Scratch::new(&["other"]);
    scratch
        .keychain
        .set("other", &Secret::new("value-of-another-entry"))
        .unwrap();
    let error = scratch.keychain.get("never-stored").unwrap_err();
    assert_eq!(
        error,
        Error::Missing {
            name: "never-stored".into()
        }
    );
    assert!(error
        .to_string()
        .contains("crosswalk secret set never-stored"));
    assert!(!format!("{error} {error:?}").contains("value-of-another-entry"));
}

#[test]
fn names_are_separate_entries_and_services_are_separate_namespaces() {
    if !enabled("names_are_separate_entries_and_services_are_separate_namespaces") {
        return;
    }
    let scratch = Scratch::new(&["entra-prod", "jira-prod"]);
    let other = Scratch::new(&["jira-prod"]);
    scratch
        .keychain
        .set("entra-prod", &Secret::new("entra-value"))
        .unwrap();
    scratch
        .keychain
        .set("jira-prod", &Secret::new("jira-value"))
        .unwrap();
    other
        .keychain
        .set("jira-prod", &Secret::new("other-service-value"))
        .unwrap();
    assert_eq!(
        scratch.keychain.get("entra-prod").unwrap().expose(),
        "entra-value"
    );
    assert_eq!(
        scratch.keychain.get("jira-prod").unwrap().expose(),
        "jira-value"
    );
    assert_eq!(
        other.keychain.get("jira-prod").unwrap().expose(),
        "other-service-value"
    );
}

#[test]
fn resolving_a_keychain_ref_reads_the_entry() {
    if !enabled("resolving_a_keychain_ref_reads_the_entry") {
        return;
    }
    let scratch = Scratch::new(&["dataverse-prod"]);
    scratch
        .keychain
        .set("dataverse-prod", &Secret::new("client-secret-value"))
        .unwrap();
    let secrets = Secrets::new(scratch.keychain.clone()).with_env_lookup(|_| None);
    let secret = secrets
        .resolve(&SecretRef::Keychain("dataverse-prod".into()))
        .unwrap();
    assert_eq!(secret.expose(), "client-secret-value");
    let error = secrets
        .resolve(&SecretRef::Keychain("absent".into()))
        .unwrap_err();
    assert!(matches!(error, Error::Missing { .. }));
}
