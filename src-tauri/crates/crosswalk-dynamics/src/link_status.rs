//! Brings one link's status in step, after its fields (`link_sync`).
//!
//! The side whose status changed since the last sync wins; when both changed the most recent
//! change wins (Jira's time is the newest changelog entry of `status`, see `recency`) and the
//! conflict is logged with the compared times. Jira moves go through workflow transitions;
//! Dataverse writes go through the documented actions (`status::plan`): `CloseIncident`,
//! `WinOpportunity` / `LoseOpportunity` and `QualifyLead`, reopening a closed record by an
//! update first. A move that fails on either side stays pending in the link's state (with the
//! side it writes to) and is tried again at every poll, reported once per distinct failure,
//! until it applies (the event then counts the attempts) or either side's status changes. A
//! Dataverse write refused is reported with what was asked, the reason and the fix.

use crate::error::Result;
use crate::link_sync::{record_status, status_changes, STATUS_FIELD};
use crate::recency::{judge, Times, STATUS_COLUMN};
use crate::state::{LinkState, PendingStatus, StatusSide};
use crate::status::{
    plan_dataverse_write, plan_jira_move, DataverseStatusWrite, JiraStatusMove, Winner,
};
use crate::sync::{Details, Item};
use crosswalk_core::EventLevel;
use crosswalk_dataverse::Record;
use crosswalk_engine::context::EventAction;
use crosswalk_engine::RunEvent;
use crosswalk_jira::{Issue, Status};
use crosswalk_store::LinkRow;
use serde_json::json;
use time::OffsetDateTime;

/// How a reactivated record's closed issue was reopened.
enum Reopen {
    /// The status reached (the target, or the workflow's reopen status on the way to it).
    Reached(String),
    /// Jira refused the reopening transition: (message, fix).
    Refused(String, Option<String>),
}

/// A failed status move as the run log shows it.
struct Failure {
    /// What makes two failures the same: Jira's or Dataverse's reason.
    reason: String,
    /// The event's message.
    message: String,
    fix: Option<String>,
}

impl Failure {
    /// A failure whose message is its reason.
    fn plain(message: String, fix: Option<String>) -> Failure {
        Failure {
            reason: message.clone(),
            message,
            fix,
        }
    }
}

/// "; applied after N attempts" when a pending move on `side` to `target` failed before.
fn attempts_note(pending: Option<&PendingStatus>, side: StatusSide, target: &str) -> String {
    match pending.filter(|p| p.aims_at(side, target)) {
        Some(p) => format!("; applied after {} attempts", p.attempts + 1),
        None => String::new(),
    }
}

/// A `status` event of one link: how every status move, skip and failure is logged.
fn status_event(
    link: &LinkRow,
    label: &str,
    action: EventAction,
    message: impl Into<String>,
) -> RunEvent {
    RunEvent::object("status", &link.jira_key, label, action, message)
}

impl Item {
    /// A status the item's status map does not cover: the move is skipped, with the fix.
    fn unmapped_status(&self, link: &LinkRow, label: &str, what: String) {
        self.journal.event(
            status_event(link, label, EventAction::Skipped, what)
                .with_fix("Add the status to the item's status map"),
        );
    }

    /// Status both ways; returns which sides were written (Jira, Dataverse). Updates the state's
    /// pending move (either side): kept (one more attempt) when it fails again, dropped when it
    /// applies or a status change on either side takes over.
    ///
    /// # Errors
    /// Sign-in, throttling and network failures of Jira or Dataverse (they stop the poll).
    pub(crate) async fn sync_status(
        &self,
        link: &LinkRow,
        label: &str,
        state: &mut LinkState,
        record: Option<&Record>,
        issue: Option<&Issue>,
        times: &Times,
    ) -> Result<(bool, bool)> {
        let details = self.details().await?;
        let pending = state.status_pending.take();
        let previous = state.status.clone();
        let d_now = record
            .and_then(record_status)
            .or_else(|| previous.as_ref().map(|p| (p.state, p.status)));
        let j_now = issue.and_then(Issue::status);
        let winner = match status_changes(state, record, issue) {
            // Nothing changed: only a pending move is tried again, the way it was going. Both
            // sides' statuses are known from this poll's change reads and the state, so the
            // retry costs the write itself (plus one transitions read for Jira).
            (false, false) => match pending.as_ref().map(|p| p.side) {
                Some(StatusSide::Jira) => Winner::Dataverse,
                Some(StatusSide::Dynamics) => Winner::Jira,
                None => return Ok((false, false)),
            },
            (true, false) => Winner::Dataverse,
            (false, true) => Winner::Jira,
            (true, true) if !state.initialized => Winner::Dataverse,
            (true, true) => self.status_conflict(link, label, d_now, j_now.as_ref(), times),
        };
        match winner {
            Winner::Dataverse => {
                let Some((st, sc)) = d_now else {
                    return Ok((false, false));
                };
                let Some(target) = details.status_map.to_jira(st, sc).map(str::to_owned) else {
                    self.unmapped_status(
                        link,
                        label,
                        format!("Dynamics status {st}/{sc} has no Jira status in the status map"),
                    );
                    return Ok((false, false));
                };
                let current = match (&j_now, &previous) {
                    (Some(status), _) => status.id.clone(),
                    (None, Some(prev)) => prev.jira.clone(),
                    (None, None) => return Ok((false, false)),
                };
                if current == target {
                    return Ok((false, false));
                }
                let (wrote, still) = self
                    .move_issue(link, label, st, &current, &target, pending)
                    .await?;
                state.status_pending = still;
                Ok((wrote, false))
            }
            Winner::Jira | Winner::Neither => {
                // Jira's status as read, else (a retry while the issue did not change) as last
                // synced.
                let (jira_id, jira_name) = match (&j_now, &previous) {
                    (Some(status), _) => (status.id.clone(), status.name.clone()),
                    (None, Some(prev)) => (
                        prev.jira.clone(),
                        Self::jira_status_name(details, &prev.jira),
                    ),
                    (None, None) => return Ok((false, false)),
                };
                let Some(target) = details.status_map.to_dataverse(&jira_id) else {
                    self.unmapped_status(
                        link,
                        label,
                        format!(
                            "Jira status \"{jira_name}\" has no Dynamics status in the status map"
                        ),
                    );
                    return Ok((false, false));
                };
                let Some(current) = d_now else {
                    return Ok((false, false));
                };
                let Some(plan) = plan_dataverse_write(&self.settings.table, current, target) else {
                    return Ok((false, false));
                };
                let (wrote, still) = self
                    .write_dataverse_status(
                        link,
                        label,
                        &jira_name,
                        (current, target),
                        plan,
                        pending,
                    )
                    .await;
                state.status_pending = still;
                Ok((false, wrote))
            }
        }
    }

    /// Both statuses changed since the last sync: the most recent change wins, Jira's dated by
    /// its newest `status` changelog entry and Dynamics' by the newest audit entry of
    /// `statuscode` (else the record's `modifiedon`, see `recency`). Logged as a conflict naming
    /// both values, the winner and the compared times.
    fn status_conflict(
        &self,
        link: &LinkRow,
        label: &str,
        d_now: Option<(i32, i32)>,
        j_now: Option<&Status>,
        times: &Times,
    ) -> Winner {
        let verdict = judge(
            "the status",
            times.jira.of(STATUS_FIELD),
            times.dynamics.of(STATUS_COLUMN),
            link.baseline_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        );
        // Neither change is after the link was made: Jira's status stays (the earlier rule).
        let (winner, why) = match verdict.winner {
            Winner::Neither => ("jira", format!("Jira's value won: {}", verdict.why)),
            Winner::Jira => ("jira", verdict.why),
            Winner::Dataverse => ("dynamics", verdict.why),
        };
        let event = RunEvent::object(
            "conflict",
            &link.jira_key,
            label,
            EventAction::Info,
            format!("The status changed in both Jira and Dynamics since the last sync; {why}"),
        )
        .with_level(EventLevel::Warn)
        .with_change(
            Some(json!({
                "dynamics": d_now.map(|(state, status)| json!({"statecode": state, "statuscode": status})),
                "jira": j_now.map(|s| s.name.clone()),
            })),
            Some(json!({"winner": winner, "compared": verdict.compared, "why": why})),
        );
        // The fix when Dynamics' audit history was refused (see `recency`).
        self.journal.event(match verdict.fix {
            Some(fix) => event.with_fix(fix),
            None => event,
        });
        verdict.winner
    }

    /// Moves the issue from `current` to `target` for the record's status `st`. Returns whether
    /// Jira was written and the move still pending: `None` once it applied (or nothing was
    /// left to do), else the failure, reported only if it is new (see `status_failed`).
    async fn move_issue(
        &self,
        link: &LinkRow,
        label: &str,
        st: i32,
        current: &str,
        target: &str,
        pending: Option<PendingStatus>,
    ) -> Result<(bool, Option<PendingStatus>)> {
        let transitions = match self.clients.jira.transitions(&link.jira_issue_id).await {
            Ok(transitions) => transitions,
            // Refused for this issue (gone, no permission): pending like any failed move, so a
            // retry at every poll does not report it every time.
            Err(error) if matches!(error.status(), Some(400 | 403 | 404 | 409 | 422)) => {
                let facing = error.user_facing();
                let failure = Failure::plain(facing.message, facing.fix);
                let still =
                    self.status_failed(link, label, StatusSide::Jira, target, failure, pending);
                return Ok((false, Some(still)));
            }
            Err(error) => return Err(error.into()),
        };
        let after = attempts_note(pending.as_ref(), StatusSide::Jira, target);
        let no_transition = match plan_jira_move(current, target, &transitions) {
            JiraStatusMove::AlreadyThere => return Ok((false, None)),
            JiraStatusMove::Transition { transition_id, to } => {
                let moved = self
                    .clients
                    .jira
                    .transition(&link.jira_issue_id, &transition_id, None)
                    .await;
                return match moved {
                    Ok(()) => {
                        self.journal.event(
                            status_event(
                                link,
                                label,
                                EventAction::Updated,
                                format!("Moved the issue to {to} (Dynamics status changed{after})"),
                            )
                            .with_change(
                                Some(json!(self.jira_status_shown(current).await)),
                                Some(json!(to)),
                            ),
                        );
                        Ok((true, None))
                    }
                    Err(error) => {
                        let facing = error.user_facing();
                        let failure = Failure::plain(facing.message, facing.fix);
                        let still = self.status_failed(
                            link,
                            label,
                            StatusSide::Jira,
                            target,
                            failure,
                            pending,
                        );
                        Ok((false, Some(still)))
                    }
                };
            }
            no_transition @ JiraStatusMove::NoTransition { .. } => no_transition,
        };
        if st == 0 {
            match self
                .reopen_issue(link, current, target, &transitions)
                .await?
            {
                Some(Reopen::Reached(reached)) => {
                    let message = format!(
                        "Reopened the issue to {reached} (the Dynamics record was reactivated{after})"
                    );
                    self.journal.event(
                        status_event(link, label, EventAction::Updated, message).with_change(
                            Some(json!(self.jira_status_shown(current).await)),
                            Some(json!(reached)),
                        ),
                    );
                    return Ok((true, None));
                }
                Some(Reopen::Refused(message, fix)) => {
                    let failure = Failure::plain(message, fix);
                    let still =
                        self.status_failed(link, label, StatusSide::Jira, target, failure, pending);
                    return Ok((false, Some(still)));
                }
                None => {}
            }
        }
        let failure = Failure::plain(
            no_transition
                .named(&self.details().await?.meta.statuses)
                .to_string(),
            Some("Add the transition to the Jira workflow, or map the Dynamics status to a status the issue can reach".to_owned()),
        );
        let still = self.status_failed(link, label, StatusSide::Jira, target, failure, pending);
        Ok((false, Some(still)))
    }

    /// A failed move on `side` to `target`, kept pending for the next poll. Reported as a
    /// failed event unless the same move failed for the same reason before (no event storm
    /// while the admin fixes the workflow or the role); the attempts are counted either way.
    fn status_failed(
        &self,
        link: &LinkRow,
        label: &str,
        side: StatusSide,
        target: &str,
        failure: Failure,
        pending: Option<PendingStatus>,
    ) -> PendingStatus {
        let same_target = pending.filter(|p| p.aims_at(side, target));
        let attempts = same_target.as_ref().map_or(0, |p| p.attempts) + 1;
        if same_target
            .as_ref()
            .is_some_and(|p| p.reason == failure.reason)
        {
            tracing::debug!(
                message = "Status move still fails for the same reason; not reported again.",
                issue = %link.jira_key,
                side = ?side,
                attempts,
            );
        } else {
            let retry = match side {
                StatusSide::Jira => {
                    "Crosswalk tries the move again at every poll (after 5 attempts, every 15 minutes)"
                }
                StatusSide::Dynamics => {
                    "Crosswalk tries the status change again at every poll (after 5 attempts, every 15 minutes) until it applies or either side's status changes"
                }
            };
            let fix = match failure.fix {
                Some(fix) => format!("{fix}; {retry}"),
                None => retry.to_owned(),
            };
            self.journal.event(
                status_event(link, label, EventAction::Failed, failure.message).with_fix(fix),
            );
        }
        PendingStatus {
            side,
            target: target.to_owned(),
            reason: failure.reason,
            attempts,
            retry_after: PendingStatus::retry_after_for(attempts, self.services.clock.now()),
        }
    }

    /// A reactivated record whose closed issue cannot reach the target status directly: most
    /// workflows reopen to their initial status only. Takes the transition to a status that
    /// stands for an active Dataverse state, then the one on to the target when the workflow
    /// has it (the issue is open either way). `None` when the issue is not closed or no
    /// transition reopens it (then the missing transition is reported as usual).
    async fn reopen_issue(
        &self,
        link: &LinkRow,
        current: &str,
        target: &str,
        transitions: &[crosswalk_jira::Transition],
    ) -> Result<Option<Reopen>> {
        let details = self.details().await?;
        let active = |status: &str| {
            details
                .status_map
                .to_dataverse(status)
                .is_some_and(|(state, _)| state == 0)
        };
        if active(current) {
            return Ok(None);
        }
        let Some(hop) = transitions
            .iter()
            .filter(|t| t.is_available != Some(false) && active(&t.to.id))
            .min_by_key(|t| t.has_screen)
        else {
            return Ok(None);
        };
        let jira = &self.clients.jira;
        if let Err(error) = jira.transition(&link.jira_issue_id, &hop.id, None).await {
            let facing = error.user_facing();
            return Ok(Some(Reopen::Refused(facing.message, facing.fix)));
        }
        let mut reached = hop.to.name.clone();
        if hop.to.id != target {
            let next = jira.transitions(&link.jira_issue_id).await?;
            if let JiraStatusMove::Transition { transition_id, to } =
                plan_jira_move(&hop.to.id, target, &next)
            {
                if jira
                    .transition(&link.jira_issue_id, &transition_id, None)
                    .await
                    .is_ok()
                {
                    reached = to;
                }
            }
        }
        Ok(Some(Reopen::Reached(reached)))
    }

    /// Writes the planned status to the record and logs it: updated (saying after how many
    /// attempts when it was pending), or failed with what was asked (Jira's status, the
    /// Dynamics status and the call), Dataverse's reason and the fix. Returns whether the
    /// record changed (a refused plan may have reopened it first) and the write still pending.
    async fn write_dataverse_status(
        &self,
        link: &LinkRow,
        label: &str,
        jira_status: &str,
        (current, target): ((i32, i32), (i32, i32)),
        plan: DataverseStatusWrite,
        pending: Option<PendingStatus>,
    ) -> (bool, Option<PendingStatus>) {
        let shown = match self.details().await {
            Ok(details) => Self::dynamics_status_name(details, target),
            // Already read by `sync_status`; were that read to fail, the values name it.
            Err(_) => PendingStatus::dataverse_target(target),
        };
        let key = PendingStatus::dataverse_target(target);
        match self.apply_status_write(link, jira_status, &plan).await {
            Ok(()) => {
                let after = attempts_note(pending.as_ref(), StatusSide::Dynamics, &key);
                let message = format!(
                    "Set the Dynamics status to {shown} from Jira's \"{jira_status}\" ({}{after})",
                    call_name(&plan)
                );
                self.journal.event(
                    status_event(link, label, EventAction::Updated, message).with_change(
                        Some(json!({"statecode": current.0, "statuscode": current.1})),
                        Some(json!({
                            "statecode": target.0,
                            "statuscode": target.1,
                            "via": call_name(&plan),
                        })),
                    ),
                );
                (true, None)
            }
            Err(refused) => {
                let facing = refused.error.user_facing();
                let reopened = if refused.reopened {
                    "; the record was reopened first and stays open"
                } else {
                    ""
                };
                let failure = Failure {
                    message: format!(
                        "Jira's \"{jira_status}\" asks for the Dynamics status {shown}, but Dataverse refused {}: {}{reopened}",
                        refused.call, facing.message
                    ),
                    // The same refusal again (the reopened record now skips the reopening, so
                    // the call may differ) is no news.
                    reason: facing.message,
                    fix: Some(
                        facing
                            .fix
                            .unwrap_or_else(|| refused_fix(&self.settings.table, refused.call)),
                    ),
                };
                let still =
                    self.status_failed(link, label, StatusSide::Dynamics, &key, failure, pending);
                (refused.reopened, Some(still))
            }
        }
    }

    /// A Jira status's name for a status event's `before`, as its `after` names the new one
    /// (the id when the workflow's statuses could not be read).
    async fn jira_status_shown(&self, id: &str) -> String {
        match self.details().await {
            Ok(details) => Self::jira_status_name(details, id),
            Err(_) => id.to_owned(),
        }
    }

    /// A Jira status's name from the workflow's statuses, else its id (quoted in messages).
    fn jira_status_name(details: &Details, id: &str) -> String {
        details
            .meta
            .statuses
            .iter()
            .find(|status| status.id == id && !status.name.is_empty())
            .map_or_else(|| id.to_owned(), |status| status.name.clone())
    }

    /// `"Won › Won" (1/3)`: the state and status reason labels from metadata, with the values.
    fn dynamics_status_name(details: &Details, (state, status): (i32, i32)) -> String {
        let states = &details.meta.states;
        let state_label = states.state(state).map(|o| o.label.as_str());
        let status_label = states.status(status).map(|o| o.label.as_str());
        match (state_label, status_label) {
            (Some(a), Some(b)) if a == b => format!("\"{a}\" ({state}/{status})"),
            (Some(a), Some(b)) => format!("\"{a} › {b}\" ({state}/{status})"),
            _ => format!("{state}/{status}"),
        }
    }

    /// Performs one planned Dataverse status write: a PATCH or the documented action
    /// (§F.9), reopening first when the plan says so.
    async fn apply_status_write(
        &self,
        link: &LinkRow,
        jira_status: &str,
        plan: &DataverseStatusWrite,
    ) -> std::result::Result<(), Refused> {
        let dv = &self.clients.dataverse;
        let id = link.dataverse_id.as_str();
        let refused = |error| Refused {
            error,
            call: call_name(plan),
            reopened: false,
        };
        match plan {
            DataverseStatusWrite::Patch { state, status } => dv
                .update(
                    self.entity_set(),
                    id,
                    &json!({"statecode": state, "statuscode": status}),
                    None,
                )
                .await
                .map_err(refused),
            DataverseStatusWrite::CloseIncident { status } => {
                let text = self
                    .settings
                    .status
                    .resolution_text
                    .clone()
                    .unwrap_or_else(|| {
                        format!("Resolved in Jira ({}: {jira_status})", link.jira_key)
                    });
                dv.close_incident(id, &text, Some(*status))
                    .await
                    .map_err(refused)
            }
            DataverseStatusWrite::WinOpportunity { status } => {
                let subject = format!("Won in Jira ({}: {jira_status})", link.jira_key);
                dv.win_opportunity(id, &subject, Some(*status))
                    .await
                    .map_err(refused)
            }
            DataverseStatusWrite::LoseOpportunity { status } => {
                let subject = format!("Lost in Jira ({}: {jira_status})", link.jira_key);
                dv.lose_opportunity(id, &subject, Some(*status))
                    .await
                    .map_err(refused)
            }
            DataverseStatusWrite::QualifyLead { status } => {
                dv.qualify_lead(id, *status).await.map_err(refused)
            }
            DataverseStatusWrite::Reopen { status, then } => {
                dv.update(
                    self.entity_set(),
                    id,
                    &json!({"statecode": 0, "statuscode": status}),
                    None,
                )
                .await
                .map_err(|error| Refused {
                    error,
                    call: "the reopening update",
                    reopened: false,
                })?;
                Box::pin(self.apply_status_write(link, jira_status, then))
                    .await
                    .map_err(|refused| Refused {
                        reopened: true,
                        ..refused
                    })
            }
        }
    }
}

/// A status write Dataverse refused: the error, the call it refused and whether the record
/// had been reopened before (a reopen-then-close plan stops half way).
struct Refused {
    error: crosswalk_dataverse::Error,
    call: &'static str,
    reopened: bool,
}

/// The Dataverse call a plan makes, for the run log.
fn call_name(plan: &DataverseStatusWrite) -> &'static str {
    match plan {
        DataverseStatusWrite::Patch { .. } => "an update of the status",
        DataverseStatusWrite::CloseIncident { .. } => "the CloseIncident action",
        DataverseStatusWrite::WinOpportunity { .. } => "the WinOpportunity action",
        DataverseStatusWrite::LoseOpportunity { .. } => "the LoseOpportunity action",
        DataverseStatusWrite::QualifyLead { .. } => "the QualifyLead action",
        DataverseStatusWrite::Reopen { then, .. } => match **then {
            DataverseStatusWrite::Patch { .. } => "reopening, then an update of the status",
            DataverseStatusWrite::CloseIncident { .. } => "reopening, then CloseIncident",
            DataverseStatusWrite::WinOpportunity { .. } => "reopening, then WinOpportunity",
            DataverseStatusWrite::LoseOpportunity { .. } => "reopening, then LoseOpportunity",
            DataverseStatusWrite::QualifyLead { .. } => "reopening, then QualifyLead",
            DataverseStatusWrite::Reopen { .. } => "reopening",
        },
    }
}

/// What to check when Dataverse refuses `call` on `table` without naming a fix itself.
fn refused_fix(table: &str, call: &str) -> String {
    let role = match table {
        "incident" => "Write on Case and Create on activities (the Case resolution)",
        "opportunity" => "Write on Opportunity and Create on activities (the Opportunity Close)",
        "lead" => "Write on Lead",
        _ => "Write on the table",
    };
    format!(
        "Check that the status map pairs this Jira status with a status reason of the intended state, that the application user's security role has {role} for {call}, and whether the environment requires more on this record (for Cases, a resolution type)"
    )
}
