//! Which column types convert to which Jira fields, and what is lost on the way, in words the
//! admin reads next to a field mapping.

use super::kinds::{Behavior, ChoiceRole, Column, Field, Named};
use super::values::JiraField;
use crosswalk_dataverse::Attribute;

/// How well a column and a field convert into each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compatibility {
    /// Values go both ways unchanged.
    Exact,
    /// Values convert, with what is lost or how they are matched.
    Lossy(String),
    /// The types do not convert; the reason says which field types would.
    Incompatible(String),
}

/// How `column` and `field` convert, with an admin-readable reason such as
/// "Text → Labels: split at commas; spaces become '_'".
pub fn compatibility(column: &Attribute, field: &JiraField) -> Compatibility {
    check(
        Column::of(column),
        &Field::of(field),
        &Column::type_name(column),
        &Field::type_name(field),
    )
}

pub(crate) fn check(column: Column<'_>, field: &Field, from: &str, to: &str) -> Compatibility {
    use Compatibility::{Exact, Incompatible, Lossy};
    let lossy = |detail: &str| Lossy(format!("{from} → {to}: {detail}"));
    let no = |detail: &str| Incompatible(format!("{from} → {to}: {detail}"));
    let named = |named: &Named| match named {
        Named::Option => "an option",
        Named::Priority => "a priority",
        Named::Component => "a component",
        Named::Version => "a version",
    };
    match (column, field) {
        (Column::Unsupported, _) => no("Crosswalk does not convert this column type"),
        (_, Field::Unsupported) => no("Crosswalk does not convert this field type"),

        (Column::Text { rich: true, .. }, Field::Plain) => lossy(
            "formatting is dropped, line breaks become spaces and Jira keeps the first 255 characters",
        ),
        (Column::Text { multiline: false, .. }, Field::Plain) => Exact,
        (Column::Text { multiline: true, .. }, Field::Plain) => {
            lossy("line breaks become spaces and Jira keeps the first 255 characters")
        }
        (Column::Text { rich: true, .. }, Field::Rich) => lossy(
            "formatting goes both ways (paragraphs, line breaks, bold, italic, links, lists, headings); \
             tables, images, colours and mentions arrive as plain text",
        ),
        (Column::Text { .. }, Field::Rich) => {
            lossy("formatting reaches Jira; Jira's formatting comes back as plain text")
        }
        (Column::Text { .. }, Field::Labels) => lossy("split at commas; spaces become '_'"),
        (Column::Text { .. }, Field::One(kind)) => lossy(&format!(
            "the text must be {} label or a value-map pair",
            named(kind)
        )),
        (Column::Text { .. }, Field::Many(kind)) => lossy(&format!(
            "split at commas; each part must be {} label or a value-map pair",
            named(kind)
        )),
        (Column::Text { .. }, _) => no("text goes to Jira text, labels or choice fields"),

        (Column::Number { big: true, .. }, Field::Number) => {
            lossy("Jira numbers keep about 15 significant digits")
        }
        (Column::Number { .. }, Field::Number) => Exact,
        (Column::Number { .. }, Field::Plain) => {
            lossy("written as digits; text from Jira must be a number")
        }
        (Column::Number { .. }, _) => no("numbers go to Jira number or text fields"),

        (Column::Date(Behavior::DateOnly), Field::Date) => Exact,
        (Column::Date(Behavior::UserLocal), Field::Date) => lossy(
            "the time of day is dropped; the date is taken in the Jira account's time zone",
        ),
        (Column::Date(Behavior::ZoneIndependent), Field::Date) => {
            lossy("the time of day is dropped")
        }
        (Column::Date(Behavior::UserLocal), Field::DateTime) => Exact,
        (Column::Date(Behavior::DateOnly), Field::DateTime) => lossy(
            "written as midnight in the Jira account's time zone; a time of day set in Jira is dropped",
        ),
        (Column::Date(Behavior::ZoneIndependent), Field::DateTime) => Exact,
        (Column::Date(_), Field::Plain) => {
            lossy("written as ISO 8601 text; text from Jira must keep that form")
        }
        (Column::Date(_), _) => no("dates go to Jira date, date-time or text fields"),

        (
            Column::Boolean {
                true_label,
                false_label,
            },
            field,
        ) => match field {
            Field::One(Named::Option) => lossy(&format!(
                "by value map or label {true_label}/{false_label}"
            )),
            Field::Many(Named::Option) => lossy(&format!(
                "{true_label} checks the option named by the value map or {true_label}; no option means {false_label}"
            )),
            Field::Labels => lossy(&format!(
                "{true_label} sets the label named by the value map or {true_label}; without it {false_label}"
            )),
            Field::Plain => lossy(&format!(
                "written as {true_label}/{false_label}; text from Jira must be one of them"
            )),
            _ => no("yes/no values go to select lists, checkboxes, labels or text"),
        },

        (Column::Choice { role, .. }, field) => {
            let role_note = match role {
                ChoiceRole::Picklist => None,
                ChoiceRole::State => {
                    Some("Dynamics → Jira only; status changes come back through status sync")
                }
                ChoiceRole::Status => Some(
                    "from Jira only status reasons of the record's current status can be set",
                ),
            };
            let with_role = |detail: &str| match role_note {
                Some(note) => lossy(&format!("{detail}; {note}")),
                None => lossy(detail),
            };
            match field {
                Field::One(Named::Option | Named::Priority) => match role_note {
                    None => Exact,
                    Some(note) => lossy(&format!("by value map, then by label; {note}")),
                },
                Field::One(_) => with_role("by value map, then by name"),
                Field::Plain => with_role(
                    "the label is written; text from Jira must be a label or a value-map pair",
                ),
                Field::Labels => with_role(
                    "the label is written with spaces as '_'; from Jira the first label matching an option counts",
                ),
                Field::Many(_) => {
                    with_role("one value; from Jira the first value matching an option counts")
                }
                _ => no("choices go to select lists, priorities, labels or text"),
            }
        }

        // Options unknown (a column typed only `Virtual`).
        (Column::MultiChoice { options: [] }, Field::Many(_) | Field::Labels | Field::Plain) => {
            lossy(
                "labels come from Dynamics' formatted values; Jira → Dynamics needs a value-map pair per option, as Dataverse does not list this column's options",
            )
        }
        (Column::MultiChoice { .. }, Field::Labels) => lossy(
            "each option by value map, then by label; labels are written with spaces as '_'",
        ),
        (Column::MultiChoice { .. }, Field::Many(_)) => {
            lossy("each option by value map, then by label")
        }
        (Column::MultiChoice { .. }, Field::Plain) => lossy(
            "labels joined with commas; text from Jira must list labels or value-map pairs",
        ),
        (Column::MultiChoice { .. }, _) => {
            no("multi-select choices go to multi-select lists, labels or text")
        }

        (Column::Lookup { targets }, Field::User) => {
            if targets.iter().all(|target| target == "systemuser") && !targets.is_empty() {
                Exact
            } else if targets.iter().any(|target| target == "systemuser") {
                lossy("users only, matched by email; teams are skipped")
            } else {
                no("only lookups to users go to Jira users")
            }
        }
        (Column::Lookup { .. }, Field::Plain) => lossy("read-only name"),
        (Column::Lookup { .. }, _) => {
            no("lookups go to Jira users (lookups to users) or, read-only, to text")
        }
    }
}
