#!/usr/bin/env bash
# The Node package's checks: install (npm ci), build the addon, check the generated loader and
# types for drift, run the node:test suites, type-check a TypeScript user of the package.
# The "npm pack" step packs the npm tarballs with pack.sh (main + linux-x64-gnu, and
# linux-x64-musl when its toolchain is here: the rustup target x86_64-unknown-linux-musl and
# musl-gcc from musl-tools; about 45 s cold, seconds warm; REALM_METRICS_PACK_MUSL=0/1 forces
# it); test/pack/ installs them offline in an empty project with no cargo/rustc on PATH.
# Usage: bash node/test.sh   (from anywhere; Node >= 18, Rust and npm on PATH)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}"

step() { printf '\n---- node: %s\n' "$*"; }

step "npm ci"
# Reinstall when node_modules is missing or older than the lockfile. Install scripts are not
# needed (hot-shots' optional unix-dgram would try to download Node headers).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund
else
  echo "node_modules is up to date"
fi

step "napi build --platform --release"
npx napi build --platform --release

step "generated index.js / index.d.ts are committed"
if git -C .. rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  if git -C .. ls-files --error-unmatch node/index.js node/index.d.ts >/dev/null 2>&1; then
    git -C .. diff --exit-code -- node/index.js node/index.d.ts
  else
    echo "node/index.js and node/index.d.ts are not committed yet: commit them" >&2
    exit 1
  fi
else
  echo "not a git checkout: drift check skipped"
fi

step "npm pack (pack.sh): the tarballs test/pack/ installs"
if [ -z "${REALM_METRICS_PACK_MUSL:-}" ]; then
  if command -v musl-gcc >/dev/null &&
    rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    REALM_METRICS_PACK_MUSL=1
  else
    REALM_METRICS_PACK_MUSL=0
    echo "linux-x64-musl skipped: needs rustup target x86_64-unknown-linux-musl and musl-gcc"
  fi
fi
REALM_METRICS_PACK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/realm-metrics-tarballs.XXXXXX")"
trap 'rm -rf "$REALM_METRICS_PACK_DIR"' EXIT
if [ "$REALM_METRICS_PACK_MUSL" = 1 ]; then
  bash pack.sh --out "$REALM_METRICS_PACK_DIR" --musl
else
  bash pack.sh --out "$REALM_METRICS_PACK_DIR"
fi
export REALM_METRICS_PACK_DIR REALM_METRICS_PACK_MUSL

step "node --test"
node --test --test-timeout=60000 test/

step "tsc --noEmit (a TypeScript user of the package)"
npx tsc -p test/types/tsconfig.json

step "node package checks passed"
