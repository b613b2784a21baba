#!/usr/bin/env bash
# Build and test the C ABI: header drift, C11 and C++17 tests (-Wall -Wextra -Wpedantic -Werror)
# under AddressSanitizer + UndefinedBehaviorSanitizer and once under valgrind, the CMake
# example through pkg-config, and the benchmark program (built, run briefly).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

echo "== header"
bash ffi-c/gen-header.sh --check

echo "== library"
cargo build -p realm-metrics-ffi --release
lib=$CARGO_TARGET_DIR/release
out=$CARGO_TARGET_DIR/ctest
mkdir -p "$out"
flags=(-Wall -Wextra -Wpedantic -Werror -g -O1 -I ffi-c/include -I tests/c)
libs=("$lib/librealm_metrics.a" -lpthread -ldl -lm)

echo "== C11 and C++17 under ASan+UBSan"
san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
cc -std=c11 "${flags[@]}" "${san[@]}" tests/c/test_ffi.c -o "$out/test_ffi_asan" "${libs[@]}" -lcjson
c++ -std=c++17 "${flags[@]}" "${san[@]}" tests/c/test_ffi.cpp -o "$out/test_ffi_cpp_asan" "${libs[@]}"
# The header alone must compile as C11 and C++17 with every warning.
echo '#include "realm_metrics.h"' > "$out/header_only.c"
cc -std=c11 "${flags[@]}" -fsyntax-only "$out/header_only.c"
c++ -std=c++17 -x c++ "${flags[@]}" -fsyntax-only "$out/header_only.c"
# Rust's allocator and threads are not instrumented; ASan's leak checker still sees the C side.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$out/test_ffi_asan" tests/vectors
ASAN_OPTIONS=detect_leaks=1 "$out/test_ffi_cpp_asan"

echo "== valgrind (no leaks, no errors)"
cc -std=c11 "${flags[@]}" tests/c/test_ffi.c -o "$out/test_ffi" "${libs[@]}" -lcjson
REALM_TEST_ITERATIONS=20000 REALM_TEST_SKIP_FORK=1 valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --error-exitcode=1 "$out/test_ffi" tests/vectors

echo "== CMake example via pkg-config"
prefix=$out/install
bash ffi-c/install.sh "$prefix" > /dev/null
rm -rf "$out/cmake-example"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig cmake -S ffi-c/examples/cmake -B "$out/cmake-example" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$out/cmake-example" > /dev/null
"$out/cmake-example/count_connections"

echo "== benchmark program (short run)"
cc -std=c11 -O2 -Wall -Wextra -Werror -I ffi-c/include ffi-c/bench/bench_increment.c -o "$out/bench_increment" "${libs[@]}"
"$out/bench_increment" 2000000
