//! A sandbox, a real data folder, an engine with the Entra Sync kind, and a reader of what is
//! in Assets (from the sandbox's own state, so assertions do not go through our client).

#![allow(dead_code)]

use crosswalk_core::clock::ManualClock;
use crosswalk_core::{
    Cloud, ConnectionConfig, ConnectionSettings, JobConfig, RunId, RunStatus, Schedule, SecretRef,
    Trigger,
};
use crosswalk_engine::{Engine, Registry, RunRequest, Services};
use crosswalk_sandbox::generator::jira::WORKSPACE_ID;
use crosswalk_sandbox::{identity, jira, Sandbox, SandboxOptions, Size};
use crosswalk_store::{EventFilter, EventRow, RunRow, Store};
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::sync::Arc;
use tempfile::TempDir;

pub const JOB: &str = "entra";

/// One running test world.
pub struct Harness {
    pub sandbox: Sandbox,
    pub dir: TempDir,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
    pub settings: serde_json::Value,
}

fn secrets() -> crosswalk_secrets::Secrets {
    let map: HashMap<String, OsString> = [
        ("ENTRA_SECRET", identity::CLIENT_SECRET),
        ("JIRA_TOKEN", jira::ADMIN_API_TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), OsString::from(v)))
    .collect();
    crosswalk_secrets::Secrets::new(crosswalk_secrets::Keychain::with_service(
        "crosswalk-entra-tests",
    ))
    .with_env_lookup(move |var: &str| map.get(var).cloned())
}

pub fn connections(sandbox: &Sandbox) -> Vec<ConnectionConfig> {
    vec![
        ConnectionConfig {
            name: "contoso".into(),
            settings: ConnectionSettings::Entra {
                tenant_id: identity::TENANT_ID.into(),
                client_id: identity::CLIENT_ID.into(),
                cloud: Cloud::Custom,
                authority_url: Some(sandbox.urls.login.clone()),
                graph_url: Some(sandbox.urls.graph.clone()),
            },
            secret: Some(SecretRef::Env("ENTRA_SECRET".into())),
        },
        ConnectionConfig {
            name: "jira".into(),
            settings: ConnectionSettings::Jira {
                site_url: sandbox.urls.jira.clone(),
                email: jira::ADMIN_EMAIL.into(),
                assets_api_url: Some(
                    sandbox
                        .urls
                        .assets
                        .join(&format!("jsm/assets/workspace/{WORKSPACE_ID}/v1"))
                        .unwrap(),
                ),
            },
            secret: Some(SecretRef::Env("JIRA_TOKEN".into())),
        },
    ]
}

pub fn default_settings() -> serde_json::Value {
    serde_json::json!({"entra_connection": "contoso", "jira_connection": "jira"})
}

fn engine(dir: &TempDir, clock: &Arc<ManualClock>) -> Engine {
    // A killed run's tasks are dropped in the background: wait for its folder lock to go.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let store = loop {
        match Store::open(dir.path()) {
            Err(crosswalk_store::Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let store = Arc::new(store.with_clock(clock.clone()));
    let services = Services::new(store, Arc::new(secrets())).with_clock(clock.clone());
    let mut registry = Registry::new();
    registry.register(crosswalk_entra::EntraSync);
    Engine::new(services, registry).unwrap()
}

impl Harness {
    pub async fn start(size: Size) -> Harness {
        Harness::with(size, default_settings()).await
    }

    pub async fn with(size: Size, settings: serde_json::Value) -> Harness {
        let sandbox = Sandbox::start(SandboxOptions {
            size,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // The engine's clock starts at the sandbox's "now": its data is generated around the start
        // of the real day (Intune devices last synced before it), so a fixed date would drift
        // away from the data and make "changed since the last run" passes see old devices.
        let clock = Arc::new(ManualClock::new(sandbox.handle.world().now()));
        let engine = engine(&dir, &clock);
        let harness = Harness {
            sandbox,
            dir,
            clock,
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
                kind: crosswalk_entra::KIND.into(),
                schedule: Schedule::Off,
                enabled: true,
                settings: self.settings.clone(),
            })
            .unwrap();
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.engine.services().store
    }

    /// Replaces the job's settings.
    pub fn set_settings(&mut self, settings: serde_json::Value) {
        self.settings = settings;
        self.configure();
    }

    /// The local database is lost: a new, empty data folder with the same connections and job.
    pub fn lose_database(&mut self) {
        let dir = tempfile::tempdir().unwrap();
        self.engine = engine(&dir, &self.clock);
        self.dir = dir;
        self.configure();
    }

    /// Reopens the same data folder (a restarted process).
    pub fn restart(&mut self) {
        let clock = self.clock.clone();
        // Drop the old engine first so the folder lock is released.
        let placeholder = tempfile::tempdir().unwrap();
        self.engine = engine(&placeholder, &clock);
        self.engine = engine(&self.dir, &clock);
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

    /// A run that must succeed; returns its record.
    pub async fn sync(&self) -> RunRow {
        let (run_id, status) = self.run(false).await;
        let run = self.store().get_run(run_id).unwrap();
        assert_eq!(
            status,
            RunStatus::Succeeded,
            "run failed: {:?}\n{:#?}",
            run.error,
            self.events(run_id)
                .into_iter()
                .filter(|e| e.action == crosswalk_store::EventAction::Failed)
                .take(5)
                .collect::<Vec<_>>()
        );
        run
    }

    pub fn events(&self, run_id: RunId) -> Vec<EventRow> {
        self.store()
            .list_events(run_id, &EventFilter::default())
            .unwrap()
    }

    /// What Assets holds now.
    pub fn assets(&self) -> Mirror {
        self.sandbox.handle.assets(|a| {
            let mut mirror = Mirror::default();
            let Some(schema) = a.schemas.iter().find(|s| s.key == "ENTRA") else {
                return mirror;
            };
            let statuses: HashMap<String, String> = a
                .status_types
                .iter()
                .map(|s| (s.id.to_string(), s.name.clone()))
                .collect();
            for object_type in a.object_types.iter().filter(|t| t.schema_id == schema.id) {
                let attributes: HashMap<u64, (&str, bool)> = a
                    .attributes
                    .iter()
                    .filter(|at| at.object_type_id == object_type.id)
                    .map(|at| (at.id, (at.name.as_str(), at.kind == 7)))
                    .collect();
                let id_attribute = attributes
                    .iter()
                    .find(|(_, (name, _))| *name == "Entra Object ID")
                    .map(|(id, _)| *id);
                let mut objects = BTreeMap::new();
                for object in a
                    .objects
                    .iter()
                    .filter(|o| o.object_type_id == object_type.id)
                {
                    let mut values = BTreeMap::new();
                    for (attribute, list) in &object.values {
                        let Some((name, is_status)) = attributes.get(attribute) else {
                            continue;
                        };
                        let list: Vec<String> = if *is_status {
                            list.iter()
                                .map(|v| statuses.get(v).cloned().unwrap_or_else(|| v.clone()))
                                .collect()
                        } else {
                            list.clone()
                        };
                        values.insert((*name).to_owned(), list);
                    }
                    let entra_id = id_attribute
                        .and_then(|id| object.values.get(&id))
                        .and_then(|v| v.first().cloned())
                        .unwrap_or_default();
                    let duplicate = objects.insert(
                        entra_id.clone(),
                        AssetsObject {
                            id: object.id.to_string(),
                            values,
                        },
                    );
                    assert!(
                        duplicate.is_none(),
                        "two {} objects for {entra_id}",
                        object_type.name
                    );
                }
                mirror.types.insert(object_type.name.clone(), objects);
            }
            mirror
        })
    }
}

/// An Assets object as the tests read it: values by attribute name.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetsObject {
    pub id: String,
    pub values: BTreeMap<String, Vec<String>>,
}

impl AssetsObject {
    pub fn one(&self, attribute: &str) -> Option<&str> {
        self.values
            .get(attribute)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

/// Assets objects per type name, by Entra object ID.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Mirror {
    pub types: BTreeMap<String, BTreeMap<String, AssetsObject>>,
}

impl Mirror {
    pub fn of(&self, type_name: &str) -> &BTreeMap<String, AssetsObject> {
        static EMPTY: BTreeMap<String, AssetsObject> = BTreeMap::new();
        self.types.get(type_name).unwrap_or(&EMPTY)
    }

    /// Entra id of the object with this Assets id.
    pub fn entra_id_of(&self, type_name: &str, assets_id: &str) -> Option<String> {
        self.of(type_name)
            .iter()
            .find(|(_, o)| o.id == assets_id)
            .map(|(id, _)| id.clone())
    }
}

/// What Assets should hold for the sandbox's directory right now (default mapping, no filters):
/// per type, Entra id → (label, key attributes as Entra ids or text).
pub fn expected(
    h: &Harness,
) -> BTreeMap<&'static str, BTreeMap<String, BTreeMap<&'static str, String>>> {
    use crosswalk_sandbox::generator::directory::Kind;
    h.sandbox.handle.graph(|g| {
        let d = &g.directory;
        let mut out: BTreeMap<&'static str, BTreeMap<String, BTreeMap<&'static str, String>>> =
            BTreeMap::new();
        let users = out.entry("Entra User").or_default();
        for u in d.users.iter() {
            let mut v = BTreeMap::new();
            v.insert("Name", u.display_name.clone());
            v.insert(
                "Entra Status",
                if u.account_enabled {
                    "Active"
                } else {
                    "Disabled"
                }
                .to_owned(),
            );
            if let Some(m) = &u.manager_id {
                v.insert("Manager", m.clone());
            }
            if let Some(title) = u.job_title.as_ref().filter(|t| !t.trim().is_empty()) {
                v.insert("Job title", title.trim().to_owned());
            }
            users.insert(u.id.clone(), v);
        }
        let groups = out.entry("Entra Group").or_default();
        for g in d.groups.iter() {
            let mut v = BTreeMap::new();
            v.insert("Name", g.display_name.clone());
            groups.insert(g.id.clone(), v);
        }
        let names: HashMap<&str, &str> = d
            .users
            .iter()
            .map(|u| (u.id.as_str(), u.display_name.as_str()))
            .chain(
                d.groups
                    .iter()
                    .map(|g| (g.id.as_str(), g.display_name.as_str())),
            )
            .chain(
                d.devices
                    .iter()
                    .map(|x| (x.id.as_str(), x.display_name.as_str())),
            )
            .collect();
        let memberships = out.entry("Entra Group Membership").or_default();
        for g in d.groups.iter() {
            for m in &g.members {
                let attribute = match m.kind {
                    Kind::User => "Member user",
                    Kind::Group => "Member group",
                    Kind::Device => "Member device",
                    _ => continue,
                };
                let mut v = BTreeMap::new();
                // Named after both sides: a rename on either side renames the membership.
                let member_name = names.get(m.id.as_str()).copied().unwrap_or(&m.id);
                v.insert("Name", format!("{} → {member_name}", g.display_name));
                v.insert("Group", g.id.clone());
                v.insert(attribute, m.id.clone());
                memberships.insert(format!("{}:{}", g.id, m.id), v);
            }
        }
        let apps = out.entry("Entra App Registration").or_default();
        for a in d.applications.iter() {
            let mut v = BTreeMap::new();
            v.insert("Name", a.display_name.clone());
            v.insert("Owner count", a.owners.len().to_string());
            apps.insert(a.id.clone(), v);
        }
        let devices = out.entry("Entra Device").or_default();
        for x in d.devices.iter() {
            let mut v = BTreeMap::new();
            v.insert("Name", x.display_name.clone());
            devices.insert(x.id.clone(), v);
        }
        let managed = out.entry("Intune Device").or_default();
        for x in d.managed_devices.iter() {
            let mut v = BTreeMap::new();
            v.insert("Name", x.device_name.clone());
            if let Some(u) = &x.user_id {
                v.insert("Primary user", u.clone());
            }
            managed.insert(x.id.clone(), v);
        }
        out
    })
}

/// Reference attributes whose expected value is an Entra id, with the type they point at.
fn reference_target(attribute: &str) -> Option<&'static str> {
    match attribute {
        "Manager" | "Primary user" | "Member user" => Some("Entra User"),
        "Group" | "Member group" => Some("Entra Group"),
        "Member device" => Some("Entra Device"),
        _ => None,
    }
}

/// Asserts that active objects in Assets are exactly the expected ones with the expected values.
pub fn assert_mirrors_directory(h: &Harness) {
    let mirror = h.assets();
    for (type_name, objects) in expected(h) {
        let actual = mirror.of(type_name);
        let active: BTreeMap<&String, &AssetsObject> = actual
            .iter()
            .filter(|(_, o)| o.one("Entra Status") != Some("Removed from Entra"))
            .collect();
        let expected_ids: Vec<&String> = objects.keys().collect();
        let actual_ids: Vec<&String> = active.keys().copied().collect();
        assert_eq!(actual_ids, expected_ids, "{type_name}: objects differ");
        for (id, values) in objects {
            let object = active[&id];
            for (attribute, want) in values {
                let got = object.one(attribute).map(str::to_owned);
                let got = match reference_target(attribute) {
                    Some(target) => {
                        got.and_then(|assets_id| mirror.entra_id_of(target, &assets_id))
                    }
                    None => got,
                };
                assert_eq!(
                    got.as_deref(),
                    Some(want.as_str()),
                    "{type_name} {id}: attribute {attribute}"
                );
            }
        }
    }
}
