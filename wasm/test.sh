#!/usr/bin/env bash
# Build the realm-metrics-wasm package and run all its tests:
#   1. host unit tests of the crate (fast path vs the core decoder, UTF-16 mapping, buffers)
#   2. wasm-bindgen-test in Node (the exported functions inside a JS engine)
#   3. node:test suites against the Node build, including the shared vectors and a
#      differential run against the `realm-metrics decode` CLI
#   4. a real-browser test: headless Chromium loads the web build
#   5. the benchmark script, on a few packets (it checks that every implementation decodes every
#      line; it times nothing here)
# Installs what it needs, idempotently (see build.sh; plus npm devDependencies and chromium).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf 'wasm/test.sh: %s\n' "$*" >&2; }

cd "$here"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm devDependencies"
  npm ci --no-audit --no-fund
fi
if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

bash "$here/build.sh"

cd "$root"
log "1/5 host unit tests"
cargo test -p realm-metrics-wasm

log "2/5 wasm-bindgen-test (Node)"
# With the target features of the shipped build (build.sh), so that the SIMD code is tested.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${WASM_RUSTFLAGS--C target-feature=+simd128}" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown -p realm-metrics-wasm

log "3/5 node:test suites"
# The CLI binary, for the differential test (skipped if it does not build).
cargo build -p realm-metrics-cli || log "warning: the CLI did not build; its comparison is skipped"
node --test "$here"/test/*.test.mjs

log "4/5 browser test (headless Chromium)"
node --test "$here"/test/browser/

log "5/5 benchmark script, 5000 lines, one round"
node "$here/bench/decode.mjs" 5000 1
