//! Proxy addresses (`EmailAddresses`): every recipient lookup finds a
//! recipient by any of its SMTP addresses, as Exchange does (docs/exchange.md,
//! "Proxy addresses"), and the seed refuses an address on two recipients.

use mailscope_sim::{Sim, SimError};
use serde_json::{Value, json};

use crate::common::*;

/// A secondary address of `support@contoso.com` in the Contoso seed.
const ALIAS: &str = "ServiceDesk@contoso.com";

fn addresses(v: &Value) -> Vec<String> {
    v["EmailAddresses"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn get_recipient_finds_a_recipient_by_a_proxy_address() {
    let s = start().await;
    let by_identity = s.ok("Get-Recipient", json!({"Identity": ALIAS})).await;
    assert_eq!(by_identity.len(), 1);
    assert_eq!(by_identity[0]["PrimarySmtpAddress"], "support@contoso.com");
    assert_eq!(
        addresses(&by_identity[0]),
        ["SMTP:support@contoso.com", "smtp:support@contoso.onmicrosoft.com", "smtp:servicedesk@contoso.com"]
    );
    // `smtp:`-prefixed identities work too.
    let prefixed = s.ok("Get-Mailbox", json!({"Identity": "smtp:servicedesk@contoso.com"})).await;
    assert_eq!(prefixed[0]["PrimarySmtpAddress"], "support@contoso.com");
    assert_eq!(addresses(&prefixed[0]).len(), 3, "Get-Mailbox carries EmailAddresses too");

    // The filter the client sends: PrimarySmtpAddress also searches EmailAddresses.
    let filter = format!("(PrimarySmtpAddress -eq '{ALIAS}') -or (PrimarySmtpAddress -eq 'ceo@contoso.com')");
    let rows = s.ok("Get-Recipient", json!({"Filter": filter})).await;
    let mut found: Vec<&str> = rows.iter().map(|r| r["PrimarySmtpAddress"].as_str().unwrap()).collect();
    found.sort_unstable();
    assert_eq!(found, ["ceo@contoso.com", "support@contoso.com"]);
    let rows =
        s.ok("Get-Recipient", json!({"Filter": "EmailAddresses -eq 'smtp:servicedesk@contoso.com'"})).await;
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn member_cmdlets_take_a_proxy_address_and_list_the_primary() {
    let s = start().await;
    let group = "mailscope-invoice-mailer-allow";
    s.ok(
        "Add-DistributionGroupMember",
        json!({"Identity": group, "Member": ALIAS, "BypassSecurityGroupManagerCheck": true}),
    )
    .await;
    let members = s.ok("Get-DistributionGroupMember", json!({"Identity": group})).await;
    let primaries: Vec<&str> = members.iter().map(|m| m["PrimarySmtpAddress"].as_str().unwrap()).collect();
    assert!(primaries.contains(&"support@contoso.com"), "{primaries:?}");
    assert!(!primaries.iter().any(|p| p.eq_ignore_ascii_case(ALIAS)));
    // The same mailbox by its primary is already a member.
    let r = s.err("Add-DistributionGroupMember", json!({"Identity": group, "Member": "support@contoso.com", "BypassSecurityGroupManagerCheck": true})).await;
    assert!(r.detail().contains("is already a member"), "{}", r.detail());
    s.ok("Remove-DistributionGroupMember", json!({"Identity": group, "Member": ALIAS, "Confirm": false, "BypassSecurityGroupManagerCheck": true})).await;
    let members = s.ok("Get-DistributionGroupMember", json!({"Identity": group})).await;
    assert!(!members.iter().any(|m| m["PrimarySmtpAddress"] == "support@contoso.com"));
}

const BASE: &str = r"
tenant: { id: 8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c, displayName: T, initialDomain: t.onmicrosoft.com }
";

fn load(recipients: &str) -> Result<Sim, SimError> {
    Sim::from_seed_str(&format!("{BASE}recipients:\n{recipients}"), workspace())
}

fn refused(recipients: &str, needle: &str) {
    let e = load(recipients).expect_err("seed must be refused").to_string();
    assert!(e.contains(needle), "{needle} not in {e}");
}

#[test]
fn seed_email_addresses_are_validated() {
    let sim = load(
        "  - { address: a@t.com, kind: UserMailbox, emailAddresses: [SMTP:a@t.com, smtp:alias@t.com, 'X500:/o=x'] }\n",
    )
    .unwrap();
    let t = sim.tenant();
    assert_eq!(
        t.recipients.iter().next().unwrap().email_addresses,
        ["SMTP:a@t.com", "smtp:alias@t.com", "X500:/o=x"]
    );
    assert!(t.recipients.iter().next().unwrap().has_smtp("ALIAS@t.com"));

    // One address, two recipients: as a proxy of both, or one's primary as the other's proxy.
    refused(
        "  - { address: a@t.com, kind: UserMailbox, proxyAddresses: [shared@t.com] }\n  - { address: b@t.com, kind: UserMailbox, emailAddresses: [SMTP:b@t.com, smtp:Shared@t.com] }\n",
        "address `Shared@t.com` of recipient `b@t.com` is already an address of `a@t.com`",
    );
    refused(
        "  - { address: a@t.com, kind: UserMailbox }\n  - { address: b@t.com, kind: UserMailbox, proxyAddresses: [a@t.com] }\n",
        "is already an address of `a@t.com`",
    );
    refused(
        "  - { address: a@t.com, kind: UserMailbox, proxyAddresses: [b@t.com] }\n  - { address: b@t.com, kind: UserMailbox }\n",
        "address `b@t.com` of recipient `b@t.com` is already an address of `a@t.com`",
    );
    // The primary entry must be there, once, and be the address.
    refused(
        "  - { address: a@t.com, kind: UserMailbox, emailAddresses: [smtp:x@t.com] }\n",
        "exactly one `SMTP:` entry",
    );
    refused(
        "  - { address: a@t.com, kind: UserMailbox, emailAddresses: [SMTP:a@t.com, SMTP:x@t.com] }\n",
        "is primary but the address is `a@t.com`",
    );
    refused(
        "  - { address: a@t.com, kind: UserMailbox, emailAddresses: [SMTP:a@t.com, x@t.com] }\n",
        "has no prefix",
    );
    refused(
        "  - { address: a@t.com, kind: UserMailbox, emailAddresses: [SMTP:a@t.com], proxyAddresses: [x@t.com] }\n",
        "cannot both be given",
    );
}
