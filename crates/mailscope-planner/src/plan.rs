//! The plan: what will change, in which order, and what it does to access.
//!
//! A [`Plan`] is data. It serialises to the JSON format documented in
//! `docs/plan-format.md` (`format_version` 1), which is also what a saved plan
//! file embeds, so renderers, the applier and CI tooling all read the same
//! structure.

use serde::{Deserialize, Serialize};

use crate::live::AccessRight;

/// Version of the JSON plan format; bumped on any incompatible change.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// One change to the tenant. Groups are addressed by `Name` (unique in
/// Exchange, and known before a group exists); policies by their service
/// identity once they exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// `New-DistributionGroup -Type Security`, then
    /// `Set-DistributionGroup -CustomAttribute15 <marker>`.
    CreateGroup {
        /// Group `Name`.
        group: String,
        /// Group `Alias` (the mail nickname).
        alias: String,
        /// Ownership marker written to `CustomAttribute15`.
        marker: String,
    },
    /// `Set-DistributionGroup -CustomAttribute15 <marker>` on an existing
    /// group the file adopts.
    MarkGroup {
        /// Group `Name`.
        group: String,
        /// Ownership marker.
        marker: String,
    },
    /// `Add-DistributionGroupMember`.
    AddMember {
        /// Group `Name`.
        group: String,
        /// Primary SMTP address of the mailbox.
        member: String,
    },
    /// `Remove-DistributionGroupMember`.
    RemoveMember {
        /// Group `Name`.
        group: String,
        /// Primary SMTP address of the mailbox.
        member: String,
    },
    /// `New-ApplicationAccessPolicy`.
    CreatePolicy {
        /// Application (client) id.
        app_id: String,
        /// Scope group `Name`.
        group: String,
        /// Restrict or Deny.
        access_right: AccessRight,
        /// Description (the ownership marker).
        description: String,
    },
    /// `Set-ApplicationAccessPolicy -Description`: marks an adopted policy.
    SetPolicyDescription {
        /// Policy identity.
        identity: String,
        /// Scope name, for messages.
        group: String,
        /// New description (the ownership marker).
        description: String,
    },
    /// `Remove-ApplicationAccessPolicy`.
    RemovePolicy {
        /// Policy identity.
        identity: String,
        /// Application (client) id.
        app_id: String,
        /// Scope name, for messages.
        scope: String,
        /// Restrict or Deny.
        access_right: AccessRight,
    },
    /// `Remove-DistributionGroup` of a managed group no policy uses any more.
    RemoveGroup {
        /// Group `Name`.
        group: String,
    },
}

impl Action {
    /// How the change is counted in the summary line.
    pub fn change_kind(&self) -> ChangeKind {
        match self {
            Action::CreateGroup { .. } | Action::AddMember { .. } | Action::CreatePolicy { .. } => {
                ChangeKind::Add
            }
            Action::MarkGroup { .. } | Action::SetPolicyDescription { .. } => ChangeKind::Change,
            Action::RemoveMember { .. } | Action::RemovePolicy { .. } | Action::RemoveGroup { .. } => {
                ChangeKind::Destroy
            }
        }
    }

    /// The group the action touches, if any.
    pub fn group(&self) -> Option<&str> {
        match self {
            Action::CreateGroup { group, .. }
            | Action::MarkGroup { group, .. }
            | Action::AddMember { group, .. }
            | Action::RemoveMember { group, .. }
            | Action::CreatePolicy { group, .. }
            | Action::SetPolicyDescription { group, .. }
            | Action::RemoveGroup { group } => Some(group),
            Action::RemovePolicy { scope, .. } => Some(scope),
        }
    }
}

/// Terraform's three counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Something new exists afterwards.
    Add,
    /// Something is updated in place.
    Change,
    /// Something is removed.
    Destroy,
}

/// What a step does to the reach of the apps it affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Some app reaches fewer mailboxes afterwards, none reaches more.
    Narrowing,
    /// Some app reaches a mailbox it could not reach before this step.
    Widening,
    /// No app's access changes (e.g. filling a group no policy uses yet).
    Neutral,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Position in execution order, from 0.
    pub index: usize,
    /// The app (file name) the step serves.
    pub app: String,
    /// The app's client id.
    pub app_id: String,
    /// Steps of one app run wave by wave; steps of one wave, and steps of
    /// different apps, may run concurrently without breaking the safe-order
    /// rule.
    pub wave: u32,
    /// The change.
    pub action: Action,
    /// Narrowing, widening or neutral, computed by replaying the plan.
    pub effect: Effect,
}

/// What the plan does to an app as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppChange {
    /// Nothing to do.
    Unchanged,
    /// The app had no policy and no managed group: it gets its first.
    Create,
    /// Managed objects change.
    Update,
    /// The app left the file; its allow group is emptied (no mailbox at all).
    LockDown,
    /// The app left the file and its managed objects are removed (its access
    /// falls back to whatever else restricts it, often nothing).
    Remove,
    /// An app outside the file whose (unmanaged) policy scopes a group the
    /// plan changes: no step is its own, but its access moves.
    Affected,
}

/// A human summary of an app's reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccessSummary {
    /// Every mailbox of the tenant.
    Unrestricted,
    /// Every mailbox except `denied` of them.
    AllBut {
        /// How many mailboxes are denied.
        denied: usize,
    },
    /// Only `allowed` mailboxes.
    Only {
        /// How many mailboxes are reachable.
        allowed: usize,
    },
}

impl std::fmt::Display for AccessSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "es" };
        match self {
            AccessSummary::Unrestricted => f.write_str("every mailbox"),
            AccessSummary::AllBut { denied } => {
                write!(f, "all but {denied} mailbox{}", plural(*denied))
            }
            AccessSummary::Only { allowed: 0 } => f.write_str("no mailbox"),
            AccessSummary::Only { allowed } => {
                write!(f, "only {allowed} mailbox{}", plural(*allowed))
            }
        }
    }
}

/// The plan's view of one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppPlan {
    /// The app's name in the file (for an app that left the file, its
    /// managed group name or client id).
    pub name: String,
    /// Client id.
    pub app_id: String,
    /// What happens to it.
    pub change: AppChange,
    /// Reach before the plan.
    pub before: AccessSummary,
    /// Reach after the plan.
    pub after: AccessSummary,
    /// Mailboxes the app reaches afterwards that it did not before; a
    /// non-empty list needs explicit approval to apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gains: Vec<String>,
    /// Whether every mailbox not named anywhere becomes reachable (the app
    /// loses its last Restrict policy).
    #[serde(default)]
    pub becomes_unrestricted: bool,
    /// 1-based line of the app in the desired file, when it is in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// Something the user should know that the plan does not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Stable identifier, e.g. `unmanaged-policy`.
    pub code: String,
    /// The app concerned, by name when it is in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// What was found and why it matters.
    pub message: String,
}

/// The summary line's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Objects created.
    pub add: usize,
    /// Objects changed in place.
    pub change: usize,
    /// Objects removed.
    pub destroy: usize,
    /// Steps that widen some app.
    pub widening: usize,
}

/// A complete plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// Steps in execution order.
    pub steps: Vec<Step>,
    /// Every app of the file, then every app with managed objects that left
    /// it, then apps outside the file whose access the plan moves through a
    /// shared group (`AppChange::Affected`).
    pub apps: Vec<AppPlan>,
    /// Things reported, never touched.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
}

impl Plan {
    /// Whether applying the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether some app ends up reaching a mailbox it could not reach before.
    pub fn widens(&self) -> bool {
        self.apps.iter().any(|a| !a.gains.is_empty() || a.becomes_unrestricted)
    }

    /// Steps of one app, in order.
    pub fn steps_of<'a>(&'a self, app_id: &'a str) -> impl Iterator<Item = &'a Step> + 'a {
        self.steps.iter().filter(move |s| s.app_id == app_id)
    }
}
