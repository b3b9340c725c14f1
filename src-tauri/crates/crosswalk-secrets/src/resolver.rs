//! Finding a connection's secret where its configuration says it lives.

use crate::error::{Error, Result};
use crate::keychain::Keychain;
use crosswalk_core::{ConnectionConfig, Secret, SecretRef};
use std::ffi::OsString;
use std::sync::Arc;

/// Reads environment variables; injectable so tests never touch the process environment.
type EnvLookup = dyn Fn(&str) -> Option<OsString> + Send + Sync;

/// Resolves `SecretRef`s: the OS keychain, or (for headless servers) an environment variable.
/// Never a file and never the database.
#[derive(Clone)]
pub struct Secrets {
    keychain: Keychain,
    env_lookup: Arc<EnvLookup>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("keychain", &self.keychain)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// Resolves through `keychain` and the process environment.
    pub fn new(keychain: Keychain) -> Secrets {
        Secrets {
            keychain,
            env_lookup: Arc::new(|var| std::env::var_os(var)),
        }
    }

    /// The real thing: the `crosswalk` keychain service and the process environment.
    pub fn from_os() -> Secrets {
        Secrets::new(Keychain::default())
    }

    /// Replaces how environment variables are read (tests pass a map).
    pub fn with_env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static,
    ) -> Secrets {
        self.env_lookup = Arc::new(lookup);
        self
    }

    /// The keychain behind `SecretRef::Keychain` (to store or remove entries).
    pub fn keychain(&self) -> &Keychain {
        &self.keychain
    }

    /// The secret `secret_ref` points to. Blocks on the keychain: use `spawn_blocking` from async.
    ///
    /// # Errors
    /// `Error::Missing`/`Error::Unavailable` from the keychain; `Error::EnvMissing` when the
    /// variable is unset; `Error::Invalid` when the value is empty or not UTF-8.
    pub fn resolve(&self, secret_ref: &SecretRef) -> Result<Secret> {
        self.resolve_named(secret_ref, None)
    }

    /// True when the secret can be read now (so the console can flag connections that cannot work).
    pub fn is_available(&self, secret_ref: &SecretRef) -> bool {
        match secret_ref {
            SecretRef::Keychain(name) => self.keychain.exists(name).unwrap_or(false),
            SecretRef::Env(_) => self.resolve(secret_ref).is_ok(),
        }
    }

    /// The secret of `connection`; errors name the connection.
    pub fn resolve_for(&self, connection: &ConnectionConfig) -> Result<Secret> {
        self.resolve_named(&connection.secret_ref(), Some(&connection.name))
    }

    fn resolve_named(&self, secret_ref: &SecretRef, connection: Option<&str>) -> Result<Secret> {
        match secret_ref {
            SecretRef::Keychain(name) => self.keychain.get(name),
            SecretRef::Env(var) => {
                let missing = || Error::EnvMissing {
                    var: var.clone(),
                    connection: connection.map(str::to_owned),
                };
                let value = (self.env_lookup)(var).ok_or_else(missing)?;
                let invalid = |problem: &str| Error::Invalid {
                    what: format!("The environment variable {var}"),
                    problem: problem.to_owned(),
                };
                let value = value
                    .into_string()
                    .map_err(|_| invalid("is not valid UTF-8"))?;
                let secret = Secret::new(value);
                if secret.is_empty() {
                    return Err(invalid("is empty"));
                }
                tracing::debug!(message = "Read a secret from the environment.", var = %var);
                Ok(secret)
            }
        }
    }
}
