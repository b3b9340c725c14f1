//! The value kinds conversions dispatch on: a Dataverse column's type reduced to what its values
//! look like, and a Jira field's schema reduced to its write shape (api/atlassian.md §B.1).

use super::values::JiraField;
use crosswalk_dataverse::{Attribute, AttributeKind, OptionValue};

/// How a DateTime column stores its values (api/microsoft.md §F.3 `DateTimeBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    /// An instant, read and written in UTC (`2025-01-31T13:45:00Z`); the default.
    UserLocal,
    /// A calendar date (`2025-01-31`).
    DateOnly,
    /// A wall-clock date and time with no zone; Dataverse writes it with a meaningless `Z`.
    ZoneIndependent,
}

/// Which choice column a choice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChoiceRole {
    Picklist,
    /// `statecode`: changed only through state transitions (status sync).
    State,
    /// `statuscode`: its options belong to states.
    Status,
}

/// A Dataverse column reduced to the shape of its values.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Column<'a> {
    Text {
        multiline: bool,
        /// A rich-text column (`FormatName` `RichText`): its values are HTML, read and
        /// written as such.
        rich: bool,
    },
    Number {
        whole: bool,
        /// BigInt: beyond what a Jira number (a double) holds exactly.
        big: bool,
    },
    Date(Behavior),
    Boolean {
        true_label: &'a str,
        false_label: &'a str,
    },
    Choice {
        options: &'a [OptionValue],
        role: ChoiceRole,
    },
    /// A multi-select choice (`"1,3"`) with its options from the metadata. Empty when they are
    /// unknown (a column typed only `Virtual` / `MultiSelectPicklistType`): labels then come
    /// from formatted values and Jira → Dynamics needs a value map.
    MultiChoice {
        options: &'a [OptionValue],
    },
    Lookup {
        targets: &'a [String],
    },
    Unsupported,
}

impl<'a> Column<'a> {
    pub(crate) fn of(column: &'a Attribute) -> Column<'a> {
        match &column.kind {
            // A rich single line of text holds HTML paragraphs: multi-line as far as Jira goes.
            AttributeKind::String => Column::Text {
                multiline: column.is_rich_text(),
                rich: column.is_rich_text(),
            },
            AttributeKind::Memo => Column::Text {
                multiline: true,
                rich: column.is_rich_text(),
            },
            AttributeKind::Integer => Column::Number {
                whole: true,
                big: false,
            },
            AttributeKind::Decimal | AttributeKind::Money => Column::Number {
                whole: false,
                big: false,
            },
            AttributeKind::DateTime { behavior } => Column::Date(match behavior.as_deref() {
                Some("DateOnly") => Behavior::DateOnly,
                Some("TimeZoneIndependent") => Behavior::ZoneIndependent,
                _ => Behavior::UserLocal,
            }),
            AttributeKind::Boolean {
                true_label,
                false_label,
            } => Column::Boolean {
                true_label: true_label.as_deref().unwrap_or("Yes"),
                false_label: false_label.as_deref().unwrap_or("No"),
            },
            AttributeKind::Picklist { options } => Column::Choice {
                options,
                role: ChoiceRole::Picklist,
            },
            AttributeKind::State { options } => Column::Choice {
                options,
                role: ChoiceRole::State,
            },
            AttributeKind::Status { options } => Column::Choice {
                options,
                role: ChoiceRole::Status,
            },
            AttributeKind::MultiSelect { options } => Column::MultiChoice { options },
            AttributeKind::Lookup { targets } => Column::Lookup { targets },
            AttributeKind::Other(other) => match other.as_str() {
                "Double" => Column::Number {
                    whole: false,
                    big: false,
                },
                "BigInt" => Column::Number {
                    whole: true,
                    big: true,
                },
                "MultiSelectPicklist" | "MultiSelectPicklistType" | "Virtual" => {
                    Column::MultiChoice { options: &[] }
                }
                _ => Column::Unsupported,
            },
            _ => Column::Unsupported,
        }
    }

    /// Whether converting the column's values to Jira needs Dynamics' formatted values: only a
    /// multi-select choice whose options the metadata did not list (labels exist only there).
    pub(crate) fn labels_from_formatted(column: &Attribute) -> bool {
        matches!(Column::of(column), Column::MultiChoice { options } if options.is_empty())
    }

    /// The column's type as the admin knows it from Dynamics ("Decimal", "Lookup to account").
    pub(crate) fn type_name(column: &Attribute) -> String {
        match &column.kind {
            AttributeKind::String | AttributeKind::Memo if column.is_rich_text() => {
                "Rich text".into()
            }
            AttributeKind::String => "Text".into(),
            AttributeKind::Memo => "Multiline text".into(),
            AttributeKind::Integer => "Whole number".into(),
            AttributeKind::Decimal => "Decimal".into(),
            AttributeKind::Money => "Currency".into(),
            AttributeKind::DateTime { behavior } => match behavior.as_deref() {
                Some("DateOnly") => "Date only".into(),
                Some("TimeZoneIndependent") => "Date and time (time-zone independent)".into(),
                _ => "Date and time".into(),
            },
            AttributeKind::Boolean { .. } => "Yes/no".into(),
            AttributeKind::Picklist { .. } => "Choice".into(),
            AttributeKind::State { .. } => "Status".into(),
            AttributeKind::Status { .. } => "Status reason".into(),
            AttributeKind::MultiSelect { .. } => "Choices".into(),
            AttributeKind::Lookup { targets } if targets.is_empty() => "Lookup".into(),
            AttributeKind::Lookup { targets } => format!("Lookup to {}", targets.join("/")),
            AttributeKind::Other(other) => match other.as_str() {
                "Double" => "Floating point number".into(),
                "BigInt" => "Big integer".into(),
                "MultiSelectPicklist" | "MultiSelectPicklistType" | "Virtual" => "Choices".into(),
                "Uniqueidentifier" => "Unique identifier".into(),
                other => other.to_owned(),
            },
            other => format!("{other:?}"),
        }
    }

    /// `Dynamics column Priority` for messages.
    pub(crate) fn describe(column: &Attribute) -> String {
        format!(
            "Dynamics column {}",
            column
                .display_name
                .as_deref()
                .unwrap_or(&column.logical_name)
        )
    }
}

/// Items of Jira fields whose values are named things (options, priorities, components,
/// versions), written as `{"id"}` (or `{"value"}`/`{"name"}`) and read with a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    Option,
    Priority,
    Component,
    Version,
}

impl Named {
    /// The key of the item's label: options have `value`, the others `name`.
    pub(crate) fn label_key(self) -> &'static str {
        match self {
            Named::Option => "value",
            Named::Priority | Named::Component | Named::Version => "name",
        }
    }
}

/// A Jira field reduced to its write shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    /// Single-line text (`summary`, `…:textfield`, `…:url`): a plain string.
    Plain,
    /// `description`, `environment`, `…:textarea`: an ADF document in v3.
    Rich,
    Number,
    Date,
    DateTime,
    /// An array of strings without spaces.
    Labels,
    One(Named),
    Many(Named),
    User,
    Unsupported,
}

impl Field {
    pub(crate) fn of(field: &JiraField) -> Field {
        let schema = &field.schema;
        let custom = schema.custom.as_deref().unwrap_or_default();
        let system = schema.system.as_deref().unwrap_or(if custom.is_empty() {
            field.id.as_str()
        } else {
            ""
        });
        match (schema.kind.as_str(), schema.items.as_deref()) {
            ("string", _)
                if matches!(system, "description" | "environment")
                    || custom.ends_with(":textarea") =>
            {
                Field::Rich
            }
            ("string", _) => Field::Plain,
            ("number", _) => Field::Number,
            ("date", _) => Field::Date,
            ("datetime", _) => Field::DateTime,
            ("array", Some("string")) => Field::Labels,
            ("option", _) => Field::One(Named::Option),
            ("priority", _) => Field::One(Named::Priority),
            ("version", _) => Field::One(Named::Version),
            ("array", Some("option")) => Field::Many(Named::Option),
            ("array", Some("component")) => Field::Many(Named::Component),
            ("array", Some("version")) => Field::Many(Named::Version),
            ("user", _) => Field::User,
            _ => Field::Unsupported,
        }
    }

    /// The field's kind for compatibility reasons ("Jira number", "select list").
    pub(crate) fn type_name(field: &JiraField) -> String {
        match Field::of(field) {
            Field::Plain => "Jira text".into(),
            Field::Rich => "Jira rich text".into(),
            Field::Number => "Jira number".into(),
            Field::Date => "Jira date".into(),
            Field::DateTime => "Jira date-time".into(),
            Field::Labels => "Labels".into(),
            Field::One(Named::Option) => "select list".into(),
            Field::One(Named::Priority) => "priority".into(),
            Field::One(Named::Version) | Field::One(Named::Component) => "version".into(),
            Field::Many(Named::Option) => "multi-select list".into(),
            Field::Many(Named::Component) => "components".into(),
            Field::Many(Named::Version) | Field::Many(Named::Priority) => "versions".into(),
            Field::User => "Jira user".into(),
            Field::Unsupported => {
                let schema = &field.schema;
                match (&schema.items, &schema.custom) {
                    (_, Some(custom)) => {
                        format!("Jira {} field", custom.rsplit(':').next().unwrap_or(custom))
                    }
                    (Some(items), None) => format!("Jira {} of {items}", schema.kind),
                    (None, None) => format!("Jira {} field", schema.kind),
                }
            }
        }
    }

    /// `Jira field Priority` for messages.
    pub(crate) fn describe(field: &JiraField) -> String {
        let name = if field.name.is_empty() {
            &field.id
        } else {
            &field.name
        };
        format!("Jira field {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosswalk_jira::FieldSchema;

    fn field(id: &str, kind: &str, items: Option<&str>, custom: Option<&str>) -> JiraField {
        JiraField {
            id: id.into(),
            name: id.into(),
            schema: FieldSchema {
                kind: kind.into(),
                items: items.map(str::to_owned),
                system: custom.is_none().then(|| id.to_owned()),
                custom: custom.map(str::to_owned),
                custom_id: None,
            },
            allowed_values: None,
        }
    }

    #[test]
    fn jira_schemas_reduce_to_write_shapes() {
        let textarea = "com.atlassian.jira.plugin.system.customfieldtypes:textarea";
        let textfield = "com.atlassian.jira.plugin.system.customfieldtypes:textfield";
        let cases = [
            (field("summary", "string", None, None), Field::Plain),
            (field("description", "string", None, None), Field::Rich),
            (field("environment", "string", None, None), Field::Rich),
            (
                field("customfield_1", "string", None, Some(textarea)),
                Field::Rich,
            ),
            (
                field("customfield_2", "string", None, Some(textfield)),
                Field::Plain,
            ),
            (
                field("labels", "array", Some("string"), None),
                Field::Labels,
            ),
            (
                field("priority", "priority", None, None),
                Field::One(Named::Priority),
            ),
            (
                field("components", "array", Some("component"), None),
                Field::Many(Named::Component),
            ),
            (
                field("fixVersions", "array", Some("version"), None),
                Field::Many(Named::Version),
            ),
            (field("assignee", "user", None, None), Field::User),
            (field("duedate", "date", None, None), Field::Date),
            (
                field(
                    "customfield_3",
                    "option-with-child",
                    None,
                    Some("x:cascadingselect"),
                ),
                Field::Unsupported,
            ),
        ];
        for (field, expected) in cases {
            assert_eq!(Field::of(&field), expected, "{}", field.id);
        }
        assert_eq!(
            Field::type_name(&field(
                "customfield_3",
                "option-with-child",
                None,
                Some("x:cascadingselect")
            )),
            "Jira cascadingselect field"
        );
    }
}
