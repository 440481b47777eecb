//! Well-known Microsoft ids: resource apps, their app roles, and the Entra
//! directory roles that grant Exchange admin rights.
//!
//! Ids come from docs/exchange.md ("Graph", "Tokens"); the seed refers to
//! permissions and roles by name, and these tables make a typo a load error
//! instead of a silently ungranted permission.

/// Microsoft Graph resource app id.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online resource app id.
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// The tenant that owns Microsoft's first-party apps (`appOwnerOrganizationId`).
pub(crate) const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// Token audience for `InvokeCommand`.
pub const EXCHANGE_AUDIENCE: &str = "https://outlook.office365.com";
/// Token audience for Graph.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// Microsoft Graph application roles the sim knows: (value, id, display name).
pub(crate) const GRAPH_APP_ROLES: &[(&str, &str, &str)] = &[
    ("Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96", "Send mail as any user"),
    ("Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Read mail in all mailboxes"),
    ("Mail.ReadBasic", "6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a", "Read basic mail in all mailboxes"),
    ("Mail.ReadBasic.All", "693c5e45-0940-467d-9b8a-1022fb9d42ef", "Read basic mail in all mailboxes"),
    ("Mail.ReadWrite", "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Read and write mail in all mailboxes"),
    ("MailboxSettings.Read", "40f97065-369a-49f4-947c-6a255697ae91", "Read all user mailbox settings"),
    (
        "MailboxSettings.ReadWrite",
        "6931bccd-447a-43d1-b442-00a195474933",
        "Read and write all user mailbox settings",
    ),
    ("Calendars.Read", "798ee544-9d2d-430c-a058-570e29e34338", "Read calendars in all mailboxes"),
    (
        "Calendars.ReadWrite",
        "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
        "Read and write calendars in all mailboxes",
    ),
    ("Contacts.Read", "089fe4d0-434a-44c5-8827-41ba8a0b17f5", "Read contacts in all mailboxes"),
    (
        "Contacts.ReadWrite",
        "6918b873-d17a-4dc1-b314-35f528134491",
        "Read and write contacts in all mailboxes",
    ),
    ("Application.Read.All", "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Read all applications"),
];

/// Office 365 Exchange Online application roles: (value, id, display name).
pub(crate) const EXCHANGE_APP_ROLES: &[(&str, &str, &str)] = &[
    ("Exchange.ManageAsApp", "dc50a0fb-09a3-484d-be87-e023b12c6440", "Manage Exchange As Application"),
    (
        "full_access_as_app",
        "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
        "Use Exchange Web Services with full access to all mailboxes",
    ),
    ("IMAP.AccessAsApp", "5e5addcd-3e8d-4e90-baf5-964efab2b20a", "IMAP.AccessAsApp"),
    ("POP.AccessAsApp", "cb842b43-da6e-4506-86fe-bb12199c656d", "POP.AccessAsApp"),
    ("SMTP.SendAsApp", "7146a1f0-8703-45b3-9eae-527a64c00995", "SMTP.SendAsApp"),
];

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

/// Looks up an app role of a resource by value (case-insensitive).
pub(crate) fn find_role<'a>(
    table: &'a [(&'a str, &'a str, &'a str)],
    value: &str,
) -> Option<&'a (&'a str, &'a str, &'a str)> {
    table.iter().find(|(v, _, _)| v.eq_ignore_ascii_case(value))
}

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
