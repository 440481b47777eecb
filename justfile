# Developer shortcuts; each recipe runs the same commands as .ci/run.
# Install just with `pip install rust-just` (optional: CI calls cargo directly).

default: ci

# Everything CI checks (.ci/run also lints docs/workflows with actionlint).
ci:
    .ci/run

fmt:
    cargo fmt --all

fmt-check:
    cargo fmt --all -- --check

lint:
    cargo clippy --workspace --all-targets --locked -- -D warnings

# The README's test command.
test:
    cargo test --workspace --locked

bench:
    cargo bench -p mailscope-planner

# Regenerate the committed JSON Schema.
schema:
    cargo run -q -- schema > policies/schema.json

# The first run of the README: plan and apply the example on the embedded emulator.
demo:
    cargo run --release -- apply policies/contoso.yaml --tenant sim:.mailscope/demo.json --auto-approve --allow-widening

# Mutation testing of the safety-critical code (.cargo/mutants.toml says which;
# docs/mutants.md has the scores and every missed mutant). Hours on 2 cores,
# so not part of `ci`: split it with `--shard 0/8`, or narrow it to files with
# `cargo mutants --no-config -p mailscope-planner -f crates/mailscope-planner/src/world/mod.rs`
# (with the config, `-f` adds to its globs instead of narrowing them).
# MAILSCOPE_PROPTEST_CASES=32 makes each mutant's property tests quick.
# Needs `cargo install --locked cargo-mutants`.
mutants *ARGS:
    cargo mutants --workspace {{ARGS}}

# Each fuzz target for SECS seconds, seeded from tests/corpus
# (docs/reliability.md, "Fuzzing"). Builds the libFuzzer binaries with the
# stable toolchain and the flags `cargo fuzz build --sanitizer none` passes
# (sanitizer coverage, `--cfg fuzzing`, debug assertions); RUSTC_BOOTSTRAP=1
# as cargo-fuzz's docs ask for off nightly. No cargo-fuzz install needed;
# with it, `cargo fuzz run --sanitizer none TARGET` does the same. New
# inputs go to fuzz/corpus, findings to fuzz/artifacts (both ignored by git).
fuzz SECS="60":
    #!/usr/bin/env bash
    set -euo pipefail
    cd fuzz
    triple="$(rustc -vV | sed -n 's/^host: //p')"
    RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0 \
    RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-sanitizer-coverage-stack-depth \
        --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
        cargo build --release --target "$triple" --bins
    for pair in spec_parse:desired snapshot_read:snapshots saved_plan_read:plans invoke_page:invoke; do
        target="${pair%%:*}"
        mkdir -p "corpus/$target" "artifacts/$target"
        "target/$triple/release/$target" "corpus/$target" "../tests/corpus/${pair#*:}" \
            -max_total_time={{SECS}} -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="artifacts/$target/" -print_final_stats=1
    done
