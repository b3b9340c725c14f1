//! The errors every client built on `Http` returns, and what an admin should do about each.

use crate::redact::{one_line, redact, truncate};
use crate::token_error::TokenError;
use crosswalk_core::{Code, UserFacing};
use reqwest::StatusCode;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// Result of this crate and of the thin clients built on it.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest remote message kept in an error.
const DETAIL_CHARS: usize = 300;

/// A failed request to a remote. Messages carry the remote's name and a route template, never a
/// full URL (queries can hold paging tokens) nor any credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401: the credentials were rejected (after one token refresh for bearer auth).
    #[error("{remote} rejected the credentials for {route}{}", suffix(.detail))]
    Unauthorized {
        remote: String,
        route: &'static str,
        detail: String,
    },
    /// 403: the credentials work but lack a permission, role or consent.
    #[error("{remote} denied access to {route}{}", suffix(.detail))]
    Forbidden {
        remote: String,
        route: &'static str,
        detail: String,
    },
    /// 404: the remote has nothing there (or hides what the caller may not see).
    #[error("{remote} found nothing at {route}{}", suffix(.detail))]
    NotFound {
        remote: String,
        route: &'static str,
        detail: String,
    },
    /// The remote kept throttling until the retry budget was spent.
    #[error("{remote} kept throttling requests to {route}{}", retry_after_suffix(.retry_after))]
    Throttled {
        remote: String,
        route: &'static str,
        retry_after: Option<Duration>,
    },
    /// Any other unsuccessful status (after retries, for the retryable ones).
    #[error("{remote} answered {status} for {route}{}", suffix(.detail))]
    Remote {
        status: StatusCode,
        remote: String,
        route: &'static str,
        detail: String,
    },
    /// The host could not be reached or did not answer in time (after retries).
    #[error("could not reach {remote} at {host} for {route}{}", transport_suffix(.source))]
    Transport {
        remote: String,
        route: &'static str,
        /// Host and port only, e.g. `graph.microsoft.com`.
        host: String,
        #[source]
        source: reqwest::Error,
    },
    /// A response body was not the JSON the client expected.
    #[error("unexpected response from {remote} for {route}")]
    Decode {
        remote: String,
        route: &'static str,
        #[source]
        source: DecodeError,
    },
    /// A request body could not be serialized (a bug in the calling client).
    #[error("could not encode the request to {remote} for {route}")]
    Encode {
        remote: String,
        route: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// Getting an access token from Microsoft Entra failed.
    #[error("sign-in to Microsoft Entra failed")]
    Token(#[from] TokenError),
    /// A URL was malformed or pointed somewhere this remote must not go.
    #[error("invalid URL for {remote}: {detail}")]
    InvalidUrl { remote: String, detail: String },
    /// A file in transit could not be kept in, or read back from, its temporary file (`Spool`).
    #[error("could not keep the file from {remote} for {route} in a temporary file")]
    Spool {
        remote: String,
        route: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The process-wide HTTP client could not be created (TLS set-up failed).
    #[error("could not start the HTTP client")]
    Setup {
        #[source]
        source: reqwest::Error,
    },
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

fn retry_after_suffix(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!(" (it asked to wait {} s more)", wait.as_secs_f64().ceil()),
        None => String::new(),
    }
}

fn transport_suffix(source: &reqwest::Error) -> &'static str {
    if source.is_timeout() {
        " (no answer in time)"
    } else if source.is_connect() {
        " (connection failed)"
    } else {
        " (connection dropped)"
    }
}

impl Error {
    /// The HTTP status behind the error, when a response was received.
    ///
    /// A plain number, so callers can match `Some(403 | 404)`.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Throttled { .. } => Some(429),
            Error::Remote { status, .. } => Some(status.as_u16()),
            _ => None,
        }
    }

    /// What an admin sees: a code the UI reacts to, one sentence, and the fix when we know it.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::Unauthorized { remote, detail, .. } => UserFacing::new(
                Code::AuthExpired,
                format!("{remote} rejected Crosswalk's credentials{}.", suffix(detail)),
            )
            .with_fix(
                "Check the connection's secret: for Jira, the account email and API token (create a new token at id.atlassian.com if it was revoked or expired); for Entra and Dataverse, the client secret value. Save the new value in Crosswalk and test the connection again",
            ),
            Error::Forbidden { remote, route, detail } => UserFacing::new(
                Code::PermissionDenied,
                format!("{remote} denied access to {route}{}.", suffix(detail)),
            )
            .with_fix(
                "Give the account or app registration the missing permission: in Entra ID, add the API permission and grant admin consent; in Dataverse, assign a security role to the application user; in Jira, grant the project or global permission",
            ),
            Error::NotFound { remote, route, detail } => {
                UserFacing::new(Code::NotFound, format!("{remote} found nothing at {route}{}.", suffix(detail)))
                    .with_fix("Check that the item still exists and that the connection's account may see it")
            }
            Error::Throttled { remote, retry_after, .. } => UserFacing::new(
                Code::RemoteUnavailable,
                format!("{remote} kept throttling Crosswalk's requests{}.", retry_after_suffix(retry_after)),
            )
            .with_fix("Wait a few minutes and run the job again; if it keeps happening, schedule the job less often or at a quieter time"),
            Error::Remote { status, remote, route, detail } => remote_user_facing(*status, remote, route, detail),
            Error::Transport { remote, host, source, .. } => {
                let message = if source.is_timeout() {
                    format!("{remote} at {host} did not answer in time.")
                } else {
                    format!("Could not reach {remote} at {host}.")
                };
                UserFacing::new(Code::RemoteUnavailable, message).with_fix(
                    "Check the connection's URL and this computer's network (VPN, proxy, firewall), then test the connection again",
                )
            }
            Error::Decode { remote, .. } => UserFacing::new(
                Code::RemoteUnavailable,
                format!("{remote} sent a response Crosswalk could not read."),
            )
            .with_fix("Check that the connection's URL points at the service itself, not a proxy or sign-in page; if it does, report this to the Crosswalk team"),
            Error::Encode { remote, route, .. } => {
                UserFacing::new(Code::Unknown, format!("Crosswalk could not build its request to {remote} for {route}."))
            }
            Error::Token(error) => error.user_facing(),
            Error::InvalidUrl { remote, detail } => {
                UserFacing::new(Code::Validation, format!("Invalid URL for {remote}: {detail}."))
                    .with_fix("Check the connection's URLs: they should look like https://example.com")
            }
            Error::Spool { remote, source, .. } => UserFacing::new(
                Code::Unknown,
                format!("Crosswalk could not keep a file from {remote} in a temporary file ({source})."),
            )
            .with_fix(format!(
                "Free some disk space in the temporary folder ({}) or let Crosswalk write there, then run the job again",
                std::env::temp_dir().display()
            )),
            Error::Setup { .. } => UserFacing::new(Code::Unknown, "Crosswalk could not start its HTTP client.")
                .with_fix("Restart Crosswalk; if it keeps happening, report this to the Crosswalk team"),
        }
    }
}

fn remote_user_facing(status: StatusCode, remote: &str, route: &str, detail: &str) -> UserFacing {
    let message = format!("{remote} answered {status} for {route}{}.", suffix(detail));
    match status {
        StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => {
            UserFacing::new(Code::Conflict, message)
                .with_fix("Someone changed the item at the same time; run the job again")
        }
        status if status.is_server_error() => UserFacing::new(Code::RemoteUnavailable, message)
            .with_fix("The remote service has a problem; try again later"),
        _ => UserFacing::new(Code::Unknown, message),
    }
}

/// A JSON decoding failure described without the values that failed (they may be personal data
/// or credentials): what went wrong, where, and for malformed bodies a short redacted excerpt.
pub struct DecodeError {
    source: serde_json::Error,
    excerpt: Option<String>,
}

impl DecodeError {
    /// Wraps `source`, keeping an excerpt of `body` only when it is not JSON at all.
    pub(crate) fn new(source: serde_json::Error, body: &[u8]) -> DecodeError {
        let excerpt = match source.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                Some(excerpt_at(body, source.line(), source.column()))
            }
            _ => None,
        };
        DecodeError { source, excerpt }
    }

    /// 1-based line of the failure in the body.
    pub fn line(&self) -> usize {
        self.source.line()
    }

    /// 1-based column of the failure in the body.
    pub fn column(&self) -> usize {
        self.source.column()
    }

    /// True when the body was not JSON at all (as opposed to JSON of an unexpected shape).
    pub fn is_malformed(&self) -> bool {
        self.excerpt.is_some()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.source.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(head, _)| head);
        write!(
            f,
            "{} at line {} column {}",
            hide_quoted(message),
            self.line(),
            self.column()
        )?;
        if let Some(excerpt) = &self.excerpt {
            write!(f, " near `{excerpt}`")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DecodeError {
    // serde_json's own Debug shows the offending value; keep to the sanitized text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecodeError({self})")
    }
}

impl std::error::Error for DecodeError {}

/// Replaces the content of `"…"` literals in a serde message (`invalid type: string "Alice"`).
fn hide_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_string = false;
    let mut escaped = false;
    for ch in message.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
                out.push_str("…\"");
            }
            continue;
        }
        out.push(ch);
        if ch == '"' {
            in_string = true;
        }
    }
    out
}

/// Up to 40 characters of `body` around (`line`, `column`), redacted and on one line.
fn excerpt_at(body: &[u8], line: usize, column: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let start = column.saturating_sub(20);
    let window: String = line_text.chars().skip(start).take(40).collect();
    one_line(&window, 40)
}

/// The remote's own explanation from an error body, whatever its shape, redacted and truncated.
///
/// Knows Graph's and Dataverse's `{"error":{"code","message"}}`, OAuth's
/// `{"error","error_description"}`, Jira's and Assets' `{"errorMessages":[],"errors":{}}`, the
/// gateway's `{"message"}`, Assets imports' `{"errorCode"}`, HTML pages and plain text.
pub(crate) fn remote_detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        if let Some(detail) = detail_from_json(&value) {
            return one_line(&detail, DETAIL_CHARS);
        }
    }
    if text.starts_with('<') {
        return match html_title(text) {
            Some(title) => one_line(&format!("an HTML page titled \"{title}\""), DETAIL_CHARS),
            None => "an HTML page".to_owned(),
        };
    }
    one_line(text, DETAIL_CHARS)
}

fn detail_from_json(value: &Value) -> Option<String> {
    match value.get("error") {
        Some(Value::Object(error)) => {
            let code = non_empty(error.get("code"));
            let message = non_empty(error.get("message"));
            return match (code, message) {
                (Some(code), Some(message)) => Some(format!("{code}: {message}")),
                (code, message) => code.or(message).map(str::to_owned),
            };
        }
        Some(Value::String(error)) => {
            let description =
                non_empty(value.get("error_description")).and_then(|text| text.lines().next());
            return Some(match description {
                Some(description) => format!("{error}: {description}"),
                None => error.clone(),
            });
        }
        _ => {}
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(messages) = value.get("errorMessages").and_then(Value::as_array) {
        parts.extend(messages.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    match value.get("errors") {
        Some(Value::Object(fields)) => {
            parts.extend(
                fields
                    .iter()
                    .map(|(field, message)| match message.as_str() {
                        Some(message) => format!("{field}: {message}"),
                        None => format!("{field}: {message}"),
                    }),
            );
        }
        Some(Value::Array(errors)) => {
            parts.extend(
                errors
                    .iter()
                    .filter_map(|error| non_empty(error.get("message")).map(str::to_owned)),
            );
        }
        _ => {}
    }
    if parts.is_empty() {
        for key in ["message", "errorMessage", "errorCode", "detail", "title"] {
            if let Some(text) = non_empty(value.get(key)) {
                parts.push(text.to_owned());
                break;
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn non_empty(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = html[start..end].trim();
    (!title.is_empty()).then(|| truncate(&redact(title), 80))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expect: &str) {
        assert_eq!(remote_detail(body.as_bytes()), expect, "body: {body}");
    }

    #[test]
    fn remote_details_come_from_each_error_shape() {
        check(
            r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2025-02-13T10:17:06"}}}"#,
            "Authorization_RequestDenied: Insufficient privileges to complete the operation.",
        );
        check(
            r#"{"error":{"code":"","message":"Principal user is missing prvReadincident privilege"}}"#,
            "Principal user is missing prvReadincident privilege",
        );
        check(
            r#"{"errorMessages":["Field 'priority' is required"],"errors":{}}"#,
            "Field 'priority' is required",
        );
        check(
            r#"{"errorMessages":[],"errors":{"summary":"You must specify a summary of the issue."}}"#,
            "summary: You must specify a summary of the issue.",
        );
        check(r#"{"errors":[{"message":"bad request"}]}"#, "bad request");
        check(r#"{"code":401,"message":"Unauthorized"}"#, "Unauthorized");
        check(
            r#"{"result":"error","errorCode":"MISSING_MAPPING"}"#,
            "MISSING_MAPPING",
        );
        check(
            "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: 1\"}",
            "invalid_client: AADSTS7000215: Invalid client secret provided.",
        );
        check(
            "Client must be authenticated to access this resource.",
            "Client must be authenticated to access this resource.",
        );
        check(
            "<html><head><title>Sign in</title></head><body>…</body></html>",
            "an HTML page titled \"Sign in\"",
        );
        check("", "");
        check(
            r#"{"message":"token Bearer eyJhbGciOiJSUzI1NiJ9 was rejected"}"#,
            "token Bearer [redacted] was rejected",
        );
    }

    #[test]
    fn long_details_are_truncated() {
        let body = format!(r#"{{"errorMessages":["{}"]}}"#, "x".repeat(1000));
        assert_eq!(
            remote_detail(body.as_bytes()).chars().count(),
            DETAIL_CHARS + 1
        );
    }

    #[test]
    fn decode_errors_hide_values_but_keep_the_position() {
        let body = br#"{"displayName": "Alice Example", "id": 5}"#;
        let source =
            serde_json::from_slice::<std::collections::HashMap<String, String>>(body).unwrap_err();
        let error = DecodeError::new(source, body);
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("Alice"), "{shown}");
        assert!(shown.contains("line 1 column"), "{shown}");
        assert!(!error.is_malformed());

        let body = b"<html><title>Proxy login</title> client_secret=abc123xyz";
        let source = serde_json::from_slice::<Value>(body).unwrap_err();
        let error = DecodeError::new(source, body);
        assert!(error.is_malformed());
        assert_eq!(
            error.to_string(),
            "expected value at line 1 column 1 near `<html><title>Proxy login</title> client_`"
        );
    }
}
