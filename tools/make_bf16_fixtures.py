#!/usr/bin/python3
"""Writes bf16-emulated reference logits beside the PyTorch parity fixtures.

For tests/fixtures/tiny (config.json, odd_config.json) and tests/fixtures/t0, it
loads the weights and inputs tools/make_fixtures.py wrote and runs the network in
float64 with the rounding points of FasterNet.NET's bf16 precision:

- PW1 (mlp.0) with its batch norm (mlp.1) folded in float64, the folded weight
  stored as float32 and then rounded to bf16 (round to nearest even); PW2
  (mlp.3) and PConv (partial_conv3) weights rounded from float32 to bf16;
  each merging conv (reduction) with its batch norm folded the same way as
  PW1, its bias (the norm's shift) kept as float32;
- the inputs of PConv (the first dim / n_div channels), of PW1 (PConv's output
  and the untouched channels), of PW2 (the activation's output) and of each
  merging conv rounded to float32 and then to bf16;
- everything else (embedding, head, bias, activation, residual stream) float64,
  as the float32 layers would be computed exactly.

Regenerate (from the repository root; Debian's python3-torch and numpy):

    /usr/bin/python3 tools/make_bf16_fixtures.py

The output files are bf16_logits_<input tag>.npy (float32), listed in each
directory's manifest.json under the same conventions as the other fixtures.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fasternet_torch as fn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
BN_EPS = 1e-5


# While measuring sensitivity: (generator, relative size) of the noise added where values are rounded.
_noise = None


def round_to_bf16(values: torch.Tensor) -> torch.Tensor:
    """float64 -> float32 -> bf16 (nearest even, NaN kept) -> float64."""
    if _noise is not None:
        generator, size = _noise
        values = values * (1 + size * torch.randn(values.shape, generator=generator, dtype=torch.float64))
    f32 = values.detach().to(torch.float32).numpy()
    bits = f32.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    nan = np.isnan(f32)
    rounded[nan] = ((bits[nan] >> 16) | 0x40) << 16
    return torch.from_numpy(rounded.astype(np.uint32).view(np.float32).astype(np.float64)).reshape(values.shape)


def fold_to_bf16(conv: torch.nn.Conv2d, bn: torch.nn.BatchNorm2d):
    """conv + BN folded in float64, the weight stored as float32 then rounded to bf16, the bias float32."""
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + BN_EPS)
    shift = bn.bias.double() - bn.running_mean.double() * scale
    folded = (conv.weight.double() * scale.view(-1, 1, 1, 1)).to(torch.float32)
    return round_to_bf16(folded), shift.to(torch.float32).double()  # the runtime keeps the bias as float32


class Bf16Block(torch.nn.Module):
    """One FasterNet block with PConv, PW1 and PW2 as FasterNet.NET's bf16 convs and GEMMs."""

    def __init__(self, block: fn.MLPBlock):
        super().__init__()
        self.cp = block.spatial_mixing.dim_conv3
        self.w_pconv = round_to_bf16(block.spatial_mixing.partial_conv3.weight.to(torch.float32))
        conv1, bn, act, conv2 = block.mlp
        self.w1, self.b1 = fold_to_bf16(conv1, bn)
        self.act = act
        self.w2 = round_to_bf16(conv2.weight.to(torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        partial = F.conv2d(round_to_bf16(x[:, : self.cp]), self.w_pconv, padding=1)
        mixed = torch.cat((partial, x[:, self.cp:]), dim=1)
        hidden = self.act(F.conv2d(round_to_bf16(mixed), self.w1) + self.b1.view(1, -1, 1, 1))
        return x + F.conv2d(round_to_bf16(hidden), self.w2)


class Bf16Merging(torch.nn.Module):
    """A merging conv + BN as FasterNet.NET's bf16 conv."""

    def __init__(self, merging: fn.PatchMerging):
        super().__init__()
        self.stride = merging.reduction.stride
        self.weight, self.bias = fold_to_bf16(merging.reduction, merging.norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(round_to_bf16(x), self.weight, self.bias, stride=self.stride)


def bf16_model(config: dict, state_dict) -> fn.FasterNet:
    model = fn.from_config(config)
    model.load_state_dict(state_dict)
    model = model.double().eval()
    for module in model.modules():
        if isinstance(module, fn.BasicStage):
            module.blocks = torch.nn.Sequential(*[Bf16Block(b) for b in module.blocks])
    model.stages = torch.nn.Sequential(
        *[Bf16Merging(m) if isinstance(m, fn.PatchMerging) else m for m in model.stages])
    return model


def write_reference(directory: str, config_name: str, weights_name: str, prefix: str, inputs) -> None:
    with open(os.path.join(directory, config_name)) as f:
        config = json.load(f)
    state_dict = torch.load(os.path.join(directory, weights_name))
    state_dict = {k: (v.float() if v.is_floating_point() else v) for k, v in state_dict.items()}
    model = bf16_model(config, state_dict)
    fp32 = fn.from_config(config)
    fp32.load_state_dict(state_dict)
    fp32 = fp32.double().eval()
    manifest_path = os.path.join(directory, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    for input_name in inputs:
        tag = input_name.split("input_")[1][: -len(".npy")]
        x = torch.from_numpy(np.load(os.path.join(directory, input_name))).double()
        with torch.no_grad():
            logits = model(x)
            exact = fp32(x)
            # How far float32-sized differences move the emulation itself: noise of 2^-22 relative (a few
            # float32 ulps, what another summation order in a float32 layer gives) on every value about to
            # be rounded to bf16, four seeds. Values near a bf16 rounding boundary cross it, and each
            # crossing moves an input by 2^-8. No runtime can be held closer to the emulation than this.
            sensitivity = 0.0
            global _noise
            for seed in range(4):
                _noise = (torch.Generator().manual_seed(seed), 2.0 ** -22)
                perturbed = model(x)
                _noise = None
                sensitivity = max(sensitivity, float((perturbed - logits).abs().max() / logits.abs().max()))
        rel = float((logits - exact).abs().max() / exact.abs().max())
        same_top1 = bool((logits.argmax(1) == exact.argmax(1)).all())
        name = f"{prefix}bf16_logits_{tag}.npy"
        array = logits.to(torch.float32).numpy()
        np.save(os.path.join(directory, name), array)
        manifest[name] = {"shape": list(array.shape), "dtype": "float32",
                          "note": "bf16-emulated float64 reference (tools/make_bf16_fixtures.py) stored as float32; "
                                  f"max |diff| from the float64 fp32 reference / max |logit| = {rel:.2e}, "
                                  f"top-1 {'unchanged' if same_top1 else 'CHANGED'}; float32-sized noise where values are "
                                  f"rounded moves it by up to bf16_sensitivity (of the largest logit)",
                          "bf16_sensitivity": float(f"{sensitivity:.2e}")}
        print(f"{directory}/{name}: bf16 vs fp32 reference {rel:.2e} of the largest logit, top-1 "
              f"{'unchanged' if same_top1 else 'CHANGED'}; float32-sized noise where values are rounded moves it "
              f"by up to {sensitivity:.1e}")
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def main() -> None:
    torch.set_num_threads(2)
    tiny = os.path.join(FIXTURES, "tiny")
    write_reference(tiny, "config.json", "weights.pth", "", ["input_2x3x32x32.npy", "input_1x3x40x56.npy"])
    write_reference(tiny, "odd_config.json", "odd_weights.pth", "odd_", ["odd_input_2x1x45x53.npy"])
    write_reference(os.path.join(FIXTURES, "t0"), "config.json", "weights.pth", "", ["input_2x3x224x224.npy"])


if __name__ == "__main__":
    main()
