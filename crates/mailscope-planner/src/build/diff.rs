//! Pass 2: live → target as steps, each placed in a [`Wave`] that fixes its
//! order, then sorted into the plan's one deterministic order.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_spec::DesiredState;

use super::Owner;
use super::naming::{alias_for, parse_marker};
use crate::live::AccessRight;
use crate::plan::{Action, Effect, Step};
use crate::world::{Scope, World};

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
}

/// The steps from `live` to `target` in execution order, numbered: waves
/// first (the safe order), then file order of apps, then a stable order
/// inside an app, so that the same inputs give the same plan. Effects are
/// left [`Effect::Neutral`] for the replay to set.
pub(super) fn ordered_steps(
    desired: &DesiredState,
    live: &World,
    target: &World,
    owners: &BTreeMap<String, Owner>,
) -> Vec<Step> {
    let mut steps = diff(live, target, owners);
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
        Action::CreatePolicy { access_right, .. } => (5, format!("{access_right:?}")),
        Action::RemovePolicy { identity, .. } => (6, identity.clone()),
        Action::RemoveGroup { .. } => (7, String::new()),
    }
}

/// Turns live → target into unordered steps with their waves.
fn diff(live: &World, target: &World, owners: &BTreeMap<String, Owner>) -> Vec<Step> {
    let mut steps = Vec::new();
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
        let l = live.groups.get(gk);
        match l {
            None => push(
                &mut steps,
                &owner,
                Wave::Prepare,
                Action::CreateGroup {
                    group: t.name.clone(),
                    alias: alias_for(&t.name),
                    marker: t.marker.clone().unwrap_or_default(),
                },
            ),
            Some(l) if l.marker != t.marker => push(
                &mut steps,
                &owner,
                Wave::Prepare,
                Action::MarkGroup { group: t.name.clone(), marker: t.marker.clone().unwrap_or_default() },
            ),
            Some(_) => {}
        }
        let empty = BTreeSet::new();
        let live_members = l.map_or(&empty, |l| &l.members);
        // Which rights the group carries *now* decides which direction a
        // membership change moves access.
        let rights: BTreeSet<AccessRight> = live.policies_on(gk).map(|k| k.right).collect();
        let (add_wave, remove_wave) = if rights.is_empty() {
            (Wave::FillUnused, Wave::FillUnused)
        } else if rights.contains(&AccessRight::RestrictAccess) {
            (Wave::WidenMembers, Wave::NarrowMembers)
        } else {
            (Wave::NarrowMembers, Wave::WidenMembers)
        };
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
            if k.right == AccessRight::DenyAccess { Wave::RemoveDeny } else { Wave::RemoveRestrict },
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
            push(
                &mut steps,
                &group_owner(gk),
                Wave::RemoveGroups,
                Action::RemoveGroup { group: l.name.clone() },
            );
        }
    }
    steps
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
            Action::CreateGroup { group: g(), alias: g(), marker: s("m") },
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
