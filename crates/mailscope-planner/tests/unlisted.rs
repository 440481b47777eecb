//! `unlistedApps: lock-down` end to end on snapshots: the plan is applied
//! by the reference model (`common::apply`) and checked with the reference
//! decision (`common::effective`), both written apart from the planner.

mod common;

use common::{APP_IDS, apply, effective, group, mailbox, policy, snapshot};
use mailscope_planner::{
    AccessRight, AppChange, Effect, LiveSnapshot, PermissionGrant, PlanOptions, RemovedApps, plan,
};

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

fn grant(app: &str, permission: &str) -> PermissionGrant {
    PermissionGrant {
        app_id: app.to_owned(),
        resource_app_id: GRAPH.to_owned(),
        permission: permission.to_owned(),
        app_role_id: "r".to_owned(),
        id: None,
        resource_id: None,
    }
}

/// App a is in the file; b holds Mail.Send with no policy; c holds
/// Mail.ReadWrite and a hand-made deny-list; d holds Mail.Send and is
/// excluded.
fn tenant() -> LiveSnapshot {
    let mut live = snapshot(4);
    group(&mut live, "Execs", None, &[mailbox(3)]);
    policy(&mut live, APP_IDS[2], "Execs", AccessRight::DenyAccess, "by hand");
    live.grants = vec![
        grant(APP_IDS[0], "Mail.Send"),
        grant(APP_IDS[1], "Mail.Send"),
        grant(APP_IDS[2], "Mail.ReadWrite"),
        grant(APP_IDS[3], "Mail.Send"),
    ];
    live.grants_read = true;
    live
}

fn desired(mode: &str) -> mailscope_spec::DesiredState {
    let text = format!(
        "apiVersion: mailscope/v1\nunlistedApps:\n  mode: {mode}\n  exclude:\n    - appId: {}\n      reason: break-glass\n\
         apps:\n  - name: billing\n    appId: {}\n    allow: [{}]\n",
        APP_IDS[3],
        APP_IDS[0],
        mailbox(0)
    );
    mailscope_spec::parse(&text, "t.yaml").unwrap()
}

fn applied(live: &LiveSnapshot, p: &mailscope_planner::Plan) -> LiveSnapshot {
    let mut after = live.clone();
    for s in &p.steps {
        apply(&mut after, &s.action);
    }
    after
}

const PROBES: [&str; 2] = ["m3@contoso.com", "someone-new@contoso.com"];

#[test]
fn lock_down_fences_every_open_unlisted_app_and_converges() {
    let live = tenant();
    for (app, perm) in [(APP_IDS[1], "Mail.Send"), (APP_IDS[2], "Mail.ReadWrite")] {
        assert!(effective(&live, app, perm, "someone-new@contoso.com"), "open before");
    }
    let p = plan(&desired("lock-down"), &live, &PlanOptions::default()).unwrap();
    assert!(!p.widens());
    assert!(p.steps.iter().all(|s| s.effect != Effect::Widening), "{:#?}", p.steps);
    let locked: Vec<&str> =
        p.apps.iter().filter(|a| a.change == AppChange::LockDown).map(|a| a.app_id.as_str()).collect();
    assert_eq!(locked, vec![APP_IDS[1], APP_IDS[2]]);
    assert!(
        p.apps.iter().filter(|a| a.change == AppChange::LockDown).all(|a| a.unlisted && a.line.is_none())
    );
    assert!(p.apps.iter().filter(|a| a.change != AppChange::LockDown).all(|a| !a.unlisted));
    assert_eq!(p.steps_of(APP_IDS[3]).count(), 0, "excluded");

    let after = applied(&live, &p);
    for (app, perm) in [(APP_IDS[1], "Mail.Send"), (APP_IDS[2], "Mail.ReadWrite")] {
        for m in PROBES.iter().copied().chain([mailbox(0).as_str()]) {
            assert!(!effective(&after, app, perm, m), "{app} still reaches {m}");
        }
    }
    for m in PROBES {
        assert!(effective(&after, APP_IDS[3], "Mail.Send", m), "the excluded app is untouched");
    }
    assert!(effective(&after, APP_IDS[0], "Mail.Send", &mailbox(0)));

    // Planning again: nothing left to do, nobody warned about (the fenced
    // apps now belong to the removed-apps pass, which keeps them fenced).
    let again = plan(&desired("lock-down"), &after, &PlanOptions::default()).unwrap();
    assert!(again.steps.is_empty(), "{:#?}", again.steps);
    assert!(!again.findings.iter().any(|f| f.code == "unlisted-app"), "{:#?}", again.findings);
    // Even with removal asked for, lock-down keeps the fence.
    let remove = PlanOptions { removed_apps: RemovedApps::Remove };
    assert!(plan(&desired("lock-down"), &after, &remove).unwrap().steps.is_empty());
    // Back to warn with removal: removing the fence widens, as before.
    assert!(plan(&desired("warn"), &after, &remove).unwrap().widens());
}

#[test]
fn warn_and_ignore_change_nothing() {
    let live = tenant();
    for mode in ["warn", "ignore"] {
        let p = plan(&desired(mode), &live, &PlanOptions::default()).unwrap();
        assert!(p.steps.iter().all(|s| s.app_id == APP_IDS[0]), "{mode}: {:#?}", p.steps);
        let named = p.findings.iter().filter(|f| f.code == "unlisted-app").count();
        assert_eq!(named, if mode == "warn" { 2 } else { 0 }, "{mode}: {:#?}", p.findings);
    }
}

#[test]
fn plan_text_with_unlisted_apps_snapshot() {
    let live = tenant();
    let warn = plan(&desired("warn"), &live, &PlanOptions::default()).unwrap();
    let lock = plan(&desired("lock-down"), &live, &PlanOptions::default()).unwrap();
    let text = format!(
        "--- warn ---\n{}\n--- lock-down ---\n{}",
        mailscope_planner::render::text(&warn, false),
        mailscope_planner::render::text(&lock, false)
    );
    insta::assert_snapshot!(text);
}

#[test]
fn plan_markdown_and_json_findings_with_unlisted_apps_snapshot() {
    let p = plan(&desired("lock-down"), &tenant(), &PlanOptions::default()).unwrap();
    insta::assert_snapshot!(mailscope_planner::render::markdown(&p));
    insta::assert_snapshot!(serde_json::to_string_pretty(&p.findings).unwrap());
}

/// Lock-down fences only what an access policy can fence: an unlisted app
/// whose only reach is an unfenced grant (MailboxItem.Read.All) or an
/// organization-wide RBAC assignment gets no group and no policy (they
/// would fence nothing); it stays named, with what to do instead.
#[test]
fn lock_down_leaves_what_no_policy_fences_and_says_so() {
    let mut live = snapshot(2);
    live.grants = vec![grant(APP_IDS[0], "Mail.Send"), grant(APP_IDS[1], "MailboxItem.Read.All")];
    live.grants_read = true;
    live.role_assignments.push(mailscope_planner::LiveRoleAssignment {
        name: "org-wide-send".into(),
        app_id: APP_IDS[2].into(),
        role: "Application Mail.Send".into(),
        scope: None,
    });
    let p = plan(&desired("lock-down"), &live, &PlanOptions::default()).unwrap();
    for app in [APP_IDS[1], APP_IDS[2]] {
        assert_eq!(p.steps_of(app).count(), 0, "{app}: {:#?}", p.steps);
        let finding = p
            .findings
            .iter()
            .find(|f| f.code == "unlisted-app" && f.message.contains(app))
            .unwrap_or_else(|| panic!("{app}: {:#?}", p.findings));
        assert!(
            finding.message.contains("left as it is: no access policy can fence its reach"),
            "{}",
            finding.message
        );
    }
}
