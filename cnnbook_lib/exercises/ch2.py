"""Chapter 2 checks: receptive fields."""
from __future__ import annotations

import math  # noqa: F401
from typing import Callable  # noqa: F401

from .. import formulas as F  # noqa: F401
from ._core import Check, register  # noqa: F401

# ---------------------------------------------------------------------------------------------
# Chapter 2: receptive fields
# ---------------------------------------------------------------------------------------------

def _rf_stack(layers, jump_after: bool = False):
    """(size, jump, start) of a list of (k, s, d, p) layers by the recurrence. With
    ``jump_after`` each layer's growth is multiplied by the jump *after* it (a typical mistake)."""
    r, j, u = 1, 1, 0
    for k_, s_, d_, p_ in layers:
        if jump_after:
            r, j = r + (F.effective_kernel_size(k_, d_) - 1) * j * s_, j * s_
        else:
            r, j, u = F.receptive_field_step(r, j, u, k_, s_, d_, p_)
    return r, j, u


_RESNET_STEM_BLOCK = [(7, 2, 1, 3), (3, 2, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1)]
_STRIDE2_STACK = [(3, 2, 1, 1)] * 3


def _stride1_layers_to_cover(k_: int, n_: int) -> int:
    """Fewest stride-1 layers of kernel k whose field is at least n pixels: ceil((n-1)/(k-1))."""
    return next(L for L in range(1, 10 * n_) if F.stride1_receptive_field(L, k_) >= n_)


register(Check(
    id="rf-size-1", chapter=2, difficulty="easy",
    question="Receptive field size after a 7x7 stride-2 convolution (padding 3), 3x3 stride-2 max "
             "pooling (padding 1) and two 3x3 stride-1 convolutions (padding 1).",
    answer=lambda: _rf_stack(_RESNET_STEM_BLOCK)[0],
    mistakes={
        "each layer adds (k - 1) steps of the jump before it, not (k - 1) pixels: multiply by "
        "the product of the earlier strides.":
            lambda: 1 + sum(k_ - 1 for k_, *_ in _RESNET_STEM_BLOCK),
        "you multiplied each layer's growth by the jump after it; use the jump before it (a "
        "layer's own stride only affects the layers after it).":
            lambda: _rf_stack(_RESNET_STEM_BLOCK, jump_after=True)[0],
        "the max-pooling layer is a layer of the recurrence too: its window and stride count.":
            lambda: _rf_stack([layer for layer in _RESNET_STEM_BLOCK if layer != (3, 2, 1, 1)])[0],
    },
))

register(Check(
    id="rf-cover-layers-1", chapter=2, difficulty="easy",
    question="Fewest stride-1 5x5 convolutions (padding 2) after which a unit sees every pixel of a "
             "224-pixel-wide image.",
    answer=lambda: _stride1_layers_to_cover(5, 224),
    mistakes={
        "each layer adds k - 1 = 4 pixels to the field, not k = 5.":
            lambda: math.ceil(224 / 5),
        "with stride 1 the field grows by a constant per layer; a logarithm counts layers only "
        "when the stride equals the kernel.":
            lambda: math.ceil(math.log(224, 5)),
        "round up: with one layer fewer the field is still narrower than the image.":
            lambda: (224 - 1) // (5 - 1),
    },
))

register(Check(
    id="rf-eff-stride-1", chapter=2, difficulty="easy",
    question="Effective stride (jump) of three stacked 3x3 convolutions, each with stride 2 and "
             "padding 1.",
    answer=lambda: _rf_stack(_STRIDE2_STACK)[1],
    mistakes={
        "strides multiply, they do not add: the jump is the product of the strides.":
            lambda: sum(s_ for _, s_, *_ in _STRIDE2_STACK),
        "that is the jump before the last layer; the stack's jump includes every stride.":
            lambda: _rf_stack(_STRIDE2_STACK[:-1])[1],
    },
))

register(Check(
    id="rf-eff-padding-1", chapter=2, difficulty="medium",
    question="Effective padding of three stacked 3x3 convolutions, each with stride 2 and "
             "padding 1.",
    answer=lambda: F.receptive_field_padding(*_rf_stack(_STRIDE2_STACK)[::2]),
    mistakes={
        "each padding counts in pixels of the map it pads: multiply it by the jump before its "
        "layer before adding.":
            lambda: sum(p_ for *_, p_ in _STRIDE2_STACK),
        "you multiplied each padding by the jump after its layer; use the jump before it.":
            lambda: sum(p_ * 2 ** (n_ + 1) for n_, (*_, p_) in enumerate(_STRIDE2_STACK)),
        "that is the start (the centre of the first field); the effective padding is "
        "(r - 1)/2 - u.":
            lambda: _rf_stack(_STRIDE2_STACK)[2],
    },
))

register(Check(
    id="rf-stack-params-1", chapter=2, difficulty="medium",
    question="Weights (no biases) of a stack of stride-1 3x3 convolutions, 128 channels in and out, "
             "whose receptive field equals that of one 9x9 layer.",
    answer=lambda: (9 - 1) // 2 * F.conv_params(128, 128, 3, bias=False),
    mistakes={
        "that is the single 9x9 layer's count; the question asks for the stack of 3x3 layers.":
            lambda: F.conv_params(128, 128, 9, bias=False),
        "n stacked 3x3 layers see 1 + 2n pixels: a 9-pixel field needs 4 layers, not 3.":
            lambda: 3 * F.conv_params(128, 128, 3, bias=False),
        "leave the biases out, as the question says.":
            lambda: (9 - 1) // 2 * F.conv_params(128, 128, 3),
    },
))


