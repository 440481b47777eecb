//! The combined decision (Entra grant, access policies, RBAC for
//! Applications) on Graph, the grant removal endpoint, and the exposure log
//! across an AAP → RBAC migration.

use mailscope_sim::{AAP_DENIAL, Sim};
use serde_json::{Value, json};

use crate::common::*;
use crate::rbac_cmdlets::{DIGEST_SENDER, NEWSLETTER_RBAC, group_dn, sp_object_id};

const ACCESS_DENIED: &str = "Access is denied. Check credentials and try again.";
const INVOICE_POLICY: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c\\3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60:S-1-5-21-1000-2000-3000-4001;6a1b2c3d-0001-4000-8000-000000000001";
const GRAPH_SP: &str = "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')";

/// A Graph token for an app of the seed, by its test secret.
async fn graph_token(s: &TestSim, app_id: &str, name: &str) -> String {
    let secret = format!("sim-{name}-secret-test-only");
    let r = s
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("client_secret", &secret),
            ("scope", GRAPH_SCOPE),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.bytes));
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn message(r: &Reply) -> String {
    r.json()["error"]["message"].as_str().unwrap_or_default().to_owned()
}

/// The Contoso tenant with the operator also granted `AppRoleAssignment.ReadWrite.All`.
async fn start_grant_writer() -> TestSim {
    let text = std::fs::read_to_string(seed_path()).unwrap().replace(
        "graphPermissions: [Application.Read.All]",
        "graphPermissions: [Application.Read.All, AppRoleAssignment.ReadWrite.All]",
    );
    start_with(Sim::from_seed_str(&text, workspace().join("policies")).unwrap()).await
}

/// Gives invoice-mailer an RBAC `Application Mail.Send` over `filter`.
async fn rbac_for_invoice_mailer(s: &TestSim, filter: &str) {
    s.ok("New-ServicePrincipal", json!({"AppId": INVOICE_MAILER, "ObjectId": sp_object_id(INVOICE_MAILER)}))
        .await;
    s.ok("New-ManagementScope", json!({"Name": "invoice", "RecipientRestrictionFilter": filter})).await;
    s.ok(
        "New-ManagementRoleAssignment",
        json!({"App": INVOICE_MAILER, "Role": "Application Mail.Send", "CustomResourceScope": "invoice"}),
    )
    .await;
}

#[tokio::test]
async fn verdict_table_rows() {
    let s = start().await;
    let invoice = graph_token(&s, INVOICE_MAILER, "invoice-mailer").await;
    // Entra yes, policy allows.
    assert_eq!(s.send_mail(&invoice, "billing@contoso.com").await.status, 202);
    // Entra yes, policy denies, no RBAC: the policy text.
    let r = s.send_mail(&invoice, "ceo@contoso.com").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "ErrorAccessDenied");
    assert_eq!(message(&r), AAP_DENIAL);
    // Entra yes, policy denies, RBAC covers: allowed (RBAC adds, policies never narrow it).
    rbac_for_invoice_mailer(&s, "PrimarySmtpAddress -eq 'ceo@contoso.com'").await;
    assert_eq!(s.send_mail(&invoice, "ceo@contoso.com").await.status, 202);
    assert_eq!(message(&s.send_mail(&invoice, "cfo@contoso.com").await), AAP_DENIAL);
    // Entra no, RBAC covers: allowed.
    let rbac = graph_token(&s, NEWSLETTER_RBAC, "newsletter-rbac").await;
    assert_eq!(s.send_mail(&rbac, "marketing@contoso.com").await.status, 202);
    // Entra no, RBAC misses: Graph's generic denial.
    let r = s.send_mail(&rbac, "ceo@contoso.com").await;
    assert_eq!(r.status, 403);
    assert_eq!(message(&r), ACCESS_DENIED);
    // The additive trap: a scoped assignment restricts nothing next to a tenant-wide Entra grant.
    let trap = graph_token(&s, DIGEST_SENDER, "digest-sender").await;
    assert_eq!(s.send_mail(&trap, "ceo@contoso.com").await.status, 202);
    // Test-ApplicationAccessPolicy stays policy-only.
    assert_eq!(s.test_aap("ceo@contoso.com", INVOICE_MAILER).await, "Denied");
}

#[tokio::test]
async fn rbac_scope_follows_direct_group_members() {
    let s = start().await;
    let filter = format!(
        "(MemberOfGroup -eq '{}') -and -not (MemberOfGroup -eq '{}')",
        group_dn("Legacy-Scanner-Mailboxes"),
        group_dn("mailscope-old-reporter-allow")
    );
    rbac_for_invoice_mailer(&s, &filter).await;
    let t = graph_token(&s, INVOICE_MAILER, "invoice-mailer").await;
    assert_eq!(s.send_mail(&t, "scans@contoso.com").await.status, 202, "in a, not in d");
    assert_eq!(message(&s.send_mail(&t, "alice@contoso.com").await), AAP_DENIAL, "in a and d");
    // A membership change moves the mailbox in and out of the scope.
    s.ok(
        "Remove-DistributionGroupMember",
        json!({"Identity": "mailscope-old-reporter-allow", "Member": "alice@contoso.com", "BypassSecurityGroupManagerCheck": true}),
    )
    .await;
    assert_eq!(s.send_mail(&t, "alice@contoso.com").await.status, 202);
}

#[tokio::test]
async fn messages_need_a_read_permission_on_the_mailbox() {
    let s = start().await;
    // crm-sync: Entra Mail.Read, no policy.
    let crm = graph_token(&s, CRM_SYNC, "crm-sync").await;
    let r = s.graph_get(&crm, "users/ceo@contoso.com/messages").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["value"], json!([]));
    assert_eq!(s.graph_get(&crm, "users/nobody@contoso.com/messages").await.status, 404);
    // newsletter-rbac holds only Mail.Send: no read anywhere.
    let rbac = graph_token(&s, NEWSLETTER_RBAC, "newsletter-rbac").await;
    let r = s.graph_get(&rbac, "users/marketing@contoso.com/messages").await;
    assert_eq!((r.status.as_u16(), message(&r)), (403, ACCESS_DENIED.to_owned()));
    // An RBAC read role scoped to marketing opens exactly that mailbox.
    s.ok("New-ManagementRoleAssignment", json!({"App": NEWSLETTER_RBAC, "Role": "Application Mail.ReadBasic", "CustomResourceScope": "Marketing-Senders-Scope"}))
        .await;
    assert_eq!(s.graph_get(&rbac, "users/marketing@contoso.com/messages").await.status, 200);
    assert_eq!(s.graph_get(&rbac, "users/ceo@contoso.com/messages").await.status, 403);
}

/// The id of invoice-mailer's Mail.Send grant on Microsoft Graph.
async fn invoice_grant(s: &TestSim, token: &str) -> (String, Option<String>) {
    let sp = s.graph_get(token, GRAPH_SP).await.json();
    let sp_id = sp["id"].as_str().unwrap().to_owned();
    let rows =
        s.graph_get(token, &format!("servicePrincipals/{sp_id}/appRoleAssignedTo?$top=999")).await.json();
    let id = rows["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["principalDisplayName"] == "invoice-mailer")
        .map(|r| r["id"].as_str().unwrap().to_owned());
    (sp_id, id)
}

async fn delete(s: &TestSim, token: &str, path: &str) -> Reply {
    let r = s.http.delete(format!("{}/v1.0/{path}", s.base)).bearer_auth(token).send().await.unwrap();
    Reply { status: r.status(), headers: r.headers().clone(), bytes: r.bytes().await.unwrap().to_vec() }
}

#[tokio::test]
async fn removing_an_entra_grant_needs_app_role_assignment_write() {
    // Without the role: 403 Authorization_RequestDenied, nothing removed.
    let s = start().await;
    let op = s.token(OPERATOR, GRAPH_SCOPE).await;
    let (sp, id) = invoice_grant(&s, &op).await;
    let id = id.unwrap();
    let r = delete(&s, &op, &format!("servicePrincipals/{sp}/appRoleAssignedTo/{id}")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "Authorization_RequestDenied");
    assert!(invoice_grant(&s, &op).await.1.is_some());

    // With it: 204, gone from the listing and from new tokens; a second delete is 404.
    let s = start_grant_writer().await;
    let op = s.token(OPERATOR, GRAPH_SCOPE).await;
    let (sp, id) = invoice_grant(&s, &op).await;
    let id = id.unwrap();
    let r = delete(&s, &op, &format!("servicePrincipals/{sp}/appRoleAssignedTo/{id}")).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    assert!(r.bytes.is_empty());
    assert_eq!(invoice_grant(&s, &op).await.1, None);
    let r = delete(&s, &op, &format!("servicePrincipals/{sp}/appRoleAssignedTo/{id}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "Request_ResourceNotFound");
    let r = delete(&s, &op, &format!("{GRAPH_SP}/appRoleAssignedTo/{id}")).await;
    assert_eq!(r.status, 404, "the appId addressing too");
    let r = delete(
        &s,
        &op,
        &format!("servicePrincipals/00000000-0000-4000-8000-000000000000/appRoleAssignedTo/{id}"),
    )
    .await;
    assert_eq!(r.status, 404);
    let fresh = graph_token(&s, INVOICE_MAILER, "invoice-mailer").await;
    let r = s.send_mail(&fresh, "billing@contoso.com").await;
    assert_eq!((r.status.as_u16(), message(&r)), (403, ACCESS_DENIED.to_owned()));
}

/// The AAP → RBAC migration steps for invoice-mailer, as `(label, step)`.
async fn migration_step(s: &TestSim, op: &str, step: &str) {
    let filter = format!("MemberOfGroup -eq '{}'", group_dn("mailscope-invoice-mailer-allow"));
    match step {
        "pointer" => {
            s.ok(
                "New-ServicePrincipal",
                json!({"AppId": INVOICE_MAILER, "ObjectId": sp_object_id(INVOICE_MAILER)}),
            )
            .await;
        }
        "scope" => {
            s.ok("New-ManagementScope", json!({"Name": "invoice", "RecipientRestrictionFilter": filter}))
                .await;
        }
        "assignment" => {
            s.ok(
                "New-ManagementRoleAssignment",
                json!({"App": INVOICE_MAILER, "Role": "Application Mail.Send", "CustomResourceScope": "invoice"}),
            )
            .await;
        }
        "grant" => {
            let (sp, id) = invoice_grant(s, op).await;
            let r = delete(s, op, &format!("servicePrincipals/{sp}/appRoleAssignedTo/{}", id.unwrap())).await;
            assert_eq!(r.status, 204);
        }
        "policy" => {
            s.ok("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY})).await;
        }
        other => panic!("{other}"),
    }
}

async fn migrate(order: &[&str]) -> Value {
    let s = start_grant_writer().await;
    let op = s.token(OPERATOR, GRAPH_SCOPE).await;
    s.control("/_sim/exposure/checkpoint", Some(json!({}))).await;
    for step in order {
        migration_step(&s, &op, step).await;
    }
    // Both orders end in the same state: billing and old-billing through RBAC only.
    let t = graph_token(&s, INVOICE_MAILER, "invoice-mailer").await;
    assert_eq!(s.send_mail(&t, "billing@contoso.com").await.status, 202);
    assert_eq!(s.send_mail(&t, "ceo@contoso.com").await.status, 403);
    s.control("/_sim/exposure", None).await
}

#[tokio::test]
async fn removing_the_policy_first_is_an_exposure() {
    let v = migrate(&["policy", "pointer", "scope", "assignment", "grant"]).await;
    assert_eq!(v["mutations"], 5);
    let ex = v["exposures"].as_array().unwrap();
    assert!(
        ex.iter().any(|e| e["appId"] == INVOICE_MAILER
            && e["permission"] == "Mail.Send"
            && e["mailbox"] == "ceo@contoso.com"
            && e["afterMutation"] == 1
            && e["cmdlet"] == "Remove-ApplicationAccessPolicy"),
        "{ex:?}"
    );
    assert!(ex.iter().all(|e| e["mailbox"] != "billing@contoso.com"));
}

#[tokio::test]
async fn the_safe_migration_order_has_no_exposure() {
    let v = migrate(&["pointer", "scope", "assignment", "grant", "policy"]).await;
    assert_eq!(v["mutations"], 5, "the Graph grant removal counts as a mutation");
    assert_eq!(v["exposures"], json!([]));
}
