//! The Dynamics 365 connector: Smart Connected Items linking Dataverse records and Jira issues.
//!
//! For: the `dynamics-item` job kind (one job per item). A run polls both sides (Dataverse
//! change tracking or `modifiedon`, Jira JQL on `updated`), auto-creates issues for new records,
//! carries mapped fields one or both ways, status (Case close/cancel through their actions),
//! comments and attachments, and never echoes its own writes back: each copy is journaled in the
//! store before it is written and recognised afterwards.
//!
//! Not for: HTTP details (crosswalk-jira, crosswalk-dataverse), scheduling and run records
//! (crosswalk-engine), or UI. The model is written down in ARCHITECTURE.md ("Dynamics model").

pub mod connect;
pub mod convert;
pub mod create;
pub mod error;
pub mod journal;
pub mod link_status;
pub mod link_sync;
pub mod linking;
pub mod meta;
pub mod notes;
pub mod poll;
pub mod presence;
pub mod recency;
pub mod settings;
pub mod state;
pub mod status;
pub mod sync;

pub use error::{Error, Result};
pub use settings::DynamicsItemSettings;

use crosswalk_core::ValidationError;
use crosswalk_engine::kind::{JobKind, RunFuture};
use crosswalk_engine::{RunContext, RunEvent, RunOutcome};

/// The config word of the job kind.
pub const KIND: &str = "dynamics-item";

/// Job kind `dynamics-item`: one Smart Connected Item; settings are [`DynamicsItemSettings`].
pub struct DynamicsItem;

impl JobKind for DynamicsItem {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn label(&self) -> &'static str {
        "Dynamics 365 ↔ Jira (Smart Connected Item)"
    }

    fn validate(&self, settings: &serde_json::Value) -> Result<(), Vec<ValidationError>> {
        DynamicsItemSettings::parse(settings).map(drop)
    }

    fn run(&self, ctx: RunContext) -> RunFuture {
        Box::pin(async move {
            let settings = DynamicsItemSettings::parse(&ctx.job.settings).map_err(|problems| {
                let text: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect();
                anyhow::Error::new(Error::Settings(text.join("; ")).user_facing())
            })?;
            // A bulk link queued from the console runs as this run, in place of a poll.
            if linking::run_pending_bulk(&ctx, &settings).await? {
                return Ok(RunOutcome::default());
            }
            if !settings.mode.synchronizes() {
                ctx.event(RunEvent::info(
                    "Display-only item: records are linked and previewed from the console; nothing is synchronized on a schedule.",
                ));
                return Ok(RunOutcome::default());
            }
            let item = sync::Item::prepare(ctx.clone(), settings).await?;
            item.poll().await.map_err(error::facing)?;
            Ok(RunOutcome::default())
        })
    }
}
