//! The seam between the scheduler and a tenant: one async method per
//! [`Action`] kind, each answering "changed it" or "it already was so".
//!
//! The scheduler only ever talks to a [`Tenant`]; [`crate::ExoTenant`] is the
//! Exchange Online implementation, and tests use an in-memory one that
//! enforces the same semantics.

use std::future::Future;
use std::pin::Pin;

use mailscope_planner::{AccessRight, Action};

/// What executing one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// The call changed the tenant.
    Done,
    /// The tenant already was in the state the step asks for (a harmless
    /// repeat, typically after a lost reply or a concurrent run). It counts
    /// as done: the step's effect holds.
    AlreadyDone,
}

/// Why a step failed, as far as the applier and its caller need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantErrorKind {
    /// An object the step needs does not exist (a group to fill or mark, a
    /// policy to describe, a mailbox to add).
    NotFound,
    /// An object with the same name or key exists but is not the one the
    /// step would have made (another owner's group, an unmanaged policy).
    Conflict,
    /// The tenant's application access policy space is full.
    LimitReached,
    /// The caller lacks the token, consent or role for the call.
    Denied,
    /// The service refused the parameters.
    Invalid,
    /// Throttling, a lost connection or a server error that outlived the
    /// client's retries; the step may or may not have taken effect.
    Transient,
    /// Anything else.
    Other,
}

/// A failed step. The message is shown to the user and written to the
/// journal, so it never holds a credential: [`TenantError::new`] scrubs
/// anything shaped like a bearer token or JWT as a last line of defence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TenantError {
    /// The classification.
    pub kind: TenantErrorKind,
    /// What went wrong, as the service (or the implementation) said it.
    pub message: String,
    /// True when the step may have taken effect although it failed (a lost
    /// reply). Re-planning from the live state settles it either way.
    pub maybe_applied: bool,
}

impl TenantError {
    /// An error of `kind`; the message is scrubbed of token-like text.
    pub fn new(kind: TenantErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: scrub_secrets(&message.into()), maybe_applied: false }
    }

    /// The same error, flagged as possibly applied.
    #[must_use]
    pub fn maybe_applied(mut self, yes: bool) -> Self {
        self.maybe_applied = yes;
        self
    }
}

/// The operations a plan needs, one per [`Action`] kind.
///
/// Implementations decide which repeats are harmless and report them as
/// [`StepOutcome::AlreadyDone`]; anything else that stops the step's effect
/// from holding is an error. Futures must be `Send` so the applier's future is
/// `Send` too (the CLI may spawn it).
///
/// Methods take names and addresses exactly as the plan holds them; groups
/// are addressed by `Name`, policies by service identity.
pub trait Tenant: Sync {
    /// How many calls the tenant takes in flight right now, when it adapts
    /// that number to the service's throttling (an [`ExoTenant`]'s session
    /// does); `None` leaves the applier's `concurrency` alone. The applier
    /// reads it before starting each step and starts no more than it allows
    /// (never more than its own ceiling).
    ///
    /// [`ExoTenant`]: crate::ExoTenant
    fn concurrency_limit(&self) -> Option<usize> {
        None
    }

    /// Creates a mail-enabled security group with `members` as its first
    /// direct members (one call), and writes `marker` to its
    /// `CustomAttribute15`.
    fn create_group(
        &self,
        group: &str,
        alias: &str,
        marker: &str,
        members: &[String],
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Writes `marker` to an existing group's `CustomAttribute15`.
    fn mark_group(
        &self,
        group: &str,
        marker: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Adds one direct member.
    fn add_member(
        &self,
        group: &str,
        member: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Removes one direct member.
    fn remove_member(
        &self,
        group: &str,
        member: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Replaces the group's direct members with exactly `members`, in one
    /// call: the group goes from its old members to the new ones with no
    /// state in between.
    fn replace_members(
        &self,
        group: &str,
        members: &[String],
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Creates an application access policy for `app_id` scoped to `group`.
    fn create_policy(
        &self,
        app_id: &str,
        group: &str,
        access_right: AccessRight,
        description: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Sets a policy's description (its ownership marker).
    fn set_policy_description(
        &self,
        identity: &str,
        description: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Removes a policy.
    fn remove_policy(&self, identity: &str) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Removes a group.
    fn remove_group(&self, group: &str) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send;

    /// Executes one RBAC for Applications step (service-principal pointer,
    /// management scope, role assignment, Entra grant removal). The planner
    /// plans these only for `mechanism: rbac` apps; a tenant that cannot
    /// execute them refuses, which stops the apply before anything else.
    fn rbac_step(&self, action: &Action) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let message = format!("this tenant cannot execute RBAC for Applications steps ({action:?})");
        async move { Err(TenantError::new(TenantErrorKind::Invalid, message)) }
    }
}

/// A step's call in flight.
pub(crate) type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<StepOutcome, TenantError>> + Send + 'a>>;

/// Calls the method for `action` now (not at first poll), so an
/// implementation that does work when called sees the step start when the
/// scheduler starts it.
pub(crate) fn execute<'a, T: Tenant>(tenant: &'a T, action: &'a Action) -> StepFuture<'a> {
    match action {
        Action::CreateGroup { group, alias, marker, members } => {
            Box::pin(tenant.create_group(group, alias, marker, members))
        }
        Action::ReplaceMembers { group, members, .. } => Box::pin(tenant.replace_members(group, members)),
        Action::MarkGroup { group, marker } => Box::pin(tenant.mark_group(group, marker)),
        Action::AddMember { group, member } => Box::pin(tenant.add_member(group, member)),
        Action::RemoveMember { group, member } => Box::pin(tenant.remove_member(group, member)),
        Action::CreatePolicy { app_id, group, access_right, description } => {
            Box::pin(tenant.create_policy(app_id, group, *access_right, description))
        }
        Action::SetPolicyDescription { identity, description, .. } => {
            Box::pin(tenant.set_policy_description(identity, description))
        }
        Action::RemovePolicy { identity, .. } => Box::pin(tenant.remove_policy(identity)),
        Action::RemoveGroup { group } => Box::pin(tenant.remove_group(group)),
        Action::CreateServicePrincipal { .. }
        | Action::RemoveServicePrincipal { .. }
        | Action::CreateManagementScope { .. }
        | Action::SetManagementScope { .. }
        | Action::RemoveManagementScope { .. }
        | Action::CreateRoleAssignment { .. }
        | Action::RemoveRoleAssignment { .. }
        | Action::RemoveEntraGrant { .. } => Box::pin(tenant.rbac_step(action)),
    }
}

/// Replaces bearer tokens and JWT-shaped words with `[redacted]`.
///
/// Error texts come from Exchange and the client, neither of which should
/// ever echo a credential; this keeps a misbehaving proxy or a future client
/// change from writing one into a journal that gets committed or attached to
/// a ticket.
pub(crate) fn scrub_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut redact_next = false;
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let looks_like_jwt = {
            let core = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            core.starts_with("eyJ") && core.matches('.').count() >= 2
        };
        if redact_next || looks_like_jwt {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        let lower = word.to_ascii_lowercase();
        redact_next = lower.ends_with("bearer") || lower.ends_with("client_secret=") || lower == "secret:";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_tokens_and_keeps_the_rest() {
        let text = "call failed: Authorization: Bearer abc.def.ghi and eyJhbGciOi.eyJzdWIi.c2ln, group \"g\"";
        let scrubbed = scrub_secrets(text);
        assert_eq!(scrubbed, "call failed: Authorization: Bearer [redacted] and [redacted] group \"g\"");
        assert_eq!(
            scrub_secrets("The recipient \"a@b.c\" isn't a member."),
            "The recipient \"a@b.c\" isn't a member."
        );
        assert!(TenantError::new(TenantErrorKind::Other, "x bearer tok").message.ends_with("[redacted]"));
    }
}
