"""Xception (Chollet 2017): depthwise separable convolutions in residual blocks."""
from __future__ import annotations

from torch import nn

from .blocks import ConvBNAct, Residual
from .inception_v3 import conv_bn_relu

__all__ = ["SeparableConv", "xception"]


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
    layers = [conv_bn_relu(3, 32, 3, 2, same=False), conv_bn_relu(32, 64, 3, same=False),
              _xception_block(64, 128, first_relu=False), _xception_block(128, 256),
              _xception_block(256, 728)]
    layers += [_xception_block(728, 728, down=False) for _ in range(8)]
    layers += [_xception_block(728, 1024, mid=728), SeparableConv(1024, 1536), nn.ReLU(),
               SeparableConv(1536, 2048), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, num_classes))
