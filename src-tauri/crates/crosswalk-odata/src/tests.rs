use crate::Filter;
use serde_json::{json, Value};

fn user() -> Value {
    json!({
        "id": "5e0f3d1c-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
        "displayName": "Adele Vance",
        "department": "Sales",
        "jobTitle": "Intern, Retail",
        "accountEnabled": true,
        "userType": "Member",
        "mail": null,
        "employeeId": "1042",
        "createdDateTime": "2024-03-01T09:30:00Z",
        "hireDate": "2023-11-15",
        "proxyAddresses": ["SMTP:adele@contoso.com", "smtp:av@contoso.com"],
        "groupTypes": [],
        "assignedLicenses": [
            {"skuId": "184EFA21-98C3-4E5D-95AB-D07053A96E67", "disabledPlans": []}
        ],
        "onPremisesExtensionAttributes": {"extensionAttribute1": "Tier 1"},
        "storage": 128,
        "ratio": 0.5
    })
}

/// Each filter must parse and evaluate to `expected` on `user()`.
fn check(cases: &[(&str, bool)]) {
    let object = user();
    for (text, expected) in cases {
        let filter = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(filter.matches(&object), *expected, "{text}");
    }
}

/// Each filter must fail to parse with exactly this message.
fn check_error(cases: &[(&str, &str)]) {
    for (text, expected) in cases {
        match Filter::parse(text) {
            Ok(filter) => panic!("{text} parsed: {filter:?}"),
            Err(error) => assert_eq!(error.to_string(), *expected, "{text}"),
        }
    }
}

#[test]
fn comparisons_ignore_case_like_graph() {
    check(&[
        ("department eq 'Sales'", true),
        ("department eq 'sales'", true),
        ("department eq 'Sale'", false),
        ("department ne 'Sales'", false),
        ("Department EQ 'SALES'", true),
        ("displayName ge 'adele'", true),
        ("displayName lt 'B'", true),
        ("displayName gt 'b'", false),
        ("department in ('Finance', 'sales')", true),
        ("department in ('Finance')", false),
        ("storage gt 100", true),
        ("storage le 128", true),
        ("storage lt 128", false),
        ("ratio eq 0.5", true),
        ("ratio ge -1", true),
        ("accountEnabled eq true", true),
        ("accountEnabled eq false", false),
        ("accountEnabled ne false", true),
        ("employeeId eq 1042", false),
        ("employeeId eq '1042'", true),
    ]);
}

#[test]
fn text_functions_are_case_insensitive() {
    check(&[
        ("startswith(jobTitle,'intern')", true),
        ("startsWith(jobTitle, 'Retail')", false),
        ("endswith(jobTitle,'RETAIL')", true),
        ("contains(jobTitle, ', r')", true),
        ("contains(mail, 'x')", false),
        ("not startswith(jobTitle,'Intern')", false),
        ("not startswith(mail,'Intern')", true),
        ("startswith(storage, '1')", false),
    ]);
}

#[test]
fn nulls_follow_odata() {
    check(&[
        ("mail eq null", true),
        ("mail ne null", false),
        ("missing eq null", true),
        ("displayName ne null", true),
        ("mail ne 'a@b.c'", true),
        ("mail eq 'a@b.c'", false),
        ("mail gt 'a'", false),
        ("mail le 'z'", false),
        ("NOT(mail eq null)", false),
    ]);
}

#[test]
fn boolean_logic_and_precedence() {
    check(&[
        (
            "department eq 'Sales' and not startswith(jobTitle,'Intern')",
            false,
        ),
        (
            "department eq 'Sales' and not startswith(jobTitle,'Boss')",
            true,
        ),
        (
            "department eq 'HR' or department eq 'Sales' and accountEnabled eq true",
            true,
        ),
        (
            "(department eq 'HR' or department eq 'Sales') and accountEnabled eq false",
            false,
        ),
        (
            "department eq 'HR' or (department eq 'Sales' and accountEnabled eq false)",
            false,
        ),
        ("not department eq 'Sales'", false),
        ("not not department eq 'Sales'", true),
        ("not (department eq 'HR' or userType eq 'Guest')", true),
        ("((((accountEnabled eq true))))", true),
    ]);
}

#[test]
fn dates_compare_as_instants_and_guids_as_text() {
    check(&[
        ("createdDateTime ge 2024-03-01T09:30:00Z", true),
        ("createdDateTime gt 2024-03-01T09:30:00Z", false),
        ("createdDateTime eq 2024-03-01T10:30:00+01:00", true),
        ("createdDateTime lt 2024-03-01T10:00+01:00", false),
        ("createdDateTime ge 2024-03-01T09:29:59.9999999Z", true),
        ("createdDateTime gt 2024-02-29", true),
        ("hireDate lt 2024-01-01", true),
        ("hireDate eq 2023-11-15T00:00:00Z", false),
        ("displayName gt 2024-01-01T00:00:00Z", false),
        ("id eq 5E0F3D1C-1B2A-4C3D-9E8F-0A1B2C3D4E5F", true),
        ("id eq '5e0f3d1c-1b2a-4c3d-9e8f-0a1b2c3d4e5f'", true),
        ("id ne 00000000-0000-0000-0000-000000000000", true),
    ]);
}

#[test]
fn paths_lambdas_and_count() {
    check(&[
        ("onPremisesExtensionAttributes/extensionAttribute1 eq 'tier 1'", true),
        ("onPremisesExtensionAttributes/extensionAttribute2 eq null", true),
        ("department/sub eq null", true),
        ("proxyAddresses/any(p:startswith(p,'smtp:'))", true),
        ("proxyAddresses/any(p: p eq 'smtp:AV@contoso.com')", true),
        ("proxyAddresses/any(p: p eq 'x')", false),
        ("proxyAddresses/all(p: startswith(p, 'smtp:'))", true),
        ("proxyAddresses/all(p: endswith(p, 'adele@contoso.com'))", false),
        ("proxyAddresses/any()", true),
        ("groupTypes/any()", false),
        ("groupTypes/all(g: g eq 'Unified')", true),
        ("not groupTypes/any(c:c eq 'Unified')", true),
        (
            "assignedLicenses/any(l: l/skuId eq 184efa21-98c3-4e5d-95ab-d07053a96e67)",
            true,
        ),
        (
            "assignedLicenses/any(l: l/skuId eq 184efa21-98c3-4e5d-95ab-d07053a96e67 and department eq 'Sales')",
            true,
        ),
        ("assignedLicenses/any(l: l/disabledPlans/any())", false),
        ("missingList/any(x: x eq 'a')", false),
        ("proxyAddresses/$count eq 2", true),
        ("groupTypes/$count gt 0", false),
        ("missingList/$count eq 0", true),
        ("department eq displayName", false),
        ("'Sales' eq department", true),
    ]);
}

#[test]
fn quotes_are_doubled_inside_text() {
    let object = json!({"displayName": "O'Brien"});
    for (text, expected) in [
        ("displayName eq 'O''Brien'", true),
        ("startswith(displayName, 'o''')", true),
        ("displayName eq ''", false),
    ] {
        assert_eq!(
            Filter::parse(text).unwrap().matches(&object),
            expected,
            "{text}"
        );
    }
}

#[test]
fn properties_are_the_top_level_names_read() {
    for (text, expected) in [
        ("department eq 'Sales'", vec!["department"]),
        (
            "department eq 'Sales' and not startswith(jobTitle,'Intern') or Department ne null",
            vec!["department", "jobTitle"],
        ),
        ("proxyAddresses/any(p:startswith(p,'smtp:'))", vec!["proxyAddresses"]),
        (
            "assignedLicenses/any(l: l/skuId eq 184efa21-98c3-4e5d-95ab-d07053a96e67 and city eq 'Oslo')",
            vec!["assignedLicenses", "city"],
        ),
        (
            "onPremisesExtensionAttributes/extensionAttribute1 eq 'x'",
            vec!["onPremisesExtensionAttributes"],
        ),
        ("memberOf/$count gt 0", vec!["memberOf"]),
        ("operatingSystem in ('Windows','macOS')", vec!["operatingSystem"]),
        ("'x' eq displayName", vec!["displayName"]),
    ] {
        assert_eq!(Filter::parse(text).unwrap().properties(), expected, "{text}");
    }
}

#[test]
fn errors_say_where_and_what_was_expected() {
    check_error(&[
        (
            "department eq 'Sales' and (jobTitle eq 'x'",
            "expected ')' at character 43, found the end of the filter",
        ),
        (
            "department 'Sales'",
            "expected an operator (eq, ne, gt, ge, lt, le or in) after 'department' at character 12, found 'Sales'",
        ),
        (
            "department eq",
            "expected a property or a value at character 14, found the end of the filter",
        ),
        (
            "department eq 'Sales",
            "text not closed: a ' is missing after the text that starts at character 15",
        ),
        (
            "tolower(department) eq 'sales'",
            "unknown function 'tolower' (Crosswalk evaluates startswith, endswith and contains) at character 1, found 'tolower'",
        ),
        (
            "department eq 'Sales' department eq 'HR'",
            "expected 'and', 'or' or the end of the filter at character 23, found 'department'",
        ),
        (
            "",
            "expected a condition such as department eq 'Sales' at character 1, found the end of the filter",
        ),
        (
            "and department eq 'x'",
            "expected a condition such as department eq 'Sales' at character 1, found 'and'",
        ),
        (
            "department in 'Sales'",
            "expected '(' after in at character 15, found 'Sales'",
        ),
        (
            "department in ('Sales' 'HR')",
            "expected ')' or ',' at character 24, found 'HR'",
        ),
        (
            "proxyAddresses/any(p startswith(p,'x'))",
            "expected ':' after the variable name at character 22, found 'startswith'",
        ),
        (
            "proxyAddresses/any(eq)",
            "expected a variable name and ':' (e.g. x: x eq 'value') at character 20, found 'eq'",
        ),
        (
            "startswith(jobTitle 'x')",
            "expected ',' at character 21, found 'x'",
        ),
        (
            "storage gt 12abc",
            "'12abc' is not a number, date-time (2024-05-01T00:00:00Z), date or GUID at character 12",
        ),
        (
            "createdDateTime gt 2024-13-01T00:00:00Z",
            "'2024-13-01T00:00:00Z' is not a number, date-time (2024-05-01T00:00:00Z), date or GUID at character 20",
        ),
        ("department eq 'a' & x", "unexpected character '&' at character 19"),
        (
            "department/ eq 'x'",
            "expected a property name after '/' at character 13, found 'eq'",
        ),
        (
            "department eq proxyAddresses/any()",
            "expected a value here, not an any/all condition at character 15",
        ),
        (
            "accountEnabled",
            "expected an operator (eq, ne, gt, ge, lt, le or in) after 'accountEnabled' at character 15, found the end of the filter",
        ),
        (
            "naïve-name eq 1",
            "'naïve-name' is not a property name, operator or value at character 1",
        ),
    ]);
}

#[test]
fn positions_count_characters_not_bytes() {
    let error = Filter::parse("displayName eq 'Zoë' and (").unwrap_err();
    assert_eq!(error.position, 27);
    assert_eq!(error.found.as_deref(), Some("the end of the filter"));
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let text = format!(
        "{}accountEnabled eq true{}",
        "(".repeat(500),
        ")".repeat(500)
    );
    let error = Filter::parse(&text).unwrap_err();
    assert!(error.message.contains("nests deeper"), "{error}");
    let text = format!("{}accountEnabled eq true", "not ".repeat(500));
    assert!(Filter::parse(&text).is_err());
}

#[test]
fn a_non_object_matches_only_null_tests() {
    let filter = Filter::parse("department eq null").unwrap();
    assert!(filter.matches(&json!("text")));
    assert!(!Filter::parse("department eq 'x'")
        .unwrap()
        .matches(&Value::Null));
}
