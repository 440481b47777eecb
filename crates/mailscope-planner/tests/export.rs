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

#[test]
fn rbac_apps_are_exported_with_their_permissions_and_scope_groups() {
    use mailscope_planner::{LiveManagementScope, LiveRoleAssignment, LiveServicePrincipal};
    let mut live = contoso();
    let app = "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f7";
    let dn = "CN=Marketing-Senders,OU=contoso.onmicrosoft.com,DC=X";
    let g = live.groups.iter_mut().find(|g| g.name == "Marketing-Senders").unwrap();
    g.distinguished_name = Some(dn.to_owned());
    g.marker = Some(marker(app, ListKind::Allow));
    let members = g.members.clone();
    live.exchange_service_principals.push(LiveServicePrincipal {
        app_id: app.into(),
        object_id: "0b1c2d3e-0000-4000-8000-000000000001".into(),
        display_name: "newsletter-rbac".into(),
    });
    live.management_scopes.push(LiveManagementScope {
        name: "Marketing-Senders-Scope".into(),
        filter: format!("MemberOfGroup -eq '{dn}'"),
    });
    live.management_scopes
        .push(LiveManagementScope { name: "Odd".into(), filter: "Department -eq 'x'".into() });
    for (name, role, scope) in [
        ("a", "Application Mail.Send", Some("Marketing-Senders-Scope")),
        ("b", "Application Mail.Read", Some("Marketing-Senders-Scope")),
        ("c", "Application Calendars.Read", Some("Odd")),
        ("d", "Application Contacts.Read", None),
    ] {
        live.role_assignments.push(LiveRoleAssignment {
            name: name.into(),
            app_id: app.into(),
            role: role.into(),
            scope: scope.map(str::to_owned),
        });
    }
    let file = export(&live, "contoso.onmicrosoft.com", &[app.to_owned()]);
    assert_eq!(file.apps.len(), 1);
    let e = &file.apps[0];
    assert_eq!(e.mechanism, Some(mailscope_spec::Mechanism::Rbac));
    assert_eq!(e.permissions, Some(vec!["Mail.Read".to_owned(), "Mail.Send".to_owned()]));
    assert_eq!(e.group.as_deref(), Some("Marketing-Senders"));
    let mut want: Vec<String> = members.iter().map(|m| m.to_lowercase()).collect();
    want.sort();
    assert_eq!(e.allow, Some(want));
    assert_eq!(e.notes.len(), 2, "{:?}", e.notes);
    assert!(e.notes.iter().any(|n| n.contains("organization-wide")), "{:?}", e.notes);
    assert!(e.notes.iter().any(|n| n.contains("\"Odd\"")), "{:?}", e.notes);
    let text = mailscope_spec::to_yaml(&file).unwrap();
    let back = mailscope_spec::parse(&text, "exported.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back.apps[0].mechanism, mailscope_spec::Mechanism::Rbac);

    // The app that also holds a policy (marketing-blaster keeps its
    // policy-only entry): RBAC objects of other apps change nothing for it.
    let all = export(&live, "contoso.onmicrosoft.com", &[]);
    assert_eq!(all.apps.iter().filter(|a| a.mechanism.is_some()).count(), 1);
}

/// Apps are named after their Entra display name when the snapshot has it,
/// and keep the human description of their policies; the exported file
/// plans only the adoption, which keeps that description beside the marker.
#[test]
fn apps_are_named_after_entra_and_keep_their_descriptions() {
    let mut live = common::snapshot(4);
    let [a, b, ..] = common::APP_IDS;
    common::group(&mut live, "CRM Readers", None, &[common::mailbox(0)]);
    common::policy(&mut live, a, "CRM Readers", AccessRight::RestrictAccess, "CRM sync, ticket 4711");
    common::group(
        &mut live,
        "mailscope-billing-allow",
        Some(marker(b, ListKind::Allow)),
        &[common::mailbox(1)],
    );
    let described = format!("{} | Sends invoices", marker(b, ListKind::Allow));
    common::policy(&mut live, b, "mailscope-billing-allow", AccessRight::RestrictAccess, &described);
    live.service_principals.push(mailscope_planner::EntraServicePrincipal {
        app_id: a.to_owned(),
        object_id: "00000000-0000-4000-8000-0000000000ff".to_owned(),
        display_name: "CRM Sync (EU)".to_owned(),
    });

    let (text, p) = round_trip(&live, &[]);
    assert!(text.contains("  - name: crm-sync-eu\n"), "named after Entra: {text}");
    assert!(text.contains("    description: CRM sync, ticket 4711\n"), "{text}");
    assert!(text.contains("  - name: billing\n    appId: "), "no Entra name: the group's: {text}");
    assert!(text.contains("    description: Sends invoices\n"), "{text}");
    let descriptions: Vec<&str> = p
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::SetPolicyDescription { description, .. } => Some(description.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(descriptions, [format!("{} | CRM sync, ticket 4711", marker(a, ListKind::Allow))]);
}

fn entry_of<'a>(file: &'a mailscope_spec::DesiredFile, app_id: &str) -> &'a mailscope_spec::AppEntry {
    file.apps
        .iter()
        .find(|e| e.app_id.eq_ignore_ascii_case(app_id))
        .unwrap_or_else(|| panic!("{app_id} exported"))
}

/// An app whose only policy is scoped to one mailbox has no list a file can
/// hold; it is still exported, with the note that says so.
#[test]
fn an_app_whose_policy_names_no_group_is_exported_with_its_note() {
    let mut live = common::snapshot(2);
    live.policies.push(mailscope_planner::LivePolicy {
        identity: format!("t\\{}:S-1;mailbox-id", common::APP_IDS[0]),
        app_id: common::APP_IDS[0].to_owned(),
        scope_id: "mailbox-id".to_owned(),
        scope_name: "m0".to_owned(),
        access_right: AccessRight::RestrictAccess,
        description: String::new(),
    });
    let file = export(&live, "t", &[]);
    let e = entry_of(&file, common::APP_IDS[0]);
    assert_eq!((e.allow.as_ref(), e.deny.as_ref()), (None, None));
    assert!(e.notes.iter().any(|n| n.contains("point at no group")), "{:?}", e.notes);
}

/// A policy description the file cannot hold (over 200 characters, or
/// with a control character) is left out rather than bent.
#[test]
fn descriptions_the_file_cannot_hold_are_left_out() {
    for (description, kept) in [("Sends invoices", true), (&*"x".repeat(201), false), ("two\nlines", false)] {
        let mut live = common::snapshot(1);
        common::group(&mut live, "Hand-Made", None, &[common::mailbox(0)]);
        common::policy(&mut live, common::APP_IDS[0], "Hand-Made", AccessRight::RestrictAccess, description);
        let file = export(&live, "t", &[]);
        let e = entry_of(&file, common::APP_IDS[0]);
        assert_eq!(e.description.is_some(), kept, "{description:?}");
    }
}

/// Of two allow policies, the one on the group mailscope manages for the
/// app is adopted, whatever the names' order; the other becomes a note.
#[test]
fn the_managed_group_is_adopted_before_a_hand_made_one() {
    let mut live = common::snapshot(2);
    common::group(&mut live, "Aaa-Hand-Made", None, &[common::mailbox(0)]);
    common::group(
        &mut live,
        "Zzz-Managed",
        Some(marker(common::APP_IDS[0], ListKind::Allow)),
        &[common::mailbox(1)],
    );
    for g in ["Aaa-Hand-Made", "Zzz-Managed"] {
        common::policy(&mut live, common::APP_IDS[0], g, AccessRight::RestrictAccess, "");
    }
    let file = export(&live, "t", &[]);
    let e = entry_of(&file, common::APP_IDS[0]);
    assert_eq!(e.group.as_deref(), Some("Zzz-Managed"));
    assert_eq!(e.allow, Some(vec![common::mailbox(1)]));
    assert!(e.notes.iter().any(|n| n.contains("\"Aaa-Hand-Made\", which stays unmanaged")), "{:?}", e.notes);
}

/// An RBAC app's permissions are exported only for the scope its groups
/// come from: an assignment over another scope, even one that shares the
/// allow group but not the deny group, is left out with a note.
#[test]
fn rbac_permissions_over_another_scope_are_left_out() {
    use mailscope_planner::{LiveManagementScope, LiveRoleAssignment};
    let app = common::APP_IDS[0];
    let mut live = common::snapshot(3);
    common::group(&mut live, "allow-a", Some(marker(app, ListKind::Allow)), &[common::mailbox(0)]);
    common::group(&mut live, "deny-a", Some(marker(app, ListKind::Deny)), &[common::mailbox(1)]);
    common::group(&mut live, "deny-b", Some(marker(app, ListKind::Deny)), &[common::mailbox(2)]);
    let filter = |deny: &str| {
        format!(
            "(MemberOfGroup -eq '{}') -and -not (MemberOfGroup -eq '{}')",
            common::dn("allow-a"),
            common::dn(deny)
        )
    };
    live.management_scopes.push(LiveManagementScope { name: "scope-a".into(), filter: filter("deny-a") });
    live.management_scopes.push(LiveManagementScope { name: "scope-b".into(), filter: filter("deny-b") });
    for (name, role, scope) in [
        ("a1", "Application Mail.Send", "scope-a"),
        ("a2", "Application Mail.Read", "scope-a"),
        ("b1", "Application Calendars.Read", "scope-b"),
    ] {
        live.role_assignments.push(LiveRoleAssignment {
            name: name.into(),
            app_id: app.into(),
            role: role.into(),
            scope: Some(scope.into()),
        });
    }
    let file = export(&live, "t", &[]);
    let e = entry_of(&file, app);
    assert_eq!(e.permissions, Some(vec!["Mail.Read".to_owned(), "Mail.Send".to_owned()]));
    assert_eq!(e.deny, Some(vec![common::mailbox(1)]));
    assert!(e.notes.iter().any(|n| n.contains("\"b1\"") && n.contains("another scope")), "{:?}", e.notes);
}
