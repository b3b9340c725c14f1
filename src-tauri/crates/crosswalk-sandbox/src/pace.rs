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

/// The `Retry-After` a throttled answer carries: what the real service sends (whole seconds) shrunk
/// by the time scale. At scale 1 it is whole seconds, as documented; at scale N it is that
/// whole-second value divided by N, in milliseconds (`"0.5"`), because a whole-second floor on a
/// window shrunk N times would make a benchmark wait up to N real seconds more per throttle than
/// the real run it stands for. Clients parse fractions (crosswalk-http does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    millis: u64,
    whole: bool,
}

impl RetryAfter {
    /// A real-time `Retry-After` of `secs` (configured limits and faults) at `scale`.
    pub fn scaled(secs: u64, scale: f64) -> RetryAfter {
        let scale = sane(scale);
        if scale <= 1.0 {
            return RetryAfter {
                millis: secs.saturating_mul(1000),
                whole: true,
            };
        }
        RetryAfter {
            millis: ((secs as f64) * 1000.0 / scale).ceil() as u64,
            whole: false,
        }
    }

    /// The answer for a window that resets in `wait` (sandbox time, already scaled): the real
    /// service's whole seconds (rounded up, at least 1) of the unscaled wait, scaled back.
    pub fn until(wait: time::Duration, scale: f64) -> RetryAfter {
        let real = wait.as_seconds_f64() * sane(scale);
        RetryAfter::scaled((real.ceil() as u64).max(1), scale)
    }

    /// The header's text: whole seconds, or seconds with up to three decimals when scaled.
    pub fn text(&self) -> String {
        if self.whole {
            return (self.millis / 1000).to_string();
        }
        let text = format!("{}.{:03}", self.millis / 1000, self.millis % 1000);
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }

    /// The header value.
    pub fn header(&self) -> axum::http::HeaderValue {
        axum::http::HeaderValue::from_str(&self.text())
            .unwrap_or_else(|_| axum::http::HeaderValue::from_static("1"))
    }

    /// The wait it asks for (for `X-RateLimit-Reset`).
    pub fn duration(&self) -> time::Duration {
        time::Duration::milliseconds(i64::try_from(self.millis).unwrap_or(i64::MAX))
    }
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
        assert_eq!(RetryAfter::until(wait, 1.0).text(), "2");
        assert_eq!(w.hit(2, window, t0 + time::Duration::seconds(3)), Ok(1));
        assert_eq!(delay(100, 20.0), Duration::from_millis(5));
        // Scaled: the real whole seconds divided by the scale, not rounded up to a whole second.
        assert_eq!(RetryAfter::scaled(3, 20.0).text(), "0.15");
        assert_eq!(RetryAfter::scaled(60, 30.0).text(), "2");
        // 0.5 s left of a window shrunk 30 times = 15 real seconds → "15" scaled back.
        let half = time::Duration::milliseconds(500);
        assert_eq!(RetryAfter::until(half, 30.0).text(), "0.5");
        // 10 ms left = 0.3 real seconds → the service's minimum of 1 s, scaled.
        let tiny = time::Duration::milliseconds(10);
        assert_eq!(RetryAfter::until(tiny, 30.0).text(), "0.034");
        assert_eq!(RetryAfter::until(tiny, 1.0).text(), "1");
        assert_eq!(RetryAfter::scaled(7, 1.0).text(), "7");
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
