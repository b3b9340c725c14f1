//! Jira Cloud's rate limits for API-token traffic (api/atlassian.md §C) and per-endpoint request
//! counts.
//!
//! Atlassian documents three independent limiters; the points-based hourly quota applies only to
//! Forge, Connect and OAuth 2.0 (3LO) apps ("API token-based traffic is not affected", §C), so
//! two are modelled here, both off unless [`JiraLimits`] is set:
//!
//! * burst (`RateLimit-Reason: jira-burst-based`): "One tenant, one endpoint, one HTTP method"
//!   (the rate-limiting guide's table), enforced with "industry-standard token bucket algorithms,
//!   allowing for short bursts of activity but maintaining a sustainable average rate" (Atlassian's
//!   burst-limit announcement). One bucket per endpoint template and method for the site (the
//!   sandbox is one tenant). Atlassian publishes no numbers, see [`Burst::UNVERIFIED_DEFAULT`].
//! * per-issue writes (`jira-per-issue-on-write`): writes to one issue (edit, transition,
//!   comment, attachment, remote link, property, delete) through any endpoint, in fixed windows;
//!   third-party summaries quote 20 writes / 2 s and 100 writes / 30 s [unverified].
//!
//! A 429 carries `Retry-After` (whole seconds), `X-RateLimit-Reset` (request time plus
//! `Retry-After`, `yyyy-MM-ddTHH:mmZ`), `X-RateLimit-Limit`, `X-RateLimit-Remaining: 0` and
//! `RateLimit-Reason`; optionally every n-th 429 leaves out `Retry-After` and the reset ("Not every
//! 429 carries Retry-After"). Retrying before `Retry-After` passes "fails again with the same or
//! longer value": the refused scope stays blocked until then, and an early retry extends the block
//! by the same period. Not modelled: `X-RateLimit-NearLimit` (only the cost-based limiter sends
//! it, JRACLOUD-83791), rate headers on successful answers, the quota limiter, user search's
//! tenant-wide limit, the 5-concurrent cap of bulk edit/move, and 503s for resource limits.
//! Buckets, windows and `Retry-After` shrink with the time scale ([`crate::pace`]).
//!
//! The front door [`count`]s every request by its route template, then calls [`admit`] after the
//! injected faults; a request without valid credentials is never throttled (the handler answers
//! 401). The simple site-wide [`RateLimit`] (`JiraState::rate_limit`) is separate and checked by
//! the handlers.

use super::{throttled, RateLimit, Refusal};
use crate::assets::limits::EndpointCount;
use crate::pace::{self, FixedWindow, RetryAfter};
use crate::world::{lock, World};
use crate::SandboxHandle;
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// `RateLimit-Reason` of the burst limiter (§C).
pub const BURST_REASON: &str = "jira-burst-based";
/// `RateLimit-Reason` of the per-issue write limiter (§C).
pub const PER_ISSUE_REASON: &str = "jira-per-issue-on-write";

/// A token bucket: `capacity` requests at once, refilled at `per_second` (real time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    /// The burst buffer; also what `X-RateLimit-Limit` reports.
    pub capacity: u32,
    /// The steady-state rate the bucket refills at.
    pub per_second: u32,
}

impl Burst {
    /// [unverified] Atlassian does not publish burst numbers ("the number of requests each
    /// endpoint can receive before being rate limited is dynamic", JRACLOUD-69262). 10 requests
    /// per second is the budget Atlassian's own rate-limiting page uses in its scaling example
    /// and what third-party summaries quote (10 requests/second per app, user and tenant); the
    /// buffer of 100 (ten seconds of the steady rate) is our guess at "short bursts". Change it
    /// per endpoint with [`JiraLimits::per_endpoint`].
    pub const UNVERIFIED_DEFAULT: Burst = Burst {
        capacity: 100,
        per_second: 10,
    };
}

/// At most `writes` writes to one issue per `window_secs` (fixed windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteWindow {
    pub writes: u32,
    pub window_secs: u32,
}

/// Jira Cloud's burst and per-issue write limits (§C).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraLimits {
    /// The bucket of an endpoint not in `per_endpoint`.
    pub burst: Burst,
    /// Buckets by endpoint, as [`endpoint`] names them (`"POST /rest/api/3/issue"`).
    pub per_endpoint: BTreeMap<String, Burst>,
    /// Every window must admit a write to one issue.
    pub per_issue_writes: Vec<WriteWindow>,
    /// Every n-th 429 comes without `Retry-After` and `X-RateLimit-Reset`, so a client must fall
    /// back to its own backoff: 0 = never, 1 = always.
    pub bare_every: u32,
}

impl JiraLimits {
    /// The limits as far as §C documents them, numbers [unverified]; every 429 has `Retry-After`.
    pub fn documented() -> JiraLimits {
        JiraLimits {
            burst: Burst::UNVERIFIED_DEFAULT,
            per_endpoint: BTreeMap::new(),
            // [unverified] third-party summaries of Atlassian's per-issue write limit (§C).
            per_issue_writes: vec![
                WriteWindow {
                    writes: 20,
                    window_secs: 2,
                },
                WriteWindow {
                    writes: 100,
                    window_secs: 30,
                },
            ],
            bare_every: 0,
        }
    }

    /// The same limits, with every `n`-th 429 bare (no `Retry-After`, no reset time).
    pub fn bare_every(self, n: u32) -> JiraLimits {
        JiraLimits {
            bare_every: n,
            ..self
        }
    }

    /// The bucket of one endpoint.
    pub fn burst_of(&self, endpoint: &str) -> Burst {
        self.per_endpoint
            .get(endpoint)
            .copied()
            .unwrap_or(self.burst)
    }
}

impl std::str::FromStr for JiraLimits {
    type Err = String;

    /// The CLI form: `documented`, `documented-no-retry-after` or `documented-mixed` (every
    /// fourth 429 without `Retry-After`).
    fn from_str(value: &str) -> Result<JiraLimits, String> {
        match value {
            "documented" => Ok(JiraLimits::documented()),
            "documented-no-retry-after" => Ok(JiraLimits::documented().bare_every(1)),
            "documented-mixed" => Ok(JiraLimits::documented().bare_every(4)),
            other => Err(format!(
                "unknown Jira limits \"{other}\"; use documented, documented-no-retry-after or \
                 documented-mixed"
            )),
        }
    }
}

/// The endpoint a request addresses: its method and route template
/// (`"PUT /rest/api/3/issue/{key}"`).
pub fn endpoint(method: &str, template: &str) -> String {
    format!("{} {template}", method.to_ascii_uppercase())
}

/// A token bucket on the sandbox clock.
#[derive(Debug, Clone, Default)]
struct Bucket {
    tokens: f64,
    at: Option<OffsetDateTime>,
}

impl Bucket {
    /// Takes one token: `Ok(tokens left)`, or `Err(time until one is back)` (sandbox time).
    fn take(
        &mut self,
        burst: Burst,
        now: OffsetDateTime,
        scale: f64,
    ) -> Result<u32, time::Duration> {
        let capacity = f64::from(burst.capacity);
        let rate = f64::from(burst.per_second.max(1));
        let tokens = match self.at {
            None => capacity,
            Some(at) => {
                // Sandbox seconds times the scale are the real seconds the bucket refilled for.
                let real = (now - at).as_seconds_f64().max(0.0) * pace::sane(scale);
                (self.tokens + real * rate).min(capacity)
            }
        };
        self.at = Some(now);
        if tokens >= 1.0 {
            self.tokens = tokens - 1.0;
            return Ok(self.tokens.floor() as u32);
        }
        self.tokens = tokens;
        Err(pace::scaled((1.0 - tokens) / rate, scale))
    }
}

/// A scope a 429 closed until its `Retry-After` passes.
#[derive(Debug, Clone)]
struct Block {
    until: OffsetDateTime,
    refusal: Refusal,
}

/// The limiter's buckets, windows and blocks, and the request counts, kept in `JiraState`.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    counts: BTreeMap<String, EndpointCount>,
    buckets: HashMap<String, Bucket>,
    /// One window per [`WriteWindow`], by issue id.
    issues: HashMap<u64, Vec<FixedWindow>>,
    /// Closed scopes: `"burst {endpoint}"` or `"issue {id}"`.
    blocks: HashMap<String, Block>,
    /// 429s answered so far (for [`JiraLimits::bare_every`]).
    refusals: u64,
}

/// Counts a request for [`SandboxHandle::jira_requests`]; `template` is the matched route.
pub(crate) fn count(world: &World, method: &str, template: Option<&str>) {
    if let Some(template) = template {
        lock(&world.jira)
            .usage
            .counts
            .entry(endpoint(method, template))
            .or_default()
            .requests += 1;
    }
}

/// Admits the request, or answers 429 when its burst bucket or its issue's write windows are
/// spent (or still closed by an earlier 429).
pub(crate) fn admit(
    world: &World,
    method: &str,
    path: &str,
    template: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let Some(template) = template else {
        return Ok(());
    };
    let now = world.now();
    let scale = world.time_scale();
    let mut guard = lock(&world.jira);
    let state = &mut *guard;
    let Some(limits) = state.limits.as_ref() else {
        return Ok(());
    };
    // Limits apply to authenticated traffic: a bad credential is left to the handler's 401.
    if state.authenticate(headers, now).is_err() {
        return Ok(());
    }
    let issue = issue_key(method, path, template)
        .and_then(|key| state.issue_index(key).map(|index| state.issues[index].id));
    let endpoint = endpoint(method, template);
    let usage = &mut state.usage;
    let refusal = burst(limits, usage, &endpoint, now, scale)
        .or_else(|| issue.and_then(|id| per_issue(limits, usage, id, now, scale)));
    let Some(mut refusal) = refusal else {
        return Ok(());
    };
    usage.refusals += 1;
    if limits.bare_every > 0 && usage.refusals.is_multiple_of(u64::from(limits.bare_every)) {
        refusal.retry_after = None;
    }
    usage.counts.entry(endpoint).or_default().throttled += 1;
    Err(throttled(&refusal, now))
}

/// The issue key or id of a write to one issue: any method but GET/HEAD on
/// `/rest/api/3/issue/{key}` or below it, except the changelog read that is a POST.
fn issue_key<'p>(method: &str, path: &'p str, template: &str) -> Option<&'p str> {
    let method = method.to_ascii_uppercase();
    if method == "GET" || method == "HEAD" || method == "OPTIONS" {
        return None;
    }
    let rest = template.strip_prefix("/rest/api/3/issue/{key}")?;
    if !(rest.is_empty() || rest.starts_with('/')) || rest == "/changelog/list" {
        return None;
    }
    path.strip_prefix("/rest/api/3/issue/")?
        .split('/')
        .next()
        .filter(|key| !key.is_empty())
}

/// Closes `scope` for the refusal's `Retry-After`, or keeps refusing while it is closed (an early
/// retry earns the same period again, counted from now).
fn blocked(usage: &mut Usage, scope: &str, now: OffsetDateTime) -> Option<Refusal> {
    let block = usage.blocks.get_mut(scope)?;
    if now >= block.until {
        usage.blocks.remove(scope);
        return None;
    }
    let period = block
        .refusal
        .retry_after
        .map_or(block.until - now, |retry_after| retry_after.duration());
    block.until = block.until.max(now + period);
    Some(block.refusal.clone())
}

fn close(usage: &mut Usage, scope: String, refusal: &Refusal, now: OffsetDateTime) {
    if let Some(retry_after) = refusal.retry_after {
        let until = now + retry_after.duration();
        usage.blocks.insert(
            scope,
            Block {
                until,
                refusal: refusal.clone(),
            },
        );
    }
}

/// Takes a token from the endpoint's bucket; the refusal when it is empty or closed.
fn burst(
    limits: &JiraLimits,
    usage: &mut Usage,
    endpoint: &str,
    now: OffsetDateTime,
    scale: f64,
) -> Option<Refusal> {
    let scope = format!("burst {endpoint}");
    if let Some(refusal) = blocked(usage, &scope, now) {
        return Some(refusal);
    }
    let limit = limits.burst_of(endpoint);
    let wait = usage
        .buckets
        .entry(endpoint.to_owned())
        .or_default()
        .take(limit, now, scale)
        .err()?;
    let refusal = Refusal {
        limit: RateLimit {
            budget: limit.capacity,
            window_secs: 1,
            retry_after_secs: None,
            reason: BURST_REASON.into(),
        },
        retry_after: Some(RetryAfter::until(wait, scale)),
    };
    close(usage, scope, &refusal, now);
    Some(refusal)
}

/// Counts a write to issue `id` in every window; the refusal of the window that is closed longest.
fn per_issue(
    limits: &JiraLimits,
    usage: &mut Usage,
    id: u64,
    now: OffsetDateTime,
    scale: f64,
) -> Option<Refusal> {
    if limits.per_issue_writes.is_empty() {
        return None;
    }
    let scope = format!("issue {id}");
    if let Some(refusal) = blocked(usage, &scope, now) {
        return Some(refusal);
    }
    let windows = usage
        .issues
        .entry(id)
        .or_insert_with(|| vec![FixedWindow::default(); limits.per_issue_writes.len()]);
    windows.resize(limits.per_issue_writes.len(), FixedWindow::default());
    let length = |w: &WriteWindow| pace::scaled(f64::from(w.window_secs), scale);
    let full = limits
        .per_issue_writes
        .iter()
        .zip(windows.iter())
        .filter(|(w, window)| !window.would_admit(w.writes, length(w), now))
        .map(|(w, _)| *w)
        .collect::<Vec<_>>();
    if full.is_empty() {
        for (w, window) in limits.per_issue_writes.iter().zip(windows.iter_mut()) {
            let _ = window.hit(w.writes, length(w), now);
        }
        return None;
    }
    // A refused write counts in no window; the one closed longest sets `Retry-After`.
    let (limit, wait) = limits
        .per_issue_writes
        .iter()
        .zip(windows.iter_mut())
        .filter(|(w, _)| full.contains(w))
        .filter_map(|(w, window)| {
            window
                .hit(w.writes, length(w), now)
                .err()
                .map(|wait| (*w, wait))
        })
        .max_by_key(|(_, wait)| *wait)?;
    let refusal = Refusal {
        limit: RateLimit {
            budget: limit.writes,
            window_secs: i64::from(limit.window_secs),
            retry_after_secs: None,
            reason: PER_ISSUE_REASON.into(),
        },
        retry_after: Some(RetryAfter::until(wait, scale)),
    };
    close(usage, scope, &refusal, now);
    Some(refusal)
}

impl SandboxHandle {
    /// Requests the Jira site received per endpoint (`"POST /rest/api/3/issue"`,
    /// `"PUT /rest/api/3/issue/{key}"`...), with how many [`JiraLimits`] refused.
    pub fn jira_requests(&self) -> BTreeMap<String, EndpointCount> {
        lock(&self.world().jira).usage.counts.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // api/atlassian.md §C: token bucket per endpoint; refills at the steady rate, scaled.
    #[test]
    fn bucket_allows_a_burst_then_the_steady_rate() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let burst = Burst {
            capacity: 3,
            per_second: 2,
        };
        let mut bucket = Bucket::default();
        assert_eq!(bucket.take(burst, t0, 1.0), Ok(2));
        assert_eq!(bucket.take(burst, t0, 1.0), Ok(1));
        assert_eq!(bucket.take(burst, t0, 1.0), Ok(0));
        assert_eq!(
            bucket.take(burst, t0, 1.0),
            Err(time::Duration::milliseconds(500))
        );
        let later = t0 + time::Duration::milliseconds(500);
        assert_eq!(bucket.take(burst, later, 1.0), Ok(0));
        // At scale 10, 50 ms of sandbox time are 500 real milliseconds: one token.
        let scaled = later + time::Duration::milliseconds(50);
        assert_eq!(bucket.take(burst, scaled, 10.0), Ok(0));
        assert_eq!(
            bucket.take(burst, scaled, 10.0),
            Err(time::Duration::milliseconds(50))
        );
        // Never more than the buffer.
        let idle = scaled + time::Duration::hours(1);
        assert_eq!(bucket.take(burst, idle, 1.0), Ok(2));
    }

    #[test]
    fn writes_to_one_issue_are_found_by_template() {
        let key = |method, path, template| issue_key(method, path, template);
        let t = "/rest/api/3/issue/{key}";
        assert_eq!(key("PUT", "/rest/api/3/issue/SUP-1", t), Some("SUP-1"));
        assert_eq!(key("GET", "/rest/api/3/issue/SUP-1", t), None);
        assert_eq!(
            key(
                "post",
                "/rest/api/3/issue/10001/comment",
                "/rest/api/3/issue/{key}/comment"
            ),
            Some("10001")
        );
        assert_eq!(
            key(
                "POST",
                "/rest/api/3/issue/SUP-1/changelog/list",
                "/rest/api/3/issue/{key}/changelog/list"
            ),
            None,
            "a read"
        );
        assert_eq!(
            key("POST", "/rest/api/3/issue/bulk", "/rest/api/3/issue/bulk"),
            None
        );
        assert_eq!(key("POST", "/rest/api/3/issue", "/rest/api/3/issue"), None);
        assert_eq!(
            "documented-mixed".parse(),
            Ok(JiraLimits::documented().bare_every(4))
        );
        assert!("many".parse::<JiraLimits>().is_err());
    }
}
