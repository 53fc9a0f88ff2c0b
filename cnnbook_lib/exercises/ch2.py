"""Chapter 2 checks: receptive fields."""
from __future__ import annotations

import math

from .. import formulas as F
from ._core import Check, register

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


# Dilation (chapters/02/05_dilation)

_DILATED_STACK = [(3, 1, 1, 1), (3, 1, 2, 2), (2, 2, 1, 0), (3, 1, 4, 4)]


def _largest_hole_free_field(kernel: int, depth: int) -> tuple[int, tuple[int, ...]]:
    """The largest field of ``depth`` stride-1 layers of ``kernel`` taps whose coverage has no
    holes, and its rates, by search with :func:`cnnbook_lib.receptive.coverage`. The order of
    the layers does not change a stride-1 stack's coverage (a sum of tap offsets), so the rates
    are searched in increasing order; a rate above the field of the layers below leaves a gap.
    A layer multiplies the number of paths by ``kernel``, and a field without holes has a path to
    each of its pixels, so branches that cannot beat the best field found are cut."""
    from ..receptive import coverage, holes
    best = (1, ())

    def grow(rates: tuple[int, ...], field: int) -> None:
        nonlocal best
        if field * kernel ** (depth - len(rates)) <= best[0]:
            return
        if len(rates) == depth:
            mask = coverage([(kernel, 1, r) for r in rates], (field,))
            if field > best[0] and not holes(mask).any():
                best = (field, rates)
            return
        for r in range(field, (rates[-1] if rates else 1) - 1, -1):      # largest rates first
            grow(rates + (r,), field + r * (kernel - 1))

    grow((), 1)
    return best


register(Check(
    id="rf-dilated-field-1", chapter=2, difficulty="easy",
    question="Receptive field of a 3x3 convolution (dilation 1), a 3x3 convolution with dilation "
             "2, 2x2 max pooling with stride 2, and a 3x3 convolution with dilation 4, all other "
             "strides 1.",
    answer=lambda: _rf_stack(_DILATED_STACK)[0],
    mistakes={
        "a dilated layer's kernel spans d(k - 1) + 1 pixels, not k: it adds d(k - 1) steps of "
        "the jump.":
            lambda: _rf_stack([(k_, s_, 1, p_) for k_, s_, _, p_ in _DILATED_STACK])[0],
        "after the pooling the jump is 2: the last layer adds d(k - 1) steps of 2 pixels.":
            lambda: _rf_stack([(k_, 1, d_, p_) for k_, _, d_, p_ in _DILATED_STACK])[0],
        "the effective kernel is d(k - 1) + 1, not d k.":
            lambda: 1 + sum((d_ * k_ - 1) * j_ for (k_, _, d_, _), j_ in
                            zip(_DILATED_STACK, (1, 1, 1, 2))),
        "the pooling layer is a layer of the recurrence too: its 2x2 window adds a pixel.":
            lambda: _rf_stack([(1, s_, d_, p_) if k_ == 2 else (k_, s_, d_, p_)
                               for k_, s_, d_, p_ in _DILATED_STACK])[0],
    },
))

register(Check(
    id="rf-dilated-design-1", chapter=2, difficulty="hard",
    question="Largest receptive field, without holes, of four stride-1 3x3 convolutions whose "
             "dilation rates you choose.",
    answer=lambda: _largest_hole_free_field(3, 4)[0],
    mistakes={
        "rates 1, 2, 4, 8 double and have no holes, but a larger field is possible: each layer "
        "can triple the field when the rates are powers of 3.":
            lambda: int(F.rf_dilated_doubling.subs({F.k: 3, F.rf_L: 4})),
        "rates 1, 2, 5, 9 pass the rule of Wang et al. and leave no holes, but the field can be "
        "larger: count the paths, 3^4 of them, at least one per pixel of the field.":
            lambda: 1 + 2 * (1 + 2 + 5 + 9),
        "without dilation four 3x3 layers see 9 pixels; dilation lets the field grow much "
        "faster at the same depth.":
            lambda: F.stride1_receptive_field(4, 3),
    },
))
# A field through residual blocks, chapters/02/06_multipath (the longest path: stem, two stride-1
# basic blocks, then a downsampling basic block whose first 3x3 convolution has stride 2)
_RESNET_STEM = [(7, 2, 1, 3), (3, 2, 1, 1)]
_RESIDUAL_BODIES = [(3, 1, 1, 1)] * 4 + [(3, 2, 1, 1), (3, 1, 1, 1)]
_SHORTCUT_PATH = [(3, 1, 1, 1)] * 4 + [(1, 2, 1, 0)]


def _residual_field() -> int:
    return _rf_stack(_RESNET_STEM + _RESIDUAL_BODIES)[0]


register(Check(
    id="rf-residual-1", chapter=2, difficulty="medium",
    question="Receptive field after a ResNet stem (7x7 stride-2 convolution, padding 3; 3x3 "
             "stride-2 max pooling, padding 1), two basic blocks (two 3x3 convolutions each, "
             "identity shortcuts) and a downsampling basic block (3x3 stride 2, then 3x3; a 1x1 "
             "stride-2 projection shortcut).",
    answer=_residual_field,
    mistakes={
        "that is the field of the shortcut path; a merge sees the union of its branches, and "
        "the body's path is the longest.":
            lambda: _rf_stack(_RESNET_STEM + _SHORTCUT_PATH)[0],
        "the branches of a residual addition do not add their fields: the union of nested "
        "fields is the largest one.":
            lambda: _residual_field() + _rf_stack(_RESNET_STEM + _SHORTCUT_PATH)[0],
        "the strided 3x3 convolution runs on the finer map: its taps are the jump before it "
        "apart (4 pixels), not the jump after it.":
            lambda: _rf_stack(_RESNET_STEM + _RESIDUAL_BODIES[:4])[0] + 2 * 8 + 2 * 8,
        "a residual block adds its body's growth to the field; the shortcut does not reset it.":
            lambda: _rf_stack(_RESNET_STEM + _RESIDUAL_BODIES[4:])[0],
    },
))

# The variance of the effective field of an equal-weight stack (chapters/02/07_effective)
_ERF_LAYERS, _ERF_TAPS = 6, 5

register(Check(
    id="erf-variance-1", chapter=2, difficulty="medium",
    question="Variance, in pixels squared, of the effective receptive field of 6 stride-1 layers "
             "of 5 equal taps each (one channel, no non-linearity).",
    answer=lambda: float(F.erf_variance_uniform_stack(_ERF_LAYERS, _ERF_TAPS)),
    mistakes={
        "one uniform tap on k values has variance (k^2 - 1)/12, not k^2/12.":
            lambda: _ERF_LAYERS * _ERF_TAPS ** 2 / 12,
        "the taps span k values, so the variance is (k^2 - 1)/12, not ((k - 1)^2)/12.":
            lambda: _ERF_LAYERS * (_ERF_TAPS - 1) ** 2 / 12,
        "that is the standard deviation; the question asks for the variance (its square).":
            lambda: float(F.erf_variance_uniform_stack(_ERF_LAYERS, _ERF_TAPS)) ** 0.5,
        "variances of independent taps add: multiply one layer's variance by the number of "
        "layers.":
            lambda: float(F.erf_variance_uniform_stack(1, _ERF_TAPS)),
        "the variances add, the standard deviations do not: n layers have n times the variance "
        "of one, not n squared times.":
            lambda: _ERF_LAYERS ** 2 * float(F.erf_variance_uniform_stack(1, _ERF_TAPS)),
    },
    rel_tol=1e-3,
))
