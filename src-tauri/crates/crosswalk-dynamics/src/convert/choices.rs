//! Matching named values across: the mapping's explicit value map first, then labels compared
//! without regard to case, against Jira's allowed values or Dataverse's options.

use super::error::ConvertError;
use super::kinds::{Column, Named};
use super::values::JiraField;
use crate::settings::ValuePair;
use crosswalk_dataverse::{Attribute, OptionValue};
use serde_json::{json, Value};

/// Whether two labels are the same for matching: trimmed, ignoring case.
pub(crate) fn same(left: &str, right: &str) -> bool {
    let (left, right) = (left.trim(), right.trim());
    left.eq_ignore_ascii_case(right) || left.to_lowercase() == right.to_lowercase()
}

/// The Jira text of the first pair whose Dataverse side is one of `keys`.
pub(crate) fn map_to_jira<'a>(values: &'a [ValuePair], keys: &[&str]) -> Option<&'a str> {
    values
        .iter()
        .find(|pair| keys.iter().any(|key| same(&pair.dataverse, key)))
        .map(|pair| pair.jira.trim())
}

/// The Dataverse text of the first pair whose Jira side is one of `keys`.
pub(crate) fn map_to_dataverse<'a>(values: &'a [ValuePair], keys: &[&str]) -> Option<&'a str> {
    values
        .iter()
        .find(|pair| keys.iter().any(|key| same(&pair.jira, key)))
        .map(|pair| pair.dataverse.trim())
}

/// A Jira allowed value reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allowed {
    pub id: Option<String>,
    pub label: String,
}

fn id_text(value: &Value) -> Option<String> {
    match value.get("id")? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// The label of a Jira item as read or allowed (`value` of options, `name` of the others).
pub(crate) fn jira_label(item: &Value) -> Option<String> {
    match item {
        Value::String(text) => Some(text.clone()),
        Value::Object(_) => ["value", "name"]
            .iter()
            .find_map(|key| item.get(*key).and_then(Value::as_str))
            .map(str::to_owned)
            .or_else(|| id_text(item)),
        _ => None,
    }
}

/// The field's allowed values (createmeta), when Jira gave them.
pub(crate) fn allowed(field: &JiraField) -> Option<Vec<Allowed>> {
    field.allowed_values.as_ref().map(|values| {
        values
            .iter()
            .filter_map(|value| {
                Some(Allowed {
                    id: id_text(value),
                    label: ["value", "name"]
                        .iter()
                        .find_map(|key| value.get(*key).and_then(Value::as_str))?
                        .to_owned(),
                })
            })
            .collect()
    })
}

/// The Jira write item for `text`: `{"id"}` of the allowed value whose label (or id) it is;
/// `{"value"}`/`{"name"}` as given when Jira listed no allowed values.
///
/// # Errors
/// `NoMatchingOption` when allowed values are known and none matches.
pub(crate) fn jira_item(
    field: &JiraField,
    named: Named,
    text: &str,
) -> Result<Value, ConvertError> {
    let text = text.trim();
    let Some(allowed) = allowed(field) else {
        return Ok(json!({ named.label_key(): text }));
    };
    let found = allowed
        .iter()
        .find(|candidate| same(&candidate.label, text))
        .or_else(|| {
            allowed
                .iter()
                .find(|candidate| candidate.id.as_deref() == Some(text))
        });
    match found {
        Some(Allowed { id: Some(id), .. }) => Ok(json!({ "id": id })),
        Some(Allowed { label, .. }) => Ok(json!({ named.label_key(): label })),
        None => Err(ConvertError::NoMatchingOption {
            value: text.to_owned(),
            field: super::kinds::Field::describe(field),
            choices: allowed
                .into_iter()
                .map(|candidate| candidate.label)
                .collect(),
        }),
    }
}

/// The option of a choice column that Jira's `keys` (label, then id) stand for: the value map
/// (whose Dataverse side is the option's integer or label), then the option labels.
///
/// # Errors
/// `NoMatchingOption` naming the column and its labels.
pub(crate) fn option_for(
    column: &Attribute,
    options: &[OptionValue],
    values: &[ValuePair],
    keys: &[&str],
) -> Result<i32, ConvertError> {
    let no_match = |value: &str| ConvertError::NoMatchingOption {
        value: value.to_owned(),
        field: Column::describe(column),
        choices: options.iter().map(|option| option.label.clone()).collect(),
    };
    if let Some(mapped) = map_to_dataverse(values, keys) {
        if let Ok(number) = mapped.parse::<i32>() {
            if options.is_empty() || options.iter().any(|option| option.value == number) {
                return Ok(number);
            }
        }
        return options
            .iter()
            .find(|option| same(&option.label, mapped))
            .map(|option| option.value)
            .ok_or_else(|| no_match(mapped));
    }
    keys.iter()
        .find_map(|key| options.iter().find(|option| same(&option.label, key)))
        .map(|option| option.value)
        .ok_or_else(|| no_match(keys.first().copied().unwrap_or_default()))
}

/// The label of a choice column's option; the formatted value, else the integer, when the
/// metadata lacks it.
pub(crate) fn option_label(options: &[OptionValue], value: i64, formatted: Option<&str>) -> String {
    options
        .iter()
        .find(|option| i64::from(option.value) == value)
        .map(|option| option.label.clone())
        .or_else(|| formatted.map(str::to_owned))
        .unwrap_or_else(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosswalk_dataverse::AttributeKind;
    use crosswalk_jira::FieldSchema;

    fn pair(dataverse: &str, jira: &str) -> ValuePair {
        ValuePair {
            dataverse: dataverse.into(),
            jira: jira.into(),
        }
    }

    fn option(value: i32, label: &str) -> OptionValue {
        OptionValue {
            value,
            label: label.into(),
            state: None,
            default_status: None,
        }
    }

    fn severity(allowed: Option<Vec<Value>>) -> JiraField {
        JiraField {
            id: "customfield_10050".into(),
            name: "Severity".into(),
            schema: FieldSchema {
                kind: "option".into(),
                ..FieldSchema::default()
            },
            allowed_values: allowed,
        }
    }

    #[test]
    fn jira_items_match_labels_or_ids_of_allowed_values() {
        let field = severity(Some(vec![
            json!({"self": "x", "id": "10001", "value": "Critical"}),
            json!({"id": "10002", "value": "Minor"}),
        ]));
        assert_eq!(
            jira_item(&field, Named::Option, " critical ").unwrap(),
            json!({"id": "10001"})
        );
        assert_eq!(
            jira_item(&field, Named::Option, "10002").unwrap(),
            json!({"id": "10002"})
        );
        let error = jira_item(&field, Named::Option, "Major").unwrap_err();
        assert_eq!(
            error,
            ConvertError::NoMatchingOption {
                value: "Major".into(),
                field: "Jira field Severity".into(),
                choices: vec!["Critical".into(), "Minor".into()],
            }
        );
        assert_eq!(
            jira_item(&severity(None), Named::Option, "Major").unwrap(),
            json!({"value": "Major"})
        );
        assert_eq!(
            jira_item(&severity(None), Named::Priority, "High").unwrap(),
            json!({"name": "High"})
        );
    }

    #[test]
    fn dataverse_options_match_by_value_map_then_label() {
        let column = Attribute {
            logical_name: "prioritycode".into(),
            display_name: Some("Priority".into()),
            kind: AttributeKind::Picklist {
                options: vec![option(1, "High"), option(2, "Normal"), option(3, "Low")],
            },
            format: None,
        };
        let AttributeKind::Picklist { options } = &column.kind else {
            unreachable!("built as a picklist above")
        };
        let values = [
            pair("1", "Blocker"),
            pair("low", "Trivial"),
            pair("7", "Odd"),
        ];
        assert_eq!(option_for(&column, options, &values, &["blocker"]), Ok(1));
        assert_eq!(option_for(&column, options, &values, &["Trivial"]), Ok(3));
        assert_eq!(option_for(&column, options, &values, &["NORMAL"]), Ok(2));
        assert_eq!(
            option_for(&column, options, &values, &["x", "normal"]),
            Ok(2)
        );
        let error = option_for(&column, options, &values, &["Odd"]).unwrap_err();
        assert!(error
            .to_string()
            .contains("\"7\" matches no option of Dynamics column Priority"));
        let error = option_for(&column, options, &[], &["Urgent", "10004"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"Urgent\" matches no option of Dynamics column Priority (choices: High, Normal, Low); add a value-map pair for \"Urgent\" to this field mapping"
        );
    }

    #[test]
    fn labels_compare_without_case() {
        assert!(same("Ärger ", "ärger"));
        assert!(!same("High", "Higher"));
        assert_eq!(option_label(&[option(1, "High")], 1, Some("Hoch")), "High");
        assert_eq!(option_label(&[], 9, Some("Neu")), "Neu");
        assert_eq!(option_label(&[], 9, None), "9");
        assert_eq!(map_to_jira(&[pair("3", "Low")], &["2", "Normal"]), None);
    }
}
