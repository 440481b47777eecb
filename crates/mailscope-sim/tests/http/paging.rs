//! `Prefer: odata.maxpagesize` and `@odata.nextLink` continuation (docs/exchange.md, "Admin API
//! wire format").

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

async fn all_pages(s: &TestSim, cmdlet: &str, params: Value, page: usize) -> (Vec<Value>, usize) {
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}});
    let mut url = s.invoke_url();
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let r = s
            .exo_request(&url, &t, &body)
            .header("Prefer", format!("odata.maxpagesize={page}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        let items = v["value"].as_array().unwrap();
        assert!(items.len() <= page);
        out.extend(items.iter().cloned());
        pages += 1;
        match v["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&format!("{}/adminapi/beta/", s.base)), "{next}");
                next.clone_into(&mut url);
            }
            None => break,
        }
    }
    (out, pages)
}

#[tokio::test]
async fn get_recipient_pages_through_everything_once() {
    let s = start().await;
    let (all, pages) = all_pages(&s, "Get-Recipient", json!({}), 4).await;
    assert_eq!(all.len(), 20);
    assert_eq!(pages, 5);
    let names: BTreeSet<_> = all.iter().map(|r| r["Name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names.len(), 20);
}

#[tokio::test]
async fn each_get_cmdlet_pages() {
    let s = start().await;
    assert_eq!(
        all_pages(&s, "Get-ApplicationAccessPolicy", json!({}), 3).await,
        (s.ok("Get-ApplicationAccessPolicy", json!({})).await, 2)
    );
    assert_eq!(all_pages(&s, "Get-DistributionGroup", json!({}), 2).await.1, 3);
    assert_eq!(all_pages(&s, "Get-Mailbox", json!({}), 7).await.0.len(), 15);
    let (m, pages) =
        all_pages(&s, "Get-DistributionGroupMember", json!({"Identity": "mailscope-hr-notifier-allow"}), 1)
            .await;
    assert_eq!((m.len(), pages), (3, 3));
}

#[tokio::test]
async fn next_link_rejects_a_different_body_and_ignores_bad_prefer() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let body = json!({"CmdletInput": {"CmdletName": "Get-Recipient", "Parameters": {}}});
    let v: Value = s
        .exo_request(&s.invoke_url(), &t, &body)
        .header("Prefer", "odata.maxpagesize=5")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next = v["@odata.nextLink"].as_str().unwrap();
    let other = json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}});
    let r = s.exo_request(next, &t, &other).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Out-of-range page sizes fall back to the default of 1000.
    let v: Value = s
        .exo_request(&s.invoke_url(), &t, &body)
        .header("Prefer", "odata.maxpagesize=5000")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 20);
}
