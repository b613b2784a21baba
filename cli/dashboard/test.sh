#!/usr/bin/env bash
# Tests of `realm-metrics dashboard` and `realm-metrics tail`: builds what they need (the wasm web
# build, uPlot and playwright-core, the CLI in debug and release), then runs the browser tests
# (node:test, headless Debian Chromium; standalone.test.mjs runs the release binary alone, copied
# out of the checkout, which it hides with `unshare -m`: needs root), the flood test and the tail
# test. Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf 'cli/dashboard/test.sh: %s\n' "$*" >&2; }

cd "$root"
if [ ! -f wasm/pkg/web/realm_metrics_wasm_bg.wasm ] || [ -n "${REBUILD_WASM:-}" ]; then
  log "building the wasm package"
  bash wasm/build.sh
fi
if [ ! -f "$here/node_modules/uplot/dist/uPlot.esm.js" ] || [ ! -d "$here/node_modules/playwright-core" ] ||
  [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  log "npm ci in cli/dashboard"
  (cd "$here" && npm ci --no-audit --no-fund)
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  log "error: no Chromium at ${CHROMIUM:-/usr/bin/chromium}: run bash scripts/setup.sh"
  exit 1
fi
log "cargo build -p realm-metrics-cli (debug and release: the binary that users install)"
cargo build -p realm-metrics-cli
cargo build --release -p realm-metrics-cli
target="${CARGO_TARGET_DIR:-$root/target}"
export REALM_METRICS_BIN="$target/debug/realm-metrics"
export REALM_METRICS_RELEASE_BIN="$target/release/realm-metrics"

log "node --test cli/dashboard/test/*.test.mjs"
node --test --test-concurrency=1 "$here"/test/*.test.mjs

log "cargo test: dashboard (flood included) and tail"
cargo test -p realm-metrics-cli --test dashboard --test tail -- --include-ignored --test-threads=1 --nocapture
