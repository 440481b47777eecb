//! Call counters served at `GET /_sim/stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Which API a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// The token endpoint.
    Token,
    /// `InvokeCommand`.
    InvokeCommand,
    /// Any Graph route.
    Graph,
}

/// What a fault injector did to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    /// 429 sent.
    Throttled,
    /// 5xx sent.
    ServerError,
    /// Connection reset.
    Reset,
    /// 401 claims challenge sent.
    ClaimsChallenge,
}

/// A snapshot of the counters (the JSON of `GET /_sim/stats`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    /// Every call counted below.
    pub total: u64,
    /// Calls per endpoint: `token`, `invokeCommand`, `graph`.
    pub endpoints: BTreeMap<String, u64>,
    /// `InvokeCommand` calls per cmdlet (canonical name; unknown names as sent).
    pub cmdlets: BTreeMap<String, u64>,
    /// Injected faults: `throttled`, `serverError`, `reset`, `claimsChallenge`.
    pub faults: BTreeMap<String, u64>,
    /// State file saves after committed writes (one per batch of writes
    /// committed together; absent without a state file).
    #[serde(skip_serializing_if = "is_zero")]
    pub state_saves: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Thread-safe counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    inner: Mutex<StatsSnapshot>,
}

impl Stats {
    /// Counts a call to `endpoint` (and the cmdlet, for `InvokeCommand`).
    pub(crate) fn count(&self, endpoint: Endpoint, cmdlet: Option<&str>) {
        let mut s = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.total += 1;
        let key = match endpoint {
            Endpoint::Token => "token",
            Endpoint::InvokeCommand => "invokeCommand",
            Endpoint::Graph => "graph",
        };
        *s.endpoints.entry(key.to_owned()).or_default() += 1;
        if let Some(c) = cmdlet {
            if let Some(v) = s.cmdlets.get_mut(c) {
                *v += 1;
            } else {
                s.cmdlets.insert(c.to_owned(), 1);
            }
        }
    }

    /// Counts the cmdlet of an `InvokeCommand` call already counted by [`Stats::count`].
    pub(crate) fn count_cmdlet(&self, cmdlet: &str) {
        let mut s = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = s.cmdlets.get_mut(cmdlet) {
            *v += 1;
        } else {
            s.cmdlets.insert(cmdlet.to_owned(), 1);
        }
    }

    /// Counts an injected fault.
    pub(crate) fn fault(&self, kind: FaultKind) {
        let key = match kind {
            FaultKind::Throttled => "throttled",
            FaultKind::ServerError => "serverError",
            FaultKind::Reset => "reset",
            FaultKind::ClaimsChallenge => "claimsChallenge",
        };
        let mut s = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *s.faults.entry(key.to_owned()).or_default() += 1;
    }

    /// Counts a save of the state file.
    pub(crate) fn state_saved(&self) {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).state_saves += 1;
    }

    /// The current counters.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Zeroes everything.
    pub(crate) fn reset(&self) {
        *self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = StatsSnapshot::default();
    }
}
