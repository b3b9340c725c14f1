//! How requests to a remote are authenticated: nothing, Basic (Jira Cloud: account email + API
//! token), or a bearer token from a `TokenSource` that can be refreshed after a 401.

use crate::error::Result;
use crosswalk_core::Secret;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future, so token providers can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Credentials attached to every request of one `Http`.
#[derive(Clone, Debug, Default)]
pub enum Auth {
    /// No `Authorization` header (token endpoints, public metadata, the sandbox).
    #[default]
    None,
    /// HTTP Basic; Jira Cloud and Assets take the Atlassian account email and an API token.
    Basic { user: String, secret: Secret },
    /// `Authorization: Bearer …` from a provider; a 401 invalidates the token and retries once.
    Bearer(TokenSource),
}

/// An OAuth access token. Like `Secret`, it never prints its value.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Secret);

impl AccessToken {
    /// Wraps a token value as received from the token endpoint.
    pub fn new(value: impl Into<String>) -> AccessToken {
        AccessToken(Secret::new(value))
    }

    /// The token itself, for the one place that builds the `Authorization` header.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Something that hands out access tokens, caching them as it sees fit.
pub trait TokenProvider: Send + Sync + 'static {
    /// A token that is valid now (cached, or freshly fetched).
    fn token(&self) -> BoxFuture<'_, Result<AccessToken>>;

    /// Forgets `rejected` after the API answered 401 with it, so the next `token()` fetches a new
    /// one. Passing the rejected token keeps a late 401 from discarding a newer token.
    fn invalidate(&self, rejected: &AccessToken);
}

/// A shareable handle on a `TokenProvider`, what `Auth::Bearer` holds.
#[derive(Clone)]
pub struct TokenSource(Arc<dyn TokenProvider>);

impl TokenSource {
    /// Wraps a provider.
    pub fn new(provider: impl TokenProvider) -> TokenSource {
        TokenSource(Arc::new(provider))
    }

    /// Wraps a provider that is already shared.
    pub fn from_arc(provider: Arc<dyn TokenProvider>) -> TokenSource {
        TokenSource(provider)
    }

    /// A source that always returns `token` (tests, the sandbox, tokens managed elsewhere).
    pub fn fixed(token: AccessToken) -> TokenSource {
        TokenSource::new(FixedToken(token))
    }

    /// A token that is valid now.
    ///
    /// # Errors
    /// Whatever the provider fails with, typically `Error::Token` or `Error::Transport`.
    pub async fn token(&self) -> Result<AccessToken> {
        self.0.token().await
    }

    /// Forgets `rejected` (see `TokenProvider::invalidate`).
    pub fn invalidate(&self, rejected: &AccessToken) {
        self.0.invalidate(rejected);
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSource")
    }
}

struct FixedToken(AccessToken);

impl TokenProvider for FixedToken {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }

    fn invalidate(&self, _rejected: &AccessToken) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_credentials() {
        let basic = Auth::Basic {
            user: "admin@acme.com".into(),
            secret: Secret::new("tok3n-value"),
        };
        let bearer = Auth::Bearer(TokenSource::fixed(AccessToken::new("eyJ-token-value")));
        let shown = format!(
            "{basic:?} {bearer:?} {:?}",
            AccessToken::new("eyJ-token-value")
        );
        assert!(
            !shown.contains("tok3n-value") && !shown.contains("eyJ-token-value"),
            "{shown}"
        );
        assert!(shown.contains("admin@acme.com"));
    }
}
