//! Jira Cloud platform REST v3 (api/atlassian.md §A, §B, §C, §E) over a generated site.
//!
//! Auth is HTTP Basic (account email + API token, §A.1); unauthenticated requests get the
//! site's plain-text 401 with `X-Seraph-LoginReason` (§A.5). Invisible issues are 404, not 403.
//! Rate limits answer 429 with `Retry-After`, `X-RateLimit-*` and `RateLimit-Reason` (§C): a simple
//! site-wide budget ([`RateLimit`], checked by the handlers), and the documented burst and per-issue
//! write limiters with per-endpoint request counts in [`limits`] (off unless [`JiraLimits`] is
//! set). Timestamps are `…000+0000` (§B.0); every write that Jira documents
//! as changing an issue moves its `updated` on the sandbox clock (`World::now`), so JQL polling on
//! `updated >=` works (§B.6).
//!
//! Submodules: `fields` (field definitions, value validation and rendering, ADF), `issues`
//! (create / get / edit / createmeta / transitions / changelog), `search` (JQL and
//! `/search/jql`), `extras` (comments, attachments, remote links, properties, users).

// Handlers answer `Result<_, Response>`: the error is the finished HTTP answer.
#![allow(clippy::result_large_err)]

mod extras;
mod fields;
mod issues;
pub mod limits;
#[cfg(test)]
mod limits_tests;
mod mutate;
mod search;
#[cfg(test)]
mod tests;

use crate::generator::jira::{
    FieldDef, IssueType, JiraSeed, Priority, Project, Resolution, SeedUser, Status, Workflow,
    ADMIN_ACCOUNT_ID, VIEWER_ACCOUNT_ID,
};
use crate::world::{lock, World};
use crate::SandboxUrls;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, MutexGuard};
use time::OffsetDateTime;

pub use fields::adf_to_text;
pub use limits::JiraLimits;

/// `yyyy-MM-dd` (shared with Assets).
pub(crate) fn parse_date_pub(text: &str) -> Option<time::Date> {
    fields::parse_date(text)
}

/// Jira / RFC 3339 timestamps (shared with Assets).
pub(crate) fn parse_datetime_pub(text: &str) -> Option<OffsetDateTime> {
    fields::parse_datetime(text)
}

/// The default admin account's email.
pub const ADMIN_EMAIL: &str = "admin@contoso.com";
/// The default admin account's API token.
pub const ADMIN_API_TOKEN: &str = "sandbox-jira-api-token";
/// A read-only agent (browses, cannot write, no Assets access): the 403 cases.
pub const VIEWER_EMAIL: &str = "viewer@contoso.com";
/// Its API token.
pub const VIEWER_API_TOKEN: &str = "sandbox-jira-viewer-token";

/// What an account may do in Assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetsRole {
    /// No Assets access (403).
    None,
    /// Reads and object writes.
    User,
    /// Also schema / object type / attribute configuration.
    Manager,
}

/// An account that can call the API (email + API token).
#[derive(Debug, Clone)]
pub struct JiraAccount {
    pub email: String,
    pub api_token: String,
    pub account_id: String,
    /// Jira administrator (global permission).
    pub admin: bool,
    /// Create / edit / transition / comment / attach (project permissions).
    pub can_write: bool,
    /// *Browse users and groups* (user search answers `[]` without it, §B.13).
    pub browse_users: bool,
    pub assets: AssetsRole,
    /// The token stops working at this time (1-year tokens, §A.1); `None` = never.
    pub token_expires_at: Option<OffsetDateTime>,
}

/// A configurable rate limit: `budget` requests per `window_secs` (fixed windows on the sandbox
/// clock), then 429 (§C, §D.10).
#[derive(Debug, Clone)]
pub struct RateLimit {
    pub budget: u32,
    pub window_secs: i64,
    /// `Retry-After` value; `None` sends a 429 without it (real limiters sometimes do).
    pub retry_after_secs: Option<u64>,
    /// `RateLimit-Reason` header.
    pub reason: String,
}

impl RateLimit {
    /// `budget` requests per minute with `Retry-After: retry_after_secs`.
    pub fn per_minute(budget: u32, retry_after_secs: u64) -> RateLimit {
        RateLimit {
            budget,
            window_secs: 60,
            retry_after_secs: Some(retry_after_secs),
            reason: "jira-burst-based".into(),
        }
    }
}

/// The fixed-window counter behind a [`RateLimit`] (shared with Assets).
pub(crate) type RateWindow = crate::pace::FixedWindow;

/// A request a [`RateLimit`] refused: the limit, and the `Retry-After` its 429 carries.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub limit: RateLimit,
    pub retry_after: Option<crate::pace::RetryAfter>,
}

impl RateLimit {
    /// Counts one request on `window`; when over budget, the refusal as the 429 states it. The
    /// window and `Retry-After` shrink with the sandbox's time scale.
    pub(crate) fn admit(
        &self,
        window: &mut RateWindow,
        now: OffsetDateTime,
        scale: f64,
    ) -> Result<(), Refusal> {
        let length = crate::pace::scaled(self.window_secs as f64, scale);
        window
            .hit(self.budget, length, now)
            .map(|_| ())
            .map_err(|_| Refusal {
                limit: self.clone(),
                retry_after: self
                    .retry_after_secs
                    .map(|secs| crate::pace::RetryAfter::scaled(secs, scale)),
            })
    }
}

/// The 429 answer (§C): `Retry-After`, `X-RateLimit-Reset`, `X-RateLimit-Limit/Remaining`,
/// `RateLimit-Reason`.
pub(crate) fn throttled(refusal: &Refusal, now: OffsetDateTime) -> Response {
    let limit = &refusal.limit;
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        &["Rate limit exceeded."],
        &[],
    );
    let headers = response.headers_mut();
    if let Some(retry_after) = refusal.retry_after {
        headers.insert("retry-after", retry_after.header());
        let reset = now + retry_after.duration();
        let stamp = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}Z",
            reset.year(),
            reset.month() as u8,
            reset.day(),
            reset.hour(),
            reset.minute()
        );
        if let Ok(value) = HeaderValue::from_str(&stamp) {
            headers.insert("x-ratelimit-reset", value);
        }
    }
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit.budget));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
    // Only Jira names its limiter (§C); Assets' 429s carry no reason (§D.10).
    if let Some(value) = HeaderValue::from_str(&limit.reason)
        .ok()
        .filter(|_| !limit.reason.is_empty())
    {
        headers.insert("ratelimit-reason", value);
    }
    response
}

/// A comment on an issue (body in ADF).
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub author: String,
    pub update_author: String,
    pub body: Value,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub visibility: Option<Value>,
    pub properties: BTreeMap<String, Value>,
}

/// One changelog item.
#[derive(Debug, Clone)]
pub struct ChangeItem {
    pub field: String,
    pub field_id: String,
    pub fieldtype: String,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

/// One changelog entry.
#[derive(Debug, Clone)]
pub struct History {
    pub id: u64,
    pub author: String,
    pub created: OffsetDateTime,
    pub items: Vec<ChangeItem>,
    pub history_metadata: Option<Value>,
}

/// An attachment (content kept in memory).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: u64,
    pub issue_id: u64,
    pub filename: String,
    pub author: String,
    pub created: OffsetDateTime,
    pub mime_type: String,
    pub content: Vec<u8>,
}

/// A remote issue link (§B.11).
#[derive(Debug, Clone)]
pub struct RemoteLink {
    pub id: u64,
    pub global_id: Option<String>,
    pub application: Option<Value>,
    pub relationship: Option<String>,
    pub object: Value,
}

/// An issue. `fields` holds the stored form of settable fields (see `fields::store`).
#[derive(Debug, Clone)]
pub struct Issue {
    pub id: u64,
    pub key: String,
    pub project: String,
    pub issue_type: String,
    pub status: String,
    pub resolution: Option<String>,
    pub resolution_date: Option<OffsetDateTime>,
    pub status_category_changed: OffsetDateTime,
    pub fields: BTreeMap<String, Value>,
    pub reporter: Option<String>,
    pub creator: String,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub comments: Vec<Comment>,
    pub histories: Vec<History>,
    pub attachments: Vec<u64>,
    pub remote_links: Vec<RemoteLink>,
    pub properties: BTreeMap<String, Value>,
}

/// The Jira site's state.
#[derive(Debug)]
pub struct JiraState {
    pub base_url: String,
    pub cloud_id: String,
    pub workspace_id: String,
    pub accounts: Vec<JiraAccount>,
    pub users: Vec<SeedUser>,
    pub projects: Vec<Project>,
    pub issue_types: Vec<IssueType>,
    pub fields: Vec<FieldDef>,
    pub statuses: Vec<Status>,
    pub workflows: Vec<Workflow>,
    pub priorities: Vec<Priority>,
    pub resolutions: Vec<Resolution>,
    pub issues: Vec<Issue>,
    pub attachments: BTreeMap<u64, Attachment>,
    /// `GET /attachment/meta` `uploadLimit` in bytes; larger uploads get 413.
    pub attachment_upload_limit: u64,
    pub attachments_enabled: bool,
    /// Burst limit on the whole site; `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    pub(crate) rate_window: RateWindow,
    /// The documented burst and per-issue write limits (§C); `None` (default) = unlimited.
    pub limits: Option<JiraLimits>,
    /// The limiter's buckets and windows, and the per-endpoint request counts.
    pub(crate) usage: limits::Usage,
    /// Search lag (§B.5 eventual consistency): issues created or updated less than this many
    /// seconds ago are served as of before the write unless listed in `reconcileIssues`.
    /// Only hides newly created issues from search (edits are visible); 0 = consistent.
    pub search_lag_secs: i64,
    /// [UNSURE] whether remote-link writes move `updated` (§I): default no.
    pub remote_links_bump_updated: bool,
    /// Largest `maxResults` of `/search/jql` when more than `id`/`key` is requested.
    pub search_max_results_with_fields: usize,
    /// Largest `maxResults` of `/search/jql` for `id`/`key`-only pages (§B.5: 5000).
    pub search_max_results_ids_only: usize,
    /// Per-issue caps (§B.14): adding beyond gives 413.
    pub max_comments_per_issue: usize,
    pub max_attachments_per_issue: usize,
    pub max_remote_links_per_issue: usize,
    next_id: u64,
}

fn plus(now: OffsetDateTime, ago_secs: i64) -> OffsetDateTime {
    now - time::Duration::seconds(ago_secs)
}

impl JiraState {
    /// State over a generated site.
    pub fn new(seed: &JiraSeed, urls: &SandboxUrls) -> JiraState {
        let now = OffsetDateTime::now_utc();
        let mut state = JiraState {
            base_url: urls.jira.as_str().trim_end_matches('/').to_owned(),
            cloud_id: seed.cloud_id.clone(),
            workspace_id: seed.assets.workspace_id.clone(),
            accounts: vec![
                JiraAccount {
                    email: ADMIN_EMAIL.into(),
                    api_token: ADMIN_API_TOKEN.into(),
                    account_id: ADMIN_ACCOUNT_ID.into(),
                    admin: true,
                    can_write: true,
                    browse_users: true,
                    assets: AssetsRole::Manager,
                    token_expires_at: None,
                },
                JiraAccount {
                    email: VIEWER_EMAIL.into(),
                    api_token: VIEWER_API_TOKEN.into(),
                    account_id: VIEWER_ACCOUNT_ID.into(),
                    admin: false,
                    can_write: false,
                    browse_users: false,
                    assets: AssetsRole::None,
                    token_expires_at: None,
                },
            ],
            users: seed.users.clone(),
            projects: seed.projects.clone(),
            issue_types: seed.issue_types.clone(),
            fields: seed.fields.clone(),
            statuses: seed.statuses.clone(),
            workflows: seed.workflows.clone(),
            priorities: seed.priorities.clone(),
            resolutions: seed.resolutions.clone(),
            issues: Vec::new(),
            attachments: BTreeMap::new(),
            attachment_upload_limit: 10 * 1024 * 1024,
            attachments_enabled: true,
            rate_limit: None,
            rate_window: RateWindow::default(),
            limits: None,
            usage: limits::Usage::default(),
            search_lag_secs: 0,
            remote_links_bump_updated: false,
            search_max_results_with_fields: 100,
            search_max_results_ids_only: 5000,
            max_comments_per_issue: 5000,
            max_attachments_per_issue: 2000,
            max_remote_links_per_issue: 2000,
            next_id: 10000,
        };
        for issue in &seed.issues {
            let created = plus(now, issue.created_ago_secs);
            let id = state.next_id();
            let project = state
                .project(&issue.project)
                .cloned()
                .expect("seed project");
            let number = state
                .issues
                .iter()
                .filter(|i| i.project == project.id)
                .count()
                + 1;
            let stored = fields::validate(&state, &project, &issue.issue_type, &issue.fields, true)
                .unwrap_or_else(|errors| panic!("generated issue fields are valid: {errors:?}"));
            let mut record = Issue {
                id,
                key: format!("{}-{number}", project.key),
                project: project.id.clone(),
                issue_type: issue.issue_type.clone(),
                status: issue.status.clone(),
                resolution: issue.resolution.clone(),
                resolution_date: issue
                    .resolution
                    .as_ref()
                    .map(|_| plus(now, issue.updated_ago_secs)),
                status_category_changed: plus(now, issue.updated_ago_secs),
                fields: stored,
                reporter: Some(issue.reporter.clone()),
                creator: issue.reporter.clone(),
                created,
                updated: plus(now, issue.updated_ago_secs),
                comments: Vec::new(),
                histories: Vec::new(),
                attachments: Vec::new(),
                remote_links: Vec::new(),
                properties: BTreeMap::new(),
            };
            for comment in &issue.comments {
                let at = plus(now, comment.ago_secs);
                record.comments.push(Comment {
                    id: state.next_id(),
                    author: comment.author.clone(),
                    update_author: comment.author.clone(),
                    body: crate::generator::jira::adf_text(&comment.text),
                    created: at,
                    updated: at,
                    visibility: None,
                    properties: BTreeMap::new(),
                });
            }
            for history in &issue.histories {
                record.histories.push(History {
                    id: state.next_id(),
                    author: history.author.clone(),
                    created: plus(now, history.ago_secs),
                    items: history
                        .items
                        .iter()
                        .map(|i| ChangeItem {
                            field: i.field.clone(),
                            field_id: i.field_id.clone(),
                            fieldtype: i.fieldtype.clone(),
                            from: i.from.clone(),
                            from_string: i.from_string.clone(),
                            to: i.to.clone(),
                            to_string: i.to_string.clone(),
                        })
                        .collect(),
                    history_metadata: None,
                });
            }
            state.issues.push(record);
        }
        state
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adds an API account (tests: other permissions, expiring tokens).
    pub fn add_account(&mut self, account: JiraAccount) {
        self.accounts.retain(|a| a.email != account.email);
        self.accounts.push(account);
    }

    /// Makes an account's API token expired/revoked (it then gets 401 like a wrong token).
    pub fn revoke_token(&mut self, email: &str) {
        for account in self
            .accounts
            .iter_mut()
            .filter(|a| a.email.eq_ignore_ascii_case(email))
        {
            account.token_expires_at = Some(OffsetDateTime::UNIX_EPOCH);
        }
    }

    /// Project by id or key (keys case-insensitive).
    pub fn project(&self, id_or_key: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.id == id_or_key || p.key.eq_ignore_ascii_case(id_or_key))
    }

    pub fn user(&self, account_id: &str) -> Option<&SeedUser> {
        self.users.iter().find(|u| u.account_id == account_id)
    }

    pub fn status(&self, id: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    pub fn field(&self, id: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.id == id)
    }

    pub fn issue_type(&self, id: &str) -> Option<&IssueType> {
        self.issue_types.iter().find(|t| t.id == id)
    }

    /// Index of an issue by id or key (keys case-insensitive).
    pub fn issue_index(&self, id_or_key: &str) -> Option<usize> {
        self.issues
            .iter()
            .position(|i| i.id.to_string() == id_or_key || i.key.eq_ignore_ascii_case(id_or_key))
    }

    /// An issue by id or key.
    pub fn issue(&self, id_or_key: &str) -> Option<&Issue> {
        self.issue_index(id_or_key).map(|i| &self.issues[i])
    }

    /// `fields.updated` of an issue as Jira renders it (tests compare cursors).
    pub fn issue_updated(&self, id_or_key: &str) -> Option<String> {
        self.issue(id_or_key).map(|i| jira_time(i.updated))
    }

    /// Authenticates a Basic `Authorization` header (§A.1).
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        now: OffsetDateTime,
    ) -> Result<JiraAccount, AuthError> {
        let (email, token) = basic_credentials(headers).ok_or(AuthError::Missing)?;
        let account = self
            .accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(&email) && a.api_token == token)
            .ok_or(AuthError::Failed)?;
        if account.token_expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Failed);
        }
        Ok(account.clone())
    }

    /// The user JSON Jira embeds (`author`, `assignee`, …).
    pub fn user_json(&self, account_id: &str) -> Value {
        match self.user(account_id) {
            Some(u) => {
                let mut value = json!({
                    "self": format!("{}/rest/api/3/user?accountId={}", self.base_url, u.account_id),
                    "accountId": u.account_id,
                    "avatarUrls": {
                        "48x48": format!("{}/secure/useravatar?size=large&ownerId={}", self.base_url, u.account_id),
                        "24x24": format!("{}/secure/useravatar?size=small&ownerId={}", self.base_url, u.account_id),
                        "16x16": format!("{}/secure/useravatar?size=xsmall&ownerId={}", self.base_url, u.account_id),
                        "32x32": format!("{}/secure/useravatar?size=medium&ownerId={}", self.base_url, u.account_id),
                    },
                    "displayName": u.display_name,
                    "active": u.active,
                    "timeZone": u.time_zone,
                    "accountType": u.account_type,
                });
                if u.email_visible {
                    value["emailAddress"] = json!(u.email);
                }
                value
            }
            None => {
                json!({"accountId": account_id, "displayName": "Former user", "active": false, "accountType": "atlassian"})
            }
        }
    }

    pub(crate) fn status_json(&self, id: &str) -> Value {
        match self.status(id) {
            Some(s) => json!({
                "self": format!("{}/rest/api/3/status/{}", self.base_url, s.id),
                "description": "",
                "iconUrl": format!("{}/images/icons/statuses/generic.png", self.base_url),
                "name": s.name,
                "id": s.id,
                "statusCategory": category_json(&self.base_url, s.category),
            }),
            None => Value::Null,
        }
    }

    pub(crate) fn project_json(&self, p: &Project, full: bool) -> Value {
        let mut value = json!({
            "self": format!("{}/rest/api/3/project/{}", self.base_url, p.id),
            "id": p.id,
            "key": p.key,
            "name": p.name,
            "projectTypeKey": p.project_type_key,
            "simplified": false,
            "avatarUrls": {"48x48": format!("{}/rest/api/3/universal_avatar/view/type/project/avatar/10400", self.base_url)},
        });
        if full {
            value["lead"] = self.user_json(&p.lead);
            value["style"] = json!("classic");
            value["isPrivate"] = json!(false);
            value["issueTypes"] = Value::Array(
                p.issue_types
                    .iter()
                    .filter_map(|t| self.issue_type(t))
                    .map(|t| self.issue_type_json(t))
                    .collect(),
            );
            value["components"] = Value::Array(
                p.components
                    .iter()
                    .map(|c| self.component_json(p, c))
                    .collect(),
            );
            value["versions"] =
                Value::Array(p.versions.iter().map(|v| self.version_json(p, v)).collect());
        }
        value
    }

    pub(crate) fn issue_type_json(&self, t: &IssueType) -> Value {
        json!({
            "self": format!("{}/rest/api/3/issuetype/{}", self.base_url, t.id),
            "id": t.id,
            "description": t.description,
            "iconUrl": format!("{}/rest/api/2/universal_avatar/view/type/issuetype/avatar/10318", self.base_url),
            "name": t.name,
            "untranslatedName": t.name,
            "subtask": t.subtask,
            "hierarchyLevel": if t.subtask { -1 } else { 0 },
        })
    }

    pub(crate) fn component_json(
        &self,
        p: &Project,
        c: &crate::generator::jira::Component,
    ) -> Value {
        json!({
            "self": format!("{}/rest/api/3/component/{}", self.base_url, c.id),
            "id": c.id,
            "name": c.name,
            "description": c.description,
            "project": p.key,
            "projectId": p.id.parse::<i64>().unwrap_or_default(),
        })
    }

    pub(crate) fn version_json(&self, p: &Project, v: &crate::generator::jira::Version) -> Value {
        let mut value = json!({
            "self": format!("{}/rest/api/3/version/{}", self.base_url, v.id),
            "id": v.id,
            "name": v.name,
            "archived": v.archived,
            "released": v.released,
            "projectId": p.id.parse::<i64>().unwrap_or_default(),
        });
        if let Some(date) = &v.release_date {
            value["releaseDate"] = json!(date);
        }
        value
    }
}

pub(crate) fn category_json(base: &str, c: crate::generator::jira::StatusCategory) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/statuscategory/{}", c.id()),
        "id": c.id(),
        "key": c.key(),
        "colorName": c.color(),
        "name": c.name(),
    })
}

/// Why Basic authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    Failed,
}

/// Decodes `Authorization: Basic base64(email:token)`.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (email, token) = decoded.split_once(':')?;
    Some((email.to_owned(), token.to_owned()))
}

/// Jira's timestamp format: `2021-01-17T12:34:00.000+0000` (§B.0).
pub fn jira_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// An ErrorCollection answer (§E).
pub(crate) fn error(status: StatusCode, messages: &[&str], errors: &[(&str, String)]) -> Response {
    let errors: serde_json::Map<String, Value> = errors
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    (
        status,
        Json(json!({"errorMessages": messages, "errors": errors})),
    )
        .into_response()
}

/// 400 with per-field errors.
pub(crate) fn field_errors(errors: BTreeMap<String, String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"errorMessages": [], "errors": errors})),
    )
        .into_response()
}

/// The site's 401 (§A.5): plain text, `WWW-Authenticate`, `X-Seraph-LoginReason`.
pub(crate) fn unauthorized(reason: AuthError) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "Client must be authenticated to access this resource.",
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    headers.insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"protected-area\""),
    );
    if reason == AuthError::Failed {
        headers.insert(
            "x-seraph-loginreason",
            HeaderValue::from_static("AUTHENTICATED_FAILED"),
        );
    }
    response
}

/// 404 for issues the caller cannot see or that do not exist (§A.5).
pub(crate) fn issue_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        &["Issue does not exist or you do not have permission to see it."],
        &[],
    )
}

/// 403 for writes without permission.
pub(crate) fn forbidden(message: &str) -> Response {
    error(StatusCode::FORBIDDEN, &[message], &[])
}

/// An authenticated, rate-limited request: the locked state and the caller.
pub(crate) struct Call<'a> {
    pub state: MutexGuard<'a, JiraState>,
    pub account: JiraAccount,
    pub now: OffsetDateTime,
}

/// Authenticates and counts the request against the site's rate limit.
pub(crate) fn begin<'a>(world: &'a World, headers: &HeaderMap) -> Result<Call<'a>, Response> {
    let now = world.now();
    let mut state = lock(&world.jira);
    let account = state.authenticate(headers, now).map_err(unauthorized)?;
    if let Some(limit) = state.rate_limit.clone() {
        if let Err(refusal) = limit.admit(&mut state.rate_window, now, world.time_scale()) {
            return Err(throttled(&refusal, now));
        }
    }
    Ok(Call {
        state,
        account,
        now,
    })
}

/// Like [`begin`], but the caller must be allowed to write.
pub(crate) fn begin_write<'a>(world: &'a World, headers: &HeaderMap) -> Result<Call<'a>, Response> {
    let call = begin(world, headers)?;
    if !call.account.can_write {
        return Err(forbidden(
            "You do not have permission to edit issues in this project.",
        ));
    }
    Ok(call)
}

/// Splits comma-separated, possibly repeated query parameters (§B.0).
pub(crate) fn list_param(query: &[(String, String)], name: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

pub(crate) fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parses a numeric query parameter: `Ok(None)` when absent, 400 when not a number.
pub(crate) fn int_param(query: &[(String, String)], name: &str) -> Result<Option<i64>, Response> {
    match param(query, name) {
        None => Ok(None),
        Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                &[&format!("The '{name}' parameter must be a number.")],
                &[],
            )
        }),
    }
}

pub(crate) type Query = axum::extract::Query<Vec<(String, String)>>;

/// Parses a JSON request body; 400 like Jira for bad JSON.
pub(crate) fn json_body(body: &str) -> Result<Value, Response> {
    serde_json::from_str(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &[&format!("Unexpected character in JSON body: {e}")],
            &[],
        )
    })
}

/// Jira's router.
pub fn router() -> Router<Arc<World>> {
    Router::new()
        .route("/_edge/tenant_info", get(tenant_info))
        .route("/rest/api/3/myself", get(myself))
        .route("/rest/api/3/serverInfo", get(server_info))
        .route("/rest/api/3/project", get(project_list))
        .route("/rest/api/3/project/search", get(project_search))
        .route("/rest/api/3/project/{key}", get(project_get))
        .route("/rest/api/3/project/{key}/statuses", get(project_statuses))
        .route(
            "/rest/api/3/project/{key}/components",
            get(project_components),
        )
        .route("/rest/api/3/project/{key}/versions", get(project_versions))
        .route("/rest/api/3/issuetype", get(issue_type_list))
        .route(
            "/rest/api/3/issuetype/project",
            get(issue_types_for_project),
        )
        .route("/rest/api/3/field", get(field_list))
        .route("/rest/api/3/priority", get(priority_list))
        .route("/rest/api/3/priority/search", get(priority_search))
        .route("/rest/api/3/resolution", get(resolution_list))
        .route("/rest/api/3/status", get(status_list))
        .route("/rest/api/3/statuscategory", get(status_category_list))
        .route(
            "/rest/servicedeskapi/assets/workspace",
            get(assets_workspace),
        )
        .route(
            "/rest/servicedeskapi/insight/workspace",
            get(assets_workspace),
        )
        .route("/rest/api/3/issue", post(issues::create))
        .route("/rest/api/3/issue/bulk", post(issues::create_bulk))
        .route(
            "/rest/api/3/issue/createmeta/{project}/issuetypes",
            get(issues::createmeta_types),
        )
        .route(
            "/rest/api/3/issue/createmeta/{project}/issuetypes/{issue_type}",
            get(issues::createmeta_fields),
        )
        .route(
            "/rest/api/3/issue/{key}",
            get(issues::get_issue)
                .put(issues::edit)
                .delete(issues::delete),
        )
        .route("/rest/api/3/issue/{key}/editmeta", get(issues::editmeta))
        .route(
            "/rest/api/3/issue/{key}/transitions",
            get(issues::transitions).post(issues::do_transition),
        )
        .route("/rest/api/3/issue/{key}/changelog", get(issues::changelog))
        .route(
            "/rest/api/3/issue/{key}/changelog/list",
            post(issues::changelog_list),
        )
        .route(
            "/rest/api/3/changelog/bulkfetch",
            post(issues::changelog_bulkfetch),
        )
        .route(
            "/rest/api/3/search/jql",
            get(search::search_get).post(search::search_post),
        )
        .route(
            "/rest/api/3/search/approximate-count",
            post(search::approximate_count),
        )
        .route(
            "/rest/api/3/search",
            get(search::removed).post(search::removed),
        )
        .route(
            "/rest/api/2/search",
            get(search::removed).post(search::removed),
        )
        .route(
            "/rest/api/latest/search",
            get(search::removed).post(search::removed),
        )
        .route("/rest/api/3/search/id", post(search::removed))
        .route(
            "/rest/api/3/issue/{key}/comment",
            get(extras::comments).post(extras::add_comment),
        )
        .route(
            "/rest/api/3/issue/{key}/comment/{id}",
            get(extras::get_comment)
                .put(extras::update_comment)
                .delete(extras::delete_comment),
        )
        .route("/rest/api/3/comment/list", post(extras::comment_list))
        .route(
            "/rest/api/3/comment/{id}/properties",
            get(extras::comment_property_keys),
        )
        .route(
            "/rest/api/3/comment/{id}/properties/{prop}",
            get(extras::get_comment_property)
                .put(extras::put_comment_property)
                .delete(extras::delete_comment_property),
        )
        .route("/rest/api/3/issue/{key}/attachments", post(extras::upload))
        .route("/rest/api/3/attachment/meta", get(extras::attachment_meta))
        .route(
            "/rest/api/3/attachment/{id}",
            get(extras::attachment_get).delete(extras::attachment_delete),
        )
        .route(
            "/rest/api/3/attachment/content/{id}",
            get(extras::attachment_content),
        )
        .route("/media/file/{id}/binary", get(extras::media_binary))
        .route(
            "/rest/api/3/issue/{key}/remotelink",
            get(extras::remote_links)
                .post(extras::upsert_remote_link)
                .delete(extras::delete_remote_link_by_global),
        )
        .route(
            "/rest/api/3/issue/{key}/remotelink/{id}",
            get(extras::get_remote_link)
                .put(extras::put_remote_link)
                .delete(extras::delete_remote_link),
        )
        .route(
            "/rest/api/3/issue/{key}/properties",
            get(extras::property_keys),
        )
        .route(
            "/rest/api/3/issue/{key}/properties/{prop}",
            put(extras::put_property)
                .get(extras::get_property)
                .delete(extras::delete_property),
        )
        .route("/rest/api/3/user/search", get(extras::user_search))
        .route(
            "/rest/api/3/user/assignable/search",
            get(extras::assignable_search),
        )
        .route("/rest/api/3/user", get(extras::user_get))
        // Attachments are limited by `attachment_upload_limit` (413), not by axum's 2 MB default.
        .layer(axum::extract::DefaultBodyLimit::max(512 * 1024 * 1024))
}

async fn tenant_info(State(world): State<Arc<World>>) -> Response {
    let state = lock(&world.jira);
    Json(json!({"cloudId": state.cloud_id})).into_response()
}

async fn myself(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut user = call.state.user_json(&call.account.account_id);
    // Your own profile shows your email and locale.
    user["emailAddress"] = json!(call.account.email);
    user["locale"] = json!("en_US");
    user["groups"] = json!({"size": 1, "items": []});
    user["applicationRoles"] = json!({"size": 1, "items": []});
    Json(user).into_response()
}

async fn server_info(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    Json(json!({
        "baseUrl": call.state.base_url,
        "displayUrl": call.state.base_url,
        "version": "1001.0.0-SNAPSHOT",
        "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud",
        "buildNumber": 100_289,
        "buildDate": "2025-12-01T00:00:00.000+0000",
        "serverTime": jira_time(call.now),
        "scmInfo": "57a0ca5b",
        "serverTitle": "Jira",
        "defaultLocale": {"locale": "en_US"},
        "serverTimeZone": "Etc/UTC",
    }))
    .into_response()
}

/// A PageBean (§B.0): `{self, nextPage?, maxResults, startAt, total, isLast, values}`.
pub(crate) fn page_bean(
    self_url: String,
    values: Vec<Value>,
    start_at: usize,
    max_results: usize,
) -> Value {
    let total = values.len();
    let page: Vec<Value> = values
        .into_iter()
        .skip(start_at)
        .take(max_results)
        .collect();
    let is_last = start_at + page.len() >= total;
    let mut value = json!({
        "self": self_url,
        "maxResults": max_results,
        "startAt": start_at,
        "total": total,
        "isLast": is_last,
        "values": page,
    });
    if !is_last {
        value["nextPage"] = json!(format!(
            "{self_url}?startAt={}&maxResults={max_results}",
            start_at + max_results
        ));
    }
    value
}

/// `startAt`/`maxResults` with a default and a silent cap.
pub(crate) fn paging(
    query: &[(String, String)],
    default: usize,
    cap: usize,
) -> Result<(usize, usize), Response> {
    let start = int_param(query, "startAt")?.unwrap_or(0).max(0) as usize;
    let max = int_param(query, "maxResults")?
        .map_or(default, |m| m.max(0) as usize)
        .min(cap);
    Ok((start, max))
}

async fn project_list(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    Json(Value::Array(
        s.projects
            .iter()
            .map(|p| s.project_json(p, false))
            .collect(),
    ))
    .into_response()
}

async fn project_search(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, max) = match paging(&query, 50, 100) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let s = &call.state;
    let keys = list_param(&query, "keys");
    let text = param(&query, "query").map(str::to_lowercase);
    let values = s
        .projects
        .iter()
        .filter(|p| {
            keys.is_empty()
                || keys
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&p.key) || *k == p.id)
        })
        .filter(|p| {
            text.as_ref().is_none_or(|t| {
                p.key.to_lowercase().contains(t) || p.name.to_lowercase().contains(t)
            })
        })
        .map(|p| s.project_json(p, false))
        .collect();
    Json(page_bean(
        format!("{}/rest/api/3/project/search", s.base_url),
        values,
        start,
        max,
    ))
    .into_response()
}

fn project_or_404(s: &JiraState, key: &str) -> Result<Project, Response> {
    s.project(key).cloned().ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            &[&format!("No project could be found with key '{key}'.")],
            &[],
        )
    })
}

async fn project_get(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match project_or_404(&call.state, &key) {
        Ok(p) => Json(call.state.project_json(&p, true)).into_response(),
        Err(r) => r,
    }
}

async fn project_statuses(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    let p = match project_or_404(s, &key) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let values: Vec<Value> = p
        .issue_types
        .iter()
        .filter_map(|t| s.issue_type(t))
        .map(|t| {
            let statuses: Vec<Value> = s.workflows[t.workflow].statuses.iter().map(|id| s.status_json(id)).collect();
            json!({"self": format!("{}/rest/api/3/issuetype/{}", s.base_url, t.id), "id": t.id, "name": t.name, "subtask": t.subtask, "statuses": statuses})
        })
        .collect();
    Json(values).into_response()
}

async fn project_components(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    match project_or_404(s, &key) {
        Ok(p) => Json(
            p.components
                .iter()
                .map(|c| s.component_json(&p, c))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(r) => r,
    }
}

async fn project_versions(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    match project_or_404(s, &key) {
        Ok(p) => Json(
            p.versions
                .iter()
                .map(|v| s.version_json(&p, v))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(r) => r,
    }
}

async fn issue_type_list(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    Json(
        s.issue_types
            .iter()
            .map(|t| s.issue_type_json(t))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn issue_types_for_project(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    let Some(project) =
        param(&query, "projectId").and_then(|id| s.projects.iter().find(|p| p.id == id))
    else {
        return error(
            StatusCode::NOT_FOUND,
            &["The project is not found or the user does not have permission to view it."],
            &[],
        );
    };
    Json(
        project
            .issue_types
            .iter()
            .filter_map(|t| s.issue_type(t))
            .map(|t| s.issue_type_json(t))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn field_list(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    Json(
        call.state
            .fields
            .iter()
            .map(fields::field_json)
            .collect::<Vec<_>>(),
    )
    .into_response()
}

fn priority_json(base: &str, p: &Priority) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/priority/{}", p.id),
        "id": p.id,
        "name": p.name,
        "iconUrl": format!("{base}/images/icons/priorities/{}.svg", p.name.to_lowercase()),
        "statusColor": "#ffab00",
        "description": p.name,
        "isDefault": p.name == "Medium",
    })
}

async fn priority_list(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    Json(
        s.priorities
            .iter()
            .map(|p| priority_json(&s.base_url, p))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn priority_search(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, max) = match paging(&query, 50, 50) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let s = &call.state;
    let values = s
        .priorities
        .iter()
        .map(|p| priority_json(&s.base_url, p))
        .collect();
    Json(page_bean(
        format!("{}/rest/api/3/priority/search", s.base_url),
        values,
        start,
        max,
    ))
    .into_response()
}

async fn resolution_list(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    Json(
        s.resolutions
            .iter()
            .map(|r| json!({"self": format!("{}/rest/api/3/resolution/{}", s.base_url, r.id), "id": r.id, "name": r.name, "description": r.description}))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn status_list(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    Json(
        s.statuses
            .iter()
            .map(|st| s.status_json(&st.id))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn status_category_list(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    use crate::generator::jira::StatusCategory::*;
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let base = &call.state.base_url;
    let mut values = vec![json!({
        "self": format!("{base}/rest/api/3/statuscategory/1"),
        "id": 1, "key": "undefined", "colorName": "medium-gray", "name": "No Category",
    })];
    values.extend([New, Done, Indeterminate].map(|c| category_json(base, c)));
    Json(values).into_response()
}

/// `GET /rest/servicedeskapi/assets/workspace` (§D.1): JSM paged DTO with the workspace id.
async fn assets_workspace(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &call.state;
    if call.account.assets == AssetsRole::None {
        return forbidden("You do not have permission to access Assets.");
    }
    let start = int_param(&query, "start")
        .ok()
        .flatten()
        .unwrap_or(0)
        .max(0) as usize;
    let limit = int_param(&query, "limit")
        .ok()
        .flatten()
        .unwrap_or(50)
        .max(1) as usize;
    let values: Vec<Value> = std::iter::once(json!({"workspaceId": s.workspace_id}))
        .skip(start)
        .take(limit)
        .collect();
    Json(json!({
        "size": values.len(),
        "start": start,
        "limit": limit,
        "isLastPage": true,
        "_links": {
            "base": s.base_url,
            "context": "",
            "self": format!("{}/rest/servicedeskapi/assets/workspace", s.base_url),
        },
        "values": values,
    }))
    .into_response()
}
