//! Real HTTP against the sandbox's Graph and identity servers; each test names what it checks.

use crate::*;
use crosswalk_core::Secret;
use crosswalk_http::{RequestCounter, TokenCache};
use crosswalk_sandbox::generator::directory::{Kind, Member};
use crosswalk_sandbox::graph::{DeltaResync, Throttle};
use crosswalk_sandbox::identity::{CLIENT_ID, CLIENT_SECRET, TENANT_ID};
use crosswalk_sandbox::{Fault, Sandbox, SandboxOptions, Server, Size};
use std::collections::{BTreeMap, BTreeSet};

async fn sandbox(size: Size) -> Sandbox {
    Sandbox::start(SandboxOptions {
        size,
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

/// A client with its own token cache, so each sees the roles granted right now.
fn client_with(sandbox: &Sandbox, secret: &str, counter: RequestCounter) -> GraphClient {
    GraphClient::connect(
        sandbox.urls.graph.clone(),
        sandbox.urls.login.clone(),
        TENANT_ID,
        CLIENT_ID,
        Secret::new(secret),
        TokenCache::new(),
        counter,
    )
    .expect("sandbox URLs are valid")
}

fn client(sandbox: &Sandbox) -> GraphClient {
    client_with(sandbox, CLIENT_SECRET, RequestCounter::new())
}

fn upserts<T: DeltaEntity + Clone>(items: &[DeltaItem<T>]) -> BTreeMap<String, T> {
    items
        .iter()
        .filter_map(|item| match item {
            DeltaItem::Upsert(x) => Some((x.id().to_owned(), x.clone())),
            DeltaItem::Removed { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn listing_all_users_across_pages_equals_the_sandbox_users() {
    let sandbox = sandbox(Size::Small).await;
    let graph = client(&sandbox).with_page_size(50);
    let first = graph.list_users(None).await.expect("first page");
    assert_eq!(first.items.len(), 50);
    assert!(first.next.is_some(), "300 users in pages of 50 must page");
    let users = graph.collect_pages(first).await.expect("all pages");
    let expected: BTreeMap<String, (String, Option<String>, bool)> = sandbox.handle.graph(|g| {
        g.directory
            .users
            .iter()
            .map(|u| {
                (
                    u.id.clone(),
                    (
                        u.user_principal_name.clone(),
                        u.department.clone(),
                        u.account_enabled,
                    ),
                )
            })
            .collect()
    });
    let got: BTreeMap<String, (String, Option<String>, bool)> = users
        .iter()
        .map(|u| {
            (
                u.id.clone(),
                (
                    u.user_principal_name.clone().unwrap_or_default(),
                    u.department.clone(),
                    u.account_enabled.unwrap_or_default(),
                ),
            )
        })
        .collect();
    assert_eq!(users.len(), expected.len(), "no duplicates across pages");
    assert_eq!(got, expected);
    assert!(users
        .iter()
        .all(|u| u.created_date_time.is_some() && u.user_type.is_some()));
}

#[tokio::test]
async fn admin_filter_is_passed_through() {
    let sandbox = sandbox(Size::Small).await;
    let graph = client(&sandbox);
    let page = graph
        .list_users(Some("accountEnabled eq false"))
        .await
        .expect("filtered page");
    let users = graph.collect_pages(page).await.expect("all pages");
    let expected = sandbox.handle.graph(|g| {
        g.directory
            .users
            .iter()
            .filter(|u| !u.account_enabled)
            .count()
    });
    assert_eq!(users.len(), expected);
    assert!(users.iter().all(|u| u.account_enabled == Some(false)));
}

#[tokio::test]
async fn groups_and_their_members_match_the_sandbox() {
    let sandbox = sandbox(Size::Small).await;
    let graph = client(&sandbox).with_page_size(7);
    let groups = graph
        .collect_pages(graph.list_groups(None).await.expect("groups"))
        .await
        .expect("all groups");
    let expected: BTreeMap<String, BTreeSet<String>> = sandbox.handle.graph(|g| {
        g.directory
            .groups
            .iter()
            .map(|g| {
                (
                    g.id.clone(),
                    g.members.iter().map(|m| m.id.clone()).collect(),
                )
            })
            .collect()
    });
    assert_eq!(groups.len(), expected.len());
    let (id, members) = expected
        .iter()
        .max_by_key(|(_, m)| m.len())
        .expect("the world has groups");
    assert!(members.len() > 7, "the biggest group should page");
    let page = graph.list_group_members(id).await.expect("members");
    let got: BTreeSet<String> = graph
        .collect_pages(page)
        .await
        .expect("all members")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(&got, members);
}

#[tokio::test]
async fn applications_come_with_their_credentials_and_are_found_by_app_id() {
    let sandbox = sandbox(Size::Small).await;
    let graph = client(&sandbox);
    let apps = graph
        .collect_pages(graph.list_applications(None).await.expect("apps"))
        .await
        .expect("all apps");
    let expected: BTreeMap<String, BTreeSet<String>> = sandbox.handle.graph(|g| {
        g.directory
            .applications
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    a.password_credentials
                        .iter()
                        .map(|c| c.key_id.clone())
                        .collect(),
                )
            })
            .collect()
    });
    assert_eq!(apps.len(), expected.len());
    for app in &apps {
        let got: BTreeSet<String> = app
            .password_credentials
            .iter()
            .filter_map(|c| c.key_id.clone())
            .collect();
        assert_eq!(Some(&got), expected.get(&app.id), "secrets of {}", app.id);
        assert!(app
            .password_credentials
            .iter()
            .all(|c| c.end_date_time.is_some()));
    }
    assert!(
        apps.iter().any(|a| !a.key_credentials.is_empty()),
        "some app has a certificate"
    );
    let ours = graph
        .get_application_by_app_id(CLIENT_ID)
        .await
        .expect("our app");
    assert_eq!(ours.app_id.as_deref(), Some(CLIENT_ID));
    assert!(ours.first_credential_expiry().is_some());
    let missing = graph
        .get_application_by_app_id("00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("unknown client ID");
    assert_eq!(missing.status(), Some(404), "{missing}");
}

#[tokio::test]
async fn devices_and_managed_devices_match_and_link_by_device_id() {
    let sandbox = sandbox(Size::Small).await;
    let graph = client(&sandbox);
    let devices = graph
        .collect_pages(graph.list_devices(None).await.expect("devices"))
        .await
        .expect("all devices");
    let managed = graph
        .collect_pages(graph.list_managed_devices(None).await.expect("managed"))
        .await
        .expect("all managed devices");
    let (n_devices, n_managed) = sandbox
        .handle
        .graph(|g| (g.directory.devices.len(), g.directory.managed_devices.len()));
    assert_eq!((devices.len(), managed.len()), (n_devices, n_managed));
    let device_ids: BTreeSet<&str> = devices
        .iter()
        .filter_map(|d| d.device_id.as_deref())
        .collect();
    assert!(
        managed.iter().any(|m| m
            .azure_ad_device_id
            .as_deref()
            .is_some_and(|id| device_ids.contains(id))),
        "azureADDeviceId matches device.deviceId"
    );
    assert!(managed
        .iter()
        .all(|m| m.serial_number.is_some() && m.last_sync_date_time.is_some()));

    // The incremental pass: only devices synced after the watermark.
    let mut syncs: Vec<_> = managed
        .iter()
        .filter_map(|m| m.last_sync_date_time)
        .collect();
    syncs.sort();
    let watermark = syncs[syncs.len() / 2];
    let filter = format!(
        "lastSyncDateTime gt {}",
        watermark
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formats")
    );
    let recent = graph
        .collect_pages(
            graph
                .list_managed_devices(Some(&filter))
                .await
                .expect("filtered"),
        )
        .await
        .expect("all filtered");
    assert!(!recent.is_empty() && recent.len() < managed.len());
    assert!(recent
        .iter()
        .all(|m| m.last_sync_date_time.is_some_and(|at| at > watermark)));
}

#[tokio::test]
async fn manager_is_some_or_none_for_a_user_without_one() {
    let sandbox = sandbox(Size::Tiny).await;
    let graph = client(&sandbox);
    let (with, manager, without) = sandbox.handle.graph(|g| {
        let with = g
            .directory
            .users
            .iter()
            .find(|u| u.manager_id.is_some())
            .expect("a managed user");
        let without = g
            .directory
            .users
            .iter()
            .find(|u| u.manager_id.is_none())
            .expect("a top user");
        (with.id.clone(), with.manager_id.clone(), without.id.clone())
    });
    assert_eq!(graph.get_manager(&with).await.expect("manager"), manager);
    assert_eq!(graph.get_manager(&without).await.expect("no manager"), None);
}

#[tokio::test]
async fn users_delta_initial_round_then_incremental_after_mutations() {
    let sandbox = sandbox(Size::Small).await;
    let graph = client(&sandbox);
    let first = graph
        .users_delta(DeltaStart::Initial { select: None })
        .await
        .expect("first delta page");
    assert!(
        matches!(first.next, DeltaNext::More(_)),
        "300 users take several delta pages"
    );
    let round = graph.collect_delta(first).await.expect("initial round");
    let users = upserts(&round.items);
    let expected: BTreeMap<String, Option<String>> = sandbox.handle.graph(|g| {
        g.directory
            .users
            .iter()
            .map(|u| (u.id.clone(), u.manager_id.clone()))
            .collect()
    });
    assert_eq!(users.len(), expected.len());
    for (id, manager) in &expected {
        let got = users[id].manager_change();
        assert_eq!(
            got,
            manager.clone().map(ManagerChange::Set),
            "manager of {id}"
        );
    }

    let (added, renamed, deleted, reassigned, new_manager) = sandbox.handle.graph(|g| {
        let dir = &mut g.directory;
        let ids: Vec<String> = dir.users.iter().map(|u| u.id.clone()).collect();
        let added = dir.add_user("Delta Newcomer");
        dir.update_user(&ids[1], |u| u.display_name = "Renamed Person".into());
        dir.delete_user(&ids[2]);
        let reassigned = ids
            .iter()
            .find(|id| *id != &ids[2] && *id != &ids[3])
            .cloned()
            .expect("users");
        let reassigned = if reassigned == ids[1] {
            ids[4].clone()
        } else {
            reassigned
        };
        dir.set_manager(&reassigned, Some(&ids[3]));
        (
            added,
            ids[1].clone(),
            ids[2].clone(),
            reassigned,
            ids[3].clone(),
        )
    });
    let next = graph
        .users_delta(DeltaStart::Link(round.delta_link.clone()))
        .await
        .expect("incremental page");
    let changes = graph.collect_delta(next).await.expect("incremental round");
    let ups = upserts(&changes.items);
    assert_eq!(ups[&added].display_name.as_deref(), Some("Delta Newcomer"));
    assert_eq!(
        ups[&renamed].display_name.as_deref(),
        Some("Renamed Person")
    );
    assert_eq!(
        ups[&reassigned].manager_change(),
        Some(ManagerChange::Set(new_manager))
    );
    assert!(changes.items.contains(&DeltaItem::Removed {
        id: deleted.clone(),
        reason: RemovedReason::Changed
    }));
    assert!(
        changes.items.len() < 20,
        "only changes: {}",
        changes.items.len()
    );
    assert_ne!(
        changes.delta_link, round.delta_link,
        "each round mints a new link"
    );

    let quiet = graph
        .users_delta(DeltaStart::Link(changes.delta_link))
        .await
        .expect("nothing changed");
    let quiet = graph.collect_delta(quiet).await.expect("quiet round");
    assert!(quiet.items.is_empty(), "{:?}", quiet.items.len());
}

#[tokio::test]
async fn groups_delta_merges_members_split_across_pages_and_tracks_membership() {
    let sandbox = sandbox(Size::Small).await;
    sandbox.handle.graph(|g| {
        g.delta.members_per_page = 3;
        g.delta.page_size = 10;
    });
    let graph = client(&sandbox);
    let first = graph
        .groups_delta(DeltaStart::Initial { select: None })
        .await
        .expect("first page");
    let round = graph.collect_delta(first).await.expect("initial round");
    let groups = upserts(&round.items);
    let expected: BTreeMap<String, BTreeSet<String>> = sandbox.handle.graph(|g| {
        g.directory
            .groups
            .iter()
            .map(|g| {
                (
                    g.id.clone(),
                    g.members.iter().map(|m| m.id.clone()).collect(),
                )
            })
            .collect()
    });
    assert_eq!(
        round.items.len(),
        expected.len(),
        "each group once after merging"
    );
    for (id, members) in &expected {
        let got: BTreeSet<String> = groups[id].members_added().map(str::to_owned).collect();
        assert_eq!(&got, members, "members of {id}");
    }

    let (group, joined, left) = sandbox.handle.graph(|g| {
        let dir = &mut g.directory;
        let group = dir
            .groups
            .iter()
            .find(|g| g.members.len() > 1)
            .expect("a group with members")
            .clone();
        let left = group.members[0].id.clone();
        let joined = dir
            .users
            .iter()
            .find(|u| !group.members.iter().any(|m| m.id == u.id))
            .expect("a non-member")
            .id
            .clone();
        dir.add_member(&group.id, Member::user(&joined));
        dir.remove_member(&group.id, &left);
        (group.id, joined, left)
    });
    let next = graph
        .groups_delta(DeltaStart::Link(round.delta_link))
        .await
        .expect("incremental");
    let changes = graph.collect_delta(next).await.expect("incremental round");
    let ups = upserts(&changes.items);
    assert_eq!(changes.items.len(), 1, "only the changed group");
    assert_eq!(
        ups[&group].members_added().collect::<Vec<_>>(),
        [joined.as_str()]
    );
    assert_eq!(
        ups[&group].members_removed().collect::<Vec<_>>(),
        [left.as_str()]
    );
}

#[tokio::test]
async fn applications_delta_reports_a_rotated_secret() {
    let sandbox = sandbox(Size::Tiny).await;
    let graph = client(&sandbox);
    let first = graph
        .applications_delta(DeltaStart::Initial { select: None })
        .await
        .expect("first");
    let round = graph.collect_delta(first).await.expect("initial round");
    let n_apps = sandbox.handle.graph(|g| g.directory.applications.len());
    assert_eq!(upserts(&round.items).len(), n_apps);
    let app = sandbox.handle.graph(|g| {
        let id = g
            .directory
            .applications
            .iter()
            .find(|a| a.app_id != CLIENT_ID)
            .expect("an app")
            .id
            .clone();
        g.directory.rotate_secret(&id, 30).expect("rotated");
        id
    });
    let next = graph
        .applications_delta(DeltaStart::Link(round.delta_link))
        .await
        .expect("incremental");
    let changes = graph.collect_delta(next).await.expect("incremental round");
    let ups = upserts(&changes.items);
    let expected = sandbox.handle.graph(|g| {
        g.directory
            .applications
            .get(&app)
            .map(|a| a.password_credentials.len())
    });
    assert_eq!(
        ups.get(&app).map(|a| a.password_credentials.len()),
        expected
    );
}

#[tokio::test]
async fn expired_or_invalid_delta_links_are_resync_required() {
    let sandbox = sandbox(Size::Tiny).await;
    let graph = client(&sandbox);
    let first = graph
        .users_delta(DeltaStart::Initial { select: None })
        .await
        .expect("first");
    let link = graph.collect_delta(first).await.expect("round").delta_link;

    for (forced, reason) in [
        (DeltaResync::Gone, "410"),
        (DeltaResync::SyncStateNotFound, "syncStateNotFound"),
        (DeltaResync::ResyncRequired, "resyncRequired"),
    ] {
        sandbox
            .handle
            .graph(|g| g.delta.force_resync_next = Some(forced));
        let error = graph
            .users_delta(DeltaStart::Link(link.clone()))
            .await
            .expect_err("forced resync");
        match &error {
            Error::ResyncRequired {
                resource: "users",
                reason: got,
            } => {
                assert!(got.contains(reason), "{got}")
            }
            other => panic!("{forced:?}: expected ResyncRequired, got {other:?}"),
        }
    }
    // The link itself still works after the forced failures.
    graph
        .users_delta(DeltaStart::Link(link.clone()))
        .await
        .expect("link still valid");

    // Past the 7-day lifetime.
    sandbox.handle.advance_clock(time::Duration::days(8));
    let error = graph
        .users_delta(DeltaStart::Link(link))
        .await
        .expect_err("expired");
    assert!(matches!(error, Error::ResyncRequired { .. }), "{error:?}");

    // A link that was never Graph's.
    let bogus = DeltaLink::new(format!(
        "{}v1.0/users/delta?$deltatoken=not-a-token",
        sandbox.urls.graph
    ));
    let error = graph
        .users_delta(DeltaStart::Link(bogus))
        .await
        .expect_err("bogus");
    assert!(matches!(error, Error::ResyncRequired { .. }), "{error:?}");
}

#[tokio::test]
async fn revoked_permissions_are_permission_missing_with_the_admin_fix() {
    let sandbox = sandbox(Size::Tiny).await;
    sandbox
        .handle
        .identity(|i| i.revoke_role(CLIENT_ID, "User.Read.All"));
    let graph = client(&sandbox);
    let error = graph.list_users(None).await.expect_err("no User.Read.All");
    assert!(
        matches!(
            error,
            Error::PermissionMissing {
                permission: "User.Read.All",
                ..
            }
        ),
        "{error:?}"
    );
    let shown = error.user_facing();
    assert_eq!(shown.code, crosswalk_core::Code::PermissionDenied);
    assert!(shown
        .fix
        .as_deref()
        .is_some_and(|f| f.contains("User.Read.All") && f.contains("admin consent")));
    let error = graph
        .users_delta(DeltaStart::Initial { select: None })
        .await
        .expect_err("delta too");
    assert!(matches!(
        error,
        Error::PermissionMissing {
            permission: "User.Read.All",
            ..
        }
    ));
    graph
        .list_groups(None)
        .await
        .expect("groups are still granted");

    sandbox
        .handle
        .identity(|i| i.revoke_role(CLIENT_ID, "DeviceManagementManagedDevices.Read.All"));
    let graph = client(&sandbox);
    let error = graph
        .list_managed_devices(None)
        .await
        .expect_err("no Intune permission");
    assert!(
        matches!(
            error,
            Error::PermissionMissing {
                permission: "DeviceManagementManagedDevices.Read.All",
                ..
            }
        ),
        "{error:?}"
    );
    let fix = error.user_facing().fix.unwrap_or_default();
    assert!(
        fix.contains("Device.Read.All and Directory.Read.All do not cover Intune"),
        "{fix}"
    );
    graph
        .list_devices(None)
        .await
        .expect("Device.Read.All still covers /devices");
}

#[tokio::test]
async fn throttling_429_is_waited_out_and_counted() {
    let sandbox = sandbox(Size::Small).await;
    let counter = RequestCounter::new();
    let graph = client_with(&sandbox, CLIENT_SECRET, counter.clone()).with_page_size(60);
    sandbox.handle.graph(|g| {
        g.throttle = Some(Throttle {
            requests: 3,
            per_seconds: 1,
        })
    });
    let users = graph
        .collect_pages(graph.list_users(None).await.expect("first page"))
        .await
        .expect("every page despite 429s");
    assert_eq!(users.len(), 300);
    let throttled = sandbox.handle.graph(|g| g.throttled);
    assert!(throttled > 0, "the budget should have tripped");
    assert_eq!(counter.snapshot()["graph"].throttled, throttled);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_and_the_next_call_works() {
    let sandbox = sandbox(Size::Tiny).await;
    let graph = client(&sandbox);
    sandbox
        .handle
        .fail_next(Server::Graph, "/users", 1, Fault::Malformed);
    let error = graph.list_users(None).await.expect_err("malformed body");
    assert!(
        matches!(error, Error::Http(crosswalk_http::Error::Decode { .. })),
        "{error:?}"
    );
    graph.list_users(None).await.expect("healthy again");
}

#[tokio::test]
async fn no_secret_appears_in_error_text() {
    let sandbox = sandbox(Size::Tiny).await;
    let wrong = "wr0ng-Secret~Value.123";
    let graph = client_with(&sandbox, wrong, RequestCounter::new());
    let error = graph.list_users(None).await.expect_err("bad secret");
    sandbox
        .handle
        .identity(|i| i.revoke_role(CLIENT_ID, "Group.Read.All"));
    let denied = client(&sandbox)
        .list_groups(None)
        .await
        .expect_err("denied");
    let first = client(&sandbox)
        .users_delta(DeltaStart::Initial { select: None })
        .await
        .expect("first");
    let link = client(&sandbox)
        .collect_delta(first)
        .await
        .expect("round")
        .delta_link;
    sandbox
        .handle
        .graph(|g| g.delta.force_resync_next = Some(DeltaResync::Gone));
    let resync = client(&sandbox)
        .users_delta(DeltaStart::Link(link.clone()))
        .await
        .expect_err("resync");
    let token = link
        .as_str()
        .split("$deltatoken=")
        .nth(1)
        .expect("a delta token")
        .to_owned();
    for error in [&error, &denied, &resync] {
        let shown = format!("{error} | {error:?} | {} | {:?}", error.user_facing(), link);
        for secret in [wrong, CLIENT_SECRET, token.as_str()] {
            assert!(!shown.contains(secret), "leaked in: {shown}");
        }
    }
}

#[tokio::test]
async fn devices_delta_reports_a_deleted_device_and_app_owners_are_listed() {
    let sandbox = sandbox(Size::Tiny).await;
    let graph = client(&sandbox);
    let first = graph
        .delta::<Device>(DeltaStart::Initial { select: None })
        .await
        .expect("first");
    let round = graph.collect_delta(first).await.expect("initial round");
    let n_devices = sandbox.handle.graph(|g| g.directory.devices.len());
    assert_eq!(upserts(&round.items).len(), n_devices);
    let gone = sandbox.handle.graph(|g| {
        let id = g
            .directory
            .devices
            .iter()
            .next()
            .expect("a device")
            .id
            .clone();
        assert!(g.directory.delete_device(&id));
        id
    });
    let next = graph
        .delta::<Device>(DeltaStart::Link(round.delta_link))
        .await
        .expect("incremental");
    let changes = graph.collect_delta(next).await.expect("incremental round");
    assert!(changes
        .items
        .iter()
        .any(|i| matches!(i, DeltaItem::Removed { id, .. } if *id == gone)));

    let (app, owners) = sandbox.handle.graph(|g| {
        let app = g
            .directory
            .applications
            .iter()
            .find(|a| !a.owners.is_empty())
            .expect("an app with owners");
        (app.id.clone(), app.owners.clone())
    });
    let first = graph.list_application_owners(&app).await.expect("owners");
    let listed: Vec<String> = graph
        .collect_pages(first)
        .await
        .expect("all owners")
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(listed, owners);
}

#[tokio::test]
async fn owners_of_every_app_come_in_bulk_and_cut_lists_are_flagged() {
    let sandbox = sandbox(Size::Tiny).await;
    let (crowded, full, short) = sandbox.handle.graph(|g| {
        let dir = &mut g.directory;
        for n in 0..150 {
            dir.add_application(&format!("Bulk {n}"));
        }
        let users: Vec<String> = (0..25)
            .map(|n| dir.add_user(&format!("Owner {n}")))
            .collect();
        let mut app_with = |name: &str, n: usize| {
            let app = dir.add_application(name);
            for user in &users[..n] {
                assert!(dir.add_application_owner(&app, user));
            }
            app
        };
        (
            app_with("25 owners", 25),
            app_with("20 owners", 20),
            app_with("19 owners", 19),
        )
    });
    let expected: BTreeMap<String, Vec<String>> = sandbox.handle.graph(|g| {
        g.directory
            .applications
            .iter()
            .map(|a| (a.id.clone(), a.owners.iter().take(20).cloned().collect()))
            .collect()
    });
    let graph = client(&sandbox);
    let before = sandbox.handle.requests(Server::Graph);
    let first = graph
        .list_applications_with_owners()
        .await
        .expect("first page");
    assert_eq!(first.items.len(), 100, "Graph pages $expand lists by 100");
    let apps = graph.collect_pages(first).await.expect("all pages");
    assert_eq!(
        sandbox.handle.requests(Server::Graph) - before,
        expected.len().div_ceil(100) as u64,
        "one request per page of 100 apps"
    );
    let got: BTreeMap<String, Vec<String>> = apps
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                a.owners.iter().map(|o| o.id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    let flagged: BTreeSet<&str> = apps
        .iter()
        .filter(|a| a.may_be_truncated())
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(flagged, BTreeSet::from([crowded.as_str(), full.as_str()]));
    assert!(!flagged.contains(short.as_str()));
    assert!(apps
        .iter()
        .flat_map(|a| &a.owners)
        .all(|o| o.odata_type.as_deref() == Some("#microsoft.graph.user")));
    // The cut list is completed by the app's own owners endpoint.
    let all = graph
        .collect_pages(
            graph
                .list_application_owners(&crowded)
                .await
                .expect("owners"),
        )
        .await
        .expect("all owners");
    assert_eq!(all.len(), 25);
}

#[tokio::test]
async fn a_secrets_hint_is_matched_against_the_held_value_and_never_printed() {
    let sandbox = sandbox(Size::Tiny).await;
    let ours = client(&sandbox)
        .get_application_by_app_id(CLIENT_ID)
        .await
        .expect("our app");
    let secret = &ours.password_credentials[0];
    assert!(secret.hint_matches(CLIENT_SECRET));
    assert!(!secret.hint_matches("not-our-secret"));
    assert!(!secret.hint_matches(""));
    let printed = format!("{ours:?}");
    assert!(
        !printed.contains(&CLIENT_SECRET[..3]) && printed.contains("[redacted]"),
        "{printed}"
    );
}

#[tokio::test]
async fn collections_are_counted_for_progress() {
    let sandbox = sandbox(Size::Tiny).await;
    let graph = client(&sandbox);
    let users = sandbox.handle.graph(|g| g.directory.users.len());
    assert_eq!(
        graph.count(Resource::Users).await.unwrap(),
        Some(users as u64)
    );
    assert_eq!(graph.count(Resource::ManagedDevices).await.unwrap(), None);
}

/// The groups `id` is a direct member of, from the sandbox's directory.
fn direct_groups(sandbox: &Sandbox, id: &str) -> BTreeSet<String> {
    sandbox.handle.graph(|g| {
        g.directory
            .groups
            .iter()
            .filter(|x| x.members.iter().any(|m| m.id == id))
            .map(|x| x.id.clone())
            .collect()
    })
}

#[tokio::test]
async fn direct_group_memberships_of_users_devices_and_groups_page_like_the_sandbox() {
    let sandbox = sandbox(Size::Small).await;
    let (user, device, inner, outer) = sandbox.handle.graph(|g| {
        let dir = &mut g.directory;
        let outer = dir
            .groups
            .iter()
            .find(|x| x.members.iter().any(|m| m.kind == Kind::Group))
            .cloned()
            .expect("a nested group");
        let inner = outer
            .members
            .iter()
            .find(|m| m.kind == Kind::Group)
            .map(|m| m.id.clone())
            .expect("its nested group");
        let device = dir.devices.iter().next().expect("a device").id.clone();
        let teams: Vec<String> = dir.groups.iter().take(3).map(|x| x.id.clone()).collect();
        for team in &teams {
            let member = Member {
                kind: Kind::Device,
                id: device.clone(),
            };
            assert!(dir.add_member(team, member));
        }
        let user = dir.groups.get(&inner).and_then(|x| {
            x.members
                .iter()
                .find(|m| m.kind == Kind::User && !outer.members.iter().any(|o| o.id == m.id))
                .map(|m| m.id.clone())
        });
        (
            user.expect("a user of the inner group only"),
            device,
            inner,
            outer.id,
        )
    });
    // Pages of 2 make every list below page.
    let graph = client(&sandbox).with_page_size(2);
    let read = |of: MemberOf, id: String| {
        let graph = graph.clone();
        async move {
            let first = graph.list_member_of_groups(of, &id).await?;
            let all = graph.collect_pages(first).await?;
            assert!(all.iter().all(|r| r
                .odata_type
                .as_deref()
                .is_none_or(|t| t == "#microsoft.graph.group")));
            Ok::<BTreeSet<String>, Error>(all.into_iter().map(|r| r.id).collect())
        }
    };
    let of_device = read(MemberOf::Device, device.clone())
        .await
        .expect("device");
    assert_eq!(of_device.len(), 3);
    assert_eq!(of_device, direct_groups(&sandbox, &device));
    let of_group = read(MemberOf::Group, inner.clone()).await.expect("group");
    assert!(of_group.contains(&outer));
    assert_eq!(of_group, direct_groups(&sandbox, &inner));

    // Another user's memberships need Directory.Read.All with application permissions.
    let error = read(MemberOf::User, user.clone())
        .await
        .expect_err("User.Read.All is not enough");
    assert!(
        matches!(
            error,
            Error::PermissionMissing {
                permission: "Directory.Read.All",
                ..
            }
        ),
        "{error:?}"
    );
    sandbox.handle.identity(|i| {
        if let Some(app) = i.app_mut(CLIENT_ID) {
            app.roles
                .values_mut()
                .for_each(|r| r.push("Directory.Read.All".into()));
        }
    });
    let graph = client(&sandbox).with_page_size(2);
    let first = graph
        .list_member_of_groups(MemberOf::User, &user)
        .await
        .expect("user");
    assert!(first.next.is_some(), "the user's groups page");
    let of_user: BTreeSet<String> = graph
        .collect_pages(first)
        .await
        .expect("every page")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(!of_user.contains(&outer), "direct memberships only");
    assert_eq!(of_user, direct_groups(&sandbox, &user));

    let error = graph
        .list_member_of_groups(MemberOf::Group, "00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("no such group");
    assert_eq!(error.status(), Some(404));
}
