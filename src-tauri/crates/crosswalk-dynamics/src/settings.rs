//! A Smart Connected Item's settings (one job of kind `dynamics-item`), as the config file and
//! the console's wizard write them.

use crosswalk_core::ValidationError;
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

/// How much an item synchronizes (the seed's three modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsSyncMode"))]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Manual links and a record preview only; scheduled runs do nothing.
    DisplayOnly,
    /// Mapped fields flow Dynamics → Jira; status, comments, attachments both ways when on.
    #[default]
    OneWay,
    /// Mapped fields flow both ways (per-field ownership decides conflicts).
    TwoWay,
}

impl SyncMode {
    /// Whether scheduled runs synchronize anything.
    pub fn synchronizes(self) -> bool {
        self != SyncMode::DisplayOnly
    }
}

/// Which side's value a field takes when both changed since the last sync (two-way only).
///
/// Ownership settles conflicts only: a change on one side alone still follows the mode's
/// direction (two-way copies it either way), so an admin who wants one side to be the only
/// source picks a one-way mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsOwnership"))]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// The side changed most recently wins.
    #[default]
    MostRecent,
    /// Jira's value wins a conflict; a Dynamics-side change alone is still copied to Jira.
    Jira,
    /// Dynamics' value wins a conflict; a Jira-side change alone is still copied to Dynamics.
    Dynamics,
}

/// One pair of an explicit value map: a Dataverse value and the Jira value it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsValuePair"))]
#[serde(deny_unknown_fields)]
pub struct ValuePair {
    /// Choice columns: the option's integer value as text ("3"); booleans "true"/"false";
    /// text columns: the text.
    pub dataverse: String,
    /// The Jira option value, priority name, component or version name, or text.
    pub jira: String,
}

/// One Dataverse column paired with one Jira field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsFieldMapping"))]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// Column logical name (`title`, `prioritycode`, `_ownerid_value` is written `ownerid`).
    pub dataverse: String,
    /// Jira field id (`summary`, `description`, `priority`, `customfield_10010`).
    pub jira: String,
    /// Which side wins when both changed the field since the last sync, in two-way mode
    /// (ignored in one-way mode, where only Dynamics' changes are copied).
    #[serde(default)]
    pub owner: Ownership,
    /// Explicit value map; unmatched values fall back to matching by label.
    #[serde(default)]
    pub values: Vec<ValuePair>,
}

/// Auto-creation of Jira issues for new Dataverse records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsAutoCreate"))]
#[serde(deny_unknown_fields)]
pub struct AutoCreate {
    #[serde(default)]
    pub enabled: bool,
    /// An OData `$filter` on the table (e.g. `prioritycode eq 1`); only matching records get
    /// an issue. Records created before the item's baseline never do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// One row of the status map: a Jira status and the Dataverse state/status pair it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsStatusPair"))]
#[serde(deny_unknown_fields)]
pub struct StatusPair {
    /// Jira status id (stable; names are localised).
    pub jira_status: String,
    /// Dataverse `statecode`.
    pub state: i32,
    /// Dataverse `statuscode` (must belong to `state`).
    pub status: i32,
}

/// Status synchronization (both directions once enabled, most recent side wins).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsStatusSync"))]
#[serde(deny_unknown_fields)]
pub struct StatusSync {
    #[serde(default)]
    pub enabled: bool,
    /// Explicit pairs; statuses not listed are matched by name and category heuristics.
    #[serde(default)]
    pub map: Vec<StatusPair>,
    /// Text of the Case resolution written by `CloseIncident` (default names the Jira issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_text: Option<String>,
}

/// The settings of one Smart Connected Item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsItemSettings"))]
#[serde(deny_unknown_fields)]
pub struct DynamicsItemSettings {
    /// Name of a `dataverse` connection.
    pub dataverse_connection: String,
    /// Name of a `jira` connection.
    pub jira_connection: String,
    #[serde(default)]
    pub mode: SyncMode,
    /// Jira project key.
    pub jira_project: String,
    /// Jira issue type id (from the project's create metadata).
    pub jira_issue_type: String,
    /// The Dynamics module the table belongs to, as shown to admins ("Customer Service").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Dataverse table logical name (`incident`, `task`, `lead`, `opportunity`...).
    pub table: String,
    #[serde(default)]
    pub auto_create: AutoCreate,
    #[serde(default)]
    pub fields: Vec<FieldMapping>,
    #[serde(default)]
    pub status: StatusSync,
    /// Comments ↔ notes, both ways.
    #[serde(default)]
    pub comments: bool,
    /// Attachments ↔ note attachments, both ways.
    #[serde(default)]
    pub attachments: bool,
    /// Largest attachment copied, in MB; `None` copies up to what both sides accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attachment_mb: Option<u32>,
    /// Delete the copy when a synced comment or attachment is deleted (off by default).
    #[serde(default)]
    pub mirror_deletions: bool,
    /// Write the "Linked to Jira" note on the Dynamics timeline.
    #[serde(default = "yes")]
    pub link_note: bool,
    /// Add a remote link to the Dynamics record on the Jira issue.
    #[serde(default = "yes")]
    pub remote_link: bool,
    /// How long Jira search may lag behind a create (§B.5, eventually consistent): an issue
    /// create interrupted by a crash is only retried once its issue could have shown up.
    #[serde(default = "default_search_lag")]
    pub jira_search_lag_secs: u32,
    /// How often a poll checks that linked issues and records still exist, in minutes (0:
    /// every poll): neither a JQL search nor a `modifiedon` window reports a deletion.
    #[serde(default = "default_deletion_check")]
    pub deletion_check_minutes: u32,
}

fn default_deletion_check() -> u32 {
    15
}

fn default_search_lag() -> u32 {
    120
}

impl DynamicsItemSettings {
    /// Parses and checks settings as stored in a job; every problem is reported at once.
    ///
    /// # Errors
    /// A list of problems, each naming its field.
    pub fn parse(value: &serde_json::Value) -> Result<DynamicsItemSettings, Vec<ValidationError>> {
        let settings: DynamicsItemSettings = serde_json::from_value(value.clone())
            .map_err(|error| vec![ValidationError::new("settings", error.to_string())])?;
        let problems = settings.problems();
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// Problems that do not need either service to find.
    pub fn problems(&self) -> Vec<ValidationError> {
        let mut problems = Vec::new();
        for (field, value) in [
            ("dataverse_connection", &self.dataverse_connection),
            ("jira_connection", &self.jira_connection),
            ("jira_project", &self.jira_project),
            ("jira_issue_type", &self.jira_issue_type),
            ("table", &self.table),
        ] {
            if value.trim().is_empty() {
                problems.push(ValidationError::new(field, "is required"));
            }
        }
        let key_ok = self
            .jira_project
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !self.jira_project.is_empty() && !key_ok {
            problems.push(ValidationError::new(
                "jira_project",
                "must be a project key such as SUP (capital letters, digits, underscore)",
            ));
        }
        let name_ok = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !self.table.is_empty() && !name_ok(&self.table) {
            problems.push(ValidationError::new(
                "table",
                "must be a Dataverse table's logical name, e.g. incident (lower case)",
            ));
        }
        if self.mode == SyncMode::DisplayOnly && self.auto_create.enabled {
            problems.push(ValidationError::new(
                "auto_create.enabled",
                "display-only items never create issues; choose one-way or two-way sync",
            ));
        }
        if let Some(filter) = &self.auto_create.filter {
            if filter.trim().is_empty() {
                problems.push(ValidationError::new(
                    "auto_create.filter",
                    "leave the filter out rather than empty",
                ));
            }
        }
        let mut seen_jira = std::collections::BTreeSet::new();
        for (i, mapping) in self.fields.iter().enumerate() {
            if !name_ok(&mapping.dataverse) {
                problems.push(ValidationError::new(
                    format!("fields.{i}.dataverse"),
                    "must be a column's logical name (lower case)",
                ));
            }
            if mapping.jira.trim().is_empty() {
                problems.push(ValidationError::new(
                    format!("fields.{i}.jira"),
                    "must be a Jira field id such as summary or customfield_10010",
                ));
            } else if !seen_jira.insert(mapping.jira.as_str()) {
                problems.push(ValidationError::new(
                    format!("fields.{i}.jira"),
                    format!(
                        "{} is mapped twice; a Jira field takes one column",
                        mapping.jira
                    ),
                ));
            }
        }
        for (i, pair) in self.status.map.iter().enumerate() {
            if pair.jira_status.trim().is_empty() {
                problems.push(ValidationError::new(
                    format!("status.map.{i}.jira_status"),
                    "must be a Jira status id",
                ));
            }
        }
        if self.max_attachment_mb == Some(0) {
            problems.push(ValidationError::new(
                "max_attachment_mb",
                "must be at least 1 (leave it out to copy up to what both sides accept)",
            ));
        }
        problems
    }

    /// The largest attachment copied, in bytes, when the admin set one.
    pub fn max_attachment_bytes(&self) -> Option<u64> {
        self.max_attachment_mb.map(|mb| u64::from(mb) * 1024 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> serde_json::Value {
        json!({
            "dataverse_connection": "dv", "jira_connection": "jira",
            "jira_project": "SUP", "jira_issue_type": "10001", "table": "incident"
        })
    }

    #[test]
    fn minimal_settings_take_the_documented_defaults() {
        let settings = DynamicsItemSettings::parse(&minimal()).unwrap();
        assert_eq!(settings.mode, SyncMode::OneWay);
        assert!(settings.link_note && settings.remote_link);
        assert!(!settings.comments && !settings.attachments && !settings.mirror_deletions);
        assert!(!settings.auto_create.enabled);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut value = minimal();
        value["jira_project"] = json!("sup");
        value["table"] = json!("Incident");
        value["mode"] = json!("display_only");
        value["auto_create"] = json!({"enabled": true});
        value["fields"] = json!([
            {"dataverse": "title", "jira": "summary"},
            {"dataverse": "description", "jira": "summary"}
        ]);
        let problems = DynamicsItemSettings::parse(&value).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "jira_project",
                "table",
                "auto_create.enabled",
                "fields.1.jira"
            ]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let mut value = minimal();
        value["comment"] = json!(true);
        let problems = DynamicsItemSettings::parse(&value).unwrap_err();
        assert!(
            problems[0].message.contains("unknown field"),
            "{problems:?}"
        );
    }
}
