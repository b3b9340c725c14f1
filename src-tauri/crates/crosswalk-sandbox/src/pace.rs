//! Benchmark pacing: one time scale that shrinks every rate-limit window and injected delay by the
//! same factor, so a run against real limits finishes in minutes while the ratio of achieved time
//! to the theoretical floor stays what it would be in real time.

use std::time::Duration;
use time::OffsetDateTime;

/// A usable time scale: finite and positive, else 1.0 (real time).
pub fn sane(scale: f64) -> f64 {
    if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    }
}

/// A real-time window or delay of `secs` sandbox seconds at `scale` (divided by it).
pub fn scaled(secs: f64, scale: f64) -> time::Duration {
    time::Duration::seconds_f64(secs / sane(scale))
}

/// A delay of `ms` milliseconds at `scale`, for `tokio::time::sleep`.
pub fn delay(ms: u64, scale: f64) -> Duration {
    Duration::from_secs_f64(ms as f64 / 1000.0 / sane(scale))
}

/// A `Retry-After` in whole seconds (rounded up, at least 1), as the services send it.
pub fn retry_after_secs(wait: time::Duration) -> u64 {
    (wait.as_seconds_f64().ceil() as u64).max(1)
}

/// A configured `Retry-After` of `secs` at `scale` (rounded up, at least 1).
pub fn scaled_retry_after(secs: u64, scale: f64) -> u64 {
    retry_after_secs(scaled(secs as f64, scale))
}

/// A fixed-window request counter on the sandbox clock (the window starts at its first request).
#[derive(Debug, Clone, Default)]
pub struct FixedWindow {
    start: Option<OffsetDateTime>,
    used: u32,
}

impl FixedWindow {
    /// Counts one request against `budget` per `window`: `Ok(remaining)`, or `Err(time until the
    /// window resets)` when the budget is spent (the refused request is not counted).
    pub fn hit(
        &mut self,
        budget: u32,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> Result<u32, time::Duration> {
        let start = match self.start {
            Some(start) if now - start < window => start,
            _ => {
                self.used = 0;
                *self.start.insert(now)
            }
        };
        if self.used >= budget {
            return Err(start + window - now);
        }
        self.used += 1;
        Ok(budget - self.used)
    }

    /// Whether one more request would fit, without counting it.
    pub fn would_admit(&self, budget: u32, window: time::Duration, now: OffsetDateTime) -> bool {
        match self.start {
            Some(start) if now - start < window => self.used < budget,
            _ => budget > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_shrink_with_the_scale() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let window = scaled(60.0, 20.0);
        assert_eq!(window, time::Duration::seconds(3));
        let mut w = FixedWindow::default();
        assert_eq!(w.hit(2, window, t0), Ok(1));
        assert_eq!(w.hit(2, window, t0), Ok(0));
        let wait = w
            .hit(2, window, t0 + time::Duration::seconds(1))
            .unwrap_err();
        assert_eq!(retry_after_secs(wait), 2);
        assert_eq!(w.hit(2, window, t0 + time::Duration::seconds(3)), Ok(1));
        assert_eq!(delay(100, 20.0), Duration::from_millis(5));
        assert_eq!(scaled_retry_after(3, 20.0), 1);
        assert_eq!(sane(f64::NAN), 1.0);
        assert_eq!(sane(-2.0), 1.0);
    }

    /// Time for one unauthenticated Assets request (the front door waits before any answer).
    async fn assets_round_trip(sandbox: &crate::Sandbox) -> Duration {
        let url = format!(
            "{}jsm/assets/workspace/x/v1/objectschema/list",
            sandbox.urls.assets
        );
        let started = std::time::Instant::now();
        let status = reqwest::get(url).await.unwrap().status();
        assert_eq!(status, 401);
        started.elapsed()
    }

    // The realistic profile (Assets 80-200 ms) and latency faults, divided by the time scale.
    #[tokio::test]
    async fn latency_is_divided_by_the_time_scale() {
        let sandbox = crate::Sandbox::start(crate::SandboxOptions {
            latency: crate::LatencyProfile::realistic(),
            ..crate::SandboxOptions::default()
        })
        .await
        .unwrap();
        assert!(assets_round_trip(&sandbox).await >= Duration::from_millis(80));
        sandbox.handle.set_latency(crate::LatencyProfile::none());
        sandbox.handle.set_time_scale(10.0);
        sandbox.handle.add_fault(crate::FaultRule::always(
            crate::Server::Assets,
            crate::Fault::Latency { ms: 3000 },
        ));
        let took = assets_round_trip(&sandbox).await;
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_millis(3000),
            "{took:?}"
        );
    }
}
