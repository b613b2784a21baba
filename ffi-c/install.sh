#!/usr/bin/env bash
# Build the C library and install it under PREFIX (default /usr/local): header, static library,
# pkg-config module and CMake package. With --shared, also librealm_metrics_shared.so.
#   ffi-c/install.sh [--shared] [PREFIX]
# The same as `cmake -S ffi-c -B <dir> && cmake --build <dir> && cmake --install <dir> --prefix P`
# (ffi-c/CMakeLists.txt drives cargo); the CMake build directory is kept under cargo's target
# directory, so a second install rebuilds nothing. Needs cargo, CMake >= 3.18 and a C compiler.
set -euo pipefail
shared=OFF
if [[ ${1:-} == --shared ]]; then
  shared=ON
  shift
fi
if [[ $# -gt 1 || ${1:-} == -* ]]; then
  echo "usage: $0 [--shared] [PREFIX]" >&2
  exit 2
fi
prefix=$(realpath -m -- "${1:-/usr/local}") # before the cd: a relative PREFIX means the caller's
cd "$(dirname "$0")/.."
target=$(realpath -m -- "${CARGO_TARGET_DIR:-$PWD/target}")
build=$target/ffi-c-cmake
cmake -S ffi-c -B "$build" -DREALM_METRICS_INSTALL_SHARED="$shared" -DREALM_METRICS_CARGO_TARGET_DIR="$target"
cmake --build "$build"
cmake --install "$build" --prefix "$prefix"
echo "installed realm_metrics under $prefix"
