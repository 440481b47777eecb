//! The apply lease end to end (docs/reliability.md, "Apply lease"): two
//! `mailscope apply` runs against one emulator served over HTTP, reached
//! through the real-tenant code path. The second either fails at once
//! naming the holder, or waits and then plans from what the first left;
//! either way no change is lost and no moment exposes a mailbox.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::campaign::Served;
use crate::harness::Run;

const APPLY: [&str; 4] = ["apply", "--auto-approve", "--allow-widening", "--concurrency"];

/// Starts a slow apply of `file` (120 ms per call, one call at a time).
fn start_slow_apply(t: &Served, file: &str, journal: &str) -> Child {
    t.control("POST", "/_sim/faults", Some(json!({"latencyMs": 120})));
    let mut args = APPLY.to_vec();
    args.insert(1, file);
    args.extend(["1", "--journal", journal]);
    t.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Waits until the lease group exists in the emulator.
fn wait_for_lease(t: &Served) {
    let start = Instant::now();
    while !t.control("GET", "/_sim/state", None).to_string().contains("\"mailscope-lease\"") {
        assert!(start.elapsed() < Duration::from_secs(30), "the first apply never took the lease");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lease_exists(t: &Served) -> bool {
    t.control("GET", "/_sim/state", None).to_string().contains("\"mailscope-lease\"")
}

fn converged_without_exposure(t: &Served, file: &str) {
    t.control("POST", "/_sim/faults", Some(json!({})));
    let plan: Run = t.command(&["plan", file, "--detailed-exitcode"]).output().unwrap().into();
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    let exposure = t.control("GET", "/_sim/exposure", None);
    assert_eq!(exposure["checkpoint"], true);
    assert_eq!(exposure["exposures"], json!([]), "{exposure}");
    assert!(!lease_exists(t), "the lease was released");
}

#[test]
fn a_second_apply_fails_at_once_and_names_the_holder() {
    let t = Served::start("lease-fail");
    let files = crate::campaign::desired_files(&t.scratch);
    let journal = t.scratch.path("a.jsonl").display().to_string();
    t.control("POST", "/_sim/exposure/checkpoint", None);
    let first = start_slow_apply(&t, &files[0], &journal);
    let holder_pid = first.id();
    wait_for_lease(&t);

    let journal_b = t.scratch.path("b.jsonl").display().to_string();
    let second: Run = t
        .command(&["apply", &files[1], "--auto-approve", "--journal", &journal_b, "--lock-timeout", "0s"])
        .output()
        .unwrap()
        .into();
    assert_eq!(second.code, 1, "{}{}", second.stdout, second.stderr);
    assert!(second.stderr.contains("the tenant is locked by another apply: run "), "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!(", pid {holder_pid}) holds the lease until 20")),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("--lock-timeout"), "{}", second.stderr);
    assert!(!t.scratch.path("b.jsonl").exists(), "the refused run wrote nothing");

    let first: Run = first.wait_with_output().unwrap().into();
    assert_eq!(first.code, 0, "{}", first.stderr);
    converged_without_exposure(&t, &files[0]);
}

#[test]
fn a_waiting_apply_plans_from_what_the_holder_left_and_nothing_is_lost() {
    let t = Served::start("lease-wait");
    let files = crate::campaign::desired_files(&t.scratch);
    let journal = t.scratch.path("a.jsonl").display().to_string();
    t.control("POST", "/_sim/exposure/checkpoint", None);
    let first = start_slow_apply(&t, &files[0], &journal);
    wait_for_lease(&t);

    // The second run asks for the example minus one member; it waits for
    // the lease, then reads the tenant the first run left and plans only
    // that one removal.
    let journal_b = t.scratch.path("b.jsonl").display().to_string();
    let second: Run = t
        .command(&["apply", &files[1], "--auto-approve", "--journal", &journal_b, "--lock-timeout", "2m"])
        .output()
        .unwrap()
        .into();
    let first: Run = first.wait_with_output().unwrap().into();
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stderr.contains("Apply complete: 16 done"), "{}", first.stderr);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("- member onboarding@contoso.com"), "{}", second.stdout);
    assert!(second.stderr.contains("Apply complete: 1 done"), "{}", second.stderr);
    converged_without_exposure(&t, &files[1]);
}

#[test]
fn a_saved_plan_waits_for_the_lease_then_is_refused_as_stale() {
    let t = Served::start("lease-saved");
    let files = crate::campaign::desired_files(&t.scratch);
    // A plan saved from the untouched tenant...
    let saved = t.scratch.path("plan.json").display().to_string();
    let planned: Run = t.command(&["plan", &files[0], "--out", &saved]).output().unwrap().into();
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    // ...applied while another apply holds the lease: it waits, then finds
    // the tenant that apply left, which is not the one it was made from.
    let journal = t.scratch.path("a.jsonl").display().to_string();
    t.control("POST", "/_sim/exposure/checkpoint", None);
    let first = start_slow_apply(&t, &files[0], &journal);
    wait_for_lease(&t);
    let journal_b = t.scratch.path("b.jsonl").display().to_string();
    let second: Run = t
        .command(&["apply", &saved, "--journal", &journal_b, "--lock-timeout", "2m"])
        .output()
        .unwrap()
        .into();
    let first: Run = first.wait_with_output().unwrap().into();
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(second.code, 1, "{}{}", second.stdout, second.stderr);
    assert!(second.stderr.contains("the saved plan is stale"), "{}", second.stderr);
    assert!(!t.scratch.path("b.jsonl").exists(), "the refused plan wrote nothing");
    converged_without_exposure(&t, &files[0]);
}

#[test]
fn no_lock_applies_without_the_lease_and_says_so() {
    // The same apply on two fresh tenants, with and without the lease: the
    // lease is one group created, its record written (when taken, and once
    // more just before the first step), and removed; nothing else.
    let creates = |extra: &[&str]| {
        let t = Served::start(&format!("lease-nolock{}", extra.len()));
        let files = crate::campaign::desired_files(&t.scratch);
        let journal = t.scratch.path("a.jsonl").display().to_string();
        let mut args = APPLY.to_vec();
        args.insert(1, &files[0]);
        args.extend(["4", "--journal", &journal]);
        args.extend(extra);
        let r: Run = t.command(&args).output().unwrap().into();
        assert_eq!(r.code, 0, "{}", r.stderr);
        let stats = t.control("GET", "/_sim/stats", None);
        let count = |c: &str| stats["cmdlets"][c].as_u64().unwrap_or(0);
        (
            r.stderr,
            [
                count("New-DistributionGroup"),
                count("Set-DistributionGroup"),
                count("Remove-DistributionGroup"),
            ],
        )
    };
    let (locked_err, locked) = creates(&[]);
    let (unlocked_err, unlocked) = creates(&["--no-lock"]);
    assert!(!locked_err.contains("--no-lock"), "{locked_err}");
    assert!(
        unlocked_err.contains("WARNING: --no-lock: applying without the tenant's lease"),
        "{unlocked_err}"
    );
    assert_eq!([locked[0] - unlocked[0], locked[1] - unlocked[1], locked[2] - unlocked[2]], [1, 2, 1]);
}
