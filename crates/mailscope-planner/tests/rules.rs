//! Planning rules that mutation testing (`just mutants`, see
//! `docs/mutants.md`) found unpinned: each test states the behaviour a user
//! relies on, through `plan()` and hand-made snapshots only.

mod common;

use common::{APP_IDS, apply, group, mailbox, policy, snapshot};
use mailscope_planner::{
    AccessRight, Action, Effect, Finding, LivePolicy, LiveSnapshot, Plan, PlanOptions, marker, plan,
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

fn actions(p: &Plan) -> Vec<(Effect, Action)> {
    p.steps.iter().map(|s| (s.effect, s.action.clone())).collect()
}

/// Applies the plan and checks that planning again finds nothing to do.
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

fn codes(p: &Plan) -> Vec<&str> {
    p.findings.iter().map(|f| f.code.as_str()).collect()
}

fn finding<'a>(p: &'a Plan, code: &str) -> &'a Finding {
    p.findings.iter().find(|f| f.code == code).unwrap_or_else(|| panic!("no {code} in {:?}", p.findings))
}

/// A hand-made policy scoped to one mailbox (Exchange allows a mailbox as
/// `PolicyScopeGroupId`): the scope is the recipient's object id.
fn mailbox_policy(live: &mut LiveSnapshot, app_id: &str, i: usize, right: AccessRight) {
    let id = format!("00000000-0000-4000-a000-{i:012}");
    live.recipients[i].id = Some(id.clone());
    live.policies.push(LivePolicy {
        identity: format!("tenant\\{app_id}:S-1-5-21-2;{id}"),
        app_id: app_id.to_owned(),
        scope_id: id,
        scope_name: m(i),
        access_right: right,
        description: "by hand".to_owned(),
    });
}

#[test]
fn a_hand_made_deny_on_one_mailbox_keeps_it_out_and_adding_it_is_no_gain() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com, m1@contoso.com]\n");
    let mut live = snapshot(3);
    let mark = marker(APP_IDS[0], ListKind::Allow);
    group(&mut live, "mailscope-mailer-allow", Some(mark.clone()), &[m(0)]);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-allow", AccessRight::RestrictAccess, &mark);
    mailbox_policy(&mut live, APP_IDS[0], 1, AccessRight::DenyAccess);
    let p = plan_ok(&apps, &live);
    // m1 joins the allow group, but the Deny on m1 alone still wins: the
    // step changes nobody's access and needs no approval.
    assert_eq!(
        actions(&p),
        vec![(Effect::Neutral, Action::AddMember { group: "mailscope-mailer-allow".into(), member: m(1) })]
    );
    assert!(p.apps[0].gains.is_empty(), "{:?}", p.apps[0].gains);
    assert!(!p.widens());
    let f = finding(&p, "unmanaged-policy");
    assert_eq!(codes(&p), vec!["unmanaged-policy"]);
    assert!(f.message.contains("DenyAccess policy on mailbox m1@contoso.com"), "{}", f.message);
    assert!(f.message.contains("stay unreachable"), "{}", f.message);
    converges(&apps, live, &p);
}

#[test]
fn a_hand_made_restrict_on_one_mailbox_adds_that_mailbox_only() {
    // The file allows m0; a hand-made Restrict policy allows m2 alone. Taking
    // m0 out of the file must narrow the app to m2, not leave it m0 or open
    // it to everyone.
    let apps = app("mailer", 0, "    allow: []\n");
    let mut live = snapshot(3);
    let mark = marker(APP_IDS[0], ListKind::Allow);
    group(&mut live, "mailscope-mailer-allow", Some(mark.clone()), &[m(0)]);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-allow", AccessRight::RestrictAccess, &mark);
    mailbox_policy(&mut live, APP_IDS[0], 2, AccessRight::RestrictAccess);
    let p = plan_ok(&apps, &live);
    assert_eq!(
        actions(&p),
        vec![(
            Effect::Narrowing,
            Action::RemoveMember { group: "mailscope-mailer-allow".into(), member: m(0) }
        )]
    );
    assert!(!p.widens());
    let f = finding(&p, "unmanaged-policy");
    assert_eq!(codes(&p), vec!["unmanaged-policy"]);
    assert!(f.message.contains("RestrictAccess policy on mailbox m2@contoso.com"), "{}", f.message);
    converges(&apps, live, &p);
}

#[test]
fn a_new_group_gets_an_alias_exchange_accepts() {
    // Exchange aliases take ASCII letters, digits, '-', '_' and '.', and may
    // not start or end with '.': everything else becomes '-', the ends are
    // trimmed.
    let apps = app("mailer", 0, "    group: \".Crm_Readers (EU) Équipe.v2-\"\n    allow: [m0@contoso.com]\n");
    let live = snapshot(1);
    let p = plan_ok(&apps, &live);
    assert_eq!(
        p.steps[0].action,
        Action::CreateGroup {
            group: ".Crm_Readers (EU) Équipe.v2-".into(),
            alias: "Crm_Readers--EU---quipe.v2".into(),
            marker: marker(APP_IDS[0], ListKind::Allow),
            members: vec![m(0)],
        }
    );
    converges(&apps, live, &p);
}

#[test]
fn a_group_whose_marker_names_no_app_is_reported_and_left_alone() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com]\n");
    let mut live = snapshot(3);
    // Starts like mailscope's marker, but the app is not a client id: it was
    // not written by mailscope (or was tampered with), so nothing owns it.
    group(&mut live, "Team-X", Some("mailscope/v1 app=mailer list=allow".into()), &[m(1)]);
    // Someone else's use of the attribute: not a marker at all.
    group(&mut live, "Team-Y", Some("set up by hand".into()), &[m(2)]);
    let p = plan_ok(&apps, &live);
    assert!(
        p.steps.iter().all(|s| s.action.group().is_some_and(|g| g == "mailscope-mailer-allow")),
        "{:?}",
        actions(&p)
    );
    assert_eq!(p.apps.len(), 1, "no app is read out of the bad marker: {:?}", p.apps);
    assert_eq!(codes(&p), vec!["unreadable-marker"]);
    let f = &p.findings[0];
    assert_eq!(f.app, None);
    assert!(f.message.contains("group \"Team-X\""), "{}", f.message);
    assert!(f.message.contains("left alone"), "{}", f.message);
}

#[test]
fn a_managed_group_an_unmanaged_policy_uses_is_kept_and_the_new_group_gets_a_free_name() {
    // The app's managed allow group carries a hand-made Deny policy of the
    // same app, so it cannot also carry the app's Restrict policy: the plan
    // moves the allow list to a fresh group, skipping names already taken,
    // and keeps the old group, which the Deny policy still scopes.
    let apps = app("mailer", 0, "    allow: [m0@contoso.com]\n");
    let mut live = snapshot(3);
    let mark = marker(APP_IDS[0], ListKind::Allow);
    group(&mut live, "mailscope-mailer-allow", Some(mark.clone()), &[m(1)]);
    policy(&mut live, APP_IDS[0], "mailscope-mailer-allow", AccessRight::DenyAccess, "by hand");
    group(&mut live, "mailscope-mailer-allow-2", None, &[m(2)]);
    group(&mut live, "Elsewhere", None, &[]);
    let p = plan_ok(&apps, &live);
    let fresh = "mailscope-mailer-allow-3";
    assert_eq!(
        actions(&p),
        vec![
            (
                Effect::Neutral,
                Action::CreateGroup {
                    group: fresh.into(),
                    alias: fresh.into(),
                    marker: mark.clone(),
                    members: vec![m(0)],
                }
            ),
            (
                Effect::Narrowing,
                Action::CreatePolicy {
                    app_id: APP_IDS[0].into(),
                    group: fresh.into(),
                    access_right: AccessRight::RestrictAccess,
                    description: mark
                }
            ),
        ]
    );
    let f = finding(&p, "group-in-use");
    assert_eq!(f.app.as_deref(), Some("mailer"));
    assert!(f.message.contains("\"mailscope-mailer-allow\" is kept"), "{}", f.message);
    converges(&apps, live, &p);
}

#[test]
fn an_adopted_policy_is_not_reported_as_unmanaged() {
    let apps = app("scanner", 2, "    group: Legacy-Scanners\n    allow: [m0@contoso.com]\n");
    let mut live = snapshot(2);
    group(&mut live, "Legacy-Scanners", None, &[m(0)]);
    policy(&mut live, APP_IDS[2], "Legacy-Scanners", AccessRight::RestrictAccess, "made by hand");
    let p = plan_ok(&apps, &live);
    assert!(p.findings.is_empty(), "{:?}", p.findings);
    assert_eq!(p.steps.len(), 2, "{:?}", actions(&p));
}

#[test]
fn policies_on_deleted_groups_name_their_scope() {
    let apps = app("mailer", 0, "    allow: [m0@contoso.com]\n");
    let mut live = snapshot(1);
    group(&mut live, "Gone", None, &[]);
    policy(&mut live, APP_IDS[0], "Gone", AccessRight::RestrictAccess, "x");
    policy(&mut live, APP_IDS[1], "Gone", AccessRight::DenyAccess, "y");
    let gone_id = live.groups[0].id.clone();
    live.groups.clear();
    let p = plan_ok(&apps, &live);
    assert_eq!(codes(&p), vec!["unmanaged-policy", "dangling-policy", "unlisted-app"]);
    let scope = format!("a scope that no longer exists ({gone_id})");
    for f in &p.findings[..2] {
        assert_eq!(f.app.as_deref(), Some("mailer"));
        assert!(f.message.contains(&scope), "{}", f.message);
    }
    // An app outside the file: its groups are not read, the policy's
    // ScopeName says what it was.
    assert_eq!(p.findings[2].app, None);
    assert!(p.findings[2].message.contains("DenyAccess policy on \"Gone\""), "{}", p.findings[2].message);
}

#[test]
fn inside_a_wave_a_group_is_marked_before_its_members_are_replaced() {
    // An adopted group no policy uses yet: every step is in the neutral
    // waves, and inside them the group is marked first, then its members
    // are replaced in one call (four changes; the lists in address order).
    let apps = app("scanner", 2, "    group: Team\n    allow: [m0@contoso.com, m3@contoso.com]\n");
    let mut live = snapshot(4);
    group(&mut live, "Team", None, &[m(2), m(1)]);
    let p = plan_ok(&apps, &live);
    let mark = marker(APP_IDS[2], ListKind::Allow);
    let team = || "Team".to_owned();
    assert_eq!(
        actions(&p),
        vec![
            (Effect::Neutral, Action::MarkGroup { group: team(), marker: mark.clone() }),
            (
                Effect::Neutral,
                Action::ReplaceMembers {
                    group: team(),
                    members: vec![m(0), m(3)],
                    added: vec![m(0), m(3)],
                    removed: vec![m(1), m(2)],
                }
            ),
            (
                Effect::Narrowing,
                Action::CreatePolicy {
                    app_id: APP_IDS[2].into(),
                    group: team(),
                    access_right: AccessRight::RestrictAccess,
                    description: mark
                }
            ),
        ]
    );
    converges(&apps, live, &p);
}

/// An allow entry written with a secondary (proxy) address is planned
/// against the mailbox's primary address, says so, and converges: the group
/// lists the member under its primary, which is what the next plan compares.
#[test]
fn a_secondary_address_is_planned_as_the_primary_and_converges() {
    let mut live = snapshot(3);
    live.recipients[1].proxy_addresses = vec!["alias@contoso.com".into()];
    let apps = app("mailer", 0, "    allow:\n      - m0@contoso.com\n      - Alias@contoso.com\n");
    let p = plan_ok(&apps, &live);
    // The new group gets its members when it is created (or one by one).
    let added: Vec<&str> = p
        .steps
        .iter()
        .flat_map(|s| match &s.action {
            Action::AddMember { member, .. } => vec![member.as_str()],
            Action::CreateGroup { members, .. } => members.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(added, [m(0), m(1)]);
    let f = finding(&p, "proxy-address");
    assert_eq!(f.app.as_deref(), Some("mailer"));
    assert!(f.message.starts_with("t.yaml:7:9: alias@contoso.com in `allow`"), "{}", f.message);
    assert!(f.message.contains(&format!("planned as {}", m(1))), "{}", f.message);
    converges(&apps, live, &p);
}
