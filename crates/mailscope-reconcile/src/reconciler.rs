//! The loop itself: one [`Reconciler`] per desired file and tenant.

use mailscope_applier::{ApplyOptions, CancelToken, JournalWriter};
use mailscope_planner::Plan;
use mailscope_spec::DesiredState;
use tokio::time::Instant;

use crate::observer::{Event, Notification, Observer, Outcome, Stage};
use crate::options::{Options, mass_change};
use crate::source::{Desired, Session, Source};

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Runs made.
    pub runs: u64,
    /// How the last one ended (`None` when cancelled before the first).
    pub last: Option<Outcome>,
    /// Whether cancellation stopped the loop.
    pub cancelled: bool,
}

/// The drift loop's state across runs.
///
/// It remembers the last good desired file (an unreadable, invalid or empty
/// file is reported and never acted upon: emptying the file by mistake must
/// not lock every app down) and what was last notified (a steady drift or a
/// repeated failure is notified once, not every run).
pub struct Reconciler<S, O> {
    source: S,
    observer: O,
    options: Options,
    cancel: CancelToken,
    last_good: Option<Desired>,
    last_notified: Option<String>,
    run: u64,
}

impl<S: Source, O: Observer> Reconciler<S, O> {
    /// A loop that has not run yet. `cancel` stops it: a wait between runs
    /// ends at once, a correction in flight starts no new step.
    pub fn new(source: S, observer: O, options: Options, cancel: CancelToken) -> Self {
        Self { source, observer, options, cancel, last_good: None, last_notified: None, run: 0 }
    }

    /// The observer (e.g. to flush it or read what it gathered).
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, mutably (e.g. to write a last line after the loop).
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// The desired file in force, if any was ever accepted.
    pub fn last_good(&self) -> Option<&Desired> {
        self.last_good.as_ref()
    }

    /// Runs until cancelled or `max_runs` is reached. A run starts every
    /// `interval` (measured from start to start); a failing run is reported
    /// and the next run tries again from scratch.
    pub async fn run(&mut self) -> Finished {
        let mut last = None;
        while !self.cancel.is_cancelled() {
            let started = Instant::now();
            let outcome = self.run_once().await;
            last = Some(outcome);
            if self.cancel.is_cancelled() || self.options.max_runs.is_some_and(|n| self.run >= n) {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep_until(started + self.options.interval) => {}
                () = self.cancel.cancelled() => {}
            }
        }
        Finished { runs: self.run, last, cancelled: self.cancel.is_cancelled() }
    }

    /// One run: re-read the file, read the tenant, plan, report, and correct
    /// if asked. Ends with [`Event::RunFinished`].
    pub async fn run_once(&mut self) -> Outcome {
        self.run += 1;
        let started = Instant::now();
        let outcome = self.run_inner().await;
        self.observer.event(&Event::RunFinished { run: self.run, outcome, elapsed: started.elapsed() });
        outcome
    }

    async fn run_inner(&mut self) -> Outcome {
        self.reload().await;
        let Some(desired) = self.last_good.as_ref().map(|d| d.state.clone()) else {
            return Outcome::Error;
        };
        let mut session = match self.source.connect(&desired).await {
            Ok(s) => s,
            Err(err) => {
                self.error(Stage::Connect, &err.to_string()).await;
                return Outcome::Error;
            }
        };
        let outcome = self.with_session(&mut session, &desired).await;
        session.close().await;
        outcome
    }

    /// Re-reads the desired file; an invalid or empty one keeps the last good.
    async fn reload(&mut self) {
        let read = self.source.read_desired().await.map_err(|e| e.to_string()).and_then(|d| {
            if d.state.apps.is_empty() {
                Err(format!(
                    "{} lists no app: refusing to act on it (an emptied file would lock every app down)",
                    d.origin
                ))
            } else {
                Ok(d)
            }
        });
        match read {
            Ok(desired) => {
                let changed = self.last_good.as_ref().is_none_or(|g| g.sha256 != desired.sha256);
                self.observer.event(&Event::DesiredAccepted {
                    run: self.run,
                    origin: &desired.origin,
                    sha256: &desired.sha256,
                    apps: desired.state.apps.len(),
                    changed,
                });
                self.last_good = Some(desired);
            }
            Err(error) => {
                self.observer.event(&Event::DesiredRejected {
                    run: self.run,
                    error: &error,
                    keeping: self.last_good.as_ref().map(|g| g.sha256.as_str()),
                });
                self.error(Stage::Desired, &error).await;
            }
        }
    }

    async fn with_session(&mut self, session: &mut S::Session, desired: &DesiredState) -> Outcome {
        let planned = match session.read_live(desired).await {
            Ok(live) => mailscope_planner::plan(desired, &live, &self.options.planning)
                .map(|plan| (plan, mailscope_planner::drift_exposures(desired, &live)))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let (plan, exposures) = match planned {
            Ok(p) => p,
            Err(err) => {
                self.error(Stage::Plan, &err).await;
                return Outcome::Error;
            }
        };
        let tenant = session.label().to_owned();
        if plan.is_empty() {
            self.observer.event(&Event::InSync { run: self.run, tenant: &tenant, plan: &plan });
            self.last_notified = None;
            return Outcome::InSync;
        }
        self.observer.event(&Event::Drift {
            run: self.run,
            tenant: &tenant,
            plan: &plan,
            exposures: &exposures,
        });
        let key = format!("drift:{}", serde_json::to_string(&plan.steps).unwrap_or_default());
        self.notify(&Notification::Drift { tenant: &tenant, plan: &plan, exposures: &exposures }, Some(key))
            .await;
        if !self.options.correct {
            return Outcome::Drift;
        }
        if !self.options.allow_mass_change
            && let Some(refusal) = mass_change(&plan)
        {
            let reason = refusal.to_string();
            self.observer.event(&Event::CorrectionRefused { run: self.run, reason: &reason });
            self.error(Stage::Guard, &reason).await;
            return Outcome::Error;
        }
        let (to_apply, skipped) =
            if self.options.allow_widening { (plan.clone(), Vec::new()) } else { plan.without_widening() };
        if !skipped.is_empty() {
            self.observer.event(&Event::CorrectionSkipped { run: self.run, apps: &skipped });
        }
        if to_apply.is_empty() || self.cancel.is_cancelled() {
            return Outcome::Drift;
        }
        self.correct(session, &tenant, &to_apply, skipped.is_empty()).await
    }

    async fn correct(
        &mut self,
        session: &S::Session,
        tenant: &str,
        plan: &Plan,
        complete_plan: bool,
    ) -> Outcome {
        let journal_path = self.options.journal.clone();
        self.observer.event(&Event::Correcting {
            run: self.run,
            steps: plan.steps.len(),
            journal: journal_path.as_deref(),
        });
        let journal = match journal_path.as_deref().map(JournalWriter::open).transpose() {
            Ok(j) => j,
            Err(err) => {
                let path = journal_path.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
                self.error(Stage::Journal, &format!("cannot open the journal {path}: {err}")).await;
                return Outcome::Error;
            }
        };
        let options = ApplyOptions {
            concurrency: self.options.concurrency.max(1),
            journal,
            progress: None,
            cancel: self.cancel.clone(),
        };
        let report = mailscope_applier::apply(plan, session.tenant(), options).await;
        let run = self.run;
        if report.is_complete() {
            self.observer.event(&Event::Corrected { run, report: &report });
            self.notify(&Notification::Corrected { tenant, report: &report }, None).await;
            return if complete_plan { Outcome::Corrected } else { Outcome::Drift };
        }
        if report.was_cancelled() {
            self.observer.event(&Event::CorrectionInterrupted { run, report: &report });
            return Outcome::Drift;
        }
        self.observer.event(&Event::CorrectionFailed { run, report: &report });
        self.notify(&Notification::CorrectionFailed { tenant, report: &report }, None).await;
        Outcome::Error
    }

    async fn error(&mut self, stage: Stage, error: &str) {
        self.observer.event(&Event::Error { run: self.run, stage, error });
        let key = format!("error:{}:{error}", stage.as_str());
        self.notify(&Notification::Failure { stage, error }, Some(key)).await;
    }

    /// Sends `note` unless `dedupe` equals the key of the last deduplicated
    /// notification (notifications without a key always go out).
    async fn notify(&mut self, note: &Notification<'_>, dedupe: Option<String>) {
        if let Some(key) = dedupe {
            if self.last_notified.as_ref() == Some(&key) {
                return;
            }
            self.last_notified = Some(key);
        }
        if let Err(e) = self.observer.notify(self.run, note).await {
            let error = e.to_string();
            self.observer.event(&Event::NotifyFailed { run: self.run, kind: note.kind(), error: &error });
        }
    }
}

impl<S, O> std::fmt::Debug for Reconciler<S, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("options", &self.options)
            .field("run", &self.run)
            .field("last_good", &self.last_good.as_ref().map(|d| &d.sha256))
            .finish_non_exhaustive()
    }
}
