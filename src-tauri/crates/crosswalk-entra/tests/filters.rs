//! OData filters per kind: evaluated by Crosswalk on what Graph returns (delta takes no
//! `$filter`), objects leaving or entering a filter (with their memberships), a changed filter
//! forcing a full round, and bad filters refused before they are saved. Expectations come from
//! the sandbox's directory.

mod common;

use common::Harness;
use crosswalk_engine::kind::JobKind;
use crosswalk_sandbox::generator::directory::{Directory, Kind, Member};
use crosswalk_sandbox::{Fault, FaultRule, Server, Size};
use std::collections::BTreeSet;

const REMOVED: &str = "Removed from Entra";

fn settings(filters: serde_json::Value) -> serde_json::Value {
    let mut settings = common::default_settings();
    settings["filters"] = filters;
    // These tests move many objects out of scope at once; the guard has its own tests.
    settings["retire"] = serde_json::json!({"max_share_percent": 100});
    settings
}

/// Entra ids of the objects of `type_name` that Assets holds as active.
fn active(h: &Harness, type_name: &str) -> BTreeSet<String> {
    h.assets()
        .of(type_name)
        .iter()
        .filter(|(_, o)| o.one("Entra Status") != Some(REMOVED))
        .map(|(id, _)| id.clone())
        .collect()
}

fn users_where(
    h: &Harness,
    keep: impl Fn(&crosswalk_sandbox::generator::directory::User) -> bool,
) -> BTreeSet<String> {
    h.sandbox.handle.graph(|g| {
        g.directory
            .users
            .iter()
            .filter(|u| keep(u))
            .map(|u| u.id.clone())
            .collect()
    })
}

fn in_department(user: &crosswalk_sandbox::generator::directory::User, name: &str) -> bool {
    user.department.as_deref() == Some(name) && user.company_name.is_some()
}

/// A job with `filters` on the small directory (see [`settings`]), not yet run.
async fn filtered(filters: serde_json::Value) -> Harness {
    Harness::with(Size::Small, settings(filters)).await
}

/// Memberships Assets should hold when only the users in `users` are in scope (every group and
/// device is).
fn memberships_with_users(h: &Harness, users: &BTreeSet<String>) -> BTreeSet<String> {
    let [groups, _, devices] = everything(h);
    h.sandbox
        .handle
        .graph(|g| memberships_between(&g.directory, &groups, users, &devices))
}

#[tokio::test]
async fn a_users_filter_syncs_exactly_the_matching_users_and_follows_their_changes() {
    // `companyName` is not a mapped property: it is read only because the filter names it.
    let filter = "department eq 'sales' and companyName eq 'Contoso'";
    let h = filtered(serde_json::json!({"odata": {"users": filter}})).await;
    h.sync().await;
    let expected = users_where(&h, |u| in_department(u, "Sales"));
    assert!(expected.len() >= 5, "the sandbox has a Sales department");
    assert_eq!(active(&h, "Entra User"), expected);
    assert_eq!(
        active(&h, "Entra Group Membership"),
        memberships_with_users(&h, &expected)
    );

    // One user moves out of Sales, another (a member outside Sales) moves in.
    let (leaver, joiner) = h.sandbox.handle.graph(|g| {
        let leaver = expected.iter().next().unwrap().clone();
        let joiner = g
            .directory
            .users
            .iter()
            .find(|u| u.company_name.is_some() && !expected.contains(&u.id))
            .expect("a member outside Sales")
            .id
            .clone();
        g.directory
            .update_user(&leaver, |u| u.department = Some("Finance".into()));
        g.directory
            .update_user(&joiner, |u| u.department = Some("Sales".into()));
        (leaver, joiner)
    });
    let run = h.sync().await;
    let mirror = h.assets();
    let users = mirror.of("Entra User");
    assert_eq!(users[&leaver].one("Entra Status"), Some(REMOVED));
    assert!(users[&leaver].one("Removed on").is_some());
    assert_ne!(users[&joiner].one("Entra Status"), Some(REMOVED));
    assert_eq!(
        active(&h, "Entra User"),
        users_where(&h, |u| in_department(u, "Sales"))
    );
    assert!(
        !active(&h, "Entra Group Membership")
            .iter()
            .any(|m| m.ends_with(&format!(":{leaver}"))),
        "the leaver's memberships go with them"
    );
    let totals = run.totals();
    assert!(totals.created >= 1 && totals.retired >= 1, "{totals:?}");
    // That was an incremental round: the filter did not change.
    assert!(
        !h.events(run.id)
            .iter()
            .any(|e| e.message.contains("filters for users changed")),
        "no full round"
    );

    // Converged: a further run changes nothing.
    let again = h.sync().await.totals();
    assert_eq!(
        (again.created, again.updated, again.retired),
        (0, 0, 0),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_changed_filter_reads_everything_again_and_retires_what_left_it() {
    let mut h = filtered(serde_json::json!({"odata": {"users": "department eq 'Sales'"}})).await;
    h.sync().await;
    let sales = users_where(&h, |u| in_department(u, "Sales"));
    assert_eq!(active(&h, "Entra User"), sales);

    // No object changed in Entra: only the full round can find who left and who entered.
    h.set_settings(settings(serde_json::json!({"odata": {
        "users": "department in ('Finance', 'Engineering')"
    }})));
    let run = h.sync().await;
    let wanted = users_where(&h, |u| {
        in_department(u, "Finance") || in_department(u, "Engineering")
    });
    assert_eq!(active(&h, "Entra User"), wanted);
    let users = h.assets();
    for id in &sales {
        assert_eq!(
            users.of("Entra User")[id].one("Entra Status"),
            Some(REMOVED)
        );
    }
    let events = h.events(run.id);
    for plural in ["users", "groups"] {
        assert!(
            events
                .iter()
                .any(|e| e.message.contains(&format!("filters for {plural} changed"))),
            "full round of {plural}: {:?}",
            events
                .iter()
                .map(|e| &e.message)
                .take(10)
                .collect::<Vec<_>>()
        );
    }
    assert!(
        !events
            .iter()
            .any(|e| e.message.contains("filters for app registrations changed")),
        "kinds whose scope did not change keep their delta link"
    );
    // The groups' full round brought the memberships of the users who entered.
    assert_eq!(
        active(&h, "Entra Group Membership"),
        memberships_with_users(&h, &wanted)
    );
    assert!(run.totals().retired as usize >= sales.len());

    // Removing the filter brings everyone back.
    h.set_settings(settings(serde_json::json!({})));
    let run = h.sync().await;
    assert_eq!(active(&h, "Entra User"), users_where(&h, |_| true));
    assert!(h
        .events(run.id)
        .iter()
        .any(|e| e.message.contains("filters for users changed")));
    common::assert_mirrors_directory(&h);
}

#[tokio::test]
async fn group_device_and_intune_filters_scope_their_kinds() {
    let h = filtered(serde_json::json!({"odata": {
        "groups": "groupTypes/any(c:c eq 'Unified')",
        // `isManaged` is not a mapped property of Entra devices.
        "devices": "isManaged eq true and operatingSystem ne null",
        "managed_devices": "complianceState in ('compliant', 'inGracePeriod')",
    }}))
    .await;
    h.sync().await;
    let (groups, devices, intune, users) = h.sandbox.handle.graph(|g| {
        let d = &g.directory;
        let groups: BTreeSet<String> = d
            .groups
            .iter()
            .filter(|x| x.group_types.iter().any(|t| t == "Unified"))
            .map(|x| x.id.clone())
            .collect();
        let devices: BTreeSet<String> = d
            .devices
            .iter()
            .filter(|x| x.is_managed == Some(true))
            .map(|x| x.id.clone())
            .collect();
        let intune: BTreeSet<String> = d
            .managed_devices
            .iter()
            .filter(|x| {
                ["compliant", "ingraceperiod"].contains(&x.compliance_state.to_lowercase().as_str())
            })
            .map(|x| x.id.clone())
            .collect();
        let users: BTreeSet<String> = d.users.iter().map(|u| u.id.clone()).collect();
        (groups, devices, intune, users)
    });
    assert!(!groups.is_empty() && !devices.is_empty() && !intune.is_empty());
    assert_eq!(active(&h, "Entra Group"), groups);
    assert_eq!(active(&h, "Entra Device"), devices);
    assert_eq!(active(&h, "Intune Device"), intune);
    assert_eq!(active(&h, "Entra User"), users);
    let memberships = h
        .sandbox
        .handle
        .graph(|g| memberships_between(&g.directory, &groups, &users, &devices));
    assert_eq!(active(&h, "Entra Group Membership"), memberships);

    // A group that stops being a Microsoft 365 group leaves with its memberships.
    let gone = groups.iter().next().unwrap().clone();
    h.sandbox.handle.graph(|g| {
        g.directory.update_group(&gone, |x| x.group_types.clear());
    });
    h.sync().await;
    assert_eq!(
        h.assets().of("Entra Group")[&gone].one("Entra Status"),
        Some(REMOVED)
    );
    assert!(!active(&h, "Entra Group Membership")
        .iter()
        .any(|m| m.starts_with(&format!("{gone}:"))));
}

#[tokio::test]
async fn a_bad_filter_is_refused_before_saving_with_its_position() {
    let bad = settings(serde_json::json!({"odata": {
        "users": "department eq 'Sales' and (jobTitle eq 'x'",
        "devices": "manager eq null",
    }}));
    let problems = crosswalk_entra::EntraSync.validate(&bad).unwrap_err();
    let by_field: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        by_field,
        [
            (
                "filters.odata.users",
                "Filter for users: expected ')' at character 43, found the end of the filter"
            ),
            (
                "filters.odata.devices",
                "Filter for Entra devices: 'manager' is a relationship, which Graph delta reports as changes, not as a value a filter can read; filter on the object's own properties"
            ),
        ]
    );
    // Saved anyway (e.g. written to the database by hand): the run stops before reading Graph.
    let h = Harness::with(Size::Tiny, bad).await;
    let (run_id, status) = h.run(false).await;
    assert_eq!(status, crosswalk_core::RunStatus::Failed);
    let error = h.store().get_run(run_id).unwrap().error.unwrap();
    assert!(
        error.message.contains("expected ')' at character 43"),
        "{}",
        error.message
    );
    assert!(h.assets().types.is_empty(), "nothing was written");
}

/// Memberships Assets should hold when exactly these groups, users and devices are mirrored.
fn memberships_between(
    directory: &Directory,
    groups: &BTreeSet<String>,
    users: &BTreeSet<String>,
    devices: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for group in directory.groups.iter().filter(|g| groups.contains(&g.id)) {
        for member in &group.members {
            let in_scope = match member.kind {
                Kind::User => users.contains(&member.id),
                Kind::Group => groups.contains(&member.id),
                Kind::Device => devices.contains(&member.id),
                _ => false,
            };
            if in_scope {
                out.insert(format!("{}:{}", group.id, member.id));
            }
        }
    }
    out
}

/// Every group, user and device id in the sandbox, by kind.
fn everything(h: &Harness) -> [BTreeSet<String>; 3] {
    h.sandbox.handle.graph(|g| {
        let d = &g.directory;
        [
            d.groups.iter().map(|x| x.id.clone()).collect(),
            d.users.iter().map(|x| x.id.clone()).collect(),
            d.devices.iter().map(|x| x.id.clone()).collect(),
        ]
    })
}

/// The groups `id` is a direct member of in the sandbox.
fn groups_of(h: &Harness, id: &str) -> BTreeSet<String> {
    h.sandbox.handle.graph(|g| {
        g.directory
            .groups
            .iter()
            .filter(|x| x.members.iter().any(|m| m.id == id))
            .map(|x| x.id.clone())
            .collect()
    })
}

/// Mirrored memberships that have `id` as their member.
fn memberships_of_member(h: &Harness, id: &str) -> BTreeSet<String> {
    active(h, "Entra Group Membership")
        .into_iter()
        .filter_map(|m| {
            let (group, member) = m.split_once(':')?;
            (member == id).then(|| group.to_owned())
        })
        .collect()
}

/// Entra's documented application permission for reading another user's memberships.
fn grant_directory_read_all(h: &Harness) {
    h.sandbox.handle.identity(|i| {
        if let Some(app) = i.app_mut(crosswalk_sandbox::identity::CLIENT_ID) {
            app.roles
                .values_mut()
                .for_each(|r| r.push("Directory.Read.All".into()));
        }
    });
}

const COUNTED: u32 = 1_000_000;

/// Starts counting Graph `memberOf` requests (a counted no-op fault rule).
fn count_member_of_requests(h: &Harness) {
    h.sandbox.handle.clear_faults();
    h.sandbox.handle.add_fault(FaultRule {
        server: Server::Graph,
        route: Some("/memberOf".into()),
        method: Some("GET".into()),
        fault: Fault::Latency { ms: 0 },
        times: Some(COUNTED),
    });
}

/// `memberOf` requests since [`count_member_of_requests`].
fn member_of_requests(h: &Harness) -> u32 {
    h.sandbox
        .handle
        .fault_rules()
        .iter()
        .find(|r| r.route.as_deref() == Some("/memberOf"))
        .map_or(COUNTED, |r| COUNTED - r.times.unwrap_or(COUNTED))
}

fn in_sales(user: &crosswalk_sandbox::generator::directory::User) -> bool {
    user.department.as_deref() == Some("Sales")
}

#[tokio::test]
async fn users_entering_a_filter_in_an_incremental_run_bring_their_existing_memberships() {
    let mut h = filtered(serde_json::json!({"odata": {"users": "department eq 'Sales'"}})).await;
    h.sync().await;
    let [groups, _, devices] = everything(&h);
    let expected = |h: &Harness| {
        let users = users_where(h, in_sales);
        h.sandbox
            .handle
            .graph(|g| memberships_between(&g.directory, &groups, &users, &devices))
    };
    assert_eq!(active(&h, "Entra Group Membership"), expected(&h));

    // Three members of several groups move into Sales. Their memberships are old, so the groups
    // delta does not report them; the second also joins another group meanwhile, which it does.
    let movers: Vec<String> = h.sandbox.handle.graph(|g| {
        let d = &mut g.directory;
        let movers: Vec<String> = d
            .users
            .iter()
            .filter(|u| !in_sales(u))
            .filter(|u| {
                d.groups
                    .iter()
                    .filter(|x| x.members.iter().any(|m| m.id == u.id))
                    .count()
                    >= 2
            })
            .take(3)
            .map(|u| u.id.clone())
            .collect();
        for id in &movers {
            d.update_user(id, |u| u.department = Some("Sales".into()));
        }
        let extra = d
            .groups
            .iter()
            .find(|x| !x.members.iter().any(|m| m.id == movers[1]))
            .map(|x| x.id.clone())
            .expect("a group the second mover is not in");
        assert!(d.add_member(&extra, Member::user(&movers[1])));
        movers
    });
    assert_eq!(movers.len(), 3);

    // Without Directory.Read.All, Graph refuses a user's memberships: the run says what to grant,
    // having asked once.
    count_member_of_requests(&h);
    let run = h.sync().await;
    assert_eq!(member_of_requests(&h), 1);
    let events = h.events(run.id);
    let denied = events
        .iter()
        .find(|e| {
            e.message
                .contains("that entered the sync's scope were not read")
        })
        .expect("the missing permission is reported");
    assert!(
        denied.message.starts_with("The memberships of 3 objects")
            && denied.message.contains("Directory.Read.All"),
        "{}",
        denied.message
    );
    assert_eq!(denied.level, crosswalk_core::EventLevel::Warn);
    assert!(denied
        .fix
        .as_deref()
        .is_some_and(|f| f.contains("admin consent")));
    for id in &movers {
        assert!(active(&h, "Entra User").contains(id));
    }
    assert_eq!(memberships_of_member(&h, &movers[0]), BTreeSet::new());

    // Once granted (a new process signs in again), the next run reads them; nothing else entered.
    grant_directory_read_all(&h);
    h.restart();
    count_member_of_requests(&h);
    let run = h.sync().await;
    assert_eq!(member_of_requests(&h), 3, "only the users still waiting");
    for id in &movers {
        let of = groups_of(&h, id);
        assert!(of.len() >= 2, "{of:?}");
        assert_eq!(memberships_of_member(&h, id), of, "memberships of {id}");
    }
    assert_eq!(active(&h, "Entra Group Membership"), expected(&h));
    let events = h.events(run.id);
    assert!(
        events
            .iter()
            .any(|e| e.message.starts_with("3 objects entered the sync's scope:")),
        "{:?}",
        events.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
    assert!(!events
        .iter()
        .any(|e| e.message.contains("filters for users changed")));

    // Another user enters with the permission granted: read in the same run, although the
    // groups round wrote one of its memberships.
    let late = h.sandbox.handle.graph(|g| {
        let d = &mut g.directory;
        let late = d
            .users
            .iter()
            .find(|u| {
                !in_sales(u)
                    && d.groups
                        .iter()
                        .any(|x| x.members.iter().any(|m| m.id == u.id))
            })
            .map(|u| u.id.clone())
            .expect("a user outside Sales in a group");
        d.update_user(&late, |u| u.department = Some("Sales".into()));
        // It also joins a group: the groups delta reports that membership, not its older ones.
        let extra = d
            .groups
            .iter()
            .find(|x| !x.members.iter().any(|m| m.id == late))
            .map(|x| x.id.clone())
            .expect("a group it is not in");
        assert!(d.add_member(&extra, Member::user(&late)));
        late
    });
    count_member_of_requests(&h);
    h.sync().await;
    let of = groups_of(&h, &late);
    assert!(of.len() >= 2, "{of:?}");
    assert_eq!(memberships_of_member(&h, &late), of);
    assert_eq!(member_of_requests(&h), 1);
    assert_eq!(active(&h, "Entra Group Membership"), expected(&h));

    // Converged; a run where nothing enters asks Graph for no memberships.
    count_member_of_requests(&h);
    let again = h.sync().await.totals();
    assert_eq!(
        (again.created, again.updated, again.retired),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(member_of_requests(&h), 0);
}

#[tokio::test]
async fn a_device_entering_the_platform_filter_brings_its_memberships() {
    let h = filtered(serde_json::json!({"device_platforms": ["Windows"]})).await;
    // An iPhone in two groups since before the first run.
    let (device, teams) = h.sandbox.handle.graph(|g| {
        let d = &mut g.directory;
        let device = d
            .devices
            .iter()
            .find(|x| x.operating_system != "Windows")
            .map(|x| x.id.clone())
            .expect("a device that is not Windows");
        let teams: Vec<String> = d
            .groups
            .iter()
            .skip(1)
            .take(2)
            .map(|x| x.id.clone())
            .collect();
        for team in &teams {
            let member = Member {
                kind: Kind::Device,
                id: device.clone(),
            };
            assert!(d.add_member(team, member));
        }
        (device, teams)
    });
    h.sync().await;
    assert!(!active(&h, "Entra Device").contains(&device));
    assert!(memberships_of_member(&h, &device).is_empty());

    h.sandbox.handle.graph(|g| {
        g.directory
            .update_device(&device, |x| x.operating_system = "Windows".into())
    });
    // A dry run plans the memberships and writes nothing.
    let (dry, status) = h.run(true).await;
    assert_eq!(status, crosswalk_core::RunStatus::Succeeded);
    let planned: Vec<String> = h
        .events(dry)
        .into_iter()
        .filter(|e| e.object_kind.as_deref() == Some("membership"))
        .filter_map(|e| e.object_id)
        .collect();
    let want: Vec<String> = teams.iter().map(|t| format!("{t}:{device}")).collect();
    assert_eq!(
        planned.iter().collect::<BTreeSet<_>>(),
        want.iter().collect::<BTreeSet<_>>()
    );
    assert!(h
        .events(dry)
        .iter()
        .any(|e| e.message == "1 object entered the sync's scope: 2 memberships would be added."));
    assert!(!active(&h, "Entra Device").contains(&device));
    assert!(memberships_of_member(&h, &device).is_empty());

    count_member_of_requests(&h);
    let run = h.sync().await;
    assert!(active(&h, "Entra Device").contains(&device));
    let teams: BTreeSet<String> = teams.into_iter().collect();
    assert_eq!(memberships_of_member(&h, &device), teams);
    assert_eq!(member_of_requests(&h), 1);
    let [groups, users, _] = everything(&h);
    let windows: BTreeSet<String> = h.sandbox.handle.graph(|g| {
        g.directory
            .devices
            .iter()
            .filter(|x| x.operating_system == "Windows")
            .map(|x| x.id.clone())
            .collect()
    });
    let expected = h
        .sandbox
        .handle
        .graph(|g| memberships_between(&g.directory, &groups, &users, &windows));
    assert_eq!(active(&h, "Entra Group Membership"), expected);
    assert!(h
        .events(run.id)
        .iter()
        .any(|e| e.message == "1 object entered the sync's scope: 2 memberships added."));
}

#[tokio::test]
async fn a_group_entering_the_groups_filter_brings_its_members_and_parents() {
    let h = filtered(serde_json::json!({"odata": {"groups": "groupTypes/any(c:c eq 'Unified')"}}))
        .await;
    let unified = |x: &crosswalk_sandbox::generator::directory::Group| {
        x.group_types.iter().any(|t| t == "Unified")
    };
    // A security group with members, nested in a Microsoft 365 group since before the first run.
    let (child, parent) = h.sandbox.handle.graph(|g| {
        let d = &mut g.directory;
        let child = d
            .groups
            .iter()
            .find(|x| !unified(x) && x.members.len() >= 3)
            .map(|x| x.id.clone())
            .expect("a security group with members");
        let parent = d
            .groups
            .iter()
            .find(|x| unified(x))
            .map(|x| x.id.clone())
            .expect("a Microsoft 365 group");
        assert!(d.add_member(&parent, Member::group(&child)));
        (child, parent)
    });
    h.sync().await;
    assert!(!active(&h, "Entra Group").contains(&child));

    // The group enters the filter; a new user joins its parent (users are not filtered: the
    // groups delta reports every membership of a new user, so it is not asked about).
    let joiner = h.sandbox.handle.graph(|g| {
        let d = &mut g.directory;
        d.update_group(&child, |x| x.group_types = vec!["Unified".into()]);
        let joiner = d.add_user("Nia Newcomer");
        assert!(d.add_member(&parent, Member::user(&joiner)));
        joiner
    });
    count_member_of_requests(&h);
    h.sync().await;
    assert!(active(&h, "Entra Group").contains(&child));
    let mirrored = active(&h, "Entra Group Membership");
    assert!(
        mirrored.contains(&format!("{parent}:{child}")),
        "its parent"
    );
    assert!(
        mirrored.contains(&format!("{parent}:{joiner}")),
        "from the groups delta"
    );
    let [_, users, devices] = everything(&h);
    let members: BTreeSet<String> = h.sandbox.handle.graph(|g| {
        let d = &g.directory;
        d.groups.get(&child).map_or_else(BTreeSet::new, |x| {
            x.members
                .iter()
                .filter(|m| m.kind == Kind::User)
                .map(|m| format!("{child}:{}", m.id))
                .collect()
        })
    });
    assert!(
        members.len() >= 3 && members.is_subset(&mirrored),
        "its members"
    );
    let expected = h.sandbox.handle.graph(|g| {
        let groups = g
            .directory
            .groups
            .iter()
            .filter(|x| unified(x))
            .map(|x| x.id.clone())
            .collect();
        memberships_between(&g.directory, &groups, &users, &devices)
    });
    assert_eq!(mirrored, expected);
    assert_eq!(member_of_requests(&h), 1);
}
