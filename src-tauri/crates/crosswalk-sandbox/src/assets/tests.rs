//! Conformance tests for Assets, written from api/atlassian.md §D (each names its section).

use crate::jira::{RateLimit, ADMIN_API_TOKEN, ADMIN_EMAIL, VIEWER_API_TOKEN, VIEWER_EMAIL};
use crate::{Sandbox, SandboxOptions};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

pub(super) struct Ws {
    pub sandbox: Sandbox,
    pub http: Client,
    pub base: String,
}

impl Ws {
    pub async fn start() -> Ws {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let http = Client::new();
        // §D.1: discover the workspace on the site, then call the gateway.
        let discovery: Value = http
            .get(format!(
                "{}rest/servicedeskapi/assets/workspace",
                sandbox.urls.jira
            ))
            .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let wid = discovery["values"][0]["workspaceId"]
            .as_str()
            .unwrap()
            .to_owned();
        let base = format!("{}jsm/assets/workspace/{wid}/v1", sandbox.urls.assets);
        Ws {
            sandbox,
            http,
            base,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
}

// api/atlassian.md §D.2 Base URL and auth (both prefixes; 401 / 403).
#[tokio::test]
async fn auth_and_both_base_urls() {
    let ws = Ws::start().await;
    let (status, list) = ws.get("/objectschema/list").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["values"][0]["name"], "IT Assets");
    assert!(list["values"][0]["id"].is_string());
    let ex = ws.base.replace(
        "/jsm/assets/",
        &format!("/ex/jira/{}/jsm/assets/", crate::generator::jira::CLOUD_ID),
    );
    let r = ws
        .http
        .get(format!("{ex}/objectschema/list"))
        .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = ws
        .http
        .get(format!("{}/objectschema/list", ws.base))
        .basic_auth(ADMIN_EMAIL, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 401, "message": "Unauthorized"})
    );
    let r = ws
        .http
        .get(format!("{}/objectschema/list", ws.base))
        .basic_auth(VIEWER_EMAIL, Some(VIEWER_API_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.json::<Value>().await.unwrap()["errorMessages"][0].is_string());
}

// api/atlassian.md §D.3 schemas, §D.4 object types (iconId, Key/Name/Created/Updated, name
// conflicts), §D.5 attributes (all default types, references, status), §E Assets errors.
#[tokio::test]
async fn schema_type_and_attribute_crud() {
    let ws = Ws::start().await;
    let (status, schema) = ws
        .post(
            "/objectschema/create",
            json!({"name": "Entra", "objectSchemaKey": "ENTRA", "description": "Synced"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let sid = schema["id"].as_str().unwrap().to_owned();
    let (status, dup) = ws
        .post(
            "/objectschema/create",
            json!({"name": "entra", "objectSchemaKey": "ENTRA"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(dup["errors"]["name"].is_string() && dup["errors"]["objectSchemaKey"].is_string());
    let (status, no_icon) = ws
        .post(
            "/objecttype/create",
            json!({"name": "Entra User", "objectSchemaId": sid}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(no_icon["errors"]["iconId"].is_string());
    let (status, user_type) = ws
        .post(
            "/objecttype/create",
            json!({"name": "Entra User", "objectSchemaId": sid, "iconId": "5"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let tid = user_type["id"].as_str().unwrap().to_owned();
    let (status, conflict) = ws
        .post(
            "/objecttype/create",
            json!({"name": "Entra User", "objectSchemaId": sid, "iconId": "5"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(conflict["errors"]["name"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    // The pre-existing schema already has an "Entra User" type (seeds/000 "conflicting type names").
    let (_, types) = ws.get("/objectschema/list").await;
    let ita = types["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["objectSchemaKey"] == "ITA")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, flat) = ws
        .get(&format!("/objectschema/{ita}/objecttypes/flat"))
        .await;
    assert!(flat
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "Entra User"));
    let (status, _) = ws
        .post(
            "/objecttype/create",
            json!({"name": "Entra User", "objectSchemaId": ita, "iconId": "5"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, attrs) = ws.get(&format!("/objecttype/{tid}/attributes")).await;
    let names: Vec<&str> = attrs
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Key", "Name", "Created", "Updated"]);
    for (name, default_type) in [
        ("Entra Object ID", 0),
        ("Employee Number", 1),
        ("Account Enabled", 2),
        ("Score", 3),
        ("Hire Date", 4),
        ("Start Time", 5),
        ("Last Sign-in", 6),
        ("Profile", 7),
        ("Mail", 8),
        ("Notes", 9),
        ("IP", 11),
    ] {
        let (status, a) = ws.post(&format!("/objecttypeattribute/{tid}"), json!({"name": name, "type": 0, "defaultTypeId": default_type, "uniqueAttribute": name == "Entra Object ID"})).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {a}");
        assert_eq!(a["defaultType"]["id"], default_type);
    }
    let (status, select) = ws
        .post(
            &format!("/objecttypeattribute/{tid}"),
            json!({"name": "Tier", "type": "0", "defaultTypeId": "10", "options": "Gold,Silver"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(select["options"], "Gold,Silver");
    let (status, reference) = ws
        .post(
            &format!("/objecttypeattribute/{tid}"),
            json!({"name": "Manager", "type": 1, "typeValue": tid, "additionalValue": "4"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(reference["referenceObjectTypeId"], tid.as_str());
    assert_eq!(reference["referenceType"]["name"], "Reference");
    let (status, bad_ref) = ws
        .post(
            &format!("/objecttypeattribute/{tid}"),
            json!({"name": "Broken", "type": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad_ref["errors"]["typeValue"].is_string());
    let (status, st) = ws
        .post(
            "/config/statustype",
            json!({"name": "Retired", "category": 0, "objectSchemaId": sid}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(st["category"], 0);
    let (status, _) = ws
        .post(
            &format!("/objecttypeattribute/{tid}"),
            json!({"name": "Lifecycle", "type": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, dup_attr) = ws
        .post(
            &format!("/objecttypeattribute/{tid}"),
            json!({"name": "mail", "type": 0, "defaultTypeId": 8}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(dup_attr["errors"]["name"].is_string());
    let (_, statuses) = ws
        .get(&format!("/config/statustype?objectSchemaId={sid}"))
        .await;
    assert!(statuses
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "Retired"));
    let (_, refs) = ws.get("/config/referencetype").await;
    assert!(refs.as_array().unwrap().iter().any(|r| r["id"] == "4"));
}

pub(super) async fn user_type(ws: &Ws) -> (String, BTreeMap) {
    let (_, schema) = ws
        .post(
            "/objectschema/create",
            json!({"name": "Directory", "objectSchemaKey": "DIR"}),
        )
        .await;
    let sid = schema["id"].as_str().unwrap().to_owned();
    let (_, t) = ws
        .post(
            "/objecttype/create",
            json!({"name": "Entra User", "objectSchemaId": sid, "iconId": "5"}),
        )
        .await;
    let tid = t["id"].as_str().unwrap().to_owned();
    ws.post(
        &format!("/objecttypeattribute/{tid}"),
        json!({"name": "Entra Object ID", "type": 0, "defaultTypeId": 0, "uniqueAttribute": true}),
    )
    .await;
    ws.post(
        &format!("/objecttypeattribute/{tid}"),
        json!({"name": "Employee Number", "type": 0, "defaultTypeId": 1}),
    )
    .await;
    ws.post(
        &format!("/objecttypeattribute/{tid}"),
        json!({"name": "Manager", "type": 1, "typeValue": tid, "additionalValue": "4"}),
    )
    .await;
    ws.post(
        &format!("/objecttypeattribute/{tid}"),
        json!({"name": "Status", "type": 7}),
    )
    .await;
    let (_, attrs) = ws.get(&format!("/objecttype/{tid}/attributes")).await;
    let ids = attrs
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (tid, ids)
}

pub(super) type BTreeMap = std::collections::BTreeMap<String, String>;

pub(super) fn object(tid: &str, ids: &BTreeMap, values: &[(&str, &str)]) -> Value {
    json!({
        "objectTypeId": tid,
        "attributes": values.iter().map(|(n, v)| json!({"objectTypeAttributeId": ids[*n], "objectAttributeValues": [{"value": v}]})).collect::<Vec<_>>(),
    })
}

// api/atlassian.md §D.6 Objects: create without attributes, get with, references by key or id,
// unique violation keyed rlabs-insight-attribute-{id}, update, delete.
#[tokio::test]
async fn object_crud_and_unique_violation() {
    let ws = Ws::start().await;
    let (tid, ids) = user_type(&ws).await;
    let (status, adele) = ws
        .post(
            "/object/create",
            object(
                &tid,
                &ids,
                &[
                    ("Name", "Adele Vance"),
                    ("Entra Object ID", "oid-1"),
                    ("Employee Number", "17"),
                    ("Status", "1"),
                ],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{adele}");
    assert!(adele.get("attributes").is_none());
    assert_eq!(adele["objectKey"], "DIR-1");
    assert_eq!(adele["label"], "Adele Vance");
    let (status, alex) = ws
        .post(
            "/object/create",
            object(
                &tid,
                &ids,
                &[
                    ("Name", "Alex Wilber"),
                    ("Entra Object ID", "oid-2"),
                    ("Manager", "DIR-1"),
                ],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let alex_id = alex["id"].as_str().unwrap().to_owned();
    let (_, full) = ws.get(&format!("/object/{alex_id}")).await;
    let manager = full["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["objectTypeAttributeId"] == ids["Manager"].as_str())
        .unwrap();
    assert_eq!(
        manager["objectAttributeValues"][0]["referencedObject"]["objectKey"],
        "DIR-1"
    );
    assert!(full["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["objectTypeAttribute"]["name"] == "Key"));

    let (status, dup) = ws
        .post(
            "/object/create",
            object(
                &tid,
                &ids,
                &[("Name", "Someone"), ("Entra Object ID", "OID-1")],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        dup["errors"][format!("rlabs-insight-attribute-{}", ids["Entra Object ID"])].is_string(),
        "{dup}"
    );
    let (status, bad) = ws
        .post(
            "/object/create",
            object(
                &tid,
                &ids,
                &[("Name", "X"), ("Employee Number", "seventeen")],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["errors"][format!("rlabs-insight-attribute-{}", ids["Employee Number"])].is_string()
    );
    let (status, missing_name) = ws
        .post(
            "/object/create",
            object(&tid, &ids, &[("Entra Object ID", "oid-3")]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(missing_name["errors"][format!("rlabs-insight-attribute-{}", ids["Name"])].is_string());

    // Update by id-valued reference; only listed attributes change.
    let adele_id = adele["id"].as_str().unwrap();
    let (status, updated) = ws
        .call(
            reqwest::Method::PUT,
            &format!("/object/{alex_id}"),
            Some(object(
                &tid,
                &ids,
                &[("Employee Number", "42"), ("Manager", adele_id)],
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["label"], "Alex Wilber");
    let (status, _) = ws
        .call(
            reqwest::Method::PUT,
            &format!("/object/{alex_id}"),
            Some(json!({"attributes": []})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "objectTypeId is required on PUT"
    );
    let (status, _) = ws
        .call(reqwest::Method::DELETE, &format!("/object/{alex_id}"), None)
        .await;
    assert!(status.is_success());
    let (status, _) = ws.get(&format!("/object/{alex_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// api/atlassian.md §D.7 AQL search: find by attribute value, IN, objectSchemaId, paging.
#[tokio::test]
async fn aql_search_and_paging() {
    let ws = Ws::start().await;
    let (tid, ids) = user_type(&ws).await;
    for i in 0..7 {
        let (status, _) = ws
            .post(
                "/object/create",
                object(
                    &tid,
                    &ids,
                    &[
                        ("Name", &format!("User {i}")),
                        ("Entra Object ID", &format!("oid-{i}")),
                    ],
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, found) = ws
        .post(
            "/object/aql?includeAttributes=true",
            json!({"qlQuery": "objectType = \"Entra User\" AND \"Entra Object ID\" = \"oid-3\""}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["values"].as_array().unwrap().len(), 1);
    assert_eq!(found["values"][0]["label"], "User 3");
    assert!(found["values"][0]["attributes"].is_array());
    assert!(!found["objectTypeAttributes"].as_array().unwrap().is_empty());
    let (_, some) = ws
        .post(
            "/object/aql",
            json!({"qlQuery": "\"Entra Object ID\" IN (\"oid-1\", \"oid-5\", \"nope\")"}),
        )
        .await;
    assert_eq!(some["values"].as_array().unwrap().len(), 2);
    let (_, schema_type) = ws.get(&format!("/objecttype/{tid}")).await;
    let sid = schema_type["objectSchemaId"].as_str().unwrap();
    let mut seen = 0;
    let mut start = 0;
    loop {
        let (_, page) = ws
            .post(
                &format!("/object/aql?startAt={start}&maxResults=3&includeAttributes=false"),
                json!({"qlQuery": format!("objectSchemaId = {sid} ORDER BY Name ASC")}),
            )
            .await;
        let n = page["values"].as_array().unwrap().len();
        seen += n;
        start += n;
        if page["isLast"] == true {
            break;
        }
        assert_eq!(n, 3);
    }
    assert_eq!(seen, 7);
    let (_, count) = ws
        .post(
            "/object/aql/totalcount",
            json!({"qlQuery": "objectType = \"Entra User\" AND Name LIKE user"}),
        )
        .await;
    assert_eq!(count["totalCount"], 7);
    let (_, both) = ws
        .post(
            "/object/aql/totalcount",
            json!({"qlQuery": "objectType = \"Entra User\""}),
        )
        .await;
    assert_eq!(
        both["totalCount"], 8,
        "7 here plus the pre-existing schema's Adele"
    );
    let (status, bad) = ws
        .post("/object/aql", json!({"qlQuery": "objectType = "}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["errorMessages"][0].is_string());
}

// api/atlassian.md §D.10 Assets rate limits: 429 + Retry-After.
#[tokio::test]
async fn assets_rate_limit() {
    let ws = Ws::start().await;
    ws.sandbox
        .handle
        .assets(|a| a.rate_limit = Some(RateLimit::per_minute(1, 3)));
    assert_eq!(ws.get("/objectschema/list").await.0, StatusCode::OK);
    let r = ws
        .http
        .get(format!("{}/objectschema/list", ws.base))
        .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "3");
}
