"""ShuffleNet v1 (Zhang et al. 2018) and v2 (Ma et al. 2018): group convolutions and the
channel shuffle.
"""
from __future__ import annotations

import torch
from torch import nn

from ..validation import check_int
from .blocks import ConvBNAct

__all__ = ["SHUFFLENET_V2_CHANNELS", "SHUFFLENET_V2_REPEATS", "SHUFFLENET_V1_CHANNELS",
           "ChannelShuffle", "ShuffleV2Block", "shufflenet_v2", "ShuffleV1Block", "shufflenet_v1"]


# ---------------------------------------------------------------------------------------------
# ShuffleNet v2
# ---------------------------------------------------------------------------------------------


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle (Zhang et al. 2018, Figure 1c): view the ``C`` channels as
    a ``groups`` x ``C / groups`` matrix, transpose it, flatten it again, so that the next
    grouped convolution sees channels from every group of the previous one.

    A reshape and a transpose, no arithmetic and no parameters; the same permutation as
    ``torch.nn.ChannelShuffle`` (and torchvision's ``channel_shuffle``).
    """

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Channel ``g * (C / groups) + i`` moves to position ``i * groups + g``."""
        b, c, h, w = x.shape
        x = x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous()
        return x.view(b, c, h, w)

    def extra_repr(self) -> str:
        """The number of groups, shown in the module's repr."""
        return f"groups={self.groups}"


class ShuffleV2Block(nn.Module):
    """ShuffleNet v2's unit (Ma et al. 2018, Figure 3c and d).

    Stride 1: a channel split; half the channels pass unchanged, the other half go through
    1x1, 3x3 depthwise, 1x1 (batch norm after each, ReLU after the 1x1s); concatenated, then
    shuffled in two groups. Stride 2: no split; the left branch is a strided 3x3 depthwise and
    a 1x1, the right one as before with the depthwise strided; the output channels double.
    """

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        half = c_out // 2
        self.stride = stride
        if stride > 1:
            self.left = nn.Sequential(ConvBNAct(c_in, c_in, 3, stride, groups=c_in, act=None),
                                      ConvBNAct(c_in, half, 1))
        self.right = nn.Sequential(ConvBNAct(c_in if stride > 1 else half, half, 1),
                                   ConvBNAct(half, half, 3, stride, groups=half, act=None),
                                   ConvBNAct(half, half, 1))
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Split (stride 1) or copy (stride 2), the two branches, concatenation, shuffle."""
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.right(x2)), 1)
        else:
            out = torch.cat((self.left(x), self.right(x)), 1)
        return self.shuffle(out)


#: Ma et al. (2018), Table 5: output channels of conv1, stages 2-4 and conv5 at each width.
SHUFFLENET_V2_CHANNELS = {"x0_5": (24, 48, 96, 192, 1024), "x1_0": (24, 116, 232, 464, 1024),
                          "x1_5": (24, 176, 352, 704, 1024), "x2_0": (24, 244, 488, 976, 2048)}
#: units per stage (2, 3, 4), the first with stride 2
SHUFFLENET_V2_REPEATS = (4, 8, 4)


def shufflenet_v2(scale: str, num_classes: int = 1000, variant: str = "torchvision") -> nn.Module:
    """ShuffleNet v2 (0.5x, 1x, 1.5x, 2x) of Ma, Zhang, Zheng & Sun, "ShuffleNet V2: Practical
    guidelines for efficient CNN architecture design", ECCV 2018, Table 5.

    A 3x3/2 convolution of 24 channels, 3x3/2 max pooling, three stages of
    :class:`ShuffleV2Block` (4, 8, 4 units; the first of each with stride 2), a 1x1 convolution
    (1024 channels; 2048 at 2x), global average pooling and the classifier. torchvision's
    ``shufflenet_v2_x*`` layout, which is the paper's (torchvision pools with a mean over the
    positions, the same operation). The paper counts 41, 146, 299 and 591 M "FLOPs"
    (multiply-adds) for the four widths; ours, torchvision's, are 40.5, 144.9, 295.8 and
    583.3 M, 0.8 to 1.3 % fewer, with the same layers (the paper does not say what else it
    counted). ``variant="paper"`` is the same network.
    """
    channels = SHUFFLENET_V2_CHANNELS[scale]
    layers = [ConvBNAct(3, channels[0], 3, 2), nn.MaxPool2d(3, 2, 1)]
    c_in = channels[0]
    for repeats, c_out in zip(SHUFFLENET_V2_REPEATS, channels[1:4]):
        layers.append(nn.Sequential(*(ShuffleV2Block(c_in if i == 0 else c_out, c_out,
                                                     2 if i == 0 else 1)
                                      for i in range(repeats))))
        c_in = c_out
    layers.append(ConvBNAct(c_in, channels[4], 1))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(channels[4], num_classes))


# ---------------------------------------------------------------------------------------------
# ShuffleNet (v1)
# ---------------------------------------------------------------------------------------------


class ShuffleV1Block(nn.Module):
    """ShuffleNet's unit (Zhang et al. 2018, Figure 2b and c): 1x1 group convolution to a
    quarter of the output channels, batch norm, ReLU, channel shuffle, 3x3 depthwise
    convolution, batch norm, 1x1 group convolution, batch norm. Stride 1: plus the identity,
    then ReLU. Stride 2: concatenated with a 3x3/2 average pooling of the input, then ReLU (the
    branch adds ``c_out - c_in`` channels). ``first_groups`` sets the groups of the first 1x1
    (1 in the network's first unit, whose 24 input channels are too few to split)."""

    def __init__(self, c_in: int, c_out: int, stride: int, groups: int,
                 first_groups: int | None = None):
        super().__init__()
        mid, branch = c_out // 4, c_out - c_in if stride == 2 else c_out
        g1 = groups if first_groups is None else first_groups
        for c, g in ((c_in, g1), (mid, groups), (branch, groups)):
            if c % g:
                raise ValueError(f"shufflenet_v1: {c} channels do not split into {g} groups")
        self.stride = stride
        self.body = nn.Sequential(ConvBNAct(c_in, mid, 1, groups=g1), ChannelShuffle(groups),
                                  ConvBNAct(mid, mid, 3, stride, groups=mid, act=None),
                                  ConvBNAct(mid, branch, 1, groups=groups, act=None))
        self.pool = nn.AvgPool2d(3, 2, 1) if stride == 2 else None
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sum (stride 1) or concatenation (stride 2) of the shortcut and the body, then ReLU."""
        if self.pool is None:
            return self.act(x + self.body(x))
        return self.act(torch.cat([self.pool(x), self.body(x)], 1))


#: Zhang et al. (2018), Table 1: output channels of stages 2-4 at 1x for each number of groups.
SHUFFLENET_V1_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960),
                          4: (272, 544, 1088), 8: (384, 768, 1536)}


def shufflenet_v1(num_classes: int = 1000, variant: str = "paper", groups: int = 3,
                  width: float = 1.0) -> nn.Module:
    """ShuffleNet of Zhang, Zhou, Lin & Sun, "ShuffleNet: An extremely efficient convolutional
    neural network for mobile devices", CVPR 2018, Table 1.

    A 3x3/2 convolution of 24 channels, 3x3/2 max pooling, stages 2-4 of 4, 8 and 4
    :class:`ShuffleV1Block` units (the first of each with stride 2) with ``groups`` groups in
    their 1x1 convolutions (1, 2, 3, 4 or 8; the paper's default is 3), global average pooling and
    the classifier. ``width`` is the paper's "ShuffleNet s x": it scales the channels of stages
    2-4 (rounded down); the stem keeps 24 channels, as in the authors' code at 1x and 1.5x (their
    0.5x and 2x models also change the stem). A width whose channels do not split into the groups
    raises ``ValueError``. torchvision has no ShuffleNet v1.
    """
    if check_int("shufflenet_v1: groups", groups, 1) not in SHUFFLENET_V1_CHANNELS:
        raise ValueError(f"shufflenet_v1: groups must be one of 1, 2, 3, 4, 8, got {groups!r}")
    layers, c_in = [ConvBNAct(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1)], 24
    for stage, (repeats, c) in enumerate(zip((4, 8, 4), SHUFFLENET_V1_CHANNELS[groups])):
        c_out, units = int(c * width), []
        for i in range(repeats):
            units.append(ShuffleV1Block(c_in, c_out, 2 if i == 0 else 1, groups,
                                        1 if stage == 0 and i == 0 else None))
            c_in = c_out
        layers.append(nn.Sequential(*units))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes))
