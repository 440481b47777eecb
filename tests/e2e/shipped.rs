//! What ships beside the binary says the same thing everywhere: the GitHub
//! workflows install mailscope through the verified action (never an
//! unchecked `curl | tar`), plan and drift run as the read identity and only
//! apply as the write identity, and `docs/gitops.md` shows the workflow files
//! exactly as they are.

use crate::harness::root;

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn workflows_install_through_the_action_and_use_two_identities() {
    for (file, identity) in [
        ("docs/workflows/mailscope-plan.yml", "MAILSCOPE_READ_CLIENT_ID"),
        ("docs/workflows/mailscope-drift.yml", "MAILSCOPE_READ_CLIENT_ID"),
        ("docs/workflows/mailscope-apply.yml", "MAILSCOPE_WRITE_CLIENT_ID"),
    ] {
        let text = read(file);
        assert!(text.contains("uses: OWNER/mailscope@v1"), "{file} installs through the action");
        assert!(!text.contains("| tar"), "{file} pipes a download into tar");
        assert!(text.contains(&format!("AZURE_CLIENT_ID: ${{{{ vars.{identity} }}}}")), "{file}: {identity}");
        let other = if identity.contains("READ") { "WRITE" } else { "READ" };
        assert!(!text.contains(&format!("MAILSCOPE_{other}_CLIENT_ID")), "{file} names the other identity");
    }
    let apply = read("docs/workflows/mailscope-apply.yml");
    assert!(apply.contains("    environment: production\n"), "apply runs only in the production environment");
}

#[test]
fn gitops_md_shows_the_workflow_files_verbatim() {
    let doc = read("docs/gitops.md");
    for file in ["mailscope-plan.yml", "mailscope-apply.yml", "mailscope-drift.yml"] {
        let text = read(&format!("docs/workflows/{file}"));
        assert!(
            doc.contains(&format!("```yaml\n{text}```\n")),
            "docs/gitops.md differs from docs/workflows/{file}"
        );
    }
}

#[test]
fn the_action_verifies_through_the_tested_install_script() {
    let action = read("action.yml");
    assert!(action.contains("using: composite"));
    assert!(action.contains("scripts/install.sh"), "the action runs the script CI tests");
    let script = read("scripts/install.sh");
    assert!(script.contains("checksum mismatch") && script.contains("SHA256SUMS"));
    let ci = read(".ci/run");
    assert!(ci.contains("sh scripts/test-install.sh"), ".ci/run tests the install script");
    assert!(ci.contains(".github/workflows/*.yml"), ".ci/run lints the release workflow");
}
