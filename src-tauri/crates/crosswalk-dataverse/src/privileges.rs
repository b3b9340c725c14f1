//! What the application user's security roles let it do, for "Test connection".
//!
//! `RetrieveUserPrivileges` is a function bound to `systemuser` with no parameters:
//! `GET systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()` answers
//! `RetrieveUserPrivilegesResponse { RolePrivileges: Collection(RolePrivilege) }`, each
//! `RolePrivilege` carrying `PrivilegeName` (`prvReadIncident`), `PrivilegeId`, `Depth`
//! (`PrivilegeDepth`: Basic 0, Local 1, Deep 2, Global 3, RecordFilter 4) and `BusinessUnitId`
//! (learn.microsoft.com: power-apps/developer/data-platform/webapi/reference/roleprivilege and
//! privilegedepth; Dynamics CRM 2016 Web API reference "RetrieveUserPrivileges Function"). The
//! caller needs Read on User and Organization for it ("RetrieveUserPrivileges message
//! privileges": `prvReadUser`, `prvReadOrganization`); without them, read access can still be
//! probed with one tiny read ([`DataverseClient::probe_read`]).
//!
//! Privilege names are `prv<Right><Entity>`: the entity part is the table's schema name
//! (`prvReadIncident`), except notes (`prvCreateNote`), users (`prvReadUser`) and the built-in
//! activity tables, which share the Activity privileges (`prvCreateActivity`; CloseIncident
//! needs `prvCreateActivity`, `prvAppendActivity`, `prvAppendToIncident`, `prvWriteIncident`).
//! Error messages spell them with the logical name (`prvReadincident`, api/microsoft.md §F.11),
//! so names are compared without regard to case.

use crate::{check_id, check_name, literal, DataverseClient, Error, Result, API};
use crosswalk_http::RequestSpec;
use serde_json::Value;

const ROUTE_PRIVILEGES: &str =
    "/api/data/v9.2/systemusers({id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()";
const ROUTE_TABLE: &str = "/api/data/v9.2/EntityDefinitions(LogicalName={name})";
const ROUTE_PROBE: &str = "/api/data/v9.2/{entity_set}";
const TABLE_SELECT: &str =
    "LogicalName,SchemaName,EntitySetName,PrimaryIdAttribute,DisplayName,IsActivity,IsCustomEntity";

/// A data privilege of a security role (the columns of the role editor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessRight {
    Create,
    Read,
    Write,
    Delete,
    Append,
    AppendTo,
}

impl AccessRight {
    /// The right as it appears in a privilege name (`AppendTo`).
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRight::Create => "Create",
            AccessRight::Read => "Read",
            AccessRight::Write => "Write",
            AccessRight::Delete => "Delete",
            AccessRight::Append => "Append",
            AccessRight::AppendTo => "AppendTo",
        }
    }

    /// The right as the security role editor shows it (`Append To`).
    pub fn label(self) -> &'static str {
        match self {
            AccessRight::AppendTo => "Append To",
            other => other.as_str(),
        }
    }
}

/// How far a privilege reaches (`PrivilegeDepth`), narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrivilegeDepth {
    /// Only the records a record filter selects (`RecordFilter`, 4).
    RecordFilter,
    /// Records the user owns or that are shared with it (`Basic`, 0).
    Basic,
    /// Records of the user's business unit (`Local`, 1).
    Local,
    /// Records of the user's business unit and the units under it (`Deep`, 2).
    Deep,
    /// Every record of the organization (`Global`, 3).
    Global,
}

impl PrivilegeDepth {
    /// From the Web API's enum member name (`"Global"`) or its value (`3`).
    pub fn parse(value: &Value) -> Option<PrivilegeDepth> {
        match value {
            Value::String(name) => match name.as_str() {
                "Basic" => Some(PrivilegeDepth::Basic),
                "Local" => Some(PrivilegeDepth::Local),
                "Deep" => Some(PrivilegeDepth::Deep),
                "Global" => Some(PrivilegeDepth::Global),
                "RecordFilter" => Some(PrivilegeDepth::RecordFilter),
                other => other
                    .parse::<u64>()
                    .ok()
                    .and_then(PrivilegeDepth::from_value),
            },
            Value::Number(n) => n.as_u64().and_then(PrivilegeDepth::from_value),
            _ => None,
        }
    }

    fn from_value(value: u64) -> Option<PrivilegeDepth> {
        match value {
            0 => Some(PrivilegeDepth::Basic),
            1 => Some(PrivilegeDepth::Local),
            2 => Some(PrivilegeDepth::Deep),
            3 => Some(PrivilegeDepth::Global),
            4 => Some(PrivilegeDepth::RecordFilter),
            _ => None,
        }
    }

    /// The access level as the security role editor names it.
    pub fn label(self) -> &'static str {
        match self {
            PrivilegeDepth::RecordFilter => "Record filter",
            PrivilegeDepth::Basic => "User",
            PrivilegeDepth::Local => "Business Unit",
            PrivilegeDepth::Deep => "Parent: Child Business Units",
            PrivilegeDepth::Global => "Organization",
        }
    }
}

/// One privilege the user holds through a role or team (`RolePrivilege`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePrivilege {
    /// `prvReadIncident`.
    pub name: String,
    pub depth: PrivilegeDepth,
    pub privilege_id: String,
    pub business_unit_id: Option<String>,
}

/// A table as its privileges know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuredTable {
    pub logical_name: String,
    pub schema_name: String,
    pub entity_set_name: String,
    pub primary_id_attribute: String,
    pub display_name: Option<String>,
    pub is_activity: bool,
    pub is_custom: bool,
}

impl SecuredTable {
    /// The entity part of its privilege names: `Note`, `User`, `Activity` (built-in activity
    /// tables share one set), else the schema name.
    pub fn privilege_entity(&self) -> &str {
        match self.logical_name.as_str() {
            "annotation" => "Note",
            "systemuser" => "User",
            _ if self.is_activity && !self.is_custom => "Activity",
            _ => &self.schema_name,
        }
    }

    /// The privilege for `right` on this table, as Dataverse names it (`prvReadIncident`).
    pub fn privilege_name(&self, right: AccessRight) -> String {
        format!("prv{}{}", right.as_str(), self.privilege_entity())
    }

    /// Where the security role editor lists it: `Activity` for built-in activity tables,
    /// `Note`, else the display name.
    pub fn role_editor_name(&self) -> String {
        match self.privilege_entity() {
            entity @ ("Note" | "Activity") => entity.to_owned(),
            _ => self.label(),
        }
    }

    /// Its display name, else its logical name.
    pub fn label(&self) -> String {
        self.display_name
            .clone()
            .unwrap_or_else(|| self.logical_name.clone())
    }

    /// Every spelling a privilege for `right` may have (entity, schema and logical name).
    fn privilege_names(&self, right: AccessRight) -> [String; 3] {
        [
            self.privilege_name(right),
            format!("prv{}{}", right.as_str(), self.schema_name),
            format!("prv{}{}", right.as_str(), self.logical_name),
        ]
    }
}

/// The privileges `RetrieveUserPrivileges` answered, through every role and team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPrivileges {
    pub privileges: Vec<RolePrivilege>,
}

impl UserPrivileges {
    /// The widest depth at which the user holds `right` on `table`, if at all.
    pub fn depth(&self, table: &SecuredTable, right: AccessRight) -> Option<PrivilegeDepth> {
        let names = table.privilege_names(right);
        self.privileges
            .iter()
            .filter(|p| names.iter().any(|n| n.eq_ignore_ascii_case(&p.name)))
            .map(|p| p.depth)
            .max()
    }
}

fn parse_privileges(value: &Value) -> Result<UserPrivileges> {
    let items = value
        .get("RolePrivileges")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Unexpected {
            route: ROUTE_PRIVILEGES,
            detail: "the answer has no RolePrivileges".to_owned(),
        })?;
    let text = |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let privileges = items
        .iter()
        .filter_map(|item| {
            Some(RolePrivilege {
                name: text(item, "PrivilegeName")?,
                depth: item.get("Depth").and_then(PrivilegeDepth::parse)?,
                privilege_id: text(item, "PrivilegeId").unwrap_or_default(),
                business_unit_id: text(item, "BusinessUnitId"),
            })
        })
        .collect();
    Ok(UserPrivileges { privileges })
}

/// `UserLocalizedLabel.Label`, else the first `LocalizedLabels` entry.
fn display_label(value: &Value) -> Option<String> {
    value
        .pointer("/UserLocalizedLabel/Label")
        .and_then(Value::as_str)
        .or_else(|| {
            value
                .pointer("/LocalizedLabels/0/Label")
                .and_then(Value::as_str)
        })
        .filter(|label| !label.is_empty())
        .map(str::to_owned)
}

fn parse_table(value: &Value) -> Result<SecuredTable> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let missing = |key: &str| Error::Unexpected {
        route: ROUTE_TABLE,
        detail: format!("the table definition has no {key}"),
    };
    let logical_name = text("LogicalName").ok_or_else(|| missing("LogicalName"))?;
    Ok(SecuredTable {
        schema_name: text("SchemaName").unwrap_or_else(|| logical_name.clone()),
        entity_set_name: text("EntitySetName").ok_or_else(|| missing("EntitySetName"))?,
        primary_id_attribute: text("PrimaryIdAttribute")
            .ok_or_else(|| missing("PrimaryIdAttribute"))?,
        display_name: value.get("DisplayName").and_then(display_label),
        is_activity: value.get("IsActivity").and_then(Value::as_bool) == Some(true),
        is_custom: value.get("IsCustomEntity").and_then(Value::as_bool) == Some(true),
        logical_name,
    })
}

impl DataverseClient {
    /// The privileges `user_id` (a `systemuserid`, e.g. `WhoAmI`'s `UserId`) holds through its
    /// roles and teams (`RetrieveUserPrivileges`).
    ///
    /// # Errors
    /// `MissingPrivilege` when the caller lacks Read on User or Organization; `Http(NotFound)`
    /// for an unknown user.
    pub async fn user_privileges(&self, user_id: &str) -> Result<UserPrivileges> {
        check_id(user_id)?;
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE_PRIVILEGES,
                format!(
                    "{API}/systemusers({user_id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"
                ),
            ))
            .await?;
        parse_privileges(&value)
    }

    /// A table's names for privileges and probes (`EntityDefinitions`; no table privilege needed).
    ///
    /// # Errors
    /// `Http(NotFound)` when the table does not exist.
    pub async fn secured_table(&self, logical_name: &str) -> Result<SecuredTable> {
        check_name("table name", logical_name)?;
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE_TABLE,
                format!(
                    "{API}/EntityDefinitions(LogicalName={})?$select={TABLE_SELECT}",
                    literal(logical_name)
                ),
            ))
            .await?;
        parse_table(&value)
    }

    /// Reads at most one row's id from `table`: succeeds exactly when the role can read it.
    ///
    /// # Errors
    /// `MissingPrivilege` without Read on the table.
    pub async fn probe_read(&self, table: &SecuredTable) -> Result<()> {
        check_name("entity set", &table.entity_set_name)?;
        check_name("column", &table.primary_id_attribute)?;
        let _: Value = self
            .send_json(RequestSpec::get(
                ROUTE_PROBE,
                format!(
                    "{API}/{}?$select={}&$top=1",
                    table.entity_set_name, table.primary_id_attribute
                ),
            ))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    fn table(logical: &str, schema: &str, is_activity: bool) -> SecuredTable {
        SecuredTable {
            logical_name: logical.into(),
            schema_name: schema.into(),
            entity_set_name: format!("{logical}s"),
            primary_id_attribute: format!("{logical}id"),
            display_name: None,
            is_activity,
            is_custom: false,
        }
    }

    #[test]
    fn documented_privilege_names() {
        assert_eq!(
            table("incident", "Incident", false).privilege_name(AccessRight::Read),
            "prvReadIncident"
        );
        assert_eq!(
            table("annotation", "Annotation", false).privilege_name(AccessRight::AppendTo),
            "prvAppendToNote"
        );
        assert_eq!(
            table("task", "Task", true).privilege_name(AccessRight::Create),
            "prvCreateActivity"
        );
        assert_eq!(
            table("systemuser", "SystemUser", false).privilege_name(AccessRight::Read),
            "prvReadUser"
        );
    }

    #[test]
    fn depths_and_names_are_matched_loosely_and_the_widest_wins() {
        let answer = json!({"RolePrivileges": [
            {"Depth": "Local", "PrivilegeId": "a", "BusinessUnitId": "b", "PrivilegeName": "prvReadIncident"},
            {"Depth": 3, "PrivilegeId": "c", "BusinessUnitId": "b", "PrivilegeName": "prvreadincident"},
            {"Depth": "Basic", "PrivilegeId": "d", "BusinessUnitId": "b", "PrivilegeName": "prvAppendToIncident"},
        ]});
        let privileges = parse_privileges(&answer).unwrap();
        let incident = table("incident", "Incident", false);
        assert_eq!(
            privileges.depth(&incident, AccessRight::Read),
            Some(PrivilegeDepth::Global)
        );
        assert_eq!(
            privileges.depth(&incident, AccessRight::AppendTo),
            Some(PrivilegeDepth::Basic)
        );
        // `prvAppendIncident` is not `prvAppendToIncident`.
        assert_eq!(privileges.depth(&incident, AccessRight::Append), None);
        assert_eq!(privileges.depth(&incident, AccessRight::Write), None);
        assert!(parse_privileges(&json!({})).is_err());
    }
}
