//! The client against the sandbox's Dataverse and Entra servers, over real HTTP on 127.0.0.1.

use crate::{
    Attachment, AttributeKind, Change, DataverseClient, Error, NoteWrite, Query, SpooledAttachment,
    TrackFrom, BLOCK_SIZE, IDS_PER_REQUEST,
};
use crosswalk_core::Secret;
use crosswalk_http::{RequestCounter, TokenCache};
use crosswalk_sandbox::dataverse::Privilege;
use crosswalk_sandbox::identity::{CLIENT_ID, CLIENT_SECRET, TENANT_ID};
use crosswalk_sandbox::{Fault, Sandbox, SandboxOptions, Server};
use serde_json::json;

async fn start() -> (Sandbox, DataverseClient) {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let client = DataverseClient::connect(
        sandbox.urls.dataverse.clone(),
        sandbox.urls.login.clone(),
        TENANT_ID,
        CLIENT_ID,
        Secret::new(CLIENT_SECRET),
        TokenCache::new(),
        RequestCounter::new(),
    )
    .unwrap();
    (sandbox, client)
}

async fn new_case(client: &DataverseClient, title: &str) -> String {
    client
        .create("incidents", &json!({ "title": title }))
        .await
        .unwrap()
}

#[tokio::test]
async fn who_am_i_and_incident_metadata() {
    let (_sandbox, client) = start().await;
    let me = client.who_am_i().await.unwrap();
    assert!(!me.user_id.is_empty());
    let incident = client.entity("incident").await.unwrap();
    assert_eq!(incident.entity_set_name, "incidents");
    assert_eq!(incident.primary_id_attribute, "incidentid");
    assert_eq!(incident.primary_name_attribute.as_deref(), Some("title"));
    assert!(incident.change_tracking_enabled);
    assert_eq!(incident.object_type_code, Some(112));
    let attributes = client.attributes("incident").await.unwrap();
    let kind = |name: &str| {
        attributes
            .iter()
            .find(|a| a.logical_name == name)
            .map(|a| a.kind.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let AttributeKind::Status { options } = kind("statuscode") else {
        panic!("statuscode is not a Status");
    };
    let solved = options.iter().find(|o| o.value == 5).expect("status 5");
    assert_eq!(
        (solved.label.as_str(), solved.state),
        ("Problem Solved", Some(1))
    );
    let AttributeKind::State { options } = kind("statecode") else {
        panic!("statecode is not a State");
    };
    assert!(options
        .iter()
        .any(|o| o.value == 2 && o.default_status == Some(6)));
    let AttributeKind::Picklist { options } = kind("prioritycode") else {
        panic!("prioritycode is not a Picklist");
    };
    assert!(!options.is_empty() && options.iter().all(|o| !o.label.is_empty()));
    assert_eq!(kind("title"), AttributeKind::String);
    // Text formats come from the String/Memo casts: rich-text columns say FormatName RichText.
    let column = |name: &str| attributes.iter().find(|a| a.logical_name == name).unwrap();
    assert_eq!(column("title").format.as_deref(), Some("Text"));
    assert_eq!(column("description").format.as_deref(), Some("TextArea"));
    assert!(!column("description").is_rich_text());
    assert_eq!(kind("cw_richnotes"), AttributeKind::Memo);
    assert_eq!(column("cw_richnotes").format.as_deref(), Some("RichText"));
    assert!(column("cw_richnotes").is_rich_text());
    assert_eq!(column("prioritycode").format, None);
    assert!(matches!(
        kind("modifiedon"),
        AttributeKind::DateTime { behavior: Some(_) }
    ));
    let AttributeKind::Lookup { targets } = kind("customerid") else {
        panic!("customerid is not a lookup");
    };
    assert!(targets.contains(&"account".to_owned()));
}

#[tokio::test]
async fn create_get_update_with_etags() {
    let (_sandbox, client) = start().await;
    let id = new_case(&client, "Printer jam").await;
    let plain = client
        .get("incidents", &id, &["title", "statuscode"], false)
        .await
        .unwrap();
    assert_eq!(plain.id, id);
    assert_eq!(plain.fields["title"], "Printer jam");
    assert!(plain.formatted.is_empty(), "{:?}", plain.formatted);
    let etag = plain.etag.clone().expect("an etag");
    let formatted = client
        .get("incidents", &id, &["title", "statuscode"], true)
        .await
        .unwrap();
    assert_eq!(
        formatted.formatted.get("statuscode").map(String::as_str),
        Some("In Progress")
    );
    client
        .update(
            "incidents",
            &id,
            &json!({"title": "Printer fixed"}),
            Some(&etag),
        )
        .await
        .unwrap();
    let stale = client
        .update(
            "incidents",
            &id,
            &json!({"title": "Lost update"}),
            Some(&etag),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(stale, Error::PreconditionFailed { .. }),
        "{stale:?}"
    );
    let after = client
        .get("incidents", &id, &["title"], false)
        .await
        .unwrap();
    assert_eq!(after.fields["title"], "Printer fixed");
    assert_ne!(after.etag, Some(etag));
    client.delete("incidents", &id).await.unwrap();
    let gone = client.get("incidents", &id, &[], false).await.unwrap_err();
    assert!(
        matches!(gone, Error::Http(crosswalk_http::Error::NotFound { .. })),
        "{gone:?}"
    );
}

#[tokio::test]
async fn column_types_list_every_column_in_one_request_and_agree_with_attributes() {
    let (sandbox, client) = start().await;
    let before = sandbox.handle.requests(Server::Dataverse);
    let types = client.column_types("incident").await.unwrap();
    assert_eq!(sandbox.handle.requests(Server::Dataverse) - before, 1);
    let attributes = client.attributes("incident").await.unwrap();
    assert_eq!(types.len(), attributes.len());
    for attribute in &attributes {
        let column = types
            .iter()
            .find(|t| t.logical_name == attribute.logical_name)
            .unwrap_or_else(|| panic!("no {}", attribute.logical_name));
        assert_eq!(
            column.is_lookup(),
            matches!(attribute.kind, AttributeKind::Lookup { .. }),
            "{column:?} vs {attribute:?}"
        );
    }
    let is_lookup = |name: &str| {
        types
            .iter()
            .any(|t| t.logical_name == name && t.is_lookup())
    };
    assert!(is_lookup("customerid") && is_lookup("ownerid"));
    assert!(!is_lookup("title"));
    assert!(matches!(
        client.column_types("nosuchtable").await,
        Err(Error::Http(crosswalk_http::Error::NotFound { .. }))
    ));
}

#[tokio::test]
async fn a_table_known_from_earlier_costs_no_metadata_request() {
    let (sandbox, client) = start().await;
    let incident = client.entity("incident").await.unwrap();
    let fresh = DataverseClient::connect(
        sandbox.urls.dataverse.clone(),
        sandbox.urls.login.clone(),
        TENANT_ID,
        CLIENT_ID,
        Secret::new(CLIENT_SECRET),
        TokenCache::new(),
        RequestCounter::new(),
    )
    .unwrap();
    fresh.know_table(incident);
    let before = sandbox.handle.requests(Server::Dataverse);
    let page = fresh
        .list("incidents", &Query::default(), None)
        .await
        .unwrap();
    assert!(page.records.iter().all(|r| !r.id.is_empty()));
    // The page itself, no `EntityDefinitions?$filter=EntitySetName` first.
    assert_eq!(sandbox.handle.requests(Server::Dataverse) - before, 1);
}

#[tokio::test]
async fn list_pages_are_dated_by_dataverse_s_clock() {
    let (sandbox, client) = start().await;
    sandbox.handle.advance_clock(time::Duration::days(1));
    let page = client
        .list("incidents", &Query::default(), None)
        .await
        .unwrap();
    let server = page.server_time.expect("a Date header");
    assert!(
        (server - sandbox.handle.world().now()).abs() < time::Duration::seconds(5),
        "{server}"
    );
}

#[tokio::test]
async fn list_pages_to_the_end() {
    let (_sandbox, client) = start().await;
    let all = client
        .list(
            "incidents",
            &Query {
                select: vec!["title".into()],
                ..Query::default()
            },
            None,
        )
        .await
        .unwrap();
    assert!(all.next.is_none() && all.records.len() > 3);
    let query = Query {
        select: vec!["title".into()],
        orderby: Some("title asc".into()),
        page_size: Some(3),
        ..Query::default()
    };
    let mut ids = Vec::new();
    let mut next = None;
    let mut pages = 0;
    loop {
        let page = client
            .list("incidents", &query, next.as_ref())
            .await
            .unwrap();
        assert!(page.records.len() <= 3);
        pages += 1;
        ids.extend(page.records.into_iter().map(|r| r.id));
        match page.next {
            Some(link) => next = Some(link),
            None => break,
        }
    }
    assert!(pages > 1);
    let unique: std::collections::BTreeSet<_> = ids.iter().cloned().collect();
    assert_eq!(
        (ids.len(), unique.len()),
        (all.records.len(), all.records.len())
    );
}

#[tokio::test]
async fn change_tracking_initial_then_deltas() {
    let (sandbox, client) = start().await;
    let read_all = |from: TrackFrom| {
        let client = client.clone();
        async move {
            let mut from = from;
            let mut changes = Vec::new();
            loop {
                let page = client
                    .track_changes("incidents", &["title"], &from, Some(4))
                    .await?;
                changes.extend(page.changes);
                if let Some(delta) = page.delta_link {
                    return Ok::<_, Error>((changes, delta));
                }
                from = TrackFrom::NextPage(page.next.expect("a next link without a delta link"));
            }
        }
    };
    let (initial, delta) = read_all(TrackFrom::Initial).await.unwrap();
    assert!(initial.len() > 4 && initial.iter().all(|c| matches!(c, Change::Upsert(_))));
    let created = new_case(&client, "Tracked").await;
    let (changes, delta) = read_all(TrackFrom::Delta(delta)).await.unwrap();
    assert!(
        matches!(&changes[..], [Change::Upsert(r)] if r.id == created),
        "{changes:?}"
    );
    client
        .update(
            "incidents",
            &created,
            &json!({"title": "Tracked again"}),
            None,
        )
        .await
        .unwrap();
    let (changes, delta) = read_all(TrackFrom::Delta(delta)).await.unwrap();
    assert!(matches!(&changes[..], [Change::Upsert(r)] if r.fields["title"] == "Tracked again"));
    client.delete("incidents", &created).await.unwrap();
    let (changes, delta) = read_all(TrackFrom::Delta(delta)).await.unwrap();
    assert_eq!(
        changes,
        vec![Change::Deleted {
            id: created,
            reason: "deleted".into()
        }]
    );
    sandbox.handle.advance_clock(time::Duration::days(120));
    let expired = read_all(TrackFrom::Delta(delta)).await.unwrap_err();
    assert!(
        matches!(expired, Error::FullSyncRequired { .. }),
        "{expired:?}"
    );
    let leads = client
        .track_changes("leads", &[], &TrackFrom::Initial, None)
        .await
        .unwrap_err();
    assert!(
        matches!(leads, Error::ChangeTrackingDisabled { .. }),
        "{leads:?}"
    );
}

#[tokio::test]
async fn notes_with_small_and_block_attachments() {
    let (sandbox, client) = start().await;
    let case = new_case(&client, "With notes").await;
    let small = Attachment {
        filename: "log.txt".into(),
        mimetype: "text/plain".into(),
        bytes: b"Hello world".to_vec(),
    };
    let note = client
        .create_note(
            "incidents",
            &case,
            "Diagnostics",
            "Log attached",
            Some(&small),
        )
        .await
        .unwrap();
    client
        .create_note(
            "incidents",
            &case,
            "Linked to Jira",
            "CW-1 https://jira/CW-1",
            None,
        )
        .await
        .unwrap();
    let notes = client.list_notes(&case).await.unwrap();
    assert_eq!(notes.len(), 2);
    let first = notes.iter().find(|n| n.id == note).expect("the note");
    assert_eq!(
        (first.filename.as_deref(), first.filesize),
        (Some("log.txt"), Some(11))
    );
    assert_eq!(client.download_note_attachment(&note).await.unwrap(), small);

    // 12 MB: too big for the default 5 MB of base64, fine once the admin raises the limit.
    let big = Attachment {
        filename: "dump.bin".into(),
        mimetype: "application/octet-stream".into(),
        bytes: (0..12 * 1024 * 1024)
            .map(|i: u32| (i % 251) as u8)
            .collect(),
    };
    let refused = client
        .create_note("incidents", &case, "Dump", "", Some(&big))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::AttachmentTooLarge { size, limit } if size == 12 * 1024 * 1024 && limit == 5_242_880 / 4 * 3),
        "{refused:?}"
    );
    sandbox
        .handle
        .dataverse(|d| d.set_max_upload_file_size(131_072_000));
    let before = sandbox.handle.requests(Server::Dataverse);
    let big_note = client
        .create_note("incidents", &case, "Dump", "", Some(&big))
        .await
        .unwrap();
    // organizations + Initialize + 3 blocks + Commit.
    assert_eq!(sandbox.handle.requests(Server::Dataverse) - before, 6);
    assert!(big.bytes.len() > 2 * BLOCK_SIZE);
    let back = client.download_note_attachment(&big_note).await.unwrap();
    assert!(back == big, "the downloaded file differs");
}

#[tokio::test]
async fn close_and_cancel_incidents() {
    let (_sandbox, client) = start().await;
    let closed = new_case(&client, "To close").await;
    client
        .close_incident(&closed, "Resolved by sync", Some(1000))
        .await
        .unwrap();
    let record = client
        .get("incidents", &closed, &["statecode", "statuscode"], false)
        .await
        .unwrap();
    assert_eq!(
        (
            record.fields["statecode"].clone(),
            record.fields["statuscode"].clone()
        ),
        (json!(1), json!(1000))
    );
    let again = client
        .close_incident(&closed, "Twice", None)
        .await
        .unwrap_err();
    assert!(
        matches!(again, Error::InvalidStateTransition { .. }),
        "{again:?}"
    );
    let bad = new_case(&client, "Bad status").await;
    let wrong = client.close_incident(&bad, "x", Some(6)).await.unwrap_err();
    assert!(
        matches!(wrong, Error::InvalidStateTransition { .. }),
        "{wrong:?}"
    );
    client.cancel_incident(&bad).await.unwrap();
    let record = client
        .get("incidents", &bad, &["statecode", "statuscode"], false)
        .await
        .unwrap();
    assert_eq!(
        (
            record.fields["statecode"].clone(),
            record.fields["statuscode"].clone()
        ),
        (json!(2), json!(6))
    );
}

/// `(statecode, statuscode)` of a row as the sandbox holds it.
fn sandbox_state(sandbox: &Sandbox, table: &str, id: &str) -> (i64, i64) {
    sandbox.handle.dataverse(|d| {
        let row = d.row(table, id).unwrap();
        let int = |c: &str| row.values[c].as_i64().unwrap();
        (int("statecode"), int("statuscode"))
    })
}

#[tokio::test]
async fn win_lose_and_reopen_opportunities() {
    let (sandbox, client) = start().await;
    let won = client
        .create("opportunities", &json!({"name": "Renewal"}))
        .await
        .unwrap();
    client
        .win_opportunity(&won, "Won in Jira", Some(3))
        .await
        .unwrap();
    assert_eq!(sandbox_state(&sandbox, "opportunity", &won), (1, 3));
    let closes: Vec<String> = sandbox.handle.dataverse(|d| {
        d.rows_of("opportunityclose")
            .filter(|r| r.lookups["opportunityid"].id == won)
            .map(|r| r.values["subject"].as_str().unwrap().to_owned())
            .collect()
    });
    assert_eq!(closes, ["Won in Jira"]);
    // Closed: losing it is refused until it is reopened.
    let refused = client
        .lose_opportunity(&won, "Lost", Some(5))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::InvalidStateTransition { .. }),
        "{refused:?}"
    );
    client.reopen_opportunity(&won, 2).await.unwrap();
    assert_eq!(sandbox_state(&sandbox, "opportunity", &won), (0, 2));
    client
        .lose_opportunity(&won, "Lost in Jira", Some(5))
        .await
        .unwrap();
    assert_eq!(sandbox_state(&sandbox, "opportunity", &won), (2, 5));
    // A won reason is not a lost one; the default lost reason is Canceled.
    let other = client
        .create("opportunities", &json!({"name": "Pilot"}))
        .await
        .unwrap();
    let wrong = client
        .lose_opportunity(&other, "x", Some(3))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, Error::InvalidStateTransition { .. }),
        "{wrong:?}"
    );
    client.lose_opportunity(&other, "Lost", None).await.unwrap();
    assert_eq!(sandbox_state(&sandbox, "opportunity", &other), (2, 4));
    // A plain update to Won is what the platform refuses.
    let third = client
        .create("opportunities", &json!({"name": "Upsell"}))
        .await
        .unwrap();
    let patched = client
        .update(
            "opportunities",
            &third,
            &json!({"statecode": 1, "statuscode": 3}),
            None,
        )
        .await
        .unwrap_err();
    match patched {
        Error::InvalidStateTransition { message } => {
            assert!(message.contains("WinOpportunityRequest"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn qualify_and_disqualify_leads_without_creating_records() {
    let (sandbox, client) = start().await;
    let lead = client
        .create(
            "leads",
            &json!({"subject": "50 seats", "firstname": "Ada", "lastname": "Lovelace", "companyname": "Analytical Engines"}),
        )
        .await
        .unwrap();
    let count = |table: &str| sandbox.handle.dataverse(|d| d.rows_of(table).count());
    let before = (count("account"), count("contact"), count("opportunity"));
    client.qualify_lead(&lead, 3).await.unwrap();
    assert_eq!(sandbox_state(&sandbox, "lead", &lead), (1, 3));
    assert_eq!(
        (count("account"), count("contact"), count("opportunity")),
        before,
        "no account, contact or opportunity from the lead"
    );
    let again = client.qualify_lead(&lead, 3).await.unwrap_err();
    assert!(
        matches!(again, Error::InvalidStateTransition { .. }),
        "{again:?}"
    );
    let other = client
        .create("leads", &json!({"lastname": "Hopper"}))
        .await
        .unwrap();
    let wrong = client.disqualify_lead(&other, 3).await.unwrap_err();
    assert!(
        matches!(wrong, Error::InvalidStateTransition { .. }),
        "{wrong:?}"
    );
    client.disqualify_lead(&other, 6).await.unwrap();
    assert_eq!(sandbox_state(&sandbox, "lead", &other), (2, 6));
    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(CLIENT_ID, "lead", Privilege::Write));
    let third = sandbox.handle.dataverse(|d| {
        d.rows_of("lead")
            .find(|r| r.values["statecode"] == json!(0))
            .unwrap()
            .id
            .clone()
    });
    let denied = client.qualify_lead(&third, 3).await.unwrap_err();
    assert!(
        matches!(&denied, Error::MissingPrivilege { privilege, table } if privilege == "Write" && table == "lead"),
        "{denied:?}"
    );
}

#[tokio::test]
async fn missing_application_user_and_privilege() {
    let (sandbox, client) = start().await;
    let id = new_case(&client, "Guarded").await;
    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(CLIENT_ID, "incident", Privilege::Read));
    let denied = client.get("incidents", &id, &[], false).await.unwrap_err();
    let Error::MissingPrivilege { privilege, table } = &denied else {
        panic!("{denied:?}");
    };
    assert_eq!((privilege.as_str(), table.as_str()), ("Read", "incident"));
    let shown = denied.user_facing();
    assert!(
        shown.fix.as_deref().unwrap_or_default().contains("Read"),
        "{shown:?}"
    );
    sandbox
        .handle
        .dataverse(|d| d.remove_application_user(CLIENT_ID));
    let missing = client.who_am_i().await.unwrap_err();
    assert!(
        matches!(missing, Error::MissingApplicationUser),
        "{missing:?}"
    );
    let shown = missing.user_facing();
    assert!(shown
        .fix
        .as_deref()
        .unwrap_or_default()
        .contains("Power Platform admin center"));
}

#[tokio::test]
async fn throttling_is_retried() {
    let (sandbox, client) = start().await;
    let id = new_case(&client, "Busy").await;
    sandbox.handle.fail_next(
        Server::Dataverse,
        "/incidents",
        1,
        Fault::Throttle {
            retry_after_secs: 1,
        },
    );
    let record = client
        .get("incidents", &id, &["title"], false)
        .await
        .unwrap();
    assert_eq!(record.fields["title"], "Busy");
    let stats = client.http().counter().snapshot();
    assert_eq!(stats["dataverse"].throttled, 1, "{stats:?}");
}

#[tokio::test]
async fn errors_never_show_secrets_or_tokens() {
    let (sandbox, client) = start().await;
    let token = crosswalk_http::EntraTokenProvider::new(
        crosswalk_http::Http::builder("entra-login")
            .base_url(sandbox.urls.login.clone())
            .build()
            .unwrap(),
        TokenCache::new(),
        crosswalk_http::EntraCredentials {
            tenant_id: TENANT_ID.into(),
            client_id: CLIENT_ID.into(),
            secret: Secret::new(CLIENT_SECRET),
            resource: sandbox.urls.dataverse.clone(),
        },
    )
    .fetch()
    .await
    .unwrap();
    let wrong_secret = DataverseClient::connect(
        sandbox.urls.dataverse.clone(),
        sandbox.urls.login.clone(),
        TENANT_ID,
        CLIENT_ID,
        Secret::new("not-the-secret-value"),
        TokenCache::new(),
        RequestCounter::new(),
    )
    .unwrap();
    let mut errors = vec![wrong_secret.who_am_i().await.unwrap_err()];
    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(CLIENT_ID, "incident", Privilege::Read));
    errors.push(
        client
            .list("incidents", &Query::default(), None)
            .await
            .unwrap_err(),
    );
    errors.push(
        client
            .track_changes("leads", &[], &TrackFrom::Initial, None)
            .await
            .unwrap_err(),
    );
    sandbox
        .handle
        .dataverse(|d| d.remove_application_user(CLIENT_ID));
    errors.push(client.who_am_i().await.unwrap_err());
    for error in &errors {
        let shown = format!("{error} {error:?} {:?}", error.user_facing());
        for secret in [CLIENT_SECRET, "not-the-secret-value", token.expose()] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

/// A GUID made from a number, as a caller deriving note ids from its own keys would.
fn guid(n: u32) -> String {
    format!("5b1c2d3e-0000-4000-8000-{n:012x}")
}

#[tokio::test]
async fn notes_with_caller_chosen_ids_are_written_once() {
    let (sandbox, client) = start().await;
    let case = new_case(&client, "Retried notes").await;
    let first = client
        .create_note_with_id("incidents", &case, &guid(1), "Synced", "From Jira", None)
        .await
        .unwrap();
    assert_eq!(first, NoteWrite::Created { id: guid(1) });
    // The same write again (a retry after a crash) finds the note and writes nothing.
    let again = client
        .create_note_with_id("incidents", &case, &guid(1), "Synced", "Changed?", None)
        .await
        .unwrap();
    assert_eq!(again, NoteWrite::AlreadyExisted { id: guid(1) });
    assert!(!again.created() && again.id() == guid(1));
    let small = Attachment {
        filename: "log.txt".into(),
        mimetype: "text/plain".into(),
        bytes: b"Hello world".to_vec(),
    };
    let with_file = client
        .create_note_with_id("incidents", &case, &guid(2), "Log", "", Some(&small))
        .await
        .unwrap();
    assert!(with_file.created());
    assert!(!client
        .create_note_with_id("incidents", &case, &guid(2), "Log", "", Some(&small))
        .await
        .unwrap()
        .created());
    let notes = client.list_notes(&case).await.unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    let first_note = notes.iter().find(|n| n.id == guid(1)).unwrap();
    assert_eq!(first_note.text.as_deref(), Some("From Jira"));
    assert_eq!(
        client.download_note_attachment(&guid(2)).await.unwrap(),
        small
    );
    // create_note still works, with an id of its own.
    let own = client
        .create_note("incidents", &case, "Plain", "", None)
        .await
        .unwrap();
    assert!(own != guid(1) && own != guid(2));

    // Deleting is idempotent: a note already gone is fine.
    client.delete_note(&guid(1)).await.unwrap();
    client.delete_note(&guid(1)).await.unwrap();
    let left: Vec<String> = client
        .list_notes(&case)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&guid(1)));

    let bad = client
        .create_note_with_id("incidents", &case, "note-1", "x", "", None)
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::InvalidArgument { .. }), "{bad:?}");
    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(CLIENT_ID, "annotation", Privilege::Delete));
    let denied = client.delete_note(&guid(2)).await.unwrap_err();
    assert!(
        matches!(&denied, Error::MissingPrivilege { privilege, .. } if privilege == "Delete"),
        "{denied:?}"
    );
}

#[tokio::test]
async fn a_40_mb_note_attachment_goes_up_in_blocks_once_and_comes_back_identical() {
    let (sandbox, client) = start().await;
    let case = new_case(&client, "Big attachment").await;
    sandbox
        .handle
        .set_dataverse_max_upload_file_size(131_072_000);
    assert_eq!(client.max_upload_file_size().await.unwrap(), 131_072_000);
    let size: usize = 40 * 1024 * 1024;
    let big = Attachment {
        filename: "capture.pcap".into(),
        mimetype: "application/vnd.tcpdump.pcap".into(),
        bytes: (0..size as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    };
    let before = sandbox.handle.requests(Server::Dataverse);
    let written = client
        .create_note_with_id("incidents", &case, &guid(40), "Capture", "", Some(&big))
        .await
        .unwrap();
    assert_eq!(written, NoteWrite::Created { id: guid(40) });
    // The table's definition, organizations, the id looked up, Initialize, 10 blocks of 4 MB
    // and Commit.
    let blocks = size.div_ceil(BLOCK_SIZE) as u64;
    assert_eq!(blocks, 10);
    assert_eq!(
        sandbox.handle.requests(Server::Dataverse) - before,
        4 + blocks + 1
    );
    let notes = client.list_notes(&case).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].filesize, Some(size as u64));
    let back = client.download_note_attachment(&guid(40)).await.unwrap();
    assert!(back == big, "the downloaded file differs");

    // A retry finds the note and uploads nothing (the block upload would update it): only
    // organizations and the id looked up.
    let before = sandbox.handle.requests(Server::Dataverse);
    let again = client
        .create_note_with_id("incidents", &case, &guid(40), "Capture", "", Some(&big))
        .await
        .unwrap();
    assert_eq!(again, NoteWrite::AlreadyExisted { id: guid(40) });
    assert_eq!(sandbox.handle.requests(Server::Dataverse) - before, 2);
    assert_eq!(client.list_notes(&case).await.unwrap().len(), 1);

    // Above the documented maximum the setting stays at the maximum.
    sandbox.handle.set_dataverse_max_upload_file_size(u64::MAX);
    assert_eq!(client.max_upload_file_size().await.unwrap(), 131_072_000);
}

#[tokio::test]
async fn a_spooled_file_goes_up_and_comes_down_a_block_at_a_time() {
    let (sandbox, client) = start().await;
    let case = new_case(&client, "Spooled attachment").await;
    sandbox
        .handle
        .set_dataverse_max_upload_file_size(131_072_000);
    let size = 2 * BLOCK_SIZE + 1234;
    let bytes: Vec<u8> = (0..size as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 5) as u8)
        .collect();
    let spool = crosswalk_http::Spool::new().unwrap();
    spool.append(bytes.clone()).await.unwrap();
    let file = SpooledAttachment {
        filename: "trace.etl".into(),
        mimetype: "application/octet-stream".into(),
        content: spool,
    };
    let before = sandbox.handle.requests(Server::Dataverse);
    let written = client
        .create_note_with_id_from_spool("incidents", &case, &guid(41), "Trace", "", &file)
        .await
        .unwrap();
    assert_eq!(written, NoteWrite::Created { id: guid(41) });
    // The table's definition, organizations, the id looked up, Initialize, 3 blocks, Commit.
    assert_eq!(
        sandbox.handle.requests(Server::Dataverse) - before,
        4 + 3 + 1
    );

    let before = sandbox.handle.requests(Server::Dataverse);
    let back = client
        .download_note_attachment_to_spool(&guid(41))
        .await
        .unwrap();
    // The note, Initialize, 3 blocks.
    assert_eq!(
        sandbox.handle.requests(Server::Dataverse) - before,
        1 + 1 + 3
    );
    assert_eq!(
        (back.filename.as_str(), back.content.len()),
        ("trace.etl", size as u64)
    );
    assert!(
        back.content.to_vec().await.unwrap() == bytes,
        "the downloaded file differs"
    );

    // A retry finds the note and uploads nothing.
    let again = client
        .create_note_with_id_from_spool("incidents", &case, &guid(41), "Trace", "", &file)
        .await
        .unwrap();
    assert_eq!(again, NoteWrite::AlreadyExisted { id: guid(41) });

    // A small file goes in one request and comes back through its documentbody.
    let small = SpooledAttachment {
        filename: "note.txt".into(),
        mimetype: "text/plain".into(),
        content: crosswalk_http::Spool::new().unwrap(),
    };
    small.content.append(b"Hello spool".to_vec()).await.unwrap();
    client
        .create_note_with_id_from_spool("incidents", &case, &guid(42), "Small", "", &small)
        .await
        .unwrap();
    let back = client.download_note_attachment(&guid(42)).await.unwrap();
    assert_eq!(back.bytes, b"Hello spool");
    // Over the environment's limit it is refused before any upload.
    sandbox.handle.set_dataverse_max_upload_file_size(5_242_880);
    let refused = client
        .create_note_with_id_from_spool("incidents", &case, &guid(43), "Big", "", &file)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::AttachmentTooLarge { size: s, .. } if s == size as u64),
        "{refused:?}"
    );
}

#[tokio::test]
async fn notes_changed_since_reads_one_tables_notes_after_a_time() {
    let (sandbox, client) = start().await;
    let seeded = sandbox.handle.dataverse(|d| {
        d.rows_of("annotation")
            .filter(|n| n.values.get("objecttypecode") == Some(&json!("incident")))
            .count()
    });
    assert!(seeded > 0, "the tiny world has notes on cases");
    let case = new_case(&client, "Noted").await;
    let task = client
        .create("tasks", &json!({"subject": "Call back"}))
        .await
        .unwrap();
    client
        .create_note_with_id("incidents", &case, &guid(1), "Older", "", None)
        .await
        .unwrap();
    client
        .create_note_with_id("tasks", &task, &guid(2), "On a task", "", None)
        .await
        .unwrap();
    sandbox.handle.advance_clock(time::Duration::hours(1));
    let cursor = sandbox.handle.world().now() - time::Duration::minutes(30);
    client
        .create_note_with_id("incidents", &case, &guid(3), "Newer", "", None)
        .await
        .unwrap();

    let all = client.notes_changed_since("incident", None).await.unwrap();
    // The answer is dated by the sandbox's world clock (moved an hour ahead), not ours.
    let server = all.server_time.expect("a Date header");
    assert!(
        (server - sandbox.handle.world().now()).abs() < time::Duration::seconds(5),
        "{server}"
    );
    let all = all.notes;
    assert_eq!(all.len(), seeded + 2);
    assert!(all.iter().all(|(_, note)| note.id != guid(2)));
    let stamps: Vec<&str> = all
        .iter()
        .map(|(_, n)| n.modified_on.as_deref().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");

    let recent = client
        .notes_changed_since("incident", Some(cursor))
        .await
        .unwrap()
        .notes;
    let [(regarding, note)] = &recent[..] else {
        panic!("one note expected: {recent:?}");
    };
    assert_eq!(
        (regarding.as_str(), note.id.as_str()),
        (case.as_str(), guid(3).as_str())
    );
    assert_eq!(note.subject.as_deref(), Some("Newer"));
    let tasks = client
        .notes_changed_since("task", None)
        .await
        .unwrap()
        .notes;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].0, task);
    assert!(matches!(
        client.notes_changed_since("incident'--", None).await,
        Err(Error::InvalidArgument { .. })
    ));
}

#[tokio::test]
async fn list_entities_lists_every_table_in_one_request() {
    let (_sandbox, client) = start().await;
    let requests = || {
        client
            .http()
            .counter()
            .snapshot()
            .get("dataverse")
            .map_or(0, |stats| stats.requests)
    };
    let before = requests();
    let tables = client.list_entities().await.unwrap();
    let table = |name: &str| {
        tables
            .iter()
            .find(|t| t.logical_name == name)
            .unwrap_or_else(|| panic!("no table {name}"))
    };
    let incident = table("incident");
    assert_eq!(incident.entity_set_name, "incidents");
    assert_eq!(incident.display_name.as_deref(), Some("Case"));
    assert_eq!(incident.primary_name_attribute.as_deref(), Some("title"));
    assert!(incident.change_tracking_enabled);
    assert_eq!(incident.object_type_code, Some(112));
    assert_eq!(table("opportunity").entity_set_name, "opportunities");
    assert!(!table("lead").change_tracking_enabled);
    assert_eq!(table("task").primary_id_attribute, "activityid");
    let mut names: Vec<&str> = tables.iter().map(|t| t.logical_name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), tables.len(), "each table once");
    // Metadata does not page; the token request is not a Dataverse request.
    assert_eq!(requests() - before, 1);
    // The set names are remembered, so records of any listed table resolve without a lookup.
    assert_eq!(client.entity("lead").await.unwrap(), table("lead").clone());
}

#[tokio::test]
async fn state_options_pair_states_with_their_statuses() {
    let (_sandbox, client) = start().await;
    let (states, statuses) = client.state_options("incident").await.unwrap();
    let state = |value: i32| states.iter().find(|o| o.value == value).unwrap();
    assert_eq!(state(0).default_status, Some(1));
    assert_eq!(state(1).default_status, Some(5));
    assert_eq!(state(2).default_status, Some(6));
    assert!(states.iter().all(|o| !o.label.is_empty()));
    let status = |value: i32| statuses.iter().find(|o| o.value == value).unwrap();
    assert_eq!(
        (status(1).state, status(5).state, status(6).state),
        (Some(0), Some(1), Some(2))
    );
    assert_eq!(status(1000).label, "Information Provided");
    // The same options `attributes` reports, in two requests instead of ten.
    let attributes = client.attributes("incident").await.unwrap();
    let kind = |name: &str| {
        attributes
            .iter()
            .find(|a| a.logical_name == name)
            .map(|a| a.kind.clone())
            .unwrap()
    };
    assert_eq!(kind("statecode"), AttributeKind::State { options: states });
    assert_eq!(
        kind("statuscode"),
        AttributeKind::Status { options: statuses }
    );
    let (none, also_none) = client.state_options("annotation").await.unwrap();
    assert!(none.is_empty() && also_none.is_empty());
}

#[tokio::test]
async fn list_by_ids_reads_records_in_batches_of_fifty() {
    let (sandbox, client) = start().await;
    let existing: Vec<String> = sandbox
        .handle
        .dataverse(|d| d.rows_of("incident").map(|r| r.id.clone()).collect());
    assert!(existing.len() > 3);
    // Known cases among ids that match nothing (deleted on the other side, say).
    let mut ids: Vec<String> = (0..120).map(|n| guid(1000 + n)).collect();
    for (idx, id) in existing.iter().enumerate() {
        ids.insert((idx * 37) % ids.len(), id.to_ascii_uppercase());
    }
    let before = sandbox.handle.requests(Server::Dataverse);
    let records = client
        .list_by_ids(
            "incidents",
            "incidentid",
            &ids,
            &["title", "statuscode"],
            true,
        )
        .await
        .unwrap();
    let requests = sandbox.handle.requests(Server::Dataverse) - before;
    assert_eq!(requests, ids.len().div_ceil(IDS_PER_REQUEST) as u64);
    let mut got: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    got.sort();
    let mut want = existing.clone();
    want.sort();
    assert_eq!(got, want);
    assert!(records
        .iter()
        .all(|r| r.fields.contains_key("title") && r.formatted.contains_key("statuscode")));
    assert!(records.iter().all(|r| r.etag.is_some()));
    assert!(client
        .list_by_ids("incidents", "incidentid", &[], &[], false)
        .await
        .unwrap()
        .is_empty());
    let bad = client
        .list_by_ids("incidents", "incidentid", &["CAS-1".to_owned()], &[], false)
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::InvalidArgument { .. }), "{bad:?}");
}

#[tokio::test]
async fn user_privileges_say_what_the_application_users_role_grants() {
    use crate::{AccessRight, PrivilegeDepth};
    let (sandbox, client) = start().await;
    let me = client.who_am_i().await.unwrap();
    let incident = client.secured_table("incident").await.unwrap();
    assert_eq!(
        (
            incident.entity_set_name.as_str(),
            incident.display_name.as_deref()
        ),
        ("incidents", Some("Case"))
    );
    assert_eq!(
        incident.privilege_name(AccessRight::Read),
        "prvReadIncident"
    );
    let task = client.secured_table("task").await.unwrap();
    assert!(task.is_activity);
    assert_eq!(
        task.privilege_name(AccessRight::Create),
        "prvCreateActivity"
    );
    let notes = client.secured_table("annotation").await.unwrap();
    assert_eq!(notes.role_editor_name(), "Note");

    let held = client.user_privileges(&me.user_id).await.unwrap();
    for right in [AccessRight::Read, AccessRight::Write, AccessRight::AppendTo] {
        assert_eq!(held.depth(&incident, right), Some(PrivilegeDepth::Global));
    }
    assert_eq!(
        held.depth(&notes, AccessRight::Create),
        Some(PrivilegeDepth::Global)
    );
    client.probe_read(&incident).await.unwrap();

    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(CLIENT_ID, "incident", Privilege::Read));
    let held = client.user_privileges(&me.user_id).await.unwrap();
    assert_eq!(held.depth(&incident, AccessRight::Read), None);
    assert!(held.depth(&incident, AccessRight::Write).is_some());
    let probe = client.probe_read(&incident).await.unwrap_err();
    assert!(
        matches!(&probe, Error::MissingPrivilege { privilege, table } if privilege == "Read" && table == "incident"),
        "{probe:?}"
    );

    // Without Read on User the function is refused; a missing table is 404.
    sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(CLIENT_ID, "systemuser", Privilege::Read));
    let refused = client.user_privileges(&me.user_id).await.unwrap_err();
    assert!(
        matches!(&refused, Error::MissingPrivilege { table, .. } if table == "systemuser"),
        "{refused:?}"
    );
    let missing = client.secured_table("cw_nosuchtable").await.unwrap_err();
    assert!(
        matches!(missing, Error::Http(crosswalk_http::Error::NotFound { .. })),
        "{missing:?}"
    );
    assert!(matches!(
        client.user_privileges("not-a-guid").await,
        Err(Error::InvalidArgument { .. })
    ));
}

/// A multi-select choice ("Choices") reads `AttributeType` `Virtual` on the generic list; the
/// `MultiSelectPicklistAttributeMetadata` cast identifies it and gives its options, so it is a
/// `MultiSelect` with them (Microsoft Learn, "Choices columns"), read in the same pass.
#[tokio::test]
async fn multi_select_choices_come_with_their_options() {
    let (_sandbox, client) = start().await;
    let requests = || {
        client
            .http()
            .counter()
            .snapshot()
            .get("dataverse")
            .map_or(0, |stats| stats.requests)
    };
    let before = requests();
    let attributes = client.attributes("incident").await.unwrap();
    // The generic list and one request per typed cast.
    assert_eq!(requests() - before, 10);
    let regions = attributes
        .iter()
        .find(|a| a.logical_name == "cw_regions")
        .expect("cw_regions");
    let AttributeKind::MultiSelect { options } = &regions.kind else {
        panic!("cw_regions is not a multi-select: {:?}", regions.kind);
    };
    let pairs: Vec<(i32, &str)> = options
        .iter()
        .map(|o| (o.value, o.label.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (100_000_000, "EMEA"),
            (100_000_001, "Americas"),
            (100_000_002, "APAC"),
            (100_000_003, "LATAM"),
        ]
    );
    assert_eq!(regions.format, None);
    // Single choices stay choices; no other column is taken for a multi-select.
    let multi: Vec<&str> = attributes
        .iter()
        .filter(|a| matches!(a.kind, AttributeKind::MultiSelect { .. }))
        .map(|a| a.logical_name.as_str())
        .collect();
    assert_eq!(multi, vec!["cw_regions"]);
    assert!(attributes
        .iter()
        .any(|a| a.logical_name == "prioritycode"
            && matches!(a.kind, AttributeKind::Picklist { .. })));
}

/// Microsoft Learn, "Configure auditing" and "Retrieve the history of audited data changes":
/// the switches, then one `audits` request for the newest change of each asked column.
#[tokio::test]
async fn column_change_times_come_from_the_audit_history_in_one_request() {
    let (sandbox, client) = start().await;
    let requests = || sandbox.handle.requests(Server::Dataverse);
    let id = new_case(&client, "Audited").await;

    // A fresh environment does not audit: one request says so, the table is not read.
    let before = requests();
    let audit = client.table_audit("incident").await.unwrap();
    assert_eq!(requests() - before, 1);
    assert!(!audit.organization);
    assert_eq!(audit.off("title"), Some(crate::AuditOff::Organization));
    let before = requests();
    let none = client
        .column_change_times(&audit, &id, &["title"], None)
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(requests() - before, 0, "nothing audited, nothing asked");

    sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let audit = client.table_audit("incident").await.unwrap();
    assert!(audit.organization && audit.table);
    assert_eq!(audit.off("title"), None);
    assert_eq!(audit.off("modifiedon"), Some(crate::AuditOff::Column));

    sandbox.handle.advance_clock(time::Duration::minutes(1));
    let title_at = sandbox.handle.world().now();
    client
        .update(
            "incidents",
            &id,
            &json!({"title": "Audited (renamed)"}),
            None,
        )
        .await
        .unwrap();
    sandbox.handle.advance_clock(time::Duration::minutes(1));
    let description_at = sandbox.handle.world().now();
    client
        .update(
            "incidents",
            &id,
            &json!({"description": "Later, another column"}),
            None,
        )
        .await
        .unwrap();

    let before = requests();
    let times = client
        .column_change_times(&audit, &id, &["title", "description", "prioritycode"], None)
        .await
        .unwrap();
    assert_eq!(requests() - before, 1);
    let second = |at: time::OffsetDateTime| at.replace_nanosecond(0).unwrap();
    assert_eq!(times.get("title"), Some(&second(title_at)));
    assert_eq!(times.get("description"), Some(&second(description_at)));
    // Never changed since the record was created: no entry.
    assert!(!times.contains_key("prioritycode"));
    // Only changes since `since` count.
    let since = client
        .column_change_times(&audit, &id, &["title", "description"], Some(description_at))
        .await
        .unwrap();
    assert_eq!(since.keys().collect::<Vec<_>>(), vec!["description"]);
}

/// An older change of a column is found on a later page, read only because it was not on the
/// first; a record's other columns changed more than a page since.
#[tokio::test]
async fn column_change_times_read_further_pages_only_for_columns_not_found_yet() {
    let (sandbox, client) = start().await;
    sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let id = new_case(&client, "Busy case").await;
    client
        .update(
            "incidents",
            &id,
            &json!({"title": "Busy case (renamed)"}),
            None,
        )
        .await
        .unwrap();
    let now = sandbox.handle.world().now();
    sandbox.handle.dataverse(|d| {
        for n in 0..120 {
            let mut fields = serde_json::Map::new();
            fields.insert("description".into(), json!(format!("note {n}")));
            d.update_row(
                "incident",
                &id,
                fields,
                now + time::Duration::seconds(n + 1),
            );
        }
    });
    let audit = client.table_audit("incident").await.unwrap();
    let before = sandbox.handle.requests(Server::Dataverse);
    let times = client
        .column_change_times(&audit, &id, &["description"], None)
        .await
        .unwrap();
    assert_eq!(sandbox.handle.requests(Server::Dataverse) - before, 1);
    assert_eq!(times.len(), 1);
    let before = sandbox.handle.requests(Server::Dataverse);
    let times = client
        .column_change_times(&audit, &id, &["title"], None)
        .await
        .unwrap();
    // 121 update rows, 100 a page: the title's is on the second.
    assert_eq!(sandbox.handle.requests(Server::Dataverse) - before, 2);
    assert_eq!(
        times.get("title"),
        Some(&now.replace_nanosecond(0).unwrap())
    );
}

/// Without View Audit Summary the audit table answers the privilege error (§F.11), named.
#[tokio::test]
async fn column_change_times_without_view_audit_summary_name_the_privilege() {
    let (sandbox, client) = start().await;
    sandbox.handle.dataverse(|d| {
        d.set_organization_auditing(true);
        d.revoke_misc_privilege(CLIENT_ID, crosswalk_sandbox::dataverse::READ_AUDIT_SUMMARY);
    });
    let id = new_case(&client, "Secret history").await;
    let audit = client.table_audit("incident").await.unwrap();
    let error = client
        .column_change_times(&audit, &id, &["title"], None)
        .await
        .unwrap_err();
    let Error::MissingMiscPrivilege { privilege } = &error else {
        panic!("not a missing privilege: {error:?}");
    };
    assert_eq!(privilege, "prvReadAuditSummary");
    let facing = error.user_facing();
    assert!(facing.fix.unwrap().contains("View Audit Summary"));
}
