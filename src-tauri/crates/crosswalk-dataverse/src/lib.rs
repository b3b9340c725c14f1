//! Client for the Dataverse Web API v9.2 (Dynamics 365): the connector's side of linking
//! Dataverse records (cases/incidents, tasks, leads...) with Jira issues.
//!
//! What it is for: table metadata for field mappings (`entity`, `attributes` with choice
//! options, `column_types` for the one-request list), records (`get`, `list`, `create`,
//! `update` with ETags, `delete`), change tracking (`track_changes`), records by id in
//! batches (`list_by_ids`), notes with attachments (single request or block upload, block
//! download; in memory or streamed through a `Spool` a block at a time; created under a
//! caller-chosen id so retries never duplicate them; notes changed since a time across a
//! table), record state (`state_options`;
//! cases: `close_incident`, `cancel_incident`; opportunities: `win_opportunity`,
//! `lose_opportunity`, `reopen_opportunity`; leads: `qualify_lead`, `disqualify_lead`), and
//! what the application user's roles grant (`user_privileges`, `secured_table`, `probe_read`)
//! for "Test connection", and auditing (`table_audit`: whether a table's columns are audited;
//! `column_change_times`: when each column of a record last changed, from `audits`). It speaks Dataverse's vocabulary only (entity set, record, attribute,
//! option set, etag, delta link, annotation, privilege): no jobs, no store, no Jira. Paging is
//! explicit: `list`/`track_changes` return one page and the caller follows the link.
//!
//! All HTTP goes through `crosswalk_http::Http` (retries, `Retry-After`, token refresh,
//! redaction). Build it with [`DataverseClient::http_builder`] or [`DataverseClient::connect`],
//! which cap concurrency at [`MAX_CONCURRENCY`] to stay under the service protection limits.
//!
//! Tested over real HTTP against the sandbox's Dataverse and Entra servers (`src/tests.rs`),
//! with unit tests for the parsing helpers next to their code.

mod audit;
mod error;
mod incidents;
mod leads;
mod metadata;
mod models;
mod notes;
mod opportunities;
mod privileges;
mod records;

pub use audit::{AuditOff, AuditedColumn, TableAudit};
pub use error::{Error, Result};
pub use models::{
    Attachment, Attribute, AttributeKind, Change, ChangePage, ChangedNotes, ColumnType, DeltaLink,
    EntityInfo, Etag, NextLink, Note, NoteWrite, OptionValue, Page, Query, Record,
    SpooledAttachment, TrackFrom, WhoAmI,
};
pub use notes::BLOCK_SIZE;
pub use privileges::{AccessRight, PrivilegeDepth, RolePrivilege, SecuredTable, UserPrivileges};
pub use records::{IDS_PER_REQUEST, MAX_URL_CHARS};

use crosswalk_core::Secret;
use crosswalk_http::header::{HeaderName, HeaderValue, ACCEPT};
use crosswalk_http::{
    Auth, EntraCredentials, EntraTokenProvider, Http, HttpBuilder, RequestCounter, RequestSpec,
    Response, TokenCache, Url,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Requests in flight at once per client.
///
/// Dataverse refuses more than 52 concurrent requests per user and per web server at once
/// (api/microsoft.md §F.12, error `0x80072326`, enforced immediately), and the application
/// user is one user for every job of the connection; 16 leaves room for a few clients at once.
/// The request-count and execution-time limits answer 429 with `Retry-After`, which
/// `crosswalk_http` waits out.
pub const MAX_CONCURRENCY: usize = 16;

/// The Web API path under the organization URL.
pub(crate) const API: &str = "/api/data/v9.2";

/// Client for one Dataverse environment (organization URL). Cheap to clone.
#[derive(Clone, Debug)]
pub struct DataverseClient {
    http: Http,
    /// Table info by entity set name, to find a record's primary key column and bind names.
    tables: Arc<Mutex<HashMap<String, Arc<EntityInfo>>>>,
}

impl DataverseClient {
    /// A client over `http`, whose base URL is the organization URL (e.g. `https://org.crm.dynamics.com`).
    pub fn new(http: Http) -> DataverseClient {
        DataverseClient {
            http,
            tables: Arc::default(),
        }
    }

    /// An `HttpBuilder` for `org_url` with the OData headers Dataverse expects and [`MAX_CONCURRENCY`].
    pub fn http_builder(org_url: Url) -> HttpBuilder {
        Http::builder("dataverse")
            .base_url(org_url)
            .max_concurrency(MAX_CONCURRENCY)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                HeaderName::from_static("odata-version"),
                HeaderValue::from_static("4.0"),
            )
            .header(
                HeaderName::from_static("odata-maxversion"),
                HeaderValue::from_static("4.0"),
            )
    }

    /// A client signing in with an app registration's client secret (the usual S2S set-up):
    /// tokens for `org_url/.default` from `login_url` (e.g. `https://login.microsoftonline.com`).
    ///
    /// # Errors
    /// `Error::Http(InvalidUrl)` when a URL is not a usable https URL.
    pub fn connect(
        org_url: Url,
        login_url: Url,
        tenant_id: &str,
        client_id: &str,
        secret: Secret,
        cache: TokenCache,
        counter: RequestCounter,
    ) -> Result<DataverseClient> {
        let provider = EntraTokenProvider::at_authority(
            login_url,
            cache,
            EntraCredentials {
                tenant_id: tenant_id.to_owned(),
                client_id: client_id.to_owned(),
                secret,
                resource: org_url.clone(),
            },
            counter.clone(),
        )?;
        let http = DataverseClient::http_builder(org_url)
            .auth(Auth::Bearer(provider.into_source()))
            .counter(counter)
            .build()?;
        Ok(DataverseClient::new(http))
    }

    /// The underlying HTTP layer (for its counter and base URL).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Who the connection acts as; the cheapest check that token, application user and role work.
    ///
    /// # Errors
    /// `MissingApplicationUser` when the app is not an application user of the environment.
    pub async fn who_am_i(&self) -> Result<WhoAmI> {
        self.send_json(RequestSpec::get(
            "/api/data/v9.2/WhoAmI",
            format!("{API}/WhoAmI"),
        ))
        .await
    }

    /// Sends a request and decodes Dataverse's error codes.
    pub(crate) async fn send(&self, spec: RequestSpec) -> Result<Response> {
        self.http.send(spec).await.map_err(Error::from_http)
    }

    /// Sends a request and parses the JSON answer.
    pub(crate) async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        spec: RequestSpec,
    ) -> Result<T> {
        Ok(self.send(spec).await?.json()?)
    }

    /// Adopts a table's info read earlier (by another client of the same environment, and
    /// kept by the caller), so reads of its entity set need no `EntityDefinitions` request.
    pub fn know_table(&self, info: EntityInfo) {
        self.remember(info);
    }

    /// Table info for an entity set, from the cache or `EntityDefinitions`.
    pub(crate) async fn table_by_set(&self, entity_set: &str) -> Result<Arc<EntityInfo>> {
        if let Some(info) = self.cached(entity_set) {
            return Ok(info);
        }
        let info = self.entity_by_set(entity_set).await?;
        Ok(self.remember(info))
    }

    fn cached(&self, entity_set: &str) -> Option<Arc<EntityInfo>> {
        self.tables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(entity_set)
            .cloned()
    }

    pub(crate) fn remember(&self, info: EntityInfo) -> Arc<EntityInfo> {
        let info = Arc::new(info);
        self.tables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(info.entity_set_name.clone(), Arc::clone(&info));
        info
    }
}

/// Percent-encodes a query option value (spaces as `%20`, which OData reads everywhere).
pub(crate) fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A single-quoted OData string literal (quotes doubled).
pub(crate) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An unquoted OData date-time literal in UTC, whole seconds (`2024-05-01T00:00:00Z`, §F.4).
pub(crate) fn odata_datetime(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Checks that a record id is a GUID, so it can go into a URL key as is.
pub(crate) fn check_id(id: &str) -> Result<()> {
    let ok = id.len() == 36
        && id.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what: "record id",
            value: id.chars().take(64).collect(),
        })
    }
}

/// Checks that a table or column name is a plain identifier (no path or query characters).
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<()> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            what,
            value: name.chars().take(64).collect(),
        })
    }
}

#[cfg(test)]
mod tests;
