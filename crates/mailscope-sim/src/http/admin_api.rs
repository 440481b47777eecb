//! The Exchange admin API: `POST /adminapi/beta/{tenant}/InvokeCommand`
//! (docs/exchange.md, "Admin API wire format").

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::catalog::{self, EXCHANGE_AUDIENCE, ExchangeAccess};
use crate::clock;
use crate::exo::{self, CmdletError, Handler, Params, ReadCtx};
use crate::faults::{FailKind, FailWhen, Injected};
use crate::state::{RATE_LIMIT, Shared, WriteError};
use crate::stats::{Endpoint, FaultKind};
use crate::tcp::ConnInfo;
use crate::token::{self, TokenProblem};

/// The largest page the service hands out (docs/exchange.md, "Admin API wire format").
const MAX_PAGE: usize = 1000;

/// `WWW-Authenticate` of a 401 from EXO.
const WWW_AUTHENTICATE: &str = "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"invalid_token\"";

fn unauthorized() -> Response {
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(WWW_AUTHENTICATE));
    r
}

fn invalid_operation(text: &str) -> Response {
    CmdletError::Binding {
        ex_type: "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
        text: text.to_owned(),
    }
    .into_response(StatusCode::BAD_REQUEST)
}

/// Applies an injected fault: reset, 5xx or 429.
pub(crate) fn injected_response(shared: &Shared, conn: &ConnInfo, inj: Injected) -> Response {
    match inj {
        Injected::Reset => {
            shared.stats.fault(FaultKind::Reset);
            conn.reset()
        }
        Injected::Status(s) => {
            shared.stats.fault(FaultKind::ServerError);
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            exo::server_error(
                status,
                "A server side error has occurred because of which the operation could not be completed. Please try again after some time.",
            )
        }
        Injected::ClaimsChallenge => {
            shared.stats.fault(FaultKind::ClaimsChallenge);
            let claims = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!(
                    r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{}"}}}}}}"#,
                    clock::unix_now()
                ),
            );
            let mut r = StatusCode::UNAUTHORIZED.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{claims}""#
            )) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            r
        }
        Injected::Throttle(secs) => {
            shared.stats.fault(FaultKind::Throttled);
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"error": {"code": "TooManyRequests", "message": format!("The request was throttled. Retry after {secs} seconds.")}})),
            )
                .into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
    }
}

struct Paging {
    offset: usize,
    size: usize,
    select: Option<Vec<String>>,
    honoured_prefer: Option<usize>,
    /// [`anchor_tag`] of this request, written into the next link.
    anchor: String,
}

/// The text a live tenant answered to a replayed or old nextLink
/// (docs/exchange.md, "Paging").
pub(crate) const EXPIRED_LINK: &str =
    "Expired or Invalid pagination request. Default Expiry time is 00:30:00";

/// The `$skiptoken` of a next link: `<offset>-<request fingerprint>-<issued,
/// Unix ms>-<anchor tag>`. Opaque to clients; real ones name a backend server.
struct SkipToken<'a> {
    offset: usize,
    fingerprint: &'a str,
    issued_ms: u64,
    anchor: &'a str,
}

impl<'a> SkipToken<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let mut parts = v.splitn(4, '-');
        Some(Self {
            offset: parts.next()?.parse().ok()?,
            fingerprint: parts.next()?,
            issued_ms: parts.next()?.parse().ok()?,
            anchor: parts.next()?,
        })
    }
}

fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A short, case-insensitive tag of the request's `X-AnchorMailbox` (`none`
/// without one): what "the link only works with the same anchor" compares.
fn anchor_tag(headers: &HeaderMap) -> String {
    match headers.get("x-anchormailbox").and_then(|v| v.to_str().ok()) {
        None => "none".to_owned(),
        Some(a) => {
            let d = Sha256::digest(a.trim().to_ascii_lowercase().as_bytes());
            d[..4].iter().fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
        }
    }
}

/// 400 with [`EXPIRED_LINK`] in the shape a module user captured live
/// (docs/exchange.md, "Paging"): `Invalid Operation`, no `details`, the
/// text in `innererror.internalexception` of type `System.Exception`.
fn expired_link() -> Response {
    let body = json!({"error": {
        "code": "BadRequest",
        "message": "Invalid Operation",
        "innererror": {
            "message": "Invalid Operation",
            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "stacktrace": "   at Microsoft.Exchange.AdminApi.CommandInvocation.CommandInvocation.InvokeCommand(QueryContext queryContext, CmdletInvokeInputType cmdletInvokeInputType)",
            "internalexception": {"message": EXPIRED_LINK, "type": "System.Exception", "stacktrace": ""}
        }
    }});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// The warning a truncated page carries when `fidelity.truncationWarnings`
/// is on: the classic shell's wording (the admin API's own is not public).
pub(crate) const TRUNCATION_WARNING: &str = "There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.";

fn query_params(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) =
                std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn fingerprint(cmdlet: &str, params: &Map<String, Value>) -> String {
    let text = format!("{}|{}", cmdlet.to_ascii_lowercase(), Value::Object(params.clone()));
    let d = Sha256::digest(text.as_bytes());
    d[..8].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn prefer_page_size(headers: &HeaderMap) -> Option<usize> {
    let v = headers.get("prefer")?.to_str().ok()?;
    v.split(',').find_map(|p| {
        let (k, n) = p.trim().split_once('=')?;
        if k.trim().eq_ignore_ascii_case("odata.maxpagesize") {
            n.trim().trim_matches('"').parse::<usize>().ok().filter(|n| (1..=MAX_PAGE).contains(n))
        } else {
            None
        }
    })
}

/// `POST /adminapi/{version}/{tenant}/InvokeCommand`.
pub(crate) async fn invoke_command(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    Path((version, tenant_name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.stats.count(Endpoint::InvokeCommand, None);
    // Held while the call is served, the injected latency included: that is
    // when the service counts a call against the concurrency budget.
    let _slot = match shared.faults.enter_call() {
        Ok(slot) => slot,
        Err(inj) => return injected_response(&shared, &conn, inj),
    };
    shared.faults.latency().await;
    if version != "beta" {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    if let Some(inj) = shared.faults.draw() {
        return injected_response(&shared, &conn, inj);
    }
    let tenant = shared.tenant();
    if !tenant.matches_name(&tenant_name) {
        return unauthorized();
    }
    let claims = match token::verify_bearer(&shared.signing_key, &headers, EXCHANGE_AUDIENCE, &tenant) {
        Ok(c) => c,
        Err(
            TokenProblem::Missing
            | TokenProblem::Invalid
            | TokenProblem::WrongAudience
            | TokenProblem::WrongTenant,
        ) => {
            return unauthorized();
        }
    };
    if !claims.roles.iter().any(|r| r == "Exchange.ManageAsApp") {
        return unauthorized();
    }
    let Some(access) = catalog::exchange_access(&claims.wids) else {
        return exo::nul_gzip_403();
    };

    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return invalid_operation("The request body is not a valid CmdletInput JSON object.");
    };
    let Some(cmd) = input.get("CmdletInput").and_then(Value::as_object) else {
        return invalid_operation("The request body must contain a 'CmdletInput' object.");
    };
    let Some(name) = cmd.get("CmdletName").and_then(Value::as_str) else {
        return invalid_operation("The 'CmdletInput' object must contain 'CmdletName'.");
    };
    let empty = Map::new();
    let raw_params = match cmd.get("Parameters") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return invalid_operation("'Parameters' must be a JSON object."),
    };
    let Some(spec) = exo::find(name) else {
        shared.stats.count_cmdlet(name);
        return exo::nul_gzip_403();
    };
    shared.stats.count_cmdlet(spec.name);
    if spec.mutating() && access == ExchangeAccess::ReadOnly {
        return exo::nul_gzip_403();
    }
    if shared.config().require_anchor_mailbox && !headers.contains_key("x-anchormailbox") {
        return invalid_operation("The X-AnchorMailbox header is required to route the request.");
    }
    let exec_status =
        StatusCode::from_u16(shared.config().cmdlet_error_status).unwrap_or(StatusCode::BAD_REQUEST);
    let params = match Params::bind(spec.params, raw_params) {
        Ok(p) => p,
        Err(e) => return e.into_response(exec_status),
    };

    // Paging inputs.
    let qp = query_params(query.as_deref());
    let fp = fingerprint(spec.name, raw_params);
    let mut paging = Paging {
        offset: 0,
        size: MAX_PAGE,
        select: None,
        honoured_prefer: None,
        anchor: anchor_tag(&headers),
    };
    if let Some(n) = prefer_page_size(&headers) {
        paging.size = n;
        paging.honoured_prefer = Some(n);
    }
    if let Some(forced) = shared.faults.page_size() {
        paging.size = paging.size.min(forced.max(1));
    }
    // A continuation re-runs the cmdlet, so only reads are paged: a mutating
    // cmdlet's (small) output always comes back whole.
    if spec.mutating() {
        paging.size = usize::MAX;
        paging.honoured_prefer = None;
    }
    for (k, v) in &qp {
        if k.eq_ignore_ascii_case("$skiptoken") {
            match SkipToken::parse(v) {
                Some(t) if t.fingerprint == fp => {
                    let fidelity = &shared.config().fidelity;
                    let age_ms = unix_now_ms().saturating_sub(t.issued_ms);
                    if age_ms > fidelity.page_link_expiry_seconds.saturating_mul(1000)
                        || (fidelity.page_link_same_anchor && t.anchor != paging.anchor)
                        || shared.faults.take_page_link_expiry()
                    {
                        return expired_link();
                    }
                    paging.offset = t.offset;
                }
                _ => {
                    return invalid_operation(
                        "The skip token is invalid or does not belong to this request.",
                    );
                }
            }
        } else if k.eq_ignore_ascii_case("$select") {
            paging.select =
                Some(v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect());
        }
    }

    let result = match spec.handler {
        Handler::Read(f) => {
            let knobs = shared.knobs();
            f(&ReadCtx { tenant: &tenant, params: &params, knobs })
        }
        Handler::Write(f) => {
            if params.switch("Confirm") {
                return confirmation(&headers, &tenant_name, spec.name);
            }
            if params.switch("WhatIf") {
                Ok(Vec::new())
            } else {
                let fail = shared.faults.on_mutation();
                if let Some(fail) = fail.as_ref().filter(|f| f.when == FailWhen::Before) {
                    return mutation_failure(&shared, &conn, fail.kind);
                }
                match shared.execute_write(spec.name, f, &params) {
                    Ok(v) => {
                        if let Some(fail) = fail {
                            return mutation_failure(&shared, &conn, fail.kind);
                        }
                        Ok(v)
                    }
                    Err(WriteError::Cmdlet(e)) => Err(e),
                    Err(WriteError::Persist(msg)) => {
                        return exo::server_error(StatusCode::INTERNAL_SERVER_ERROR, &msg);
                    }
                }
            }
        }
    };
    let values = match result {
        Ok(v) => v,
        Err(e) => return e.into_response(exec_status),
    };
    success(&shared, &headers, &tenant_name, &claims.appid, values, &paging, &fp, &qp)
}

fn mutation_failure(shared: &Shared, conn: &ConnInfo, kind: FailKind) -> Response {
    match kind {
        FailKind::Reset => injected_response(shared, conn, Injected::Reset),
        FailKind::Status500 => injected_response(shared, conn, Injected::Status(500)),
        FailKind::Status503 => injected_response(shared, conn, Injected::Status(503)),
    }
}

fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("{}://{host}", super::request_scheme().as_str())
}

fn context_url(headers: &HeaderMap, tenant_name: &str) -> String {
    format!("{}/adminapi/beta/{tenant_name}/$metadata#Collection(Exchange.GenericHashTable)", origin(headers))
}

/// The `ShouldProcess` round trip: `Confirm: true` gets a message and no action
/// (docs/exchange.md, "Admin API wire format").
fn confirmation(headers: &HeaderMap, tenant_name: &str, cmdlet: &str) -> Response {
    let body = json!({
        "@odata.context": context_url(headers, tenant_name),
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [],
        "@adminapi.confirmationmessage": format!("Are you sure you want to perform this action?\r\nRunning {cmdlet}."),
        "value": [],
    });
    json_response(&body, HeaderMap::new())
}

fn json_response(body: &Value, extra: HeaderMap) -> Response {
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        ),
    );
    h.insert("OData-Version", HeaderValue::from_static("4.0"));
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        h.insert("request-id", v);
    }
    h.insert("X-CalculatedBETarget", HeaderValue::from_static("SIM01MB0001.namprd01.prod.outlook.com"));
    h.insert("X-ConcurrencyCount", HeaderValue::from_static("0"));
    h.insert("X-CombinedAppOnlyConcurrencyCount", HeaderValue::from_static("0"));
    h.extend(extra);
    r
}

fn select(v: Value, props: &[String]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| {
                    let base = k.split('@').next().unwrap_or(k);
                    props.iter().any(|p| p.eq_ignore_ascii_case(base))
                })
                .collect(),
        ),
        other => other,
    }
}

#[allow(clippy::too_many_arguments)]
fn success(
    shared: &Shared,
    headers: &HeaderMap,
    tenant_name: &str,
    app_id: &str,
    values: Vec<Value>,
    paging: &Paging,
    fp: &str,
    qp: &[(String, String)],
) -> Response {
    let total = values.len();
    let start = paging.offset.min(total);
    let end = start.saturating_add(paging.size).min(total);
    let page: Vec<Value> = values
        .into_iter()
        .skip(start)
        .take(end - start)
        .map(|v| match &paging.select {
            Some(s) => select(v, s),
            None => v,
        })
        .collect();
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context_url(headers, tenant_name)));
    body.insert("adminapi.warnings@odata.type".into(), json!("#Collection(String)"));
    let truncated = end < total;
    let warnings: Vec<&str> = if truncated && shared.config().fidelity.truncation_warnings {
        vec![TRUNCATION_WARNING]
    } else {
        Vec::new()
    };
    body.insert("@adminapi.warnings".into(), json!(warnings));
    body.insert("value".into(), Value::Array(page));
    if truncated {
        let mut url = format!("{}/adminapi/beta/{tenant_name}/InvokeCommand?", origin(headers));
        for (k, v) in qp.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken")) {
            let _ = write!(url, "{k}={v}&");
        }
        let _ = write!(url, "$skiptoken={end}-{fp}-{}-{}", unix_now_ms(), paging.anchor);
        body.insert("@odata.nextLink".into(), json!(url));
    }
    let (remaining, reset) = shared.rate_limit(app_id);
    let mut extra = HeaderMap::new();
    let preference = match paging.honoured_prefer {
        Some(n) => format!("odata.include-annotations=\"*\", odata.maxpagesize={n}"),
        None => "odata.include-annotations=\"*\"".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&preference) {
        extra.insert("Preference-Applied", v);
    }
    if shared.config().rate_limit_headers {
        extra.insert("Rate-Limit-Limit", HeaderValue::from(RATE_LIMIT));
        extra.insert("Rate-Limit-Remaining", HeaderValue::from(remaining));
        if let Ok(v) = HeaderValue::from_str(&clock::iso_millis(reset)) {
            extra.insert("Rate-Limit-Reset", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(app_id) {
        extra.insert("X-Ms-AppId", v);
    }
    json_response(&Value::Object(body), extra)
}
