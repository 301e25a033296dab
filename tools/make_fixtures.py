#!/usr/bin/python3
"""Writes the PyTorch parity fixtures under tests/fixtures/ (tiny/, t0/, timm names, pipeline/, layers/).

Regenerate (from the repository root; needs Debian's python3-torch and numpy):

    /usr/bin/python3 tools/make_fixtures.py                 # everything
    /usr/bin/python3 tools/make_fixtures.py --only tiny t0  # some parts

Everything is seeded and deterministic for a given torch build (written with
torch 1.13 / numpy 1.24 on Debian 12). The reference outputs are computed in
float64 (model and input converted to double) and stored as float32, so they are
as exact as float32 storage allows; the script prints how far fp32 PyTorch is
from them (max abs diff / max |reference|). tests/fixtures/README.md describes
every file.
"""

import argparse
import json
import os
import struct
import sys
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fasternet_torch as fn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


# ----------------------------------------------------------------------------- helpers

def write_png(path: str, pixels: np.ndarray) -> None:
    """Writes an 8-bit PNG (H x W grayscale or H x W x 3 RGB), filter 0, zlib level 9."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        h, w = pixels.shape
        color_type, row_bytes = 0, w
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        h, w, _ = pixels.shape
        color_type, row_bytes = 2, 3 * w
    else:
        raise ValueError(f"unsupported pixel array shape {pixels.shape}")
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    assert len(raw) == h * (row_bytes + 1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def save_npy(directory: str, name: str, array, manifest: dict, note: str = "") -> None:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    array = np.ascontiguousarray(array)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    np.save(os.path.join(directory, name), array)
    manifest[name] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if note:
        manifest[name]["note"] = note


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def rel_diff(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float((a.double() - ref.double()).abs().max() / ref.double().abs().max())


def run(model: fn.FasterNet, x: torch.Tensor, dtype) -> object:
    model = model.to(dtype).eval()
    with torch.no_grad():
        return model(x.to(dtype))


def copy_model_double(model: fn.FasterNet) -> fn.FasterNet:
    m = fn.from_config(model.config)
    m.load_state_dict(model.state_dict())
    return m.double().eval()


def outputs_both(model: fn.FasterNet, x: torch.Tensor):
    """(float64 reference, fp32 PyTorch output) for one input; model left in fp32."""
    ref = run(copy_model_double(model), x, torch.float64)
    out32 = run(model, x, torch.float32)
    return ref, out32


def stats(ref: torch.Tensor) -> str:
    s = f"max|ref| {float(ref.abs().max()):.4f} std {float(ref.std()):.4f}"
    if ref.shape[0] > 1:  # how much the output depends on the input
        s += f" max|ref[0]-ref[1]| {float((ref[0] - ref[1]).abs().max()):.4f}"
    return s


def dir_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def shape_tag(x: torch.Tensor) -> str:
    return "x".join(str(s) for s in x.shape)


# ----------------------------------------------------------------------------- tiny

TINY_CONFIG = dict(in_chans=3, num_classes=7, embed_dim=12, depths=[1, 2, 1, 1], n_div=4,
                   mlp_ratio=2.0, act="gelu", patch_size=4, patch_stride=4, patch_size2=2,
                   patch_stride2=2, feature_dim=64, fork_feat=False)

ODD_CONFIG = dict(in_chans=1, num_classes=5, embed_dim=8, depths=[1, 1, 2, 1], n_div=3,
                  mlp_ratio=1.5, act="relu", patch_size=3, patch_stride=2, patch_size2=3,
                  patch_stride2=2, feature_dim=24, fork_feat=False)


def tiny_model() -> fn.FasterNet:
    """The tiny/ classifier with its random weights (the same every call)."""
    torch.manual_seed(1001)
    model = fn.from_config(TINY_CONFIG)
    fn.randomize_weights(model, torch.Generator().manual_seed(1004))
    fn.randomize_bn(model, torch.Generator().manual_seed(1002))
    fn.set_num_batches_tracked(model, 1234)
    return model.eval()


def make_tiny() -> None:
    out = os.path.join(FIXTURES, "tiny")
    os.makedirs(out, exist_ok=True)
    manifest = OrderedDict()

    model = tiny_model()
    sd = model.state_dict()
    torch.save(sd, os.path.join(out, "weights.pth"))
    wrapped = {"state_dict": OrderedDict(("model." + k, v) for k, v in sd.items()), "epoch": 1}
    torch.save(wrapped, os.path.join(out, "weights_wrapped.pth"))
    write_json(os.path.join(out, "config.json"), fn.config_of(model))

    g = torch.Generator().manual_seed(1003)
    inputs = [torch.randn(2, 3, 32, 32, generator=g), torch.randn(1, 3, 40, 56, generator=g)]
    worst = 0.0
    for x in inputs:
        tag = shape_tag(x)
        ref, out32 = outputs_both(model, x)
        d = rel_diff(out32, ref)
        worst = max(worst, d)
        print(f"tiny logits {tag}: {stats(ref)}  fp32 rel diff {d:.2e}")
        save_npy(out, f"input_{tag}.npy", x, manifest)
        save_npy(out, f"logits_{tag}.npy", ref, manifest, "float64 reference stored as float32")

    # backbone: its own weights (no head) incl. norm0..norm6
    bcfg = dict(TINY_CONFIG, fork_feat=True)
    torch.manual_seed(1011)
    backbone = fn.from_config(bcfg)
    fn.randomize_weights(backbone, torch.Generator().manual_seed(1014))
    fn.randomize_bn(backbone, torch.Generator().manual_seed(1012))
    fn.set_num_batches_tracked(backbone, 77)
    backbone.eval()
    torch.save(backbone.state_dict(), os.path.join(out, "backbone_weights.pth"))
    write_json(os.path.join(out, "backbone_config.json"), fn.config_of(backbone))
    for x in inputs:
        tag = shape_tag(x)
        refs, outs32 = outputs_both(backbone, x)
        for i, (r, o) in enumerate(zip(refs, outs32)):
            d = rel_diff(o, r)
            worst = max(worst, d)
            print(f"tiny backbone features_{i} {tag}: shape {tuple(r.shape)} {stats(r)} fp32 rel diff {d:.2e}")
            save_npy(out, f"features_{i}_{tag}.npy", r, manifest, "float64 reference stored as float32")

    # odd: a second, very small config with everything non-default: overlapping patch
    # embedding and merging (kernel 3, stride 2), n_div 3 (cp 2, 5, 10, 21), mlp_ratio 1.5
    # (hidden = int(dim * 1.5)), ReLU, one input channel, 5 classes, feature_dim 24.
    torch.manual_seed(1021)
    odd = fn.from_config(ODD_CONFIG)
    fn.randomize_weights(odd, torch.Generator().manual_seed(1022))
    fn.randomize_bn(odd, torch.Generator().manual_seed(1023))
    fn.set_num_batches_tracked(odd, 3)
    odd.eval()
    torch.save(odd.state_dict(), os.path.join(out, "odd_weights.pth"))
    write_json(os.path.join(out, "odd_config.json"), fn.config_of(odd))
    g = torch.Generator().manual_seed(1024)
    x = torch.randn(2, 1, 45, 53, generator=g)
    tag = shape_tag(x)
    ref, out32 = outputs_both(odd, x)
    d = rel_diff(out32, ref)
    worst = max(worst, d)
    print(f"tiny odd logits {tag}: {stats(ref)}  fp32 rel diff {d:.2e}")
    save_npy(out, f"odd_input_{tag}.npy", x, manifest)
    save_npy(out, f"odd_logits_{tag}.npy", ref, manifest, "float64 reference stored as float32")

    manifest["_fp32_torch_max_rel_diff"] = worst
    write_json(os.path.join(out, "manifest.json"), manifest)
    print(f"tiny/: {dir_size(out) / 1e6:.2f} MB")


# ----------------------------------------------------------------------------- t0

def t0_model_fp16():
    """(model, state_dict) of t0/: floating tensors stored as fp16, the model carrying exactly those values."""
    torch.manual_seed(2001)
    model = fn.fasternet_t0()
    fn.randomize_weights(model, torch.Generator().manual_seed(2005))
    fn.randomize_bn(model, torch.Generator().manual_seed(2002))
    fn.set_num_batches_tracked(model, 5000)
    model.eval()
    sd = model.state_dict()  # keeps the OrderedDict (and its _metadata) like official checkpoints
    for k in sd:
        if sd[k].is_floating_point():
            sd[k] = sd[k].half()
    # the reference model carries exactly the fp16-rounded weights
    model.load_state_dict(OrderedDict((k, v.float() if v.is_floating_point() else v) for k, v in sd.items()))
    return model, sd


def make_t0() -> None:
    out = os.path.join(FIXTURES, "t0")
    os.makedirs(out, exist_ok=True)
    manifest = OrderedDict()

    model, sd = t0_model_fp16()
    torch.save(sd, os.path.join(out, "weights.pth"))
    write_json(os.path.join(out, "config.json"), fn.config_of(model))

    g = torch.Generator().manual_seed(2003)
    inputs = [torch.randn(2, 3, 224, 224, generator=g), torch.randn(1, 3, 192, 256, generator=g)]
    worst = 0.0
    for x in inputs:
        tag = shape_tag(x)
        ref, out32 = outputs_both(model, x)
        d = rel_diff(out32, ref)
        worst = max(worst, d)
        print(f"t0 logits {tag}: {stats(ref)}  fp32 rel diff {d:.2e}")
        save_npy(out, f"input_{tag}.npy", x, manifest)
        save_npy(out, f"logits_{tag}.npy", ref, manifest, "float64 reference stored as float32")

    # backbone: same weights (head dropped) + randomized norm0..norm6 in backbone_norms.pth
    backbone = fn.fasternet_t0(fork_feat=True)
    missing, unexpected = backbone.load_state_dict(model.state_dict(), strict=False)
    assert all(k.startswith("norm") for k in missing), missing
    assert all(k.startswith(("avgpool_pre_head.", "head.")) for k in unexpected), unexpected
    gn = torch.Generator().manual_seed(2004)
    for idx in backbone.out_indices:
        fn.randomize_bn(getattr(backbone, f"norm{idx}"), gn)
    fn.set_num_batches_tracked(backbone, 5000)
    backbone.eval()
    norms = OrderedDict((k, v) for k, v in backbone.state_dict().items() if k.startswith("norm"))
    torch.save(norms, os.path.join(out, "backbone_norms.pth"))
    x = inputs[1]
    tag = shape_tag(x)
    refs, outs32 = outputs_both(backbone, x)
    for i, (r, o) in enumerate(zip(refs, outs32)):
        d = rel_diff(o, r)
        worst = max(worst, d)
        print(f"t0 backbone features_{i} {tag}: shape {tuple(r.shape)} {stats(r)} fp32 rel diff {d:.2e}")
        save_npy(out, f"features_{i}_{tag}.npy", r, manifest, "float64 reference stored as float32")

    manifest["_fp32_torch_max_rel_diff"] = worst
    write_json(os.path.join(out, "manifest.json"), manifest)
    print(f"t0/: {dir_size(out) / 1e6:.2f} MB")


# ----------------------------------------------------------------------------- timm

SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}


def write_safetensors(path: str, state_dict: dict) -> None:
    """The safetensors format by hand (no safetensors package in Debian 12): 8-byte header size, JSON header
    padded with spaces to 8 bytes, then each tensor's little-endian bytes in header order."""
    header, blobs, offset = OrderedDict(), [], 0
    header["__metadata__"] = {"format": "pt"}
    for name, tensor in state_dict.items():
        data = tensor.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def timm_hub_config(architecture: str, model: fn.FasterNet) -> dict:
    """config.json as timm's push_to_hub writes it beside model.safetensors (pretrained_cfg of fasternet_*.in1k)."""
    num_classes = model.config["num_classes"]
    return OrderedDict(
        architecture=architecture,
        num_classes=num_classes,
        num_features=model.num_features,
        global_pool="avg",
        pretrained_cfg=OrderedDict(
            tag="in1k", custom_load=False, input_size=[3, 224, 224], fixed_input_size=False,
            interpolation="bicubic", crop_pct=1.0, test_crop_pct=0.9, crop_mode="center",
            mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD), num_classes=num_classes, pool_size=[7, 7],
            first_conv="patch_embed.proj", classifier="classifier"),
    )


def make_timm() -> None:
    """The tiny/ and t0/ weights again under timm's names; the logits are those of tiny/ and t0/."""
    tiny = os.path.join(FIXTURES, "tiny")
    sd = tiny_model().state_dict()
    timm = fn.timm_state_dict(sd)
    torch.save(timm, os.path.join(tiny, "weights_timm.pth"))
    # DataParallel's prefix, fp32, safetensors: the prefix must be recognised in any format
    write_safetensors(os.path.join(tiny, "weights_timm_module.safetensors"),
                      OrderedDict(("module." + k, v) for k, v in timm.items()))
    print(f"tiny timm: {len(timm)} tensors, e.g. {[k for k in timm if 'downsample' in k][:2]}")

    out = os.path.join(FIXTURES, "t0_timm_hub")
    os.makedirs(out, exist_ok=True)
    model, sd = t0_model_fp16()
    write_safetensors(os.path.join(out, "model.safetensors"), fn.timm_state_dict(sd))
    write_json(os.path.join(out, "config.json"), timm_hub_config("fasternet_t0", model))
    print(f"t0_timm_hub/: {dir_size(out) / 1e6:.2f} MB")


# ----------------------------------------------------------------------------- pipeline

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def make_pipeline() -> None:
    out = os.path.join(FIXTURES, "pipeline")
    os.makedirs(out, exist_ok=True)
    manifest = OrderedDict()

    h, w = 23, 37
    rng = np.random.RandomState(3001)
    # random content with some structure (a gradient) so resizes are not pure noise
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255.0 / (w - 1), yy * 255.0 / (h - 1), (xx + yy) * 255.0 / (w + h - 2)], axis=-1)
    img = np.clip(base * 0.5 + rng.uniform(0, 128, size=(h, w, 3)), 0, 255).astype(np.uint8)
    img[0, 0] = (0, 0, 0)
    img[-1, -1] = (255, 255, 255)
    write_png(os.path.join(out, "image_37x23.png"), img)
    save_npy(out, "pixels_23x37x3_u8.npy", img, manifest, "decoded PNG, H x W x RGB, uint8")

    # x: 1 x 3 x H x W, pixels / 255, computed in float64 and stored as float32
    x = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).double() / 255.0
    save_npy(out, "image_1x3x23x37.npy", x, manifest, "pixels/255, NCHW")

    def interp(t, size, mode, antialias=False):
        return F.interpolate(t, size=size, mode=mode, align_corners=False, antialias=antialias)

    for mode in ("bilinear", "bicubic"):
        for size in ((16, 16), (30, 50)):
            name = f"{mode}_{size[0]}x{size[1]}.npy"
            save_npy(out, name, interp(x, size, mode), manifest,
                     f"F.interpolate(x, size={size}, mode='{mode}', align_corners=False, antialias=False)")
        name = f"{mode}_antialias_16x16.npy"
        save_npy(out, name, interp(x, (16, 16), mode, antialias=True), manifest,
                 f"F.interpolate(x, size=(16, 16), mode='{mode}', align_corners=False, antialias=True)")

    # (c) shorter side -> 32 (torchvision Resize(32) semantics), center crop 28 (crop_pct 0.875)
    crop, crop_pct = 28, 0.875
    short = int(crop / crop_pct)  # 32
    if h <= w:
        nh, nw = short, int(short * w / h)
    else:
        nh, nw = int(short * h / w), short
    resized = interp(x, (nh, nw), "bilinear")
    top = int(round((nh - crop) / 2.0))
    left = int(round((nw - crop) / 2.0))
    cropped = resized[:, :, top:top + crop, left:left + crop]
    save_npy(out, f"resize_short{short}_{nh}x{nw}.npy", resized, manifest,
             "bilinear, align_corners=False, antialias=False (both dims upsample)")
    save_npy(out, f"resize_short{short}_crop{crop}.npy", cropped, manifest,
             f"rows {top}:{top + crop}, cols {left}:{left + crop} of the resized image")

    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64).view(1, 3, 1, 1)
    save_npy(out, "normalized_image_1x3x23x37.npy", (x - mean) / std, manifest,
             "(pixels/255 - imagenet_mean) / imagenet_std, no resize")
    save_npy(out, f"eval_pipeline_1x3x{crop}x{crop}.npy", (cropped - mean) / std, manifest,
             "resize short side 32 + center crop 28 + ImageNet normalisation")

    manifest["_params"] = {"resize_short": short, "resized_hw": [nh, nw], "crop": crop,
                           "crop_pct": crop_pct, "crop_top": top, "crop_left": left,
                           "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
    write_json(os.path.join(out, "manifest.json"), manifest)
    print(f"pipeline/: {dir_size(out) / 1e3:.1f} kB  (resized {nh}x{nw}, crop at top {top}, left {left})")


# ----------------------------------------------------------------------------- layers

def module_macs(model: fn.FasterNet, height: int, width: int) -> "OrderedDict[str, int]":
    """Multiply-accumulates of every Conv2d and Linear for one image, by module name, counted
    by forward hooks on the torch modules themselves (independently of any closed form)."""
    macs = OrderedDict()
    handles = []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            def conv_hook(m, inp, out, name=name):
                per_output = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
                macs[name] = out.numel() // out.shape[0] * per_output
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            def linear_hook(m, inp, out, name=name):
                macs[name] = out.numel() // out.shape[0] * m.in_features
            handles.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model.eval()(torch.zeros(1, model.config["in_chans"], height, width))
    for h in handles:
        h.remove()
    return macs


def make_layers() -> None:
    """layers/state_dicts.json: for a few configs, the PyTorch state_dict's float tensors (name and
    shape, num_batches_tracked left out) and each conv/linear module's MACs at one input size,
    to check the native layer table against."""
    out = os.path.join(FIXTURES, "layers")
    os.makedirs(out, exist_ok=True)
    cases = [
        ("tiny", TINY_CONFIG, 40, 56),
        ("tiny_backbone", dict(TINY_CONFIG, fork_feat=True), 32, 32),
        ("odd", ODD_CONFIG, 45, 53),
        ("t0", fn.fasternet_t0().config, 224, 224),
    ]
    document = OrderedDict()
    for name, config, height, width in cases:
        torch.manual_seed(0)
        model = fn.from_config(config)
        tensors = [OrderedDict(name=k, shape=list(v.shape)) for k, v in model.state_dict().items()
                   if not k.endswith("num_batches_tracked")]
        document[name] = OrderedDict(config=model.config, height=height, width=width, tensors=tensors,
                                     module_macs=module_macs(model, height, width))
        print(f"layers {name}: {len(tensors)} tensors, {sum(document[name]['module_macs'].values())} MACs "
              f"at {height}x{width}")
    write_json(os.path.join(out, "state_dicts.json"), document)
    print(f"layers/: {dir_size(out) / 1e3:.1f} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=["tiny", "t0", "timm", "pipeline", "layers"],
                        default=["tiny", "t0", "timm", "pipeline", "layers"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for part in args.only:
        {"tiny": make_tiny, "t0": make_t0, "timm": make_timm, "pipeline": make_pipeline,
         "layers": make_layers}[part]()
    print(f"tests/fixtures total (all subdirectories): {dir_size(FIXTURES) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
