//! Saved plans: a plan bound to the inputs it was made from.
//!
//! `mailscope plan --out PLAN.json` writes a [`SavedPlan`]; `mailscope apply
//! PLAN.json` re-reads the tenant and refuses to go on when the live state
//! moved since (like Terraform's stale plan check), naming what changed. To
//! name it, the saved plan carries the normalised live snapshot it was made
//! from — group names, members and policies, nothing secret.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::live::LiveSnapshot;
use crate::plan::Plan;
use crate::world::key;

/// Version of the saved-plan file format.
pub const SAVED_PLAN_VERSION: u32 = 1;

/// A plan with what it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// [`SAVED_PLAN_VERSION`].
    pub saved_plan_version: u32,
    /// Version of the mailscope that made it; a different build refuses it.
    pub tool_version: String,
    /// The desired file as named on the command line.
    pub desired_file: String,
    /// SHA-256 (hex) of the desired file's bytes.
    pub desired_sha256: String,
    /// Whether apps that left the file are removed (`true`) or locked down.
    pub remove_unlisted: bool,
    /// [`fingerprint`] of `live`.
    pub live_fingerprint: String,
    /// The live state the plan was made from, normalised.
    pub live: LiveSnapshot,
    /// The plan.
    pub plan: Plan,
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The snapshot with everything that cannot matter to a plan removed or
/// put in a fixed order: lower-cased addresses, sorted lists. Two reads of
/// an unchanged tenant normalise to the same value.
pub fn normalize(live: &LiveSnapshot) -> LiveSnapshot {
    let mut n = live.clone();
    n.tenant = None;
    for g in &mut n.groups {
        g.members = g.members.iter().map(|m| key(m)).collect::<BTreeSet<_>>().into_iter().collect();
        g.id = key(&g.id);
    }
    n.groups.sort_by_key(|g| key(&g.name));
    for p in &mut n.policies {
        p.app_id = key(&p.app_id);
        p.scope_id = key(&p.scope_id);
    }
    n.policies.sort_by(|a, b| {
        (&a.app_id, &a.scope_id, a.access_right).cmp(&(&b.app_id, &b.scope_id, b.access_right))
    });
    for r in &mut n.recipients {
        r.address = key(&r.address);
    }
    n.recipients.sort_by(|a, b| a.address.cmp(&b.address));
    n.recipients.dedup_by(|a, b| a.address == b.address);
    n.grants.sort_by(|a, b| (&a.app_id, &a.permission).cmp(&(&b.app_id, &b.permission)));
    n
}

/// A short hash of the normalised snapshot.
///
/// # Panics
///
/// Never: a snapshot is plain data.
pub fn fingerprint(live: &LiveSnapshot) -> String {
    let bytes = serde_json::to_vec(&normalize(live)).expect("a snapshot always serialises");
    sha256_hex(&bytes)
}

/// What differs between the snapshot a plan was made from and a fresh one,
/// as sentences; empty when nothing that matters changed.
pub fn live_changes(saved: &LiveSnapshot, fresh: &LiveSnapshot) -> Vec<String> {
    let (a, b) = (normalize(saved), normalize(fresh));
    let mut out = Vec::new();
    let groups = |s: &LiveSnapshot| -> BTreeMap<String, _> {
        s.groups.iter().map(|g| (key(&g.name), g.clone())).collect()
    };
    let (ga, gb) = (groups(&a), groups(&b));
    for (k, g) in &ga {
        match gb.get(k) {
            None => out.push(format!("group \"{}\" was removed", g.name)),
            Some(h) => {
                for m in g.members.iter().filter(|m| !h.members.contains(m)) {
                    out.push(format!("{m} left group \"{}\"", g.name));
                }
                for m in h.members.iter().filter(|m| !g.members.contains(m)) {
                    out.push(format!("{m} joined group \"{}\"", g.name));
                }
                if g.marker != h.marker {
                    out.push(format!("the marker of group \"{}\" changed", g.name));
                }
            }
        }
    }
    for (k, g) in &gb {
        if !ga.contains_key(k) {
            out.push(format!("group \"{}\" was created", g.name));
        }
    }
    let policies = |s: &LiveSnapshot| -> BTreeMap<(String, String, String), String> {
        s.policies
            .iter()
            .map(|p| {
                (
                    (p.app_id.clone(), p.scope_name.clone(), format!("{:?}", p.access_right)),
                    p.description.clone(),
                )
            })
            .collect()
    };
    let (pa, pb) = (policies(&a), policies(&b));
    for ((app, scope, right), desc) in &pa {
        match pb.get(&(app.clone(), scope.clone(), right.clone())) {
            None => out.push(format!("the {right} policy of app {app} on \"{scope}\" was removed")),
            Some(d) if d != desc => {
                out.push(format!(
                    "the description of the {right} policy of app {app} on \"{scope}\" changed"
                ));
            }
            Some(_) => {}
        }
    }
    for (app, scope, right) in pb.keys() {
        if !pa.contains_key(&(app.clone(), scope.clone(), right.clone())) {
            out.push(format!("a {right} policy of app {app} on \"{scope}\" was created"));
        }
    }
    let addresses =
        |s: &LiveSnapshot| -> BTreeSet<String> { s.recipients.iter().map(|r| r.address.clone()).collect() };
    let (ra, rb) = (addresses(&a), addresses(&b));
    for r in ra.difference(&rb) {
        out.push(format!("mailbox {r} no longer exists"));
    }
    for r in rb.difference(&ra) {
        out.push(format!("mailbox {r} appeared"));
    }
    out
}
