//! Shared helpers: start the emulator (through `mailscope-testkit`) and build
//! sessions on it.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use mailscope_exo::{ClientCredentials, Cloud, EndpointOverrides, Session};
use mailscope_testkit::Emulator;
use serde_json::Value;

/// A running emulator seeded with Contoso.
pub struct TestSim {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Tenant of the seed.
    pub tenant: String,
    /// Operator app client id.
    pub client_id: String,
    /// Operator app secret (test-only).
    pub secret: String,
    _emulator: Emulator,
}

pub use mailscope_testkit::fast_config;

pub fn workspace_root() -> PathBuf {
    mailscope_testkit::workspace_root()
}

pub fn testdata(name: &str) -> PathBuf {
    mailscope_testkit::sim_testdata(name)
}

/// Starts the emulator with the Contoso seed.
pub async fn start() -> TestSim {
    let emulator = Emulator::contoso().await;
    let creds = emulator.operator().clone();
    TestSim {
        base: emulator.base_url(),
        tenant: creds.tenant_id,
        client_id: creds.client_id,
        secret: creds.client_secret,
        _emulator: emulator,
    }
}

impl TestSim {
    pub fn overrides(&self) -> EndpointOverrides {
        EndpointOverrides::all(&self.base)
    }

    pub fn secret_credentials(&self) -> ClientCredentials {
        ClientCredentials::with_secret(&self.tenant, &self.client_id, self.secret.as_str()).unwrap()
    }

    pub fn session_with(&self, creds: ClientCredentials) -> Session {
        Session::new(creds, Cloud::Public, &self.overrides(), fast_config()).unwrap()
    }

    pub fn session(&self) -> Session {
        self.session_with(self.secret_credentials())
    }

    pub async fn stats(&self) -> Value {
        reqwest::get(format!("{}/_sim/stats", self.base)).await.unwrap().json().await.unwrap()
    }

    pub async fn reset_stats(&self) {
        let r = reqwest::Client::new().post(format!("{}/_sim/stats/reset", self.base)).send().await.unwrap();
        assert!(r.status().is_success(), "reset stats: {}", r.status());
    }

    pub async fn faults(&self, config: Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/_sim/faults", self.base))
            .json(&config)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "set faults: {} {}", r.status(), r.text().await.unwrap_or_default());
    }

    /// Replaces the emulator's whole configuration (`SimConfig`, camelCase;
    /// missing keys take their defaults).
    pub async fn config(&self, config: Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/_sim/config", self.base))
            .json(&config)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "set config: {} {}", r.status(), r.text().await.unwrap_or_default());
    }

    /// Cmdlet counters of the emulator.
    pub async fn cmdlet_counts(&self) -> std::collections::BTreeMap<String, u64> {
        let s = self.stats().await;
        serde_json::from_value(s["cmdlets"].clone()).unwrap_or_default()
    }
}

/// A PEM with the operator certificate and key, in a temp file.
pub fn operator_pem() -> PathBuf {
    let cert = std::fs::read_to_string(testdata("operator.cert.pem")).unwrap();
    let key = std::fs::read_to_string(testdata("operator.key.pem")).unwrap();
    let path = std::env::temp_dir().join(format!("mailscope-exo-operator-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&path, format!("{cert}\n{key}")).unwrap();
    path
}

/// A GitHub-Actions-like OIDC token signed by the seed's fake issuer.
pub fn github_oidc_token(subject: &str) -> String {
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        iss: &'a str,
        sub: &'a str,
        aud: &'a str,
        iat: u64,
        nbf: u64,
        exp: u64,
        jti: String,
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let key = std::fs::read(testdata("federated-issuer.key.pem")).unwrap();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&key).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &Claims {
            iss: "https://token.actions.githubusercontent.com",
            sub: subject,
            aud: "api://AzureADTokenExchange",
            iat: now,
            nbf: now - 10,
            exp: now + 600,
            jti: uuid::Uuid::new_v4().to_string(),
        },
        &key,
    )
    .unwrap()
}

pub const GITHUB_SUBJECT: &str = "repo:contoso/mailscope-policies:ref:refs/heads/main";
