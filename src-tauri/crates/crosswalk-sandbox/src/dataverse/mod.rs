//! Dataverse Web API v9.2 (api/microsoft.md §F), as documented: bearer tokens for the org URL,
//! application users with security roles, EntityDefinitions metadata, records CRUD with ETags
//! and upserts, OData query options, formatted-value and lookup annotations on request, paging
//! with XML paging cookies, change tracking, notes with attachments (single request and block
//! upload/download), `WhoAmI`, the state-change actions (`CloseIncident`, `WinOpportunity`,
//! `LoseOpportunity`, bound `QualifyLead`), auditing (`audits`, `RetrieveRecordChangeHistory`,
//! `IsAuditEnabled` on tables and columns), service protection limits, and the
//! `{"error":{"code":"0x...","message":"..."}}` error body everywhere.
//!
//! Everything lives behind one router fallback that parses OData URLs itself
//! (`incidents(<guid>)`, `EntityDefinitions(LogicalName='incident')/Attributes/...`).
//! Behaviours the notes mark [UNSURE] are switches on [`DataverseState`].

// Handlers return `Result<_, Response>`: the error is the HTTP answer itself, built once per request.
#![allow(clippy::result_large_err)]

mod actions;
mod audit;
mod metadata;
mod mutate;
pub mod query;
mod records;
#[cfg(test)]
mod tests;

pub use crate::generator::dataverse::{
    AttributeMeta, AttributeType, DataverseSeed, LookupValue, OptionMeta, TableMeta,
};
pub use audit::{AuditRecord, Auditing, READ_AUDIT_SUMMARY, READ_RECORD_AUDIT_HISTORY};

use crate::identity::AuthFailure;
use crate::world::{lock, World};
use crate::SandboxUrls;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use time::OffsetDateTime;

/// The path every Web API request starts with.
pub const API_PATH: &str = "/api/data/v9.2";
/// The highest `organization.maxuploadfilesize` an admin can set (§F.8: 131,072,000).
pub const MAX_UPLOAD_FILE_SIZE_LIMIT: u64 = 131_072_000;
/// Largest request body accepted (the maximum `maxuploadfilesize` is 131,072,000 base64 characters).
const MAX_BODY_BYTES: usize = 300 * 1024 * 1024;

/// A security-role privilege on a table (`prv<Privilege><table>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    Create,
    Read,
    Write,
    Delete,
    Append,
    AppendTo,
    Assign,
    Share,
}

impl Privilege {
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Create => "Create",
            Privilege::Read => "Read",
            Privilege::Write => "Write",
            Privilege::Delete => "Delete",
            Privilege::Append => "Append",
            Privilege::AppendTo => "AppendTo",
            Privilege::Assign => "Assign",
            Privilege::Share => "Share",
        }
    }

    /// Create, Read, Write, Delete, Append, AppendTo.
    pub const ALL_DATA: [Privilege; 6] = [
        Privilege::Create,
        Privilege::Read,
        Privilege::Write,
        Privilege::Delete,
        Privilege::Append,
        Privilege::AppendTo,
    ];
}

/// An application user: an Entra app registered inside the environment, with its role.
#[derive(Debug, Clone)]
pub struct ApplicationUser {
    /// The Entra application (client) ID.
    pub app_id: String,
    /// Its `systemuserid` (what `WhoAmI` answers as `UserId`).
    pub systemuser_id: String,
    pub name: String,
    /// Privileges per table logical name (organization depth).
    pub privileges: BTreeMap<String, BTreeSet<Privilege>>,
    /// Privileges on no table ("miscellaneous privileges"), by name (`prvReadAuditSummary`).
    pub misc: BTreeSet<String>,
}

impl ApplicationUser {
    fn has(&self, table: &str, privilege: Privilege) -> bool {
        self.privileges
            .get(table)
            .is_some_and(|set| set.contains(&privilege))
    }

    fn privilege_count(&self) -> usize {
        self.privileges.values().map(BTreeSet::len).sum::<usize>() + self.misc.len()
    }
}

/// One stored row.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    /// Row version (`versionnumber`, the ETag and the change-tracking stamp).
    pub version: u64,
    pub values: BTreeMap<String, Value>,
    pub lookups: BTreeMap<String, LookupValue>,
}

/// A deleted row, remembered for change tracking.
#[derive(Debug, Clone)]
pub struct Tombstone {
    pub table: String,
    pub id: String,
    pub version: u64,
}

/// Service protection limits (api/microsoft.md §F.12), per application user, over a sliding window.
#[derive(Debug, Clone)]
pub struct ServiceProtection {
    /// Requests per window (6000); enforced once exceeded.
    pub max_requests: u32,
    /// Combined execution time per window in ms (1,200,000); enforced once exceeded.
    pub max_execution_ms: u64,
    /// Simulated execution time each request adds (tests raise it to reach the limit quickly).
    pub execution_ms_per_request: u64,
    /// Concurrent requests (52); trips immediately.
    pub max_concurrent: u32,
    pub window_secs: i64,
    /// First Retry-After; it grows by one second per throttled request in the window.
    pub retry_after_secs: u64,
}

impl Default for ServiceProtection {
    fn default() -> ServiceProtection {
        ServiceProtection {
            max_requests: 6000,
            max_execution_ms: 1_200_000,
            execution_ms_per_request: 0,
            max_concurrent: 52,
            window_secs: 300,
            retry_after_secs: 5,
        }
    }
}

#[derive(Debug, Default)]
struct Usage {
    /// (time, execution ms) of requests in the window.
    history: VecDeque<(OffsetDateTime, u64)>,
    throttled: VecDeque<OffsetDateTime>,
    in_flight: u32,
}

/// An unfinished block upload.
#[derive(Debug, Clone)]
struct Upload {
    target: Map<String, Value>,
    blocks: HashMap<String, Vec<u8>>,
    block_id_len: Option<usize>,
}

/// The Dataverse environment's state.
#[derive(Debug)]
pub struct DataverseState {
    /// The organization URL without a trailing slash (the token resource).
    pub org_url: String,
    /// The sign-in authority (for `WWW-Authenticate`).
    pub login_url: String,
    pub tables: Vec<TableMeta>,
    /// Rows per table logical name, by id.
    pub rows: BTreeMap<String, BTreeMap<String, Row>>,
    pub tombstones: Vec<Tombstone>,
    /// Application users by app id (lower case).
    pub application_users: BTreeMap<String, ApplicationUser>,
    /// Apps the environment blocks (403 `0x80095ffc`) even with an application user.
    pub restricted_apps: BTreeSet<String>,
    pub organization_id: String,
    pub business_unit_id: String,
    pub limits: ServiceProtection,
    /// 412 code on an ETag mismatch: the docs show "", live systems send `0x80060882` [UNSURE].
    pub concurrency_error_code: String,
    /// Whether a note with a `documentbody` becomes `isdocument=true` by itself [UNSURE].
    pub auto_isdocument: bool,
    /// Whether a choice using a global option set also fills `OptionSet` [UNSURE]; else only `GlobalOptionSet`.
    pub global_options_in_option_set: bool,
    /// Reject requests without `OData-Version: 4.0` [UNSURE; the real service seems lenient].
    pub require_odata_version: bool,
    /// Largest `UploadBlock` block in bytes (the docs advise ≤ 4 MB) [UNSURE that it is enforced].
    pub max_block_bytes: usize,
    /// HTTP status of the expired change-tracking token error (400) [UNSURE].
    pub expired_token_status: u16,
    /// Table and column audit switches and the audit history (`audit` module).
    pub auditing: Auditing,
    version: u64,
    usage: HashMap<String, Usage>,
    uploads: HashMap<String, Upload>,
    downloads: HashMap<String, Vec<u8>>,
}

fn trimmed(url: &url::Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

impl DataverseState {
    /// State over a generated environment.
    pub fn new(seed: DataverseSeed, urls: &SandboxUrls) -> DataverseState {
        let mut rows: BTreeMap<String, BTreeMap<String, Row>> = seed
            .tables
            .iter()
            .map(|t| (t.logical_name.clone(), BTreeMap::new()))
            .collect();
        let mut version = 1_000_000u64;
        let mut records = seed.records;
        // Versions follow modification time, as in a real org.
        records.sort_by(|a, b| {
            let key = |r: &crate::generator::dataverse::RecordSeed| {
                r.values
                    .get("modifiedon")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
        });
        for record in records {
            version += 1 + (version % 7);
            let mut values = record.values;
            values.insert("versionnumber".into(), Value::from(version));
            rows.entry(record.table).or_default().insert(
                record.id.clone(),
                Row {
                    id: record.id,
                    version,
                    values,
                    lookups: record.lookups,
                },
            );
        }
        let mut privileges = BTreeMap::new();
        for table in [
            "incident",
            "task",
            "lead",
            "opportunity",
            "cw_asset",
            "annotation",
        ] {
            privileges.insert(table.to_owned(), Privilege::ALL_DATA.into_iter().collect());
        }
        for table in ["account", "contact", "systemuser", "organization"] {
            privileges.insert(
                table.to_owned(),
                BTreeSet::from([Privilege::Read, Privilege::AppendTo]),
            );
        }
        privileges.insert(
            "incidentresolution".into(),
            BTreeSet::from([Privilege::Create, Privilege::Read, Privilege::Append]),
        );
        let app_id = crate::identity::CLIENT_ID.to_ascii_lowercase();
        let mut application_users = BTreeMap::new();
        application_users.insert(
            app_id.clone(),
            ApplicationUser {
                app_id,
                systemuser_id: seed.application_user_id.clone(),
                name: "# Crosswalk Sync".into(),
                privileges,
                // The connector's role lets "most recent wins" read the audit history.
                misc: [READ_AUDIT_SUMMARY, READ_RECORD_AUDIT_HISTORY]
                    .map(str::to_owned)
                    .into(),
            },
        );
        DataverseState {
            org_url: trimmed(&urls.dataverse),
            login_url: trimmed(&urls.login),
            tables: seed.tables,
            rows,
            tombstones: Vec::new(),
            application_users,
            restricted_apps: BTreeSet::new(),
            organization_id: seed.organization_id,
            business_unit_id: seed.business_unit_id,
            limits: ServiceProtection::default(),
            concurrency_error_code: "0x80060882".into(),
            auto_isdocument: true,
            global_options_in_option_set: false,
            require_odata_version: false,
            max_block_bytes: 4 * 1024 * 1024,
            expired_token_status: 400,
            auditing: Auditing::default(),
            version,
            usage: HashMap::new(),
            uploads: HashMap::new(),
            downloads: HashMap::new(),
        }
    }

    /// The table with this logical name.
    pub fn table(&self, logical_name: &str) -> Option<&TableMeta> {
        self.tables.iter().find(|t| t.logical_name == logical_name)
    }

    /// The table with this logical name, to change (e.g. `change_tracking_enabled`).
    pub fn table_mut(&mut self, logical_name: &str) -> Option<&mut TableMeta> {
        self.tables
            .iter_mut()
            .find(|t| t.logical_name == logical_name)
    }

    /// The table behind an entity set name (`incidents`).
    pub fn table_by_set(&self, entity_set: &str) -> Option<&TableMeta> {
        self.tables.iter().find(|t| t.entity_set_name == entity_set)
    }

    /// A row by table and id.
    pub fn row(&self, table: &str, id: &str) -> Option<&Row> {
        self.rows.get(table)?.get(&id.to_ascii_lowercase())
    }

    /// Every row of a table.
    pub fn rows_of(&self, table: &str) -> impl Iterator<Item = &Row> {
        self.rows.get(table).into_iter().flat_map(BTreeMap::values)
    }

    /// `organization.maxuploadfilesize` (bytes of base64).
    pub fn max_upload_file_size(&self) -> u64 {
        self.org_value("maxuploadfilesize").unwrap_or(5_242_880)
    }

    /// Sets `organization.maxuploadfilesize`.
    pub fn set_max_upload_file_size(&mut self, bytes: u64) {
        self.set_org_value("maxuploadfilesize", bytes);
    }

    /// `organization.expirechangetrackingindays`.
    pub fn expire_change_tracking_days(&self) -> u64 {
        self.org_value("expirechangetrackingindays").unwrap_or(90)
    }

    /// Sets `organization.expirechangetrackingindays`.
    pub fn set_expire_change_tracking_days(&mut self, days: u64) {
        self.set_org_value("expirechangetrackingindays", days);
    }

    fn org_value(&self, column: &str) -> Option<u64> {
        self.row("organization", &self.organization_id)?
            .values
            .get(column)?
            .as_u64()
    }

    fn set_org_value(&mut self, column: &str, value: u64) {
        let id = self.organization_id.clone();
        let version = self.next_version();
        if let Some(row) = self
            .rows
            .get_mut("organization")
            .and_then(|t| t.get_mut(&id))
        {
            row.values.insert(column.into(), Value::from(value));
            row.version = version;
            row.values
                .insert("versionnumber".into(), Value::from(version));
        }
    }

    /// The application user of an app, to change its role.
    pub fn application_user_mut(&mut self, app_id: &str) -> Option<&mut ApplicationUser> {
        self.application_users.get_mut(&app_id.to_ascii_lowercase())
    }

    /// Removes an app's application user (its tokens then get 403 "not a member").
    pub fn remove_application_user(&mut self, app_id: &str) -> Option<ApplicationUser> {
        self.application_users.remove(&app_id.to_ascii_lowercase())
    }

    /// Takes a privilege on a table away from an app's role.
    pub fn revoke_privilege(&mut self, app_id: &str, table: &str, privilege: Privilege) {
        if let Some(user) = self.application_user_mut(app_id) {
            if let Some(set) = user.privileges.get_mut(table) {
                set.remove(&privilege);
            }
        }
    }

    /// Grants a privilege on a table to an app's role.
    pub fn grant_privilege(&mut self, app_id: &str, table: &str, privilege: Privilege) {
        if let Some(user) = self.application_user_mut(app_id) {
            user.privileges
                .entry(table.to_owned())
                .or_default()
                .insert(privilege);
        }
    }

    /// Takes a miscellaneous privilege (`prvReadAuditSummary`) away from an app's role.
    pub fn revoke_misc_privilege(&mut self, app_id: &str, name: &str) {
        if let Some(user) = self.application_user_mut(app_id) {
            user.misc.remove(name);
        }
    }

    /// Grants a miscellaneous privilege to an app's role.
    pub fn grant_misc_privilege(&mut self, app_id: &str, name: &str) {
        if let Some(user) = self.application_user_mut(app_id) {
            user.misc.insert(name.to_owned());
        }
    }

    /// The next row version.
    pub fn next_version(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    /// The current (highest) row version.
    pub fn current_version(&self) -> u64 {
        self.version
    }

    /// `{org}/api/data/v9.2`.
    pub fn api_base(&self) -> String {
        format!("{}{API_PATH}", self.org_url)
    }
}

/// Dataverse's router: one handler that parses OData paths itself.
pub fn router() -> Router<Arc<World>> {
    Router::new()
        .route("/api/data/{*rest}", any(handle))
        .fallback(handle)
}

/// What a handler knows about the request.
pub(crate) struct Ctx {
    pub method: Method,
    pub headers: HeaderMap,
    /// Decoded query options in order.
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    pub user: ApplicationUser,
    pub now: OffsetDateTime,
    pub prefer: Prefer,
}

impl Ctx {
    pub fn option(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON object body.
    pub fn json_body(&self) -> Result<Map<String, Value>, Response> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(error(
                StatusCode::BAD_REQUEST,
                "0x80040216",
                "The request body must be a JSON object.",
            )),
            Err(e) => Err(error(
                StatusCode::BAD_REQUEST,
                "0x80040216",
                format!("Error parsing the request body: {e}."),
            )),
        }
    }

    /// 403 `0x80040220` unless the caller's role has `privilege` on `table`.
    ///
    /// Dataverse shares one set of privileges (`prv*Activity`) across the built-in activity
    /// tables. The sandbox keeps them per table where a role lists the table; a built-in
    /// activity table the role does not list (`opportunityclose`) uses the shared set, held
    /// when any listed built-in activity table has the privilege, as
    /// `RetrieveUserPrivileges` reports it.
    pub fn require(
        &self,
        dv: &DataverseState,
        table: &str,
        privilege: Privilege,
    ) -> Result<(), Response> {
        if self.user.has(table, privilege) || self.shared_activity(dv, table, privilege) {
            return Ok(());
        }
        let otc = dv.table(table).map_or(0, |t| t.object_type_code);
        let privilege_id = pseudo_guid(&format!("prv{}{table}", privilege.as_str()));
        Err(error(
            StatusCode::FORBIDDEN,
            "0x80040220",
            format!(
                "Principal user (Id={user}, type=8, roleCount=1, privilegeCount={count}, accessMode=4), is missing prv{privilege}{table} privilege (Id={privilege_id}) on OTC={otc} for entity '{table}'. context.Caller={user}",
                user = self.user.systemuser_id,
                count = self.user.privilege_count(),
                privilege = privilege.as_str(),
            ),
        ))
    }

    /// 403 `0x80040220` unless the caller's role has the miscellaneous privilege `name`; the
    /// message has the principal form of §F.11 without a table [UNSURE of the exact text].
    pub fn require_misc(&self, name: &str) -> Result<(), Response> {
        if self.user.misc.contains(name) {
            return Ok(());
        }
        Err(error(
            StatusCode::FORBIDDEN,
            "0x80040220",
            format!(
                "Principal user (Id={user}, type=8, roleCount=1, privilegeCount={count}, accessMode=4), is missing {name} privilege (Id={privilege_id}). context.Caller={user}",
                user = self.user.systemuser_id,
                count = self.user.privilege_count(),
                privilege_id = pseudo_guid(name),
            ),
        ))
    }

    fn shared_activity(&self, dv: &DataverseState, table: &str, privilege: Privilege) -> bool {
        let built_in_activity = |name: &str| {
            dv.table(name)
                .is_some_and(|t| t.is_activity && !t.is_custom)
        };
        built_in_activity(table)
            && !self.user.privileges.contains_key(table)
            && self
                .user
                .privileges
                .iter()
                .any(|(name, set)| built_in_activity(name) && set.contains(&privilege))
    }
}

/// The parsed `Prefer` header(s).
#[derive(Debug, Default, Clone)]
pub(crate) struct Prefer {
    pub return_representation: bool,
    /// The `odata.include-annotations` value without quotes.
    pub annotations: Option<String>,
    pub max_page_size: Option<usize>,
    pub track_changes: bool,
}

impl Prefer {
    fn parse(headers: &HeaderMap) -> Prefer {
        let mut prefer = Prefer::default();
        for value in headers.get_all("prefer") {
            let Ok(value) = value.to_str() else { continue };
            for item in split_outside_quotes(value) {
                let item = item.trim();
                let (key, val) = match item.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                    None => (item, None),
                };
                match key {
                    "return" => prefer.return_representation = val == Some("representation"),
                    "odata.include-annotations" => prefer.annotations = val.map(str::to_owned),
                    "odata.maxpagesize" => prefer.max_page_size = val.and_then(|v| v.parse().ok()),
                    "odata.track-changes" => prefer.track_changes = true,
                    _ => {}
                }
            }
        }
        prefer
    }

    /// Whether an annotation (e.g. `OData.Community.Display.V1.FormattedValue`) was asked for.
    pub fn wants(&self, annotation: &str) -> bool {
        let Some(patterns) = &self.annotations else {
            return false;
        };
        let mut wanted = false;
        for pattern in patterns.split(',').map(str::trim) {
            let (negated, pattern) = match pattern.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, pattern),
            };
            let matches = pattern == "*"
                || pattern.eq_ignore_ascii_case(annotation)
                || pattern
                    .strip_suffix('*')
                    .is_some_and(|prefix| annotation.starts_with(prefix));
            if matches {
                if negated {
                    return false;
                }
                wanted = true;
            }
        }
        wanted
    }

    /// The page size in effect (`odata.maxpagesize` ≤ 5000, else 5000) and whether it was applied.
    pub fn page_size(&self) -> (usize, bool) {
        match self.max_page_size {
            Some(n) if (1..=5000).contains(&n) => (n, true),
            _ => (5000, false),
        }
    }
}

fn split_outside_quotes(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// A GUID-shaped string derived from a name (stable ids for privileges and metadata).
pub(crate) fn pseudo_guid(name: &str) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in name.bytes() {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    let hex = format!("{hash:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Dataverse's error body `{"error":{"code":"0x...","message":"..."}}` with this status.
pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message.into() } });
    json_response(status, &body, &[])
}

/// A JSON response with the OData headers.
pub(crate) fn json_response(
    status: StatusCode,
    body: &Value,
    headers: &[(&str, String)],
) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; odata.metadata=minimal"),
    );
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.append(name, value);
        }
    }
    response
}

/// A 204 with extra headers.
pub(crate) fn no_content(headers: &[(&str, String)]) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.append(name, value);
        }
    }
    response
}

/// 404 for a path segment that names nothing (`0x80060888`).
pub(crate) fn segment_not_found(segment: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "0x80060888",
        format!("Resource not found for the segment '{segment}'."),
    )
}

/// 404 for a missing row (`0x80040217`).
pub(crate) fn row_not_found(table: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "0x80040217",
        format!("{table} With Id = {id} Does Not Exist"),
    )
}

/// 400 for a bad query option or body (`0x80060888`, the OData parser's code).
pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "0x80060888", message)
}

/// Percent-decodes a path segment or value (`+` stays `+`).
pub(crate) fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters.
pub(crate) fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Encodes a query option value for a link (keeps `$`, `,`, `'`, `(`, `)` and `=` readable).
pub(crate) fn encode_query_value(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'_'
                    | b'.'
                    | b'~'
                    | b'$'
                    | b','
                    | b'\''
                    | b'('
                    | b')'
                    | b':'
                    | b'/'
                    | b'='
                    | b';'
            )
        {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A path segment split into its name and its key: `incidents(<guid>)` → (`incidents`, `<guid>`).
pub(crate) fn split_key(segment: &str) -> (String, Option<String>) {
    match segment.find('(') {
        Some(open) if segment.ends_with(')') => (
            segment[..open].to_owned(),
            Some(segment[open + 1..segment.len() - 1].to_owned()),
        ),
        _ => (segment.to_owned(), None),
    }
}

fn unauthorized(dv_login: &str, tenant: &str, org_url: &str, failure: AuthFailure) -> Response {
    let description = match failure {
        AuthFailure::Missing => "Bearer token is missing.",
        AuthFailure::Invalid => "The access token is invalid.",
        AuthFailure::Expired => "The access token has expired.",
        AuthFailure::WrongAudience => {
            "The access token audience is invalid (issued for another resource)."
        }
    };
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    let challenge = format!(
        "Bearer authorization_uri={dv_login}/{tenant}/oauth2/authorize, resource_id={org_url}/, error=\"invalid_token\", error_description=\"{description}\""
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert("www-authenticate", value);
    }
    response
}

/// Counts a request against its user's window and releases it when dropped.
struct InFlight {
    world: Arc<World>,
    app_id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut dv = lock(&self.world.dataverse);
        if let Some(usage) = dv.usage.get_mut(&self.app_id) {
            usage.in_flight = usage.in_flight.saturating_sub(1);
        }
    }
}

/// Service protection (§F.12): 429 with Retry-After and the limit's code, else admits the request.
fn admit(world: &Arc<World>, app_id: &str, now: OffsetDateTime) -> Result<InFlight, Response> {
    let mut dv = lock(&world.dataverse);
    let limits = dv.limits.clone();
    let usage = dv.usage.entry(app_id.to_owned()).or_default();
    // The window and Retry-After shrink with the time scale (benchmarks, `crate::pace`).
    let scale = world.time_scale();
    let window_start = now - crate::pace::scaled(limits.window_secs as f64, scale);
    while usage
        .history
        .front()
        .is_some_and(|(at, _)| *at < window_start)
    {
        usage.history.pop_front();
    }
    while usage.throttled.front().is_some_and(|at| *at < window_start) {
        usage.throttled.pop_front();
    }
    let requests = usage.history.len() as u64;
    let execution: u64 = usage.history.iter().map(|(_, ms)| ms).sum();
    let refusal = if usage.in_flight >= limits.max_concurrent {
        Some((
            "0x80072326",
            format!(
                "Number of concurrent requests exceeded the limit of {}.",
                limits.max_concurrent
            ),
        ))
    } else if requests > u64::from(limits.max_requests) {
        Some((
            "0x80072322",
            format!(
                "Number of requests exceeded the limit of {} over time window of {} seconds.",
                limits.max_requests, limits.window_secs
            ),
        ))
    } else if execution > limits.max_execution_ms {
        Some(("0x80072321", format!("Combined execution time of incoming requests exceeded limit of {} milliseconds over time window of {} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.", group_thousands(limits.max_execution_ms), limits.window_secs)))
    } else {
        None
    };
    if let Some((code, message)) = refusal {
        let retry_after = crate::pace::RetryAfter::scaled(
            limits.retry_after_secs + usage.throttled.len() as u64,
            scale,
        );
        usage.throttled.push_back(now);
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, code, message);
        response
            .headers_mut()
            .insert("retry-after", retry_after.header());
        return Err(response);
    }
    usage
        .history
        .push_back((now, limits.execution_ms_per_request));
    usage.in_flight += 1;
    Ok(InFlight {
        world: Arc::clone(world),
        app_id: app_id.to_owned(),
    })
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

async fn handle(State(world): State<Arc<World>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let now = world.now();
    let (org_url, login_url, require_version) = {
        let dv = lock(&world.dataverse);
        (
            dv.org_url.clone(),
            dv.login_url.clone(),
            dv.require_odata_version,
        )
    };
    let token = {
        let identity = lock(&world.identity);
        let tenant = identity.tenant_id.clone();
        match identity.authenticate(&parts.headers, &org_url, now) {
            Ok(token) => token,
            Err(failure) => return unauthorized(&login_url, &tenant, &org_url, failure),
        }
    };
    let app_id = token.client_id.to_ascii_lowercase();
    let user = {
        let dv = lock(&world.dataverse);
        if dv.restricted_apps.contains(&app_id) {
            return error(
                StatusCode::FORBIDDEN,
                "0x80095ffc",
                format!("Access to Dataverse API is restricted for this application Id : '{}'. Please contact your administrator.", token.client_id),
            );
        }
        match dv.application_users.get(&app_id) {
            Some(user) => user.clone(),
            None => {
                return error(
                    StatusCode::FORBIDDEN,
                    "0x80072560",
                    "The user is not a member of the organization.",
                )
            }
        }
    };
    let _in_flight = match admit(&world, &app_id, now) {
        Ok(guard) => guard,
        Err(response) => return response,
    };
    if require_version
        && parts
            .headers
            .get("odata-version")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim() != "4.0")
    {
        return bad_request("The OData-Version header must be 4.0.");
    }
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "0x80040216",
                "The request is too large.",
            )
        }
    };
    let query = url::form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let ctx = Ctx {
        method: parts.method.clone(),
        prefer: Prefer::parse(&parts.headers),
        headers: parts.headers,
        query,
        body,
        user,
        now,
    };
    let mut dv = lock(&world.dataverse);
    dispatch(&mut dv, &ctx, &path)
}

fn dispatch(dv: &mut DataverseState, ctx: &Ctx, path: &str) -> Response {
    let Some(rest) = path.strip_prefix(API_PATH) else {
        let segment = path
            .trim_start_matches('/')
            .split('/')
            .nth(2)
            .unwrap_or(path);
        return segment_not_found(&percent_decode(segment));
    };
    let rest = rest.trim_start_matches('/');
    let segments: Vec<String> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').map(percent_decode).collect()
    };
    let Some(first) = segments.first() else {
        return service_document(dv);
    };
    let (name, key) = split_key(first);
    let post_only = |f: fn(&mut DataverseState, &Ctx) -> Response, dv: &mut DataverseState| {
        if ctx.method == Method::POST {
            f(dv, ctx)
        } else {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "0x80060888",
                format!("The request URI is not valid. HTTP method '{}' is not allowed for the operation '{name}'.", ctx.method),
            )
        }
    };
    match name.as_str() {
        "WhoAmI" => actions::who_am_i(dv, ctx),
        "$metadata" => metadata::csdl(dv, ctx),
        "EntityDefinitions" => {
            metadata::entity_definitions(dv, ctx, key.as_deref(), &segments[1..])
        }
        "GlobalOptionSetDefinitions" => metadata::global_option_sets(dv, ctx, key.as_deref()),
        "audits" => audit::audits(dv, ctx, key.as_deref(), &segments[1..]),
        "RetrieveRecordChangeHistory" if segments.len() == 1 => {
            audit::retrieve_record_change_history(dv, ctx, key.as_deref())
        }
        "CloseIncident" => post_only(actions::close_incident, dv),
        "WinOpportunity" => post_only(actions::win_opportunity, dv),
        "LoseOpportunity" => post_only(actions::lose_opportunity, dv),
        "InitializeAnnotationBlocksUpload" => post_only(actions::initialize_upload, dv),
        "UploadBlock" => post_only(actions::upload_block, dv),
        "CommitAnnotationBlocksUpload" => post_only(actions::commit_upload, dv),
        "InitializeAnnotationBlocksDownload" => post_only(actions::initialize_download, dv),
        "DownloadBlock" => post_only(actions::download_block, dv),
        "systemusers" if segments[1..] == [actions::RETRIEVE_USER_PRIVILEGES] => {
            actions::retrieve_user_privileges(dv, ctx, key.as_deref())
        }
        "leads" if segments.len() == 2 && segments[1].ends_with("QualifyLead") => {
            let qualified = segments[1] == actions::QUALIFY_LEAD;
            if !qualified && segments[1] != "QualifyLead" {
                return segment_not_found(&segments[1]);
            }
            actions::qualify_lead(dv, ctx, key.as_deref(), qualified)
        }
        set => match dv.table_by_set(set).map(|t| t.logical_name.clone()) {
            Some(table) => records::dispatch(dv, ctx, &table, key.as_deref(), &segments[1..]),
            None => segment_not_found(set),
        },
    }
}

fn service_document(dv: &DataverseState) -> Response {
    let value: Vec<Value> = dv
        .tables
        .iter()
        .map(|t| serde_json::json!({"name": t.entity_set_name, "kind": "EntitySet", "url": t.entity_set_name}))
        .collect();
    json_response(
        StatusCode::OK,
        &serde_json::json!({"@odata.context": format!("{}/$metadata", dv.api_base()), "value": value}),
        &[],
    )
}
