//! What the loop tells the outside world: events (for a log and metrics)
//! and notifications (for a webhook).
//!
//! Events are typed and borrow the loop's data, so an observer derives what
//! it needs (a JSON line, a gauge) without the library choosing a format.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use mailscope_applier::ApplyReport;
use mailscope_planner::{AppChange, DriftExposure, Plan};

/// Which part of a run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Reading or parsing the desired file, or it listing no app.
    Desired,
    /// Connecting to the tenant.
    Connect,
    /// Reading the live state or planning.
    Plan,
    /// The mass-change guard refused the correction.
    Guard,
    /// Opening the journal of a correction.
    Journal,
}

impl Stage {
    /// A stable lower-case name (`desired`, `connect`, `plan`, `guard`,
    /// `journal`), for logs and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Desired => "desired",
            Stage::Connect => "connect",
            Stage::Plan => "plan",
            Stage::Guard => "guard",
            Stage::Journal => "journal",
        }
    }
}

/// How one run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The tenant matched the desired state.
    InSync,
    /// Drift found and left (report only, refused, skipped in part, or
    /// interrupted).
    Drift,
    /// Drift found and fully corrected.
    Corrected,
    /// Something failed; see the run's [`Event::Error`].
    Error,
}

impl Outcome {
    /// A stable name: `in_sync`, `drift`, `corrected`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InSync => "in_sync",
            Outcome::Drift => "drift",
            Outcome::Corrected => "corrected",
            Outcome::Error => "error",
        }
    }
}

/// Something that happened in run `run` (1-based). Variants come in the
/// order a run produces them.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The desired file was read and accepted (at every run, so a gauge of
    /// "the file is valid" can follow it).
    DesiredAccepted {
        /// The run.
        run: u64,
        /// The file's name.
        origin: &'a str,
        /// Its SHA-256.
        sha256: &'a str,
        /// Apps listed.
        apps: usize,
        /// False when it is byte-identical to the last good file.
        changed: bool,
    },
    /// The desired file was unreadable, invalid or listed no app; the last
    /// good one (if any) stays in force. An [`Event::Error`] follows.
    DesiredRejected {
        /// The run.
        run: u64,
        /// Why.
        error: &'a str,
        /// SHA-256 of the file still in force, if one was ever read.
        keeping: Option<&'a str>,
    },
    /// A stage failed; the run ends as [`Outcome::Error`] (except a
    /// rejected file with a last good one, which the run goes on with).
    Error {
        /// The run.
        run: u64,
        /// Where.
        stage: Stage,
        /// What went wrong.
        error: &'a str,
    },
    /// The plan is empty.
    InSync {
        /// The run.
        run: u64,
        /// The tenant's label.
        tenant: &'a str,
        /// The (empty) plan.
        plan: &'a Plan,
    },
    /// The plan is not empty.
    Drift {
        /// The run.
        run: u64,
        /// The tenant's label.
        tenant: &'a str,
        /// What correcting takes.
        plan: &'a Plan,
        /// Apps that reach, live, mailboxes the file does not allow them
        /// (`mailscope_planner::drift_exposures`): the drift that matters
        /// most, named so an alert can say which app and which mailboxes.
        exposures: &'a [DriftExposure],
    },
    /// The mass-change guard refused to correct.
    CorrectionRefused {
        /// The run.
        run: u64,
        /// Why.
        reason: &'a str,
    },
    /// Apps left uncorrected because correcting them widens access and
    /// widening was not allowed.
    CorrectionSkipped {
        /// The run.
        run: u64,
        /// Their names.
        apps: &'a [String],
    },
    /// A correction starts.
    Correcting {
        /// The run.
        run: u64,
        /// Steps to apply.
        steps: usize,
        /// Where it is journaled.
        journal: Option<&'a Path>,
    },
    /// The correction applied every step.
    Corrected {
        /// The run.
        run: u64,
        /// The applier's report.
        report: &'a ApplyReport,
    },
    /// Cancellation stopped the correction; steps in flight finished.
    CorrectionInterrupted {
        /// The run.
        run: u64,
        /// The applier's report.
        report: &'a ApplyReport,
    },
    /// A step failed (or the journal did); the rest was not started.
    CorrectionFailed {
        /// The run.
        run: u64,
        /// The applier's report.
        report: &'a ApplyReport,
    },
    /// [`Observer::notify`] failed.
    NotifyFailed {
        /// The run.
        run: u64,
        /// The notification's kind ([`Notification::kind`]).
        kind: &'a str,
        /// Why.
        error: &'a str,
    },
    /// The run ended.
    RunFinished {
        /// The run.
        run: u64,
        /// How.
        outcome: Outcome,
        /// How long it took.
        elapsed: Duration,
    },
}

/// Something worth a message to a person. The loop sends each distinct
/// drift or failure once: the same state seen again at the next run is not
/// notified again, a different one is, and a run in sync clears the memory.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Notification<'a> {
    /// Drift was found.
    Drift {
        /// The tenant's label.
        tenant: &'a str,
        /// What correcting takes.
        plan: &'a Plan,
        /// Apps reaching mailboxes they should not (see [`Event::Drift`]).
        exposures: &'a [DriftExposure],
    },
    /// A correction completed.
    Corrected {
        /// The tenant's label.
        tenant: &'a str,
        /// The applier's report.
        report: &'a ApplyReport,
    },
    /// A stage failed.
    Failure {
        /// Where.
        stage: Stage,
        /// What went wrong.
        error: &'a str,
    },
    /// A correction failed.
    CorrectionFailed {
        /// The tenant's label.
        tenant: &'a str,
        /// The applier's report.
        report: &'a ApplyReport,
    },
}

impl Notification<'_> {
    /// `drift`, `correction` or `failure`.
    pub fn kind(&self) -> &'static str {
        match self {
            Notification::Drift { .. } => "drift",
            Notification::Corrected { .. } => "correction",
            Notification::Failure { .. } | Notification::CorrectionFailed { .. } => "failure",
        }
    }
}

/// A notification that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    message: String,
}

impl NotifyError {
    /// An error with this message (e.g. `HTTP 500`).
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// Receives what the loop does. The `mailscope` CLI writes a JSON-lines
/// event log, updates its Prometheus metrics and posts to a webhook.
pub trait Observer {
    /// One event; called from the loop's task, so keep it quick.
    fn event(&mut self, event: &Event<'_>);

    /// Delivers a notification of run `run`. A failure is reported as
    /// [`Event::NotifyFailed`] and not retried.
    fn notify(&mut self, run: u64, note: &Notification<'_>) -> impl Future<Output = Result<(), NotifyError>>;
}

/// The apps of `plan` that change (every app but the unchanged ones).
pub fn drifted_app_count(plan: &Plan) -> usize {
    plan.apps.iter().filter(|a| a.change != AppChange::Unchanged).count()
}
