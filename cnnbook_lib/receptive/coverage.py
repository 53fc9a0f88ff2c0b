"""Coverage: the exact set of input pixels that reach one output unit, holes and all.

The recurrence of :mod:`.axis` gives the *extent* of a field, the rectangle from its first to its
last pixel. Inside that rectangle a dilated stack can miss pixels: with dilation 2 in every layer
the unit reads only every second pixel, however deep the stack (the *gridding* artefact of Yu &
Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions", ICLR 2016, and Wang et al.,
"Understanding Convolution for Semantic Segmentation", WACV 2018). :func:`coverage` returns the
exact per-pixel answer.

It counts *paths*. Each layer connects output position ``o`` to the input positions
``s o - p + d t`` (``t = 0 .. k-1`` per axis) that lie inside the input; a path from an input
pixel to the unit picks one such connection in every layer, and on a graph with branches one
branch at every merge. The number of paths is an integer computed exactly by walking the layers
backwards from the unit (a transposed convolution with an all-ones kernel in integer arithmetic,
widened to Python integers before int64 could overflow). A pixel is covered when it has a path.
Channels are not part of a path: every tensor counts as one channel (a unit of a ``C``-channel
map sees what each of its channels sees). With all-ones one-channel kernels and no bias the
gradient of the unit with respect to the input *is* the path count, and with any positive weights
its support is the mask; the tests check both with autograd.

A model is run once on the meta device under the tracing core's
:class:`~cnnbook_lib.tracing.TensorFollower`, which records every operation on tensors derived
from the input; what each does to the counts is one small rule of the registry :data:`RULES`.
The geometry of convolutions, pooling and padding comes from the tracer's table
(:data:`.ops.GEOMETRY`); additions, concatenations, activations,
normalizations over channels and other operations that keep (or broadcast) the positions pass
the counts through; slicing, adaptive pooling, channel shuffles and permutes of non-spatial
dimensions are followed. Operations that mix positions in other ways (attention, upsampling,
transposed convolutions, reshapes of the positions) are refused with an error naming them.
A classifier head is left out as :func:`~cnnbook_lib.receptive.receptive_field` leaves it out:
the unit is one of the last feature map, before the global pooling or the flatten where the
tracer stops (a head that flattens the map into features is recognised even when the tracer
follows the flatten).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._pytree import tree_leaves

from ..tracing import Registry, TensorFollower, fname
from . import _check
from .node import Op
from .ops import (ATTENTION, CONSTANT, GEOMETRY, LINEAR, MATMUL, MIXING, REDUCE, UNSUPPORTED,
                  _GETITEM, _PERMUTES, _RESHAPES, _bind, _permutation)
from .tracer import _copy, _trace

__all__ = ["coverage", "holes", "extent", "RULES"]

#: Counts above this are kept as Python integers (object arrays) instead of int64.
_WIDEN = 2 ** 62

_ADAPTIVE = {F.adaptive_avg_pool1d: 1, F.adaptive_avg_pool2d: 2, F.adaptive_avg_pool3d: 3,
             F.adaptive_max_pool1d: 1, F.adaptive_max_pool2d: 2, F.adaptive_max_pool3d: 3,
             F.adaptive_max_pool2d_with_indices: 2}
for _name in ("adaptive_max_pool1d_with_indices", "adaptive_max_pool3d_with_indices"):
    if hasattr(F, _name):
        _ADAPTIVE[getattr(F, _name)] = int(_name[len("adaptive_max_pool")])

# ---------------------------------------------------------------------------------------------
# Exact backward steps on count arrays (one array per tensor: its spatial positions only)
# ---------------------------------------------------------------------------------------------


def _fits(counts: np.ndarray, factor: int) -> np.ndarray:
    """``counts`` as an array that can hold values up to ``factor`` times its largest."""
    if counts.dtype != object and counts.size and int(counts.max()) * factor >= _WIDEN:
        return counts.astype(object)
    return counts


def _scatter(counts: np.ndarray, axis: int, n_in: int, targets: Sequence[np.ndarray]) -> np.ndarray:
    """Counts on an input of ``n_in`` positions along ``axis``: output position o sends its count
    to ``targets[t][o]`` for every tap t (entries outside ``[0, n_in)`` fall off the border)."""
    counts = _fits(counts, max(1, len(targets)))
    moved = np.moveaxis(counts, axis, 0)
    out = np.zeros((n_in,) + moved.shape[1:], dtype=moved.dtype)
    for idx in targets:
        ok = (idx >= 0) & (idx < n_in)
        np.add.at(out, idx[ok], moved[ok])
    return np.moveaxis(out, 0, axis)


def _conv_back(counts, axis, n_in, k, s, d, p, mode="zeros"):
    """Transpose of one window layer along one axis: o reads ``s o - p + d t``, t < k; with
    ``reflect``, ``replicate`` or ``circular`` padding the positions outside are mapped back in."""
    o = np.arange(counts.shape[axis])
    targets = []
    for t in range(k):
        idx = s * o - p + d * t
        if mode == "reflect":
            idx = np.where(idx < 0, -idx, idx)
            idx = np.where(idx >= n_in, 2 * (n_in - 1) - idx, idx)
        elif mode == "replicate":
            idx = np.clip(idx, 0, n_in - 1)
        elif mode == "circular":
            idx = idx % n_in
        targets.append(idx)
    return _scatter(counts, axis, n_in, targets)


def _window_back(counts, axis, n_in, first, last):
    """Output o reads input ``first[o] .. last[o] - 1`` (adaptive pooling)."""
    width = int(max(l - f for f, l in zip(first, last)))
    targets = [np.where(first + t < last, first + t, -1) for t in range(width)]
    return _scatter(counts, axis, n_in, targets)


def _unbroadcast(counts: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Counts on an operand of spatial ``shape`` that was broadcast to ``counts.shape``."""
    for a, n in enumerate(shape):
        if n == 1 and counts.shape[a] != 1:
            counts = _fits(counts, counts.shape[a]).sum(axis=a, keepdims=True)
        elif n != counts.shape[a]:
            raise ValueError(f"spatial shape {tuple(shape)} does not broadcast to "
                             f"{counts.shape}")
    return counts


# ---------------------------------------------------------------------------------------------
# Recording a model's graph
# ---------------------------------------------------------------------------------------------


class _Refused(ValueError):
    """An operation whose effect on positions coverage() does not model."""


class _Head(Exception):
    """Raised at the first operation of the classifier head: the feature map is ``node``."""

    def __init__(self, node: int):
        super().__init__(node)
        self.node = node


class _Recorder(TensorFollower):
    """Records the operations on tensors derived from the input: for each, the input nodes it
    read, the output nodes it made and a backward step on count arrays (from :data:`RULES`)."""

    untracked = frozenset(CONSTANT)

    def __init__(self, n: int, stop: int | None = None):
        super().__init__(stop)      # stop: index of the head's first operation (from the tracer)
        self.n = n
        self.shapes: list[tuple[int, ...]] = []                # spatial shape of each node
        self.refused: dict[int, str] = {}                      # node -> why it is not followed
        # refused node -> (the followed node its refusal started from, whether that refusal was
        # a flatten of all positions into features: the start of a classifier head)
        self.origin: dict[int, tuple[int, bool]] = {}
        self.ops: list[tuple[list[int], list[int], object]] = []

    def node_of(self, t) -> int | None:
        return self.get(t)

    def new(self, t: torch.Tensor, why: str | None = None) -> int:
        node = len(self.shapes)
        self.shapes.append(tuple(t.shape[-self.n:]) if t.dim() >= self.n else ())
        if why is None and t.dim() < self.n:
            why = f"{tuple(t.shape)} has fewer than {self.n} spatial dimensions"
        if why is not None:
            self.refused[node] = why
        self.put(t, node)
        return node

    def stopping(self, func, tracked) -> None:
        raise _Head(self.feature(next((nd for _, nd in tracked if nd not in self.refused),
                                      tracked[0][1])))

    def follow(self, func, args, kwargs, tracked, outs) -> None:
        bad = [nd for _, nd in tracked if nd in self.refused]
        x, first = tracked[0]
        try:
            if bad:
                raise _Refused(self.refused[bad[0]])
            rule = RULES.lookup(func) or _pointwise
            steps = rule(self, Op(func, fname(func), args, kwargs, tracked, tracked, x, first,
                                  outs))
        except _Refused as why:
            origin = self.origin[bad[0]] if bad else \
                (first, func in _RESHAPES and all(t.dim() <= x.dim() - self.n for t in outs))
            for t in outs:
                self.origin[self.new(t, str(why))] = origin
            return
        made = [self.new(t) if step is not None else self.new(t, f"{fname(func)} output")
                for t, step in zip(outs, steps)]
        for node, step in zip(made, steps):
            if step is not None:
                self.ops.append(([nd for _, nd in tracked], [node], step))

    def feature(self, node: int) -> int:
        """``node``, or the feature map a classifier head flattened into it."""
        if node in self.refused and self.origin.get(node, (None, False))[1]:
            return self.origin[node][0]
        return node


# ---------------------------------------------------------------------------------------------
# The rules: one backward step per output (None: the output is not a map); a step maps the
# output's counts to the list of its inputs' counts. An op without a rule is pointwise.
# ---------------------------------------------------------------------------------------------

#: function -> rule ``fn(recorder, op) -> [step per output]``; raises ``_Refused`` for an op whose
#: effect on positions coverage() does not model
RULES = Registry("receptive.coverage.RULES")


@RULES.register(torch.roll, torch.Tensor.roll, *UNSUPPORTED, *MATMUL, *LINEAR, *ATTENTION)
def _refused(rec, op: Op):
    """Operations that mix positions in ways coverage() does not follow (attention, products,
    linear layers over positions, rolls, gathers)."""
    raise _Refused(f"{op.name} (positions mixed in a way coverage() does not model)")


@RULES.register(*GEOMETRY)
def _window_layer(rec, op: Op):
    """Convolutions, pooling and padding: the transpose of each layer's windows, per axis
    (padding with ``reflect``, ``replicate`` or ``circular`` maps the outside back in)."""
    n, x, args, kwargs = rec.n, op.x, op.args, op.kwargs
    if len(op.tracked) != 1:
        raise _Refused(f"{op.name} with several inputs derived from the image")
    kind, k, s, d, p, _ = GEOMETRY[op.func](args, kwargs, x, op.out)
    if k is None or kind == "conv_transpose" or len(k) != n:
        raise _Refused(f"{op.name} ({kind}) is not modelled by coverage()")
    mode = "zeros"
    if kind == "pad":
        mode = _bind(("input", "pad", "mode", "value"), args, kwargs).get("mode") or "constant"
        mode = {"constant": "zeros"}.get(mode, mode)
    shape_in = tuple(x.shape[-n:])

    def conv(c, k=k, s=s, d=d, p=p, mode=mode, shape_in=shape_in):
        for a in range(n):
            c = _conv_back(c, a, shape_in[a], k[a], s[a], d[a], p[a], mode)
        return [c]
    return [conv] + [None] * (len(op.outs) - 1)     # max pooling's indices: not a map


@RULES.register(*_ADAPTIVE)
def _adaptive(rec, op: Op):
    """Adaptive pooling: output i reads input ``floor(i m / o) .. ceil((i + 1) m / o) - 1``."""
    n = rec.n
    shape_in, shape_out = tuple(op.x.shape[-n:]), tuple(op.out.shape[-n:])

    def adaptive(c, shape_in=shape_in, shape_out=shape_out):
        for a in range(n):
            i, m, o = np.arange(shape_out[a]), shape_in[a], shape_out[a]
            c = _window_back(c, a, m, (i * m) // o, -((-(i + 1) * m) // o))
        return [c]
    return [adaptive] + [None] * (len(op.outs) - 1)


@RULES.register(*MIXING)
def _mixing(rec, op: Op):
    """Softmax and normalizations over channels are pointwise in the positions; over positions
    they are refused."""
    dims = MIXING[op.func](op.args, op.kwargs, op.x)
    if any(dd >= op.x.dim() - rec.n for dd in dims):
        raise _Refused(f"{op.name} mixes spatial positions")
    return _pointwise(rec, op)


@RULES.register(*REDUCE)
def _reduce(rec, op: Op):
    """Reductions over channels are pointwise; over positions only with ``keepdim`` (the
    counts are broadcast back)."""
    dims = REDUCE[op.func](op.args, op.kwargs, op.x)
    keep = _bind(("input", "dim", "keepdim"), op.args, op.kwargs).get("keepdim", False)
    if any(dd >= op.x.dim() - rec.n for dd in dims) and not keep:
        raise _Refused(f"{op.name} reduces the spatial positions")
    return _pointwise(rec, op)


@RULES.register(*_PERMUTES)
def _permute(rec, op: Op):
    """Permutes of the dimensions before the spatial ones (channels, batch)."""
    order = _permutation(op.func, op.args, op.kwargs, op.x.dim())
    if order[-rec.n:] != list(range(op.x.dim() - rec.n, op.x.dim())):
        raise _Refused(f"{op.name} moves the spatial dimensions")
    return _reshape(rec, op)


@RULES.register(*_RESHAPES)
def _reshape(rec, op: Op):
    """Reshapes that keep the spatial dimensions (channel shuffles)."""
    n, x = rec.n, op.x
    if any(t.dim() < n or tuple(t.shape[-n:]) != tuple(x.shape[-n:]) for t in op.outs):
        raise _Refused(f"{op.name} reshapes the spatial dimensions")
    return _pointwise(rec, op)


def _pointwise(rec, op: Op):
    """Everything else: pointwise in the positions, with broadcasting (the counts of a
    broadcast operand are summed over the dimensions it was broadcast along)."""
    n = rec.n
    shapes = [tuple(t.shape[-n:]) if t.dim() >= n else None for t, _ in op.tracked]
    steps = []
    for t in op.outs:
        if t.dim() < n:
            steps.append(None)
            continue
        shape = tuple(t.shape[-n:])
        if any(sh is None or len(sh) != n or
               any(a != b and a != 1 for a, b in zip(sh, shape)) for sh in shapes):
            shapes_in = [tuple(u.shape) for u, _ in op.tracked]
            raise _Refused(f"{op.name} changes the positions ({shapes_in} -> {tuple(t.shape)})")

        def pointwise(c, shapes=shapes):
            return [_unbroadcast(c, sh) for sh in shapes]
        steps.append(pointwise)
    return steps


@RULES.register(*_GETITEM)
def _getitem(rec, op: Op):
    """Slicing: spatial dimensions may be sliced with steps; others indexed freely."""
    n, args, x, out = rec.n, op.args, op.x, op.out
    index = args[1] if isinstance(args[1], tuple) else (args[1],)
    if any(isinstance(i, (torch.Tensor, list, np.ndarray)) for i in index) or \
            any(i is None for i in index):
        if out.dim() >= n and tuple(out.shape[-n:]) == tuple(x.shape[-n:]) and \
                out.dim() == x.dim():
            return [lambda c: [c]]
        raise _Refused("advanced indexing of spatial positions is not modelled")
    real = sum(1 for i in index if i is not Ellipsis)
    full = []
    for i in index:
        full += [slice(None)] * (x.dim() - real) if i is Ellipsis else [i]
    full += [slice(None)] * (x.dim() - len(full))
    picks = []
    for a in range(n):
        i, size = full[x.dim() - n + a], x.shape[x.dim() - n + a]
        if not isinstance(i, slice):
            raise _Refused("indexing a spatial dimension with an integer removes it")
        picks.append(np.arange(size)[i])

    def sliced(c, picks=picks, shape_in=tuple(x.shape[-n:])):
        for a in range(n):
            c = _scatter(c, a, shape_in[a], [picks[a]])
        return [c]
    return [sliced]


# ---------------------------------------------------------------------------------------------
# The public function
# ---------------------------------------------------------------------------------------------


def _layer_list(layers, input_size):
    """Parse a layer list: the spatial input shape and per-layer (k, s, d, p) per axis."""
    from .trace import _parse_layer
    one_d = isinstance(input_size, (tuple, list)) and len(input_size) == 1
    if isinstance(input_size, (tuple, list)):
        if len(input_size) not in (1, 2):
            raise ValueError(f"input_size must be an int, (n,) for a 1-D stack or "
                             f"(height, width), got {input_size!r}")
        shape = tuple(_check.integer("input_size", v) for v in input_size)
    else:
        shape = (_check.integer("input_size", input_size),) * 2
    specs = []
    for index, entry in enumerate(layers):
        k, s, d, p = _parse_layer(entry, index)
        if one_d:
            if any(v[0] != v[1] for v in (k, s, d, p)):
                raise ValueError(f"layer {index + 1}: a 1-D stack (input_size {input_size!r}) "
                                 f"takes one value per parameter, got {entry!r}")
            k, s, d, p = k[:1], s[:1], d[:1], p[:1]
        specs.append((k, s, d, p))
    return shape, specs


def _unit(unit, out: tuple[int, ...]) -> tuple[int, ...]:
    if unit is None:
        return tuple(o // 2 for o in out)
    if not isinstance(unit, (tuple, list)):
        raise TypeError(f"unit must be a tuple of {len(out)} coordinates, got {unit!r}")
    if len(unit) != len(out):
        raise ValueError(f"unit must give {len(out)} coordinates for an output of "
                         f"{out} units, got {unit!r}")
    unit = tuple(_check.integer("unit", u, 0) for u in unit)
    if any(u >= o for u, o in zip(unit, out)):
        raise ValueError(f"unit {unit} lies outside the output of {out} units")
    return unit


def _start(out_shape, unit, counts: bool) -> np.ndarray:
    c = np.zeros(out_shape, dtype=np.int64)
    c[unit] = 1
    return c


def _from_layers(layers, input_size, unit, counts: bool) -> np.ndarray:
    shape, specs = _layer_list(layers, input_size)
    sizes = [shape]
    for index, (k, s, d, p) in enumerate(specs):
        out = []
        for a in range(len(shape)):
            span = sizes[-1][a] + 2 * p[a] - d[a] * (k[a] - 1)
            if span < 1:
                raise ValueError(f"input_size {input_size!r} is too small: layer {index + 1} "
                                 f"(kernel {k[a]}, dilation {d[a]}, effective "
                                 f"{d[a] * (k[a] - 1) + 1}) is larger than its padded input "
                                 f"{sizes[-1][a] + 2 * p[a]}")
            out.append((span - 1) // s[a] + 1)
        sizes.append(tuple(out))
    c = _start(sizes[-1], _unit(unit, sizes[-1]), counts)
    for (k, s, d, p), size in zip(reversed(specs), reversed(sizes[:-1])):
        for a in range(len(shape)):
            c = _conv_back(c, a, size[a], k[a], s[a], d[a], p[a])
        if not counts:
            c = np.minimum(c, 1)
    return c if counts else c > 0


def _from_model(model: nn.Module, input_size, unit, counts: bool) -> np.ndarray:
    from .trace import _input_shape
    shape, n = _input_shape(model, input_size)
    meta, _ = _copy(model)
    with torch.no_grad():                   # where the classifier head starts, if there is one
        _, _, plan = _trace(meta, torch.empty(shape, device="meta"), n)
    x = torch.empty(shape, device="meta")
    rec = _Recorder(n, plan.final.index if plan.final.head else None)
    rec.new(x)
    final = None
    try:
        with torch.no_grad(), rec:
            out = meta(x)
    except _Head as head:
        final = head.node
    except Exception as error:
        raise ValueError(f"the model does not run on an input of shape {tuple(shape)} "
                         f"(input_size): {type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''}") from error
    if final is None:
        final = next((nd for t in tree_leaves(out) if isinstance(t, torch.Tensor)
                      and (nd := rec.node_of(t)) is not None), None)
    if final is None:
        raise ValueError("the model's output does not depend on its input")
    final = rec.feature(final)
    if final in rec.refused:
        raise ValueError(f"coverage() cannot follow the model to its output: {rec.refused[final]}"
                         f"; pass the part of the model that ends in a feature map")
    grads: dict[int, np.ndarray] = {final: _start(rec.shapes[final],
                                                  _unit(unit, rec.shapes[final]), counts)}
    for ins, outs, rule in reversed(rec.ops):
        (o,) = outs
        if o not in grads:
            continue
        for node, c in zip(ins, rule(grads.pop(o))):
            if not counts:
                c = np.minimum(c, 1)
            if node in grads:
                total = _fits(grads[node], 2) + _fits(c, 2)
                grads[node] = np.minimum(total, 1) if not counts else total
            else:
                grads[node] = c
    c = grads.get(0, np.zeros(rec.shapes[0], dtype=np.int64))
    return c if counts else c > 0


def coverage(layers_or_model: nn.Module | Sequence, input_size, unit=None,
             counts: bool = False) -> np.ndarray:
    """The exact set of input pixels with a path to one output unit.

    ``layers_or_model``: a list of ``(k, s)``, ``(k, s, d)`` or ``(k, s, d, p)`` layers (as for
    :func:`~cnnbook_lib.receptive.receptive_field`; pooling is a layer with its kernel and
    stride), or a ``torch.nn.Module`` (or a list of modules) traced once on the meta device.
    ``input_size``: for a layer list an int (square), ``(height, width)`` or ``(n,)`` for a 1-D
    stack; for a model the full shape ``(N, C, ...)``, the spatial sizes or an int.
    ``unit``: the output unit, a tuple of one coordinate per axis; default the centre unit
    ``(n_out // 2, ...)``. For a classifier the output is its last feature map (the head is left
    out, as by ``receptive_field``).

    Returns a boolean array of the input's spatial shape (True where the pixel reaches the unit)
    or, with ``counts=True``, the exact number of paths from each pixel to the unit (int64, or
    Python integers where int64 could overflow). Where a unit's field reaches past the border the
    padding has no pixels and the mask stops at the border.

    >>> coverage([(3, 1, 2)] * 2, 9)[4].astype(int).tolist()
    [1, 0, 1, 0, 1, 0, 1, 0, 1]
    >>> coverage([(3, 1, 1), (3, 1, 2)], (9,), counts=True).tolist()
    [0, 1, 1, 2, 1, 2, 1, 1, 0]
    """
    if not isinstance(counts, bool):
        raise TypeError(f"counts must be True or False, got {counts!r}")
    from .trace import _check_model_or_layers
    target = _check_model_or_layers(layers_or_model)
    if isinstance(target, nn.Module):
        if input_size is None:
            raise TypeError("input_size must be given (an int, the spatial sizes or the full "
                            "shape)")
        return _from_model(target, input_size, unit, counts)
    return _from_layers(target, input_size, unit, counts)


def extent(mask: np.ndarray) -> tuple[int, ...]:
    """Extent of a coverage mask along each axis: last minus first covered pixel, plus one."""
    mask = _mask("mask", mask)
    spans = []
    for a in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(b for b in range(mask.ndim) if b != a)))
        spans.append(int(hit[-1] - hit[0] + 1) if hit.size else 0)
    return tuple(spans)


def holes(mask: np.ndarray) -> np.ndarray:
    """The pixels inside the bounding box of a coverage mask that no path reaches (a boolean
    array of the mask's shape): the gridding artefact of a dilated stack."""
    mask = _mask("mask", mask)
    out = np.zeros_like(mask)
    if not mask.any():
        return out
    box = []
    for a in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(b for b in range(mask.ndim) if b != a)))
        box.append(slice(int(hit[0]), int(hit[-1]) + 1))
    out[tuple(box)] = ~mask[tuple(box)]
    return out


def _mask(name: str, mask) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.ndim < 1:
        raise TypeError(f"{name} must be a boolean numpy array (coverage()'s result), got "
                        f"{type(mask).__name__}")
    return mask
