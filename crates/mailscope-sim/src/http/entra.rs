//! Entra token endpoint (`POST /{tenant}/oauth2/v2.0/token`): client
//! credentials with a secret, a certificate assertion or a federated
//! assertion, answered with an access token from `token` or an Entra error.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::json;

use super::{Scheme, origin};
use crate::catalog::{self, EXCHANGE_APP_ID, EXCHANGE_AUDIENCE, GRAPH_APP_ID, GRAPH_AUDIENCE};
use crate::clock;
use crate::model::{App, Tenant};
use crate::state::Shared;
use crate::stats::Endpoint;
use crate::token::{AccessClaims, certificate_key};

/// `client_assertion_type` for both certificate and federated assertions.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew allowed on an assertion's `nbf`.
const NBF_SKEW_SECS: u64 = 60;

/// An Entra error response (`error`, `error_description` = `AADSTSnnnnn: ...`, ...).
pub(crate) struct EntraError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    text: String,
}

impl EntraError {
    pub(super) fn new(status: StatusCode, error: &'static str, code: u32, text: impl Into<String>) -> Self {
        Self { status, error, code, text: text.into() }
    }
}

impl IntoResponse for EntraError {
    fn into_response(self) -> Response {
        let trace = uuid::Uuid::new_v4().to_string();
        let correlation = uuid::Uuid::new_v4().to_string();
        let now = clock::unix_now();
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {}",
                self.code, self.text, clock::entra_timestamp(now)
            ),
            "error_codes": [self.code],
            "timestamp": clock::entra_timestamp(now),
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        (self.status, [(header::CACHE_CONTROL, "no-store, no-cache")], axum::Json(body)).into_response()
    }
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token_endpoint(
    State(shared): State<std::sync::Arc<Shared>>,
    Extension(scheme): Extension<Scheme>,
    Path(tenant_name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    shared.stats.count(Endpoint::Token, None);
    shared.faults.latency().await;
    let own_origin = origin(scheme, &headers, &uri);
    match issue(&shared, &tenant_name, own_origin.as_deref(), form) {
        Ok(body) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store, no-cache")], axum::Json(body))
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn issue(
    shared: &Shared,
    tenant_name: &str,
    own_origin: Option<&str>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<serde_json::Value, EntraError> {
    let tenant = shared.tenant();
    if !tenant.matches_name(tenant_name) {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant_name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    let Ok(Form(form)) = form else {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            "The request body must contain the following parameter: 'grant_type'.",
        ));
    };
    let param = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let missing = |k: &str| {
        EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{k}'."),
        )
    };
    let grant = param("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant != "client_credentials" {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = param("client_id").ok_or_else(|| missing("client_id"))?;
    let scope = param("scope").ok_or_else(|| missing("scope"))?;
    let (audience, resource) = audience_for_scope(scope).ok_or_else(|| {
        EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1_002_012,
            format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
        )
    })?;
    let app = tenant.app(client_id).ok_or_else(|| {
        EntraError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            format!("Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", tenant.display_name),
        )
    })?;

    let appidacr = if let Some(secret) = param("client_secret") {
        if !app.client_secrets.iter().any(|s| crate::secrets::matches(s, secret)) {
            return Err(EntraError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                    app.app_id
                ),
            ));
        }
        "1"
    } else if let Some(assertion) = param("client_assertion") {
        if param("client_assertion_type") != Some(JWT_BEARER) {
            return Err(EntraError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50_027,
                format!("The client_assertion_type must be '{JWT_BEARER}'."),
            ));
        }
        let endpoint_urls = endpoint_urls(tenant_name, &tenant, own_origin);
        verify_assertion(app, &tenant, assertion, &endpoint_urls)?;
        "2"
    } else {
        return Err(EntraError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };

    mint(shared, &tenant, app, audience, resource, appidacr)
}

/// An access token for `app` on `audience` (`resource` is its app id), in
/// the Entra token response shape; `appidacr` is `1` (secret) or `2`
/// (certificate, assertion, managed identity). Shared by the token endpoint
/// and the managed identity endpoints.
pub(super) fn mint(
    shared: &Shared,
    tenant: &Tenant,
    app: &App,
    audience: &str,
    resource: &str,
    appidacr: &str,
) -> Result<serde_json::Value, EntraError> {
    let roles: Vec<String> = if resource == GRAPH_APP_ID {
        app.graph_permissions.clone()
    } else {
        app.exchange_permissions.clone()
    };
    let wids = app
        .directory_roles
        .iter()
        .filter_map(|r| {
            catalog::DIRECTORY_ROLES
                .iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(r))
                .map(|(_, id, _)| (*id).to_owned())
        })
        .collect();
    let lifetime = shared.config().token_lifetime_secs;
    let now = clock::unix_now();
    let claims = AccessClaims {
        aud: audience.to_owned(),
        iss: format!("https://sts.windows.net/{}/", tenant.id),
        iat: now,
        nbf: now,
        exp: now + lifetime,
        appid: app.app_id.clone(),
        appidacr: appidacr.to_owned(),
        oid: app.service_principal_id.clone(),
        sub: app.service_principal_id.clone(),
        tid: tenant.id.clone(),
        roles,
        wids,
        idtyp: "app".to_owned(),
        ver: "1.0".to_owned(),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&shared.signing_key),
    )
    .map_err(|e| EntraError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", 50_000, e.to_string()))?;
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }))
}

/// Maps a `scope` to (token audience, resource app id).
pub(super) fn audience_for_scope(scope: &str) -> Option<(&'static str, &'static str)> {
    let mut found = None;
    for s in scope.split_whitespace() {
        let s = s.to_ascii_lowercase();
        let hit = match s.as_str() {
            "https://outlook.office365.com/.default" | "00000002-0000-0ff1-ce00-000000000000/.default" => {
                (EXCHANGE_AUDIENCE, EXCHANGE_APP_ID)
            }
            "https://graph.microsoft.com/.default" | "00000003-0000-0000-c000-000000000000/.default" => {
                (GRAPH_AUDIENCE, GRAPH_APP_ID)
            }
            _ => return None,
        };
        if found.is_some_and(|f| f != hit) {
            return None;
        }
        found = Some(hit);
    }
    found
}

/// Token endpoint URLs an assertion's `aud` may name: the public cloud's and
/// the emulator's own (`own_origin`, as the client addressed it).
fn endpoint_urls(tenant_name: &str, tenant: &Tenant, own_origin: Option<&str>) -> Vec<String> {
    let mut names = vec![tenant_name.to_ascii_lowercase(), tenant.id.clone()];
    names.extend(tenant.domains.iter().cloned());
    let mut urls = Vec::new();
    for n in &names {
        urls.push(format!("https://login.microsoftonline.com/{n}/oauth2/v2.0/token"));
        if let Some(origin) = own_origin {
            urls.push(format!("{origin}/{n}/oauth2/v2.0/token"));
        }
    }
    urls
}

#[derive(Deserialize)]
struct AssertionClaims {
    #[serde(default)]
    aud: serde_json::Value,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    /// `NumericDate`: MSAL for Python sends fractional seconds (`time.time() + 600`), which Entra accepts.
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
}

/// Whole seconds of a `NumericDate` (negative and non-finite values count as 0).
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "float-to-int `as` saturates; negatives and NaN are excluded first"
)]
fn whole_secs(v: Option<f64>) -> u64 {
    match v {
        Some(v) if v.is_finite() && v > 0.0 => v.floor() as u64,
        _ => 0,
    }
}

impl AssertionClaims {
    fn audiences(&self) -> Vec<String> {
        match &self.aud {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    }
}

fn malformed() -> EntraError {
    EntraError::new(StatusCode::BAD_REQUEST, "invalid_request", 50_027, "JWT token is invalid or malformed.")
}

fn bad_signature(thumb: &str) -> EntraError {
    EntraError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        700_027,
        format!(
            "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{thumb}']"
        ),
    )
}

fn decode_verified(
    assertion: &str,
    alg: Algorithm,
    key: &DecodingKey,
) -> Result<AssertionClaims, jsonwebtoken::errors::Error> {
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<AssertionClaims>(assertion, key, &v).map(|d| d.claims)
}

fn check_time(claims: &AssertionClaims) -> Result<(), EntraError> {
    let now = clock::unix_now();
    let exp = whole_secs(claims.exp);
    let nbf = whole_secs(claims.nbf);
    if exp <= now || nbf > now + NBF_SKEW_SECS {
        return Err(EntraError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700_024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                clock::graph_time(now),
                clock::graph_time(nbf),
                clock::graph_time(exp)
            ),
        ));
    }
    Ok(())
}

fn verify_assertion(
    app: &App,
    tenant: &Tenant,
    assertion: &str,
    endpoint_urls: &[String],
) -> Result<(), EntraError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| malformed())?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
        return Err(bad_signature("unsupported algorithm"));
    }
    if header.x5t.is_some() || header.x5t_s256.is_some() {
        verify_certificate_assertion(app, assertion, &header, endpoint_urls)
    } else {
        verify_federated_assertion(app, tenant, assertion, header.alg)
    }
}

fn verify_certificate_assertion(
    app: &App,
    assertion: &str,
    header: &Header,
    endpoint_urls: &[String],
) -> Result<(), EntraError> {
    let presented = header.x5t_s256.clone().or_else(|| header.x5t.clone()).unwrap_or_default();
    let cert = app
        .certificates
        .iter()
        .filter_map(|c| certificate_key(&c.pem).ok())
        .find(|k| {
            // MSAL for Python sends the thumbprint base64url *with* padding; Entra accepts both.
            let same = |presented: Option<&String>, ours: &str| {
                presented.is_some_and(|p| p.trim_end_matches('=') == ours)
            };
            same(header.x5t_s256.as_ref(), &k.x5t_s256) || same(header.x5t.as_ref(), &k.x5t)
        })
        .ok_or_else(|| {
            EntraError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                700_027,
                format!("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{presented}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]", app.app_id),
            )
        })?;
    // Entra refuses a registered key outside its validity with the same code as an unknown key.
    if !cert.valid_at(clock::unix_now()) {
        return Err(EntraError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700_027,
            format!(
                "Client assertion failed signature validation. [Reason - The key used is expired., Thumbprint of key used by client: '{}', Found key 'Start={}, End={}']",
                cert.sha1_hex,
                clock::graph_time(u64::try_from(cert.not_before).unwrap_or(0)),
                clock::graph_time(u64::try_from(cert.not_after).unwrap_or(0)),
            ),
        ));
    }
    let claims = decode_verified(assertion, header.alg, &cert.key).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => bad_signature(&cert.sha1_hex),
        _ => malformed(),
    })?;
    let client_matches =
        |c: &Option<String>| c.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(&app.app_id));
    if !client_matches(&claims.iss) || !client_matches(&claims.sub) {
        return Err(EntraError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700_021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    let auds = claims.audiences();
    if !auds.iter().any(|a| endpoint_urls.iter().any(|u| u.eq_ignore_ascii_case(a.trim_end_matches('/')))) {
        return Err(EntraError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            50_012,
            format!(
                "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials . Presented audience: {}",
                auds.join(",")
            ),
        ));
    }
    check_time(&claims)
}

fn verify_federated_assertion(
    app: &App,
    tenant: &Tenant,
    assertion: &str,
    alg: Algorithm,
) -> Result<(), EntraError> {
    let unverified: AssertionClaims =
        jsonwebtoken::dangerous::insecure_decode_claims(assertion).map_err(|_| malformed())?;
    let iss = unverified.iss.clone().unwrap_or_default();
    let sub = unverified.sub.clone().unwrap_or_default();
    let auds = unverified.audiences();
    let cred = app
        .federated_credentials
        .iter()
        .find(|f| f.issuer == iss && f.subject == sub)
        .ok_or_else(|| {
            EntraError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                70_021,
                format!("No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation", auds.join(",")),
            )
        })?;
    let _ = tenant;
    let key = DecodingKey::from_rsa_pem(cred.public_key_pem.as_bytes()).map_err(|_| malformed())?;
    let claims = decode_verified(assertion, alg, &key).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => EntraError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700_027,
            "Client assertion failed signature validation. [Reason - The key used to sign the federated token was not found in the issuer's keys.]",
        ),
        _ => malformed(),
    })?;
    if !claims.audiences().iter().any(|a| cred.audiences.iter().any(|c| c == a)) {
        return Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            700_212,
            format!(
                "No matching federated identity record found for presented assertion audience '{}'.",
                auds.join(",")
            ),
        ));
    }
    check_time(&claims)
}
