#!/usr/bin/python3
"""Before/after table from tools/bench_before_after.sh's JSON files (`fasternet bench all --save-json`).

    tools/bench_compare.py OUT_FOLDER [ROUND]

One row per model x batch x threads: each build's ratio ONNX Runtime median / FasterNet median
(measured in the same run, so both saw the same load), the after/before ratio of FasterNet's
median (noisy: the two builds ran minutes apart), and each run's measured FMA peak.
"""
import json
import os
import sys

folder, round_ = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "1"
print("| model | batch | threads | ratio ORT/FasterNet before | ratio after | FasterNet ms before | after | peak GFLOP/s before / after |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for model in ["t0", "t1", "t2", "s", "m", "l"]:
    sides = {}
    for side in ["before", "after"]:
        path = os.path.join(folder, f"{side}-{model}-{round_}.json")
        if os.path.exists(path):
            sides[side] = {(r["batch"], r["threads"]): r for r in json.load(open(path))["results"]}
    if len(sides) < 2:
        continue
    for key in sorted(sides["after"], key=lambda k: (k[1], k[0])):
        b, a = sides["before"].get(key), sides["after"][key]
        if b is None:
            continue
        print(f"| {model.upper()} | {key[0]} | {key[1]} | {b['peer']['ratio']:.2f}x | **{a['peer']['ratio']:.2f}x** | "
              f"{b['median_ms']:.1f} | {a['median_ms']:.1f} | {b['peak_gflops']:.0f} / {a['peak_gflops']:.0f} |")
