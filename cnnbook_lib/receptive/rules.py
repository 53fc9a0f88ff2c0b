"""What each operation does to a receptive field: the registry :data:`RULES`, one small rule
per group of operations, over the tracer of :mod:`.tracer`.

A rule is ``fn(tracer, op) -> node`` (or one node per output): ``op`` is the
:class:`~.tracer.Op` (the function, its arguments, its followed inputs ``tracked``, the first
with positions ``x`` and its ``node``, the outputs ``outs``); the tracer gives the module in
progress (``tracer.where``), the rows and notes of the result and the helpers that mix and merge
fields. A rule may return ``DEFAULT`` to follow the op as one without a rule. Flags say when the
tracer calls a rule:

* ``several_inputs``: the rule takes several inputs derived from the image (a matrix product,
  attention, a linear layer); for any other rule several such inputs make the op a merge
  (:func:`merge_rule`: a residual ``+``, an Inception ``cat``);
* ``local``: the rule is about positions a global field no longer has (a roll, an op whose
  field is not modelled): skipped once the field is global;
* ``needs_layout``: the rule moves positions, so needs to know where they are (reshapes,
  permutes, slicing); without a layout the op must keep the tensor's shape;
* ``head``: a layer of a classifier head (global pooling, a linear layer): if it fails at the
  traced input size, the field reported is that of the tensor before it.

An op with no rule (element-wise ops, channel slices and chunks) is followed by
:func:`default_rule`. Adding an op is adding its function to a table of :mod:`.ops` that has a
rule, or one function here: ``@RULES.register(torch.some_op)`` above ``def _some_op(tr, op)``.
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import torch
import torch.nn.functional as F

from ..tracing import Registry
from . import layout as L
from .axis import Axis, Gather, merge
from .ops import (ATTENTION, GEOMETRY, GLOBAL, LINEAR, MATMUL, MIXING, REDUCE, UNSUPPORTED,
                  _CATS, _EXPANDS, _GETITEM, _PERMUTES, _RESHAPES, _bind, _permutation)
from .results import LayerRF
from .node import Op, _Node

#: function -> rule ``fn(tracer, op)``: what the function does to the field of its input
RULES = Registry("receptive.RULES", flags={"several_inputs": False, "local": False,
                                           "needs_layout": False, "head": False})
#: what a rule returns to have its op followed by :func:`default_rule`
DEFAULT = object()

# ---------------------------------------------------------------------------------------------
# Layers of the recurrence and classifier heads
# ---------------------------------------------------------------------------------------------


@RULES.register(*GEOMETRY)
def _layer(tr, op: Op):
    """A layer of the recurrence (convolution, transposed convolution, pooling, padding,
    upsampling, pixel shuffle): its geometry from :data:`.ops.GEOMETRY`, one step per axis."""
    x, node, out, n = op.x, op.node, op.out, op.n
    if not L.is_plain(node.layout, n) or x.dim() < n + 1:
        if op.func in (F.pad, torch._C._nn.pad):
            return _pad_other_layout(tr, op)
        raise ValueError(f"{tr.where}: {op.name} on a tensor whose spatial axes are not "
                         f"its last {n} dimensions")
    kind, k, s, d, p, steps = GEOMETRY[op.func](op.args, op.kwargs, x, out)
    if len(steps) != n:
        raise ValueError(f"{tr.where}: a {len(steps)}-D {op.name} on a {n}-D feature map "
                         f"is not modelled")
    axes = node.axes if node.is_global else tuple(st(a) for st, a in zip(steps, node.axes))
    tr.rows.append(LayerRF(tr.where, kind, k, s, d, p, axes))
    return _Node(axes, L.plain(out.shape, n), tuple(out.shape[-n:]), global_by=node.global_by)


def _pad_other_layout(tr, op: Op):
    """F.pad on a layout other than channels-first (e.g. channels-last windows)."""
    args, kwargs, x, node, out = op.args, op.kwargs, op.x, op.node, op.out
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
            raise ValueError(f"{tr.where}: pad of a dimension that is not one spatial axis")
        a = atoms[0][0]
        axes[a] = axes[a].gather(Gather.conv(1, 1, 1, left))
        extent[a] = out.shape[d]
        dims[d] = ((a, out.shape[d], 1),)
    axes = tuple(axes)
    if axes != node.axes:
        tr.rows.append(LayerRF(tr.where, "pad", None, None, None, None, axes))
    return _Node(axes, tuple(dims), tuple(extent), global_by=node.global_by)


@RULES.register(*GLOBAL, head=True)
def _global_pool(tr, op: Op):
    """Adaptive (global) pooling: the start of a classifier head; the field is that of its
    input (``RF.stopped_at`` names it)."""
    node = op.node
    if node.is_global:
        return replace(node, layout=None)
    return _Node(node.axes, None, node.extent, True, op.x, f"{tr.where} ({op.name})",
                 tr.count - 1)


@RULES.register(*LINEAR, several_inputs=True, head=True)
def _linear(tr, op: Op):
    """A linear layer mixes its last dimension: the channels of a channels-last map (no
    position mixed), the positions of a token-mixing MLP, or a flattened map of one unit (a
    classifier head)."""
    x, node, out, n, name = op.x, op.node, op.out, op.n, op.name
    if not node.is_global and node.layout is not None and not L.axes_in(node.layout) and \
            x.dim() < n + 2:
        # a linear layer on a flattened map of one unit: a classifier head
        return _Node(node.axes, None, node.extent, True, x, f"{tr.where} ({name})",
                     tr.count - 1)
    if node.layout is None:
        return tr.mix(node, x, [x.dim() - 1], name, None)
    last = node.layout[-1]
    others = [atom for dim in node.layout[:-1] for atom in dim if atom[0] is None]
    if L.spatial(last) and len(L.spatial(last)) == len(last) and others:
        # token mixing (MLP-Mixer): the last dimension holds positions only, the channels
        # live elsewhere; the mixed positions stay positions
        new = last if out.shape[-1] == x.shape[-1] else L.opaque(last, out.shape[-1])
    else:
        new = L.channels(out.shape[-1])
    return tr.mix(node, x, [x.dim() - 1], name, node.layout[:-1] + (new,))


@RULES.register(*UNSUPPORTED, local=True)
def _unsupported(tr, op: Op):
    """Operations whose field is not modelled (gathers, flips, sorts, unfold): refused."""
    raise ValueError(f"{tr.where}: the receptive field through {op.name} is not modelled")


# ---------------------------------------------------------------------------------------------
# Operations that mix positions
# ---------------------------------------------------------------------------------------------


@RULES.register(*MIXING)
def _mixing(tr, op: Op):
    """Softmax and normalizations keep the shape and mix the positions along the dimensions
    that :data:`.ops.MIXING` returns (none for a layer norm over channels)."""
    return tr.mix(op.node, op.x, MIXING[op.func](op.args, op.kwargs, op.x), op.name,
                  op.node.layout)


@RULES.register(*REDUCE)
def _reduce(tr, op: Op):
    """A reduction over some dimensions (all where no ``dim`` is given) mixes the positions
    along them; with ``keepdim`` the reduced dimensions stay, of size 1."""
    func, name, args, kwargs, x, node, outs = (op.func, op.name, op.args, op.kwargs, op.x,
                                               op.node, op.outs)
    if len(args) > 1 and isinstance(args[1], torch.Tensor):
        return DEFAULT                                   # torch.max(a, b): element-wise
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
    return tr.mix(node, x, dims, name, lay)


@RULES.register(*MATMUL, several_inputs=True)
def _matmul(tr, op: Op):
    """A matrix product mixes the positions along the contracted dimension of each operand that
    derives from the input; between two such operands (``q @ k^T``) the result is indexed by
    the positions of both."""
    func, name, args, out = op.func, op.name, op.args, op.out
    if func in (torch.baddbmm, torch.addmm):
        args = args[1:]
    a, b = args[0], args[1]
    if func is torch.Tensor.__rmatmul__:
        a, b = b, a
    na, nb = tr.get(a), tr.get(b)
    if (na is not None and na.head) or (nb is not None and nb.head):
        raise ValueError(f"{tr.where}: {name} of a pooled vector with a map is not modelled")
    if a.dim() < 2 or b.dim() < 2:
        raise ValueError(f"{tr.where}: {name} with a vector operand is not modelled")
    pieces = []
    if na is not None:
        pieces.append(tr.mix(na, a, [a.dim() - 1], name, na.layout, record=False))
    if nb is not None:
        # W @ x mixes the rows of x; between two token tensors (q @ k^T) the result is
        # indexed by the positions of both, so the columns of b are mixed too
        mixed = [b.dim() - 2, b.dim() - 1] if na is not None else [b.dim() - 2]
        pieces.append(tr.mix(nb, b, mixed, name, nb.layout, record=False))
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
        return _Node(src.axes, None, src.extent, True, src_x, f"{tr.where} ({name})",
                     tr.count - 1)
    return tr.combine(pieces, lay, name)


@RULES.register(*ATTENTION, several_inputs=True)
def _attention(tr, op: Op):
    """Attention: every query position sees what the keys and values it attends to see (all
    positions of their sequence dimension)."""
    func, name, args, kwargs, outs = op.func, op.name, op.args, op.kwargs, op.outs
    seq = ATTENTION[func]
    if func is torch._transformer_encoder_layer_fwd:
        src = _bind(("src",), args, kwargs)["src"]
        a = dict(query=src, key=src, value=src)
    else:
        a = _bind(("query", "key", "value"), args, kwargs)
    if kwargs.get("is_causal"):
        tr.note(f"{tr.where}: causal attention is followed as if every position "
                f"attended to every other")
    pieces, qnode = [], tr.get(a["query"])
    for role in ("key", "value"):
        t = a[role]
        nd = tr.get(t)
        if nd is not None and not nd.head:
            pieces.append(tr.mix(nd, t, [seq % t.dim()], name, nd.layout, record=False))
    if qnode is not None and not qnode.head:
        pieces.append(qnode)
    if not pieces:
        raise ValueError(f"{tr.where}: {name} of pooled vectors is not modelled")
    q_lay = qnode.layout if qnode is not None and not qnode.head else None
    nodes = []
    for o in outs:
        lay = q_lay[:-1] + (L.channels(o.shape[-1]),) if q_lay is not None and \
            o.shape[:-1] == a["query"].shape[:-1] else None
        nodes.append(tr.combine(pieces, lay, name, record=not nodes))
    return nodes


@RULES.register(torch.roll, torch.Tensor.roll, local=True)
def _roll(tr, op: Op):
    """A cyclic shift (Swin's shifted windows): followed as a plain shift, exact for the
    units whose source does not wrap around; the others also see the opposite border."""
    args, kwargs, x, node = op.args, op.kwargs, op.x, op.node
    a = _bind(("input", "shifts", "dims"), args, kwargs)
    shifts, dims = a["shifts"], a.get("dims")
    if dims is None:
        raise ValueError(f"{tr.where}: torch.roll of the flattened tensor is not modelled")
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    axes = list(node.axes)
    for shift, d in zip(shifts, dims):
        dim = node.layout[d % x.dim()]
        atoms = L.spatial(dim)
        if not atoms or shift % x.shape[d] == 0:
            continue
        if len(dim) != 1 or atoms[0][2] != 1 or not isinstance(atoms[0][0], int):
            raise ValueError(f"{tr.where}: torch.roll of a dimension that holds positions "
                             f"of several axes is not modelled")
        ax = atoms[0][0]
        axes[ax] = axes[ax].gather(Gather.conv(1, 1, 1, shift))
    tr.note(f"{tr.where}: torch.roll is followed as a shift; units within the shift of "
            f"the border also see the opposite border (cyclic wrap-around)")
    axes = tuple(axes)
    tr.rows.append(LayerRF(tr.where, "roll", None, None, None, None, axes))
    return replace(node, axes=axes, layout=node.layout)


# ---------------------------------------------------------------------------------------------
# Operations that move positions (they need the layout)
# ---------------------------------------------------------------------------------------------


@RULES.register(*_RESHAPES, needs_layout=True)
def _reshape(tr, op: Op):
    """Reshapes regroup the dimensions; the positions go where the sizes say."""
    return [replace(op.node, layout=L.regroup(op.node.layout, o.shape)) for o in op.outs]


@RULES.register(*_PERMUTES, needs_layout=True)
def _permute(tr, op: Op):
    """Permutes and transposes move the dimensions, with their positions."""
    order = _permutation(op.func, op.args, op.kwargs, op.x.dim())
    return replace(op.node, layout=L.permute(op.node.layout, order))


@RULES.register(*_EXPANDS, needs_layout=True)
def _expand(tr, op: Op):
    """Broadcasting to a larger shape: new and grown dimensions hold no positions."""
    x, node, out = op.x, op.node, op.out
    lead = out.dim() - x.dim()
    dims = [L.channels(s) for s in out.shape[:lead]]
    for d, (a, b) in enumerate(zip(x.shape, out.shape[lead:])):
        dims.append(node.layout[d] if a == b else L.channels(b))
    return replace(node, layout=tuple(dims))


@RULES.register(*_CATS, needs_layout=True)
def _cat(tr, op: Op):
    """Concatenation with tensors that do not depend on the input (a class token)."""
    args, kwargs, node, out = op.args, op.kwargs, op.node, op.out
    dim = _bind(("tensors", "dim"), args, kwargs).get("dim", 0) % out.dim()
    lay = list(node.layout)
    lay[dim] = L.opaque(lay[dim], out.shape[dim]) if L.spatial(lay[dim]) else \
        L.channels(out.shape[dim])
    if L.spatial(node.layout[dim]):
        tr.note(f"{tr.where}: positions concatenated with other entries (e.g. a class "
                f"token) are followed as an unordered set")
    return replace(node, layout=tuple(lay))


@RULES.register(*_GETITEM, needs_layout=True)
def _getitem(tr, op: Op):
    """Indexing: slices of spatial dimensions are layers of the recurrence (kernel 1, stride the
    step, a shift by the start); integer indices and slices elsewhere pick channels."""
    args, x, node, out = op.args, op.x, op.node, op.out
    index = args[1] if isinstance(args[1], tuple) else (args[1],)
    if any(isinstance(i, (torch.Tensor, list)) for i in index):
        if out.shape == x.shape:
            return node
        layout = tr.adjust(node, x, out)
        if layout is None:
            raise ValueError(f"{tr.where}: advanced indexing of spatial positions is not "
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
                raise ValueError(f"{tr.where}: slicing a dimension that holds positions "
                                 f"of several axes is not modelled")
            a = atoms[0][0]
            axes[a] = axes[a].gather(Gather.conv(1, step, 1, -start))
            extent[a] = length
            if keep:
                dims.append(((a, length, 1),) if length > 1 else ())
            tr.rows.append(LayerRF(tr.where, "slice", (1,) * len(axes), None, None,
                                   None, tuple(axes)))
        d += 1
    return _Node(tuple(axes), tuple(dims), tuple(extent), global_by=node.global_by)


@RULES.register(torch.unbind, torch.Tensor.unbind, torch.select, torch.Tensor.select,
                needs_layout=True)
def _unbind(tr, op: Op):
    """Picking entries along a dimension of channels (refused along a spatial one)."""
    node = op.node
    dim = _bind(("input", "dim"), op.args, op.kwargs).get("dim", 0) % op.x.dim()
    if L.spatial(node.layout[dim]):
        raise ValueError(f"{tr.where}: {op.name} picks positions along a spatial dimension")
    return replace(node, layout=node.layout[:dim] + node.layout[dim + 1:])


# ---------------------------------------------------------------------------------------------
# Without a rule: element-wise ops, channel slices; several inputs: merges
# ---------------------------------------------------------------------------------------------


def default_rule(tr, op: Op):
    """An op without a rule: element-wise (same shape: the field passes), channel slices and
    chunks (the spatial dimensions kept), an unknown reduction (every position seen); anything
    else is refused. Without a layout the op must keep the shape."""
    x, node, out, outs = op.x, op.node, op.out, op.outs
    if node.layout is None:
        if out.shape == x.shape:
            return node
        raise ValueError(f"{tr.where}: cannot follow the receptive field through {op.name} "
                         f"(positions in an unknown layout)")
    if out.shape == x.shape and len(outs) == 1:
        return node                                   # elementwise
    layouts = [tr.adjust(node, x, o) for o in outs]
    if all(lay is not None for lay in layouts):       # channel slices, chunks, splits
        return [replace(node, layout=lay) for lay in layouts]
    if out.dim() < x.dim():                            # an unknown reduction: see all
        return tr.mix(node, x, range(x.dim()), op.name, ())
    raise ValueError(f"{tr.where}: cannot follow the receptive field through {op.name} "
                     f"(shape {tuple(x.shape)} -> {tuple(out.shape)})")


def merge_rule(tr, op: Op):
    """Several inputs derived from the image (a residual ``+``, an Inception ``cat``, a gate):
    each unit sees the union of what it sees on every branch; the jumps must agree."""
    func, name, args, kwargs, outs = op.func, op.name, op.args, op.kwargs, op.outs
    tracked, spatial = op.tracked, op.spatial
    heads = [nd for _, nd in tracked if nd.head]
    out = outs[0]
    nodes = [nd for _, nd in spatial]
    if heads:
        x, node = spatial[0]
        where = heads[0].where
        tr.note(f"{tr.where}: {name} with a pooled input ({where}, e.g. a "
                f"squeeze-excitation gate) makes every unit see the whole input")
        axes = tr.make_global(node, where)
        tr.rows.append(LayerRF(tr.where, name, None, None, None, None, axes))
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
                     nd.axes[a].clipped_to(tr.input_hw[a], nd.extent[a]) for nd in nodes]
            lo = min(p.span(0)[0] for p in parts)
            hi = max(p.span(0)[1] for p in parts)
            axes.append(Axis(hi - lo + 1, 0, Fraction(lo + hi, 2)))
        return _Node(tuple(axes), lay, base.extent, global_by=glob.global_by)
    spatial_layouts = {tuple(tuple(L.spatial(dim)) for dim in nd.layout[-len(nd.layout):])
                       for nd in nodes if nd.layout is not None}
    extents = {nd.extent for nd in nodes}
    if len(extents) > 1:
        raise ValueError(f"{tr.where}: {name} merges spatial sizes {sorted(extents)}")
    if len(spatial_layouts) > 1 and func not in _CATS:
        ranks = {len(s) for s in spatial_layouts}
        if len(ranks) == 1:
            raise ValueError(f"{tr.where}: {name} merges tensors whose positions are laid "
                             f"out differently")
    distinct = list({nd.origin: nd for nd in nodes}.values())
    if len(distinct) == 1:
        return replace(distinct[0], layout=lay)
    axes = tuple(merge([nd.axes[i] for nd in distinct]) for i in range(len(nodes[0].axes)))
    tr.rows.append(LayerRF(tr.where, name, None, None, None, None, axes))
    return _Node(axes, lay, base.extent)
