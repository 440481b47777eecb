//! Shared helpers: start a sim, get tokens, call cmdlets, snapshot JSON.

use std::path::PathBuf;

use mailscope_sim::{Sim, SimConfig};
use mailscope_testkit::{Emulator, Seed};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub(crate) use mailscope_testkit::contoso::{
    AUDIT_READER, CRM_SYNC, HALF_CONFIGURED, INVOICE_MAILER, NO_GRANTS, OPERATOR, OPERATOR_SECRET, TENANT_ID,
    secret_of,
};
pub(crate) const EXO_SCOPE: &str = "https://outlook.office365.com/.default";
pub(crate) const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

pub(crate) fn workspace() -> PathBuf {
    mailscope_testkit::workspace_root()
}

pub(crate) fn seed_path() -> PathBuf {
    mailscope_testkit::contoso::seed_path()
}

pub(crate) fn testdata(name: &str) -> PathBuf {
    mailscope_testkit::sim_testdata(name)
}

pub(crate) struct TestSim {
    pub base: String,
    pub http: reqwest::Client,
    pub emulator: Option<Emulator>,
}

pub(crate) async fn start() -> TestSim {
    start_with(Seed::Contoso.load()).await
}

pub(crate) async fn start_config(cfg: SimConfig) -> TestSim {
    start_with(Seed::Contoso.load().with_config(cfg)).await
}

pub(crate) async fn start_with(sim: Sim) -> TestSim {
    let emulator = Emulator::serve(sim).await;
    TestSim { base: emulator.base_url(), http: reqwest::Client::new(), emulator: Some(emulator) }
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
