//! The optional "audit history" row of a table where a Smart Connected Item settles a field (in
//! two-way mode) or the status by "most recent wins".
//!
//! The connector times Dynamics' side of such a conflict by the column's newest entry in the
//! audit history (`GET audits`), which needs the View Audit Summary privilege
//! (`prvReadAuditSummary`) and auditing switched on for the environment, the table and the
//! column. Without any of these it silently uses the record's `modifiedon` (any column's edit
//! moves it), so a missing piece is a warning with its fix, never a failure.
//!
//! The privilege is read from the `RetrieveUserPrivileges` answer the table rows already
//! fetched; the switches with `table_audit` (the organization, then the table and its columns),
//! as the connector reads them at an item's first conflict.

use super::{and_list, table_label, ROLE_EDITOR};
use crosswalk_core::{CheckItem, CheckStatus};
use crosswalk_dataverse::{AuditOff, DataverseClient, SecuredTable, UserPrivileges};
use serde_json::Value;

/// The miscellaneous privilege that lets the role read the audit history.
const READ_AUDIT_SUMMARY: &str = "prvReadAuditSummary";
/// How the role editor names it.
const READ_AUDIT_SUMMARY_LABEL: &str = "View Audit Summary (prvReadAuditSummary)";
/// The column whose audit entries time the status (crosswalk-dynamics `recency`).
const STATUS_COLUMN: &str = "statuscode";
/// An item's ownership when a mapping names none (crosswalk-dynamics `Ownership::default`).
const MOST_RECENT: &str = "most_recent";
const ENVIRONMENT_FIX: &str = "In the Power Platform admin center (https://admin.powerplatform.microsoft.com > Environments > <environment> > Settings > Audit and logs > Audit settings), select Start Auditing";
const FALLBACK: &str = "or leave it as it is: most recent wins then uses the record's modifiedon, which an edit of any column moves";

/// What the items of one table settle by "most recent wins", so what the audit row checks.
#[derive(Debug, Default)]
pub(super) struct Recency {
    /// The items that use it.
    items: Vec<String>,
    /// The columns timed by their audit entries (`statuscode` for the status).
    columns: Vec<String>,
}

impl Recency {
    /// Adds an item's "most recent wins" columns: its two-way mappings owned by the most recent
    /// side (the default) and, with status sync, `statuscode`.
    pub(super) fn add(&mut self, item: &str, settings: &Value, two_way: bool, status: bool) {
        let mut columns: Vec<&str> = Vec::new();
        if two_way {
            let mappings = settings.get("fields").and_then(Value::as_array);
            for mapping in mappings.into_iter().flatten() {
                let owner = mapping
                    .get("owner")
                    .and_then(Value::as_str)
                    .unwrap_or(MOST_RECENT);
                match mapping.get("dataverse").and_then(Value::as_str) {
                    Some(column) if owner == MOST_RECENT && !column.is_empty() => {
                        columns.push(column);
                    }
                    _ => {}
                }
            }
        }
        if status {
            columns.push(STATUS_COLUMN);
        }
        if columns.is_empty() {
            return;
        }
        if !self.items.iter().any(|known| known == item) {
            self.items.push(item.to_owned());
        }
        for column in columns {
            if !self.columns.iter().any(|known| known == column) {
                self.columns.push(column.to_owned());
            }
        }
    }

    /// Whether some item on the table uses "most recent wins", so the row is shown.
    pub(super) fn used(&self) -> bool {
        !self.items.is_empty()
    }

    /// The row: the privilege from `held`, the switches read now.
    pub(super) async fn row(
        &self,
        dataverse: &DataverseClient,
        logical: &str,
        table: Option<&SecuredTable>,
        held: &Result<UserPrivileges, crosswalk_dataverse::Error>,
    ) -> CheckItem {
        let label = label(table, logical);
        let display = table.map_or_else(|| logical.to_owned(), SecuredTable::label);
        let mut found = Findings::default();
        privilege(held, &mut found);
        match dataverse.table_audit(logical).await {
            Ok(audit) => {
                let off: Vec<(AuditOff, &str)> = self
                    .columns
                    .iter()
                    .filter_map(|column| Some((audit.off(column)?, column.as_str())))
                    .collect();
                if off.is_empty() {
                    found.fine.push(format!(
                        "auditing is on for the environment, the {display} table and {}",
                        columns_phrase(&self.columns)
                    ));
                } else {
                    switches(&off, &display, logical, &mut found);
                }
            }
            Err(crosswalk_dataverse::Error::Http(crosswalk_http::Error::NotFound { .. })) => {
                return CheckItem::skipped(label, format!("The table {logical} does not exist"));
            }
            Err(error) => {
                let facing = error.user_facing();
                found.problem(
                    format!(
                        "its audit settings could not be read ({})",
                        facing.message.trim_end_matches('.')
                    ),
                    facing.fix.unwrap_or_else(|| "Test again".to_owned()),
                );
            }
        }
        self.item(label, found)
    }

    /// The row from what was found: ok when nothing is missing, else a warning with each fix.
    fn item(&self, label: String, found: Findings) -> CheckItem {
        let subject = match self.items.as_slice() {
            [one] => format!("Smart Connected Item {one}"),
            many => format!("Smart Connected Items {}", and_list(many)),
        };
        if found.problems.is_empty() {
            return CheckItem::ok(
                label,
                format!(
                    "{}: {subject} times Dynamics' side of a \"most recent wins\" conflict on {} by the column's own audit entry.",
                    capitalized(&and_list(&found.fine)),
                    and_list(&self.columns),
                ),
            );
        }
        CheckItem {
            label,
            status: CheckStatus::Warn,
            detail: format!(
                "{}, so {subject} times Dynamics' side of a \"most recent wins\" conflict on {} by the record's modifiedon, which an edit of any column moves, instead of the column's own audit entry.",
                capitalized(&found.problems.join("; ")),
                and_list(&self.columns),
            ),
            fix: Some(format!("{}; {FALLBACK}", found.fixes.join("; "))),
        }
    }
}

/// The audit row's label, from the table's display name when known.
pub(super) fn label(table: Option<&SecuredTable>, logical: &str) -> String {
    match table {
        Some(table) => format!(
            "{} audit history (optional)",
            table_label(&table.label(), logical)
        ),
        None => format!("Table {logical} audit history (optional)"),
    }
}

/// What the row found: what works, what is missing and the fix for each.
#[derive(Debug, Default)]
struct Findings {
    fine: Vec<String>,
    problems: Vec<String>,
    fixes: Vec<String>,
}

impl Findings {
    fn problem(&mut self, problem: String, fix: String) {
        self.problems.push(problem);
        self.fixes.push(fix);
    }
}

/// Whether the role grants View Audit Summary (a miscellaneous privilege: no table, any depth).
fn privilege(held: &Result<UserPrivileges, crosswalk_dataverse::Error>, found: &mut Findings) {
    match held {
        Ok(held)
            if held
                .privileges
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(READ_AUDIT_SUMMARY)) =>
        {
            found
                .fine
                .push(format!("the role grants {READ_AUDIT_SUMMARY_LABEL}"));
        }
        Ok(_) => found.problem(
            format!("the application user's role lacks {READ_AUDIT_SUMMARY_LABEL}, so Dataverse refuses it the audit history"),
            format!("{ROLE_EDITOR} grant {READ_AUDIT_SUMMARY_LABEL} on the Miscellaneous privileges tab"),
        ),
        Err(error) => found.problem(
            format!(
                "{READ_AUDIT_SUMMARY_LABEL} could not be verified, because the role cannot list its own privileges ({})",
                error.user_facing().message.trim_end_matches('.')
            ),
            format!("{ROLE_EDITOR} grant Read on User (prvReadUser) and Read on Organization (prvReadOrganization) so Test connection can verify it, or check by hand that the role has {READ_AUDIT_SUMMARY_LABEL}"),
        ),
    }
}

/// The switches that keep the columns' changes out of the audit history, each with its fix.
/// The environment's switch comes first: until it is on, the others are not read.
fn switches(off: &[(AuditOff, &str)], display: &str, logical: &str, found: &mut Findings) {
    if off.iter().any(|(off, _)| *off == AuditOff::Organization) {
        return found.problem(
            "auditing is off for the environment (the table's and columns' switches are checked once it is on)".to_owned(),
            ENVIRONMENT_FIX.to_owned(),
        );
    }
    if off.iter().any(|(off, _)| *off == AuditOff::Table) {
        return found.problem(
            format!("auditing is off for the {display} table ({logical})"),
            format!("In Power Apps (https://make.powerapps.com > Tables > {display} > Properties > Advanced options), select Audit changes to its data"),
        );
    }
    let columns: Vec<String> = off.iter().map(|(_, column)| (*column).to_owned()).collect();
    found.problem(
        format!(
            "auditing is off for {} of the {display} table",
            columns_phrase(&columns)
        ),
        format!(
            "In Power Apps (https://make.powerapps.com > Tables > {display} > Columns > {} > Advanced options), select Enable auditing",
            and_list(&columns)
        ),
    );
}

/// "column statuscode", "columns title and statuscode".
fn columns_phrase(columns: &[String]) -> String {
    match columns {
        [one] => format!("column {one}"),
        many => format!("columns {}", and_list(many)),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::Recency;
    use serde_json::json;

    fn columns(settings: serde_json::Value, two_way: bool, status: bool) -> Vec<String> {
        let mut recency = Recency::default();
        recency.add("item", &settings, two_way, status);
        recency.columns
    }

    #[test]
    fn most_recent_columns_are_two_way_mappings_without_another_owner_and_the_status() {
        let fields = json!({"fields": [
            {"dataverse": "title", "jira": "summary"},
            {"dataverse": "prioritycode", "jira": "priority", "owner": "most_recent"},
            {"dataverse": "description", "jira": "description", "owner": "jira"},
            {"dataverse": "ownerid", "jira": "assignee", "owner": "dynamics"},
        ]});
        assert_eq!(
            columns(fields.clone(), true, false),
            ["title", "prioritycode"]
        );
        assert_eq!(
            columns(fields.clone(), true, true),
            ["title", "prioritycode", "statuscode"]
        );
        // One-way: Dynamics owns every field; only the status is settled by recency.
        assert_eq!(columns(fields.clone(), false, true), ["statuscode"]);
        assert!(columns(fields, false, false).is_empty());
    }

    #[test]
    fn an_item_without_most_recent_wins_does_not_show_the_row() {
        let mut recency = Recency::default();
        recency.add(
            "owned",
            &json!({"fields": [{"dataverse": "title", "jira": "summary", "owner": "jira"}]}),
            true,
            false,
        );
        assert!(!recency.used());
        recency.add("status", &json!({}), false, true);
        recency.add("status", &json!({}), false, true);
        assert!(recency.used());
        assert_eq!(recency.items, ["status"]);
        assert_eq!(recency.columns, ["statuscode"]);
    }
}
