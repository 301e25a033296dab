# Sourced by the serving benchmarks: strict mode, the repository's paths, wrk and hey installed, a scratch
# folder, and on exit the server ($SERVER, when one is running) stopped and the scratch folder removed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/cmake/common.sh"
ensure_apt wrk hey gcc # gcc: ratio.sh builds floor.c
CLI="$ROOT/artifacts/bin/fasternet"
TOOLS="$ROOT/tools/serving"
WORK="$(mktemp -d)"
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
