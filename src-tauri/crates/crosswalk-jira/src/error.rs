//! The errors of the Jira client: the HTTP layer's, plus the Jira answers a caller acts on.

use crosswalk_core::{Code, UserFacing};
use std::collections::BTreeMap;

/// Result of every `JiraClient` call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed Jira call. Texts carry route templates and Jira's own messages, never credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Transport, 401, 404, throttling, decoding… as classified by `crosswalk_http`.
    #[error(transparent)]
    Http(#[from] crosswalk_http::Error),
    /// 400 ErrorCollection on a write: Jira refused some field values (or the request as a whole).
    #[error("Jira rejected the request to {route}{}", describe_field_errors(.messages, .errors))]
    FieldErrors {
        route: &'static str,
        messages: Vec<String>,
        errors: BTreeMap<String, String>,
    },
    /// The transition does not exist from the issue's current status (or is not allowed).
    #[error("transition {transition} is not available on {issue}{}", suffix(.detail))]
    TransitionNotAvailable {
        issue: String,
        transition: String,
        detail: String,
    },
    /// The file is bigger than the site's attachment upload limit (bytes).
    #[error("the attachment is {size} bytes but Jira accepts at most {limit} bytes")]
    AttachmentTooLarge { size: u64, limit: u64 },
    /// 403: the account lacks a project or global permission for this call.
    #[error("Jira denied {route}{}", suffix(.detail))]
    PermissionDenied { route: &'static str, detail: String },
    /// The account's time zone is not in the zone database, so JQL dates cannot be formatted.
    #[error("unknown time zone \"{name}\"")]
    UnknownTimeZone { name: String },
    /// The caller passed something Jira documents as invalid (checked before sending; a bug in
    /// the calling code, not a problem an admin can fix).
    #[error("{what} is not valid: {detail}")]
    InvalidArgument { what: &'static str, detail: String },
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

fn describe_field_errors(messages: &[String], errors: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = messages
        .iter()
        .cloned()
        .chain(
            errors
                .iter()
                .map(|(field, message)| format!("{field}: {message}")),
        )
        .collect();
    suffix(&parts.join("; "))
}

impl Error {
    /// The HTTP status behind the error, when Jira answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http(error) => error.status(),
            Error::FieldErrors { .. } | Error::TransitionNotAvailable { .. } => Some(400),
            Error::PermissionDenied { .. } => Some(403),
            Error::AttachmentTooLarge { .. }
            | Error::UnknownTimeZone { .. }
            | Error::InvalidArgument { .. } => None,
        }
    }

    /// What an admin sees: a code the UI reacts to, one sentence, and the fix in Jira.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::Http(error) => error.user_facing(),
            Error::FieldErrors { .. } => UserFacing::new(
                Code::Validation,
                format!("{}.", capitalize(&self.to_string())),
            )
            .with_fix(
                "Check the job's field mapping: each mapped field must be on the project's create and edit screens and get a value of the type Jira expects (see the field list in the connection's Jira metadata); a Jira admin can add a missing field to the screen in Project settings › Issue types",
            ),
            Error::TransitionNotAvailable { issue, .. } => UserFacing::new(
                Code::Conflict,
                format!("Jira cannot move {issue} to the mapped status from its current status."),
            )
            .with_fix(
                "Check the job's status mapping against the project's workflow; a Jira admin can add the transition to the workflow or grant the account the Transition issues permission",
            ),
            Error::AttachmentTooLarge { size, limit } => UserFacing::new(
                Code::Validation,
                format!("An attachment of {size} bytes is over Jira's limit of {limit} bytes."),
            )
            .with_fix(
                "A Jira admin can raise the limit in Settings › System › Attachments, or exclude large files from the job",
            ),
            Error::PermissionDenied { .. } => UserFacing::new(
                Code::PermissionDenied,
                format!("{}.", capitalize(&self.to_string())),
            )
            .with_fix(
                "In Jira, have a project admin grant the connection's account the Browse projects, Create issues, Edit issues, Transition issues, Add comments and Create attachments permissions in the project's permission scheme",
            ),
            Error::InvalidArgument { .. } => UserFacing::new(
                Code::Validation,
                format!("Crosswalk sent Jira an invalid request: {self}."),
            ),
            Error::UnknownTimeZone { name } => UserFacing::new(
                Code::Validation,
                format!("The Jira account's time zone \"{name}\" is not known to Crosswalk."),
            )
            .with_fix(
                "Set a standard time zone (such as Europe/Berlin) in the account's Atlassian profile settings, then test the connection again",
            ),
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
