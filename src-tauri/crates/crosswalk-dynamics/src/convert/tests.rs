//! Every supported type pair both ways, with simulated reads of both sides: what Jira answers on
//! `GET issue` for a written value, and what Dataverse answers on `GET` after a PATCH.

use super::*;
use crate::settings::ValuePair;
use crosswalk_dataverse::{Attribute, AttributeKind, OptionValue};
use crosswalk_jira::FieldSchema;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn column(name: &str, kind: AttributeKind) -> Attribute {
    Attribute {
        logical_name: name.into(),
        display_name: Some(name.into()),
        kind,
        format: None,
    }
}

/// A rich-text column (`FormatName` `RichText`): it holds HTML.
fn rich_notes() -> Attribute {
    Attribute {
        format: Some("RichText".into()),
        ..column("cw_richnotes", AttributeKind::Memo)
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

fn date_column(behavior: &str) -> Attribute {
    column(
        "followupby",
        AttributeKind::DateTime {
            behavior: Some(behavior.into()),
        },
    )
}

fn boolean() -> Attribute {
    column(
        "isescalated",
        AttributeKind::Boolean {
            true_label: Some("Yes".into()),
            false_label: Some("No".into()),
        },
    )
}

fn prioritycode() -> Attribute {
    column(
        "prioritycode",
        AttributeKind::Picklist {
            options: vec![option(1, "High"), option(2, "Normal"), option(3, "Low")],
        },
    )
}

fn multi() -> Attribute {
    column("new_colors", AttributeKind::Other("Virtual".into()))
}

fn owner() -> Attribute {
    column(
        "ownerid",
        AttributeKind::Lookup {
            targets: vec!["systemuser".into(), "team".into()],
        },
    )
}

fn engineer() -> Attribute {
    column(
        "new_engineer",
        AttributeKind::Lookup {
            targets: vec!["systemuser".into()],
        },
    )
}

fn customer() -> Attribute {
    column(
        "customerid",
        AttributeKind::Lookup {
            targets: vec!["account".into(), "contact".into()],
        },
    )
}

fn field(
    id: &str,
    kind: &str,
    items: Option<&str>,
    custom: Option<&str>,
    allowed: Option<Value>,
) -> JiraField {
    JiraField {
        id: id.into(),
        name: id.into(),
        schema: FieldSchema {
            kind: kind.into(),
            items: items.map(str::to_owned),
            system: custom.is_none().then(|| id.to_owned()),
            custom: custom.map(|custom| {
                format!("com.atlassian.jira.plugin.system.customfieldtypes:{custom}")
            }),
            custom_id: None,
        },
        allowed_values: allowed.map(|allowed| allowed.as_array().cloned().unwrap_or_default()),
    }
}

fn summary() -> JiraField {
    field("summary", "string", None, None, None)
}

fn textfield() -> JiraField {
    field("customfield_10001", "string", None, Some("textfield"), None)
}

fn description() -> JiraField {
    field("description", "string", None, None, None)
}

fn textarea() -> JiraField {
    field("customfield_10002", "string", None, Some("textarea"), None)
}

fn number() -> JiraField {
    field("customfield_10003", "number", None, Some("float"), None)
}

fn duedate() -> JiraField {
    field("duedate", "date", None, None, None)
}

fn datetime() -> JiraField {
    field(
        "customfield_10004",
        "datetime",
        None,
        Some("datetime"),
        None,
    )
}

fn labels() -> JiraField {
    field("labels", "array", Some("string"), None, None)
}

fn select() -> JiraField {
    field(
        "customfield_10005",
        "option",
        None,
        Some("select"),
        Some(json!([
            {"self": "s", "id": "10101", "value": "High"},
            {"self": "s", "id": "10102", "value": "Normal"},
            {"self": "s", "id": "10103", "value": "Low"},
            {"self": "s", "id": "10104", "value": "Yes"},
            {"self": "s", "id": "10105", "value": "No"},
        ])),
    )
}

fn checkboxes() -> JiraField {
    field(
        "customfield_10006",
        "array",
        Some("option"),
        Some("multicheckboxes"),
        Some(json!([
            {"id": "10201", "value": "Red"},
            {"id": "10202", "value": "Green"},
            {"id": "10203", "value": "Blue"},
            {"id": "10204", "value": "Escalated"},
        ])),
    )
}

fn priority() -> JiraField {
    field(
        "priority",
        "priority",
        None,
        None,
        Some(json!([
            {"self": "p", "iconUrl": "i", "id": "1", "name": "Highest"},
            {"self": "p", "iconUrl": "i", "id": "2", "name": "High"},
            {"self": "p", "iconUrl": "i", "id": "3", "name": "Medium"},
            {"self": "p", "iconUrl": "i", "id": "4", "name": "Low"},
        ])),
    )
}

fn components() -> JiraField {
    field(
        "components",
        "array",
        Some("component"),
        None,
        Some(json!([
            {"self": "c", "id": "10000", "name": "Backend"},
            {"self": "c", "id": "10001", "name": "API"},
        ])),
    )
}

fn fix_versions() -> JiraField {
    field(
        "fixVersions",
        "array",
        Some("version"),
        None,
        Some(json!([{"id": "10300", "name": "1.2"}, {"id": "10301", "name": "2.0"}])),
    )
}

fn assignee() -> JiraField {
    field("assignee", "user", None, None, None)
}

fn cascading() -> JiraField {
    field(
        "customfield_10007",
        "option-with-child",
        None,
        Some("cascadingselect"),
        None,
    )
}

const ANN_DV: &str = "c0ffee00-0000-0000-0000-000000000001";
const ANN_JIRA: &str = "5b10ac8d82e05b22cc7d4ef5";
const BOB_DV: &str = "c0ffee00-0000-0000-0000-000000000002";

fn users() -> UserDirectory {
    let users = UserDirectory::default();
    users
        .add_jira(ANN_JIRA, "ann@contoso.com")
        .add_dataverse(ANN_DV, "Ann@Contoso.com")
        .add_dataverse(BOB_DV, "bob@contoso.com")
        .add_dataverse("c0ffee00-0000-0000-0000-000000000003", "cy@contoso.com");
    users
}

fn pair(dataverse: &str, jira: &str) -> ValuePair {
    ValuePair {
        dataverse: dataverse.into(),
        jira: jira.into(),
    }
}

const SYDNEY: &str = "Australia/Sydney";
const LOS_ANGELES: &str = "America/Los_Angeles";

/// What Jira answers on `GET issue` for a value written as `write`.
fn jira_read(field: &JiraField, write: &Value) -> Value {
    let allowed = field.allowed_values.clone().unwrap_or_default();
    let item = |write: &Value| {
        allowed
            .iter()
            .find(|candidate| {
                (write.get("id").is_some() && candidate.get("id") == write.get("id"))
                    || ["value", "name"].iter().any(|key| {
                        write.get(*key).is_some() && candidate.get(*key) == write.get(*key)
                    })
            })
            .cloned()
            .unwrap_or_else(|| write.clone())
    };
    match (field.schema.kind.as_str(), write) {
        ("array", Value::Null) => json!([]),
        ("array", Value::Array(items)) if field.schema.items.as_deref() != Some("string") => {
            Value::Array(items.iter().map(item).collect())
        }
        ("option" | "priority" | "version", Value::Object(_)) => item(write),
        ("user", Value::Object(_)) => {
            json!({"accountId": write["accountId"], "displayName": "Someone", "active": true})
        }
        ("datetime", Value::String(text)) => {
            let at = crosswalk_jira::parse_timestamp(text).expect("a written Jira timestamp");
            let at = at.to_offset(time::UtcOffset::UTC);
            json!(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second(),
                at.millisecond()
            ))
        }
        _ => write.clone(),
    }
}

/// What Dataverse answers on `GET` for the column after a PATCH with `fragment`.
fn dataverse_read(column: &Attribute, fragment: &Map<String, Value>) -> Value {
    for (key, value) in fragment {
        if key.ends_with("@odata.bind") {
            return match value.as_str() {
                Some(bind) => json!(bind
                    .trim_start_matches("/systemusers(")
                    .trim_end_matches(')')),
                None => Value::Null,
            };
        }
    }
    fragment
        .get(&column.logical_name)
        .cloned()
        .expect("the fragment sets the column")
}

struct Case<'a> {
    column: Attribute,
    field: JiraField,
    values: &'a [ValuePair],
    zone: &'a str,
}

impl Case<'_> {
    fn new(column: Attribute, field: JiraField) -> Case<'static> {
        Case {
            column,
            field,
            values: &[],
            zone: "UTC",
        }
    }

    fn jira(&self, value: Value, formatted: Option<&str>) -> Result<Value, ConvertError> {
        let users = users();
        let ctx = Ctx {
            values: self.values,
            time_zone: self.zone,
            users: &users,
        };
        to_jira(&self.column, &self.field, &value, formatted, &ctx)
    }

    fn dataverse(&self, value: Value) -> Result<Map<String, Value>, ConvertError> {
        let users = users();
        let ctx = Ctx {
            values: self.values,
            time_zone: self.zone,
            users: &users,
        };
        to_dataverse(&self.column, &self.field, &value, &ctx)
    }

    /// The value Dataverse reads back after a Jira value is written to it.
    fn dataverse_back(&self, jira_value: Value) -> Value {
        dataverse_read(&self.column, &self.dataverse(jira_value).unwrap())
    }

    /// Dynamics value → Jira → back: both sides' comparable values survive the trip.
    fn round_trip(&self, value: Value, formatted: Option<&str>) {
        let read = jira_read(&self.field, &self.jira(value.clone(), formatted).unwrap());
        let back = self.dataverse_back(read.clone());
        let label = format!("{} ↔ {}: {value}", self.column.logical_name, self.field.id);
        assert_eq!(
            comparable_dataverse(&self.column, &back),
            comparable_dataverse(&self.column, &value),
            "Dynamics side of {label}"
        );
        let again = jira_read(&self.field, &self.jira(back, formatted).unwrap());
        assert_eq!(
            comparable_jira(&self.field, &again),
            comparable_jira(&self.field, &read),
            "Jira side of {label}"
        );
    }

    /// Like `round_trip`, and both sides' comparable values are equal.
    fn round_trip_equal(&self, value: Value, formatted: Option<&str>) {
        self.round_trip(value.clone(), formatted);
        let read = jira_read(&self.field, &self.jira(value.clone(), formatted).unwrap());
        assert_eq!(
            comparable_dataverse(&self.column, &value),
            comparable_jira(&self.field, &read),
            "{} and {} agree on {value}",
            self.column.logical_name,
            self.field.id
        );
    }

    /// Jira value → Dynamics → back to Jira: Jira's comparable value survives.
    fn jira_round_trip(&self, read: Value, formatted: Option<&str>) {
        let back = self.dataverse_back(read.clone());
        let again = jira_read(&self.field, &self.jira(back.clone(), formatted).unwrap());
        assert_eq!(
            comparable_jira(&self.field, &again),
            comparable_jira(&self.field, &read),
            "{} ↔ {}: {read} came back as {again}",
            self.column.logical_name,
            self.field.id
        );
        let twice = self.dataverse_back(again);
        assert_eq!(
            comparable_dataverse(&self.column, &twice),
            comparable_dataverse(&self.column, &back)
        );
    }
}

fn fragment(key: &str, value: Value) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(key.into(), value);
    map
}

// ---------------------------------------------------------------------------------------------
// Text.

#[test]
fn text_goes_to_single_line_fields_as_plain_text() {
    let string = column("title", AttributeKind::String);
    let memo = column("description", AttributeKind::Memo);
    let case = Case::new(string.clone(), summary());
    assert_eq!(
        case.jira(json!("Printer jam"), None),
        Ok(json!("Printer jam"))
    );
    assert_eq!(case.jira(json!("  "), None), Ok(Value::Null));
    assert_eq!(case.jira(Value::Null, None), Ok(Value::Null));
    case.round_trip_equal(json!("Printer  jam on floor 3"), None);
    Case::new(string, textfield()).round_trip_equal(json!("Contoso"), None);

    let case = Case::new(memo, summary());
    assert_eq!(
        case.jira(json!("Line 1\r\nLine 2\n\nLine 3"), None),
        Ok(json!("Line 1 Line 2 Line 3"))
    );
    assert_eq!(
        case.jira(json!("<div>Hello <b>world</b></div><div>again</div>"), None),
        Ok(json!("Hello world again"))
    );
    let long = "x".repeat(300);
    assert_eq!(case.jira(json!(long), None), Ok(json!("x".repeat(255))));
    assert_eq!(
        case.dataverse(json!("From Jira")),
        Ok(fragment("description", json!("From Jira")))
    );
    assert_eq!(
        case.dataverse(json!("")),
        Ok(fragment("description", Value::Null))
    );
}

#[test]
fn text_goes_to_rich_fields_as_adf() {
    let memo = column("description", AttributeKind::Memo);
    for field in [description(), textarea()] {
        let case = Case::new(memo.clone(), field);
        assert_eq!(
            case.jira(json!("a\nb\n\nc"), None),
            Ok(json!({"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "a"}, {"type": "hardBreak"}, {"type": "text", "text": "b"}]},
                {"type": "paragraph", "content": [{"type": "text", "text": "c"}]}]}))
        );
        // Jira rejects empty text nodes: blank text clears the field instead.
        assert_eq!(case.jira(json!(" \n "), None), Ok(Value::Null));
        assert_eq!(case.jira(json!("<div>&nbsp;</div>"), None), Ok(Value::Null));
        case.round_trip_equal(json!("Printer on floor 3\nis offline\n\nCall Ann"), None);
        case.round_trip_equal(json!("<div>Line one</div><div>Line two</div>"), None);
    }
    // Rich text reaches Jira with its formatting, and comes back as plain text.
    let case = Case::new(memo, description());
    let html = "<div>Hello <b>world</b><br>line</div><ul><li>a</li></ul>";
    let adf = case.jira(json!(html), None).unwrap();
    assert_eq!(
        adf["content"][0]["content"][1],
        json!({"type": "text", "text": "world", "marks": [{"type": "strong"}]})
    );
    assert_eq!(
        comparable_dataverse(&case.column, &json!(html)),
        comparable_jira(&case.field, &adf)
    );
    assert_eq!(
        case.dataverse(adf),
        Ok(fragment("description", json!("Hello world\nline\n\n- a")))
    );
    // A plain document from Jira comes back unchanged.
    case.jira_round_trip(
        crosswalk_jira::adf::from_plain_text("one\ntwo\n\nthree"),
        None,
    );
    assert_eq!(
        case.dataverse(Value::Null),
        Ok(fragment("description", Value::Null))
    );
}

#[test]
fn text_goes_to_labels_split_at_commas() {
    let case = Case::new(column("new_tags", AttributeKind::String), labels());
    assert_eq!(
        case.jira(json!("urgent customer, vip,, vip "), None),
        Ok(json!(["urgent_customer", "vip"]))
    );
    assert_eq!(case.jira(Value::Null, None), Ok(json!([])));
    assert_eq!(
        case.dataverse(json!(["urgent_customer", "vip"])),
        Ok(fragment("new_tags", json!("urgent_customer, vip")))
    );
    assert_eq!(
        case.dataverse(json!([])),
        Ok(fragment("new_tags", Value::Null))
    );
    case.round_trip(json!("urgent_customer, vip"), None);
    case.jira_round_trip(json!(["b", "a"]), None);
}

#[test]
fn text_goes_to_choice_fields_by_value_map_or_label() {
    let title = column("new_severity", AttributeKind::String);
    let values = [pair("P1", "High")];
    let case = Case {
        values: &values,
        ..Case::new(title.clone(), select())
    };
    assert_eq!(case.jira(json!("low"), None), Ok(json!({"id": "10103"})));
    assert_eq!(case.jira(json!("p1"), None), Ok(json!({"id": "10101"})));
    let error = case.jira(json!("Blocker"), None).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("add a value-map pair for \"Blocker\""),
        "{error}"
    );
    assert_eq!(
        case.dataverse(json!({"self": "s", "id": "10101", "value": "High"})),
        Ok(fragment("new_severity", json!("P1")))
    );
    case.round_trip(json!("Low"), None);

    let case = Case::new(
        column("new_components", AttributeKind::String),
        components(),
    );
    assert_eq!(
        case.jira(json!("backend, API"), None),
        Ok(json!([{"id": "10000"}, {"id": "10001"}]))
    );
    assert!(matches!(
        case.jira(json!("Mobile"), None),
        Err(ConvertError::NoMatchingOption { .. })
    ));
    assert_eq!(
        case.dataverse(
            json!([{"self": "c", "id": "10000", "name": "Backend"}, {"id": "10001", "name": "API"}])
        ),
        Ok(fragment("new_components", json!("Backend, API")))
    );
    case.round_trip(json!("Backend"), None);
    let case = Case::new(column("new_release", AttributeKind::String), fix_versions());
    case.round_trip(json!("2.0, 1.2"), None);
}

// ---------------------------------------------------------------------------------------------
// Numbers.

#[test]
fn numbers_go_to_number_fields() {
    let integer = Case::new(column("new_seats", AttributeKind::Integer), number());
    assert_eq!(integer.jira(json!(42), None), Ok(json!(42)));
    assert_eq!(
        integer.dataverse(json!(42.0)),
        Ok(fragment("new_seats", json!(42)))
    );
    assert_eq!(
        integer.dataverse(Value::Null),
        Ok(fragment("new_seats", Value::Null))
    );
    let error = integer.dataverse(json!(2.5)).unwrap_err();
    assert_eq!(
        error,
        ConvertError::NotWholeNumber {
            value: "2.5".into(),
            column: "Dynamics column new_seats".into()
        }
    );
    integer.round_trip_equal(json!(42), None);

    for kind in [
        AttributeKind::Decimal,
        AttributeKind::Money,
        AttributeKind::Other("Double".into()),
    ] {
        let case = Case::new(column("new_amount", kind), number());
        assert_eq!(case.jira(json!(12.50), None), Ok(json!(12.5)));
        assert_eq!(
            case.dataverse(json!(0.1)),
            Ok(fragment("new_amount", json!(0.1)))
        );
        case.round_trip_equal(json!(1999.99), None);
        case.round_trip_equal(json!(12.0), None);
        case.jira_round_trip(json!(-3.25), None);
    }
    let big = Case::new(
        column("new_big", AttributeKind::Other("BigInt".into())),
        number(),
    );
    big.round_trip_equal(json!(9_007_199_254_740_993_i64), None);
    assert_eq!(comparable_jira(&number(), &json!(12.0)), json!(12));
    assert_eq!(comparable_dataverse(&big.column, &json!(12)), json!(12));
}

#[test]
fn numbers_go_to_text_fields_as_digits() {
    let case = Case::new(column("new_seats", AttributeKind::Integer), textfield());
    assert_eq!(case.jira(json!(42), None), Ok(json!("42")));
    assert_eq!(
        case.dataverse(json!(" 42 ")),
        Ok(fragment("new_seats", json!(42)))
    );
    assert!(matches!(
        case.dataverse(json!("forty")),
        Err(ConvertError::InvalidValue {
            expected: "a number",
            ..
        })
    ));
    case.round_trip(json!(42), None);
    let case = Case::new(column("new_amount", AttributeKind::Decimal), textfield());
    assert_eq!(case.jira(json!(12.5), None), Ok(json!("12.5")));
    assert_eq!(case.jira(json!(12.0), None), Ok(json!("12")));
    case.round_trip(json!(12.5), None);
}

// ---------------------------------------------------------------------------------------------
// Dates.

#[test]
fn date_only_columns_go_to_jira_dates_unchanged() {
    let case = Case::new(date_column("DateOnly"), duedate());
    assert_eq!(
        case.jira(json!("2025-01-31"), None),
        Ok(json!("2025-01-31"))
    );
    assert_eq!(
        case.dataverse(json!("2025-01-31")),
        Ok(fragment("followupby", json!("2025-01-31")))
    );
    assert_eq!(
        case.dataverse(Value::Null),
        Ok(fragment("followupby", Value::Null))
    );
    case.round_trip_equal(json!("2025-01-31"), None);
    let case = Case::new(date_column("DateOnly"), summary());
    assert_eq!(
        case.jira(json!("2025-01-31"), None),
        Ok(json!("2025-01-31"))
    );
    case.round_trip(json!("2025-01-31"), None);
}

#[test]
fn date_only_columns_go_to_jira_date_times_at_midnight_in_the_accounts_zone() {
    for (zone, instant) in [
        (SYDNEY, "2025-01-30T13:00:00.000+0000"),
        (LOS_ANGELES, "2025-01-31T08:00:00.000+0000"),
        ("UTC", "2025-01-31T00:00:00.000+0000"),
    ] {
        let case = Case {
            zone,
            ..Case::new(date_column("DateOnly"), datetime())
        };
        assert_eq!(
            case.jira(json!("2025-01-31"), None),
            Ok(json!(instant)),
            "{zone}"
        );
        assert_eq!(
            case.dataverse(json!(instant)),
            Ok(fragment("followupby", json!("2025-01-31"))),
            "{zone}"
        );
        case.round_trip(json!("2025-01-31"), None);
    }
    // 13:45 UTC is already the next day in Sydney, still the same day in Los Angeles.
    let read = json!("2025-01-31T13:45:00.000+0000");
    let sydney = Case {
        zone: SYDNEY,
        ..Case::new(date_column("DateOnly"), datetime())
    };
    assert_eq!(
        sydney.dataverse(read.clone()),
        Ok(fragment("followupby", json!("2025-02-01")))
    );
    let los_angeles = Case {
        zone: LOS_ANGELES,
        ..Case::new(date_column("DateOnly"), datetime())
    };
    assert_eq!(
        los_angeles.dataverse(read),
        Ok(fragment("followupby", json!("2025-01-31")))
    );
    let unknown = Case {
        zone: "Mars/Olympus",
        ..Case::new(date_column("DateOnly"), datetime())
    };
    let error = unknown.jira(json!("2025-01-31"), None).unwrap_err();
    assert!(matches!(error, ConvertError::UnknownTimeZone { .. }));
    assert!(
        error.to_string().contains("\"Mars/Olympus\" is unknown"),
        "{error}"
    );
}

#[test]
fn user_local_columns_go_to_jira_date_times_as_instants() {
    let case = Case {
        zone: SYDNEY,
        ..Case::new(date_column("UserLocal"), datetime())
    };
    assert_eq!(
        case.jira(json!("2025-01-31T13:45:00Z"), None),
        Ok(json!("2025-01-31T13:45:00.000+0000"))
    );
    assert_eq!(
        case.dataverse(json!("2025-02-01T00:45:30.250+1100")),
        Ok(fragment("followupby", json!("2025-01-31T13:45:30Z")))
    );
    case.round_trip_equal(json!("2025-01-31T13:45:00Z"), None);
    case.jira_round_trip(json!("2025-06-30T23:59:59.000+0000"), None);
    let unset = Case::new(date_column("UserLocal"), datetime());
    assert_eq!(unset.dataverse(json!("not a date")).unwrap_err().to_string(), "\"not a date\" is not a date, as Jira field customfield_10004 needs; correct the value or the mapping");
}

#[test]
fn user_local_columns_go_to_jira_dates_on_the_accounts_calendar() {
    let value = json!("2025-01-31T03:00:00Z");
    let los_angeles = Case {
        zone: LOS_ANGELES,
        ..Case::new(date_column("UserLocal"), duedate())
    };
    assert_eq!(
        los_angeles.jira(value.clone(), None),
        Ok(json!("2025-01-30"))
    );
    assert_eq!(
        los_angeles.dataverse(json!("2025-01-30")),
        Ok(fragment("followupby", json!("2025-01-30T08:00:00Z")))
    );
    let sydney = Case {
        zone: SYDNEY,
        ..Case::new(date_column("UserLocal"), duedate())
    };
    assert_eq!(sydney.jira(value, None), Ok(json!("2025-01-31")));
    assert_eq!(
        sydney.dataverse(json!("2025-01-31")),
        Ok(fragment("followupby", json!("2025-01-30T13:00:00Z")))
    );
    // Only the date survives; the date itself round-trips on the Jira side.
    sydney.jira_round_trip(json!("2025-01-31"), None);
    los_angeles.jira_round_trip(json!("2025-07-04"), None);
    let text = Case::new(date_column("UserLocal"), summary());
    assert_eq!(
        text.jira(json!("2025-01-31T03:00:00Z"), None),
        Ok(json!("2025-01-31T03:00:00Z"))
    );
    text.round_trip(json!("2025-01-31T03:00:00Z"), None);
}

#[test]
fn zone_independent_columns_keep_their_wall_clock() {
    let sydney = Case {
        zone: SYDNEY,
        ..Case::new(date_column("TimeZoneIndependent"), datetime())
    };
    // 09:00 on the 31st in Sydney (UTC+11 in summer).
    assert_eq!(
        sydney.jira(json!("2025-01-31T09:00:00Z"), None),
        Ok(json!("2025-01-30T22:00:00.000+0000"))
    );
    assert_eq!(
        sydney.dataverse(json!("2025-01-30T22:00:00.000+0000")),
        Ok(fragment("followupby", json!("2025-01-31T09:00:00Z")))
    );
    sydney.round_trip(json!("2025-01-31T09:00:00Z"), None);
    let los_angeles = Case {
        zone: LOS_ANGELES,
        ..Case::new(date_column("TimeZoneIndependent"), datetime())
    };
    assert_eq!(
        los_angeles.jira(json!("2025-07-01T09:00:00Z"), None),
        Ok(json!("2025-07-01T16:00:00.000+0000"))
    );
    los_angeles.round_trip(json!("2025-07-01T09:00:00Z"), None);
    let date = Case::new(date_column("TimeZoneIndependent"), duedate());
    assert_eq!(
        date.jira(json!("2025-01-31T23:30:00Z"), None),
        Ok(json!("2025-01-31"))
    );
    assert_eq!(
        date.dataverse(json!("2025-01-31")),
        Ok(fragment("followupby", json!("2025-01-31T00:00:00Z")))
    );
    date.jira_round_trip(json!("2025-01-31"), None);
    assert_eq!(
        comparable_dataverse(&date.column, &json!("2025-01-31T23:30:00Z")),
        json!("2025-01-31T23:30:00")
    );
}

// ---------------------------------------------------------------------------------------------
// Yes/no.

#[test]
fn booleans_go_to_select_lists_by_label_or_value_map() {
    let case = Case::new(boolean(), select());
    assert_eq!(case.jira(json!(true), None), Ok(json!({"id": "10104"})));
    assert_eq!(case.jira(json!(false), None), Ok(json!({"id": "10105"})));
    assert_eq!(
        case.dataverse(json!({"id": "10104", "value": "Yes"})),
        Ok(fragment("isescalated", json!(true)))
    );
    assert_eq!(
        case.dataverse(Value::Null),
        Ok(fragment("isescalated", Value::Null))
    );
    let error = case
        .dataverse(json!({"id": "10101", "value": "High"}))
        .unwrap_err();
    assert!(error.to_string().contains("(choices: Yes, No)"), "{error}");
    case.round_trip(json!(true), None);
    case.round_trip(json!(false), None);

    let values = [pair("true", "High"), pair("false", "Low")];
    let mapped = Case {
        values: &values,
        ..Case::new(boolean(), select())
    };
    assert_eq!(mapped.jira(json!(true), None), Ok(json!({"id": "10101"})));
    assert_eq!(
        mapped.dataverse(json!({"id": "10103", "value": "Low"})),
        Ok(fragment("isescalated", json!(false)))
    );
    mapped.round_trip(json!(false), None);

    let custom_labels = column(
        "new_vip",
        AttributeKind::Boolean {
            true_label: Some("VIP".into()),
            false_label: Some("Regular".into()),
        },
    );
    let error = Case::new(custom_labels, select())
        .jira(json!(true), None)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("\"VIP\" matches no option of Jira field customfield_10005"),
        "{error}"
    );
}

#[test]
fn booleans_go_to_checkboxes_labels_and_text() {
    let values = [pair("true", "Escalated")];
    let case = Case {
        values: &values,
        ..Case::new(boolean(), checkboxes())
    };
    assert_eq!(case.jira(json!(true), None), Ok(json!([{"id": "10204"}])));
    assert_eq!(case.jira(json!(false), None), Ok(json!([])));
    assert_eq!(
        case.dataverse(
            json!([{"id": "10201", "value": "Red"}, {"id": "10204", "value": "Escalated"}])
        ),
        Ok(fragment("isescalated", json!(true)))
    );
    assert_eq!(
        case.dataverse(json!([])),
        Ok(fragment("isescalated", json!(false)))
    );
    case.round_trip(json!(true), None);
    case.round_trip(json!(false), None);

    let values = [pair("true", "needs escalation")];
    let case = Case {
        values: &values,
        ..Case::new(boolean(), labels())
    };
    assert_eq!(
        case.jira(json!(true), None),
        Ok(json!(["needs_escalation"]))
    );
    assert_eq!(case.jira(json!(false), None), Ok(json!([])));
    assert_eq!(
        case.dataverse(json!(["other", "Needs_Escalation"])),
        Ok(fragment("isescalated", json!(true)))
    );
    assert_eq!(
        case.dataverse(json!(["other"])),
        Ok(fragment("isescalated", json!(false)))
    );
    case.round_trip(json!(true), None);
    case.round_trip(json!(false), None);

    let case = Case::new(boolean(), textfield());
    assert_eq!(case.jira(json!(false), None), Ok(json!("No")));
    assert_eq!(
        case.dataverse(json!("yes")),
        Ok(fragment("isescalated", json!(true)))
    );
    case.round_trip(json!(true), None);
}

// ---------------------------------------------------------------------------------------------
// Choices.

#[test]
fn choices_go_to_priorities_by_value_map_then_label() {
    let case = Case::new(prioritycode(), priority());
    assert_eq!(case.jira(json!(1), Some("High")), Ok(json!({"id": "2"})));
    let error = case.jira(json!(2), Some("Normal")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "\"Normal\" matches no option of Jira field priority (choices: Highest, High, Medium, Low); add a value-map pair for \"Normal\" to this field mapping"
    );
    assert_eq!(case.jira(Value::Null, None), Ok(Value::Null));
    case.round_trip_equal(json!(1), None);
    case.round_trip_equal(json!(3), None);

    let values = [pair("2", "Medium"), pair("High", "Highest")];
    let mapped = Case {
        values: &values,
        ..Case::new(prioritycode(), priority())
    };
    assert_eq!(mapped.jira(json!(2), None), Ok(json!({"id": "3"})));
    assert_eq!(mapped.jira(json!(1), None), Ok(json!({"id": "1"})));
    assert_eq!(
        mapped.dataverse(json!({"self": "p", "id": "3", "name": "Medium"})),
        Ok(fragment("prioritycode", json!(2)))
    );
    assert_eq!(
        mapped.dataverse(json!({"id": "1", "name": "Highest"})),
        Ok(fragment("prioritycode", json!(1)))
    );
    assert_eq!(
        mapped.dataverse(json!({"id": "4", "name": "Low"})),
        Ok(fragment("prioritycode", json!(3)))
    );
    let error = mapped.dataverse(json!({"id": "2", "name": "High"}));
    assert_eq!(error, Ok(fragment("prioritycode", json!(1))));
    for value in [1, 2, 3] {
        mapped.round_trip(json!(value), None);
    }
    assert_eq!(
        mapped.dataverse(Value::Null),
        Ok(fragment("prioritycode", Value::Null))
    );
}

#[test]
fn choices_go_to_select_lists_text_labels_and_arrays() {
    let case = Case::new(prioritycode(), select());
    assert_eq!(case.jira(json!(2), None), Ok(json!({"id": "10102"})));
    case.round_trip_equal(json!(2), None);
    // An option missing from the metadata takes its label from the formatted value.
    assert_eq!(case.jira(json!(9), Some("Low")), Ok(json!({"id": "10103"})));

    let case = Case::new(prioritycode(), textfield());
    assert_eq!(case.jira(json!(1), None), Ok(json!("High")));
    assert_eq!(
        case.dataverse(json!("low")),
        Ok(fragment("prioritycode", json!(3)))
    );
    assert!(matches!(
        case.dataverse(json!("Unknown")),
        Err(ConvertError::NoMatchingOption { .. })
    ));
    case.round_trip(json!(1), None);

    let case = Case::new(prioritycode(), labels());
    assert_eq!(case.jira(json!(2), None), Ok(json!(["Normal"])));
    assert_eq!(
        case.dataverse(json!(["customer", "low"])),
        Ok(fragment("prioritycode", json!(3)))
    );
    case.round_trip(json!(2), None);

    let case = Case::new(prioritycode(), checkboxes());
    let values = [pair("1", "Red"), pair("2", "Green"), pair("3", "Blue")];
    let case = Case {
        values: &values,
        ..case
    };
    assert_eq!(case.jira(json!(3), None), Ok(json!([{"id": "10203"}])));
    assert_eq!(
        case.dataverse(
            json!([{"id": "10204", "value": "Escalated"}, {"id": "10202", "value": "Green"}])
        ),
        Ok(fragment("prioritycode", json!(2)))
    );
    case.round_trip(json!(3), None);
    let versions = Case::new(
        column(
            "new_release",
            AttributeKind::Picklist {
                options: vec![option(10, "1.2"), option(20, "2.0")],
            },
        ),
        fix_versions(),
    );
    assert_eq!(versions.jira(json!(20), None), Ok(json!([{"id": "10301"}])));
    versions.round_trip(json!(20), None);
}

#[test]
fn status_reasons_are_written_back_but_states_are_not() {
    let status = column(
        "statuscode",
        AttributeKind::Status {
            options: vec![option(1, "In Progress"), option(2, "On Hold")],
        },
    );
    let values = [pair("1", "High"), pair("2", "Low")];
    let case = Case {
        values: &values,
        ..Case::new(status, select())
    };
    assert_eq!(case.jira(json!(2), None), Ok(json!({"id": "10103"})));
    assert_eq!(
        case.dataverse(json!({"id": "10101", "value": "High"})),
        Ok(fragment("statuscode", json!(1)))
    );
    case.round_trip(json!(2), None);

    let state = column(
        "statecode",
        AttributeKind::State {
            options: vec![option(0, "Active"), option(1, "Resolved")],
        },
    );
    let case = Case::new(state, textfield());
    assert_eq!(case.jira(json!(1), None), Ok(json!("Resolved")));
    let error = case.dataverse(json!("Active")).unwrap_err();
    assert!(matches!(error, ConvertError::ReadOnly { .. }));
    assert!(
        error
            .to_string()
            .contains("set this field mapping's owner to Dynamics"),
        "{error}"
    );
}

#[test]
fn multi_select_choices_need_labels_or_a_value_map() {
    let case = Case::new(multi(), checkboxes());
    assert_eq!(
        case.jira(json!("1,3"), Some("Red; Blue")),
        Ok(json!([{"id": "10201"}, {"id": "10203"}]))
    );
    assert_eq!(case.jira(json!(""), None), Ok(json!([])));
    let error = case.jira(json!("1,3"), None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "\"1\" matches no option of Dynamics column new_colors (Crosswalk does not know this field's options); add a value-map pair for \"1\" to this field mapping"
    );
    assert!(matches!(
        case.dataverse(json!([{"id": "10201", "value": "Red"}])),
        Err(ConvertError::NoMatchingOption { .. })
    ));

    let values = [pair("1", "Red"), pair("2", "Green"), pair("3", "Blue")];
    let case = Case {
        values: &values,
        ..Case::new(multi(), checkboxes())
    };
    assert_eq!(
        case.jira(json!("3,1"), None),
        Ok(json!([{"id": "10203"}, {"id": "10201"}]))
    );
    assert_eq!(
        case.dataverse(json!([{"id": "10203", "value": "Blue"}, {"id": "10201", "value": "Red"}])),
        Ok(fragment("new_colors", json!("3,1")))
    );
    assert_eq!(
        case.dataverse(json!([])),
        Ok(fragment("new_colors", Value::Null))
    );
    case.round_trip(json!("1,3"), None);
    assert_eq!(
        comparable_dataverse(&case.column, &json!("3,1")),
        comparable_dataverse(&case.column, &json!("1,3"))
    );

    let case = Case {
        values: &values,
        ..Case::new(multi(), labels())
    };
    assert_eq!(case.jira(json!("1,2"), None), Ok(json!(["Red", "Green"])));
    assert_eq!(
        case.dataverse(json!(["Green", "red"])),
        Ok(fragment("new_colors", json!("2,1")))
    );
    case.round_trip(json!("2"), None);

    let case = Case {
        values: &values,
        ..Case::new(multi(), textfield())
    };
    assert_eq!(case.jira(json!("1,2"), None), Ok(json!("Red, Green")));
    assert_eq!(
        case.dataverse(json!("Blue, Red")),
        Ok(fragment("new_colors", json!("3,1")))
    );
}

/// A multi-select choice with its options read from the metadata (`MultiSelect`).
fn colors() -> Attribute {
    column(
        "new_colors",
        AttributeKind::MultiSelect {
            options: vec![
                option(1, "Red"),
                option(2, "Green"),
                option(3, "Blue"),
                option(4, "Dark Blue"),
                option(5, "Black"),
            ],
        },
    )
}

#[test]
fn multi_select_choices_with_known_options_match_labels_without_a_value_map() {
    // Dynamics → Jira: labels from the options, no formatted value needed.
    let case = Case::new(colors(), checkboxes());
    assert_eq!(
        case.jira(json!("3,1"), None),
        Ok(json!([{"id": "10203"}, {"id": "10201"}]))
    );
    // The metadata's label wins over a formatted value in another language.
    assert_eq!(
        case.jira(json!("1"), Some("Rouge")),
        Ok(json!([{"id": "10201"}]))
    );
    assert_eq!(case.jira(json!(null), None), Ok(json!([])));
    // Jira → Dynamics by option label, ignoring case, by the id's label too.
    assert_eq!(
        case.dataverse(json!([{"id": "10203", "value": "Blue"}, {"id": "10201", "value": "red"}])),
        Ok(fragment("new_colors", json!("3,1")))
    );
    assert_eq!(
        case.dataverse(json!([])),
        Ok(fragment("new_colors", Value::Null))
    );
    case.round_trip(json!("1,2,3"), None);
    case.jira_round_trip(json!([{"id": "10202", "value": "Green"}]), None);

    // Labels: spaces become '_' and come back as the option.
    let case = Case::new(colors(), labels());
    assert_eq!(
        case.jira(json!("4,2"), None),
        Ok(json!(["Dark_Blue", "Green"]))
    );
    assert_eq!(
        case.dataverse(json!(["green", "Dark_Blue", "GREEN"])),
        Ok(fragment("new_colors", json!("2,4")))
    );
    case.round_trip(json!("4,5"), None);
    case.jira_round_trip(json!(["Black", "Red"]), None);

    // Components and text: by name.
    let case = Case::new(colors(), components());
    assert!(matches!(
        case.jira(json!("1"), None),
        Err(ConvertError::NoMatchingOption { .. })
    ));
    let case = Case::new(colors(), textfield());
    assert_eq!(case.jira(json!("1,4"), None), Ok(json!("Red, Dark Blue")));
    assert_eq!(
        case.dataverse(json!("Black, red")),
        Ok(fragment("new_colors", json!("5,1")))
    );
    // Known options need no formatted values.
    assert!(!super::labels_from_formatted(&colors()));
    assert!(super::labels_from_formatted(&multi()));
}

#[test]
fn multi_select_value_maps_still_win_over_labels() {
    // "Red" in Jira stands for Blue (3); "Crimson" names the option by its label.
    let values = [pair("3", "Red"), pair("Red", "Crimson"), pair("9", "Ghost")];
    let case = Case {
        values: &values,
        ..Case::new(colors(), labels())
    };
    assert_eq!(
        case.dataverse(json!(["Red", "Crimson", "Green"])),
        Ok(fragment("new_colors", json!("3,1,2")))
    );
    assert_eq!(case.jira(json!("3,2"), None), Ok(json!(["Red", "Green"])));
    // A pair naming an option value the column does not have is reported, not written.
    let error = case.dataverse(json!(["Ghost"])).unwrap_err();
    assert!(
        error.to_string().contains("\"9\" matches no option"),
        "{error}"
    );
}

#[test]
fn an_unknown_label_for_a_multi_select_lists_its_options() {
    let case = Case::new(colors(), labels());
    let error = case.dataverse(json!(["Red", "Moon"])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "\"Moon\" matches no option of Dynamics column new_colors (choices: Red, Green, Blue, Dark Blue, Black); add a value-map pair for \"Moon\" to this field mapping"
    );
    // An option value missing from the metadata (deleted since) is reported with the options.
    let error = case.jira(json!("1,7"), None).unwrap_err();
    assert_eq!(
        error,
        ConvertError::NoMatchingOption {
            value: "7".into(),
            field: "Dynamics column new_colors".into(),
            choices: ["Red", "Green", "Blue", "Dark Blue", "Black"]
                .map(str::to_owned)
                .to_vec(),
        }
    );
    // Black has no Jira option: Jira's options are listed.
    let error = Case::new(colors(), checkboxes())
        .jira(json!("5"), None)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("(choices: Red, Green, Blue, Escalated)"),
        "{error}"
    );
}

#[test]
fn multi_select_compatibility_says_how_options_match() {
    let lossy = |text: &str| Compatibility::Lossy(text.to_owned());
    assert_eq!(
        compatibility(&colors(), &checkboxes()),
        lossy("Choices → multi-select list: each option by value map, then by label")
    );
    assert_eq!(
        compatibility(&colors(), &labels()),
        lossy("Choices → Labels: each option by value map, then by label; labels are written with spaces as '_'")
    );
    assert_eq!(
        compatibility(&colors(), &textfield()),
        lossy("Choices → Jira text: labels joined with commas; text from Jira must list labels or value-map pairs")
    );
    assert!(matches!(
        compatibility(&multi(), &checkboxes()),
        Compatibility::Lossy(reason) if reason.contains("formatted values")
    ));
    assert!(matches!(
        compatibility(&colors(), &number()),
        Compatibility::Incompatible(_)
    ));
}

// ---------------------------------------------------------------------------------------------
// Lookups.

#[test]
fn user_lookups_go_to_jira_users_by_email() {
    let case = Case::new(owner(), assignee());
    assert_eq!(
        case.jira(json!(ANN_DV), Some("Ann Lee")),
        Ok(json!({"accountId": ANN_JIRA}))
    );
    assert_eq!(
        case.dataverse(json!({"accountId": ANN_JIRA, "displayName": "Ann Lee"})),
        Ok(fragment(
            "ownerid@odata.bind",
            json!(format!("/systemusers({ANN_DV})"))
        ))
    );
    case.round_trip(json!(ANN_DV), None);
    let error = case.jira(json!(BOB_DV), Some("Bob Ray")).unwrap_err();
    assert_eq!(
        error,
        ConvertError::UnknownDataverseUser {
            user: "Bob Ray".into(),
            field: "Jira field assignee".into()
        }
    );
    // The email Jira shows on the user is used when the directory lacks the account.
    assert_eq!(
        case.dataverse(
            json!({"accountId": "x1", "emailAddress": "BOB@contoso.com", "displayName": "Bob"})
        ),
        Ok(fragment(
            "ownerid@odata.bind",
            json!(format!("/systemusers({BOB_DV})"))
        ))
    );
    let error = case
        .dataverse(json!({"accountId": "x2", "displayName": "Dee"}))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("Jira user Dee has no Dynamics user"),
        "{error}"
    );
    assert!(matches!(
        case.dataverse(Value::Null),
        Err(ConvertError::CannotClear { .. })
    ));
    assert_eq!(case.jira(Value::Null, None), Ok(Value::Null));

    let case = Case::new(engineer(), assignee());
    assert_eq!(
        case.dataverse(json!({"accountId": ANN_JIRA})),
        Ok(fragment(
            "new_engineer@odata.bind",
            json!(format!("/systemusers({ANN_DV})"))
        ))
    );
    assert_eq!(
        case.dataverse(Value::Null),
        Ok(fragment("new_engineer@odata.bind", Value::Null))
    );
    case.jira_round_trip(json!({"accountId": ANN_JIRA, "displayName": "Ann"}), None);
    assert_eq!(
        comparable_dataverse(
            &case.column,
            &json!("{C0FFEE00-0000-0000-0000-000000000001}")
        ),
        json!(ANN_DV)
    );
}

#[test]
fn other_lookups_go_to_text_as_a_read_only_name() {
    let case = Case::new(customer(), summary());
    assert_eq!(
        case.jira(
            json!("f1e2d3c4-0000-0000-0000-000000000000"),
            Some("Contoso Ltd")
        ),
        Ok(json!("Contoso Ltd"))
    );
    assert!(matches!(
        case.jira(json!("f1e2d3c4-0000-0000-0000-000000000000"), None),
        Err(ConvertError::MissingName { .. })
    ));
    let error = case.dataverse(json!("Fabrikam")).unwrap_err();
    assert!(matches!(error, ConvertError::ReadOnly { .. }));
    let error = Case::new(customer(), assignee())
        .jira(json!("f1"), None)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("only lookups to users go to Jira users"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Compatibility.

#[test]
fn compatibility_names_every_pair_for_the_admin() {
    use Compatibility::{Exact, Incompatible, Lossy};
    let lossy = |text: &str| Lossy(text.to_owned());
    let cases = [
        (column("amount", AttributeKind::Decimal), number(), Exact),
        (column("title", AttributeKind::String), summary(), Exact),
        (column("title", AttributeKind::String), labels(), lossy("Text → Labels: split at commas; spaces become '_'")),
        (column("d", AttributeKind::Memo), summary(), lossy("Multiline text → Jira text: line breaks become spaces and Jira keeps the first 255 characters")),
        (column("d", AttributeKind::Memo), description(), lossy("Multiline text → Jira rich text: formatting reaches Jira; Jira's formatting comes back as plain text")),
        (column("n", AttributeKind::Integer), number(), Exact),
        (column("n", AttributeKind::Other("BigInt".into())), number(), lossy("Big integer → Jira number: Jira numbers keep about 15 significant digits")),
        (column("n", AttributeKind::Integer), textfield(), lossy("Whole number → Jira text: written as digits; text from Jira must be a number")),
        (date_column("DateOnly"), duedate(), Exact),
        (date_column("UserLocal"), datetime(), Exact),
        (date_column("TimeZoneIndependent"), datetime(), Exact),
        (date_column("DateOnly"), datetime(), lossy("Date only → Jira date-time: written as midnight in the Jira account's time zone; a time of day set in Jira is dropped")),
        (date_column("UserLocal"), duedate(), lossy("Date and time → Jira date: the time of day is dropped; the date is taken in the Jira account's time zone")),
        (boolean(), select(), lossy("Yes/no → select list: by value map or label Yes/No")),
        (prioritycode(), priority(), Exact),
        (prioritycode(), select(), Exact),
        (prioritycode(), checkboxes(), lossy("Choice → multi-select list: one value; from Jira the first value matching an option counts")),
        (owner(), assignee(), lossy("Lookup to systemuser/team → Jira user: users only, matched by email; teams are skipped")),
        (engineer(), assignee(), Exact),
        (customer(), summary(), lossy("Lookup to account/contact → Jira text: read-only name")),
        (customer(), assignee(), Incompatible("Lookup to account/contact → Jira user: only lookups to users go to Jira users".into())),
        (column("title", AttributeKind::String), number(), Incompatible("Text → Jira number: text goes to Jira text, labels or choice fields".into())),
        (column("id", AttributeKind::Other("Uniqueidentifier".into())), summary(), Incompatible("Unique identifier → Jira text: Crosswalk does not convert this column type".into())),
        (column("title", AttributeKind::String), cascading(), Incompatible("Text → Jira cascadingselect field: Crosswalk does not convert this field type".into())),
    ];
    for (column, field, expected) in cases {
        assert_eq!(
            compatibility(&column, &field),
            expected,
            "{} → {}",
            column.logical_name,
            field.id
        );
    }
    // Every Lossy or Exact pair above converts; every Incompatible one refuses with its reason.
    let error = Case::new(column("title", AttributeKind::String), number())
        .jira(json!("12"), None)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Dynamics column title cannot be mapped to Jira field customfield_10003: Text → Jira number: text goes to Jira text, labels or choice fields; map another field"
    );
    assert!(matches!(
        Case::new(column("title", AttributeKind::String), cascading())
            .dataverse(json!({"value": "a"})),
        Err(ConvertError::Incompatible { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Comparable values.

#[test]
fn comparable_values_ignore_what_does_not_matter() {
    // Empty values are all null.
    assert_eq!(comparable_jira(&labels(), &json!([])), Value::Null);
    assert_eq!(
        comparable_jira(
            &description(),
            &json!({"type": "doc", "version": 1, "content": []})
        ),
        Value::Null
    );
    assert_eq!(
        comparable_dataverse(&column("t", AttributeKind::String), &json!("")),
        Value::Null
    );
    // Labels and multi-select options are sets.
    assert_eq!(
        comparable_jira(&labels(), &json!(["b", "a", "b"])),
        json!(["a", "b"])
    );
    assert_eq!(
        comparable_jira(
            &checkboxes(),
            &json!([{"id": "2", "value": "Green"}, {"id": "1", "value": "Red"}])
        ),
        json!(["green", "red"])
    );
    // Options by label, lower case; priorities likewise.
    assert_eq!(
        comparable_jira(
            &select(),
            &json!({"self": "s", "id": "10101", "value": "High"})
        ),
        json!("high")
    );
    assert_eq!(
        comparable_dataverse(&prioritycode(), &json!(1)),
        json!("high")
    );
    // Date-times in UTC to the second, whatever the offset.
    assert_eq!(
        comparable_jira(&datetime(), &json!("2025-02-01T00:45:00.999+1100")),
        json!("2025-01-31T13:45:00Z")
    );
    // ADF: the same content in different shapes compares equal.
    let split = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "attrs": {"localId": "x"}, "content": [
        {"type": "text", "text": "Hello "}, {"type": "text", "text": "world"}]}]});
    assert_eq!(
        comparable_jira(&description(), &split),
        json!("Hello world")
    );
    let bold = json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Hello "}, {"type": "text", "text": "world", "marks": [{"type": "em"}, {"type": "strong"}]}]}]});
    assert_eq!(
        comparable_jira(&description(), &bold),
        comparable_dataverse(
            &column("d", AttributeKind::Memo),
            &json!("<p>Hello <strong><em>world</em></strong></p>")
        )
    );
    assert_ne!(comparable_jira(&description(), &bold), json!("Hello world"));
}

// ---------------------------------------------------------------------------------------------
// Rich-text columns.

fn adf(content: Value) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn marked(text: &str, marks: Value) -> Value {
    json!({"type": "text", "text": text, "marks": marks})
}

fn item(text_node: Value) -> Value {
    json!({"type": "listItem", "content": [{"type": "paragraph", "content": [text_node]}]})
}

/// Paragraphs, a line break, bold, italic, a link and both kinds of list.
fn formatted_description() -> Value {
    adf(json!([
        {"type": "paragraph", "content": [
            text("Printer "),
            marked("jammed", json!([{"type": "strong"}])),
            marked(" again", json!([{"type": "em"}])),
            {"type": "hardBreak"},
            text("see "),
            marked("the runbook", json!([{"type": "link", "attrs": {"href": "https://example.com/runbook?a=1&b=2"}}])),
        ]},
        {"type": "paragraph", "content": [marked("Both", json!([{"type": "strong"}, {"type": "em"}]))]},
        {"type": "bulletList", "content": [item(text("Tray 1")), item(text("Tray 2"))]},
        {"type": "orderedList", "content": [item(text("Open the door")), item(text("Pull"))]},
    ]))
}

#[test]
fn rich_text_columns_take_jira_formatting_as_html_losslessly() {
    let case = Case::new(rich_notes(), description());
    let doc = formatted_description();
    let written = case.dataverse(doc.clone()).unwrap();
    let html = written["cw_richnotes"].as_str().unwrap().to_owned();
    assert_eq!(
        html,
        "<p>Printer <strong>jammed</strong><em> again</em><br>see \
         <a href=\"https://example.com/runbook?a=1&amp;b=2\">the runbook</a></p>\
         <p><strong><em>Both</em></strong></p>\
         <ul><li>Tray 1</li><li>Tray 2</li></ul>\
         <ol><li>Open the door</li><li>Pull</li></ol>"
    );
    // Back to Jira as the same document, and both sides agree, so nothing echoes.
    assert_eq!(case.jira(json!(html), None), Ok(doc.clone()));
    assert_eq!(
        comparable_dataverse(&case.column, &json!(html)),
        comparable_jira(&case.field, &doc)
    );
    case.jira_round_trip(doc.clone(), None);
    case.round_trip_equal(json!(html), None);
    // The same through a Jira multi-line text field.
    Case::new(rich_notes(), textarea()).jira_round_trip(doc, None);
    // Blank documents clear the column.
    assert_eq!(
        case.dataverse(adf(json!([{"type": "paragraph", "content": []}]))),
        Ok(fragment("cw_richnotes", Value::Null))
    );
    assert_eq!(
        case.dataverse(Value::Null),
        Ok(fragment("cw_richnotes", Value::Null))
    );
}

#[test]
fn line_breaks_close_only_the_marks_that_end_with_them() {
    let doc = adf(json!([{"type": "paragraph", "content": [
        marked("one", json!([{"type": "strong"}])),
        {"type": "hardBreak"},
        marked("two", json!([{"type": "strong"}])),
        {"type": "hardBreak"},
        marked("link", link_to("https://example.com")),
        {"type": "hardBreak"},
        text("end"),
    ]}]));
    let html = rich::adf_to_html(&doc);
    assert_eq!(
        html,
        "<p><strong>one<br>two</strong><br><a href=\"https://example.com\">link</a><br>end</p>"
    );
    assert_eq!(rich::html_to_adf(&html), doc);
}

fn link_to(href: &str) -> Value {
    json!([{"type": "link", "attrs": {"href": href}}])
}

#[test]
fn rich_text_compares_by_what_it_shows_not_by_its_markup() {
    let case = Case::new(rich_notes(), description());
    let ours = case.dataverse(formatted_description()).unwrap()["cw_richnotes"].clone();
    // The same content as Dynamics' editor might save it: a wrapper div with attributes,
    // <b>/<i> for <strong>/<em>, list items without paragraphs, link attributes, other
    // whitespace between tags.
    let edited = json!(
        "<div class=\"ck-content\" data-wrapper=\"true\" dir=\"ltr\" style=\"font-family: Segoe UI;\">\n\
         <p>Printer <b>jammed</b><i> again</i><br/>see \
         <a href=\"https://example.com/runbook?a=1&amp;b=2\" target=\"_blank\" rel=\"noopener noreferrer\">the runbook</a></p>\n\
         <p><em><strong>Both</strong></em></p>\n\
         <ul>\n  <li>Tray 1</li>\n  <li>Tray 2</li>\n</ul>\n\
         <ol><li>Open the door</li><li>Pull</li></ol></div>"
    );
    assert_eq!(
        comparable_dataverse(&case.column, &edited),
        comparable_dataverse(&case.column, &ours)
    );
    assert_eq!(
        comparable_dataverse(&case.column, &edited),
        comparable_jira(&case.field, &formatted_description())
    );
    // A real edit is a change.
    let bolder = json!("<p><strong>Printer jammed again</strong></p>");
    assert_ne!(
        comparable_dataverse(&case.column, &bolder),
        comparable_dataverse(&case.column, &ours)
    );
    // A rich-text column's value is read as HTML even without tags, as Dynamics shows it.
    assert_eq!(
        comparable_dataverse(&case.column, &json!("Tom &amp; Jerry")),
        json!("Tom & Jerry")
    );
    assert_eq!(
        Case::new(rich_notes(), summary())
            .jira(json!("<p>Tom &amp; <b>Jerry</b></p><p>again</p>"), None),
        Ok(json!("Tom & Jerry again"))
    );
}

#[test]
fn rich_text_columns_get_other_jira_text_as_escaped_html() {
    let case = Case::new(rich_notes(), summary());
    assert_eq!(
        case.dataverse(json!("a < b & <b>c</b>")),
        Ok(fragment(
            "cw_richnotes",
            json!("<p>a &lt; b &amp; &lt;b&gt;c&lt;/b&gt;</p>")
        ))
    );
    case.jira_round_trip(json!("a < b & <b>c</b>"), None);
    // Jira text in v2 shape (a string) into a rich column keeps its line breaks.
    let rich = Case::new(rich_notes(), description());
    assert_eq!(
        rich.dataverse(json!("one\ntwo\n\nthree")),
        Ok(fragment(
            "cw_richnotes",
            json!("<p>one<br>two</p><p>three</p>")
        ))
    );
    // Labels are joined, as for any text column.
    let labels = Case::new(rich_notes(), labels());
    assert_eq!(
        labels.dataverse(json!(["red", "blue"])),
        Ok(fragment("cw_richnotes", json!("<p>red, blue</p>")))
    );
}

#[test]
fn plain_multiline_columns_still_get_plain_text_with_line_breaks() {
    let case = Case::new(column("description", AttributeKind::Memo), description());
    let written = case.dataverse(formatted_description()).unwrap();
    let text = written["description"].as_str().unwrap();
    assert!(!text.contains('<'), "{text}");
    assert_eq!(
        text,
        "Printer jammed again\nsee the runbook\n\nBoth\n\n- Tray 1\n- Tray 2\n\n1. Open the door\n2. Pull"
    );
    // The plain text reaches Jira with its paragraphs and line breaks (not its formatting),
    // and that plain document is stable both ways.
    case.jira_round_trip(case.jira(json!(text), None).unwrap(), None);
}

#[test]
fn rich_text_compatibility_reads_for_the_admin() {
    assert_eq!(
        compatibility(&rich_notes(), &description()),
        Compatibility::Lossy(
            "Rich text → Jira rich text: formatting goes both ways (paragraphs, line breaks, bold, \
             italic, links, lists, headings); tables, images, colours and mentions arrive as \
             plain text"
                .into()
        )
    );
    assert_eq!(
        compatibility(&rich_notes(), &summary()),
        Compatibility::Lossy(
            "Rich text → Jira text: formatting is dropped, line breaks become spaces and Jira \
             keeps the first 255 characters"
                .into()
        )
    );
    let rich_line = Attribute {
        format: Some("RichText".into()),
        ..column("cw_line", AttributeKind::String)
    };
    assert!(matches!(
        compatibility(&rich_line, &summary()),
        Compatibility::Lossy(reason) if reason.starts_with("Rich text → Jira text")
    ));
    assert_eq!(
        compatibility(&column("t", AttributeKind::String), &summary()),
        Compatibility::Exact
    );
}
