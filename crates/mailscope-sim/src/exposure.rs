//! The exposure log: "did any intermediate state let an app reach a mailbox
//! with a permission that neither the state before nor the current state
//! gives it there?"
//!
//! `POST /_sim/exposure/checkpoint` stores reach(before) for every app. Each
//! committed mutation (a cmdlet, or a Graph grant removal) then computes
//! reach(now) and remembers, for each (app, permission, mailbox) triple first
//! seen reachable, which mutation made it so. A read (`GET /_sim/exposure`)
//! reports the remembered triples that are in neither reach(before) nor
//! reach(current). Reach is the combined decision per mailbox permission the
//! app holds (an Entra grant, fenced by the policies when the table says so,
//! or an RBAC assignment's grant), over every mailbox plus the sentinel
//! [`OTHER_MAILBOX`], which stands for a mailbox in no policy scope, no group
//! and with no attributes.

use std::collections::{BTreeMap, BTreeSet};

use mailscope_permissions::APP_ROLE_PERMISSIONS;
use serde::Serialize;

use crate::decision::{self, DecisionKnobs, ScopeFilter, Verdict};
use crate::exposure_delta::Affected;
use crate::model::Tenant;
use crate::opath::MemberOf;

/// Sentinel mailbox key: "any mailbox that is in no policy scope".
pub const OTHER_MAILBOX: &str = "*any-other-mailbox*";

/// (app id lower-case, permission, mailbox key) triples.
type Reach = BTreeSet<(String, String, String)>;

/// One reported exposure.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    /// The app's client id (lower case).
    pub app_id: String,
    /// The mailbox permission (`Mail.Send`) the app held there.
    pub permission: String,
    /// The mailbox's primary SMTP address, or [`OTHER_MAILBOX`].
    pub mailbox: String,
    /// 1-based index of the committed mutation after which the pair first became reachable.
    pub after_mutation: u64,
    /// That mutation's cmdlet.
    pub cmdlet: String,
}

/// The log, alive between a checkpoint and the next one.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExposureLog {
    before: Reach,
    seen: BTreeMap<(String, String, String), (u64, String)>,
    mutations: u64,
}

/// Apps considered: every app registered in the tenant plus every `AppId` named by a policy.
fn apps(tenant: &Tenant) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = tenant.apps.iter().map(|a| a.app_id.to_ascii_lowercase()).collect();
    set.extend(tenant.policies.iter().filter(|p| p.app_id != "*").map(|p| p.app_id.to_ascii_lowercase()));
    set
}

/// The mailbox permissions `app_id` holds in `tenant`: its Entra grants on
/// either resource that the shared table lists, and the grants of its RBAC
/// roles, with the table's spelling.
fn permissions(tenant: &Tenant, app_id: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut entra = BTreeSet::new();
    if let Some(app) = tenant.app(app_id) {
        for granted in app.graph_permissions.iter().chain(&app.exchange_permissions) {
            if let Some(p) = APP_ROLE_PERMISSIONS.iter().find(|p| p.value.eq_ignore_ascii_case(granted)) {
                entra.insert(p.value.to_owned());
            }
        }
    }
    let mut all = entra.clone();
    for a in decision::assignments_of(tenant, app_id) {
        if let Some(role) = mailscope_permissions::rbac_role(&a.role) {
            all.extend(role.grants.iter().map(|g| (*g).to_owned()));
        }
    }
    (entra, all)
}

/// reach(state) for the given apps.
fn reach(tenant: &Tenant, apps: &BTreeSet<String>, knobs: DecisionKnobs) -> Reach {
    let mut out = Reach::new();
    let index = decision::ScopeIndex::new(tenant, knobs);
    let member_of = MemberOf::new(tenant);
    let mailboxes: Vec<_> = tenant.recipients.iter().filter(|r| r.kind.is_mailbox()).collect();
    for app in apps {
        let (entra, all) = permissions(tenant, app);
        if all.is_empty() {
            continue;
        }
        let aap = |target: Option<&str>| index.aap(tenant, app, target) == Verdict::Granted;
        for perm in &all {
            let has_entra = entra.contains(perm);
            let fenced = decision::fenced(perm);
            let scopes: Vec<ScopeFilter> = decision::assignments_of(tenant, app)
                .filter(|a| decision::role_grants(&a.role, perm))
                .map(|a| ScopeFilter::new(tenant, a.custom_resource_scope.as_deref()))
                .collect();
            let mut add = |mailbox: String| {
                out.insert((app.clone(), perm.clone(), mailbox));
            };
            for r in &mailboxes {
                let rbac = scopes.iter().any(|s| s.covers(tenant, Some(r), Some(&member_of)));
                if rbac || (has_entra && (!fenced || aap(Some(&r.external_directory_object_id)))) {
                    add(r.primary_smtp_address.to_ascii_lowercase());
                }
            }
            let rbac = scopes.iter().any(|s| s.covers(tenant, None, Some(&member_of)));
            if rbac || (has_entra && (!fenced || aap(None))) {
                add(OTHER_MAILBOX.to_owned());
            }
        }
    }
    out
}

/// The triples of `app` on the given mailboxes (object ids) in `tenant`,
/// decided one by one (no index: a handful of mailboxes).
fn reach_mailboxes(
    tenant: &Tenant,
    app: &str,
    mailboxes: &BTreeSet<String>,
    knobs: DecisionKnobs,
    out: &mut Reach,
) {
    let (entra, all) = permissions(tenant, app);
    if all.is_empty() {
        return;
    }
    for id in mailboxes {
        let Some(r) = tenant.recipient_by_object_id(id).filter(|r| r.kind.is_mailbox()) else {
            continue;
        };
        for perm in &all {
            let access = decision::effective(tenant, app, entra.contains(perm), perm, r, knobs);
            if access == decision::Access::Granted {
                out.insert((app.to_owned(), perm.clone(), r.primary_smtp_address.to_ascii_lowercase()));
            }
        }
    }
}

impl ExposureLog {
    /// Starts a log with `tenant` as "before".
    pub(crate) fn checkpoint(tenant: &Tenant, knobs: DecisionKnobs) -> Self {
        Self { before: reach(tenant, &apps(tenant), knobs), seen: BTreeMap::new(), mutations: 0 }
    }

    /// Records the state after a committed mutation, given the state before it.
    ///
    /// Only what the mutation can have changed is evaluated again (see
    /// [`crate::exposure_delta`]): a triple whose inputs did not change is as
    /// reachable as after the previous mutation, which was recorded then.
    /// So the log stays exact while a member change costs a few decisions
    /// instead of every app over every mailbox.
    pub(crate) fn record(&mut self, previous: &Tenant, tenant: &Tenant, cmdlet: &str, knobs: DecisionKnobs) {
        self.record_affected(crate::exposure_delta::affected(previous, tenant, knobs), tenant, cmdlet, knobs);
    }

    /// [`ExposureLog::record`] once the affected decisions are known.
    fn record_affected(&mut self, affected: Affected, tenant: &Tenant, cmdlet: &str, knobs: DecisionKnobs) {
        self.mutations += 1;
        let mut found = Reach::new();
        match affected {
            Affected::Everything => {
                let mut all = apps(tenant);
                all.extend(self.before.iter().map(|(a, _, _)| a.clone()));
                found = reach(tenant, &all, knobs);
            }
            Affected::Some { whole_apps, pairs } => {
                if !whole_apps.is_empty() {
                    found = reach(tenant, &whole_apps, knobs);
                }
                for (apps_selected, mailboxes) in pairs {
                    let chosen = match apps_selected {
                        Some(set) => set,
                        None => apps(tenant),
                    };
                    for app in chosen.iter().filter(|a| !whole_apps.contains(*a)) {
                        reach_mailboxes(tenant, app, &mailboxes, knobs, &mut found);
                    }
                }
            }
        }
        for pair in found {
            if !self.before.contains(&pair) {
                self.seen.entry(pair).or_insert_with(|| (self.mutations, cmdlet.to_owned()));
            }
        }
    }

    /// Number of mutations recorded since the checkpoint.
    pub(crate) fn mutations(&self) -> u64 {
        self.mutations
    }

    /// Exposures relative to the current state.
    pub(crate) fn report(&self, current: &Tenant, knobs: DecisionKnobs) -> Vec<Exposure> {
        let mut all = apps(current);
        all.extend(self.seen.keys().map(|(a, _, _)| a.clone()));
        let now = reach(current, &all, knobs);
        let mut out: Vec<Exposure> = self
            .seen
            .iter()
            .filter(|(pair, _)| !now.contains(*pair))
            .map(|((app, perm, mbx), (seq, cmdlet))| Exposure {
                app_id: app.clone(),
                permission: perm.clone(),
                mailbox: mbx.clone(),
                after_mutation: *seq,
                cmdlet: cmdlet.clone(),
            })
            .collect();
        out.sort_by(|a, b| {
            (a.after_mutation, &a.app_id, &a.mailbox, &a.permission).cmp(&(
                b.after_mutation,
                &b.app_id,
                &b.mailbox,
                &b.permission,
            ))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{InvalidPolicyMode, NestedGroups};
    use crate::model::{AccessRight, Policy};
    use std::sync::Arc;

    fn contoso() -> Tenant {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso.tenant.yaml");
        crate::seed::load_file(&path).unwrap()
    }

    fn id_of(t: &Tenant, smtp: &str) -> String {
        t.recipients.iter().find(|r| r.has_smtp(smtp)).unwrap().external_directory_object_id.clone()
    }

    fn group_mut<'a>(t: &'a mut Tenant, name: &str) -> crate::model::RecipientMut<'a> {
        t.recipients.find_mut(|r| r.name == name).unwrap()
    }

    /// Mutations of every kind the delta tells apart, each building on the last.
    fn steps(start: &Tenant) -> Vec<(&'static str, Tenant)> {
        let mut out: Vec<(&'static str, Tenant)> = Vec::new();
        let mut t = start.clone();
        let ceo = id_of(&t, "ceo@contoso.com");
        let billing = id_of(&t, "billing@contoso.com");
        let mut push = |label, t: &Tenant| out.push((label, t.clone()));

        group_mut(&mut t, "mailscope-invoice-mailer-allow").members.push(ceo.clone());
        push("add a member to a scope group", &t);
        group_mut(&mut t, "mailscope-invoice-mailer-allow").members.retain(|m| !m.eq_ignore_ascii_case(&ceo));
        push("remove it again", &t);
        // The group a management scope's `MemberOfGroup` filter names: only
        // the member that moved is decided again for the RBAC apps.
        group_mut(&mut t, "Marketing-Senders").members.push(ceo.clone());
        push("add a member to the group of an RBAC scope", &t);
        group_mut(&mut t, "Marketing-Senders").members.retain(|m| !m.eq_ignore_ascii_case(&ceo));
        push("remove it from the group of an RBAC scope", &t);
        group_mut(&mut t, "mailscope-hr-notifier-allow")
            .members
            .retain(|m| !m.eq_ignore_ascii_case(&billing));
        push("remove a member that may not have been there", &t);
        let mut fresh =
            (**t.recipients.iter().find(|r| r.name == "mailscope-hr-notifier-allow").unwrap()).clone();
        fresh.name = "brand-new".into();
        fresh.external_directory_object_id = "00000000-0000-4000-8000-00000000beef".into();
        fresh.members = vec![ceo.clone()];
        t.recipients.push(Arc::new(fresh.clone()));
        push("create a group with a member", &t);
        t.policies.push(Arc::new(Policy {
            app_id: "0b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e".into(),
            scope_object_id: fresh.external_directory_object_id.clone(),
            scope_sid: "S-1-5-21-9".into(),
            scope_name: "brand-new".into(),
            access_right: AccessRight::RestrictAccess,
            description: " ".into(),
        }));
        push("scope a policy on it", &t);
        group_mut(&mut t, "brand-new").members.push(billing.clone());
        push("add to the new scope", &t);
        group_mut(&mut t, "brand-new").name = "renamed".into();
        push("rename it", &t);
        let gone = t.policies.remove(0);
        push("remove a policy (the app loses its restriction)", &t);
        t.policies.push(gone);
        push("put it back", &t);
        t.recipients.retain(|r| r.name != "renamed");
        push("remove a scoped group", &t);
        Arc::make_mut(&mut t.apps[0]).graph_permissions.clear();
        push("drop an app's grants", &t);
        Arc::make_mut(&mut t.apps[0]).graph_permissions.push("Mail.Send".into());
        push("grant again", &t);
        t.recipients.find_mut(|r| r.external_directory_object_id == ceo).unwrap().department =
            "Finance".into();
        push("change a mailbox attribute", &t);
        t.role_assignments.clear();
        push("drop every role assignment", &t);
        out
    }

    /// The incremental log records exactly what recomputing every app over
    /// every mailbox after each mutation records.
    #[test]
    fn incremental_recording_matches_a_full_recomputation() {
        let start = contoso();
        for nested in [NestedGroups::Direct, NestedGroups::Transitive] {
            for invalid in [InvalidPolicyMode::FailClosed, InvalidPolicyMode::Ignore] {
                let knobs = DecisionKnobs { nested, invalid };
                let mut quick = ExposureLog::checkpoint(&start, knobs);
                let mut full = quick.clone();
                let mut previous = start.clone();
                for (label, next) in steps(&start) {
                    quick.record(&previous, &next, label, knobs);
                    full.record_affected(Affected::Everything, &next, label, knobs);
                    assert_eq!(quick.seen, full.seen, "after \"{label}\" ({nested:?}, {invalid:?})");
                    previous = next;
                }
                assert_eq!(quick.report(&previous, knobs), full.report(&previous, knobs));
                assert!(!full.seen.is_empty(), "the steps widen someone at some point");
            }
        }
    }

    /// A member change names only the apps scoping the group, on the moved member.
    #[test]
    fn a_member_change_names_few_decisions() {
        // Without management scopes (their filters may quote any group).
        let mut before = contoso();
        before.management_scopes.clear();
        before.role_assignments.clear();
        let mut after = before.clone();
        let ceo = id_of(&after, "ceo@contoso.com");
        group_mut(&mut after, "mailscope-invoice-mailer-allow").members.push(ceo.clone());
        let knobs = DecisionKnobs::default();
        match crate::exposure_delta::affected(&before, &after, knobs) {
            Affected::Some { whole_apps, pairs } => {
                assert!(whole_apps.is_empty(), "{whole_apps:?}");
                assert_eq!(pairs.len(), 1, "{pairs:?}");
                let (apps, mailboxes) = &pairs[0];
                assert_eq!(apps.as_ref().unwrap().len(), 1);
                assert_eq!(mailboxes, &BTreeSet::from([ceo.to_ascii_lowercase()]));
            }
            Affected::Everything => panic!("a member change must not recompute everything"),
        }
        assert_eq!(
            crate::exposure_delta::affected(&before, &before.clone(), knobs),
            Affected::Some { whole_apps: BTreeSet::new(), pairs: Vec::new() }
        );
    }
}
