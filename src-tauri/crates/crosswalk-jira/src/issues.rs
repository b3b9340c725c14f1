//! Issues (§B.2–§B.7): create, get, edit, transitions, changelog and JQL search.

use crate::models::{
    BulkChangelogPage, ChangelogEntry, CreatedIssue, Issue, Page, PageBean, SearchRequest,
    Transition,
};
use crate::{seg, with_query, Error, JiraClient, Result};
use crosswalk_http::{Method, RequestSpec};
use serde::Deserialize;
use serde_json::{json, Value};

impl JiraClient {
    /// Creates an issue in `project` (key or id) of `issue_type_id` with `fields` (an object of
    /// field id → value as createmeta describes; ADF for description and textarea fields).
    ///
    /// # Errors
    /// `Error::FieldErrors` for a 400 (missing required field, wrong value, field not on screen);
    /// `Error::PermissionDenied` without *Create issues*.
    pub async fn create_issue(
        &self,
        project: &str,
        issue_type_id: &str,
        fields: Value,
    ) -> Result<CreatedIssue> {
        self.create_issue_with_properties(project, issue_type_id, fields, &[])
            .await
    }

    /// Like [`JiraClient::create_issue`], and stamps issue `properties` (key → JSON value) in
    /// the same request (§B.2), so the issue never exists without them: a caller that crashes
    /// between creating and recording the issue can find it again by its property.
    ///
    /// # Errors
    /// As `create_issue`; `Error::FieldErrors` also for a property key over 255 characters or
    /// a value over 32768 characters of JSON (§B.12).
    pub async fn create_issue_with_properties(
        &self,
        project: &str,
        issue_type_id: &str,
        fields: Value,
        properties: &[(&str, Value)],
    ) -> Result<CreatedIssue> {
        let mut fields = match fields {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            other => {
                return Err(Error::FieldErrors {
                    route: "/rest/api/3/issue",
                    messages: vec![format!("fields must be a JSON object, not {other}")],
                    errors: Default::default(),
                })
            }
        };
        let project_ref = if project.bytes().all(|b| b.is_ascii_digit()) {
            json!({"id": project})
        } else {
            json!({"key": project})
        };
        fields.insert("project".into(), project_ref);
        fields.insert("issuetype".into(), json!({"id": issue_type_id}));
        let mut body = json!({ "fields": fields });
        if !properties.is_empty() {
            body["properties"] = entity_properties(properties);
        }
        let spec =
            RequestSpec::new(Method::POST, "/rest/api/3/issue", "/rest/api/3/issue").json(&body);
        Ok(self.write("/rest/api/3/issue", spec).await?.json()?)
    }

    /// One issue with the listed `fields` (all when empty) and optionally the recent changelog.
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` when it does not exist or the account cannot see it.
    pub async fn get_issue(
        &self,
        key_or_id: &str,
        fields: &[&str],
        expand_changelog: bool,
    ) -> Result<Issue> {
        let joined = fields.join(",");
        let mut pairs = Vec::new();
        if !fields.is_empty() {
            pairs.push(("fields", joined.as_str()));
        }
        if expand_changelog {
            pairs.push(("expand", "changelog"));
        }
        self.get(
            "/rest/api/3/issue/{key}",
            with_query(format!("/rest/api/3/issue/{}", seg(key_or_id)), &pairs),
        )
        .await
    }

    /// Sets `fields` (object of field id → value) on an issue. Status changes need `transition`.
    ///
    /// # Errors
    /// `Error::FieldErrors` for Jira's 400 `{"errors":{field: message}}`;
    /// `Error::PermissionDenied` without *Edit issues*; `NotFound`; 409 on a concurrent update.
    pub async fn edit_issue(&self, key_or_id: &str, fields: Value) -> Result<()> {
        let route = "/rest/api/3/issue/{key}";
        let spec = RequestSpec::new(
            Method::PUT,
            route,
            format!("/rest/api/3/issue/{}", seg(key_or_id)),
        )
        .json(&json!({"fields": fields}));
        self.write(route, spec).await?;
        Ok(())
    }

    /// Like [`JiraClient::edit_issue`], with `history` as the `historyMetadata` of the change
    /// (§B.6: `{type, description, actor, generator, cause, extraData}`). Jira keeps it on the
    /// changelog entry the edit makes, so a poller can recognise its own edits
    /// (`ChangelogEntry::history_metadata`) and not echo them back.
    ///
    /// # Errors
    /// As `edit_issue`.
    pub async fn edit_issue_with_history(
        &self,
        key_or_id: &str,
        fields: Value,
        history: Value,
    ) -> Result<()> {
        let route = "/rest/api/3/issue/{key}";
        let mut body = json!({ "fields": fields });
        if !history.is_null() {
            body["historyMetadata"] = history;
        }
        let spec = RequestSpec::new(
            Method::PUT,
            route,
            format!("/rest/api/3/issue/{}", seg(key_or_id)),
        )
        .json(&body);
        self.write(route, spec).await?;
        Ok(())
    }

    /// The transitions available on the issue now, with their target status and its category.
    /// Empty (not an error) when the account may not transition it (§B.7).
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown or invisible issue.
    pub async fn transitions(&self, key_or_id: &str) -> Result<Vec<Transition>> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            transitions: Vec<Transition>,
        }
        let answer: Answer = self
            .get(
                "/rest/api/3/issue/{key}/transitions",
                format!("/rest/api/3/issue/{}/transitions", seg(key_or_id)),
            )
            .await?;
        Ok(answer.transitions)
    }

    /// Performs transition `transition_id`, optionally setting screen `fields` (e.g. resolution).
    ///
    /// # Errors
    /// `Error::TransitionNotAvailable` when Jira refuses the transition itself (400 without
    /// field errors); `Error::FieldErrors` when it refuses a screen field;
    /// `Error::PermissionDenied` without *Transition issues*.
    pub async fn transition(
        &self,
        key_or_id: &str,
        transition_id: &str,
        fields: Option<Value>,
    ) -> Result<()> {
        let route = "/rest/api/3/issue/{key}/transitions";
        let mut body = json!({"transition": {"id": transition_id}});
        if let Some(fields) = fields {
            body["fields"] = fields;
        }
        let spec = RequestSpec::new(
            Method::POST,
            route,
            format!("/rest/api/3/issue/{}/transitions", seg(key_or_id)),
        )
        .json(&body);
        match self.write(route, spec).await {
            Err(Error::FieldErrors {
                messages, errors, ..
            }) if errors.is_empty() => Err(Error::TransitionNotAvailable {
                issue: key_or_id.to_owned(),
                transition: transition_id.to_owned(),
                detail: messages.join("; "),
            }),
            other => other.map(drop),
        }
    }

    /// One page of an issue's changelog, oldest first (max 100 a page).
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown or invisible issue.
    pub async fn changelog(
        &self,
        key_or_id: &str,
        start_at: u64,
        max_results: u32,
    ) -> Result<PageBean<ChangelogEntry>> {
        let (start, max) = (start_at.to_string(), max_results.to_string());
        self.get(
            "/rest/api/3/issue/{key}/changelog",
            with_query(
                format!("/rest/api/3/issue/{}/changelog", seg(key_or_id)),
                &[("startAt", &start), ("maxResults", &max)],
            ),
        )
        .await
    }

    /// One page of `POST /rest/api/3/changelog/bulkfetch` (§B.6): the changelogs of up to 1000
    /// issues, oldest entry first, only entries touching `field_ids` (up to 10) when any are
    /// given. Pass the previous page's `next_page_token` until it is `None`. The cheapest way to
    /// learn when a few fields last changed: one request however long the issue's history.
    ///
    /// # Errors
    /// `Error::InvalidArgument` for no issue, more than 1000 issues or more than 10 field ids
    /// (checked before sending); `Error::Http` with `Remote` 400 for a bad page token.
    pub async fn bulk_changelogs(
        &self,
        issue_ids_or_keys: &[&str],
        field_ids: &[&str],
        next_page_token: Option<&str>,
        max_results: u32,
    ) -> Result<BulkChangelogPage> {
        if issue_ids_or_keys.is_empty() || issue_ids_or_keys.len() > 1000 {
            return Err(Error::InvalidArgument {
                what: "issueIdsOrKeys",
                detail: format!(
                    "Jira fetches changelogs of 1 to 1000 issues at a time, not {}",
                    issue_ids_or_keys.len()
                ),
            });
        }
        if field_ids.len() > 10 {
            return Err(Error::InvalidArgument {
                what: "fieldIds",
                detail: format!(
                    "Jira filters changelogs by at most 10 fields, not {}",
                    field_ids.len()
                ),
            });
        }
        let mut body = json!({
            "issueIdsOrKeys": issue_ids_or_keys,
            "maxResults": max_results,
        });
        if !field_ids.is_empty() {
            body["fieldIds"] = json!(field_ids);
        }
        if let Some(token) = next_page_token {
            body["nextPageToken"] = json!(token);
        }
        // A read, so it may be retried like a GET.
        let spec = RequestSpec::new(
            Method::POST,
            "/rest/api/3/changelog/bulkfetch",
            "/rest/api/3/changelog/bulkfetch",
        )
        .json(&body)
        .idempotent(true);
        Ok(self.send(spec).await?.json()?)
    }

    /// One page of issues matching `jql` via `POST /rest/api/3/search/jql` (§B.5): pass the
    /// previous page's `next_page_token` until `is_last`. `fields` defaults to `id` only on
    /// Jira's side, so list what you need. The JQL must be bounded.
    ///
    /// # Errors
    /// `Error::Http` with `Remote` 400 for invalid or unbounded JQL or an expired page token.
    pub async fn search_jql(
        &self,
        jql: &str,
        fields: &[&str],
        next_page_token: Option<&str>,
        max_results: u32,
    ) -> Result<Page> {
        self.search(&SearchRequest {
            fields,
            next_page_token,
            max_results,
            ..SearchRequest::new(jql)
        })
        .await
    }

    /// One page of a search with every `POST /search/jql` option (§B.5): issue `properties`
    /// (returned in `Issue::properties`), `expand`, and `reconcile_issues` for read-after-write
    /// on issues this caller just created or edited (search is eventually consistent).
    ///
    /// # Errors
    /// `Error::InvalidArgument` for more than 5 properties, more than 50 reconcile ids or a
    /// reconcile id that is not a numeric issue id (checked before sending); `Error::Http` with
    /// `Remote` 400 for invalid or unbounded JQL or an expired page token.
    pub async fn search(&self, request: &SearchRequest<'_>) -> Result<Page> {
        if request.properties.len() > 5 {
            return Err(Error::InvalidArgument {
                what: "search properties",
                detail: format!(
                    "Jira returns at most 5 issue properties per search, not {}",
                    request.properties.len()
                ),
            });
        }
        if request.reconcile_issues.len() > 50 {
            return Err(Error::InvalidArgument {
                what: "reconcileIssues",
                detail: format!(
                    "Jira reconciles at most 50 issues per search, not {}",
                    request.reconcile_issues.len()
                ),
            });
        }
        // The spec types reconcileIssues as int64 ids (not keys).
        let reconcile = request
            .reconcile_issues
            .iter()
            .map(|id| {
                id.parse::<u64>().map_err(|_| Error::InvalidArgument {
                    what: "reconcileIssues",
                    detail: format!(
                        "\"{}\" is not an issue id",
                        id.chars().take(40).collect::<String>()
                    ),
                })
            })
            .collect::<Result<Vec<u64>>>()?;
        let mut body = json!({
            "jql": request.jql,
            "fields": request.fields,
            "maxResults": request.max_results,
        });
        if let Some(token) = request.next_page_token {
            body["nextPageToken"] = json!(token);
        }
        if !request.properties.is_empty() {
            body["properties"] = json!(request.properties);
        }
        if let Some(expand) = request.expand.filter(|expand| !expand.is_empty()) {
            body["expand"] = json!(expand);
        }
        if !reconcile.is_empty() {
            body["reconcileIssues"] = json!(reconcile);
        }
        // A search changes nothing, so it may be retried like a GET.
        let spec = RequestSpec::new(
            Method::POST,
            "/rest/api/3/search/jql",
            "/rest/api/3/search/jql",
        )
        .json(&body)
        .idempotent(true);
        let response = self.send(spec).await?;
        let mut page: Page = response.json()?;
        page.server_time = response.date();
        Ok(page)
    }
}

/// `[{"key","value"}, …]`: Jira's `EntityProperty` list for inline `properties` (§B.2, §B.8).
pub(crate) fn entity_properties(properties: &[(&str, Value)]) -> Value {
    Value::Array(
        properties
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect(),
    )
}
