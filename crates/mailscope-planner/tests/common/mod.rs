//! Test helpers shared by the planner's test binaries: building inputs and
//! a reference model of the tenant that applies steps to a snapshot.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;

use mailscope_planner::{
    AccessRight, Action, LiveGroup, LiveManagementScope, LivePolicy, LiveRoleAssignment,
    LiveServicePrincipal, LiveSnapshot, Recipient,
};

pub const APP_IDS: [&str; 4] = [
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000b",
    "00000000-0000-4000-8000-00000000000c",
    "00000000-0000-4000-8000-00000000000d",
];

pub fn mailbox(i: usize) -> String {
    format!("m{i}@contoso.com")
}

pub fn snapshot(mailboxes: usize) -> LiveSnapshot {
    LiveSnapshot {
        format_version: 1,
        recipients: (0..mailboxes)
            .map(|i| Recipient {
                address: mailbox(i),
                kind: "UserMailbox".into(),
                id: None,
                proxy_addresses: Vec::new(),
            })
            .collect(),
        ..LiveSnapshot::default()
    }
}

pub fn group(live: &mut LiveSnapshot, name: &str, marker: Option<String>, members: &[String]) -> String {
    // Ids never repeat, even after a group was removed, as in Exchange.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let id =
        format!("00000000-0000-4000-9000-{:012}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    live.groups.push(LiveGroup {
        kind: None,
        id: id.clone(),
        name: name.to_owned(),
        primary_smtp_address: format!("{name}@contoso.onmicrosoft.com"),
        marker,
        distinguished_name: Some(dn(name)),
        members: members.to_vec(),
    });
    id
}

pub fn policy(live: &mut LiveSnapshot, app_id: &str, group: &str, right: AccessRight, description: &str) {
    let g = live.groups.iter().find(|g| g.name.eq_ignore_ascii_case(group)).expect("group exists");
    live.policies.push(LivePolicy {
        identity: format!("tenant\\{app_id}:S-1-5-21-1;{}", g.id),
        app_id: app_id.to_owned(),
        scope_id: g.id.clone(),
        scope_name: g.name.clone(),
        access_right: right,
        description: description.to_owned(),
    });
}

/// The distinguished name the test tenant gives a group.
pub fn dn(name: &str) -> String {
    format!(
        "CN={name},OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=EURPR01,DC=PROD"
    )
}

/// Applies one step to a snapshot the way Exchange would.
pub fn apply(live: &mut LiveSnapshot, action: &Action) {
    let find =
        |live: &LiveSnapshot, name: &str| live.groups.iter().position(|g| g.name.eq_ignore_ascii_case(name));
    match action {
        Action::CreateGroup { group: name, marker, members, .. } => {
            assert!(find(live, name).is_none(), "group {name} already exists");
            group(live, name, Some(marker.clone()), members);
        }
        Action::ReplaceMembers { group, members, added, removed } => {
            // Exchange replaces the whole list; the step's `added` and
            // `removed` must tell the truth about what that changes.
            let i = find(live, group).expect("group exists");
            let has = |m: &str| live.groups[i].members.iter().any(|x| x.eq_ignore_ascii_case(m));
            assert!(added.iter().all(|m| !has(m)), "an added member already was one");
            assert!(removed.iter().all(|m| has(m)), "a removed member was not one");
            let mut expected: Vec<String> = live.groups[i]
                .members
                .iter()
                .filter(|m| !removed.iter().any(|r| r.eq_ignore_ascii_case(m)))
                .chain(added)
                .map(|m| m.to_lowercase())
                .collect();
            expected.sort();
            let mut after: Vec<String> = members.iter().map(|m| m.to_lowercase()).collect();
            after.sort();
            assert_eq!(after, expected, "members is not live - removed + added");
            live.groups[i].members.clone_from(members);
        }
        Action::MarkGroup { group, marker } => {
            let i = find(live, group).expect("group to mark exists");
            live.groups[i].marker = Some(marker.clone());
        }
        Action::AddMember { group, member } => {
            let i = find(live, group).expect("group exists");
            assert!(
                !live.groups[i].members.iter().any(|m| m.eq_ignore_ascii_case(member)),
                "already a member"
            );
            live.groups[i].members.push(member.clone());
        }
        Action::RemoveMember { group, member } => {
            let i = find(live, group).expect("group exists");
            let before = live.groups[i].members.len();
            live.groups[i].members.retain(|m| !m.eq_ignore_ascii_case(member));
            assert_eq!(before, live.groups[i].members.len() + 1, "was not a member");
        }
        Action::RemoveGroup { group } => {
            let i = find(live, group).expect("group exists");
            let id = live.groups[i].id.clone();
            assert!(!live.policies.iter().any(|p| p.scope_id == id), "group {group} is still a policy scope");
            let gdn = live.groups[i].distinguished_name.clone().unwrap_or_default();
            assert!(
                !live.management_scopes.iter().any(|s| s.filter.contains(&gdn)),
                "group {group} is still named by a management scope"
            );
            live.groups.remove(i);
        }
        Action::CreatePolicy { app_id, group, access_right, description } => {
            let gid = live.groups[find(live, group).expect("scope exists")].id.clone();
            // The policy identity holds the app and the scope but not the
            // right, so Exchange cannot hold two policies for one pair.
            assert!(
                !live.policies.iter().any(|p| p.app_id == *app_id && p.scope_id == gid),
                "a policy of app {app_id} on {group} exists already"
            );
            policy(live, app_id, group, *access_right, description);
        }
        Action::SetPolicyDescription { identity, description, .. } => {
            let p = live.policies.iter_mut().find(|p| &p.identity == identity).expect("policy exists");
            p.description.clone_from(description);
        }
        Action::RemovePolicy { identity, .. } => {
            let before = live.policies.len();
            live.policies.retain(|p| &p.identity != identity);
            assert_eq!(before, live.policies.len() + 1, "policy {identity} existed");
        }
        other => apply_rbac(live, other),
    }
}

/// The RBAC for Applications and Entra half of [`apply`], with Exchange's
/// preconditions (a pointer before assignments, a scope before the
/// assignments on it, nothing removed while in use).
fn apply_rbac(live: &mut LiveSnapshot, action: &Action) {
    let has_pointer = |live: &LiveSnapshot, app: &str| {
        live.exchange_service_principals.iter().any(|p| p.app_id.eq_ignore_ascii_case(app))
    };
    let group_dn = |live: &LiveSnapshot, name: &str| {
        live.groups
            .iter()
            .find(|g| g.name.eq_ignore_ascii_case(name))
            .and_then(|g| g.distinguished_name.clone())
            .unwrap_or_else(|| panic!("group {name} of a scope exists"))
    };
    let scope_at = |live: &LiveSnapshot, name: &str| {
        live.management_scopes.iter().position(|s| s.name.eq_ignore_ascii_case(name))
    };
    match action {
        Action::CreateServicePrincipal { app_id, object_id, display_name } => {
            assert!(!has_pointer(live, app_id), "pointer of {app_id} exists already");
            live.exchange_service_principals.push(LiveServicePrincipal {
                app_id: app_id.clone(),
                object_id: object_id.clone(),
                display_name: display_name.clone(),
            });
        }
        Action::RemoveServicePrincipal { app_id } => {
            assert!(
                !live.role_assignments.iter().any(|a| a.app_id.eq_ignore_ascii_case(app_id)),
                "pointer of {app_id} still has role assignments"
            );
            live.exchange_service_principals.retain(|p| !p.app_id.eq_ignore_ascii_case(app_id));
        }
        Action::CreateManagementScope { name, filter, .. }
        | Action::SetManagementScope { name, filter, .. } => {
            let allow = filter.allow_group.as_deref().map(|g| group_dn(live, g));
            let deny = filter.deny_group.as_deref().map(|g| group_dn(live, g));
            let text =
                filter.to_opath(allow.as_deref(), deny.as_deref()).expect("a filter mailscope can write");
            match (scope_at(live, name), matches!(action, Action::CreateManagementScope { .. })) {
                (None, true) => {
                    live.management_scopes.push(LiveManagementScope { name: name.clone(), filter: text });
                }
                (Some(i), false) => live.management_scopes[i].filter = text,
                (found, create) => panic!("scope {name}: exists {}, create {create}", found.is_some()),
            }
        }
        Action::RemoveManagementScope { name, .. } => {
            let i = scope_at(live, name).expect("scope exists");
            assert!(
                !live
                    .role_assignments
                    .iter()
                    .any(|a| a.scope.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(name))),
                "scope {name} is still in use"
            );
            live.management_scopes.remove(i);
        }
        Action::CreateRoleAssignment { name, app_id, permission, scope } => {
            assert!(has_pointer(live, app_id), "assignment {name} needs the pointer of {app_id}");
            assert!(scope_at(live, scope).is_some(), "assignment {name} needs scope {scope}");
            assert!(
                !live.role_assignments.iter().any(|a| a.name.eq_ignore_ascii_case(name)),
                "assignment {name} exists already"
            );
            live.role_assignments.push(LiveRoleAssignment {
                name: name.clone(),
                app_id: app_id.clone(),
                role: format!("Application {permission}"),
                scope: Some(scope.clone()),
            });
        }
        Action::RemoveRoleAssignment { name, .. } => {
            let before = live.role_assignments.len();
            live.role_assignments.retain(|a| !a.name.eq_ignore_ascii_case(name));
            assert_eq!(before, live.role_assignments.len() + 1, "assignment {name} existed");
        }
        Action::RemoveEntraGrant { grant_id, resource_id, .. } => {
            let before = live.grants.len();
            live.grants.retain(|g| g.id.as_deref() != Some(grant_id.as_str()));
            assert_eq!(before, live.grants.len() + 1, "grant {grant_id} existed");
            assert!(!resource_id.is_empty(), "the grant's resource is named");
        }
        other => unreachable!("not an RBAC action: {other:?}"),
    }
}

/// Whether a `RecipientRestrictionFilter` selects a mailbox: an evaluator of
/// the OPATH subset (`MemberOfGroup -eq '<dn>'`, `-not`, `-and`,
/// parentheses), written apart from the planner's parser. `None` for
/// anything else.
pub fn filter_selects(live: &LiveSnapshot, filter: &str, mailbox: &str) -> Option<bool> {
    fn expr(t: &[String], i: &mut usize, live: &LiveSnapshot, m: &str) -> Option<bool> {
        let mut value = unary(t, i, live, m)?;
        while t.get(*i).is_some_and(|x| x.eq_ignore_ascii_case("-and")) {
            *i += 1;
            value &= unary(t, i, live, m)?;
        }
        Some(value)
    }
    fn unary(t: &[String], i: &mut usize, live: &LiveSnapshot, m: &str) -> Option<bool> {
        let tok = t.get(*i)?.clone();
        *i += 1;
        if tok.eq_ignore_ascii_case("-not") {
            return unary(t, i, live, m).map(|v| !v);
        }
        if tok == "(" {
            let v = expr(t, i, live, m)?;
            (t.get(*i)? == ")").then_some(())?;
            *i += 1;
            return Some(v);
        }
        let dn = tok.strip_prefix("MEMBER:")?;
        Some(live.groups.iter().any(|g| {
            g.distinguished_name.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(dn))
                && g.members.iter().any(|x| x.eq_ignore_ascii_case(m))
        }))
    }
    let mut tokens = Vec::new();
    let mut rest = filter.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('(').or_else(|| rest.strip_prefix(')')) {
            tokens.push(rest[..1].to_owned());
            rest = r.trim_start();
        } else if rest.len() >= 4
            && (rest[..4].eq_ignore_ascii_case("-not") || rest[..4].eq_ignore_ascii_case("-and"))
        {
            tokens.push(rest[..4].to_owned());
            rest = rest[4..].trim_start();
        } else {
            let r = rest.strip_prefix("MemberOfGroup -eq '")?;
            let end = r.find('\'')?;
            tokens.push(format!("MEMBER:{}", &r[..end]));
            rest = r[end + 1..].trim_start();
        }
    }
    let mut i = 0;
    let v = expr(&tokens, &mut i, live, mailbox)?;
    (i == tokens.len()).then_some(v)
}

/// The combined decision for one permission, written apart from the
/// planner's `access` module: (Entra grant ∧ (not fenced ∨ policies allow))
/// ∨ (an assignment whose role grants it and whose scope selects the
/// mailbox). Unread grants: every fenced permission is held. A scope the
/// evaluator cannot read selects everyone.
pub fn effective(live: &LiveSnapshot, app_id: &str, permission: &str, mailbox: &str) -> bool {
    use mailscope_permissions::{APP_ROLE_PERMISSIONS, Resource, app_role, rbac_role};
    let fenced_of = |resource: &str, perm: &str| {
        Resource::from_app_id(resource).and_then(|r| app_role(r, perm)).map(|p| p.fenced_by_policy)
    };
    let entra = if live.grants_read {
        live.grants.iter().any(|g| {
            g.app_id.eq_ignore_ascii_case(app_id)
                && g.permission.eq_ignore_ascii_case(permission)
                && fenced_of(&g.resource_app_id, &g.permission)
                    .is_some_and(|f| !f || allows(live, app_id, mailbox))
        })
    } else {
        APP_ROLE_PERMISSIONS.iter().any(|p| p.fenced_by_policy && p.value.eq_ignore_ascii_case(permission))
            && allows(live, app_id, mailbox)
    };
    entra
        || live.role_assignments.iter().any(|a| {
            a.app_id.eq_ignore_ascii_case(app_id)
                && rbac_role(&a.role)
                    .is_some_and(|r| r.grants.iter().any(|g| g.eq_ignore_ascii_case(permission)))
                && a.scope.as_deref().is_none_or(|s| {
                    live.management_scopes
                        .iter()
                        .find(|x| x.name.eq_ignore_ascii_case(s))
                        .is_none_or(|x| filter_selects(live, &x.filter, mailbox).unwrap_or(true))
                })
        })
}

/// Exchange's decision, written independently of the planner's own model:
/// Deny beats Restrict; Restrict scopes add up; no Restrict → allowed.
pub fn allows(live: &LiveSnapshot, app_id: &str, mailbox: &str) -> bool {
    let in_scope = |p: &LivePolicy| {
        live.groups
            .iter()
            .find(|g| g.id == p.scope_id)
            .is_some_and(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(mailbox)))
    };
    let mine: Vec<&LivePolicy> =
        live.policies.iter().filter(|p| p.app_id.eq_ignore_ascii_case(app_id)).collect();
    if mine.iter().any(|p| p.access_right == AccessRight::DenyAccess && in_scope(p)) {
        return false;
    }
    let restricts: Vec<_> = mine.iter().filter(|p| p.access_right == AccessRight::RestrictAccess).collect();
    restricts.is_empty() || restricts.iter().any(|p| in_scope(p))
}

/// Every mailbox the app reaches, over `universe` plus one unnamed mailbox.
pub fn reach(live: &LiveSnapshot, app_id: &str, universe: &[String]) -> BTreeSet<String> {
    universe
        .iter()
        .map(String::as_str)
        .chain(["nobody-named-this@contoso.com"])
        .filter(|m| allows(live, app_id, m))
        .map(str::to_owned)
        .collect()
}

/// Cases for a property test: `default`, or `MAILSCOPE_PROPTEST_CASES`
/// when set. Mutation testing (`just mutants`, `docs/mutants.md`) sets it
/// low so that each of a thousand mutants is tested in seconds; what a low
/// count misses there is tested again at the full count.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("MAILSCOPE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
