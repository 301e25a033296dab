#!/usr/bin/env bash
# The server against the library itself on the same cores (docs/serving.md, "Server vs library").
# Load on this machine drifts within seconds, so each point alternates short windows, library and server:
#   L0 S1 L1 S2 L2 ... S_PAIRS L_PAIRS
# with the server started once per point and kept warm in between. Each server window S_i is compared with the
# mean of the library windows on either side of it (L_{i-1}, L_i), so a load that rises or falls steadily
# during the point cancels; the point reports the median of those per-pair results and their spread.
# Layouts (library and server always get the same cores and threads):
#   shared  server/library on every core (threads = cores), wrk on the same cores;
#   pinned  server/library on cores 1.. (taskset, threads = those cores), wrk alone on core 0.
# Points: c=1 batching off (server p50 - library batch-1 median, ms), c=32 batching 16 (server images/s /
# library batch-16 images/s), and in the shared layout c=32 with one executor per core.
# Each c=1 pair also runs the transport floor (floor.c: a C server that only reads the request, spins for the
# library's batch-1 median and answers) on the same cores: what any server would add here, so the server's own
# share (server_above_floor_ms) can be told apart from what the host does to loopback traffic.
# A library window is one `fasternet bench` run whose timed iterations last about WINDOW seconds (the count is
# taken from a short calibration run per point); a server window is 1 s of untimed wrk (connections opened,
# executor awake, as the bench's own warm-up) and then WINDOW seconds timed.
# Server CPU per image comes from /proc (cpu_by_thread.py): exec = executor + OpenMP threads, io = thread pool.
# SERVE_JSON=file serves from that serve.json instead of `--model t0` (it must serve T0 as "t0"), for A/Bs of
# server settings; the point's own options still apply.
# Needs ./build.sh first. Bounded: about 5 points x (WARM + 5 + PAIRS x (2 x WINDOW + 4)) seconds per round
# (defaults: ~5.5 minutes per round).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ROUNDS="${ROUNDS:-1}" PAIRS="${PAIRS:-3}" WINDOW="${WINDOW:-4}" WARM="${WARM:-10}" PORT="${PORT:-18280}"
POINTS="${POINTS:-shared,pinned}" # layouts to run
CORES="$(nproc)"
MODEL_ARGS=(--model t0)
if [ -n "${SERVE_JSON:-}" ]; then MODEL_ARGS=(--config "$SERVE_JSON"); fi
LENGTH="$(python3 "$TOOLS/make_body.py" "$WORK/body.bin" 1 3 224)"
FLOOR_PORT=$((PORT + 1))
cc -O2 -o "$WORK/floor" "$TOOLS/floor.c"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) ($CORES cores); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ROUNDS=$ROUNDS PAIRS=$PAIRS WINDOW=${WINDOW}s WARM=${WARM}s"

library() { # cpus threads batch iterations -> prints "median_ms images_per_s cpu_seconds" (cpu: the whole process)
  python3 - "$@" "$CLI" <<'PY'
import json, resource, subprocess, sys
cpus, threads, batch, iterations, cli = sys.argv[1:6]
out = subprocess.run(["taskset", "-c", cpus, cli, "bench", "--model", "t0", "--threads", threads, "--batch", batch,
                      "--iterations", iterations, "--warmup", "5", "--json"], check=True, capture_output=True, text=True).stdout
used = resource.getrusage(resource.RUSAGE_CHILDREN)
j = json.loads(out)
print(j["median_ms"], j["images_per_s"], used.ru_utime + used.ru_stime)
PY
}

wrk_run() { # cpus connections seconds
  BODY="$WORK/body.bin" HEADER_LENGTH="$LENGTH" taskset -c "$1" wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"$3s" --timeout 20s \
    -s "$TOOLS/wrk_binary.lua" "http://127.0.0.1:$PORT/v2/models/t0/infer"
}


field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

server_window() { # client-cpus connections -> prints the wrk result, mean batch and server CPU per image
  wrk_run "$1" "$2" 1 > /dev/null
  local n0 e0 n1 e1 result images
  n0="$(metric nv_inference_count)"; e0="$(metric nv_inference_exec_count)"
  python3 "$TOOLS/cpu_by_thread.py" snapshot "$SERVER" "$WORK/t0"
  result="$(wrk_run "$1" "$2" "$WINDOW" | grep RESULT)"
  python3 "$TOOLS/cpu_by_thread.py" snapshot "$SERVER" "$WORK/t1"
  n1="$(metric nv_inference_count)"; e1="$(metric nv_inference_exec_count)"
  images="$(python3 -c "print(int($n1 - $n0))")"
  echo "${result#RESULT } mean_batch=$(mean_batch "$n0" "$e0" "$n1" "$e1")" \
       "server_cpu_ms_per_image: $(python3 "$TOOLS/cpu_by_thread.py" diff "$WORK/t0" "$WORK/t1" "$images")"
}

# The transport floor (floor.c) in the server's place for one window: same cores, same wrk, spinning the library's
# batch-1 median per request instead of running the model. Prints the wrk result.
floor_window() { # server-cpus client-cpus spin-ms
  taskset -c "$1" "$WORK/floor" "$FLOOR_PORT" "$3" &
  local floor=$!
  for _ in $(seq 1 100); do curl -so /dev/null "http://127.0.0.1:$FLOOR_PORT/" && break; sleep 0.05; done
  PORT=$FLOOR_PORT wrk_run "$2" 1 1 > /dev/null
  PORT=$FLOOR_PORT wrk_run "$2" 1 "$WINDOW" | grep RESULT
  kill "$floor"; wait "$floor" 2>/dev/null || true
}

# One point: server started once, then L0 S1 L1 ... S_PAIRS L_PAIRS.
# kind = latency (c=1: server p50 - library median, target <= +1 ms) or throughput (server / library img/s, >= 0.85)
point() { # name kind scpus ccpus threads lib-batch connections serve-args...
  local name=$1 kind=$2 scpus=$3 ccpus=$4 threads=$5 batch=$6 c=$7; shift 7
  taskset -c "$scpus" "$CLI" serve "${MODEL_ARGS[@]}" --http-port "$PORT" --grpc-port -1 --max-queue-size 128 "$@" > "$WORK/server.log" 2>&1 &
  SERVER=$!
  wait_ready
  wrk_run "$ccpus" 8 "$WARM" > /dev/null # past start-up (JIT, first touches of the connection buffers)
  local calibration fixed_cpu iterations
  read -r calibration _ fixed_cpu <<<"$(library "$scpus" "$threads" "$batch" 5)"
  iterations="$(python3 -c "print(max(10, round($WINDOW * 1000 / $calibration)))")"
  local lib=() results=() cpu=() cpu_ratios=() floors=() lm lr lc s
  read -r lm lr lc <<<"$(library "$scpus" "$threads" "$batch" "$iterations")"; lib+=("$lm $lr")
  # Library CPU per image: a window's process CPU minus the 5-iteration calibration run's (start-up, weights,
  # warm-up), over the extra images. Less moved by other jobs than wall-clock time (see docs/serving.md).
  lib_cpu() { python3 -c "print(round(max(0.0, $1 - $fixed_cpu) * 1000 / (($iterations - 5) * $batch), 2))"; }
  cpu+=("$(lib_cpu "$lc")")
  for i in $(seq 1 "$PAIRS"); do
    s="$(server_window "$ccpus" "$c")"
    read -r lm lr lc <<<"$(library "$scpus" "$threads" "$batch" "$iterations")"; lib+=("$lm $lr"); cpu+=("$(lib_cpu "$lc")")
    local before="${lib[$((i - 1))]}" after="${lib[$i]}" value
    if [ "$kind" = latency ]; then
      value="$(python3 -c "print(round($(field p50_ms <<<"$s") - (${before% *} + ${after% *}) / 2, 2))")"
      echo "  $name pair=$i library_b1_median_ms=${before% *},${after% *} server_p50_ms=$(field p50_ms <<<"$s") difference_ms=$value | $s"
      local f floor_value
      f="$(floor_window "$scpus" "$ccpus" "${after% *}")"
      floor_value="$(python3 -c "print(round($(field p50_ms <<<"$f") - ${after% *}, 2))")"
      echo "    transport floor (floor.c, spinning ${after% *} ms): p50_ms=$(field p50_ms <<<"$f") difference_ms=$floor_value server_above_floor_ms=$(python3 -c "print(round($value - $floor_value, 2))")"
      floors+=("$floor_value")
    else
      value="$(python3 -c "print(round($(field requests_per_s <<<"$s") / ((${before#* } + ${after#* }) / 2), 3))")"
      echo "  $name pair=$i library_b${batch}_img_s=${before#* },${after#* } server_img_s=$(field requests_per_s <<<"$s") ratio=$value | $s"
    fi
    local cpu_ratio
    cpu_ratio="$(python3 -c "print(round((${cpu[$((i - 1))]} + ${cpu[$i]}) / 2 / max(0.01, $(field total <<<"$s")), 3))")"
    echo "    cpu ms per image: library=${cpu[$((i - 1))]},${cpu[$i]} server_total=$(field total <<<"$s") cpu_ratio=$cpu_ratio"
    cpu_ratios+=("$cpu_ratio")
    results+=("$value")
  done
  kill -TERM "$SERVER"; wait "$SERVER" || true
  SERVER=
  python3 - "$name" "$kind" "$iterations" "${cpu_ratios[*]}" "${floors[*]}" "${results[@]}" <<'EOF'
import statistics, sys
name, kind, iterations, values = sys.argv[1], sys.argv[2], sys.argv[3], [float(v) for v in sys.argv[6:]]
cpu_ratios = [float(v) for v in sys.argv[4].split()]
met = sum(v <= 1.0 if kind == "latency" else v >= 0.85 for v in values)
label = "difference_ms" if kind == "latency" else "ratio"
print(f"{name} {label} median={statistics.median(values):.3g} spread={min(values):.3g}..{max(values):.3g}"
      f" pairs={len(values)} target_met={met}/{len(values)} cpu_ratio median={statistics.median(cpu_ratios):.3g}"
      f" spread={min(cpu_ratios):.3g}..{max(cpu_ratios):.3g} (library iterations per window: {iterations})")
if kind == "latency":
    floors = [float(v) for v in sys.argv[5].split()]
    above = [v - f for v, f in zip(values, floors)]
    print(f"{name} transport_floor_ms median={statistics.median(floors):.3g} spread={min(floors):.3g}..{max(floors):.3g}"
          f" server_above_floor_ms median={statistics.median(above):.3g} spread={min(above):.3g}..{max(above):.3g}")
EOF
}

for round in $(seq 1 "$ROUNDS"); do
  for layout in ${POINTS//,/ }; do
    if [ "$layout" = shared ]; then scpus="0-$((CORES - 1))"; ccpus="$scpus"; threads="$CORES"
    else scpus="1-$((CORES - 1))"; ccpus=0; threads="$((CORES - 1))"; fi
    echo "round=$round layout=$layout (server/library cpus $scpus, $threads threads; wrk cpus $ccpus) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    point "round=$round layout=$layout c=1 batching=off" latency "$scpus" "$ccpus" "$threads" 1 1 \
      --threads "$threads" --max-batch-size 1
    point "round=$round layout=$layout c=32 batching=16" throughput "$scpus" "$ccpus" "$threads" 16 32 \
      --threads "$threads" --max-batch-size 16 --max-queue-delay-us 2000
    if [ "$layout" = shared ] && [ "$CORES" -gt 1 ]; then
      point "round=$round layout=$layout c=32 batching=16 executors=${CORES}x1" throughput "$scpus" "$ccpus" "$threads" 16 32 \
        --executors "$CORES" --threads 1 --max-batch-size 16 --max-queue-delay-us 2000
    fi
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
