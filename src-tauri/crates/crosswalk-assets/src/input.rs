//! Request bodies: what to create (schema, object type, attribute, status) and the values of an
//! object, encoded the way Assets wants them (every value a string, §D.6).

use crate::models::{AttributeKind, StatusCategory};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

const DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");
const DATETIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Body of `POST /objectschema/create`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewObjectSchema {
    pub name: String,
    /// 2–10 upper-case letters and digits, starting with a letter.
    pub object_schema_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl NewObjectSchema {
    /// A schema named `name` whose object keys start with `key`.
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> NewObjectSchema {
        NewObjectSchema {
            name: name.into(),
            object_schema_key: key.into(),
            description: None,
        }
    }

    /// Sets the description admins see in Assets.
    pub fn description(mut self, description: impl Into<String>) -> NewObjectSchema {
        self.description = Some(description.into());
        self
    }
}

/// Body of `POST /objecttype/create`; Assets requires an icon.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewObjectType {
    pub name: String,
    pub object_schema_id: String,
    /// From [`crate::AssetsClient::global_icons`].
    pub icon_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_object_type_id: Option<String>,
}

impl NewObjectType {
    /// A type named `name` in schema `schema_id` shown with icon `icon_id`.
    pub fn new(
        schema_id: impl Into<String>,
        name: impl Into<String>,
        icon_id: impl Into<String>,
    ) -> NewObjectType {
        NewObjectType {
            name: name.into(),
            object_schema_id: schema_id.into(),
            icon_id: icon_id.into(),
            description: None,
            parent_object_type_id: None,
        }
    }

    /// Sets the description admins see in Assets.
    pub fn description(mut self, description: impl Into<String>) -> NewObjectType {
        self.description = Some(description.into());
        self
    }

    /// Places the type under `parent_id` in the schema's tree.
    pub fn parent(mut self, parent_id: impl Into<String>) -> NewObjectType {
        self.parent_object_type_id = Some(parent_id.into());
        self
    }
}

/// The data type of a Default attribute (`defaultTypeId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultType {
    None,
    Text,
    Integer,
    Boolean,
    Double,
    Date,
    Time,
    DateTime,
    Url,
    Email,
    Textarea,
    Select,
    IpAddress,
}

impl DefaultType {
    /// The wire id (−1 for None, then 0 Text … 11 IP address).
    pub fn id(self) -> i64 {
        match self {
            DefaultType::None => -1,
            DefaultType::Text => 0,
            DefaultType::Integer => 1,
            DefaultType::Boolean => 2,
            DefaultType::Double => 3,
            DefaultType::Date => 4,
            DefaultType::Time => 5,
            DefaultType::DateTime => 6,
            DefaultType::Url => 7,
            DefaultType::Email => 8,
            DefaultType::Textarea => 9,
            DefaultType::Select => 10,
            DefaultType::IpAddress => 11,
        }
    }
}

/// Body of `POST /objecttypeattribute/{objectTypeId}`; build it with the constructors.
#[derive(Debug, Clone)]
pub struct NewAttribute {
    pub name: String,
    pub kind: AttributeKind,
    pub default_type: Option<DefaultType>,
    /// Reference: the referenced object type id.
    pub type_value: Option<String>,
    /// Reference: the reference type id; URL/User display options.
    pub additional_value: Option<String>,
    /// Status: the allowed status ids.
    pub type_value_multi: Vec<String>,
    pub unique: bool,
    pub label: bool,
    pub minimum_cardinality: Option<i64>,
    pub maximum_cardinality: Option<i64>,
    pub options: Option<String>,
    pub description: Option<String>,
}

impl NewAttribute {
    fn of_kind(name: impl Into<String>, kind: AttributeKind) -> NewAttribute {
        NewAttribute {
            name: name.into(),
            kind,
            default_type: None,
            type_value: None,
            additional_value: None,
            type_value_multi: Vec::new(),
            unique: false,
            label: false,
            minimum_cardinality: None,
            maximum_cardinality: None,
            options: None,
            description: None,
        }
    }

    /// A Default attribute holding `default_type` values.
    pub fn default_type(name: impl Into<String>, default_type: DefaultType) -> NewAttribute {
        NewAttribute {
            default_type: Some(default_type),
            ..NewAttribute::of_kind(name, AttributeKind::Default)
        }
    }

    /// A text attribute, the common case.
    pub fn text(name: impl Into<String>) -> NewAttribute {
        NewAttribute::default_type(name, DefaultType::Text)
    }

    /// A reference to objects of `target_type_id`, drawn as `reference_type_id`.
    pub fn reference(
        name: impl Into<String>,
        target_type_id: impl Into<String>,
        reference_type_id: impl Into<String>,
    ) -> NewAttribute {
        NewAttribute {
            type_value: Some(target_type_id.into()),
            additional_value: Some(reference_type_id.into()),
            ..NewAttribute::of_kind(name, AttributeKind::Reference)
        }
    }

    /// A status attribute limited to `status_ids` (empty = any status).
    pub fn status<I, S>(name: impl Into<String>, status_ids: I) -> NewAttribute
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        NewAttribute {
            type_value_multi: status_ids.into_iter().map(Into::into).collect(),
            ..NewAttribute::of_kind(name, AttributeKind::Status)
        }
    }

    /// A Jira user attribute (values are accountIds).
    pub fn user(name: impl Into<String>) -> NewAttribute {
        NewAttribute::of_kind(name, AttributeKind::User)
    }

    /// A Jira group attribute (values are group names).
    pub fn group(name: impl Into<String>) -> NewAttribute {
        NewAttribute::of_kind(name, AttributeKind::Group)
    }

    /// Makes values unique within the type: the key Crosswalk re-identifies objects by.
    pub fn unique(mut self) -> NewAttribute {
        self.unique = true;
        self
    }

    /// Makes this the type's label attribute.
    pub fn label(mut self) -> NewAttribute {
        self.label = true;
        self
    }

    /// How many values an object must and may have (−1 = unlimited maximum).
    pub fn cardinality(mut self, minimum: i64, maximum: i64) -> NewAttribute {
        self.minimum_cardinality = Some(minimum);
        self.maximum_cardinality = Some(maximum);
        self
    }

    /// Select options.
    pub fn options<I, S>(mut self, options: I) -> NewAttribute
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list: Vec<String> = options.into_iter().map(|o| o.as_ref().to_owned()).collect();
        self.options = Some(list.join(","));
        self
    }

    /// Sets the description admins see in Assets.
    pub fn description(mut self, description: impl Into<String>) -> NewAttribute {
        self.description = Some(description.into());
        self
    }
}

impl Serialize for NewAttribute {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("NewAttribute", 12)?;
        out.serialize_field("name", &self.name)?;
        out.serialize_field("type", &self.kind.code())?;
        if let Some(default_type) = self.default_type {
            out.serialize_field("defaultTypeId", &default_type.id())?;
        }
        if let Some(type_value) = &self.type_value {
            out.serialize_field("typeValue", type_value)?;
        }
        if let Some(additional_value) = &self.additional_value {
            out.serialize_field("additionalValue", additional_value)?;
        }
        if !self.type_value_multi.is_empty() {
            out.serialize_field("typeValueMulti", &self.type_value_multi)?;
        }
        out.serialize_field("uniqueAttribute", &self.unique)?;
        if self.label {
            out.serialize_field("label", &true)?;
        }
        if let Some(minimum) = self.minimum_cardinality {
            out.serialize_field("minimumCardinality", &minimum)?;
        }
        if let Some(maximum) = self.maximum_cardinality {
            out.serialize_field("maximumCardinality", &maximum)?;
        }
        if let Some(options) = &self.options {
            out.serialize_field("options", options)?;
        }
        if let Some(description) = &self.description {
            out.serialize_field("description", description)?;
        }
        out.end()
    }
}

/// Body of `POST /config/statustype`.
#[derive(Debug, Clone)]
pub struct NewStatusType {
    pub name: String,
    pub category: StatusCategory,
    /// `None` makes a global status.
    pub object_schema_id: Option<String>,
    pub description: Option<String>,
}

impl NewStatusType {
    /// A status named `name` of `category`, scoped to `schema_id` (or global).
    pub fn new(
        name: impl Into<String>,
        category: StatusCategory,
        schema_id: Option<String>,
    ) -> NewStatusType {
        NewStatusType {
            name: name.into(),
            category,
            object_schema_id: schema_id,
            description: None,
        }
    }
}

impl Serialize for NewStatusType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("NewStatusType", 4)?;
        out.serialize_field("name", &self.name)?;
        out.serialize_field("category", &self.category.code())?;
        if let Some(schema_id) = &self.object_schema_id {
            out.serialize_field("objectSchemaId", schema_id)?;
        }
        if let Some(description) = &self.description {
            out.serialize_field("description", description)?;
        }
        out.end()
    }
}

/// One attribute value, already in Assets' string encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValue(String);

impl AttributeValue {
    /// Text, Textarea, URL, Email, IP address, Select option, group name.
    pub fn text(text: impl Into<String>) -> AttributeValue {
        AttributeValue(text.into())
    }

    /// Integer.
    pub fn integer(number: i64) -> AttributeValue {
        AttributeValue(number.to_string())
    }

    /// Double.
    pub fn double(number: f64) -> AttributeValue {
        AttributeValue(number.to_string())
    }

    /// Boolean, as `"true"`/`"false"`.
    pub fn boolean(flag: bool) -> AttributeValue {
        AttributeValue(flag.to_string())
    }

    /// Date, as `2025-01-31`.
    pub fn date(date: Date) -> AttributeValue {
        // The format has only numeric components, which every `Date` can render.
        AttributeValue(date.format(DATE).unwrap_or_default())
    }

    /// Date and time in UTC, as `2025-01-31T10:00:00.000Z`.
    pub fn datetime(at: OffsetDateTime) -> AttributeValue {
        AttributeValue(
            at.to_offset(UtcOffset::UTC)
                .format(DATETIME)
                .unwrap_or_default(),
        )
    }

    /// A referenced object, by object key (`CW-12`) or object id.
    pub fn reference(key_or_id: impl Into<String>) -> AttributeValue {
        AttributeValue(key_or_id.into())
    }

    /// A status, by status type id.
    pub fn status(status_id: impl Into<String>) -> AttributeValue {
        AttributeValue(status_id.into())
    }

    /// A Jira user, by accountId.
    pub fn user(account_id: impl Into<String>) -> AttributeValue {
        AttributeValue(account_id.into())
    }

    /// The encoded value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The values of one attribute in an object write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeInput {
    pub object_type_attribute_id: String,
    pub values: Vec<AttributeValue>,
}

impl Serialize for AttributeInput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Value<'a> {
            value: &'a str,
        }
        let values: Vec<Value<'_>> = self
            .values
            .iter()
            .map(|v| Value { value: v.as_str() })
            .collect();
        let mut out = serializer.serialize_struct("AttributeInput", 2)?;
        out.serialize_field("objectTypeAttributeId", &self.object_type_attribute_id)?;
        out.serialize_field("objectAttributeValues", &values)?;
        out.end()
    }
}

/// Body of an object create or update: the type and the attributes to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInput {
    pub object_type_id: String,
    pub attributes: Vec<AttributeInput>,
}

impl ObjectInput {
    /// An object of type `object_type_id` with no values yet.
    pub fn new(object_type_id: impl Into<String>) -> ObjectInput {
        ObjectInput {
            object_type_id: object_type_id.into(),
            attributes: Vec::new(),
        }
    }

    /// Sets one attribute to one value (replacing an earlier `set` of it).
    pub fn set(self, attribute_id: impl Into<String>, value: AttributeValue) -> ObjectInput {
        self.set_many(attribute_id, [value])
    }

    /// Sets a multi-valued attribute.
    pub fn set_many(
        mut self,
        attribute_id: impl Into<String>,
        values: impl IntoIterator<Item = AttributeValue>,
    ) -> ObjectInput {
        let attribute_id = attribute_id.into();
        self.attributes
            .retain(|a| a.object_type_attribute_id != attribute_id);
        self.attributes.push(AttributeInput {
            object_type_attribute_id: attribute_id,
            values: values.into_iter().collect(),
        });
        self
    }

    /// Clears an attribute on update (an empty value list).
    pub fn clear(self, attribute_id: impl Into<String>) -> ObjectInput {
        self.set_many(attribute_id, [])
    }

    /// The values set for one attribute.
    pub fn values(&self, attribute_id: &str) -> &[AttributeValue] {
        self.attributes
            .iter()
            .find(|a| a.object_type_attribute_id == attribute_id)
            .map_or(&[], |a| a.values.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn values_are_strings_in_assets_formats() {
        let at = datetime!(2025-01-31 11:00:00.5 +01:00);
        assert_eq!(
            AttributeValue::datetime(at).as_str(),
            "2025-01-31T10:00:00.500Z"
        );
        assert_eq!(AttributeValue::date(at.date()).as_str(), "2025-01-31");
        let body = serde_json::to_value(
            ObjectInput::new("23")
                .set("135", AttributeValue::text("NY-1"))
                .set("144", AttributeValue::integer(99))
                .set("144", AttributeValue::integer(42))
                .set("150", AttributeValue::boolean(true)),
        )
        .expect("serializes");
        assert_eq!(
            body,
            json!({"objectTypeId":"23","attributes":[
                {"objectTypeAttributeId":"135","objectAttributeValues":[{"value":"NY-1"}]},
                {"objectTypeAttributeId":"144","objectAttributeValues":[{"value":"42"}]},
                {"objectTypeAttributeId":"150","objectAttributeValues":[{"value":"true"}]}]})
        );
    }

    #[test]
    fn attribute_bodies_use_the_create_field_names() {
        let body = serde_json::to_value(NewAttribute::reference("Manager", "24", "4"))
            .expect("serializes");
        assert_eq!(
            body,
            json!({"name":"Manager","type":1,"typeValue":"24","additionalValue":"4","uniqueAttribute":false})
        );
        let body = serde_json::to_value(NewAttribute::text("Entra Object ID").unique())
            .expect("serializes");
        assert_eq!(
            body,
            json!({"name":"Entra Object ID","type":0,"defaultTypeId":0,"uniqueAttribute":true})
        );
    }
}
