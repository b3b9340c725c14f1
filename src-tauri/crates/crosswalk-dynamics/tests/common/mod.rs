//! A sandbox, a real data folder, an engine with the Dynamics connector, and readers of what
//! Jira and Dataverse hold (from the sandbox's own state, so assertions do not go through our
//! clients).

#![allow(dead_code)]

use crosswalk_core::{
    Cloud, ConnectionConfig, ConnectionSettings, JobConfig, RunId, RunStatus, Schedule, SecretRef,
    Trigger,
};
use crosswalk_engine::{Engine, Registry, RunRequest, Services};
use crosswalk_sandbox::generator::jira::ADMIN_ACCOUNT_ID;
use crosswalk_sandbox::{identity, jira, Sandbox, SandboxOptions, Size};
use crosswalk_store::{EventAction, EventFilter, EventRow, LinkRow, RunRow, Store};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::Arc;
use tempfile::TempDir;

pub const JOB: &str = "cases";
/// The sandbox's service project and its "Service Request" style issue type.
pub const PROJECT: &str = "SUP";
pub const ISSUE_TYPE: &str = "10004";

/// One running test world.
pub struct Harness {
    pub sandbox: Sandbox,
    pub dir: TempDir,
    pub engine: Engine,
    pub settings: Value,
}

fn secrets() -> crosswalk_secrets::Secrets {
    let map: HashMap<String, OsString> = [
        ("DV_SECRET", identity::CLIENT_SECRET),
        ("JIRA_TOKEN", jira::ADMIN_API_TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), OsString::from(v)))
    .collect();
    crosswalk_secrets::Secrets::new(crosswalk_secrets::Keychain::with_service(
        "crosswalk-dynamics-tests",
    ))
    .with_env_lookup(move |var: &str| map.get(var).cloned())
}

pub fn connections(sandbox: &Sandbox) -> Vec<ConnectionConfig> {
    vec![
        ConnectionConfig {
            name: "dynamics".into(),
            settings: ConnectionSettings::Dataverse {
                org_url: sandbox.urls.dataverse.clone(),
                tenant_id: identity::TENANT_ID.into(),
                client_id: identity::CLIENT_ID.into(),
                cloud: Cloud::Custom,
                authority_url: Some(sandbox.urls.login.clone()),
            },
            secret: Some(SecretRef::Env("DV_SECRET".into())),
        },
        ConnectionConfig {
            name: "jira".into(),
            settings: ConnectionSettings::Jira {
                site_url: sandbox.urls.jira.clone(),
                email: jira::ADMIN_EMAIL.into(),
                assets_api_url: None,
            },
            secret: Some(SecretRef::Env("JIRA_TOKEN".into())),
        },
    ]
}

/// A one-way item on Cases with title → summary and description → description.
pub fn base_settings() -> Value {
    json!({
        "dataverse_connection": "dynamics",
        "jira_connection": "jira",
        "mode": "one_way",
        "jira_project": PROJECT,
        "jira_issue_type": ISSUE_TYPE,
        "module": "Customer Service",
        "table": "incident",
        "auto_create": {"enabled": true},
        "fields": [
            {"dataverse": "title", "jira": "summary"},
            {"dataverse": "description", "jira": "description"}
        ],
        "jira_search_lag_secs": 0
    })
}

fn engine(dir: &TempDir) -> Engine {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let store = loop {
        match Store::open(dir.path()) {
            Err(crosswalk_store::Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let services = Services::new(Arc::new(store), Arc::new(secrets()));
    let mut registry = Registry::new();
    registry.register(crosswalk_dynamics::DynamicsItem);
    Engine::new(services, registry).unwrap()
}

impl Harness {
    pub async fn start(settings: Value) -> Harness {
        let sandbox = Sandbox::start(SandboxOptions {
            size: Size::Tiny,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir);
        let harness = Harness {
            sandbox,
            dir,
            engine,
            settings,
        };
        harness.configure();
        harness
    }

    fn configure(&self) {
        let store = self.store();
        for connection in connections(&self.sandbox) {
            store.upsert_connection(&connection).unwrap();
        }
        store
            .upsert_job(&JobConfig {
                name: JOB.into(),
                kind: crosswalk_dynamics::KIND.into(),
                schedule: Schedule::Off,
                enabled: true,
                settings: self.settings.clone(),
            })
            .unwrap();
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.engine.services().store
    }

    /// Replaces the item's settings.
    pub fn set_settings(&mut self, settings: Value) {
        self.settings = settings;
        self.configure();
    }

    /// Reopens the same data folder (a restarted process).
    pub fn restart(&mut self) {
        let placeholder = tempfile::tempdir().unwrap();
        self.engine = engine(&placeholder);
        self.engine = engine(&self.dir);
    }

    pub async fn run(&self, dry_run: bool) -> (RunId, RunStatus) {
        self.engine
            .run_to_end(RunRequest {
                job_name: JOB.into(),
                trigger: Trigger::Cli,
                dry_run,
            })
            .await
            .unwrap()
    }

    /// A poll that must succeed without failed events; returns its record and events.
    pub async fn poll(&self) -> (RunRow, Vec<EventRow>) {
        let (run_id, status) = self.run(false).await;
        let run = self.store().get_run(run_id).unwrap();
        let events = self.events(run_id);
        let failed: Vec<&EventRow> = events
            .iter()
            .filter(|e| e.action == EventAction::Failed)
            .collect();
        assert_eq!(
            status,
            RunStatus::Succeeded,
            "poll failed: {:?}\n{failed:#?}",
            run.error
        );
        assert!(failed.is_empty(), "failed events: {failed:#?}");
        (run, events)
    }

    pub fn events(&self, run_id: RunId) -> Vec<EventRow> {
        self.store()
            .list_events(run_id, &EventFilter::default())
            .unwrap()
    }

    pub fn job_id(&self) -> crosswalk_core::JobId {
        self.store().get_job(JOB).unwrap().id
    }

    pub fn links(&self) -> Vec<LinkRow> {
        self.store().list_links(self.job_id()).unwrap()
    }

    pub fn link_of(&self, case_id: &str) -> LinkRow {
        self.store()
            .find_link_by_record(self.job_id(), "incident", case_id)
            .unwrap()
            .unwrap_or_else(|| panic!("case {case_id} is not linked"))
    }

    // --- Dataverse side, as a Dynamics user changes it ---

    pub fn now(&self) -> time::OffsetDateTime {
        self.sandbox.handle.world().now()
    }

    /// Creates a case with `fields` (plus a title) and returns its id.
    pub fn create_case(&self, title: &str, fields: Value) -> String {
        let now = self.now();
        let mut map = fields.as_object().cloned().unwrap_or_default();
        map.insert("title".into(), json!(title));
        self.sandbox
            .handle
            .dataverse(|d| d.insert_row("incident", map, now))
    }

    pub fn update_case(&self, id: &str, fields: Value) {
        let now = self.now();
        let map = fields.as_object().cloned().unwrap_or_default();
        self.sandbox
            .handle
            .dataverse(|d| d.update_row("incident", id, map, now));
    }

    /// A case's column as Dataverse holds it.
    pub fn case_value(&self, id: &str, column: &str) -> Value {
        self.sandbox.handle.dataverse(|d| {
            d.row("incident", id)
                .and_then(|row| row.values.get(column).cloned())
                .unwrap_or(Value::Null)
        })
    }

    /// Notes regarding a case: (id, subject, text, filename).
    pub fn notes_of(&self, case_id: &str) -> Vec<(String, String, String, Option<String>)> {
        self.sandbox.handle.dataverse(|d| {
            d.rows_of("annotation")
                .filter(|row| {
                    row.lookups
                        .get("objectid")
                        .is_some_and(|l| l.id.eq_ignore_ascii_case(case_id))
                })
                .map(|row| {
                    let text = |c: &str| {
                        row.values
                            .get(c)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let filename = row
                        .values
                        .get("filename")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    (row.id.clone(), text("subject"), text("notetext"), filename)
                })
                .collect()
        })
    }

    pub fn add_note(&self, case_id: &str, subject: &str, text: &str) -> String {
        let now = self.now();
        self.sandbox
            .handle
            .dataverse(|d| d.add_note("incident", case_id, subject, text, None, now))
    }

    // --- Jira side, as an agent changes it ---

    /// The issue's field as Jira holds it.
    pub fn issue_field(&self, key: &str, field: &str) -> Value {
        self.sandbox.handle.jira(|j| {
            j.issue(key)
                .and_then(|issue| issue.fields.get(field).cloned())
                .unwrap_or(Value::Null)
        })
    }

    /// The issue's status name.
    pub fn issue_status(&self, key: &str) -> String {
        self.sandbox.handle.jira(|j| {
            let issue = j.issue(key).unwrap();
            j.statuses
                .iter()
                .find(|s| s.id == issue.status)
                .map(|s| s.name.clone())
                .unwrap_or_default()
        })
    }

    /// Comments on an issue as plain text.
    pub fn comments_of(&self, key: &str) -> Vec<String> {
        self.sandbox.handle.jira(|j| {
            j.issue(key)
                .map(|issue| {
                    issue
                        .comments
                        .iter()
                        .map(|c| crosswalk_jira::adf::to_plain_text(&c.body))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Issues of the project carrying the connector's property for `case_id`.
    pub fn issues_for_case(&self, case_id: &str) -> Vec<String> {
        self.sandbox.handle.jira(|j| {
            j.issues
                .iter()
                .filter(|issue| {
                    issue
                        .properties
                        .get("com.crosswalk.link")
                        .and_then(|p| p.get("record"))
                        .and_then(Value::as_str)
                        == Some(case_id)
                })
                .map(|issue| issue.key.clone())
                .collect()
        })
    }

    pub fn edit_issue(&self, key: &str, fields: Value) {
        let now = self.now();
        let map: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
        self.sandbox
            .handle
            .jira(|j| j.update_issue_fields(key, map, ADMIN_VIEWER, now))
            .unwrap();
    }

    pub fn comment_on(&self, key: &str, text: &str) -> String {
        let now = self.now();
        self.sandbox
            .handle
            .jira(|j| j.add_comment(key, text, ADMIN_VIEWER, now))
            .unwrap()
    }

    pub fn transition(&self, key: &str, to: &str) {
        let now = self.now();
        self.sandbox
            .handle
            .jira(|j| j.transition_issue(key, to, ADMIN_VIEWER, now))
            .unwrap();
    }

    /// Moves both clocks' view forward so edits land in a later second than the last poll.
    pub async fn tick(&self) {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
}

/// Jira edits in tests are made by another agent than the connector's account, as real ones are.
pub const ADMIN_VIEWER: &str = crosswalk_sandbox::generator::jira::VIEWER_ACCOUNT_ID;

/// The connector's own Jira account.
pub const CONNECTOR: &str = ADMIN_ACCOUNT_ID;

/// Counts per kind and action in a run's events.
pub fn count(events: &[EventRow], kind: &str, action: EventAction) -> usize {
    events
        .iter()
        .filter(|e| e.object_kind.as_deref() == Some(kind) && e.action == action)
        .count()
}
