//! `mailscope reconcile FILE --every 15m [--correct]`: the drift loop.
//!
//! The loop itself (re-read the file and the tenant, plan, report, correct
//! what does not widen, keep the last good file, notify once per state) is
//! `mailscope_reconcile::Reconciler`. This module holds what is particular
//! to the binary: the flags, SIGTERM/Ctrl-C (they cancel the loop's token:
//! the step in flight finishes, nothing new starts, exit 0), and the two
//! seams the loop is written against: [`CliSource`] reads the file and the
//! tenant, [`CliObserver`] writes the JSON-lines event log, updates the
//! Prometheus metrics and posts the webhook.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use mailscope_applier::{CancelToken, ExoTenant, LeaseKeeper};
use mailscope_planner::LiveSnapshot;
use mailscope_reconcile::{
    Desired, Event, Notification, NotifyError, Observer, Options, Outcome, Reconciler, Session, Source,
    SourceError,
};
use mailscope_spec::DesiredState;
use serde_json::json;

use crate::metrics::{self, Metrics};
use crate::notify::{Events, Webhook};
use crate::plan_cmd::PlanningArgs;
use crate::target::{self, TenantArgs};

/// Parses `30s`, `15m`, `1h`, `1h30m`, `500ms`, `1d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration: use e.g. 30s, 15m, 1h or 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let d = match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3_600),
            "d" => Duration::from_secs(n * 86_400),
            _ => return Err(bad()),
        };
        total += d;
        rest = &rest[unit..];
    }
    if total.is_zero() {
        return Err(format!("`{text}`: the interval must be more than zero"));
    }
    Ok(total)
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools, reason = "command-line switches")]
pub(crate) struct ReconcileArgs {
    /// The desired-state file (re-read at every run).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    target: TenantArgs,
    /// Time between the starts of two runs: `30s`, `15m`, `1h`, `1h30m`.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    every: Duration,
    /// Correct drift (without it the loop only reports).
    #[arg(long)]
    correct: bool,
    /// Also correct apps whose correction gives access to a mailbox they
    /// cannot reach now (otherwise those apps are reported and skipped).
    #[arg(long)]
    allow_widening: bool,
    /// Correct even when more than half of the apps (and at least 3) would
    /// be locked down or removed.
    #[arg(long)]
    allow_mass_change: bool,
    /// Serve Prometheus metrics at `http://ADDR/metrics` (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// POST a JSON payload here on drift, correction and failure.
    #[arg(long, value_name = "URL")]
    notify_url: Option<String>,
    /// Where corrections append their JSON-lines journal.
    #[arg(long, value_name = "FILE", default_value = ".mailscope/journal.jsonl")]
    journal: PathBuf,
    /// Where the JSON-lines event log goes: `-` for stdout, or a file.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    events: String,
    /// Run once and exit: 0 in sync or corrected, 2 drift left, 1 error
    /// (for a `CronJob` or a scheduled pipeline).
    #[arg(long)]
    once: bool,
    /// Stop after N runs (exit code as with `--once` for the last run).
    #[arg(long, value_name = "N")]
    max_runs: Option<u64>,
    /// Most calls in flight at once during a correction.
    #[arg(long, value_name = "N", default_value_t = mailscope_applier::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// With `--correct`, each run takes the tenant's apply lease before it
    /// reads the tenant and keeps it to the end of the run.
    #[command(flatten)]
    lock: crate::apply_cmd::LockArgs,
    #[command(flatten)]
    planning: PlanningArgs,
}

/// The desired file and the tenant, read afresh at every run.
struct CliSource<'a> {
    args: &'a ReconcileArgs,
    metrics: metrics::Shared,
    /// The loop's token: a lease lost mid-run stops the loop (no new step
    /// starts; a supervisor restarts it, and the next run re-plans).
    cancel: CancelToken,
}

impl Source for CliSource<'_> {
    type Session = CliSession;

    async fn read_desired(&mut self) -> Result<Desired, SourceError> {
        let (state, sha256) =
            crate::inputs::load_desired(&self.args.file).map_err(|e| SourceError::new(format!("{e:#}")))?;
        Ok(Desired { state, sha256, origin: self.args.file.display().to_string() })
    }

    async fn connect(&mut self, desired: &DesiredState) -> Result<CliSession, SourceError> {
        let conn = target::connect_limited(&self.args.target, Some(desired), Some(self.args.concurrency))
            .await
            .map_err(|e| SourceError::new(format!("{e:#}")))?;
        let client = target::exo_for(&conn, desired);
        // Only a correcting run writes; it holds the lease from before its
        // read to its end, so its plan cannot be made stale by another apply.
        let keeper = if self.args.correct {
            let lease = match self.args.lock.take(&client).await {
                Ok(lease) => lease,
                Err(e) => {
                    conn.close().await;
                    return Err(SourceError::new(format!("{e:#}")));
                }
            };
            lease.map(|l| LeaseKeeper::spawn(l, client.clone(), self.cancel.clone()))
        } else {
            None
        };
        let tenant = ExoTenant::new(client);
        Ok(CliSession { conn, tenant, metrics: self.metrics.clone(), keeper })
    }
}

/// One run's connection; its API call counts go to the metrics on close.
struct CliSession {
    conn: target::Connection,
    tenant: ExoTenant,
    metrics: metrics::Shared,
    /// The apply lease of a correcting run, released on close.
    keeper: Option<LeaseKeeper>,
}

impl Session for CliSession {
    type Tenant = ExoTenant;

    fn label(&self) -> &str {
        &self.conn.label
    }

    async fn read_live(&mut self, desired: &DesiredState) -> Result<LiveSnapshot, SourceError> {
        target::read_live(&self.conn, desired).await.map_err(|e| SourceError::new(format!("{e:#}")))
    }

    fn tenant(&self) -> &ExoTenant {
        &self.tenant
    }

    async fn close(self) {
        if let Some(keeper) = self.keeper
            && let Some(problem) = keeper.release().await
        {
            tracing::warn!(error = %problem, "apply lease");
        }
        {
            let calls = self.conn.session.stats().snapshot();
            let mut m = lock(&self.metrics);
            for (op, n) in calls {
                *m.api_calls.entry(op).or_default() += n;
            }
        }
        self.conn.close().await;
    }
}

fn lock(metrics: &metrics::Shared) -> std::sync::MutexGuard<'_, Metrics> {
    metrics.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The event log, the metrics and the webhook.
struct CliObserver {
    events: Events,
    metrics: metrics::Shared,
    webhook: Option<Webhook>,
    file: String,
}

impl Observer for CliObserver {
    fn event(&mut self, event: &Event<'_>) {
        lock(&self.metrics).observe(event);
        self.events.record(event);
    }

    async fn notify(&mut self, run: u64, note: &Notification<'_>) -> Result<(), NotifyError> {
        let Some(webhook) = &self.webhook else { return Ok(()) };
        webhook.send(&crate::notify::payload(run, &self.file, note)).await.map_err(NotifyError::new)
    }
}

pub(crate) async fn run(args: &ReconcileArgs) -> anyhow::Result<ExitCode> {
    let mut events = Events::open(&args.events)?;
    let webhook = args.notify_url.as_deref().map(Webhook::new).transpose()?;
    let metrics: metrics::Shared = Arc::new(Mutex::new(Metrics::default()));
    let cancel = CancelToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            crate::apply_cmd::wait_for_stop_signal().await;
            cancel.cancel();
        });
    }
    if let Some(listen) = args.metrics_listen {
        let addr = metrics::serve(listen, metrics.clone()).await?;
        events.emit("metrics_listening", json!({ "address": addr.to_string(), "path": "/metrics" }));
    }
    events.emit(
        "started",
        json!({
            "file": args.file.display().to_string(), "everySeconds": args.every.as_secs_f64(),
            "correct": args.correct, "allowWidening": args.allow_widening, "version": env!("CARGO_PKG_VERSION"),
        }),
    );
    let max_runs = if args.once { Some(1) } else { args.max_runs };
    let options = Options {
        interval: args.every,
        max_runs,
        correct: args.correct,
        allow_widening: args.allow_widening,
        allow_mass_change: args.allow_mass_change,
        planning: args.planning.options(),
        concurrency: args.concurrency,
        journal: Some(args.journal.clone()),
    };
    let source = CliSource { args, metrics: metrics.clone(), cancel: cancel.clone() };
    let observer = CliObserver { events, metrics, webhook, file: args.file.display().to_string() };
    let mut reconciler = Reconciler::new(source, observer, options, cancel);
    let finished = reconciler.run().await;
    reconciler
        .observer_mut()
        .events
        .emit("stopped", json!({ "runs": finished.runs, "signal": finished.cancelled }));
    Ok(if finished.cancelled || max_runs.is_none() {
        ExitCode::SUCCESS
    } else {
        match finished.last {
            Some(Outcome::InSync | Outcome::Corrected) => ExitCode::SUCCESS,
            Some(Outcome::Drift) => ExitCode::from(2),
            Some(Outcome::Error) | None => ExitCode::from(1),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "15", "m", "1x", "0s", "-1s", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
