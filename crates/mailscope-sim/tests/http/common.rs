//! Shared helpers: start a sim, get tokens, call cmdlets, snapshot JSON.

use std::path::PathBuf;

use mailscope_sim::{ServerHandle, Sim, SimConfig};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub(crate) const TENANT_ID: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";
pub(crate) const OPERATOR: &str = "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f";
pub(crate) const OPERATOR_SECRET: &str = "sim-operator-secret-test-only";
pub(crate) const INVOICE_MAILER: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";
pub(crate) const CRM_SYNC: &str = "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d";
pub(crate) const AUDIT_READER: &str = "a11ce5ed-0000-4000-8000-00000000a0d1";
pub(crate) const HALF_CONFIGURED: &str = "ba5eba11-0000-4000-8000-00000000f00d";
pub(crate) const NO_GRANTS: &str = "deadbeef-0000-4000-8000-0000000000e1";
pub(crate) const EXO_SCOPE: &str = "https://outlook.office365.com/.default";
pub(crate) const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

pub(crate) fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn seed_path() -> PathBuf {
    workspace().join("policies/contoso.tenant.yaml")
}

pub(crate) fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

/// Secret of a seeded app by display name.
pub(crate) fn secret_of(app_id: &str) -> String {
    let name = match app_id {
        OPERATOR => return OPERATOR_SECRET.to_owned(),
        INVOICE_MAILER => "invoice-mailer",
        CRM_SYNC => "crm-sync",
        AUDIT_READER => "audit-reader",
        HALF_CONFIGURED => "half-configured",
        NO_GRANTS => "no-grants",
        other => panic!("no secret known for {other}"),
    };
    format!("sim-{name}-secret-test-only")
}

pub(crate) struct TestSim {
    pub base: String,
    pub http: reqwest::Client,
    pub server: Option<ServerHandle>,
}

pub(crate) async fn start() -> TestSim {
    start_with(Sim::from_seed_file(seed_path()).expect("seed loads")).await
}

pub(crate) async fn start_config(cfg: SimConfig) -> TestSim {
    start_with(Sim::from_seed_file(seed_path()).expect("seed loads").with_config(cfg)).await
}

pub(crate) async fn start_with(sim: Sim) -> TestSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = mailscope_sim::serve(sim, listener).await;
    TestSim { base: server.base_url(), http: reqwest::Client::new(), server: Some(server) }
}

pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.bytes)))
    }
    /// `error.details[0].message` of an `InvokeCommand` error.
    pub(crate) fn detail(&self) -> String {
        self.json()["error"]["details"][0]["message"].as_str().unwrap_or_default().to_owned()
    }
}

async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("body").to_vec();
    Reply { status, headers, bytes }
}

impl TestSim {
    pub(crate) fn token_url(&self) -> String {
        format!("{}/{TENANT_ID}/oauth2/v2.0/token", self.base)
    }

    pub(crate) async fn token_form(&self, form: &[(&str, &str)]) -> Reply {
        reply(self.http.post(self.token_url()).form(form).send().await.expect("token call")).await
    }

    pub(crate) async fn token(&self, client_id: &str, scope: &str) -> String {
        let secret = secret_of(client_id);
        let r = self
            .token_form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", &secret),
                ("scope", scope),
            ])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.bytes));
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    pub(crate) fn invoke_url(&self) -> String {
        format!("{}/adminapi/beta/{TENANT_ID}/InvokeCommand", self.base)
    }

    pub(crate) fn exo_request(&self, url: &str, token: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(url)
            .bearer_auth(token)
            .header(
                "X-AnchorMailbox",
                format!("APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT_ID}"),
            )
            .header("X-ResponseFormat", "json")
            .json(body)
    }

    pub(crate) async fn invoke_as(&self, token: &str, cmdlet: &str, params: Value) -> Reply {
        let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}});
        reply(self.exo_request(&self.invoke_url(), token, &body).send().await.expect("invoke")).await
    }

    pub(crate) async fn invoke(&self, cmdlet: &str, params: Value) -> Reply {
        let token = self.token(OPERATOR, EXO_SCOPE).await;
        self.invoke_as(&token, cmdlet, params).await
    }

    /// Runs a cmdlet as the operator and returns `value`, asserting 200.
    pub(crate) async fn ok(&self, cmdlet: &str, params: Value) -> Vec<Value> {
        let r = self.invoke(cmdlet, params).await;
        assert_eq!(r.status, StatusCode::OK, "{cmdlet}: {}", String::from_utf8_lossy(&r.bytes));
        r.json()["value"].as_array().cloned().unwrap_or_default()
    }

    /// Runs a cmdlet expecting a failure; returns the reply.
    pub(crate) async fn err(&self, cmdlet: &str, params: Value) -> Reply {
        let r = self.invoke(cmdlet, params).await;
        assert_ne!(r.status, StatusCode::OK, "{cmdlet} unexpectedly succeeded");
        r
    }

    pub(crate) async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let r = match body {
            Some(b) => self.http.post(url).json(&b).send().await,
            None => self.http.get(url).send().await,
        }
        .expect("control call");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    pub(crate) async fn test_aap(&self, mailbox: &str, app: &str) -> String {
        let v = self.ok("Test-ApplicationAccessPolicy", json!({"Identity": mailbox, "AppId": app})).await;
        v[0]["AccessCheckResult"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn send_mail(&self, token: &str, user: &str) -> Reply {
        let body = json!({"message": {"subject": "hi", "body": {"contentType": "Text", "content": "x"}, "toRecipients": [{"emailAddress": {"address": "x@example.com"}}]}});
        reply(
            self.http
                .post(format!("{}/v1.0/users/{user}/sendMail", self.base))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("sendMail"),
        )
        .await
    }

    pub(crate) async fn graph_get(&self, token: &str, path_and_query: &str) -> Reply {
        let url = if path_and_query.starts_with("http") {
            path_and_query.to_owned()
        } else {
            format!("{}/v1.0/{path_and_query}", self.base)
        };
        reply(self.http.get(url).bearer_auth(token).send().await.expect("graph get")).await
    }
}

/// Snapshots JSON with the port (and, when asked, random GUIDs and times) redacted.
pub(crate) fn snapshot(name: &str, value: &Value, redact_random: bool) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"http://127\.0\.0\.1:\d+", "http://[sim]");
    if redact_random {
        settings.add_filter(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[guid]");
        settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.0000000(Z|\+00:00)", "[time]");
    }
    settings.set_sort_maps(true);
    settings.bind(|| insta::assert_json_snapshot!(name, value));
}
