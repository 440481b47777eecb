//! The validated desired state: what the rest of mailscope consumes.

use std::fmt;

/// The only `apiVersion` this build reads.
pub const API_VERSION: &str = "mailscope/v1";

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
/// Only application access policies exist today; RBAC for Applications is the
/// planned second mechanism. Keeping the choice explicit in the model means
/// the planner dispatches on it instead of assuming one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mechanism {
    /// A mail-enabled security group per list plus `New-ApplicationAccessPolicy`.
    #[default]
    ApplicationAccessPolicy,
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
    /// The enforcement mechanism.
    pub mechanism: Mechanism,
    /// The apps, in file order.
    pub apps: Vec<AppSpec>,
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
