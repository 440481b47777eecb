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
