"""Receptive fields: the analytic recurrence, traced graphs, and the measurement with autograd.

Along one spatial axis, a stack of layers is described after each layer by three numbers
(Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019,
https://distill.pub/2019/computing-receptive-fields/):

* ``size`` r: how many input pixels one unit sees;
* ``jump`` j (the effective stride): how many input pixels apart two neighbouring units are;
* ``start`` u: the input coordinate on which the first unit's field is centred (it may be
  fractional or negative), so unit i sees ``[u + i j - (r - 1)/2, u + i j + (r - 1)/2]``.
  The effective padding ``(r - 1)/2 - u`` says how far the first field reaches past the border.

A layer with kernel k, stride s, dilation d and padding p maps them by
``r' = r + (k_eff - 1) j``, ``j' = j s``, ``u' = u + ((k_eff - 1)/2 - p) j`` with
``k_eff = d (k - 1) + 1``; the input is ``(1, 1, 0)``. The expressions live in
:mod:`cnnbook_lib.formulas` (``rf_size_step`` and friends); :class:`Axis` applies them.

:func:`receptive_field` takes a plain list of layers or a ``torch.nn.Module``. A module runs once
on the meta device (no data, no arithmetic) under a ``TorchFunctionMode`` that follows every tensor:

* convolutions, max/average pooling and ``F.pad`` are layers of the recurrence;
* operations that keep the spatial size (batch norm, activations, dropout, 1x1 bookkeeping such as
  channel slicing or ``view``) pass the field through unchanged;
* a merge of several tensors (residual ``+``, Inception ``cat``) aligns the branches: each branch's
  field of the first unit is the interval centred on its start, the merged field is their union
  (size = extent of the union, start = its centre); the jumps must agree;
* global operations (adaptive pooling, linear layers, flatten, a mean over the spatial axes) see
  the whole input: the trace stops before them and reports the field of the last spatial tensor
  (``RF.stopped_at`` names the operation). A global tensor multiplied into a spatial one (a
  squeeze-and-excitation gate) is left out of the merge and recorded in ``RF.notes``: strictly,
  such a gate makes every unit depend on the whole image.

:func:`gradient_receptive_field` measures the same field with autograd: the theoretical support
(all weights ``1/fan_in``, activations and normalizations replaced by the identity, max pooling by
sum pooling, so no gradient can cancel or vanish) and the effective receptive field of Luo et al.,
"Understanding the Effective Receptive Field in Deep Convolutional Neural Networks" (NeurIPS 2016).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from . import formulas

Pair = tuple[int, int]
Number = Union[int, float]

# ---------------------------------------------------------------------------------------------
# The pure recurrence: one axis
# ---------------------------------------------------------------------------------------------


def _num(x: Fraction | None) -> Number | None:
    """An exact value for display: int when integral, else float (starts are multiples of 1/2)."""
    if x is None:
        return None
    x = Fraction(x)
    return int(x) if x.denominator == 1 else float(x)


@dataclass(frozen=True)
class Axis:
    """Receptive field along one axis after some layers: size r, jump j, start u (exact)."""

    size: int = 1
    jump: int = 1
    start: Fraction = Fraction(0)

    def step(self, k: int, s: int = 1, d: int = 1, p: int = 0) -> "Axis":
        """The field after one more layer (kernel k, stride s, dilation d, padding p)."""
        r, j, u = formulas.receptive_field_step(self.size, self.jump, self.start, k, s, d, p)
        return Axis(r, j, Fraction(u))

    @property
    def padding(self) -> int | None:
        """Effective padding ``(r - 1)/2 - u`` (None where the start is unknown)."""
        if self.start is None:
            return None
        return formulas.receptive_field_padding(self.size, self.start)

    def span(self, i: int = 0) -> tuple[int, int]:
        """First and last input pixel (inclusive) seen by unit ``i``."""
        first = self.start + i * self.jump - Fraction(self.size - 1, 2)
        return int(first), int(first) + self.size - 1


def merge(axes: Sequence[Axis]) -> Axis:
    """Align branches that meet (add, concatenate): the union of the first unit's fields."""
    jumps = {a.jump for a in axes}
    if len(jumps) != 1:
        raise ValueError(f"branches with different jumps {sorted(jumps)} cannot be merged")
    first = min(a.span()[0] for a in axes)
    last = max(a.span()[1] for a in axes)
    return Axis(last - first + 1, jumps.pop(), Fraction(first + last, 2))


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def _one(values):
    """A scalar when both axes agree (square fields), else the (height, width) pair."""
    values = tuple(values)
    return values[0] if all(v == values[0] for v in values) else values


@dataclass(frozen=True)
class LayerRF:
    """One layer of the trace and the field on its branch after it (per axis: height, width).

    ``op`` is ``conv``, ``maxpool``, ``avgpool``, ``pad``, ``layer`` (from a plain list) or the
    name of a merging operation (``add``, ``cat``, ...), whose k, s, d, p are ``None``.
    """

    name: str
    op: str
    k: Pair | None
    s: Pair | None
    d: Pair | None
    p: Pair | None
    axes: tuple[Axis, Axis]

    def row(self) -> dict:
        """A flat record for tables: square values as scalars, per-axis values as pairs."""
        def opt(v):
            return None if v is None else _one(v)
        return dict(name=self.name, op=self.op, k=opt(self.k), s=opt(self.s), d=opt(self.d),
                    p=opt(self.p), size=_one(a.size for a in self.axes),
                    jump=_one(a.jump for a in self.axes),
                    start=_one(_num(a.start) for a in self.axes))


class _AxesView:
    """Per-axis values shared by analytic and measured fields (scalar when square)."""

    axes: tuple[Axis, Axis]

    @property
    def size(self):
        """Receptive field size in input pixels (an int, or (height, width) if they differ)."""
        return _one(a.size for a in self.axes)

    @property
    def jump(self):
        """Jump, i.e. effective stride: input pixels between neighbouring units."""
        return _one(a.jump for a in self.axes)

    stride = jump

    @property
    def start(self):
        """Centre of the first unit's field in input coordinates."""
        return _one(_num(a.start) for a in self.axes)

    @property
    def padding(self):
        """Effective padding ``(size - 1)/2 - start``."""
        return _one(a.padding for a in self.axes)

    def box(self, i: int = 0, j: int = 0) -> tuple[int, int, int, int]:
        """Field of output unit (i, j) as (top, left, bottom, right), inclusive input pixels."""
        (top, bottom), (left, right) = self.axes[0].span(i), self.axes[1].span(j)
        return top, left, bottom, right


@dataclass(frozen=True)
class RF(_AxesView):
    """Analytic receptive field of the last layer (or the last spatial tensor of a model)."""

    axes: tuple[Axis, Axis]
    layers: tuple[LayerRF, ...] = ()
    stopped_at: str | None = None        # the global operation before which the trace stopped
    notes: tuple[str, ...] = ()
    input_hw: Pair | None = None
    output_hw: Pair | None = None        # spatial size of the last spatial tensor

    def rows(self) -> list[dict]:
        """Per-layer records (name, op, k, s, d, p, size, jump, start) for tables."""
        return [layer.row() for layer in self.layers]

    def clipped(self, i: int | None = None, j: int | None = None) -> bool:
        """Whether unit (i, j) (default: the central unit) sees past the input's border."""
        if self.input_hw is None or self.output_hw is None:
            raise ValueError("clipped() needs input_size")
        i = self.output_hw[0] // 2 if i is None else i
        j = self.output_hw[1] // 2 if j is None else j
        top, left, bottom, right = self.box(i, j)
        return top < 0 or left < 0 or bottom >= self.input_hw[0] or right >= self.input_hw[1]


# ---------------------------------------------------------------------------------------------
# Plain layer lists
# ---------------------------------------------------------------------------------------------


def _hw(name: str, value) -> Pair:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a (height, width) pair, got {value!r}")
        return tuple(value)
    return (value, value)


def _parse_layer(entry, index: int):
    if not isinstance(entry, (tuple, list)) or not 2 <= len(entry) <= 4:
        raise ValueError(f"layer {index + 1} must be (k, s), (k, s, d) or (k, s, d, p); "
                         f"got {entry!r}")
    k, s = entry[0], entry[1]
    d = entry[2] if len(entry) > 2 else 1
    p = entry[3] if len(entry) > 3 else 0
    return _hw("kernel", k), _hw("stride", s), _hw("dilation", d), _hw("padding", p)


def _from_layers(layers: Sequence, input_size) -> RF:
    axes = (Axis(), Axis())
    rows = []
    hw = None if input_size is None else _input_hw(input_size)
    out = hw
    for index, entry in enumerate(layers):
        k, s, d, p = _parse_layer(entry, index)
        axes = tuple(a.step(k[x], s[x], d[x], p[x]) for x, a in enumerate(axes))
        rows.append(LayerRF(f"layer{index + 1}", "layer", k, s, d, p, axes))
        if out is not None:
            out = formulas.conv_output_size(out, k, s, p, d)
    return RF(axes, tuple(rows), input_hw=hw, output_hw=out)


def _input_hw(input_size) -> Pair:
    if isinstance(input_size, int):
        return (input_size, input_size)
    return tuple(input_size[-2:])


# ---------------------------------------------------------------------------------------------
# Traced models: one geometry function per layer type, one tracer for the graph
# ---------------------------------------------------------------------------------------------


def _bind(names: Sequence[str], args, kwargs) -> dict:
    bound = dict(zip(names, args))
    bound.update(kwargs)
    return bound


def _conv_geometry(args, kwargs):
    a = _bind(("input", "weight", "bias", "stride", "padding", "dilation", "groups"), args, kwargs)
    if a["weight"].dim() != 4:
        raise ValueError("receptive fields are computed for 2-D convolutions only")
    k = tuple(a["weight"].shape[-2:])
    s, d = _hw("stride", a.get("stride", 1)), _hw("dilation", a.get("dilation", 1))
    p = a.get("padding", 0)
    if p == "valid":
        p = (0, 0)
    elif p == "same":      # PyTorch pads d(k-1) in all, the odd pixel on the right/bottom
        p = tuple(d[x] * (k[x] - 1) // 2 for x in range(2))
    return "conv", k, s, d, _hw("padding", p)


def _pool_geometry(op: str, names: Sequence[str]):
    def geometry(args, kwargs):
        a = _bind(names, args, kwargs)
        k = _hw("kernel_size", a["kernel_size"])
        stride = a.get("stride")
        s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
            _hw("stride", stride)
        return op, k, s, _hw("dilation", a.get("dilation", 1)), _hw("padding", a.get("padding", 0))
    return geometry


def _pad_geometry(args, kwargs):
    pad = _bind(("input", "pad", "mode", "value"), args, kwargs)["pad"]
    left, top = pad[0], (pad[2] if len(pad) >= 4 else 0)
    return "pad", (1, 1), (1, 1), (1, 1), (top, left)


_MAXPOOL_ARGS = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                 "return_indices")
_AVGPOOL_ARGS = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                 "divisor_override")

#: Layers of the recurrence: function -> geometry (op, k, s, d, p), each a (height, width) pair.
GEOMETRY = {torch.conv2d: _conv_geometry, F.pad: _pad_geometry, torch._C._nn.pad: _pad_geometry}
for _fn in (F.max_pool2d, F._max_pool2d, F.max_pool2d_with_indices, torch.max_pool2d):
    GEOMETRY[_fn] = _pool_geometry("maxpool", _MAXPOOL_ARGS)
GEOMETRY[F.avg_pool2d] = _pool_geometry("avgpool", _AVGPOOL_ARGS)

#: Operations that see the whole input: the trace stops before them.
GLOBAL = {F.adaptive_avg_pool2d, F.adaptive_max_pool2d, F.adaptive_max_pool2d_with_indices,
          F.linear, torch._C._nn.linear}

#: Operations whose receptive field this module does not model.
UNSUPPORTED = {F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d, F.conv1d, F.conv3d,
               F.interpolate, F.upsample, F.pixel_shuffle, F.pixel_unshuffle, F.grid_sample,
               F.unfold, F.fold, F.max_unpool2d, torch.roll}

# In the support measurement these become the identity: with positive weights and inputs the
# network is then linear with non-negative coefficients, so no gradient can cancel or saturate.
_IDENTITY_WHEN_LINEARIZED = {
    F.relu, torch.relu, torch.relu_, F.relu_, F.relu6, F.hardtanh, F.hardtanh_, F.leaky_relu,
    F.elu, F.selu, F.celu, F.gelu, F.silu, F.mish, F.hardswish, F.softplus, F.batch_norm,
    F.local_response_norm, F.dropout, F.dropout2d, F.alpha_dropout, torch.Tensor.relu,
    torch.Tensor.relu_,
}
# Gates (squeeze-excitation multiplies a tensor by one) become t / (1 + t): positive, increasing
# and at most 1, so a product with a gate cannot overflow however many blocks there are.
_GATES = {F.sigmoid, torch.sigmoid, torch.Tensor.sigmoid, F.hardsigmoid, F.tanh, torch.tanh,
          torch.Tensor.tanh}


def _sum_pool(args, kwargs):
    """Max pooling replaced by an averaging pool with the same geometry (support measurement)."""
    a = _bind(_MAXPOOL_ARGS, args, kwargs)
    if a.get("return_indices"):
        raise ValueError("max pooling with return_indices cannot be measured")
    _, k, s, d, p = GEOMETRY[F.max_pool2d](args, kwargs)
    x = a["input"]
    n_out = formulas.pool_output_size(tuple(x.shape[-2:]), k, s, p, bool(a.get("ceil_mode")), d)
    # pad enough on the bottom/right for ceil-mode windows, then crop to PyTorch's output size
    extra = formulas.window_overhang(tuple(x.shape[-2:]), n_out, k, s, p, d)
    xp = F.pad(x, (p[1], p[1] + extra[1], p[0], p[0] + extra[0]))
    c = x.shape[-3]
    w = torch.full((c, 1) + k, 1.0 / (k[0] * k[1]), dtype=x.dtype, device=x.device)
    y = F.conv2d(xp.reshape((-1,) + tuple(xp.shape[-3:])), w, stride=s, dilation=d, groups=c)
    return y[..., :n_out[0], :n_out[1]].reshape(tuple(x.shape[:-2]) + tuple(n_out))


_LINEARIZED = {fn: (lambda args, kwargs: args[0] if args else next(iter(kwargs.values())))
               for fn in _IDENTITY_WHEN_LINEARIZED}
for _fn in (F.max_pool2d, F._max_pool2d, F.max_pool2d_with_indices, torch.max_pool2d):
    _LINEARIZED[_fn] = _sum_pool
_LINEARIZED[F.adaptive_max_pool2d] = lambda args, kwargs: F.adaptive_avg_pool2d(*args, **kwargs)
for _fn in _GATES:
    _LINEARIZED[_fn] = lambda args, kwargs: args[0] / (1 + args[0])


@dataclass
class _Node:
    """What the tracer knows about a tensor: its field, or that it is global (``source``: the
    last spatial tensor before it, ``where``: the operation that made it global)."""

    axes: tuple[Axis, Axis]
    is_global: bool = False
    source: torch.Tensor | None = None
    where: str | None = None
    index: int | None = None             # the operation (counted by the tracer) that made it global


class _Stop(Exception):
    """Raised when the tracer reaches the operation it was told to stop before."""

    def __init__(self, source: torch.Tensor, where: str):
        super().__init__(where)
        self.source, self.where = source, where


class _HeadFailed(Exception):
    """The network's global head failed (e.g. a fixed-size linear layer at another input size)."""

    def __init__(self, node: _Node, error: Exception):
        super().__init__(str(error))
        self.node = node


def _fname(func) -> str:
    return getattr(func, "__name__", str(func)).strip("_")


class _Tracer(TorchFunctionMode):
    """Follows the receptive field of every tensor derived from the input."""

    def __init__(self, linearize: bool = False, stop: int | None = None):
        super().__init__()
        self.linearize = linearize
        self.stop = stop                      # index of the operation to stop before
        self.count = 0                        # operations on tracked tensors so far
        self.uses: dict[int, int] = {}        # id of another tensor (a weight) -> first use
        self.nodes: dict[int, tuple[torch.Tensor, _Node]] = {}
        self.rows: list[LayerRF] = []
        self.notes: list[str] = []
        self.stack: list[str] = []

    def get(self, t) -> _Node | None:
        entry = self.nodes.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def put(self, t: torch.Tensor, node: _Node) -> None:
        self.nodes[id(t)] = (t, node)

    @property
    def where(self) -> str:
        return self.stack[-1] if self.stack else "<model>"

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        leaves = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        tracked = [(t, n) for t in leaves if (n := self.get(t)) is not None]
        for t in leaves:
            self.uses.setdefault(id(t), self.count)
        if tracked:
            self.count += 1
            if self.count - 1 == self.stop:
                source = next((t for t, n in tracked if not n.is_global), tracked[0][0])
                raise _Stop(source, f"{self.where} ({_fname(func)})")
        impl = _LINEARIZED.get(func) if self.linearize and tracked else None
        try:
            out = impl(args, kwargs) if impl else func(*args, **kwargs)
        except Exception as error:
            if tracked and all(n.is_global for _, n in tracked):
                raise _HeadFailed(tracked[0][1], error) from error
            raise
        if not tracked:
            return out
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        if outs:
            node = self.rule(func, args, kwargs, tracked, outs[0])
            for t in outs:
                self.put(t, node)
        return out

    def rule(self, func, args, kwargs, tracked, out) -> _Node:
        name = _fname(func)
        spatial = [n for _, n in tracked if not n.is_global]
        if not spatial:                                   # the head: stays global
            return tracked[0][1]
        if func in UNSUPPORTED:
            raise ValueError(f"{self.where}: the receptive field through {name} is not modelled")
        x, node = next((t, n) for t, n in tracked if not n.is_global)
        if func in GEOMETRY:
            op, k, s, d, p = GEOMETRY[func](args, kwargs)
            axes = tuple(a.step(k[i], s[i], d[i], p[i]) for i, a in enumerate(node.axes))
            self.rows.append(LayerRF(self.where, op, k, s, d, p, axes))
            return _Node(axes)
        if func in GLOBAL:
            return _Node(node.axes, True, x, f"{self.where} ({name})", self.count - 1)
        if len(tracked) > 1:                              # a merge of branches
            if len(spatial) < len(tracked):
                note = (f"{self.where}: {name} with a global input (e.g. a squeeze-excitation "
                        f"gate) left out of the field")
                if note not in self.notes:
                    self.notes.append(note)
            shapes = {tuple(t.shape[-2:]) for t, n in tracked if not n.is_global}
            if len(shapes) > 1:
                raise ValueError(f"{self.where}: {name} merges spatial sizes {sorted(shapes)}")
            distinct = list({id(n): n for n in spatial}.values())
            if len(distinct) == 1:
                return distinct[0]
            axes = tuple(merge([n.axes[i] for n in distinct]) for i in range(2))
            self.rows.append(LayerRF(self.where, name, None, None, None, None, axes))
            return _Node(axes)
        if out.dim() >= 2 and x.dim() >= 2 and out.shape[-2:] == x.shape[-2:]:
            return node                                   # elementwise, channel-wise, views
        if out.dim() < x.dim() or tuple(out.shape[-2:]) == (1, 1):
            return _Node(node.axes, True, x, f"{self.where} ({name})", self.count - 1)
        raise ValueError(f"{self.where}: cannot follow the receptive field through {name} "
                         f"(spatial size {tuple(x.shape[-2:])} -> {tuple(out.shape[-2:])})")


def _copy(model: nn.Module, keep=None, dtype: torch.dtype | None = None) -> tuple[nn.Module, dict]:
    """A copy of ``model`` that shares nothing with it. Parameters and buffers whose ids are in
    ``keep`` are copied to the CPU (floating ones as ``dtype``), the others live on the meta
    device (no data); ``keep=None`` puts all on the meta device. The copy is in eval mode and
    needs no gradients. Also returns {id of the copy's tensor: id of the original}."""
    memo, back = {}, {}
    for t in list(model.parameters()) + list(model.buffers()):
        if id(t) in memo:
            continue
        if keep is not None and id(t) in keep:
            new = t.detach().to("cpu", dtype if dtype and t.is_floating_point() else t.dtype,
                                copy=True)
        else:
            new = torch.empty_like(t, device="meta")
        if isinstance(t, nn.Parameter):
            new = nn.Parameter(new, requires_grad=False)
        memo[id(t)] = new
        back[id(new)] = id(t)
    return copy.deepcopy(model, memo).eval(), back


def _trace(model: nn.Module, x: torch.Tensor, linearize: bool = False, stop: int | None = None):
    """Run ``model(x)`` under the tracer; return the RF, the last spatial tensor and the tracer.

    ``stop``: the index of the operation to stop before (the global operation found by a first
    trace), which saves running the network's head."""
    tracer = _Tracer(linearize, stop)

    def enter(label):
        def hook(module, inputs) -> None:
            tracer.stack.append(label)
        return hook

    def leave(module, inputs, output) -> None:      # a hook that returns a value replaces output
        if tracer.stack:
            tracer.stack.pop()

    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(enter(name or "<model>")))
        handles.append(module.register_forward_hook(leave))
    tracer.put(x, _Node((Axis(), Axis())))
    notes = []
    try:
        with tracer:
            out = model(x)
        node = next((n for t in tree_leaves(out) if isinstance(t, torch.Tensor)
                     and (n := tracer.get(t)) is not None), None)
        if node is None:
            raise ValueError("the model's output does not depend on its input")
        feature = node.source if node.is_global else out
    except _Stop as stopped:
        spatial = tracer.get(stopped.source)
        node = _Node(spatial.axes, True, stopped.source, stopped.where, stop)
        feature = stopped.source
    except _HeadFailed as failed:
        node = failed.node
        feature = node.source
        notes.append(f"the head after {node.where} failed at input size {tuple(x.shape)} "
                     f"({failed}); the field is that of the tensor before it")
    finally:
        for h in handles:
            h.remove()
    rf = RF(node.axes, tuple(tracer.rows), node.where if node.is_global else None,
            tuple(tracer.notes + notes), tuple(x.shape[-2:]), tuple(feature.shape[-2:]))
    tracer.final = node
    return rf, feature, tracer


def _input_shape(model: nn.Module, input_size) -> tuple[int, ...]:
    if input_size is None:
        input_size = 224
    if isinstance(input_size, int) or len(input_size) == 2:
        conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        return (1, conv.in_channels if conv else 3) + _input_hw(input_size)
    return tuple(input_size)


def receptive_field(model_or_layers: nn.Module | Sequence, input_size=None) -> RF:
    """Receptive field of a layer list or a model: size, jump (``.stride``), start, padding.

    ``model_or_layers`` is either a sequence of ``(k, s)``, ``(k, s, d)`` or ``(k, s, d, p)``
    tuples (padding 0 by default; each value an int or a (height, width) pair), or a
    ``torch.nn.Module`` (or a list of modules), traced once on the meta device with an input of
    ``input_size``: ``(N, C, H, W)``, ``(H, W)`` or an int (default 224; C from the first
    convolution). For a model, the field is that of the last spatial tensor: the trace stops
    before global operations (adaptive pooling, linear layers, flatten), see the module docstring.

    Recurrence (per axis, ``k_eff = d (k - 1) + 1``): ``r' = r + (k_eff - 1) j``, ``j' = j s``,
    ``u' = u + ((k_eff - 1)/2 - p) j``; Araujo, Norris & Sim, Distill 2019.

    >>> receptive_field([(3, 1)] * 4).size
    9
    >>> receptive_field([(3, 1, d) for d in (1, 2, 4, 8)]).size
    31
    """
    if isinstance(model_or_layers, (list, tuple)) and model_or_layers and \
            all(isinstance(m, nn.Module) for m in model_or_layers):
        model_or_layers = nn.Sequential(*model_or_layers)
    if not isinstance(model_or_layers, nn.Module):
        return _from_layers(model_or_layers, input_size)
    model = model_or_layers
    meta, _ = _copy(model)
    with torch.no_grad():
        rf, _, _ = _trace(meta, torch.empty(_input_shape(model, input_size), device="meta"))
    return rf


def unclipped_input_size(model: nn.Module, channels: int | None = None,
                         max_tries: int = 64) -> tuple[int, int, int, int]:
    """Smallest input size (tried in steps of the jump) at which the fields of the central
    output unit and of its diagonal neighbour lie inside the input with a pixel to spare."""
    c = _input_shape(model, None)[1] if channels is None else channels
    rf = receptive_field(model, (1, c, 224, 224))
    hw = [max(16, a.size + 2) for a in rf.axes]
    for _ in range(max_tries):
        rf = receptive_field(model, (1, c, *hw))
        (oh, ow), (nh, nw) = rf.output_hw, rf.input_hw
        top, left, _, _ = rf.box(oh // 2, ow // 2)
        _, _, bottom, right = rf.box(oh // 2 + 1, ow // 2 + 1)
        ok_h = top >= 1 and bottom <= nh - 2 and oh >= 2
        ok_w = left >= 1 and right <= nw - 2 and ow >= 2
        if ok_h and ok_w:
            return (1, c, nh, nw)
        hw = [hw[0] + (0 if ok_h else rf.axes[0].jump), hw[1] + (0 if ok_w else rf.axes[1].jump)]
    raise ValueError(f"no unclipped input size found up to {tuple(hw)}")


# ---------------------------------------------------------------------------------------------
# Measurement with autograd
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradientRF(_AxesView):
    """Receptive field measured with autograd, comparable with :class:`RF`.

    ``axes`` holds the measured size, jump and start (the jump from two neighbouring units; jump
    and start are ``None`` on an axis with a single output unit or where both supports are cut
    off at both ends). ``boxes`` are the measured
    supports (top, left, bottom, right) of ``unit`` and ``neighbour``; ``clipped_hw`` says per
    axis whether either support may be cut off by the border: it touches the border, or the traced
    field extends past it (a field with gaps, stride larger than kernel, can lose its outer pixels
    without touching the border). Measured values are exact only on unclipped axes; the jump is
    read from an edge that neither support touches. The axes are measured independently, so a
    tall, narrow input measures the height axis at a fraction of the cost. ``analytic`` is the
    traced RF of the same run.

    Effective receptive field (Luo et al. 2016): ``erf`` is the mean over ``erf_samples`` random
    inputs (and, by default, random weights) of ``|d y_unit / d x|`` summed over channels,
    normalized to sum 1, as an (H, W) tensor. ``erf_fraction`` is the smallest share of the
    theoretical field's box (``boxes[0]``) whose pixels hold ``erf_mass`` (e.g. 95%) of it:
    pixels are taken from the largest gradient down until the mass is reached.
    """

    axes: tuple[Axis, Axis]
    unit: Pair
    neighbour: Pair
    boxes: tuple[tuple[int, int, int, int], tuple[int, int, int, int]]
    clipped_hw: tuple[bool, bool]
    support: torch.Tensor
    analytic: RF
    input_size: tuple[int, ...]
    erf: torch.Tensor | None = None
    erf_fraction: float | None = None
    erf_mass: float = 0.95
    notes: tuple[str, ...] = field(default=())

    @property
    def clipped(self) -> bool:
        """Whether the unit's support touches the input's border along either axis."""
        return any(self.clipped_hw)


def _support_box(mask: torch.Tensor) -> tuple[int, int, int, int]:
    rows = mask.any(1).nonzero().flatten()
    cols = mask.any(0).nonzero().flatten()
    if len(rows) == 0:
        raise ValueError("the gradient is zero everywhere: the unit does not depend on the input")
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


def _reinitialize(model: nn.Module) -> None:
    for m in model.modules():
        if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
            m.reset_parameters()


def erf_fraction(erf: torch.Tensor, box: tuple[int, int, int, int], mass: float = 0.95) -> float:
    """Smallest share of the pixels of ``box`` (top, left, bottom, right) that holds ``mass`` of
    the gradient mass of ``erf`` inside the box (largest values first)."""
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1], got {mass}")
    top, left, bottom, right = box
    values = erf[top:bottom + 1, left:right + 1].flatten().double()
    values = values.sort(descending=True).values
    cumulative = values.cumsum(0) / values.sum()
    target = torch.tensor(mass - 1e-6, dtype=cumulative.dtype)     # forgive float32 rounding
    needed = int(torch.searchsorted(cumulative, target)) + 1
    return min(needed, len(values)) / len(values)


def gradient_receptive_field(model: nn.Module, input_size=None, *, unit: Pair | None = None,
                             erf_samples: int = 4, erf_weights: str = "random",
                             erf_mass: float = 0.95, seed: int = 0) -> GradientRF:
    """Measure the receptive field of ``model``'s last spatial tensor with autograd (on CPU).

    (a) Theoretical support: a float64 copy of the model with every weight ``1/fan_in`` (vector
    and scalar parameters such as biases and per-channel scales 1); activations, batch and
    local-response normalization and dropout replaced by the identity, sigmoid-like gates by
    ``t / (1 + t)`` and max pooling by an averaging pool of the same geometry; input all ones.
    Every value and every partial derivative is then positive (the network is linear with
    non-negative coefficients, up to the products with gates), so the gradient of the unit, summed
    over channels, is positive exactly on the pixels connected to it: nothing cancels, saturates
    or overflows. Two units are measured (``unit``, default the central one, and its diagonal
    neighbour) in one backward pass, giving size, jump and start.

    (b) Effective receptive field (Luo et al., NeurIPS 2016): the model's own nonlinearities and
    pooling, ``erf_weights="random"`` (each layer's ``reset_parameters``) or ``"model"`` (the
    weights as given), eval mode, ``erf_samples`` standard-normal inputs; see :class:`GradientRF`.

    ``input_size`` defaults to :func:`unclipped_input_size`. The caller's model is not changed
    (the measurement works on copies) and the global random state is restored afterwards.
    """
    if erf_weights not in ("random", "model"):
        raise ValueError(f"erf_weights must be 'random' or 'model', got {erf_weights!r}")
    shape = unclipped_input_size(model) if input_size is None else _input_shape(model, input_size)
    # a first trace on the meta device finds the global operation to stop before and the
    # weights used before it; the copies below leave the head's weights on the meta device
    meta, back = _copy(model)
    with torch.no_grad():
        _, _, plan = _trace(meta, torch.empty(shape, device="meta"))
    stop = plan.final.index if plan.final.is_global else None
    keep = {back[i] for i, first in plan.uses.items() if i in back and (stop is None or first < stop)}
    del meta

    probe, _ = _copy(model, keep, torch.float64)
    with torch.no_grad():
        for prm in probe.parameters():
            # weights average their inputs; vectors and scalars (biases, per-channel scales) are 1
            prm.fill_(1.0 / prm[0].numel() if prm.dim() >= 2 else 1.0)
    x = torch.ones((2,) + tuple(shape[1:]), dtype=torch.float64, requires_grad=True)
    analytic, feature, _ = _trace(probe, x, linearize=True, stop=stop)
    oh, ow = feature.shape[-2:]
    unit = (oh // 2, ow // 2) if unit is None else tuple(unit)
    neighbour = tuple(u + 1 if u + 1 < n else max(u - 1, 0) for u, n in zip(unit, (oh, ow)))
    loss = feature[0, :, unit[0], unit[1]].sum() + feature[1, :, neighbour[0], neighbour[1]].sum()
    (grad,) = torch.autograd.grad(loss, x)
    support = grad.sum(1) > 0
    boxes = (_support_box(support[0]), _support_box(support[1]))
    axes, clipped = [], []
    traced = (analytic.box(*unit), analytic.box(*neighbour))
    for a, (lo, hi) in enumerate(((0, 2), (1, 3))):
        n = x.shape[-2 + a]
        (b0_lo, b0_hi), (b1_lo, b1_hi) = [(b[lo], b[hi]) for b in boxes]
        # a support touching the border may be cut off; so may a field with gaps (stride larger
        # than kernel) that does not touch it, which only the traced field reveals
        clipped.append(b0_lo == 0 or b0_hi == n - 1 or b1_lo == 0 or b1_hi == n - 1
                       or any(t[lo] < 0 or t[hi] > n - 1 for t in traced))
        step = neighbour[a] - unit[a]
        # the jump from whichever edge neither support touches
        edge = (b1_lo - b0_lo) if b0_lo > 0 and b1_lo > 0 else (b1_hi - b0_hi)
        jump = Fraction(edge, step) if step else Fraction(0)
        centre = Fraction(b0_lo + b0_hi, 2)
        if jump.denominator != 1 or jump < 1:       # one unit only, or both edges cut off
            if step and not clipped[-1]:
                raise ValueError(f"measured jump {jump} along axis {a} is not a positive integer "
                                 f"(supports {boxes})")
            axes.append(Axis(b0_hi - b0_lo + 1, None, None))
        else:
            axes.append(Axis(b0_hi - b0_lo + 1, int(jump), centre - unit[a] * jump))

    erf = fraction = None
    if erf_samples:
        net, _ = _copy(model, keep, torch.float32)
        total = torch.zeros(shape[-2:], dtype=torch.float64)
        with torch.random.fork_rng(devices=[]):
            for t in range(erf_samples):
                torch.manual_seed(seed + t)
                if erf_weights == "random":
                    with torch.no_grad():
                        _reinitialize(net)
                xs = torch.randn(shape, requires_grad=True)
                _, feat, _ = _trace(net, xs, stop=stop)
                (g,) = torch.autograd.grad(feat[:, :, unit[0], unit[1]].sum(), xs)
                total += g.abs().sum((0, 1)).double()
        if total.sum() > 0:
            erf = total / total.sum()
            fraction = erf_fraction(erf, boxes[0], erf_mass)
    return GradientRF(tuple(axes), unit, neighbour, boxes, tuple(clipped), support[0], analytic,
                      tuple(shape), erf, fraction, erf_mass, analytic.notes)
