//! `SessionConfig::extra_root_pem`: mailscope's own client reaches an HTTPS
//! emulator whose local CA it was given, and only then (verification on).

use mailscope_exo::{ClientCredentials, Cloud, EndpointOverrides, Session, SessionConfig};
use mailscope_sim::{TlsMaterial, serve_tls};
use mailscope_testkit::{Seed, fast_config};

struct Https {
    server: mailscope_sim::ServerHandle,
    ca_pem: Vec<u8>,
    creds: ClientCredentials,
    dir: std::path::PathBuf,
}

async fn start() -> Https {
    let dir = std::env::temp_dir().join(format!("mailscope-exo-tls-{}", std::process::id()));
    let dir = dir.join(format!("{:?}", std::thread::current().id()).replace(['(', ')'], ""));
    let tls = TlsMaterial::load_or_create(&dir).expect("TLS material");
    let sim = Seed::Contoso.load();
    let op = sim.operator_credentials().expect("operator");
    let creds =
        ClientCredentials::with_secret(&op.tenant_id, &op.client_id, op.client_secret.as_str()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = serve_tls(sim, listener, &tls).await;
    let ca_pem = std::fs::read(tls.ca_file()).unwrap();
    Https { server, ca_pem, creds, dir }
}

fn session(h: &Https, config: SessionConfig) -> Result<Session, mailscope_exo::SessionError> {
    Session::new(h.creds.clone(), Cloud::Public, &EndpointOverrides::all(&h.server.base_url()), config)
}

#[tokio::test]
async fn extra_root_ca_reaches_the_https_emulator() {
    let h = start().await;
    assert!(h.server.base_url().starts_with("https://"));
    let config = SessionConfig { extra_root_pem: Some(h.ca_pem.clone()), ..fast_config() };
    let s = session(&h, config).unwrap();
    let policies = s.exo().get_policies().await.expect("InvokeCommand over HTTPS");
    assert!(!policies.is_empty(), "the Contoso seed has policies");
    h.server.shutdown().await;
    let _ = std::fs::remove_dir_all(&h.dir);
}

#[tokio::test]
async fn without_the_ca_the_emulator_is_not_trusted() {
    let h = start().await;
    let s = session(&h, fast_config()).unwrap();
    let err = s.exo().get_policies().await.expect_err("an unknown CA was trusted");
    assert_eq!(err.status, None, "failed at TLS, before any HTTP status: {err}");
    h.server.shutdown().await;
    let _ = std::fs::remove_dir_all(&h.dir);
}

#[test]
fn a_ca_file_without_a_certificate_is_refused() {
    let config = SessionConfig { extra_root_pem: Some(b"not a certificate".to_vec()), ..fast_config() };
    let creds = ClientCredentials::with_secret(
        "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c",
        "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f",
        "x",
    )
    .unwrap();
    let r = Session::new(creds, Cloud::Public, &EndpointOverrides::all("https://127.0.0.1:1"), config);
    assert!(matches!(r, Err(mailscope_exo::SessionError::RootCertificate(_))), "{r:?}");
}
