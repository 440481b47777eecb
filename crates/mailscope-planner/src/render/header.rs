//! The top of a pull-request comment: the hidden marker a CI step finds its
//! own comment by, and the line naming what was planned (file, tenant,
//! commit, CI run). Both come from [`MarkdownOptions`]; with none of those
//! set they are the plain `<!-- mailscope-plan -->` and nothing.
//!
//! The marker names the file and the tenant so that two policy files (or
//! two tenants) of one repository keep two comments instead of overwriting
//! each other's.

use std::fmt::Write;

use super::markdown::MarkdownOptions;
use super::printable;

/// A value inside the hidden marker: printable, no spaces, no `>` (which
/// could close the comment), each such byte as `%XX`.
fn marker_value(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'>' | b'<' | b'%' | b'"' | b'\'') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The hidden marker's name and keys, without the closing `-->`: the
/// marker, then `file=…` and `tenant=…` when known. Part *k* adds
/// ` part=k`.
pub(super) fn marker_key(options: &MarkdownOptions<'_>) -> String {
    let mut out = format!("<!-- {}", options.marker);
    if let Some(file) = options.file {
        let _ = write!(out, " file={}", marker_value(file));
    }
    if let Some(tenant) = options.tenant {
        let _ = write!(out, " tenant={}", marker_value(tenant));
    }
    out
}

/// The line under the heading naming the file, the tenant, the commit and
/// the CI run, when known; every value is shown as code or as a link whose
/// text is fixed, so nothing in it renders as markdown.
pub(super) fn context_line(options: &MarkdownOptions<'_>) -> Option<String> {
    let code = |v: &str| format!("`{}`", printable(v).replace('`', "'"));
    let mut parts = Vec::new();
    if let Some(file) = options.file {
        parts.push(format!("file {}", code(file)));
    }
    if let Some(tenant) = options.tenant {
        parts.push(format!("tenant {}", code(tenant)));
    }
    if let Some(commit) = options.commit {
        parts.push(format!("commit {}", code(commit.get(..12).unwrap_or(commit))));
    }
    if let Some(url) = options.run_url.filter(|u| u.starts_with("https://") && !u.contains([' ', ')', '\n']))
    {
        parts.push(format!("[CI run]({url})"));
    }
    (!parts.is_empty()).then(|| format!("\n{}\n", parts.join(" · ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_context_the_marker_is_the_plain_one_and_there_is_no_line() {
        let o = MarkdownOptions::default();
        assert_eq!(format!("{} -->", marker_key(&o)), "<!-- mailscope-plan -->");
        assert_eq!(context_line(&o), None);
    }

    #[test]
    fn the_marker_names_file_and_tenant_and_cannot_be_closed_early() {
        let o = MarkdownOptions {
            file: Some("policies/prod eu.yaml"),
            tenant: Some("8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c"),
            ..MarkdownOptions::default()
        };
        assert_eq!(
            marker_key(&o),
            "<!-- mailscope-plan file=policies/prod%20eu.yaml tenant=8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c"
        );
        let hostile = MarkdownOptions { file: Some("a-->b\n"), ..MarkdownOptions::default() };
        assert_eq!(marker_key(&hostile), "<!-- mailscope-plan file=a--%3Eb%0A");
    }

    #[test]
    fn the_context_line_names_file_tenant_commit_and_links_the_run() {
        let o = MarkdownOptions {
            file: Some("policies/contoso.yaml"),
            tenant: Some("8f3c"),
            commit: Some("0123456789abcdef0123"),
            run_url: Some("https://github.com/o/r/actions/runs/42"),
            ..MarkdownOptions::default()
        };
        assert_eq!(
            context_line(&o).unwrap(),
            "\nfile `policies/contoso.yaml` · tenant `8f3c` · commit `0123456789ab` · \
             [CI run](https://github.com/o/r/actions/runs/42)\n"
        );
        let odd = MarkdownOptions {
            file: Some("`x`.yaml"),
            run_url: Some("javascript:alert(1)"),
            ..MarkdownOptions::default()
        };
        assert_eq!(context_line(&odd).unwrap(), "\nfile `'x'.yaml`\n");
        // Only an https link without characters that would end it early.
        for url in ["http://ci.example/run/1", "https://ci.example/run 1", "https://ci.example/a)b"] {
            let o = MarkdownOptions { run_url: Some(url), ..MarkdownOptions::default() };
            assert_eq!(context_line(&o), None, "{url}");
        }
    }
}
