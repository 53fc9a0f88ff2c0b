"""The historical convolutional networks, written compactly enough to read in the book.

``names()`` lists the networks and ``build(name, **options)`` makes one::

    from cnnbook_lib import architectures
    model = architectures.build("resnet50")                    # torchvision's layout
    paper = architectures.build("resnet50", variant="paper")   # the layout of He et al. (2016)
    small = architectures.build("mobilenet_v1", width=0.5)

Where torchvision has a network, the default (``variant="torchvision"``) matches
``torchvision.models`` parameter for parameter, in the same order (the state_dict shapes agree
one by one; the names differ), and has the same multiply-accumulates (MACs) as counted by
``torch.utils.flop_counter.FlopCounterMode``. ``variant="paper"`` gives the network as its paper
describes it, where that differs; each builder's docstring lists the differences, so the book can
explain why published counts disagree. Networks torchvision lacks (LeNet-5, ZFNet, Xception,
MobileNet v1, ShuffleNet v1) follow their papers. Inception v3 and Xception are meant for
299 x 299 inputs, the others for 224 x 224 (LeNet-5: 32 x 32; AlexNet's paper variant: 227).

All networks share a few blocks, each defined once below: :class:`ConvBNAct` (convolution, batch
normalization, activation), :class:`Residual` (body plus shortcut, used by the basic and
bottleneck blocks of ResNet and ResNeXt, the inverted residual of MobileNet v2, the MBConv of
EfficientNet and Xception's blocks), :class:`Inception`, :class:`SqueezeExcitation` and
:class:`ChannelShuffle` (ShuffleNet v1 and v2).

Common differences from torchvision that do not change any count: weights keep PyTorch's default
initialization (torchvision re-initializes some networks), activations are not in-place (so that
hooks of the analysis tools see every intermediate tensor), and module names are our own.
"""
from __future__ import annotations

import inspect
import math
import random
from functools import partial
from typing import Callable, Sequence

import torch
from torch import nn

from . import formulas
from .validation import check_flag, check_int, check_number, check_str

__all__ = [
    "names", "build", "ConvBNAct", "Residual", "Inception", "SqueezeExcitation", "ChannelShuffle",
    "EFFICIENTNET_SCALING", "compound_scaling", "make_divisible", "Fire", "Parallel",
    "SeparableConv", "ShuffleV1Block", "ShuffleV2Block", "EncoderBlock", "VisionTransformer",
    "ConvNeXtBlock", "LayerNorm2d", "Permute",
]

# =============================================================================================
# Shared blocks
# =============================================================================================


class ConvBNAct(nn.Sequential):
    """Convolution with "same" padding ``(k - 1) // 2``, batch normalization, activation.

    The convolution has no bias when batch normalization follows (the normalization's shift
    replaces it; ``bias=True`` keeps it anyway). ``norm=False`` gives a biased convolution and
    the activation only (the pre-batch-norm networks); ``act=None`` leaves the activation out
    (before a residual sum).
    """

    def __init__(self, c_in: int, c_out: int, k: int = 1, stride: int = 1, groups: int = 1,
                 act: Callable[[], nn.Module] | None = nn.ReLU, norm: bool = True,
                 eps: float = 1e-5, momentum: float = 0.1, bias: bool | None = None):
        bias = not norm if bias is None else bias
        layers = [nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=bias)]
        if norm:
            layers.append(nn.BatchNorm2d(c_out, eps=eps, momentum=momentum))
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


class Residual(nn.Module):
    """``act(body(x) + shortcut(x))``: the residual connection of He et al. (2016).

    ``shortcut`` defaults to the identity. ``drop_prob`` > 0 enables stochastic depth (Huang et
    al., "Deep networks with stochastic depth", 2016): in training, each sample's body output is
    dropped with that probability and the kept ones are scaled by ``1 / (1 - drop_prob)``.
    """

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None,
                 act: nn.Module | None = None, drop_prob: float = 0.0):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.act = act if act is not None else nn.Identity()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Body (stochastic depth in training) plus shortcut, then the activation."""
        out = _drop_samples(self.body(x), self.drop_prob, self.training)
        return self.act(out + self.shortcut(x))


def _drop_samples(out: torch.Tensor, drop_prob: float, training: bool) -> torch.Tensor:
    """Stochastic depth: in training, each sample's ``out`` is zeroed with probability
    ``drop_prob`` and the kept ones are scaled by ``1 / (1 - drop_prob)``."""
    if training and drop_prob > 0:
        keep = 1.0 - drop_prob
        mask = torch.empty(out.shape[0], *(1,) * (out.dim() - 1), dtype=out.dtype,
                           device=out.device)
        out = out * mask.bernoulli_(keep) / keep
    return out


def basic_block(c_in: int, width: int, stride: int = 1, stride_in_1x1: bool = False) -> Residual:
    """ResNet's basic block: two 3x3 convolutions; a 1x1 projection when the shape changes.

    It has no 1x1 convolution: ``stride_in_1x1`` (see :func:`bottleneck`) changes nothing.
    """
    body = nn.Sequential(ConvBNAct(c_in, width, 3, stride), ConvBNAct(width, width, 3, act=None))
    return Residual(body, _projection(c_in, width, stride), nn.ReLU())


def bottleneck(c_in: int, width: int, stride: int = 1, stride_in_1x1: bool = False,
               groups: int = 1, inner: int | None = None) -> Residual:
    """ResNet's bottleneck block: 1x1 reduce to ``width``, 3x3, 1x1 expand to ``4 * width``.

    torchvision (ResNet "v1.5") strides in the 3x3 convolution; the paper (``stride_in_1x1``)
    strides in the first 1x1, which skips three quarters of the input and of the 3x3's work.
    ResNeXt's block (Xie et al. 2017, Figure 3c) reduces to ``inner`` channels instead and splits
    the 3x3 convolution into ``groups`` groups; the output stays ``4 * width``.
    """
    s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
    mid = width if inner is None else inner
    body = nn.Sequential(ConvBNAct(c_in, mid, 1, s1), ConvBNAct(mid, mid, 3, s3, groups=groups),
                         ConvBNAct(mid, 4 * width, 1, act=None))
    return Residual(body, _projection(c_in, 4 * width, stride), nn.ReLU())


basic_block.expansion, bottleneck.expansion = 1, 4


def _projection(c_in: int, c_out: int, stride: int) -> nn.Module | None:
    """The shortcut: identity if the shape is kept, else a strided 1x1 convolution (option B)."""
    if stride == 1 and c_in == c_out:
        return None
    return ConvBNAct(c_in, c_out, 1, stride, act=None)


class Inception(nn.Module):
    """GoogLeNet's inception module: four parallel branches concatenated along channels.

    1x1 | 1x1 reduce -> 3x3 | 1x1 reduce -> ``k5`` x ``k5`` | 3x3 max pool -> 1x1 projection.
    The paper's third branch is 5x5; torchvision's is 3x3 (see :func:`googlenet`).
    """

    def __init__(self, c_in: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int,
                 pool_proj: int, k5: int = 5, conv: Callable[..., nn.Module] = ConvBNAct):
        super().__init__()
        self.branch1 = conv(c_in, c1, 1)
        self.branch2 = nn.Sequential(conv(c_in, c3_reduce, 1), conv(c3_reduce, c3, 3))
        self.branch3 = nn.Sequential(conv(c_in, c5_reduce, 1), conv(c5_reduce, c5, k5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), conv(c_in, pool_proj, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The four branches concatenated along the channels."""
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): channel weights from globally pooled features.

    ``x * sigmoid(fc2(act(fc1(avgpool(x)))))``, the two dense layers written as 1x1 convolutions.
    """

    def __init__(self, channels: int, squeeze: int, act: Callable[[], nn.Module] = nn.SiLU):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.act = act()
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` times its channel gates."""
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a scaled channel count to a multiple of ``divisor``, losing at most 10 %.

    The rule of the MobileNet v2 and EfficientNet reference code (and of torchvision).
    """
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def _feature_size(n: int, layers: Sequence[nn.Module]) -> int:
    """Spatial size after ``layers`` (convolutions and max pooling) on an ``n`` x ``n`` input."""
    for m in layers:
        if isinstance(m, nn.Conv2d):
            n = formulas.conv_output_size(n, m.kernel_size[0], m.stride[0], m.padding[0],
                                          m.dilation[0])
        elif isinstance(m, nn.MaxPool2d):
            n = formulas.pool_output_size(n, m.kernel_size, m.stride, m.padding, m.ceil_mode)
    return n


def _lrn() -> nn.LocalResponseNorm:
    """Local response normalization of Krizhevsky et al. (2012): n=5, alpha=1e-4, beta=0.75, k=2.

    The paper divides by ``(k + alpha * sum a^2)^beta``; PyTorch (like Caffe) uses
    ``alpha / n``, so the paper's alpha is passed as ``n * alpha``.
    """
    return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)


# =============================================================================================
# LeNet-5
# =============================================================================================

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


# =============================================================================================
# AlexNet and ZFNet
# =============================================================================================


def _fc_head(in_features: int, num_classes: int, hidden: int = 4096, dropout: float = 0.5,
             dropout_first: bool = False) -> list[nn.Module]:
    """Two hidden dense layers with ReLU and dropout, then the classifier."""
    if dropout_first:   # torchvision's AlexNet: dropout before each hidden layer
        return [nn.Dropout(dropout), nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout),
                nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)]
    return [nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)]


def alexnet(num_classes: int = 1000, variant: str = "torchvision",
            input_size: int = 227) -> nn.Module:
    """AlexNet of Krizhevsky, Sutskever & Hinton, "ImageNet classification with deep
    convolutional neural networks", NeurIPS 2012.

    ``variant="torchvision"`` (default) is ``torchvision.models.alexnet``, which follows
    Krizhevsky's single-GPU network of "One weird trick for parallelizing convolutional neural
    networks" (2014): 64, 192, 384, 256, 256 filters, padding 2 in conv1, no grouping, no local
    response normalization, and an adaptive 6x6 average pool so that 224 x 224 inputs work.
    Dropout comes before each hidden dense layer. 61,100,840 parameters.

    ``variant="paper"`` is the two-GPU network of 2012: 96, 256, 384, 384, 256 filters; conv2,
    conv4 and conv5 see only the maps of their own GPU (``groups=2``); local response
    normalization after the first two ReLUs; overlapping 3x3/2 max pooling; a 227 x 227 input
    (the paper's text says 224, which does not give its 55 x 55 conv1 output without padding),
    no adaptive pooling. 60,965,224 parameters and 724 M MACs (Sze et al., "Efficient processing
    of deep neural networks", Proc. IEEE 2017, Table III). ``input_size`` sets the size of the
    first dense layer, computed with :mod:`cnnbook_lib.formulas`.
    """
    if variant == "paper":
        features = [nn.Conv2d(3, 96, 11, 4), nn.ReLU(), _lrn(), nn.MaxPool2d(3, 2),
                    nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), _lrn(), nn.MaxPool2d(3, 2),
                    nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
                    nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
                    nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2)]
        n = _feature_size(input_size, features)
        return nn.Sequential(*features, nn.Flatten(), *_fc_head(256 * n * n, num_classes))
    features = [nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
                nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1),
                nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2)]
    return nn.Sequential(*features, nn.AdaptiveAvgPool2d(6), nn.Flatten(),
                         *_fc_head(256 * 6 * 6, num_classes, dropout_first=True))


def zfnet(num_classes: int = 1000, variant: str = "paper", input_size: int = 224) -> nn.Module:
    """ZFNet of Zeiler & Fergus, "Visualizing and understanding convolutional networks",
    ECCV 2014, Figure 3. Input: 3 x 224 x 224.

    AlexNet with a finer first layer (96 filters of 7x7, stride 2 instead of 11x11, stride 4),
    conv2 with stride 2, and dense (ungrouped) conv3-conv5 of 384, 384, 256 filters, trained on
    one GPU. Each of the first two layers is convolution, ReLU, 3x3/2 max pooling, then
    contrast normalization (here :func:`_lrn`, AlexNet's). Choices where Figure 3 is silent:
    padding 1 in conv1 and ``ceil_mode`` in the first two poolings (as in Caffe), which give the
    figure's 110, 55, 26 and 13 pixel maps. Dense layers as in AlexNet. torchvision has no ZFNet.
    """
    features = [nn.Conv2d(3, 96, 7, 2, 1), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True), _lrn(),
                nn.Conv2d(96, 256, 5, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True), _lrn(),
                nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1),
                nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2)]
    n = _feature_size(input_size, features)
    return nn.Sequential(*features, nn.Flatten(), *_fc_head(256 * n * n, num_classes))


# =============================================================================================
# VGG
# =============================================================================================

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
                         *_fc_head(512 * 7 * 7, num_classes))


# =============================================================================================
# GoogLeNet
# =============================================================================================

#: Inception modules of Szegedy et al. (2015), Table 1, by stage: name, input channels, #1x1,
#: #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj. Stages 4 and 5 start with a max pooling.
GOOGLENET_STAGES = (
    (("3a", 192, 64, 96, 128, 16, 32, 32), ("3b", 256, 128, 128, 192, 32, 96, 64)),
    (("4a", 480, 192, 96, 208, 16, 48, 64), ("4b", 512, 160, 112, 224, 24, 64, 64),
     ("4c", 512, 128, 128, 256, 24, 64, 64), ("4d", 512, 112, 144, 288, 32, 64, 64),
     ("4e", 528, 256, 160, 320, 32, 128, 128)),
    (("5a", 832, 256, 160, 320, 32, 128, 128), ("5b", 832, 384, 192, 384, 48, 128, 128)),
)


class InceptionAux(nn.Sequential):
    """GoogLeNet's auxiliary classifier: 5x5/3 average pool (torchvision: adaptive 4x4),
    1x1 convolution to 128 maps, a dense layer of 1024 with 70 % dropout, the classifier."""

    def __init__(self, c_in: int, num_classes: int, conv: Callable[..., nn.Module],
                 paper: bool = False):
        pool = nn.AvgPool2d(5, 3) if paper else nn.AdaptiveAvgPool2d(4)
        super().__init__(pool, conv(c_in, 128, 1), nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(),
                         nn.Dropout(0.7), nn.Linear(1024, num_classes))


class GoogLeNet(nn.Module):
    """The network of :func:`googlenet`. In training with ``aux_logits``, ``forward`` returns
    ``(logits, aux1, aux2)`` (aux1 after inception 4a, aux2 after 4d), else the logits."""

    def __init__(self, num_classes: int = 1000, paper: bool = False, aux_logits: bool = False):
        super().__init__()
        conv = partial(ConvBNAct, norm=False) if paper else partial(ConvBNAct, eps=1e-3)
        pool = partial(nn.MaxPool2d, 3, 2, ceil_mode=True)
        lrn = [_lrn()] if paper else []
        self.stem = nn.Sequential(conv(3, 64, 7, 2), pool(), *lrn, conv(64, 64, 1),
                                  conv(64, 192, 3), *lrn, pool())
        pools = (None, pool(), pool() if paper else nn.MaxPool2d(2, 2, ceil_mode=True))
        for stage, (modules, first) in enumerate(zip(GOOGLENET_STAGES, pools), start=3):
            seq = nn.Sequential(*([first] if first is not None else []))
            for name, *channels in modules:
                seq.add_module(name, Inception(*channels, k5=5 if paper else 3, conv=conv))
            setattr(self, f"inception{stage}", seq)
        self.aux_logits = aux_logits
        if aux_logits:   # on the outputs of inception 4a (512 maps) and 4d (528 maps)
            self.aux = nn.ModuleDict({"4a": InceptionAux(512, num_classes, conv, paper),
                                      "4d": InceptionAux(528, num_classes, conv, paper)})
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Dropout(0.4 if paper else 0.2), nn.Linear(1024, num_classes))

    def forward(self, x: torch.Tensor):
        """Logits; training with ``aux_logits``: ``(logits, aux_4a, aux_4d)``."""
        x = self.inception3(self.stem(x))
        aux = []
        for name, module in self.inception4.named_children():
            x = module(x)
            if self.aux_logits and self.training and name in ("4a", "4d"):
                aux.append(self.aux[name](x))
        x = self.head(self.inception5(x))
        return (x, *aux) if aux else x


def googlenet(num_classes: int = 1000, variant: str = "torchvision",
              aux_logits: bool = False) -> nn.Module:
    """GoogLeNet (Inception v1) of Szegedy et al., "Going deeper with convolutions", CVPR 2015.

    ``variant="torchvision"`` matches ``torchvision.models.googlenet(weights=None,
    aux_logits=False, init_weights=False)``: 6,624,904 parameters. torchvision differs from the
    paper: batch normalization (eps 1e-3) after every convolution, which then has no bias (the
    paper predates batch normalization); a 3x3 instead of 5x5 convolution in the "5x5" branch (a
    slip kept for compatibility with its weights); no local response normalization; a 2x2/2
    last pooling instead of 3x3/2 (both give 7x7); dropout 0.2 instead of 0.4; adaptive pooling
    in the auxiliary heads. torchvision enables the auxiliary classifiers by default when no
    weights are loaded; here ``aux_logits=True`` adds them (13,004,888 parameters with them,
    torchvision's count too), used only in training mode.

    ``variant="paper"``: biased convolutions with ReLU, 5x5 branches, local response
    normalization (Caffe's parameters), 3x3/2 poolings, dropout 0.4. The "ops" column of the
    paper's Table 1 gives each inception module's MACs (3a: 128 M ... 5b: 71 M).
    """
    return GoogLeNet(num_classes, paper=variant == "paper", aux_logits=aux_logits)


# =============================================================================================
# Inception v3
# =============================================================================================


class Parallel(nn.ModuleList):
    """Branches applied to the same input, concatenated along the channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Every branch on ``x``, concatenated."""
        return torch.cat([branch(x) for branch in self], 1)


def _cbr(c_in: int, c_out: int, k: int | tuple[int, int], stride: int = 1,
         same: bool = True) -> nn.Sequential:
    """Inception v3's convolution: ``k`` (an int or ``(kh, kw)``) without bias, "same" padding
    (``same=False``: none), batch norm with eps 1e-3, ReLU."""
    kh, kw = (k, k) if isinstance(k, int) else k
    padding = ((kh - 1) // 2, (kw - 1) // 2) if same else 0
    return nn.Sequential(nn.Conv2d(c_in, c_out, (kh, kw), stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, eps=1e-3), nn.ReLU())


def _inception_a(c_in: int, pool: int) -> Parallel:
    """35 x 35 module (Szegedy et al. 2016, Figure 5): 1x1 | 1x1, 5x5 | 1x1, 3x3, 3x3 | avg
    pool, 1x1. (The figure factorizes the 5x5 into two 3x3s; the released model keeps a 5x5
    branch beside a double 3x3 one.)"""
    return Parallel([_cbr(c_in, 64, 1),
                     nn.Sequential(_cbr(c_in, 48, 1), _cbr(48, 64, 5)),
                     nn.Sequential(_cbr(c_in, 64, 1), _cbr(64, 96, 3), _cbr(96, 96, 3)),
                     nn.Sequential(nn.AvgPool2d(3, 1, 1), _cbr(c_in, pool, 1))])


def _reduction_a(c_in: int) -> Parallel:
    """35 -> 17 grid reduction (Figure 10): 3x3/2 | 1x1, 3x3, 3x3/2 | 3x3/2 max pool."""
    return Parallel([_cbr(c_in, 384, 3, 2, same=False),
                     nn.Sequential(_cbr(c_in, 64, 1), _cbr(64, 96, 3), _cbr(96, 96, 3, 2, same=False)),
                     nn.MaxPool2d(3, 2)])


def _inception_c(c_in: int, c7: int) -> Parallel:
    """17 x 17 module with 7x7 convolutions factorized into 1x7 and 7x1 (Figure 6)."""
    return Parallel([_cbr(c_in, 192, 1),
                     nn.Sequential(_cbr(c_in, c7, 1), _cbr(c7, c7, (1, 7)), _cbr(c7, 192, (7, 1))),
                     nn.Sequential(_cbr(c_in, c7, 1), _cbr(c7, c7, (7, 1)), _cbr(c7, c7, (1, 7)),
                                   _cbr(c7, c7, (7, 1)), _cbr(c7, 192, (1, 7))),
                     nn.Sequential(nn.AvgPool2d(3, 1, 1), _cbr(c_in, 192, 1))])


def _reduction_b(c_in: int) -> Parallel:
    """17 -> 8 grid reduction: 1x1, 3x3/2 | 1x1, 1x7, 7x1, 3x3/2 | 3x3/2 max pool."""
    return Parallel([nn.Sequential(_cbr(c_in, 192, 1), _cbr(192, 320, 3, 2, same=False)),
                     nn.Sequential(_cbr(c_in, 192, 1), _cbr(192, 192, (1, 7)),
                                   _cbr(192, 192, (7, 1)), _cbr(192, 192, 3, 2, same=False)),
                     nn.MaxPool2d(3, 2)])


def _inception_e(c_in: int) -> Parallel:
    """8 x 8 module with expanded outputs (Figure 7): the 3x3 branches end in a 1x3 and a 3x1
    convolution side by side, both kept."""
    def fork(c: int) -> Parallel:
        return Parallel([_cbr(c, 384, (1, 3)), _cbr(c, 384, (3, 1))])
    return Parallel([_cbr(c_in, 320, 1),
                     nn.Sequential(_cbr(c_in, 384, 1), fork(384)),
                     nn.Sequential(_cbr(c_in, 448, 1), _cbr(448, 384, 3), fork(384)),
                     nn.Sequential(nn.AvgPool2d(3, 1, 1), _cbr(c_in, 192, 1))])


class InceptionV3(nn.Module):
    """The network of :func:`inception_v3`. In training with ``aux_logits``, ``forward``
    returns ``(logits, aux)``, else the logits."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, dropout: float = 0.5):
        super().__init__()
        self.stem = nn.Sequential(_cbr(3, 32, 3, 2, same=False), _cbr(32, 32, 3, same=False),
                                  _cbr(32, 64, 3), nn.MaxPool2d(3, 2), _cbr(64, 80, 1),
                                  _cbr(80, 192, 3, same=False), nn.MaxPool2d(3, 2))
        self.mixed_35 = nn.Sequential(_inception_a(192, 32), _inception_a(256, 64),
                                      _inception_a(288, 64), _reduction_a(288))
        self.mixed_17 = nn.Sequential(*(_inception_c(768, c7) for c7 in (128, 160, 160, 192)))
        self.aux_logits = aux_logits
        if aux_logits:   # on the last 17 x 17 module's output
            self.aux = nn.Sequential(nn.AvgPool2d(5, 3), _cbr(768, 128, 1),
                                     _cbr(128, 768, 5, same=False), nn.AdaptiveAvgPool2d(1),
                                     nn.Flatten(), nn.Linear(768, num_classes))
        self.mixed_8 = nn.Sequential(_reduction_b(768), _inception_e(1280), _inception_e(2048))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(2048, num_classes))

    def forward(self, x: torch.Tensor):
        """Logits; training with ``aux_logits``: ``(logits, aux)``."""
        x = self.mixed_17(self.mixed_35(self.stem(x)))
        aux = self.aux(x) if self.aux_logits and self.training else None
        x = self.head(self.mixed_8(x))
        return (x, aux) if aux is not None else x


def inception_v3(num_classes: int = 1000, variant: str = "torchvision",
                 aux_logits: bool = False) -> nn.Module:
    """Inception v3 of Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, "Rethinking the Inception
    architecture for computer vision", CVPR 2016, for 299 x 299 inputs.

    torchvision's ``inception_v3(weights=None, aux_logits=False, init_weights=False)``, a port of
    the released TensorFlow model: a stem of five convolutions (3x3/2, 3x3, padded 3x3, 1x1, 3x3)
    and two 3x3/2 max poolings (299 -> 35), three 35 x 35 modules, a grid reduction, four 17 x 17
    modules with factorized 7x7 convolutions, a grid reduction and two 8 x 8 modules with
    expanded outputs; every convolution without bias, with batch norm (eps 1e-3) and ReLU;
    dropout 0.5. 23,834,568 parameters and 5.71 G MACs at 299 x 299. The paper's Table 1 and
    figures describe the stem and the 35 x 35 modules a little differently from the released
    model (which keeps a 5x5 branch beside the double 3x3 one); we follow the model, so
    ``variant="paper"`` is the same network. ``aux_logits=True`` adds the auxiliary classifier
    on the last 17 x 17 map (5x5/3 average pool, 1x1 to 128, 5x5 to 768, the classifier; 27,161,264
    parameters in all), used only in training mode; torchvision enables it by default.
    """
    return InceptionV3(num_classes, aux_logits)


# =============================================================================================
# ResNet
# =============================================================================================

#: Blocks per stage and block type, He et al. (2016), Table 1.
RESNET_CONFIGS = {
    18: (basic_block, (2, 2, 2, 2)), 34: (basic_block, (3, 4, 6, 3)),
    50: (bottleneck, (3, 4, 6, 3)), 101: (bottleneck, (3, 4, 23, 3)), 152: (bottleneck, (3, 8, 36, 3)),
}


def resnet(depth: int, num_classes: int = 1000, variant: str = "torchvision") -> nn.Module:
    """ResNet-18/34/50/101/152 of He, Zhang, Ren & Sun, "Deep residual learning for image
    recognition", CVPR 2016, Table 1, with projection shortcuts only where the shape changes
    (option B).

    ``variant="torchvision"`` (default) is torchvision's "ResNet v1.5": in a downsampling
    bottleneck the stride sits in the 3x3 convolution. ``variant="paper"`` puts it in the first
    1x1 convolution, as the paper (and its Caffe models) do: the same parameters, fewer MACs
    (ResNet-50: 3.86 G instead of 4.09 G; Table 1 says 3.8 x 10^9 "FLOPs", which are
    multiply-adds). ResNet-18 and -34 have no 1x1 convolution in their blocks: both variants
    are the same network.
    """
    block, counts = RESNET_CONFIGS[depth]
    layers = [ConvBNAct(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)]
    c_in = 64
    for stage, count in enumerate(counts):
        width = 64 * 2 ** stage
        blocks = []
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            blocks.append(block(c_in, width, stride, stride_in_1x1=variant == "paper"))
            c_in = width * block.expansion
        layers.append(nn.Sequential(*blocks))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes))


def resnext(depth: int, groups: int, width_per_group: int, num_classes: int = 1000,
            variant: str = "torchvision") -> nn.Module:
    """ResNeXt-50 (32x4d) of Xie, Girshick, Dollar, Tu & He, "Aggregated residual
    transformations for deep neural networks", CVPR 2017, Table 1.

    ResNet-50 with "cardinality" ``groups`` = 32: each bottleneck reduces to
    ``groups * width_per_group`` channels scaled with the stage (128, 256, 512, 1024, twice
    ResNet-50's) and its 3x3 convolution is grouped (Figure 3c, the form the paper implements);
    the outputs stay 256 ... 2048. torchvision's ``resnext50_32x4d`` layout: 25,028,904
    parameters and 4.23 G MACs at 224 x 224 (Table 1: 25.0 x 10^6 and 4.2 x 10^9 "FLOPs",
    multiply-adds). The paper's code strides in the 3x3 convolution, as torchvision does, so
    ``variant="paper"`` is the same network.
    """
    block, counts = RESNET_CONFIGS[depth]
    layers = [ConvBNAct(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)]
    c_in = 64
    for stage, count in enumerate(counts):
        width = 64 * 2 ** stage
        inner = width * width_per_group // 64 * groups
        blocks = []
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            blocks.append(bottleneck(c_in, width, stride, groups=groups, inner=inner))
            c_in = width * block.expansion
        layers.append(nn.Sequential(*blocks))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes))


# =============================================================================================
# SqueezeNet
# =============================================================================================


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


# =============================================================================================
# Xception
# =============================================================================================


class SeparableConv(nn.Sequential):
    """Depthwise separable convolution as in Keras and Xception: a 3x3 depthwise convolution and
    a 1x1 pointwise one, no bias, nothing between them; then batch norm."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Conv2d(c_in, c_in, 3, 1, 1, groups=c_in, bias=False),
                         nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out, eps=1e-3))


def _xception_block(c_in: int, c_out: int, first_relu: bool = True, mid: int | None = None,
                    down: bool = True) -> Residual:
    """Two separable convolutions, each after a ReLU, and a 3x3/2 max pooling, plus a strided
    1x1 projection with batch norm (``down``); or (``down=False``) three separable convolutions
    and the identity (the middle flow)."""
    mid = c_out if mid is None else mid
    if not down:
        body = [m for _ in range(3) for m in (nn.ReLU(), SeparableConv(c_in, c_in))]
        return Residual(nn.Sequential(*body))
    body = [nn.ReLU(), SeparableConv(c_in, mid), nn.ReLU(), SeparableConv(mid, c_out),
            nn.MaxPool2d(3, 2, 1)]
    return Residual(nn.Sequential(*(body if first_relu else body[1:])),
                    ConvBNAct(c_in, c_out, 1, 2, act=None, eps=1e-3))


def xception(num_classes: int = 1000, variant: str = "paper") -> nn.Module:
    """Xception of Chollet, "Xception: Deep learning with depthwise separable convolutions",
    CVPR 2017, Figure 5, for 299 x 299 inputs.

    Entry flow: 3x3/2 convolution (32), 3x3 (64), both unpadded, then three residual blocks of
    two separable convolutions and a 3x3/2 max pooling (128, 256, 728 channels) with strided 1x1
    projections; middle flow: eight residual blocks of three separable convolutions (728, 19 x
    19); exit flow: a block to 1024 channels, separable convolutions of 1536 and 2048 with ReLU,
    global average pooling and the classifier (the paper's optional dense layers left out). Every
    convolution without bias, followed by batch norm (eps 1e-3, Keras's); each separable convolution is a 3x3
    depthwise and a 1x1 pointwise convolution with nothing between them. The layout of the
    Keras model published with the paper: 22,855,952 parameters, Table 3's count. TensorFlow's
    "same" padding of the 3x3/2 poolings puts the extra pixel at the end on even sizes; PyTorch
    pads both sides by 1 (the same output sizes and counts). torchvision has no Xception.
    """
    layers = [_cbr(3, 32, 3, 2, same=False), _cbr(32, 64, 3, same=False),
              _xception_block(64, 128, first_relu=False), _xception_block(128, 256),
              _xception_block(256, 728)]
    layers += [_xception_block(728, 728, down=False) for _ in range(8)]
    layers += [_xception_block(728, 1024, mid=728), SeparableConv(1024, 1536), nn.ReLU(),
               SeparableConv(1536, 2048), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, num_classes))


# =============================================================================================
# MobileNet v1 and v2
# =============================================================================================

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


# =============================================================================================
# ShuffleNet v2
# =============================================================================================


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


# =============================================================================================
# ShuffleNet (v1)
# =============================================================================================


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


# =============================================================================================
# EfficientNet
# =============================================================================================

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


# =============================================================================================
# Vision Transformer
# =============================================================================================


class EncoderBlock(nn.Module):
    """A pre-norm transformer encoder layer (Dosovitskiy et al. 2021, eq. 2-3):
    ``x + MSA(LN(x))``, then ``x + MLP(LN(x))``; the MLP has one hidden layer with GELU."""

    def __init__(self, dim: int, heads: int, mlp: int, dropout: float = 0.0, eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mlp, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention and MLP, each on the normalized input and added to it."""
        y = self.norm1(x)
        x = x + self.drop(self.attn(y, y, y, need_weights=False)[0])
        return x + self.mlp(self.norm2(x))


class Encoder(nn.Module):
    """ViT's encoder: learned position embeddings added to the tokens, dropout, the encoder
    layers, a final layer norm."""

    def __init__(self, tokens: int, layers: int, heads: int, dim: int, mlp: int, dropout: float):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, tokens, dim).normal_(std=0.02))
        self.drop = nn.Dropout(dropout)
        self.layers = nn.Sequential(*(EncoderBlock(dim, heads, mlp, dropout) for _ in range(layers)))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Position embeddings, encoder layers, layer norm."""
        return self.norm(self.layers(self.drop(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """The network of :func:`vit_b_16`: patch embedding, class token, :class:`Encoder`, a linear
    head on the class token."""

    def __init__(self, image_size: int = 224, patch: int = 16, layers: int = 12, heads: int = 12,
                 dim: int = 768, mlp: int = 3072, num_classes: int = 1000, dropout: float = 0.0):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.encoder = Encoder((image_size // patch) ** 2 + 1, layers, heads, dim, mlp, dropout)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits from the class token after the encoder."""
        x = self.patch_embed(x).flatten(2).transpose(1, 2)        # (N, patches, dim)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1)
        return self.head(self.encoder(x)[:, 0])


def vit_b_16(num_classes: int = 1000, variant: str = "torchvision",
             input_size: int = 224) -> nn.Module:
    """ViT-B/16 of Dosovitskiy et al., "An image is worth 16x16 words: Transformers for image
    recognition at scale", ICLR 2021 (Table 1, "ViT-Base": 12 layers, width 768, MLP 3072,
    12 heads, 86 M parameters) with 16 x 16 patches.

    torchvision's ``vit_b_16`` layout: the patches embedded by a 16x16/16 convolution, a class
    token, learned position embeddings for ``input_size`` (224: 196 patches and the class token),
    12 pre-norm encoder layers (layer norm eps 1e-6, ``nn.MultiheadAttention``), a final layer
    norm, a linear head on the class token: 86,567,656 parameters and 17.56 G MACs at 224 x 224
    (the products of the attention included; see the tests for what ``FlopCounterMode`` sees).
    The paper's network is the same (``variant="paper"``), except that its pre-training head
    has a hidden layer (torchvision's ``representation_size``, None here, as for fine-tuning).
    The position embeddings fix the input to ``input_size`` x ``input_size``, a multiple of 16.
    """
    if input_size % 16:
        raise ValueError(f"vit_b_16: input_size must be a multiple of 16, got {input_size}")
    return VisionTransformer(input_size, num_classes=num_classes)


# =============================================================================================
# ConvNeXt
# =============================================================================================


class Permute(nn.Module):
    """Reorder the dimensions (ConvNeXt's switch between channels-first and channels-last)."""

    def __init__(self, *dims: int):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x.permute(*dims)``."""
        return x.permute(*self.dims)

    def extra_repr(self) -> str:
        """The permutation, shown in the module's repr."""
        return f"dims={self.dims}"


class LayerNorm2d(nn.LayerNorm):
    """Layer normalization over the channels of an NCHW map, at each position (ConvNeXt's
    downsampling layers, as torchvision writes it: permute, normalize, permute back)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize each position's channel vector."""
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block (Liu et al. 2022, Figure 4): 7x7 depthwise convolution, layer norm over
    the channels (channels-last), 1x1 expansion to 4 times the channels as a dense layer, GELU,
    1x1 projection, a learned per-channel scale ("layer scale", initialized to 1e-6), stochastic
    depth, and the identity shortcut."""

    def __init__(self, dim: int, drop_prob: float = 0.0, layer_scale: float = 1e-6):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.block = nn.Sequential(nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Permute(0, 2, 3, 1),
                                   nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(),
                                   nn.Linear(4 * dim, dim), Permute(0, 3, 1, 2))
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + layer_scale * block(x)``, the scaled branch dropped per sample in training."""
        return x + _drop_samples(self.layer_scale * self.block(x), self.drop_prob, self.training)


#: Liu et al. (2022), Section 3 and Table 9: ConvNeXt-T's channels and blocks per stage.
CONVNEXT_TINY = ((96, 3), (192, 3), (384, 9), (768, 3))


def convnext_tiny(num_classes: int = 1000, variant: str = "torchvision",
                  stochastic_depth: float = 0.1) -> nn.Module:
    """ConvNeXt-T of Liu, Mao, Wu, Feichtenhofer, Darrell & Xie, "A ConvNet for the 2020s",
    CVPR 2022.

    A 4x4/4 "patchify" convolution with layer norm, four stages of :class:`ConvNeXtBlock`
    (96, 192, 384, 768 channels; 3, 3, 9, 3 blocks) separated by downsampling layers (layer norm,
    2x2/2 convolution), global average pooling, layer norm and the classifier. Stochastic depth
    grows linearly from 0 to ``stochastic_depth`` over the blocks. torchvision's
    ``convnext_tiny`` layout, which is the authors' (``variant="paper"`` is the same network):
    28,589,128 parameters and 4.46 G MACs at 224 x 224 (the paper: 28 M and 4.5 G "FLOPs",
    multiply-adds).
    """
    total = sum(n for _, n in CONVNEXT_TINY)
    layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, CONVNEXT_TINY[0][0], 4, 4),
                                             LayerNorm2d(CONVNEXT_TINY[0][0], eps=1e-6))]
    block_id = 0
    for stage, (dim, n) in enumerate(CONVNEXT_TINY):
        blocks = []
        for _ in range(n):
            blocks.append(ConvNeXtBlock(dim, stochastic_depth * block_id / (total - 1)))
            block_id += 1
        layers.append(nn.Sequential(*blocks))
        if stage + 1 < len(CONVNEXT_TINY):
            layers.append(nn.Sequential(LayerNorm2d(dim, eps=1e-6),
                                        nn.Conv2d(dim, CONVNEXT_TINY[stage + 1][0], 2, 2)))
    last = CONVNEXT_TINY[-1][0]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), LayerNorm2d(last, eps=1e-6),
                         nn.Flatten(), nn.Linear(last, num_classes))


# =============================================================================================
# Registry
# =============================================================================================

_TV, _BOTH, _PAPER = ("torchvision",), ("torchvision", "paper"), ("paper",)

#: name -> (builder, fixed arguments, distinct variants; the first is the default). Every
#: network also accepts ``variant="paper"``: where it is not listed, the paper's network is the
#: default one (see the builder's docstring).
_REGISTRY: dict[str, tuple[Callable[..., nn.Module], dict, tuple[str, ...]]] = {
    "lenet5": (lenet5, {}, ("paper", "modern")),
    "alexnet": (alexnet, {}, _BOTH),
    "zfnet": (zfnet, {}, _PAPER),
    **{f"vgg{d}": (vgg, {"depth": d}, _TV) for d in VGG_CONFIGS},
    "googlenet": (googlenet, {}, _BOTH),
    "inception_v3": (inception_v3, {}, _TV),
    **{f"resnet{d}": (resnet, {"depth": d}, _BOTH if d >= 50 else _TV) for d in RESNET_CONFIGS},
    **{f"squeezenet{v}": (squeezenet, {"version": v}, _TV) for v in SQUEEZENET_CONFIGS},
    "xception": (xception, {}, _PAPER),
    "resnext50_32x4d": (resnext, {"depth": 50, "groups": 32, "width_per_group": 4}, _TV),
    "mobilenet_v1": (mobilenet_v1, {}, _PAPER),
    "shufflenet_v1": (shufflenet_v1, {}, _PAPER),
    "mobilenet_v2": (mobilenet_v2, {}, _TV),
    **{f"shufflenet_v2_{s}": (shufflenet_v2, {"scale": s}, _TV) for s in SHUFFLENET_V2_CHANNELS},
    **{f"efficientnet_{s}": (efficientnet, {"scale": s}, _TV) for s in EFFICIENTNET_SCALING},
    "vit_b_16": (vit_b_16, {}, _TV),
    "convnext_tiny": (convnext_tiny, {}, _TV),
}


def names() -> list[str]:
    """Names accepted by :func:`build`, in historical order."""
    return list(_REGISTRY)


def options(name: str) -> dict[str, object]:
    """The options of network ``name`` with their defaults (``variant``: the default one)."""
    builder, fixed, variants = _lookup(name)
    sig = inspect.signature(builder).parameters
    opts = {k: p.default for k, p in sig.items() if k not in fixed}
    opts["variant"] = variants[0]
    return opts


def variants(name: str) -> tuple[str, ...]:
    """The distinct variants of network ``name``; the first is the default.

    ``"paper"`` is accepted by every network; it is listed only where it differs.
    """
    return _lookup(name)[2]


def _lookup(name: str):
    if check_str("name", name) not in _REGISTRY:
        raise ValueError(f"unknown network {name!r}; valid: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def _check_option(name: str, key: str, value, default) -> None:
    """Validate one option by the type of its default (see :mod:`cnnbook_lib.validation`)."""
    label = f"{name}: {key}"
    if key == "num_classes" or key == "input_size":
        check_int(label, value, 1)
    elif isinstance(default, bool):
        check_flag(label, value)
    elif key in ("width", "depth") and value is not None:
        check_number(label, value, 0, 10)
    elif key in ("dropout", "stochastic_depth") and value is not None:
        check_number(label, value, 0, 1, low_open=False, high_open=True)


def build(name: str, **options) -> nn.Module:
    """Build network ``name`` (see :func:`names`) with PyTorch's default initialization.

    Every network takes ``num_classes`` and ``variant`` (see :func:`variants`; ``"paper"`` is
    accepted everywhere); other options
    are listed by :func:`options`. Unknown names, options or variants, and values out of range,
    raise ``ValueError`` naming what is valid; a value of the wrong type (``num_classes=10.0``,
    ``batch_norm=1``) raises ``TypeError`` (see :mod:`cnnbook_lib.validation`). Build inside ``with torch.device("meta"):`` to count
    parameters and MACs without allocating memory.
    """
    builder, fixed, valid_variants = _lookup(name)
    signature = inspect.signature(builder).parameters
    valid = {k: p.default for k, p in signature.items() if k not in fixed}
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"{name}: unknown option(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(valid)}")
    variant = options.setdefault("variant", valid_variants[0])
    if variant == "paper" and variant not in valid_variants:
        options["variant"] = valid_variants[0]     # the paper's network is the default one
    elif variant not in valid_variants:
        allowed = valid_variants if "paper" in valid_variants else (*valid_variants, "paper")
        raise ValueError(f"{name}: unknown variant {variant!r}; valid: {', '.join(allowed)}")
    for key, value in options.items():
        _check_option(name, key, value, valid[key])
    return builder(**fixed, **options)
