//! The mutation stream (joiners, leavers, renames, managers, memberships, devices), a lost
//! database, the dry run and the retirement guard.

mod common;

use common::{assert_mirrors_directory, Harness};
use crosswalk_sandbox::generator::directory::Mutation;
use crosswalk_sandbox::Size;
use crosswalk_store::EventAction;
use std::collections::BTreeMap;
use time::Duration;

#[tokio::test]
async fn the_mutation_stream_is_applied_exactly() {
    let h = Harness::start(Size::Small).await;
    h.sync().await;
    let mutations = h.sandbox.handle.graph(|g| g.directory.mutate(7, 60));
    let leavers: Vec<String> = mutations
        .iter()
        .filter_map(|m| match m {
            Mutation::Leaver { user } => Some(user.clone()),
            _ => None,
        })
        .collect();
    assert!(
        !leavers.is_empty(),
        "the stream should include leavers: {mutations:?}"
    );
    // Intune removals show only in the daily full listing.
    h.clock.advance(Duration::hours(25));
    h.sandbox.handle.advance_clock(Duration::hours(25));
    let run = h.sync().await;
    assert_mirrors_directory(&h);
    let mirror = h.assets();
    for leaver in &leavers {
        let object = &mirror.of("Entra User")[leaver];
        assert_eq!(object.one("Entra Status"), Some("Removed from Entra"));
        assert!(object.one("Removed on").is_some());
        assert!(
            !mirror
                .of("Entra Group Membership")
                .keys()
                .any(|k| k.ends_with(&format!(":{leaver}"))),
            "a leaver's memberships are deleted"
        );
    }
    let totals = run.totals();
    assert!(
        totals.updated > 0 && totals.retired >= leavers.len() as u64,
        "{totals:?}"
    );
    // Renames show before/after values in the run log.
    let renamed = h
        .events(run.id)
        .into_iter()
        .find(|e| e.action == EventAction::Updated && e.object_kind.as_deref() == Some("user"))
        .expect("an updated user");
    assert!(renamed.before.is_some() && renamed.after.is_some());
    assert_ne!(renamed.before, renamed.after);

    // And converged: the next run writes nothing.
    let again = h.sync().await.totals();
    assert_eq!(
        (again.created, again.updated, again.retired, again.deleted),
        (0, 0, 0, 0)
    );
}

#[tokio::test]
async fn a_lost_database_matches_existing_objects_instead_of_duplicating_them() {
    let mut h = Harness::start(Size::Tiny).await;
    h.sync().await;
    // Some users leave before the loss: Assets marks them removed.
    h.sandbox.handle.graph(|g| g.directory.mutate(11, 30));
    h.sync().await;
    // A day later: the daily passes (Intune removals, app owners) have caught up too.
    h.clock.advance(Duration::hours(25));
    h.sandbox.handle.advance_clock(Duration::hours(25));
    h.sync().await;
    assert_mirrors_directory(&h);
    let retired_before: BTreeMap<String, Option<String>> = h
        .assets()
        .of("Entra User")
        .iter()
        .filter(|(_, o)| o.one("Entra Status") == Some("Removed from Entra"))
        .map(|(id, o)| (id.clone(), o.one("Removed on").map(str::to_owned)))
        .collect();
    assert!(
        !retired_before.is_empty(),
        "the stream should retire someone"
    );
    let objects_before: usize = h.assets().types.values().map(|t| t.len()).sum();

    h.lose_database();
    // While the state is lost, one user's title changes in Entra.
    let changed = h.sandbox.handle.graph(|g| {
        let id = g
            .directory
            .users
            .iter()
            .find(|u| !retired_before.contains_key(&u.id))
            .unwrap()
            .id
            .clone();
        g.directory
            .update_user(&id, |u| u.job_title = Some("Head of Recovery".into()));
        id
    });
    let run = h.sync().await;
    let totals = run.totals();
    for e in h
        .events(run.id)
        .iter()
        .filter(|e| e.action == EventAction::Updated)
    {
        eprintln!(
            "{:?} {:?} {:?} -> {:?}",
            e.object_kind, e.object_id, e.before, e.after
        );
    }
    // Only the object that differs is written: nothing created, nothing re-retired.
    assert_eq!(
        (totals.created, totals.updated, totals.retired),
        (0, 1, 0),
        "{totals:?}"
    );
    let updated: Vec<_> = h
        .events(run.id)
        .into_iter()
        .filter(|e| e.action == EventAction::Updated)
        .collect();
    assert_eq!(updated[0].object_id.as_deref(), Some(changed.as_str()));
    assert_eq!(
        updated[0].after.as_ref().unwrap()["Job title"],
        "Head of Recovery"
    );
    let objects_after: usize = h.assets().types.values().map(|t| t.len()).sum();
    assert_eq!(objects_after, objects_before, "no duplicates");
    assert_mirrors_directory(&h);
    let mirror = h.assets();
    for (id, removed_on) in &retired_before {
        let object = &mirror.of("Entra User")[id];
        assert_eq!(object.one("Entra Status"), Some("Removed from Entra"));
        assert_eq!(object.one("Removed on").map(str::to_owned), *removed_on);
    }
    assert!(h
        .events(run.id)
        .iter()
        .any(|e| e.message.contains("No local sync state")));
    assert_eq!(h.sync().await.totals().updated, 0);
}

// api/atlassian.md §D.7: AQL may answer fewer objects than `maxResults` asked for. Re-
// identification reads several pages at once by offset; pages that do not continue exactly
// where the last one used ended are read again, so nothing is skipped or read twice.
#[tokio::test]
async fn a_lost_database_is_read_back_whole_when_assets_pages_are_smaller_than_asked() {
    let mut h = Harness::start(Size::Tiny).await;
    h.sync().await;
    let objects_before: usize = h.assets().types.values().map(|t| t.len()).sum();
    h.sandbox.handle.assets(|a| a.aql_max_results = 7);

    h.lose_database();
    let totals = h.sync().await.totals();

    assert_eq!(
        (totals.created, totals.updated, totals.retired),
        (0, 0, 0),
        "{totals:?}"
    );
    let objects_after: usize = h.assets().types.values().map(|t| t.len()).sum();
    assert_eq!(objects_after, objects_before, "no duplicates");
    assert_mirrors_directory(&h);
    assert_eq!(h.sync().await.totals().updated, 0);
}

#[tokio::test]
async fn a_dry_run_plans_without_writing_and_the_real_run_does_what_it_planned() {
    let h = Harness::start(Size::Tiny).await;
    let (run_id, status) = h.run(true).await;
    assert_eq!(status, crosswalk_core::RunStatus::Succeeded);
    assert!(
        h.assets().types.is_empty(),
        "a dry run creates nothing, not even the schema"
    );
    let plan = h.events(run_id);
    assert!(plan.iter().any(|e| e
        .message
        .starts_with("Would create in Assets: object schema")));
    let planned = plan
        .iter()
        .filter(|e| e.action == EventAction::Created)
        .count();
    assert!(plan
        .iter()
        .all(|e| e.action != EventAction::Created || e.message.starts_with("Would")));
    let real = h.sync().await;
    assert_eq!(real.totals().created as usize, planned);

    // A dry run after a change shows before/after and changes nothing.
    let user = h.sandbox.handle.graph(|g| {
        let id = g.directory.users.iter().next().unwrap().id.clone();
        g.directory
            .update_user(&id, |u| u.job_title = Some("Chief Tester".into()));
        id
    });
    let (run_id, _) = h.run(true).await;
    let event = h
        .events(run_id)
        .into_iter()
        .find(|e| e.object_id.as_deref() == Some(user.as_str()))
        .expect("the changed user is in the plan");
    assert_eq!(event.action, EventAction::Updated);
    assert_eq!(event.after.unwrap()["Job title"], "Chief Tester");
    assert_ne!(
        h.assets().of("Entra User")[&user].one("Job title"),
        Some("Chief Tester")
    );
    h.sync().await;
    assert_eq!(
        h.assets().of("Entra User")[&user].one("Job title"),
        Some("Chief Tester")
    );
}

#[tokio::test]
async fn mass_retirement_waits_for_confirmation() {
    let h = Harness::start(Size::Small).await;
    h.sync().await;
    let gone: Vec<String> = h.sandbox.handle.graph(|g| {
        let ids: Vec<String> = g
            .directory
            .users
            .iter()
            .take(120)
            .map(|u| u.id.clone())
            .collect();
        for id in &ids {
            g.directory.delete_user(id);
        }
        ids
    });
    let held = h.sync().await;
    assert_eq!(held.totals().retired, 0);
    let warning = h
        .events(held.id)
        .into_iter()
        .find(|e| e.action == EventAction::Skipped && e.object_kind.as_deref() == Some("user"))
        .expect("a held-back warning");
    assert!(warning.message.contains("Held back"), "{}", warning.message);
    assert!(warning.fix.unwrap().contains("--confirm-retirements"));
    assert_eq!(
        h.assets().of("Entra User")[&gone[0]].one("Entra Status"),
        Some("Active"),
        "nothing retired yet"
    );
    // Still held on the next run (the delta round will not report them again).
    assert_eq!(h.sync().await.totals().retired, 0);

    let job = h.store().get_job(common::JOB).unwrap();
    h.store()
        .set_setting(&crosswalk_entra::confirm_key(job.id), &true)
        .unwrap();
    let confirmed = h.sync().await;
    assert_eq!(confirmed.totals().retired, gone.len() as u64);
    let mirror = h.assets();
    assert!(gone
        .iter()
        .all(|id| mirror.of("Entra User")[id].one("Entra Status") == Some("Removed from Entra")));
    assert_eq!(
        h.sync().await.totals().retired,
        0,
        "the confirmation is used once"
    );
}

#[tokio::test]
async fn retired_objects_are_deleted_after_the_chosen_days() {
    let mut settings = common::default_settings();
    settings["retire"] = serde_json::json!({"mode": "delete", "delete_after_days": 30});
    let h = Harness::with(Size::Tiny, settings).await;
    h.sync().await;
    let gone = h.sandbox.handle.graph(|g| {
        let id = g.directory.users.iter().next().unwrap().id.clone();
        g.directory.delete_user(&id);
        id
    });
    let run = h.sync().await;
    assert_eq!(run.totals().retired, 1);
    assert_eq!(
        h.assets().of("Entra User")[&gone].one("Entra Status"),
        Some("Removed from Entra")
    );
    h.clock.advance(Duration::days(31));
    h.sandbox.handle.advance_clock(Duration::days(1));
    let later = h.sync().await;
    assert_eq!(later.totals().deleted, 1, "{:?}", later.totals());
    assert!(!h.assets().of("Entra User").contains_key(&gone));
}

/// Transitive user members of a sandbox group.
fn users_of(h: &Harness, group: &str) -> std::collections::BTreeSet<String> {
    use crosswalk_sandbox::generator::directory::Kind;
    h.sandbox.handle.graph(|g| {
        let mut out = std::collections::BTreeSet::new();
        let mut todo = vec![group.to_owned()];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(id) = todo.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(group) = g.directory.groups.get(&id) else {
                continue;
            };
            for m in &group.members {
                match m.kind {
                    Kind::User => {
                        out.insert(m.id.clone());
                    }
                    Kind::Group => todo.push(m.id.clone()),
                    _ => {}
                }
            }
        }
        out
    })
}

#[tokio::test]
async fn a_group_filter_syncs_its_members_and_follows_joins_and_leaves() {
    let probe = Harness::start(Size::Small).await;
    let group = probe.sandbox.handle.graph(|g| {
        g.directory
            .groups
            .iter()
            .filter(|x| x.members.len() >= 5)
            .map(|x| x.id.clone())
            .next()
            .expect("a group with members")
    });
    drop(probe);
    let mut settings = common::default_settings();
    settings["filters"] = serde_json::json!({"member_of_groups": [group]});
    let h = Harness::with(Size::Small, settings).await;
    h.sync().await;
    let expected = users_of(&h, &group);
    let synced: std::collections::BTreeSet<String> =
        h.assets().of("Entra User").keys().cloned().collect();
    assert_eq!(synced, expected);

    let (joiner, leaver) = h.sandbox.handle.graph(|g| {
        let outside = g
            .directory
            .users
            .iter()
            .find(|u| !expected.contains(&u.id))
            .unwrap()
            .id
            .clone();
        let inside = g
            .directory
            .groups
            .get(&group)
            .unwrap()
            .members
            .iter()
            .find(|m| m.kind == crosswalk_sandbox::generator::directory::Kind::User)
            .unwrap()
            .id
            .clone();
        g.directory.add_member(
            &group,
            crosswalk_sandbox::generator::directory::Member::user(&outside),
        );
        g.directory.remove_member(&group, &inside);
        (outside, inside)
    });
    let run = h.sync().await;
    let mirror = h.assets();
    assert!(
        mirror.of("Entra User").contains_key(&joiner),
        "a joiner is synced"
    );
    let still_member = users_of(&h, &group).contains(&leaver);
    if !still_member {
        assert_eq!(
            mirror.of("Entra User")[&leaver].one("Entra Status"),
            Some("Removed from Entra"),
            "a user who left the group leaves the sync's scope"
        );
    }
    assert!(run.totals().created >= 1);

    let mut bad = common::default_settings();
    bad["filters"] =
        serde_json::json!({"member_of_groups": ["00000000-0000-0000-0000-000000000000"]});
    let mut h = h;
    h.set_settings(bad);
    let (run_id, status) = h.run(false).await;
    assert_eq!(status, crosswalk_core::RunStatus::Failed);
    let error = h.store().get_run(run_id).unwrap().error.unwrap();
    assert!(
        error.message.contains("does not exist"),
        "{}",
        error.message
    );
}
