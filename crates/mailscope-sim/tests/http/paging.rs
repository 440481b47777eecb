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

/// One `Get-Recipient` page of 5 at `url`, sent with `anchor` as
/// `X-AnchorMailbox` (none when `None`); status and body.
async fn page(s: &TestSim, t: &str, url: &str, anchor: Option<&str>) -> (StatusCode, Value) {
    let body = json!({"CmdletInput": {"CmdletName": "Get-Recipient", "Parameters": {}}});
    let mut req = s
        .http
        .post(url)
        .bearer_auth(t)
        .header("Prefer", "odata.maxpagesize=5")
        .header("X-ResponseFormat", "json")
        .json(&body);
    if let Some(a) = anchor {
        req = req.header("X-AnchorMailbox", a);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

fn next_link(v: &Value) -> String {
    v["@odata.nextLink"].as_str().expect("a next link").to_owned()
}

#[track_caller]
fn assert_expired(status: StatusCode, v: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let text = "Expired or Invalid pagination request. Default Expiry time is 00:30:00";
    assert_eq!(v["error"]["message"], "Invalid Operation", "{v}");
    assert_eq!(v["error"]["innererror"]["internalexception"]["message"], text, "{v}");
    assert_eq!(v["error"]["innererror"]["internalexception"]["type"], "System.Exception", "{v}");
    assert!(v["error"].get("details").is_none(), "{v}");
}

const ANCHOR: &str =
    "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";

#[tokio::test]
async fn next_links_expire_after_the_configured_time() {
    let mut cfg = mailscope_sim::SimConfig::default();
    assert_eq!(cfg.fidelity.page_link_expiry_seconds, 1800, "default: the 30 minutes of the message");
    cfg.fidelity.page_link_expiry_seconds = 1;
    let s = start_config(cfg).await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let (_, first) = page(&s, &t, &s.invoke_url(), Some(ANCHOR)).await;
    let next = next_link(&first);
    // A young link works, and may be used again (a retried read).
    let (status, second) = page(&s, &t, &next, Some(ANCHOR)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["value"].as_array().unwrap().len(), 5);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, v) = page(&s, &t, &next, Some(ANCHOR)).await;
    assert_expired(status, &v);
    // A fresh read from the first page gets fresh links.
    let (_, first) = page(&s, &t, &s.invoke_url(), Some(ANCHOR)).await;
    assert_eq!(page(&s, &t, &next_link(&first), Some(ANCHOR)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn next_links_can_be_bound_to_the_anchor_of_the_first_page() {
    let other = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.com";
    // Off by default: any anchor, or none, follows a link.
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let (_, first) = page(&s, &t, &s.invoke_url(), Some(ANCHOR)).await;
    assert_eq!(page(&s, &t, &next_link(&first), Some(other)).await.0, StatusCode::OK);
    assert_eq!(page(&s, &t, &next_link(&first), None).await.0, StatusCode::OK);

    let mut cfg = mailscope_sim::SimConfig::default();
    cfg.fidelity.page_link_same_anchor = true;
    let s = start_config(cfg).await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let (_, first) = page(&s, &t, &s.invoke_url(), Some(ANCHOR)).await;
    let next = next_link(&first);
    let (status, v) = page(&s, &t, &next, Some(other)).await;
    assert_expired(status, &v);
    let (status, v) = page(&s, &t, &next, None).await;
    assert_expired(status, &v);
    // The anchor compares case-insensitively, as Exchange routes it.
    assert_eq!(page(&s, &t, &next, Some(&ANCHOR.to_ascii_lowercase())).await.0, StatusCode::OK);
    // A read without an anchor keeps working without one.
    let (_, first) = page(&s, &t, &s.invoke_url(), None).await;
    assert_eq!(page(&s, &t, &next_link(&first), None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn truncated_pages_carry_a_warning_when_asked() {
    let s = start().await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let (_, first) = page(&s, &t, &s.invoke_url(), Some(ANCHOR)).await;
    assert_eq!(first["@adminapi.warnings"], json!([]), "off by default");

    let mut cfg = mailscope_sim::SimConfig::default();
    cfg.fidelity.truncation_warnings = true;
    let s = start_config(cfg).await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let mut url = s.invoke_url();
    let mut warned = Vec::new();
    loop {
        let (status, v) = page(&s, &t, &url, Some(ANCHOR)).await;
        assert_eq!(status, StatusCode::OK);
        warned.push(v["@adminapi.warnings"].as_array().unwrap().len());
        match v["@odata.nextLink"].as_str() {
            Some(n) => n.clone_into(&mut url),
            None => break,
        }
    }
    // 20 recipients in pages of 5: the three pages followed by a link warn, the last does not.
    assert_eq!(warned, [1, 1, 1, 0]);
    let (_, v) = page(&s, &t, &s.invoke_url(), Some(ANCHOR)).await;
    assert!(v["@adminapi.warnings"][0].as_str().unwrap().contains("more results available"), "{v}");
}

#[tokio::test]
async fn the_expire_page_links_fault_expires_that_many_continuations() {
    let s = start().await;
    s.control("/_sim/faults", Some(json!({"expirePageLinks": 2}))).await;
    let t = s.token(OPERATOR, EXO_SCOPE).await;
    let (status, first) = page(&s, &t, &s.invoke_url(), Some(ANCHOR)).await;
    assert_eq!(status, StatusCode::OK, "first pages are not continuations");
    let next = next_link(&first);
    for _ in 0..2 {
        let (status, v) = page(&s, &t, &next, Some(ANCHOR)).await;
        assert_expired(status, &v);
    }
    assert_eq!(page(&s, &t, &next, Some(ANCHOR)).await.0, StatusCode::OK);
    let faults = s.control("/_sim/faults", None).await;
    assert_eq!(faults["expirePageLinks"], 0, "{faults}");
}
