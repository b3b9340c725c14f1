//! Normalized values for change detection and echo suppression.
//!
//! A link remembers each side's comparable value; a side changed when its comparable value
//! differs from the remembered one. The forms are chosen so that:
//!
//! 1. Round trips are invisible: for a supported pair, writing a value across and reading the
//!    other side back converts to the same comparable value on the side it came from:
//!    `comparable_dataverse(read(to_dataverse(read(to_jira(v))))) == comparable_dataverse(v)`,
//!    and the same for a Jira value through Dynamics. For lossy pairs this holds for the values
//!    the pair carries (plain text for Jira rich text and a plain text column, labels without
//!    spaces, and so on). A rich-text column carries the rich-text subset of `rich` both ways.
//!    Its values compare by their normalized document, never by their HTML, so markup that
//!    Dynamics' editor rewrites without changing what it shows is no change.
//! 2. Sides that agree compare equal where the vocabularies meet: text (plain text, or the
//!    normalized ADF when it has formatting), numbers (shortest form: `12`, `12.5`), date-only
//!    ↔ date (`2025-01-31`), instants (`2025-01-31T13:45:00Z`, UTC, whole seconds) and choices
//!    matched by label (the label in lower case). So `comparable_dataverse(v) ==
//!    comparable_jira(read(to_jira(v)))` for those pairs and a new link writes nothing when its
//!    sides already agree. Elsewhere (users, multi-select choices, yes/no) each side keeps its
//!    own stable form (account id, lower-case GUID, sorted integers, booleans).
//!
//! Empty values (null, empty text, empty arrays) are all `null`.

use super::dates;
use super::kinds::{Behavior, Column, Field};
use super::rich;
use super::values::{
    bool_of, canonical_number, integer_of, is_blank, jira_terms, number_of, text_doc, text_of,
    JiraField,
};
use crosswalk_dataverse::Attribute;
use crosswalk_jira::adf;
use serde_json::Value;

/// The comparable form of a Jira field's value as read (`GET issue`).
pub fn comparable_jira(field: &JiraField, value: &Value) -> Value {
    if is_blank(value) {
        return Value::Null;
    }
    let target = Field::of(field);
    match target {
        Field::Plain => comparable_text(&adf::from_plain_text(&text_of(value))),
        Field::Rich => match value {
            Value::String(text) => comparable_text(&adf::from_plain_text(text)),
            doc => comparable_text(doc),
        },
        Field::Number => number_of(value).map_or(Value::Null, |number| canonical_number(&number)),
        Field::Date => dates::parse_date(&text_of(value))
            .map_or_else(|| value.clone(), |date| dates::format_date(date).into()),
        Field::DateTime => instant(value),
        Field::Labels => sorted(
            jira_terms(&target, value)
                .into_iter()
                .map(|(label, _)| label.trim().to_owned()),
        ),
        Field::One(_) => jira_terms(&target, value)
            .into_iter()
            .next()
            .map_or(Value::Null, |(label, _)| lower(&label)),
        Field::Many(_) => sorted(
            jira_terms(&target, value)
                .into_iter()
                .map(|(label, _)| label.trim().to_lowercase()),
        ),
        Field::User => value
            .get("accountId")
            .or_else(|| value.get("id"))
            .cloned()
            .unwrap_or_else(|| value.clone()),
        Field::Unsupported => value.clone(),
    }
}

/// The comparable form of a Dataverse column's value as read (choices as integers, lookups as
/// GUIDs).
pub fn comparable_dataverse(column: &Attribute, value: &Value) -> Value {
    if is_blank(value) {
        return Value::Null;
    }
    match Column::of(column) {
        // Rich text by its normalized document, never its HTML: Dynamics' editor may rewrite
        // the markup of a value the connector wrote without changing what it shows.
        Column::Text { rich, .. } => comparable_text(&text_doc(&text_of(value), rich)),
        Column::Number { .. } => {
            number_of(value).map_or(Value::Null, |number| canonical_number(&number))
        }
        Column::Date(Behavior::DateOnly) => dates::parse_date(&text_of(value))
            .map_or_else(|| value.clone(), |date| dates::format_date(date).into()),
        Column::Date(Behavior::UserLocal) => instant(value),
        Column::Date(Behavior::ZoneIndependent) => dates::parse_wall_clock(&text_of(value))
            .map_or_else(|| value.clone(), |at| dates::format_wall_clock(at).into()),
        Column::Boolean { .. } => bool_of(value).map_or_else(|| value.clone(), Value::Bool),
        Column::Choice { options, .. } => integer_of(value).map_or_else(
            || value.clone(),
            |number| lower(&super::choices::option_label(options, number, None)),
        ),
        Column::MultiChoice { .. } => {
            let mut numbers: Vec<i64> = match value {
                Value::Array(items) => items.iter().filter_map(integer_of).collect(),
                other => text_of(other)
                    .split(',')
                    .filter_map(|part| part.trim().parse().ok())
                    .collect(),
            };
            numbers.sort_unstable();
            numbers.dedup();
            if numbers.is_empty() {
                Value::Null
            } else {
                numbers.into()
            }
        }
        Column::Lookup { .. } => Value::String(
            text_of(value)
                .trim()
                .trim_matches(['{', '}'])
                .to_ascii_lowercase(),
        ),
        Column::Unsupported => value.clone(),
    }
}

/// Text as plain text when plain text says all of it, else as the normalized document.
fn comparable_text(doc: &Value) -> Value {
    let normal = rich::normalize(doc);
    let text = adf::to_plain_text(&normal);
    if text.trim().is_empty() {
        Value::Null
    } else if adf::from_plain_text(&text) == normal {
        Value::String(text)
    } else {
        normal
    }
}

/// An instant in UTC, whole seconds (`2025-01-31T13:45:00Z`).
fn instant(value: &Value) -> Value {
    dates::parse_instant(&text_of(value)).map_or_else(
        || value.clone(),
        |at| dates::format_dataverse_instant(dates::whole_seconds(at)).into(),
    )
}

fn lower(label: &str) -> Value {
    Value::String(label.trim().to_lowercase())
}

/// Sorted distinct strings; `null` when there are none.
fn sorted(items: impl Iterator<Item = String>) -> Value {
    let mut items: Vec<String> = items.filter(|item| !item.is_empty()).collect();
    items.sort();
    items.dedup();
    if items.is_empty() {
        Value::Null
    } else {
        items.into()
    }
}
