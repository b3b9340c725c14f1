//! Entra Sync: Microsoft Entra ID users, groups, app registrations, Entra devices and Intune
//! managed devices mirrored into Jira Service Management Assets.
//!
//! For: the `entra-sync` job kind. A run provisions the object schema it needs, reads Graph
//! with delta queries (Intune: sync-time passes and a daily full listing), writes only objects
//! whose mapped values changed, models references within Assets' limits (memberships as objects
//! of their own), and retires objects that left Entra behind a mass-retirement guard. Creates are
//! journaled in the store's object map first, so a run killed at any point converges without
//! duplicates; a lost database is rebuilt by finding objects by `Entra Object ID`.
//!
//! Not for: HTTP details (crosswalk-graph, crosswalk-assets), scheduling and run records
//! (crosswalk-engine), or UI. The model is written down in ARCHITECTURE.md ("Entra Sync model").
//!
//! Tested end to end against `crosswalk-sandbox` over real HTTP with real SQLite (`tests/`).

pub mod connect;
pub mod doc;
pub mod error;
pub mod kinds;
pub mod mapping;
mod reidentify;
pub mod schema;
pub mod scope;
pub mod settings;
pub mod sync;
pub mod writer;

pub use error::{Error, Result};
pub use kinds::ObjectKind;
pub use settings::EntraSyncSettings;
pub use sync::confirm_key;

use crosswalk_core::ValidationError;
use crosswalk_engine::kind::{JobKind, RunFuture};
use crosswalk_engine::{RunContext, RunOutcome};

/// How old the last reading of the client secret's expiry may be before a run reads it again
/// (thresholds are whole days, so twice a day is enough and costs one Graph request).
const EXPIRY_READ_EVERY: time::Duration = time::Duration::hours(12);

/// Warns (run event, desktop notification) as the Entra connection's client secret nears expiry.
async fn watch_secret(ctx: &RunContext, connection: &crosswalk_core::ConnectionConfig) {
    use crosswalk_engine::secret_expiry::{known_secret_expiry, watch_secret_expiry};
    let now = ctx.services.clock.now();
    let fresh = known_secret_expiry(&ctx.services.store, &connection.name, now)
        .ok()
        .flatten()
        .is_some_and(|known| now - known.checked_at < EXPIRY_READ_EVERY);
    if !fresh {
        watch_secret_expiry(ctx, connection).await;
    }
}

/// The config word of the job kind.
pub const KIND: &str = "entra-sync";

/// Job kind `entra-sync`; settings are [`EntraSyncSettings`].
pub struct EntraSync;

impl JobKind for EntraSync {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn label(&self) -> &'static str {
        "Entra ID → Assets sync"
    }

    fn validate(&self, settings: &serde_json::Value) -> Result<(), Vec<ValidationError>> {
        EntraSyncSettings::parse(settings).map(drop)
    }

    fn run(&self, ctx: RunContext) -> RunFuture {
        Box::pin(async move {
            let (settings, mapping) =
                EntraSyncSettings::parse(&ctx.job.settings).map_err(|problems| {
                    let text: Vec<String> = problems
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.message))
                        .collect();
                    anyhow::Error::new(Error::Settings(text.join("; ")).user_facing())
                })?;
            let clients = connect::clients(&ctx, &settings).await?;
            // Credentials first: an expired secret must stop the run before Assets is touched.
            clients
                .graph
                .http()
                .sign_in()
                .await
                .map_err(|e| anyhow::Error::new(e.user_facing()))?;
            watch_secret(&ctx, &clients.entra).await;
            let sync = sync::Sync::prepare(
                ctx.clone(),
                clients.graph,
                clients.assets,
                settings,
                mapping,
            )
            .await?;
            sync.run().await?;
            Ok(RunOutcome::default())
        })
    }
}
