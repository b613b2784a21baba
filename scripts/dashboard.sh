#!/usr/bin/env bash
# One command for a local live dashboard of ROS metrics, with demo traffic:
#   bash scripts/dashboard.sh [extra `realm-metrics dashboard` options, e.g. --http 127.0.0.1:9090]
# On a fresh machine it installs what is needed (scripts/setup.sh), builds the wasm decoder
# (wasm/build.sh), installs uPlot (npm ci in cli/dashboard) and the CLI (release), then runs
# `realm-metrics dashboard --demo`, which prints the URL to open. Ctrl-C stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '== dashboard.sh: %s\n' "$*" >&2; }

log "setup (idempotent)"
bash scripts/setup.sh >&2
log "wasm decoder"
bash wasm/build.sh >&2
if [ ! -f cli/dashboard/node_modules/uplot/dist/uPlot.esm.js ] ||
  [ cli/dashboard/package-lock.json -nt cli/dashboard/node_modules/.package-lock.json ]; then
  log "npm ci in cli/dashboard (uPlot)"
  (cd cli/dashboard && npm ci --no-audit --no-fund) >&2
fi
log "cargo build --release -p realm-metrics-cli"
cargo build --release -p realm-metrics-cli >&2
exec "${CARGO_TARGET_DIR:-$root/target}/release/realm-metrics" dashboard --demo "$@"
