"""The tracer: follows the receptive field of every tensor derived from the input, and where its
positions are, through any graph (branches, layouts, attention).

It is a :class:`~cnnbook_lib.tracing.TensorFollower` of the tracing core (the module names come
from its :class:`~cnnbook_lib.tracing.ModuleStack`, the copy of the model from its
:func:`~cnnbook_lib.tracing.copy_model`); what each operation does to a field is one small rule
of the registry :data:`.rules.RULES`. This module holds what the rules share: the node of a
followed tensor, and the helpers that mix, merge and adjust fields.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Sequence

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from ..tracing import ModuleStack, TensorFollower, copy_model, fname, on_meta
from . import layout as L
from .axis import Axis, Gather, merge
from .node import Op, _Node
from .ops import CONSTANT
from .results import LayerRF, RF
from .rules import DEFAULT, RULES, default_rule, merge_rule

# ---------------------------------------------------------------------------------------------
# The tracer
# ---------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised when the tracer reaches the operation it was told to stop before."""

    def __init__(self, source: torch.Tensor, where: str):
        super().__init__(where)
        self.source, self.where = source, where


class _HeadFailed(Exception):
    """The network's head failed (e.g. a fixed-size linear layer at another input size)."""

    def __init__(self, node: _Node, error: Exception):
        super().__init__(str(error))
        self.node = node


class _Tracer(TensorFollower):
    """Follows the receptive field of every tensor derived from the input."""

    untracked = frozenset(CONSTANT)

    def __init__(self, input_hw: tuple[int, ...], linearize: bool = False,
                 stop: int | None = None, impls: dict | None = None):
        super().__init__(stop)
        self.input_hw = input_hw
        self.linearize = linearize
        self.impls = impls or {}
        self.rows: list[LayerRF] = []
        self.notes: list[str] = []
        self.modules: ModuleStack | None = None

    def put(self, t: torch.Tensor, node: _Node) -> None:
        if not node.head and L.is_plain(node.layout, len(node.axes)) and t.dim() > len(node.axes):
            node.anchor = t
        super().put(t, node)

    def plain_source(self, t: torch.Tensor) -> torch.Tensor:
        """``t``, or the last channels-first tensor with its field if ``t`` is laid out
        otherwise (a flattened map before a linear head)."""
        node = self.get(t)
        if node is not None and not L.is_plain(node.layout, len(node.axes)) and \
                node.anchor is not None:
            return node.anchor
        return t

    @property
    def where(self) -> str:
        """The module whose call is in progress (its qualified name)."""
        top = self.modules.top if self.modules is not None else None
        return top if top is not None else "<model>"

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- the tensor follower ------------------------------------------------------------------

    def stopping(self, func, tracked) -> None:
        source = next((t for t, n in tracked if not n.head), tracked[0][0])
        raise _Stop(source, f"{self.where} ({fname(func)})")

    def call(self, func, args, kwargs, tracked):
        impl = self.impls.get(func) if self.linearize and tracked else None
        try:
            return impl(args, kwargs) if impl else func(*args, **kwargs)
        except Exception as error:
            if tracked and all(n.head for _, n in tracked):
                raise _HeadFailed(tracked[0][1], error) from error
            rule = RULES.lookup(func) if tracked else None
            if rule is not None and rule.head:                  # a fixed-size head layer
                x, nd = next((t, n) for t, n in tracked if not n.head)
                if not nd.is_global:
                    head = _Node(nd.axes, None, nd.extent, True, x, f"{self.where} ({fname(func)})",
                                 self.count - 1)
                    raise _HeadFailed(head, error) from error
            raise

    def follow(self, func, args, kwargs, tracked, outs) -> None:
        try:
            nodes = self.rule(func, args, kwargs, tracked, outs)
        except ValueError as error:
            error.from_tracer = True
            raise
        for i, t in enumerate(outs):
            self.put(t, nodes[i] if isinstance(nodes, list) else nodes)

    # -- helpers --------------------------------------------------------------------------

    def make_global(self, node: _Node, by: str) -> tuple[Axis, ...]:
        """Every unit of ``node``'s level sees what all of them see together."""
        return tuple(a.clipped_to(n, e) for a, n, e in zip(node.axes, self.input_hw, node.extent))

    def mix(self, node: _Node, x: torch.Tensor, dims: Sequence[int], name: str,
            out_layout, record: bool = True) -> _Node:
        """The node after an operation that mixes every position along ``dims`` of ``x``."""
        if node.is_global:
            return replace(node, layout=out_layout)
        if node.layout is None:
            raise ValueError(f"{self.where}: {name} mixes positions whose layout is unknown")
        atoms = [atom for d in dims for atom in L.spatial(node.layout[d])]
        if not atoms:
            return replace(node, layout=out_layout)
        axes = list(node.axes)
        for a in range(len(axes)):
            if any(isinstance(t[0], frozenset) and a in t[0] for t in atoms):
                digits = [(node.extent[a], 1)]
            else:
                digits = [(n, st) for ax, n, st in atoms if ax == a]
            if digits:
                axes[a] = axes[a].gather(Gather.window(digits, node.extent[a]))
        where = f"{self.where} ({name})"
        everything = all(a.is_global for a in axes)
        if out_layout is not None and not L.axes_in(out_layout):
            # no position survives: a classifier head; report the field before it
            return _Node(node.axes, None, node.extent, True, x, where, self.count - 1)
        if everything:
            axes = self.make_global(replace(node, axes=tuple(axes)), where)
            if record:
                self.rows.append(LayerRF(self.where, "global", None, None, None, None, axes))
            return _Node(axes, out_layout, node.extent, global_by=where)
        axes = tuple(a.clipped_to(n, e) if a.is_global else a
                     for a, n, e in zip(axes, self.input_hw, node.extent))
        if record:
            self.rows.append(LayerRF(self.where, "window", None, None, None, None, axes))
        return _Node(axes, out_layout, node.extent)

    def adjust(self, node: _Node, x: torch.Tensor, out: torch.Tensor):
        """Layout of ``out``, a tensor with the spatial dimensions of ``x`` and other sizes
        elsewhere (channel slices, chunks); None if a spatial dimension changed."""
        if node.layout is None or out.dim() != x.dim():
            return None
        dims = []
        for d, (a, b) in enumerate(zip(x.shape, out.shape)):
            if a == b:
                dims.append(node.layout[d])
            elif L.spatial(node.layout[d]):
                return None
            else:
                dims.append(L.channels(b))
        return tuple(dims)

    def combine(self, pieces: list[_Node], lay, name, record: bool = True) -> _Node:
        """The union of the fields that an attention or matrix product reads."""
        glob = next((p for p in pieces if p.is_global), None)
        if glob is not None:
            node = replace(glob, layout=lay)
        else:
            axes = tuple(merge([p.axes[i] for p in pieces]) for i in range(len(pieces[0].axes)))
            node = _Node(axes, lay, pieces[0].extent)
        if record and any(p.axes != pieces[-1].axes for p in pieces) or \
                (record and pieces[0].is_global and not pieces[-1].is_global):
            kind = "global" if node.is_global else "window"
            self.rows.append(LayerRF(self.where, kind, None, None, None, None, node.axes))
        return node

    # -- which rule ----------------------------------------------------------------------------

    def rule(self, func, args, kwargs, tracked, outs):
        name = fname(func)
        out = outs[0]
        spatial = [(t, n) for t, n in tracked if not n.head]
        if not spatial:
            head = tracked[0][1]
            src = head.source
            n = len(head.axes)
            if src is not None and out.dim() == src.dim() and \
                    tuple(out.shape[-n:]) == tuple(src.shape[-n:]) and \
                    math.prod(out.shape[-n:]) > 1:
                # a pooled vector broadcast back over the map it came from
                spatial_node = self.get(src)
                axes = self.make_global(spatial_node, head.where)
                self.rows.append(LayerRF(self.where, "global", None, None, None, None, axes))
                return _Node(axes, L.plain(out.shape, n), spatial_node.extent,
                             global_by=head.where)
            return head
        x, node = spatial[0]
        op = Op(func, name, args, kwargs, tracked, spatial, x, node, outs)
        try:
            return self.spatial_rule(op)
        except ValueError:
            if node.is_global and len(spatial) == 1:
                return replace(node, layout=None)      # a global field needs no layout
            raise

    def spatial_rule(self, op: Op):
        """The rule of ``op.func`` from :data:`.rules.RULES`: a merge where several inputs are
        followed (unless the rule takes several), the default rule where there is none, where a
        ``local`` rule meets a global field or a ``needs_layout`` rule a tensor whose layout is
        unknown, or where the rule declines (returns ``DEFAULT``)."""
        rule = RULES.lookup(op.func)
        if len(op.tracked) > 1 and not (rule is not None and rule.several_inputs):
            return merge_rule(self, op)
        if rule is not None and not (rule.local and op.node.is_global) and \
                not (rule.needs_layout and op.node.layout is None):
            result = rule(self, op)
            if result is not DEFAULT:
                return result
        return default_rule(self, op)


def _copy(model: nn.Module, keep=None, dtype: torch.dtype | None = None) -> tuple[nn.Module, dict]:
    """A copy of ``model`` that shares nothing with it (:func:`cnnbook_lib.tracing.copy_model`).
    Parameters and buffers whose ids are in ``keep`` are copied to the CPU (floating ones as
    ``dtype``), the others live on the meta device (no data); ``keep=None`` puts all on the
    meta device; other tensor attributes are copied as they are. The copy is in eval mode and
    needs no gradients. Also returns {id of the copy's tensor: id of the original}."""
    def make(t: torch.Tensor, name: str) -> torch.Tensor:
        if keep is not None and id(t) in keep:
            return t.detach().to("cpu", dtype if dtype and t.is_floating_point() else t.dtype,
                                 copy=True)
        return on_meta(t)
    copy, back = copy_model(model, make, requires_grad=False,
                            other=lambda t: t.detach().clone())
    return copy.eval(), back


def _trace(model: nn.Module, x: torch.Tensor, n: int, linearize: bool = False,
           stop: int | None = None, impls: dict | None = None):
    """Run ``model(x)`` under the tracer (``n`` spatial axes, the last dimensions of ``x``);
    return the RF, the last spatial tensor, its node and the tracer.

    ``stop``: the index of the operation to stop before (the global operation found by a first
    trace), which saves running the network's head."""
    input_hw = tuple(x.shape[-n:])
    tracer = _Tracer(input_hw, linearize, stop, impls)
    tracer.modules = ModuleStack(model)
    tracer.put(x, _Node((Axis(),) * n, L.plain(x.shape, n), input_hw))
    notes = []
    try:
        with tracer.modules, tracer:
            try:
                out = model(x)
            except (_Stop, _HeadFailed):
                raise
            except Exception as error:
                if getattr(error, "from_tracer", False):
                    raise
                raise ValueError(f"the model does not run on an input of shape {tuple(x.shape)} "
                                 f"(input_size): {type(error).__name__}: "
                                 f"{str(error).splitlines()[0] if str(error) else ''}") from error
        node = next((nd for t in tree_leaves(out) if isinstance(t, torch.Tensor)
                     and (nd := tracer.get(t)) is not None), None)
        if node is None:
            raise ValueError("the model's output does not depend on its input")
        feature = tracer.plain_source(node.source) if node.head else \
            next(t for t in tree_leaves(out) if isinstance(t, torch.Tensor) and tracer.get(t))
    except _Stop as stopped:
        spatial = tracer.get(stopped.source)
        node = _Node(spatial.axes, None, spatial.extent, True, stopped.source, stopped.where,
                     stop)
        feature = tracer.plain_source(stopped.source)
    except _HeadFailed as failed:
        node = failed.node
        feature = tracer.plain_source(node.source)
        notes.append(f"the head after {node.where} failed at input size {tuple(x.shape)} "
                     f"({failed}); the field is that of the tensor before it")
    feature_node = tracer.get(feature) if node.head else node
    rf = RF(node.axes, tuple(tracer.rows), node.where if node.head else None,
            tuple(tracer.notes + notes), input_hw, tuple(feature_node.extent),
            node.global_by)
    tracer.final = node
    tracer.feature_node = feature_node
    return rf, feature, tracer
