#!/usr/bin/env bash
# The one test command: installs what it needs (scripts/setup.sh), then runs every check CI
# runs. Usage: scripts/test.sh            (everything, about 15 minutes on 2 cores)
#        FUZZ_SECONDS=10 scripts/test.sh  (shorter fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "format"
cargo fmt --all -- --check

step "clippy (also type-checks the benchmarks)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "tests (workspace, all features)"
cargo test --workspace --all-features

step "docs: cargo doc, warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "crates.io: the published crate packages and builds on its own"
cargo publish --dry-run --locked -p realm-metrics

step "MSRV: every crate builds with the toolchain its rust-version names"
bash scripts/check-msrv.sh

step "no_std: encoder and decoder on thumbv7m-none-eabi"
cargo build -p realm-metrics --no-default-features --target thumbv7m-none-eabi
cargo build -p realm-metrics --no-default-features --features alloc --target thumbv7m-none-eabi

# Each binding's own checks, then the dashboard (browser) and the production pipeline.
for t in ffi-c/test.sh node/test.sh wasm/test.sh cli/dashboard/test.sh tests/pipeline/run.sh; do
  step "$t"
  bash "$t"
done

step "soak: 4 threads for 10 s, exact totals, flat RSS (bash scripts/soak.sh 600 for the long one)"
bash scripts/soak.sh 10

step "fuzz (${FUZZ_SECONDS:-60}s per target)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"

step "all checks passed"
