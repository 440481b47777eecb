//! Escaping for markdown: the one place that knows how a name from the file
//! or the tenant is made inert in a pull-request comment or audit report.
//!
//! [`printable`] keeps a value on one line with no terminal escapes; that is
//! not enough for markdown, where `*`, `_`, `[…](…)`, `|`, `<!--` or a
//! stray backtick in an app or group name would restyle, link, split a
//! table row, or open an HTML comment that hides the lines after it (a
//! widening that reviewers never see). Each helper starts from
//! [`printable`], then escapes for the context the value lands in:
//!
//! - [`md_text`]: running text (list items, warnings, findings);
//! - [`md_code`]: a code span, with a fence longer than any backtick run in
//!   the value, `|` escaped when the span sits in a table cell;
//! - [`html_text`]: text inside an HTML block (`<summary>`), where markdown
//!   is not parsed but tags are.

use super::printable;

/// Characters that mean something in GitHub-flavoured markdown inline text:
/// emphasis, code, links and images, raw HTML and comments, entities,
/// tables, headings, strikethrough, math, and the backslash itself.
/// (`(`, `!` and the like only matter after a `[` or `<`, which are escaped,
/// so they stay as they are and the text stays readable.)
const MARKDOWN_PUNCTUATION: &[char] = &['\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~', '&', '$'];

/// `text` as literal markdown text: on one line, every markdown
/// metacharacter backslash-escaped (`CommonMark` lets any ASCII punctuation
/// be escaped, and an escaped `<` can start neither a tag nor `<!--`).
pub(crate) fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        if MARKDOWN_PUNCTUATION.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Where a code span sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// Running text.
    Text,
    /// A table cell: GFM splits cells on `|` even inside code spans unless it is escaped.
    Cell,
}

/// `text` as one code span: on one line, between backtick fences one longer
/// than its longest backtick run (padded with a space when it begins or
/// ends with a backtick, as `CommonMark` strips one), so no backtick in it
/// can close the span early. Inside a span `*`, `<!--` and the rest are
/// literal already.
pub(crate) fn md_code(text: &str, span: Span) -> String {
    let mut body = printable(text);
    if span == Span::Cell {
        body = body.replace('|', "\\|");
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// `text` inside an HTML element of an HTML block: on one line, with `&`,
/// `<`, `>` and quotes as entities, so it can neither close the element nor
/// open a tag or a comment.
pub(crate) fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_every_markdown_metacharacter_and_stays_on_one_line() {
        assert_eq!(md_text("billing@contoso.com"), "billing@contoso.com");
        assert_eq!(
            md_text("a*b_c[d](e)<!-- x -->|#~!&$`\\{}"),
            "a\\*b\\_c\\[d\\](e)\\<!-- x --\\>\\|\\#\\~!\\&\\$\\`\\\\{}"
        );
        assert_eq!(md_text("a\nb\u{1b}[2K"), "a\u{fffd}b\u{fffd}\\[2K");
    }

    #[test]
    fn a_backtick_cannot_close_a_code_span() {
        assert_eq!(md_code("invoice-mailer", Span::Text), "`invoice-mailer`");
        assert_eq!(md_code("x` <!--", Span::Text), "``x` <!--``");
        assert_eq!(md_code("``a", Span::Text), "``` ``a ```");
        assert_eq!(md_code("a|b", Span::Cell), "`a\\|b`");
        assert_eq!(md_code("a|b", Span::Text), "`a|b`");
    }

    #[test]
    fn html_text_cannot_close_its_element() {
        assert_eq!(
            html_text("a</code></summary><!--\"'&"),
            "a&lt;/code&gt;&lt;/summary&gt;&lt;!--&quot;&#39;&amp;"
        );
    }

    /// A name that, unescaped, closes a code span or element and opens an
    /// HTML comment hiding what follows.
    const HOSTILE: &str = "x` </code></summary><!-- *y* | [z](https://e.example)";

    mod renderers {
        use super::HOSTILE;
        use crate::audit::{
            AuditApp, AuditCheck, AuditPermission, AuditReport, Exposure, PermissionReach, PermissionSource,
            PolicyRoom,
        };
        use crate::plan::{AccessSummary, Action, AppChange, AppPlan, Effect, Finding, Plan, Step, Summary};
        use crate::render::{MarkdownOptions, audit_markdown, markdown, markdown_with};

        fn app(name: &str, id: &str, change: AppChange) -> AppPlan {
            AppPlan {
                name: name.to_owned(),
                app_id: id.to_owned(),
                change,
                before: AccessSummary::Only { allowed: 1 },
                after: AccessSummary::Only { allowed: 2 },
                gains: Vec::new(),
                becomes_unrestricted: false,
                line: None,
                unlisted: false,
            }
        }

        /// A plan where the hostile text is an app's name, a gained address,
        /// a leaving app's name and a finding.
        fn plan() -> Plan {
            let mut widening = app(HOSTILE, "id-1", AppChange::Update);
            widening.gains = vec![format!("a{HOSTILE}@contoso.com")];
            let step = Step {
                index: 0,
                app: HOSTILE.to_owned(),
                app_id: "id-1".to_owned(),
                wave: 0,
                action: Action::AddMember { group: "g".into(), member: "a@contoso.com".into() },
                effect: Effect::Widening,
            };
            Plan {
                format_version: 1,
                steps: vec![step],
                apps: vec![widening, app(HOSTILE, "id-2", AppChange::LockDown)],
                findings: vec![Finding { code: "c".into(), app: None, message: HOSTILE.to_owned() }],
                summary: Summary::default(),
            }
        }

        /// `md` with its code spans and escaped characters taken out (what
        /// is inside them is literal): a backtick run opens a span that the
        /// next run of the same length closes.
        fn outside_code(md: &str) -> String {
            let b = md.as_bytes();
            let run_at = |i: usize| b[i..].iter().take_while(|c| **c == b'`').count();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                // An escaped character is literal: shown as `~` here.
                if b[i] == b'\\' && i + 1 < b.len() && b[i + 1].is_ascii_punctuation() {
                    out.push(b'~');
                    i += 2;
                    continue;
                }
                if b[i] != b'`' {
                    out.push(b[i]);
                    i += 1;
                    continue;
                }
                let run = run_at(i);
                let mut j = i + run;
                let close = loop {
                    if j >= b.len() {
                        break None;
                    }
                    if b[j] == b'`' {
                        let r = run_at(j);
                        if r == run {
                            break Some(j + r);
                        }
                        j += r;
                    } else {
                        j += 1;
                    }
                };
                let Some(end) = close else {
                    out.extend_from_slice(&b[i..]);
                    break;
                };
                i = end;
            }
            String::from_utf8(out).unwrap()
        }

        /// What must never appear outside a code span: the comment opener,
        /// a closing tag, an unescaped link or emphasis.
        fn assert_inert(md: &str) {
            let md = outside_code(md);
            for raw in ["<!--", "</code></summary>", "[z](", "*y*"] {
                assert!(!md.contains(raw), "{raw} outside a code span: {md}");
            }
        }

        #[test]
        fn the_widening_warning_escapes_the_name_and_the_gained_address() {
            let md = markdown(&plan());
            let line = md.lines().find(|l| l.contains("may newly reach")).unwrap();
            assert_eq!(
                line,
                "> - ``x` </code></summary><!-- *y* | [z](https://e.example)`` may newly reach \
                 ax\\` \\</code\\>\\</summary\\>\\<!-- \\*y\\* \\| \\[z\\](https://e.example)@contoso.com"
            );
            assert_inert(line);
        }

        #[test]
        fn the_leaving_warning_keeps_the_name_in_its_code_span() {
            let md = markdown(&plan());
            let line = md.lines().find(|l| l.contains("left the file")).unwrap();
            assert_inert(line);
            assert!(
                line.starts_with("> - ``x` </code></summary><!-- *y* | [z](https://e.example)`` left"),
                "{line}"
            );
        }

        #[test]
        fn the_table_row_escapes_the_pipe_inside_the_code_span() {
            let md = markdown(&plan());
            let row = md.lines().find(|l| l.starts_with("| ``x")).unwrap();
            assert_eq!(row.matches(" | ").count(), 3, "four cells: {row}");
            assert_inert(row);
            assert!(row.contains("*y* \\| [z]"), "{row}");
        }

        #[test]
        fn the_details_summary_is_html_escaped() {
            let md = markdown(&plan());
            let line = md.lines().find(|l| l.starts_with("<details><summary><code>x")).unwrap();
            assert!(line.contains("x` &lt;/code&gt;&lt;/summary&gt;&lt;!-- *y*"), "{line}");
            assert!(line.ends_with("</code>: 2 lines</summary>"), "{line}");
            // An HTML block: backticks and asterisks are literal, tags are not.
            assert!(!line.contains("<!--"), "{line}");
            assert_eq!(line.matches("</code>").count(), 1, "{line}");
        }

        #[test]
        fn a_finding_is_escaped() {
            let md = markdown(&plan());
            let line = md.lines().find(|l| l.starts_with("- x")).unwrap();
            assert_eq!(line, "- x\\` \\</code\\>\\</summary\\>\\<!-- \\*y\\* \\| \\[z\\](https://e.example)");
        }

        #[test]
        fn an_adopted_app_is_named_in_a_safe_code_span() {
            let current = Plan { steps: Vec::new(), findings: Vec::new(), ..plan() };
            let md = markdown_with(
                &current,
                &MarkdownOptions { base: Some(&plan()), ..MarkdownOptions::default() },
            );
            let line = md.lines().find(|l| l.starts_with("- ``x")).unwrap();
            assert_eq!(line, "- ``x` </code></summary><!-- *y* | [z](https://e.example)``");
        }

        #[test]
        fn the_audit_table_and_checks_escape_tenant_names() {
            let report = AuditReport {
                tenant: None,
                grants_read: true,
                rbac_read: true,
                apps: vec![AuditApp {
                    app_id: format!("id{HOSTILE}"),
                    name: HOSTILE.to_owned(),
                    listed: Some(false),
                    managed: false,
                    excluded: None,
                    exposure: Exposure::Scoped,
                    permissions: vec![AuditPermission {
                        permission: "Mail.Read".into(),
                        source: PermissionSource::Graph,
                        fenced_by_policy: true,
                        ews: false,
                        reach: PermissionReach {
                            exposure: Exposure::Scoped,
                            mailboxes: Some(1),
                            via: vec![HOSTILE.to_owned()],
                        },
                    }],
                    advice: Vec::new(),
                }],
                checks: vec![AuditCheck::NestedGroup { group: HOSTILE.to_owned(), member: "m".into() }],
                policy_room: PolicyRoom { used: 1, limit: 300, left: 299 },
            };
            let md = audit_markdown(&report);
            let row = md.lines().find(|l| l.starts_with("| x")).unwrap();
            assert!(row.starts_with("| x\\` \\</code\\>\\</summary\\>\\<!-- \\*y\\* \\| \\[z\\]"), "{row}");
            assert!(
                row.contains("| ``idx` </code></summary><!-- *y* \\| [z](https://e.example)`` |"),
                "{row}"
            );
            assert!(row.contains("1 mailbox via x\\` \\</code\\>"), "{row}");
            let check = md.lines().find(|l| l.starts_with("- scope group")).unwrap();
            assert!(check.starts_with("- scope group x\\` \\</code\\>\\</summary\\>\\<!--"), "{check}");
            assert_inert(row);
            assert_inert(check);
        }
    }
}
