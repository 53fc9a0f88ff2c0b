"""AlexNet (Krizhevsky et al. 2012) and ZFNet (Zeiler & Fergus 2014)."""
from __future__ import annotations

from torch import nn

from .blocks import fc_head, feature_size, local_response_norm

__all__ = ["alexnet", "zfnet"]


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
        features = [nn.Conv2d(3, 96, 11, 4), nn.ReLU(), local_response_norm(), nn.MaxPool2d(3, 2),
                    nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), local_response_norm(), nn.MaxPool2d(3, 2),
                    nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
                    nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
                    nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2)]
        n = feature_size(input_size, features)
        return nn.Sequential(*features, nn.Flatten(), *fc_head(256 * n * n, num_classes))
    features = [nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
                nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1),
                nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2)]
    return nn.Sequential(*features, nn.AdaptiveAvgPool2d(6), nn.Flatten(),
                         *fc_head(256 * 6 * 6, num_classes, dropout_first=True))


def zfnet(num_classes: int = 1000, variant: str = "paper", input_size: int = 224) -> nn.Module:
    """ZFNet of Zeiler & Fergus, "Visualizing and understanding convolutional networks",
    ECCV 2014, Figure 3. Input: 3 x 224 x 224.

    AlexNet with a finer first layer (96 filters of 7x7, stride 2 instead of 11x11, stride 4),
    conv2 with stride 2, and dense (ungrouped) conv3-conv5 of 384, 384, 256 filters, trained on
    one GPU. Each of the first two layers is convolution, ReLU, 3x3/2 max pooling, then
    contrast normalization (here :func:`local_response_norm`, AlexNet's). Choices where Figure 3 is silent:
    padding 1 in conv1 and ``ceil_mode`` in the first two poolings (as in Caffe), which give the
    figure's 110, 55, 26 and 13 pixel maps. Dense layers as in AlexNet. torchvision has no ZFNet.
    """
    features = [nn.Conv2d(3, 96, 7, 2, 1), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True), local_response_norm(),
                nn.Conv2d(96, 256, 5, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True), local_response_norm(),
                nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1),
                nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2)]
    n = feature_size(input_size, features)
    return nn.Sequential(*features, nn.Flatten(), *fc_head(256 * n * n, num_classes))
