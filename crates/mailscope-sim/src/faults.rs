//! Fault injection: latency, throttling, server errors, connection resets,
//! a forced page size, and "fail the Nth mutating call from now".
//!
//! Rates draw from a seeded `SplitMix64` stream, so a test that sets `seed`
//! gets the same sequence of faults on every run (given the same call order).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Fault knobs. Settable in `SimConfig.faults` and at runtime by `POST /_sim/faults`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Delay added to every token, `InvokeCommand` and Graph call, in milliseconds.
    pub latency_ms: u64,
    /// Fraction (0..=1) of InvokeCommand/Graph calls answered 429.
    pub throttle_rate: f64,
    /// `Retry-After` seconds on injected 429s.
    pub retry_after_secs: u64,
    /// Fraction (0..=1) of InvokeCommand/Graph calls answered with `server_error_status`.
    pub server_error_rate: f64,
    /// Status of injected server errors (500, 503 or 504).
    pub server_error_status: u16,
    /// Fraction (0..=1) of InvokeCommand/Graph calls whose TCP connection is reset without a response.
    pub reset_rate: f64,
    /// Fraction (0..=1) of `InvokeCommand`/Graph calls answered 401 with a CAE
    /// `claims` challenge (docs/exchange.md, "Admin API wire format"): the client must get a new token.
    pub claims_challenge_rate: f64,
    /// Forces `InvokeCommand` pages to at most this many objects, whatever `Prefer` asks.
    pub page_size: Option<usize>,
    /// Fails one upcoming mutating `InvokeCommand`.
    pub fail_nth_mutation: Option<FailNth>,
    /// The next this many `@odata.nextLink` continuations answer as expired
    /// links do (docs/exchange.md, "Paging"), however young they are.
    pub expire_page_links: u32,
    /// Concurrency budget: an `InvokeCommand` that arrives while this many
    /// are already being served is answered 429 with `Retry-After:
    /// retry_after_secs`, as Exchange throttles app-only callers by
    /// concurrency (`X-Concurrencycount`). `None` (default): no budget.
    pub max_concurrent_calls: Option<usize>,
    /// Seed of the random stream behind the rates.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            throttle_rate: 0.0,
            retry_after_secs: 1,
            server_error_rate: 0.0,
            server_error_status: 503,
            reset_rate: 0.0,
            claims_challenge_rate: 0.0,
            page_size: None,
            fail_nth_mutation: None,
            expire_page_links: 0,
            max_concurrent_calls: None,
            seed: 0,
        }
    }
}

/// "Fail the Nth mutating `InvokeCommand` from now" (`n = 1` is the next one).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailNth {
    /// 1-based index among the mutating calls that follow.
    pub n: u64,
    /// What the failing call gets.
    pub kind: FailKind,
    /// Whether the call's change is applied before failing.
    #[serde(default)]
    pub when: FailWhen,
}

/// How an injected mutation failure looks to the client.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum FailKind {
    /// Abrupt TCP reset, no response.
    #[serde(rename = "reset")]
    Reset,
    /// HTTP 500 with an `InvokeCommand` error body.
    #[serde(rename = "500")]
    Status500,
    /// HTTP 503 with an `InvokeCommand` error body.
    #[serde(rename = "503")]
    Status503,
}

/// Whether an injected mutation failure happens before or after the change commits.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum FailWhen {
    /// The change is not applied (default).
    #[default]
    Before,
    /// The change is applied and persisted, then the response is lost.
    After,
}

/// What the injector decided for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// Reset the connection.
    Reset,
    /// Answer with this 5xx.
    Status(u16),
    /// Answer 429 with this `Retry-After`.
    Throttle(u64),
    /// Answer 401 with a `claims` challenge.
    ClaimsChallenge,
}

#[derive(Debug)]
struct FaultState {
    config: FaultConfig,
    rng: u64,
    /// Mutating calls left before the armed failure fires.
    countdown: Option<u64>,
}

/// Runtime fault injector.
#[derive(Debug)]
pub(crate) struct Faults {
    state: Mutex<FaultState>,
    /// `InvokeCommand` calls being served (for `max_concurrent_calls`).
    in_flight: AtomicUsize,
}

/// One `InvokeCommand` being served; leaves the concurrency count when dropped.
#[must_use]
pub(crate) struct CallSlot<'a>(&'a AtomicUsize);

impl Drop for CallSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let f = Self {
            state: Mutex::new(FaultState { rng: 0, countdown: None, config: FaultConfig::default() }),
            in_flight: AtomicUsize::new(0),
        };
        f.set(config);
        f
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the configuration, re-seeds the stream and re-arms `fail_nth_mutation`.
    pub(crate) fn set(&self, config: FaultConfig) {
        let mut s = self.lock();
        s.rng = config.seed;
        s.countdown = config.fail_nth_mutation.as_ref().map(|f| f.n.max(1));
        s.config = config;
    }

    /// The current configuration (with `fail_nth_mutation` cleared once it fired).
    pub(crate) fn get(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    /// Sleeps for the configured latency.
    pub(crate) async fn latency(&self) {
        let ms = self.lock().config.latency_ms;
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    /// Enters one `InvokeCommand` into the concurrency count, or, when the
    /// budget is spent, the 429 to answer instead (the call is then not
    /// counted).
    pub(crate) fn enter_call(&self) -> Result<CallSlot<'_>, Injected> {
        let (budget, retry_after) = {
            let s = self.lock();
            (s.config.max_concurrent_calls, s.config.retry_after_secs)
        };
        let before = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let slot = CallSlot(&self.in_flight);
        match budget {
            Some(max) if before >= max => Err(Injected::Throttle(retry_after)),
            _ => Ok(slot),
        }
    }

    /// Forced page size, if any.
    pub(crate) fn page_size(&self) -> Option<usize> {
        self.lock().config.page_size
    }

    /// Called once per valid nextLink continuation: whether an armed
    /// `expire_page_links` takes it (counting down).
    pub(crate) fn take_page_link_expiry(&self) -> bool {
        let mut s = self.lock();
        if s.config.expire_page_links == 0 {
            return false;
        }
        s.config.expire_page_links -= 1;
        true
    }

    /// Draws the rate-based faults for one API call.
    pub(crate) fn draw(&self) -> Option<Injected> {
        let mut s = self.lock();
        let c = s.config.clone();
        if c.reset_rate <= 0.0
            && c.server_error_rate <= 0.0
            && c.throttle_rate <= 0.0
            && c.claims_challenge_rate <= 0.0
        {
            return None;
        }
        let mut roll = |rate: f64| rate > 0.0 && next_unit(&mut s.rng) < rate;
        if roll(c.reset_rate) {
            return Some(Injected::Reset);
        }
        if roll(c.server_error_rate) {
            return Some(Injected::Status(c.server_error_status));
        }
        if roll(c.throttle_rate) {
            return Some(Injected::Throttle(c.retry_after_secs));
        }
        if roll(c.claims_challenge_rate) {
            return Some(Injected::ClaimsChallenge);
        }
        None
    }

    /// Called once per mutating `InvokeCommand`: returns the armed failure when this is the Nth call.
    pub(crate) fn on_mutation(&self) -> Option<FailNth> {
        let mut s = self.lock();
        let left = s.countdown?;
        if left > 1 {
            s.countdown = Some(left - 1);
            return None;
        }
        s.countdown = None;
        s.config.fail_nth_mutation.take()
    }
}

/// `SplitMix64` step mapped to [0, 1).
fn next_unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    #[allow(clippy::cast_precision_loss)]
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_deterministic_and_roughly_right() {
        let cfg = FaultConfig { throttle_rate: 0.25, seed: 42, ..FaultConfig::default() };
        let a = Faults::new(cfg.clone());
        let b = Faults::new(cfg);
        let seq_a: Vec<_> = (0..1000).map(|_| a.draw()).collect();
        let seq_b: Vec<_> = (0..1000).map(|_| b.draw()).collect();
        assert_eq!(seq_a, seq_b);
        let hits = seq_a.iter().filter(|d| d.is_some()).count();
        assert!((200..300).contains(&hits), "{hits}");
    }

    #[test]
    fn the_concurrency_budget_throttles_the_call_past_it() {
        let f = Faults::new(FaultConfig {
            max_concurrent_calls: Some(2),
            retry_after_secs: 3,
            ..FaultConfig::default()
        });
        let a = f.enter_call().ok().unwrap();
        let b = f.enter_call().ok().unwrap();
        assert_eq!(f.enter_call().err(), Some(Injected::Throttle(3)), "a third at once");
        assert_eq!(f.enter_call().err(), Some(Injected::Throttle(3)), "a refused call held no slot");
        drop(a);
        let c = f.enter_call().ok().unwrap();
        drop((b, c));
        let unlimited = Faults::new(FaultConfig::default());
        let slots: Vec<_> = (0..100).map(|_| unlimited.enter_call().ok().unwrap()).collect();
        assert_eq!(slots.len(), 100);
    }

    #[test]
    fn nth_mutation_fires_once() {
        let f = Faults::new(FaultConfig {
            fail_nth_mutation: Some(FailNth { n: 3, kind: FailKind::Status503, when: FailWhen::Before }),
            ..FaultConfig::default()
        });
        assert!(f.on_mutation().is_none());
        assert!(f.on_mutation().is_none());
        assert_eq!(f.on_mutation().map(|x| x.kind), Some(FailKind::Status503));
        assert!(f.on_mutation().is_none());
        assert!(f.get().fail_nth_mutation.is_none());
    }
}
