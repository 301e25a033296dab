#!/usr/bin/env bash
# FasterNet.NET build driver. On a fresh Debian machine it installs what it needs.
#
#   ./build.sh            build everything (native Release, bindings check, managed, CLI)
#   ./build.sh run        build, then the main job: classify the sample images, short benchmark
#   ./build.sh test       build, then every test (CTest + NUnit); ends with "N passed, N failed, N skipped"
#   ./build.sh arm64      cross-build the linux-arm64 native library and native tests
#   ./build.sh test-arm64 run the arm64 native tests under qemu-aarch64
#   ./build.sh bindings   regenerate bindings/generated/NativeMethods.g.cs
#   ./build.sh deploy-check  validate deploy/ (Kubernetes + KServe manifests) offline
#   ./build.sh serving-client-check  a Python REST + gRPC client against `fasternet serve`, checked against the library
#   ./build.sh win-x64    cross-build libfasternet.dll with mingw-w64 (artifacts/native/win-x64/)
#   ./build.sh test-win-x64  CTest + end-to-end PyTorch check + the NUnit suite under wine64
#   ./build.sh test-managed-arm64  the NUnit suite (parity, loading, bad input) under qemu-aarch64
#   ./build.sh test-old-cpus the native tests under qemu-x86_64 -cpu Westmere (no AVX2) and Haswell (no AVX-512)
#   ./build.sh pack       NuGet packages (native libraries of all three RIDs) -> artifacts/packages/
#   ./build.sh cli        single-file self-contained CLIs -> artifacts/cli/<rid>/, each run on its platform
#   ./build.sh check-ps1  build.ps1 parses (pwsh from the PowerShell dotnet tool) and has build.sh's verbs
#   ./build.sh test-cli   run the CLIs of artifacts/cli/ again (linux-arm64 under qemu, win-x64 under wine64)
#   ./build.sh test-package  samples/Consumer from the packages on linux-x64, win-x64 (wine64), linux-arm64 (qemu)
#   ./build.sh test-sanitize  native tests + end-to-end fixtures under ASan/UBSan, threaded tests under TSan
#   ./build.sh fuzz list|TARGET SECONDS|all SECONDS   coverage-guided fuzzing (fuzz/run.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
CONFIG=Release
NATIVE_BUILD="$ROOT/build/native"
case "$(uname -m)" in aarch64|arm64) NATIVE_RID=linux-arm64 ;; *) NATIVE_RID=linux-x64 ;; esac
NATIVE_OUT="$ROOT/artifacts/native/$NATIVE_RID"
BIN="$ROOT/artifacts/bin"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
JOBS="$(nproc 2>/dev/null || echo 2)"

source "$ROOT/cmake/common.sh"
source "$ROOT/cmake/platforms.sh"

ensure_native_tools() {
  ensure_apt cmake g++ make libgtest-dev libbenchmark-dev libclang-common-14-dev dataset-fashion-mnist fonts-dejavu-core
}

build_native() {
  ensure_native_tools
  log "native library (Release)"
  cmake -S "$ROOT" -B "$NATIVE_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$NATIVE_BUILD" -j"$JOBS"
  mkdir -p "$NATIVE_OUT"
  cp "$NATIVE_BUILD/native/libfasternet.so" "$NATIVE_OUT/libfasternet.so"
}

check_bindings() {
  log "bindings: regenerate and compare with the committed file"
  dotnet run -c "$CONFIG" --project "$ROOT/bindings/FasterNet.Bindings.Generator" -- \
    --header native/include/fasternet.h --output bindings/generated/NativeMethods.g.cs --check
}

build_managed() {
  log "managed build"
  dotnet build "$ROOT/FasterNet.sln" -c "$CONFIG" -nologo -v quiet
  log "CLI -> artifacts/bin/fasternet"
  dotnet publish "$ROOT/managed/FasterNet.Cli/FasterNet.Cli.csproj" -c "$CONFIG" -o "$BIN" -nologo -v quiet --no-build
}

build_all() {
  build_native
  check_bindings
  build_managed
}

# Managed test projects run_tests runs, one per line (add yours here).
TEST_PROJECTS=(
  tests/FasterNet.Tests/FasterNet.Tests.csproj
  tests/FasterNet.Cli.Tests/FasterNet.Cli.Tests.csproj
  tests/FasterNet.Server.Tests/FasterNet.Server.Tests.csproj
)

# Reads a count attribute (name="N") from the first matching XML element in a file; 0 when absent.
xml_count() {
  local file="$1" element="$2" attribute="$3" tag
  tag="$(tr "\n\t" "  " <"$file" | grep -o "<$element [^>]*>" | head -1)"
  if [[ $tag =~ \ $attribute=\"([0-9]+)\" ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}

# Sums CTest's and NUnit's counts into one "N passed, N failed, N skipped" line. Skipped means a
# test that was listed but did not run to a verdict: GTEST_SKIP (e.g. NEON cases on x86), NUnit's
# Ignore and Inconclusive (Assume) outcomes.
run_tests() {
  local results="$ROOT/build/test-results"
  local passed=0 failed=0 skipped=0 status=0
  rm -rf "$results"
  mkdir -p "$results"

  log "native tests (CTest)"
  local junit="$results/ctest.xml"
  ctest --test-dir "$NATIVE_BUILD" --output-on-failure -j"$JOBS" --output-junit "$junit" || status=1
  if [ -f "$junit" ]; then
    local total f s
    total="$(xml_count "$junit" testsuite tests)"
    f="$(xml_count "$junit" testsuite failures)"
    s=$(( $(xml_count "$junit" testsuite skipped) + $(xml_count "$junit" testsuite disabled) ))
    passed=$((passed + total - f - s)); failed=$((failed + f)); skipped=$((skipped + s))
    echo "CTest: $((total - f - s)) passed, $f failed, $s skipped"
  else
    echo "CTest wrote no results" >&2
    status=1
  fi

  local project name trx
  for project in "${TEST_PROJECTS[@]}"; do
    name="$(basename "$project" .csproj)"
    log "managed tests: $name (NUnit)"
    dotnet test "$ROOT/$project" -c "$CONFIG" --no-build -nologo \
      --logger "trx;LogFileName=$name.trx" --results-directory "$results" || status=1
    trx="$results/$name.trx"
    if [ -f "$trx" ]; then
      local total p f
      total="$(xml_count "$trx" Counters total)"
      p="$(xml_count "$trx" Counters passed)"
      f=$(( $(xml_count "$trx" Counters failed) + $(xml_count "$trx" Counters error) \
            + $(xml_count "$trx" Counters timeout) + $(xml_count "$trx" Counters aborted) ))
      passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + total - p - f))
      echo "$name: $p passed, $f failed, $((total - p - f)) skipped"
    else
      echo "$name wrote no results" >&2
      status=1
    fi
  done
  echo
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ] || status=1
  return $status
}

# Validates deploy/ offline: Kubernetes schemas (npm kubernetes-models 5.1.0 + js-yaml, installed into
# build/deploy-check), KServe objects' fields, and ports / probe paths against the server's.
deploy_check() {
  ensure_apt nodejs
  command -v npm >/dev/null || ensure_apt npm
  local dir="$ROOT/build/deploy-check"
  if [ ! -d "$dir/node_modules/kubernetes-models" ] || [ ! -d "$dir/node_modules/js-yaml" ]; then
    log "npm: kubernetes-models 5.1.0 and js-yaml into build/deploy-check"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent kubernetes-models@5.1.0 js-yaml@4.1.0
  fi
  log "deploy/: manifests against the Kubernetes schemas and the server's ports and probe paths"
  # ES modules resolve packages beside the script, not through NODE_PATH: run a copy from there.
  cp "$ROOT/deploy/validate.mjs" "$dir/validate.mjs"
  node "$dir/validate.mjs" "$ROOT/deploy"
}

# A non-.NET client (Debian's python3 with requests, numpy, grpcio, grpc_tools) against a running
# `fasternet serve`: REST JSON and binary, gRPC from the committed proto, results against `fasternet run`.
serving_client_check() {
  ensure_apt python3-requests python3-numpy python3-grpcio python3-grpc-tools
  log "serving: Python REST + gRPC client against fasternet serve"
  /usr/bin/python3 "$ROOT/tools/serving/client_check.py" "$BIN/fasternet"
}

# build.ps1 parses (PowerShell 7 as the `PowerShell` dotnet tool in build/tools) and offers every verb of build.sh's
# usage line except fuzz.
check_ps1() {
  local tools="$ROOT/build/tools"
  [ -x "$tools/pwsh" ] || dotnet tool install --tool-path "$tools" PowerShell --version 7.6.9
  log "build.ps1: parse, and the same verbs as build.sh"
  "$tools/pwsh" -NoProfile -Command '$errors = $null
    [System.Management.Automation.Language.Parser]::ParseFile("build.ps1", [ref]$null, [ref]$errors) | Out-Null
    if ($errors.Count) { $errors | ForEach-Object { Write-Host "error: build.ps1: $_" }; exit 1 }'
  local sh_verbs ps_verbs missing
  sh_verbs="$(sed -n 's/.*usage: $0 \[\([^]]*\)\].*/\1/p' "$ROOT/build.sh" | tr '|' '\n' | grep -vxE 'fuzz|check-ps1' | sort)"
  ps_verbs="$(tr '\n' ' ' <"$ROOT/build.ps1" | grep -o "ValidateSet([^)]*)" | grep -o "'[a-z0-9-]*'" | tr -d "'" | sort)"
  missing="$(comm -23 <(echo "$sh_verbs") <(echo "$ps_verbs"))"
  [ -z "$missing" ] || { echo "error: build.ps1 lacks the verbs: $missing" >&2; return 1; }
  echo "build.ps1: parses, $(wc -l <<<"$ps_verbs") verbs"
}

# PyTorch's own bf16 CPU inference (Debian's python3-torch) against FasterNet's bf16 on the same weights, in
# one process; arguments go to tools/bench_torch_bf16.py (default: every variant, 1 and 2 threads).
bench_torch_bf16() {
  ensure_apt python3-torch python3-numpy
  [ -f "$NATIVE_OUT/libfasternet.so" ] || build_native
  /usr/bin/python3 "$ROOT/tools/bench_torch_bf16.py" --library "$NATIVE_OUT/libfasternet.so" "$@"
}

main_job() {
  local cli="$BIN/fasternet"
  log "classify the sample images with the built-in Fashion-MNIST model"
  "$cli" classify "$ROOT/samples/fashion-mnist" --top 3
  log "benchmark: FasterNet-T0, batch 1, 224x224, side by side with ONNX Runtime"
  "$cli" bench --model t0 --batch 1 --threads 1 --iterations 30 --peer onnxruntime
}

case "${1:-build}" in
  build) build_all ;;
  run) build_all; main_job ;;
  test) build_all; run_tests ;;
  deploy-check) deploy_check ;;
  serving-client-check) serving_client_check ;;
  bindings)
    dotnet run -c "$CONFIG" --project "$ROOT/bindings/FasterNet.Bindings.Generator" -- \
      --header native/include/fasternet.h --output bindings/generated/NativeMethods.g.cs ;;
  arm64) "$ROOT/cmake/arm64.sh" arm64 ;;
  test-arm64) "$ROOT/cmake/arm64.sh" test-arm64 ;;
  # The NUnit suite as a self-contained linux-arm64 test executable under qemu (after ./build.sh arm64).
  test-managed-arm64) test_managed_on linux-arm64 ;;
  win-x64) "$ROOT/cmake/win-x64.sh" win-x64 ;;
  test-win-x64)
    status=0
    "$ROOT/cmake/win-x64.sh" test-win-x64 || status=1
    test_managed_on win-x64 || status=1
    exit $status ;;
  test-old-cpus) build_native; test_old_cpus ;;
  pack) pack ;;
  cli) cli ;;
  test-cli) test_cli ;;
  check-ps1) check_ps1 ;;
  test-package) test_package ;;
  test-sanitize) "$ROOT/cmake/sanitize.sh" ;;
  fuzz) shift; "$ROOT/fuzz/run.sh" "$@" ;;
  bench-torch-bf16) shift; bench_torch_bf16 "$@" ;;
  *) echo "usage: $0 [build|run|test|arm64|test-arm64|test-managed-arm64|win-x64|test-win-x64|test-old-cpus|pack|cli|test-cli|test-package|check-ps1|bindings|deploy-check|serving-client-check|test-sanitize|bench-torch-bf16|fuzz]" >&2; exit 2 ;;
esac
