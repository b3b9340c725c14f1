//! The engine: job kinds registered by sync engines, the runner that executes one run of a job,
//! and the scheduler that decides when runs start.
//!
//! It owns no UI and no process concerns: the console and the headless CLI both drive it through
//! [`Engine`] and watch it through [`EngineEvent`]s. Every run and its events are persisted through
//! `crosswalk-store` as they happen, so a crash leaves an `interrupted` run, never a silent gap.
//! Tested with real SQLite files in temp folders and a manual clock.

pub mod checks;
pub mod context;
pub mod engine;
pub mod events;
pub mod health;
pub mod kind;
pub mod scheduler;
pub mod secret_expiry;
pub mod services;

pub use context::{RunContext, RunEvent, RunOutcome};
pub use engine::{Engine, RunRequest, StartedRun};
pub use events::EngineEvent;
pub use kind::{JobKind, Registry};
pub use scheduler::{Scheduler, SchedulerHandle};
pub use services::Services;

#[cfg(test)]
mod tests;
