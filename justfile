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
# so not part of `ci`: narrow it with e.g. `just mutants -f crates/mailscope-planner/src/world.rs`
# or split it with `--shard 0/8`. Needs `cargo install --locked cargo-mutants`.
mutants *ARGS:
    cargo mutants --workspace {{ARGS}}

# Each cargo-fuzz target for SECS seconds, seeded from tests/corpus
# (docs/reliability.md). libFuzzer needs nightly compiler flags:
# RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them. Install once:
# `cargo install --locked cargo-fuzz@0.13.2`. New inputs go to fuzz/corpus,
# findings to fuzz/artifacts (both ignored by git).
fuzz SECS="60":
    #!/usr/bin/env bash
    set -euo pipefail
    cd fuzz
    for pair in spec_parse:desired snapshot_read:snapshots saved_plan_read:plans invoke_page:invoke; do
        target="${pair%%:*}"
        mkdir -p "corpus/$target"
        RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0 cargo fuzz run --sanitizer none "$target" \
            "corpus/$target" "../tests/corpus/${pair#*:}" -- -max_total_time={{SECS}} -max_len=65536
    done
