//! `$expand` on directory lists: `manager` on users and `owners` on applications, each with an
//! optional `($select=…)`.
//!
//! Two documented limits shape the answer. Pages of a list with `$expand` hold at most 100
//! objects whatever `$top` asks (api/microsoft.md §B.1; Graph known issue 13635). An expanded
//! collection holds at most 20 items and carries no nextLink of its own (Graph "Use query
//! parameters", Expand: "`$expand` typically returns a maximum of 20 items for the expanded
//! relationship and has no @odata.nextLink"), so a client must read a longer relationship through
//! its own endpoint.

use super::error;
use super::repr::{self, project};
use crate::generator::directory::{Directory, Kind};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

/// Most objects on one page of a list with `$expand` (§B.1).
pub const MAX_PAGE: usize = 100;
/// Most items of one expanded collection (no nextLink for the rest).
pub const MAX_EXPANDED: usize = 20;

/// A relationship the list expands, with the `$select` inside its parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expand {
    /// A user's manager (one object, absent when unset).
    Manager(Option<Vec<String>>),
    /// An application's owners (a collection, cut at [`MAX_EXPANDED`]).
    Owners(Option<Vec<String>>),
}

/// Reads `$expand` for a list of `kind` (`None`: a directoryObject relationship list); the 400
/// Graph answers for a relationship it cannot expand there.
pub(super) fn parse(expand: &str, kind: Option<Kind>) -> Result<Expand, Response> {
    let (name, options) = match expand.split_once('(') {
        Some((name, rest)) => (name.trim(), Some(rest.trim_end().trim_end_matches(')'))),
        None => (expand.trim(), None),
    };
    let select = options
        .and_then(|o| {
            o.split(';')
                .find_map(|option| option.trim().strip_prefix("$select="))
        })
        .map(|s| {
            s.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
        });
    match kind {
        Some(Kind::User) if name.eq_ignore_ascii_case("manager") => Ok(Expand::Manager(select)),
        Some(Kind::Application) if name.eq_ignore_ascii_case("owners") => {
            Ok(Expand::Owners(select))
        }
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            &format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.directoryObject'."
            ),
        )),
    }
}

/// A related user as an expanded item: the selected (or default) properties and its type.
fn related_user(dir: &Directory, id: &str, select: Option<&[String]>) -> Option<Value> {
    let user = dir.users.get(id)?;
    let mut out = project(&repr::user(user), Kind::User, select, false);
    out.insert("@odata.type".into(), json!(Kind::User.odata_type()));
    Some(Value::Object(out))
}

/// Adds the expanded relationship of `full` (the object's whole representation) to `out`.
pub(super) fn apply(
    dir: &Directory,
    expand: &Expand,
    full: &Map<String, Value>,
    out: &mut Map<String, Value>,
) {
    let id = full.get("id").and_then(Value::as_str).unwrap_or_default();
    match expand {
        Expand::Manager(select) => {
            let manager = dir
                .users
                .get(id)
                .and_then(|u| u.manager_id.as_deref())
                .and_then(|m| related_user(dir, m, select.as_deref()));
            if let Some(manager) = manager {
                out.insert("manager".into(), manager);
            }
        }
        Expand::Owners(select) => {
            let owners: Vec<Value> = dir
                .applications
                .get(id)
                .map(|app| app.owners.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(|owner| related_user(dir, owner, select.as_deref()))
                .take(MAX_EXPANDED)
                .collect();
            out.insert("owners".into(), Value::Array(owners));
        }
    }
}
