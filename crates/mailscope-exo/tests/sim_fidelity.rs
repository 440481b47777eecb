//! Where the client meets Exchange behaviour from the public record
//! (docs/exchange.md, "Proxy addresses" and "Paging"), against the emulator
//! over loopback.

mod common;

use mailscope_exo::SnapshotRequest;
use mailscope_planner::{Action, PlanOptions, plan};

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
            Action::AddMember { group, .. } | Action::RemoveMember { group, .. } => group == INVOICE_GROUP,
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
    assert!(
        steps.contains(&Action::AddMember {
            group: INVOICE_GROUP.into(),
            member: "support@contoso.com".into()
        }),
        "{steps:?}"
    );

    // Apply the member steps, read again: nothing left to do for the list.
    for a in &steps {
        match a {
            Action::AddMember { group, member } => exo.add_member(group, member).await.unwrap(),
            Action::RemoveMember { group, member } => exo.remove_member(group, member).await.unwrap(),
            _ => unreachable!(),
        };
    }
    let live = exo.read_snapshot(&request()).await.unwrap();
    let again = plan(&desired, &live, &PlanOptions::default()).unwrap();
    assert!(member_steps(&again).is_empty(), "perpetual diff: {:?}", member_steps(&again));
    assert!(again.findings.iter().any(|f| f.code == "proxy-address"), "the plan keeps saying so");
}
