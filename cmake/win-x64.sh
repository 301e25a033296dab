#!/usr/bin/env bash
# Windows x64 cross build with mingw-w64 and its tests under wine64 (called by build.sh).
#
#   cmake/win-x64.sh win-x64        cross-build libfasternet.dll (static libstdc++/libgomp: imports
#                                   only system DLLs), the native tests and the end-to-end driver;
#                                   copy the DLL to artifacts/native/win-x64/libfasternet.dll
#   cmake/win-x64.sh test-win-x64   win-x64, then CTest under wine64 and the end-to-end check against
#                                   PyTorch (tests/fixtures tiny/ and t0/) with every kernel set this
#                                   CPU has
#
# The end-to-end check needs the fixture checkpoints as safetensors, converted from the .pth files
# with artifacts/bin/fasternet (./build.sh builds it). Wine runs in its own prefix under build/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$ROOT/build/win-x64"
GTEST_BUILD="$ROOT/build/win-x64-googletest"
GTEST_PREFIX="$GTEST_BUILD/install"
TOOLCHAIN="$ROOT/cmake/toolchains/x86_64-w64-mingw32.cmake"
OUT="$ROOT/artifacts/native/win-x64"
JOBS=2

source "$ROOT/cmake/common.sh"
source "$ROOT/cmake/wine.sh"

build_googletest() {
  if [ -f "$GTEST_PREFIX/lib/cmake/GTest/GTestConfig.cmake" ]; then return; fi
  log "GoogleTest for x86_64-w64-mingw32 (from /usr/src/googletest)"
  cmake -S /usr/src/googletest -B "$GTEST_BUILD" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_GMOCK=OFF -DINSTALL_GTEST=ON -Dgtest_disable_pthreads=OFF -DCMAKE_INSTALL_PREFIX="$GTEST_PREFIX" >/dev/null
  cmake --build "$GTEST_BUILD" -j"$JOBS" >/dev/null
  cmake --install "$GTEST_BUILD" >/dev/null
}

# The DLL may import system DLLs only: anything else would have to be shipped beside it.
check_imports() {
  local dll="$1" imports
  imports="$(x86_64-w64-mingw32-objdump -p "$dll" | sed -n 's/^\s*DLL Name: //p' | sort -u | tr '\n' ' ')"
  echo "$(basename "$dll") imports: $imports"
  for name in $imports; do
    case "${name,,}" in
      kernel32.dll|msvcrt.dll|advapi32.dll|user32.dll|ws2_32.dll|api-ms-win-*) ;;
      *) echo "error: $(basename "$dll") imports $name, which Windows does not provide" >&2; exit 1 ;;
    esac
  done
}

build_win_x64() {
  ensure_apt cmake make g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 wine64 file googletest
  build_googletest
  log "native library and tests for win-x64 (Release, mingw-w64, static runtime)"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Release \
    -DFASTERNET_BUILD_TESTS=ON -DFASTERNET_BUILD_BENCHMARKS=OFF \
    -DGTest_DIR="$GTEST_PREFIX/lib/cmake/GTest" >/dev/null
  cmake --build "$BUILD" -j"$JOBS"
  mkdir -p "$OUT"
  cp "$BUILD/native/libfasternet.dll" "$OUT/libfasternet.dll"
  local description
  description="$(file -b "$OUT/libfasternet.dll")"
  echo "artifacts/native/win-x64/libfasternet.dll: $description"
  case "$description" in
    *"PE32+ executable (DLL)"*"x86-64"*) ;;
    *) echo "error: the library is not an x86-64 Windows DLL" >&2; exit 1 ;;
  esac
  check_imports "$OUT/libfasternet.dll"
}

SUMMARY=()
FAILED=0
record() {  # record <status 0/1> <text>
  if [ "$1" = 0 ]; then SUMMARY+=("PASS  $2"); else SUMMARY+=("FAIL  $2"); FAILED=1; fi
}

# Every native test, in one wine64 process: under CTest each of the ~120 tests is a process of its own, and
# a wine64 start costs seconds (about 8 minutes in all on 2 cores). FASTERNET_WIN_CTEST=1 runs CTest instead.
run_native_tests() {
  local log_file="$BUILD/native-tests.log" status=0
  if [ "${FASTERNET_WIN_CTEST:-0}" = 1 ]; then
    log "native tests under wine64 (CTest)"
    env -u OMP_NUM_THREADS ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" --timeout 900 2>&1 \
      | tee "$log_file" || status=1
    local line
    line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log_file" | tail -1 || true)"
    [ -n "$line" ] || { line="CTest printed no summary"; status=1; }
    record "$status" "CTest under wine64: $line"
    return
  fi
  log "native tests under wine64 (the GoogleTest suite CTest runs, in one process)"
  env -u OMP_NUM_THREADS "$WINE64" "$BUILD/native/tests/fasternet_native_tests.exe" --gtest_brief=1 2>&1 \
    | tee "$log_file" || status=1
  local passed skipped failed
  passed="$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log_file" | tail -1)"
  skipped="$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log_file" | tail -1)"
  failed="$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log_file" | tail -1)"
  if [ -z "$passed" ]; then
    record 1 "native tests under wine64: no GoogleTest summary"
    return
  fi
  [ -z "$failed" ] || status=1
  record "$status" "native tests under wine64: $passed passed, ${skipped:-0} skipped (kernel sets this CPU cannot run), ${failed:-0} failed"
}

# The kernel sets this CPU runs, as the native tests' dispatch sees them (reference always).
kernel_sets() {
  local sets="reference"
  grep -q ' avx2 ' /proc/cpuinfo && grep -q ' fma ' /proc/cpuinfo && sets+=" avx2"
  grep -q ' avx512f ' /proc/cpuinfo && grep -q ' avx512bw ' /proc/cpuinfo && sets+=" avx512"
  echo "$sets"
}

# run_fixture <label> <config> <name> <pth> <input> <expected...>
run_fixture() {
  local label="$1" config="$2" name="$3" pth="$4" input="$5"
  shift 5
  local cli="$ROOT/artifacts/bin/fasternet" weights="$BUILD/$name.safetensors"
  if [ ! -x "$cli" ]; then
    record 1 "end-to-end $label: no artifacts/bin/fasternet to convert $pth (run ./build.sh first)"
    return
  fi
  "$cli" convert --input "$pth" --output "$weights" >/dev/null || { record 1 "end-to-end $label: converting $pth failed"; return; }
  local expected=()
  for e in "$@"; do expected+=(--expected "$(winpath "$e")"); done
  local sets
  for set in $(kernel_sets); do
    log "end-to-end under wine64: $label, $set"
    local status=0
    env -u OMP_NUM_THREADS "$WINE64" "$BUILD/native/tests/e2e/fasternet_run_fixture.exe" --kernels "$set" --threads 1,2 \
      --config "$(winpath "$config")" --weights "$(winpath "$weights")" --input "$(winpath "$input")" "${expected[@]}" \
      || status=1
    record "$status" "end-to-end $label ($set, 1 and 2 threads, vs PyTorch)"
  done
}

test_win_x64() {
  build_win_x64
  wine_prefix_init
  # The driver links the DLL, as an application would: put it beside the driver.
  cp "$BUILD/native/libfasternet.dll" "$BUILD/native/tests/e2e/"
  run_native_tests
  local tiny="$ROOT/tests/fixtures/tiny" t0="$ROOT/tests/fixtures/t0"
  run_fixture "tiny 2x3x32x32" "$tiny/config.json" tiny "$tiny/weights.pth" \
    "$tiny/input_2x3x32x32.npy" "$tiny/logits_2x3x32x32.npy"
  run_fixture "odd config 2x1x45x53" "$tiny/odd_config.json" odd "$tiny/odd_weights.pth" \
    "$tiny/odd_input_2x1x45x53.npy" "$tiny/odd_logits_2x1x45x53.npy"
  run_fixture "backbone 2x3x32x32" "$tiny/backbone_config.json" backbone "$tiny/backbone_weights.pth" \
    "$tiny/input_2x3x32x32.npy" "$tiny"/features_{0,1,2,3}_2x3x32x32.npy
  run_fixture "FasterNet-T0 2x3x224x224" "$t0/config.json" t0 "$t0/weights.pth" \
    "$t0/input_2x3x224x224.npy" "$t0/logits_2x3x224x224.npy"

  log "summary (win-x64 under wine64)"
  printf '%s\n' "${SUMMARY[@]}"
  if ((FAILED)); then
    echo "test-win-x64 (native): FAILED"
    return 1
  fi
  echo "test-win-x64 (native): passed"
}

case "${1:-}" in
  win-x64) build_win_x64 ;;
  test-win-x64) test_win_x64 ;;
  *) echo "usage: $0 win-x64|test-win-x64" >&2; exit 2 ;;
esac
