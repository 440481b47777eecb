//! The applier over the real client against the emulator on loopback:
//! plan → apply → re-read gives an empty plan; a fault injected at each
//! mutating call in turn leaves a report, and re-reading, re-planning and
//! applying again converges; the emulator's exposure log stays empty.

mod common;

use common::contoso_desired;
use mailscope_applier::{ApplyOptions, ApplyReport, ExoTenant, JournalWriter, StepStatus, apply};
use mailscope_exo::{ExoClient, RetryPolicy, SessionConfig, SnapshotRequest};
use mailscope_planner::{Action, Plan, PlanOptions, derived_group_name};
use mailscope_spec::{DesiredState, ListKind};
use mailscope_testkit::Emulator;
use serde_json::{Value, json};

struct TestSim {
    base: String,
    client: ExoClient,
    http: reqwest::Client,
    _emulator: Emulator,
}

/// The emulator with Contoso, and a client making at most `attempts`
/// attempts per call.
async fn start(attempts: u32) -> TestSim {
    let emulator = Emulator::contoso().await;
    let config = SessionConfig {
        retry: RetryPolicy { max_attempts: attempts, ..mailscope_testkit::fast_retry() },
        ..SessionConfig::default()
    };
    let session = emulator.session_with(emulator.credentials(), config);
    TestSim {
        base: emulator.base_url(),
        client: session.exo(),
        http: reqwest::Client::new(),
        _emulator: emulator,
    }
}

impl TestSim {
    async fn post(&self, path: &str, body: Value) {
        let r = self.http.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    async fn stats(&self) -> Value {
        let r = self.http.get(format!("{}/_sim/stats", self.base)).send().await.unwrap();
        r.json().await.unwrap()
    }

    async fn exposures(&self) -> Value {
        let r = self.http.get(format!("{}/_sim/exposure", self.base)).send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["checkpoint"], true, "a checkpoint was taken");
        v["exposures"].clone()
    }

    async fn plan(&self, desired: &DesiredState) -> Plan {
        let live = self.client.read_snapshot(&snapshot_request(desired)).await.expect("snapshot");
        mailscope_planner::plan(desired, &live, &PlanOptions::default()).expect("plans")
    }
}

/// What the planner needs read for `desired`.
fn snapshot_request(desired: &DesiredState) -> SnapshotRequest {
    let mut req = SnapshotRequest::default();
    for app in &desired.apps {
        req.app_ids.push(app.app_id.clone());
        req.group_names.extend(app.group.clone());
        for list in [ListKind::Allow, ListKind::Deny] {
            // Derived names too: a group created by a run that lost its
            // marker call is found by name only.
            req.group_names.push(derived_group_name(&app.name, list));
            req.addresses.extend(app.list(list).unwrap_or_default().iter().map(|e| e.address.clone()));
        }
    }
    req
}

/// Mutating calls a plan makes when nothing goes wrong (a created group
/// costs two: New- and Set-DistributionGroup).
fn mutations(plan: &Plan) -> usize {
    plan.steps.iter().map(|s| if matches!(s.action, Action::CreateGroup { .. }) { 2 } else { 1 }).sum()
}

fn options(concurrency: usize) -> ApplyOptions {
    ApplyOptions { concurrency, ..ApplyOptions::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_then_replan_is_empty_and_nothing_was_exposed() {
    let sim = start(4).await;
    let desired = contoso_desired();
    let plan = sim.plan(&desired).await;
    assert!(!plan.is_empty());
    sim.post("/_sim/exposure/checkpoint", json!({})).await;

    let dir = std::env::temp_dir().join(format!("mailscope-applier-sim-{}", uuid_like()));
    let journal = dir.join("journal.jsonl");
    let opts = ApplyOptions { journal: Some(JournalWriter::open(&journal).unwrap()), ..options(4) };
    let report = apply(&plan, &ExoTenant::new(sim.client.clone()), opts).await;
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.counts().done, plan.steps.len());

    assert!(sim.plan(&desired).await.is_empty(), "converged in one run");
    assert_eq!(sim.exposures().await, json!([]));

    // The journal holds names and addresses, never the secret or a token.
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(text.lines().count(), 2 + 2 * plan.steps.len());
    assert!(!text.contains("eyJ"), "no JWT in the journal");
    std::fs::remove_dir_all(dir).unwrap();
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

/// Applies, re-reading and re-planning after each run, until the plan is
/// empty; returns the reports.
/// With `faults`, they are set for each apply and cleared for each read, so
/// only the applier's calls meet them.
async fn converge(
    sim: &TestSim,
    desired: &DesiredState,
    first: Plan,
    concurrency: usize,
    faults: Option<&Value>,
) -> Vec<ApplyReport> {
    let tenant = ExoTenant::new(sim.client.clone());
    let mut reports = Vec::new();
    let mut plan = first;
    for _ in 0..12 {
        if plan.is_empty() {
            return reports;
        }
        if let Some(f) = faults {
            sim.post("/_sim/faults", f.clone()).await;
        }
        let report = apply(&plan, &tenant, options(concurrency)).await;
        if faults.is_some() {
            sim.post("/_sim/faults", json!({})).await;
        }
        reports.push(report);
        plan = sim.plan(desired).await;
    }
    panic!("no convergence after 12 runs; last plan: {:#?}", plan.steps);
}

/// Arms a failure of the `n`th mutating call and checks the run, the rerun
/// and the exposure log. Returns whether the first run reported a failure
/// (the client recovers some faults itself: it reads back a create whose
/// reply was lost and retries idempotent writes).
async fn fault_at(n: usize, kind: &str, when: &str) -> bool {
    // No client retries: a retried write would hide the single fault from
    // the applier, and what is tested here is the applier's reaction.
    let sim = start(1).await;
    let desired = contoso_desired();
    let plan = sim.plan(&desired).await;
    sim.post("/_sim/exposure/checkpoint", json!({})).await;
    sim.post("/_sim/faults", json!({"failNthMutation": {"n": n, "kind": kind, "when": when}})).await;
    let ctx = format!("mutation {n}, {kind}, {when}");

    let reports = converge(&sim, &desired, plan.clone(), 1, None).await;
    let first = &reports[0];
    if !first.is_complete() {
        // One step failed; with concurrency 1 everything after it never started.
        assert_eq!(first.counts().failed, 1, "{ctx}: {first}");
        let failed = first.failures().next().unwrap();
        assert!(first.steps[failed.index + 1..].iter().all(|s| s.status == StepStatus::NotStarted), "{ctx}");
        assert!(first.steps[..failed.index].iter().all(|s| s.status.succeeded()), "{ctx}");
        // One rerun converges (none is needed when the failed call was the
        // last and its change was applied before the reply was lost).
        assert!(reports.len() <= 2, "{ctx}: {} runs", reports.len());
        assert!(reports.len() == 1 || reports[1].is_complete(), "{ctx}");
    }
    assert_eq!(sim.exposures().await, json!([]), "{ctx}");
    !first.is_complete()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_at_each_mutating_call_then_a_rerun_converges() {
    let n = {
        let sim = start(1).await;
        mutations(&sim.plan(&contoso_desired()).await)
    };
    let mut failed_runs = 0;
    for i in 1..=n {
        for (kind, when) in [("500", "before"), ("500", "after"), ("reset", "after"), ("reset", "before")] {
            failed_runs += usize::from(fault_at(i, kind, when).await);
        }
    }
    // Without retries only the creates recover by themselves (the client
    // reads a create back after a lost reply), so most runs must have
    // reported a failure.
    assert!(failed_runs >= 2 * n, "only {failed_runs} of {} faulted runs reported a failure", 4 * n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_resets_and_throttling_with_concurrency_still_converge() {
    let sim = start(8).await;
    let desired = contoso_desired();
    let plan = sim.plan(&desired).await;
    sim.post("/_sim/exposure/checkpoint", json!({})).await;
    let faults = json!({
        "resetRate": 0.1, "serverErrorRate": 0.1, "serverErrorStatus": 500,
        "throttleRate": 0.1, "retryAfterSecs": 0, "seed": 7,
    });
    let reports = converge(&sim, &desired, plan, 4, Some(&faults)).await;
    assert!(!reports.is_empty());
    assert!(sim.plan(&desired).await.is_empty());
    assert_eq!(sim.exposures().await, json!([]));
}

/// An emulator that answers 429 past two concurrent calls: the session's
/// adaptive limit backs off below where it started, every throttled call is
/// retried (no step fails, none is lost), the tenant converges in one run
/// and nothing is exposed on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_budget_backs_the_limit_off_and_the_apply_converges() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let sim = start(8).await;
    let desired = contoso_desired();
    let plan = sim.plan(&desired).await;
    assert!(plan.steps.len() >= 8, "enough steps to overlap");
    sim.post("/_sim/exposure/checkpoint", json!({})).await;
    sim.post("/_sim/stats/reset", json!({})).await;
    sim.post("/_sim/faults", json!({"maxConcurrentCalls": 2, "retryAfterSecs": 0, "latencyMs": 20})).await;

    let session = sim.client.session().clone();
    // The reads above already grew it past where it started.
    let start_limit = session.concurrency_limit();
    assert!(start_limit >= mailscope_exo::DEFAULT_INITIAL_CONCURRENCY, "{start_limit}");
    let lowest = Arc::new(AtomicUsize::new(start_limit));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (session, lowest, stop) = (session.clone(), lowest.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                lowest.fetch_min(session.concurrency_limit(), Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        })
    };
    let report = apply(&plan, &ExoTenant::new(sim.client.clone()), options(16)).await;
    stop.store(true, Ordering::SeqCst);
    sampler.await.unwrap();
    sim.post("/_sim/faults", json!({})).await;

    assert!(report.is_complete(), "{report}");
    assert_eq!(report.counts().done, plan.steps.len(), "every step done, none lost");
    let stats: Value =
        sim.http.get(format!("{}/_sim/stats", sim.base)).send().await.unwrap().json().await.unwrap();
    let throttled = stats["faults"]["throttled"].as_u64().unwrap_or(0);
    assert!(throttled > 0, "the budget throttled some calls: {stats}");
    let lowest = lowest.load(Ordering::SeqCst);
    assert!(lowest <= 2, "the limit backed off from {start_limit} to the budget (lowest seen {lowest})");
    assert!(sim.plan(&desired).await.is_empty(), "converged in one run");
    assert_eq!(sim.exposures().await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_finds_its_group_decides_by_the_marker() {
    use mailscope_applier::{StepOutcome, Tenant, TenantErrorKind};
    let sim = start(4).await;
    let tenant = ExoTenant::new(sim.client.clone());
    let marker = "mailscope/v1 app=7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d list=deny";
    let name = "mailscope-crm-sync-deny";

    // Created by this step: done; again: already done (same marker).
    assert_eq!(tenant.create_group(name, name, marker, &[]).await, Ok(StepOutcome::Done));
    assert_eq!(tenant.create_group(name, name, marker, &[]).await, Ok(StepOutcome::AlreadyDone));

    // A group left unmarked by an interrupted create is finished and marked.
    let bare = "mailscope-ticket-bridge-deny";
    sim.client
        .invoke("New-DistributionGroup", json!({"Name": bare, "Alias": bare, "Type": "Security"}))
        .await
        .unwrap();
    assert_eq!(tenant.create_group(bare, bare, marker, &[]).await, Ok(StepOutcome::AlreadyDone));
    let g = sim.client.get_group(bare).await.unwrap().unwrap();
    assert_eq!(g.marker.as_deref(), Some(marker));

    // Someone else's group with that name is a conflict, left untouched.
    let other = "mailscope/v1 app=9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d list=deny";
    let err = tenant.create_group(bare, bare, other, &[]).await.unwrap_err();
    assert_eq!(err.kind, TenantErrorKind::Conflict, "{err}");
    let g = sim.client.get_group(bare).await.unwrap().unwrap();
    assert_eq!(g.marker.as_deref(), Some(marker));

    // Removals of what is gone, and member repeats, are already done.
    assert_eq!(tenant.remove_group("no-such-group").await, Ok(StepOutcome::AlreadyDone));
    assert_eq!(tenant.add_member(name, "ceo@contoso.com").await, Ok(StepOutcome::Done));
    assert_eq!(tenant.add_member(name, "ceo@contoso.com").await, Ok(StepOutcome::AlreadyDone));
    assert_eq!(tenant.remove_member(name, "ceo@contoso.com").await, Ok(StepOutcome::Done));
    assert_eq!(tenant.remove_member(name, "ceo@contoso.com").await, Ok(StepOutcome::AlreadyDone));

    // A policy created twice: the second finds it with the same description.
    let app = "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d";
    let right = mailscope_planner::AccessRight::DenyAccess;
    assert_eq!(tenant.create_policy(app, name, right, marker).await, Ok(StepOutcome::Done));
    let again = tenant.create_policy(app, name, right, marker).await;
    assert_eq!(again, Ok(StepOutcome::AlreadyDone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_created_with_its_members_and_replaced_in_one_call_each() {
    use mailscope_applier::{StepOutcome, Tenant, TenantErrorKind};
    let sim = start(4).await;
    let tenant = ExoTenant::new(sim.client.clone());
    let marker = "mailscope/v1 app=7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d list=deny";
    let name = "mailscope-crm-sync-deny";
    let members = |m: &[&str]| m.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let read = |g: &str| {
        let client = sim.client.clone();
        let g = g.to_owned();
        async move {
            let mut m: Vec<String> =
                client.get_members(&g).await.unwrap().into_iter().map(|r| r.address.to_lowercase()).collect();
            m.sort();
            m
        }
    };
    sim.post("/_sim/stats/reset", json!({})).await;

    let first = members(&["ceo@contoso.com", "cfo@contoso.com"]);
    assert_eq!(tenant.create_group(name, name, marker, &first).await, Ok(StepOutcome::Done));
    let stats = sim.stats().await;
    assert_eq!(stats["cmdlets"]["New-DistributionGroup"], json!(1));
    assert_eq!(stats["cmdlets"]["Set-DistributionGroup"], json!(1), "the marker");
    assert_eq!(stats["cmdlets"].get("Get-DistributionGroup"), None, "the create's answer is the group");
    assert_eq!(read(name).await, first);

    // One call replaces the membership; the same list again is harmless.
    let next = members(&["cfo@contoso.com", "helpdesk@contoso.com"]);
    assert_eq!(tenant.replace_members(name, &next).await, Ok(StepOutcome::Done));
    assert_eq!(tenant.replace_members(name, &next).await, Ok(StepOutcome::Done));
    assert_eq!(read(name).await, next);
    assert_eq!(sim.stats().await["cmdlets"]["Update-DistributionGroupMember"], json!(2));

    // An unknown mailbox fails the whole call and changes nothing.
    let bad = members(&["ceo@contoso.com", "nobody@contoso.com"]);
    let err = tenant.replace_members(name, &bad).await.unwrap_err();
    assert_eq!(err.kind, TenantErrorKind::NotFound, "{err}");
    assert_eq!(read(name).await, next);
    let err = tenant.create_group("mailscope-x", "mailscope-x", marker, &bad).await.unwrap_err();
    assert_eq!(err.kind, TenantErrorKind::NotFound, "{err}");
    assert!(sim.client.get_group("mailscope-x").await.unwrap().is_none(), "nothing half-made");
}
