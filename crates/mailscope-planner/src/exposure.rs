//! Drift severity: drift that lets an app reach a mailbox the file does not
//! allow is an *exposure*; drift that only withholds an allowed mailbox is
//! harmless by comparison.
//!
//! For each application-access-policy app of the file, live reach is
//! decided by `World::allows` on the snapshot and desired reach by the same
//! function on the file's lists (`expected::desired_world`), so the
//! severity uses the rule the planner checks plans with. RBAC apps are left
//! to their own checks.

use std::collections::BTreeSet;

use mailscope_spec::{DesiredState, Mechanism};
use serde::Serialize;

use crate::expected::desired_world;
use crate::live::LiveSnapshot;
use crate::world::{OTHER_MAILBOX, World, key};

/// An app of the file reaching more in the tenant than the file allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftExposure {
    /// The app's name in the file.
    pub app: String,
    /// Its client id.
    pub app_id: String,
    /// Known mailboxes it reaches live but should not, lower-cased, sorted.
    pub mailboxes: Vec<String>,
    /// Whether it also reaches every mailbox nobody names (it has lost its
    /// restriction in the tenant, or never had one).
    pub every_other_mailbox: bool,
}

/// Every app of the file whose live reach is not a subset of its desired
/// reach, in file order.
pub fn drift_exposures(desired: &DesiredState, live: &LiveSnapshot) -> Vec<DriftExposure> {
    let live_world = World::from_live(live);
    let want = desired_world(desired);
    let mut universe: BTreeSet<String> = live.recipients.iter().map(|r| key(&r.address)).collect();
    universe.extend(live.groups.iter().flat_map(|g| g.members.iter().map(|m| key(m))));
    for app in &desired.apps {
        for list in [app.allow.as_deref(), app.deny.as_deref()].into_iter().flatten() {
            universe.extend(list.iter().map(|e| key(&e.address)));
        }
    }
    desired
        .apps
        .iter()
        .filter(|a| a.mechanism == Mechanism::ApplicationAccessPolicy)
        .filter_map(|a| {
            let id = key(&a.app_id);
            let mailboxes: Vec<String> = universe
                .iter()
                .filter(|m| live_world.allows(&id, m) && !want.allows(&id, m))
                .cloned()
                .collect();
            let every_other_mailbox =
                live_world.allows(&id, OTHER_MAILBOX) && !want.allows(&id, OTHER_MAILBOX);
            (every_other_mailbox || !mailboxes.is_empty()).then(|| DriftExposure {
                app: a.name.clone(),
                app_id: a.app_id.clone(),
                mailboxes,
                every_other_mailbox,
            })
        })
        .collect()
}
