//! The small set of error codes the UI and CLI react to, and the admin-facing error value.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure an admin is looking at; decides the CLI exit code and the UI treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Code {
    /// Anything not classified below.
    Unknown,
    /// The admin's input is wrong (bad tenant id, malformed TOML, unknown job...).
    Validation,
    /// Something named does not exist.
    NotFound,
    /// Credentials were rejected or have expired.
    AuthExpired,
    /// Credentials work but lack a permission or consent.
    PermissionDenied,
    /// The remote system could not be reached or kept failing.
    RemoteUnavailable,
    /// The OS keychain (or the configured fallback) is not usable.
    SecretsUnavailable,
    /// Another process or run holds what we need.
    Conflict,
    /// The run was cancelled by the admin.
    Cancelled,
}

impl Code {
    /// Exit code of the CLI for this kind of failure (documented in `crosswalk --help`).
    pub fn exit_code(self) -> u8 {
        match self {
            Code::Unknown => 1,
            Code::Validation => 2,
            Code::NotFound => 3,
            Code::AuthExpired | Code::PermissionDenied => 4,
            Code::RemoteUnavailable => 5,
            Code::SecretsUnavailable => 6,
            Code::Conflict => 7,
            Code::Cancelled => 8,
        }
    }
}

/// An error an admin can act on: what went wrong and what to do about it.
///
/// Attach it as `anyhow` context; the CLI and the command layer print the first one they find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserFacing {
    pub code: Code,
    /// One sentence: what happened.
    pub message: String,
    /// What the admin should do about it, when we know.
    pub fix: Option<String>,
}

impl UserFacing {
    /// A failure with no known fix.
    pub fn new(code: Code, message: impl Into<String>) -> UserFacing {
        UserFacing {
            code,
            message: message.into(),
            fix: None,
        }
    }

    /// Adds the fix an admin should apply.
    pub fn with_fix(mut self, fix: impl Into<String>) -> UserFacing {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for UserFacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " Fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UserFacing {}
