//! `mailscope reconcile FILE --every 15m [--correct]`: the drift loop.
//!
//! Each run: re-read the desired file (an invalid or empty file is never
//! acted upon: the last good one stays in force and the error is reported),
//! read the tenant, plan, report drift, and with `--correct` apply the apps
//! whose correction does not widen access (all of them with
//! `--allow-widening`), behind the mass-change guard. SIGTERM or Ctrl-C
//! lets the step in flight finish, starts nothing new, and exits 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use mailscope_applier::{ApplyOptions, CancelToken, ExoTenant, JournalWriter};
use mailscope_planner::Plan;
use mailscope_spec::DesiredState;
use serde_json::{Value, json};

use crate::drift_cmd::drifted_apps;
use crate::metrics::{self, Metrics};
use crate::notify::{Events, Webhook, unix_now};
use crate::target::{self, TenantArgs};
use crate::{inputs::load_desired, plan_cmd::PlanningArgs};

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
    #[command(flatten)]
    planning: PlanningArgs,
}

/// How one run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    InSync,
    /// Drift found and left (report only, refused, or partly skipped).
    Drift,
    /// Drift found and fully corrected.
    Corrected,
    Error,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::InSync => "in_sync",
            Outcome::Drift => "drift",
            Outcome::Corrected => "corrected",
            Outcome::Error => "error",
        }
    }
}

struct Loop<'a> {
    args: &'a ReconcileArgs,
    events: Events,
    metrics: metrics::Shared,
    webhook: Option<Webhook>,
    stop: CancelToken,
    last_good: Option<DesiredState>,
    last_good_sha: Option<String>,
    /// What was last notified, so a steady state does not notify every run.
    last_notified: Option<String>,
    run: u64,
}

impl Loop<'_> {
    fn metrics(&self) -> std::sync::MutexGuard<'_, Metrics> {
        self.metrics.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn notify(&mut self, kind: &str, text: String, mut fields: Value, dedupe: Option<String>) {
        if let Some(key) = &dedupe {
            if self.last_notified.as_ref() == Some(key) {
                return;
            }
            self.last_notified = Some(key.clone());
        }
        let Some(webhook) = &self.webhook else { return };
        let mut payload = json!({
            "event": kind,
            "text": format!("mailscope: {text}"),
            "file": self.args.file.display().to_string(),
            "run": self.run,
            "time": crate::notify::rfc3339_now(),
        });
        if let (Some(obj), Some(extra)) = (payload.as_object_mut(), fields.as_object_mut()) {
            obj.append(extra);
        }
        if let Err(e) = webhook.send(&payload).await {
            self.events.emit("notify_failed", json!({ "run": self.run, "kind": kind, "error": e }));
            self.metrics().errors += 1;
        }
    }

    async fn error(&mut self, what: &str, err: &anyhow::Error) {
        let message = format!("{err:#}");
        self.events.emit("error", json!({ "run": self.run, "stage": what, "error": message }));
        self.metrics().errors += 1;
        let dedupe = Some(format!("error:{what}:{message}"));
        self.notify(
            "failure",
            format!("{what}: {message}"),
            json!({ "stage": what, "error": message }),
            dedupe,
        )
        .await;
    }

    /// Re-reads the desired file; an invalid or empty one keeps the last good.
    async fn reload(&mut self) {
        let loaded = load_desired(&self.args.file).and_then(|(d, sha)| {
            anyhow::ensure!(
                !d.apps.is_empty(),
                "{} lists no app: refusing to act on it (an emptied file would lock every app down)",
                self.args.file.display()
            );
            Ok((d, sha))
        });
        match loaded {
            Ok((desired, sha)) => {
                self.metrics().desired_valid = true;
                if self.last_good_sha.as_ref() != Some(&sha) {
                    self.events.emit(
                        "desired_loaded",
                        json!({ "run": self.run, "file": self.args.file.display().to_string(), "sha256": sha, "apps": desired.apps.len() }),
                    );
                }
                self.last_good = Some(desired);
                self.last_good_sha = Some(sha);
            }
            Err(err) => {
                self.metrics().desired_valid = false;
                let kept = self.last_good_sha.clone();
                self.events.emit(
                    "desired_rejected",
                    json!({ "run": self.run, "error": format!("{err:#}"), "keeping": kept }),
                );
                self.error("desired", &err).await;
            }
        }
    }

    async fn once(&mut self) -> Outcome {
        self.reload().await;
        let Some(desired) = self.last_good.clone() else {
            return Outcome::Error;
        };
        let conn = match target::connect(&self.args.target, Some(&desired)).await {
            Ok(c) => c,
            Err(err) => {
                self.error("connect", &err).await;
                return Outcome::Error;
            }
        };
        let outcome = self.with_connection(&conn, &desired).await;
        {
            let calls = conn.session.stats().snapshot();
            let mut m = self.metrics();
            for (op, n) in calls {
                *m.api_calls.entry(op).or_default() += n;
            }
        }
        conn.close().await;
        outcome
    }

    async fn with_connection(&mut self, conn: &target::Connection, desired: &DesiredState) -> Outcome {
        let planned = match target::read_live(conn, desired).await {
            Ok(live) => mailscope_planner::plan(desired, &live, &self.args.planning.options())
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        let plan = match planned {
            Ok(p) => p,
            Err(err) => {
                self.error("plan", &err).await;
                return Outcome::Error;
            }
        };
        let drifted = drifted_apps(&plan);
        {
            let mut m = self.metrics();
            m.drift_objects = plan.steps.len() as u64;
            m.drift_apps = drifted.len() as u64;
            m.last_success = Some(unix_now());
        }
        if plan.is_empty() {
            self.events.emit("in_sync", json!({ "run": self.run, "tenant": conn.label }));
            if self.last_notified.is_some() {
                self.last_notified = None;
            }
            return Outcome::InSync;
        }
        let summary = format!(
            "{} app{} of {} drifted from {} ({} change{} to correct)",
            drifted.len(),
            if drifted.len() == 1 { "" } else { "s" },
            conn.label,
            self.args.file.display(),
            plan.steps.len(),
            if plan.steps.len() == 1 { "" } else { "s" }
        );
        self.events.emit(
            "drift",
            json!({ "run": self.run, "tenant": conn.label, "steps": plan.steps.len(), "apps": drifted, "findings": plan.findings }),
        );
        let key = format!("drift:{}", serde_json::to_string(&plan.steps).unwrap_or_default());
        self.notify("drift", summary.clone(), json!({ "tenant": conn.label, "apps": drifted }), Some(key))
            .await;
        if !self.args.correct {
            return Outcome::Drift;
        }
        if let Err(err) = crate::apply_cmd::guard(&plan, true, self.args.allow_mass_change) {
            self.events.emit("correction_refused", json!({ "run": self.run, "reason": format!("{err:#}") }));
            self.error("guard", &err).await;
            return Outcome::Error;
        }
        let (to_apply, skipped) =
            if self.args.allow_widening { (plan.clone(), Vec::new()) } else { plan.without_widening() };
        if !skipped.is_empty() {
            self.events.emit(
                "correction_skipped",
                json!({ "run": self.run, "apps": skipped, "reason": "correcting them widens access: pass --allow-widening" }),
            );
        }
        if to_apply.is_empty() {
            return Outcome::Drift;
        }
        if self.stop.is_cancelled() {
            return Outcome::Drift;
        }
        self.correct(conn, &to_apply, skipped.is_empty()).await
    }

    async fn correct(&mut self, conn: &target::Connection, plan: &Plan, complete_plan: bool) -> Outcome {
        self.events.emit(
            "correcting",
            json!({ "run": self.run, "steps": plan.steps.len(), "journal": self.args.journal.display().to_string() }),
        );
        let journal = match JournalWriter::open(&self.args.journal)
            .with_context(|| format!("cannot open the journal {}", self.args.journal.display()))
        {
            Ok(j) => j,
            Err(err) => {
                self.error("journal", &err).await;
                return Outcome::Error;
            }
        };
        let options = ApplyOptions {
            concurrency: self.args.concurrency.max(1),
            journal: Some(journal),
            progress: None,
            cancel: self.stop.clone(),
        };
        let report = mailscope_applier::apply(plan, &ExoTenant::new(conn.session.exo()), options).await;
        let c = report.counts();
        {
            let mut m = self.metrics();
            m.steps_applied += (c.done + c.already_done) as u64;
        }
        let fields = json!({
            "run": self.run, "runId": report.run_id, "done": c.done, "alreadyDone": c.already_done,
            "failed": c.failed, "notStarted": c.not_started, "seconds": report.duration.as_secs_f64(),
        });
        if report.is_complete() {
            self.events.emit("corrected", fields.clone());
            self.metrics().corrections += 1;
            self.notify(
                "correction",
                format!(
                    "corrected {} change{} on {}",
                    c.done + c.already_done,
                    if c.done + c.already_done == 1 { "" } else { "s" },
                    conn.label
                ),
                fields,
                None,
            )
            .await;
            return if complete_plan { Outcome::Corrected } else { Outcome::Drift };
        }
        if report.was_cancelled() {
            self.events.emit("correction_interrupted", fields);
            return Outcome::Drift;
        }
        let failures: Vec<String> = report
            .failures()
            .map(|s| format!("{}: {}", s.app, mailscope_applier::describe(&s.action)))
            .collect();
        let mut fields = fields;
        fields["failures"] = json!(failures);
        self.events.emit("correction_failed", fields.clone());
        self.metrics().errors += 1;
        self.notify("failure", format!("correction failed on {}", conn.label), fields, None).await;
        Outcome::Error
    }
}

pub(crate) async fn run(args: &ReconcileArgs) -> anyhow::Result<ExitCode> {
    let mut events = Events::open(&args.events)?;
    let webhook = args.notify_url.as_deref().map(Webhook::new).transpose()?;
    let metrics: metrics::Shared = Arc::new(Mutex::new(Metrics::default()));
    let stop = CancelToken::new();
    let wake = Arc::new(tokio::sync::Notify::new());
    {
        let stop = stop.clone();
        let wake = wake.clone();
        tokio::spawn(async move {
            crate::apply_cmd::wait_for_stop_signal().await;
            stop.cancel();
            wake.notify_one();
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
    let mut lp = Loop {
        args,
        events,
        metrics,
        webhook,
        stop: stop.clone(),
        last_good: None,
        last_good_sha: None,
        last_notified: None,
        run: 0,
    };
    let max_runs = if args.once { Some(1) } else { args.max_runs };
    let last = loop {
        lp.run += 1;
        let started = tokio::time::Instant::now();
        let last = lp.once().await;
        {
            let mut m = lp.metrics();
            *m.runs.entry(last.label()).or_default() += 1;
            m.last_run = Some(unix_now());
        }
        lp.events.emit(
            "run_finished",
            json!({ "run": lp.run, "result": last.label(), "seconds": started.elapsed().as_secs_f64() }),
        );
        if stop.is_cancelled() || max_runs.is_some_and(|n| lp.run >= n) {
            break last;
        }
        tokio::select! {
            () = tokio::time::sleep_until(started + args.every) => {}
            () = wake.notified() => {}
        }
        if stop.is_cancelled() {
            break last;
        }
    };
    let signalled = stop.is_cancelled();
    lp.events.emit("stopped", json!({ "runs": lp.run, "signal": signalled }));
    Ok(if signalled || max_runs.is_none() {
        ExitCode::SUCCESS
    } else {
        match last {
            Outcome::InSync | Outcome::Corrected => ExitCode::SUCCESS,
            Outcome::Drift => ExitCode::from(2),
            Outcome::Error => ExitCode::from(1),
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
