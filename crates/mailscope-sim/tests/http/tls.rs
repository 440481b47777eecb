//! HTTPS and the Entra discovery endpoints that Microsoft's client libraries
//! call before a token request, plus the assertion forms they send (MSAL for
//! Python: padded `x5t`, fractional `exp`). The libraries themselves run in
//! `tests/compat`; these tests pin the same behaviour without Python.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mailscope_sim::{ServerHandle, TlsMaterial, serve_tls};
use mailscope_testkit::Seed;
use reqwest::StatusCode;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::common::*;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The app of `tests/compat/compat.tenant.yaml` whose only certificate expired in 2021.
const EXPIRED_APP: &str = "e7e7e7e7-0000-4000-8000-00000000e7e7";
const COMPAT_TENANT: &str = "0c0ffee0-7e57-4c0a-9a11-c0a11b5e7e57";

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("mailscope-sim-tls-{}", uuid::Uuid::new_v4()))
}

fn compat_file(name: &str) -> PathBuf {
    workspace().join("tests/compat").join(name)
}

struct TlsSim {
    server: ServerHandle,
    /// Trusts the emulator's CA (and nothing has verification turned off).
    http: reqwest::Client,
    dir: PathBuf,
}

impl TlsSim {
    async fn start(seed: Seed) -> Self {
        let dir = temp_dir();
        let tls = TlsMaterial::load_or_create(&dir).expect("TLS material");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve_tls(seed.load(), listener, &tls).await;
        let ca = reqwest::Certificate::from_pem(&std::fs::read(tls.ca_file()).unwrap()).unwrap();
        let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
        Self { server, http, dir }
    }

    fn base(&self) -> String {
        self.server.base_url()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(format!("{}{path}", self.base())).send().await.expect("HTTPS call");
        let status = r.status();
        (status, r.json().await.expect("JSON"))
    }

    async fn token(&self, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.base());
        let r = self.http.post(url).form(form).send().await.expect("token call");
        let status = r.status();
        (status, r.json().await.expect("JSON"))
    }

    async fn stop(self) {
        self.server.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An RS256 client assertion as MSAL for Python builds it: `x5t` base64url
/// *with* padding, `exp`/`iat` fractional seconds.
fn msal_style_assertion(client_id: &str, aud: &str, cert_pem: &PathBuf, key_pem: &PathBuf) -> String {
    let der = CertificateDer::from_pem_file(cert_pem).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.x5t = Some(URL_SAFE.encode(Sha1::digest(der.as_ref())));
    #[expect(clippy::cast_precision_loss, reason = "test clock, seconds")]
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as f64 + 0.25;
    let claims = json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": uuid::Uuid::new_v4().to_string(),
                        "iat": now, "exp": now + 600.0});
    let key = EncodingKey::from_rsa_pem(&std::fs::read(key_pem).unwrap()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn assertion_form<'a>(client_id: &'a str, assertion: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
        ("scope", EXO_SCOPE),
    ]
}

#[tokio::test]
async fn https_needs_the_emulators_ca() {
    let s = TlsSim::start(Seed::Contoso).await;
    assert!(s.base().starts_with("https://127.0.0.1:"), "{}", s.base());
    let ca = s.server.ca_file().expect("a CA when serving HTTPS");
    assert!(ca.starts_with(&s.dir) && ca.ends_with("ca.pem"), "{}", ca.display());
    let (status, _) = s.get("/_sim/stats").await;
    assert_eq!(status, StatusCode::OK);
    // The built-in roots alone do not trust it: verification is on.
    let plain = reqwest::Client::new().get(format!("{}/_sim/health", s.base())).send().await;
    assert!(plain.is_err(), "a client without the CA connected: {plain:?}");
    s.stop().await;
}

#[tokio::test]
async fn tls_material_is_generated_once_and_reused() {
    let dir = temp_dir();
    let first = TlsMaterial::load_or_create(&dir).unwrap();
    let ca = std::fs::read(first.ca_file()).unwrap();
    let second = TlsMaterial::load_or_create(&dir).unwrap();
    assert_eq!(std::fs::read(second.ca_file()).unwrap(), ca, "the CA changed on a second start");
    let names: Vec<String> = {
        let mut n: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    // No CA private key is ever written.
    assert_eq!(names, ["ca.pem", "server.key.pem", "server.pem"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("server.key.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "server key readable by others: {mode:o}");
    }
    std::fs::write(dir.join("server.pem"), "not a certificate").unwrap();
    assert!(TlsMaterial::load_or_create(&dir).is_err(), "a broken certificate file was accepted");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn openid_configuration_names_the_emulator() {
    let s = TlsSim::start(Seed::Contoso).await;
    let base = s.base();
    let (status, v2) = s.get("/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v2["token_endpoint"], format!("{base}/{TENANT_ID}/oauth2/v2.0/token"));
    assert_eq!(v2["authorization_endpoint"], format!("{base}/{TENANT_ID}/oauth2/v2.0/authorize"));
    assert_eq!(v2["issuer"], format!("{base}/{TENANT_ID}/v2.0"));
    assert_eq!(v2["jwks_uri"], format!("{base}/{TENANT_ID}/discovery/v2.0/keys"));
    let (status, v1) = s.get(&format!("/{TENANT_ID}/.well-known/openid-configuration")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v1["token_endpoint"], format!("{base}/{TENANT_ID}/oauth2/token"));
    assert_eq!(v1["issuer"], format!("https://sts.windows.net/{TENANT_ID}/"));
    let (_, common) = s.get("/organizations/v2.0/.well-known/openid-configuration").await;
    assert_eq!(common["issuer"], format!("{base}/{{tenantid}}/v2.0"));
    let (status, keys) = s.get(&format!("/{TENANT_ID}/discovery/v2.0/keys")).await;
    assert_eq!((status, keys), (StatusCode::OK, json!({"keys": []})));
    s.stop().await;
}

#[tokio::test]
async fn unknown_tenant_and_foreign_instance_answer_in_entras_error_shape() {
    let s = TlsSim::start(Seed::Contoso).await;
    let (status, e) = s.get("/fabrikam.example/v2.0/.well-known/openid-configuration").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_tenant");
    assert_eq!(e["error_codes"], json!([90002]));
    for field in ["error_description", "trace_id", "correlation_id", "timestamp"] {
        assert!(e[field].as_str().is_some_and(|v| !v.is_empty()), "{field} missing: {e}");
    }
    let (status, e) = s
        .get("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.example/x/oauth2/v2.0/authorize")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["error_codes"], json!([50049]));
    s.stop().await;
}

#[tokio::test]
async fn instance_discovery_points_back_at_the_emulator() {
    let s = TlsSim::start(Seed::Contoso).await;
    let base = s.base();
    let (status, d) = s
        .get(&format!(
            "/common/discovery/instance?api-version=1.1&authorization_endpoint={base}/contoso.com/oauth2/v2.0/authorize"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        d["tenant_discovery_endpoint"],
        format!("{base}/contoso.com/v2.0/.well-known/openid-configuration")
    );
    let host = base.trim_start_matches("https://");
    assert_eq!(d["metadata"][0]["aliases"], json!([host]));
    s.stop().await;
}

#[tokio::test]
async fn msal_style_certificate_assertion_to_the_https_endpoint_gets_a_token() {
    let s = TlsSim::start(Seed::Contoso).await;
    let aud = format!("{}/{TENANT_ID}/oauth2/v2.0/token", s.base());
    let a =
        msal_style_assertion(OPERATOR, &aud, &testdata("operator.cert.pem"), &testdata("operator.key.pem"));
    let (status, body) = s.token(TENANT_ID, &assertion_form(OPERATOR, &a)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD.decode(body["access_token"].as_str().unwrap().split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["appidacr"], "2");
    // The same assertion addressed to plain http:// is for another endpoint.
    let http_aud = aud.replacen("https://", "http://", 1);
    let a = msal_style_assertion(
        OPERATOR,
        &http_aud,
        &testdata("operator.cert.pem"),
        &testdata("operator.key.pem"),
    );
    let (status, body) = s.token(TENANT_ID, &assertion_form(OPERATOR, &a)).await;
    assert_eq!((status, &body["error_codes"]), (StatusCode::UNAUTHORIZED, &json!([50012])), "{body}");
    s.stop().await;
}

#[tokio::test]
async fn expired_certificate_is_700027() {
    let s = TlsSim::start(Seed::File(compat_file("compat.tenant.yaml"))).await;
    let aud = format!("{}/{COMPAT_TENANT}/oauth2/v2.0/token", s.base());
    let a = msal_style_assertion(
        EXPIRED_APP,
        &aud,
        &compat_file("testdata/expired.cert.pem"),
        &compat_file("testdata/expired.key.pem"),
    );
    let (status, body) = s.token(COMPAT_TENANT, &assertion_form(EXPIRED_APP, &a)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([700_027]));
    let text = body["error_description"].as_str().unwrap();
    assert!(text.starts_with("AADSTS700027: ") && text.contains("The key used is expired"), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn next_links_over_https_stay_on_https() {
    let mut config = mailscope_sim::SimConfig::default();
    config.faults.page_size = Some(1);
    let dir = temp_dir();
    let tls = TlsMaterial::load_or_create(&dir).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = serve_tls(Seed::Contoso.load().with_config(config), listener, &tls).await;
    let ca = reqwest::Certificate::from_pem(&std::fs::read(tls.ca_file()).unwrap()).unwrap();
    // HTTP/2 (offered through ALPN) sends no Host header: links must still name host and port.
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let base = server.base_url();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", OPERATOR),
        ("client_secret", OPERATOR_SECRET),
        ("scope", EXO_SCOPE),
    ];
    let r = http.post(format!("{base}/{TENANT_ID}/oauth2/v2.0/token")).form(&form).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "ALPN did not pick HTTP/2");
    let token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let page = http
        .post(format!("{base}/adminapi/beta/{TENANT_ID}/InvokeCommand"))
        .bearer_auth(&token)
        .header(
            "X-AnchorMailbox",
            format!("UPN:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT_ID}"),
        )
        .json(&json!({"CmdletInput": {"CmdletName": "Get-ApplicationAccessPolicy", "Parameters": {}}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let next = page["@odata.nextLink"].as_str().expect("a second page");
    assert!(next.starts_with(&format!("{base}/adminapi/beta/")), "{next}");
    assert!(page["@odata.context"].as_str().unwrap().starts_with(&base), "{page}");
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
