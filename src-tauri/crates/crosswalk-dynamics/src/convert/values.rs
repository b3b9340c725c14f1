//! Typed conversions of mapped field values: a Dataverse column value as read to the Jira write
//! value (api/atlassian.md §B.1 table), and a Jira value as read (`GET issue`) to the Dataverse
//! PATCH body fragment (api/microsoft.md §F.4).
//!
//! Conventions both ways:
//! - An empty value clears the other side: `null`, or `[]` for Jira array fields.
//! - Named values (choices, options, priorities, components, versions, yes/no) are matched by
//!   the mapping's value map first, then by label ignoring case; a value with no match is a
//!   [`ConvertError::NoMatchingOption`] telling the admin to add a value-map pair.
//! - Jira named values are written as `{"id"}` when createmeta listed them (immune to renames
//!   and to case), else as `{"value"}`/`{"name"}`.
//! - Between a date and a date-time the Jira account's zone ([`Ctx::time_zone`]) decides: a
//!   date is midnight at its start there, an instant is the date it falls on there.
//! - Text columns: a rich-text column (`FormatName` `RichText`; Microsoft Learn, "Format and
//!   FormatName columns") holds HTML, so Jira rich text is written to it as HTML
//!   ([`rich::adf_to_html`]) and any other Jira text as escaped HTML paragraphs; its values are
//!   always read as HTML. Other text columns receive plain text (HTML would show as raw tags
//!   there), so Jira formatting comes back to them as plain text with its line breaks; HTML
//!   found in them still reaches Jira as ADF.
//! - Lookups to users are written as `"<nav>@odata.bind": "/systemusers(<id>)"`, with the
//!   navigation property `ownerid` for the owner, the column's logical name for a lookup with
//!   one target and `<logical name>_systemuser` for one with several (custom lookups whose
//!   schema name differs from the logical name in case need the schema name; the metadata we
//!   read does not carry it). Clearing writes `"<nav>@odata.bind": null`, Dataverse's documented
//!   way to disassociate; the owner cannot be cleared.

use super::choices::{self, jira_item, jira_label, map_to_dataverse, map_to_jira, option_for};
use super::compat::{check, Compatibility};
use super::dates;
use super::error::ConvertError;
use super::kinds::{Behavior, ChoiceRole, Column, Field};
use super::rich;
use super::users::UserDirectory;
use crate::settings::ValuePair;
use crosswalk_dataverse::{Attribute, OptionValue};
use crosswalk_jira::FieldSchema;
use serde_json::{json, Map, Value};

/// A Jira field as createmeta describes it: enough to shape write values and match options.
#[derive(Debug, Clone, PartialEq)]
pub struct JiraField {
    pub id: String,
    pub name: String,
    pub schema: FieldSchema,
    /// As createmeta lists them: options `{id, value}`, priorities, components and versions
    /// `{id, name}`; `None` when Jira gave none (values are then written by label).
    pub allowed_values: Option<Vec<Value>>,
}

/// What one mapping's conversions need besides the two values.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The mapping's explicit value map.
    pub values: &'a [ValuePair],
    /// IANA zone of the Jira account, for date-only ↔ date-time.
    pub time_zone: &'a str,
    /// Users on both sides, for user lookups ↔ Jira users.
    pub users: &'a UserDirectory,
}

/// Jira's longest single-line text.
const MAX_LINE: usize = 255;

/// The Jira write value of a column value as read (choices as integers, their label in
/// `formatted`; lookups as GUIDs with their name in `formatted`).
///
/// # Errors
/// A [`ConvertError`] naming the field and the fix: incompatible types, no matching option,
/// unknown user or time zone, a value of the wrong form.
pub fn to_jira(
    column: &Attribute,
    field: &JiraField,
    record_value: &Value,
    formatted: Option<&str>,
    ctx: &Ctx,
) -> Result<Value, ConvertError> {
    let source = Column::of(column);
    let target = Field::of(field);
    ensure_compatible(column, field, source, &target)?;
    if is_blank(record_value) {
        return Ok(cleared(&target));
    }
    let invalid = |expected: &'static str| ConvertError::InvalidValue {
        value: shown(record_value),
        field: Column::describe(column),
        expected,
    };
    match source {
        Column::Text { rich, .. } => {
            text_to_jira(field, &target, &text_of(record_value), rich, ctx)
        }
        Column::Number { .. } => {
            let number = number_of(record_value).ok_or_else(|| invalid("a number"))?;
            Ok(match target {
                Field::Plain => Value::String(number_text(&number)),
                _ => number,
            })
        }
        Column::Date(behavior) => {
            let text = text_of(record_value);
            date_to_jira(field, &target, behavior, &text, ctx).ok_or_else(|| invalid("a date"))?
        }
        Column::Boolean {
            true_label,
            false_label,
        } => {
            let flag = bool_of(record_value).ok_or_else(|| invalid("yes or no"))?;
            let label = if flag { true_label } else { false_label };
            let mapped = map_to_jira(ctx.values, &[&flag.to_string(), label]);
            let text = mapped.unwrap_or(label);
            match target {
                // Unchecked, or no label, unless the value map names one for "no".
                Field::Many(_) | Field::Labels if !flag && mapped.is_none() => Ok(json!([])),
                _ => terms_to_jira(field, &target, &[text.to_owned()]),
            }
        }
        Column::Choice { options, .. } => {
            let number = integer_of(record_value).ok_or_else(|| invalid("a choice value"))?;
            let label = choices::option_label(options, number, formatted);
            let text = map_to_jira(ctx.values, &[&number.to_string(), &label]).unwrap_or(&label);
            terms_to_jira(field, &target, &[text.to_owned()])
        }
        Column::MultiChoice { options } => {
            let terms = multi_choice_terms(column, options, record_value, formatted, ctx)?;
            terms_to_jira(field, &target, &terms)
        }
        Column::Lookup { .. } => {
            lookup_to_jira(column, field, &target, record_value, formatted, ctx)
        }
        Column::Unsupported => Err(incompatible(column, field, "unsupported column type")),
    }
}

/// The Dataverse PATCH fragment for a Jira value as read: usually `{logical_name: value}`,
/// `{"<nav>@odata.bind": ...}` for a user lookup.
///
/// # Errors
/// A [`ConvertError`] naming the column and the fix, as for [`to_jira`]; also `ReadOnly` for
/// columns only written to Jira (state, lookup names) and `NotWholeNumber`.
pub fn to_dataverse(
    column: &Attribute,
    field: &JiraField,
    jira_value: &Value,
    ctx: &Ctx,
) -> Result<Map<String, Value>, ConvertError> {
    let source = Column::of(column);
    let target = Field::of(field);
    ensure_compatible(column, field, source, &target)?;
    let single = |value: Value| {
        let mut fragment = Map::new();
        fragment.insert(column.logical_name.clone(), value);
        fragment
    };
    let invalid = |expected: &'static str| ConvertError::InvalidValue {
        value: shown(jira_value),
        field: Field::describe(field),
        expected,
    };
    let mut terms = jira_terms(&target, jira_value);
    if matches!(source, Column::MultiChoice { .. }) && target == Field::Plain {
        // A list typed into a text field.
        terms = split_commas(&text_of(jira_value))
            .into_iter()
            .map(|part| (part, String::new()))
            .collect();
    }
    match source {
        Column::Text { rich, .. } => {
            if rich {
                // Everything reaches a rich-text column as an HTML document; plain text from
                // Jira as its paragraphs and line breaks, escaped.
                let doc = match (&target, jira_value) {
                    (Field::Rich, doc @ Value::Object(_)) => doc.clone(),
                    (Field::Plain | Field::Rich, value) => {
                        crosswalk_jira::adf::from_plain_text(&text_of(value))
                    }
                    _ => crosswalk_jira::adf::from_plain_text(&joined_terms(&terms, ctx)),
                };
                let blank = crosswalk_jira::adf::to_plain_text(&doc).trim().is_empty();
                return Ok(single(if blank {
                    Value::Null
                } else {
                    Value::String(rich::adf_to_dataverse_text(&doc, true))
                }));
            }
            let text = match target {
                Field::Plain => text_of(jira_value),
                Field::Rich => match jira_value {
                    Value::String(text) => text.clone(),
                    doc => rich::adf_to_dataverse_text(doc, false),
                },
                _ => joined_terms(&terms, ctx),
            };
            Ok(single(if text.trim().is_empty() {
                Value::Null
            } else {
                Value::String(text)
            }))
        }
        Column::Number { whole, .. } => {
            if is_blank(jira_value) {
                return Ok(single(Value::Null));
            }
            let number = number_of(jira_value).ok_or_else(|| invalid("a number"))?;
            if !whole {
                return Ok(single(number));
            }
            if let Some(integer) = number.as_i64() {
                return Ok(single(Value::from(integer)));
            }
            let float = number.as_f64().unwrap_or(f64::NAN);
            if let Some(integer) = canonical_number(&number).as_i64() {
                return Ok(single(Value::from(integer)));
            }
            if float.fract() != 0.0 {
                return Err(ConvertError::NotWholeNumber {
                    value: number_text(&number),
                    column: Column::describe(column),
                });
            }
            Err(invalid("a whole number in range"))
        }
        Column::Date(behavior) => {
            if is_blank(jira_value) {
                return Ok(single(Value::Null));
            }
            let text = text_of(jira_value);
            let value = date_to_dataverse(field, &target, behavior, &text, ctx)
                .ok_or_else(|| invalid("a date"))??;
            Ok(single(Value::String(value)))
        }
        Column::Boolean {
            true_label,
            false_label,
        } => {
            if terms.is_empty() && !matches!(target, Field::Many(_) | Field::Labels) {
                return Ok(single(Value::Null));
            }
            let true_text = map_to_jira(ctx.values, &["true", true_label]).unwrap_or(true_label);
            let flag = match target {
                Field::Many(_) | Field::Labels => terms.iter().any(|(label, _)| {
                    choices::same(label, true_text) || choices::same(label, &label_of(true_text))
                }),
                _ => {
                    let (label, id) = &terms[0];
                    bool_of_term(column, ctx, label, id, true_label, false_label)?
                }
            };
            Ok(single(Value::Bool(flag)))
        }
        Column::Choice { options, role } => {
            if role == ChoiceRole::State {
                return Err(ConvertError::ReadOnly {
                    column: Column::describe(column),
                    reason: "the status changes through status sync".into(),
                });
            }
            Ok(single(choice_from_terms(
                column, options, &target, &terms, ctx,
            )?))
        }
        Column::MultiChoice { options } => {
            let mut numbers: Vec<i64> = Vec::new();
            for (label, id) in &terms {
                // The value map (by option value or label), then the option labels; a Jira
                // label has '_' for the spaces of an option label.
                let spaced = label.replace('_', " ");
                let keys: Vec<&str> = [label.as_str(), id.as_str(), spaced.as_str()]
                    .into_iter()
                    .filter(|key| !key.is_empty())
                    .collect();
                let number = i64::from(option_for(column, options, ctx.values, &keys)?);
                if !numbers.contains(&number) {
                    numbers.push(number);
                }
            }
            Ok(single(if numbers.is_empty() {
                Value::Null
            } else {
                Value::String(
                    numbers
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                )
            }))
        }
        Column::Lookup { targets } => lookup_to_dataverse(column, field, targets, jira_value, ctx),
        Column::Unsupported => Err(incompatible(column, field, "unsupported column type")),
    }
}

/// Jira's terms for a text column, value-mapped, joined with commas.
fn joined_terms(terms: &[(String, String)], ctx: &Ctx) -> String {
    terms
        .iter()
        .map(|(label, id)| map_to_dataverse(ctx.values, &[label, id]).unwrap_or(label))
        .collect::<Vec<_>>()
        .join(", ")
}

fn incompatible(column: &Attribute, field: &JiraField, reason: &str) -> ConvertError {
    ConvertError::Incompatible {
        column: Column::describe(column),
        field: Field::describe(field),
        reason: reason.to_owned(),
    }
}

fn ensure_compatible(
    column: &Attribute,
    field: &JiraField,
    source: Column<'_>,
    target: &Field,
) -> Result<(), ConvertError> {
    match check(
        source,
        target,
        &Column::type_name(column),
        &Field::type_name(field),
    ) {
        Compatibility::Incompatible(reason) => Err(incompatible(column, field, &reason)),
        Compatibility::Exact | Compatibility::Lossy(_) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared value helpers (also used by `comparable`).

/// Null, an empty string or an empty array.
pub(crate) fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The value that clears a Jira field: `[]` for arrays, else `null`.
fn cleared(target: &Field) -> Value {
    match target {
        Field::Labels | Field::Many(_) => json!([]),
        _ => Value::Null,
    }
}

/// A value as text: strings as they are, anything else as JSON.
pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A value for a message, shortened.
fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(text) => format!("\"{text}\""),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// A number from a JSON number or numeric text.
pub(crate) fn number_of(value: &Value) -> Option<Value> {
    match value {
        Value::Number(_) => Some(value.clone()),
        Value::String(text) => {
            let text = text.trim();
            if let Ok(integer) = text.parse::<i64>() {
                return Some(Value::from(integer));
            }
            text.parse::<f64>()
                .ok()
                .filter(|float| float.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
        }
        _ => None,
    }
}

/// A number in its shortest exact form: whole numbers as integers (`12.0` is `12`).
pub(crate) fn canonical_number(number: &Value) -> Value {
    if let Some(integer) = number.as_i64() {
        return Value::from(integer);
    }
    if let Some(unsigned) = number.as_u64() {
        return Value::from(unsigned);
    }
    match number.as_f64() {
        // Below 2^53 every whole double is an exact integer.
        Some(float) if float.fract() == 0.0 && float.abs() < 9_007_199_254_740_992.0 =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Value::from(float as i64)
        }
        Some(float) => serde_json::Number::from_f64(float).map_or(Value::Null, Value::Number),
        None => Value::Null,
    }
}

/// `12`, `12.5`: a number as the digits a person would write.
fn number_text(number: &Value) -> String {
    canonical_number(number).to_string()
}

/// A choice value: an integer, or an integer as text.
pub(crate) fn integer_of(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
}

/// A yes/no value: a boolean, `0`/`1`, or `true`/`false` as text.
pub(crate) fn bool_of(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => number.as_i64().map(|n| n != 0),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A Jira label for `text`: trimmed, runs of whitespace as `_` (labels cannot hold spaces).
pub(crate) fn label_of(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join("_")
}

/// The ADF document of a Dataverse text value: a rich-text column's value is always HTML
/// (as Dynamics shows it), another column's only when it looks like HTML.
pub(crate) fn text_doc(text: &str, rich: bool) -> Value {
    if rich {
        rich::html_to_adf(text)
    } else {
        rich::dataverse_text_to_adf(text)
    }
}

/// Plain text of a Dataverse text value, reading HTML as a browser shows it.
fn plain_of(text: &str, rich: bool) -> String {
    if rich || rich::looks_like_html(text) {
        crosswalk_jira::adf::to_plain_text(&rich::html_to_adf(text))
    } else {
        text.to_owned()
    }
}

/// Text for a single-line Jira field: line breaks as spaces, at most 255 characters.
fn single_line(text: &str) -> Value {
    let line = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let line: String = line.chars().take(MAX_LINE).collect();
    if line.trim().is_empty() {
        Value::Null
    } else {
        Value::String(line)
    }
}

/// Comma-separated parts, trimmed, without empty ones.
fn split_commas(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The (label, id) pairs of a Jira value as read: items of named fields, labels, or the text
/// of a text field (split at commas for array targets, whole otherwise).
pub(crate) fn jira_terms(target: &Field, value: &Value) -> Vec<(String, String)> {
    let term = |item: &Value| {
        let label = jira_label(item)?;
        let id = match item.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => String::new(),
        };
        (!label.trim().is_empty()).then_some((label, id))
    };
    match (target, value) {
        (_, Value::Array(items)) => items.iter().filter_map(term).collect(),
        (Field::Rich, doc @ Value::Object(_)) => {
            let text = crosswalk_jira::adf::to_plain_text(doc);
            (!text.trim().is_empty())
                .then(|| (text, String::new()))
                .into_iter()
                .collect()
        }
        (_, Value::Null) => Vec::new(),
        (_, item) => term(item).into_iter().collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Dataverse → Jira by source type.

fn text_to_jira(
    field: &JiraField,
    target: &Field,
    text: &str,
    rich: bool,
    ctx: &Ctx,
) -> Result<Value, ConvertError> {
    let plain_of = |text: &str| plain_of(text, rich);
    match target {
        Field::Plain => Ok(single_line(&plain_of(text))),
        Field::Rich => {
            let doc = text_doc(text, rich);
            // Blank text (even as HTML paragraphs of `&nbsp;`) clears rather than writing a
            // document of empty paragraphs.
            let blank = crosswalk_jira::adf::to_plain_text(&doc).trim().is_empty();
            Ok(if blank { Value::Null } else { doc })
        }
        Field::Labels | Field::Many(_) => {
            let parts: Vec<String> = split_commas(&plain_of(text))
                .into_iter()
                .map(|part| map_to_jira(ctx.values, &[&part]).map_or(part, str::to_owned))
                .collect();
            terms_to_jira(field, target, &parts)
        }
        _ => {
            let plain = plain_of(text);
            let plain = plain.trim();
            let mapped = map_to_jira(ctx.values, &[plain]).unwrap_or(plain);
            terms_to_jira(field, target, &[mapped.to_owned()])
        }
    }
}

/// Jira values for named texts (labels already value-mapped): joined for text, one item for
/// a single-value field, each for arrays and labels.
fn terms_to_jira(
    field: &JiraField,
    target: &Field,
    terms: &[String],
) -> Result<Value, ConvertError> {
    let terms: Vec<&str> = terms
        .iter()
        .map(|term| term.trim())
        .filter(|term| !term.is_empty())
        .collect();
    match target {
        Field::Plain => Ok(single_line(&terms.join(", "))),
        Field::Labels => {
            let mut labels: Vec<Value> = Vec::new();
            for label in terms.iter().map(|term| label_of(term)) {
                let label = Value::String(label);
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            Ok(Value::Array(labels))
        }
        Field::One(named) => match terms.first() {
            Some(term) => jira_item(field, *named, term),
            None => Ok(Value::Null),
        },
        Field::Many(named) => {
            let mut items: Vec<Value> = Vec::new();
            for term in terms {
                let item = jira_item(field, *named, term)?;
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            Ok(Value::Array(items))
        }
        _ => Err(incompatible_field(field)),
    }
}

fn incompatible_field(field: &JiraField) -> ConvertError {
    ConvertError::Incompatible {
        column: "this column".into(),
        field: Field::describe(field),
        reason: "the value does not fit this field".into(),
    }
}

fn zone_for(ctx: &Ctx, field: &JiraField) -> Result<jiff::tz::TimeZone, ConvertError> {
    dates::zone(ctx.time_zone).ok_or_else(|| ConvertError::UnknownTimeZone {
        zone: ctx.time_zone.to_owned(),
        field: Field::describe(field),
    })
}

/// `None` when the text is not a date of the column's behavior.
fn date_to_jira(
    field: &JiraField,
    target: &Field,
    behavior: Behavior,
    text: &str,
    ctx: &Ctx,
) -> Option<Result<Value, ConvertError>> {
    let zone = || zone_for(ctx, field);
    let result = match (behavior, target) {
        (Behavior::DateOnly, Field::Date | Field::Plain) => {
            Ok(dates::format_date(dates::parse_date(text)?))
        }
        (Behavior::DateOnly, _) => {
            let date = dates::parse_date(text)?;
            zone().and_then(|zone| {
                dates::start_of_day(date, &zone)
                    .map(dates::format_jira_instant)
                    .ok_or_else(|| incompatible_field(field))
            })
        }
        (Behavior::UserLocal, Field::Date) => {
            let at = dates::parse_instant(text)?;
            zone().map(|zone| dates::format_date(dates::date_in(at, &zone)))
        }
        (Behavior::UserLocal, Field::Plain) => {
            Ok(dates::format_dataverse_instant(dates::parse_instant(text)?))
        }
        (Behavior::UserLocal, _) => Ok(dates::format_jira_instant(dates::whole_seconds(
            dates::parse_instant(text)?,
        ))),
        (Behavior::ZoneIndependent, Field::Date) => {
            Ok(dates::format_date(dates::parse_wall_clock(text)?.date()))
        }
        (Behavior::ZoneIndependent, Field::Plain) => {
            Ok(dates::format_wall_clock(dates::parse_wall_clock(text)?))
        }
        (Behavior::ZoneIndependent, _) => {
            let wall_clock = dates::parse_wall_clock(text)?;
            zone().and_then(|zone| {
                dates::instant_of(wall_clock, &zone)
                    .map(dates::format_jira_instant)
                    .ok_or_else(|| incompatible_field(field))
            })
        }
    };
    Some(result.map(Value::String))
}

/// Each option of a multi-select value (`"1,3"`), as Jira text: the value map by integer or
/// label, else the option's label from the metadata, else (options unknown) the label at the
/// same position of the formatted value (`"Red; Blue"`), which Dataverse renders in the order
/// of the stored values.
fn multi_choice_terms(
    column: &Attribute,
    options: &[OptionValue],
    value: &Value,
    formatted: Option<&str>,
    ctx: &Ctx,
) -> Result<Vec<String>, ConvertError> {
    let numbers: Vec<i64> = match value {
        Value::Array(items) => items.iter().filter_map(integer_of).collect(),
        other => text_of(other)
            .split(',')
            .filter_map(|part| part.trim().parse().ok())
            .collect(),
    };
    let labels: Vec<&str> = formatted
        .map(|text| text.split(';').map(str::trim).collect())
        .filter(|labels: &Vec<&str>| labels.len() == numbers.len())
        .unwrap_or_default();
    numbers
        .iter()
        .enumerate()
        .map(|(idx, number)| {
            let label = options
                .iter()
                .find(|option| i64::from(option.value) == *number)
                .map(|option| option.label.as_str())
                .or_else(|| labels.get(idx).copied());
            let mut keys = vec![number.to_string()];
            keys.extend(label.map(str::to_owned));
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            map_to_jira(ctx.values, &keys)
                .or(label)
                .map(str::to_owned)
                .ok_or_else(|| ConvertError::NoMatchingOption {
                    value: number.to_string(),
                    field: Column::describe(column),
                    choices: options.iter().map(|option| option.label.clone()).collect(),
                })
        })
        .collect()
}

fn lookup_to_jira(
    column: &Attribute,
    field: &JiraField,
    target: &Field,
    value: &Value,
    formatted: Option<&str>,
    ctx: &Ctx,
) -> Result<Value, ConvertError> {
    match target {
        Field::User => {
            let id = text_of(value);
            ctx.users
                .jira_for_dataverse(&id)
                .map(|account| json!({ "accountId": account }))
                .ok_or_else(|| ConvertError::UnknownDataverseUser {
                    user: formatted.map_or(id.clone(), str::to_owned),
                    field: Field::describe(field),
                })
        }
        _ => formatted
            .map(single_line)
            .ok_or_else(|| ConvertError::MissingName {
                column: Column::describe(column),
                field: Field::describe(field),
            }),
    }
}

// ---------------------------------------------------------------------------------------------
// Jira → Dataverse by column type.

/// `None` when the text is not a date; `Some(Err)` when the zone is unknown.
fn date_to_dataverse(
    field: &JiraField,
    target: &Field,
    behavior: Behavior,
    text: &str,
    ctx: &Ctx,
) -> Option<Result<String, ConvertError>> {
    let zone = || zone_for(ctx, field);
    // A Jira date, or a date typed into a text field.
    let as_date = match target {
        Field::Date => Some(dates::parse_date(text)?),
        Field::Plain if text.trim().len() == 10 => Some(dates::parse_date(text)?),
        _ => None,
    };
    let result = match (behavior, as_date) {
        (Behavior::DateOnly, Some(date)) => Ok(dates::format_date(date)),
        (Behavior::UserLocal, Some(date)) => zone().and_then(|zone| {
            dates::start_of_day(date, &zone)
                .map(dates::format_dataverse_instant)
                .ok_or_else(|| incompatible_field(field))
        }),
        (Behavior::ZoneIndependent, Some(date)) => Ok(format!(
            "{}Z",
            dates::format_wall_clock(date.to_datetime(jiff::civil::Time::midnight()))
        )),
        (Behavior::ZoneIndependent, None) if matches!(target, Field::Plain) => Ok(format!(
            "{}Z",
            dates::format_wall_clock(dates::parse_wall_clock(text)?)
        )),
        (behavior, None) => {
            let at = dates::parse_instant(text)?;
            match behavior {
                Behavior::UserLocal => Ok(dates::format_dataverse_instant(at)),
                Behavior::DateOnly => {
                    zone().map(|zone| dates::format_date(dates::date_in(at, &zone)))
                }
                Behavior::ZoneIndependent => zone().map(|zone| {
                    format!(
                        "{}Z",
                        dates::format_wall_clock(dates::wall_clock_in(at, &zone))
                    )
                }),
            }
        }
    };
    Some(result)
}

/// A yes/no from one Jira label: the value map (`"true"`/`"false"` or the column's labels on
/// the Dataverse side), then the Jira text each of yes and no is written as.
fn bool_of_term(
    column: &Attribute,
    ctx: &Ctx,
    label: &str,
    id: &str,
    true_label: &str,
    false_label: &str,
) -> Result<bool, ConvertError> {
    if let Some(mapped) = map_to_dataverse(ctx.values, &[label, id]) {
        if let Some(flag) = bool_of(&Value::String(mapped.to_owned())) {
            return Ok(flag);
        }
        if choices::same(mapped, true_label) {
            return Ok(true);
        }
        if choices::same(mapped, false_label) {
            return Ok(false);
        }
    }
    let true_text = map_to_jira(ctx.values, &["true", true_label]).unwrap_or(true_label);
    let false_text = map_to_jira(ctx.values, &["false", false_label]).unwrap_or(false_label);
    if choices::same(label, true_text) {
        Ok(true)
    } else if choices::same(label, false_text) {
        Ok(false)
    } else {
        Err(ConvertError::NoMatchingOption {
            value: label.to_owned(),
            field: Column::describe(column),
            choices: vec![true_label.to_owned(), false_label.to_owned()],
        })
    }
}

/// The option value for Jira's terms: the first term that matches an option; text fields
/// match their whole text.
fn choice_from_terms(
    column: &Attribute,
    options: &[OptionValue],
    target: &Field,
    terms: &[(String, String)],
    ctx: &Ctx,
) -> Result<Value, ConvertError> {
    let mut first_error = None;
    for (label, id) in terms {
        let spaced = label.replace('_', " ");
        let keys: Vec<&str> = match target {
            Field::Labels => vec![label, &spaced],
            _ => vec![label, id],
        };
        match option_for(column, options, ctx.values, &keys) {
            Ok(number) => return Ok(Value::from(number)),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(Value::Null),
    }
}

fn lookup_to_dataverse(
    column: &Attribute,
    field: &JiraField,
    targets: &[String],
    value: &Value,
    ctx: &Ctx,
) -> Result<Map<String, Value>, ConvertError> {
    if !matches!(Field::of(field), Field::User) {
        return Err(ConvertError::ReadOnly {
            column: Column::describe(column),
            reason: "a lookup's name is shown in Jira, not set from it".into(),
        });
    }
    let navigation = if column.logical_name == "ownerid" || targets.len() <= 1 {
        column.logical_name.clone()
    } else {
        format!("{}_systemuser", column.logical_name)
    };
    let key = format!("{navigation}@odata.bind");
    let mut fragment = Map::new();
    if is_blank(value) {
        if column.logical_name == "ownerid" {
            return Err(ConvertError::CannotClear {
                column: Column::describe(column),
                field: Field::describe(field),
            });
        }
        fragment.insert(key, Value::Null);
        return Ok(fragment);
    }
    let text = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or_default();
    let account = [text("accountId"), text("id")]
        .into_iter()
        .find(|id| !id.is_empty())
        .unwrap_or_default();
    let email = ctx
        .users
        .email_of_jira(account)
        .or_else(|| Some(text("emailAddress").to_owned()).filter(|email| !email.is_empty()));
    let user = email
        .and_then(|email| ctx.users.dataverse_user_for_email(&email))
        .ok_or_else(|| ConvertError::UnknownJiraUser {
            user: [text("displayName"), account]
                .into_iter()
                .find(|name| !name.is_empty())
                .unwrap_or("(unknown)")
                .to_owned(),
            column: Column::describe(column),
        })?;
    fragment.insert(key, Value::String(format!("/systemusers({user})")));
    Ok(fragment)
}
