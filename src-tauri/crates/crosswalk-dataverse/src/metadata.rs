//! Table and column metadata (`EntityDefinitions`, api/microsoft.md §F.3). Choice options come
//! from the typed casts (`Microsoft.Dynamics.CRM.PicklistAttributeMetadata` ...), because
//! `OptionSet` cannot be expanded on the generic `Attributes`. Metadata queries do not page.

use crate::models::{Attribute, AttributeKind, ColumnType, EntityInfo, OptionValue};
use crate::{check_name, enc, literal, DataverseClient, Error, Result, API};
use crosswalk_http::RequestSpec;
use serde_json::Value;
use std::collections::HashMap;

const ENTITY_SELECT: &str = "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,ChangeTrackingEnabled,ObjectTypeCode,DisplayName";
const ROUTE_ENTITY: &str = "/api/data/v9.2/EntityDefinitions(LogicalName={name})";
const ROUTE_ATTRIBUTES: &str = "/api/data/v9.2/EntityDefinitions(LogicalName={name})/Attributes";
const NS: &str = "Microsoft.Dynamics.CRM.";

/// `UserLocalizedLabel.Label`, else the first `LocalizedLabels` entry.
pub(crate) fn label(value: &Value) -> Option<String> {
    value
        .pointer("/UserLocalizedLabel/Label")
        .and_then(Value::as_str)
        .or_else(|| {
            value
                .pointer("/LocalizedLabels/0/Label")
                .and_then(Value::as_str)
        })
        .map(str::to_owned)
}

fn entity_info(route: &'static str, value: &Value) -> Result<EntityInfo> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let missing = |key: &str| Error::Unexpected {
        route,
        detail: format!("the table definition has no {key}"),
    };
    Ok(EntityInfo {
        logical_name: text("LogicalName").ok_or_else(|| missing("LogicalName"))?,
        entity_set_name: text("EntitySetName").ok_or_else(|| missing("EntitySetName"))?,
        primary_id_attribute: text("PrimaryIdAttribute")
            .ok_or_else(|| missing("PrimaryIdAttribute"))?,
        primary_name_attribute: text("PrimaryNameAttribute"),
        change_tracking_enabled: value
            .get("ChangeTrackingEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        object_type_code: value.get("ObjectTypeCode").and_then(Value::as_i64),
        display_name: value.get("DisplayName").and_then(label),
    })
}

fn options(value: &Value) -> Vec<OptionValue> {
    let as_i32 = |v: Option<&Value>| {
        v.and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    };
    value
        .get("Options")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some(OptionValue {
                        value: as_i32(item.get("Value"))?,
                        label: item.get("Label").and_then(label).unwrap_or_default(),
                        state: as_i32(item.get("State")),
                        default_status: as_i32(item.get("DefaultStatus")),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A text column's format from its `StringAttributeMetadata` / `MemoAttributeMetadata` cast:
/// `FormatName.Value` (`{"Value": "RichText"}`), else the legacy `Format` enum (`"TextArea"`).
/// `FormatName` comes first: it is the only one that can say `RichText` (a rich-text column
/// reads `Format: "Text"`, `FormatName: "RichText"`).
fn text_format(item: &Value) -> Option<String> {
    let name = match item.get("FormatName") {
        Some(Value::Object(name)) => name.get("Value").and_then(Value::as_str),
        Some(Value::String(name)) => Some(name.as_str()),
        _ => None,
    };
    name.or_else(|| item.get("Format").and_then(Value::as_str))
        .map(str::trim)
        .filter(|format| !format.is_empty())
        .map(str::to_owned)
}

/// The option set of a cast attribute: a local `OptionSet`, else the `GlobalOptionSet`.
fn option_set(item: &Value) -> Vec<OptionValue> {
    ["OptionSet", "GlobalOptionSet"]
        .iter()
        .filter_map(|key| item.get(*key).filter(|v| v.is_object()))
        .map(options)
        .find(|found| !found.is_empty())
        .unwrap_or_default()
}

impl DataverseClient {
    /// A table's set name, keys and change-tracking flag, by logical name (`incident`).
    ///
    /// # Errors
    /// `Http(NotFound)` when the table does not exist.
    pub async fn entity(&self, logical_name: &str) -> Result<EntityInfo> {
        check_name("table name", logical_name)?;
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE_ENTITY,
                format!(
                    "{API}/EntityDefinitions(LogicalName={})?$select={ENTITY_SELECT}",
                    literal(logical_name)
                ),
            ))
            .await?;
        let info = entity_info(ROUTE_ENTITY, &value)?;
        self.remember(info.clone());
        Ok(info)
    }

    /// Every table of the environment (`EntityDefinitions`, one request: metadata queries do
    /// not page), for choosing the table of a mapping. Tables are listed as Dataverse returns
    /// them; tables a role cannot read still show here (metadata needs no table privilege).
    ///
    /// # Errors
    /// Any `Http` failure; `Unexpected` when the answer has no list.
    pub async fn list_entities(&self) -> Result<Vec<EntityInfo>> {
        const ROUTE: &str = "/api/data/v9.2/EntityDefinitions";
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE,
                format!("{API}/EntityDefinitions?$select={ENTITY_SELECT}"),
            ))
            .await?;
        let items = value
            .get("value")
            .and_then(Value::as_array)
            .ok_or(Error::Unexpected {
                route: ROUTE,
                detail: "no table list".to_owned(),
            })?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let info = entity_info(ROUTE, item)?;
            self.remember(info.clone());
            out.push(info);
        }
        Ok(out)
    }

    /// A table's info by entity set name (`incidents`).
    pub(crate) async fn entity_by_set(&self, entity_set: &str) -> Result<EntityInfo> {
        const ROUTE: &str = "/api/data/v9.2/EntityDefinitions?$filter=EntitySetName";
        check_name("entity set", entity_set)?;
        let filter = format!("EntitySetName eq {}", literal(entity_set));
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE,
                format!(
                    "{API}/EntityDefinitions?$select={ENTITY_SELECT}&$filter={}",
                    enc(&filter)
                ),
            ))
            .await?;
        let first = value
            .pointer("/value/0")
            .ok_or_else(|| Error::InvalidArgument {
                what: "entity set",
                value: entity_set.to_owned(),
            })?;
        entity_info(ROUTE, first)
    }

    /// One typed request on `Attributes/Microsoft.Dynamics.CRM.<cast>`; items by logical name.
    async fn cast(
        &self,
        logical_name: &str,
        cast: &str,
        query: &str,
    ) -> Result<HashMap<String, Value>> {
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE_ATTRIBUTES,
                format!(
                    "{API}/EntityDefinitions(LogicalName={})/Attributes/{NS}{cast}?{query}",
                    literal(logical_name)
                ),
            ))
            .await?;
        Ok(value
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let name = item.get("LogicalName")?.as_str()?.to_owned();
                Some((name, item.clone()))
            })
            .collect())
    }

    /// The table's `statecode` options (each with `default_status`) and `statuscode` options
    /// (each with the `state` it belongs to), read from the `StateAttributeMetadata` and
    /// `StatusAttributeMetadata` casts (§F.3) in two requests. Empty lists for a table without
    /// state columns.
    ///
    /// # Errors
    /// `Http(NotFound)` when the table does not exist.
    pub async fn state_options(
        &self,
        logical_name: &str,
    ) -> Result<(Vec<OptionValue>, Vec<OptionValue>)> {
        check_name("table name", logical_name)?;
        let query = "$select=LogicalName&$expand=OptionSet($select=Options)";
        let states = self
            .cast(logical_name, "StateAttributeMetadata", query)
            .await?;
        let statuses = self
            .cast(logical_name, "StatusAttributeMetadata", query)
            .await?;
        let pick = |map: &HashMap<String, Value>, name: &str| {
            map.get(name).map(option_set).unwrap_or_default()
        };
        Ok((pick(&states, "statecode"), pick(&statuses, "statuscode")))
    }

    /// A table's columns with their `AttributeType` only, in one request (the generic
    /// `Attributes` list): what reading records needs (which columns are lookups), without the
    /// nine typed casts [`DataverseClient::attributes`] adds for converting values.
    ///
    /// # Errors
    /// `Http(NotFound)` when the table does not exist.
    pub async fn column_types(&self, logical_name: &str) -> Result<Vec<ColumnType>> {
        check_name("table name", logical_name)?;
        let all: Value = self
            .send_json(RequestSpec::get(
                ROUTE_ATTRIBUTES,
                format!(
                    "{API}/EntityDefinitions(LogicalName={})/Attributes?$select=LogicalName,AttributeType",
                    literal(logical_name)
                ),
            ))
            .await?;
        let items = all
            .get("value")
            .and_then(Value::as_array)
            .ok_or(Error::Unexpected {
                route: ROUTE_ATTRIBUTES,
                detail: "no attribute list".to_owned(),
            })?;
        Ok(items
            .iter()
            .filter_map(|item| {
                Some(ColumnType {
                    logical_name: item.get("LogicalName")?.as_str()?.to_owned(),
                    attribute_type: item
                        .get("AttributeType")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
            })
            .collect())
    }

    /// A table's columns with their types, choice options (multi-select choices included),
    /// date behaviours, lookup targets and text formats (rich text or not), in ten requests
    /// (the generic list and one per typed cast).
    ///
    /// # Errors
    /// `Http(NotFound)` when the table does not exist.
    pub async fn attributes(&self, logical_name: &str) -> Result<Vec<Attribute>> {
        check_name("table name", logical_name)?;
        let all: Value = self
            .send_json(RequestSpec::get(
                ROUTE_ATTRIBUTES,
                format!(
                    "{API}/EntityDefinitions(LogicalName={})/Attributes?$select=LogicalName,AttributeType,AttributeTypeName,DisplayName",
                    literal(logical_name)
                ),
            ))
            .await?;
        let options_query = "$select=LogicalName&$expand=OptionSet($select=Options)";
        // Choice and multi-select choice columns may use a global choice (`GlobalOptionSet`).
        let enum_query =
            "$select=LogicalName&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)";
        let picklists = self
            .cast(logical_name, "PicklistAttributeMetadata", enum_query)
            .await?;
        // A multi-select choice reads `AttributeType` `Virtual` on the generic list; this cast
        // both identifies it and carries its options.
        let multi_selects = self
            .cast(
                logical_name,
                "MultiSelectPicklistAttributeMetadata",
                enum_query,
            )
            .await?;
        let states = self
            .cast(logical_name, "StateAttributeMetadata", options_query)
            .await?;
        let statuses = self
            .cast(logical_name, "StatusAttributeMetadata", options_query)
            .await?;
        let booleans = self
            .cast(
                logical_name,
                "BooleanAttributeMetadata",
                "$select=LogicalName&$expand=OptionSet($select=TrueOption,FalseOption)",
            )
            .await?;
        let lookups = self
            .cast(
                logical_name,
                "LookupAttributeMetadata",
                "$select=LogicalName,Targets",
            )
            .await?;
        let dates = self
            .cast(
                logical_name,
                "DateTimeAttributeMetadata",
                "$select=LogicalName,DateTimeBehavior",
            )
            .await?;
        // Format and FormatName are on the typed casts only, not on the generic Attributes.
        let format_query = "$select=LogicalName,Format,FormatName";
        let strings = self
            .cast(logical_name, "StringAttributeMetadata", format_query)
            .await?;
        let memos = self
            .cast(logical_name, "MemoAttributeMetadata", format_query)
            .await?;
        let items = all
            .get("value")
            .and_then(Value::as_array)
            .ok_or(Error::Unexpected {
                route: ROUTE_ATTRIBUTES,
                detail: "no attribute list".to_owned(),
            })?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Some(name) = item.get("LogicalName").and_then(Value::as_str) else {
                continue;
            };
            let kind_name = item
                .get("AttributeType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let opts =
                |map: &HashMap<String, Value>| map.get(name).map(option_set).unwrap_or_default();
            let type_name = item
                .pointer("/AttributeTypeName/Value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let kind_name =
                if multi_selects.contains_key(name) || type_name == "MultiSelectPicklistType" {
                    "MultiSelectPicklist"
                } else {
                    kind_name
                };
            let kind = match kind_name {
                "String" => AttributeKind::String,
                "Memo" => AttributeKind::Memo,
                "Integer" => AttributeKind::Integer,
                "Decimal" => AttributeKind::Decimal,
                "Money" => AttributeKind::Money,
                "DateTime" => AttributeKind::DateTime {
                    behavior: dates
                        .get(name)
                        .and_then(|v| v.pointer("/DateTimeBehavior/Value"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                },
                "Boolean" => {
                    let option = |key: &str| {
                        booleans
                            .get(name)
                            .and_then(|v| v.pointer(&format!("/OptionSet/{key}/Label")))
                            .and_then(label)
                    };
                    AttributeKind::Boolean {
                        true_label: option("TrueOption"),
                        false_label: option("FalseOption"),
                    }
                }
                "Picklist" => AttributeKind::Picklist {
                    options: opts(&picklists),
                },
                "State" => AttributeKind::State {
                    options: opts(&states),
                },
                "Status" => AttributeKind::Status {
                    options: opts(&statuses),
                },
                "MultiSelectPicklist" => AttributeKind::MultiSelect {
                    options: opts(&multi_selects),
                },
                "Lookup" | "Customer" | "Owner" => AttributeKind::Lookup {
                    targets: lookups
                        .get(name)
                        .and_then(|v| v.get("Targets"))
                        .and_then(Value::as_array)
                        .map(|t| {
                            t.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                },
                other => AttributeKind::Other(other.to_owned()),
            };
            let format = match kind {
                AttributeKind::String => strings.get(name).and_then(text_format),
                AttributeKind::Memo => memos.get(name).and_then(text_format),
                _ => None,
            };
            out.push(Attribute {
                logical_name: name.to_owned(),
                display_name: item.get("DisplayName").and_then(label),
                kind,
                format,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{option_set, text_format};
    use crate::models::OptionValue;
    use serde_json::json;

    #[test]
    fn multi_select_options_come_from_a_local_or_global_option_set() {
        let option = |value: i32, label: &str| OptionValue {
            value,
            label: label.into(),
            state: None,
            default_status: None,
        };
        // A `MultiSelectPicklistAttributeMetadata` item as the cast answers it with
        // `$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)`: a local choice
        // has its options on OptionSet and no GlobalOptionSet.
        let local = json!({
            "LogicalName": "cw_regions",
            "OptionSet": {"Options": [
                {"Value": 100000000, "Label": {"UserLocalizedLabel": {"Label": "EMEA"}}},
                {"Value": 100000001, "Label": {"LocalizedLabels": [{"Label": "Americas"}],
                                               "UserLocalizedLabel": null}}
            ]},
            "GlobalOptionSet": null
        });
        assert_eq!(
            option_set(&local),
            vec![option(100_000_000, "EMEA"), option(100_000_001, "Americas")]
        );
        // A column using a global choice: OptionSet comes back null, the options are on
        // GlobalOptionSet.
        let global = json!({
            "LogicalName": "cw_days",
            "OptionSet": null,
            "GlobalOptionSet": {"Options": [
                {"Value": 1, "Label": {"UserLocalizedLabel": {"Label": "Monday"}}}
            ]}
        });
        assert_eq!(option_set(&global), vec![option(1, "Monday")]);
        assert!(option_set(&json!({"LogicalName": "x"})).is_empty());
    }

    #[test]
    fn text_format_prefers_format_name() {
        // A rich-text column: the legacy Format cannot say RichText (api docs: "Format and
        // FormatName columns").
        let rich =
            json!({"LogicalName": "x", "Format": "Text", "FormatName": {"Value": "RichText"}});
        assert_eq!(text_format(&rich).as_deref(), Some("RichText"));
        let area =
            json!({"LogicalName": "x", "Format": "TextArea", "FormatName": {"Value": "TextArea"}});
        assert_eq!(text_format(&area).as_deref(), Some("TextArea"));
        // Older answers: only Format.
        let legacy = json!({"LogicalName": "x", "Format": "TextArea"});
        assert_eq!(text_format(&legacy).as_deref(), Some("TextArea"));
        let null_name = json!({"LogicalName": "x", "Format": "Email", "FormatName": null});
        assert_eq!(text_format(&null_name).as_deref(), Some("Email"));
        assert_eq!(text_format(&json!({"LogicalName": "x"})), None);
    }
}
