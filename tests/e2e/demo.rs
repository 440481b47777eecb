//! The demo needs only the binary: the Contoso seed and its test credentials
//! are compiled in, so `--tenant sim:PATH` works from a directory that holds
//! nothing but the example file.

use crate::harness::{Scratch, mailscope, root};

#[test]
fn the_demo_applies_from_an_empty_directory_with_the_embedded_seed() {
    let s = Scratch::new("demo-anywhere");
    let example = std::fs::read_to_string(root().join("policies/contoso.yaml")).expect("example file");
    s.write("contoso.yaml", &example);
    assert!(!s.path("policies").exists(), "no seed beside the file");

    let apply = mailscope(&[
        "apply",
        "contoso.yaml",
        "--tenant",
        "sim:demo.json",
        "--auto-approve",
        "--allow-widening",
    ])
    .current_dir(&s.0)
    .output()
    .expect("run mailscope");
    let stderr = String::from_utf8_lossy(&apply.stderr);
    assert_eq!(apply.status.code(), Some(0), "{stderr}");
    assert!(s.path("demo.json").exists(), "the state file is created in the working directory");

    let plan = mailscope(&["plan", "contoso.yaml", "--tenant", "sim:demo.json", "--detailed-exitcode"])
        .current_dir(&s.0)
        .output()
        .expect("run mailscope");
    assert_eq!(plan.status.code(), Some(0), "converged: {}", String::from_utf8_lossy(&plan.stderr));
    for dir in ["policies", "crates"] {
        assert!(!s.path(dir).exists(), "the embedded seed is not written to the working directory");
    }
}
