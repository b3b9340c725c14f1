//! Fault injection, per server and per route: latency, error statuses (with `Retry-After`),
//! throttling, connection resets, truncated and malformed bodies.
//!
//! A middleware in front of every route asks [`Faults::take`] whether the request should fail;
//! rules with a count are used up, rules without one apply until cleared.

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

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
    /// Answer normally, after a delay.
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

/// The active fault rules.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    /// Adds a rule (checked after the ones already there).
    pub fn add(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
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

/// Applies an injected fault around the real handler.
pub(crate) async fn apply(
    fault: Fault,
    server: Server,
    request: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    match fault {
        Fault::Latency { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(request).await
        }
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
