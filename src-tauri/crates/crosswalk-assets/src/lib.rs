//! Client for the Jira Service Management Assets REST API (Cloud).
//!
//! What for: the Assets calls Crosswalk needs to mirror Entra users, groups, app registrations
//! and Intune devices as Assets objects: workspace discovery on the Jira site, object schemas,
//! object types, attributes, status and reference types, objects, and AQL search (explicit
//! paging, plus `search_all` and `find_by_attribute` to re-identify objects by the Entra object
//! ID). Failures an admin can fix are typed (`Error::NameConflict`, `Error::UniqueViolation`,
//! `Error::ValidationFailed`, `Error::PermissionDenied`, `Error::AssetsUnavailable`) with
//! `Error::user_facing`.
//!
//! Not for: jobs, mapping Entra to Assets, the store, the Imports API (§D.9), or other Jira
//! APIs. It speaks Assets' vocabulary only. All HTTP goes through `crosswalk_http::Http`, which
//! does auth, retries (429 with or without `Retry-After`), counting and concurrency limits.
//!
//! Tested over real HTTP against `crosswalk-sandbox`'s Jira site and Assets gateway on
//! 127.0.0.1 (`src/tests.rs`), with unit tests for the wire encodings next to their code.

mod error;
mod input;
mod models;
mod objects;
mod schema;
#[cfg(test)]
mod tests;

pub use error::{Error, Result};
pub use input::{
    AttributeInput, AttributeValue, DefaultType, NewAttribute, NewObjectSchema, NewObjectType,
    NewStatusType, ObjectInput,
};
pub use models::{
    AttributeKind, DefaultTypeInfo, Icon, Object, ObjectAttribute, ObjectAttributeValue,
    ObjectSchema, ObjectType, ObjectTypeAttribute, Page, ReferenceType, StatusCategory, StatusType,
};
pub use objects::aql_quote;

use crate::error::from_http;
use crosswalk_core::Secret;
use crosswalk_http::{Auth, Http, HttpBuilder, RequestSpec, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Name of the remote in logs, errors and request counts.
pub const REMOTE: &str = "assets";

/// Requests in flight at once. Assets allows 2,000 creates and 1,000 AQL searches or updates per
/// minute per endpoint, and 10,000 per minute per site (§D.10). At typical 80–200 ms latencies
/// eight parallel requests (about 55 a second) outrun the create budget (about 33 a second), so
/// a large sync runs at the documented limit: the window's 429s are waited out by the HTTP layer
/// (`Retry-After`), costing a request each but no time beyond the limit itself. Four would stay
/// under the limit and leave a sixth of it unused.
pub const MAX_CONCURRENCY: usize = 8;

/// Page size `search_all` asks for.
const SEARCH_PAGE: u32 = 100;

/// The Assets API of one workspace.
#[derive(Debug, Clone)]
pub struct AssetsClient {
    http: Http,
}

impl AssetsClient {
    /// Wraps an `Http` whose base URL is the workspace API base (see [`AssetsClient::base_url`]).
    pub fn new(http: Http) -> AssetsClient {
        AssetsClient { http }
    }

    /// The workspace API base, `{gateway}/jsm/assets/workspace/{workspaceId}/v1/`; `gateway` is
    /// `https://api.atlassian.com` (or its `/ex/jira/{cloudId}` form, kept as a prefix).
    ///
    /// # Errors
    /// `Error::Http(InvalidUrl)` when the workspace id is not a plain id.
    pub fn base_url(gateway: &Url, workspace_id: &str) -> Result<Url> {
        let plain = !workspace_id.is_empty()
            && workspace_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain {
            return Err(Error::Http(crosswalk_http::Error::InvalidUrl {
                remote: REMOTE.to_owned(),
                detail: "the Assets workspace id is not valid".to_owned(),
            }));
        }
        let text = format!(
            "{}/jsm/assets/workspace/{workspace_id}/v1/",
            gateway.as_str().trim_end_matches('/')
        );
        Url::parse(&text).map_err(|error| {
            Error::Http(crosswalk_http::Error::InvalidUrl {
                remote: REMOTE.to_owned(),
                detail: format!("the Assets gateway URL is not valid ({error})"),
            })
        })
    }

    /// An `Http` builder for `base_url` with Basic auth (account email + API token) and the
    /// documented concurrency limit; add a counter or retry policy, then `build()`.
    pub fn http_builder(base_url: Url, email: impl Into<String>, api_token: Secret) -> HttpBuilder {
        Http::builder(REMOTE)
            .base_url(base_url)
            .auth(Auth::Basic {
                user: email.into(),
                secret: api_token,
            })
            .max_concurrency(MAX_CONCURRENCY)
    }

    /// The underlying HTTP layer (for its counter).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Sends `spec` and parses the JSON answer.
    async fn send<T: DeserializeOwned>(&self, spec: RequestSpec) -> Result<T> {
        let response = self.http.send(spec).await.map_err(from_http)?;
        Ok(response.json()?)
    }

    /// Sends `spec`, handing back a 400 answer's error collection instead of failing.
    async fn send_checked<T: DeserializeOwned>(
        &self,
        spec: RequestSpec,
    ) -> Result<std::result::Result<T, Rejection>> {
        let response = self
            .http
            .send(spec.allow_status(StatusCode::BAD_REQUEST))
            .await
            .map_err(from_http)?;
        if response.status() == StatusCode::BAD_REQUEST {
            return Ok(Err(Rejection::parse(response.body())));
        }
        Ok(Ok(response.json()?))
    }
}

/// A 400 answer's `{"errorMessages":[…],"errors":{…}}`, read leniently.
#[derive(Debug, Default)]
pub(crate) struct Rejection {
    pub messages: Vec<String>,
    pub errors: BTreeMap<String, String>,
}

impl Rejection {
    fn parse(body: &[u8]) -> Rejection {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default)]
            error_messages: Vec<String>,
            #[serde(default)]
            errors: BTreeMap<String, serde_json::Value>,
        }
        match serde_json::from_slice::<Raw>(body) {
            Ok(raw) => Rejection {
                messages: raw.error_messages,
                errors: raw
                    .errors
                    .into_iter()
                    .map(|(key, value)| {
                        let text = match value {
                            serde_json::Value::String(text) => text,
                            other => other.to_string(),
                        };
                        (key, text)
                    })
                    .collect(),
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.trim().chars().take(300).collect();
                Rejection {
                    messages: vec![crosswalk_http::redact(&text)],
                    errors: BTreeMap::new(),
                }
            }
        }
    }

    /// The generic form: `Error::ValidationFailed`.
    pub(crate) fn into_error(self, route: &'static str) -> Error {
        Error::ValidationFailed {
            route,
            messages: self.messages,
            errors: self.errors,
        }
    }
}

/// Percent-encodes `text` for one path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The Assets workspace id of the Jira site behind `site` (Basic auth, site base URL), or
/// `None` when the site has no Assets workspace.
///
/// # Errors
/// `Error::PermissionDenied` when the account may not use Assets (or the plan lacks it: Jira
/// answers 403 for both); `Error::Http` otherwise.
pub async fn discover_workspace(site: &Http) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Workspaces {
        #[serde(default)]
        values: Vec<Workspace>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Workspace {
        #[serde(default)]
        workspace_id: String,
    }
    let spec = RequestSpec::get(
        "/rest/servicedeskapi/assets/workspace",
        "/rest/servicedeskapi/assets/workspace?start=0&limit=50",
    )
    .allow_status(StatusCode::NOT_FOUND);
    let response = site.send(spec).await.map_err(from_http)?;
    if response.status() == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let found: Workspaces = response.json()?;
    Ok(found
        .values
        .into_iter()
        .map(|w| w.workspace_id)
        .find(|id| !id.is_empty()))
}

/// Like [`discover_workspace`], but a site without Assets is an error.
///
/// # Errors
/// `Error::AssetsUnavailable` when the site has no workspace; see [`discover_workspace`].
pub async fn require_workspace(site: &Http) -> Result<String> {
    discover_workspace(site)
        .await?
        .ok_or(Error::AssetsUnavailable)
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn base_url_keeps_the_gateway_prefix_and_rejects_odd_ids() {
        let gateway = Url::parse("https://api.atlassian.com/ex/jira/abc/").expect("valid");
        let url = AssetsClient::base_url(&gateway, "f1668d0c-828c").expect("valid id");
        assert_eq!(
            url.as_str(),
            "https://api.atlassian.com/ex/jira/abc/jsm/assets/workspace/f1668d0c-828c/v1/"
        );
        assert!(AssetsClient::base_url(&gateway, "../x").is_err());
        assert!(AssetsClient::base_url(&gateway, "").is_err());
    }

    #[test]
    fn rejections_read_attribute_keys() {
        let r = Rejection::parse(
            br#"{"errorMessages":[],"errors":{"rlabs-insight-attribute-1881":"Invalid Group(s)"}}"#,
        );
        assert_eq!(r.errors["rlabs-insight-attribute-1881"], "Invalid Group(s)");
        let r = Rejection::parse(b"Bad things");
        assert_eq!(r.messages, vec!["Bad things".to_owned()]);
        assert_eq!(encode("a b/\"c\""), "a%20b%2F%22c%22");
    }
}
