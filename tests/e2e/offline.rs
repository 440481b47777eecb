//! Commands that need no tenant: validate, schema, plan --snapshot.

use crate::harness::{Scratch, root, run};

#[test]
fn validate_accepts_the_example_and_exits_0() {
    let r = run(&["validate", "policies/contoso.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "policies/contoso.yaml: valid (6 apps)\n");
}

#[test]
fn validate_rejects_with_file_line_column_and_exits_1() {
    let s = Scratch::new("validate");
    let bad = s.write(
        "bad.yaml",
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: nope\n    allow: [x@contoso.com]\n",
    );
    let r = run(&["validate", "policies/contoso.yaml", bad.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("contoso.yaml: valid"), "every file is checked: {}", r.stdout);
    let expected = format!("{}:4:12: appId \"nope\" of app \"a\" is not a GUID", bad.display());
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert!(r.stderr.contains("help: copy the Application (client) ID"), "{}", r.stderr);
}

#[test]
fn validate_names_a_missing_file() {
    let r = run(&["validate", "no/such/file.yaml"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot read no/such/file.yaml"), "{}", r.stderr);
}

#[test]
fn schema_prints_the_committed_schema() {
    let r = run(&["schema"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, std::fs::read_to_string(root().join("policies/schema.json")).unwrap());
}

#[test]
fn plan_from_a_snapshot_prints_the_plan_and_its_summary() {
    let r = run(&["plan", "policies/contoso.yaml", "--snapshot", "policies/contoso.snapshot.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("+ policy DenyAccess on \"mailscope-crm-sync-deny\""), "{}", r.stdout);
    assert!(r.stdout.ends_with("Plan: 17 to add, 3 to change, 4 to destroy.\n"), "{}", r.stdout);
    assert!(!r.stdout.contains('\x1b'), "NO_COLOR and a pipe mean no colour");
}

#[test]
fn detailed_exitcode_is_2_with_changes_and_0_without() {
    let r = run(&[
        "plan",
        "policies/contoso.yaml",
        "--snapshot",
        "policies/contoso.snapshot.json",
        "--detailed-exitcode",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    // A tenant that already matches: no changes, exit 0.
    let s = Scratch::new("nochange");
    let desired = s.write(
        "d.yaml",
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n    allow: [x@contoso.com]\n",
    );
    let snapshot = s.write(
        "live.json",
        r#"{"formatVersion":1,
            "groups":[{"id":"g1","name":"mailscope-a-allow","primarySmtpAddress":"g@contoso.com",
                       "marker":"mailscope/v1 app=3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60 list=allow","members":["X@contoso.com"]}],
            "policies":[{"identity":"t\\3f2a:s;g1","appId":"3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60","scopeId":"g1",
                         "scopeName":"mailscope-a-allow","accessRight":"RestrictAccess",
                         "description":"mailscope/v1 app=3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60 list=allow"}],
            "recipients":[{"address":"x@contoso.com","kind":"UserMailbox"}]}"#,
    );
    let r = run(&[
        "plan",
        desired.to_str().unwrap(),
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--detailed-exitcode",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("No changes."), "{}", r.stdout);
}

#[test]
fn plan_errors_exit_1_and_list_every_missing_mailbox() {
    let s = Scratch::new("missing");
    let desired = s.write(
        "d.yaml",
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n    allow: [ghost@contoso.com, billing@contoso.com, spook@contoso.com]\n",
    );
    let r = run(&[
        "plan",
        desired.to_str().unwrap(),
        "--snapshot",
        "policies/contoso.snapshot.json",
        "--detailed-exitcode",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            ":5:13: mailbox ghost@contoso.com in `allow` of app \"a\" does not exist in the tenant"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(":5:53: mailbox spook@contoso.com"), "{}", r.stderr);
}

#[test]
fn json_plan_and_saved_plan_hold_the_steps_and_no_secret() {
    let s = Scratch::new("json");
    let out = s.path("plan.json");
    let r = run(&[
        "plan",
        "policies/contoso.yaml",
        "--snapshot",
        "policies/contoso.snapshot.json",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["format_version"], 2);
    assert_eq!(plan["steps"].as_array().unwrap().len(), 16);
    assert_eq!(plan["summary"]["widening"], 1);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(saved["plan"], plan);
    assert_eq!(saved["saved_plan_version"], 1);
    assert_eq!(saved["desired_sha256"].as_str().unwrap().len(), 64);
    assert!(saved["live"]["groups"].is_array());
}

#[test]
fn a_broken_snapshot_is_named() {
    let s = Scratch::new("badsnap");
    let snap = s.write("live.json", "{\"formatVersion\": 1, \"groups\": 3}");
    let r = run(&["plan", "policies/contoso.yaml", "--snapshot", snap.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not a live snapshot"), "{}", r.stderr);
    assert!(r.stderr.contains("invalid type"), "the JSON error is shown: {}", r.stderr);
}

#[test]
fn markdown_plan_starts_with_the_comment_marker_and_summary() {
    let r = run(&[
        "plan",
        "policies/contoso.yaml",
        "--snapshot",
        "policies/contoso.snapshot.json",
        "--format",
        "markdown",
    ]);
    assert_eq!(r.code, 0);
    let mut lines = r.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("<!-- mailscope-plan file=policies/contoso.yaml tenant=contoso.onmicrosoft.com -->"),
        "the marker names the file and the tenant, so two files keep two comments"
    );
    assert_eq!(lines.next(), Some("### mailscope plan: 17 to add, 3 to change, 4 to destroy."));
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some("file `policies/contoso.yaml` · tenant `contoso.onmicrosoft.com`"));
}

#[test]
fn the_markdown_comment_names_the_commit_and_links_the_run_from_the_ci_environment() {
    let mut cmd = crate::harness::mailscope(&[
        "plan",
        "policies/contoso.yaml",
        "--snapshot",
        "policies/contoso.snapshot.json",
        "--format",
        "markdown",
    ]);
    cmd.env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "contoso/mail-policies")
        .env("GITHUB_RUN_ID", "4242");
    let r: crate::harness::Run = cmd.output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.lines().nth(3),
        Some(
            "file `policies/contoso.yaml` · tenant `contoso.onmicrosoft.com` · commit `0123456789ab` · \
             [CI run](https://github.com/contoso/mail-policies/actions/runs/4242)"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn validate_warns_about_a_mailbox_in_both_lists_and_still_exits_0() {
    let s = Scratch::new("validate-warn");
    let file = s.write(
        "overlap.yaml",
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n    allow: [x@contoso.com]\n    deny: [x@contoso.com]\n",
    );
    let r = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let expected = format!("warning: {}:5:13: x@contoso.com is in both `allow` and `deny`", file.display());
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn input_files_must_be_regular_files_read_with_a_cap() {
    let s = Scratch::new("validate-special");
    // A symlink to an endless device and a FIFO (which would block the
    // open until a writer comes) are refused at once, not read.
    let zero = s.path("zero.yaml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let fifo = s.path("fifo.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|st| st.success());
    for path in [Some(&zero), made.then_some(&fifo)].into_iter().flatten() {
        let r = run(&["validate", path.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("is not a regular file"), "{}", r.stderr);
        let r = run(&["plan", path.to_str().unwrap(), "--snapshot", "policies/contoso.snapshot.json"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("is not a regular file"), "{}", r.stderr);
    }
}
