//! Pass 1, RBAC for Applications half: the target's service-principal
//! pointers, management scopes, role assignments and Entra grants.
//!
//! An `rbac` app gets its allow/deny groups exactly as an access-policy app
//! does (see [`super::target`]); on top of them a management scope
//! selecting "direct members of the allow group, minus those of the deny
//! group", one role assignment per permission on that scope, and the pointer
//! the assignments need. Its access policies stay only while an Entra grant
//! they fence stays: RBAC *adds* to Entra, so a policy is the only thing
//! narrowing a tenant-wide grant the file keeps (`entraGrants: keep`).
//!
//! Ownership: scopes and assignments carry the owner in their name
//! (`naming::scope_name`, `naming::assignment_name`), pointers in their
//! `DisplayName`. Anything else is reported, never changed.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_permissions::{Resource, app_role, rbac_role};
use mailscope_spec::{AppSpec, DesiredState, EntraGrants, ListKind, Mechanism};

use super::naming::{assignment_name, marker, parse_pointer_name, parse_rbac_name, pointer_name, scope_name};
use crate::error::PlanProblem;
use crate::live::LiveSnapshot;
use crate::plan::{Finding, ScopeFilter};
use crate::world::{AssignmentState, PointerState, ScopeRule, ScopeState, World, key};

/// Whether the app's Entra grants of mailbox permissions go (`remove`, and
/// the snapshot read them so they can be named).
pub(super) fn removes_grants(app: &AppSpec, snapshot: &LiveSnapshot) -> bool {
    app.mechanism == Mechanism::Rbac && app.entra_grants == EntraGrants::Remove && snapshot.grants_read
}

/// Whether an `rbac` app still needs its access policies: while it holds (or,
/// grants unread, may hold) a policy-fenced Entra grant that stays.
pub(super) fn needs_policies(app: &AppSpec, snapshot: &LiveSnapshot, live: &World) -> bool {
    if !snapshot.grants_read {
        return true;
    }
    !removes_grants(app, snapshot)
        && live.rbac.grants_of(&app.app_id).any(|g| {
            Resource::from_app_id(&g.resource_app_id)
                .and_then(|r| app_role(r, &g.permission))
                .is_some_and(|p| p.fenced_by_policy)
        })
}

/// Apps (by id) owning a managed RBAC object of the live world.
pub(super) fn rbac_owners(live: &World) -> BTreeSet<String> {
    let named = live
        .rbac
        .scopes
        .values()
        .map(|s| &s.name)
        .chain(live.rbac.assignments.values().map(|a| &a.name))
        .filter_map(|n| parse_rbac_name(n).map(|(a, _)| a));
    let pointers = live.rbac.pointers.values().filter_map(|p| parse_pointer_name(&p.display_name));
    named.chain(pointers).collect()
}

/// Removes every managed RBAC object of an app from the target: what an
/// app that left the file or went back to access policies keeps of RBAC.
pub(super) fn drop_rbac(app_id: &str, target: &mut World) {
    let rbac = &mut target.rbac;
    rbac.assignments.retain(|_, a| {
        parse_rbac_name(&a.name).is_none_or(|(owner, _)| owner != app_id || a.app_id != app_id)
    });
    rbac.scopes.retain(|_, s| parse_rbac_name(&s.name).is_none_or(|(owner, _)| owner != app_id));
    rbac.pointers
        .retain(|a, p| a != app_id || parse_pointer_name(&p.display_name).as_deref() != Some(app_id));
}

/// The target's group name of one list of an app, as the group pass chose it.
fn list_group(target: &World, app_id: &str, list: ListKind) -> Option<String> {
    let mark = marker(app_id, list);
    target.groups.values().find(|g| g.marker.as_deref() == Some(mark.as_str())).map(|g| g.name.clone())
}

/// Plans the RBAC objects of one `rbac` app into the target.
pub(super) fn plan_app(
    app: &AppSpec,
    snapshot: &LiveSnapshot,
    live: &World,
    target: &mut World,
    problems: &mut Vec<PlanProblem>,
    findings: &mut Vec<Finding>,
) {
    let problem = |message: String| PlanProblem { at: app.at, app: app.name.clone(), message };
    let id = key(&app.app_id);

    // The pointer: reused whoever made it (it grants nothing by itself).
    if !live.rbac.pointers.contains_key(&id) {
        if let Some(sp) = snapshot.service_principals.iter().find(|s| key(&s.app_id) == id) {
            target.rbac.pointers.insert(
                id.clone(),
                PointerState { object_id: sp.object_id.clone(), display_name: pointer_name(&id) },
            );
        } else {
            let hint = match snapshot.service_principals.iter().find(|s| key(&s.object_id) == id) {
                Some(sp) => format!(
                    "{} is the object id of the service principal \"{}\", whose client id is {}: write that instead",
                    app.app_id, sp.display_name, sp.app_id
                ),
                None => "is this the object id instead of the client id? Otherwise the app has no \
                         service principal in this tenant yet (consent to it first)"
                    .to_owned(),
            };
            problems.push(problem(format!(
                "app \"{}\" uses `mechanism: rbac`, but Entra ID knows no service principal with client id {}; {hint}",
                app.name, app.app_id
            )));
        }
    }

    // The scope.
    let filter = ScopeFilter {
        allow_group: app.allow.as_ref().and_then(|_| list_group(target, &id, ListKind::Allow)),
        deny_group: app.deny.as_ref().and_then(|_| list_group(target, &id, ListKind::Deny)),
    };
    if filter.allow_group.is_none() && filter.deny_group.is_none() {
        problems.push(problem(format!(
            "app \"{}\" uses `mechanism: rbac` without `allow` or `deny`: its role assignments would reach every \
             mailbox; give it an allow or a deny list",
            app.name
        )));
        return;
    }
    let scope = scope_name(&id);
    let scope_key = key(&scope);
    let display = live.rbac.scopes.get(&scope_key).map_or_else(|| scope.clone(), |s| s.name.clone());
    target
        .rbac
        .scopes
        .insert(scope_key.clone(), ScopeState { name: display, rule: ScopeRule::from_filter(&filter) });

    // One assignment per permission; managed ones the file dropped go.
    let mut wanted = BTreeSet::new();
    for p in &app.permissions {
        let name = assignment_name(&id, &p.address);
        let name_key = key(&name);
        wanted.insert(name_key.clone());
        let role = rbac_role(&p.address)
            .map_or_else(|| format!("Application {}", p.address), mailscope_permissions::RbacRole::role_name);
        if let Some(existing) = live.rbac.assignments.get(&name_key)
            && (existing.app_id != id
                || rbac_role(&existing.role).map(|r| r.permission) != rbac_role(&role).map(|r| r.permission))
        {
            problems.push(problem(format!(
                "role assignment \"{}\" carries mailscope's name for {} of app {}, but assigns {} to app {}; \
                 mailscope leaves it alone: remove it by hand",
                existing.name, p.address, app.app_id, existing.role, existing.app_id
            )));
            continue;
        }
        let display = live.rbac.assignments.get(&name_key).map_or(name, |a| a.name.clone());
        target.rbac.assignments.insert(
            name_key,
            AssignmentState { name: display, app_id: id.clone(), role, scope: Some(scope_key.clone()) },
        );
    }
    target.rbac.assignments.retain(|k, a| {
        wanted.contains(k) || parse_rbac_name(&a.name).is_none_or(|(owner, _)| owner != id) || a.app_id != id
    });

    // Entra grants.
    if app.entra_grants == EntraGrants::Remove {
        if snapshot.grants_read {
            let mut ids_missing = false;
            target.rbac.grants.retain(|(a, _, _), g| {
                let mailbox = a == &id
                    && Resource::from_app_id(&g.resource_app_id)
                        .and_then(|r| app_role(r, &g.permission))
                        .is_some();
                ids_missing |= mailbox && (g.grant_id.is_none() || g.resource_id.is_none());
                !mailbox
            });
            if ids_missing {
                problems.push(problem(format!(
                    "app \"{}\" has `entraGrants: remove`, but the snapshot lacks the ids of its Entra grants; read \
                     the tenant again",
                    app.name
                )));
            }
        } else {
            findings.push(Finding {
                code: "grants-not-read".into(),
                app: Some(app.name.clone()),
                message: format!(
                    "app \"{}\" has `entraGrants: remove`, but the Entra grants were not read (Graph \
                     Application.Read.All): none is removed and its access policies stay",
                    app.name
                ),
            });
        }
    }
}

/// Findings about role assignments mailscope does not manage, of apps the
/// file names: they add to whatever the file says.
pub(super) fn report_unmanaged(desired: &DesiredState, live: &World, findings: &mut Vec<Finding>) {
    let apps: BTreeMap<String, &AppSpec> = desired.apps.iter().map(|a| (key(&a.app_id), a)).collect();
    for a in live.rbac.assignments.values() {
        let managed = parse_rbac_name(&a.name).is_some_and(|(owner, _)| owner == a.app_id);
        if let Some(app) = apps.get(&a.app_id)
            && !managed
        {
            findings.push(Finding {
                code: "unmanaged-role-assignment".into(),
                app: Some(app.name.clone()),
                message: format!(
                    "app \"{}\" also holds role assignment \"{}\" ({}, scope {}) that mailscope does not manage: \
                     RBAC adds to everything else, so it reaches whatever that scope selects; remove it by hand \
                     if the file should be the whole story",
                    app.name,
                    a.name,
                    a.role,
                    a.scope.as_deref().unwrap_or("the whole organization")
                ),
            });
        }
    }
}

/// The additive trap: an `rbac` app whose Entra grant of a mailbox
/// permission stays tenant-wide. RBAC adds to Entra, so its scope restricts
/// nothing such a grant already reaches; at best a legacy access policy
/// fences it.
pub(super) fn report_trap(desired: &DesiredState, target: &World, findings: &mut Vec<Finding>) {
    use crate::access::{EntraGrant, decide_in, permissions_in};
    use crate::world::OTHER_MAILBOX;
    for app in desired.apps.iter().filter(|a| a.mechanism == Mechanism::Rbac) {
        let id = key(&app.app_id);
        let mut open = Vec::new();
        let mut fenced = Vec::new();
        for p in permissions_in(target, &id) {
            let v = decide_in(target, &id, &p, OTHER_MAILBOX);
            if v.entra.grant == EntraGrant::None {
                continue;
            }
            let assumed =
                if v.entra.grant == EntraGrant::Assumed { " (assumed: grants not read)" } else { "" };
            if v.entra.allowed {
                open.push(format!("{p}{assumed}"));
            } else if !v.rbac.is_empty() {
                fenced.push(format!("{p}{assumed}"));
            }
        }
        let fix = "fix: set `entraGrants: remove` on the app (mailscope deletes the grants once its role \
                   assignments exist; needs Graph AppRoleAssignment.ReadWrite.All), or remove the grants in Entra ID";
        if !open.is_empty() {
            findings.push(Finding {
                code: "additive-trap".into(),
                app: Some(app.name.clone()),
                message: format!(
                    "app \"{}\" keeps tenant-wide Entra grants that nothing fences ({}): it reaches every mailbox \
                     with them, whatever its RBAC scope; {fix}",
                    app.name,
                    open.join(", ")
                ),
            });
        }
        if !fenced.is_empty() {
            findings.push(Finding {
                code: "additive-trap".into(),
                app: Some(app.name.clone()),
                message: format!(
                    "app \"{}\" keeps tenant-wide Entra grants of permissions it also holds through RBAC ({}): \
                     only its legacy access policy fences them; {fix}",
                    app.name,
                    fenced.join(", ")
                ),
            });
        }
    }
}
