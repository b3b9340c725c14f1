//! Which Graph property fills which Assets attribute: a catalogue per kind with sensible
//! defaults, admin overrides from the job settings, and the builders that turn a Graph object
//! into a [`Doc`].

use crate::doc::{Doc, Status, Value};
use crate::kinds::ObjectKind;
use crosswalk_core::ValidationError;
use crosswalk_graph::{Application, Device, Group, ManagedDevice, User};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Attribute identifying every object: the immutable Entra object ID (unique in its type).
pub const OBJECT_ID: &str = "Entra Object ID";
/// Active / Disabled / Removed from Entra.
pub const STATUS: &str = "Entra Status";
/// When the object disappeared from Entra.
pub const REMOVED_ON: &str = "Removed on";
/// Reference attributes hold at most this many objects (Assets' guidance is about ten).
pub const MAX_REFS: usize = 10;

/// The Assets data type an attribute needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    Text,
    Integer,
    Boolean,
    DateTime,
    Status,
    /// A reference to objects of this kind, at most `max` of them.
    Ref(ObjectKind, usize),
}

/// One attribute the schema must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrDef {
    pub name: String,
    pub ty: AttrType,
    pub unique: bool,
}

/// A mappable Graph property and the attribute it fills unless the admin says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    /// Graph's property name (what admins type in overrides).
    pub graph: &'static str,
    pub attribute: &'static str,
    pub ty: AttrType,
}

const fn p(graph: &'static str, attribute: &'static str, ty: AttrType) -> Property {
    Property {
        graph,
        attribute,
        ty,
    }
}

const USER: &[Property] = &[
    p("userPrincipalName", "User principal name", AttrType::Text),
    p("mail", "Email", AttrType::Text),
    p("givenName", "Given name", AttrType::Text),
    p("surname", "Surname", AttrType::Text),
    p("jobTitle", "Job title", AttrType::Text),
    p("department", "Department", AttrType::Text),
    p("officeLocation", "Office", AttrType::Text),
    p("city", "City", AttrType::Text),
    p("country", "Country", AttrType::Text),
    p("employeeId", "Employee ID", AttrType::Text),
    p("userType", "User type", AttrType::Text),
    p("createdDateTime", "Created in Entra", AttrType::DateTime),
    p("manager", "Manager", AttrType::Ref(ObjectKind::User, 1)),
];

const GROUP: &[Property] = &[
    p("description", "Description", AttrType::Text),
    p("mail", "Email", AttrType::Text),
    p("groupType", "Group type", AttrType::Text),
    p("membershipType", "Membership type", AttrType::Text),
    p("membershipRule", "Membership rule", AttrType::Text),
    p("securityEnabled", "Security enabled", AttrType::Boolean),
    p("mailEnabled", "Mail enabled", AttrType::Boolean),
];

const APPLICATION: &[Property] = &[
    p("appId", "Application (client) ID", AttrType::Text),
    p("createdDateTime", "Created in Entra", AttrType::DateTime),
    p("secretExpires", "Next secret expiry", AttrType::DateTime),
    p(
        "certificateExpires",
        "Next certificate expiry",
        AttrType::DateTime,
    ),
    p(
        "owners",
        "Owners",
        AttrType::Ref(ObjectKind::User, MAX_REFS),
    ),
    p("ownerCount", "Owner count", AttrType::Integer),
];

const DEVICE: &[Property] = &[
    p("deviceId", "Device ID", AttrType::Text),
    p("operatingSystem", "Operating system", AttrType::Text),
    p("operatingSystemVersion", "OS version", AttrType::Text),
    p("trustType", "Join type", AttrType::Text),
    p(
        "approximateLastSignInDateTime",
        "Last sign-in",
        AttrType::DateTime,
    ),
];

const MANAGED_DEVICE: &[Property] = &[
    p("operatingSystem", "Operating system", AttrType::Text),
    p("osVersion", "OS version", AttrType::Text),
    p("complianceState", "Compliance", AttrType::Text),
    p("lastSyncDateTime", "Last Intune sync", AttrType::DateTime),
    p("userId", "Primary user", AttrType::Ref(ObjectKind::User, 1)),
    p("userPrincipalName", "Primary user UPN", AttrType::Text),
    p("serialNumber", "Serial number", AttrType::Text),
    p("manufacturer", "Manufacturer", AttrType::Text),
    p("model", "Model", AttrType::Text),
    p("azureADDeviceId", "Entra device ID", AttrType::Text),
    p("enrolledDateTime", "Enrolled", AttrType::DateTime),
];

/// Membership attributes (fixed: the model in ARCHITECTURE.md depends on them).
pub const MEMBERSHIP_GROUP: &str = "Group";
pub const MEMBER_USER: &str = "Member user";
pub const MEMBER_GROUP: &str = "Member group";
pub const MEMBER_DEVICE: &str = "Member device";
pub const MEMBER_TYPE: &str = "Member type";

/// The mappable properties of a kind.
pub fn catalogue(kind: ObjectKind) -> &'static [Property] {
    match kind {
        ObjectKind::User => USER,
        ObjectKind::Group => GROUP,
        ObjectKind::Application => APPLICATION,
        ObjectKind::Device => DEVICE,
        ObjectKind::ManagedDevice => MANAGED_DEVICE,
        ObjectKind::Membership => &[],
    }
}

/// The effective mapping of one job: Graph property → attribute name, per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    kinds: BTreeMap<ObjectKind, Vec<(Property, String)>>,
}

/// What the admin chose for one property: another attribute name, or not to sync it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeOverride {
    /// Fill this attribute instead of the default one.
    Rename(String),
    /// Do not sync the property (`false` or `null`).
    Skip,
    /// The default attribute (`true`).
    Default,
}

impl serde::Serialize for AttributeOverride {
    // TOML has no null: "skip" is written `false`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AttributeOverride::Rename(name) => serializer.serialize_str(name),
            AttributeOverride::Skip => serializer.serialize_bool(false),
            AttributeOverride::Default => serializer.serialize_bool(true),
        }
    }
}

impl<'de> serde::Deserialize<'de> for AttributeOverride {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Flag(bool),
        }
        Ok(match Option::<Raw>::deserialize(deserializer)? {
            Some(Raw::Name(name)) => AttributeOverride::Rename(name),
            Some(Raw::Flag(true)) => AttributeOverride::Default,
            Some(Raw::Flag(false)) | None => AttributeOverride::Skip,
        })
    }
}

/// Admin overrides: kind word → Graph property → attribute name, or `false`/`null` to skip it.
pub type Overrides = BTreeMap<String, BTreeMap<String, AttributeOverride>>;

impl Mapping {
    /// The defaults with the admin's overrides applied; unknown kinds or properties, a name
    /// that collides with a fixed attribute, or two properties on one attribute are refused.
    pub fn new(overrides: &Overrides) -> Result<Mapping, Vec<ValidationError>> {
        let mut problems = Vec::new();
        for kind in overrides.keys() {
            if ObjectKind::from_word(kind).is_none_or(|k| k == ObjectKind::Membership) {
                problems.push(ValidationError::new(
                    format!("attributes.{kind}"),
                    "unknown kind (use user, group, application, device or managed_device)",
                ));
            }
        }
        let mut kinds = BTreeMap::new();
        for kind in ObjectKind::ALL {
            let wanted = overrides.get(kind.word());
            if let Some(wanted) = wanted {
                for property in wanted.keys() {
                    if !catalogue(kind).iter().any(|p| p.graph == property) {
                        let known: Vec<&str> = catalogue(kind).iter().map(|p| p.graph).collect();
                        problems.push(ValidationError::new(
                            format!("attributes.{}.{property}", kind.word()),
                            format!("unknown property; mappable: {}", known.join(", ")),
                        ));
                    }
                }
            }
            let mut used: BTreeMap<String, &str> = BTreeMap::new();
            let mut entries = Vec::new();
            for property in catalogue(kind) {
                let name = match wanted.and_then(|w| w.get(property.graph)) {
                    Some(AttributeOverride::Skip) => continue,
                    Some(AttributeOverride::Rename(name)) => name.trim().to_owned(),
                    Some(AttributeOverride::Default) | None => property.attribute.to_owned(),
                };
                let field = format!("attributes.{}.{}", kind.word(), property.graph);
                if name.is_empty() {
                    problems.push(ValidationError::new(field, "attribute name is empty"));
                    continue;
                }
                if [
                    OBJECT_ID,
                    STATUS,
                    REMOVED_ON,
                    crate::doc::NAME,
                    "Key",
                    "Created",
                    "Updated",
                ]
                .iter()
                .any(|fixed| fixed.eq_ignore_ascii_case(&name))
                {
                    problems.push(ValidationError::new(
                        field,
                        format!("\"{name}\" is an attribute Crosswalk or Assets manages itself"),
                    ));
                    continue;
                }
                if let Some(other) = used.insert(name.to_lowercase(), property.graph) {
                    problems.push(ValidationError::new(
                        field,
                        format!("\"{name}\" is already filled from {other}"),
                    ));
                    continue;
                }
                entries.push((*property, name));
            }
            kinds.insert(kind, entries);
        }
        if problems.is_empty() {
            Ok(Mapping { kinds })
        } else {
            Err(problems)
        }
    }

    /// The attribute filled from `graph` for `kind`, if it is synced.
    pub fn attribute(&self, kind: ObjectKind, graph: &str) -> Option<&str> {
        self.kinds
            .get(&kind)?
            .iter()
            .find(|(p, _)| p.graph == graph)
            .map(|(_, name)| name.as_str())
    }

    /// Every attribute the kind's object type needs (fixed ones first).
    pub fn attributes(&self, kind: ObjectKind) -> Vec<AttrDef> {
        let def = |name: &str, ty, unique| AttrDef {
            name: name.to_owned(),
            ty,
            unique,
        };
        let mut all = vec![def(OBJECT_ID, AttrType::Text, true)];
        if kind == ObjectKind::Membership {
            all.extend([
                def(MEMBERSHIP_GROUP, AttrType::Ref(ObjectKind::Group, 1), false),
                def(MEMBER_USER, AttrType::Ref(ObjectKind::User, 1), false),
                def(MEMBER_GROUP, AttrType::Ref(ObjectKind::Group, 1), false),
                def(MEMBER_DEVICE, AttrType::Ref(ObjectKind::Device, 1), false),
                def(MEMBER_TYPE, AttrType::Text, false),
            ]);
            return all;
        }
        all.push(def(STATUS, AttrType::Status, false));
        all.push(def(REMOVED_ON, AttrType::DateTime, false));
        for (property, name) in self.kinds.get(&kind).into_iter().flatten() {
            all.push(def(name, property.ty, false));
        }
        all
    }

    /// Sets the attribute filled from `graph`, if the kind syncs it.
    fn put(&self, doc: &mut Doc, kind: ObjectKind, graph: &str, value: Option<Value>) {
        if let Some(name) = self.attribute(kind, graph) {
            doc.set(name, value);
        }
    }
}

fn text(value: &Option<String>) -> Option<Value> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Value::Text(t.to_owned()))
}

/// A date-time as documents hold it (UTC, RFC 3339), so equal instants compare equal.
pub(crate) fn datetime(at: Option<OffsetDateTime>) -> Option<Value> {
    at.and_then(|at| at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok())
        .map(Value::DateTime)
}

fn one_ref(kind: ObjectKind, id: Option<&str>) -> Option<Value> {
    id.filter(|id| !id.is_empty())
        .map(|id| Value::Refs(kind, vec![id.to_owned()]))
}

fn base(kind: ObjectKind, label: Option<&str>, id: &str, status: Status) -> Doc {
    let label = label.map(str::trim).filter(|l| !l.is_empty()).unwrap_or(id);
    let mut doc = Doc::new(label);
    doc.set(OBJECT_ID, Some(Value::Text(id.to_owned())));
    if kind != ObjectKind::Membership {
        doc.set(STATUS, Some(Value::Status(status)));
    }
    doc
}

/// What the manager reference should be: a delta entry's `manager@delta` says; in an
/// incremental round its absence means "unchanged" (`previous`).
pub fn user_doc(mapping: &Mapping, user: &User, previous_manager: Option<&Value>) -> Doc {
    use crosswalk_graph::ManagerChange;
    let k = ObjectKind::User;
    let status = if user.account_enabled == Some(false) {
        Status::Disabled
    } else {
        Status::Active
    };
    let mut doc = base(k, user.display_name.as_deref(), &user.id, status);
    mapping.put(
        &mut doc,
        k,
        "userPrincipalName",
        text(&user.user_principal_name),
    );
    mapping.put(&mut doc, k, "mail", text(&user.mail));
    mapping.put(&mut doc, k, "givenName", text(&user.given_name));
    mapping.put(&mut doc, k, "surname", text(&user.surname));
    mapping.put(&mut doc, k, "jobTitle", text(&user.job_title));
    mapping.put(&mut doc, k, "department", text(&user.department));
    mapping.put(&mut doc, k, "officeLocation", text(&user.office_location));
    mapping.put(&mut doc, k, "city", text(&user.city));
    mapping.put(&mut doc, k, "country", text(&user.country));
    mapping.put(&mut doc, k, "employeeId", text(&user.employee_id));
    mapping.put(&mut doc, k, "userType", text(&user.user_type));
    mapping.put(
        &mut doc,
        k,
        "createdDateTime",
        datetime(user.created_date_time),
    );
    let manager = match user.manager_change() {
        Some(ManagerChange::Set(id)) => one_ref(ObjectKind::User, Some(&id)),
        Some(ManagerChange::Cleared) => None,
        None => previous_manager.cloned(),
    };
    mapping.put(&mut doc, k, "manager", manager);
    doc
}

/// A group's readable type: Microsoft 365, Security, Mail-enabled security or Distribution.
fn group_type(group: &Group) -> &'static str {
    let unified = group.group_types.iter().any(|t| t == "Unified");
    match (unified, group.security_enabled, group.mail_enabled) {
        (true, _, _) => "Microsoft 365",
        (false, Some(true), Some(true)) => "Mail-enabled security",
        (false, Some(true), _) => "Security",
        _ => "Distribution",
    }
}

/// A group's document (its members are memberships, not attributes).
pub fn group_doc(mapping: &Mapping, group: &Group) -> Doc {
    let k = ObjectKind::Group;
    let mut doc = base(k, group.display_name.as_deref(), &group.id, Status::Active);
    let dynamic = group.group_types.iter().any(|t| t == "DynamicMembership");
    mapping.put(&mut doc, k, "description", text(&group.description));
    mapping.put(&mut doc, k, "mail", text(&group.mail));
    mapping.put(
        &mut doc,
        k,
        "groupType",
        Some(Value::Text(group_type(group).into())),
    );
    mapping.put(
        &mut doc,
        k,
        "membershipType",
        Some(Value::Text(
            if dynamic { "Dynamic" } else { "Assigned" }.into(),
        )),
    );
    mapping.put(&mut doc, k, "membershipRule", text(&group.membership_rule));
    mapping.put(
        &mut doc,
        k,
        "securityEnabled",
        group.security_enabled.map(Value::Boolean),
    );
    mapping.put(
        &mut doc,
        k,
        "mailEnabled",
        group.mail_enabled.map(Value::Boolean),
    );
    doc
}

/// An app registration's document; `owners` are user object IDs (first [`MAX_REFS`] referenced).
pub fn application_doc(mapping: &Mapping, app: &Application, owners: &[String]) -> Doc {
    let k = ObjectKind::Application;
    let mut doc = base(k, app.display_name.as_deref(), &app.id, Status::Active);
    mapping.put(&mut doc, k, "appId", text(&app.app_id));
    mapping.put(
        &mut doc,
        k,
        "createdDateTime",
        datetime(app.created_date_time),
    );
    let secret = app
        .password_credentials
        .iter()
        .filter_map(|c| c.end_date_time)
        .min();
    let certificate = app
        .key_credentials
        .iter()
        .filter_map(|c| c.end_date_time)
        .min();
    mapping.put(&mut doc, k, "secretExpires", datetime(secret));
    mapping.put(&mut doc, k, "certificateExpires", datetime(certificate));
    let referenced: Vec<String> = owners.iter().take(MAX_REFS).cloned().collect();
    mapping.put(
        &mut doc,
        k,
        "owners",
        (!referenced.is_empty()).then_some(Value::Refs(ObjectKind::User, referenced)),
    );
    let count = i64::try_from(owners.len()).unwrap_or(i64::MAX);
    mapping.put(&mut doc, k, "ownerCount", Some(Value::Integer(count)));
    doc
}

/// Entra's `trustType` in the words of the Entra admin center.
fn join_type(trust: Option<&str>) -> Option<Value> {
    let words = match trust? {
        "Workplace" => "Microsoft Entra registered",
        "AzureAd" => "Microsoft Entra joined",
        "ServerAd" => "Microsoft Entra hybrid joined",
        other => other,
    };
    Some(Value::Text(words.to_owned()))
}

/// An Entra device's document.
pub fn device_doc(mapping: &Mapping, device: &Device) -> Doc {
    let k = ObjectKind::Device;
    let status = if device.account_enabled == Some(false) {
        Status::Disabled
    } else {
        Status::Active
    };
    let mut doc = base(k, device.display_name.as_deref(), &device.id, status);
    mapping.put(&mut doc, k, "deviceId", text(&device.device_id));
    mapping.put(
        &mut doc,
        k,
        "operatingSystem",
        text(&device.operating_system),
    );
    mapping.put(
        &mut doc,
        k,
        "operatingSystemVersion",
        text(&device.operating_system_version),
    );
    mapping.put(
        &mut doc,
        k,
        "trustType",
        join_type(device.trust_type.as_deref()),
    );
    mapping.put(
        &mut doc,
        k,
        "approximateLastSignInDateTime",
        datetime(device.approximate_last_sign_in_date_time),
    );
    doc
}

/// An Intune managed device's document.
pub fn managed_device_doc(mapping: &Mapping, device: &ManagedDevice) -> Doc {
    let k = ObjectKind::ManagedDevice;
    let mut doc = base(k, device.device_name.as_deref(), &device.id, Status::Active);
    mapping.put(
        &mut doc,
        k,
        "operatingSystem",
        text(&device.operating_system),
    );
    mapping.put(&mut doc, k, "osVersion", text(&device.os_version));
    mapping.put(
        &mut doc,
        k,
        "complianceState",
        text(&device.compliance_state),
    );
    mapping.put(
        &mut doc,
        k,
        "lastSyncDateTime",
        datetime(device.last_sync_date_time),
    );
    mapping.put(
        &mut doc,
        k,
        "userId",
        one_ref(ObjectKind::User, device.user_id.as_deref()),
    );
    mapping.put(
        &mut doc,
        k,
        "userPrincipalName",
        text(&device.user_principal_name),
    );
    mapping.put(&mut doc, k, "serialNumber", text(&device.serial_number));
    mapping.put(&mut doc, k, "manufacturer", text(&device.manufacturer));
    mapping.put(&mut doc, k, "model", text(&device.model));
    mapping.put(
        &mut doc,
        k,
        "azureADDeviceId",
        text(&device.azure_ad_device_id),
    );
    mapping.put(
        &mut doc,
        k,
        "enrolledDateTime",
        datetime(device.enrolled_date_time),
    );
    doc
}

/// Which member reference a `members@delta` entry's `@odata.type` fills; `None` for members
/// the sync does not mirror (service principals, contacts).
pub fn member_kind(odata_type: Option<&str>) -> Option<ObjectKind> {
    match odata_type.unwrap_or("#microsoft.graph.user") {
        "#microsoft.graph.user" => Some(ObjectKind::User),
        "#microsoft.graph.group" => Some(ObjectKind::Group),
        "#microsoft.graph.device" => Some(ObjectKind::Device),
        _ => None,
    }
}

/// A membership's document; its label reads "Group → Member".
pub fn membership_doc(
    group_id: &str,
    group_label: &str,
    member_kind: ObjectKind,
    member_id: &str,
    member_label: &str,
) -> Doc {
    let id = membership_id(group_id, member_id);
    let label = membership_label(group_label, member_label);
    let mut doc = base(ObjectKind::Membership, Some(&label), &id, Status::Active);
    doc.set(MEMBERSHIP_GROUP, one_ref(ObjectKind::Group, Some(group_id)));
    let (attribute, word) = match member_kind {
        ObjectKind::Group => (MEMBER_GROUP, "Group"),
        ObjectKind::Device => (MEMBER_DEVICE, "Device"),
        _ => (MEMBER_USER, "User"),
    };
    doc.set(attribute, one_ref(member_kind, Some(member_id)));
    doc.set(MEMBER_TYPE, Some(Value::Text(word.into())));
    doc
}

/// A membership's label, named after both sides (renaming either renames it).
pub fn membership_label(group_label: &str, member_label: &str) -> String {
    format!("{group_label} → {member_label}")
}

/// A membership's remote id: `{groupId}:{memberId}`.
pub fn membership_id(group_id: &str, member_id: &str) -> String {
    format!("{group_id}:{member_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_rename_or_drop_attributes_and_bad_ones_are_named() {
        let overrides: Overrides = serde_json::from_value(serde_json::json!({
            "user": {"jobTitle": "Title", "city": null, "country": false, "mail": true}
        }))
        .unwrap();
        let mapping = Mapping::new(&overrides).unwrap();
        assert_eq!(
            mapping.attribute(ObjectKind::User, "jobTitle"),
            Some("Title")
        );
        assert_eq!(mapping.attribute(ObjectKind::User, "city"), None);
        assert_eq!(mapping.attribute(ObjectKind::User, "country"), None);
        assert_eq!(mapping.attribute(ObjectKind::User, "mail"), Some("Email"));
        // Written back TOML-friendly: no nulls.
        let written = serde_json::to_value(&overrides).unwrap();
        assert_eq!(written["user"]["city"], false);
        let names: Vec<String> = mapping
            .attributes(ObjectKind::User)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert!(names.contains(&"Title".to_owned()) && !names.contains(&"City".to_owned()));
        assert_eq!(names[0], OBJECT_ID);

        let bad: Overrides = serde_json::from_value(serde_json::json!({
            "user": {"shoeSize": "Shoes", "mail": "Department", "surname": "Name"},
            "printer": {}
        }))
        .unwrap();
        let problems = Mapping::new(&bad).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"attributes.user.shoeSize"), "{fields:?}");
        assert!(fields.contains(&"attributes.printer"), "{fields:?}");
        assert!(fields.contains(&"attributes.user.surname"), "{fields:?}");
        assert!(
            fields.contains(&"attributes.user.mail")
                || fields.contains(&"attributes.user.department"),
            "{fields:?}"
        );
    }

    #[test]
    fn member_types_outside_the_sync_are_not_mirrored() {
        assert_eq!(member_kind(None), Some(ObjectKind::User));
        assert_eq!(member_kind(Some("#microsoft.graph.servicePrincipal")), None);
        let doc = membership_doc("g", "Sales", ObjectKind::Device, "d", "PC-1");
        assert_eq!(doc.label, "Sales → PC-1");
        assert!(doc.values.contains_key(MEMBER_DEVICE));
        assert!(!doc.values.contains_key(STATUS));
    }
}
