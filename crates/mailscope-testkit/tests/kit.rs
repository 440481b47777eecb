//! The kit's fixtures agree with the seed, and its emulator answers.

use mailscope_testkit::{Emulator, Seed, contoso};

#[test]
fn contoso_constants_match_the_seed() {
    let tenant = Seed::Contoso.load().tenant();
    assert_eq!(tenant.id, contoso::TENANT_ID);
    assert_eq!(tenant.operator_app_id.as_deref(), Some(contoso::OPERATOR));
    for id in [
        contoso::OPERATOR,
        contoso::INVOICE_MAILER,
        contoso::CRM_SYNC,
        contoso::AUDIT_READER,
        contoso::HALF_CONFIGURED,
        contoso::NO_GRANTS,
    ] {
        let app = tenant.app(id).unwrap_or_else(|| panic!("{id} is not in the seed"));
        assert_eq!(app.client_secrets.first(), Some(&contoso::secret_of(id)), "{id}");
    }
}

#[tokio::test]
async fn the_operator_session_reads_the_served_tenant() {
    let emu = Emulator::contoso().await;
    assert!(emu.base_url().starts_with("http://127.0.0.1:"), "{}", emu.base_url());
    assert_eq!(emu.operator().client_id, contoso::OPERATOR);
    let policies = emu.session().exo().get_policies().await.expect("operator reads policies");
    assert!(!policies.is_empty(), "Contoso seeds application access policies");
    emu.shutdown().await;
}
