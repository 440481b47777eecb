//! `export`: a desired file from a snapshot that, planned against the same
//! snapshot, changes nothing but adoption.

use mailscope_planner::{
    AccessRight, Action, Effect, LiveSnapshot, Plan, PlanOptions, export::export, marker, plan,
};
use mailscope_spec::ListKind;

mod common;

fn contoso() -> LiveSnapshot {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/contoso.snapshot.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Export → YAML → parse → plan against the same snapshot.
fn round_trip(live: &LiveSnapshot, apps: &[String]) -> (String, Plan) {
    let text = mailscope_spec::to_yaml(&export(live, "contoso.onmicrosoft.com", apps)).unwrap();
    let desired = mailscope_spec::parse(&text, "exported.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let plan = plan(&desired, live, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (text, plan)
}

#[test]
fn a_managed_tenant_exports_to_a_file_that_plans_no_steps() {
    let mut live = common::snapshot(6);
    let [a, b, ..] = common::APP_IDS;
    let m = |i: &[usize]| i.iter().map(|i| common::mailbox(*i)).collect::<Vec<_>>();
    common::group(&mut live, "mailscope-billing-allow", Some(marker(a, ListKind::Allow)), &m(&[0, 1]));
    common::policy(
        &mut live,
        a,
        "mailscope-billing-allow",
        AccessRight::RestrictAccess,
        &marker(a, ListKind::Allow),
    );
    common::group(&mut live, "mailscope-billing-deny", Some(marker(a, ListKind::Deny)), &m(&[1]));
    common::policy(
        &mut live,
        a,
        "mailscope-billing-deny",
        AccessRight::DenyAccess,
        &marker(a, ListKind::Deny),
    );
    // A managed group under a name that is not the derived one is adopted.
    common::group(&mut live, "Crm Readers", Some(marker(b, ListKind::Allow)), &m(&[2, 3, 4]));
    common::policy(&mut live, b, "Crm Readers", AccessRight::RestrictAccess, &marker(b, ListKind::Allow));

    let (text, p) = round_trip(&live, &[]);
    assert!(p.is_empty(), "{:#?}\n{text}", p.steps);
    assert!(text.contains("  - name: billing\n"), "{text}");
    assert!(text.contains("    group: Crm Readers\n"), "{text}");
    // `--app` limits the file to those apps; the others are then apps that
    // left the file, which the plan locks down.
    let (text, p) = round_trip(&live, &[format!(" {} ", a.to_uppercase())]);
    assert!(!text.contains(b), "{text}");
    assert!(p.steps.iter().all(|s| s.app_id == b), "{:#?}", p.steps);
}

#[test]
fn the_example_tenant_exports_to_a_file_that_only_adopts_and_restores() {
    let mut live = contoso();
    let (text, p) = round_trip(&live, &[]);
    let version = format!("mailscope {} from", env!("CARGO_PKG_VERSION"));
    insta::assert_snapshot!(text.replacen(&version, "mailscope [version] from", 1));
    assert!(!p.is_empty());
    for s in &p.steps {
        // Unmanaged groups and policies are adopted (marked); the managed
        // allow group whose policy is gone gets it back, which narrows.
        match &s.action {
            Action::MarkGroup { .. } | Action::SetPolicyDescription { .. } => {
                assert_eq!(s.effect, Effect::Neutral);
            }
            Action::CreatePolicy { group, .. } => {
                assert_eq!(group, "mailscope-hr-notifier-allow");
                assert_eq!(s.effect, Effect::Narrowing);
            }
            other => panic!("unexpected step {other:?}\n{text}"),
        }
    }
    assert!(!p.widens());
    // Once that is applied, exporting again gives a file that plans nothing.
    for s in &p.steps {
        common::apply(&mut live, &s.action);
    }
    let (again, p) = round_trip(&live, &[]);
    assert!(p.is_empty(), "{:#?}\n{again}", p.steps);
}
