//! Status matching between Jira workflows and Dataverse state/status pairs.
//!
//! Pure logic, no I/O: which Jira status stands for which Dataverse `statecode`/`statuscode`
//! pair ([`StatusMap`]), how to get a record or an issue there ([`plan_dataverse_write`],
//! [`plan_jira_move`]), and which side wins when both changed ([`most_recent_wins`]).
//! Jira statuses are matched by id and category key, never by transition name (§B.7);
//! Case close and Opportunity/Lead outcomes go through their actions (§F.9).

mod family;
mod map;
mod plan;
mod problem;
#[cfg(test)]
mod tests;

pub use family::{family_of_dataverse, family_of_jira, Family};
pub use map::{StatusDirection, StatusMap, StatusRow, StatusSource};
pub use plan::{
    most_recent_wins, plan_dataverse_write, plan_jira_move, DataverseStatusWrite, JiraStatusMove,
    Winner,
};
pub use problem::StatusProblem;

use crosswalk_dataverse::OptionValue;

/// A table's `statecode` and `statuscode` options, read from metadata because orgs add their
/// own status reasons (§F.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataverseStates {
    /// `statecode` options; `default_status` is the reason used when only the state is set.
    pub states: Vec<OptionValue>,
    /// `statuscode` options; `state` is the statecode each reason belongs to.
    pub statuses: Vec<OptionValue>,
}

impl DataverseStates {
    /// The `statecode` option with this value, for its label and default reason.
    pub fn state(&self, statecode: i32) -> Option<&OptionValue> {
        self.states.iter().find(|option| option.value == statecode)
    }

    /// The `statuscode` option with this value, for its label and owning state.
    pub fn status(&self, statuscode: i32) -> Option<&OptionValue> {
        self.statuses
            .iter()
            .find(|option| option.value == statuscode)
    }

    /// The status reasons of one state, in metadata order, to offer in the map editor.
    pub fn statuses_of(&self, statecode: i32) -> impl Iterator<Item = &OptionValue> {
        self.statuses
            .iter()
            .filter(move |option| option.state == Some(statecode))
    }

    /// The reason Dataverse picks for a bare state (its default, else its first reason).
    pub fn default_status(&self, statecode: i32) -> Option<i32> {
        self.state(statecode)
            .and_then(|state| state.default_status)
            .or_else(|| {
                self.statuses_of(statecode)
                    .next()
                    .map(|option| option.value)
            })
    }

    /// Whether `statuscode` is a reason of `statecode`; Dataverse rejects any other pair.
    pub fn belongs(&self, statecode: i32, statuscode: i32) -> bool {
        self.status(statuscode)
            .is_some_and(|option| option.state == Some(statecode))
    }
}
