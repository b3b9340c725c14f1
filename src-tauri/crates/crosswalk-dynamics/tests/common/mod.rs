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
        Harness::start_with(
            settings,
            SandboxOptions {
                size: Size::Tiny,
                ..SandboxOptions::default()
            },
        )
        .await
    }

    /// A harness over a sandbox started with `options` (e.g. Jira's rate limits).
    pub async fn start_with(settings: Value, options: SandboxOptions) -> Harness {
        let sandbox = Sandbox::start(options).await.unwrap();
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

// --- Helpers added for tests/status.rs and tests/fields.rs ---

impl Harness {
    /// A run that may report failed events (status and field problems are per link): its
    /// status, record and events.
    pub async fn run_events(&self) -> (RunStatus, RunRow, Vec<EventRow>) {
        let (run_id, status) = self.run(false).await;
        let run = self.store().get_run(run_id).unwrap();
        let events = self.events(run_id);
        (status, run, events)
    }

    /// A case's `(statecode, statuscode)` as Dataverse holds it.
    pub fn case_status(&self, id: &str) -> (i64, i64) {
        let get = |column: &str| self.case_value(id, column).as_i64().unwrap_or(-1);
        (get("statecode"), get("statuscode"))
    }

    /// Resolves a case as a Dynamics user does (the `CloseIncident` path).
    pub fn resolve_case(&self, id: &str, status: i64, subject: &str) {
        let now = self.now();
        self.sandbox
            .handle
            .dataverse(|d| d.resolve_case(id, status, subject, now));
    }

    /// Case resolutions regarding a case: (subject, statecode, statuscode).
    pub fn resolutions_of(&self, case_id: &str) -> Vec<(String, i64, i64)> {
        self.closing_activities("incidentresolution", "incidentid", case_id)
    }

    /// Closing activities (`table`) whose `lookup` points at `id`: (subject, statecode,
    /// statuscode).
    fn closing_activities(&self, table: &str, lookup: &str, id: &str) -> Vec<(String, i64, i64)> {
        self.sandbox.handle.dataverse(|d| {
            d.rows_of(table)
                .filter(|row| {
                    row.lookups
                        .get(lookup)
                        .is_some_and(|l| l.id.eq_ignore_ascii_case(id))
                })
                .map(|row| {
                    let int = |c: &str| row.values.get(c).and_then(Value::as_i64).unwrap_or(-1);
                    (
                        row.values
                            .get("subject")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        int("statecode"),
                        int("statuscode"),
                    )
                })
                .collect()
        })
    }

    /// A case's lookup as Dataverse holds it: (target table, id).
    pub fn case_lookup(&self, id: &str, column: &str) -> Option<(String, String)> {
        self.sandbox.handle.dataverse(|d| {
            d.row("incident", id)
                .and_then(|row| row.lookups.get(column))
                .map(|l| (l.logical_name.clone(), l.id.clone()))
        })
    }

    /// Adds a Dynamics user (`systemuser`) with this name and email; returns its id.
    pub fn add_dynamics_user(&self, name: &str, email: &str) -> String {
        let now = self.now();
        let mut map = Map::new();
        map.insert("fullname".into(), json!(name));
        map.insert("internalemailaddress".into(), json!(email));
        map.insert("isdisabled".into(), json!(false));
        self.sandbox
            .handle
            .dataverse(|d| d.insert_row("systemuser", map, now))
    }

    /// A Jira user of the site: (account id, email, whether the email is visible).
    pub fn jira_users(&self) -> Vec<(String, String, bool)> {
        self.sandbox.handle.jira(|j| {
            j.users
                .iter()
                .filter(|u| u.active && u.account_type == "atlassian")
                .map(|u| (u.account_id.clone(), u.email.clone(), u.email_visible))
                .collect()
        })
    }

    /// Writes and failures of a run (Created / Updated / Deleted / Failed events).
    pub fn writes(events: &[EventRow]) -> Vec<&EventRow> {
        events
            .iter()
            .filter(|e| {
                matches!(
                    e.action,
                    EventAction::Created
                        | EventAction::Updated
                        | EventAction::Deleted
                        | EventAction::Failed
                )
            })
            .collect()
    }
}

// --- Attachments and deletions (tests/attachments.rs, tests/troubleshooting.rs) ---

/// Standard base64 (the sandbox stores `documentbody` encoded).
pub fn base64_decode(text: &str) -> Vec<u8> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter_map(value) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Deterministic file content of `len` bytes (not all the same byte, so order errors show).
pub fn file_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed) % 32) as u8
        })
        .collect()
}

impl Harness {
    /// A Jira client for the agent account (the sandbox's viewer, given write permissions),
    /// to change Jira over its REST API as a person would.
    pub fn agent(&self) -> crosswalk_jira::JiraClient {
        self.sandbox.handle.jira(|j| {
            for account in &mut j.accounts {
                if account.email == jira::VIEWER_EMAIL {
                    account.can_write = true;
                }
            }
        });
        let http = crosswalk_jira::JiraClient::http_builder(
            self.sandbox.urls.jira.clone(),
            jira::VIEWER_EMAIL,
            crosswalk_core::Secret::new(jira::VIEWER_API_TOKEN),
        )
        .build()
        .unwrap();
        crosswalk_jira::JiraClient::new(http)
    }

    /// Attaches a file to an issue as the agent; returns the attachment id.
    pub async fn attach_on_jira(&self, key: &str, filename: &str, bytes: Vec<u8>) -> String {
        self.agent()
            .add_attachment(key, filename, "application/octet-stream", bytes)
            .await
            .unwrap()
            .id
    }

    /// An issue's attachments as Jira holds them: (id, filename, content).
    pub fn jira_attachments(&self, key: &str) -> Vec<(String, String, Vec<u8>)> {
        self.sandbox.handle.jira(|j| {
            let Some(issue) = j.issue(key) else {
                return Vec::new();
            };
            issue
                .attachments
                .iter()
                .filter_map(|id| j.attachments.get(id))
                .map(|a| (a.id.to_string(), a.filename.clone(), a.content.clone()))
                .collect()
        })
    }

    /// Comment ids on an issue, oldest first.
    pub fn comment_ids(&self, key: &str) -> Vec<String> {
        self.sandbox.handle.jira(|j| {
            j.issue(key)
                .map(|issue| issue.comments.iter().map(|c| c.id.to_string()).collect())
                .unwrap_or_default()
        })
    }

    /// Adds a note with a file regarding a case, as a Dynamics user would; returns its id.
    pub fn add_file_note(&self, case_id: &str, filename: &str, bytes: &[u8]) -> String {
        let now = self.now();
        self.sandbox.handle.dataverse(|d| {
            d.add_note(
                "incident",
                case_id,
                filename,
                "",
                Some((filename, "application/octet-stream", bytes)),
                now,
            )
        })
    }

    /// The file of a note: (filename, decoded content), when it has one.
    pub fn note_file(&self, note_id: &str) -> Option<(String, Vec<u8>)> {
        self.sandbox.handle.dataverse(|d| {
            let row = d.row("annotation", note_id)?;
            let filename = row.values.get("filename")?.as_str()?.to_owned();
            let body = row.values.get("documentbody")?.as_str()?;
            Some((filename, base64_decode(body)))
        })
    }

    /// Notes of a case carrying a file: (note id, filename, content).
    pub fn file_notes_of(&self, case_id: &str) -> Vec<(String, String, Vec<u8>)> {
        self.notes_of(case_id)
            .into_iter()
            .filter_map(|(id, _, _, _)| {
                let (filename, bytes) = self.note_file(&id)?;
                Some((id, filename, bytes))
            })
            .collect()
    }

    /// Deletes a note as a Dynamics user would.
    pub fn delete_note(&self, note_id: &str) {
        let now = self.now();
        assert!(self
            .sandbox
            .handle
            .dataverse(|d| d.delete_row("annotation", note_id, now)));
    }

    /// Lets Dataverse take files up to its documented maximum (131,072,000 base64 characters)
    /// and Jira up to `jira_mb`.
    pub fn allow_large_files(&self, jira_mb: u64) {
        self.sandbox.handle.set_dataverse_max_upload_file_size(
            crosswalk_sandbox::dataverse::MAX_UPLOAD_FILE_SIZE_LIMIT,
        );
        self.sandbox
            .handle
            .set_jira_attachment_upload_limit(jira_mb * 1024 * 1024);
    }

    /// A new case linked to a new issue (the item must auto-create): (case id, issue key).
    pub async fn linked_case(&self, title: &str) -> (String, String) {
        self.tick().await;
        let case = self.create_case(title, json!({}));
        self.poll().await;
        let key = self.link_of(&case).jira_key;
        (case, key)
    }

    /// A run expected to fail: its record (with the admin-facing error) and events.
    pub async fn failing_run(&self) -> (RunRow, Vec<EventRow>) {
        let (run_id, status) = self.run(false).await;
        let run = self.store().get_run(run_id).unwrap();
        assert_eq!(status, RunStatus::Failed, "{run:#?}");
        (run, self.events(run_id))
    }
}

// --- Manual and bulk links (tests/linking.rs) ---

impl Harness {
    /// The engine's services (for the console's admin actions in `crosswalk_dynamics::linking`).
    pub fn services(&self) -> &crosswalk_engine::Services {
        self.engine.services()
    }

    /// Issues of the service project as `(id, key)`, in key order.
    pub fn project_issues(&self) -> Vec<(String, String)> {
        self.sandbox.handle.jira(|j| {
            let project = j
                .projects
                .iter()
                .find(|p| p.key == PROJECT)
                .map(|p| p.id.clone())
                .unwrap_or_default();
            let mut issues: Vec<(u64, String)> = j
                .issues
                .iter()
                .filter(|i| i.project == project)
                .map(|i| (i.id, i.key.clone()))
                .collect();
            issues.sort();
            issues
                .into_iter()
                .map(|(id, key)| (id.to_string(), key))
                .collect()
        })
    }

    /// Global ids of an issue's remote links.
    pub fn remote_links_of(&self, key: &str) -> Vec<String> {
        self.sandbox.handle.jira(|j| {
            j.issue(key)
                .map(|issue| {
                    issue
                        .remote_links
                        .iter()
                        .filter_map(|l| l.global_id.clone())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Whether Jira still has the issue and Dataverse the case.
    pub fn both_exist(&self, key: &str, case_id: &str) -> bool {
        self.sandbox.handle.jira(|j| j.issue(key).is_some())
            && self
                .sandbox
                .handle
                .dataverse(|d| d.row("incident", case_id).is_some())
    }
}

impl Harness {
    /// The connector's "Linked to Jira" notes on a case: (id, subject, text, filename).
    pub fn link_notes_of(&self, case_id: &str) -> Vec<(String, String, String, Option<String>)> {
        self.notes_of(case_id)
            .into_iter()
            .filter(|n| n.1.starts_with("Linked to Jira issue"))
            .collect()
    }

    /// Creates an issue of the service project as an agent does; returns `(id, key)`.
    pub fn create_issue(&self, summary: &str, fields: Value) -> (String, String) {
        let now = self.now();
        self.sandbox.handle.jira(|j| {
            let mut map = fields.as_object().cloned().unwrap_or_default();
            map.insert("project".into(), json!({"key": PROJECT}));
            map.insert("issuetype".into(), json!({"id": ISSUE_TYPE}));
            map.insert("summary".into(), json!(summary));
            let key = j.create_issue(map, ADMIN_VIEWER, now).unwrap();
            let id = j.issue(&key).unwrap().id.to_string();
            (id, key)
        })
    }
}

impl Harness {
    /// An issue field as a person reads it: option values, priority / component / version
    /// names and user account ids instead of the stored ids; ADF as plain text; arrays as
    /// arrays of those; anything else as stored.
    pub fn issue_shown(&self, key: &str, field: &str) -> Value {
        self.sandbox.handle.jira(|j| {
            let issue = j.issue(key).unwrap();
            let Some(stored) = issue.fields.get(field) else {
                return Value::Null;
            };
            let Some(def) = j.field(field) else {
                return stored.clone();
            };
            let project = j.project(&issue.project).unwrap();
            let one = |id: &Value| -> Value {
                let id = id.as_str().unwrap_or_default();
                let item = def.items.as_deref().unwrap_or(def.schema_type.as_str());
                let name = match item {
                    "option" => def
                        .options
                        .iter()
                        .find(|(o, _)| o == id)
                        .map(|(_, v)| v.clone()),
                    "priority" => j
                        .priorities
                        .iter()
                        .find(|p| p.id == id)
                        .map(|p| p.name.clone()),
                    "component" => project
                        .components
                        .iter()
                        .find(|c| c.id == id)
                        .map(|c| c.name.clone()),
                    "version" => project
                        .versions
                        .iter()
                        .find(|v| v.id == id)
                        .map(|v| v.name.clone()),
                    _ => Some(id.to_owned()),
                };
                json!(name.unwrap_or_else(|| format!("?{id}")))
            };
            if def.is_adf() {
                return json!(crosswalk_jira::adf::to_plain_text(stored));
            }
            match (def.schema_type.as_str(), stored) {
                ("array", Value::Array(items)) if def.items.as_deref() != Some("string") => {
                    Value::Array(items.iter().map(one).collect())
                }
                ("option" | "priority" | "user" | "version", v) => one(v),
                _ => stored.clone(),
            }
        })
    }
}

// --- "Most recent wins" and pending status moves (tests/fields.rs, tests/status.rs) ---

impl Harness {
    /// When Jira's changelog last recorded a change of `field_id` on the issue.
    pub fn jira_changed_at(&self, key: &str, field_id: &str) -> time::OffsetDateTime {
        self.sandbox.handle.jira(|j| {
            j.issue(key)
                .unwrap()
                .histories
                .iter()
                .filter(|h| h.items.iter().any(|i| i.field_id == field_id))
                .map(|h| h.created)
                .max()
                .unwrap_or_else(|| panic!("no changelog entry for {field_id} on {key}"))
        })
    }

    /// The issue's `updated` as Jira holds it.
    pub fn issue_updated_at(&self, key: &str) -> time::OffsetDateTime {
        self.sandbox.handle.jira(|j| j.issue(key).unwrap().updated)
    }

    /// The case's `modifiedon` as Dataverse holds it.
    pub fn case_modified_at(&self, id: &str) -> time::OffsetDateTime {
        let text = self.case_value(id, "modifiedon");
        crosswalk_dynamics::sync::parse_stamp(text.as_str().unwrap()).unwrap()
    }

    /// A Jira admin adds a transition from `from` (status ids) to `to` to the issue's workflow.
    pub fn add_workflow_transition(&self, key: &str, name: &str, from: &[&str], to: &str) {
        self.sandbox
            .handle
            .jira(|j| j.add_workflow_transition(key, name, from, to))
            .unwrap();
    }
}

/// The `conflict` events of a run.
pub fn conflicts(events: &[EventRow]) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| e.object_kind.as_deref() == Some("conflict"))
        .collect()
}

/// Asserts a conflict event names the winner and both compared times with their sources.
pub fn assert_compared(
    conflict: &EventRow,
    winner: &str,
    jira_at: time::OffsetDateTime,
    dynamics_at: time::OffsetDateTime,
) {
    let stamp = crosswalk_dynamics::sync::stamp;
    let after = conflict.after.as_ref().expect("the conflict's outcome");
    assert_eq!(after["winner"], winner, "{conflict:#?}");
    // The why sentence travels on its own for the run log's conflict view.
    let why = after["why"].as_str().expect("the conflict says why");
    assert!(
        !why.is_empty() && conflict.message.ends_with(why),
        "{conflict:#?}"
    );
    let before = conflict.before.as_ref().expect("both values");
    assert!(
        before.get("jira").is_some() && before.get("dynamics").is_some(),
        "{conflict:#?}"
    );
    assert_eq!(
        after["compared"],
        json!({
            "jira": {"at": stamp(jira_at), "source": "changelog"},
            "dynamics": {"at": stamp(dynamics_at), "source": "modifiedon"},
        }),
        "{conflict:#?}"
    );
    for at in [jira_at, dynamics_at] {
        assert!(
            conflict.message.contains(&stamp(at)),
            "{} not in {}",
            stamp(at),
            conflict.message
        );
    }
    assert!(
        conflict.message.contains("changelog") && conflict.message.contains("modifiedon"),
        "{}",
        conflict.message
    );
}

// --- Items on other tables: opportunities and leads (tests/status.rs) ---

/// A one-way item like [`base_settings`] on `table` (the Sales module's `opportunity` or
/// `lead`), with `name_column` → summary as its only field.
pub fn table_settings(table: &str, name_column: &str) -> Value {
    let mut settings = base_settings();
    settings["table"] = json!(table);
    settings["module"] = json!("Sales");
    settings["fields"] = json!([{"dataverse": name_column, "jira": "summary"}]);
    settings
}

impl Harness {
    /// Creates a row of `table` as a Dynamics user does; returns its id.
    pub fn create_row(&self, table: &str, fields: Value) -> String {
        let now = self.now();
        let map = fields.as_object().cloned().unwrap_or_default();
        self.sandbox
            .handle
            .dataverse(|d| d.insert_row(table, map, now))
    }

    /// Updates a row of `table` as a Dynamics user does (a PATCH).
    pub fn update_row(&self, table: &str, id: &str, fields: Value) {
        let now = self.now();
        let map = fields.as_object().cloned().unwrap_or_default();
        self.sandbox
            .handle
            .dataverse(|d| d.update_row(table, id, map, now));
    }

    /// A row's `(statecode, statuscode)` as Dataverse holds it.
    pub fn row_status(&self, table: &str, id: &str) -> (i64, i64) {
        self.sandbox.handle.dataverse(|d| {
            let row = d.row(table, id).unwrap();
            let int = |c: &str| row.values.get(c).and_then(Value::as_i64).unwrap_or(-1);
            (int("statecode"), int("statuscode"))
        })
    }

    /// How many rows `table` holds.
    pub fn row_count(&self, table: &str) -> usize {
        self.sandbox.handle.dataverse(|d| d.rows_of(table).count())
    }

    /// The link of a row of `table`.
    pub fn link_of_row(&self, table: &str, id: &str) -> LinkRow {
        self.store()
            .find_link_by_record(self.job_id(), table, id)
            .unwrap()
            .unwrap_or_else(|| panic!("{table} {id} is not linked"))
    }

    /// Wins (`won`) or loses an opportunity as a Dynamics user does (the actions' path).
    pub fn close_opportunity(&self, id: &str, won: bool, status: i64, subject: &str) {
        let now = self.now();
        self.sandbox
            .handle
            .dataverse(|d| d.close_opportunity(id, won, status, subject, now));
    }

    /// Opportunity closes regarding an opportunity: (subject, statecode, statuscode).
    pub fn opportunity_closes_of(&self, id: &str) -> Vec<(String, i64, i64)> {
        self.closing_activities("opportunityclose", "opportunityid", id)
    }
}

// --- Requests on the wire, by route (tests/items.rs request counts) ---

thread_local! {
    /// Where the requests of this thread's test go while it records.
    static RECORDING: std::cell::RefCell<Option<Arc<std::sync::Mutex<Vec<String>>>>> =
        const { std::cell::RefCell::new(None) };
}

/// The process-wide `tracing` subscriber of this test binary: it keeps crosswalk-http's
/// per-request spans for the thread that records them. Global, because `tracing` caches which
/// callsites are enabled across threads, so a subscriber set for one thread alone can miss its
/// spans while other tests run.
struct Recorder;

#[derive(Default)]
struct SpanFields(std::collections::BTreeMap<&'static str, String>);

impl tracing::field::Visit for SpanFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_span() && metadata.name() == "http"
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        RECORDING.with(|recording| {
            if let Some(lines) = recording.borrow().as_ref() {
                let mut fields = SpanFields::default();
                span.record(&mut fields);
                let field = |name: &str| fields.0.get(name).cloned().unwrap_or_default();
                lines.lock().unwrap().push(format!(
                    "{} {} {}",
                    field("remote"),
                    field("method"),
                    field("route")
                ));
            }
        });
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}

    fn event(&self, _event: &tracing::Event<'_>) {}

    fn enter(&self, _span: &tracing::span::Id) {}

    fn exit(&self, _span: &tracing::span::Id) {}
}

/// Every request the clients put on the wire from this thread (a `#[tokio::test]` runs the
/// engine on it) while this is alive, as `remote METHOD route` from crosswalk-http's
/// per-request span (the route template, never a URL): what a count assertion shows.
pub struct RequestLog {
    lines: Arc<std::sync::Mutex<Vec<String>>>,
}

impl RequestLog {
    /// Starts recording this thread's requests.
    pub fn start() -> RequestLog {
        static RECORDER: std::sync::Once = std::sync::Once::new();
        RECORDER.call_once(|| {
            tracing::subscriber::set_global_default(Recorder)
                .expect("no other global subscriber in this test binary");
        });
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        RECORDING.with(|recording| *recording.borrow_mut() = Some(lines.clone()));
        RequestLog { lines }
    }

    /// The requests recorded so far, and forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap())
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        RECORDING.with(|recording| recording.borrow_mut().take());
    }
}

// --- One item with one linked record (tests/fields.rs, tests/status.rs) ---

/// The Cases item of [`base_settings`] in `mode`, mapping title → summary (an issue needs a
/// summary) and then `fields` (a JSON array of mappings) instead of its own.
pub fn mapped_settings(mode: &str, fields: Value) -> Value {
    let mut mappings = vec![json!({"dataverse": "title", "jira": "summary"})];
    mappings.extend(fields.as_array().into_iter().flatten().cloned());
    let mut settings = base_settings();
    settings["mode"] = json!(mode);
    settings["fields"] = Value::Array(mappings);
    settings
}

/// The Case resolution text [`status_settings`] configures.
pub const RESOLUTION: &str = "Fixed by the service desk";

/// The Cases item of [`base_settings`] in `mode` with status sync on, closing Cases with
/// [`RESOLUTION`] as the resolution text.
pub fn status_settings(mode: &str) -> Value {
    let mut settings = base_settings();
    settings["mode"] = json!(mode);
    settings["status"] = json!({"enabled": true, "resolution_text": RESOLUTION});
    settings
}

/// A case as the status tests open it: active ("In Progress"), with a description.
pub fn open_case() -> Value {
    json!({"description": "Needs attention"})
}

impl Harness {
    /// [`Harness::with_case`] for status sync: the item of [`status_settings`] in `mode` and
    /// one [`open_case`] titled `title`.
    pub async fn with_status_case(mode: &str, title: &str) -> (Harness, String, String) {
        Harness::with_case(status_settings(mode), title, open_case()).await
    }

    /// Starts the item with `settings` and links one record of its table: see
    /// [`Harness::linked_record`]. Returns the harness, the record id and the issue key.
    pub async fn with_linked(settings: Value, fields: Value) -> (Harness, String, String) {
        let harness = Harness::start(settings).await;
        let (id, key) = harness.linked_record(fields).await;
        (harness, id, key)
    }

    /// [`Harness::with_linked`] for a case titled `title` with `fields`.
    pub async fn with_case(
        settings: Value,
        title: &str,
        fields: Value,
    ) -> (Harness, String, String) {
        let harness = Harness::start(settings).await;
        let (case, key) = harness.case_with_issue(title, fields).await;
        (harness, case, key)
    }

    /// The baseline poll, a record of the item's table with `fields` created after it, and the
    /// poll that creates and links its issue (one issue created, asserted). Returns the record
    /// id and the issue key; the clock has moved past both polls.
    pub async fn linked_record(&self, fields: Value) -> (String, String) {
        let table = self.settings["table"]
            .as_str()
            .expect("the item's settings name its table")
            .to_owned();
        self.poll().await;
        self.tick().await;
        let id = self.create_row(&table, fields);
        let (_, events) = self.poll().await;
        assert_eq!(
            count(&events, "issue", EventAction::Created),
            1,
            "{events:#?}"
        );
        let key = self.link_of_row(&table, &id).jira_key;
        self.tick().await;
        (id, key)
    }

    /// [`Harness::linked_record`] for a case titled `title` with `fields`.
    pub async fn case_with_issue(&self, title: &str, fields: Value) -> (String, String) {
        let mut fields = fields;
        fields["title"] = json!(title);
        self.linked_record(fields).await
    }

    /// Polls `polls` times, asserting that none writes anything (no echo of the last write).
    pub async fn assert_quiet(&self, polls: usize) {
        for poll in 0..polls {
            let (_, events) = self.poll().await;
            let writes = Harness::writes(&events);
            assert!(writes.is_empty(), "poll {poll} wrote: {writes:#?}");
        }
    }
}
