#!/usr/bin/python3
"""Two builds of libfasternet side by side in one process: the same bf16 (or fp32) model, same weights.

Each library file is loaded under its own copy (so the dynamic loader keeps them apart), both build
the model from one seeded state_dict (tools/fasternet_torch.py) through the C ABI, and the runs
alternate in blocks (A, B, B, A, ...), each block starting with one untimed run. Prints the medians,
B/A, and whether the two builds' logits are bit-identical. For A/B of a kernel or executor change
on a host whose load moves between runs (measuring each build in its own run would not do).

    git stash; ./build.sh; cp artifacts/native/linux-x64/libfasternet.so /tmp/before.so; git stash pop; ./build.sh
    /usr/bin/python3 tools/bench_library_ab.py /tmp/before.so artifacts/native/linux-x64/libfasternet.so \\
        --models t0,t2,s,m,l --threads 1 --blocks 20
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch_bf16 as bench  # noqa: E402  (sets GOMP_SPINCOUNT before numpy/torch load OpenMP)
import fasternet_torch  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("library_a")
    parser.add_argument("library_b")
    parser.add_argument("--models", default="t0,t2,s")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    parser.add_argument("--blocks", type=int, default=20, help="alternating blocks per build")
    parser.add_argument("--runs-per-block", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="fasternet-ab-")
    libs = {}
    for key, path in (("A", args.library_a), ("B", args.library_b)):
        if not os.path.isfile(path):
            sys.exit(f"{path}: no such library")
        copy = os.path.join(folder, f"libfasternet_{key}.so")
        shutil.copy(path, copy)
        libs[key] = bench.load_library(copy)
    precision = bench.PRECISION_BF16 if args.precision == "bf16" else 0
    generator = torch.Generator().manual_seed(args.seed)
    print(f"A = {args.library_a}\nB = {args.library_b}\n{args.precision}, {args.threads} thread(s), "
          f"{args.blocks} blocks x {args.runs_per_block} runs per build; CPU: {bench.cpu_name()}")
    print("| model | A median ms | B median ms | B/A | logits bit-identical |")
    print("|---|---:|---:|---:|---|")
    for variant in [m.strip().lower() for m in args.models.split(",") if m.strip()]:
        model = fasternet_torch.fasternet(variant)
        fasternet_torch.randomize_weights(model, generator)
        fasternet_torch.randomize_bn(model, generator)
        image = torch.randn((1, 3, 224, 224), generator=generator).numpy()
        runners = {}
        for key, lib in libs.items():
            runner = bench.FasterNetBf16(lib, model.config, model.state_dict(), args.threads, precision)
            runner.prepare(image)
            runners[key] = runner
        logits = {key: runner.run().copy() for key, runner in runners.items()}
        times = {key: [] for key in runners}
        for runner in runners.values():
            for _ in range(3):
                runner.run()
        for block in range(args.blocks):
            for key in ("A", "B") if block % 2 == 0 else ("B", "A"):
                runners[key].run()
                for _ in range(args.runs_per_block):
                    start = time.perf_counter()
                    runners[key].run()
                    times[key].append(time.perf_counter() - start)
        a, b = (statistics.median(times[key]) * 1e3 for key in ("A", "B"))
        same = np.array_equal(logits["A"], logits["B"])
        print(f"| {variant.upper()} | {a:.2f} | {b:.2f} | **{b / a:.3f}** | {'yes' if same else 'no'} |", flush=True)
        for runner in runners.values():
            runner.close()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
