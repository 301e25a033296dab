#!/usr/bin/env bash
# ./build.sh test-sanitize: the native library and tests under sanitizers.
#  1. build/sanitize (clang-14, AddressSanitizer + UndefinedBehaviorSanitizer, LeakSanitizer at exit):
#     every CTest case, then the end-to-end PyTorch fixtures through the shared library
#     (fasternet_run_fixture, every kernel set this CPU runs, 1 and 2 threads).
#  2. build/tsan (clang-14, ThreadSanitizer; libomp's Archer tool tells it about OpenMP's barriers):
#     the threaded tests (concurrent callers, thread counts, mixed shapes).
# Ends with "N passed, N failed, N skipped"; exits 1 on any failure or sanitizer report.
# Needs artifacts/bin/fasternet (./build.sh) to convert the .pth fixtures to safetensors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/cmake/common.sh"
JOBS="$(nproc 2>/dev/null || echo 2)"
ASAN_BUILD="$ROOT/build/sanitize"
TSAN_BUILD="$ROOT/build/tsan"
RESULTS="$ROOT/build/sanitize-results"
FIXTURES="$ROOT/tests/fixtures/tiny"
T0_FIXTURES="$ROOT/tests/fixtures/t0"
# The tests whose point is several threads at once.
THREADED_FILTER='*Threaded*:*Concurrent*:*TwoThreads*:*ThreadCounts*'

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$ROOT/cmake/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/cmake/tsan.supp"

passed=0 failed=0 skipped=0
count() {  # count <passed> <failed> <skipped> <label>
  passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + $3))
  echo "$4: $1 passed, $2 failed, $3 skipped"
}

xml_count() {
  local tag
  tag="$(tr "\n\t" "  " <"$1" | grep -o "<$2 [^>]*>" | head -1)"
  if [[ $tag =~ \ $3=\"([0-9]+)\" ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}

configure() {  # configure <dir> <sanitizers> [extra cmake args]
  local dir="$1" sanitizers="$2"
  shift 2
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DFASTERNET_SANITIZE="$sanitizers" -DFASTERNET_BUILD_BENCHMARKS=OFF "$@" >/dev/null
}

asan_tests() {
  log "AddressSanitizer + UndefinedBehaviorSanitizer build (clang-14) in build/sanitize"
  # FASTERNET_BUILD_FUZZERS adds libFuzzer's coverage hooks so fuzz/run.sh reuses this tree.
  configure "$ASAN_BUILD" address,undefined -DFASTERNET_BUILD_FUZZERS=ON
  local t0=$SECONDS
  cmake --build "$ASAN_BUILD" -j"$JOBS" --target fasternet_native_tests fasternet_run_fixture
  echo "ASan + UBSan build: $((SECONDS - t0))s"
  t0=$SECONDS

  log "CTest under ASan + UBSan"
  local junit="$RESULTS/ctest-asan.xml"
  ctest --test-dir "$ASAN_BUILD" --output-on-failure -j"$JOBS" --timeout 1200 --output-junit "$junit" || true
  if [ -f "$junit" ]; then
    local total f s
    total="$(xml_count "$junit" testsuite tests)"
    f="$(xml_count "$junit" testsuite failures)"
    s=$(( $(xml_count "$junit" testsuite skipped) + $(xml_count "$junit" testsuite disabled) ))
    count $((total - f - s)) "$f" "$s" "CTest (ASan + UBSan, $((SECONDS - t0))s)"
  else
    count 0 1 0 "CTest (ASan + UBSan) wrote no results"
  fi
}

# e2e <label> <config> <pth> <input> <expected...>: converts the checkpoint with the CLI, then runs it
# under every kernel set this CPU runs.
e2e() {
  local label="$1" config="$2" pth="$3" input="$4"
  shift 4
  local weights="$RESULTS/$(basename "$(dirname "$pth")")-$(basename "$pth" .pth).safetensors"
  "$ROOT/artifacts/bin/fasternet" convert --input "$pth" --output "$weights" >/dev/null
  local expected=() e
  for e in "$@"; do expected+=(--expected "$e"); done
  local kernels
  for kernels in $E2E_KERNELS; do
    if "$ASAN_BUILD/native/tests/e2e/fasternet_run_fixture" --kernels "$kernels" --threads 1,2 \
         --config "$config" --weights "$weights" --input "$input" "${expected[@]}" >"$RESULTS/e2e.log" 2>&1; then
      count 1 0 0 "end-to-end $label ($kernels, 1 and 2 threads, vs PyTorch)"
    else
      cat "$RESULTS/e2e.log" >&2
      count 0 1 0 "end-to-end $label ($kernels)"
    fi
  done
}

asan_end_to_end() {
  log "end-to-end PyTorch fixtures through the ASan + UBSan library"
  local t0=$SECONDS
  if [ ! -x "$ROOT/artifacts/bin/fasternet" ]; then
    echo "artifacts/bin/fasternet is missing: run ./build.sh first" >&2
    count 0 1 0 "end-to-end fixtures"
    return
  fi
  E2E_KERNELS="reference"
  grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && E2E_KERNELS+=" avx2"
  grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo && E2E_KERNELS+=" avx512"
  e2e "tiny 2x3x32x32" "$FIXTURES/config.json" "$FIXTURES/weights.pth" \
    "$FIXTURES/input_2x3x32x32.npy" "$FIXTURES/logits_2x3x32x32.npy"
  e2e "odd config 2x1x45x53" "$FIXTURES/odd_config.json" "$FIXTURES/odd_weights.pth" \
    "$FIXTURES/odd_input_2x1x45x53.npy" "$FIXTURES/odd_logits_2x1x45x53.npy"
  e2e "backbone 2x3x32x32" "$FIXTURES/backbone_config.json" "$FIXTURES/backbone_weights.pth" \
    "$FIXTURES/input_2x3x32x32.npy" "$FIXTURES"/features_{0,1,2,3}_2x3x32x32.npy
  E2E_KERNELS="${E2E_KERNELS##* }"  # the real network size once, with the best kernel set
  e2e "FasterNet-T0 2x3x224x224" "$T0_FIXTURES/config.json" "$T0_FIXTURES/weights.pth" \
    "$T0_FIXTURES/input_2x3x224x224.npy" "$T0_FIXTURES/logits_2x3x224x224.npy"
  echo "end-to-end under ASan + UBSan: $((SECONDS - t0))s"
}

tsan_tests() {
  log "ThreadSanitizer build (clang-14) in build/tsan: the threaded tests"
  configure "$TSAN_BUILD" thread
  local t0=$SECONDS
  cmake --build "$TSAN_BUILD" -j"$JOBS" --target fasternet_native_tests
  echo "TSan build: $((SECONDS - t0))s"
  local archer
  archer="$(ls /usr/lib/llvm-14/lib/libarcher.so 2>/dev/null || true)"
  local xml="$RESULTS/tsan.xml" status=0
  OMP_TOOL_LIBRARIES="$archer" ARCHER_OPTIONS="verbose=0" \
    "$TSAN_BUILD/native/tests/fasternet_native_tests" --gtest_filter="$THREADED_FILTER" \
    --gtest_output="xml:$xml" >"$RESULTS/tsan.log" 2>&1 || status=$?
  if [ -f "$xml" ]; then
    local total f s
    total="$(xml_count "$xml" testsuites tests)"
    f="$(xml_count "$xml" testsuites failures)"
    s="$(xml_count "$xml" testsuites skipped)"
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # a TSan report ends the process
    ((f == 0)) || grep -A30 'WARNING: ThreadSanitizer' "$RESULTS/tsan.log" | head -60 >&2 || true
    count $((total - f - s)) "$f" "$s" "threaded tests under TSan"
  else
    grep -A30 'WARNING: ThreadSanitizer' "$RESULTS/tsan.log" | head -60 >&2 || tail -30 "$RESULTS/tsan.log" >&2
    count 0 1 0 "threaded tests under TSan (the process ended before writing results)"
  fi
}

ensure_apt cmake make clang-14 libclang-rt-14-dev libomp-14-dev libgtest-dev
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
start=$SECONDS
asan_tests
asan_end_to_end
tsan_tests
echo
echo "test-sanitize took $((SECONDS - start))s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
