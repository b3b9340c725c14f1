//! The errors of the Assets client: the HTTP layer's, plus the Assets failures callers act on.

use crosswalk_core::{Code, UserFacing};
use std::collections::BTreeMap;

/// Result of every Assets call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest remote text kept in a message.
const SUMMARY_CHARS: usize = 200;

/// A failed Assets call. Messages name route templates and attribute names, never credentials,
/// and never the values of objects (they may be personal data; the fields keep them).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Transport, 401, 404, throttling, decoding: whatever `crosswalk_http` reported.
    #[error(transparent)]
    Http(#[from] crosswalk_http::Error),
    /// 400: Assets refused the values; `errors` is keyed like `rlabs-insight-attribute-{id}`.
    #[error("Assets rejected the request to {route}: {}", summary(.messages, .errors))]
    ValidationFailed {
        route: &'static str,
        messages: Vec<String>,
        errors: BTreeMap<String, String>,
    },
    /// 400 on an object write because another object already holds a unique attribute's value.
    #[error(
        "object {existing_key} already has this value of the unique attribute \"{attribute}\""
    )]
    UniqueViolation {
        /// The attribute's name.
        attribute: String,
        attribute_id: String,
        /// The value we tried to write (kept out of the message).
        value: String,
        /// Key of the object that holds the value (e.g. `CW-12`).
        existing_key: String,
    },
    /// 400 on a create because a schema, object type, attribute or status of that name exists.
    #[error("{what} \"{name}\" already exists")]
    NameConflict { what: &'static str, name: String },
    /// The Jira site has no Assets workspace (plan without Assets, or Assets not set up).
    #[error("Assets is not available on this Jira site")]
    AssetsUnavailable,
    /// 403: the account may not read or change this part of Assets.
    #[error("Assets denied access to {route}{}", suffix(.detail))]
    PermissionDenied { route: &'static str, detail: String },
    /// A lookup that should identify one object matched several.
    #[error("{count} objects match the value of \"{attribute}\"; expected at most one")]
    Ambiguous { attribute: String, count: usize },
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

fn summary(messages: &[String], errors: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<String> = messages.iter().filter(|m| !m.is_empty()).cloned().collect();
    parts.extend(
        errors
            .iter()
            .map(|(key, message)| format!("{key}: {message}")),
    );
    parts.dedup();
    let text = crosswalk_http::redact(&parts.join("; "));
    let text = text.replace(['\n', '\r'], " ");
    if text.chars().count() > SUMMARY_CHARS {
        let cut: String = text.chars().take(SUMMARY_CHARS).collect();
        format!("{cut}…")
    } else if text.is_empty() {
        "no reason given".to_owned()
    } else {
        text
    }
}

impl Error {
    /// The HTTP status behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http(error) => error.status(),
            Error::ValidationFailed { .. }
            | Error::UniqueViolation { .. }
            | Error::NameConflict { .. } => Some(400),
            Error::PermissionDenied { .. } => Some(403),
            Error::AssetsUnavailable | Error::Ambiguous { .. } => None,
        }
    }

    /// What an admin sees: a code the UI reacts to, one sentence, and the fix.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::Http(error) => error.user_facing(),
            Error::ValidationFailed { .. } => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix("Check the object type's attributes in Assets: required attributes, value formats and status restrictions must match what Crosswalk writes"),
            Error::UniqueViolation { attribute, existing_key, .. } => UserFacing::new(
                Code::Conflict,
                format!("Assets object {existing_key} already uses this \"{attribute}\" value, which must be unique."),
            )
            .with_fix("Two objects claim the same identity: delete or merge the duplicate object in Assets, then run the job again"),
            Error::NameConflict { what, name } => UserFacing::new(
                Code::Conflict,
                format!("The object schema already has {what} \"{name}\" that Crosswalk did not create."),
            )
            .with_fix("The selected object schema has conflicting type names: use a dedicated object schema for Crosswalk"),
            Error::AssetsUnavailable => UserFacing::new(Code::NotFound, "Assets is not available on this Jira site.")
                .with_fix("Assets needs Jira Service Management Premium or Enterprise: check the site URL and the plan, and that Assets is set up"),
            Error::PermissionDenied { .. } => UserFacing::new(Code::PermissionDenied, format!("{self}."))
                .with_fix("Give the Atlassian account access to Assets: make it a Jira administrator or a manager of the object schema Crosswalk writes to"),
            Error::Ambiguous { attribute, count } => UserFacing::new(
                Code::Conflict,
                format!("{count} Assets objects share one \"{attribute}\" value."),
            )
            .with_fix("Delete or merge the duplicate objects in Assets, and mark the attribute unique"),
        }
    }
}

/// Turns a `crosswalk_http` failure into ours: 403 becomes `PermissionDenied`.
pub(crate) fn from_http(error: crosswalk_http::Error) -> Error {
    match error {
        crosswalk_http::Error::Forbidden { route, detail, .. } => {
            Error::PermissionDenied { route, detail }
        }
        other => Error::Http(other),
    }
}
