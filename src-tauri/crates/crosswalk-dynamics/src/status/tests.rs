use super::*;
use crate::settings::StatusPair;
use crosswalk_dataverse::OptionValue;
use crosswalk_jira::{Status, StatusCategory, StatusCategoryKey, Transition};
use time::macros::datetime;
use time::OffsetDateTime;

use DataverseStatusWrite as W;
use StatusCategoryKey::{Done as CatDone, Indeterminate, New, Undefined};

// ---- fixtures ----------------------------------------------------------------------------

fn jira(id: &str, name: &str, key: StatusCategoryKey) -> Status {
    Status {
        id: id.to_owned(),
        name: name.to_owned(),
        status_category: StatusCategory {
            id: 0,
            key,
            name: String::new(),
        },
    }
}

/// A service-desk style workflow with English names.
fn typical() -> Vec<Status> {
    vec![
        jira("1", "To Do", New),
        jira("3", "In Progress", Indeterminate),
        jira("10001", "Waiting for customer", Indeterminate),
        jira("10002", "Done", CatDone),
        jira("10003", "Cancelled", CatDone),
    ]
}

/// A German workflow: only the categories say what the statuses mean.
fn german() -> Vec<Status> {
    vec![
        jira("1", "Zu erledigen", New),
        jira("3", "In Arbeit", Indeterminate),
        jira("10002", "Erledigt", CatDone),
    ]
}

/// `(statecode, statuscode)`.
type Key = (i32, i32);

/// Expected families of a table's pairs.
type Families = &'static [(Key, Family)];

type Spec = &'static [(i32, &'static str, i32, &'static [(i32, &'static str)])];

fn states(spec: Spec) -> DataverseStates {
    let mut dv = DataverseStates::default();
    for (state, label, default, reasons) in spec {
        dv.states.push(OptionValue {
            value: *state,
            label: (*label).to_owned(),
            state: None,
            default_status: Some(*default),
        });
        for (status, label) in *reasons {
            dv.statuses.push(OptionValue {
                value: *status,
                label: (*label).to_owned(),
                state: Some(*state),
                default_status: None,
            });
        }
    }
    dv
}

// §F.9 out-of-box sets.
const INCIDENT: Spec = &[
    (
        0,
        "Active",
        1,
        &[
            (1, "In Progress"),
            (2, "On Hold"),
            (3, "Waiting for Details"),
            (4, "Researching"),
        ],
    ),
    (
        1,
        "Resolved",
        5,
        &[(5, "Problem Solved"), (1000, "Information Provided")],
    ),
    (2, "Canceled", 6, &[(6, "Canceled"), (2000, "Merged")]),
];
const TASK: Spec = &[
    (
        0,
        "Open",
        2,
        &[
            (2, "Not Started"),
            (3, "In Progress"),
            (4, "Waiting on someone else"),
            (7, "Deferred"),
        ],
    ),
    (1, "Completed", 5, &[(5, "Completed")]),
    (2, "Canceled", 6, &[(6, "Canceled")]),
];
const LEAD: Spec = &[
    (0, "Open", 1, &[(1, "New"), (2, "Contacted")]),
    (1, "Qualified", 3, &[(3, "Qualified")]),
    (
        2,
        "Disqualified",
        4,
        &[
            (4, "Lost"),
            (5, "Cannot Contact"),
            (6, "No Longer Interested"),
            (7, "Canceled"),
        ],
    ),
];
const OPPORTUNITY: Spec = &[
    (0, "Open", 1, &[(1, "In Progress"), (2, "On Hold")]),
    (1, "Won", 3, &[(3, "Won")]),
    (2, "Lost", 4, &[(4, "Canceled"), (5, "Out-Sold")]),
];
// The incident set as a German org shows it: only §F.9's values are left to go by.
const INCIDENT_DE: Spec = &[
    (
        0,
        "Aktiv",
        1,
        &[
            (1, "In Bearbeitung"),
            (2, "Zurückgestellt"),
            (3, "Warten auf Details"),
            (4, "Wird recherchiert"),
        ],
    ),
    (
        1,
        "Gelöst",
        5,
        &[
            (5, "Problem gelöst"),
            (1000, "Informationen bereitgestellt"),
        ],
    ),
    (
        2,
        "Abgebrochen",
        6,
        &[(6, "Abgebrochen"), (2000, "Zusammengeführt")],
    ),
];

fn pair(jira_status: &str, state: i32, status: i32) -> StatusPair {
    StatusPair {
        jira_status: jira_status.to_owned(),
        state,
        status,
    }
}

/// Builds the map and checks both directions completely; statuses are named, not numbered.
fn check(
    table: &str,
    spec: Spec,
    workflow: &[Status],
    explicit: &[StatusPair],
    to_dataverse: &[(&str, (i32, i32))],
    to_jira: &[((i32, i32), &str)],
) -> (StatusMap, Vec<StatusProblem>) {
    let dv = states(spec);
    let (map, problems) = StatusMap::build(table, explicit, workflow, &dv);
    let id = |name: &str| {
        workflow
            .iter()
            .find(|status| status.name == name)
            .map(|status| status.id.clone())
            .unwrap_or_else(|| panic!("no Jira status {name}"))
    };
    let got: Vec<(&str, Option<(i32, i32)>)> = to_dataverse
        .iter()
        .map(|(name, _)| (*name, map.to_dataverse(&id(name))))
        .collect();
    let want: Vec<(&str, Option<(i32, i32)>)> = to_dataverse
        .iter()
        .map(|(name, key)| (*name, Some(*key)))
        .collect();
    assert_eq!(got, want, "Jira → {table}");
    let got: Vec<((i32, i32), Option<&str>)> = to_jira
        .iter()
        .map(|(key, _)| {
            (
                *key,
                map.to_jira(key.0, key.1).and_then(|id| map.jira_name(id)),
            )
        })
        .collect();
    let want: Vec<((i32, i32), Option<&str>)> = to_jira
        .iter()
        .map(|(key, name)| (*key, Some(*name)))
        .collect();
    assert_eq!(got, want, "{table} → Jira");
    (map, problems)
}

// ---- the four tables against a typical workflow ------------------------------------------

#[test]
fn incident_against_typical_workflow() {
    let (_, problems) = check(
        "incident",
        INCIDENT,
        &typical(),
        &[],
        &[
            ("To Do", (0, 1)),
            ("In Progress", (0, 1)),
            ("Waiting for customer", (0, 3)),
            ("Done", (1, 5)),
            ("Cancelled", (2, 6)),
        ],
        &[
            ((0, 1), "In Progress"),
            ((0, 2), "Waiting for customer"),
            ((0, 3), "Waiting for customer"),
            ((0, 4), "In Progress"),
            ((1, 5), "Done"),
            ((1, 1000), "Done"),
            ((2, 6), "Cancelled"),
            ((2, 2000), "Cancelled"),
        ],
    );
    assert_eq!(problems, []);
}

#[test]
fn task_against_typical_workflow() {
    let (_, problems) = check(
        "task",
        TASK,
        &typical(),
        &[],
        &[
            ("To Do", (0, 2)),
            ("In Progress", (0, 3)),
            ("Waiting for customer", (0, 4)),
            ("Done", (1, 5)),
            ("Cancelled", (2, 6)),
        ],
        &[
            ((0, 2), "To Do"),
            ((0, 3), "In Progress"),
            ((0, 4), "Waiting for customer"),
            ((0, 7), "Waiting for customer"),
            ((1, 5), "Done"),
            ((2, 6), "Cancelled"),
        ],
    );
    assert_eq!(problems, []);
}

#[test]
fn lead_against_typical_workflow() {
    let (_, problems) = check(
        "lead",
        LEAD,
        &typical(),
        &[],
        &[
            ("To Do", (0, 1)),
            ("In Progress", (0, 2)),
            ("Waiting for customer", (0, 2)),
            ("Done", (1, 3)),
            // "Cancelled" and "Canceled" are one word to the matcher.
            ("Cancelled", (2, 7)),
        ],
        &[
            ((0, 1), "To Do"),
            ((0, 2), "In Progress"),
            ((1, 3), "Done"),
            ((2, 4), "Cancelled"),
            ((2, 5), "Cancelled"),
            ((2, 6), "Cancelled"),
            ((2, 7), "Cancelled"),
        ],
    );
    assert_eq!(problems, []);
}

#[test]
fn opportunity_against_typical_workflow() {
    let (_, problems) = check(
        "opportunity",
        OPPORTUNITY,
        &typical(),
        &[],
        &[
            ("To Do", (0, 1)),
            ("In Progress", (0, 1)),
            ("Waiting for customer", (0, 2)),
            ("Done", (1, 3)),
            ("Cancelled", (2, 4)),
        ],
        &[
            ((0, 1), "In Progress"),
            ((0, 2), "Waiting for customer"),
            ((1, 3), "Done"),
            ((2, 4), "Cancelled"),
            ((2, 5), "Cancelled"),
        ],
    );
    assert_eq!(problems, []);
}

// ---- localised names -----------------------------------------------------------------------

#[test]
fn localised_jira_names_match_by_category() {
    let (_, problems) = check(
        "incident",
        INCIDENT,
        &german(),
        &[],
        &[
            ("Zu erledigen", (0, 1)),
            ("In Arbeit", (0, 1)),
            ("Erledigt", (1, 5)),
        ],
        &[
            ((0, 1), "In Arbeit"),
            ((0, 2), "In Arbeit"),
            ((0, 3), "In Arbeit"),
            ((0, 4), "In Arbeit"),
            ((1, 5), "Erledigt"),
            ((1, 1000), "Erledigt"),
            // No cancel status in the workflow: a done one stands in.
            ((2, 6), "Erledigt"),
            ((2, 2000), "Erledigt"),
        ],
    );
    assert_eq!(problems, []);
    let (_, problems) = check(
        "task",
        TASK,
        &german(),
        &[],
        &[
            ("Zu erledigen", (0, 2)),
            ("In Arbeit", (0, 3)),
            ("Erledigt", (1, 5)),
        ],
        &[
            ((0, 2), "Zu erledigen"),
            ((0, 3), "In Arbeit"),
            ((0, 4), "In Arbeit"),
            ((1, 5), "Erledigt"),
            ((2, 6), "Erledigt"),
        ],
    );
    assert_eq!(problems, []);
}

#[test]
fn localised_dataverse_labels_fall_back_to_out_of_box_values() {
    let (_, problems) = check(
        "incident",
        INCIDENT_DE,
        &typical(),
        &[],
        &[
            ("To Do", (0, 1)),
            ("In Progress", (0, 1)),
            ("Waiting for customer", (0, 2)),
            ("Done", (1, 5)),
            ("Cancelled", (2, 6)),
        ],
        &[
            ((0, 1), "In Progress"),
            ((0, 2), "Waiting for customer"),
            ((0, 4), "In Progress"),
            ((1, 1000), "Done"),
            ((2, 2000), "Cancelled"),
        ],
    );
    assert_eq!(problems, []);
}

#[test]
fn status_and_state_labels_match_exactly_first() {
    // "Resolved" names the incident state; "Researching" a status reason of another family
    // than its Jira category suggests.
    let workflow = vec![
        jira("1", "Researching", New),
        jira("2", "Resolved", CatDone),
        jira("3", "Done", CatDone),
    ];
    check(
        "incident",
        INCIDENT,
        &workflow,
        &[],
        &[
            ("Researching", (0, 4)),
            ("Resolved", (1, 5)),
            ("Done", (1, 5)),
        ],
        &[
            ((0, 4), "Researching"),
            ((1, 5), "Resolved"),
            ((1, 1000), "Resolved"),
        ],
    );
}

#[test]
fn state_labels_name_only_default_and_closed_reasons() {
    let workflow = vec![
        jira("1", "Open", New),
        jira("3", "In Progress", Indeterminate),
        jira("5", "Waiting", Indeterminate),
        jira("6", "Completed", CatDone),
    ];
    let (_, problems) = check(
        "task",
        TASK,
        &workflow,
        &[],
        &[
            ("Open", (0, 2)),
            ("In Progress", (0, 3)),
            ("Waiting", (0, 4)),
            ("Completed", (1, 5)),
        ],
        &[
            ((0, 2), "Open"),
            ((0, 3), "In Progress"),
            ((0, 4), "Waiting"),
            ((0, 7), "Waiting"),
            ((1, 5), "Completed"),
            ((2, 6), "Completed"),
        ],
    );
    assert_eq!(problems, []);
}

// ---- families ------------------------------------------------------------------------------

#[test]
fn jira_families() {
    let cases = [
        ("Done", Indeterminate, Family::Done),
        ("Resolved", CatDone, Family::Done),
        ("Closed", New, Family::Done),
        ("Fixed", CatDone, Family::Done),
        ("Completed", CatDone, Family::Done),
        ("Cancelled", CatDone, Family::Cancelled),
        ("Canceled", CatDone, Family::Cancelled),
        ("Won't Do", CatDone, Family::Cancelled),
        ("Won’t do", CatDone, Family::Cancelled),
        ("Rejected", CatDone, Family::Cancelled),
        ("Declined", CatDone, Family::Cancelled),
        ("Duplicate", CatDone, Family::Cancelled),
        ("Abandoned", CatDone, Family::Cancelled),
        ("Closed (won't fix)", CatDone, Family::Cancelled),
        ("On hold", Indeterminate, Family::Waiting),
        ("Waiting for customer", Indeterminate, Family::Waiting),
        ("Blocked", Indeterminate, Family::Waiting),
        ("Pending approval", New, Family::Waiting),
        ("Done, awaiting deploy", CatDone, Family::Done),
        ("Awaiting deploy (done)", Indeterminate, Family::Waiting),
        ("To Do", New, Family::Open),
        ("Backlog", New, Family::Open),
        ("In Progress", Indeterminate, Family::InProgress),
        ("In Arbeit", Indeterminate, Family::InProgress),
        ("Erledigt", CatDone, Family::Done),
        ("Undone", Indeterminate, Family::InProgress),
        ("Mystery", Undefined, Family::Open),
    ];
    for (name, key, want) in cases {
        assert_eq!(family_of_jira(&jira("1", name, key)), want, "{name}");
    }
}

#[test]
fn dataverse_families() {
    use Family::{Cancelled, Done, InProgress, Open, Waiting};
    let cases: &[(&str, Spec, Families)] = &[
        (
            "incident",
            INCIDENT,
            &[
                ((0, 1), InProgress),
                ((0, 2), Waiting),
                ((0, 3), Waiting),
                ((0, 4), InProgress),
                ((1, 5), Done),
                ((1, 1000), Done),
                ((2, 6), Cancelled),
                ((2, 2000), Cancelled),
            ],
        ),
        (
            "incident",
            INCIDENT_DE,
            &[
                ((0, 1), InProgress),
                ((0, 2), Waiting),
                ((0, 3), Waiting),
                ((0, 4), InProgress),
                ((1, 5), Done),
                ((1, 1000), Done),
                ((2, 6), Cancelled),
                ((2, 2000), Cancelled),
            ],
        ),
        (
            "task",
            TASK,
            &[
                ((0, 2), Open),
                ((0, 3), InProgress),
                ((0, 4), Waiting),
                ((0, 7), Waiting),
                ((1, 5), Done),
                ((2, 6), Cancelled),
            ],
        ),
        (
            "lead",
            LEAD,
            &[
                ((0, 1), Open),
                ((0, 2), InProgress),
                ((1, 3), Done),
                ((2, 4), Cancelled),
                ((2, 5), Cancelled),
                ((2, 6), Cancelled),
                ((2, 7), Cancelled),
            ],
        ),
        (
            "opportunity",
            OPPORTUNITY,
            &[
                ((0, 1), InProgress),
                ((0, 2), Waiting),
                ((1, 3), Done),
                ((2, 4), Cancelled),
                ((2, 5), Cancelled),
            ],
        ),
        // A custom table: Active/Inactive, one reason turned into a rejection.
        (
            "new_request",
            &[
                (0, "Active", 1, &[(1, "Active")]),
                (1, "Inactive", 2, &[(2, "Inactive"), (100, "Rejected")]),
            ],
            &[((0, 1), Open), ((1, 2), Done), ((1, 100), Cancelled)],
        ),
        // A quote: statecode 1 is "Active", still open.
        (
            "quote",
            &[
                (0, "Draft", 1, &[(1, "In Progress")]),
                (1, "Active", 2, &[(2, "In Progress"), (3, "Open")]),
                (2, "Won", 4, &[(4, "Won")]),
                (
                    3,
                    "Closed",
                    5,
                    &[(5, "Lost"), (6, "Canceled"), (7, "Revised")],
                ),
            ],
            &[
                ((0, 1), InProgress),
                ((1, 2), InProgress),
                ((1, 3), Open),
                ((2, 4), Done),
                ((3, 5), Cancelled),
                ((3, 6), Cancelled),
                ((3, 7), Done),
            ],
        ),
    ];
    for (table, spec, want) in cases {
        let dv = states(spec);
        for ((state, status), family) in *want {
            let got = family_of_dataverse(
                table,
                dv.state(*state).expect("fixture state"),
                dv.status(*status).expect("fixture status"),
            );
            assert_eq!(got, *family, "{table} {state}/{status}");
        }
    }
}

// ---- explicit pairs and problems -------------------------------------------------------------

#[test]
fn explicit_pairs_win_both_ways() {
    let explicit = [
        pair("10001", 0, 2),    // Waiting for customer → On Hold
        pair("10002", 1, 1000), // Done → Information Provided
        pair("1", 0, 4),        // To Do → Researching
    ];
    let (map, problems) = check(
        "incident",
        INCIDENT,
        &typical(),
        &explicit,
        &[
            ("To Do", (0, 4)),
            ("In Progress", (0, 1)),
            ("Waiting for customer", (0, 2)),
            ("Done", (1, 1000)),
            ("Cancelled", (2, 6)),
        ],
        &[
            ((0, 1), "In Progress"),
            ((0, 2), "Waiting for customer"),
            ((0, 3), "Waiting for customer"),
            ((0, 4), "To Do"),
            ((1, 5), "Done"),
            ((1, 1000), "Done"),
            ((2, 6), "Cancelled"),
        ],
    );
    assert_eq!(problems, []);
    let rows: Vec<(&str, i32, i32, StatusDirection, StatusSource)> = map
        .rows()
        .iter()
        .map(|row| {
            let name = match row.jira_status.as_str() {
                "1" => "To Do",
                "3" => "In Progress",
                "10001" => "Waiting for customer",
                "10002" => "Done",
                _ => "Cancelled",
            };
            (name, row.state, row.status, row.direction, row.source)
        })
        .collect();
    use StatusDirection::{Both, ToJira};
    use StatusSource::{Explicit, Heuristic};
    assert_eq!(
        rows,
        [
            ("To Do", 0, 4, Both, Explicit),
            ("In Progress", 0, 1, Both, Heuristic),
            ("Waiting for customer", 0, 2, Both, Explicit),
            ("Done", 1, 1000, Both, Explicit),
            ("Cancelled", 2, 6, Both, Heuristic),
            ("Waiting for customer", 0, 3, ToJira, Heuristic),
            ("Done", 1, 5, ToJira, Heuristic),
            ("Cancelled", 2, 2000, ToJira, Heuristic),
        ]
    );
}

#[test]
fn rows_show_one_way_pairs_and_labels() {
    let (map, _) = StatusMap::build("incident", &[], &typical(), &states(INCIDENT));
    let rows = map.rows();
    let to_do = &rows[0];
    assert_eq!(
        (
            to_do.jira_name.as_str(),
            to_do.state_label.as_str(),
            to_do.status_label.as_str()
        ),
        ("To Do", "Active", "In Progress")
    );
    assert_eq!(to_do.direction, StatusDirection::ToDataverse);
    assert_eq!(
        rows.len(),
        5 + 4,
        "five Jira rows, then 0/2, 0/4, 1/1000, 2/2000"
    );
    let json = serde_json::to_value(to_do).expect("rows serialise");
    assert_eq!(json["source"], "heuristic");
    assert_eq!(json["direction"], "to_dataverse");
    assert_eq!(json["jira_status"], "1");
}

#[test]
fn problems_are_reported_and_bad_pairs_ignored() {
    let explicit = [
        pair("99999", 0, 1),  // no such Jira status
        pair("3", 0, 5),      // 5 belongs to Resolved
        pair("10001", 0, 42), // no such status reason
        pair("10002", 1, 1000),
        pair("10002", 1, 5), // listed twice
    ];
    let (map, problems) = StatusMap::build("incident", &explicit, &typical(), &states(INCIDENT));
    assert_eq!(
        problems,
        [
            StatusProblem::UnknownJiraStatus {
                jira_status: "99999".into()
            },
            StatusProblem::StatusNotInState {
                jira_status: "3".into(),
                state: 0,
                status: 5,
                status_label: "Problem Solved".into(),
                belongs_to: 1,
            },
            StatusProblem::UnknownDataverseStatus {
                jira_status: "10001".into(),
                state: 0,
                status: 42
            },
            StatusProblem::DuplicateJiraStatus {
                jira_status: "10002".into()
            },
        ]
    );
    // The ignored pairs fall back to the heuristics; the first duplicate is kept.
    assert_eq!(map.to_dataverse("3"), Some((0, 1)));
    assert_eq!(map.to_dataverse("10001"), Some((0, 3)));
    assert_eq!(map.to_dataverse("10002"), Some((1, 1000)));
    assert_eq!(map.to_dataverse("99999"), None);
    assert_eq!(
        problems[1].to_string(),
        "the pair for Jira status 3 is ignored: status reason \"Problem Solved\" (5) belongs to state 1, not 0"
    );
}

#[test]
fn statuses_without_counterpart_are_reported() {
    // A workflow that never finishes, and a table that is only ever active.
    let workflow = vec![jira("1", "Open", New), jira("2", "Done", CatDone)];
    let active_only: Spec = &[(0, "Active", 1, &[(1, "Active")])];
    let (map, problems) = StatusMap::build("new_thing", &[], &workflow, &states(active_only));
    assert_eq!(map.to_dataverse("1"), Some((0, 1)));
    assert_eq!(
        problems,
        [StatusProblem::UnmatchedJiraStatus {
            jira_status: "2".into(),
            name: "Done".into()
        }]
    );
    assert_eq!(
        problems[0].to_string(),
        "Jira status \"Done\" (2) has no Dynamics status; add a pair for it"
    );

    let workflow = vec![
        jira("1", "To Do", New),
        jira("3", "In Progress", Indeterminate),
    ];
    let (map, problems) = StatusMap::build("incident", &[], &workflow, &states(INCIDENT));
    assert_eq!(map.to_jira(0, 2), Some("3"));
    let unmatched: Vec<(i32, i32)> = problems
        .iter()
        .map(|problem| match problem {
            StatusProblem::UnmatchedDataverseStatus { state, status, .. } => (*state, *status),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(unmatched, [(1, 5), (1, 1000), (2, 6), (2, 2000)]);
    assert_eq!(map.to_jira(1, 5), None);
}

#[test]
fn empty_metadata_trusts_explicit_pairs() {
    let (map, problems) = StatusMap::build(
        "incident",
        &[pair("7", 1, 5)],
        &[],
        &DataverseStates::default(),
    );
    assert_eq!(problems, []);
    assert_eq!(map.to_dataverse("7"), Some((1, 5)));
    assert_eq!(map.to_jira(1, 5), Some("7"));
    assert_eq!(map.rows(), []); // no names to show until metadata is read
}

#[test]
fn dataverse_states_lookups() {
    let dv = states(INCIDENT);
    assert_eq!(dv.state(1).map(|s| s.label.as_str()), Some("Resolved"));
    assert_eq!(dv.status(2000).map(|s| s.label.as_str()), Some("Merged"));
    assert_eq!(
        dv.statuses_of(1).map(|s| s.value).collect::<Vec<_>>(),
        [5, 1000]
    );
    assert_eq!(dv.default_status(2), Some(6));
    assert!(dv.belongs(1, 1000));
    assert!(!dv.belongs(0, 1000));
    assert_eq!(dv.status(77), None);
    let mut no_defaults = dv.clone();
    for state in &mut no_defaults.states {
        state.default_status = None;
    }
    assert_eq!(no_defaults.default_status(1), Some(5));
}

// ---- Dataverse writes ------------------------------------------------------------------------

#[test]
fn dataverse_write_plans() {
    let patch = |state, status| Some(W::Patch { state, status });
    let reopen = |then: W| {
        Some(W::Reopen {
            status: 1,
            then: Box::new(then),
        })
    };
    let cases: &[(&str, Key, Key, Option<W>)] = &[
        // Already there.
        ("incident", (1, 5), (1, 5), None),
        ("task", (0, 2), (0, 2), None),
        // Case: resolve through CloseIncident, never a PATCH of statecode 1.
        (
            "incident",
            (0, 1),
            (1, 5),
            Some(W::CloseIncident { status: 5 }),
        ),
        (
            "incident",
            (0, 3),
            (1, 1000),
            Some(W::CloseIncident { status: 1000 }),
        ),
        // Case: cancel and reopen are PATCHes.
        ("incident", (0, 1), (2, 6), patch(2, 6)),
        ("incident", (1, 5), (0, 1), patch(0, 1)),
        ("incident", (2, 6), (0, 4), patch(0, 4)),
        // Case: another reason within the active state.
        ("incident", (0, 1), (0, 2), patch(0, 2)),
        // Case: closed to closed reopens first.
        (
            "incident",
            (1, 5),
            (1, 1000),
            reopen(W::CloseIncident { status: 1000 }),
        ),
        (
            "incident",
            (2, 6),
            (1, 5),
            reopen(W::CloseIncident { status: 5 }),
        ),
        (
            "incident",
            (1, 5),
            (2, 6),
            reopen(W::Patch {
                state: 2,
                status: 6,
            }),
        ),
        (
            "Incident",
            (0, 1),
            (1, 5),
            Some(W::CloseIncident { status: 5 }),
        ),
        // Opportunity: win and lose are actions.
        (
            "opportunity",
            (0, 1),
            (1, 3),
            Some(W::WinOpportunity { status: 3 }),
        ),
        (
            "opportunity",
            (0, 2),
            (2, 5),
            Some(W::LoseOpportunity { status: 5 }),
        ),
        ("opportunity", (1, 3), (0, 1), patch(0, 1)),
        (
            "opportunity",
            (1, 3),
            (2, 4),
            reopen(W::LoseOpportunity { status: 4 }),
        ),
        ("opportunity", (0, 1), (0, 2), patch(0, 2)),
        // Lead: qualify is an action, disqualify a PATCH.
        ("lead", (0, 1), (1, 3), Some(W::QualifyLead { status: 3 })),
        ("lead", (0, 2), (2, 7), patch(2, 7)),
        ("lead", (2, 4), (0, 1), patch(0, 1)),
        ("lead", (2, 4), (1, 3), reopen(W::QualifyLead { status: 3 })),
        (
            "lead",
            (1, 3),
            (2, 5),
            reopen(W::Patch {
                state: 2,
                status: 5,
            }),
        ),
        // Everything else is a PATCH of the pair.
        ("task", (0, 2), (1, 5), patch(1, 5)),
        ("task", (1, 5), (2, 6), patch(2, 6)),
        ("task", (2, 6), (0, 3), patch(0, 3)),
        ("new_request", (0, 1), (1, 2), patch(1, 2)),
    ];
    for (table, current, target, want) in cases {
        assert_eq!(
            &plan_dataverse_write(table, *current, *target),
            want,
            "{table} {current:?} → {target:?}"
        );
    }
}

// ---- Jira moves ----------------------------------------------------------------------------

fn transition(id: &str, name: &str, to: Status) -> Transition {
    Transition {
        id: id.to_owned(),
        name: name.to_owned(),
        to,
        has_screen: false,
        is_available: None,
        fields: None,
    }
}

fn from_to_do() -> Vec<Transition> {
    let w = typical();
    vec![
        // Names lie on purpose: only `to.id` counts.
        transition("11", "Done", w[1].clone()),
        transition("21", "Ask customer", w[2].clone()),
        transition("31", "Start", w[2].clone()),
        transition("41", "Reset", w[0].clone()),
    ]
}

#[test]
fn jira_move_already_there() {
    assert_eq!(plan_jira_move("3", "3", &[]), JiraStatusMove::AlreadyThere);
}

#[test]
fn jira_move_matches_target_status_id_not_name() {
    assert_eq!(
        plan_jira_move("1", "3", &from_to_do()),
        JiraStatusMove::Transition {
            transition_id: "11".into(),
            to: "In Progress".into()
        }
    );
}

#[test]
fn jira_move_prefers_available_transitions_without_screen() {
    let mut transitions = from_to_do();
    transitions[1].has_screen = true;
    assert_eq!(
        plan_jira_move("1", "10001", &transitions),
        JiraStatusMove::Transition {
            transition_id: "31".into(),
            to: "Waiting for customer".into()
        }
    );
    transitions[2].is_available = Some(false);
    assert_eq!(
        plan_jira_move("1", "10001", &transitions),
        JiraStatusMove::Transition {
            transition_id: "21".into(),
            to: "Waiting for customer".into()
        }
    );
}

#[test]
fn jira_move_without_transition_names_what_is_reachable() {
    let mut transitions = from_to_do();
    transitions.push(transition(
        "51",
        "Park",
        jira("10001", "Waiting for customer", Indeterminate),
    ));
    let mut gone = transition("61", "Drop", jira("10003", "Cancelled", CatDone));
    gone.is_available = Some(false);
    transitions.push(gone);
    let plan = plan_jira_move("1", "10002", &transitions);
    assert_eq!(
        plan,
        JiraStatusMove::NoTransition {
            from: "1".into(),
            target_status: "10002".into(),
            available: vec!["In Progress".into(), "Waiting for customer".into()],
            from_name: Some("To Do".into()),
            target_name: None,
        }
    );
    assert_eq!(
        plan.to_string(),
        "The Jira workflow has no transition from \"To Do\" to status 10002; add one, or map the Dynamics status to a status reachable from \"To Do\" (\"In Progress\", \"Waiting for customer\")"
    );
    assert_eq!(
        plan.named(&typical()).to_string(),
        "The Jira workflow has no transition from \"To Do\" to \"Done\"; add one, or map the Dynamics status to a status reachable from \"To Do\" (\"In Progress\", \"Waiting for customer\")"
    );
}

#[test]
fn jira_move_with_no_transitions_hints_at_permission() {
    let plan = plan_jira_move("3", "10002", &[]).named(&typical());
    assert_eq!(
        plan.to_string(),
        "The Jira workflow has no transition from \"In Progress\" to \"Done\"; add one, or map the Dynamics status to a status reachable from \"In Progress\" (none is: check that the Jira account may transition issues)"
    );
}

// ---- most recent wins ------------------------------------------------------------------------

#[test]
fn most_recent_side_wins_after_baseline() {
    let baseline = datetime!(2025-03-01 12:00:00 UTC);
    let early = Some(datetime!(2025-03-01 11:00:00 UTC));
    let at_baseline = Some(baseline);
    let t1 = Some(datetime!(2025-03-01 12:05:00 UTC));
    let t2 = Some(datetime!(2025-03-01 12:06:00 UTC));
    let t2_later_ms = Some(datetime!(2025-03-01 12:06:00.700 UTC));
    let t2_plus_1s = Some(datetime!(2025-03-01 12:06:01 UTC));
    let none: Option<OffsetDateTime> = None;
    let cases = [
        // (jira, dataverse, winner)
        (none, none, Winner::Neither),
        (early, early, Winner::Neither),
        (at_baseline, at_baseline, Winner::Neither),
        (at_baseline, none, Winner::Neither),
        (t1, none, Winner::Jira),
        (t1, early, Winner::Jira),
        (none, t1, Winner::Dataverse),
        (at_baseline, t1, Winner::Dataverse),
        (t2, t1, Winner::Jira),
        (t1, t2, Winner::Dataverse),
        (t2, t2, Winner::Dataverse),
        // Same second: Jira's milliseconds do not beat Dataverse's whole seconds.
        (t2_later_ms, t2, Winner::Dataverse),
        (t2_plus_1s, t2, Winner::Jira),
    ];
    for (jira_at, dataverse_at, want) in cases {
        assert_eq!(
            most_recent_wins(jira_at, dataverse_at, baseline),
            want,
            "jira {jira_at:?}, dataverse {dataverse_at:?}"
        );
    }
}

#[test]
fn problems_serialise_with_a_kind() {
    let problem = StatusProblem::UnmatchedDataverseStatus {
        state: 2,
        status: 2000,
        label: "Merged".into(),
    };
    let json = serde_json::to_value(&problem).expect("problems serialise");
    assert_eq!(json["kind"], "unmatched_dataverse_status");
    assert_eq!(json["label"], "Merged");
    assert_eq!(
        problem.to_string(),
        "Dynamics status \"Merged\" (2/2000) has no Jira status; add a pair for it"
    );
}
