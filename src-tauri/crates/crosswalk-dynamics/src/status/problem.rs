//! What can be wrong with an item's status map, in words an admin can act on.

use super::DataverseStates;
use crate::settings::StatusPair;
use crosswalk_jira::Status;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Something the admin should fix or know about the status map; the run log and the editor
/// show these, and the map works around them meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsStatusProblem"))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatusProblem {
    /// An explicit pair names a Jira status that is not in the issue type's workflow.
    UnknownJiraStatus { jira_status: String },
    /// An explicit pair names a statuscode the table does not have.
    UnknownDataverseStatus {
        jira_status: String,
        state: i32,
        status: i32,
    },
    /// An explicit pair's statuscode belongs to another statecode (Dataverse rejects it).
    StatusNotInState {
        jira_status: String,
        state: i32,
        status: i32,
        status_label: String,
        belongs_to: i32,
    },
    /// A Jira status is listed twice; the first pair is used.
    DuplicateJiraStatus { jira_status: String },
    /// A Jira status has no Dataverse counterpart; moving an issue there changes nothing.
    UnmatchedJiraStatus { jira_status: String, name: String },
    /// A Dataverse status has no Jira counterpart; setting it changes nothing in Jira.
    UnmatchedDataverseStatus {
        state: i32,
        status: i32,
        label: String,
    },
}

impl fmt::Display for StatusProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusProblem::UnknownJiraStatus { jira_status } => write!(
                f,
                "the pair for Jira status {jira_status} is ignored: the issue type's workflow has no such status"
            ),
            StatusProblem::UnknownDataverseStatus {
                jira_status,
                state,
                status,
            } => write!(
                f,
                "the pair for Jira status {jira_status} is ignored: the table has no status reason {status} (state {state})"
            ),
            StatusProblem::StatusNotInState {
                jira_status,
                state,
                status,
                status_label,
                belongs_to,
            } => write!(
                f,
                "the pair for Jira status {jira_status} is ignored: status reason \"{status_label}\" ({status}) belongs to state {belongs_to}, not {state}"
            ),
            StatusProblem::DuplicateJiraStatus { jira_status } => write!(
                f,
                "Jira status {jira_status} is paired more than once; the first pair is used"
            ),
            StatusProblem::UnmatchedJiraStatus { jira_status, name } => write!(
                f,
                "Jira status \"{name}\" ({jira_status}) has no Dynamics status; add a pair for it"
            ),
            StatusProblem::UnmatchedDataverseStatus {
                state,
                status,
                label,
            } => write!(
                f,
                "Dynamics status \"{label}\" ({state}/{status}) has no Jira status; add a pair for it"
            ),
        }
    }
}

/// Why an explicit pair cannot be used, checked against each side's metadata when present.
pub(super) fn check_pair(
    pair: &StatusPair,
    jira_statuses: &[Status],
    dv: &DataverseStates,
) -> Option<StatusProblem> {
    if !jira_statuses.is_empty() && !jira_statuses.iter().any(|s| s.id == pair.jira_status) {
        return Some(StatusProblem::UnknownJiraStatus {
            jira_status: pair.jira_status.clone(),
        });
    }
    if dv.statuses.is_empty() {
        return None;
    }
    let Some(status) = dv.status(pair.status) else {
        return Some(StatusProblem::UnknownDataverseStatus {
            jira_status: pair.jira_status.clone(),
            state: pair.state,
            status: pair.status,
        });
    };
    match status.state {
        Some(belongs_to) if belongs_to != pair.state => Some(StatusProblem::StatusNotInState {
            jira_status: pair.jira_status.clone(),
            state: pair.state,
            status: pair.status,
            status_label: status.label.clone(),
            belongs_to,
        }),
        _ => None,
    }
}
