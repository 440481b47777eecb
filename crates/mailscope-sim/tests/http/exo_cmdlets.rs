//! Per-cmdlet success shapes (snapshots) and error shapes.

use mailscope_sim::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const INVOICE_POLICY: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c\\3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60:S-1-5-21-1000-2000-3000-4001;6a1b2c3d-0001-4000-8000-000000000001";
const NEW_APP: &str = "aaaaaaaa-1111-4222-8333-444444444444";

fn assert_error(r: &Reply, ex_type: &str, text: &str) {
    let d = r.detail();
    assert!(d.contains(&format!("|{ex_type}|")), "{d}");
    assert!(d.contains(text), "{d}");
    let short = ex_type.rsplit('.').next().unwrap();
    assert_eq!(r.headers["x-exceptiontype"], short);
}

#[tokio::test]
async fn success_envelope_and_headers() {
    let s = start_config(SimConfig { rate_limit_headers: true, ..SimConfig::default() }).await;
    let r = s.invoke("get-applicationaccesspolicy", json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"].to_str().unwrap().starts_with("application/json;odata.metadata=minimal")
    );
    assert_eq!(r.headers["odata-version"], "4.0");
    assert_eq!(r.headers["rate-limit-limit"], "30000");
    assert_eq!(r.headers["rate-limit-remaining"], "29999");
    assert!(r.headers["rate-limit-reset"].to_str().unwrap().ends_with('Z'));
    let v = r.json();
    assert_eq!(
        v["@odata.context"],
        format!("{}/adminapi/beta/{TENANT_ID}/$metadata#Collection(Exchange.GenericHashTable)", s.base)
    );
    assert_eq!(v["adminapi.warnings@odata.type"], "#Collection(String)");
    assert_eq!(v["@adminapi.warnings"], json!([]));
    assert!(v.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn get_application_access_policy_all() {
    let s = start().await;
    let v = s.ok("Get-ApplicationAccessPolicy", json!({})).await;
    assert_eq!(v.len(), 4);
    snapshot("get_aap_all", &Value::Array(v), false);
}

#[tokio::test]
async fn get_application_access_policy_by_identity_and_an_identity_matching_nothing_returns_all() {
    let s = start().await;
    let v = s.ok("Get-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY})).await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["AppId"], INVOICE_MAILER);
    // The cmdlet's documented pitfall: no match means every policy, not an
    // error, so a client must never trust a filtered Get.
    let all = s.ok("Get-ApplicationAccessPolicy", json!({})).await;
    let v = s
        .ok("Get-ApplicationAccessPolicy", json!({"Identity": format!("{TENANT_ID}\\{NEW_APP}:S-1;x")}))
        .await;
    assert_eq!(v, all);
    assert_eq!(v.len(), 4);
}

#[tokio::test]
async fn set_application_access_policy_needs_a_description_and_has_no_whatif() {
    let s = start().await;
    let r = s.err("Set-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY})).await;
    assert!(r.detail().contains("missing mandatory parameters: Description"), "{}", r.detail());
    let r = s
        .err(
            "Set-ApplicationAccessPolicy",
            json!({"Identity": INVOICE_POLICY, "Description": "x", "WhatIf": true}),
        )
        .await;
    assert!(r.detail().contains("Invalid cmdlet parameters specified. WhatIf"), "{}", r.detail());
    s.ok("Set-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Description": "x"})).await;
}

#[tokio::test]
async fn security_groups_are_closed_by_default_and_never_open() {
    let s = start().await;
    let v = s.ok("New-DistributionGroup", json!({"Name": "dist-one", "Type": "Distribution"})).await;
    assert_eq!(
        (v[0]["MemberJoinRestriction"].as_str(), v[0]["MemberDepartRestriction"].as_str()),
        (Some("Closed"), Some("Open"))
    );
    let v = s.ok("New-DistributionGroup", json!({"Name": "sec-one", "Type": "Security"})).await;
    assert_eq!(
        (v[0]["MemberJoinRestriction"].as_str(), v[0]["MemberDepartRestriction"].as_str()),
        (Some("Closed"), Some("Closed"))
    );
    for key in ["MemberJoinRestriction", "MemberDepartRestriction"] {
        let r =
            s.err("New-DistributionGroup", json!({"Name": "sec-two", "Type": "Security", key: "Open"})).await;
        assert!(r.detail().contains("Security groups can't be open"), "{}", r.detail());
    }
}

#[tokio::test]
async fn rate_limit_headers_only_when_asked() {
    let s = start().await;
    let r = s.invoke("Get-ApplicationAccessPolicy", json!({})).await;
    assert!(!r.headers.contains_key("rate-limit-remaining"), "app-only live traffic shows none");
    let s = start_config(SimConfig { rate_limit_headers: true, ..SimConfig::default() }).await;
    let r = s.invoke("Get-ApplicationAccessPolicy", json!({})).await;
    assert!(r.headers.contains_key("rate-limit-remaining"));
    assert!(r.headers.contains_key("rate-limit-limit"));
}

#[tokio::test]
async fn get_application_access_policy_empty_tenant_is_empty_value() {
    let s = start().await;
    for p in s.ok("Get-ApplicationAccessPolicy", json!({})).await {
        s.ok("Remove-ApplicationAccessPolicy", json!({"Identity": p["Identity"], "Confirm": false})).await;
    }
    let r = s.invoke("Get-ApplicationAccessPolicy", json!({})).await;
    assert_eq!(r.json()["value"], json!([]));
}

#[tokio::test]
async fn new_application_access_policy_default_description_and_arrays() {
    let s = start().await;
    let v = s
        .ok(
            "New-ApplicationAccessPolicy",
            json!({"AppId": [NEW_APP, "bbbbbbbb-1111-4222-8333-444444444444"], "PolicyScopeGroupId": "mailscope-hr-notifier-allow@contoso.onmicrosoft.com", "AccessRight": "Restrict"}),
        )
        .await;
    assert_eq!(v.len(), 2);
    snapshot("new_aap_two_apps", &Value::Array(v), false);
    let v = s
        .ok(
            "New-ApplicationAccessPolicy",
            json!({"AppId": NEW_APP, "PolicyScopeGroupId": "ceo@contoso.com", "AccessRight": "DenyAccess", "Description": " "}),
        )
        .await;
    assert_eq!(v[0]["AccessRight"], "DenyAccess");
    assert_eq!(v[0]["ScopeName"], "ceo");
}

#[tokio::test]
async fn new_application_access_policy_errors() {
    let s = start().await;
    // Shared mailbox is not a security principal.
    let r = s
        .err(
            "New-ApplicationAccessPolicy",
            json!({"AppId": NEW_APP, "PolicyScopeGroupId": "billing@contoso.com", "AccessRight": "RestrictAccess"}),
        )
        .await;
    snapshot("new_aap_bad_scope", &r.json(), false);
    // Unknown scope.
    let r = s
        .err(
            "New-ApplicationAccessPolicy",
            json!({"AppId": NEW_APP, "PolicyScopeGroupId": "nobody@contoso.com", "AccessRight": "RestrictAccess"}),
        )
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "couldn't be found on",
    );
    // Duplicate.
    let r = s
        .err(
            "New-ApplicationAccessPolicy",
            json!({"AppId": INVOICE_MAILER, "PolicyScopeGroupId": "mailscope-invoice-mailer-allow", "AccessRight": "RestrictAccess"}),
        )
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException",
        "already exists",
    );
    // Bad enum: no details, ParameterTransformationException.
    let r = s
        .err(
            "New-ApplicationAccessPolicy",
            json!({"AppId": NEW_APP, "PolicyScopeGroupId": "ceo@contoso.com", "AccessRight": "AllowAccess"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    snapshot("new_aap_bad_enum", &r.json(), false);
    // Missing mandatory parameter.
    let r = s.err("New-ApplicationAccessPolicy", json!({"AppId": NEW_APP})).await;
    assert_error(
        &r,
        "System.Management.Automation.ParameterBindingException",
        "missing mandatory parameters",
    );
    assert_eq!(s.ok("Get-ApplicationAccessPolicy", json!({})).await.len(), 4);
}

async fn fill(s: &TestSim, description: Option<&str>) -> usize {
    let mut created = 0;
    for batch in 0..40 {
        let apps: Vec<String> =
            (0..10).map(|i| format!("00000000-0000-4000-8000-{:012}", batch * 10 + i)).collect();
        let mut params = json!({"AppId": apps, "PolicyScopeGroupId": "Marketing-Senders", "AccessRight": "RestrictAccess"});
        if let Some(d) = description {
            params["Description"] = json!(d);
        }
        let r = s.invoke("New-ApplicationAccessPolicy", params).await;
        if r.status != StatusCode::OK {
            assert_eq!(
                r.detail().rsplit('|').next().unwrap(),
                "The total size of App Access Policies exceeded the limit."
            );
            // Top up one by one to find the exact edge.
            for i in 0..10 {
                let mut p = json!({"AppId": format!("99999999-0000-4000-8000-{:012}", batch * 10 + i), "PolicyScopeGroupId": "Marketing-Senders", "AccessRight": "RestrictAccess"});
                if let Some(d) = description {
                    p["Description"] = json!(d);
                }
                if s.invoke("New-ApplicationAccessPolicy", p).await.status != StatusCode::OK {
                    return s.ok("Get-ApplicationAccessPolicy", json!({})).await.len();
                }
                created += 1;
            }
        }
        created += 10;
    }
    panic!("never hit the limit after {created}");
}

#[tokio::test]
async fn space_limit_about_300_short_about_100_long() {
    let s = start().await;
    let short = fill(&s, Some(" ")).await;
    assert!((290..=305).contains(&short), "{short}");
    let s = start().await;
    let long = fill(&s, None).await;
    assert!((90..=110).contains(&long), "{long}");
}

#[tokio::test]
async fn set_application_access_policy_changes_description_only() {
    let s = start().await;
    s.ok("Set-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Description": "new text"})).await;
    let v = s.ok("Get-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY})).await;
    assert_eq!(v[0]["Description"], "new text");
    let r = s
        .err("Set-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "AccessRight": "DenyAccess"}))
        .await;
    snapshot("set_aap_unknown_param", &r.json(), false);
    assert_eq!(r.headers["x-exceptiontype"], "AmbiguousParameterSetException");
    let r = s.err("Set-ApplicationAccessPolicy", json!({"Identity": "nope", "Description": "x"})).await;
    assert_error(&r, "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "'nope'");
}

#[tokio::test]
async fn remove_application_access_policy() {
    let s = start().await;
    assert!(
        s.ok("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Confirm": false}))
            .await
            .is_empty()
    );
    assert_eq!(s.ok("Get-ApplicationAccessPolicy", json!({})).await.len(), 3);
    let r =
        s.err("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Confirm": false})).await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "couldn't be found",
    );
}

#[tokio::test]
async fn confirm_true_returns_a_confirmation_and_does_nothing() {
    let s = start().await;
    let r = s
        .invoke("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Confirm": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["@adminapi.confirmationmessage"].is_string());
    assert_eq!(s.ok("Get-ApplicationAccessPolicy", json!({})).await.len(), 4);
}

#[tokio::test]
async fn test_application_access_policy_shape() {
    let s = start().await;
    let v = s
        .ok("Test-ApplicationAccessPolicy", json!({"Identity": "ceo@contoso.com", "AppId": INVOICE_MAILER}))
        .await;
    snapshot("test_aap_denied", &Value::Array(v), false);
    let r = s
        .err(
            "Test-ApplicationAccessPolicy",
            json!({"Identity": "ghost@contoso.com", "AppId": INVOICE_MAILER}),
        )
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "'ghost@contoso.com'",
    );
}

#[tokio::test]
async fn get_distribution_group_by_any_identity_form() {
    let s = start().await;
    let by_name = s.ok("Get-DistributionGroup", json!({"Identity": "Legacy-Scanner-Mailboxes"})).await;
    snapshot("get_group_legacy", &Value::Array(by_name.clone()), false);
    for id in [
        "legacy-scanner-mailboxes@CONTOSO.com",
        "6a1b2c3d-0003-4000-8000-000000000003",
        "LEGACY-scanner-mailboxes",
        by_name[0]["DistinguishedName"].as_str().unwrap(),
        by_name[0]["Guid"].as_str().unwrap(),
        "smtp:legacy-scanner-mailboxes@contoso.onmicrosoft.com",
    ] {
        let v = s.ok("Get-DistributionGroup", json!({"Identity": id})).await;
        assert_eq!(v[0]["Name"], "Legacy-Scanner-Mailboxes", "{id}");
    }
    let r = s.err("Get-DistributionGroup", json!({"Identity": "ceo@contoso.com"})).await;
    snapshot("get_group_not_found", &r.json(), false);
}

#[tokio::test]
async fn get_distribution_group_filter() {
    let s = start().await;
    let v = s
        .ok(
            "Get-DistributionGroup",
            json!({"Filter": "CustomAttribute15 -like 'mailscope/v1*'", "ResultSize": "Unlimited"}),
        )
        .await;
    let names: Vec<_> = v.iter().map(|g| g["Name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["mailscope-hr-notifier-allow", "mailscope-invoice-mailer-allow", "mailscope-old-reporter-allow"]
    );
    let v = s
        .ok(
            "Get-DistributionGroup",
            json!({"Filter": "(CustomAttribute15 -eq $null) -and -not (Name -like 'Market*')", "RecipientTypeDetails": ["MailUniversalSecurityGroup"]}),
        )
        .await;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["Name"], "Legacy-Scanner-Mailboxes");
    let r = s.err("Get-DistributionGroup", json!({"Filter": "Name -eq 'a' -and"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    snapshot("get_group_bad_filter", &r.json(), false);
    let r = s.err("Get-DistributionGroup", json!({"Filter": "Bogus -eq 'a'"})).await;
    assert!(r.detail().contains("'Bogus' is not a recognized filterable property"));
}

#[tokio::test]
async fn new_distribution_group_security() {
    let s = start().await;
    let v = s
        .ok(
            "New-DistributionGroup",
            json!({"Name": "mailscope-crm-sync-deny", "Alias": "mailscope-crm-sync-deny", "Type": "Security", "Members": ["ceo@contoso.com"], "MemberDepartRestriction": "Closed", "MemberJoinRestriction": "Closed", "IgnoreNamingPolicy": true, "RequireSenderAuthenticationEnabled": true}),
        )
        .await;
    assert_eq!(v[0]["RecipientTypeDetails"], "MailUniversalSecurityGroup");
    assert_eq!(v[0]["PrimarySmtpAddress"], "mailscope-crm-sync-deny@contoso.onmicrosoft.com");
    snapshot("new_group", &Value::Array(v), true);
    let members = s.ok("Get-DistributionGroupMember", json!({"Identity": "mailscope-crm-sync-deny"})).await;
    assert_eq!(members[0]["PrimarySmtpAddress"], "ceo@contoso.com");
    // Distribution (default type) makes a DL, which cannot be an AAP scope.
    let v = s.ok("New-DistributionGroup", json!({"Name": "All Staff", "Type": "Dist"})).await;
    assert_eq!(v[0]["RecipientTypeDetails"], "MailUniversalDistributionGroup");
    assert_eq!(v[0]["Alias"], "AllStaff");
}

#[tokio::test]
async fn new_distribution_group_errors() {
    let s = start().await;
    let r = s.err("New-DistributionGroup", json!({"Name": "Marketing-Senders", "Type": "Security"})).await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException",
        "Marketing-Senders",
    );
    let r = s
        .err(
            "New-DistributionGroup",
            json!({"Name": "fresh", "Alias": "marketing-senders", "Type": "Security"}),
        )
        .await;
    assert!(r.detail().contains("alias"), "{}", r.detail());
    let r = s
        .err(
            "New-DistributionGroup",
            json!({"Name": "fresh", "PrimarySmtpAddress": "ceo@contoso.com", "Type": "Security"}),
        )
        .await;
    assert_error(&r, "Microsoft.Exchange.Data.Directory.ProxyAddressExistsException", "SMTP:ceo@contoso.com");
    let r = s
        .err("New-DistributionGroup", json!({"Name": "fresh", "Type": "Security", "CustomAttribute15": "x"}))
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException",
        "CustomAttribute15",
    );
    let r = s
        .err(
            "New-DistributionGroup",
            json!({"Name": "fresh", "Type": "Security", "Members": ["ghost@contoso.com"]}),
        )
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "ghost@contoso.com",
    );
}

#[tokio::test]
async fn set_distribution_group_custom_attribute() {
    let s = start().await;
    let marker = "mailscope/v1 app=2c3d4e5f-6a7b-4c8d-9e0f-a1b2c3d4e5f6 list=allow";
    s.ok(
        "Set-DistributionGroup",
        json!({"Identity": "Legacy-Scanner-Mailboxes", "CustomAttribute15": marker, "BypassSecurityGroupManagerCheck": true}),
    )
    .await;
    let v = s.ok("Get-DistributionGroup", json!({"Identity": "Legacy-Scanner-Mailboxes"})).await;
    assert_eq!(v[0]["CustomAttribute15"], marker);
    let r = s
        .err(
            "Set-DistributionGroup",
            json!({"Identity": "Legacy-Scanner-Mailboxes", "CustomAttribute15": "x"}),
        )
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.OperationRequiresGroupManagerException",
        "manager of the group",
    );
}

#[tokio::test]
async fn remove_distribution_group() {
    let s = start().await;
    s.ok(
        "Remove-DistributionGroup",
        json!({"Identity": "Marketing-Senders", "Confirm": false, "BypassSecurityGroupManagerCheck": true}),
    )
    .await;
    let r = s.err("Get-DistributionGroup", json!({"Identity": "Marketing-Senders"})).await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "Marketing-Senders",
    );
    // The policy scoped to it stays, marked invalid.
    let v = s.ok("Get-ApplicationAccessPolicy", json!({})).await;
    let p = v.iter().find(|p| p["ScopeName"] == "Marketing-Senders").unwrap();
    assert_eq!(p["IsValid"], false);
}

#[tokio::test]
async fn member_cmdlets() {
    let s = start().await;
    let g = "mailscope-invoice-mailer-allow";
    let v = s.ok("Get-DistributionGroupMember", json!({"Identity": g})).await;
    snapshot("get_members_invoice", &Value::Array(v), false);
    let bypass = json!(true);
    s.ok(
        "Add-DistributionGroupMember",
        json!({"Identity": g, "Member": "invoices@contoso.com", "BypassSecurityGroupManagerCheck": bypass}),
    )
    .await;
    let r = s
        .err("Add-DistributionGroupMember", json!({"Identity": g, "Member": "Invoices@contoso.com", "BypassSecurityGroupManagerCheck": bypass}))
        .await;
    snapshot("add_member_already", &r.json(), false);
    s.ok("Remove-DistributionGroupMember", json!({"Identity": g, "Member": "old-billing@contoso.com", "BypassSecurityGroupManagerCheck": bypass, "Confirm": false}))
        .await;
    let r = s
        .err("Remove-DistributionGroupMember", json!({"Identity": g, "Member": "old-billing@contoso.com", "BypassSecurityGroupManagerCheck": bypass, "Confirm": false}))
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.Management.Tasks.MemberNotFoundException",
        "isn't a member of the group",
    );
    let r = s
        .err(
            "Add-DistributionGroupMember",
            json!({"Identity": g, "Member": "ghost@contoso.com", "BypassSecurityGroupManagerCheck": bypass}),
        )
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "ghost@contoso.com",
    );
    let r = s
        .err(
            "Add-DistributionGroupMember",
            json!({"Identity": g, "Members": ["bob@contoso.com"], "BypassSecurityGroupManagerCheck": bypass}),
        )
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException",
        "Members",
    );
    let members = |v: Vec<Value>| -> Vec<String> {
        v.iter().map(|m| m["PrimarySmtpAddress"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(
        members(s.ok("Get-DistributionGroupMember", json!({"Identity": g})).await),
        ["billing@contoso.com", "invoices@contoso.com"]
    );
    s.ok("Update-DistributionGroupMember", json!({"Identity": g, "Members": ["alice@contoso.com", "bob@contoso.com"], "BypassSecurityGroupManagerCheck": bypass, "Confirm": false}))
        .await;
    assert_eq!(
        members(s.ok("Get-DistributionGroupMember", json!({"Identity": g})).await),
        ["alice@contoso.com", "bob@contoso.com"]
    );
    // A member that does not exist fails the whole replace, as it fails
    // New-DistributionGroup -Members, and the group keeps its members.
    let r = s
        .err(
            "Update-DistributionGroupMember",
            json!({"Identity": g, "Members": ["ceo@contoso.com", "ghost@contoso.com"], "BypassSecurityGroupManagerCheck": bypass, "Confirm": false}),
        )
        .await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "ghost@contoso.com",
    );
    assert_eq!(
        members(s.ok("Get-DistributionGroupMember", json!({"Identity": g})).await),
        ["alice@contoso.com", "bob@contoso.com"]
    );
    s.ok(
        "Update-DistributionGroupMember",
        json!({"Identity": g, "Members": [], "BypassSecurityGroupManagerCheck": bypass, "Confirm": false}),
    )
    .await;
    assert!(s.ok("Get-DistributionGroupMember", json!({"Identity": g})).await.is_empty());
}

#[tokio::test]
async fn get_recipient_and_get_mailbox() {
    let s = start().await;
    let v = s.ok("Get-Recipient", json!({"Identity": "alice@contoso.com"})).await;
    snapshot("get_recipient_alice", &Value::Array(v), false);
    let v = s.ok("Get-Mailbox", json!({"Identity": "billing"})).await;
    snapshot("get_mailbox_billing", &Value::Array(v), false);
    let v = s
        .ok("Get-Recipient", json!({"RecipientTypeDetails": ["UserMailbox", "MailUniversalSecurityGroup"]}))
        .await;
    assert_eq!(v.len(), 4 + 5);
    let v = s.ok("Get-Mailbox", json!({})).await;
    assert_eq!(v.len(), 15);
    let r = s.err("Get-Mailbox", json!({"Identity": "mailscope-hr-notifier-allow"})).await;
    assert_error(
        &r,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "couldn't be found",
    );
    let r = s.err("Get-Recipient", json!({"RecipientTypeDetails": "Nonsense"})).await;
    assert!(
        r.json()["error"]["innererror"]["internalexception"]["message"]
            .as_str()
            .unwrap()
            .contains("Unable to match the identifier name Nonsense")
    );
    let r = s.err("Get-Recipient", json!({"BogusParameter": 1})).await;
    snapshot("get_recipient_bogus_param", &r.json(), false);
}

#[tokio::test]
async fn get_recipient_batched_existence_check() {
    let s = start().await;
    let mut terms: Vec<String> =
        (0..98).map(|i| format!("(PrimarySmtpAddress -eq 'nobody{i}@contoso.com')")).collect();
    terms.push("(PrimarySmtpAddress -eq 'CEO@contoso.com')".into());
    terms.push("(PrimarySmtpAddress -eq \"helpdesk@contoso.com\")".into());
    let v = s.ok("Get-Recipient", json!({"Filter": terms.join(" -or ")})).await;
    let found: Vec<_> = v.iter().map(|r| r["PrimarySmtpAddress"].as_str().unwrap()).collect();
    assert_eq!(found, ["ceo@contoso.com", "helpdesk@contoso.com"]);
}

#[tokio::test]
async fn cmdlet_error_status_is_configurable() {
    let s = start_config(mailscope_sim::SimConfig { cmdlet_error_status: 404, ..Default::default() }).await;
    let r = s.err("Get-DistributionGroup", json!({"Identity": "nope"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "NotFound");
}

#[tokio::test]
async fn no_output_cmdlets_return_an_empty_value() {
    let s = start().await;
    let b = json!(true);
    let calls = [
        ("Set-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Description": " "})),
        ("Remove-ApplicationAccessPolicy", json!({"Identity": INVOICE_POLICY, "Confirm": false})),
        (
            "Set-DistributionGroup",
            json!({"Identity": "Marketing-Senders", "DisplayName": "Marketing", "BypassSecurityGroupManagerCheck": b}),
        ),
        (
            "Add-DistributionGroupMember",
            json!({"Identity": "Marketing-Senders", "Member": "bob@contoso.com", "BypassSecurityGroupManagerCheck": b}),
        ),
        (
            "Remove-DistributionGroupMember",
            json!({"Identity": "Marketing-Senders", "Member": "bob@contoso.com", "BypassSecurityGroupManagerCheck": b, "Confirm": false}),
        ),
        (
            "Update-DistributionGroupMember",
            json!({"Identity": "Marketing-Senders", "Members": ["alice@contoso.com"], "BypassSecurityGroupManagerCheck": b, "Confirm": false}),
        ),
        (
            "Remove-DistributionGroup",
            json!({"Identity": "Marketing-Senders", "BypassSecurityGroupManagerCheck": b, "Confirm": false}),
        ),
    ];
    let mut bodies = serde_json::Map::new();
    for (cmdlet, params) in calls {
        let r = s.invoke(cmdlet, params).await;
        assert_eq!(r.status, StatusCode::OK, "{cmdlet}: {}", String::from_utf8_lossy(&r.bytes));
        bodies.insert(cmdlet.to_owned(), r.json());
    }
    snapshot("no_output_bodies", &Value::Object(bodies), false);
}

#[tokio::test]
async fn mutating_output_is_never_paged() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let apps: Vec<String> = (0..3).map(|i| format!("cccccccc-0000-4000-8000-00000000000{i}")).collect();
    let body = json!({"CmdletInput": {"CmdletName": "New-ApplicationAccessPolicy", "Parameters": {"AppId": apps, "PolicyScopeGroupId": "Marketing-Senders", "AccessRight": "RestrictAccess", "Description": " "}}});
    let v: Value = s
        .exo_request(&s.invoke_url(), &t, &body)
        .header("Prefer", "odata.maxpagesize=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 3);
    assert!(v.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn error_shapes() {
    let s = start().await;
    let b = json!(true);
    let cases = [
        (
            "member_not_found",
            "Remove-DistributionGroupMember",
            json!({"Identity": "Marketing-Senders", "Member": "bob@contoso.com", "BypassSecurityGroupManagerCheck": b}),
        ),
        (
            "duplicate_policy",
            "New-ApplicationAccessPolicy",
            json!({"AppId": INVOICE_MAILER, "PolicyScopeGroupId": "mailscope-invoice-mailer-allow", "AccessRight": "DenyAccess"}),
        ),
        ("duplicate_name", "New-DistributionGroup", json!({"Name": "Marketing-Senders", "Type": "Security"})),
        (
            "address_taken",
            "New-DistributionGroup",
            json!({"Name": "x", "PrimarySmtpAddress": "ceo@contoso.com", "Type": "Security"}),
        ),
        (
            "domain_not_accepted",
            "New-DistributionGroup",
            json!({"Name": "x", "PrimarySmtpAddress": "x@fabrikam.com", "Type": "Security"}),
        ),
        (
            "not_a_manager",
            "Add-DistributionGroupMember",
            json!({"Identity": "Marketing-Senders", "Member": "bob@contoso.com"}),
        ),
        (
            "missing_mandatory",
            "Add-DistributionGroupMember",
            json!({"Identity": "Marketing-Senders", "BypassSecurityGroupManagerCheck": b}),
        ),
        ("bad_group_type", "New-DistributionGroup", json!({"Name": "x", "Type": "Dynamic"})),
        ("ambiguous_identity", "Get-Recipient", json!({"Identity": "Shared Name"})),
    ];
    for n in ["amb1", "amb2"] {
        s.ok("New-DistributionGroup", json!({"Name": n, "DisplayName": "Shared Name", "Type": "Security"}))
            .await;
    }
    let mut bodies = serde_json::Map::new();
    for (name, cmdlet, params) in cases {
        let r = s.err(cmdlet, params).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}");
        bodies.insert(
            name.to_owned(),
            json!({"x-ExceptionType": r.headers["x-exceptiontype"].to_str().unwrap(), "body": r.json()}),
        );
    }
    snapshot("error_shapes", &Value::Object(bodies), false);
}
