"""MobileNetV3-Large and MobileNetV3-Small (Howard et al. 2019): the searched inverted residual
blocks with squeeze-and-excitation and the hard-swish activation."""
from __future__ import annotations

from typing import Callable

from torch import nn

from .blocks import ConvBNAct, Residual, SqueezeExcitation, make_divisible

__all__ = ["MOBILENET_V3_LARGE", "MOBILENET_V3_SMALL", "mobilenet_v3_block", "mobilenet_v3"]


#: Howard et al. (2019), Table 1 (Large) and Table 2 (Small): the blocks after the 3x3/2 stem
#: (16 channels) as (kernel, expanded channels, output channels, SE, activation, stride), the
#: activation "RE" (ReLU) or "HS" (hard swish). The last pair is the final 1x1 convolution's
#: channels and the hidden dense layer's width.
MOBILENET_V3_LARGE = (
    (3, 16, 16, False, "RE", 1), (3, 64, 24, False, "RE", 2), (3, 72, 24, False, "RE", 1),
    (5, 72, 40, True, "RE", 2), (5, 120, 40, True, "RE", 1), (5, 120, 40, True, "RE", 1),
    (3, 240, 80, False, "HS", 2), (3, 200, 80, False, "HS", 1), (3, 184, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1), (3, 480, 112, True, "HS", 1), (3, 672, 112, True, "HS", 1),
    (5, 672, 160, True, "HS", 2), (5, 960, 160, True, "HS", 1), (5, 960, 160, True, "HS", 1),
)
MOBILENET_V3_SMALL = (
    (3, 16, 16, True, "RE", 2), (3, 72, 24, False, "RE", 2), (3, 88, 24, False, "RE", 1),
    (5, 96, 40, True, "HS", 2), (5, 240, 40, True, "HS", 1), (5, 240, 40, True, "HS", 1),
    (5, 120, 48, True, "HS", 1), (5, 144, 48, True, "HS", 1), (5, 288, 96, True, "HS", 2),
    (5, 576, 96, True, "HS", 1), (5, 576, 96, True, "HS", 1),
)
#: the width of the hidden dense layer of the head (Large, Small)
_HEAD = {"large": 1280, "small": 1024}
_ACT: dict[str, Callable[[], nn.Module]] = {"RE": nn.ReLU, "HS": nn.Hardswish}
_BN = dict(eps=1e-3, momentum=0.01)


def mobilenet_v3_block(c_in: int, kernel: int, expanded: int, c_out: int, se: bool,
                       act: Callable[[], nn.Module], stride: int) -> nn.Module:
    """MobileNetV3's block: MobileNet v2's inverted residual (1x1 expansion, skipped when
    ``expanded == c_in``; ``kernel`` x ``kernel`` depthwise; linear 1x1 projection) with the
    activation ``act`` and, if ``se``, squeeze-and-excitation after the depthwise convolution:
    a ReLU bottleneck of a quarter of the expanded channels (rounded to a multiple of 8) and a
    hard-sigmoid gate. Residual when stride 1 and the channels are kept."""
    layers = [ConvBNAct(c_in, expanded, 1, act=act, **_BN)] if expanded != c_in else []
    layers.append(ConvBNAct(expanded, expanded, kernel, stride, groups=expanded, act=act, **_BN))
    if se:
        layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4), act=nn.ReLU,
                                        gate=nn.Hardsigmoid))
    layers.append(ConvBNAct(expanded, c_out, 1, act=None, **_BN))
    body = nn.Sequential(*layers)
    return Residual(body) if stride == 1 and c_in == c_out else body


def mobilenet_v3(size: str, num_classes: int = 1000, variant: str = "torchvision",
                 width: float = 1.0, dropout: float = 0.2) -> nn.Module:
    """MobileNetV3-Large or -Small (``size``) of Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu,
    Pang, Vasudevan, Le & Adam, "Searching for MobileNetV3", ICCV 2019, Tables 1 and 2;
    torchvision's ``mobilenet_v3_large``/``mobilenet_v3_small(width_mult=width)`` layout.

    A 3x3/2 convolution to 16 channels with hard swish, the searched blocks
    (:data:`MOBILENET_V3_LARGE`, :data:`MOBILENET_V3_SMALL`, see :func:`mobilenet_v3_block`), a
    1x1 convolution to six times the last block's channels with hard swish, global average
    pooling, then the "efficient last stage": a dense layer to 1280 (Small: 1024) with hard swish
    and no batch normalization, dropout and the classifier. Channels (not the head's 1280/1024) are
    scaled by ``width`` and rounded by :func:`make_divisible`. Batch normalization with eps 1e-3
    and momentum 0.01, as torchvision. The paper's network is the same (``variant="paper"``).
    """
    config = {"large": MOBILENET_V3_LARGE, "small": MOBILENET_V3_SMALL}[size]

    def ch(c: int) -> int:
        return make_divisible(c * width)

    c_in = ch(16)
    layers = [ConvBNAct(3, c_in, 3, 2, act=nn.Hardswish, **_BN)]
    for k, expanded, c_out, se, act, stride in config:
        layers.append(mobilenet_v3_block(c_in, k, ch(expanded), ch(c_out), se, _ACT[act], stride))
        c_in = ch(c_out)
    last, head = 6 * c_in, ch(_HEAD[size])
    layers.append(ConvBNAct(c_in, last, 1, act=nn.Hardswish, **_BN))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, head),
                         nn.Hardswish(), nn.Dropout(dropout), nn.Linear(head, num_classes))
