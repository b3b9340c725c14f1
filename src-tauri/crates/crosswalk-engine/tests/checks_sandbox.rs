//! "Test connection" against the sandbox's documented servers: the shared HTTP/auth layer signs
//! in for real (client credentials, basic auth) and every failure maps to the admin's fix.

use crosswalk_core::{
    CheckReport, CheckStatus, Cloud, ConnectionConfig, ConnectionSettings, SecretRef,
};
use crosswalk_engine::checks::test_connection;
use crosswalk_engine::Services;
use crosswalk_sandbox::{identity, jira, Sandbox, SandboxOptions};
use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::Arc;

/// Services whose secrets come from an in-test map (through the env-var fallback path).
fn services(secrets: &[(&str, &str)]) -> Services {
    let map: HashMap<String, OsString> = secrets
        .iter()
        .map(|(k, v)| ((*k).to_owned(), OsString::from(*v)))
        .collect();
    let secrets = crosswalk_secrets::Secrets::new(crosswalk_secrets::Keychain::with_service(
        "crosswalk-checks-tests",
    ))
    .with_env_lookup(move |var: &str| map.get(var).cloned());
    Services::new(
        Arc::new(crosswalk_store::Store::open_in_memory().unwrap()),
        Arc::new(secrets),
    )
}

fn entra(sandbox: &Sandbox, tenant: &str) -> ConnectionConfig {
    ConnectionConfig {
        name: "contoso".into(),
        settings: ConnectionSettings::Entra {
            tenant_id: tenant.into(),
            client_id: identity::CLIENT_ID.into(),
            cloud: Cloud::Custom,
            authority_url: Some(sandbox.urls.login.clone()),
            graph_url: Some(sandbox.urls.graph.clone()),
        },
        secret: Some(SecretRef::Env("ENTRA_SECRET".into())),
    }
}

fn jira_connection(sandbox: &Sandbox) -> ConnectionConfig {
    ConnectionConfig {
        name: "jira".into(),
        settings: ConnectionSettings::Jira {
            site_url: sandbox.urls.jira.clone(),
            email: jira::ADMIN_EMAIL.into(),
            assets_api_url: None,
        },
        secret: Some(SecretRef::Env("JIRA_TOKEN".into())),
    }
}

fn dataverse(sandbox: &Sandbox) -> ConnectionConfig {
    ConnectionConfig {
        name: "dynamics".into(),
        settings: ConnectionSettings::Dataverse {
            org_url: sandbox.urls.dataverse.clone(),
            tenant_id: identity::TENANT_ID.into(),
            client_id: identity::CLIENT_ID.into(),
            cloud: Cloud::Custom,
            authority_url: Some(sandbox.urls.login.clone()),
        },
        secret: Some(SecretRef::Env("ENTRA_SECRET".into())),
    }
}

fn item<'a>(report: &'a CheckReport, label: &str) -> &'a crosswalk_core::CheckItem {
    report
        .items
        .iter()
        .find(|i| i.label == label)
        .unwrap_or_else(|| panic!("no check {label} in {report:#?}"))
}

#[tokio::test]
async fn every_check_passes_against_a_correctly_set_up_sandbox() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let services = services(&[
        ("ENTRA_SECRET", identity::CLIENT_SECRET),
        ("JIRA_TOKEN", jira::ADMIN_API_TOKEN),
    ]);
    // A Dataverse connection in a custom cloud finds Graph (for its secret's expiry) through the
    // Entra connection of the same tenant.
    services
        .store
        .upsert_connection(&entra(&sandbox, identity::TENANT_ID))
        .unwrap();
    for connection in [
        entra(&sandbox, identity::TENANT_ID),
        jira_connection(&sandbox),
        dataverse(&sandbox),
    ] {
        let report = test_connection(&services, &connection).await;
        assert!(
            report.passed() && report.items.iter().all(|i| i.status == CheckStatus::Ok),
            "{report:#?}"
        );
    }
}

#[tokio::test]
async fn a_missing_intune_permission_is_named_with_the_fix() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox.handle.identity(|i| {
        i.revoke_role(
            identity::CLIENT_ID,
            "DeviceManagementManagedDevices.Read.All",
        )
    });
    let services = services(&[("ENTRA_SECRET", identity::CLIENT_SECRET)]);
    let report = test_connection(&services, &entra(&sandbox, identity::TENANT_DOMAIN)).await;
    assert_eq!(item(&report, "Read users").status, CheckStatus::Ok);
    let intune = item(&report, "Read Intune managed devices");
    assert_eq!(intune.status, CheckStatus::Fail, "{report:#?}");
    assert!(
        intune
            .detail
            .contains("DeviceManagementManagedDevices.Read.All")
            && intune
                .detail
                .contains("Device.Read.All does NOT cover Intune")
    );
    assert!(intune
        .fix
        .as_deref()
        .unwrap()
        .contains("Grant admin consent"));
}

#[tokio::test]
async fn an_expired_secret_and_a_secret_id_each_get_their_own_fix() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let report = test_connection(
        &services(&[("ENTRA_SECRET", identity::CLIENT_SECRET_ID)]),
        &entra(&sandbox, identity::TENANT_ID),
    )
    .await;
    let sign_in = item(&report, "Sign in to Microsoft Entra");
    assert_eq!(sign_in.status, CheckStatus::Fail);
    let text = format!(
        "{} {}",
        sign_in.detail,
        sign_in.fix.clone().unwrap_or_default()
    );
    assert!(text.contains("Value") || text.contains("value"), "{text}");
    assert_eq!(item(&report, "Read users").status, CheckStatus::Skipped);

    sandbox.handle.identity(|i| {
        let app = i.app_mut(identity::CLIENT_ID).unwrap();
        app.secrets[0].end = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    });
    let report = test_connection(
        &services(&[("ENTRA_SECRET", identity::CLIENT_SECRET)]),
        &entra(&sandbox, identity::TENANT_ID),
    )
    .await;
    let sign_in = item(&report, "Sign in to Microsoft Entra");
    assert_eq!(sign_in.status, CheckStatus::Fail);
    assert!(
        sign_in.detail.to_lowercase().contains("expired"),
        "{sign_in:#?}"
    );
    assert!(
        !format!("{report:?}").contains(identity::CLIENT_SECRET),
        "the secret must never appear in a report"
    );
}

#[tokio::test]
async fn a_wrong_tenant_is_reported_as_such() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let wrong = "11111111-2222-3333-4444-555555555555";
    let report = test_connection(
        &services(&[("ENTRA_SECRET", identity::CLIENT_SECRET)]),
        &entra(&sandbox, wrong),
    )
    .await;
    let sign_in = item(&report, "Sign in to Microsoft Entra");
    assert_eq!(sign_in.status, CheckStatus::Fail);
    assert!(
        format!("{} {:?}", sign_in.detail, sign_in.fix)
            .to_lowercase()
            .contains("tenant"),
        "{sign_in:#?}"
    );
}

#[tokio::test]
async fn jira_rejects_a_wrong_token_and_says_what_to_check() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let report = test_connection(
        &services(&[("JIRA_TOKEN", "not-the-token")]),
        &jira_connection(&sandbox),
    )
    .await;
    let sign_in = item(&report, "Sign in to Jira");
    assert_eq!(sign_in.status, CheckStatus::Fail);
    assert!(sign_in.fix.as_deref().unwrap().contains(jira::ADMIN_EMAIL));
    assert_eq!(
        item(&report, "Jira Service Management Assets").status,
        CheckStatus::Skipped
    );
}

#[tokio::test]
async fn dataverse_without_an_application_user_gets_the_admin_center_fix() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox
        .handle
        .dataverse(|d| d.remove_application_user(identity::CLIENT_ID));
    let report = test_connection(
        &services(&[("ENTRA_SECRET", identity::CLIENT_SECRET)]),
        &dataverse(&sandbox),
    )
    .await;
    assert_eq!(
        item(&report, "Sign in to Microsoft Entra").status,
        CheckStatus::Ok
    );
    let user = item(&report, "Dataverse application user");
    assert_eq!(user.status, CheckStatus::Fail);
    assert!(
        user.fix.as_deref().unwrap().contains("Application users"),
        "{user:#?}"
    );
}
