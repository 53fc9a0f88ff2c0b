"""The effective receptive field in numbers: maps, profiles, their moments, and test stacks.

Luo, Li, Urtasun & Zemel, "Understanding the Effective Receptive Field in Deep Convolutional
Neural Networks" (NeurIPS 2016) measure how much each input pixel matters to one output unit by
back-propagating from that unit: the gradient of the loss with respect to the output is 1 at the
unit (in every channel) and 0 elsewhere, and the gradient that reaches the input, averaged over
random inputs (and random weights), is the *effective* receptive field (ERF). Its mass sits in a
small Gaussian-like blob in the middle of the theoretical field.

* :func:`erf_map` measures it for any model (``power=1``: the mean of ``|dy/dx|``, the maps of
  :func:`cnnbook_lib.receptive.gradient_receptive_field`; ``power=2``: the mean of its square,
  the quantity whose variance Luo et al. derive for random weights);
* :func:`profile`, :func:`moments` and :func:`gaussian` reduce a map to one axis, give its mean
  and variance in pixels, and the Gaussian with the same moments;
* :func:`stack` builds the test networks of the book: ``depth`` stride-1 convolutions with an
  optional ReLU, residual additions, strides or dilations.

For ``depth`` layers of ``k`` equal taps without non-linearity the map is the distribution of a
sum of ``depth`` independent uniforms on ``k`` values; its variance is
:func:`cnnbook_lib.formulas.erf_variance_uniform_stack`.
"""
from __future__ import annotations

import copy
import math
from typing import Sequence

import torch
from torch import nn

from . import _check

__all__ = ["Stack", "stack", "erf_map", "profile", "moments", "gaussian", "mass_classes", "std"]

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


class Stack(nn.Module):
    """``depth`` convolutions of ``k`` taps with "same" padding ``d (k - 1) // 2``.

    Layer ``l`` computes ``h = act(conv_l(h))``, or ``h = h + act(conv_l(h))`` with ``skip``
    where the shapes agree (a stride-1 layer with as many channels out as in); ``act`` is a ReLU
    or nothing. ``strides`` and ``dilations`` give one value per layer (default 1).
    """

    def __init__(self, depth: int, *, k: int = 3, channels: int = 8, in_channels: int = 1,
                 dims: int = 2, relu: bool = True, skip: bool = False,
                 strides: Sequence[int] | None = None, dilations: Sequence[int] | None = None,
                 bias: bool = False):
        super().__init__()
        depth = _check.integer("depth", depth, 1, 4096)
        k = _check.integer("k", k, 1, 99)
        channels = _check.integer("channels", channels, 1)
        in_channels = _check.integer("in_channels", in_channels, 1)
        if dims not in _CONV:
            raise ValueError(f"dims must be 1, 2 or 3, got {dims!r}")
        strides = [1] * depth if strides is None else list(strides)
        dilations = [1] * depth if dilations is None else list(dilations)
        for label, values in (("strides", strides), ("dilations", dilations)):
            if len(values) != depth:
                raise ValueError(f"{label} must hold {depth} values (one per layer), got "
                                 f"{len(values)}")
            for v in values:
                _check.integer(label, v, 1, 64)
        self.skip, self.relu = bool(skip), bool(relu)
        conv = _CONV[dims]
        self.convs = nn.ModuleList(
            conv(in_channels if i == 0 else channels, channels, k, strides[i],
                 dilations[i] * (k - 1) // 2, dilations[i], bias=bias)
            for i in range(depth))
        self.layers = [(k, s_, d_, d_ * (k - 1) // 2) for s_, d_ in zip(strides, dilations)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The stack on ``x`` (N, C, ...)."""
        for conv in self.convs:
            y = conv(x)
            if self.relu:
                y = torch.relu(y)
            x = x + y if self.skip and y.shape == x.shape else y
        return x


def stack(depth: int, **options) -> Stack:
    """A :class:`Stack` (see there for the options)."""
    return Stack(depth, **options)


def _reinitialize(model: nn.Module) -> None:
    for m in model.modules():
        if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
            m.reset_parameters()


def erf_map(model: nn.Module, input_shape: Sequence[int], *, samples: int = 8, seed: int = 0,
            reinitialize: bool = True, power: int = 1, inputs: torch.Tensor | None = None,
            unit: Sequence[int] | None = None, dtype: torch.dtype = torch.float32
            ) -> torch.Tensor:
    """Effective receptive field of ``model``'s output unit ``unit`` (default the central one).

    For each of ``samples`` draws (seeded ``seed``, ``seed + 1``, ...): with ``reinitialize``,
    fresh weights from each layer's ``reset_parameters`` (on a copy: the caller's model is not
    changed); an input of ``input_shape`` (N, C, ...) drawn from the standard normal, or the
    rows of ``inputs`` (then ``samples`` is ignored); the output gradient 1 at ``unit`` in every
    channel of every batch row and 0 elsewhere; the input gradient's ``|g|`` (``power=1``) or
    ``g ** 2`` (``power=2``), summed over batch and channels. Returns the mean map (the input's
    spatial shape, float64), normalized to sum 1. ``dtype=torch.float64`` measures on a float64
    copy of the model (exact to rounding, for comparisons with formulas).
    """
    _check.module("model", model)
    if power not in (1, 2):
        raise ValueError(f"power must be 1 or 2, got {power!r}")
    samples = _check.integer("samples", samples, 1, 10 ** 4)
    seed = _check.integer("seed", seed, 0, 2 ** 63 - 1)
    shape = tuple(_check.integer("input_shape", v) for v in input_shape)
    if len(shape) < 3:
        raise ValueError(f"input_shape must be (N, C, ...) with at least one spatial axis, "
                         f"got {tuple(input_shape)!r}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    net = copy.deepcopy(model) if reinitialize or dtype != torch.float32 else model
    net = net.to(dtype)
    was_training = net.training
    net.eval()
    total = torch.zeros(shape[2:], dtype=torch.float64)
    draws = [inputs] if inputs is not None else [None] * samples
    try:
        with torch.random.fork_rng(devices=[]):
            for t, given in enumerate(draws):
                torch.manual_seed(seed + t)
                if reinitialize:
                    with torch.no_grad():
                        _reinitialize(net)
                x = (torch.randn(shape, dtype=dtype) if given is None
                     else given.detach().to(dtype)).clone()
                x.requires_grad_(True)
                y = net(x)
                where = tuple(o // 2 for o in y.shape[2:]) if unit is None else tuple(unit)
                if len(where) != y.dim() - 2 or any(not 0 <= u < o
                                                   for u, o in zip(where, y.shape[2:])):
                    raise ValueError(f"unit {where} lies outside the output of "
                                     f"{tuple(y.shape[2:])} units")
                seed_grad = torch.zeros_like(y)
                seed_grad[(slice(None), slice(None)) + where] = 1.0
                (g,) = torch.autograd.grad(y, x, seed_grad)
                g = g.double().abs() if power == 1 else g.double() ** 2
                total += g.sum(dim=(0, 1))
    finally:
        net.train(was_training)
    if total.sum() <= 0:
        raise ValueError("the gradient is zero everywhere: the unit does not depend on the input")
    return total / total.sum()


def profile(erf: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """The map summed over every axis but ``axis``: a 1-D profile that sums to 1 like the map."""
    if not isinstance(erf, torch.Tensor) or erf.dim() < 1:
        raise TypeError("erf must be a tensor with at least one axis")
    axis = axis % erf.dim()
    others = tuple(a for a in range(erf.dim()) if a != axis)
    out = erf.double().sum(dim=others) if others else erf.double()
    return out / out.sum()


def moments(values: torch.Tensor) -> tuple[float, float]:
    """Mean and variance (pixels, pixels squared) of a 1-D profile read as a distribution over
    the pixel positions 0, 1, ..."""
    if not isinstance(values, torch.Tensor) or values.dim() != 1:
        raise TypeError("values must be a 1-D tensor")
    w = values.double()
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("a profile must be non-negative with a positive sum")
    w = w / w.sum()
    x = torch.arange(len(w), dtype=torch.float64)
    mean = float((w * x).sum())
    return mean, float((w * (x - mean) ** 2).sum())


def gaussian(length: int, mean: float, variance: float) -> torch.Tensor:
    """The Gaussian with this mean and variance at the pixel positions 0 .. length - 1,
    normalized to sum 1 (the moment-matched fit of a profile)."""
    length = _check.integer("length", length)
    if not variance > 0:
        raise ValueError(f"variance must be positive, got {variance!r}")
    x = torch.arange(length, dtype=torch.float64)
    g = torch.exp(-(x - mean) ** 2 / (2 * variance))
    return g / g.sum()


def mass_classes(values: Sequence[float], masses: Sequence[float] = (0.5, 0.95)) -> list[int]:
    """For each mass m, the smallest number of pixels (largest values first) holding m of the
    total: how concentrated a map is (the count behind ``erf_fraction``)."""
    v = sorted((float(x) for x in values), reverse=True)
    total = sum(v)
    if total <= 0:
        raise ValueError("the values hold no mass")
    counts = []
    for m in masses:
        m = _check.number("mass", m, 0.0, 1.0)
        acc, needed = 0.0, 0
        while needed < len(v) and acc < m * total * (1 - 1e-12):
            acc += v[needed]
            needed += 1
        counts.append(max(needed, 1))
    return counts


def std(values: torch.Tensor) -> float:
    """Standard deviation in pixels of a 1-D profile (the square root of :func:`moments`)."""
    return math.sqrt(moments(values)[1])
