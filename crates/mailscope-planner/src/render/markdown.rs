//! A pull-request comment: the verdict first, details folded.

use std::fmt::Write;

use super::{sections, summary_line};
use crate::plan::Plan;

/// Hidden first line so a CI step can find and update its own comment.
pub const COMMENT_MARKER: &str = "<!-- mailscope-plan -->";

/// Renders the plan as GitHub-flavoured markdown.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{COMMENT_MARKER}");
    if plan.is_empty() {
        out.push_str("### mailscope plan: no changes\n\nThe tenant matches the desired state.\n");
    } else {
        let _ = writeln!(out, "### mailscope plan: {}", summary_line(plan).trim_start_matches("Plan: "));
    }
    let widening: Vec<_> =
        plan.apps.iter().filter(|a| !a.gains.is_empty() || a.becomes_unrestricted).collect();
    if !widening.is_empty() {
        out.push_str(
            "\n> [!WARNING]\n> **This plan widens access.** Applying it needs `--allow-widening`.\n",
        );
        for a in widening {
            if a.becomes_unrestricted {
                let _ = writeln!(
                    out,
                    "> - `{}` loses its allow list and may reach every mailbox not denied",
                    a.name
                );
            } else {
                let _ = writeln!(out, "> - `{}` may newly reach {}", a.name, a.gains.join(", "));
            }
        }
    }
    let sections = sections(plan);
    if !sections.is_empty() {
        out.push_str("\n| app | change | before | after |\n|---|---|---|---|\n");
        for s in &sections {
            let _ = writeln!(
                out,
                "| `{}` | {:?} | {} | {} |",
                s.app.name, s.app.change, s.app.before, s.app.after
            );
        }
        for s in &sections {
            let _ = writeln!(
                out,
                "\n<details><summary><code>{}</code>: {} line{}</summary>\n",
                s.app.name,
                s.lines.len(),
                if s.lines.len() == 1 { "" } else { "s" }
            );
            out.push_str("```diff\n");
            for line in &s.lines {
                let sign = match line.sign.symbol() {
                    "-/+" => "!",
                    other => other,
                };
                let _ = writeln!(
                    out,
                    "{sign} {}{}{}",
                    "    ".repeat(line.indent),
                    line.text,
                    if line.widening { "  (widening)" } else { "" }
                );
            }
            out.push_str("```\n\n</details>\n");
        }
    }
    if !plan.findings.is_empty() {
        out.push_str("\n<details><summary>Reported, not changed</summary>\n\n");
        for f in &plan.findings {
            let _ = writeln!(out, "- {}", f.message);
        }
        out.push_str("\n</details>\n");
    }
    out
}
