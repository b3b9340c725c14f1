//! Conformance tests for `$expand=owners` on `/applications` and for owners being invisible to
//! application delta.

use super::expand::{MAX_EXPANDED, MAX_PAGE};
use super::tests::T;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn keys(item: &Value) -> BTreeSet<String> {
    item.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Adds 120 apps (so the list pages) and one app owned by 25 users; returns that app's id and
/// its owners in order.
fn crowd(t: &T) -> (String, Vec<String>) {
    t.graph(|g| {
        let dir = &mut g.directory;
        for n in 0..120 {
            dir.add_application(&format!("Expand test {n}"));
        }
        let app = dir.add_application("Crowded app");
        let owners: Vec<String> = (0..25)
            .map(|n| dir.add_user(&format!("Owner {n}")))
            .collect();
        for owner in &owners {
            assert!(dir.add_application_owner(&app, owner));
        }
        (app, owners)
    })
}

// api/microsoft.md §B.1 ("`$expand` on directory objects returns at most 100 objects": pages of
// 100 whatever `$top` asks) and Graph's "Use query parameters" page, Expand section ("`$expand`
// typically returns a maximum of 20 items for the expanded relationship and has no
// @odata.nextLink"); the rest is read from `/applications/{id}/owners` (§B.1 paging).
#[tokio::test]
async fn expanded_owners_come_in_pages_of_100_with_at_most_20_owners_each() {
    let t = T::new().await;
    let (crowded, owners) = crowd(&t);
    let expected: BTreeMap<String, Vec<String>> = t.graph(|g| {
        g.directory
            .applications
            .iter()
            .map(|a| (a.id.clone(), a.owners.clone()))
            .collect()
    });
    let path = "/applications?$select=id&$expand=owners($select=id)&$top=999";
    let first = t.ok(path).await;
    assert_eq!(first["value"].as_array().map(Vec::len), Some(MAX_PAGE));
    assert!(first["@odata.nextLink"].is_string());
    let (items, pages, _) = t.all(path, &[]).await;
    assert_eq!(pages, expected.len().div_ceil(MAX_PAGE));
    let got: BTreeMap<String, Vec<String>> = items
        .iter()
        .map(|item| {
            assert!(
                keys(item).iter().all(|k| k == "id" || k == "owners"),
                "{item}"
            );
            assert!(item.get("owners@odata.nextLink").is_none());
            let owners = item["owners"]
                .as_array()
                .expect("owners is always an array");
            for owner in owners {
                assert_eq!(owner["@odata.type"], "#microsoft.graph.user");
                assert_eq!(
                    keys(owner),
                    BTreeSet::from(["@odata.type".to_owned(), "id".to_owned()])
                );
            }
            let ids = owners
                .iter()
                .filter_map(|o| o["id"].as_str().map(str::to_owned))
                .collect();
            (item["id"].as_str().unwrap_or_default().to_owned(), ids)
        })
        .collect();
    let cut: BTreeMap<String, Vec<String>> = expected
        .iter()
        .map(|(id, o)| (id.clone(), o.iter().take(MAX_EXPANDED).cloned().collect()))
        .collect();
    assert_eq!(got, cut, "every app once, each with its first 20 owners");
    assert_eq!(got[&crowded].len(), 20);

    // The owners endpoint pages through all of them.
    let (all, _, _) = t
        .all(&format!("/applications/{crowded}/owners?$select=id"), &[])
        .await;
    let listed: Vec<&str> = all.iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(
        listed,
        owners.iter().map(String::as_str).collect::<Vec<_>>()
    );

    // Without an inner $select an owner has a user's default properties.
    let page = t
        .ok(&format!(
            "/applications?$filter=id eq '{crowded}'&$expand=owners"
        ))
        .await;
    let owner = &page["value"][0]["owners"][0];
    assert_eq!(owner["id"], owners[0].as_str());
    assert_eq!(owner["displayName"], "Owner 0");
    assert!(owner["userPrincipalName"].is_string());

    // Applications have no `members` to expand.
    let (status, body) = t.get("/applications?$expand=members").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "Request_BadRequest");
}

// Graph's delta-query overview: only users' `manager` and groups' `members` are relationships
// delta can track (api/microsoft.md §C.3); application delta takes `$select` of properties and
// `$filter` by id only, so adding or removing an owner leaves the app out of the next round.
#[tokio::test]
async fn owner_changes_do_not_show_in_application_delta() {
    let t = T::new().await;
    let (_, _, link) = t
        .delta_round("/applications/delta?$select=displayName", &[])
        .await;
    let (app, user) = t.graph(|g| {
        let app = g.directory.applications.iter().next().unwrap().id.clone();
        let user = g.directory.add_user("New Owner");
        (app, user)
    });
    // The new user itself is a users change, not an applications one.
    assert!(t.graph(|g| g.directory.add_application_owner(&app, &user)));
    assert!(!t.graph(|g| g.directory.add_application_owner(&app, &user)));
    let (items, _, link) = t.delta_round(&link, &[]).await;
    assert!(items.is_empty(), "{items:#?}");
    assert!(t.graph(|g| g.directory.remove_application_owner(&app, &user)));
    let (items, _, _) = t.delta_round(&link, &[]).await;
    assert!(items.is_empty(), "{items:#?}");
    let owners = t.ok(&format!("/applications/{app}/owners")).await;
    assert!(owners["value"]
        .as_array()
        .is_some_and(|o| o.iter().all(|x| x["id"] != user.as_str())));
}
