#!/usr/bin/env bash
# Check every workspace crate with the toolchain its `rust-version` names: `cargo +<msrv> check`
# of its library and binaries (tests and benches use dev-dependencies with their own, newer
# minimums: they are checked on stable), in a target directory of its own. Installs the
# toolchains it needs (rustup, minimal profile), idempotently.
# Usage: bash scripts/check-msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${MSRV_TARGET_DIR:-$PWD/target/msrv}"

# "<rust-version> <package>" for every workspace member.
plan=$(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
m = json.load(sys.stdin)
for p in m["packages"]:
    if not p.get("rust_version"):
        sys.exit("%s has no rust-version" % p["name"])
    print(p["rust_version"], p["name"])
' | sort -V)

for v in $(printf '%s\n' "$plan" | awk '{print $1}' | sort -uV); do
  if ! rustup run "$v" rustc --version >/dev/null 2>&1; then
    echo "== msrv: rustup toolchain install $v"
    rustup toolchain install "$v" --profile minimal
  fi
  pkgs=$(printf '%s\n' "$plan" | awk -v v="$v" '$1 == v { printf " -p %s", $2 }')
  echo "== msrv: cargo +$v check$pkgs"
  # shellcheck disable=SC2086
  cargo "+$v" check --locked --all-features --lib --bins $pkgs
done
echo "== msrv: every crate builds with the toolchain its rust-version names"
