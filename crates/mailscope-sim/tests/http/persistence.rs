//! State files: every mutation persists atomically; the state wins over the seed on restart.

use mailscope_sim::{Sim, SimError};
use serde_json::json;

use crate::common::*;

fn temp_state() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mailscope-sim-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.json")
}

#[tokio::test]
async fn state_survives_restart_and_wins_over_the_seed() {
    let state = temp_state();
    let seed = seed_path();
    let mut s = start_with(Sim::open(&state, Some(&seed)).unwrap()).await;
    assert!(state.exists(), "state written at open");
    s.ok(
        "New-DistributionGroup",
        json!({"Name": "persisted", "Type": "Security", "Members": ["bob@contoso.com"]}),
    )
    .await;
    s.ok(
        "Remove-ApplicationAccessPolicy",
        json!({"Identity": s.ok("Get-ApplicationAccessPolicy", json!({})).await[0]["Identity"], "Confirm": false}),
    )
    .await;
    let old_token = s.token(OPERATOR, EXO_SCOPE).await;
    s.emulator.take().unwrap().shutdown().await;

    let s2 = start_with(Sim::open(&state, Some(&seed)).unwrap()).await;
    let g = s2.ok("Get-DistributionGroup", json!({"Identity": "persisted"})).await;
    assert_eq!(g.len(), 1);
    assert_eq!(s2.ok("Get-ApplicationAccessPolicy", json!({})).await.len(), 3);
    // Tokens are signed with the persisted key, so they outlive a restart.
    assert_eq!(
        s2.invoke_as(&old_token, "Get-Mailbox", json!({"Identity": "bob"})).await.status,
        reqwest::StatusCode::OK
    );
    // No leftover temp files.
    let leftovers: Vec<_> = std::fs::read_dir(state.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
    // A state file alone is enough.
    assert!(Sim::open(&state, None).is_ok());
}

#[test]
fn missing_state_without_seed_is_an_error() {
    let state = temp_state();
    assert!(matches!(Sim::open(&state, None), Err(SimError::NoSeed)));
}

#[test]
fn bad_seed_is_a_clear_error() {
    let err =
        Sim::from_seed_str("tenant: {id: not-a-guid, displayName: x, initialDomain: x.onmicrosoft.com}", ".")
            .unwrap_err();
    assert!(err.to_string().contains("not a GUID"), "{err}");
    let err = Sim::from_seed_str(
        "tenant: {id: 8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c, displayName: x, initialDomain: x.onmicrosoft.com}\napps: [{appId: 8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c, displayName: a, graphPermissions: [Mail.Sned]}]",
        ".",
    )
    .unwrap_err();
    assert!(err.to_string().contains("Mail.Sned"), "{err}");
}
