//! Reading response bodies with a size cap, and the other limits on what a
//! server may make the client do.
//!
//! Every response body (token, each `InvokeCommand` page, each Graph
//! response) is read as a stream and abandoned as soon as it passes its cap,
//! so a broken or hostile endpoint cannot make the client buffer gigabytes.
//! The caps are far above anything the real services send: a token response
//! is a few KiB, and a 1000-object `InvokeCommand` page of full group objects
//! a few MiB.

use crate::error::{ExoError, ExoErrorKind};

/// Largest token endpoint response read (64 KiB).
pub(crate) const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// Default cap of one `InvokeCommand` page or Graph response (64 MiB); see
/// [`crate::SessionConfig::max_response_bytes`].
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Pages one listing may follow before it is treated as a loop. At 1000
/// objects per page that is ten million objects, far beyond any tenant.
pub(crate) const MAX_PAGES: usize = 10_000;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The connection failed while reading.
    Http(reqwest::Error),
    /// The body passed the cap (bytes).
    TooLarge(usize),
}

/// Reads `resp`'s body, failing as soon as it exceeds `cap` bytes (at once
/// when the declared `Content-Length` already does).
pub(crate) async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Http)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The error text of a 3xx answer: redirects are never followed, because a
/// redirected token request would carry the credential, and a redirected
/// `InvokeCommand` would run the cmdlet, at a host nobody configured.
pub(crate) fn redirect_message(status: u16, headers: &reqwest::header::HeaderMap) -> String {
    let location = headers
        .get(reqwest::header::LOCATION)
        .map_or_else(|| "no Location".to_owned(), |v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    format!("the server answered HTTP {status} redirecting to {location}; redirects are not followed")
}

/// The `@odata.nextLink`s one listing has followed: a link must stay on the
/// API's origin (the token is sent to it), must not repeat (a loop), and a
/// listing ends with an error after [`MAX_PAGES`] pages.
pub(crate) struct Pages {
    origin: Option<reqwest::Url>,
    seen: std::collections::HashSet<String>,
}

impl Pages {
    /// Paging of a listing whose first request went to `first_url`.
    pub(crate) fn new(first_url: &str) -> Self {
        let mut seen = std::collections::HashSet::new();
        seen.insert(first_url.to_owned());
        Self { origin: reqwest::Url::parse(first_url).ok(), seen }
    }

    /// Checks `next` and returns it as the URL of the next page.
    pub(crate) fn follow(&mut self, op: &str, next: String) -> Result<String, ExoError> {
        let refuse = |why: String| Err(ExoError::new(ExoErrorKind::Server, op, why));
        let same_origin = match (&self.origin, reqwest::Url::parse(&next)) {
            (Some(a), Ok(b)) => a.origin() == b.origin(),
            _ => false,
        };
        if !same_origin {
            return refuse(format!("refusing to follow @odata.nextLink to another origin: {next}"));
        }
        if self.seen.len() >= MAX_PAGES {
            return refuse(format!("paging does not end: more than {MAX_PAGES} pages"));
        }
        if !self.seen.insert(next.clone()) {
            return refuse(format!("@odata.nextLink repeats a page already read: {next}"));
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_stay_on_origin_and_do_not_repeat() {
        let mut pages = Pages::new("http://127.0.0.1:5/c");
        assert!(pages.follow("op", "http://127.0.0.1:5/a?b".into()).is_ok());
        assert!(pages.follow("op", "http://127.0.0.1:6/a".into()).is_err(), "other port");
        assert!(pages.follow("op", "http://127.0.0.1:5.evil/a".into()).is_err(), "not a prefix test");
        assert!(pages.follow("op", "https://127.0.0.1:5/a".into()).is_err(), "other scheme");
        let e = pages.follow("op", "http://127.0.0.1:5/a?b".into()).unwrap_err();
        assert!(e.to_string().contains("repeats"), "{e}");
        let e = pages.follow("op", "http://127.0.0.1:5/c".into()).unwrap_err();
        assert!(e.to_string().contains("repeats"), "the first page counts: {e}");
    }

    #[test]
    fn paging_is_bounded() {
        let mut pages = Pages::new("http://h/0");
        for i in 1..MAX_PAGES {
            pages.follow("op", format!("http://h/{i}")).unwrap();
        }
        let e = pages.follow("op", "http://h/last".into()).unwrap_err();
        assert!(e.to_string().contains("does not end"), "{e}");
    }
}
