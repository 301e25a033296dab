#!/usr/bin/env bash
# One executor with every core against one executor per core, interleaved (docs/serving.md, "Executors x threads"):
# T0, server and wrk on all cores, batching 16 (no queue delay), c=1 then c=32 per server, ROUNDS times
# (1 x cores, cores x 1, 1 x cores, ...), after WARM s of untimed load per server. Prints p50/p99, images/s
# and mean batch per point. Needs ./build.sh first. Bounded: ROUNDS x 2 x (WARM + 2 x DURATION + start-up) s.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ROUNDS="${ROUNDS:-3}" WARM="${WARM:-8}" DURATION="${DURATION:-5}" PORT="${PORT:-18310}"
CORES="$(nproc)"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) ($CORES cores); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
LENGTH="$(python3 "$TOOLS/make_body.py" "$WORK/body.bin" 1 3 224)"
wrk_run() { BODY="$WORK/body.bin" HEADER_LENGTH="$LENGTH" wrk -t"$(( $1 < 2 ? 1 : 2 ))" -c"$1" -d"$2s" --timeout 20s \
  -s "$TOOLS/wrk_binary.lua" "http://127.0.0.1:$PORT/v2/models/t0/infer"; }
for round in $(seq 1 "$ROUNDS"); do
  for layout in "1 $CORES" "$CORES 1"; do
    read -r executors threads <<< "$layout"
    "$CLI" serve --model t0 --http-port "$PORT" --grpc-port -1 --executors "$executors" --threads "$threads" \
      --max-batch-size 16 --max-queue-size 128 > "$WORK/server.log" 2>&1 &
    SERVER=$!
    wait_ready
    wrk_run 8 "$WARM" > /dev/null
    for c in 1 32; do
      n0="$(metric nv_inference_count)"; e0="$(metric nv_inference_exec_count)"
      result="$(wrk_run "$c" "$DURATION" | grep RESULT)"
      n1="$(metric nv_inference_count)"; e1="$(metric nv_inference_exec_count)"
      echo "round=$round executors=${executors}x$threads c=$c ${result#RESULT }" \
           "mean_batch=$(mean_batch "$n0" "$e0" "$n1" "$e1")"
    done
    kill -TERM "$SERVER"; wait "$SERVER" || true
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
