"""ResNet-18/34/50/101/152 (He et al. 2016) and ResNeXt-50 (Xie et al. 2017)."""
from __future__ import annotations

from torch import nn

from .blocks import ConvBNAct, basic_block, bottleneck

__all__ = ["RESNET_CONFIGS", "resnet", "resnext"]


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
