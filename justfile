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
