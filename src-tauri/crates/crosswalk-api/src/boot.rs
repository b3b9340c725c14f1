//! Bringing Crosswalk up over a data folder: the store (single writer), the keychain, the job
//! kinds, the engine and the scheduler. Shared by the console, `crosswalk serve` and `crosswalk sync`.

use crate::dto::AppInfo;
use crate::Api;
use anyhow::Context as _;
use crosswalk_engine::{Engine, Registry, Scheduler, Services};
use crosswalk_secrets::Secrets;
use crosswalk_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every job kind this build can run.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(crosswalk_engine::health::HealthCheck);
    registry.register(crosswalk_entra::EntraSync);
    registry.register(crosswalk_dynamics::DynamicsItem);
    registry
}

/// Where diagnostics logs go for a data folder.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// Opens the data folder for writing and builds the engine (no scheduler).
///
/// # Errors
/// A `UserFacing` error when another process holds the data folder or the database is unusable.
pub fn open_engine(data_dir: &Path) -> anyhow::Result<Engine> {
    let store = Store::open(data_dir).map_err(|error| anyhow::Error::new(error.user_facing()))?;
    let services = Services::new(Arc::new(store), Arc::new(Secrets::from_os()));
    Engine::new(services, registry()).context("starting the engine")
}

/// Opens the data folder, starts the scheduler on the current tokio runtime, and returns the API.
///
/// `version` is the application's version; `demo` marks a `crosswalk demo` data folder.
pub fn start(data_dir: &Path, version: &str, demo: bool) -> anyhow::Result<Api> {
    let engine = open_engine(data_dir)?;
    let scheduler = Scheduler::spawn(engine);
    let info = AppInfo {
        version: version.to_owned(),
        data_dir: data_dir.display().to_string(),
        log_dir: log_dir(data_dir).display().to_string(),
        keychain: crosswalk_secrets::Keychain::platform_name().to_owned(),
        demo,
    };
    Ok(Api::new(scheduler, info))
}
