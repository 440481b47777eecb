//! Prometheus text metrics of `mailscope reconcile`, served at `/metrics`.
//!
//! The loop (`mailscope_reconcile`) only emits typed events;
//! [`Metrics::observe`] turns them into these gauges and counters, so what
//! is counted is decided here, next to how it is exposed.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use mailscope_reconcile::{Event, drifted_app_count};

use crate::notify::unix_now;

/// What the loop has seen so far.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Runs by result (`in_sync`, `drift`, `corrected`, `error`).
    pub(crate) runs: BTreeMap<&'static str, u64>,
    /// Errors (unreadable file, tenant errors, failed or refused corrections).
    pub(crate) errors: u64,
    /// Steps still needed at the last check (0 in sync).
    pub(crate) drift_objects: u64,
    /// Apps drifted at the last check.
    pub(crate) drift_apps: u64,
    /// Steps applied by corrections.
    pub(crate) steps_applied: u64,
    /// Corrections that completed.
    pub(crate) corrections: u64,
    /// Unix time of the last run that read the tenant and planned.
    pub(crate) last_success: Option<f64>,
    /// Unix time of the last run.
    pub(crate) last_run: Option<f64>,
    /// Whether the desired file was valid (and not empty) at the last read.
    pub(crate) desired_valid: bool,
    /// API calls by operation, over all runs.
    pub(crate) api_calls: BTreeMap<String, u64>,
}

pub(crate) type Shared = Arc<Mutex<Metrics>>;

fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

impl Metrics {
    /// Updates the metrics for one event of the loop.
    pub(crate) fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::DesiredAccepted { .. } => self.desired_valid = true,
            Event::DesiredRejected { .. } => self.desired_valid = false,
            Event::Error { .. } | Event::NotifyFailed { .. } => self.errors += 1,
            Event::InSync { plan, .. } | Event::Drift { plan, .. } => {
                // Objects, not calls: a replaced membership counts each
                // mailbox that joins or leaves.
                self.drift_objects = plan.steps.iter().map(|s| s.action.changes()).sum::<usize>() as u64;
                self.drift_apps = drifted_app_count(plan) as u64;
                self.last_success = Some(unix_now());
            }
            Event::Corrected { report, .. } => {
                let c = report.counts();
                self.steps_applied += (c.done + c.already_done) as u64;
                self.corrections += 1;
            }
            Event::CorrectionInterrupted { report, .. } => {
                let c = report.counts();
                self.steps_applied += (c.done + c.already_done) as u64;
            }
            Event::CorrectionFailed { report, .. } => {
                let c = report.counts();
                self.steps_applied += (c.done + c.already_done) as u64;
                self.errors += 1;
            }
            Event::RunFinished { outcome, .. } => {
                *self.runs.entry(outcome.as_str()).or_default() += 1;
                self.last_run = Some(unix_now());
            }
            _ => {}
        }
    }

    /// The exposition text format (version 0.0.4).
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let one = |v: f64| vec![(String::new(), v)];
        #[allow(clippy::cast_precision_loss, reason = "counters stay far below 2^53")]
        let f = |v: u64| v as f64;
        metric(
            &mut out,
            "mailscope_drift_objects",
            "gauge",
            "Changes needed to bring the tenant back to the desired state at the last check.",
            &one(f(self.drift_objects)),
        );
        metric(
            &mut out,
            "mailscope_drift_apps",
            "gauge",
            "Apps that drifted at the last check.",
            &one(f(self.drift_apps)),
        );
        metric(
            &mut out,
            "mailscope_desired_valid",
            "gauge",
            "1 when the desired-state file was valid and not empty at the last read.",
            &one(if self.desired_valid { 1.0 } else { 0.0 }),
        );
        if let Some(t) = self.last_success {
            metric(
                &mut out,
                "mailscope_last_success_timestamp_seconds",
                "gauge",
                "Unix time of the last run that read the tenant and planned.",
                &one(t),
            );
        }
        if let Some(t) = self.last_run {
            metric(
                &mut out,
                "mailscope_last_run_timestamp_seconds",
                "gauge",
                "Unix time of the last run.",
                &one(t),
            );
        }
        let runs: Vec<(String, f64)> = ["in_sync", "drift", "corrected", "error"]
            .iter()
            .map(|r| (format!("{{result=\"{r}\"}}"), f(self.runs.get(r).copied().unwrap_or(0))))
            .collect();
        metric(&mut out, "mailscope_runs_total", "counter", "Reconcile runs by result.", &runs);
        metric(&mut out, "mailscope_errors_total", "counter", "Errors of any kind.", &one(f(self.errors)));
        metric(
            &mut out,
            "mailscope_corrections_total",
            "counter",
            "Corrections that completed.",
            &one(f(self.corrections)),
        );
        metric(
            &mut out,
            "mailscope_steps_applied_total",
            "counter",
            "Steps applied by corrections.",
            &one(f(self.steps_applied)),
        );
        let calls: Vec<(String, f64)> = self
            .api_calls
            .iter()
            .map(|(op, n)| (format!("{{operation=\"{}\"}}", op.replace(['\\', '"', '\n'], "_")), f(*n)))
            .collect();
        metric(
            &mut out,
            "mailscope_api_calls_total",
            "counter",
            "HTTP calls to Exchange Online and Graph by operation (pages and retries included).",
            &calls,
        );
        out
    }
}

/// Serves `/metrics` (and `/healthz`) on `listen` in the background; returns
/// the bound address.
pub(crate) async fn serve(listen: SocketAddr, metrics: Shared) -> anyhow::Result<SocketAddr> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} for metrics"))?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    let text = metrics.lock().unwrap_or_else(std::sync::PoisonError::into_inner).render();
                    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
                }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::Metrics;
    use mailscope_reconcile::{Event, Outcome, Stage};
    use std::time::Duration;

    #[test]
    fn events_drive_the_counters_and_gauges() {
        let mut m = Metrics::default();
        m.observe(&Event::DesiredAccepted { run: 1, origin: "f", sha256: "s", apps: 1, changed: true });
        assert!(m.desired_valid);
        m.observe(&Event::DesiredRejected { run: 2, error: "bad", keeping: Some("s") });
        m.observe(&Event::Error { run: 2, stage: Stage::Desired, error: "bad" });
        m.observe(&Event::NotifyFailed { run: 2, kind: "failure", error: "HTTP 500" });
        m.observe(&Event::RunFinished { run: 2, outcome: Outcome::Error, elapsed: Duration::ZERO });
        assert!(!m.desired_valid);
        assert_eq!(m.errors, 2);
        assert_eq!(m.runs.get("error"), Some(&1));
        assert!(m.last_run.is_some() && m.last_success.is_none());
        let text = m.render();
        assert!(text.contains("mailscope_errors_total 2\n"), "{text}");
        assert!(text.contains("mailscope_desired_valid 0\n"), "{text}");
    }
}
