//! Microsoft Entra client-credentials tokens: requested with the `oauth2` crate through our own
//! `Http` (so they are retried and counted like any request), and cached per
//! (authority, tenant, client, resource) across connections and runs.

use crate::auth::{AccessToken, BoxFuture, TokenProvider, TokenSource};
use crate::client::Http;
use crate::error::{Error, Result};
use crate::redact::one_line;
use crate::token_error::{EntraErrorBody, TokenError, TokenRequestContext};
use crosswalk_core::Secret;
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenResponse,
};
use oauth2::{
    AuthType, ClientId, ClientSecret, RequestTokenError, Scope, StandardRevocableToken,
    TokenResponse, TokenUrl,
};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// Renew a token once less than this much of its lifetime is left.
const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Lifetime assumed when the endpoint sends no `expires_in` (Entra always does).
const ASSUMED_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Route template of the token endpoint, for spans and errors.
const TOKEN_ROUTE: &str = "/{tenant}/oauth2/v2.0/token";

type EntraOauthClient = oauth2::Client<
    EntraErrorBody,
    BasicTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// Which token a cache entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    authority: String,
    tenant: String,
    client_id: String,
    resource: String,
}

struct CachedToken {
    token: AccessToken,
    requested_at: Instant,
    expires_at: Instant,
    /// The secret it was issued for: a changed secret must be proven by a new request.
    secret: Secret,
}

impl CachedToken {
    /// Fresh while more than the margin is left; short-lived tokens are renewed at half-life
    /// instead, so a 2-minute token is not fetched on every call.
    fn is_fresh(&self, now: Instant, margin: Duration) -> bool {
        let lifetime = self.expires_at.saturating_duration_since(self.requested_at);
        now + margin.min(lifetime / 2) < self.expires_at
    }
}

/// One slot per key: the token under a short sync lock (read by every call, cleared by
/// `invalidate` without waiting), and an async lock held only while fetching, so concurrent
/// callers wait for a single refresh instead of each asking Entra.
#[derive(Default)]
struct Slot {
    cached: Mutex<Option<CachedToken>>,
    refresh: tokio::sync::Mutex<()>,
}

impl Slot {
    fn fresh_token(&self, secret: &Secret, margin: Duration) -> Option<AccessToken> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        cached
            .as_ref()
            .filter(|entry| entry.secret == *secret && entry.is_fresh(Instant::now(), margin))
            .map(|entry| entry.token.clone())
    }
}

/// Whether a cached token may answer a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    Cached,
    Refresh,
}

/// Tokens shared by every provider of the process. Cloning shares the cache.
#[derive(Clone)]
pub struct TokenCache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    slots: Mutex<HashMap<CacheKey, Arc<Slot>>>,
    refresh_margin: Duration,
}

impl Default for TokenCache {
    fn default() -> TokenCache {
        TokenCache::with_refresh_margin(DEFAULT_REFRESH_MARGIN)
    }
}

impl TokenCache {
    /// A cache renewing tokens 5 minutes before they expire.
    pub fn new() -> TokenCache {
        TokenCache::default()
    }

    /// A cache renewing tokens `margin` before they expire.
    pub fn with_refresh_margin(margin: Duration) -> TokenCache {
        TokenCache {
            inner: Arc::new(CacheInner {
                slots: Mutex::new(HashMap::new()),
                refresh_margin: margin,
            }),
        }
    }

    fn slot(&self, key: &CacheKey) -> Arc<Slot> {
        let mut slots = self
            .inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(key.clone()).or_default())
    }

    /// The cached token for `key`, or the one `fetch` gets (failures are not cached).
    async fn get_or_fetch<Fut>(
        &self,
        key: &CacheKey,
        secret: &Secret,
        lookup: Lookup,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<AccessToken>
    where
        Fut: Future<Output = Result<(AccessToken, Option<Duration>)>>,
    {
        let margin = self.inner.refresh_margin;
        let slot = self.slot(key);
        if lookup == Lookup::Cached {
            if let Some(token) = slot.fresh_token(secret, margin) {
                return Ok(token);
            }
        }
        let _refreshing = slot.refresh.lock().await;
        // Whoever held the lock before us may just have fetched a token.
        if lookup == Lookup::Cached {
            if let Some(token) = slot.fresh_token(secret, margin) {
                return Ok(token);
            }
        }
        let requested_at = Instant::now();
        let (token, expires_in) = fetch().await?;
        let expires_at = requested_at + expires_in.unwrap_or(ASSUMED_LIFETIME);
        *slot.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(CachedToken {
            token: token.clone(),
            requested_at,
            expires_at,
            secret: secret.clone(),
        });
        Ok(token)
    }

    /// Drops the token for `key` if it is still `rejected` (a newer one is kept).
    fn invalidate(&self, key: &CacheKey, rejected: &AccessToken) {
        let slot = self.slot(key);
        let mut cached = slot.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if cached
            .as_ref()
            .is_some_and(|entry| entry.token == *rejected)
        {
            *cached = None;
        }
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n_keys = self
            .inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("TokenCache")
            .field("keys", &n_keys)
            .field("refresh_margin", &self.inner.refresh_margin)
            .finish()
    }
}

/// An app registration's client-credentials sign-in for one resource.
#[derive(Debug, Clone)]
pub struct EntraCredentials {
    /// Directory (tenant) ID or verified domain; never `common`.
    pub tenant_id: String,
    /// Application (client) ID.
    pub client_id: String,
    /// The client secret's value.
    pub secret: Secret,
    /// The API the token is for, e.g. `https://graph.microsoft.com` or a Dataverse org URL;
    /// the requested scope is `{resource}/.default`.
    pub resource: Url,
}

/// Client-credentials tokens from `{authority}/{tenant}/oauth2/v2.0/token`.
pub struct EntraTokenProvider {
    login: Http,
    cache: TokenCache,
    key: CacheKey,
    tenant_id: String,
    client_id: String,
    secret: Secret,
    scope: String,
    resource: String,
    token_url: Url,
}

/// Remote name of the token endpoint in request counts and logs.
pub const LOGIN_REMOTE: &str = "entra-login";

impl EntraTokenProvider {
    /// A provider signing in at `authority` (its own counted `entra-login` remote, two requests
    /// at once): what every Microsoft client needs before its first call.
    ///
    /// # Errors
    /// `Error::InvalidUrl` when `authority` is not an http(s) URL.
    pub fn at_authority(
        authority: Url,
        cache: TokenCache,
        credentials: EntraCredentials,
        counter: crate::RequestCounter,
    ) -> Result<EntraTokenProvider> {
        let login = Http::builder(LOGIN_REMOTE)
            .base_url(authority)
            .max_concurrency(2)
            .counter(counter)
            .build()?;
        Ok(EntraTokenProvider::new(login, cache, credentials))
    }

    /// A provider signing in through `login`, an `Http` whose base URL is the authority (e.g.
    /// `https://login.microsoftonline.com`, `https://login.microsoftonline.us`, or a test server;
    /// see `ConnectionSettings::authority()`), sharing tokens through `cache`.
    pub fn new(
        login: Http,
        cache: TokenCache,
        credentials: EntraCredentials,
    ) -> EntraTokenProvider {
        let mut token_url = login.base_url().clone();
        token_url
            .path_segments_mut()
            .expect("Http::build only accepts http(s) base URLs, which have a path")
            .pop_if_empty()
            .extend([credentials.tenant_id.as_str(), "oauth2", "v2.0", "token"]);
        let resource = credentials
            .resource
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let key = CacheKey {
            authority: login
                .base_url()
                .as_str()
                .trim_end_matches('/')
                .to_ascii_lowercase(),
            tenant: credentials.tenant_id.to_ascii_lowercase(),
            client_id: credentials.client_id.to_ascii_lowercase(),
            resource: resource.to_ascii_lowercase(),
        };
        EntraTokenProvider {
            scope: format!("{resource}/.default"),
            resource,
            login,
            cache,
            key,
            tenant_id: credentials.tenant_id,
            client_id: credentials.client_id,
            secret: credentials.secret,
            token_url,
        }
    }

    /// This provider as the `TokenSource` for `Auth::Bearer`.
    pub fn into_source(self) -> TokenSource {
        TokenSource::new(self)
    }

    /// Asks the token endpoint now, even if a token is cached, and caches the answer.
    ///
    /// For connection tests: a cached token only proves the secret worked when it was issued.
    ///
    /// # Errors
    /// `Error::Token` for a refusal an admin must fix; `Transport`, `Throttled` or `Remote`
    /// (5xx) when the endpoint could not answer.
    pub async fn fetch(&self) -> Result<AccessToken> {
        self.cache
            .get_or_fetch(&self.key, &self.secret, Lookup::Refresh, || {
                self.request_token()
            })
            .await
    }

    /// One request to the token endpoint.
    async fn request_token(&self) -> Result<(AccessToken, Option<Duration>)> {
        let client = EntraOauthClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.secret.expose().to_owned()))
            // Entra documents the secret as a form field; Basic would also work.
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()));
        let send = OauthHttp(&self.login);
        let res = client
            .exchange_client_credentials()
            .add_scope(Scope::new(self.scope.clone()))
            .request_async(&send)
            .await;
        let authority = || {
            self.login
                .base_url()
                .host_str()
                .unwrap_or_default()
                .to_owned()
        };
        match res {
            Ok(response) => {
                tracing::debug!(
                    message = "Fetched an access token.",
                    remote = %self.login.remote(),
                    resource = %self.resource,
                    expires_in_s = response.expires_in().map(|lifetime| lifetime.as_secs()),
                );
                Ok((
                    AccessToken::new(response.access_token().secret().clone()),
                    response.expires_in(),
                ))
            }
            Err(RequestTokenError::ServerResponse(body)) => {
                let host = authority();
                let context = TokenRequestContext {
                    authority: &host,
                    tenant: &self.tenant_id,
                    client_id: &self.client_id,
                    resource: &self.resource,
                };
                let error = TokenError::from_body(&body, &context);
                tracing::warn!(
                    message = "Token request refused.",
                    remote = %self.login.remote(),
                    error = %error,
                    trace_id = body.trace_id.as_deref().unwrap_or_default(),
                    correlation_id = body.correlation_id.as_deref().unwrap_or_default(),
                );
                Err(error.into())
            }
            Err(RequestTokenError::Request(error)) => Err(error),
            // The body may hold a token of an unexpected shape: describe, never quote it.
            Err(RequestTokenError::Parse(..)) => Err(TokenError::Malformed {
                authority: authority(),
                detail: "the answer was neither a token nor an OAuth error".to_owned(),
            }
            .into()),
            Err(RequestTokenError::Other(detail)) => Err(TokenError::Malformed {
                authority: authority(),
                detail: one_line(&detail, 200),
            }
            .into()),
        }
    }
}

/// Lets the `oauth2` crate send through our `Http`, so token requests are retried and counted.
struct OauthHttp<'a>(&'a Http);

impl<'c> oauth2::AsyncHttpClient<'c> for OauthHttp<'_> {
    type Error = Error;
    type Future = BoxFuture<'c, Result<oauth2::HttpResponse>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.0.send_oauth(TOKEN_ROUTE, request))
    }
}

impl TokenProvider for EntraTokenProvider {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken>> {
        Box::pin(
            self.cache
                .get_or_fetch(&self.key, &self.secret, Lookup::Cached, || {
                    self.request_token()
                }),
        )
    }

    fn invalidate(&self, rejected: &AccessToken) {
        self.cache.invalidate(&self.key, rejected);
    }
}

impl fmt::Debug for EntraTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraTokenProvider")
            .field("authority", &self.key.authority)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}
