//! The item wizard's catalogue and the links panel against the sandbox's Dataverse, Jira and
//! login servers, over real HTTP, with a real store.

use super::*;
use crosswalk_core::{Cloud, ConnectionConfig, ConnectionSettings, JobConfig, Schedule, SecretRef};
use crosswalk_sandbox::{identity, jira, Sandbox, SandboxOptions, Size};
use crosswalk_store::{NewLink, Store};
use serde_json::json;
use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::Arc;

const JOB: &str = "cases";

struct World {
    _sandbox: Sandbox,
    services: Services,
}

fn secrets() -> crosswalk_secrets::Secrets {
    let map: HashMap<String, OsString> = [
        ("DV_SECRET", identity::CLIENT_SECRET),
        ("JIRA_TOKEN", jira::ADMIN_API_TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), OsString::from(v)))
    .collect();
    crosswalk_secrets::Secrets::new(crosswalk_secrets::Keychain::with_service(
        "crosswalk-api-tests",
    ))
    .with_env_lookup(move |var: &str| map.get(var).cloned())
}

/// A sandbox with a `dynamics` and a `jira` connection and a display-only item on Cases.
async fn world() -> World {
    let sandbox = Sandbox::start(SandboxOptions {
        size: Size::Tiny,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let store = Store::open_in_memory().unwrap();
    store
        .upsert_connection(&ConnectionConfig {
            name: "dynamics".into(),
            settings: ConnectionSettings::Dataverse {
                org_url: sandbox.urls.dataverse.clone(),
                tenant_id: identity::TENANT_ID.into(),
                client_id: identity::CLIENT_ID.into(),
                cloud: Cloud::Custom,
                authority_url: Some(sandbox.urls.login.clone()),
            },
            secret: Some(SecretRef::Env("DV_SECRET".into())),
        })
        .unwrap();
    store
        .upsert_connection(&ConnectionConfig {
            name: "jira".into(),
            settings: ConnectionSettings::Jira {
                site_url: sandbox.urls.jira.clone(),
                email: jira::ADMIN_EMAIL.into(),
                assets_api_url: None,
            },
            secret: Some(SecretRef::Env("JIRA_TOKEN".into())),
        })
        .unwrap();
    store
        .upsert_job(&JobConfig {
            name: JOB.into(),
            kind: crosswalk_dynamics::KIND.into(),
            schedule: Schedule::Off,
            enabled: true,
            settings: json!({
                "dataverse_connection": "dynamics",
                "jira_connection": "jira",
                "mode": "display_only",
                "jira_project": "SUP",
                "jira_issue_type": "10004",
                "module": "Dynamics 365 Customer Service",
                "table": "incident",
                "fields": [
                    {"dataverse": "title", "jira": "summary"},
                    {"dataverse": "prioritycode", "jira": "priority"}
                ]
            }),
        })
        .unwrap();
    store
        .upsert_job(&JobConfig {
            name: "health".into(),
            kind: "health-check".into(),
            schedule: Schedule::Off,
            enabled: true,
            settings: json!({}),
        })
        .unwrap();
    World {
        _sandbox: sandbox,
        services: Services::new(Arc::new(store), Arc::new(secrets())),
    }
}

fn query(
    table: Option<&str>,
    project: Option<&str>,
    issue_type: Option<&str>,
) -> DynamicsCatalogueQuery {
    DynamicsCatalogueQuery {
        dataverse_connection: "dynamics".into(),
        jira_connection: "jira".into(),
        table: table.map(str::to_owned),
        project: project.map(str::to_owned),
        issue_type: issue_type.map(str::to_owned),
    }
}

fn app_error(error: anyhow::Error) -> crate::AppError {
    crate::AppError::from(error)
}

#[tokio::test]
async fn catalogue_groups_tables_into_the_seeds_modules_and_lists_projects() {
    let world = world().await;
    let offered = catalogue(&world.services, &query(None, None, None))
        .await
        .unwrap();
    let labels: Vec<&str> = offered.modules.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(
        labels[..3],
        [
            "Dynamics 365 Customer Service (Case)",
            "Dynamics 365 Sales (Lead, Opportunity)",
            "Activities (Task)",
        ]
    );
    let case = &offered.modules[0].tables[0];
    assert_eq!(
        (
            case.logical_name.as_str(),
            case.display_name.as_str(),
            case.module.as_str()
        ),
        ("incident", "Case", "Dynamics 365 Customer Service")
    );
    assert!(case.change_tracking);
    let others = offered.modules.last().unwrap();
    assert_eq!(others.name, "Dataverse");
    let other_tables: Vec<&str> = others
        .tables
        .iter()
        .map(|t| t.logical_name.as_str())
        .collect();
    assert!(other_tables.contains(&"account"), "{other_tables:?}");
    assert!(!other_tables.contains(&"incident"));
    let projects: Vec<&str> = offered.projects.iter().map(|p| p.key.as_str()).collect();
    assert!(
        projects.contains(&"SUP") && projects.contains(&"ENG"),
        "{projects:?}"
    );
    assert!(offered.issue_types.is_empty());
    assert!(offered.mapping.is_none());

    let with_project = catalogue(&world.services, &query(Some("incident"), Some("SUP"), None))
        .await
        .unwrap();
    let types: Vec<(&str, &str)> = with_project
        .issue_types
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    assert_eq!(types, [("10004", "Service Request"), ("10005", "Incident")]);
    assert!(with_project.mapping.is_none(), "no issue type yet");
}

#[tokio::test]
async fn catalogue_reads_columns_fields_compatibility_and_the_heuristic_status_map() {
    let world = world().await;
    let offered = catalogue(
        &world.services,
        &query(Some("incident"), Some("SUP"), Some("10005")),
    )
    .await
    .unwrap();
    let mapping = offered
        .mapping
        .expect("table, project and issue type chosen");
    let column = |name: &str| {
        mapping
            .columns
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    assert_eq!(column("title").data_type, "Text");
    let priority = column("prioritycode");
    assert_eq!(priority.data_type, "Choice");
    assert!(!priority.options.is_empty());
    assert!(priority
        .options
        .iter()
        .all(|o| o.value.parse::<i32>().is_ok()));
    let reasons = column("statuscode");
    assert!(reasons.options.iter().all(|o| o.state.is_some()));

    let ids: Vec<&str> = mapping.fields.iter().map(|f| f.id.as_str()).collect();
    assert!(
        !ids.contains(&"project") && !ids.contains(&"issuetype"),
        "{ids:?}"
    );
    // Required fields first: Incidents need summary and customfield_10014.
    let required: Vec<&str> = mapping
        .fields
        .iter()
        .take_while(|f| f.required)
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(required.len(), 2, "{required:?}");
    assert!(required.contains(&"summary") && required.contains(&"customfield_10014"));
    let priority_field = mapping.fields.iter().find(|f| f.id == "priority").unwrap();
    assert_eq!(priority_field.data_type, "Priority");
    assert!(!priority_field.allowed_values.is_empty());

    assert_eq!(
        mapping.compatibility.len(),
        mapping.columns.len() * mapping.fields.len(),
        "one entry per column and field"
    );
    let compat = |column: &str, field: &str| {
        mapping
            .compatibility
            .iter()
            .find(|c| c.column == column && c.field == field)
            .unwrap_or_else(|| panic!("no entry for {column} × {field}"))
    };
    assert_eq!(compat("title", "summary").level, CompatibilityLevel::Exact);
    assert_eq!(compat("title", "summary").reason, None);
    assert_eq!(
        compat("prioritycode", "priority").level,
        CompatibilityLevel::Exact
    );
    let labels = compat("title", "labels");
    assert_eq!(labels.level, CompatibilityLevel::Lossy);
    assert!(labels
        .reason
        .as_deref()
        .unwrap()
        .contains("split at commas"));
    let incompatible = compat("createdon", "labels");
    assert_eq!(incompatible.level, CompatibilityLevel::Incompatible);
    assert!(incompatible.reason.is_some());

    let statuses: Vec<&str> = mapping
        .jira_statuses
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert!(statuses.contains(&"Waiting for customer"), "{statuses:?}");
    assert!(mapping.jira_statuses.iter().any(|s| s.category == "done"));
    assert!(!mapping.states.is_empty() && !mapping.statuses.is_empty());
    assert!(!mapping.status_rows.is_empty());
    assert!(mapping
        .status_rows
        .iter()
        .all(|row| row.source == crosswalk_dynamics::status::StatusSource::Heuristic));
    // Every Jira status of the workflow has a Dataverse pair or a problem saying it has none.
    for status in &mapping.jira_statuses {
        assert!(
            mapping
                .status_rows
                .iter()
                .any(|row| row.jira_status == status.id)
                || mapping
                    .status_problems
                    .iter()
                    .any(|p| p.contains(&status.name)),
            "{} is neither mapped nor reported",
            status.name
        );
    }
}

#[tokio::test]
async fn catalogue_failures_say_what_to_fix() {
    let world = world().await;
    let unknown_project = app_error(
        catalogue(&world.services, &query(None, Some("NOPE"), None))
            .await
            .unwrap_err(),
    );
    assert_eq!(unknown_project.code, Code::NotFound);
    assert!(
        unknown_project.message.contains("NOPE"),
        "{unknown_project:?}"
    );
    assert!(unknown_project.fix.unwrap().contains("Pick a project"));

    let unknown_table = app_error(
        catalogue(
            &world.services,
            &query(Some("nosuchtable"), Some("SUP"), Some("10004")),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(unknown_table.code, Code::NotFound);
    assert!(
        unknown_table.message.contains("nosuchtable"),
        "{unknown_table:?}"
    );

    let wrong_type = app_error(
        catalogue(
            &world.services,
            &query(Some("incident"), Some("SUP"), Some("10001")),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(wrong_type.code, Code::NotFound, "{wrong_type:?}");
    assert!(wrong_type.fix.unwrap().contains("SUP"));

    let mut missing = query(None, None, None);
    missing.jira_connection = "dynamics".into();
    let wrong_kind = app_error(catalogue(&world.services, &missing).await.unwrap_err());
    assert_eq!(wrong_kind.code, Code::Validation, "{wrong_kind:?}");
    assert!(wrong_kind.fix.is_some());

    missing.jira_connection = String::new();
    let empty = app_error(catalogue(&world.services, &missing).await.unwrap_err());
    assert_eq!(empty.code, Code::Validation);
    assert!(empty.message.contains("Choose a Dataverse connection"));
}

#[tokio::test]
async fn links_panel_searches_both_sides_links_previews_and_unlinks() {
    let world = world().await;
    let services = &world.services;
    assert!(links(services, JOB).unwrap().is_empty());

    let issues = search(services, JOB, DynamicsSide::Jira, "").await.unwrap();
    assert_eq!(issues.side, DynamicsSide::Jira);
    assert!(issues.records.is_empty());
    let issue = issues
        .issues
        .iter()
        .find(|hit| hit.linked_to.is_none())
        .expect("an unlinked SUP issue")
        .clone();
    assert!(issue.key.starts_with("SUP-"), "{issue:?}");

    let records = search(services, JOB, DynamicsSide::Dynamics, "")
        .await
        .unwrap();
    assert!(records.issues.is_empty());
    let record = records.records.first().expect("a case").clone();
    // Searching by a word of the name finds the record again.
    let word = record.name.split_whitespace().next().unwrap().to_owned();
    let again = search(services, JOB, DynamicsSide::Dynamics, &word)
        .await
        .unwrap();
    assert!(again.records.iter().any(|hit| hit.id == record.id));

    let preview_of_link = link(services, JOB, &issue.key, &record.id).await.unwrap();
    assert_eq!(preview_of_link.jira_key, issue.key);
    assert_eq!(preview_of_link.record_id, record.id);
    assert_eq!(preview_of_link.record_name, record.name);
    assert_eq!(preview_of_link.managed, "manual");
    let mapped: Vec<&str> = preview_of_link
        .fields
        .iter()
        .map(|f| f.dataverse_column.as_str())
        .collect();
    assert_eq!(mapped, ["title", "prioritycode"]);

    let rows = links(services, JOB).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].jira_key, issue.key);
    assert_eq!(rows[0].record_id, record.id);
    assert_eq!(rows[0].table, "incident");
    assert_eq!(rows[0].managed, LinkManaged::Manual);

    let refreshed = preview(services, JOB, &issue.key.to_lowercase())
        .await
        .unwrap();
    assert_eq!(refreshed.record_id, record.id);
    let found = search(services, JOB, DynamicsSide::Jira, &issue.key)
        .await
        .unwrap();
    assert_eq!(
        found.issues[0].linked_to.as_deref(),
        Some(record.id.as_str())
    );

    let twice = app_error(
        link(services, JOB, &issue.key, &record.id)
            .await
            .unwrap_err(),
    );
    assert_eq!(twice.code, Code::Conflict, "{twice:?}");

    unlink(services, JOB, &issue.key).await.unwrap();
    assert!(links(services, JOB).unwrap().is_empty());
    let gone = app_error(preview(services, JOB, &issue.key).await.unwrap_err());
    assert_eq!(gone.code, Code::NotFound);
    let gone = app_error(unlink(services, JOB, &issue.key).await.unwrap_err());
    assert_eq!(gone.code, Code::NotFound);
}

/// The seed's troubleshooting row "No results in record search": when the application user's
/// role cannot read the item's table, the console's record search says which privilege is
/// missing and how to grant it instead of showing no results; the Jira side still searches,
/// and once Read is granted the records are back.
#[tokio::test]
async fn record_search_without_read_on_the_table_names_the_privilege_and_the_fix() {
    let world = world().await;
    let services = &world.services;
    let set_read = |granted: bool| {
        world._sandbox.handle.dataverse(|d| {
            let privilege = crosswalk_sandbox::dataverse::Privilege::Read;
            if granted {
                d.grant_privilege(identity::CLIENT_ID, "incident", privilege);
            } else {
                d.revoke_privilege(identity::CLIENT_ID, "incident", privilege);
            }
        });
    };
    set_read(false);
    for text in ["", "printer"] {
        let error = app_error(
            search(services, JOB, DynamicsSide::Dynamics, text)
                .await
                .unwrap_err(),
        );
        assert_eq!(error.code, Code::PermissionDenied, "{error:?}");
        assert!(
            error.message.contains("Read") && error.message.contains("incident"),
            "{error:?}"
        );
        let fix = error.fix.as_deref().unwrap_or_default();
        assert!(
            fix.contains("security role") && fix.contains("grant Read"),
            "{error:?}"
        );
        assert!(!format!("{error:?}").contains(identity::CLIENT_SECRET));
    }
    let issues = search(services, JOB, DynamicsSide::Jira, "").await.unwrap();
    assert!(!issues.issues.is_empty());

    set_read(true);
    let records = search(services, JOB, DynamicsSide::Dynamics, "")
        .await
        .unwrap();
    assert!(!records.records.is_empty());
}

#[tokio::test]
async fn links_page_filter_matches_the_issue_summary_and_record_name_each_link_keeps() {
    let world = world().await;
    let services = &world.services;
    let issues = search(services, JOB, DynamicsSide::Jira, "")
        .await
        .unwrap()
        .issues;
    let records = search(services, JOB, DynamicsSide::Dynamics, "")
        .await
        .unwrap()
        .records;
    for (issue, record) in issues.iter().zip(&records).take(2) {
        link(services, JOB, &issue.key, &record.id).await.unwrap();
    }
    let rows = links(services, JOB).unwrap();
    let row_of = |key: &str| rows.iter().find(|row| row.jira_key == key).unwrap().clone();
    let (first, second) = (row_of(&issues[0].key), row_of(&issues[1].key));
    // The rows carry the names the link read, so the panel shows them at once.
    assert_eq!(
        first.issue_summary.as_deref(),
        Some(issues[0].summary.as_str())
    );
    assert_eq!(first.record_name.as_deref(), Some(records[0].name.as_str()));

    let filtered = |filter: &str| {
        link_page(
            services,
            JOB,
            &DynamicsLinkQuery {
                filter: filter.into(),
                offset: 0,
                limit: 50,
            },
        )
        .unwrap()
    };
    // A word of the first summary found nowhere else in either row: only the summary matches.
    let elsewhere = |word: &str| {
        let word = word.to_lowercase();
        [
            &first.jira_key,
            &first.jira_issue_id,
            &first.record_id,
            &records[0].name,
            &second.jira_key,
            &second.jira_issue_id,
            &second.record_id,
            &issues[1].summary,
            &records[1].name,
        ]
        .iter()
        .any(|text| text.to_lowercase().contains(&word))
    };
    let word = issues[0]
        .summary
        .split_whitespace()
        .find(|word| word.len() > 3 && !elsewhere(word))
        .unwrap_or_else(|| panic!("no word of its own in {:?}", issues[0].summary));
    let by_summary = filtered(&format!("  {}  ", word.to_uppercase()));
    assert_eq!(by_summary.matching, 1, "{word}: {by_summary:?}");
    assert_eq!(by_summary.rows[0].jira_key, issues[0].key);
    let by_name = filtered(&records[1].name.to_lowercase());
    assert!(
        by_name.rows.iter().any(|row| row.jira_key == issues[1].key),
        "{by_name:?}"
    );
    let none = filtered("zqxv-no-such-word");
    assert_eq!((none.matching, none.total), (0, 2));
    assert!(none.rows.is_empty());
}

#[tokio::test]
async fn auto_managed_links_cannot_be_unlinked_and_other_jobs_have_no_links() {
    let world = world().await;
    let services = &world.services;
    let job = services.store.get_job(JOB).unwrap();
    let record = search(services, JOB, DynamicsSide::Dynamics, "")
        .await
        .unwrap()
        .records
        .remove(0);
    let issue = search(services, JOB, DynamicsSide::Jira, "")
        .await
        .unwrap()
        .issues
        .remove(0);
    services
        .store
        .insert_link(&NewLink {
            job_id: job.id,
            jira_issue_id: issue.id.clone(),
            jira_key: issue.key.clone(),
            dataverse_table: "incident".into(),
            dataverse_id: record.id.clone(),
            managed: Managed::Auto,
            baseline_at: None,
            state: json!({}),
        })
        .unwrap();
    let rows = links(services, JOB).unwrap();
    assert_eq!(rows[0].managed, LinkManaged::Auto);
    assert_eq!(
        serde_json::to_value(&rows[0]).unwrap()["managed"],
        json!("auto")
    );

    let refused = app_error(unlink(services, JOB, &record.id).await.unwrap_err());
    assert_eq!(refused.code, Code::Conflict);
    assert!(refused.message.contains("auto-create"), "{refused:?}");
    assert_eq!(links(services, JOB).unwrap().len(), 1, "the link stays");

    let not_an_item = app_error(links(services, "health").unwrap_err());
    assert_eq!(not_an_item.code, Code::Validation);
    let no_job = app_error(links(services, "nope").unwrap_err());
    assert_eq!(no_job.code, Code::NotFound);
}

#[tokio::test]
async fn links_page_filters_and_names_come_in_one_batch_per_side() {
    let world = world().await;
    let services = &world.services;
    let job = services.store.get_job(JOB).unwrap();
    // The item links SUP issues of its own issue type only: a few more of them.
    let now = world._sandbox.handle.world().now();
    world._sandbox.handle.jira(|j| {
        for i in 0..5 {
            let fields = json!({
                "project": {"key": "SUP"},
                "issuetype": {"id": "10004"},
                "summary": format!("Linked from the page {i}"),
            });
            j.create_issue(
                fields.as_object().unwrap().clone(),
                crosswalk_sandbox::generator::jira::ADMIN_ACCOUNT_ID,
                now,
            )
            .unwrap();
        }
    });
    let records = search(services, JOB, DynamicsSide::Dynamics, "")
        .await
        .unwrap()
        .records;
    let issues = search(services, JOB, DynamicsSide::Jira, "")
        .await
        .unwrap()
        .issues;
    let pairs = records.len().min(issues.len());
    assert!(pairs >= 5, "{pairs} pairs");
    for (record, issue) in records.iter().zip(&issues) {
        services
            .store
            .insert_link(&NewLink {
                job_id: job.id,
                jira_issue_id: issue.id.clone(),
                jira_key: issue.key.clone(),
                dataverse_table: "incident".into(),
                dataverse_id: record.id.clone(),
                managed: Managed::Manual,
                baseline_at: None,
                state: json!({}),
            })
            .unwrap();
    }
    let page_query = |filter: &str, offset: u32, limit: u32| DynamicsLinkQuery {
        filter: filter.into(),
        offset,
        limit,
    };

    // Pages of 2, newest first, over all links.
    let first = link_page(services, JOB, &page_query("", 0, 2)).unwrap();
    assert_eq!(first.rows.len(), 2);
    assert_eq!(
        (first.offset, first.matching, first.total),
        (0, count(pairs), count(pairs))
    );
    let second = link_page(services, JOB, &page_query("", 2, 2)).unwrap();
    let all = links(services, JOB).unwrap();
    assert_eq!(first.rows[..], all[..2]);
    assert_eq!(second.rows[..], all[2..4]);
    // Past the end: an empty page at the end, not an error.
    let beyond = link_page(services, JOB, &page_query("", 10_000, 2)).unwrap();
    assert!(beyond.rows.is_empty());
    assert_eq!(beyond.offset, count(pairs));
    // The filter matches keys and record ids, in any case.
    let key = issues[3].key.to_lowercase();
    let by_key = link_page(services, JOB, &page_query(&key, 0, 50)).unwrap();
    assert!(by_key.rows.iter().any(|row| row.jira_key == issues[3].key));
    assert!(by_key.matching < by_key.total);
    let id_part = records[4].id[..13].to_uppercase();
    let by_record = link_page(services, JOB, &page_query(&id_part, 0, 50)).unwrap();
    assert_eq!(by_record.matching, 1);
    assert_eq!(by_record.rows[0].record_id, records[4].id);
    let zero = app_error(link_page(services, JOB, &page_query("", 0, 0)).unwrap_err());
    assert_eq!(zero.code, Code::Validation);

    // Names of a page: summaries by key, record names by id.
    let keys: Vec<String> = all.iter().map(|row| row.jira_key.clone()).collect();
    let ids: Vec<String> = all.iter().map(|row| row.record_id.clone()).collect();
    let warm = link_names(services, JOB, &keys, &ids).await.unwrap();
    let jira_before = world
        ._sandbox
        .handle
        .requests(crosswalk_sandbox::Server::Jira);
    let dv_before = world
        ._sandbox
        .handle
        .requests(crosswalk_sandbox::Server::Dataverse);
    let names = link_names(services, JOB, &keys, &ids).await.unwrap();
    let jira_requests = world
        ._sandbox
        .handle
        .requests(crosswalk_sandbox::Server::Jira)
        - jira_before;
    let dv_requests = world
        ._sandbox
        .handle
        .requests(crosswalk_sandbox::Server::Dataverse)
        - dv_before;
    assert_eq!(names, warm);
    assert_eq!(
        (names.issues_error.as_ref(), names.records_error.as_ref()),
        (None, None)
    );
    assert!(
        jira_requests <= 2,
        "{jira_requests} Jira requests for one page"
    );
    assert!(
        dv_requests <= 2,
        "{dv_requests} Dataverse requests for one page"
    );
    for issue in issues.iter().take(pairs) {
        let named = names.issues.iter().find(|n| n.id == issue.key);
        assert_eq!(
            named.map(|n| n.name.as_str()),
            Some(issue.summary.as_str()),
            "{}",
            issue.key
        );
    }
    for record in records.iter().take(pairs) {
        let named = names.records.iter().find(|n| n.id == record.id);
        assert_eq!(
            named.map(|n| n.name.as_str()),
            Some(record.name.as_str()),
            "{}",
            record.id
        );
    }

    // An issue or record that is gone has no name; the others still have theirs.
    let gone_key = "SUP-999999".to_owned();
    let gone_id = "00000000-0000-4000-8000-000000000001".to_owned();
    let some_keys = vec![keys[0].clone(), gone_key.clone(), keys[1].clone()];
    let some_ids = vec![ids[0].clone(), gone_id.clone()];
    let partial = link_names(services, JOB, &some_keys, &some_ids)
        .await
        .unwrap();
    assert_eq!(partial.issues_error, None);
    let mut named: Vec<&str> = partial.issues.iter().map(|n| n.id.as_str()).collect();
    named.sort_unstable();
    let mut expected = vec![keys[0].as_str(), keys[1].as_str()];
    expected.sort_unstable();
    assert_eq!(named, expected);
    assert_eq!(partial.records.len(), 1);
    assert_eq!(partial.records[0].id, ids[0]);

    let too_many = vec![gone_key; MAX_LINKS_PER_PAGE as usize + 1];
    let refused = app_error(link_names(services, JOB, &too_many, &[]).await.unwrap_err());
    assert_eq!(refused.code, Code::Validation);
}

#[test]
fn modules_follow_the_seed_and_leave_out_tables_without_a_name_column() {
    let table = |name: &str, display: &str, primary_name: Option<&str>| EntityInfo {
        logical_name: name.into(),
        entity_set_name: format!("{name}s"),
        primary_id_attribute: format!("{name}id"),
        primary_name_attribute: primary_name.map(str::to_owned),
        change_tracking_enabled: false,
        object_type_code: None,
        display_name: (!display.is_empty()).then(|| display.to_owned()),
    };
    let modules = group_modules(vec![
        table("zz_custom", "", Some("zz_name")),
        table("opportunity", "Opportunity", Some("name")),
        table("account", "Account", Some("name")),
        table("teammembership", "", None),
        table("incident", "Case", Some("title")),
    ]);
    let shown: Vec<(&str, Vec<&str>)> = modules
        .iter()
        .map(|m| {
            (
                m.label.as_str(),
                m.tables.iter().map(|t| t.display_name.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("Dynamics 365 Customer Service (Case)", vec!["Case"]),
            ("Dynamics 365 Sales (Opportunity)", vec!["Opportunity"]),
            ("Dataverse", vec!["Account", "zz_custom"]),
        ]
    );
    assert_eq!(modules[1].name, "Dynamics 365 Sales");
}

#[tokio::test]
async fn bulk_link_previews_matches_then_links_them_as_a_run_and_a_retry_skips_them() {
    let world = world().await;
    let services = &world.services;
    let mut registry = crosswalk_engine::Registry::new();
    registry.register(crosswalk_dynamics::DynamicsItem);
    let engine = Engine::new(services.clone(), registry).unwrap();
    let handle = &world._sandbox.handle;
    let now = handle.world().now();
    let case = handle.dataverse(|d| {
        let mut row = serde_json::Map::new();
        row.insert("title".into(), json!("Bulk API: badge printer"));
        d.insert_row("incident", row, now)
    });
    handle.dataverse(|d| {
        let mut row = serde_json::Map::new();
        row.insert("title".into(), json!("Bulk API: no issue"));
        d.insert_row("incident", row, now)
    });
    let key = handle.jira(|j| {
        let mut fields = serde_json::Map::new();
        fields.insert("project".into(), json!({"key": "SUP"}));
        fields.insert("issuetype".into(), json!({"id": "10004"}));
        fields.insert("summary".into(), json!("bulk api: Badge Printer"));
        j.create_issue(
            fields,
            crosswalk_sandbox::generator::jira::VIEWER_ACCOUNT_ID,
            now,
        )
        .unwrap()
    });

    let rule = BulkRule {
        dataverse_column: "title".into(),
        jira_field: "summary".into(),
        filter: Some("contains(title,'Bulk API')".into()),
    };
    let preview = bulk_preview(services, JOB, &rule).await.unwrap();
    assert_eq!(preview.records_read, 2);
    assert_eq!(preview.unmatched, 1);
    assert_eq!(preview.pairs.len(), 1, "{preview:?}");
    assert_eq!(preview.pairs[0].record_id, case);
    assert_eq!(preview.pairs[0].issue_key, key);
    assert!(
        links(services, JOB).unwrap().is_empty(),
        "a preview writes nothing"
    );
    assert_eq!(
        serde_json::to_value(&preview).unwrap()["pairs"][0]["issue_key"],
        json!(key)
    );

    let done = bulk_link(&engine, JOB, &preview.pairs).await.unwrap();
    assert_eq!(
        done.status,
        crosswalk_core::RunStatus::Succeeded,
        "{done:?}"
    );
    assert_eq!(
        (done.requested, done.linked, done.skipped, done.failed),
        (1, 1, 0, 0)
    );
    let run = services
        .store
        .get_run(crosswalk_core::RunId(done.run_id))
        .unwrap();
    assert_eq!(run.trigger, Trigger::SyncNow);
    let rows = links(services, JOB).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].jira_key.as_str(), rows[0].managed),
        (key.as_str(), LinkManaged::Manual)
    );

    let again = bulk_link(&engine, JOB, &preview.pairs).await.unwrap();
    assert_eq!((again.linked, again.skipped, again.failed), (0, 1, 0));
    assert_eq!(links(services, JOB).unwrap().len(), 1);
    let fresh = bulk_preview(services, JOB, &rule).await.unwrap();
    assert!(fresh.pairs.is_empty());
    assert_eq!(fresh.already_linked, 1);

    let empty = app_error(bulk_link(&engine, JOB, &[]).await.unwrap_err());
    assert_eq!(empty.code, Code::Validation);
    let no_rule = app_error(
        bulk_preview(
            services,
            JOB,
            &BulkRule {
                dataverse_column: " ".into(),
                jira_field: "summary".into(),
                filter: None,
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(no_rule.code, Code::Validation);
    let other_kind = app_error(bulk_preview(services, "health", &rule).await.unwrap_err());
    assert_eq!(other_kind.code, Code::Validation);
}
