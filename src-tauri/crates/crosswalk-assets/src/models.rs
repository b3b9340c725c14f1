//! Serde structs mirroring Assets' JSON (api/atlassian.md §D). Ids are strings on the wire; a
//! number is accepted too. Timestamps stay as the text Assets sent (two formats exist, §0).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Reads an id sent as a string (documented) or a number (tolerated).
fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(serde::de::Error::custom("expected an id")),
    }
}

/// Reads an optional id; `null` and absence are `None`.
fn opt_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(Some(text)),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Null => Ok(None),
        _ => Err(serde::de::Error::custom("expected an id")),
    }
}

/// Reads a flag sent as a boolean or, as in the spec's AQL example, as `"true"`/`"false"`.
fn opt_flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Bool(flag) => Ok(Some(flag)),
        Value::String(text) => Ok(Some(text.eq_ignore_ascii_case("true"))),
        _ => Ok(None),
    }
}

fn one() -> i64 {
    1
}

/// An object schema: the container Crosswalk's object types live in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSchema {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    /// Prefix of object keys (`CW` → `CW-1`).
    pub object_schema_key: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub global_id: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    /// 0 unless the list was asked for counts.
    #[serde(default)]
    pub object_count: u64,
    #[serde(default)]
    pub object_type_count: u64,
}

/// An icon every object type needs on creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub url16: Option<String>,
    #[serde(default)]
    pub url48: Option<String>,
}

/// An object type (e.g. "Entra User") in a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectType {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub icon: Option<Icon>,
    #[serde(default)]
    pub position: i64,
    #[serde(default, deserialize_with = "opt_id")]
    pub object_schema_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub parent_object_type_id: Option<String>,
    #[serde(default)]
    pub inherited: bool,
    #[serde(default)]
    pub abstract_object_type: bool,
    #[serde(default)]
    pub object_count: u64,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
}

/// The data type of a Default attribute, as read back (`{"id":0,"name":"Text"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultTypeInfo {
    pub id: i64,
    #[serde(default)]
    pub name: String,
}

/// A reference type: the kind of link a reference attribute draws ("Reference", "Member of").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceType {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub object_schema_id: Option<String>,
    #[serde(default)]
    pub removable: bool,
}

/// What an attribute holds (`type` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeKind {
    /// A plain value; `defaultType` says which (text, integer…).
    Default,
    /// A link to another object.
    Reference,
    /// A Jira user (accountId).
    User,
    /// A Jira group.
    Group,
    /// An Assets status.
    Status,
    /// A type this client does not model (Confluence, Version, Project…).
    Other(i64),
}

impl AttributeKind {
    /// The wire code.
    pub fn code(self) -> i64 {
        match self {
            AttributeKind::Default => 0,
            AttributeKind::Reference => 1,
            AttributeKind::User => 2,
            AttributeKind::Group => 4,
            AttributeKind::Status => 7,
            AttributeKind::Other(code) => code,
        }
    }

    /// The kind for a wire code.
    pub fn from_code(code: i64) -> AttributeKind {
        match code {
            0 => AttributeKind::Default,
            1 => AttributeKind::Reference,
            2 => AttributeKind::User,
            4 => AttributeKind::Group,
            7 => AttributeKind::Status,
            other => AttributeKind::Other(other),
        }
    }
}

/// An attribute of an object type; what an object's values are keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectTypeAttribute {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    /// Wire `type`; several responses omit it, so use [`ObjectTypeAttribute::kind`].
    #[serde(rename = "type", default)]
    pub type_code: Option<i64>,
    #[serde(default)]
    pub default_type: Option<DefaultTypeInfo>,
    #[serde(default)]
    pub type_value: Option<String>,
    /// Status attributes: the allowed status ids (empty = all).
    #[serde(default)]
    pub type_value_multi: Vec<String>,
    #[serde(default)]
    pub additional_value: Option<String>,
    #[serde(default)]
    pub reference_type: Option<ReferenceType>,
    #[serde(default, deserialize_with = "opt_id")]
    pub reference_object_type_id: Option<String>,
    #[serde(default)]
    pub label: bool,
    #[serde(default)]
    pub editable: bool,
    #[serde(default)]
    pub system: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub unique_attribute: bool,
    #[serde(default)]
    pub minimum_cardinality: i64,
    /// −1 = unlimited.
    #[serde(default = "one")]
    pub maximum_cardinality: i64,
    /// Select: comma-separated options.
    #[serde(default)]
    pub options: String,
    #[serde(default)]
    pub position: i64,
    #[serde(default)]
    pub description: Option<String>,
}

impl ObjectTypeAttribute {
    /// The attribute's kind, inferred from `defaultType`/`referenceType` when `type` is absent.
    pub fn kind(&self) -> AttributeKind {
        match self.type_code {
            Some(code) => AttributeKind::from_code(code),
            None if self.reference_type.is_some() || self.reference_object_type_id.is_some() => {
                AttributeKind::Reference
            }
            None => AttributeKind::Default,
        }
    }
}

/// Status category: what colour and meaning a status has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCategory {
    /// 0, red.
    Inactive,
    /// 1, green.
    Active,
    /// 2, yellow.
    Pending,
}

impl StatusCategory {
    /// The wire code.
    pub fn code(self) -> i64 {
        match self {
            StatusCategory::Inactive => 0,
            StatusCategory::Active => 1,
            StatusCategory::Pending => 2,
        }
    }
}

/// An Assets status (e.g. "Active", "Disabled"); status attribute values are its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusType {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// 0 inactive, 1 active, 2 pending.
    #[serde(default)]
    pub category: i64,
    /// `None` for global statuses.
    #[serde(default, deserialize_with = "opt_id")]
    pub object_schema_id: Option<String>,
}

impl StatusType {
    /// The category, if it is one of the three documented.
    pub fn category(&self) -> Option<StatusCategory> {
        match self.category {
            0 => Some(StatusCategory::Inactive),
            1 => Some(StatusCategory::Active),
            2 => Some(StatusCategory::Pending),
            _ => None,
        }
    }
}

/// An Assets object (one synced user, group, app or device).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Value of the type's label attribute (usually Name).
    #[serde(default)]
    pub label: String,
    /// `{SCHEMAKEY}-{n}`.
    #[serde(default)]
    pub object_key: String,
    #[serde(default)]
    pub object_type: Option<ObjectType>,
    #[serde(default)]
    pub global_id: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    /// Empty when the call did not include attributes (e.g. the create answer).
    #[serde(default)]
    pub attributes: Vec<ObjectAttribute>,
}

impl Object {
    /// The object's values of one attribute, if it has any.
    pub fn attribute(&self, attribute_id: &str) -> Option<&ObjectAttribute> {
        self.attributes
            .iter()
            .find(|a| a.object_type_attribute_id == attribute_id)
    }

    /// The comparable values of one attribute (see [`ObjectAttributeValue::raw`]); empty if unset.
    pub fn values(&self, attribute_id: &str) -> Vec<String> {
        self.attribute(attribute_id)
            .map(|a| {
                a.object_attribute_values
                    .iter()
                    .filter_map(|v| v.raw().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The values an object holds for one attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttribute {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<String>,
    #[serde(deserialize_with = "id")]
    pub object_type_attribute_id: String,
    #[serde(default)]
    pub object_attribute_values: Vec<ObjectAttributeValue>,
}

/// One value of an attribute, with Assets' display forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttributeValue {
    #[serde(default)]
    pub value: Option<String>,
    /// Formatted for the caller's locale; do not sync on it.
    #[serde(default)]
    pub display_value: Option<String>,
    #[serde(default)]
    pub search_value: Option<String>,
    #[serde(default)]
    pub referenced_type: bool,
    #[serde(default)]
    pub referenced_object: Option<Box<Object>>,
    #[serde(default)]
    pub status: Option<StatusType>,
}

impl ObjectAttributeValue {
    /// The value in the form it is written: the plain value, a status id, or a referenced
    /// object's id (falling back to `searchValue`).
    pub fn raw(&self) -> Option<&str> {
        self.value
            .as_deref()
            .or(self.status.as_ref().map(|s| s.id.as_str()))
            .or(self.referenced_object.as_ref().map(|o| o.id.as_str()))
            .or(self.search_value.as_deref())
    }
}

/// One page of a paged list (`objectschema/list`, `object/aql`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawPage<T>")]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    pub start_at: u64,
    pub max_results: u64,
    /// Deprecated by Atlassian (may be capped or absent); loop on `is_last` instead.
    pub total: Option<u64>,
    pub is_last: bool,
    pub values: Vec<T>,
    /// AQL only: the attributes of the types on this page.
    pub object_type_attributes: Vec<ObjectTypeAttribute>,
}

impl<T> Page<T> {
    /// Where the next page starts, or `None` after the last one.
    pub fn next_start(&self) -> Option<u64> {
        (!self.is_last && !self.values.is_empty()).then(|| self.start_at + self.values.len() as u64)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage<T> {
    #[serde(default)]
    start_at: u64,
    #[serde(default)]
    max_results: u64,
    #[serde(default)]
    total: Option<u64>,
    #[serde(default, deserialize_with = "opt_flag")]
    is_last: Option<bool>,
    #[serde(default, deserialize_with = "opt_flag")]
    last: Option<bool>,
    #[serde(default = "Vec::new")]
    values: Vec<T>,
    #[serde(default)]
    object_type_attributes: Vec<ObjectTypeAttribute>,
}

impl<T> From<RawPage<T>> for Page<T> {
    fn from(raw: RawPage<T>) -> Page<T> {
        // Without either flag, a short page is the last one.
        let is_last = raw
            .is_last
            .or(raw.last)
            .unwrap_or(raw.values.len() as u64 > 0 && (raw.values.len() as u64) < raw.max_results);
        Page {
            is_last: is_last || raw.values.is_empty(),
            start_at: raw.start_at,
            max_results: raw.max_results,
            total: raw.total,
            values: raw.values,
            object_type_attributes: raw.object_type_attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_read_string_flags_and_numeric_ids() {
        let page: Page<Object> = serde_json::from_str(
            r#"{"startAt":0,"maxResults":2,"isLast":"false","values":[{"id":7,"objectKey":"CW-1","label":"a"},{"id":"8"}]}"#,
        )
        .expect("page parses");
        assert!(!page.is_last);
        assert_eq!(page.values[0].id, "7");
        assert_eq!(page.next_start(), Some(2));
        let page: Page<Object> =
            serde_json::from_str(r#"{"startAt":4,"maxResults":5,"values":[{"id":"9"}]}"#)
                .expect("page parses");
        assert!(page.is_last);
        assert_eq!(page.next_start(), None);
    }

    #[test]
    fn attribute_kind_is_inferred_when_type_is_absent() {
        let attr: ObjectTypeAttribute = serde_json::from_str(
            r#"{"id":"5","name":"Owner","referenceObjectTypeId":"3","referenceType":{"id":"4","name":"Reference"}}"#,
        )
        .expect("attribute parses");
        assert_eq!(attr.kind(), AttributeKind::Reference);
        assert_eq!(attr.maximum_cardinality, 1);
    }
}
