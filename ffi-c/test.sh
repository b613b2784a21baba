#!/usr/bin/env bash
# Build and test the C ABI: header drift, C11 and C++17 tests (-Wall -Wextra -Wpedantic -Werror)
# under AddressSanitizer + UndefinedBehaviorSanitizer and once under valgrind, the install (into
# a temporary prefix) with programs built against it through find_package and pkg-config --static
# that send to a real UDP receiver, and the benchmark program (built, run briefly).
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

echo "== install into a temporary prefix: CMake package and pkg-config (tests/c/*-consumer)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
# --shared too, to show that -lrealm_metrics and realm_metrics::realm_metrics still mean the
# static library when the shared one sits beside it. Reuses target/release (built above).
bash ffi-c/install.sh --shared "$prefix" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
(cd "$prefix" && find . -type f | sort) > "$tmp/tree"
diff -u - "$tmp/tree" <<'TREE'
./include/realm_metrics.h
./lib/cmake/realm_metrics/realm_metricsConfig.cmake
./lib/cmake/realm_metrics/realm_metricsConfigVersion.cmake
./lib/librealm_metrics.a
./lib/librealm_metrics_shared.so
./lib/pkgconfig/realm_metrics.pc
./lib/pkgconfig/realm_metrics_shared.pc
TREE
cmake -DCONFIG_DIR="$prefix/lib/cmake/realm_metrics" -P tests/c/cmake-consumer/check_version.cmake
receive=(python3 tests/c/cmake-consumer/receive_and_check.py)
# The program carries realm_metrics itself (its symbols defined, no librealm_metrics*.so needed).
check_static() {
  if ldd "$1" | grep realm_metrics; then echo "FAIL: $1 needs a realm_metrics shared library" >&2; exit 1; fi
  nm "$1" | grep ' T realm_metrics_new$' > /dev/null || { echo "FAIL: realm_metrics_new not linked into $1" >&2; exit 1; }
}
check_shared() {
  ldd "$1" | grep "librealm_metrics_shared.so => $prefix/lib/librealm_metrics_shared.so" > /dev/null \
    || { ldd "$1"; echo "FAIL: $1 does not load $prefix/lib/librealm_metrics_shared.so" >&2; exit 1; }
}

echo "-- (a) CMake: find_package(realm_metrics 0.1), realm_metrics::realm_metrics and ::shared"
cmake -S tests/c/cmake-consumer -B "$tmp/cmake-consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_SHARED=ON \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" > "$tmp/cmake.log" || { cat "$tmp/cmake.log"; exit 1; }
cmake --build "$tmp/cmake-consumer" > "$tmp/cmake-build.log" || { cat "$tmp/cmake-build.log"; exit 1; }
check_static "$tmp/cmake-consumer/consumer"
check_shared "$tmp/cmake-consumer/consumer_shared"
"${receive[@]}" consumer.cmake "$tmp/cmake-consumer/consumer"
"${receive[@]}" consumer.cmake_shared "$tmp/cmake-consumer/consumer_shared"

echo "-- (b) pkg-config --static (Makefile)"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
static_libs=$(pkg-config --static --libs realm_metrics)
[[ $static_libs == "-L$prefix/lib -lrealm_metrics -l"* ]] || { echo "FAIL: pkg-config --static --libs: $static_libs" >&2; exit 1; }
mkdir -p "$tmp/pkgconfig-consumer"
make -s -C "$tmp/pkgconfig-consumer" -f "$root/tests/c/pkgconfig-consumer/Makefile" consumer consumer_shared
check_static "$tmp/pkgconfig-consumer/consumer"
check_shared "$tmp/pkgconfig-consumer/consumer_shared"
"${receive[@]}" consumer.pkgconfig "$tmp/pkgconfig-consumer/consumer"
"${receive[@]}" consumer.pkgconfig_shared "$tmp/pkgconfig-consumer/consumer_shared"
unset PKG_CONFIG_PATH

echo "-- the README's CMake example"
cmake -S ffi-c/examples/cmake -B "$tmp/example" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$tmp/example" > /dev/null
check_static "$tmp/example/count_connections"
python3 -c 'import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
sys.exit(subprocess.call([sys.argv[1], str(s.getsockname()[1])]))' "$tmp/example/count_connections"

# The install derives the system libraries from an empty static library (no cargo rebuild); the
# library itself must need no other: compare with what rustc says for realm-metrics-ffi. (This
# recompiles the ffi crate alone, about a second.)
echo "-- native static libs: installed == cargo rustc -p realm-metrics-ffi --print native-static-libs"
cargo rustc -p realm-metrics-ffi --release --lib -- --print native-static-libs > "$tmp/rustc.log" 2>&1 \
  || { cat "$tmp/rustc.log"; exit 1; }
native=$(sed -n 's/.*native-static-libs: //p' "$tmp/rustc.log")
[[ -n $native ]] || { echo "FAIL: cargo rustc printed no native-static-libs" >&2; exit 1; }
want=$(tr ' ' '\n' <<< "$native" | grep . | sort -u)
got=$(sed -n 's/^Libs.private: //p' "$prefix/lib/pkgconfig/realm_metrics.pc" | tr ' ' '\n' | grep . | sort -u)
[[ $want == "$got" ]] || { echo "FAIL: the crate needs [$native], the install says [$got]" >&2; exit 1; }

echo "== benchmark program (short run)"
cc -std=c11 -O2 -Wall -Wextra -Werror -I ffi-c/include ffi-c/bench/bench_increment.c -o "$out/bench_increment" "${libs[@]}"
"$out/bench_increment" 2000000
