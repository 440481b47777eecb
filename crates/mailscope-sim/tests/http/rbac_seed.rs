//! The seed's RBAC keys: loaded as the cmdlets would create them, refused
//! with the same checks, and kept across a state-file round trip.

use mailscope_sim::{Sim, SimError};

use crate::common::*;

const BASE: &str = r"
tenant: { id: 8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c, displayName: T, initialDomain: t.onmicrosoft.com }
recipients: [{ address: a@t.onmicrosoft.com, kind: UserMailbox }]
groups: [{ name: g, primarySmtpAddress: g@t.onmicrosoft.com, members: [a@t.onmicrosoft.com] }]
apps:
  - { appId: 11111111-1111-4111-8111-111111111111, displayName: one, servicePrincipalId: 22222222-2222-4222-8222-222222222222 }
";

fn load(extra: &str) -> Result<Sim, SimError> {
    Sim::from_seed_str(&format!("{BASE}{extra}"), workspace())
}

fn invalid(extra: &str, needle: &str) {
    let e = load(extra).expect_err("seed must be refused").to_string();
    assert!(e.contains(needle), "{needle} not in {e}");
}

#[test]
fn rbac_objects_load_with_defaults() {
    let sim = load(
        r"
servicePrincipals: [{ appId: 11111111-1111-4111-8111-111111111111 }]
managementScopes: [{ name: s, recipientRestrictionFilter: 'MemberOfGroup -eq ''CN=g,OU=t.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM''' }]
roleAssignments:
  - { app: one, role: application mail.send, customResourceScope: s }
  - { name: org-read, app: 22222222-2222-4222-8222-222222222222, role: Application Mail.Read }
",
    )
    .unwrap();
    let t = sim.tenant();
    assert_eq!(t.service_principals[0].object_id, "22222222-2222-4222-8222-222222222222");
    assert_eq!(t.service_principals[0].display_name, "one");
    let names: Vec<_> = t.role_assignments.iter().map(|a| (a.name.as_str(), a.role.as_str())).collect();
    assert_eq!(
        names,
        [
            ("Application Mail.Send-22222222-2222-4222-8222-222222222222", "Application Mail.Send"),
            ("org-read", "Application Mail.Read")
        ]
    );
    assert_eq!(t.role_assignments[0].custom_resource_scope.as_deref(), Some("s"));
    assert_eq!(t.role_assignments[1].custom_resource_scope, None);

    // Kept in the state file.
    let dir = std::env::temp_dir().join(format!("mailscope-rbac-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.yaml");
    std::fs::write(&seed, format!("{BASE}servicePrincipals: [{{ appId: 11111111-1111-4111-8111-111111111111 }}]\nroleAssignments: [{{ app: one, role: Application Mail.Send }}]\n")).unwrap();
    let state = dir.join("state.json");
    let _ = std::fs::remove_file(&state);
    drop(Sim::open(&state, Some(&seed)).unwrap());
    let again = Sim::open(&state, None).unwrap().tenant();
    assert_eq!(again.role_assignments.len(), 1);
    assert_eq!(again.service_principals.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rbac_seed_refusals() {
    invalid("servicePrincipals: [{ appId: 33333333-3333-4333-8333-333333333333 }]\n", "not a declared app");
    invalid(
        "servicePrincipals: [{ appId: 11111111-1111-4111-8111-111111111111, objectId: 11111111-1111-4111-8111-111111111111 }]\n",
        "is not the app's service principal",
    );
    invalid(
        "managementScopes: [{ name: s, recipientRestrictionFilter: 'MemberOfGroup -eq' }]\n",
        "managementScope `s`",
    );
    invalid(
        "roleAssignments: [{ app: one, role: Application Mail.Send }]\n",
        "not a declared servicePrincipal",
    );
    let sp = "servicePrincipals: [{ appId: 11111111-1111-4111-8111-111111111111 }]\n";
    invalid(&format!("{sp}roleAssignments: [{{ app: one, role: Mail.Send }}]\n"), "not an application role");
    invalid(
        &format!(
            "{sp}roleAssignments: [{{ app: one, role: Application Mail.Send, customResourceScope: nope }}]\n"
        ),
        "unknown managementScope `nope`",
    );
    invalid(
        &format!("{sp}roleAssignments: [{{ app: one, role: Application Mail.Send, extra: 1 }}]\n"),
        "extra",
    );
}
