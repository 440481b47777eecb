//! The validated desired state: what the rest of mailscope consumes.

use std::fmt;

/// The only `apiVersion` this build reads.
pub const API_VERSION: &str = "mailscope/v1";

/// The group name prefix when the file sets no `groupPrefix`.
pub const DEFAULT_GROUP_PREFIX: &str = "mailscope";

/// The marker's `CustomAttributeN` when the file sets no `markerAttribute`:
/// the last one, which tenants use least.
pub const DEFAULT_MARKER_ATTRIBUTE: u8 = 15;

/// A 1-based line and column in the desired-state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// 1-based line; 0 when unknown.
    pub line: u64,
    /// 1-based column; 0 when unknown.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value together with where the file wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<T> {
    /// Where the value was referenced (for an alias, where `*name` stands).
    pub at: Position,
    /// The value.
    pub address: T,
}

/// How an app's access is enforced in Exchange Online.
///
/// Microsoft calls application access policies legacy and RBAC for
/// Applications their replacement (`docs/rbac.md`). Files written before RBAC
/// existed keep meaning what they meant: the default stays
/// `ApplicationAccessPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    /// A mail-enabled security group per list plus `New-ApplicationAccessPolicy`.
    #[default]
    ApplicationAccessPolicy,
    /// RBAC for Applications: `New-ServicePrincipal`, a management scope over
    /// the managed groups, and `New-ManagementRoleAssignment` per permission.
    Rbac,
}

impl Mechanism {
    /// The word used in the file (`applicationAccessPolicy` / `rbac`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::ApplicationAccessPolicy => "applicationAccessPolicy",
            Mechanism::Rbac => "rbac",
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What mailscope may do with an app's tenant-wide Entra app-role grants of
/// mailbox permissions.
///
/// RBAC grants add to Entra grants, and access policies narrow only Entra
/// grants: an RBAC app that keeps a tenant-wide Entra grant reaches every
/// mailbox whatever its RBAC scope (the additive trap, `docs/rbac.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum EntraGrants {
    /// Never touch them; report a grant that defeats the app's RBAC scope.
    #[default]
    Keep,
    /// Delete the app's grants of mailbox permissions once its RBAC
    /// assignments exist. mailscope never adds Entra grants.
    Remove,
}

impl EntraGrants {
    /// The word used in the file (`keep` / `remove`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntraGrants::Keep => "keep",
            EntraGrants::Remove => "remove",
        }
    }
}

/// Which of an app's two lists something belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListKind {
    /// `allow`: a `RestrictAccess` policy; the app reaches only these.
    Allow,
    /// `deny`: a `DenyAccess` policy; the app never reaches these.
    Deny,
}

impl ListKind {
    /// The word used in the file and in markers (`allow` / `deny`).
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Allow => "allow",
            ListKind::Deny => "deny",
        }
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole desired-state file, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredState {
    /// The name the file was given in messages.
    pub origin: String,
    /// The tenant (GUID or initial domain) the file is for, when it says.
    pub tenant: Option<String>,
    /// The file's default enforcement mechanism (each app's own is
    /// [`AppSpec::mechanism`]).
    pub mechanism: Mechanism,
    /// The file's default for Entra grants (each app's own is
    /// [`AppSpec::entra_grants`]).
    pub entra_grants: EntraGrants,
    /// What to do about apps that reach mailboxes but are not listed.
    pub unlisted_apps: UnlistedApps,
    /// `groupPrefix`: the first part of the names of the groups mailscope
    /// creates ([`DEFAULT_GROUP_PREFIX`] unless the file says).
    pub group_prefix: String,
    /// `markerAttribute`: the number N of the group attribute
    /// `CustomAttributeN` that holds the ownership marker, 1 to 15
    /// ([`DEFAULT_MARKER_ATTRIBUTE`] unless the file says).
    pub marker_attribute: u8,
    /// The apps, in file order.
    pub apps: Vec<AppSpec>,
}

/// `unlistedApps`: what to do about apps that can reach mailboxes but are
/// not in the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnlistedApps {
    /// The mode.
    pub mode: UnlistedMode,
    /// Apps left alone whatever the mode, each with its reason.
    pub exclude: Vec<Exclusion>,
}

impl UnlistedApps {
    /// The exclusion of an app (client id, any case), if it has one.
    pub fn exclusion(&self, app_id: &str) -> Option<&Exclusion> {
        self.exclude.iter().find(|e| e.app_id.eq_ignore_ascii_case(app_id))
    }
}

/// The modes of `unlistedApps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum UnlistedMode {
    /// Say nothing about unlisted apps.
    Ignore,
    /// Name every unlisted app that can reach mailboxes.
    #[default]
    Warn,
    /// Fence every unlisted app that can reach mailboxes (only narrowing
    /// steps).
    LockDown,
}

impl UnlistedMode {
    /// The word used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            UnlistedMode::Ignore => "ignore",
            UnlistedMode::Warn => "warn",
            UnlistedMode::LockDown => "lock-down",
        }
    }
}

/// An app `unlistedApps` leaves alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// The client id, lower-case.
    pub app_id: String,
    /// Why, in the file's words.
    pub reason: String,
}

/// One application and the mailboxes it may or may not reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    /// Unique, lowercase name; managed group names derive from it.
    pub name: String,
    /// The application (client) id, lower-case.
    pub app_id: String,
    /// Free text for humans.
    pub description: Option<String>,
    /// How this app's access is enforced (the app's own or the file's).
    pub mechanism: Mechanism,
    /// For [`Mechanism::Rbac`]: the permissions to assign, by their
    /// canonical names (`Mail.Send`; the role is `Application Mail.Send`), in
    /// file order. Empty for an application-access-policy app.
    pub permissions: Vec<Entry<String>>,
    /// What mailscope may do with the app's Entra grants (the app's own or
    /// the file's).
    pub entra_grants: EntraGrants,
    /// An existing group to adopt for the allow list instead of the derived
    /// `mailscope-<name>-allow`.
    pub group: Option<String>,
    /// An existing group to adopt for the deny list instead of the derived
    /// `mailscope-<name>-deny`.
    pub deny_group: Option<String>,
    /// `allow`: `Some(empty)` means no mailbox at all; `None` means no
    /// allow-list (every mailbox not denied).
    pub allow: Option<Vec<Entry<String>>>,
    /// `deny`: mailboxes the app may never reach (beats `allow`).
    pub deny: Option<Vec<Entry<String>>>,
    /// Where the app's entry starts (its `name`).
    pub at: Position,
}

impl AppSpec {
    /// The group the file names for a list (`group` / `denyGroup`), if any.
    pub fn adopted_group(&self, kind: ListKind) -> Option<&str> {
        match kind {
            ListKind::Allow => self.group.as_deref(),
            ListKind::Deny => self.deny_group.as_deref(),
        }
    }

    /// The list of the given kind, if the app has one.
    pub fn list(&self, kind: ListKind) -> Option<&[Entry<String>]> {
        match kind {
            ListKind::Allow => self.allow.as_deref(),
            ListKind::Deny => self.deny.as_deref(),
        }
    }
}
