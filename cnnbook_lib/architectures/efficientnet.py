"""EfficientNet-B0 to B7 (Tan & Le 2019): MBConv blocks and compound scaling."""
from __future__ import annotations

import math

from torch import nn

from .blocks import ConvBNAct, Residual, SqueezeExcitation, make_divisible

__all__ = ["EFFICIENTNET_B0_CONFIG", "EFFICIENTNET_SCALING", "compound_scaling", "mbconv",
           "efficientnet"]


#: Tan & Le (2019), Table 1 (B0): expansion, kernel, stride, input channels, output channels,
#: layers of each MBConv stage.
EFFICIENTNET_B0_CONFIG = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                          (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                          (6, 3, 1, 192, 320, 1))

#: (width, depth, resolution, dropout) of B0-B7 in the reference code (and torchvision).
EFFICIENTNET_SCALING = {
    "b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5),
}


def compound_scaling(phi: float, alpha: float = 1.2, beta: float = 1.1, gamma: float = 1.15,
                     resolution: int = 224) -> tuple[float, float, float]:
    """The compound-scaling rule of Tan & Le (2019), eq. 3: depth ``alpha^phi``, width
    ``beta^phi``, resolution ``gamma^phi`` times B0's, with ``alpha * beta^2 * gamma^2 ~ 2``
    (so MACs grow about ``2^phi``). Returns (width, depth, resolution).

    The published B1-B7 (:data:`EFFICIENTNET_SCALING`) were rounded by hand from this rule and do
    not follow it exactly (B7 is not phi = 7: its width 2.0 = 1.1^7.3 but depth 3.1 = 1.2^6.2).
    Rounding the channels and (up) the layer counts makes the MACs grow faster than ``2^phi``.
    """
    return beta ** phi, alpha ** phi, resolution * gamma ** phi


def mbconv(c_in: int, c_out: int, kernel: int, stride: int, expand: int, drop_prob: float = 0.0,
           bn: dict | None = None) -> nn.Module:
    """EfficientNet's MBConv: 1x1 expansion, depthwise ``kernel`` x ``kernel``, squeeze-excitation
    (squeezing to a quarter of the block's *input* channels), linear 1x1 projection; SiLU
    activations; a residual with stochastic depth when stride 1 and the channels are kept."""
    hidden, bn = make_divisible(c_in * expand), bn or {}
    expansion = [ConvBNAct(c_in, hidden, 1, act=nn.SiLU, **bn)] if hidden != c_in else []
    body = nn.Sequential(*expansion,
                         ConvBNAct(hidden, hidden, kernel, stride, groups=hidden, act=nn.SiLU,
                                   **bn),
                         SqueezeExcitation(hidden, max(1, c_in // 4)),
                         ConvBNAct(hidden, c_out, 1, act=None, **bn))
    return Residual(body, drop_prob=drop_prob) if stride == 1 and c_in == c_out else body


def efficientnet(scale: str, num_classes: int = 1000, variant: str = "torchvision",
                 width: float | None = None, depth: float | None = None,
                 dropout: float | None = None, stochastic_depth: float = 0.2) -> nn.Module:
    """EfficientNet-B0 to B7 of Tan & Le, "EfficientNet: Rethinking model scaling for
    convolutional neural networks", ICML 2019: torchvision's ``efficientnet_b*`` layout, which
    is the reference code's.

    B0 is Table 1. B1-B7 scale every stage's channels by ``width`` (rounded with
    :func:`make_divisible`) and its layers by ``depth`` (rounded up), with the coefficients of
    :data:`EFFICIENTNET_SCALING`; ``width`` and ``depth`` may be overridden (see
    :func:`compound_scaling`). Each network is meant for its resolution in that table (B0: 224,
    B7: 600); the paper's Table 2 gives the counts there (B0: 5.3 M parameters, 0.39 G "FLOPs",
    which are multiply-adds). Stochastic depth grows linearly from 0 to ``stochastic_depth``
    over the blocks. B5-B7 use batch normalization with eps 1e-3 and momentum 0.01 (weights
    ported from TensorFlow), as torchvision does. The paper's network is the same
    (``variant="paper"``).
    """
    w, d, _, p = EFFICIENTNET_SCALING[scale]
    w, d, p = width or w, depth or d, p if dropout is None else dropout
    bn = dict(eps=1e-3, momentum=0.01) if scale in ("b5", "b6", "b7") else {}
    stages = [(e, k, s, make_divisible(ci * w), make_divisible(co * w), math.ceil(n * d))
              for e, k, s, ci, co, n in EFFICIENTNET_B0_CONFIG]
    total, block_id = sum(st[-1] for st in stages), 0
    layers = [ConvBNAct(3, stages[0][3], 3, 2, act=nn.SiLU, **bn)]
    for e, k, s, c_in, c_out, n in stages:
        blocks = []
        for i in range(n):
            blocks.append(mbconv(c_in if i == 0 else c_out, c_out, k, s if i == 0 else 1, e,
                                 stochastic_depth * block_id / total, bn))
            block_id += 1
        layers.append(nn.Sequential(*blocks))
    last = 4 * stages[-1][4]
    layers.append(ConvBNAct(stages[-1][4], last, 1, act=nn.SiLU, **bn))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(p),
                         nn.Linear(last, num_classes))
