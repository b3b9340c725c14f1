//! Microsoft Graph v1.0 over the generated directory (api/microsoft.md §B-E): users, groups
//! (members, transitive members, owners), app registrations, Entra devices, Intune managed
//! devices, direct memberships (`memberOf`) of users / devices / groups, delta queries for
//! users / groups / applications / devices, OData query options,
//! bearer-token checks against the identity platform, per-endpoint application permissions,
//! and a request budget that answers 429 with `Retry-After`.

// Handlers return the finished error answer as `Err(Response)`; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

mod delta;
mod expand;
mod list;
pub mod query;
pub mod repr;

#[cfg(test)]
mod expand_tests;
#[cfg(test)]
mod identity_tests;
#[cfg(test)]
mod options_tests;
#[cfg(test)]
mod tests;

use crate::generator::directory::{Directory, Kind, PasswordCredential};
use crate::identity::AuthFailure;
use crate::world::{lock, World};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use std::sync::Arc;
use time::OffsetDateTime;

/// A request budget: at most `requests` per `per_seconds` window, then 429 (§D.1); the window
/// shrinks with the sandbox's time scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub requests: u32,
    pub per_seconds: u64,
}

/// How an expired (or unknown) delta token is answered (§C.5; the exact answer for directory
/// objects is not documented, so it is a knob).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaResync {
    /// 400 `syncStateNotFound` "The sync state generation is not found. The delta token is
    /// expired and data must be synchronized again." (Graph blog, July 2020) — the default.
    SyncStateNotFound,
    /// 400 `resyncRequired`.
    ResyncRequired,
    /// 410 Gone with a `Location` header holding a fresh delta URL with an empty `$deltatoken`.
    Gone,
}

/// What `/deviceManagement/managedDevices/delta` answers (no delta exists, §C.6; which error the
/// real service sends is unsure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoDelta {
    /// 400 `BadRequest` "Resource not found for the segment 'delta'." (default)
    BadRequest,
    /// 404 `ResourceNotFound`.
    NotFound,
}

/// Delta-query knobs.
#[derive(Debug, Clone)]
pub struct DeltaConfig {
    /// Lifetime of a delta token (7 days, §C.5).
    pub token_ttl_secs: i64,
    /// Objects (or group slices) per delta page.
    pub page_size: usize,
    /// `members@delta` entries per page: a group with more appears on several pages (§C.4).
    pub members_per_page: usize,
    /// How expired and unknown delta tokens are answered.
    pub expired: DeltaResync,
    /// Forces the next delta-token request to fail this way (tenant maintenance), once.
    pub force_resync_next: Option<DeltaResync>,
}

impl Default for DeltaConfig {
    fn default() -> Self {
        DeltaConfig {
            token_ttl_secs: 7 * 24 * 3600,
            page_size: 100,
            members_per_page: 100,
            expired: DeltaResync::SyncStateNotFound,
            force_resync_next: None,
        }
    }
}

/// Graph's state: the directory, delta bookkeeping and the knobs tests turn.
#[derive(Debug)]
pub struct GraphState {
    pub directory: Directory,
    /// The base URL used in `@odata.nextLink`s and as the token audience; taken from the first
    /// request's `Host` header when not set.
    pub base_url: Option<String>,
    /// Request budget (none by default).
    pub throttle: Option<Throttle>,
    window: crate::pace::FixedWindow,
    pub delta: DeltaConfig,
    pub managed_devices_delta: NoDelta,
    /// Intune ignores filters it does not support and returns everything (§B.7, [OBS]); when
    /// false it answers 400 instead.
    pub intune_ignores_unsupported_filters: bool,
    /// Intune's page size (about 1000, §B.7).
    pub intune_page_size: usize,
    /// Requests answered 429 by the budget so far.
    pub throttled: u64,
    /// Incremental delta rounds' aggregated changes, reused by their later pages.
    delta_rounds: delta::RoundCache,
}

impl GraphState {
    /// State over a generated directory.
    pub fn new(directory: Directory) -> GraphState {
        GraphState {
            directory,
            base_url: None,
            throttle: None,
            window: crate::pace::FixedWindow::default(),
            delta: DeltaConfig::default(),
            managed_devices_delta: NoDelta::BadRequest,
            intune_ignores_unsupported_filters: true,
            intune_page_size: 1000,
            throttled: 0,
            delta_rounds: delta::RoundCache::default(),
        }
    }

    /// Counts a request against the budget; `Some(Retry-After)` when over it.
    fn spend(&mut self, now: OffsetDateTime, scale: f64) -> Option<crate::pace::RetryAfter> {
        let throttle = self.throttle?;
        let per = crate::pace::scaled(throttle.per_seconds.max(1) as f64, scale);
        let wait = self.window.hit(throttle.requests, per, now).err()?;
        self.throttled += 1;
        Some(crate::pace::RetryAfter::until(wait, scale))
    }
}

/// Graph's router.
pub fn router() -> Router<Arc<World>> {
    Router::new()
        .route("/v1.0/{*path}", any(dispatch))
        .fallback(any(unknown_version))
}

/// Graph's OData error body (api/microsoft.md §E).
pub fn error_body(code: &str, message: &str) -> serde_json::Value {
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let id = crate::identity::uuid_like();
    serde_json::json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": { "date": date, "request-id": id, "client-request-id": id }
        }
    })
}

/// The JSON content type Graph answers with.
const ODATA_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A JSON answer with Graph's headers.
pub(crate) fn respond(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(ODATA_JSON));
    if let Ok(id) = HeaderValue::from_str(&crate::identity::uuid_like()) {
        headers.insert("request-id", id);
    }
    response
}

/// An error answer in Graph's shape.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = respond(status, &error_body(code, message));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

pub(crate) fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn bad_segment(segment: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Resource not found for the segment '{segment}'."),
    )
}

async fn unknown_version(uri: axum::http::Uri) -> Response {
    let segment = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Invalid version: {segment}"),
    )
}

/// Who is calling, as established from the bearer token.
pub(crate) struct Ctx {
    pub base: String,
    pub roles: Vec<String>,
    pub headers: HeaderMap,
    pub now: OffsetDateTime,
}

impl Ctx {
    fn has_any(&self, roles: &[&str]) -> bool {
        self.roles
            .iter()
            .any(|r| roles.iter().any(|w| r.eq_ignore_ascii_case(w)))
    }

    /// `ConsistencyLevel: eventual` was sent.
    pub fn eventual(&self) -> bool {
        self.headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    }

    /// `Prefer: return=minimal` was sent.
    pub fn minimal(&self) -> bool {
        self.headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
            })
    }
}

/// The permission an endpoint needs (application permissions, §B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Users,
    Groups,
    Applications,
    Devices,
    ManagedDevices,
    /// `GET /users/{id}/memberOf`: application access to another user's direct memberships is
    /// granted by Directory.Read.All only (user-list-memberof, "Permissions for another user's
    /// direct memberships"; msgraph-metadata `permissions/beta/User.json` lists
    /// `/users/{id}/memberof` under no application scheme of User.Read.All).
    UserMemberships,
}

fn allowed(need: Need) -> &'static [&'static str] {
    match need {
        Need::Users => &[
            "User.Read.All",
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        Need::Groups => &[
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        Need::Applications => &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        Need::Devices => &[
            "Device.Read.All",
            "Device.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        Need::ManagedDevices => &[
            "DeviceManagementManagedDevices.Read.All",
            "DeviceManagementManagedDevices.ReadWrite.All",
        ],
        Need::UserMemberships => &["Directory.Read.All", "Directory.ReadWrite.All"],
    }
}

fn unauthorized(failure: AuthFailure) -> Response {
    let message = match failure {
        AuthFailure::Missing => "Access token is empty.",
        AuthFailure::Invalid => "CompactToken parsing failed with error code: 80049217",
        AuthFailure::Expired => "Access token has expired or is not yet valid.",
        AuthFailure::WrongAudience => "Access token validation failure. Invalid audience.",
    };
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
    );
    response.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""),
    );
    response
}

fn forbidden(need: Need, base: &str) -> Response {
    if need == Need::ManagedDevices {
        // Intune nests a JSON document inside `message` (§B.7).
        let activity = crate::identity::uuid_like();
        let inner = serde_json::json!({
            "_version": 3,
            "Message": format!("Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementManagedDevices.Read.All, DeviceManagementManagedDevices.ReadWrite.All - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: {activity} - Url: {base}/DeviceFE/StatelessDeviceFEService/deviceManagement/managedDevices?api-version=2024-06-14"),
            "CustomApiErrorPhrase": "",
            "RetryAfter": null,
            "ErrorSourceService": "",
            "HttpHeaders": "{}",
        });
        let message = serde_json::to_string_pretty(&inner)
            .unwrap_or_default()
            .replace('\n', "\r\n");
        return error(StatusCode::FORBIDDEN, "Forbidden", &message);
    }
    error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// A 429 from the request budget (§D.1).
fn too_many(retry_after: crate::pace::RetryAfter, client_id: &str) -> Response {
    let date = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let id = crate::identity::uuid_like();
    let body = serde_json::json!({"error": {
        "code": "TooManyRequests",
        "message": "Please retry again later.",
        "innerError": {"code": "429", "date": date, "message": "Please retry after",
                       "request-id": id, "client-request-id": id, "status": "429"}
    }});
    let mut response = respond(StatusCode::TOO_MANY_REQUESTS, &body);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("retry-after", retry_after.header());
    if let Ok(scope) = HeaderValue::from_str(&format!(
        "Tenant_Application/ReadWrite/{client_id}/{}",
        crate::identity::TENANT_ID
    )) {
        headers.insert("x-ms-throttle-scope", scope);
    }
    headers.insert(
        "x-ms-throttle-information",
        HeaderValue::from_static("ResourceUnitLimitExceeded"),
    );
    response
}

/// Authenticates, checks the permission and spends the request budget.
fn begin(world: &World, headers: &HeaderMap, need: Need) -> Result<Ctx, Response> {
    let now = world.now();
    let base = {
        let graph = lock(&world.graph);
        graph.base_url.clone()
    };
    let base = match base {
        Some(base) => base,
        None => {
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            let base = format!("http://{host}");
            lock(&world.graph).base_url = Some(base.clone());
            base
        }
    };
    let token = lock(&world.identity)
        .authenticate(headers, &base, now)
        .map_err(unauthorized)?;
    if let Some(retry_after) = lock(&world.graph).spend(now, world.time_scale()) {
        return Err(too_many(retry_after, &token.client_id));
    }
    let ctx = Ctx {
        base,
        roles: token.roles,
        headers: headers.clone(),
        now,
    };
    if !ctx.has_any(allowed(need)) {
        return Err(forbidden(need, &ctx.base));
    }
    Ok(ctx)
}

/// Keeps the Crosswalk Sync app registration's secrets equal to the identity platform's (tests
/// change them there), recording a change for delta when they differ.
fn sync_crosswalk_secrets(world: &World) {
    let secrets: Option<Vec<PasswordCredential>> = {
        let identity = lock(&world.identity);
        identity
            .apps
            .iter()
            .find(|a| a.client_id == crate::identity::CLIENT_ID)
            .map(|app| {
                app.secrets
                    .iter()
                    .map(|s| PasswordCredential {
                        key_id: s.key_id.clone(),
                        display_name: Some(s.display_name.clone()),
                        hint: Some(s.value.chars().take(3).collect()),
                        start: s.start.replace_nanosecond(0).unwrap_or(s.start),
                        end: s.end.replace_nanosecond(0).unwrap_or(s.end),
                    })
                    .collect()
            })
    };
    let Some(secrets) = secrets else { return };
    let mut graph = lock(&world.graph);
    let dir = &mut graph.directory;
    let Some(app) = dir.application_by_app_id(crate::identity::CLIENT_ID) else {
        return;
    };
    if app.password_credentials != secrets {
        let id = app.id.clone();
        dir.update_application(&id, |a| a.password_credentials = secrets);
    }
}

fn is_delta(segment: &str) -> bool {
    matches!(
        segment,
        "delta" | "microsoft.graph.delta" | "microsoft.graph.delta()" | "delta()"
    )
}

/// `memberOf`: Graph's path segments are case-insensitive.
fn is_member_of(segment: &str) -> bool {
    segment.eq_ignore_ascii_case("memberOf")
}

/// The OData cast to groups (`…/memberOf/microsoft.graph.group`).
fn is_group_cast(segment: &str) -> bool {
    segment.eq_ignore_ascii_case("microsoft.graph.group")
}

fn collection(segment: &str) -> Option<(Kind, Need)> {
    Some(match segment {
        "users" => (Kind::User, Need::Users),
        "groups" => (Kind::Group, Need::Groups),
        "applications" => (Kind::Application, Need::Applications),
        "devices" => (Kind::Device, Need::Devices),
        _ => return None,
    })
}

async fn dispatch(
    State(world): State<Arc<World>>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(&first) = segments.first() else {
        return bad_segment("v1.0");
    };
    let need = match first {
        "deviceManagement" => Need::ManagedDevices,
        "users" if segments.get(2).is_some_and(|s| is_member_of(s)) => Need::UserMemberships,
        other => match collection(other) {
            Some((_, need)) => need,
            None => return bad_segment(other),
        },
    };
    if first == "deviceManagement" && segments.get(1) != Some(&"managedDevices") {
        return bad_segment(segments.get(1).copied().unwrap_or(first));
    }
    let ctx = match begin(&world, &headers, need) {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    if method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        );
    }
    if need == Need::Applications {
        sync_crosswalk_secrets(&world);
    }
    let query = query::Query::parse(raw.as_deref());
    let mut graph = lock(&world.graph);
    let state = &mut *graph;
    if first == "deviceManagement" {
        return match segments[2..] {
            [] => list::managed_devices(state, &ctx, query),
            [seg] if is_delta(seg) => match state.managed_devices_delta {
                NoDelta::BadRequest => bad_segment(seg),
                NoDelta::NotFound => error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    &format!("Resource not found for the segment '{seg}'."),
                ),
            },
            [id] => list::managed_device(state, &ctx, &query, id),
            [_, rest, ..] => bad_segment(rest),
        };
    }
    let Some((kind, _)) = collection(first) else {
        return bad_segment(first);
    };
    match segments[1..] {
        [] => list::collection(state, &ctx, query, kind),
        [seg] if is_delta(seg) => delta::delta(state, &ctx, query, kind),
        ["$count"] => list::count(state, &ctx, query, kind),
        [id] => list::single(state, &ctx, &query, kind, id),
        [id, "manager"] if kind == Kind::User => list::manager(state, &ctx, &query, id),
        [id, rel @ ("members" | "transitiveMembers" | "owners")] if kind == Kind::Group => {
            list::group_relation(state, &ctx, query, id, rel)
        }
        [id, "owners"] if kind == Kind::Application => {
            list::application_owners(state, &ctx, query, id)
        }
        [id, rel] if is_member_of(rel) && kind != Kind::Application => {
            list::member_of(state, &ctx, query, kind, id, false)
        }
        [id, rel, cast]
            if is_member_of(rel) && is_group_cast(cast) && kind != Kind::Application =>
        {
            list::member_of(state, &ctx, query, kind, id, true)
        }
        [_, rest, ..] => bad_segment(rest),
    }
}
