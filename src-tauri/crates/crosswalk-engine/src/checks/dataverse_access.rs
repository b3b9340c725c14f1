//! The Dataverse connection's security-role rows of "Test connection": one per table that a
//! Smart Connected Item of this connection maps, and one for notes. Each row says what the
//! application user's role grants there and, for what is missing, the privilege to add and where.
//!
//! What the role grants comes from `RetrieveUserPrivileges` on the application user (`WhoAmI`'s
//! `UserId`). A role that cannot read its own privileges (it needs Read on User and
//! Organization) gets a one-row read probe per table instead, and the row says that the other
//! privileges were not verified.
//!
//! With status sync on, an item on `incident` or `opportunity` closes records through actions
//! that create an activity (Case Resolution, Opportunity Close), so its row also needs Create
//! and Append on Activity and Append To on the table; an item on `lead` qualifies through
//! `QualifyLead`, which needs only Write on Lead (the connector creates nothing else with it).
//!
//! A table where an item settles a field or the status by "most recent wins" also gets an
//! optional row (`audit`): whether Dynamics' side can be timed by the column's audit history.
//!
//! Items are read from the store generically (kind `dynamics-item`, settings keys
//! `dataverse_connection`, `table`, `mode`, `status.enabled`, `fields[].owner`,
//! `fields[].dataverse`, `comments`, `attachments`, `link_note`, `mirror_deletions`), so the
//! engine does not depend on the item's crate.

use crate::services::Services;
use crosswalk_core::{CheckItem, CheckStatus};
use crosswalk_dataverse::{
    AccessRight, DataverseClient, PrivilegeDepth, SecuredTable, UserPrivileges,
};
use serde_json::Value;
use std::collections::BTreeMap;

mod audit;

/// The job kind of a Smart Connected Item.
const ITEM_KIND: &str = "dynamics-item";
const NOTES: &str = "annotation";
/// Closing a Case creates its Case Resolution (`CloseIncident`).
const CASE_RESOLUTION: &str = "incidentresolution";
/// Winning or losing an opportunity creates its Opportunity Close (`WinOpportunity`,
/// `LoseOpportunity`); like the Case Resolution it is an activity, so the role grants it
/// through the shared Activity privileges.
const OPPORTUNITY_CLOSE: &str = "opportunityclose";
/// The label of the notes row.
pub(crate) const NOTES_LABEL: &str = "Notes (annotation)";
/// The label of the row saying no item uses the connection yet.
pub(crate) const NO_ITEMS_LABEL: &str = "Smart Connected Item tables";
/// The detail of that row.
pub(crate) const NO_ITEMS: &str =
    "No Smart Connected Item uses this connection yet; its tables are checked once one does";
const ROLE_EDITOR: &str = "In the Power Platform admin center (https://admin.powerplatform.microsoft.com > Environments > <environment> > Settings > Users + permissions > Security roles), edit the security role assigned to this app's application user and";

/// A mapped table row's label once its display name is known.
pub(crate) fn table_label(display: &str, logical: &str) -> String {
    format!("{display} table ({logical})")
}

/// One privilege a row needs, and what for.
#[derive(Debug, Clone)]
struct Need {
    /// The table the privilege is on (the row's own, or the activity that closes its records).
    table: String,
    right: AccessRight,
    why: String,
}

/// What the items mapping one table need there.
#[derive(Debug, Default)]
struct TableNeeds {
    items: Vec<String>,
    /// Why the items write records (two-way updates, status changes from Jira).
    writes: Vec<&'static str>,
    notes: bool,
    /// Some item syncs status, so Jira's status is written through the table's actions.
    status: bool,
    /// What "most recent wins" times by the audit history on this table.
    recency: audit::Recency,
}

/// What the Smart Connected Items of one connection need from its role.
#[derive(Debug, Default)]
pub(crate) struct Needs {
    tables: BTreeMap<String, TableNeeds>,
    items: Vec<String>,
    notes_written: bool,
    mirror_deletions: bool,
    unlink_notes: bool,
    /// The store could not list the jobs.
    jobs_error: Option<String>,
}

/// The items (jobs of kind `dynamics-item`) using `connection`, and what they need.
pub(crate) fn needs_of(services: &Services, connection: &str) -> Needs {
    let mut needs = Needs::default();
    let jobs = match services.store.list_jobs() {
        Ok(jobs) => jobs,
        Err(error) => {
            needs.jobs_error = Some(error.to_string());
            return needs;
        }
    };
    for job in jobs.iter().filter(|job| job.config.kind == ITEM_KIND) {
        let settings = &job.config.settings;
        let text = |key: &str| settings.get(key).and_then(Value::as_str).unwrap_or("");
        if text("dataverse_connection") != connection || text("table").is_empty() {
            continue;
        }
        let flag = |key: &str, default: bool| {
            settings
                .get(key)
                .and_then(Value::as_bool)
                .unwrap_or(default)
        };
        let mode = match text("mode") {
            "" => "one_way",
            mode => mode,
        };
        let synchronizes = mode != "display_only";
        let status = synchronizes
            && settings
                .pointer("/status/enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        let link_note = flag("link_note", true);
        let notes =
            link_note || (synchronizes && (flag("comments", false) || flag("attachments", false)));
        let entry = needs.tables.entry(text("table").to_owned()).or_default();
        entry.items.push(job.config.name.clone());
        if mode == "two_way" && !entry.writes.contains(&"make two-way field updates") {
            entry.writes.push("make two-way field updates");
        }
        let status_writes = match text("table") {
            // QualifyLead changes only the lead: the connector asks it to create nothing else.
            "lead" => "apply status changes from Jira (QualifyLead writes only the lead; it creates no account, contact or opportunity)",
            _ => "apply status changes from Jira",
        };
        if status && !entry.writes.contains(&status_writes) {
            entry.writes.push(status_writes);
        }
        entry.notes |= notes;
        entry.status |= status;
        entry
            .recency
            .add(&job.config.name, settings, mode == "two_way", status);
        needs.items.push(job.config.name.clone());
        needs.notes_written |= notes;
        needs.mirror_deletions |= synchronizes && flag("mirror_deletions", false);
        needs.unlink_notes |= link_note;
    }
    needs
}

/// What closing a record of `table` through its action needs besides Write on the table: the
/// action creates a completed activity regarding the record, so Create and Append on the
/// activity (the shared Activity privileges) and Append To on the table (the documented
/// privileges of the CloseIncident, WinOpportunity and LoseOpportunity messages).
fn closing_needs(table: &str) -> Vec<Need> {
    let (activity, why) = match table {
        "incident" => (
            CASE_RESOLUTION,
            "close Cases from Jira (CloseIncident creates a Case Resolution)",
        ),
        "opportunity" => (
            OPPORTUNITY_CLOSE,
            "win or lose opportunities from Jira (WinOpportunity and LoseOpportunity create an Opportunity Close)",
        ),
        _ => return Vec::new(),
    };
    vec![
        need(activity, AccessRight::Create, why),
        need(activity, AccessRight::Append, why),
        need(table, AccessRight::AppendTo, why),
    ]
}

fn names(items: &[String]) -> String {
    match items {
        [one] => format!("Smart Connected Item {one}"),
        many => format!("Smart Connected Items {}", and_list(many)),
    }
}

fn need(table: &str, right: AccessRight, why: impl Into<String>) -> Need {
    Need {
        table: table.to_owned(),
        right,
        why: why.into(),
    }
}

/// "a", "a and b", "a, b and c".
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One row: a table and the privileges it needs.
struct Row {
    /// The row's own table.
    table: String,
    needs: Vec<Need>,
    /// Who needs it ("Smart Connected Item X"), for the detail.
    subject: String,
}

impl Needs {
    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for (table, t) in &self.tables {
            let mut needs = vec![need(table, AccessRight::Read, "read its records")];
            if !t.writes.is_empty() {
                needs.push(need(table, AccessRight::Write, t.writes.join(" and ")));
            }
            if t.notes {
                needs.push(need(
                    table,
                    AccessRight::AppendTo,
                    "attach notes to its records",
                ));
            }
            if t.status {
                needs.extend(closing_needs(table));
            }
            rows.push(Row {
                table: table.clone(),
                needs,
                subject: names(&t.items),
            });
        }
        let no_items = self.items.is_empty();
        let mut needs = vec![need(
            NOTES,
            AccessRight::Read,
            "read comments, attachments and the link note",
        )];
        if no_items || self.notes_written {
            let why = "write the Jira link note, comments and attachments";
            needs.push(need(NOTES, AccessRight::Create, why));
            needs.push(need(NOTES, AccessRight::Write, why));
            needs.push(need(
                NOTES,
                AccessRight::Append,
                "set the record a note is regarding",
            ));
        }
        let mut deletes = Vec::new();
        if self.mirror_deletions {
            deletes.push("mirror comment and attachment deletions");
        }
        if self.unlink_notes || no_items {
            deletes.push("remove the link note when a link is removed");
        }
        if !deletes.is_empty() {
            needs.push(need(NOTES, AccessRight::Delete, deletes.join(" and ")));
        }
        rows.push(Row {
            table: NOTES.to_owned(),
            needs,
            subject: if no_items {
                "any Smart Connected Item".to_owned()
            } else {
                names(&self.items)
            },
        });
        rows
    }

    fn jobs_row(&self, items: &mut Vec<CheckItem>) {
        if let Some(error) = &self.jobs_error {
            items.push(CheckItem {
                label: NO_ITEMS_LABEL.into(),
                status: CheckStatus::Warn,
                detail: format!("Could not read the Smart Connected Items: {error}"),
                fix: Some("Test again; if it keeps failing, check the data folder".into()),
            });
        } else if self.items.is_empty() {
            items.push(CheckItem::skipped(NO_ITEMS_LABEL, NO_ITEMS));
        }
    }

    /// The rows, skipped (sign-in or application user failed).
    pub(crate) fn skip(&self, items: &mut Vec<CheckItem>, reason: &str) {
        for table in self.tables.keys() {
            items.push(CheckItem::skipped(format!("Table {table}"), reason));
        }
        self.jobs_row(items);
        items.push(CheckItem::skipped(NOTES_LABEL, reason));
        for (table, needs) in &self.tables {
            if needs.recency.used() {
                items.push(CheckItem::skipped(audit::label(None, table), reason));
            }
        }
    }

    /// The rows, checked against what the role of `user_id` grants.
    pub(crate) async fn check(
        &self,
        dataverse: &DataverseClient,
        user_id: &str,
        items: &mut Vec<CheckItem>,
    ) {
        let rows = self.rows();
        let mut tables: BTreeMap<String, Result<SecuredTable, crosswalk_dataverse::Error>> =
            BTreeMap::new();
        for row in &rows {
            for name in std::iter::once(&row.table).chain(row.needs.iter().map(|n| &n.table)) {
                if !tables.contains_key(name) {
                    tables.insert(name.clone(), dataverse.secured_table(name).await);
                }
            }
        }
        let held = dataverse.user_privileges(user_id).await;
        for row in &rows {
            if row.table == NOTES {
                self.jobs_row(items);
            }
            let item = match &held {
                Ok(held) => checked(row, &tables, held),
                Err(error) => probed(dataverse, row, &tables, error).await,
            };
            items.push(item);
        }
        for (table, needs) in &self.tables {
            if needs.recency.used() {
                let secured = tables.get(table).and_then(|t| t.as_ref().ok());
                items.push(needs.recency.row(dataverse, table, secured, &held).await);
            }
        }
    }
}

/// The row's label, from its table's display name when known.
fn label_of(row: &Row, table: Option<&SecuredTable>) -> String {
    match (row.table.as_str(), table) {
        (NOTES, _) => NOTES_LABEL.to_owned(),
        (logical, Some(table)) => table_label(&table.label(), logical),
        (logical, None) => format!("Table {logical}"),
    }
}

/// "Read on Case (prvReadIncident)".
fn privilege_phrase(table: &SecuredTable, right: AccessRight) -> String {
    format!(
        "{} on {} ({})",
        right.label(),
        table.role_editor_name(),
        table.privilege_name(right)
    )
}

/// The row's table, or the failed row when it cannot be looked up.
fn table_of<'a>(
    row: &Row,
    tables: &'a BTreeMap<String, Result<SecuredTable, crosswalk_dataverse::Error>>,
) -> Result<&'a SecuredTable, CheckItem> {
    match tables.get(&row.table) {
        Some(Ok(table)) => Ok(table),
        Some(Err(crosswalk_dataverse::Error::Http(crosswalk_http::Error::NotFound { .. }))) => {
            Err(CheckItem::fail(
                label_of(row, None),
                format!(
                    "This Dataverse environment has no table {}; {} maps it.",
                    row.table, row.subject
                ),
                Some(format!(
                    "Check that the Organization URL is the environment that holds the records, or choose an existing table for {}",
                    row.subject
                )),
            ))
        }
        Some(Err(error)) => Err(super::failed(&label_of(row, None), error.user_facing())),
        None => Err(CheckItem::skipped(label_of(row, None), "Not looked up")),
    }
}

/// The row from the role's privileges.
fn checked(
    row: &Row,
    tables: &BTreeMap<String, Result<SecuredTable, crosswalk_dataverse::Error>>,
    held: &UserPrivileges,
) -> CheckItem {
    let table = match table_of(row, tables) {
        Ok(table) => table,
        Err(item) => return item,
    };
    let label = label_of(row, Some(table));
    let mut granted = Vec::new();
    let mut missing = Vec::new();
    let mut narrow = Vec::new();
    let mut everywhere = true;
    for need in &row.needs {
        // A second table (a closing activity) that does not exist is not this row's problem.
        let Some(Ok(on)) = tables.get(&need.table) else {
            continue;
        };
        match held.depth(on, need.right) {
            None => missing.push((on, need)),
            Some(depth) => {
                everywhere &= depth == PrivilegeDepth::Global;
                granted.push(if on.logical_name == table.logical_name {
                    need.right.label().to_owned()
                } else {
                    format!("{} on {}", need.right.label(), on.role_editor_name())
                });
                if need.right == AccessRight::Read && depth < PrivilegeDepth::Global {
                    narrow.push((on, need, depth));
                }
            }
        }
    }
    // Two needs may ask for one privilege (Append To for notes and for a closing activity).
    let granted = dedup(granted.into_iter());
    let granted_text = if granted.is_empty() {
        String::new()
    } else {
        format!("Granted: {}.", and_list(&granted))
    };
    if !missing.is_empty() {
        let lacking = and_list(&dedup(
            missing
                .iter()
                .map(|(on, need)| privilege_phrase(on, need.right)),
        ));
        let detail = format!(
            "The application user's role lacks {lacking}, needed by {} to: {}. {granted_text}",
            row.subject,
            dedup(missing.iter().map(|(_, need)| need.why.clone())).join("; "),
        );
        let fix = format!("{ROLE_EDITOR} set {lacking} to Organization level, then test again");
        return CheckItem::fail(label, detail.trim_end(), Some(fix));
    }
    if let Some((on, need, depth)) = narrow.first() {
        return CheckItem {
            label,
            status: CheckStatus::Warn,
            detail: format!(
                "{} is granted at {} level only, so records outside the application user's reach are invisible to {} and change tracking is refused (it needs Organization-level Read). {granted_text}",
                privilege_phrase(on, need.right),
                depth.label(),
                row.subject
            ),
            fix: Some(format!(
                "{ROLE_EDITOR} raise {} to Organization level",
                privilege_phrase(on, need.right)
            )),
        };
    }
    CheckItem::ok(
        label,
        format!(
            "The role grants {}{}, needed by {} to: {}.",
            and_list(&granted),
            if everywhere {
                " at Organization level"
            } else {
                ""
            },
            row.subject,
            dedup(row.needs.iter().map(|need| need.why.clone())).join("; ")
        ),
    )
}

fn dedup(parts: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in parts {
        if !out.contains(&part) {
            out.push(part);
        }
    }
    out
}

/// The row when the role's privileges cannot be read: one read probe, the rest unverified.
async fn probed(
    dataverse: &DataverseClient,
    row: &Row,
    tables: &BTreeMap<String, Result<SecuredTable, crosswalk_dataverse::Error>>,
    why_not: &crosswalk_dataverse::Error,
) -> CheckItem {
    let table = match table_of(row, tables) {
        Ok(table) => table,
        Err(item) => return item,
    };
    let label = label_of(row, Some(table));
    let read = privilege_phrase(table, AccessRight::Read);
    match dataverse.probe_read(table).await {
        Ok(()) => {
            let others = dedup(
                row.needs
                    .iter()
                    .filter(|need| {
                        need.right != AccessRight::Read || need.table != table.logical_name
                    })
                    .filter_map(|need| match tables.get(&need.table) {
                        Some(Ok(on)) => Some(privilege_phrase(on, need.right)),
                        _ => None,
                    }),
            );
            if others.is_empty() {
                return CheckItem::ok(label, format!("{read} works (one record read)."));
            }
            CheckItem {
                label,
                status: CheckStatus::Warn,
                detail: format!(
                    "{read} works (one record read); {} could not be verified, because the role cannot list its own privileges ({}).",
                    and_list(&others),
                    why_not.user_facing().message.trim_end_matches('.')
                ),
                fix: Some(format!(
                    "{ROLE_EDITOR} grant Read on User (prvReadUser) and Read on Organization (prvReadOrganization) so Test connection can verify them, or check by hand that the role has {} at Organization level",
                    and_list(&others)
                )),
            }
        }
        Err(crosswalk_dataverse::Error::MissingPrivilege { .. }) => CheckItem::fail(
            label,
            format!(
                "The application user's role lacks {read}, needed by {} to read its records.",
                row.subject
            ),
            Some(format!(
                "{ROLE_EDITOR} set {read} to Organization level, then test again"
            )),
        ),
        Err(error) => super::failed(&label, error.user_facing()),
    }
}
