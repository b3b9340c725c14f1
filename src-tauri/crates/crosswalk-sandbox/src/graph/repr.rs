//! Graph's JSON representations of directory objects (camelCase property names as in the v1.0
//! schema), default property sets and `$select` (api/microsoft.md §B.2-B.7).

use crate::generator::directory::{
    Application, Device, Directory, Group, Kind, ManagedDevice, User,
};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// `2024-05-01T08:12:00Z`.
pub fn iso(at: OffsetDateTime) -> String {
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

/// Intune's "unset" date.
pub const UNSET_DATE: &str = "0001-01-01T00:00:00Z";

/// The 11 properties `/users` returns without `$select` (§B.2).
pub const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// User properties that exist in the schema but this sandbox does not model (served as null).
const USER_UNMODELLED: &[&str] = &[
    "streetAddress",
    "state",
    "postalCode",
    "faxNumber",
    "otherMails",
    "proxyAddresses",
    "imAddresses",
    "identities",
    "assignedLicenses",
    "assignedPlans",
    "onPremisesImmutableId",
    "onPremisesSamAccountName",
    "onPremisesDistinguishedName",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesUserPrincipalName",
    "onPremisesSecurityIdentifier",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "creationType",
    "ageGroup",
    "consentProvidedForMinor",
    "legalAgeGroupClassification",
    "showInAddressList",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "employeeOrgData",
    "passwordPolicies",
    "passwordProfile",
    "securityIdentifier",
    "deletedDateTime",
    "signInSessionsValidFromDateTime",
];

/// Properties that can only be selected on a single user (501 on the collection).
pub const USER_SINGLE_ONLY: &[&str] = &[
    "aboutMe",
    "birthday",
    "hireDate",
    "interests",
    "mySite",
    "pastProjects",
    "preferredName",
    "responsibilities",
    "schools",
    "skills",
    "mailboxSettings",
];

/// The schema type name for messages (`microsoft.graph.user`).
pub fn type_name(kind: Kind) -> &'static str {
    &kind.odata_type()[1..]
}

/// The resource name in `Request_UnsupportedQuery` messages (`User`).
pub fn resource_name(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "User",
        Kind::Group => "Group",
        Kind::Application => "Application",
        Kind::Device => "Device",
        Kind::ManagedDevice => "ManagedDevice",
    }
}

fn opt(value: &Option<String>) -> Value {
    value
        .as_ref()
        .map_or(Value::Null, |s| Value::String(s.clone()))
}

pub fn user(u: &User) -> Map<String, Value> {
    let mut m = Map::new();
    let v = json!({
        "id": u.id,
        "displayName": u.display_name,
        "givenName": opt(&u.given_name),
        "surname": opt(&u.surname),
        "userPrincipalName": u.user_principal_name,
        "mail": opt(&u.mail),
        "mailNickname": u.mail_nickname,
        "jobTitle": opt(&u.job_title),
        "department": opt(&u.department),
        "officeLocation": opt(&u.office_location),
        "city": opt(&u.city),
        "country": opt(&u.country),
        "usageLocation": opt(&u.usage_location),
        "companyName": opt(&u.company_name),
        "mobilePhone": opt(&u.mobile_phone),
        "businessPhones": u.business_phones,
        "employeeId": opt(&u.employee_id),
        "employeeType": opt(&u.employee_type),
        "preferredLanguage": opt(&u.preferred_language),
        "accountEnabled": u.account_enabled,
        "userType": u.user_type,
        "createdDateTime": iso(u.created),
        "lastPasswordChangeDateTime": iso(u.last_password_change),
        "onPremisesSyncEnabled": u.on_premises_sync_enabled,
    });
    if let Value::Object(obj) = v {
        m = obj;
    }
    for name in USER_UNMODELLED {
        let empty = matches!(
            *name,
            "otherMails"
                | "proxyAddresses"
                | "imAddresses"
                | "identities"
                | "assignedLicenses"
                | "assignedPlans"
        );
        m.insert(
            (*name).to_owned(),
            if empty { json!([]) } else { Value::Null },
        );
    }
    if let Some(mail) = &u.mail {
        m.insert("proxyAddresses".into(), json!([format!("SMTP:{mail}")]));
    }
    m
}

pub fn group(g: &Group) -> Map<String, Value> {
    let v = json!({
        "id": g.id,
        "displayName": g.display_name,
        "description": opt(&g.description),
        "mail": opt(&g.mail),
        "mailNickname": g.mail_nickname,
        "mailEnabled": g.mail_enabled,
        "securityEnabled": g.security_enabled,
        "groupTypes": g.group_types,
        "membershipRule": opt(&g.membership_rule),
        "membershipRuleProcessingState": if g.membership_rule.is_some() { json!("On") } else { Value::Null },
        "visibility": opt(&g.visibility),
        "createdDateTime": iso(g.created),
        "onPremisesSyncEnabled": g.on_premises_sync_enabled,
        "classification": null,
        "deletedDateTime": null,
        "expirationDateTime": null,
        "renewedDateTime": iso(g.created),
        "isAssignableToRole": null,
        "preferredDataLocation": null,
        "proxyAddresses": g.mail.as_ref().map(|m| vec![format!("SMTP:{m}")]).unwrap_or_default(),
        "securityIdentifier": format!("S-1-12-1-{}", &g.id[..8].chars().filter(char::is_ascii_digit).collect::<String>()),
        "theme": null,
    });
    v.as_object().cloned().unwrap_or_default()
}

pub fn application(a: &Application) -> Map<String, Value> {
    let passwords: Vec<Value> = a
        .password_credentials
        .iter()
        .map(|c| {
            json!({
                "customKeyIdentifier": null,
                "displayName": opt(&c.display_name),
                "endDateTime": iso(c.end),
                "hint": opt(&c.hint),
                "keyId": c.key_id,
                "secretText": null,
                "startDateTime": iso(c.start),
            })
        })
        .collect();
    let keys: Vec<Value> = a
        .key_credentials
        .iter()
        .map(|c| {
            json!({
                "customKeyIdentifier": c.custom_key_identifier,
                "displayName": opt(&c.display_name),
                "endDateTime": iso(c.end),
                "key": null,
                "keyId": c.key_id,
                "startDateTime": iso(c.start),
                "type": c.key_type,
                "usage": c.usage,
            })
        })
        .collect();
    let v = json!({
        "id": a.id,
        "appId": a.app_id,
        "displayName": a.display_name,
        "description": opt(&a.description),
        "signInAudience": a.sign_in_audience,
        "publisherDomain": a.publisher_domain,
        "createdDateTime": iso(a.created),
        "passwordCredentials": passwords,
        "keyCredentials": keys,
        "deletedDateTime": null,
        "identifierUris": [],
        "notes": null,
        "tags": [],
        "uniqueName": null,
    });
    v.as_object().cloned().unwrap_or_default()
}

pub fn device(d: &Device) -> Map<String, Value> {
    let v = json!({
        "id": d.id,
        "deviceId": d.device_id,
        "displayName": d.display_name,
        "operatingSystem": d.operating_system,
        "operatingSystemVersion": d.operating_system_version,
        "trustType": opt(&d.trust_type),
        "accountEnabled": d.account_enabled,
        "isCompliant": d.is_compliant,
        "isManaged": d.is_managed,
        "manufacturer": opt(&d.manufacturer),
        "model": opt(&d.model),
        "registrationDateTime": iso(d.registration),
        "approximateLastSignInDateTime": d.approximate_last_sign_in.map(iso),
        "profileType": d.profile_type,
        "onPremisesSyncEnabled": d.on_premises_sync_enabled,
        "mdmAppId": if d.is_managed == Some(true) { json!("0000000a-0000-0000-c000-000000000000") } else { Value::Null },
        "deletedDateTime": null,
        "physicalIds": [],
        "systemLabels": [],
    });
    v.as_object().cloned().unwrap_or_default()
}

/// A managed device; in lists `ethernetMacAddress`, `physicalMemoryInBytes` and `notes` are
/// blank (§B.7 quirks), on a single GET they are filled.
pub fn managed_device(m: &ManagedDevice, single: bool) -> Map<String, Value> {
    let v = json!({
        "id": m.id,
        "userId": opt(&m.user_id),
        "deviceName": m.device_name,
        "managedDeviceName": m.managed_device_name,
        "serialNumber": m.serial_number,
        "manufacturer": m.manufacturer,
        "model": m.model,
        "operatingSystem": m.operating_system,
        "osVersion": m.os_version,
        "complianceState": m.compliance_state,
        "lastSyncDateTime": iso(m.last_sync),
        "enrolledDateTime": iso(m.enrolled),
        "userPrincipalName": opt(&m.user_principal_name),
        "userDisplayName": opt(&m.user_display_name),
        "emailAddress": opt(&m.email_address),
        "azureADDeviceId": m.azure_ad_device_id,
        "azureADRegistered": true,
        "managedDeviceOwnerType": m.owner_type,
        "managementAgent": m.management_agent,
        "deviceEnrollmentType": m.enrollment_type,
        "deviceRegistrationState": "registered",
        "isEncrypted": m.is_encrypted,
    });
    let more = json!({
        "isSupervised": m.is_supervised,
        "jailBroken": "False",
        "imei": opt(&m.imei),
        "meid": null,
        "udid": null,
        "iccid": null,
        "wiFiMacAddress": opt(&m.wifi_mac),
        "ethernetMacAddress": if single { opt(&m.ethernet_mac) } else { Value::Null },
        "phoneNumber": opt(&m.phone_number),
        "subscriberCarrier": "",
        "totalStorageSpaceInBytes": m.total_storage,
        "freeStorageSpaceInBytes": m.free_storage,
        "physicalMemoryInBytes": if single { m.physical_memory } else { 0 },
        "deviceCategoryDisplayName": m.device_category,
        "complianceGracePeriodExpirationDateTime": "9999-12-31T23:59:59Z",
        "managementCertificateExpirationDate": iso(m.enrolled + time::Duration::days(365)),
        "easActivated": false,
        "easActivationDateTime": UNSET_DATE,
        "easDeviceId": "",
        "exchangeAccessState": "none",
        "exchangeAccessStateReason": "none",
        "exchangeLastSuccessfulSyncDateTime": UNSET_DATE,
        "androidSecurityPatchLevel": if m.operating_system == "Android" { json!("2024-10-01") } else { json!("") },
        "notes": if single { json!("") } else { Value::Null },
        "deviceActionResults": [],
    });
    let mut out = v.as_object().cloned().unwrap_or_default();
    if let Value::Object(more) = more {
        out.extend(more);
    }
    out
}

/// The full representation of an object by kind and id (`None` if it does not exist).
pub fn object(dir: &Directory, kind: Kind, id: &str) -> Option<Map<String, Value>> {
    match kind {
        Kind::User => dir.users.get(id).map(user),
        Kind::Group => dir.groups.get(id).map(group),
        Kind::Application => dir.applications.get(id).map(application),
        Kind::Device => dir.devices.get(id).map(device),
        Kind::ManagedDevice => dir.managed_devices.get(id).map(|m| managed_device(m, true)),
    }
}

/// The object at a table position (`None` past the end, `Some(None)` for a removed one).
pub fn at(dir: &Directory, kind: Kind, position: usize) -> Option<Option<Map<String, Value>>> {
    let slots = match kind {
        Kind::User => dir.users.slots(),
        Kind::Group => dir.groups.slots(),
        Kind::Application => dir.applications.slots(),
        Kind::Device => dir.devices.slots(),
        Kind::ManagedDevice => dir.managed_devices.slots(),
    };
    if position >= slots {
        return None;
    }
    Some(match kind {
        Kind::User => dir.users.at(position).map(user),
        Kind::Group => dir.groups.at(position).map(group),
        Kind::Application => dir.applications.at(position).map(application),
        Kind::Device => dir.devices.at(position).map(device),
        Kind::ManagedDevice => dir
            .managed_devices
            .at(position)
            .map(|m| managed_device(m, false)),
    })
}

/// Every property name of a kind (for `$select` / `$filter` validation); computed once.
pub fn known_properties(kind: Kind) -> &'static [String] {
    use std::sync::OnceLock;
    static CACHE: OnceLock<[Vec<String>; 5]> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        [
            Kind::User,
            Kind::Group,
            Kind::Application,
            Kind::Device,
            Kind::ManagedDevice,
        ]
        .map(compute_known_properties)
    });
    let i = match kind {
        Kind::User => 0,
        Kind::Group => 1,
        Kind::Application => 2,
        Kind::Device => 3,
        Kind::ManagedDevice => 4,
    };
    &all[i]
}

fn compute_known_properties(kind: Kind) -> Vec<String> {
    let sample = match kind {
        Kind::User => user(&sample_user()),
        Kind::Group => group(&sample_group()),
        Kind::Application => application(&sample_application()),
        Kind::Device => device(&sample_device()),
        Kind::ManagedDevice => return managed_device_properties(),
    };
    let mut names: Vec<String> = sample.keys().cloned().collect();
    if kind == Kind::User {
        names.extend(["manager", "signInActivity"].map(String::from));
        names.extend(USER_SINGLE_ONLY.iter().map(|s| (*s).to_owned()));
    }
    if kind == Kind::Group {
        names.extend(["members", "owners"].map(String::from));
    }
    names
}

fn managed_device_properties() -> Vec<String> {
    let dir =
        crate::generator::directory::generate_at(crate::Size::Tiny, 0, OffsetDateTime::UNIX_EPOCH);
    let names = dir
        .managed_devices
        .iter()
        .next()
        .map(|m| managed_device(m, true).keys().cloned().collect())
        .unwrap_or_default();
    names
}

fn sample_user() -> User {
    User {
        id: "00000000-0000-0000-0000-000000000000".into(),
        display_name: String::new(),
        given_name: None,
        surname: None,
        user_principal_name: String::new(),
        mail: None,
        mail_nickname: String::new(),
        job_title: None,
        department: None,
        office_location: None,
        city: None,
        country: None,
        usage_location: None,
        company_name: None,
        mobile_phone: None,
        business_phones: Vec::new(),
        employee_id: None,
        employee_type: None,
        preferred_language: None,
        account_enabled: true,
        user_type: String::new(),
        created: OffsetDateTime::UNIX_EPOCH,
        last_password_change: OffsetDateTime::UNIX_EPOCH,
        on_premises_sync_enabled: None,
        manager_id: None,
    }
}

fn sample_group() -> Group {
    Group {
        id: "00000000-0000-0000-0000-000000000000".into(),
        display_name: String::new(),
        description: None,
        mail: None,
        mail_nickname: String::new(),
        mail_enabled: false,
        security_enabled: true,
        group_types: Vec::new(),
        membership_rule: None,
        visibility: None,
        created: OffsetDateTime::UNIX_EPOCH,
        on_premises_sync_enabled: None,
        members: Vec::new(),
        owners: Vec::new(),
    }
}

fn sample_application() -> Application {
    Application {
        id: String::new(),
        app_id: String::new(),
        display_name: String::new(),
        description: None,
        sign_in_audience: String::new(),
        publisher_domain: String::new(),
        created: OffsetDateTime::UNIX_EPOCH,
        password_credentials: Vec::new(),
        key_credentials: Vec::new(),
        owners: Vec::new(),
    }
}

fn sample_device() -> Device {
    Device {
        id: String::new(),
        device_id: String::new(),
        display_name: String::new(),
        operating_system: String::new(),
        operating_system_version: String::new(),
        trust_type: None,
        account_enabled: true,
        is_compliant: None,
        is_managed: None,
        manufacturer: None,
        model: None,
        registration: OffsetDateTime::UNIX_EPOCH,
        approximate_last_sign_in: None,
        profile_type: String::new(),
        on_premises_sync_enabled: None,
        owner_id: None,
    }
}

/// Projects a full representation onto `$select` (or the kind's default set). `always_id`
/// keeps `id` even when not selected (delta responses).
pub fn project(
    full: &Map<String, Value>,
    kind: Kind,
    select: Option<&[String]>,
    always_id: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    match select {
        Some(select) => {
            for name in select {
                if let Some((key, value)) = full.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))
                {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        None if kind == Kind::User => {
            for name in USER_DEFAULT {
                if let Some(value) = full.get(*name) {
                    out.insert((*name).to_owned(), value.clone());
                }
            }
        }
        None => out = full.clone(),
    }
    if always_id {
        if let Some(id) = full.get("id") {
            out.insert("id".into(), id.clone());
        }
    }
    out
}
