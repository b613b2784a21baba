#!/usr/bin/env bash
# Run every cargo-fuzz target of core/fuzz for SECONDS each (default 60), seeded from the shared
# wire vectors. Exits non-zero when a target finds a crash (the input is kept in
# core/fuzz/artifacts/<target>/).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd core/fuzz && cargo +nightly fuzz list)
fi
for t in "${targets[@]}"; do
  corpus=core/fuzz/corpus/$t
  mkdir -p "$corpus"
  python3 scripts/vector_seeds.py "$t" "$corpus"
  echo "== fuzz $t for ${secs}s"
  status=0
  (cd core/fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- \
      -max_total_time="$secs" -print_final_stats=1) > "core/fuzz/$t.log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)|ERROR|panicked|deadly" "core/fuzz/$t.log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "core/fuzz/$t.log"
    echo "fuzz target $t failed (status $status); see core/fuzz/$t.log"
    exit 1
  fi
done
