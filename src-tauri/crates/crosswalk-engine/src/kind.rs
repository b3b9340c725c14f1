//! Job kinds: what an engine registers so the scheduler can run its jobs.

use crate::context::{RunContext, RunOutcome};
use crosswalk_core::ValidationError;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The future one run of a job returns.
pub type RunFuture = Pin<Box<dyn Future<Output = anyhow::Result<RunOutcome>> + Send + 'static>>;

/// One kind of job (Entra Sync, a Smart Connected Item, a health check...).
pub trait JobKind: Send + Sync + 'static {
    /// The word used in config files (`kind = "entra-sync"`).
    fn kind(&self) -> &'static str;

    /// The name admins see in the console.
    fn label(&self) -> &'static str;

    /// Checks kind-specific settings when a job is saved, so mistakes surface before a run.
    fn validate(&self, settings: &serde_json::Value) -> Result<(), Vec<ValidationError>>;

    /// Performs one run. Long runs report progress and check `ctx.is_cancelled()` between steps.
    fn run(&self, ctx: RunContext) -> RunFuture;
}

/// The job kinds this process knows, by config word.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Arc<dyn JobKind>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a job kind; a later registration of the same word replaces the earlier one.
    pub fn register(&mut self, kind: impl JobKind) -> &mut Registry {
        self.kinds.insert(kind.kind(), Arc::new(kind));
        self
    }

    /// The kind registered under `word`.
    pub fn get(&self, word: &str) -> Option<Arc<dyn JobKind>> {
        self.kinds.get(word).cloned()
    }

    /// All registered kinds, by config word.
    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn JobKind>> {
        self.kinds.values()
    }

    /// The config words, for "unknown kind" messages.
    pub fn words(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
    }
}
