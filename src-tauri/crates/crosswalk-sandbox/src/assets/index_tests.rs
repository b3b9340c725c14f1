//! The object indexes ([`super::store`]) and the AQL fast paths give the same answers as
//! evaluating every object, and stay right through updates, deletes and attribute changes.

use super::aql::{run, Ctx};
use super::tests::{object, user_type, BTreeMap, Ws};
use super::HISTORY_LIMIT;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Runs every query with and without the indexes; answers must be the same. Returns the ids.
fn same_answers(ws: &Ws, queries: &[String]) -> Vec<Vec<u64>> {
    ws.sandbox.handle.jira(|jira| {
        ws.sandbox.handle.assets(|s| {
            let ctx = Ctx {
                s,
                jira,
                now: OffsetDateTime::now_utc(),
            };
            queries
                .iter()
                .map(|q| {
                    let fast = run(&ctx, q, true).map(|f| (f.len(), f.ids(s)));
                    let slow = run(&ctx, q, false).map(|f| (f.len(), f.ids(s)));
                    assert_eq!(fast, slow, "{q}");
                    let (total, ids) = fast.unwrap_or_default();
                    assert_eq!(total, ids.len(), "{q}");
                    ids
                })
                .collect()
        })
    })
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// A second type with a unique attribute of the same name, and a user type with objects.
async fn directory(ws: &Ws) -> (String, BTreeMap, String, Vec<String>) {
    let (tid, ids) = user_type(ws).await;
    let (_, user_type_json) = ws.get(&format!("/objecttype/{tid}")).await;
    let sid = user_type_json["objectSchemaId"].as_str().unwrap();
    let (_, group) = ws
        .post(
            "/objecttype/create",
            json!({"name": "Entra Group", "objectSchemaId": sid, "iconId": "6"}),
        )
        .await;
    let gid = id(&group);
    let (_, group_oid) = ws
        .post(
            &format!("/objecttypeattribute/{gid}"),
            json!({"name": "Entra Object ID", "type": 0, "defaultTypeId": 0, "uniqueAttribute": true}),
        )
        .await;
    let mut users: Vec<String> = Vec::new();
    for i in 0..40 {
        let name = format!("User {i}");
        let oid = format!("oid-{i}");
        let number = (i % 13).to_string();
        let mut values = vec![
            ("Name", name.as_str()),
            ("Entra Object ID", oid.as_str()),
            ("Employee Number", number.as_str()),
            ("Status", if i % 3 == 0 { "1" } else { "2" }),
        ];
        let manager;
        if i > 0 {
            manager = users[i / 3].clone();
            values.push(("Manager", manager.as_str()));
        }
        let (status, created) = ws.post("/object/create", object(&tid, &ids, &values)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        users.push(id(&created));
    }
    // The same Entra Object IDs (other case) in another type are no clash.
    let (_, attrs) = ws.get(&format!("/objecttype/{gid}/attributes")).await;
    let group_name = attrs
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Name")
        .map(id)
        .unwrap();
    for i in 0..10 {
        let (status, created) = ws
            .post(
                "/object/create",
                json!({"objectTypeId": gid, "attributes": [
                    {"objectTypeAttributeId": group_name, "objectAttributeValues": [{"value": format!("Group {i}")}]},
                    {"objectTypeAttributeId": id(&group_oid), "objectAttributeValues": [{"value": format!("OID-{i}")}]},
                ]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    (tid, ids, gid, users)
}

fn queries(tid: &str, gid: &str, users: &[String], key: &str) -> Vec<String> {
    let some = &users[7];
    [
        format!("objectTypeId = {tid}"),
        format!("objectTypeId = {gid}"),
        format!("objectTypeId == {tid}"),
        format!("(objectTypeId = {tid})"),
        format!("objectTypeId = 0{tid}"),
        "objectTypeId = abc".to_owned(),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" = \"oid-7\""),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" = \"OID-7\""),
        format!("objectTypeId = {tid} AND \"entra object id\" = oid-7"),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" == \"OID-7\""),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" == \"oid-7\""),
        format!("\"Entra Object ID\" = \"oid-7\" AND objectTypeId = {gid}"),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" = \"oid-7\" AND Status = Active"),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" = \"oid-9\" AND Status = Active"),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" = \"nope\""),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" = empty"),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" != \"oid-7\""),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" IN (\"oid-1\", \"oid-2\")"),
        format!("objectTypeId = {tid} AND (\"Entra Object ID\" = \"oid-3\" OR \"Entra Object ID\" = \"oid-4\")"),
        format!("objectTypeId = {tid} AND Manager = \"{key}\""),
        format!("objectTypeId = {tid} AND Manager = \"User 0\""),
        format!("objectTypeId = {tid} AND Manager = {some}"),
        format!("objectTypeId = {gid} AND \"Employee Number\" = 5"),
        format!("objectTypeId = {tid} AND \"Employee Number\" = 5"),
        format!("objectTypeId = {tid} AND \"Employee Number\" > 10"),
        format!("objectTypeId = {tid} OR \"Entra Object ID\" = \"oid-1\""),
        format!("objectTypeId = {tid} ORDER BY \"Employee Number\" DESC"),
        format!("objectTypeId = {tid} AND \"Entra Object ID\" = \"oid-7\" ORDER BY Name"),
        format!("Key = \"{}\"", key.to_lowercase()),
        format!("Key = \"{key}\" AND objectTypeId = {gid}"),
        format!("key == \"{key}\""),
        format!("objectId = {some}"),
        format!("objectId = {some} AND objectTypeId = {gid}"),
        "objectId = 99999999".to_owned(),
        "\"Entra Object ID\" = \"oid-7\"".to_owned(),
        "objectType = \"Entra User\"".to_owned(),
        "objectType = \"entra user\" AND \"Entra Object ID\" = \"OID-7\"".to_owned(),
        "objectType == \"Entra Group\" AND \"Entra Object ID\" = \"oid-7\"".to_owned(),
        "objectType = \"Entra Group\" AND \"Employee Number\" = 5".to_owned(),
        "objectType = \"Nope\" AND \"Entra Object ID\" = \"oid-7\"".to_owned(),
        format!("objectType = \"Entra User\" AND objectTypeId = {gid}"),
        "Name = \"User 5\"".to_owned(),
        String::new(),
    ]
    .into()
}

#[tokio::test]
async fn fast_paths_answer_as_the_general_evaluation() {
    let ws = Ws::start().await;
    let (tid, _ids, gid, users) = directory(&ws).await;
    let (_, first) = ws.get(&format!("/object/{}", users[0])).await;
    let key = first["objectKey"].as_str().unwrap().to_owned();
    let answers = same_answers(&ws, &queries(&tid, &gid, &users, &key));
    // Not vacuous: the type lists, the unique lookups in either case and order, the keys.
    assert_eq!(answers[0].len(), 40);
    assert_eq!(answers[1].len(), 10);
    assert_eq!(answers[6], vec![users[7].parse::<u64>().unwrap()]);
    assert_eq!(answers[7], answers[6]);
    assert_eq!(answers[8], answers[6]);
    assert!(answers[9].is_empty());
    assert_eq!(answers[11].len(), 1);
    assert!(answers[19].len() > 1, "objects managed by User 0");
    assert_eq!(answers[28], vec![users[0].parse::<u64>().unwrap()]);
    assert!(answers[36].contains(&users[7].parse::<u64>().unwrap()));
    assert_eq!(answers[37].len(), 1, "the group type's own oid-7");

    // Paging the type without evaluation matches paging a query that evaluates every object.
    for start in [0, 5, 35, 40, 41] {
        let mut pages = Vec::new();
        for q in [
            format!("objectTypeId = {tid}"),
            format!("objectTypeId IN ({tid})"),
        ] {
            let (status, page) = ws
                .post(
                    &format!("/object/aql?startAt={start}&maxResults=7&includeAttributes=false"),
                    json!({"qlQuery": q}),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let values: Vec<Value> = page["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].clone())
                .collect();
            pages.push((values, page["total"].clone(), page["isLast"].clone()));
        }
        assert_eq!(pages[0], pages[1], "startAt {start}");
    }
    let (_, count) = ws
        .post(
            "/object/aql/totalcount",
            json!({"qlQuery": format!("objectTypeId = {tid}")}),
        )
        .await;
    assert_eq!(count["totalCount"], 40);
}

#[tokio::test]
async fn indexes_follow_updates_deletes_and_attribute_changes() {
    let ws = Ws::start().await;
    let (tid, ids, gid, users) = directory(&ws).await;
    let (_, first) = ws.get(&format!("/object/{}", users[0])).await;
    let key = first["objectKey"].as_str().unwrap().to_owned();
    let lookup = |oid: &str| format!("objectTypeId = {tid} AND \"Entra Object ID\" = \"{oid}\"");

    // An update frees the old unique value and takes the new one.
    let (status, _) = ws
        .call(
            reqwest::Method::PUT,
            &format!("/object/{}", users[3]),
            Some(object(&tid, &ids, &[("Entra Object ID", "oid-3b")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let found = same_answers(&ws, &[lookup("oid-3"), lookup("OID-3B")]);
    assert!(found[0].is_empty());
    assert_eq!(found[1], vec![users[3].parse::<u64>().unwrap()]);
    let (status, _) = ws
        .post(
            "/object/create",
            object(
                &tid,
                &ids,
                &[("Name", "Reuses 3"), ("Entra Object ID", "OID-3")],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, clash) = ws
        .post(
            "/object/create",
            object(
                &tid,
                &ids,
                &[("Name", "Clash"), ("Entra Object ID", "oid-3B")],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = clash["errors"][format!("rlabs-insight-attribute-{}", ids["Entra Object ID"])]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, third) = ws.get(&format!("/object/{}", users[3])).await;
    assert!(
        message.ends_with(&format!(
            "used by {}.",
            third["objectKey"].as_str().unwrap()
        )),
        "{message}"
    );

    // A delete: gone from lookups, its unique value free again, references to it dropped.
    let managed_by_first = format!("objectTypeId = {tid} AND Manager = \"{key}\"");
    let before = same_answers(&ws, std::slice::from_ref(&managed_by_first));
    assert!(!before[0].is_empty());
    let r = ws
        .http
        .delete(format!("{}/object/{}", ws.base, users[0]))
        .basic_auth(crate::jira::ADMIN_EMAIL, Some(crate::jira::ADMIN_API_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let after = same_answers(
        &ws,
        &[
            managed_by_first.clone(),
            lookup("oid-0"),
            format!("Key = \"{key}\""),
            format!("objectId = {}", users[0]),
            format!("objectTypeId = {tid} AND Manager IS EMPTY"),
        ],
    );
    assert!(after[0].is_empty() && after[1].is_empty() && after[2].is_empty());
    assert!(after[3].is_empty());
    for referrer in &before[0] {
        let (_, o) = ws.get(&format!("/object/{referrer}")).await;
        assert!(
            !o["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["objectTypeAttributeId"] == ids["Manager"].as_str()),
            "{o}"
        );
        assert!(after[4].contains(referrer));
    }
    let (status, _) = ws.get(&format!("/object/{key}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ws
        .post(
            "/object/create",
            object(
                &tid,
                &ids,
                &[("Name", "New 0"), ("Entra Object ID", "oid-0")],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Making an attribute unique indexes it: lookups take the fast path, clashes are refused.
    let (status, _) = ws
        .call(
            reqwest::Method::PUT,
            &format!("/objecttypeattribute/{tid}/{}", ids["Employee Number"]),
            Some(json!({"uniqueAttribute": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let numbers = same_answers(
        &ws,
        &[format!("objectTypeId = {tid} AND \"Employee Number\" = 5")],
    );
    assert!(numbers[0].len() > 1, "values from before it was unique");
    let (status, _) = ws
        .post(
            "/object/create",
            object(&tid, &ids, &[("Name", "Five"), ("Employee Number", "5")]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Unique labels switched on through the handle.
    let (status, _) = ws
        .post("/object/create", object(&tid, &ids, &[("Name", "User 9")]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    ws.sandbox.handle.assets(|a| a.unique_labels = true);
    let (status, dup) = ws
        .post("/object/create", object(&tid, &ids, &[("Name", "user 12")]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{dup}");
    ws.sandbox.handle.assets(|a| a.unique_labels = false);
    let (status, _) = ws
        .post("/object/create", object(&tid, &ids, &[("Name", "user 12")]))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Deleting an attribute and a type keeps every answer the same both ways.
    let r = ws
        .http
        .delete(format!(
            "{}/objecttypeattribute/{}",
            ws.base, ids["Entra Object ID"]
        ))
        .basic_auth(crate::jira::ADMIN_EMAIL, Some(crate::jira::ADMIN_API_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let gone = same_answers(&ws, &queries(&tid, &gid, &users, &key));
    assert!(
        gone[6].is_empty(),
        "the user type has no Entra Object ID now"
    );
    assert_eq!(gone[11].len(), 1, "the group type still has");
    let r = ws
        .http
        .delete(format!("{}/objecttype/{gid}", ws.base))
        .basic_auth(crate::jira::ADMIN_EMAIL, Some(crate::jira::ADMIN_API_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, count) = ws
        .post(
            "/object/aql/totalcount",
            json!({"qlQuery": format!("objectTypeId = {gid}")}),
        )
        .await;
    assert_eq!(count["totalCount"], 0);
    let (_, user_type_json) = ws.get(&format!("/objecttype/{tid}")).await;
    assert_eq!(
        user_type_json["objectCount"],
        ws.sandbox
            .handle
            .assets(|a| a.objects.count_of_type(tid.parse().unwrap()))
    );
}

#[tokio::test]
async fn history_keeps_the_creation_and_the_latest_updates() {
    let ws = Ws::start().await;
    let (tid, ids) = user_type(&ws).await;
    let (_, created) = ws
        .post(
            "/object/create",
            object(&tid, &ids, &[("Name", "Megan"), ("Entra Object ID", "m")]),
        )
        .await;
    let oid = id(&created);
    for i in 0..15 {
        let (status, _) = ws
            .call(
                reqwest::Method::PUT,
                &format!("/object/{oid}"),
                Some(object(&tid, &ids, &[("Employee Number", &i.to_string())])),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    // An update that changes nothing adds nothing.
    ws.call(
        reqwest::Method::PUT,
        &format!("/object/{oid}"),
        Some(object(&tid, &ids, &[("Employee Number", "14")])),
    )
    .await;
    let (_, history) = ws.get(&format!("/object/{oid}/history?asc=true")).await;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), HISTORY_LIMIT);
    assert_eq!(history[0]["type"], 0);
    assert!(history[1..].iter().all(|h| h["type"] == 2));
    assert!(history.iter().all(|h| h["objectId"] == oid.as_str()));
    let entry_ids: Vec<u64> = history
        .iter()
        .map(|h| h["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(entry_ids.windows(2).all(|w| w[0] < w[1]), "{entry_ids:?}");
    let (_, newest_first) = ws.get(&format!("/object/{oid}/history")).await;
    assert_eq!(newest_first[0], history[HISTORY_LIMIT - 1]);
}
