//! Real HTTP against the sandbox's Jira server (one sandbox per test, 127.0.0.1 only).

use crate::*;
use crosswalk_core::{Code, Secret};
use crosswalk_http::RetryPolicy;
use crosswalk_sandbox::jira::{ADMIN_API_TOKEN, ADMIN_EMAIL, VIEWER_API_TOKEN, VIEWER_EMAIL};
use crosswalk_sandbox::{Fault, Sandbox, SandboxOptions, Server};
use serde_json::json;
use std::time::Duration;
use time::OffsetDateTime;

/// Service Request in SUP: only `summary` is required.
const SERVICE_REQUEST: &str = "10004";
/// Incident in SUP: also requires `customfield_10014`.
const INCIDENT: &str = "10005";

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions::default())
        .await
        .expect("sandbox starts on 127.0.0.1")
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(5),
        retry_after_jitter: Duration::from_millis(10),
    }
}

fn client_as(sandbox: &Sandbox, email: &str, token: &str) -> JiraClient {
    let http = JiraClient::http_builder(sandbox.urls.jira.clone(), email, Secret::new(token))
        .retry(fast_retry())
        .build()
        .expect("sandbox URL is a valid base URL");
    JiraClient::new(http)
}

fn admin(sandbox: &Sandbox) -> JiraClient {
    client_as(sandbox, ADMIN_EMAIL, ADMIN_API_TOKEN)
}

async fn new_issue(client: &JiraClient, summary: &str) -> CreatedIssue {
    client
        .create_issue("SUP", SERVICE_REQUEST, json!({"summary": summary}))
        .await
        .expect("create a service request")
}

/// Every text an error shows anywhere: Display, Debug, user-facing message and fix.
fn all_text(error: &Error) -> String {
    let user = error.user_facing();
    format!("{error} | {error:?} | {} | {:?}", user.message, user.fix)
}

#[tokio::test]
async fn myself_and_server_info_describe_the_account_and_site() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let me = client.myself().await.unwrap();
    assert_eq!(me.email_address.as_deref(), Some(ADMIN_EMAIL));
    assert!(!me.account_id.is_empty() && !me.display_name.is_empty());
    assert_eq!(me.time_zone.as_deref(), Some("Australia/Brisbane"));
    let info = client.server_info().await.unwrap();
    assert_eq!(info.deployment_type.as_deref(), Some("Cloud"));
    assert_eq!(
        info.base_url.trim_end_matches('/'),
        sandbox.urls.jira.as_str().trim_end_matches('/')
    );
    let project = client.get_project("SUP").await.unwrap();
    assert_eq!(project.key, "SUP");
    let page = client.search_projects(None, 0, 50).await.unwrap();
    assert!(page.values.iter().any(|p| p.key == "SUP"));
    let fields = client.fields().await.unwrap();
    assert!(fields.iter().any(|f| f.id == "summary"));
    assert!(fields.iter().any(|f| f.custom && f.schema.is_some()));
}

#[tokio::test]
async fn createmeta_lists_sup_issue_types_and_field_schemas() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let types = client.issue_types("SUP", 0, 200).await.unwrap();
    let ids: Vec<&str> = types.issue_types.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, [SERVICE_REQUEST, INCIDENT]);

    let mut fields = Vec::new();
    let mut start = 0;
    loop {
        // Small pages prove the legacy paging is followed to the end.
        let page = client.create_meta("SUP", INCIDENT, start, 5).await.unwrap();
        let got = page.fields.len() as u64;
        fields.extend(page.fields);
        start += got;
        if got == 0 || start >= page.total {
            break;
        }
    }
    let field = |id: &str| fields.iter().find(|f| f.field_id == id).unwrap();
    assert!(field("summary").required);
    assert_eq!(field("summary").schema.kind, "string");
    assert!(field("customfield_10014").required);
    let custom = fields
        .iter()
        .find(|f| f.schema.custom.is_some())
        .expect("a custom field on the SUP screen");
    assert!(custom.schema.custom_id.is_some());
    let with_options = fields
        .iter()
        .find(|f| f.allowed_values.as_ref().is_some_and(|v| !v.is_empty()))
        .expect("a field with allowed values");
    assert!(!with_options.schema.kind.is_empty());
    assert!(fields
        .iter()
        .any(|f| f.schema.kind == "array" && f.schema.items.is_some()));
}

#[tokio::test]
async fn issues_are_created_read_and_edited_and_field_errors_are_typed() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let created = client
        .create_issue(
            "SUP",
            SERVICE_REQUEST,
            json!({"summary": "Printer offline", "description": adf::from_plain_text("Floor 3\nnear the lift")}),
        )
        .await
        .unwrap();
    assert!(created.key.starts_with("SUP-"));

    let issue = client
        .get_issue(
            &created.key,
            &["summary", "description", "status", "updated"],
            false,
        )
        .await
        .unwrap();
    assert_eq!(issue.id, created.id);
    assert_eq!(issue.fields["summary"], "Printer offline");
    assert_eq!(
        adf::to_plain_text(&issue.fields["description"]),
        "Floor 3\nnear the lift"
    );
    let before = issue.updated().expect("updated parses");
    assert_eq!(
        issue.status().unwrap().status_category.key,
        StatusCategoryKey::New
    );

    client
        .edit_issue(&created.key, json!({"summary": "Printer back online"}))
        .await
        .unwrap();
    let issue = client
        .get_issue(&created.id, &["summary", "updated"], true)
        .await
        .unwrap();
    assert_eq!(issue.fields["summary"], "Printer back online");
    assert!(issue.updated().unwrap() >= before);
    let histories = issue.changelog.expect("expand=changelog").histories;
    assert!(histories
        .iter()
        .flat_map(|h| &h.items)
        .any(|i| i.field == "summary" && i.to_string.as_deref() == Some("Printer back online")));
    let page = client.changelog(&created.key, 0, 100).await.unwrap();
    assert!(!page.values.is_empty());
    assert_eq!(page.next_start(), None);

    // Jira's 400 {"errorMessages":[],"errors":{field: message}} on edit and create.
    let error = client
        .edit_issue(&created.key, json!({"issuetype": {"id": INCIDENT}}))
        .await
        .unwrap_err();
    match &error {
        Error::FieldErrors { errors, .. } => {
            assert!(errors.contains_key("issuetype"), "{errors:?}")
        }
        other => panic!("expected FieldErrors, got {other:?}"),
    }
    assert_eq!(error.user_facing().code, Code::Validation);
    assert!(error.user_facing().fix.is_some());
    let error = client
        .create_issue("SUP", INCIDENT, json!({"summary": "No impact given"}))
        .await
        .unwrap_err();
    match &error {
        Error::FieldErrors { errors, .. } => {
            assert!(errors.contains_key("customfield_10014"), "{errors:?}")
        }
        other => panic!("expected FieldErrors, got {other:?}"),
    }
    assert!(matches!(
        client.get_issue("SUP-99999", &[], false).await,
        Err(Error::Http(crosswalk_http::Error::NotFound { .. }))
    ));
}

#[tokio::test]
async fn transitions_reach_a_done_category_status() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let created = new_issue(&client, "Reset my password").await;
    let transitions = client.transitions(&created.key).await.unwrap();
    let done = transitions
        .iter()
        .find(|t| t.to.status_category.key == StatusCategoryKey::Done)
        .expect("a transition into the Done category");
    client
        .transition(&created.key, &done.id, None)
        .await
        .unwrap();
    let issue = client
        .get_issue(&created.key, &["status", "resolution"], false)
        .await
        .unwrap();
    let status = issue.status().unwrap();
    assert_eq!(status.id, done.to.id);
    assert_eq!(status.status_category.key, StatusCategoryKey::Done);
    assert!(!issue.fields["resolution"].is_null());

    let error = client
        .transition(&created.key, "99999", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::TransitionNotAvailable { transition, .. } if transition == "99999"),
        "{error:?}"
    );
    assert_eq!(error.user_facing().code, Code::Conflict);
}

/// Pages through `jql` with small pages; returns the keys in order.
async fn all_keys(client: &JiraClient, jql: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .search_jql(jql, &["summary", "updated"], token.as_deref(), 2)
            .await
            .unwrap();
        pages += 1;
        assert!(page.issues.iter().all(|i| i.updated().is_some()));
        keys.extend(page.issues.into_iter().map(|i| i.key));
        if page.is_last {
            assert!(page.next_page_token.is_none());
            break;
        }
        token = Some(
            page.next_page_token
                .expect("a token on every non-last page"),
        );
        assert!(pages < 1000, "paging never ended");
    }
    keys
}

#[tokio::test]
async fn jql_polling_pages_to_the_end_and_formats_cursors_in_the_accounts_zone() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let zone = client.myself().await.unwrap().time_zone.unwrap();
    assert_eq!(zone, "Australia/Brisbane");

    // Whole project, several pages of 2.
    let long_ago = OffsetDateTime::now_utc() - time::Duration::days(3650);
    let jql = format!(
        "project = SUP AND {} ORDER BY updated ASC, key ASC",
        jql::updated_since(long_ago, &zone).unwrap()
    );
    let keys = all_keys(&client, &jql).await;
    let expected = sandbox
        .handle
        .jira(|j| j.issues.iter().filter(|i| i.project == "10000").count());
    assert!(expected > 2, "the tiny world has several SUP issues");
    assert_eq!(keys.len(), expected);

    // One issue edited 5 hours before the cursor, one edited after it.
    let old = new_issue(&client, "Edited five hours ago").await;
    let fresh = new_issue(&client, "Edited after the cursor").await;
    let now = sandbox.handle.world().now();
    sandbox.handle.jira(|j| {
        let five_hours_ago = now - time::Duration::hours(5);
        for issue in j.issues.iter_mut() {
            if issue.key == old.key || issue.key == fresh.key {
                issue.updated = five_hours_ago;
            }
        }
    });
    let cursor = now - time::Duration::minutes(2);
    client
        .edit_issue(&fresh.key, json!({"summary": "Edited just now"}))
        .await
        .unwrap();

    let zoned = format!(
        "project = SUP AND {} ORDER BY updated ASC",
        jql::updated_since(cursor, &zone).unwrap()
    );
    let keys = all_keys(&client, &zoned).await;
    assert!(keys.contains(&fresh.key), "{keys:?}");
    assert!(!keys.contains(&old.key), "{keys:?}");

    // The naive UTC literal is read as Brisbane time: 10 h too early, so the window reaches back
    // over the edit made 5 hours before the cursor.
    let utc = format!(
        "project = SUP AND {} ORDER BY updated ASC",
        jql::updated_since(cursor, "UTC").unwrap()
    );
    let keys = all_keys(&client, &utc).await;
    assert!(
        keys.contains(&old.key),
        "UTC cursor should mis-window: {keys:?}"
    );

    // West of UTC the same mistake misses the new edit entirely.
    sandbox.handle.jira(|j| {
        let me = j.users.iter_mut().find(|u| u.email == ADMIN_EMAIL).unwrap();
        me.time_zone = "America/Phoenix".into();
        me.utc_offset_minutes = -420;
    });
    let zone = client.myself().await.unwrap().time_zone.unwrap();
    assert_eq!(zone, "America/Phoenix");
    let zoned = format!(
        "project = SUP AND {}",
        jql::updated_since(cursor, &zone).unwrap()
    );
    assert!(all_keys(&client, &zoned).await.contains(&fresh.key));
    assert!(!all_keys(&client, &utc).await.contains(&fresh.key));
}

#[tokio::test]
async fn comments_round_trip_plain_text_through_adf() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let issue = new_issue(&client, "VPN drops").await;
    let text = "Hello from Dynamics\nsecond line\n\nNew paragraph";
    let comment = client
        .add_comment(&issue.key, adf::from_plain_text(text))
        .await
        .unwrap();
    assert_eq!(adf::to_plain_text(&comment.body), text);

    let page = client.comments(&issue.key, 0, 50).await.unwrap();
    let stored = page.comments.iter().find(|c| c.id == comment.id).unwrap();
    assert_eq!(adf::to_plain_text(&stored.body), text);

    let updated = client
        .update_comment(&issue.key, &comment.id, adf::from_plain_text("Edited"))
        .await
        .unwrap();
    assert_eq!(adf::to_plain_text(&updated.body), "Edited");
    client
        .delete_comment(&issue.key, &comment.id)
        .await
        .unwrap();
    let page = client.comments(&issue.key, 0, 50).await.unwrap();
    assert!(page.comments.iter().all(|c| c.id != comment.id));
}

#[tokio::test]
async fn attachments_upload_download_delete_and_respect_the_limit() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let issue = new_issue(&client, "Screenshot attached").await;
    let content: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let attachment = client
        .add_attachment(
            &issue.key,
            "screen \"shot\".png",
            "image/png",
            content.clone(),
        )
        .await
        .unwrap();
    assert_eq!(attachment.size, 5000);
    assert_eq!(
        client.download_attachment(&attachment.id).await.unwrap(),
        content
    );
    assert_eq!(
        client.get_attachment(&attachment.id).await.unwrap().id,
        attachment.id
    );
    client.delete_attachment(&attachment.id).await.unwrap();
    assert!(client.get_attachment(&attachment.id).await.is_err());

    // The cached limit is 10 MB; the site lowers it, so Jira's own 413 is what stops us.
    sandbox.handle.jira(|j| j.attachment_upload_limit = 1024);
    let error = client
        .add_attachment(
            &issue.key,
            "big.bin",
            "application/octet-stream",
            vec![7; 2048],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::AttachmentTooLarge {
                size: 2048,
                limit: 1024
            }
        ),
        "{error:?}"
    );
    // Now the limit is known, so the next over-limit file is refused without an upload.
    let before = sandbox.handle.requests(Server::Jira);
    let error = client
        .add_attachment(
            &issue.key,
            "big.bin",
            "application/octet-stream",
            vec![7; 4096],
        )
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::AttachmentTooLarge {
            size: 4096,
            limit: 1024
        }
    ));
    assert_eq!(sandbox.handle.requests(Server::Jira), before);
    assert_eq!(error.user_facing().code, Code::Validation);
}

#[tokio::test]
async fn a_spooled_file_goes_up_and_comes_back_through_spools_with_its_author() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let issue = new_issue(&client, "Capture attached").await;
    sandbox
        .handle
        .set_jira_attachment_upload_limit(20 * 1024 * 1024);
    let size = 12 * 1024 * 1024 + 3;
    let content: Vec<u8> = (0..size as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    let spool = crosswalk_http::Spool::new().unwrap();
    spool.append(content.clone()).await.unwrap();

    let attachment = client
        .add_attachment_from(
            &issue.key,
            "capture \"1\".pcap",
            "application/vnd.tcpdump.pcap",
            &spool,
        )
        .await
        .unwrap();
    assert_eq!(attachment.size, size as u64);
    assert_eq!(attachment.filename, "capture _1_.pcap");
    let stored = sandbox.handle.jira(|j| {
        let id: u64 = attachment.id.parse().unwrap();
        j.attachments[&id].content.clone()
    });
    assert!(stored == content, "Jira stored a different file");
    let author = client.get_attachment(&attachment.id).await.unwrap().author;
    assert_eq!(
        author.map(|a| a.account_id),
        Some(client.myself().await.unwrap().account_id)
    );

    let back = client
        .download_attachment_to_spool(&attachment.id, attachment.size)
        .await
        .unwrap();
    assert_eq!(back.len(), size as u64);
    assert!(
        back.to_vec().await.unwrap() == content,
        "the download differs"
    );

    // Over the limit it is refused before anything is sent.
    sandbox.handle.jira(|j| j.attachment_upload_limit = 1024);
    let fresh = admin(&sandbox);
    let before = sandbox.handle.requests(Server::Jira);
    let error = fresh
        .add_attachment_from(&issue.key, "again.pcap", "", &spool)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::AttachmentTooLarge { size: s, limit: 1024 } if s == size as u64),
        "{error:?}"
    );
    // Only the limit was read.
    assert_eq!(sandbox.handle.requests(Server::Jira) - before, 1);
    let missing = client
        .download_attachment_to_spool("999999", 0)
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing:?}");
}

#[tokio::test]
async fn remote_links_are_idempotent_by_global_id() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let issue = new_issue(&client, "Linked to a case").await;
    let global_id = "system=https://contoso.crm.dynamics.com&id=incident/0a1b&x=1";
    let link = |title: &str| NewRemoteLink {
        global_id: global_id.into(),
        application: Some(json!({"type": "com.crosswalk.dynamics", "name": "Dynamics 365"})),
        relationship: Some("synced with".into()),
        object: RemoteObject {
            url: "https://contoso.crm.dynamics.com/main.aspx?id=0a1b".into(),
            title: title.into(),
            summary: None,
        },
    };
    let first = client
        .upsert_remote_link(&issue.key, &link("CAS-1"))
        .await
        .unwrap();
    assert!(first.created);
    let second = client
        .upsert_remote_link(&issue.key, &link("CAS-1 (renamed)"))
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(first.id, second.id);
    let links = client.remote_links(&issue.key).await.unwrap();
    assert_eq!(links.len(), 1);
    let found = client
        .find_remote_link(&issue.key, global_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, first.id);
    assert_eq!(found.object["title"], "CAS-1 (renamed)");
    client
        .delete_remote_link(&issue.key, global_id)
        .await
        .unwrap();
    assert!(client
        .find_remote_link(&issue.key, global_id)
        .await
        .unwrap()
        .is_none());
    assert!(client.remote_links(&issue.key).await.unwrap().is_empty());
}

#[tokio::test]
async fn issue_properties_round_trip() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let issue = new_issue(&client, "Has sync metadata").await;
    let key = "com.crosswalk.sync";
    assert_eq!(client.issue_property(&issue.key, key).await.unwrap(), None);
    let value = json!({"externalId": "incident/0a1b", "rev": 3});
    assert!(client
        .set_issue_property(&issue.key, key, &value)
        .await
        .unwrap());
    let value2 = json!({"externalId": "incident/0a1b", "rev": 4});
    assert!(!client
        .set_issue_property(&issue.key, key, &value2)
        .await
        .unwrap());
    assert_eq!(
        client.issue_property(&issue.key, key).await.unwrap(),
        Some(value2)
    );
}

#[tokio::test]
async fn users_are_found_by_email() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let user = client
        .find_user_by_email(ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.account_id, client.myself().await.unwrap().account_id);
    assert!(client
        .find_user_by_email("nobody@nowhere.example")
        .await
        .unwrap()
        .is_none());
    // Without Browse users and groups Jira answers an empty list (§B.13).
    let viewer = client_as(&sandbox, VIEWER_EMAIL, VIEWER_API_TOKEN);
    assert!(viewer
        .find_user_by_email(ADMIN_EMAIL)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn viewer_gets_permission_denied_and_no_error_shows_a_token() {
    let sandbox = sandbox().await;
    let issue = new_issue(&admin(&sandbox), "Read only for viewers").await;
    let viewer = client_as(&sandbox, VIEWER_EMAIL, VIEWER_API_TOKEN);
    assert_eq!(
        viewer
            .get_issue(&issue.key, &["summary"], false)
            .await
            .unwrap()
            .key,
        issue.key
    );
    let error = viewer
        .edit_issue(&issue.key, json!({"summary": "Not allowed"}))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::PermissionDenied { .. }), "{error:?}");
    assert_eq!(error.user_facing().code, Code::PermissionDenied);
    assert!(error.user_facing().fix.unwrap().contains("Edit issues"));
    assert!(!all_text(&error).contains(VIEWER_API_TOKEN));
    // No transitions (not an error) without Transition issues.
    assert!(viewer.transitions(&issue.key).await.unwrap().is_empty());

    let wrong = "wrong-token-5f2c9a";
    let stranger = client_as(&sandbox, ADMIN_EMAIL, wrong);
    let error = stranger.myself().await.unwrap_err();
    assert!(matches!(
        error,
        Error::Http(crosswalk_http::Error::Unauthorized { .. })
    ));
    assert_eq!(error.user_facing().code, Code::AuthExpired);
    let text = all_text(&error);
    assert!(
        !text.contains(wrong) && !text.contains(ADMIN_API_TOKEN),
        "{text}"
    );
}

#[tokio::test]
async fn throttling_is_retried() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    sandbox.handle.fail_next(
        Server::Jira,
        "/rest/api/3/myself",
        2,
        Fault::Throttle {
            retry_after_secs: 0,
        },
    );
    let before = sandbox.handle.requests(Server::Jira);
    let me = client.myself().await.unwrap();
    assert_eq!(me.email_address.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(sandbox.handle.requests(Server::Jira) - before, 3);

    // Searches are POSTs but safe to repeat, so they are retried too.
    sandbox.handle.fail_next(
        Server::Jira,
        "/rest/api/3/search/jql",
        1,
        Fault::Throttle {
            retry_after_secs: 0,
        },
    );
    let page = client
        .search_jql("project = SUP", &["summary"], None, 5)
        .await
        .unwrap();
    assert!(!page.issues.is_empty());
    // The page carries Jira's clock (its `Date`), which the sandbox takes from its own world
    // clock: moved a day ahead, the page says so.
    sandbox.handle.advance_clock(time::Duration::days(1));
    let page = client
        .search_jql("project = SUP", &["summary"], None, 5)
        .await
        .unwrap();
    let server = page.server_time.expect("a Date header");
    let expected = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    assert!(
        (server - expected).abs() < time::Duration::seconds(5),
        "{server} vs {expected}"
    );

    // A throttle that outlasts the retries surfaces as Throttled with a fix.
    sandbox.handle.fail_next(
        Server::Jira,
        "/rest/api/3/serverInfo",
        10,
        Fault::Throttle {
            retry_after_secs: 0,
        },
    );
    let error = client.server_info().await.unwrap_err();
    assert!(
        matches!(error, Error::Http(crosswalk_http::Error::Throttled { .. })),
        "{error:?}"
    );
    assert!(error.user_facing().fix.is_some());
}

/// The connector's stamp: which Dataverse record an issue was created for.
const LINK: &str = "com.crosswalk.link";

#[tokio::test]
async fn issues_created_with_properties_are_found_by_search_with_their_stamp() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let stamp = json!({"table": "incident", "record": "0a1b2c3d-0000-4000-8000-000000000001"});
    let created = client
        .create_issue_with_properties(
            "SUP",
            SERVICE_REQUEST,
            json!({"summary": "Created for a case"}),
            &[(LINK, stamp.clone())],
        )
        .await
        .unwrap();
    // The property was written with the issue, not after it.
    assert_eq!(
        client.issue_property(&created.key, LINK).await.unwrap(),
        Some(stamp.clone())
    );

    // Search is eventually consistent (§B.5): a fresh issue is missing until it is reconciled.
    sandbox.handle.jira(|j| j.search_lag_secs = 600);
    let jql = "project = SUP AND summary ~ \"Created for a case\"";
    let lagging = client
        .search(&SearchRequest {
            fields: &["summary"],
            properties: &[LINK],
            ..SearchRequest::new(jql)
        })
        .await
        .unwrap();
    assert!(lagging.issues.is_empty(), "{:?}", lagging.issues);
    let reconcile = [created.id.clone()];
    let page = client
        .search(&SearchRequest {
            fields: &["summary"],
            properties: &[LINK, "com.crosswalk.other"],
            expand: Some("names"),
            max_results: 10,
            reconcile_issues: &reconcile,
            ..SearchRequest::new(jql)
        })
        .await
        .unwrap();
    assert!(page.is_last);
    let [issue] = &page.issues[..] else {
        panic!("one issue expected: {:?}", page.issues);
    };
    assert_eq!(issue.id, created.id);
    assert_eq!(issue.fields["summary"], "Created for a case");
    assert_eq!(issue.properties.get(LINK), Some(&stamp));
    assert!(!issue.properties.contains_key("com.crosswalk.other"));
    // Without `properties` nothing is returned, and ids only without `fields`.
    sandbox.handle.jira(|j| j.search_lag_secs = 0);
    let bare = client.search(&SearchRequest::new(jql)).await.unwrap();
    assert_eq!(bare.issues.len(), 1);
    assert!(bare.issues[0].properties.is_empty() && bare.issues[0].fields.is_empty());

    // Documented limits are checked before anything is sent.
    let before = sandbox.handle.requests(Server::Jira);
    let six = ["a", "b", "c", "d", "e", "f"];
    let error = client
        .search(&SearchRequest {
            properties: &six,
            ..SearchRequest::new(jql)
        })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    let keys = [created.key.clone()];
    let error = client
        .search(&SearchRequest {
            reconcile_issues: &keys,
            ..SearchRequest::new(jql)
        })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    assert_eq!(error.user_facing().code, Code::Validation);
    assert_eq!(sandbox.handle.requests(Server::Jira), before);

    // Jira checks the property itself (§B.12 limits).
    let long_key = "k".repeat(256);
    let error = client
        .create_issue_with_properties(
            "SUP",
            SERVICE_REQUEST,
            json!({"summary": "Bad stamp"}),
            &[(long_key.as_str(), json!(1))],
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::FieldErrors { .. }), "{error:?}");
}

#[tokio::test]
async fn comments_carry_properties_that_mark_them_as_ours() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let issue = new_issue(&client, "Comment marks").await;
    let mark = json!({"note": "5b1c2d3e-0000-4000-8000-000000000001", "record": "x"});
    let comment = client
        .add_comment_with_properties(
            &issue.key,
            adf::from_plain_text("From Dynamics"),
            &[(LINK, mark.clone())],
        )
        .await
        .unwrap();
    assert_eq!(adf::to_plain_text(&comment.body), "From Dynamics");
    assert_eq!(comment.properties.get(LINK), Some(&mark));
    assert_eq!(
        client.comment_property(&comment.id, LINK).await.unwrap(),
        Some(mark.clone())
    );
    assert_eq!(
        client
            .comment_property(&comment.id, "com.crosswalk.none")
            .await
            .unwrap(),
        None
    );
    // A comment written by someone else has no mark; a deleted one reads as unmarked too.
    let plain = client
        .add_comment(&issue.key, adf::from_plain_text("By hand"))
        .await
        .unwrap();
    assert!(plain.properties.is_empty());
    assert_eq!(
        client.comment_property(&plain.id, LINK).await.unwrap(),
        None
    );
    client
        .delete_comment(&issue.key, &comment.id)
        .await
        .unwrap();
    assert_eq!(
        client.comment_property(&comment.id, LINK).await.unwrap(),
        None
    );

    let error = client
        .add_comment_with_properties(
            &issue.key,
            adf::from_plain_text("Too much"),
            &[(LINK, json!("x".repeat(40_000)))],
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::FieldErrors { .. }), "{error:?}");
}

#[tokio::test]
async fn project_statuses_list_each_issue_types_workflow() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let types = client.project_statuses("SUP").await.unwrap();
    let ids: Vec<&str> = types.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, [SERVICE_REQUEST, INCIDENT]);
    for of_type in &types {
        assert!(!of_type.name.is_empty() && !of_type.subtask);
        assert!(!of_type.statuses.is_empty());
        assert!(of_type
            .statuses
            .iter()
            .any(|s| s.status_category.key == StatusCategoryKey::New));
        assert!(of_type
            .statuses
            .iter()
            .any(|s| s.status_category.key == StatusCategoryKey::Done));
    }
    // Every status a transition can reach is listed for the issue's type.
    let issue = new_issue(&client, "Workflow check").await;
    let listed = &types[0].statuses;
    for transition in client.transitions(&issue.key).await.unwrap() {
        assert!(listed.iter().any(|s| s.id == transition.to.id));
    }
    assert!(matches!(
        client.project_statuses("NOPE").await,
        Err(Error::Http(crosswalk_http::Error::NotFound { .. }))
    ));
}

#[tokio::test]
async fn edits_with_history_metadata_are_recognisable_in_the_changelog() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let issue = new_issue(&client, "Echo check").await;
    let history = json!({
        "type": "crosswalk:sync",
        "description": "Synced from Dynamics 365",
        "generator": {"id": "crosswalk", "type": "crosswalk:connector"},
        "extraData": {"record": "0a1b"},
    });
    client
        .edit_issue_with_history(
            &issue.key,
            json!({"summary": "Changed by the sync"}),
            history.clone(),
        )
        .await
        .unwrap();
    client
        .edit_issue(&issue.key, json!({"summary": "Changed by a person"}))
        .await
        .unwrap();
    let page = client.changelog(&issue.key, 0, 100).await.unwrap();
    let to = |text: &str| {
        page.values
            .iter()
            .find(|entry| {
                entry
                    .items
                    .iter()
                    .any(|i| i.field == "summary" && i.to_string.as_deref() == Some(text))
            })
            .unwrap_or_else(|| panic!("no changelog entry to {text}"))
    };
    assert_eq!(to("Changed by the sync").history_metadata, Some(history));
    assert_eq!(to("Changed by a person").history_metadata, None);
    // The recent changelog embedded in the issue carries it too.
    let embedded = client
        .get_issue(&issue.key, &["summary"], true)
        .await
        .unwrap()
        .changelog
        .unwrap();
    assert!(embedded.histories.iter().any(|h| h
        .history_metadata
        .as_ref()
        .is_some_and(|m| m["type"] == "crosswalk:sync")));
}

#[tokio::test]
async fn a_40_mb_attachment_round_trips_and_jira_enforces_the_upload_limit() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let issue = new_issue(&client, "Large log attached").await;
    sandbox
        .handle
        .set_jira_attachment_upload_limit(50 * 1024 * 1024);
    let size = 40 * 1024 * 1024;
    let content: Vec<u8> = (0..size as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let attachment = client
        .add_attachment(&issue.key, "server.log", "text/plain", content.clone())
        .await
        .unwrap();
    assert_eq!(attachment.size, size as u64);
    let back = client.download_attachment(&attachment.id).await.unwrap();
    assert!(back == content, "the downloaded file differs");

    // The site lowers its limit after this client read it: Jira's 413 stops the upload.
    sandbox
        .handle
        .set_jira_attachment_upload_limit(30 * 1024 * 1024);
    let error = client
        .add_attachment(&issue.key, "again.log", "text/plain", content)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::AttachmentTooLarge { size: s, limit } if s == size as u64 && limit == 30 * 1024 * 1024),
        "{error:?}"
    );
    let meta = client.attachment_meta().await.unwrap();
    assert_eq!(meta.upload_limit, 30 * 1024 * 1024);
}

#[tokio::test]
async fn bulk_changelogs_filter_by_field_and_page_with_a_token() {
    let sandbox = sandbox().await;
    let client = admin(&sandbox);
    let first = new_issue(&client, "Bulk one").await;
    let second = new_issue(&client, "Bulk two").await;
    client
        .edit_issue(&first.key, json!({"summary": "Bulk one, renamed"}))
        .await
        .unwrap();
    client
        .edit_issue(&second.key, json!({"labels": ["vip"]}))
        .await
        .unwrap();
    client
        .edit_issue(&second.key, json!({"summary": "Bulk two, renamed"}))
        .await
        .unwrap();
    let start = client
        .transitions(&first.key)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.to.name == "In Progress")
        .expect("SUP starts progress from Open");
    client
        .transition(&first.key, &start.id, None)
        .await
        .unwrap();

    // Only entries touching the listed fields come back, grouped by issue id.
    let page = client
        .bulk_changelogs(&[&first.id, &second.key], &["summary"], None, 1000)
        .await
        .unwrap();
    assert_eq!(page.next_page_token, None);
    let ids: Vec<&str> = page
        .issue_change_logs
        .iter()
        .map(|log| log.issue_id.as_str())
        .collect();
    assert_eq!(ids, [first.id.as_str(), second.id.as_str()]);
    for log in &page.issue_change_logs {
        assert_eq!(log.change_histories.len(), 1, "{log:?}");
        let entry = &log.change_histories[0];
        assert!(
            entry.touches("summary") && !entry.touches("status"),
            "{entry:?}"
        );
        assert!(entry.created_at().is_some(), "{entry:?}");
    }

    // One entry a page: the token walks every status and summary entry, oldest first.
    let mut token = None;
    let mut seen = Vec::new();
    loop {
        let page = client
            .bulk_changelogs(&[&first.key], &["status", "summary"], token.as_deref(), 1)
            .await
            .unwrap();
        for log in page.issue_change_logs {
            seen.extend(log.change_histories);
        }
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].touches("summary") && seen[1].touches("status"),
        "{seen:?}"
    );
    assert!(seen[0].created_at() <= seen[1].created_at());

    // Jira's documented limits are checked before sending.
    let eleven: Vec<String> = (0..11).map(|i| format!("customfield_{i}")).collect();
    let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
    for (issues, fields) in [
        (&[][..], &["summary"][..]),
        (&[&first.key[..]][..], &eleven[..]),
    ] {
        let error = client
            .bulk_changelogs(issues, fields, None, 1000)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    }
}
