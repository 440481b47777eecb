//! The scheduler against the in-memory tenant: order, concurrency, stop on
//! failure, convergence by re-planning, cancellation and the journal.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Event, FailMode, FakeTenant, SharedBuf, contoso_desired, contoso_snapshot, op_key, plan};
use mailscope_applier::{
    ApplyOptions, ApplyReport, CancelToken, JournalWriter, ProgressEvent, StepStatus, StopReason, apply,
};
use mailscope_planner::{Action, Plan, PlanOptions, RemovedApps};
use serde_json::Value;

fn options(concurrency: usize) -> ApplyOptions {
    ApplyOptions { concurrency, ..ApplyOptions::default() }
}

/// The tenant's adaptive limit caps the steps in flight below the ceiling,
/// and the waves keep their order; when the limit rises mid-run more steps
/// start.
#[tokio::test]
async fn the_tenants_adaptive_limit_caps_steps_in_flight() {
    let plan = contoso_plan();
    for limit in [1, 2] {
        let fake = FakeTenant::from_snapshot(&contoso_snapshot()).with_delay(Duration::from_millis(5));
        fake.set_limit(Some(limit));
        let report = apply(&plan, &fake, options(16)).await;
        assert!(report.is_complete(), "{report}");
        assert_eq!(fake.max_in_flight(), limit, "limit {limit}");
        assert_waves_respected(&plan, &fake.log());
        if limit == 1 {
            let in_order: Vec<String> = plan.steps.iter().map(|s| op_key(&s.action)).collect();
            assert_eq!(fake.started(), in_order, "a limit of 1 runs the plan in order");
        }
    }
    // A limit above the ceiling does not raise it.
    let fake = FakeTenant::from_snapshot(&contoso_snapshot()).with_delay(Duration::from_millis(5));
    fake.set_limit(Some(64));
    let report = apply(&plan, &fake, options(2)).await;
    assert!(report.is_complete(), "{report}");
    assert!(fake.max_in_flight() <= 2);
}

fn contoso_plan() -> Plan {
    plan(&contoso_desired(), &contoso_snapshot(), &PlanOptions::default())
}

/// The plan without the steps the report says hold.
fn remaining(plan: &Plan, report: &ApplyReport) -> Plan {
    let mut rest = plan.clone();
    rest.steps.retain(|s| !report.steps.iter().any(|r| r.index == s.index && r.status.succeeded()));
    rest
}

fn replan(fake: &FakeTenant, options: &PlanOptions) -> Plan {
    plan(&contoso_desired(), &fake.snapshot(), options)
}

/// Every step of an app's later wave started after every step of its
/// earlier waves ended.
fn assert_waves_respected(plan: &Plan, log: &[Event]) {
    let pos = |e: &Event| log.iter().position(|x| x == e);
    for a in &plan.steps {
        for b in &plan.steps {
            if a.app_id == b.app_id && a.wave < b.wave {
                let (Some(end_a), Some(start_b)) =
                    (pos(&Event::End(op_key(&a.action))), pos(&Event::Start(op_key(&b.action))))
                else {
                    continue;
                };
                assert!(
                    end_a < start_b,
                    "step {} (wave {}) overlapped step {} (wave {})",
                    a.index,
                    a.wave,
                    b.index,
                    b.wave
                );
            }
        }
    }
}

#[tokio::test]
async fn concurrency_one_runs_in_plan_order_and_converges() {
    let plan = contoso_plan();
    assert!(plan.steps.len() > 10, "the fixture plan has many steps");
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    let report = apply(&plan, &fake, options(1)).await;
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.counts().done, plan.steps.len());
    assert_eq!(fake.started(), plan.steps.iter().map(|s| op_key(&s.action)).collect::<Vec<_>>());
    assert_eq!(fake.max_in_flight(), 1);
    assert!(replan(&fake, &PlanOptions::default()).is_empty());
    assert!(report.to_string().starts_with("Apply complete:"));
}

#[tokio::test]
async fn concurrent_run_overlaps_steps_but_never_waves_of_one_app() {
    let plan = contoso_plan();
    for concurrency in [2, 4, 64] {
        let fake = FakeTenant::from_snapshot(&contoso_snapshot()).with_delay(Duration::from_millis(5));
        let report = apply(&plan, &fake, options(concurrency)).await;
        assert!(report.is_complete(), "{report}");
        assert!(fake.max_in_flight() > 1, "concurrency {concurrency}: nothing overlapped");
        assert!(fake.max_in_flight() <= concurrency);
        assert_waves_respected(&plan, &fake.log());
        assert!(replan(&fake, &PlanOptions::default()).is_empty());
    }
}

#[tokio::test]
async fn removing_apps_runs_policy_and_group_removals_and_converges() {
    let opts = PlanOptions { removed_apps: RemovedApps::Remove };
    let plan = plan(&contoso_desired(), &contoso_snapshot(), &opts);
    assert!(plan.steps.iter().any(|s| matches!(s.action, Action::RemovePolicy { .. })));
    assert!(plan.steps.iter().any(|s| matches!(s.action, Action::RemoveGroup { .. })));
    let fake = FakeTenant::from_snapshot(&contoso_snapshot()).with_delay(Duration::from_millis(3));
    let report = apply(&plan, &fake, options(4)).await;
    assert!(report.is_complete(), "{report}");
    assert_waves_respected(&plan, &fake.log());
    assert!(replan(&fake, &opts).is_empty());
}

#[tokio::test]
async fn repeating_a_plan_counts_harmless_repeats_as_already_done() {
    let plan = contoso_plan();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    assert!(apply(&plan, &fake, options(3)).await.is_complete());
    let again = apply(&plan, &fake, options(3)).await;
    assert!(again.is_complete(), "{again}");
    for r in &again.steps {
        let expected = match r.action {
            // Writing the same marker or member list again cannot be told
            // from a change.
            Action::MarkGroup { .. }
            | Action::SetPolicyDescription { .. }
            | Action::ReplaceMembers { .. } => StepStatus::Done,
            _ => StepStatus::AlreadyDone,
        };
        assert_eq!(r.status, expected, "step {}", r.index);
    }
}

/// Fails step `i` (by its call) and checks the report, then converges both by
/// running the remaining steps and by re-planning.
async fn fail_at(plan: &Plan, i: usize, concurrency: usize, mode: FailMode) {
    let fake = FakeTenant::from_snapshot(&contoso_snapshot()).with_delay(Duration::from_millis(1));
    let target = op_key(&plan.steps[i].action);
    let t = target.clone();
    fake.fail_when(move |k| (k == t).then_some(mode));
    let report = apply(plan, &fake, options(concurrency)).await;
    let ctx = format!("step {i}, concurrency {concurrency}, {mode:?}");

    assert!(!report.is_complete(), "{ctx}");
    assert_eq!(report.stopped, Some(StopReason::StepFailed { step: i }), "{ctx}");
    let c = report.counts();
    assert_eq!(c.failed, 1, "{ctx}");
    assert_eq!(c.done + c.already_done + c.failed + c.not_started, plan.steps.len(), "{ctx}");
    assert!(matches!(
        &report.steps[i].status,
        StepStatus::Failed { error, maybe_applied, .. } if error.contains(&target) && *maybe_applied == (mode == FailMode::After)
    ));
    // Nothing started once the failure was seen.
    let log = fake.log();
    let failed_end = log.iter().position(|e| *e == Event::End(target.clone())).unwrap();
    assert!(
        !log[failed_end..].iter().any(|e| matches!(e, Event::Start(_))),
        "{ctx}: a step started after the failure"
    );
    // Every step that started is reported as finished, the others as not started.
    let started = fake.started();
    for r in &report.steps {
        let was_started = started.contains(&op_key(&r.action));
        assert_eq!(was_started, r.status != StepStatus::NotStarted, "{ctx}: step {}", r.index);
    }
    if concurrency == 1 {
        assert!(report.steps[..i].iter().all(|r| r.status == StepStatus::Done), "{ctx}");
        assert!(report.steps[i + 1..].iter().all(|r| r.status == StepStatus::NotStarted), "{ctx}");
    }
    assert!(report.to_string().contains("Not started:") || i + 1 == plan.steps.len() || concurrency > 1);
    assert!(report.to_string().contains("injected"), "{ctx}");
    fake.clear_failures();

    // Re-planning from the resulting state converges in one more run.
    let fresh = FakeTenant::from_snapshot(&fake.snapshot());
    let second = replan(&fake, &PlanOptions::default());
    let again = apply(&second, &fresh, options(concurrency)).await;
    assert!(again.is_complete(), "{ctx}: {again}");
    let third = replan(&fresh, &PlanOptions::default());
    assert!(third.is_empty(), "{ctx}: second {:#?}\nthird {:#?}", second.steps, third.steps);

    // So does running what was left of the original plan.
    let rest = remaining(plan, &report);
    let finish = apply(&rest, &fake, options(concurrency)).await;
    assert!(finish.is_complete(), "{ctx}: {finish}");
    if mode == FailMode::After {
        let repeat = finish.steps.iter().find(|r| r.index == i).unwrap();
        let expected = match repeat.action {
            Action::MarkGroup { .. }
            | Action::SetPolicyDescription { .. }
            | Action::ReplaceMembers { .. } => StepStatus::Done,
            _ => StepStatus::AlreadyDone,
        };
        assert_eq!(repeat.status, expected, "{ctx}: the repeat of a lost reply is harmless");
    }
    let last = replan(&fake, &PlanOptions::default());
    assert!(last.is_empty(), "{ctx}: {:#?}", last.steps);
}

#[tokio::test]
async fn a_failure_at_each_step_stops_new_work_and_a_rerun_converges() {
    let plan = contoso_plan();
    for i in 0..plan.steps.len() {
        for concurrency in [1, 4] {
            for mode in [FailMode::Before, FailMode::After] {
                fail_at(&plan, i, concurrency, mode).await;
            }
        }
    }
}

#[tokio::test]
async fn in_flight_steps_finish_after_a_failure() {
    // Steps 0..=5 are one wave of several apps: with room for all of them,
    // they start together; the failing one ends first, the others still end
    // and are recorded as done.
    let plan = contoso_plan();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot()).with_delay(Duration::from_millis(20));
    let target = op_key(&plan.steps[0].action);
    fake.fail_when(move |k| (k == target).then_some(FailMode::Before));
    let report = apply(&plan, &fake, options(6)).await;
    assert_eq!(report.stopped, Some(StopReason::StepFailed { step: 0 }));
    assert_eq!(fake.max_in_flight(), 6);
    assert!(report.steps[1..6].iter().all(|r| r.status == StepStatus::Done), "{report}");
    assert!(report.steps[6..].iter().all(|r| r.status == StepStatus::NotStarted), "{report}");
}

#[tokio::test]
async fn cancellation_finishes_in_flight_and_starts_nothing_new() {
    let plan = contoso_plan();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    let cancel = CancelToken::new();
    let trigger = cancel.clone();
    let finished = Arc::new(Mutex::new(0usize));
    let seen = Arc::clone(&finished);
    let progress = move |e: &ProgressEvent<'_>| {
        if let ProgressEvent::Finished { .. } = e {
            let mut n = seen.lock().unwrap();
            *n += 1;
            if *n == 3 {
                trigger.cancel();
            }
        }
    };
    let buf = SharedBuf::default();
    let opts = ApplyOptions {
        concurrency: 1,
        journal: Some(JournalWriter::from_writer(buf.clone())),
        progress: Some(Box::new(progress)),
        cancel,
    };
    let report = apply(&plan, &fake, opts).await;
    assert!(report.was_cancelled());
    assert_eq!(report.counts().done, 3);
    assert_eq!(report.counts().not_started, plan.steps.len() - 3);
    assert_eq!(fake.calls(), 3);
    let footer = buf.lines().pop().unwrap();
    assert_eq!(footer["event"], "footer");
    assert_eq!(footer["cancelled"], true);
    assert!(report.to_string().starts_with("Apply cancelled:"));

    // Cancelled before the start: nothing runs.
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    let cancel = CancelToken::new();
    cancel.cancel();
    let report = apply(&plan, &fake, ApplyOptions { cancel, ..options(4) }).await;
    assert_eq!(fake.calls(), 0);
    assert_eq!(report.counts().not_started, plan.steps.len());
}

#[tokio::test]
async fn the_journal_records_every_step_with_its_outcome() {
    let plan = contoso_plan();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot()).with_delay(Duration::from_millis(2));
    let failing = 13;
    let target = op_key(&plan.steps[failing].action);
    fake.fail_when(move |k| (k == target).then_some(FailMode::Before));
    let buf = SharedBuf::default();
    let report = apply(
        &plan,
        &fake,
        ApplyOptions { journal: Some(JournalWriter::from_writer(buf.clone())), ..options(2) },
    )
    .await;
    let lines = buf.lines();

    let header = &lines[0];
    assert_eq!(header["event"], "header");
    assert_eq!(header["plan"]["steps"], plan.steps.len());
    assert_eq!(header["plan"]["add"], plan.summary.add);
    assert_eq!(header["version"], env!("CARGO_PKG_VERSION"));
    let footer = lines.last().unwrap();
    assert_eq!(footer["event"], "footer");
    assert_eq!(footer["complete"], false);
    assert_eq!(footer["counts"]["failed"], 1);
    assert_eq!(footer["counts"]["not_started"], report.counts().not_started);
    for l in &lines {
        assert_eq!(l["run_id"], report.run_id.as_str());
        let ts = l["ts"].as_str().unwrap();
        assert!(ts.len() == 24 && ts.ends_with('Z') && &ts[10..11] == "T", "{ts}");
    }

    // Per step: `started` then one outcome, or a lone `skipped`.
    let mut outcomes: HashMap<u64, Vec<&str>> = HashMap::new();
    for l in lines.iter().filter(|l| l["event"] == "step") {
        let index = l["step"].as_u64().unwrap();
        let step = &plan.steps[usize::try_from(index).unwrap()];
        assert_eq!(l["action"], serde_json::to_value(&step.action).unwrap());
        assert_eq!(l["app"], step.app.as_str());
        assert_eq!(l["wave"], step.wave);
        let outcome = l["outcome"].as_str().unwrap();
        if matches!(outcome, "done" | "already_done" | "failed") {
            assert!(l["duration_ms"].is_u64());
        }
        if outcome == "failed" {
            assert!(l["error"].as_str().unwrap().contains("injected failure"));
        } else {
            assert!(l.get("error").is_none());
        }
        outcomes.entry(index).or_default().push(outcome);
    }
    assert_eq!(outcomes.len(), plan.steps.len(), "every step is journaled");
    for r in &report.steps {
        let got = &outcomes[&(r.index as u64)];
        let want: Vec<&str> = match r.status {
            StepStatus::NotStarted => vec!["skipped"],
            ref s => vec!["started", s.outcome_word()],
        };
        assert_eq!(got, &want, "step {}", r.index);
    }
}

#[tokio::test]
async fn a_journal_that_cannot_be_written_stops_the_run() {
    struct Breaks {
        left: usize,
    }
    impl std::io::Write for Breaks {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            self.left -= 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let plan = contoso_plan();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    // Header, then started/done of step 0, then the started line of step 1 fails.
    let journal = JournalWriter::from_writer(Breaks { left: 3 });
    let report = apply(&plan, &fake, ApplyOptions { journal: Some(journal), ..options(1) }).await;
    assert_eq!(fake.calls(), 1, "no step runs unjournaled");
    assert_eq!(report.counts().done, 1);
    assert!(matches!(report.stopped, Some(StopReason::Journal { .. })));
    assert_eq!(report.journal_error.as_deref(), Some("disk full"));
}

/// A journal that breaks on the last step's line does not make a finished
/// run "stopped": every step ran; the journal error is still reported.
#[tokio::test]
async fn a_journal_that_breaks_after_the_last_step_started_stops_nothing() {
    struct Breaks {
        left: usize,
    }
    impl std::io::Write for Breaks {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            self.left -= 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let plan = contoso_plan();
    let n = plan.steps.len();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    // Header and every line up to the last step's "started"; its "done" fails.
    let journal = JournalWriter::from_writer(Breaks { left: 2 * n });
    let report = apply(&plan, &fake, ApplyOptions { journal: Some(journal), ..options(1) }).await;
    assert_eq!(report.counts().done, n);
    assert_eq!(report.stopped, None, "{:?}", report.stopped);
    assert_eq!(report.journal_error.as_deref(), Some("disk full"));
}

#[tokio::test]
async fn an_empty_plan_is_complete_and_journaled() {
    let plan = contoso_plan();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    assert!(apply(&plan, &fake, options(4)).await.is_complete());
    let empty = replan(&fake, &PlanOptions::default());
    let dir = std::env::temp_dir().join(format!("mailscope-applier-{}", std::process::id()));
    let path = dir.join("nested/journal.jsonl");
    let report = apply(
        &empty,
        &fake,
        ApplyOptions { journal: Some(JournalWriter::open(&path).unwrap()), ..options(4) },
    )
    .await;
    assert!(report.is_complete());
    assert!(report.steps.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    let events: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["header", "footer"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_report_lists_what_was_done_and_what_was_not() {
    let plan = contoso_plan();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    let target = op_key(&plan.steps[3].action);
    fake.fail_when(move |k| (k == target).then_some(FailMode::Before));
    let report = apply(&plan, &fake, options(1)).await;
    let text = report.to_string();
    assert!(text.starts_with("Apply stopped at step 3: 3 done, 0 already in place, 1 failed,"), "{text}");
    let failed = text.find("Failed:").unwrap();
    let done = text.find("Done:").unwrap();
    let not_started = text.find("Not started:").unwrap();
    assert!(failed < done && done < not_started, "{text}");
    assert!(text.contains("#3   ticket-bridge: create group \"mailscope-ticket-bridge-allow\""), "{text}");
    assert!(text.contains("error: injected failure"), "{text}");
    // The JSON form is what `--format json` can print.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["stopped"]["reason"], "step_failed");
    assert_eq!(json["steps"][3]["status"], "failed");
    assert_eq!(json["steps"][4]["status"], "not_started");
}

#[test]
fn the_apply_future_is_send() {
    fn assert_send<F: Send>(_: &F) {}
    let plan = contoso_plan();
    let fake = FakeTenant::from_snapshot(&contoso_snapshot());
    let fut = apply(&plan, &fake, options(2));
    assert_send(&fut);
}
