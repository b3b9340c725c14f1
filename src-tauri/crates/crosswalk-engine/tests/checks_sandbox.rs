//! "Test connection" against the sandbox's documented servers: the shared HTTP/auth layer signs
//! in for real (client credentials, basic auth) and every failure maps to the admin's fix.

use crosswalk_core::{
    CheckReport, CheckStatus, Cloud, ConnectionConfig, ConnectionSettings, JobConfig, SecretRef,
};
use crosswalk_engine::checks::test_connection;
use crosswalk_engine::Services;
use crosswalk_sandbox::dataverse::Privilege;
use crosswalk_sandbox::{identity, jira, Sandbox, SandboxOptions};
use serde_json::json;
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

const NOTES: &str = "Notes (annotation)";
const CASES: &str = "Case table (incident)";
const TASKS: &str = "Task table (task)";
const OPPORTUNITIES: &str = "Opportunity table (opportunity)";
const LEADS: &str = "Lead table (lead)";
/// The optional row saying whether "most recent wins" can time Dynamics' side of a conflict
/// on Cases by the column's audit entry.
const CASES_AUDIT: &str = "Case table (incident) audit history (optional)";

/// A Smart Connected Item (job kind `dynamics-item`) as the config file writes it.
fn smart_item(name: &str, connection: &str, table: &str, extra: serde_json::Value) -> JobConfig {
    let mut settings = json!({
        "dataverse_connection": connection,
        "jira_connection": "jira",
        "jira_project": "SUP",
        "jira_issue_type": "Task",
        "table": table,
    });
    for (key, value) in extra.as_object().unwrap() {
        settings[key] = value.clone();
    }
    JobConfig {
        name: name.into(),
        kind: "dynamics-item".into(),
        schedule: Default::default(),
        enabled: true,
        settings,
    }
}

/// Services with the Entra connection (for the secret's expiry) and two items on `dynamics`:
/// Cases two-way with status, comments, attachments and mirrored deletions; Tasks one-way. An
/// item of another connection maps leads.
fn services_with_items(sandbox: &Sandbox) -> Services {
    let services = services(&[("ENTRA_SECRET", identity::CLIENT_SECRET)]);
    let store = &services.store;
    store
        .upsert_connection(&entra(sandbox, identity::TENANT_ID))
        .unwrap();
    let items = [
        smart_item(
            "sup-cases",
            "dynamics",
            "incident",
            json!({"mode": "two_way", "status": {"enabled": true}, "comments": true, "attachments": true, "mirror_deletions": true}),
        ),
        smart_item("sup-tasks", "dynamics", "task", json!({})),
        smart_item("other-leads", "elsewhere", "lead", json!({})),
    ];
    for job in &items {
        store.upsert_job(job).unwrap();
    }
    services
}

fn text(item: &crosswalk_core::CheckItem) -> String {
    format!("{} {}", item.detail, item.fix.clone().unwrap_or_default())
}

/// The optional row for reading users' group memberships.
const MEMBERSHIPS: &str = "Read users' group memberships (optional)";

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
        // With no Smart Connected Item yet, the Dataverse connection says its tables wait for one.
        assert!(
            report.passed()
                && report
                    .items
                    .iter()
                    .filter(|i| i.label != "Smart Connected Item tables" && i.label != MEMBERSHIPS)
                    .all(|i| i.status == CheckStatus::Ok),
            "{report:#?}"
        );
    }
    // Users' memberships need Directory.Read.All, which the setup guide does not list: only a
    // warning, naming it, because only jobs that filter users use it.
    let report = test_connection(&services, &entra(&sandbox, identity::TENANT_ID)).await;
    let memberships = item(&report, MEMBERSHIPS);
    assert_eq!(memberships.status, CheckStatus::Warn, "{memberships:#?}");
    assert!(
        memberships.detail.contains("Directory.Read.All"),
        "{memberships:#?}"
    );
    assert!(memberships
        .fix
        .as_deref()
        .unwrap()
        .contains("Directory.Read.All"));
    assert!(report.passed());
    sandbox.handle.identity(|i| {
        if let Some(app) = i.app_mut(identity::CLIENT_ID) {
            app.roles
                .values_mut()
                .for_each(|r| r.push("Directory.Read.All".into()));
        }
    });
    let report = test_connection(&services, &entra(&sandbox, identity::TENANT_ID)).await;
    assert_eq!(item(&report, MEMBERSHIPS).status, CheckStatus::Ok);
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    let tables = item(&report, "Smart Connected Item tables");
    assert_eq!(tables.status, CheckStatus::Skipped);
    assert_eq!(
        tables.detail,
        "No Smart Connected Item uses this connection yet; its tables are checked once one does"
    );
    // Notes are still checked, against the setup guide's baseline.
    let notes = item(&report, NOTES);
    assert_eq!(notes.status, CheckStatus::Ok, "{notes:#?}");
    for right in ["Create", "Read", "Write", "Delete", "Append"] {
        assert!(notes.detail.contains(right), "{notes:#?}");
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
    assert_eq!(item(&report, NOTES).status, CheckStatus::Skipped);
}

#[tokio::test]
async fn dataverse_checks_each_mapped_table_and_notes_against_the_role() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let services = services_with_items(&sandbox);
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    // The optional audit row warns: auditing is off in a fresh environment.
    assert!(
        report
            .items
            .iter()
            .all(|i| i.status == CheckStatus::Ok || i.label == CASES_AUDIT),
        "{report:#?}"
    );
    let labels: Vec<&str> = report.items.iter().map(|i| i.label.as_str()).collect();
    let at = |label: &str| labels.iter().position(|l| *l == label).unwrap();
    assert!(at("Dataverse application user") < at(CASES) && at(CASES) < at(TASKS));
    assert!(at(TASKS) < at(NOTES));
    assert!(!labels.iter().any(|l| l.contains("lead")), "{labels:?}");
    assert!(!labels.contains(&"Smart Connected Item tables"));
    let cases = item(&report, CASES);
    for granted in [
        "Read",
        "Write",
        "Append To",
        "Create on Activity",
        "Organization level",
    ] {
        assert!(cases.detail.contains(granted), "{cases:#?}");
    }
    assert!(cases.detail.contains("sup-cases"), "{cases:#?}");
    // One-way without status sync needs no Write on Tasks.
    let tasks = item(&report, TASKS);
    assert!(
        tasks.detail.contains("Read") && !tasks.detail.contains("Write"),
        "{tasks:#?}"
    );
    let notes = item(&report, NOTES);
    assert!(
        notes.detail.contains("Delete") && notes.detail.contains("mirror"),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn dataverse_without_read_on_cases_names_the_privilege_and_the_role() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(identity::CLIENT_ID, "incident", Privilege::Read));
    let services = services_with_items(&sandbox);
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    let cases = item(&report, CASES);
    assert_eq!(cases.status, CheckStatus::Fail, "{cases:#?}");
    let fix = cases.fix.as_deref().unwrap();
    for part in [
        "Power Platform admin center",
        "security role",
        "application user",
        "Read on Case (prvReadIncident)",
        "Organization level",
    ] {
        assert!(fix.contains(part), "{part}: {fix}");
    }
    assert!(cases.detail.contains("sup-cases"), "{cases:#?}");
    assert_eq!(item(&report, TASKS).status, CheckStatus::Ok);
    assert_eq!(item(&report, NOTES).status, CheckStatus::Ok);
    assert!(!report.passed());
}

#[tokio::test]
async fn dataverse_without_create_on_notes_fails_the_notes_row() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(identity::CLIENT_ID, "annotation", Privilege::Create));
    let services = services_with_items(&sandbox);
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    let notes = item(&report, NOTES);
    assert_eq!(notes.status, CheckStatus::Fail, "{notes:#?}");
    assert!(
        notes
            .fix
            .as_deref()
            .unwrap()
            .contains("Create on Note (prvCreateNote)"),
        "{notes:#?}"
    );
    assert!(notes.detail.contains("link note"), "{notes:#?}");
    assert_eq!(item(&report, CASES).status, CheckStatus::Ok);
}

#[tokio::test]
async fn dataverse_missing_write_for_two_way_and_case_resolution_are_named() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox.handle.dataverse(|d| {
        d.revoke_privilege(identity::CLIENT_ID, "incident", Privilege::Write);
        for table in ["task", "incidentresolution"] {
            d.revoke_privilege(identity::CLIENT_ID, table, Privilege::Create);
        }
    });
    let services = services_with_items(&sandbox);
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    let cases = item(&report, CASES);
    assert_eq!(cases.status, CheckStatus::Fail, "{cases:#?}");
    let fix = cases.fix.as_deref().unwrap();
    assert!(
        fix.contains("Write on Case (prvWriteIncident)")
            && fix.contains("Create on Activity (prvCreateActivity)"),
        "{fix}"
    );
    assert!(
        cases.detail.contains("two-way") && cases.detail.contains("close Cases"),
        "{cases:#?}"
    );
}

#[tokio::test]
async fn dataverse_role_that_cannot_read_its_privileges_falls_back_to_a_read_probe() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox.handle.dataverse(|d| {
        d.revoke_privilege(identity::CLIENT_ID, "systemuser", Privilege::Read);
        d.revoke_privilege(identity::CLIENT_ID, "task", Privilege::Read);
    });
    let services = services_with_items(&sandbox);
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    let cases = item(&report, CASES);
    assert_eq!(cases.status, CheckStatus::Warn, "{cases:#?}");
    assert!(
        cases.detail.contains("works") && cases.detail.contains("could not be verified"),
        "{cases:#?}"
    );
    assert!(text(cases).contains("prvReadUser") && text(cases).contains("prvWriteIncident"));
    let tasks = item(&report, TASKS);
    assert_eq!(tasks.status, CheckStatus::Fail, "{tasks:#?}");
    assert!(
        tasks.fix.as_deref().unwrap().contains("prvReadActivity"),
        "{tasks:#?}"
    );
    assert_eq!(item(&report, NOTES).status, CheckStatus::Warn);
}

#[tokio::test]
async fn dataverse_secret_id_wrong_url_and_wrong_audience_get_their_fixes() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    // The secret's ID instead of its value.
    let services = services_with_items(&sandbox);
    let wrong_secret = crosswalk_engine::Services::new(
        services.store.clone(),
        std::sync::Arc::new(
            crosswalk_secrets::Secrets::new(crosswalk_secrets::Keychain::with_service(
                "crosswalk-checks-tests",
            ))
            .with_env_lookup(|_: &str| Some(OsString::from(identity::CLIENT_SECRET_ID))),
        ),
    );
    let report = test_connection(&wrong_secret, &dataverse(&sandbox)).await;
    let sign_in = item(&report, "Sign in to Microsoft Entra");
    assert_eq!(sign_in.status, CheckStatus::Fail);
    assert!(text(sign_in).contains("not its Secret ID"), "{sign_in:#?}");
    assert_eq!(item(&report, "Table incident").status, CheckStatus::Skipped);
    assert_eq!(item(&report, NOTES).status, CheckStatus::Skipped);

    // A wrong organization URL: Entra knows no such resource.
    let mut wrong_url = dataverse(&sandbox);
    if let ConnectionSettings::Dataverse { org_url, .. } = &mut wrong_url.settings {
        org_url.set_host(Some("localhost")).unwrap();
    }
    let report = test_connection(&services, &wrong_url).await;
    let sign_in = item(&report, "Sign in to Microsoft Entra");
    assert_eq!(sign_in.status, CheckStatus::Fail);
    assert!(text(sign_in).contains("Environment URL"), "{sign_in:#?}");

    // A token whose audience is not the environment: 401 with the audience fix.
    let real = sandbox
        .urls
        .dataverse
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    sandbox
        .handle
        .dataverse(|d| d.org_url = "https://contoso.crm.dynamics.com".into());
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    let user = item(&report, "Dataverse application user");
    assert_eq!(user.status, CheckStatus::Fail, "{user:#?}");
    assert!(
        text(user).contains("audience") && text(user).contains(".default"),
        "{user:#?}"
    );
    assert_eq!(item(&report, "Table incident").status, CheckStatus::Skipped);
    sandbox.handle.dataverse(|d| d.org_url = real);
}

/// Services with two items on `dynamics` that sync status: opportunities (won and lost through
/// actions that create an Opportunity Close) and leads (qualified through QualifyLead).
fn services_with_sales_items(sandbox: &Sandbox) -> Services {
    let services = services(&[("ENTRA_SECRET", identity::CLIENT_SECRET)]);
    services
        .store
        .upsert_connection(&entra(sandbox, identity::TENANT_ID))
        .unwrap();
    let status = json!({"mode": "two_way", "status": {"enabled": true}});
    for job in [
        smart_item("sales-deals", "dynamics", "opportunity", status.clone()),
        smart_item("sales-leads", "dynamics", "lead", status),
    ] {
        services.store.upsert_job(&job).unwrap();
    }
    services
}

#[tokio::test]
async fn dataverse_status_sync_on_opportunities_and_leads_passes_with_a_correct_role() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let services = services_with_sales_items(&sandbox);
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    assert!(
        report.items.iter().all(|i| i.status == CheckStatus::Ok),
        "{report:#?}"
    );
    let deals = item(&report, OPPORTUNITIES);
    for part in [
        "Write",
        "Append To",
        "Create on Activity",
        "Append on Activity",
        "Organization level",
        "WinOpportunity",
        "sales-deals",
    ] {
        assert!(deals.detail.contains(part), "{part}: {deals:#?}");
    }
    let leads = item(&report, LEADS);
    assert!(
        leads.detail.contains("Write")
            && leads.detail.contains("QualifyLead")
            && !leads.detail.contains("Activity"),
        "{leads:#?}"
    );
}

#[tokio::test]
async fn dataverse_without_activity_create_fails_the_opportunity_row_naming_it() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    // Dataverse grants the Opportunity Close through the shared Activity privileges: a role
    // without Create on any activity table cannot win or lose an opportunity.
    sandbox.handle.dataverse(|d| {
        for table in ["task", "incidentresolution"] {
            d.revoke_privilege(identity::CLIENT_ID, table, Privilege::Create);
        }
    });
    let services = services_with_sales_items(&sandbox);
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    let deals = item(&report, OPPORTUNITIES);
    assert_eq!(deals.status, CheckStatus::Fail, "{deals:#?}");
    let fix = deals.fix.as_deref().unwrap();
    for part in [
        "Power Platform admin center",
        "security role",
        "application user",
        "Create on Activity (prvCreateActivity)",
        "Organization level",
    ] {
        assert!(fix.contains(part), "{part}: {fix}");
    }
    assert!(
        !fix.contains("prvAppendActivity") && !fix.contains("prvWriteOpportunity"),
        "only the missing privilege: {fix}"
    );
    assert!(
        deals.detail.contains("sales-deals") && deals.detail.contains("WinOpportunity"),
        "{deals:#?}"
    );
    // Qualifying a lead creates no activity: that row still passes.
    assert_eq!(item(&report, LEADS).status, CheckStatus::Ok);
    assert!(!report.passed());

    // QualifyLead needs Write on the lead itself.
    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(identity::CLIENT_ID, "lead", Privilege::Write));
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    let leads = item(&report, LEADS);
    assert_eq!(leads.status, CheckStatus::Fail, "{leads:#?}");
    assert!(
        leads
            .fix
            .as_deref()
            .unwrap()
            .contains("Write on Lead (prvWriteLead)"),
        "{leads:#?}"
    );
    assert!(leads.detail.contains("QualifyLead"), "{leads:#?}");
}

/// Services with one item on `dynamics`: Cases, `extra` merged into its settings.
fn services_with_case_item(sandbox: &Sandbox, extra: serde_json::Value) -> Services {
    let services = services(&[("ENTRA_SECRET", identity::CLIENT_SECRET)]);
    services
        .store
        .upsert_connection(&entra(sandbox, identity::TENANT_ID))
        .unwrap();
    services
        .store
        .upsert_job(&smart_item("sup-cases", "dynamics", "incident", extra))
        .unwrap();
    services
}

/// Two-way Cases with the title settled by "most recent wins" (the default ownership), the
/// priority owned by Jira, and status sync.
fn most_recent_case() -> serde_json::Value {
    json!({
        "mode": "two_way",
        "status": {"enabled": true},
        "fields": [
            {"dataverse": "title", "jira": "summary"},
            {"dataverse": "prioritycode", "jira": "priority", "owner": "jira"},
        ],
    })
}

/// Tests the connection and returns the report and its Cases audit row, asserting the row's
/// status and that its detail or fix names every one of `parts` and none of `absent`.
async fn audit_row(
    services: &Services,
    sandbox: &Sandbox,
    status: CheckStatus,
    parts: &[&str],
    absent: &[&str],
) -> (CheckReport, crosswalk_core::CheckItem) {
    let report = test_connection(services, &dataverse(sandbox)).await;
    let audit = item(&report, CASES_AUDIT).clone();
    assert_eq!(audit.status, status, "{audit:#?}");
    let said = text(&audit);
    for part in parts {
        assert!(said.contains(part), "{part}: {audit:#?}");
    }
    for part in absent {
        assert!(!said.contains(part), "not {part}: {audit:#?}");
    }
    // Optional: a warning never fails the connection.
    assert!(report.passed(), "{report:#?}");
    (report, audit)
}

#[tokio::test]
async fn dataverse_audit_row_passes_when_most_recent_wins_can_read_the_audit_history() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let services = services_with_case_item(&sandbox, most_recent_case());
    // Only the columns most recent wins settles are timed: not the Jira-owned priority.
    let (report, _) = audit_row(
        &services,
        &sandbox,
        CheckStatus::Ok,
        &[
            "View Audit Summary (prvReadAuditSummary)",
            "on for the environment",
            "title and statuscode",
            "sup-cases",
        ],
        &["prioritycode"],
    )
    .await;
    assert!(
        report.items.iter().all(|i| i.status == CheckStatus::Ok),
        "{report:#?}"
    );
    let labels: Vec<&str> = report.items.iter().map(|i| i.label.as_str()).collect();
    let at = |label: &str| labels.iter().position(|l| *l == label).unwrap();
    assert!(
        at(CASES) < at(NOTES) && at(NOTES) < at(CASES_AUDIT),
        "{labels:?}"
    );
}

#[tokio::test]
async fn dataverse_without_view_audit_summary_warns_naming_the_privilege_and_the_fix() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    sandbox.handle.dataverse(|d| {
        d.set_organization_auditing(true);
        d.revoke_misc_privilege(
            identity::CLIENT_ID,
            crosswalk_sandbox::dataverse::READ_AUDIT_SUMMARY,
        );
    });
    let services = services_with_case_item(&sandbox, most_recent_case());
    // Auditing itself is on: only the privilege is named.
    let (report, audit) = audit_row(
        &services,
        &sandbox,
        CheckStatus::Warn,
        &[
            "lacks View Audit Summary (prvReadAuditSummary)",
            "security role assigned to this app's application user",
            "Miscellaneous privileges",
            "modifiedon",
        ],
        &["Start Auditing"],
    )
    .await;
    assert!(audit.fix.unwrap().contains("prvReadAuditSummary"));
    assert_eq!(item(&report, CASES).status, CheckStatus::Ok);
}

#[tokio::test]
async fn dataverse_auditing_off_warns_naming_each_switch_with_its_fix() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let services = services_with_case_item(&sandbox, most_recent_case());
    // (environment, Case table, statuscode column) switches, what the row names and what it
    // must not. The first is a fresh environment's: auditing is off for the environment.
    let switches = [
        (
            false,
            true,
            true,
            vec![
                "Auditing is off for the environment",
                "Power Platform admin center",
                "Settings > Audit and logs",
                "Start Auditing",
                "modifiedon",
            ],
            vec!["prvReadAuditSummary", "Audit changes to its data"],
        ),
        (
            true,
            false,
            true,
            vec![
                "Auditing is off for the Case table",
                "Tables > Case",
                "Audit changes to its data",
            ],
            vec!["Start Auditing"],
        ),
        // Only the column that is off is named, not the title's.
        (
            true,
            true,
            false,
            vec![
                "Auditing is off for column statuscode",
                "Columns > statuscode",
                "Enable auditing",
            ],
            vec!["Columns > title", "columns title", "Start Auditing"],
        ),
    ];
    for (environment, table, column, parts, absent) in switches {
        sandbox.handle.dataverse(|d| {
            d.set_organization_auditing(environment);
            d.set_table_auditing("incident", table);
            d.set_column_auditing("incident", "statuscode", column);
        });
        audit_row(&services, &sandbox, CheckStatus::Warn, &parts, &absent).await;
    }
}

#[tokio::test]
async fn dataverse_without_most_recent_wins_shows_no_audit_row() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    // Two-way, but every field owned by one side, and no status sync.
    let services = services_with_case_item(
        &sandbox,
        json!({
            "mode": "two_way",
            "fields": [
                {"dataverse": "title", "jira": "summary", "owner": "jira"},
                {"dataverse": "prioritycode", "jira": "priority", "owner": "dynamics"},
            ],
        }),
    );
    // One-way (Dynamics owns every field) without status sync on another table.
    services
        .store
        .upsert_job(&smart_item(
            "sup-tasks",
            "dynamics",
            "task",
            json!({"fields": [{"dataverse": "subject", "jira": "summary"}]}),
        ))
        .unwrap();
    let report = test_connection(&services, &dataverse(&sandbox)).await;
    assert_eq!(item(&report, CASES).status, CheckStatus::Ok);
    assert!(
        !report.items.iter().any(|i| i.label.contains("audit")),
        "{report:#?}"
    );
}
