//! The kit's fixtures agree with the seed, and its emulator answers.

use mailscope_testkit::{Emulator, Seed, contoso};

#[test]
fn contoso_constants_match_the_seed() {
    let sim = Seed::Contoso.load();
    let tenant = sim.tenant();
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
        assert!(app.client_secrets.first().is_some_and(|h| h.starts_with("sha256:")), "{id}: hashed");
        assert_eq!(sim.app_secret(id), Some(contoso::secret_of(id)), "{id}");
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

#[test]
fn the_state_file_keeps_no_secret_of_the_seed_and_no_signing_key() {
    let dir = std::env::temp_dir().join(format!("mailscope-kit-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let seed = Seed::State { state: state.clone(), seed: contoso::seed_path() };
    let check = |when: &str| {
        let text = std::fs::read_to_string(&state).unwrap();
        let seed_text = std::fs::read_to_string(contoso::seed_path()).unwrap();
        // Every secret of the seed (all written `clientSecrets: [a, b]`).
        let secrets: Vec<String> = seed_text
            .split("clientSecrets: [")
            .skip(1)
            .flat_map(|rest| rest.split(']').next().unwrap().split(',').map(|s| s.trim().to_owned()))
            .collect();
        assert!(secrets.len() >= 5, "the seed has secrets to look for: {secrets:?}");
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{when}: the state file holds the seed secret {s}");
        }
        assert!(text.contains("\"signingKey\": \"\""), "{when}: no signing key at rest");
    };
    // Created from the seed, then reopened (a new process would do the same).
    let sim = seed.load();
    check("created");
    assert_eq!(sim.operator_credentials().unwrap().client_secret, contoso::secret_of(contoso::OPERATOR));
    drop(sim);
    let sim = seed.load();
    check("reopened");
    // The operator still signs in: the hash verifies the seed's secret.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let emu = Emulator::serve(sim).await;
        emu.session().exo().get_policies().await.expect("the operator signs in with the seed's secret");
        emu.shutdown().await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}
