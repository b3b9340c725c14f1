//! When to send a request again and how long to wait first: exponential backoff with full
//! jitter, or exactly what the server asked for in `Retry-After`.

use rand::Rng;
use reqwest::StatusCode;
use std::time::Duration;
use time::{
    format_description::FormatItem, macros::format_description, OffsetDateTime, PrimitiveDateTime,
};

/// How persistently one remote is retried. Tests use tiny delays; production uses the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (1 disables retries).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles per retry (then full jitter picks 0..=that).
    pub base_delay: Duration,
    /// Upper bound of one backoff wait (a server's `Retry-After` may exceed it).
    pub max_delay: Duration,
    /// Upper bound of all waits for one request; a `Retry-After` beyond it ends the retries.
    pub max_total_wait: Duration,
    /// Random extra added to a `Retry-After`, so parallel callers do not return in lockstep.
    pub retry_after_jitter: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(300),
            retry_after_jitter: Duration::from_millis(250),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (one attempt).
    pub fn never() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry_idx` (0 = first retry), given the server's
    /// `Retry-After` if any, and what was already waited; `None` when the budget is spent.
    pub(crate) fn next_delay(
        &self,
        retry_idx: u32,
        retry_after: Option<Duration>,
        waited: Duration,
    ) -> Option<Duration> {
        if retry_idx + 1 >= self.max_attempts {
            return None;
        }
        let budget = self.max_total_wait.saturating_sub(waited);
        match retry_after {
            // Never shorter than the server asked for: retrying early counts against the quota.
            Some(retry_after) => {
                let delay = retry_after + random_up_to(self.retry_after_jitter);
                (retry_after <= budget).then_some(delay.min(budget.max(retry_after)))
            }
            None => {
                let cap = self
                    .base_delay
                    .saturating_mul(2u32.saturating_pow(retry_idx))
                    .min(self.max_delay);
                (!budget.is_zero()).then(|| random_up_to(cap).min(budget))
            }
        }
    }
}

fn random_up_to(max: Duration) -> Duration {
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    if max_ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::rng().random_range(0..=max_ms))
}

/// Responses that mean "slow down": counted as throttling and waited out per `Retry-After`.
pub(crate) fn is_throttle(status: StatusCode, has_retry_after: bool) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::SERVICE_UNAVAILABLE && has_retry_after)
}

/// Whether a response with `status` may be retried.
///
/// 429 and 503 mean the request was not processed, so any method may repeat. 500, 502 and 504
/// may come after the remote acted (a gateway timeout can hide a created issue), so only
/// idempotent requests repeat.
pub(crate) fn is_retryable_status(status: StatusCode, idempotent: bool) -> bool {
    match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => true,
        StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::BAD_GATEWAY
        | StatusCode::GATEWAY_TIMEOUT => idempotent,
        _ => false,
    }
}

/// Whether a transport failure may be retried: refused connections never reached the remote;
/// anything later (timeouts, resets) only for idempotent requests.
pub(crate) fn is_retryable_transport(error: &reqwest::Error, idempotent: bool) -> bool {
    error.is_connect()
        || (idempotent && (error.is_timeout() || error.is_request() || error.is_body()))
}

/// IMF-fixdate, the form HTTP dates are sent in (`Sun, 06 Nov 1994 08:49:37 GMT`).
const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Parses an HTTP-date (IMF-fixdate), as `Date` and `Retry-After` carry it.
pub(crate) fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(value.trim(), HTTP_DATE)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Parses `Retry-After` as delta-seconds (fractions tolerated, rounded up to the millisecond)
/// or as an HTTP-date relative to `now`; a date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        let millis = (seconds * 1000.0).ceil().min(u64::MAX as f64) as u64;
        return Some(Duration::from_millis(millis));
    }
    let at = parse_http_date(value)?;
    let delta = at - now;
    Some(Duration::try_from(delta).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn check(value: &str, expect: Option<Duration>) {
        let now = datetime!(2026-03-02 10:00:00 UTC);
        assert_eq!(
            parse_retry_after(value, now),
            expect,
            "Retry-After: {value}"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        check("10", Some(Duration::from_secs(10)));
        check(" 0 ", Some(Duration::ZERO));
        check("1.5", Some(Duration::from_millis(1500)));
        check(
            "Mon, 02 Mar 2026 10:00:07 GMT",
            Some(Duration::from_secs(7)),
        );
        check("Mon, 02 Mar 2026 09:59:00 GMT", Some(Duration::ZERO));
        check("-3", None);
        check("soon", None);
        check("", None);
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
            max_total_wait: Duration::from_secs(60),
            retry_after_jitter: Duration::from_millis(50),
        };
        for retry_idx in 0..8 {
            let delay = policy
                .next_delay(retry_idx, None, Duration::ZERO)
                .expect("attempts remain");
            let cap =
                Duration::from_millis(100 * 2u64.pow(retry_idx)).min(Duration::from_millis(400));
            assert!(delay <= cap, "retry {retry_idx}: {delay:?} > {cap:?}");
        }
        assert_eq!(
            policy.next_delay(9, None, Duration::ZERO),
            None,
            "attempts are capped"
        );
    }

    #[test]
    fn retry_after_is_never_shortened_and_respects_the_budget() {
        let policy = RetryPolicy {
            max_total_wait: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let delay = policy
            .next_delay(0, Some(Duration::from_secs(2)), Duration::ZERO)
            .expect("within budget");
        assert!(delay >= Duration::from_secs(2) && delay <= Duration::from_millis(2250));
        assert_eq!(
            policy.next_delay(0, Some(Duration::from_secs(6)), Duration::ZERO),
            None
        );
        assert_eq!(
            policy.next_delay(0, Some(Duration::from_secs(2)), Duration::from_secs(4)),
            None
        );
        assert_eq!(
            RetryPolicy::never().next_delay(0, None, Duration::ZERO),
            None
        );
    }

    #[test]
    fn only_safe_statuses_are_retried_for_non_idempotent_requests() {
        for (status, idempotent, expect) in [
            (StatusCode::TOO_MANY_REQUESTS, false, true),
            (StatusCode::SERVICE_UNAVAILABLE, false, true),
            (StatusCode::GATEWAY_TIMEOUT, false, false),
            (StatusCode::GATEWAY_TIMEOUT, true, true),
            (StatusCode::INTERNAL_SERVER_ERROR, false, false),
            (StatusCode::INTERNAL_SERVER_ERROR, true, true),
            (StatusCode::BAD_GATEWAY, true, true),
            (StatusCode::NOT_FOUND, true, false),
            (StatusCode::UNAUTHORIZED, true, false),
        ] {
            assert_eq!(
                is_retryable_status(status, idempotent),
                expect,
                "{status} idempotent={idempotent}"
            );
        }
    }
}
