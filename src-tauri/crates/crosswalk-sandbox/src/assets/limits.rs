//! Assets' rate limits (api/atlassian.md §D.10) and per-endpoint request counts.
//!
//! The spec gives every API key a per-minute bucket per endpoint (2000 for `GET /object/{id}`,
//! `POST /object/create`, `GET /objecttype/{id}/attributes` and connected tickets; 1000 for
//! `POST /object/aql`; 500 for `/object/aql/totalcount` and the deprecated AQL/IQL/navlist
//! endpoints); the older docs add 1000/min for any other endpoint and 10,000/min for the whole
//! instance. All of that is off unless [`AssetsLimits`] is set; the simple workspace budget
//! ([`crate::jira::RateLimit`] on `AssetsState::rate_limit`) is checked here too. Windows shrink
//! with the time scale ([`crate::pace`]). The front door [`count`]s every request, then calls
//! [`admit`] after the injected faults; a request without valid credentials is never throttled
//! (the handler answers 401).

use crate::jira::{throttled, RateLimit, Refusal};
use crate::pace::{self, FixedWindow};
use crate::world::{lock, World};
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// Requests one endpoint received, and how many of them its rate limits refused with 429.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EndpointCount {
    pub requests: u64,
    pub throttled: u64,
}

/// Assets' documented per-minute limits (§D.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetsLimits {
    /// Requests per minute per API key, by endpoint (`"POST /object/aql"`, see [`endpoint`]).
    pub per_endpoint: BTreeMap<String, u32>,
    /// Requests per minute for an endpoint not in `per_endpoint` (older docs: 1000).
    pub default_per_minute: u32,
    /// Requests per minute for the whole instance, every key and endpoint together (10,000).
    pub instance_per_minute: u32,
    /// A 429 carries `Retry-After` (seconds) and `X-RateLimit-*`; false = the bare 429 Assets
    /// historically sent (JSDCLOUD-11605), so a client must fall back to its own backoff.
    pub retry_after: bool,
}

impl AssetsLimits {
    /// The limits as the spec and the older docs state them, with `Retry-After`.
    pub fn documented() -> AssetsLimits {
        let per_endpoint = [
            ("GET /object/{id}", 2000),
            ("POST /object/create", 2000),
            ("GET /objecttype/{id}/attributes", 2000),
            ("GET /objectconnectedtickets/{id}/tickets", 2000),
            ("POST /object/aql", 1000),
            ("POST /object/aql/totalcount", 500),
            ("GET /aql/objects", 500),
            ("GET /iql/objects", 500),
            ("POST /object/navlist/aql", 500),
            ("POST /object/navlist/iql", 500),
        ];
        AssetsLimits {
            per_endpoint: per_endpoint
                .into_iter()
                .map(|(endpoint, budget)| (endpoint.to_owned(), budget))
                .collect(),
            // Not listed in the spec, so the older 1000/min per endpoint: `PUT /object/{id}`
            // (update), `DELETE /object/{id}`, schema/type/attribute admin and the rest.
            default_per_minute: 1000,
            instance_per_minute: 10_000,
            retry_after: true,
        }
    }

    /// The same limits, answered with a bare 429 (no `Retry-After`, no `X-RateLimit-*`).
    pub fn without_retry_after(self) -> AssetsLimits {
        AssetsLimits {
            retry_after: false,
            ..self
        }
    }

    /// The per-minute budget of one endpoint.
    pub fn budget(&self, endpoint: &str) -> u32 {
        self.per_endpoint
            .get(endpoint)
            .copied()
            .unwrap_or(self.default_per_minute)
    }
}

impl std::str::FromStr for AssetsLimits {
    type Err = String;

    /// The CLI form: `documented` or `documented-no-retry-after`.
    fn from_str(value: &str) -> Result<AssetsLimits, String> {
        match value {
            "documented" => Ok(AssetsLimits::documented()),
            "documented-no-retry-after" => Ok(AssetsLimits::documented().without_retry_after()),
            other => Err(format!(
                "unknown Assets limits \"{other}\"; use documented or documented-no-retry-after"
            )),
        }
    }
}

/// The limiter's windows and the request counts, kept in `AssetsState`.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    counts: BTreeMap<String, EndpointCount>,
    /// One window per (API key, endpoint).
    endpoints: HashMap<(String, String), FixedWindow>,
    instance: FixedWindow,
}

impl Usage {
    /// Requests and refusals per endpoint so far.
    pub(crate) fn counts(&self) -> &BTreeMap<String, EndpointCount> {
        &self.counts
    }
}

/// The endpoint a request path addresses, as `"METHOD /template"` with numeric ids as `{id}`
/// (`"PUT /object/{id}"`); `None` outside an Assets workspace API.
pub fn endpoint(method: &str, path: &str) -> Option<String> {
    let (prefix, rest) = path.split_once("/v1/")?;
    if !prefix.contains("/jsm/assets/workspace/") {
        return None;
    }
    let template: Vec<&str> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    Some(format!(
        "{} /{}",
        method.to_ascii_uppercase(),
        template.join("/")
    ))
}

/// Counts a request for [`crate::SandboxHandle::assets_requests`].
pub(crate) fn count(world: &World, method: &str, path: &str) {
    if let Some(endpoint) = endpoint(method, path) {
        lock(&world.assets)
            .usage
            .counts
            .entry(endpoint)
            .or_default()
            .requests += 1;
    }
}

/// Admits the request, or answers 429 when the workspace budget or a documented limit is spent.
pub(crate) fn admit(
    world: &World,
    method: &str,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let Some(endpoint) = endpoint(method, path) else {
        return Ok(());
    };
    let now = world.now();
    // Limits are per API key: a request without a valid one is left to the handler's 401.
    let Ok(account) = lock(&world.jira).authenticate(headers, now) else {
        return Ok(());
    };
    let scale = world.time_scale();
    let mut guard = lock(&world.assets);
    let state = &mut *guard;
    let refusal = match state.rate_limit.clone() {
        Some(limit) => limit.admit(&mut state.rate_window, now, scale).err(),
        None => None,
    };
    let refusal = refusal.or_else(|| {
        let limits = state.limits.as_ref()?;
        let key = (account.email.to_ascii_lowercase(), endpoint.clone());
        documented(limits, &mut state.usage, key, now, scale)
    });
    let Some(refusal) = refusal else {
        return Ok(());
    };
    state.usage.counts.entry(endpoint).or_default().throttled += 1;
    let mut response = throttled(&refusal, now);
    if refusal.retry_after.is_none() {
        response.headers_mut().remove("x-ratelimit-limit");
        response.headers_mut().remove("x-ratelimit-remaining");
    }
    Err(response)
}

/// Spends one request of the endpoint's bucket and the instance's; the limit that refused it.
fn documented(
    limits: &AssetsLimits,
    usage: &mut Usage,
    key: (String, String),
    now: OffsetDateTime,
    scale: f64,
) -> Option<Refusal> {
    let window = pace::scaled(60.0, scale);
    let budget = limits.budget(&key.1);
    let total = limits.instance_per_minute;
    let bucket = usage.endpoints.entry(key).or_default();
    // Check the instance first so a refused request uses neither budget.
    let refused = if usage.instance.would_admit(total, window, now) {
        bucket
            .hit(budget, window, now)
            .err()
            .map(|wait| (budget, wait))
    } else {
        usage
            .instance
            .hit(total, window, now)
            .err()
            .map(|wait| (total, wait))
    };
    let Some((budget, wait)) = refused else {
        let _ = usage.instance.hit(total, window, now);
        return None;
    };
    let retry_after = limits
        .retry_after
        .then(|| pace::RetryAfter::until(wait, scale));
    Some(Refusal {
        limit: RateLimit {
            budget,
            window_secs: 60,
            // The refusal carries the computed `Retry-After`.
            retry_after_secs: None,
            reason: String::new(),
        },
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // api/atlassian.md §D.10: the per-endpoint numbers, and the older 1000/min default.
    #[test]
    fn documented_budgets_per_endpoint() {
        let limits = AssetsLimits::documented();
        let base = "/jsm/assets/workspace/abc-123/v1";
        let budget = |method: &str, path: &str| {
            limits.budget(&endpoint(method, &format!("{base}{path}")).unwrap())
        };
        assert_eq!(budget("GET", "/object/42"), 2000);
        assert_eq!(budget("POST", "/object/create"), 2000);
        assert_eq!(budget("GET", "/objecttype/7/attributes"), 2000);
        assert_eq!(budget("POST", "/object/aql"), 1000);
        assert_eq!(budget("POST", "/object/aql/totalcount"), 500);
        assert_eq!(budget("POST", "/object/navlist/iql"), 500);
        assert_eq!(budget("PUT", "/object/42"), 1000, "update is not listed");
        assert_eq!(budget("GET", "/objectschema/list"), 1000);
        assert_eq!(limits.instance_per_minute, 10_000);
        assert_eq!(
            endpoint(
                "put",
                "/ex/jira/c1/jsm/assets/workspace/w1/v1/objecttypeattribute/3/9"
            )
            .as_deref(),
            Some("PUT /objecttypeattribute/{id}/{id}")
        );
        assert_eq!(endpoint("GET", "/rest/api/3/myself"), None);
        assert_eq!(
            "documented-no-retry-after".parse(),
            Ok(AssetsLimits::documented().without_retry_after())
        );
        assert!("lots".parse::<AssetsLimits>().is_err());
    }
}
