//! Adaptive concurrency: how many calls one [`crate::Session`] keeps in
//! flight, learnt from the service's answers (additive increase,
//! multiplicative decrease, as TCP congestion control does).
//!
//! Exchange throttles app-only callers by concurrency as well as by rate,
//! and neither budget is published (the `Rate-Limit-*` headers appear on
//! some answers only). A fixed number is either too timid on a quiet tenant
//! or too greedy on a busy one, so the session starts from
//! [`DEFAULT_INITIAL_CONCURRENCY`] — the fixed value mailscope used before,
//! which did not provoke throttling — and then:
//!
//! - **grows by one** after as many consecutive successes as the current
//!   limit (one "round" of calls without a throttle), never above the
//!   ceiling (`--concurrency`);
//! - **halves** (never below 1) on a throttle — HTTP 429, or a 5xx naming
//!   one of the admin API's overload exceptions — but once per round: the
//!   calls that were already in flight when the limit was cut were sent
//!   under the old limit, and their 429s say nothing new;
//! - **pauses** new calls until a server-given time has passed: the
//!   `Retry-After` of a throttle, or `Rate-Limit-Reset` when
//!   `Rate-Limit-Remaining` reaches 0;
//! - **stops growing** while `Rate-Limit-Remaining` is below the limit: more
//!   calls in flight than the budget has left cannot all succeed.
//!
//! This type is the arithmetic only (no clock reads, no locks), so its
//! tests need no sleep; `session` wraps it in the async limiter.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The limit a session starts from when its configuration says nothing:
/// the fixed concurrency of earlier versions, known not to provoke 429s.
pub const DEFAULT_INITIAL_CONCURRENCY: usize = 4;

/// What an answer says about the service's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The call succeeded (or failed for a reason unrelated to load).
    Success,
    /// The service refused the call for load (429, or an overload 5xx).
    Throttled,
}

/// The additive-increase / multiplicative-decrease state of one session.
#[derive(Debug, Clone)]
pub struct Aimd {
    limit: usize,
    ceiling: usize,
    /// Successes since the limit last changed.
    successes: usize,
    /// Bumped at each decrease; a call remembers the epoch it started in.
    epoch: u64,
    /// No new call starts before this instant.
    paused_until: Option<Instant>,
    /// `Rate-Limit-Remaining` of the latest answer that carried it.
    remaining: Option<u64>,
}

impl Aimd {
    /// Starts at `initial`, within `1..=ceiling` (`ceiling` is raised to 1).
    pub fn new(initial: usize, ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        Self {
            limit: initial.clamp(1, ceiling),
            ceiling,
            successes: 0,
            epoch: 0,
            paused_until: None,
            remaining: None,
        }
    }

    /// Calls allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The ceiling the limit never passes.
    pub fn ceiling(&self) -> usize {
        self.ceiling
    }

    /// The current epoch: a call records it when it starts and hands it
    /// back with its outcome ([`Aimd::on_signal`]).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Records the outcome of a call started in `epoch`; returns the new
    /// limit when it changed.
    pub fn on_signal(&mut self, signal: Signal, epoch: u64) -> Option<usize> {
        let before = self.limit;
        match signal {
            Signal::Success => {
                if self.limit >= self.ceiling || self.remaining.is_some_and(|r| r < self.limit as u64) {
                    return None;
                }
                self.successes += 1;
                if self.successes >= self.limit {
                    self.limit += 1;
                    self.successes = 0;
                }
            }
            Signal::Throttled => {
                // A call sent before the last cut was sent under the old
                // limit: its throttle is already accounted for.
                if epoch != self.epoch {
                    return None;
                }
                self.limit = (self.limit / 2).max(1);
                self.successes = 0;
                self.epoch += 1;
            }
        }
        (self.limit != before).then_some(self.limit)
    }

    /// Holds new calls until `now + delay` (a `Retry-After`); a later pause
    /// already set stays.
    pub fn pause(&mut self, now: Instant, delay: Duration) {
        let until = now + delay;
        if self.paused_until.is_none_or(|p| p < until) {
            self.paused_until = Some(until);
        }
    }

    /// How long a new call must still wait at `now` (`None`: it may start).
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        self.paused_until.filter(|p| *p > now).map(|p| p - now)
    }

    /// Records the `Rate-Limit-Remaining` of an answer and, when it is 0,
    /// pauses until the budget resets (`reset_in` from now, when known).
    pub fn on_rate_limit(&mut self, now: Instant, remaining: u64, reset_in: Option<Duration>) {
        self.remaining = Some(remaining);
        if remaining == 0
            && let Some(d) = reset_in
        {
            self.pause(now, d);
        }
    }

    /// Whether a new call may start at `now` with `in_flight` calls out.
    pub fn admits(&self, in_flight: usize, now: Instant) -> bool {
        in_flight < self.limit && self.wait(now).is_none()
    }
}

/// The async gate of a session: at most [`Aimd::limit`] calls out, none
/// while paused. Waiters are woken whenever a call ends or the limit moves.
#[derive(Debug)]
pub(crate) struct Limiter {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    aimd: Aimd,
    in_flight: usize,
}

/// One call's place in the limiter; ends the call when dropped (as a
/// neutral outcome unless [`Permit::finish`] said otherwise).
#[must_use]
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
    epoch: u64,
}

impl Limiter {
    pub(crate) fn new(initial: usize, ceiling: usize) -> Self {
        Self {
            state: Mutex::new(State { aimd: Aimd::new(initial, ceiling), in_flight: 0 }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a place.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        loop {
            // Registered before the state is looked at, so a release between
            // the look and the wait is not missed.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let pause = {
                let mut s = self.state();
                let now = Instant::now();
                if s.aimd.admits(s.in_flight, now) {
                    s.in_flight += 1;
                    return Permit { limiter: self, epoch: s.aimd.epoch() };
                }
                s.aimd.wait(now)
            };
            match pause {
                Some(d) => {
                    let _ = tokio::time::timeout(d, notified).await;
                }
                None => notified.await,
            }
        }
    }

    /// The current limit (for tracing and metrics).
    pub(crate) fn limit(&self) -> usize {
        self.state().aimd.limit()
    }

    /// Places free now (tests).
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        let s = self.state();
        s.aimd.limit().saturating_sub(s.in_flight)
    }
}

impl Permit<'_> {
    /// Ends the call with what its answer said about the service's load:
    /// `signal`, a `Retry-After` to honour before any new call, and the
    /// `Rate-Limit-Remaining` / reset of the answer.
    pub(crate) fn finish(
        self,
        signal: Option<Signal>,
        retry_after: Option<Duration>,
        rate_limit: Option<(u64, Option<Duration>)>,
    ) {
        let mut s = self.limiter.state();
        let now = Instant::now();
        if let Some((remaining, reset_in)) = rate_limit {
            s.aimd.on_rate_limit(now, remaining, reset_in);
        }
        if let Some(d) = retry_after.filter(|_| signal == Some(Signal::Throttled)) {
            s.aimd.pause(now, d);
        }
        if let Some(signal) = signal
            && let Some(limit) = s.aimd.on_signal(signal, self.epoch)
        {
            tracing::info!(limit, ceiling = s.aimd.ceiling(), ?signal, "concurrency limit changed");
        }
        // Unlocked before `Drop` takes the lock to release the place.
        drop(s);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.state().in_flight -= 1;
        self.limiter.changed.notify_waiters();
    }
}

/// Parses `Rate-Limit-Reset`: an ISO-8601 UTC instant as Exchange sends it
/// (`2024-05-22T16:52:26.365Z`) or delta seconds (the IETF draft's form),
/// as the time left from `now_unix` (seconds since the epoch). Anything
/// else, or an instant in the past, gives `None`/zero; at most one hour, so
/// a wrong clock cannot stall a run.
pub(crate) fn parse_reset(value: &str, now_unix: f64) -> Option<Duration> {
    let v = value.trim();
    let secs = if let Ok(delta) = v.parse::<f64>() { delta } else { iso_unix(v)? - now_unix };
    if !secs.is_finite() {
        return None;
    }
    Some(Duration::from_secs_f64(secs.clamp(0.0, 3600.0)))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` as Unix seconds.
fn iso_unix(text: &str) -> Option<f64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let ymd: Vec<u32> = date.split('-').map(str::parse).collect::<Result<_, _>>().ok()?;
    let [year, month, day] = ymd.as_slice() else { return None };
    let (clock, frac) = time.split_once('.').unwrap_or((time, "0"));
    let hms: Vec<u32> = clock.split(':').map(str::parse).collect::<Result<_, _>>().ok()?;
    let [hour, minute, second] = hms.as_slice() else { return None };
    if !(1970..=9999).contains(year)
        || !(1..=12).contains(month)
        || !(1..=31).contains(day)
        || *hour > 23
        || *minute > 59
        || *second > 60
    {
        return None;
    }
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    let days = crate::retry::days_from_civil(i64::from(*year), *month, *day);
    #[allow(clippy::cast_precision_loss)]
    let whole = (days * 86_400 + i64::from(hour * 3600 + minute * 60 + second)) as f64;
    Some(whole + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_within_bounds() {
        assert_eq!(Aimd::new(4, 16).limit(), 4);
        assert_eq!(Aimd::new(4, 2).limit(), 2, "the ceiling wins");
        assert_eq!(Aimd::new(0, 8).limit(), 1, "never below one");
        assert_eq!(Aimd::new(4, 0).ceiling(), 1);
    }

    #[test]
    fn grows_by_one_per_round_of_successes_up_to_the_ceiling() {
        let mut a = Aimd::new(2, 4);
        assert_eq!(a.on_signal(Signal::Success, 0), None);
        assert_eq!(a.on_signal(Signal::Success, 0), Some(3), "2 successes at limit 2");
        for _ in 0..2 {
            assert_eq!(a.on_signal(Signal::Success, 0), None);
        }
        assert_eq!(a.on_signal(Signal::Success, 0), Some(4), "3 more at limit 3");
        for _ in 0..100 {
            assert_eq!(a.on_signal(Signal::Success, 0), None);
        }
        assert_eq!(a.limit(), 4, "capped by the ceiling");
    }

    #[test]
    fn halves_once_per_round_on_throttling() {
        let mut a = Aimd::new(16, 16);
        let e = a.epoch();
        assert_eq!(a.on_signal(Signal::Throttled, e), Some(8));
        // The other calls of the same round come back throttled too: no
        // further cut for them.
        for _ in 0..7 {
            assert_eq!(a.on_signal(Signal::Throttled, e), None);
        }
        assert_eq!(a.limit(), 8);
        // A call sent under the new limit that is throttled cuts again.
        let e = a.epoch();
        assert_eq!(a.on_signal(Signal::Throttled, e), Some(4));
        let e = a.epoch();
        assert_eq!(a.on_signal(Signal::Throttled, e), Some(2));
        let e = a.epoch();
        assert_eq!(a.on_signal(Signal::Throttled, e), Some(1));
        let e = a.epoch();
        assert_eq!(a.on_signal(Signal::Throttled, e), None, "never below one");
        assert_eq!(a.limit(), 1);
        // And grows back additively.
        assert_eq!(a.on_signal(Signal::Success, a.epoch()), Some(2));
    }

    #[test]
    fn a_throttle_resets_the_success_count() {
        let mut a = Aimd::new(4, 8);
        for _ in 0..3 {
            a.on_signal(Signal::Success, 0);
        }
        a.on_signal(Signal::Throttled, 0);
        assert_eq!(a.limit(), 2);
        assert_eq!(a.on_signal(Signal::Success, 1), None, "one success is not a round at 2");
        assert_eq!(a.on_signal(Signal::Success, 1), Some(3));
    }

    #[test]
    fn retry_after_pauses_new_calls() {
        let t0 = Instant::now();
        let mut a = Aimd::new(4, 4);
        assert!(a.admits(0, t0));
        assert!(!a.admits(4, t0), "full");
        a.pause(t0, Duration::from_secs(2));
        assert_eq!(a.wait(t0), Some(Duration::from_secs(2)));
        assert!(!a.admits(0, t0 + Duration::from_secs(1)));
        assert_eq!(a.wait(t0 + Duration::from_secs(1)), Some(Duration::from_secs(1)));
        // A shorter pause does not shorten a longer one.
        a.pause(t0, Duration::from_secs(1));
        assert_eq!(a.wait(t0), Some(Duration::from_secs(2)));
        assert!(a.admits(0, t0 + Duration::from_secs(2)));
        assert_eq!(a.wait(t0 + Duration::from_secs(3)), None);
    }

    #[test]
    fn rate_limit_headers_cap_growth_and_pause_at_zero() {
        let t0 = Instant::now();
        let mut a = Aimd::new(4, 16);
        a.on_rate_limit(t0, 3, Some(Duration::from_secs(30)));
        for _ in 0..20 {
            assert_eq!(a.on_signal(Signal::Success, 0), None, "3 left: no growth past 4");
        }
        assert_eq!(a.wait(t0), None, "not exhausted yet");
        a.on_rate_limit(t0, 0, Some(Duration::from_secs(30)));
        assert_eq!(a.wait(t0), Some(Duration::from_secs(30)));
        a.on_rate_limit(t0, 29_000, None);
        assert_eq!(a.on_signal(Signal::Success, 0), None);
        for _ in 0..3 {
            a.on_signal(Signal::Success, 0);
        }
        assert_eq!(a.limit(), 5, "a refilled budget lets it grow again");
    }

    #[test]
    fn reset_header_forms() {
        // 2024-05-22T16:52:26.365Z is 1716396746.365.
        let now = 1_716_396_736.365;
        let d = parse_reset("2024-05-22T16:52:26.365Z", now).unwrap();
        assert!((d.as_secs_f64() - 10.0).abs() < 1e-3, "{d:?}");
        assert_eq!(parse_reset("2024-05-22T16:52:00Z", now), Some(Duration::ZERO), "past");
        assert_eq!(parse_reset("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_reset("99999999", now), Some(Duration::from_secs(3600)), "capped");
        assert_eq!(parse_reset("-3", now), Some(Duration::ZERO));
        for bad in ["soon", "2024-13-01T00:00:00Z", "2024-05-22 16:52:26Z", "NaN", "2024-05-22T16:52:26"] {
            assert_eq!(parse_reset(bad, now), None, "{bad}");
        }
    }
}
