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
