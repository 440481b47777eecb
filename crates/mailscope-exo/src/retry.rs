//! Retry policy: which failures are retried, and how long to wait.
//!
//! The numbers follow the `ExchangeOnlineManagement` module (base 2 s, factor
//! 2, 5 retries) with two changes: full jitter, so that parallel member calls
//! that failed together do not retry together, and a total time budget, so
//! that a run in CI fails in minutes instead of hanging on a throttled tenant.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (module default: 6).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles with each retry.
    pub base_delay: Duration,
    /// Upper bound of one computed backoff.
    pub max_delay: Duration,
    /// Upper bound of a server-sent `Retry-After` we are willing to honour.
    pub max_retry_after: Duration,
    /// No retry is started once this much time has passed since the first
    /// attempt, or when its wait would end past it.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(120),
            total_budget: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// The exponential backoff ceiling before retry number `retry` (1-based):
    /// `min(max_delay, base_delay * 2^(retry-1))`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(20);
        self.base_delay.saturating_mul(1u32 << exp).min(self.max_delay)
    }

    /// Full-jitter backoff: uniform in `[0, ceiling]`, with `unit` in `[0, 1)`.
    pub fn backoff_with(&self, retry: u32, unit: f64) -> Duration {
        self.backoff_ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Full-jitter backoff with a fresh random draw.
    pub fn backoff(&self, retry: u32) -> Duration {
        self.backoff_with(retry, random_unit())
    }

    /// The wait before retry `retry`: `Retry-After` (capped) when the server
    /// sent one, otherwise the jittered backoff.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_retry_after),
            None => self.backoff(retry),
        }
    }
}

/// A uniform number in `[0, 1)` from the OS RNG (via a v4 UUID, to avoid a
/// dependency for one call).
fn random_unit() -> f64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut v = 0u64;
    for b in &bytes[..7] {
        v = (v << 8) | u64::from(*b);
    }
    // 56 random bits; 2^56 fits an f64 mantissa exactly.
    #[allow(clippy::cast_precision_loss)]
    let unit = v as f64 / (1u64 << 56) as f64;
    unit
}

/// Parses a `Retry-After` value: delta seconds (integer or fractional, as the
/// Exchange module accepts) or an HTTP date (IMF-fixdate). A date in the past
/// gives zero. Returns `None` for anything unparseable.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    parse_retry_after_at(value, SystemTime::now())
}

/// [`parse_retry_after`] relative to a given "now" (for tests).
pub(crate) fn parse_retry_after_at(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            // Cap absurd values before converting (Duration panics on overflow).
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO).min(Duration::from_secs(86_400)))
}

/// Parses an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let rest = s.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if *zone != "GMT" && *zone != "UTC" {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m == month)?;
    let year: i64 = year.parse().ok()?;
    // Untrusted: a huge year would overflow the day arithmetic below.
    if !(1970..=9999).contains(&year) {
        return None;
    }
    let hms: Vec<u64> = time.split(':').map(str::parse).collect::<Result<_, _>>().ok()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    if day == 0 || day > 31 || *h > 23 || *m > 59 || *sec > 60 {
        return None;
    }
    let month = u32::try_from(month).ok()? + 1;
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::try_from(h * 3600 + m * 60 + sec).ok()?;
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let d = i64::from(d);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Exception types (substrings of `details[0].message`) that make a 500
/// retryable; the module's `RetryableExceptions` list.
pub(crate) const TRANSIENT_EXCEPTIONS: [&str; 5] = [
    "DCOverloadedException",
    "SuitabilityDirectoryException",
    "ServerInMMException",
    "ADServerSettingsChangedException",
    "StorageTransientException",
];

/// Exceptions of [`TRANSIENT_EXCEPTIONS`] that mean the service is
/// overloaded rather than briefly broken: the adaptive concurrency limit
/// treats a 500 naming one as throttling.
pub(crate) const OVERLOAD_EXCEPTIONS: [&str; 1] = ["DCOverloadedException"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37
        assert_eq!(parse_retry_after_at("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after_at(" 1.5 ", now), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after_at("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after_at("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after_at("Sun, 06 Nov 1994 08:49:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after_at("-1", now), None);
        assert_eq!(parse_retry_after_at("soon", now), None);
        assert_eq!(parse_retry_after_at("NaN", now), None);
        assert_eq!(parse_retry_after_at("1e300", now), Some(Duration::from_secs(86_400)));
        // Absurd dates: capped like numbers, or refused, never a panic.
        assert_eq!(
            parse_retry_after_at("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(parse_retry_after_at("Sun, 06 Nov 9223372036854775807 08:49:37 GMT", now), None);
        assert_eq!(parse_retry_after_at("Sun, 06 Nov 99999999999999 08:49:37 GMT", now), None);
    }

    #[test]
    fn http_date_epoch() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_445_412_480))
        );
    }

    #[test]
    fn backoff_bounds() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_ceiling(1), Duration::from_secs(2));
        assert_eq!(p.backoff_ceiling(2), Duration::from_secs(4));
        assert_eq!(p.backoff_ceiling(5), Duration::from_secs(32));
        assert_eq!(p.backoff_ceiling(6), Duration::from_secs(60));
        assert_eq!(p.backoff_ceiling(1000), Duration::from_secs(60));
        assert_eq!(p.backoff_with(3, 0.0), Duration::ZERO);
        assert_eq!(p.backoff_with(3, 1.0), Duration::from_secs(8));
        for retry in 1..10 {
            for _ in 0..50 {
                let d = p.backoff(retry);
                assert!(d <= p.backoff_ceiling(retry));
            }
        }
        assert_eq!(p.delay(1, Some(Duration::from_secs(10_000))), p.max_retry_after);
        assert_eq!(p.delay(1, Some(Duration::from_secs(3))), Duration::from_secs(3));
        let u = random_unit();
        assert!((0.0..1.0).contains(&u));
    }
}
