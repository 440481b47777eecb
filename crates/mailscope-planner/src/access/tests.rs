//! One test per row of the verdict table (`docs/exchange.md`, "The combined
//! verdict for one permission"), plus the policy rules and the conservative
//! readings.

use mailscope_permissions::{EXCHANGE_APP_ID, GRAPH_APP_ID};

use super::*;
use crate::live::{
    LiveGroup, LiveManagementScope, LivePolicy, LiveRoleAssignment, PermissionGrant, Recipient,
};

const APP: &str = "11111111-1111-1111-1111-111111111111";
const IN: &str = "in@contoso.com";
const OUT: &str = "out@contoso.com";

fn group(name: &str, members: &[&str]) -> LiveGroup {
    LiveGroup {
        kind: None,
        id: format!("id-{name}"),
        name: name.to_owned(),
        primary_smtp_address: format!("{name}@contoso.com"),
        marker: None,
        distinguished_name: Some(format!("CN={name},OU=contoso.onmicrosoft.com,DC=EURPR01,DC=PROD")),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn snapshot() -> LiveSnapshot {
    LiveSnapshot {
        format_version: 1,
        groups: vec![group("allowed", &[IN]), group("blocked", &[IN])],
        recipients: [IN, OUT]
            .iter()
            .map(|a| Recipient {
                address: (*a).to_owned(),
                kind: "UserMailbox".into(),
                id: Some(format!("id-{a}")),
                proxy_addresses: Vec::new(),
            })
            .collect(),
        grants_read: true,
        ..LiveSnapshot::default()
    }
}

fn grant(live: &mut LiveSnapshot, resource: &str, permission: &str) {
    live.grants.push(PermissionGrant {
        app_id: APP.to_owned(),
        resource_app_id: resource.to_owned(),
        permission: permission.to_owned(),
        app_role_id: String::new(),
        id: Some(format!("grant-{permission}")),
        resource_id: Some("resource-sp".into()),
    });
}

fn policy(live: &mut LiveSnapshot, scope_id: &str, right: AccessRight) {
    live.policies.push(LivePolicy {
        identity: format!("{APP}:{scope_id}"),
        app_id: APP.to_owned(),
        scope_id: scope_id.to_owned(),
        scope_name: scope_id.to_owned(),
        access_right: right,
        description: String::new(),
    });
}

/// An assignment of `role` scoped by a management scope over `filter`
/// (`None`: organization-wide).
fn assign(live: &mut LiveSnapshot, role: &str, filter: Option<&str>) {
    let scope = filter.map(|f| {
        let name = format!("scope-{}", live.management_scopes.len());
        live.management_scopes.push(LiveManagementScope { name: name.clone(), filter: f.to_owned() });
        name
    });
    live.role_assignments.push(LiveRoleAssignment {
        name: format!("assignment-{}", live.role_assignments.len()),
        app_id: APP.to_uppercase(),
        role: role.to_owned(),
        scope,
    });
}

fn dn(name: &str) -> String {
    format!("MemberOfGroup -eq 'CN={name},OU=contoso.onmicrosoft.com,DC=EURPR01,DC=PROD'")
}

#[test]
fn entra_grant_and_policy_allow_grants() {
    let mut live = snapshot();
    grant(&mut live, GRAPH_APP_ID, "Mail.Send");
    policy(&mut live, "id-allowed", AccessRight::RestrictAccess);
    let v = decide(&live, APP, "Mail.Send", IN);
    assert!(v.allowed && v.entra.allowed && v.entra.fenced);
    assert_eq!(v.entra.grant, EntraGrant::Granted { resources: vec!["Microsoft Graph".into()] });
    assert_eq!(
        v.entra.policy.unwrap().reason,
        PolicyReason::InRestrictScope { scope: PolicyScope::Group("allowed".into()) }
    );
    assert!(v.rbac.is_empty());
}

#[test]
fn entra_grant_denied_by_policy_but_rbac_covers_grants() {
    let mut live = snapshot();
    grant(&mut live, GRAPH_APP_ID, "Mail.Send");
    policy(&mut live, "id-allowed", AccessRight::RestrictAccess);
    assign(&mut live, "Application Mail.Send", None);
    let v = decide(&live, APP, "mail.send", OUT);
    assert!(v.allowed, "RBAC adds to what the policy fences");
    assert!(!v.entra.allowed);
    assert_eq!(
        v.entra.policy.unwrap().reason,
        PolicyReason::OutsideRestrictScopes { scopes: vec![PolicyScope::Group("allowed".into())] }
    );
    assert_eq!(v.rbac.len(), 1);
    assert_eq!(v.rbac[0].scope, RbacScope::Organization);
    assert_eq!(v.rbac[0].role, "Application Mail.Send");
}

#[test]
fn entra_grant_denied_by_policy_without_rbac_is_denied() {
    let mut live = snapshot();
    grant(&mut live, GRAPH_APP_ID, "Mail.Send");
    policy(&mut live, "id-allowed", AccessRight::RestrictAccess);
    // An assignment that does not cover OUT does not help.
    assign(&mut live, "Application Mail.Send", Some(&dn("allowed")));
    let v = decide(&live, APP, "Mail.Send", OUT);
    assert!(!v.allowed);
    assert_eq!(v.rbac[0].scope, RbacScope::NotMember { scope: "scope-0".into(), group: "allowed".into() });
}

#[test]
fn no_entra_grant_but_rbac_covers_grants() {
    let mut live = snapshot();
    assign(&mut live, "Application Mail.Send", Some(&dn("allowed")));
    let v = decide(&live, APP, "Mail.Send", IN);
    assert!(v.allowed);
    assert_eq!(v.entra.grant, EntraGrant::None);
    assert!(v.entra.policy.is_none(), "no grant: the policies have nothing to fence");
    assert_eq!(v.rbac[0].scope, RbacScope::Member { scope: "scope-0".into(), group: "allowed".into() });
}

#[test]
fn no_entra_grant_and_rbac_misses_is_denied() {
    let mut live = snapshot();
    assign(&mut live, "Application Mail.Send", Some(&dn("allowed")));
    // A role that does not grant the permission is not a path at all.
    assign(&mut live, "Application Mail.Read", None);
    let v = decide(&live, APP, "Mail.Send", OUT);
    assert!(!v.allowed);
    assert_eq!(v.rbac.len(), 1);
    assert!(!v.rbac[0].matches);
}

#[test]
fn deny_beats_restrict_and_restrict_scopes_add_up() {
    let mut live = snapshot();
    grant(&mut live, GRAPH_APP_ID, "Mail.Read");
    policy(&mut live, "id-allowed", AccessRight::RestrictAccess);
    policy(&mut live, &format!("id-{OUT}"), AccessRight::RestrictAccess);
    let model = AccessModel::from_live(&live);
    assert!(model.decide(APP, "Mail.Read", IN).allowed);
    assert!(model.decide(APP, "Mail.Read", OUT).allowed, "two Restrict scopes add up");
    assert!(!model.decide(APP, "Mail.Read", "third@contoso.com").allowed);

    policy(&mut live, "id-blocked", AccessRight::DenyAccess);
    let v = decide(&live, APP, "Mail.Read", IN);
    assert!(!v.allowed, "Deny beats Restrict");
    assert_eq!(
        v.entra.policy.unwrap().reason,
        PolicyReason::Denied { scope: PolicyScope::Group("blocked".into()) }
    );
}

#[test]
fn deny_only_leaves_every_other_mailbox_open() {
    let mut live = snapshot();
    grant(&mut live, GRAPH_APP_ID, "Mail.Read");
    policy(&mut live, "id-blocked", AccessRight::DenyAccess);
    let v = decide(&live, APP, "Mail.Read", OUT);
    assert!(v.allowed);
    assert_eq!(
        v.entra.policy.unwrap().reason,
        PolicyReason::NotDenied { deny_scopes: vec![PolicyScope::Group("blocked".into())] }
    );
    let reach = AccessModel::from_live(&live).reach(APP, "Mail.Read");
    assert_eq!(reach.mailboxes, vec![OUT.to_owned()]);
    assert!(reach.every_other_mailbox);
}

#[test]
fn a_single_mailbox_policy_scope() {
    let mut live = snapshot();
    grant(&mut live, GRAPH_APP_ID, "Calendars.Read");
    policy(&mut live, &format!("id-{OUT}"), AccessRight::RestrictAccess);
    let model = AccessModel::from_live(&live);
    let v = model.decide(APP, "Calendars.Read", "OUT@Contoso.com");
    assert!(v.allowed);
    assert_eq!(
        v.entra.policy.unwrap().reason,
        PolicyReason::InRestrictScope { scope: PolicyScope::Mailbox(OUT.into()) }
    );
    assert!(!model.decide(APP, "Calendars.Read", IN).allowed);
    assert_eq!(model.reach(APP, "Calendars.Read").mailboxes, vec![OUT.to_owned()]);
}

#[test]
fn unread_grants_assume_every_fenced_permission_tenant_wide() {
    let mut live = snapshot();
    live.grants_read = false;
    policy(&mut live, "id-allowed", AccessRight::RestrictAccess);
    let model = AccessModel::from_live(&live);
    let v = model.decide(APP, "Mail.ReadWrite", IN);
    assert!(v.allowed);
    assert_eq!(v.entra.grant, EntraGrant::Assumed);
    // The policy still fences the assumed grant.
    assert!(!model.decide(APP, "Mail.ReadWrite", OUT).allowed);
    // A permission no policy fences is not assumed: nothing is known of it.
    assert_eq!(model.decide(APP, "MailboxItem.Read.All", IN).entra.grant, EntraGrant::None);
    assert!(model.permissions_of(APP).iter().any(|p| p == "full_access_as_app"));
}

#[test]
fn the_additive_trap_a_tenant_wide_grant_defeats_the_rbac_scope() {
    let mut live = snapshot();
    assign(&mut live, "Application Mail.Send", Some(&dn("allowed")));
    grant(&mut live, EXCHANGE_APP_ID, "Mail.Send");
    let model = AccessModel::from_live(&live);
    // No policy fences the grant: the scope restricts nothing.
    let v = model.decide(APP, "Mail.Send", OUT);
    assert!(v.allowed && v.entra.allowed);
    assert_eq!(v.entra.grant, EntraGrant::Granted { resources: vec!["Office 365 Exchange Online".into()] });
    assert_eq!(v.entra.policy.unwrap().reason, PolicyReason::NoPolicy);
    assert!(!v.rbac[0].matches);
    assert!(model.reach(APP, "Mail.Send").every_other_mailbox);
}

#[test]
fn unfenced_entra_grants_are_the_trap_and_a_fenced_one_is_not() {
    let mut live = snapshot();
    assign(&mut live, "Application Mail.Send", Some(&dn("allowed")));
    grant(&mut live, GRAPH_APP_ID, "Mail.Send");
    assert_eq!(AccessModel::from_live(&live).unfenced_entra_grants(APP), ["Mail.Send"]);
    // Mid-migration: the legacy Restrict policy still fences the grant.
    policy(&mut live, "id-allowed", AccessRight::RestrictAccess);
    assert!(AccessModel::from_live(&live).unfenced_entra_grants(APP).is_empty());
    // A permission no policy covers is never fenced.
    grant(&mut live, GRAPH_APP_ID, "MailboxItem.Read.All");
    assert_eq!(AccessModel::from_live(&live).unfenced_entra_grants(APP), ["MailboxItem.Read.All"]);
}

#[test]
fn an_unfenced_permission_ignores_the_policies() {
    let mut live = snapshot();
    grant(&mut live, GRAPH_APP_ID, "MailboxItem.Read.All");
    policy(&mut live, "id-allowed", AccessRight::RestrictAccess);
    let v = decide(&live, APP, "MailboxItem.Read.All", OUT);
    assert!(v.allowed && !v.entra.fenced && v.entra.policy.is_none());
}

#[test]
fn scope_filters_exclude_the_deny_group_and_unreadable_ones_match_everything() {
    let mut live = snapshot();
    assign(&mut live, "Application Mail Full Access", Some(&format!("-not ({})", dn("blocked"))));
    let model = AccessModel::from_live(&live);
    let v = model.decide(APP, "Mail.ReadWrite", IN);
    assert!(!v.allowed);
    assert_eq!(v.rbac[0].scope, RbacScope::Excluded { scope: "scope-0".into(), group: "blocked".into() });
    assert!(!v.rbac[0].scope.is_assumed(), "a scope read from the tenant is a fact");
    assert_eq!(
        model.decide(APP, "Mail.Send", OUT).rbac[0].scope,
        RbacScope::AllRecipients { scope: "scope-0".into(), except: Some("blocked".into()) }
    );

    let mut live = snapshot();
    assign(&mut live, "Application Mail.Read", Some("CustomAttribute1 -eq 'x'"));
    assign(&mut live, "Application Mail.Read", Some(&dn("not-read")));
    let v = decide(&live, APP, "Mail.Read", OUT);
    assert!(v.allowed, "an unreadable scope is read as matching every mailbox");
    assert!(v.rbac.iter().all(|r| r.matches && r.scope.is_assumed()));
    assert!(matches!(v.rbac[0].scope, RbacScope::Opaque { .. }));
    assert!(matches!(v.rbac[1].scope, RbacScope::UnknownGroup { .. }));
}

#[test]
fn ews_access_as_app_is_full_access_as_app() {
    let mut live = snapshot();
    assign(&mut live, "EWS.AccessAsApp", None);
    let model = AccessModel::from_live(&live);
    assert!(model.decide(APP, "full_access_as_app", OUT).allowed);
    assert!(model.decide(APP, "EWS.AccessAsApp", OUT).allowed);
    assert_eq!(model.permissions_of(APP), vec!["full_access_as_app".to_owned()]);
}

#[test]
fn applying_rbac_steps_changes_the_decision() {
    use crate::plan::{Action, ScopeFilter};
    let live = snapshot();
    let mut world = World::from_live(&live);
    let app = key(APP);
    world.apply(&Action::CreateManagementScope {
        name: "mailscope-app-scope".into(),
        app_id: APP.into(),
        filter: ScopeFilter { allow_group: Some("Allowed".into()), deny_group: None },
    });
    world.apply(&Action::CreateRoleAssignment {
        name: "mailscope-app-Mail.Send".into(),
        app_id: APP.into(),
        permission: "Mail.Send".into(),
        scope: "mailscope-app-scope".into(),
    });
    assert!(effective(&world, &app, "Mail.Send", IN));
    assert!(!effective(&world, &app, "Mail.Send", OUT));
    world.apply(&Action::RemoveRoleAssignment {
        name: "MAILSCOPE-APP-MAIL.SEND".into(),
        app_id: APP.into(),
        permission: "Mail.Send".into(),
        scope: Some("mailscope-app-scope".into()),
    });
    assert!(!effective(&world, &app, "Mail.Send", IN));
}

/// Without a grant, `fenced` still says whether an access policy would
/// fence the permission (what `verify` and `audit` tell a reviewer about a
/// grant that may come later): yes for Mail.Send, no for MailboxItem.Read.All.
#[test]
fn without_a_grant_fenced_says_whether_a_policy_would_fence_it() {
    let live = snapshot();
    let model = AccessModel::from_live(&live);
    let send = model.decide(APP, "Mail.Send", IN);
    assert_eq!(send.entra.grant, EntraGrant::None);
    assert!(send.entra.fenced && !send.allowed);
    let items = model.decide(APP, "MailboxItem.Read.All", IN);
    assert_eq!(items.entra.grant, EntraGrant::None);
    assert!(!items.entra.fenced && !items.allowed);
}
