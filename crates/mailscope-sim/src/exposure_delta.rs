//! What a committed mutation can have changed in the exposure log's reach:
//! the state before and after are compared, and only the (app, mailbox)
//! decisions whose inputs differ are named.
//!
//! The inputs of a decision (`docs/exchange.md`, "Access decision") are the
//! app's policies, its Entra grants, its RBAC objects, the members of its
//! policies' scope groups and, for management-scope filters, any attribute
//! of the mailbox or of the groups it is in. So:
//!
//! - a changed policy, or changed grants, name their app (a `*` policy all
//!   apps), evaluated again over every mailbox;
//! - a change to RBAC objects (pointers, scopes, assignments) names every
//!   app, as does anything under transitive scope membership (a nested group
//!   can reach far): these are rare writes;
//! - a group whose members changed names the apps whose policies scope it
//!   and, while management scopes exist, every app with a role assignment,
//!   on the members that came or went (`MemberOfGroup` is direct
//!   membership); a group whose name changed (its DN is what a
//!   `MemberOfGroup` filter quotes) names every app with a role assignment
//!   over every mailbox;
//! - a mailbox that changed or appeared is evaluated for every app; a
//!   recipient that disappeared names the apps whose policies scoped it.
//!
//! Everything else (a new empty group, a marker on a group no policy uses)
//! names nothing. The exposure log's tests compare it against a full
//! recomputation after each step.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::decision::{DecisionKnobs, NestedGroups};
use crate::model::{Directory, Recipient, Tenant};

/// App ids (lower case); `None` = every app.
pub(crate) type AppSelection = Option<BTreeSet<String>>;

/// What to evaluate again after a mutation.
#[derive(Debug, PartialEq)]
pub(crate) enum Affected {
    /// Every app over every mailbox.
    Everything,
    /// These apps over every mailbox, and these (apps, mailbox object ids).
    Some {
        /// Apps evaluated over every mailbox and the "any other" sentinel.
        whole_apps: BTreeSet<String>,
        /// Apps evaluated on a few mailboxes (lower-case object ids).
        pairs: Vec<(AppSelection, BTreeSet<String>)>,
    },
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Compares the two states; see the module docs.
pub(crate) fn affected(before: &Tenant, after: &Tenant, knobs: DecisionKnobs) -> Affected {
    if before.service_principals != after.service_principals
        || before.management_scopes != after.management_scopes
        || before.role_assignments != after.role_assignments
    {
        return Affected::Everything;
    }
    let mut whole_apps = BTreeSet::new();
    // Policies: the apps of those that differ.
    if !same(&before.policies, &after.policies) {
        for p in missing_from(&before.policies, &after.policies) {
            if p.app_id == "*" {
                return Affected::Everything;
            }
            whole_apps.insert(lower(&p.app_id));
        }
        for p in missing_from(&after.policies, &before.policies) {
            if p.app_id == "*" {
                return Affected::Everything;
            }
            whole_apps.insert(lower(&p.app_id));
        }
    }
    // Grants: the apps that differ, appeared or went.
    if !same(&before.apps, &after.apps) {
        let old: HashMap<String, _> = before.apps.iter().map(|a| (lower(&a.app_id), a)).collect();
        let new: HashMap<String, _> = after.apps.iter().map(|a| (lower(&a.app_id), a)).collect();
        for (id, a) in &old {
            if new.get(id).is_none_or(|b| {
                b.graph_permissions != a.graph_permissions || b.exchange_permissions != a.exchange_permissions
            }) {
                whole_apps.insert(id.clone());
            }
        }
        whole_apps.extend(new.keys().filter(|id| !old.contains_key(*id)).cloned());
    }
    let Some(pairs) = recipient_changes(before, after, knobs, &mut whole_apps) else {
        return Affected::Everything;
    };
    Affected::Some { whole_apps, pairs }
}

/// Equal lists, compared by pointer first: a write shares every item it
/// did not touch with the state before it, so this is a pointer comparison
/// per item instead of a field-by-field one.
fn same<T: PartialEq>(a: &[Arc<T>], b: &[Arc<T>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y) || x == y)
}

/// The items of `a` that `b` has no equal of. Items `b` shares (the same
/// pointer) are skipped at the cost of a hash probe; only the rest, the few a
/// write touched, are compared by value.
fn missing_from<'a, T: PartialEq>(a: &'a [Arc<T>], b: &'a [Arc<T>]) -> impl Iterator<Item = &'a Arc<T>> {
    let shared: HashSet<*const T> = b.iter().map(Arc::as_ptr).collect();
    a.iter().filter(move |x| !shared.contains(&Arc::as_ptr(x)) && !b.contains(x))
}

/// Apps whose policies scope the recipient `id` (lower case), in `t`.
fn scoping_apps(t: &Tenant, id: &str) -> BTreeSet<String> {
    t.policies
        .iter()
        .filter(|p| p.scope_object_id.eq_ignore_ascii_case(id))
        .map(|p| lower(&p.app_id))
        .collect()
}

/// The recipient side; `None` when everything must be evaluated again.
fn recipient_changes(
    before: &Tenant,
    after: &Tenant,
    knobs: DecisionKnobs,
    whole_apps: &mut BTreeSet<String>,
) -> Option<Vec<(AppSelection, BTreeSet<String>)>> {
    let mut pairs = Vec::new();
    let rbac_apps = || -> BTreeSet<String> {
        after
            .role_assignments
            .iter()
            .filter_map(|a| {
                after.service_principals.iter().find(|s| s.object_id.eq_ignore_ascii_case(&a.app_object_id))
            })
            .map(|s| lower(&s.app_id))
            .collect()
    };
    let mut on_change = |old: Option<&Recipient>, new: Option<&Recipient>, pairs: &mut Vec<_>| -> bool {
        let r = new.or(old).expect("one side exists");
        if r.kind.is_mailbox() && new.is_some() {
            // Attributes feed scope filters; a new mailbox is new to every app.
            pairs.push((None, BTreeSet::from([lower(&r.external_directory_object_id)])));
        }
        let id = lower(&r.external_directory_object_id);
        if new.is_none() {
            // A scope that disappeared: its policies now decide by `invalid`.
            whole_apps.extend(scoping_apps(before, &id));
            if r.kind.is_group() && !after.management_scopes.is_empty() {
                whole_apps.extend(rbac_apps());
            }
            return r.kind.is_group() && knobs.nested == NestedGroups::Transitive;
        }
        if !r.kind.is_group() {
            return false;
        }
        let (old_members, new_members) =
            (old.map_or(&[][..], |o| &o.members[..]), new.map_or(&[][..], |n| &n.members[..]));
        let members_changed = old_members != new_members;
        let renamed = old.is_some_and(|o| new.is_some_and(|n| o.name != n.name));
        if !members_changed && !renamed {
            return false;
        }
        if knobs.nested == NestedGroups::Transitive {
            return true;
        }
        // A rename changes the DN a `MemberOfGroup` filter quotes: every
        // RBAC app, everywhere. A member change moves only the members that
        // came or went in or out of a scope: `MemberOfGroup` is direct
        // membership (nested members are out of an RBAC scope), so for RBAC
        // apps, as for the policies' apps, those members are all there is to
        // decide again.
        let scopes_exist = !after.management_scopes.is_empty();
        if renamed && scopes_exist {
            whole_apps.extend(rbac_apps());
        }
        if members_changed {
            let old_set: BTreeSet<String> = old_members.iter().map(|m| lower(m)).collect();
            let new_set: BTreeSet<String> = new_members.iter().map(|m| lower(m)).collect();
            let moved: BTreeSet<String> = old_set.symmetric_difference(&new_set).cloned().collect();
            let mut apps = scoping_apps(after, &id);
            if scopes_exist {
                apps.extend(rbac_apps());
            }
            if !apps.is_empty() && !moved.is_empty() {
                pairs.push((Some(apps), moved));
            }
        }
        false
    };
    // Only the slots that differ (the directory skips the chunks the two
    // states share), matched by object id: a recipient is the same object in
    // both states when its id is, wherever it sits.
    let changed = Directory::changed(&before.recipients, &after.recipients);
    let old: HashMap<String, &Recipient> =
        changed.iter().filter_map(|(b, _)| *b).map(|r| (lower(&r.external_directory_object_id), r)).collect();
    let new: HashMap<String, &Recipient> =
        changed.iter().filter_map(|(_, a)| *a).map(|r| (lower(&r.external_directory_object_id), r)).collect();
    for (id, b) in &new {
        let a = old.get(id).copied().or_else(|| before.recipient_by_object_id(id));
        if a != Some(*b) && on_change(a, Some(b), &mut pairs) {
            return None;
        }
    }
    for (id, a) in &old {
        if new.contains_key(id) {
            continue;
        }
        let b = after.recipient_by_object_id(id);
        if b != Some(*a) && on_change(Some(a), b, &mut pairs) {
            return None;
        }
    }
    Some(pairs)
}
