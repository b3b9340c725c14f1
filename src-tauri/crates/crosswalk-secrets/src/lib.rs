//! Secrets for Crosswalk's connections: the OS keychain, and an explicit environment-variable
//! fallback for headless servers.
//!
//! For: storing, reading and removing named secrets (`Keychain`), and resolving a connection's
//! `SecretRef` to a `Secret` (`Secrets`). Values only ever travel as `crosswalk_core::Secret`,
//! which cannot be printed; no error, log line or `Debug` output here contains one.
//!
//! Not for: the database (secrets never go there), files, or caching secrets in memory.
//!
//! Blocking: every keychain call is synchronous (a D-Bus round trip on Linux). Async callers use
//! `tokio::task::spawn_blocking`.
//!
//! Tested with unit tests for messages and the environment path, `tests/keychain.rs` against a
//! real Secret Service (skipped unless `CROSSWALK_KEYRING_TESTS=1`; `keyring-session.sh` starts a
//! throwaway gnome-keyring and sets it), and `tests/unavailable.rs` with no reachable D-Bus.

mod error;
mod keychain;
mod resolver;
#[cfg(test)]
mod tests;

pub use crosswalk_core::{Secret, SecretRef};
pub use error::{Error, Result};
pub use keychain::Keychain;
pub use resolver::Secrets;
