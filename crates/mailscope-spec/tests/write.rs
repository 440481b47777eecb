//! Writing desired-state files: what `to_yaml` writes, `parse` reads back.

use mailscope_spec::{AppEntry, DesiredFile, DesiredState, parse, to_yaml};

fn example() -> DesiredState {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/contoso.yaml");
    parse(&std::fs::read_to_string(path).unwrap(), "policies/contoso.yaml").unwrap()
}

#[test]
fn the_example_round_trips() {
    let desired = example();
    let text = to_yaml(&DesiredFile::from(&desired)).unwrap();
    let back = parse(&text, "written.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    // Positions and the origin cannot survive writing; everything else does.
    assert_eq!(DesiredFile::from(&back), DesiredFile::from(&desired));
    assert_eq!(back.tenant, desired.tenant);
    insta::assert_snapshot!(text);
}

#[test]
fn comments_and_hostile_values_stay_what_they_are() {
    let file = DesiredFile {
        header: vec!["Exported\nby: me".to_owned(), String::new()],
        tenant: None,
        apps: vec![AppEntry {
            notes: vec!["group \"x\"\n  - name: injected".to_owned()],
            name: "a".to_owned(),
            app_id: "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60".to_owned(),
            description: Some("yes: no # not a comment - [x] {a: b} 'q' \"dq\"".to_owned()),
            group: Some("Sales: #1 & {all}".to_owned()),
            allow: Some(vec!["billing@contoso.com".to_owned()]),
            deny_group: None,
            deny: Some(Vec::new()),
            ..AppEntry::default()
        }],
    };
    let text = to_yaml(&file).unwrap();
    assert!(text.starts_with("# Exported\u{fffd}by: me\n#\napiVersion: mailscope/v1\napps:\n"), "{text}");
    assert!(text.contains("\n  # group \"x\"\u{fffd}  - name: injected\n  - name: a\n"), "{text}");
    let back = parse(&text, "written.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut expected = file.clone();
    expected.header.clear();
    expected.apps[0].notes.clear();
    assert_eq!(DesiredFile::from(&back), expected, "{text}");
}

#[test]
fn no_apps_is_an_empty_list() {
    let text =
        to_yaml(&DesiredFile { tenant: Some("contoso.onmicrosoft.com".into()), ..DesiredFile::default() })
            .unwrap();
    assert_eq!(text, "apiVersion: mailscope/v1\ntenant: contoso.onmicrosoft.com\napps: []\n");
    assert!(parse(&text, "empty.yaml").unwrap().apps.is_empty());
}

#[test]
fn rbac_apps_keep_their_mechanism_permissions_and_entra_grants() {
    let text = "apiVersion: mailscope/v1\napps:\n  - name: news\n    appId: 1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f7\n    mechanism: rbac\n    permissions: [Mail.Send, Mail.Read]\n    entraGrants: remove\n    allow: [marketing@contoso.com]\n  - name: plain\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n    allow: [billing@contoso.com]\n";
    let desired = parse(text, "rbac.yaml").unwrap();
    let file = DesiredFile::from(&desired);
    assert_eq!(
        file.apps[0].permissions.as_deref(),
        Some(&["Mail.Send".to_owned(), "Mail.Read".to_owned()][..])
    );
    assert_eq!(file.apps[1].mechanism, None);
    let written = to_yaml(&file).unwrap();
    assert!(
        written.contains("    mechanism: rbac\n    permissions:\n      - Mail.Send\n      - Mail.Read\n    entraGrants: remove\n"),
        "{written}"
    );
    assert!(!written.contains("applicationAccessPolicy"), "{written}");
    let back = parse(&written, "written.yaml").unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(DesiredFile::from(&back), file);
}
