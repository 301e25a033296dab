#!/usr/bin/env bash
# Overload (docs/serving.md, "Overload"): T0 with a small queue (16), hey at c=256 posting 602 KB binary-tensor bodies,
# RUNS times. Per run: the status breakdown (only 200 and 503 expected) and latency percentiles of ACCEPTED (200)
# and refused (503) requests separately (hey's per-request CSV), then the server's RSS (flat across runs = no leak).
# Needs ./build.sh first. Bounded: WARM + RUNS x DURATION seconds.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
RUNS="${RUNS:-2}" WARM="${WARM:-15}" DURATION="${DURATION:-10}" PORT="${PORT:-18290}"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) ($(nproc) cores); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
LENGTH="$(python3 "$TOOLS/make_body.py" "$WORK/body.bin" 1 3 224)"
"$CLI" serve --model t0 --http-port "$PORT" --grpc-port -1 --max-batch-size 16 --max-queue-delay-us 2000 \
  --max-queue-size 16 > "$WORK/server.log" 2>&1 &
SERVER=$!
wait_ready
BODY="$WORK/body.bin" HEADER_LENGTH="$LENGTH" wrk -t2 -c8 -d"${WARM}s" --timeout 10s \
  -s "$TOOLS/wrk_binary.lua" "http://127.0.0.1:$PORT/v2/models/t0/infer" > /dev/null
rss="$(ps -o rss= -p "$SERVER")"
for run in $(seq 1 "$RUNS"); do
  hey -z "${DURATION}s" -c 256 -m POST -T application/octet-stream -H "Inference-Header-Content-Length: $LENGTH" \
    -D "$WORK/body.bin" -o csv "http://127.0.0.1:$PORT/v2/models/t0/infer" > "$WORK/run.csv"
  rss="$(ps -o rss= -p "$SERVER")"
  python3 - "$WORK/run.csv" "$run" "$rss" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by_status = {}
for r in rows:
    by_status.setdefault(r["status-code"], []).append(float(r["response-time"]) * 1000)
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p / 100 * len(v)))]
parts = []
for status, times in sorted(by_status.items()):
    parts.append(f"{status}: n={len(times)} p50={pct(times, 50):.0f}ms p99={pct(times, 99):.0f}ms max={max(times):.0f}ms")
print(f"overload run {sys.argv[2]}: " + " | ".join(parts) + f" | server RSS {int(sys.argv[3]) // 1024} MB")
PY
done
kill -TERM "$SERVER"; wait "$SERVER" || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
