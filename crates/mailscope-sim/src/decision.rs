//! The application access policy decision (aap-semantics §1.3 and §5).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::model::{AccessRight, Policy, Recipient, Tenant};

/// Whether AAP scope membership follows nested groups (aap-semantics §1.4: contested).
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
    /// Counts as a Restrict/Deny policy with an empty scope (aap-semantics §1.7, the fail-closed reading; default).
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
    tenant.policies.iter().filter(move |p| p.app_id.eq_ignore_ascii_case(app_id) || p.app_id == "*")
}

/// The AAP verdict for `app_id` on the recipient with object id `target_id`
/// (`None` = a mailbox that is in no scope at all: the "any other mailbox" sentinel).
///
/// Rules (aap-semantics §5.1): a matching Deny denies; else a matching Restrict
/// grants; else any Restrict policy denies; else granted.
pub(crate) fn aap(tenant: &Tenant, app_id: &str, target_id: Option<&str>, knobs: DecisionKnobs) -> Verdict {
    let mut has_restrict = false;
    let mut restrict_match = false;
    for p in policies_for(tenant, app_id) {
        let member = match in_scope(tenant, &p.scope_object_id, target_id, knobs.nested) {
            Some(m) => m,
            None if knobs.invalid == InvalidPolicyMode::Ignore => continue,
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

/// Convenience: verdict for a recipient.
pub(crate) fn aap_for(tenant: &Tenant, app_id: &str, target: &Recipient, knobs: DecisionKnobs) -> Verdict {
    aap(tenant, app_id, Some(&target.external_directory_object_id), knobs)
}
