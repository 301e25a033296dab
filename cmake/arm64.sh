#!/usr/bin/env bash
# linux-arm64 cross build and its tests under user-mode QEMU (called by build.sh).
#
#   cmake/arm64.sh arm64        cross-build the native library, native tests and the
#                               end-to-end driver; copy the library to
#                               artifacts/native/linux-arm64/libfasternet.so
#   cmake/arm64.sh test-arm64   arm64, then CTest under qemu-aarch64 and the end-to-end
#                               check (tests/fixtures tiny/ and t0/) against PyTorch
#
# The end-to-end check needs the fixture checkpoints as safetensors: they are converted
# from the .pth files with artifacts/bin/fasternet (./build.sh builds it) when it exists,
# or taken from $FASTERNET_E2E_WEIGHTS_DIR/{tiny,odd,backbone,t0}.safetensors; a check
# without weights is reported as SKIP. FASTERNET_ARM64_CTEST_EXCLUDE: a CTest regex of
# tests to leave out under QEMU.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$ROOT/build/arm64"
GTEST_BUILD="$ROOT/build/arm64-googletest"
GTEST_PREFIX="$GTEST_BUILD/install"
TOOLCHAIN="$ROOT/cmake/toolchains/aarch64-linux-gnu.cmake"
OUT="$ROOT/artifacts/native/linux-arm64"
FIXTURES="$ROOT/tests/fixtures/tiny"
T0_FIXTURES="$ROOT/tests/fixtures/t0"
SYSROOT=/usr/aarch64-linux-gnu
JOBS=2
# CTest regex of tests to leave out under QEMU (about 10x slower than native). Empty:
# the whole native suite takes about a minute under QEMU today; if tests that run
# full-size models join it, list them here (the end-to-end check covers the network).
QEMU_EXCLUDED_TESTS="${FASTERNET_ARM64_CTEST_EXCLUDE:-}"

source "$ROOT/cmake/common.sh"

# Debian's libgtest-dev holds host (x86-64) libraries only: build GoogleTest from
# Debian's source for the target, once.
build_googletest() {
  if [ -f "$GTEST_PREFIX/lib/cmake/GTest/GTestConfig.cmake" ]; then return; fi
  log "GoogleTest for aarch64 (from /usr/src/googletest)"
  cmake -S /usr/src/googletest -B "$GTEST_BUILD" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_GMOCK=OFF -DINSTALL_GTEST=ON -DCMAKE_INSTALL_PREFIX="$GTEST_PREFIX" >/dev/null
  cmake --build "$GTEST_BUILD" -j"$JOBS" >/dev/null
  cmake --install "$GTEST_BUILD" >/dev/null
}

# The driver is part of the main build once native/CMakeLists.txt adds tests/e2e;
# until then it is built standalone against the cross-built library.
E2E_DRIVER=""
build_e2e_driver() {
  if [ -x "$BUILD/native/tests/e2e/fasternet_run_fixture" ]; then
    E2E_DRIVER="$BUILD/native/tests/e2e/fasternet_run_fixture"
    return
  fi
  log "end-to-end driver (standalone against build/arm64's library)"
  cmake -S "$ROOT/native/tests/e2e" -B "$BUILD/e2e-standalone" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
    -DCMAKE_BUILD_TYPE=Release -DFASTERNET_LIBRARY="$BUILD/native/libfasternet.so" >/dev/null
  cmake --build "$BUILD/e2e-standalone" -j"$JOBS"
  E2E_DRIVER="$BUILD/e2e-standalone/fasternet_run_fixture"
}

build_arm64() {
  ensure_apt cmake make g++-aarch64-linux-gnu qemu-user file googletest
  build_googletest
  log "native library and tests for linux-arm64 (Release, NEON kernels)"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Release \
    -DFASTERNET_BUILD_TESTS=ON -DFASTERNET_BUILD_BENCHMARKS=OFF \
    -DGTest_DIR="$GTEST_PREFIX/lib/cmake/GTest" >/dev/null
  cmake --build "$BUILD" -j"$JOBS"
  build_e2e_driver
  mkdir -p "$OUT"
  cp "$BUILD/native/libfasternet.so" "$OUT/libfasternet.so"
  local description
  description="$(file -b "$OUT/libfasternet.so")"
  echo "artifacts/native/linux-arm64/libfasternet.so: $description"
  case "$description" in
    *"ARM aarch64"*) ;;
    *) echo "error: the library is not an AArch64 binary" >&2; exit 1 ;;
  esac
}

# Results of the test-arm64 steps, printed at the end.
SUMMARY=()
FAILED=0
record() {  # record <status 0/1/skip> <text>
  case "$1" in
    0) SUMMARY+=("PASS  $2") ;;
    skip) SUMMARY+=("SKIP  $2") ;;
    *) SUMMARY+=("FAIL  $2"); FAILED=1 ;;
  esac
}

run_ctest() {
  log "native tests under qemu-aarch64 (CTest)"
  local ctest_log="$BUILD/ctest.log" status=0
  # Unset so the tests' own thread counts (1 and 2) apply.
  local exclude=()
  [ -z "$QEMU_EXCLUDED_TESTS" ] || exclude=(-E "$QEMU_EXCLUDED_TESTS")
  env -u OMP_NUM_THREADS ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" --timeout 900 \
    "${exclude[@]}" 2>&1 | tee "$ctest_log" || status=1
  local line
  line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$ctest_log" | tail -1 || true)"
  if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    local failed="${BASH_REMATCH[1]}" total="${BASH_REMATCH[2]}" skipped
    skipped="$(grep -c '\*\*\*Skipped' "$ctest_log" || true)"
    line="$((total - failed - skipped)) passed, $skipped skipped (kernel sets this CPU cannot run), $failed failed"
    [ "$failed" -eq 0 ] || status=1
  else
    line="CTest printed no summary"
    status=1
  fi
  record "$status" "CTest under qemu-aarch64: $line"
}

# weights_for <name> <pth>: prints the safetensors path for a fixture, converting it when
# possible. Returns 1 when no weights are available, 2 when the conversion failed.
weights_for() {
  local name="$1" pth="$2"
  if [ -n "${FASTERNET_E2E_WEIGHTS_DIR:-}" ] && [ -f "$FASTERNET_E2E_WEIGHTS_DIR/$name.safetensors" ]; then
    echo "$FASTERNET_E2E_WEIGHTS_DIR/$name.safetensors"
    return 0
  fi
  local cli="$ROOT/artifacts/bin/fasternet" out="$BUILD/$name.safetensors"
  [ -x "$cli" ] || return 1
  "$cli" convert --input "$pth" --output "$out" >&2 || return 2
  echo "$out"
}

# run_fixture <label> <config> <weights name> <pth> <input> <expected...>
run_fixture() {
  local label="$1" config="$2" name="$3" pth="$4" input="$5"
  shift 5
  local weights found=0
  weights="$(weights_for "$name" "$pth")" || found=$?
  if ((found == 1)) && [ "${CI:-}" = "true" ]; then
    record 1 "end-to-end $label: no artifacts/bin/fasternet to convert $pth (CI runs ./build.sh first)"
    return
  elif ((found == 1)); then
    record skip "end-to-end $label: no $name.safetensors (build artifacts/bin/fasternet with ./build.sh, or set FASTERNET_E2E_WEIGHTS_DIR)"
    return
  elif ((found != 0)); then
    record 1 "end-to-end $label: converting $pth with artifacts/bin/fasternet failed"
    return
  fi
  local expected=()
  for e in "$@"; do expected+=(--expected "$e"); done
  log "end-to-end under qemu-aarch64: $label"
  local status=0
  env -u OMP_NUM_THREADS qemu-aarch64 -L "$SYSROOT" "$E2E_DRIVER" --kernels neon --threads 1,2 \
    --config "$config" --weights "$weights" --input "$input" "${expected[@]}" || status=1
  record "$status" "end-to-end $label (NEON, 1 and 2 threads, vs PyTorch)"
}

test_arm64() {
  build_arm64
  run_ctest
  run_fixture "tiny 2x3x32x32" "$FIXTURES/config.json" tiny "$FIXTURES/weights.pth" \
    "$FIXTURES/input_2x3x32x32.npy" "$FIXTURES/logits_2x3x32x32.npy"
  run_fixture "tiny 1x3x40x56" "$FIXTURES/config.json" tiny "$FIXTURES/weights.pth" \
    "$FIXTURES/input_1x3x40x56.npy" "$FIXTURES/logits_1x3x40x56.npy"
  run_fixture "odd config 2x1x45x53" "$FIXTURES/odd_config.json" odd "$FIXTURES/odd_weights.pth" \
    "$FIXTURES/odd_input_2x1x45x53.npy" "$FIXTURES/odd_logits_2x1x45x53.npy"
  run_fixture "backbone 2x3x32x32" "$FIXTURES/backbone_config.json" backbone "$FIXTURES/backbone_weights.pth" \
    "$FIXTURES/input_2x3x32x32.npy" "$FIXTURES"/features_{0,1,2,3}_2x3x32x32.npy
  # The real network size once (about a minute under QEMU): FasterNet-T0, fp16 checkpoint.
  run_fixture "FasterNet-T0 2x3x224x224" "$T0_FIXTURES/config.json" t0 "$T0_FIXTURES/weights.pth" \
    "$T0_FIXTURES/input_2x3x224x224.npy" "$T0_FIXTURES/logits_2x3x224x224.npy"

  log "summary (linux-arm64 under qemu-aarch64)"
  printf '%s\n' "${SUMMARY[@]}"
  if ((FAILED)); then
    echo "test-arm64: FAILED"
    return 1
  fi
  echo "test-arm64: passed"
}

case "${1:-}" in
  arm64) build_arm64 ;;
  test-arm64) test_arm64 ;;
  *) echo "usage: $0 arm64|test-arm64" >&2; exit 2 ;;
esac
