//! The result of testing a connection: a checklist an admin can work through.

use serde::{Deserialize, Serialize};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CheckStatus {
    Ok,
    /// Works, but something needs attention soon (e.g. a secret expiring).
    Warn,
    Fail,
    /// Not tried because an earlier check failed.
    Skipped,
}

/// One line of the checklist: what was checked, what was found, and the fix when it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckItem {
    pub label: String,
    pub status: CheckStatus,
    pub detail: String,
    pub fix: Option<String>,
}

impl CheckItem {
    /// A passed check.
    pub fn ok(label: impl Into<String>, detail: impl Into<String>) -> CheckItem {
        CheckItem {
            label: label.into(),
            status: CheckStatus::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A failed check with the fix to apply.
    pub fn fail(
        label: impl Into<String>,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> CheckItem {
        CheckItem {
            label: label.into(),
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix,
        }
    }

    /// A check not attempted.
    pub fn skipped(label: impl Into<String>, detail: impl Into<String>) -> CheckItem {
        CheckItem {
            label: label.into(),
            status: CheckStatus::Skipped,
            detail: detail.into(),
            fix: None,
        }
    }
}

/// Everything "Test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckReport {
    pub connection: String,
    pub items: Vec<CheckItem>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
}

impl CheckReport {
    /// True when no check failed.
    pub fn passed(&self) -> bool {
        self.items
            .iter()
            .all(|item| item.status != CheckStatus::Fail)
    }
}
