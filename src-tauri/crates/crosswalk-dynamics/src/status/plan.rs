//! How to move each side to a target status, and which side's change wins.

use crosswalk_jira::{Status, Transition};
use std::fmt;
use time::OffsetDateTime;

/// The Dataverse write that moves a record to a state/status pair (§F.9): Case resolution and
/// Opportunity/Lead outcomes are actions, because the platform refuses them as plain updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataverseStatusWrite {
    /// `PATCH` of `statecode` and `statuscode` together (Dataverse checks them as a pair).
    Patch { state: i32, status: i32 },
    /// `POST /CloseIncident` with this resolved `statuscode`; creates the Case resolution.
    CloseIncident { status: i32 },
    /// `POST /WinOpportunity` with this won `statuscode`.
    WinOpportunity { status: i32 },
    /// `POST /LoseOpportunity` with this lost `statuscode`.
    LoseOpportunity { status: i32 },
    /// `POST /leads({id})/Microsoft.Dynamics.CRM.QualifyLead` creating nothing else.
    QualifyLead { status: i32 },
    /// `PATCH` to statecode 0 with `status` first, then `then`: a closed Case, Opportunity or
    /// Lead is read-only and its close actions refuse it, so it is reopened before closing
    /// another way.
    Reopen {
        status: i32,
        then: Box<DataverseStatusWrite>,
    },
}

/// Tables whose closed states are reached through actions and must be reopened to change.
const ACTION_TABLES: &[&str] = &["incident", "opportunity", "lead"];

/// The write taking a `table` record from `current` to `target` (`(statecode, statuscode)`),
/// or `None` when it is already there.
pub fn plan_dataverse_write(
    table: &str,
    current: (i32, i32),
    target: (i32, i32),
) -> Option<DataverseStatusWrite> {
    use DataverseStatusWrite as W;
    if current == target {
        return None;
    }
    let table = table.to_ascii_lowercase();
    let (state, status) = target;
    let patch = W::Patch { state, status };
    if state == 0 || !ACTION_TABLES.contains(&table.as_str()) {
        return Some(patch);
    }
    let close = match (table.as_str(), state) {
        ("incident", 1) => W::CloseIncident { status },
        ("opportunity", 1) => W::WinOpportunity { status },
        ("opportunity", 2) => W::LoseOpportunity { status },
        ("lead", 1) => W::QualifyLead { status },
        _ => patch,
    };
    if current.0 == 0 {
        return Some(close);
    }
    // Every out-of-box open state defaults to statuscode 1 on these tables (§F.9).
    Some(W::Reopen {
        status: 1,
        then: Box::new(close),
    })
}

/// How to bring a Jira issue to a target status through its workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JiraStatusMove {
    /// Run this transition; `to` is the target status's name, for the run log.
    Transition { transition_id: String, to: String },
    /// The issue already has the target status.
    AlreadyThere,
    /// No available transition reaches the target; the admin must change the workflow or the
    /// map, so the engine reports it instead of guessing another status.
    NoTransition {
        /// The current status id.
        from: String,
        /// The target status id.
        target_status: String,
        /// Names of the statuses the issue can reach now.
        available: Vec<String>,
        /// Names of `from` and `target_status` when known (see [`JiraStatusMove::named`]).
        from_name: Option<String>,
        target_name: Option<String>,
    },
}

impl JiraStatusMove {
    /// Fills the status names of a [`JiraStatusMove::NoTransition`] from the workflow's
    /// statuses, so its message names statuses rather than ids.
    #[must_use]
    pub fn named(mut self, statuses: &[Status]) -> JiraStatusMove {
        if let JiraStatusMove::NoTransition {
            from,
            target_status,
            from_name,
            target_name,
            ..
        } = &mut self
        {
            let name = |id: &str| {
                statuses
                    .iter()
                    .find(|status| status.id == id && !status.name.is_empty())
                    .map(|status| status.name.clone())
            };
            if from_name.is_none() {
                *from_name = name(from);
            }
            if target_name.is_none() {
                *target_name = name(target_status);
            }
        }
        self
    }
}

/// `"Name"` when the name is known, else `status <id>`.
fn show_status(id: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("\"{name}\""),
        None => format!("status {id}"),
    }
}

impl fmt::Display for JiraStatusMove {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JiraStatusMove::Transition { transition_id, to } => {
                write!(f, "Transition {transition_id} moves the issue to \"{to}\"")
            }
            JiraStatusMove::AlreadyThere => write!(f, "The issue already has the target status"),
            JiraStatusMove::NoTransition {
                from,
                target_status,
                available,
                from_name,
                target_name,
            } => {
                let from = show_status(from, from_name.as_deref());
                let target = show_status(target_status, target_name.as_deref());
                write!(
                    f,
                    "The Jira workflow has no transition from {from} to {target}; add one, or map the Dynamics status to a status reachable from {from}"
                )?;
                if available.is_empty() {
                    write!(
                        f,
                        " (none is: check that the Jira account may transition issues)"
                    )
                } else {
                    let names: Vec<String> =
                        available.iter().map(|name| format!("\"{name}\"")).collect();
                    write!(f, " ({})", names.join(", "))
                }
            }
        }
    }
}

/// The transition taking an issue from `current_status_id` to `target_status_id`, matched by
/// the transition's target status id because transition ids and names differ per workflow.
///
/// Transitions marked unavailable are not used; among several, one without a screen is
/// preferred since the engine sends no screen fields.
pub fn plan_jira_move(
    current_status_id: &str,
    target_status_id: &str,
    transitions: &[Transition],
) -> JiraStatusMove {
    if current_status_id == target_status_id {
        return JiraStatusMove::AlreadyThere;
    }
    let usable = || {
        transitions
            .iter()
            .filter(|transition| transition.is_available != Some(false))
    };
    let best = usable()
        .filter(|transition| transition.to.id == target_status_id)
        .min_by_key(|transition| transition.has_screen);
    if let Some(transition) = best {
        let to = if transition.to.name.is_empty() {
            transition.to.id.clone()
        } else {
            transition.to.name.clone()
        };
        return JiraStatusMove::Transition {
            transition_id: transition.id.clone(),
            to,
        };
    }
    let mut available: Vec<String> = Vec::new();
    let mut from_name = None;
    for transition in transitions {
        let to = &transition.to;
        if to.id == current_status_id {
            if !to.name.is_empty() {
                from_name = Some(to.name.clone());
            }
        } else if transition.is_available != Some(false) {
            let name = if to.name.is_empty() { &to.id } else { &to.name };
            if !available.contains(name) {
                available.push(name.clone());
            }
        }
    }
    JiraStatusMove::NoTransition {
        from: current_status_id.to_owned(),
        target_status: target_status_id.to_owned(),
        available,
        from_name,
        target_name: None,
    }
}

/// Which side's status a link takes when both may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    /// Copy Jira's status to Dataverse.
    Jira,
    /// Copy Dataverse's status to Jira.
    Dataverse,
    /// Neither side changed after the baseline; nothing to copy.
    Neither,
}

/// After the link's `baseline`, the side changed most recently wins (the product guide's rule
/// for status); a change at or before the baseline does not count.
///
/// The two stamps are compared in whole seconds because Dataverse's `modifiedon` has no
/// fractions: Jira's milliseconds would otherwise win every same-second race. Ties go to
/// Dataverse: the record is where the link started (the item's source side), its stamp moves
/// only when the record does while Jira's `updated` also moves for comments and links, and
/// always picking the same side keeps two syncs from swapping statuses back and forth.
/// The caller picks the stamps: `recency` passes Jira's newest changelog entry for the field
/// (not the issue's `updated`) and the record's `modifiedon`.
pub fn most_recent_wins(
    jira_changed_at: Option<OffsetDateTime>,
    dataverse_changed_at: Option<OffsetDateTime>,
    baseline: OffsetDateTime,
) -> Winner {
    let after = |at: Option<OffsetDateTime>| at.filter(|at| *at > baseline);
    match (after(jira_changed_at), after(dataverse_changed_at)) {
        (None, None) => Winner::Neither,
        (Some(_), None) => Winner::Jira,
        (None, Some(_)) => Winner::Dataverse,
        (Some(jira), Some(dataverse)) => {
            if jira.unix_timestamp() > dataverse.unix_timestamp() {
                Winner::Jira
            } else {
                Winner::Dataverse
            }
        }
    }
}
