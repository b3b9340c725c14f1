//! Per-remote request counts, so a run can report how hard it leaned on each system.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// What one remote saw during a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteStats {
    /// Requests actually put on the wire, retries included.
    pub requests: u64,
    /// Responses that asked us to slow down (429, or 503 with `Retry-After`).
    pub throttled: u64,
    /// Requests that repeated an earlier one (backoff retries and the re-send after a token refresh).
    pub retries: u64,
}

/// Shared counter handed to every `Http` of a run; cloning shares the same counts.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    stats: Arc<Mutex<BTreeMap<String, RemoteStats>>>,
}

impl RequestCounter {
    /// An empty counter.
    pub fn new() -> RequestCounter {
        RequestCounter::default()
    }

    /// Counts so far, by remote name.
    pub fn snapshot(&self) -> BTreeMap<String, RemoteStats> {
        self.lock().clone()
    }

    /// Records one request sent to `remote`; `retry` when it repeats an earlier attempt.
    pub(crate) fn record_sent(&self, remote: &str, retry: bool) {
        self.update(remote, |stats| {
            stats.requests += 1;
            if retry {
                stats.retries += 1;
            }
        });
    }

    /// Records one throttling response from `remote`.
    pub(crate) fn record_throttled(&self, remote: &str) {
        self.update(remote, |stats| stats.throttled += 1);
    }

    fn update(&self, remote: &str, change: impl FnOnce(&mut RemoteStats)) {
        let mut stats = self.lock();
        match stats.get_mut(remote) {
            Some(entry) => change(entry),
            None => change(stats.entry(remote.to_owned()).or_default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, RemoteStats>> {
        // Counts stay meaningful even if a panicking thread held the lock: take them as they are.
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_counts_per_remote() {
        let counter = RequestCounter::new();
        let clone = counter.clone();
        counter.record_sent("graph", false);
        clone.record_sent("graph", true);
        clone.record_throttled("graph");
        counter.record_sent("jira", false);
        let snapshot = counter.snapshot();
        assert_eq!(
            snapshot["graph"],
            RemoteStats {
                requests: 2,
                throttled: 1,
                retries: 1
            }
        );
        assert_eq!(
            snapshot["jira"],
            RemoteStats {
                requests: 1,
                throttled: 0,
                retries: 0
            }
        );
    }
}
