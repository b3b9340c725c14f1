//! Serde mirrors of the Graph v1.0 objects the sync reads (api/microsoft.md §B). Every property
//! but `id` is optional because Graph sends `null` or omits what is unset; unknown properties are
//! ignored.

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;

/// An Entra ID user (`GET /users`, `/users/delta`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub office_location: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub employee_id: Option<String>,
    pub account_enabled: Option<bool>,
    /// `Member` or `Guest`.
    pub user_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub created_date_time: Option<OffsetDateTime>,
    /// `manager@delta` (delta rounds only); read it through [`User::manager_change`].
    #[serde(rename = "manager@delta", default)]
    pub manager_delta: Option<Vec<RefChange>>,
}

/// What a delta round says about a user's manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagerChange {
    /// The manager is now this user (object ID).
    Set(String),
    /// The user no longer has a manager.
    Cleared,
}

impl User {
    /// The manager reported by `manager@delta`; `None` when the entry carried none, which in an
    /// initial round means "no manager" and in an incremental round "unchanged".
    pub fn manager_change(&self) -> Option<ManagerChange> {
        let entries = self.manager_delta.as_ref()?;
        if let Some(set) = entries.iter().rev().find(|e| !e.is_removed()) {
            return Some(ManagerChange::Set(set.id.clone()));
        }
        (!entries.is_empty()).then_some(ManagerChange::Cleared)
    }
}

/// An Entra ID group (`GET /groups`, `/groups/delta`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Group {
    pub id: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub mail: Option<String>,
    pub mail_enabled: Option<bool>,
    pub security_enabled: Option<bool>,
    /// `Unified` marks a Microsoft 365 group, `DynamicMembership` a dynamic one.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub group_types: Vec<String>,
    pub membership_rule: Option<String>,
    /// `members@delta` (delta rounds only), merged across pages by [`crate::DeltaMerger`].
    #[serde(rename = "members@delta", default)]
    pub members_delta: Option<Vec<RefChange>>,
}

impl Group {
    /// IDs of members added (or, in an initial round, present), from `members@delta`.
    pub fn members_added(&self) -> impl Iterator<Item = &str> {
        self.members_delta
            .iter()
            .flatten()
            .filter(|m| !m.is_removed())
            .map(|m| m.id.as_str())
    }

    /// IDs of members removed, from `members@delta` (reason `deleted` even if the user exists).
    pub fn members_removed(&self) -> impl Iterator<Item = &str> {
        self.members_delta
            .iter()
            .flatten()
            .filter(|m| m.is_removed())
            .map(|m| m.id.as_str())
    }
}

/// One entry of `members@delta` or `manager@delta`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefChange {
    pub id: String,
    /// `#microsoft.graph.user`, `#microsoft.graph.group`, `#microsoft.graph.device`…
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    #[serde(rename = "@removed", default)]
    pub removed: Option<RemovedMarker>,
}

impl RefChange {
    /// True when the reference was removed (the membership or manager link ended).
    pub fn is_removed(&self) -> bool {
        self.removed.is_some()
    }
}

/// The `@removed` annotation (`{"reason": "changed" | "deleted"}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RemovedMarker {
    #[serde(default)]
    pub reason: Option<String>,
}

/// A direct member of a group (`GET /groups/{id}/members`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DirectoryRef {
    pub id: String,
    /// `#microsoft.graph.user`, `#microsoft.graph.group`, `#microsoft.graph.device`…
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
}

/// An app registration's object ID with the owners `$expand=owners` returned alongside it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ApplicationOwners {
    pub id: String,
    /// At most [`EXPANDED_MAX`] of the owners, with no link to the rest.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub owners: Vec<DirectoryRef>,
}

/// Most items Graph returns in an expanded directory relationship (no nextLink for the rest).
pub const EXPANDED_MAX: usize = 20;

impl ApplicationOwners {
    /// True when the list may have been cut at [`EXPANDED_MAX`]: read the app's owners endpoint.
    pub fn may_be_truncated(&self) -> bool {
        self.owners.len() >= EXPANDED_MAX
    }
}

/// An app registration (`GET /applications`): `id` is the object ID, `app_id` the client ID.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Application {
    pub id: String,
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub created_date_time: Option<OffsetDateTime>,
    /// Client secrets (their values are never readable).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub password_credentials: Vec<PasswordCredential>,
    /// Certificates.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub key_credentials: Vec<KeyCredential>,
}

impl Application {
    /// The earliest end date over all secrets and certificates: when the app stops signing in.
    pub fn first_credential_expiry(&self) -> Option<OffsetDateTime> {
        let secrets = self.password_credentials.iter().map(|c| c.end_date_time);
        let certs = self.key_credentials.iter().map(|c| c.end_date_time);
        secrets.chain(certs).flatten().min()
    }
}

/// A client secret's metadata (`passwordCredential`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PasswordCredential {
    pub key_id: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub end_date_time: Option<OffsetDateTime>,
    /// `hint`: the first three characters of the secret's value. Private and left out of `Debug`
    /// because it is part of a secret; compare it with [`PasswordCredential::hint_matches`].
    #[serde(default)]
    hint: Option<String>,
}

impl PasswordCredential {
    /// True when Graph's hint equals the first three characters of `value`, i.e. `value` may be
    /// this secret. False when Graph sent no hint.
    pub fn hint_matches(&self, value: &str) -> bool {
        self.hint
            .as_deref()
            .is_some_and(|hint| !hint.is_empty() && value.chars().take(3).eq(hint.chars()))
    }
}

impl std::fmt::Debug for PasswordCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordCredential")
            .field("key_id", &self.key_id)
            .field("display_name", &self.display_name)
            .field("start_date_time", &self.start_date_time)
            .field("end_date_time", &self.end_date_time)
            .field("hint", &self.hint.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A certificate's metadata (`keyCredential`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct KeyCredential {
    pub key_id: Option<String>,
    pub display_name: Option<String>,
    /// `AsymmetricX509Cert`…
    #[serde(rename = "type")]
    pub key_type: Option<String>,
    /// `Verify` or `Sign`.
    pub usage: Option<String>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub end_date_time: Option<OffsetDateTime>,
}

/// An Entra ID device (`GET /devices`): `device_id` is what Intune calls `azureADDeviceId`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Device {
    pub id: String,
    pub device_id: Option<String>,
    pub display_name: Option<String>,
    pub operating_system: Option<String>,
    pub operating_system_version: Option<String>,
    /// `Workplace` (registered), `AzureAd` (joined), `ServerAd` (hybrid joined).
    pub trust_type: Option<String>,
    pub account_enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub approximate_last_sign_in_date_time: Option<OffsetDateTime>,
}

/// An Intune managed device (`GET /deviceManagement/managedDevices`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ManagedDevice {
    pub id: String,
    pub device_name: Option<String>,
    pub operating_system: Option<String>,
    pub os_version: Option<String>,
    /// `compliant`, `noncompliant`, `inGracePeriod`… (kept as text: Graph adds values).
    pub compliance_state: Option<String>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub last_sync_date_time: Option<OffsetDateTime>,
    pub user_id: Option<String>,
    pub user_principal_name: Option<String>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    /// Matches `Device::device_id`, not `Device::id`.
    #[serde(rename = "azureADDeviceId")]
    pub azure_ad_device_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_date")]
    pub enrolled_date_time: Option<OffsetDateTime>,
}

/// RFC 3339 dates; `null`, Intune's unset `0001-01-01T00:00:00Z` and unparsable text become
/// `None` (one odd date must not fail a whole page).
fn lenient_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.and_then(|text| {
        OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .ok()
            .filter(|at| at.year() > 1)
    }))
}

/// Arrays that Graph may send as `null`.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_unknown_fields_are_tolerated_and_unset_dates_are_none() {
        let device: ManagedDevice = serde_json::from_str(
            r#"{"id":"m1","jailBroken":"False","lastSyncDateTime":"0001-01-01T00:00:00Z",
                "enrolledDateTime":"2023-02-10T01:37:29.123Z","azureADDeviceId":"d1"}"#,
        )
        .expect("valid managed device");
        assert_eq!(device.last_sync_date_time, None);
        assert_eq!(device.enrolled_date_time.map(|d| d.year()), Some(2023));
        assert_eq!(device.azure_ad_device_id.as_deref(), Some("d1"));
        let group: Group =
            serde_json::from_str(r#"{"id":"g1","groupTypes":null}"#).expect("valid group");
        assert!(group.group_types.is_empty() && group.members_delta.is_none());
    }

    #[test]
    fn manager_delta_reads_as_set_or_cleared() {
        let user: User = serde_json::from_str(
            r#"{"id":"u1","manager@delta":[{"id":"old","@removed":{"reason":"deleted"}},{"id":"new"}]}"#,
        )
        .expect("valid user");
        assert_eq!(
            user.manager_change(),
            Some(ManagerChange::Set("new".into()))
        );
        let user: User = serde_json::from_str(
            r#"{"id":"u1","manager@delta":[{"id":"old","@removed":{"reason":"deleted"}}]}"#,
        )
        .expect("valid user");
        assert_eq!(user.manager_change(), Some(ManagerChange::Cleared));
    }
}
