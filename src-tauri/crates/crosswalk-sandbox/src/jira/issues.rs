//! Issues (api/atlassian.md §B.1 createmeta/editmeta, §B.2 create, §B.3 edit, §B.4 get,
//! §B.6 changelog, §B.7 transitions).

use super::fields::{self, adf_to_html, change_strings, render};
use super::{
    begin, begin_write, error, extras, field_errors, int_param, issue_not_found, jira_time,
    json_body, list_param, page_bean, param, ChangeItem, History, Issue, JiraState, Query,
};
use crate::generator::jira::{FieldDef, Project, StatusCategory};
use crate::world::World;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Fields every issue has, besides those on its type's screen.
const SYSTEM_FIELDS: [&str; 21] = [
    "summary",
    "description",
    "issuetype",
    "project",
    "status",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "creator",
    "created",
    "updated",
    "resolution",
    "resolutiondate",
    "statuscategorychangedate",
    "duedate",
    "components",
    "comment",
    "attachment",
    "issuelinks",
    "subtasks",
];

/// Which fields a response carries (`fields=` of §B.4 / §B.5).
#[derive(Debug, Clone)]
pub(crate) struct FieldSelection {
    all: bool,
    navigable: bool,
    include: Vec<String>,
    exclude: Vec<String>,
    /// Only `id` (the `/search/jql` default): the bean is just `{"id"}`.
    pub id_only: bool,
}

impl FieldSelection {
    pub(crate) fn parse(items: &[String], default_all: bool) -> FieldSelection {
        let mut selection = FieldSelection {
            all: false,
            navigable: false,
            include: Vec::new(),
            exclude: Vec::new(),
            id_only: false,
        };
        if items.is_empty() {
            if default_all {
                selection.all = true;
            } else {
                selection.id_only = true;
            }
            return selection;
        }
        for item in items {
            match item.as_str() {
                "*all" => selection.all = true,
                "*navigable" => selection.navigable = true,
                "id" | "key" | "self" => {}
                other => match other.strip_prefix('-') {
                    Some(excluded) => selection.exclude.push(excluded.to_owned()),
                    None => selection.include.push(other.to_owned()),
                },
            }
        }
        selection.id_only = items.iter().all(|i| i == "id");
        selection
    }

    /// Whether any field beyond `id`/`key` is asked for (page-size cap, §B.5).
    pub(crate) fn wants_fields(&self) -> bool {
        self.all || self.navigable || !self.include.is_empty()
    }

    fn selects(&self, field: &str) -> bool {
        if self.exclude.iter().any(|e| e == field) {
            return false;
        }
        self.all
            || (self.navigable && field != "comment")
            || self.include.iter().any(|i| i == field)
    }
}

/// The field ids an issue carries.
pub(crate) fn issue_field_ids(state: &JiraState, issue: &Issue) -> Vec<String> {
    let mut ids: Vec<String> = SYSTEM_FIELDS.iter().map(|s| (*s).to_owned()).collect();
    if let Some(t) = state.issue_type(&issue.issue_type) {
        for f in &t.screen {
            if !ids.contains(f) {
                ids.push(f.clone());
            }
        }
    }
    ids
}

fn project_of<'a>(state: &'a JiraState, issue: &Issue) -> &'a Project {
    state
        .projects
        .iter()
        .find(|p| p.id == issue.project)
        .expect("issue project exists")
}

/// One field's value as Jira renders it.
pub(crate) fn field_value(state: &JiraState, issue: &Issue, id: &str) -> Value {
    let project = project_of(state, issue);
    let time = |t: Option<OffsetDateTime>| t.map_or(Value::Null, |t| json!(jira_time(t)));
    match id {
        "issuetype" => state
            .issue_type(&issue.issue_type)
            .map_or(Value::Null, |t| state.issue_type_json(t)),
        "project" => state.project_json(project, false),
        "status" => state.status_json(&issue.status),
        "reporter" => issue
            .reporter
            .as_deref()
            .map_or(Value::Null, |r| state.user_json(r)),
        "creator" => state.user_json(&issue.creator),
        "created" => time(Some(issue.created)),
        "updated" => time(Some(issue.updated)),
        "resolutiondate" => time(issue.resolution_date),
        "statuscategorychangedate" => time(Some(issue.status_category_changed)),
        "resolution" => match (&issue.resolution, state.field("resolution")) {
            (Some(r), Some(def)) => render(state, project, def, Some(&json!(r))),
            _ => Value::Null,
        },
        "comment" => {
            let comments: Vec<Value> = issue
                .comments
                .iter()
                .map(|c| extras::comment_json(state, issue, c, false))
                .collect();
            json!({
                "comments": comments,
                "self": format!("{}/rest/api/3/issue/{}/comment", state.base_url, issue.id),
                "maxResults": comments.len(),
                "total": comments.len(),
                "startAt": 0,
            })
        }
        "attachment" => Value::Array(
            issue
                .attachments
                .iter()
                .filter_map(|a| state.attachments.get(a))
                .map(|a| extras::attachment_json(state, a))
                .collect(),
        ),
        "issuelinks" | "subtasks" => json!([]),
        other => match state.field(other) {
            Some(def) => render(state, project, def, issue.fields.get(other)),
            None => Value::Null,
        },
    }
}

fn history_json(state: &JiraState, h: &History) -> Value {
    let mut value = json!({
        "id": h.id.to_string(),
        "author": state.user_json(&h.author),
        "created": jira_time(h.created),
        "items": h.items.iter().map(|i| json!({
            "field": i.field,
            "fieldtype": i.fieldtype,
            "fieldId": i.field_id,
            "from": i.from,
            "fromString": i.from_string,
            "to": i.to,
            "toString": i.to_string,
        })).collect::<Vec<_>>(),
    });
    if let Some(meta) = &h.history_metadata {
        value["historyMetadata"] = meta.clone();
    }
    value
}

/// The IssueBean (§B.4).
pub(crate) fn issue_json(
    state: &JiraState,
    issue: &Issue,
    selection: &FieldSelection,
    expand: &[String],
    properties: &[String],
    account: &super::JiraAccount,
) -> Value {
    if selection.id_only && expand.is_empty() && properties.is_empty() {
        return json!({"id": issue.id.to_string()});
    }
    let mut value = json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": issue.id.to_string(),
        "self": format!("{}/rest/api/3/issue/{}", state.base_url, issue.id),
        "key": issue.key,
    });
    let ids = issue_field_ids(state, issue);
    let mut fields = serde_json::Map::new();
    for id in ids.iter().filter(|id| selection.selects(id)) {
        fields.insert(id.clone(), field_value(state, issue, id));
    }
    if selection.wants_fields() {
        value["fields"] = Value::Object(fields);
    }
    let wants = |e: &str| expand.iter().any(|x| x == e);
    if wants("renderedFields") {
        let mut rendered = serde_json::Map::new();
        for id in ids.iter().filter(|id| selection.selects(id)) {
            let html = match state.field(id) {
                Some(def) if def.is_adf() => issue
                    .fields
                    .get(id)
                    .map_or(Value::Null, |d| json!(adf_to_html(d))),
                _ => Value::Null,
            };
            rendered.insert(id.clone(), html);
        }
        value["renderedFields"] = Value::Object(rendered);
    }
    if wants("names") {
        let names: serde_json::Map<String, Value> = ids
            .iter()
            .filter(|id| selection.selects(id))
            .filter_map(|id| state.field(id).map(|f| (id.clone(), json!(f.name))))
            .collect();
        value["names"] = Value::Object(names);
    }
    if wants("schema") {
        let schema: serde_json::Map<String, Value> = ids
            .iter()
            .filter(|id| selection.selects(id))
            .filter_map(|id| {
                state
                    .field(id)
                    .map(|f| (id.clone(), fields::field_json(f)["schema"].clone()))
            })
            .collect();
        value["schema"] = Value::Object(schema);
    }
    if wants("changelog") {
        let histories: Vec<Value> = issue
            .histories
            .iter()
            .rev()
            .take(100)
            .map(|h| history_json(state, h))
            .collect();
        value["changelog"] = json!({"startAt": 0, "maxResults": histories.len(), "total": issue.histories.len(), "histories": histories});
    }
    if wants("transitions") {
        value["transitions"] = Value::Array(available_transitions(state, issue, account, false));
    }
    if wants("editmeta") {
        value["editmeta"] = json!({"fields": edit_fields(state, issue)});
    }
    if !properties.is_empty() {
        let props: serde_json::Map<String, Value> = issue
            .properties
            .iter()
            .filter(|(k, _)| properties.iter().any(|p| p == *k || p == "*all"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        value["properties"] = Value::Object(props);
    }
    value
}

/// Applies one `update` entry (`[{"set"|"add"|"remove": value}, …]`) to a stored value.
fn apply_update(
    state: &JiraState,
    project: &Project,
    def: &FieldDef,
    current: Option<Value>,
    ops: &Value,
) -> Result<Option<Value>, String> {
    let Some(ops) = ops.as_array() else {
        return Err(format!(
            "Field '{}': update operations must be an array",
            def.id
        ));
    };
    let is_array = def.schema_type == "array";
    let mut value = current;
    for op in ops {
        let Some((name, operand)) = op.as_object().and_then(|o| o.iter().next()) else {
            return Err(format!("Field '{}': invalid update operation", def.id));
        };
        match (name.as_str(), is_array) {
            ("set", _) => value = fields::store(state, project, def, operand)?,
            ("add" | "remove", true) => {
                let element =
                    fields::store(state, project, def, &Value::Array(vec![operand.clone()]))?
                        .and_then(|v| v.as_array().and_then(|a| a.first().cloned()));
                let Some(element) = element else { continue };
                let mut items = value
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default();
                if name == "add" {
                    if !items.contains(&element) {
                        items.push(element);
                    }
                } else {
                    items.retain(|i| *i != element);
                }
                value = (!items.is_empty() || def.items.as_deref() == Some("string"))
                    .then_some(Value::Array(items));
            }
            (other, _) => {
                return Err(format!(
                    "Field '{}' does not support operation '{other}'",
                    def.id
                ))
            }
        }
    }
    Ok(value)
}

/// The stored values after `fields` + `update` on top of `current` (create: empty).
fn apply_writes(
    state: &JiraState,
    project: &Project,
    issue_type: &str,
    current: &BTreeMap<String, Value>,
    body: &Value,
    create: bool,
) -> Result<BTreeMap<String, Value>, BTreeMap<String, String>> {
    let empty = serde_json::Map::new();
    let fields_in = body
        .get("fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let update = body
        .get("update")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut errors = BTreeMap::new();
    for key in update.keys() {
        if fields_in.contains_key(key) {
            errors.insert(
                key.clone(),
                format!("Field '{key}' cannot be set in both 'fields' and 'update'."),
            );
        }
    }
    // `fields` through the create/edit validation (without the required checks yet).
    let mut next = current.clone();
    let mut cleared = Vec::new();
    match fields::validate(state, project, issue_type, fields_in, false) {
        Ok(stored) => {
            for (id, value) in fields_in {
                if id == "project" || id == "issuetype" {
                    continue;
                }
                match stored.get(id) {
                    Some(v) => {
                        next.insert(id.clone(), v.clone());
                    }
                    None if value.is_null() || value.as_array().is_some_and(Vec::is_empty) => {
                        cleared.push(id.clone())
                    }
                    None => {}
                }
            }
        }
        Err(e) => errors.extend(e),
    }
    for id in cleared {
        next.remove(&id);
    }
    let screen = state
        .issue_type(issue_type)
        .map(|t| t.screen.clone())
        .unwrap_or_default();
    for (id, ops) in update {
        if errors.contains_key(id) {
            continue;
        }
        let Some(def) = state.field(id).filter(|_| screen.contains(id)) else {
            errors.insert(
                id.clone(),
                format!(
                    "Field '{id}' cannot be set. It is not on the appropriate screen, or unknown."
                ),
            );
            continue;
        };
        match apply_update(state, project, def, next.get(id).cloned(), ops) {
            Ok(Some(v)) => {
                next.insert(id.clone(), v);
            }
            Ok(None) => {
                next.remove(id);
            }
            Err(message) => {
                errors.insert(id.clone(), message);
            }
        }
    }
    if create {
        if let Some(t) = state.issue_type(issue_type) {
            for required in &t.required {
                if !next.contains_key(required) && !errors.contains_key(required) {
                    let message = match required.as_str() {
                        "summary" => "You must specify a summary of the issue.".to_owned(),
                        other => format!(
                            "{} is required.",
                            state.field(other).map_or(other, |f| f.name.as_str())
                        ),
                    };
                    errors.insert(required.clone(), message);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(errors)
    }
}

/// Inline `properties` (`[{"key","value"}]`) of a create or edit: keys of 1–255 characters and
/// values of at most 32768 characters of JSON, as for the property endpoints (§B.12).
pub(crate) fn read_properties(body: &Value) -> Result<Vec<(String, Value)>, String> {
    let Some(items) = body.get("properties") else {
        return Ok(Vec::new());
    };
    let Some(items) = items.as_array() else {
        return Err("'properties' must be an array".into());
    };
    items
        .iter()
        .map(|p| {
            let key = p
                .get("key")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty() && k.len() <= 255);
            let value = p.get("value").cloned().unwrap_or(Value::Null);
            match key {
                Some(k) if value.to_string().len() <= 32_768 => Ok((k.to_owned(), value)),
                Some(_) => Err(
                    "The property value is too long. It must not exceed 32768 characters.".into(),
                ),
                None => Err(
                    "The property key cannot be empty and must not exceed 255 characters.".into(),
                ),
            }
        })
        .collect()
}

/// Creates one issue; `Err` carries the status and ErrorCollection.
pub(crate) fn create_one(
    state: &mut JiraState,
    author: &str,
    now: OffsetDateTime,
    body: &Value,
) -> Result<Value, (StatusCode, Value)> {
    let bad = |errors: BTreeMap<String, String>| {
        (
            StatusCode::BAD_REQUEST,
            json!({"errorMessages": [], "errors": errors}),
        )
    };
    let st = &*state;
    let fields_in = body.get("fields").cloned().unwrap_or(json!({}));
    let mut errors = BTreeMap::new();
    let project_ref = fields_in.get("project");
    let project = project_ref
        .and_then(|p| p.get("key").or_else(|| p.get("id")))
        .and_then(Value::as_str)
        .and_then(|k| st.project(k))
        .cloned();
    let Some(project) = project else {
        errors.insert(
            "project".to_owned(),
            "Specify a valid project ID or key".to_owned(),
        );
        return Err(bad(errors));
    };
    let issue_type = match fields_in.get("issuetype") {
        None | Some(Value::Null) => {
            errors.insert("issuetype".to_owned(), "Specify an issue type".to_owned());
            return Err(bad(errors));
        }
        Some(t) => {
            let id = t.get("id").and_then(Value::as_str);
            let name = t.get("name").and_then(Value::as_str);
            project
                .issue_types
                .iter()
                .filter_map(|i| st.issue_type(i))
                .find(|i| Some(i.id.as_str()) == id || Some(i.name.as_str()) == name)
                .map(|i| i.id.clone())
        }
    };
    let Some(issue_type) = issue_type else {
        errors.insert(
            "issuetype".to_owned(),
            "The issue type selected is invalid.".to_owned(),
        );
        return Err(bad(errors));
    };
    let stored =
        apply_writes(st, &project, &issue_type, &BTreeMap::new(), body, true).map_err(bad)?;
    let properties = read_properties(body).map_err(|m| {
        (
            StatusCode::BAD_REQUEST,
            json!({"errorMessages": [m], "errors": {}}),
        )
    })?;
    let workflow = &st.workflows[st.issue_type(&issue_type).expect("validated").workflow];
    let initial = workflow.initial.clone();
    let number = st
        .issues
        .iter()
        .filter(|i| i.project == project.id)
        .filter_map(|i| {
            i.key
                .rsplit_once('-')
                .and_then(|(_, n)| n.parse::<u64>().ok())
        })
        .max()
        .unwrap_or(0)
        + 1;
    let mut stored = stored;
    let reporter = match stored.remove("reporter") {
        Some(r) => r.as_str().map(str::to_owned),
        None => Some(author.to_owned()),
    };
    let id = state.next_id();
    let issue = Issue {
        id,
        key: format!("{}-{number}", project.key),
        project: project.id.clone(),
        issue_type,
        status: initial,
        resolution: None,
        resolution_date: None,
        status_category_changed: now,
        fields: stored,
        reporter,
        creator: author.to_owned(),
        created: now,
        updated: now,
        comments: Vec::new(),
        histories: Vec::new(),
        attachments: Vec::new(),
        remote_links: Vec::new(),
        properties: properties.into_iter().collect(),
    };
    let key = issue.key.clone();
    state.issues.push(issue);
    let mut answer = json!({"id": id.to_string(), "key": key, "self": format!("{}/rest/api/3/issue/{id}", state.base_url)});
    if let Some(transition) = body.get("transition") {
        let idx = state.issues.len() - 1;
        let request = json!({"transition": transition});
        let result = transition_issue(state, idx, &request, author, now);
        answer["transition"] = json!({
            "status": if result.is_ok() { 204 } else { 400 },
            "errorCollection": match result { Ok(()) => json!({"errorMessages": [], "errors": {}}), Err(e) => e },
        });
    }
    Ok(answer)
}

/// `POST /rest/api/3/issue` (§B.2) → 201 `{id,key,self}`.
pub(super) async fn create(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut call = match begin_write(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let author = call.account.account_id.clone();
    match create_one(&mut call.state, &author, call.now, &body) {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err((status, v)) => (status, Json(v)).into_response(),
    }
}

/// `POST /rest/api/3/issue/bulk` (§B.2): ≤50, 201 with per-element errors, 400 if all failed.
pub(super) async fn create_bulk(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut call = match begin_write(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let updates = body
        .get("issueUpdates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if updates.len() > 50 {
        return error(
            StatusCode::BAD_REQUEST,
            &["The number of issues to create must not exceed 50."],
            &[],
        );
    }
    let mut issues = Vec::new();
    let mut errors = Vec::new();
    let author = call.account.account_id.clone();
    for (i, update) in updates.iter().enumerate() {
        match create_one(&mut call.state, &author, call.now, update) {
            Ok(v) => issues.push(v),
            Err((status, e)) => errors.push(
                json!({"status": status.as_u16(), "elementErrors": e, "failedElementNumber": i}),
            ),
        }
    }
    let status = if issues.is_empty() && !errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::CREATED
    };
    (status, Json(json!({"issues": issues, "errors": errors}))).into_response()
}

fn field_meta(state: &JiraState, project: &Project, def: &FieldDef, required: bool) -> Value {
    let mut schema = fields::field_json(def)["schema"].clone();
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("customId");
        if let Some(n) = def.custom_id() {
            obj.insert("customId".into(), json!(n));
        }
    }
    let operations: Vec<&str> = match (def.schema_type.as_str(), def.items.as_deref()) {
        ("array", _) => vec!["add", "set", "remove"],
        _ => vec!["set"],
    };
    let mut value = json!({
        "required": required,
        "schema": schema,
        "name": def.name,
        "key": def.id,
        "fieldId": def.id,
        "hasDefaultValue": def.id == "priority",
        "operations": operations,
    });
    let allowed: Option<Vec<Value>> = match def.schema_type.as_str() {
        "option" | "array" if !def.options.is_empty() => Some(
            def.options
                .iter()
                .map(|(id, v)| json!({"self": format!("{}/rest/api/3/customFieldOption/{id}", state.base_url), "value": v, "id": id}))
                .collect(),
        ),
        "priority" => Some(state.priorities.iter().map(|p| render(state, project, def, Some(&json!(p.id)))).collect()),
        "resolution" => Some(state.resolutions.iter().map(|r| render(state, project, def, Some(&json!(r.id)))).collect()),
        _ => match def.items.as_deref() {
            Some("component") => Some(project.components.iter().map(|c| state.component_json(project, c)).collect()),
            Some("version") => Some(project.versions.iter().map(|v| state.version_json(project, v)).collect()),
            _ if def.schema_type == "version" => Some(project.versions.iter().map(|v| state.version_json(project, v)).collect()),
            _ => None,
        },
    };
    if let Some(allowed) = allowed {
        value["allowedValues"] = Value::Array(allowed);
    }
    if def.id == "priority" {
        value["defaultValue"] = render(state, project, def, Some(&json!("3")));
    }
    if matches!(def.schema_type.as_str(), "user") || def.items.as_deref() == Some("string") {
        value["autoCompleteUrl"] = json!(format!(
            "{}/rest/api/1.0/labels/suggest?query=",
            state.base_url
        ));
    }
    value
}

fn meta_page(query: &[(String, String)]) -> Result<(usize, usize), Response> {
    let start = int_param(query, "startAt")?.unwrap_or(0).max(0) as usize;
    let max = int_param(query, "maxResults")?.unwrap_or(50);
    if max > 200 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &["Parameter 'maxResults' must not exceed the limit '200'"],
            &[],
        ));
    }
    Ok((start, max.max(0) as usize))
}

/// `GET /rest/api/3/issue/createmeta/{project}/issuetypes` (§B.1).
pub(super) async fn createmeta_types(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(project): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, max) = match meta_page(&query) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let s = &call.state;
    let Some(p) = s.project(&project) else {
        return error(
            StatusCode::NOT_FOUND,
            &["Project not found or you don't have permission to view it."],
            &[],
        );
    };
    let all: Vec<Value> = p
        .issue_types
        .iter()
        .filter_map(|t| s.issue_type(t))
        .map(|t| s.issue_type_json(t))
        .collect();
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(start).take(max).collect();
    Json(json!({"issueTypes": page, "maxResults": max, "startAt": start, "total": total}))
        .into_response()
}

/// `GET /rest/api/3/issue/createmeta/{project}/issuetypes/{issueTypeId}` (§B.1).
pub(super) async fn createmeta_fields(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((project, issue_type)): Path<(String, String)>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, max) = match meta_page(&query) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let s = &call.state;
    let Some(p) = s.project(&project) else {
        return error(
            StatusCode::NOT_FOUND,
            &["Project not found or you don't have permission to view it."],
            &[],
        );
    };
    let Some(t) = p
        .issue_types
        .iter()
        .find(|t| **t == issue_type)
        .and_then(|t| s.issue_type(t))
    else {
        return error(
            StatusCode::NOT_FOUND,
            &["Issue type not found or you don't have permission to view it."],
            &[],
        );
    };
    let mut all = Vec::new();
    for id in ["issuetype", "project"] {
        if let Some(def) = s.field(id) {
            let mut meta = field_meta(s, p, def, true);
            if id == "issuetype" {
                meta["allowedValues"] = json!([s.issue_type_json(t)]);
            } else {
                meta["allowedValues"] = json!([s.project_json(p, false)]);
            }
            all.push(meta);
        }
    }
    for id in &t.screen {
        if let Some(def) = s.field(id) {
            all.push(field_meta(s, p, def, t.required.contains(id)));
        }
    }
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(start).take(max).collect();
    Json(json!({"fields": page, "results": page, "maxResults": max, "startAt": start, "total": total})).into_response()
}

fn edit_fields(state: &JiraState, issue: &Issue) -> Value {
    let project = project_of(state, issue);
    let mut out = serde_json::Map::new();
    if let Some(t) = state.issue_type(&issue.issue_type) {
        for id in &t.screen {
            if let Some(def) = state.field(id) {
                out.insert(
                    id.clone(),
                    field_meta(state, project, def, t.required.contains(id)),
                );
            }
        }
    }
    Value::Object(out)
}

/// `GET /rest/api/3/issue/{key}/editmeta` (§B.1).
pub(super) async fn editmeta(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(issue) = call.state.issue(&key) else {
        return issue_not_found();
    };
    if !call.account.can_write {
        return Json(json!({"fields": {}})).into_response();
    }
    Json(json!({"fields": edit_fields(&call.state, issue)})).into_response()
}

/// `GET /rest/api/3/issue/{key}` (§B.4): default `fields=*all`.
pub(super) async fn get_issue(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(issue) = call.state.issue(&key) else {
        return issue_not_found();
    };
    let selection = FieldSelection::parse(&list_param(&query, "fields"), true);
    let mut selection = selection;
    selection.id_only = false;
    let json = issue_json(
        &call.state,
        issue,
        &selection,
        &list_param(&query, "expand"),
        &list_param(&query, "properties"),
        &call.account,
    );
    Json(json).into_response()
}

/// Records a change: changelog entry and `updated`.
pub(crate) fn record(
    issue: &mut Issue,
    id: u64,
    author: &str,
    now: OffsetDateTime,
    items: Vec<ChangeItem>,
    metadata: Option<Value>,
) {
    issue.updated = now;
    if !items.is_empty() {
        issue.histories.push(History {
            id,
            author: author.to_owned(),
            created: now,
            items,
            history_metadata: metadata,
        });
    }
}

/// Applies an edit (`fields`, `update`, `properties`, `historyMetadata`) to `issues[idx]`:
/// the stored values, a changelog entry and `updated` when something changed (§B.3).
pub(crate) fn edit_issue(
    state: &mut JiraState,
    idx: usize,
    body: &Value,
    author: &str,
    now: OffsetDateTime,
) -> Result<(), Response> {
    let st = &*state;
    let issue = &st.issues[idx];
    let project = project_of(st, issue).clone();
    if let Some(fields_in) = body.get("fields").and_then(Value::as_object) {
        let mut errors = BTreeMap::new();
        for key in ["project", "issuetype"] {
            if fields_in.contains_key(key) {
                errors.insert(key.to_owned(), format!("Field '{key}' cannot be set. It is not on the appropriate screen, or unknown."));
            }
        }
        if !errors.is_empty() {
            return Err(field_errors(errors));
        }
    }
    let next = match apply_writes(st, &project, &issue.issue_type, &issue.fields, body, false) {
        Ok(n) => n,
        Err(errors) => return Err(field_errors(errors)),
    };
    let properties = match read_properties(body) {
        Ok(p) => p,
        Err(m) => return Err(error(StatusCode::BAD_REQUEST, &[&m], &[])),
    };
    let mut items = Vec::new();
    let mut keys: Vec<&String> = issue.fields.keys().chain(next.keys()).collect();
    keys.sort();
    keys.dedup();
    for id in keys {
        let (old, new) = (issue.fields.get(id), next.get(id));
        if old == new {
            continue;
        }
        let Some(def) = st.field(id) else { continue };
        let (from, from_string) = change_strings(st, &project, def, old);
        let (to, to_string) = change_strings(st, &project, def, new);
        items.push(ChangeItem {
            field: if def.custom {
                def.name.clone()
            } else {
                def.id.clone()
            },
            field_id: def.id.clone(),
            fieldtype: if def.custom {
                "custom".into()
            } else {
                "jira".into()
            },
            from,
            from_string,
            to,
            to_string,
        });
    }
    let reporter = next
        .get("reporter")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let metadata = body.get("historyMetadata").cloned();
    let changed = !items.is_empty();
    let history_id = state.next_id();
    let issue = &mut state.issues[idx];
    let mut next = next;
    if next.contains_key("reporter") {
        next.remove("reporter");
        issue.reporter = reporter;
    }
    issue.fields = next;
    issue.properties.extend(properties);
    if changed {
        record(issue, history_id, author, now, items, metadata);
    }
    Ok(())
}

/// `PUT /rest/api/3/issue/{key}` (§B.3) → 204 (200 with `returnIssue=true`).
pub(super) async fn edit(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::extract::Query(query): Query,
    body: String,
) -> Response {
    let mut call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(idx) = call.state.issue_index(&key) else {
        return issue_not_found();
    };
    if !call.account.can_write {
        return super::forbidden("You do not have permission to edit issues in this project.");
    }
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let author = call.account.account_id.clone();
    let now = call.now;
    if let Err(r) = edit_issue(&mut call.state, idx, &body, &author, now) {
        return r;
    }
    if param(&query, "returnIssue") == Some("true") {
        let state = &*call.state;
        let selection = FieldSelection::parse(&[], true);
        let json = issue_json(
            state,
            &state.issues[idx],
            &selection,
            &list_param(&query, "expand"),
            &[],
            &call.account,
        );
        return Json(json).into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /rest/api/3/issue/{key}` → 204.
pub(super) async fn delete(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let mut call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if call.state.issue_index(&key).is_none() {
        return issue_not_found();
    }
    if !call.account.can_write {
        return super::forbidden("You do not have permission to delete issues in this project.");
    }
    call.state.delete_issue(&key);
    StatusCode::NO_CONTENT.into_response()
}

fn transition_json(
    state: &JiraState,
    t: &crate::generator::jira::Transition,
    with_fields: bool,
) -> Value {
    let mut value = json!({
        "id": t.id,
        "name": t.name,
        "to": state.status_json(&t.to),
        "hasScreen": t.has_screen,
        "isGlobal": t.from.is_empty(),
        "isInitial": false,
        "isAvailable": true,
        "isConditional": false,
        "isLooped": false,
    });
    if with_fields {
        let mut fields = serde_json::Map::new();
        if t.has_screen {
            if let (Some(def), Some(project)) = (state.field("resolution"), state.projects.first())
            {
                fields.insert("resolution".into(), field_meta(state, project, def, false));
            }
        }
        value["fields"] = Value::Object(fields);
    }
    value
}

fn available_transitions(
    state: &JiraState,
    issue: &Issue,
    account: &super::JiraAccount,
    with_fields: bool,
) -> Vec<Value> {
    if !account.can_write {
        return Vec::new();
    }
    let Some(t) = state.issue_type(&issue.issue_type) else {
        return Vec::new();
    };
    state.workflows[t.workflow]
        .transitions
        .iter()
        .filter(|tr| {
            tr.to != issue.status && (tr.from.is_empty() || tr.from.contains(&issue.status))
        })
        .map(|tr| transition_json(state, tr, with_fields))
        .collect()
}

/// `GET /rest/api/3/issue/{key}/transitions` (§B.7): empty without permission.
pub(super) async fn transitions(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(issue) = call.state.issue(&key) else {
        return issue_not_found();
    };
    let with_fields = list_param(&query, "expand")
        .iter()
        .any(|e| e == "transitions.fields");
    let mut list = available_transitions(&call.state, issue, &call.account, with_fields);
    if let Some(id) = param(&query, "transitionId") {
        list.retain(|t| t["id"] == id);
    }
    Json(json!({"expand": "transitions", "transitions": list})).into_response()
}

/// Performs a transition on `issues[idx]`; `Err` is an ErrorCollection.
pub(crate) fn transition_issue(
    state: &mut JiraState,
    idx: usize,
    body: &Value,
    author: &str,
    now: OffsetDateTime,
) -> Result<(), Value> {
    let st = &*state;
    let issue = &st.issues[idx];
    let Some(id) = body.pointer("/transition/id").and_then(|v| {
        v.as_str()
            .map(str::to_owned)
            .or_else(|| v.as_i64().map(|n| n.to_string()))
    }) else {
        return Err(json!({"errorMessages": ["Missing 'transition' identifier"], "errors": {}}));
    };
    let workflow = &st.workflows[st
        .issue_type(&issue.issue_type)
        .expect("issue type")
        .workflow];
    let Some(transition) = workflow
        .transitions
        .iter()
        .find(|t| {
            t.id == id
                && t.to != issue.status
                && (t.from.is_empty() || t.from.contains(&issue.status))
        })
        .cloned()
    else {
        return Err(
            json!({"errorMessages": [format!("Transition id '{id}' is not valid for this issue.")], "errors": {}}),
        );
    };
    let project = project_of(st, issue).clone();
    let mut resolution = None;
    if let Some(fields_in) = body.get("fields").and_then(Value::as_object) {
        let mut errors = BTreeMap::new();
        for (f, v) in fields_in {
            if f == "resolution" && transition.has_screen {
                match st
                    .field("resolution")
                    .map(|def| fields::store(st, &project, def, v))
                {
                    Some(Ok(r)) => resolution = r,
                    Some(Err(m)) => {
                        errors.insert(f.clone(), m);
                    }
                    None => {}
                }
            } else {
                errors.insert(f.clone(), format!("Field '{f}' cannot be set. It is not on the appropriate screen, or unknown."));
            }
        }
        if !errors.is_empty() {
            return Err(json!({"errorMessages": [], "errors": errors}));
        }
    }
    let mut comment = None;
    if let Some(ops) = body.pointer("/update/comment").and_then(Value::as_array) {
        for op in ops {
            if let Some(b) = op.pointer("/add/body") {
                if let Err(m) = fields::check_adf(b) {
                    return Err(json!({"errorMessages": [], "errors": {"comment": m}}));
                }
                comment = Some(b.clone());
            }
        }
    }
    let from = st.status(&issue.status).cloned().expect("status");
    let to = st.status(&transition.to).cloned().expect("status");
    let old_resolution = issue.resolution.clone();
    let new_resolution = if to.category == StatusCategory::Done {
        Some(
            resolution
                .and_then(|r| r.as_str().map(str::to_owned))
                .unwrap_or_else(|| {
                    if to.name == "Cancelled" {
                        "10001".to_owned()
                    } else {
                        "10000".to_owned()
                    }
                }),
        )
    } else {
        None
    };
    let res_name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| st.resolutions.iter().find(|r| r.id == *id))
            .map(|r| r.name.clone())
    };
    let mut items = vec![ChangeItem {
        field: "status".into(),
        field_id: "status".into(),
        fieldtype: "jira".into(),
        from: Some(from.id.clone()),
        from_string: Some(from.name.clone()),
        to: Some(to.id.clone()),
        to_string: Some(to.name.clone()),
    }];
    if old_resolution != new_resolution {
        items.push(ChangeItem {
            field: "resolution".into(),
            field_id: "resolution".into(),
            fieldtype: "jira".into(),
            from: old_resolution.clone(),
            from_string: res_name(&old_resolution),
            to: new_resolution.clone(),
            to_string: res_name(&new_resolution),
        });
    }
    let metadata = body.get("historyMetadata").cloned();
    let history_id = state.next_id();
    let comment_id = state.next_id();
    let author = author.to_owned();
    let issue = &mut state.issues[idx];
    if from.category != to.category {
        issue.status_category_changed = now;
    }
    issue.status = to.id.clone();
    issue.resolution_date = if new_resolution.is_some() {
        issue
            .resolution_date
            .filter(|_| old_resolution.is_some())
            .or(Some(now))
    } else {
        None
    };
    issue.resolution = new_resolution;
    record(issue, history_id, &author, now, items, metadata);
    if let Some(body) = comment {
        issue.comments.push(super::Comment {
            id: comment_id,
            author: author.clone(),
            update_author: author,
            body,
            created: now,
            updated: now,
            visibility: None,
            properties: BTreeMap::new(),
        });
    }
    Ok(())
}

/// `POST /rest/api/3/issue/{key}/transitions` (§B.7) → 204.
pub(super) async fn do_transition(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: String,
) -> Response {
    let mut call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(idx) = call.state.issue_index(&key) else {
        return issue_not_found();
    };
    if !call.account.can_write {
        return super::forbidden("You do not have permission to transition this issue.");
    }
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let author = call.account.account_id.clone();
    match transition_issue(&mut call.state, idx, &body, &author, call.now) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(e)).into_response(),
    }
}

/// `GET /rest/api/3/issue/{key}/changelog` (§B.6): PageBean, oldest first, max 100.
pub(super) async fn changelog(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, max) = match super::paging(&query, 100, 100) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let s = &call.state;
    let Some(issue) = s.issue(&key) else {
        return issue_not_found();
    };
    let values = issue.histories.iter().map(|h| history_json(s, h)).collect();
    Json(page_bean(
        format!("{}/rest/api/3/issue/{}/changelog", s.base_url, issue.key),
        values,
        start,
        max,
    ))
    .into_response()
}

/// `POST /rest/api/3/issue/{key}/changelog/list` `{"changelogIds":[…]}`.
pub(super) async fn changelog_list(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: String,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let s = &call.state;
    let Some(issue) = s.issue(&key) else {
        return issue_not_found();
    };
    let ids: Vec<String> = body
        .get("changelogIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| {
            v.as_i64().map_or_else(
                || v.as_str().unwrap_or_default().to_owned(),
                |n| n.to_string(),
            )
        })
        .collect();
    if ids.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            &["changelogIds must not be empty."],
            &[],
        );
    }
    let values = issue
        .histories
        .iter()
        .filter(|h| ids.contains(&h.id.to_string()))
        .map(|h| history_json(s, h))
        .collect();
    Json(page_bean(
        format!(
            "{}/rest/api/3/issue/{}/changelog/list",
            s.base_url, issue.key
        ),
        values,
        0,
        1000,
    ))
    .into_response()
}

/// `POST /rest/api/3/changelog/bulkfetch` (§B.6): ≤1000 issues, ≤10 field ids (entries
/// touching none of them are left out, and so are their other items), oldest entry first,
/// token paging.
pub(super) async fn changelog_bulkfetch(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let bad = |m: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"message": m}]})),
        )
            .into_response()
    };
    let keys: Vec<String> = body
        .get("issueIdsOrKeys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
        .collect();
    if keys.is_empty() || keys.len() > 1000 {
        return bad("issueIdsOrKeys must contain between 1 and 1000 issues.");
    }
    let field_ids: Vec<String> = body
        .get("fieldIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    // BulkChangelogRequestBean: `fieldIds` has maxItems 10.
    if field_ids.len() > 10 {
        return bad("fieldIds must contain at most 10 fields.");
    }
    let max = body
        .get("maxResults")
        .and_then(Value::as_u64)
        .unwrap_or(1000)
        .clamp(1, 10_000) as usize;
    let offset = match body.get("nextPageToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => match super::search::decode_token(t) {
            Some((o, _)) => o,
            None => return bad("Invalid format of nextPageToken"),
        },
    };
    let s = &call.state;
    let mut rows = Vec::new();
    for key in &keys {
        if let Some(issue) = s.issue(key) {
            for h in &issue.histories {
                let mut h = h.clone();
                if !field_ids.is_empty() {
                    h.items.retain(|i| field_ids.contains(&i.field_id));
                    if h.items.is_empty() {
                        continue;
                    }
                }
                rows.push((issue.id, h));
            }
        }
    }
    // "Sorted by changelog date and issue IDs, starting from the oldest changelog and smallest
    // issue ID" (the operation's description).
    rows.sort_by_key(|(issue_id, h)| (h.created, *issue_id, h.id));
    let total = rows.len();
    let mut logs: Vec<(u64, Vec<Value>)> = Vec::new();
    for (issue_id, h) in rows.iter().skip(offset).take(max) {
        match logs.last_mut() {
            Some((id, list)) if id == issue_id => list.push(history_json(s, h)),
            _ => logs.push((*issue_id, vec![history_json(s, h)])),
        }
    }
    let mut answer = json!({
        "issueChangeLogs": logs.into_iter().map(|(id, list)| json!({"issueId": id.to_string(), "changeHistories": list})).collect::<Vec<_>>(),
    });
    if offset + max < total {
        answer["nextPageToken"] = json!(super::search::encode_token(offset + max, "bulkfetch"));
    }
    Json(answer).into_response()
}
