//! The Contoso fixture (`policies/contoso.tenant.yaml`): its tenant and app
//! ids and the test-only secrets its seed gives each app.

use std::path::PathBuf;

/// Tenant GUID of the fixture.
pub const TENANT_ID: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";
/// The operator app (the one mailscope logs in as).
pub const OPERATOR: &str = "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f";
/// The operator app's client secret.
pub const OPERATOR_SECRET: &str = "sim-operator-secret-test-only";
/// `invoice-mailer`: restricted to its mailboxes by a policy.
pub const INVOICE_MAILER: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";
/// `crm-sync`.
pub const CRM_SYNC: &str = "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d";
/// `audit-reader`.
pub const AUDIT_READER: &str = "a11ce5ed-0000-4000-8000-00000000a0d1";
/// `half-configured`.
pub const HALF_CONFIGURED: &str = "ba5eba11-0000-4000-8000-00000000f00d";
/// `no-grants`: an app with no permissions.
pub const NO_GRANTS: &str = "deadbeef-0000-4000-8000-0000000000e1";

/// `policies/contoso.tenant.yaml`.
pub fn seed_path() -> PathBuf {
    crate::workspace_root().join("policies/contoso.tenant.yaml")
}

/// The seed's client secret of a Contoso app.
///
/// # Panics
/// For an app id that is not one of this module's constants.
pub fn secret_of(app_id: &str) -> String {
    let name = match app_id {
        OPERATOR => return OPERATOR_SECRET.to_owned(),
        INVOICE_MAILER => "invoice-mailer",
        CRM_SYNC => "crm-sync",
        AUDIT_READER => "audit-reader",
        HALF_CONFIGURED => "half-configured",
        NO_GRANTS => "no-grants",
        other => panic!("no secret known for {other}"),
    };
    format!("sim-{name}-secret-test-only")
}

/// The system-assigned managed identity of the emulated Azure host, in
/// [`with_managed_identities`]: the operator's rights, no secret.
pub const MI_SYSTEM: &str = "5a7e0c1d-2b3f-4c6d-8e9f-0a1b2c3d4e01";
/// A user-assigned managed identity attached to the host (same rights).
pub const MI_USER: &str = "5a7e0c1d-2b3f-4c6d-8e9f-0a1b2c3d4e02";
/// The emulated host's `IDENTITY_HEADER` (App Service / Container Apps).
pub const IDENTITY_HEADER: &str = "sim-identity-header-test-only";

/// The Contoso seed text plus [`MI_SYSTEM`], [`MI_USER`] and
/// [`IDENTITY_HEADER`]; load it with `policies/` as the base directory.
///
/// # Panics
/// When the Contoso seed cannot be read or has no `apps:` list.
pub fn seed_with_managed_identities() -> String {
    let text = std::fs::read_to_string(seed_path()).expect("read the Contoso seed");
    let identities = format!(
        "apps:\n  # Managed identities of the emulated Azure host.\n\
         \x20 - {{ appId: {MI_SYSTEM}, displayName: mailscope-host, managedIdentity: systemAssigned, \
         exchangePermissions: [Exchange.ManageAsApp], graphPermissions: [Application.Read.All], \
         directoryRoles: [Exchange Administrator] }}\n\
         \x20 - {{ appId: {MI_USER}, displayName: mailscope-uami, managedIdentity: userAssigned, \
         exchangePermissions: [Exchange.ManageAsApp], graphPermissions: [Application.Read.All], \
         directoryRoles: [Exchange Administrator] }}\n"
    );
    assert!(text.contains("\napps:\n"), "the Contoso seed has an apps: list");
    let out = text.replacen("\napps:\n", &format!("\n{identities}"), 1);
    format!("{out}\nidentityHeader: {IDENTITY_HEADER}\n")
}

/// The Contoso emulator with the managed identities of
/// [`seed_with_managed_identities`].
///
/// # Panics
/// When the seed does not load.
pub fn with_managed_identities() -> mailscope_sim::Sim {
    let base = seed_path().parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    mailscope_sim::Sim::from_seed_str(&seed_with_managed_identities(), base)
        .expect("Contoso + managed identities")
}
