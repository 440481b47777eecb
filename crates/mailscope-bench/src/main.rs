//! `mailscope-bench`: plan and apply generated tenants against the emulator
//! with a per-call latency, and compare the calls made with the lower bound
//! (`docs/performance.md`, "Scale benchmark").
//!
//! Each case starts a fresh emulator in this process on 127.0.0.1 (through
//! `mailscope-testkit`, the one bootstrap of every harness), switches its
//! exposure log on, then reads, plans and applies through the library
//! crates as `mailscope apply` does. Not part of the test suite: run it by
//! hand, in release mode.

mod tenant;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use mailscope_applier::{ApplyOptions, ExoTenant, StepStatus, apply};
use mailscope_exo::{SessionConfig, SnapshotRequest};
use mailscope_planner::cost::lower_bound;
use mailscope_planner::{PlanOptions, reads_for};
use mailscope_sim::{FaultConfig, Sim, SimConfig};
use mailscope_testkit::Emulator;
use serde_json::{Value, json};

use crate::tenant::Case;

/// Scale benchmark of plan and apply against the emulator.
#[derive(Parser, Debug)]
#[command(name = "mailscope-bench")]
struct Args {
    /// Mailboxes in the generated tenant.
    #[arg(long, default_value_t = 10_000)]
    mailboxes: usize,
    /// Apps in the desired file.
    #[arg(long, default_value_t = 100)]
    apps: usize,
    /// Mailboxes each app may reach.
    #[arg(long, default_value_t = 50)]
    allowed: usize,
    /// Drift in percent: that share of the apps is new, and that share of
    /// the other apps' members is wrong.
    #[arg(long, default_value_t = 20)]
    drift: usize,
    /// Run every case of 1k/10k/100k mailboxes × 10/100/1,000 apps ×
    /// 0/20/50 % drift instead of the one the flags above name.
    #[arg(long)]
    grid: bool,
    /// Latency the emulator adds to every call, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Calls in flight at most (the session's limit and the applier's).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Leave the emulator's exposure log off (it must then be reported as
    /// not measured).
    #[arg(long)]
    no_exposure_log: bool,
}

/// What one case measured.
#[derive(Debug)]
struct Outcome {
    case: Case,
    steps: usize,
    calls: u64,
    reads: u64,
    writes: u64,
    bound_reads: usize,
    bound_writes: usize,
    per_change_calls: usize,
    read: Duration,
    plan: Duration,
    apply: Duration,
    exposures: Option<usize>,
    complete: bool,
    peak_memory: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cases: Vec<Case> = if args.grid {
        let mut all = Vec::new();
        for mailboxes in [1_000, 10_000, 100_000] {
            for apps in [10, 100, 1_000] {
                for drift in [0, 20, 50] {
                    all.push(Case { mailboxes, apps, allowed: args.allowed, drift });
                }
            }
        }
        all
    } else {
        vec![Case { mailboxes: args.mailboxes, apps: args.apps, allowed: args.allowed, drift: args.drift }]
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!(
        "latency {} ms per call, concurrency {}, exposure log {}",
        args.latency_ms,
        args.concurrency,
        if args.no_exposure_log { "off" } else { "on" }
    );
    println!("{}", header());
    for case in cases {
        let outcome = runtime.block_on(run(case, &args))?;
        println!("{}", row(&outcome, args.latency_ms));
    }
    Ok(())
}

async fn run(case: Case, args: &Args) -> Result<Outcome> {
    // Linux resets the process's peak resident size when "5" is written
    // here, so each case reports its own peak (best effort).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let lists = tenant::lists(&case);
    // Loaded from a `.json` file: the emulator parses JSON seeds with
    // serde_json, without the YAML parser's node budget that a 100k-mailbox
    // seed exceeds.
    let seed_file = std::env::temp_dir().join(format!("mailscope-bench-seed-{}.json", std::process::id()));
    std::fs::write(&seed_file, serde_json::to_vec(&tenant::seed(&case, &lists))?)?;
    let desired = mailscope_spec::parse(&tenant::desired_yaml(&lists), "bench.yaml")
        .map_err(|e| anyhow::anyhow!("generated desired file: {e}"))?;
    let sim = Sim::from_seed_file(&seed_file);
    let _ = std::fs::remove_file(&seed_file);
    let sim = sim.context("generated seed")?.with_config(SimConfig {
        faults: FaultConfig { latency_ms: args.latency_ms, ..FaultConfig::default() },
        ..SimConfig::default()
    });
    let emulator = Emulator::serve(sim).await;
    let control = Control { http: reqwest::Client::new(), base: emulator.base_url() };
    if !args.no_exposure_log {
        control.post("/_sim/exposure/checkpoint").await?;
    }
    control.post("/_sim/stats/reset").await?;
    let config = SessionConfig { max_concurrency: args.concurrency, ..SessionConfig::default() };
    let session = emulator.session_with(emulator.credentials(), config);
    let exo = session.exo();

    let started = Instant::now();
    let reads = reads_for(&desired);
    let request = SnapshotRequest {
        app_ids: reads.app_ids,
        group_names: reads.group_names,
        addresses: reads.addresses,
        ..SnapshotRequest::default()
    };
    let live = exo.read_snapshot(&request).await.context("reading the tenant")?;
    let read = started.elapsed();
    let planning = Instant::now();
    let plan = mailscope_planner::plan(&desired, &live, &PlanOptions::default())
        .map_err(|e| anyhow::anyhow!("planning: {e}"))?;
    let plan_time = planning.elapsed();
    let applying = Instant::now();
    let options = ApplyOptions { concurrency: args.concurrency, ..ApplyOptions::default() };
    let report = apply(&plan, &ExoTenant::new(exo.clone()), options).await;
    let apply_time = applying.elapsed();
    if let Some(StepStatus::Failed { error, .. }) =
        report.steps.iter().map(|s| &s.status).find(|s| matches!(s, StepStatus::Failed { .. }))
    {
        eprintln!("apply stopped at its first failure: {error}");
    }

    let stats = control.get("/_sim/stats").await?;
    let (mut calls_read, mut calls_write) = (0, 0);
    for (cmdlet, n) in stats["cmdlets"].as_object().into_iter().flatten() {
        let n = n.as_u64().unwrap_or(0);
        if cmdlet.starts_with("Get-") || cmdlet.starts_with("Test-") {
            calls_read += n;
        } else {
            calls_write += n;
        }
    }
    let exposures = if args.no_exposure_log {
        None
    } else {
        let report = control.get("/_sim/exposure").await?;
        Some(report["exposures"].as_array().map_or(0, Vec::len))
    };
    let bound = lower_bound(&plan, &live);
    let per_change: usize = plan.steps.iter().map(|s| s.action.changes()).sum();
    emulator.shutdown().await;
    Ok(Outcome {
        case,
        steps: plan.steps.len(),
        calls: calls_read + calls_write,
        reads: calls_read,
        writes: calls_write,
        bound_reads: bound.reads,
        bound_writes: bound.writes,
        per_change_calls: bound.reads + per_change,
        read,
        plan: plan_time,
        apply: apply_time,
        exposures,
        complete: report.is_complete(),
        peak_memory: peak_memory(),
    })
}

/// The emulator's control endpoints (`docs/sim.md`, "Control endpoints").
struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    async fn post(&self, path: &str) -> Result<()> {
        let r = self.http.post(format!("{}{path}", self.base)).json(&json!({})).send().await?;
        if !r.status().is_success() {
            bail!("{path}: {}", r.status());
        }
        Ok(())
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let r = self.http.get(format!("{}{path}", self.base)).send().await?;
        if !r.status().is_success() {
            bail!("{path}: {}", r.status());
        }
        Ok(r.json().await?)
    }
}

fn header() -> String {
    "| mailboxes | apps | drift | steps | calls (reads+writes) | lower bound | ratio | one call per change | wall (read / plan / apply) | sequential baseline | speed-up | plan share | peak memory | exposures |\n\
     |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        .to_owned()
}

#[allow(clippy::cast_precision_loss)]
fn row(o: &Outcome, latency_ms: u64) -> String {
    let wall = o.read + o.plan + o.apply;
    let bound = o.bound_reads + o.bound_writes;
    // Computed, not measured, as issue #13 defines it: the way a hand-run
    // script works — one call per change (and the same reads), one after the
    // other, at the emulator's latency.
    let baseline = Duration::from_millis(u64::try_from(o.per_change_calls).unwrap_or(u64::MAX) * latency_ms);
    let ratio = if bound == 0 { 1.0 } else { o.calls as f64 / bound as f64 };
    format!(
        "| {} | {} | {}% | {} | {} ({}+{}) | {} ({}+{}) | {:.3} | {} | {:.2} s ({:.2} / {:.3} / {:.2}) | {:.2} s | {:.1}× | {:.2}% | {} | {}{} |",
        o.case.mailboxes,
        o.case.apps,
        o.case.drift,
        o.steps,
        o.calls,
        o.reads,
        o.writes,
        bound,
        o.bound_reads,
        o.bound_writes,
        ratio,
        o.per_change_calls,
        wall.as_secs_f64(),
        o.read.as_secs_f64(),
        o.plan.as_secs_f64(),
        o.apply.as_secs_f64(),
        baseline.as_secs_f64(),
        baseline.as_secs_f64() / wall.as_secs_f64().max(f64::EPSILON),
        100.0 * o.plan.as_secs_f64() / wall.as_secs_f64().max(f64::EPSILON),
        o.peak_memory,
        o.exposures.map_or_else(|| "not measured".to_owned(), |n| n.to_string()),
        if o.complete { "" } else { " (apply incomplete)" },
    )
}

/// Peak resident set size of this process (emulator included), from
/// `/proc/self/status`
/// (`VmHWM`, what `getrusage`'s `ru_maxrss` reports on Linux; read from the
/// file because the workspace forbids `unsafe`).
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".to_owned())
}
