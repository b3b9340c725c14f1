//! Client for the Jira Cloud platform REST API v3 (`/work/shared/api/atlassian.md` §A–§C, §E).
//!
//! What for: the calls the Dynamics 365 ↔ Jira connector makes: discovery (myself with its time
//! zone, projects, workflow statuses per issue type, createmeta field schemas, fields), issues
//! (create with inline properties, get, edit with `historyMetadata`, transitions, changelog paged
//! or in bulk filtered by field, JQL search on `/search/jql` with `nextPageToken`, properties and
//! `reconcileIssues`), comments with ADF bodies and comment properties, attachments, remote links
//! keyed by `globalId`, issue properties and user search. The [`adf`] and [`jql`] modules
//! convert plain text to and from ADF and format `updated >=` cursors in the account's own time
//! zone, which is how Jira reads JQL dates.
//!
//! Not for: jobs, cursors storage, field mapping or echo suppression (the engine's), nor OAuth,
//! scoped tokens or Jira Data Center. It speaks Jira's vocabulary only.
//!
//! All HTTP goes through `crosswalk_http::Http` (Basic auth, retries honouring `Retry-After`,
//! concurrency limit). Tested over real HTTP against the `crosswalk-sandbox` Jira server
//! (`src/tests.rs`), with unit tests for ADF and JQL formatting next to their code.

pub mod adf;
mod attachments;
mod comments;
mod error;
mod issues;
pub mod jql;
mod links;
mod meta;
mod models;

pub use error::{Error, Result};
pub use models::*;

use crosswalk_core::Secret;
use crosswalk_http::{Auth, Http, HttpBuilder, RequestSpec, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// In-flight requests per Jira site: atlassian.md §C advises a pool of 4–8 per tenant, and the
/// burst limiter is per tenant + endpoint + method, so the low end leaves room for other jobs.
pub const MAX_CONCURRENCY: usize = 4;

/// A Jira Cloud site, spoken to with one account's email and API token.
pub struct JiraClient {
    http: Http,
    /// `GET /attachment/meta`, read once: the upload limit is a site setting.
    attachment_meta: Mutex<Option<AttachmentMeta>>,
}

impl JiraClient {
    /// Wraps an `Http` whose base URL is the site (`https://{site}.atlassian.net`) with Basic auth.
    pub fn new(http: Http) -> JiraClient {
        JiraClient {
            http,
            attachment_meta: Mutex::new(None),
        }
    }

    /// The `Http` settings this client expects: remote `jira`, the site URL, Basic auth with the
    /// account email and API token (§A.1), and [`MAX_CONCURRENCY`]. Callers may add a counter or
    /// a retry policy before `build()`.
    pub fn http_builder(site: Url, email: &str, api_token: Secret) -> HttpBuilder {
        Http::builder("jira")
            .base_url(site)
            .auth(Auth::Basic {
                user: email.to_owned(),
                secret: api_token,
            })
            .max_concurrency(MAX_CONCURRENCY)
    }

    /// The underlying HTTP layer (request counts, base URL).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Sends `spec`, turning 403 into `Error::PermissionDenied`.
    async fn send(&self, spec: RequestSpec) -> Result<Response> {
        self.http.send(spec).await.map_err(permission)
    }

    /// GETs and parses JSON.
    async fn get<T: DeserializeOwned>(&self, route: &'static str, target: String) -> Result<T> {
        Ok(self.send(RequestSpec::get(route, target)).await?.json()?)
    }

    /// Sends a write whose 400 ErrorCollection becomes `Error::FieldErrors`.
    async fn write(&self, route: &'static str, spec: RequestSpec) -> Result<Response> {
        let response = self
            .send(spec.allow_status(StatusCode::BAD_REQUEST))
            .await?;
        if response.status() == StatusCode::BAD_REQUEST {
            let (messages, errors) = error_collection(&response);
            return Err(Error::FieldErrors {
                route,
                messages,
                errors,
            });
        }
        Ok(response)
    }
}

fn permission(error: crosswalk_http::Error) -> Error {
    match error {
        crosswalk_http::Error::Forbidden { route, detail, .. } => {
            Error::PermissionDenied { route, detail }
        }
        other => Error::Http(other),
    }
}

/// Reads Jira's `{"errorMessages":[],"errors":{}}` leniently (§E): other JSON shapes and text
/// bodies become one redacted message.
fn error_collection(response: &Response) -> (Vec<String>, BTreeMap<String, String>) {
    let text = |value: &Value| match value {
        Value::String(text) => crosswalk_http::redact(text),
        other => crosswalk_http::redact(&other.to_string()),
    };
    let mut messages = Vec::new();
    let mut errors = BTreeMap::new();
    match serde_json::from_slice::<Value>(response.body()) {
        Ok(Value::Object(body)) => {
            if let Some(list) = body.get("errorMessages").and_then(Value::as_array) {
                messages.extend(list.iter().map(text));
            }
            if let Some(map) = body.get("errors").and_then(Value::as_object) {
                errors.extend(
                    map.iter()
                        .map(|(field, message)| (field.clone(), text(message))),
                );
            }
            if messages.is_empty() && errors.is_empty() {
                if let Some(message) = body.get("message") {
                    messages.push(text(message));
                }
            }
        }
        _ => {
            let body = response.text();
            let body = body.trim();
            if !body.is_empty() {
                messages.push(crosswalk_http::redact(
                    &body.chars().take(300).collect::<String>(),
                ));
            }
        }
    }
    (messages, errors)
}

/// Percent-encodes one path segment (issue keys are safe, property keys and ids may not be).
fn seg(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `path?k=v&…` with form-encoded values.
fn with_query(path: String, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return path;
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

#[cfg(test)]
mod tests;
