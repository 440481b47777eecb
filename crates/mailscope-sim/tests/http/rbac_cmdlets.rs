//! RBAC for Applications cmdlets: `*-ServicePrincipal`, `*-ManagementScope`,
//! `*-ManagementRoleAssignment`, `Test-ServicePrincipalAuthorization`.

use serde_json::{Value, json};

use crate::common::*;

pub(crate) const NEWSLETTER_RBAC: &str = "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f7";
pub(crate) const DIGEST_SENDER: &str = "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1c";

/// The Entra service principal object id of a seeded app.
pub(crate) fn sp_object_id(app_id: &str) -> String {
    let sim = mailscope_sim::Sim::from_seed_file(seed_path()).unwrap();
    sim.tenant().app(app_id).unwrap().service_principal_id.clone()
}

/// The derived DN of a seeded group (what a `MemberOfGroup` filter quotes).
pub(crate) fn group_dn(name: &str) -> String {
    format!(
        "CN={name},OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM"
    )
}

fn assert_exec(r: &Reply, ex_type: &str, text: &str) {
    let d = r.detail();
    assert!(d.contains(ex_type) && d.contains(text), "expected {ex_type} / {text}, got {d}");
}

#[tokio::test]
async fn service_principal_pointers() {
    let s = start().await;
    let object_id = sp_object_id(INVOICE_MAILER);
    let v = s.ok("New-ServicePrincipal", json!({"AppId": INVOICE_MAILER, "ObjectId": object_id})).await;
    assert_eq!(v[0]["AppId"], INVOICE_MAILER);
    assert_eq!(v[0]["ObjectId"], object_id.as_str());
    assert_eq!(v[0]["Name"], object_id.as_str());
    assert_eq!(v[0]["DisplayName"], "invoice-mailer");
    for key in [INVOICE_MAILER, object_id.as_str(), "INVOICE-MAILER"] {
        let v = s.ok("Get-ServicePrincipal", json!({"Identity": key})).await;
        assert_eq!(v.len(), 1, "{key}");
        assert_eq!(v[0]["AppId"], INVOICE_MAILER);
    }
    // The seed's two pointers plus the new one.
    assert_eq!(s.ok("Get-ServicePrincipal", json!({})).await.len(), 3);

    // Refusals: an ObjectId that is not this app's service principal, a duplicate,
    // a missing mandatory parameter, an unknown parameter, an unknown identity.
    let r = s.err("New-ServicePrincipal", json!({"AppId": CRM_SYNC, "ObjectId": object_id})).await;
    assert_exec(&r, "TaskArgumentException", "couldn't be found in Microsoft Entra ID");
    let r = s.err("New-ServicePrincipal", json!({"AppId": INVOICE_MAILER, "ObjectId": object_id})).await;
    assert_exec(&r, "ADObjectAlreadyExistsException", "already exists");
    let r = s.err("New-ServicePrincipal", json!({"AppId": CRM_SYNC})).await;
    assert_eq!(r.status, 400);
    assert!(r.detail().contains("missing mandatory parameters: ObjectId"), "{}", r.detail());
    let r =
        s.err("New-ServicePrincipal", json!({"AppId": CRM_SYNC, "ObjectId": object_id, "Owner": "x"})).await;
    assert!(r.detail().contains("AmbiguousParameterSetException"), "{}", r.detail());
    let r = s.err("Get-ServicePrincipal", json!({"Identity": "nobody"})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'nobody' couldn't be found");

    // -ServiceId is the older name of -ObjectId.
    let crm = sp_object_id(CRM_SYNC);
    let v = s
        .ok("New-ServicePrincipal", json!({"AppId": CRM_SYNC, "ServiceId": crm, "DisplayName": "CRM"}))
        .await;
    assert_eq!(v[0]["DisplayName"], "CRM");

    // Removing a pointer removes its role assignments.
    s.ok(
        "New-ManagementRoleAssignment",
        json!({"Name": "crm-read", "App": "CRM", "Role": "Application Mail.Read"}),
    )
    .await;
    s.ok("Remove-ServicePrincipal", json!({"Identity": CRM_SYNC, "Confirm": false})).await;
    let r = s.err("Get-ManagementRoleAssignment", json!({"Identity": "crm-read"})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'crm-read'");
    let r = s.err("Remove-ServicePrincipal", json!({"Identity": CRM_SYNC})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", CRM_SYNC);
}

#[tokio::test]
async fn management_scopes() {
    let s = start().await;
    let filter = format!("MemberOfGroup -eq '{}'", group_dn("mailscope-invoice-mailer-allow"));
    let v =
        s.ok("New-ManagementScope", json!({"Name": "invoice", "RecipientRestrictionFilter": filter})).await;
    assert_eq!(v[0]["Name"], "invoice");
    assert_eq!(v[0]["RecipientRestrictionFilter"], filter.as_str());
    assert_eq!(v[0]["ScopeRestrictionType"], "RecipientScope");
    assert_eq!(v[0]["Exclusive"], false);
    let v = s.ok("Get-ManagementScope", json!({"Identity": "INVOICE"})).await;
    assert_eq!(v[0]["Name"], "invoice");
    assert_eq!(s.ok("Get-ManagementScope", json!({})).await.len(), 2);

    let r =
        s.err("New-ManagementScope", json!({"Name": "invoice", "RecipientRestrictionFilter": filter})).await;
    assert_exec(&r, "ADObjectAlreadyExistsException", "already exists");
    let r = s
        .err("New-ManagementScope", json!({"Name": "bad", "RecipientRestrictionFilter": "MemberOfGroup -eq"}))
        .await;
    assert_eq!(r.json()["error"]["message"], "Invalid Operation");
    assert!(r.detail().contains("Cannot bind parameter 'RecipientRestrictionFilter'"), "{}", r.detail());
    let r = s.err("New-ManagementScope", json!({"Name": "bad"})).await;
    assert!(
        r.detail().contains("missing mandatory parameters: RecipientRestrictionFilter"),
        "{}",
        r.detail()
    );
    let r = s
        .err(
            "New-ManagementScope",
            json!({"Name": "bad", "RecipientRestrictionFilter": filter, "RecipientRoot": "x"}),
        )
        .await;
    assert!(r.detail().contains("AmbiguousParameterSetException"), "{}", r.detail());

    s.ok(
        "Set-ManagementScope",
        json!({"Identity": "invoice", "RecipientRestrictionFilter": "Department -eq 'Finance'"}),
    )
    .await;
    let v = s.ok("Get-ManagementScope", json!({"Identity": "invoice"})).await;
    assert_eq!(v[0]["RecipientRestrictionFilter"], "Department -eq 'Finance'");
    let r = s
        .err("Set-ManagementScope", json!({"Identity": "invoice", "RecipientRestrictionFilter": "(x"}))
        .await;
    assert!(r.detail().contains("RecipientRestrictionFilter"), "{}", r.detail());
    let r =
        s.err("Set-ManagementScope", json!({"Identity": "nope", "RecipientRestrictionFilter": filter})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'nope'");

    // The seed's scope is used by two assignments: refused until they are gone.
    let r = s.err("Remove-ManagementScope", json!({"Identity": "Marketing-Senders-Scope"})).await;
    assert_exec(&r, "TaskInvalidOperationException", "newsletter-rbac-mail-send, digest-sender-mail-send");
    s.ok("Remove-ManagementScope", json!({"Identity": "invoice", "Confirm": false})).await;
    let r = s.err("Get-ManagementScope", json!({"Identity": "invoice"})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'invoice'");
    for name in ["newsletter-rbac-mail-send", "digest-sender-mail-send"] {
        s.ok("Remove-ManagementRoleAssignment", json!({"Identity": name})).await;
    }
    s.ok("Remove-ManagementScope", json!({"Identity": "Marketing-Senders-Scope"})).await;
    assert_eq!(s.ok("Get-ManagementScope", json!({})).await, Vec::<Value>::new());
}

#[tokio::test]
async fn management_role_assignments() {
    let s = start().await;
    let object_id = sp_object_id(INVOICE_MAILER);
    s.ok("New-ServicePrincipal", json!({"AppId": INVOICE_MAILER, "ObjectId": object_id})).await;

    // Organization-wide, default name.
    let v = s
        .ok("New-ManagementRoleAssignment", json!({"App": object_id, "Role": "application mail.read"}))
        .await;
    let org = &v[0];
    assert_eq!(org["Role"], "Application Mail.Read");
    assert_eq!(org["Name"], format!("Application Mail.Read-{object_id}"));
    assert_eq!(org["RoleAssignee"], object_id.as_str());
    assert_eq!(org["RoleAssigneeType"], "ServicePrincipal");
    assert_eq!(org["RecipientWriteScope"], "Organization");
    assert_eq!(org["CustomResourceScope"], Value::Null);
    // Scoped, by app id.
    let v = s
        .ok(
            "New-ManagementRoleAssignment",
            json!({"Name": "invoice-send", "App": INVOICE_MAILER, "Role": "Application Mail.Send", "CustomResourceScope": "Marketing-Senders-Scope"}),
        )
        .await;
    assert_eq!(v[0]["Identity"], "invoice-send");
    assert_eq!(v[0]["RecipientWriteScope"], "CustomRecipientScope");
    assert_eq!(v[0]["CustomResourceScope"], "Marketing-Senders-Scope");

    // Refusals.
    let r = s
        .err(
            "New-ManagementRoleAssignment",
            json!({"App": INVOICE_MAILER, "Role": "Application Mail.Teleport"}),
        )
        .await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'Application Mail.Teleport' couldn't be found");
    let r = s.err("New-ManagementRoleAssignment", json!({"App": INVOICE_MAILER, "Role": "Mail.Send"})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'Mail.Send'");
    let r = s
        .err("New-ManagementRoleAssignment", json!({"App": INVOICE_MAILER, "Role": "Mail Recipients"}))
        .await;
    assert_exec(&r, "TaskArgumentException", "isn't an application role");
    let r = s.err("New-ManagementRoleAssignment", json!({"Role": "Application Mail.Send"})).await;
    assert!(r.detail().contains("missing mandatory parameters: App"), "{}", r.detail());
    let r = s
        .err("New-ManagementRoleAssignment", json!({"App": CRM_SYNC, "Role": "Application Mail.Send"}))
        .await;
    assert_exec(&r, "ManagementObjectNotFoundException", CRM_SYNC);
    let r = s
        .err(
            "New-ManagementRoleAssignment",
            json!({"App": INVOICE_MAILER, "Role": "Application Mail.Send", "CustomResourceScope": "nope"}),
        )
        .await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'nope'");
    let r = s
        .err(
            "New-ManagementRoleAssignment",
            json!({"Name": "invoice-send", "App": INVOICE_MAILER, "Role": "Application Mail.ReadWrite"}),
        )
        .await;
    assert_exec(&r, "ADObjectAlreadyExistsException", "already exists");
    let r = s
        .err(
            "New-ManagementRoleAssignment",
            json!({"Name": "again", "App": INVOICE_MAILER, "Role": "Application Mail.Read"}),
        )
        .await;
    assert_exec(&r, "ManagementObjectAlreadyExistsException", "same scope");
    let r = s
        .err("New-ManagementRoleAssignment", json!({"User": "alice", "Role": "Application Mail.Read"}))
        .await;
    assert!(r.detail().contains("AmbiguousParameterSetException"), "{}", r.detail());

    // Reads.
    let all = s.ok("Get-ManagementRoleAssignment", json!({})).await;
    assert_eq!(all.len(), 4, "two from the seed, two new");
    let mine = s
        .ok(
            "Get-ManagementRoleAssignment",
            json!({"RoleAssignee": INVOICE_MAILER, "RoleAssigneeType": "ServicePrincipal"}),
        )
        .await;
    assert_eq!(mine.len(), 2);
    let send = s.ok("Get-ManagementRoleAssignment", json!({"Role": "Application Mail.Send"})).await;
    assert_eq!(send.len(), 3);
    assert!(s.ok("Get-ManagementRoleAssignment", json!({"RoleAssigneeType": "User"})).await.is_empty());
    let r = s.err("Get-ManagementRoleAssignment", json!({"RoleAssigneeType": "Robot"})).await;
    assert!(r.headers["x-exceptiontype"].to_str().unwrap().contains("ParameterTransformationException"));
    let r = s.err("Get-ManagementRoleAssignment", json!({"Identity": "nope"})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'nope'");

    s.ok("Remove-ManagementRoleAssignment", json!({"Identity": "invoice-send", "Confirm": false})).await;
    let r = s.err("Remove-ManagementRoleAssignment", json!({"Identity": "invoice-send"})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", "'invoice-send'");
    let r = s.err("Remove-ManagementRoleAssignment", json!({})).await;
    assert!(r.detail().contains("missing mandatory parameters: Identity"), "{}", r.detail());
}

#[tokio::test]
async fn test_service_principal_authorization() {
    let s = start().await;
    let row = |v: &[Value]| v[0].clone();
    let v = s
        .ok(
            "Test-ServicePrincipalAuthorization",
            json!({"Identity": NEWSLETTER_RBAC, "Resource": "marketing@contoso.com"}),
        )
        .await;
    assert_eq!(
        row(&v),
        json!({"RoleName": "Application Mail.Send", "GrantedPermissions": "Mail.Send", "AllowedResourceScope": "Marketing-Senders-Scope", "ScopeType": "CustomRecipientScope", "InScope": "True"})
    );
    let v = s
        .ok(
            "Test-ServicePrincipalAuthorization",
            json!({"Identity": "newsletter-rbac", "Resource": "ceo@contoso.com"}),
        )
        .await;
    assert_eq!(row(&v)["InScope"], "False");
    let v = s.ok("Test-ServicePrincipalAuthorization", json!({"Identity": NEWSLETTER_RBAC})).await;
    assert_eq!(row(&v)["InScope"], "Not Run");
    // The trap app holds a tenant-wide Entra Mail.Send; the test ignores it.
    let v = s
        .ok(
            "Test-ServicePrincipalAuthorization",
            json!({"Identity": DIGEST_SENDER, "Resource": "ceo@contoso.com"}),
        )
        .await;
    assert_eq!(v.len(), 1);
    assert_eq!(row(&v)["InScope"], "False");
    // An organization-wide role: one more row.
    s.ok(
        "New-ManagementRoleAssignment",
        json!({"App": NEWSLETTER_RBAC, "Role": "Application Mail Full Access"}),
    )
    .await;
    let v = s
        .ok(
            "Test-ServicePrincipalAuthorization",
            json!({"Identity": NEWSLETTER_RBAC, "Resource": "ceo@contoso.com"}),
        )
        .await;
    assert_eq!(v.len(), 2);
    assert_eq!(
        v[1],
        json!({"RoleName": "Application Mail Full Access", "GrantedPermissions": "Mail.ReadWrite, Mail.Send", "AllowedResourceScope": "Organization", "ScopeType": "Organization", "InScope": "True"})
    );
    // Refusals.
    let r = s.err("Test-ServicePrincipalAuthorization", json!({"Identity": INVOICE_MAILER})).await;
    assert_exec(&r, "ManagementObjectNotFoundException", INVOICE_MAILER);
    let r = s
        .err(
            "Test-ServicePrincipalAuthorization",
            json!({"Identity": NEWSLETTER_RBAC, "Resource": "nobody@contoso.com"}),
        )
        .await;
    assert_exec(&r, "ManagementObjectNotFoundException", "nobody@contoso.com");
    let r = s.err("Test-ServicePrincipalAuthorization", json!({"Resource": "ceo@contoso.com"})).await;
    assert!(r.detail().contains("missing mandatory parameters: Identity"), "{}", r.detail());
    let r =
        s.err("Test-ServicePrincipalAuthorization", json!({"Identity": NEWSLETTER_RBAC, "AppId": "x"})).await;
    assert!(r.detail().contains("AmbiguousParameterSetException"), "{}", r.detail());
}
