//! Field definitions, value validation (the write shapes of api/atlassian.md §B.1 table) and
//! rendering, and the Atlassian Document Format checks of §B.9.
//!
//! Stored forms: text as string, ADF as the document, numbers as numbers, dates as
//! `yyyy-MM-dd`, date-times as Jira timestamps, options / priorities / components / versions
//! as ids, users as account ids.

use super::{jira_time, JiraState};
use crate::generator::jira::{FieldDef, Project};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `GET /rest/api/3/field` item.
pub(crate) fn field_json(f: &FieldDef) -> Value {
    let mut schema = json!({"type": f.schema_type});
    if let Some(items) = &f.items {
        schema["items"] = json!(items);
    }
    if let Some(system) = &f.system {
        schema["system"] = json!(system);
    }
    if let Some(custom) = &f.custom_type {
        schema["custom"] = json!(custom);
        schema["customId"] = json!(f.custom_id());
    }
    let mut clause_names = vec![if f.custom {
        f.name.clone()
    } else {
        f.id.clone()
    }];
    if let Some(n) = f.custom_id() {
        clause_names.push(format!("cf[{n}]"));
    }
    let mut value = json!({
        "id": f.id,
        "key": f.id,
        "name": f.name,
        "custom": f.custom,
        "orderable": f.orderable,
        "navigable": f.navigable,
        "searchable": f.searchable,
        "clauseNames": clause_names,
        "schema": schema,
    });
    if let Some(n) = f.custom_id() {
        value["untranslatedName"] = json!(f.name);
        value["schema"]["customId"] = json!(n);
    }
    value
}

const NOT_ON_SCREEN: &str = "cannot be set. It is not on the appropriate screen, or unknown.";

/// Validates the `fields` of a create (or the seed) for `project` / `issue_type` and returns the
/// stored values. `create` adds the required-field checks.
pub(crate) fn validate(
    state: &JiraState,
    project: &Project,
    issue_type: &str,
    fields: &serde_json::Map<String, Value>,
    create: bool,
) -> Result<BTreeMap<String, Value>, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let mut stored = BTreeMap::new();
    let Some(issue_type) = state.issue_type(issue_type) else {
        errors.insert(
            "issuetype".into(),
            "The issue type selected is invalid.".into(),
        );
        return Err(errors);
    };
    for (id, value) in fields {
        if id == "project" || id == "issuetype" {
            continue;
        }
        let Some(def) = state.field(id).filter(|_| issue_type.screen.contains(id)) else {
            errors.insert(id.clone(), format!("Field '{id}' {NOT_ON_SCREEN}"));
            continue;
        };
        match store(state, project, def, value) {
            Ok(Some(v)) => {
                stored.insert(id.clone(), v);
            }
            Ok(None) => {}
            Err(message) => {
                errors.insert(id.clone(), message);
            }
        }
    }
    if create {
        for required in &issue_type.required {
            if !stored.contains_key(required) && !errors.contains_key(required) {
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
    if errors.is_empty() {
        Ok(stored)
    } else {
        Err(errors)
    }
}

/// Checks one written value and returns its stored form (`None` = cleared).
pub(crate) fn store(
    state: &JiraState,
    project: &Project,
    def: &FieldDef,
    value: &Value,
) -> Result<Option<Value>, String> {
    if value.is_null() {
        return if def.id == "summary" {
            Err("You must specify a summary of the issue.".into())
        } else {
            Ok(None)
        };
    }
    if def.is_adf() {
        return check_adf(value).map(|()| Some(value.clone()));
    }
    let custom = def.custom_type.as_deref().unwrap_or("");
    match (def.schema_type.as_str(), def.items.as_deref()) {
        ("string", _) => {
            let Some(text) = value.as_str() else {
                return Err("Operation value must be a string".into());
            };
            if def.id == "summary" {
                if text.trim().is_empty() {
                    return Err("You must specify a summary of the issue.".into());
                }
                if text.chars().count() > 255 {
                    return Err("Summary must be less than 255 characters.".into());
                }
                if text.contains('\n') {
                    return Err(
                        "The summary is invalid because it contains newline characters.".into(),
                    );
                }
            } else if text.chars().count() > 255 {
                return Err(
                    "The entered text is too long. It exceeds the allowed limit of 255 characters."
                        .into(),
                );
            }
            if custom.ends_with(":url") && !text.is_empty() && url::Url::parse(text).is_err() {
                return Err(format!("Not a valid URL: {text}"));
            }
            Ok(Some(json!(text)))
        }
        ("number", _) => value
            .as_f64()
            .map(|_| Some(value.clone()))
            .ok_or_else(|| "Operation value must be a number".into()),
        ("date", _) => {
            let text = value.as_str().unwrap_or_default();
            parse_date(text)
                .map(|_| Some(json!(text)))
                .ok_or_else(|| format!("Error parsing date string: {}", value_text(value)))
        }
        ("datetime", _) => value
            .as_str()
            .and_then(parse_datetime)
            .map(|t| Some(json!(jira_time(t))))
            .ok_or_else(|| format!("Error parsing time: {}", value_text(value))),
        ("array", Some("string")) => {
            let Some(items) = value.as_array() else {
                return Err("Operation value must be an array of strings".into());
            };
            let mut labels = Vec::new();
            for item in items {
                let Some(label) = item.as_str() else {
                    return Err("Operation value must be an array of strings".into());
                };
                if label.contains(char::is_whitespace) {
                    return Err(format!(
                        "The label '{label}' contains spaces which is invalid."
                    ));
                }
                if label.is_empty() || label.chars().count() > 255 {
                    return Err("The label must be between 1 and 255 characters.".into());
                }
                if !labels.contains(&json!(label)) {
                    labels.push(json!(label));
                }
            }
            Ok(Some(Value::Array(labels)))
        }
        ("option", _) => option_id(def, value).map(|id| Some(json!(id))),
        ("array", Some("option")) => {
            let Some(items) = value.as_array() else {
                return Err(format!("Specify the value for {} in an array", def.name));
            };
            let ids = items
                .iter()
                .map(|i| option_id(def, i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((!ids.is_empty()).then(|| json!(ids)))
        }
        ("priority", _) => {
            let id = value.get("id").and_then(Value::as_str);
            let name = value.get("name").and_then(Value::as_str);
            state
                .priorities
                .iter()
                .find(|p| {
                    Some(p.id.as_str()) == id
                        || name.is_some_and(|n| p.name.eq_ignore_ascii_case(n))
                })
                .map(|p| Some(json!(p.id)))
                .ok_or_else(|| "The priority selected is invalid.".into())
        }
        ("user", _) => {
            let id = value
                .get("accountId")
                .or_else(|| value.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            match state.user(id) {
                Some(u) if u.active => Ok(Some(json!(u.account_id))),
                _ => Err(format!(
                    "Specified user '{id}' does not exist or you do not have required permissions."
                )),
            }
        }
        ("array", Some("component")) => {
            let Some(items) = value.as_array() else {
                return Err("Operation value must be an array".into());
            };
            let mut ids = Vec::new();
            for item in items {
                let id = item.get("id").and_then(Value::as_str);
                let name = item.get("name").and_then(Value::as_str);
                match project
                    .components
                    .iter()
                    .find(|c| Some(c.id.as_str()) == id || Some(c.name.as_str()) == name)
                {
                    Some(c) => ids.push(json!(c.id)),
                    None => {
                        return Err(match (id, name) {
                            (Some(id), _) => format!("Component id '{id}' is not valid"),
                            (_, Some(name)) => format!("Component name '{name}' is not valid"),
                            _ => "Component id or name is required".into(),
                        })
                    }
                }
            }
            Ok(Some(Value::Array(ids)))
        }
        ("array", Some("version")) => {
            let Some(items) = value.as_array() else {
                return Err("Operation value must be an array".into());
            };
            let ids = items
                .iter()
                .map(|i| version_id(project, i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(json!(ids)))
        }
        ("version", _) => version_id(project, value).map(|id| Some(json!(id))),
        ("resolution", _) => {
            let id = value.get("id").and_then(Value::as_str);
            let name = value.get("name").and_then(Value::as_str);
            state
                .resolutions
                .iter()
                .find(|r| {
                    Some(r.id.as_str()) == id
                        || name.is_some_and(|n| r.name.eq_ignore_ascii_case(n))
                })
                .map(|r| Some(json!(r.id)))
                .ok_or_else(|| "Could not find resolution.".into())
        }
        _ => Err(format!("Field '{}' {NOT_ON_SCREEN}", def.id)),
    }
}

fn value_text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn option_id(def: &FieldDef, value: &Value) -> Result<String, String> {
    let id = value.get("id").and_then(Value::as_str);
    let text = value.get("value").and_then(Value::as_str);
    def.options
        .iter()
        .find(|(oid, v)| Some(oid.as_str()) == id || Some(v.as_str()) == text)
        .map(|(oid, _)| oid.clone())
        .ok_or_else(|| match (id, text) {
            (Some(id), _) => format!("Option id '{id}' is not valid"),
            (_, Some(text)) => format!("Option value '{text}' is not valid"),
            _ => format!("Specify a valid 'id' or 'value' for {}", def.name),
        })
}

fn version_id(project: &Project, value: &Value) -> Result<String, String> {
    let id = value.get("id").and_then(Value::as_str);
    let name = value.get("name").and_then(Value::as_str);
    project
        .versions
        .iter()
        .find(|v| Some(v.id.as_str()) == id || Some(v.name.as_str()) == name)
        .map(|v| v.id.clone())
        .ok_or_else(|| match (id, name) {
            (Some(id), _) => format!("Version id '{id}' is not valid"),
            (_, Some(name)) => format!("Version name '{name}' is not valid"),
            _ => "Version id or name is required".into(),
        })
}

/// `yyyy-MM-dd`.
pub(crate) fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).ok()
}

/// Jira timestamps (`…000+0000`), RFC 3339, or `…000Z`.
pub(crate) fn parse_datetime(text: &str) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let jira = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    if let Ok(t) = time::OffsetDateTime::parse(text, &jira) {
        return Some(t);
    }
    let no_millis = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
    );
    time::OffsetDateTime::parse(text, &no_millis).ok()
}

/// Checks an ADF document (§B.9): `type:"doc"`, `version:1`, `content` array, known node types,
/// non-empty `text` nodes.
pub(crate) fn check_adf(value: &Value) -> Result<(), String> {
    const NOT_ADF: &str =
        "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
    let Some(doc) = value.as_object() else {
        return Err(NOT_ADF.into());
    };
    if doc.get("type").and_then(Value::as_str) != Some("doc")
        || doc.get("version").and_then(Value::as_i64) != Some(1)
    {
        return Err(NOT_ADF.into());
    }
    let Some(content) = doc.get("content").and_then(Value::as_array) else {
        return Err(NOT_ADF.into());
    };
    content
        .iter()
        .try_for_each(check_node)
        .map_err(|_| "INVALID_INPUT".to_owned())
}

fn check_node(node: &Value) -> Result<(), ()> {
    const KNOWN: [&str; 25] = [
        "paragraph",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "codeBlock",
        "blockquote",
        "rule",
        "panel",
        "table",
        "tableRow",
        "tableHeader",
        "tableCell",
        "mediaSingle",
        "mediaGroup",
        "media",
        "text",
        "hardBreak",
        "mention",
        "emoji",
        "inlineCard",
        "blockCard",
        "date",
        "status",
        "expand",
    ];
    let kind = node.get("type").and_then(Value::as_str).ok_or(())?;
    if !KNOWN.contains(&kind) {
        return Err(());
    }
    if kind == "text" {
        let text = node.get("text").and_then(Value::as_str).ok_or(())?;
        if text.is_empty() {
            return Err(());
        }
    }
    if let Some(content) = node.get("content") {
        content
            .as_array()
            .ok_or(())?
            .iter()
            .try_for_each(check_node)?;
    }
    Ok(())
}

/// The plain text of an ADF document (paragraphs and hard breaks become newlines).
pub fn adf_to_text(value: &Value) -> String {
    fn walk(node: &Value, out: &mut String) {
        match node.get("type").and_then(Value::as_str) {
            Some("text") => {
                out.push_str(node.get("text").and_then(Value::as_str).unwrap_or_default())
            }
            Some("hardBreak") => out.push('\n'),
            Some("mention") => out.push_str(
                node.pointer("/attrs/text")
                    .and_then(Value::as_str)
                    .unwrap_or("@user"),
            ),
            _ => {}
        }
        if let Some(children) = node.get("content").and_then(Value::as_array) {
            for child in children {
                walk(child, out);
                let block = matches!(
                    child.get("type").and_then(Value::as_str),
                    Some("paragraph" | "heading" | "codeBlock" | "listItem" | "blockquote")
                );
                if block && !out.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    let mut out = String::new();
    walk(value, &mut out);
    out.trim_end_matches('\n').to_owned()
}

/// A minimal HTML rendering of an ADF document (`expand=renderedFields` / `renderedBody`).
pub(crate) fn adf_to_html(value: &Value) -> String {
    adf_to_text(value)
        .split('\n')
        .map(|line| {
            format!(
                "<p>{}</p>",
                line.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            )
        })
        .collect()
}

/// Renders a stored value for responses.
pub(crate) fn render(
    state: &JiraState,
    project: &Project,
    def: &FieldDef,
    stored: Option<&Value>,
) -> Value {
    let base = &state.base_url;
    let empty_array = matches!(
        def.id.as_str(),
        "labels" | "components" | "fixVersions" | "versions"
    );
    let Some(stored) = stored else {
        return if empty_array { json!([]) } else { Value::Null };
    };
    let option = |id: &Value| {
        let id = id.as_str().unwrap_or_default();
        let value = def
            .options
            .iter()
            .find(|(o, _)| o == id)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        json!({"self": format!("{base}/rest/api/3/customFieldOption/{id}"), "value": value, "id": id})
    };
    let version = |id: &Value| {
        let id = id.as_str().unwrap_or_default();
        project
            .versions
            .iter()
            .find(|v| v.id == id)
            .map_or(Value::Null, |v| state.version_json(project, v))
    };
    match (def.schema_type.as_str(), def.items.as_deref()) {
        ("option", _) => option(stored),
        ("array", Some("option")) => Value::Array(stored.as_array().into_iter().flatten().map(option).collect()),
        ("priority", _) => {
            let id = stored.as_str().unwrap_or_default();
            let name = state.priorities.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_default();
            json!({
                "self": format!("{base}/rest/api/3/priority/{id}"),
                "iconUrl": format!("{base}/images/icons/priorities/{}.svg", name.to_lowercase()),
                "name": name,
                "id": id,
            })
        }
        ("user", _) => state.user_json(stored.as_str().unwrap_or_default()),
        ("array", Some("component")) => Value::Array(
            stored
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|id| project.components.iter().find(|c| Some(c.id.as_str()) == id.as_str()))
                .map(|c| json!({"self": format!("{base}/rest/api/3/component/{}", c.id), "id": c.id, "name": c.name, "description": c.description}))
                .collect(),
        ),
        ("array", Some("version")) => Value::Array(stored.as_array().into_iter().flatten().map(version).collect()),
        ("version", _) => version(stored),
        ("resolution", _) => {
            let id = stored.as_str().unwrap_or_default();
            state.resolutions.iter().find(|r| r.id == id).map_or(Value::Null, |r| {
                json!({"self": format!("{base}/rest/api/3/resolution/{}", r.id), "id": r.id, "description": r.description, "name": r.name})
            })
        }
        _ => stored.clone(),
    }
}

/// (id form, display form) of a stored value, for changelog items.
pub(crate) fn change_strings(
    state: &JiraState,
    project: &Project,
    def: &FieldDef,
    stored: Option<&Value>,
) -> (Option<String>, Option<String>) {
    let Some(stored) = stored else {
        return (None, None);
    };
    if def.is_adf() {
        return (None, Some(adf_to_text(stored)));
    }
    let rendered = render(state, project, def, Some(stored));
    let display = |v: &Value| -> String {
        for key in ["value", "name", "displayName"] {
            if let Some(s) = v.get(key).and_then(Value::as_str) {
                return s.to_owned();
            }
        }
        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
    };
    let ids = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    match (&rendered, stored) {
        (Value::Array(items), Value::Array(raw)) => {
            let text = items.iter().map(display).collect::<Vec<_>>().join(" ");
            let is_id = !matches!(def.items.as_deref(), Some("string"));
            (
                is_id.then(|| raw.iter().map(ids).collect::<Vec<_>>().join(",")),
                Some(text),
            )
        }
        (Value::Object(_), _) => (Some(ids(stored)), Some(display(&rendered))),
        _ => (None, Some(display(&rendered))),
    }
}
