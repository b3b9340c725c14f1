//! The secrets errors, what an admin should do about each, and how keyring's errors map to them.
//!
//! No variant carries a secret value: keyring's `BadEncoding` (which holds the raw bytes) and
//! `Ambiguous` (which holds credentials) are reduced to a description before they get here.

use crosswalk_core::{Code, UserFacing};

/// Shorthand for the secrets results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a secret could not be stored or read. `Display` is the admin-facing text with its fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The OS keychain has no entry with this name.
    #[error("{}", self.user_facing())]
    Missing { name: String },
    /// The OS keychain cannot be reached or is locked; `detail` is keyring's own text.
    #[error("{}", self.user_facing())]
    Unavailable { detail: String },
    /// The environment variable a connection names is not set.
    #[error("{}", self.user_facing())]
    EnvMissing {
        var: String,
        connection: Option<String>,
    },
    /// The value (or name) cannot be used: empty, not UTF-8, refused by the keychain.
    #[error("{}", self.user_facing())]
    Invalid { what: String, problem: String },
}

#[cfg(target_os = "linux")]
fn unavailable(detail: &str) -> (String, &'static str) {
    (
        format!("No unlocked Secret Service (GNOME Keyring or KWallet) is reachable on the session D-Bus ({detail})."),
        "Start and unlock your keyring, or on a headless server set `secret = { env = \"VAR\" }` for the connection and export VAR.",
    )
}

#[cfg(target_os = "macos")]
fn unavailable(detail: &str) -> (String, &'static str) {
    (
        format!("The macOS Keychain could not be used ({detail})."),
        "Unlock your login keychain (Keychain Access) and allow Crosswalk when asked, or set `secret = { env = \"VAR\" }` for the connection and export VAR.",
    )
}

#[cfg(target_os = "windows")]
fn unavailable(detail: &str) -> (String, &'static str) {
    (
        format!("Windows Credential Manager could not be used ({detail})."),
        "Run Crosswalk in a signed-in user session, or set `secret = { env = \"VAR\" }` for the connection and set VAR.",
    )
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn unavailable(detail: &str) -> (String, &'static str) {
    (
        format!("The OS keychain could not be used ({detail})."),
        "Set `secret = { env = \"VAR\" }` for the connection and export VAR.",
    )
}

impl Error {
    /// The error as an admin sees it: a code for the UI and exit status, a sentence and a fix.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::Missing { name } => UserFacing::new(
                Code::NotFound,
                format!("No secret named {name} in the OS keychain."),
            )
            .with_fix(format!(
                "`crosswalk secret set {name}` (reads the value from stdin) or save the connection again in the console."
            )),
            Error::Unavailable { detail } => {
                let (message, fix) = unavailable(detail);
                UserFacing::new(Code::SecretsUnavailable, message).with_fix(fix)
            }
            Error::EnvMissing { var, connection } => {
                let message = match connection {
                    Some(connection) => format!(
                        "Environment variable {var} named in the configuration of connection {connection} is not set."
                    ),
                    None => format!("Environment variable {var} named in the configuration is not set."),
                };
                UserFacing::new(Code::SecretsUnavailable, message).with_fix(format!(
                    "Export {var} in the environment Crosswalk starts in (for a service, in its unit or task definition), or drop `secret = {{ env = ... }}` to use the OS keychain."
                ))
            }
            Error::Invalid { what, problem } => {
                UserFacing::new(Code::Validation, format!("{what} {problem}.")).with_fix(
                    "Store the secret again (in the console, or `crosswalk secret set NAME` reading from stdin).",
                )
            }
        }
    }

    /// Maps keyring's error for the entry `name`, dropping anything that could hold a secret.
    pub(crate) fn from_keyring(name: &str, error: keyring::Error) -> Error {
        let entry = || format!("The keychain entry {name}");
        match error {
            keyring::Error::NoEntry => Error::Missing { name: name.to_owned() },
            keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => {
                Error::Unavailable { detail: error.to_string() }
            }
            keyring::Error::BadEncoding(_) => {
                Error::Invalid { what: entry(), problem: "does not hold UTF-8 text".to_owned() }
            }
            keyring::Error::TooLong(attribute, limit) => Error::Invalid {
                what: entry(),
                problem: format!("is too long for the OS keychain ({attribute} is limited to {limit} characters)"),
            },
            keyring::Error::Invalid(attribute, reason) => Error::Invalid {
                what: entry(),
                problem: format!("was refused by the OS keychain ({attribute}: {reason})"),
            },
            keyring::Error::Ambiguous(items) => Error::Invalid {
                what: entry(),
                problem: format!("matches {} entries in the OS keychain; delete the extra ones", items.len()),
            },
            // keyring's enum is non-exhaustive; a new kind is most likely a platform problem.
            other => Error::Unavailable { detail: other.to_string() },
        }
    }
}
