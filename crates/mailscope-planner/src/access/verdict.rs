//! The explanation a [`Verdict`] carries: one path per authority, each
//! saying which object decided. Serialisable so that `audit`/`explain` can
//! print it as JSON as well as text.

use serde::Serialize;

/// Whether one app may use one permission on one mailbox, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The combined answer: the Entra path allows, or an RBAC path matches.
    pub allowed: bool,
    /// The Entra grant and the access policies that fence it.
    pub entra: EntraPath,
    /// Every role assignment of the app whose role grants the permission.
    pub rbac: Vec<RbacPath>,
}

/// The Entra half of the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntraPath {
    /// The grant the app holds, if any.
    pub grant: EntraGrant,
    /// Whether application access policies fence this permission (on every
    /// resource the app holds it on; a grant on a resource the policies do
    /// not fence reaches every mailbox).
    pub fenced: bool,
    /// The policies' verdict; present when a grant exists and is fenced.
    pub policy: Option<PolicyVerdict>,
    /// Whether this path alone reaches the mailbox.
    pub allowed: bool,
}

/// An Entra app-role grant of the permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum EntraGrant {
    /// The app holds no grant of the permission.
    None,
    /// The app holds it on these resources (display names, e.g.
    /// `Microsoft Graph`).
    Granted {
        /// Resource display names.
        resources: Vec<String>,
    },
    /// The snapshot did not read the grants: the app is taken to hold every
    /// policy-fenced permission tenant-wide.
    Assumed,
}

/// What the application access policies say for (app, mailbox).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyVerdict {
    /// Whether the policies let the Entra grant through.
    pub allowed: bool,
    /// Which policy decided.
    pub reason: PolicyReason,
}

/// Which policy decided, by the rule "Deny beats Restrict; Restrict scopes
/// add up; no Restrict means every mailbox not denied".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum PolicyReason {
    /// The app has no policy: the grant reaches every mailbox.
    NoPolicy,
    /// A `DenyAccess` policy's scope holds the mailbox.
    Denied {
        /// The scope of that policy.
        scope: PolicyScope,
    },
    /// A `RestrictAccess` policy's scope holds the mailbox (the first one).
    InRestrictScope {
        /// The scope of that policy.
        scope: PolicyScope,
    },
    /// The app has `RestrictAccess` policies and none holds the mailbox.
    OutsideRestrictScopes {
        /// Their scopes.
        scopes: Vec<PolicyScope>,
    },
    /// The app has only `DenyAccess` policies and none holds the mailbox.
    NotDenied {
        /// Their scopes.
        deny_scopes: Vec<PolicyScope>,
    },
}

/// The scope of an access policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "name")]
pub enum PolicyScope {
    /// A mail-enabled security group (direct members), by name.
    Group(String),
    /// A single mailbox, by address.
    Mailbox(String),
    /// A scope object the snapshot does not know (a deleted group): holds
    /// no mailbox, by object id.
    Unresolved(String),
}

/// One role assignment whose role grants the permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RbacPath {
    /// The assignment's `Name`.
    pub assignment: String,
    /// Its role (`Application Mail.Send`).
    pub role: String,
    /// How its scope meets the mailbox.
    pub scope: RbacScope,
    /// Whether the scope matches the mailbox.
    pub matches: bool,
}

/// How a role assignment's scope meets a mailbox. Membership is always
/// direct: `MemberOfGroup` does not expand nested groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RbacScope {
    /// No scope: the whole organization.
    Organization,
    /// The mailbox is a direct member of the scope's allow group (and not
    /// of its deny group).
    Member {
        /// The management scope's name.
        scope: String,
        /// The group.
        group: String,
    },
    /// The mailbox is not a direct member of the scope's allow group.
    NotMember {
        /// The management scope's name.
        scope: String,
        /// The group.
        group: String,
    },
    /// The mailbox is a direct member of the scope's deny group.
    Excluded {
        /// The management scope's name.
        scope: String,
        /// The group.
        group: String,
    },
    /// The scope selects every recipient outside its deny group, and the
    /// mailbox is outside it.
    AllRecipients {
        /// The management scope's name.
        scope: String,
        /// The deny group, if any.
        except: Option<String>,
    },
    /// The filter names a group by a distinguished name the snapshot does
    /// not know: read as matching every mailbox.
    UnknownGroup {
        /// The management scope's name.
        scope: String,
        /// The distinguished name.
        dn: String,
    },
    /// A filter mailscope cannot read: read as matching every mailbox.
    Opaque {
        /// The management scope's name.
        scope: String,
        /// The filter as Exchange returned it.
        filter: String,
    },
    /// The assignment names a scope the snapshot does not hold: read as
    /// matching every mailbox.
    Missing {
        /// The scope's name (lower-cased).
        scope: String,
    },
}

impl RbacScope {
    /// Whether the scope reaches the mailbox (the conservative readings
    /// count as reaching it).
    pub fn matches(&self) -> bool {
        !matches!(self, RbacScope::NotMember { .. } | RbacScope::Excluded { .. })
    }

    /// Whether the answer is a conservative reading rather than a fact.
    pub fn is_assumed(&self) -> bool {
        matches!(self, RbacScope::UnknownGroup { .. } | RbacScope::Opaque { .. } | RbacScope::Missing { .. })
    }
}

/// Which mailboxes an app reaches with one permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reach {
    /// Recipients of the snapshot it reaches, as spelled there.
    pub mailboxes: Vec<String>,
    /// Whether it also reaches every mailbox the snapshot does not name
    /// (no scope or group selects them, so they are all decided alike).
    pub every_other_mailbox: bool,
}
