//! Full sync, change detection and the second run, against the sandbox over real HTTP.

mod common;

use common::{assert_mirrors_directory, Harness};
use crosswalk_sandbox::{Server, Size};

#[tokio::test]
async fn first_run_mirrors_the_directory_and_a_second_run_writes_nothing() {
    let h = Harness::start(Size::Tiny).await;
    let first = h.sync().await;
    assert_mirrors_directory(&h);
    let totals = first.totals();
    assert!(totals.created > 0 && totals.failed == 0, "{totals:?}");
    assert!(
        h.events(first.id).iter().any(|e| e
            .message
            .contains("Client secret of connection contoso expires in")),
        "the run reports the client secret's expiry"
    );

    let before = h.sandbox.handle.assets_requests();
    let second = h.sync().await;
    let totals = second.totals();
    assert_eq!(
        (totals.created, totals.updated, totals.retired),
        (0, 0, 0),
        "{totals:?}"
    );
    // Delta rounds do not even return unchanged objects.
    assert_eq!(totals.unchanged, 0);
    let after = h.sandbox.handle.assets_requests();
    let writes: u64 = after
        .iter()
        .filter(|(endpoint, _)| !endpoint.starts_with("GET") && !endpoint.contains("aql"))
        .map(|(endpoint, count)| count.requests - before.get(endpoint).map_or(0, |c| c.requests))
        .sum();
    assert_eq!(writes, 0, "a no-change run writes nothing: {after:?}");
    assert_mirrors_directory(&h);
    let assets_requests = second.requests.get("assets").map_or(0, |r| r.requests);
    assert_eq!(
        assets_requests, 0,
        "the schema is remembered: a no-change run reads no Assets"
    );
    let graph = second.requests.get("graph").map_or(0, |r| r.requests);
    assert!(
        graph <= 6,
        "a no-change run reads only the delta pages: {graph} Graph requests"
    );
    let _ = h.sandbox.handle.requests(Server::Graph);
}
