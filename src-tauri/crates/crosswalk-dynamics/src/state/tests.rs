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
