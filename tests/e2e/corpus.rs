//! The hostile-input corpus (`tests/corpus/`, made by its `generate.py`):
//! every input is refused with exit 1, the error names the file and, where
//! the manifest says so, the line and column; nothing panics and no output
//! grows with the input.

use crate::harness::{Scratch, run};

/// Most bytes of stdout plus stderr for one refused input: an error must
/// not echo a huge input back.
const OUTPUT_BOUND: usize = 8 * 1024;

/// One manifest row.
struct Case {
    file: String,
    command: String,
    location: String,
    message: String,
}

fn manifest() -> Vec<Case> {
    let text =
        std::fs::read_to_string(crate::harness::root().join("tests/corpus/expected.tsv")).expect("manifest");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            assert_eq!(f.len(), 4, "manifest row {l:?}");
            Case { file: f[0].into(), command: f[1].into(), location: f[2].into(), message: f[3].into() }
        })
        .collect()
}

fn args_for<'a>(case: &Case, path: &'a str, state: &'a str) -> Vec<&'a str> {
    match case.command.as_str() {
        "validate" => vec!["validate", path],
        "snapshot" => vec!["plan", "policies/contoso.yaml", "--snapshot", path],
        "apply" => vec!["apply", path, "--tenant", state, "--auto-approve"],
        other => panic!("unknown command {other} for {}", case.file),
    }
}

/// The problems of one case, empty when it passes.
fn check(case: &Case, state: &str) -> Vec<String> {
    let path = format!("tests/corpus/{}", case.file);
    let r = run(&args_for(case, &path, state));
    let mut problems = Vec::new();
    if r.code != 1 {
        problems.push(format!("exit {} (want 1)", r.code));
    }
    if r.stderr.contains("panicked") {
        problems.push("panicked".into());
    }
    // A control character or a bidirectional override from the input
    // would reach the terminal: values are shown escaped.
    if r.stderr.chars().any(|c| {
        (c.is_control() && c != '\n') || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}')
    }) {
        problems.push("a raw control or invisible character in the error".into());
    }
    if r.stdout.len() + r.stderr.len() > OUTPUT_BOUND {
        problems.push(format!("{} bytes of output", r.stdout.len() + r.stderr.len()));
    }
    let located = match case.location.as_str() {
        loc if loc == "-" || loc.starts_with("line ") || loc.starts_with("index ") => path.clone(),
        loc => format!("{path}:{loc}:"),
    };
    if (case.location.starts_with("line ") || case.location.starts_with("index "))
        && !r.stderr.contains(&case.location)
    {
        problems.push(format!("no {:?} in the error", case.location));
    }
    if !r.stderr.contains(&located) {
        problems.push(format!("no {located:?} in the error"));
    }
    if !r.stderr.contains(&case.message) {
        problems.push(format!("no {:?} in the error", case.message));
    }
    if problems.is_empty() {
        problems
    } else {
        vec![format!("{}: {}\n{}", case.file, problems.join("; "), r.stderr)]
    }
}

#[test]
fn every_corpus_input_is_refused_with_a_located_error_and_no_panic() {
    let cases = manifest();
    assert!(cases.len() >= 200, "the corpus has {} cases", cases.len());
    let s = Scratch::new("corpus");
    // Saved plans are refused before any tenant is touched; the state path
    // is only there so that a regression cannot reach a real tenant.
    let state = format!("sim:{}", s.path("state.json").display());
    let failures: Vec<String> = std::thread::scope(|scope| {
        let chunks: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| scope.spawn(|| chunk.iter().flat_map(|c| check(c, &state)).collect::<Vec<_>>()))
            .collect();
        chunks.into_iter().flat_map(|h| h.join().expect("corpus worker")).collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} corpus inputs misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_desired_file_over_the_size_cap_is_refused_without_reading_it_all() {
    let s = Scratch::new("huge");
    let mut text = String::from("apiVersion: mailscope/v1\napps: []\n# ");
    text.push_str(&"x".repeat(mailscope_spec::MAX_FILE_BYTES));
    let file = s.write("huge.yaml", &text);
    let r = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(r.stderr.contains(file.to_str().unwrap()), "{}", r.stderr);
    assert!(r.stdout.len() + r.stderr.len() < OUTPUT_BOUND, "{}", r.stderr);
}
