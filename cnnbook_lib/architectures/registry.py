"""The registry of the book's networks: for each name, its builder, the arguments that pick it
out of its family, its variants and the input it was designed for.

:func:`names`, :func:`build`, :func:`options`, :func:`variants` and :func:`input_size` read it.
A network is one :class:`Network` entry of :data:`NETWORKS`, in historical order.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from ..validation import check_flag, check_int, check_number, check_str
from .alexnet import alexnet, zfnet
from .convnext import convnext_tiny
from .densenet import DENSENET_CONFIGS, densenet
from .efficientnet import EFFICIENTNET_SCALING, efficientnet
from .efficientnet_v2 import efficientnet_v2_s
from .googlenet import googlenet
from .inception_v3 import inception_v3
from .lenet import lenet5
from .mobilenet import mobilenet_v1, mobilenet_v2
from .mobilenet_v3 import mobilenet_v3
from .regnet import REGNET_CONFIGS, regnet
from .resnet import RESNET_CONFIGS, resnet, resnext, se_resnet
from .shufflenet import SHUFFLENET_V2_CHANNELS, shufflenet_v1, shufflenet_v2
from .squeezenet import SQUEEZENET_CONFIGS, squeezenet
from .vgg import VGG_CONFIGS, vgg
from .vit import vit_b_16
from .xception import xception

__all__ = ["Network", "NETWORKS", "names", "options", "variants", "input_size", "build"]


def _image(side: int, channels: int = 3) -> tuple[int, int, int, int]:
    return (1, channels, side, side)


@dataclass(frozen=True)
class Network:
    """One network of the registry.

    ``builder``: the family's function; ``fixed``: the arguments that pick this network out of
    the family (``{"depth": 50}``); ``variants``: the distinct variants, the first the default
    (every network also accepts ``variant="paper"``: where it is not listed, the paper's network
    is the default one); ``input_size``: the input (batch 1, NCHW) the default variant was
    designed for.
    """

    builder: Callable[..., nn.Module]
    fixed: dict = field(default_factory=dict)
    variants: tuple[str, ...] = ("torchvision",)
    input_size: tuple[int, int, int, int] = _image(224)


_TV, _BOTH, _PAPER = ("torchvision",), ("torchvision", "paper"), ("paper",)

#: name -> :class:`Network`, in historical order.
NETWORKS: dict[str, Network] = {
    "lenet5": Network(lenet5, {}, ("paper", "modern"), _image(32, channels=1)),
    "alexnet": Network(alexnet, {}, _BOTH),
    "zfnet": Network(zfnet, {}, _PAPER),
    **{f"vgg{d}": Network(vgg, {"depth": d}, _TV) for d in VGG_CONFIGS},
    "googlenet": Network(googlenet, {}, _BOTH),
    "inception_v3": Network(inception_v3, {}, _TV, _image(299)),
    **{f"resnet{d}": Network(resnet, {"depth": d}, _BOTH if d >= 50 else _TV)
       for d in RESNET_CONFIGS},
    **{f"squeezenet{v}": Network(squeezenet, {"version": v}, _TV) for v in SQUEEZENET_CONFIGS},
    "densenet121": Network(densenet, {"depth": 121}, _TV),
    "xception": Network(xception, {}, _PAPER, _image(299)),
    "resnext50_32x4d": Network(resnext, {"depth": 50, "groups": 32, "width_per_group": 4}, _TV),
    "mobilenet_v1": Network(mobilenet_v1, {}, _PAPER),
    "shufflenet_v1": Network(shufflenet_v1, {}, _PAPER),
    "se_resnet50": Network(se_resnet, {"depth": 50}, _PAPER),
    "mobilenet_v2": Network(mobilenet_v2, {}, _TV),
    **{f"shufflenet_v2_{s}": Network(shufflenet_v2, {"scale": s}, _TV)
       for s in SHUFFLENET_V2_CHANNELS},
    **{f"mobilenet_v3_{s}": Network(mobilenet_v3, {"size": s}, _TV) for s in ("large", "small")},
    **{f"efficientnet_{s}": Network(efficientnet, {"scale": s}, _TV, _image(scaling[2]))
       for s, scaling in EFFICIENTNET_SCALING.items()},
    **{f"regnet_{c}": Network(regnet, {"config": c}, _TV) for c in REGNET_CONFIGS},
    "vit_b_16": Network(vit_b_16, {}, _TV),
    "efficientnet_v2_s": Network(efficientnet_v2_s, {}, _TV, _image(384)),
    "convnext_tiny": Network(convnext_tiny, {}, _TV),
}


def _lookup(name: str) -> Network:
    if check_str("name", name) not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; valid: {', '.join(NETWORKS)}")
    return NETWORKS[name]


def names() -> list[str]:
    """Names accepted by :func:`build`, in historical order."""
    return list(NETWORKS)


def options(name: str) -> dict[str, object]:
    """The options of network ``name`` with their defaults (``variant``: the default one)."""
    net = _lookup(name)
    sig = inspect.signature(net.builder).parameters
    opts = {k: p.default for k, p in sig.items() if k not in net.fixed}
    opts["variant"] = net.variants[0]
    return opts


def variants(name: str) -> tuple[str, ...]:
    """The distinct variants of network ``name``; the first is the default.

    ``"paper"`` is accepted by every network; it is listed only where it differs.
    """
    return _lookup(name).variants


def input_size(name: str) -> tuple[int, int, int, int]:
    """The input (batch 1, NCHW) network ``name``'s default variant was designed for: 32 x 32
    grey for LeNet-5, 299 x 299 for Inception v3 and Xception, each EfficientNet's resolution,
    else 224 x 224 (torchvision's AlexNet included; the paper's AlexNet takes 227, its
    ``input_size`` option)."""
    return _lookup(name).input_size


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
    accepted everywhere); other options are listed by :func:`options`. Unknown names, options or
    variants, and values out of range, raise ``ValueError`` naming what is valid; a value of the
    wrong type (``num_classes=10.0``, ``batch_norm=1``) raises ``TypeError`` (see
    :mod:`cnnbook_lib.validation`). Build inside ``with torch.device("meta"):`` to count
    parameters and MACs without allocating memory.
    """
    net = _lookup(name)
    signature = inspect.signature(net.builder).parameters
    valid = {k: p.default for k, p in signature.items() if k not in net.fixed}
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"{name}: unknown option(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(valid)}")
    variant = options.setdefault("variant", net.variants[0])
    if variant == "paper" and variant not in net.variants:
        options["variant"] = net.variants[0]     # the paper's network is the default one
    elif variant not in net.variants:
        allowed = net.variants if "paper" in net.variants else (*net.variants, "paper")
        raise ValueError(f"{name}: unknown variant {variant!r}; valid: {', '.join(allowed)}")
    for key, value in options.items():
        _check_option(name, key, value, valid[key])
    return net.builder(**net.fixed, **options)
