//! `GitOps` commands: `drift`, `reconcile`, `plan --split/--base`, against the
//! emulator on 127.0.0.1 (through `--tenant sim:PATH`, or an emulator served
//! by the test when it must be slowed down or shared).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Scratch, mailscope, root, run, serve_contoso_state};

const EXAMPLE: &str = "policies/contoso.yaml";

fn sim(scratch: &Scratch) -> String {
    format!("--tenant=sim:{}", scratch.path("state.json").display())
}

/// The example file with invoice-mailer narrowed to billing@ only.
fn narrowed(scratch: &Scratch) -> String {
    let text = std::fs::read_to_string(root().join(EXAMPLE)).unwrap();
    let changed =
        text.replace("allow: [billing@contoso.com, invoices@contoso.com]", "allow: [billing@contoso.com]");
    assert_ne!(text, changed, "the example changed: update this test");
    scratch.write("narrowed.yaml", &changed).display().to_string()
}

fn converge(scratch: &Scratch) {
    let r = run(&[
        "apply",
        EXAMPLE,
        &sim(scratch),
        "--auto-approve",
        "--allow-widening",
        "--journal",
        &scratch.path("apply.jsonl").display().to_string(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

fn events(stdout: &str) -> Vec<Value> {
    stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn names(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["event"].as_str()).collect()
}

/// A running `reconcile` whose event lines arrive on a channel.
struct Running {
    child: Child,
    lines: Receiver<Value>,
    seen: Vec<Value>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn mailscope");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        Running { child, lines: rx, seen: Vec::new() }
    }

    /// Waits (at most 20 s) for an event matching `pred`; returns it.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(v) = self.lines.recv_timeout(left) {
                self.seen.push(v.clone());
                if pred(&v) {
                    return v;
                }
            } else {
                let _ = self.child.kill();
                let mut err = String::new();
                let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("no {what} event; seen: {:#?}\nstderr: {err}", self.seen);
            }
        }
    }

    fn event(&mut self, name: &'static str) -> Value {
        self.wait_for(name, |v| v["event"] == name)
    }

    /// SIGTERM, then the exit code and the remaining events.
    fn terminate(mut self) -> (i32, Vec<Value>) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(status.success());
        let code = self.child.wait().expect("wait").code().unwrap_or(-1);
        self.seen.extend(self.lines.iter());
        (code, self.seen)
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect metrics");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A loopback webhook receiver: every POST body arrives on the channel.
fn webhook() -> (String, Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if let Ok(v) = serde_json::from_slice(&body)
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    (url, rx)
}

#[test]
fn drift_exit_codes_follow_changes_made_behind_the_tools_back() {
    let scratch = Scratch::new("drift-codes");
    converge(&scratch);
    let r = run(&["drift", EXAMPLE, &sim(&scratch)]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("In sync:"), "{}", r.stdout);

    // Someone changes the tenant outside git (here: applies another file).
    let other = narrowed(&scratch);
    let r = run(&[
        "apply",
        &other,
        &sim(&scratch),
        "--auto-approve",
        "--journal",
        &scratch.path("other.jsonl").display().to_string(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let r = run(&["drift", EXAMPLE, &sim(&scratch)]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("Drift: 1 app of"), "{}", r.stdout);

    let r = run(&["drift", EXAMPLE, &sim(&scratch), "--format", "json"]);
    assert_eq!(r.code, 2);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["inSync"], false);
    assert_eq!(json["drifted"][0]["name"], "invoice-mailer");
    assert_eq!(json["drifted"][0]["line"], 10);

    let r = run(&["drift", EXAMPLE, &sim(&scratch), "--format", "sarif"]);
    assert_eq!(r.code, 2);
    let sarif: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let drift = results.iter().find(|r| r["ruleId"] == "drift").expect("a drift result");
    let loc = &drift["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "policies/contoso.yaml");
    assert_eq!(loc["region"]["startLine"], 10);
    assert!(results.iter().any(|r| r["ruleId"] == "unlisted-app"), "{results:#?}");
    let rules: Vec<&str> = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"drift") && rules.contains(&"unmanaged-policy") && rules.contains(&"unlisted-app")
    );

    let r = run(&["drift", EXAMPLE, &sim(&scratch), "--format", "markdown"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.starts_with("<!-- mailscope-drift -->\n### mailscope drift: correcting it takes"),
        "{}",
        r.stdout
    );

    // An error is 1, not 2.
    let r = run(&["drift", "no-such-file.yaml", &sim(&scratch)]);
    assert_eq!(r.code, 1);
}

#[test]
fn reconcile_reports_without_correct_and_corrects_with_it() {
    let scratch = Scratch::new("reconcile-loop");
    let journal = scratch.path("journal.jsonl").display().to_string();
    let r = run(&[
        "reconcile",
        EXAMPLE,
        &sim(&scratch),
        "--every",
        "200ms",
        "--max-runs",
        "2",
        "--journal",
        &journal,
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let ev = events(&r.stdout);
    assert_eq!(names(&ev).iter().filter(|n| **n == "drift").count(), 2, "{ev:#?}");
    assert!(!names(&ev).contains(&"correcting"));
    assert!(!scratch.path("journal.jsonl").exists(), "reported only, nothing applied");
    assert_eq!(run(&["drift", EXAMPLE, &sim(&scratch)]).code, 2);

    // --correct without --allow-widening corrects every app but the one
    // whose correction widens access.
    let r = run(&["reconcile", EXAMPLE, &sim(&scratch), "--once", "--correct", "--journal", &journal]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let ev = events(&r.stdout);
    let skipped = ev.iter().find(|e| e["event"] == "correction_skipped").expect("skipped");
    assert_eq!(skipped["apps"], serde_json::json!(["invoice-mailer"]));
    assert!(names(&ev).contains(&"corrected"), "{ev:#?}");

    let r = run(&[
        "reconcile",
        EXAMPLE,
        &sim(&scratch),
        "--every",
        "200ms",
        "--max-runs",
        "2",
        "--correct",
        "--allow-widening",
        "--journal",
        &journal,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let results: Vec<String> = events(&r.stdout)
        .iter()
        .filter(|e| e["event"] == "run_finished")
        .map(|e| e["result"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(results, ["corrected", "in_sync"]);
    assert_eq!(run(&["drift", EXAMPLE, &sim(&scratch)]).code, 0);
}

#[test]
fn reconcile_serves_metrics_notifies_and_stops_on_sigterm() {
    let scratch = Scratch::new("reconcile-metrics");
    let (url, hooks) = webhook();
    let mut cmd = mailscope(&[
        "reconcile",
        EXAMPLE,
        &sim(&scratch),
        "--every",
        "300ms",
        "--metrics-listen",
        "127.0.0.1:0",
        "--notify-url",
        &url,
        "--journal",
        &scratch.path("j.jsonl").display().to_string(),
    ]);
    cmd.stdin(Stdio::null());
    let mut running = Running::start(cmd);
    let addr = running.event("metrics_listening")["address"].as_str().unwrap().to_owned();
    running.wait_for("run 2", |v| v["event"] == "run_finished" && v["run"] == 2);

    let metrics = http_get(&addr, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("text/plain; version=0.0.4"), "{metrics}");
    for line in [
        "# TYPE mailscope_drift_objects gauge",
        "mailscope_drift_objects 24",
        "mailscope_drift_apps 7",
        "mailscope_desired_valid 1",
        "mailscope_runs_total{result=\"drift\"} ",
        "mailscope_errors_total 0",
        "mailscope_last_success_timestamp_seconds ",
        "mailscope_api_calls_total{operation=\"Get-Recipient\"} ",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }

    // One drift notification for a steady drift, not one per run.
    let hook = hooks.recv_timeout(Duration::from_secs(5)).expect("a webhook call");
    assert_eq!(hook["event"], "drift");
    assert!(hook["text"].as_str().unwrap().contains("7 apps"), "{hook}");
    assert_eq!(hook["apps"].as_array().unwrap().len(), 7);
    assert!(hooks.recv_timeout(Duration::from_millis(400)).is_err(), "a steady drift is notified once");

    let (code, seen) = running.terminate();
    assert_eq!(code, 0);
    let stopped = seen.iter().find(|e| e["event"] == "stopped").expect("stopped event");
    assert_eq!(stopped["signal"], true);
}

#[test]
fn an_empty_or_invalid_desired_file_never_prunes() {
    let scratch = Scratch::new("reconcile-empty");
    converge(&scratch);
    let journal = scratch.path("journal.jsonl").display().to_string();
    let before = std::fs::read_to_string(scratch.path("state.json")).unwrap();
    for (name, text) in [
        ("empty.yaml", ""),
        ("no-apps.yaml", "apiVersion: mailscope/v1\napps: []\n"),
        ("broken.yaml", "apiVersion: mailscope/v1\napps: [\n"),
    ] {
        let file = scratch.write(name, text).display().to_string();
        let r = run(&[
            "reconcile",
            &file,
            &sim(&scratch),
            "--once",
            "--correct",
            "--allow-widening",
            "--allow-mass-change",
            "--remove-unlisted",
            "--journal",
            &journal,
        ]);
        assert_eq!(r.code, 1, "{name}: {}{}", r.stdout, r.stderr);
        let ev = events(&r.stdout);
        assert!(names(&ev).contains(&"desired_rejected"), "{name}: {ev:#?}");
        assert!(!names(&ev).contains(&"correcting"), "{name}: {ev:#?}");
    }
    assert_eq!(std::fs::read_to_string(scratch.path("state.json")).unwrap(), before);

    // While running, a file emptied after a good read keeps the last good one.
    let file = scratch.write("live.yaml", &std::fs::read_to_string(root().join(EXAMPLE)).unwrap());
    let mut cmd = mailscope(&[
        "reconcile",
        &file.display().to_string(),
        &sim(&scratch),
        "--every",
        "200ms",
        "--correct",
        "--allow-mass-change",
        "--journal",
        &journal,
    ]);
    cmd.stdin(Stdio::null());
    let mut running = Running::start(cmd);
    running.wait_for("run 1", |v| v["event"] == "run_finished" && v["run"] == 1);
    std::fs::write(&file, "apiVersion: mailscope/v1\napps: []\n").unwrap();
    let rejected = running.event("desired_rejected");
    assert!(rejected["keeping"].is_string(), "{rejected}");
    running.wait_for("a run after the rejection", |v| v["event"] == "in_sync");
    let (code, seen) = running.terminate();
    assert_eq!(code, 0);
    assert!(!names(&seen).contains(&"correcting"), "{seen:#?}");
    assert_eq!(run(&["drift", EXAMPLE, &sim(&scratch)]).code, 0);
}

#[test]
fn sigterm_mid_correction_leaves_a_journal_and_the_next_run_converges() {
    let scratch = Scratch::new("reconcile-sigterm");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = serve_contoso_state(&rt, scratch.path("state.json"));
    let sim = server.sim().clone();
    let creds = server.operator().clone();
    let mut config = sim.config();
    config.faults.latency_ms = 120;
    sim.set_config(config.clone());
    let base = server.base_url();
    let journal = scratch.path("journal.jsonl");
    let command = |extra: &[&str]| {
        let mut args = vec![
            "reconcile",
            EXAMPLE,
            "--tenant",
            &creds.tenant_id,
            "--login-url",
            &base,
            "--exo-url",
            &base,
            "--graph-url",
            &base,
            "--correct",
            "--allow-widening",
            "--concurrency",
            "1",
            "--journal",
        ];
        let journal = journal.to_str().unwrap();
        args.push(journal);
        args.extend_from_slice(extra);
        let mut cmd = mailscope(&args);
        cmd.env("AZURE_CLIENT_ID", &creds.client_id).env("AZURE_CLIENT_SECRET", &creds.client_secret);
        cmd.stdin(Stdio::null());
        cmd
    };

    let mut running = Running::start(command(&["--every", "1h"]));
    let correcting = running.event("correcting");
    let total = correcting["steps"].as_u64().unwrap();
    assert_eq!(total, 16);
    std::thread::sleep(Duration::from_millis(500));
    let (code, seen) = running.terminate();
    assert_eq!(code, 0, "{seen:#?}");
    let interrupted = seen.iter().find(|e| e["event"] == "correction_interrupted").expect("interrupted");
    let done = interrupted["done"].as_u64().unwrap();
    assert!(done > 0 && done < total, "{interrupted}");
    assert!(interrupted["notStarted"].as_u64().unwrap() > 0, "{interrupted}");
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert!(journal_text.lines().count() > 2, "{journal_text}");
    assert!(journal_text.contains("\"skipped\"") || journal_text.contains("not_started"), "{journal_text}");

    // The next run (no latency) re-reads the tenant and finishes the job.
    config.faults.latency_ms = 0;
    sim.set_config(config);
    let r: crate::harness::Run = command(&["--once"]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let ev = events(&r.stdout);
    let corrected = ev.iter().find(|e| e["event"] == "corrected").expect("corrected");
    assert_eq!(
        corrected["done"].as_u64().unwrap() + corrected["alreadyDone"].as_u64().unwrap() + done,
        total
    );
    let r: crate::harness::Run = command(&["--once"]).output().unwrap().into();
    assert_eq!(r.code, 0);
    assert!(names(&events(&r.stdout)).contains(&"in_sync"));
    rt.block_on(server.shutdown());
}

#[test]
fn plan_split_and_base_shape_the_comment() {
    let scratch = Scratch::new("plan-split");
    let dir = scratch.path("comments");
    let snapshot = "policies/contoso.snapshot.json";
    let r = run(&[
        "plan",
        EXAMPLE,
        "--snapshot",
        snapshot,
        "--format",
        "markdown",
        "--split",
        dir.to_str().unwrap(),
        "--comment-limit",
        "1500",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let paths: Vec<&str> = r.stdout.lines().collect();
    assert!(paths.len() > 1, "{}", r.stdout);
    for (i, p) in paths.iter().enumerate() {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(text.len() <= 1500, "{p}: {}", text.len());
        // The marker names the file and the tenant (the snapshot's).
        let key = format!("<!-- mailscope-plan file={EXAMPLE} tenant=contoso.onmicrosoft.com");
        let marker = if i == 0 { format!("{key} -->") } else { format!("{key} part={} -->", i + 1) };
        assert!(text.starts_with(&marker), "{text}");
    }
    // A later, shorter plan removes the stale parts.
    let r = run(&[
        "plan",
        EXAMPLE,
        "--snapshot",
        snapshot,
        "--format",
        "markdown",
        "--split",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(r.stdout.lines().count(), 1);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let base = narrowed(&scratch);
    let r = run(&["plan", EXAMPLE, "--snapshot", snapshot, "--format", "markdown", "--base", &base]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("#### Changed by this commit") && r.stdout.contains("#### Changed outside git")
    );
    let r = run(&["plan", EXAMPLE, "--snapshot", snapshot, "--base", &base]);
    assert_eq!(r.code, 1, "--base needs --format markdown");
}
