//! Entra discovery endpoints that Microsoft's client libraries call before a
//! token request: the tenant's OIDC configuration (v2.0 and v1), the JWKS
//! and instance discovery. Every URL in them names the emulator's own origin,
//! so a library whose authority points at the emulator stays on it.
//!
//! Shapes follow the public service (Microsoft Learn, "`OpenID` Connect on the
//! Microsoft identity platform" and "Authority" in the MSAL docs): libraries
//! read `token_endpoint`, `authorization_endpoint`, `issuer` and, for
//! instance discovery, `tenant_discovery_endpoint` and `metadata`.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::entra::EntraError;
use super::{Scheme, origin};
use crate::state::Shared;

type S = State<std::sync::Arc<Shared>>;

/// Tenant names that stand for "any tenant" in an authority.
const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

fn json_ok(body: Value) -> Response {
    (StatusCode::OK, [(header::CACHE_CONTROL, "max-age=86400, private")], axum::Json(body)).into_response()
}

fn no_origin() -> Response {
    EntraError::new(StatusCode::BAD_REQUEST, "invalid_request", 90_014, "The request has no Host.")
        .into_response()
}

/// The tenant id that `name` designates, `{tenantid}` for the multi-tenant
/// names (as the service answers), or the AADSTS90002 error of an unknown tenant.
fn tenant_segment(shared: &Shared, name: &str) -> Result<String, EntraError> {
    if MULTI_TENANT.iter().any(|m| m.eq_ignore_ascii_case(name)) {
        return Ok("{tenantid}".to_owned());
    }
    let tenant = shared.tenant();
    if tenant.matches_name(name) {
        Ok(tenant.id.clone())
    } else {
        Err(EntraError::new(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90_002,
            format!(
                "Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ))
    }
}

/// Fields both OIDC configuration versions share.
fn common_fields(base: &str, tid: &str) -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "request_uri_parameter_supported": false,
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "kerberos_endpoint": format!("{base}/{tid}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }) else {
        unreachable!("a JSON object literal")
    };
    map
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration_v2(
    State(shared): S,
    Extension(scheme): Extension<Scheme>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(base) = origin(scheme, &headers, &uri) else { return no_origin() };
    let tid = match tenant_segment(&shared, &tenant) {
        Ok(tid) => tid,
        Err(e) => return e.into_response(),
    };
    let mut body = common_fields(&base, &tid);
    body.extend([
        ("token_endpoint".into(), json!(format!("{base}/{tid}/oauth2/v2.0/token"))),
        ("jwks_uri".into(), json!(format!("{base}/{tid}/discovery/v2.0/keys"))),
        ("issuer".into(), json!(format!("{base}/{tid}/v2.0"))),
        ("authorization_endpoint".into(), json!(format!("{base}/{tid}/oauth2/v2.0/authorize"))),
        ("device_authorization_endpoint".into(), json!(format!("{base}/{tid}/oauth2/v2.0/devicecode"))),
        ("end_session_endpoint".into(), json!(format!("{base}/{tid}/oauth2/v2.0/logout"))),
        ("userinfo_endpoint".into(), json!("https://graph.microsoft.com/oidc/userinfo")),
        ("scopes_supported".into(), json!(["openid", "profile", "email", "offline_access"])),
        (
            "claims_supported".into(),
            json!(["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"]),
        ),
    ]);
    json_ok(Value::Object(body))
}

/// `GET /{tenant}/.well-known/openid-configuration` (the v1 document).
pub(crate) async fn openid_configuration_v1(
    State(shared): S,
    Extension(scheme): Extension<Scheme>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(base) = origin(scheme, &headers, &uri) else { return no_origin() };
    let tid = match tenant_segment(&shared, &tenant) {
        Ok(tid) => tid,
        Err(e) => return e.into_response(),
    };
    let mut body = common_fields(&base, &tid);
    body.extend([
        ("token_endpoint".into(), json!(format!("{base}/{tid}/oauth2/token"))),
        ("jwks_uri".into(), json!(format!("{base}/common/discovery/keys"))),
        // The v1 issuer is the one the emulator's access tokens carry (`token`).
        ("issuer".into(), json!(format!("https://sts.windows.net/{tid}/"))),
        ("authorization_endpoint".into(), json!(format!("{base}/{tid}/oauth2/authorize"))),
        ("device_authorization_endpoint".into(), json!(format!("{base}/{tid}/oauth2/devicecode"))),
        ("end_session_endpoint".into(), json!(format!("{base}/{tid}/oauth2/logout"))),
        ("userinfo_endpoint".into(), json!(format!("{base}/{tid}/openid/userinfo"))),
        ("microsoft_multi_refresh_token".into(), json!(true)),
        ("check_session_iframe".into(), json!(format!("{base}/{tid}/oauth2/checksession"))),
        (
            "claims_supported".into(),
            json!([
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "amr",
                "nonce",
                "tid",
                "ver",
                "oid"
            ]),
        ),
    ]);
    json_ok(Value::Object(body))
}

/// `GET /{tenant}/discovery/v2.0/keys` and `/{tenant}/discovery/keys`.
///
/// The emulator signs its access tokens with a symmetric key that only it
/// holds (see `token`): access tokens are opaque to clients, and a symmetric
/// key must never be published. The key set is therefore empty; it exists
/// because libraries that fetch it must get a well-formed answer.
pub(crate) async fn keys(State(shared): S, Path(tenant): Path<String>) -> Response {
    match tenant_segment(&shared, &tenant) {
        Ok(_) => json_ok(json!({ "keys": [] })),
        Err(e) => e.into_response(),
    }
}

/// `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=…`.
///
/// Answers for the emulator's own host only; any other host gets the
/// service's AADSTS50049 (unknown instance), as the real endpoint answers
/// for hosts it does not know.
pub(crate) async fn instance_discovery(
    State(shared): S,
    Extension(scheme): Extension<Scheme>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(base) = origin(scheme, &headers, &uri) else { return no_origin() };
    if let Err(e) = tenant_segment(&shared, &tenant) {
        return e.into_response();
    }
    let host = base.split_once("://").map_or(base.as_str(), |(_, h)| h).to_owned();
    // The tenant of the authority being asked about: first path segment of its authorize URL.
    let asked = match query.get("authorization_endpoint") {
        None => "common".to_owned(),
        Some(url) => {
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            let (asked_host, path) = rest.and_then(|r| r.split_once('/')).unwrap_or(("", ""));
            if !asked_host.eq_ignore_ascii_case(&host) {
                return EntraError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_instance",
                    50_049,
                    "Unknown or invalid instance.",
                )
                .into_response();
            }
            path.split('/').next().filter(|t| !t.is_empty()).unwrap_or("common").to_owned()
        }
    };
    json_ok(json!({
        "tenant_discovery_endpoint": format!("{base}/{asked}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{
            "preferred_network": host,
            "preferred_cache": host,
            "aliases": [host],
        }],
    }))
}
