//! Attachments (and the deletions of comments and attachments) between Jira issues and the notes
//! of their Cases, against the sandbox over real HTTP with a real SQLite store: byte-identical
//! copies both ways, no echoes (ten polls without a write request), 40 MB files through
//! Dataverse's block upload and block download, files over a side's limit (or the item's)
//! skipped once with the fix, and deletions mirrored only when the item asks for it. Assertions
//! read the sandbox's state.

mod common;

use common::{base_settings, count, file_bytes, Harness};
use crosswalk_sandbox::{Fault, FaultRule, Server};
use crosswalk_store::{EventAction, EventRow};
use serde_json::{json, Value};

const MB: usize = 1024 * 1024;

fn settings(extra: Value) -> Value {
    let mut settings = base_settings();
    settings["attachments"] = json!(true);
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        settings[key] = value;
    }
    settings
}

fn writes(events: &[EventRow]) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e.action,
                EventAction::Created
                    | EventAction::Updated
                    | EventAction::Deleted
                    | EventAction::Skipped
            )
        })
        .collect()
}

/// Polls `n` times; none may write, skip or fail anything.
async fn settled(h: &Harness, n: usize) {
    for poll in 0..n {
        h.tick().await;
        let (_, events) = h.poll().await;
        let writes = writes(&events);
        assert!(writes.is_empty(), "poll {poll}: {writes:#?}");
    }
}

/// A counted no-op rule on `route`: what is left of `BUDGET` tells how many requests it saw.
const BUDGET: u32 = 100_000;

fn watch(h: &Harness, route: &str) {
    h.sandbox.handle.add_fault(FaultRule::next(
        Server::Dataverse,
        route,
        BUDGET,
        Fault::Latency { ms: 0 },
    ));
}

fn seen(h: &Harness, route: &str) -> u32 {
    let left = h
        .sandbox
        .handle
        .fault_rules()
        .into_iter()
        .find(|rule| rule.route.as_deref() == Some(route))
        .and_then(|rule| rule.times)
        .unwrap_or(0);
    BUDGET - left
}

/// Requests that write, on either side: (server, method, path fragment). Reads that POST (Jira's
/// search, Dataverse's block download) are not among them.
const WRITE_ROUTES: [(Server, &str, &str); 9] = [
    (Server::Jira, "POST", "/rest/api/3/issue"),
    (Server::Jira, "PUT", "/rest/api/3/"),
    (Server::Jira, "DELETE", "/rest/api/3/"),
    (Server::Dataverse, "PATCH", "/api/data/"),
    (Server::Dataverse, "DELETE", "/api/data/"),
    (Server::Dataverse, "POST", "/annotations"),
    (Server::Dataverse, "POST", "/incidents"),
    (Server::Dataverse, "POST", "BlocksUpload"),
    (Server::Dataverse, "POST", "/UploadBlock"),
];

/// Starts counting [`WRITE_ROUTES`].
fn watch_writes(h: &Harness) {
    for (server, method, route) in WRITE_ROUTES {
        h.sandbox.handle.add_fault(FaultRule {
            method: Some(method.to_owned()),
            ..FaultRule::next(server, route, BUDGET, Fault::Latency { ms: 0 })
        });
    }
}

/// Write requests either side received since [`watch_writes`]; stops counting.
fn writes_seen(h: &Harness) -> u32 {
    let left: u32 = h
        .sandbox
        .handle
        .fault_rules()
        .into_iter()
        .filter(|rule| {
            WRITE_ROUTES.iter().any(|(server, method, route)| {
                rule.server == *server
                    && rule.method.as_deref() == Some(*method)
                    && rule.route.as_deref() == Some(*route)
            })
        })
        .filter_map(|rule| rule.times)
        .sum();
    h.sandbox.handle.clear_faults();
    BUDGET * WRITE_ROUTES.len() as u32 - left
}

/// FNV-1a: a checksum to compare a large copy with its original.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn skipped(events: &[EventRow]) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| {
            e.object_kind.as_deref() == Some("attachment") && e.action == EventAction::Skipped
        })
        .collect()
}

#[tokio::test]
async fn files_travel_both_ways_byte_identical_without_echoes() {
    let h = Harness::start(settings(json!({}))).await;
    h.poll().await;
    let (case, key) = h.linked_case("Scanner drivers").await;

    // Jira → Dynamics: a note with the file on the Case.
    h.tick().await;
    let log = file_bytes(300 * 1024, 1);
    h.attach_on_jira(&key, "install.log", log.clone()).await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        1,
        "{events:#?}"
    );
    let files = h.file_notes_of(&case);
    assert_eq!(
        files.len(),
        1,
        "{:?}",
        files.iter().map(|f| &f.1).collect::<Vec<_>>()
    );
    assert_eq!(files[0].1, "install.log");
    assert!(
        files[0].2 == log,
        "the note's file differs from the Jira attachment"
    );
    // Ten more polls: the copy travels neither back nor again, and nothing is written.
    watch_writes(&h);
    settled(&h, 10).await;
    assert_eq!(writes_seen(&h), 0);
    assert_eq!(h.jira_attachments(&key).len(), 1);
    assert_eq!(h.file_notes_of(&case).len(), 1);

    // Dynamics → Jira: an attachment on the issue.
    h.tick().await;
    let shot = file_bytes(700 * 1024, 2);
    h.add_file_note(&case, "screenshot.png", &shot);
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        1,
        "{events:#?}"
    );
    let attachments = h.jira_attachments(&key);
    assert_eq!(
        attachments.len(),
        2,
        "{:?}",
        attachments.iter().map(|a| &a.1).collect::<Vec<_>>()
    );
    let copy = attachments
        .iter()
        .find(|a| a.1 == "screenshot.png")
        .expect("the note's file on the issue");
    assert!(
        copy.2 == shot,
        "the Jira attachment differs from the note's file"
    );

    // Neither copy travels back, however often the item polls.
    watch_writes(&h);
    settled(&h, 10).await;
    assert_eq!(writes_seen(&h), 0);
    assert_eq!(h.jira_attachments(&key).len(), 2);
    assert_eq!(h.file_notes_of(&case).len(), 2);
}

#[tokio::test]
async fn a_40_mb_jira_attachment_reaches_dataverse_through_block_upload() {
    let h = Harness::start(settings(json!({}))).await;
    h.allow_large_files(100);
    h.poll().await;
    let (case, key) = h.linked_case("Crash dump").await;

    h.tick().await;
    let dump = file_bytes(40 * MB, 3);
    h.attach_on_jira(&key, "memory.dmp", dump.clone()).await;
    for route in [
        "/InitializeAnnotationBlocksUpload",
        "/UploadBlock",
        "/CommitAnnotationBlocksUpload",
    ] {
        watch(&h, route);
    }
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        1,
        "{events:#?}"
    );
    assert_eq!(seen(&h, "/InitializeAnnotationBlocksUpload"), 1);
    // 40 MB in blocks of at most 4 MB (the documented advice).
    assert_eq!(seen(&h, "/UploadBlock"), 10);
    assert_eq!(seen(&h, "/CommitAnnotationBlocksUpload"), 1);
    h.sandbox.handle.clear_faults();

    let files = h.file_notes_of(&case);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].1, "memory.dmp");
    assert_eq!(files[0].2.len(), dump.len());
    assert!(files[0].2 == dump, "the reassembled file differs");

    settled(&h, 2).await;
    assert_eq!(h.jira_attachments(&key).len(), 1);
    assert_eq!(h.file_notes_of(&case).len(), 1);
}

#[tokio::test]
async fn a_40_mb_dynamics_file_reaches_jira_through_block_download_in_one_piece() {
    let h = Harness::start(settings(json!({}))).await;
    h.allow_large_files(100);
    h.poll().await;
    let (case, key) = h.linked_case("Network capture").await;

    h.tick().await;
    let capture = file_bytes(40 * MB, 12);
    let (size, sum) = (capture.len(), checksum(&capture));
    h.add_file_note(&case, "capture.pcap", &capture);
    drop(capture);
    for route in ["/InitializeAnnotationBlocksDownload", "/DownloadBlock"] {
        watch(&h, route);
    }
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        1,
        "{events:#?}"
    );
    assert_eq!(seen(&h, "/InitializeAnnotationBlocksDownload"), 1);
    // 40 MB read in blocks of 4 MB (the documented advice).
    assert_eq!(seen(&h, "/DownloadBlock"), 10);
    h.sandbox.handle.clear_faults();

    let attachments = h.jira_attachments(&key);
    assert_eq!(attachments.len(), 1, "exactly one copy");
    assert_eq!(attachments[0].1, "capture.pcap");
    assert_eq!(
        (attachments[0].2.len(), checksum(&attachments[0].2)),
        (size, sum),
        "the Jira attachment differs from the note's file"
    );

    settled(&h, 2).await;
    assert_eq!(h.jira_attachments(&key).len(), 1);
    assert_eq!(h.file_notes_of(&case).len(), 1);
}

#[tokio::test]
async fn a_file_over_dataverse_limit_is_skipped_once_with_the_fix() {
    let h = Harness::start(settings(json!({"comments": true}))).await;
    h.poll().await;
    let (case, key) = h.linked_case("Large video").await;

    // The default maxuploadfilesize is 5,242,880 base64 characters: about 3.75 MB of file.
    h.tick().await;
    h.attach_on_jira(&key, "meeting.mp4", file_bytes(4 * MB, 4))
        .await;
    let (_, events) = h.poll().await;
    let skips = skipped(&events);
    assert_eq!(skips.len(), 1, "{events:#?}");
    let skip = skips[0];
    for needle in ["meeting.mp4", "4.0 MB", "3.8 MB", "Dataverse"] {
        assert!(
            skip.message.contains(needle),
            "lacks {needle}: {}",
            skip.message
        );
    }
    let fix = skip.fix.as_deref().unwrap_or_default();
    assert!(fix.contains("maximum file size"), "{fix}");
    assert!(h.file_notes_of(&case).is_empty());

    // Later polls, even when the issue changes, neither retry nor repeat the skip.
    h.tick().await;
    h.comment_on(&key, "Uploaded the recording");
    let (_, events) = h.poll().await;
    assert!(skipped(&events).is_empty(), "{events:#?}");
    settled(&h, 2).await;
    assert!(h.file_notes_of(&case).is_empty());
    assert_eq!(h.jira_attachments(&key).len(), 1);
}

#[tokio::test]
async fn a_note_file_over_jira_limit_is_skipped_once_with_the_fix() {
    let h = Harness::start(settings(json!({}))).await;
    h.sandbox.handle.set_jira_attachment_upload_limit(MB as u64);
    h.poll().await;
    let (case, key) = h.linked_case("Contract scan").await;

    h.tick().await;
    h.add_file_note(&case, "contract.pdf", &file_bytes(2 * MB, 5));
    let (_, events) = h.poll().await;
    let skips = skipped(&events);
    assert_eq!(skips.len(), 1, "{events:#?}");
    for needle in ["contract.pdf", "2.0 MB", "1.0 MB", "Jira"] {
        assert!(
            skips[0].message.contains(needle),
            "lacks {needle}: {}",
            skips[0].message
        );
    }
    let fix = skips[0].fix.as_deref().unwrap_or_default();
    assert!(fix.contains("Attachments"), "{fix}");
    assert!(h.jira_attachments(&key).is_empty());

    // A later change of the Case re-reads its notes: the file is neither retried nor skipped again.
    h.tick().await;
    h.update_case(&case, json!({"description": "Scanned"}));
    let (_, events) = h.poll().await;
    assert!(skipped(&events).is_empty(), "{events:#?}");
    settled(&h, 2).await;
    assert!(h.jira_attachments(&key).is_empty());
}

#[tokio::test]
async fn the_items_max_attachment_size_is_honoured_both_ways() {
    let h = Harness::start(settings(json!({"max_attachment_mb": 1}))).await;
    h.poll().await;
    let (case, key) = h.linked_case("Limits").await;

    h.tick().await;
    h.attach_on_jira(&key, "big-from-jira.bin", file_bytes(MB + MB / 2, 6))
        .await;
    h.attach_on_jira(&key, "small-from-jira.txt", file_bytes(10_000, 7))
        .await;
    h.add_file_note(&case, "big-from-dynamics.bin", &file_bytes(MB + MB / 2, 8));
    h.add_file_note(&case, "small-from-dynamics.txt", &file_bytes(20_000, 9));
    let (_, events) = h.poll().await;
    let skips = skipped(&events);
    assert_eq!(skips.len(), 2, "{events:#?}");
    for skip in &skips {
        assert!(
            skip.message.contains("1.5 MB") && skip.message.contains("1.0 MB"),
            "{}",
            skip.message
        );
        assert!(
            skip.message.contains("or the item allows"),
            "{}",
            skip.message
        );
        assert!(skip
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("item's limit"));
    }
    assert!(skips
        .iter()
        .any(|s| s.message.contains("big-from-jira.bin")));
    assert!(skips
        .iter()
        .any(|s| s.message.contains("big-from-dynamics.bin")));
    assert_eq!(count(&events, "attachment", EventAction::Created), 2);

    let notes: Vec<String> = h.file_notes_of(&case).into_iter().map(|f| f.1).collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.contains(&"small-from-jira.txt".to_owned()));
    let on_jira: Vec<String> = h.jira_attachments(&key).into_iter().map(|a| a.1).collect();
    assert_eq!(on_jira.len(), 3, "{on_jira:?}");
    assert!(on_jira.contains(&"small-from-dynamics.txt".to_owned()));
    settled(&h, 2).await;
}

/// Four synced items on one link: a Jira comment and a Dynamics note, a Jira attachment and a
/// Dynamics file note, each with its copy on the other side.
struct Synced {
    case: String,
    key: String,
    jira_comment: String,
    dynamics_note: String,
    jira_file: String,
    dynamics_file: String,
}

async fn four_synced_items(h: &Harness) -> Synced {
    h.poll().await;
    let (case, key) = h.linked_case("Deletions").await;
    h.tick().await;
    let jira_comment = h.comment_on(&key, "Comment written in Jira");
    let dynamics_note = h.add_note(&case, "Call", "Note written in Dynamics");
    let jira_file = h
        .attach_on_jira(&key, "from-jira.txt", file_bytes(5_000, 10))
        .await;
    let dynamics_file = h.add_file_note(&case, "from-dynamics.txt", &file_bytes(6_000, 11));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        2,
        "{events:#?}"
    );
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        2,
        "{events:#?}"
    );
    assert_eq!(h.comment_ids(&key).len(), 2);
    assert_eq!(h.jira_attachments(&key).len(), 2);
    // Link note, Dynamics note, copy of the comment, two file notes.
    assert_eq!(h.notes_of(&case).len(), 5);
    Synced {
        case,
        key,
        jira_comment,
        dynamics_note,
        jira_file,
        dynamics_file,
    }
}

async fn delete_all_four(h: &Harness, s: &Synced) {
    h.tick().await;
    let agent = h.agent();
    agent.delete_comment(&s.key, &s.jira_comment).await.unwrap();
    agent.delete_attachment(&s.jira_file).await.unwrap();
    h.delete_note(&s.dynamics_note);
    h.delete_note(&s.dynamics_file);
}

#[tokio::test]
async fn deletions_are_mirrored_when_the_item_asks_for_it() {
    let h = Harness::start(settings(
        json!({"comments": true, "mirror_deletions": true}),
    ))
    .await;
    let s = four_synced_items(&h).await;
    delete_all_four(&h, &s).await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Deleted),
        2,
        "{events:#?}"
    );
    assert_eq!(
        count(&events, "attachment", EventAction::Deleted),
        2,
        "{events:#?}"
    );

    // Only the link note is left in Dynamics, nothing in Jira.
    let notes = h.notes_of(&s.case);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].1.contains(&s.key));
    assert!(
        h.comment_ids(&s.key).is_empty(),
        "{:?}",
        h.comments_of(&s.key)
    );
    assert!(h.jira_attachments(&s.key).is_empty());

    // The deletions the connector made are not taken for new work, nor mirrored again.
    settled(&h, 3).await;
    assert_eq!(h.notes_of(&s.case).len(), 1);
    assert!(h.comment_ids(&s.key).is_empty());
}

#[tokio::test]
async fn deletions_are_not_mirrored_by_default() {
    let h = Harness::start(settings(json!({"comments": true}))).await;
    let s = four_synced_items(&h).await;
    delete_all_four(&h, &s).await;
    let (_, events) = h.poll().await;
    assert!(writes(&events).is_empty(), "{:#?}", writes(&events));

    // Each copy stays where it is, and nothing is copied back to replace the originals.
    let notes = h.notes_of(&s.case);
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes
        .iter()
        .any(|n| n.2.contains("Comment written in Jira")));
    assert!(notes
        .iter()
        .any(|n| n.3.as_deref() == Some("from-jira.txt")));
    let comments = h.comments_of(&s.key);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("Note written in Dynamics"));
    let files: Vec<String> = h
        .jira_attachments(&s.key)
        .into_iter()
        .map(|a| a.1)
        .collect();
    assert_eq!(files, vec!["from-dynamics.txt".to_owned()]);
    settled(&h, 3).await;
    assert_eq!(h.notes_of(&s.case).len(), 3);
    assert_eq!(h.comment_ids(&s.key).len(), 1);
}

#[tokio::test]
async fn without_change_tracking_on_notes_dynamics_deletions_are_reported_not_guessed() {
    let h = Harness::start(settings(
        json!({"comments": true, "mirror_deletions": true}),
    ))
    .await;
    h.sandbox.handle.dataverse(|d| {
        d.table_mut("annotation").unwrap().change_tracking_enabled = false;
    });
    h.poll().await;
    let (case, key) = h.linked_case("Untracked notes").await;
    h.tick().await;
    let note = h.add_note(&case, "Call", "Customer called");
    h.poll().await;
    assert_eq!(h.comment_ids(&key).len(), 1);

    h.tick().await;
    h.delete_note(&note);
    let (_, events) = h.poll().await;
    let warning = events
        .iter()
        .find(|e| e.message.contains("change tracking is off for the Note"))
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert!(warning
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("Track changes"));
    assert_eq!(count(&events, "comment", EventAction::Deleted), 0);
    assert_eq!(h.comment_ids(&key).len(), 1, "nothing deleted on a guess");
}
