//! Direct group memberships of one user, device or group
//! (`GET /{users|devices|groups}/{id}/memberOf/microsoft.graph.group`): which groups an object is
//! in, without reading the members of every group.

use crate::{encode, DirectoryRef, GraphClient, Page, Resource, Result};

/// Whose direct memberships [`GraphClient::list_member_of_groups`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberOf {
    User,
    Device,
    Group,
}

impl MemberOf {
    /// The collection, route template and the permission the endpoint needs: another user's
    /// memberships need Directory.Read.All (user-list-memberof), a device's Device.Read.All, a
    /// group's Group.Read.All.
    fn endpoint(self) -> (&'static str, &'static str, Resource) {
        match self {
            MemberOf::User => (
                "users",
                "/v1.0/users/{id}/memberOf/microsoft.graph.group",
                Resource::UserMemberships,
            ),
            MemberOf::Device => (
                "devices",
                "/v1.0/devices/{id}/memberOf/microsoft.graph.group",
                Resource::Devices,
            ),
            MemberOf::Group => (
                "groups",
                "/v1.0/groups/{id}/memberOf/microsoft.graph.group",
                Resource::Groups,
            ),
        }
    }
}

impl GraphClient {
    /// First page of the groups `id` is a direct member of (not transitively), as ids. The OData
    /// cast leaves directory roles and administrative units out; it is sent as an advanced query
    /// (`ConsistencyLevel: eventual` and `$count=true`, the header resent on every page), as the
    /// memberOf pages' request-header tables ask. `odata_type` is `#microsoft.graph.group` or
    /// absent: the items of a cast collection need no type annotation.
    ///
    /// # Errors
    /// `PermissionMissing` on 403 (Directory.Read.All for a user's memberships, Device.Read.All,
    /// Group.Read.All); `Http(NotFound)` for an object that does not exist.
    pub async fn list_member_of_groups(
        &self,
        of: MemberOf,
        id: &str,
    ) -> Result<Page<DirectoryRef>> {
        let (collection, route, resource) = of.endpoint();
        let path = format!(
            "/v1.0/{collection}/{}/memberOf/microsoft.graph.group",
            encode(id)
        );
        let target = format!("{}&$count=true", self.list_target(&path, "id", true, None));
        self.get_page_with(resource, route, target, true).await
    }
}
