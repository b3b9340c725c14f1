//! The Microsoft identity platform's token endpoint (OAuth 2.0 client credentials with a client
//! secret), as documented: `POST /{tenant}/oauth2/v2.0/token`, form-encoded, `scope` =
//! `{resource}/.default`, AADSTS error bodies (api/microsoft.md §A). Issued tokens are opaque
//! strings bound to one resource; Graph and Dataverse check them with [`IdentityState::authenticate`].

use crate::world::{lock, World};
use crate::SandboxUrls;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use rand::Rng as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use time::OffsetDateTime;

/// The sandbox tenant's Directory (tenant) ID.
pub const TENANT_ID: &str = "8d3c5b2a-1f4e-4b6a-9c7d-2e5f8a1b3c4d";
/// The sandbox tenant's verified domain (accepted in place of the tenant ID).
pub const TENANT_DOMAIN: &str = "contoso.onmicrosoft.com";
/// The Crosswalk app registration's Application (client) ID.
pub const CLIENT_ID: &str = "3f1d9e7a-5b2c-4d8e-a6f0-9c1b2d3e4f5a";
/// Its client secret value.
pub const CLIENT_SECRET: &str = "sandbox-client-secret~Kq8Q~value";
/// Its client secret's ID (what admins paste by mistake instead of the value).
pub const CLIENT_SECRET_ID: &str = "b7e1c2d3-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
/// The application permissions Entra Sync needs, all granted with admin consent by default.
pub const GRAPH_ROLES: [&str; 5] = [
    "User.Read.All",
    "Group.Read.All",
    "Application.Read.All",
    "Device.Read.All",
    "DeviceManagementManagedDevices.Read.All",
];

/// A client secret of an app registration.
#[derive(Debug, Clone)]
pub struct ClientSecret {
    pub key_id: String,
    pub value: String,
    pub display_name: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

/// An app registration (with its service principal) in the tenant.
#[derive(Debug, Clone)]
pub struct AppRegistration {
    pub client_id: String,
    pub display_name: String,
    pub secrets: Vec<ClientSecret>,
    /// Granted application permissions per resource (with admin consent).
    pub roles: BTreeMap<String, Vec<String>>,
}

/// What an issued access token stands for.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub tenant_id: String,
    pub client_id: String,
    /// The resource (audience) it was issued for, without a trailing slash.
    pub resource: String,
    /// Application permissions granted when it was issued.
    pub roles: Vec<String>,
    pub expires_at: OffsetDateTime,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a token this identity platform issued.
    Invalid,
    Expired,
    /// Issued for another resource (e.g. a Graph token sent to Dataverse).
    WrongAudience,
}

/// Tenants, app registrations, issued tokens, and the knobs tests turn.
#[derive(Debug)]
pub struct IdentityState {
    pub tenant_id: String,
    pub tenant_domain: String,
    pub apps: Vec<AppRegistration>,
    /// Resources with a service principal in the tenant (Graph and the Dataverse org).
    pub resources: Vec<String>,
    tokens: HashMap<String, TokenInfo>,
    /// `expires_in` of issued tokens; tests shorten it to exercise renewal.
    pub token_lifetime_secs: i64,
    /// Tokens issued so far (tests assert caching).
    pub tokens_issued: u64,
}

fn trimmed(url: &url::Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

impl IdentityState {
    /// The sandbox tenant with the Crosswalk app consented for Graph and Dataverse.
    pub fn new(urls: &SandboxUrls) -> IdentityState {
        let now = OffsetDateTime::now_utc();
        let graph = trimmed(&urls.graph);
        let dataverse = trimmed(&urls.dataverse);
        let mut roles = BTreeMap::new();
        roles.insert(
            graph.clone(),
            GRAPH_ROLES.iter().map(|r| (*r).to_owned()).collect(),
        );
        roles.insert(dataverse.clone(), Vec::new());
        IdentityState {
            tenant_id: TENANT_ID.into(),
            tenant_domain: TENANT_DOMAIN.into(),
            apps: vec![AppRegistration {
                client_id: CLIENT_ID.into(),
                display_name: "Crosswalk Sync".into(),
                secrets: vec![ClientSecret {
                    key_id: CLIENT_SECRET_ID.into(),
                    value: CLIENT_SECRET.into(),
                    display_name: "crosswalk".into(),
                    start: now - time::Duration::days(300),
                    end: now + time::Duration::days(430),
                }],
                roles,
            }],
            resources: vec![graph, dataverse],
            tokens: HashMap::new(),
            token_lifetime_secs: 3599,
            tokens_issued: 0,
        }
    }

    /// The Crosswalk app registration (tests change its secrets and permissions).
    pub fn app_mut(&mut self, client_id: &str) -> Option<&mut AppRegistration> {
        self.apps.iter_mut().find(|app| app.client_id == client_id)
    }

    /// Removes an application permission (as if consent were revoked); new tokens lack it.
    pub fn revoke_role(&mut self, client_id: &str, role: &str) {
        if let Some(app) = self.app_mut(client_id) {
            app.roles
                .values_mut()
                .for_each(|roles| roles.retain(|r| r != role));
        }
    }

    /// Makes every token issued so far expired (as if the clock passed their lifetime).
    pub fn expire_all_tokens(&mut self) {
        let past = OffsetDateTime::UNIX_EPOCH;
        self.tokens
            .values_mut()
            .for_each(|token| token.expires_at = past);
    }

    /// Checks an `Authorization` header for `resource` at `now`.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        resource: &str,
        now: OffsetDateTime,
    ) -> Result<TokenInfo, AuthFailure> {
        let value = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or(AuthFailure::Missing)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthFailure::Missing)?
            .trim();
        if token.is_empty() {
            return Err(AuthFailure::Missing);
        }
        let info = self.tokens.get(token).ok_or(AuthFailure::Invalid)?;
        if info.resource != resource.trim_end_matches('/') {
            return Err(AuthFailure::WrongAudience);
        }
        if info.expires_at <= now {
            return Err(AuthFailure::Expired);
        }
        Ok(info.clone())
    }
}

/// The token endpoint's router.
pub fn router() -> Router<Arc<World>> {
    Router::new().route("/{tenant}/oauth2/v2.0/token", post(token).get(token_get))
}

fn aadsts(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let now = OffsetDateTime::now_utc();
    let stamp = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let trace = uuid_like();
    let body = serde_json::json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {}\r\nTimestamp: {stamp}", uuid_like()),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": uuid_like(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, Json(body)).into_response()
}

/// A random GUID-shaped string (trace ids, tokens).
pub fn uuid_like() -> String {
    let mut rng = rand::rng();
    let bytes: [u8; 16] = rng.random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

async fn token_get() -> Response {
    aadsts(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900561,
        "The endpoint only accepts POST requests. Received a GET request.",
    )
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?,
    )
    .ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((form_decode(user), form_decode(pass)))
}

fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("x={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn token(
    State(world): State<Arc<World>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let lower = tenant.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "consumers") {
        return aadsts(StatusCode::BAD_REQUEST, "invalid_request", 9001023, "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.");
    }
    let now = world.now();
    let mut identity = lock(&world.identity);
    if !(lower == identity.tenant_id || lower == identity.tenant_domain) {
        return aadsts(StatusCode::BAD_REQUEST, "invalid_tenant", 90002, &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."));
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        None => {
            return aadsts(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        }
        Some(other) => {
            return aadsts(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            )
        }
    }
    let basic = basic_credentials(&headers);
    let client_id = form
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|(user, _)| user.clone()));
    let Some(client_id) = client_id else {
        return aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(scope) = form.get("scope") else {
        return aadsts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    let Some(app) = identity
        .apps
        .iter()
        .find(|app| app.client_id.eq_ignore_ascii_case(&client_id))
        .cloned()
    else {
        return aadsts(StatusCode::BAD_REQUEST, "unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."));
    };
    let secret = form
        .get("client_secret")
        .cloned()
        .or_else(|| basic.map(|(_, pass)| pass));
    let Some(secret) = secret else {
        return aadsts(StatusCode::UNAUTHORIZED, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    };
    match app.secrets.iter().find(|s| s.value == secret) {
        None => {
            return aadsts(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", app.client_id));
        }
        Some(found) if found.end <= now => {
            return aadsts(StatusCode::UNAUTHORIZED, "invalid_client", 7000222, &format!("The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.client_id));
        }
        Some(_) => {}
    }
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let mut resources = Vec::new();
    for scope in &scopes {
        let Some(resource) = scope.strip_suffix("/.default") else {
            return aadsts(StatusCode::BAD_REQUEST, "invalid_scope", 70011, &format!("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. For app-only access use <resource>/.default."));
        };
        let resource = resource.trim_end_matches('/').to_owned();
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    if resources.len() != 1 {
        return aadsts(StatusCode::BAD_REQUEST, "invalid_scope", 700022, "The provided value for the input parameter scope is not valid because it contains more than one resource. The scope must contain a single resource.");
    }
    let resource = resources.remove(0);
    if !identity.resources.contains(&resource) {
        return aadsts(StatusCode::BAD_REQUEST, "invalid_resource", 500011, &format!("The resource principal named {resource} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", identity.tenant_domain));
    }
    let roles = app.roles.get(&resource).cloned().unwrap_or_default();
    let lifetime = identity.token_lifetime_secs;
    let access_token = format!("sandbox.{}.{}", uuid_like(), uuid_like());
    let tenant_id = identity.tenant_id.clone();
    identity.tokens.insert(
        access_token.clone(),
        TokenInfo {
            tenant_id,
            client_id: app.client_id.clone(),
            resource,
            roles,
            expires_at: now + time::Duration::seconds(lifetime),
        },
    );
    identity.tokens_issued += 1;
    Json(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }))
    .into_response()
}
