//! RBAC for Applications reads and writes against the emulator over loopback.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mailscope_exo::{ExoErrorKind, Outcome, Session, SnapshotRequest};
use mailscope_planner::ScopeFilter;
use mailscope_testkit::{Emulator, Seed, contoso};

const NEWSLETTER: &str = "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f7";
const DIGEST: &str = "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1c";
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

/// The Contoso seed with the operator also holding
/// `AppRoleAssignment.ReadWrite.All` (needed to delete a grant), written to
/// a temporary file with its relative paths made absolute.
fn seed_with_grant_write() -> PathBuf {
    let text = std::fs::read_to_string(contoso::seed_path()).unwrap();
    let testdata = mailscope_testkit::sim_testdata("");
    let text = text.replace("../crates/mailscope-sim/testdata/", testdata.to_str().unwrap()).replace(
        "graphPermissions: [Application.Read.All]",
        "graphPermissions: [Application.Read.All, AppRoleAssignment.ReadWrite.All]",
    );
    assert!(text.contains("AppRoleAssignment.ReadWrite.All"), "the operator's line moved in the seed");
    let path = std::env::temp_dir().join(format!("mailscope-exo-rbac-{}.yaml", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    path
}

async fn cmdlet_counts(emu: &Emulator) -> BTreeMap<String, u64> {
    let s: serde_json::Value =
        reqwest::get(format!("{}/_sim/stats", emu.base_url())).await.unwrap().json().await.unwrap();
    serde_json::from_value(s["cmdlets"].clone()).unwrap_or_default()
}

async fn graph_calls(emu: &Emulator) -> u64 {
    let s: serde_json::Value =
        reqwest::get(format!("{}/_sim/stats", emu.base_url())).await.unwrap().json().await.unwrap();
    s["endpoints"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("graph"))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn read_snapshot_reads_the_rbac_objects_in_three_calls() {
    let emu = Emulator::contoso().await;
    let session = emu.session();
    let req = SnapshotRequest {
        app_ids: vec![NEWSLETTER.into(), DIGEST.into(), contoso::INVOICE_MAILER.into()],
        group_names: vec!["Marketing-Senders".into()],
        rbac_app_ids: vec![NEWSLETTER.into(), DIGEST.into(), contoso::INVOICE_MAILER.into()],
        grants: true,
        ..SnapshotRequest::default()
    };
    let snap = session.exo().read_snapshot(&req).await.unwrap();

    let counts = cmdlet_counts(&emu).await;
    for cmdlet in ["Get-ServicePrincipal", "Get-ManagementScope", "Get-ManagementRoleAssignment"] {
        assert_eq!(counts.get(cmdlet), Some(&1), "{cmdlet}: {counts:?}");
    }
    // Pointers, resolved assignments, the scope.
    let pointers: Vec<&str> = snap.exchange_service_principals.iter().map(|p| p.app_id.as_str()).collect();
    assert_eq!(pointers, vec![NEWSLETTER, DIGEST]);
    assert_eq!(snap.management_scopes.len(), 1);
    let scope = &snap.management_scopes[0];
    assert_eq!(scope.name, "Marketing-Senders-Scope");
    let (allow, deny) = ScopeFilter::parse_opath(&scope.filter).unwrap();
    assert!(allow.unwrap().starts_with("CN=Marketing-Senders,"));
    assert_eq!(deny, None);
    let assigned: Vec<(&str, &str, Option<&str>)> = snap
        .role_assignments
        .iter()
        .map(|a| (a.name.as_str(), a.app_id.as_str(), a.scope.as_deref()))
        .collect();
    assert_eq!(
        assigned,
        vec![
            ("digest-sender-mail-send", DIGEST, Some("Marketing-Senders-Scope")),
            ("newsletter-rbac-mail-send", NEWSLETTER, Some("Marketing-Senders-Scope")),
        ]
    );
    assert!(snap.role_assignments.iter().all(|a| a.role == "Application Mail.Send"));
    // The group's DN is what the scope names.
    let group = snap.groups.iter().find(|g| g.name == "Marketing-Senders").unwrap();
    assert_eq!(
        group.distinguished_name.as_deref(),
        ScopeFilter::parse_opath(&scope.filter).unwrap().0.as_deref()
    );
    // Entra service principals: the RBAC app without a pointer, and (read
    // with the grants, at no extra call) every grant holder, once each.
    let entra: Vec<&str> = snap.service_principals.iter().map(|s| s.app_id.as_str()).collect();
    assert!(entra.contains(&contoso::INVOICE_MAILER) && entra.contains(&DIGEST), "{entra:?}");
    let mut unique = entra.clone();
    unique.dedup();
    assert_eq!(unique, entra, "sorted, once each");
    let invoice = snap.service_principals.iter().find(|s| s.app_id == contoso::INVOICE_MAILER).unwrap();
    assert!(!invoice.object_id.eq_ignore_ascii_case(contoso::INVOICE_MAILER));
    // Grants, with what a removal needs.
    assert!(snap.grants_read);
    let digest = snap.grants.iter().find(|g| g.app_id == DIGEST).expect("digest-sender's Entra grant");
    assert_eq!(digest.permission, "Mail.Send");
    assert!(digest.id.is_some() && digest.resource_id.is_some());
}

#[tokio::test]
async fn a_tenant_without_pointers_costs_one_rbac_call_and_no_graph_call() {
    let emu = Emulator::contoso().await;
    let exo = emu.session().exo();
    for app in [NEWSLETTER, DIGEST] {
        assert_eq!(exo.remove_service_principal(app).await.unwrap(), Outcome::Done);
    }
    reqwest::Client::new().post(format!("{}/_sim/stats/reset", emu.base_url())).send().await.unwrap();
    let snap = emu.session().exo().read_snapshot(&SnapshotRequest::default()).await.unwrap();
    let counts = cmdlet_counts(&emu).await;
    assert_eq!(counts.get("Get-ServicePrincipal"), Some(&1));
    assert_eq!(counts.get("Get-ManagementScope"), None, "{counts:?}");
    assert_eq!(counts.get("Get-ManagementRoleAssignment"), None, "{counts:?}");
    assert_eq!(graph_calls(&emu).await, 0);
    assert!(snap.exchange_service_principals.is_empty() && snap.role_assignments.is_empty());
    assert!(!snap.grants_read);
}

/// New, repeat, conflict and remove of each RBAC object, and the check.
#[tokio::test]
async fn rbac_write_cycle_with_harmless_repeats() {
    let emu = Emulator::contoso().await;
    let session: Session = emu.session();
    let (exo, graph) = (session.exo(), session.graph());
    let app = contoso::INVOICE_MAILER;
    let sp = graph.service_principal(app).await.unwrap().expect("invoice-mailer's service principal");
    assert_eq!(sp.app_id, app);
    assert_eq!(graph.service_principal("00000000-0000-4000-8000-00000000dead").await.unwrap(), None);

    // Pointer: the app registration's id where the object id belongs is refused.
    let err = exo.new_service_principal(app, app, "mailscope/v1").await.unwrap_err();
    assert_ne!(err.kind, ExoErrorKind::AlreadyExists, "{err}");
    assert_eq!(exo.new_service_principal(app, &sp.object_id, "mailscope/v1").await.unwrap(), Outcome::Done);
    assert_eq!(
        exo.new_service_principal(app, &sp.object_id, "mailscope/v1").await.unwrap(),
        Outcome::AlreadySo
    );

    // Scope: same name and meaning is a repeat; another filter is someone else's.
    let dn = exo.get_group("Marketing-Senders").await.unwrap().unwrap().distinguished_name.unwrap();
    let filter = ScopeFilter { allow_group: Some("g".into()), deny_group: None };
    let opath = filter.to_opath(Some(&dn), None).unwrap();
    assert_eq!(exo.new_management_scope("mailscope-invoice", &opath).await.unwrap(), Outcome::Done);
    let upper = format!("({})", opath.replace("MemberOfGroup", "memberofgroup"));
    assert_eq!(exo.new_management_scope("mailscope-invoice", &upper).await.unwrap(), Outcome::AlreadySo);
    let other = format!("-not ({opath})");
    let err = exo.new_management_scope("mailscope-invoice", &other).await.unwrap_err();
    assert_eq!(err.kind, ExoErrorKind::AlreadyExists);
    assert_eq!(exo.set_management_scope("mailscope-invoice", &opath).await.unwrap(), Outcome::Done);

    // Assignment.
    let a = "mailscope-invoice-mail-send";
    assert_eq!(
        exo.new_role_assignment(a, app, "Mail.Send", "mailscope-invoice").await.unwrap(),
        Outcome::Done
    );
    assert_eq!(
        exo.new_role_assignment(a, app, "Mail.Send", "mailscope-invoice").await.unwrap(),
        Outcome::AlreadySo
    );
    let err = exo.new_role_assignment(a, app, "Mail.Read", "mailscope-invoice").await.unwrap_err();
    assert_eq!(err.kind, ExoErrorKind::AlreadyExists);

    // The check: one row per role, in scope for members only.
    let rows = exo.test_service_principal_authorization(app, "marketing@contoso.com").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].permission(), "Mail.Send");
    assert_eq!(rows[0].in_scope, Some(true));
    let rows = exo.test_service_principal_authorization(app, "ceo@contoso.com").await.unwrap();
    assert_eq!(rows[0].in_scope, Some(false));

    // A scope in use is not removed; in order, everything goes, twice.
    assert!(exo.remove_management_scope("mailscope-invoice").await.is_err());
    assert_eq!(exo.remove_role_assignment(a).await.unwrap(), Outcome::Done);
    assert_eq!(exo.remove_role_assignment(a).await.unwrap(), Outcome::AlreadySo);
    assert_eq!(exo.remove_management_scope("mailscope-invoice").await.unwrap(), Outcome::Done);
    assert_eq!(exo.remove_management_scope("mailscope-invoice").await.unwrap(), Outcome::AlreadySo);
    assert_eq!(exo.remove_service_principal(app).await.unwrap(), Outcome::Done);
    assert_eq!(exo.remove_service_principal(app).await.unwrap(), Outcome::AlreadySo);
}

#[tokio::test]
async fn an_entra_grant_is_deleted_once_and_then_already_gone() {
    let seed = seed_with_grant_write();
    let emu = Emulator::start(&Seed::File(seed.clone())).await;
    std::fs::remove_file(seed).ok();
    let graph = emu.session().graph();
    let grants = graph.list_mailbox_grants().await.unwrap();
    let g = grants.iter().find(|g| g.app_id == DIGEST && g.resource_app_id == GRAPH).unwrap();
    let (resource, id) = (g.resource_id.clone().unwrap(), g.id.clone().unwrap());
    assert_eq!(graph.remove_grant(&resource, &id).await.unwrap(), Outcome::Done);
    assert_eq!(graph.remove_grant(&resource, &id).await.unwrap(), Outcome::AlreadySo);
    assert!(!graph.list_mailbox_grants().await.unwrap().iter().any(|g| g.app_id == DIGEST));
    // Ids from a plan file never reach the URL unchecked.
    let err = graph.remove_grant("../users", &id).await.unwrap_err();
    assert_eq!(err.kind, ExoErrorKind::InvalidParameter);
}

#[tokio::test]
async fn deleting_a_grant_needs_the_write_permission() {
    let emu = Emulator::contoso().await;
    let graph = emu.session().graph();
    let grants = graph.list_mailbox_grants().await.unwrap();
    let g = grants.iter().find(|g| g.app_id == DIGEST).unwrap();
    let err =
        graph.remove_grant(g.resource_id.as_deref().unwrap(), g.id.as_deref().unwrap()).await.unwrap_err();
    assert_eq!(err.kind, ExoErrorKind::Forbidden);
}
