"""LeNet-5 (LeCun et al. 1998), with its scaled tanh, trainable subsampling, partially connected
C3 and Euclidean RBF output.
"""
from __future__ import annotations

import random
from typing import Sequence

import torch
from torch import nn

__all__ = ["LENET5_C3_TABLE", "ScaledTanh", "Subsample", "PartialConv", "EuclideanRBF", "lenet5"]


#: Table I of LeCun et al. (1998): the S2 maps (columns) feeding each C3 map.
LENET5_C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class ScaledTanh(nn.Module):
    """LeNet-5's squashing function ``A tanh(S a)`` with ``A = 1.7159``, ``S = 2/3``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """LeNet-5's squashing function ``1.7159 tanh(2x/3)``."""
        return 1.7159 * torch.tanh(x * (2 / 3))


class Subsample(nn.AvgPool2d):
    """LeNet-5's S2/S4: 2x2 average times a trainable coefficient plus a trainable bias, per map.

    The paper sums the four inputs; averaging only rescales the trainable coefficient.
    """

    def __init__(self, channels: int):
        super().__init__(2)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """2x2 average times the map's coefficient plus its bias."""
        return super().forward(x) * self.weight[:, None, None] + self.bias[:, None, None]


class PartialConv(nn.Module):
    """A convolution whose output map ``j`` sees only the input maps ``table[j]`` (LeNet-5's C3).

    One small convolution per output map, so that the parameters are exactly the paper's.
    """

    def __init__(self, table: Sequence[Sequence[int]], k: int):
        super().__init__()
        self.table = [list(inputs) for inputs in table]
        self.convs = nn.ModuleList(nn.Conv2d(len(inputs), 1, k) for inputs in self.table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Each output map convolved from its table's input maps."""
        return torch.cat([conv(x[:, inputs]) for inputs, conv in zip(self.table, self.convs)], 1)


class EuclideanRBF(nn.Module):
    """LeNet-5's output layer: ``y_i = sum_j (x_j - w_ij)^2``, a penalty (lower is better).

    The ``w_ij`` are fixed +1/-1 codes, a buffer and not parameters. The paper drew the ten digit
    codes as 7x12 bitmaps of the characters; these are drawn at random with a fixed seed, which
    the paper names as an alternative.
    """

    def __init__(self, in_features: int, num_classes: int, seed: int = 0):
        super().__init__()
        rng = random.Random(seed)
        codes = [[rng.choice((-1.0, 1.0)) for _ in range(in_features)] for _ in range(num_classes)]
        self.register_buffer("codes", torch.tensor(codes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Squared distance of ``x`` to each class's code."""
        return (x[:, None, :] - self.codes).pow(2).sum(-1)


def lenet5(num_classes: int = 10, variant: str = "paper") -> nn.Module:
    """LeNet-5 of LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to document
    recognition", Proc. IEEE 86(11), 1998, Section II.B. Input: 1 x 32 x 32.

    ``variant="paper"``: C1 (6 maps, 5x5), S2 (trainable subsampling), C3 (16 maps, 5x5, the
    partial connections of Table I, 1,516 parameters), S4, C5 (120 maps, 5x5 on a 5x5 input),
    F6 (84 units), all followed by the scaled tanh, then 10 Euclidean RBF units with fixed codes.
    Trainable parameters: exactly the paper's 60,000. Its 340,908 "connections" are our 325,680
    MACs plus bias additions (6,508), subsampling (7,880) and the RBF layer (840); the RBF
    distances are element-wise operations, which ``FlopCounterMode`` does not count.

    ``variant="modern"``: the version of most tutorials: ReLU, 2x2 max pooling, a full C3
    (2,416 parameters) and a linear output layer: 61,706 parameters.

    torchvision has no LeNet. ``num_classes`` defaults to the paper's ten digits.
    """
    if variant == "modern":
        features = [nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Conv2d(16, 120, 5), nn.ReLU()]
        head = [nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes)]
    else:
        features = [nn.Conv2d(1, 6, 5), ScaledTanh(), Subsample(6), ScaledTanh(),
                    PartialConv(LENET5_C3_TABLE, 5), ScaledTanh(), Subsample(16), ScaledTanh(),
                    nn.Conv2d(16, 120, 5), ScaledTanh()]
        head = [nn.Linear(120, 84), ScaledTanh(), EuclideanRBF(84, num_classes)]
    return nn.Sequential(*features, nn.Flatten(), *head)
