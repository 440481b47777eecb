//! A string that must never be printed.

use std::fmt;

/// A secret value (client secret, access token, client assertion).
///
/// `Debug` and `Display` print `[redacted]`, so a secret that ends up in a
/// `tracing` field, an error message or a `{:?}` of a containing struct does
/// not leak. The only way to read it is [`Secret::expose`], which is called at
/// exactly the places that put it on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself; only for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `text` with every occurrence of each non-empty value in `secrets`
/// replaced by `[redacted]`: for server-supplied text (error bodies, headers)
/// that may echo the credential or the bearer token back.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(*s) {
            out = out.replace(*s, "[redacted]");
        }
    }
    out
}

/// [`scrub`] for a raw body, which need not be UTF-8.
pub(crate) fn scrub_bytes(body: &[u8], secrets: &[&str]) -> Vec<u8> {
    let mut out = body.to_vec();
    for s in secrets.iter().map(|s| s.as_bytes()).filter(|s| !s.is_empty()) {
        let mut i = 0;
        let mut next = Vec::with_capacity(out.len());
        while i < out.len() {
            if out[i..].starts_with(s) {
                next.extend_from_slice(b"[redacted]");
                i += s.len();
            } else {
                next.push(out[i]);
                i += 1;
            }
        }
        out = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Secret, scrub, scrub_bytes};

    #[test]
    fn scrubs_every_occurrence() {
        assert_eq!(scrub("a tok b tok", &["tok", ""]), "a [redacted] b [redacted]");
        assert_eq!(scrub_bytes(b"\xfftok\x00", &["tok"]), b"\xff[redacted]\x00".to_vec());
        assert_eq!(scrub("nothing", &["tok"]), "nothing");
    }

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(s.expose(), "hunter2");
    }
}
