"""Receptive fields measured with autograd: the theoretical support and the effective field.

The measurement is an oracle for the analytic trace (:mod:`.trace`), so it uses none of it: it
runs the network, reads torch's output shapes, and follows gradients.

* **What it measures.** A :class:`torch.overrides.TorchFunctionMode` numbers the operations whose
  result depends on the input (a tensor that requires a gradient). The model runs on the meta
  device (shapes only) at the input size and at twice it: a result whose shape differs between
  the two runs has positions, one whose shape does not (a global pool, a classifier's linear
  layers) has none. The measured tensor is the last result with positions. A model that runs at
  one input size only is measured before its map is flattened into features for a fixed-size
  head (LeNet-5, ZFNet) if it is, else at its output (fixed position embeddings: a ViT).
  The measured tensor is a map when its positions are its last dimensions (channels first, as
  torch's convolutions lay them out); otherwise its first and last entries are measured.
* **Which units.** A run of units along the diagonal around the central unit of the map, one
  per batch entry, and all units together (which pixels the map sees at all: its *reach*).
  Where the supports of consecutive units move by one fixed step, the fields are evenly spaced;
  where they repeat only every P units (after upsampling, within attention windows) the run
  grows until two periods repeat. The step must agree with the sizes: at twice the input size
  the map has about twice-the-pixels-over-the-jump more units. Where the units measured all see
  the same pixels, the first and last units of the map are measured too: if they see the same,
  every unit does (a global field).
* **Where it is clipped.** A support that reaches an end of the reach may be cut off by the
  border: such an edge is not compared, only required to lie inside the fitted field. An axis
  is clipped where the support of the unit reported, or of its neighbour, is not its fitted
  field (or, without a jump, touches the border).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from . import _check
from .axis import Axis
from .results import _AxesView
from .trace import _input_shape, unclipped_input_size

#: Most units measured along the diagonal to find the period of the fields.
MAX_UNITS = 65
#: Most input values (batch included) that the float64 measurement handles.
MAX_VALUES = 2 ** 27

# ---------------------------------------------------------------------------------------------
# The linearized network: positive weights, and every operation replaced by one whose partial
# derivatives are positive, so that no gradient can cancel, saturate or overflow
# ---------------------------------------------------------------------------------------------

# These become the identity: with positive weights and inputs the network is then linear with
# non-negative coefficients.
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
_MAXPOOL_ARGS = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                 "return_indices")


def _bound(names, args, kwargs) -> dict:
    bound = dict(zip(names, args))
    bound.update(kwargs)
    return bound


def _per_axis(value, n: int, default) -> tuple[int, ...]:
    if value is None or (isinstance(value, (tuple, list)) and not value):
        value = default
    if isinstance(value, (tuple, list)):
        value = tuple(int(v) for v in value)
        return value * n if len(value) == 1 else value
    return (int(value),) * n


def _gate(t: torch.Tensor) -> torch.Tensor:
    return t / (1 + t)


def _first(args, kwargs):
    return args[0] if args else next(iter(kwargs.values()))


def _sum_pool(n: int):
    """Max pooling replaced by an averaging pool with the same windows."""
    from .. import formulas

    def impl(args, kwargs):
        a = _bound(_MAXPOOL_ARGS, args, kwargs)
        if a.get("return_indices"):
            raise ValueError("max pooling with return_indices cannot be measured")
        x = a["input"]
        k = _per_axis(a["kernel_size"], n, 1)
        s = _per_axis(a.get("stride"), n, k)
        p, d = _per_axis(a.get("padding"), n, 0), _per_axis(a.get("dilation"), n, 1)
        ceil = bool(a.get("ceil_mode"))
        if all(v == 1 for v in d):          # the same windows, averaged: positive weights, fast
            pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n - 1]
            return pool(x, k, s, p, ceil_mode=ceil, count_include_pad=True)
        size = tuple(x.shape[-n:])
        n_out = tuple(formulas.pool_output_size(size[i], k[i], s[i], p[i], ceil, d[i])
                      for i in range(n))
        # pad enough at the end for the last window, then keep torch's number of outputs
        pads = []
        for i in reversed(range(n)):
            pads += [p[i], p[i] + max(0, (n_out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1
                                      - size[i] - 2 * p[i])]
        xp = F.pad(x, pads)
        c = x.shape[-n - 1]
        w = torch.full((c, 1) + k, 1.0 / math.prod(k), dtype=x.dtype, device=x.device)
        conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
        y = conv(xp.reshape((-1,) + tuple(xp.shape[-n - 1:])), w, stride=s, dilation=d, groups=c)
        y = y[(Ellipsis,) + tuple(slice(0, m) for m in n_out)]
        return y.reshape(tuple(x.shape[:-n]) + n_out)
    return impl


def _adaptive_average(n: int):
    def impl(args, kwargs):
        a = _bound(("input", "output_size", "return_indices"), args, kwargs)
        if a.get("return_indices"):
            raise ValueError("adaptive max pooling with return_indices cannot be measured")
        return getattr(F, f"adaptive_avg_pool{n}d")(a["input"], a["output_size"])
    return impl


def _plus_mean(dims_of):
    """Normalizations become ``x + mean(x)`` over the normalized dimensions: positive, and
    every output depends on every position it is normalized with."""
    def impl(args, kwargs):
        x = _first(args, kwargs)
        return x + x.mean(dim=dims_of(args, kwargs, x), keepdim=True)
    return impl


def _layer_norm_dims(args, kwargs, x):
    shape = _bound(("input", "normalized_shape"), args, kwargs)["normalized_shape"]
    count = len(shape) if isinstance(shape, (tuple, list, torch.Size)) else 1
    return list(range(x.dim() - count, x.dim()))


def _attention(q, k, v, mask=None, causal=False, scale=None):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    w = _gate(q @ k.transpose(-2, -1) * scale)
    if mask is not None and mask.dtype == torch.bool:
        w = w * mask
    if causal:
        w = w * torch.ones(w.shape[-2:], dtype=torch.bool, device=w.device).tril()
    return w @ v


def _sdpa(args, kwargs):
    a = _bound(("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale"), args,
               kwargs)
    return _attention(a["query"], a["key"], a["value"], a.get("attn_mask"),
                      bool(a.get("is_causal")), a.get("scale"))


def _mha(args, kwargs):
    names = ("query", "key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight",
             "in_proj_bias", "bias_k", "bias_v", "add_zero_attn", "dropout_p", "out_proj_weight",
             "out_proj_bias", "training", "key_padding_mask", "need_weights", "attn_mask",
             "use_separate_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
    a = _bound(names, args, kwargs)
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
for _n in (1, 2, 3):
    for _fn in (getattr(F, f"max_pool{_n}d"), getattr(F, f"_max_pool{_n}d", None),
                getattr(F, f"max_pool{_n}d_with_indices"), getattr(torch, f"max_pool{_n}d")):
        if _fn is not None:
            _LINEARIZED[_fn] = _sum_pool(_n)
    _LINEARIZED[getattr(F, f"adaptive_max_pool{_n}d")] = _adaptive_average(_n)
for _fn in _GATES:
    _LINEARIZED[_fn] = lambda args, kwargs: _gate(_first(args, kwargs))
for _fn in (F.layer_norm, F.rms_norm):
    _LINEARIZED[_fn] = _plus_mean(_layer_norm_dims)
_LINEARIZED[F.group_norm] = _plus_mean(lambda a, k, x: list(range(1, x.dim())))
_LINEARIZED[F.instance_norm] = _plus_mean(lambda a, k, x: list(range(2, x.dim())))
_LINEARIZED[F.scaled_dot_product_attention] = _sdpa
_LINEARIZED[F.multi_head_attention_forward] = _mha

# ---------------------------------------------------------------------------------------------
# Running the model: the operations that depend on the input, numbered
# ---------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised after the operation whose result is measured, so the rest of the model is not run."""

    def __init__(self, tensor: torch.Tensor):
        super().__init__("stop")
        self.tensor = tensor


class _Recorder(TorchFunctionMode):
    """Numbers the operations with a floating-point result that depends on the input (requires
    a gradient; the copies' weights do not), records their shapes, and the first operation that
    reads each other tensor (a weight). ``impls`` replace functions whose arguments depend on
    the input; ``stop=(index, position)`` ends the run with that result."""

    def __init__(self, impls: dict | None = None, stop: tuple[int, int] | None = None):
        super().__init__()
        self.impls = impls or {}
        self.stop = stop
        self.ops: list[tuple[str, tuple[tuple[int, tuple[int, ...]], ...]]] = []
        self.first_use: dict[int, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        leaves = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        for t in leaves:
            if not t.requires_grad:
                self.first_use.setdefault(id(t), len(self.ops))
        derived = any(t.requires_grad for t in leaves)
        impl = self.impls.get(func) if derived else None
        out = impl(args, kwargs) if impl is not None else func(*args, **kwargs)
        if not derived:
            return out
        results = [(i, t) for i, t in enumerate(tree_leaves(out))
                   if isinstance(t, torch.Tensor) and t.requires_grad and t.is_floating_point()]
        if results:
            index = len(self.ops)
            name = getattr(func, "__name__", str(func)).strip("_")
            self.ops.append((name, tuple((i, tuple(t.shape)) for i, t in results)))
            if self.stop is not None and index == self.stop[0]:
                raise _Stop(dict(results)[self.stop[1]])
        return out


def _copy(model: nn.Module, device, dtype=None, keep=None) -> tuple[nn.Module, dict]:
    """A copy of ``model`` in eval mode whose parameters and buffers need no gradient: on
    ``device`` (floating ones as ``dtype``), except those whose ids are not in ``keep``, which
    stay on the meta device. Also returns {id of the original tensor: the copy}."""
    memo = {}
    for t in list(model.parameters()) + list(model.buffers()):
        if id(t) in memo:
            continue
        if device == "meta" or (keep is not None and id(t) not in keep):
            new = torch.empty_like(t, device="meta")
        else:
            new = t.detach().to(device, dtype if dtype is not None and t.is_floating_point()
                                else t.dtype, copy=True)
        if isinstance(t, nn.Parameter):
            new = nn.Parameter(new, requires_grad=False)
        memo[id(t)] = new
    originals = dict(memo)
    return copy.deepcopy(model, memo).eval(), originals


def _run_shapes(meta: nn.Module, shape) -> tuple[_Recorder, Exception | None]:
    """The numbered operations of one run on the meta device, and the error that ended it."""
    rec = _Recorder(_LINEARIZED)
    x = torch.ones(shape, device="meta", requires_grad=True)
    try:
        with rec:
            meta(x)
    except Exception as error:       # noqa: BLE001 - reported by the caller
        return rec, error
    return rec, None


@dataclass(frozen=True)
class _Target:
    """The measured result: operation ``index``, result ``position``; ``dims`` the dimensions
    that hold positions, ``mapped`` whether those are among the last n (channels first: a
    dimension of one unit at both sizes is a position too); ``bigger``
    its shape at twice the input size (``None`` where unknown)."""

    index: int
    position: int
    name: str
    shape: tuple[int, ...]
    dims: tuple[int, ...] | None
    mapped: bool
    note: str | None
    bigger: tuple[int, ...] | None = None


def _flattened_map(ops, ops2, n: int):
    """Where the run at twice the size ended early: if the last result of the common part of the
    runs whose shape follows the input is the map flattened into features (batch and one
    dimension), the last map before it (a fixed-size head, as LeNet-5's or ZFNet's, failed),
    as ``(index, position, name, shape, shape at twice the size, index of the flatten)``; else
    ``None`` (positions go on past the failure: tokens before fixed position embeddings)."""
    common = 0
    while common < min(len(ops), len(ops2)) and ops[common][0] == ops2[common][0] and \
            [p for p, _ in ops[common][1]] == [p for p, _ in ops2[common][1]]:
        common += 1
    following = []
    for index in range(common):
        for (position, s1), (_, s2) in zip(ops[index][1], ops2[index][1]):
            dims = tuple(d for d in range(len(s1)) if s1[d] != s2[d])
            if dims:
                following.append((index, position, ops[index][0], tuple(s1), tuple(s2), dims))
    if not following or len(following[-1][3]) != 2 or following[-1][5] != (1,):
        return None
    at = following[-1][0]
    maps = [f for f in following if len(f[3]) == n + 2 and set(f[5]) <= set(range(2, n + 2))]
    if not maps:
        return None
    index, position, name, s1, s2, _ = maps[-1]
    return index, position, name, s1, s2, f"{at} ({following[-1][2]})"


def _target(model: nn.Module, shape: tuple[int, ...], n: int) -> tuple[_Target, set]:
    """Which result to measure (from the shapes of two runs) and the ids of the weights that
    the model reads up to it."""
    meta, originals = _copy(model, "meta")
    back = {id(new): old for old, new in originals.items()}
    first, error = _run_shapes(meta, shape)
    if error is not None or not first.ops:
        reason = (f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                  if error is not None else "its output does not depend on its input")
        raise ValueError(f"the model does not run on an input of shape {tuple(shape)} "
                         f"(input_size): {reason}") from error
    bigger = tuple(shape[:2]) + tuple(2 * v for v in shape[2:])
    second, error2 = _run_shapes(meta, bigger)
    aligned = error2 is None and len(second.ops) == len(first.ops) and all(
        a[0] == b[0] and [p for p, _ in a[1]] == [p for p, _ in b[1]]
        for a, b in zip(first.ops, second.ops))
    note = None
    if aligned:
        found = None
        for index, ((name, results), (_, results2)) in enumerate(zip(first.ops, second.ops)):
            for (position, s1), (_, s2) in zip(results, results2):
                dims = tuple(d for d in range(len(s1)) if s1[d] != s2[d])
                if dims:
                    found = (index, position, name, s1, dims)
        if found is None:
            raise ValueError("no result of the model changes shape with the input size: it has "
                             "no positions to measure")
        index, position, name, s1, dims = found
        mapped = len(s1) == n + 2 and set(dims) <= set(range(2, n + 2))
        s2 = dict(second.ops[index][1])[position]
    else:
        why = (f"{type(error2).__name__}" if error2 is not None else "it runs differently")
        flat = _flattened_map(first.ops, second.ops, n)
        if flat is not None:
            # a fixed-size head on the map flattened into features: measured before it
            index, position, name, s1, s2, at = flat
            dims = tuple(d for d in range(len(s1)) if s1[d] != s2[d])
            mapped = True
            note = (f"the model does not run at input size {bigger} ({why}); its map is "
                    f"flattened into features at operation {at}: measured at operation {index} "
                    f"({name}) of shape {s1}")
        else:
            index = len(first.ops) - 1
            name, results = first.ops[index]
            position, s1 = results[-1]
            dims = s2 = None
            mapped = len(s1) == n + 2
            note = (f"the model does not run at input size {bigger} ({why}): measured at its "
                    f"output, operation {index} ({name}) of shape {s1}")
    keep = {back[i] for i, use in first.first_use.items() if i in back and use <= index}
    return _Target(index, position, name, tuple(s1), dims, mapped, note,
                   tuple(s2) if s2 is not None else None), keep


def _run_to(net: nn.Module, x: torch.Tensor, target: _Target, impls=None) -> torch.Tensor:
    """Run ``net`` on ``x`` up to the measured result and return it."""
    rec = _Recorder(impls, (target.index, target.position))
    try:
        with rec:
            net(x)
    except _Stop as stop:
        y = stop.tensor
        if tuple(y.shape[1:]) != target.shape[1:] or y.shape[0] != x.shape[0]:
            raise ValueError(f"the measured result has shape {tuple(y.shape)} at batch "
                             f"{x.shape[0]}, {target.shape} at batch 1: the batch is not its "
                             f"first dimension") from None
        return y
    raise ValueError("the model ran differently on real tensors than on the meta device "
                     f"(it did not reach operation {target.index}, {target.name})")


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradientRF(_AxesView):
    """Receptive field measured with autograd, comparable with :class:`RF`.

    ``axes`` holds the measured size, jump and start per axis: from the supports of consecutive
    units of the measured map (the first of which is ``unit``); where they repeat every P units,
    the spans of a period (as :meth:`Axis.from_spans`). Jump 0 where every unit sees the same
    pixels (a global field); jump and start ``None`` where they cannot be measured (one unit
    along the axis, or the supports cut off by the border). ``boxes`` are the supports (first
    pixels, then last pixels) of ``unit`` and of ``neighbour``, the unit one period on along the
    diagonal; ``clipped_hw`` says per axis whether either support may be cut off by the border
    (measured values are exact only on unclipped axes; see the module docstring). ``feature_shape``
    is the shape of the measured tensor at batch 1; ``unit`` and ``neighbour`` are ``None``
    where it is not a channels-first map and its first and last entries were measured.

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
    input_size: tuple[int, ...]
    feature_shape: tuple[int, ...]
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


# ---------------------------------------------------------------------------------------------
# From supports to fields
# ---------------------------------------------------------------------------------------------


def _fit(lows: list[int], highs: list[int], start_unit: int, reach: tuple[int, int], p: int):
    """The fields of units ``start_unit``, ... if their spans ``lows[m]..highs[m]`` repeat every
    ``p`` units: ``(shift, lo, hi, comparisons)`` (the spans of units 0..p-1 and the number of
    exact comparisons behind them), or ``None``.

    An edge at an end of ``reach`` (the first and last pixels that any unit of the map sees)
    may be cut off: it is not compared, and it only has to lie inside the fitted span (a field
    that reaches past the input is seen up to there). Every other edge must fit exactly."""
    lo_ok = [v > reach[0] for v in lows]
    hi_ok = [v < reach[1] for v in highs]
    shifts, comparisons = set(), 0
    for m in range(len(lows) - p):
        for values, ok in ((lows, lo_ok), (highs, hi_ok)):
            if ok[m] and ok[m + p]:
                shifts.add(values[m + p] - values[m])
                comparisons += 1
    if len(shifts) != 1 or (shift := shifts.pop()) < 1:
        return None
    lo, hi = [None] * p, [None] * p
    for m in range(len(lows)):          # unit u + m is unit (u + m) % p moved by (u + m) // p
        q, r = divmod(start_unit + m, p)
        if lo_ok[m] and lo[r] is None:
            lo[r] = lows[m] - q * shift
        if hi_ok[m] and hi[r] is None:
            hi[r] = highs[m] - q * shift
    if None in lo or None in hi:
        return None
    for m in range(len(lows)):
        q, r = divmod(start_unit + m, p)
        a, b = lo[r] + q * shift, hi[r] + q * shift
        if (lows[m] != a if lo_ok[m] else lows[m] < a) or \
                (highs[m] != b if hi_ok[m] else highs[m] > b):
            return None
    return shift, lo, hi, comparisons


def _agrees(jump: Fraction, growth: tuple[int, int] | None) -> bool:
    """Whether a jump agrees with the sizes: ``growth`` is (more input pixels, more units) when
    the input grows (``None``: unknown); the units added, ``pixels / jump``, may differ from
    those counted by the rounding of each layer (2, and a tenth for upsampled maps)."""
    if growth is None or jump <= 0:
        return True
    pixels, units = growth
    return abs(pixels / jump - units) <= 2 + units / 10


def _axis(lows, highs, start_unit: int, reach: tuple[int, int], extremes,
          complete: bool, growth: tuple[int, int] | None = None) -> Axis | None:
    """The field along one axis from the spans of consecutive units ``start_unit``, ...; None
    where more units are needed. ``reach``: the first and last pixels that any unit of the map
    sees. ``extremes`` is ``None`` (not measured), or whether the first and last units of the
    map see the same pixels along this axis as the measured ones; ``complete``: the units
    measured are all the units of the axis; ``growth``: see :func:`_agrees`.

    The period is the smallest p whose fit (:func:`_fit`) holds over two periods and rests on
    two exact comparisons at least (or holds over every unit of the axis), and whose jump
    agrees with the sizes: a few units can repeat exactly inside a longer period (shifts 1, 1
    inside 0, 1, 1, 1), never with the average jump of that period."""
    centre = Fraction(lows[0] + highs[0], 2)
    width = highs[0] - lows[0] + 1
    if len(lows) == 1:
        return Axis(width, None, None)
    if len(set(lows)) == 1 and len(set(highs)) == 1 and \
            ((lows[0], highs[0]) == tuple(reach) or extremes):
        return Axis(width, 0, centre)                   # every unit sees the same pixels
    count = len(lows) - 1
    for p in range(1, count + 1):
        if 2 * p > count and not complete:
            break
        found = _fit(lows, highs, start_unit, reach, p)
        if found is not None and found[3] >= (1 if complete else min(2, count - p + 1)) and \
                _agrees(Fraction(found[0], p), growth):
            shift, lo, hi, _ = found
            return Axis.from_spans(lo, hi, shift)
    touched = any(lo == reach[0] or hi == reach[1] for lo, hi in zip(lows, highs))
    return Axis(width, None, None) if touched or complete else None


def gradient_receptive_field(model: nn.Module, input_size=None, *, unit=None,
                             erf_samples: int = 4, erf_weights: str = "random",
                             erf_mass: float = 0.95, seed: int = 0) -> GradientRF:
    """Measure the receptive field of ``model`` with autograd (on CPU), without the analytic
    trace: which tensor and which units are measured follows from torch's shapes alone (see
    the module docstring).

    (a) Theoretical support: a float64 copy of the model with every weight ``1/fan_in`` (vector
    and scalar parameters such as biases and per-channel scales 1); activations, batch and
    local-response normalization and dropout replaced by the identity, sigmoid-like gates and
    softmax by ``t / (1 + t)``, layer, group and instance normalization by ``x + mean(x)`` over
    their dimensions, max pooling by an averaging pool of the same windows; input all ones.
    Every value and every partial derivative is then positive, so the gradient of a unit, summed
    over channels, is positive exactly on the pixels connected to it: nothing cancels, saturates
    or overflows. Consecutive units along the diagonal (from ``unit``, default the central one)
    are measured in one backward pass, one unit per batch entry, giving size, jump and start,
    and the spans of a period where the fields repeat every P units.

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
    values = math.prod(shape[1:])
    if values * 3 > MAX_VALUES:
        raise ValueError(f"input_size {tuple(shape)} is too large to measure on the CPU "
                         f"({values * 3:,} input values)")

    target, keep = _target(model, shape, n)
    probe, _ = _copy(model, "cpu", torch.float64, keep)
    with torch.no_grad():
        for prm in probe.parameters():
            if prm.device.type != "meta":
                # weights average their inputs; vectors and scalars (biases, scales) are 1
                prm.fill_(1.0 / prm[0].numel() if prm.dim() >= 2 else 1.0)
    spatial = tuple(shape[2:])

    def supports(pick, count):
        """Supports (batch entry m: the pixels connected to pick(feature, m))."""
        if values * count > MAX_VALUES:
            raise ValueError(f"input_size {tuple(shape)} is too large to measure {count} units "
                             f"on the CPU ({values * count:,} input values)")
        x = torch.ones((count,) + tuple(shape[1:]), dtype=torch.float64, requires_grad=True)
        feature = _run_to(probe, x, target, _LINEARIZED)
        loss = sum(pick(feature, m) for m in range(count))
        (grad,) = torch.autograd.grad(loss, x)
        return grad.sum(1) > 0

    notes = [target.note] if target.note else []
    if not target.mapped:
        # not a map: its first and last entries, which must see the same pixels
        support = supports(lambda f, m: f[m].flatten()[0 if m == 0 else -1], 2)
        boxes = [_support_box(support[m]) for m in range(2)]
        if boxes[0] != boxes[1]:
            raise ValueError(
                f"the measured tensor (operation {target.index}, {target.name}, shape "
                f"{target.shape}) is not a map with its positions last, and its entries see "
                f"different pixels: cut the model where its output is a map "
                f"(receptive.stages.cut)")
        axes = tuple(Axis(b[n + a] - b[a] + 1, 0, Fraction(b[a] + b[n + a], 2))
                     for a, b in ((a, boxes[0]) for a in range(n)))
        clipped = tuple(boxes[0][a] == 0 or boxes[0][n + a] == spatial[a] - 1 for a in range(n))
        notes.append(f"measured at the first and last entries of operation {target.index} "
                     f"({target.name}), shape {target.shape}, which is not a channels-first "
                     f"map" + ("" if unit is None else f" (unit {unit} not used)"))
        return GradientRF(axes, None, None, (boxes[0], boxes[1]), clipped, support[0],
                          tuple(shape), target.shape, None, None, erf_mass, tuple(notes))

    out = target.shape[-n:]
    if unit is not None and any(u >= o for u, o in zip(unit, out)):
        raise ValueError(f"unit {unit} lies outside the output of {out} units")
    # how many more units the map has at twice the input size
    growth = [None if target.bigger is None else (spatial[a], target.bigger[2 + a] - out[a])
              for a in range(n)]
    extremes = reach = None
    K = 2
    while True:
        if unit is not None:
            starts = unit
        else:                           # a run of K + 1 units around the central one
            starts = tuple(max(0, min(o // 2 - K // 2, o - 1 - K)) for o in out)
        counts = [min(K, o - 1 - u) + 1 for u, o in zip(starts, out)]
        units = [tuple(u + min(m, c - 1) for u, c in zip(starts, counts))
                 for m in range(max(counts))]
        # and, in the first run, every unit together: the pixels the map sees at all
        support = supports(lambda f, m: f[m][(Ellipsis,) + units[m]].sum() if m < len(units)
                           else f[m].sum(), len(units) + (reach is None))
        boxes = [_support_box(support[m]) for m in range(len(units))]
        if reach is None:
            whole = _support_box(support[len(units)])
            reach = [(whole[a], whole[n + a]) for a in range(n)]
        axes, more = [], False
        for a in range(n):
            lows = [b[a] for b in boxes[:counts[a]]]
            highs = [b[n + a] for b in boxes[:counts[a]]]
            same = len(set(lows)) == 1 and len(set(highs)) == 1
            seen = None
            if same and len(lows) > 1 and (lows[0], highs[0]) != reach[a]:
                if extremes is None:
                    corners = [tuple(0 for _ in out), tuple(o - 1 for o in out)]
                    s = supports(lambda f, m: f[m][(Ellipsis,) + corners[m]].sum(), 2)
                    extremes = [_support_box(s[m]) for m in range(2)]
                seen = all(b[a] == lows[0] and b[n + a] == highs[0] for b in extremes)
            complete = starts[a] == 0 and counts[a] == out[a]
            axis = _axis(lows, highs, starts[a], reach[a], seen, complete, growth[a])
            if axis is None:
                more = True
                if counts[a] == out[a] - starts[a] or K + 1 >= MAX_UNITS:
                    raise ValueError(f"the measured fields along axis {a} do not repeat within "
                                     f"the {counts[a]} units measured")
            axes.append(axis)
        if not more:
            break
        K *= 2
    # the unit reported: the given one, or the central one (at a multiple of the period), and
    # its neighbour one period on along the diagonal
    P = math.lcm(*(ax.period for ax in axes))
    if unit is not None:
        first = 0
    else:
        centre = [(o // 2) // P * P for o in out]
        first = min(range(len(units)),
                    key=lambda m: (m + P >= len(units), sum(abs(u - c) for u, c in
                                                            zip(units[m], centre))))
    second = min(first + P, len(units) - 1)
    # clipped: the support of the unit or of its neighbour is not the fitted field (cut off by
    # the border); on an axis without a jump, it touches the border or what the map sees
    clipped = []
    for a, axis in enumerate(axes):
        ends = (0, spatial[a] - 1) if axis.jump == 0 else (0, spatial[a] - 1) + reach[a]
        clipped.append(any(
            ((b[a], b[n + a]) != axis.span(u[a])) if axis.jump else
            (b[a] in ends or b[n + a] in ends)
            for b, u in ((boxes[first], units[first]), (boxes[second], units[second]))))

    erf = fraction = None
    if erf_samples:
        net, _ = _copy(model, "cpu", torch.float32, keep)
        total = torch.zeros(spatial, dtype=torch.float64)
        with torch.random.fork_rng(devices=[]):
            for t in range(erf_samples):
                torch.manual_seed(seed + t)
                if erf_weights == "random":
                    with torch.no_grad():
                        _reinitialize(net)
                xs = torch.randn(shape, requires_grad=True)
                feat = _run_to(net, xs, target)
                (g,) = torch.autograd.grad(feat[(Ellipsis,) + units[first]].sum(), xs)
                total += g.abs().sum(tuple(range(len(shape) - n))).double()
        if total.sum() > 0:
            erf = total / total.sum()
            fraction = erf_fraction(erf, boxes[first], erf_mass)
    return GradientRF(tuple(axes), units[first], units[second], (boxes[first], boxes[second]),
                      tuple(clipped), support[first], tuple(shape), target.shape, erf, fraction,
                      erf_mass, tuple(notes))
