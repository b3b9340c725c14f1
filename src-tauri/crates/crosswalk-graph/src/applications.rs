//! App registrations: `GET /applications` (secret and certificate expiry) and lookup by client ID.

use crate::{Application, DirectoryRef, GraphClient, Page, Resource, Result};

/// Properties the sync maps for an app registration, credentials included for expiry warnings.
pub const APPLICATION_SELECT: &str =
    "id,appId,displayName,createdDateTime,passwordCredentials,keyCredentials";

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
