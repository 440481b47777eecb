//! The JSON-lines event log and the webhook of `mailscope reconcile`.
//!
//! The loop (`mailscope_reconcile`) hands over typed events and
//! notifications; their JSON shapes (one event per line, the webhook
//! payload) are the CLI's public format and are decided here.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use mailscope_applier::ApplyReport;
use mailscope_reconcile::{Event, Notification, drifted_app_count};
use serde_json::{Value, json};

use crate::drift_cmd::drifted_apps;

/// Unix time now, in seconds.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

pub(crate) use mailscope_applier::journal::rfc3339_now;

/// One JSON object per line, on stdout or appended to a file.
pub(crate) struct Events {
    out: Box<dyn Write + Send>,
}

impl Events {
    /// `-` is stdout; anything else a file opened for appending.
    pub(crate) fn open(target: &str) -> anyhow::Result<Self> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(std::io::stdout())
        } else {
            let path = Path::new(target);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            // Owner-only on unix: the log names apps, mailboxes and drift.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            Box::new(options.open(path).with_context(|| format!("cannot open the event log {target}"))?)
        };
        Ok(Self { out })
    }

    /// Writes `{"time", "event", …fields}` as one line.
    pub(crate) fn emit(&mut self, event: &str, fields: Value) {
        let mut line = json!({ "time": rfc3339_now(), "event": event });
        if let (Some(obj), Value::Object(extra)) = (line.as_object_mut(), fields) {
            obj.extend(extra);
        }
        let mut text = line.to_string();
        text.push('\n');
        if self.out.write_all(text.as_bytes()).and_then(|()| self.out.flush()).is_err() {
            eprintln!("warning: cannot write the event log");
        }
    }
}

/// The fields every correction event and notification carries.
fn correction_fields(run: u64, report: &ApplyReport) -> Value {
    let c = report.counts();
    json!({
        "run": run, "runId": report.run_id, "done": c.done, "alreadyDone": c.already_done,
        "failed": c.failed, "notStarted": c.not_started, "seconds": report.duration.as_secs_f64(),
    })
}

/// [`correction_fields`] plus the failed steps.
fn failure_fields(run: u64, report: &ApplyReport) -> Value {
    let mut fields = correction_fields(run, report);
    let failures: Vec<String> =
        report.failures().map(|s| format!("{}: {}", s.app, mailscope_applier::describe(&s.action))).collect();
    fields["failures"] = json!(failures);
    fields
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An event's line name and fields, or `None` for events the log leaves out
/// (a re-read of an unchanged file).
fn event_line(event: &Event<'_>) -> Option<(&'static str, Value)> {
    Some(match *event {
        Event::DesiredAccepted { changed: false, .. } => return None,
        Event::DesiredAccepted { run, origin, sha256, apps, .. } => {
            ("desired_loaded", json!({ "run": run, "file": origin, "sha256": sha256, "apps": apps }))
        }
        Event::DesiredRejected { run, error, keeping } => {
            ("desired_rejected", json!({ "run": run, "error": error, "keeping": keeping }))
        }
        Event::Error { run, stage, error } => {
            ("error", json!({ "run": run, "stage": stage.as_str(), "error": error }))
        }
        Event::InSync { run, tenant, .. } => ("in_sync", json!({ "run": run, "tenant": tenant })),
        Event::Drift { run, tenant, plan, exposures } => (
            "drift",
            json!({ "run": run, "tenant": tenant, "steps": plan.steps.len(), "apps": drifted_apps(plan), "findings": plan.findings, "exposures": exposures }),
        ),
        Event::CorrectionRefused { run, reason } => {
            ("correction_refused", json!({ "run": run, "reason": reason }))
        }
        Event::CorrectionSkipped { run, apps } => (
            "correction_skipped",
            json!({ "run": run, "apps": apps, "reason": "correcting them widens access: pass --allow-widening" }),
        ),
        Event::Correcting { run, steps, journal } => (
            "correcting",
            json!({ "run": run, "steps": steps, "journal": journal.map(|p| p.display().to_string()) }),
        ),
        Event::Corrected { run, report } => ("corrected", correction_fields(run, report)),
        Event::CorrectionInterrupted { run, report } => {
            ("correction_interrupted", correction_fields(run, report))
        }
        Event::CorrectionFailed { run, report } => ("correction_failed", failure_fields(run, report)),
        Event::NotifyFailed { run, kind, error } => {
            ("notify_failed", json!({ "run": run, "kind": kind, "error": error }))
        }
        Event::RunFinished { run, outcome, elapsed } => (
            "run_finished",
            json!({ "run": run, "result": outcome.as_str(), "seconds": elapsed.as_secs_f64() }),
        ),
        _ => return None,
    })
}

impl Events {
    /// Writes one event of the loop (see [`event_line`] for which).
    pub(crate) fn record(&mut self, event: &Event<'_>) {
        if let Some((name, fields)) = event_line(event) {
            self.emit(name, fields);
        }
    }
}

/// The webhook payload of a notification of run `run` about `file`:
/// `{event, text, file, run, time, …}` with a one-line `text` for chat tools.
pub(crate) fn payload(run: u64, file: &str, note: &Notification<'_>) -> Value {
    let (text, mut fields) = match *note {
        Notification::Drift { tenant, plan, exposures } => {
            let apps = drifted_app_count(plan);
            let steps = plan.steps.len();
            // An exposure leads the line: an app reaching mailboxes it
            // should not is what a reader of the chat must see first.
            let exposed = if exposures.is_empty() {
                String::new()
            } else {
                format!(
                    "EXPOSURE: {} can reach mailboxes it should not; ",
                    exposures.iter().map(|e| e.app.as_str()).collect::<Vec<_>>().join(", ")
                )
            };
            (
                format!(
                    "{exposed}{apps} app{} of {tenant} drifted from {file} ({steps} change{} to correct)",
                    plural(apps),
                    plural(steps)
                ),
                json!({ "tenant": tenant, "apps": drifted_apps(plan), "exposures": exposures }),
            )
        }
        Notification::Corrected { tenant, report } => {
            let c = report.counts();
            let n = c.done + c.already_done;
            (format!("corrected {n} change{} on {tenant}", plural(n)), correction_fields(run, report))
        }
        Notification::Failure { stage, error } => {
            (format!("{}: {error}", stage.as_str()), json!({ "stage": stage.as_str(), "error": error }))
        }
        Notification::CorrectionFailed { tenant, report } => {
            (format!("correction failed on {tenant}"), failure_fields(run, report))
        }
        _ => (String::new(), json!({})),
    };
    let mut payload = json!({
        "event": note.kind(),
        "text": format!("mailscope: {text}"),
        "file": file,
        "run": run,
        "time": rfc3339_now(),
    });
    if let (Some(obj), Some(extra)) = (payload.as_object_mut(), fields.as_object_mut()) {
        obj.append(extra);
    }
    payload
}

/// Posts JSON payloads to a webhook.
pub(crate) struct Webhook {
    url: String,
    client: reqwest::Client,
}

impl Webhook {
    pub(crate) fn new(url: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            url.starts_with("https://") || url.starts_with("http://"),
            "--notify-url must be an http(s) URL"
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot build the webhook client")?;
        Ok(Self { url: url.to_owned(), client })
    }

    /// Sends the payload; returns a short error text on failure.
    pub(crate) async fn send(&self, payload: &Value) -> Result<(), String> {
        match self.client.post(&self.url).json(payload).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) => Err(e.without_url().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{event_line, payload};
    use mailscope_reconcile::{Event, Notification, Outcome, Stage};
    use std::time::Duration;

    #[cfg(unix)]
    #[test]
    fn a_new_event_log_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mailscope-events-{}", std::process::id()));
        let path = dir.join("events.jsonl");
        let mut events = super::Events::open(path.to_str().unwrap()).unwrap();
        events.emit("test", serde_json::json!({}));
        drop(events);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "event log mode {mode:o}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_reread_of_an_unchanged_file_is_not_logged() {
        let accepted =
            |changed| Event::DesiredAccepted { run: 2, origin: "p.yaml", sha256: "ab", apps: 3, changed };
        assert!(event_line(&accepted(false)).is_none());
        let (name, fields) = event_line(&accepted(true)).unwrap();
        assert_eq!(name, "desired_loaded");
        assert_eq!(fields, serde_json::json!({ "run": 2, "file": "p.yaml", "sha256": "ab", "apps": 3 }));
        let finished =
            Event::RunFinished { run: 4, outcome: Outcome::InSync, elapsed: Duration::from_millis(1500) };
        let (name, fields) = event_line(&finished).unwrap();
        assert_eq!(
            (name, &fields["result"], &fields["seconds"]),
            ("run_finished", &serde_json::json!("in_sync"), &serde_json::json!(1.5))
        );
    }

    #[test]
    fn a_failure_payload_names_the_stage_file_and_run() {
        let note = Notification::Failure { stage: Stage::Connect, error: "refused" };
        let p = payload(7, "p.yaml", &note);
        assert_eq!(p["event"], "failure");
        assert_eq!(p["text"], "mailscope: connect: refused");
        assert_eq!(
            (&p["stage"], &p["error"], &p["file"], &p["run"]),
            (&"connect".into(), &"refused".into(), &"p.yaml".into(), &7.into())
        );
        assert!(p["time"].is_string());
    }

    #[test]
    fn a_drift_payload_leads_with_the_exposed_apps_and_lists_their_mailboxes() {
        let plan = mailscope_planner::Plan {
            format_version: mailscope_planner::PLAN_FORMAT_VERSION,
            steps: Vec::new(),
            apps: Vec::new(),
            findings: Vec::new(),
            summary: mailscope_planner::Summary::default(),
        };
        let exposures = [mailscope_planner::DriftExposure {
            app: "invoice-mailer".into(),
            app_id: "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60".into(),
            mailboxes: vec!["ceo@contoso.com".into()],
            every_other_mailbox: false,
        }];
        let note = Notification::Drift { tenant: "contoso", plan: &plan, exposures: &exposures };
        let p = payload(3, "p.yaml", &note);
        let text = p["text"].as_str().unwrap();
        assert!(
            text.starts_with("mailscope: EXPOSURE: invoice-mailer can reach mailboxes it should not; "),
            "{text}"
        );
        assert_eq!(p["exposures"][0]["mailboxes"][0], "ceo@contoso.com");
        assert_eq!(p["exposures"][0]["appId"], "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60");

        let calm =
            payload(3, "p.yaml", &Notification::Drift { tenant: "contoso", plan: &plan, exposures: &[] });
        assert!(!calm["text"].as_str().unwrap().contains("EXPOSURE"), "{calm}");
        assert_eq!(calm["exposures"], serde_json::json!([]));
    }
}
