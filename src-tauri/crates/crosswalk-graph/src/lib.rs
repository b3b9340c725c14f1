//! Client for Microsoft Graph v1.0: the Entra ID users, groups, app registrations and devices and
//! the Intune managed devices Crosswalk syncs into Assets (api/microsoft.md §B-E).
//!
//! Speaks Graph's vocabulary only (user, group, application, device, managedDevice, nextLink,
//! delta link): no jobs, no store, no UI. All HTTP goes through `crosswalk_http::Http`, whose base
//! URL is the Graph root (`https://graph.microsoft.com` or the sandbox), so retries, `Retry-After`
//! on 429/503, token refresh after a 401, request counting and secret-free errors come from there.
//!
//! - Paging is explicit: `list_*` return one [`Page`] whose typed [`NextLink`] is followed
//!   verbatim by [`GraphClient::next_page`]; [`GraphClient::collect_pages`] and
//!   [`GraphClient::for_each_page`] drive the loop when the caller wants everything.
//! - `$select` lists ([`USER_SELECT`], [`GROUP_SELECT`]…) name exactly what the sync maps, because
//!   `/users` returns only 11 properties unless asked and delta tracks only selected properties.
//!   Lists send `$top=999` (directory maximum); Intune pages at its own ~1000 and gets no `$top`.
//! - Delta ([`GraphClient::delta`] for [`User`], [`Group`], [`Application`]) yields
//!   [`DeltaItem`]s and ends with an opaque [`DeltaLink`] the caller persists. The same group can
//!   appear on several pages with slices of `members@delta`: [`DeltaMerger`] (used by
//!   [`GraphClient::collect_delta`]) merges them. An expired or invalid link becomes
//!   [`Error::ResyncRequired`]: the engine drops it and runs an initial round again.
//! - Managed devices have no delta (§C.6). [`GraphClient::list_managed_devices`] takes a `$filter`
//!   so the engine can run a cheap `lastSyncDateTime gt <watermark - 1h>` pass (only `gt`/`lt` are
//!   supported; unsupported filters may be silently ignored), but only a full listing compared
//!   with the previous one reveals deleted, retired or renamed devices; run it daily.
//! - Application delta does not track owners (a relationship; only users' `manager` and groups'
//!   `members` are tracked). [`GraphClient::list_applications_with_owners`] reads every app's
//!   owners in bulk (`$expand`: pages of 100, at most [`EXPANDED_MAX`] owners each, no nextLink),
//!   and [`GraphClient::list_application_owners`] reads an app whose list may have been cut.
//! - Direct group memberships of one object ([`GraphClient::list_member_of_groups`]: `memberOf`
//!   cast to groups) for objects whose memberships no delta round reports.
//! - A 403 becomes [`Error::PermissionMissing`] naming the application permission of that endpoint
//!   (Intune needs `DeviceManagementManagedDevices.Read.All`; `Device.Read.All` does not cover it).
//!
//! Not here: `$batch`, advanced queries (`ConsistencyLevel`) beyond `$count` and the `memberOf`
//! cast, service principals, writes.
//!
//! Tested over real HTTP against `crosswalk-sandbox`'s Graph and identity servers (`src/tests.rs`):
//! listing, delta rounds after directory mutations, expired delta links, revoked permissions,
//! throttling, malformed bodies; plus unit tests for parsing and merging next to the code.

mod applications;
mod count;
mod delta;
mod devices;
mod error;
mod groups;
mod member_of;
mod models;
mod users;

#[cfg(test)]
mod tests;

pub use applications::APPLICATION_SELECT;
pub use delta::{
    DeltaEntity, DeltaItem, DeltaLink, DeltaMerger, DeltaNext, DeltaNextLink, DeltaPage,
    DeltaRound, DeltaStart, RemovedReason,
};
pub use devices::{DEVICE_SELECT, MANAGED_DEVICE_SELECT};
pub use error::{Error, Result};
pub use groups::{GROUP_DELTA_SELECT, GROUP_SELECT};
pub use member_of::MemberOf;
pub use models::{
    Application, ApplicationOwners, Device, DirectoryRef, Group, KeyCredential, ManagedDevice,
    ManagerChange, PasswordCredential, RefChange, RemovedMarker, User, EXPANDED_MAX,
};
pub use users::{USER_DELTA_SELECT, USER_SELECT};

use crosswalk_core::Secret;
use crosswalk_http::header::{HeaderName, HeaderValue};
use crosswalk_http::{
    Auth, EntraCredentials, EntraTokenProvider, Http, RequestCounter, RequestSpec, TokenCache, Url,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

/// Largest `$top` directory lists accept ("Must be between 1 and 999 inclusive").
pub const MAX_PAGE_SIZE: u16 = 999;

/// Requests in flight at once to Graph from one connection. Graph documents no hard concurrency
/// limit for directory reads, but Intune and the identity token bucket throttle bursty apps and
/// Microsoft's guidance is "a handful"; 4 keeps a sync fast without tripping 429s.
pub const GRAPH_CONCURRENCY: usize = 4;

/// The Graph collection an endpoint belongs to, and the application permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    Users,
    Groups,
    Applications,
    Devices,
    ManagedDevices,
    /// Another user's direct memberships (`/users/{id}/memberOf`), which application permissions
    /// reach only through Directory.Read.All (user-list-memberof).
    UserMemberships,
}

impl Resource {
    /// The least-privileged Graph application permission for reading it (§B).
    pub fn permission(self) -> &'static str {
        match self {
            Resource::Users => "User.Read.All",
            Resource::Groups => "Group.Read.All",
            Resource::Applications => "Application.Read.All",
            Resource::Devices => "Device.Read.All",
            Resource::ManagedDevices => "DeviceManagementManagedDevices.Read.All",
            Resource::UserMemberships => "Directory.Read.All",
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Users => "users",
            Resource::Groups => "groups",
            Resource::Applications => "applications",
            Resource::Devices => "devices",
            Resource::ManagedDevices => "managed devices",
            Resource::UserMemberships => "users' group memberships",
        }
    }

    /// Turns the HTTP layer's 403 into the permission the admin must grant.
    pub(crate) fn map_err(self, error: crosswalk_http::Error) -> Error {
        match error {
            crosswalk_http::Error::Forbidden { route, detail, .. } => Error::PermissionMissing {
                permission: self.permission(),
                detail: if detail.is_empty() {
                    route.to_owned()
                } else {
                    format!("{route}: {detail}")
                },
            },
            other => Error::Http(other),
        }
    }
}

/// Reads Entra ID and Intune objects from Microsoft Graph. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GraphClient {
    http: Http,
    page_size: u16,
}

impl GraphClient {
    /// A client over `http`, whose base URL is the Graph root and whose auth is a bearer token for it.
    pub fn new(http: Http) -> GraphClient {
        GraphClient {
            http,
            page_size: MAX_PAGE_SIZE,
        }
    }

    /// Builds the token endpoint's and Graph's `Http` (client-credentials sign-in through `cache`,
    /// counted into `counter`, [`GRAPH_CONCURRENCY`] requests at once, `x-ms-throttle-priority: Low`
    /// because a background sync should yield to interactive apps).
    ///
    /// # Errors
    /// `Error::Http(InvalidUrl)` for a URL that is not http(s).
    pub fn connect(
        graph_url: Url,
        login_url: Url,
        tenant_id: &str,
        client_id: &str,
        secret: Secret,
        cache: TokenCache,
        counter: RequestCounter,
    ) -> Result<GraphClient> {
        let provider = EntraTokenProvider::at_authority(
            login_url,
            cache,
            EntraCredentials {
                tenant_id: tenant_id.to_owned(),
                client_id: client_id.to_owned(),
                secret,
                resource: graph_url.clone(),
            },
            counter.clone(),
        )?;
        let http = Http::builder("graph")
            .base_url(graph_url)
            .auth(Auth::Bearer(provider.into_source()))
            .max_concurrency(GRAPH_CONCURRENCY)
            .counter(counter)
            .header(
                HeaderName::from_static("x-ms-throttle-priority"),
                HeaderValue::from_static("Low"),
            )
            .build()?;
        Ok(GraphClient::new(http))
    }

    /// Sets `$top` for list requests (clamped to 1..=999); smaller pages for tests and slow links.
    #[must_use]
    pub fn with_page_size(mut self, page_size: u16) -> GraphClient {
        self.page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// The `Http` underneath (its counter feeds the run report).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The next page of a listing, following the link verbatim (it carries every query option).
    ///
    /// # Errors
    /// As the `list_*` call that produced the link.
    pub async fn next_page<T: DeserializeOwned>(&self, link: &NextLink<T>) -> Result<Page<T>> {
        self.get_page_with(link.resource, link.route, link.url.clone(), link.eventual)
            .await
    }

    /// Follows `first` to the end and returns every item.
    ///
    /// # Errors
    /// The first page that fails.
    pub async fn collect_pages<T: DeserializeOwned>(&self, first: Page<T>) -> Result<Vec<T>> {
        let mut all = Vec::new();
        self.for_each_page(first, |items| all.extend(items)).await?;
        Ok(all)
    }

    /// Hands each page's items to `f`, from `first` to the last page, without holding them all.
    ///
    /// # Errors
    /// The first page that fails (pages already handed over stay handed over).
    pub async fn for_each_page<T: DeserializeOwned>(
        &self,
        first: Page<T>,
        mut f: impl FnMut(Vec<T>),
    ) -> Result<()> {
        let mut page = first;
        loop {
            f(page.items);
            match page.next {
                Some(next) => page = self.next_page(&next).await?,
                None => return Ok(()),
            }
        }
    }

    /// One GET of a collection page.
    pub(crate) async fn get_page<T: DeserializeOwned>(
        &self,
        resource: Resource,
        route: &'static str,
        target: String,
    ) -> Result<Page<T>> {
        self.get_page_with(resource, route, target, false).await
    }

    /// [`GraphClient::get_page`] of an advanced query when `eventual`: `ConsistencyLevel:
    /// eventual` goes with this page and every later one (Graph does not carry request headers
    /// into nextLinks, §B.1).
    pub(crate) async fn get_page_with<T: DeserializeOwned>(
        &self,
        resource: Resource,
        route: &'static str,
        target: String,
        eventual: bool,
    ) -> Result<Page<T>> {
        let mut spec = RequestSpec::get(route, target);
        if eventual {
            spec = spec.header(
                HeaderName::from_static("consistencylevel"),
                HeaderValue::from_static("eventual"),
            );
        }
        let response = self
            .http
            .send(spec)
            .await
            .map_err(|error| resource.map_err(error))?;
        let envelope: Envelope<T> = response.json()?;
        Ok(Page {
            items: envelope.value,
            next: envelope.next_link.map(|url| NextLink {
                url,
                resource,
                route,
                eventual,
                _item: PhantomData,
            }),
        })
    }

    /// `{path}?$select=…&$top=…&$filter=…`, percent-encoded.
    pub(crate) fn list_target(
        &self,
        path: &str,
        select: &str,
        top: bool,
        filter: Option<&str>,
    ) -> String {
        let mut target = format!("{path}?$select={}", encode(select));
        if top {
            target.push_str(&format!("&$top={}", self.page_size));
        }
        if let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) {
            target.push_str(&format!("&$filter={}", encode(filter)));
        }
        target
    }
}

/// One page of a listing. A page may be empty while more follow.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `@odata.nextLink`, absent on the last page.
    pub next: Option<NextLink<T>>,
}

/// An `@odata.nextLink` of a listing of `T`: opaque, followed only by [`GraphClient::next_page`].
pub struct NextLink<T> {
    url: String,
    resource: Resource,
    route: &'static str,
    /// The listing is an advanced query: every page needs `ConsistencyLevel: eventual`.
    eventual: bool,
    _item: PhantomData<fn() -> T>,
}

impl<T> Clone for NextLink<T> {
    fn clone(&self) -> Self {
        NextLink {
            url: self.url.clone(),
            resource: self.resource,
            route: self.route,
            eventual: self.eventual,
            _item: PhantomData,
        }
    }
}

impl<T> fmt::Debug for NextLink<T> {
    // The query holds a paging token; the route says enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextLink")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// Graph's collection envelope.
#[derive(Deserialize)]
pub(crate) struct Envelope<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    pub delta_link: Option<String>,
}

/// Percent-encodes a query value or path segment, keeping OData's readable punctuation.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~$,'():".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn filters_are_percent_encoded_with_spaces_as_pct20() {
        assert_eq!(
            encode("lastSyncDateTime gt 2024-05-01T00:00:00Z"),
            "lastSyncDateTime%20gt%202024-05-01T00:00:00Z"
        );
        assert_eq!(encode("appId eq 'a&b'"), "appId%20eq%20'a%26b'");
    }

    #[test]
    fn forbidden_maps_to_the_endpoint_permission() {
        let error = Resource::ManagedDevices.map_err(crosswalk_http::Error::Forbidden {
            remote: "graph".into(),
            route: "/v1.0/deviceManagement/managedDevices",
            detail: "Forbidden".into(),
        });
        assert!(matches!(
            error,
            Error::PermissionMissing {
                permission: "DeviceManagementManagedDevices.Read.All",
                ..
            }
        ));
        let fix = error.user_facing().fix.unwrap_or_default();
        assert!(
            fix.contains("Device.Read.All") && fix.contains("admin consent"),
            "{fix}"
        );
    }
}
