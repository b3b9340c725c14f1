//! Families: the coarse meaning of a status on either side, which is what lets "Erledigt" in
//! Jira find "Resolved" in Dataverse when no names match.
//!
//! Names are matched as whole normalised words (lower case, no punctuation or apostrophes,
//! "cancelled" spelt "canceled"), so "Disqualified" never matches "qualified".

use crosswalk_dataverse::OptionValue;
use crosswalk_jira::{Status, StatusCategoryKey};

/// The coarse meaning of a status, shared by both sides so unlike names can still be paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Not started yet (Jira `new`, Dataverse "New" / "Not Started").
    Open,
    /// Being worked on.
    InProgress,
    /// Active but parked on someone else (on hold, waiting, blocked, deferred).
    Waiting,
    /// Finished with a result (done, resolved, completed, won, qualified).
    Done,
    /// Finished without one (canceled, lost, disqualified, rejected, duplicate).
    Cancelled,
}

impl Family {
    /// Families to try in order when this one has no counterpart on the other side.
    ///
    /// Active families stand in for each other; a missing cancel state falls back to a done
    /// one (Jira's cancel statuses are in the `done` category too), never the other way round.
    pub(crate) fn fallbacks(self) -> &'static [Family] {
        match self {
            Family::Open => &[Family::Open, Family::InProgress, Family::Waiting],
            Family::InProgress => &[Family::InProgress, Family::Open, Family::Waiting],
            Family::Waiting => &[Family::Waiting, Family::InProgress, Family::Open],
            Family::Done => &[Family::Done],
            Family::Cancelled => &[Family::Cancelled, Family::Done],
        }
    }

    /// The Jira category a status of this family normally has.
    pub(crate) fn category(self) -> StatusCategoryKey {
        match self {
            Family::Open => StatusCategoryKey::New,
            Family::InProgress | Family::Waiting => StatusCategoryKey::Indeterminate,
            Family::Done | Family::Cancelled => StatusCategoryKey::Done,
        }
    }
}

const DONE: &[&str] = &[
    "done",
    "resolved",
    "closed",
    "fixed",
    "completed",
    "complete",
];
const CANCELLED: &[&str] = &[
    "canceled",
    "wont do",
    "wont fix",
    "rejected",
    "declined",
    "duplicate",
    "abandoned",
];
const WAITING: &[&str] = &["on hold", "waiting", "blocked", "pending", "awaiting"];
// Dataverse only: state and status-reason words beyond the Jira ones.
const DV_ACTIVE: &[&str] = &["active", "open", "draft"];
const DV_DONE: &[&str] = &["won", "qualified", "inactive"];
const DV_CANCELLED: &[&str] = &["lost", "disqualified"];
const DV_WAITING: &[&str] = &["deferred", "hold"];
const DV_OPEN: &[&str] = &["new", "not started", "open", "draft", "to do", "backlog"];
const DV_IN_PROGRESS: &[&str] = &[
    "in progress",
    "progress",
    "researching",
    "contacted",
    "working",
];

/// Lower case, apostrophes dropped, other punctuation as spaces, one space between words,
/// "cancelled" spelt "canceled"; the form every name comparison uses.
pub(crate) fn normalise(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() {
            cleaned.extend(c.to_lowercase());
        } else if c != '\'' && c != '\u{2019}' {
            cleaned.push(' ');
        }
    }
    cleaned
        .split_whitespace()
        .map(|word| {
            if word == "cancelled" {
                "canceled"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the normalised `text` contains any of `phrases` as whole words.
fn has_any(text: &str, phrases: &[&str]) -> bool {
    let padded = format!(" {text} ");
    phrases
        .iter()
        .any(|phrase| padded.contains(&format!(" {phrase} ")))
}

/// How many words two names share (ties between candidates of one family go to the closer name).
pub(crate) fn overlap(a: &str, b: &str) -> usize {
    let a = normalise(a);
    let b = normalise(b);
    let theirs: Vec<&str> = b.split(' ').collect();
    a.split(' ')
        .filter(|word| !word.is_empty() && theirs.contains(word))
        .count()
}

/// The family of a Jira status: its name when it says something, else its category.
///
/// A name with both done and waiting words ("Done, awaiting deploy") is settled by the
/// category; `undefined` without telling words counts as not started.
pub fn family_of_jira(status: &Status) -> Family {
    let name = normalise(&status.name);
    let category = &status.status_category.key;
    if has_any(&name, CANCELLED) {
        return Family::Cancelled;
    }
    match (has_any(&name, DONE), has_any(&name, WAITING)) {
        (true, true) if *category == StatusCategoryKey::Done => return Family::Done,
        (true, true) | (false, true) => return Family::Waiting,
        (true, false) => return Family::Done,
        (false, false) => {}
    }
    match category {
        StatusCategoryKey::Indeterminate => Family::InProgress,
        StatusCategoryKey::Done => Family::Done,
        StatusCategoryKey::New | StatusCategoryKey::Undefined => Family::Open,
    }
}

/// The family of a Dataverse state/status pair: labels first, the out-of-box values of §F.9
/// when the labels are customised or localised.
///
/// Statecode 0 is the active state of every table; an active pair is split by its status
/// label. A closed pair takes its state's family unless its status label says otherwise
/// (a "Rejected" reason under a custom "Inactive" state is a cancel).
pub fn family_of_dataverse(table: &str, state: &OptionValue, status: &OptionValue) -> Family {
    let state_label = normalise(&state.label);
    let status_label = normalise(&status.label);
    let closed_words = |label: &str| {
        if has_any(label, CANCELLED) || has_any(label, DV_CANCELLED) {
            Some(Family::Cancelled)
        } else if has_any(label, DONE) || has_any(label, DV_DONE) {
            Some(Family::Done)
        } else {
            None
        }
    };
    let active = state.value == 0
        || (has_any(&state_label, DV_ACTIVE) && closed_words(&state_label).is_none());
    if active {
        return if has_any(&status_label, WAITING) || has_any(&status_label, DV_WAITING) {
            Family::Waiting
        } else if has_any(&status_label, DV_OPEN) {
            Family::Open
        } else if has_any(&status_label, DV_IN_PROGRESS) {
            Family::InProgress
        } else {
            out_of_box_active(table, status.value).unwrap_or(Family::Open)
        };
    }
    closed_words(&status_label)
        .or_else(|| closed_words(&state_label))
        .or_else(|| out_of_box_closed(table, state.value))
        .unwrap_or(Family::Done)
}

/// §F.9: the active status reasons of the four tables with built-in state handling.
fn out_of_box_active(table: &str, status: i32) -> Option<Family> {
    let family = match (table.to_ascii_lowercase().as_str(), status) {
        ("incident", 1 | 4) | ("task", 3) | ("lead", 2) | ("opportunity", 1) => Family::InProgress,
        ("incident", 2 | 3) | ("task", 4 | 7) | ("opportunity", 2) => Family::Waiting,
        ("task", 2) | ("lead", 1) => Family::Open,
        _ => return None,
    };
    Some(family)
}

/// §F.9: statecode 1 (Resolved, Completed, Qualified, Won) and 2 (Canceled, Disqualified, Lost).
fn out_of_box_closed(table: &str, state: i32) -> Option<Family> {
    let known = matches!(
        table.to_ascii_lowercase().as_str(),
        "incident" | "task" | "lead" | "opportunity"
    );
    match (known, state) {
        (true, 1) => Some(Family::Done),
        (true, 2) => Some(Family::Cancelled),
        _ => None,
    }
}
