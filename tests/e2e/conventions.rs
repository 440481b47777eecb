//! Command-line conventions every command follows: usage errors exit 1
//! (2 is reserved for "changes" and "drift"), `--help` exits 0.

use crate::harness::run;

/// The commands (and `sim` subcommands) `mailscope --help` lists, so that a
/// command added later is covered without editing this test.
fn commands() -> Vec<Vec<String>> {
    fn listed(help: &str) -> Vec<String> {
        help.lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            // A wrapped description continues further indented.
            .filter(|l| !l[2..].starts_with(' '))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_owned)
            .collect()
    }
    let top = run(&["--help"]);
    assert_eq!(top.code, 0, "{}", top.stderr);
    let mut out = Vec::new();
    for name in listed(&top.stdout) {
        let sub = run(&[&name, "--help"]);
        assert_eq!(sub.code, 0, "{name} --help: {}", sub.stderr);
        let nested = listed(&sub.stdout);
        if nested.is_empty() {
            out.push(vec![name]);
        } else {
            out.extend(nested.into_iter().map(|n| vec![name.clone(), n]));
        }
    }
    assert!(out.len() >= 8, "too few commands found: {out:?}");
    out
}

#[test]
fn a_misspelled_flag_exits_1_on_every_command() {
    for command in commands() {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--no-such-flag");
        let r = run(&args);
        assert_eq!(r.code, 1, "{args:?} exited {}: {}", r.code, r.stderr);
        assert!(r.stderr.contains("--no-such-flag"), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn an_unknown_command_and_a_missing_argument_exit_1() {
    let r = run(&["plna"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("plna"), "{}", r.stderr);
    let r = run(&["plan"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("FILE"), "{}", r.stderr);
    assert_eq!(run(&["--version"]).code, 0);
}
