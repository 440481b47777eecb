//! The least-privilege roles in `docs/auth.md` stay in step with the client:
//! every cmdlet `crates/mailscope-exo` can send must be in the documented
//! write role, every read cmdlet in the read role, and neither list may hold
//! a cmdlet the client never calls (the roles stay trimmed). A new cmdlet in
//! the client without a documentation update fails here, before an apply
//! with the documented role fails with 403 in someone's tenant.

use std::collections::BTreeSet;

use crate::harness::root;

const VERBS: &[&str] = &["Add", "Get", "New", "Remove", "Set", "Test"];

/// `Verb-Noun` string literals in the exo crate's product code: test modules
/// (from the first `#[cfg(test)]` on) and the fuzz entry point's fake
/// cmdlet name are not calls to Exchange.
fn cmdlets_in_client() -> BTreeSet<String> {
    let dir = root().join("crates/mailscope-exo/src");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("exo sources") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let product = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in product.lines().filter(|l| !l.contains("parse_envelope(")) {
            for literal in line.split('"').skip(1).step_by(2) {
                if let Some((verb, noun)) = literal.split_once('-')
                    && VERBS.contains(&verb)
                    && !noun.is_empty()
                    && noun.chars().all(|c| c.is_ascii_alphabetic())
                    && noun.starts_with(|c: char| c.is_ascii_uppercase())
                {
                    found.insert(literal.to_owned());
                }
            }
        }
    }
    found
}

/// The cmdlets of one PowerShell array in docs/auth.md: the lines between
/// `$<name> = @(` and `)`, each a quoted cmdlet name.
fn documented(name: &str) -> BTreeSet<String> {
    let doc = std::fs::read_to_string(root().join("docs/auth.md")).expect("docs/auth.md");
    let start = format!("${name} = @(");
    let body = doc.split_once(&start).unwrap_or_else(|| panic!("docs/auth.md has no `{start}`")).1;
    let body = body.split_once("\n)").expect("the array ends with `)` on its own line").0;
    body.lines()
        .map(|l| l.trim().trim_end_matches(',').trim_matches('\''))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_documented_roles_hold_exactly_the_cmdlets_the_client_calls() {
    let client = cmdlets_in_client();
    assert!(
        client.contains("New-ApplicationAccessPolicy") && client.contains("New-ManagementRoleAssignment")
    );
    let reads: BTreeSet<String> =
        client.iter().filter(|c| c.starts_with("Get-") || c.starts_with("Test-")).cloned().collect();
    let read_role = documented("readCmdlets");
    let write_role = documented("writeCmdlets");

    let documented_all: BTreeSet<String> = read_role.union(&write_role).cloned().collect();
    let missing: Vec<_> = client.difference(&documented_all).collect();
    assert!(
        missing.is_empty(),
        "docs/auth.md: the client calls cmdlets no documented role holds: {missing:?}"
    );
    assert_eq!(read_role, reads, "docs/auth.md: the read role must be exactly the client's read cmdlets");
    let writes: BTreeSet<String> = client.difference(&reads).cloned().collect();
    assert_eq!(write_role, writes, "docs/auth.md: the write role adds exactly the client's write cmdlets");
}
