//! [`Tenant`] on Exchange Online, through [`ExoClient`].
//!
//! The client already retries what is safe to retry and turns "already a
//! member", "not a member" and "already gone" into [`Outcome::AlreadySo`]
//! (see `mailscope_exo::ExoClient`). This layer decides the remaining repeats,
//! each one a case where the step's effect provably holds:
//!
//! | step | harmless repeat ([`StepOutcome::AlreadyDone`]) |
//! |---|---|
//! | create group (with its first members, one call) | the name exists (`AlreadyExists`) and the group carries exactly our marker; or it carries no marker at all and its `Name` is the step's name, in which case the marker is written (a previous attempt created it and lost the marker call) |
//! | mark group | never detected: setting the same value twice is harmless, so it is always [`StepOutcome::Done`] |
//! | add member | "already a member" |
//! | remove member | "isn't a member", or the group or recipient is gone |
//! | replace members | never detected: writing the same list twice is harmless, so it is always [`StepOutcome::Done`] |
//! | create policy | `AlreadyExists`, and a policy with the same app, scope group and right carries exactly our description |
//! | set policy description | never detected (always `Done`) |
//! | remove policy, remove group | not found |
//! | RBAC: create pointer, scope, assignment | the client's rule: the object exists and is the one the step would make (`mailscope_exo` RBAC docs) |
//! | RBAC: set scope | never detected (always `Done`) |
//! | RBAC: remove pointer, scope, assignment, Entra grant | not found |
//!
//! A scope's filter names groups by `DistinguishedName`, which exists only
//! once the group does (often created earlier in the same apply): the step
//! reads the DNs when it runs and renders them with
//! [`ScopeFilter::to_opath`].
//!
//! A group or policy that exists with a *different* marker or description
//! belongs to someone else: that is a [`TenantErrorKind::Conflict`], never
//! adopted silently.

use mailscope_exo::{ExoClient, ExoError, ExoErrorKind, Outcome};
use mailscope_planner::{AccessRight, Action, ScopeFilter};

use crate::tenant::{StepOutcome, Tenant, TenantError, TenantErrorKind};

/// A [`Tenant`] that calls Exchange Online. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ExoTenant {
    client: ExoClient,
}

impl ExoTenant {
    /// Wraps a client (from `Session::exo()`).
    pub fn new(client: ExoClient) -> Self {
        Self { client }
    }

    /// The wrapped client (for reading the live state between runs).
    pub fn client(&self) -> &ExoClient {
        &self.client
    }
}

impl From<ExoError> for TenantError {
    fn from(e: ExoError) -> Self {
        let kind = match e.kind {
            ExoErrorKind::NotFound | ExoErrorKind::NotMember => TenantErrorKind::NotFound,
            ExoErrorKind::AlreadyMember | ExoErrorKind::AlreadyExists => TenantErrorKind::Conflict,
            ExoErrorKind::PolicyLimit => TenantErrorKind::LimitReached,
            ExoErrorKind::Unauthorized | ExoErrorKind::Forbidden | ExoErrorKind::Token => {
                TenantErrorKind::Denied
            }
            ExoErrorKind::InvalidParameter => TenantErrorKind::Invalid,
            ExoErrorKind::Throttled
            | ExoErrorKind::Transport
            | ExoErrorKind::Server
            | ExoErrorKind::PageLinkExpired => TenantErrorKind::Transient,
            ExoErrorKind::Other => TenantErrorKind::Other,
        };
        // `ExoError`'s Display holds the cmdlet, kind, status and the
        // service's message; never the request, headers or token.
        TenantError::new(kind, e.full_message()).maybe_applied(e.maybe_applied)
    }
}

fn outcome(o: Outcome) -> StepOutcome {
    match o {
        Outcome::Done => StepOutcome::Done,
        Outcome::AlreadySo => StepOutcome::AlreadyDone,
    }
}

impl Tenant for ExoTenant {
    fn concurrency_limit(&self) -> Option<usize> {
        Some(self.client.session().concurrency_limit())
    }

    async fn create_group(
        &self,
        group: &str,
        alias: &str,
        marker: &str,
        members: &[String],
    ) -> Result<StepOutcome, TenantError> {
        let err = match self.client.new_group_with_members(group, alias, None, marker, members).await {
            Ok(_) => return Ok(StepOutcome::Done),
            Err(e) if e.kind == ExoErrorKind::AlreadyExists => e,
            Err(e) => return Err(e.into()),
        };
        // The name (or alias/address) is taken: ours from an earlier attempt,
        // or someone else's.
        let Some(existing) = self.client.get_group(group).await? else {
            return Err(err.into());
        };
        // Exchange names compare case-insensitively, so a differently cased
        // name is the same object; an alias or address match is not.
        if !existing.name.eq_ignore_ascii_case(group) {
            return Err(TenantError::new(
                TenantErrorKind::Conflict,
                format!(
                    "cannot create group \"{group}\": its alias or address is used by \"{}\"",
                    existing.name
                ),
            ));
        }
        match existing.marker.as_deref().map(str::trim) {
            Some(m) if m == marker => Ok(StepOutcome::AlreadyDone),
            None | Some("") => {
                let identity = if existing.id.is_empty() { group } else { existing.id.as_str() };
                self.client.mark_new_group(identity, marker).await?;
                Ok(StepOutcome::AlreadyDone)
            }
            Some(other) => Err(TenantError::new(
                TenantErrorKind::Conflict,
                format!("group \"{group}\" already exists with another owner marker (\"{other}\")"),
            )),
        }
    }

    async fn mark_group(&self, group: &str, marker: &str) -> Result<StepOutcome, TenantError> {
        self.client.set_group_marker(group, marker).await?;
        Ok(StepOutcome::Done)
    }

    async fn add_member(&self, group: &str, member: &str) -> Result<StepOutcome, TenantError> {
        Ok(outcome(self.client.add_member(group, member).await?))
    }

    async fn remove_member(&self, group: &str, member: &str) -> Result<StepOutcome, TenantError> {
        Ok(outcome(self.client.remove_member(group, member).await?))
    }

    async fn replace_members(&self, group: &str, members: &[String]) -> Result<StepOutcome, TenantError> {
        Ok(outcome(self.client.replace_members(group, members).await?))
    }

    async fn create_policy(
        &self,
        app_id: &str,
        group: &str,
        access_right: AccessRight,
        description: &str,
    ) -> Result<StepOutcome, TenantError> {
        let err = match self.client.new_policy(app_id, group, access_right, description).await {
            Ok(_) => return Ok(StepOutcome::Done),
            Err(e) if e.kind == ExoErrorKind::AlreadyExists => e,
            Err(e) => return Err(e.into()),
        };
        let scope = self.client.get_group(group).await?;
        let same = self.client.get_policies().await?.into_iter().find(|p| {
            p.app_id.eq_ignore_ascii_case(app_id)
                && p.access_right == access_right
                && (p.scope_name.eq_ignore_ascii_case(group)
                    || scope
                        .as_ref()
                        .is_some_and(|g| !g.id.is_empty() && g.id.eq_ignore_ascii_case(&p.scope_id)))
        });
        match same {
            Some(p) if p.description.trim() == description.trim() => Ok(StepOutcome::AlreadyDone),
            Some(p) => Err(TenantError::new(
                TenantErrorKind::Conflict,
                format!(
                    "an access policy for this app, scope and right already exists without mailscope's marker ({})",
                    p.identity
                ),
            )),
            None => Err(err.into()),
        }
    }

    async fn set_policy_description(
        &self,
        identity: &str,
        description: &str,
    ) -> Result<StepOutcome, TenantError> {
        self.client.set_policy_description(identity, description).await?;
        Ok(StepOutcome::Done)
    }

    async fn remove_policy(&self, identity: &str) -> Result<StepOutcome, TenantError> {
        Ok(outcome(self.client.remove_policy(identity).await?))
    }

    async fn remove_group(&self, group: &str) -> Result<StepOutcome, TenantError> {
        Ok(outcome(self.client.remove_group(group).await?))
    }

    async fn rbac_step(&self, action: &Action) -> Result<StepOutcome, TenantError> {
        let c = &self.client;
        let done = match action {
            Action::CreateServicePrincipal { app_id, object_id, display_name } => {
                c.new_service_principal(app_id, object_id, display_name).await?
            }
            Action::RemoveServicePrincipal { app_id } => c.remove_service_principal(app_id).await?,
            Action::CreateManagementScope { name, filter, .. } => {
                let opath = self.render_filter(name, filter).await?;
                c.new_management_scope(name, &opath).await?
            }
            Action::SetManagementScope { name, filter, .. } => {
                let opath = self.render_filter(name, filter).await?;
                c.set_management_scope(name, &opath).await?
            }
            Action::RemoveManagementScope { name, .. } => c.remove_management_scope(name).await?,
            Action::CreateRoleAssignment { name, app_id, permission, scope } => {
                c.new_role_assignment(name, app_id, permission, scope).await?
            }
            Action::RemoveRoleAssignment { name, .. } => c.remove_role_assignment(name).await?,
            Action::RemoveEntraGrant { grant_id, resource_id, .. } => {
                c.session().graph().remove_grant(resource_id, grant_id).await?
            }
            other => {
                return Err(TenantError::new(
                    TenantErrorKind::Invalid,
                    format!("not an RBAC step: {other:?}"),
                ));
            }
        };
        Ok(outcome(done))
    }
}

impl ExoTenant {
    /// The scope's `RecipientRestrictionFilter`, with the groups' DNs as
    /// they are now. A group that does not exist (or has no DN) stops the
    /// step: a filter without it would select the wrong recipients.
    async fn render_filter(&self, scope: &str, filter: &ScopeFilter) -> Result<String, TenantError> {
        let dn = |group: Option<String>| async move {
            let Some(group) = group else { return Ok::<_, TenantError>(None) };
            match self.client.get_group(&group).await? {
                Some(g) if g.distinguished_name.is_some() => Ok(g.distinguished_name),
                _ => Err(TenantError::new(
                    TenantErrorKind::NotFound,
                    format!(
                        "scope \"{scope}\" names group \"{group}\", which does not exist or has no DistinguishedName"
                    ),
                )),
            }
        };
        let (allow, deny) = tokio::join!(dn(filter.allow_group.clone()), dn(filter.deny_group.clone()));
        let (allow, deny) = (allow?, deny?);
        filter.to_opath(allow.as_deref(), deny.as_deref()).ok_or_else(|| {
            TenantError::new(
                TenantErrorKind::Invalid,
                format!(
                    "scope \"{scope}\" names no group: mailscope never writes a scope over every recipient"
                ),
            )
        })
    }
}
