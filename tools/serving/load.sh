#!/usr/bin/env bash
# Load measurement for docs/serving.md: wrk (binary-tensor bodies) against `fasternet serve` on loopback,
# the built-in model and T0, batching off and on, concurrency 1/8/32/64; then one overload run with hey
# (status breakdown). Bounded: DURATION seconds per point (default 10) after WARM seconds of untimed load per
# server (default 15). Needs ./build.sh first.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
DURATION="${DURATION:-10}"
WARM="${WARM:-15}"

serve() { # name model-args... ; starts the server and waits until ready
  "$CLI" serve --http-port 18080 --grpc-port 18081 "$@" > "$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do
    curl -sf http://127.0.0.1:18080/v2/health/ready >/dev/null && return 0
    sleep 0.1
  done
  cat "$WORK/server.log"; exit 1
}

stop() { kill -TERM "$SERVER"; wait "$SERVER" || true; }

run_points() { # label model channels size
  local label=$1 model=$2 channels=$3 size=$4
  local length
  length="$(python3 "$ROOT/tools/serving/make_body.py" "$WORK/body.bin" 1 "$channels" "$size")"
  # Untimed first: the runtime's tiered JIT takes 10-20 s of load to settle on a busy 2-core machine.
  BODY="$WORK/body.bin" HEADER_LENGTH="$length" wrk -t2 -c8 -d"${WARM}s" --timeout 10s \
    -s "$ROOT/tools/serving/wrk_binary.lua" "http://127.0.0.1:18080/v2/models/$model/infer" > /dev/null
  for c in 1 8 32 64; do
    local result
    result="$(BODY="$WORK/body.bin" HEADER_LENGTH="$length" wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${DURATION}s" --timeout 10s \
      -s "$ROOT/tools/serving/wrk_binary.lua" "http://127.0.0.1:18080/v2/models/$model/infer" | grep RESULT)"
    echo "$label c=$c $result"
  done
}

log "library baselines (same machine, same threads): fasternet bench, batch 1 and 16"
"$CLI" bench --model t0 --batch 1 --threads 0 --iterations 50
"$CLI" bench --model t0 --batch 16 --threads 0 --iterations 10

for mode in off on; do
  if [ "$mode" = on ]; then batching=(--max-batch-size 16 --max-queue-delay-us 2000 --max-queue-size 128)
  else batching=(--max-batch-size 1 --max-queue-size 128); fi
  log "built-in fashion-mnist, batching $mode"
  serve "${batching[@]}"; run_points "fashion-mnist batching=$mode" fashion-mnist 1 28; stop
  log "t0 (224x224), batching $mode"
  serve --model t0 "${batching[@]}"; run_points "t0 batching=$mode" t0 3 224; stop
done

log "overload: t0, c=256, queue of 16: only 200 and 503 expected"
serve --model t0 --max-batch-size 16 --max-queue-delay-us 2000 --max-queue-size 16
length="$(python3 "$ROOT/tools/serving/make_body.py" "$WORK/body.bin" 1 3 224)"
BODY="$WORK/body.bin" HEADER_LENGTH="$length" wrk -t2 -c8 -d"${WARM}s" --timeout 10s \
  -s "$ROOT/tools/serving/wrk_binary.lua" http://127.0.0.1:18080/v2/models/t0/infer > /dev/null
# Memory is flat when a second overload run ends where the first did.
rss="$(ps -o rss= -p "$SERVER")"
for run in 1 2; do
  echo "overload run $run:"
  hey -z "${DURATION}s" -c 256 -m POST -T application/octet-stream -H "Inference-Header-Content-Length: $length" \
    -D "$WORK/body.bin" http://127.0.0.1:18080/v2/models/t0/infer | sed -n '/Summary/,/Requests\/sec/p;/Status code distribution/,$p'
  rss="$rss / $(ps -o rss= -p "$SERVER")"
done
echo "server RSS after warm-up / after overload run 1 / after run 2: $rss KB"
stop
