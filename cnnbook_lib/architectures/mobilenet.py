"""MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018)."""
from __future__ import annotations

from typing import Callable

from torch import nn

from .blocks import ConvBNAct, Residual, make_divisible

__all__ = ["MOBILENET_V1_CONFIG", "MOBILENET_V2_CONFIG", "mobilenet_v1", "inverted_residual",
           "mobilenet_v2"]


#: Howard et al. (2017), Table 1: (output channels, stride) of each depthwise-separable layer.
MOBILENET_V1_CONFIG = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
                       (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def mobilenet_v1(num_classes: int = 1000, variant: str = "paper", width: float = 1.0) -> nn.Module:
    """MobileNet (v1) of Howard et al., "MobileNets: Efficient convolutional neural networks for
    mobile vision applications", 2017, Table 1.

    A 3x3/2 convolution, then 13 depthwise-separable layers (3x3 depthwise, 1x1 pointwise, each
    with batch normalization and ReLU), global average pooling and a dense classifier. The width
    multiplier alpha (``width``) scales every channel count, rounded down. Any input resolution
    works (global pooling); the paper's resolution multiplier is the input size. At width 1.0
    and 224 x 224: 4.2 M parameters and 569 M mult-adds (Tables 6 and 7 give the other widths and
    resolutions). Table 1's last depthwise layer says stride 2 but keeps 7x7 maps: stride 1 here,
    as in the reference code. torchvision has no MobileNet v1.
    """
    def ch(c: int) -> int:
        return max(1, int(c * width))

    layers, c_in = [ConvBNAct(3, ch(32), 3, 2)], ch(32)
    for c, s in MOBILENET_V1_CONFIG:
        depthwise, pointwise = ConvBNAct(c_in, c_in, 3, s, groups=c_in), ConvBNAct(c_in, ch(c), 1)
        layers.append(nn.Sequential(depthwise, pointwise))
        c_in = ch(c)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes))


#: Sandler et al. (2018), Table 2: expansion t, channels c, repeats n, stride s.
MOBILENET_V2_CONFIG = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1))


def inverted_residual(c_in: int, c_out: int, stride: int, expand: int,
                      act: Callable[[], nn.Module] = nn.ReLU6) -> nn.Module:
    """MobileNet v2's inverted residual: 1x1 expansion (skipped when ``expand`` is 1), 3x3
    depthwise, linear 1x1 projection; residual when stride 1 and the channels are kept."""
    hidden = round(c_in * expand)
    body = nn.Sequential(*([ConvBNAct(c_in, hidden, 1, act=act)] if expand != 1 else []),
                         ConvBNAct(hidden, hidden, 3, stride, groups=hidden, act=act),
                         ConvBNAct(hidden, c_out, 1, act=None))
    return Residual(body) if stride == 1 and c_in == c_out else body


def mobilenet_v2(num_classes: int = 1000, variant: str = "torchvision",
                 width: float = 1.0) -> nn.Module:
    """MobileNet v2 of Sandler et al., "MobileNetV2: Inverted residuals and linear bottlenecks",
    CVPR 2018, Table 2; torchvision's ``mobilenet_v2(width_mult=width)`` layout.

    Channels are scaled by ``width`` and rounded by :func:`make_divisible`; the last 1x1
    convolution keeps 1280 channels for widths below 1 (as in the paper). Dropout 0.2 before the
    classifier. 3,504,872 parameters and 300.8 M MACs at width 1.0, 224 x 224 (the paper: 3.4 M
    and 300 M). The paper's network is the same (``variant="paper"``).
    """
    c_in, last = make_divisible(32 * width), make_divisible(1280 * max(1.0, width))
    layers = [ConvBNAct(3, c_in, 3, 2, act=nn.ReLU6)]
    for t, c, n, s in MOBILENET_V2_CONFIG:
        for i in range(n):
            layers.append(inverted_residual(c_in, make_divisible(c * width), s if i == 0 else 1, t))
            c_in = make_divisible(c * width)
    layers.append(ConvBNAct(c_in, last, 1, act=nn.ReLU6))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(last, num_classes))
