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

# Helpers for a server on 127.0.0.1:$PORT (each script sets PORT).
wait_ready() { for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && return 0; sleep 0.1; done; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" 'index($0, m "{") == 1 {print $2}'; }
mean_batch() { python3 -c "print(round(($3 - $1) / max(1, $4 - $2), 1))"; } # count0 exec0 count1 exec1
