//! Conformance tests written from api/microsoft.md (sections named on each test).

use super::Privilege;
use crate::identity::{CLIENT_ID, CLIENT_SECRET, TENANT_ID};
use crate::{Sandbox, SandboxOptions};
use base64::Engine as _;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

struct Dv {
    sandbox: Sandbox,
    http: Client,
    token: String,
    org: String,
}

async fn token_for(http: &Client, sandbox: &Sandbox, resource: &str) -> String {
    let url = format!("{}{TENANT_ID}/oauth2/v2.0/token", sandbox.urls.login);
    let scope = format!("{resource}/.default");
    let body: Value = http
        .post(url)
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().expect("a token").to_owned()
}

impl Dv {
    async fn start() -> Dv {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let http = Client::new();
        let org = sandbox
            .urls
            .dataverse
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let token = token_for(&http, &sandbox, &org).await;
        Dv {
            sandbox,
            http,
            token,
            org,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/api/data/v9.2/{path}", self.org)
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .header("Accept", "application/json")
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self.send(Method::GET, path, None, headers).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.send(Method::POST, path, Some(body), &[]).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn first_case(&self, filter: &str) -> Value {
        let (_, body) = self
            .get(
                &format!("incidents?$select=title,statecode,statuscode&$filter={filter}"),
                &[],
            )
            .await;
        body["value"][0].clone()
    }

    async fn new_case(&self, title: &str) -> String {
        let response = self
            .send(
                Method::POST,
                "incidents",
                Some(json!({"title": title})),
                &[],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let location = response.headers()["odata-entityid"]
            .to_str()
            .unwrap()
            .to_owned();
        location
            .rsplit('(')
            .next()
            .unwrap()
            .trim_end_matches(')')
            .to_owned()
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

// api/microsoft.md §F.7 WhoAmI
#[tokio::test]
async fn dataverse_who_am_i_answers_the_application_user() {
    let dv = Dv::start().await;
    let (status, body) = dv.get("WhoAmI", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let user = dv
        .sandbox
        .handle
        .dataverse(|d| d.application_users[CLIENT_ID].systemuser_id.clone());
    assert_eq!(body["UserId"], json!(user));
    assert!(body["BusinessUnitId"].is_string() && body["OrganizationId"].is_string());
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"));
}

// api/microsoft.md §F.1 (401 for a missing token or one meant for another resource), §I.14
#[tokio::test]
async fn dataverse_rejects_missing_tokens_and_graph_tokens_with_401() {
    let dv = Dv::start().await;
    let response = dv.http.get(dv.url("WhoAmI")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer authorization_uri="));
    let graph = dv
        .sandbox
        .urls
        .graph
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let graph_token = token_for(&dv.http, &dv.sandbox, &graph).await;
    let response = dv
        .http
        .get(dv.url("WhoAmI"))
        .bearer_auth(graph_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
}

// api/microsoft.md §F.1 Application User required, §I.17
#[tokio::test]
async fn dataverse_needs_an_application_user() {
    let dv = Dv::start().await;
    dv.sandbox
        .handle
        .dataverse(|d| d.remove_application_user(CLIENT_ID));
    let (status, body) = dv.get("WhoAmI", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "0x80072560");
    assert_eq!(
        body["error"]["message"],
        "The user is not a member of the organization."
    );
    dv.sandbox
        .handle
        .dataverse(|d| d.restricted_apps.insert(CLIENT_ID.to_owned()));
    let (status, body) = dv.get("WhoAmI", &[]).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "0x80095ffc"));
}

// api/microsoft.md §F.11 privilege error 0x80040220
#[tokio::test]
async fn dataverse_missing_privilege_is_403_with_the_principal_message() {
    let dv = Dv::start().await;
    dv.sandbox
        .handle
        .dataverse(|d| d.revoke_privilege(CLIENT_ID, "incident", Privilege::Read));
    let (status, body) = dv.get("incidents?$select=title", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "0x80040220");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Principal user (Id="), "{message}");
    assert!(
        message.contains("is missing prvReadincident privilege") && message.contains("OTC=112"),
        "{message}"
    );
    // Other tables still work.
    assert_eq!(dv.get("tasks?$select=subject", &[]).await.0, StatusCode::OK);
}

// api/microsoft.md §F.3 Metadata discovery
#[tokio::test]
async fn dataverse_entity_definitions_and_attributes() {
    let dv = Dv::start().await;
    let (status, body) = dv
        .get("EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute,ChangeTrackingEnabled,DisplayName", &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let tables = body["value"].as_array().unwrap();
    let find = |name: &str| {
        tables
            .iter()
            .find(|t| t["LogicalName"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(find("opportunity")["EntitySetName"], "opportunities");
    assert_eq!(find("incident")["ChangeTrackingEnabled"], true);
    assert_eq!(find("lead")["ChangeTrackingEnabled"], false);
    assert_eq!(find("cw_asset")["PrimaryIdAttribute"], "cw_assetid");
    assert_eq!(
        find("incident")["DisplayName"]["UserLocalizedLabel"]["Label"],
        "Case"
    );
    assert!(
        find("incident")["MetadataId"].is_string(),
        "MetadataId is always included"
    );
    assert!(
        find("incident").get("ObjectTypeCode").is_none(),
        "$select limits properties"
    );

    let (_, body) = dv
        .get(
            "EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'incident'",
            &[],
        )
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);

    let (status, body) = dv
        .get("EntityDefinitions(LogicalName='incident')?$select=LogicalName,EntitySetName&$expand=Attributes($select=LogicalName,AttributeType,DateTimeBehavior)", &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let attrs = body["Attributes"].as_array().unwrap();
    let attr = |name: &str| {
        attrs
            .iter()
            .find(|a| a["LogicalName"] == name)
            .unwrap()
            .clone()
    };
    for (name, kind) in [
        ("title", "String"),
        ("description", "Memo"),
        ("cw_affectedusers", "Integer"),
        ("cw_estimatedeffort", "Decimal"),
        ("cw_impactcost", "Money"),
        ("followupby", "DateTime"),
        ("isescalated", "Boolean"),
        ("prioritycode", "Picklist"),
        ("statecode", "State"),
        ("statuscode", "Status"),
        ("customerid", "Customer"),
        ("ownerid", "Owner"),
    ] {
        assert_eq!(attr(name)["AttributeType"], kind, "{name}");
    }
    assert_eq!(
        attr("cw_targetdate")["DateTimeBehavior"]["Value"],
        "DateOnly"
    );
    assert_eq!(attr("followupby")["DateTimeBehavior"]["Value"], "UserLocal");

    // Filtering on an enum needs the namespace; OptionSet only on the cast type.
    let (_, body) = dv
        .get("EntityDefinitions(LogicalName='incident')/Attributes?$select=LogicalName&$filter=AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'", &[])
        .await;
    let names: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["LogicalName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prioritycode", "caseorigincode"]);
    let (status, body) = dv
        .get(
            "EntityDefinitions(LogicalName='incident')/Attributes?$expand=OptionSet",
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = dv
        .get("EntityDefinitions(LogicalName='incident')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)", &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let picklists = body["value"].as_array().unwrap();
    let priority = picklists
        .iter()
        .find(|a| a["LogicalName"] == "prioritycode")
        .unwrap();
    assert_eq!(
        priority["OptionSet"]["Options"][0]["Label"]["UserLocalizedLabel"]["Label"],
        "High"
    );
    assert!(priority["GlobalOptionSet"].is_null());
    let origin = picklists
        .iter()
        .find(|a| a["LogicalName"] == "caseorigincode")
        .unwrap();
    assert_eq!(origin["GlobalOptionSet"]["Options"][1]["Value"], 2);

    let (_, body) = dv
        .get("EntityDefinitions(LogicalName='incident')/Attributes(LogicalName='statuscode')/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$expand=OptionSet", &[])
        .await;
    let options = body["OptionSet"]["Options"].as_array().unwrap();
    let pairs: Vec<(i64, i64)> = options
        .iter()
        .map(|o| (o["Value"].as_i64().unwrap(), o["State"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            (1, 0),
            (2, 0),
            (3, 0),
            (4, 0),
            (5, 1),
            (1000, 1),
            (6, 2),
            (2000, 2)
        ]
    );
    let (_, body) = dv
        .get("EntityDefinitions(LogicalName='incident')/Attributes(LogicalName='statecode')/Microsoft.Dynamics.CRM.StateAttributeMetadata?$expand=OptionSet", &[])
        .await;
    let resolved = &body["OptionSet"]["Options"][1];
    assert_eq!(
        (
            resolved["DefaultStatus"].clone(),
            resolved["InvariantName"].clone()
        ),
        (json!(5), json!("Resolved"))
    );
    let (_, body) = dv
        .get("EntityDefinitions(LogicalName='incident')/Attributes(LogicalName='isescalated')/Microsoft.Dynamics.CRM.BooleanAttributeMetadata?$expand=OptionSet", &[])
        .await;
    assert_eq!(
        body["OptionSet"]["TrueOption"]["Label"]["UserLocalizedLabel"]["Label"],
        "Yes"
    );
}

// api/microsoft.md §F.1 Prefer return=representation, §F.10 Optimistic concurrency and upsert
#[tokio::test]
async fn dataverse_crud_with_etags_and_upserts() {
    let dv = Dv::start().await;
    let id = dv.new_case("Sandbox case").await;
    let response = dv
        .send(
            Method::POST,
            "incidents?$select=title,statecode",
            Some(json!({"title": "Represented"})),
            &[("Prefer", "return=representation")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["preference-applied"],
        "return=representation"
    );
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        (created["title"].clone(), created["statecode"].clone()),
        (json!("Represented"), json!(0))
    );

    let (status, case) = dv
        .get(
            &format!("incidents({id})?$select=title,statuscode,ticketnumber"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["statuscode"], 1);
    let etag = case["@odata.etag"].as_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\""));

    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({id})"),
            Some(json!({"title": "Renamed"})),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({id})"),
            Some(json!({"title": "Stale"})),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "The version of the existing record doesn't match the RowVersion property provided."
    );

    let missing = "00000000-0000-0000-0000-00000000abcd";
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({missing})"),
            Some(json!({"title": "No"})),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        format!("incident With Id = {missing} Does Not Exist")
    );
    // A plain PATCH upserts.
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({missing})"),
            Some(json!({"title": "Upserted"})),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({missing})"),
            Some(json!({"title": "Again"})),
            &[("If-None-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);

    let (status, body) = dv.post("incidents", json!({"nosuchcolumn": 1})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "0x80060888")
    );
    assert_eq!(
        dv.send(Method::DELETE, &format!("incidents({id})"), None, &[])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (status, body) = dv.get(&format!("incidents({id})"), &[]).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "0x80040217"));
    let (status, body) = dv.get("widgets", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"]["message"],
        "Resource not found for the segment 'widgets'."
    );
}

// api/microsoft.md §F.4 Reading data, formatted values, lookups
#[tokio::test]
async fn dataverse_formatted_values_and_lookups_only_when_asked() {
    let dv = Dv::start().await;
    let select =
        "incidents?$select=title,statecode,prioritycode,modifiedon,_customerid_value&$top=1";
    let (_, plain) = dv.get(select, &[]).await;
    let row = &plain["value"][0];
    assert!(row["statecode"].is_i64());
    assert!(
        row.as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("@OData") && !k.contains("@Microsoft")),
        "{row}"
    );
    let response = dv
        .send(
            Method::GET,
            select,
            None,
            &[("Prefer", "odata.include-annotations=\"*\"")],
        )
        .await;
    assert_eq!(
        response.headers()["preference-applied"],
        "odata.include-annotations=\"*\""
    );
    let body: Value = response.json().await.unwrap();
    let row = &body["value"][0];
    assert!(row["statecode@OData.Community.Display.V1.FormattedValue"].is_string());
    assert!(row["modifiedon@OData.Community.Display.V1.FormattedValue"]
        .as_str()
        .unwrap()
        .contains('/'));
    let kind = row["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"]
        .as_str()
        .unwrap();
    assert!(kind == "account" || kind == "contact");
    assert_eq!(
        row["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"],
        format!("customerid_{kind}")
    );
    let (_, body) = dv
        .get(
            select,
            &[(
                "Prefer",
                "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"",
            )],
        )
        .await;
    let row = &body["value"][0];
    assert!(row["_customerid_value@OData.Community.Display.V1.FormattedValue"].is_string());
    assert!(row
        .get("_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
        .is_none());
    // $expand of a lookup's navigation property.
    let (_, body) = dv
        .get(
            &format!(
                "incidents?$select=title&$top=2&$expand=customerid_{kind}($select={})",
                if kind == "account" {
                    "name"
                } else {
                    "fullname"
                }
            ),
            &[],
        )
        .await;
    assert!(
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r[format!("customerid_{kind}")].is_object()),
        "{body}"
    );
}

// api/microsoft.md §F.4 ($filter, $orderby), §F.5 Paging
#[tokio::test]
async fn dataverse_query_options_and_paging_to_the_end() {
    let dv = Dv::start().await;
    let total = dv
        .sandbox
        .handle
        .dataverse(|d| d.rows_of("incident").count());
    let active = dv.sandbox.handle.dataverse(|d| {
        d.rows_of("incident")
            .filter(|r| r.values["statecode"] == 0)
            .count()
    });
    let (_, body) = dv
        .get(
            "incidents?$select=title&$filter=statecode eq 0 and modifiedon gt 2000-01-01T00:00:00Z",
            &[],
        )
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), active);
    let (_, body) = dv
        .get(
            "incidents?$select=title,modifiedon&$orderby=modifiedon desc",
            &[],
        )
        .await;
    let dates: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["modifiedon"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));
    let (_, body) = dv
        .get("incidents?$select=title&$filter=contains(title,'%23')", &[])
        .await;
    assert!(!body["value"].as_array().unwrap().is_empty());
    let (status, _) = dv.get("incidents?$select=nosuch", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = dv.get("incidents?$skip=2", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = dv.get("incidents?$select=title&$top=3", &[]).await;
    assert_eq!(body["value"].as_array().unwrap().len(), 3);
    assert!(body.get("@odata.nextLink").is_none());

    let prefer = [("Prefer", "odata.maxpagesize=3")];
    let response = dv
        .send(Method::GET, "incidents?$select=title&$top=1", None, &prefer)
        .await;
    assert_eq!(
        response.headers()["preference-applied"],
        "odata.maxpagesize=3"
    );
    let mut page: Value = response.json().await.unwrap();
    assert_eq!(
        page["value"].as_array().unwrap().len(),
        3,
        "$top is ignored with maxpagesize"
    );
    let mut seen = Vec::new();
    let (_, first) = dv.get("incidents?$select=title", &prefer).await;
    page = first;
    loop {
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["incidentid"].clone()),
        );
        let Some(next) = page["@odata.nextLink"].as_str() else {
            break;
        };
        assert!(
            next.contains("$skiptoken=%3Ccookie%20pagenumber%3D%22"),
            "{next}"
        );
        page = dv.get(next, &prefer).await.1;
    }
    assert_eq!(seen.len(), total);
    seen.dedup();
    assert_eq!(seen.len(), total);
}

// api/microsoft.md §F.6 Change tracking (delta)
#[tokio::test]
async fn dataverse_change_tracking_across_create_update_delete() {
    let mut dv = Dv::start().await;
    let track = [("Prefer", "odata.track-changes")];
    let victim = dv.first_case("statecode eq 0").await["incidentid"]
        .as_str()
        .unwrap()
        .to_owned();
    let changed = dv.first_case("statecode eq 2").await["incidentid"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = dv
        .send(Method::GET, "incidents?$select=title", None, &track)
        .await;
    assert_eq!(
        response.headers()["preference-applied"],
        "odata.track-changes"
    );
    let body: Value = response.json().await.unwrap();
    let delta = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    assert!(delta.contains("$deltatoken="), "{delta}");

    let created = dv.new_case("Created after the baseline").await;
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({changed})"),
            Some(json!({"title": "Changed"})),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        dv.send(Method::DELETE, &format!("incidents({victim})"), None, &[])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );

    let (status, body) = dv.get(&delta, &track).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("/$delta"));
    let rows = body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{body}");
    assert_eq!(rows[0]["incidentid"], json!(created));
    assert_eq!(rows[1]["title"], "Changed");
    assert_eq!(rows[2]["id"], json!(victim));
    assert_eq!(rows[2]["reason"], "deleted");
    assert!(rows[2]["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("#incidents/$deletedEntity"));
    let next = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    let (_, body) = dv.get(&next, &track).await;
    assert!(body["value"].as_array().unwrap().is_empty());

    // Not allowed with track-changes, tables without tracking, expired tokens.
    let (status, body) = dv
        .get("incidents?$select=title&$filter=statecode eq 0", &track)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "The \"$filter\" query parameter isn't supported when Change Tracking is enabled."
    );
    let (status, body) = dv.get("leads?$select=fullname", &track).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("isn't enabled for change tracking"));
    dv.sandbox.handle.advance_clock(time::Duration::days(91));
    dv.token = token_for(&dv.http, &dv.sandbox, &dv.org).await;
    let (status, body) = dv.get(&next, &track).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "Version stamp associated with the client has expired. Please perform a full sync."
    );
}

// api/microsoft.md §F.6 with §F.5 (pages inside a tracked request end with a deltaLink)
#[tokio::test]
async fn dataverse_change_tracking_pages_until_a_delta_link() {
    let dv = Dv::start().await;
    let prefer = [("Prefer", "odata.track-changes,odata.maxpagesize=4")];
    let (_, mut page) = dv.get("incidents?$select=title", &prefer).await;
    let mut count = 0;
    loop {
        count += page["value"].as_array().unwrap().len();
        if let Some(delta) = page["@odata.deltaLink"].as_str() {
            assert!(delta.contains("$deltatoken="));
            break;
        }
        let next = page["@odata.nextLink"]
            .as_str()
            .expect("nextLink or deltaLink")
            .to_owned();
        page = dv.get(&next, &prefer).await.1;
    }
    assert_eq!(
        count,
        dv.sandbox
            .handle
            .dataverse(|d| d.rows_of("incident").count())
    );
}

// api/microsoft.md §F.8 Notes (annotation) entity, size limit
#[tokio::test]
async fn dataverse_notes_with_attachments_and_the_size_limit() {
    let dv = Dv::start().await;
    let case = dv.new_case("Case with notes").await;
    let (_, org) = dv.get("organizations?$select=maxuploadfilesize", &[]).await;
    assert_eq!(org["value"][0]["maxuploadfilesize"], 5_242_880);
    let bind = format!("/incidents({case})");
    let response = dv
        .send(Method::POST, "annotations", Some(json!({"subject": "Diagnostics", "notetext": "Log attached", "filename": "log.txt",
            "mimetype": "text/plain", "documentbody": "SGVsbG8gd29ybGQ=", "objectid_incident@odata.bind": bind})), &[("Prefer", "return=representation")])
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let note: Value = response.json().await.unwrap();
    assert_eq!(
        (note["filesize"].clone(), note["isdocument"].clone()),
        (json!(11), json!(true))
    );
    assert_eq!(note["_objectid_value"], json!(case));
    let id = note["annotationid"].as_str().unwrap();
    let text = dv
        .send(
            Method::GET,
            &format!("annotations({id})/documentbody/$value"),
            None,
            &[],
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(text, "SGVsbG8gd29ybGQ=");

    let big = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 4_000_000]);
    let (status, body) = dv.post("annotations", json!({"subject": "Too big", "documentbody": big, "filename": "big.bin", "objectid_incident@odata.bind": bind})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "0x80044a02")
    );
    let (status, body) = dv
        .get(
            &format!(
                "incidents({case})?$select=title&$expand=Incident_Annotation($select=subject)"
            ),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Incident_Annotation"].as_array().unwrap().len(), 1);
}

// api/microsoft.md §F.8 Chunked upload and chunked download
#[tokio::test]
async fn dataverse_block_upload_of_12_mb_and_download_back() {
    let dv = Dv::start().await;
    dv.sandbox
        .handle
        .dataverse(|d| d.set_max_upload_file_size(131_072_000));
    let case = dv.new_case("Case with a big file").await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let file: Vec<u8> = (0..12 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let annotation_id = "5b1c2d3e-0000-4000-8000-00000000b10c";
    let target = json!({"annotationid": annotation_id, "subject": "Big file", "filename": "12mb.bin", "mimetype": "application/octet-stream",
        "objectid_incident@odata.bind": format!("/incidents({case})"), "@odata.type": "Microsoft.Dynamics.CRM.annotation"});
    let (status, body) = dv
        .post(
            "InitializeAnnotationBlocksUpload",
            json!({"Target": {"subject": "no id"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = dv
        .post(
            "InitializeAnnotationBlocksUpload",
            json!({"Target": target}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["FileContinuationToken"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for (i, chunk) in file.chunks(4 * 1024 * 1024).enumerate() {
        let block_id = b64.encode(format!("block-{i:06}"));
        let response = dv
            .send(Method::POST, "UploadBlock", Some(json!({"BlockId": block_id, "BlockData": b64.encode(chunk), "FileContinuationToken": token})), &[])
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        ids.push(block_id);
    }
    let (status, _) = dv.post("UploadBlock", json!({"BlockId": b64.encode("x"), "BlockData": "AA==", "FileContinuationToken": token})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "block ids must all have the same length"
    );
    let (status, body) = dv
        .post(
            "CommitAnnotationBlocksUpload",
            json!({"Target": target, "BlockList": ids, "FileContinuationToken": token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["AnnotationId"], annotation_id);
    assert_eq!(body["FileSizeInBytes"], file.len());

    let (status, body) = dv
        .post("InitializeAnnotationBlocksDownload", json!({"Target": {"annotationid": annotation_id, "@odata.type": "Microsoft.Dynamics.CRM.annotation"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["FileSizeInBytes"].clone(), body["FileName"].clone()),
        (json!(file.len()), json!("12mb.bin"))
    );
    let token = body["FileContinuationToken"].as_str().unwrap().to_owned();
    let mut downloaded = Vec::new();
    while downloaded.len() < file.len() {
        let (_, block) = dv.post("DownloadBlock", json!({"Offset": downloaded.len(), "BlockLength": 4_194_304, "FileContinuationToken": token})).await;
        downloaded.extend(b64.decode(block["Data"].as_str().unwrap()).unwrap());
    }
    assert!(downloaded == file, "the downloaded file differs");
    let (_, note) = dv
        .get(
            &format!("annotations({annotation_id})?$select=filesize,isdocument,_objectid_value"),
            &[],
        )
        .await;
    assert_eq!(
        (note["filesize"].clone(), note["_objectid_value"].clone()),
        (json!(file.len()), json!(case))
    );
}

// api/microsoft.md §F.9 State transitions
#[tokio::test]
async fn dataverse_close_incident_and_statecode_rules() {
    let dv = Dv::start().await;
    let case = dv.new_case("To resolve").await;
    let resolution = |status: i64, id: &str| json!({"IncidentResolution": {"subject": "Resolved by sync", "incidentid@odata.bind": format!("/incidents({id})")}, "Status": status});
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({case})"),
            Some(json!({"statecode": 1, "statuscode": 5})),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("CloseIncidentRequest"));
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({case})"),
            Some(json!({"statecode": 0, "statuscode": 6})),
            &[],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "6 belongs to Cancelled"
    );
    let (status, _) = dv.post("CloseIncident", resolution(6, &case)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = dv.post("CloseIncident", resolution(-1, &case)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, row) = dv
        .get(
            &format!("incidents({case})?$select=statecode,statuscode"),
            &[],
        )
        .await;
    assert_eq!(
        (row["statecode"].clone(), row["statuscode"].clone()),
        (json!(1), json!(5))
    );
    let (_, resolutions) = dv
        .get(
            &format!("incidentresolutions?$filter=_incidentid_value eq {case}"),
            &[],
        )
        .await;
    assert_eq!(resolutions["value"].as_array().unwrap().len(), 1);

    let other = dv.new_case("Information provided").await;
    assert_eq!(
        dv.post("CloseIncident", resolution(1000, &other)).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, row) = dv
        .get(&format!("incidents({other})?$select=statuscode"), &[])
        .await;
    assert_eq!(row["statuscode"], 1000);

    // Cancel and reopen are PATCHes.
    let third = dv.new_case("To cancel").await;
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({third})"),
            Some(json!({"statecode": 2, "statuscode": 6})),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({third})"),
            Some(json!({"statecode": 0, "statuscode": 1})),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Tasks complete with a plain PATCH.
    let (_, tasks) = dv
        .get("tasks?$select=subject&$filter=statecode eq 0&$top=1", &[])
        .await;
    let task = tasks["value"][0]["activityid"].as_str().unwrap();
    let response = dv
        .send(
            Method::PATCH,
            &format!("tasks({task})"),
            Some(json!({"statecode": 1, "statuscode": 5})),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

impl Dv {
    /// Creates a row of `set` with `body`; returns its id (from `OData-EntityId`).
    async fn create(&self, set: &str, body: Value) -> String {
        let response = self.send(Method::POST, set, Some(body), &[]).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{set}");
        let location = response.headers()["odata-entityid"].to_str().unwrap();
        location
            .rsplit('(')
            .next()
            .unwrap()
            .trim_end_matches(')')
            .to_owned()
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.send(Method::PATCH, path, Some(body), &[]).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn state_of(&self, path: &str) -> (Value, Value) {
        let (_, row) = self
            .get(&format!("{path}?$select=statecode,statuscode"), &[])
            .await;
        (row["statecode"].clone(), row["statuscode"].clone())
    }

    fn rows(&self, table: &str) -> usize {
        self.sandbox.handle.dataverse(|d| d.rows_of(table).count())
    }
}

fn opportunity_close(status: i64, id: &str) -> Value {
    json!({"OpportunityClose": {"subject": "Closed by sync", "opportunityid@odata.bind": format!("/opportunities({id})")}, "Status": status})
}

// api/microsoft.md §F.9 State transitions (Win/lose an opportunity) and §I item 21
#[tokio::test]
async fn dataverse_win_and_lose_opportunity_are_actions_with_an_opportunity_close() {
    let dv = Dv::start().await;
    let won = dv.create("opportunities", json!({"name": "Renewal"})).await;
    assert_eq!(
        dv.state_of(&format!("opportunities({won})")).await,
        (json!(0), json!(1))
    );
    // Won and Lost cannot be set by an update; the message names the action to use.
    for (state, status, request) in [
        (1, 3, "WinOpportunityRequest"),
        (2, 5, "LoseOpportunityRequest"),
    ] {
        let (code_, body) = dv
            .patch(
                &format!("opportunities({won})"),
                json!({"statecode": state, "statuscode": status}),
            )
            .await;
        assert_eq!(code_, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&body), "0x80040203");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(request),
            "{body}"
        );
    }
    // Status must be a reason of Won (3), or -1 for the default.
    let (status, body) = dv.post("WinOpportunity", opportunity_close(5, &won)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = dv.post("WinOpportunity", opportunity_close(3, &won)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        dv.state_of(&format!("opportunities({won})")).await,
        (json!(1), json!(3))
    );
    let closes: Vec<(String, i64, i64)> = dv.sandbox.handle.dataverse(|d| {
        d.rows_of("opportunityclose")
            .filter(|r| r.lookups["opportunityid"].id == won)
            .map(|r| {
                (
                    r.values["subject"].as_str().unwrap().to_owned(),
                    r.values["statecode"].as_i64().unwrap(),
                    r.values["statuscode"].as_i64().unwrap(),
                )
            })
            .collect()
    });
    assert_eq!(
        closes,
        [("Closed by sync".to_owned(), 1, 2)],
        "a completed close"
    );
    // A closed opportunity is not closed again until it is reopened by an update.
    let (status, body) = dv.post("LoseOpportunity", opportunity_close(4, &won)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "0x80040203")
    );
    let (status, body) = dv
        .patch(
            &format!("opportunities({won})"),
            json!({"statecode": 0, "statuscode": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = dv.post("LoseOpportunity", opportunity_close(5, &won)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        dv.state_of(&format!("opportunities({won})")).await,
        (json!(2), json!(5)),
        "Lost / Out-Sold"
    );
    let lost = dv.create("opportunities", json!({"name": "Pilot"})).await;
    let (status, _) = dv
        .post("LoseOpportunity", opportunity_close(-1, &lost))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        dv.state_of(&format!("opportunities({lost})")).await,
        (json!(2), json!(4)),
        "-1 is Lost's default reason, Canceled"
    );
    assert_eq!(dv.rows("opportunityclose"), 3);
    // The actions are unbound POSTs that need the close activity.
    let (status, _) = dv
        .post(
            "WinOpportunity",
            json!({"Status": 3, "OpportunityClose": {"subject": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response = dv.send(Method::GET, "WinOpportunity", None, &[]).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

// api/microsoft.md §F.9: closing an opportunity needs Write on it and the shared activity
// Create privilege (opportunityclose is an activity table).
#[tokio::test]
async fn dataverse_win_opportunity_needs_the_activity_create_privilege() {
    let dv = Dv::start().await;
    let id = dv.create("opportunities", json!({"name": "Renewal"})).await;
    dv.sandbox.handle.dataverse(|d| {
        for table in ["task", "incidentresolution"] {
            d.revoke_privilege(CLIENT_ID, table, Privilege::Create);
        }
    });
    let (status, body) = dv.post("WinOpportunity", opportunity_close(3, &id)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "0x80040220"),
        "{body}"
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("for entity 'opportunityclose'"));
    assert_eq!(
        dv.state_of(&format!("opportunities({id})")).await,
        (json!(0), json!(1)),
        "nothing changed"
    );
    dv.sandbox
        .handle
        .dataverse(|d| d.grant_privilege(CLIENT_ID, "task", Privilege::Create));
    let (status, body) = dv.post("WinOpportunity", opportunity_close(3, &id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

// api/microsoft.md §F.9 State transitions (Qualify a lead) and §I item 21
#[tokio::test]
async fn dataverse_qualify_lead_is_a_bound_action_and_disqualify_a_patch() {
    let dv = Dv::start().await;
    let lead = dv
        .create(
            "leads",
            json!({"subject": "50 seats", "firstname": "Ada", "lastname": "Lovelace", "companyname": "Analytical Engines"}),
        )
        .await;
    let qualify = json!({"CreateAccount": false, "CreateContact": false, "CreateOpportunity": false, "Status": 3});
    // Without the namespace a bound action does not resolve.
    let (status, body) = dv
        .post(&format!("leads({lead})/QualifyLead"), qualify.clone())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Request message has unresolved parameters"));
    let counts = |dv: &Dv| {
        (
            dv.rows("account"),
            dv.rows("contact"),
            dv.rows("opportunity"),
        )
    };
    let before = counts(&dv);
    let (status, body) = dv
        .post(
            &format!("leads({lead})/Microsoft.Dynamics.CRM.QualifyLead"),
            json!({"CreateAccount": false, "CreateContact": false, "CreateOpportunity": false, "Status": 4}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "4 is a Disqualified reason: {body}"
    );
    let (status, body) = dv
        .post(
            &format!("leads({lead})/Microsoft.Dynamics.CRM.QualifyLead"),
            qualify.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], json!([]), "nothing created: {body}");
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)"));
    assert_eq!(counts(&dv), before);
    assert_eq!(
        dv.state_of(&format!("leads({lead})")).await,
        (json!(1), json!(3))
    );
    let (status, _) = dv
        .post(
            &format!("leads({lead})/Microsoft.Dynamics.CRM.QualifyLead"),
            qualify.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "already qualified");

    // Asked for, the records are created from the lead and returned.
    let other = dv
        .create(
            "leads",
            json!({"subject": "Pilot", "firstname": "Alan", "lastname": "Turing"}),
        )
        .await;
    dv.sandbox.handle.dataverse(|d| {
        for table in ["contact", "opportunity"] {
            d.grant_privilege(CLIENT_ID, table, Privilege::Create);
        }
    });
    let (status, body) = dv
        .post(
            &format!("leads({other})/Microsoft.Dynamics.CRM.QualifyLead"),
            json!({"CreateAccount": false, "CreateContact": true, "CreateOpportunity": true, "Status": -1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created = body["value"].as_array().unwrap();
    assert_eq!(created.len(), 2, "{body}");
    assert_eq!(created[0]["@odata.type"], "#Microsoft.Dynamics.CRM.contact");
    let opportunity = created[1]["opportunityid"].as_str().unwrap();
    let (_, row) = dv
        .get(
            &format!("opportunities({opportunity})?$select=name,_customerid_value"),
            &[],
        )
        .await;
    assert_eq!(
        (row["name"].clone(), row["_customerid_value"].clone()),
        (json!("Pilot"), created[0]["contactid"].clone())
    );

    // Disqualify is a PATCH of statecode 2 with one of its reasons; reactivate is one too.
    let third = dv.create("leads", json!({"lastname": "Hopper"})).await;
    let (status, _) = dv
        .patch(
            &format!("leads({third})"),
            json!({"statecode": 2, "statuscode": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "3 belongs to Qualified");
    let (status, body) = dv
        .patch(
            &format!("leads({third})"),
            json!({"statecode": 2, "statuscode": 6}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        dv.state_of(&format!("leads({third})")).await,
        (json!(2), json!(6))
    );
    let (status, _) = dv
        .patch(
            &format!("leads({third})"),
            json!({"statecode": 0, "statuscode": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

// api/microsoft.md §F.12 Service protection limits
#[tokio::test]
async fn dataverse_service_protection_answers_429_with_retry_after() {
    let dv = Dv::start().await;
    dv.sandbox.handle.dataverse(|d| d.limits.max_requests = 2);
    let mut throttled = None;
    for _ in 0..5 {
        let response = dv.send(Method::GET, "WhoAmI", None, &[]).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            throttled = Some((retry, response.json::<Value>().await.unwrap()));
            break;
        }
    }
    let (retry, body) = throttled.expect("throttled within five requests");
    assert!(retry >= 1);
    assert_eq!(code(&body), "0x80072322");
    let again = dv.send(Method::GET, "WhoAmI", None, &[]).await;
    let retry_again: u64 = again.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry_again > retry,
        "Retry-After grows while the client keeps pushing"
    );
    // The window slides.
    dv.sandbox
        .handle
        .advance_clock(time::Duration::seconds(301));
    assert_eq!(dv.get("WhoAmI", &[]).await.0, StatusCode::OK);

    dv.sandbox.handle.dataverse(|d| {
        d.limits.max_requests = 6000;
        d.limits.max_execution_ms = 10;
        d.limits.execution_ms_per_request = 20;
    });
    let _ = dv.get("WhoAmI", &[]).await;
    let (status, body) = dv.get("WhoAmI", &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "0x80072321")
    );

    dv.sandbox
        .handle
        .advance_clock(time::Duration::seconds(301));
    dv.sandbox.handle.dataverse(|d| {
        d.limits.max_execution_ms = 1_200_000;
        d.limits.max_concurrent = 0;
    });
    let (status, body) = dv.get("WhoAmI", &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "0x80072326")
    );
}

// api/microsoft.md §F.6: changes made "from the other side" (`DataverseState::mutate`) go
// through the Web API's own write paths, so a change-tracking delta lists exactly them.
#[tokio::test]
async fn dataverse_mutations_show_in_the_change_tracking_delta() {
    use crate::generator::{MutationSystem, RecordChange};
    use std::collections::BTreeSet;
    let dv = Dv::start().await;
    let track = [("Prefer", "odata.track-changes")];
    let (status, body) = dv.get("incidents?$select=title", &track).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let delta = body["@odata.deltaLink"].as_str().unwrap().to_owned();

    dv.sandbox.handle.advance_clock(time::Duration::minutes(5));
    let now = dv.sandbox.handle.world().now();
    let mutations = dv.sandbox.handle.dataverse(|d| d.mutate(7, 20, now));
    assert_eq!(mutations.len(), 20);
    assert!(mutations
        .iter()
        .all(|m| m.system == MutationSystem::Dataverse));
    let kinds: BTreeSet<&str> = mutations
        .iter()
        .map(|m| match m.change {
            RecordChange::Created => "created",
            RecordChange::Edited { .. } => "edited",
            RecordChange::StatusChanged { .. } => "status",
            RecordChange::NoteAdded { .. } => "note",
            RecordChange::Commented { .. } => "comment",
            RecordChange::Deleted => "deleted",
        })
        .collect();
    for kind in ["created", "edited", "status", "note", "deleted"] {
        assert!(kinds.contains(kind), "no {kind} in {mutations:#?}");
    }
    let deleted: BTreeSet<String> = mutations
        .iter()
        .filter(|m| m.table == "incident" && m.change == RecordChange::Deleted)
        .map(|m| m.id.clone())
        .collect();
    let changed: BTreeSet<String> = mutations
        .iter()
        .filter(|m| m.table == "incident" && !deleted.contains(&m.id))
        .map(|m| m.id.clone())
        .collect();

    let (status, body) = dv.get(&delta, &track).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = body["value"].as_array().unwrap();
    let seen_changed: BTreeSet<String> = rows
        .iter()
        .filter(|r| r["reason"] != "deleted")
        .map(|r| r["incidentid"].as_str().unwrap().to_owned())
        .collect();
    let seen_deleted: BTreeSet<String> = rows
        .iter()
        .filter(|r| r["reason"] == "deleted")
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen_changed, changed, "{body}");
    assert_eq!(seen_deleted, deleted, "{body}");
    assert_eq!(rows.len(), changed.len() + deleted.len());

    // Each changed case carries the new modifiedon and a new ETag; notes are readable.
    let stamp = crate::generator::dataverse::iso(now);
    for id in &changed {
        let (status, row) = dv
            .get(&format!("incidents({id})?$select=modifiedon"), &[])
            .await;
        assert_eq!(status, StatusCode::OK, "{row}");
        assert_eq!(row["modifiedon"], json!(stamp));
        let version = dv
            .sandbox
            .handle
            .dataverse(|d| d.row("incident", id).unwrap().version);
        assert_eq!(row["@odata.etag"], json!(format!("W/\"{version}\"")));
    }
    for m in &mutations {
        if let RecordChange::NoteAdded { regarding } = &m.change {
            if deleted.contains(regarding) {
                continue;
            }
            let (status, note) = dv
                .get(
                    &format!("annotations({})?$select=subject,_objectid_value", m.id),
                    &[],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{note}");
            assert_eq!(note["_objectid_value"], json!(regarding));
        }
    }
    let next = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    let (_, body) = dv.get(&next, &track).await;
    assert!(body["value"].as_array().unwrap().is_empty(), "{body}");
}

// Same state + same seed → the same mutations; another seed → others.
#[tokio::test]
async fn dataverse_mutations_are_deterministic() {
    let a = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let b = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let now = a.handle.world().now();
    let first = a.handle.dataverse(|d| d.mutate(7, 20, now));
    let second = b.handle.dataverse(|d| d.mutate(7, 20, now));
    assert_eq!(first, second);
    let other = b.handle.dataverse(|d| d.mutate(8, 20, now));
    assert_ne!(first, other);
}

// The typed helpers: insert / update / delete / note, each as the Web API would do it.
#[tokio::test]
async fn dataverse_typed_row_helpers_write_like_the_web_api() {
    let dv = Dv::start().await;
    let now = dv.sandbox.handle.world().now();
    let mut fields = serde_json::Map::new();
    fields.insert("title".into(), json!("Helper case"));
    let id = dv
        .sandbox
        .handle
        .dataverse(|d| d.insert_row("incident", fields, now));
    let (status, row) = dv
        .get(
            &format!("incidents({id})?$select=title,statecode,statuscode,ticketnumber,createdon"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(row["statecode"], 0);
    assert_eq!(row["statuscode"], 1);
    assert!(row["ticketnumber"].as_str().unwrap().starts_with("CAS-"));
    let etag = row["@odata.etag"].clone();
    let mut fields = serde_json::Map::new();
    fields.insert("statecode".into(), json!(2));
    dv.sandbox
        .handle
        .dataverse(|d| d.update_row("incident", &id, fields, now));
    let (_, row) = dv
        .get(&format!("incidents({id})?$select=statuscode"), &[])
        .await;
    assert_eq!(row["statuscode"], 6, "default status of Cancelled");
    assert_ne!(row["@odata.etag"], etag);
    let note = dv.sandbox.handle.dataverse(|d| {
        d.add_note(
            "incident",
            &id,
            "Log",
            "See attached",
            Some(("log.txt", "text/plain", b"hello")),
            now,
        )
    });
    let (_, body) = dv
        .get(
            &format!("annotations({note})?$select=filename,filesize,isdocument"),
            &[],
        )
        .await;
    assert_eq!(body["filesize"], 5);
    assert_eq!(body["isdocument"], true);
    assert!(dv
        .sandbox
        .handle
        .dataverse(|d| d.delete_row("incident", &id, now)));
    let (status, _) = dv.get(&format!("annotations({note})"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// api/microsoft.md §F.8 (`annotationid` can be set on create), §F.10/§F.11 412 for a key that
// exists: `If-None-Match: *` upserts ("A record with matching key values already exists.") and
// a POST reusing a primary key (code 0x80040237 = -2147220937, "Cannot insert duplicate key" in
// Microsoft's troubleshooting guide; observed on the wire as 412 with this code and message).
#[tokio::test]
async fn dataverse_notes_created_under_a_chosen_id_exist_once() {
    let dv = Dv::start().await;
    let case = dv.new_case("Notes with chosen ids").await;
    let bind = format!("/incidents({case})");
    let chosen = "5b1c2d3e-0000-4000-8000-0000000000a1";
    let response = dv
        .send(
            Method::POST,
            "annotations",
            Some(json!({"annotationid": chosen, "subject": "First", "objectid_incident@odata.bind": bind})),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers()["odata-entityid"]
        .to_str()
        .unwrap()
        .ends_with(&format!("annotations({chosen})")));
    let (status, body) = dv
        .post(
            "annotations",
            json!({"annotationid": chosen, "subject": "Again", "objectid_incident@odata.bind": bind}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PRECONDITION_FAILED, "0x80040237")
    );
    assert_eq!(
        body["error"]["message"],
        "A record with matching key values already exists."
    );

    // PATCH + If-None-Match: * creates once, with the regarding record and the attachment.
    let upserted = "5b1c2d3e-0000-4000-8000-0000000000a2";
    let note = json!({"subject": "Upserted", "filename": "a.txt", "mimetype": "text/plain",
        "documentbody": "SGVsbG8=", "objectid_incident@odata.bind": bind});
    let response = dv
        .send(
            Method::PATCH,
            &format!("annotations({upserted})"),
            Some(note.clone()),
            &[("If-None-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = dv
        .send(
            Method::PATCH,
            &format!("annotations({upserted})"),
            Some(json!({"subject": "Overwritten?"})),
            &[("If-None-Match", "*")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "0x80040237");
    let (_, stored) = dv
        .get(
            &format!("annotations({upserted})?$select=subject,filesize,isdocument,objecttypecode,_objectid_value"),
            &[],
        )
        .await;
    assert_eq!(
        (
            stored["subject"].clone(),
            stored["filesize"].clone(),
            stored["isdocument"].clone(),
            stored["objecttypecode"].clone(),
            stored["_objectid_value"].clone()
        ),
        (
            json!("Upserted"),
            json!(5),
            json!(true),
            json!("incident"),
            json!(case)
        )
    );
    let (_, notes) = dv
        .get(
            &format!("annotations?$select=subject&$filter=_objectid_value eq {case}"),
            &[],
        )
        .await;
    assert_eq!(notes["value"].as_array().unwrap().len(), 2);

    // DELETE: 204, then 404 for the note that is gone (§F.11).
    let path = format!("annotations({upserted})");
    assert_eq!(
        dv.send(Method::DELETE, &path, None, &[]).await.status(),
        StatusCode::NO_CONTENT
    );
    let response = dv.send(Method::DELETE, &path, None, &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "0x80040217");
}

// api/microsoft.md §F.8 "An existing note's id updates that note": committing a block upload
// whose Target names an existing annotationid replaces that note's file instead of adding one.
#[tokio::test]
async fn dataverse_block_upload_to_an_existing_note_updates_it() {
    let dv = Dv::start().await;
    dv.sandbox
        .handle
        .set_dataverse_max_upload_file_size(131_072_000);
    let case = dv.new_case("Replaced file").await;
    let id = "5b1c2d3e-0000-4000-8000-0000000000b1";
    let bind = format!("/incidents({case})");
    let (status, _) = dv
        .post(
            "annotations",
            json!({"annotationid": id, "subject": "Old", "filename": "old.txt", "documentbody": "T2xk", "objectid_incident@odata.bind": bind}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let b64 = base64::engine::general_purpose::STANDARD;
    let target = json!({"annotationid": id, "subject": "New", "filename": "new.bin", "@odata.type": "Microsoft.Dynamics.CRM.annotation"});
    let (_, init) = dv
        .post(
            "InitializeAnnotationBlocksUpload",
            json!({"Target": target}),
        )
        .await;
    let token = init["FileContinuationToken"].as_str().unwrap().to_owned();
    let block = b64.encode("block-000001");
    let response = dv
        .send(Method::POST, "UploadBlock", Some(json!({"BlockId": block, "BlockData": b64.encode(vec![9u8; 5000]), "FileContinuationToken": token})), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) = dv
        .post(
            "CommitAnnotationBlocksUpload",
            json!({"Target": target, "BlockList": [block], "FileContinuationToken": token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["AnnotationId"], id);
    let (_, notes) = dv
        .get(
            &format!(
                "annotations?$select=subject,filename,filesize&$filter=_objectid_value eq {case}"
            ),
            &[],
        )
        .await;
    assert_eq!(
        notes["value"],
        json!([{"@odata.etag": notes["value"][0]["@odata.etag"], "annotationid": id, "subject": "New", "filename": "new.bin", "filesize": 5000}])
    );
}

// api/microsoft.md §F.8 (annotation `objecttypecode` is the regarded table's logical name, an
// Edm.String), §F.4 (unquoted date-time literals in `$filter`, `$orderby`), §F.5 (paging with
// `odata.maxpagesize` and nextLink): the notes of one table changed after a time.
#[tokio::test]
async fn dataverse_notes_filter_by_regarded_table_and_modifiedon() {
    let mut dv = Dv::start().await;
    let seeded = dv.sandbox.handle.dataverse(|d| {
        d.rows_of("annotation")
            .filter(|n| n.values.get("objecttypecode") == Some(&json!("incident")))
            .count()
    });
    let case = dv.new_case("Recent notes").await;
    let bind = format!("/incidents({case})");
    dv.sandbox.handle.advance_clock(time::Duration::hours(2));
    // Two hours on, the first token has expired.
    dv.token = token_for(&dv.http, &dv.sandbox, &dv.org).await;
    let cursor = dv.sandbox.handle.world().now() - time::Duration::minutes(5);
    let cursor = crate::generator::dataverse::iso(cursor);
    for n in 0..3 {
        let (status, _) = dv
            .post(
                "annotations",
                json!({"subject": format!("Recent {n}"), "objectid_incident@odata.bind": bind}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        dv.sandbox.handle.advance_clock(time::Duration::seconds(1));
    }
    let task = dv
        .send(Method::POST, "tasks", Some(json!({"subject": "Call"})), &[])
        .await
        .headers()["odata-entityid"]
        .to_str()
        .unwrap()
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    let (status, _) = dv
        .post(
            "annotations",
            json!({"subject": "On a task", "objectid_task@odata.bind": format!("/tasks({task})")}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let query = |filter: String| {
        format!("annotations?$select=subject,modifiedon,_objectid_value&$filter={filter}&$orderby=modifiedon asc")
    };
    let (status, all) = dv
        .get(&query("objecttypecode eq 'incident'".into()), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["value"].as_array().unwrap().len(), seeded + 3);
    let mut subjects = Vec::new();
    let mut next = query(format!(
        "objecttypecode eq 'incident' and modifiedon gt {cursor}"
    ));
    let mut pages = 0;
    loop {
        let (status, page) = dv.get(&next, &[("Prefer", "odata.maxpagesize=2")]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for note in page["value"].as_array().unwrap() {
            assert_eq!(note["_objectid_value"], json!(case));
            subjects.push(note["subject"].as_str().unwrap().to_owned());
        }
        match page["@odata.nextLink"].as_str() {
            Some(link) => next = link.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(subjects, ["Recent 0", "Recent 1", "Recent 2"]);
    let (_, tasks) = dv.get(&query("objecttypecode eq 'task'".into()), &[]).await;
    assert_eq!(tasks["value"].as_array().unwrap().len(), 1);
    assert_eq!(tasks["value"][0]["subject"], "On a task");
}

/// A multi-select choice ("Choices"): `Virtual` / `MultiSelectPicklistType` metadata with its
/// options on the `MultiSelectPicklistAttributeMetadata` cast; values written and read as a
/// string of option values separated by commas; formatted values are the labels separated by
/// "; " (Microsoft Learn, "Choices columns").
#[tokio::test]
async fn dataverse_multi_select_choices_are_comma_separated_values() {
    let dv = Dv::start().await;
    let (status, body) = dv
        .get(
            "EntityDefinitions(LogicalName='incident')/Attributes(LogicalName='cw_regions')",
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["AttributeType"], "Virtual");
    assert_eq!(
        body["AttributeTypeName"]["Value"],
        "MultiSelectPicklistType"
    );
    let (status, body) = dv
        .get(
            "EntityDefinitions(LogicalName='incident')/Attributes/Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)",
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let columns = body["value"].as_array().unwrap();
    assert_eq!(columns.len(), 1, "{body}");
    assert_eq!(columns[0]["LogicalName"], "cw_regions");
    assert_eq!(
        columns[0]["OptionSet"]["Options"].as_array().unwrap().len(),
        4
    );

    let id = dv.new_case("Regions").await;
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({id})"),
            Some(json!({"cw_regions": "100000000, 100000002"})),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, row) = dv
        .get(
            &format!("incidents({id})?$select=cw_regions"),
            &[(
                "Prefer",
                "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"",
            )],
        )
        .await;
    assert_eq!(row["cw_regions"], "100000000,100000002");
    assert_eq!(
        row["cw_regions@OData.Community.Display.V1.FormattedValue"],
        "EMEA; APAC"
    );

    // An option the column does not have, or a value that is not a list of numbers.
    for bad in [json!("100000000,7"), json!(100000000), json!("EMEA")] {
        let response = dv
            .send(
                Method::PATCH,
                &format!("incidents({id})"),
                Some(json!({"cw_regions": bad})),
                &[],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    // Cleared with null.
    let response = dv
        .send(
            Method::PATCH,
            &format!("incidents({id})"),
            Some(json!({"cw_regions": null})),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, row) = dv
        .get(&format!("incidents({id})?$select=cw_regions"), &[])
        .await;
    assert!(row["cw_regions"].is_null(), "{row}");
}

// --- Auditing ---------------------------------------------------------------------------------

/// Microsoft Learn, "Configure auditing" (organization settings; "Detect which tables / columns
/// are enabled for auditing": `IsAuditEnabled` is a BooleanManagedProperty), and the admin
/// guide "Manage Dataverse auditing" (tables that cannot be audited).
#[tokio::test]
async fn dataverse_audit_settings_show_on_the_organization_tables_and_columns() {
    let dv = Dv::start().await;
    let (status, body) = dv.get("organizations?$select=isauditenabled", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A fresh environment does not audit.
    assert_eq!(body["value"][0]["isauditenabled"], json!(false), "{body}");
    dv.sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let (_, body) = dv.get("organizations?$select=isauditenabled", &[]).await;
    assert_eq!(body["value"][0]["isauditenabled"], json!(true), "{body}");

    let (status, body) = dv
        .get(
            "EntityDefinitions?$select=LogicalName,IsAuditEnabled&$filter=IsAuditEnabled/Value eq true and IsPrivate eq false",
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let audited: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["LogicalName"].as_str().unwrap())
        .collect();
    assert!(
        audited.contains(&"incident") && audited.contains(&"opportunity"),
        "{audited:?}"
    );
    assert!(!audited.contains(&"annotation"), "{audited:?}");
    let incident = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["LogicalName"] == "incident")
        .unwrap();
    assert_eq!(
        incident["IsAuditEnabled"],
        json!({"Value": true, "CanBeChanged": true, "ManagedPropertyLogicalName": "canmodifyauditsettings"})
    );
    let (_, note) = dv
        .get(
            "EntityDefinitions(LogicalName='annotation')?$select=IsAuditEnabled",
            &[],
        )
        .await;
    assert_eq!(
        (
            note["IsAuditEnabled"]["Value"].clone(),
            note["IsAuditEnabled"]["CanBeChanged"].clone()
        ),
        (json!(false), json!(false)),
        "{note}"
    );

    dv.sandbox
        .handle
        .dataverse(|d| d.set_column_auditing("incident", "description", false));
    let (status, body) = dv
        .get(
            "EntityDefinitions(LogicalName='incident')/Attributes?$select=LogicalName,IsAuditEnabled,ColumnNumber&$filter=IsAuditEnabled/Value eq true",
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let columns: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["LogicalName"].as_str().unwrap())
        .collect();
    assert!(columns.contains(&"title"), "{columns:?}");
    // The platform's stamps and the switched-off column are not audited.
    for not_audited in ["modifiedon", "versionnumber", "description"] {
        assert!(
            !columns.contains(&not_audited),
            "{not_audited} in {columns:?}"
        );
    }
    let numbers: Vec<i64> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ColumnNumber"].as_i64().expect("a ColumnNumber"))
        .collect();
    let mut unique = numbers.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), numbers.len(), "{numbers:?}");
}

/// The column numbers of `table`'s columns (`AttributeMetadata.ColumnNumber`).
async fn column_numbers(dv: &Dv, table: &str) -> std::collections::HashMap<String, i64> {
    let (_, body) = dv
        .get(
            &format!(
                "EntityDefinitions(LogicalName='{table}')/Attributes?$select=LogicalName,ColumnNumber"
            ),
            &[],
        )
        .await;
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["LogicalName"].as_str().unwrap().to_owned(),
                a["ColumnNumber"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn patch(dv: &Dv, path: &str, body: Value) {
    let response = dv
        .send(Method::PATCH, path, Some(body), &[("If-Match", "*")])
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
}

/// Microsoft Learn, "Retrieve the history of audited data changes" (Audit table, audit
/// EntityType definition: no `changedata`; `attributemask` is a CSV of `ColumnNumber`s) and
/// the admin guide ("Audit logs for updates are created when a new value is different from
/// the old value of a column").
#[tokio::test]
async fn dataverse_audits_record_changed_audited_columns_with_their_column_numbers() {
    let dv = Dv::start().await;
    let id = dv.new_case("Audited case").await;
    // Auditing off for the environment: nothing is written.
    patch(
        &dv,
        &format!("incidents({id})"),
        json!({"title": "Before auditing"}),
    )
    .await;
    assert!(dv
        .sandbox
        .handle
        .dataverse(|d| d.audit_records("incident", &id).is_empty()));

    dv.sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    dv.sandbox.handle.advance_clock(time::Duration::seconds(10));
    patch(
        &dv,
        &format!("incidents({id})"),
        json!({"title": "Renamed"}),
    )
    .await;
    dv.sandbox.handle.advance_clock(time::Duration::seconds(10));
    // The same value again changes nothing, so no audit row.
    patch(
        &dv,
        &format!("incidents({id})"),
        json!({"title": "Renamed"}),
    )
    .await;
    patch(
        &dv,
        &format!("incidents({id})"),
        json!({"title": "Renamed again", "prioritycode": 1}),
    )
    .await;
    // A column whose auditing is off is left out; a change of it alone writes no row.
    dv.sandbox
        .handle
        .dataverse(|d| d.set_column_auditing("incident", "description", false));
    patch(
        &dv,
        &format!("incidents({id})"),
        json!({"description": "Quiet"}),
    )
    .await;
    // A table whose auditing is off writes nothing either.
    let (_, tasks) = dv.get("tasks?$select=activityid&$top=1", &[]).await;
    let task = tasks["value"][0]["activityid"].as_str().unwrap().to_owned();
    patch(
        &dv,
        &format!("tasks({task})"),
        json!({"subject": "Not audited"}),
    )
    .await;
    assert!(dv
        .sandbox
        .handle
        .dataverse(|d| d.audit_records("task", &task).is_empty()));

    let numbers = column_numbers(&dv, "incident").await;
    let filter = format!("_objectid_value eq {id} and operation eq 2");
    let (status, body) = dv
        .get(
            &format!(
                "audits?$select=createdon,attributemask,operation,action&$filter={filter}&$orderby=createdon desc"
            ),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#audits(createdon,attributemask,operation,action)"));
    let rows = body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{body}");
    let mask = |row: &Value| -> Vec<i64> {
        let mut numbers: Vec<i64> = row["attributemask"]
            .as_str()
            .unwrap()
            .split(',')
            .map(|n| n.parse().unwrap())
            .collect();
        numbers.sort_unstable();
        numbers
    };
    let mut both = vec![numbers["title"], numbers["prioritycode"]];
    both.sort_unstable();
    // Newest first: title and priority, then title alone.
    assert_eq!(mask(&rows[0]), both, "{body}");
    assert_eq!(mask(&rows[1]), vec![numbers["title"]], "{body}");
    assert_eq!(
        (rows[0]["operation"].clone(), rows[0]["action"].clone()),
        (json!(2), json!(2))
    );
    assert!(rows[0]["createdon"].as_str().unwrap() > rows[1]["createdon"].as_str().unwrap());
    assert!(
        rows[0]["auditid"].is_string(),
        "the key comes with any $select"
    );

    // The Web API's audit type has no changedata.
    let (status, body) = dv.get("audits?$select=changedata", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'changedata' on type 'Microsoft.Dynamics.CRM.audit'"));
    // Lookups carry their table and formatted values on request, never a navigation property.
    let (_, body) = dv
        .get(
            &format!("audits?$select=_objectid_value,_userid_value,objecttypecode,createdon&$filter=_objectid_value eq {id}"),
            &[("Prefer", "odata.include-annotations=\"*\"")],
        )
        .await;
    let first = &body["value"][0];
    assert_eq!(
        first["_objectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"],
        "incident"
    );
    assert_eq!(
        first["objecttypecode@OData.Community.Display.V1.FormattedValue"],
        "Case"
    );
    assert!(first["_userid_value@OData.Community.Display.V1.FormattedValue"].is_string());
    assert!(first
        .as_object()
        .unwrap()
        .keys()
        .all(|k| !k.ends_with("associatednavigationproperty")));
    assert_eq!(body["@Microsoft.Dynamics.CRM.totalrecordcount"], json!(-1));

    // A resolution through CloseIncident is audited as the Close action.
    let (status, _) = dv
        .post(
            "CloseIncident",
            json!({"IncidentResolution": {"subject": "Done", "incidentid@odata.bind": format!("/incidents({id})")}, "Status": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = dv
        .get(
            &format!("audits?$select=action,attributemask&$filter=_objectid_value eq {id}&$orderby=createdon desc&$top=1"),
            &[],
        )
        .await;
    assert_eq!(body["value"][0]["action"], json!(16), "{body}");
    let mut closed = mask(&body["value"][0]);
    let mut expected = vec![numbers["statecode"], numbers["statuscode"]];
    closed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(closed, expected);
}

/// api/microsoft.md §F.5 paging (maxpagesize, next links followed unchanged) on `audits`.
#[tokio::test]
async fn dataverse_audits_page_newest_first_to_the_end() {
    let dv = Dv::start().await;
    dv.sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let id = dv.new_case("Many edits").await;
    for n in 0..7 {
        dv.sandbox.handle.advance_clock(time::Duration::seconds(1));
        patch(
            &dv,
            &format!("incidents({id})"),
            json!({"title": format!("Edit {n}")}),
        )
        .await;
    }
    let page = [("Prefer", "odata.maxpagesize=3")];
    let mut link = format!(
        "audits?$select=createdon&$filter=_objectid_value eq {id} and operation eq 2&$orderby=createdon desc"
    );
    let mut seen: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let (status, body) = dv.get(&link, &page).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        seen.extend(
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["createdon"].as_str().unwrap().to_owned()),
        );
        match body["@odata.nextLink"].as_str() {
            Some(next) => link = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, no repeats");
}

/// "Retrieve the history of audited data changes" › RetrieveRecordChangeHistory (Web API):
/// `AuditDetailCollection` with `MoreRecords`, `PagingCookie`, `TotalRecordCount` and
/// `AttributeAuditDetail` values whose `OldValue`/`NewValue` are entities, and no `AuditRecord`
/// ("no data about who made the change and when it was made is available").
#[tokio::test]
async fn dataverse_record_change_history_pages_details_without_audit_records() {
    let dv = Dv::start().await;
    dv.sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let id = dv.new_case("First title").await;
    for title in ["Second title", "Third title", "Fourth title"] {
        dv.sandbox.handle.advance_clock(time::Duration::seconds(1));
        patch(&dv, &format!("incidents({id})"), json!({"title": title})).await;
    }
    let call = |page: u32| {
        format!(
            "RetrieveRecordChangeHistory(Target=@target,PagingInfo=@paginginfo)?@target={{ '@odata.id':'incidents({id})'}}&@paginginfo={{\"PageNumber\": {page}, \"Count\": 2, \"ReturnTotalRecordCount\": true}}"
        )
    };
    let (status, body) = dv.get(&call(1), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#Microsoft.Dynamics.CRM.RetrieveRecordChangeHistoryResponse"));
    let collection = &body["AuditDetailCollection"];
    // The create and three updates.
    assert_eq!(collection["TotalRecordCount"], json!(4), "{body}");
    assert_eq!(collection["MoreRecords"], json!(true));
    assert!(collection["PagingCookie"]
        .as_str()
        .unwrap()
        .starts_with("<cookie page=\"1\">"));
    let details = collection["AuditDetails"].as_array().unwrap();
    assert_eq!(details.len(), 2);
    let newest = &details[0];
    assert_eq!(
        newest["@odata.type"],
        "#Microsoft.Dynamics.CRM.AttributeAuditDetail"
    );
    assert_eq!(
        newest["OldValue"],
        json!({"@odata.type": "#Microsoft.Dynamics.CRM.incident", "title": "Third title"})
    );
    assert_eq!(
        newest["NewValue"],
        json!({"@odata.type": "#Microsoft.Dynamics.CRM.incident", "title": "Fourth title"})
    );
    assert_eq!(
        newest["DeletedAttributes"],
        json!({"Count": 0, "Keys": [], "Values": []})
    );
    assert!(newest.get("AuditRecord").is_none(), "{newest}");
    assert_eq!(details[1]["NewValue"]["title"], "Third title");

    let (_, body) = dv.get(&call(2), &[]).await;
    let collection = &body["AuditDetailCollection"];
    assert_eq!(collection["MoreRecords"], json!(false), "{body}");
    assert_eq!(collection["AuditDetails"].as_array().unwrap().len(), 2);
    assert_eq!(
        collection["AuditDetails"][0]["NewValue"]["title"],
        "Second title"
    );
    // Without ReturnTotalRecordCount the count is -1.
    let (_, body) = dv
        .get(
            &format!("RetrieveRecordChangeHistory(Target=@target)?@target={{'@odata.id':'incidents({id})'}}"),
            &[],
        )
        .await;
    assert_eq!(
        body["AuditDetailCollection"]["TotalRecordCount"],
        json!(-1),
        "{body}"
    );
    assert_eq!(
        body["AuditDetailCollection"]["AuditDetails"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

/// "Retrieve the history of audited data changes": the audit table needs prvReadAuditSummary;
/// the change-history messages need prvReadRecordAuditHistory and prvReadAuditSummary. A
/// missing one is the §F.11 privilege error.
#[tokio::test]
async fn dataverse_audit_history_needs_the_audit_privileges() {
    let dv = Dv::start().await;
    let id = dv.new_case("Private history").await;
    let me = dv
        .sandbox
        .handle
        .dataverse(|d| d.application_users[CLIENT_ID].systemuser_id.clone());
    let (_, body) = dv
        .get(
            &format!("systemusers({me})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"),
            &[],
        )
        .await;
    let names: Vec<&str> = body["RolePrivileges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PrivilegeName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"prvReadAuditSummary") && names.contains(&"prvReadRecordAuditHistory"));

    let history = format!(
        "RetrieveRecordChangeHistory(Target=@target)?@target={{'@odata.id':'incidents({id})'}}"
    );
    dv.sandbox
        .handle
        .dataverse(|d| d.revoke_misc_privilege(CLIENT_ID, super::READ_RECORD_AUDIT_HISTORY));
    let (status, body) = dv.get(&history, &[]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "0x80040220"),
        "{body}"
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("is missing prvReadRecordAuditHistory privilege"));
    // The audit table itself needs only the summary privilege.
    let (status, _) = dv
        .get(&format!("audits?$filter=_objectid_value eq {id}"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);

    dv.sandbox
        .handle
        .dataverse(|d| d.revoke_misc_privilege(CLIENT_ID, super::READ_AUDIT_SUMMARY));
    let (status, body) = dv
        .get(&format!("audits?$filter=_objectid_value eq {id}"), &[])
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "0x80040220"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Principal user (Id="), "{message}");
    assert!(
        message.contains("is missing prvReadAuditSummary privilege"),
        "{message}"
    );
    // The audit table is read-only.
    let response = dv.send(Method::POST, "audits", Some(json!({})), &[]).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
