//! Throttling pauses shared by every request to one remote.
//!
//! A 429 with `Retry-After` says the remote's budget is spent until then; every other request
//! sent before that moment would only earn its own 429 and count against the budget again
//! (api/atlassian.md §C, api/microsoft.md §D.1). So the `Retry-After` is recorded here and every
//! request of the same scope waits it out before it goes on the wire. The scope follows Jira's
//! `RateLimit-Reason` (§C): `jira-burst-based` limits one endpoint and method, so only that route
//! pauses; `jira-per-issue-on-write` limits writes to one issue, so nothing else pauses (the
//! refused request waits on its own); any other reason, or none (Graph, Dataverse, Assets), pauses
//! the whole remote.

use reqwest::header::HeaderMap;
use reqwest::Method;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// What a throttling answer holds back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Scope {
    /// Every request to the remote.
    Remote,
    /// One route template with one method.
    Route(Method, &'static str),
}

/// The pauses in force for one remote, shared by clones of its `Http`.
#[derive(Debug, Default)]
pub(crate) struct Pauses {
    until: Mutex<HashMap<Scope, Instant>>,
}

impl Pauses {
    /// Records a `Retry-After` the remote answered to `method route` with `headers`.
    pub(crate) fn throttled(
        &self,
        method: &Method,
        route: &'static str,
        headers: &HeaderMap,
        retry_after: Duration,
    ) {
        let reason = headers
            .get("ratelimit-reason")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let scope = match reason.as_str() {
            "jira-per-issue-on-write" => return,
            "jira-burst-based" => Scope::Route(method.clone(), route),
            _ => Scope::Remote,
        };
        let until = Instant::now() + retry_after;
        let mut pauses = self
            .until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let entry = pauses.entry(scope).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// When `method route` may go on the wire, if a pause holds it back now.
    fn resume_at(&self, method: &Method, route: &'static str) -> Option<Instant> {
        let now = Instant::now();
        let mut pauses = self
            .until
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        pauses.retain(|_, until| *until > now);
        let remote = pauses.get(&Scope::Remote).copied();
        let own = pauses.get(&Scope::Route(method.clone(), route)).copied();
        remote.into_iter().chain(own).max()
    }

    /// Waits until no pause holds `method route` back (a pause may be extended meanwhile);
    /// how long it waited, `None` when nothing held it back.
    pub(crate) async fn wait(&self, method: &Method, route: &'static str) -> Option<Duration> {
        let started = Instant::now();
        let mut held = false;
        while let Some(at) = self.resume_at(method, route) {
            held = true;
            tokio::time::sleep_until(at).await;
        }
        held.then(|| started.elapsed())
    }
}
