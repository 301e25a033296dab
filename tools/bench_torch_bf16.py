#!/usr/bin/python3
"""PyTorch's own bf16 CPU inference of FasterNet against FasterNet.NET's bf16, same weights, one process.

Both runtimes get the same state_dict: the PyTorch model of tools/fasternet_torch.py with seeded
random weights (or a checkpoint given with --weights), and libfasternet through its C ABI
(fasternet_model_create, ctypes) from those very tensors. Timing as `fasternet bench` does it:
warm-up runs of each, then timed runs in alternating blocks (FasterNet, PyTorch, PyTorch,
FasterNet, ...), each block starting with one untimed run; medians; ratio = PyTorch median /
FasterNet median (above 1: FasterNet is faster).

PyTorch is run the fastest way its CPU bf16 path allows at batch 1 (each is a --torch-mode):
  bf16      eval(), channels_last, weights and input .to(torch.bfloat16) (oneDNN convs; on a CPU with
            AMX it picks brgconv:avx512_core_amx_bf16, with AVX512-BF16 avx512_core_bf16)
  autocast  fp32 weights, channels_last, under torch.autocast("cpu", dtype=torch.bfloat16)
  jit       `bf16` traced, frozen (conv + batch-norm folding) and optimize_for_inference
Both runtimes use the same thread count (torch.set_num_threads; the model's num_threads).

    /usr/bin/python3 tools/bench_torch_bf16.py --models t0,s --threads 1,2 -n 30
    /usr/bin/python3 tools/bench_torch_bf16.py --models s --onednn-verbose   # which oneDNN kernels ran

Needs Debian's python3-torch (1.13) and numpy, and a built libfasternet (./build.sh).
"""

import argparse
import collections
import copy
import ctypes
import os
import statistics
import subprocess
import sys
import time

# As the managed loader does: OpenMP workers stop spinning soon after a run returns, so the
# runtime timed next does not share its core with them.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fasternet_torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_STAGES = 8  # FASTERNET_MAX_STAGES
MAX_DIMS = 8  # FASTERNET_MAX_DIMS
ACTIVATIONS = {"relu": 1, "gelu": 2}  # fasternet_activation
PRECISION_BF16 = 1  # FASTERNET_PRECISION_BFLOAT16


class ModelConfig(ctypes.Structure):
    _fields_ = [("in_channels", ctypes.c_int32), ("num_classes", ctypes.c_int32), ("embed_dim", ctypes.c_int32),
                ("num_stages", ctypes.c_int32), ("depths", ctypes.c_int32 * MAX_STAGES), ("n_div", ctypes.c_int32),
                ("mlp_ratio", ctypes.c_float), ("patch_size", ctypes.c_int32), ("patch_stride", ctypes.c_int32),
                ("patch_size2", ctypes.c_int32), ("patch_stride2", ctypes.c_int32), ("feature_dim", ctypes.c_int32),
                ("activation", ctypes.c_int32), ("backbone", ctypes.c_int32)]


class Tensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.POINTER(ctypes.c_float)), ("ndim", ctypes.c_int32),
                ("shape", ctypes.c_int64 * MAX_DIMS)]


class ModelOptions(ctypes.Structure):
    _fields_ = [("num_threads", ctypes.c_int32), ("kernel_set", ctypes.c_int32), ("precision", ctypes.c_int32),
                ("max_idle_scratch_bytes", ctypes.c_int64)]


def find_library(path):
    candidates = [path] if path else [
        os.path.join(ROOT, "artifacts", "bin", "runtimes", "linux-x64", "native", "libfasternet.so"),
        os.path.join(ROOT, "artifacts", "native", "linux-x64", "libfasternet.so"),
        os.path.join(ROOT, "build", "native", "native", "libfasternet.so"),
    ]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    sys.exit(f"libfasternet.so not found (looked at {', '.join(candidates)}); run ./build.sh or pass --library")


class FasterNetBf16:
    """libfasternet's bf16 (or, with precision 0, fp32) model over a PyTorch state_dict, through the C ABI."""

    def __init__(self, lib, cfg, state_dict, threads, precision=PRECISION_BF16):
        self.lib = lib
        config = ModelConfig(in_channels=cfg["in_chans"], num_classes=cfg["num_classes"],
                             embed_dim=cfg["embed_dim"], num_stages=len(cfg["depths"]), n_div=cfg["n_div"],
                             mlp_ratio=cfg["mlp_ratio"], patch_size=cfg["patch_size"],
                             patch_stride=cfg["patch_stride"], patch_size2=cfg["patch_size2"],
                             patch_stride2=cfg["patch_stride2"], feature_dim=cfg["feature_dim"],
                             activation=ACTIVATIONS[cfg["act"]], backbone=0)
        for i, depth in enumerate(cfg["depths"]):
            config.depths[i] = depth
        self.arrays = []  # kept alive until the model has copied them
        tensors = (Tensor * len(state_dict))()
        count = 0
        for name, value in state_dict.items():
            if not value.is_floating_point():
                continue  # num_batches_tracked
            array = np.ascontiguousarray(value.detach().float().numpy())
            self.arrays.append(array)
            t = tensors[count]
            t.name = name.encode()
            t.data = array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            t.ndim = array.ndim
            for d, size in enumerate(array.shape):
                t.shape[d] = size
            count += 1
        options = ModelOptions(num_threads=threads, kernel_set=0, precision=precision, max_idle_scratch_bytes=0)
        self.model = ctypes.c_void_p()
        self.check(lib.fasternet_model_create(ctypes.byref(config), tensors, count, ctypes.byref(options),
                                              ctypes.byref(self.model)))
        self.arrays = None
        self.kernels = lib.fasternet_model_precision_kernels(self.model).decode()
        self.classes = cfg["num_classes"]

    def check(self, status):
        if status != 0:
            raise RuntimeError(f"libfasternet status {status}: {self.lib.fasternet_last_error().decode()}")

    def prepare(self, image):
        """Binds the input and output arrays once, so a timed run allocates nothing."""
        self.input = np.ascontiguousarray(image, dtype=np.float32)
        batch, _, height, width = self.input.shape
        self.logits = np.zeros((batch, self.classes), dtype=np.float32)
        self.outputs = (ctypes.POINTER(ctypes.c_float) * 1)(self.logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        self.sizes = (ctypes.c_int64 * 1)(self.logits.size)
        self.args = (self.input.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), ctypes.c_int64(self.input.size),
                     batch, height, width, 1, self.outputs, self.sizes)

    def run(self):
        self.check(self.lib.fasternet_model_run(self.model, *self.args))
        return self.logits

    def close(self):
        self.lib.fasternet_model_destroy(self.model)


def load_library(path):
    lib = ctypes.CDLL(find_library(path))
    lib.fasternet_last_error.restype = ctypes.c_char_p
    lib.fasternet_model_precision_kernels.restype = ctypes.c_char_p
    lib.fasternet_model_precision_kernels.argtypes = [ctypes.c_void_p]
    lib.fasternet_model_create.argtypes = [ctypes.POINTER(ModelConfig), ctypes.POINTER(Tensor), ctypes.c_int32,
                                           ctypes.POINTER(ModelOptions), ctypes.POINTER(ctypes.c_void_p)]
    lib.fasternet_model_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64,
                                        ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32,
                                        ctypes.POINTER(ctypes.POINTER(ctypes.c_float)), ctypes.POINTER(ctypes.c_int64)]
    lib.fasternet_model_destroy.argtypes = [ctypes.c_void_p]
    lib.fasternet_measure_bf16_peak.argtypes = [ctypes.c_int32, ctypes.c_double, ctypes.POINTER(ctypes.c_double)]
    return lib


def torch_runner(model, image, mode):
    """A no-argument callable that runs PyTorch's bf16 inference once and returns fp32 logits."""
    model = model.eval().to(memory_format=torch.channels_last)
    x = torch.from_numpy(image).contiguous(memory_format=torch.channels_last)
    if mode == "autocast":
        def run():
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                return model(x).float()
        return run
    model = model.to(torch.bfloat16)
    x = x.to(torch.bfloat16)
    if mode == "jit":
        with torch.no_grad():
            traced = torch.jit.trace(model, x)
            model = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    def run():
        with torch.no_grad():
            return model(x).float()
    return run


def time_pair(ours, theirs, iterations, warmup, blocks=10):
    """Medians (seconds) of both, timed in alternating blocks."""
    for _ in range(warmup):
        ours()
        theirs()
    times = {"ours": [], "theirs": []}
    per_block = max(1, -(-iterations // blocks))
    for b in range(blocks):
        order = ("ours", "theirs") if b % 2 == 0 else ("theirs", "ours")
        for who in order:
            fn = ours if who == "ours" else theirs
            fn()  # untimed: caches hold this runtime's weights, not the other's
            for _ in range(per_block):
                start = time.perf_counter()
                fn()
                times[who].append(time.perf_counter() - start)
    return statistics.median(times["ours"]), statistics.median(times["theirs"])


def onednn_kernels(variant, mode):
    """The oneDNN implementations one PyTorch run of `variant` in `mode` used (its verbose log, in a child)."""
    code = ("import sys; sys.path.insert(0, %r); import bench_torch_bf16 as b; b.verbose_child(%r, %r)"
            % (os.path.dirname(os.path.abspath(__file__)), variant, mode))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, DNNL_VERBOSE="1", ONEDNN_VERBOSE="1"))
    counts = collections.Counter()
    for line in out.stdout.splitlines():
        parts = line.split(",")
        # onednn_verbose,exec,cpu,<primitive>,<implementation>,...
        if len(parts) > 5 and parts[1] == "exec" and parts[3] in ("convolution", "inner_product", "matmul"):
            counts[f"{parts[3]} {parts[4]}"] += 1
    return counts


def verbose_child(variant, mode):
    """Child of onednn_kernels: two runs (the second warm) with oneDNN's log on."""
    run = torch_runner(fasternet_torch.fasternet(variant), np.zeros((1, 3, 224, 224), dtype=np.float32), mode)
    run()
    run()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="t0,t1,t2,s,m,l", help="comma-separated variants")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--torch-mode", default="bf16,jit", help="comma-separated: bf16, autocast, jit")
    parser.add_argument("-n", "--iterations", type=int, default=30, help="timed runs per runtime")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs per runtime first")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights and input")
    parser.add_argument("--weights", help="a state_dict (.pth, official names) instead of random weights (one model)")
    parser.add_argument("--library", help="path of libfasternet.so (default: the ./build.sh outputs)")
    parser.add_argument("--onednn-verbose", action="store_true", help="print which oneDNN kernels PyTorch ran")
    args = parser.parse_args()

    lib = load_library(args.library)
    modes = [m.strip() for m in args.torch_mode.split(",") if m.strip()]
    for mode in modes:
        if mode not in ("bf16", "autocast", "jit"):
            sys.exit(f"--torch-mode: unknown mode {mode!r} (bf16, autocast, jit)")
    models = [m.strip().lower() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in fasternet_torch.VARIANTS:
            sys.exit(f"--models: unknown variant {m!r} ({', '.join(fasternet_torch.VARIANTS)})")
    if args.weights and len(models) != 1:
        sys.exit("--weights: name exactly one --models variant, the checkpoint's")
    threads = [int(t) for t in args.threads.split(",")]

    peak = ctypes.c_double()
    lib.fasternet_measure_bf16_peak(1, 0.2, ctypes.byref(peak))
    print(f"PyTorch {torch.__version__}, oneDNN {torch.backends.mkldnn.is_available() and 'on' or 'off'}; "
          f"CPU: {cpu_name()}; bf16 peak (1 thread, this run): {peak.value:.0f} GFLOP/s")
    print("| model | threads | PyTorch mode | FasterNet bf16 ms | PyTorch bf16 ms | ratio PyTorch/FasterNet "
          "| max rel diff of logits |")
    print("|---|---:|---|---:|---:|---:|---:|")
    generator = torch.Generator().manual_seed(args.seed)
    for variant in models:
        model = fasternet_torch.fasternet(variant)
        if args.weights:
            state = torch.load(args.weights, map_location="cpu")
            state = state.get("state_dict", state.get("model", state))
            model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
        else:
            fasternet_torch.randomize_weights(model, generator)
            fasternet_torch.randomize_bn(model, generator)
        model.eval()
        image = torch.randn((1, 3, 224, 224), generator=generator).numpy()
        with torch.no_grad():
            reference = model(torch.from_numpy(image)).numpy()
        scale = float(np.abs(reference).max())
        for t in threads:
            torch.set_num_threads(t)
            ours = FasterNetBf16(lib, model.config, model.state_dict(), t)
            ours.prepare(image)
            our_diff = float(np.abs(ours.run() - reference).max()) / scale
            for mode in modes:
                theirs = torch_runner(copy.deepcopy(model), image, mode)  # converts its own copy
                their_diff = float(np.abs(theirs().numpy() - reference).max()) / scale
                our_ms, their_ms = (s * 1e3 for s in time_pair(ours.run, theirs, args.iterations, args.warmup))
                print(f"| {variant.upper()} | {t} | {mode} | {our_ms:.2f} | {their_ms:.2f} | "
                      f"**{their_ms / our_ms:.2f}x** | ours {our_diff:.1e}, PyTorch {their_diff:.1e} |", flush=True)
            print(f"<!-- FasterNet bf16 kernels: {ours.kernels} -->")
            ours.close()
        if args.onednn_verbose:
            for mode in modes:
                kinds = onednn_kernels(variant, mode)
                listed = ", ".join(sorted(kinds)) or "none logged"
                print(f"oneDNN kernels, {variant.upper()} {mode}: {listed}")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
