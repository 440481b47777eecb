//! Reading every page of one `InvokeCommand` call: the success envelope
//! (objects, `@odata.nextLink`, `@adminapi.warnings`), the page loop, and
//! what happens when Exchange refuses a next link as expired
//! (docs/exchange.md, "Paging").

use serde_json::{Map, Value, json};

use crate::body::Pages;
use crate::error::{ExoError, ExoErrorKind};
use crate::exo::ExoClient;
use crate::session::{Raw, Replay};

/// What a read cmdlet returned over all its pages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invocation {
    /// The output objects, annotation keys (those containing `@`) removed.
    pub values: Vec<Value>,
    /// The distinct `@adminapi.warnings` texts of the pages, in order (at
    /// most [`MAX_WARNINGS`], each at most [`MAX_WARNING_CHARS`] characters:
    /// the text comes from the server).
    pub warnings: Vec<String>,
}

/// Distinct warnings one read keeps.
pub const MAX_WARNINGS: usize = 100;
/// Characters kept of one warning.
pub const MAX_WARNING_CHARS: usize = 2000;

impl ExoClient {
    /// Every page of one cmdlet. A next link that answers as expired
    /// (docs/exchange.md, "Paging") restarts a repeatable read once from the
    /// first page, since the pages read so far may be stale too; a second
    /// expiry fails with [`ExoErrorKind::PageLinkExpired`].
    pub(crate) async fn invoke_full(
        &self,
        cmdlet: &str,
        params: Value,
        replay: Replay,
    ) -> Result<Invocation, ExoError> {
        let params = if params.is_null() { json!({}) } else { params };
        let body = serde_json::to_vec(&json!({
            "CmdletInput": {"CmdletName": cmdlet, "Parameters": params}
        }))
        .map_err(|e| ExoError::new(ExoErrorKind::Other, cmdlet, e.to_string()))?;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let mut restarted = false;
        loop {
            match self.read_pages(cmdlet, &body, replay, &client_request_id).await {
                Ok(out) => return Ok(out),
                Err((e, pages_read))
                    if e.kind == ExoErrorKind::PageLinkExpired
                        && pages_read > 0
                        && replay == Replay::Safe
                        && !restarted =>
                {
                    tracing::warn!(
                        op = cmdlet,
                        pages_read,
                        "an @odata.nextLink expired mid-read; reading again from the first page"
                    );
                    restarted = true;
                }
                Err((mut e, pages_read)) => {
                    if e.kind == ExoErrorKind::PageLinkExpired && pages_read > 0 {
                        e.message = format!(
                            "{}: Exchange refused the next-page link after {pages_read} page(s){}; links are documented to live 30 minutes, but live reports show them refused at once when the request reaches another backend server (docs/exchange.md, \"Paging\")",
                            e.message,
                            if restarted {
                                ", again after reading from the first page once more"
                            } else {
                                ""
                            }
                        );
                    }
                    return Err(e);
                }
            }
        }
    }

    /// One pass over the pages; on failure also says how many pages had
    /// been read (0: the first request failed).
    async fn read_pages(
        &self,
        cmdlet: &str,
        body: &[u8],
        replay: Replay,
        client_request_id: &str,
    ) -> Result<Invocation, (ExoError, usize)> {
        let mut url = self.url.clone();
        let mut out = Invocation::default();
        let mut pages = Pages::new(&self.url);
        let mut read = 0;
        loop {
            let raw =
                self.post(cmdlet, &url, body, replay, client_request_id).await.map_err(|e| (e, read))?;
            let page = parse_envelope(cmdlet, &raw).map_err(|e| (e, read))?;
            read += 1;
            for w in &page.warnings {
                tracing::warn!(op = cmdlet, warning = ?w, "Exchange returned a warning");
            }
            out.values.extend(page.values);
            for w in page.warnings {
                if out.warnings.len() < MAX_WARNINGS && !out.warnings.contains(&w) {
                    out.warnings.push(w);
                }
            }
            match page.next {
                Some(next) => url = pages.follow(cmdlet, next).map_err(|e| (e, read))?,
                None => break,
            }
        }
        Ok(out)
    }
}

fn strip_annotations(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().filter(|(k, _)| !k.contains('@')).collect::<Map<String, Value>>())
        }
        other => other,
    }
}

/// One success body, taken apart.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) values: Vec<Value>,
    pub(crate) next: Option<String>,
    pub(crate) warnings: Vec<String>,
}

/// Splits a success body into output objects, the next-page link and the
/// `@adminapi.warnings` (string entries, cut to [`MAX_WARNING_CHARS`]).
pub(crate) fn parse_envelope(cmdlet: &str, raw: &Raw) -> Result<Page, ExoError> {
    if raw.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Page::default());
    }
    let v: Value = serde_json::from_slice(&raw.body).map_err(|_| {
        let mut e = ExoError::new(ExoErrorKind::Server, cmdlet, "the success body is not JSON");
        e.status = Some(raw.status);
        e
    })?;
    if let Some(errors) = v.get("@adminapi.errors").and_then(Value::as_array)
        && let Some(first) = errors.first()
    {
        let text = first
            .as_str()
            .map(str::to_owned)
            .or_else(|| first.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| first.to_string());
        let mut parts = text.splitn(3, '|');
        let (ty, msg) = match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(ty), Some(msg)) => (Some(ty.to_owned()), msg.to_owned()),
            _ => (None, text.clone()),
        };
        let kind = crate::error::classify_text(ty.as_deref(), &msg).unwrap_or(ExoErrorKind::Other);
        let mut e = ExoError::new(kind, cmdlet, msg);
        e.status = Some(raw.status);
        e.exception_type = ty;
        return Err(e);
    }
    let values = match v.get("value") {
        Some(Value::Array(a)) => a.iter().cloned().map(strip_annotations).collect(),
        Some(Value::Object(_)) => vec![strip_annotations(v["value"].clone())],
        _ => Vec::new(),
    };
    let next = v.get("@odata.nextLink").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let warnings = v
        .get("@adminapi.warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|w| !w.trim().is_empty())
        .take(MAX_WARNINGS)
        .map(|w| w.chars().take(MAX_WARNING_CHARS).collect())
        .collect();
    Ok(Page { values, next, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_strips_annotations_and_reads_next_link() {
        let raw = Raw {
            status: 200,
            headers: reqwest::header::HeaderMap::new(),
            body: br##"{"@odata.context":"x","value":[{"Name":"a","EmailAddresses@odata.type":"#Collection(String)","EmailAddresses":[]}],"@odata.nextLink":"https://h/next"}"##.to_vec(),
        };
        let page = parse_envelope("Get-X", &raw).unwrap();
        assert_eq!(page.values, vec![json!({"Name":"a","EmailAddresses":[]})]);
        assert_eq!(page.next.as_deref(), Some("https://h/next"));
        assert!(page.warnings.is_empty());
        let empty = Raw { status: 200, headers: reqwest::header::HeaderMap::new(), body: Vec::new() };
        assert!(parse_envelope("Set-X", &empty).unwrap().values.is_empty());
    }

    #[test]
    fn envelope_keeps_warnings_bounded() {
        let long = "w".repeat(MAX_WARNING_CHARS + 50);
        let body =
            json!({"@adminapi.warnings": ["There are more results available.", "", 7, long], "value": []});
        let raw = Raw {
            status: 200,
            headers: reqwest::header::HeaderMap::new(),
            body: body.to_string().into_bytes(),
        };
        let page = parse_envelope("Get-X", &raw).unwrap();
        assert_eq!(page.warnings.len(), 2);
        assert_eq!(page.warnings[0], "There are more results available.");
        assert_eq!(page.warnings[1].chars().count(), MAX_WARNING_CHARS);
        let many: Vec<String> = (0..MAX_WARNINGS + 5).map(|i| format!("w{i}")).collect();
        let body = json!({"@adminapi.warnings": many, "value": []});
        let raw = Raw {
            status: 200,
            headers: reqwest::header::HeaderMap::new(),
            body: body.to_string().into_bytes(),
        };
        assert_eq!(parse_envelope("Get-X", &raw).unwrap().warnings.len(), MAX_WARNINGS);
    }
}
