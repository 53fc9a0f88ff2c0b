"""RegNetX and RegNetY (Radosavovic, Kosaraju, Girshick, He & Dollár, "Designing network design
spaces", CVPR 2020).

RegNet is not one hand-designed network but a *rule* that a search over a design space (AnyNet)
narrowed down to: block widths grow linearly with depth, ``u_j = w_0 + w_a j``, and are then
quantized to powers of a multiplier ``w_m`` (``s_j = round(log(u_j / w_0) / log w_m)``,
``w_j = w_0 w_m^{s_j}``) and to multiples of 8; the blocks of equal width form a stage.
Every block is a residual bottleneck with a grouped 3x3 convolution of group width ``g`` (and no
width reduction); RegNetY adds squeeze-and-excitation (a quarter of the block's input width).
:func:`regnet_widths` applies the rule; the layout is torchvision's (``regnet_x_400mf``,
``regnet_y_400mf``) parameter for parameter.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import ConvBNAct, SqueezeExcitation, make_divisible

__all__ = ["REGNET_CONFIGS", "regnet_widths", "RegNetBlock", "regnet"]

#: (depth d, w_0, w_a, w_m, group width g, squeeze-and-excitation ratio) of the 400 MF models,
#: Radosavovic et al. (2020), Table 5 / their model zoo, as torchvision builds them.
REGNET_CONFIGS = {
    "x_400mf": (22, 24, 24.48, 2.54, 16, 0.0),
    "y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
}


def regnet_widths(depth: int, w_0: float, w_a: float, w_m: float, group_width: int):
    """The stages of the rule: ``(widths, depths, group widths)``, one entry per stage.

    Widths ``u_j = w_0 + w_a j`` (j = 0..depth-1), snapped to ``w_0 w_m^round(log_{w_m}(u_j/w_0))``
    and rounded to a multiple of 8; consecutive blocks of one width form a stage; a stage's group
    width is at most its width, and its width a multiple of its group width. Computed in float32,
    as the reference code does, so that rounding ties fall the same way."""
    j = torch.arange(depth, dtype=torch.float32, device="cpu")     # also under torch.device("meta")
    u = j * w_a + w_0
    s = torch.round(torch.log(u / w_0) / math.log(w_m))
    widths = (torch.round(w_0 * torch.pow(w_m, s) / 8) * 8).int().tolist()
    stages: list[list[int]] = []                      # [width, blocks]
    for w in widths:
        if stages and stages[-1][0] == w:
            stages[-1][1] += 1
        else:
            stages.append([w, 1])
    groups = [min(group_width, w) for w, _ in stages]
    out_widths = [make_divisible(w, g) for (w, _), g in zip(stages, groups)]
    return out_widths, [n for _, n in stages], groups


class RegNetBlock(nn.Module):
    """RegNet's residual bottleneck (ratio 1): 1x1, grouped 3x3 (stride here), optional
    squeeze-and-excitation, 1x1 without activation; a strided 1x1 projection when the shape
    changes; ReLU after the sum."""

    def __init__(self, c_in: int, c_out: int, stride: int, group_width: int, se_ratio: float):
        super().__init__()
        self.proj = (ConvBNAct(c_in, c_out, 1, stride, act=None)
                     if c_in != c_out or stride != 1 else None)
        layers = [ConvBNAct(c_in, c_out, 1), ConvBNAct(c_out, c_out, 3, stride,
                                                       groups=c_out // group_width)]
        if se_ratio:
            layers.append(SqueezeExcitation(c_out, int(round(se_ratio * c_in)), act=nn.ReLU))
        layers.append(ConvBNAct(c_out, c_out, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.act(self.body(x) + shortcut)


def regnet(config: str, num_classes: int = 1000, variant: str = "torchvision") -> nn.Module:
    """RegNetX-400MF or RegNetY-400MF (``config`` ``"x_400mf"`` or ``"y_400mf"``): a 3x3
    stride-2 stem of 32 channels, four stages from :func:`regnet_widths`, each starting with a
    stride-2 block, global average pooling and one dense layer. ``variant="paper"`` is the same
    network (torchvision follows the reference code)."""
    depth, w_0, w_a, w_m, g, se = REGNET_CONFIGS[config]
    widths, depths, groups = regnet_widths(depth, w_0, w_a, w_m, g)
    layers: list[nn.Module] = [ConvBNAct(3, 32, 3, 2)]
    c = 32
    for w, n, gw in zip(widths, depths, groups):
        layers.append(nn.Sequential(*(RegNetBlock(c if i == 0 else w, w, 2 if i == 0 else 1, gw, se)
                                      for i in range(n))))
        c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes)]
    return nn.Sequential(*layers)
