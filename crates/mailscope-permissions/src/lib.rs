//! The one table of permissions that let an application reach mailboxes.
//!
//! Three authorities decide whether an app may touch a mailbox in Exchange
//! Online (`docs/exchange.md`, "Access decision"):
//!
//! - **Entra app-role grants** on two resources, Microsoft Graph and the
//!   Office 365 Exchange Online resource (which still carries the legacy
//!   Outlook REST roles and EWS `full_access_as_app`). A grant is tenant-wide.
//! - **Application access policies** narrow *only* Entra grants, and only for
//!   the permissions on Microsoft's fixed list (`fenced_by_policy`).
//! - **RBAC for Applications** role assignments ("Application Mail.Send", …)
//!   *add* scoped access to whatever Entra grants.
//!
//! The desired-state parser, the planner, the audit, the client and the
//! emulator all ask this table, so that "which permission reaches mailboxes
//! and what can fence it" has one answer. It is plain data with no
//! dependency; the emulator may use it without depending on the product.

/// Microsoft Graph's resource application id.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The Office 365 Exchange Online resource application id.
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";

/// The resource application an Entra app role belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Microsoft Graph (`00000003-0000-0000-c000-000000000000`).
    Graph,
    /// Office 365 Exchange Online (`00000002-0000-0ff1-ce00-000000000000`).
    ExchangeOnline,
}

impl Resource {
    /// The resource's application id.
    pub fn app_id(self) -> &'static str {
        match self {
            Resource::Graph => GRAPH_APP_ID,
            Resource::ExchangeOnline => EXCHANGE_APP_ID,
        }
    }

    /// The resource for an application id, if it is one of the two.
    pub fn from_app_id(app_id: &str) -> Option<Resource> {
        [Resource::Graph, Resource::ExchangeOnline]
            .into_iter()
            .find(|r| r.app_id().eq_ignore_ascii_case(app_id))
    }

    /// The resource's display name in Entra.
    pub fn display_name(self) -> &'static str {
        match self {
            Resource::Graph => "Microsoft Graph",
            Resource::ExchangeOnline => "Office 365 Exchange Online",
        }
    }
}

/// An Entra application permission (app role) that reaches mailbox data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppRolePermission {
    /// The app role's value, as Entra and the token's `roles` claim spell it.
    pub value: &'static str,
    /// The resource it is defined on.
    pub resource: Resource,
    /// Its app-role id where public sources pin it. Ids are resolved at run
    /// time from the resource's `appRoles` when possible; these serve the
    /// emulator and the tests.
    pub role_id: Option<&'static str>,
    /// Whether an application access policy fences it. Microsoft's list is
    /// fixed: the `Mail`, `MailboxSettings`, `Calendars` and `Contacts` permissions,
    /// EWS `full_access_as_app` and the legacy Outlook REST roles; newer
    /// permissions (`MailboxItem.*`, `MailboxFolder.*`, …) exist for RBAC only.
    pub fenced_by_policy: bool,
    /// Whether the permission reaches mailboxes over a protocol that is
    /// being retired (EWS in Exchange Online).
    pub ews: bool,
}

const fn graph(
    value: &'static str,
    role_id: Option<&'static str>,
    fenced_by_policy: bool,
) -> AppRolePermission {
    AppRolePermission { value, resource: Resource::Graph, role_id, fenced_by_policy, ews: false }
}

const fn exchange(value: &'static str, role_id: &'static str) -> AppRolePermission {
    AppRolePermission {
        value,
        resource: Resource::ExchangeOnline,
        role_id: Some(role_id),
        fenced_by_policy: true,
        ews: false,
    }
}

/// Every Entra application permission known to reach mailbox content, on
/// both resources. Sources: Microsoft Learn, "Limiting application
/// permissions to specific Exchange Online mailboxes" (the fenced list) and
/// "Role Based Access Control for Applications in Exchange Online" (the RBAC
/// roles); the Exchange resource's roles as its service principal publishes
/// them. `docs/exchange.md` ("Access decision") carries the details.
pub const APP_ROLE_PERMISSIONS: &[AppRolePermission] = &[
    graph("Mail.Read", Some("810c84a8-4a9e-49e6-bf7d-12d183f40d01"), true),
    graph("Mail.ReadBasic", Some("6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a"), true),
    graph("Mail.ReadBasic.All", Some("693c5e45-0940-467d-9b8a-1022fb9d42ef"), true),
    graph("Mail.ReadWrite", Some("e2a3a72e-5f79-4c64-b1b1-878b674786c9"), true),
    graph("Mail.Send", Some("b633e1c5-b582-4048-a93e-9f11b44c7e96"), true),
    graph("MailboxSettings.Read", Some("40f97065-369a-49f4-947c-6a255697ae91"), true),
    graph("MailboxSettings.ReadWrite", Some("6931bccd-447a-43d1-b442-00a195474933"), true),
    graph("Calendars.Read", Some("798ee544-9d2d-430c-a058-570e29e34338"), true),
    graph("Calendars.ReadWrite", Some("ef54d2bf-783f-4e0f-bca1-3210c0444d99"), true),
    graph("Contacts.Read", Some("089fe4d0-434a-44c5-8827-41ba8a0b17f5"), true),
    graph("Contacts.ReadWrite", Some("6918b873-d17a-4dc1-b314-35f528134491"), true),
    // Not on the application access policy list: only RBAC for
    // Applications can scope these.
    graph("Calendars.ReadBasic.All", None, false),
    graph("MailboxFolder.Read.All", None, false),
    graph("MailboxFolder.ReadWrite.All", None, false),
    graph("MailboxItem.Read.All", None, false),
    graph("MailboxItem.ImportExport.All", None, false),
    graph("Mail-Advanced.ReadWrite.All", None, false),
    graph("MailboxConfigItem.Read", None, false),
    graph("MailboxConfigItem.ReadWrite", None, false),
    // Office 365 Exchange Online: EWS and the legacy Outlook REST roles
    // (several share the Graph role's id).
    AppRolePermission {
        value: "full_access_as_app",
        resource: Resource::ExchangeOnline,
        role_id: Some("dc890d15-9560-4a4c-9b7f-a736ec74ec40"),
        fenced_by_policy: true,
        ews: true,
    },
    exchange("Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    exchange("Mail.ReadWrite", "e2a3a72e-5f79-4c64-b1b1-878b674786c9"),
    exchange("Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96"),
    exchange("MailboxSettings.Read", "d45fa9f8-36e5-4cd2-b601-b063c7cf9ac2"),
    exchange("MailboxSettings.ReadWrite", "f9156939-25cd-4ba8-abfe-7fabcf003749"),
    exchange("Calendars.Read", "798ee544-9d2d-430c-a058-570e29e34338"),
    exchange("Calendars.Read.All", "2dfdc6dc-2fa7-4a2c-a922-dbd4f85d17be"),
    exchange("Calendars.ReadWrite.All", "ef54d2bf-783f-4e0f-bca1-3210c0444d99"),
    exchange("Contacts.Read", "089fe4d0-434a-44c5-8827-41ba8a0b17f5"),
    exchange("Contacts.ReadWrite", "6918b873-d17a-4dc1-b314-35f528134491"),
];

/// Looks up a mailbox-reaching app role by resource and value
/// (case-insensitive, as Entra compares them).
pub fn app_role(resource: Resource, value: &str) -> Option<&'static AppRolePermission> {
    APP_ROLE_PERMISSIONS.iter().find(|p| p.resource == resource && p.value.eq_ignore_ascii_case(value))
}

/// Looks up a mailbox-reaching app role by resource and app-role id.
pub fn app_role_by_id(resource: Resource, role_id: &str) -> Option<&'static AppRolePermission> {
    APP_ROLE_PERMISSIONS
        .iter()
        .find(|p| p.resource == resource && p.role_id.is_some_and(|id| id.eq_ignore_ascii_case(role_id)))
}

/// An RBAC for Applications management role ("Application Mail.Send").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RbacRole {
    /// The permission name a desired-state file writes (`Mail.Send`): the
    /// role's name without its `Application ` prefix.
    pub permission: &'static str,
    /// The Graph (or EWS/SMTP) permissions the role grants when its scope
    /// matches a mailbox.
    pub grants: &'static [&'static str],
}

impl RbacRole {
    /// The management role's name in Exchange (`Application Mail.Send`).
    pub fn role_name(&self) -> String {
        format!("Application {}", self.permission)
    }
}

const fn rbac(permission: &'static str, grants: &'static [&'static str]) -> RbacRole {
    RbacRole { permission, grants }
}

/// The "Application X" roles of RBAC for Applications (Microsoft Learn,
/// "Role Based Access Control for Applications in Exchange Online", the
/// table of supported application roles). `Mail.ReadBasic.All` has none.
pub const RBAC_ROLES: &[RbacRole] = &[
    rbac("Mail.Read", &["Mail.Read"]),
    rbac("Mail.ReadBasic", &["Mail.ReadBasic"]),
    rbac("Mail.ReadWrite", &["Mail.ReadWrite"]),
    rbac("Mail.Send", &["Mail.Send"]),
    rbac("MailboxSettings.Read", &["MailboxSettings.Read"]),
    rbac("MailboxSettings.ReadWrite", &["MailboxSettings.ReadWrite"]),
    rbac("Calendars.Read", &["Calendars.Read"]),
    rbac("Calendars.ReadWrite", &["Calendars.ReadWrite"]),
    rbac("Contacts.Read", &["Contacts.Read"]),
    rbac("Contacts.ReadWrite", &["Contacts.ReadWrite"]),
    rbac("MailboxFolder.Read", &["MailboxFolder.Read.All"]),
    rbac("MailboxFolder.ReadWrite", &["MailboxFolder.ReadWrite.All"]),
    rbac("MailboxItem.Read", &["MailboxItem.Read.All"]),
    rbac("MailboxItem.ReadWrite", &["MailboxItem.ReadWrite.All"]),
    rbac("MailboxItem.Export", &["MailboxItem.Export.All"]),
    rbac("MailboxItem.ImportExport", &["MailboxItem.ImportExport.All"]),
    rbac("Mail Full Access", &["Mail.ReadWrite", "Mail.Send"]),
    rbac(
        "Exchange Full Access",
        &[
            "Mail.ReadWrite",
            "Mail.Send",
            "MailboxSettings.ReadWrite",
            "Calendars.ReadWrite",
            "Contacts.ReadWrite",
        ],
    ),
    rbac("EWS.AccessAsApp", &["EWS.AccessAsApp"]),
    rbac("SMTP.SendAsApp", &["SMTP.SendAsApp"]),
    rbac("MailboxConfigItem.Read", &["MailboxConfigItem.Read"]),
    rbac("MailboxConfigItem.ReadWrite", &["MailboxConfigItem.ReadWrite"]),
    rbac("MailTips.ReadBasic.All", &["MailTips.ReadBasic.All"]),
    rbac("Mail-Advanced.ReadWrite.All", &["Mail-Advanced.ReadWrite.All"]),
];

/// Looks up an RBAC role by the permission name a file writes
/// (`Mail.Send`), case-insensitively; the full role name
/// (`Application Mail.Send`) is accepted too.
pub fn rbac_role(name: &str) -> Option<&'static RbacRole> {
    let name = name.trim();
    let bare =
        name.get(..12).filter(|p| p.eq_ignore_ascii_case("Application ")).map_or(name, |_| &name[12..]);
    RBAC_ROLES.iter().find(|r| r.permission.eq_ignore_ascii_case(bare))
}

/// The Entra permission an RBAC role's grant corresponds to for the
/// "additive trap": an app holding this Entra grant tenant-wide reaches
/// every mailbox whatever its RBAC scope. `EWS.AccessAsApp` corresponds to
/// `full_access_as_app` on the Exchange resource.
pub fn entra_equivalents(granted: &str) -> Vec<&'static AppRolePermission> {
    let value = if granted.eq_ignore_ascii_case("EWS.AccessAsApp") { "full_access_as_app" } else { granted };
    APP_ROLE_PERMISSIONS.iter().filter(|p| p.value.eq_ignore_ascii_case(value)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_the_application_prefix() {
        assert_eq!(rbac_role("mail.send").map(|r| r.permission), Some("Mail.Send"));
        assert_eq!(
            rbac_role("Application Mail.Send").map(RbacRole::role_name).as_deref(),
            Some("Application Mail.Send")
        );
        assert!(rbac_role("Mail.ReadBasic.All").is_none(), "Microsoft lists no RBAC role for it");
        assert!(rbac_role("Application").is_none());
        assert_eq!(
            app_role(Resource::Graph, "MAIL.SEND").and_then(|p| p.role_id),
            Some("b633e1c5-b582-4048-a93e-9f11b44c7e96")
        );
        assert_eq!(
            app_role_by_id(Resource::ExchangeOnline, "D45FA9F8-36E5-4CD2-B601-B063C7CF9AC2").map(|p| p.value),
            Some("MailboxSettings.Read")
        );
    }

    #[test]
    fn only_microsofts_list_is_fenced_by_a_policy() {
        assert!(app_role(Resource::Graph, "Mail.Send").is_some_and(|p| p.fenced_by_policy));
        for rbac_only in [
            "MailboxItem.Read.All",
            "MailboxFolder.Read.All",
            "Mail-Advanced.ReadWrite.All",
            "Calendars.ReadBasic.All",
        ] {
            assert!(!app_role(Resource::Graph, rbac_only).unwrap().fenced_by_policy, "{rbac_only}");
        }
        assert!(
            app_role(Resource::ExchangeOnline, "full_access_as_app")
                .is_some_and(|p| p.fenced_by_policy && p.ews)
        );
    }

    #[test]
    fn every_rbac_grant_is_named_once_and_ews_maps_to_full_access_as_app() {
        let mut names: Vec<&str> = RBAC_ROLES.iter().map(|r| r.permission).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RBAC_ROLES.len());
        assert_eq!(entra_equivalents("EWS.AccessAsApp")[0].value, "full_access_as_app");
        // Mail.Send exists on both resources: both grants count for the trap.
        assert_eq!(entra_equivalents("Mail.Send").len(), 2);
    }

    #[test]
    fn resources_round_trip_through_their_app_ids() {
        for r in [Resource::Graph, Resource::ExchangeOnline] {
            assert_eq!(Resource::from_app_id(&r.app_id().to_uppercase()), Some(r));
        }
        assert_eq!(Resource::from_app_id("not-a-resource"), None);
    }
}
