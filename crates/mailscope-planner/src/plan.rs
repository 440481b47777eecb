//! The plan: what will change, in which order, and what it does to access.
//!
//! A [`Plan`] is data. It serialises to the JSON format documented in
//! `docs/plan-format.md` (`format_version` 2), which is also what a saved plan
//! file embeds, so renderers, the applier and CI tooling all read the same
//! structure.

use serde::{Deserialize, Serialize};

use crate::live::AccessRight;

/// Version of the JSON plan format; bumped on any incompatible change.
/// Version 2 added `replace_members` and `create_group`'s `members`.
pub const PLAN_FORMAT_VERSION: u32 = 2;

/// One change to the tenant. Groups are addressed by `Name` (unique in
/// Exchange, and known before a group exists); policies by their service
/// identity once they exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// `New-DistributionGroup -Type Security -Members …`, then
    /// `Set-DistributionGroup -CustomAttribute15 <marker>`.
    CreateGroup {
        /// Group `Name`.
        group: String,
        /// Group `Alias` (the mail nickname).
        alias: String,
        /// Ownership marker written to `CustomAttribute15`.
        marker: String,
        /// Members the group is created with, in the same call (at most
        /// [`crate::cost::MAX_MEMBERS_PER_CALL`]; the rest, if any, join by
        /// [`Action::AddMember`]). No policy uses a group before it exists,
        /// so filling it at creation moves no access.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members: Vec<String>,
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
    /// `Update-DistributionGroupMember -Members <members>`: replaces the
    /// whole membership in one call, so the group goes from its live members
    /// to `members` in one atomic step with no state in between. Planned
    /// only when it costs fewer calls than the per-member steps it stands
    /// for, and only when the planner's replay proves it safe.
    ReplaceMembers {
        /// Group `Name`.
        group: String,
        /// The complete membership afterwards (primary SMTP addresses,
        /// sorted); at most [`crate::cost::MAX_MEMBERS_PER_CALL`].
        members: Vec<String>,
        /// Mailboxes that join (in `members`, not in the live group), for
        /// reviewers and the replay.
        added: Vec<String>,
        /// Mailboxes that leave, for reviewers and the replay.
        removed: Vec<String>,
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
    /// `New-ServicePrincipal -AppId -ObjectId -DisplayName`: Exchange's
    /// pointer to the app's Entra service principal, which RBAC role
    /// assignments are made to. Grants nothing by itself.
    CreateServicePrincipal {
        /// Application (client) id.
        app_id: String,
        /// The Entra service principal's object id (not the app
        /// registration's).
        object_id: String,
        /// `DisplayName`; the ownership marker.
        display_name: String,
    },
    /// `Remove-ServicePrincipal` of a pointer mailscope created, once no
    /// role assignment uses it.
    RemoveServicePrincipal {
        /// Application (client) id.
        app_id: String,
    },
    /// `New-ManagementScope -Name -RecipientRestrictionFilter`. The applier
    /// writes [`ScopeFilter::to_opath`] with the groups' `DistinguishedName`s,
    /// which only exist once the groups do.
    CreateManagementScope {
        /// Scope `Name` (its identity; carries the ownership marker).
        name: String,
        /// Application (client) id the scope serves.
        app_id: String,
        /// Which managed groups it selects and excludes.
        filter: ScopeFilter,
    },
    /// `Set-ManagementScope -RecipientRestrictionFilter` of a managed scope.
    SetManagementScope {
        /// Scope `Name`.
        name: String,
        /// Application (client) id the scope serves.
        app_id: String,
        /// The new filter.
        filter: ScopeFilter,
    },
    /// `Remove-ManagementScope` of a managed scope no assignment uses.
    RemoveManagementScope {
        /// Scope `Name`.
        name: String,
        /// Application (client) id the scope served.
        app_id: String,
    },
    /// `New-ManagementRoleAssignment -Name -App -Role "Application <permission>"
    /// -CustomResourceScope <scope>`.
    CreateRoleAssignment {
        /// Assignment `Name`.
        name: String,
        /// Application (client) id (the assignee pointer's `AppId`).
        app_id: String,
        /// The permission, as the file names it (`Mail.Send`); the role is
        /// `Application <permission>`.
        permission: String,
        /// The management scope's `Name`.
        scope: String,
    },
    /// `Remove-ManagementRoleAssignment` of a managed assignment.
    RemoveRoleAssignment {
        /// Assignment `Name`.
        name: String,
        /// Application (client) id.
        app_id: String,
        /// The permission (`Mail.Send`).
        permission: String,
        /// The scope it had; `None` for an organization-wide assignment.
        scope: Option<String>,
    },
    /// Graph `DELETE /servicePrincipals/{resource_id}/appRoleAssignedTo/{grant_id}`:
    /// removes a tenant-wide Entra grant of a mailbox permission
    /// (`entraGrants: remove`). Always narrowing; mailscope never adds one.
    RemoveEntraGrant {
        /// Application (client) id of the app holding the grant.
        app_id: String,
        /// The resource's application id (Graph or Exchange Online).
        resource_app_id: String,
        /// The app role's value (`Mail.Send`).
        permission: String,
        /// The app-role assignment's id.
        grant_id: String,
        /// The resource service principal's object id in the tenant.
        resource_id: String,
    },
}

/// What an RBAC management scope mailscope writes selects: direct members of
/// the allow group, minus direct members of the deny group.
///
/// `MemberOfGroup` takes a group's `DistinguishedName` and matches direct
/// members only (Microsoft Learn, "Role Based Access Control for
/// Applications in Exchange Online"); the planner names groups, the applier
/// looks their DNs up when it writes the filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeFilter {
    /// Group whose direct members are in scope; `None` selects every
    /// recipient (a deny-list-only app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_group: Option<String>,
    /// Group whose direct members are out of scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_group: Option<String>,
}

impl ScopeFilter {
    /// The `RecipientRestrictionFilter` text for this filter, given the
    /// groups' distinguished names. Single quotes in a DN are doubled, as
    /// OPATH string literals require.
    ///
    /// Returns `None` when a needed DN is missing, or when the filter names
    /// no group (it would select every recipient: never a scope mailscope
    /// writes).
    pub fn to_opath(&self, allow_dn: Option<&str>, deny_dn: Option<&str>) -> Option<String> {
        let clause = |dn: &str| format!("MemberOfGroup -eq '{}'", dn.replace('\'', "''"));
        match (&self.allow_group, &self.deny_group) {
            (Some(_), None) => Some(clause(allow_dn?)),
            (Some(_), Some(_)) => Some(format!("({}) -and -not ({})", clause(allow_dn?), clause(deny_dn?))),
            (None, Some(_)) => Some(format!("-not ({})", clause(deny_dn?))),
            (None, None) => None,
        }
    }

    /// Reads a filter back into the DNs it names, if it has one of the three
    /// shapes [`ScopeFilter::to_opath`] writes (Exchange may add or drop
    /// parentheses and change the keywords' case). Returns `(allow DN, deny
    /// DN)`; `None` for any other filter, which the planner treats as a
    /// scope it does not understand.
    pub fn parse_opath(text: &str) -> Option<(Option<String>, Option<String>)> {
        let tokens = opath_tokens(text)?;
        let mut it = tokens.iter().peekable();
        let mut allow = None;
        let mut deny = None;
        let mut negate_next = false;
        let mut first = true;
        while let Some(t) = it.next() {
            match t {
                OpathToken::Not if !negate_next => negate_next = true,
                OpathToken::And if !first => {}
                OpathToken::Member(dn) => {
                    let slot = if negate_next { &mut deny } else { &mut allow };
                    if slot.replace(dn.clone()).is_some() {
                        return None;
                    }
                    negate_next = false;
                    first = false;
                    if it.peek().is_some_and(|n| !matches!(n, OpathToken::And)) {
                        return None;
                    }
                }
                // A double negation, or `-and` before any clause.
                OpathToken::Not | OpathToken::And => return None,
            }
        }
        if negate_next || (allow.is_none() && deny.is_none()) {
            return None;
        }
        // The allow clause comes first in every shape mailscope writes.
        if let (Some(_), Some(_)) = (&allow, &deny)
            && !matches!(tokens.first(), Some(OpathToken::Member(_)))
        {
            return None;
        }
        Some((allow, deny))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OpathToken {
    Not,
    And,
    Member(String),
}

/// Splits a filter into `-not`, `-and` and `MemberOfGroup -eq '<dn>'`
/// tokens, dropping parentheses; `None` on anything else.
fn opath_tokens(text: &str) -> Option<Vec<OpathToken>> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches(|c: char| c == '(' || c == ')' || c.is_whitespace());
        if rest.is_empty() {
            break;
        }
        let lower = rest.to_ascii_lowercase();
        if lower.starts_with("-not") {
            out.push(OpathToken::Not);
            rest = &rest[4..];
        } else if lower.starts_with("-and") {
            out.push(OpathToken::And);
            rest = &rest[4..];
        } else if lower.starts_with("memberofgroup") {
            let after = rest["memberofgroup".len()..].trim_start();
            if !after.get(..3).is_some_and(|op| op.eq_ignore_ascii_case("-eq")) {
                return None;
            }
            let quoted = after[3..].trim_start();
            let body = quoted.strip_prefix('\'')?;
            // A literal ends at a single quote; two quotes stand for one.
            let mut dn = String::new();
            let mut chars = body.char_indices().peekable();
            let end = loop {
                let (i, c) = chars.next()?;
                if c == '\'' {
                    if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        chars.next();
                        dn.push('\'');
                    } else {
                        break i + 1;
                    }
                } else {
                    dn.push(c);
                }
            };
            out.push(OpathToken::Member(dn));
            rest = &body[end..];
        } else {
            return None;
        }
    }
    Some(out)
}

impl Action {
    /// How the change is counted in the summary line.
    pub fn change_kind(&self) -> ChangeKind {
        match self {
            Action::CreateGroup { .. }
            | Action::AddMember { .. }
            | Action::CreatePolicy { .. }
            | Action::CreateServicePrincipal { .. }
            | Action::CreateManagementScope { .. }
            | Action::CreateRoleAssignment { .. } => ChangeKind::Add,
            Action::MarkGroup { .. }
            | Action::ReplaceMembers { .. }
            | Action::SetPolicyDescription { .. }
            | Action::SetManagementScope { .. } => ChangeKind::Change,
            Action::RemoveMember { .. }
            | Action::RemovePolicy { .. }
            | Action::RemoveGroup { .. }
            | Action::RemoveServicePrincipal { .. }
            | Action::RemoveManagementScope { .. }
            | Action::RemoveRoleAssignment { .. }
            | Action::RemoveEntraGrant { .. } => ChangeKind::Destroy,
        }
    }

    /// How many objects the action changes, a mailbox joining or leaving a
    /// group counting as one: what reviewers count, whichever call carries
    /// the change (one replace of four members is four changes).
    pub fn changes(&self) -> usize {
        match self {
            Action::CreateGroup { members, .. } => 1 + members.len(),
            Action::ReplaceMembers { added, removed, .. } => added.len() + removed.len(),
            _ => 1,
        }
    }

    /// The group the action touches, if any.
    pub fn group(&self) -> Option<&str> {
        match self {
            Action::CreateGroup { group, .. }
            | Action::MarkGroup { group, .. }
            | Action::AddMember { group, .. }
            | Action::RemoveMember { group, .. }
            | Action::ReplaceMembers { group, .. }
            | Action::CreatePolicy { group, .. }
            | Action::SetPolicyDescription { group, .. }
            | Action::RemoveGroup { group } => Some(group),
            Action::RemovePolicy { scope, .. } => Some(scope),
            Action::CreateServicePrincipal { .. }
            | Action::RemoveServicePrincipal { .. }
            | Action::CreateManagementScope { .. }
            | Action::SetManagementScope { .. }
            | Action::RemoveManagementScope { .. }
            | Action::CreateRoleAssignment { .. }
            | Action::RemoveRoleAssignment { .. }
            | Action::RemoveEntraGrant { .. } => None,
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
    /// An app the file never listed that `unlistedApps: lock-down` fences
    /// (its `name` is its Entra display name, else its client id), as
    /// opposed to one that left the file; omitted when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlisted: bool,
}

impl AppPlan {
    /// Whether the app ends up reaching a mailbox it could not reach before
    /// (a gain, or losing its last Restrict policy). The one definition of
    /// "this app widens": guards, renderers and commands all ask here.
    pub fn widens(&self) -> bool {
        !self.gains.is_empty() || self.becomes_unrestricted
    }
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
    /// Objects created (a mailbox joining a group counts as one).
    pub add: usize,
    /// Objects changed in place.
    pub change: usize,
    /// Objects removed (a mailbox leaving a group counts as one).
    pub destroy: usize,
    /// Steps that widen some app.
    pub widening: usize,
}

impl Summary {
    /// The counts of a list of steps: each step by its action's
    /// [`ChangeKind`] (a group created with members and a replaced
    /// membership count each mailbox that joins or leaves), and the
    /// widening steps.
    pub fn count(steps: &[Step]) -> Summary {
        let mut summary = Summary::default();
        for s in steps {
            match &s.action {
                // Counted per mailbox, as the per-member steps they stand for
                // would be, so the summary means the same whichever call
                // carries the change.
                Action::CreateGroup { members, .. } => summary.add += 1 + members.len(),
                Action::ReplaceMembers { added, removed, .. } => {
                    summary.add += added.len();
                    summary.destroy += removed.len();
                }
                other => match other.change_kind() {
                    ChangeKind::Add => summary.add += 1,
                    ChangeKind::Change => summary.change += 1,
                    ChangeKind::Destroy => summary.destroy += 1,
                },
            }
            if s.effect == Effect::Widening {
                summary.widening += 1;
            }
        }
        summary
    }
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
        self.apps.iter().any(AppPlan::widens)
    }

    /// The apps whose part of the plan cannot be applied without widening:
    /// every app that [widens](AppPlan::widens), and every app owning a
    /// widening step (its step may widen *another* app through a shared
    /// group, which is how an `Affected` app gains). Client ids, in plan order.
    pub fn widening_app_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        let owners = self.steps.iter().filter(|s| s.effect == Effect::Widening).map(|s| s.app_id.as_str());
        for id in self.apps.iter().filter(|a| a.widens()).map(|a| a.app_id.as_str()).chain(owners) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// The plan without the given apps (by client id): their steps and their
    /// entries go, the remaining steps are renumbered and the summary is
    /// recounted. Steps of different apps are independent (the wave contract
    /// only orders one app's steps), so dropping whole apps keeps the safe
    /// order of the others. The `before`/`after` summaries of the apps that
    /// stay are those of the full plan.
    #[must_use]
    pub fn without_apps(&self, app_ids: &[&str]) -> Plan {
        let dropped = |id: &str| app_ids.iter().any(|d| d.eq_ignore_ascii_case(id));
        let mut out = self.clone();
        out.apps.retain(|a| !dropped(&a.app_id));
        out.steps.retain(|s| !dropped(&s.app_id));
        for (i, s) in out.steps.iter_mut().enumerate() {
            s.index = i;
        }
        out.summary = Summary::count(&out.steps);
        out
    }

    /// The plan without every app in [`Plan::widening_app_ids`], and the
    /// names of the apps left out: what an unattended correction may apply
    /// when widening is not approved.
    #[must_use]
    pub fn without_widening(&self) -> (Plan, Vec<String>) {
        let ids = self.widening_app_ids();
        let names =
            self.apps.iter().filter(|a| ids.contains(&a.app_id.as_str())).map(|a| a.name.clone()).collect();
        (self.without_apps(&ids), names)
    }

    /// Steps of one app, in order.
    pub fn steps_of<'a>(&'a self, app_id: &'a str) -> impl Iterator<Item = &'a Step> + 'a {
        self.steps.iter().filter(move |s| s.app_id == app_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_filters_round_trip_through_opath() {
        let g = |s: &str| Some(s.to_owned());
        let cases = [
            (ScopeFilter { allow_group: g("a"), deny_group: None }, (g("CN=a,OU=x"), None)),
            (
                ScopeFilter { allow_group: g("a"), deny_group: g("d") },
                (g("CN=a,OU=x"), g("CN=O'Neil d,OU=x")),
            ),
            (ScopeFilter { allow_group: None, deny_group: g("d") }, (None, g("CN=d,OU=x"))),
        ];
        for (filter, (allow, deny)) in cases {
            let text = filter.to_opath(allow.as_deref(), deny.as_deref()).unwrap();
            assert_eq!(ScopeFilter::parse_opath(&text), Some((allow.clone(), deny.clone())), "{text}");
            // Exchange may wrap the filter in parentheses and change case.
            let rewritten =
                format!("(({}))", text.replace("MemberOfGroup", "memberofgroup").replace("-and", "-AND"));
            assert_eq!(ScopeFilter::parse_opath(&rewritten), Some((allow, deny)), "{rewritten}");
        }
        // A DN that is not known yet (the group is created by the plan) leaves
        // nothing to write.
        assert_eq!(
            ScopeFilter { allow_group: g("a"), deny_group: g("d") }.to_opath(Some("CN=a"), None),
            None
        );
        assert_eq!(
            ScopeFilter { allow_group: g("a"), deny_group: g("d") }
                .to_opath(Some("CN=O'Neil"), Some("CN=d"))
                .as_deref(),
            Some("(MemberOfGroup -eq 'CN=O''Neil') -and -not (MemberOfGroup -eq 'CN=d')")
        );
    }

    #[test]
    fn filters_of_other_shapes_are_not_taken_for_mailscopes() {
        for text in [
            "",
            "Department -eq 'Sales'",
            "MemberOfGroup -eq 'CN=a' -or MemberOfGroup -eq 'CN=b'",
            "-not (MemberOfGroup -eq 'CN=a') -and (MemberOfGroup -eq 'CN=b')",
            "MemberOfGroup -eq 'CN=a' -and MemberOfGroup -eq 'CN=b'",
            "-not -not (MemberOfGroup -eq 'CN=a')",
            "MemberOfGroup -eq 'CN=a",
            "MemberOfGroup -like 'CN=a*'",
            "-and MemberOfGroup -eq 'CN=a'",
        ] {
            assert_eq!(ScopeFilter::parse_opath(text), None, "{text}");
        }
        assert_eq!(ScopeFilter { allow_group: None, deny_group: None }.to_opath(None, None), None);
    }

    fn step(index: usize, app_id: &str, action: Action, effect: Effect) -> Step {
        Step { index, app: app_id.to_owned(), app_id: app_id.to_owned(), wave: 0, action, effect }
    }

    fn app(app_id: &str, change: AppChange, gains: &[&str]) -> AppPlan {
        AppPlan {
            unlisted: false,
            name: format!("name-{app_id}"),
            app_id: app_id.to_owned(),
            change,
            before: AccessSummary::Only { allowed: 1 },
            after: AccessSummary::Only { allowed: 1 },
            gains: gains.iter().map(|g| (*g).to_owned()).collect(),
            becomes_unrestricted: false,
            line: None,
        }
    }

    fn add(group: &str, member: &str) -> Action {
        Action::AddMember { group: group.to_owned(), member: member.to_owned() }
    }

    fn remove(group: &str, member: &str) -> Action {
        Action::RemoveMember { group: group.to_owned(), member: member.to_owned() }
    }

    /// `a` narrows; `b` owns a step that widens `c`, an app outside the file
    /// sharing `b`'s group; `d` gains a mailbox itself.
    fn mixed() -> Plan {
        let steps = vec![
            step(0, "a", remove("ga", "x@c.com"), Effect::Narrowing),
            step(1, "b", add("gb", "y@c.com"), Effect::Widening),
            step(2, "d", add("gd", "z@c.com"), Effect::Widening),
            step(3, "a", remove("ga", "w@c.com"), Effect::Narrowing),
        ];
        let apps = vec![
            app("a", AppChange::Update, &[]),
            app("b", AppChange::Update, &[]),
            app("c", AppChange::Affected, &["y@c.com"]),
            app("d", AppChange::Update, &["z@c.com"]),
        ];
        let summary = Summary::count(&steps);
        Plan { format_version: PLAN_FORMAT_VERSION, steps, apps, findings: Vec::new(), summary }
    }

    #[test]
    fn an_app_widens_by_a_gain_or_by_losing_its_last_restriction() {
        let mut a = app("a", AppChange::Update, &[]);
        assert!(!a.widens());
        a.becomes_unrestricted = true;
        assert!(a.widens());
        assert!(app("a", AppChange::Update, &["m@c.com"]).widens());
    }

    #[test]
    fn widening_apps_include_the_owner_of_a_step_that_widens_another_app() {
        assert_eq!(mixed().widening_app_ids(), ["c", "d", "b"]);
    }

    #[test]
    fn without_apps_renumbers_and_recounts() {
        let p = mixed().without_apps(&["B", "d"]);
        assert_eq!(
            p.steps.iter().map(|s| (s.index, s.app_id.as_str())).collect::<Vec<_>>(),
            [(0, "a"), (1, "a")]
        );
        assert_eq!(p.apps.iter().map(|a| a.app_id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(p.summary, Summary { add: 0, change: 0, destroy: 2, widening: 0 });
    }

    #[test]
    fn without_widening_keeps_only_what_applies_without_approval() {
        let (p, skipped) = mixed().without_widening();
        assert!(!p.widens());
        assert_eq!(p.summary.widening, 0);
        assert!(p.steps.iter().all(|s| s.effect != Effect::Widening));
        assert_eq!(skipped, ["name-b", "name-c", "name-d"]);
    }
}
