//! Groups: `GET /groups`, `GET /groups/{id}/members`, and the delta selection for `/groups/delta`.

use crate::{encode, DirectoryRef, GraphClient, Group, Page, Resource, Result};

/// Properties the sync maps for a group.
pub const GROUP_SELECT: &str =
    "id,displayName,description,mail,mailEnabled,securityEnabled,groupTypes,membershipRule";

/// [`GROUP_SELECT`] plus `members`, which turns on `members@delta` in delta rounds.
pub const GROUP_DELTA_SELECT: &str =
    "id,displayName,description,mail,mailEnabled,securityEnabled,groupTypes,membershipRule,members";

impl GraphClient {
    /// First page of groups, optionally narrowed by an admin's OData `$filter`.
    ///
    /// # Errors
    /// `PermissionMissing` (Group.Read.All) on 403.
    pub async fn list_groups(&self, filter: Option<&str>) -> Result<Page<Group>> {
        let target = self.list_target("/v1.0/groups", GROUP_SELECT, true, filter);
        self.get_page(Resource::Groups, "/v1.0/groups", target)
            .await
    }

    /// First page of a group's direct members (users, groups, devices…) as typed references.
    ///
    /// # Errors
    /// `PermissionMissing` (Group.Read.All) on 403; `Http(NotFound)` for an unknown group.
    pub async fn list_group_members(&self, group_id: &str) -> Result<Page<DirectoryRef>> {
        let path = format!("/v1.0/groups/{}/members", encode(group_id));
        let target = self.list_target(&path, "id", true, None);
        self.get_page(Resource::Groups, "/v1.0/groups/{id}/members", target)
            .await
    }

    /// First page of a group's members, nested groups expanded (`transitiveMembers`): the users
    /// a "members of these groups" scope covers.
    ///
    /// # Errors
    /// `PermissionMissing` (Group.Read.All) on 403; `Http(NotFound)` for an unknown group.
    pub async fn list_group_transitive_members(
        &self,
        group_id: &str,
    ) -> Result<Page<DirectoryRef>> {
        let path = format!("/v1.0/groups/{}/transitiveMembers", encode(group_id));
        let target = self.list_target(&path, "id", true, None);
        self.get_page(
            Resource::Groups,
            "/v1.0/groups/{id}/transitiveMembers",
            target,
        )
        .await
    }
}
