"""Per-layer cost of any ``torch.nn.Module``, traced on the ``meta`` device (no real compute).

``summarize(model, input_size)`` runs a copy of the model once on meta tensors (shapes only, no
data, no arithmetic) and records every ATen operator that runs, where it is dispatched (as
``torch.utils.flop_counter`` does), attributed to the innermost module that issued it
(:mod:`.trace`, on the tracing core :mod:`cnnbook_lib.tracing`). Each op is priced by one small
function of a registry (:mod:`.costs`; one rule per op, a second registration raises):

* ``macs`` counts the multiply-accumulates of every convolution, matrix product (``mm``,
  ``addmm``, ``bmm``, ``baddbmm``, and so ``linear``, ``matmul`` and ``einsum`` as lowered) and
  attention kernel, whatever issued it: an ``nn.Conv2d``, a subclass with its own ``forward``, a
  parametrized (weight-normed) layer, ``nn.MultiheadAttention`` or a functional call.
  ``flops == 2 * macs``; for convolutions and dense layers this equals
  ``torch.utils.flop_counter.FlopCounterMode`` on the same model (which also leaves bias additions
  out). torchvision's "GFLOPS" column is GMACs.
* Everything else (bias additions, batch normalization, activations, pooling, element-wise
  arithmetic, softmax, normalization) is reported apart as ``other_ops``, one entry per kind, with
  the counting rule documented in each cost function. An op without a rule is listed by name with
  its count in ``uncosted_ops``, never dropped; views, allocations and copies are free.
* ``backward_flops`` counts, for each product, one product of the forward size per operand that
  requires a gradient (the input gradient is skipped where the input needs none, e.g. the first
  layer). For grouped and depthwise convolutions, PyTorch's ``FlopCounterMode`` counts the weight
  gradient ``groups`` times too high (it multiplies by all input channels, not those of one group);
  this module does not.
* ``saved_activation_bytes`` is what ``torch.autograd.graph.saved_tensors_hooks`` sees autograd
  keep for the backward pass, each storage once, parameters and buffers left out.
* ``params`` counts every parameter once, shared (tied) parameters included.

The trace runs in the model's own dtype (or ``dtype=``). Models with data-dependent operators
that the meta device cannot run (``nonzero``, ``.item()``) can be traced with real tensors on the
CPU: ``summarize(model, size, device="cpu")``.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ._checks import (check_bool, check_device, check_shape, check_trace_dtype)
from .costs import COSTS, OP_COSTS, Cost, OpCost, register, register_op
from .memory import autocast_weight_elements, mixed_precision_memory
from .summary import LayerRow, Summary
from .table import layer_table
from .trace import Tracer, traced_copy

__all__ = ["summarize", "Summary", "LayerRow", "Cost", "OpCost", "COSTS", "OP_COSTS", "register",
           "register_op", "layer_table", "autocast_weight_elements", "mixed_precision_memory"]

#: layer types whose first call tells whether the input has a batch dimension
_CONVS = {nn.Conv1d: 1, nn.Conv2d: 2, nn.Conv3d: 3, nn.ConvTranspose1d: 1, nn.ConvTranspose2d: 2,
          nn.ConvTranspose3d: 3}


def _model_dtype(model: nn.Module) -> torch.dtype:
    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def _rows(tracer: Tracer, model: nn.Module) -> list[LayerRow]:
    """One row per call of a leaf module or of a module that issued ops itself; each parameter
    counts once, at the first row of its module or of the nearest ancestor that has a row."""
    names = {m: n or type(m).__name__ for n, m in model.named_modules()}
    parents: dict[nn.Module, nn.Module] = {}
    for m in model.modules():
        for child in m.children():
            parents.setdefault(child, m)
    kept = [c for c in tracer.calls
            if not list(c.module.children()) or c.ops or c.macs or c.other or c.saved_bytes]
    first_row: dict[nn.Module, int] = {}
    for i, c in enumerate(kept):
        first_row.setdefault(c.module, i)
    counts = [0] * len(kept)
    seen: set[int] = set()
    for m in model.modules():                     # each parameter once, tied ones included
        for p in m.parameters(recurse=False):
            if id(p) in seen:
                continue
            owner = m
            while owner is not None and owner not in first_row:
                owner = parents.get(owner)
            if owner is None:
                continue                          # never ran: counted in the total only
            seen.add(id(p))
            counts[first_row[owner]] += p.numel()
    seen_modules: set[nn.Module] = set()
    rows = []
    for i, c in enumerate(kept):
        reused = c.module in seen_modules
        seen_modules.add(c.module)
        leaf = not list(c.module.children())
        other = sum(c.other.values())
        rows.append(LayerRow(
            name=names.get(c.module, type(c.module).__name__), type=type(c.module).__name__,
            input_shape=c.input_shape, output_shape=c.output_shape, params=counts[i],
            macs=c.macs, flops=2 * c.macs, other_ops=other, other_kind=", ".join(c.other),
            activation_bytes=c.output_bytes, backward_macs=c.backward_macs,
            counted=c.rule is not None or not leaf, reused=reused, saved_bytes=c.saved_bytes,
            leaf=leaf, other_by_kind=dict(c.other), ops=dict(c.ops),
            uncosted_ops=dict(c.uncosted)))
    return rows


_META_HINT = ("If the model has data-dependent operations that the meta device cannot run "
              "(nonzero, boolean masks, .item()), trace it with real tensors on the CPU: "
              "summarize(model, input_size, device='cpu') (it computes, so use a small input).")


def summarize(model: nn.Module, input_size: Sequence[int] = (1, 3, 224, 224), *,
              dtype: str | torch.dtype | None = None, training: bool = False,
              input_requires_grad: bool = False, device: str | torch.device = "meta") -> Summary:
    """Trace ``model`` once and price every op that runs, layer by layer.

    ``input_size`` is the full input shape, batch first (NCHW for images); an input without a
    batch dimension that torch accepts (``(3, 32, 32)`` for a ``Conv2d``) is costed as torch runs
    it (batch 1). The caller's model is not modified. ``dtype`` (default: the model's own) is the
    dtype of the trace, so of every byte count. ``training`` runs the trace in training mode
    (dropout masks, batch statistics, auxiliary classifiers). ``device="meta"`` (default) computes
    nothing; ``device="cpu"`` runs the model on real tensors for models the meta device cannot
    run: the input is ``torch.randn(input_size, generator=torch.Generator().manual_seed(0))``, the
    weights the model's own (random ones where the model lives on ``meta``).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    dev = check_device("device", device)
    shape = check_shape("input_size", input_size, real=dev.type != "meta")
    trace_dtype = _model_dtype(model) if dtype is None else check_trace_dtype("dtype", dtype)
    training = check_bool("training", training)
    input_requires_grad = check_bool("input_requires_grad", input_requires_grad)

    traced = traced_copy(model, dev.type if dev.type != "cuda" else str(dev), trace_dtype)
    traced.train(training)
    if dev.type == "meta":
        x = torch.empty(shape, device="meta", dtype=trace_dtype)
    else:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(dev, trace_dtype)
    x.requires_grad_(input_requires_grad)
    tracer = Tracer(traced, meta=dev.type == "meta")
    try:
        with torch.inference_mode(False), torch.enable_grad():
            tracer.run(x)
    except Exception as err:       # noqa: BLE001 - re-raised with the shape and the way out
        where = "on the meta device" if dev.type == "meta" else f"on {dev}"
        hint = " " + _META_HINT if dev.type == "meta" else ""
        raise RuntimeError(f"summarize: {type(model).__name__} failed {where} with input "
                           f"{shape}: {type(err).__name__}: {err}.{hint}") from err

    rows = _rows(tracer, traced)
    by_kind: dict[str, int] = {}
    uncosted: dict[str, int] = {}
    for r in rows:
        for k, v in r.other_by_kind.items():
            by_kind[k] = by_kind.get(k, 0) + v
        for k, v in r.uncosted_ops.items():
            uncosted[k] = uncosted.get(k, 0) + v
    macs = sum(r.macs for r in rows) + tracer.outside.macs
    backward = sum(r.backward_macs for r in rows) + tracer.outside.backward_macs
    for k, v in tracer.outside.uncosted.items():
        uncosted[k] = uncosted.get(k, 0) + v
    conv = next(((c, d) for c in tracer.calls for t, d in _CONVS.items()
                 if isinstance(c.module, t)), None)
    unbatched = conv is not None and len(conv[0].input_shape) == conv[1] + 1
    return Summary(
        rows=rows, input_size=shape, dtype=str(trace_dtype).replace("torch.", ""),
        params=sum(p.numel() for p in traced.parameters()),
        macs=macs, flops=2 * macs, other_ops=sum(by_kind.values()), other_ops_by_kind=by_kind,
        backward_macs=backward, backward_flops=2 * backward,
        activation_bytes=sum(r.activation_bytes for r in rows if r.leaf),
        saved_activation_bytes=sum(c.saved_bytes for c in tracer.calls) + tracer.outside.saved_bytes,
        uncounted=sorted({r.type for r in rows if not r.counted}),
        unattributed_flops=2 * tracer.outside.macs, uncosted_ops=uncosted,
        device=dev.type, unbatched=unbatched)

