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
        Action::CreateGroup { .. }
        | Action::MarkGroup { .. }
        | Action::SetPolicyDescription { .. }
        | Action::RemoveGroup { .. } => Vec::new(),
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

#[cfg(test)]
mod tests {
    use mailscope_spec::ListKind;

    use super::super::naming::marker;
    use super::super::{PlanOptions, diff, target};
    use crate::live::{AccessRight, LiveGroup, LivePolicy, LiveSnapshot, Recipient};
    use crate::world::World;

    const APP: &str = "00000000-0000-4000-8000-00000000000a";

    fn group(id: &str, name: &str, marker: Option<String>, members: &[&str]) -> LiveGroup {
        LiveGroup {
            id: id.to_owned(),
            name: name.to_owned(),
            primary_smtp_address: format!("{name}@contoso.com"),
            marker,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn policy(id: &str, scope: &str, right: AccessRight, description: &str) -> LivePolicy {
        LivePolicy {
            identity: format!("tenant\\{APP}:S-1-5-21-1;{id}"),
            app_id: APP.to_owned(),
            scope_id: id.to_owned(),
            scope_name: scope.to_owned(),
            access_right: right,
            description: description.to_owned(),
        }
    }

    /// The replay is the planner's model of the tenant during the apply: the
    /// world it ends in must be the target, descriptions included (they are
    /// what later plans read ownership from). Two adopted policies of one app
    /// get different markers, so a description written to the wrong policy
    /// shows.
    #[test]
    fn replaying_the_steps_ends_in_the_target_world() {
        let desired = mailscope_spec::parse(
            &format!(
                "apiVersion: mailscope/v1\napps:\n  - name: crm\n    appId: {APP}\n    group: Readers\n    \
                 allow: [a@contoso.com, b@contoso.com]\n    denyGroup: Blocked\n    deny: [c@contoso.com]\n"
            ),
            "t.yaml",
        )
        .unwrap();
        let live = LiveSnapshot {
            format_version: 1,
            groups: vec![
                group("g1", "Readers", None, &["a@contoso.com"]),
                group("g2", "Blocked", None, &["c@contoso.com", "b@contoso.com"]),
            ],
            policies: vec![
                policy("g1", "Readers", AccessRight::RestrictAccess, "by hand"),
                policy("g2", "Blocked", AccessRight::DenyAccess, "by hand too"),
            ],
            recipients: ["a", "b", "c"]
                .iter()
                .map(|m| Recipient {
                    address: format!("{m}@contoso.com"),
                    kind: "UserMailbox".into(),
                    id: None,
                })
                .collect(),
            ..LiveSnapshot::default()
        };
        let live_world = World::from_live(&live);
        let target = target::build(&desired, &live, &live_world, &PlanOptions::default()).unwrap();
        let steps = diff::ordered_steps(&desired, &live_world, &target.world, &target.owners);
        let mut replayed = live_world.clone();
        for step in &steps {
            replayed.apply(&step.action);
        }
        assert_eq!(replayed, target.world);
        let descriptions: Vec<&str> = replayed.policies.values().map(|p| p.description.as_str()).collect();
        assert_eq!(
            descriptions,
            vec![marker(APP, ListKind::Deny), marker(APP, ListKind::Allow)],
            "Blocked, then Readers"
        );
    }
}
