//! Jira Cloud's rate limits (api/atlassian.md §C) as the sandbox models them: the burst limiter
//! per endpoint and method, and the per-issue write limiter, some 429s without `Retry-After`.
//! A busy poll is throttled and still makes every issue, link and comment exactly once, with
//! nothing failed and nothing echoed afterwards.

mod common;

use common::{base_settings, count, Harness};
use crosswalk_sandbox::jira::limits::{Burst, WriteWindow};
use crosswalk_sandbox::{JiraLimits, SandboxOptions, Size};
use crosswalk_store::EventAction;
use serde_json::json;

#[tokio::test]
async fn a_poll_throttled_by_jira_s_limiters_makes_everything_exactly_once() {
    let mut settings = base_settings();
    settings["comments"] = json!(true);
    // Tight enough that one poll meets both limiters: 4 requests at once per endpoint and
    // method, refilled at 3 a second, and 3 writes to one issue per 2 seconds (its create,
    // remote link, property and comment are 4); every third 429 has no Retry-After.
    let limits = JiraLimits {
        burst: Burst {
            capacity: 4,
            per_second: 3,
        },
        per_issue_writes: vec![WriteWindow {
            writes: 3,
            window_secs: 2,
        }],
        ..JiraLimits::documented()
    }
    .bare_every(3);
    let h = Harness::start_with(
        settings,
        SandboxOptions {
            size: Size::Tiny,
            jira_limits: Some(limits),
            ..SandboxOptions::default()
        },
    )
    .await;
    h.poll().await;
    h.tick().await;
    let cases: Vec<String> = (0..6)
        .map(|i| {
            let case = h.create_case(&format!("Busy case {i}"), json!({}));
            h.add_note(&case, "Call", &format!("Customer {i} called"));
            case
        })
        .collect();

    let (run, events) = h.poll().await;
    assert_eq!(count(&events, "issue", EventAction::Created), 6);
    let jira = &run.requests["jira"];
    assert!(
        jira.throttled > 0,
        "the limiters were met: {:?}",
        run.requests
    );
    for (i, case) in cases.iter().enumerate() {
        let issues = h.issues_for_case(case);
        assert_eq!(issues.len(), 1, "case {i}: {issues:?}");
        let comments = h.comments_of(&issues[0]);
        assert_eq!(
            comments
                .iter()
                .filter(|c| c.contains(&format!("Customer {i} called")))
                .count(),
            1,
            "case {i}: {comments:?}"
        );
        assert_eq!(h.remote_links_of(&issues[0]).len(), 1, "case {i}");
        assert_eq!(h.link_notes_of(case).len(), 1, "case {i}");
    }

    // Nothing is written again, throttled or not.
    for _ in 0..2 {
        h.tick().await;
        let (_, events) = h.poll().await;
        assert!(Harness::writes(&events).is_empty(), "{events:#?}");
    }
}
