//! Every validation rule, asserted on its message and position.

use mailscope_spec::{ListKind, Mechanism, parse};

const GUID_A: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";
const GUID_B: &str = "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d";

/// Parses `text` that must be rejected and returns `(line:col, message)` per problem.
#[track_caller]
fn problems(text: &str) -> Vec<(String, String)> {
    let err = parse(text, "t.yaml").expect_err("the file should be rejected");
    err.problems.iter().map(|p| (p.at.to_string(), p.message.clone())).collect()
}

#[track_caller]
fn one_problem(text: &str) -> (String, String) {
    let mut all = problems(text);
    assert_eq!(all.len(), 1, "expected one problem, got {all:?}");
    all.remove(0)
}

fn app(body: &str) -> String {
    format!("apiVersion: mailscope/v1\napps:\n  - name: mailer\n    appId: {GUID_A}\n{body}")
}

#[test]
fn a_valid_file_keeps_order_positions_and_lowercases_addresses() {
    let text = format!(
        "apiVersion: mailscope/v1\ntenant: Contoso.onmicrosoft.com\napps:\n  - name: mailer\n    appId: {}\n    allow: [Billing@Contoso.com, b@contoso.com]\n    deny:\n      - c@contoso.com\n",
        GUID_A.to_uppercase()
    );
    let desired = parse(&text, "t.yaml").unwrap();
    assert_eq!(desired.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
    assert_eq!(desired.mechanism, Mechanism::ApplicationAccessPolicy);
    let app = &desired.apps[0];
    assert_eq!(app.app_id, GUID_A);
    let allow = app.list(ListKind::Allow).unwrap();
    assert_eq!(allow[0].address, "billing@contoso.com");
    assert_eq!(allow[0].at.to_string(), "6:13");
    assert_eq!(allow[1].at.to_string(), "6:34");
    assert_eq!(app.list(ListKind::Deny).unwrap()[0].at.to_string(), "8:9");
    assert_eq!(app.at.to_string(), "4:11");
}

#[test]
fn the_example_policies_are_valid() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/contoso.yaml")).unwrap();
    let desired = parse(&text, "contoso.yaml").unwrap();
    assert_eq!(desired.apps.len(), 6);
    // Aliases expand to the anchored list.
    let ticket = desired.apps.iter().find(|a| a.name == "ticket-bridge").unwrap();
    let support = desired.apps.iter().find(|a| a.name == "support-desk").unwrap();
    let addresses = |a: &mailscope_spec::AppSpec| -> Vec<String> {
        a.allow.as_ref().unwrap().iter().map(|e| e.address.clone()).collect()
    };
    assert_eq!(addresses(ticket), addresses(support));
}

#[test]
fn unknown_fields_are_rejected_where_they_stand() {
    let (at, msg) = one_problem(&app("    alow: [x@contoso.com]\n    allow: [x@contoso.com]\n"));
    assert_eq!(at, "5:5");
    assert!(msg.starts_with("unknown field `alow`"), "{msg}");
    let all = problems("apiVersion: mailscope/v1\nappz: []\n");
    assert_eq!(all[0].0, "2:1");
    assert!(all[0].1.contains("unknown field `appz`"), "{all:?}");
    assert_eq!(all[1].1, "missing field `apps`");
}

#[test]
fn an_unknown_field_does_not_hide_the_other_problems() {
    let text = format!(
        "apiVersion: mailscope/v1\nsurprise: 1\napps:\n  - name: a\n    appId: {GUID_A}\n    alow: [x@contoso.com]\n    allow: []\n  - name: B\n    appId: x\n    allow: []\n    colour: red\n"
    );
    let all = problems(&text);
    let at: Vec<&str> = all.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(at, ["2:1", "6:5", "8:11", "9:12", "11:5"], "{all:?}");
    assert!(all[0].1.starts_with("unknown field `surprise`; expected one of apiVersion, tenant"), "{all:?}");
    assert!(all[4].1.starts_with("unknown field `colour`; expected one of name, appId"), "{all:?}");
}

#[test]
fn tags_are_refused() {
    let (at, msg) = one_problem(&app("    allow: !foo [x@contoso.com]\n"));
    assert_eq!(at, "5:17");
    assert!(msg.contains("tag"), "{msg}");
    let err = parse(&app("    allow: !!python/object [x@contoso.com]\n"), "t.yaml").unwrap_err();
    assert!(err.to_string().contains("help: remove the `!tag`"), "{err}");
}

#[test]
fn parser_messages_speak_of_the_file_not_of_rust_types() {
    let texts = [
        format!("apiVersion: mailscope/v1\napps:\n  - name:\n    appId: {GUID_A}\n    allow: []\n"),
        format!("apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: &x {GUID_A}\n    allow: *x\n"),
        format!("apiVersion: mailscope/v1\napps:\n  - name: [a]\n    appId: {GUID_A}\n    allow: []\n"),
    ];
    let expected =
        ["this key has no value", "expected a list", "expected a single text value, not a list or a mapping"];
    for (text, want) in texts.iter().zip(expected) {
        let (_, msg) = one_problem(text);
        assert_eq!(msg, want);
        for internal in ["Option<", "span-aware", "newtype", "(used", "(defined", "scalar"] {
            assert!(!msg.contains(internal), "{msg}");
        }
    }
}

#[test]
fn the_nil_guid_is_not_an_app() {
    let text = "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: 00000000-0000-0000-0000-000000000000\n    allow: []\n";
    assert_eq!(one_problem(text), ("4:12".to_owned(), "appId of app \"a\" is the nil GUID".to_owned()));
}

#[test]
fn group_names_that_could_forge_a_rendered_plan_are_refused() {
    for bad in ["\"a\\nb\"", "\"x`y\"", "\"<!-- x\"", "\"a\\u001b[2Jb\"", "\"a\\u202eb\"", "\"*\"", "\"---\""]
    {
        let (at, msg) = one_problem(&app(&format!("    group: {bad}\n    allow: []\n")));
        assert_eq!(at, "5:12", "{bad}");
        assert!(msg.starts_with("group "), "{msg}");
        assert!(msg.contains("is not a valid group name: "), "{msg}");
        // The message shows the value escaped: no raw control character.
        assert!(!msg.chars().any(|c| c.is_control() || c == '\u{202e}'), "{msg:?}");
    }
    assert!(parse(&app("    group: \"Billing Team (EU) #2\"\n    allow: []\n"), "t.yaml").is_ok());
}

#[test]
fn descriptions_are_plain_single_line_text() {
    let (at, msg) = one_problem(&app("    description: \"ok\\u001b[1A\"\n    allow: []\n"));
    assert_eq!(at, "5:18");
    assert!(msg.contains("control or an invisible character"), "{msg}");
    let long = "x".repeat(201);
    let (_, msg) = one_problem(&app(&format!("    description: {long}\n    allow: []\n")));
    assert!(msg.contains("too long"), "{msg}");
}

#[test]
fn a_derived_group_of_another_list_cannot_be_adopted() {
    let (at, msg) =
        one_problem(&app("    group: mailscope-mailer-deny\n    allow: []\n    deny: [x@contoso.com]\n"));
    assert_eq!(at, "3:11");
    assert_eq!(
        msg,
        "group \"mailscope-mailer-deny\" of app \"mailer\" is the group mailscope derives for the deny list of app \"mailer\""
    );
    let text = format!(
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: {GUID_A}\n    allow: []\n  - name: b\n    appId: {GUID_B}\n    group: Mailscope-A-Allow\n    allow: []\n"
    );
    let (_, msg) = one_problem(&text);
    assert!(msg.ends_with("for the allow list of app \"a\""), "{msg}");
    // Naming the group it would derive anyway is harmless.
    assert!(parse(&app("    group: mailscope-mailer-allow\n    allow: []\n"), "t.yaml").is_ok());
}

#[test]
fn a_mailbox_in_both_lists_is_a_warning() {
    let desired =
        parse(&app("    allow: [a@contoso.com, b@contoso.com]\n    deny: [B@contoso.com]\n"), "t.yaml")
            .unwrap();
    let warnings = mailscope_spec::warnings(&desired);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].at.to_string(), "5:28");
    assert!(
        warnings[0].message.starts_with("b@contoso.com is in both `allow` and `deny`"),
        "{}",
        warnings[0].message
    );
    assert!(
        mailscope_spec::warnings(&parse(&app("    allow: [a@contoso.com]\n"), "t.yaml").unwrap()).is_empty()
    );
}

#[test]
fn wrong_api_version_names_the_supported_one() {
    let err = parse("apiVersion: mailscope/v2\napps: []\n", "t.yaml").unwrap_err();
    assert_eq!(err.problems[0].at.to_string(), "1:13");
    assert_eq!(err.problems[0].message, "unsupported apiVersion \"mailscope/v2\"");
    assert!(err.to_string().contains("help: this build of mailscope reads `apiVersion: mailscope/v1`"));
}

#[test]
fn missing_api_version_is_reported() {
    let (_, msg) = one_problem("apps: []\n");
    assert_eq!(msg, "missing field `apiVersion`");
}

#[test]
fn duplicate_app_names_point_at_the_second_and_name_the_first() {
    let text = format!(
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: {GUID_A}\n    allow: []\n  - name: a\n    appId: {GUID_B}\n    allow: []\n"
    );
    assert_eq!(one_problem(&text), ("6:11".into(), "duplicate app name \"a\" (first at line 3)".into()));
}

#[test]
fn duplicate_app_ids_are_found_case_insensitively() {
    let text = format!(
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: {GUID_A}\n    allow: []\n  - name: b\n    appId: {}\n    allow: []\n",
        GUID_A.to_uppercase()
    );
    let (at, msg) = one_problem(&text);
    assert_eq!(at, "6:11");
    assert_eq!(msg, format!("appId {GUID_A} is already used by app \"a\" (line 3)"));
}

#[test]
fn malformed_guid_is_rejected_with_advice() {
    let text =
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: 3f2a1d7e-8c4b-4e59-9a0f\n    allow: []\n";
    let err = parse(text, "t.yaml").unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].at.to_string(), "4:12");
    assert_eq!(err.problems[0].message, "appId \"3f2a1d7e-8c4b-4e59-9a0f\" of app \"a\" is not a GUID");
    assert!(err.problems[0].help.as_deref().unwrap().contains("Application (client) ID"));
}

#[test]
fn malformed_addresses_are_each_reported() {
    let all = problems(&app("    allow: [billing, a@b, \"x y@contoso.com\", ok@contoso.com]\n"));
    assert_eq!(
        all,
        vec![
            ("5:13".into(), "\"billing\" in `allow` of app \"mailer\" is not an email address".into()),
            ("5:22".into(), "\"a@b\" in `allow` of app \"mailer\" is not an email address".into()),
            (
                "5:27".into(),
                "\"x y@contoso.com\" in `allow` of app \"mailer\" is not an email address".into()
            ),
        ]
    );
}

#[test]
fn duplicate_addresses_are_found_case_insensitively() {
    let (at, msg) = one_problem(&app("    deny:\n      - ceo@contoso.com\n      - CEO@Contoso.com\n"));
    assert_eq!(at, "7:9");
    assert!(
        msg.starts_with("ceo@contoso.com appears twice in `deny` of app \"mailer\" (first at line 6"),
        "{msg}"
    );
}

#[test]
fn an_app_with_neither_list_is_rejected() {
    let (at, msg) = one_problem(&app(""));
    assert_eq!(at, "3:11");
    assert_eq!(msg, "app \"mailer\" has neither `allow` nor `deny`");
}

#[test]
fn an_allow_key_without_value_must_be_written_as_an_empty_list() {
    let err = parse(&app("    allow:\n"), "t.yaml").unwrap_err();
    assert_eq!(err.problems[0].message, "`allow` of app \"mailer\" has no value");
    assert!(err.problems[0].help.as_deref().unwrap().contains("`allow: []`"));
    // The explicit form is accepted and means "no mailbox at all".
    let desired = parse(&app("    allow: []\n"), "t.yaml").unwrap();
    assert_eq!(desired.apps[0].allow.as_deref(), Some(&[][..]));
}

#[test]
fn invalid_app_names_are_rejected() {
    for bad in ["Mailer", "-mailer", "mailer-", "mail_er", &"a".repeat(49)] {
        let text =
            format!("apiVersion: mailscope/v1\napps:\n  - name: {bad}\n    appId: {GUID_A}\n    allow: []\n");
        let (at, msg) = one_problem(&text);
        assert_eq!((at.as_str(), msg), ("3:11", format!("app name \"{bad}\" is not valid")));
    }
}

#[test]
fn a_group_adopted_twice_is_rejected() {
    let text = format!(
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: {GUID_A}\n    group: Shared\n    allow: []\n  - name: b\n    appId: {GUID_B}\n    group: shared\n    allow: []\n"
    );
    let (at, msg) = one_problem(&text);
    assert_eq!(at, "7:11");
    assert_eq!(msg, "group \"shared\" is already adopted by app \"a\" (line 3)");
}

#[test]
fn a_group_without_allow_list_is_rejected() {
    let (_, msg) = one_problem(&app("    group: Legacy\n    deny: [a@contoso.com]\n"));
    assert_eq!(msg, "app \"mailer\" names a group but has no allow list");
}

#[test]
fn a_bad_tenant_is_rejected() {
    let (at, msg) = one_problem("apiVersion: mailscope/v1\ntenant: not a tenant\napps: []\n");
    assert_eq!(at, "2:9");
    assert_eq!(msg, "tenant \"not a tenant\" is neither a GUID nor a domain");
}

#[test]
fn all_semantic_problems_are_reported_in_file_order() {
    let text = "apiVersion: mailscope/v2\napps:\n  - name: A\n    appId: nope\n    allow: [bad]\n";
    let lines: Vec<u64> = parse(text, "t.yaml").unwrap_err().problems.iter().map(|p| p.at.line).collect();
    assert_eq!(lines, vec![1, 3, 4, 5]);
}

#[test]
fn duplicate_keys_are_rejected() {
    let (at, msg) = one_problem(&app("    allow: []\n    allow: []\n"));
    assert_eq!(at, "6:5");
    assert_eq!(msg, "duplicate mapping key: allow");
}

#[test]
fn a_list_given_as_a_scalar_says_to_write_a_list() {
    let err = parse(&app("    allow: billing@contoso.com\n"), "t.yaml").unwrap_err();
    assert_eq!(err.problems[0].at.to_string(), "5:12");
    assert!(err.problems[0].help.as_deref().unwrap().contains("must be a list"));
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    // Nested bombs ("billion laughs") fail on type before they expand, since
    // every list holds strings; what remains is a flood of aliases, which the
    // parser's budget refuses before serde sees it.
    let text = format!(
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: {GUID_A}\n    deny: [&m x@contoso.com, {}]\n",
        vec!["*m"; 5_000].join(", ")
    );
    let started = std::time::Instant::now();
    let err = parse(&text, "bomb.yaml").unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(err.problems.len(), 1);
    assert!(err.problems[0].message.contains("budget"), "{err}");
    assert!(err.problems[0].help.as_deref().unwrap().contains("aliases"), "{err}");
}

#[test]
fn an_oversized_file_is_refused_before_parsing() {
    let text = format!("# {}\n", "x".repeat(mailscope_spec::MAX_FILE_BYTES));
    let err = parse(&text, "big.yaml").unwrap_err();
    assert!(err.problems[0].message.contains("more than the"), "{err}");
}

#[test]
fn empty_file_is_explained() {
    let err = parse("", "empty.yaml").unwrap_err();
    assert!(err.to_string().starts_with("empty.yaml:"), "{err}");
    assert!(err.problems[0].help.as_deref().unwrap().contains("apiVersion"));
}

#[test]
fn the_committed_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/schema.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == mailscope_spec::json_schema(),
        "policies/schema.json is stale: run `cargo run -- schema > policies/schema.json`"
    );
}

#[test]
fn a_deny_group_needs_a_deny_list_and_is_unique() {
    let (_, msg) = one_problem(&app("    denyGroup: Execs\n    allow: [a@contoso.com]\n"));
    assert_eq!(msg, "app \"mailer\" names a denyGroup but has no deny list");
    let desired = parse(&app("    denyGroup: Execs\n    deny: [a@contoso.com]\n"), "t.yaml").unwrap();
    assert_eq!(desired.apps[0].adopted_group(ListKind::Deny), Some("Execs"));
    assert_eq!(desired.apps[0].adopted_group(ListKind::Allow), None);
}

fn rbac_app(body: &str) -> String {
    format!(
        "apiVersion: mailscope/v1\napps:\n  - name: mailer\n    appId: {GUID_A}\n    mechanism: rbac\n{body}"
    )
}

#[test]
fn mechanism_and_entra_grants_default_to_the_legacy_behaviour_and_can_be_overridden() {
    let desired = parse(&app("    allow: []\n"), "t.yaml").unwrap();
    assert_eq!(desired.mechanism, Mechanism::ApplicationAccessPolicy);
    assert_eq!(desired.apps[0].mechanism, Mechanism::ApplicationAccessPolicy);
    assert_eq!(desired.apps[0].entra_grants, mailscope_spec::EntraGrants::Keep);

    let text = format!(
        "apiVersion: mailscope/v1\nmechanism: rbac\nentraGrants: remove\napps:\n  - name: a\n    appId: {GUID_A}\n    permissions: [mail.send, Application Calendars.Read]\n    allow: []\n  - name: b\n    appId: {GUID_B}\n    mechanism: applicationAccessPolicy\n    allow: []\n"
    );
    let desired = parse(&text, "t.yaml").unwrap();
    let (a, b) = (&desired.apps[0], &desired.apps[1]);
    assert_eq!((a.mechanism, a.entra_grants), (Mechanism::Rbac, mailscope_spec::EntraGrants::Remove));
    let names: Vec<&str> = a.permissions.iter().map(|p| p.address.as_str()).collect();
    assert_eq!(names, ["Mail.Send", "Calendars.Read"], "canonical names");
    assert_eq!(a.permissions[0].at.to_string(), "7:19");
    // A policy app never has its Entra grants removed: they are what its policy fences.
    assert_eq!(
        (b.mechanism, b.entra_grants),
        (Mechanism::ApplicationAccessPolicy, mailscope_spec::EntraGrants::Keep)
    );
    assert!(b.permissions.is_empty());
}

#[test]
fn rbac_apps_need_known_permissions() {
    let (at, msg) = one_problem(&rbac_app("    allow: []\n"));
    assert_eq!(
        (at.as_str(), msg.as_str()),
        ("3:11", "app \"mailer\" uses `mechanism: rbac` but has no `permissions`")
    );

    let err = parse(
        &rbac_app(
            "    permissions: [Mail.Send, Mail.ReadBasic.All, Files.Read.All, mail.send]\n    allow: []\n",
        ),
        "t.yaml",
    )
    .unwrap_err();
    let found: Vec<(String, String)> =
        err.problems.iter().map(|p| (p.at.to_string(), p.message.clone())).collect();
    assert_eq!(
        found[0],
        (
            "6:30".to_owned(),
            "\"Mail.ReadBasic.All\" in `permissions` of app \"mailer\" has no RBAC for Applications role"
                .to_owned()
        )
    );
    assert_eq!(found[1].0, "6:50");
    assert_eq!(
        found[2],
        (
            "6:66".to_owned(),
            "Mail.Send appears twice in `permissions` of app \"mailer\" (first at line 6)".to_owned()
        )
    );
    assert!(
        err.to_string().contains("help: valid names: Mail.Read, Mail.ReadBasic, Mail.ReadWrite, Mail.Send"),
        "{err}"
    );

    let (at, msg) = one_problem(&rbac_app("    permissions: []\n    allow: []\n"));
    assert_eq!((at.as_str(), msg.as_str()), ("6:18", "`permissions` of app \"mailer\" is empty"));
}

#[test]
fn policy_apps_refuse_rbac_only_keys() {
    let (at, msg) = one_problem(&app("    permissions: [Mail.Send]\n    allow: []\n"));
    assert_eq!(
        (at.as_str(), msg.as_str()),
        ("5:18", "`permissions` of app \"mailer\" only apply to `mechanism: rbac`")
    );
    let (at, msg) = one_problem(&app("    entraGrants: remove\n    allow: []\n"));
    assert_eq!(
        (at.as_str(), msg.as_str()),
        ("5:18", "`entraGrants: remove` of app \"mailer\" only applies to `mechanism: rbac`")
    );
    let (_, msg) = one_problem(&app("    mechanism: graph\n    allow: []\n"));
    assert!(
        msg.starts_with("unknown variant `graph`, expected one of applicationAccessPolicy, rbac"),
        "{msg}"
    );
}

#[test]
fn values_in_messages_are_escaped_never_raw_controls() {
    let (_, msg) = one_problem(&app("    allow: [\"bill\\eing\\u202e@contoso.com\"]\n"));
    assert!(msg.starts_with(r#""bill\u{1b}ing\u{202e}@contoso.com" in `allow`"#), "{msg}");
    let all = problems(
        "apiVersion: mailscope/v1\napps:\n  - name: \"a\\0b\"\n    appId: nope\n    allow: [a@contoso.com]\n",
    );
    assert!(all.iter().all(|(_, m)| !m.chars().any(char::is_control)), "{all:?}");
}

#[test]
fn a_file_with_thousands_of_problems_reports_twenty_and_a_count() {
    use std::fmt::Write as _;
    let mut text = String::from("apiVersion: mailscope/v1\napps:\n");
    for i in 0..500 {
        writeln!(text, "  - name: a{i}\n    appId: nope\n    allow: [a@contoso.com]").unwrap();
    }
    let all = problems(&text);
    assert_eq!(all.len(), 21, "{all:?}");
    assert_eq!(all[20].1, "480 more problems from here on are not shown");
    assert_eq!(all[20].0, "64:12", "at the 21st problem: the appId of app a20");
}

#[test]
fn group_prefix_and_marker_attribute_default_and_are_validated() {
    let plain = parse(&app("    allow: [a@contoso.com]\n"), "t.yaml").unwrap();
    assert_eq!(plain.group_prefix, mailscope_spec::DEFAULT_GROUP_PREFIX);
    assert_eq!(plain.marker_attribute, mailscope_spec::DEFAULT_MARKER_ATTRIBUTE);

    let text = format!(
        "apiVersion: mailscope/v1\ngroupPrefix: app-access\nmarkerAttribute: CustomAttribute7\napps:\n  - name: mailer\n    appId: {GUID_A}\n    allow: [a@contoso.com]\n"
    );
    let custom = parse(&text, "t.yaml").unwrap();
    assert_eq!(custom.group_prefix, "app-access");
    assert_eq!(custom.marker_attribute, 7);

    for (prefix, attribute) in
        [("-bad", "CustomAttribute15"), ("ok", "CustomAttribute16"), ("ok", "CustomAttribute07")]
    {
        let text = format!(
            "apiVersion: mailscope/v1\ngroupPrefix: \"{prefix}\"\nmarkerAttribute: {attribute}\napps:\n  - name: mailer\n    appId: {GUID_A}\n    allow: [a@contoso.com]\n"
        );
        let (at, message) = one_problem(&text);
        if prefix == "-bad" {
            assert_eq!(
                (at.as_str(), message.as_str()),
                ("2:14", "groupPrefix \"-bad\" is not a valid prefix")
            );
        } else {
            assert_eq!(at, "3:18");
            assert_eq!(message, format!("markerAttribute \"{attribute}\" is not a custom attribute"));
        }
    }
    // The derived names of the file's own prefix cannot be adopted by another list.
    let text = format!(
        "apiVersion: mailscope/v1\ngroupPrefix: acc\napps:\n  - name: mailer\n    appId: {GUID_A}\n    group: acc-mailer-deny\n    allow: [a@contoso.com]\n"
    );
    assert!(one_problem(&text).1.contains("is the group mailscope derives for the deny list"));
}
