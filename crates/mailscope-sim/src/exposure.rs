//! The exposure log: "did any intermediate state let an app reach a mailbox
//! that neither the state before nor the current state lets it reach?"
//!
//! `POST /_sim/exposure/checkpoint` stores reach(before) for every app. Each
//! committed mutation then computes reach(now) and remembers, for each
//! (app, mailbox) pair first seen reachable, which mutation made it so. A read
//! (`GET /_sim/exposure`) reports the remembered pairs that are in neither
//! reach(before) nor reach(current). Reach uses the AAP decision only (not the
//! Entra grant), over every mailbox plus the sentinel [`OTHER_MAILBOX`], which
//! stands for a mailbox in no policy scope at all.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::decision::{self, DecisionKnobs, Verdict};
use crate::model::Tenant;

/// Sentinel mailbox key: "any mailbox that is in no policy scope".
pub const OTHER_MAILBOX: &str = "*any-other-mailbox*";

/// (app id lower-case, mailbox key) pairs.
type Reach = BTreeSet<(String, String)>;

/// One reported exposure.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    /// The app's client id (lower case).
    pub app_id: String,
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
    seen: BTreeMap<(String, String), (u64, String)>,
    mutations: u64,
}

/// Apps considered: every app registered in the tenant plus every `AppId` named by a policy.
fn apps(tenant: &Tenant) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = tenant.apps.iter().map(|a| a.app_id.to_ascii_lowercase()).collect();
    set.extend(tenant.policies.iter().filter(|p| p.app_id != "*").map(|p| p.app_id.to_ascii_lowercase()));
    set
}

/// reach(state) for the given apps.
fn reach(tenant: &Tenant, apps: &BTreeSet<String>, knobs: DecisionKnobs) -> Reach {
    let mut out = Reach::new();
    let index = decision::ScopeIndex::new(tenant, knobs);
    for app in apps {
        for r in tenant.recipients.iter().filter(|r| r.kind.is_mailbox()) {
            if index.aap(tenant, app, Some(&r.external_directory_object_id)) == Verdict::Granted {
                out.insert((app.clone(), r.primary_smtp_address.to_ascii_lowercase()));
            }
        }
        if index.aap(tenant, app, None) == Verdict::Granted {
            out.insert((app.clone(), OTHER_MAILBOX.to_owned()));
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
        all.extend(self.before.iter().map(|(a, _)| a.clone()));
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
        all.extend(self.seen.keys().map(|(a, _)| a.clone()));
        let now = reach(current, &all, knobs);
        let mut out: Vec<Exposure> = self
            .seen
            .iter()
            .filter(|(pair, _)| !now.contains(*pair))
            .map(|((app, mbx), (seq, cmdlet))| Exposure {
                app_id: app.clone(),
                mailbox: mbx.clone(),
                after_mutation: *seq,
                cmdlet: cmdlet.clone(),
            })
            .collect();
        out.sort_by(|a, b| {
            (a.after_mutation, &a.app_id, &a.mailbox).cmp(&(b.after_mutation, &b.app_id, &b.mailbox))
        });
        out
    }
}
