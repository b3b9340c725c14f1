//! The built-in "Connection health check" job: tests connections on a schedule, so an expired
//! secret or a removed consent is noticed (and notified) before a sync needs it. It also runs the
//! client-secret expiry watch (`secret_expiry`) for Entra and Dataverse connections.

use crate::context::{EventAction, RunContext, RunEvent, RunOutcome};
use crate::kind::{JobKind, RunFuture};
use crosswalk_core::{CheckStatus, ValidationError};

/// Job kind `health-check`. Settings: `{ "connections": ["name", ...] }` (empty or absent = all).
pub struct HealthCheck;

fn connection_names(settings: &serde_json::Value) -> Result<Vec<String>, ValidationError> {
    match settings.get("connections") {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    ValidationError::new("connections", "must be a list of connection names")
                })
            })
            .collect(),
        Some(_) => Err(ValidationError::new(
            "connections",
            "must be a list of connection names",
        )),
    }
}

impl JobKind for HealthCheck {
    fn kind(&self) -> &'static str {
        "health-check"
    }

    fn label(&self) -> &'static str {
        "Connection health check"
    }

    fn validate(&self, settings: &serde_json::Value) -> Result<(), Vec<ValidationError>> {
        let mut problems = Vec::new();
        if let Some(object) = settings.as_object() {
            for key in object.keys().filter(|k| k.as_str() != "connections") {
                problems.push(ValidationError::new(
                    key,
                    "unknown setting (only \"connections\" is allowed)",
                ));
            }
        }
        if let Err(error) = connection_names(settings) {
            problems.push(error);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn run(&self, ctx: RunContext) -> RunFuture {
        Box::pin(async move {
            let wanted = connection_names(&ctx.job.settings).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = &ctx.services.store;
            let mut connections = Vec::new();
            if wanted.is_empty() {
                connections = store
                    .list_connections()?
                    .into_iter()
                    .map(|c| c.config)
                    .collect();
            } else {
                for name in &wanted {
                    match store.find_connection(name)? {
                        Some(stored) => connections.push(stored.config),
                        None => ctx.event(
                            RunEvent::object(
                                "connection",
                                name,
                                name,
                                EventAction::Failed,
                                "No such connection.",
                            )
                            .with_fix("Remove it from the job's settings or add the connection."),
                        ),
                    }
                }
            }
            let total = connections.len() as u64;
            for (idx, connection) in connections.iter().enumerate() {
                if ctx.is_cancelled() {
                    break;
                }
                ctx.progress(idx as u64, total, &format!("Testing {}", connection.name));
                let (report, expiry) =
                    crate::checks::run_checks(&ctx.services, connection, &ctx.requests).await;
                let failures: Vec<_> = report
                    .items
                    .iter()
                    .filter(|i| i.status == CheckStatus::Fail)
                    .collect();
                let event = match failures.first() {
                    None => RunEvent::object(
                        "connection",
                        &connection.name,
                        &connection.name,
                        EventAction::Unchanged,
                        "All checks passed.",
                    ),
                    Some(first) => {
                        let mut event = RunEvent::object(
                            "connection",
                            &connection.name,
                            &connection.name,
                            EventAction::Failed,
                            format!("{}: {}", first.label, first.detail),
                        );
                        event.fix = first.fix.clone();
                        event
                    }
                };
                let details = serde_json::to_value(&report.items).ok();
                ctx.event(event.with_change(None, details));
                // The checks read the secret's expiry already; remember it, warn and notify.
                if let Some(outcome) = expiry {
                    crate::secret_expiry::report_outcome(&ctx, connection, outcome);
                }
            }
            ctx.progress(total, total, "Done");
            Ok(RunOutcome::default())
        })
    }
}
