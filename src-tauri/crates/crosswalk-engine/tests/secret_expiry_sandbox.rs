//! The client-secret expiry watch against the sandbox: the health-check job and a sync-like job
//! read the app registration's own secrets through Graph, warn at 30/14/7/1 days and once
//! expired, notify each threshold once, and start over after the secret is renewed.

use crosswalk_core::{
    CheckReport, CheckStatus, Cloud, ConnectionConfig, ConnectionSettings, EventLevel, JobConfig,
    RunId, RunStatus, Schedule, SecretRef, Trigger, ValidationError,
};
use crosswalk_engine::health::HealthCheck;
use crosswalk_engine::kind::RunFuture;
use crosswalk_engine::secret_expiry::{self, SecretExpiry};
use crosswalk_engine::{
    Engine, EngineEvent, JobKind, Registry, RunContext, RunOutcome, RunRequest, Services,
};
use crosswalk_sandbox::identity::{self, ClientSecret};
use crosswalk_sandbox::{Sandbox, SandboxOptions};
use crosswalk_store::{EventFilter, EventRow, Store};
use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};
use tokio::sync::broadcast;

const SECRET_VAR: &str = "ENTRA_SECRET";
const RENEWED_SECRET: &str = "renewed-client-secret~Zz9~value";

/// Stands in for Entra Sync: calls `watch_secret_expiry` on the connection in its settings and
/// keeps what it returned.
struct SyncLike {
    watched: Arc<Mutex<Vec<Option<SecretExpiry>>>>,
}

impl JobKind for SyncLike {
    fn kind(&self) -> &'static str {
        "sync-like"
    }

    fn label(&self) -> &'static str {
        "Sync-like test job"
    }

    fn validate(&self, _settings: &serde_json::Value) -> Result<(), Vec<ValidationError>> {
        Ok(())
    }

    fn run(&self, ctx: RunContext) -> RunFuture {
        let watched = Arc::clone(&self.watched);
        Box::pin(async move {
            let name = ctx.job.settings["connection"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let connection = ctx.services.store.get_connection(&name)?.config;
            let expiry = secret_expiry::watch_secret_expiry(&ctx, &connection).await;
            watched.lock().unwrap().push(expiry);
            Ok(RunOutcome::default())
        })
    }
}

struct Harness {
    sandbox: Sandbox,
    engine: Engine,
    notices: broadcast::Receiver<EngineEvent>,
    watched: Arc<Mutex<Vec<Option<SecretExpiry>>>>,
    env: Arc<Mutex<HashMap<String, OsString>>>,
    dir: tempfile::TempDir,
}

fn entra(sandbox: &Sandbox) -> ConnectionConfig {
    ConnectionConfig {
        name: "contoso".into(),
        settings: ConnectionSettings::Entra {
            tenant_id: identity::TENANT_ID.into(),
            client_id: identity::CLIENT_ID.into(),
            cloud: Cloud::Custom,
            authority_url: Some(sandbox.urls.login.clone()),
            graph_url: Some(sandbox.urls.graph.clone()),
        },
        secret: Some(SecretRef::Env(SECRET_VAR.into())),
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
        secret: Some(SecretRef::Env(SECRET_VAR.into())),
    }
}

fn job(name: &str, kind: &str, settings: serde_json::Value) -> JobConfig {
    JobConfig {
        name: name.into(),
        kind: kind.into(),
        schedule: Schedule::Off,
        enabled: true,
        settings,
    }
}

async fn harness() -> Harness {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.upsert_connection(&entra(&sandbox)).unwrap();
    store
        .upsert_job(&job("health", "health-check", serde_json::json!({})))
        .unwrap();
    store
        .upsert_job(&job(
            "entra-sync",
            "sync-like",
            serde_json::json!({ "connection": "contoso" }),
        ))
        .unwrap();
    let env = Arc::new(Mutex::new(HashMap::from([(
        SECRET_VAR.to_owned(),
        OsString::from(identity::CLIENT_SECRET),
    )])));
    let lookup = Arc::clone(&env);
    let secrets = crosswalk_secrets::Secrets::new(crosswalk_secrets::Keychain::with_service(
        "crosswalk-secret-expiry-tests",
    ))
    .with_env_lookup(move |var: &str| lookup.lock().unwrap().get(var).cloned());
    let services = Services::new(Arc::new(store), Arc::new(secrets));
    let watched = Arc::new(Mutex::new(Vec::new()));
    let mut registry = Registry::new();
    registry.register(HealthCheck).register(SyncLike {
        watched: Arc::clone(&watched),
    });
    let engine = Engine::new(services, registry).unwrap();
    Harness {
        notices: engine.subscribe(),
        sandbox,
        engine,
        watched,
        env,
        dir,
    }
}

impl Harness {
    /// Makes the Crosswalk app's secret `idx` expire `left` from now (an hour more, so the whole
    /// days left are exactly `left`'s while the test runs).
    fn secret_expires_in(&self, idx: usize, left: Duration) {
        self.sandbox.handle.identity(|i| {
            let app = i.app_mut(identity::CLIENT_ID).unwrap();
            app.secrets[idx].end = OffsetDateTime::now_utc() + left + Duration::hours(1);
        });
    }

    /// Adds a new secret to the app and gives its value to Crosswalk (what an admin does to renew).
    fn renew_secret(&self, left: Duration) {
        self.sandbox.handle.identity(|i| {
            let app = i.app_mut(identity::CLIENT_ID).unwrap();
            let now = OffsetDateTime::now_utc();
            app.secrets.push(ClientSecret {
                key_id: "c8f2d3e4-5b6c-4d7e-9f0a-1b2c3d4e5f60".into(),
                value: RENEWED_SECRET.into(),
                display_name: "crosswalk 2".into(),
                start: now,
                end: now + left + Duration::hours(1),
            });
        });
        self.env
            .lock()
            .unwrap()
            .insert(SECRET_VAR.into(), OsString::from(RENEWED_SECRET));
    }

    async fn run(&self, job_name: &str) -> (RunId, RunStatus) {
        self.engine
            .run_to_end(RunRequest {
                job_name: job_name.into(),
                trigger: Trigger::Schedule,
                dry_run: false,
            })
            .await
            .unwrap()
    }

    /// The `SecretExpiring` notices broadcast since the last call, as (connection, threshold, days left).
    fn notices(&mut self) -> Vec<(String, u32, i64, String, String)> {
        let mut found = Vec::new();
        while let Ok(event) = self.notices.try_recv() {
            if let EngineEvent::SecretExpiring {
                connection,
                threshold,
                days_left,
                message,
                fix,
                ..
            } = event
            {
                found.push((connection, threshold, days_left, message, fix));
            }
        }
        found
    }

    /// The run's events about the secret's expiry.
    fn expiry_events(&self, run_id: RunId) -> Vec<EventRow> {
        self.engine
            .services()
            .store
            .list_events(run_id, &EventFilter::default())
            .unwrap()
            .into_iter()
            .filter(|event| event.message.contains("secret") && event.message.contains("xpir"))
            .collect()
    }

    fn last_watched(&self) -> Option<SecretExpiry> {
        self.watched.lock().unwrap().last().cloned().flatten()
    }

    async fn test(&self, connection: &ConnectionConfig) -> CheckReport {
        crosswalk_engine::checks::test_connection(self.engine.services(), connection).await
    }
}

fn expiry_row(report: &CheckReport) -> &crosswalk_core::CheckItem {
    report
        .items
        .iter()
        .find(|item| item.label == secret_expiry::CHECK_LABEL)
        .unwrap_or_else(|| panic!("no expiry row in {report:#?}"))
}

#[tokio::test]
async fn a_secret_45_days_from_expiry_is_reported_without_a_warning() {
    let mut h = harness().await;
    h.secret_expires_in(0, Duration::days(45));
    let (run_id, status) = h.run("health").await;
    assert_eq!(status, RunStatus::Succeeded);
    let events = h.expiry_events(run_id);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].level, EventLevel::Info);
    assert!(
        events[0]
            .message
            .starts_with("Client secret of connection contoso expires in 45 days (on "),
        "{}",
        events[0].message
    );
    assert!(h.notices().is_empty());

    let report = h.test(&entra(&h.sandbox)).await;
    let row = expiry_row(&report);
    assert_eq!(row.status, CheckStatus::Ok, "{row:#?}");
    assert!(
        row.detail
            .starts_with("Client secret expires in 45 days (on "),
        "{row:#?}"
    );
}

#[tokio::test]
async fn twenty_days_before_expiry_warns_once_at_the_30_day_threshold() {
    let mut h = harness().await;
    h.secret_expires_in(0, Duration::days(20));
    let (run_id, status) = h.run("health").await;
    assert_eq!(
        status,
        RunStatus::Succeeded,
        "a warning does not fail the check"
    );
    let notices = h.notices();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    let (connection, threshold, days_left, message, fix) = &notices[0];
    assert_eq!(
        (connection.as_str(), *threshold, *days_left),
        ("contoso", 30, 20)
    );
    assert!(
        message.starts_with("Client secret of connection contoso expires in 20 days"),
        "{message}"
    );
    assert!(
        fix.contains("App registrations › Crosswalk Sync › Certificates & secrets")
            && fix.contains(SECRET_VAR),
        "{fix}"
    );
    let events = h.expiry_events(run_id);
    assert_eq!(events[0].level, EventLevel::Warn);
    assert!(events[0].fix.is_some());

    // The sync's watch sees the same threshold but does not notify again.
    let (_, status) = h.run("entra-sync").await;
    assert_eq!(status, RunStatus::Succeeded);
    let watched = h.last_watched().expect("expiry known");
    assert_eq!((watched.threshold, watched.days_left), (Some(30), 20));
    assert!(watched.matched_by_hint);
    assert!(h.notices().is_empty());
    h.run("health").await;
    assert!(h.notices().is_empty());

    let report = h.test(&entra(&h.sandbox)).await;
    let row = expiry_row(&report);
    assert_eq!(row.status, CheckStatus::Warn);
    assert!(
        row.detail
            .starts_with("Client secret expires in 20 days (on "),
        "{row:#?}"
    );
}

#[tokio::test]
async fn five_days_before_expiry_the_sync_warns_at_the_7_day_threshold() {
    let mut h = harness().await;
    h.secret_expires_in(0, Duration::days(5));
    let (run_id, status) = h.run("entra-sync").await;
    assert_eq!(status, RunStatus::Succeeded);
    let notices = h.notices();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert_eq!((notices[0].1, notices[0].2), (7, 5));
    assert_eq!(h.expiry_events(run_id)[0].level, EventLevel::Warn);
    let known = secret_expiry::known_secret_expiry(
        &h.engine.services().store,
        "contoso",
        OffsetDateTime::now_utc(),
    )
    .unwrap()
    .expect("remembered");
    assert_eq!(known.expiry.threshold, Some(7));
    assert_eq!(known.expiry.app_display_name, "Crosswalk Sync");
}

#[tokio::test]
async fn a_renewed_secret_starts_the_thresholds_over() {
    let mut h = harness().await;
    h.secret_expires_in(0, Duration::days(5));
    h.run("entra-sync").await;
    assert_eq!(h.notices().len(), 1);

    // The admin adds a new secret and gives it to Crosswalk; the old one is still listed.
    h.renew_secret(Duration::days(400));
    h.run("entra-sync").await;
    let watched = h.last_watched().expect("expiry known");
    assert_eq!((watched.days_left, watched.threshold), (400, None));
    assert!(
        watched.matched_by_hint,
        "the new secret is told apart by its hint"
    );
    assert!(h.notices().is_empty());

    // Thresholds count again for the new secret.
    h.secret_expires_in(1, Duration::days(25));
    h.run("entra-sync").await;
    let notices = h.notices();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert_eq!((notices[0].1, notices[0].2), (30, 25));
}

#[tokio::test]
async fn test_connection_shows_a_renewed_secret_at_once_and_leaves_notices_to_the_watch() {
    let mut h = harness().await;
    h.secret_expires_in(0, Duration::days(5));
    h.run("health").await;
    assert_eq!(h.notices().len(), 1);

    h.renew_secret(Duration::days(20));
    let report = crosswalk_engine::checks::test_connection_remembering_expiry(
        h.engine.services(),
        &entra(&h.sandbox),
    )
    .await;
    assert_eq!(expiry_row(&report).status, CheckStatus::Warn);
    let known = secret_expiry::known_secret_expiry(
        &h.engine.services().store,
        "contoso",
        OffsetDateTime::now_utc(),
    )
    .unwrap()
    .expect("remembered");
    assert_eq!(
        (known.expiry.days_left, known.expiry.threshold),
        (20, Some(30))
    );
    assert!(h.notices().is_empty(), "testing does not notify");

    h.run("health").await;
    let notices = h.notices();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert_eq!((notices[0].1, notices[0].2), (30, 20));
}

#[tokio::test]
async fn an_expired_secret_is_an_error_notified_once() {
    let mut h = harness().await;
    h.secret_expires_in(0, Duration::days(5));
    h.run("health").await;
    assert_eq!(h.notices().len(), 1);

    h.sandbox.handle.identity(|i| {
        i.app_mut(identity::CLIENT_ID).unwrap().secrets[0].end =
            OffsetDateTime::now_utc() - Duration::days(1);
        i.expire_all_tokens();
    });
    let (run_id, status) = h.run("health").await;
    assert_eq!(status, RunStatus::CompletedWithErrors, "the sign-in fails");
    let notices = h.notices();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert_eq!(notices[0].1, 0);
    assert!(notices[0].3.contains("expired on"), "{}", notices[0].3);
    let events = h.expiry_events(run_id);
    assert!(
        events.iter().any(|e| e.level == EventLevel::Error
            && e.message
                .starts_with("Client secret of connection contoso expired on")),
        "{events:#?}"
    );
    h.run("health").await;
    assert!(h.notices().is_empty());

    let report = h.test(&entra(&h.sandbox)).await;
    let row = expiry_row(&report);
    assert_eq!(row.status, CheckStatus::Fail, "{report:#?}");
    assert!(
        row.detail.starts_with("Client secret expired on"),
        "{row:#?}"
    );
}

#[tokio::test]
async fn without_application_read_all_the_watch_says_what_to_grant_and_the_sync_goes_on() {
    let mut h = harness().await;
    h.sandbox
        .handle
        .identity(|i| i.revoke_role(identity::CLIENT_ID, "Application.Read.All"));
    let (run_id, status) = h.run("entra-sync").await;
    assert_eq!(status, RunStatus::Succeeded);
    assert_eq!(h.last_watched(), None);
    assert!(h.notices().is_empty());
    let events = h.expiry_events(run_id);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].level, EventLevel::Warn);
    assert!(
        events[0].message.contains("grant Application.Read.All"),
        "{}",
        events[0].message
    );
    assert!(
        events[0]
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("Grant admin consent")),
        "{events:#?}"
    );

    let report = h.test(&entra(&h.sandbox)).await;
    let row = expiry_row(&report);
    assert_eq!(row.status, CheckStatus::Warn);
    assert!(row.detail.contains("grant Application.Read.All"));
}

#[tokio::test]
async fn a_dataverse_connection_reads_graph_through_the_entra_connection_of_its_tenant() {
    let h = harness().await;
    h.secret_expires_in(0, Duration::days(10));
    let report = h.test(&dataverse(&h.sandbox)).await;
    let row = expiry_row(&report);
    assert_eq!(row.status, CheckStatus::Warn, "{report:#?}");
    assert!(
        row.detail.starts_with("Client secret expires in 10 days"),
        "{row:#?}"
    );

    // A custom cloud without an Entra connection names no Graph URL: the watch says so.
    h.engine
        .services()
        .store
        .delete_connection("contoso")
        .unwrap();
    let report = h.test(&dataverse(&h.sandbox)).await;
    let row = expiry_row(&report);
    assert_eq!(row.status, CheckStatus::Warn);
    assert!(row.detail.contains("Graph URL"), "{row:#?}");
    assert_eq!(
        report
            .items
            .iter()
            .filter(|i| i.status == CheckStatus::Fail)
            .count(),
        0
    );
}

#[tokio::test]
async fn neither_the_secret_nor_its_hint_is_stored() {
    let h = harness().await;
    h.secret_expires_in(0, Duration::days(20));
    h.run("health").await;
    h.run("entra-sync").await;
    let stored: serde_json::Value = h
        .engine
        .services()
        .store
        .get_setting(&secret_expiry::setting_key("contoso"))
        .unwrap()
        .expect("remembered");
    let keys: Vec<&str> = stored
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "app_display_name",
            "checked_at",
            "expires_at",
            "matched_by_hint",
            "warned_threshold"
        ]
    );
    assert!(
        !stored.to_string().contains(&identity::CLIENT_SECRET[..3]),
        "{stored}"
    );
    for entry in std::fs::read_dir(h.dir.path()).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        assert!(
            !bytes
                .windows(identity::CLIENT_SECRET.len())
                .any(|w| w == identity::CLIENT_SECRET.as_bytes()),
            "{} holds the secret",
            entry.path().display()
        );
    }
}
