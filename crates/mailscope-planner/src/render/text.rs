//! Terraform-like text for terminals and CI logs.

use std::fmt::Write;

use super::{Sign, printable, sections, summary_line};
use crate::plan::Plan;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const MAGENTA_BOLD: &str = "\x1b[1;35m";

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.color { format!("{style}{text}{RESET}") } else { text.to_owned() }
    }
}

/// Options of the text renderer.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// ANSI colours (the caller decides from `NO_COLOR` and whether stdout
    /// is a terminal).
    pub color: bool,
    /// Whether an empty plan starts with the "No changes." verdict; a caller
    /// that prints its own verdict (`mailscope drift`) turns it off.
    pub verdict: bool,
}

/// Renders the plan for a terminal; `color` adds ANSI colours (the caller
/// decides from `NO_COLOR` and whether stdout is a terminal).
pub fn text(plan: &Plan, color: bool) -> String {
    text_with(plan, &TextOptions { color, verdict: true })
}

/// Renders the plan for a terminal as `options` say.
pub fn text_with(plan: &Plan, options: &TextOptions) -> String {
    let p = Painter { color: options.color };
    let mut out = String::new();
    if plan.is_empty() {
        if options.verdict {
            out.push_str(&p.paint(GREEN, "No changes."));
            out.push_str(" The tenant matches the desired state.\n");
        }
    } else {
        out.push_str("mailscope will perform the following actions:\n");
        for section in sections(plan) {
            let _ = writeln!(out, "\n  {}", p.paint(BOLD, &format!("# {}", section.heading())));
            if let Some(gains) = section.gains() {
                let _ = writeln!(out, "  {}", p.paint(MAGENTA_BOLD, &format!("! {gains}")));
            }
            for line in &section.lines {
                let style = match line.sign {
                    Sign::Add => GREEN,
                    Sign::Remove => RED,
                    Sign::Change => YELLOW,
                    Sign::Replace => CYAN,
                };
                let pad = "    ".repeat(line.indent);
                let mut text = format!("{pad}{} {}", line.sign.symbol(), line.text);
                let flag = if line.widening {
                    format!("  {}", p.paint(MAGENTA_BOLD, "(widening)"))
                } else {
                    String::new()
                };
                text = p.paint(style, &text);
                let _ = writeln!(out, "  {text}{flag}");
            }
        }
    }
    if !plan.findings.is_empty() {
        out.push_str("\nReported, not changed:\n");
        for f in &plan.findings {
            let _ = writeln!(out, "  {} {}", p.paint(YELLOW, "!"), printable(&f.message));
        }
    }
    if plan.summary.widening > 0 {
        let _ = writeln!(
            out,
            "\n{} {} step{} give{} an app access it does not have now; applying needs --allow-widening.",
            p.paint(MAGENTA_BOLD, "Widening:"),
            plan.summary.widening,
            if plan.summary.widening == 1 { "" } else { "s" },
            if plan.summary.widening == 1 { "s" } else { "" },
        );
    }
    if !plan.is_empty() {
        let _ = writeln!(out, "\n{}", p.paint(BOLD, &summary_line(plan)));
    }
    out
}
