//! An Entra Sync job's settings, as the config file and the console's job editor write them.

use crate::kinds::ObjectKind;
use crate::mapping::{Mapping, Overrides};
use crosswalk_core::ValidationError;
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

fn default_schema_name() -> String {
    "Entra ID".into()
}

fn default_schema_key() -> String {
    "ENTRA".into()
}

/// Which kinds a job mirrors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "EntraKinds"))]
#[serde(deny_unknown_fields)]
pub struct Kinds {
    #[serde(default = "yes")]
    pub users: bool,
    #[serde(default = "yes")]
    pub groups: bool,
    /// Group memberships as objects (needs users and groups).
    #[serde(default = "yes")]
    pub memberships: bool,
    #[serde(default = "yes")]
    pub applications: bool,
    #[serde(default = "yes")]
    pub devices: bool,
    /// Intune managed devices (needs DeviceManagementManagedDevices.Read.All).
    #[serde(default = "yes")]
    pub managed_devices: bool,
}

impl Default for Kinds {
    fn default() -> Kinds {
        Kinds {
            users: true,
            groups: true,
            memberships: true,
            applications: true,
            devices: true,
            managed_devices: true,
        }
    }
}

impl Kinds {
    /// Whether `kind` is synced.
    pub fn includes(&self, kind: ObjectKind) -> bool {
        match kind {
            ObjectKind::User => self.users,
            ObjectKind::Group => self.groups,
            ObjectKind::Membership => self.memberships && self.groups,
            ObjectKind::Application => self.applications,
            ObjectKind::Device => self.devices,
            ObjectKind::ManagedDevice => self.managed_devices,
        }
    }

    /// The synced kinds in run order.
    pub fn enabled(&self) -> Vec<ObjectKind> {
        ObjectKind::ALL
            .into_iter()
            .filter(|k| self.includes(*k))
            .collect()
    }
}

/// Narrowing what is mirrored; an object that leaves the scope is retired like a deleted one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "EntraFilters"))]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Only these user types (`Member`, `Guest`); empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_types: Vec<String>,
    /// Only users who are members (directly or through nested groups) of one of these groups,
    /// by object ID; empty = all users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_of_groups: Vec<String>,
    /// Leave disabled accounts out instead of marking them Disabled.
    #[serde(default)]
    pub skip_disabled_users: bool,
    /// Only devices (Entra and Intune) whose operating system is one of these (case-insensitive,
    /// e.g. `Windows`, `iOS`, `macOS`, `Android`); empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_platforms: Vec<String>,
    /// A Graph-style OData `$filter` per kind, evaluated by Crosswalk (see [`ODataFilters`]).
    #[serde(default, skip_serializing_if = "ODataFilters::is_empty")]
    pub odata: ODataFilters,
}

/// One OData `$filter` expression per kind (`department eq 'Sales'`), empty = every object.
/// Crosswalk evaluates it on each object Graph returns, because Graph delta queries accept no
/// `$filter` (api/microsoft.md §C.3); the properties it names are added to `$select`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "EntraODataFilters"))]
#[serde(deny_unknown_fields)]
pub struct ODataFilters {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub users: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub groups: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub applications: String,
    /// Entra devices.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub devices: String,
    /// Intune managed devices.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub managed_devices: String,
}

impl ODataFilters {
    /// The kinds that take a filter (memberships follow their group and member).
    pub const KINDS: [ObjectKind; 5] = [
        ObjectKind::User,
        ObjectKind::Group,
        ObjectKind::Application,
        ObjectKind::Device,
        ObjectKind::ManagedDevice,
    ];

    /// Whether no kind has a filter (blank text counts as none).
    pub fn is_empty(&self) -> bool {
        Self::KINDS.iter().all(|k| self.get(*k).is_empty())
    }

    /// The filter of `kind`, trimmed; empty when it has none.
    pub fn get(&self, kind: ObjectKind) -> &str {
        match kind {
            ObjectKind::User => &self.users,
            ObjectKind::Group => &self.groups,
            ObjectKind::Application => &self.applications,
            ObjectKind::Device => &self.devices,
            ObjectKind::ManagedDevice => &self.managed_devices,
            ObjectKind::Membership => "",
        }
        .trim()
    }
}

impl Filters {
    /// Whether a user with this type and account state is in scope.
    pub fn user_in_scope(&self, user_type: Option<&str>, enabled: Option<bool>) -> bool {
        let type_ok = self.user_types.is_empty()
            || user_type.is_some_and(|t| self.user_types.iter().any(|w| w.eq_ignore_ascii_case(t)));
        type_ok && !(self.skip_disabled_users && enabled == Some(false))
    }

    /// Whether a device with this operating system is in scope.
    pub fn device_in_scope(&self, operating_system: Option<&str>) -> bool {
        self.device_platforms.is_empty()
            || operating_system.is_some_and(|os| {
                self.device_platforms
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(os.trim()))
            })
    }
}

/// What happens to objects that disappear from Entra.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "EntraRetireMode"))]
#[serde(rename_all = "snake_case")]
pub enum RetireMode {
    /// Set `Entra Status` to "Removed from Entra" and `Removed on` (the default: keeps history).
    #[default]
    Mark,
    /// Mark, then delete the Assets object `delete_after_days` later.
    Delete,
}

fn default_delete_after() -> u32 {
    30
}

fn default_share() -> u32 {
    10
}

fn default_guard_floor() -> u32 {
    20
}

/// Retirement policy and the mass-retirement guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "EntraRetire"))]
#[serde(deny_unknown_fields)]
pub struct Retire {
    #[serde(default)]
    pub mode: RetireMode,
    #[serde(default = "default_delete_after")]
    pub delete_after_days: u32,
    /// A run that would retire more than this percentage of a kind's objects waits for the
    /// admin's confirmation instead.
    #[serde(default = "default_share")]
    pub max_share_percent: u32,
    /// Runs retiring at most this many objects of a kind never need confirmation.
    #[serde(default = "default_guard_floor")]
    pub guard_floor: u32,
}

impl Default for Retire {
    fn default() -> Retire {
        Retire {
            mode: RetireMode::Mark,
            delete_after_days: default_delete_after(),
            max_share_percent: default_share(),
            guard_floor: default_guard_floor(),
        }
    }
}

/// Settings of an `entra-sync` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct EntraSyncSettings {
    /// The Entra connection to read from.
    pub entra_connection: String,
    /// The Jira connection whose Assets workspace is written.
    pub jira_connection: String,
    /// The object schema (created when missing; a dedicated one is recommended).
    #[serde(default = "default_schema_name")]
    pub schema_name: String,
    #[serde(default = "default_schema_key")]
    pub schema_key: String,
    #[serde(default)]
    pub kinds: Kinds,
    #[serde(default)]
    pub filters: Filters,
    /// Attribute-name overrides: kind → Graph property → attribute (null = not synced).
    #[serde(default, skip_serializing_if = "Overrides::is_empty")]
    #[cfg_attr(
        feature = "ts",
        ts(type = "Record<string, Record<string, string | boolean | null>>")
    )]
    pub attributes: Overrides,
    #[serde(default)]
    pub retire: Retire,
}

impl EntraSyncSettings {
    /// Reads and checks a job's settings; every problem is reported with its field.
    pub fn parse(
        value: &serde_json::Value,
    ) -> Result<(EntraSyncSettings, Mapping), Vec<ValidationError>> {
        let settings: EntraSyncSettings = serde_json::from_value(value.clone())
            .map_err(|error| vec![ValidationError::new("settings", error.to_string())])?;
        let mut problems = Vec::new();
        for (field, value) in [
            ("entra_connection", &settings.entra_connection),
            ("jira_connection", &settings.jira_connection),
            ("schema_name", &settings.schema_name),
        ] {
            if value.trim().is_empty() {
                problems.push(ValidationError::new(field, "is required"));
            }
        }
        let key = &settings.schema_key;
        if !(2..=10).contains(&key.len())
            || !key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            problems.push(ValidationError::new(
                "schema_key",
                "must be 2 to 10 capital letters or digits (Assets object schema key)",
            ));
        }
        for (i, group) in settings.filters.member_of_groups.iter().enumerate() {
            let plain =
                group.len() == 36 && group.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if !plain {
                problems.push(ValidationError::new(
                    format!("filters.member_of_groups.{i}"),
                    "must be a group's object ID (a GUID, shown in Entra admin center › Groups › the group › Overview)",
                ));
            }
        }
        if let Err(mut more) = crate::scope::Scope::new(&settings) {
            problems.append(&mut more);
        }
        if settings.kinds.enabled().is_empty() {
            problems.push(ValidationError::new(
                "kinds",
                "choose at least one kind of object",
            ));
        }
        if settings.kinds.memberships && !settings.kinds.groups {
            problems.push(ValidationError::new(
                "kinds.memberships",
                "group memberships need groups to be synced",
            ));
        }
        if settings.retire.max_share_percent == 0 || settings.retire.max_share_percent > 100 {
            problems.push(ValidationError::new(
                "retire.max_share_percent",
                "must be between 1 and 100",
            ));
        }
        let mapping = Mapping::new(&settings.attributes).map_err(|mut more| {
            more.append(&mut problems);
            more
        });
        match mapping {
            Ok(mapping) if problems.is_empty() => Ok((settings, mapping)),
            Ok(_) => Err(problems),
            Err(all) => Err(all),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minimal_settings_get_the_recommended_defaults() {
        let (settings, _) =
            EntraSyncSettings::parse(&json!({"entra_connection": "e", "jira_connection": "j"}))
                .unwrap();
        assert_eq!(settings.schema_name, "Entra ID");
        assert_eq!(settings.schema_key, "ENTRA");
        assert_eq!(settings.kinds.enabled().len(), 6);
        assert_eq!(settings.retire.mode, RetireMode::Mark);
        assert_eq!(settings.retire.max_share_percent, 10);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let problems = EntraSyncSettings::parse(&json!({
            "entra_connection": " ", "jira_connection": "j", "schema_key": "entra id",
            "kinds": {"groups": false},
            "retire": {"max_share_percent": 0},
            "attributes": {"user": {"nope": "x"}}
        }))
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for field in [
            "entra_connection",
            "schema_key",
            "kinds.memberships",
            "retire.max_share_percent",
            "attributes.user.nope",
        ] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
        let unknown = EntraSyncSettings::parse(
            &json!({"entra_connection": "e", "jira_connection": "j", "colour": 1}),
        )
        .unwrap_err();
        assert!(unknown[0].message.contains("colour"));
    }

    #[test]
    fn odata_filters_are_checked_at_parse_with_their_position() {
        let mut settings = json!({"entra_connection": "e", "jira_connection": "j",
            "filters": {"odata": {"users": "department eq 'Sales' and not startswith(jobTitle,'Intern')",
                                  "managed_devices": "complianceState eq 'compliant'"}}});
        let (parsed, _) = EntraSyncSettings::parse(&settings).unwrap();
        assert_eq!(
            parsed.filters.odata.get(ObjectKind::ManagedDevice),
            "complianceState eq 'compliant'"
        );
        assert_eq!(parsed.filters.odata.get(ObjectKind::Group), "");
        // Written back as given; kinds without a filter are left out.
        assert_eq!(
            serde_json::to_value(&parsed.filters).unwrap()["odata"],
            settings["filters"]["odata"]
        );
        settings["filters"]["odata"]["groups"] = json!("displayName eq 'x' or");
        let problems = EntraSyncSettings::parse(&settings).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "filters.odata.groups");
        assert_eq!(
            problems[0].message,
            "Filter for groups: expected a condition such as department eq 'Sales' at character 22, found the end of the filter"
        );
        settings["filters"]["odata"]["memberships"] = json!("x eq 1");
        let unknown = EntraSyncSettings::parse(&settings).unwrap_err();
        assert!(unknown[0].message.contains("memberships"), "{unknown:?}");
        let (plain, _) =
            EntraSyncSettings::parse(&json!({"entra_connection": "e", "jira_connection": "j",
            "filters": {"user_types": ["Member"]}}))
            .unwrap();
        assert!(plain.filters.odata.is_empty());
        assert!(serde_json::to_value(&plain.filters)
            .unwrap()
            .get("odata")
            .is_none());
    }

    #[test]
    fn filters_scope_users_and_devices() {
        let filters = Filters {
            member_of_groups: Vec::new(),
            user_types: vec!["Member".into()],
            skip_disabled_users: true,
            device_platforms: vec!["windows".into()],
            odata: ODataFilters::default(),
        };
        assert!(filters.user_in_scope(Some("member"), Some(true)));
        assert!(!filters.user_in_scope(Some("Guest"), Some(true)));
        assert!(!filters.user_in_scope(Some("Member"), Some(false)));
        assert!(filters.device_in_scope(Some("Windows")));
        assert!(!filters.device_in_scope(Some("iOS")));
        assert!(Filters::default().device_in_scope(None));
    }
}
