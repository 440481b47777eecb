//! Snapshots of the three renderings of the example plan.

use mailscope_planner::{LiveSnapshot, Plan, PlanOptions, plan, render};

fn example() -> (mailscope_spec::DesiredState, LiveSnapshot) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/");
    let text = std::fs::read_to_string(format!("{root}contoso.yaml")).unwrap();
    let desired = mailscope_spec::parse(&text, "policies/contoso.yaml").unwrap();
    let live =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}contoso.snapshot.json")).unwrap())
            .unwrap();
    (desired, live)
}

fn example_plan() -> Plan {
    let (desired, live) = example();
    plan(&desired, &live, &PlanOptions::default()).unwrap()
}

#[test]
fn text_plain() {
    insta::assert_snapshot!(render::text(&example_plan(), false));
}

#[test]
fn text_colour_marks_signs_and_widening() {
    let coloured = render::text(&example_plan(), true);
    assert!(coloured.contains("\x1b[32m    + member ceo@contoso.com\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[1;35m(widening)\x1b[0m"), "{coloured}");
    // Stripping the escapes gives the plain rendering back.
    let stripped = coloured.split('\x1b').enumerate().fold(String::new(), |mut acc, (i, part)| {
        acc.push_str(if i == 0 { part } else { part.split_once('m').map_or(part, |(_, rest)| rest) });
        acc
    });
    assert_eq!(stripped, render::text(&example_plan(), false));
}

#[test]
fn markdown_comment() {
    insta::assert_snapshot!(render::markdown(&example_plan()));
}

#[test]
fn json_plan() {
    insta::assert_snapshot!(render::json(&example_plan()));
}

#[test]
fn no_changes_in_every_format() {
    let (desired, live) = example();
    let mut live = live;
    for s in example_plan().steps {
        // Reuse the reference model of the property tests.
        common::apply(&mut live, &s.action);
    }
    let p = plan(&desired, &live, &PlanOptions::default()).unwrap();
    assert!(p.is_empty());
    insta::assert_snapshot!("no_changes_text", render::text(&p, false));
    insta::assert_snapshot!("no_changes_markdown", render::markdown(&p));
}

mod common;

/// A plan creating `apps` apps of `per_app` mailboxes each (every one new).
fn big_plan(apps: usize, per_app: usize) -> Plan {
    use std::fmt::Write;
    let mut yaml = String::from("apiVersion: mailscope/v1\napps:\n");
    for a in 0..apps {
        let members: Vec<String> = (0..per_app).map(|k| common::mailbox(a * per_app + k)).collect();
        let _ = writeln!(
            yaml,
            "  - name: app{a}\n    appId: 00000000-0000-4000-8000-{a:012}\n    allow: [{}]",
            members.join(", ")
        );
    }
    let desired = mailscope_spec::parse(&yaml, "big.yaml").unwrap();
    plan(&desired, &common::snapshot(apps * per_app), &PlanOptions::default()).unwrap()
}

#[test]
fn markdown_small_widening() {
    // invoice-mailer loses old-billing and gains invoices: a widening plan
    // with one app locked down (the caution banner).
    let p = example_plan();
    assert!(p.widens());
    let md = render::markdown(&p);
    let first: Vec<&str> = md.lines().take(5).collect();
    assert_eq!(first[0], render::COMMENT_MARKER);
    assert!(first[1].starts_with("### mailscope plan: 17 to add"), "{md}");
    assert!(first[3].contains("[!WARNING]"), "{md}");
    assert!(md.contains("> [!CAUTION]\n> **This plan locks down or removes 1 app.**"), "{md}");
    // The full rendering is the `markdown_comment` snapshot.
    assert_eq!(md, render::markdown(&example_plan()));
}

#[test]
fn markdown_small() {
    let md = render::markdown(&big_plan(2, 2));
    assert!(!md.contains("[!WARNING]"), "{md}");
    insta::assert_snapshot!(md);
}

#[test]
fn markdown_with_base_separates_commit_and_drift() {
    // Base: the file before the change, where invoice-mailer still had only
    // billing@ and the tenant drifted (old-billing added by hand). Head:
    // the example file, which also adds invoices@.
    let (head, live) = example();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/");
    let text = std::fs::read_to_string(format!("{root}contoso.yaml")).unwrap();
    let base_text =
        text.replace("allow: [billing@contoso.com, invoices@contoso.com]", "allow: [billing@contoso.com]");
    assert_ne!(base_text, text, "the example changed: update this test");
    let base = mailscope_spec::parse(&base_text, "policies/contoso.yaml").unwrap();
    let head_plan = plan(&head, &live, &PlanOptions::default()).unwrap();
    let base_plan = plan(&base, &live, &PlanOptions::default()).unwrap();
    let md = mailscope_planner::render::markdown_comment(
        &head_plan,
        mailscope_planner::render::COMMENT_LIMIT,
        Some(&base_plan),
    );
    let commit = md.find("#### Changed by this commit").expect(&md);
    let drift = md.find("#### Changed outside git (drift)").expect(&md);
    let invoice = md.find("| `invoice-mailer`").unwrap();
    let crm = md.find("| `crm-sync`").unwrap();
    assert!(commit < invoice && invoice < drift && drift < crm, "{md}");
    insta::assert_snapshot!(md);
}

#[test]
fn markdown_huge_plan_is_folded_under_the_limit() {
    let p = big_plan(400, 40);
    let full = mailscope_planner::render::markdown_comment(&p, usize::MAX, None);
    assert!(full.len() > mailscope_planner::render::COMMENT_LIMIT, "not huge enough: {}", full.len());
    let md = render::markdown(&p);
    assert!(md.len() <= mailscope_planner::render::COMMENT_LIMIT, "{}", md.len());
    assert!(md.starts_with(render::COMMENT_MARKER));
    assert!(md.contains("To stay under GitHub's 65535-character comment limit"), "{}", &md[..2000]);
    // Every app keeps its table row; only details are folded.
    assert!(md.contains("| `app0` |") && md.contains("| `app399` |"));
    // Head of the comment (the part a reviewer reads first) as a snapshot.
    let head: String = md.lines().take(12).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(head);
}

#[test]
fn markdown_tiny_limit_cuts_rows_but_keeps_the_verdict() {
    let p = big_plan(60, 3);
    let md = mailscope_planner::render::markdown_comment(&p, 3_000, None);
    assert!(md.len() <= 3_000, "{}", md.len());
    assert!(md.contains("### mailscope plan: 300 to add"), "{md}");
    assert!(md.contains("more apps |"), "{md}");
}

#[test]
fn markdown_parts_hold_everything_each_under_the_limit() {
    let p = big_plan(50, 10);
    let limit = 8_000;
    let parts = mailscope_planner::render::markdown_parts(&p, limit, None);
    assert!(parts.len() > 2, "{}", parts.len());
    assert!(parts[0].starts_with("<!-- mailscope-plan -->\n"));
    for (i, part) in parts.iter().enumerate() {
        assert!(part.len() <= limit, "part {i}: {}", part.len());
        if i > 0 {
            assert!(part.starts_with(&format!("<!-- mailscope-plan part={} -->\n", i + 1)), "{part}");
        }
    }
    // Packed, not one app a part: every part after the first holds some
    // details, and as each app's block is under half the budget, at least
    // two share a part.
    for (i, part) in parts.iter().enumerate().skip(1) {
        assert!(part.contains("<summary><code>app"), "part {i} holds no details: {part}");
    }
    assert!(parts.len() - 1 <= 25, "{} parts for 50 apps", parts.len());
    assert!(parts[0].contains(&format!("Part 1 of {}:", parts.len())), "{}", parts[0]);
    assert!(!parts[0].contains("table rows are left out"), "the tables fit: {}", parts[0]);
    // The options form gives the same parts.
    let options = render::MarkdownOptions { limit, ..render::MarkdownOptions::default() };
    assert_eq!(render::markdown_parts_with(&p, &options), parts);
    // Every app's details appear exactly once across the parts.
    let all = parts.concat();
    for a in 0..50 {
        assert_eq!(all.matches(&format!("<summary><code>app{a}</code>")).count(), 1, "app{a}");
    }
    // A plan that fits is one part, the same as the folded comment.
    let small = example_plan();
    assert_eq!(
        mailscope_planner::render::markdown_parts(&small, mailscope_planner::render::COMMENT_LIMIT, None),
        vec![render::markdown(&small)]
    );
}

/// The options `mailscope drift --format markdown` renders with.
fn drift_options() -> render::MarkdownOptions<'static> {
    render::MarkdownOptions {
        marker: "mailscope-drift",
        title: "mailscope drift",
        no_changes: "in sync",
        changes_lead: "correcting it takes ",
        ..render::MarkdownOptions::default()
    }
}

fn empty_plan() -> Plan {
    let (desired, mut live) = example();
    for s in example_plan().steps {
        common::apply(&mut live, &s.action);
    }
    plan(&desired, &live, &PlanOptions::default()).unwrap()
}

#[test]
fn markdown_drift_report_is_rendered_with_its_own_title_and_marker() {
    let md = render::markdown_with(&example_plan(), &drift_options());
    assert!(
        md.starts_with("<!-- mailscope-drift -->\n### mailscope drift: correcting it takes 17 to add"),
        "{md}"
    );
    // Everything below the heading is the plan comment's.
    let plan_md = render::markdown(&example_plan());
    assert_eq!(md.split_once("to add").unwrap().1, plan_md.split_once("to add").unwrap().1);
    insta::assert_snapshot!(md);

    let in_sync = render::markdown_with(&empty_plan(), &drift_options());
    assert!(
        in_sync.starts_with(
            "<!-- mailscope-drift -->\n### mailscope drift: in sync\n\nThe tenant matches the desired state.\n"
        ),
        "{in_sync}"
    );
}

#[test]
fn markdown_sections_can_be_left_out() {
    let p = example_plan();
    let all = render::markdown(&p);
    assert!(
        all.contains("[!WARNING]") && all.contains("| app |") && all.contains("<details><summary><code>")
    );
    assert!(all.contains("Reported, not changed"));
    let none = render::Sections { warnings: false, table: false, details: false, findings: false };
    let bare = render::markdown_with(&p, &render::MarkdownOptions { sections: none, ..Default::default() });
    let heading: Vec<&str> = all.lines().take(2).collect();
    assert_eq!(bare, format!("{}\n", heading.join("\n")));
    let details_only = render::Sections { details: true, ..none };
    let md =
        render::markdown_with(&p, &render::MarkdownOptions { sections: details_only, ..Default::default() });
    assert!(md.contains("<details><summary><code>invoice-mailer</code>"), "{md}");
    assert!(
        !md.contains("| app |") && !md.contains("[!WARNING]") && !md.contains("Reported, not changed"),
        "{md}"
    );
    let table_only = render::Sections { table: true, ..none };
    let md =
        render::markdown_with(&p, &render::MarkdownOptions { sections: table_only, ..Default::default() });
    assert!(md.contains("| app |") && md.contains("| `invoice-mailer` |"), "{md}");
    assert!(!md.contains("<details>"), "{md}");
}

#[test]
fn text_without_verdict_leaves_an_empty_plan_to_the_caller() {
    let p = empty_plan();
    let options = render::TextOptions { color: true, verdict: false };
    let text = render::text_with(&p, &options);
    assert!(!text.contains("No changes"), "{text}");
    assert_eq!(
        render::text_with(&p, &render::TextOptions { color: false, verdict: true }),
        render::text(&p, false)
    );
    // The example keeps a finding: only the findings remain.
    assert!(!p.findings.is_empty());
    assert!(text.starts_with("\nReported, not changed:\n"), "{text}");
}

#[test]
fn untrusted_names_cannot_start_lines_or_send_escape_sequences() {
    use mailscope_planner::{AccessSummary, Action, AppChange, AppPlan, Effect, Finding, Step, Summary};
    let hostile = "evil\n### INJECTED\u{1b}[2J\u{202e}";
    let steps = vec![Step {
        index: 0,
        app: hostile.to_owned(),
        app_id: "a".to_owned(),
        wave: 6,
        action: Action::AddMember { group: hostile.to_owned(), member: hostile.to_owned() },
        effect: Effect::Widening,
    }];
    let app = AppPlan {
        unlisted: false,
        name: hostile.to_owned(),
        app_id: "a".to_owned(),
        change: AppChange::LockDown,
        before: AccessSummary::Only { allowed: 0 },
        after: AccessSummary::Only { allowed: 1 },
        gains: vec![hostile.to_owned()],
        becomes_unrestricted: false,
        line: None,
    };
    let finding = Finding { code: "x".into(), app: None, message: format!("group \"{hostile}\"") };
    let summary = Summary::count(&steps);
    let p = Plan { format_version: 1, steps, apps: vec![app], findings: vec![finding], summary };
    for out in [render::text(&p, false), render::markdown(&p)] {
        assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}'), "{out}");
        assert!(!out.lines().any(|l| l.starts_with("### INJECTED")), "{out}");
        assert!(out.contains("evil\u{fffd}### INJECTED\u{fffd}[2J\u{fffd}"), "{out}");
    }
}

#[test]
fn markdown_names_the_apps_exposed_now_before_the_plan() {
    let plan = example_plan();
    let exposures = [mailscope_planner::DriftExposure {
        app: "crm-sync".into(),
        app_id: "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d".into(),
        mailboxes: vec!["ceo@contoso.com".into(), "cfo@contoso.com".into()],
        every_other_mailbox: false,
    }];
    let options = render::MarkdownOptions { exposures: &exposures, ..render::MarkdownOptions::default() };
    let md = render::markdown_with(&plan, &options);
    let caution = md.find("**1 app can reach mailboxes the file does not allow, now.**").expect(&md);
    assert!(md.contains("> - `crm-sync` reaches `ceo@contoso.com`, `cfo@contoso.com`"), "{md}");
    // It comes before the plan's own warnings.
    assert!(md.find("widens access").is_none_or(|w| caution < w), "{md}");
    // Without exposures, no such line.
    assert!(!render::markdown(&plan).contains("does not allow, now"));
}

#[test]
fn an_unrestricted_exposure_is_one_short_line() {
    let plan = example_plan();
    let exposures = [
        mailscope_planner::DriftExposure {
            app: "hr-notifier".into(),
            app_id: "0b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e".into(),
            mailboxes: (0..40).map(|i| format!("m{i}@contoso.com")).collect(),
            every_other_mailbox: true,
        },
        mailscope_planner::DriftExposure {
            app: "crm-sync".into(),
            app_id: "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d".into(),
            mailboxes: (0..5).map(|i| format!("m{i}@contoso.com")).collect(),
            every_other_mailbox: false,
        },
    ];
    let options = render::MarkdownOptions { exposures: &exposures, ..render::MarkdownOptions::default() };
    let md = render::markdown_with(&plan, &options);
    assert!(md.contains("> - `hr-notifier` reaches every mailbox\n"), "{md}");
    assert!(
        md.contains("> - `crm-sync` reaches `m0@contoso.com`, `m1@contoso.com`, `m2@contoso.com`, 2 more\n"),
        "{md}"
    );
}

/// A plan that changes no tenant object but whose apps carry the given
/// gains (what the markdown warnings read).
fn widening_plan(apps: &[Vec<String>]) -> Plan {
    use mailscope_planner::{AccessSummary, AppChange, AppPlan, PLAN_FORMAT_VERSION, Summary};
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        steps: Vec::new(),
        apps: apps
            .iter()
            .enumerate()
            .map(|(i, gains)| AppPlan {
                name: format!("app{i}"),
                app_id: format!("00000000-0000-4000-8000-{i:012}"),
                change: AppChange::Update,
                before: AccessSummary::Only { allowed: 0 },
                after: AccessSummary::Only { allowed: gains.len() },
                gains: gains.clone(),
                becomes_unrestricted: false,
                line: None,
                unlisted: false,
            })
            .collect(),
        findings: Vec::new(),
        summary: Summary::default(),
    }
}

fn mailboxes(n: usize) -> Vec<String> {
    (0..n).map(common::mailbox).collect()
}

/// Every list in the markdown warnings is cut at its limit, and only past
/// it: 20 apps, 10 gains an app, 3 exposed mailboxes an app.
#[test]
fn markdown_warning_lists_are_cut_only_past_their_limits() {
    let render_it = |p: &Plan| render::markdown(p);
    let twenty = render_it(&widening_plan(&vec![mailboxes(1); 20]));
    assert!(twenty.contains("`app19` may newly reach") && !twenty.contains("… and"), "{twenty}");
    let twenty_one = render_it(&widening_plan(&vec![mailboxes(1); 21]));
    assert!(twenty_one.contains("> - … and 1 more") && !twenty_one.contains("> - `app20`"), "{twenty_one}");

    let ten = render_it(&widening_plan(&[mailboxes(10)]));
    assert!(ten.contains("m9@contoso.com") && !ten.contains(" and 0 more") && !ten.contains("more"), "{ten}");
    let eleven = render_it(&widening_plan(&[mailboxes(11)]));
    assert!(eleven.contains("m9@contoso.com and 1 more") && !eleven.contains("m10@"), "{eleven}");

    let exposed = |n: usize| mailscope_planner::DriftExposure {
        app: "app0".into(),
        app_id: "00000000-0000-4000-8000-000000000000".into(),
        mailboxes: mailboxes(n),
        every_other_mailbox: false,
    };
    let with_exposure = |n: usize| {
        let exposures = [exposed(n)];
        let options = render::MarkdownOptions { exposures: &exposures, ..render::MarkdownOptions::default() };
        render::markdown_with(&widening_plan(&[]), &options)
    };
    let three = with_exposure(3);
    assert!(three.contains("reaches `m0@contoso.com`, `m1@contoso.com`, `m2@contoso.com`\n"), "{three}");
    let four = with_exposure(4);
    assert!(four.contains("`m2@contoso.com`, 1 more"), "{four}");
}

/// The drift note under a PR comment's heading counts the apps whose
/// drift the base plan would correct; with none, there is no note.
#[test]
fn markdown_drift_note_only_when_something_drifted() {
    let p = example_plan();
    let base = widening_plan(&[]);
    let options = render::MarkdownOptions { base: Some(&base), ..render::MarkdownOptions::default() };
    let md = render::markdown_with(&p, &options);
    assert!(!md.contains("[!NOTE]"), "{md}");
    assert!(!md.contains("Drift adopted"), "nothing adopted, no section: {md}");
}

/// A base plan is taken into account: its drift gets its own section.
#[test]
fn markdown_parts_with_a_base_separate_the_drift() {
    let p = example_plan();
    let md = mailscope_planner::render::markdown_parts(&p, render::COMMENT_LIMIT, Some(&p));
    assert_eq!(md.len(), 1);
    assert!(md[0].contains("Changed outside git"), "{}", md[0]);
    assert!(!md[0].contains("Drift adopted"), "the plan still changes the drifted apps: {}", md[0]);
}

/// When even the tables do not fit part 1, rows are cut (and said so)
/// until it fits: part 1 is never cut mid-text.
#[test]
fn markdown_parts_cut_table_rows_of_part_one_instead_of_its_text() {
    let mut p = big_plan(200, 2);
    // Findings go in part 1 too and count against its limit.
    p.findings.extend((0..30).map(|i| mailscope_planner::Finding {
        code: "note".into(),
        app: None,
        message: format!("finding {i}: {}", "x".repeat(100)),
    }));
    let limit = 6_000;
    let parts = mailscope_planner::render::markdown_parts(&p, limit, None);
    assert!(parts[0].len() <= limit, "{}", parts[0].len());
    assert!(parts[0].contains("table rows are left out to fit the comment limit"), "{}", parts[0]);
    assert!(!parts[0].contains("(cut to fit the comment limit)"), "{}", parts[0]);
    assert!(parts[0].contains("more apps |"), "{}", parts[0]);
    // Only as many rows go as needed: part 1 stays well filled.
    assert!(parts[0].len() > limit * 3 / 4, "{} of {limit}: {}", parts[0].len(), parts[0]);
}

/// Drift the commit adopts (the base would change an app, this plan leaves
/// it alone) is listed; an app the base would lock down or remove is not
/// adopted drift, it is an app leaving.
#[test]
fn adopted_drift_lists_updated_apps_not_leaving_ones() {
    use mailscope_planner::AppChange;
    let p = widening_plan(&[]);
    let mut base = widening_plan(&[mailboxes(1), mailboxes(1)]);
    base.apps[1].change = AppChange::LockDown;
    let options = render::MarkdownOptions { base: Some(&base), ..render::MarkdownOptions::default() };
    let md = render::markdown_with(&p, &options);
    let section = md.split("#### Drift adopted by this commit").nth(1).unwrap_or_else(|| panic!("{md}"));
    assert!(section.contains("- `app0`"), "{section}");
    assert!(!section.contains("`app1`"), "{section}");
}
