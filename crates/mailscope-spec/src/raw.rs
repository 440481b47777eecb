//! The file as serde sees it: every value carries its source location.
//!
//! These types double as the JSON Schema's source (`schemars`), which is why
//! each field carries the documentation an editor shows on hover. Semantic
//! rules (GUID syntax, duplicates, …) live in `validate`, not here, so that
//! all of them can be reported at once with their positions.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

/// A mailscope desired-state file: which mailboxes each Entra ID application
/// may reach through Exchange Online application permissions (Mail.Send,
/// Mail.Read, Calendars.*, …).
#[derive(Debug, Deserialize, JsonSchema)]
// Unknown keys are reported by `keys::KeyScan` with every other problem,
// not by serde, which would stop at the first one.
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
#[schemars(title = "mailscope desired state (mailscope/v1)")]
pub(crate) struct RawDesiredState {
    /// Format version; must be `mailscope/v1`.
    #[schemars(with = "String", extend("const" = "mailscope/v1"))]
    pub(crate) api_version: Spanned<String>,
    /// The tenant this file is for: its GUID or initial domain
    /// (`contoso.onmicrosoft.com`). Used when `--tenant` is not given.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) tenant: Option<Spanned<String>>,
    /// How access is enforced, for every app that does not say otherwise:
    /// `applicationAccessPolicy` (the default, Microsoft's legacy mechanism)
    /// or `rbac` (RBAC for Applications, the current one).
    #[serde(default)]
    #[schemars(with = "Option<RawMechanism>")]
    pub(crate) mechanism: Option<Spanned<RawMechanism>>,
    /// What mailscope may do with an app's tenant-wide Entra grants of
    /// mailbox permissions, for every app that does not say otherwise:
    /// `keep` (the default) or `remove` (once the app's RBAC assignments
    /// exist; mailscope never adds Entra grants).
    #[serde(default)]
    #[schemars(with = "Option<RawEntraGrants>")]
    pub(crate) entra_grants: Option<Spanned<RawEntraGrants>>,
    /// What to do about apps that can reach mailboxes but are not listed
    /// below: `ignore`, `warn` (the default: `audit`, `plan` and `drift`
    /// name them) or `lock-down` (fence each with an access policy on an
    /// empty managed group). The long form adds `exclude`: apps left alone,
    /// each with the reason.
    #[serde(default)]
    #[schemars(with = "Option<RawUnlistedApps>")]
    pub(crate) unlisted_apps: Option<Spanned<RawUnlistedApps>>,
    /// Prefix of the names of the groups mailscope creates
    /// (`<prefix>-<app>-allow`, `<prefix>-<app>-deny`); default `mailscope`.
    /// 1 to 16 letters, digits or `-`, starting with a letter. Changing it
    /// later does not rename existing groups: they stay the apps' groups
    /// through their markers.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[A-Za-z][A-Za-z0-9-]{0,15}$"))]
    pub(crate) group_prefix: Option<Spanned<String>>,
    /// The custom attribute of a group that holds mailscope's ownership
    /// marker: `CustomAttribute1` to `CustomAttribute15` (default
    /// `CustomAttribute15`). Pick one no other tool of the tenant uses.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^CustomAttribute([1-9]|1[0-5])$"))]
    pub(crate) marker_attribute: Option<Spanned<String>>,
    /// The applications mailscope manages.
    #[schemars(with = "Vec<RawApp>")]
    pub(crate) apps: Spanned<Vec<RawApp>>,
}

/// Enforcement mechanisms.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum RawMechanism {
    /// Mail-enabled security groups plus Exchange application access policies.
    ApplicationAccessPolicy,
    /// RBAC for Applications: a service principal, a management scope over
    /// the managed groups and one role assignment per permission.
    Rbac,
}

/// What mailscope may do with an app's tenant-wide Entra grants.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum RawEntraGrants {
    /// Leave them; a remaining grant of a permission the app also has in
    /// RBAC is reported (it makes the RBAC scope meaningless).
    Keep,
    /// Delete them once the app's RBAC assignments exist.
    Remove,
}

/// What to do about unlisted apps that can reach mailboxes.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub(crate) enum RawUnlistedMode {
    /// Say nothing about them.
    #[serde(rename = "ignore")]
    Ignore,
    /// List them (the default).
    #[serde(rename = "warn")]
    Warn,
    /// Fence each with a Restrict policy on an empty managed group.
    #[serde(rename = "lock-down")]
    LockDown,
}

/// `unlistedApps`: a mode, or a mode with exclusions.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawUnlistedApps {
    /// `unlistedApps: lock-down`.
    Mode(RawUnlistedMode),
    /// `unlistedApps: {mode: lock-down, exclude: [...]}`.
    Full(RawUnlistedAppsFull),
}

/// The long form of `unlistedApps`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawUnlistedAppsFull {
    /// `ignore`, `warn` (the default) or `lock-down`.
    #[serde(default)]
    pub(crate) mode: Option<RawUnlistedMode>,
    /// Apps to leave alone whatever the mode.
    #[serde(default)]
    pub(crate) exclude: Vec<RawExclusion>,
}

/// An app `unlistedApps` leaves alone, and why.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawExclusion {
    /// The application (client) id.
    #[schemars(regex(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    pub(crate) app_id: String,
    /// Why it may reach mailboxes without being listed (for reviewers).
    pub(crate) reason: String,
}

/// One application. It needs `allow`, `deny`, or both (deny beats allow).
#[derive(Debug, Deserialize, JsonSchema)]
// Unknown keys are reported by `keys::KeyScan` with every other problem,
// not by serde, which would stop at the first one.
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub(crate) struct RawApp {
    /// Unique name: lowercase letters, digits and `-`, at most 48 characters.
    /// Managed group names derive from it (`mailscope-<name>-allow`).
    #[schemars(with = "String", regex(pattern = r"^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$"))]
    pub(crate) name: Spanned<String>,
    /// The application (client) id from the Entra app registration, not the
    /// service principal's object id.
    #[schemars(
        with = "String",
        regex(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    )]
    pub(crate) app_id: Spanned<String>,
    /// Free text for reviewers.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) description: Option<Spanned<String>>,
    /// Adopt this existing mail-enabled security group (by name) for the
    /// allow list instead of creating `mailscope-<name>-allow`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) group: Option<Spanned<String>>,
    /// Adopt this existing mail-enabled security group (by name) for the
    /// deny list instead of creating `mailscope-<name>-deny`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) deny_group: Option<Spanned<String>>,
    /// Overrides the file's `mechanism` for this app.
    #[serde(default)]
    #[schemars(with = "Option<RawMechanism>")]
    pub(crate) mechanism: Option<Spanned<RawMechanism>>,
    /// For `rbac` apps (required there, refused otherwise): the permissions
    /// to assign, each the name of an "Application X" role without its
    /// prefix, e.g. `Mail.Send`, `Calendars.ReadWrite`, `MailboxItem.Read`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub(crate) permissions: Option<Spanned<Vec<Spanned<String>>>>,
    /// Overrides the file's `entraGrants` for this app.
    #[serde(default)]
    #[schemars(with = "Option<RawEntraGrants>")]
    pub(crate) entra_grants: Option<Spanned<RawEntraGrants>>,
    /// Only these mailboxes (`RestrictAccess`). `[]` means no mailbox at all.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Vec<String>>", inner(regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$")))]
    pub(crate) allow: Option<Spanned<Option<Vec<Spanned<String>>>>>,
    /// Never these mailboxes (`DenyAccess`); beats `allow`.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Vec<String>>", inner(regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$")))]
    pub(crate) deny: Option<Spanned<Option<Vec<Spanned<String>>>>>,
}

/// Tells a key written without a value (`allow:`) from a missing key: the
/// first becomes `Some(None)`, the second stays `None` through `default`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Spanned<Option<T>>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Spanned::<Option<T>>::deserialize(deserializer).map(Some)
}
