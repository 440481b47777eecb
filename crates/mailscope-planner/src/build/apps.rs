//! The per-app view of a plan ([`AppPlan`]): what happens to each app of the
//! file, to each app that left it, to each unlisted app `unlistedApps:
//! lock-down` fences, and to each app outside it whose access moves through
//! a shared group, with its reach before and after.

use std::collections::{BTreeSet, HashMap};

use mailscope_spec::{DesiredState, ListKind};

use super::replay::{Decider, RbacApps, app_universe};
use super::target::Target;
use super::{PlanOptions, RemovedApps};
use crate::live::AccessRight;
use crate::plan::{AccessSummary, AppChange, AppPlan, Step};
use crate::world::{OTHER_MAILBOX, PolicyKey, World};

/// Everything the app summaries are computed from: the inputs of the plan,
/// the live and target worlds, and the ordered steps.
pub(super) struct AppsContext<'a> {
    /// The file.
    pub(super) desired: &'a DesiredState,
    /// The knobs (what happens to apps that left the file).
    pub(super) options: &'a PlanOptions,
    /// The live world.
    pub(super) live: &'a World,
    /// The target pass's result.
    pub(super) target: &'a Target,
    /// The steps, in plan order.
    pub(super) steps: &'a [Step],
    /// Apps decided per permission (RBAC, or Entra grants that change).
    pub(super) rbac: RbacApps,
}

impl AppsContext<'_> {
    /// Every app of the file, then every app that left it, then the
    /// unlisted apps locked down, then the bystanders whose access moves
    /// (`AppChange::Affected`).
    pub(super) fn app_plans(&self) -> Vec<AppPlan> {
        let with_steps: BTreeSet<&str> = self.steps.iter().map(|s| s.app_id.as_str()).collect();
        let removed = &self.target.removed;
        let bystanders = self.bystanders();
        let locked = self.target.locked_unlisted.iter().filter(|a| !removed.contains(*a)).cloned();
        // Line of each app of the file, looked up once (a search of the file
        // per app made 20,000 apps cost 200 million comparisons).
        let lines: HashMap<&str, u64> =
            self.desired.apps.iter().map(|a| (a.app_id.as_str(), a.at.line)).collect();
        let ids =
            self.desired.apps.iter().map(|a| a.app_id.clone()).chain(removed.iter().cloned()).chain(locked);
        ids.chain(bystanders.iter().cloned())
            .filter_map(|app_id| {
                if bystanders.contains(&app_id) {
                    self.bystander(&app_id)
                } else {
                    let line = lines.get(app_id.as_str()).copied();
                    Some(self.listed(&app_id, with_steps.contains(app_id.as_str()), line))
                }
            })
            .collect()
    }

    /// Apps outside the file whose unmanaged policies scope a group the plan
    /// changes: their access moves too, and must be shown (and approved when
    /// it widens) like anyone else's. Candidates only: [`Self::bystander`]
    /// drops those whose access does not move.
    fn bystanders(&self) -> BTreeSet<String> {
        let listed: BTreeSet<&str> = self
            .desired
            .apps
            .iter()
            .map(|a| a.app_id.as_str())
            .chain(self.target.removed.iter().map(String::as_str))
            .chain(self.target.locked_unlisted.iter().map(String::as_str))
            .collect();
        self.live
            .policies
            .keys()
            .chain(self.target.world.policies.keys())
            .map(|k| k.app_id.clone())
            .filter(|a| !listed.contains(a.as_str()))
            .collect()
    }

    /// The mailboxes worth probing for an app: its scopes before and after.
    fn universe(&self, app_id: &str) -> BTreeSet<String> {
        let mut universe = app_universe(self.live, app_id);
        universe.extend(app_universe(&self.target.world, app_id));
        universe.extend(self.rbac.get(app_id).into_iter().flat_map(|(_, u)| u.iter().cloned()));
        universe
    }

    /// Mailboxes the app reaches after the plan but not before (with any
    /// permission, for an app decided per permission), and whether it loses
    /// its last restriction.
    fn gains(&self, app_id: &str, universe: &BTreeSet<String>) -> (Vec<String>, bool) {
        let (after, before) = (
            Decider::new(&self.target.world, app_id, &self.rbac),
            Decider::new(self.live, app_id, &self.rbac),
        );
        let gains_at = |m: &str| after.decide(m).iter().zip(&before.decide(m)).any(|(i, w)| *i && !*w);
        let gains = universe.iter().filter(|m| m.as_str() != OTHER_MAILBOX && gains_at(m)).cloned().collect();
        (gains, gains_at(OTHER_MAILBOX))
    }

    /// An app outside the file, when its access moves.
    fn bystander(&self, app_id: &str) -> Option<AppPlan> {
        let universe = self.universe(app_id);
        let target = &self.target.world;
        let (after, before) =
            (Decider::new(target, app_id, &self.rbac), Decider::new(self.live, app_id, &self.rbac));
        if !universe.iter().any(|m| after.decide(m) != before.decide(m)) {
            return None;
        }
        let (gains, becomes_unrestricted) = self.gains(app_id, &universe);
        Some(AppPlan {
            name: app_id.to_owned(),
            app_id: app_id.to_owned(),
            change: AppChange::Affected,
            before: summarize(self.live, app_id),
            after: summarize(target, app_id),
            gains,
            becomes_unrestricted,
            line: None,
            unlisted: false,
        })
    }

    /// An app of the file, or one that left it.
    fn listed(&self, app_id: &str, has_steps: bool, line: Option<u64>) -> AppPlan {
        let (gains, becomes_unrestricted) = self.gains(app_id, &self.universe(app_id));
        // The managed map is keyed by (app, list): two lookups, not a scan
        // of every app's groups (which made the summaries quadratic).
        let had_objects = [ListKind::Allow, ListKind::Deny]
            .into_iter()
            .any(|list| self.target.managed.contains_key(&(app_id.to_owned(), list)))
            || self.live.app_policies(app_id).next().is_some();
        let change = if self.target.locked_unlisted.contains(app_id) {
            // Fenced by `unlistedApps: lock-down` (even one that left the
            // file, whatever the removed-apps option).
            if has_steps { AppChange::LockDown } else { AppChange::Unchanged }
        } else if self.target.removed.contains(app_id) {
            match self.options.removed_apps {
                _ if !has_steps => AppChange::Unchanged,
                RemovedApps::LockDown => AppChange::LockDown,
                RemovedApps::Remove => AppChange::Remove,
            }
        } else if !has_steps {
            AppChange::Unchanged
        } else if had_objects {
            AppChange::Update
        } else {
            AppChange::Create
        };
        AppPlan {
            name: self.target.owners[app_id].name.clone(),
            app_id: app_id.to_owned(),
            change,
            before: summarize(self.live, app_id),
            after: summarize(&self.target.world, app_id),
            gains,
            becomes_unrestricted,
            line,
            unlisted: self.target.locked_unlisted.contains(app_id) && !self.target.removed.contains(app_id),
        }
    }
}

/// An app's reach in one world, in words a reviewer can check.
fn summarize(world: &World, app_id: &str) -> AccessSummary {
    let policies: Vec<&PolicyKey> = world.app_policies(app_id).map(|(k, _)| k).collect();
    let universe = app_universe(world, app_id);
    let access = world.app_access(app_id);
    if policies.iter().any(|k| k.right == AccessRight::RestrictAccess) {
        AccessSummary::Only { allowed: universe.iter().filter(|m| access.allows(m)).count() }
    } else if policies.is_empty() {
        AccessSummary::Unrestricted
    } else {
        AccessSummary::AllBut { denied: universe.iter().filter(|m| !access.allows(m)).count() }
    }
}
