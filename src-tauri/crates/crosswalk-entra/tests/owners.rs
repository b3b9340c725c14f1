//! App registration owners: application delta never reports an owner change, so owners are read
//! in bulk by every full round, once a day, and when the owners mapping is switched on.

mod common;

use common::{assert_mirrors_directory, Harness};
use crosswalk_sandbox::{Fault, FaultRule, Server, Size};
use crosswalk_store::{EventAction, EventRow};
use std::collections::BTreeSet;
use time::Duration;

const APPS: &str = "Entra App Registration";

/// Counts the requests to one app's owners endpoint (`/applications/{id}/owners`) from now on:
/// a harmless rule whose remaining count goes down with each.
struct OwnerReads(u32);

impl OwnerReads {
    const ROUTE: &str = "/owners";

    fn start(h: &Harness) -> OwnerReads {
        let times = 1_000_000;
        h.sandbox.handle.add_fault(FaultRule::next(
            Server::Graph,
            Self::ROUTE,
            times,
            Fault::Latency { ms: 0 },
        ));
        OwnerReads(times)
    }

    fn so_far(&self, h: &Harness) -> u32 {
        let left = h
            .sandbox
            .handle
            .fault_rules()
            .into_iter()
            .find(|r| r.route.as_deref() == Some(Self::ROUTE))
            .and_then(|r| r.times)
            .unwrap_or(0);
        self.0 - left
    }
}

/// The Entra ids an app's "Owners" attribute references in Assets, and its "Owner count".
fn owners_in_assets(h: &Harness, app: &str) -> (BTreeSet<String>, Option<String>) {
    let mirror = h.assets();
    let object = &mirror.of(APPS)[app];
    let referenced = object
        .values
        .get("Owners")
        .into_iter()
        .flatten()
        .map(|id| {
            mirror
                .entra_id_of("Entra User", id)
                .expect("owners reference users")
        })
        .collect();
    (referenced, object.one("Owner count").map(str::to_owned))
}

fn sandbox_owners(h: &Harness, app: &str) -> Vec<String> {
    h.sandbox
        .handle
        .graph(|g| g.directory.applications.get(app).unwrap().owners.clone())
}

fn updated_apps(events: &[EventRow]) -> BTreeSet<String> {
    events
        .iter()
        .filter(|e| {
            e.action == EventAction::Updated && e.object_kind.as_deref() == Some("application")
        })
        .filter_map(|e| e.object_id.clone())
        .collect()
}

fn refresh_event(events: &[EventRow]) -> Option<&str> {
    events
        .iter()
        .map(|e| e.message.as_str())
        .find(|m| m.contains("owners of") && m.contains("app registrations"))
}

fn both_clocks(h: &Harness, by: Duration) {
    h.clock.advance(by);
    h.sandbox.handle.advance_clock(by);
}

#[tokio::test]
async fn owner_changes_reach_assets_at_the_daily_refresh() {
    let h = Harness::start(Size::Small).await;
    let (crowded, gains, loses, newcomer, leaving) = h.sandbox.handle.graph(|g| {
        let dir = &mut g.directory;
        let apps: Vec<String> = dir.applications.iter().map(|a| a.id.clone()).collect();
        let users: Vec<String> = dir.users.iter().map(|u| u.id.clone()).collect();
        let crowded = apps[0].clone();
        for user in &users {
            if dir.applications.get(&crowded).unwrap().owners.len() == 25 {
                break;
            }
            dir.add_application_owner(&crowded, user);
        }
        let gains = apps[1].clone();
        let newcomer = users
            .iter()
            .rev()
            .find(|u| !dir.applications.get(&gains).unwrap().owners.contains(u))
            .unwrap()
            .clone();
        let loses = apps[2..]
            .iter()
            .find(|a| !dir.applications.get(a).unwrap().owners.is_empty())
            .expect("an app with an owner")
            .clone();
        let leaving = dir.applications.get(&loses).unwrap().owners[0].clone();
        (crowded, gains, loses, newcomer, leaving)
    });
    let reads = OwnerReads::start(&h);

    // The first (full) round reads owners in bulk; only the app past Graph's expand cap of 20
    // is read on its own.
    let first = h.sync().await;
    assert_eq!(reads.so_far(&h), 1, "one owners read, for the crowded app");
    assert_mirrors_directory(&h);
    let (referenced, count) = owners_in_assets(&h, &crowded);
    assert_eq!(count.as_deref(), Some("25"));
    assert_eq!(referenced.len(), 10, "Assets' reference limit");
    let mut all = sandbox_owners(&h, &crowded);
    all.sort();
    assert_eq!(referenced, all.into_iter().take(10).collect());
    assert!(h
        .events(first.id)
        .iter()
        .any(|e| e.object_id.as_deref() == Some(crowded.as_str())
            && e.message.starts_with("Has 25 owners")));

    // Owners change; the apps themselves do not.
    let (gains_count, loses_count) = h.sandbox.handle.graph(|g| {
        assert!(g.directory.add_application_owner(&gains, &newcomer));
        assert!(g.directory.remove_application_owner(&loses, &leaving));
        let count = |id: &str| g.directory.applications.get(id).unwrap().owners.len();
        (count(&gains), count(&loses))
    });

    // Within the day: nothing is read or written.
    both_clocks(&h, Duration::hours(23));
    let quiet = h.sync().await;
    assert_eq!(quiet.totals().updated, 0, "{:?}", quiet.totals());
    assert_eq!(reads.so_far(&h), 1);
    assert!(refresh_event(&h.events(quiet.id)).is_none());
    assert_ne!(
        owners_in_assets(&h, &gains).1,
        Some(gains_count.to_string())
    );

    // A day after the last read: exactly the two apps are written.
    both_clocks(&h, Duration::hours(1));
    let refresh = h.sync().await;
    let events = h.events(refresh.id);
    assert_eq!(
        updated_apps(&events),
        BTreeSet::from([gains.clone(), loses.clone()])
    );
    assert_eq!(refresh.totals().created, 0);
    let n_apps = h.sandbox.handle.graph(|g| g.directory.applications.len());
    assert_eq!(
        refresh_event(&events),
        Some(format!("Refreshed owners of {n_apps} app registrations: 2 changed.").as_str())
    );
    assert_eq!(
        reads.so_far(&h),
        2,
        "the crowded app is read on its own again"
    );
    assert_mirrors_directory(&h);
    let (referenced, count) = owners_in_assets(&h, &gains);
    assert!(referenced.contains(&newcomer));
    assert_eq!(count, Some(gains_count.to_string()));
    let (referenced, count) = owners_in_assets(&h, &loses);
    assert!(!referenced.contains(&leaving));
    assert_eq!(count, Some(loses_count.to_string()));
    assert_eq!(owners_in_assets(&h, &crowded).1.as_deref(), Some("25"));

    // Converged: the next run writes nothing and does not read owners again.
    let again = h.sync().await;
    assert_eq!(again.totals().updated, 0);
    assert_eq!(reads.so_far(&h), 2);
}

#[tokio::test]
async fn a_dry_run_plans_the_owner_refresh_and_the_real_run_still_does_it() {
    let h = Harness::start(Size::Tiny).await;
    h.sync().await;
    let (app, user) = h.sandbox.handle.graph(|g| {
        let app = g.directory.applications.iter().next().unwrap().id.clone();
        let user = g
            .directory
            .users
            .iter()
            .find(|u| {
                !g.directory
                    .applications
                    .get(&app)
                    .unwrap()
                    .owners
                    .contains(&u.id)
            })
            .unwrap()
            .id
            .clone();
        assert!(g.directory.add_application_owner(&app, &user));
        (app, user)
    });
    let before = owners_in_assets(&h, &app);
    both_clocks(&h, Duration::hours(25));

    let (run_id, status) = h.run(true).await;
    assert_eq!(status, crosswalk_core::RunStatus::Succeeded);
    let plan = h.events(run_id);
    let planned = plan
        .iter()
        .find(|e| e.object_id.as_deref() == Some(app.as_str()))
        .expect("the app is in the plan");
    assert_eq!(planned.action, EventAction::Updated);
    assert!(planned.message.starts_with("Would"), "{}", planned.message);
    let n_apps = h.sandbox.handle.graph(|g| g.directory.applications.len());
    assert_eq!(
        refresh_event(&plan),
        Some(format!("Read the owners of {n_apps} app registrations: 1 would change.").as_str())
    );
    assert_eq!(owners_in_assets(&h, &app), before, "nothing written");

    let real = h.sync().await;
    let events = h.events(real.id);
    assert_eq!(updated_apps(&events), BTreeSet::from([app.clone()]));
    assert_eq!(
        refresh_event(&events),
        Some(format!("Refreshed owners of {n_apps} app registrations: 1 changed.").as_str())
    );
    assert!(owners_in_assets(&h, &app).0.contains(&user));
    assert_mirrors_directory(&h);
}

#[tokio::test]
async fn switching_the_owners_mapping_on_fills_owners_at_the_next_run() {
    let mut settings = common::default_settings();
    settings["attributes"] =
        serde_json::json!({"application": {"owners": false, "ownerCount": false}});
    let mut h = Harness::with(Size::Tiny, settings).await;
    let reads = OwnerReads::start(&h);
    h.sync().await;
    assert_eq!(reads.so_far(&h), 0, "owners are not read when not synced");
    let app = h.sandbox.handle.graph(|g| {
        g.directory
            .applications
            .iter()
            .find(|a| !a.owners.is_empty())
            .expect("an app with owners")
            .id
            .clone()
    });
    assert_eq!(owners_in_assets(&h, &app), (BTreeSet::new(), None));

    h.set_settings(common::default_settings());
    let run = h.sync().await;
    let n_apps = h.sandbox.handle.graph(|g| g.directory.applications.len());
    assert_eq!(
        refresh_event(&h.events(run.id)),
        Some(format!("Refreshed owners of {n_apps} app registrations: {n_apps} changed.").as_str())
    );
    assert_mirrors_directory(&h);
    let mut owners = sandbox_owners(&h, &app);
    owners.sort();
    assert_eq!(
        owners_in_assets(&h, &app),
        (
            owners.iter().cloned().collect(),
            Some(owners.len().to_string())
        )
    );
}
