#!/usr/bin/python3
"""Trains the small default FasterNet on Fashion-MNIST (CPU, 2 threads, a few minutes).

    apt-get install python3-torch dataset-fashion-mnist
    /usr/bin/python3 tools/train_fashion_mnist.py            # train, evaluate, export
    /usr/bin/python3 tools/train_fashion_mnist.py --samples-only   # re-export samples/ from the saved model

Writes
    models/fashion-mnist/weights.pth            plain fp32 state_dict, official FasterNet key names
    models/fashion-mnist/config.json            constructor args + pre-processing + accuracy
    models/fashion-mnist/test_predictions.npy   int32 (10000,) eval-mode fp32 PyTorch predictions
    models/fashion-mnist/test_logits.npy        float32 (10000, 10) the logits behind them
    samples/fashion-mnist/<k>_<label>.png       one test image per class, 28x28 grayscale PNG
    samples/fashion-mnist/labels.json           file -> true label, test-set index, PyTorch prediction

Pre-processing contract (the .NET side must do the same): gray pixels / 255, then
(x - 0.2860) / 0.3530, shape 1x28x28, no resize. 0.2860 and 0.3530 are the mean and
standard deviation of the Fashion-MNIST training pixels (scaled to [0, 1]).

Deterministic for a given torch build and thread count (seeded); results can differ
slightly with another thread count because of reduction order.
"""

import argparse
import gzip
import hashlib
import json
import math
import os
import struct
import sys
import time

# Without this, OpenMP worker threads spin-wait and a 2-thread run on a busy
# machine becomes several times slower than a 1-thread run.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fasternet_torch as fn  # noqa: E402
from make_fixtures import write_png  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
MODEL_DIR = os.path.join(ROOT, "models", "fashion-mnist")
SAMPLES_DIR = os.path.join(ROOT, "samples", "fashion-mnist")

MEAN, STD = 0.2860, 0.3530
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]

MODEL_CONFIG = dict(in_chans=1, num_classes=10, embed_dim=24, depths=[1, 2, 2, 1], n_div=4,
                    mlp_ratio=2.0, act="relu", patch_size=2, patch_stride=2, patch_size2=2,
                    patch_stride2=2, feature_dim=256, fork_feat=False)
# 28x28 -> patch 2/2 -> 14x14 (24 ch) -> 7x7 (48) -> 3x3 (96) -> 1x1 (192)


def read_idx(path: str) -> np.ndarray:
    """Reads a gzipped IDX file (big-endian header: 0x0000, type 0x08 = uint8, ndim, dims)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return arr.reshape(dims)


def load_split(split: str):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(DATA, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA, f"{prefix}-labels-idx1-ubyte.gz"))
    return x, y


def preprocess(pixels_u8: torch.Tensor) -> torch.Tensor:
    """N x 28 x 28 uint8 -> N x 1 x 28 x 28 float32, the documented contract."""
    x = pixels_u8.float().div(255.0).unsqueeze(1)
    return (x - MEAN) / STD


def augment(x01: torch.Tensor, gen: torch.Generator, pad: int = 2, flip: bool = True) -> torch.Tensor:
    """Random translation by up to `pad` pixels (zero = black padding) and horizontal flip,
    on N x 1 x 28 x 28 images in [0, 1]."""
    n, _, h, w = x01.shape
    out = x01
    if pad > 0:
        out = _shift(x01, gen, pad)
    if not flip:
        return out
    flips = torch.rand(n, generator=gen) < 0.5
    return torch.where(flips.view(n, 1, 1, 1), out.flip(3), out)


def _shift(x01: torch.Tensor, gen: torch.Generator, pad: int) -> torch.Tensor:
    n, _, h, w = x01.shape
    padded = F.pad(x01, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    out = torch.empty_like(x01)
    for oy in range(2 * pad + 1):
        for ox in range(2 * pad + 1):
            idx = ((dy == oy) & (dx == ox)).nonzero(as_tuple=True)[0]
            if idx.numel():
                out[idx] = padded[idx, :, oy:oy + h, ox:ox + w]
    return out


def evaluate(model, x_u8: torch.Tensor, batch: int = 1000):
    model.eval()
    logits = []
    with torch.no_grad():
        for i in range(0, x_u8.shape[0], batch):
            logits.append(model(preprocess(x_u8[i:i + batch])))
    return torch.cat(logits)


def slug(name: str) -> str:
    return name.lower().replace("/", "-").replace(" ", "-")


def export_samples(model, x_test: np.ndarray, y_test: np.ndarray) -> None:
    os.makedirs(SAMPLES_DIR, exist_ok=True)
    labels = {}
    for k, cls in enumerate(range(10)):
        idx = int(np.nonzero(y_test == cls)[0][0])  # first test image of each class
        fname = f"{k}_{slug(CLASS_NAMES[cls])}.png"
        write_png(os.path.join(SAMPLES_DIR, fname), x_test[idx])
        logits = evaluate(model, torch.from_numpy(x_test[idx:idx + 1].copy()))
        prob = torch.softmax(logits, 1)[0]
        pred = int(prob.argmax())
        labels[fname] = {"label": cls, "class_name": CLASS_NAMES[cls], "test_index": idx,
                         "pytorch_prediction": pred, "pytorch_probability": round(float(prob[pred]), 6)}
    with open(os.path.join(SAMPLES_DIR, "labels.json"), "w") as f:
        json.dump(labels, f, indent=2)
        f.write("\n")
    print(f"samples: {len(labels)} PNGs in {os.path.relpath(SAMPLES_DIR, ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--shift", type=int, default=0, help="random shift augmentation in pixels (0 = off)")
    ap.add_argument("--no-flip", action="store_true", help="disable random horizontal flips")
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t_start = time.time()

    x_test, y_test = load_split("test")
    if args.samples_only:
        cfg = json.load(open(os.path.join(MODEL_DIR, "config.json")))
        model = fn.from_config(cfg)
        model.load_state_dict(torch.load(os.path.join(MODEL_DIR, "weights.pth")))
        export_samples(model, x_test, y_test)
        return

    x_train, y_train = load_split("train")
    print(f"train {x_train.shape}, test {x_test.shape}; pixel mean {x_train.mean() / 255:.4f} "
          f"std {(x_train / 255.0).std():.4f}")
    xtr = torch.from_numpy(x_train.copy()).float().div(255.0).unsqueeze(1)
    ytr = torch.from_numpy(y_train.astype(np.int64))
    xte_u8 = torch.from_numpy(x_test.copy())
    yte = torch.from_numpy(y_test.astype(np.int64))

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    model = fn.from_config(MODEL_CONFIG)
    print(f"model: {fn.count_params(model):,} params, {fn.count_macs(model, (28, 28)) / 1e6:.2f} M MACs/image")

    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = math.ceil(xtr.shape[0] / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.2)
    for epoch in range(args.epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch:(i + 1) * args.batch]
            xb = (augment(xtr[idx], gen, args.shift, not args.no_flip) - MEAN) / STD
            yb = ytr[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * idx.numel()
            correct += int((out.argmax(1) == yb).sum())
            total += idx.numel()
            if (i + 1) % 100 == 0:
                print(f"  step {i + 1}/{steps_per_epoch} loss {loss_sum / total:.4f} "
                      f"({time.time() - t0:.0f} s)", flush=True)
        acc = float((evaluate(model, xte_u8).argmax(1) == yte).float().mean())
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / total:.4f} train acc {correct / total:.4f} "
              f"test acc {acc:.4f}  ({time.time() - t0:.0f} s)", flush=True)

    model.eval()
    logits = evaluate(model, xte_u8)
    pred = logits.argmax(1)
    acc = float((pred == yte).float().mean())
    pred_np = pred.numpy().astype(np.int32)
    print(f"final test accuracy (eval mode, fp32): {acc:.4f}")

    os.makedirs(MODEL_DIR, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(MODEL_DIR, "weights.pth"))
    np.save(os.path.join(MODEL_DIR, "test_predictions.npy"), pred_np)
    np.save(os.path.join(MODEL_DIR, "test_logits.npy"), logits.numpy().astype(np.float32))
    top2 = logits.topk(2, dim=1).values
    margin = (top2[:, 0] - top2[:, 1])
    cfg = dict(fn.config_of(model))
    cfg.update({
        "mean": [MEAN], "std": [STD], "input_size": [28, 28],
        "preprocessing": "grayscale pixels / 255, then (x - mean) / std per channel; 1x28x28; no resize",
        "class_names": CLASS_NAMES,
        "test_accuracy": round(acc, 4),
        "test_predictions_sha256": hashlib.sha256(pred_np.tobytes()).hexdigest(),
        "test_min_top2_margin": round(float(margin.min()), 6),
        "training": {"epochs": args.epochs, "batch": args.batch, "optimizer": "AdamW", "lr": args.lr,
                     "weight_decay": args.wd, "schedule": "OneCycle (pct_start 0.2)",
                     "label_smoothing": args.label_smoothing,
                     "augmentation": (f"random shift <= {args.shift} px (zero pad), " if args.shift else "")
                                     + ("no flip" if args.no_flip else "random horizontal flip"),
                     "seed": args.seed, "threads": args.threads, "torch": torch.__version__},
    })
    with open(os.path.join(MODEL_DIR, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    print(f"test predictions: {int((margin < 1e-3).sum())} have a top-2 logit margin < 1e-3 "
          f"(min {float(margin.min()):.2e})")
    export_samples(model, x_test, y_test)
    print(f"total wall time {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
