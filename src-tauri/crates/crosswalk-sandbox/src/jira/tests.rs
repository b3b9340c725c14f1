//! Conformance tests for the Jira site, written from api/atlassian.md (each names its section).

use super::{ADMIN_API_TOKEN, ADMIN_EMAIL, VIEWER_API_TOKEN, VIEWER_EMAIL};
use crate::{Sandbox, SandboxOptions};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};

struct Site {
    sandbox: Sandbox,
    http: Client,
    base: String,
}

impl Site {
    async fn start() -> Site {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let base = sandbox.urls.jira.as_str().trim_end_matches('/').to_owned();
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Site {
            sandbox,
            http,
            base,
        }
    }

    fn admin(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(ADMIN_EMAIL, Some(ADMIN_API_TOKEN))
    }

    fn viewer(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(VIEWER_EMAIL, Some(VIEWER_API_TOKEN))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.admin(reqwest::Method::GET, path).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self.admin(method, path).json(&body).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, summary: &str) -> String {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/rest/api/3/issue",
                json!({"fields": {"project": {"key": "SUP"}, "issuetype": {"id": "10004"}, "summary": summary}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["key"].as_str().unwrap().to_owned()
    }
}

fn adf(text: &str) -> Value {
    json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":text}]}]})
}

// api/atlassian.md §A.1 Basic auth, §A.5 what 401 / 403 look like.
#[tokio::test]
async fn basic_auth_401_and_myself() {
    let site = Site::start().await;
    let anonymous = site
        .http
        .get(format!("{}/rest/api/3/myself", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    assert_eq!(
        anonymous.text().await.unwrap(),
        "Client must be authenticated to access this resource."
    );
    let wrong = site
        .http
        .get(format!("{}/rest/api/3/myself", site.base))
        .basic_auth(ADMIN_EMAIL, Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.headers()["x-seraph-loginreason"],
        "AUTHENTICATED_FAILED"
    );
    let (status, me) = site.get("/rest/api/3/myself").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["emailAddress"], ADMIN_EMAIL);
    assert_eq!(me["timeZone"], "Australia/Brisbane");
    // A revoked token looks like any other 401 (§A.1).
    site.sandbox.handle.jira(|j| j.revoke_token(ADMIN_EMAIL));
    let (status, _) = site.get("/rest/api/3/myself").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

// api/atlassian.md §B.1 Discovery calls (serverInfo, project/search, fields, createmeta, workspace).
#[tokio::test]
async fn discovery_calls() {
    let site = Site::start().await;
    let (_, info) = site.get("/rest/api/3/serverInfo").await;
    assert_eq!(info["deploymentType"], "Cloud");
    assert!(info["serverTime"].as_str().unwrap().ends_with("+0000"));
    let (_, projects) = site.get("/rest/api/3/project/search?maxResults=1").await;
    assert_eq!(projects["values"].as_array().unwrap().len(), 1);
    assert_eq!(projects["isLast"], false);
    assert_eq!(projects["total"], 2);
    let (_, fields) = site.get("/rest/api/3/field").await;
    let kinds: Vec<&str> = fields
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["schema"]["type"].as_str())
        .collect();
    for kind in [
        "string", "number", "date", "datetime", "array", "option", "priority", "user", "version",
    ] {
        assert!(kinds.contains(&kind), "{kind}");
    }
    let (_, types) = site
        .get("/rest/api/3/issue/createmeta/SUP/issuetypes")
        .await;
    assert_eq!(types["issueTypes"].as_array().unwrap().len(), 2);
    let (status, too_many) = site
        .get("/rest/api/3/issue/createmeta/SUP/issuetypes?maxResults=500")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        too_many["errorMessages"][0],
        "Parameter 'maxResults' must not exceed the limit '200'"
    );
    let (_, meta) = site
        .get("/rest/api/3/issue/createmeta/SUP/issuetypes/10005")
        .await;
    let severity = meta["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fieldId"] == "customfield_10014")
        .unwrap();
    assert_eq!(severity["required"], true);
    assert_eq!(severity["allowedValues"].as_array().unwrap().len(), 4);
    let (_, cats) = site.get("/rest/api/3/statuscategory").await;
    let done = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "done")
        .unwrap();
    assert_eq!(done["id"], 3);
    let (_, ws) = site.get("/rest/servicedeskapi/assets/workspace").await;
    assert_eq!(
        ws["values"][0]["workspaceId"],
        crate::generator::jira::WORKSPACE_ID
    );
}

// api/atlassian.md §B.2 Create issue, §E Error bodies.
#[tokio::test]
async fn create_issue_and_field_errors() {
    let site = Site::start().await;
    let (status, created) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/issue",
            json!({"fields": {
                "project": {"key": "SUP"}, "issuetype": {"id": "10005"}, "summary": "Mail down",
                "description": adf("Nobody gets mail"), "labels": ["synced"], "priority": {"name": "High"},
                "customfield_10014": {"value": "Sev 2"}, "customfield_10015": [{"value": "EMEA"}],
                "customfield_10012": "2025-01-31", "customfield_10013": "2025-01-31T13:45:00.000+0000",
                "customfield_10010": "CAS-1", "components": [{"name": "Email"}]
            }, "properties": [{"key": "crosswalk", "value": {"rev": 1}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap();
    assert!(created["id"].is_string());
    let (_, issue) = site
        .get(&format!(
            "/rest/api/3/issue/{key}?expand=renderedFields,names&properties=crosswalk"
        ))
        .await;
    assert_eq!(issue["fields"]["customfield_10014"]["value"], "Sev 2");
    assert_eq!(issue["fields"]["priority"]["name"], "High");
    assert_eq!(issue["fields"]["status"]["statusCategory"]["key"], "new");
    assert_eq!(issue["fields"]["components"][0]["name"], "Email");
    assert_eq!(
        issue["renderedFields"]["description"],
        "<p>Nobody gets mail</p>"
    );
    assert_eq!(issue["properties"]["crosswalk"]["rev"], 1);
    assert!(issue["fields"]["updated"]
        .as_str()
        .unwrap()
        .ends_with("+0000"));

    // Missing summary, required custom field, unknown field, description not ADF, bad option.
    let (status, errors) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/issue",
            json!({"fields": {"project": {"key": "SUP"}, "issuetype": {"id": "10005"},
                "customfield_99999": "x", "description": "plain", "customfield_10015": [{"value": "Mars"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(errors["errorMessages"], json!([]));
    assert_eq!(
        errors["errors"]["summary"],
        "You must specify a summary of the issue."
    );
    assert_eq!(
        errors["errors"]["customfield_99999"],
        "Field 'customfield_99999' cannot be set. It is not on the appropriate screen, or unknown."
    );
    assert!(errors["errors"]["description"]
        .as_str()
        .unwrap()
        .contains("Atlassian Document"));
    assert_eq!(
        errors["errors"]["customfield_10015"],
        "Option value 'Mars' is not valid"
    );
    assert_eq!(
        errors["errors"]["customfield_10014"],
        "Severity is required."
    );
    let (status, errors) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/issue",
            json!({"fields": {"project": {"key": "NOPE"}, "summary": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors["errors"]["project"],
        "Specify a valid project ID or key"
    );
    // A read-only account cannot create (403).
    let r = site
        .viewer(reqwest::Method::POST, "/rest/api/3/issue")
        .json(&json!({"fields": {"project": {"key": "SUP"}, "issuetype": {"id": "10004"}, "summary": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // §A.5: invisible or missing issues are 404.
    let (status, body) = site.get("/rest/api/3/issue/SUP-9999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["errorMessages"][0],
        "Issue does not exist or you do not have permission to see it."
    );
}

// api/atlassian.md §B.3 Edit issue, §B.6 changelog and `updated >=` polling in the caller's zone.
#[tokio::test]
async fn edit_moves_updated_and_jql_sees_it() {
    let site = Site::start().await;
    let key = site.create("Printer jam").await;
    site.sandbox
        .handle
        .advance_clock(time::Duration::minutes(10));
    let before_edit = site.sandbox.handle.world().now();
    let (status, _) = site
        .send(
            reqwest::Method::PUT,
            &format!("/rest/api/3/issue/{key}"),
            json!({"fields": {"summary": "Printer jam on floor 3"}, "update": {"labels": [{"add": "triaged"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, errors) = site
        .send(
            reqwest::Method::PUT,
            &format!("/rest/api/3/issue/{key}"),
            json!({"fields": {"customfield_10011": 3}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(errors["errors"]["customfield_10011"]
        .as_str()
        .unwrap()
        .contains("cannot be set"));
    let (_, log) = site
        .get(&format!("/rest/api/3/issue/{key}/changelog"))
        .await;
    let items = &log["values"].as_array().unwrap().last().unwrap()["items"];
    assert!(items
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["field"] == "summary" && i["toString"] == "Printer jam on floor 3"));
    assert_eq!(
        log["values"][0]["author"]["accountId"],
        crate::generator::jira::ADMIN_ACCOUNT_ID
    );

    // The literal is read in the admin's zone (UTC+10, §B.6): format the cursor in that zone.
    let local = (before_edit - time::Duration::minutes(1))
        .to_offset(time::UtcOffset::from_hms(10, 0, 0).unwrap());
    let literal = format!(
        "{:04}/{:02}/{:02} {:02}:{:02}",
        local.year(),
        local.month() as u8,
        local.day(),
        local.hour(),
        local.minute()
    );
    let jql = format!("project = SUP AND updated >= \"{literal}\" ORDER BY updated ASC");
    let (_, found) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/search/jql",
            json!({"jql": jql, "fields": ["updated", "summary"]}),
        )
        .await;
    let keys: Vec<&str> = found["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec![key.as_str()], "{found}");
    // The same instant written as UTC (the classic bug) is 10 hours early and finds more.
    let utc = before_edit - time::Duration::minutes(1);
    let wrong = format!(
        "project = SUP AND updated >= \"{:04}/{:02}/{:02} {:02}:{:02}\"",
        utc.year(),
        utc.month() as u8,
        utc.day(),
        utc.hour(),
        utc.minute()
    );
    let (_, more) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/search/jql",
            json!({"jql": wrong}),
        )
        .await;
    assert!(more["issues"].as_array().unwrap().len() >= keys.len());
    // Relative periods are zone-safe.
    let (_, relative) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/search/jql",
            json!({"jql": "project = SUP AND updated >= -2m"}),
        )
        .await;
    assert_eq!(relative["issues"].as_array().unwrap().len(), 1);
}

// api/atlassian.md §B.5 Issue search: nextPageToken paging, fields default, errors, 410 for the old API.
#[tokio::test]
async fn jql_paging_to_the_end() {
    let site = Site::start().await;
    let (_, count) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/search/approximate-count",
            json!({"jql": "project in (SUP, ENG)"}),
        )
        .await;
    let total = count["count"].as_u64().unwrap() as usize;
    assert_eq!(total, 10);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"jql": "project in (SUP, ENG) ORDER BY key ASC", "maxResults": 3});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let (status, page) = site
            .send(reqwest::Method::POST, "/rest/api/3/search/jql", body)
            .await;
        assert_eq!(status, StatusCode::OK);
        for issue in page["issues"].as_array().unwrap() {
            assert!(issue.get("fields").is_none(), "default fields is id only");
            seen.push(issue["id"].as_str().unwrap().to_owned());
        }
        assert!(page.get("total").is_none());
        if page["isLast"] == true {
            assert!(page.get("nextPageToken").is_none());
            break;
        }
        token = page["nextPageToken"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), total);
    // GET form with fields and key in (...).
    let r = site
        .admin(reqwest::Method::GET, "/rest/api/3/search/jql")
        .query(&[
            ("jql", "key in (SUP-1, ENG-2)"),
            ("fields", "summary,status"),
        ])
        .send()
        .await
        .unwrap();
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["issues"].as_array().unwrap().len(), 2);
    assert!(page["issues"][0]["fields"]["summary"].is_string());
    let bad = [
        (json!({"jql": "order by key desc"}), "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."),
        (json!({"jql": "project = SUP", "nextPageToken": "garbage"}), "Invalid format of nextPageToken"),
        (json!({"jql": "project = NOPE"}), "The value 'NOPE' does not exist for the field 'project'."),
    ];
    for (body, message) in bad {
        let (status, answer) = site
            .send(reqwest::Method::POST, "/rest/api/3/search/jql", body)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["errorMessages"][0], message);
    }
    let (status, _) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/search/jql",
            json!({"jql": "project = SUP", "startAt": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, gone) = site.get("/rest/api/3/search?jql=project%3DSUP").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(gone["errorMessages"][0]
        .as_str()
        .unwrap()
        .contains("/rest/api/3/search/jql"));
}

// api/atlassian.md §B.7 Transitions and status categories.
#[tokio::test]
async fn transitions_and_status_categories() {
    let site = Site::start().await;
    let key = site.create("Reset my password").await;
    let (_, list) = site
        .get(&format!(
            "/rest/api/3/issue/{key}/transitions?expand=transitions.fields"
        ))
        .await;
    let resolve = list["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["to"]["name"] == "Resolved")
        .unwrap()
        .clone();
    assert_eq!(resolve["to"]["statusCategory"]["key"], "done");
    assert!(resolve["fields"]["resolution"].is_object());
    let (status, bad) = site
        .send(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{key}/transitions"),
            json!({"transition": {"id": "41"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad["errorMessages"][0],
        "Transition id '41' is not valid for this issue."
    );
    let (status, _) = site
        .send(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{key}/transitions"),
            json!({"transition": {"id": resolve["id"]}, "fields": {"resolution": {"name": "Duplicate"}}, "update": {"comment": [{"add": {"body": adf("Closing")}}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, issue) = site
        .get(&format!(
            "/rest/api/3/issue/{key}?fields=status,resolution,resolutiondate,comment"
        ))
        .await;
    assert_eq!(issue["fields"]["status"]["name"], "Resolved");
    assert_eq!(issue["fields"]["resolution"]["name"], "Duplicate");
    assert!(issue["fields"]["resolutiondate"].is_string());
    assert_eq!(issue["fields"]["comment"]["total"], 1);
    let (_, cancelled) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/search/jql",
            json!({"jql": "statusCategory = done AND key = ".to_owned() + &key}),
        )
        .await;
    assert_eq!(cancelled["issues"].as_array().unwrap().len(), 1);
    // Without permission the list is empty, not 403.
    let r = site
        .viewer(
            reqwest::Method::GET,
            &format!("/rest/api/3/issue/{key}/transitions"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["transitions"], json!([]));
}

// api/atlassian.md §B.8 Comments (ADF) + comment properties, §B.9 ADF minimum.
#[tokio::test]
async fn adf_comments() {
    let site = Site::start().await;
    let key = site.create("VPN flaps").await;
    let before = site.sandbox.handle.jira(|j| j.issue(&key).unwrap().updated);
    site.sandbox
        .handle
        .advance_clock(time::Duration::seconds(90));
    let (status, comment) = site
        .send(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{key}/comment"),
            json!({"body": adf("Synced from Dynamics"), "properties": [{"key": "crosswalk", "value": {"origin": "crosswalk"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        comment["body"]["content"][0]["content"][0]["text"],
        "Synced from Dynamics"
    );
    assert!(site.sandbox.handle.jira(|j| j.issue(&key).unwrap().updated) > before);
    let id = comment["id"].as_str().unwrap();
    let (_, prop) = site
        .get(&format!("/rest/api/3/comment/{id}/properties/crosswalk"))
        .await;
    assert_eq!(prop["value"]["origin"], "crosswalk");
    let (status, bad) = site
        .send(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{key}/comment"),
            json!({"body": adf("")}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, _) = site
        .send(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{key}/comment"),
            json!({"body": "plain text"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, updated) = site
        .send(
            reqwest::Method::PUT,
            &format!("/rest/api/3/issue/{key}/comment/{id}"),
            json!({"body": adf("Edited")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        updated["body"]["content"][0]["content"][0]["text"],
        "Edited"
    );
    let (_, list) = site
        .get(&format!(
            "/rest/api/3/issue/{key}/comment?expand=properties"
        ))
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["comments"][0]["properties"][0]["key"], "crosswalk");
    let r = site
        .admin(
            reqwest::Method::DELETE,
            &format!("/rest/api/3/issue/{key}/comment/{id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = site
        .get(&format!("/rest/api/3/issue/{key}/comment/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// api/atlassian.md §B.10 Attachments.
#[tokio::test]
async fn attachments_need_no_check_and_respect_the_limit() {
    let site = Site::start().await;
    let key = site.create("Screenshot attached").await;
    let path = format!("/rest/api/3/issue/{key}/attachments");
    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"hello world".to_vec())
                .file_name("hello.txt")
                .mime_str("text/plain")
                .unwrap(),
        )
    };
    let r = site
        .admin(reqwest::Method::POST, &path)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "XSRF check without X-Atlassian-Token"
    );
    let (_, meta) = site.get("/rest/api/3/attachment/meta").await;
    assert_eq!(meta["enabled"], true);
    let r = site
        .admin(reqwest::Method::POST, &path)
        .header("X-Atlassian-Token", "no-check")
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = r.json().await.unwrap();
    let attachment = &list[0];
    assert_eq!(attachment["filename"], "hello.txt");
    assert_eq!(attachment["size"], 11);
    let id = attachment["id"].as_str().unwrap();
    let r = site
        .admin(
            reqwest::Method::GET,
            &format!("/rest/api/3/attachment/content/{id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let media = site.http.get(location).send().await.unwrap();
    assert_eq!(media.bytes().await.unwrap().as_ref(), b"hello world");
    let r = site
        .admin(
            reqwest::Method::GET,
            &format!("/rest/api/3/attachment/content/{id}?redirect=false"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    site.sandbox.handle.jira(|j| j.attachment_upload_limit = 5);
    let r = site
        .admin(reqwest::Method::POST, &path)
        .header("X-Atlassian-Token", "no-check")
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = site
        .admin(
            reqwest::Method::DELETE,
            &format!("/rest/api/3/attachment/{id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = site.get(&format!("/rest/api/3/attachment/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// api/atlassian.md §B.11 Remote issue links (idempotent with globalId), §B.12 properties.
#[tokio::test]
async fn remote_links_upsert_by_global_id_and_properties() {
    let site = Site::start().await;
    let key = site.create("Linked to a case").await;
    let path = format!("/rest/api/3/issue/{key}/remotelink");
    let link = |title: &str| json!({"globalId": "system=https://contoso.crm.dynamics.com&id=CAS-1", "relationship": "synced with", "object": {"url": "https://contoso.crm.dynamics.com/case/1", "title": title}});
    let (status, first) = site.send(reqwest::Method::POST, &path, link("CAS-1")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(first["id"].is_u64());
    let (status, second) = site
        .send(reqwest::Method::POST, &path, link("CAS-1 (renamed)"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["id"], second["id"]);
    let (_, all) = site.get(&path).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["object"]["title"], "CAS-1 (renamed)");
    let r = site
        .admin(reqwest::Method::GET, &path)
        .query(&[(
            "globalId",
            "system=https://contoso.crm.dynamics.com&id=CAS-1",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["id"], first["id"]);
    let (status, missing) = site
        .send(
            reqwest::Method::POST,
            &path,
            json!({"object": {"url": "https://x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(missing["errors"]["title"], "'title' is required.");
    // Issue properties: 201 then 200, read back.
    let prop = format!("/rest/api/3/issue/{key}/properties/crosswalk.link");
    let r = site
        .admin(reqwest::Method::PUT, &prop)
        .json(&json!({"record": "CAS-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = site
        .admin(reqwest::Method::PUT, &prop)
        .json(&json!({"record": "CAS-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, value) = site.get(&prop).await;
    assert_eq!(
        value,
        json!({"key": "crosswalk.link", "value": {"record": "CAS-2"}})
    );
}

// api/atlassian.md §B.13 Users by email.
#[tokio::test]
async fn user_search_by_email() {
    let site = Site::start().await;
    let (_, found) = site
        .get("/rest/api/3/user/search?query=viewer@contoso.com")
        .await;
    assert_eq!(found[0]["displayName"], "Viewer Agent");
    let (status, _) = site.get("/rest/api/3/user/search").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let r = site
        .viewer(reqwest::Method::GET, "/rest/api/3/user/search?query=admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));
}

// api/atlassian.md §C Rate limiting: 429 with Retry-After, X-RateLimit-*, RateLimit-Reason.
#[tokio::test]
async fn rate_limit_answers_429() {
    let site = Site::start().await;
    site.sandbox
        .handle
        .jira(|j| j.rate_limit = Some(super::RateLimit::per_minute(2, 7)));
    for _ in 0..2 {
        assert_eq!(site.get("/rest/api/3/myself").await.0, StatusCode::OK);
    }
    let r = site
        .admin(reqwest::Method::GET, "/rest/api/3/myself")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(r.headers()["ratelimit-reason"], "jira-burst-based");
    assert!(r.headers().contains_key("x-ratelimit-reset"));
    site.sandbox
        .handle
        .advance_clock(time::Duration::seconds(61));
    assert_eq!(site.get("/rest/api/3/myself").await.0, StatusCode::OK);
}

/// `updated >= "<now - 1 min>"` written in the admin's zone (UTC+10, §B.6).
fn updated_since(at: time::OffsetDateTime) -> String {
    let local =
        (at - time::Duration::minutes(1)).to_offset(time::UtcOffset::from_hms(10, 0, 0).unwrap());
    format!(
        "updated >= \"{:04}/{:02}/{:02} {:02}:{:02}\" ORDER BY key ASC",
        local.year(),
        local.month() as u8,
        local.day(),
        local.hour(),
        local.minute()
    )
}

// §B.3/§B.6/§B.7: changes made "from the other side" (`JiraState::mutate`) move `updated`,
// land in the changelog / comments, and `updated >=` polling finds exactly those issues.
#[tokio::test]
async fn jira_mutations_are_found_by_updated_jql() {
    use crate::generator::{MutationSystem, RecordChange};
    use std::collections::BTreeSet;
    let site = Site::start().await;
    site.sandbox
        .handle
        .advance_clock(time::Duration::minutes(10));
    let now = site.sandbox.handle.world().now();
    let mutations = site.sandbox.handle.jira(|j| j.mutate(7, 20, now));
    assert_eq!(mutations.len(), 20, "{mutations:#?}");
    assert!(mutations.iter().all(|m| m.system == MutationSystem::Jira));
    for kind in ["created", "edited", "status", "comment"] {
        assert!(
            mutations.iter().any(|m| matches!(
                (&m.change, kind),
                (RecordChange::Created, "created")
                    | (RecordChange::Edited { .. }, "edited")
                    | (RecordChange::StatusChanged { .. }, "status")
                    | (RecordChange::Commented { .. }, "comment")
            )),
            "no {kind} in {mutations:#?}"
        );
    }
    let touched: BTreeSet<String> = mutations.iter().map(|m| m.id.clone()).collect();
    let (status, found) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/search/jql",
            json!({"jql": updated_since(now), "fields": ["updated"], "maxResults": 100}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let keys: BTreeSet<String> = found["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, touched, "{found}");

    // Edits and transitions are in the changelog, by the mutation's author, at `now`.
    let edited = mutations
        .iter()
        .find(|m| matches!(m.change, RecordChange::StatusChanged { .. }))
        .unwrap();
    let (_, log) = site
        .get(&format!("/rest/api/3/issue/{}/changelog", edited.id))
        .await;
    let last = log["values"].as_array().unwrap().last().unwrap().clone();
    assert!(last["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["field"] == "status"));
    let commented = mutations
        .iter()
        .find_map(|m| match &m.change {
            RecordChange::Commented { comment_id } => Some((m.id.clone(), comment_id.clone())),
            _ => None,
        })
        .unwrap();
    let (status, comment) = site
        .get(&format!(
            "/rest/api/3/issue/{}/comment/{}",
            commented.0, commented.1
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{comment}");
    assert_eq!(comment["body"]["type"], "doc");
}

// Same state + same seed → the same mutations.
#[tokio::test]
async fn jira_mutations_are_deterministic() {
    let a = Site::start().await;
    let b = Site::start().await;
    let now = a.sandbox.handle.world().now();
    let first = a.sandbox.handle.jira(|j| j.mutate(7, 20, now));
    let second = b.sandbox.handle.jira(|j| j.mutate(7, 20, now));
    assert_eq!(first, second);
    assert_ne!(first, b.sandbox.handle.jira(|j| j.mutate(8, 20, now)));
}

// The typed helpers behave like the endpoints: changelog + `updated`, ADF comments, transitions.
#[tokio::test]
async fn jira_typed_issue_helpers() {
    let site = Site::start().await;
    let key = site.create("Helper issue").await;
    site.sandbox
        .handle
        .advance_clock(time::Duration::minutes(3));
    let now = site.sandbox.handle.world().now();
    let author = crate::generator::jira::ADMIN_ACCOUNT_ID;
    site.sandbox.handle.jira(|j| {
        let mut fields = serde_json::Map::new();
        fields.insert("summary".into(), json!("Helper issue, edited"));
        j.update_issue_fields(&key, fields, author, now).unwrap();
        j.add_comment(&key, "Looked at it", author, now).unwrap();
        assert!(j
            .transition_issue(&key, "No such status", author, now)
            .is_err());
    });
    let (_, issue) = site
        .get(&format!("/rest/api/3/issue/{key}?fields=summary,updated"))
        .await;
    assert_eq!(issue["fields"]["summary"], "Helper issue, edited");
    let (_, log) = site
        .get(&format!("/rest/api/3/issue/{key}/changelog"))
        .await;
    assert!(log["values"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["field"] == "summary" && i["toString"] == "Helper issue, edited"));
    let (_, comments) = site.get(&format!("/rest/api/3/issue/{key}/comment")).await;
    assert_eq!(comments["comments"][0]["body"]["type"], "doc");
}

// api/atlassian.md §B.1 Statuses per project: `[{id, name, self, subtask, statuses:[StatusDetails]}]`.
#[tokio::test]
async fn project_statuses_per_issue_type() {
    let site = Site::start().await;
    let (status, types) = site.get("/rest/api/3/project/SUP/statuses").await;
    assert_eq!(status, StatusCode::OK);
    let types = types.as_array().unwrap();
    assert_eq!(
        types.iter().map(|t| t["id"].clone()).collect::<Vec<_>>(),
        [json!("10004"), json!("10005")]
    );
    for of_type in types {
        assert!(of_type["name"].is_string() && of_type["self"].is_string());
        assert_eq!(of_type["subtask"], false);
        let statuses = of_type["statuses"].as_array().unwrap();
        assert!(!statuses.is_empty());
        for s in statuses {
            assert!(s["id"].is_string() && s["name"].is_string());
            // §B.7: real category keys, integer category ids.
            assert!(["new", "indeterminate", "done"]
                .contains(&s["statusCategory"]["key"].as_str().unwrap()));
            assert!(s["statusCategory"]["id"].is_i64());
        }
    }
    // By id as well as by key; 404 for an unknown project.
    let (_, by_id) = site.get("/rest/api/3/project/10000/statuses").await;
    assert_eq!(by_id.as_array().unwrap().len(), types.len());
    let (status, _) = site.get("/rest/api/3/project/NOPE/statuses").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// api/atlassian.md §B.6: `historyMetadata` sent with an edit (§B.3) or a transition (§B.7) is
// kept on the changelog entry the change makes (`Changelog.historyMetadata` in the spec).
#[tokio::test]
async fn history_metadata_is_kept_on_changelog_entries() {
    let site = Site::start().await;
    let key = site.create("Echo suppression").await;
    let meta = json!({"type": "crosswalk:sync", "description": "From Dynamics",
        "generator": {"id": "crosswalk", "type": "crosswalk:connector"}, "extraData": {"record": "0a1b"}});
    let (status, _) = site
        .send(
            reqwest::Method::PUT,
            &format!("/rest/api/3/issue/{key}"),
            json!({"fields": {"summary": "Synced"}, "historyMetadata": meta}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, transitions) = site
        .get(&format!("/rest/api/3/issue/{key}/transitions"))
        .await;
    let id = transitions["transitions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = site
        .send(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{key}/transitions"),
            json!({"transition": {"id": id}, "historyMetadata": {"type": "crosswalk:status"}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    site.send(
        reqwest::Method::PUT,
        &format!("/rest/api/3/issue/{key}"),
        json!({"fields": {"summary": "By hand"}}),
    )
    .await;
    let (_, log) = site
        .get(&format!("/rest/api/3/issue/{key}/changelog"))
        .await;
    let values = log["values"].as_array().unwrap();
    let entry = |field: &str, to: &str| {
        values
            .iter()
            .find(|v| {
                v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["field"] == field && i["toString"] == to)
            })
            .unwrap_or_else(|| panic!("no entry {field} → {to}: {log}"))
    };
    assert_eq!(entry("summary", "Synced")["historyMetadata"], meta);
    assert!(entry("summary", "By hand").get("historyMetadata").is_none());
    let status_entry = values
        .iter()
        .find(|v| v["items"][0]["field"] == "status")
        .unwrap();
    assert_eq!(status_entry["historyMetadata"]["type"], "crosswalk:status");
    // The embedded changelog (§B.4 expand=changelog) shows it as well.
    let (_, issue) = site
        .get(&format!(
            "/rest/api/3/issue/{key}?fields=summary&expand=changelog"
        ))
        .await;
    assert!(issue["changelog"]["histories"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["historyMetadata"] == meta));
}

// api/atlassian.md §B.2 `properties` on create, §B.5 `properties` (≤5) and `reconcileIssues`
// (≤50 ids) on /search/jql, §B.12 properties returned as an object of key → value.
#[tokio::test]
async fn search_returns_properties_and_reconciles_fresh_issues() {
    let site = Site::start().await;
    site.sandbox.handle.jira(|j| j.search_lag_secs = 300);
    let stamp = json!({"table": "incident", "record": "0a1b"});
    let (status, created) = site
        .send(
            reqwest::Method::POST,
            "/rest/api/3/issue",
            json!({"fields": {"project": {"key": "SUP"}, "issuetype": {"id": "10004"}, "summary": "Stamped"},
                "properties": [{"key": "com.crosswalk.link", "value": stamp}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    let search = |body: Value| site.send(reqwest::Method::POST, "/rest/api/3/search/jql", body);
    let jql = "project = SUP AND summary ~ \"Stamped\"";
    let (_, lagging) = search(json!({"jql": jql, "properties": ["com.crosswalk.link"]})).await;
    assert_eq!(
        lagging["issues"],
        json!([]),
        "fresh issues lag behind search"
    );
    // The spec types reconcileIssues as int64 ids.
    let (status, page) = search(
        json!({"jql": jql, "properties": ["com.crosswalk.link", "other"],
        "reconcileIssues": [id.parse::<u64>().unwrap()]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["issues"][0]["id"], id);
    assert_eq!(
        page["issues"][0]["properties"],
        json!({"com.crosswalk.link": stamp})
    );
    assert!(
        page["issues"][0].get("fields").is_none(),
        "fields still default to id"
    );
    let (status, body) =
        search(json!({"jql": jql, "properties": ["a", "b", "c", "d", "e", "f"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let many: Vec<u64> = (1..=51).collect();
    let (status, _) = search(json!({"jql": jql, "reconcileIssues": many})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

// api/atlassian.md §B.8 inline comment `properties` follow the comment property limits
// (key ≤ 255 characters, value ≤ 32768 characters of JSON).
#[tokio::test]
async fn inline_comment_properties_are_checked_like_property_writes() {
    let site = Site::start().await;
    let key = site.create("Marked comments").await;
    let path = format!("/rest/api/3/issue/{key}/comment");
    let (status, body) = site
        .send(
            reqwest::Method::POST,
            &path,
            json!({"body": adf("x"), "properties": [{"key": "k".repeat(256), "value": 1}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = site
        .send(
            reqwest::Method::POST,
            &path,
            json!({"body": adf("x"), "properties": [{"key": "big", "value": "v".repeat(40_000)}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, comment) = site
        .send(
            reqwest::Method::POST,
            &path,
            json!({"body": adf("x"), "properties": [{"key": "ok", "value": {"n": 1}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = comment["id"].as_str().unwrap();
    let (status, _) = site
        .get(&format!("/rest/api/3/comment/{id}/properties/ok"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        site.sandbox
            .handle
            .jira(|j| j.issue(&key).unwrap().comments.len()),
        1,
        "refused comments are not stored"
    );
}

// api/atlassian.md §B.10: `attachment/meta` reports the site's `uploadLimit` and an upload over
// it is refused with 413 (the limit is a site setting the handle can change).
#[tokio::test]
async fn attachment_upload_limit_is_configurable_and_enforced() {
    let site = Site::start().await;
    let key = site.create("Big files").await;
    site.sandbox
        .handle
        .set_jira_attachment_upload_limit(3_000_000);
    let (_, meta) = site.get("/rest/api/3/attachment/meta").await;
    assert_eq!(meta["uploadLimit"], 3_000_000);
    let upload = |bytes: Vec<u8>| {
        site.admin(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{key}/attachments"),
        )
        .header("X-Atlassian-Token", "no-check")
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("dump.bin"),
        ))
        .send()
    };
    assert_eq!(
        upload(vec![1; 3_000_000]).await.unwrap().status(),
        StatusCode::OK
    );
    let r = upload(vec![1; 3_000_001]).await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert!(body["errorMessages"][0]
        .as_str()
        .unwrap()
        .contains("3000000"));
    assert_eq!(
        site.sandbox
            .handle
            .jira(|j| j.issue(&key).unwrap().attachments.len()),
        1
    );
}

// api/atlassian.md §B.6 `POST /changelog/bulkfetch`: entries of the listed issues touching the
// listed fields, oldest first across issues, `nextPageToken` paging, 400 `{"errors":[…]}`.
#[tokio::test]
async fn changelog_bulkfetch_filters_by_field_sorts_by_date_and_pages() {
    let site = Site::start().await;
    let first = site.create("Bulk first").await;
    let second = site.create("Bulk second").await;
    let second_id = site.sandbox.handle.jira(|j| j.issue(&second).unwrap().id);
    let clock = |minutes| {
        site.sandbox
            .handle
            .advance_clock(time::Duration::minutes(minutes))
    };
    clock(1);
    let (status, _) = site
        .send(
            reqwest::Method::PUT,
            &format!("/rest/api/3/issue/{second}"),
            json!({"fields": {"summary": "Bulk second, renamed"}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    clock(1);
    site.send(
        reqwest::Method::PUT,
        &format!("/rest/api/3/issue/{first}"),
        json!({"fields": {"labels": ["vip"]}}),
    )
    .await;
    clock(1);
    let (status, _) = site
        .send(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{first}/transitions"),
            json!({"transition": {"id": "11"}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let fetch = |token: Option<&str>, max: u64| {
        let mut body = json!({
            "issueIdsOrKeys": [first.clone(), second_id.to_string()],
            "fieldIds": ["summary", "status"],
            "maxResults": max,
        });
        if let Some(token) = token {
            body["nextPageToken"] = json!(token);
        }
        site.send(
            reqwest::Method::POST,
            "/rest/api/3/changelog/bulkfetch",
            body,
        )
    };
    let (status, page) = fetch(None, 1000).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.get("nextPageToken").is_none(), "{page}");
    let logs = page["issueChangeLogs"].as_array().unwrap();
    // The older entry (second's summary) comes first; first's labels edit is left out.
    assert_eq!(logs.len(), 2, "{page}");
    assert_eq!(logs[0]["issueId"], second_id.to_string());
    let summary = &logs[0]["changeHistories"][0];
    assert!(summary["id"].is_string());
    assert_eq!(
        summary["author"]["accountId"],
        crate::generator::jira::ADMIN_ACCOUNT_ID
    );
    assert!(summary["created"].as_str().unwrap().ends_with("+0000"));
    assert_eq!(
        summary["items"],
        json!([{"field": "summary", "fieldtype": "jira", "fieldId": "summary",
            "from": null, "fromString": "Bulk second", "to": null, "toString": "Bulk second, renamed"}])
    );
    let moved = &logs[1]["changeHistories"];
    assert_eq!(moved.as_array().unwrap().len(), 1, "{page}");
    assert_eq!(moved[0]["items"][0]["fieldId"], "status");
    assert_eq!(moved[0]["items"][0]["from"], "1");
    assert_eq!(moved[0]["items"][0]["to"], "3");
    assert_eq!(moved[0]["items"][0]["toString"], "In Progress");

    // One entry a page: the token leads to the next one; the last page has none.
    let (_, one) = fetch(None, 1).await;
    let token = one["nextPageToken"]
        .as_str()
        .expect("a next page")
        .to_owned();
    assert_eq!(one["issueChangeLogs"][0]["issueId"], second_id.to_string());
    let (_, two) = fetch(Some(&token), 1).await;
    assert_eq!(two["issueChangeLogs"][0]["changeHistories"], *moved);
    assert!(two.get("nextPageToken").is_none(), "{two}");

    // Bad requests: the bulk endpoint's own error shape.
    let (status, body) = fetch(Some("not-a-token"), 1).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    let eleven: Vec<String> = (0..11).map(|i| format!("customfield_{i}")).collect();
    for body in [
        json!({"issueIdsOrKeys": [], "fieldIds": ["summary"]}),
        json!({"issueIdsOrKeys": [first], "fieldIds": eleven}),
    ] {
        let (status, answer) = site
            .send(
                reqwest::Method::POST,
                "/rest/api/3/changelog/bulkfetch",
                body,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["errors"][0]["message"].is_string(), "{answer}");
    }
}

/// Status ids the issue's transitions lead to.
async fn reachable(site: &Site, key: &str) -> Vec<String> {
    let (_, body) = site
        .get(&format!("/rest/api/3/issue/{key}/transitions"))
        .await;
    body["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"]["id"].as_str().unwrap().to_owned())
        .collect()
}

// A Jira admin adds a transition to the workflow: it is offered and taken at once.
#[tokio::test]
async fn a_workflow_transition_added_through_the_handle_is_available() {
    let site = Site::start().await;
    let key = site.create("Straight to closed").await;
    assert!(!reachable(&site, &key).await.contains(&"6".to_owned()));
    let id = site
        .sandbox
        .handle
        .jira(|j| j.add_workflow_transition(&key, "Close directly", &["1"], "6"))
        .unwrap();
    assert!(reachable(&site, &key).await.contains(&"6".to_owned()));
    let (status, _) = site
        .send(
            reqwest::Method::POST,
            &format!("/rest/api/3/issue/{key}/transitions"),
            json!({"transition": {"id": id}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, issue) = site
        .get(&format!("/rest/api/3/issue/{key}?fields=status"))
        .await;
    assert_eq!(issue["fields"]["status"]["id"], "6");
}
