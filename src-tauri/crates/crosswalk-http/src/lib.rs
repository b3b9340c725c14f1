//! The one HTTP layer every remote client of Crosswalk goes through: Microsoft Graph, Dataverse,
//! Jira, Assets, and the Entra token endpoint.
//!
//! It owns what they all share: a single process-wide `reqwest` client (rustls), a concurrency
//! limit per remote, retries with exponential backoff and full jitter that wait out `Retry-After`,
//! a shared pause per remote (or per route, after Jira's `jira-burst-based`) while a `Retry-After`
//! is in force so other requests do not earn 429s of their own,
//! per-remote request counts for the run report, authentication (Basic for Jira, bearer tokens
//! from a cached Entra client-credentials flow, refreshed once after a 401), one tracing span per
//! attempt that names a route template rather than a URL, errors an admin can act on
//! (`Error::user_facing`), and file transfers that never hold a file whole in memory: a `Spool`
//! (an anonymous temporary file) filled by `Http::download` as the body arrives and sent by
//! `RequestSpec::streamed_body` a chunk at a time.
//!
//! It deliberately knows no remote vocabulary (users, issues, paging, delta): clients build those
//! on `Http::send`/`get_json`. It never logs or returns a secret, a token, an `Authorization`
//! header or a URL's query string.
//!
//! Tested over real HTTP on 127.0.0.1 against small axum servers started inside the tests
//! (`src/tests.rs`), with unit tests for the parsing helpers next to their code.

mod auth;
mod client;
mod counter;
mod error;
mod pause;
mod redact;
mod request;
mod retry;
mod spool;
mod token;
mod token_error;

pub use auth::{AccessToken, Auth, BoxFuture, TokenProvider, TokenSource};
pub use client::{Http, HttpBuilder};
pub use counter::{RemoteStats, RequestCounter};
pub use error::{DecodeError, Error, Result};
pub use redact::redact;
pub use request::{transfer_deadline, BodyPart, RequestSpec, Response};
pub use retry::RetryPolicy;
pub use spool::Spool;
pub use token::{EntraCredentials, EntraTokenProvider, TokenCache, LOGIN_REMOTE};
pub use token_error::TokenError;

/// HTTP vocabulary of the API, re-exported so clients need no direct `reqwest` dependency.
pub use reqwest::{header, Method, StatusCode};
pub use url::Url;

#[cfg(test)]
mod tests;
