//! `Http`: one remote's requests through the process-wide client, with authentication, a
//! concurrency limit, retries, counting and one tracing span per attempt.

use crate::auth::{AccessToken, Auth};
use crate::counter::RequestCounter;
use crate::error::{remote_detail, Error, Result};
use crate::pause::Pauses;
use crate::request::{
    resolve_url, streamed_chunks, streamed_len, BodyContent, RequestBody, RequestSpec, Response,
};
use crate::retry::{
    is_retryable_status, is_retryable_transport, is_throttle, parse_retry_after, RetryPolicy,
};
use crate::spool::Spool;
use crate::token_error::TokenError;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE,
    RETRY_AFTER, USER_AGENT,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

/// Fixed for the shared client: a host that does not accept a connection in 10 s is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_CONCURRENCY: usize = 8;
const DEFAULT_USER_AGENT: &str = concat!("crosswalk/", env!("CARGO_PKG_VERSION"));
/// A download goes to its spool in writes of about this size.
const SPOOL_WRITE: usize = 1024 * 1024;

static SHARED_CLIENT: OnceLock<reqwest::Client> = OnceLock::new();

/// The one `reqwest::Client` of the process: one connection pool and TLS set-up for all remotes.
fn shared_client() -> Result<reqwest::Client> {
    if let Some(client) = SHARED_CLIENT.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|source| Error::Setup {
            source: source.without_url(),
        })?;
    Ok(SHARED_CLIENT.get_or_init(|| client).clone())
}

/// The HTTP layer for one remote (a Graph tenant, a Jira site, a Dataverse environment, a token
/// endpoint). Cheap to clone; clones share the concurrency limit and counter.
#[derive(Clone)]
pub struct Http {
    inner: Arc<Inner>,
}

struct Inner {
    remote: Arc<str>,
    base_url: Url,
    auth: Auth,
    limit: Semaphore,
    /// `Retry-After`s in force: requests wait them out instead of earning more 429s.
    pauses: Pauses,
    timeout: Duration,
    retry: RetryPolicy,
    counter: RequestCounter,
    default_headers: HeaderMap,
    client: reqwest::Client,
}

/// Configures an `Http`; only the base URL is required.
#[must_use]
pub struct HttpBuilder {
    remote: String,
    base_url: Option<Url>,
    auth: Auth,
    max_concurrency: usize,
    timeout: Duration,
    retry: RetryPolicy,
    counter: Option<RequestCounter>,
    user_agent: String,
    default_headers: HeaderMap,
}

impl HttpBuilder {
    /// Where relative request paths are appended (its path is kept as a prefix).
    pub fn base_url(mut self, base_url: Url) -> HttpBuilder {
        self.base_url = Some(base_url);
        self
    }

    /// Credentials for every request (default: none).
    pub fn auth(mut self, auth: Auth) -> HttpBuilder {
        self.auth = auth;
        self
    }

    /// Most requests in flight at once to this remote (default 8; at least 1).
    pub fn max_concurrency(mut self, max_concurrency: usize) -> HttpBuilder {
        self.max_concurrency = max_concurrency.max(1);
        self
    }

    /// Deadline of one attempt, from connecting to the last body byte (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> HttpBuilder {
        self.timeout = timeout;
        self
    }

    /// How failed attempts are retried (default `RetryPolicy::default()`).
    pub fn retry(mut self, retry: RetryPolicy) -> HttpBuilder {
        self.retry = retry;
        self
    }

    /// The run's counter; without one the `Http` counts into its own.
    pub fn counter(mut self, counter: RequestCounter) -> HttpBuilder {
        self.counter = Some(counter);
        self
    }

    /// The `User-Agent` sent (default `crosswalk/<version>`); characters a header cannot carry
    /// become `?`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> HttpBuilder {
        self.user_agent = user_agent.into();
        self
    }

    /// A header sent with every request unless the request sets its own (e.g. `OData-Version`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> HttpBuilder {
        self.default_headers.insert(name, value);
        self
    }

    /// Checks the settings and attaches the shared client.
    ///
    /// # Errors
    /// `Error::InvalidUrl` without a usable http(s) base URL; `Error::Setup` if TLS cannot start.
    pub fn build(self) -> Result<Http> {
        let invalid = |detail: &str| Error::InvalidUrl {
            remote: self.remote.clone(),
            detail: detail.to_owned(),
        };
        let base_url = self
            .base_url
            .clone()
            .ok_or_else(|| invalid("no base URL was configured"))?;
        if !matches!(base_url.scheme(), "http" | "https")
            || base_url.cannot_be_a_base()
            || base_url.host_str().is_none()
        {
            return Err(invalid("the base URL must start with https://"));
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(invalid("the base URL must not have a ?query or #fragment"));
        }
        let client = shared_client()?;
        let printable: String = self
            .user_agent
            .chars()
            .map(|ch| if (' '..='~').contains(&ch) { ch } else { '?' })
            .collect();
        let mut default_headers = HeaderMap::new();
        default_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        default_headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&printable)
                .unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_USER_AGENT)),
        );
        default_headers.extend(self.default_headers);
        Ok(Http {
            inner: Arc::new(Inner {
                remote: Arc::from(self.remote),
                base_url,
                auth: self.auth,
                limit: Semaphore::new(self.max_concurrency),
                pauses: Pauses::default(),
                timeout: self.timeout,
                retry: self.retry,
                counter: self.counter.unwrap_or_default(),
                default_headers,
                client,
            }),
        })
    }
}

/// A request ready to go out, identical on every attempt.
struct Prepared {
    method: Method,
    route: &'static str,
    url: Url,
    headers: HeaderMap,
    body: Option<RequestBody>,
    idempotent: bool,
    /// Where a successful body goes instead of memory (`Http::download`).
    sink: Option<Spool>,
    /// The request's own per-attempt deadline, if it set one.
    timeout: Option<Duration>,
}

/// Why one attempt got no response.
enum Failure {
    /// The network or the remote (retried per the policy).
    Transport(reqwest::Error),
    /// The spool of a download (never retried: the disk will not get better by itself).
    Spool(std::io::Error),
}

impl From<reqwest::Error> for Failure {
    fn from(error: reqwest::Error) -> Failure {
        Failure::Transport(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        Failure::Spool(error)
    }
}

/// The credential resolved for one round of attempts.
enum Credential {
    None,
    Basic,
    Bearer {
        token: AccessToken,
        header: HeaderValue,
    },
}

impl Http {
    /// Starts configuring the `Http` for `remote`, the name used in logs, errors and counts
    /// (e.g. `"graph"`, `"jira"`, `"entra-login"`).
    pub fn builder(remote: impl Into<String>) -> HttpBuilder {
        HttpBuilder {
            remote: remote.into(),
            base_url: None,
            auth: Auth::None,
            max_concurrency: DEFAULT_CONCURRENCY,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            counter: None,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            default_headers: HeaderMap::new(),
        }
    }

    /// The remote's name as given to the builder.
    pub fn remote(&self) -> &str {
        &self.inner.remote
    }

    /// The base URL relative paths are joined to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The counter this `Http` records into.
    pub fn counter(&self) -> &RequestCounter {
        &self.inner.counter
    }

    /// Obtains the bearer token now (from the cache when it is fresh), so bad credentials stop
    /// a job before it changes anything; a no-op for other kinds of auth.
    ///
    /// # Errors
    /// The sign-in failure (expired secret, wrong tenant, missing consent...).
    pub async fn sign_in(&self) -> Result<()> {
        match &self.inner.auth {
            Auth::Bearer(source) => source.token().await.map(drop),
            Auth::None | Auth::Basic { .. } => Ok(()),
        }
    }

    /// GETs `path_and_query` (or a same-origin absolute link) and parses the JSON body.
    ///
    /// # Errors
    /// Any `Error`; `Error::Decode` when the body is not the expected JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path_and_query: &str,
    ) -> Result<T> {
        self.send(RequestSpec::get(route, path_and_query))
            .await?
            .json()
    }

    /// Sends `body` as JSON with `method` and parses the JSON answer (an empty answer reads as `null`).
    ///
    /// # Errors
    /// Any `Error`; POST and PATCH are not retried after 500/502/504 or a timeout.
    pub async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        route: &'static str,
        path_and_query: &str,
        body: &B,
    ) -> Result<T> {
        self.send(RequestSpec::new(method, route, path_and_query).json(body))
            .await?
            .json()
    }

    /// Sends one request: resolves the URL, authenticates, waits for a concurrency slot, retries
    /// per the policy, refreshes a rejected bearer token once, and maps failures to `Error`.
    ///
    /// # Errors
    /// `Unauthorized`, `Forbidden`, `NotFound`, `Remote` for unsuccessful statuses (unless
    /// allowed by `RequestSpec::allow_status`), `Throttled` when retries ran out while throttled,
    /// `Transport`, `InvalidUrl` for a link off the base URL's origin, `Encode`, `Token`.
    pub async fn send(&self, spec: RequestSpec) -> Result<Response> {
        let allowed = spec.allowed.clone();
        let request = self.prepare(spec)?;
        let response = self.exchange(&request).await?;
        self.check_status(&request, &allowed, response)
    }

    /// Sends one request like [`Http::send`], but a successful body goes into `spool` as it
    /// arrives (emptied first, and again before a retry), so a large file is never held in
    /// memory; the `Response` of a success has an empty body. Error bodies are read as usual.
    ///
    /// # Errors
    /// As `send`; `Error::Spool` when the temporary file cannot be written (not retried).
    pub async fn download(&self, spec: RequestSpec, spool: &Spool) -> Result<Response> {
        let allowed = spec.allowed.clone();
        let mut request = self.prepare(spec)?;
        request.sink = Some(spool.clone());
        let response = self.exchange(&request).await?;
        self.check_status(&request, &allowed, response)
    }

    /// Sends a request built by the `oauth2` crate and hands back whatever the token endpoint
    /// answered (4xx included, for `oauth2` to parse); 5xx, throttling and transport failures are
    /// retried like any request and surface as `Error`.
    pub(crate) async fn send_oauth(
        &self,
        route: &'static str,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse> {
        let (parts, body) = request.into_parts();
        // Asking for a client-credentials token twice is harmless, so failures are retried.
        let spec = RequestSpec::new(parts.method, route, parts.uri.to_string())
            .headers(parts.headers)
            .raw_body(body)
            .idempotent(true);
        let request = self.prepare(spec)?;
        let response = self.exchange(&request).await?;
        if response.status.is_server_error() {
            return Err(self.status_error(&request, &response));
        }
        let mut out = oauth2::HttpResponse::new(response.body);
        *out.status_mut() = response.status;
        *out.headers_mut() = response.headers;
        Ok(out)
    }

    fn prepare(&self, spec: RequestSpec) -> Result<Prepared> {
        let url = resolve_url(&self.inner.base_url, &spec.target).map_err(|detail| {
            Error::InvalidUrl {
                remote: self.inner.remote.to_string(),
                detail,
            }
        })?;
        let body = spec.body.transpose().map_err(|source| Error::Encode {
            remote: self.inner.remote.to_string(),
            route: spec.route,
            source,
        })?;
        Ok(Prepared {
            method: spec.method,
            route: spec.route,
            url,
            headers: spec.headers,
            body,
            idempotent: spec.idempotent,
            sink: None,
            timeout: spec.timeout,
        })
    }

    async fn credential(&self) -> Result<Credential> {
        match &self.inner.auth {
            Auth::None => Ok(Credential::None),
            Auth::Basic { .. } => Ok(Credential::Basic),
            Auth::Bearer(source) => {
                let token = source.token().await?;
                let mut header = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| TokenError::Malformed {
                        authority: self.inner.remote.to_string(),
                        detail: "the access token has characters an HTTP header cannot carry"
                            .to_owned(),
                    })?;
                header.set_sensitive(true);
                Ok(Credential::Bearer { token, header })
            }
        }
    }

    /// Attempts with retries, plus one more round with a fresh token after a bearer 401.
    async fn exchange(&self, request: &Prepared) -> Result<Response> {
        let mut n_sent = 0;
        let mut refreshed = false;
        loop {
            let credential = self.credential().await?;
            let response = self.execute(request, &credential, &mut n_sent).await?;
            if let (
                StatusCode::UNAUTHORIZED,
                false,
                Auth::Bearer(source),
                Credential::Bearer { token, .. },
            ) = (response.status, refreshed, &self.inner.auth, &credential)
            {
                tracing::info!(
                    message = "Access token rejected; retrying once with a new one.",
                    remote = %self.inner.remote,
                    route = request.route,
                );
                source.invalidate(token);
                refreshed = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// The retry loop: returns the first response that is final (success, or an error status
    /// that is not retried or ran out of retries), or the error that ended the attempts.
    async fn execute(
        &self,
        request: &Prepared,
        credential: &Credential,
        n_sent: &mut u32,
    ) -> Result<Response> {
        let inner = &self.inner;
        let mut retry_idx = 0;
        let mut waited = Duration::ZERO;
        loop {
            let attempt = *n_sent + 1;
            let outcome = self.attempt(request, credential, attempt).await;
            inner.counter.record_sent(&inner.remote, *n_sent > 0);
            *n_sent += 1;
            let delay = match outcome {
                Ok(response) => {
                    let retry_after = retry_after(&response.headers);
                    let throttled =
                        is_throttle(response.status, response.headers.contains_key(RETRY_AFTER));
                    if throttled {
                        inner.counter.record_throttled(&inner.remote);
                        if let Some(wait) = retry_after {
                            inner.pauses.throttled(
                                &request.method,
                                request.route,
                                &response.headers,
                                wait,
                            );
                        }
                    }
                    if !is_retryable_status(response.status, request.idempotent) {
                        return Ok(response);
                    }
                    let delay = inner.retry.next_delay(retry_idx, retry_after, waited);
                    if throttled {
                        tracing::warn!(
                            message = "Remote throttled us; backing off.",
                            remote = %inner.remote,
                            route = request.route,
                            status = response.status.as_u16(),
                            attempt,
                            retry_after_ms = retry_after.map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
                            giving_up = delay.is_none(),
                        );
                    } else {
                        tracing::debug!(
                            message = "Remote failed; retrying.",
                            remote = %inner.remote,
                            route = request.route,
                            status = response.status.as_u16(),
                            attempt,
                        );
                    }
                    match delay {
                        Some(delay) => delay,
                        None if throttled => {
                            return Err(Error::Throttled {
                                remote: inner.remote.to_string(),
                                route: request.route,
                                retry_after,
                            })
                        }
                        None => return Ok(response),
                    }
                }
                Err(Failure::Spool(source)) => {
                    return Err(Error::Spool {
                        remote: inner.remote.to_string(),
                        route: request.route,
                        source,
                    })
                }
                Err(Failure::Transport(error)) => {
                    let delay = if is_retryable_transport(&error, request.idempotent) {
                        inner.retry.next_delay(retry_idx, None, waited)
                    } else {
                        None
                    };
                    let Some(delay) = delay else {
                        return Err(self.transport_error(request, error));
                    };
                    tracing::debug!(
                        message = "Request failed; retrying.",
                        remote = %inner.remote,
                        route = request.route,
                        attempt,
                        error = %error,
                    );
                    delay
                }
            };
            tokio::time::sleep(delay).await;
            waited += delay;
            retry_idx += 1;
        }
    }

    /// One attempt on the wire, holding a concurrency slot until the body is read.
    async fn attempt(
        &self,
        request: &Prepared,
        credential: &Credential,
        attempt: u32,
    ) -> std::result::Result<Response, Failure> {
        let inner = &self.inner;
        let span = tracing::info_span!(
            "http",
            remote = %inner.remote,
            method = %request.method,
            route = request.route,
            attempt,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let recorded = span.clone();
        async {
            // A throttled remote is not asked again before its `Retry-After` (see `pause`).
            if let Some(paused) = inner.pauses.wait(&request.method, request.route).await {
                tracing::debug!(
                    message = "Waited out the remote's Retry-After before sending.",
                    paused_ms = u64::try_from(paused.as_millis()).unwrap_or(u64::MAX),
                );
            }
            // Invariant: `limit` lives as long as `inner` and nothing ever closes it.
            let _permit = inner
                .limit
                .acquire()
                .await
                .expect("the per-remote semaphore is never closed");
            let started = Instant::now();
            let mut builder = inner
                .client
                .request(request.method.clone(), request.url.clone())
                .timeout(request.timeout.unwrap_or(inner.timeout))
                .headers(inner.default_headers.clone())
                .headers(request.headers.clone());
            match (credential, &inner.auth) {
                (Credential::Basic, Auth::Basic { user, secret }) => {
                    builder = builder.basic_auth(user, Some(secret.expose()));
                }
                (Credential::Bearer { header, .. }, _) => {
                    builder = builder.header(AUTHORIZATION, header.clone())
                }
                _ => {}
            }
            if let Some(body) = &request.body {
                if let Some(content_type) = &body.content_type {
                    builder = builder.header(CONTENT_TYPE, content_type.clone());
                }
                builder = match &body.content {
                    BodyContent::Bytes(bytes) => builder.body(bytes.clone()),
                    BodyContent::Streamed(parts) => {
                        builder.header(CONTENT_LENGTH, streamed_len(parts)).body(
                            reqwest::Body::wrap_stream(streamed_chunks(Arc::clone(parts))),
                        )
                    }
                };
            }
            let res = async {
                let mut response = builder.send().await?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = match &request.sink {
                    Some(spool) if status.is_success() => {
                        spool.clear().await?;
                        let mut pending = Vec::with_capacity(SPOOL_WRITE);
                        while let Some(chunk) = response.chunk().await? {
                            if pending.len() + chunk.len() > SPOOL_WRITE && !pending.is_empty() {
                                let full = std::mem::replace(
                                    &mut pending,
                                    Vec::with_capacity(SPOOL_WRITE),
                                );
                                spool.append(full).await?;
                            }
                            pending.extend_from_slice(&chunk);
                        }
                        if !pending.is_empty() {
                            spool.append(pending).await?;
                        }
                        Vec::new()
                    }
                    _ => Vec::from(response.bytes().await?),
                };
                Ok(Response {
                    status,
                    headers,
                    body,
                    remote: Arc::clone(&inner.remote),
                    route: request.route,
                })
            }
            .await
            .map_err(|failure| match failure {
                // reqwest puts the full URL (query included) in its errors; drop it.
                Failure::Transport(error) => Failure::Transport(error.without_url()),
                other => other,
            });
            recorded.record(
                "elapsed_ms",
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
            if let Ok(response) = &res {
                recorded.record("status", response.status.as_u16());
            }
            res
        }
        .instrument(span)
        .await
    }

    fn check_status(
        &self,
        request: &Prepared,
        allowed: &[StatusCode],
        response: Response,
    ) -> Result<Response> {
        let status = response.status;
        if status.is_success() || status.is_redirection() || allowed.contains(&status) {
            return Ok(response);
        }
        Err(self.status_error(request, &response))
    }

    fn status_error(&self, request: &Prepared, response: &Response) -> Error {
        let remote = self.inner.remote.to_string();
        let route = request.route;
        let detail = remote_detail(&response.body);
        match response.status {
            StatusCode::UNAUTHORIZED => Error::Unauthorized {
                remote,
                route,
                detail,
            },
            StatusCode::FORBIDDEN => Error::Forbidden {
                remote,
                route,
                detail,
            },
            StatusCode::NOT_FOUND => Error::NotFound {
                remote,
                route,
                detail,
            },
            StatusCode::TOO_MANY_REQUESTS => Error::Throttled {
                remote,
                route,
                retry_after: retry_after(&response.headers),
            },
            status => Error::Remote {
                status,
                remote,
                route,
                detail,
            },
        }
    }

    fn transport_error(&self, request: &Prepared, source: reqwest::Error) -> Error {
        let host = request.url.host_str().unwrap_or_default();
        let host = match request.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Error::Transport {
            remote: self.inner.remote.to_string(),
            route: request.route,
            host,
            source,
        }
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, OffsetDateTime::now_utc())
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("remote", &self.inner.remote)
            .field("base_url", &self.inner.base_url.as_str())
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}
