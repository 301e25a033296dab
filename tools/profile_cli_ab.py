#!/usr/bin/python3
"""Per-layer-kind A/B of two `fasternet` CLI builds: their bf16 profiles alternate, layer seconds summed per kind.

    /usr/bin/python3 tools/profile_cli_ab.py MODEL THREADS ROUNDS name=path/to/fasternet name2=path/to/fasternet ...

Prints per kind the median time of each build, the median of the per-run ratios to the first build, and GFLOP/s.
"""
import json, subprocess, sys, statistics, collections
if len(sys.argv) < 6:
    sys.exit(__doc__)
builds = dict(a.split("=", 1) for a in sys.argv[4:])
model, threads, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
res = {b: collections.defaultdict(list) for b in builds}
for r in range(rounds):
    order = list(builds) if r % 2 == 0 else list(builds)[::-1]
    for b in order:
        out = subprocess.run([builds[b], "profile", "-m", model, "--precision", "bf16", "-t", threads,
                              "-n", "7", "--warmup", "2", "--json"], capture_output=True, text=True, check=True).stdout
        d = json.loads(out)
        kinds = collections.defaultdict(float); flops = collections.defaultdict(float)
        for l in d["layers"]:
            kinds[l["kind"]] += l["seconds"]; flops[l["kind"]] += l["flops"]
        for k, v in kinds.items(): res[b][k].append(v)
        res[b]["_sum"].append(d["layer_seconds"]); res[b]["_model"].append(d["model_seconds"])
        res[b]["_peak"].append(d["peak_gflops"])
        res[b]["_flops"] = flops
names = list(builds); base = names[0]
print(f"model {model} threads {threads} rounds {rounds}; medians ms (min), ratio to {base}")
print(f"{'kind':18}" + "".join(f"{n:>24}" for n in names))
for k in res[base]:
    if k == "_flops": continue
    scale = 1 if k == "_peak" else 1e3
    row = f"{k:18}"
    for n in names:
        m = statistics.median(res[n][k]); ratio = statistics.median([a / b for a, b in zip(res[n][k], res[base][k])])
        gf = res[n]["_flops"][k] / m / 1e9 if not k.startswith("_") and m > 0 else 0
        row += f"{m*scale:9.2f} x{ratio:5.3f} {gf:6.0f}GF"
    print(row)
