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

impl ExposureLog {
    /// Starts a log with `tenant` as "before".
    pub(crate) fn checkpoint(tenant: &Tenant, knobs: DecisionKnobs) -> Self {
        Self { before: reach(tenant, &apps(tenant), knobs), seen: BTreeMap::new(), mutations: 0 }
    }

    /// Records the state after a committed mutation.
    pub(crate) fn record(&mut self, tenant: &Tenant, cmdlet: &str, knobs: DecisionKnobs) {
        self.mutations += 1;
        let mut all = apps(tenant);
        all.extend(self.before.iter().map(|(a, _, _)| a.clone()));
        for pair in reach(tenant, &all, knobs) {
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
