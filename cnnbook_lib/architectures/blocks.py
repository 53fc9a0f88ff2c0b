"""The blocks the networks share, each defined once: :class:`ConvBNAct` (convolution, batch
normalization, activation), :class:`Residual` (body plus shortcut) with ResNet's basic and
bottleneck blocks, :class:`Inception`, :class:`SqueezeExcitation`, :func:`make_divisible`, the
local response normalization of AlexNet and GoogLeNet and the dense classifier head of AlexNet,
ZFNet and VGG.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn


__all__ = ["ConvBNAct", "Residual", "drop_samples", "basic_block", "bottleneck", "Inception",
           "SqueezeExcitation", "make_divisible", "feature_size", "local_response_norm", "fc_head"]


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
        out = drop_samples(self.body(x), self.drop_prob, self.training)
        return self.act(out + self.shortcut(x))


def drop_samples(out: torch.Tensor, drop_prob: float, training: bool) -> torch.Tensor:
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
               groups: int = 1, inner: int | None = None, se_reduction: int = 0) -> Residual:
    """ResNet's bottleneck block: 1x1 reduce to ``width``, 3x3, 1x1 expand to ``4 * width``.

    torchvision (ResNet "v1.5") strides in the 3x3 convolution; the paper (``stride_in_1x1``)
    strides in the first 1x1, which skips three quarters of the input and of the 3x3's work.
    ResNeXt's block (Xie et al. 2017, Figure 3c) reduces to ``inner`` channels instead and splits
    the 3x3 convolution into ``groups`` groups; the output stays ``4 * width``. ``se_reduction``
    r > 0 appends squeeze-and-excitation to the body, before the sum (SE-ResNet, Hu et al. 2018,
    Figure 3: a gate with a bottleneck of ``4 * width / r`` channels).
    """
    s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
    mid = width if inner is None else inner
    layers = [ConvBNAct(c_in, mid, 1, s1), ConvBNAct(mid, mid, 3, s3, groups=groups),
              ConvBNAct(mid, 4 * width, 1, act=None)]
    if se_reduction:
        layers.append(SqueezeExcitation(4 * width, 4 * width // se_reduction, act=nn.ReLU))
    body = nn.Sequential(*layers)
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

    ``x * gate(fc2(act(fc1(avgpool(x)))))``, the two dense layers written as 1x1 convolutions;
    the gate is the sigmoid (MobileNetV3: ``gate=nn.Hardsigmoid``, its piecewise-linear stand-in).
    Any channel count and map size: ``SqueezeExcitation(c, c // 4)`` gates a C-channel map.
    """

    def __init__(self, channels: int, squeeze: int, act: Callable[[], nn.Module] = nn.SiLU,
                 gate: Callable[[], nn.Module] = nn.Sigmoid):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.act = act()
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.gate = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` times its channel gates."""
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a scaled channel count to a multiple of ``divisor``, losing at most 10 %.

    The rule of the MobileNet v2 and EfficientNet reference code (and of torchvision).
    """
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def feature_size(n: int, layers: Sequence[nn.Module]) -> int:
    """Spatial size after ``layers`` (convolutions and max pooling) on an ``n`` x ``n`` input."""
    from .. import formulas           # here: a process that only builds networks needs no sympy
    for m in layers:
        if isinstance(m, nn.Conv2d):
            n = formulas.conv_output_size(n, m.kernel_size[0], m.stride[0], m.padding[0],
                                          m.dilation[0])
        elif isinstance(m, nn.MaxPool2d):
            n = formulas.pool_output_size(n, m.kernel_size, m.stride, m.padding, m.ceil_mode)
    return n


def local_response_norm() -> nn.LocalResponseNorm:
    """Local response normalization of Krizhevsky et al. (2012): n=5, alpha=1e-4, beta=0.75, k=2.

    The paper divides by ``(k + alpha * sum a^2)^beta``; PyTorch (like Caffe) uses
    ``alpha / n``, so the paper's alpha is passed as ``n * alpha``.
    """
    return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)


def fc_head(in_features: int, num_classes: int, hidden: int = 4096, dropout: float = 0.5,
             dropout_first: bool = False) -> list[nn.Module]:
    """Two hidden dense layers with ReLU and dropout, then the classifier."""
    if dropout_first:   # torchvision's AlexNet: dropout before each hidden layer
        return [nn.Dropout(dropout), nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout),
                nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)]
    return [nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)]
