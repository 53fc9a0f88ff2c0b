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
299 x 299 inputs, the others for 224 x 224 (LeNet-5: 32 x 32; AlexNet's paper variant: 227);
``input_size(name)`` gives each network's input.

One module per family (:mod:`.lenet`, :mod:`.alexnet` with ZFNet, :mod:`.vgg`,
:mod:`.googlenet`, :mod:`.inception_v3`, :mod:`.resnet` with ResNeXt, :mod:`.squeezenet`,
:mod:`.xception`, :mod:`.mobilenet`, :mod:`.shufflenet`, :mod:`.mobilenet_v3`,
:mod:`.efficientnet`, :mod:`.efficientnet_v2`, :mod:`.vit`,
:mod:`.convnext`, and :mod:`.convnext_steps`, the networks between ResNet-50 and ConvNeXt-T
step by step); every name is importable from ``cnnbook_lib.architectures`` itself. The
networks share a few blocks, each defined once in :mod:`.blocks`: :class:`ConvBNAct`
(convolution, batch normalization, activation), :class:`Residual` (body plus shortcut, used by
the basic and bottleneck blocks of ResNet and ResNeXt, the inverted residual of MobileNet v2, the
MBConv of EfficientNet and Xception's blocks), :class:`Inception` and :class:`SqueezeExcitation`;
:class:`ChannelShuffle` is ShuffleNet's (v1 and v2). :mod:`.registry` lists the networks.

Common differences from torchvision that do not change any count: weights keep PyTorch's default
initialization (torchvision re-initializes some networks), activations are not in-place (so that
hooks of the analysis tools see every intermediate tensor), and module names are our own.

Adding a network: write its builder (a function taking ``num_classes``, ``variant`` and its
options, returning a ``torch.nn.Module``) in its family's module, or in a new module imported
below; then add one :class:`~.registry.Network` entry (builder, variants, input size) to
:data:`~.registry.NETWORKS`. ``tests/test_architectures.py`` checks every registered network
(against torchvision where it has the network). The modernization steps of
:mod:`.convnext_steps` are not registered networks (no paper or library publishes them as
networks; the registry's networks are the ones every table of the book lists): they are built by
``convnext_step(step)`` and checked in ``tests/test_convnext_steps.py``.
"""
from __future__ import annotations

from .blocks import *  # noqa: F401,F403
from .lenet import *  # noqa: F401,F403
from .alexnet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .inception_v3 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .xception import *  # noqa: F401,F403
from .mobilenet import *  # noqa: F401,F403
from .shufflenet import *  # noqa: F401,F403
from .efficientnet import *  # noqa: F401,F403
from .mobilenet_v3 import *  # noqa: F401,F403
from .efficientnet_v2 import *  # noqa: F401,F403
from .vit import *  # noqa: F401,F403
from .convnext import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .regnet import *  # noqa: F401,F403
from .convnext_steps import *  # noqa: F401,F403
from .registry import NETWORKS, Network, build, input_size, names, options, variants  # noqa: F401

__all__ = [
    "names", "build", "options", "variants", "input_size", "ConvBNAct", "Residual", "Inception",
    "SqueezeExcitation", "ChannelShuffle", "EFFICIENTNET_SCALING", "compound_scaling",
    "make_divisible", "Fire", "Parallel", "SeparableConv", "ShuffleV1Block", "ShuffleV2Block",
    "EncoderBlock", "VisionTransformer", "ConvNeXtBlock", "LayerNorm2d", "Permute", "DenseLayer",
    "DenseBlock", "DENSENET_CONFIGS", "RegNetBlock", "REGNET_CONFIGS", "regnet_widths",
    "STEPS", "STEP_TITLES", "PAPER_TABLE_10", "convnext_step",
]
