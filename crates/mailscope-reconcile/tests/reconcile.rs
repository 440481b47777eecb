//! The loop against in-memory fakes: a scripted source, the applier's
//! in-memory tenant and a recording observer. No process, no network.

#[path = "../../mailscope-applier/tests/common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use common::{FakeTenant, contoso_desired, contoso_snapshot, plan};
use mailscope_applier::CancelToken;
use mailscope_planner::{LiveSnapshot, PlanOptions, RemovedApps};
use mailscope_reconcile::{
    Desired, Event, Notification, NotifyError, Observer, Options, Outcome, Reconciler, Session, Source,
    SourceError, Stage,
};
use mailscope_spec::DesiredState;

const EXAMPLE: &str = "policies/contoso.yaml";

fn example_text() -> String {
    std::fs::read_to_string(common::workspace_root().join(EXAMPLE)).unwrap()
}

/// What the source answers at the next reads, shared with the test so it
/// can edit the "file" and break the "tenant" between runs.
#[derive(Default)]
struct Script {
    /// The desired file's text, or an error reading it.
    file: Option<Result<String, String>>,
    /// Errors for the next connects (then success).
    connect_errors: VecDeque<String>,
    /// Errors for the next live reads (then success).
    read_errors: VecDeque<String>,
    connects: usize,
}

#[derive(Clone)]
struct FakeSource {
    script: Rc<RefCell<Script>>,
    tenant: Arc<FakeTenant>,
}

impl FakeSource {
    fn new(live: &LiveSnapshot) -> Self {
        let script = Script { file: Some(Ok(example_text())), ..Script::default() };
        Self { script: Rc::new(RefCell::new(script)), tenant: Arc::new(FakeTenant::from_snapshot(live)) }
    }

    fn set_file(&self, text: &str) {
        self.script.borrow_mut().file = Some(Ok(text.to_owned()));
    }
}

struct FakeSession {
    tenant: Arc<FakeTenant>,
    read_error: Option<String>,
}

impl Source for FakeSource {
    type Session = FakeSession;

    async fn read_desired(&mut self) -> Result<Desired, SourceError> {
        let file = self.script.borrow().file.clone().expect("a file");
        let text = file.map_err(SourceError::new)?;
        let state = mailscope_spec::parse(&text, EXAMPLE).map_err(|e| SourceError::new(e.to_string()))?;
        Ok(Desired { state, sha256: mailscope_planner::sha256_hex(text.as_bytes()), origin: EXAMPLE.into() })
    }

    async fn connect(&mut self, _desired: &DesiredState) -> Result<FakeSession, SourceError> {
        let mut script = self.script.borrow_mut();
        script.connects += 1;
        if let Some(e) = script.connect_errors.pop_front() {
            return Err(SourceError::new(e));
        }
        Ok(FakeSession { tenant: self.tenant.clone(), read_error: script.read_errors.pop_front() })
    }
}

impl Session for FakeSession {
    type Tenant = FakeTenant;

    fn label(&self) -> &'static str {
        "fake"
    }

    async fn read_live(&mut self, _desired: &DesiredState) -> Result<LiveSnapshot, SourceError> {
        match self.read_error.take() {
            Some(e) => Err(SourceError::new(e)),
            None => Ok(self.tenant.snapshot()),
        }
    }

    fn tenant(&self) -> &FakeTenant {
        &self.tenant
    }

    async fn close(self) {}
}

/// Everything the loop said, simplified to strings the tests compare.
#[derive(Default)]
struct Recorder {
    /// `run:event` for every event.
    events: Vec<String>,
    skipped: Vec<Vec<String>>,
    keeping: Vec<Option<String>>,
    errors: Vec<(u64, Stage, String)>,
    /// `run:kind` for every notification delivered (or attempted).
    notes: Vec<String>,
    fail_notify: bool,
    /// The exposed apps' names of each drift event.
    exposed: Vec<Vec<String>>,
}

impl Recorder {
    fn count(&self, name: &str) -> usize {
        self.events.iter().filter(|e| e.split_once(':').is_some_and(|(_, rest)| rest == name)).count()
    }

    fn outcomes(&self) -> Vec<String> {
        self.events.iter().filter_map(|e| e.split_once(":finished:").map(|(_, o)| o.to_owned())).collect()
    }
}

impl Observer for Recorder {
    fn event(&mut self, event: &Event<'_>) {
        let line = match *event {
            Event::DesiredAccepted { run, changed, .. } => format!("{run}:accepted:{changed}"),
            Event::DesiredRejected { run, keeping, .. } => {
                self.keeping.push(keeping.map(str::to_owned));
                format!("{run}:rejected")
            }
            Event::Error { run, stage, error } => {
                self.errors.push((run, stage, error.to_owned()));
                format!("{run}:error")
            }
            Event::InSync { run, .. } => format!("{run}:in_sync"),
            Event::Drift { run, plan, exposures, .. } => {
                assert!(!plan.is_empty());
                self.exposed.push(exposures.iter().map(|e| e.app.clone()).collect());
                format!("{run}:drift")
            }
            Event::CorrectionRefused { run, .. } => format!("{run}:refused"),
            Event::CorrectionSkipped { run, apps } => {
                self.skipped.push(apps.to_vec());
                format!("{run}:skipped")
            }
            Event::Correcting { run, .. } => format!("{run}:correcting"),
            Event::Corrected { run, .. } => format!("{run}:corrected"),
            Event::CorrectionInterrupted { run, .. } => format!("{run}:interrupted"),
            Event::CorrectionFailed { run, .. } => format!("{run}:correction_failed"),
            Event::NotifyFailed { run, .. } => format!("{run}:notify_failed"),
            Event::RunFinished { run, outcome, .. } => format!("{run}:finished:{}", outcome.as_str()),
            _ => format!("unknown {event:?}"),
        };
        self.events.push(line);
    }

    async fn notify(&mut self, run: u64, note: &Notification<'_>) -> Result<(), NotifyError> {
        self.notes.push(format!("{run}:{}", note.kind()));
        if self.fail_notify { Err(NotifyError::new("HTTP 500")) } else { Ok(()) }
    }
}

fn options(max_runs: u64) -> Options {
    Options { interval: Duration::from_millis(5), max_runs: Some(max_runs), ..Options::default() }
}

fn reconciler(source: &FakeSource, options: Options) -> Reconciler<FakeSource, Recorder> {
    Reconciler::new(source.clone(), Recorder::default(), options, CancelToken::new())
}

#[tokio::test]
async fn reports_drift_without_correcting_and_notifies_a_steady_drift_once() {
    let source = FakeSource::new(&contoso_snapshot());
    let mut r = reconciler(&source, options(3));
    let finished = r.run().await;
    assert_eq!((finished.runs, finished.last, finished.cancelled), (3, Some(Outcome::Drift), false));
    let seen = r.observer();
    assert_eq!(seen.count("drift"), 3);
    assert_eq!(seen.count("correcting"), 0);
    assert_eq!(source.tenant.calls(), 0, "report only: nothing applied");
    assert_eq!(seen.notes, ["1:drift"], "a steady drift is notified once");
    // Each drift event names the apps that reach mailboxes they should not,
    // as `drift` does: the example tenant has crm-sync without its deny list.
    let expected: Vec<String> = mailscope_planner::drift_exposures(&contoso_desired(), &contoso_snapshot())
        .into_iter()
        .map(|e| e.app)
        .collect();
    assert!(expected.iter().any(|a| a == "crm-sync"), "{expected:?}");
    assert_eq!(seen.exposed, vec![expected; 3]);
    // Only the first read of an unchanged file counts as a change.
    assert_eq!(
        seen.events.iter().filter(|e| e.contains(":accepted:")).cloned().collect::<Vec<_>>(),
        ["1:accepted:true", "2:accepted:false", "3:accepted:false"]
    );
}

#[tokio::test]
async fn widening_apps_are_skipped_without_allow_widening() {
    let source = FakeSource::new(&contoso_snapshot());
    let mut r = reconciler(&source, Options { correct: true, ..options(1) });
    assert_eq!(r.run().await.last, Some(Outcome::Drift), "partly corrected is still drift");
    let seen = r.observer();
    assert_eq!(seen.skipped, [vec!["invoice-mailer".to_owned()]]);
    assert_eq!(seen.count("corrected"), 1, "{:?}", seen.events);
    // What is left is exactly the widening app's part.
    let rest = plan(&contoso_desired(), &source.tenant.snapshot(), &PlanOptions::default());
    assert!(!rest.is_empty());
    assert!(
        rest.steps
            .iter()
            .all(|s| rest.apps.iter().any(|a| a.app_id == s.app_id && a.name == "invoice-mailer"))
    );
    assert!(rest.widens());

    // With --allow-widening the rest is corrected and the next run is in sync.
    let mut r = reconciler(&source, Options { correct: true, allow_widening: true, ..options(2) });
    assert_eq!(r.run().await.last, Some(Outcome::InSync));
    assert_eq!(r.observer().outcomes(), ["corrected", "in_sync"]);
    assert!(r.observer().skipped.is_empty());
}

#[tokio::test]
async fn an_empty_or_invalid_file_keeps_the_last_good_one_and_never_prunes() {
    // Before any good read: nothing is read from or done to the tenant.
    let source = FakeSource::new(&contoso_snapshot());
    source.set_file("apiVersion: mailscope/v1\napps: []\n");
    let mut r = reconciler(&source, Options { correct: true, allow_mass_change: true, ..options(1) });
    assert_eq!(r.run().await.last, Some(Outcome::Error));
    assert_eq!(r.observer().keeping, [None]);
    assert_eq!(r.observer().errors[0].1, Stage::Desired);
    assert!(r.observer().errors[0].2.contains("lists no app"), "{:?}", r.observer().errors);
    assert_eq!(source.script.borrow().connects, 0);

    // Converge, then empty and break the file while the loop runs.
    source.set_file(&example_text());
    let pruning = Options {
        correct: true,
        allow_widening: true,
        allow_mass_change: true,
        planning: PlanOptions { removed_apps: RemovedApps::Remove },
        ..options(1)
    };
    let mut r = reconciler(&source, pruning);
    assert_eq!(r.run_once().await, Outcome::Corrected);
    let good = r.last_good().unwrap().sha256.clone();
    let calls = source.tenant.calls();
    for bad in ["", "apiVersion: mailscope/v1\napps: []\n", "apiVersion: mailscope/v1\napps: [\n"] {
        source.set_file(bad);
        assert_eq!(r.run_once().await, Outcome::InSync, "{bad:?}: the last good file stays in force");
    }
    source.script.borrow_mut().file = Some(Err("permission denied".into()));
    assert_eq!(r.run_once().await, Outcome::InSync);
    let seen = r.observer();
    assert_eq!(seen.count("rejected"), 4);
    assert!(seen.keeping.iter().all(|k| k.as_deref() == Some(good.as_str())), "{:?}", seen.keeping);
    assert_eq!(seen.count("correcting"), 1, "only the convergence");
    assert_eq!(source.tenant.calls(), calls, "nothing pruned");
    assert_eq!(r.last_good().unwrap().sha256, good);
}

#[tokio::test]
async fn a_failing_read_is_reported_and_retried_next_run() {
    let source = FakeSource::new(&contoso_snapshot());
    {
        let mut script = source.script.borrow_mut();
        script.connect_errors.push_back("connection refused".into());
        script.read_errors.push_back("HTTP 503 from Get-Recipient".into());
    }
    let mut r = reconciler(&source, options(3));
    assert_eq!(r.run().await.last, Some(Outcome::Drift));
    let seen = r.observer();
    assert_eq!(seen.outcomes(), ["error", "error", "drift"]);
    assert_eq!(
        seen.errors,
        [
            (1, Stage::Connect, "connection refused".to_owned()),
            (2, Stage::Plan, "HTTP 503 from Get-Recipient".to_owned())
        ]
    );
    assert_eq!(seen.notes, ["1:failure", "2:failure", "3:drift"], "distinct failures are each notified");
    assert_eq!(source.script.borrow().connects, 3);
}

#[tokio::test]
async fn a_repeated_failure_is_notified_once_until_a_run_in_sync() {
    // Start converged.
    let desired = contoso_desired();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    let full = plan(&desired, &fake.snapshot(), &PlanOptions::default());
    let report = mailscope_applier::apply(&full, &fake, mailscope_applier::ApplyOptions::default()).await;
    assert!(report.is_complete());
    let source = FakeSource::new(&fake.snapshot());
    {
        let mut script = source.script.borrow_mut();
        for _ in 0..2 {
            script.connect_errors.push_back("connection refused".into());
        }
    }
    let mut r = reconciler(&source, options(3));
    r.run().await;
    assert_eq!(r.observer().outcomes(), ["error", "error", "in_sync"]);
    assert_eq!(r.observer().notes, ["1:failure"]);
    // The same failure after a run in sync is news again.
    source.script.borrow_mut().connect_errors.push_back("connection refused".into());
    r.run_once().await;
    assert_eq!(r.observer().notes, ["1:failure", "4:failure"]);
}

#[tokio::test]
async fn a_failed_notification_is_reported_as_an_event() {
    let source = FakeSource::new(&contoso_snapshot());
    let recorder = Recorder { fail_notify: true, ..Recorder::default() };
    let mut r = Reconciler::new(source.clone(), recorder, options(1), CancelToken::new());
    assert_eq!(r.run().await.last, Some(Outcome::Drift));
    assert_eq!(r.observer().count("notify_failed"), 1);
}

#[tokio::test]
async fn the_mass_change_guard_refuses_unless_allowed() {
    // Converge, then a file that keeps one app of many: most are removed.
    let source = FakeSource::new(&contoso_snapshot());
    let converge = Options { correct: true, allow_widening: true, ..options(1) };
    assert_eq!(reconciler(&source, converge.clone()).run().await.last, Some(Outcome::Corrected));
    let text = example_text();
    let first_app: String = {
        // Keep the header and the first app only.
        let mut out = String::new();
        let mut apps = 0;
        for line in text.lines() {
            if line.starts_with("  - name:") {
                apps += 1;
            }
            if apps <= 1 {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    };
    source.set_file(&first_app);
    let pruning = Options { planning: PlanOptions { removed_apps: RemovedApps::Remove }, ..converge };
    let calls = source.tenant.calls();
    let mut r = reconciler(&source, pruning.clone());
    assert_eq!(r.run().await.last, Some(Outcome::Error));
    assert_eq!(r.observer().count("refused"), 1, "{:?}", r.observer().events);
    assert_eq!(r.observer().errors[0].1, Stage::Guard);
    assert_eq!(source.tenant.calls(), calls);
    let mut r = reconciler(&source, Options { allow_mass_change: true, ..pruning });
    assert_eq!(r.run().await.last, Some(Outcome::Corrected));
}

#[tokio::test]
async fn cancellation_mid_wait_stops_promptly() {
    let source = FakeSource::new(&contoso_snapshot());
    let cancel = CancelToken::new();
    let hour = Options { interval: Duration::from_secs(3_600), max_runs: None, ..Options::default() };
    let mut r = Reconciler::new(source.clone(), Recorder::default(), hour, cancel.clone());
    let started = std::time::Instant::now();
    let (finished, ()) = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(r.run(), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            cancel.cancel();
        })
    })
    .await
    .expect("the wait ends on cancellation, not after the hour");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!((finished.runs, finished.cancelled), (1, true));
    assert_eq!(r.observer().outcomes(), ["drift"]);
}

#[tokio::test]
async fn cancellation_mid_correction_finishes_in_flight_and_starts_nothing_new() {
    let source = FakeSource {
        tenant: Arc::new(
            FakeTenant::from_snapshot(&contoso_snapshot()).with_delay(Duration::from_millis(30)),
        ),
        ..FakeSource::new(&contoso_snapshot())
    };
    let cancel = CancelToken::new();
    let opts = Options { correct: true, allow_widening: true, concurrency: 1, max_runs: None, ..options(1) };
    let mut r = Reconciler::new(source.clone(), Recorder::default(), opts, cancel.clone());
    let (finished, ()) = tokio::join!(r.run(), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    assert_eq!((finished.runs, finished.last, finished.cancelled), (1, Some(Outcome::Drift), true));
    assert_eq!(r.observer().count("interrupted"), 1, "{:?}", r.observer().events);
    let calls = source.tenant.calls();
    assert!(calls > 0 && calls < 23, "{calls}");
}
