//! Named secrets in the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows), through `keyring` 3.
//!
//! Every call blocks (on Linux it is a D-Bus round trip and may wait for the keyring daemon):
//! async callers run it with `tokio::task::spawn_blocking`.

use crate::error::{Error, Result};
use crosswalk_core::Secret;
use keyring::Entry;

/// The OS keychain, with Crosswalk's entries kept under one service name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keychain {
    service: String,
}

impl Default for Keychain {
    fn default() -> Keychain {
        Keychain::with_service(Keychain::DEFAULT_SERVICE)
    }
}

impl Keychain {
    /// The service name Crosswalk's entries are stored under.
    pub const DEFAULT_SERVICE: &'static str = "crosswalk";

    /// The keychain under the `crosswalk` service.
    pub fn new() -> Keychain {
        Keychain::default()
    }

    /// The keychain under another service name (tests use a unique one per run).
    pub fn with_service(service: impl Into<String>) -> Keychain {
        Keychain {
            service: service.into(),
        }
    }

    /// The service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// What the OS keychain is called here, for the About screen and messages.
    pub fn platform_name() -> &'static str {
        if cfg!(target_os = "linux") {
            "Secret Service (GNOME Keyring or KWallet)"
        } else if cfg!(target_os = "macos") {
            "macOS Keychain"
        } else if cfg!(target_os = "windows") {
            "Windows Credential Manager"
        } else {
            "OS keychain"
        }
    }

    /// Stores `secret` under `name`, replacing any earlier value.
    ///
    /// # Errors
    /// `Error::Invalid` for an empty secret or name; `Error::Unavailable` when the keychain
    /// cannot be reached or is locked.
    pub fn set(&self, name: &str, secret: &Secret) -> Result<()> {
        if secret.is_empty() {
            return Err(Error::Invalid {
                what: format!("The secret for keychain entry {name}"),
                problem: "is empty".to_owned(),
            });
        }
        self.entry(name)?
            .set_password(secret.expose())
            .map_err(|error| Error::from_keyring(name, error))?;
        tracing::info!(message = "Stored a secret in the OS keychain.", name, service = %self.service);
        Ok(())
    }

    /// Reads the secret stored under `name`.
    ///
    /// # Errors
    /// `Error::Missing` when there is none; `Error::Invalid` when it is empty;
    /// `Error::Unavailable` when the keychain cannot be reached or is locked.
    pub fn get(&self, name: &str) -> Result<Secret> {
        let secret = Secret::new(
            self.entry(name)?
                .get_password()
                .map_err(|error| Error::from_keyring(name, error))?,
        );
        if secret.is_empty() {
            return Err(Error::Invalid {
                what: format!("The keychain entry {name}"),
                problem: "is empty".to_owned(),
            });
        }
        tracing::debug!(message = "Read a secret from the OS keychain.", name, service = %self.service);
        Ok(secret)
    }

    /// Removes the entry `name`; `false` if there was none.
    pub fn delete(&self, name: &str) -> Result<bool> {
        match self.entry(name)?.delete_credential() {
            Ok(()) => {
                tracing::info!(message = "Removed a secret from the OS keychain.", name, service = %self.service);
                Ok(true)
            }
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(error) => Err(Error::from_keyring(name, error)),
        }
    }

    /// True when an entry `name` exists (reads it, so a locked keychain is an error, not `false`).
    pub fn exists(&self, name: &str) -> Result<bool> {
        match self.entry(name)?.get_password() {
            Ok(_) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(error) => Err(Error::from_keyring(name, error)),
        }
    }

    fn entry(&self, name: &str) -> Result<Entry> {
        if name.trim().is_empty() {
            return Err(Error::Invalid {
                what: "A keychain entry name".to_owned(),
                problem: "is empty".to_owned(),
            });
        }
        Entry::new(&self.service, name).map_err(|error| Error::from_keyring(name, error))
    }
}
