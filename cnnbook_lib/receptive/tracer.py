"""The tracer: a ``TorchFunctionMode`` that follows the receptive field of every tensor derived
from the input, and where its positions are, through any graph (branches, layouts, attention)."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from . import layout as L
from .axis import Axis, Gather, merge
from .ops import (ATTENTION, CONSTANT, GEOMETRY, GLOBAL, LINEAR, MATMUL, MIXING, REDUCE,
                  UNSUPPORTED, _CATS, _EXPANDS, _GETITEM, _PERMUTES, _RESHAPES, _bind, _permutation)
from .results import LayerRF, RF

# ---------------------------------------------------------------------------------------------
# The tracer
# ---------------------------------------------------------------------------------------------


@dataclass
class _Node:
    """What the tracer knows about a tensor derived from the input.

    A spatial tensor has a field per axis (``axes``), a ``layout`` (where its positions are; None
    when unknown, which only a global field can afford) and ``extent`` (units per axis).
    ``global_by`` names the operation after which every unit sees the whole input. A *head*
    tensor (``head=True``) has no position left (a pooled vector); ``source`` is the last spatial
    tensor before it, ``where`` the operation that pooled it, ``index`` that operation's number."""

    axes: tuple[Axis, ...]
    layout: tuple | None
    extent: tuple[int, ...]
    head: bool = False
    source: torch.Tensor | None = None
    where: str | None = None
    index: int | None = None
    global_by: str | None = None
    anchor: torch.Tensor | None = None   # the last channels-first tensor with this field
    origin: int = 0                      # shared by the copies that only move positions

    def __post_init__(self) -> None:
        if not self.origin:
            self.origin = id(self)

    @property
    def is_global(self) -> bool:
        return self.global_by is not None


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


def _fname(func) -> str:
    return getattr(func, "__name__", str(func)).strip("_")


class _Tracer(TorchFunctionMode):
    """Follows the receptive field of every tensor derived from the input."""

    def __init__(self, input_hw: tuple[int, ...], linearize: bool = False,
                 stop: int | None = None, impls: dict | None = None):
        super().__init__()
        self.input_hw = input_hw
        self.linearize = linearize
        self.impls = impls or {}
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
        if not node.head and L.is_plain(node.layout, len(node.axes)) and t.dim() > len(node.axes):
            node.anchor = t
        self.nodes[id(t)] = (t, node)

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
        return self.stack[-1] if self.stack else "<model>"

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        leaves = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        tracked = [(t, n) for t in leaves if (n := self.get(t)) is not None]
        for t in leaves:
            self.uses.setdefault(id(t), self.count)
        if tracked:
            self.count += 1
            if self.count - 1 == self.stop:
                source = next((t for t, n in tracked if not n.head), tracked[0][0])
                raise _Stop(source, f"{self.where} ({_fname(func)})")
        impl = self.impls.get(func) if self.linearize and tracked else None
        try:
            out = impl(args, kwargs) if impl else func(*args, **kwargs)
        except Exception as error:
            if tracked and all(n.head for _, n in tracked):
                raise _HeadFailed(tracked[0][1], error) from error
            if tracked and func in LINEAR | GLOBAL:           # a fixed-size head layer
                x, nd = next((t, n) for t, n in tracked if not n.head)
                if not nd.is_global:
                    head = _Node(nd.axes, None, nd.extent, True, x, f"{self.where} ({_fname(func)})",
                                 self.count - 1)
                    raise _HeadFailed(head, error) from error
            raise
        if not tracked or func in CONSTANT:
            return out
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        if outs:
            try:
                nodes = self.rule(func, args, kwargs, tracked, outs)
            except ValueError as error:
                error.from_tracer = True
                raise
            for i, t in enumerate(outs):
                self.put(t, nodes[i] if isinstance(nodes, list) else nodes)
        return out

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

    # -- the rules ------------------------------------------------------------------------

    def rule(self, func, args, kwargs, tracked, outs):
        name = _fname(func)
        out = outs[0]
        spatial = [(t, n) for t, n in tracked if not n.head]
        if not spatial:
            head = tracked[0][1]
            src = head.source
            n = len(head.axes)
            if src is not None and out.dim() == src.dim() and \
                    tuple(out.shape[-n:]) == tuple(src.shape[-n:]) and math.prod(out.shape[-n:]) > 1:
                # a pooled vector broadcast back over the map it came from
                spatial_node = self.get(src)
                axes = self.make_global(spatial_node, head.where)
                self.rows.append(LayerRF(self.where, "global", None, None, None, None, axes))
                return _Node(axes, L.plain(out.shape, n), spatial_node.extent,
                             global_by=head.where)
            return head
        x, node = spatial[0]
        try:
            return self.spatial_rule(func, name, args, kwargs, tracked, spatial, x, node, outs)
        except ValueError:
            if node.is_global and len(spatial) == 1:
                return replace(node, layout=None)      # a global field needs no layout
            raise

    def spatial_rule(self, func, name, args, kwargs, tracked, spatial, x, node, outs):
        out = outs[0]
        n = len(node.axes)
        heads = [nd for _, nd in tracked if nd.head]
        if len(tracked) > 1 and func not in MATMUL | ATTENTION.keys() | LINEAR:
            return self.merge_rule(func, name, args, kwargs, tracked, spatial, heads, outs)
        if func in (torch.roll, torch.Tensor.roll) and not node.is_global:
            return self.roll_rule(args, kwargs, x, node)
        if func in UNSUPPORTED and not node.is_global:
            raise ValueError(f"{self.where}: the receptive field through {name} is not modelled")
        if func in GEOMETRY:
            if not L.is_plain(node.layout, n) or x.dim() < n + 1:
                if func in (F.pad, torch._C._nn.pad):
                    return self.pad_rule(args, kwargs, x, node, out)
                raise ValueError(f"{self.where}: {name} on a tensor whose spatial axes are not "
                                 f"its last {n} dimensions")
            op, k, s, d, p, steps = GEOMETRY[func](args, kwargs, x, out)
            if len(steps) != n:
                raise ValueError(f"{self.where}: a {len(steps)}-D {name} on a {n}-D feature map "
                                 f"is not modelled")
            axes = node.axes if node.is_global else tuple(st(a) for st, a in zip(steps, node.axes))
            self.rows.append(LayerRF(self.where, op, k, s, d, p, axes))
            return _Node(axes, L.plain(out.shape, n), tuple(out.shape[-n:]),
                         global_by=node.global_by)
        if func in GLOBAL:
            if node.is_global:
                return replace(node, layout=None)
            return _Node(node.axes, None, node.extent, True, x, f"{self.where} ({name})",
                         self.count - 1)
        if func in LINEAR and not node.is_global and node.layout is not None and \
                not L.axes_in(node.layout) and x.dim() < n + 2:
            # a linear layer on a flattened map of one unit: a classifier head
            return _Node(node.axes, None, node.extent, True, x, f"{self.where} ({name})",
                         self.count - 1)
        if func in LINEAR:
            if node.layout is None:
                return self.mix(node, x, [x.dim() - 1], name, None)
            last = node.layout[-1]
            others = [atom for dim in node.layout[:-1] for atom in dim if atom[0] is None]
            if L.spatial(last) and len(L.spatial(last)) == len(last) and others:
                # token mixing (MLP-Mixer): the last dimension holds positions only, the
                # channels live elsewhere; the mixed positions stay positions
                new = last if out.shape[-1] == x.shape[-1] else L.opaque(last, out.shape[-1])
            else:
                new = L.channels(out.shape[-1])
            return self.mix(node, x, [x.dim() - 1], name, node.layout[:-1] + (new,))
        if func in MATMUL:
            return self.matmul_rule(func, name, args, kwargs, tracked, out)
        if func in ATTENTION:
            return self.attention_rule(func, name, args, kwargs, tracked, outs)
        if func in MIXING:
            return self.mix(node, x, MIXING[func](args, kwargs, x), name, node.layout)
        if func in REDUCE and not (len(args) > 1 and isinstance(args[1], torch.Tensor)):
            return self.reduce_rule(func, name, args, kwargs, x, node, outs)
        if node.layout is None:
            if out.shape == x.shape:
                return node
            raise ValueError(f"{self.where}: cannot follow the receptive field through {name} "
                             f"(positions in an unknown layout)")
        if func in _RESHAPES:
            return [replace(node, layout=L.regroup(node.layout, o.shape)) for o in outs]
        if func in _PERMUTES:
            return replace(node, layout=L.permute(node.layout, _permutation(func, args, kwargs,
                                                                             x.dim())))
        if func in _EXPANDS:
            lead = out.dim() - x.dim()
            dims = [L.channels(s) for s in out.shape[:lead]]
            for d, (a, b) in enumerate(zip(x.shape, out.shape[lead:])):
                dims.append(node.layout[d] if a == b else L.channels(b))
            return replace(node, layout=tuple(dims))
        if func in _CATS:
            return self.cat_rule(args, kwargs, x, node, out)
        if func in _GETITEM:
            return self.getitem_rule(args, x, node, out)
        if func in (torch.unbind, torch.Tensor.unbind, torch.select, torch.Tensor.select):
            dim = _bind(("input", "dim"), args, kwargs).get("dim", 0) % x.dim()
            if L.spatial(node.layout[dim]):
                raise ValueError(f"{self.where}: {name} picks positions along a spatial dimension")
            return replace(node, layout=node.layout[:dim] + node.layout[dim + 1:])
        if out.shape == x.shape and len(outs) == 1:
            return node                                   # elementwise
        layouts = [self.adjust(node, x, o) for o in outs]
        if all(lay is not None for lay in layouts):       # channel slices, chunks, splits
            return [replace(node, layout=lay) for lay in layouts]
        if out.dim() < x.dim():                            # an unknown reduction: see all
            return self.mix(node, x, range(x.dim()), name, ())
        raise ValueError(f"{self.where}: cannot follow the receptive field through {name} "
                         f"(shape {tuple(x.shape)} -> {tuple(out.shape)})")

    def reduce_rule(self, func, name, args, kwargs, x, node, outs):
        dims = REDUCE[func](args, kwargs, x)
        keep = bool(kwargs.get("keepdim", args[2] if len(args) > 2 and
                               isinstance(args[2], bool) else False))
        out = outs[0]
        if node.layout is None:
            lay = None
        elif out.dim() == 0:
            lay = ()
        elif keep:
            lay = tuple(() if d in dims else dim for d, dim in enumerate(node.layout))
        else:
            lay = tuple(dim for d, dim in enumerate(node.layout) if d not in dims)
        return self.mix(node, x, dims, name, lay)

    def pad_rule(self, args, kwargs, x, node, out):
        """F.pad on a layout other than channels-first (e.g. channels-last windows)."""
        pad = list(_bind(("input", "pad"), args, kwargs)["pad"])
        axes, dims = list(node.axes), list(node.layout)
        extent = list(node.extent)
        for i in range(len(pad) // 2):
            d = x.dim() - 1 - i
            left, right = pad[2 * i], pad[2 * i + 1]
            if not (left or right):
                continue
            atoms = L.spatial(dims[d])
            if not atoms:
                dims[d] = L.channels(out.shape[d])
                continue
            if len(atoms) != 1 or atoms[0][2] != 1 or len(dims[d]) != 1:
                raise ValueError(f"{self.where}: pad of a dimension that is not one spatial axis")
            a = atoms[0][0]
            axes[a] = axes[a].gather(Gather.conv(1, 1, 1, left))
            extent[a] = out.shape[d]
            dims[d] = ((a, out.shape[d], 1),)
        axes = tuple(axes)
        if axes != node.axes:
            self.rows.append(LayerRF(self.where, "pad", None, None, None, None, axes))
        return _Node(axes, tuple(dims), tuple(extent), global_by=node.global_by)

    def roll_rule(self, args, kwargs, x, node):
        """A cyclic shift (Swin's shifted windows): followed as a plain shift, exact for the
        units whose source does not wrap around; the others also see the opposite border."""
        a = _bind(("input", "shifts", "dims"), args, kwargs)
        shifts, dims = a["shifts"], a.get("dims")
        if dims is None:
            raise ValueError(f"{self.where}: torch.roll of the flattened tensor is not modelled")
        shifts = [shifts] if isinstance(shifts, int) else list(shifts)
        dims = [dims] if isinstance(dims, int) else list(dims)
        axes = list(node.axes)
        for shift, d in zip(shifts, dims):
            dim = node.layout[d % x.dim()]
            atoms = L.spatial(dim)
            if not atoms or shift % x.shape[d] == 0:
                continue
            if len(dim) != 1 or atoms[0][2] != 1 or not isinstance(atoms[0][0], int):
                raise ValueError(f"{self.where}: torch.roll of a dimension that holds positions "
                                 f"of several axes is not modelled")
            ax = atoms[0][0]
            axes[ax] = axes[ax].gather(Gather.conv(1, 1, 1, shift))
        self.note(f"{self.where}: torch.roll is followed as a shift; units within the shift of "
                  f"the border also see the opposite border (cyclic wrap-around)")
        axes = tuple(axes)
        self.rows.append(LayerRF(self.where, "roll", None, None, None, None, axes))
        return replace(node, axes=axes, layout=node.layout)

    def getitem_rule(self, args, x, node, out):
        index = args[1] if isinstance(args[1], tuple) else (args[1],)
        if any(isinstance(i, (torch.Tensor, list)) for i in index):
            if out.shape == x.shape:
                return node
            layout = self.adjust(node, x, out)
            if layout is None:
                raise ValueError(f"{self.where}: advanced indexing of spatial positions is not "
                                 f"modelled")
            return replace(node, layout=layout)
        n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
        expanded = []
        for i in index:
            if i is Ellipsis:
                expanded += [slice(None)] * (x.dim() - n_real)
            else:
                expanded.append(i)
        expanded += [slice(None)] * (x.dim() - sum(1 for i in expanded if i is not None))
        axes, extent, dims = list(node.axes), list(node.extent), []
        d = 0
        for i in expanded:
            if i is None:
                dims.append(())
                continue
            dim, size = node.layout[d], x.shape[d]
            atoms = L.spatial(dim)
            if isinstance(i, int):
                start, stop, step, keep = i % size, i % size + 1, 1, False
            else:
                start, stop, step = i.indices(size)
                keep = True
            length = len(range(start, stop, step))
            if (start, step, length) == (0, 1, size):
                dims.append(dim)
            elif not atoms:
                if keep:
                    dims.append(L.channels(length))
            else:
                if len(dim) != 1 or atoms[0][2] != 1 or not isinstance(atoms[0][0], int):
                    raise ValueError(f"{self.where}: slicing a dimension that holds positions "
                                     f"of several axes is not modelled")
                a = atoms[0][0]
                axes[a] = axes[a].gather(Gather.conv(1, step, 1, -start))
                extent[a] = length
                if keep:
                    dims.append(((a, length, 1),) if length > 1 else ())
                self.rows.append(LayerRF(self.where, "slice", (1,) * len(axes), None, None,
                                         None, tuple(axes)))
            d += 1
        return _Node(tuple(axes), tuple(dims), tuple(extent), global_by=node.global_by)

    def cat_rule(self, args, kwargs, x, node, out):
        """Concatenation with tensors that do not depend on the input (a class token)."""
        dim = _bind(("tensors", "dim"), args, kwargs).get("dim", 0) % out.dim()
        lay = list(node.layout)
        lay[dim] = L.opaque(lay[dim], out.shape[dim]) if L.spatial(lay[dim]) else \
            L.channels(out.shape[dim])
        if L.spatial(node.layout[dim]):
            self.note(f"{self.where}: positions concatenated with other entries (e.g. a class "
                      f"token) are followed as an unordered set")
        return replace(node, layout=tuple(lay))

    def merge_rule(self, func, name, args, kwargs, tracked, spatial, heads, outs):
        out = outs[0]
        nodes = [nd for _, nd in spatial]
        if heads:
            x, node = spatial[0]
            where = heads[0].where
            self.note(f"{self.where}: {name} with a pooled input ({where}, e.g. a "
                      f"squeeze-excitation gate) makes every unit see the whole input")
            axes = self.make_global(node, where)
            self.rows.append(LayerRF(self.where, name, None, None, None, None, axes))
            return _Node(axes, node.layout if tuple(x.shape) == tuple(out.shape) else None,
                         node.extent, global_by=where)
        glob = next((nd for nd in nodes if nd.is_global), None)
        base = next((nd for t, nd in spatial if tuple(t.shape) == tuple(out.shape)), nodes[0])
        if func in _CATS:
            dim = _bind(("tensors", "dim"), args, kwargs).get("dim", 0) % out.dim()
            lay = None if base.layout is None else list(base.layout)
            if lay is not None:
                if any(nd.layout is not None and L.spatial(nd.layout[dim]) for nd in nodes):
                    lay[dim] = L.opaque(lay[dim], out.shape[dim])
                else:
                    lay[dim] = L.channels(out.shape[dim])
                lay = tuple(lay)
        else:
            lay = base.layout
        if glob is not None:
            # the union with a global field: every unit sees what any unit of any branch sees
            axes = []
            for a in range(len(glob.axes)):
                parts = [nd.axes[a] if nd.is_global else
                         nd.axes[a].clipped_to(self.input_hw[a], nd.extent[a]) for nd in nodes]
                lo = min(p.span(0)[0] for p in parts)
                hi = max(p.span(0)[1] for p in parts)
                axes.append(Axis(hi - lo + 1, 0, Fraction(lo + hi, 2)))
            return _Node(tuple(axes), lay, base.extent, global_by=glob.global_by)
        spatial_layouts = {tuple(tuple(L.spatial(dim)) for dim in nd.layout[-len(nd.layout):])
                           for nd in nodes if nd.layout is not None}
        extents = {nd.extent for nd in nodes}
        if len(extents) > 1:
            raise ValueError(f"{self.where}: {name} merges spatial sizes {sorted(extents)}")
        if len(spatial_layouts) > 1 and func not in _CATS:
            ranks = {len(s) for s in spatial_layouts}
            if len(ranks) == 1:
                raise ValueError(f"{self.where}: {name} merges tensors whose positions are laid "
                                 f"out differently")
        distinct = list({nd.origin: nd for nd in nodes}.values())
        if len(distinct) == 1:
            return replace(distinct[0], layout=lay)
        axes = tuple(merge([nd.axes[i] for nd in distinct]) for i in range(len(nodes[0].axes)))
        self.rows.append(LayerRF(self.where, name, None, None, None, None, axes))
        return _Node(axes, lay, base.extent)

    def matmul_rule(self, func, name, args, kwargs, tracked, out):
        if func in (torch.baddbmm, torch.addmm):
            args = args[1:]
        a, b = args[0], args[1]
        if func is torch.Tensor.__rmatmul__:
            a, b = b, a
        na, nb = self.get(a), self.get(b)
        if (na is not None and na.head) or (nb is not None and nb.head):
            raise ValueError(f"{self.where}: {name} of a pooled vector with a map is not modelled")
        if a.dim() < 2 or b.dim() < 2:
            raise ValueError(f"{self.where}: {name} with a vector operand is not modelled")
        pieces = []
        if na is not None:
            pieces.append(self.mix(na, a, [a.dim() - 1], name, na.layout, record=False))
        if nb is not None:
            # W @ x mixes the rows of x; between two token tensors (q @ k^T) the result is
            # indexed by the positions of both, so the columns of b are mixed too
            mixed = [b.dim() - 2, b.dim() - 1] if na is not None else [b.dim() - 2]
            pieces.append(self.mix(nb, b, mixed, name, nb.layout, record=False))
        lead = out.dim() - 2
        src = na if na is not None else nb
        if src.layout is None or any(p.layout is None for p in pieces):
            lay = None
        else:
            batch = (na if na is not None else nb).layout
            dims = [batch[len(batch) - 2 - lead + i] if len(batch) - 2 - lead + i >= 0
                    else L.channels(out.shape[i]) for i in range(lead)]
            dims.append(na.layout[-2] if na is not None else L.channels(out.shape[-2]))
            dims.append(L.channels(out.shape[-1]) if nb is not None else
                        L.channels(out.shape[-1]))
            lay = tuple(dims)
            if na is None and nb is not None:
                # W @ x: the columns of x keep their positions
                lay = lay[:-1] + (nb.layout[-1],)
        pieces = [p for p in pieces if not p.head]
        if not pieces:
            src_x = a if na is not None else b
            return _Node(src.axes, None, src.extent, True, src_x, f"{self.where} ({name})",
                         self.count - 1)
        return self.combine(pieces, lay, name)

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

    def attention_rule(self, func, name, args, kwargs, tracked, outs):
        seq = ATTENTION[func]
        if func is torch._transformer_encoder_layer_fwd:
            src = _bind(("src",), args, kwargs)["src"]
            a = dict(query=src, key=src, value=src)
        else:
            a = _bind(("query", "key", "value"), args, kwargs)
        if kwargs.get("is_causal"):
            self.note(f"{self.where}: causal attention is followed as if every position "
                      f"attended to every other")
        pieces, qnode = [], self.get(a["query"])
        for role in ("key", "value"):
            t = a[role]
            nd = self.get(t)
            if nd is not None and not nd.head:
                pieces.append(self.mix(nd, t, [seq % t.dim()], name, nd.layout, record=False))
        if qnode is not None and not qnode.head:
            pieces.append(qnode)
        if not pieces:
            raise ValueError(f"{self.where}: {name} of pooled vectors is not modelled")
        q_lay = qnode.layout if qnode is not None and not qnode.head else None
        nodes = []
        for o in outs:
            lay = q_lay[:-1] + (L.channels(o.shape[-1]),) if q_lay is not None and \
                o.shape[:-1] == a["query"].shape[:-1] else None
            nodes.append(self.combine(pieces, lay, name, record=not nodes))
        return nodes


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


def _trace(model: nn.Module, x: torch.Tensor, n: int, linearize: bool = False,
           stop: int | None = None, impls: dict | None = None):
    """Run ``model(x)`` under the tracer (``n`` spatial axes, the last dimensions of ``x``);
    return the RF, the last spatial tensor, its node and the tracer.

    ``stop``: the index of the operation to stop before (the global operation found by a first
    trace), which saves running the network's head."""
    input_hw = tuple(x.shape[-n:])
    tracer = _Tracer(input_hw, linearize, stop, impls)

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
    tracer.put(x, _Node((Axis(),) * n, L.plain(x.shape, n), input_hw))
    notes = []
    try:
        with tracer:
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
    finally:
        for h in handles:
            h.remove()
    feature_node = tracer.get(feature) if node.head else node
    rf = RF(node.axes, tuple(tracer.rows), node.where if node.head else None,
            tuple(tracer.notes + notes), input_hw, tuple(feature_node.extent),
            node.global_by)
    tracer.final = node
    tracer.feature_node = feature_node
    return rf, feature, tracer
