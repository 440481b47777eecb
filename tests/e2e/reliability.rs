//! Reliability: what mailscope writes is private, what it reads is judged by
//! its content, and a corpus of hostile inputs is refused with located
//! errors and no panic (`tests/corpus/`, docs/reliability.md).

use crate::harness::{Scratch, root, run};

/// Two apps of the example, written in JSON style (YAML is a superset of
/// JSON, so this is a valid desired file).
const JSON_DESIRED: &str = r#"{
  "apiVersion": "mailscope/v1",
  "tenant": "contoso.onmicrosoft.com",
  "apps": [
    {"name": "invoice-mailer", "appId": "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60",
     "allow": ["billing@contoso.com", "invoices@contoso.com"]},
    {"name": "crm-sync", "appId": "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d",
     "deny": ["ceo@contoso.com", "cfo@contoso.com"]}
  ]
}
"#;

#[test]
fn a_desired_file_in_json_style_is_planned_not_taken_for_a_saved_plan() {
    let s = Scratch::new("json-desired");
    let file = s.write("desired.json", JSON_DESIRED);
    let tenant = format!("sim:{}", s.path("state.json").display());
    let journal = s.path("journal.jsonl");
    let r = run(&[
        "apply",
        file.to_str().unwrap(),
        "--tenant",
        &tenant,
        "--auto-approve",
        "--allow-widening",
        "--allow-mass-change",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("is not a plan saved"), "{}", r.stderr);
    assert!(r.stderr.contains("Apply complete"), "{}", r.stderr);
}

#[test]
fn a_truncated_saved_plan_is_still_read_as_a_plan() {
    let s = Scratch::new("truncated-plan");
    let file = s.write("plan.json", "{\"saved_plan_version\": 1, \"tool_version\": \"0");
    let tenant = format!("sim:{}", s.path("state.json").display());
    let r = run(&["apply", file.to_str().unwrap(), "--tenant", &tenant, "--auto-approve"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is not a plan saved by `mailscope plan --out`"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn plan_out_and_the_journal_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new("modes");
    let tenant = format!("sim:{}", s.path("state.json").display());
    let plan = s.path("plan.json");
    let example = root().join("policies/contoso.yaml");
    let r = run(&["plan", example.to_str().unwrap(), "--tenant", &tenant, "--out", plan.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&plan), 0o600);
    let journal = s.path("journal.jsonl");
    let r = run(&[
        "apply",
        plan.to_str().unwrap(),
        "--tenant",
        &tenant,
        "--auto-approve",
        "--allow-widening",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(mode(&journal), 0o600);
}
