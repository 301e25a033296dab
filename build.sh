#!/usr/bin/env bash
# FasterNet.NET build driver. On a fresh Debian machine it installs what it needs.
#
#   ./build.sh            build everything (native Release, bindings check, managed, CLI)
#   ./build.sh run        build, then the main job: classify the sample images, short benchmark
#   ./build.sh test       build, then every test (CTest + NUnit); ends with "N passed, N failed"
#   ./build.sh arm64      cross-build the linux-arm64 native library and native tests
#   ./build.sh test-arm64 run the arm64 native tests under qemu-aarch64
#   ./build.sh bindings   regenerate bindings/generated/NativeMethods.g.cs
#   ./build.sh deploy-check  validate deploy/ (Kubernetes + KServe manifests) offline
#   ./build.sh win-x64    cross-build libfasternet.dll with mingw-w64 (artifacts/native/win-x64/)
#   ./build.sh test-win-x64  CTest + end-to-end PyTorch check + the NUnit suite under wine64
#   ./build.sh test-managed-arm64  the NUnit suite (parity, loading, bad input) under qemu-aarch64
#   ./build.sh test-old-cpus the native tests under qemu-x86_64 -cpu Westmere (no AVX2) and Haswell (no AVX-512)
#   ./build.sh pack       NuGet packages (native libraries of all three RIDs) -> artifacts/packages/
#   ./build.sh cli        single-file self-contained CLIs -> artifacts/cli/<rid>/, each run on its platform
#   ./build.sh test-package  samples/Consumer from the packages on linux-x64, win-x64 (wine64), linux-arm64 (qemu)
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

# Sums CTest's and NUnit's counts into one "N passed, N failed" line.
run_tests() {
  local ctest_log="$ROOT/build/ctest.log" trx_dir="$ROOT/build/test-results"
  local passed=0 failed=0 status=0
  log "native tests (CTest)"
  ctest --test-dir "$NATIVE_BUILD" --output-on-failure -j"$JOBS" 2>&1 | tee "$ctest_log" || status=1
  local line
  line="$(grep -E '[0-9]+ tests failed out of [0-9]+' "$ctest_log" | tail -1 || true)"
  if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=$((failed + BASH_REMATCH[1]))
    passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
  else
    echo "CTest printed no summary" >&2
    status=1
  fi

  log "managed tests (NUnit)"
  rm -rf "$trx_dir"
  local project
  for project in FasterNet.Tests FasterNet.Server.Tests; do
  dotnet test "$ROOT/tests/$project/$project.csproj" -c "$CONFIG" --no-build -nologo \
    --logger "trx;LogFileName=$project.trx" --results-directory "$trx_dir" || status=1
  local trx="$trx_dir/$project.trx"
  if [ -f "$trx" ]; then
    local counters
    counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
    local p f
    p="$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")"
    f="$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")"
    passed=$((passed + p))
    failed=$((failed + f))
  else
    echo "NUnit wrote no results for $project" >&2
    status=1
  fi
  done
  echo
  echo "$passed passed, $failed failed"
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
  test-package) test_package ;;
  *) echo "usage: $0 [build|run|test|arm64|test-arm64|test-managed-arm64|win-x64|test-win-x64|test-old-cpus|pack|cli|test-package|bindings]" >&2; exit 2 ;;
esac
