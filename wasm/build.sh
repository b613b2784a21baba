#!/usr/bin/env bash
# Build the realm-metrics-wasm JS package into wasm/pkg/ (wasm/package.json is its manifest;
# `npm pack` in wasm/ makes the tarball):
#   pkg/web/   ES module for browsers and bundlers (`--target web` glue; index.js is the entry:
#              call its default export `init()` first). The dashboard serves every file in it.
#   pkg/node/  CommonJS for Node.js (`--target nodejs` glue; index.js, index.mjs; ready on load)
#   pkg/index.d.ts, pkg/decoded.d.ts  the types of both (decoded.d.ts: types/decoded.d.ts)
# The entries are the hand-written js/web.js, js/node.cjs and js/api.js, which wraps the
# generated glue (object lifetimes); js/layout.js is generated from src/layout.rs.
# Honours CARGO_TARGET_DIR (default <repo>/target).
# Installs what it needs, idempotently: the wasm32 target, wasm-bindgen-cli (exactly the version
# of the wasm-bindgen crate), and wasm-opt (Debian package `binaryen`).
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
pkg="$here/pkg"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf 'wasm/build.sh: %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. Toolchain.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # --locked first; if a crate of its lock file is no longer in the index, resolve afresh.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked --force ||
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if ! command -v wasm-opt >/dev/null; then
  log "installing binaryen (wasm-opt)"
  apt_install binaryen
fi
# Binaryen before version 116 (Debian 12 ships 108) writes wasm-bindgen's externref table back
# as a funcref table, which breaks the module at load time. Then use the pinned npm build of
# binaryen (a devDependency in wasm/package.json) instead.
wasm_opt=wasm-opt
if [ "$(wasm-opt --version | sed -n 's/^wasm-opt version \([0-9]*\).*/\1/p')" -lt 116 ]; then
  wasm_opt="$here/node_modules/.bin/wasm-opt"
  if [ ! -x "$wasm_opt" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    log "system wasm-opt is older than 116: installing the npm devDependencies (binaryen)"
    (cd "$here" && npm ci --no-audit --no-fund)
  fi
fi

# 2. Compile. Size and speed settings for this crate only: the workspace release profile keeps
# panic = "unwind" and debug info for the C and Node bindings (docs/architecture.md 4.6).
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-3}"
export CARGO_PROFILE_RELEASE_LTO=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_DEBUG=0
export CARGO_PROFILE_RELEASE_PANIC=abort
export CARGO_PROFILE_RELEASE_STRIP=debuginfo
# 128-bit SIMD (every browser since 2023, Node 16.4+): vectorised byte scans.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${WASM_RUSTFLAGS--C target-feature=+simd128}"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release --target wasm32-unknown-unknown -p realm-metrics-wasm
wasm="$target_dir/wasm32-unknown-unknown/release/realm_metrics_wasm.wasm"

# 3. Bindings (wasm-bindgen's glue, used as generated), then shrink.
rm -rf "$pkg"
mkdir -p "$pkg"
wasm-bindgen --target web --out-dir "$pkg/web" "$wasm"
wasm-bindgen --target nodejs --out-dir "$pkg/node" "$wasm"
for dir in web node; do
  f="$pkg/$dir/realm_metrics_wasm_bg.wasm"
  "$wasm_opt" -Oz --converge --strip-producers --strip-target-features --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
    -o "$f.opt" "$f"
  mv "$f.opt" "$f"
done

# 4. The entry points and types (no edit of the generated glue).
# ES module -> CommonJS for the Node build, for files of this package only: `import { a } from
# './x.js';` becomes a require(), `export function` / `export const` declarations become
# module.exports; anything else exported stops the build.
to_cjs() {
  local file="$1" names
  names="$(sed -n 's/^export \(function\|const\) \([A-Za-z0-9_]*\).*/\2/p' "$file" | paste -sd, -)"
  sed -i -e "s/^import \(.*\) from '\(.*\)';$/const \1 = require('\2');/" \
    -e 's/^export \(function\|const\) /\1 /' "$file"
  if grep -q '^\(export\|import\)' "$file"; then
    log "error: $file has imports or exports this conversion does not handle"
    exit 1
  fi
  printf "\nmodule.exports = { %s };\n" "$names" >>"$file"
}
# The Node build loads its JS snippets with require(): make each a CommonJS file.
while IFS= read -r -d '' snippet; do
  to_cjs "$snippet"
done < <(find "$pkg/node/snippets" -name '*.js' -print0)
cp "$here/js/web.js" "$pkg/web/index.js"
cp "$here/js/api.js" "$here/js/layout.js" "$pkg/web/"
cp "$here/js/node.cjs" "$pkg/node/index.js"
cp "$here/js/node.mjs" "$pkg/node/index.mjs"
cp "$here/js/api.js" "$here/js/layout.js" "$pkg/node/"
to_cjs "$pkg/node/api.js"
to_cjs "$pkg/node/layout.js"
cp "$here/js/index.d.ts" "$pkg/index.d.ts"
cp "$root/types/decoded.d.ts" "$pkg/decoded.d.ts"
# Each build's module type, for Node and bundlers that load a file of it directly.
printf '{\n  "type": "module",\n  "sideEffects": false\n}\n' >"$pkg/web/package.json"
printf '{\n  "type": "commonjs",\n  "sideEffects": false\n}\n' >"$pkg/node/package.json"

raw=$(stat -c %s "$pkg/web/realm_metrics_wasm_bg.wasm")
gz=$(gzip -9 -c "$pkg/web/realm_metrics_wasm_bg.wasm" | wc -c)
log "built $pkg (realm_metrics_wasm_bg.wasm: $raw bytes, $gz gzipped)"
if [ "$raw" -gt 102400 ]; then
  log "error: the .wasm is over 100 KB"
  exit 1
fi
