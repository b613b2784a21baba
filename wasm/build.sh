#!/usr/bin/env bash
# Build the realm-metrics-wasm JS package into wasm/pkg/:
#   pkg/web/   ES module for browsers (`--target web`; call the default export `init()` first)
#   pkg/node/  CommonJS module for Node.js (`--target nodejs`; ready on require)
#   pkg/package.json, README.md
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
cargo build --release --target wasm32-unknown-unknown -p realm-metrics-wasm
wasm="$root/target/wasm32-unknown-unknown/release/realm_metrics_wasm.wasm"

# 3. Bindings, then shrink.
rm -rf "$pkg"
mkdir -p "$pkg"
wasm-bindgen --target web --out-dir "$pkg/web" "$wasm"
wasm-bindgen --target nodejs --out-dir "$pkg/node" "$wasm"
for dir in web node; do
  f="$pkg/$dir/realm_metrics_wasm_bg.wasm"
  "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
    -o "$f.opt" "$f"
  mv "$f.opt" "$f"
done

# Two edits of the generated classes, where wasm-bindgen gives Rust no handle on the JS object
# (on the pinned version's exact text: the build stops if it is not found).
# 1. ColumnDecoder.decode returns views on memory the decoder owns: make each view keep its
#    decoder reachable. Otherwise a decoder dropped while its views are in use is finalized, its
#    memory reused, and the views silently read whatever comes next.
# 2. A second free() is a no-op (see below).
for dir in web node; do
  glue="$pkg/$dir/realm_metrics_wasm.js"
  python3 - "$glue" <<'PY'
import sys
path = sys.argv[1]
src = open(path).read()
call = "const ret = wasm.columndecoder_decode(this.__wbg_ptr, input);"
ret = "        return takeFromExternrefTable0(ret[0]);\n"
at = src.find(call)
end = src.find(ret, at)
if at < 0 or end < 0 or src.count(call) != 1 or src.find("\n    }", at) < end:
    sys.exit(f"wasm/build.sh: ColumnDecoder.decode not found as expected in {path}")
src = src[:end] + "        return keepDecoder(takeFromExternrefTable0(ret[0]), this);\n" + src[end + len(ret):]
helper = '''const VIEW_OWNER = Symbol('realm-metrics-wasm ColumnDecoder');
const VIEW_NAMES = ['values', 'sampleRates', 'types', 'flags', 'catalogIds', 'lines', 'nameOffsets', 'nameLengths'];
// Each view of a ColumnDecoder result keeps the decoder (and so its memory) alive.
function keepDecoder(result, decoder) {
    if (result.values[VIEW_OWNER] !== decoder) {
        for (const name of VIEW_NAMES) result[name][VIEW_OWNER] = decoder;
    }
    return result;
}

'''
cls = "class ColumnDecoder {"
if src.count(cls) != 1:
    sys.exit(f"wasm/build.sh: class ColumnDecoder not found in {path}")
src = src.replace(cls, helper + cls)
# free() twice (say free(), then [Symbol.dispose] at the end of a `using` block) is a no-op, as
# disposal should be, instead of "null pointer passed to rust".
free = "    free() {\n        const ptr = this.__destroy_into_raw();\n"
if src.count(free) != 2:
    sys.exit(f"wasm/build.sh: the two free() methods not found in {path}")
src = src.replace(free, "    free() {\n        if (this.__wbg_ptr === 0) return;\n        const ptr = this.__destroy_into_raw();\n")
open(path, "w").write(src)
PY
done

# The Node build loads its JS snippets with require(): give it a CommonJS copy of each (the
# snippets are ES modules: `export function` declarations only, see wasm/js/build.js).
while IFS= read -r -d '' snippet; do
  names="$(sed -n 's/^export function \([A-Za-z0-9_]*\).*/\1/p' "$snippet" | paste -sd, -)"
  sed -i 's/^export function /function /' "$snippet"
  if grep -q '^export' "$snippet"; then
    log "error: $snippet has exports other than 'export function'"
    exit 1
  fi
  printf '\nmodule.exports = { %s };\n' "$names" >>"$snippet"
done < <(find "$pkg/node/snippets" -name '*.js' -print0)

# 4. Package metadata.
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
cat >"$pkg/package.json" <<EOF
{
  "name": "realm-metrics-wasm",
  "version": "$version",
  "description": "Decode StatsD (Etsy, Telegraf, DogStatsD) and recognise Realm Object Server metrics, in the browser and Node.js",
  "license": "Apache-2.0",
  "main": "./node/realm_metrics_wasm.js",
  "types": "./node/realm_metrics_wasm.d.ts",
  "browser": "./web/realm_metrics_wasm.js",
  "exports": {
    ".": {
      "node": {
        "types": "./node/realm_metrics_wasm.d.ts",
        "default": "./node/realm_metrics_wasm.js"
      },
      "default": {
        "types": "./web/realm_metrics_wasm.d.ts",
        "default": "./web/realm_metrics_wasm.js"
      }
    },
    "./web": {
      "types": "./web/realm_metrics_wasm.d.ts",
      "default": "./web/realm_metrics_wasm.js"
    },
    "./node": {
      "types": "./node/realm_metrics_wasm.d.ts",
      "default": "./node/realm_metrics_wasm.js"
    },
    "./web/realm_metrics_wasm_bg.wasm": "./web/realm_metrics_wasm_bg.wasm"
  },
  "files": ["web", "node", "README.md"],
  "sideEffects": false
}
EOF
# Each build's module type, for Node and bundlers that load a file of it directly (without one,
# Node warns about the web build's ES module syntax and parses it twice).
printf '{\n  "type": "module",\n  "sideEffects": false\n}\n' >"$pkg/web/package.json"
printf '{\n  "type": "commonjs",\n  "sideEffects": false\n}\n' >"$pkg/node/package.json"
cp "$here/README.md" "$pkg/README.md"

raw=$(stat -c %s "$pkg/web/realm_metrics_wasm_bg.wasm")
gz=$(gzip -9 -c "$pkg/web/realm_metrics_wasm_bg.wasm" | wc -c)
log "built $pkg (realm_metrics_wasm_bg.wasm: $raw bytes, $gz gzipped)"
if [ "$raw" -gt 102400 ]; then
  log "error: the .wasm is over 100 KB"
  exit 1
fi
