#!/usr/bin/env bash
# `fasternet bench all` of two builds, interleaved model by model so that the host's load
# falls on both alike: BEFORE and AFTER are the two CLIs, OUT the folder for the JSON files.
#   tools/bench_before_after.sh BEFORE_CLI AFTER_CLI OUT [ROUNDS] [MODELS]
# Each round runs every model on both builds, the order of the two alternating per model.
set -euo pipefail
before="$1" after="$2" out="$3" rounds="${4:-1}" models="${5:-t0 t1 t2 s m l}"
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  flip=0
  for model in $models; do
    if (( (flip + round) % 2 )); then order="before after"; else order="after before"; fi
    flip=$((flip + 1))
    for side in $order; do
      cli="$before"; [[ $side == after ]] && cli="$after"
      echo "== round $round $model $side $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
      "$cli" bench all --models "$model" --max-case-seconds 20 --markdown \
        --save-json "$out/$side-$model-$round.json" | grep -E '^\| [A-Z]'
    done
  done
done
