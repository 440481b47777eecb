//! Command-line conventions: usage errors exit 1 on every command (2 is
//! reserved for "changes" and "drift"), completions and man pages, `show`,
//! `--app` and `--no-color`.

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{Run, Scratch, mailscope, root, run};

/// The commands (and `sim` subcommands) `mailscope --help` lists, so that a
/// command added later is covered without editing this test.
fn commands() -> Vec<Vec<String>> {
    fn listed(help: &str) -> Vec<String> {
        help.lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            // A wrapped description continues further indented.
            .filter(|l| !l[2..].starts_with(' '))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_owned)
            .collect()
    }
    let top = run(&["--help"]);
    assert_eq!(top.code, 0, "{}", top.stderr);
    let mut out = Vec::new();
    for name in listed(&top.stdout) {
        let sub = run(&[&name, "--help"]);
        assert_eq!(sub.code, 0, "{name} --help: {}", sub.stderr);
        let nested = listed(&sub.stdout);
        if nested.is_empty() {
            out.push(vec![name]);
        } else {
            out.extend(nested.into_iter().map(|n| vec![name.clone(), n]));
        }
    }
    assert!(out.len() >= 8, "too few commands found: {out:?}");
    out
}

#[test]
fn a_misspelled_flag_exits_1_on_every_command() {
    for command in commands() {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--no-such-flag");
        let r = run(&args);
        assert_eq!(r.code, 1, "{args:?} exited {}: {}", r.code, r.stderr);
        assert!(r.stderr.contains("--no-such-flag"), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn an_unknown_command_and_a_missing_argument_exit_1() {
    let r = run(&["plna"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("plna"), "{}", r.stderr);
    let r = run(&["plan"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("FILE"), "{}", r.stderr);
    assert_eq!(run(&["--version"]).code, 0);
}

#[test]
fn completions_and_man_pages_are_generated() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("mailscope"), "{shell}");
        assert!(r.stdout.contains("detailed-exitcode"), "{shell}: flags are completed");
    }
    assert_eq!(run(&["completions", "tcsh"]).code, 1);
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with(".ie") && r.stdout.contains(".TH mailscope 1"), "{}", r.stdout);
    let s = Scratch::new("man");
    let dir = s.path("man");
    let r = run(&["man", "--out-dir", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in ["mailscope.1", "mailscope-plan.1", "mailscope-apply.1", "mailscope-show.1"] {
        assert!(dir.join(page).is_file(), "{page}");
    }
}

/// Compares with a committed snapshot under `tests/e2e/snapshots`;
/// `UPDATE_SNAPSHOTS=1` rewrites it. The version reads `VERSION`, so that a
/// release does not rewrite them.
fn assert_snapshot(name: &str, actual: &str) {
    let actual = actual.replace(&format!("mailscope {}", env!("CARGO_PKG_VERSION")), "mailscope VERSION");
    let path = root().join("tests/e2e/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1 to create it)", path.display()));
    assert_eq!(actual, expected, "{} differs (UPDATE_SNAPSHOTS=1 rewrites it)", path.display());
}

const SNAPSHOT: &str = "policies/contoso.snapshot.json";

/// Saves the Contoso plan against its snapshot, with extra `plan` flags.
fn saved_plan(s: &Scratch, extra: &[&str]) -> PathBuf {
    let out = s.path("plan.json");
    let mut args =
        vec!["plan", "policies/contoso.yaml", "--snapshot", SNAPSHOT, "--out", out.to_str().unwrap()];
    args.extend(extra);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    out
}

#[test]
fn show_renders_a_saved_plan_in_each_format() {
    let s = Scratch::new("show");
    let plan = saved_plan(&s, &[]);
    let plan = plan.to_str().unwrap();
    let text = run(&["show", plan]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_snapshot("show.txt", &text.stdout);
    let md = run(&["show", plan, "--format", "markdown"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert_snapshot("show.md", &md.stdout);
    // The JSON is the plan itself, as `plan --format json` prints it.
    let json = run(&["show", plan, "--format", "json"]);
    let direct = run(&["plan", "policies/contoso.yaml", "--snapshot", SNAPSHOT, "--format", "json"]);
    assert_eq!(json.stdout, direct.stdout);
    // Not a saved plan: exit 1, named.
    let r = run(&["show", SNAPSHOT]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not a plan saved by `mailscope plan --out`"), "{}", r.stderr);
}

#[test]
fn app_limits_plan_and_drift_with_a_warning_and_is_recorded_in_a_saved_plan() {
    let base = ["plan", "policies/contoso.yaml", "--snapshot", SNAPSHOT, "--format", "json"];
    let full: Value = serde_json::from_str(&run(&base).stdout).unwrap();
    let mut args = base.to_vec();
    args.extend(["--app", "crm-sync", "--app", "HR-NOTIFIER"]);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning: --app is in effect: this run covers only crm-sync, HR-NOTIFIER"),
        "{}",
        r.stderr
    );
    let scoped: Value = serde_json::from_str(&r.stdout).unwrap();
    let names = |p: &Value| -> Vec<String> {
        p["apps"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&scoped), ["crm-sync", "hr-notifier"]);
    let steps = |p: &Value| p["steps"].as_array().unwrap().len();
    assert!(steps(&scoped) > 0 && steps(&scoped) < steps(&full));

    let r = run(&["plan", "policies/contoso.yaml", "--snapshot", SNAPSHOT, "--app", "nope"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("--app nope: no such app (the apps are: invoice-mailer, crm-sync"),
        "{}",
        r.stderr
    );

    let r = run(&["drift", "policies/contoso.yaml", "--snapshot", SNAPSHOT, "--app", "crm-sync"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.starts_with("Drift: 1 app of"), "{}", r.stdout);

    let s = Scratch::new("app-saved");
    let plan = saved_plan(&s, &["--app", "crm-sync"]);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["apps"], serde_json::json!(["crm-sync"]));
    let shown = run(&["show", plan.to_str().unwrap()]);
    assert!(shown.stdout.contains("limited to --app crm-sync"), "{}", shown.stdout);
    // A saved plan is applied as saved: --app cannot narrow it further.
    let r = run(&["apply", plan.to_str().unwrap(), "--app", "crm-sync"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--app does not narrow a saved plan"), "{}", r.stderr);
}

#[test]
fn no_color_turns_colour_off_like_no_color() {
    let mut cmd = mailscope(&["plan", "policies/contoso.yaml", "--snapshot", SNAPSHOT, "--no-color"]);
    let r: Run = cmd.env_remove("NO_COLOR").output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains('\u{1b}'), "no escape codes");
    // Logs on a non-terminal stderr have no colour codes either, even with
    // colour allowed.
    let s = Scratch::new("no-color");
    let tenant = format!("sim:{}", s.path("sim.json").display());
    let mut cmd = mailscope(&["plan", "policies/contoso.yaml", "--tenant", &tenant]);
    let r: Run =
        cmd.env_remove("NO_COLOR").env("MAILSCOPE_LOG", "mailscope_exo=debug").output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("DEBUG"), "there are log lines: {}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "{}", r.stderr);
}

#[test]
fn apply_with_app_changes_only_that_app() {
    let s = Scratch::new("app-apply");
    let tenant = format!("sim:{}", s.path("sim.json").display());
    let journal = s.path("journal.jsonl");
    let file = "policies/contoso.yaml";
    let r = run(&[
        "apply",
        file,
        "--tenant",
        &tenant,
        "--auto-approve",
        "--app",
        "crm-sync",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning: --app is in effect: this run covers only crm-sync"), "{}", r.stderr);
    let plan = |extra: &[&str]| -> Value {
        let mut args = vec!["plan", file, "--tenant", &tenant, "--format", "json"];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    };
    // crm-sync is done; the rest of the file is still to do.
    assert_eq!(plan(&["--app", "crm-sync"])["steps"].as_array().unwrap().len(), 0);
    let rest = plan(&[]);
    let changed: Vec<&str> = rest["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["change"] != "unchanged")
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(!changed.contains(&"crm-sync") && changed.contains(&"support-desk"), "{changed:?}");
}
