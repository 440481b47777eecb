//! Where the client meets Exchange behaviour from the public record
//! (docs/exchange.md, "Proxy addresses" and "Paging"), against the emulator
//! over loopback.

#[allow(dead_code)] // `Capture::install` is for the binaries that own the global subscriber.
mod capture;
mod common;

use std::collections::BTreeSet;

use mailscope_exo::{ExoErrorKind, SnapshotRequest};
use mailscope_planner::{Action, PlanOptions, plan};
use serde_json::{Value, json};

use capture::Capture;
use common::start;

const INVOICE_APP: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";
const INVOICE_GROUP: &str = "mailscope-invoice-mailer-allow";

/// `servicedesk@contoso.com` is a secondary address of `support@contoso.com`
/// in the Contoso seed.
const DESIRED: &str = "apiVersion: mailscope/v1
apps:
  - name: invoice-mailer
    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60
    allow:
      - billing@contoso.com
      - ServiceDesk@contoso.com
";

fn request() -> SnapshotRequest {
    SnapshotRequest {
        app_ids: vec![INVOICE_APP.into()],
        addresses: vec!["billing@contoso.com".into(), "ServiceDesk@contoso.com".into()],
        ..SnapshotRequest::default()
    }
}

/// The group member steps of the invoice-mailer allow group.
fn member_steps(p: &mailscope_planner::Plan) -> Vec<Action> {
    p.steps
        .iter()
        .map(|s| s.action.clone())
        .filter(|a| match a {
            Action::AddMember { group, .. }
            | Action::RemoveMember { group, .. }
            | Action::ReplaceMembers { group, .. } => group == INVOICE_GROUP,
            _ => false,
        })
        .collect()
}

#[tokio::test]
async fn a_proxy_address_in_an_allow_list_is_planned_as_the_primary_and_converges() {
    let sim = start().await;
    let exo = sim.session().exo();

    let found = exo.resolve_recipients(&["ServiceDesk@contoso.com".into()]).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].asked, "servicedesk@contoso.com");
    assert_eq!(found[0].recipient.address, "support@contoso.com");
    assert_eq!(found[0].recipient.proxy_addresses, ["servicedesk@contoso.com"]);

    let desired = mailscope_spec::parse(DESIRED, "policies.yaml").unwrap();
    let live = exo.read_snapshot(&request()).await.unwrap();
    let support = live.recipients.iter().find(|r| r.address == "support@contoso.com").expect("resolved");
    assert_eq!(support.proxy_addresses, ["servicedesk@contoso.com"]);
    let p = plan(&desired, &live, &PlanOptions::default()).unwrap();
    let finding = p.findings.iter().find(|f| f.code == "proxy-address").expect("proxy-address finding");
    assert!(finding.message.starts_with("policies.yaml:7:9: servicedesk@contoso.com"), "{}", finding.message);
    let steps = member_steps(&p);
    // support@ joins under its primary address, alone or in a replace.
    assert!(
        steps.iter().any(|a| match a {
            Action::AddMember { member, .. } => member == "support@contoso.com",
            Action::ReplaceMembers { added, members, .. } => {
                added.iter().any(|m| m == "support@contoso.com")
                    && members.iter().any(|m| m == "support@contoso.com")
                    && !members.iter().any(|m| m == "servicedesk@contoso.com")
            }
            _ => false,
        }),
        "{steps:?}"
    );

    // Apply the member steps, read again: nothing left to do for the list.
    for a in &steps {
        match a {
            Action::AddMember { group, member } => exo.add_member(group, member).await.unwrap(),
            Action::RemoveMember { group, member } => exo.remove_member(group, member).await.unwrap(),
            Action::ReplaceMembers { group, members, .. } => {
                exo.replace_members(group, members).await.unwrap()
            }
            _ => unreachable!(),
        };
    }
    let live = exo.read_snapshot(&request()).await.unwrap();
    let again = plan(&desired, &live, &PlanOptions::default()).unwrap();
    assert!(member_steps(&again).is_empty(), "perpetual diff: {:?}", member_steps(&again));
    assert!(again.findings.iter().any(|f| f.code == "proxy-address"), "the plan keeps saying so");
}

/// Names of `Get-Recipient` rows, checking there are no repeats.
fn names(values: &[Value]) -> BTreeSet<String> {
    let names: BTreeSet<String> = values.iter().map(|v| v["Name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names.len(), values.len(), "a row came twice");
    names
}

#[tokio::test]
async fn an_expired_next_link_mid_read_restarts_the_read_once() {
    let sim = start().await;
    let exo = sim.session().exo();
    let all = names(&exo.invoke("Get-Recipient", json!({})).await.unwrap());
    assert_eq!(all.len(), 20);

    // Pages of 5; the first continuation answers as expired, then links work.
    sim.faults(json!({"pageSize": 5, "expirePageLinks": 1})).await;
    sim.reset_stats().await;
    let out = exo.invoke_read("Get-Recipient", json!({})).await.unwrap();
    assert_eq!(names(&out.values), all, "the pages before the expiry are not kept twice");
    // 2 requests (page 1, the expired link), then the 4 pages again.
    assert_eq!(sim.cmdlet_counts().await["Get-Recipient"], 6);

    // Expired again after the restart: a typed error that says what happened.
    sim.faults(json!({"pageSize": 5, "expirePageLinks": 2})).await;
    let e = exo.invoke("Get-Recipient", json!({})).await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::PageLinkExpired);
    assert_eq!(e.status, Some(400));
    let text = e.to_string();
    assert!(text.contains("Expired or Invalid pagination request"), "{text}");
    assert!(text.contains("again after reading from the first page once more"), "{text}");

    // Through the snapshot read too: its listings restart the same way.
    sim.faults(json!({"pageSize": 2, "expirePageLinks": 1})).await;
    let snap = exo.read_snapshot(&request()).await.unwrap();
    assert_eq!(snap.policies.len(), 4);
}

#[tokio::test]
async fn every_page_carries_the_anchor_of_the_first() {
    let sim = start().await;
    sim.config(json!({"fidelity": {"pageLinkSameAnchor": true}})).await;
    sim.faults(json!({"pageSize": 3})).await;
    let exo = sim.session().exo();
    sim.reset_stats().await;
    let values = exo.invoke("Get-Recipient", json!({})).await.expect("links bound to the anchor");
    assert_eq!(names(&values).len(), 20);
    assert_eq!(sim.cmdlet_counts().await["Get-Recipient"], 7, "7 pages, none refused");
}

#[tokio::test]
async fn warnings_of_truncated_pages_are_kept_and_logged() {
    let sim = start().await;
    sim.config(json!({"fidelity": {"truncationWarnings": true}})).await;
    sim.faults(json!({"pageSize": 5})).await;
    let exo = sim.session().exo();

    let capture = Capture::default();
    let writer = capture.clone();
    let guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    );
    let out = exo.invoke_read("Get-Recipient", json!({})).await.unwrap();
    drop(guard);

    assert_eq!(names(&out.values).len(), 20);
    // Three truncated pages warned the same text: kept once.
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].contains("There are more results available"), "{:?}", out.warnings);
    let log = capture.text();
    assert_eq!(log.matches("Exchange returned a warning").count(), 3, "{log}");
    assert!(log.contains(" WARN "), "{log}");
    assert!(log.contains("There are more results available"), "{log}");

    // Without the knob: no warnings.
    sim.config(json!({})).await;
    assert!(exo.invoke_read("Get-Recipient", json!({})).await.unwrap().warnings.is_empty());
}
