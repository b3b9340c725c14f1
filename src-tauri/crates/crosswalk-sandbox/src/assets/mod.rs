//! Jira Service Management Assets REST (api/atlassian.md §D) for one workspace.
//!
//! Served under both `/jsm/assets/workspace/{workspaceId}/v1/...` (the REST guide's form) and
//! `/ex/jira/{cloudId}/jsm/assets/workspace/{workspaceId}/v1/...` (the OpenAPI `servers` form),
//! §D.2. Auth is the Jira site's Basic auth (accounts live in [`crate::jira::JiraState`], so
//! handlers lock Jira first, then Assets); a wrong/missing credential gets the gateway's JSON 401
//! (§A.5), an account without Assets access 403. All ids are strings (§D.2); new object types get
//! Key / Name / Created / Updated (§D.4); references are created with `typeValue` +
//! `additionalValue` and read back as `referenceObjectTypeId` / `referenceType` (§D.5); object
//! create answers without attributes (§D.6); validation errors are keyed
//! `rlabs-insight-attribute-{id}` (§E); AQL is in [`aql`] (§D.7); rate limits (a simple
//! workspace budget, or the documented per-endpoint ones) and per-endpoint request counts are in
//! [`limits`] (§D.10).

// Handlers answer `Result<_, Response>`: the error is the finished HTTP answer.
#![allow(clippy::result_large_err)]

mod aql;
#[cfg(test)]
mod index_tests;
pub mod limits;
#[cfg(test)]
mod limits_tests;
mod store;
#[cfg(test)]
mod tests;

pub use limits::{AssetsLimits, EndpointCount};
pub use store::Objects;

use crate::generator::jira::JiraSeed;
use crate::jira::{AssetsRole, JiraState, RateLimit, RateWindow};
use crate::world::{lock, World};
use crate::SandboxUrls;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, MutexGuard};
use time::OffsetDateTime;

/// An object schema (§D.3).
#[derive(Debug, Clone)]
pub struct Schema {
    pub id: u64,
    pub name: String,
    pub key: String,
    pub description: String,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    /// Last number used in object keys (`{KEY}-{n}`).
    pub key_counter: u64,
}

/// An object type (§D.4).
#[derive(Debug, Clone)]
pub struct ObjectType {
    pub id: u64,
    pub schema_id: u64,
    pub name: String,
    pub description: String,
    pub icon_id: String,
    pub parent_id: Option<u64>,
    pub inherited: bool,
    pub abstract_type: bool,
    pub position: i64,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// An object type attribute (§D.5).
#[derive(Debug, Clone)]
pub struct Attribute {
    pub id: u64,
    pub object_type_id: u64,
    pub name: String,
    pub description: String,
    pub label: bool,
    /// 0 default, 1 object reference, 2 user, 4 group, 7 status.
    pub kind: i64,
    pub default_type_id: Option<i64>,
    /// Reference: the referenced object type id.
    pub type_value: Option<String>,
    pub type_value_multi: Vec<String>,
    /// Reference: the reference type id; URL / User options.
    pub additional_value: Option<String>,
    pub min: i64,
    pub max: i64,
    pub unique: bool,
    pub options: String,
    pub regex: Option<String>,
    pub suffix: String,
    pub summable: bool,
    pub hidden: bool,
    pub system: bool,
    pub editable: bool,
    pub include_children: bool,
    pub ql_query: Option<String>,
    pub position: i64,
}

/// An object; values by attribute id, always strings (§D.6). Key/Created/Updated are computed.
#[derive(Debug, Clone)]
pub struct Object {
    pub id: u64,
    pub object_type_id: u64,
    pub key: String,
    pub values: BTreeMap<u64, Vec<String>>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    /// The creation entry, then the latest updates: at most [`HISTORY_LIMIT`] entries.
    pub history: Vec<HistoryEntry>,
}

/// How many history entries an object keeps: its creation and the latest updates (a million
/// objects each updated on every sync run must not grow without bound).
pub const HISTORY_LIMIT: usize = 10;

/// One entry of an object's history (`GET /object/{id}/history`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: u64,
    /// 0 created, 2 values changed.
    pub kind: i64,
    pub created: OffsetDateTime,
}

impl HistoryEntry {
    fn json(&self, object_id: u64) -> Value {
        json!({"id": self.id.to_string(), "type": self.kind, "created": assets_time(self.created), "objectId": object_id.to_string()})
    }
}

/// A status type (§D.8): category 0 inactive, 1 active, 2 pending.
#[derive(Debug, Clone)]
pub struct StatusType {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub category: i64,
    pub schema_id: Option<u64>,
}

/// A reference type (§D.8).
#[derive(Debug, Clone)]
pub struct ReferenceType {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub color: String,
    pub schema_id: Option<u64>,
}

/// The Assets workspace's state.
#[derive(Debug)]
pub struct AssetsState {
    pub workspace_id: String,
    pub cloud_id: String,
    pub base_url: String,
    pub schemas: Vec<Schema>,
    pub object_types: Vec<ObjectType>,
    pub attributes: Vec<Attribute>,
    /// Objects in creation order, indexed (see [`Objects`]).
    pub objects: Objects,
    pub status_types: Vec<StatusType>,
    pub reference_types: Vec<ReferenceType>,
    /// Requests per minute for the whole workspace (§D.10); `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    pub(crate) rate_window: RateWindow,
    /// The documented per-endpoint limits (§D.10); `None` (default) = unlimited.
    pub limits: Option<AssetsLimits>,
    /// The limiter's windows and per-endpoint request counts.
    pub(crate) usage: limits::Usage,
    /// [UNSURE] largest `maxResults` of `/object/aql` (not in the spec, §I): larger values are
    /// silently capped.
    pub aql_max_results: usize,
    /// [UNSURE] whether AQL pages still carry the deprecated `total` (§D.7): default yes.
    pub aql_include_total: bool,
    /// [UNSURE] reject a second object with the same label in a type (not Assets' default).
    pub unique_labels: bool,
    next_id: u64,
}

const ICONS: [(&str, &str); 12] = [
    ("1", "Avatar"),
    ("2", "Building"),
    ("3", "Laptop"),
    ("4", "Server"),
    ("5", "User"),
    ("6", "Users"),
    ("7", "Application"),
    ("8", "Phone"),
    ("9", "Network"),
    ("10", "Printer"),
    ("11", "Key"),
    ("13", "Office"),
];

const DEFAULT_TYPES: [&str; 12] = [
    "Text",
    "Integer",
    "Boolean",
    "Double",
    "Date",
    "Time",
    "DateTime",
    "URL",
    "Email",
    "Textarea",
    "Select",
    "IP Address",
];

/// Assets' timestamp format (`2021-02-16T20:04:41.527Z`).
pub fn assets_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// An error answer: status + `{"errorMessages","errors"}`.
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, Value);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

fn fail(status: StatusCode, messages: &[&str], errors: &[(String, String)]) -> ApiError {
    let errors: serde_json::Map<String, Value> =
        errors.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    ApiError(status, json!({"errorMessages": messages, "errors": errors}))
}

fn bad(message: &str) -> ApiError {
    fail(StatusCode::BAD_REQUEST, &[message], &[])
}

fn not_found(what: &str, id: &str) -> ApiError {
    fail(
        StatusCode::NOT_FOUND,
        &[&format!("{what} with id {id} was not found")],
        &[],
    )
}

/// A number sent as a number or a string (the spec's own examples send strings, §D.5).
fn num(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn flag(value: Option<&Value>, default: bool) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => default,
    }
}

impl AssetsState {
    /// State over a generated workspace: the global statuses and reference types, and the
    /// pre-existing schema(s) of the seed.
    pub fn new(seed: &JiraSeed, urls: &SandboxUrls) -> AssetsState {
        let now = OffsetDateTime::now_utc();
        let statuses = [
            ("Active", 1),
            ("Closed", 0),
            ("In Service", 1),
            ("Running", 1),
            ("Stopped", 0),
            ("Support Requested", 2),
            ("Action Needed", 2),
        ];
        let references = [
            ("Link", "#6554C0"),
            ("Installed", "#36B37E"),
            ("Depends on", "#FF5630"),
            ("Reference", "#0065FF"),
            ("Owner", "#FFAB00"),
            ("Location", "#00B8D9"),
        ];
        let mut state = AssetsState {
            workspace_id: seed.assets.workspace_id.clone(),
            cloud_id: seed.cloud_id.clone(),
            base_url: urls.assets.as_str().trim_end_matches('/').to_owned(),
            schemas: Vec::new(),
            object_types: Vec::new(),
            attributes: Vec::new(),
            objects: Objects::default(),
            status_types: statuses
                .iter()
                .enumerate()
                .map(|(i, (name, category))| StatusType {
                    id: i as u64 + 1,
                    name: (*name).into(),
                    description: String::new(),
                    category: *category,
                    schema_id: None,
                })
                .collect(),
            reference_types: references
                .iter()
                .enumerate()
                .map(|(i, (name, color))| ReferenceType {
                    id: i as u64 + 1,
                    name: (*name).into(),
                    description: String::new(),
                    color: (*color).into(),
                    schema_id: None,
                })
                .collect(),
            rate_limit: None,
            rate_window: RateWindow::default(),
            limits: None,
            usage: limits::Usage::default(),
            aql_max_results: 1000,
            aql_include_total: true,
            unique_labels: false,
            next_id: 100,
        };
        for schema in &seed.assets.schemas {
            let schema_id = state
                .create_schema(now, &json!({"name": schema.name, "objectSchemaKey": schema.key, "description": schema.description}))
                .expect("seed schema is valid");
            for t in &schema.object_types {
                let type_id = state
                    .create_type(now, &json!({"name": t.name, "description": t.description, "iconId": t.icon_id, "objectSchemaId": schema_id.to_string()}))
                    .expect("seed type is valid");
                for a in &t.attributes {
                    let mut body =
                        json!({"name": a.name, "type": a.kind, "uniqueAttribute": a.unique});
                    if a.kind == 0 {
                        body["defaultTypeId"] = json!(a.default_type_id);
                    }
                    if !a.options.is_empty() {
                        body["options"] = json!(a.options);
                    }
                    state
                        .create_attribute(now, type_id, &body)
                        .expect("seed attribute is valid");
                }
                for object in &t.objects {
                    let attributes: Vec<Value> = object
                        .iter()
                        .filter_map(|(name, value)| {
                            let attr = state.attributes.iter().find(|a| a.object_type_id == type_id && a.name == *name)?;
                            Some(json!({"objectTypeAttributeId": attr.id.to_string(), "objectAttributeValues": [{"value": value}]}))
                        })
                        .collect();
                    state
                        .write_object(
                            now,
                            &|_| true,
                            None,
                            &json!({"objectTypeId": type_id.to_string(), "attributes": attributes}),
                        )
                        .expect("seed object is valid");
                }
            }
        }
        state
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn schema(&self, id: u64) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id == id)
    }

    pub fn object_type(&self, id: u64) -> Option<&ObjectType> {
        self.object_types.iter().find(|t| t.id == id)
    }

    pub fn attribute(&self, id: u64) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.id == id)
    }

    pub fn object(&self, id: u64) -> Option<&Object> {
        self.objects.get(id)
    }

    /// Object by id or key (keys are `{SCHEMA}-{n}`, never an id).
    pub fn object_by_ref(&self, reference: &str) -> Option<&Object> {
        reference
            .parse::<u64>()
            .ok()
            .and_then(|id| self.objects.get(id))
            .filter(|o| o.id.to_string() == reference)
            .or_else(|| self.objects.by_key(reference))
    }

    /// Rebuilds the object indexes: needed only after changing `objects`' attributes' `unique`
    /// or `label` flags directly (the API's own edits keep them right).
    pub fn rebuild_indexes(&mut self) {
        self.objects.rebuild(&self.attributes, self.unique_labels);
    }

    /// The attributes of a type, own and inherited (parents first when `inherited`).
    pub fn type_attributes(&self, type_id: u64) -> Vec<&Attribute> {
        let mut chain = vec![type_id];
        let mut current = self.object_type(type_id);
        while let Some(t) = current {
            match t.parent_id {
                Some(p) if t.inherited => {
                    chain.push(p);
                    current = self.object_type(p);
                }
                _ => break,
            }
        }
        let mut attrs: Vec<&Attribute> = Vec::new();
        for t in chain.iter().rev() {
            for a in self.attributes.iter().filter(|a| a.object_type_id == *t) {
                // A child's system attributes replace the parent's of the same name.
                attrs.retain(|x| !(x.system && a.system && x.name == a.name));
                attrs.push(a);
            }
        }
        attrs.sort_by_key(|a| (a.position, a.id));
        attrs
    }

    /// The label (Name) of an object.
    pub fn label(&self, object: &Object) -> String {
        self.type_attributes(object.object_type_id)
            .iter()
            .find(|a| a.label)
            .and_then(|a| object.values.get(&a.id))
            .and_then(|v| v.first().cloned())
            .unwrap_or_default()
    }

    /// `POST /objectschema/create` body → new schema id.
    pub(crate) fn create_schema(
        &mut self,
        now: OffsetDateTime,
        body: &Value,
    ) -> Result<u64, ApiError> {
        let name = text(body.get("name")).unwrap_or_default();
        let key = text(body.get("objectSchemaKey")).unwrap_or_default();
        let mut errors = Vec::new();
        if name.trim().is_empty() {
            errors.push((
                "name".to_owned(),
                "The object schema name is required.".to_owned(),
            ));
        } else if self
            .schemas
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(&name))
        {
            errors.push((
                "name".to_owned(),
                format!("An object schema with the name \"{name}\" already exists."),
            ));
        }
        let key_ok = (2..=10).contains(&key.len())
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && key.starts_with(|c: char| c.is_ascii_uppercase());
        if !key_ok {
            errors.push(("objectSchemaKey".to_owned(), "The key must be 2-10 characters, upper-case letters and digits, starting with a letter.".to_owned()));
        } else if self.schemas.iter().any(|s| s.key == key) {
            errors.push((
                "objectSchemaKey".to_owned(),
                format!("An object schema with the key \"{key}\" already exists."),
            ));
        }
        if !errors.is_empty() {
            let messages: Vec<&str> = errors.iter().map(|(_, m)| m.as_str()).collect();
            return Err(fail(StatusCode::BAD_REQUEST, &messages, &errors));
        }
        let id = self.next_id();
        self.schemas.push(Schema {
            id,
            name,
            key,
            description: text(body.get("description")).unwrap_or_default(),
            created: now,
            updated: now,
            key_counter: 0,
        });
        Ok(id)
    }

    /// `POST /objecttype/create` body → new type id, with Key/Name/Created/Updated attributes.
    pub(crate) fn create_type(
        &mut self,
        now: OffsetDateTime,
        body: &Value,
    ) -> Result<u64, ApiError> {
        let name = text(body.get("name")).unwrap_or_default();
        let schema_id = num(body.get("objectSchemaId"));
        let icon = text(body.get("iconId"));
        let mut errors = Vec::new();
        if name.trim().is_empty() {
            errors.push((
                "name".to_owned(),
                "The object type name is required.".to_owned(),
            ));
        }
        if icon.is_none() {
            errors.push(("iconId".to_owned(), "An icon is required.".to_owned()));
        } else if !ICONS.iter().any(|(id, _)| Some(*id) == icon.as_deref()) {
            errors.push((
                "iconId".to_owned(),
                format!(
                    "Icon with id {} was not found.",
                    icon.clone().unwrap_or_default()
                ),
            ));
        }
        let schema = schema_id.and_then(|id| self.schema(id as u64).cloned());
        match &schema {
            None => errors.push((
                "objectSchemaId".to_owned(),
                "A valid object schema id is required.".to_owned(),
            )),
            Some(s) => {
                if self
                    .object_types
                    .iter()
                    .any(|t| t.schema_id == s.id && t.name.eq_ignore_ascii_case(name.trim()))
                {
                    errors.push(("name".to_owned(), format!("An object type with the name \"{}\" already exists in this object schema.", name.trim())));
                }
            }
        }
        let parent = num(body.get("parentObjectTypeId")).map(|p| p as u64);
        if let (Some(p), Some(s)) = (parent, &schema) {
            if self.object_type(p).is_none_or(|t| t.schema_id != s.id) {
                errors.push((
                    "parentObjectTypeId".to_owned(),
                    format!("Object type with id {p} was not found in this object schema."),
                ));
            }
        }
        if !errors.is_empty() {
            let messages: Vec<&str> = errors.iter().map(|(_, m)| m.as_str()).collect();
            return Err(fail(StatusCode::BAD_REQUEST, &messages, &errors));
        }
        let schema = schema.expect("checked");
        let id = self.next_id();
        let position = self
            .object_types
            .iter()
            .filter(|t| t.schema_id == schema.id && t.parent_id == parent)
            .count() as i64;
        self.object_types.push(ObjectType {
            id,
            schema_id: schema.id,
            name: name.trim().to_owned(),
            description: text(body.get("description")).unwrap_or_default(),
            icon_id: icon.unwrap_or_default(),
            parent_id: parent,
            inherited: flag(body.get("inherited"), false),
            abstract_type: flag(body.get("abstractObjectType"), false),
            position,
            created: now,
            updated: now,
        });
        let system = [
            ("Key", 0, true, false),
            ("Name", 0, false, true),
            ("Created", 6, true, false),
            ("Updated", 6, true, false),
        ];
        for (position, (name, default_type, is_system, label)) in system.into_iter().enumerate() {
            let attr_id = self.next_id();
            self.attributes.push(Attribute {
                id: attr_id,
                object_type_id: id,
                name: name.into(),
                description: if label {
                    "The name of the object".into()
                } else {
                    String::new()
                },
                label,
                kind: 0,
                default_type_id: Some(default_type),
                type_value: None,
                type_value_multi: Vec::new(),
                additional_value: None,
                min: i64::from(label),
                max: 1,
                unique: false,
                options: String::new(),
                regex: None,
                suffix: String::new(),
                summable: false,
                hidden: false,
                system: is_system,
                editable: !is_system,
                include_children: false,
                ql_query: None,
                position: position as i64,
            });
        }
        Ok(id)
    }

    /// `POST /objecttypeattribute/{objectTypeId}` body → new attribute id.
    pub(crate) fn create_attribute(
        &mut self,
        now: OffsetDateTime,
        type_id: u64,
        body: &Value,
    ) -> Result<u64, ApiError> {
        let Some(object_type) = self.object_type(type_id).cloned() else {
            return Err(not_found("ObjectType", &type_id.to_string()));
        };
        let name = text(body.get("name")).unwrap_or_default().trim().to_owned();
        let kind = num(body.get("type"));
        let mut errors: Vec<(String, String)> = Vec::new();
        if name.is_empty() {
            errors.push(("name".into(), "The attribute name is required.".into()));
        } else if self
            .type_attributes(type_id)
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(&name))
        {
            errors.push((
                "name".into(),
                format!(
                    "An attribute with the name \"{name}\" already exists on this object type."
                ),
            ));
        }
        let default_type_id = num(body.get("defaultTypeId"));
        let type_value = text(body.get("typeValue"));
        let additional_value = text(body.get("additionalValue"));
        match kind {
            Some(0) => match default_type_id {
                Some(d) if (0..=11).contains(&d) || d == -1 => {}
                _ => errors.push((
                    "defaultTypeId".into(),
                    "defaultTypeId is mandatory for a Default attribute (0-11).".into(),
                )),
            },
            Some(1) => {
                let target = type_value
                    .as_deref()
                    .and_then(|v| v.parse::<u64>().ok())
                    .and_then(|id| self.object_type(id));
                if target.is_none() {
                    errors.push((
                        "typeValue".into(),
                        "typeValue must be the id of the referenced object type.".into(),
                    ));
                }
                let reference = additional_value
                    .as_deref()
                    .and_then(|v| v.parse::<u64>().ok())
                    .and_then(|id| self.reference_types.iter().find(|r| r.id == id));
                if reference.is_none() {
                    errors.push((
                        "additionalValue".into(),
                        "additionalValue must be the id of a reference type.".into(),
                    ));
                }
            }
            Some(2 | 4 | 7) => {}
            _ => errors.push((
                "type".into(),
                "type must be 0 (Default), 1 (Object), 2 (User), 4 (Group) or 7 (Status).".into(),
            )),
        }
        let type_value_multi: Vec<String> = body
            .get("typeValueMulti")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| text(Some(v)))
            .collect();
        if kind == Some(7) {
            for s in &type_value_multi {
                if !self.status_types.iter().any(|st| st.id.to_string() == *s) {
                    errors.push((
                        "typeValueMulti".into(),
                        format!("Status with id {s} was not found."),
                    ));
                }
            }
        }
        let options = text(body.get("options")).unwrap_or_default();
        if kind == Some(0) && default_type_id == Some(10) && options.trim().is_empty() {
            errors.push((
                "options".into(),
                "A Select attribute needs options (comma-separated).".into(),
            ));
        }
        let min = num(body.get("minimumCardinality")).unwrap_or(0);
        let max = num(body.get("maximumCardinality")).unwrap_or(1);
        if min < 0 || (max != -1 && max < min.max(1)) {
            errors.push(("maximumCardinality".into(), "The maximum cardinality must be -1 (unlimited) or at least the minimum cardinality.".into()));
        }
        if !errors.is_empty() {
            let messages: Vec<&str> = errors.iter().map(|(_, m)| m.as_str()).collect();
            return Err(fail(StatusCode::BAD_REQUEST, &messages, &errors));
        }
        let kind = kind.expect("checked");
        let label = flag(body.get("label"), false);
        if label {
            for a in self
                .attributes
                .iter_mut()
                .filter(|a| a.object_type_id == type_id)
            {
                a.label = false;
            }
        }
        let reindex = label && self.objects.labels_indexed();
        let id = self.next_id();
        let position = self
            .attributes
            .iter()
            .filter(|a| a.object_type_id == type_id)
            .count() as i64;
        self.attributes.push(Attribute {
            id,
            object_type_id: type_id,
            name,
            description: text(body.get("description")).unwrap_or_default(),
            label,
            kind,
            default_type_id: if kind == 0 { default_type_id } else { None },
            type_value: if kind == 1 { type_value } else { None },
            type_value_multi,
            additional_value,
            min,
            max,
            unique: flag(body.get("uniqueAttribute"), false),
            options,
            regex: text(body.get("regexValidation")).filter(|r| !r.is_empty()),
            suffix: text(body.get("suffix")).unwrap_or_default(),
            summable: flag(body.get("summable"), false),
            hidden: flag(body.get("hidden"), false),
            system: false,
            editable: true,
            include_children: flag(body.get("includeChildObjectTypes"), false),
            ql_query: text(body.get("qlQuery"))
                .or_else(|| text(body.get("iql")))
                .filter(|q| !q.is_empty()),
            position,
        });
        if let Some(t) = self
            .object_types
            .iter_mut()
            .find(|t| t.id == object_type.id)
        {
            t.updated = now;
        }
        if reindex {
            self.rebuild_indexes();
        }
        Ok(id)
    }

    /// Checks one value of an attribute and returns its stored form.
    fn check_value(
        &self,
        attr: &Attribute,
        is_user: &dyn Fn(&str) -> bool,
        value: &str,
    ) -> Result<String, String> {
        let v = value.trim();
        let invalid = || {
            format!(
                "The value \"{value}\" is not valid for the attribute \"{}\".",
                attr.name
            )
        };
        match attr.kind {
            0 => match attr.default_type_id.unwrap_or(0) {
                1 => v
                    .parse::<i64>()
                    .map(|n| n.to_string())
                    .map_err(|_| invalid()),
                2 => match v.to_ascii_lowercase().as_str() {
                    "true" | "false" => Ok(v.to_ascii_lowercase()),
                    _ => Err(invalid()),
                },
                3 => v
                    .parse::<f64>()
                    .map(|_| v.to_owned())
                    .map_err(|_| invalid()),
                4 => {
                    let date = v.get(..10).unwrap_or(v);
                    crate::jira::parse_date_pub(date)
                        .map(|_| date.to_owned())
                        .ok_or_else(invalid)
                }
                5 => {
                    let ok =
                        v.split(':').count() >= 2 && v.split(':').all(|p| p.parse::<u8>().is_ok());
                    if ok {
                        Ok(v.to_owned())
                    } else {
                        Err(invalid())
                    }
                }
                6 => crate::jira::parse_datetime_pub(v)
                    .map(assets_time)
                    .ok_or_else(invalid),
                7 => url::Url::parse(v)
                    .map(|_| v.to_owned())
                    .map_err(|_| invalid()),
                8 => {
                    let ok = v.split_once('@').is_some_and(|(l, d)| {
                        !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
                    }) && !v.contains(' ');
                    if ok {
                        Ok(v.to_owned())
                    } else {
                        Err(invalid())
                    }
                }
                10 => attr
                    .options
                    .split(',')
                    .map(str::trim)
                    .find(|o| *o == v)
                    .map(str::to_owned)
                    .ok_or_else(invalid),
                11 => v
                    .parse::<std::net::IpAddr>()
                    .map(|_| v.to_owned())
                    .map_err(|_| invalid()),
                0 if v.chars().count() > 255 => Err(format!(
                    "The value of \"{}\" is too long (at most 255 characters).",
                    attr.name
                )),
                _ => Ok(value.to_owned()),
            },
            1 => {
                let target: Option<u64> = attr.type_value.as_deref().and_then(|t| t.parse().ok());
                let object = self
                    .object_by_ref(v)
                    .ok_or_else(|| format!("The referenced object \"{v}\" was not found."))?;
                let allowed = Some(object.object_type_id) == target
                    || (attr.include_children
                        && self.is_descendant(object.object_type_id, target.unwrap_or_default()));
                if allowed {
                    Ok(object.id.to_string())
                } else {
                    Err(format!("The referenced object \"{v}\" is not of the object type the attribute \"{}\" refers to.", attr.name))
                }
            }
            2 => {
                if is_user(v) {
                    Ok(v.to_owned())
                } else {
                    Err(format!("The user \"{v}\" was not found in Jira."))
                }
            }
            4 => {
                if v.is_empty() {
                    Err("Invalid Group(s)".into())
                } else {
                    Ok(v.to_owned())
                }
            }
            7 => {
                let schema = self.object_type(attr.object_type_id).map(|t| t.schema_id);
                let status = self.status_types.iter().find(|s| {
                    s.id.to_string() == v && (s.schema_id.is_none() || s.schema_id == schema)
                });
                match status {
                    Some(s)
                        if attr.type_value_multi.is_empty()
                            || attr.type_value_multi.contains(&s.id.to_string()) =>
                    {
                        Ok(s.id.to_string())
                    }
                    Some(_) => Err("Invalid due to restrictions".into()),
                    None => Err(format!("The status \"{v}\" was not found.")),
                }
            }
            _ => Ok(value.to_owned()),
        }
    }

    fn is_descendant(&self, type_id: u64, ancestor: u64) -> bool {
        let mut current = self.object_type(type_id);
        while let Some(t) = current {
            if t.id == ancestor {
                return true;
            }
            current = t.parent_id.and_then(|p| self.object_type(p));
        }
        false
    }

    /// Creates (`existing = None`) or updates an object from an ObjectIn body (§D.6).
    /// `is_user`: whether a User attribute may hold this account id.
    pub(crate) fn write_object(
        &mut self,
        now: OffsetDateTime,
        is_user: &dyn Fn(&str) -> bool,
        existing: Option<u64>,
        body: &Value,
    ) -> Result<u64, ApiError> {
        if self.objects.labels_indexed() != self.unique_labels {
            self.rebuild_indexes();
        }
        let Some(type_id) = num(body.get("objectTypeId")).map(|t| t as u64) else {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                &["objectTypeId is required."],
                &[("objectTypeId".into(), "objectTypeId is required.".into())],
            ));
        };
        let Some(object_type) = self.object_type(type_id).cloned() else {
            return Err(not_found("ObjectType", &type_id.to_string()));
        };
        if object_type.abstract_type {
            return Err(bad(&format!(
                "Objects cannot be created in the abstract object type \"{}\".",
                object_type.name
            )));
        }
        let Some(items) = body.get("attributes").and_then(Value::as_array) else {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                &["attributes is required."],
                &[("attributes".into(), "attributes is required.".into())],
            ));
        };
        let previous = existing.and_then(|id| self.object(id).cloned());
        if let Some(p) = &previous {
            if p.object_type_id != type_id {
                return Err(bad("The object type of an object cannot be changed."));
            }
        }
        let attrs: Vec<Attribute> = self.type_attributes(type_id).into_iter().cloned().collect();
        let mut values = previous
            .as_ref()
            .map(|p| p.values.clone())
            .unwrap_or_default();
        let mut errors: Vec<(String, String)> = Vec::new();
        let mut messages: Vec<String> = Vec::new();
        for item in items {
            let attr_id = num(item.get("objectTypeAttributeId")).map(|a| a as u64);
            let Some(attr) = attr_id.and_then(|id| attrs.iter().find(|a| a.id == id)) else {
                messages.push(format!(
                    "The attribute with id {} is not an attribute of the object type \"{}\".",
                    text(item.get("objectTypeAttributeId")).unwrap_or_default(),
                    object_type.name
                ));
                continue;
            };
            let key = format!("rlabs-insight-attribute-{}", attr.id);
            if !attr.editable {
                errors.push((
                    key,
                    format!("The attribute \"{}\" cannot be edited.", attr.name),
                ));
                continue;
            }
            let raw: Vec<String> = item
                .get("objectAttributeValues")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| text(v.get("value")))
                .collect();
            if attr.max != -1 && raw.len() as i64 > attr.max {
                errors.push((
                    key,
                    format!(
                        "The attribute \"{}\" accepts at most {} value(s).",
                        attr.name, attr.max
                    ),
                ));
                continue;
            }
            let mut stored = Vec::new();
            for v in &raw {
                match self.check_value(attr, is_user, v) {
                    Ok(s) => {
                        if !stored.contains(&s) {
                            stored.push(s);
                        }
                    }
                    Err(m) => {
                        errors.push((key.clone(), m));
                        break;
                    }
                }
            }
            if stored.is_empty() {
                values.remove(&attr.id);
            } else {
                values.insert(attr.id, stored);
            }
        }
        for attr in &attrs {
            let key = format!("rlabs-insight-attribute-{}", attr.id);
            if errors.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let mine = values.get(&attr.id);
            let count = mine.map_or(0, Vec::len) as i64;
            if attr.editable && count < attr.min {
                errors.push((key.clone(), format!("{} is required.", attr.name)));
                continue;
            }
            let unique = attr.unique || (attr.label && self.unique_labels);
            if let (true, Some(mine)) = (unique, mine) {
                // The first object (in creation order) of this type holding one of the values.
                let clash = mine
                    .iter()
                    .flat_map(|m| self.objects.with_value(type_id, attr.id, m))
                    .filter(|id| Some(*id) != existing)
                    .min()
                    .and_then(|id| self.objects.get(id));
                if let Some(other) = clash {
                    errors.push((
                        key,
                        format!(
                            "The value of \"{}\" must be unique; it is already used by {}.",
                            attr.name, other.key
                        ),
                    ));
                }
            }
        }
        if !messages.is_empty() || !errors.is_empty() {
            let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
            return Err(fail(StatusCode::BAD_REQUEST, &refs, &errors));
        }
        let history_entry = |id: u64, kind: i64| HistoryEntry {
            id,
            kind,
            created: now,
        };
        match previous {
            Some(p) => {
                let entry_id = self.next_id();
                if p.values != values {
                    self.objects.update(p.id, &self.attributes, |object| {
                        object.values = values;
                        object.updated = now;
                        if object.history.len() >= HISTORY_LIMIT {
                            // Keep the creation entry; drop the oldest update.
                            object.history.remove(1);
                        }
                        object.history.push(history_entry(entry_id, 2));
                    });
                }
                Ok(p.id)
            }
            None => {
                let id = self.next_id();
                let entry_id = self.next_id();
                let schema = self
                    .schemas
                    .iter_mut()
                    .find(|s| s.id == object_type.schema_id)
                    .expect("type schema");
                schema.key_counter += 1;
                let key = format!("{}-{}", schema.key, schema.key_counter);
                self.objects.insert(
                    Object {
                        id,
                        object_type_id: type_id,
                        key,
                        values,
                        created: now,
                        updated: now,
                        history: vec![history_entry(entry_id, 0)],
                    },
                    &self.attributes,
                );
                Ok(id)
            }
        }
    }

    /// Deletes an object; references to it disappear with it (§D.6).
    pub(crate) fn delete_object(&mut self, id: u64) -> Option<Object> {
        let removed = self.objects.remove(id, &self.attributes)?;
        let target = id.to_string();
        for other in self.objects.referrers(id) {
            self.objects.update(other, &self.attributes, |other| {
                for attr in self.attributes.iter().filter(|a| a.kind == 1) {
                    if let Some(values) = other.values.get_mut(&attr.id) {
                        values.retain(|v| *v != target);
                        if values.is_empty() {
                            other.values.remove(&attr.id);
                        }
                    }
                }
            });
        }
        Some(removed)
    }

    fn global_id(&self, id: u64) -> String {
        format!("{}:{id}", self.workspace_id)
    }

    fn icon_json(&self, id: &str) -> Value {
        let name = ICONS
            .iter()
            .find(|(i, _)| *i == id)
            .map_or("Icon", |(_, n)| n);
        json!({
            "id": id,
            "name": name,
            "url16": format!("{}/jsm/assets/workspace/{}/v1/icon/{id}/icon.png?size=16", self.base_url, self.workspace_id),
            "url48": format!("{}/jsm/assets/workspace/{}/v1/icon/{id}/icon.png?size=48", self.base_url, self.workspace_id),
        })
    }

    pub(crate) fn schema_json(&self, s: &Schema) -> Value {
        let types: Vec<u64> = self
            .object_types
            .iter()
            .filter(|t| t.schema_id == s.id)
            .map(|t| t.id)
            .collect();
        let objects: usize = types.iter().map(|t| self.objects.count_of_type(*t)).sum();
        json!({
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(s.id),
            "id": s.id.to_string(),
            "name": s.name,
            "objectSchemaKey": s.key,
            "description": s.description,
            "status": "Ok",
            "created": assets_time(s.created),
            "updated": assets_time(s.updated),
            "objectCount": objects,
            "objectTypeCount": types.len(),
            "canManage": true,
            "idAsInt": s.id,
        })
    }

    pub(crate) fn type_json(&self, t: &ObjectType) -> Value {
        let mut value = json!({
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(t.id),
            "id": t.id.to_string(),
            "name": t.name,
            "description": t.description,
            "type": 0,
            "icon": self.icon_json(&t.icon_id),
            "position": t.position,
            "created": assets_time(t.created),
            "updated": assets_time(t.updated),
            "objectCount": self.objects.count_of_type(t.id),
            "objectSchemaId": t.schema_id.to_string(),
            "inherited": t.inherited,
            "abstractObjectType": t.abstract_type,
            "parentObjectTypeInherited": t.parent_id.and_then(|p| self.object_type(p)).is_some_and(|p| p.inherited),
        });
        if let Some(p) = t.parent_id {
            value["parentObjectTypeId"] = json!(p.to_string());
        }
        value
    }

    fn reference_type_json(&self, r: &ReferenceType) -> Value {
        let mut value = json!({
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(r.id),
            "id": r.id.to_string(),
            "name": r.name,
            "description": r.description,
            "color": r.color,
            "url16": format!("{}/jsm/assets/workspace/{}/v1/config/referencetype/{}/icon.png", self.base_url, self.workspace_id, r.id),
            "removable": r.schema_id.is_some(),
        });
        if let Some(s) = r.schema_id {
            value["objectSchemaId"] = json!(s.to_string());
        }
        value
    }

    fn status_json(&self, s: &StatusType) -> Value {
        json!({
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(s.id),
            "id": s.id.to_string(),
            "name": s.name,
            "description": s.description,
            "category": s.category,
            "objectSchemaId": s.schema_id.map(|id| id.to_string()),
        })
    }

    pub(crate) fn attribute_json(&self, a: &Attribute) -> Value {
        let mut value = json!({
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(a.id),
            "id": a.id.to_string(),
            "objectType": self.object_type(a.object_type_id).map(|t| self.type_json(t)),
            "name": a.name,
            "label": a.label,
            "type": a.kind,
            "description": a.description,
            "typeValueMulti": a.type_value_multi,
            "editable": a.editable,
            "system": a.system,
            "sortable": true,
            "summable": a.summable,
            "indexed": true,
            "minimumCardinality": a.min,
            "maximumCardinality": a.max,
            "suffix": a.suffix,
            "removable": !a.system && !a.label,
            "hidden": a.hidden,
            "includeChildObjectTypes": a.include_children,
            "uniqueAttribute": a.unique,
            "options": a.options,
            "position": a.position,
        });
        if let Some(d) = a.default_type_id {
            let name = usize::try_from(d)
                .ok()
                .and_then(|i| DEFAULT_TYPES.get(i))
                .copied()
                .unwrap_or("None");
            value["defaultType"] = json!({"id": d, "name": name});
        }
        if let Some(r) = &a.regex {
            value["regexValidation"] = json!(r);
        }
        if let Some(q) = &a.ql_query {
            value["qlQuery"] = json!(q);
        }
        if a.kind == 1 {
            value["typeValue"] = json!(a.type_value);
            value["additionalValue"] = json!(a.additional_value);
            if let Some(r) = a
                .additional_value
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
                .and_then(|id| self.reference_types.iter().find(|r| r.id == id))
            {
                value["referenceType"] = self.reference_type_json(r);
            }
            if let Some(t) = a
                .type_value
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
                .and_then(|id| self.object_type(id))
            {
                value["referenceObjectTypeId"] = json!(t.id.to_string());
                value["referenceObjectType"] = self.type_json(t);
            }
        } else if let Some(v) = &a.additional_value {
            value["additionalValue"] = json!(v);
        }
        value
    }

    fn object_link(&self, id: u64) -> String {
        format!(
            "{}/jsm/assets/workspace/{}/v1/object/{id}",
            self.base_url, self.workspace_id
        )
    }

    fn value_json(&self, attr: &Attribute, value: &str, jira: &JiraState) -> Value {
        let mut out = json!({"value": value, "displayValue": value, "searchValue": value, "referencedType": attr.kind == 1});
        match attr.kind {
            1 => {
                if let Some(o) = value.parse::<u64>().ok().and_then(|id| self.object(id)) {
                    out["referencedObject"] = self.object_json(o, false, jira);
                    out["displayValue"] = json!(self.label(o));
                    out["searchValue"] = json!(o.key);
                    out.as_object_mut().map(|m| m.remove("value"));
                }
            }
            2 => {
                if let Some(u) = jira.user(value) {
                    out["user"] = json!({"displayName": u.display_name, "name": u.display_name, "key": u.account_id, "emailAddress": if u.email_visible { json!(u.email) } else { Value::Null }});
                    out["displayValue"] = json!(u.display_name);
                }
            }
            7 => {
                if let Some(s) = self.status_types.iter().find(|s| s.id.to_string() == value) {
                    out["status"] = self.status_json(s);
                    out["displayValue"] = json!(s.name);
                    out.as_object_mut().map(|m| m.remove("value"));
                }
            }
            _ => {}
        }
        out
    }

    /// ObjectAttribute list of an object (system Key/Created/Updated included).
    pub(crate) fn object_attributes(&self, o: &Object, jira: &JiraState) -> Vec<Value> {
        self.type_attributes(o.object_type_id)
            .into_iter()
            .filter_map(|a| {
                let values: Vec<String> = match (a.system, a.name.as_str()) {
                    (true, "Key") => vec![o.key.clone()],
                    (true, "Created") => vec![assets_time(o.created)],
                    (true, "Updated") => vec![assets_time(o.updated)],
                    _ => o.values.get(&a.id).cloned()?,
                };
                Some(json!({
                    "workspaceId": self.workspace_id,
                    "globalId": self.global_id(a.id * 1_000_003 + o.id),
                    "id": (a.id * 1_000_003 + o.id).to_string(),
                    "objectTypeAttribute": self.attribute_json(a),
                    "objectTypeAttributeId": a.id.to_string(),
                    "objectAttributeValues": values.iter().map(|v| self.value_json(a, v, jira)).collect::<Vec<_>>(),
                    "objectId": o.id.to_string(),
                }))
            })
            .collect()
    }

    /// An Object (§D.6), with attributes when asked.
    pub(crate) fn object_json(&self, o: &Object, with_attributes: bool, jira: &JiraState) -> Value {
        let label = self.label(o);
        let mut value = json!({
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(o.id),
            "id": o.id.to_string(),
            "label": label,
            "objectKey": o.key,
            "avatar": {"workspaceId": self.workspace_id, "objectId": o.id.to_string()},
            "objectType": self.object_type(o.object_type_id).map(|t| self.type_json(t)),
            "created": assets_time(o.created),
            "updated": assets_time(o.updated),
            "hasAvatar": false,
            "timestamp": o.updated.unix_timestamp() * 1000 + i64::from(o.updated.millisecond()),
            "_links": {"self": self.object_link(o.id)},
            "name": label,
        });
        if with_attributes {
            value["attributes"] = Value::Array(self.object_attributes(o, jira));
            value["extendedInfo"] = json!({"openIssuesExists": false, "attachmentsExists": false});
        }
        value
    }
}

/// What a request needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    WriteObjects,
    Manage,
}

/// An authenticated Assets request.
pub(crate) struct Call<'a> {
    jira: MutexGuard<'a, JiraState>,
    state: MutexGuard<'a, AssetsState>,
    now: OffsetDateTime,
}

fn gateway_unauthorized() -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"code": 401, "message": "Unauthorized"})),
    )
        .into_response();
    r.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"api.atlassian.com\""),
    );
    r
}

fn begin<'a>(
    world: &'a World,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    need: Need,
) -> Result<Call<'a>, Response> {
    let now = world.now();
    let jira = lock(&world.jira);
    let account = jira
        .authenticate(headers, now)
        .map_err(|_| gateway_unauthorized())?;
    let state = lock(&world.assets);
    if params
        .get("workspace_id")
        .is_some_and(|w| *w != state.workspace_id)
        || params.get("cloud_id").is_some_and(|c| *c != state.cloud_id)
    {
        return Err(fail(
            StatusCode::NOT_FOUND,
            &["The workspace was not found."],
            &[],
        )
        .into_response());
    }
    // Rate limits were checked in the front door (`limits::admit`).
    let allowed = !matches!(
        (account.assets, need),
        (AssetsRole::None, _) | (AssetsRole::User, Need::Manage)
    );
    if !allowed {
        let message = if account.assets == AssetsRole::None {
            "You do not have access to Assets in this workspace."
        } else {
            "You need to be an object schema manager to do this."
        };
        return Err(fail(StatusCode::FORBIDDEN, &[message], &[]).into_response());
    }
    Ok(Call { jira, state, now })
}

type Params = Path<HashMap<String, String>>;
type Query = axum::extract::Query<Vec<(String, String)>>;

fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn id_param(params: &HashMap<String, String>, name: &str) -> Option<u64> {
    params.get(name)?.parse().ok()
}

fn body_json(body: &str) -> Result<Value, Response> {
    serde_json::from_str(body)
        .map_err(|e| bad(&format!("The request body is not valid JSON: {e}")).into_response())
}

macro_rules! call {
    ($world:expr, $headers:expr, $params:expr, $need:expr) => {
        match begin(&$world, &$headers, &$params, $need) {
            Ok(c) => c,
            Err(r) => return r,
        }
    };
}

macro_rules! try_r {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r.into_response(),
        }
    };
}

fn api() -> Router<Arc<World>> {
    Router::new()
        .route("/objectschema/list", get(schema_list))
        .route("/objectschema/create", post(schema_create))
        .route(
            "/objectschema/{id}",
            get(schema_get).put(schema_update).delete(schema_delete),
        )
        .route("/objectschema/{id}/objecttypes", get(schema_types))
        .route("/objectschema/{id}/objecttypes/flat", get(schema_types))
        .route("/objectschema/{id}/attributes", get(schema_attributes))
        .route("/objecttype/create", post(type_create))
        .route(
            "/objecttype/{id}",
            get(type_get).put(type_update).delete(type_delete),
        )
        .route("/objecttype/{id}/attributes", get(type_attributes))
        .route(
            "/objecttypeattribute/{id}",
            post(attribute_create).delete(attribute_delete),
        )
        .route(
            "/objecttypeattribute/{type_id}/{id}",
            axum::routing::put(attribute_update),
        )
        .route("/object/create", post(object_create))
        .route("/object/aql", post(aql::search))
        .route("/object/aql/totalcount", post(aql::total_count))
        .route(
            "/object/{id}",
            get(object_get).put(object_update).delete(object_delete),
        )
        .route("/object/{id}/attributes", get(object_attributes))
        .route("/object/{id}/history", get(object_history))
        .route("/config/statustype", get(status_list).post(status_create))
        .route(
            "/config/statustype/{id}",
            get(status_get).put(status_update).delete(status_delete),
        )
        .route(
            "/config/referencetype",
            get(reference_list).post(reference_create),
        )
        .route("/icon/global", get(icons))
        .route("/aql/objects", get(removed))
        .route("/iql/objects", get(removed))
        .route("/object/navlist/aql", post(removed))
        .route("/object/navlist/iql", post(removed))
}

/// Assets' router: both base-URL forms of §D.2.
pub fn router() -> Router<Arc<World>> {
    Router::new()
        .nest("/jsm/assets/workspace/{workspace_id}/v1", api())
        .nest(
            "/ex/jira/{cloud_id}/jsm/assets/workspace/{workspace_id}/v1",
            api(),
        )
}

async fn removed() -> Response {
    fail(
        StatusCode::GONE,
        &["This endpoint has been removed. Use POST /object/aql."],
        &[],
    )
    .into_response()
}

async fn icons(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    Json(
        ICONS
            .iter()
            .map(|(id, _)| call.state.icon_json(id))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn schema_list(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    axum::extract::Query(query): Query,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let s = &*call.state;
    let start = param(&query, "startAt")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0usize);
    let max = param(&query, "maxResults")
        .and_then(|v| v.parse().ok())
        .unwrap_or(25usize)
        .max(1);
    let counts = param(&query, "includeCounts") == Some("true");
    let all: Vec<Value> = s
        .schemas
        .iter()
        .map(|x| {
            let mut v = s.schema_json(x);
            if !counts {
                v["objectCount"] = json!(0);
                v["objectTypeCount"] = json!(0);
            }
            v
        })
        .collect();
    let total = all.len();
    let values: Vec<Value> = all.into_iter().skip(start).take(max).collect();
    let is_last = start + values.len() >= total;
    Json(json!({"startAt": start, "maxResults": max, "total": total, "values": values, "isLast": is_last, "last": is_last})).into_response()
}

async fn schema_create(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let body = try_r!(body_json(&body));
    let now = call.now;
    let id = try_r!(call.state.create_schema(now, &body));
    let s = &*call.state;
    (
        StatusCode::CREATED,
        Json(s.schema_json(s.schema(id).expect("created"))),
    )
        .into_response()
}

fn schema_or_404(s: &AssetsState, params: &HashMap<String, String>) -> Result<Schema, ApiError> {
    id_param(params, "id")
        .and_then(|id| s.schema(id).cloned())
        .ok_or_else(|| not_found("ObjectSchema", params.get("id").map_or("", String::as_str)))
}

async fn schema_get(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let schema = try_r!(schema_or_404(&call.state, &params));
    Json(call.state.schema_json(&schema)).into_response()
}

async fn schema_update(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let schema = try_r!(schema_or_404(&call.state, &params));
    let body = try_r!(body_json(&body));
    if let Some(name) = text(body.get("name")) {
        if call
            .state
            .schemas
            .iter()
            .any(|s| s.id != schema.id && s.name.eq_ignore_ascii_case(&name))
        {
            let m = format!("An object schema with the name \"{name}\" already exists.");
            return fail(
                StatusCode::BAD_REQUEST,
                &[&m],
                &[("name".into(), m.clone())],
            )
            .into_response();
        }
    }
    let now = call.now;
    let s = call
        .state
        .schemas
        .iter_mut()
        .find(|s| s.id == schema.id)
        .expect("exists");
    if let Some(name) = text(body.get("name")) {
        s.name = name;
    }
    if let Some(d) = text(body.get("description")) {
        s.description = d;
    }
    s.updated = now;
    let s = s.clone();
    Json(call.state.schema_json(&s)).into_response()
}

async fn schema_delete(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let schema = try_r!(schema_or_404(&call.state, &params));
    let answer = call.state.schema_json(&schema);
    let st = &mut *call.state;
    let types: Vec<u64> = st
        .object_types
        .iter()
        .filter(|t| t.schema_id == schema.id)
        .map(|t| t.id)
        .collect();
    st.attributes.retain(|a| !types.contains(&a.object_type_id));
    st.objects.retain(&st.attributes, st.unique_labels, |_, o| {
        !types.contains(&o.object_type_id)
    });
    st.object_types.retain(|t| t.schema_id != schema.id);
    st.status_types.retain(|s| s.schema_id != Some(schema.id));
    st.schemas.retain(|s| s.id != schema.id);
    Json(answer).into_response()
}

async fn schema_types(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    axum::extract::Query(query): Query,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let s = &*call.state;
    let schema = try_r!(schema_or_404(s, &params));
    let q = param(&query, "query").map(str::to_lowercase);
    let exclude_abstract = param(&query, "excludeAbstract") == Some("true");
    let list: Vec<Value> = s
        .object_types
        .iter()
        .filter(|t| t.schema_id == schema.id)
        .filter(|t| q.as_ref().is_none_or(|q| t.name.to_lowercase().contains(q)))
        .filter(|t| !(exclude_abstract && t.abstract_type))
        .map(|t| s.type_json(t))
        .collect();
    Json(list).into_response()
}

async fn schema_attributes(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let s = &*call.state;
    let schema = try_r!(schema_or_404(s, &params));
    let types: Vec<u64> = s
        .object_types
        .iter()
        .filter(|t| t.schema_id == schema.id)
        .map(|t| t.id)
        .collect();
    Json(
        s.attributes
            .iter()
            .filter(|a| types.contains(&a.object_type_id))
            .map(|a| s.attribute_json(a))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn type_create(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let body = try_r!(body_json(&body));
    let now = call.now;
    let id = try_r!(call.state.create_type(now, &body));
    let s = &*call.state;
    (
        StatusCode::CREATED,
        Json(s.type_json(s.object_type(id).expect("created"))),
    )
        .into_response()
}

fn type_or_404(s: &AssetsState, params: &HashMap<String, String>) -> Result<ObjectType, ApiError> {
    id_param(params, "id")
        .and_then(|id| s.object_type(id).cloned())
        .ok_or_else(|| not_found("ObjectType", params.get("id").map_or("", String::as_str)))
}

async fn type_get(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let t = try_r!(type_or_404(&call.state, &params));
    Json(call.state.type_json(&t)).into_response()
}

async fn type_update(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let t = try_r!(type_or_404(&call.state, &params));
    let body = try_r!(body_json(&body));
    if let Some(name) = text(body.get("name")) {
        if call.state.object_types.iter().any(|x| {
            x.id != t.id && x.schema_id == t.schema_id && x.name.eq_ignore_ascii_case(name.trim())
        }) {
            let m = format!(
                "An object type with the name \"{}\" already exists in this object schema.",
                name.trim()
            );
            return fail(
                StatusCode::BAD_REQUEST,
                &[&m],
                &[("name".into(), m.clone())],
            )
            .into_response();
        }
    }
    let now = call.now;
    let x = call
        .state
        .object_types
        .iter_mut()
        .find(|x| x.id == t.id)
        .expect("exists");
    if let Some(name) = text(body.get("name")) {
        x.name = name.trim().to_owned();
    }
    if let Some(d) = text(body.get("description")) {
        x.description = d;
    }
    if let Some(i) = text(body.get("iconId")) {
        x.icon_id = i;
    }
    x.inherited = flag(body.get("inherited"), x.inherited);
    x.abstract_type = flag(body.get("abstractObjectType"), x.abstract_type);
    x.updated = now;
    let x = x.clone();
    Json(call.state.type_json(&x)).into_response()
}

async fn type_delete(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let t = try_r!(type_or_404(&call.state, &params));
    if call
        .state
        .object_types
        .iter()
        .any(|x| x.parent_id == Some(t.id))
    {
        return bad("The object type has child object types; delete or move them first.")
            .into_response();
    }
    let answer = call.state.type_json(&t);
    let st = &mut *call.state;
    st.attributes.retain(|a| a.object_type_id != t.id);
    st.objects.retain(&st.attributes, st.unique_labels, |_, o| {
        o.object_type_id != t.id
    });
    st.object_types.retain(|x| x.id != t.id);
    Json(answer).into_response()
}

async fn type_attributes(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    axum::extract::Query(query): Query,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let s = &*call.state;
    let t = try_r!(type_or_404(s, &params));
    let only_editable = param(&query, "onlyValueEditable") == Some("true");
    let q = param(&query, "query").map(str::to_lowercase);
    let mut list: Vec<&Attribute> = if param(&query, "excludeParentAttributes") == Some("true") {
        s.attributes
            .iter()
            .filter(|a| a.object_type_id == t.id)
            .collect()
    } else {
        s.type_attributes(t.id)
    };
    list.retain(|a| {
        (a.editable || !only_editable)
            && q.as_ref().is_none_or(|q| a.name.to_lowercase().contains(q))
    });
    if param(&query, "orderByName") == Some("true") {
        list.sort_by_key(|a| a.name.to_lowercase());
    }
    Json(
        list.into_iter()
            .map(|a| s.attribute_json(a))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn attribute_create(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let Some(type_id) = id_param(&params, "id") else {
        return not_found("ObjectType", params.get("id").map_or("", String::as_str))
            .into_response();
    };
    let body = try_r!(body_json(&body));
    let now = call.now;
    let id = try_r!(call.state.create_attribute(now, type_id, &body));
    let s = &*call.state;
    (
        StatusCode::CREATED,
        Json(s.attribute_json(s.attribute(id).expect("created"))),
    )
        .into_response()
}

async fn attribute_update(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let (Some(type_id), Some(id)) = (id_param(&params, "type_id"), id_param(&params, "id")) else {
        return bad("Invalid id.").into_response();
    };
    let Some(attr) = call
        .state
        .attribute(id)
        .filter(|a| a.object_type_id == type_id)
        .cloned()
    else {
        return not_found("ObjectTypeAttribute", &id.to_string()).into_response();
    };
    if attr.system {
        return bad(&format!(
            "The system attribute \"{}\" cannot be changed.",
            attr.name
        ))
        .into_response();
    }
    let body = try_r!(body_json(&body));
    if let Some(name) = text(body.get("name")) {
        if call
            .state
            .type_attributes(type_id)
            .iter()
            .any(|a| a.id != id && a.name.eq_ignore_ascii_case(name.trim()))
        {
            let m = format!(
                "An attribute with the name \"{}\" already exists on this object type.",
                name.trim()
            );
            return fail(
                StatusCode::BAD_REQUEST,
                &[&m],
                &[("name".into(), m.clone())],
            )
            .into_response();
        }
    }
    let label = flag(body.get("label"), attr.label);
    let st = &mut *call.state;
    if label && !attr.label {
        for a in st
            .attributes
            .iter_mut()
            .filter(|a| a.object_type_id == type_id)
        {
            a.label = false;
        }
    }
    let a = st
        .attributes
        .iter_mut()
        .find(|a| a.id == id)
        .expect("exists");
    if let Some(name) = text(body.get("name")) {
        a.name = name.trim().to_owned();
    }
    if let Some(d) = text(body.get("description")) {
        a.description = d;
    }
    a.label = label;
    a.unique = flag(body.get("uniqueAttribute"), a.unique);
    a.hidden = flag(body.get("hidden"), a.hidden);
    if let Some(min) = num(body.get("minimumCardinality")) {
        a.min = min;
    }
    if let Some(max) = num(body.get("maximumCardinality")) {
        a.max = max;
    }
    if let Some(o) = text(body.get("options")) {
        a.options = o;
    }
    if let Some(list) = body.get("typeValueMulti").and_then(Value::as_array) {
        a.type_value_multi = list.iter().filter_map(|v| text(Some(v))).collect();
    }
    let a = a.clone();
    if a.unique != attr.unique || a.label != attr.label {
        call.state.rebuild_indexes();
    }
    Json(call.state.attribute_json(&a)).into_response()
}

async fn attribute_delete(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let Some(attr) = id_param(&params, "id")
        .and_then(|id| call.state.attribute(id))
        .cloned()
    else {
        return not_found(
            "ObjectTypeAttribute",
            params.get("id").map_or("", String::as_str),
        )
        .into_response();
    };
    if attr.system || attr.label {
        return bad(&format!(
            "The attribute \"{}\" cannot be deleted.",
            attr.name
        ))
        .into_response();
    }
    let answer = call.state.attribute_json(&attr);
    let st = &mut *call.state;
    st.attributes.retain(|a| a.id != attr.id);
    st.objects
        .for_each_mut(&st.attributes, st.unique_labels, |o| {
            o.values.remove(&attr.id);
        });
    Json(answer).into_response()
}

/// Whether a User attribute may hold `account_id`: an active Jira user's (anything when the
/// site has no active users).
fn is_user(jira: &JiraState, account_id: &str) -> bool {
    let mut active = jira.users.iter().filter(|u| u.active).peekable();
    active.peek().is_none() || active.any(|u| u.account_id == account_id)
}

async fn object_create(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::WriteObjects);
    let body = try_r!(body_json(&body));
    let now = call.now;
    let jira = &*call.jira;
    let id = try_r!(call
        .state
        .write_object(now, &|v| is_user(jira, v), None, &body));
    let s = &*call.state;
    (
        StatusCode::CREATED,
        Json(s.object_json(s.object(id).expect("created"), false, &call.jira)),
    )
        .into_response()
}

fn object_or_404(s: &AssetsState, params: &HashMap<String, String>) -> Result<Object, ApiError> {
    let id = params.get("id").map_or("", String::as_str);
    s.object_by_ref(id)
        .cloned()
        .ok_or_else(|| not_found("Object", id))
}

async fn object_get(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let o = try_r!(object_or_404(&call.state, &params));
    Json(call.state.object_json(&o, true, &call.jira)).into_response()
}

async fn object_update(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::WriteObjects);
    let o = try_r!(object_or_404(&call.state, &params));
    let body = try_r!(body_json(&body));
    let now = call.now;
    let jira = &*call.jira;
    try_r!(call
        .state
        .write_object(now, &|v| is_user(jira, v), Some(o.id), &body));
    let s = &*call.state;
    Json(s.object_json(s.object(o.id).expect("exists"), true, &call.jira)).into_response()
}

async fn object_delete(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let mut call = call!(world, headers, params, Need::WriteObjects);
    let o = try_r!(object_or_404(&call.state, &params));
    let st = &mut *call.state;
    st.delete_object(o.id);
    StatusCode::NO_CONTENT.into_response()
}

async fn object_attributes(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let o = try_r!(object_or_404(&call.state, &params));
    Json(call.state.object_attributes(&o, &call.jira)).into_response()
}

async fn object_history(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    axum::extract::Query(query): Query,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let o = try_r!(object_or_404(&call.state, &params));
    let mut list: Vec<Value> = o.history.iter().map(|h| h.json(o.id)).collect();
    if param(&query, "asc") != Some("true") {
        list.reverse();
    }
    Json(list).into_response()
}

async fn status_list(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    axum::extract::Query(query): Query,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let s = &*call.state;
    let schema: Option<u64> = param(&query, "objectSchemaId").and_then(|v| v.parse().ok());
    Json(
        s.status_types
            .iter()
            .filter(|st| st.schema_id.is_none() || (schema.is_some() && st.schema_id == schema))
            .map(|st| s.status_json(st))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

fn read_status(
    s: &AssetsState,
    body: &Value,
    exclude: Option<u64>,
) -> Result<(String, String, i64, Option<u64>), ApiError> {
    let name = text(body.get("name")).unwrap_or_default().trim().to_owned();
    let category = num(body.get("category"));
    let schema = num(body.get("objectSchemaId")).map(|v| v as u64);
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(("name".to_owned(), "The status name is required.".to_owned()));
    } else if s.status_types.iter().any(|x| {
        Some(x.id) != exclude
            && x.name.eq_ignore_ascii_case(&name)
            && (x.schema_id.is_none() || x.schema_id == schema)
    }) {
        errors.push((
            "name".to_owned(),
            format!("A status with the name \"{name}\" already exists."),
        ));
    }
    if !matches!(category, Some(0..=2)) {
        errors.push((
            "category".to_owned(),
            "category must be 0 (inactive), 1 (active) or 2 (pending).".to_owned(),
        ));
    }
    if let Some(id) = schema {
        if s.schema(id).is_none() {
            errors.push((
                "objectSchemaId".to_owned(),
                format!("ObjectSchema with id {id} was not found"),
            ));
        }
    }
    if !errors.is_empty() {
        let messages: Vec<&str> = errors.iter().map(|(_, m)| m.as_str()).collect();
        return Err(fail(StatusCode::BAD_REQUEST, &messages, &errors));
    }
    Ok((
        name,
        text(body.get("description")).unwrap_or_default(),
        category.unwrap_or(1),
        schema,
    ))
}

async fn status_create(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let body = try_r!(body_json(&body));
    let (name, description, category, schema_id) = try_r!(read_status(&call.state, &body, None));
    let id = call.state.next_id();
    let status = StatusType {
        id,
        name,
        description,
        category,
        schema_id,
    };
    call.state.status_types.push(status.clone());
    (StatusCode::CREATED, Json(call.state.status_json(&status))).into_response()
}

fn status_or_404(
    s: &AssetsState,
    params: &HashMap<String, String>,
) -> Result<StatusType, ApiError> {
    id_param(params, "id")
        .and_then(|id| s.status_types.iter().find(|x| x.id == id).cloned())
        .ok_or_else(|| not_found("StatusType", params.get("id").map_or("", String::as_str)))
}

async fn status_get(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let st = try_r!(status_or_404(&call.state, &params));
    Json(call.state.status_json(&st)).into_response()
}

async fn status_update(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let st = try_r!(status_or_404(&call.state, &params));
    let body = try_r!(body_json(&body));
    let (name, description, category, schema_id) =
        try_r!(read_status(&call.state, &body, Some(st.id)));
    let updated = StatusType {
        id: st.id,
        name,
        description,
        category,
        schema_id,
    };
    if let Some(x) = call.state.status_types.iter_mut().find(|x| x.id == st.id) {
        *x = updated.clone();
    }
    Json(call.state.status_json(&updated)).into_response()
}

async fn status_delete(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let st = try_r!(status_or_404(&call.state, &params));
    let answer = call.state.status_json(&st);
    call.state.status_types.retain(|x| x.id != st.id);
    Json(answer).into_response()
}

async fn reference_list(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    axum::extract::Query(query): Query,
) -> Response {
    let call = call!(world, headers, params, Need::Read);
    let s = &*call.state;
    let schema: Option<u64> = param(&query, "objectSchemaId").and_then(|v| v.parse().ok());
    let all = param(&query, "includeAll") == Some("true");
    Json(
        s.reference_types
            .iter()
            .filter(|r| all || r.schema_id.is_none() || (schema.is_some() && r.schema_id == schema))
            .map(|r| s.reference_type_json(r))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn reference_create(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let mut call = call!(world, headers, params, Need::Manage);
    let body = try_r!(body_json(&body));
    let name = text(body.get("name")).unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        return fail(
            StatusCode::BAD_REQUEST,
            &["The reference type name is required."],
            &[("name".into(), "The reference type name is required.".into())],
        )
        .into_response();
    }
    let schema_id = num(body.get("objectSchemaId")).map(|v| v as u64);
    if call.state.reference_types.iter().any(|r| {
        r.name.eq_ignore_ascii_case(&name) && (r.schema_id.is_none() || r.schema_id == schema_id)
    }) {
        let m = format!("A reference type with the name \"{name}\" already exists.");
        return fail(
            StatusCode::BAD_REQUEST,
            &[&m],
            &[("name".into(), m.clone())],
        )
        .into_response();
    }
    let id = call.state.next_id();
    let r = ReferenceType {
        id,
        name,
        description: text(body.get("description")).unwrap_or_default(),
        color: text(body.get("color")).unwrap_or_else(|| "#0065FF".into()),
        schema_id,
    };
    call.state.reference_types.push(r.clone());
    (
        StatusCode::CREATED,
        Json(call.state.reference_type_json(&r)),
    )
        .into_response()
}
