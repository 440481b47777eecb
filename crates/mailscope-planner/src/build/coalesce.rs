//! Pass 2b: a group's per-member steps become one
//! `Update-DistributionGroupMember` where that is fewer calls and safe in
//! every order the waves allow (`docs/performance.md`, "Fewest calls").

use std::collections::{BTreeMap, BTreeSet};

use super::replay::group_users;
use crate::cost::replace_is_fewer;
use crate::plan::{Action, Step};
use crate::world::{World, key};

/// What a step can change the access of: a group's membership (all its
/// member steps together), or anything else of one app.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Members(String),
    Step(usize),
}

/// Turns the per-member steps of a group into one
/// `Update-DistributionGroupMember` where that is fewer calls
/// ([`replace_is_fewer`]) and provably safe in every order the waves allow:
///
/// - no policy or management scope used the group before the plan (its
///   members move in `FillUnused`, before anything can use it), or
/// - for every app whose access the group decides (before or after), the
///   group's membership is the only thing the plan changes about that app.
///   Then every intermediate state of those apps is "before" or "after",
///   whatever else runs concurrently; apps that do not use the group do not
///   see the step at all.
///
/// Any other group keeps its per-member steps, split into the waves the
/// safe-order rule was designed with (removals and additions may move
/// access in opposite directions around a policy swap). The replay still
/// checks the result.
pub(super) fn coalesce_members(
    live: &World,
    target: &World,
    per_member: &BTreeSet<String>,
    steps: Vec<Step>,
) -> Vec<Step> {
    let users = |gk: &str| -> BTreeSet<String> {
        let mut u = group_users(live, gk);
        u.extend(group_users(target, gk));
        u
    };
    // Per app, what the plan changes about it.
    let mut units: BTreeMap<String, BTreeSet<Unit>> = BTreeMap::new();
    let mut member_steps: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        let (apps, unit) = match &s.action {
            Action::AddMember { group, .. } | Action::RemoveMember { group, .. } => {
                *member_steps.entry(key(group)).or_default() += 1;
                (users(&key(group)), Unit::Members(key(group)))
            }
            Action::RemoveGroup { group } => (users(&key(group)), Unit::Step(i)),
            Action::CreatePolicy { app_id, .. }
            | Action::RemovePolicy { app_id, .. }
            | Action::CreateManagementScope { app_id, .. }
            | Action::SetManagementScope { app_id, .. }
            | Action::RemoveManagementScope { app_id, .. }
            | Action::CreateRoleAssignment { app_id, .. }
            | Action::RemoveRoleAssignment { app_id, .. }
            | Action::RemoveEntraGrant { app_id, .. } => (BTreeSet::from([key(app_id)]), Unit::Step(i)),
            // Move no access.
            Action::CreateGroup { .. }
            | Action::MarkGroup { .. }
            | Action::SetPolicyDescription { .. }
            | Action::CreateServicePrincipal { .. }
            | Action::RemoveServicePrincipal { .. }
            | Action::ReplaceMembers { .. } => continue,
        };
        for app in apps {
            units.entry(app).or_default().insert(unit.clone());
        }
    }
    let replaced: BTreeSet<String> = member_steps
        .into_iter()
        .filter(|(gk, n)| {
            let after = target.groups.get(gk).map_or(0, |g| g.members.len());
            let alone = |app: &String| {
                units.get(app).is_some_and(|u| u.len() == 1 && u.contains(&Unit::Members(gk.clone())))
            };
            replace_is_fewer(*n, after)
                && !per_member.contains(gk)
                && (group_users(live, gk).is_empty() || users(gk).iter().all(alone))
        })
        .map(|(gk, _)| gk)
        .collect();
    if replaced.is_empty() {
        return steps;
    }
    let mut out = Vec::with_capacity(steps.len());
    let mut merged: BTreeMap<String, Step> = BTreeMap::new();
    for s in steps {
        let (group, member, add) = match &s.action {
            Action::AddMember { group, member } => (group, member, true),
            Action::RemoveMember { group, member } => (group, member, false),
            _ => {
                out.push(s);
                continue;
            }
        };
        let gk = key(group);
        if !replaced.contains(&gk) {
            out.push(s);
            continue;
        }
        let member = member.clone();
        let wave = s.wave;
        let entry = merged.entry(gk.clone()).or_insert_with(|| Step {
            action: Action::ReplaceMembers {
                group: group.clone(),
                members: target
                    .groups
                    .get(&gk)
                    .map(|g| g.members.iter().cloned().collect())
                    .unwrap_or_default(),
                added: Vec::new(),
                removed: Vec::new(),
            },
            ..s
        });
        // The later wave of the two: with the group alone in its apps'
        // changes, any wave is safe; the later keeps the narrowing half
        // after nothing and the widening half where it was.
        entry.wave = entry.wave.max(wave);
        if let Action::ReplaceMembers { added, removed, .. } = &mut entry.action {
            if add { added.push(member) } else { removed.push(member) }
        }
    }
    out.extend(merged.into_values());
    out
}
