//! Well-known Microsoft ids: resource apps, their app roles, and the Entra
//! directory roles that grant Exchange admin rights.
//!
//! The mailbox permissions (values, ids, which a policy fences, RBAC roles)
//! come from the shared `mailscope_permissions` table, so the emulator and
//! the product cannot disagree on them; this module adds only what the sim
//! needs beyond it (the admin and audit roles, directory roles). The seed
//! refers to permissions and roles by name, and these tables make a typo a
//! load error instead of a silently ungranted permission.

use mailscope_permissions::{APP_ROLE_PERMISSIONS, Resource};
pub use mailscope_permissions::{EXCHANGE_APP_ID, GRAPH_APP_ID};
/// The tenant that owns Microsoft's first-party apps (`appOwnerOrganizationId`).
pub(crate) const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// Token audience for `InvokeCommand`.
pub const EXCHANGE_AUDIENCE: &str = "https://outlook.office365.com";
/// Token audience for Graph.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// One application role of a resource as the sim publishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AppRole {
    /// The role's value (`Mail.Send`), as tokens carry it.
    pub value: &'static str,
    /// The role id.
    pub id: &'static str,
    /// Display name / description.
    pub display: &'static str,
}

/// Graph roles the sim needs that do not reach mailboxes (so are not in the
/// shared permission table): the read role of the `servicePrincipals` audit
/// and the role that lets an operator remove an app-role grant.
const GRAPH_EXTRA_ROLES: &[AppRole] = &[
    AppRole {
        value: "Application.Read.All",
        id: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        display: "Read all applications",
    },
    AppRole {
        value: "AppRoleAssignment.ReadWrite.All",
        id: "06b708a9-e830-4db3-a914-8e69da51d44f",
        display: "Manage app permission grants and app role assignments",
    },
];

/// Exchange resource roles that are not mailbox permissions of the shared
/// table: the admin API role and the IMAP/POP/SMTP protocol roles.
const EXCHANGE_EXTRA_ROLES: &[AppRole] = &[
    AppRole {
        value: "Exchange.ManageAsApp",
        id: "dc50a0fb-09a3-484d-be87-e023b12c6440",
        display: "Manage Exchange As Application",
    },
    AppRole {
        value: "IMAP.AccessAsApp",
        id: "5e5addcd-3e8d-4e90-baf5-964efab2b20a",
        display: "IMAP.AccessAsApp",
    },
    AppRole {
        value: "POP.AccessAsApp",
        id: "cb842b43-da6e-4506-86fe-bb12199c656d",
        display: "POP.AccessAsApp",
    },
    AppRole {
        value: "SMTP.SendAsApp",
        id: "7146a1f0-8703-45b3-9eae-527a64c00995",
        display: "SMTP.SendAsApp",
    },
];

/// Display names Entra shows for the mailbox roles (the shared table holds
/// no display text; a role missing here shows its value).
const DISPLAY_NAMES: &[(&str, &str)] = &[
    ("Mail.Send", "Send mail as any user"),
    ("Mail.Read", "Read mail in all mailboxes"),
    ("Mail.ReadBasic", "Read basic mail in all mailboxes"),
    ("Mail.ReadBasic.All", "Read basic mail in all mailboxes"),
    ("Mail.ReadWrite", "Read and write mail in all mailboxes"),
    ("MailboxSettings.Read", "Read all user mailbox settings"),
    ("MailboxSettings.ReadWrite", "Read and write all user mailbox settings"),
    ("Calendars.Read", "Read calendars in all mailboxes"),
    ("Calendars.ReadWrite", "Read and write calendars in all mailboxes"),
    ("Contacts.Read", "Read contacts in all mailboxes"),
    ("Contacts.ReadWrite", "Read and write contacts in all mailboxes"),
    ("full_access_as_app", "Use Exchange Web Services with full access to all mailboxes"),
];

/// The app roles a resource publishes: the mailbox permissions of the shared
/// table that have a public id (`mailscope_permissions`), then the sim's
/// extra roles. Permissions without a known id cannot be granted in the sim.
pub(crate) fn app_roles(resource: Resource) -> Vec<AppRole> {
    let extra = match resource {
        Resource::Graph => GRAPH_EXTRA_ROLES,
        Resource::ExchangeOnline => EXCHANGE_EXTRA_ROLES,
    };
    let mut out: Vec<AppRole> = Vec::new();
    if resource == Resource::ExchangeOnline {
        out.push(EXCHANGE_EXTRA_ROLES[0]);
    }
    for p in APP_ROLE_PERMISSIONS.iter().filter(|p| p.resource == resource) {
        if let Some(id) = p.role_id {
            let display = DISPLAY_NAMES.iter().find(|(v, _)| *v == p.value).map_or(p.value, |(_, d)| *d);
            out.push(AppRole { value: p.value, id, display });
        }
    }
    out.extend(extra.iter().filter(|r| !out.contains(r)).copied().collect::<Vec<_>>());
    out
}

/// Looks up an app role of a resource by value (case-insensitive).
pub(crate) fn find_role(resource: Resource, value: &str) -> Option<AppRole> {
    app_roles(resource).into_iter().find(|r| r.value.eq_ignore_ascii_case(value))
}

/// The "Application X" management role named `name` (full name, prefix
/// included, case-insensitive), as `-Role` takes it.
pub(crate) fn application_role(name: &str) -> Option<&'static mailscope_permissions::RbacRole> {
    let name = name.trim();
    let prefixed = name.get(..12).is_some_and(|p| p.eq_ignore_ascii_case("Application "));
    if prefixed { mailscope_permissions::rbac_role(name) } else { None }
}

/// The Graph role that lets a caller delete app-role assignments.
pub(crate) const APP_ROLE_ASSIGNMENT_WRITE: &str = "AppRoleAssignment.ReadWrite.All";

/// Graph roles that allow the `servicePrincipals` reads (G-ARAT).
pub(crate) const GRAPH_READ_ROLES: &[&str] =
    &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];

/// What an Entra directory role lets an app do in Exchange (docs/exchange.md, "Tokens").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExchangeAccess {
    /// Every cmdlet.
    Full,
    /// `Get-*` and `Test-*` only.
    ReadOnly,
}

/// Directory roles the sim knows: (name, role template id, Exchange access).
pub(crate) const DIRECTORY_ROLES: &[(&str, &str, Option<ExchangeAccess>)] = &[
    ("Global Administrator", "62e90394-69f5-4237-9190-012177145e10", Some(ExchangeAccess::Full)),
    ("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de", Some(ExchangeAccess::Full)),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451", Some(ExchangeAccess::ReadOnly)),
    ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509", Some(ExchangeAccess::ReadOnly)),
    ("Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", None),
];

/// The best Exchange access granted by a set of directory role template ids (`wids`).
pub(crate) fn exchange_access(wids: &[String]) -> Option<ExchangeAccess> {
    let mut best = None;
    for (_, id, access) in DIRECTORY_ROLES {
        if wids.iter().any(|w| w.eq_ignore_ascii_case(id)) {
            match access {
                Some(ExchangeAccess::Full) => return Some(ExchangeAccess::Full),
                Some(ExchangeAccess::ReadOnly) => best = Some(ExchangeAccess::ReadOnly),
                None => {}
            }
        }
    }
    best
}
