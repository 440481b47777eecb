//! The in-memory tenant: the directory (recipients), the application access
//! policies, and the Entra applications with their grants and credentials.
//!
//! This is also the persisted shape of a state file (see `store`), so every
//! field is serde-friendly and the derived, per-request data (DNs, output
//! objects) is computed on read instead of stored.

mod directory;
mod shared_vec;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use directory::{Directory, RecipientId, RecipientMut};
pub use shared_vec::SharedVec;

/// Kinds of Exchange recipients the sim knows (`RecipientTypeDetails` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecipientKind {
    /// A licensed user's mailbox.
    UserMailbox,
    /// A shared mailbox (no sign-in; not a security principal of its own).
    SharedMailbox,
    /// A room mailbox.
    RoomMailbox,
    /// An equipment mailbox.
    EquipmentMailbox,
    /// A mail user (external address, Entra account).
    MailUser,
    /// A mail contact.
    MailContact,
    /// A mail-enabled security group (MESG): the only group kind an AAP accepts as scope.
    MailUniversalSecurityGroup,
    /// A plain distribution list.
    MailUniversalDistributionGroup,
}

impl RecipientKind {
    /// Every kind, for enum prefix matching and filters.
    pub const ALL: [RecipientKind; 8] = [
        RecipientKind::UserMailbox,
        RecipientKind::SharedMailbox,
        RecipientKind::RoomMailbox,
        RecipientKind::EquipmentMailbox,
        RecipientKind::MailUser,
        RecipientKind::MailContact,
        RecipientKind::MailUniversalSecurityGroup,
        RecipientKind::MailUniversalDistributionGroup,
    ];

    /// The `RecipientTypeDetails` string.
    pub fn details(self) -> &'static str {
        match self {
            RecipientKind::UserMailbox => "UserMailbox",
            RecipientKind::SharedMailbox => "SharedMailbox",
            RecipientKind::RoomMailbox => "RoomMailbox",
            RecipientKind::EquipmentMailbox => "EquipmentMailbox",
            RecipientKind::MailUser => "MailUser",
            RecipientKind::MailContact => "MailContact",
            RecipientKind::MailUniversalSecurityGroup => "MailUniversalSecurityGroup",
            RecipientKind::MailUniversalDistributionGroup => "MailUniversalDistributionGroup",
        }
    }

    /// The coarser `RecipientType` string: every mailbox flavour is `UserMailbox`.
    pub fn recipient_type(self) -> &'static str {
        if self.is_mailbox() { "UserMailbox" } else { self.details() }
    }

    /// Mailboxes: what Graph `sendMail` and AAP decisions are about.
    pub fn is_mailbox(self) -> bool {
        matches!(
            self,
            RecipientKind::UserMailbox
                | RecipientKind::SharedMailbox
                | RecipientKind::RoomMailbox
                | RecipientKind::EquipmentMailbox
        )
    }

    /// Groups hold members.
    pub fn is_group(self) -> bool {
        matches!(
            self,
            RecipientKind::MailUniversalSecurityGroup | RecipientKind::MailUniversalDistributionGroup
        )
    }

    /// `IsValidSecurityPrincipal`, and therefore "may be an AAP scope"
    /// (docs/exchange.md, "Access decision": `UserMailbox`, `MailUser`, MESG only).
    pub fn is_security_principal(self) -> bool {
        matches!(
            self,
            RecipientKind::UserMailbox | RecipientKind::MailUser | RecipientKind::MailUniversalSecurityGroup
        )
    }
}

/// One Exchange recipient (mailbox, mail user, contact or group).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// `RecipientTypeDetails`.
    pub kind: RecipientKind,
    /// `Name` (also the `Identity` Exchange Online displays).
    pub name: String,
    /// `Alias` (mail nickname).
    pub alias: String,
    /// `DisplayName`.
    pub display_name: String,
    /// `PrimarySmtpAddress`.
    pub primary_smtp_address: String,
    /// `EmailAddresses` with their `SMTP:`/`smtp:` prefixes (upper case = primary).
    pub email_addresses: Vec<String>,
    /// `ExternalDirectoryObjectId`: the Entra object id (what AAP identities embed).
    pub external_directory_object_id: String,
    /// `Guid` / `ExchangeObjectId`: the Exchange-side object id.
    pub guid: String,
    /// The object's SID (AAP `ScopeIdentityRaw` and `MailboxSid`).
    pub sid: String,
    /// `CustomAttribute1`..`CustomAttribute15` (index 0 = attribute 1; empty = unset).
    pub custom_attributes: Vec<String>,
    /// Members (their `ExternalDirectoryObjectId`s), groups only.
    #[serde(default)]
    pub members: Vec<String>,
    /// `ManagedBy` (owner names), groups only.
    #[serde(default)]
    pub managed_by: Vec<String>,
    /// `MemberJoinRestriction`, groups only.
    #[serde(default)]
    pub member_join_restriction: String,
    /// `MemberDepartRestriction`, groups only.
    #[serde(default)]
    pub member_depart_restriction: String,
    /// `RequireSenderAuthenticationEnabled`.
    #[serde(default)]
    pub require_sender_authentication_enabled: bool,
    /// `HiddenFromAddressListsEnabled`.
    #[serde(default)]
    pub hidden_from_address_lists_enabled: bool,
    /// `Department` (empty = unset); only management-scope filters read it.
    #[serde(default)]
    pub department: String,
    /// Creation time, Unix seconds.
    pub when_created: u64,
    /// Last change time, Unix seconds.
    pub when_changed: u64,
}

impl Recipient {
    /// Does this recipient own the SMTP address (primary or proxy), case-insensitively?
    pub fn has_smtp(&self, address: &str) -> bool {
        self.primary_smtp_address.eq_ignore_ascii_case(address)
            || self.email_addresses.iter().any(|p| {
                p.split_once(':').is_some_and(|(scheme, a)| {
                    scheme.eq_ignore_ascii_case("smtp") && a.eq_ignore_ascii_case(address)
                })
            })
    }

    /// Every value an identity lookup compares with (`exo::lookup`): name,
    /// alias, display name, SMTP addresses, object id and GUID. (The DN is
    /// derived from the name.)
    pub(crate) fn lookup_keys(&self) -> impl Iterator<Item = &str> {
        let smtp = self.email_addresses.iter().filter_map(|a| {
            a.split_once(':').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("smtp")).map(|(_, a)| a)
        });
        [&self.name, &self.alias, &self.display_name, &self.primary_smtp_address]
            .into_iter()
            .map(String::as_str)
            .chain(smtp)
            .chain([self.external_directory_object_id.as_str(), self.guid.as_str()])
    }

    /// `CustomAttributeN` (1-based), empty when unset.
    pub fn custom_attribute(&self, n: usize) -> &str {
        self.custom_attributes.get(n.wrapping_sub(1)).map_or("", String::as_str)
    }
}

/// `AccessRight` of an application access policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessRight {
    /// Allow-list: the app may reach only the scope's mailboxes.
    RestrictAccess,
    /// Deny-list: the app may not reach the scope's mailboxes.
    DenyAccess,
}

impl AccessRight {
    /// The enum name as Exchange prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRight::RestrictAccess => "RestrictAccess",
            AccessRight::DenyAccess => "DenyAccess",
        }
    }
}

/// One application access policy (one `AppId`; docs/exchange.md, "Access decision").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The app's client id as given (Exchange keeps the caller's spelling).
    pub app_id: String,
    /// The scope recipient's `ExternalDirectoryObjectId`.
    pub scope_object_id: String,
    /// The scope recipient's SID.
    pub scope_sid: String,
    /// The scope recipient's `Name` at creation time (kept if the scope is deleted).
    pub scope_name: String,
    /// `AccessRight`.
    pub access_right: AccessRight,
    /// `Description`.
    pub description: String,
}

impl Policy {
    /// `{tenantGuid}\{appId}:{scopeSid};{scopeObjectId}` (docs/exchange.md, "Admin API wire format").
    pub fn identity(&self, tenant_id: &str) -> String {
        format!("{tenant_id}\\{}:{};{}", self.app_id, self.scope_sid, self.scope_object_id)
    }

    /// Bytes this policy costs against the tenant's AAP space budget.
    ///
    /// The real limit is "a fixed amount of space" (docs/exchange.md, "Access decision"): about
    /// 300 policies with a one-space description, about 100 with long ones. A
    /// fixed overhead of 100 bytes plus the description's UTF-8 length against a
    /// budget of 30 300 bytes gives exactly 300 with `" "` and 97 with the
    /// generated default description (about 212 bytes).
    pub fn space_cost(&self) -> usize {
        POLICY_OVERHEAD_BYTES + self.description.len()
    }
}

/// Fixed per-policy cost; see [`Policy::space_cost`].
pub(crate) const POLICY_OVERHEAD_BYTES: usize = 100;
/// Tenant-wide AAP space; see [`Policy::space_cost`].
pub(crate) const POLICY_SPACE_BUDGET: usize = 30_300;

/// A certificate credential registered on an app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateCredential {
    /// The certificate, PEM (inlined at seed load so state files are self-contained).
    pub pem: String,
}

/// A federated identity credential registered on an app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedCredential {
    /// Expected `iss` of the external token.
    pub issuer: String,
    /// Expected `sub`.
    pub subject: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// The issuer's RSA public key, PEM (the sim cannot fetch JWKS).
    pub public_key_pem: String,
}

/// Which kind of managed identity a service principal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ManagedIdentityKind {
    /// The emulated host's own identity: what IMDS and the App Service
    /// endpoint hand out when no `client_id` is asked for. At most one.
    SystemAssigned,
    /// A user-assigned identity attached to the host, asked for by its
    /// client id.
    UserAssigned,
}

/// An Entra application (its registration and its service principal in one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// Application (client) id.
    pub app_id: String,
    /// Display name.
    pub display_name: String,
    /// The service principal's object id.
    pub service_principal_id: String,
    /// Granted Microsoft Graph application permissions (role values, e.g. `Mail.Send`).
    pub graph_permissions: Vec<String>,
    /// Granted Office 365 Exchange Online application permissions (e.g. `Exchange.ManageAsApp`).
    pub exchange_permissions: Vec<String>,
    /// Entra directory roles held by the service principal (e.g. `Exchange Administrator`).
    pub directory_roles: Vec<String>,
    /// Client secrets (values).
    pub client_secrets: Vec<String>,
    /// Certificate credentials.
    pub certificates: Vec<CertificateCredential>,
    /// Federated identity credentials.
    pub federated_credentials: Vec<FederatedCredential>,
    /// Set when this service principal is a managed identity of the emulated
    /// host: its tokens come from the managed identity endpoints, not from
    /// a secret or a certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity: Option<ManagedIdentityKind>,
    /// Grant creation time (Unix seconds) for `appRoleAssignedTo.createdDateTime`.
    pub created: u64,
}

/// Exchange's pointer to an Entra service principal (`New-ServicePrincipal`):
/// what RBAC for Applications assigns roles to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipalPointer {
    /// The app's client id.
    pub app_id: String,
    /// The Entra service principal's object id (`ObjectId`, also `ServiceId`).
    pub object_id: String,
    /// `DisplayName`.
    pub display_name: String,
    /// The Exchange object's own GUID.
    pub guid: String,
    /// Creation time, Unix seconds.
    pub when_created: u64,
}

impl ServicePrincipalPointer {
    /// `Name` and `Identity`: Exchange names the object after the service
    /// principal's object id.
    pub fn name(&self) -> &str {
        &self.object_id
    }
}

/// A management scope (`New-ManagementScope -RecipientRestrictionFilter`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementScope {
    /// `Name` (also its `Identity`).
    pub name: String,
    /// The OPATH recipient filter, as written.
    pub recipient_restriction_filter: String,
    /// The object's GUID.
    pub guid: String,
    /// Creation time, Unix seconds.
    pub when_created: u64,
    /// Last change time, Unix seconds.
    pub when_changed: u64,
}

/// A management role assignment of an "Application X" role to a service principal pointer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// `Name` (also its `Identity`).
    pub name: String,
    /// The role's full name (`Application Mail.Send`).
    pub role: String,
    /// The assignee pointer's `ObjectId`.
    pub app_object_id: String,
    /// The `CustomResourceScope`'s name; `None` = the whole organization.
    pub custom_resource_scope: Option<String>,
    /// The object's GUID.
    pub guid: String,
    /// Creation time, Unix seconds.
    pub when_created: u64,
}

/// The whole tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Tenant GUID (lower case).
    pub id: String,
    /// Organization display name.
    pub display_name: String,
    /// The `*.onmicrosoft.com` domain; default domain for new groups.
    pub initial_domain: String,
    /// Every accepted domain, the initial one included.
    pub domains: Vec<String>,
    /// The domain controller FQDN quoted in not-found errors.
    pub dc_fqdn: String,
    /// The SID prefix for new objects (`S-1-5-21-a-b-c`).
    pub sid_prefix: String,
    /// Next relative id for new SIDs.
    pub next_rid: u64,
    /// All recipients, in creation order, with their lookup index. Shared
    /// structurally between states, so a write's working copy of the tenant
    /// copies a few pointers, not 100,000 recipients (see `directory`). The
    /// state file holds the plain list.
    pub recipients: Directory,
    /// All application access policies, in creation order. Each sits behind
    /// an [`Arc`] (a cmdlet copies only the one it changes) and the list is
    /// shared between states until a write changes it.
    pub policies: SharedVec<Arc<Policy>>,
    /// All applications (shared like `policies`).
    pub apps: SharedVec<Arc<App>>,
    /// Exchange service principal pointers (RBAC for Applications).
    #[serde(default)]
    pub service_principals: Vec<ServicePrincipalPointer>,
    /// Management scopes.
    #[serde(default)]
    pub management_scopes: Vec<ManagementScope>,
    /// Role assignments of application roles, in creation order.
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignment>,
    /// `client_id` of the operator app (the one `operator_credentials` hands out).
    pub operator_app_id: Option<String>,
    /// The `X-IDENTITY-HEADER` value the App Service-style managed identity
    /// endpoint requires (the emulated host's `IDENTITY_HEADER`); without
    /// one that endpoint refuses every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_header: Option<String>,
}

impl Tenant {
    /// Is `name` this tenant (GUID or any accepted domain, case-insensitive)?
    pub fn matches_name(&self, name: &str) -> bool {
        self.id.eq_ignore_ascii_case(name) || self.domains.iter().any(|d| d.eq_ignore_ascii_case(name))
    }

    /// The recipient with this `ExternalDirectoryObjectId`.
    pub fn recipient_by_object_id(&self, id: &str) -> Option<&Recipient> {
        self.recipients
            .candidates(id)
            .into_iter()
            .map(|i| &self.recipients[i])
            .find(|r| r.external_directory_object_id.eq_ignore_ascii_case(id))
    }

    /// The app with this client id.
    pub fn app(&self, app_id: &str) -> Option<&App> {
        self.apps.iter().map(AsRef::as_ref).find(|a| a.app_id.eq_ignore_ascii_case(app_id))
    }

    /// `DistinguishedName` of a recipient: derived from its Name, so it is
    /// stable for a given name (what a `MemberOfGroup` filter quotes).
    pub fn distinguished_name(&self, r: &Recipient) -> String {
        self.object_dn(&r.name)
    }

    /// The DN of an object named `name` in the tenant's organizational unit.
    pub fn object_dn(&self, name: &str) -> String {
        format!(
            "CN={name},OU={},OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
            self.initial_domain
        )
    }

    /// The service principal pointer `key` names: `AppId`, `ObjectId`,
    /// `Name`, `DisplayName` or its GUID, case-insensitive.
    pub fn service_principal(&self, key: &str) -> Option<&ServicePrincipalPointer> {
        let key = key.trim();
        self.service_principals.iter().find(|s| {
            s.app_id.eq_ignore_ascii_case(key)
                || s.object_id.eq_ignore_ascii_case(key)
                || s.display_name.eq_ignore_ascii_case(key)
                || s.guid.eq_ignore_ascii_case(key)
        })
    }

    /// The name Exchange gives an assignment made without `-Name`:
    /// `<role>-<assignee>`, cut to 64 characters, numbered when taken.
    pub fn default_assignment_name(&self, role: &str, sp: &ServicePrincipalPointer) -> String {
        let base: String = format!("{role}-{}", sp.name()).chars().take(64).collect();
        let taken = |n: &str| self.role_assignments.iter().any(|a| a.name.eq_ignore_ascii_case(n));
        let mut name = base.clone();
        let mut i = 1;
        while taken(&name) {
            i += 1;
            name = format!("{base}{i}");
        }
        name
    }

    /// The management scope named `key` (Name or GUID).
    pub fn management_scope(&self, key: &str) -> Option<&ManagementScope> {
        let key = key.trim();
        self.management_scopes
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(key) || s.guid.eq_ignore_ascii_case(key))
    }

    /// A fresh SID for a new object.
    pub fn next_sid(&mut self) -> String {
        let sid = format!("{}-{}", self.sid_prefix, self.next_rid);
        self.next_rid += 1;
        sid
    }

    /// Bytes used of the AAP space budget.
    pub fn policy_space_used(&self) -> usize {
        self.policies.iter().map(|p| p.space_cost()).sum()
    }
}
