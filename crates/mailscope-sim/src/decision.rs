//! The access decision (docs/exchange.md, "Access decision"): the application access
//! policy verdict, RBAC for Applications assignments, and the two combined
//! per permission with the Entra grant.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use mailscope_permissions::Resource;

use crate::model::{AccessRight, Policy, Recipient, RoleAssignment, Tenant};
use crate::opath::{self, Filter, MemberOf};

/// Whether AAP scope membership follows nested groups (docs/exchange.md, "Access decision": contested).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NestedGroups {
    /// Only direct members of the scope group count (field reports; default).
    #[default]
    Direct,
    /// Members of nested groups count too (current docs).
    Transitive,
}

/// How a policy whose scope recipient no longer exists (`IsValid = False`) is evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InvalidPolicyMode {
    /// Counts as a Restrict/Deny policy with an empty scope (docs/exchange.md, "Access
    /// decision", the fail-closed reading; default).
    #[default]
    FailClosed,
    /// Ignored entirely.
    Ignore,
}

/// The AAP verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The app may reach the mailbox.
    Granted,
    /// It may not.
    Denied,
}

impl Verdict {
    /// `AccessCheckResult` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Granted => "Granted",
            Verdict::Denied => "Denied",
        }
    }
}

/// Evaluation knobs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DecisionKnobs {
    pub nested: NestedGroups,
    pub invalid: InvalidPolicyMode,
}

/// Does `scope_id`'s recipient contain the recipient `target_id` (itself, or as a group member)?
/// `None` when the scope recipient no longer exists.
pub(crate) fn in_scope(
    tenant: &Tenant,
    scope_id: &str,
    target_id: Option<&str>,
    nested: NestedGroups,
) -> Option<bool> {
    let scope = tenant.recipient_by_object_id(scope_id)?;
    let Some(target) = target_id else {
        return Some(false);
    };
    if scope.external_directory_object_id.eq_ignore_ascii_case(target) {
        return Some(true);
    }
    if !scope.kind.is_group() {
        return Some(false);
    }
    match nested {
        NestedGroups::Direct => Some(scope.members.iter().any(|m| m.eq_ignore_ascii_case(target))),
        NestedGroups::Transitive => {
            let mut seen = HashSet::new();
            let mut stack = vec![scope];
            while let Some(g) = stack.pop() {
                if !seen.insert(g.external_directory_object_id.clone()) {
                    continue;
                }
                for m in &g.members {
                    if m.eq_ignore_ascii_case(target) {
                        return Some(true);
                    }
                    if let Some(r) = tenant.recipient_by_object_id(m).filter(|r| r.kind.is_group()) {
                        stack.push(r);
                    }
                }
            }
            Some(false)
        }
    }
}

/// Policies that apply to `app_id` (its own, plus `*`).
fn policies_for<'a>(tenant: &'a Tenant, app_id: &'a str) -> impl Iterator<Item = &'a Policy> + 'a {
    tenant
        .policies
        .iter()
        .map(AsRef::as_ref)
        .filter(move |p| p.app_id.eq_ignore_ascii_case(app_id) || p.app_id == "*")
}

/// The AAP verdict for `app_id` on the recipient with object id `target_id`
/// (`None` = a mailbox that is in no scope at all: the "any other mailbox" sentinel).
///
/// Rules (docs/exchange.md, "Access decision"): a matching Deny denies; else a matching Restrict
/// grants; else any Restrict policy denies; else granted.
pub(crate) fn aap(tenant: &Tenant, app_id: &str, target_id: Option<&str>, knobs: DecisionKnobs) -> Verdict {
    decide(policies_for(tenant, app_id), knobs.invalid, |p| {
        in_scope(tenant, &p.scope_object_id, target_id, knobs.nested)
    })
}

/// The rules themselves, once: `member` says whether the target is in a
/// policy's scope, or `None` when the scope no longer exists (then
/// `invalid` decides whether the policy counts as an empty scope).
fn decide<'a>(
    policies: impl Iterator<Item = &'a Policy>,
    invalid: InvalidPolicyMode,
    member: impl Fn(&Policy) -> Option<bool>,
) -> Verdict {
    let mut has_restrict = false;
    let mut restrict_match = false;
    for p in policies {
        let member = match member(p) {
            Some(m) => m,
            None if invalid == InvalidPolicyMode::Ignore => continue,
            None => false,
        };
        match p.access_right {
            AccessRight::DenyAccess if member => return Verdict::Denied,
            AccessRight::DenyAccess => {}
            AccessRight::RestrictAccess => {
                has_restrict = true;
                restrict_match |= member;
            }
        }
    }
    if restrict_match || !has_restrict { Verdict::Granted } else { Verdict::Denied }
}

/// Precomputed scope memberships, for evaluating many (app, mailbox) pairs on
/// one state (the exposure log) in O(policies) per pair instead of O(policies × recipients).
pub(crate) struct ScopeIndex {
    /// Scope object id (lower case) → member object ids (lower case, the scope itself included);
    /// `None` when the scope recipient no longer exists.
    scopes: HashMap<String, Option<HashSet<String>>>,
    /// App id (lower case) → positions of its own policies in `tenant.policies`;
    /// the `*` policies apply to every app. Without it each decision scanned
    /// every policy of the tenant, which made a checkpoint of 1,000 apps over
    /// 100,000 mailboxes take 10^11 comparisons.
    by_app: HashMap<String, Vec<usize>>,
    star: Vec<usize>,
    knobs: DecisionKnobs,
}

impl ScopeIndex {
    /// Indexes every policy scope of `tenant`.
    pub(crate) fn new(tenant: &Tenant, knobs: DecisionKnobs) -> Self {
        let by_id: HashMap<String, &Recipient> = tenant
            .recipients
            .iter()
            .map(|r| (r.external_directory_object_id.to_ascii_lowercase(), &**r))
            .collect();
        let mut scopes = HashMap::new();
        for p in &tenant.policies {
            let key = p.scope_object_id.to_ascii_lowercase();
            if scopes.contains_key(&key) {
                continue;
            }
            let members = by_id.get(&key).map(|scope| {
                let mut set = HashSet::from([key.clone()]);
                let mut stack = vec![*scope];
                let mut seen = HashSet::new();
                while let Some(g) = stack.pop() {
                    if !seen.insert(g.external_directory_object_id.to_ascii_lowercase()) {
                        continue;
                    }
                    for m in &g.members {
                        let m = m.to_ascii_lowercase();
                        if knobs.nested == NestedGroups::Transitive
                            && let Some(r) = by_id.get(&m).filter(|r| r.kind.is_group())
                        {
                            stack.push(r);
                        }
                        set.insert(m);
                    }
                }
                set
            });
            scopes.insert(key, members);
        }
        let mut by_app: HashMap<String, Vec<usize>> = HashMap::new();
        let mut star = Vec::new();
        for (i, p) in tenant.policies.iter().enumerate() {
            if p.app_id == "*" {
                star.push(i);
            } else {
                by_app.entry(p.app_id.to_ascii_lowercase()).or_default().push(i);
            }
        }
        Self { scopes, by_app, star, knobs }
    }

    /// Same verdict as [`aap`], from the index.
    pub(crate) fn aap(&self, tenant: &Tenant, app_id: &str, target_id: Option<&str>) -> Verdict {
        let target = target_id.map(str::to_ascii_lowercase);
        let own = self.by_app.get(&app_id.to_ascii_lowercase()).map_or(&[][..], Vec::as_slice);
        // Same order as `policies_for`: the tenant's policy order.
        let mut positions: Vec<usize> = own.iter().chain(&self.star).copied().collect();
        positions.sort_unstable();
        let policies = positions.into_iter().map(|i| &*tenant.policies[i]);
        decide(policies, self.knobs.invalid, |p| {
            match self.scopes.get(&p.scope_object_id.to_ascii_lowercase()) {
                Some(Some(set)) => Some(target.as_ref().is_some_and(|t| set.contains(t))),
                _ => None,
            }
        })
    }
}

/// The combined verdict for one permission on one mailbox (`docs/exchange.md`,
/// "The combined verdict for one permission").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Effective through the Entra grant (not fenced, or the policies allow) or an RBAC assignment.
    Granted,
    /// The Entra grant exists but the access policies deny and no RBAC assignment covers the mailbox.
    DeniedByPolicy,
    /// Neither an Entra grant nor an RBAC assignment covering the mailbox.
    Denied,
}

/// Does a policy fence the Entra grant of `perm`? Only Microsoft's fixed
/// list is (the shared permission table); anything else passes untouched.
pub(crate) fn fenced(perm: &str) -> bool {
    mailscope_permissions::app_role(Resource::Graph, perm)
        .or_else(|| mailscope_permissions::app_role(Resource::ExchangeOnline, perm))
        .is_some_and(|p| p.fenced_by_policy)
}

/// Does the role named `role` (`Application Mail.Send`) grant `perm`?
pub(crate) fn role_grants(role: &str, perm: &str) -> bool {
    mailscope_permissions::rbac_role(role)
        .is_some_and(|r| r.grants.iter().any(|g| g.eq_ignore_ascii_case(perm)))
}

/// An assignment's resource scope, resolved once for many evaluations.
pub(crate) enum ScopeFilter {
    /// No scope: the whole organization.
    Organization,
    /// The management scope's parsed recipient filter.
    Filter(Filter),
    /// A scope that no longer exists or does not parse: covers nothing.
    Nothing,
}

impl ScopeFilter {
    /// Resolves the scope named `scope` (`None` = organization-wide).
    pub(crate) fn new(t: &Tenant, scope: Option<&str>) -> Self {
        let Some(name) = scope else {
            return ScopeFilter::Organization;
        };
        t.management_scope(name)
            .and_then(|s| opath::parse(&s.recipient_restriction_filter).ok())
            .map_or(ScopeFilter::Nothing, ScopeFilter::Filter)
    }

    /// Does it cover the target? `None` is the "any other mailbox" sentinel:
    /// a mailbox with no attributes and no group memberships.
    pub(crate) fn covers(
        &self,
        t: &Tenant,
        target: Option<&Recipient>,
        member_of: Option<&MemberOf>,
    ) -> bool {
        match (self, target) {
            (ScopeFilter::Organization, _) => true,
            (ScopeFilter::Nothing, _) => false,
            (ScopeFilter::Filter(f), Some(r)) => {
                f.matches(&|prop: &str| opath::recipient_property(t, r, prop, member_of))
            }
            (ScopeFilter::Filter(f), None) => f.matches(&|_: &str| Vec::new()),
        }
    }
}

/// Does an assignment's scope cover the target? See [`ScopeFilter`].
pub(crate) fn scope_covers(
    t: &Tenant,
    scope: Option<&str>,
    target: Option<&Recipient>,
    member_of: Option<&MemberOf>,
) -> bool {
    ScopeFilter::new(t, scope).covers(t, target, member_of)
}

/// The assignments of `app_id`'s service principal pointer (none without a pointer).
pub(crate) fn assignments_of<'a>(
    t: &'a Tenant,
    app_id: &str,
) -> impl Iterator<Item = &'a RoleAssignment> + 'a {
    let object_id = t
        .service_principals
        .iter()
        .find(|s| s.app_id.eq_ignore_ascii_case(app_id))
        .map(|s| s.object_id.clone());
    t.role_assignments
        .iter()
        .filter(move |a| object_id.as_ref().is_some_and(|o| a.app_object_id.eq_ignore_ascii_case(o)))
}

/// rbac(app, perm, mailbox): an assignment whose role grants `perm` and
/// whose scope covers the mailbox. Policies never narrow it.
pub(crate) fn rbac(
    t: &Tenant,
    app_id: &str,
    perm: &str,
    target: Option<&Recipient>,
    member_of: Option<&MemberOf>,
) -> bool {
    assignments_of(t, app_id).any(|a| {
        role_grants(&a.role, perm) && scope_covers(t, a.custom_resource_scope.as_deref(), target, member_of)
    })
}

/// effective(app, perm, mailbox) = (Entra grant ∧ (unfenced ∨ policies allow)) ∨ rbac.
/// `entra` says whether the caller holds the Entra grant (the token's roles
/// for a data-plane call, the tenant's grants for the exposure log).
pub(crate) fn effective(
    t: &Tenant,
    app_id: &str,
    entra: bool,
    perm: &str,
    target: &Recipient,
    knobs: DecisionKnobs,
) -> Access {
    if rbac(t, app_id, perm, Some(target), None) {
        return Access::Granted;
    }
    if !entra {
        return Access::Denied;
    }
    if !fenced(perm) || aap_for(t, app_id, target, knobs) == Verdict::Granted {
        Access::Granted
    } else {
        Access::DeniedByPolicy
    }
}

/// Convenience: verdict for a recipient.
pub(crate) fn aap_for(tenant: &Tenant, app_id: &str, target: &Recipient, knobs: DecisionKnobs) -> Verdict {
    aap(tenant, app_id, Some(&target.external_directory_object_id), knobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Policy;
    use std::sync::Arc;

    fn restrict(scope: &str) -> Policy {
        Policy {
            app_id: "app".into(),
            scope_object_id: scope.into(),
            scope_sid: String::new(),
            scope_name: scope.into(),
            access_right: AccessRight::RestrictAccess,
            description: String::new(),
        }
    }

    /// A Restrict policy whose scope is gone fences everything by default
    /// (fail-closed) and nothing when the knob says to ignore it; a policy
    /// whose scope exists decides by membership either way.
    #[test]
    fn a_policy_on_a_deleted_scope_follows_the_invalid_policy_knob() {
        let gone = [restrict("gone")];
        let scope = |p: &Policy| (p.scope_object_id != "gone").then_some(false);
        assert_eq!(decide(gone.iter(), InvalidPolicyMode::FailClosed, scope), Verdict::Denied);
        assert_eq!(decide(gone.iter(), InvalidPolicyMode::Ignore, scope), Verdict::Granted);
        let both = [restrict("gone"), restrict("here")];
        let member = |p: &Policy| (p.scope_object_id != "gone").then_some(true);
        for invalid in [InvalidPolicyMode::FailClosed, InvalidPolicyMode::Ignore] {
            assert_eq!(decide(both.iter(), invalid, member), Verdict::Granted, "{invalid:?}");
        }
    }

    /// Only the permissions of Microsoft's list are fenced by a policy.
    #[test]
    fn only_listed_permissions_are_fenced() {
        assert!(fenced("Mail.Send") && fenced("full_access_as_app"));
        assert!(!fenced("MailboxItem.Read.All") && !fenced("User.Read.All"));
    }

    /// The index used by the exposure log agrees with the direct evaluation.
    #[test]
    fn scope_index_agrees_with_direct_evaluation() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso.tenant.yaml");
        let mut t = crate::seed::load_file(&path).unwrap();
        // Nest the hr group inside the invoice group, add a Deny and a dangling policy.
        let hr = t.recipients.iter().find(|r| r.name == "mailscope-hr-notifier-allow").unwrap().clone();
        t.recipients
            .find_mut(|r| r.name == "mailscope-invoice-mailer-allow")
            .unwrap()
            .members
            .push(hr.external_directory_object_id.clone());
        let ceo = t.recipients.iter().find(|r| r.primary_smtp_address == "ceo@contoso.com").unwrap().clone();
        for (app, scope, right) in [
            (
                "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60",
                &ceo.external_directory_object_id,
                AccessRight::DenyAccess,
            ),
            (
                "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d",
                &"00000000-dead-4000-8000-000000000000".to_owned(),
                AccessRight::RestrictAccess,
            ),
        ] {
            t.policies.push(Arc::new(Policy {
                app_id: app.to_owned(),
                scope_object_id: scope.clone(),
                scope_sid: "S-1-5-21-9".to_owned(),
                scope_name: "x".to_owned(),
                access_right: right,
                description: " ".to_owned(),
            }));
        }
        for nested in [NestedGroups::Direct, NestedGroups::Transitive] {
            for invalid in [InvalidPolicyMode::FailClosed, InvalidPolicyMode::Ignore] {
                let knobs = DecisionKnobs { nested, invalid };
                let index = ScopeIndex::new(&t, knobs);
                for app in &t.apps {
                    let mut targets: Vec<Option<&str>> =
                        t.recipients.iter().map(|r| Some(r.external_directory_object_id.as_str())).collect();
                    targets.push(None);
                    for target in targets {
                        assert_eq!(
                            index.aap(&t, &app.app_id, target),
                            aap(&t, &app.app_id, target, knobs),
                            "{} {target:?} {nested:?} {invalid:?}",
                            app.display_name
                        );
                    }
                }
            }
        }
    }
}
