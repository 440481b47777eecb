//! The fault campaign (docs/reliability.md, "Fault campaign"): seeded runs of
//! the real binary against an emulator served over HTTP, with random
//! throttling, server errors, connection resets, latency, one failed
//! mutation before or after it commits, and the process killed with SIGKILL
//! at a random moment; then a rerun without faults. After each run: the
//! tenant is what the file asks (`plan --detailed-exitcode` exits 0), the
//! exposure log is empty (no moment gave an app a mailbox that neither the
//! start nor the file allows), and the journal accounts for every step.
//!
//! Short mode (15 seeds) runs with the suite. The long mode:
//! `MAILSCOPE_CAMPAIGN_RUNS=1000 cargo test -p mailscope-cli --test e2e -- campaign --nocapture`
//! (`MAILSCOPE_CAMPAIGN_SEED` moves the first seed, `MAILSCOPE_CAMPAIGN_JOBS`
//! runs seeds side by side); it prints the figures docs/reliability.md quotes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mailscope_testkit::{Emulator, Seed};
use serde_json::{Value, json};

use crate::harness::{Run, Scratch, mailscope, root};

/// Runs of the short mode (the suite).
const SHORT_RUNS: u64 = 15;

/// `SplitMix64`: the campaign's own seeded stream, so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.below(items.len() as u64)).unwrap()]
    }

    /// A rate in `[0, max)` hundredths, or 0 half of the time.
    fn rate(&mut self, max_percent: u64) -> f64 {
        if self.below(2) == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let r = self.below(max_percent * 100) as f64 / 10_000.0;
        r
    }
}

/// What one seed did, for the totals.
#[derive(Default)]
struct Figures {
    runs: u64,
    killed: u64,
    first_run_failed: u64,
    reruns: u64,
    faults: BTreeMap<String, u64>,
    journal_steps: u64,
}

impl Figures {
    fn add(&mut self, other: Figures) {
        self.runs += other.runs;
        self.killed += other.killed;
        self.first_run_failed += other.first_run_failed;
        self.reruns += other.reruns;
        self.journal_steps += other.journal_steps;
        for (k, v) in other.faults {
            *self.faults.entry(k).or_default() += v;
        }
    }
}

/// An emulator served in the test process, the binary reaching it through
/// the real-tenant code path (also used by `lease`).
pub(crate) struct Served {
    rt: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
    pub(crate) scratch: Scratch,
}

impl Served {
    pub(crate) fn start(name: &str) -> Served {
        let scratch = Scratch::new(name);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let emulator = rt.block_on(Emulator::start(&Seed::Contoso));
        Served { rt, emulator: Some(emulator), scratch }
    }

    fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().unwrap()
    }

    pub(crate) fn command(&self, args: &[&str]) -> std::process::Command {
        let op = self.emulator().operator();
        let url = self.emulator().base_url();
        let mut all = args.to_vec();
        all.extend(["--tenant", &op.tenant_id]);
        let mut cmd = binary(&all);
        cmd.env("AZURE_CLIENT_ID", &op.client_id)
            .env("AZURE_CLIENT_SECRET", op.client_secret.as_str())
            .env("MAILSCOPE_LOGIN_URL", &url)
            .env("MAILSCOPE_EXO_URL", &url)
            .env("MAILSCOPE_GRAPH_URL", &url)
            .stdin(Stdio::null());
        cmd
    }

    pub(crate) fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.emulator().base_url());
        self.rt.block_on(async {
            let client = reqwest::Client::new();
            let req = if method == "POST" { client.post(url) } else { client.get(url) };
            let req = match body {
                Some(b) => req.json(&b),
                None => req,
            };
            let resp = req.send().await.unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.unwrap_or(Value::Null)
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.rt.block_on(emulator.shutdown());
        }
    }
}

/// The binary under test: `MAILSCOPE_CAMPAIGN_BIN` when set (a copy, so
/// that a long campaign is not disturbed by a rebuild), else the one cargo
/// built for this test. The environment is cleaned as `harness::mailscope`
/// does; `Served::command` sets what the run needs.
fn binary(args: &[&str]) -> std::process::Command {
    let Ok(bin) = std::env::var("MAILSCOPE_CAMPAIGN_BIN") else { return mailscope(args) };
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args).current_dir(root()).env("NO_COLOR", "1");
    for var in ["AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "MAILSCOPE_CA_FILE"] {
        cmd.env_remove(var);
    }
    cmd
}

/// The desired files a seed picks from: the example, and the example with
/// one member fewer (a narrowing on top of the rest).
pub(crate) fn desired_files(scratch: &Scratch) -> Vec<String> {
    let example = std::fs::read_to_string(root().join("policies/contoso.yaml")).unwrap();
    let narrower = example.replace("      - onboarding@contoso.com\n", "");
    assert_ne!(example, narrower, "the example still lists onboarding@contoso.com");
    vec![
        scratch.write("example.yaml", &example).display().to_string(),
        scratch.write("narrower.yaml", &narrower).display().to_string(),
    ]
}

/// Waits for `child` until `deadline` from now, then kills it with SIGKILL.
/// Returns whether it was killed (false: it ended first).
fn kill_at(child: &mut Child, after: Duration) -> bool {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if start.elapsed() >= after {
            // `Child::kill` sends SIGKILL on unix.
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One seeded run; panics with the seed on any broken promise.
#[allow(clippy::too_many_lines)]
fn one_run(seed: u64) -> Figures {
    let mut rng = Rng(seed);
    let t = Served::start(&format!("campaign-{seed}"));
    let files = desired_files(&t.scratch);
    let file = rng.pick(&files).clone();
    let journal = t.scratch.path("journal.jsonl");
    let journal_arg = journal.display().to_string();
    t.control("POST", "/_sim/exposure/checkpoint", None);

    let fail_nth = if rng.below(3) == 0 {
        Value::Null
    } else {
        json!({
            "n": 1 + rng.below(30),
            "kind": rng.pick(&["reset", "500", "503"]),
            "when": rng.pick(&["before", "after"]),
        })
    };
    let faults = json!({
        "seed": seed,
        "throttleRate": rng.rate(10),
        "retryAfterSecs": 0,
        "serverErrorRate": rng.rate(6),
        "serverErrorStatus": rng.pick(&[500u16, 503, 504]),
        "resetRate": rng.rate(5),
        "latencyMs": *rng.pick(&[0u64, 0, 0, 3, 25, 120]),
        "failNthMutation": fail_nth,
    });
    t.control("POST", "/_sim/faults", Some(faults.clone()));

    let attempts = rng.pick(&["1", "2", "6"]).to_string();
    let concurrency = rng.pick(&["1", "4", "8"]).to_string();
    // Half of the runs are killed, at a moment spread over a run's length
    // (tokens, reads, then the writes).
    let kill_after = (rng.below(2) == 0).then(|| Duration::from_millis(rng.below(900)));
    let apply = [
        "apply",
        file.as_str(),
        "--auto-approve",
        "--allow-widening",
        "--allow-mass-change",
        "--journal",
        journal_arg.as_str(),
    ];
    let mut first_args = apply.to_vec();
    first_args.extend(["--max-attempts", &attempts, "--concurrency", &concurrency]);
    let mut figures = Figures { runs: 1, ..Figures::default() };
    let mut cmd = t.command(&first_args);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let killed = match kill_after {
        Some(after) => kill_at(&mut child, after),
        None => false,
    };
    let first: Run = child.wait_with_output().unwrap().into();
    if killed {
        figures.killed += 1;
    } else {
        assert!(
            first.code == 0 || first.code == 1,
            "seed {seed}: {faults}: exit {}: {}",
            first.code,
            first.stderr
        );
        assert!(!first.stderr.contains("panicked"), "seed {seed}: {}", first.stderr);
        if first.code == 1 {
            figures.first_run_failed += 1;
            assert!(
                first.stderr.contains("run the same command again") || first.stderr.contains("error:"),
                "seed {seed}: {}",
                first.stderr
            );
        }
    }

    let stats = t.control("GET", "/_sim/stats", None);
    for (kind, n) in stats["faults"].as_object().unwrap() {
        *figures.faults.entry(kind.clone()).or_default() += n.as_u64().unwrap();
    }
    let armed = !faults["failNthMutation"].is_null();
    let left = t.control("GET", "/_sim/faults", None);
    if armed && left["failNthMutation"].is_null() {
        let key = format!("failNthMutation {}", faults["failNthMutation"]["when"].as_str().unwrap());
        *figures.faults.entry(key).or_default() += 1;
    }
    if faults["latencyMs"].as_u64().unwrap() >= 25 {
        *figures.faults.entry("latency runs".into()).or_default() += 1;
    }

    // The rerun, without faults, converges.
    t.control("POST", "/_sim/faults", Some(json!({})));
    let mut converged = false;
    let mut last = String::new();
    for _ in 0..3 {
        figures.reruns += 1;
        let r: Run = t.command(&apply).output().unwrap().into();
        if r.code == 0 {
            converged = true;
            break;
        }
        last = format!("{}{}", r.stdout, r.stderr);
    }
    assert!(converged, "seed {seed}: {faults}: the rerun did not succeed: {last}");
    let plan: Run = t.command(&["plan", &file, "--detailed-exitcode"]).output().unwrap().into();
    assert_eq!(plan.code, 0, "seed {seed}: {faults}: not converged: {}{}", plan.stdout, plan.stderr);
    let exposure = t.control("GET", "/_sim/exposure", None);
    assert_eq!(exposure["checkpoint"], true);
    assert_eq!(exposure["exposures"], json!([]), "seed {seed}: {faults}: {exposure}");

    figures.journal_steps += check_journal(seed, &std::fs::read_to_string(&journal).unwrap_or_default());
    figures
}

/// Checks that the journal accounts for every step of every run in it: a
/// finished run (footer) has exactly one outcome per planned step and
/// counts that add up; a killed run (no footer) has no outcome without a
/// `started` line before it. Returns the outcomes seen.
fn check_journal(seed: u64, text: &str) -> u64 {
    let mut runs: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("seed {seed}: a journal line is not JSON ({e}): {line}"));
        runs.entry(v["run_id"].as_str().unwrap().to_owned()).or_default().push(v);
    }
    assert!(!runs.is_empty(), "seed {seed}: the journal is empty");
    let mut outcomes = 0;
    for (run_id, lines) in &runs {
        assert_eq!(lines[0]["event"], "header", "seed {seed} run {run_id}: no header first");
        let planned = lines[0]["plan"]["steps"].as_u64().unwrap();
        let mut started = BTreeSet::new();
        let mut finished: BTreeMap<u64, String> = BTreeMap::new();
        let mut footer = None;
        for l in &lines[1..] {
            match l["event"].as_str().unwrap() {
                "step" => {
                    let step = l["step"].as_u64().unwrap();
                    assert!(step < planned, "seed {seed} run {run_id}: step {step} of {planned}");
                    let outcome = l["outcome"].as_str().unwrap().to_owned();
                    if outcome == "started" {
                        assert!(started.insert(step), "seed {seed} run {run_id}: step {step} started twice");
                        continue;
                    }
                    if outcome != "skipped" {
                        assert!(
                            started.contains(&step),
                            "seed {seed} run {run_id}: step {step} {outcome} without started"
                        );
                    }
                    assert!(
                        finished.insert(step, outcome).is_none(),
                        "seed {seed} run {run_id}: step {step} finished twice"
                    );
                    outcomes += 1;
                }
                "footer" => footer = Some(l.clone()),
                other => panic!("seed {seed} run {run_id}: unknown event {other}"),
            }
        }
        if let Some(footer) = footer {
            assert_eq!(
                finished.len() as u64,
                planned,
                "seed {seed} run {run_id}: a finished run leaves a step unaccounted for"
            );
            let counted: u64 =
                footer["counts"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
            assert_eq!(counted, planned, "seed {seed} run {run_id}: footer counts");
        }
    }
    outcomes
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is not a number")))
}

#[test]
fn campaign_of_seeded_faults_and_kills_converges_without_exposure() {
    let runs = env_u64("MAILSCOPE_CAMPAIGN_RUNS").unwrap_or(SHORT_RUNS);
    let first = env_u64("MAILSCOPE_CAMPAIGN_SEED").unwrap_or(1);
    let jobs = env_u64("MAILSCOPE_CAMPAIGN_JOBS").unwrap_or(1).max(1);
    let started = Instant::now();
    let next = Mutex::new(first);
    let totals = Mutex::new(Figures::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let seed = {
                        let mut n = next.lock().unwrap();
                        if *n >= first + runs {
                            return;
                        }
                        *n += 1;
                        *n - 1
                    };
                    let f = one_run(seed);
                    let mut totals = totals.lock().unwrap();
                    totals.add(f);
                    if totals.runs % 50 == 0 {
                        eprintln!("campaign: {} runs, {:.0} s", totals.runs, started.elapsed().as_secs_f64());
                    }
                }
            });
        }
    });
    let t = totals.into_inner().unwrap();
    eprintln!(
        "campaign: seeds {first}..{}: {} runs, {} killed with SIGKILL, {} first runs stopped by a fault, \
         {} reruns, faults injected {:?}, {} journal step outcomes checked, exposures 0, convergence failures 0, \
         {:.0} s",
        first + runs - 1,
        t.runs,
        t.killed,
        t.first_run_failed,
        t.reruns,
        t.faults,
        t.journal_steps,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(t.runs, runs);
    if runs >= SHORT_RUNS {
        assert!(t.killed > 0, "no run was killed: the campaign proves nothing about kills");
        assert!(t.faults.values().sum::<u64>() > 0, "no fault was injected");
    }
}
