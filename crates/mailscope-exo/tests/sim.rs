//! mailscope-exo against the emulator over loopback.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mailscope_exo::{
    AccessCheck, AssertionAlgorithm, AuthError, ClientCredentials, Credential, ExoErrorKind, Outcome,
    SnapshotRequest,
};
use mailscope_planner::{AccessRight, LiveSnapshot};
use serde_json::json;

use common::{GITHUB_SUBJECT, github_oidc_token, operator_pem, start};

const INVOICE_APP: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";

async fn assert_works(session: &mailscope_exo::Session) {
    let policies = session.exo().get_policies().await.expect("Get-ApplicationAccessPolicy");
    assert_eq!(policies.len(), 4);
}

#[tokio::test]
async fn client_secret_works() {
    let sim = start().await;
    assert_works(&sim.session()).await;
}

#[tokio::test]
async fn certificate_ps256_and_rs256_work() {
    let sim = start().await;
    let pem = operator_pem();
    for alg in [AssertionAlgorithm::Ps256, AssertionAlgorithm::Rs256] {
        let mut creds = ClientCredentials::with_certificate_file(&sim.tenant, &sim.client_id, &pem).unwrap();
        if let Credential::Certificate(c) = &mut creds.credential {
            *c = c.clone().with_algorithm(alg);
        }
        assert_works(&sim.session_with(creds)).await;
    }
    // Same through the environment variables.
    let p = pem.to_str().unwrap().to_owned();
    let creds = ClientCredentials::from_lookup(|n| match n {
        "AZURE_TENANT_ID" => Some(sim.tenant.clone()),
        "AZURE_CLIENT_ID" => Some(sim.client_id.clone()),
        "AZURE_CLIENT_CERTIFICATE_PATH" => Some(p.clone()),
        "MAILSCOPE_CERTIFICATE_ALG" => Some("RS256".into()),
        _ => None,
    })
    .unwrap();
    assert_works(&sim.session_with(creds)).await;
    std::fs::remove_file(pem).ok();
}

#[tokio::test]
async fn federated_token_file_works_and_is_reread() {
    let sim = start().await;
    let file = std::env::temp_dir().join(format!("mailscope-exo-oidc-{}", uuid::Uuid::new_v4()));
    std::fs::write(&file, github_oidc_token(GITHUB_SUBJECT)).unwrap();
    let f = file.to_str().unwrap().to_owned();
    let creds = ClientCredentials::from_lookup(|n| match n {
        "AZURE_TENANT_ID" => Some(sim.tenant.clone()),
        "AZURE_CLIENT_ID" => Some(sim.client_id.clone()),
        "AZURE_FEDERATED_TOKEN_FILE" => Some(f.clone()),
        _ => None,
    })
    .unwrap();
    let session = sim.session_with(creds);
    assert_works(&session).await;

    // A token for a subject no federated credential matches: the file is
    // re-read on refresh, so the next token request carries it and fails.
    std::fs::write(&file, github_oidc_token("repo:evil/fork:pull_request")).unwrap();
    let scope = session.endpoints().exo_scope.clone();
    let cached = session.tokens().token(&scope).await.unwrap();
    session.tokens().invalidate(&scope, &cached).await;
    let err = session.tokens().token(&scope).await.unwrap_err();
    assert!(matches!(err, AuthError::Entra { .. }), "{err}");
    std::fs::remove_file(file).ok();
}

#[tokio::test]
async fn wrong_secret_is_a_typed_entra_error_without_the_secret() {
    let sim = start().await;
    let creds =
        ClientCredentials::with_secret(&sim.tenant, &sim.client_id, "wrong-secret-value-123").unwrap();
    let err = sim.session_with(creds).exo().get_policies().await.unwrap_err();
    assert_eq!(err.kind, ExoErrorKind::Token);
    let text = format!("{err} {err:?}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains("wrong-secret-value-123"), "{text}");
}

#[tokio::test]
async fn token_is_cached_and_refreshed_single_flight() {
    let sim = start().await;
    let session = sim.session();
    let exo = session.exo();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let exo = exo.clone();
        set.spawn(async move { exo.get_group("Marketing-Senders").await });
    }
    while let Some(r) = set.join_next().await {
        assert!(r.unwrap().unwrap().is_some());
    }
    assert_eq!(session.tokens().requests_sent(), 1);
    assert_eq!(sim.stats().await["endpoints"]["token"], json!(1));

    // Tokens of 2 s are refreshed at half-life: after 1 s the next burst of
    // calls asks for exactly one new token.
    sim.config(json!({"tokenLifetimeSecs": 2})).await;
    let scope = session.endpoints().exo_scope.clone();
    let old = session.tokens().token(&scope).await.unwrap();
    session.tokens().invalidate(&scope, &old).await;
    for _ in 0..8 {
        set.spawn({
            let exo = exo.clone();
            async move { exo.get_group("Marketing-Senders").await }
        });
    }
    while let Some(r) = set.join_next().await {
        assert!(r.unwrap().unwrap().is_some());
    }
    assert_eq!(session.tokens().requests_sent(), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..8 {
        set.spawn({
            let exo = exo.clone();
            async move { exo.get_group("Marketing-Senders").await }
        });
    }
    while let Some(r) = set.join_next().await {
        assert!(r.unwrap().unwrap().is_some());
    }
    assert_eq!(session.tokens().requests_sent(), 3);
    assert_eq!(sim.stats().await["endpoints"]["token"], json!(3));
}

#[tokio::test]
async fn paging_across_many_pages() {
    let sim = start().await;
    sim.faults(json!({"pageSize": 1})).await;
    let session = sim.session();
    let exo = session.exo();
    let policies = exo.get_policies().await.unwrap();
    assert_eq!(policies.len(), 4);
    let members = exo.get_members("mailscope-hr-notifier-allow").await.unwrap();
    assert_eq!(members.len(), 3);
    let counts = sim.cmdlet_counts().await;
    assert_eq!(counts.get("Get-ApplicationAccessPolicy"), Some(&4), "{counts:?}");
    assert_eq!(counts.get("Get-DistributionGroupMember"), Some(&3), "{counts:?}");
    let local = session.stats().snapshot();
    assert_eq!(local.get("Get-ApplicationAccessPolicy"), Some(&4));
}

#[tokio::test]
async fn error_bodies_map_to_kinds() {
    let sim = start().await;
    let exo = sim.session().exo();
    // Not found.
    assert_eq!(exo.get_group("no-such-group").await.unwrap(), None);
    let e = exo.invoke("Get-DistributionGroup", json!({"Identity": "no-such-group"})).await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::NotFound, "{e}");
    // Already a member / not a member, as outcomes and as raw kinds.
    let g = "mailscope-invoice-mailer-allow";
    assert_eq!(exo.add_member(g, "billing@contoso.com").await.unwrap(), Outcome::AlreadySo);
    let e = exo
        .invoke(
            "Add-DistributionGroupMember",
            json!({"Identity": g, "Member": "billing@contoso.com", "BypassSecurityGroupManagerCheck": true}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::AlreadyMember, "{e}");
    assert_eq!(exo.remove_member(g, "ceo@contoso.com").await.unwrap(), Outcome::AlreadySo);
    let e = exo
        .invoke("Remove-DistributionGroupMember", json!({"Identity": g, "Member": "ceo@contoso.com", "Confirm": false, "BypassSecurityGroupManagerCheck": true}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::NotMember, "{e}");
    assert_eq!(exo.add_member(g, "invoices@contoso.com").await.unwrap(), Outcome::Done);
    assert_eq!(exo.remove_member(g, "invoices@contoso.com").await.unwrap(), Outcome::Done);
    // Duplicate group.
    let e =
        exo.new_group("Marketing-Senders", "marketing-senders", None, "mailscope/v1 x").await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::AlreadyExists, "{e}");
    // Unknown parameter, unknown cmdlet (403 with a NUL "gzip" body).
    let e = exo.invoke("Get-DistributionGroup", json!({"BogusParameter": 1})).await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::InvalidParameter, "{e}");
    let e = exo.invoke("Get-NoSuchThing", json!({})).await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Forbidden, "{e}");
    assert_eq!(e.status, Some(403));
    // Remove of something gone.
    assert_eq!(exo.remove_group("no-such-group").await.unwrap(), Outcome::AlreadySo);
    assert_eq!(exo.remove_policy("no-such-policy").await.unwrap(), Outcome::AlreadySo);
}

#[tokio::test]
async fn apps_without_grants_or_roles_get_401_and_403() {
    let sim = start().await;
    // Seed apps: no grants at all; ManageAsApp without a directory role.
    let no_grants = ClientCredentials::with_secret(
        &sim.tenant,
        "deadbeef-0000-4000-8000-0000000000e1",
        "sim-no-grants-secret-test-only",
    )
    .unwrap();
    let e = sim.session_with(no_grants).exo().get_policies().await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Unauthorized, "{e}");
    let half = ClientCredentials::with_secret(
        &sim.tenant,
        "ba5eba11-0000-4000-8000-00000000f00d",
        "sim-half-configured-secret-test-only",
    )
    .unwrap();
    let e = sim.session_with(half).exo().get_policies().await.unwrap_err();
    assert_eq!(e.kind, ExoErrorKind::Forbidden, "{e}");
    assert!(e.to_string().contains("Exchange role"), "{e}");
}

#[tokio::test]
async fn write_cycle_and_test_policy() {
    let sim = start().await;
    let exo = sim.session().exo();
    let marker = "mailscope/v1 app=7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d list=deny";
    let g = exo.new_group("mailscope-crm-sync-deny", "mailscope-crm-sync-deny", None, marker).await.unwrap();
    assert_eq!(g.marker.as_deref(), Some(marker));
    assert_eq!(exo.add_member(&g.name, "ceo@contoso.com").await.unwrap(), Outcome::Done);
    let p = exo
        .new_policy("7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d", &g.name, AccessRight::DenyAccess, marker)
        .await
        .unwrap();
    assert_eq!(p.scope_id, g.id);
    assert_eq!(
        exo.test_policy("ceo@contoso.com", "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d").await.unwrap(),
        AccessCheck::Denied
    );
    assert_eq!(
        exo.test_policy("bob@contoso.com", "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d").await.unwrap(),
        AccessCheck::Granted
    );
    exo.set_policy_description(&p.identity, "mailscope/v1 changed").await.unwrap();
    let managed = exo.get_managed_groups().await.unwrap();
    assert!(managed.iter().any(|m| m.name == g.name));
    assert_eq!(exo.remove_policy(&p.identity).await.unwrap(), Outcome::Done);
    assert_eq!(exo.remove_group(&g.name).await.unwrap(), Outcome::Done);
    let found = exo
        .resolve_recipients(&[
            "CEO@contoso.com".into(),
            "nobody@contoso.com".into(),
            "o'brien@contoso.com".into(),
        ])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].asked, "ceo@contoso.com");
    assert_eq!(found[0].recipient.address.to_ascii_lowercase(), "ceo@contoso.com");
    assert!(found[0].recipient.proxy_addresses.is_empty());
}

#[tokio::test]
async fn throttling_with_retry_after_is_waited_out() {
    let sim = start().await;
    // Seed 1 throttles the 4th call twice in a row (2 s of Retry-After in
    // all); seed 7 threw 9 throttles at these 4 calls, 9 s of waiting.
    sim.faults(json!({"throttleRate": 0.5, "retryAfterSecs": 1, "seed": 1})).await;
    let exo = sim.session().exo();
    let t0 = Instant::now();
    for _ in 0..4 {
        exo.get_group("Marketing-Senders").await.expect("retried past 429");
    }
    let stats = sim.stats().await;
    let throttled = stats["faults"]["throttled"].as_u64().unwrap_or(0);
    assert!(throttled >= 1, "no 429 was injected: {stats}");
    // Each 429 carried Retry-After: 1, and we waited it out.
    assert!(t0.elapsed() >= Duration::from_secs(throttled), "{:?} for {throttled} throttles", t0.elapsed());
}

#[tokio::test]
async fn server_errors_are_retried_for_reads() {
    let sim = start().await;
    sim.faults(json!({"serverErrorRate": 0.5, "serverErrorStatus": 503, "seed": 3})).await;
    let exo = sim.session().exo();
    for _ in 0..4 {
        exo.get_policies().await.expect("retried past 503");
    }
    let stats = sim.stats().await;
    assert!(stats["faults"]["serverError"].as_u64().unwrap_or(0) >= 1, "{stats}");
}

#[tokio::test]
async fn reset_connection_mid_call_is_retried() {
    let sim = start().await;
    sim.faults(json!({"resetRate": 0.5, "seed": 11})).await;
    let exo = sim.session().exo();
    for _ in 0..4 {
        exo.get_group("Marketing-Senders").await.expect("retried past reset");
    }
    let stats = sim.stats().await;
    assert!(stats["faults"]["reset"].as_u64().unwrap_or(0) >= 1, "{stats}");
}

#[tokio::test]
async fn lost_replies_to_writes_are_detected() {
    let sim = start().await;
    let exo = sim.session().exo();
    // Add member: applied, reply lost; the retry sees "already a member".
    sim.faults(json!({"failNthMutation": {"n": 1, "kind": "reset", "when": "after"}})).await;
    let g = "mailscope-invoice-mailer-allow";
    assert_eq!(exo.add_member(g, "invoices@contoso.com").await.unwrap(), Outcome::AlreadySo);
    let members: BTreeSet<String> =
        exo.get_members(g).await.unwrap().into_iter().map(|m| m.address.to_ascii_lowercase()).collect();
    assert!(members.contains("invoices@contoso.com"));
    // New group: applied, reply lost; read back instead of creating twice.
    sim.faults(json!({"failNthMutation": {"n": 1, "kind": "500", "when": "after"}})).await;
    let marker = "mailscope/v1 app=5e4d3c2b-1a09-4f8e-a7d6-c5b4a3928170 list=allow";
    let created = exo
        .new_group("mailscope-support-desk-allow", "mailscope-support-desk-allow", None, marker)
        .await
        .unwrap();
    assert_eq!(created.name, "mailscope-support-desk-allow");
    let again = exo.get_group("mailscope-support-desk-allow").await.unwrap().unwrap();
    assert_eq!(again.marker.as_deref(), Some(marker));
    // New policy: not applied (fails before); read back finds nothing, resent once.
    sim.faults(json!({"failNthMutation": {"n": 1, "kind": "reset", "when": "before"}})).await;
    let p = exo
        .new_policy(
            "5e4d3c2b-1a09-4f8e-a7d6-c5b4a3928170",
            "mailscope-support-desk-allow",
            AccessRight::RestrictAccess,
            marker,
        )
        .await
        .unwrap();
    let all = exo.get_policies().await.unwrap();
    assert_eq!(all.iter().filter(|q| q.app_id == p.app_id).count(), 1);
}

/// The desired file's addresses (policies/contoso.yaml).
const DESIRED_ADDRESSES: [&str; 10] = [
    "billing@contoso.com",
    "invoices@contoso.com",
    "ceo@contoso.com",
    "cfo@contoso.com",
    "hr@contoso.com",
    "recruiting@contoso.com",
    "onboarding@contoso.com",
    "support@contoso.com",
    "helpdesk@contoso.com",
    "scans@contoso.com",
];
const DESIRED_APPS: [&str; 6] = [
    INVOICE_APP,
    "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d",
    "0b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e",
    "5e4d3c2b-1a09-4f8e-a7d6-c5b4a3928170",
    "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    "2c3d4e5f-6a7b-4c8d-9e0f-a1b2c3d4e5f6",
];

fn contoso_request(all_policy_groups: bool) -> SnapshotRequest {
    SnapshotRequest {
        app_ids: DESIRED_APPS.iter().map(|s| (*s).to_owned()).collect(),
        group_names: vec!["Legacy-Scanner-Mailboxes".into()],
        addresses: DESIRED_ADDRESSES.iter().map(|s| (*s).to_owned()).collect(),
        all_policy_groups,
        ..SnapshotRequest::default()
    }
}

fn lower_set<'a>(it: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    it.into_iter().map(|s| s.to_ascii_lowercase()).collect()
}

#[tokio::test]
async fn read_snapshot_uses_minimum_calls_and_matches_expected() {
    let sim = start().await;
    let session = sim.session();
    let snap = session.exo().read_snapshot(&contoso_request(true)).await.unwrap();

    // Minimum calls: 1 policies + 1 managed-group filter + 2 group lookups
    // (Legacy-Scanner-Mailboxes by a filter on the name the request gives, which is also
    // the ScopeName of legacy-scanner's policy, so it is not read again by
    // id; Marketing-Senders by its policy's scope id) + 5 member lists + 1
    // recipient batch (the 5 desired addresses no group holds), plus the
    // RBAC reads: 1 Get-ServicePrincipal, and since the seed has pointers, 1
    // Get-ManagementScope and 1 Get-ManagementRoleAssignment. Measured on
    // the emulator: 1 token request; 13 InvokeCommand calls, no Graph call
    // (the request names no RBAC app and asks for no grants).
    let stats = sim.stats().await;
    eprintln!("read_snapshot on the contoso seed: {stats}");
    let counts = sim.cmdlet_counts().await;
    let expected: std::collections::BTreeMap<String, u64> = [
        ("Get-ApplicationAccessPolicy", 1),
        ("Get-DistributionGroup", 3),
        ("Get-DistributionGroupMember", 5),
        ("Get-Recipient", 1),
        ("Get-ServicePrincipal", 1),
        ("Get-ManagementScope", 1),
        ("Get-ManagementRoleAssignment", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected);
    assert_eq!(session.stats().snapshot(), expected);
    assert_eq!(stats["endpoints"], json!({"token": 1, "invokeCommand": 13}), "{stats}");
    assert_eq!(stats["total"], json!(14), "{stats}");
    assert_eq!(stats["faults"], json!({}), "{stats}");

    let path = common::workspace_root().join("policies/contoso.snapshot.json");
    let want: LiveSnapshot = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Policies: equal as sets.
    let mut got_p = snap.policies.clone();
    let mut want_p = want.policies.clone();
    got_p.sort_by(|a, b| a.identity.cmp(&b.identity));
    want_p.sort_by(|a, b| a.identity.cmp(&b.identity));
    assert_eq!(got_p, want_p);
    // Groups: same ids, names, addresses, markers, member sets (case-insensitive).
    assert_eq!(snap.groups.len(), want.groups.len());
    for w in &want.groups {
        let g = snap.groups.iter().find(|g| g.id == w.id).unwrap_or_else(|| panic!("missing {}", w.name));
        assert_eq!(g.name, w.name);
        assert!(g.primary_smtp_address.eq_ignore_ascii_case(&w.primary_smtp_address));
        assert_eq!(g.marker, w.marker);
        assert_eq!(lower_set(&g.members), lower_set(&w.members), "{}", w.name);
    }
    // Recipients: every desired address and member is known, with the right kind.
    let want_r: std::collections::BTreeMap<String, String> =
        want.recipients.iter().map(|r| (r.address.to_ascii_lowercase(), r.kind.clone())).collect();
    let got_r: std::collections::BTreeMap<String, String> =
        snap.recipients.iter().map(|r| (r.address.to_ascii_lowercase(), r.kind.clone())).collect();
    for a in DESIRED_ADDRESSES
        .iter()
        .map(|s| (*s).to_owned())
        .chain(want.groups.iter().flat_map(|g| g.members.clone()))
    {
        let a = a.to_ascii_lowercase();
        assert_eq!(got_r.get(&a), want_r.get(&a), "{a}");
    }
    for (a, k) in &got_r {
        assert_eq!(want_r.get(a), Some(k), "unexpected recipient {a}");
    }
}

#[tokio::test]
async fn read_snapshot_for_requested_apps_only() {
    let sim = start().await;
    let session = sim.session();
    let snap = session.exo().read_snapshot(&contoso_request(false)).await.unwrap();
    // Marketing-Senders belongs to an app not in the request: not read.
    assert!(!snap.groups.iter().any(|g| g.name == "Marketing-Senders"));
    assert_eq!(snap.policies.len(), 4);
    assert_eq!(session.stats().total(), 1 + 2 + 4 + 1 + 3);
}

#[tokio::test]
async fn read_snapshot_reads_a_scope_by_id_when_its_name_is_now_another_group() {
    let sim = start().await;
    let exo = sim.session().exo();
    // Delete legacy-scanner's scope group (its policy stays, IsValid false,
    // ScopeName kept) and make a new group with the same name.
    assert_eq!(exo.remove_group("Legacy-Scanner-Mailboxes").await.unwrap(), Outcome::Done);
    exo.invoke(
        "New-DistributionGroup",
        json!({"Name": "Legacy-Scanner-Mailboxes", "Alias": "legacy-scanner-2", "Type": "Security"}),
    )
    .await
    .unwrap();
    sim.reset_stats().await;
    let session = sim.session();
    let req = SnapshotRequest {
        app_ids: vec![DESIRED_APPS[5].to_owned()],
        group_names: vec!["Legacy-Scanner-Mailboxes".into()],
        ..SnapshotRequest::default()
    };
    let snap = session.exo().read_snapshot(&req).await.unwrap();
    let policy = snap.policies.iter().find(|p| p.app_id == DESIRED_APPS[5]).unwrap();
    assert_eq!(policy.scope_id, "6a1b2c3d-0003-4000-8000-000000000003");
    assert_eq!(policy.scope_name, "Legacy-Scanner-Mailboxes");
    // The name resolved to the new group; the old scope was then looked up
    // by id (not found: it is gone), in a second round.
    let named: Vec<_> = snap.groups.iter().filter(|g| g.name == "Legacy-Scanner-Mailboxes").collect();
    assert_eq!(named.len(), 1);
    assert_ne!(named[0].id, policy.scope_id);
    assert!(named[0].members.is_empty());
    let counts = sim.cmdlet_counts().await;
    assert_eq!(counts.get("Get-DistributionGroup"), Some(&3), "{counts:?}");
}

#[tokio::test]
async fn empty_request_on_seed_reads_managed_groups() {
    let sim = start().await;
    let snap = sim.session().exo().read_snapshot(&SnapshotRequest::default()).await.unwrap();
    assert_eq!(snap.groups.len(), 3);
}

#[tokio::test]
async fn graph_lists_mailbox_grants() {
    let sim = start().await;
    let session = sim.session();
    let grants = session.graph().list_mailbox_grants().await.unwrap();
    let invoice: Vec<_> = grants.iter().filter(|g| g.app_id == INVOICE_APP).collect();
    assert_eq!(invoice.len(), 1, "{grants:?}");
    assert_eq!(invoice[0].permission, "Mail.Send");
    assert_eq!(invoice[0].resource_app_id, "00000003-0000-0000-c000-000000000000");
    assert_eq!(invoice[0].app_role_id, "b633e1c5-b582-4048-a93e-9f11b44c7e96");
    let crm: BTreeSet<&str> =
        grants.iter().filter(|g| g.app_id == DESIRED_APPS[1]).map(|g| g.permission.as_str()).collect();
    assert_eq!(crm, BTreeSet::from(["Mail.Read", "Mail.Send"]));
    // Only mailbox permissions: the operator's Application.Read.All is not listed.
    assert!(!grants.iter().any(|g| g.permission == "Application.Read.All"));
}

#[tokio::test]
async fn the_tenant_identity_is_the_same_whichever_name_logged_in() {
    let sim = start().await;
    let secret = sim.session().tokens().credentials().credential.clone();
    let mut seen = Vec::new();
    for name in [sim.tenant.as_str(), "contoso.onmicrosoft.com", "Contoso.com"] {
        let creds = ClientCredentials::new(name, &sim.client_id, secret.clone()).unwrap();
        let identity = sim.session_with(creds).exo().tenant_identity().await.expect(name);
        assert_eq!(identity.id, sim.tenant.to_ascii_lowercase(), "{name}");
        assert_eq!(identity.initial_domain.as_deref(), Some("contoso.onmicrosoft.com"));
        assert_eq!(identity.domains, ["contoso.onmicrosoft.com", "contoso.com"]);
        assert!(identity.is_named_by(name));
        seen.push(identity);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_the_file_names_are_looked_up_in_batches_by_name() {
    let sim = start().await;
    let session = sim.session();
    // 120 derived names of groups a plan would create, one existing group by
    // its address and one by its alias: three filtered calls, not 122.
    let mut names: Vec<String> = (0..120).map(|i| format!("mailscope-new-app-{i}-allow")).collect();
    names.push("marketing-senders@contoso.com".to_owned());
    names.push("legacy-scanner-mailboxes".to_owned());
    let request = mailscope_exo::SnapshotRequest { group_names: names, ..Default::default() };
    let snap = session.exo().read_snapshot(&request).await.unwrap();
    let counts = sim.cmdlet_counts().await;
    assert_eq!(counts.get("Get-DistributionGroup"), Some(&(1 + 3)), "{counts:?}");
    let found: Vec<&str> = snap.groups.iter().map(|g| g.name.as_str()).collect();
    assert!(found.contains(&"Marketing-Senders"), "{found:?}");
    assert!(found.contains(&"Legacy-Scanner-Mailboxes"), "{found:?}");
    assert!(!found.iter().any(|n| n.starts_with("mailscope-new-app")), "{found:?}");
}
