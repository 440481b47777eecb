//! A pull-request comment: the verdict first, details folded.
//!
//! Layout (every part of it bounded so the comment fits GitHub's limit):
//! 1. the hidden [`COMMENT_MARKER`] (a CI step finds and updates its own
//!    comment with it), the summary line, and the warnings: apps that gain
//!    access, apps that left the file and are locked down or removed;
//! 2. a table, one row per app that changes;
//! 3. one `<details>` block per app with its diff;
//! 4. findings (reported, never changed).
//!
//! With a base plan (the plan of the desired state *before* the pull request
//! against the same live state), apps are split into "changed by this
//! commit" and "changed outside git" (drift the commit did not ask for).
//!
//! When the whole comment would exceed the limit, the largest `<details>`
//! blocks are folded first (named in a note), then table rows; the summary
//! and warnings always stay. [`markdown_parts`] instead splits the comment
//! into several, each under the limit, for `mailscope plan --split`.
//!
//! [`MarkdownOptions`] set the title, the hidden marker and the sections, so
//! that other reports built from a plan (`mailscope drift`) are rendered
//! directly rather than rewritten afterwards.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use super::escape::{Span, html_text, md_code, md_text};
use super::header::{context_line, marker_key};
use super::{Section, counts, sections, steps_by_app};
use crate::exposure::DriftExposure;
use crate::plan::{Action, AppChange, AppPlan, Plan, Step};

/// Hidden first line so a CI step can find and update its own comment.
pub const COMMENT_MARKER: &str = "<!-- mailscope-plan -->";

/// GitHub's limit on the body of an issue or pull-request comment.
pub const COMMENT_LIMIT: usize = 65_535;

/// How many apps a warning list names before it says "and N more".
const WARNING_LIST: usize = 20;
/// How many mailboxes of one exposed app are named before "N more".
const EXPOSED_MAILBOXES: usize = 3;
/// How many findings are listed before "and N more".
const FINDING_LIST: usize = 50;
/// Room kept for the notes that folding adds.
const NOTE_RESERVE: usize = 600;

/// Options of the markdown renderer. The default renders the pull-request
/// comment of `mailscope plan`.
#[derive(Debug, Clone, Copy)]
pub struct MarkdownOptions<'a> {
    /// Most bytes in one comment (bytes bound characters from above).
    pub limit: usize,
    /// The plan of the desired state before the change under review, against
    /// the same live state: separates "changed by this commit" from drift.
    pub base: Option<&'a Plan>,
    /// Name inside the hidden first line, `<!-- {marker} -->` (and
    /// `<!-- {marker} part=k -->` for the later parts), by which CI finds
    /// and updates its own comment. Default `mailscope-plan`.
    pub marker: &'a str,
    /// Title of the heading, `### {title}: …`. Default `mailscope plan`.
    pub title: &'a str,
    /// What the heading says after the title when the plan is empty.
    /// Default `no changes`.
    pub no_changes: &'a str,
    /// What the heading says before the counts when the plan is not empty
    /// (`### {title}: {changes_lead}1 to add, …`). Default empty.
    pub changes_lead: &'a str,
    /// Which sections to render.
    pub sections: Sections,
    /// The desired file, named under the heading and in the marker
    /// (`<!-- {marker} file=… tenant=… -->`), so that two policy files of
    /// one repository keep two comments.
    pub file: Option<&'a str>,
    /// The tenant (its id), named like the file.
    pub tenant: Option<&'a str>,
    /// The commit planned (from the CI environment), named under the heading.
    pub commit: Option<&'a str>,
    /// The CI run that made the comment, linked under the heading.
    pub run_url: Option<&'a str>,
    /// Apps that reach, live, mailboxes the desired file does not allow them
    /// ([`crate::drift_exposures`]): shown first, as a caution, because they
    /// are exposed now, before anything is applied. Default none.
    pub exposures: &'a [DriftExposure],
}

impl Default for MarkdownOptions<'_> {
    fn default() -> Self {
        Self {
            limit: COMMENT_LIMIT,
            base: None,
            marker: "mailscope-plan",
            title: "mailscope plan",
            no_changes: "no changes",
            changes_lead: "",
            sections: Sections::default(),
            file: None,
            tenant: None,
            commit: None,
            run_url: None,
            exposures: &[],
        }
    }
}

/// The optional sections of a markdown rendering; the heading (with the
/// hidden marker) is always there. All on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // independent switches, one per section
pub struct Sections {
    /// The warnings: apps that gain access, apps that leave the file, drift
    /// against the base plan.
    pub warnings: bool,
    /// The table, one row per app that changes.
    pub table: bool,
    /// One folded `<details>` diff per app.
    pub details: bool,
    /// The findings (reported, not changed).
    pub findings: bool,
}

impl Default for Sections {
    fn default() -> Self {
        Self { warnings: true, table: true, details: true, findings: true }
    }
}

/// Where an app's changes come from, when a base plan is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// No base plan: no distinction.
    Unknown,
    /// The desired state changed for this app; the tenant matched the old one.
    Commit,
    /// The tenant moved away from a desired state the commit did not change.
    Drift,
    /// Both: the commit changes the app and the tenant had drifted too.
    Both,
}

fn actions<'a>(by_app: &HashMap<&str, Vec<&'a Step>>, app_id: &str) -> Vec<&'a Action> {
    by_app.get(app_id).into_iter().flatten().map(|s| &s.action).collect()
}

fn same_actions(a: &[&Action], b: &[&Action]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

fn origins(plan: &Plan, base: Option<&Plan>) -> HashMap<String, Origin> {
    let (ours, theirs) = (steps_by_app(plan), base.map(steps_by_app));
    plan.apps
        .iter()
        .map(|a| {
            let origin = match &theirs {
                None => Origin::Unknown,
                Some(theirs) => {
                    let before = actions(theirs, &a.app_id);
                    if before.is_empty() {
                        Origin::Commit
                    } else if same_actions(&before, &actions(&ours, &a.app_id)) {
                        Origin::Drift
                    } else {
                        Origin::Both
                    }
                }
            };
            (a.app_id.clone(), origin)
        })
        .collect()
}

/// Apps the base plan would change that this plan leaves alone: drift that
/// the commit adopts into the file (the tenant already matches the new file).
fn adopted<'a>(plan: &Plan, base: &'a Plan) -> Vec<&'a AppPlan> {
    let with_steps = steps_by_app(plan);
    base.apps
        .iter()
        .filter(|b| b.change != AppChange::Unchanged && !with_steps.contains_key(b.app_id.as_str()))
        .filter(|b| !matches!(b.change, AppChange::LockDown | AppChange::Remove))
        .collect()
}

fn change_word(change: AppChange) -> &'static str {
    match change {
        AppChange::Unchanged => "unchanged",
        AppChange::Create => "restrict",
        AppChange::Update => "update",
        AppChange::LockDown => "lock down",
        AppChange::Remove => "remove",
        AppChange::Affected => "affected",
    }
}

/// Items (which name apps and mailboxes, escaped by their makers) one per
/// line, at most [`WARNING_LIST`] of them.
fn capped_list(out: &mut String, items: &[String], prefix: &str) {
    for item in items.iter().take(WARNING_LIST) {
        let _ = writeln!(out, "{prefix}{item}");
    }
    if items.len() > WARNING_LIST {
        let _ = writeln!(out, "{prefix}… and {} more", items.len() - WARNING_LIST);
    }
}

/// Marker, title, context and warnings: always kept whole.
fn head(plan: &Plan, options: &MarkdownOptions<'_>) -> String {
    let MarkdownOptions { title, .. } = options;
    let mut out = String::new();
    let _ = writeln!(out, "{} -->", marker_key(options));
    if plan.is_empty() {
        let _ = writeln!(out, "### {title}: {}", options.no_changes);
        out.push_str(&context_line(options).unwrap_or_default());
        let _ = writeln!(out, "\nThe tenant matches the desired state.");
    } else {
        let _ = writeln!(out, "### {title}: {}{}", options.changes_lead, counts(plan));
        out.push_str(&context_line(options).unwrap_or_default());
    }
    if options.sections.warnings {
        exposure_warning(options.exposures, &mut out);
        warnings(plan, options.base, &mut out);
    }
    out
}

/// The caution about apps exposed now: named, with the mailboxes they reach
/// against the file.
fn exposure_warning(exposures: &[DriftExposure], out: &mut String) {
    if exposures.is_empty() {
        return;
    }
    let lines: Vec<String> = exposures
        .iter()
        .map(|e| {
            // An unrestricted app reaches every mailbox: naming them all
            // would push the plan out of the comment.
            let what = if e.every_other_mailbox {
                "every mailbox".to_owned()
            } else {
                let mut shown: Vec<String> =
                    e.mailboxes.iter().take(EXPOSED_MAILBOXES).map(|m| md_code(m, Span::Text)).collect();
                if e.mailboxes.len() > EXPOSED_MAILBOXES {
                    shown.push(format!("{} more", e.mailboxes.len() - EXPOSED_MAILBOXES));
                }
                shown.join(", ")
            };
            format!("{} reaches {what}", md_code(&e.app, Span::Text))
        })
        .collect();
    let _ = writeln!(
        out,
        "\n> [!CAUTION]\n> **{} app{} can reach mailboxes the file does not allow, now.**",
        exposures.len(),
        if exposures.len() == 1 { "" } else { "s" }
    );
    capped_list(out, &lines, "> - ");
}

/// The warnings under the heading.
fn warnings(plan: &Plan, base: Option<&Plan>, out: &mut String) {
    let widening: Vec<String> = plan
        .apps
        .iter()
        .filter(|a| a.widens())
        .map(|a| {
            if a.becomes_unrestricted {
                format!(
                    "{} loses its allow list and may reach every mailbox not denied",
                    md_code(&a.name, Span::Text)
                )
            } else {
                let shown: Vec<String> = a.gains.iter().take(10).map(|g| md_text(g)).collect();
                let more = if a.gains.len() > 10 {
                    format!(" and {} more", a.gains.len() - 10)
                } else {
                    String::new()
                };
                format!("{} may newly reach {}{more}", md_code(&a.name, Span::Text), shown.join(", "))
            }
        })
        .collect();
    if !widening.is_empty() {
        out.push_str(
            "\n> [!WARNING]\n> **This plan widens access.** Applying it needs `--allow-widening`.\n",
        );
        capped_list(out, &widening, "> - ");
    }
    let leaving: Vec<String> = plan
        .apps
        .iter()
        .filter(|a| matches!(a.change, AppChange::LockDown | AppChange::Remove))
        .map(|a| {
            if a.change == AppChange::LockDown && a.unlisted {
                format!(
                    "{} is not in the file (`unlistedApps: lock-down`): an empty allow group fences it (it reaches no mailbox)",
                    md_code(&a.name, Span::Text)
                )
            } else if a.change == AppChange::LockDown {
                format!(
                    "{} left the file: its allow group is emptied (it reaches no mailbox)",
                    md_code(&a.name, Span::Text)
                )
            } else {
                format!(
                    "{} left the file: its managed group and policy are removed",
                    md_code(&a.name, Span::Text)
                )
            }
        })
        .collect();
    if !leaving.is_empty() {
        let _ = writeln!(
            out,
            "\n> [!CAUTION]\n> **This plan locks down or removes {} app{}.**",
            leaving.len(),
            if leaving.len() == 1 { "" } else { "s" }
        );
        capped_list(out, &leaving, "> - ");
    }
    if let Some(base) = base {
        let in_base = steps_by_app(base);
        let drifted = plan.apps.iter().filter(|a| in_base.contains_key(a.app_id.as_str())).count();
        if drifted > 0 {
            let _ = writeln!(
                out,
                "\n> [!NOTE]\n> The tenant has drifted from the desired state before this change for {drifted} app{}: \
                 see **Changed outside git**.",
                if drifted == 1 { "" } else { "s" }
            );
        }
    }
}

/// One app's folded diff.
fn details(s: &Section<'_>, origin: Origin) -> String {
    let mut out = String::new();
    let tag = match origin {
        Origin::Unknown | Origin::Commit => "",
        Origin::Drift => " · changed outside git",
        Origin::Both => " · also drifted",
    };
    let _ = writeln!(
        out,
        "\n<details><summary><code>{}</code>: {} line{}{tag}</summary>\n",
        html_text(&s.app.name),
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
    out
}

fn row(app: &AppPlan) -> String {
    format!(
        "| {} | {} | {} | {} |\n",
        md_code(&app.name, Span::Cell),
        change_word(app.change),
        app.before,
        app.after
    )
}

const TABLE_HEAD: &str = "\n| app | change | before | after |\n|---|---|---|---|\n";

/// A titled group of apps: its heading, table rows and details blocks.
struct Group {
    heading: Option<String>,
    rows: Vec<String>,
    details: Vec<String>,
}

fn groups(plan: &Plan, options: &MarkdownOptions<'_>) -> Vec<Group> {
    let base = options.base;
    let shown = options.sections;
    let origins = origins(plan, base);
    let sections = sections(plan);
    let make = |heading: Option<String>, keep: &dyn Fn(Origin) -> bool| {
        let picked: Vec<&Section<'_>> = sections.iter().filter(|s| keep(origins[&s.app.app_id])).collect();
        Group {
            heading,
            rows: if shown.table { picked.iter().map(|s| row(s.app)).collect() } else { Vec::new() },
            details: if shown.details {
                picked.iter().map(|s| details(s, origins[&s.app.app_id])).collect()
            } else {
                Vec::new()
            },
        }
    };
    let mut out = if base.is_some() {
        vec![
            make(Some("\n#### Changed by this commit\n".to_owned()), &|o| {
                matches!(o, Origin::Commit | Origin::Both)
            }),
            make(Some("\n#### Changed outside git (drift)\n".to_owned()), &|o| o == Origin::Drift),
        ]
    } else {
        vec![make(None, &|_| true)]
    };
    out.retain(|g| !g.rows.is_empty() || !g.details.is_empty());
    if let Some(base) = base {
        let adopted = adopted(plan, base);
        if !adopted.is_empty() {
            let names: Vec<String> = adopted.iter().map(|a| md_code(&a.name, Span::Text)).collect();
            let mut text = String::from(
                "\n#### Drift adopted by this commit\n\nThe tenant already matches the new file for these apps; nothing to apply:\n\n",
            );
            capped_list(&mut text, &names, "- ");
            out.push(Group { heading: Some(text), rows: Vec::new(), details: Vec::new() });
        }
    }
    out
}

fn findings(plan: &Plan, sections: Sections) -> String {
    if plan.findings.is_empty() || !sections.findings {
        return String::new();
    }
    let mut out = String::from("\n<details><summary>Reported, not changed</summary>\n\n");
    for f in plan.findings.iter().take(FINDING_LIST) {
        let _ = writeln!(out, "- {}", md_text(&f.message));
    }
    if plan.findings.len() > FINDING_LIST {
        let _ = writeln!(out, "- … and {} more (see `mailscope plan`)", plan.findings.len() - FINDING_LIST);
    }
    out.push_str("\n</details>\n");
    out
}

/// Which rows and details a rendering shows.
struct Shown {
    /// (group, detail index) pairs folded away.
    folded: BTreeSet<(usize, usize)>,
    /// Rows kept per group (the rest are counted in a "… more" row).
    rows: Vec<usize>,
}

fn body(groups: &[Group], shown: &Shown, with_details: bool) -> String {
    let mut out = String::new();
    for (gi, g) in groups.iter().enumerate() {
        if let Some(h) = &g.heading {
            out.push_str(h);
        }
        if !g.rows.is_empty() {
            out.push_str(TABLE_HEAD);
            for r in g.rows.iter().take(shown.rows[gi]) {
                out.push_str(r);
            }
            if shown.rows[gi] < g.rows.len() {
                let _ = writeln!(out, "| … | {} more apps | | |", g.rows.len() - shown.rows[gi]);
            }
        }
        if with_details {
            for (di, d) in g.details.iter().enumerate() {
                if !shown.folded.contains(&(gi, di)) {
                    out.push_str(d);
                }
            }
        }
    }
    out
}

fn fold_note(folded: usize, rows_cut: usize) -> String {
    let mut out = String::new();
    if folded > 0 || rows_cut > 0 {
        let _ = write!(
            out,
            "\n> [!NOTE]\n> To stay under GitHub's {COMMENT_LIMIT}-character comment limit, this comment leaves out"
        );
        if folded > 0 {
            let _ = write!(
                out,
                " the details of the {folded} largest app section{}",
                if folded == 1 { "" } else { "s" }
            );
        }
        if rows_cut > 0 {
            let _ = write!(
                out,
                "{} {rows_cut} table row{}",
                if folded > 0 { " and" } else { "" },
                if rows_cut == 1 { "" } else { "s" }
            );
        }
        out.push_str(
            ". Run `mailscope plan` for the full plan, or `mailscope plan --split DIR` for every part.\n",
        );
    }
    out
}

/// Cuts `text` to at most `limit` bytes on a character boundary (last resort).
fn hard_cut(mut text: String, limit: usize) -> String {
    const CUT: &str = "\n\n… (cut to fit the comment limit)\n";
    if text.len() <= limit {
        return text;
    }
    let mut end = limit.saturating_sub(CUT.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(CUT);
    text
}

/// Renders the plan as one GitHub-flavoured markdown comment within the
/// default limit ([`COMMENT_LIMIT`]).
pub fn markdown(plan: &Plan) -> String {
    folded(plan, &MarkdownOptions::default())
}

/// Renders the plan as one markdown comment as `options` say: at most
/// `options.limit` bytes, the largest details blocks folded first, then
/// table rows; heading and warnings always stay.
pub fn markdown_with(plan: &Plan, options: &MarkdownOptions<'_>) -> String {
    folded(plan, options)
}

/// One comment of at most `options.limit` bytes: the largest details blocks
/// are folded first, then table rows; summary and warnings always stay.
fn folded(plan: &Plan, options: &MarkdownOptions<'_>) -> String {
    let head = head(plan, options);
    let groups = groups(plan, options);
    let findings = findings(plan, options.sections);
    let mut shown = Shown { folded: BTreeSet::new(), rows: groups.iter().map(|g| g.rows.len()).collect() };
    let full = head.len() + body(&groups, &shown, true).len() + findings.len();
    if full <= options.limit {
        return format!("{head}{}{findings}", body(&groups, &shown, true));
    }
    // Fold details, largest first (ties: later first, so early apps stay).
    let mut blocks: Vec<(usize, usize, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(gi, g)| g.details.iter().enumerate().map(move |(di, d)| (d.len(), gi, di)))
        .collect();
    blocks.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
    let mut total = full + NOTE_RESERVE;
    for (len, gi, di) in blocks {
        if total <= options.limit {
            break;
        }
        shown.folded.insert((gi, di));
        total -= len;
    }
    // Then table rows, from the end of the last group.
    let rows_cut = cut_rows(&groups, &mut shown, total, options.limit);
    let note = fold_note(shown.folded.len(), rows_cut);
    hard_cut(format!("{head}{note}{}{findings}", body(&groups, &shown, true)), options.limit)
}

/// Hides table rows from the end of the last group until `total` bytes fit
/// in `limit`; returns how many were hidden.
fn cut_rows(groups: &[Group], shown: &mut Shown, mut total: usize, limit: usize) -> usize {
    let mut rows_cut = 0;
    for gi in (0..groups.len()).rev() {
        while shown.rows[gi] > 0 && total > limit {
            shown.rows[gi] -= 1;
            rows_cut += 1;
            total -= groups[gi].rows[shown.rows[gi]].len();
        }
    }
    rows_cut
}

/// Several comments, each at most `options.limit` bytes, that together hold
/// the whole plan: the first has the summary, warnings and tables (folded if
/// even they do not fit), the others the remaining details blocks in order.
/// Each part starts with its own hidden marker (`<!-- mailscope-plan -->`,
/// then `<!-- mailscope-plan part=2 -->`, …) so CI can update each in place.
fn parts(plan: &Plan, options: &MarkdownOptions<'_>) -> Vec<String> {
    let single = folded(plan, options);
    let groups = groups(plan, options);
    let all_details: Vec<&String> = groups.iter().flat_map(|g| g.details.iter()).collect();
    if !single.contains("[!NOTE]\n> To stay under") {
        return vec![single];
    }
    // Part 1: head, tables (rows cut if needed), findings; no details.
    let head = head(plan, options);
    let findings = findings(plan, options.sections);
    let mut shown = Shown { folded: BTreeSet::new(), rows: groups.iter().map(|g| g.rows.len()).collect() };
    let total = head.len() + body(&groups, &shown, false).len() + findings.len() + NOTE_RESERVE;
    let rows_cut = cut_rows(&groups, &mut shown, total, options.limit);
    // Pack the details into the following parts.
    let budget = options.limit.saturating_sub(NOTE_RESERVE).max(1);
    let mut packs: Vec<String> = Vec::new();
    let mut current = String::new();
    for d in all_details {
        let d = hard_cut(d.clone(), budget);
        if !current.is_empty() && current.len() + d.len() > budget {
            packs.push(std::mem::take(&mut current));
        }
        current.push_str(&d);
    }
    if !current.is_empty() {
        packs.push(current);
    }
    let n = packs.len() + 1;
    let mut first = format!(
        "{head}\n> [!NOTE]\n> Part 1 of {n}: the details of every app follow in the next {} comment{}.\n",
        n - 1,
        if n == 2 { "" } else { "s" }
    );
    if rows_cut > 0 {
        let _ = writeln!(
            first,
            ">\n> {rows_cut} table rows are left out to fit the comment limit; run `mailscope plan` for them."
        );
    }
    first.push_str(&body(&groups, &shown, false));
    first.push_str(&findings);
    let mut out = vec![hard_cut(first, options.limit)];
    for (i, pack) in packs.into_iter().enumerate() {
        let k = i + 2;
        out.push(hard_cut(
            format!(
                "{} part={k} -->\n### {}, part {k} of {n}: details\n{pack}",
                marker_key(options),
                options.title
            ),
            options.limit,
        ));
    }
    out
}

/// The plan as one markdown comment of at most `limit` bytes: the largest
/// details blocks are folded first (a note says how many), then table rows;
/// the summary and the warnings always stay. `base` is the plan of the
/// desired state before the change under review, against the same live
/// state: it separates "changed by this commit" from drift.
pub fn markdown_comment(plan: &Plan, limit: usize, base: Option<&Plan>) -> String {
    folded(plan, &MarkdownOptions { limit, base, ..MarkdownOptions::default() })
}

/// The whole plan as one or more markdown comments as `options` say (see
/// [`markdown_parts`]); the marker of each names `options.file` and
/// `options.tenant`.
pub fn markdown_parts_with(plan: &Plan, options: &MarkdownOptions<'_>) -> Vec<String> {
    parts(plan, options)
}

/// The whole plan as one or more markdown comments of at most `limit` bytes
/// each (one when everything fits). The first carries
/// `<!-- mailscope-plan -->`, the `k`-th `<!-- mailscope-plan part=k -->`.
pub fn markdown_parts(plan: &Plan, limit: usize, base: Option<&Plan>) -> Vec<String> {
    parts(plan, &MarkdownOptions { limit, base, ..MarkdownOptions::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fold_note_names_what_was_left_out() {
        assert_eq!(fold_note(0, 0), "");
        let lead = format!(
            "\n> [!NOTE]\n> To stay under GitHub's {COMMENT_LIMIT}-character comment limit, this comment leaves out"
        );
        let tail =
            ". Run `mailscope plan` for the full plan, or `mailscope plan --split DIR` for every part.\n";
        for (folded, rows, middle) in [
            (1, 0, " the details of the 1 largest app section"),
            (2, 0, " the details of the 2 largest app sections"),
            (0, 1, " 1 table row"),
            (0, 2, " 2 table rows"),
            (2, 3, " the details of the 2 largest app sections and 3 table rows"),
        ] {
            assert_eq!(fold_note(folded, rows), format!("{lead}{middle}{tail}"), "{folded} {rows}");
        }
    }

    #[test]
    fn a_hard_cut_keeps_what_fits_on_a_character_boundary() {
        let cut = "\n\n… (cut to fit the comment limit)\n";
        assert_eq!(hard_cut("short".to_owned(), 5), "short", "exactly the limit stays whole");
        let text = "é".repeat(100); // two bytes each
        let limit = cut.len() + 11; // room for five and a half é
        let out = hard_cut(text, limit);
        assert!(out.len() <= limit, "{} > {limit}", out.len());
        assert_eq!(out, format!("{}{cut}", "é".repeat(5)));
    }

    /// Rows go from the end until the total fits, and no further; a group
    /// whose rows are all gone stops there even when the rest is too big.
    #[test]
    fn rows_are_cut_from_the_end_just_until_the_total_fits() {
        let group =
            |rows: usize| Group { heading: None, rows: vec!["x".repeat(10); rows], details: Vec::new() };
        let groups = [group(2), group(3)];
        let mut shown = Shown { folded: BTreeSet::new(), rows: vec![2, 3] };
        assert_eq!(cut_rows(&groups, &mut shown, 100, 80), 2);
        assert_eq!(shown.rows, [2, 1], "100 - 2 x 10 = 80 fits: the third row stays");
        let mut shown = Shown { folded: BTreeSet::new(), rows: vec![2, 3] };
        assert_eq!(cut_rows(&groups, &mut shown, 1_000, 10), 5);
        assert_eq!(shown.rows, [0, 0]);
    }

    #[test]
    fn findings_are_listed_up_to_their_limit() {
        let plan_with = |n: usize| Plan {
            format_version: crate::plan::PLAN_FORMAT_VERSION,
            steps: Vec::new(),
            apps: Vec::new(),
            findings: (0..n)
                .map(|i| crate::plan::Finding {
                    code: "x".into(),
                    app: None,
                    message: format!("finding {i}"),
                })
                .collect(),
            summary: crate::plan::Summary::default(),
        };
        let shown = findings(&plan_with(FINDING_LIST), Sections::default());
        assert!(
            shown.contains(&format!("- finding {}", FINDING_LIST - 1)) && !shown.contains("more"),
            "{shown}"
        );
        let cut = findings(&plan_with(FINDING_LIST + 1), Sections::default());
        assert!(cut.contains("- … and 1 more (see `mailscope plan`)"), "{cut}");
        assert!(!cut.contains(&format!("- finding {FINDING_LIST}\n")), "{cut}");
    }
}
