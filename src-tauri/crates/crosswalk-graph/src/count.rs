//! `GET /{collection}/$count` (advanced query, `ConsistencyLevel: eventual`, §D.4): how many
//! objects a full round will read, so a first sync can show a real progress bar.

use crate::{GraphClient, Resource, Result};
use crosswalk_http::header::{HeaderName, HeaderValue};
use crosswalk_http::RequestSpec;

impl GraphClient {
    /// The number of objects in `resource`'s collection; `None` where Graph cannot count
    /// (Intune managed devices) or answered something that is not a number.
    ///
    /// # Errors
    /// `PermissionMissing` on 403; `Http` otherwise.
    pub async fn count(&self, resource: Resource) -> Result<Option<u64>> {
        let (route, target) = match resource {
            Resource::Users => ("/v1.0/users/$count", "/v1.0/users/$count"),
            Resource::Groups => ("/v1.0/groups/$count", "/v1.0/groups/$count"),
            Resource::Applications => ("/v1.0/applications/$count", "/v1.0/applications/$count"),
            Resource::Devices => ("/v1.0/devices/$count", "/v1.0/devices/$count"),
            Resource::ManagedDevices | Resource::UserMemberships => return Ok(None),
        };
        let spec = RequestSpec::get(route, target).header(
            HeaderName::from_static("consistencylevel"),
            HeaderValue::from_static("eventual"),
        );
        let response = self
            .http
            .send(spec)
            .await
            .map_err(|error| resource.map_err(error))?;
        let text = response.text();
        // Graph prefixes the number with a byte-order mark.
        Ok(text.trim_start_matches('\u{feff}').trim().parse().ok())
    }
}
