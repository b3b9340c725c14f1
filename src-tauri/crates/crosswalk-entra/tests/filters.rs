//! OData filters per kind: evaluated by Crosswalk on what Graph returns (delta takes no
//! `$filter`), objects leaving or entering a filter, a changed filter forcing a full round, and
//! bad filters refused before they are saved. Expectations come from the sandbox's directory.

mod common;

use common::Harness;
use crosswalk_engine::kind::JobKind;
use crosswalk_sandbox::generator::directory::{Directory, Kind};
use crosswalk_sandbox::Size;
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

/// Memberships Assets should hold when only `groups` and the users in `users` are in scope
/// (devices and nested groups are unfiltered).
fn memberships_expected(
    directory: &Directory,
    groups: &BTreeSet<String>,
    users: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for group in directory.groups.iter().filter(|g| groups.contains(&g.id)) {
        for member in &group.members {
            let in_scope = match member.kind {
                Kind::User => users.contains(&member.id),
                Kind::Group => groups.contains(&member.id),
                Kind::Device => true,
                _ => false,
            };
            if in_scope {
                out.insert(format!("{}:{}", group.id, member.id));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_users_filter_syncs_exactly_the_matching_users_and_follows_their_changes() {
    // `companyName` is not a mapped property: it is read only because the filter names it.
    let filter = "department eq 'sales' and companyName eq 'Contoso'";
    let h = Harness::with(
        Size::Small,
        settings(serde_json::json!({"odata": {"users": filter}})),
    )
    .await;
    h.sync().await;
    let expected = users_where(&h, |u| in_department(u, "Sales"));
    assert!(expected.len() >= 5, "the sandbox has a Sales department");
    assert_eq!(active(&h, "Entra User"), expected);
    let all_groups: BTreeSet<String> = h
        .sandbox
        .handle
        .graph(|g| g.directory.groups.iter().map(|x| x.id.clone()).collect());
    let memberships = h
        .sandbox
        .handle
        .graph(|g| memberships_expected(&g.directory, &all_groups, &expected));
    assert_eq!(active(&h, "Entra Group Membership"), memberships);

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
    let mut h = Harness::with(
        Size::Small,
        settings(serde_json::json!({"odata": {"users": "department eq 'Sales'"}})),
    )
    .await;
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
    let all_groups: BTreeSet<String> = h
        .sandbox
        .handle
        .graph(|g| g.directory.groups.iter().map(|x| x.id.clone()).collect());
    let memberships = h
        .sandbox
        .handle
        .graph(|g| memberships_expected(&g.directory, &all_groups, &wanted));
    assert_eq!(active(&h, "Entra Group Membership"), memberships);
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
    let h = Harness::with(
        Size::Small,
        settings(serde_json::json!({"odata": {
            "groups": "groupTypes/any(c:c eq 'Unified')",
            // `isManaged` is not a mapped property of Entra devices.
            "devices": "isManaged eq true and operatingSystem ne null",
            "managed_devices": "complianceState in ('compliant', 'inGracePeriod')",
        }})),
    )
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
    let memberships: BTreeSet<String> = h.sandbox.handle.graph(|g| {
        let d = &g.directory;
        d.groups
            .iter()
            .filter(|x| groups.contains(&x.id))
            .flat_map(|x| {
                x.members.iter().filter_map(|m| {
                    let ok = match m.kind {
                        Kind::User => true,
                        Kind::Group => groups.contains(&m.id),
                        Kind::Device => devices.contains(&m.id),
                        _ => false,
                    };
                    ok.then(|| format!("{}:{}", x.id, m.id))
                })
            })
            .collect()
    });
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
