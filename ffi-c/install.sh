#!/usr/bin/env bash
# Install the C library, header and pkg-config file under PREFIX (default /usr/local):
#   ffi-c/install.sh [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build -p realm-metrics-ffi --release
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0644 "$target/release/librealm_metrics.a" "$prefix/lib/"
install -m 0755 "$target/release/librealm_metrics.so" "$prefix/lib/"
install -m 0644 ffi-c/include/realm_metrics.h "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" ffi-c/realm_metrics.pc.in > "$prefix/lib/pkgconfig/realm_metrics.pc"
echo "installed realm_metrics $version under $prefix"
