"""ResNet-18/34/50/101/152 (He et al. 2016), ResNeXt-50 (Xie et al. 2017) and SE-ResNet-50
(Hu et al. 2018)."""
from __future__ import annotations

from torch import nn

from .blocks import ConvBNAct, basic_block, bottleneck

__all__ = ["RESNET_CONFIGS", "resnet", "resnext", "se_resnet"]


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
    return _resnet(depth, num_classes, variant == "paper")


def _resnet(depth: int, num_classes: int, stride_in_1x1: bool, se_reduction: int = 0) -> nn.Module:
    block, counts = RESNET_CONFIGS[depth]
    layers = [ConvBNAct(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)]
    c_in = 64
    for stage, count in enumerate(counts):
        width = 64 * 2 ** stage
        blocks = []
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            extra = {"se_reduction": se_reduction} if se_reduction else {}
            blocks.append(block(c_in, width, stride, stride_in_1x1=stride_in_1x1, **extra))
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


def se_resnet(depth: int, num_classes: int = 1000, variant: str = "paper") -> nn.Module:
    """SE-ResNet-50 of Hu, Shen & Sun, "Squeeze-and-excitation networks", CVPR 2018 (arXiv
    1709.01507): the paper's ResNet-50 (stride in the first 1x1 of a downsampling block) with a
    squeeze-and-excitation gate of reduction 16 at the end of every bottleneck's body, before the
    sum. The paper's Table 2 gives 28.1 M parameters and 3.87 GFLOPs (multiply-adds) against
    ResNet-50's 25.6 M and 3.86: the gates add about a tenth of the weights and almost no compute.
    torchvision has no SE-ResNet; the paper's network is the only variant."""
    return _resnet(depth, num_classes, stride_in_1x1=True, se_reduction=16)
