"""Memory of a training step under automatic mixed precision (``torch.autocast``).

Mixed precision is not "everything in half precision". Under ``torch.autocast`` with a gradient
scaler, as PyTorch documents it:

* the parameters stay in float32 (the *master weights*), so do their gradients and the
  optimizer's state (Adam's two moments): ``4 P``, ``4 P`` and ``4 s P`` bytes;
* each convolution and matrix product runs on half-precision (float16 or bfloat16) *copies* of its
  weights, made by autocast and kept by autograd for the backward pass: 2 bytes per weight of
  the layers autocast casts (:func:`autocast_weight_elements`);
* the activations those layers produce are half precision, and so is most of what autograd
  saves; the saved bytes per image are read from a trace in the half dtype
  (:func:`cnnbook_lib.analysis.summarize` with ``dtype="float16"``).

:func:`mixed_precision_memory` adds these terms. ``tests/test_bench_memory.py`` checks it against
a real autocast training step measured with saved-tensor hooks
(:func:`cnnbook_lib.bench.memory.training_step_memory` with ``autocast=``).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .. import formulas as F
from ._checks import check_int, check_str

__all__ = ["AUTOCAST_LAYERS", "HALF_DTYPES", "autocast_weight_elements", "mixed_precision_memory"]

#: the layer types whose weights autocast casts to half precision (convolutions and dense layers)
AUTOCAST_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                   nn.ConvTranspose3d, nn.Linear)
#: the half-precision dtypes of mixed precision
HALF_DTYPES = ("float16", "bfloat16")


def autocast_weight_elements(model: nn.Module) -> int:
    """Weight elements of the layers whose products autocast runs in half precision: the
    ``weight`` of every convolution and ``nn.Linear``, and the input projection of every
    ``nn.MultiheadAttention`` (its output projection is an ``nn.Linear``). Biases are cast too but
    not kept for the backward pass; each tensor counts once."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    seen: set[int] = set()
    total = 0
    for m in model.modules():
        tensors = []
        if isinstance(m, AUTOCAST_LAYERS):
            tensors.append(m.weight)
        elif isinstance(m, nn.MultiheadAttention):
            tensors += [m.in_proj_weight, m.q_proj_weight, m.k_proj_weight, m.v_proj_weight]
        for t in tensors:
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                total += t.numel()
    return total


def mixed_precision_memory(model: nn.Module, input_size: Sequence[int], *,
                           batch_size: int | None = None, optimizer: str = "adam",
                           half: str = "float16") -> dict[str, int]:
    """Bytes of one training step under automatic mixed precision: float32 ``weights``,
    ``gradients`` and ``optimizer_state``, the ``half_weight_copies`` autograd keeps, and the
    ``activations`` saved in the ``half`` dtype (traced at ``input_size``, scaled linearly to
    ``batch_size``); ``total`` is their sum. Leaves out temporary buffers and the allocator's
    slack, as ``Summary.training_memory()`` does."""
    from . import summarize

    check_str("half", half)
    if half not in HALF_DTYPES:
        raise ValueError(f"half must be one of {', '.join(HALF_DTYPES)}, got {half!r}")
    check_str("optimizer", optimizer)
    F.optimizer_states(optimizer)                  # validates the name
    s = summarize(model, input_size, dtype=half, training=True)
    batch_size = s.batch if batch_size is None else check_int("batch_size", batch_size, 1, 2 ** 31)
    weights = F.tensor_bytes(s.params, "float32") if s.params else 0
    out = {"weights": weights, "gradients": weights,
           "optimizer_state": F.optimizer_state_bytes(s.params, optimizer, "float32"),
           "half_weight_copies": F.tensor_bytes(autocast_weight_elements(model), half),
           "activations": (F.scaled_activation_bytes(s.saved_activation_bytes, s.batch, batch_size)
                           if s.saved_activation_bytes else 0)}
    out["total"] = sum(out.values())
    return out
