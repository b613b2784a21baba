#!/usr/bin/env bash
# Packs the npm tarballs users install, in napi-rs's release layout (see npm/README.md):
#   realm-metrics-<version>.tgz             the JavaScript package: lib/, the generated loader
#                                           index.js, index.d.ts, README, LICENSE; no .node. Its
#                                           optionalDependencies name the platform packages packed
#                                           with it, at the same version.
#   realm-metrics-<platform>-<version>.tgz  one per built target: the prebuilt .node, its
#                                           package.json (os/cpu/libc/main) and README.
# The work happens in a temporary copy of the package (the source tree is not modified), with
# the napi CLI's own commands, run through its API in one process:
#   create-npm-dirs  writes npm/<platform>/; the committed node/npm/ must equal it (drift check)
#   artifacts        copies each built .node into its npm/<platform>/
#   pre-publish      writes the main package's optionalDependencies; nothing is published
#                    (skipOptionalPublish, no GitHub release)
# then `npm pack`, platform packages first.
#
# Usage: bash node/pack.sh [--out DIR] [--artifacts DIR] [--musl]
#   --out DIR        where the tarballs go (default: a new temporary directory); the last line of
#                    the output is that directory
#   --artifacts DIR  take the .node files from DIR (realm-metrics.<platform>.node, as a CI build
#                    matrix uploads them) instead of the host build that
#                    `napi build --platform --release` left in node/
#   --musl           also build x86_64-unknown-linux-musl (needs `rustup target add
#                    x86_64-unknown-linux-musl` and musl-gcc, from Debian's musl-tools) and pack it
# Every target of napi.targets that has an artifact is packed; the others are left out of the
# tarballs and of optionalDependencies.
set -euo pipefail

NODE_DIR="$(cd "$(dirname "$0")" && pwd)"
NAPI="$NODE_DIR/node_modules/.bin/napi"
OUT=""
ARTIFACTS_FROM=""
MUSL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --artifacts) ARTIFACTS_FROM="$2"; shift 2 ;;
    --musl) MUSL=1; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "pack.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$NAPI" ] || { echo "pack.sh: $NAPI not found: run npm ci in node/ first" >&2; exit 1; }
if [ -z "$OUT" ]; then OUT="$(mktemp -d "${TMPDIR:-/tmp}/realm-metrics-pack.XXXXXX")"; fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/realm-metrics-stage.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
PKG="$STAGE/realm-metrics"
ART="$PKG/artifacts"
mkdir -p "$PKG" "$ART"

# 1. The main package: package.json and what its "files" lists, plus the repository's LICENSE.
cp "$NODE_DIR/package.json" "$PKG/"
node -e 'for (const f of require(process.argv[1]).files) console.log(f)' "$NODE_DIR/package.json" |
  while IFS= read -r f; do
    f="${f%/}"
    [ -e "$NODE_DIR/$f" ] || { echo "pack.sh: package.json \"files\" lists $f, which is missing" >&2; exit 1; }
    cp -R "$NODE_DIR/$f" "$PKG/$f"
  done
if [ -f "$NODE_DIR/../LICENSE" ]; then cp "$NODE_DIR/../LICENSE" "$PKG/LICENSE"; fi

# 2. The artifacts: the host build in node/ (or --artifacts DIR), and musl when asked.
if [ -n "$ARTIFACTS_FROM" ]; then
  cp "$ARTIFACTS_FROM"/realm-metrics.*.node "$ART/"
else
  host="$(node -p '
    const p = process.platform;
    const abi = p === "linux" ? (process.report.getReport().header.glibcVersionRuntime ? "-gnu" : "-musl")
      : p === "win32" ? "-msvc" : "";
    `${p}-${process.arch}${abi}`')"
  host_node="$NODE_DIR/realm-metrics.$host.node"
  [ -f "$host_node" ] || {
    echo "pack.sh: $host_node not found: run npx napi build --platform --release in node/ first" >&2
    exit 1
  }
  cp "$host_node" "$ART/"
fi
if [ "$MUSL" = 1 ]; then
  # napi build adds -C target-feature=-crt-static for musl targets itself: a cdylib links musl's
  # libc.so dynamically. The linker is musl-gcc. Rust's unwinder for dynamic musl is -lgcc_s,
  # which musl-gcc cannot find (a glibc host has no musl libgcc_s); a linker script named
  # libgcc_s.so points it at the musl libunwind.a that rustup ships for this target, the one
  # static musl builds link, so the .node needs nothing but libc.so. The shim's path is stable
  # (under the target dir), so RUSTFLAGS stay the same and cargo reuses the previous build.
  musl=x86_64-unknown-linux-musl
  if [ -z "${CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER:-}" ]; then
    command -v musl-gcc >/dev/null ||
      { echo "pack.sh: --musl needs musl-gcc (apt-get install musl-tools)" >&2; exit 1; }
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=musl-gcc
  fi
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd "$NODE_DIR/.." && pwd)/target}"
  unwind="$(cd "$NODE_DIR" && rustc --print sysroot)/lib/rustlib/$musl/lib/self-contained/libunwind.a"
  [ -f "$unwind" ] || { echo "pack.sh: $unwind not found: rustup target add $musl" >&2; exit 1; }
  shim="$CARGO_TARGET_DIR/$musl/gcc_s-shim"
  mkdir -p "$shim"
  echo "INPUT($unwind)" > "$shim/libgcc_s.so.new"
  if cmp -s "$shim/libgcc_s.so.new" "$shim/libgcc_s.so"; then rm "$shim/libgcc_s.so.new"
  else mv "$shim/libgcc_s.so.new" "$shim/libgcc_s.so"; fi
  (cd "$NODE_DIR" && RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-L native=$shim" \
     "$NAPI" build --platform --release --target "$musl" --output-dir "$STAGE/musl" --no-js)
  cp "$STAGE/musl/realm-metrics.linux-x64-musl.node" "$ART/"
fi
# Release builds keep line tables (workspace profile: debug = 1); what ships is stripped, as
# `napi build --strip` would do (without rebuilding the workspace under other RUSTFLAGS).
if command -v strip >/dev/null; then
  for f in "$ART"/realm-metrics.linux-*.node; do
    if [ -e "$f" ]; then strip --strip-unneeded "$f"; fi
  done
fi

# 3. create-npm-dirs, the drift check, artifacts and pre-publish, in the staged copy. The napi
#    config given to artifacts and pre-publish lists the napi.targets that have an artifact.
#    (Run from node/, where @napi-rs/cli resolves.)
(cd "$NODE_DIR" && node --input-type=module - "$PKG" "$NODE_DIR/npm" > "$STAGE/dirs") <<'EOF'
import { NapiCli, readNapiConfig } from '@napi-rs/cli';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [pkg, committedNpm] = process.argv.slice(2);
// The CLI logs each file it writes; keep those lines out of the way unless something fails.
const log = [];
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    log.push(String(chunk));
    rest.find((a) => typeof a === 'function')?.();
    return true;
  };
  stream.restore = write;
}
const say = (s) => process.stdout.restore(s + '\n');
const fail = (msg) => {
  process.stderr.restore(log.join('') + '\npack.sh: ' + msg + '\n');
  process.exit(1);
};
try {
  const cli = new NapiCli();
  await cli.createNpmDirs({ cwd: pkg });
  const { targets, binaryName } = await readNapiConfig(join(pkg, 'package.json'));
  for (const t of targets) {
    for (const f of ['package.json', 'README.md']) {
      const committed = join(committedNpm, t.platformArchABI, f);
      const generated = join(pkg, 'npm', t.platformArchABI, f);
      if (!existsSync(committed) || readFileSync(committed, 'utf8') !== readFileSync(generated, 'utf8')) {
        fail(`node/npm/${t.platformArchABI}/${f} differs from what napi create-npm-dirs writes:\n` +
          `  run npx napi create-npm-dirs in node/ and commit node/npm/`);
      }
    }
  }
  const built = targets.filter((t) => existsSync(join(pkg, 'artifacts', `${binaryName}.${t.platformArchABI}.node`)));
  const known = new Set(targets.map((t) => `${binaryName}.${t.platformArchABI}.node`));
  const stray = readdirSync(join(pkg, 'artifacts')).filter((f) => !known.has(f));
  if (stray.length) fail(`artifacts for no target of napi.targets: ${stray.join(', ')}`);
  if (!built.length) fail('no artifact to pack');
  const configPath = join(pkg, '..', 'napi.pack.json');
  writeFileSync(configPath, JSON.stringify({ targets: built.map((t) => t.triple) }) + '\n');
  // Both commands warn that this config overrides package.json's napi field: that is the point.
  await cli.artifacts({ cwd: pkg, configPath, outputDir: 'artifacts' });
  await cli.prePublish({ cwd: pkg, configPath, tagStyle: 'npm', skipOptionalPublish: true, ghRelease: false });
  // artifacts also copies each .node to the package root; "files" leaves it out anyway.
  for (const t of built) rmSync(join(pkg, `${binaryName}.${t.platformArchABI}.node`), { force: true });
  for (const t of built) say(t.platformArchABI);
} catch (e) {
  fail(e && e.stack ? e.stack : String(e));
}
EOF

# 4. npm pack: the platform packages, then the main one.
pack() { (cd "$1" && npm pack --pack-destination "$OUT" --loglevel=error --no-update-notifier >/dev/null); }
while IFS= read -r platform; do pack "$PKG/npm/$platform"; done < "$STAGE/dirs"
pack "$PKG"

echo "tarballs:"
for f in "$OUT"/*.tgz; do printf '  %-42s %9d bytes\n' "$(basename "$f")" "$(stat -c %s "$f")"; done
echo "$OUT"
