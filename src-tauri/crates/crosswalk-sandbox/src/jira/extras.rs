//! Comments (api/atlassian.md §B.8), attachments (§B.10), remote links (§B.11), issue and
//! comment properties (§B.12, §B.8) and user search (§B.13).

use super::fields::{adf_to_html, check_adf};
use super::{
    begin, begin_write, error, issue_not_found, jira_time, json_body, list_param, param,
    Attachment, Comment, Issue, JiraState, Query, RemoteLink,
};
use crate::world::World;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A Comment (§B.8).
pub(crate) fn comment_json(state: &JiraState, issue: &Issue, c: &Comment, rendered: bool) -> Value {
    let mut value = json!({
        "self": format!("{}/rest/api/3/issue/{}/comment/{}", state.base_url, issue.id, c.id),
        "id": c.id.to_string(),
        "author": state.user_json(&c.author),
        "body": c.body,
        "updateAuthor": state.user_json(&c.update_author),
        "created": jira_time(c.created),
        "updated": jira_time(c.updated),
        "jsdPublic": c.visibility.is_none(),
    });
    if let Some(v) = &c.visibility {
        value["visibility"] = v.clone();
    }
    if rendered {
        value["renderedBody"] = json!(adf_to_html(&c.body));
    }
    value
}

fn with_properties(mut value: Value, c: &Comment) -> Value {
    value["properties"] = Value::Array(
        c.properties
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    );
    value
}

/// `GET /rest/api/3/issue/{key}/comment` (§B.8): legacy page `{startAt,maxResults,total,comments}`.
pub(super) async fn comments(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, max) = match super::paging(&query, 5000, 5000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let s = &*call.state;
    let Some(issue) = s.issue(&key) else {
        return issue_not_found();
    };
    let expand = list_param(&query, "expand");
    let rendered = expand.iter().any(|e| e == "renderedBody");
    let props = expand.iter().any(|e| e == "properties");
    let mut list: Vec<&Comment> = issue.comments.iter().collect();
    match param(&query, "orderBy") {
        Some("-created") => list.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id))),
        _ => list.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id))),
    }
    let total = list.len();
    let page: Vec<Value> = list
        .into_iter()
        .skip(start)
        .take(max)
        .map(|c| {
            let v = comment_json(s, issue, c, rendered);
            if props {
                with_properties(v, c)
            } else {
                v
            }
        })
        .collect();
    Json(json!({"startAt": start, "maxResults": max, "total": total, "comments": page}))
        .into_response()
}

fn read_comment_body(body: &Value) -> Result<Value, Response> {
    match body.get("body") {
        None | Some(Value::Null) => Err(error(
            StatusCode::BAD_REQUEST,
            &[],
            &[("comment", "Comment body can not be empty!".into())],
        )),
        Some(b) => check_adf(b)
            .map(|()| b.clone())
            .map_err(|m| error(StatusCode::BAD_REQUEST, &[], &[("comment", m)])),
    }
}

/// Adds a comment (ADF body) to `issues[idx]` and moves `updated`; 413 past the per-issue cap.
pub(crate) fn push_comment(
    state: &mut JiraState,
    idx: usize,
    body: Value,
    author: &str,
    now: time::OffsetDateTime,
    visibility: Option<Value>,
    properties: BTreeMap<String, Value>,
) -> Result<Comment, Response> {
    if state.issues[idx].comments.len() >= state.max_comments_per_issue {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &["The issue has reached the limit of comments."],
            &[],
        ));
    }
    let id = state.next_id();
    let comment = Comment {
        id,
        author: author.to_owned(),
        update_author: author.to_owned(),
        body,
        created: now,
        updated: now,
        visibility,
        properties,
    };
    let issue = &mut state.issues[idx];
    issue.comments.push(comment.clone());
    issue.updated = now;
    Ok(comment)
}

/// `POST /rest/api/3/issue/{key}/comment` → 201 Comment; inline `properties` mark the comment.
pub(super) async fn add_comment(
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
        return super::forbidden("You do not have the permission to comment on this issue.");
    }
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let adf = match read_comment_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    // Same limits as the comment property endpoint (§B.8).
    let properties: BTreeMap<String, Value> = match super::issues::read_properties(&body) {
        Ok(properties) => properties.into_iter().collect(),
        Err(message) => return error(StatusCode::BAD_REQUEST, &[&message], &[]),
    };
    let author = call.account.account_id.clone();
    let now = call.now;
    let visibility = body.get("visibility").cloned().filter(|v| !v.is_null());
    let comment = match push_comment(
        &mut call.state,
        idx,
        adf,
        &author,
        now,
        visibility,
        properties,
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    (
        StatusCode::CREATED,
        Json(comment_json(s, &s.issues[idx], &comment, false)),
    )
        .into_response()
}

fn find_comment(state: &JiraState, key: &str, id: &str) -> Option<(usize, usize)> {
    let idx = state.issue_index(key)?;
    let c = state.issues[idx]
        .comments
        .iter()
        .position(|c| c.id.to_string() == id)?;
    Some((idx, c))
}

fn comment_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        &["Can not find a comment for the id or the user does not have permission to see it."],
        &[],
    )
}

/// `GET /rest/api/3/issue/{key}/comment/{id}`.
pub(super) async fn get_comment(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    if s.issue(&key).is_none() {
        return issue_not_found();
    }
    let Some((i, c)) = find_comment(s, &key, &id) else {
        return comment_not_found();
    };
    let expand = list_param(&query, "expand");
    let comment = &s.issues[i].comments[c];
    let v = comment_json(
        s,
        &s.issues[i],
        comment,
        expand.iter().any(|e| e == "renderedBody"),
    );
    Json(if expand.iter().any(|e| e == "properties") {
        with_properties(v, comment)
    } else {
        v
    })
    .into_response()
}

/// `PUT /rest/api/3/issue/{key}/comment/{id}` → 200 Comment.
pub(super) async fn update_comment(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
    body: String,
) -> Response {
    let mut call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if call.state.issue(&key).is_none() {
        return issue_not_found();
    }
    let Some((i, c)) = find_comment(&call.state, &key, &id) else {
        return comment_not_found();
    };
    if !call.account.can_write {
        return error(
            StatusCode::BAD_REQUEST,
            &["You do not have the permission to edit this comment."],
            &[],
        );
    }
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let adf = match read_comment_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let properties = match super::issues::read_properties(&body) {
        Ok(properties) => properties,
        Err(message) => return error(StatusCode::BAD_REQUEST, &[&message], &[]),
    };
    let now = call.now;
    let author = call.account.account_id.clone();
    let issue = &mut call.state.issues[i];
    let comment = &mut issue.comments[c];
    comment.body = adf;
    comment.updated = now;
    comment.update_author = author;
    if let Some(v) = body.get("visibility") {
        comment.visibility = Some(v.clone()).filter(|v| !v.is_null());
    }
    comment.properties.extend(properties);
    let comment = comment.clone();
    issue.updated = now;
    let s = &*call.state;
    Json(comment_json(s, &s.issues[i], &comment, false)).into_response()
}

/// `DELETE /rest/api/3/issue/{key}/comment/{id}` → 204 (400 without permission, as documented).
pub(super) async fn delete_comment(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
) -> Response {
    let mut call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if call.state.issue(&key).is_none() {
        return issue_not_found();
    }
    let Some((i, c)) = find_comment(&call.state, &key, &id) else {
        return comment_not_found();
    };
    if !call.account.can_write {
        return error(
            StatusCode::BAD_REQUEST,
            &["You do not have the permission to delete this comment."],
            &[],
        );
    }
    let now = call.now;
    let issue = &mut call.state.issues[i];
    issue.comments.remove(c);
    issue.updated = now;
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /rest/api/3/comment/list` `{"ids":[…]}` → PageBean of comments.
pub(super) async fn comment_list(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
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
    let ids: Vec<String> = body
        .get("ids")
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
    if ids.len() > 1000 {
        return error(
            StatusCode::BAD_REQUEST,
            &["The number of comment IDs must not exceed 1000."],
            &[],
        );
    }
    let props = list_param(&query, "expand")
        .iter()
        .any(|e| e == "properties");
    let s = &*call.state;
    let mut values = Vec::new();
    for issue in &s.issues {
        for c in issue
            .comments
            .iter()
            .filter(|c| ids.contains(&c.id.to_string()))
        {
            let v = comment_json(s, issue, c, false);
            values.push(if props { with_properties(v, c) } else { v });
        }
    }
    Json(super::page_bean(
        format!("{}/rest/api/3/comment/list", s.base_url),
        values,
        0,
        1000,
    ))
    .into_response()
}

fn comment_by_id(state: &JiraState, id: &str) -> Option<(usize, usize)> {
    state.issues.iter().enumerate().find_map(|(i, issue)| {
        issue
            .comments
            .iter()
            .position(|c| c.id.to_string() == id)
            .map(|c| (i, c))
    })
}

/// `GET /rest/api/3/comment/{id}/properties` → `{"keys":[…]}`.
pub(super) async fn comment_property_keys(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    let Some((i, c)) = comment_by_id(s, &id) else {
        return comment_not_found();
    };
    let keys: Vec<Value> = s.issues[i].comments[c]
        .properties
        .keys()
        .map(|k| json!({"key": k, "self": format!("{}/rest/api/3/comment/{id}/properties/{k}", s.base_url)}))
        .collect();
    Json(json!({"keys": keys})).into_response()
}

/// `GET /rest/api/3/comment/{id}/properties/{key}`.
pub(super) async fn get_comment_property(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((id, prop)): Path<(String, String)>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    let Some((i, c)) = comment_by_id(s, &id) else {
        return comment_not_found();
    };
    match s.issues[i].comments[c].properties.get(&prop) {
        Some(v) => Json(json!({"key": prop, "value": v})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &[&format!("The property with key '{prop}' does not exist.")],
            &[],
        ),
    }
}

fn check_property(prop: &str, body: &str) -> Result<Value, Response> {
    if prop.is_empty() || prop.chars().count() > 255 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &["The property key cannot be longer than 255 characters."],
            &[],
        ));
    }
    if body.chars().count() > 32_768 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &["The property value cannot be longer than 32768 characters."],
            &[],
        ));
    }
    match serde_json::from_str::<Value>(body) {
        Ok(v) => Ok(v),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            &["The property value must be a valid, non-empty JSON."],
            &[],
        )),
    }
}

/// `PUT /rest/api/3/comment/{id}/properties/{key}` → 201 created / 200 updated.
pub(super) async fn put_comment_property(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((id, prop)): Path<(String, String)>,
    body: String,
) -> Response {
    let mut call = match begin_write(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some((i, c)) = comment_by_id(&call.state, &id) else {
        return comment_not_found();
    };
    let value = match check_property(&prop, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let existed = call.state.issues[i].comments[c]
        .properties
        .insert(prop, value)
        .is_some();
    if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
    .into_response()
}

/// `DELETE /rest/api/3/comment/{id}/properties/{key}` → 204.
pub(super) async fn delete_comment_property(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((id, prop)): Path<(String, String)>,
) -> Response {
    let mut call = match begin_write(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some((i, c)) = comment_by_id(&call.state, &id) else {
        return comment_not_found();
    };
    match call.state.issues[i].comments[c].properties.remove(&prop) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &[&format!("The property with key '{prop}' does not exist.")],
            &[],
        ),
    }
}

/// An Attachment (§B.10).
pub(crate) fn attachment_json(state: &JiraState, a: &Attachment) -> Value {
    json!({
        "self": format!("{}/rest/api/3/attachment/{}", state.base_url, a.id),
        "id": a.id.to_string(),
        "filename": a.filename,
        "author": state.user_json(&a.author),
        "created": jira_time(a.created),
        "size": a.content.len(),
        "mimeType": a.mime_type,
        "content": format!("{}/rest/api/3/attachment/content/{}", state.base_url, a.id),
    })
}

/// The parts of a `multipart/form-data` body: (name, filename, content type, bytes).
/// One multipart part: (name, filename, content type, bytes).
type Part = (String, Option<String>, String, Vec<u8>);

fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let delim = delimiter.as_bytes();
    let find = |hay: &[u8], needle: &[u8], from: usize| -> Option<usize> {
        if needle.len() > hay.len() {
            return None;
        }
        (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
    };
    let mut parts = Vec::new();
    let mut pos = find(body, delim, 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        pos += 2; // CRLF after the delimiter
        let header_end = find(body, b"\r\n\r\n", pos)?;
        let head = String::from_utf8_lossy(&body[pos..header_end]).to_string();
        let content_start = header_end + 4;
        let next = find(body, delim, content_start)?;
        let content_end = next.checked_sub(2)?; // CRLF before the delimiter
        let mut name = String::new();
        let mut filename = None;
        let mut ctype = "application/octet-stream".to_owned();
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for item in line.split(';').map(str::trim) {
                    if let Some(v) = item.strip_prefix("name=") {
                        name = v.trim_matches('"').to_owned();
                    } else if let Some(v) = item.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_owned());
                    }
                }
            } else if lower.starts_with("content-type:") {
                ctype = line["content-type:".len()..].trim().to_owned();
            }
        }
        parts.push((
            name,
            filename,
            ctype,
            body[content_start..content_end].to_vec(),
        ));
        pos = next + delim.len();
    }
    Some(parts)
}

/// `POST /rest/api/3/issue/{key}/attachments` (§B.10): `X-Atlassian-Token: no-check`, part
/// `file`, 200 with an array; 413 over the upload limit or over 60 files.
pub(super) async fn upload(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let mut call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let no_check = headers
        .get("x-atlassian-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("no-check"));
    if !no_check {
        let mut r = (StatusCode::FORBIDDEN, "XSRF check failed").into_response();
        r.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
        return r;
    }
    let Some(idx) = call.state.issue_index(&key) else {
        return issue_not_found();
    };
    if !call.account.can_write {
        return super::forbidden(
            "You do not have permission to create attachments for this issue.",
        );
    }
    if !call.state.attachments_enabled {
        return super::forbidden("Attachments are disabled.");
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &["The request must be multipart/form-data."],
            &[],
        );
    }
    let Some(parts) = multipart(content_type, &body) else {
        return error(
            StatusCode::BAD_REQUEST,
            &["The multipart body could not be read."],
            &[],
        );
    };
    let files: Vec<_> = parts
        .into_iter()
        .filter(|(name, _, _, _)| name == "file")
        .collect();
    if files.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            &["No file was attached. Send the file in a part named 'file'."],
            &[],
        );
    }
    if files.len() > 60 {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &["You can attach at most 60 files in one request."],
            &[],
        );
    }
    let limit = call.state.attachment_upload_limit;
    if let Some((_, name, _, _)) = files
        .iter()
        .find(|(_, _, _, data)| data.len() as u64 > limit)
    {
        let name = name.clone().unwrap_or_default();
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &[&format!("The file '{name}' is too large to attach. The maximum attachment size is {limit} bytes.")],
            &[],
        );
    }
    if call.state.issues[idx].attachments.len() + files.len() > call.state.max_attachments_per_issue
    {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &["The issue has reached the limit of attachments."],
            &[],
        );
    }
    let now = call.now;
    let author = call.account.account_id.clone();
    let issue_id = call.state.issues[idx].id;
    let mut created = Vec::new();
    for (_, filename, ctype, data) in files {
        let id = call.state.next_id();
        let a = Attachment {
            id,
            issue_id,
            filename: filename.unwrap_or_else(|| "file".into()),
            author: author.clone(),
            created: now,
            mime_type: ctype,
            content: data,
        };
        created.push(attachment_json(&call.state, &a));
        call.state.attachments.insert(id, a);
        call.state.issues[idx].attachments.push(id);
    }
    let history_id = call.state.next_id();
    let items = created
        .iter()
        .map(|a| super::ChangeItem {
            field: "Attachment".into(),
            field_id: "attachment".into(),
            fieldtype: "jira".into(),
            from: None,
            from_string: None,
            to: a["id"].as_str().map(str::to_owned),
            to_string: a["filename"].as_str().map(str::to_owned),
        })
        .collect();
    super::issues::record(
        &mut call.state.issues[idx],
        history_id,
        &author,
        now,
        items,
        None,
    );
    Json(created).into_response()
}

/// `GET /rest/api/3/attachment/meta` → `{"enabled","uploadLimit"}`.
pub(super) async fn attachment_meta(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    Json(json!({"enabled": call.state.attachments_enabled, "uploadLimit": call.state.attachment_upload_limit})).into_response()
}

fn attachment_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        &["The attachment with id does not exist or you do not have permission to see it."],
        &[],
    )
}

/// `GET /rest/api/3/attachment/{id}`.
pub(super) async fn attachment_get(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match id
        .parse::<u64>()
        .ok()
        .and_then(|id| call.state.attachments.get(&id))
    {
        Some(a) => Json(attachment_json(&call.state, a)).into_response(),
        None => attachment_not_found(),
    }
}

/// `DELETE /rest/api/3/attachment/{id}` → 204.
pub(super) async fn attachment_delete(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(a) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| call.state.attachments.get(&id))
        .cloned()
    else {
        return attachment_not_found();
    };
    if !call.account.can_write {
        return super::forbidden(
            "You do not have permission to delete attachments for this issue.",
        );
    }
    call.state.attachments.remove(&a.id);
    let now = call.now;
    let author = call.account.account_id.clone();
    let history_id = call.state.next_id();
    if let Some(idx) = call.state.issue_index(&a.issue_id.to_string()) {
        let issue = &mut call.state.issues[idx];
        issue.attachments.retain(|x| *x != a.id);
        let item = super::ChangeItem {
            field: "Attachment".into(),
            field_id: "attachment".into(),
            fieldtype: "jira".into(),
            from: Some(a.id.to_string()),
            from_string: Some(a.filename.clone()),
            to: None,
            to_string: None,
        };
        super::issues::record(issue, history_id, &author, now, vec![item], None);
    }
    StatusCode::NO_CONTENT.into_response()
}

fn media_token(a: &Attachment) -> String {
    format!(
        "{:x}",
        a.id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ a.content.len() as u64
    )
}

fn content_response(a: &Attachment) -> Response {
    let mut r = (StatusCode::OK, a.content.clone()).into_response();
    if let Ok(v) = HeaderValue::from_str(&a.mime_type) {
        r.headers_mut().insert("content-type", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        a.filename.replace('"', "")
    )) {
        r.headers_mut().insert("content-disposition", v);
    }
    r
}

/// `GET /rest/api/3/attachment/content/{id}` (§B.10): 303 to the media store by default,
/// 200 with `redirect=false`.
pub(super) async fn attachment_content(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(a) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| call.state.attachments.get(&id))
    else {
        return attachment_not_found();
    };
    if param(&query, "redirect") == Some("false") {
        return content_response(a);
    }
    let location = format!(
        "{}/media/file/{}/binary?token={}&name={}",
        call.state.base_url,
        a.id,
        media_token(a),
        urlencode(&a.filename)
    );
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert("location", v);
    }
    r
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The "media store" a content download redirects to: no Jira auth, a token in the URL.
pub(super) async fn media_binary(
    State(world): State<Arc<World>>,
    Path(id): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let state = crate::world::lock(&world.jira);
    match id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.attachments.get(&id))
    {
        Some(a) if param(&query, "token") == Some(media_token(a).as_str()) => content_response(a),
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Invalid or expired media token"})),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn remote_link_json(state: &JiraState, issue: &Issue, l: &RemoteLink) -> Value {
    let mut value = json!({
        "id": l.id,
        "self": format!("{}/rest/api/3/issue/{}/remotelink/{}", state.base_url, issue.key, l.id),
        "object": l.object,
    });
    if let Some(g) = &l.global_id {
        value["globalId"] = json!(g);
    }
    if let Some(a) = &l.application {
        value["application"] = a.clone();
    }
    if let Some(r) = &l.relationship {
        value["relationship"] = json!(r);
    }
    value
}

/// A remote link body: (globalId, application, relationship, object).
type LinkIn = (Option<String>, Option<Value>, Option<String>, Value);

fn read_remote_link(body: &Value) -> Result<LinkIn, Response> {
    let mut errors = Vec::new();
    let object = body.get("object").cloned().unwrap_or(Value::Null);
    if object
        .get("url")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        errors.push(("url", "'url' is required.".to_owned()));
    }
    if object
        .get("title")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        errors.push(("title", "'title' is required.".to_owned()));
    }
    let global_id = body
        .get("globalId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if global_id.as_ref().is_some_and(|g| g.chars().count() > 255) {
        errors.push((
            "globalId",
            "'globalId' must be less than 255 characters.".to_owned(),
        ));
    }
    if !errors.is_empty() {
        return Err(error(StatusCode::BAD_REQUEST, &[], &errors));
    }
    Ok((
        global_id,
        body.get("application").cloned().filter(|v| !v.is_null()),
        body.get("relationship")
            .and_then(Value::as_str)
            .map(str::to_owned),
        object,
    ))
}

/// `POST /rest/api/3/issue/{key}/remotelink` (§B.11): upsert by `globalId` — 201 created,
/// 200 updated (omitted fields nulled); `{"id":n,"self"}`.
pub(super) async fn upsert_remote_link(
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
        return super::forbidden("You do not have permission to link issues.");
    }
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (global_id, application, relationship, object) = match read_remote_link(&body) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let existing = global_id.as_ref().and_then(|g| {
        call.state.issues[idx]
            .remote_links
            .iter()
            .position(|l| l.global_id.as_ref() == Some(g))
    });
    if existing.is_none()
        && call.state.issues[idx].remote_links.len() >= call.state.max_remote_links_per_issue
    {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &["The issue has reached the limit of remote links."],
            &[],
        );
    }
    let id = match existing {
        Some(p) => call.state.issues[idx].remote_links[p].id,
        None => call.state.next_id(),
    };
    let link = RemoteLink {
        id,
        global_id,
        application,
        relationship,
        object,
    };
    let bump = call.state.remote_links_bump_updated;
    let now = call.now;
    let base = call.state.base_url.clone();
    let issue = &mut call.state.issues[idx];
    let status = match existing {
        Some(p) => {
            issue.remote_links[p] = link;
            StatusCode::OK
        }
        None => {
            issue.remote_links.push(link);
            StatusCode::CREATED
        }
    };
    if bump {
        issue.updated = now;
    }
    (status, Json(json!({"id": id, "self": format!("{base}/rest/api/3/issue/{}/remotelink/{id}", issue.key)}))).into_response()
}

/// `GET /rest/api/3/issue/{key}/remotelink[?globalId=]`.
pub(super) async fn remote_links(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    let Some(issue) = s.issue(&key) else {
        return issue_not_found();
    };
    match param(&query, "globalId") {
        Some(g) => match issue
            .remote_links
            .iter()
            .find(|l| l.global_id.as_deref() == Some(g))
        {
            Some(l) => Json(remote_link_json(s, issue, l)).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                &["No remote link with the given globalId was found."],
                &[],
            ),
        },
        None => Json(
            issue
                .remote_links
                .iter()
                .map(|l| remote_link_json(s, issue, l))
                .collect::<Vec<_>>(),
        )
        .into_response(),
    }
}

fn link_position(state: &JiraState, idx: usize, id: &str) -> Option<usize> {
    state.issues[idx]
        .remote_links
        .iter()
        .position(|l| l.id.to_string() == id)
}

fn link_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        &["The remote issue link was not found."],
        &[],
    )
}

/// `GET /rest/api/3/issue/{key}/remotelink/{id}`.
pub(super) async fn get_remote_link(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    let Some(idx) = s.issue_index(&key) else {
        return issue_not_found();
    };
    match link_position(s, idx, &id) {
        Some(p) => Json(remote_link_json(
            s,
            &s.issues[idx],
            &s.issues[idx].remote_links[p],
        ))
        .into_response(),
        None => link_not_found(),
    }
}

/// `PUT /rest/api/3/issue/{key}/remotelink/{id}` → 204.
pub(super) async fn put_remote_link(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
    body: String,
) -> Response {
    let mut call = match begin_write(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(idx) = call.state.issue_index(&key) else {
        return issue_not_found();
    };
    let Some(p) = link_position(&call.state, idx, &id) else {
        return link_not_found();
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (global_id, application, relationship, object) = match read_remote_link(&body) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let bump = call.state.remote_links_bump_updated;
    let now = call.now;
    let issue = &mut call.state.issues[idx];
    let link_id = issue.remote_links[p].id;
    issue.remote_links[p] = RemoteLink {
        id: link_id,
        global_id,
        application,
        relationship,
        object,
    };
    if bump {
        issue.updated = now;
    }
    StatusCode::NO_CONTENT.into_response()
}

fn remove_link(call: &mut super::Call<'_>, idx: usize, p: usize) -> Response {
    let bump = call.state.remote_links_bump_updated;
    let now = call.now;
    let issue = &mut call.state.issues[idx];
    issue.remote_links.remove(p);
    if bump {
        issue.updated = now;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /rest/api/3/issue/{key}/remotelink/{id}` → 204.
pub(super) async fn delete_remote_link(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, id)): Path<(String, String)>,
) -> Response {
    let mut call = match begin_write(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(idx) = call.state.issue_index(&key) else {
        return issue_not_found();
    };
    match link_position(&call.state, idx, &id) {
        Some(p) => remove_link(&mut call, idx, p),
        None => link_not_found(),
    }
}

/// `DELETE /rest/api/3/issue/{key}/remotelink?globalId=` → 204.
pub(super) async fn delete_remote_link_by_global(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    axum::extract::Query(query): Query,
) -> Response {
    let mut call = match begin_write(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(idx) = call.state.issue_index(&key) else {
        return issue_not_found();
    };
    let Some(g) = param(&query, "globalId") else {
        return error(
            StatusCode::BAD_REQUEST,
            &["The globalId parameter is required."],
            &[],
        );
    };
    match call.state.issues[idx]
        .remote_links
        .iter()
        .position(|l| l.global_id.as_deref() == Some(g))
    {
        Some(p) => remove_link(&mut call, idx, p),
        None => link_not_found(),
    }
}

/// `GET /rest/api/3/issue/{key}/properties` → `{"keys":[{key,self}]}`.
pub(super) async fn property_keys(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    let Some(issue) = s.issue(&key) else {
        return issue_not_found();
    };
    let keys: Vec<Value> = issue
        .properties
        .keys()
        .map(|k| json!({"key": k, "self": format!("{}/rest/api/3/issue/{}/properties/{k}", s.base_url, issue.id)}))
        .collect();
    Json(json!({"keys": keys})).into_response()
}

/// `PUT /rest/api/3/issue/{key}/properties/{prop}` (§B.12): raw JSON ≤32768 chars → 201 / 200.
/// Does not move `updated` (§B.6).
pub(super) async fn put_property(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, prop)): Path<(String, String)>,
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
        return super::forbidden("You do not have permission to edit this issue.");
    }
    let value = match check_property(&prop, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let existed = call.state.issues[idx]
        .properties
        .insert(prop, value)
        .is_some();
    if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
    .into_response()
}

/// `GET /rest/api/3/issue/{key}/properties/{prop}` → `{"key","value"}`.
pub(super) async fn get_property(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, prop)): Path<(String, String)>,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(issue) = call.state.issue(&key) else {
        return issue_not_found();
    };
    match issue.properties.get(&prop) {
        Some(v) => Json(json!({"key": prop, "value": v})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &[&format!("The property with key '{prop}' does not exist.")],
            &[],
        ),
    }
}

/// `DELETE /rest/api/3/issue/{key}/properties/{prop}` → 204.
pub(super) async fn delete_property(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((key, prop)): Path<(String, String)>,
) -> Response {
    let mut call = match begin_write(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(idx) = call.state.issue_index(&key) else {
        return issue_not_found();
    };
    match call.state.issues[idx].properties.remove(&prop) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &[&format!("The property with key '{prop}' does not exist.")],
            &[],
        ),
    }
}

fn find_users(state: &JiraState, query: &str, active_only: bool) -> Vec<Value> {
    let q = query.to_lowercase();
    state
        .users
        .iter()
        .filter(|u| !active_only || u.active)
        .filter(|u| {
            let email = u.email.to_lowercase();
            let visible_match = u.email_visible && email.starts_with(&q);
            let name_match = u
                .display_name
                .to_lowercase()
                .split_whitespace()
                .any(|w| w.starts_with(&q))
                || u.display_name.to_lowercase().starts_with(&q);
            visible_match || name_match || email == q
        })
        .map(|u| state.user_json(&u.account_id))
        .collect()
}

/// `GET /rest/api/3/user/search?query=` (§B.13): prefix of name or visible email, exact hidden
/// email; `[]` without *Browse users and groups*; exactly one of query/accountId/property.
pub(super) async fn user_search(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, max) = match super::paging(&query, 50, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let given = ["query", "accountId", "property"]
        .iter()
        .filter(|p| param(&query, p).is_some())
        .count();
    if given != 1 {
        return error(
            StatusCode::BAD_REQUEST,
            &["One of 'query', 'accountId' or 'property' query parameters must be provided."],
            &[],
        );
    }
    if !call.account.browse_users {
        return Json(json!([])).into_response();
    }
    let s = &*call.state;
    let found = match (param(&query, "query"), param(&query, "accountId")) {
        (Some(q), _) => find_users(s, q, true),
        (_, Some(id)) => s
            .user(id)
            .map(|u| vec![s.user_json(&u.account_id)])
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Json(
        found
            .into_iter()
            .take(1000)
            .skip(start)
            .take(max)
            .collect::<Vec<_>>(),
    )
    .into_response()
}

/// `GET /rest/api/3/user/assignable/search?project=&query=`.
pub(super) async fn assignable_search(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    let (start, max) = match super::paging(&query, 50, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let found: Vec<Value> = find_users(s, param(&query, "query").unwrap_or_default(), true)
        .into_iter()
        .filter(|u| u["accountType"] == "atlassian")
        .skip(start)
        .take(max)
        .collect();
    Json(found).into_response()
}

/// `GET /rest/api/3/user?accountId=`.
pub(super) async fn user_get(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    match param(&query, "accountId").and_then(|id| s.user(id)) {
        Some(u) => Json(s.user_json(&u.account_id)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &["Specified user does not exist or you do not have required permissions"],
            &[],
        ),
    }
}

#[cfg(test)]
mod unit {
    #[test]
    fn multipart_parts_are_read() {
        let body = b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XYZ--\r\n";
        let parts = super::multipart("multipart/form-data; boundary=XYZ", body).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0, "file");
        assert_eq!(parts[0].1.as_deref(), Some("a.txt"));
        assert_eq!(parts[0].3, b"hello");
    }
}
