//! Table tests: one scenario per kind of step and per planning rule.

mod common;

use common::{APP_IDS, apply, group, mailbox, policy, snapshot};
use mailscope_planner::{
    AccessRight, AccessSummary, Action, AppChange, Effect, LiveSnapshot, Plan, PlanError, PlanOptions,
    RemovedApps, marker, plan,
};
use mailscope_spec::ListKind;

fn desired(apps: &str) -> mailscope_spec::DesiredState {
    mailscope_spec::parse(&format!("apiVersion: mailscope/v1\napps:\n{apps}"), "t.yaml").unwrap()
}

fn app(name: &str, id: usize, body: &str) -> String {
    format!("  - name: {name}\n    appId: {}\n{body}", APP_IDS[id])
}

#[track_caller]
fn plan_ok(apps: &str, live: &LiveSnapshot) -> Plan {
    plan(&desired(apps), live, &PlanOptions::default()).unwrap_or_else(|e| panic!("plan failed: {e}"))
}

/// The steps as `(effect, action)` in execution order.
fn actions(p: &Plan) -> Vec<(Effect, Action)> {
    p.steps.iter().map(|s| (s.effect, s.action.clone())).collect()
}

/// Applies the plan to the live snapshot and checks that planning again
/// finds nothing to do.
#[track_caller]
fn converges(apps: &str, mut live: LiveSnapshot, p: &Plan) {
    for s in &p.steps {
        apply(&mut live, &s.action);
    }
    let again = plan_ok(apps, &live);
    assert!(again.is_empty(), "not converged: {:?}", actions(&again));
}

fn m(i: usize) -> String {
    mailbox(i)
}

#[test]
fn a_new_allow_list_fills_the_group_before_the_policy_exists() {
    let apps = app("mailer", 0, "    allow: [m1@contoso.com, m0@contoso.com]\n");
    let live = snapshot(3);
    let p = plan_ok(&apps, &live);
    let mark = marker(APP_IDS[0], ListKind::Allow);
    assert_eq!(
        actions(&p),
        vec![
            (
                Effect::Neutral,
                Action::CreateGroup {
                    group: "mailscope-mailer-allow".into(),
                    alias: "mailscope-mailer-allow".into(),
                    marker: mark.clone(),
                    // Filled in the call that creates it: one call, not three.
                    members: vec![m(0), m(1)],
                }
            ),
            (
                Effect::Narrowing,
                Action::CreatePolicy {
                    app_id: APP_IDS[0].into(),
                    group: "mailscope-mailer-allow".into(),
                    access_right: AccessRight::RestrictAccess,
                    description: mark
                }
            ),
        ]
    );
    assert_eq!(p.apps[0].change, AppChange::Create);
    assert_eq!(p.apps[0].before, AccessSummary::Unrestricted);
    assert_eq!(p.apps[0].after, AccessSummary::Only { allowed: 2 });
    assert!(!p.widens());
    assert_eq!((p.summary.add, p.summary.change, p.summary.destroy), (4, 0, 0), "per object and member");
    converges(&apps, live, &p);
}

#[test]
fn a_single_membership_change_stays_one_add_or_remove() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com, m1@contoso.com, m2@contoso.com]\n");
    let mut live = snapshot(3);
    group(&mut live, "mailscope-mailer-allow", Some(marker(APP_IDS[0], ListKind::Allow)), &[m(0), m(1)]);
    policy(
        &mut live,
        APP_IDS[0],
        "mailscope-mailer-allow",
        AccessRight::RestrictAccess,
        &marker(APP_IDS[0], ListKind::Allow),
    );
    let p = plan_ok(&apps, &live);
    assert_eq!(
        actions(&p),
        vec![(Effect::Widening, Action::AddMember { group: "mailscope-mailer-allow".into(), member: m(2) })]
    );
    converges(&apps, live, &p);
}

#[test]
fn membership_drift_is_one_replace_that_the_replay_classifies() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com, m2@contoso.com]\n");
    let mut live = snapshot(3);
    group(&mut live, "mailscope-mailer-allow", Some(marker(APP_IDS[0], ListKind::Allow)), &[m(0), m(1)]);
    policy(
        &mut live,
        APP_IDS[0],
        "mailscope-mailer-allow",
        AccessRight::RestrictAccess,
        &marker(APP_IDS[0], ListKind::Allow),
    );
    let p = plan_ok(&apps, &live);
    // One `Update-DistributionGroupMember` instead of a remove and an add:
    // it narrows (m1 leaves) and widens (m2 joins) in one atomic step, so it
    // counts as widening.
    assert_eq!(
        actions(&p),
        vec![(
            Effect::Widening,
            Action::ReplaceMembers {
                group: "mailscope-mailer-allow".into(),
                members: vec![m(0), m(2)],
                added: vec![m(2)],
                removed: vec![m(1)],
            }
        )]
    );
    assert_eq!(p.apps[0].gains, vec![m(2)]);
    assert!(p.widens());
    assert_eq!(p.summary.widening, 1);
    assert_eq!((p.summary.add, p.summary.change, p.summary.destroy), (1, 0, 1), "per member");
    converges(&apps, live, &p);
}

/// When an app's allow and deny groups both change, neither becomes a
/// replace: each change would have to be safe while the other is half
/// done, which only the per-member order guarantees. The plan still
/// converges.
#[test]
fn two_changing_groups_of_one_app_stay_per_member() {
    let apps = app(
        "mailer",
        0,
        "    allow: [m0@contoso.com, m4@contoso.com]\n    deny: [m2@contoso.com, m5@contoso.com]\n",
    );
    let mut live = snapshot(6);
    let (allow, deny) = (marker(APP_IDS[0], ListKind::Allow), marker(APP_IDS[0], ListKind::Deny));
    group(&mut live, "mailscope-mailer-allow", Some(allow.clone()), &[m(0), m(1)]);
    group(&mut live, "mailscope-mailer-deny", Some(deny.clone()), &[m(2), m(3)]);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-allow", AccessRight::RestrictAccess, &allow);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-deny", AccessRight::DenyAccess, &deny);
    let p = plan_ok(&apps, &live);
    assert!(!p.steps.iter().any(|s| matches!(s.action, Action::ReplaceMembers { .. })), "{:#?}", actions(&p));
    assert_eq!(p.steps.len(), 4, "{:#?}", actions(&p));
    converges(&apps, live, &p);
}

/// Both lists moving to other groups: each new policy first, then the old
/// Restrict policy (wave 5), every widening member change (6), the old
/// Deny policy last (7), then the groups nothing uses any more (8).
#[test]
fn moved_policies_go_in_the_documented_waves() {
    let apps = app(
        "mailer",
        0,
        "    allow: [m0@contoso.com]\n    group: Hand-Allow\n    deny: [m1@contoso.com]\n    denyGroup: Hand-Deny\n",
    );
    let mut live = snapshot(2);
    let (allow, deny) = (marker(APP_IDS[0], ListKind::Allow), marker(APP_IDS[0], ListKind::Deny));
    group(&mut live, "mailscope-mailer-allow", Some(allow.clone()), &[m(0)]);
    group(&mut live, "mailscope-mailer-deny", Some(deny.clone()), &[m(1)]);
    group(&mut live, "Hand-Allow", None, &[m(0)]);
    group(&mut live, "Hand-Deny", None, &[m(1)]);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-allow", AccessRight::RestrictAccess, &allow);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-deny", AccessRight::DenyAccess, &deny);
    let p = plan_ok(&apps, &live);
    let wave_of = |pred: &dyn Fn(&Action) -> bool| {
        p.steps.iter().find(|s| pred(&s.action)).map_or_else(|| panic!("{:#?}", actions(&p)), |s| s.wave)
    };
    let removes = |right: AccessRight| move |a: &Action| matches!(a, Action::RemovePolicy { access_right, .. } if *access_right == right);
    assert_eq!(wave_of(&removes(AccessRight::RestrictAccess)), 5);
    assert_eq!(wave_of(&removes(AccessRight::DenyAccess)), 7);
    assert_eq!(
        wave_of(&|a| matches!(a, Action::RemoveGroup { group } if group == "mailscope-mailer-allow")),
        8
    );
    converges(&apps, live, &p);
}

#[test]
fn case_differences_are_not_drift() {
    let apps = app("mailer", 0, "    allow: [M0@Contoso.COM]\n");
    let mut live = snapshot(1);
    live.recipients[0].address = "M0@contoso.com".into();
    group(
        &mut live,
        "MailScope-Mailer-Allow",
        Some(marker(&APP_IDS[0].to_uppercase(), ListKind::Allow)),
        &["m0@CONTOSO.com".into()],
    );
    policy(
        &mut live,
        &APP_IDS[0].to_uppercase(),
        "mailscope-mailer-allow",
        AccessRight::RestrictAccess,
        &marker(APP_IDS[0], ListKind::Allow),
    );
    let p = plan_ok(&apps, &live);
    assert!(p.is_empty(), "{:?}", actions(&p));
    assert_eq!(p.apps[0].change, AppChange::Unchanged);
}

#[test]
fn a_deny_list_adds_members_then_the_deny_policy() {
    let apps = app("crm", 1, "    deny: [m0@contoso.com]\n");
    let live = snapshot(2);
    let p = plan_ok(&apps, &live);
    let kinds: Vec<_> = p.steps.iter().map(|s| (s.effect, std::mem::discriminant(&s.action))).collect();
    assert_eq!(kinds.len(), 2, "the group is created with its member");
    assert!(matches!(&p.steps[0].action, Action::CreateGroup { members, .. } if *members == [m(0)]));
    assert!(matches!(p.steps[1].action, Action::CreatePolicy { access_right: AccessRight::DenyAccess, .. }));
    assert_eq!(p.steps[1].effect, Effect::Narrowing);
    assert_eq!(p.apps[0].after, AccessSummary::AllBut { denied: 1 });
    converges(&apps, live, &p);
}

#[test]
fn adopting_a_group_marks_it_adopts_its_policy_and_fixes_members() {
    let apps = app("scanner", 2, "    group: Legacy-Scanners\n    allow: [m0@contoso.com]\n");
    let mut live = snapshot(3);
    group(&mut live, "Legacy-Scanners", None, &[m(0), m(1)]);
    policy(&mut live, APP_IDS[2], "Legacy-Scanners", AccessRight::RestrictAccess, "made by hand");
    let p = plan_ok(&apps, &live);
    let mark = marker(APP_IDS[2], ListKind::Allow);
    let identity = live.policies[0].identity.clone();
    assert_eq!(
        actions(&p),
        vec![
            (Effect::Neutral, Action::MarkGroup { group: "Legacy-Scanners".into(), marker: mark.clone() }),
            (
                Effect::Neutral,
                // The hand-made policy's own words stay beside the marker.
                Action::SetPolicyDescription {
                    identity,
                    group: "Legacy-Scanners".into(),
                    description: format!("{mark} | made by hand")
                }
            ),
            (Effect::Narrowing, Action::RemoveMember { group: "Legacy-Scanners".into(), member: m(1) }),
        ]
    );
    assert_eq!(p.summary.change, 2);
    converges(&apps, live, &p);
}

#[test]
fn moving_to_another_group_creates_the_new_policy_before_removing_the_old() {
    let apps = app("mailer", 0, "    group: New-Group\n    allow: [m0@contoso.com, m2@contoso.com]\n");
    let mut live = snapshot(3);
    let mark = marker(APP_IDS[0], ListKind::Allow);
    group(&mut live, "mailscope-mailer-allow", Some(mark.clone()), &[m(0), m(1)]);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-allow", AccessRight::RestrictAccess, &mark);
    let p = plan_ok(&apps, &live);
    let pos = |pred: &dyn Fn(&Action) -> bool| p.steps.iter().position(|s| pred(&s.action)).unwrap();
    let create = pos(&|a| matches!(a, Action::CreatePolicy { .. }));
    let remove = pos(&|a| matches!(a, Action::RemovePolicy { .. }));
    let drop_group = pos(&|a| matches!(a, Action::RemoveGroup { .. }));
    let fill = pos(&|a| matches!(a, Action::CreateGroup { members, .. } if members.contains(&m(2))));
    assert!(fill < create && create < remove && remove < drop_group, "{:?}", actions(&p));
    assert_eq!(p.steps[create].effect, Effect::Widening, "m2 is reachable from the new policy on");
    assert_eq!(p.steps[remove].effect, Effect::Narrowing, "m1 goes with the old policy");
    converges(&apps, live, &p);
}

#[test]
fn dropping_a_deny_list_removes_its_policy_then_its_group_and_widens() {
    let apps = app("crm", 1, "    allow: [m0@contoso.com, m1@contoso.com]\n");
    let mut live = snapshot(2);
    let (allow, deny) = (marker(APP_IDS[1], ListKind::Allow), marker(APP_IDS[1], ListKind::Deny));
    group(&mut live, "mailscope-crm-allow", Some(allow.clone()), &[m(0), m(1)]);
    group(&mut live, "mailscope-crm-deny", Some(deny.clone()), &[m(1)]);
    policy(&mut live, APP_IDS[1], "mailscope-crm-allow", AccessRight::RestrictAccess, &allow);
    policy(&mut live, APP_IDS[1], "mailscope-crm-deny", AccessRight::DenyAccess, &deny);
    let p = plan_ok(&apps, &live);
    assert_eq!(
        actions(&p),
        vec![
            (
                Effect::Widening,
                Action::RemovePolicy {
                    identity: live.policies[1].identity.clone(),
                    app_id: APP_IDS[1].into(),
                    scope: "mailscope-crm-deny".into(),
                    access_right: AccessRight::DenyAccess
                }
            ),
            (Effect::Neutral, Action::RemoveGroup { group: "mailscope-crm-deny".into() }),
        ]
    );
    assert_eq!(p.apps[0].gains, vec![m(1)]);
    converges(&apps, live, &p);
}

fn live_with_removed_app() -> LiveSnapshot {
    let mut live = snapshot(3);
    let mark = marker(APP_IDS[3], ListKind::Allow);
    group(&mut live, "mailscope-old-allow", Some(mark.clone()), &[m(0), m(1)]);
    policy(&mut live, APP_IDS[3], "mailscope-old-allow", AccessRight::RestrictAccess, &mark);
    live
}

#[test]
fn an_app_that_left_the_file_is_locked_down_by_default() {
    let apps = app("mailer", 0, "    allow: []\n");
    let live = live_with_removed_app();
    let p = plan_ok(&apps, &live);
    let old = p.apps.iter().find(|a| a.app_id == APP_IDS[3]).unwrap();
    assert_eq!(old.name, "old");
    assert_eq!(old.change, AppChange::LockDown);
    assert_eq!(old.after, AccessSummary::Only { allowed: 0 });
    let old_steps: Vec<_> = p.steps_of(APP_IDS[3]).map(|s| (s.effect, s.action.clone())).collect();
    assert_eq!(
        old_steps,
        vec![
            (Effect::Narrowing, Action::RemoveMember { group: "mailscope-old-allow".into(), member: m(0) }),
            (Effect::Narrowing, Action::RemoveMember { group: "mailscope-old-allow".into(), member: m(1) }),
        ]
    );
    assert!(!p.widens());
    converges(&apps, live, &p);
}

#[test]
fn removing_an_app_that_left_the_file_is_explicit_and_widening() {
    let desired = desired(&app("mailer", 0, "    allow: []\n"));
    let live = live_with_removed_app();
    let p = plan(&desired, &live, &PlanOptions { removed_apps: RemovedApps::Remove }).unwrap();
    let old = p.apps.iter().find(|a| a.app_id == APP_IDS[3]).unwrap();
    assert_eq!(old.change, AppChange::Remove);
    assert!(old.becomes_unrestricted);
    assert!(p.widens());
    let old_steps: Vec<_> = p.steps_of(APP_IDS[3]).map(|s| (s.effect, s.action.clone())).collect();
    assert!(matches!(old_steps[0], (Effect::Widening, Action::RemovePolicy { .. })), "{old_steps:?}");
    assert!(matches!(old_steps[1], (Effect::Neutral, Action::RemoveGroup { .. })), "{old_steps:?}");
}

#[test]
fn unmanaged_objects_are_reported_and_never_touched() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com]\n");
    let mut live = snapshot(3);
    group(&mut live, "Hand-Made", None, &[m(1)]);
    policy(&mut live, APP_IDS[0], "Hand-Made", AccessRight::RestrictAccess, "by hand");
    policy(&mut live, APP_IDS[1], "Hand-Made", AccessRight::DenyAccess, "other app");
    let p = plan_ok(&apps, &live);
    assert!(p.steps.iter().all(|s| s.action.group() != Some("Hand-Made")), "{:?}", actions(&p));
    let codes: Vec<_> = p.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, vec!["unmanaged-policy", "unlisted-app"]);
    assert!(p.findings[0].message.contains("stay reachable"), "{}", p.findings[0].message);
    // The unmanaged Restrict policy still adds m1: the summary says so.
    assert_eq!(p.apps[0].after, AccessSummary::Only { allowed: 2 });
}

#[test]
fn a_derived_name_taken_by_an_unmanaged_group_is_a_plan_error() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com]\n");
    let mut live = snapshot(2);
    group(&mut live, "mailscope-mailer-allow", None, &[m(1)]);
    let Err(PlanError::Input(err)) = plan(&desired(&apps), &live, &PlanOptions::default()) else {
        panic!("not refused as an input problem")
    };
    assert_eq!(err.problems.len(), 1);
    assert!(err.problems[0].message.contains("already exists and mailscope does not manage it"), "{err}");
    assert!(err.to_string().starts_with("t.yaml:3:11: "), "{err}");
}

#[test]
fn a_half_created_group_is_adopted() {
    // A crash between New-DistributionGroup and the marker leaves an empty,
    // unmarked group with the derived name and no policy: the next plan
    // finishes the job instead of failing.
    let apps = app("mailer", 0, "    allow: [m0@contoso.com]\n");
    let mut live = snapshot(2);
    group(&mut live, "mailscope-mailer-allow", None, &[]);
    let p = plan_ok(&apps, &live);
    assert!(matches!(p.steps[0].action, Action::MarkGroup { .. }), "{:?}", actions(&p));
    converges(&apps, live, &p);
}

#[test]
fn a_group_managed_for_another_app_cannot_be_adopted() {
    let apps = app("mailer", 0, "    group: theirs\n    allow: [m0@contoso.com]\n");
    let mut live = snapshot(2);
    group(&mut live, "theirs", Some(marker(APP_IDS[1], ListKind::Allow)), &[]);
    let Err(PlanError::Input(err)) = plan(&desired(&apps), &live, &PlanOptions::default()) else {
        panic!("not refused as an input problem")
    };
    assert!(err.problems[0].message.contains("is managed by mailscope for the allow list of app"), "{err}");
}

#[test]
fn unknown_mailboxes_are_all_listed_with_their_positions() {
    let apps =
        app("mailer", 0, "    allow: [m0@contoso.com, ghost@contoso.com]\n    deny: [phantom@contoso.com]\n");
    let err = plan(&desired(&apps), &snapshot(1), &PlanOptions::default()).unwrap_err();
    let msgs: Vec<_> = err.to_string().lines().map(str::to_owned).collect();
    assert_eq!(
        msgs,
        vec![
            "t.yaml:5:29: mailbox ghost@contoso.com in `allow` of app \"mailer\" does not exist in the tenant",
            "t.yaml:6:12: mailbox phantom@contoso.com in `deny` of app \"mailer\" does not exist in the tenant",
        ]
    );
}

#[test]
fn a_policy_on_a_deleted_group_is_reported() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com]\n");
    let mut live = snapshot(1);
    group(&mut live, "Gone", None, &[]);
    policy(&mut live, APP_IDS[0], "Gone", AccessRight::RestrictAccess, "x");
    live.groups.clear();
    let p = plan_ok(&apps, &live);
    assert!(p.findings.iter().any(|f| f.code == "dangling-policy"), "{:?}", p.findings);
}

#[test]
fn planning_is_deterministic() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/contoso.yaml")).unwrap();
    let d = mailscope_spec::parse(&text, "contoso.yaml").unwrap();
    let live: LiveSnapshot = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../policies/contoso.snapshot.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut shuffled = live.clone();
    shuffled.groups.reverse();
    shuffled.policies.reverse();
    shuffled.recipients.reverse();
    let a = plan(&d, &live, &PlanOptions::default()).unwrap();
    let b = plan(&d, &shuffled, &PlanOptions::default()).unwrap();
    assert_eq!(mailscope_planner::render::json(&a), mailscope_planner::render::json(&b));
}

#[test]
fn a_deny_group_is_adopted_like_an_allow_group() {
    let apps = app("crm", 1, "    denyGroup: Executives\n    deny: [m0@contoso.com, m1@contoso.com]\n");
    let mut live = snapshot(3);
    group(&mut live, "Executives", None, &[m(0)]);
    policy(&mut live, APP_IDS[1], "Executives", AccessRight::DenyAccess, "by hand");
    let p = plan_ok(&apps, &live);
    let kinds: Vec<_> = p.steps.iter().map(|s| (s.effect, s.action.clone())).collect();
    assert!(matches!(kinds[0], (Effect::Neutral, Action::MarkGroup { .. })), "{kinds:?}");
    assert!(matches!(kinds[1], (Effect::Neutral, Action::SetPolicyDescription { .. })), "{kinds:?}");
    assert_eq!(kinds[2], (Effect::Narrowing, Action::AddMember { group: "Executives".into(), member: m(1) }));
    assert_eq!(kinds.len(), 3);
    converges(&apps, live, &p);
}

#[test]
fn an_app_outside_the_file_sharing_an_adopted_group_is_shown_and_its_gain_counts() {
    // The file adopts "Shared" for app 0; app 1 (not in the file) has its
    // own hand-made Restrict policy on the same group. Adding a member for
    // app 0 widens app 1 too: that must be visible and need approval.
    let apps = app("mailer", 0, "    group: Shared\n    allow: [m0@contoso.com, m1@contoso.com]\n");
    let mut live = snapshot(2);
    group(&mut live, "Shared", None, &[m(0)]);
    policy(&mut live, APP_IDS[0], "Shared", AccessRight::RestrictAccess, "by hand");
    policy(&mut live, APP_IDS[1], "Shared", AccessRight::RestrictAccess, "someone else's");
    let p = plan_ok(&apps, &live);
    let other = p.apps.iter().find(|a| a.app_id == APP_IDS[1]).expect("the bystander is listed");
    assert_eq!(other.change, AppChange::Affected);
    assert_eq!(other.gains, vec![m(1)]);
    assert!(p.widens());
    let text = mailscope_planner::render::text(&p, false);
    assert!(text.contains("is not in the file but shares a group this plan changes"), "{text}");
    // An app outside the file whose access does not move is not listed.
    let apps = app("mailer", 0, "    group: Shared\n    allow: [m0@contoso.com]\n");
    let p = plan_ok(&apps, &live);
    assert!(p.apps.iter().all(|a| a.app_id != APP_IDS[1]), "{:?}", p.apps);
}

/// A file's `groupPrefix` names the groups mailscope creates and the
/// lock-down group of an app that leaves the file; the plan converges and a
/// second plan under the same prefix finds the groups again by their marker.
#[test]
fn a_custom_group_prefix_names_created_groups_and_round_trips() {
    let header = "apiVersion: mailscope/v1\ngroupPrefix: app-access\napps:\n";
    let parse = |apps: &str| mailscope_spec::parse(&format!("{header}{apps}"), "t.yaml").unwrap();
    let apps = app("mailer", 0, "    allow: [m1@contoso.com]\n");
    let mut live = snapshot(3);
    let p = plan(&parse(&apps), &live, &PlanOptions::default()).unwrap();
    let created: Vec<String> = p
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::CreateGroup { group, .. } => Some(group.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(created, ["app-access-mailer-allow"]);
    for s in &p.steps {
        apply(&mut live, &s.action);
    }
    assert!(plan(&parse(&apps), &live, &PlanOptions::default()).unwrap().is_empty(), "converged");

    // The app leaves the file: the removed app keeps its name from the group.
    let other = app("other", 1, "    allow: [m2@contoso.com]\n");
    let gone = plan(&parse(&other), &live, &PlanOptions::default()).unwrap();
    assert!(gone.apps.iter().any(|a| a.name == "mailer" && a.app_id == APP_IDS[0]), "{:?}", gone.apps);
}

/// Issue 14, defect 9: a policy is mailscope's only when its marker names
/// the policy's own app **and** the list of its right. A Deny policy of the
/// app marked `list=allow` on the app's managed allow group is therefore not
/// managed as the allow policy; the group cannot carry both rights, so a
/// fresh group takes the allow list, and the mis-marked policy goes with the
/// old group only after the new policy exists. The plan converges.
#[test]
fn a_policy_marked_for_the_other_list_is_replaced_safely() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com]\n");
    let mut live = snapshot(3);
    let mark = marker(APP_IDS[0], ListKind::Allow);
    group(&mut live, "mailscope-mailer-allow", Some(mark.clone()), &[m(0)]);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-allow", AccessRight::DenyAccess, &mark);
    let p = plan_ok(&apps, &live);
    let pos = |pred: &dyn Fn(&Action) -> bool| p.steps.iter().position(|s| pred(&s.action));
    let create =
        pos(&|a| matches!(a, Action::CreatePolicy { group, .. } if group == "mailscope-mailer-allow-2"));
    let remove = pos(&|a| matches!(a, Action::RemovePolicy { access_right: AccessRight::DenyAccess, .. }));
    let drop_group =
        pos(&|a| matches!(a, Action::RemoveGroup { group } if group == "mailscope-mailer-allow"));
    let (Some(create), Some(remove), Some(drop_group)) = (create, remove, drop_group) else {
        panic!("expected a replacement: {:?}", actions(&p));
    };
    assert!(create < remove && remove < drop_group, "{:?}", actions(&p));
    assert!(!p.findings.iter().any(|f| f.code == "unmanaged-policy"), "{:?}", p.findings);
    converges(&apps, live, &p);
}
