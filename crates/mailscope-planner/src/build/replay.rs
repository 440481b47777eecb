//! Pass 3: replay the ordered steps on the live world, to classify each one
//! (narrowing / widening / neutral) and to check the safe-order rule. A
//! violation is a planner bug and fails the plan rather than risk an
//! unrestricted window.

use std::collections::BTreeSet;

use crate::error::PlanError;
use crate::plan::{Action, Effect, Step};
use crate::world::{OTHER_MAILBOX, Scope, World, key};

/// Apps whose decisions a step can change, and the mailboxes to probe: for
/// a membership change only that member; for a policy change every member
/// of the app's scopes and of the policy's group, plus "any other mailbox".
fn probes(world: &World, action: &Action) -> Vec<(String, BTreeSet<String>)> {
    match action {
        Action::AddMember { group, member } | Action::RemoveMember { group, member } => world
            .policies_on(&key(group))
            .map(|k| k.app_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|a| (a, BTreeSet::from([key(member)])))
            .collect(),
        Action::CreatePolicy { app_id, group, .. } | Action::RemovePolicy { app_id, scope: group, .. } => {
            let app = key(app_id);
            let mut universe = app_universe(world, &app);
            universe
                .extend(world.groups.get(&key(group)).into_iter().flat_map(|g| g.members.iter().cloned()));
            vec![(app, universe)]
        }
        // RBAC for Applications steps are not planned yet (the planner
        // refuses `mechanism: rbac` apps until they are replayed per
        // permission); the others change no decision.
        Action::CreateGroup { .. }
        | Action::MarkGroup { .. }
        | Action::SetPolicyDescription { .. }
        | Action::RemoveGroup { .. }
        | Action::CreateServicePrincipal { .. }
        | Action::RemoveServicePrincipal { .. }
        | Action::CreateManagementScope { .. }
        | Action::SetManagementScope { .. }
        | Action::RemoveManagementScope { .. }
        | Action::CreateRoleAssignment { .. }
        | Action::RemoveRoleAssignment { .. }
        | Action::RemoveEntraGrant { .. } => Vec::new(),
    }
}

/// The mailboxes whose decision for `app_id` can differ from "any other
/// mailbox": members of its scopes, plus the representative of the rest.
pub(super) fn app_universe(world: &World, app_id: &str) -> BTreeSet<String> {
    let mut universe = BTreeSet::from([OTHER_MAILBOX.to_owned()]);
    for (k, _) in world.app_policies(app_id) {
        match &k.scope {
            Scope::Group(g) => {
                universe.extend(world.groups.get(g).into_iter().flat_map(|g| g.members.iter().cloned()));
            }
            Scope::Mailbox(m) => {
                universe.insert(m.clone());
            }
            Scope::Unresolved(_) => {}
        }
    }
    universe
}

/// Replays the steps: sets each step's effect and checks that no
/// intermediate state lets an app reach a mailbox it reaches neither before
/// nor after the plan.
pub(super) fn classify_and_check(live: &World, target: &World, steps: &mut [Step]) -> Result<(), PlanError> {
    let mut world = live.clone();
    for step in steps.iter_mut() {
        let probes = probes(&world, &step.action);
        let before: Vec<Vec<bool>> =
            probes.iter().map(|(app, ms)| ms.iter().map(|m| world.allows(app, m)).collect()).collect();
        world.apply(&step.action);
        let mut narrowed = false;
        let mut widened = false;
        for ((app, mailboxes), was) in probes.iter().zip(before) {
            for (m, was) in mailboxes.iter().zip(was) {
                let is = world.allows(app, m);
                widened |= is && !was;
                narrowed |= was && !is;
                if is && !live.allows(app, m) && !target.allows(app, m) {
                    return Err(PlanError::bug(&format!(
                        "step {} ({:?}) would let app {app} reach {} which it reaches neither before nor after the plan",
                        step.index,
                        step.action,
                        if m == OTHER_MAILBOX { "every other mailbox" } else { m }
                    )));
                }
            }
        }
        step.effect = if widened {
            Effect::Widening
        } else if narrowed {
            Effect::Narrowing
        } else {
            Effect::Neutral
        };
    }
    Ok(())
}
