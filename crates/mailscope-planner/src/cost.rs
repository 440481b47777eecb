//! What a plan costs in Exchange calls, and the fewest calls any client
//! could make for it (`docs/performance.md`, "The lower bound").
//!
//! On a real tenant the cost of `plan` and `apply` is admin-API round trips
//! (tens to hundreds of milliseconds each, throttled), so the planner
//! chooses the cheaper of equivalent ways to write a group's membership
//! ([`replace_is_fewer`]) and the bench compares the calls an apply made
//! with [`lower_bound`]. Pure: no I/O, like the rest of the crate.

use std::collections::{BTreeMap, BTreeSet};

use crate::live::LiveSnapshot;
use crate::plan::{Action, Plan};
use crate::world::key;

/// The most members mailscope sends in one `-Members` parameter
/// (`New-DistributionGroup -Members`, `Update-DistributionGroupMember
/// -Members`).
///
/// Microsoft Learn's `New-DistributionGroup` page caps `-Members` at 10,000
/// entries; the `Update-DistributionGroupMember` page states no cap. A
/// thousand addresses (tens of kilobytes of JSON) stays well inside both and
/// inside the request sizes the admin API is seen to take
/// (`docs/exchange.md`, "Parameter-size limits"). A group whose target
/// membership is larger is written member by member.
pub const MAX_MEMBERS_PER_CALL: usize = 1_000;

/// Addresses per `Get-Recipient -Filter` call when the client resolves the
/// file's addresses that are not already members of a group read
/// (`docs/exchange.md`, "Parameter-size limits"); `mailscope-exo` reads
/// with this number.
pub const RECIPIENT_BATCH: usize = 100;

/// Group names per filtered `Get-DistributionGroup` lookup when the client
/// looks up the groups the file names that the marker filter did not find:
/// three clauses (`Name`, `Alias`, `PrimarySmtpAddress`) per name, so a
/// batch is about as long as a [`RECIPIENT_BATCH`] of `Get-Recipient`.
pub const GROUP_NAME_BATCH: usize = 50;

/// Objects per page of a paged read: Exchange's largest page
/// (`docs/exchange.md`, "Parameter-size limits").
pub const PAGE_SIZE: usize = 1_000;

/// Whether one `Update-DistributionGroupMember -Members <after>` is fewer
/// calls than `per_member` single adds and removes: it is one call, so it
/// wins from two changes on, as long as the whole membership fits one call.
/// A replace that empties a group is never chosen: Learn does not say that
/// an empty `-Members` empties the group, so emptying stays member by
/// member.
pub fn replace_is_fewer(per_member: usize, after: usize) -> bool {
    per_member >= 2 && (1..=MAX_MEMBERS_PER_CALL).contains(&after)
}

/// Calls, split as the emulator's counters and a real tenant's throttling
/// count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallBudget {
    /// Calls that only read (`Get-*`).
    pub reads: usize,
    /// Calls that change the tenant (Exchange cmdlets and Graph deletions).
    pub writes: usize,
}

impl CallBudget {
    /// Reads plus writes.
    pub fn total(&self) -> usize {
        self.reads + self.writes
    }
}

/// The fewest calls with which any client can read what `plan` was made
/// from and apply it, given what Exchange's cmdlets can do in one call.
///
/// Reads (each needed by any client, `docs/performance.md`), a paged read
/// counting one call per [`PAGE_SIZE`] objects (at least one):
/// - `Get-ApplicationAccessPolicy` (every policy);
/// - `Get-DistributionGroup -Filter` on the marker (every managed group);
/// - ⌈N / [`GROUP_NAME_BATCH`]⌉ `Get-DistributionGroup -Filter` by name,
///   where N counts the groups the plan creates or marks (no marker finds
///   them, and only a lookup says they are absent or free to adopt);
/// - `Get-DistributionGroupMember` per group in `live` (membership has no
///   batch read);
/// - ⌈R / [`RECIPIENT_BATCH`]⌉ `Get-Recipient` where R counts the snapshot's
///   recipients that are no member of a group read (only those needed their
///   own resolution);
/// - 1 `Get-ServicePrincipal`, plus `Get-ManagementScope` and
///   `Get-ManagementRoleAssignment` when the tenant has an Exchange pointer,
///   scope or assignment, or the plan holds an RBAC step.
///
/// Writes, per group: 0 when its membership does not change; else the
/// cheaper of one call per added or removed member and one replace
/// ([`replace_is_fewer`]); a new group costs 2 (`New-DistributionGroup
/// -Members`, then `Set-DistributionGroup -CustomAttribute15`, which `New-`
/// does not take) plus one add per member beyond [`MAX_MEMBERS_PER_CALL`].
/// Every other step is one call.
///
/// Graph reads of Entra grants and service principals (only for files with
/// `mechanism: rbac` or `entraGrants: remove`) are not counted.
pub fn lower_bound(plan: &Plan, live: &LiveSnapshot) -> CallBudget {
    CallBudget { reads: read_bound(plan, live), writes: write_bound(plan, live) }
}

/// The write calls applying `plan` makes when nothing fails: two for a
/// group it creates (`New-DistributionGroup`, then the marker), one for
/// every other step.
pub fn write_calls(plan: &Plan) -> usize {
    plan.steps.iter().map(|s| if matches!(s.action, Action::CreateGroup { .. }) { 2 } else { 1 }).sum()
}

fn read_bound(plan: &Plan, live: &LiveSnapshot) -> usize {
    let pages = |n: usize| n.div_ceil(PAGE_SIZE).max(1);
    let members: BTreeSet<String> =
        live.groups.iter().flat_map(|g| g.members.iter().map(|m| key(m))).collect();
    let resolved = live.recipients.iter().filter(|r| !members.contains(&key(&r.address))).count();
    // Groups the plan creates or marks carry no marker yet: only a lookup by
    // name tells that they are absent, or unmarked and free to adopt.
    let by_name: BTreeSet<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::CreateGroup { group, .. } | Action::MarkGroup { group, .. } => Some(key(group)),
            _ => None,
        })
        .collect();
    let managed = live.groups.iter().filter(|g| g.marker.is_some()).count();
    let rbac_step = plan.steps.iter().any(|s| is_rbac(&s.action));
    let rbac_reads = if rbac_step
        || !live.exchange_service_principals.is_empty()
        || !live.management_scopes.is_empty()
        || !live.role_assignments.is_empty()
    {
        3
    } else {
        1
    };
    pages(live.policies.len())
        + pages(managed)
        + by_name.len().div_ceil(GROUP_NAME_BATCH)
        + live.groups.iter().map(|g| pages(g.members.len())).sum::<usize>()
        + resolved.div_ceil(RECIPIENT_BATCH)
        + rbac_reads
}

fn is_rbac(action: &Action) -> bool {
    matches!(
        action,
        Action::CreateServicePrincipal { .. }
            | Action::RemoveServicePrincipal { .. }
            | Action::CreateManagementScope { .. }
            | Action::SetManagementScope { .. }
            | Action::RemoveManagementScope { .. }
            | Action::CreateRoleAssignment { .. }
            | Action::RemoveRoleAssignment { .. }
            | Action::RemoveEntraGrant { .. }
    )
}

/// Per group: (members changed, members afterwards, new group).
#[derive(Default)]
struct GroupChange {
    changes: usize,
    after: BTreeSet<String>,
    created: bool,
}

fn write_bound(plan: &Plan, live: &LiveSnapshot) -> usize {
    let mut groups: BTreeMap<String, GroupChange> = BTreeMap::new();
    let mut other = 0;
    for s in &plan.steps {
        match &s.action {
            Action::CreateGroup { group, members, .. } => {
                let g = groups.entry(key(group)).or_default();
                g.created = true;
                g.after.extend(members.iter().map(|m| key(m)));
            }
            Action::AddMember { group, member } => {
                let g = entry_mut(&mut groups, live, group);
                g.changes += 1;
                g.after.insert(key(member));
            }
            Action::RemoveMember { group, member } => {
                let g = entry_mut(&mut groups, live, group);
                g.changes += 1;
                g.after.remove(&key(member));
            }
            Action::ReplaceMembers { group, added, removed, .. } => {
                let g = entry_mut(&mut groups, live, group);
                g.changes += added.len() + removed.len();
                g.after.extend(added.iter().map(|m| key(m)));
                for m in removed {
                    g.after.remove(&key(m));
                }
            }
            _ => other += 1,
        }
    }
    other
        + groups
            .values()
            .map(|g| {
                if g.created {
                    2 + g.after.len().saturating_sub(MAX_MEMBERS_PER_CALL)
                } else if replace_is_fewer(g.changes, g.after.len()) {
                    1
                } else {
                    g.changes
                }
            })
            .sum::<usize>()
}

/// The running state of one existing group, its live members to start with.
fn entry_mut<'a>(
    groups: &'a mut BTreeMap<String, GroupChange>,
    live: &LiveSnapshot,
    group: &str,
) -> &'a mut GroupChange {
    groups.entry(key(group)).or_insert_with(|| GroupChange {
        after: live
            .groups
            .iter()
            .find(|l| key(&l.name) == key(group))
            .map(|l| l.members.iter().map(|m| key(m)).collect())
            .unwrap_or_default(),
        ..GroupChange::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::AccessRight;
    use crate::live::{LiveGroup, LivePolicy, Recipient};
    use crate::plan::{Effect, PLAN_FORMAT_VERSION, Step, Summary};

    fn step(action: Action) -> Step {
        Step { index: 0, app: "a".into(), app_id: "a".into(), wave: 0, action, effect: Effect::Neutral }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        let steps: Vec<Step> = actions.into_iter().map(step).collect();
        let summary = Summary::count(&steps);
        Plan { format_version: PLAN_FORMAT_VERSION, steps, apps: Vec::new(), findings: Vec::new(), summary }
    }

    fn group(name: &str, members: &[&str]) -> LiveGroup {
        LiveGroup {
            id: format!("id-{name}"),
            name: name.to_owned(),
            primary_smtp_address: format!("{name}@contoso.com"),
            marker: None,
            distinguished_name: None,
            kind: None,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn recipient(address: &str) -> Recipient {
        Recipient {
            address: address.to_owned(),
            kind: "UserMailbox".into(),
            id: None,
            proxy_addresses: Vec::new(),
        }
    }

    fn s(v: &str) -> String {
        v.to_owned()
    }

    #[test]
    fn the_total_is_reads_plus_writes() {
        assert_eq!(CallBudget { reads: 3, writes: 4 }.total(), 7);
    }

    /// Groups the plan creates or marks are looked up by name, 50 a call.
    #[test]
    fn groups_created_or_marked_cost_one_lookup_per_batch() {
        let live = LiveSnapshot::default();
        let base = lower_bound(&plan(Vec::new()), &live).reads;
        let create = |i: usize| Action::CreateGroup {
            group: format!("g{i}"),
            alias: format!("g{i}"),
            marker: s("m"),
            members: vec![s("a@c.com")],
        };
        assert_eq!(lower_bound(&plan(vec![create(0)]), &live).reads, base + 1);
        let mark = Action::MarkGroup { group: s("adopted"), marker: s("m") };
        assert_eq!(
            lower_bound(&plan(vec![mark]), &live).reads,
            base + 1,
            "a group to adopt is looked up too"
        );
        let many: Vec<Action> = (0..=GROUP_NAME_BATCH).map(create).collect();
        assert_eq!(lower_bound(&plan(many), &live).reads, base + 2, "51 names: 2 lookups");
    }

    /// The RBAC objects are read (two more calls) when the plan or the
    /// tenant has any of them, each on its own.
    #[test]
    fn rbac_objects_are_read_when_the_plan_or_the_tenant_has_any() {
        let none = LiveSnapshot::default();
        let add = Action::AddMember { group: s("g"), member: s("a@c.com") };
        let base = lower_bound(&plan(vec![add.clone()]), &none).reads;
        let with_rbac_step = plan(vec![Action::RemoveServicePrincipal { app_id: s("a") }]);
        assert_eq!(lower_bound(&with_rbac_step, &none).reads, base + 2, "an RBAC step");
        let sp = LiveSnapshot {
            exchange_service_principals: vec![crate::live::LiveServicePrincipal {
                app_id: s("a"),
                object_id: s("o"),
                display_name: s("a"),
            }],
            ..LiveSnapshot::default()
        };
        assert_eq!(lower_bound(&plan(vec![add.clone()]), &sp).reads, base + 2, "a pointer");
        let scope = LiveSnapshot {
            management_scopes: vec![crate::live::LiveManagementScope { name: s("s"), filter: s("f") }],
            ..LiveSnapshot::default()
        };
        assert_eq!(lower_bound(&plan(vec![add.clone()]), &scope).reads, base + 2, "a scope");
        let assignment = LiveSnapshot {
            role_assignments: vec![crate::live::LiveRoleAssignment {
                name: s("r"),
                app_id: s("a"),
                role: s("Application Mail.Send"),
                scope: None,
            }],
            ..LiveSnapshot::default()
        };
        assert_eq!(lower_bound(&plan(vec![add]), &assignment).reads, base + 2, "an assignment");
    }

    /// A replace counts its adds and removes with the group's other member
    /// steps: together they are still one call.
    #[test]
    fn a_replace_counts_with_the_groups_other_member_steps() {
        let live =
            LiveSnapshot { groups: vec![group("g1", &["a@c.com", "b@c.com"])], ..LiveSnapshot::default() };
        let replace = |added: Vec<String>, removed: Vec<String>| Action::ReplaceMembers {
            group: s("g1"),
            members: vec![s("b@c.com"), s("c@c.com")],
            added,
            removed,
        };
        let one_add = plan(vec![replace(vec![s("c@c.com")], Vec::new())]);
        assert_eq!(lower_bound(&one_add, &live).writes, 1, "one change is one call");
        let with_more = plan(vec![
            replace(vec![s("c@c.com")], vec![s("a@c.com")]),
            Action::AddMember { group: s("g1"), member: s("d@c.com") },
        ]);
        assert_eq!(lower_bound(&with_more, &live).writes, 1, "three changes of one group: one replace");
    }

    #[test]
    fn a_replace_wins_from_two_changes_on_and_never_empties_a_group() {
        assert!(!replace_is_fewer(1, 5), "one add is one call either way");
        assert!(replace_is_fewer(2, 5));
        assert!(!replace_is_fewer(7, 0), "emptying stays member by member");
        assert!(replace_is_fewer(7, MAX_MEMBERS_PER_CALL));
        assert!(!replace_is_fewer(7, MAX_MEMBERS_PER_CALL + 1), "does not fit one call");
    }

    #[test]
    fn reads_count_one_member_read_per_group_and_batched_resolution() {
        let mut live = LiveSnapshot {
            groups: vec![group("g1", &["a@c.com"]), group("g2", &[])],
            recipients: vec![recipient("a@c.com")],
            ..LiveSnapshot::default()
        };
        // policies + groups filter + 2 member reads + service principals
        assert_eq!(lower_bound(&plan(Vec::new()), &live).reads, 5);
        live.recipients.extend((0..=RECIPIENT_BATCH).map(|i| recipient(&format!("r{i}@c.com"))));
        assert_eq!(lower_bound(&plan(Vec::new()), &live).reads, 7, "101 to resolve: 2 batches");
        live.policies.push(LivePolicy {
            identity: s("p"),
            app_id: s("a"),
            scope_id: s("id-g1"),
            scope_name: s("g1"),
            access_right: AccessRight::RestrictAccess,
            description: String::new(),
        });
        assert_eq!(lower_bound(&plan(Vec::new()), &live).reads, 7, "policies come in one read");
    }

    #[test]
    fn writes_take_the_cheaper_way_per_group() {
        let live = LiveSnapshot {
            groups: vec![group("g1", &["a@c.com", "b@c.com"]), group("g2", &["x@c.com"])],
            ..LiveSnapshot::default()
        };
        let p = plan(vec![
            // g1: three per-member steps, one replace would do.
            Action::RemoveMember { group: s("g1"), member: s("a@c.com") },
            Action::AddMember { group: s("G1"), member: s("c@c.com") },
            Action::AddMember { group: s("g1"), member: s("d@c.com") },
            // g2: one add is one call.
            Action::AddMember { group: s("g2"), member: s("y@c.com") },
            // a new group with members: create and mark.
            Action::CreateGroup {
                group: s("g3"),
                alias: s("g3"),
                marker: s("m"),
                members: vec![s("a@c.com"), s("b@c.com")],
            },
            Action::CreatePolicy {
                app_id: s("a"),
                group: s("g3"),
                access_right: AccessRight::RestrictAccess,
                description: s("m"),
            },
        ]);
        assert_eq!(lower_bound(&p, &live).writes, 1 + 1 + 2 + 1);
        assert_eq!(write_calls(&p), 3 + 1 + 2 + 1, "this plan misses the replace of g1");
        // The same change planned as a replace costs the same bound.
        let q = plan(vec![Action::ReplaceMembers {
            group: s("g1"),
            members: vec![s("b@c.com"), s("c@c.com"), s("d@c.com")],
            added: vec![s("c@c.com"), s("d@c.com")],
            removed: vec![s("a@c.com")],
        }]);
        assert_eq!(lower_bound(&q, &live).writes, 1);
    }

    #[test]
    fn emptying_a_group_and_oversized_groups_cost_one_call_per_member() {
        let live =
            LiveSnapshot { groups: vec![group("g1", &["a@c.com", "b@c.com"])], ..LiveSnapshot::default() };
        let p = plan(vec![
            Action::RemoveMember { group: s("g1"), member: s("a@c.com") },
            Action::RemoveMember { group: s("g1"), member: s("b@c.com") },
        ]);
        assert_eq!(lower_bound(&p, &live).writes, 2);
        let many: Vec<String> = (0..MAX_MEMBERS_PER_CALL + 3).map(|i| format!("m{i}@c.com")).collect();
        let mut actions = vec![Action::CreateGroup {
            group: s("big"),
            alias: s("big"),
            marker: s("m"),
            members: many[..MAX_MEMBERS_PER_CALL].to_vec(),
        }];
        actions.extend(
            many[MAX_MEMBERS_PER_CALL..]
                .iter()
                .map(|m| Action::AddMember { group: s("big"), member: m.clone() }),
        );
        assert_eq!(lower_bound(&plan(actions), &LiveSnapshot::default()).writes, 2 + 3);
    }
}
