//! The combined access decision: may this app use this permission on this
//! mailbox, and why.
//!
//! Three authorities decide (`docs/exchange.md`, "Access decision"): Entra
//! app-role grants (tenant-wide), application access policies (which fence
//! only the Entra grants, and only of the permissions on Microsoft's list),
//! and RBAC for Applications role assignments (which *add* scoped access).
//! For one permission `p` and mailbox `M`:
//!
//! ```text
//! effective(app, p, M) = (Entra grant of p ∧ (p not fenced ∨ policies allow app on M))
//!                      ∨ (an assignment of the app whose role grants p and whose scope
//!                         is the organization or matches M)
//! ```
//!
//! The planner's safe-order replay, `mailscope audit` and `explain` all ask
//! this one function, so that "who reaches what" has one answer and one
//! explanation. It is pure: a [`Verdict`] only reads the snapshot.
//!
//! Conservative readings, each visible in the verdict: a snapshot that did
//! not read the Entra grants is taken to grant every app every
//! policy-fenced permission tenant-wide ([`EntraGrant::Assumed`]); a
//! management scope whose filter mailscope cannot read, or whose group is
//! unknown, or which is missing, is taken to match every mailbox.

mod verdict;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use mailscope_permissions::{APP_ROLE_PERMISSIONS, Resource, app_role, entra_equivalents, rbac_role};

use crate::live::{AccessRight, LiveSnapshot};
use crate::world::{GroupRef, OTHER_MAILBOX, Scope, ScopeRule, World, key};

pub use verdict::{
    EntraGrant, EntraPath, PolicyReason, PolicyScope, PolicyVerdict, RbacPath, RbacScope, Reach, Verdict,
};

/// The tenant's access state, built once from a snapshot and asked many
/// times (building resolves every scope filter and group; deciding is a
/// few map look-ups).
#[derive(Debug, Clone)]
pub struct AccessModel {
    world: World,
    /// Every recipient of the snapshot, as spelled, for [`AccessModel::reach`].
    recipients: Vec<String>,
}

impl AccessModel {
    /// Reads the access-relevant state of a snapshot.
    pub fn from_live(live: &LiveSnapshot) -> AccessModel {
        AccessModel {
            world: World::from_live(live),
            recipients: live.recipients.iter().map(|r| r.address.clone()).collect(),
        }
    }

    /// The verdict for one app (client id), one permission (its Entra or
    /// Graph value, e.g. `Mail.Send`; `EWS.AccessAsApp` and
    /// `full_access_as_app` name the same thing) and one mailbox (primary
    /// SMTP address). Case does not matter.
    pub fn decide(&self, app_id: &str, permission: &str, mailbox: &str) -> Verdict {
        decide_in(&self.world, &key(app_id), permission, &key(mailbox))
    }

    /// Every mailbox-reaching permission the app holds by any path (an
    /// Entra grant, an assumed one when grants were not read, or an RBAC
    /// role), sorted, each once. Names are Entra's values where the
    /// permission has one (`full_access_as_app` for `EWS.AccessAsApp`).
    pub fn permissions_of(&self, app_id: &str) -> Vec<String> {
        permissions_in(&self.world, &key(app_id))
    }

    /// The mailboxes of the snapshot the app reaches with the permission,
    /// and whether it reaches every mailbox the snapshot does not name.
    pub fn reach(&self, app_id: &str, permission: &str) -> Reach {
        let app = key(app_id);
        let mailboxes = self
            .recipients
            .iter()
            .filter(|m| effective(&self.world, &app, permission, &key(m)))
            .cloned()
            .collect();
        Reach { mailboxes, every_other_mailbox: effective(&self.world, &app, permission, OTHER_MAILBOX) }
    }
}

impl AccessModel {
    /// The app's Entra-granted permissions (Entra's values) that reach every
    /// mailbox no access policy names: granted tenant-wide and not fenced
    /// (no Restrict policy, or a permission policies do not cover). For an
    /// RBAC app these are the additive trap; a grant its legacy policy still
    /// fences is not listed. The same decision the planner's `additive-trap`
    /// finding uses.
    pub fn unfenced_entra_grants(&self, app_id: &str) -> Vec<String> {
        let app = key(app_id);
        permissions_in(&self.world, &app)
            .into_iter()
            .filter(|p| {
                let v = decide_in(&self.world, &app, p, OTHER_MAILBOX);
                v.entra.grant != EntraGrant::None && v.entra.allowed
            })
            .collect()
    }
}

/// [`AccessModel::decide`] for a single question; build an [`AccessModel`]
/// to ask several.
pub fn decide(live: &LiveSnapshot, app_id: &str, permission: &str, mailbox: &str) -> Verdict {
    AccessModel::from_live(live).decide(app_id, permission, mailbox)
}

/// Whether `b` names the same granted permission as `a`.
fn same_permission(a: &str, b: &str) -> bool {
    let canon = |p: &str| {
        if p.eq_ignore_ascii_case("EWS.AccessAsApp") { "full_access_as_app".to_owned() } else { key(p) }
    };
    canon(a) == canon(b)
}

/// The verdict, on keys.
pub(crate) fn decide_in(world: &World, app: &str, permission: &str, mailbox: &str) -> Verdict {
    let entra = entra_path(world, app, permission, mailbox);
    let rbac = rbac_paths(world, app, permission, mailbox);
    let allowed = entra.allowed || rbac.iter().any(|r| r.matches);
    Verdict { allowed, entra, rbac }
}

/// Only the answer of [`decide_in`].
pub(crate) fn effective(world: &World, app: &str, permission: &str, mailbox: &str) -> bool {
    decide_in(world, app, permission, mailbox).allowed
}

fn entra_path(world: &World, app: &str, permission: &str, mailbox: &str) -> EntraPath {
    let known = entra_equivalents(permission);
    let grant = if world.rbac.grants_read {
        // Grants on Graph or Exchange Online of this permission.
        let resources: Vec<(String, bool)> = world
            .rbac
            .grants_of(app)
            .filter(|g| same_permission(&g.permission, permission))
            .filter_map(|g| {
                let resource = Resource::from_app_id(&g.resource_app_id)?;
                let fenced = app_role(resource, &g.permission).is_some_and(|p| p.fenced_by_policy);
                Some((resource.display_name().to_owned(), fenced))
            })
            .collect();
        if resources.is_empty() {
            None
        } else {
            // A grant that no policy fences reaches every mailbox on its own.
            let fenced = resources.iter().all(|(_, f)| *f);
            Some((EntraGrant::Granted { resources: resources.into_iter().map(|(r, _)| r).collect() }, fenced))
        }
    } else if known.iter().any(|p| p.fenced_by_policy) {
        Some((EntraGrant::Assumed, true))
    } else {
        None
    };
    let Some((grant, fenced)) = grant else {
        return EntraPath {
            grant: EntraGrant::None,
            fenced: fenced_permission(permission),
            policy: None,
            allowed: false,
        };
    };
    let policy = fenced.then(|| policy_verdict(world, app, mailbox));
    let allowed = policy.as_ref().is_none_or(|p| p.allowed);
    EntraPath { grant, fenced, policy, allowed }
}

/// Whether an access policy fences the permission on some resource.
fn fenced_permission(permission: &str) -> bool {
    entra_equivalents(permission).iter().any(|p| p.fenced_by_policy)
}

fn policy_scope(world: &World, scope: &Scope) -> PolicyScope {
    match scope {
        Scope::Group(g) => {
            PolicyScope::Group(world.groups.get(g).map_or_else(|| g.clone(), |s| s.name.clone()))
        }
        Scope::Mailbox(m) => PolicyScope::Mailbox(m.clone()),
        Scope::Unresolved(id) => PolicyScope::Unresolved(id.clone()),
    }
}

fn in_policy_scope(world: &World, scope: &Scope, mailbox: &str) -> bool {
    match scope {
        Scope::Group(g) => world.is_member(g, mailbox),
        Scope::Mailbox(m) => m == mailbox,
        Scope::Unresolved(_) => false,
    }
}

/// Exchange's policy verdict with the policy that decided: Deny beats
/// Restrict; Restrict scopes add up; no Restrict means every mailbox not
/// denied.
fn policy_verdict(world: &World, app: &str, mailbox: &str) -> PolicyVerdict {
    let mut restrict = Vec::new();
    let mut deny = Vec::new();
    let mut granted_by = None;
    for (k, _) in world.app_policies(app) {
        let inside = in_policy_scope(world, &k.scope, mailbox);
        match k.right {
            AccessRight::DenyAccess if inside => {
                return PolicyVerdict {
                    allowed: false,
                    reason: PolicyReason::Denied { scope: policy_scope(world, &k.scope) },
                };
            }
            AccessRight::DenyAccess => deny.push(policy_scope(world, &k.scope)),
            AccessRight::RestrictAccess => {
                if inside && granted_by.is_none() {
                    granted_by = Some(policy_scope(world, &k.scope));
                }
                restrict.push(policy_scope(world, &k.scope));
            }
        }
    }
    let (allowed, reason) = match granted_by {
        Some(scope) => (true, PolicyReason::InRestrictScope { scope }),
        None if !restrict.is_empty() => (false, PolicyReason::OutsideRestrictScopes { scopes: restrict }),
        None if !deny.is_empty() => (true, PolicyReason::NotDenied { deny_scopes: deny }),
        None => (true, PolicyReason::NoPolicy),
    };
    PolicyVerdict { allowed, reason }
}

fn group_name(world: &World, g: &GroupRef) -> String {
    match g {
        GroupRef::Group(k) => world.groups.get(k).map_or_else(|| k.clone(), |s| s.name.clone()),
        GroupRef::UnknownDn(dn) => dn.clone(),
    }
}

/// How one assignment's scope meets the mailbox.
fn rbac_scope(world: &World, scope: Option<&str>, mailbox: &str) -> RbacScope {
    let Some(scope_key) = scope else { return RbacScope::Organization };
    let Some(state) = world.rbac.scopes.get(scope_key) else {
        return RbacScope::Missing { scope: scope_key.to_owned() };
    };
    let name = state.name.clone();
    match &state.rule {
        ScopeRule::Opaque(filter) => RbacScope::Opaque { scope: name, filter: filter.clone() },
        ScopeRule::Groups { allow, deny } => {
            if let Some(GroupRef::UnknownDn(dn)) = allow {
                return RbacScope::UnknownGroup { scope: name, dn: dn.clone() };
            }
            if let Some(GroupRef::Group(d)) = deny
                && world.is_member(d, mailbox)
            {
                return RbacScope::Excluded {
                    scope: name,
                    group: group_name(world, &GroupRef::Group(d.clone())),
                };
            }
            match allow {
                Some(GroupRef::Group(a)) if world.is_member(a, mailbox) => {
                    RbacScope::Member { scope: name, group: group_name(world, &GroupRef::Group(a.clone())) }
                }
                Some(g) => RbacScope::NotMember { scope: name, group: group_name(world, g) },
                None => RbacScope::AllRecipients {
                    scope: name,
                    except: deny.as_ref().map(|d| group_name(world, d)),
                },
            }
        }
    }
}

fn rbac_paths(world: &World, app: &str, permission: &str, mailbox: &str) -> Vec<RbacPath> {
    world
        .rbac
        .assignments_of(app)
        .filter(|a| {
            rbac_role(&a.role).is_some_and(|r| r.grants.iter().any(|g| same_permission(g, permission)))
        })
        .map(|a| {
            let scope = rbac_scope(world, a.scope.as_deref(), mailbox);
            let matches = scope.matches();
            RbacPath {
                assignment: a.name.clone(),
                role: rbac_role(&a.role)
                    .map_or_else(|| a.role.clone(), mailscope_permissions::RbacRole::role_name),
                scope,
                matches,
            }
        })
        .collect()
}

/// The permission's name as [`AccessModel::permissions_of`] reports it.
fn canonical(permission: &str) -> String {
    entra_equivalents(permission).first().map_or_else(|| permission.to_owned(), |p| p.value.to_owned())
}

pub(crate) fn permissions_in(world: &World, app: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut add = |p: String| {
        if seen.insert(key(&p)) {
            out.push(p);
        }
    };
    if world.rbac.grants_read {
        for g in world.rbac.grants_of(app) {
            if let Some(resource) = Resource::from_app_id(&g.resource_app_id)
                && app_role(resource, &g.permission).is_some()
            {
                add(canonical(&g.permission));
            }
        }
    } else {
        for p in APP_ROLE_PERMISSIONS.iter().filter(|p| p.fenced_by_policy) {
            add(p.value.to_owned());
        }
    }
    for a in world.rbac.assignments_of(app) {
        for g in rbac_role(&a.role).map(|r| r.grants).unwrap_or_default() {
            add(canonical(g));
        }
    }
    out.sort_by_key(|p| key(p));
    out
}
