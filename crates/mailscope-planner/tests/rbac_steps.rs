//! Table tests of RBAC for Applications planning: migration order, the
//! additive trap, ownership, and input problems.

mod common;

use common::{APP_IDS, apply, group, mailbox, policy, snapshot};
use mailscope_permissions::GRAPH_APP_ID;
use mailscope_planner::{
    AccessRight, Action, EntraServicePrincipal, LiveRoleAssignment, LiveSnapshot, PermissionGrant, Plan,
    PlanOptions, marker, plan, render,
};
use mailscope_spec::ListKind;

const APP: &str = APP_IDS[0];

fn desired(app: &str) -> mailscope_spec::DesiredState {
    mailscope_spec::parse(&format!("apiVersion: mailscope/v1\napps:\n{app}"), "t.yaml").unwrap()
}

fn rbac_app(extra: &str) -> mailscope_spec::DesiredState {
    desired(&format!(
        "  - name: crm\n    appId: {APP}\n    mechanism: rbac\n    permissions: [Mail.Send]\n{extra}    allow: [{}]\n",
        mailbox(0)
    ))
}

/// A tenant where the app is restricted by access policy to m0 and holds
/// Graph Mail.Send tenant-wide.
fn migrated_from_policies() -> LiveSnapshot {
    let mut live = snapshot(3);
    live.grants_read = true;
    live.service_principals.push(EntraServicePrincipal {
        app_id: APP.into(),
        object_id: "aaaaaaaa-0000-4000-8000-000000000001".into(),
        display_name: "CRM".into(),
    });
    live.grants.push(PermissionGrant {
        app_id: APP.into(),
        resource_app_id: GRAPH_APP_ID.into(),
        permission: "Mail.Send".into(),
        app_role_id: "b633e1c5-b582-4048-a93e-9f11b44c7e96".into(),
        id: Some("grant-1".into()),
        resource_id: Some("graph-sp".into()),
    });
    let mark = marker(APP, ListKind::Allow);
    group(&mut live, "mailscope-crm-allow", Some(mark.clone()), &[mailbox(0)]);
    policy(&mut live, APP, "mailscope-crm-allow", AccessRight::RestrictAccess, &mark);
    live
}

fn position(p: &Plan, pred: impl Fn(&Action) -> bool) -> usize {
    p.steps.iter().position(|s| pred(&s.action)).expect("step exists")
}

#[test]
fn migration_with_remove_creates_rbac_then_removes_the_grant_then_the_policy() {
    let live = migrated_from_policies();
    let p = plan(&rbac_app("    entraGrants: remove\n"), &live, &PlanOptions::default()).unwrap();
    let assign = position(&p, |a| matches!(a, Action::CreateRoleAssignment { .. }));
    let grant = position(&p, |a| matches!(a, Action::RemoveEntraGrant { .. }));
    let policy = position(&p, |a| matches!(a, Action::RemovePolicy { .. }));
    assert!(assign < grant && grant < policy, "{:#?}", p.steps);
    assert!(p.steps[assign].wave < p.steps[grant].wave && p.steps[grant].wave < p.steps[policy].wave);
    assert!(matches!(
        &p.steps[assign].action,
        Action::CreateRoleAssignment { name, scope, .. }
            if name == &format!("mailscope-{APP}-Mail.Send") && scope == &format!("mailscope-{APP}-scope")
    ));
    // RBAC now covers exactly what the fenced grant reached: no mailbox is
    // lost, so the removal is neutral here (never widening).
    assert_eq!(p.steps[grant].effect, mailscope_planner::Effect::Neutral);
    assert_eq!(p.steps[policy].effect, mailscope_planner::Effect::Neutral, "nothing left to fence");
    assert!(p.findings.iter().all(|f| f.code != "additive-trap"), "{:?}", p.findings);
    // The group stays: the scope uses it.
    assert!(!p.steps.iter().any(|s| matches!(s.action, Action::RemoveGroup { .. })));

    let text = render::text(&p, false);
    assert!(text.contains("+ role Application Mail.Send on scope"), "{text}");
    assert!(text.contains("- Entra grant Mail.Send (Microsoft Graph, tenant-wide)"), "{text}");
    assert!(text.contains("management scope"), "{text}");

    // Converges; then back to access policies removes what RBAC made.
    let mut after = live.clone();
    for s in &p.steps {
        apply(&mut after, &s.action);
    }
    assert!(
        plan(&rbac_app("    entraGrants: remove\n"), &after, &PlanOptions::default()).unwrap().is_empty()
    );
    let back = desired(&format!("  - name: crm\n    appId: {APP}\n    allow: [{}]\n", mailbox(0)));
    let p = plan(&back, &after, &PlanOptions::default()).unwrap();
    let create = position(&p, |a| matches!(a, Action::CreatePolicy { .. }));
    let remove = position(&p, |a| matches!(a, Action::RemoveRoleAssignment { .. }));
    let scope = position(&p, |a| matches!(a, Action::RemoveManagementScope { .. }));
    assert!(remove < scope && create < scope, "{:#?}", p.steps);
    assert!(p.steps.iter().any(|s| matches!(s.action, Action::RemoveServicePrincipal { .. })));
}

#[test]
fn keeping_the_grant_keeps_the_policy_and_reports_the_trap() {
    let live = migrated_from_policies();
    let p = plan(&rbac_app(""), &live, &PlanOptions::default()).unwrap();
    assert!(
        !p.steps
            .iter()
            .any(|s| matches!(s.action, Action::RemovePolicy { .. } | Action::RemoveEntraGrant { .. }))
    );
    let trap: Vec<_> = p.findings.iter().filter(|f| f.code == "additive-trap").collect();
    assert_eq!(trap.len(), 1, "{:?}", p.findings);
    assert!(trap[0].message.contains("Mail.Send") && trap[0].message.contains("entraGrants: remove"));
    assert!(!trap[0].message.contains("assumed"), "grants were read: {}", trap[0].message);

    // Grants not read: the trap is assumed, and says so.
    let mut unread = live.clone();
    unread.grants_read = false;
    unread.grants.clear();
    let p = plan(&rbac_app(""), &unread, &PlanOptions::default()).unwrap();
    let trap: Vec<_> = p.findings.iter().filter(|f| f.code == "additive-trap").collect();
    assert!(trap.iter().any(|f| f.message.contains("(assumed: grants not read)")), "{:?}", p.findings);

    // A grant no policy can fence reaches every mailbox: the other trap.
    let mut live = live;
    let mut unfenced = live.grants[0].clone();
    unfenced.permission = "MailboxItem.Read.All".into();
    unfenced.id = Some("grant-2".into());
    live.grants.push(unfenced);
    let p = plan(&rbac_app(""), &live, &PlanOptions::default()).unwrap();
    assert!(
        p.findings.iter().any(|f| f.code == "additive-trap"
            && f.message.contains("nothing fences")
            && f.message.contains("MailboxItem.Read.All")),
        "{:?}",
        p.findings
    );
}

#[test]
fn an_unknown_client_id_is_a_located_problem_with_the_object_id_hint() {
    let mut live = migrated_from_policies();
    live.service_principals[0].object_id = APP_IDS[1].into();
    live.service_principals[0].app_id = APP_IDS[2].into();
    let d = desired(&format!(
        "  - name: crm\n    appId: {}\n    mechanism: rbac\n    permissions: [Mail.Send]\n    allow: [{}]\n",
        APP_IDS[1],
        mailbox(0)
    ));
    let err = plan(&d, &live, &PlanOptions::default()).unwrap_err().to_string();
    assert!(err.contains("t.yaml:") && err.contains("object id of the service principal"), "{err}");
    assert!(err.contains(APP_IDS[2]), "{err}");
}

#[test]
fn unmarked_assignments_are_reported_and_foreign_named_ones_refused() {
    let mut live = migrated_from_policies();
    live.role_assignments.push(LiveRoleAssignment {
        name: "CRM send".into(),
        app_id: APP.into(),
        role: "Application Mail.Read".into(),
        scope: None,
    });
    let p = plan(&rbac_app(""), &live, &PlanOptions::default()).unwrap();
    assert!(p.findings.iter().any(|f| f.code == "unmanaged-role-assignment"));
    assert!(
        !p.steps
            .iter()
            .any(|s| matches!(&s.action, Action::RemoveRoleAssignment { name, .. } if name == "CRM send"))
    );

    live.role_assignments.push(LiveRoleAssignment {
        name: format!("mailscope-{APP}-Mail.Send"),
        app_id: APP_IDS[3].into(),
        role: "Application Mail.Send".into(),
        scope: None,
    });
    let err = plan(&rbac_app(""), &live, &PlanOptions::default()).unwrap_err().to_string();
    assert!(err.contains("leaves it alone"), "{err}");
}

/// The RBAC objects of an app that left the file, as mailscope made them:
/// its pointer, its scope over its managed allow group, and a Mail.Send
/// assignment over that scope.
fn left_the_file() -> LiveSnapshot {
    use mailscope_planner::{LiveManagementScope, LiveServicePrincipal};
    let mut live = snapshot(2);
    group(&mut live, "mailscope-crm-allow", Some(marker(APP, ListKind::Allow)), &[mailbox(0)]);
    live.exchange_service_principals.push(LiveServicePrincipal {
        app_id: APP.into(),
        object_id: "aaaaaaaa-0000-4000-8000-000000000001".into(),
        display_name: format!("mailscope/v1 app={APP}"),
    });
    live.management_scopes.push(LiveManagementScope {
        name: format!("mailscope-{APP}-scope"),
        filter: format!("MemberOfGroup -eq '{}'", common::dn("mailscope-crm-allow")),
    });
    live.role_assignments.push(LiveRoleAssignment {
        name: format!("mailscope-{APP}-Mail.Send"),
        app_id: APP.into(),
        role: "Application Mail.Send".into(),
        scope: Some(format!("mailscope-{APP}-scope")),
    });
    live
}

fn removals(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::RemoveRoleAssignment { name, .. } => Some(format!("assignment {name}")),
            Action::RemoveManagementScope { name, .. } => Some(format!("scope {name}")),
            Action::RemoveServicePrincipal { app_id } => Some(format!("pointer {app_id}")),
            _ => None,
        })
        .collect()
}

/// An app that left the file loses the RBAC objects mailscope made for it,
/// except what Exchange would refuse to remove or what others still use:
/// a scope another (hand-made) assignment uses, the pointer a hand-made
/// assignment of the app still uses, and an assignment whose name says
/// mailscope made it for the app but which serves another app.
#[test]
fn an_app_that_left_keeps_the_rbac_objects_others_still_use() {
    let none = mailscope_spec::parse("apiVersion: mailscope/v1\napps: []\n", "t.yaml").unwrap();
    let scope = format!("mailscope-{APP}-scope");
    let assignment = format!("mailscope-{APP}-Mail.Send");

    let live = left_the_file();
    let p = plan(&none, &live, &PlanOptions::default()).unwrap();
    assert_eq!(
        removals(&p),
        [format!("assignment {assignment}"), format!("scope {scope}"), format!("pointer {APP}")],
        "everything goes when nothing else uses it"
    );

    // A hand-made assignment of another app over the scope keeps the scope.
    let mut live = left_the_file();
    live.role_assignments.push(LiveRoleAssignment {
        name: "helpdesk-read".into(),
        app_id: APP_IDS[1].into(),
        role: "Application Mail.Read".into(),
        scope: Some(scope.clone()),
    });
    let p = plan(&none, &live, &PlanOptions::default()).unwrap();
    assert_eq!(removals(&p), [format!("assignment {assignment}"), format!("pointer {APP}")]);

    // A hand-made assignment of the app itself keeps its pointer.
    let mut live = left_the_file();
    live.role_assignments.push(LiveRoleAssignment {
        name: "by-hand".into(),
        app_id: APP.into(),
        role: "Application Mail.Read".into(),
        scope: None,
    });
    let p = plan(&none, &live, &PlanOptions::default()).unwrap();
    assert_eq!(removals(&p), [format!("assignment {assignment}"), format!("scope {scope}")]);

    // An assignment named for the app but serving another app is not the
    // app's to remove, and neither is the scope it uses.
    let mut live = left_the_file();
    live.role_assignments[0].app_id = APP_IDS[1].into();
    let p = plan(&none, &live, &PlanOptions::default()).unwrap();
    assert_eq!(removals(&p), [format!("pointer {APP}")]);

    // Known only by its RBAC objects (its scope's group is not one of
    // mailscope's): still found, still cleaned up.
    let mut live = left_the_file();
    live.groups[0].marker = None;
    let p = plan(&none, &live, &PlanOptions::default()).unwrap();
    assert_eq!(removals(&p).len(), 3, "{:?}", removals(&p));
}

/// A permission dropped from an `rbac` app's list loses its assignment;
/// the others stay.
#[test]
fn a_permission_dropped_from_the_file_loses_its_assignment() {
    let mut live = left_the_file();
    live.role_assignments.push(LiveRoleAssignment {
        name: format!("mailscope-{APP}-Mail.Read"),
        app_id: APP.into(),
        role: "Application Mail.Read".into(),
        scope: Some(format!("mailscope-{APP}-scope")),
    });
    let p = plan(&rbac_app(""), &live, &PlanOptions::default()).unwrap();
    let removed: Vec<String> = removals(&p).into_iter().filter(|r| r.starts_with("assignment")).collect();
    assert_eq!(removed, [format!("assignment mailscope-{APP}-Mail.Read")]);
}

/// Only the hand-made assignments of a listed app are reported as
/// unmanaged; the ones mailscope made for it are its own.
#[test]
fn only_hand_made_assignments_are_reported_unmanaged() {
    let mut live = left_the_file();
    live.role_assignments.push(LiveRoleAssignment {
        name: "by-hand".into(),
        app_id: APP.into(),
        role: "Application Mail.Read".into(),
        scope: None,
    });
    let p = plan(&rbac_app(""), &live, &PlanOptions::default()).unwrap();
    let unmanaged: Vec<&str> = p
        .findings
        .iter()
        .filter(|f| f.code == "unmanaged-role-assignment")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(unmanaged.len(), 1, "{unmanaged:?}");
    assert!(unmanaged[0].contains("\"by-hand\""), "{unmanaged:?}");
}

/// `entraGrants: remove` needs each grant's id and its resource's id (the
/// Graph call names both): a snapshot missing either is refused, not
/// planned with a deletion that cannot be made.
#[test]
fn removing_grants_needs_both_ids() {
    for missing in ["grant", "resource"] {
        let mut live = migrated_from_policies();
        match missing {
            "grant" => live.grants[0].id = None,
            _ => live.grants[0].resource_id = None,
        }
        let err = plan(&rbac_app("    entraGrants: remove\n"), &live, &PlanOptions::default()).unwrap_err();
        assert!(err.to_string().contains("lacks the ids of its Entra grants"), "{missing}: {err}");
    }
}

/// A scope that only gains a clause (a deny group added) narrows and
/// changes with the narrowing member steps (wave 2); a scope whose allow
/// group changes may widen and changes with the widening ones (wave 6).
#[test]
fn a_scope_change_goes_in_the_wave_its_direction_needs() {
    let wave_of_set = |p: &Plan| {
        p.steps
            .iter()
            .find(|s| matches!(s.action, Action::SetManagementScope { .. }))
            .map_or_else(|| panic!("{:#?}", p.steps), |s| s.wave)
    };
    let live = left_the_file();
    let p =
        plan(&rbac_app(&format!("    deny: [{}]\n", mailbox(1))), &live, &PlanOptions::default()).unwrap();
    assert_eq!(wave_of_set(&p), 2, "a deny clause appears: narrowing");

    let mut live = left_the_file();
    group(&mut live, "Hand-Allow", None, &[mailbox(0)]);
    let p = plan(&rbac_app("    group: Hand-Allow\n"), &live, &PlanOptions::default()).unwrap();
    assert_eq!(wave_of_set(&p), 6, "another allow group: may widen");
}

/// A deny-only scope that gains its allow clause only narrows (wave 2).
#[test]
fn a_scope_that_gains_its_allow_clause_narrows() {
    let mut live = left_the_file();
    group(&mut live, "mailscope-crm-deny", Some(marker(APP, ListKind::Deny)), &[mailbox(1)]);
    live.management_scopes[0].filter =
        format!("-not (MemberOfGroup -eq '{}')", common::dn("mailscope-crm-deny"));
    let p =
        plan(&rbac_app(&format!("    deny: [{}]\n", mailbox(1))), &live, &PlanOptions::default()).unwrap();
    let set = p.steps.iter().find(|s| matches!(s.action, Action::SetManagementScope { .. }));
    assert_eq!(set.map(|s| s.wave), Some(2), "{:#?}", p.steps);
}

/// mailscope's assignment with the right name but the wrong scope (here
/// organization-wide) is not taken as done: it is replaced.
#[test]
fn an_assignment_with_the_wrong_scope_is_replaced() {
    let mut live = left_the_file();
    live.role_assignments[0].scope = None;
    let p = plan(&rbac_app(""), &live, &PlanOptions::default()).unwrap();
    assert!(
        p.steps.iter().any(|s| matches!(s.action, Action::RemoveRoleAssignment { scope: None, .. })),
        "{:#?}",
        p.steps
    );
    assert!(
        p.steps.iter().any(|s| matches!(s.action, Action::CreateRoleAssignment { .. })),
        "{:#?}",
        p.steps
    );
}
