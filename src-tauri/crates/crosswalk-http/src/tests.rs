//! `Http` over real HTTP: small axum servers on 127.0.0.1, started per test, play the remotes
//! (Graph, Jira, the Entra token endpoint) and record what reached them.

use crate::*;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use crosswalk_core::{Code, Secret};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "535fb089-9ff3-47b6-9bfb-4f1264799865";
const CLIENT_SECRET: &str = "s3cr3t~value-never-shown";
const TENANT: &str = "contoso.onmicrosoft.com";

// ---------------------------------------------------------------- helpers

/// Serves `router` on a free loopback port for the rest of the test.
async fn serve(router: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound socket has an address");
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("test server runs")
    });
    Url::parse(&format!("http://{addr}")).expect("loopback URL is valid")
}

/// Retries fast enough for tests, with the production shape.
fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_total_wait: Duration::from_secs(10),
        retry_after_jitter: Duration::from_millis(10),
    }
}

fn http_for(remote: &str, base: &Url) -> HttpBuilder {
    Http::builder(remote)
        .base_url(base.clone())
        .retry(quick_retry())
}

/// One canned answer of a scripted server.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn canned(status: u16, body: &str) -> Canned {
    Canned {
        status,
        headers: vec![("content-type", "application/json".to_owned())],
        body: body.to_owned(),
    }
}

impl Canned {
    fn header(mut self, name: &'static str, value: &str) -> Canned {
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// What a scripted server saw: when each request arrived.
#[derive(Clone, Default)]
struct Seen {
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Seen {
    fn hits(&self) -> usize {
        self.arrivals.lock().expect("test mutex").len()
    }

    fn gap(&self, from: usize, to: usize) -> Duration {
        let arrivals = self.arrivals.lock().expect("test mutex");
        arrivals[to] - arrivals[from]
    }
}

/// A server answering every request with the next canned response (the last one repeats).
fn scripted(responses: Vec<Canned>) -> (Router, Seen) {
    let seen = Seen::default();
    let state = (Arc::new(responses), seen.clone());
    let router = Router::new()
        .fallback(
            |State((responses, seen)): State<(Arc<Vec<Canned>>, Seen)>| async move {
                let n = {
                    let mut arrivals = seen.arrivals.lock().expect("test mutex");
                    arrivals.push(Instant::now());
                    arrivals.len() - 1
                };
                let canned = responses[n.min(responses.len() - 1)].clone();
                let mut headers = HeaderMap::new();
                for (name, value) in canned.headers {
                    headers.insert(name, value.parse().expect("canned header is valid"));
                }
                (
                    AxumStatus::from_u16(canned.status).expect("canned status is valid"),
                    headers,
                    canned.body,
                )
                    .into_response()
            },
        )
        .with_state(state);
    (router, seen)
}

/// The tenant in the path and the form fields of a token request.
type TokenForm = (String, HashMap<String, String>);

/// The fake Entra token endpoint: counts requests, records the last form, issues `token-N`.
#[derive(Clone, Default)]
struct TokenEndpoint {
    hits: Arc<AtomicUsize>,
    expires_in: u64,
    delay: Duration,
    last_form: Arc<Mutex<Option<TokenForm>>>,
    /// Tenants that get a canned error instead of a token.
    errors: Arc<HashMap<String, (u16, Value)>>,
}

impl TokenEndpoint {
    fn new(expires_in: u64) -> TokenEndpoint {
        TokenEndpoint {
            expires_in,
            ..TokenEndpoint::default()
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(SeqCst)
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(issue_token))
            .with_state(self.clone())
    }
}

async fn issue_token(
    State(endpoint): State<TokenEndpoint>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> AxumResponse {
    let n = endpoint.hits.fetch_add(1, SeqCst) + 1;
    *endpoint.last_form.lock().expect("test mutex") = Some((tenant.clone(), form));
    tokio::time::sleep(endpoint.delay).await;
    if let Some((status, body)) = endpoint.errors.get(&tenant) {
        return (
            AxumStatus::from_u16(*status).expect("valid status"),
            Json(body.clone()),
        )
            .into_response();
    }
    Json(json!({"token_type": "Bearer", "expires_in": endpoint.expires_in, "ext_expires_in": 3599, "access_token": format!("token-{n}")}))
        .into_response()
}

fn credentials(tenant: &str) -> EntraCredentials {
    EntraCredentials {
        tenant_id: tenant.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        secret: Secret::new(CLIENT_SECRET),
        resource: Url::parse("https://graph.microsoft.com").expect("valid URL"),
    }
}

fn entra_source(
    authority: &Url,
    cache: &TokenCache,
    counter: &RequestCounter,
    tenant: &str,
) -> TokenSource {
    let login = http_for("entra-login", authority)
        .counter(counter.clone())
        .build()
        .expect("login Http builds");
    EntraTokenProvider::new(login, cache.clone(), credentials(tenant)).into_source()
}

/// Everything an error can show: Display, Debug and the whole source chain.
fn everything_shown(error: &Error) -> String {
    let mut shown = format!("{error} | {error:?} | {}", error.user_facing());
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        shown.push_str(&format!(" | {cause} | {cause:?}"));
        source = cause.source();
    }
    shown
}

/// A Graph-like API that accepts only `Bearer {accepted}` (any token when `None`).
fn graph_api(accepted: Option<&'static str>) -> (Router, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        "/v1.0/organization",
        get(move |headers: HeaderMap| async move {
            counted.fetch_add(1, SeqCst);
            let authorization = headers.get("authorization").and_then(|value| value.to_str().ok()).unwrap_or_default();
            let ok = authorization.starts_with("Bearer token-")
                && accepted.is_none_or(|token| authorization == format!("Bearer {token}"));
            if ok {
                (AxumStatus::OK, Json(json!({"value": [{"id": "org"}]})))
            } else {
                let body = json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}});
                (AxumStatus::UNAUTHORIZED, Json(body))
            }
        }),
    );
    (router, hits)
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn retry_after_seconds_are_waited_out() {
    let throttled = canned(
        429,
        r#"{"error":{"code":"TooManyRequests","message":"Please retry again later."}}"#,
    )
    .header("retry-after", "1");
    let (router, seen) = scripted(vec![throttled, canned(200, r#"{"value":[]}"#)]);
    let base = serve(router).await;
    let counter = RequestCounter::new();
    let http = http_for("graph", &base)
        .counter(counter.clone())
        .build()
        .unwrap();

    let page: Value = http
        .get_json("/v1.0/users", "/v1.0/users?$top=999")
        .await
        .unwrap();

    assert_eq!(page, json!({"value": []}));
    assert!(
        seen.gap(0, 1) >= Duration::from_secs(1),
        "waited only {:?}",
        seen.gap(0, 1)
    );
    assert_eq!(
        counter.snapshot()["graph"],
        RemoteStats {
            requests: 2,
            throttled: 1,
            retries: 1
        }
    );
}

/// Sends `GET route` to `target` after `after`; the answer's status.
fn get_later(
    http: &Http,
    route: &'static str,
    target: &'static str,
    after: Duration,
) -> tokio::task::JoinHandle<Result<Value>> {
    let http = http.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        http.get_json::<Value>(route, target).await
    })
}

// api/microsoft.md §D.1, api/atlassian.md §C/§D.10: a request sent before the Retry-After has
// passed fails again and counts against the budget, so the whole remote waits it out.
#[tokio::test]
async fn retry_after_pauses_every_request_to_the_remote() {
    let throttled = canned(429, "{}").header("retry-after", "0.4");
    let (router, seen) = scripted(vec![throttled, canned(200, "{}")]);
    let base = serve(router).await;
    let counter = RequestCounter::new();
    let http = http_for("assets", &base)
        .counter(counter.clone())
        .build()
        .unwrap();

    let first = get_later(&http, "object/create", "/object/create", Duration::ZERO);
    let other = get_later(&http, "object/{id}", "/object/7", Duration::from_millis(50));
    first.await.unwrap().unwrap();
    other.await.unwrap().unwrap();

    assert_eq!(seen.hits(), 3, "one 429, then each request once");
    assert!(
        seen.gap(0, 1) >= Duration::from_millis(400),
        "a request went out {:?} after the 429 with Retry-After 0.4",
        seen.gap(0, 1)
    );
    assert_eq!(counter.snapshot()["assets"].throttled, 1);
}

// api/atlassian.md §C: `jira-burst-based` limits one endpoint and method: only that route waits.
#[tokio::test]
async fn burst_limit_pauses_only_its_route() {
    let throttled = canned(429, "{}")
        .header("retry-after", "0.5")
        .header("ratelimit-reason", "jira-burst-based");
    let (router, seen) = scripted(vec![throttled, canned(200, "{}")]);
    let base = serve(router).await;
    let http = http_for("jira", &base).build().unwrap();

    let search = "/rest/api/3/search/jql";
    let first = get_later(&http, search, search, Duration::ZERO);
    let other_route = get_later(
        &http,
        "/rest/api/3/issue/{key}",
        "/rest/api/3/issue/SUP-1",
        Duration::from_millis(50),
    );
    let same_route = get_later(
        &http,
        search,
        "/rest/api/3/search/jql?nextPageToken=x",
        Duration::from_millis(100),
    );
    for task in [first, other_route, same_route] {
        task.await.unwrap().unwrap();
    }

    assert_eq!(seen.hits(), 4);
    assert!(
        seen.gap(0, 1) < Duration::from_millis(300),
        "another endpoint was held back {:?}",
        seen.gap(0, 1)
    );
    assert!(
        seen.gap(0, 2) >= Duration::from_millis(500),
        "the throttled endpoint was asked again after {:?}",
        seen.gap(0, 2)
    );
}

// api/atlassian.md §C: `jira-per-issue-on-write` limits writes to one issue: nothing else waits.
#[tokio::test]
async fn per_issue_limit_holds_back_only_the_refused_request() {
    let throttled = canned(429, "{}")
        .header("retry-after", "0.5")
        .header("ratelimit-reason", "jira-per-issue-on-write");
    let (router, seen) = scripted(vec![throttled, canned(200, "{}")]);
    let base = serve(router).await;
    let http = http_for("jira", &base).build().unwrap();

    let route = "/rest/api/3/issue/{key}";
    let first = get_later(&http, route, "/rest/api/3/issue/SUP-1", Duration::ZERO);
    let other_issue = get_later(
        &http,
        route,
        "/rest/api/3/issue/SUP-2",
        Duration::from_millis(50),
    );
    first.await.unwrap().unwrap();
    other_issue.await.unwrap().unwrap();

    assert_eq!(seen.hits(), 3);
    assert!(seen.gap(0, 1) < Duration::from_millis(300));
    assert!(seen.gap(0, 2) >= Duration::from_millis(500));
}

// A file transfer's deadline grows with the file: the client's per-attempt deadline covers the
// whole body, which a large file on a slow link cannot meet.
#[tokio::test]
async fn a_request_may_set_its_own_deadline_for_a_large_transfer() {
    let router = Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        "{}"
    });
    let base = serve(router).await;
    let http = http_for("jira", &base)
        .timeout(Duration::from_millis(100))
        .retry(RetryPolicy::never())
        .build()
        .unwrap();
    let route = "/rest/api/3/attachment/content/{id}";

    let default = http
        .send(RequestSpec::get(route, "/rest/api/3/attachment/content/1"))
        .await;
    let own = http
        .send(
            RequestSpec::get(route, "/rest/api/3/attachment/content/1")
                .timeout(Duration::from_secs(5)),
        )
        .await;

    assert!(
        matches!(default, Err(Error::Transport { .. })),
        "{default:?}"
    );
    assert_eq!(own.unwrap().status(), StatusCode::OK);
    assert_eq!(transfer_deadline(0), Duration::from_secs(60));
    // 100 MB at the slowest allowed 100 KB/s: 1,000 s more than the usual minute.
    assert_eq!(
        transfer_deadline(100 * 1024 * 1024),
        Duration::from_secs(60 + 1024)
    );
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let seen = Seen::default();
    let state = seen.clone();
    let router = Router::new().fallback(move || {
        let seen = state.clone();
        async move {
            let first = {
                let mut arrivals = seen.arrivals.lock().expect("test mutex");
                arrivals.push(Instant::now());
                arrivals.len() == 1
            };
            if !first {
                return (AxumStatus::OK, HeaderMap::new(), "{}").into_response();
            }
            let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
            let format = time::macros::format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            );
            let mut headers = HeaderMap::new();
            headers.insert(
                "retry-after",
                at.format(&format)
                    .expect("date formats")
                    .parse()
                    .expect("valid header"),
            );
            (AxumStatus::SERVICE_UNAVAILABLE, headers, "").into_response()
        }
    });
    let base = serve(router).await;
    let counter = RequestCounter::new();
    let http = http_for("dataverse", &base)
        .counter(counter.clone())
        .build()
        .unwrap();

    let _: Value = http
        .get_json("/api/data/v9.2/incidents", "/api/data/v9.2/incidents")
        .await
        .unwrap();

    // The date has whole seconds, so "now + 2 s" is between 1 and 2 s away.
    assert!(
        seen.gap(0, 1) >= Duration::from_secs(1),
        "waited only {:?}",
        seen.gap(0, 1)
    );
    assert_eq!(
        counter.snapshot()["dataverse"].throttled,
        1,
        "a 503 with Retry-After is throttling"
    );
}

#[tokio::test]
async fn service_unavailable_then_success_is_retried_even_for_a_post() {
    let (router, seen) = scripted(vec![canned(503, ""), canned(201, r#"{"key":"OPS-1"}"#)]);
    let base = serve(router).await;
    let http = http_for("jira", &base).build().unwrap();

    let created: Value = http
        .send_json(
            Method::POST,
            "/rest/api/3/issue",
            "/rest/api/3/issue",
            &json!({"fields": {}}),
        )
        .await
        .unwrap();

    assert_eq!(created["key"], "OPS-1");
    assert_eq!(seen.hits(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_only_for_idempotent_requests() {
    let (router, seen) = scripted(vec![canned(
        500,
        r#"{"errorMessages":["Internal server error"],"errors":{}}"#,
    )]);
    let base = serve(router).await;
    let http = http_for("jira", &base).build().unwrap();

    let error = http
        .get_json::<Value>("/rest/api/3/myself", "/rest/api/3/myself")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Remote {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(seen.hits(), 4, "a GET is retried up to max_attempts");
    assert_eq!(error.status(), Some(500));
    assert_eq!(error.user_facing().code, Code::RemoteUnavailable);

    let error = http
        .send_json::<_, Value>(
            Method::POST,
            "/rest/api/3/issue",
            "/rest/api/3/issue",
            &json!({}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Remote {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        seen.hits(),
        5,
        "a POST is sent once: it may have created the issue"
    );
}

#[tokio::test]
async fn counter_counts_every_attempt_and_throttle() {
    let throttled = canned(429, "").header("retry-after", "0");
    let (router, _seen) = scripted(vec![throttled.clone(), throttled, canned(200, "{}")]);
    let base = serve(router).await;
    let counter = RequestCounter::new();
    let http = http_for("assets", &base)
        .counter(counter.clone())
        .build()
        .unwrap();

    let _: Value = http.get_json("/object/{id}", "/object/1").await.unwrap();
    let _: Value = http.get_json("/object/{id}", "/object/2").await.unwrap();

    assert_eq!(
        counter.snapshot()["assets"],
        RemoteStats {
            requests: 4,
            throttled: 2,
            retries: 2
        }
    );
}

#[tokio::test]
async fn retry_after_beyond_the_wait_budget_ends_as_throttled() {
    let (router, seen) = scripted(vec![canned(429, "").header("retry-after", "120")]);
    let base = serve(router).await;
    let http = http_for("graph", &base).build().unwrap();

    let error = http
        .get_json::<Value>("/v1.0/users", "/v1.0/users")
        .await
        .unwrap_err();

    let Error::Throttled { retry_after, .. } = &error else {
        panic!("expected Throttled, got {error:?}")
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(120)));
    assert_eq!(
        seen.hits(),
        1,
        "retrying before Retry-After would only count against the quota"
    );
    assert_eq!(error.user_facing().code, Code::RemoteUnavailable);
}

#[tokio::test]
async fn timeouts_are_transport_errors_and_retried_when_idempotent() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, SeqCst);
            tokio::time::sleep(Duration::from_secs(2)).await;
            "{}"
        }
    });
    let base = serve(router).await;
    let http = http_for("graph", &base)
        .timeout(Duration::from_millis(150))
        .retry(RetryPolicy {
            max_attempts: 2,
            ..quick_retry()
        })
        .build()
        .unwrap();

    let error = http
        .get_json::<Value>("/v1.0/users", "/v1.0/users")
        .await
        .unwrap_err();

    let Error::Transport { source, .. } = &error else {
        panic!("expected Transport, got {error:?}")
    };
    assert!(source.is_timeout());
    assert_eq!(hits.load(SeqCst), 2);
    assert!(
        error
            .user_facing()
            .message
            .contains("did not answer in time"),
        "{}",
        error.user_facing()
    );
}

// ---------------------------------------------------------------- failures an admin sees

#[tokio::test]
async fn refused_connection_is_a_transport_error_without_secrets() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .local_addr()
            .expect("bound socket has an address")
            .port()
    };
    let base = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let counter = RequestCounter::new();
    let http = http_for("jira", &base)
        .auth(Auth::Basic {
            user: "admin@acme.com".to_owned(),
            secret: Secret::new("hunter2-api-token"),
        })
        .counter(counter.clone())
        .build()
        .unwrap();

    let error = http
        .get_json::<Value>(
            "/rest/api/3/search/jql",
            "/rest/api/3/search/jql?nextPageToken=sekrit-page",
        )
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    let shown = everything_shown(&error);
    for hidden in ["hunter2", "sekrit", "nextPageToken", "Basic "] {
        assert!(!shown.contains(hidden), "{hidden} leaked: {shown}");
    }
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert_eq!(error.user_facing().code, Code::RemoteUnavailable);
    assert_eq!(
        counter.snapshot()["jira"].requests,
        4,
        "a refused connection never reached Jira, so it is retried"
    );
}

#[tokio::test]
async fn malformed_json_is_a_decode_error() {
    let page = canned(
        200,
        "<html><head><title>Sign in to your account</title></head></html>",
    )
    .header("content-type", "text/html");
    let (router, _seen) = scripted(vec![page]);
    let base = serve(router).await;
    let http = http_for("graph", &base).build().unwrap();

    let error = http
        .get_json::<Value>("/v1.0/users", "/v1.0/users?$skiptoken=abc")
        .await
        .unwrap_err();

    let Error::Decode { route, source, .. } = &error else {
        panic!("expected Decode, got {error:?}")
    };
    assert_eq!(*route, "/v1.0/users");
    assert!(source.is_malformed());
    assert_eq!((source.line(), source.column()), (1, 1));
    assert!(
        source
            .to_string()
            .contains("near `<html><head><title>Sign in"),
        "{source}"
    );
    assert!(!everything_shown(&error).contains("skiptoken"));
}

#[tokio::test]
async fn forbidden_and_not_found_carry_the_remotes_message() {
    let denied = canned(
        403,
        r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#,
    );
    let missing = canned(
        404,
        r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"#,
    );
    let (router, _seen) = scripted(vec![denied, missing]);
    let base = serve(router).await;
    let http = http_for("graph", &base).build().unwrap();

    let error = http
        .get_json::<Value>("/v1.0/devices", "/v1.0/devices")
        .await
        .unwrap_err();
    let Error::Forbidden { detail, .. } = &error else {
        panic!("expected Forbidden, got {error:?}")
    };
    assert_eq!(
        detail,
        "Authorization_RequestDenied: Insufficient privileges to complete the operation."
    );
    assert_eq!(error.user_facing().code, Code::PermissionDenied);

    let error = http
        .get_json::<Value>("/rest/api/3/issue/{key}", "/rest/api/3/issue/OPS-9")
        .await
        .unwrap_err();
    let Error::NotFound { detail, .. } = &error else {
        panic!("expected NotFound, got {error:?}")
    };
    assert!(detail.starts_with("Issue does not exist"));
    assert_eq!(error.user_facing().code, Code::NotFound);
    assert_eq!(error.status(), Some(404));
}

#[tokio::test]
async fn basic_401_is_unauthorized_at_once() {
    let rejected = canned(401, "Client must be authenticated to access this resource.")
        .header("content-type", "text/plain");
    let (router, seen) = scripted(vec![rejected]);
    let base = serve(router).await;
    let http = http_for("jira", &base)
        .auth(Auth::Basic {
            user: "admin@acme.com".to_owned(),
            secret: Secret::new("revoked-token"),
        })
        .build()
        .unwrap();

    let error = http
        .get_json::<Value>("/rest/api/3/myself", "/rest/api/3/myself")
        .await
        .unwrap_err();

    let Error::Unauthorized { detail, .. } = &error else {
        panic!("expected Unauthorized, got {error:?}")
    };
    assert_eq!(
        detail,
        "Client must be authenticated to access this resource."
    );
    assert_eq!(seen.hits(), 1);
    let user_facing = error.user_facing();
    assert_eq!(user_facing.code, Code::AuthExpired);
    assert!(user_facing.fix.unwrap_or_default().contains("API token"));
}

#[tokio::test]
async fn allowed_statuses_and_empty_bodies_come_back_as_responses() {
    let (router, _seen) = scripted(vec![
        canned(
            410,
            r#"{"error":{"code":"syncStateNotFound","message":"gone"}}"#,
        ),
        canned(204, ""),
    ]);
    let base = serve(router).await;
    let http = http_for("graph", &base).build().unwrap();

    let spec = RequestSpec::get("/v1.0/users/delta", "/v1.0/users/delta?$deltatoken=x")
        .allow_status(StatusCode::GONE);
    let response = http.send(spec).await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);

    let (): () = http
        .send_json(
            Method::PATCH,
            "/v1.0/users/{id}",
            "/v1.0/users/1",
            &json!({"a": 1}),
        )
        .await
        .unwrap();
}

// ---------------------------------------------------------------- URLs, auth headers, limits

#[tokio::test]
async fn cross_origin_next_link_is_rejected_before_sending() {
    let (router, seen) = scripted(vec![canned(200, r#"{"value":[]}"#)]);
    let base = serve(router).await;
    let counter = RequestCounter::new();
    let http = http_for("graph", &base)
        .counter(counter.clone())
        .build()
        .unwrap();

    let error = http
        .get_json::<Value>(
            "/v1.0/users",
            "https://evil.example/v1.0/users?$skiptoken=sekrit",
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidUrl { .. }), "{error:?}");
    assert!(!everything_shown(&error).contains("sekrit"));
    assert_eq!(seen.hits(), 0);
    assert!(counter.snapshot().is_empty());

    let same_origin = base.join("/v1.0/users?$skiptoken=fine").unwrap();
    let _: Value = http
        .get_json("/v1.0/users", same_origin.as_str())
        .await
        .unwrap();
    assert_eq!(seen.hits(), 1);
}

#[tokio::test]
async fn basic_auth_sends_email_and_api_token() {
    let router = Router::new().route(
        "/rest/api/3/myself",
        get(|headers: HeaderMap| async move {
            let authorization = headers
                .get("authorization")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            Json(json!({"authorization": authorization}))
        }),
    );
    let base = serve(router).await;
    let http = http_for("jira", &base)
        .auth(Auth::Basic {
            user: "admin@acme.com".to_owned(),
            secret: Secret::new("tok3n-api-token"),
        })
        .build()
        .unwrap();

    let echoed: Value = http
        .get_json("/rest/api/3/myself", "/rest/api/3/myself")
        .await
        .unwrap();

    // base64("admin@acme.com:tok3n-api-token")
    assert_eq!(
        echoed["authorization"],
        "Basic YWRtaW5AYWNtZS5jb206dG9rM24tYXBpLXRva2Vu"
    );
    assert!(!format!("{http:?}").contains("tok3n"));
}

#[tokio::test]
async fn concurrency_limit_is_honoured() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let (now, max) = (in_flight.clone(), max_in_flight.clone());
    let router = Router::new().fallback(move || {
        let (now, max) = (now.clone(), max.clone());
        async move {
            let current = now.fetch_add(1, SeqCst) + 1;
            max.fetch_max(current, SeqCst);
            tokio::time::sleep(Duration::from_millis(60)).await;
            now.fetch_sub(1, SeqCst);
            "{}"
        }
    });
    let base = serve(router).await;
    let http = http_for("jira", &base).max_concurrency(2).build().unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for issue_idx in 0..8 {
        let http = http.clone();
        tasks.spawn(async move {
            http.get_json::<Value>(
                "/rest/api/3/issue/{key}",
                &format!("/rest/api/3/issue/OPS-{issue_idx}"),
            )
            .await
        });
    }
    while let Some(res) = tasks.join_next().await {
        res.expect("task finished").expect("request succeeded");
    }

    assert_eq!(max_in_flight.load(SeqCst), 2);
}

// ---------------------------------------------------------------- tokens

#[tokio::test]
async fn bearer_401_refreshes_the_token_once_then_succeeds() {
    let endpoint = TokenEndpoint::new(3599);
    let (api, api_hits) = graph_api(Some("token-2"));
    let base = serve(endpoint.router().merge(api)).await;
    let counter = RequestCounter::new();
    let source = entra_source(&base, &TokenCache::new(), &counter, TENANT);
    let graph = http_for("graph", &base)
        .auth(Auth::Bearer(source))
        .counter(counter.clone())
        .build()
        .unwrap();

    let organization: Value = graph
        .get_json("/v1.0/organization", "/v1.0/organization")
        .await
        .unwrap();

    assert_eq!(organization["value"][0]["id"], "org");
    assert_eq!(endpoint.hits(), 2, "one refresh after the 401");
    assert_eq!(api_hits.load(SeqCst), 2);
    let stats = counter.snapshot();
    assert_eq!(
        stats["graph"],
        RemoteStats {
            requests: 2,
            throttled: 0,
            retries: 1
        }
    );
    assert_eq!(stats["entra-login"].requests, 2);
}

#[tokio::test]
async fn a_token_rejected_twice_is_unauthorized_after_one_refresh() {
    let endpoint = TokenEndpoint::new(3599);
    let (api, api_hits) = graph_api(Some("token-never-issued"));
    let base = serve(endpoint.router().merge(api)).await;
    let source = entra_source(&base, &TokenCache::new(), &RequestCounter::new(), TENANT);
    let graph = http_for("graph", &base)
        .auth(Auth::Bearer(source))
        .build()
        .unwrap();

    let error = graph
        .get_json::<Value>("/v1.0/organization", "/v1.0/organization")
        .await
        .unwrap_err();

    let Error::Unauthorized { detail, .. } = &error else {
        panic!("expected Unauthorized, got {error:?}")
    };
    assert!(detail.starts_with("InvalidAuthenticationToken"));
    assert_eq!((endpoint.hits(), api_hits.load(SeqCst)), (2, 2));
    assert!(
        !everything_shown(&error).contains("token-"),
        "{}",
        everything_shown(&error)
    );
}

#[tokio::test]
async fn token_is_cached_and_shared_across_calls_and_providers() {
    let endpoint = TokenEndpoint::new(3599);
    let (api, _api_hits) = graph_api(None);
    let base = serve(endpoint.router().merge(api)).await;
    let cache = TokenCache::new();
    let counter = RequestCounter::new();
    let graph = http_for("graph", &base)
        .auth(Auth::Bearer(entra_source(&base, &cache, &counter, TENANT)))
        .build()
        .unwrap();

    let _: Value = graph
        .get_json("/v1.0/organization", "/v1.0/organization")
        .await
        .unwrap();
    let _: Value = graph
        .get_json("/v1.0/organization", "/v1.0/organization")
        .await
        .unwrap();
    let other_connection = entra_source(&base, &cache, &counter, TENANT);
    assert_eq!(other_connection.token().await.unwrap().expose(), "token-1");

    assert_eq!(endpoint.hits(), 1);
    let (tenant, form) = endpoint
        .last_form
        .lock()
        .unwrap()
        .clone()
        .expect("a token request arrived");
    assert_eq!(tenant, TENANT);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(form["scope"], "https://graph.microsoft.com/.default");
}

#[tokio::test]
async fn token_is_renewed_when_near_expiry() {
    let endpoint = TokenEndpoint::new(2);
    let base = serve(endpoint.router()).await;
    let source = entra_source(&base, &TokenCache::new(), &RequestCounter::new(), TENANT);

    assert_eq!(source.token().await.unwrap().expose(), "token-1");
    assert_eq!(
        source.token().await.unwrap().expose(),
        "token-1",
        "fresh for half its 2 s lifetime"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(source.token().await.unwrap().expose(), "token-2");
    assert_eq!(endpoint.hits(), 2);
}

#[tokio::test]
async fn concurrent_token_requests_share_one_refresh() {
    let endpoint = TokenEndpoint {
        delay: Duration::from_millis(200),
        ..TokenEndpoint::new(3599)
    };
    let base = serve(endpoint.router()).await;
    let source = entra_source(&base, &TokenCache::new(), &RequestCounter::new(), TENANT);

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let source = source.clone();
        tasks.spawn(async move { source.token().await });
    }
    while let Some(res) = tasks.join_next().await {
        assert_eq!(
            res.expect("task finished").expect("token issued").expose(),
            "token-1"
        );
    }
    assert_eq!(endpoint.hits(), 1);
}

#[tokio::test]
async fn token_requests_are_retried_and_counted() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        "/{tenant}/oauth2/v2.0/token",
        post(move || {
            let counted = counted.clone();
            async move {
                if counted.fetch_add(1, SeqCst) == 0 {
                    return (AxumStatus::SERVICE_UNAVAILABLE, Json(json!({}))).into_response();
                }
                Json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "token-after-retry"})).into_response()
            }
        }),
    );
    let base = serve(router).await;
    let counter = RequestCounter::new();
    let source = entra_source(&base, &TokenCache::new(), &counter, TENANT);

    assert_eq!(source.token().await.unwrap().expose(), "token-after-retry");
    assert_eq!(
        counter.snapshot()["entra-login"],
        RemoteStats {
            requests: 2,
            throttled: 0,
            retries: 1
        }
    );
}

#[tokio::test]
async fn aadsts_error_bodies_map_to_token_errors() {
    fn body(error: &str, code: u64, text: &str) -> Value {
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 6f6c4645\r\nCorrelation ID: 5fc87507\r\nTimestamp: 2026-03-02 10:00:00Z"),
            "error_codes": [code],
            "trace_id": "6f6c4645-0202-4486-b625-fa957dfc4700",
            "correlation_id": "5fc87507-4086-4e77-b415-cee677eb232e",
        })
    }
    let cases: Vec<(&str, u16, Value)> = vec![
        ("expired", 401, body("invalid_client", 7000222, "The provided client secret keys for app are expired.")),
        ("badsecret", 401, body("invalid_client", 7000215, "Invalid client secret provided.")),
        ("noclient", 400, body("unauthorized_client", 700016, "Application with identifier was not found in the directory.")),
        ("notenant", 400, body("invalid_tenant", 90002, "Tenant not found.")),
        ("badtenant", 400, body("invalid_request", 900023, "Specified tenant identifier is neither a valid DNS name, nor a valid external domain.")),
        ("noconsent", 400, body("invalid_grant", 65001, "The user or administrator has not consented to use the application.")),
        ("noresource", 400, body("invalid_resource", 500011, "The resource principal named https://contoso.crm.dynamics.com was not found in the tenant.")),
        ("unknown", 400, body("invalid_request", 1234567, "Something new.")),
    ];
    let endpoint = TokenEndpoint {
        errors: Arc::new(
            cases
                .iter()
                .map(|(tenant, status, body)| (tenant.to_string(), (*status, body.clone())))
                .collect(),
        ),
        ..TokenEndpoint::new(3599)
    };
    let base = serve(endpoint.router()).await;
    let cache = TokenCache::new();
    let counter = RequestCounter::new();

    let mut mapped = HashMap::new();
    for (tenant, _, _) in &cases {
        let error = entra_source(&base, &cache, &counter, tenant)
            .token()
            .await
            .unwrap_err();
        let shown = everything_shown(&error);
        assert!(
            !shown.contains(CLIENT_SECRET) && !shown.contains("s3cr3t"),
            "secret leaked: {shown}"
        );
        let Error::Token(token_error) = error else {
            panic!("{tenant}: expected Error::Token, got {error:?}")
        };
        mapped.insert(*tenant, token_error);
    }

    assert_eq!(mapped["expired"], TokenError::ExpiredSecret);
    assert_eq!(mapped["badsecret"], TokenError::InvalidSecret);
    assert!(
        matches!(&mapped["noclient"], TokenError::UnknownClient { client_id, .. } if client_id == CLIENT_ID)
    );
    assert!(
        matches!(&mapped["notenant"], TokenError::UnknownTenant { tenant, code: 90002, .. } if tenant == "notenant")
    );
    assert!(matches!(
        &mapped["badtenant"],
        TokenError::UnknownTenant { code: 900023, .. }
    ));
    assert!(matches!(
        &mapped["noconsent"],
        TokenError::ConsentRequired { .. }
    ));
    assert!(matches!(
        &mapped["noresource"],
        TokenError::UnknownResource { code: 500011, .. }
    ));
    assert!(matches!(
        &mapped["unknown"],
        TokenError::Rejected {
            code: Some(1234567),
            ..
        }
    ));
    assert_eq!(
        endpoint.hits(),
        cases.len(),
        "configuration errors are not retried"
    );

    let expired = Error::from(mapped["expired"].clone()).user_facing();
    assert_eq!(expired.code, Code::AuthExpired);
    assert_eq!(expired.message, "The client secret has expired.");
    assert!(expired
        .fix
        .unwrap_or_default()
        .contains("Certificates & secrets"));
    assert_eq!(
        Error::from(mapped["noconsent"].clone()).user_facing().code,
        Code::PermissionDenied
    );
    assert_eq!(
        Error::from(mapped["notenant"].clone()).user_facing().code,
        Code::Validation
    );
}

#[tokio::test]
async fn token_endpoint_answering_html_is_malformed_not_a_leak() {
    let page = canned(200, "<html><title>Proxy</title></html>").header("content-type", "text/html");
    let (router, _seen) = scripted(vec![page]);
    let base = serve(router).await;
    let source = entra_source(&base, &TokenCache::new(), &RequestCounter::new(), TENANT);

    let error = source.token().await.unwrap_err();

    assert!(
        matches!(error, Error::Token(TokenError::Malformed { .. })),
        "{error:?}"
    );
    assert_eq!(error.user_facing().code, Code::RemoteUnavailable);
}

#[tokio::test]
async fn fetch_asks_entra_even_with_a_cached_token() {
    let endpoint = TokenEndpoint::new(3599);
    let base = serve(endpoint.router()).await;
    let login = http_for("entra-login", &base).build().unwrap();
    let provider = EntraTokenProvider::new(login, TokenCache::new(), credentials(TENANT));

    assert_eq!(provider.token().await.unwrap().expose(), "token-1");
    assert_eq!(provider.fetch().await.unwrap().expose(), "token-2");
    assert_eq!(
        provider.token().await.unwrap().expose(),
        "token-2",
        "the fresh token is cached"
    );
    assert_eq!(endpoint.hits(), 2);
}

// ---------------------------------------------------------------- logs

/// Records every span field and event of this crate as text, to check what logs would carry.
#[derive(Clone, Default)]
struct CapturedLogs {
    lines: Arc<Mutex<Vec<String>>>,
    next_span: Arc<std::sync::atomic::AtomicU64>,
}

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl CapturedLogs {
    fn push(&self, line: String) {
        self.lines.lock().expect("test mutex").push(line);
    }

    fn text(&self) -> String {
        self.lines.lock().expect("test mutex").join("\n")
    }
}

impl tracing::Subscriber for CapturedLogs {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("crosswalk_http")
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = format!("span {}", span.metadata().name());
        span.record(&mut FieldText(&mut line));
        self.push(line);
        tracing::span::Id::from_u64(self.next_span.fetch_add(1, SeqCst) + 1)
    }

    fn record(&self, _span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = "record".to_owned();
        values.record(&mut FieldText(&mut line));
        self.push(line);
    }

    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!("{}", event.metadata().level());
        event.record(&mut FieldText(&mut line));
        self.push(line);
    }

    fn enter(&self, _span: &tracing::span::Id) {}

    fn exit(&self, _span: &tracing::span::Id) {}
}

#[tokio::test]
async fn logs_name_the_route_and_throttle_but_never_urls_or_tokens() {
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let throttled = canned(429, "").header("retry-after", "0");
    let (router, _seen) = scripted(vec![throttled, canned(200, "{}")]);
    let base = serve(router).await;
    let http = http_for("graph", &base)
        .auth(Auth::Bearer(TokenSource::fixed(AccessToken::new(
            "eyJ-access-token",
        ))))
        .build()
        .unwrap();

    let _: Value = http
        .get_json("/v1.0/users", "/v1.0/users?$skiptoken=sekrit-cursor")
        .await
        .unwrap();

    let text = logs.text();
    assert!(text.contains("span http"), "{text}");
    assert!(text.contains("route=\"/v1.0/users\""), "{text}");
    assert!(text.contains("status=200"), "{text}");
    assert!(text.contains("elapsed_ms="), "{text}");
    let throttle = text
        .lines()
        .find(|line| line.contains("Remote throttled us"))
        .unwrap_or_else(|| panic!("no throttle warning in {text}"));
    assert!(throttle.starts_with("WARN"), "{throttle}");
    for field in [
        "remote=graph",
        "attempt=1",
        "retry_after_ms=0",
        "route=\"/v1.0/users\"",
    ] {
        assert!(throttle.contains(field), "{field} missing: {throttle}");
    }
    for hidden in ["sekrit", "skiptoken", "eyJ-access-token", "127.0.0.1"] {
        assert!(!text.contains(hidden), "{hidden} logged: {text}");
    }
}

// ---------------------------------------------------------------- files in transit (Spool)

/// What a file server received per request: (`Content-Length`, `Transfer-Encoding`, body).
type Received = Arc<Mutex<Vec<(Option<String>, Option<String>, Vec<u8>)>>>;

/// An upload endpoint that reads each body whole, answers 503 to the first and 201 after.
fn upload_endpoint() -> (Router, Received) {
    let received = Received::default();
    let router =
        Router::new()
            .route(
                "/upload",
                post(
                    |State(received): State<Received>,
                     headers: HeaderMap,
                     body: axum::body::Bytes| async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        let mut all = received.lock().expect("test mutex");
                        all.push((
                            header("content-length"),
                            header("transfer-encoding"),
                            body.to_vec(),
                        ));
                        if all.len() == 1 {
                            AxumStatus::SERVICE_UNAVAILABLE.into_response()
                        } else {
                            (AxumStatus::CREATED, "{}").into_response()
                        }
                    },
                ),
            )
            .with_state(received.clone());
    (router, received)
}

/// Deterministic content that is not one repeated byte, so order and offset errors show.
fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect()
}

#[tokio::test]
async fn a_streamed_body_goes_out_with_its_length_and_again_in_full_on_a_retry() {
    let (router, received) = upload_endpoint();
    let base = serve(router).await;
    let http = http_for("jira", &base).build().unwrap();
    // Several read chunks, the last one partial.
    let file = content(3 * 256 * 1024 + 17);
    let spool = Spool::new().unwrap();
    spool.append(file[..100_000].to_vec()).await.unwrap();
    spool.append(file[100_000..].to_vec()).await.unwrap();
    assert_eq!(spool.len(), file.len() as u64);

    let spec = RequestSpec::new(Method::POST, "/upload", "/upload").streamed_body(
        header::HeaderValue::from_static("application/octet-stream"),
        vec![
            BodyPart::Bytes(b"head\r\n".to_vec()),
            BodyPart::Spool(spool.clone()),
            BodyPart::Bytes(b"\r\ntail".to_vec()),
        ],
    );
    let response = http.send(spec).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let mut expected = b"head\r\n".to_vec();
    expected.extend_from_slice(&file);
    expected.extend_from_slice(b"\r\ntail");
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 2, "the 503 is retried");
    for (length, encoding, body) in received.iter() {
        assert_eq!(length.as_deref(), Some(expected.len().to_string().as_str()));
        assert_eq!(encoding.as_deref(), None, "not chunked");
        assert!(*body == expected, "the body differs ({} bytes)", body.len());
    }
}

/// A download endpoint whose first answer breaks off after half the file (a dropped
/// connection); later answers are whole. `/missing` answers Jira's 404.
fn download_endpoint(file: Vec<u8>) -> (Router, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let state = (Arc::new(file), hits.clone());
    let router = Router::new()
        .route(
            "/file",
            get(
                |State((file, hits)): State<(Arc<Vec<u8>>, Arc<AtomicUsize>)>| async move {
                    let whole = axum::body::Bytes::from(file.to_vec());
                    let body = if hits.fetch_add(1, SeqCst) == 0 {
                        let half = whole.slice(..whole.len() / 2);
                        axum::body::Body::from_stream(futures_util::stream::iter([
                            Ok::<_, std::io::Error>(half),
                            Err(std::io::Error::other("connection dropped")),
                        ]))
                    } else {
                        axum::body::Body::from(whole.clone())
                    };
                    let mut response = body.into_response();
                    response
                        .headers_mut()
                        .insert("content-length", whole.len().into());
                    response
                },
            ),
        )
        .route(
            "/missing",
            get(|| async {
                (
                    AxumStatus::NOT_FOUND,
                    Json(json!({"errorMessages": ["The attachment does not exist."]})),
                )
            }),
        )
        .with_state(state);
    (router, hits)
}

#[tokio::test]
async fn a_download_fills_its_spool_and_starts_it_over_after_a_broken_answer() {
    let file = content(2 * 1024 * 1024 + 5);
    let (router, hits) = download_endpoint(file.clone());
    let base = serve(router).await;
    let http = http_for("jira", &base).build().unwrap();
    let spool = Spool::new().unwrap();

    // A body cut off mid-way is a transport error (like any body read by `send`)...
    let broken = http
        .download(RequestSpec::get("/file", "/file"), &spool)
        .await
        .unwrap_err();
    assert!(matches!(broken, Error::Transport { .. }), "{broken:?}");
    assert!(spool.len() < file.len() as u64);
    // ...and the next download starts the spool over rather than appending to the half.
    let response = http
        .download(RequestSpec::get("/file", "/file"), &spool)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty(), "the file went to the spool");
    assert_eq!(hits.load(SeqCst), 2);
    assert_eq!(spool.len(), file.len() as u64);
    assert!(
        spool.to_vec().await.unwrap() == file,
        "the spooled file differs"
    );

    // An error answer is read as usual and leaves the spool alone.
    let missing = http
        .download(RequestSpec::get("/missing", "/missing"), &spool)
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, Error::NotFound { detail, .. } if detail.contains("does not exist")),
        "{missing:?}"
    );
    assert_eq!(spool.len(), file.len() as u64);
}

#[test]
fn a_spool_that_cannot_be_written_names_the_temporary_folder() {
    let error = Error::Spool {
        remote: "dataverse".into(),
        route: "/api/data/v9.2/DownloadBlock",
        source: std::io::Error::other("No space left on device"),
    };
    let facing = error.user_facing();
    assert!(
        facing.message.contains("dataverse") && facing.message.contains("No space left"),
        "{facing:?}"
    );
    let fix = facing.fix.unwrap_or_default();
    assert!(
        fix.contains(&std::env::temp_dir().display().to_string()),
        "{fix}"
    );
}
