//! App registrations: `GET /applications` (secret and certificate expiry), lookup by client ID,
//! and owners (one app's, or every app's in bulk).

use crate::{Application, ApplicationOwners, DirectoryRef, GraphClient, Page, Resource, Result};

/// Properties the sync maps for an app registration, credentials included for expiry warnings.
pub const APPLICATION_SELECT: &str =
    "id,appId,displayName,createdDateTime,passwordCredentials,keyCredentials";

/// Largest page Graph serves for a directory list with `$expand` (api/microsoft.md §B.1).
const EXPAND_PAGE_MAX: u16 = 100;

impl GraphClient {
    /// First page of app registrations, optionally narrowed by an admin's OData `$filter`.
    ///
    /// # Errors
    /// `PermissionMissing` (Application.Read.All) on 403.
    pub async fn list_applications(&self, filter: Option<&str>) -> Result<Page<Application>> {
        let target = self.list_target("/v1.0/applications", APPLICATION_SELECT, true, filter);
        self.get_page(Resource::Applications, "/v1.0/applications", target)
            .await
    }

    /// The app registration whose client ID is `app_id` (not its object ID), for the
    /// secret-expiry watch.
    ///
    /// # Errors
    /// `Http(NotFound)` when no app has that client ID; `PermissionMissing` on 403.
    pub async fn get_application_by_app_id(&self, app_id: &str) -> Result<Application> {
        let filter = format!("appId eq '{}'", app_id.replace('\'', "''"));
        let route = "/v1.0/applications?$filter=appId";
        let target = self.list_target(
            "/v1.0/applications",
            APPLICATION_SELECT,
            false,
            Some(&filter),
        );
        let page = self
            .get_page::<Application>(Resource::Applications, route, target)
            .await?;
        page.items.into_iter().next().ok_or_else(|| {
            crosswalk_http::Error::NotFound {
                remote: self.http.remote().to_owned(),
                route,
                detail: "no app registration has this application (client) ID".to_owned(),
            }
            .into()
        })
    }

    /// First page of every app registration with its owners' object IDs
    /// (`$select=id&$expand=owners($select=id)`), to notice owner changes, which application delta
    /// does not report.
    ///
    /// With `$expand` Graph pages directory objects by at most 100 (api/microsoft.md §B.1), so
    /// this asks for no more; and it expands at most [`EXPANDED_MAX`](crate::EXPANDED_MAX) items
    /// with no nextLink (Graph "Use query parameters", Expand), so an app whose
    /// [`ApplicationOwners::may_be_truncated`] is true must be read with
    /// [`GraphClient::list_application_owners`].
    ///
    /// # Errors
    /// `PermissionMissing` (Application.Read.All) on 403.
    pub async fn list_applications_with_owners(&self) -> Result<Page<ApplicationOwners>> {
        let target = format!(
            "/v1.0/applications?$select=id&$expand={}&$top={}",
            crate::encode("owners($select=id)"),
            self.page_size.min(EXPAND_PAGE_MAX)
        );
        self.get_page(
            Resource::Applications,
            "/v1.0/applications?$expand=owners",
            target,
        )
        .await
    }

    /// First page of an app registration's owners (by object ID), for the owner references.
    ///
    /// # Errors
    /// `Http(NotFound)` when the app is gone; `PermissionMissing` on 403.
    pub async fn list_application_owners(&self, id: &str) -> Result<Page<DirectoryRef>> {
        let path = format!("/v1.0/applications/{}/owners", crate::encode(id));
        let target = self.list_target(&path, "id", true, None);
        self.get_page(
            Resource::Applications,
            "/v1.0/applications/{id}/owners",
            target,
        )
        .await
    }
}
