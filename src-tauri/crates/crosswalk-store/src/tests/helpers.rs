//! Sample data and a store with a hand-moved clock.

use crate::Store;
use crosswalk_core::clock::ManualClock;
use crosswalk_core::{Cloud, ConnectionConfig, ConnectionSettings, JobConfig, Schedule, SecretRef};
use std::sync::Arc;
use time::macros::datetime;
use time::OffsetDateTime;

/// The instant every test clock starts at.
pub(crate) const T0: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);

/// An in-memory store whose clock the test controls.
pub(crate) fn memory_store() -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let store = Store::open_in_memory()
        .expect("in-memory store")
        .with_clock(clock.clone());
    (store, clock)
}

/// An Entra connection named `name`.
pub(crate) fn entra(name: &str) -> ConnectionConfig {
    ConnectionConfig {
        name: name.to_owned(),
        settings: ConnectionSettings::Entra {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned(),
            client_id: "535fb089-9ff3-47b6-9bfb-4f1264799865".to_owned(),
            cloud: Cloud::Global,
            authority_url: None,
            graph_url: None,
        },
        secret: None,
    }
}

/// A Jira connection named `name` whose token lives in the keychain entry `secret_name`.
pub(crate) fn jira(name: &str, secret_name: &str) -> ConnectionConfig {
    ConnectionConfig {
        name: name.to_owned(),
        settings: ConnectionSettings::Jira {
            site_url: "https://acme.atlassian.net".parse().expect("valid URL"),
            email: "admin@acme.com".to_owned(),
            assets_api_url: None,
        },
        secret: Some(SecretRef::Keychain(secret_name.to_owned())),
    }
}

/// An hourly job named `name`.
pub(crate) fn job(name: &str) -> JobConfig {
    JobConfig {
        name: name.to_owned(),
        kind: "entra-sync".to_owned(),
        schedule: Schedule::Hourly,
        enabled: true,
        settings: serde_json::json!({"source": "entra-prod", "target": "jira-prod"}),
    }
}
