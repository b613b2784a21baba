#!/usr/bin/env bash
# Install everything the project's builds and tests need, idempotently, on a fresh Debian 12
# machine with Rust (rustup) and Node.js. Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
WASM_BINDGEN_VERSION=0.2.130
CBINDGEN_VERSION=0.29.4

log() { printf '\n== setup: %s\n' "$*"; }

# Rust targets and the nightly toolchain for cargo-fuzz.
have_target() { rustup target list --installed ${2:+--toolchain "$2"} 2>/dev/null | grep -qx "$1"; }
for t in thumbv7m-none-eabi wasm32-unknown-unknown x86_64-unknown-linux-musl; do
  have_target "$t" || { log "rustup target add $t"; rustup target add "$t"; }
done
if ! rustup toolchain list | grep -q '^nightly'; then
  log "rustup toolchain install nightly"
  rustup toolchain install nightly --profile minimal
fi

# Pinned cargo tools.
cargo_tool() { # name version binary
  if ! "$3" --version 2>/dev/null | grep -q "$2"; then
    log "cargo install $1 $2"
    # --locked first; when a crate its lock file names is no longer in the registry's index
    # (wasm-bindgen-cli 0.2.130 names a yanked webpki-roots), resolve afresh at the same version.
    cargo install "$1" --version "$2" --locked || cargo install "$1" --version "$2"
  fi
}
cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz
cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
cargo_tool cbindgen "$CBINDGEN_VERSION" cbindgen

# Debian packages.
pkgs=(chromium binaryen valgrind musl-tools influxdb influxdb-client graphite-carbon python3-whisper cmake pkg-config libcjson-dev prometheus-alertmanager)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
log "done"
