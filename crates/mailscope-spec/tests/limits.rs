//! The edges of every limit the file format has, and how a rejected file is
//! worded: each test pins a value a user can hit exactly (a 64-character
//! group name, a 200-character description, the 20th problem, the size cap).

use std::fmt::Write as _;

use mailscope_spec::{MAX_FILE_BYTES, Mechanism, UnlistedMode, parse};

const GUID_A: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";

fn app(body: &str) -> String {
    format!("apiVersion: mailscope/v1\napps:\n  - name: mailer\n    appId: {GUID_A}\n{body}")
}

#[test]
fn a_group_name_of_exactly_64_characters_is_accepted_and_65_refused() {
    let name64 = "g".repeat(64);
    assert!(parse(&app(&format!("    group: {name64}\n    allow: []\n")), "t.yaml").is_ok());
    let err = parse(&app(&format!("    group: {name64}x\n    allow: []\n")), "t.yaml").unwrap_err();
    assert!(err.to_string().contains("longer than 64 characters"), "{err}");
}

#[test]
fn a_description_of_exactly_200_characters_is_accepted_and_201_refused() {
    let d200 = "d".repeat(200);
    assert!(parse(&app(&format!("    description: {d200}\n    allow: []\n")), "t.yaml").is_ok());
    let err = parse(&app(&format!("    description: {d200}d\n    allow: []\n")), "t.yaml").unwrap_err();
    assert!(err.to_string().contains("too long"), "{err}");
}

/// A file with `n` apps, each with one bad address.
fn bad_apps(n: usize) -> String {
    let mut text = String::from("apiVersion: mailscope/v1\napps:\n");
    for i in 0..n {
        let _ = write!(
            text,
            "  - name: app{i}\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-{i:012}\n    allow: [not-an-address-{i}]\n"
        );
    }
    text
}

#[test]
fn twenty_problems_are_all_shown_and_the_twenty_first_is_summarised() {
    let twenty = parse(&bad_apps(20), "t.yaml").unwrap_err();
    assert_eq!(twenty.problems.len(), 20);
    assert!(!twenty.to_string().contains("not shown"), "{twenty}");

    let more = parse(&bad_apps(23), "t.yaml").unwrap_err();
    assert_eq!(more.problems.len(), 21);
    let last = more.problems.last().unwrap();
    assert_eq!(last.message, "3 more problems from here on are not shown");
    // The summary sits where the first hidden problem is.
    assert_eq!(last.at, parse(&bad_apps(23), "t.yaml").unwrap_err().problems[20].at);
    assert!(last.at > more.problems[19].at);
}

#[test]
fn several_problems_print_one_per_line_each_with_its_position() {
    let err = parse(&bad_apps(2), "t.yaml").unwrap_err();
    let text = err.to_string();
    let located: Vec<&str> = text.lines().filter(|l| l.starts_with("t.yaml:")).collect();
    assert_eq!(located.len(), 2, "{text}");
    assert!(located[0].starts_with("t.yaml:5:"), "{text}");
    assert!(located[1].starts_with("t.yaml:8:"), "{text}");
}

#[test]
fn the_size_cap_is_four_mebibytes_inclusive() {
    assert_eq!(MAX_FILE_BYTES, 4 * 1024 * 1024);
    let base = app("    allow: [a@contoso.com]\n");
    // Pad with a comment up to exactly the cap: accepted.
    let pad = MAX_FILE_BYTES - base.len() - 3;
    let exact = format!("{base}# {}\n", "x".repeat(pad));
    assert_eq!(exact.len(), MAX_FILE_BYTES);
    assert!(parse(&exact, "t.yaml").is_ok());
    // One byte more: refused before parsing, saying how big it is.
    let over = format!("{exact} ");
    let err = parse(&over, "t.yaml").unwrap_err();
    assert!(err.to_string().contains(&format!("file is {} bytes", MAX_FILE_BYTES + 1)), "{err}");
}

#[test]
fn the_mode_and_mechanism_words_are_the_files_own() {
    for word in ["ignore", "warn", "lock-down"] {
        let text = format!("{}unlistedApps:\n  mode: {word}\n", app("    allow: []\n"));
        let desired = parse(&text, "t.yaml").unwrap_or_else(|e| panic!("{word}: {e}"));
        assert_eq!(desired.unlisted_apps.mode.as_str(), word);
    }
    assert_eq!(UnlistedMode::default(), UnlistedMode::Warn);
    for word in ["applicationAccessPolicy", "rbac"] {
        let text = format!("apiVersion: mailscope/v1\nmechanism: {word}\napps: []\n");
        let desired = parse(&text, "t.yaml").unwrap_or_else(|e| panic!("{word}: {e}"));
        assert_eq!(desired.mechanism.to_string(), word);
    }
    assert_eq!(Mechanism::Rbac.to_string(), Mechanism::Rbac.as_str());
}

#[test]
fn a_wrong_shape_says_what_was_expected_without_rust_words() {
    for (text, expected) in [
        ("apiVersion: mailscope/v1\napps: 5\n", "list"),
        ("apiVersion: mailscope/v1\napps:\n  - 5\n", "mapping"),
        ("- a\n- b\n", "mapping"),
    ] {
        let err = parse(text, "t.yaml").unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains(expected), "{text:?}: {shown}");
        for internal in ["newtype", "Spanned", "struct ", "(used", "visitor"] {
            assert!(!shown.contains(internal), "{text:?}: {shown}");
        }
        assert!(err.problems.iter().all(|p| !p.message.starts_with(':')), "{shown}");
    }
}

#[test]
fn a_tag_gets_the_advice_to_write_the_plain_value() {
    let err = parse(&app("    allow: !custom [a@contoso.com]\n"), "t.yaml").unwrap_err();
    let help: Vec<_> = err.problems.iter().filter_map(|p| p.help.as_deref()).collect();
    assert!(help.iter().any(|h| h.contains("no tags")), "{err}");
}

#[test]
fn a_domain_label_may_not_start_or_end_with_a_hyphen() {
    use mailscope_spec::is_smtp_address;
    assert!(is_smtp_address("a@mail-eu.contoso.com"));
    for bad in ["a@-contoso.com", "a@contoso-.com", "a@mail.-eu.com", "a@mail.eu-.com"] {
        assert!(!is_smtp_address(bad), "{bad} should be refused");
    }
    let err = parse(&app("    allow: [a@-contoso.com]\n"), "t.yaml").unwrap_err();
    assert!(err.to_string().contains("t.yaml:5:"), "{err}");
}

#[test]
fn a_domain_needs_non_empty_labels_of_at_most_63_letters_digits_or_hyphens() {
    use mailscope_spec::is_smtp_address;
    let label63 = "l".repeat(63);
    assert!(is_smtp_address(&format!("a@{label63}.com")));
    for bad in [
        format!("a@{label63}l.com"),
        "a@contoso..com".to_owned(),
        "a@.contoso.com".to_owned(),
        "a@contoso.com.".to_owned(),
        "a@con_toso.com".to_owned(),
        "a@con toso.com".to_owned(),
        "a@localhost".to_owned(),
    ] {
        assert!(!is_smtp_address(&bad), "{bad} should be refused");
    }
}

#[test]
fn syntax_errors_carry_our_position_and_no_position_words_of_the_parser() {
    let cases = [
        "apiVersion: mailscope/v1\napps:\n\t- name: a\n",
        "apiVersion: \"mailscope/v1\napps: []\n",
        "apiVersion: mailscope/v1\napps:\n  - name: a\n   appId: x\n",
        "apiVersion: mailscope/v1\napiVersion: mailscope/v1\napps: []\n",
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    allow: *nowhere\n",
        "apiVersion: mailscope/v1\napps: [\n",
        "apiVersion: mailscope/v1\napps:\n  - {name: a, appId: b\n",
        "apiVersion: mailscope/v1\napps: []\n---\napps: []\n",
    ];
    for text in cases {
        let err = parse(text, "t.yaml").unwrap_err();
        for p in &err.problems {
            let m = &p.message;
            assert!(!m.is_empty(), "{text:?}");
            assert!(!m.starts_with("line "), "{text:?}: {m}");
            assert!(!m.starts_with(|c: char| c.is_ascii_digit() || c == ':'), "{text:?}: {m}");
            assert!(!m.contains(" at line ") && !m.contains("column"), "{text:?}: {m}");
            assert!(p.at.line > 0, "{text:?}: a syntax error is located: {m}");
        }
    }
}
