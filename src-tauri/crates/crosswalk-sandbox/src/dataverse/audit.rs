//! Dataverse auditing, as Microsoft Learn documents it ("Configure auditing", "Retrieve the
//! history of audited data changes", the `audit` table reference, and the admin guide "Manage
//! Dataverse auditing"): the organization's `isauditenabled`, `IsAuditEnabled` on tables and
//! columns (a `BooleanManagedProperty`), an audit row for every create and every update that
//! changes an audited column, the read-only `audits` entity set (needs `prvReadAuditSummary`),
//! and the `RetrieveRecordChangeHistory` function (needs `prvReadRecordAuditHistory` and
//! `prvReadAuditSummary`).
//!
//! Documented quirks kept on purpose: the Web API's `audit` EntityType has no `changedata`
//! column, so `audits` says which columns changed only through `attributemask` (a CSV of the
//! columns' `ColumnNumber`), and the `AuditDetail` values the function returns carry no
//! `AuditRecord`, so they say what changed but not when.

use super::query::{self, Expr, OrderBy};
use super::{
    bad_request, encode_query_value, error, json_response, percent_decode, percent_encode,
    segment_not_found, AttributeMeta, Ctx, DataverseState, Row, TableMeta,
};
use crate::generator::dataverse::iso;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Needed to read the `audit` table ("Retrieve the history of audited data changes").
pub const READ_AUDIT_SUMMARY: &str = "prvReadAuditSummary";
/// Needed, with [`READ_AUDIT_SUMMARY`], by the change-history messages.
pub const READ_RECORD_AUDIT_HISTORY: &str = "prvReadRecordAuditHistory";

/// `audit.operation` values.
pub const OPERATION_CREATE: i32 = 1;
pub const OPERATION_UPDATE: i32 = 2;

/// `audit.action` values used by the sandbox's writes ("Audit actions").
pub const ACTION_CREATE: i32 = 1;
pub const ACTION_UPDATE: i32 = 2;
pub const ACTION_CLOSE: i32 = 16;
pub const ACTION_QUALIFY: i32 = 24;
pub const ACTION_WIN: i32 = 44;
pub const ACTION_LOSE: i32 = 45;

/// Tables whose "Audit changes to its data" is on in a fresh environment: the admin guide's
/// list of core tables audited by default, limited to the tables the sandbox has [UNSURE that
/// every environment ships these on; change them with `set_table_auditing`].
const AUDITED_BY_DEFAULT: [&str; 7] = [
    "account",
    "contact",
    "lead",
    "opportunity",
    "incident",
    "systemuser",
    "organization",
];

/// Tables that cannot be audited (`CanModifyAuditSettings` false; admin guide's list).
const NEVER_AUDITED: [&str; 4] = [
    "annotation",
    "activitypointer",
    "incidentresolution",
    "opportunityclose",
];

/// Columns the platform stamps on every write: no audit detail is written for them.
const STAMPS: [&str; 5] = [
    "createdon",
    "modifiedon",
    "createdby",
    "modifiedby",
    "versionnumber",
];

/// Properties of the Web API `audit` EntityType (no `changedata`: not valid for read there).
const AUDIT_PROPERTIES: [&str; 12] = [
    "operation",
    "attributemask",
    "action",
    "useradditionalinfo",
    "createdon",
    "objecttypecode",
    "_callinguserid_value",
    "_regardingobjectid_value",
    "_objectid_value",
    "_userid_value",
    "transactionid",
    "auditid",
];

const FORMATTED: &str = "OData.Community.Display.V1.FormattedValue";
const LOOKUP_NAME: &str = "Microsoft.Dynamics.CRM.lookuplogicalname";

/// One row of the `audit` table.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub audit_id: String,
    /// The audited row's table (`objecttypecode`) and id (`objectid`).
    pub table: String,
    pub object_id: String,
    pub operation: i32,
    pub action: i32,
    pub created_on: OffsetDateTime,
    /// Who made the change (`userid`) and their name.
    pub user_id: String,
    pub user_name: String,
    pub transaction_id: String,
    /// The audited columns the change touched (logical names), in the table's column order.
    pub columns: Vec<String>,
    /// Their values before and after, keyed as the Web API reads them (`_x_value` for lookups).
    pub old_values: Map<String, Value>,
    pub new_values: Map<String, Value>,
}

/// The audit switches below the organization's (which is `organization.isauditenabled`) and
/// the audit history.
#[derive(Debug, Default)]
pub struct Auditing {
    /// Tables whose setting differs from the fresh-environment default.
    tables: BTreeMap<String, bool>,
    /// Columns whose setting differs from the default (on, except the stamps).
    columns: BTreeMap<(String, String), bool>,
    /// Every audit row, oldest first.
    pub records: Vec<AuditRecord>,
}

/// `AttributeMetadata.ColumnNumber`: the column's position, custom columns from 10000 (as in the
/// documented `attributemask` values) [UNSURE of the real numbering; clients read it].
pub fn column_number(table: &TableMeta, attribute: &AttributeMeta) -> i64 {
    let position = table
        .attributes
        .iter()
        .position(|a| a.logical_name == attribute.logical_name)
        .unwrap_or(0) as i64;
    if attribute.is_custom {
        10_000 + position
    } else {
        position + 1
    }
}

fn managed(value: bool, can_be_changed: bool) -> Value {
    json!({
        "Value": value,
        "CanBeChanged": can_be_changed,
        "ManagedPropertyLogicalName": "canmodifyauditsettings",
    })
}

impl DataverseState {
    /// `organization.isauditenabled`: off in a fresh environment ("Auditing is disabled by
    /// default in each Dataverse environment", Microsoft Learn training "Auditing").
    pub fn organization_auditing(&self) -> bool {
        self.row("organization", &self.organization_id)
            .and_then(|row| row.values.get("isauditenabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Starts or stops auditing for the environment (admin center › Audit settings).
    pub fn set_organization_auditing(&mut self, on: bool) {
        let id = self.organization_id.clone();
        let version = self.next_version();
        if let Some(row) = self
            .rows
            .get_mut("organization")
            .and_then(|t| t.get_mut(&id))
        {
            row.values.insert("isauditenabled".into(), json!(on));
            row.version = version;
            row.values
                .insert("versionnumber".into(), Value::from(version));
        }
    }

    /// The table's `IsAuditEnabled.Value`.
    pub fn table_auditing(&self, table: &str) -> bool {
        if NEVER_AUDITED.contains(&table) {
            return false;
        }
        self.auditing
            .tables
            .get(table)
            .copied()
            .unwrap_or(AUDITED_BY_DEFAULT.contains(&table))
    }

    /// Sets "Audit changes to its data" on a table (ignored for tables that cannot be audited).
    pub fn set_table_auditing(&mut self, table: &str, on: bool) {
        self.auditing.tables.insert(table.to_owned(), on);
    }

    /// The column's `IsAuditEnabled.Value`: on for every column but the platform's stamps.
    pub fn column_auditing(&self, table: &str, column: &str) -> bool {
        if STAMPS.contains(&column) {
            return false;
        }
        self.auditing
            .columns
            .get(&(table.to_owned(), column.to_owned()))
            .copied()
            .unwrap_or(true)
    }

    /// Sets "Enable auditing" on a column.
    pub fn set_column_auditing(&mut self, table: &str, column: &str, on: bool) {
        self.auditing
            .columns
            .insert((table.to_owned(), column.to_owned()), on);
    }

    /// The audit rows of one record, oldest first.
    pub fn audit_records(&self, table: &str, id: &str) -> Vec<&AuditRecord> {
        let id = id.to_ascii_lowercase();
        self.auditing
            .records
            .iter()
            .filter(|r| r.table == table && r.object_id == id)
            .collect()
    }

    /// `IsAuditEnabled` of a table as metadata shows it.
    pub(crate) fn table_audit_property(&self, table: &str) -> Value {
        managed(self.table_auditing(table), !NEVER_AUDITED.contains(&table))
    }

    /// `IsAuditEnabled` of a column as metadata shows it.
    pub(crate) fn column_audit_property(&self, table: &str, column: &str) -> Value {
        managed(
            self.column_auditing(table, column),
            !STAMPS.contains(&column),
        )
    }

    /// Writes the audit row of a create (`before` is `None`) or an update of `after`, made by
    /// `ctx`'s user through `action`, when the environment and the table are audited. An
    /// update writes a row only when an audited column's value changed ("Audit logs for updates
    /// are created when a new value is different from the old value of a column").
    pub(crate) fn audit_write(
        &mut self,
        ctx: &Ctx,
        meta: &TableMeta,
        before: Option<&Row>,
        after: &Row,
        action: i32,
    ) {
        if !self.organization_auditing() || !self.table_auditing(&meta.logical_name) {
            return;
        }
        let mut columns = Vec::new();
        let mut old_values = Map::new();
        let mut new_values = Map::new();
        if let Some(before) = before {
            for attribute in &meta.attributes {
                let name = &attribute.logical_name;
                if name == &meta.primary_id_attribute
                    || !self.column_auditing(&meta.logical_name, name)
                {
                    continue;
                }
                let (old, new) = (read_value(attribute, before), read_value(attribute, after));
                if old == new {
                    continue;
                }
                columns.push(name.clone());
                put(&mut old_values, attribute, old);
                put(&mut new_values, attribute, new);
            }
            if columns.is_empty() {
                return;
            }
        }
        let (operation, action) = match before {
            None => (OPERATION_CREATE, ACTION_CREATE),
            Some(_) => (OPERATION_UPDATE, action),
        };
        self.auditing.records.push(AuditRecord {
            audit_id: super::records::new_id(),
            table: meta.logical_name.clone(),
            object_id: after.id.clone(),
            operation,
            action,
            created_on: ctx.now,
            user_id: ctx.user.systemuser_id.clone(),
            user_name: ctx.user.name.clone(),
            transaction_id: super::records::new_id(),
            columns,
            old_values,
            new_values,
        });
    }
}

/// A column's value as the Web API reads it: `(key, value, lookup table and name)`.
fn read_value(attribute: &AttributeMeta, row: &Row) -> (Value, Option<(String, String)>) {
    if attribute.attribute_type.is_lookup() {
        match row.lookups.get(&attribute.logical_name) {
            Some(lookup) => (
                json!(lookup.id),
                Some((lookup.logical_name.clone(), lookup.name.clone())),
            ),
            None => (Value::Null, None),
        }
    } else {
        (
            row.values
                .get(&attribute.logical_name)
                .cloned()
                .unwrap_or(Value::Null),
            None,
        )
    }
}

/// Puts a column's value into an `OldValue`/`NewValue` entity; lookups with the annotations the
/// documented example shows.
fn put(
    entity: &mut Map<String, Value>,
    attribute: &AttributeMeta,
    (value, lookup): (Value, Option<(String, String)>),
) {
    if !attribute.attribute_type.is_lookup() {
        entity.insert(attribute.logical_name.clone(), value);
        return;
    }
    let key = format!("_{}_value", attribute.logical_name);
    if let Some((table, name)) = lookup {
        entity.insert(format!("{key}@{FORMATTED}"), json!(name));
        entity.insert(
            format!("{key}@Microsoft.Dynamics.CRM.associatednavigationproperty"),
            json!(super::records::nav_property(attribute, &table)),
        );
        entity.insert(format!("{key}@{LOOKUP_NAME}"), json!(table));
    }
    entity.insert(key, value);
}

fn operation_label(operation: i32) -> &'static str {
    match operation {
        1 => "Create",
        2 => "Update",
        3 => "Delete",
        _ => "Access",
    }
}

fn action_label(action: i32) -> &'static str {
    match action {
        1 => "Create",
        2 => "Update",
        3 => "Delete",
        16 => "Close",
        24 => "Qualify",
        41 => "Set State",
        44 => "Win",
        45 => "Lose",
        _ => "Unknown",
    }
}

/// Every property of an audit row, as `GET audits` returns it before `$select`.
fn audit_json(dv: &DataverseState, record: &AuditRecord) -> Map<String, Value> {
    let mask = record
        .columns
        .iter()
        .filter_map(|name| {
            let table = dv.table(&record.table)?;
            Some(column_number(table, table.attribute(name)?).to_string())
        })
        .collect::<Vec<_>>()
        .join(",");
    let v = json!({
        "auditid": record.audit_id,
        "operation": record.operation,
        "action": record.action,
        "attributemask": if mask.is_empty() { Value::Null } else { json!(mask) },
        "useradditionalinfo": null,
        "createdon": iso(record.created_on),
        "objecttypecode": record.table,
        "_callinguserid_value": null,
        "_regardingobjectid_value": null,
        "_objectid_value": record.object_id,
        "_userid_value": record.user_id,
        "transactionid": record.transaction_id,
    });
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Adds the formatted values and lookup table names (never `associatednavigationproperty`, which
/// the docs say audit lookups lack) to an audit row that keeps only `selected` properties.
fn annotate(dv: &DataverseState, record: &AuditRecord, out: &mut Map<String, Value>, ctx: &Ctx) {
    let formatted = ctx.prefer.wants(FORMATTED);
    let lookup_name = ctx.prefer.wants(LOOKUP_NAME);
    let mut add = |key: &str, annotation: &str, value: Value| {
        if out.contains_key(key) {
            out.insert(format!("{key}@{annotation}"), value);
        }
    };
    if formatted {
        add(
            "operation",
            FORMATTED,
            json!(operation_label(record.operation)),
        );
        add("action", FORMATTED, json!(action_label(record.action)));
        let display = dv
            .table(&record.table)
            .map_or(record.table.clone(), |t| t.display_name.clone());
        add("objecttypecode", FORMATTED, json!(display));
        let at = record.created_on;
        add(
            "createdon",
            FORMATTED,
            json!(format!(
                "{}/{}/{} {}:{:02} {}",
                u8::from(at.month()),
                at.day(),
                at.year(),
                (at.hour() + 11) % 12 + 1,
                at.minute(),
                if at.hour() < 12 { "AM" } else { "PM" }
            )),
        );
        add("_userid_value", FORMATTED, json!(record.user_name));
    }
    if lookup_name {
        add("_objectid_value", LOOKUP_NAME, json!(record.table));
        add("_userid_value", LOOKUP_NAME, json!("systemuser"));
    }
}

fn not_an_audit_property(name: &str) -> Response {
    bad_request(format!(
        "Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.audit'."
    ))
}

fn check_property(name: &str) -> Result<(), Response> {
    if AUDIT_PROPERTIES.contains(&name) {
        Ok(())
    } else {
        Err(not_an_audit_property(name))
    }
}

/// `GET audits` and `GET audits(<id>)`; the table is read-only.
pub(crate) fn audits(
    dv: &mut DataverseState,
    ctx: &Ctx,
    key: Option<&str>,
    rest: &[String],
) -> Response {
    if let Some(segment) = rest.first() {
        return segment_not_found(segment);
    }
    if ctx.method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "0x80040800",
            "The audit table is read-only.",
        );
    }
    if let Err(refused) = ctx.require_misc(READ_AUDIT_SUMMARY) {
        return refused;
    }
    let result = match key {
        Some(key) => one(dv, ctx, key),
        None => list(dv, ctx),
    };
    result.unwrap_or_else(|response| response)
}

fn parse_select(ctx: &Ctx) -> Result<Option<Vec<String>>, Response> {
    let Some(select) = ctx.option("$select") else {
        return Ok(None);
    };
    let names: Vec<String> = select.split(',').map(|s| s.trim().to_owned()).collect();
    for name in &names {
        check_property(name)?;
    }
    Ok(Some(names))
}

fn selected(
    dv: &DataverseState,
    ctx: &Ctx,
    record: &AuditRecord,
    select: Option<&[String]>,
) -> Map<String, Value> {
    let mut out = audit_json(dv, record);
    if let Some(select) = select {
        // The key is always returned, as for every entity set.
        out.retain(|k, _| k == "auditid" || select.iter().any(|s| s == k));
    }
    annotate(dv, record, &mut out, ctx);
    out
}

fn context_url(dv: &DataverseState, select: Option<&[String]>, suffix: &str) -> String {
    let columns = select
        .map(|s| format!("({})", s.join(",")))
        .unwrap_or_default();
    format!("{}/$metadata#audits{columns}{suffix}", dv.api_base())
}

fn one(dv: &DataverseState, ctx: &Ctx, key: &str) -> Result<Response, Response> {
    let id = key.trim().trim_matches(['{', '}']).to_ascii_lowercase();
    let select = parse_select(ctx)?;
    let record = dv
        .auditing
        .records
        .iter()
        .find(|r| r.audit_id == id)
        .ok_or_else(|| super::row_not_found("audit", &id))?;
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context_url(dv, select.as_deref(), "/$entity")),
    );
    body.extend(selected(dv, ctx, record, select.as_deref()));
    Ok(json_response(StatusCode::OK, &Value::Object(body), &[]))
}

fn list(dv: &DataverseState, ctx: &Ctx) -> Result<Response, Response> {
    if ctx.option("$skip").is_some() {
        return Err(bad_request("The query parameter $skip is not supported."));
    }
    let select = parse_select(ctx)?;
    let filter: Option<Expr> = ctx
        .option("$filter")
        .map(query::parse_filter)
        .transpose()
        .map_err(bad_request)?;
    if let Some(expr) = &filter {
        let mut names = Vec::new();
        query::properties(expr, &mut names);
        for name in &names {
            check_property(name)?;
        }
    }
    let orderby: Vec<OrderBy> = ctx
        .option("$orderby")
        .map(query::parse_orderby)
        .transpose()
        .map_err(bad_request)?
        .unwrap_or_default();
    for key in &orderby {
        check_property(&key.property)?;
    }
    // (position in the history, row, its properties): rows of the same second keep the order
    // they were written in.
    let mut rows: Vec<(usize, &AuditRecord, Map<String, Value>)> = dv
        .auditing
        .records
        .iter()
        .enumerate()
        .map(|(position, r)| (position, r, audit_json(dv, r)))
        .filter(|(_, _, full)| {
            filter.as_ref().is_none_or(|f| {
                query::evaluate(f, &|p| full.get(p).cloned().unwrap_or(Value::Null))
            })
        })
        .collect();
    let descending = orderby.first().is_some_and(|k| k.descending);
    rows.sort_by(|(position_a, _, full_a), (position_b, _, full_b)| {
        for key in &orderby {
            let get = |m: &Map<String, Value>| m.get(&key.property).cloned().unwrap_or_default();
            let ordering = query::compare_values(&get(full_a), &get(full_b));
            let ordering = if key.descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        let ordering = position_a.cmp(position_b);
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    let (page_size, size_applied) = ctx.prefer.page_size();
    if let (Some(top), false) = (ctx.option("$top"), size_applied) {
        let top: usize = top.parse().map_err(|_| {
            bad_request(format!(
                "Invalid value '{top}' for $top query option found."
            ))
        })?;
        rows.truncate(top);
    }
    let start = match ctx.option("$skiptoken") {
        None => 0,
        Some(token) => {
            let cookie = super::records::parse_skiptoken(token)?;
            cookie
                .last
                .and_then(|last| rows.iter().position(|(_, r, _)| r.audit_id == last))
                .map(|p| p + 1)
                .unwrap_or((cookie.page - 1) * page_size)
        }
    };
    let total = rows.len();
    let page: Vec<&AuditRecord> = rows
        .iter()
        .skip(start)
        .take(page_size)
        .map(|(_, r, _)| *r)
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context_url(dv, select.as_deref(), "")),
    );
    if ctx.prefer.annotations.is_some() {
        body.insert("@Microsoft.Dynamics.CRM.totalrecordcount".into(), json!(-1));
        body.insert(
            "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded".into(),
            json!(false),
        );
    }
    body.insert(
        "value".into(),
        Value::Array(
            page.iter()
                .map(|r| Value::Object(selected(dv, ctx, r, select.as_deref())))
                .collect(),
        ),
    );
    if start + page.len() < total {
        if let (Some(first), Some(last)) = (page.first(), page.last()) {
            let token = super::records::skiptoken(
                "auditid",
                start / page_size + 2,
                &last.audit_id,
                &first.audit_id,
                None,
            );
            let mut parts: Vec<String> = ctx
                .query
                .iter()
                .filter(|(k, _)| k != "$skiptoken")
                .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
                .collect();
            parts.push(format!("$skiptoken={}", percent_encode(&token)));
            body.insert(
                "@odata.nextLink".into(),
                json!(format!("{}/audits?{}", dv.api_base(), parts.join("&"))),
            );
        }
    }
    let mut applied = Vec::new();
    if size_applied {
        applied.push(format!("odata.maxpagesize={page_size}"));
    }
    if let Some(annotations) = &ctx.prefer.annotations {
        applied.push(format!("odata.include-annotations=\"{annotations}\""));
    }
    let headers: Vec<(&str, String)> = if applied.is_empty() {
        Vec::new()
    } else {
        vec![("preference-applied", applied.join(","))]
    };
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(body),
        &headers,
    ))
}

/// The value of a function parameter: inline, or a `@alias` resolved from the query string.
fn parameter(ctx: &Ctx, parameters: &str, name: &str) -> Option<String> {
    let raw = super::metadata::split_top(parameters)
        .into_iter()
        .find_map(|item| {
            let (key, value) = item.split_once('=')?;
            (key.trim() == name).then(|| value.trim())
        })?;
    match raw.strip_prefix('@') {
        Some(_) => ctx.option(raw).map(str::to_owned),
        None => Some(percent_decode(raw)),
    }
}

/// `{'@odata.id':'accounts(<id>)'}` (the documented form uses single quotes) → the URL's last
/// segment.
fn odata_id(target: &str) -> Option<String> {
    let after = &target[target.find("@odata.id")? + "@odata.id".len()..];
    let after = after.trim_start_matches(['\'', '"']).trim_start();
    let after = after.strip_prefix(':')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let value = &after[1..];
    let end = value.find(quote)?;
    Some(value[..end].rsplit('/').next()?.to_owned())
}

/// `GET RetrieveRecordChangeHistory(Target=@target,PagingInfo=@paginginfo)`: the record's
/// audited changes, newest first, as `AttributeAuditDetail` values without `AuditRecord` (the
/// Web API omits it: "no data about who made the change and when it was made is available"),
/// paged by `PagingInfo` (`PageNumber`, `Count`, `ReturnTotalRecordCount`).
pub(crate) fn retrieve_record_change_history(
    dv: &mut DataverseState,
    ctx: &Ctx,
    parameters: Option<&str>,
) -> Response {
    let result = (|| {
        if ctx.method != Method::GET {
            return Err(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "0x80060888",
                "RetrieveRecordChangeHistory is a function; use GET.",
            ));
        }
        let parameters = parameters.unwrap_or("");
        let target = parameter(ctx, parameters, "Target").ok_or_else(|| {
            bad_request(
                "Request message has unresolved parameters. The parameter 'Target' is missing.",
            )
        })?;
        let segment = odata_id(&target)
            .ok_or_else(|| bad_request("The Target parameter needs an '@odata.id'."))?;
        let (set, key) = super::split_key(&segment);
        let meta = dv
            .table_by_set(&set)
            .cloned()
            .ok_or_else(|| segment_not_found(&set))?;
        let id = key
            .map(|k| k.trim_matches(['{', '}', '\'']).to_ascii_lowercase())
            .filter(|k| super::records::is_guid(k))
            .ok_or_else(|| bad_request(format!("'{segment}' is not a valid record reference.")))?;
        ctx.require_misc(READ_RECORD_AUDIT_HISTORY)?;
        ctx.require_misc(READ_AUDIT_SUMMARY)?;
        ctx.require(dv, &meta.logical_name, super::Privilege::Read)?;
        let paging: Value = match parameter(ctx, parameters, "PagingInfo") {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| bad_request(format!("The PagingInfo parameter is not valid: {e}.")))?,
            None => json!({}),
        };
        let page_number = paging["PageNumber"].as_u64().unwrap_or(1).max(1) as usize;
        let count = paging["Count"]
            .as_u64()
            .filter(|c| (1..=5000).contains(c))
            .unwrap_or(5000) as usize;
        let mut history: Vec<&AuditRecord> = dv.audit_records(&meta.logical_name, &id);
        history.reverse();
        let total = history.len();
        let start = (page_number - 1) * count;
        let details: Vec<Value> = history
            .iter()
            .skip(start)
            .take(count)
            .map(|record| {
                let entity = |values: &Map<String, Value>| {
                    let mut out = Map::new();
                    out.insert(
                        "@odata.type".into(),
                        json!(format!("#Microsoft.Dynamics.CRM.{}", record.table)),
                    );
                    out.extend(values.clone());
                    Value::Object(out)
                };
                json!({
                    "@odata.type": "#Microsoft.Dynamics.CRM.AttributeAuditDetail",
                    "InvalidNewValueAttributes": [],
                    "LocLabelLanguageCode": 0,
                    "DeletedAttributes": {"Count": 0, "Keys": [], "Values": []},
                    "OldValue": entity(&record.old_values),
                    "NewValue": entity(&record.new_values),
                })
            })
            .collect();
        let more = start + details.len() < total;
        let cookie = format!(
            "<cookie page=\"{page_number}\"><cookieExtensions ContinuationToken=\"{{&quot;pageNumber&quot;:{}}}\" /></cookie>",
            page_number + 1
        );
        let total_count = if paging["ReturnTotalRecordCount"] == json!(true) {
            json!(total)
        } else {
            json!(-1)
        };
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.RetrieveRecordChangeHistoryResponse", dv.api_base()),
                "AuditDetailCollection": {
                    "MoreRecords": more,
                    "PagingCookie": if more { json!(cookie) } else { Value::Null },
                    "TotalRecordCount": total_count,
                    "AuditDetails": details,
                },
            }),
            &[],
        ))
    })();
    result.unwrap_or_else(|response| response)
}

#[cfg(test)]
mod tests {
    use super::odata_id;

    #[test]
    fn the_target_reference_reads_in_the_documented_single_quoted_form() {
        let id = "611e7713-68d7-4622-b552-85060af450bc";
        assert_eq!(
            odata_id(&format!("{{ '@odata.id':'accounts({id})'}}")),
            Some(format!("accounts({id})"))
        );
        assert_eq!(
            odata_id(&format!(
                "{{\"@odata.id\":\"https://org/api/data/v9.2/incidents({id})\"}}"
            )),
            Some(format!("incidents({id})"))
        );
        assert_eq!(odata_id("{'id':'x'}"), None);
    }
}
