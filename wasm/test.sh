#!/usr/bin/env bash
# Build the realm-metrics-wasm package and run all its tests:
#   0. drift checks: package.json's version is the workspace's; the copies of the shared decode
#      result type (types/decoded.d.ts) are equal to it; js/layout.js is current (a unit test)
#   1. host unit tests of the crate (core's decoder through the sinks, UTF-16 mapping, buffers,
#      the generated layout)
#   2. wasm-bindgen-test in Node (the exported functions inside a JS engine)
#   3. node:test suites (test-js/) against the Node build, including the shared vectors and a
#      differential run against the `realm-metrics decode` CLI
#   4. a real-browser test: headless Chromium loads the web build
#   5. the package as users get it: `npm pack`, installed offline into an empty project; Node
#      require() and import; a page bundled by esbuild, decoding in headless Chromium
#   6. the benchmark script, on a few packets (it checks that every implementation decodes every
#      line; it times nothing here)
# Installs what it needs, idempotently (see build.sh; plus npm devDependencies and chromium).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf 'wasm/test.sh: %s\n' "$*" >&2; }

cd "$here"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/esbuild ] || [ ! -d node_modules/statsd ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm devDependencies"
  npm ci --no-audit --no-fund
fi
if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

log "0/6 drift checks"
workspace_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
package_version="$(node -p 'require(process.argv[1]).version' "$here/package.json")"
if [ "$package_version" != "$workspace_version" ]; then
  log "error: wasm/package.json has version $package_version, the workspace $workspace_version"
  exit 1
fi
for copy in "$root/node/lib/decoded.d.ts"; do
  if ! cmp -s "$root/types/decoded.d.ts" "$copy"; then
    log "error: $copy differs from types/decoded.d.ts (the one definition): copy it"
    exit 1
  fi
done

bash "$here/build.sh"

cd "$root"
log "1/6 host unit tests (with the check that js/layout.js is current)"
cargo test -p realm-metrics-wasm

log "2/6 wasm-bindgen-test (Node)"
# With the target features of the shipped build (build.sh), so that the SIMD code is tested.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${WASM_RUSTFLAGS--C target-feature=+simd128}" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown -p realm-metrics-wasm

log "3/6 node:test suites"
# The CLI binary, for the differential test (skipped if it does not build).
cargo build -p realm-metrics-cli || log "warning: the CLI did not build; its comparison is skipped"
node --test "$here"/test-js/*.test.mjs

log "4/6 browser test (headless Chromium)"
node --test "$here"/test-js/browser/

log "5/6 the packed tarball: Node require/import, esbuild bundle in headless Chromium"
node --test "$here"/test-js/package/

log "6/6 benchmark script, 5000 lines, one round"
node "$here/bench/decode.mjs" 5000 1
