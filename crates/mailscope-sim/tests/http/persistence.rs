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
    // The signing key is never written to the state file, so tokens do not
    // outlive the process that issued them; a new one works.
    assert_eq!(
        s2.invoke_as(&old_token, "Get-Mailbox", json!({"Identity": "bob"})).await.status,
        reqwest::StatusCode::UNAUTHORIZED
    );
    let new_token = s2.token(OPERATOR, EXO_SCOPE).await;
    assert_eq!(
        s2.invoke_as(&new_token, "Get-Mailbox", json!({"Identity": "bob"})).await.status,
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

/// Set in the child process of [`a_second_process_is_refused_while_the_first_holds_the_state`]:
/// the state file the child locks.
const LOCK_HOLDER_ENV: &str = "MAILSCOPE_SIM_TEST_LOCK_HOLDER";

/// Not a test of its own: in the child process (env var set) it opens the
/// state, says so on stdout, and holds it until killed or its stdin closes
/// (so a failing parent leaves no child behind).
#[test]
fn lock_holder_child() {
    let Some(state) = std::env::var_os(LOCK_HOLDER_ENV) else { return };
    let _sim = Sim::open(std::path::Path::new(&state), Some(&seed_path())).expect("child opens the state");
    println!("LOCKED");
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}

#[test]
fn a_second_process_is_refused_while_the_first_holds_the_state() {
    use std::io::BufRead as _;

    let state = temp_state();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "persistence::lock_holder_child", "--nocapture", "--test-threads", "1"])
        .env(LOCK_HOLDER_ENV, &state)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let locked = std::io::BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.contains("LOCKED"));
    assert!(locked, "the child did not open the state");

    let err = Sim::open(&state, Some(&seed_path())).expect_err("a second process must be refused");
    assert!(matches!(err, SimError::Store(mailscope_sim::StoreError::Locked { .. })), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&state.display().to_string()) && text.contains("in use"), "{text}");

    child.kill().unwrap();
    child.wait().unwrap();
    // The lock dies with its process.
    let sim = Sim::open(&state, Some(&seed_path())).expect("free again once the holder is gone");
    assert_eq!(sim.tenant_id(), TENANT_ID);
}

#[test]
fn opening_the_same_state_again_in_one_process_shares_it() {
    let state = temp_state();
    let first = Sim::open(&state, Some(&seed_path())).unwrap();
    let second = Sim::open(&state, None).expect("same process: shared, not refused");
    drop(first);
    drop(second);
    // Released and taken again.
    assert!(Sim::open(&state, None).is_ok());
}

#[cfg(unix)]
#[tokio::test]
async fn the_state_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;

    let state = temp_state();
    let s = start_with(Sim::open(&state, Some(&seed_path())).unwrap()).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o600, "at creation");
    s.ok("New-DistributionGroup", json!({"Name": "mode-check", "Type": "Security"})).await;
    assert_eq!(mode(&state), 0o600, "after a rewrite");
}

#[tokio::test]
async fn the_state_dump_serves_no_client_secret_in_clear() {
    let s = start().await;
    let r = s.http.get(format!("{}/_sim/state", s.base)).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(!text.contains(OPERATOR_SECRET), "operator secret served in clear");
    assert!(!text.contains(&secret_of(INVOICE_MAILER)), "an app secret served in clear");
    assert!(text.contains("<redacted>"), "secrets are shown as redacted");
    // The emulator still verifies the real secret.
    assert!(!s.token(OPERATOR, EXO_SCOPE).await.is_empty());
}

/// A save that fails applies nothing: the caller gets a 500, the tenant
/// stays as it was (in memory and on disk), and the next write succeeds.
#[tokio::test]
async fn a_failed_save_applies_nothing() {
    let state = temp_state();
    let s = start_with(Sim::open(&state, Some(&seed_path())).unwrap()).await;
    let before = std::fs::read(&state).unwrap();
    // A save writes `.<name>.tmp-<pid>` next to the state file first; a
    // directory in its place makes it fail, even for root.
    let blocker = state.with_file_name(format!(".state.json.tmp-{}", std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    let r = s.invoke("New-DistributionGroup", json!({"Name": "never-saved", "Type": "Security"})).await;
    assert_eq!(r.status, 500, "{}", String::from_utf8_lossy(&r.bytes));
    std::fs::remove_dir(&blocker).unwrap();
    assert_eq!(std::fs::read(&state).unwrap(), before, "the state file is untouched");
    let r = s.err("Get-DistributionGroup", json!({"Identity": "never-saved"})).await;
    assert!(r.detail().contains("couldn't be found"), "{}", r.detail());
    s.ok("New-DistributionGroup", json!({"Name": "saved", "Type": "Security"})).await;
    assert!(String::from_utf8(std::fs::read(&state).unwrap()).unwrap().contains("\"saved\""));
}
