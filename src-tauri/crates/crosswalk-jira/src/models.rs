//! Serde mirrors of the Jira JSON this client reads (atlassian.md §B), lenient where Jira varies.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Jira ids are strings, but some (attachments, remote links) arrive as numbers (§B.0).
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, got {}",
            match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Array(_) => "an array",
                _ => "an object",
            }
        ))),
    }
}

/// Parses Jira's `2021-01-17T12:34:00.000+0000` (no colon in the offset, §B.0), or RFC 3339.
pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    const JIRA: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(text, JIRA)
        .or_else(|_| OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339))
        .ok()
}

/// The caller's own profile (`/myself`): who writes, and the zone JQL dates are read in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    pub account_id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email_address: Option<String>,
    /// IANA zone such as `Australia/Brisbane`; Jira falls back to the site default.
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
}

/// A Jira user as search and issue fields return it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: String,
    #[serde(default)]
    pub account_type: Option<String>,
    #[serde(default)]
    pub display_name: String,
    /// Absent when the user hides it (§B.13).
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// `/serverInfo`: the site's canonical URL and deployment type.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub base_url: String,
    #[serde(default)]
    pub deployment_type: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub server_time: Option<String>,
}

/// A project (search results and `GET /project/{key}`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_type_key: Option<String>,
}

/// Offset paging as `project/search` and changelog return it (§B.0 PageBean).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBean<T> {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub max_results: u64,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub is_last: Option<bool>,
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
}

impl<T> PageBean<T> {
    /// Where the next page starts, or `None` when this was the last one.
    pub fn next_start(&self) -> Option<u64> {
        let next = self.start_at + self.values.len() as u64;
        let last = match (self.is_last, self.total) {
            (Some(is_last), _) => is_last,
            (None, Some(total)) => next >= total,
            (None, None) => self.values.is_empty(),
        };
        (!last && !self.values.is_empty()).then_some(next)
    }
}

/// An issue type as createmeta lists it for a project.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueType {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subtask: bool,
}

/// One page of `createmeta/{project}/issuetypes` (legacy paging, max 200).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueTypePage {
    #[serde(default)]
    pub issue_types: Vec<IssueType>,
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub max_results: u64,
    #[serde(default)]
    pub total: u64,
}

/// A field's value type (`schema` in createmeta and `/field`, §B.1 table).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FieldSchema {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub items: Option<String>,
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub custom: Option<String>,
    #[serde(default)]
    pub custom_id: Option<i64>,
}

/// A field on the create screen of one project and issue type.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMetaField {
    pub field_id: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub schema: FieldSchema,
    #[serde(default)]
    pub operations: Vec<String>,
    #[serde(default)]
    pub allowed_values: Option<Vec<Value>>,
    #[serde(default)]
    pub has_default_value: bool,
    #[serde(default)]
    pub default_value: Option<Value>,
}

/// One page of `createmeta/{project}/issuetypes/{id}` (legacy paging, max 200).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMetaPage {
    #[serde(default)]
    pub fields: Vec<CreateMetaField>,
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub max_results: u64,
    #[serde(default)]
    pub total: u64,
}

/// A field definition from `GET /field` (all fields of the site).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub id: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub searchable: bool,
    #[serde(default)]
    pub clause_names: Vec<String>,
    #[serde(default)]
    pub schema: Option<FieldSchema>,
}

/// What `POST /issue` answers: the new issue's stable id and its key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
}

/// An issue: id (stable), key (may change on move) and the requested fields as raw JSON.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    pub id: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Present with `expand=changelog` (recent entries only, newest first).
    #[serde(default)]
    pub changelog: Option<EmbeddedChangelog>,
    /// The issue properties asked for with `properties=` (key → value), when set (§B.4, §B.12).
    #[serde(default, deserialize_with = "entity_properties")]
    pub properties: Map<String, Value>,
}

impl Issue {
    /// `fields.updated` as an instant (the polling cursor, §B.6).
    pub fn updated(&self) -> Option<OffsetDateTime> {
        self.fields
            .get("updated")
            .and_then(Value::as_str)
            .and_then(parse_timestamp)
    }

    /// `fields.status` with its category, when requested.
    pub fn status(&self) -> Option<Status> {
        self.fields
            .get("status")
            .and_then(|value| serde_json::from_value(value.clone()).ok())
    }
}

/// The changelog embedded by `expand=changelog`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedChangelog {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub max_results: u64,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub histories: Vec<ChangelogEntry>,
}

/// One changelog entry: who changed which fields when.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangelogEntry {
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub items: Vec<ChangeItem>,
    #[serde(default)]
    pub history_metadata: Option<Value>,
}

impl ChangelogEntry {
    /// When the change was made.
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        parse_timestamp(&self.created)
    }

    /// Whether the entry changed `field_id` (`summary`, `status`, `customfield_10050`); entries
    /// without a `fieldId` are matched by their `field` name, as older ones only carry that.
    pub fn touches(&self, field_id: &str) -> bool {
        self.items.iter().any(|item| match &item.field_id {
            Some(id) => id == field_id,
            None => item.field == field_id,
        })
    }
}

/// One page of `POST /changelog/bulkfetch` (§B.6): token paging, no total.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkChangelogPage {
    #[serde(default)]
    pub issue_change_logs: Vec<IssueChangelog>,
    /// Absent (or null) on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// The changelog entries of one issue in a bulk fetch.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueChangelog {
    #[serde(deserialize_with = "string_or_number")]
    pub issue_id: String,
    #[serde(default)]
    pub change_histories: Vec<ChangelogEntry>,
}

/// One field change; `from`/`to` are ids, the `*_string` variants display values.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeItem {
    pub field: String,
    #[serde(default)]
    pub field_id: Option<String>,
    #[serde(default)]
    pub fieldtype: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_string: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub to_string: Option<String>,
}

/// One page of `/search/jql`: token paging, no total (§B.5).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    #[serde(default)]
    pub issues: Vec<Issue>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub is_last: bool,
    /// Jira's clock when it answered (the response's `Date` header), not part of the body.
    #[serde(skip)]
    pub server_time: Option<time::OffsetDateTime>,
}

/// Status categories by their stable key (names are localised, ids out of order, §B.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StatusCategoryKey {
    /// `new`: To Do.
    New,
    /// `indeterminate`: In Progress.
    Indeterminate,
    /// `done`: Done.
    Done,
    /// `undefined` or anything newer.
    #[serde(other)]
    Undefined,
}

/// A status category as embedded in a status.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCategory {
    #[serde(default)]
    pub id: i64,
    pub key: StatusCategoryKey,
    #[serde(default)]
    pub name: String,
}

/// A workflow status with its category.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub status_category: StatusCategory,
}

/// A transition available on an issue now; map by `to`, not by name (§B.7).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub to: Status,
    #[serde(default)]
    pub has_screen: bool,
    #[serde(default)]
    pub is_available: Option<bool>,
    /// With `expand=transitions.fields`: the fields on the transition screen.
    #[serde(default)]
    pub fields: Option<Map<String, Value>>,
}

/// A comment; `body` is ADF (see `crate::adf`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub updated: String,
    /// Comment properties (key → value), only when Jira returns them (`expand=properties`);
    /// Jira sends a list of `{key, value}` (§B.8).
    #[serde(default, deserialize_with = "entity_properties")]
    pub properties: Map<String, Value>,
}

/// Reads entity properties sent either as Jira's `[{"key","value"}]` list (comments) or as an
/// object of key → value (issues), so both end up as a map.
fn entity_properties<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Map<String, Value>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => Ok(map),
        Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|item| {
                let key = item.get("key")?.as_str()?.to_owned();
                Some((key, item.get("value").cloned().unwrap_or(Value::Null)))
            })
            .collect()),
        _ => Err(serde::de::Error::custom(
            "expected a list of entity properties",
        )),
    }
}

/// An issue type of a project with the workflow statuses its issues can have
/// (`GET /project/{key}/statuses`, §B.1).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueTypeStatuses {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub subtask: bool,
    /// In workflow order as Jira lists them.
    #[serde(default)]
    pub statuses: Vec<Status>,
}

/// One `POST /search/jql` request (§B.5). Start with [`SearchRequest::new`] and set what you
/// need; pass the previous page's `next_page_token` (and the same everything else) to continue.
#[derive(Debug, Clone, Copy)]
pub struct SearchRequest<'a> {
    /// Bounded JQL (a restriction clause is required).
    pub jql: &'a str,
    /// Fields to return; Jira returns only `id` when empty.
    pub fields: &'a [&'a str],
    /// Issue property keys to return in `Issue::properties`, at most 5.
    pub properties: &'a [&'a str],
    /// Comma-separated expansions, e.g. `"names,changelog"` (a string, not a list).
    pub expand: Option<&'a str>,
    pub next_page_token: Option<&'a str>,
    /// Jira may return fewer; ~100 is the practical maximum with fields.
    pub max_results: u32,
    /// Issue ids (numeric, at most 50) to read after a write despite search lag; send the same
    /// list on every page.
    pub reconcile_issues: &'a [String],
}

impl<'a> SearchRequest<'a> {
    /// Issues matching `jql`, 50 a page, `id` only until `fields` is set.
    pub fn new(jql: &'a str) -> SearchRequest<'a> {
        SearchRequest {
            jql,
            fields: &[],
            properties: &[],
            expand: None,
            next_page_token: None,
            max_results: 50,
            reconcile_issues: &[],
        }
    }
}

/// One page of an issue's comments (legacy paging).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentPage {
    #[serde(default)]
    pub comments: Vec<Comment>,
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub max_results: u64,
    #[serde(default)]
    pub total: u64,
}

/// Whether attachments are on, and the per-file upload limit in bytes.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentMeta {
    pub enabled: bool,
    pub upload_limit: u64,
}

/// An attachment's metadata.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    pub filename: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub created: String,
    /// Who uploaded it (tells the connector's own copies from people's files).
    #[serde(default)]
    pub author: Option<User>,
}

/// What a remote-link upsert answers: the numeric link id and whether it was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteLinkSaved {
    pub id: u64,
    /// `true` for 201 (created), `false` for 200 (an existing link with the globalId was updated).
    pub created: bool,
}

/// A remote link as Jira stores it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteLink {
    pub id: u64,
    #[serde(default)]
    pub global_id: Option<String>,
    #[serde(default)]
    pub relationship: Option<String>,
    #[serde(default)]
    pub application: Option<Value>,
    #[serde(default)]
    pub object: Value,
}

/// A remote link to write; `object.url` and `object.title` are required by Jira (§B.11).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewRemoteLink {
    /// At most 255 characters; the upsert key.
    pub global_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
    pub object: RemoteObject,
}

/// The linked object's display data.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteObject {
    pub url: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}
