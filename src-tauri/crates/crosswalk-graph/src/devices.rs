//! Entra ID devices (`GET /devices`) and Intune managed devices
//! (`GET /deviceManagement/managedDevices`, no delta: see the crate docs).

use crate::{Device, GraphClient, ManagedDevice, Page, Resource, Result};
use serde::de::DeserializeOwned;

/// Properties the sync maps for an Entra ID device.
pub const DEVICE_SELECT: &str = "id,deviceId,displayName,operatingSystem,operatingSystemVersion,trustType,accountEnabled,approximateLastSignInDateTime";

/// Properties the sync maps for an Intune managed device.
pub const MANAGED_DEVICE_SELECT: &str = "id,deviceName,operatingSystem,osVersion,complianceState,lastSyncDateTime,userId,userPrincipalName,serialNumber,manufacturer,model,azureADDeviceId,enrolledDateTime";

impl GraphClient {
    /// First page of Entra ID devices, optionally narrowed by an admin's OData `$filter`.
    ///
    /// # Errors
    /// `PermissionMissing` (Device.Read.All) on 403.
    pub async fn list_devices(&self, filter: Option<&str>) -> Result<Page<Device>> {
        let target = self.list_target("/v1.0/devices", DEVICE_SELECT, true, filter);
        self.get_page(Resource::Devices, "/v1.0/devices", target)
            .await
    }

    /// First page of Intune managed devices; `filter` e.g. `lastSyncDateTime gt 2024-05-01T00:00:00Z`
    /// for an incremental pass (Intune pages at ~1000 on its own, so no `$top` is sent).
    ///
    /// # Errors
    /// `PermissionMissing` (DeviceManagementManagedDevices.Read.All) on 403.
    pub async fn list_managed_devices(&self, filter: Option<&str>) -> Result<Page<ManagedDevice>> {
        self.list_managed_devices_as(filter, MANAGED_DEVICE_SELECT)
            .await
    }

    /// [`GraphClient::list_managed_devices`] with the caller's `$select` and item type, for a
    /// caller that reads more than [`MANAGED_DEVICE_SELECT`] (e.g. the raw JSON a scope filter
    /// evaluates).
    ///
    /// # Errors
    /// As [`GraphClient::list_managed_devices`].
    pub async fn list_managed_devices_as<T: DeserializeOwned>(
        &self,
        filter: Option<&str>,
        select: &str,
    ) -> Result<Page<T>> {
        let path = "/v1.0/deviceManagement/managedDevices";
        let target = self.list_target(path, select, false, filter);
        self.get_page(Resource::ManagedDevices, path, target).await
    }
}
