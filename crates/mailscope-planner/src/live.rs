//! The live side of a plan: what mailscope read from the tenant.
//!
//! A [`LiveSnapshot`] is plain data. The `mailscope-exo` client builds it from
//! Exchange Online (and, for grants, Microsoft Graph); tests and
//! `mailscope plan --snapshot FILE` read it from JSON. The planner never asks
//! the tenant anything: whatever it needs to decide must be in here.
//!
//! Addresses and GUIDs are kept as the tenant spelled them; every comparison
//! the planner makes lower-cases them first, so a tenant that answers
//! `Billing@Contoso.com` does not look like drift against `billing@contoso.com`.

use serde::{Deserialize, Serialize};

/// The only snapshot format this build reads and writes.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// Prefix of the ownership marker mailscope writes on the objects it manages.
///
/// Groups carry it in `CustomAttribute15` (settable through
/// `Set-DistributionGroup` and filterable server-side, unlike `Notes`);
/// policies carry it as their `Description` (the only mutable policy field).
/// An object without it is never changed or removed.
pub const MARKER_PREFIX: &str = "mailscope/v1";

/// Everything the planner knows about the tenant at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveSnapshot {
    /// Always [`SNAPSHOT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The tenant the snapshot was read from (GUID or initial domain), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Mail-enabled security groups: the managed ones, those named in the
    /// desired file, and those any relevant access policy points at.
    #[serde(default)]
    pub groups: Vec<LiveGroup>,
    /// Every application access policy of the tenant.
    #[serde(default)]
    pub policies: Vec<LivePolicy>,
    /// Recipients known to exist: at least every address the desired file names
    /// and every member of the groups above.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Application permissions granted in Entra ID (from Graph
    /// `appRoleAssignedTo`). Empty when they were not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<PermissionGrant>,
    /// Whether `grants` were read. When they were not (an older snapshot, or
    /// no Graph permission to read them), the planner takes the conservative
    /// reading: every app holds every permission an access policy fences,
    /// tenant-wide, through Entra.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grants_read: bool,
    /// Entra service principals (enterprise applications) of the apps the
    /// plan concerns: RBAC's Exchange pointer needs their object id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_principals: Vec<EntraServicePrincipal>,
    /// Exchange's service-principal pointers (`Get-ServicePrincipal`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchange_service_principals: Vec<LiveServicePrincipal>,
    /// Management scopes (`Get-ManagementScope`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub management_scopes: Vec<LiveManagementScope>,
    /// Role assignments of application roles to service principals
    /// (`Get-ManagementRoleAssignment -RoleAssigneeType ServicePrincipal`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_assignments: Vec<LiveRoleAssignment>,
}

/// An Entra service principal: the tenant's instance of an app
/// registration. Its object id is what `New-ServicePrincipal -ObjectId`
/// takes, and the most common wrong value people put where the client id
/// belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntraServicePrincipal {
    /// The application (client) id.
    pub app_id: String,
    /// The service principal's object id.
    pub object_id: String,
    /// Its display name in Entra.
    #[serde(default)]
    pub display_name: String,
}

/// Exchange's pointer to an Entra service principal (`New-ServicePrincipal`):
/// what RBAC role assignments are made to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveServicePrincipal {
    /// The application (client) id (`AppId`).
    pub app_id: String,
    /// The Entra service principal's object id (`ObjectId`).
    pub object_id: String,
    /// `DisplayName`; carries the ownership marker on pointers mailscope
    /// created.
    #[serde(default)]
    pub display_name: String,
}

/// A management scope (`New-ManagementScope -RecipientRestrictionFilter`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveManagementScope {
    /// `Name` (its identity).
    pub name: String,
    /// `RecipientRestrictionFilter`, as Exchange returns it.
    pub filter: String,
}

/// A role assignment of an "Application X" role to a service principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveRoleAssignment {
    /// `Name` (its identity).
    pub name: String,
    /// The assignee's application (client) id, resolved through the
    /// service-principal pointer.
    pub app_id: String,
    /// The role's full name, e.g. `Application Mail.Send`.
    pub role: String,
    /// `CustomResourceScope`; `None` for an organization-wide assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A mail-enabled security group (`RecipientTypeDetails` =
/// `MailUniversalSecurityGroup`) with its direct members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveGroup {
    /// The group's object id (`ExternalDirectoryObjectId`), which policies
    /// reference through `ScopeIdentityRaw`.
    pub id: String,
    /// The group's `Name`, unique in the tenant; steps address groups by it.
    pub name: String,
    /// The group's primary SMTP address.
    pub primary_smtp_address: String,
    /// Raw `CustomAttribute15`; a value starting with [`MARKER_PREFIX`] makes
    /// the group mailscope's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// `DistinguishedName`: what an RBAC scope's `MemberOfGroup` filter
    /// names. Unknown in older snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinguished_name: Option<String>,
    /// `RecipientTypeDetails` (`MailUniversalSecurityGroup` for a
    /// mail-enabled security group, `MailUniversalDistributionGroup` for a
    /// distribution list, …): access policies accept only the first as a
    /// scope, so `plan` and `audit` report any other. Unknown in older
    /// snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Primary SMTP addresses of the direct members. Nested groups are not
    /// expanded: whether access policies honour nesting is contested, so
    /// mailscope only ever manages direct members.
    #[serde(default)]
    pub members: Vec<String>,
}

/// One application access policy (one `AppId`, one scope, one right).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LivePolicy {
    /// The service-generated `Identity`
    /// (`<tenant>\<appId>:<scope SID>;<scope object id>`).
    pub identity: String,
    /// The application (client) id the policy applies to.
    pub app_id: String,
    /// Object id of the scope recipient (the second half of `ScopeIdentityRaw`).
    pub scope_id: String,
    /// `ScopeName`, for messages.
    pub scope_name: String,
    /// Restrict (allow-list) or Deny (deny-list).
    pub access_right: AccessRight,
    /// `Description`; carries the ownership marker on managed policies.
    #[serde(default)]
    pub description: String,
}

/// The two kinds of application access policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccessRight {
    /// The app may reach only members of the scope (several add up).
    RestrictAccess,
    /// The app may not reach members of the scope (beats Restrict).
    DenyAccess,
}

/// A recipient that exists in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recipient {
    /// Primary SMTP address.
    pub address: String,
    /// `RecipientTypeDetails`, e.g. `UserMailbox`, `SharedMailbox`, `MailUser`.
    pub kind: String,
    /// `ExternalDirectoryObjectId`, when known; a policy whose scope is a single
    /// mailbox references it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Secondary SMTP addresses of this recipient (`EmailAddresses` entries
    /// other than the primary, without their `smtp:` prefix) that the read
    /// resolved to it: the ones the desired file names, not the full list.
    /// Exchange finds a recipient by any of its addresses, so an entry written
    /// with one of these is planned against [`Recipient::address`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_addresses: Vec<String>,
}

/// An application permission granted to an app in Entra ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionGrant {
    /// The client app's application (client) id.
    pub app_id: String,
    /// The resource's application id (Graph is
    /// `00000003-0000-0000-c000-000000000000`, Exchange
    /// `00000002-0000-0ff1-ce00-000000000000`).
    pub resource_app_id: String,
    /// The app role's value, e.g. `Mail.Send` or `full_access_as_app`.
    pub permission: String,
    /// The app role's id on the resource.
    pub app_role_id: String,
    /// The app-role assignment's id: what `DELETE
    /// /servicePrincipals/{resource_id}/appRoleAssignedTo/{id}` takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The resource service principal's object id in this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}
