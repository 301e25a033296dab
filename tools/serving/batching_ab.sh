#!/usr/bin/env bash
# T0 batching off against on, interleaved (docs/serving.md, "Batching on and off"): server pinned to cores 1.. with
# threads = those cores, wrk alone on core 0, c=32, ROUNDS times (off, on, off, on, ...), after WARM s of untimed
# load per server. Prints images/s, latency percentiles, mean batch and server CPU per image per point.
# Needs ./build.sh first. Bounded: ROUNDS x 2 x (WARM + DURATION + start-up) seconds.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ROUNDS="${ROUNDS:-2}" WARM="${WARM:-15}" DURATION="${DURATION:-10}" PORT="${PORT:-18300}" C="${C:-32}"
CORES="$(nproc)"
[ "$CORES" -gt 1 ] || { echo "needs 2 cores or more (client and server on separate cores)"; exit 1; }
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) ($CORES cores); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
LENGTH="$(python3 "$TOOLS/make_body.py" "$WORK/body.bin" 1 3 224)"
SCPUS="1-$((CORES - 1))" THREADS="$((CORES - 1))"
wrk_run() { BODY="$WORK/body.bin" HEADER_LENGTH="$LENGTH" taskset -c 0 wrk -t1 -c"$1" -d"$2s" --timeout 20s \
  -s "$TOOLS/wrk_binary.lua" "http://127.0.0.1:$PORT/v2/models/t0/infer"; }
for round in $(seq 1 "$ROUNDS"); do
  for mode in off on; do
    if [ "$mode" = on ]; then batching=(--max-batch-size 16 --max-queue-delay-us 2000); else batching=(--max-batch-size 1); fi
    taskset -c "$SCPUS" "$CLI" serve --model t0 --http-port "$PORT" --grpc-port -1 --threads "$THREADS" --max-queue-size 128 \
      "${batching[@]}" > "$WORK/server.log" 2>&1 &
    SERVER=$!
    wait_ready
    wrk_run 8 "$WARM" > /dev/null
    n0="$(metric nv_inference_count)"; e0="$(metric nv_inference_exec_count)"
    python3 "$TOOLS/cpu_by_thread.py" snapshot "$SERVER" "$WORK/t0"
    result="$(wrk_run "$C" "$DURATION" | grep RESULT)"
    python3 "$TOOLS/cpu_by_thread.py" snapshot "$SERVER" "$WORK/t1"
    n1="$(metric nv_inference_count)"; e1="$(metric nv_inference_exec_count)"
    echo "round=$round batching=$mode c=$C ${result#RESULT } mean_batch=$(mean_batch "$n0" "$e0" "$n1" "$e1")" \
         "server_cpu_ms_per_image: $(python3 "$TOOLS/cpu_by_thread.py" diff "$WORK/t0" "$WORK/t1" "$(python3 -c "print(int($n1 - $n0))")")"
    kill -TERM "$SERVER"; wait "$SERVER" || true
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
