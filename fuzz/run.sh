#!/usr/bin/env bash
# Coverage-guided fuzzing of everything that reads untrusted bytes (see docs/reliability.md).
#
#   fuzz/run.sh list              the targets
#   fuzz/run.sh TARGET SECONDS    fuzz one target for SECONDS, starting from fuzz/corpus/TARGET
#   fuzz/run.sh all SECONDS       every target for SECONDS each (the CI smoke run)
#
# Managed parsers: SharpFuzz instruments FasterNet.dll, afl++ drives the harness
# (fuzz/managed/FasterNet.Fuzz). Native: libFuzzer targets (fuzz/native) built with clang-14,
# AddressSanitizer and UndefinedBehaviorSanitizer in build/sanitize.
# Prints execs and findings per target; exits 1 when a target found a crash or hang. Findings are
# kept in build/fuzz/findings/TARGET; each becomes a file in fuzz/regressions/TARGET (replayed by
# the tests) once fixed. Reproduce a managed finding with the uninstrumented harness:
#   dotnet run --project fuzz/managed/FasterNet.Fuzz -c Release -- TARGET FILE
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/cmake/common.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# fuzz/managed/FasterNet.Fuzz/FuzzTargets.cs and ServerFuzzTargets.cs
MANAGED_TARGETS=(torch pickle safetensors npy idx image server-request)
NATIVE_TARGETS=(model-create)                              # fuzz/native/<name>_fuzzer.cpp
SHARPFUZZ_VERSION=2.3.0
WORK="$ROOT/build/fuzz"
TOOLS="$WORK/tools"
HARNESS="$WORK/managed"
PLAIN_HARNESS="$WORK/managed-plain"
SANITIZE_BUILD="$ROOT/build/sanitize"
JOBS="$(nproc 2>/dev/null || echo 2)"

is_in() { local x="$1"; shift; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }

# The harness published once and FasterNet.dll instrumented once (sharpfuzz refuses a second pass).
prepare_managed() {
  ensure_apt afl++
  if [ ! -x "$TOOLS/sharpfuzz" ]; then
    log "SharpFuzz.CommandLine $SHARPFUZZ_VERSION -> $TOOLS"
    dotnet tool install --tool-path "$TOOLS" SharpFuzz.CommandLine --version "$SHARPFUZZ_VERSION" >/dev/null
  fi
  local stamp="$HARNESS/.instrumented"
  local newest
  newest="$(find "$ROOT/managed/FasterNet" "$ROOT/fuzz/managed" -name '*.cs' -newer "$stamp" 2>/dev/null | head -1 || true)"
  if [ -f "$stamp" ] && [ -z "$newest" ] && [ -d "$PLAIN_HARNESS" ]; then return; fi
  log "fuzz harness: publish and instrument"
  rm -rf "$HARNESS" "$PLAIN_HARNESS"
  dotnet publish "$ROOT/fuzz/managed/FasterNet.Fuzz/FasterNet.Fuzz.csproj" -c Release -o "$HARNESS" -nologo -v quiet
  # An uninstrumented copy replays findings outside afl-fuzz (the instrumented one needs afl's shared memory).
  cp -r "$HARNESS" "$PLAIN_HARNESS"
  local dll
  for dll in "$HARNESS"/FasterNet*.dll; do
    case "$(basename "$dll")" in FasterNet.Fuzz.dll) continue ;; esac
    "$TOOLS/sharpfuzz" "$dll" >/dev/null
  done
  touch "$stamp"
}

# build/sanitize: clang-14, ASan + UBSan + coverage hooks; shared with ./build.sh test-sanitize.
prepare_native() {
  ensure_apt cmake make clang-14 libclang-rt-14-dev libomp-14-dev libgtest-dev
  log "native fuzz targets (clang-14, ASan + UBSan + libFuzzer) in build/sanitize"
  cmake -S "$ROOT" -B "$SANITIZE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DFASTERNET_SANITIZE="address,undefined" -DFASTERNET_BUILD_FUZZERS=ON -DFASTERNET_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build "$SANITIZE_BUILD" -j"$JOBS" --target model_create_fuzzer
}

SUMMARY=()
FOUND=0
HANG_REPLAY_SECONDS=20

fuzz_managed() {
  local target="$1" seconds="$2" out="$WORK/findings/$1"
  rm -rf "$out"
  mkdir -p "$out"
  log "afl++: $target for ${seconds}s"
  AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    AFL_QUIET=1 afl-fuzz -i "$ROOT/fuzz/corpus/$target" -o "$out" -t 5000 -m none -V "$seconds" \
    -- dotnet "$HARNESS/FasterNet.Fuzz.dll" "$target" >"$out/afl.log" 2>&1 || {
      tail -20 "$out/afl.log" >&2
      SUMMARY+=("$target: afl-fuzz failed to run (see $out/afl.log)")
      FOUND=1
      return
    }
  local stats="$out/default/fuzzer_stats" execs crashes hangs
  execs="$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")"
  crashes="$(awk -F' *: *' '$1=="saved_crashes"{print $2}' "$stats")"
  hangs="$(awk -F' *: *' '$1=="saved_hangs"{print $2}' "$stats")"
  # afl's hang timeout also catches a stalled process (a GC or JIT pause on a busy machine): a hang
  # counts only when the input, replayed alone, still runs past the replay limit or fails.
  local file replayed=0 reproduced=0
  for file in "$out"/default/hangs/id*; do
    [ -e "$file" ] || continue
    replayed=$((replayed + 1))
    if ! timeout "$HANG_REPLAY_SECONDS" dotnet "$PLAIN_HARNESS/FasterNet.Fuzz.dll" "$target" "$file" >/dev/null 2>&1; then
      reproduced=$((reproduced + 1))
      echo "hang reproduced: $file" >&2
    fi
  done
  SUMMARY+=("$target: ${seconds}s, $execs execs, $crashes crashes, $hangs hangs ($reproduced of $replayed reproduced alone within ${HANG_REPLAY_SECONDS}s) (afl++, SharpFuzz)")
  if [ "${crashes:-0}" != 0 ] || [ "$reproduced" != 0 ]; then
    FOUND=1
    ls "$out"/default/crashes/* "$out"/default/hangs/* 2>/dev/null | grep -v README || true
  fi
}

fuzz_native() {
  local target="$1" seconds="$2" out="$WORK/findings/$1" corpus="$WORK/corpus/$1"
  local binary="$SANITIZE_BUILD/fuzz/native/${target//-/_}_fuzzer"
  rm -rf "$out"
  mkdir -p "$out" "$corpus"
  log "libFuzzer: $target for ${seconds}s"
  # Past findings run first with the seeds (libFuzzer reads every input directory before mutating).
  local regressions=()
  [ -d "$ROOT/fuzz/regressions/$target" ] && regressions=("$ROOT/fuzz/regressions/$target")
  local status=0
  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$ROOT/cmake/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$out/" "$corpus" "$ROOT/fuzz/corpus/$target" "${regressions[@]}" >"$out/libfuzzer.log" 2>&1 || status=$?
  local execs
  execs="$(awk '/stat::number_of_executed_units/ {print $NF}' "$out/libfuzzer.log" | tail -1)"
  local findings
  findings="$(ls "$out" | grep -E '^(crash|leak|timeout|oom)-' || true)"
  if [ "$status" -ne 0 ] || [ -n "$findings" ]; then
    FOUND=1
    grep -E 'ERROR|SUMMARY|runtime error' "$out/libfuzzer.log" | head -5 >&2 || true
    SUMMARY+=("$target: ${seconds}s, ${execs:-?} execs, FINDING: ${findings:-exit $status} (see $out/libfuzzer.log)")
  else
    SUMMARY+=("$target: ${seconds}s, $execs execs, 0 crashes, 0 leaks, 0 timeouts (libFuzzer, ASan + UBSan)")
  fi
}

run_target() {
  local target="$1" seconds="$2"
  if is_in "$target" "${MANAGED_TARGETS[@]}"; then
    prepare_managed
    fuzz_managed "$target" "$seconds"
  else
    prepare_native
    fuzz_native "$target" "$seconds"
  fi
}

usage() { echo "usage: $0 list | TARGET SECONDS | all SECONDS" >&2; exit 2; }

case "${1:-}" in
  list)
    for t in "${MANAGED_TARGETS[@]}"; do echo "$t  (managed, afl++ + SharpFuzz)"; done
    for t in "${NATIVE_TARGETS[@]}"; do echo "$t  (native, libFuzzer + ASan + UBSan)"; done
    exit 0 ;;
  all)
    [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
    start=$SECONDS
    prepare_managed
    for t in "${MANAGED_TARGETS[@]}"; do fuzz_managed "$t" "$2"; done
    prepare_native
    for t in "${NATIVE_TARGETS[@]}"; do fuzz_native "$t" "$2"; done
    SUMMARY+=("fuzz step: $((SECONDS - start))s in total") ;;
  "") usage ;;
  *)
    is_in "$1" "${MANAGED_TARGETS[@]}" "${NATIVE_TARGETS[@]}" || { echo "unknown target '$1'" >&2; "$0" list >&2; exit 2; }
    [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
    run_target "$1" "$2" ;;
esac

log "fuzzing summary"
printf '%s\n' "${SUMMARY[@]}"
if ((FOUND)); then
  echo "fuzz: FINDINGS (crashes or hangs above)"
  exit 1
fi
echo "fuzz: no findings"
