"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016)."""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from .blocks import ConvBNAct

__all__ = ["SQUEEZENET_CONFIGS", "Fire", "squeezenet"]


class Fire(nn.Module):
    """SqueezeNet's fire module (Iandola et al. 2016, Figure 1): a 1x1 "squeeze" convolution to
    ``squeeze`` channels, then 1x1 and 3x3 "expand" convolutions side by side, concatenated;
    biased convolutions, each followed by ReLU."""

    def __init__(self, c_in: int, squeeze: int, expand1: int, expand3: int):
        super().__init__()
        self.squeeze = ConvBNAct(c_in, squeeze, 1, norm=False)
        self.expand1 = ConvBNAct(squeeze, expand1, 1, norm=False)
        self.expand3 = ConvBNAct(squeeze, expand3, 3, norm=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Squeeze, then the two expand convolutions concatenated along the channels."""
        x = self.squeeze(x)
        return torch.cat([self.expand1(x), self.expand3(x)], 1)


#: Fire modules (squeeze, expand 1x1, expand 3x3) and max poolings ("M") after the first
#: convolution: Iandola et al. (2016), Table 1 (1.0), and the SqueezeNet repository's v1.1.
SQUEEZENET_CONFIGS = {
    "1_0": ((96, 7), ((16, 64, 64), (16, 64, 64), (32, 128, 128), "M", (32, 128, 128),
                      (48, 192, 192), (48, 192, 192), (64, 256, 256), "M", (64, 256, 256))),
    "1_1": ((64, 3), ((16, 64, 64), (16, 64, 64), "M", (32, 128, 128), (32, 128, 128), "M",
                      (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256))),
}


def squeezenet(version: str, num_classes: int = 1000, variant: str = "torchvision") -> nn.Module:
    """SqueezeNet 1.0 of Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer, "SqueezeNet:
    AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", 2016, Table 1, and
    its version 1.1 from the authors' repository (a 3x3 first convolution of 64 filters and the
    poolings moved earlier: 2.4 times fewer MACs, almost the same parameters).

    A strided convolution with ReLU, 3x3/2 max pooling (``ceil_mode``, as in Caffe), eight
    :class:`Fire` modules with two more poolings, dropout 0.5, a 1x1 convolution to the classes
    with ReLU and global average pooling; no dense layer. torchvision's ``squeezenet1_0`` and
    ``squeezenet1_1`` layouts; the paper's network is the same (``variant="paper"``). Table 1
    lists each layer's parameters before pruning (1,248,424 in all, the count here).
    """
    (c0, k0), modules = SQUEEZENET_CONFIGS[version]
    pool = partial(nn.MaxPool2d, 3, 2, ceil_mode=True)
    layers, c_in = [nn.Conv2d(3, c0, k0, 2), nn.ReLU(), pool()], c0
    for m in modules:
        if m == "M":
            layers.append(pool())
        else:
            layers.append(Fire(c_in, *m))
            c_in = m[1] + m[2]
    return nn.Sequential(*layers, nn.Dropout(0.5), nn.Conv2d(c_in, num_classes, 1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
