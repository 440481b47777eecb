//! The scheduler: runs a plan's steps through a [`Tenant`] in the planner's
//! safe order, concurrently where the waves allow, stopping on the first
//! failure.

use std::collections::{BTreeMap, HashMap};
use std::future::poll_fn;
use std::task::Poll;
use std::time::{Duration, Instant};

use mailscope_planner::{Plan, Step};
use serde_json::json;

use crate::journal::JournalWriter;
use crate::report::{ApplyReport, StepStatus, StopReason, describe};
use crate::tenant::{StepFuture, StepOutcome, Tenant, execute};

/// Default ceiling of steps in flight (`--concurrency`). Exchange Online
/// throttles per tenant and app by an unpublished budget, so the number
/// actually in flight is the tenant's adaptive limit
/// ([`Tenant::concurrency_limit`]: an [`mailscope_exo::Session`] starts at
/// [`mailscope_exo::DEFAULT_INITIAL_CONCURRENCY`], grows while calls succeed
/// and halves on 429s); this is only how far it may grow. It equals the
/// session's own default ceiling, so neither caps the other by surprise.
pub const DEFAULT_CONCURRENCY: usize = mailscope_exo::DEFAULT_MAX_CONCURRENCY;

/// A cancellation signal shared between the caller (e.g. a SIGTERM handler)
/// and [`apply`]. Cancelling stops new steps from starting; steps in flight
/// finish and are recorded. Cheap to clone; clones share the signal.
///
/// It is also awaitable ([`CancelToken::cancelled`]), so one token serves a
/// scheduler that polls it between steps and a loop that sleeps until its
/// next run (`mailscope-reconcile`): a signal wakes the sleeper at once
/// instead of at the end of its interval. It wraps
/// [`tokio_util::sync::CancellationToken`] rather than pairing a flag with a
/// separate notifier, which could be cancelled without being woken.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(tokio_util::sync::CancellationToken);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop starting steps and wakes every task waiting in
    /// [`CancelToken::cancelled`]. Idempotent.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Completes when [`CancelToken::cancel`] is called (at once if it
    /// already was). Cancel-safe: dropping the future loses nothing.
    pub async fn cancelled(&self) {
        self.0.cancelled().await;
    }
}

/// A per-step event for progress display.
#[derive(Debug, Clone, Copy)]
pub enum ProgressEvent<'a> {
    /// The step's call is about to be sent.
    Started {
        /// The step.
        step: &'a Step,
    },
    /// The step ended.
    Finished {
        /// The step.
        step: &'a Step,
        /// How it ended (never [`StepStatus::NotStarted`]).
        status: &'a StepStatus,
        /// Wall time of the call.
        duration: Duration,
    },
    /// The run stopped before the step's turn.
    Skipped {
        /// The step.
        step: &'a Step,
    },
}

/// Receives [`ProgressEvent`]s, in the order the journal records them.
/// Called from the applying task: keep it quick (update a bar, print a line).
pub trait Progress: Send + Sync {
    /// One event.
    fn event(&self, event: &ProgressEvent<'_>);
}

impl<F: Fn(&ProgressEvent<'_>) + Send + Sync> Progress for F {
    fn event(&self, event: &ProgressEvent<'_>) {
        self(event);
    }
}

/// Knobs of [`apply`].
pub struct ApplyOptions {
    /// Most steps in flight at once (a ceiling: the tenant's adaptive limit,
    /// when it has one, decides below it); 0 is treated as 1. With 1, steps
    /// run one by one in plan order.
    pub concurrency: usize,
    /// Where to journal every event, if anywhere.
    pub journal: Option<JournalWriter>,
    /// Per-step callback.
    pub progress: Option<Box<dyn Progress>>,
    /// Stops new steps from starting when cancelled.
    pub cancel: CancelToken,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self { concurrency: DEFAULT_CONCURRENCY, journal: None, progress: None, cancel: CancelToken::new() }
    }
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("concurrency", &self.concurrency)
            .field("journal", &self.journal)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// One call in flight.
struct InFlight<'a> {
    pos: usize,
    started: Instant,
    future: StepFuture<'a>,
}

/// The run's journal and progress sinks, with the rule that a journal
/// failure stops the run.
struct Recorder {
    run_id: String,
    journal: Option<JournalWriter>,
    journal_error: Option<String>,
    progress: Option<Box<dyn Progress>>,
}

impl Recorder {
    fn write(&mut self, event: &str, fields: serde_json::Value) -> bool {
        let Some(j) = self.journal.as_mut() else { return self.journal_error.is_none() };
        match j.write_event(&self.run_id, event, fields) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "journal write failed; no further step starts");
                self.journal_error = Some(e.to_string());
                // Nothing further is written: a partial journal must not look
                // like one that merely ended early.
                self.journal = None;
                false
            }
        }
    }

    fn step(&mut self, step: &Step, outcome: &str, extra: serde_json::Value) -> bool {
        let mut fields = json!({
            "step": step.index,
            "app": step.app,
            "app_id": step.app_id,
            "wave": step.wave,
            "action": step.action,
            "effect": step.effect,
            "outcome": outcome,
        });
        if let (Some(obj), serde_json::Value::Object(extra)) = (fields.as_object_mut(), extra) {
            obj.extend(extra);
        }
        self.write("step", fields)
    }

    fn progress(&self, event: &ProgressEvent<'_>) {
        if let Some(p) = &self.progress {
            p.event(event);
        }
    }
}

/// Runs `plan` against `tenant` and reports every step's fate.
///
/// Order: steps of one app run wave by wave (every step of wave *w* has
/// finished before any of its waves after *w* starts); steps of one wave of
/// one app, and steps of different apps, run concurrently, at most
/// `options.concurrency` at a time. Among the steps allowed to start, the
/// lowest plan index starts first, so with concurrency 1 the execution order
/// is exactly the plan order.
///
/// Stopping: after the first failed step, after cancellation, or after a
/// journal write fails, no further step starts; the steps in flight are
/// awaited and recorded, and the rest are reported (and journaled) as not
/// started. The function itself never fails: everything is in the report.
pub async fn apply<T: Tenant>(plan: &Plan, tenant: &T, options: ApplyOptions) -> ApplyReport {
    let run_started = Instant::now();
    let steps = &plan.steps;
    let concurrency = options.concurrency.max(1);
    let cancel = options.cancel;
    let mut report = ApplyReport::new(uuid::Uuid::new_v4().to_string(), steps);
    let mut rec = Recorder {
        run_id: report.run_id.clone(),
        journal: options.journal,
        journal_error: None,
        progress: options.progress,
    };
    let apps: std::collections::BTreeSet<&str> = steps.iter().map(|s| s.app_id.as_str()).collect();
    let mut stopping = !rec.write(
        "header",
        json!({
            "tool": "mailscope",
            "version": env!("CARGO_PKG_VERSION"),
            "concurrency": concurrency,
            "plan": {
                "steps": steps.len(),
                "apps": apps.len(),
                "add": plan.summary.add,
                "change": plan.summary.change,
                "destroy": plan.summary.destroy,
                "widening": plan.summary.widening,
            },
        }),
    );

    // Unfinished steps per app and wave: a step may start when its wave is
    // its app's lowest wave with unfinished steps.
    let mut unfinished: HashMap<&str, BTreeMap<u32, usize>> = HashMap::new();
    for s in steps {
        *unfinished.entry(s.app_id.as_str()).or_default().entry(s.wave).or_default() += 1;
    }
    let ready = |unfinished: &HashMap<&str, BTreeMap<u32, usize>>, s: &Step| {
        unfinished.get(s.app_id.as_str()).and_then(|w| w.keys().next()) == Some(&s.wave)
    };

    let mut waiting: Vec<usize> = (0..steps.len()).collect();
    let mut in_flight: Vec<InFlight<'_>> = Vec::new();
    let mut last_limit = concurrency;
    loop {
        // The tenant's adaptive limit, read before each refill: after a
        // throttle fewer steps start, so the queue stays here, in plan
        // order, rather than in the client's limiter.
        let limit = tenant.concurrency_limit().map_or(concurrency, |l| l.clamp(1, concurrency));
        if limit != last_limit {
            tracing::debug!(limit, ceiling = concurrency, "steps in flight adapt to the tenant's limit");
            last_limit = limit;
        }
        if !stopping && cancel.is_cancelled() {
            tracing::warn!("apply cancelled; finishing the steps in flight");
            report.stopped = Some(StopReason::Cancelled);
            stopping = true;
        }
        let mut i = 0;
        while !stopping && in_flight.len() < limit && i < waiting.len() {
            let pos = waiting[i];
            let step = &steps[pos];
            if !ready(&unfinished, step) {
                i += 1;
                continue;
            }
            if !rec.step(step, "started", json!({})) {
                stopping = true;
                break;
            }
            rec.progress(&ProgressEvent::Started { step });
            tracing::debug!(step = step.index, app = %step.app, "start: {}", describe(&step.action));
            waiting.remove(i);
            in_flight.push(InFlight { pos, started: Instant::now(), future: execute(tenant, &step.action) });
        }
        if in_flight.is_empty() {
            break;
        }

        let (slot, result) = poll_fn(|cx| {
            for (slot, f) in in_flight.iter_mut().enumerate() {
                if let Poll::Ready(r) = f.future.as_mut().poll(cx) {
                    return Poll::Ready((slot, r));
                }
            }
            Poll::Pending
        })
        .await;
        let InFlight { pos, started, .. } = in_flight.swap_remove(slot);
        let step = &steps[pos];
        let duration = started.elapsed();
        let status = match result {
            Ok(StepOutcome::Done) => StepStatus::Done,
            Ok(StepOutcome::AlreadyDone) => StepStatus::AlreadyDone,
            Err(e) => StepStatus::Failed { kind: e.kind, error: e.message, maybe_applied: e.maybe_applied },
        };
        if let Some(waves) = unfinished.get_mut(step.app_id.as_str())
            && let Some(n) = waves.get_mut(&step.wave)
        {
            *n -= 1;
            if *n == 0 {
                waves.remove(&step.wave);
            }
        }
        let mut extra = json!({ "duration_ms": duration.as_millis() });
        if let StepStatus::Failed { error, maybe_applied, .. } = &status {
            extra["error"] = json!(error);
            extra["maybe_applied"] = json!(maybe_applied);
            tracing::warn!(step = step.index, app = %step.app, %error, "step failed: {}", describe(&step.action));
            if !stopping {
                report.stopped = Some(StopReason::StepFailed { step: step.index });
                stopping = true;
            }
        } else {
            tracing::info!(step = step.index, app = %step.app, outcome = status.outcome_word(), "{}", describe(&step.action));
        }
        if !rec.step(step, status.outcome_word(), extra) {
            stopping = true;
        }
        rec.progress(&ProgressEvent::Finished { step, status: &status, duration });
        report.steps[pos].status = status;
        report.steps[pos].duration = Some(duration);
    }

    for &pos in &waiting {
        let step = &steps[pos];
        rec.step(step, "skipped", json!({}));
        rec.progress(&ProgressEvent::Skipped { step });
    }
    report.duration = run_started.elapsed();
    if let Some(error) = rec.journal_error.clone() {
        if report.stopped.is_none() && !waiting.is_empty() {
            report.stopped = Some(StopReason::Journal { error: error.clone() });
        }
        report.journal_error = Some(error);
    }
    let counts = report.counts();
    rec.write(
        "footer",
        json!({
            "complete": report.is_complete(),
            "cancelled": report.was_cancelled(),
            "duration_ms": report.duration.as_millis(),
            "counts": counts,
        }),
    );
    if let Some(j) = rec.journal.as_mut()
        && let Err(e) = j.sync()
    {
        report.journal_error = Some(e.to_string());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::CancelToken;
    use std::time::Duration;

    #[tokio::test]
    async fn cancelling_wakes_a_waiter_and_every_clone_sees_it() {
        let token = CancelToken::new();
        let waiter = {
            let token = token.clone();
            tokio::spawn(async move { token.cancelled().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "nothing cancelled yet");
        token.clone().cancel();
        tokio::time::timeout(Duration::from_secs(2), waiter).await.expect("woken").unwrap();
        assert!(token.is_cancelled());
        // Already cancelled: completes at once.
        tokio::time::timeout(Duration::from_millis(50), token.cancelled()).await.expect("at once");
    }
}
