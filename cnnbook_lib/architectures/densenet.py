"""DenseNet-121/169/201 (Huang, Liu, van der Maaten & Weinberger, "Densely connected
convolutional networks", CVPR 2017).

Inside a dense block every layer receives the *concatenation* of the block's input and of every
earlier layer's output, and adds ``growth`` new channels to it; ResNet *adds* a layer's output to
its input instead. Each layer is BN-ReLU-Conv 1x1 (to ``4 * growth`` channels, the paper's
"DenseNet-B" bottleneck) then BN-ReLU-Conv 3x3 (to ``growth``). Between blocks a transition
halves the channels with a 1x1 convolution (compression 0.5, "DenseNet-C") and the map with 2x2
average pooling. The layout is torchvision's ``densenet121`` parameter for parameter.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["DENSENET_CONFIGS", "DenseLayer", "DenseBlock", "densenet"]

#: Layers per dense block (Huang et al. 2017, Table 1), growth rate 32, 64 stem channels.
DENSENET_CONFIGS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1-BN-ReLU-Conv3x3 on the concatenation of everything before it; returns
    only its ``growth`` new channels (the block concatenates)."""

    def __init__(self, c_in: int, growth: int, bottleneck: int = 4):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c_in)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(c_in, bottleneck * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bottleneck * growth)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bottleneck * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class DenseBlock(nn.Module):
    """``count`` dense layers; the output is the input with every layer's channels appended:
    ``c_in + count * growth`` channels."""

    def __init__(self, c_in: int, count: int, growth: int):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(c_in + i * growth, growth) for i in range(count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(features))
        return torch.cat(features, 1)


def _transition(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False),
                         nn.AvgPool2d(2, 2))


def densenet(depth: int, num_classes: int = 1000, variant: str = "torchvision") -> nn.Module:
    """DenseNet-121/169/201 for 224 x 224 images: a 7x7 stride-2 stem and 3x3 max pooling, four
    dense blocks of :data:`DENSENET_CONFIGS` with growth 32, transitions that halve channels and
    map, a final batch norm and ReLU, global average pooling and one dense layer.
    ``variant="paper"`` is the same network (torchvision follows the paper)."""
    growth, c = 32, 64
    layers: list[nn.Module] = [nn.Conv2d(3, c, 7, 2, 3, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                               nn.MaxPool2d(3, 2, 1)]
    counts = DENSENET_CONFIGS[depth]
    for i, count in enumerate(counts):
        layers.append(DenseBlock(c, count, growth))
        c += count * growth
        if i < len(counts) - 1:
            layers.append(_transition(c, c // 2))
            c //= 2
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(c, num_classes)]
    return nn.Sequential(*layers)
