//! Fault injection, per server and per route: latency, error statuses (with `Retry-After`),
//! throttling, connection resets, truncated and malformed bodies; and the per-server base
//! latency of a [`LatencyProfile`] (the same delay mechanism, on every request).
//!
//! A middleware in front of every route asks [`Faults::take`] whether the request should fail;
//! rules with a count are used up, rules without one apply until cleared. Every delay is divided
//! by the sandbox's time scale ([`crate::pace`]).

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One of the sandbox's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Server {
    Login,
    Graph,
    Jira,
    Assets,
    Dataverse,
}

impl Server {
    /// Every server, in start order.
    pub const ALL: [Server; 5] = [
        Server::Login,
        Server::Graph,
        Server::Jira,
        Server::Assets,
        Server::Dataverse,
    ];

    /// Lower-case name (CLI `--faults graph:...`).
    pub fn as_str(self) -> &'static str {
        match self {
            Server::Login => "login",
            Server::Graph => "graph",
            Server::Jira => "jira",
            Server::Assets => "assets",
            Server::Dataverse => "dataverse",
        }
    }
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answer normally, after a delay (divided by the time scale, like every delay).
    Latency { ms: u64 },
    /// Answer 429 in the server's own error shape with `Retry-After: secs`.
    Throttle { retry_after_secs: u64 },
    /// Answer this status (500, 502, 503, 504...) in the server's error shape, optionally with `Retry-After`.
    Status {
        status: u16,
        retry_after_secs: Option<u64>,
    },
    /// Drop the connection without an answer.
    Reset,
    /// Send the real answer's headers and half its body, then drop the connection.
    Truncate,
    /// Answer 200 with a body that is not valid JSON.
    Malformed,
}

/// When a fault applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub server: Server,
    /// Applies to paths containing this text (e.g. `/users`); `None` = every route.
    #[serde(default)]
    pub route: Option<String>,
    /// Applies to this method only (e.g. `POST`); `None` = every method.
    #[serde(default)]
    pub method: Option<String>,
    pub fault: Fault,
    /// How many requests it hits; `None` = until cleared.
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultRule {
    /// A rule for every route of `server`, forever.
    pub fn always(server: Server, fault: Fault) -> FaultRule {
        FaultRule {
            server,
            route: None,
            method: None,
            fault,
            times: None,
        }
    }

    /// A rule for the next `n` requests to `server` whose path contains `route`.
    pub fn next(server: Server, route: &str, n: u32, fault: Fault) -> FaultRule {
        FaultRule {
            server,
            route: Some(route.to_owned()),
            method: None,
            fault,
            times: Some(n),
        }
    }

    /// Parses the CLI form `server[:route]=fault[*n]`, e.g. `graph:/users=throttle:2*3`,
    /// `jira=latency:200`, `dataverse=status:503`, `assets:/object=reset*1`.
    pub fn parse(spec: &str) -> Result<FaultRule, String> {
        let (target, fault) = spec
            .split_once('=')
            .ok_or_else(|| format!("\"{spec}\": expected server[:route]=fault"))?;
        let (server, route) = match target.split_once(':') {
            Some((server, route)) => (server, Some(route.to_owned())),
            None => (target, None),
        };
        let server = Server::ALL
            .into_iter()
            .find(|s| s.as_str() == server)
            .ok_or_else(|| {
                format!("unknown server \"{server}\" (login, graph, jira, assets, dataverse)")
            })?;
        let (fault, times) = match fault.split_once('*') {
            Some((fault, n)) => (
                fault,
                Some(
                    n.parse::<u32>()
                        .map_err(|_| format!("\"{n}\" is not a count"))?,
                ),
            ),
            None => (fault, None),
        };
        let (kind, arg) = fault.split_once(':').unwrap_or((fault, ""));
        let number = |what: &str| {
            arg.parse::<u64>()
                .map_err(|_| format!("{kind} needs a number of {what}, e.g. {kind}:2"))
        };
        let fault = match kind {
            "latency" => Fault::Latency { ms: number("milliseconds")? },
            "throttle" => Fault::Throttle { retry_after_secs: if arg.is_empty() { 1 } else { number("seconds")? } },
            "status" => Fault::Status { status: u16::try_from(number("status")?).map_err(|_| "bad status".to_owned())?, retry_after_secs: None },
            "reset" => Fault::Reset,
            "truncate" => Fault::Truncate,
            "malformed" => Fault::Malformed,
            other => return Err(format!("unknown fault \"{other}\" (latency:MS, throttle:SECS, status:CODE, reset, truncate, malformed)")),
        };
        Ok(FaultRule {
            server,
            route,
            method: None,
            fault,
            times,
        })
    }

    fn matches(&self, server: Server, method: &str, path: &str) -> bool {
        self.server == server
            && self
                .route
                .as_deref()
                .is_none_or(|route| path.contains(route))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// A base latency: uniform in `min_ms..=max_ms`, drawn per request from the world's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyRange {
    pub min_ms: u64,
    pub max_ms: u64,
}

/// Base latency per server, added to every request before any fault (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyProfile {
    pub servers: BTreeMap<Server, LatencyRange>,
}

impl LatencyProfile {
    /// No added latency (loopback speed): unit and conformance tests.
    pub fn none() -> LatencyProfile {
        LatencyProfile::default()
    }

    /// Typical cloud round trips, so a benchmark's request count turns into realistic time:
    /// identity ~100 ms, Graph 60-120 ms, Jira 80-150 ms, Assets 80-200 ms, Dataverse 60-120 ms.
    pub fn realistic() -> LatencyProfile {
        let range = |min_ms, max_ms| LatencyRange { min_ms, max_ms };
        LatencyProfile {
            servers: BTreeMap::from([
                (Server::Login, range(80, 120)),
                (Server::Graph, range(60, 120)),
                (Server::Jira, range(80, 150)),
                (Server::Assets, range(80, 200)),
                (Server::Dataverse, range(60, 120)),
            ]),
        }
    }
}

impl std::str::FromStr for LatencyProfile {
    type Err = String;

    /// The CLI form: `none` or `realistic`.
    fn from_str(value: &str) -> Result<LatencyProfile, String> {
        match value {
            "none" => Ok(LatencyProfile::none()),
            "realistic" => Ok(LatencyProfile::realistic()),
            other => Err(format!(
                "unknown latency profile \"{other}\"; use none or realistic"
            )),
        }
    }
}

/// The active fault rules and base latency.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    latency: Mutex<LatencyProfile>,
    /// The world's seed: the same seed draws the same latencies in the same order.
    seed: u64,
    /// Latency draws so far, per server.
    draws: [AtomicU64; 5],
}

/// SplitMix64: a tiny, good-enough hash for reproducible jitter.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Faults {
    /// No rules, no base latency; jitter drawn from `seed`.
    pub fn seeded(seed: u64) -> Faults {
        Faults {
            seed,
            ..Faults::default()
        }
    }

    /// Replaces the base-latency profile.
    pub fn set_latency(&self, profile: LatencyProfile) {
        *self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = profile;
    }

    /// The next base latency for `server` in unscaled milliseconds (0 without a profile).
    pub fn base_latency_ms(&self, server: Server) -> u64 {
        let range = self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .servers
            .get(&server)
            .copied();
        let Some(range) = range else { return 0 };
        let n = self.draws[server as usize].fetch_add(1, Ordering::Relaxed);
        let span = range.max_ms.saturating_sub(range.min_ms) + 1;
        range.min_ms + mix(self.seed ^ ((server as u64) << 56) ^ n) % span
    }

    /// Adds a rule (checked after the ones already there).
    pub fn add(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The rules still active, with what is left of their counts (a counted `Latency { ms: 0 }`
    /// rule thus counts the requests a route received without changing them).
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// The fault for this request, if any; uses up one count of a counted rule.
    pub fn take(&self, server: Server, method: &str, path: &str) -> Option<Fault> {
        let mut rules = self.lock();
        let idx = rules
            .iter()
            .position(|rule| rule.matches(server, method, path))?;
        let fault = rules[idx].fault.clone();
        if let Some(times) = rules[idx].times.as_mut() {
            *times -= 1;
            if *times == 0 {
                rules.remove(idx);
            }
        }
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The error body each server sends, so an injected failure looks like the real one.
pub(crate) fn error_response(
    server: Server,
    status: StatusCode,
    retry_after: Option<u64>,
) -> Response<Body> {
    let message = match status.as_u16() {
        429 => "Too many requests. Retry after the time in the Retry-After header.",
        503 => "The service is temporarily unavailable.",
        504 => "The gateway timed out.",
        _ => "An internal error occurred.",
    };
    let body = match server {
        Server::Login => serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": format!("AADSTS50196: {message}"),
            "error_codes": [50196],
        }),
        Server::Graph => crate::graph::error_body(
            if status.as_u16() == 429 {
                "TooManyRequests"
            } else {
                "serviceNotAvailable"
            },
            message,
        ),
        Server::Jira | Server::Assets => {
            serde_json::json!({ "errorMessages": [message], "errors": {} })
        }
        Server::Dataverse => serde_json::json!({
            "error": { "code": if status.as_u16() == 429 { "0x80072322" } else { "0x80040216" }, "message": message }
        }),
    };
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    response
}

/// Applies an injected fault around the real handler (the front door has already waited out
/// [`Fault::Latency`], so it just answers).
pub(crate) async fn apply(
    fault: Fault,
    server: Server,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    match fault {
        Fault::Latency { .. } => next.run(request).await,
        Fault::Throttle { retry_after_secs } => error_response(
            server,
            StatusCode::TOO_MANY_REQUESTS,
            Some(retry_after_secs),
        ),
        Fault::Status {
            status,
            retry_after_secs,
        } => error_response(
            server,
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            retry_after_secs,
        ),
        Fault::Reset => {
            // A body stream that fails at once makes hyper abort the connection without an answer.
            let stream = futures_util::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("injected reset"))
            });
            Response::new(Body::from_stream(stream))
        }
        Fault::Truncate => {
            let response = next.run(request).await;
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            let stream = futures_util::stream::iter([
                Ok::<_, std::io::Error>(half),
                Err(std::io::Error::other("injected truncation")),
            ]);
            let mut response = Response::from_parts(parts, Body::from_stream(stream));
            // Keep the promised length so the client sees a short read, as with a dropped connection.
            response
                .headers_mut()
                .insert("content-length", HeaderValue::from(bytes.len()));
            response
        }
        Fault::Malformed => {
            let mut response = Response::new(Body::from("{\"value\": [{\"id\": \"truncated"));
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_fault_specs_parse() {
        let rule = FaultRule::parse("graph:/users=throttle:2*3").unwrap();
        assert_eq!(
            rule,
            FaultRule::next(
                Server::Graph,
                "/users",
                3,
                Fault::Throttle {
                    retry_after_secs: 2
                }
            )
        );
        assert_eq!(
            FaultRule::parse("jira=latency:200").unwrap(),
            FaultRule::always(Server::Jira, Fault::Latency { ms: 200 })
        );
        assert!(FaultRule::parse("mars=reset").is_err());
        assert!(FaultRule::parse("graph=explode").is_err());
    }

    #[test]
    fn base_latency_is_seeded_jitter_within_the_range() {
        let draws = |seed: u64| {
            let faults = Faults::seeded(seed);
            faults.set_latency(LatencyProfile::realistic());
            (0..200)
                .map(|_| faults.base_latency_ms(Server::Assets))
                .collect::<Vec<_>>()
        };
        let first = draws(7);
        assert_eq!(first, draws(7), "same seed, same latencies");
        assert_ne!(first, draws(8));
        assert!(first.iter().all(|ms| (80..=200).contains(ms)));
        assert!(first.iter().min() < Some(&100) && first.iter().max() > Some(&180));
        let none = Faults::seeded(7);
        assert_eq!(none.base_latency_ms(Server::Graph), 0);
        assert_eq!("realistic".parse(), Ok(LatencyProfile::realistic()));
        assert_eq!("none".parse(), Ok(LatencyProfile::none()));
        assert!("slow".parse::<LatencyProfile>().is_err());
    }

    #[test]
    fn counted_rules_are_used_up() {
        let faults = Faults::default();
        faults.add(FaultRule::next(Server::Graph, "/users", 2, Fault::Reset));
        assert_eq!(faults.take(Server::Graph, "GET", "/v1.0/groups"), None);
        assert_eq!(faults.take(Server::Jira, "GET", "/v1.0/users"), None);
        assert_eq!(
            faults.take(Server::Graph, "GET", "/v1.0/users"),
            Some(Fault::Reset)
        );
        assert_eq!(
            faults.take(Server::Graph, "GET", "/v1.0/users"),
            Some(Fault::Reset)
        );
        assert_eq!(faults.take(Server::Graph, "GET", "/v1.0/users"), None);
    }
}
