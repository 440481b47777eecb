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
