//! The SARIF drift report (`mailscope drift --format sarif`).

use mailscope_planner::{
    AccessSummary, AppChange, AppPlan, Finding, LiveSnapshot, PLAN_FORMAT_VERSION, Plan, PlanOptions,
    Summary, plan, render,
};
use serde_json::Value;

mod common;

fn example() -> (mailscope_spec::DesiredState, LiveSnapshot) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/");
    let text = std::fs::read_to_string(format!("{root}contoso.yaml")).unwrap();
    let desired = mailscope_spec::parse(&text, "policies/contoso.yaml").unwrap();
    let live =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}contoso.snapshot.json")).unwrap())
            .unwrap();
    (desired, live)
}

/// The log with the tool's version replaced, so a release does not change
/// the snapshots.
fn sarif(p: &Plan, file: &str) -> String {
    let out = render::sarif(p, file, "contoso.onmicrosoft.com");
    out.replacen(&format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")), "\"version\": \"[version]\"", 1)
}

fn results(log: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(log).unwrap();
    v["runs"][0]["results"].as_array().unwrap().clone()
}

#[test]
fn drift_of_the_example() {
    let (desired, live) = example();
    let p = plan(&desired, &live, &PlanOptions::default()).unwrap();
    let log = sarif(&p, "./policies/contoso.yaml");
    let results = results(&log);
    let drift = results.iter().find(|r| r["ruleId"] == "drift").expect("a drift result");
    let location = &drift["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "policies/contoso.yaml");
    assert!(location["region"]["startLine"].as_u64().unwrap() > 1);
    insta::assert_snapshot!(log);
}

#[test]
fn in_sync_reports_only_findings() {
    let (desired, mut live) = example();
    for s in plan(&desired, &live, &PlanOptions::default()).unwrap().steps {
        common::apply(&mut live, &s.action);
    }
    let p = plan(&desired, &live, &PlanOptions::default()).unwrap();
    assert!(p.is_empty());
    let log = sarif(&p, "policies\\contoso.yaml");
    let results = results(&log);
    assert_eq!(results.len(), p.findings.len());
    assert!(results.iter().all(|r| r["ruleId"] != "drift"), "{log}");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "policies/contoso.yaml"
    );
    insta::assert_snapshot!(log);
}

#[test]
fn untrusted_names_cannot_inject_links_placeholders_or_control_characters() {
    let hostile = "x[click](https://evil.example){0}\u{1b}[31m\nfake line\u{202e}txt\\";
    let app = AppPlan {
        unlisted: false,
        name: hostile.to_owned(),
        app_id: "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60".to_owned(),
        change: AppChange::LockDown,
        before: AccessSummary::Unrestricted,
        after: AccessSummary::Only { allowed: 0 },
        gains: Vec::new(),
        becomes_unrestricted: false,
        line: None,
    };
    let finding =
        Finding { code: "unlisted-app".into(), app: None, message: format!("group \"{hostile}\" is odd") };
    let p = Plan {
        format_version: PLAN_FORMAT_VERSION,
        steps: Vec::new(),
        apps: vec![app],
        findings: vec![finding],
        summary: Summary::default(),
    };
    let results = results(&sarif(&p, "policies.yaml"));
    assert_eq!(results.len(), 2);
    let escaped = "x\\[click\\](https://evil.example){{0}}\u{fffd}\\[31m\u{fffd}fake line\u{fffd}txt\\\\";
    for r in &results {
        let text = r["message"]["text"].as_str().unwrap();
        assert!(text.contains(escaped), "{text}");
        assert!(!text.chars().any(char::is_control), "{text}");
    }
}

/// With exposures, an exposed app's drift is an error that names what it
/// reaches against the file; the log is otherwise the same report.
#[test]
fn exposures_make_an_apps_drift_an_error_naming_the_mailboxes() {
    let (desired, live) = example();
    let p = plan(&desired, &live, &PlanOptions::default()).unwrap();
    let exposures = mailscope_planner::drift_exposures(&desired, &live);
    assert!(!exposures.is_empty(), "the example tenant has an exposure");
    let log =
        render::sarif_with_exposures(&p, "policies/contoso.yaml", "contoso.onmicrosoft.com", &exposures);
    let all = results(&log);
    let plain = results(&sarif(&p, "policies/contoso.yaml"));
    assert_eq!(all.len(), plain.len());
    let exposed = &exposures[0];
    let hit = all
        .iter()
        .find(|r| r["message"]["text"].as_str().is_some_and(|t| t.contains("exposure: it reaches")))
        .unwrap_or_else(|| panic!("no exposure result in {log}"));
    assert_eq!(hit["level"], "error", "{hit}");
    let text = hit["message"]["text"].as_str().unwrap();
    assert!(
        exposed.mailboxes.iter().all(|m| text.contains(m.as_str())) || exposed.every_other_mailbox,
        "{text}"
    );
}

fn app_at(name: &str, line: u64, change: AppChange, unlisted: bool) -> AppPlan {
    AppPlan {
        name: name.into(),
        app_id: format!("{name}-id"),
        change,
        before: AccessSummary::Unrestricted,
        after: AccessSummary::Only { allowed: 0 },
        gains: Vec::new(),
        becomes_unrestricted: false,
        line: Some(line),
        unlisted,
    }
}

/// A finding points at the line of the app it names; an unlisted app the
/// plan would lock down is its own warning.
#[test]
fn findings_point_at_their_app_and_unlisted_lock_downs_are_warnings() {
    let p = Plan {
        format_version: PLAN_FORMAT_VERSION,
        steps: Vec::new(),
        apps: vec![
            app_at("first", 5, AppChange::Unchanged, false),
            app_at("second", 9, AppChange::Unchanged, false),
            app_at("stranger", 1, AppChange::LockDown, true),
        ],
        findings: vec![Finding {
            code: "unmanaged-policy".into(),
            app: Some("second".into()),
            message: "m".into(),
        }],
        summary: Summary::default(),
    };
    let all = results(&sarif(&p, "policies/contoso.yaml"));
    let finding =
        all.iter().find(|r| r["ruleId"] == "unmanaged-policy").unwrap_or_else(|| panic!("{all:#?}"));
    assert_eq!(finding["locations"][0]["physicalLocation"]["region"]["startLine"], 9, "{finding}");
    let unlisted = all.iter().find(|r| r["ruleId"] == "unlisted-app").unwrap_or_else(|| panic!("{all:#?}"));
    assert_eq!(unlisted["level"], "warning");
    let text = unlisted["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("is not in the file and reaches") && text.contains("unlistedApps: lock-down"),
        "{text}"
    );
}
