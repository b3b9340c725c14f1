//! Users: `GET /users`, `GET /users/{id}/manager`, and the delta selection for `/users/delta`.

use crate::{encode, Error, GraphClient, Page, Resource, Result, User};
use crosswalk_http::{RequestSpec, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Properties the sync maps for a user (the default 11 lack department, employeeId,
/// accountEnabled, createdDateTime…).
pub const USER_SELECT: &str = "id,userPrincipalName,displayName,givenName,surname,mail,jobTitle,department,officeLocation,city,country,employeeId,accountEnabled,userType,createdDateTime";

/// [`USER_SELECT`] plus `manager`, which turns on `manager@delta` in delta rounds.
pub const USER_DELTA_SELECT: &str = "id,userPrincipalName,displayName,givenName,surname,mail,jobTitle,department,officeLocation,city,country,employeeId,accountEnabled,userType,createdDateTime,manager";

impl GraphClient {
    /// First page of users, optionally narrowed by an admin's OData `$filter`.
    ///
    /// # Errors
    /// `PermissionMissing` (User.Read.All) on 403; `Http(Remote)` for a filter Graph rejects.
    pub async fn list_users(&self, filter: Option<&str>) -> Result<Page<User>> {
        let target = self.list_target("/v1.0/users", USER_SELECT, true, filter);
        self.get_page(Resource::Users, "/v1.0/users", target).await
    }

    /// The object ID of `user_id`'s manager; `None` when the user has none (Graph answers 404).
    ///
    /// # Errors
    /// `PermissionMissing` (User.Read.All) on 403.
    pub async fn get_manager(&self, user_id: &str) -> Result<Option<String>> {
        #[derive(Deserialize)]
        struct Manager {
            id: String,
        }
        let route = "/v1.0/users/{id}/manager";
        let spec = RequestSpec::get(
            route,
            format!("/v1.0/users/{}/manager?$select=id", encode(user_id)),
        )
        .allow_status(StatusCode::NOT_FOUND);
        let response = self
            .http
            .send(spec)
            .await
            .map_err(|error| Resource::Users.map_err(error))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let manager: Manager = response.json().map_err(Error::from)?;
        Ok(Some(manager.id))
    }

    /// One user by object ID with the mapped properties; `None` when it does not exist.
    ///
    /// # Errors
    /// `PermissionMissing` (User.Read.All) on 403.
    pub async fn get_user(&self, user_id: &str) -> Result<Option<User>> {
        self.get_user_as(user_id, USER_SELECT).await
    }

    /// [`GraphClient::get_user`] with the caller's `$select` and item type, for a caller that
    /// reads more than [`USER_SELECT`] (e.g. the raw JSON a scope filter evaluates).
    ///
    /// # Errors
    /// As [`GraphClient::get_user`].
    pub async fn get_user_as<T: DeserializeOwned>(
        &self,
        user_id: &str,
        select: &str,
    ) -> Result<Option<T>> {
        let route = "/v1.0/users/{id}";
        let target = format!("/v1.0/users/{}?$select={}", encode(user_id), encode(select));
        let spec = RequestSpec::get(route, target).allow_status(StatusCode::NOT_FOUND);
        let response = self
            .http
            .send(spec)
            .await
            .map_err(|error| Resource::Users.map_err(error))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(response.json().map_err(Error::from)?))
    }
}
