//! The seed's troubleshooting guide, row by row, against the sandbox: each misconfiguration ends
//! the run (or, when it concerns one record, its event) with a message that says what to fix,
//! never shows a secret, and leaves no partial or duplicate data behind; fixing it and running
//! again completes the work exactly once. Network trouble mid-run costs retries, not data.

mod common;

use common::{base_settings, count, status_settings, Harness, ISSUE_TYPE, PROJECT, RESOLUTION};
use crosswalk_core::{ConnectionSettings, RunStatus, UserFacing};
use crosswalk_sandbox::dataverse::Privilege;
use crosswalk_sandbox::{identity, jira, Fault, FaultRule, Server};
use crosswalk_store::{EventAction, EventRow, RunRow};
use serde_json::json;

/// Issues of the item's project (every issue the connector could have created lands there).
fn project_issues(h: &Harness) -> usize {
    h.sandbox.handle.jira(|j| {
        let project = j.project(PROJECT).unwrap().id.clone();
        j.issues.iter().filter(|i| i.project == project).count()
    })
}

/// The run's admin-facing error; it must carry a fix and no secret.
fn error_of(run: &RunRow) -> UserFacing {
    let error = run.error.clone().expect("the failed run says why");
    assert!(error.fix.is_some(), "no fix: {error:?}");
    no_secrets(&format!(
        "{} {}",
        error.message,
        error.fix.as_deref().unwrap_or("")
    ));
    error
}

fn no_secrets(text: &str) {
    for secret in [
        identity::CLIENT_SECRET,
        jira::ADMIN_API_TOKEN,
        "wrong-secret-value",
        "wrong-token",
    ] {
        assert!(!text.contains(secret), "a secret in: {text}");
    }
}

fn failed(events: &[EventRow]) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| e.action == EventAction::Failed)
        .collect()
}

/// A case created after the baseline, with nothing synced yet.
async fn pending_case(h: &Harness, title: &str) -> String {
    h.poll().await;
    h.tick().await;
    h.create_case(title, json!({"description": "Waiting for sync"}))
}

/// After the fix: one issue, one link, one link note for the case, and quiet afterwards.
async fn completes_once(h: &Harness, case: &str, issues_before: usize) {
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Created),
        1,
        "{events:#?}"
    );
    let key = h.link_of(case).jira_key;
    assert_eq!(h.issues_for_case(case), vec![key.clone()]);
    assert_eq!(project_issues(h), issues_before + 1);
    let notes = h.notes_of(case);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].1.contains(&key));
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(count(&events, "issue", EventAction::Created), 0);
    assert_eq!(project_issues(h), issues_before + 1);
    assert_eq!(h.notes_of(case).len(), 1);
}

fn set_org_url(h: &Harness, url: &str) {
    let mut connection = common::connections(&h.sandbox).remove(0);
    if let ConnectionSettings::Dataverse { org_url, .. } = &mut connection.settings {
        *org_url = url.parse().unwrap();
    }
    h.store().upsert_connection(&connection).unwrap();
}

#[tokio::test]
async fn a_wrong_organization_url_names_the_url_to_fix() {
    let h = Harness::start(base_settings()).await;
    let case = pending_case(&h, "Wrong org").await;
    let before = project_issues(&h);
    // An environment URL this tenant does not have (a typo, another tenant's org).
    set_org_url(&h, "http://127.0.0.1:9/");
    let (run, _) = h.failing_run().await;
    let error = error_of(&run);
    assert!(error.message.contains("127.0.0.1:9"), "{error:?}");
    assert!(error
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("Environment URL"));
    assert_eq!(project_issues(&h), before);
    assert!(h.links().is_empty());

    set_org_url(&h, h.sandbox.urls.dataverse.as_str());
    completes_once(&h, &case, before).await;
}

#[tokio::test]
async fn a_wrong_client_secret_or_its_id_asks_for_the_secret_value() {
    let h = Harness::start(base_settings()).await;
    let case = pending_case(&h, "Wrong secret").await;
    let before = project_issues(&h);
    // What Entra sees when the admin pasted the secret's ID, or an old value.
    h.sandbox.handle.identity(|i| {
        i.app_mut(identity::CLIENT_ID).unwrap().secrets[0].value = "wrong-secret-value".into();
    });
    h.sandbox.handle.identity(|i| i.expire_all_tokens());
    let (run, _) = h.failing_run().await;
    let error = error_of(&run);
    assert!(error.message.contains("client secret"), "{error:?}");
    assert!(error
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("not its Secret ID"));
    assert_eq!(project_issues(&h), before);

    h.sandbox.handle.identity(|i| {
        i.app_mut(identity::CLIENT_ID).unwrap().secrets[0].value = identity::CLIENT_SECRET.into();
    });
    completes_once(&h, &case, before).await;
}

#[tokio::test]
async fn a_missing_application_user_points_to_the_power_platform_admin_center() {
    let h = Harness::start(base_settings()).await;
    let case = pending_case(&h, "No app user").await;
    let before = project_issues(&h);
    let user = h
        .sandbox
        .handle
        .dataverse(|d| d.remove_application_user(identity::CLIENT_ID))
        .unwrap();
    let (run, _) = h.failing_run().await;
    let error = error_of(&run);
    assert!(error.message.contains("application user"), "{error:?}");
    assert!(error
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("Application users"));
    assert_eq!(project_issues(&h), before);

    h.sandbox.handle.dataverse(|d| {
        d.application_users
            .insert(identity::CLIENT_ID.to_ascii_lowercase(), user);
    });
    completes_once(&h, &case, before).await;
}

#[tokio::test]
async fn a_role_without_read_on_the_table_names_privilege_and_table() {
    let h = Harness::start(base_settings()).await;
    let case = pending_case(&h, "Narrow role").await;
    let before = project_issues(&h);
    h.sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(identity::CLIENT_ID, "incident", Privilege::Read));
    let (run, _) = h.failing_run().await;
    let error = error_of(&run);
    assert!(
        error.message.contains("Read") && error.message.contains("incident"),
        "{error:?}"
    );
    assert!(error.fix.as_deref().unwrap_or("").contains("security role"));
    assert_eq!(project_issues(&h), before);

    h.sandbox
        .handle
        .dataverse(|d| d.grant_privilege(identity::CLIENT_ID, "incident", Privilege::Read));
    completes_once(&h, &case, before).await;
}

#[tokio::test]
async fn a_role_without_create_on_notes_fails_the_copy_with_the_fix_and_retries_it_once() {
    let mut settings = base_settings();
    settings["comments"] = json!(true);
    let h = Harness::start(settings).await;
    h.poll().await;
    let (case, key) = h.linked_case("Notes refused").await;
    h.sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(identity::CLIENT_ID, "annotation", Privilege::Create));
    h.tick().await;
    h.comment_on(&key, "Please call the customer");
    let (run_id, _) = h.run(false).await;
    let events = h.events(run_id);
    let failures = failed(&events);
    assert_eq!(failures.len(), 1, "{events:#?}");
    let failure = failures[0];
    assert!(
        failure.message.contains("Create") && failure.message.contains("annotation"),
        "{failure:#?}"
    );
    assert!(failure
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("security role"));
    no_secrets(&failure.message);
    assert_eq!(h.notes_of(&case).len(), 1, "only the link note");

    h.sandbox
        .handle
        .dataverse(|d| d.grant_privilege(identity::CLIENT_ID, "annotation", Privilege::Create));
    h.tick().await;
    h.comment_on(&key, "Customer called back");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        2,
        "{events:#?}"
    );
    for _ in 0..2 {
        h.tick().await;
        let (_, events) = h.poll().await;
        assert_eq!(count(&events, "comment", EventAction::Created), 0);
    }
    let notes = h.notes_of(&case);
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.2.contains("Please call the customer"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_role_without_create_on_notes_leaves_no_half_linked_issue() {
    let h = Harness::start(base_settings()).await;
    let case = pending_case(&h, "Link note refused").await;
    let before = project_issues(&h);
    h.sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(identity::CLIENT_ID, "annotation", Privilege::Create));
    let (run_id, _) = h.run(false).await;
    let run = h.store().get_run(run_id).unwrap();
    let events = h.events(run_id);
    let said = run
        .error
        .clone()
        .map(|e| format!("{} {}", e.message, e.fix.unwrap_or_default()))
        .into_iter()
        .chain(
            failed(&events)
                .iter()
                .map(|e| format!("{} {}", e.message, e.fix.clone().unwrap_or_default())),
        )
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        said.contains("Create") && said.contains("annotation") && said.contains("security role"),
        "{run:#?}\n{events:#?}"
    );
    no_secrets(&said);
    // At most the one issue, never a second one on the next run.
    assert!(project_issues(&h) <= before + 1);

    h.sandbox
        .handle
        .dataverse(|d| d.grant_privilege(identity::CLIENT_ID, "annotation", Privilege::Create));
    h.poll().await;
    h.tick().await;
    h.poll().await;
    let key = h.link_of(&case).jira_key;
    assert_eq!(h.issues_for_case(&case), vec![key.clone()]);
    assert_eq!(project_issues(&h), before + 1);
    let notes = h.notes_of(&case);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].1.contains(&key));
}

#[tokio::test]
async fn a_wrong_jira_token_asks_for_a_new_api_token() {
    let h = Harness::start(base_settings()).await;
    let case = pending_case(&h, "Wrong token").await;
    let before = project_issues(&h);
    let set_token = |token: &str| {
        h.sandbox.handle.jira(|j| {
            for account in &mut j.accounts {
                if account.email == jira::ADMIN_EMAIL {
                    account.api_token = token.to_owned();
                }
            }
        });
    };
    set_token("wrong-token");
    let (run, _) = h.failing_run().await;
    let error = error_of(&run);
    assert!(error.message.to_lowercase().contains("jira"), "{error:?}");
    assert!(error.fix.as_deref().unwrap_or("").contains("API token"));
    assert_eq!(project_issues(&h), before);

    set_token(jira::ADMIN_API_TOKEN);
    completes_once(&h, &case, before).await;
}

#[tokio::test]
async fn an_issue_type_that_is_gone_names_the_project_and_the_fix() {
    let mut settings = base_settings();
    settings["jira_issue_type"] = json!("99999");
    let h = Harness::start(settings).await;
    let (run, _) = h.failing_run().await;
    let error = error_of(&run);
    assert!(
        error.message.contains(PROJECT) && error.message.contains("99999"),
        "{error:?}"
    );
    assert!(error.fix.as_deref().unwrap_or("").contains("issue types"));
    assert!(h.links().is_empty());
    let _ = ISSUE_TYPE;
}

#[tokio::test]
async fn a_project_that_is_gone_says_so() {
    let mut settings = base_settings();
    settings["jira_project"] = json!("GONE");
    let h = Harness::start(settings).await;
    let (run, _) = h.failing_run().await;
    let error = error_of(&run);
    assert!(
        error.message.contains("project GONE does not exist"),
        "{error:?}"
    );
    assert!(error
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("Browse projects"));
    assert!(h.links().is_empty());
}

#[tokio::test]
async fn no_create_permission_in_jira_names_the_permission_and_makes_one_issue_once_granted() {
    let h = Harness::start(base_settings()).await;
    let case = pending_case(&h, "No create permission").await;
    let before = project_issues(&h);
    let can_write = |allowed: bool| {
        h.sandbox.handle.jira(|j| {
            for account in &mut j.accounts {
                if account.email == jira::ADMIN_EMAIL {
                    account.can_write = allowed;
                }
            }
        });
    };
    can_write(false);
    // The refusal concerns each record: the run goes on and says per record what to fix.
    let (run_id, _) = h.run(false).await;
    let events = h.events(run_id);
    let failures = failed(&events);
    assert_eq!(failures.len(), 1, "{events:#?}");
    assert!(
        failures[0]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("Create issues"),
        "{:#?}",
        failures[0]
    );
    no_secrets(&failures[0].message);
    assert_eq!(project_issues(&h), before);
    assert!(h.links().is_empty());
    assert!(h.notes_of(&case).is_empty());

    // Still refused a while later, past the poll's overlap window, with a newer case too.
    h.sandbox.handle.advance_clock(time::Duration::minutes(10));
    let later = h.create_case("Created later", json!({}));
    let (run_id, _) = h.run(false).await;
    assert_eq!(failed(&h.events(run_id)).len(), 2);
    assert_eq!(project_issues(&h), before);

    can_write(true);
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Created),
        2,
        "{events:#?}"
    );
    for id in [&case, &later] {
        let key = h.link_of(id).jira_key;
        assert_eq!(h.issues_for_case(id), vec![key]);
        assert_eq!(h.notes_of(id).len(), 1);
    }
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(count(&events, "issue", EventAction::Created), 0);
    assert_eq!(project_issues(&h), before + 2);
}

#[tokio::test]
async fn a_mapped_column_deleted_from_the_table_names_the_mapping_to_fix() {
    let h = Harness::start(base_settings()).await;
    let case = pending_case(&h, "Column gone").await;
    let before = project_issues(&h);
    // The admin deletes the custom column in Power Apps after the item was set up.
    h.sandbox.handle.dataverse(|d| {
        let table = d.table_mut("incident").unwrap();
        table.attributes.retain(|a| a.logical_name != "description");
    });
    let (run, _) = h.failing_run().await;
    let error = error_of(&run);
    assert!(
        error.message.contains("description") && error.message.contains("incident"),
        "{error:?}"
    );
    assert!(error.fix.as_deref().unwrap_or("").contains("mapping"));
    assert_eq!(project_issues(&h), before);
    assert!(h.links().is_empty());
    let _ = case;
}

#[tokio::test]
async fn network_trouble_mid_run_costs_retries_not_data() {
    let mut settings = base_settings();
    settings["comments"] = json!(true);
    let h = Harness::start(settings).await;
    h.poll().await;
    let (case, key) = h.linked_case("Flaky network").await;
    h.tick().await;
    let second = h.create_case("Second case", json!({}));
    h.add_note(&case, "Call", "Customer called");
    h.comment_on(&key, "Working on it");

    // Throttling and outages with Retry-After, and dropped connections on reads.
    let handle = &h.sandbox.handle;
    handle.fail_next(
        Server::Jira,
        "/search",
        1,
        Fault::Throttle {
            retry_after_secs: 1,
        },
    );
    handle.fail_next(
        Server::Dataverse,
        "/annotations",
        1,
        Fault::Status {
            status: 503,
            retry_after_secs: Some(1),
        },
    );
    handle.fail_next(Server::Dataverse, "/incidents", 1, Fault::Reset);
    handle.fail_next(Server::Jira, "/comment", 1, Fault::Reset);
    let (run, _) = h.poll().await;
    assert!(
        h.sandbox.handle.fault_rules().is_empty(),
        "every fault was hit"
    );
    let retries: u64 = run.requests.values().map(|r| r.retries).sum();
    let throttled: u64 = run.requests.values().map(|r| r.throttled).sum();
    assert!(retries >= 4 && throttled >= 2, "{:?}", run.requests);

    // A connection lost while the issue is being created fails the run; running it again
    // makes the issue exactly once.
    h.tick().await;
    let third = h.create_case("Third case", json!({}));
    handle.add_fault(FaultRule {
        server: Server::Jira,
        route: Some("/rest/api/3/issue".into()),
        method: Some("POST".into()),
        fault: Fault::Reset,
        times: Some(1),
    });
    let (run_id, _) = h.run(false).await;
    let run = h.store().get_run(run_id).unwrap();
    if let Some(error) = &run.error {
        assert!(error.fix.is_some(), "{error:?}");
    }
    h.sandbox.handle.clear_faults();
    for _ in 0..2 {
        h.tick().await;
        h.poll().await;
    }
    for id in [&case, &second, &third] {
        assert_eq!(h.issues_for_case(id).len(), 1, "case {id}");
        h.link_of(id);
        assert_eq!(
            h.notes_of(id)
                .iter()
                .filter(|n| n.1.starts_with("Linked to Jira"))
                .count(),
            1,
            "{:?}",
            h.notes_of(id)
        );
    }
    let comments = h.comments_of(&key);
    assert_eq!(
        comments
            .iter()
            .filter(|c| c.contains("Customer called"))
            .count(),
        1,
        "{comments:?}"
    );
    assert_eq!(
        h.notes_of(&case)
            .iter()
            .filter(|n| n.2.contains("Working on it"))
            .count(),
        1
    );
}

/// Takes the activity Create privilege a Case resolution needs (Dataverse shares it across the
/// built-in activity tables) away from the connector's role, or gives it back.
fn set_activity_create(h: &Harness, granted: bool) {
    h.sandbox.handle.dataverse(|d| {
        for table in ["task", "incidentresolution"] {
            if granted {
                d.grant_privilege(identity::CLIENT_ID, table, Privilege::Create);
            } else {
                d.revoke_privilege(identity::CLIENT_ID, table, Privilege::Create);
            }
        }
    });
}

/// Status events of a run with `action`.
fn status_events(events: &[EventRow], action: EventAction) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| e.object_kind.as_deref() == Some("status") && e.action == action)
        .collect()
}

/// The seed's "Closing a Jira issue does not resolve the Case" row at sync time: the role
/// cannot create the Case resolution `CloseIncident` writes. The move is reported once with
/// the privilege and the fix, the Case is left as it was, the move is tried again at every
/// poll, and it applies once (one resolution) when the admin grants the privilege.
#[tokio::test]
async fn a_case_close_the_role_refuses_names_the_privilege_and_applies_once_granted() {
    let (h, case, key) = Harness::with_case(
        status_settings("one_way"),
        "Close refused",
        json!({"description": "Needs a resolution"}),
    )
    .await;
    assert_eq!(h.issue_status(&key), "In Progress");
    set_activity_create(&h, false);
    h.transition(&key, "Resolved");

    let (status, run, events) = h.run_events().await;
    assert_ne!(status, RunStatus::Failed, "one link's refusal: {run:#?}");
    let failures = failed(&events);
    assert_eq!(failures.len(), 1, "{events:#?}");
    let reported = status_events(&events, EventAction::Failed);
    assert_eq!(reported.len(), 1, "{events:#?}");
    let message = &reported[0].message;
    assert!(
        message.contains("CloseIncident")
            && message.contains("Create privilege on the incidentresolution table"),
        "{message}"
    );
    let fix = reported[0].fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("security role")
            && fix.contains("grant Create (organization level) on the incidentresolution table")
            && fix.contains("tries the status change again at every poll"),
        "{fix}"
    );
    no_secrets(&format!("{message} {fix}"));
    assert_eq!(h.case_status(&case), (0, 1), "the Case is unchanged");
    assert!(h.resolutions_of(&case).is_empty());

    // Still refused: tried again at every poll, not reported again, nothing written.
    for _ in 0..2 {
        h.tick().await;
        let (_, events) = h.poll().await;
        assert!(Harness::writes(&events).is_empty(), "{events:#?}");
    }
    assert_eq!(h.case_status(&case), (0, 1));
    assert!(h.resolutions_of(&case).is_empty());
    let pending = h.link_of(&case).state["status_pending"].clone();
    assert_eq!(pending["side"], "dynamics", "{pending}");
    assert_eq!(pending["attempts"], 3, "{pending}");

    // The admin grants the privilege: the next poll resolves the Case, once.
    set_activity_create(&h, true);
    let (_, events) = h.poll().await;
    let updated = status_events(&events, EventAction::Updated);
    assert_eq!(updated.len(), 1, "{events:#?}");
    assert!(
        updated[0].message.contains("CloseIncident")
            && updated[0].message.contains("applied after 4 attempts"),
        "{}",
        updated[0].message
    );
    assert_eq!(h.case_status(&case), (1, 5), "Resolved / Problem Solved");
    assert_eq!(h.resolutions_of(&case), vec![(RESOLUTION.to_owned(), 1, 2)]);
    assert_eq!(h.issue_status(&key), "Resolved", "nothing echoed back");
    assert!(h.link_of(&case).state.get("status_pending").is_none());
    h.assert_quiet(2).await;
    assert_eq!(h.resolutions_of(&case).len(), 1);
}
