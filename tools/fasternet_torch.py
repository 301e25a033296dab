#!/usr/bin/python3
"""PyTorch definition of FasterNet with the official module and parameter names.

This is the reference model for FasterNet.NET: the fixtures in tests/fixtures
and the trained Fashion-MNIST model in models/fashion-mnist are produced with it.
Its state_dict keys are those of the official checkpoints, e.g.

    patch_embed.proj.weight, patch_embed.norm.{weight,bias,running_mean,running_var,num_batches_tracked}
    stages.0.blocks.0.spatial_mixing.partial_conv3.weight
    stages.0.blocks.0.mlp.0.weight   (1x1 conv dim -> hidden, no bias)
    stages.0.blocks.0.mlp.1.*        (BatchNorm2d(hidden))
    stages.0.blocks.0.mlp.3.weight   (1x1 conv hidden -> dim, no bias)
    stages.1.reduction.weight, stages.1.norm.*   (PatchMerging)
    avgpool_pre_head.1.weight, head.weight, head.bias   (classifier)
    norm0, norm2, norm4, norm6                          (backbone, fork_feat=True)

timm_state_dict() gives the same tensors under timm's names (timm/models/fasternet.py).

Run it directly to print parameter counts and multiply-accumulate counts of the
six published variants and compare them with the paper's table:

    /usr/bin/python3 tools/fasternet_torch.py
"""

import math
from collections import OrderedDict
from typing import Dict, List, Sequence

import torch
import torch.nn as nn

__all__ = [
    "PartialConv3", "MLPBlock", "BasicStage", "PatchEmbed", "PatchMerging", "FasterNet",
    "VARIANTS", "fasternet", "fasternet_t0", "fasternet_t1", "fasternet_t2",
    "fasternet_s", "fasternet_m", "fasternet_l", "from_config", "config_of",
    "randomize_bn", "randomize_weights", "set_num_batches_tracked", "count_params", "count_macs",
    "timm_state_dict",
]


def _make_act(act: str) -> nn.Module:
    act = act.lower()
    if act == "gelu":
        return nn.GELU()  # exact (erf) form, PyTorch's default
    if act == "relu":
        return nn.ReLU(inplace=False)
    raise ValueError(f"unknown activation {act!r} (expected 'gelu' or 'relu')")


class PartialConv3(nn.Module):
    """PConv: 3x3 conv (stride 1, pad 1, no bias) on the first dim // n_div channels."""

    def __init__(self, dim: int, n_div: int):
        super().__init__()
        self.dim_conv3 = dim // n_div
        self.dim_untouched = dim - self.dim_conv3
        if self.dim_conv3 < 1:
            raise ValueError(f"dim {dim} // n_div {n_div} must be >= 1")
        self.partial_conv3 = nn.Conv2d(self.dim_conv3, self.dim_conv3, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.partial_conv3(x[:, : self.dim_conv3])
        return torch.cat((x1, x[:, self.dim_conv3:]), dim=1)


class MLPBlock(nn.Module):
    """FasterNet block: x + PW2(act(BN(PW1(PConv(x)))))."""

    def __init__(self, dim: int, n_div: int, mlp_ratio: float, act: str):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.spatial_mixing = PartialConv3(dim, n_div)
        self.mlp = nn.Sequential(
            nn.Conv2d(dim, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            _make_act(act),
            nn.Conv2d(hidden, dim, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.spatial_mixing(x))


class BasicStage(nn.Module):
    def __init__(self, dim: int, depth: int, n_div: int, mlp_ratio: float, act: str):
        super().__init__()
        self.blocks = nn.Sequential(*[MLPBlock(dim, n_div, mlp_ratio, act) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, patch_stride: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, patch_stride, bias=False)
        self.norm = nn.BatchNorm2d(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x))


class PatchMerging(nn.Module):
    def __init__(self, patch_size2: int, patch_stride2: int, dim: int):
        super().__init__()
        self.reduction = nn.Conv2d(dim, 2 * dim, patch_size2, patch_stride2, bias=False)
        self.norm = nn.BatchNorm2d(2 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.reduction(x))


class FasterNet(nn.Module):
    """FasterNet classifier (fork_feat=False) or four-map backbone (fork_feat=True)."""

    def __init__(self, in_chans: int = 3, num_classes: int = 1000, embed_dim: int = 96,
                 depths: Sequence[int] = (1, 2, 8, 2), n_div: int = 4, mlp_ratio: float = 2.0,
                 act: str = "relu", patch_size: int = 4, patch_stride: int = 4,
                 patch_size2: int = 2, patch_stride2: int = 2, feature_dim: int = 1280,
                 fork_feat: bool = False):
        super().__init__()
        self.config = dict(in_chans=in_chans, num_classes=num_classes, embed_dim=embed_dim,
                           depths=list(depths), n_div=n_div, mlp_ratio=float(mlp_ratio),
                           act=act.lower(), patch_size=patch_size, patch_stride=patch_stride,
                           patch_size2=patch_size2, patch_stride2=patch_stride2,
                           feature_dim=feature_dim, fork_feat=bool(fork_feat))
        self.num_stages = len(depths)
        self.fork_feat = fork_feat
        self.num_features = int(embed_dim * 2 ** (self.num_stages - 1))

        self.patch_embed = PatchEmbed(patch_size, patch_stride, in_chans, embed_dim)
        stages: List[nn.Module] = []
        for i, depth in enumerate(depths):
            dim = int(embed_dim * 2 ** i)
            stages.append(BasicStage(dim, depth, n_div, mlp_ratio, act))
            if i < self.num_stages - 1:
                stages.append(PatchMerging(patch_size2, patch_stride2, dim))
        self.stages = nn.Sequential(*stages)

        if fork_feat:
            self.out_indices = [2 * i for i in range(self.num_stages)]  # 0, 2, 4, 6
            for i_emb, i_layer in enumerate(self.out_indices):
                self.add_module(f"norm{i_layer}", nn.BatchNorm2d(int(embed_dim * 2 ** i_emb)))
        else:
            self.avgpool_pre_head = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Conv2d(self.num_features, feature_dim, 1, bias=False),
                _make_act(act),
            )
            self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor):
        x = self.patch_embed(x)
        if self.fork_feat:
            outs = []
            for idx, stage in enumerate(self.stages):
                x = stage(x)
                if idx in self.out_indices:
                    outs.append(getattr(self, f"norm{idx}")(x))
            return outs
        x = self.stages(x)
        x = self.avgpool_pre_head(x)
        x = torch.flatten(x, 1)
        return self.head(x)


# timm's FasterNet (timm/models/fasternet.py) holds the same tensors under other names: each merging
# layer sits in the stage it starts (stages.{i}.downsample), and the head is conv_head / classifier.
# Written as timm's own checkpoint_filter_fn table (official prefix -> timm prefix), for four stages.
TIMM_PREFIXES = [
    ("avgpool_pre_head.1.", "conv_head."), ("head.", "classifier."),
    ("stages.1.", "stages.1.downsample."), ("stages.2.", "stages.1."),
    ("stages.3.", "stages.2.downsample."), ("stages.4.", "stages.2."),
    ("stages.5.", "stages.3.downsample."), ("stages.6.", "stages.3."),
]


def timm_state_dict(state_dict: dict) -> "OrderedDict[str, torch.Tensor]":
    """An official-layout state_dict (four stages) with timm's names, same tensors, same order."""
    out = OrderedDict()
    for name, tensor in state_dict.items():
        for official, timm in TIMM_PREFIXES:
            if name.startswith(official):
                name = timm + name[len(official):]
                break
        out[name] = tensor
    assert len(out) == len(state_dict), "two official names became one timm name"
    return out


# name: (embed_dim, depths, act)
VARIANTS: Dict[str, tuple] = {
    "t0": (40, (1, 2, 8, 2), "gelu"),
    "t1": (64, (1, 2, 8, 2), "gelu"),
    "t2": (96, (1, 2, 8, 2), "relu"),
    "s": (128, (1, 2, 13, 2), "relu"),
    "m": (144, (3, 4, 18, 3), "relu"),
    "l": (192, (3, 4, 18, 3), "relu"),
}

# Published numbers (params in millions, GMACs at 224x224).
PAPER = {
    "t0": (3.9, 0.34), "t1": (7.6, 0.85), "t2": (15.0, 1.90),
    "s": (31.1, 4.55), "m": (53.5, 8.72), "l": (93.4, 15.49),
}


def fasternet(variant: str, num_classes: int = 1000, in_chans: int = 3,
              fork_feat: bool = False) -> FasterNet:
    embed_dim, depths, act = VARIANTS[variant.lower()]
    return FasterNet(in_chans=in_chans, num_classes=num_classes, embed_dim=embed_dim,
                     depths=depths, act=act, fork_feat=fork_feat)


def fasternet_t0(**kw): return fasternet("t0", **kw)
def fasternet_t1(**kw): return fasternet("t1", **kw)
def fasternet_t2(**kw): return fasternet("t2", **kw)
def fasternet_s(**kw): return fasternet("s", **kw)
def fasternet_m(**kw): return fasternet("m", **kw)
def fasternet_l(**kw): return fasternet("l", **kw)


CONFIG_KEYS = ("in_chans", "num_classes", "embed_dim", "depths", "n_div", "mlp_ratio", "act",
               "patch_size", "patch_stride", "patch_size2", "patch_stride2", "feature_dim",
               "fork_feat")


def from_config(cfg: dict) -> FasterNet:
    """Build a model from a config.json dict (extra keys such as mean/std are ignored)."""
    return FasterNet(**{k: cfg[k] for k in CONFIG_KEYS if k in cfg})


def config_of(model: FasterNet) -> dict:
    return dict(model.config)


def randomize_bn(model: nn.Module, generator: torch.Generator,
                 var_range=(0.5, 2.0), weight_range=(0.5, 1.5), bias_std=0.2,
                 mean_std=0.2) -> None:
    """Give every BatchNorm random affine parameters and running statistics,
    so that BN folding is really exercised (defaults would be an identity)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                lo, hi = weight_range
                m.weight.copy_(lo + (hi - lo) * torch.rand(n, generator=generator))
                # random sign on some weights: folding must handle negative gamma
                sign = torch.where(torch.rand(n, generator=generator) < 0.1, -1.0, 1.0)
                m.weight.mul_(sign)
                m.bias.copy_(bias_std * torch.randn(n, generator=generator))
                m.running_mean.copy_(mean_std * torch.randn(n, generator=generator))
                lo, hi = var_range
                m.running_var.copy_(lo + (hi - lo) * torch.rand(n, generator=generator))


def randomize_weights(model: nn.Module, generator: torch.Generator, pw2_gain: float = 0.5,
                      head_bias_std: float = 0.1) -> None:
    """Variance-preserving random weights for test fixtures: N(0, 1/fan_in) for every conv
    and linear weight (PW2, `mlp.3`, scaled by pw2_gain so the residual stream grows slowly).
    PyTorch's default init leaves logits tiny and nearly input-independent after many
    blocks; this keeps them of order 1 and clearly dependent on the input."""
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                std = 1.0 / math.sqrt(fan_in)
                if name.endswith("mlp.3"):
                    std *= pw2_gain
                m.weight.copy_(std * torch.randn(m.weight.shape, generator=generator))
                if m.bias is not None:
                    m.bias.copy_(head_bias_std * torch.randn(m.bias.shape, generator=generator))


def set_num_batches_tracked(model: nn.Module, value: int) -> None:
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.num_batches_tracked is not None:
            m.num_batches_tracked.fill_(value)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size=(224, 224), in_chans: int = None) -> int:
    """Multiply-accumulates of Conv2d and Linear layers for batch 1 (hooks on a real forward).
    BatchNorm, activations, pooling, the residual add and the concat are not counted."""
    macs = [0]

    def conv_hook(m: nn.Conv2d, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        macs[0] += out.numel() // out.shape[0] * k

    def linear_hook(m: nn.Linear, inp, out):
        macs[0] += out.numel() // out.shape[0] * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    if in_chans is None:
        in_chans = model.config["in_chans"]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, in_chans, *input_size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return macs[0]


def _analytic_macs(model: FasterNet, h: int, w: int) -> int:
    """Closed-form MAC count (same convention as count_macs) as a cross-check."""
    c = model.config
    def out(n, k, s): return (n - k) // s + 1
    h, w = out(h, c["patch_size"], c["patch_stride"]), out(w, c["patch_size"], c["patch_stride"])
    total = h * w * c["embed_dim"] * c["in_chans"] * c["patch_size"] ** 2
    for i, d in enumerate(c["depths"]):
        dim = c["embed_dim"] * 2 ** i
        cp = dim // c["n_div"]
        hid = int(dim * c["mlp_ratio"])
        total += d * h * w * (9 * cp * cp + 2 * dim * hid)
        if i < len(c["depths"]) - 1:
            h, w = out(h, c["patch_size2"], c["patch_stride2"]), out(w, c["patch_size2"], c["patch_stride2"])
            total += h * w * 2 * dim * dim * c["patch_size2"] ** 2
    if not c["fork_feat"]:
        total += model.num_features * c["feature_dim"] + c["feature_dim"] * c["num_classes"]
    return total


def _main():
    torch.set_num_threads(2)
    print(f"{'variant':8} {'params':>12} {'paper':>7} {'GMACs':>8} {'paper':>7}  ratio")
    for name in VARIANTS:
        m = fasternet(name)
        p = count_params(m)
        macs = count_macs(m)
        assert macs == _analytic_macs(m, 224, 224), name
        pp, pm = PAPER[name]
        print(f"{name.upper():8} {p:12,d} {pp:6.1f}M {macs / 1e9:8.3f} {pm:7.2f}  "
              f"params {p / 1e6 / pp:.3f}  macs {macs / 1e9 / pm:.3f}")
        del m


if __name__ == "__main__":
    _main()
