"""Per-layer cost of any ``torch.nn.Module``, traced on the ``meta`` device (no real compute).

``summarize(model, input_size)`` runs the model once on meta tensors (shapes only, no data, no
arithmetic), records every leaf layer that runs, and prices each one with one small function of a
registry (``COSTS``), in the style of ``torch/utils/flop_counter.py``: adding a layer type is adding
one function. The functions call :mod:`cnnbook_lib.formulas`; no formula is written here.

Conventions:

* ``macs`` counts the multiply-accumulates of convolutions and dense layers only, and
  ``flops == 2 * macs``: this equals ``torch.utils.flop_counter.FlopCounterMode`` on the same model
  (which also leaves bias additions out). torchvision's "GFLOPS" column is GMACs.
* Everything else (bias additions, batch normalization, activations, pooling) is reported apart
  as ``other_ops``, one entry per kind, with the counting rule documented in each cost function.
* ``backward_flops`` counts the input gradient (skipped where the input needs no gradient, e.g. the
  first layer) and the weight gradient of each convolution and dense layer; each equals the forward
  MACs. For grouped and depthwise convolutions, PyTorch's ``FlopCounterMode`` counts the weight
  gradient ``groups`` times too high (it multiplies by all input channels, not those of one group);
  this module does not.
"""
from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field, asdict
from typing import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from . import formulas as F

# ---------------------------------------------------------------------------------------------
# One record per layer call
# ---------------------------------------------------------------------------------------------


@dataclass
class LayerRow:
    """Cost of one call of one leaf layer."""

    name: str
    type: str
    input_shape: tuple
    output_shape: tuple
    params: int = 0
    macs: int = 0
    flops: int = 0
    other_ops: int = 0
    other_kind: str = ""
    activation_bytes: int = 0           # bytes of the output
    backward_macs: int = 0
    counted: bool = True                # False: type not in the registry (params by numel only)
    reused: bool = False                # the module already ran earlier in this forward pass


@dataclass
class Cost:
    """What a cost function returns for one call."""

    params: int = 0
    macs: int = 0
    other_ops: int = 0
    other_kind: str = ""
    backward_macs: int = 0
    #: what the layer keeps for its backward pass: "input", "output", "indices" (int64, one per
    #: output element, as max pooling keeps)
    saves: tuple[str, ...] = ("input",)


CostFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, bool], Cost]
COSTS: dict[type, CostFn] = {}


def register(*types: type):
    """Register a cost function for one or more layer types."""
    def deco(fn: CostFn) -> CostFn:
        for t in types:
            COSTS[t] = fn
        return fn
    return deco


def _numel(shape: Iterable[int]) -> int:
    return math.prod(int(v) for v in shape)


def _needs_grad(module: nn.Module, name: str) -> bool:
    t = getattr(module, name, None)
    return isinstance(t, torch.Tensor) and t.requires_grad


# ---------------------------------------------------------------------------------------------
# The registry: one small function per layer type
# ---------------------------------------------------------------------------------------------


@register(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def _conv(m: nn.Conv2d, x, y, input_grad: bool) -> Cost:
    """Convolution: MACs from ``formulas.conv_macs``; bias adds (one per output element) apart."""
    bias = m.bias is not None
    out_spatial = tuple(y.shape[2:])
    args = (m.in_channels, m.out_channels, m.kernel_size, out_spatial, m.groups, y.shape[0])
    return Cost(
        params=F.conv_params(m.in_channels, m.out_channels, m.kernel_size, m.groups, bias),
        macs=F.conv_macs(*args),
        other_ops=F.conv_bias_adds(m.out_channels, out_spatial, y.shape[0]) if bias else 0,
        other_kind="bias add" if bias else "",
        backward_macs=F.conv_backward_macs(*args, input_grad=input_grad,
                                           weight_grad=_needs_grad(m, "weight")),
    )


@register(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def _conv_transpose(m: nn.ConvTranspose2d, x, y, input_grad: bool) -> Cost:
    """Transposed convolution: every input position scatters a (C_out/G) x k x k block.

    Its input gradient is an ordinary convolution and its weight gradient a correlation, each with
    the forward MACs.
    """
    bias = m.bias is not None
    macs = F.conv_transpose_macs(m.in_channels, m.out_channels, m.kernel_size, tuple(x.shape[2:]),
                                 m.groups, x.shape[0])
    return Cost(
        params=F.conv_params(m.in_channels, m.out_channels, m.kernel_size, m.groups, bias),
        macs=macs,
        other_ops=F.conv_bias_adds(m.out_channels, tuple(y.shape[2:]), y.shape[0]) if bias else 0,
        other_kind="bias add" if bias else "",
        backward_macs=macs * (int(input_grad) + int(_needs_grad(m, "weight"))),
    )


@register(nn.Linear)
def _linear(m: nn.Linear, x, y, input_grad: bool) -> Cost:
    """Dense layer applied to every leading position of its input (``N = numel / F_in``)."""
    rows = _numel(x.shape[:-1])
    bias = m.bias is not None
    macs = F.linear_macs(m.in_features, m.out_features, rows)
    return Cost(
        params=F.linear_params(m.in_features, m.out_features, bias),
        macs=macs,
        other_ops=_numel(y.shape) if bias else 0,
        other_kind="bias add" if bias else "",
        backward_macs=macs * (int(input_grad) + int(_needs_grad(m, "weight"))),
    )


@register(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def _batchnorm(m: nn.BatchNorm2d, x, y, input_grad: bool) -> Cost:
    """Batch normalization: 2 ops per element (inference form: a folded scale and a shift)."""
    return Cost(params=F.batchnorm_params(m.num_features, m.affine),
                other_ops=2 * _numel(y.shape), other_kind="batch norm")


#: Activations whose gradient is computed from their output; the others keep their input.
_SAVE_OUTPUT = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Softmax)
_ACTIVATIONS = _SAVE_OUTPUT + (nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Hardswish,
                               nn.Hardsigmoid, nn.Hardtanh, nn.Mish, nn.PReLU)


@register(*_ACTIVATIONS)
def _activation(m: nn.Module, x, y, input_grad: bool) -> Cost:
    """Element-wise activation: 1 op per element (whatever the function's own cost)."""
    params = sum(p.numel() for p in m.parameters(recurse=False))
    saves = ("output",) if isinstance(m, _SAVE_OUTPUT) else ("input",)
    return Cost(params=params, other_ops=_numel(y.shape), other_kind="activation", saves=saves)


_MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)


@register(*_MAX_POOLS, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
def _pool(m: nn.Module, x, y, input_grad: bool) -> Cost:
    """Pooling: k_h * k_w comparisons (max) or additions (average) per output element.

    Max pooling keeps the argmax indices (int64) for its backward pass as well as its input.
    """
    window = _numel(F._pair("kernel", m.kernel_size, y.dim() - 2))
    saves = ("input", "indices") if isinstance(m, _MAX_POOLS) else ("input",)
    return Cost(other_ops=_numel(y.shape) * window, other_kind="pooling", saves=saves)


@register(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
          nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
def _adaptive_pool(m: nn.Module, x, y, input_grad: bool) -> Cost:
    """Adaptive pooling: about one addition or comparison per input element.

    The average's gradient needs only the input's shape; the maximum keeps input and indices.
    """
    is_max = isinstance(m, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d))
    return Cost(other_ops=_numel(x.shape), other_kind="pooling",
                saves=("input", "indices") if is_max else ())


@register(nn.LocalResponseNorm)
def _lrn(m: nn.LocalResponseNorm, x, y, input_grad: bool) -> Cost:
    """Local response normalization: per element, a sum of ``size`` squares (2 * size ops) and
    3 more (scale, power, divide)."""
    return Cost(other_ops=_numel(y.shape) * (2 * m.size + 3), other_kind="normalization",
                saves=("input", "output"))


@register(nn.Dropout, nn.Dropout2d, nn.Identity, nn.Flatten, nn.Unflatten, nn.ChannelShuffle)
def _free(m: nn.Module, x, y, input_grad: bool) -> Cost:
    """Layers that cost nothing at inference (views, copies, dropout in eval mode)."""
    return Cost(saves=())


# ---------------------------------------------------------------------------------------------
# The summary
# ---------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """Result of :func:`summarize`: per-layer rows and totals."""

    rows: list[LayerRow]
    input_size: tuple
    dtype: str
    params: int
    macs: int
    flops: int
    other_ops: int
    other_ops_by_kind: dict[str, int]
    backward_macs: int
    backward_flops: int
    activation_bytes: int               # all layer outputs, added up
    saved_activation_bytes: int         # distinct tensors kept for the backward pass
    uncounted: list[str] = field(default_factory=list)   # leaf types not in the registry
    unattributed_flops: int = 0         # FlopCounterMode FLOPs outside conv/linear layers

    @property
    def batch(self) -> int:
        """Batch size of the traced input (its first dimension)."""
        return int(self.input_size[0])

    def training_memory(self, batch_size: int | None = None, dtype: str | None = None,
                        optimizer: str = "adam") -> dict[str, int]:
        """Bytes of a training step: weights, gradients, optimizer state and saved activations.

        Weights, gradients and optimizer state are in ``dtype`` (default: the summary's); the
        activations are those of the trace (its dtype), scaled linearly from the traced batch to
        ``batch_size``. Adam keeps two moments per parameter, SGD with momentum one, plain SGD none. An estimate: it leaves out the framework's workspace and temporary buffers.
        """
        dtype = dtype or self.dtype
        F.optimizer_states(optimizer)       # validates the name first
        batch_size = self.batch if batch_size is None else F._check_int("batch_size", batch_size, 1)
        weights = F.tensor_bytes(self.params, dtype) if self.params else 0
        acts = F.scaled_activation_bytes(self.saved_activation_bytes, self.batch, batch_size)
        out = {"weights": weights, "gradients": weights,
               "optimizer_state": F.optimizer_state_bytes(self.params, optimizer, dtype),
               "activations": acts}
        out["total"] = sum(out.values())
        return out

    def to_dataframe(self):
        """The rows as a pandas DataFrame."""
        import pandas as pd
        return pd.DataFrame([asdict(r) for r in self.rows])

    def _table(self):
        df = self.to_dataframe()
        if df.empty:
            return df
        cols = ["name", "type", "output_shape", "params", "macs", "other_ops", "activation_bytes"]
        df = df[cols].copy()
        df["output_shape"] = df["output_shape"].map(lambda s: "x".join(map(str, s)))
        return df

    def totals_line(self) -> str:
        """The totals on one line: parameters, MACs, FLOPs, other ops, activations."""
        return (f"input {'x'.join(map(str, self.input_size))} ({self.dtype}): "
                f"params {self.params:,} | MACs {self.macs:,} | FLOPs {self.flops:,} | "
                f"other ops {self.other_ops:,} | backward FLOPs {self.backward_flops:,} | "
                f"activations {self.activation_bytes:,} B")

    def __str__(self) -> str:
        df = self._table()
        fmt = {c: "{:,}".format for c in ("params", "macs", "other_ops", "activation_bytes")}
        body = df.to_string(index=False, formatters=fmt) if len(df) else "(no layers)"
        return body + "\n" + self.totals_line()

    def _repr_html_(self) -> str:
        df = self._table()
        fmt = {c: "{:,}".format for c in ("params", "macs", "other_ops", "activation_bytes")}
        return df.to_html(index=False, formatters=fmt) + f"<p>{self.totals_line()}</p>"


class _FlopCounter(TorchDispatchMode):
    """Counts FLOPs with ``FlopCounterMode``'s own per-op formulas, without its decompositions
    (which make a meta-device trace several times slower). Used only to find FLOPs that happen
    outside the registered layers, e.g. a functional matmul."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += int(formula(*args, **kwargs, out_val=out))
        return out


_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _shape_only(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Stand-in forward for a shape-preserving layer in the meta-device trace: an empty tensor of
    the input's shape that requires grad exactly when the real output would. PyTorch evaluates
    batch normalization on meta tensors through slow Python decompositions (most of a trace's
    time in networks with BN); its cost comes from the registry, not from running it."""
    needs = x.requires_grad or any(p.requires_grad for p in module.parameters(recurse=False))
    out = torch.empty_like(x)
    return out.requires_grad_().clone() if needs else out      # not a leaf: in-place ops allowed


def _meta_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters and buffers live on the meta device (no data copied)."""
    memo: dict[int, torch.Tensor] = {}
    for prm in model.parameters():
        memo[id(prm)] = nn.Parameter(torch.empty_like(prm, device="meta"),
                                     requires_grad=prm.requires_grad)
    for buf in model.buffers():
        memo[id(buf)] = torch.empty_like(buf, device="meta")
    return copy.deepcopy(model, memo)


def summarize(model: nn.Module, input_size: Sequence[int] = (1, 3, 224, 224), *,
              dtype: str = "float32", training: bool = False,
              input_requires_grad: bool = False) -> Summary:
    """Trace ``model`` on the meta device and price every leaf layer that runs.

    ``input_size`` is the full input shape, batch first (NCHW for images). The caller's model is
    not modified. ``dtype`` sets the bytes per element of the memory figures. ``training`` runs
    the trace in training mode (e.g. to include auxiliary classifiers). Leaf layers of a type
    missing from ``COSTS`` are listed in ``Summary.uncounted`` with their parameters counted by
    ``numel``.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    shape = tuple(F._check_int("input_size entry", v, 1) for v in input_size)
    if len(shape) < 2:
        raise ValueError(f"input_size must include the batch dimension, got {tuple(input_size)}")
    F.bytes_per_element(dtype)          # validates dtype before tracing

    meta = _meta_copy(model).train(training)
    for m in meta.modules():
        if isinstance(m, _BATCHNORMS):
            m.forward = functools.partial(_shape_only, m)
    names = {m: n or type(m).__name__ for n, m in meta.named_modules()}
    rows: list[LayerRow] = []
    seen: set[nn.Module] = set()
    saved: dict[tuple, int] = {}        # (kind, id(tensor)) -> bytes kept for backward
    alive: list[torch.Tensor] = []      # keep traced tensors alive so ids stay unique

    def hook(module, inputs, output):
        x = next((t for t in inputs if isinstance(t, torch.Tensor)), None)
        y = output if isinstance(output, torch.Tensor) else None
        if x is None or y is None:
            return
        alive.extend((x, y))
        fn = COSTS.get(type(module))
        first = module not in seen
        seen.add(module)
        if fn is None:
            cost = Cost(params=sum(p.numel() for p in module.parameters(recurse=False)))
        else:
            cost = fn(module, x, y, x.requires_grad)
        for what in cost.saves:
            if what == "indices":
                saved[("indices", id(y))] = F.tensor_bytes(tuple(y.shape), "int64")
            else:
                t = x if what == "input" else y
                saved[("tensor", id(t))] = F.tensor_bytes(tuple(t.shape), dtype)
        rows.append(LayerRow(
            name=names[module], type=type(module).__name__,
            input_shape=tuple(x.shape), output_shape=tuple(y.shape),
            params=cost.params if first else 0, macs=cost.macs,
            flops=F.macs_to_flops(cost.macs), other_ops=cost.other_ops,
            other_kind=cost.other_kind,
            activation_bytes=F.tensor_bytes(tuple(y.shape), dtype), backward_macs=cost.backward_macs,
            counted=fn is not None, reused=not first))

    handles = [m.register_forward_hook(hook) for m in meta.modules()
               if not list(m.children()) or type(m) in COSTS]
    x = torch.empty(shape, device="meta", requires_grad=input_requires_grad)
    try:
        with _FlopCounter() as counter:
            meta(x)
    finally:
        for h in handles:
            h.remove()

    owned = {id(prm) for m in seen for prm in m.parameters(recurse=False)}
    extra = sum(prm.numel() for prm in meta.parameters() if id(prm) not in owned)
    params = sum(r.params for r in rows) + extra
    macs = sum(r.macs for r in rows)
    by_kind: dict[str, int] = {}
    for r in rows:
        if r.other_ops:
            by_kind[r.other_kind] = by_kind.get(r.other_kind, 0) + r.other_ops
    backward = sum(r.backward_macs for r in rows)
    return Summary(
        rows=rows, input_size=shape, dtype=dtype, params=params, macs=macs,
        flops=F.macs_to_flops(macs), other_ops=sum(by_kind.values()), other_ops_by_kind=by_kind,
        backward_macs=backward, backward_flops=F.macs_to_flops(backward),
        activation_bytes=sum(r.activation_bytes for r in rows),
        saved_activation_bytes=sum(saved.values()),
        uncounted=sorted({r.type for r in rows if not r.counted}),
        unattributed_flops=counter.flops - F.macs_to_flops(macs),
    )
