//! Auditing: whether changes of a table's columns are recorded (the organization's
//! `isauditenabled`, `IsAuditEnabled` on the table and each column, Microsoft Learn "Configure
//! auditing") and when each column of a record last changed (the `audit` table, "Retrieve the
//! history of audited data changes").
//!
//! The Web API gives a change's time only on `audits` rows (`createdon`), and says which
//! columns changed there only through `attributemask`, a CSV of the columns' `ColumnNumber`:
//! its `audit` type has no `changedata`, and the `AuditDetail` values of
//! `RetrieveRecordChangeHistory` / `RetrieveAttributeChangeHistory` come without their
//! `AuditRecord`, so they say what changed but not when. Hence `audits` and the column numbers.

use crate::{check_id, check_name, enc, literal, odata_datetime, DataverseClient, Error, Result};
use crate::{records::prefer, API};
use crosswalk_http::header::HeaderName;
use crosswalk_http::RequestSpec;
use serde_json::Value;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const ROUTE_AUDITS: &str = "/api/data/v9.2/audits";
const ROUTE_ORGANIZATIONS: &str = "/api/data/v9.2/organizations";
const ROUTE_ENTITY: &str = "/api/data/v9.2/EntityDefinitions(LogicalName={name})";
/// Audit rows per page: one page covers the changes of a record between two polls.
const AUDIT_PAGE: u32 = 100;
/// Pages read at most for one record (newest first) before the rest counts as not found.
const AUDIT_PAGES: usize = 5;
/// `audit.operation` of an update.
const OPERATION_UPDATE: i32 = 2;

/// One column's audit setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditedColumn {
    /// `AttributeMetadata.IsAuditEnabled.Value`.
    pub enabled: bool,
    /// `AttributeMetadata.ColumnNumber`, the number `audit.attributemask` lists.
    pub number: Option<i64>,
}

/// The switch that keeps a column's changes out of the audit history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOff {
    /// `organization.isauditenabled` is false (admin center › Audit settings › Start Auditing).
    Organization,
    /// The table's "Audit changes to its data" is off.
    Table,
    /// The column's "Enable auditing" is off (or the column is unknown).
    Column,
}

/// How one table is audited: the environment's switch, the table's and each column's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAudit {
    pub logical_name: String,
    /// `organization.isauditenabled`.
    pub organization: bool,
    /// The table's `IsAuditEnabled.Value` (false when the organization's switch is off: not read).
    pub table: bool,
    /// Columns by logical name (empty when the organization's switch is off: not read).
    pub columns: HashMap<String, AuditedColumn>,
}

impl TableAudit {
    /// Which switch keeps `column`'s changes out of the audit history, if any.
    pub fn off(&self, column: &str) -> Option<AuditOff> {
        if !self.organization {
            return Some(AuditOff::Organization);
        }
        if !self.table {
            return Some(AuditOff::Table);
        }
        match self.columns.get(column) {
            Some(AuditedColumn {
                enabled: true,
                number: Some(_),
            }) => None,
            _ => Some(AuditOff::Column),
        }
    }
}

/// `"47,45,42"` (or with surrounding commas) → the column numbers.
fn mask_numbers(mask: &str) -> impl Iterator<Item = i64> + '_ {
    mask.split(',').filter_map(|n| n.trim().parse().ok())
}

fn managed_value(item: &Value) -> bool {
    item.pointer("/IsAuditEnabled/Value")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

impl DataverseClient {
    /// Whether auditing is on for the environment (`organizations?$select=isauditenabled`).
    ///
    /// # Errors
    /// `MissingPrivilege` without Read on `organization`.
    pub async fn organization_auditing(&self) -> Result<bool> {
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE_ORGANIZATIONS,
                format!("{API}/organizations?$select=isauditenabled"),
            ))
            .await?;
        value
            .pointer("/value/0/isauditenabled")
            .and_then(Value::as_bool)
            .ok_or(Error::Unexpected {
                route: ROUTE_ORGANIZATIONS,
                detail: "no isauditenabled on the organization".to_owned(),
            })
    }

    /// How the table `logical_name` is audited: the environment's switch (one request), then,
    /// only when it is on, the table's and its columns' `IsAuditEnabled` with their
    /// `ColumnNumber` (one request: the table with its `Attributes` expanded).
    ///
    /// # Errors
    /// `Http(NotFound)` when the table does not exist.
    pub async fn table_audit(&self, logical_name: &str) -> Result<TableAudit> {
        check_name("table name", logical_name)?;
        let mut audit = TableAudit {
            logical_name: logical_name.to_owned(),
            organization: self.organization_auditing().await?,
            table: false,
            columns: HashMap::new(),
        };
        if !audit.organization {
            return Ok(audit);
        }
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE_ENTITY,
                format!(
                    "{API}/EntityDefinitions(LogicalName={})?$select=LogicalName,IsAuditEnabled&$expand=Attributes($select=LogicalName,IsAuditEnabled,ColumnNumber)",
                    literal(logical_name)
                ),
            ))
            .await?;
        audit.table = managed_value(&value);
        audit.columns = value
            .get("Attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let name = item.get("LogicalName")?.as_str()?.to_owned();
                let column = AuditedColumn {
                    enabled: managed_value(item),
                    number: item.get("ColumnNumber").and_then(Value::as_i64),
                };
                Some((name, column))
            })
            .collect();
        Ok(audit)
    }

    /// When each of `columns` of the record `record_id` last changed, from the audit history:
    /// update rows of the record (newest first, since `since` when given) whose
    /// `attributemask` lists the column's number. Usually one request; more pages are read
    /// (at most five) only while an asked column has not been found. Columns that `audit`
    /// says are not audited, or that no row lists, are missing from the answer; no request is
    /// made when none is audited.
    ///
    /// # Errors
    /// `MissingMiscPrivilege` (`prvReadAuditSummary`) when the application user's role may not
    /// read the audit history.
    pub async fn column_change_times(
        &self,
        audit: &TableAudit,
        record_id: &str,
        columns: &[&str],
        since: Option<OffsetDateTime>,
    ) -> Result<HashMap<String, OffsetDateTime>> {
        check_id(record_id)?;
        let mut wanted: HashMap<i64, &str> = HashMap::new();
        for column in columns {
            check_name("column", column)?;
            if audit.off(column).is_none() {
                if let Some(number) = audit.columns.get(*column).and_then(|c| c.number) {
                    wanted.insert(number, column);
                }
            }
        }
        let mut found: HashMap<String, OffsetDateTime> = HashMap::new();
        if wanted.is_empty() {
            return Ok(found);
        }
        let mut filter = format!(
            "_objectid_value eq {} and operation eq {OPERATION_UPDATE}",
            record_id.to_ascii_lowercase()
        );
        if let Some(since) = since {
            filter.push_str(&format!(" and createdon ge {}", odata_datetime(since)));
        }
        let mut target = format!(
            "{API}/audits?$select=createdon,attributemask&$filter={}&$orderby={}",
            enc(&filter),
            enc("createdon desc")
        );
        let page_size = prefer(&[format!("odata.maxpagesize={AUDIT_PAGE}")]);
        for _ in 0..AUDIT_PAGES {
            let mut spec = RequestSpec::get(ROUTE_AUDITS, target);
            if let Some(value) = page_size.clone() {
                spec = spec.header(HeaderName::from_static("prefer"), value);
            }
            let value: Value = self.send_json(spec).await?;
            let rows = value
                .get("value")
                .and_then(Value::as_array)
                .ok_or(Error::Unexpected {
                    route: ROUTE_AUDITS,
                    detail: "the answer has no value array".to_owned(),
                })?;
            for row in rows {
                let Some(at) = row
                    .get("createdon")
                    .and_then(Value::as_str)
                    .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
                else {
                    continue;
                };
                let mask = row.get("attributemask").and_then(Value::as_str);
                for number in mask.into_iter().flat_map(mask_numbers) {
                    if let Some(column) = wanted.get(&number) {
                        let newest = found.entry((*column).to_owned()).or_insert(at);
                        *newest = (*newest).max(at);
                    }
                }
            }
            if found.len() == wanted.len() {
                break;
            }
            match value.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => target = next.to_owned(),
                None => break,
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::{mask_numbers, AuditOff, AuditedColumn, TableAudit};
    use std::collections::HashMap;

    #[test]
    fn attribute_masks_read_with_or_without_surrounding_commas() {
        // The documented example has none; older environments wrap the list in commas.
        assert_eq!(
            mask_numbers("47,45,10019").collect::<Vec<_>>(),
            [47, 45, 10019]
        );
        assert_eq!(mask_numbers(",3,7,").collect::<Vec<_>>(), [3, 7]);
        assert_eq!(mask_numbers("").count(), 0);
    }

    #[test]
    fn the_first_switch_that_is_off_is_named() {
        let column = |enabled, number| AuditedColumn { enabled, number };
        let mut audit = TableAudit {
            logical_name: "incident".into(),
            organization: true,
            table: true,
            columns: HashMap::from([
                ("title".to_owned(), column(true, Some(3))),
                ("description".to_owned(), column(false, Some(4))),
                ("odd".to_owned(), column(true, None)),
            ]),
        };
        assert_eq!(audit.off("title"), None);
        assert_eq!(audit.off("description"), Some(AuditOff::Column));
        assert_eq!(audit.off("odd"), Some(AuditOff::Column));
        assert_eq!(audit.off("missing"), Some(AuditOff::Column));
        audit.table = false;
        assert_eq!(audit.off("title"), Some(AuditOff::Table));
        audit.organization = false;
        assert_eq!(audit.off("title"), Some(AuditOff::Organization));
    }
}
