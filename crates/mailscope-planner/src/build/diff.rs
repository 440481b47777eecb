//! Pass 2: live → target as steps, each placed in a [`Wave`] that fixes its
//! order, then sorted into the plan's one deterministic order.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_spec::DesiredState;

use super::Owner;
use mailscope_permissions::rbac_role;

use super::coalesce::coalesce_members;
use super::naming::{alias_for, parse_marker, parse_rbac_name};
use crate::cost::MAX_MEMBERS_PER_CALL;
use crate::live::AccessRight;
use crate::plan::{Action, Effect, ScopeFilter, Step};
use crate::world::{GroupRef, Scope, ScopeRule, World};

/// Order of execution. Every step of a wave moves access in the same
/// direction (or not at all), so a wave's steps may run in any order or
/// concurrently, and the sequence of waves keeps every intermediate state
/// within "before ∪ after" for every app:
/// narrowing first, then the policy swap (create before destroy), then
/// widening, then clean-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
enum Wave {
    /// Create or mark groups, mark adopted policies: no access change.
    Prepare = 0,
    /// Fill groups no policy uses yet: no access change.
    FillUnused = 1,
    /// Remove members from Restrict scopes, add members to Deny scopes.
    NarrowMembers = 2,
    /// New Deny policies (always narrowing).
    CreateDeny = 3,
    /// New Restrict policies, on groups already filled.
    CreateRestrict = 4,
    /// Old Restrict policies, now that the replacement exists.
    RemoveRestrict = 5,
    /// Add members to Restrict scopes, remove members from Deny scopes.
    WidenMembers = 6,
    /// Old Deny policies.
    RemoveDeny = 7,
    /// Groups nothing uses any more.
    RemoveGroups = 8,
    // RBAC for Applications. Numbered after the access-policy waves so that
    // plans without RBAC keep their wave numbers; the service-principal
    // pointer is created in `Prepare`, a management scope in `FillUnused`
    // (its groups exist by then, and no assignment uses it yet), role
    // assignments in `RemoveDeny` (widening like it, and after every change
    // of their groups and scope), and removed in `NarrowMembers` (removing
    // one only narrows, and must come before members join groups its scope
    // names).
    /// Tenant-wide Entra grants, once the app's assignments exist (narrowing).
    RemoveEntraGrants = 9,
    /// `WidenMembers` of an app whose Entra grants go: while a grant stays,
    /// its policy turns a member who joins into a mailbox the grant reaches,
    /// which the app may reach neither before nor after.
    WidenAfterGrants = 10,
    /// Access policies of an app whose Entra grants went: nothing left for
    /// them to fence.
    RemoveFencelessPolicies = 11,
    /// Management scopes and pointers no assignment uses any more.
    RemoveRbacObjects = 12,
    /// Groups a policy or scope removed in the waves above still used.
    RemoveLateGroups = 13,
}

/// The steps from `live` to `target` in execution order, numbered: waves
/// first (the safe order), then file order of apps, then a stable order
/// inside an app, so that the same inputs give the same plan. Effects are
/// left [`Effect::Neutral`] for the replay to set.
///
/// `per_member` names groups (by key) whose membership change must stay one
/// step per member even where one `Update-DistributionGroupMember` would be
/// fewer calls: the replay found the combined step unsafe for them.
pub(super) fn ordered_steps(
    desired: &DesiredState,
    live: &World,
    target: &World,
    owners: &BTreeMap<String, Owner>,
    per_member: &BTreeSet<String>,
) -> Vec<Step> {
    let mut steps = diff(live, target, owners, per_member);
    let rank: BTreeMap<&str, usize> =
        desired.apps.iter().enumerate().map(|(i, a)| (a.app_id.as_str(), i)).collect();
    steps.sort_by_cached_key(|s| {
        (
            s.wave,
            rank.get(s.app_id.as_str()).copied().unwrap_or(usize::MAX),
            s.app_id.clone(),
            s.action.group().map(str::to_owned),
            order_key(&s.action),
        )
    });
    for (i, s) in steps.iter_mut().enumerate() {
        s.index = i;
    }
    steps
}

fn order_key(action: &Action) -> (u8, String) {
    match action {
        Action::CreateGroup { .. } => (0, String::new()),
        Action::MarkGroup { .. } => (1, String::new()),
        Action::SetPolicyDescription { identity, .. } => (2, identity.clone()),
        Action::RemoveMember { member, .. } => (3, member.clone()),
        Action::AddMember { member, .. } => (4, member.clone()),
        Action::ReplaceMembers { .. } => (4, String::new()),
        Action::CreatePolicy { access_right, .. } => (5, format!("{access_right:?}")),
        Action::RemovePolicy { identity, .. } => (6, identity.clone()),
        Action::RemoveGroup { .. } => (7, String::new()),
        Action::CreateServicePrincipal { .. } => (8, String::new()),
        Action::CreateManagementScope { name, .. } | Action::SetManagementScope { name, .. } => {
            (9, name.clone())
        }
        Action::CreateRoleAssignment { name, .. } => (10, name.clone()),
        Action::RemoveEntraGrant { permission, .. } => (11, permission.clone()),
        Action::RemoveRoleAssignment { name, .. } => (12, name.clone()),
        Action::RemoveManagementScope { name, .. } => (13, name.clone()),
        Action::RemoveServicePrincipal { .. } => (14, String::new()),
    }
}

/// Turns live → target into unordered steps with their waves.
fn diff(
    live: &World,
    target: &World,
    owners: &BTreeMap<String, Owner>,
    per_member: &BTreeSet<String>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    // Apps losing Entra grants: their policies go only after the grants.
    let late_policies: BTreeSet<String> = live
        .rbac
        .grants
        .keys()
        .filter(|k| !target.rbac.grants.contains_key(*k))
        .map(|k| k.0.clone())
        .collect();
    let group_owner = |gk: &str| -> Owner {
        let marker = target.groups.get(gk).or_else(|| live.groups.get(gk)).and_then(|g| g.marker.as_deref());
        marker
            .and_then(parse_marker)
            .and_then(|(app, _)| owners.get(&app).cloned())
            .unwrap_or_else(|| Owner { name: String::new(), app_id: String::new() })
    };
    let push = |steps: &mut Vec<Step>, owner: &Owner, wave: Wave, action: Action| {
        steps.push(Step {
            index: 0,
            app: owner.name.clone(),
            app_id: owner.app_id.clone(),
            wave: wave as u32,
            action,
            effect: Effect::Neutral,
        });
    };

    for (gk, t) in &target.groups {
        let owner = group_owner(gk);
        let Some(l) = live.groups.get(gk) else {
            // A new group gets its members in the call that creates it (no
            // policy can use it yet); only what exceeds one call's cap
            // joins member by member, in `FillUnused` like before.
            let mut members = t.members.iter();
            push(
                &mut steps,
                &owner,
                Wave::Prepare,
                Action::CreateGroup {
                    group: t.name.clone(),
                    alias: alias_for(&t.name),
                    marker: t.marker.clone().unwrap_or_default(),
                    members: members.by_ref().take(MAX_MEMBERS_PER_CALL).cloned().collect(),
                },
            );
            for m in members {
                push(
                    &mut steps,
                    &owner,
                    Wave::FillUnused,
                    Action::AddMember { group: t.name.clone(), member: m.clone() },
                );
            }
            continue;
        };
        if l.marker != t.marker {
            push(
                &mut steps,
                &owner,
                Wave::Prepare,
                Action::MarkGroup { group: t.name.clone(), marker: t.marker.clone().unwrap_or_default() },
            );
        }
        let live_members = &l.members;
        // Which rights the group carries *now* decides which direction a
        // membership change moves access.
        let mut rights: BTreeSet<AccessRight> = live.policies_on(gk).map(|k| k.right).collect();
        rights.extend(scope_rights(live, gk));
        let (add_wave, remove_wave) = if rights.is_empty() {
            (Wave::FillUnused, Wave::FillUnused)
        } else if rights.contains(&AccessRight::RestrictAccess) {
            (Wave::WidenMembers, Wave::NarrowMembers)
        } else {
            (Wave::NarrowMembers, Wave::WidenMembers)
        };
        let late = |w: Wave| {
            if w == Wave::WidenMembers && late_policies.contains(&owner.app_id) {
                Wave::WidenAfterGrants
            } else {
                w
            }
        };
        let (add_wave, remove_wave) = (late(add_wave), late(remove_wave));
        for m in live_members.difference(&t.members) {
            push(
                &mut steps,
                &owner,
                remove_wave,
                Action::RemoveMember { group: t.name.clone(), member: m.clone() },
            );
        }
        for m in t.members.difference(live_members) {
            push(
                &mut steps,
                &owner,
                add_wave,
                Action::AddMember { group: t.name.clone(), member: m.clone() },
            );
        }
    }

    let group_name = |w: &World, gk: &str| w.groups.get(gk).map_or_else(|| gk.to_owned(), |g| g.name.clone());
    for (k, t) in &target.policies {
        let owner = owners
            .get(&k.app_id)
            .cloned()
            .unwrap_or_else(|| Owner { name: k.app_id.clone(), app_id: k.app_id.clone() });
        let Scope::Group(gk) = &k.scope else { continue };
        match live.policies.get(k) {
            None => push(
                &mut steps,
                &owner,
                if k.right == AccessRight::DenyAccess { Wave::CreateDeny } else { Wave::CreateRestrict },
                Action::CreatePolicy {
                    app_id: k.app_id.clone(),
                    group: group_name(target, gk),
                    access_right: k.right,
                    description: t.description.clone(),
                },
            ),
            Some(l) if l.description != t.description => push(
                &mut steps,
                &owner,
                Wave::Prepare,
                Action::SetPolicyDescription {
                    identity: l.identity.clone(),
                    group: group_name(target, gk),
                    description: t.description.clone(),
                },
            ),
            Some(_) => {}
        }
    }
    for (k, l) in &live.policies {
        if target.policies.contains_key(k) {
            continue;
        }
        let owner = owners
            .get(&k.app_id)
            .cloned()
            .unwrap_or_else(|| Owner { name: k.app_id.clone(), app_id: k.app_id.clone() });
        let scope = match &k.scope {
            Scope::Group(g) => group_name(live, g),
            Scope::Mailbox(m) => m.clone(),
            Scope::Unresolved(id) => id.clone(),
        };
        push(
            &mut steps,
            &owner,
            if late_policies.contains(&k.app_id) {
                Wave::RemoveFencelessPolicies
            } else if k.right == AccessRight::DenyAccess {
                Wave::RemoveDeny
            } else {
                Wave::RemoveRestrict
            },
            Action::RemovePolicy {
                identity: l.identity.clone(),
                app_id: k.app_id.clone(),
                scope,
                access_right: k.right,
            },
        );
    }
    for (gk, l) in &live.groups {
        if !target.groups.contains_key(gk) {
            let late = scope_rights(live, gk).next().is_some()
                || live
                    .policies_on(gk)
                    .any(|k| late_policies.contains(&k.app_id) && !target.policies.contains_key(k));
            push(
                &mut steps,
                &group_owner(gk),
                if late { Wave::RemoveLateGroups } else { Wave::RemoveGroups },
                Action::RemoveGroup { group: l.name.clone() },
            );
        }
    }
    rbac_steps(live, target, owners, &mut steps);
    coalesce_members(live, target, per_member, steps)
}

/// How a live management scope uses a group: as its allow clause (like a
/// Restrict scope: adding a member widens) or its deny clause (like a Deny
/// scope). Only scopes some role assignment uses count.
fn scope_rights<'a>(live: &'a World, gk: &'a str) -> impl Iterator<Item = AccessRight> + 'a {
    live.rbac
        .scopes
        .iter()
        .filter(|(sk, _)| live.rbac.assignments.values().any(|a| a.scope.as_ref() == Some(*sk)))
        .flat_map(move |(_, s)| {
            let mut rights = Vec::new();
            if let ScopeRule::Groups { allow, deny } = &s.rule {
                if matches!(allow, Some(GroupRef::Group(g)) if g == gk) {
                    rights.push(AccessRight::RestrictAccess);
                }
                if matches!(deny, Some(GroupRef::Group(g)) if g == gk) {
                    rights.push(AccessRight::DenyAccess);
                }
            }
            rights
        })
}

fn push_step(steps: &mut Vec<Step>, owner: &Owner, wave: Wave, action: Action) {
    steps.push(Step {
        index: 0,
        app: owner.name.clone(),
        app_id: owner.app_id.clone(),
        wave: wave as u32,
        action,
        effect: Effect::Neutral,
    });
}

/// The RBAC for Applications and Entra steps.
fn rbac_steps(live: &World, target: &World, owners: &BTreeMap<String, Owner>, steps: &mut Vec<Step>) {
    let owner = |app_id: &str| {
        owners
            .get(app_id)
            .cloned()
            .unwrap_or_else(|| Owner { name: app_id.to_owned(), app_id: app_id.to_owned() })
    };
    let (l, t) = (&live.rbac, &target.rbac);
    let group_name = |g: &Option<GroupRef>| match g {
        Some(GroupRef::Group(k)) => Some(
            target.groups.get(k).or_else(|| live.groups.get(k)).map_or_else(|| k.clone(), |g| g.name.clone()),
        ),
        Some(GroupRef::UnknownDn(dn)) => Some(dn.clone()),
        None => None,
    };
    for (app, p) in &t.pointers {
        if !l.pointers.contains_key(app) {
            push_step(
                steps,
                &owner(app),
                Wave::Prepare,
                Action::CreateServicePrincipal {
                    app_id: app.clone(),
                    object_id: p.object_id.clone(),
                    display_name: p.display_name.clone(),
                },
            );
        }
    }
    for (sk, s) in &t.scopes {
        let app = parse_rbac_name(&s.name).map(|(a, _)| a).unwrap_or_default();
        let ScopeRule::Groups { allow, deny } = &s.rule else { continue };
        let filter = ScopeFilter { allow_group: group_name(allow), deny_group: group_name(deny) };
        match l.scopes.get(sk) {
            None => push_step(
                steps,
                &owner(&app),
                Wave::FillUnused,
                Action::CreateManagementScope { name: s.name.clone(), app_id: app.clone(), filter },
            ),
            Some(ls) if ls.rule != s.rule => push_step(
                steps,
                &owner(&app),
                // A clause that only appears narrows (its group is filled
                // by `FillUnused`); any other change may widen.
                match &ls.rule {
                    ScopeRule::Groups { allow: old_allow, deny: old_deny }
                        if (old_allow.is_none() || old_allow == allow)
                            && (old_deny.is_none() || old_deny == deny) =>
                    {
                        Wave::NarrowMembers
                    }
                    _ => Wave::WidenMembers,
                },
                Action::SetManagementScope { name: s.name.clone(), app_id: app.clone(), filter },
            ),
            Some(_) => {}
        }
    }
    let permission_of =
        |role: &str| rbac_role(role).map_or_else(|| role.to_owned(), |r| r.permission.to_owned());
    for (ak, a) in &t.assignments {
        let existing = l.assignments.get(ak);
        // Exchange may spell the role differently from the file.
        let same = |old: &&crate::world::AssignmentState| {
            old.app_id == a.app_id
                && old.scope == a.scope
                && permission_of(&old.role) == permission_of(&a.role)
        };
        if existing.is_some_and(|old| same(&old)) {
            continue;
        }
        if let Some(old) = existing {
            // Same name, other role or scope: Exchange cannot hold both, so
            // the old one goes first (narrowing, a short outage at worst).
            push_step(
                steps,
                &owner(&old.app_id),
                Wave::NarrowMembers,
                Action::RemoveRoleAssignment {
                    name: old.name.clone(),
                    app_id: old.app_id.clone(),
                    permission: permission_of(&old.role),
                    scope: old
                        .scope
                        .as_ref()
                        .map(|s| l.scopes.get(s).map_or_else(|| s.clone(), |s| s.name.clone())),
                },
            );
        }
        let scope = a.scope.as_ref().map(|s| t.scopes.get(s).map_or_else(|| s.clone(), |s| s.name.clone()));
        push_step(
            steps,
            &owner(&a.app_id),
            Wave::RemoveDeny,
            Action::CreateRoleAssignment {
                name: a.name.clone(),
                app_id: a.app_id.clone(),
                permission: permission_of(&a.role),
                scope: scope.unwrap_or_default(),
            },
        );
    }
    for (k, g) in &l.grants {
        if !t.grants.contains_key(k) {
            push_step(
                steps,
                &owner(&k.0),
                Wave::RemoveEntraGrants,
                Action::RemoveEntraGrant {
                    app_id: k.0.clone(),
                    resource_app_id: g.resource_app_id.clone(),
                    permission: g.permission.clone(),
                    grant_id: g.grant_id.clone().unwrap_or_default(),
                    resource_id: g.resource_id.clone().unwrap_or_default(),
                },
            );
        }
    }
    for (ak, a) in &l.assignments {
        if !t.assignments.contains_key(ak) {
            push_step(
                steps,
                &owner(&a.app_id),
                Wave::NarrowMembers,
                Action::RemoveRoleAssignment {
                    name: a.name.clone(),
                    app_id: a.app_id.clone(),
                    permission: permission_of(&a.role),
                    scope: a
                        .scope
                        .as_ref()
                        .map(|s| l.scopes.get(s).map_or_else(|| s.clone(), |s| s.name.clone())),
                },
            );
        }
    }
    for (sk, s) in &l.scopes {
        if !t.scopes.contains_key(sk) {
            let app = parse_rbac_name(&s.name).map(|(a, _)| a).unwrap_or_default();
            push_step(
                steps,
                &owner(&app),
                Wave::RemoveRbacObjects,
                Action::RemoveManagementScope { name: s.name.clone(), app_id: app },
            );
        }
    }
    for app in l.pointers.keys() {
        if !t.pointers.contains_key(app) {
            push_step(
                steps,
                &owner(app),
                Wave::RemoveRbacObjects,
                Action::RemoveServicePrincipal { app_id: app.clone() },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inside one wave, app and group the order is fixed by the action
    /// itself, not by the order in which `diff` happens to produce steps:
    /// create or mark the group, mark its policy, members leave before
    /// members join (each by address), then policies, then the group goes.
    #[test]
    fn the_order_inside_a_group_does_not_depend_on_the_diff() {
        let g = || "g".to_owned();
        let s = |v: &str| v.to_owned();
        let policy = |right| Action::CreatePolicy {
            app_id: s("a"),
            group: g(),
            access_right: right,
            description: s("d"),
        };
        let remove_policy = |identity: &str| Action::RemovePolicy {
            identity: s(identity),
            app_id: s("a"),
            scope: g(),
            access_right: AccessRight::RestrictAccess,
        };
        let ordered = [
            Action::CreateGroup { group: g(), alias: g(), marker: s("m"), members: Vec::new() },
            Action::MarkGroup { group: g(), marker: s("m") },
            Action::SetPolicyDescription { identity: s("p"), group: g(), description: s("d") },
            Action::RemoveMember { group: g(), member: s("a@contoso.com") },
            Action::RemoveMember { group: g(), member: s("b@contoso.com") },
            Action::AddMember { group: g(), member: s("a@contoso.com") },
            Action::AddMember { group: g(), member: s("b@contoso.com") },
            policy(AccessRight::DenyAccess),
            policy(AccessRight::RestrictAccess),
            remove_policy("p1"),
            remove_policy("p2"),
            Action::RemoveGroup { group: g() },
        ];
        for pair in ordered.windows(2) {
            assert!(
                order_key(&pair[0]) < order_key(&pair[1]),
                "{:?} must come before {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}
