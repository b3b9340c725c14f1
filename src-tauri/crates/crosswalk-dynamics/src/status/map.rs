//! The status map of one item: explicit pairs from its settings, heuristics for the rest.

use super::family::{family_of_dataverse, family_of_jira, normalise, overlap, Family};
use super::problem::{check_pair, StatusProblem};
use super::DataverseStates;
use crate::settings::StatusPair;
use crosswalk_dataverse::OptionValue;
use crosswalk_jira::Status;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where a row of the map came from, so the editor can tell settings from guesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsStatusSource"))]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    /// A pair from the item's settings.
    Explicit,
    /// Matched by name or family.
    Heuristic,
}

/// Which ways a row is used: several statuses on one side may share a counterpart, but each
/// status has only one target, so some pairs hold in one direction only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsStatusDirection"))]
#[serde(rename_all = "snake_case")]
pub enum StatusDirection {
    /// Each side maps to the other.
    Both,
    /// The Jira status sets this Dataverse pair, which maps back to another Jira status.
    ToDataverse,
    /// The Dataverse pair sets this Jira status, which maps back to another pair.
    ToJira,
}

/// One row of the console's editable status map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsStatusRow"))]
pub struct StatusRow {
    /// Jira status id (what an explicit [`StatusPair`] stores).
    pub jira_status: String,
    pub jira_name: String,
    /// Dataverse `statecode` and its label.
    pub state: i32,
    pub state_label: String,
    /// Dataverse `statuscode` and its label.
    pub status: i32,
    pub status_label: String,
    pub direction: StatusDirection,
    pub source: StatusSource,
}

/// One mapping with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry<T> {
    target: T,
    source: StatusSource,
}

/// A Dataverse status reason with its state and family, as the heuristics look at it.
struct DvPair {
    state: OptionValue,
    status: OptionValue,
    family: Family,
    is_default: bool,
}

impl DvPair {
    fn key(&self) -> (i32, i32) {
        (self.state.value, self.status.value)
    }
}

/// Which Jira status stands for which Dataverse state/status pair, both ways, for one item.
#[derive(Debug, Clone, Default)]
pub struct StatusMap {
    to_dataverse: HashMap<String, Entry<(i32, i32)>>,
    to_jira: HashMap<(i32, i32), Entry<String>>,
    jira: Vec<Status>,
    dataverse: DataverseStates,
}

impl StatusMap {
    /// Builds the map of a `table` from the item's explicit pairs and both sides' metadata;
    /// returns it with every problem found, since a partial map still syncs what it can.
    ///
    /// Explicit pairs win. Every other Jira status takes the Dataverse pair whose label equals
    /// its name, else the best of its family; every other Dataverse status reason takes the
    /// Jira status named like it, else the best of its family. A side whose metadata is empty
    /// is trusted rather than checked.
    pub fn build(
        table: &str,
        explicit: &[StatusPair],
        jira_statuses: &[Status],
        dv: &DataverseStates,
    ) -> (StatusMap, Vec<StatusProblem>) {
        let mut problems = Vec::new();
        let mut map = StatusMap {
            jira: jira_statuses.to_vec(),
            dataverse: dv.clone(),
            ..StatusMap::default()
        };
        for pair in explicit {
            if let Some(problem) = check_pair(pair, jira_statuses, dv) {
                problems.push(problem);
                continue;
            }
            if map.to_dataverse.contains_key(&pair.jira_status) {
                problems.push(StatusProblem::DuplicateJiraStatus {
                    jira_status: pair.jira_status.clone(),
                });
                continue;
            }
            let key = (pair.state, pair.status);
            map.to_dataverse.insert(
                pair.jira_status.clone(),
                Entry {
                    target: key,
                    source: StatusSource::Explicit,
                },
            );
            map.to_jira.entry(key).or_insert(Entry {
                target: pair.jira_status.clone(),
                source: StatusSource::Explicit,
            });
        }

        let pairs = dataverse_pairs(table, dv);
        for jira in jira_statuses {
            if map.to_dataverse.contains_key(&jira.id) {
                continue;
            }
            match match_dataverse(jira, &pairs) {
                Some(key) => {
                    map.to_dataverse.insert(
                        jira.id.clone(),
                        Entry {
                            target: key,
                            source: StatusSource::Heuristic,
                        },
                    );
                }
                None => problems.push(StatusProblem::UnmatchedJiraStatus {
                    jira_status: jira.id.clone(),
                    name: jira.name.clone(),
                }),
            }
        }
        for pair in &pairs {
            if map.to_jira.contains_key(&pair.key()) {
                continue;
            }
            match match_jira(pair, jira_statuses, &map.to_dataverse) {
                Some(id) => {
                    map.to_jira.insert(
                        pair.key(),
                        Entry {
                            target: id,
                            source: StatusSource::Heuristic,
                        },
                    );
                }
                None => problems.push(StatusProblem::UnmatchedDataverseStatus {
                    state: pair.state.value,
                    status: pair.status.value,
                    label: pair.status.label.clone(),
                }),
            }
        }
        (map, problems)
    }

    /// The `(statecode, statuscode)` a Jira status stands for.
    pub fn to_dataverse(&self, jira_status_id: &str) -> Option<(i32, i32)> {
        self.to_dataverse
            .get(jira_status_id)
            .map(|entry| entry.target)
    }

    /// The Jira status id a Dataverse state/status pair stands for.
    pub fn to_jira(&self, state: i32, status: i32) -> Option<&str> {
        self.to_jira
            .get(&(state, status))
            .map(|entry| entry.target.as_str())
    }

    /// The workflow name of a Jira status id, for messages.
    pub fn jira_name(&self, jira_status_id: &str) -> Option<&str> {
        self.jira
            .iter()
            .find(|status| status.id == jira_status_id)
            .map(|status| status.name.as_str())
    }

    /// Every pair in use, Jira statuses first in workflow order, then the Dataverse reasons
    /// mapping to a Jira status that maps elsewhere; for the console's editable map.
    pub fn rows(&self) -> Vec<StatusRow> {
        let mut rows = Vec::new();
        for jira in &self.jira {
            let Some(entry) = self.to_dataverse.get(&jira.id) else {
                continue;
            };
            let back = self.to_jira.get(&entry.target);
            let both = back.is_some_and(|back| back.target == jira.id);
            let explicit = entry.source == StatusSource::Explicit
                || (both && back.is_some_and(|back| back.source == StatusSource::Explicit));
            rows.push(self.row(
                jira,
                entry.target,
                if both {
                    StatusDirection::Both
                } else {
                    StatusDirection::ToDataverse
                },
                explicit,
            ));
        }
        let mut keys: Vec<(i32, i32)> = self
            .dataverse
            .statuses
            .iter()
            .filter_map(|status| Some((status.state?, status.value)))
            .collect();
        // Explicit pairs checked only against empty metadata are not in `statuses`.
        let mut extra: Vec<(i32, i32)> = self
            .to_jira
            .keys()
            .filter(|key| !keys.contains(key))
            .copied()
            .collect();
        extra.sort_unstable();
        keys.extend(extra);
        for key in keys {
            let Some(entry) = self.to_jira.get(&key) else {
                continue;
            };
            let round_trip = self
                .to_dataverse
                .get(&entry.target)
                .is_some_and(|forward| forward.target == key);
            let Some(jira) = self.jira.iter().find(|status| status.id == entry.target) else {
                continue;
            };
            if !round_trip {
                rows.push(self.row(
                    jira,
                    key,
                    StatusDirection::ToJira,
                    entry.source == StatusSource::Explicit,
                ));
            }
        }
        rows
    }

    fn row(
        &self,
        jira: &Status,
        (state, status): (i32, i32),
        direction: StatusDirection,
        explicit: bool,
    ) -> StatusRow {
        let label = |option: Option<&OptionValue>| {
            option
                .map(|option| option.label.clone())
                .unwrap_or_default()
        };
        StatusRow {
            jira_status: jira.id.clone(),
            jira_name: jira.name.clone(),
            state,
            state_label: label(self.dataverse.state(state)),
            status,
            status_label: label(self.dataverse.status(status)),
            direction,
            source: if explicit {
                StatusSource::Explicit
            } else {
                StatusSource::Heuristic
            },
        }
    }
}

/// Every status reason with its state (a state missing from metadata gets an empty label and
/// is judged by its value), in metadata order.
fn dataverse_pairs(table: &str, dv: &DataverseStates) -> Vec<DvPair> {
    dv.statuses
        .iter()
        .filter_map(|status| {
            let value = status.state?;
            let state = dv.state(value).cloned().unwrap_or(OptionValue {
                value,
                label: String::new(),
                state: None,
                default_status: None,
            });
            Some(DvPair {
                family: family_of_dataverse(table, &state, status),
                is_default: dv.default_status(value) == Some(status.value),
                state,
                status: status.clone(),
            })
        })
        .collect()
}

/// The Dataverse pair for a Jira status: same status label, else same state label (its
/// default reason), else the family's closest name, default reason, first listed.
fn match_dataverse(jira: &Status, pairs: &[DvPair]) -> Option<(i32, i32)> {
    let name = normalise(&jira.name);
    if name.is_empty() {
        return None;
    }
    let by_label = |label: fn(&DvPair) -> &str| {
        pairs
            .iter()
            .filter(|pair| normalise(label(pair)) == name)
            .min_by_key(|pair| !pair.is_default)
    };
    if let Some(pair) =
        by_label(|pair| &pair.status.label).or_else(|| by_label(|pair| &pair.state.label))
    {
        return Some(pair.key());
    }
    let family = family_of_jira(jira);
    family.fallbacks().iter().find_map(|fallback| {
        pairs
            .iter()
            .enumerate()
            .filter(|(_, pair)| pair.family == *fallback)
            .min_by_key(|(index, pair)| {
                (
                    std::cmp::Reverse(overlap(&jira.name, &pair.status.label)),
                    !pair.is_default,
                    *index,
                )
            })
            .map(|(_, pair)| pair.key())
    })
}

/// The Jira status for a Dataverse pair: named like its status reason, else like its state
/// (default reasons and closed pairs only), else the family's best: right category, mapping back to this pair (or its state), closest
/// name, first in the workflow.
fn match_jira(
    pair: &DvPair,
    jira_statuses: &[Status],
    forward: &HashMap<String, Entry<(i32, i32)>>,
) -> Option<String> {
    let back = |jira: &Status| forward.get(&jira.id).map(|entry| entry.target);
    let for_label = |label: &str| {
        let label = normalise(label);
        if label.is_empty() {
            return None;
        }
        jira_statuses
            .iter()
            .filter(|jira| normalise(&jira.name) == label)
            .min_by_key(|jira| back(jira) != Some(pair.key()))
    };
    // A state label says little about an active state's other reasons ("Open" for "Waiting on
    // someone else"), so it only names the default reason or a closed pair.
    let by_state = pair.is_default || matches!(pair.family, Family::Done | Family::Cancelled);
    let exact = for_label(&pair.status.label)
        .or_else(|| by_state.then(|| for_label(&pair.state.label)).flatten());
    if let Some(jira) = exact {
        return Some(jira.id.clone());
    }
    pair.family.fallbacks().iter().find_map(|fallback| {
        jira_statuses
            .iter()
            .enumerate()
            .filter(|(_, jira)| family_of_jira(jira) == *fallback)
            .min_by_key(|(index, jira)| {
                let target = back(jira);
                (
                    jira.status_category.key != fallback.category(),
                    target != Some(pair.key()),
                    target.map(|(state, _)| state) != Some(pair.state.value),
                    std::cmp::Reverse(overlap(&jira.name, &pair.status.label)),
                    *index,
                )
            })
            .map(|(_, jira)| jira.id.clone())
    })
}
