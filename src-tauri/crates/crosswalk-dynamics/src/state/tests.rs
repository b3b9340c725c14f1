use super::{LinkState, PendingStatus, StatusSide};
use serde_json::json;

#[test]
fn a_pending_move_stored_before_sides_existed_reads_as_a_jira_move() {
    let state = LinkState::from_json(&json!({
        "initialized": true,
        "status_pending": {"target": "6", "reason": "no transition", "attempts": 3},
    }));
    assert_eq!(
        state.status_pending,
        Some(PendingStatus {
            side: StatusSide::Jira,
            target: "6".to_owned(),
            reason: "no transition".to_owned(),
            attempts: 3,
            retry_after: None,
        })
    );
}

#[test]
fn a_pending_dataverse_write_round_trips_with_its_side() {
    let state = LinkState {
        status_pending: Some(PendingStatus {
            side: StatusSide::Dynamics,
            target: PendingStatus::dataverse_target((1, 3)),
            reason: "missing privilege".to_owned(),
            attempts: 1,
            retry_after: None,
        }),
        ..LinkState::default()
    };
    let stored = state.to_json();
    assert_eq!(stored["status_pending"]["side"], "dynamics");
    assert_eq!(stored["status_pending"]["target"], "1/3");
    let read = LinkState::from_json(&stored);
    assert_eq!(read, state);
    let pending = read.status_pending.unwrap();
    assert!(pending.aims_at(StatusSide::Dynamics, "1/3"));
    assert!(!pending.aims_at(StatusSide::Jira, "1/3"));
}

#[test]
fn after_five_attempts_a_pending_move_waits_a_quarter_hour() {
    let now = time::macros::datetime!(2026-12-07 10:00 UTC);
    for attempts in 1..PendingStatus::EVERY_POLL {
        assert_eq!(PendingStatus::retry_after_for(attempts, now), None);
    }
    let pending = PendingStatus {
        side: StatusSide::Jira,
        target: "6".to_owned(),
        reason: "no transition".to_owned(),
        attempts: 5,
        retry_after: PendingStatus::retry_after_for(5, now),
    };
    assert_eq!(pending.retry_after.as_deref(), Some("2026-12-07T10:15:00Z"));
    assert!(!pending.due(now + time::Duration::minutes(14)));
    assert!(pending.due(now + time::Duration::minutes(15)));
    // Stored before the backoff existed (or unreadable): due.
    assert!(PendingStatus {
        retry_after: None,
        ..pending.clone()
    }
    .due(now));
}
