"""EfficientNetV2-S (Tan & Le 2021): Fused-MBConv in the early stages, MBConv after."""
from __future__ import annotations

from torch import nn

from .blocks import ConvBNAct, Residual, make_divisible
from .efficientnet import mbconv

__all__ = ["EFFICIENTNET_V2_S_CONFIG", "fused_mbconv", "efficientnet_v2_s"]


#: Tan & Le (2021), Table 4 (EfficientNetV2-S): block type, expansion, kernel, stride, input
#: channels, output channels, layers of each stage after the 3x3/2 stem (24 channels).
EFFICIENTNET_V2_S_CONFIG = (
    ("fused", 1, 3, 1, 24, 24, 2), ("fused", 4, 3, 2, 24, 48, 4), ("fused", 4, 3, 2, 48, 64, 4),
    ("mbconv", 4, 3, 2, 64, 128, 6), ("mbconv", 6, 3, 1, 128, 160, 9),
    ("mbconv", 6, 3, 2, 160, 256, 15),
)


def fused_mbconv(c_in: int, c_out: int, kernel: int, stride: int, expand: int,
                 drop_prob: float = 0.0, bn: dict | None = None) -> nn.Module:
    """EfficientNetV2's Fused-MBConv: MBConv's 1x1 expansion and depthwise ``kernel`` x ``kernel``
    convolution replaced by one dense ``kernel`` x ``kernel`` convolution to the expanded
    channels (SiLU), then a linear 1x1 projection; with expansion 1, the dense convolution alone
    goes straight to ``c_out``. No squeeze-and-excitation. Residual with stochastic depth when
    stride 1 and the channels are kept."""
    hidden, bn = make_divisible(c_in * expand), bn or {}
    if hidden != c_in:
        body = nn.Sequential(ConvBNAct(c_in, hidden, kernel, stride, act=nn.SiLU, **bn),
                             ConvBNAct(hidden, c_out, 1, act=None, **bn))
    else:
        body = nn.Sequential(ConvBNAct(c_in, c_out, kernel, stride, act=nn.SiLU, **bn))
    return Residual(body, drop_prob=drop_prob) if stride == 1 and c_in == c_out else body


def efficientnet_v2_s(num_classes: int = 1000, variant: str = "torchvision",
                      dropout: float = 0.2, stochastic_depth: float = 0.2) -> nn.Module:
    """EfficientNetV2-S of Tan & Le, "EfficientNetV2: Smaller models and faster training",
    ICML 2021, Table 4; torchvision's ``efficientnet_v2_s`` layout.

    A 3x3/2 convolution to 24 channels, three stages of :func:`fused_mbconv` and three of
    EfficientNet's :func:`~.efficientnet.mbconv` (squeeze-and-excitation to a quarter of the
    block's input channels), a 1x1 convolution to 1280 channels, global average pooling, dropout
    and the classifier; SiLU activations, batch normalization with eps 1e-3. Stochastic depth
    grows linearly from 0 to ``stochastic_depth`` over the blocks. torchvision's weights are
    evaluated at 384 x 384 (trained at 300); the paper's network is the same
    (``variant="paper"``).
    """
    bn = dict(eps=1e-3)
    total, block_id = sum(st[-1] for st in EFFICIENTNET_V2_S_CONFIG), 0
    layers = [ConvBNAct(3, EFFICIENTNET_V2_S_CONFIG[0][4], 3, 2, act=nn.SiLU, **bn)]
    for kind, e, k, s, c_in, c_out, n in EFFICIENTNET_V2_S_CONFIG:
        block = fused_mbconv if kind == "fused" else mbconv
        blocks = []
        for i in range(n):
            blocks.append(block(c_in if i == 0 else c_out, c_out, k, s if i == 0 else 1, e,
                                stochastic_depth * block_id / total, bn))
            block_id += 1
        layers.append(nn.Sequential(*blocks))
    layers.append(ConvBNAct(EFFICIENTNET_V2_S_CONFIG[-1][5], 1280, 1, act=nn.SiLU, **bn))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                         nn.Linear(1280, num_classes))
