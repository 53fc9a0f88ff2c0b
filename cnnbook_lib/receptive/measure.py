"""Receptive fields measured with autograd: the theoretical support and the effective field."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn

from . import _check, layout as L
from .axis import Axis
from .results import _AxesView, RF
from .ops import MAXPOOL, _MAXPOOL_ARGS, _bind, _layer_norm_dims, _pool_geometry
from .trace import _input_shape, unclipped_input_size
from .tracer import _copy, _trace

# In the support measurement these become the identity: with positive weights and inputs the
# network is then linear with non-negative coefficients, so no gradient can cancel or saturate.
_IDENTITY_WHEN_LINEARIZED = {
    F.relu, torch.relu, torch.relu_, F.relu_, F.relu6, F.hardtanh, F.hardtanh_, F.leaky_relu,
    F.elu, F.selu, F.celu, F.gelu, F.silu, F.mish, F.hardswish, F.softplus, F.batch_norm,
    F.local_response_norm, F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
    torch.Tensor.relu, torch.Tensor.relu_,
}
# Gates (squeeze-excitation multiplies a tensor by one) and softmax become t / (1 + t):
# positive, increasing and at most 1, so a product with a gate cannot overflow.
_GATES = {F.sigmoid, torch.sigmoid, torch.Tensor.sigmoid, F.hardsigmoid, F.tanh, torch.tanh,
          torch.Tensor.tanh, F.softmax, torch.softmax, torch.Tensor.softmax, F.log_softmax,
          torch.log_softmax, torch.Tensor.log_softmax}


def _gate(t: torch.Tensor) -> torch.Tensor:
    return t / (1 + t)


def _first(args, kwargs):
    return args[0] if args else next(iter(kwargs.values()))


def _sum_pool(args, kwargs):
    """Max pooling replaced by an averaging pool with the same geometry (support measurement)."""
    from .. import formulas
    a = _bind(_MAXPOOL_ARGS, args, kwargs)
    if a.get("return_indices"):
        raise ValueError("max pooling with return_indices cannot be measured")
    x = a["input"]
    n = x.dim() - 2
    _, k, s, d, p, _ = _pool_geometry("maxpool", _MAXPOOL_ARGS, n)(args, kwargs, x, None)
    size = tuple(x.shape[-n:])
    ceil = bool(a.get("ceil_mode"))
    if all(v == 1 for v in d):          # the same windows, averaged: positive weights, fast
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n - 1]
        return pool(x, k, s, p, ceil_mode=ceil, count_include_pad=True)
    n_out = tuple(formulas.pool_output_size(size[i], k[i], s[i], p[i], ceil, d[i])
                  for i in range(n))
    # pad enough at the end for ceil-mode windows, then crop to PyTorch's output size
    extra = [formulas.window_overhang(size[i], n_out[i], k[i], s[i], p[i], d[i]) for i in range(n)]
    pads = []
    for i in reversed(range(n)):
        pads += [p[i], p[i] + extra[i]]
    xp = F.pad(x, pads)
    c = x.shape[-n - 1]
    w = torch.full((c, 1) + k, 1.0 / math.prod(k), dtype=x.dtype, device=x.device)
    conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    y = conv(xp.reshape((-1,) + tuple(xp.shape[-n - 1:])), w, stride=s, dilation=d, groups=c)
    y = y[(Ellipsis,) + tuple(slice(0, m) for m in n_out)]
    return y.reshape(tuple(x.shape[:-n]) + n_out)


def _plus_mean(dims_of):
    """Normalizations become ``x + mean(x)`` over the normalized dimensions: positive, and
    every output depends on every position it is normalized with."""
    def impl(args, kwargs):
        x = _first(args, kwargs)
        return x + x.mean(dim=dims_of(args, kwargs, x), keepdim=True)
    return impl


def _attention(q, k, v, mask=None, causal=False, scale=None):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    w = _gate(q @ k.transpose(-2, -1) * scale)
    if mask is not None and mask.dtype == torch.bool:
        w = w * mask
    if causal:
        w = w * torch.ones(w.shape[-2:], dtype=torch.bool, device=w.device).tril()
    return w @ v


def _sdpa(args, kwargs):
    a = _bind(("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale"), args,
              kwargs)
    return _attention(a["query"], a["key"], a["value"], a.get("attn_mask"),
                      bool(a.get("is_causal")), a.get("scale"))


def _mha(args, kwargs):
    names = ("query", "key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight",
             "in_proj_bias", "bias_k", "bias_v", "add_zero_attn", "dropout_p", "out_proj_weight",
             "out_proj_bias", "training", "key_padding_mask", "need_weights", "attn_mask",
             "use_separate_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
    a = _bind(names, args, kwargs)
    q, k, v = a["query"], a["key"], a["value"]
    unbatched = q.dim() == 2
    if unbatched:
        q, k, v = q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)
    e, h = q.shape[-1], a["num_heads"]
    if a.get("use_separate_proj_weight"):
        weights = (a["q_proj_weight"], a["k_proj_weight"], a["v_proj_weight"])
    else:
        weights = a["in_proj_weight"].chunk(3)
    biases = a["in_proj_bias"].chunk(3) if a.get("in_proj_bias") is not None else (None,) * 3
    q, k, v = (F.linear(t, w, b) for t, w, b in zip((q, k, v), weights, biases))
    split = lambda t: t.reshape(t.shape[0], -1, e // h).transpose(0, 1)   # noqa: E731
    out = _attention(split(q), split(k), split(v), causal=bool(kwargs.get("is_causal")))
    out = out.transpose(0, 1).reshape(q.shape)
    out = F.linear(out, a["out_proj_weight"], a.get("out_proj_bias"))
    return (out.squeeze(1) if unbatched else out), None


_LINEARIZED = {fn: (lambda args, kwargs: _first(args, kwargs)) for fn in _IDENTITY_WHEN_LINEARIZED}
for _fn in MAXPOOL:
    _LINEARIZED[_fn] = _sum_pool
for _n in (1, 2, 3):
    _LINEARIZED[getattr(F, f"adaptive_max_pool{_n}d")] = \
        lambda args, kwargs, _n=_n: getattr(F, f"adaptive_avg_pool{_n}d")(*args[:2])
for _fn in _GATES:
    _LINEARIZED[_fn] = lambda args, kwargs: _gate(_first(args, kwargs))
for _fn in (F.layer_norm, F.rms_norm):
    _LINEARIZED[_fn] = _plus_mean(_layer_norm_dims)
_LINEARIZED[F.group_norm] = _plus_mean(lambda a, k, x: list(range(1, x.dim())))
_LINEARIZED[F.instance_norm] = _plus_mean(lambda a, k, x: list(range(2, x.dim())))
_LINEARIZED[F.scaled_dot_product_attention] = _sdpa
_LINEARIZED[F.multi_head_attention_forward] = _mha


@dataclass(frozen=True)
class GradientRF(_AxesView):
    """Receptive field measured with autograd, comparable with :class:`RF`.

    ``axes`` holds the measured size, jump and start (the jump from two units one period apart;
    jump and start are ``None`` on an axis with a single output unit or where both supports are
    cut off at both ends; jump 0 where both units see the same pixels, a global field). Where
    the traced fields repeat with a period P > 1 (after upsampling), P + 1 neighbouring units are
    measured and the axis holds their spans. ``boxes`` are the measured supports (first pixels,
    then last pixels) of ``unit`` and ``neighbour``; ``clipped_hw`` says per axis whether either
    support may be cut off by the border: it touches the border, or the traced field extends
    past it. Measured values are exact only on unclipped axes. ``analytic`` is the traced RF of
    the same run.

    Effective receptive field (Luo et al. 2016): ``erf`` is the mean over ``erf_samples`` random
    inputs (and, by default, random weights) of ``|d y_unit / d x|`` summed over channels,
    normalized to sum 1. ``erf_fraction`` is the smallest share of the theoretical field's box
    (``boxes[0]``) whose pixels hold ``erf_mass`` (e.g. 95%) of it.
    """

    axes: tuple[Axis, ...]
    unit: tuple[int, ...] | None
    neighbour: tuple[int, ...] | None
    boxes: tuple[tuple[int, ...], tuple[int, ...]]
    clipped_hw: tuple[bool, ...]
    support: torch.Tensor
    analytic: RF
    input_size: tuple[int, ...]
    erf: torch.Tensor | None = None
    erf_fraction: float | None = None
    erf_mass: float = 0.95
    notes: tuple[str, ...] = field(default=())

    @property
    def clipped(self) -> bool:
        """Whether the unit's support touches the input's border along any axis."""
        return any(self.clipped_hw)


def _support_box(mask: torch.Tensor) -> tuple[int, ...]:
    n = mask.dim()
    lows, highs = [], []
    for a in range(n):
        other = tuple(d for d in range(n) if d != a)
        idx = (mask.any(dim=other) if other else mask).nonzero().flatten()
        if len(idx) == 0:
            raise ValueError("the gradient is zero everywhere: the unit does not depend on the "
                             "input")
        lows.append(int(idx[0]))
        highs.append(int(idx[-1]))
    return tuple(lows + highs)


def _reinitialize(model: nn.Module) -> None:
    for m in model.modules():
        if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
            m.reset_parameters()


def erf_fraction(erf: torch.Tensor, box: tuple[int, ...], mass: float = 0.95) -> float:
    """Smallest share of the pixels of ``box`` (first pixels then last pixels per axis, e.g.
    (top, left, bottom, right)) that holds ``mass`` of the gradient mass of ``erf`` inside the
    box (largest values first)."""
    if not isinstance(erf, torch.Tensor) or erf.dim() < 1 or not erf.is_floating_point() \
            or erf.device.type == "meta":
        raise TypeError(f"erf must be a floating-point tensor with data, got {type(erf).__name__}")
    mass = _check.number("mass", mass, 0.0, 1.0)
    n = erf.dim()
    if not isinstance(box, (tuple, list)) or len(box) != 2 * n:
        raise ValueError(f"box must hold {2 * n} ints (first then last pixel per axis) for a "
                         f"{n}-D erf, got {box!r}")
    box = [_check.integer("box", b, 0, erf.shape[i % n] - 1) for i, b in enumerate(box)]
    if any(box[i] > box[n + i] for i in range(n)):
        raise ValueError(f"box must have first <= last on every axis, got {tuple(box)}")
    values = erf[tuple(slice(box[i], box[n + i] + 1) for i in range(n))].flatten().double()
    values = values.sort(descending=True).values
    if values.sum() <= 0:
        raise ValueError("the erf holds no mass inside box")
    cumulative = values.cumsum(0) / values.sum()
    target = torch.tensor(mass - 1e-6, dtype=cumulative.dtype)     # forgive float32 rounding
    needed = int(torch.searchsorted(cumulative, target)) + 1
    return min(needed, len(values)) / len(values)


def _measure_axis(a, lows, highs, unit, P, size, traced_out):
    """Size, jump and start along axis ``a`` from the supports of units unit .. unit + P."""
    clipped = any(lo == 0 or hi == size - 1 for lo, hi in zip(lows, highs)) or traced_out
    steps = len(lows) - 1
    if steps == 0 or unit[1] == unit[0]:
        return Axis(highs[0] - lows[0] + 1, None, None), clipped
    step = unit[-1] - unit[0]
    # the jump from whichever edge neither support touches
    edge = (lows[-1] - lows[0]) if lows[0] > 0 and lows[-1] > 0 else (highs[-1] - highs[0])
    centre = Fraction(lows[0] + highs[0], 2)
    if edge == 0 and lows[0] == lows[-1] and highs[0] == highs[-1]:
        return Axis(highs[0] - lows[0] + 1, 0, centre), clipped     # every unit sees the same
    jump = Fraction(edge, step)
    if P == 1:
        if jump.denominator != 1 or jump < 1:       # both edges cut off
            if not clipped:
                raise ValueError(f"measured jump {jump} along axis {a} is not a positive integer")
            return Axis(highs[0] - lows[0] + 1, None, None), clipped
        return Axis(highs[0] - lows[0] + 1, int(jump), centre - unit[0] * jump), clipped
    # unit u + m is unit (u + m) % P of a period moved by (u + m) // P periods
    lo, hi = [0] * P, [0] * P
    for m in range(P):
        q, r = divmod(unit[0] + m, P)
        lo[r], hi[r] = lows[m] - q * edge, highs[m] - q * edge
    return Axis.from_spans(lo, hi, edge), clipped


def gradient_receptive_field(model: nn.Module, input_size=None, *, unit=None,
                             erf_samples: int = 4, erf_weights: str = "random",
                             erf_mass: float = 0.95, seed: int = 0) -> GradientRF:
    """Measure the receptive field of ``model``'s last spatial tensor with autograd (on CPU).

    (a) Theoretical support: a float64 copy of the model with every weight ``1/fan_in`` (vector
    and scalar parameters such as biases and per-channel scales 1); activations, batch and
    local-response normalization and dropout replaced by the identity, sigmoid-like gates and
    softmax by ``t / (1 + t)``, layer, group and instance normalization by ``x + mean(x)`` over
    their dimensions, max pooling by an averaging pool of the same geometry; input all ones.
    Every value and every partial derivative is then positive, so the gradient of a unit, summed
    over channels, is positive exactly on the pixels connected to it: nothing cancels, saturates
    or overflows. Units one period apart (``unit``, default the central one, and its diagonal
    neighbour; P + 1 units where the traced fields repeat every P units) are measured in one
    backward pass, giving size, jump and start. Where the last tensor is not a channels-first map
    (a classifier's logits after attention), the gradient of all its entries is measured.

    (b) Effective receptive field (Luo et al., NeurIPS 2016): the model's own nonlinearities and
    pooling, ``erf_weights="random"`` (each layer's ``reset_parameters``) or ``"model"`` (the
    weights as given), eval mode, ``erf_samples`` standard-normal inputs; see :class:`GradientRF`.

    ``input_size`` defaults to :func:`unclipped_input_size`. The caller's model is not changed
    (the measurement works on copies) and the global random state is restored afterwards.
    """
    _check.module("model", model)
    if not isinstance(erf_weights, str) or erf_weights not in ("random", "model"):
        raise ValueError(f"erf_weights must be 'random' or 'model', got {erf_weights!r}")
    erf_samples = _check.integer("erf_samples", erf_samples, 0, 1000)
    erf_mass = _check.number("erf_mass", erf_mass, 0.0, 1.0)
    seed = _check.integer("seed", seed, 0, 2 ** 63 - 1)
    shape, n = _input_shape(model, unclipped_input_size(model) if input_size is None
                            else input_size)
    if unit is not None:
        if not isinstance(unit, (tuple, list)) or len(unit) != n:
            raise ValueError(f"unit must be None or {n} ints, got {unit!r}")
        unit = tuple(_check.integer("unit", u, 0) for u in unit)
    # a first trace on the meta device finds the global operation to stop before and the
    # weights used before it; the copies below leave the head's weights on the meta device
    meta, back = _copy(model)
    with torch.no_grad():
        first, _, plan = _trace(meta, torch.empty(shape, device="meta"), n)
    stop = plan.final.index if plan.final.head else None
    keep = {back[i] for i, use in plan.uses.items() if i in back and (stop is None or use < stop)}
    del meta
    P = math.lcm(*(a.period for a in first.axes))
    batch = P + 1
    if math.prod(shape[1:]) * batch > 2 ** 27:
        raise ValueError(f"input_size {tuple(shape)} is too large to measure on the CPU "
                         f"({math.prod(shape[1:]) * batch:,} input values)")

    probe, _ = _copy(model, keep, torch.float64)
    with torch.no_grad():
        for prm in probe.parameters():
            # weights average their inputs; vectors and scalars (biases, per-channel scales) are 1
            prm.fill_(1.0 / prm[0].numel() if prm.dim() >= 2 else 1.0)
    x = torch.ones((batch,) + tuple(shape[1:]), dtype=torch.float64, requires_grad=True)
    analytic, feature, tracer = _trace(probe, x, n, linearize=True, stop=stop, impls=_LINEARIZED)
    fnode = tracer.feature_node
    mapped = fnode.layout is not None and L.is_plain(fnode.layout, n) and feature.dim() >= n + 1
    if mapped:
        out = tuple(feature.shape[-n:])
        if unit is None:
            unit = tuple((o // 2) // P * P for o in out)
        if any(u >= o for u, o in zip(unit, out)):
            raise ValueError(f"unit {unit} lies outside the output of {out} units")
        if P == 1:
            units = [unit, tuple(u + 1 if u + 1 < o else max(u - 1, 0)
                                 for u, o in zip(unit, out))]
        else:
            units = [tuple(min(u + m, o - 1) for u, o in zip(unit, out)) for m in range(P + 1)]
        loss = sum(feature[m][(Ellipsis,) + units[m]].sum() for m in range(len(units)))
    elif analytic.is_global:
        units = [None, None]
        loss = feature[0].sum() + feature[1].sum()
    else:
        raise ValueError("the positions of the model's last spatial tensor are not its last "
                         f"{n} dimensions; the gradient cannot pick a unit")
    (grad,) = torch.autograd.grad(loss, x)
    support = grad.sum(1) > 0
    boxes = [_support_box(support[m]) for m in range(len(units))]
    axes, clipped = [], []
    for a in range(n):
        size = x.shape[-n + a]
        lows, highs = [b[a] for b in boxes], [b[n + a] for b in boxes]
        if units[0] is None:
            axes.append(Axis(highs[0] - lows[0] + 1, 0, Fraction(lows[0] + highs[0], 2)))
            clipped.append(lows[0] == 0 or highs[0] == size - 1)
            continue
        traced = [analytic.axes[a].span(u[a]) for u in units]
        out_of = any(lo < 0 or hi > size - 1 for lo, hi in traced)
        axis, clip = _measure_axis(a, lows, highs, [u[a] for u in units], P, size, out_of)
        axes.append(axis)
        clipped.append(clip)

    erf = fraction = None
    if erf_samples and mapped:
        net, _ = _copy(model, keep, torch.float32)
        total = torch.zeros(shape[-n:], dtype=torch.float64)
        with torch.random.fork_rng(devices=[]):
            for t in range(erf_samples):
                torch.manual_seed(seed + t)
                if erf_weights == "random":
                    with torch.no_grad():
                        _reinitialize(net)
                xs = torch.randn(shape, requires_grad=True)
                _, feat, _ = _trace(net, xs, n, stop=stop)
                (g,) = torch.autograd.grad(feat[(Ellipsis,) + unit].sum(), xs)
                total += g.abs().sum(tuple(range(len(shape) - n))).double()
        if total.sum() > 0:
            erf = total / total.sum()
            fraction = erf_fraction(erf, boxes[0], erf_mass)
    return GradientRF(tuple(axes), units[0], units[-1], (boxes[0], boxes[-1]), tuple(clipped),
                      support[0], analytic, tuple(shape), erf, fraction, erf_mass,
                      analytic.notes)
