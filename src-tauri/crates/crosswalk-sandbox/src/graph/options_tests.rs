//! Conformance tests for query options a sync relies on (`$select` of every generated property,
//! Intune's `lastSyncDateTime` filter) and for throttling under a time scale (api/microsoft.md).

use super::repr;
use super::tests::T;
use crate::generator::directory::Kind;
use serde_json::Value;
use std::collections::BTreeSet;

fn keys(item: &Value) -> BTreeSet<String> {
    item.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every user property the sandbox serves that `$select` can name on the collection.
fn selectable_user_properties() -> Vec<String> {
    repr::known_properties(Kind::User)
        .iter()
        .filter(|p| {
            // Single-user-only (501), AuditLog-only, and the relationship are tested elsewhere.
            !repr::USER_SINGLE_ONLY.contains(&p.as_str())
                && *p != "signInActivity"
                && *p != "manager"
        })
        .cloned()
        .collect()
}

// api/microsoft.md §B.2 ($select names any user property, e.g. companyName, employeeId,
// officeLocation, mobilePhone) and §C.3 (delta's $select defines what is tracked; `id` always).
#[tokio::test]
async fn every_generated_user_property_can_be_selected_in_list_and_delta() {
    let t = T::new().await;
    let properties = selectable_user_properties();
    for wanted in ["companyName", "employeeId", "officeLocation", "mobilePhone"] {
        assert!(properties.iter().any(|p| p == wanted), "{wanted}");
    }
    for property in &properties {
        let page = t.ok(&format!("/users?$select=id,{property}&$top=5")).await;
        for item in page["value"].as_array().into_iter().flatten() {
            assert_eq!(
                keys(item),
                BTreeSet::from(["id".to_owned(), property.clone()]),
                "{property}"
            );
        }
        let (items, _, _) = t
            .delta_round(&format!("/users/delta?$select={property}"), &[])
            .await;
        assert!(!items.is_empty(), "{property}");
        assert!(
            items
                .iter()
                .all(|item| item.get(property).is_some() && item["id"].is_string()),
            "{property}: {:?}",
            items.first()
        );
    }
    // The whole suggested asset-DB select at once (§B.2).
    t.ok("/users?$select=id,displayName,userPrincipalName,mail,jobTitle,department,accountEnabled,employeeId,officeLocation,createdDateTime,lastPasswordChangeDateTime,userType,onPremisesSyncEnabled,companyName,mobilePhone&$top=999")
        .await;
}

// api/microsoft.md §E (400 with the OData error body) for a `$select` naming a property the
// type does not have — on the list, a single object, delta and Intune alike.
#[tokio::test]
async fn selecting_an_unknown_property_is_a_400() {
    let t = T::new().await;
    let id = t.ok("/users?$top=1&$select=id").await["value"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let device = t.ok("/deviceManagement/managedDevices?$top=1").await["value"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for path in [
        "/users?$select=id,favouriteColour".to_owned(),
        format!("/users/{id}?$select=favouriteColour"),
        "/users/delta?$select=displayName,favouriteColour".to_owned(),
        "/groups?$select=favouriteColour".to_owned(),
        "/deviceManagement/managedDevices?$select=id,favouriteColour".to_owned(),
        format!("/deviceManagement/managedDevices/{device}?$select=favouriteColour"),
    ] {
        let (status, body) = t.get(&path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "Request_BadRequest", "{path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("'favouriteColour'"),
            "{path}: {body}"
        );
        assert!(body["error"]["innerError"]["request-id"].is_string());
    }
}

// api/microsoft.md §B.7: `lastSyncDateTime` supports `lt` and `gt` only. `gt` with a literal
// date filters; `ge` is not supported and is ignored silently (every device comes back), or a
// 400 when the knob says so.
#[tokio::test]
async fn intune_last_sync_filter_supports_gt_and_lt_only() {
    let t = T::new().await;
    let cutoff = time::macros::datetime!(2026-01-01 00:00:00 UTC);
    // Move every other device's last sync before the cutoff so the filter has work to do.
    let (total, newer) = t.graph(|g| {
        let ids: Vec<String> = g
            .directory
            .managed_devices
            .iter()
            .map(|m| m.id.clone())
            .collect();
        for id in ids.iter().step_by(2) {
            g.directory
                .update_managed_device(id, |m| m.last_sync = cutoff - time::Duration::days(3));
        }
        let newer = g
            .directory
            .managed_devices
            .iter()
            .filter(|m| m.last_sync > cutoff)
            .count();
        (ids.len(), newer)
    });
    assert!(newer > 0 && newer < total);
    let gt = t
        .ok("/deviceManagement/managedDevices?$filter=lastSyncDateTime gt 2026-01-01T00:00:00Z&$select=id,lastSyncDateTime")
        .await;
    let items = gt["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), newer);
    assert!(items.iter().all(|d| d["lastSyncDateTime"]
        .as_str()
        .is_some_and(|s| s > "2026-01-01T00:00:00Z")));
    let lt = t
        .ok("/deviceManagement/managedDevices?$filter=lastSyncDateTime lt 2026-01-01T00:00:00Z")
        .await;
    assert_eq!(lt["value"].as_array().map(Vec::len), Some(total - newer));

    let ge = t
        .ok("/deviceManagement/managedDevices?$filter=lastSyncDateTime ge 2026-01-01T00:00:00Z")
        .await;
    assert_eq!(
        ge["value"].as_array().map(Vec::len),
        Some(total),
        "ge is ignored, not applied"
    );
    t.graph(|g| g.intune_ignores_unsupported_filters = false);
    let (status, body) = t
        .get("/deviceManagement/managedDevices?$filter=lastSyncDateTime ge 2026-01-01T00:00:00Z")
        .await;
    assert_eq!(status, 400, "{body}");
}

// api/microsoft.md §D.1 (429 with Retry-After) under a time scale of 20: a 60 s budget window
// lasts 3 s of sandbox time, and Retry-After says so.
#[tokio::test]
async fn request_budget_window_shrinks_with_the_time_scale() {
    let t = T::new().await;
    t.sb.handle.set_time_scale(20.0);
    t.graph(|g| {
        g.throttle = Some(super::Throttle {
            requests: 3,
            per_seconds: 60,
        })
    });
    for _ in 0..3 {
        assert_eq!(t.get("/users").await.0, 200);
    }
    let (status, headers, _) = t.call("/users", Some(&t.token), &[]).await;
    assert_eq!(status, 429);
    let retry: u64 = headers["retry-after"]
        .to_str()
        .unwrap_or_default()
        .parse()
        .expect("integer seconds");
    assert!((1..=3).contains(&retry), "{retry}");
    t.sb.handle.advance_clock(time::Duration::seconds(3));
    assert_eq!(t.get("/users").await.0, 200);
}
