//! RBAC steps: `ExoTenant::rbac_step` against the emulator, and the
//! in-memory fake with the same semantics.

mod common;

use common::FakeTenant;
use mailscope_applier::{ExoTenant, StepOutcome, Tenant, TenantErrorKind};
use mailscope_planner::{Action, EntraServicePrincipal, LiveSnapshot, ScopeFilter};
use mailscope_testkit::{Emulator, contoso};

const GROUP: &str = "mailscope-invoice-mailer-allow";
const SCOPE: &str = "mailscope-invoice-mailer";
const ASSIGNMENT: &str = "mailscope-invoice-mailer-mail-send";

/// The steps that move invoice-mailer onto a scoped Mail.Send assignment
/// over its allow group.
fn steps(object_id: &str) -> Vec<Action> {
    let app_id = contoso::INVOICE_MAILER.to_owned();
    vec![
        Action::CreateServicePrincipal {
            app_id: app_id.clone(),
            object_id: object_id.to_owned(),
            display_name: "mailscope/v1 invoice-mailer".into(),
        },
        Action::CreateManagementScope {
            name: SCOPE.into(),
            app_id: app_id.clone(),
            filter: ScopeFilter { allow_group: Some(GROUP.into()), deny_group: None },
        },
        Action::CreateRoleAssignment {
            name: ASSIGNMENT.into(),
            app_id,
            permission: "Mail.Send".into(),
            scope: SCOPE.into(),
        },
    ]
}

fn teardown() -> Vec<Action> {
    let app_id = contoso::INVOICE_MAILER.to_owned();
    vec![
        Action::RemoveRoleAssignment {
            name: ASSIGNMENT.into(),
            app_id: app_id.clone(),
            permission: "Mail.Send".into(),
            scope: Some(SCOPE.into()),
        },
        Action::RemoveManagementScope { name: SCOPE.into(), app_id: app_id.clone() },
        Action::RemoveServicePrincipal { app_id },
    ]
}

/// Runs `actions` in order twice: each first run changes the tenant, each
/// repeat is harmless.
async fn twice<T: Tenant>(tenant: &T, actions: &[Action]) {
    for a in actions {
        assert_eq!(tenant.rbac_step(a).await.unwrap(), StepOutcome::Done, "{a:?}");
        assert_eq!(tenant.rbac_step(a).await.unwrap(), StepOutcome::AlreadyDone, "repeat of {a:?}");
    }
}

#[tokio::test]
async fn exo_tenant_executes_rbac_steps_with_the_groups_dns_of_the_moment() {
    let emu = Emulator::contoso().await;
    let session = emu.session();
    let tenant = ExoTenant::new(session.exo());
    let sp = session.graph().service_principal(contoso::INVOICE_MAILER).await.unwrap().unwrap();

    twice(&tenant, &steps(&sp.object_id)).await;
    let exo = session.exo();
    let scope = exo.get_management_scope(SCOPE).await.unwrap().unwrap();
    let dn = exo.get_group(GROUP).await.unwrap().unwrap().distinguished_name.unwrap();
    assert_eq!(ScopeFilter::parse_opath(&scope.filter), Some((Some(dn), None)));
    let members = exo.get_members(GROUP).await.unwrap();
    let rows =
        exo.test_service_principal_authorization(contoso::INVOICE_MAILER, &members[0].address).await.unwrap();
    assert_eq!(rows[0].in_scope, Some(true));
    let rows =
        exo.test_service_principal_authorization(contoso::INVOICE_MAILER, "ceo@contoso.com").await.unwrap();
    assert_eq!(rows[0].in_scope, Some(false));

    // A scope over a group that does not exist is never written.
    let missing = Action::SetManagementScope {
        name: SCOPE.into(),
        app_id: contoso::INVOICE_MAILER.into(),
        filter: ScopeFilter { allow_group: Some("no-such-group".into()), deny_group: None },
    };
    assert_eq!(tenant.rbac_step(&missing).await.unwrap_err().kind, TenantErrorKind::NotFound);
    // Nor one over every recipient.
    let everyone = Action::SetManagementScope {
        name: SCOPE.into(),
        app_id: contoso::INVOICE_MAILER.into(),
        filter: ScopeFilter { allow_group: None, deny_group: None },
    };
    assert_eq!(tenant.rbac_step(&everyone).await.unwrap_err().kind, TenantErrorKind::Invalid);
    assert_eq!(exo.get_management_scope(SCOPE).await.unwrap().unwrap().filter, scope.filter);

    // Removing the scope first is refused while the assignment uses it.
    assert!(tenant.rbac_step(&teardown()[1]).await.is_err());
    twice(&tenant, &teardown()).await;

    // The seed's operator may not delete grants: a typed refusal.
    let live = exo
        .read_snapshot(&mailscope_exo::SnapshotRequest { grants: true, ..Default::default() })
        .await
        .unwrap();
    let g = live.grants.iter().find(|g| g.app_id == contoso::INVOICE_MAILER).unwrap();
    let remove = Action::RemoveEntraGrant {
        app_id: g.app_id.clone(),
        resource_app_id: g.resource_app_id.clone(),
        permission: g.permission.clone(),
        grant_id: g.id.clone().unwrap(),
        resource_id: g.resource_id.clone().unwrap(),
    };
    assert_eq!(tenant.rbac_step(&remove).await.unwrap_err().kind, TenantErrorKind::Denied);
}

#[tokio::test]
async fn the_fake_tenant_keeps_the_same_rules() {
    let mut live = common::contoso_snapshot();
    let object_id = "0b1c2d3e-0000-4000-8000-0000000000aa";
    live.service_principals.push(EntraServicePrincipal {
        app_id: contoso::INVOICE_MAILER.into(),
        object_id: object_id.into(),
        display_name: "invoice-mailer".into(),
    });
    let fake = FakeTenant::from_snapshot(&live);
    // A pointer to the wrong object is refused.
    let wrong = steps(contoso::INVOICE_MAILER);
    assert_eq!(fake.rbac_step(&wrong[0]).await.unwrap_err().kind, TenantErrorKind::NotFound);
    twice(&fake, &steps(object_id)).await;
    let snap: LiveSnapshot = fake.snapshot();
    assert_eq!(snap.role_assignments.len(), 1);
    assert_eq!(
        ScopeFilter::parse_opath(&snap.management_scopes[0].filter),
        Some((Some(common::group_dn(GROUP)), None))
    );
    assert!(fake.rbac_step(&teardown()[1]).await.is_err());
    twice(&fake, &teardown()).await;
    assert!(fake.snapshot().exchange_service_principals.is_empty());
}
