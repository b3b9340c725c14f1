//! The product guide's field type table against the sandbox over real HTTP: each type
//! Dynamics → Jira (one-way and two-way) and Jira → Dynamics (two-way), read back from both
//! sides' own state.
//!
//! Case columns used: title, ticketnumber (text), description (multiline, HTML or plain),
//! cw_affectedusers (whole number), cw_impactcost (currency),
//! followupby (date and time, UserLocal), cw_targetdate (date only), isescalated (yes/no),
//! prioritycode and caseorigincode (choices), ownerid (owner). SUP / Service Request fields:
//! summary, customfield_10010 (text), description and customfield_10018 (rich text),
//! customfield_10022 (number), duedate and customfield_10012 (date), customfield_10013
//! (date-time), labels, priority, components, customfield_10014 (select), customfield_10015
//! (multi-select), customfield_10021 (checkboxes), assignee. The Jira account's zone is
//! Australia/Brisbane (UTC+10, no DST).

mod common;

use common::{assert_compared, conflicts, count, mapped_settings, Harness, ADMIN_VIEWER};
use crosswalk_store::{EventAction, EventRow};
use serde_json::{json, Value};

/// The typed columns of the field type table and the Jira fields they map to (value maps for
/// the priority and the select), with `description` third when asked.
fn typed_mappings(description: bool) -> Value {
    let mut mappings = vec![json!({"dataverse": "ticketnumber", "jira": "customfield_10010"})];
    if description {
        mappings.push(json!({"dataverse": "description", "jira": "description"}));
    }
    mappings.extend([
        json!({"dataverse": "cw_affectedusers", "jira": "customfield_10022"}),
        json!({"dataverse": "cw_targetdate", "jira": "duedate"}),
        json!({"dataverse": "followupby", "jira": "customfield_10013"}),
        json!({"dataverse": "isescalated", "jira": "customfield_10021"}),
        json!({"dataverse": "prioritycode", "jira": "priority",
               "values": [{"dataverse": "2", "jira": "Medium"}]}),
        json!({"dataverse": "caseorigincode", "jira": "customfield_10014",
               "values": [{"dataverse": "1", "jira": "Sev 1"}, {"dataverse": "2", "jira": "Sev 2"},
                          {"dataverse": "3", "jira": "Sev 3"}]}),
    ]);
    Value::Array(mappings)
}

/// A case's values for [`typed_mappings`]: its ticket number, affected users and description.
fn typed_case(ticket: &str, affected_users: i64, description: Option<&str>) -> Value {
    let mut case = json!({
        "ticketnumber": ticket,
        "cw_affectedusers": affected_users,
        "cw_targetdate": "2025-03-14",
        "followupby": "2025-03-14T22:30:00Z",
        "isescalated": true,
        "prioritycode": 2,
        "caseorigincode": 2
    });
    if let Some(description) = description {
        case["description"] = json!(description);
    }
    case
}

fn instant(text: &str) -> time::OffsetDateTime {
    crosswalk_dynamics::sync::parse_stamp(text).unwrap_or_else(|| panic!("not an instant: {text}"))
}

fn failed(events: &[EventRow]) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| e.action == EventAction::Failed)
        .collect()
}

/// Every node of an ADF document (depth first).
fn adf_nodes(doc: &Value) -> Vec<&Value> {
    let mut out = vec![doc];
    let mut i = 0;
    while i < out.len() {
        if let Some(content) = out[i].get("content").and_then(Value::as_array) {
            out.extend(content.iter());
        }
        i += 1;
    }
    out
}

fn has_mark(doc: &Value, text: &str, mark: &str) -> bool {
    adf_nodes(doc).iter().any(|node| {
        node["type"] == "text"
            && node["text"].as_str().is_some_and(|t| t.contains(text))
            && node["marks"]
                .as_array()
                .is_some_and(|marks| marks.iter().any(|m| m["type"] == mark))
    })
}

fn has_node(doc: &Value, kind: &str) -> bool {
    adf_nodes(doc).iter().any(|node| node["type"] == kind)
}

fn paragraph(text: &str) -> Value {
    json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
}

#[tokio::test]
async fn one_way_field_types_reach_jira_when_created_and_when_edited() {
    let (h, case, key) = Harness::with_case(
        mapped_settings("one_way", typed_mappings(true)),
        "Typed fields",
        typed_case("CAS-T-0001", 42, Some("Line one\nLine two")),
    )
    .await;
    assert_eq!(h.issue_shown(&key, "summary"), json!("Typed fields"));
    assert_eq!(
        h.issue_shown(&key, "customfield_10010"),
        json!("CAS-T-0001")
    );
    assert_eq!(
        h.issue_shown(&key, "description"),
        json!("Line one\nLine two")
    );
    assert_eq!(h.issue_shown(&key, "customfield_10022"), json!(42));
    assert_eq!(h.issue_shown(&key, "duedate"), json!("2025-03-14"));
    let at = h.issue_shown(&key, "customfield_10013");
    assert_eq!(
        instant(at.as_str().unwrap()),
        instant("2025-03-14T22:30:00Z"),
        "{at}"
    );
    assert_eq!(h.issue_shown(&key, "customfield_10021"), json!(["Yes"]));
    assert_eq!(
        h.issue_shown(&key, "priority"),
        json!("Medium"),
        "value map"
    );
    assert_eq!(h.issue_shown(&key, "customfield_10014"), json!("Sev 2"));

    // Every type again, as edits of the linked case; cleared values clear the field.
    h.update_case(
        &case,
        json!({
            "title": "Typed fields, edited",
            "description": "Only line",
            "cw_affectedusers": 7,
            "cw_targetdate": null,
            "followupby": "2025-06-30T01:05:00Z",
            "isescalated": false,
            "prioritycode": 1,
            "caseorigincode": 3
        }),
    );
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        h.issue_shown(&key, "summary"),
        json!("Typed fields, edited")
    );
    assert_eq!(h.issue_shown(&key, "description"), json!("Only line"));
    assert_eq!(h.issue_shown(&key, "customfield_10022"), json!(7));
    assert!(h.issue_shown(&key, "duedate").is_null());
    let at = h.issue_shown(&key, "customfield_10013");
    assert_eq!(
        instant(at.as_str().unwrap()),
        instant("2025-06-30T01:05:00Z")
    );
    // Unchecked: Jira reads a cleared custom array field as null.
    let approved = h.issue_shown(&key, "customfield_10021");
    assert!(approved.is_null() || approved == json!([]), "{approved}");
    assert_eq!(h.issue_shown(&key, "priority"), json!("High"), "by label");
    assert_eq!(h.issue_shown(&key, "customfield_10014"), json!("Sev 3"));
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn numbers_labels_components_and_multi_selects_reach_jira() {
    let h = Harness::start(mapped_settings(
        "one_way",
        json!([
            {"dataverse": "cw_impactcost", "jira": "customfield_10022"},
            {"dataverse": "caseorigincode", "jira": "labels"},
            {"dataverse": "prioritycode", "jira": "components",
             "values": [{"dataverse": "1", "jira": "Network"}, {"dataverse": "2", "jira": "Email"}]},
            {"dataverse": "isescalated", "jira": "customfield_10017"},
            {"dataverse": "customerid", "jira": "customfield_10010"},
            {"dataverse": "ticketnumber", "jira": "customfield_10015",
             "values": [{"dataverse": "EU-7", "jira": "EMEA"}]}
        ]),
    ))
    .await;
    let account = h
        .sandbox
        .handle
        .dataverse(|d| d.rows_of("account").next().unwrap().id.clone());
    let account_name = h
        .sandbox
        .handle
        .dataverse(|d| d.row("account", &account).unwrap().values["name"].clone());
    let (case, key) = h
        .case_with_issue(
            "Money and lists",
            json!({
                "cw_impactcost": 1234.56,
                "caseorigincode": 2,
                "prioritycode": 2,
                "isescalated": true,
                "ticketnumber": "EU-7",
                "customerid_account@odata.bind": format!("/accounts({account})")
            }),
        )
        .await;
    assert_eq!(h.issue_shown(&key, "customfield_10022"), json!(1234.56));
    assert_eq!(h.issue_shown(&key, "labels"), json!(["Email"]));
    assert_eq!(h.issue_shown(&key, "components"), json!(["Email"]));
    assert_eq!(h.issue_shown(&key, "customfield_10017"), json!(["Yes"]));
    // A lookup goes to a text field as the record's name (read-only: never written back).
    assert_eq!(h.issue_shown(&key, "customfield_10010"), account_name);
    assert_eq!(h.issue_shown(&key, "customfield_10015"), json!(["EMEA"]));

    h.update_case(
        &case,
        json!({"cw_impactcost": 0.5, "caseorigincode": 2483, "prioritycode": 1, "isescalated": false}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(h.issue_shown(&key, "customfield_10022"), json!(0.5));
    // Labels cannot hold spaces; "Facebook" has none, so it is kept as is.
    assert_eq!(h.issue_shown(&key, "labels"), json!(["Facebook"]));
    assert_eq!(h.issue_shown(&key, "components"), json!(["Network"]));
    // "No" without a value-map pair for it leaves the labels empty.
    assert_eq!(h.issue_shown(&key, "customfield_10017"), json!([]));
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn two_way_field_types_come_back_to_dynamics() {
    let (h, case, key) = Harness::with_case(
        mapped_settings("two_way", typed_mappings(false)),
        "Round trip",
        typed_case("CAS-R-1", 3, None),
    )
    .await;
    h.assert_quiet(1).await;
    h.tick().await;

    let sev1 = h.sandbox.handle.jira(|j| {
        j.field("customfield_10014")
            .unwrap()
            .options
            .iter()
            .find(|(_, v)| v == "Sev 1")
            .unwrap()
            .0
            .clone()
    });
    h.edit_issue(
        &key,
        json!({
            "summary": "Round trip, edited in Jira",
            "customfield_10010": "CAS-R-1b",
            "customfield_10022": 99,
            "duedate": "2025-04-01",
            "customfield_10013": "2025-04-01T09:15:00.000+0000",
            "customfield_10021": [],
            "priority": {"name": "Low"},
            "customfield_10014": {"id": sev1}
        }),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "record", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        h.case_value(&case, "title"),
        json!("Round trip, edited in Jira")
    );
    assert_eq!(h.case_value(&case, "ticketnumber"), json!("CAS-R-1b"));
    assert_eq!(h.case_value(&case, "cw_affectedusers"), json!(99));
    assert_eq!(h.case_value(&case, "cw_targetdate"), json!("2025-04-01"));
    assert_eq!(
        instant(h.case_value(&case, "followupby").as_str().unwrap()),
        instant("2025-04-01T09:15:00Z")
    );
    assert_eq!(h.case_value(&case, "isescalated"), json!(false));
    assert_eq!(h.case_value(&case, "prioritycode"), json!(3), "by label");
    assert_eq!(h.case_value(&case, "caseorigincode"), json!(1), "value map");
    h.assert_quiet(3).await;

    // Medium comes back through the value map; clearing a field clears the column.
    h.tick().await;
    h.edit_issue(
        &key,
        json!({"priority": {"name": "Medium"}, "duedate": null, "customfield_10022": null}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(h.case_value(&case, "prioritycode"), json!(2));
    assert!(h.case_value(&case, "cw_targetdate").is_null());
    assert!(h.case_value(&case, "cw_affectedusers").is_null());
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn dates_and_date_times_convert_in_the_jira_account_time_zone() {
    // 20:30 UTC on the 14th is 06:30 on the 15th in Brisbane; the date-only 14th starts at
    // 14:00 UTC on the 13th there.
    let (h, case, key) = Harness::with_case(
        mapped_settings(
            "two_way",
            json!([
                {"dataverse": "followupby", "jira": "customfield_10012"},
                {"dataverse": "cw_targetdate", "jira": "customfield_10013"}
            ]),
        ),
        "Time zones",
        json!({"followupby": "2025-03-14T20:30:00Z", "cw_targetdate": "2025-03-14"}),
    )
    .await;
    assert_eq!(
        h.issue_shown(&key, "customfield_10012"),
        json!("2025-03-15")
    );
    let at = h.issue_shown(&key, "customfield_10013");
    assert_eq!(
        instant(at.as_str().unwrap()),
        instant("2025-03-13T14:00:00Z"),
        "{at}"
    );
    h.assert_quiet(2).await;

    h.edit_issue(
        &key,
        json!({"customfield_10012": "2025-05-01", "customfield_10013": "2025-05-01T23:30:00.000+0000"}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        instant(h.case_value(&case, "followupby").as_str().unwrap()),
        instant("2025-04-30T14:00:00Z"),
        "midnight in Brisbane"
    );
    assert_eq!(
        h.case_value(&case, "cw_targetdate"),
        json!("2025-05-02"),
        "the Brisbane date of 23:30 UTC"
    );
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn rich_text_becomes_adf_in_jira_and_comes_back_as_text() {
    let h = Harness::start(mapped_settings(
        "two_way",
        json!([
            {"dataverse": "description", "jira": "description"}
        ]),
    ))
    .await;
    let html = concat!(
        "<div><p>First <b>bold</b> and <i>italic</i> and ",
        "<a href=\"https://example.com/kb/42\">the article</a>.</p>",
        "<p>Line one<br>Line two</p>",
        "<ul><li>Alpha</li><li>Beta</li></ul>",
        "<ol><li>One</li><li>Two</li></ol></div>"
    );
    let (case, key) = h
        .case_with_issue("Rich text", json!({"description": html}))
        .await;
    let doc = h.issue_field(&key, "description");
    assert_eq!(doc["type"], "doc", "{doc:#}");
    assert!(has_mark(&doc, "bold", "strong"), "{doc:#}");
    assert!(has_mark(&doc, "italic", "em"), "{doc:#}");
    assert!(
        adf_nodes(&doc).iter().any(|n| n["text"] == "the article"
            && n["marks"][0]["attrs"]["href"] == "https://example.com/kb/42"),
        "{doc:#}"
    );
    assert!(has_node(&doc, "hardBreak"), "{doc:#}");
    assert!(has_node(&doc, "bulletList"), "{doc:#}");
    assert!(has_node(&doc, "orderedList"), "{doc:#}");
    let text = h.issue_shown(&key, "description");
    for needle in [
        "First bold and italic",
        "Line one",
        "Line two",
        "Alpha",
        "Two",
    ] {
        assert!(text.as_str().unwrap().contains(needle), "{text}");
    }
    h.assert_quiet(2).await;

    // A Jira agent writes formatted text: the multiline column receives it as plain text.
    h.edit_issue(
        &key,
        json!({"description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Fixed "},
                {"type": "text", "text": "today", "marks": [{"type": "strong"}]},
                {"type": "hardBreak"},
                {"type": "text", "text": "see KB", "marks": [{"type": "link", "attrs": {"href": "https://example.com/kb/7"}}]}
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [paragraph("Step A")]},
                {"type": "listItem", "content": [paragraph("Step B")]}
            ]}
        ]}}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    let text = h.case_value(&case, "description");
    let text = text.as_str().unwrap();
    assert!(!text.contains('<'), "plain text, no tags: {text}");
    for needle in ["Fixed today", "see KB", "Step A", "Step B"] {
        assert!(text.contains(needle), "{text}");
    }
    assert!(
        text.find("Fixed").unwrap() < text.find("see KB").unwrap()
            && text[text.find("today").unwrap()..text.find("see KB").unwrap()].contains('\n'),
        "the line break is kept: {text:?}"
    );
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn an_option_without_a_match_is_reported_with_a_fix_and_the_rest_still_syncs() {
    let h = Harness::start(mapped_settings(
        "one_way",
        json!([
            {"dataverse": "caseorigincode", "jira": "customfield_10014"},
            {"dataverse": "ticketnumber", "jira": "customfield_10010"}
        ]),
    ))
    .await;
    h.poll().await;
    h.tick().await;
    let case = h.create_case(
        "Unmapped option",
        json!({"caseorigincode": 1, "ticketnumber": "CAS-U-1"}),
    );
    let (_, _, events) = h.run_events().await;
    let key = h.link_of(&case).jira_key;
    assert_eq!(h.issue_shown(&key, "customfield_10010"), json!("CAS-U-1"));
    assert!(h.issue_shown(&key, "customfield_10014").is_null());
    let problems: Vec<&EventRow> = events
        .iter()
        .filter(|e| e.message.contains("Phone"))
        .collect();
    assert!(!problems.is_empty(), "{events:#?}");
    let all = format!("{problems:?}");
    assert!(all.contains("value map"), "{all}");
}

// ---------------------------------------------------------------------------------------------
// Users: owner ↔ assignee, matched by email.

#[tokio::test]
async fn users_are_matched_by_email_both_ways() {
    let h = Harness::start(mapped_settings(
        "two_way",
        json!([
            {"dataverse": "ownerid", "jira": "assignee"}
        ]),
    ))
    .await;
    // Dynamics users with the emails of Jira users (one of them hides it in Jira).
    let viewer = h.add_dynamics_user("Viewer Agent", "Viewer@Contoso.com");
    let (hidden_account, hidden_email) = h
        .jira_users()
        .into_iter()
        .find(|(_, _, visible)| !visible)
        .map(|(id, email, _)| (id, email))
        .expect("a Jira user hiding their email");
    let hidden = h.add_dynamics_user("Private Person", &hidden_email);
    let (visible_account, visible_email) = h
        .jira_users()
        .into_iter()
        .find(|(id, email, visible)| {
            *visible && id != ADMIN_VIEWER && !email.starts_with("admin@") && email != &hidden_email
        })
        .map(|(id, email, _)| (id, email))
        .unwrap();
    let other = h.add_dynamics_user("Visible Person", &visible_email);

    let (case, key) = h
        .case_with_issue(
            "Owned case",
            json!({"ownerid@odata.bind": format!("/systemusers({viewer})")}),
        )
        .await;
    assert_eq!(h.issue_shown(&key, "assignee"), json!(ADMIN_VIEWER));
    h.assert_quiet(2).await;

    // Dynamics → Jira for a user whose email Jira hides: found by the exact address.
    h.update_case(
        &case,
        json!({"ownerid@odata.bind": format!("/systemusers({hidden})")}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(h.issue_shown(&key, "assignee"), json!(hidden_account));
    h.assert_quiet(2).await;

    // Jira → Dynamics: a Jira agent assigns a user who exists in Dynamics.
    h.tick().await;
    h.edit_issue(&key, json!({"assignee": {"accountId": visible_account}}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        h.case_lookup(&case, "ownerid").map(|(_, id)| id),
        Some(other.clone())
    );
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn a_user_without_a_counterpart_is_reported_and_nothing_is_written() {
    let h = Harness::start(mapped_settings(
        "two_way",
        json!([
            {"dataverse": "ownerid", "jira": "assignee"}
        ]),
    ))
    .await;
    let nobody = h.add_dynamics_user("Only In Dynamics", "only.dynamics@contoso.com");
    let viewer = h.add_dynamics_user("Viewer Agent", "viewer@contoso.com");
    let (case, key) = h
        .case_with_issue(
            "Unmatched owner",
            json!({"ownerid@odata.bind": format!("/systemusers({viewer})")}),
        )
        .await;
    assert_eq!(h.issue_shown(&key, "assignee"), json!(ADMIN_VIEWER));

    h.update_case(
        &case,
        json!({"ownerid@odata.bind": format!("/systemusers({nobody})")}),
    );
    let (_, _, events) = h.run_events().await;
    let problems = failed(&events);
    assert_eq!(problems.len(), 1, "{events:#?}");
    assert!(
        problems[0].message.contains("Only In Dynamics") || problems[0].message.contains(&nobody),
        "{:?}",
        problems[0]
    );
    assert!(problems[0].message.contains("email"), "{:?}", problems[0]);
    assert_eq!(h.issue_shown(&key, "assignee"), json!(ADMIN_VIEWER));

    // A Jira user hiding their email cannot be matched from Jira: reported, owner kept.
    h.tick().await;
    let hidden_account = h
        .jira_users()
        .into_iter()
        .find(|(_, _, visible)| !visible)
        .map(|(id, _, _)| id)
        .unwrap();
    h.edit_issue(&key, json!({"assignee": {"accountId": hidden_account}}));
    let (_, _, events) = h.run_events().await;
    let problems = failed(&events);
    assert_eq!(problems.len(), 1, "{events:#?}");
    assert!(
        problems[0].message.contains("hides the email"),
        "{:?}",
        problems[0]
    );
    assert_eq!(
        h.case_lookup(&case, "ownerid").map(|(_, id)| id),
        Some(nobody)
    );
}

#[tokio::test]
async fn labels_components_and_checkboxes_come_back_to_dynamics() {
    let (h, case, key) = Harness::with_case(
        mapped_settings(
            "two_way",
            json!([
                {"dataverse": "caseorigincode", "jira": "labels"},
                {"dataverse": "prioritycode", "jira": "components",
                 "values": [{"dataverse": "1", "jira": "Network"}, {"dataverse": "2", "jira": "Email"},
                            {"dataverse": "3", "jira": "Hardware"}]},
                {"dataverse": "isescalated", "jira": "customfield_10021"}
            ]),
        ),
        "Lists back",
        json!({"caseorigincode": 1, "prioritycode": 2, "isescalated": false}),
    )
    .await;
    assert_eq!(h.issue_shown(&key, "labels"), json!(["Phone"]));
    assert_eq!(h.issue_shown(&key, "components"), json!(["Email"]));
    h.assert_quiet(1).await;
    h.tick().await;

    let (hardware, yes) = h.sandbox.handle.jira(|j| {
        let sup = j.project("SUP").unwrap();
        let hardware = sup
            .components
            .iter()
            .find(|c| c.name == "Hardware")
            .unwrap()
            .id
            .clone();
        let yes = j.field("customfield_10021").unwrap().options[0].0.clone();
        (hardware, yes)
    });
    h.edit_issue(
        &key,
        json!({"labels": ["web"], "components": [{"id": hardware}], "customfield_10021": [{"id": yes}]}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        h.case_value(&case, "caseorigincode"),
        json!(3),
        "label matched ignoring case"
    );
    assert_eq!(h.case_value(&case, "prioritycode"), json!(3), "value map");
    assert_eq!(h.case_value(&case, "isescalated"), json!(true));
    h.assert_quiet(3).await;
}

// ---------------------------------------------------------------------------------------------
// Versions and multi-select choices. SUP's releases: 2024.4, 2025.1 (released), 2025.2; the
// Cases' multi-select `cw_regions` ("Affected Regions", a "Choices" column read as a string of
// option values such as "100000000,100000002"): EMEA 100000000, Americas 100000001, APAC
// 100000002, LATAM 100000003 (no Jira option of that name).

/// A Jira array as sorted strings (`null` reads as none).
fn sorted_items(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    items.sort();
    items
}

/// A multi-select choice value as Dataverse holds it, as sorted option values.
fn option_values(value: &Value) -> Vec<i64> {
    let mut values: Vec<i64> = value
        .as_str()
        .unwrap_or_default()
        .split(',')
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    values.sort_unstable();
    values
}

fn version_id(h: &Harness, name: &str) -> String {
    h.sandbox.handle.jira(|j| {
        j.project("SUP")
            .unwrap()
            .versions
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("SUP has no version {name}"))
            .id
            .clone()
    })
}

fn region_option_id(h: &Harness, label: &str) -> String {
    h.sandbox.handle.jira(|j| {
        j.field("customfield_10015")
            .unwrap()
            .options
            .iter()
            .find(|(_, v)| v == label)
            .unwrap()
            .0
            .clone()
    })
}

/// Value-map pairs for `cw_regions` ↔ the Jira option of the same name.
fn region_pairs() -> Value {
    json!([
        {"dataverse": "100000000", "jira": "EMEA"},
        {"dataverse": "100000001", "jira": "Americas"},
        {"dataverse": "100000002", "jira": "APAC"}
    ])
}

#[tokio::test]
async fn fix_and_affects_versions_map_to_choice_and_text_columns_both_ways() {
    let (h, case, key) = Harness::with_case(
        mapped_settings(
            "two_way",
            json!([
                {"dataverse": "caseorigincode", "jira": "fixVersions",
                 "values": [{"dataverse": "1", "jira": "2024.4"}, {"dataverse": "2", "jira": "2025.1"},
                            {"dataverse": "3", "jira": "2025.2"}]},
                {"dataverse": "ticketnumber", "jira": "versions"}
            ]),
        ),
        "Versions",
        json!({"caseorigincode": 2, "ticketnumber": "2025.1, 2024.4"}),
    )
    .await;
    assert_eq!(h.issue_shown(&key, "fixVersions"), json!(["2025.1"]));
    assert_eq!(
        sorted_items(&h.issue_shown(&key, "versions")),
        vec!["2024.4", "2025.1"]
    );
    // Written by id (createmeta lists SUP's versions).
    let stored = h.issue_field(&key, "fixVersions");
    assert_eq!(stored, json!([version_id(&h, "2025.1")]), "{stored}");
    h.assert_quiet(2).await;

    // Dynamics edits reach Jira by value map (choice) and by name (text).
    h.update_case(
        &case,
        json!({"caseorigincode": 3, "ticketnumber": "2025.2"}),
    );
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(h.issue_shown(&key, "fixVersions"), json!(["2025.2"]));
    assert_eq!(h.issue_shown(&key, "versions"), json!(["2025.2"]));
    h.assert_quiet(2).await;

    // Jira edits come back: the fix version through the value map, the affects versions as
    // their names joined with commas.
    h.tick().await;
    h.edit_issue(
        &key,
        json!({
            "fixVersions": [{"name": "2024.4"}],
            "versions": [{"id": version_id(&h, "2025.1")}, {"name": "2025.2"}]
        }),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "record", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(h.case_value(&case, "caseorigincode"), json!(1), "value map");
    let text = h.case_value(&case, "ticketnumber");
    let mut names: Vec<&str> = text.as_str().unwrap().split(", ").collect();
    names.sort_unstable();
    assert_eq!(names, vec!["2025.1", "2025.2"], "{text}");
    h.assert_quiet(3).await;

    // Clearing the versions in Jira clears the text column.
    h.tick().await;
    h.edit_issue(&key, json!({"versions": []}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert!(h.case_value(&case, "ticketnumber").is_null());
    assert_eq!(h.case_value(&case, "caseorigincode"), json!(1));
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn an_unknown_version_is_reported_with_a_fix_and_the_rest_still_syncs() {
    let h = Harness::start(mapped_settings(
        "one_way",
        json!([
            {"dataverse": "ticketnumber", "jira": "fixVersions"},
            {"dataverse": "cw_affectedusers", "jira": "customfield_10022"}
        ]),
    ))
    .await;
    h.poll().await;
    h.tick().await;
    let case = h.create_case(
        "Unknown version",
        json!({"ticketnumber": "3.0", "cw_affectedusers": 12}),
    );
    let (_, _, events) = h.run_events().await;
    let key = h.link_of(&case).jira_key;
    assert_eq!(h.issue_shown(&key, "summary"), json!("Unknown version"));
    assert_eq!(h.issue_shown(&key, "customfield_10022"), json!(12));
    let versions = h.issue_shown(&key, "fixVersions");
    assert!(versions.is_null() || versions == json!([]), "{versions}");
    let problems: Vec<&EventRow> = events
        .iter()
        .filter(|e| e.message.contains("\"3.0\""))
        .collect();
    assert!(!problems.is_empty(), "{events:#?}");
    let all = format!("{problems:?}");
    assert!(all.contains("value-map pair"), "{all}");
    // The message lists the versions there are.
    assert!(all.contains("2025.1"), "{all}");

    // Fixed in Dynamics: the version is set, nothing else is written again.
    h.tick().await;
    h.update_case(&case, json!({"ticketnumber": "2025.1"}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(h.issue_shown(&key, "fixVersions"), json!(["2025.1"]));
    assert_eq!(h.issue_shown(&key, "customfield_10022"), json!(12));
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn a_multi_select_choice_reaches_jira_multi_selects_labels_and_components() {
    let (h, case, key) = Harness::with_case(
        mapped_settings(
            "one_way",
            json!([
                {"dataverse": "cw_regions", "jira": "customfield_10015"},
                {"dataverse": "cw_regions", "jira": "labels"},
                {"dataverse": "cw_regions", "jira": "components",
                 "values": [{"dataverse": "EMEA", "jira": "Network"},
                            {"dataverse": "100000001", "jira": "Access"},
                            {"dataverse": "APAC", "jira": "Hardware"}]}
            ]),
        ),
        "Regions",
        json!({"cw_regions": "100000000,100000002"}),
    )
    .await;
    // Labels come from the column's options in the metadata (EMEA, APAC).
    assert_eq!(
        sorted_items(&h.issue_shown(&key, "customfield_10015")),
        vec!["APAC", "EMEA"]
    );
    assert_eq!(
        sorted_items(&h.issue_shown(&key, "labels")),
        vec!["APAC", "EMEA"]
    );
    assert_eq!(
        sorted_items(&h.issue_shown(&key, "components")),
        vec!["Hardware", "Network"],
        "value map by label"
    );
    h.assert_quiet(2).await;

    h.tick().await;
    h.update_case(&case, json!({"cw_regions": "100000001"}));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        h.issue_shown(&key, "customfield_10015"),
        json!(["Americas"])
    );
    assert_eq!(h.issue_shown(&key, "labels"), json!(["Americas"]));
    assert_eq!(
        h.issue_shown(&key, "components"),
        json!(["Access"]),
        "value map by option value"
    );
    h.assert_quiet(2).await;

    // Cleared in Dynamics: every field is emptied.
    h.tick().await;
    h.update_case(&case, json!({"cw_regions": null}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    for field in ["customfield_10015", "labels", "components"] {
        let value = h.issue_shown(&key, field);
        assert!(value.is_null() || value == json!([]), "{field}: {value}");
    }
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn jira_multi_selects_come_back_to_a_multi_select_choice_column() {
    let (h, case, key) = Harness::with_case(
        mapped_settings(
            "two_way",
            json!([
                {"dataverse": "cw_regions", "jira": "customfield_10015", "values": region_pairs()}
            ]),
        ),
        "Regions back",
        json!({"cw_regions": "100000002"}),
    )
    .await;
    assert_eq!(h.issue_shown(&key, "customfield_10015"), json!(["APAC"]));
    h.assert_quiet(2).await;

    // Two options set in Jira: Dataverse receives "100000000,100000002".
    h.tick().await;
    let (emea, apac) = (region_option_id(&h, "EMEA"), region_option_id(&h, "APAC"));
    h.edit_issue(
        &key,
        json!({"customfield_10015": [{"id": emea}, {"id": apac}]}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "record", EventAction::Updated),
        1,
        "{events:#?}"
    );
    let stored = h.case_value(&case, "cw_regions");
    assert!(stored.is_string(), "a comma-separated string: {stored}");
    assert_eq!(
        option_values(&stored),
        vec![100000000, 100000002],
        "{stored}"
    );
    h.assert_quiet(3).await;

    // Cleared in Jira: the column is cleared.
    h.tick().await;
    h.edit_issue(&key, json!({"customfield_10015": []}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert!(h.case_value(&case, "cw_regions").is_null());
    h.assert_quiet(2).await;

    // And a Dynamics edit goes out again.
    h.tick().await;
    h.update_case(&case, json!({"cw_regions": "100000001,100000000"}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        sorted_items(&h.issue_shown(&key, "customfield_10015")),
        vec!["Americas", "EMEA"]
    );
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn jira_labels_come_back_to_a_multi_select_choice_and_unknown_ones_are_reported() {
    let (h, case, key) = Harness::with_case(
        mapped_settings(
            "two_way",
            json!([
                {"dataverse": "cw_regions", "jira": "labels", "values": region_pairs()}
            ]),
        ),
        "Region labels",
        json!({"cw_regions": "100000000"}),
    )
    .await;
    assert_eq!(h.issue_shown(&key, "labels"), json!(["EMEA"]));
    h.assert_quiet(1).await;

    h.tick().await;
    h.edit_issue(&key, json!({"labels": ["APAC", "Americas"]}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        option_values(&h.case_value(&case, "cw_regions")),
        vec![100000001, 100000002]
    );
    h.assert_quiet(3).await;

    // A label with no option: reported with the fix; the summary edited with it still syncs
    // and the column keeps its value.
    h.tick().await;
    h.edit_issue(
        &key,
        json!({"labels": ["APAC", "Moon"], "summary": "Region labels, renamed"}),
    );
    let (_, _, events) = h.run_events().await;
    let problems: Vec<&EventRow> = events
        .iter()
        .filter(|e| e.message.contains("\"Moon\""))
        .collect();
    assert_eq!(problems.len(), 1, "{events:#?}");
    assert!(
        problems[0].message.contains("value-map pair"),
        "{:?}",
        problems[0]
    );
    assert_eq!(
        h.case_value(&case, "title"),
        json!("Region labels, renamed")
    );
    assert_eq!(
        option_values(&h.case_value(&case, "cw_regions")),
        vec![100000001, 100000002]
    );
}

#[tokio::test]
async fn a_choice_without_a_jira_option_is_reported_and_the_rest_still_syncs() {
    let h = Harness::start(mapped_settings(
        "one_way",
        json!([
            {"dataverse": "cw_regions", "jira": "customfield_10015"},
            {"dataverse": "ticketnumber", "jira": "customfield_10010"}
        ]),
    ))
    .await;
    h.poll().await;
    h.tick().await;
    // LATAM is a Dynamics option with no Jira option of that name.
    let case = h.create_case(
        "Unmapped region",
        json!({"cw_regions": "100000003,100000000", "ticketnumber": "CAS-M-1"}),
    );
    let (_, _, events) = h.run_events().await;
    let key = h.link_of(&case).jira_key;
    assert_eq!(h.issue_shown(&key, "customfield_10010"), json!("CAS-M-1"));
    let regions = h.issue_shown(&key, "customfield_10015");
    assert!(regions.is_null() || regions == json!([]), "{regions}");
    let problems: Vec<&EventRow> = events
        .iter()
        .filter(|e| e.message.contains("LATAM"))
        .collect();
    assert!(!problems.is_empty(), "{events:#?}");
    let all = format!("{problems:?}");
    assert!(all.contains("value-map pair"), "{all}");

    // Once LATAM is off the case, the rest of the selection reaches Jira.
    h.tick().await;
    h.update_case(&case, json!({"cw_regions": "100000000"}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(h.issue_shown(&key, "customfield_10015"), json!(["EMEA"]));
    h.assert_quiet(2).await;
}

/// Dataverse requests of a poll, sign-in excluded.
fn dataverse_requests(run: &crosswalk_store::RunRow) -> u64 {
    run.requests.get("dataverse").map_or(0, |r| r.requests)
}

/// The Dataverse metadata lists `cw_regions`' options, so Jira labels come back by option label
/// (spaces as '_', any case) without a value map, and nothing echoes across polls.
#[tokio::test]
async fn jira_labels_reach_a_multi_select_choice_by_option_label_without_a_value_map() {
    let (h, case, key) = Harness::with_case(
        mapped_settings(
            "two_way",
            json!([
                {"dataverse": "cw_regions", "jira": "labels"}
            ]),
        ),
        "Region labels by name",
        json!({"cw_regions": "100000003"}),
    )
    .await;
    // Labels from the options, without formatted values.
    assert_eq!(h.issue_shown(&key, "labels"), json!(["LATAM"]));
    h.assert_quiet(2).await;

    h.tick().await;
    h.edit_issue(&key, json!({"labels": ["apac", "EMEA", "Americas"]}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "record", EventAction::Updated),
        1,
        "{events:#?}"
    );
    let stored = h.case_value(&case, "cw_regions");
    assert!(stored.is_string(), "a comma-separated string: {stored}");
    assert_eq!(
        option_values(&stored),
        vec![100000000, 100000001, 100000002],
        "{stored}"
    );
    // Jira keeps its labels as typed; the connector's write is no change on either side.
    assert_eq!(
        sorted_items(&h.issue_shown(&key, "labels")),
        vec!["Americas", "EMEA", "apac"]
    );
    h.assert_quiet(3).await;

    // A label with no option: reported with the options there are; the column keeps its value.
    h.tick().await;
    h.edit_issue(&key, json!({"labels": ["EMEA", "Moon"]}));
    let (_, _, events) = h.run_events().await;
    let problems: Vec<&EventRow> = events
        .iter()
        .filter(|e| e.message.contains("\"Moon\""))
        .collect();
    assert_eq!(problems.len(), 1, "{events:#?}");
    let message = &problems[0].message;
    assert!(message.contains("value-map pair"), "{message}");
    assert!(
        message.contains("EMEA, Americas, APAC, LATAM"),
        "the fix lists the options: {message}"
    );
    assert_eq!(
        option_values(&h.case_value(&case, "cw_regions")),
        vec![100000000, 100000001, 100000002]
    );

    // Fixed in Jira: the selection is written, then quiet.
    h.tick().await;
    h.edit_issue(&key, json!({"labels": ["EMEA", "LATAM"]}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        option_values(&h.case_value(&case, "cw_regions")),
        vec![100000000, 100000003]
    );
    h.assert_quiet(3).await;
}

/// A Jira multi-select comes back to `cw_regions` by option label without a value map; a
/// Dynamics edit of the multi-select costs a poll no more Dataverse requests than a text edit
/// (its labels come from the metadata, not from re-reading the record with formatted values).
#[tokio::test]
async fn jira_multi_selects_reach_a_multi_select_choice_without_a_value_map() {
    let (h, case, key) = Harness::with_case(
        mapped_settings(
            "two_way",
            json!([
                {"dataverse": "cw_regions", "jira": "customfield_10015"}
            ]),
        ),
        "Regions by name",
        json!({"cw_regions": "100000001"}),
    )
    .await;
    assert_eq!(
        h.issue_shown(&key, "customfield_10015"),
        json!(["Americas"])
    );
    h.assert_quiet(2).await;

    h.tick().await;
    let (emea, apac) = (region_option_id(&h, "EMEA"), region_option_id(&h, "APAC"));
    h.edit_issue(
        &key,
        json!({"customfield_10015": [{"id": apac}, {"id": emea}]}),
    );
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "record", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        option_values(&h.case_value(&case, "cw_regions")),
        vec![100000000, 100000002]
    );
    h.assert_quiet(3).await;

    // Cleared in Jira: the column is cleared, then quiet.
    h.tick().await;
    h.edit_issue(&key, json!({"customfield_10015": []}));
    let (_, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert!(h.case_value(&case, "cw_regions").is_null());
    h.assert_quiet(2).await;

    // A Dynamics edit of the multi-select costs no more Dataverse requests than an idle poll:
    // change tracking answers no formatted values, and the labels come from the metadata
    // instead of a re-read of the record (which would cost one more).
    let (idle_run, _) = h.poll().await;
    h.tick().await;
    h.update_case(&case, json!({"cw_regions": "100000001,100000002"}));
    let (choice_run, events) = h.poll().await;
    assert!(failed(&events).is_empty(), "{events:#?}");
    assert_eq!(
        count(&events, "issue", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        sorted_items(&h.issue_shown(&key, "customfield_10015")),
        vec!["APAC", "Americas"]
    );
    assert_eq!(
        dataverse_requests(&choice_run),
        dataverse_requests(&idle_run),
        "idle poll: {:?}; multi-select edit: {:?}",
        idle_run.requests,
        choice_run.requests
    );
    h.assert_quiet(3).await;
}

/// Two-way title ↔ summary, "most recent wins" (the default ownership).
fn summary_only() -> Value {
    mapped_settings("two_way", json!([]))
}

/// Jira's side of a conflict is timed by the field's own changelog entry: a comment on the issue
/// after both edits moves the issue's `updated` but is no change of the summary.
#[tokio::test]
async fn an_unrelated_later_jira_edit_does_not_make_jira_win_a_field_it_changed_earlier() {
    let (h, case, key) = Harness::with_case(summary_only(), "Printer offline", json!({})).await;
    h.edit_issue(&key, json!({"summary": "Printer offline (Jira)"}));
    h.tick().await;
    h.update_case(&case, json!({"title": "Printer offline (Dynamics)"}));
    h.tick().await;
    h.comment_on(&key, "Asked the user to restart it");
    let (jira_at, dynamics_at) = (
        h.jira_changed_at(&key, "summary"),
        h.case_modified_at(&case),
    );
    assert!(jira_at < dynamics_at && dynamics_at < h.issue_updated_at(&key));

    let (_, events) = h.poll().await;
    let found = conflicts(&events);
    assert_eq!(found.len(), 1, "{events:#?}");
    assert!(
        found[0].message.contains("Dynamics' value won"),
        "{}",
        found[0].message
    );
    assert_eq!(
        found[0].before,
        Some(json!({"dynamics": "Printer offline (Dynamics)", "jira": "Printer offline (Jira)"}))
    );
    assert_compared(found[0], "dynamics", jira_at, dynamics_at);
    assert_eq!(
        h.issue_field(&key, "summary"),
        json!("Printer offline (Dynamics)")
    );
    assert_eq!(
        h.case_value(&case, "title"),
        json!("Printer offline (Dynamics)")
    );
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn a_later_jira_edit_of_the_field_still_wins_when_an_unrelated_jira_edit_follows() {
    let (h, case, key) = Harness::with_case(summary_only(), "Mailbox full", json!({})).await;
    h.update_case(&case, json!({"title": "Mailbox full (Dynamics)"}));
    h.tick().await;
    h.edit_issue(&key, json!({"summary": "Mailbox full (Jira)"}));
    h.tick().await;
    h.comment_on(&key, "Quota raised");
    let (jira_at, dynamics_at) = (
        h.jira_changed_at(&key, "summary"),
        h.case_modified_at(&case),
    );

    let (_, events) = h.poll().await;
    let found = conflicts(&events);
    assert_eq!(found.len(), 1, "{events:#?}");
    assert!(
        found[0].message.contains("Jira's value won"),
        "{}",
        found[0].message
    );
    assert_eq!(
        found[0].before,
        Some(json!({"dynamics": "Mailbox full (Dynamics)", "jira": "Mailbox full (Jira)"}))
    );
    assert_compared(found[0], "jira", jira_at, dynamics_at);
    assert_eq!(h.case_value(&case, "title"), json!("Mailbox full (Jira)"));
    assert_eq!(h.issue_field(&key, "summary"), json!("Mailbox full (Jira)"));
    h.assert_quiet(2).await;
}

/// The documented asymmetry: Dataverse keeps no per-column time without auditing, so the
/// record's `modifiedon` stands for the field, and a later edit of another column counts.
#[tokio::test]
async fn dynamics_is_timed_by_modifiedon_so_a_later_edit_of_another_column_counts() {
    let (h, case, key) = Harness::with_case(summary_only(), "VPN drops", json!({})).await;
    h.update_case(&case, json!({"title": "VPN drops (Dynamics)"}));
    h.tick().await;
    h.edit_issue(&key, json!({"summary": "VPN drops (Jira)"}));
    h.tick().await;
    h.update_case(
        &case,
        json!({"description": "Happens on the guest Wi-Fi only"}),
    );
    let (jira_at, dynamics_at) = (
        h.jira_changed_at(&key, "summary"),
        h.case_modified_at(&case),
    );
    assert!(jira_at < dynamics_at);

    let (_, events) = h.poll().await;
    let found = conflicts(&events);
    assert_eq!(found.len(), 1, "{events:#?}");
    assert_eq!(
        found[0].before,
        Some(json!({"dynamics": "VPN drops (Dynamics)", "jira": "VPN drops (Jira)"}))
    );
    assert_compared(found[0], "dynamics", jira_at, dynamics_at);
    assert!(
        found[0].message.contains("no time per column"),
        "{}",
        found[0].message
    );
    assert_eq!(
        h.issue_field(&key, "summary"),
        json!("VPN drops (Dynamics)")
    );
}

/// The changelog is read only for a real conflict: a one-sided edit costs what it did.
#[tokio::test]
async fn the_changelog_is_read_only_when_both_sides_changed_a_field() {
    let (h, case, key) = Harness::with_case(summary_only(), "Scanner", json!({})).await;
    h.update_case(&case, json!({"title": "Scanner (Dynamics)"}));
    let (one_sided, _) = h.poll().await;
    h.tick().await;
    // Jira first, so Dynamics wins and both polls write the same side.
    h.edit_issue(&key, json!({"summary": "Scanner (Jira)"}));
    h.update_case(&case, json!({"title": "Scanner (Dynamics, again)"}));
    let (conflict, events) = h.poll().await;
    assert_eq!(conflicts(&events).len(), 1, "{events:#?}");
    let jira = |run: &crosswalk_store::RunRow| run.requests.get("jira").map_or(0, |r| r.requests);
    // The conflict reads the issue's changelog once: one request on top of the same work.
    assert_eq!(
        jira(&conflict),
        jira(&one_sided) + 1,
        "one-sided: {:?}; conflict: {:?}",
        one_sided.requests,
        conflict.requests
    );
}

// --- Ownership: which side wins a field changed on both sides since the last sync ---

/// Two-way title ↔ summary owned by `owner` (`jira` or `dynamics`).
fn summary_owned_by(owner: &str) -> Value {
    let mut settings = summary_only();
    settings["fields"][0]["owner"] = json!(owner);
    settings
}

/// The one field-write event of a poll on `kind`'s side (`issue` or `record`).
fn field_write<'a>(events: &'a [EventRow], kind: &str) -> &'a EventRow {
    let found: Vec<_> = events
        .iter()
        .filter(|e| e.object_kind.as_deref() == Some(kind) && e.action == EventAction::Updated)
        .collect();
    assert_eq!(found.len(), 1, "{events:#?}");
    found[0]
}

/// Both sides edit the title/summary, the non-owner last (so "most recent wins" would pick
/// it); the owner's value must end on both sides and the conflict must say so and why.
async fn conflict_is_won_by_the_owner(owner: &str) {
    let (h, case, key) =
        Harness::with_case(summary_owned_by(owner), "Laptop slow", json!({})).await;
    let (jira_value, dynamics_value) = ("Laptop slow (Jira)", "Laptop slow (Dynamics)");
    if owner == "jira" {
        h.edit_issue(&key, json!({"summary": jira_value}));
        h.tick().await;
        h.update_case(&case, json!({"title": dynamics_value}));
    } else {
        h.update_case(&case, json!({"title": dynamics_value}));
        h.tick().await;
        h.edit_issue(&key, json!({"summary": jira_value}));
    }

    let (_, events) = h.poll().await;
    let found = conflicts(&events);
    assert_eq!(found.len(), 1, "{events:#?}");
    let conflict = found[0];
    let (winner_value, loser_value, why) = if owner == "jira" {
        (
            jira_value,
            dynamics_value,
            "Jira's value won (the field is owned by Jira).",
        )
    } else {
        (
            dynamics_value,
            jira_value,
            "Dynamics' value won (the field is owned by Dynamics).",
        )
    };
    assert_eq!(
        conflict.message,
        format!("Summary changed in both Jira and Dynamics since the last sync; {why}")
    );
    assert_eq!(
        conflict.before,
        Some(json!({"dynamics": dynamics_value, "jira": jira_value})),
        "both values: {conflict:#?}"
    );
    assert_eq!(
        conflict.after,
        Some(json!({"winner": owner, "compared": null, "why": why})),
        "no times are compared when a side owns the field: {conflict:#?}"
    );
    // The loser's side is overwritten, with its old and new value in the event.
    let write = if owner == "jira" {
        (field_write(&events, "record"), "title")
    } else {
        (field_write(&events, "issue"), "Summary")
    };
    assert_eq!(write.0.before, Some(json!({ write.1: loser_value })));
    assert_eq!(write.0.after, Some(json!({ write.1: winner_value })));
    assert_eq!(h.issue_field(&key, "summary"), json!(winner_value));
    assert_eq!(h.case_value(&case, "title"), json!(winner_value));
    h.assert_quiet(2).await;
}

/// Ownership only settles conflicts: a change on the non-owner side alone is copied to the
/// owner's side in two-way mode (an admin who wants one source picks one-way).
async fn one_sided_edit_on_the_non_owner_side_is_copied(owner: &str) {
    let (h, case, key) =
        Harness::with_case(summary_owned_by(owner), "Printer jams", json!({})).await;
    let edited = "Printer jams on tray 2";
    let write = if owner == "jira" {
        h.update_case(&case, json!({"title": edited}));
        ("issue", "Summary")
    } else {
        h.edit_issue(&key, json!({"summary": edited}));
        ("record", "title")
    };

    let (_, events) = h.poll().await;
    assert!(conflicts(&events).is_empty(), "{events:#?}");
    let event = field_write(&events, write.0);
    assert_eq!(event.before, Some(json!({ write.1: "Printer jams" })));
    assert_eq!(event.after, Some(json!({ write.1: edited })));
    assert_eq!(h.issue_field(&key, "summary"), json!(edited));
    assert_eq!(h.case_value(&case, "title"), json!(edited));
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn a_jira_owned_field_takes_jiras_value_when_both_sides_changed_it() {
    conflict_is_won_by_the_owner("jira").await;
}

#[tokio::test]
async fn a_dynamics_owned_field_takes_dynamics_value_when_both_sides_changed_it() {
    conflict_is_won_by_the_owner("dynamics").await;
}

#[tokio::test]
async fn a_dynamics_edit_of_a_jira_owned_field_alone_still_reaches_jira() {
    one_sided_edit_on_the_non_owner_side_is_copied("jira").await;
}

#[tokio::test]
async fn a_jira_edit_of_a_dynamics_owned_field_alone_still_reaches_dynamics() {
    one_sided_edit_on_the_non_owner_side_is_copied("dynamics").await;
}

// --- Mappings whose types do not convert (saved through the config file or CLI) ---

/// The title mapping plus two pairs the console's wizard would refuse: a whole number to a
/// date and a date-time to labels.
fn incompatible_mappings() -> Value {
    mapped_settings(
        "two_way",
        json!([
            {"dataverse": "cw_affectedusers", "jira": "duedate"},
            {"dataverse": "followupby", "jira": "labels"},
        ]),
    )
}

/// The config file saves offline, so the pair is judged against the metadata at the first poll
/// that converts anything: the run fails before any write, naming every bad mapping and the
/// field types that would convert, and goes on once the mappings are corrected.
#[tokio::test]
async fn incompatible_mappings_fail_the_run_before_any_write_naming_each_one() {
    let mut h = Harness::start(incompatible_mappings()).await;
    h.poll().await;
    h.tick().await;
    let case = h.create_case("Badge reader broken", json!({"cw_affectedusers": 4}));
    let issues_before = h.project_issues();

    let (run, events) = h.failing_run().await;
    let error = run.error.clone().expect("the failed run says why");
    for part in [
        "the item's settings are not valid: ",
        "the mapping cw_affectedusers → duedate does not convert (",
        "numbers go to Jira number or text fields",
        "; the mapping followupby → labels does not convert (",
        "dates go to Jira date, date-time or text fields",
    ] {
        assert!(error.message.contains(part), "{part:?} not in {error:?}");
    }
    assert!(
        !error.message.contains("title → summary"),
        "a compatible mapping is not named: {error:?}"
    );
    assert!(
        error.fix.as_deref().unwrap_or("").contains("config file"),
        "{error:?}"
    );
    assert!(Harness::writes(&events).is_empty(), "{events:#?}");
    assert_eq!(h.project_issues(), issues_before, "no issue was created");
    assert!(h.links().is_empty());

    // Corrected: the same record gets its issue at the next poll.
    h.set_settings(mapped_settings(
        "two_way",
        json!([{"dataverse": "cw_affectedusers", "jira": "customfield_10022"}]),
    ));
    h.poll().await;
    let key = h.link_of(&case).jira_key;
    assert_eq!(h.issue_field(&key, "customfield_10022"), json!(4));

    // A bad mapping added to a linked item stops even the compatible fields' writes.
    h.set_settings(incompatible_mappings());
    h.tick().await;
    h.update_case(&case, json!({"title": "Badge reader broken (lobby)"}));
    let (run, events) = h.failing_run().await;
    assert!(
        run.error
            .as_ref()
            .is_some_and(|e| e.message.contains("followupby → labels")),
        "{:?}",
        run.error
    );
    assert!(Harness::writes(&events).is_empty(), "{events:#?}");
    assert_eq!(h.issue_field(&key, "summary"), json!("Badge reader broken"));
}
