"""VGG-11/13/16/19 (Simonyan & Zisserman 2015)."""
from __future__ import annotations

from torch import nn

from .blocks import ConvBNAct, fc_head

__all__ = ["VGG_CONFIGS", "vgg"]


#: Configurations A, B, D, E of Simonyan & Zisserman (2015), Table 1: channels, "M" = max pool.
VGG_CONFIGS = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"),
}


def vgg(depth: int, num_classes: int = 1000, variant: str = "torchvision",
        batch_norm: bool = False) -> nn.Module:
    """VGG-11/13/16/19 of Simonyan & Zisserman, "Very deep convolutional networks for
    large-scale image recognition", ICLR 2015 (configurations A, B, D, E of Table 1).

    3x3 convolutions (padding 1) with ReLU, 2x2 max pooling, three dense layers. torchvision's
    layout is the paper's; it adds an adaptive 7x7 average pool before the dense layers (the
    identity at 224 x 224), and ``batch_norm=True`` gives its ``vgg*_bn`` networks (batch
    normalization, not in the paper, after each convolution). The paper's parameter counts
    (133, 133, 138, 144 million, Table 2) are these, rounded; ``variant="paper"`` is the same.
    """
    layers, c_in = [], 3
    for v in VGG_CONFIGS[depth]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        elif batch_norm:
            layers.append(ConvBNAct(c_in, v, 3, bias=True))     # torchvision keeps the bias
            c_in = v
        else:
            layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU()]
            c_in = v
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(7), nn.Flatten(),
                         *fc_head(512 * 7 * 7, num_classes))
