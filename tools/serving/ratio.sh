#!/usr/bin/env bash
# The server against the library itself, back to back on the same cores (docs/serving.md, "Server vs library").
# Each round times the library (fasternet bench, T0) and right after it the server under wrk with the same cores
# and threads, so both see the same machine load; the ratios are the result, repeated ROUNDS times. Layouts:
#   shared  server/library on every core (threads = cores), wrk on the same cores;
#   pinned  server/library on cores 1.. (taskset, threads = those cores), wrk alone on core 0.
# Points: c=1 batching off (server p50 against the library's batch-1 median), c=32 batching 16 (server images/s
# against the library's batch 16), and in the shared layout c=32 with one executor per core.
# Server CPU per image comes from /proc (cpu_by_thread.py): exec = executor + OpenMP threads, io = thread pool.
# Needs ./build.sh first. Bounded: about ROUNDS x 4 minutes.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ROUNDS="${ROUNDS:-3}" WARM="${WARM:-15}" DURATION="${DURATION:-10}" PORT="${PORT:-18280}"
CORES="$(nproc)"
LENGTH="$(python3 "$TOOLS/make_body.py" "$WORK/body.bin" 1 3 224)"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) ($CORES cores); load before: $(cut -d' ' -f1-3 /proc/loadavg)"

library() { # cpus threads batch -> prints "median_ms images_per_s"
  taskset -c "$1" "$CLI" bench --model t0 --threads "$2" --batch "$3" --iterations "$(( $3 > 1 ? 12 : 60 ))" --warmup 5 --json |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["median_ms"], j["images_per_s"])'
}

wrk_run() { # cpus connections seconds
  BODY="$WORK/body.bin" HEADER_LENGTH="$LENGTH" taskset -c "$1" wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$3s" --timeout 20s \
    -s "$TOOLS/wrk_binary.lua" "http://127.0.0.1:$PORT/v2/models/t0/infer"
}

metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" 'index($0, m "{") == 1 {print $2}'; }

server_point() { # server-cpus client-cpus connections serve-args... -> prints the wrk result and server CPU per image
  local scpus=$1 ccpus=$2 c=$3; shift 3
  taskset -c "$scpus" "$CLI" serve --model t0 --http-port "$PORT" --grpc-port -1 --max-queue-size 128 "$@" > "$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break; sleep 0.1; done
  wrk_run "$ccpus" 8 "$WARM" > /dev/null # past start-up JIT tiering
  local n0 e0; n0="$(metric nv_inference_count)"; e0="$(metric nv_inference_exec_count)"
  python3 "$TOOLS/cpu_by_thread.py" snapshot "$SERVER" "$WORK/t0"
  local result; result="$(wrk_run "$ccpus" "$c" "$DURATION" | grep RESULT)"
  python3 "$TOOLS/cpu_by_thread.py" snapshot "$SERVER" "$WORK/t1"
  local n1 e1; n1="$(metric nv_inference_count)"; e1="$(metric nv_inference_exec_count)"
  local images; images="$(python3 -c "print(int($n1 - $n0))")"
  echo "${result#RESULT } mean_batch=$(python3 -c "print(round(($n1 - $n0) / max(1, $e1 - $e0), 1))")" \
       "server_cpu_ms_per_image: $(python3 "$TOOLS/cpu_by_thread.py" diff "$WORK/t0" "$WORK/t1" "$images")"
  kill -TERM "$SERVER"; wait "$SERVER" || true
}

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

for round in $(seq 1 "$ROUNDS"); do
  for layout in shared pinned; do
    if [ "$layout" = shared ]; then scpus="0-$((CORES - 1))"; ccpus="$scpus"; threads="$CORES"
    else scpus="1-$((CORES - 1))"; ccpus=0; threads="$((CORES - 1))"; fi
    read -r lib1 _ <<<"$(library "$scpus" "$threads" 1)"
    point="$(server_point "$scpus" "$ccpus" 1 --threads "$threads" --max-batch-size 1)"
    p50="$(field p50_ms <<<"$point")"
    echo "round=$round layout=$layout c=1 batching=off library_b1_median_ms=$lib1 server_p50_ms=$p50" \
         "difference_ms=$(python3 -c "print(round($p50 - $lib1, 2))") | $point"
    read -r _ lib16 <<<"$(library "$scpus" "$threads" 16)"
    point="$(server_point "$scpus" "$ccpus" 32 --threads "$threads" --max-batch-size 16 --max-queue-delay-us 2000)"
    rps="$(field requests_per_s <<<"$point")"
    echo "round=$round layout=$layout c=32 batching=16 library_b16_img_s=$lib16 server_img_s=$rps" \
         "ratio=$(python3 -c "print(round($rps / $lib16, 3))") | $point"
    if [ "$layout" = shared ] && [ "$CORES" -gt 1 ]; then
      point="$(server_point "$scpus" "$ccpus" 32 --executors "$CORES" --threads 1 --max-batch-size 16 --max-queue-delay-us 2000)"
      rps="$(field requests_per_s <<<"$point")"
      echo "round=$round layout=$layout c=32 batching=16 executors=${CORES}x1 library_b16_img_s=$lib16 server_img_s=$rps" \
           "ratio=$(python3 -c "print(round($rps / $lib16, 3))") | $point"
    fi
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
