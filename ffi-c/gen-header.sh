#!/usr/bin/env bash
# Regenerate ffi-c/include/realm_metrics.h with the pinned cbindgen (scripts/setup.sh installs it).
#   ffi-c/gen-header.sh          write the header
#   ffi-c/gen-header.sh --check  fail if the committed header differs from a fresh one
set -euo pipefail
cd "$(dirname "$0")"
out=include/realm_metrics.h
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  cbindgen --quiet --config cbindgen.toml --crate realm-metrics-ffi --output "$tmp" .
  if ! diff -u "$out" "$tmp"; then
    echo "ffi-c/include/realm_metrics.h is stale: run ffi-c/gen-header.sh and commit it" >&2
    exit 1
  fi
  echo "header up to date"
else
  cbindgen --quiet --config cbindgen.toml --crate realm-metrics-ffi --output "$out" .
fi
