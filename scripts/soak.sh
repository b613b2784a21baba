#!/usr/bin/env bash
# Load and soak: 4 threads count flat out for SECONDS (default 10) against a real UDP
# receiver; exact totals, RSS flat after warm-up, ns per event reported (tools/soak,
# built in release). The test command runs the 10 s version; the long one is
#   bash scripts/soak.sh 600
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
threads=${2:-4}
cargo build --release -p realm-metrics-soak
echo "== soak for ${secs}s with ${threads} threads"
cargo run --release -q -p realm-metrics-soak -- "$secs" "$threads"
