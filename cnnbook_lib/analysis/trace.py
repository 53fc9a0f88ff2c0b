"""One forward pass of a copy of the model, recording every dispatched op, the module that issued
it, and every tensor autograd saves for the backward pass, on the tracing core
(:mod:`cnnbook_lib.tracing`).

* **Ops.** The core's :class:`~cnnbook_lib.tracing.OpRecorder` sees each ATen op below autograd
  (after composite ops such as ``linear``, ``matmul``, ``einsum`` are lowered to
  ``mm``/``addmm``/``bmm``); :data:`costs.OP_COSTS` prices it.
* **Attribution.** The core's :class:`~cnnbook_lib.tracing.ModuleStack` keeps the stack of the
  module calls in progress; an op belongs to the innermost call.
* **Memory.** ``torch.autograd.graph.saved_tensors_hooks`` sees every tensor autograd keeps.
  Tensors are grouped by storage (a view holds its whole storage) and each storage counts once,
  with its size in bytes. Storages of parameters and buffers are left out: they are the model's
  state, counted as weights, not activations.
* **Meta device.** The default trace runs on ``meta`` tensors: shapes only, no arithmetic. Two
  kernels are replaced there so the trace is fast and saves what a real device saves: batch
  normalization returns empty outputs of the right shapes (its Python meta kernel is slow), and
  ``scaled_dot_product_attention`` runs the kernel a CPU would pick for the same call: the fused
  CPU kernel's op where torch's CPU dispatcher picks it (on meta, torch would always take the
  unfused math path, which keeps the whole attention matrix), the math path where the CPU takes
  it too (a mask that requires a gradient, such as a learned relative-position bias; dropout; a
  3-D mask).
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

import torch
import torch.nn.functional as TF
from torch import nn
from torch.utils import _pytree as pytree
from torch.nn.attention import SDPBackend
from torch.utils._python_dispatch import _disable_current_modes

from ..tracing import ModuleStack, OpRecorder, copy_model, op_name
from . import costs


@dataclass
class Call:
    """One call of one module, with everything dispatched while it was the innermost call."""

    module: nn.Module
    depth: int
    input_shape: tuple = ()
    output_shape: tuple = ()
    output_bytes: int = 0
    macs: int = 0
    backward_macs: int = 0
    other: dict = field(default_factory=dict)        # kind -> other ops
    ops: dict = field(default_factory=dict)          # op name -> count (all but free ops)
    uncosted: dict = field(default_factory=dict)     # op name -> count (no rule)
    saved_bytes: int = 0
    rule: object = None                              # the layer rule of the module, if any


def _first_tensor(tree):
    return next((t for t in pytree.tree_leaves(tree) if isinstance(t, torch.Tensor)), None)


def _fast_batch_norm(name: str, args):
    """Empty outputs of a batch-norm op with the shapes and dtypes the CPU kernel returns (the
    statistics are per channel in training, empty in evaluation), or None for another op."""
    x, weight = args[0], args[1]
    c = x.shape[1] if x.dim() > 1 else x.shape[0]
    y = torch.empty_like(x)
    stat = dict(dtype=weight.dtype if isinstance(weight, torch.Tensor) else x.dtype,
                device=x.device)
    reserve = torch.empty(0, dtype=torch.uint8, device=x.device)
    if name == "native_batch_norm":
        n = c if bool(args[5]) else 0
        return y, torch.empty(n, **stat), torch.empty(n, **stat)
    if name == "_batch_norm_with_update":
        return y, torch.empty(c, **stat), torch.empty(c, **stat), reserve
    if name == "_batch_norm_no_update":
        return y, torch.empty(0, **stat), torch.empty(0, **stat), reserve
    return None


_FAST_BN = ("native_batch_norm", "_batch_norm_with_update", "_batch_norm_no_update")


#: element-wise ops whose meta kernels are slow Python references: their output on meta is an
#: empty tensor like the first input (out of place) or that input itself (in place)
_FAST_UNARY = frozenset("""relu hardtanh silu gelu sigmoid tanh hardswish hardsigmoid leaky_relu
elu mish neg exp sqrt rsqrt reciprocal abs""".split())
_FAST_BINARY = frozenset("add sub mul div".split())


def _fast_pointwise(name: str, func, args, kwargs):
    """The meta output of a simple element-wise op, or None where the real meta kernel is needed
    (broadcasting, type promotion, tensor-valued extra arguments)."""
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return None
    if name in _FAST_UNARY:
        if any(isinstance(a, torch.Tensor) for a in args[1:]) or kwargs.get("out") is not None:
            return None
    elif name in _FAST_BINARY and len(args) == 2 and not kwargs.get("out"):
        y = args[1]
        if isinstance(y, torch.Tensor):
            if y.shape != x.shape or y.dtype != x.dtype or y.stride() != x.stride():
                return None
        elif not isinstance(y, (int, float)) or isinstance(y, bool):
            return None
        if kwargs.get("rounding_mode") is not None:
            return None
    else:
        return None
    inplace = func._overloadpacket.__name__.endswith("_")
    if inplace:
        return x
    dense = x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))
    return torch.empty_like(x) if dense else None


def _fast_kernel(func, args, kwargs):
    """The output of a batch-norm or simple element-wise op made without its slow meta kernel,
    or None to run the kernel."""
    name = op_name(func)
    if name in _FAST_BN:
        return _fast_batch_norm(name, args)
    if name in _FAST_UNARY or name in _FAST_BINARY:
        return _fast_pointwise(name, func, args, kwargs)
    return None


class _FusedAttention:
    """On the meta device, routes 4-D ``scaled_dot_product_attention`` to the fused CPU kernel's
    op, as a CPU (or a GPU's flash kernel) runs it, instead of torch's meta fallback (the math
    path, which saves the attention matrix). The function in ``torch.nn.functional`` is replaced
    while any trace runs, so calls from ``nn.MultiheadAttention`` are routed too; the
    replacement routes only calls made by a thread inside a trace, and the original is put back
    when the last trace ends."""

    _lock = threading.Lock()
    _depth = 0
    _original = None
    _local = threading.local()

    @classmethod
    def _routed(cls, *args, **kwargs):
        if getattr(cls._local, "depth", 0):
            fused = _fused_sdpa(*args, **kwargs)
            if fused is not None:
                return fused
        return cls._original(*args, **kwargs)

    def __enter__(self):
        cls = type(self)
        with cls._lock:
            if cls._depth == 0:
                cls._original = TF.scaled_dot_product_attention
                TF.scaled_dot_product_attention = cls._routed
            cls._depth += 1
        cls._local.depth = getattr(cls._local, "depth", 0) + 1
        return self

    def __exit__(self, *exc):
        cls = type(self)
        cls._local.depth -= 1
        with cls._lock:
            cls._depth -= 1
            if cls._depth == 0:
                TF.scaled_dot_product_attention = cls._original
        return False


def _fused_sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                enable_gqa=False):
    """The fused CPU kernel's op for a call that a CPU runs with it, or None (the math path)."""
    tensors = (query, key, value)
    if (enable_gqa or not all(isinstance(t, torch.Tensor) for t in tensors)
            or any(t.dim() != 4 or t.device.type != "meta" for t in tensors)
            or not query.dtype.is_floating_point
            or not _cpu_runs_fused(query, key, value, attn_mask, dropout_p, is_causal, scale,
                                   enable_gqa)):
        return None
    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
        query, key, value, 0.0, bool(is_causal), attn_mask=attn_mask, scale=scale)[0]


def _cpu_runs_fused(query, key, value, attn_mask, dropout_p, is_causal, scale,
                    enable_gqa) -> bool:
    """Whether torch's CPU dispatcher runs this attention with its fused kernel, asked of torch
    itself (``torch._fused_sdp_choice``) on empty CPU tensors of the same shapes, strides, dtypes
    and ``requires_grad``. It takes the math path for a mask that requires a gradient (the fused
    kernel has no gradient for the mask: a learned relative-position bias), for dropout, and
    for a mask it cannot broadcast (3-D)."""
    def cpu(t):
        if not isinstance(t, torch.Tensor):
            return t
        stand_in = torch.empty_strided(t.shape, t.stride(), dtype=t.dtype)
        return stand_in.requires_grad_(t.requires_grad) if t.is_floating_point() else stand_in

    with _disable_current_modes():          # not an op of the model: not recorded
        try:
            choice = torch._fused_sdp_choice(cpu(query), cpu(key), cpu(value), cpu(attn_mask),
                                             float(dropout_p), bool(is_causal), scale=scale,
                                             enable_gqa=bool(enable_gqa))
        except (RuntimeError, TypeError, ValueError):
            return False
    return choice == _FLASH


_FLASH = int(SDPBackend.FLASH_ATTENTION)


class Tracer:
    """Runs the traced copy of a model once and collects :class:`Call` records."""

    def __init__(self, model: nn.Module, meta: bool):
        self.model = model
        self.meta = meta
        self.calls: list[Call] = []
        self.modules = ModuleStack(model, self.pre, self.post)
        self.outside = Call(module=model, depth=-1)    # ops issued outside any module call
        self.state = {self._key(t) for t in list(model.parameters()) + list(model.buffers())}
        self.storages: set[int] = set()
        self.kept: list[torch.Tensor] = []           # saved tensors alive: storage keys unique

    @staticmethod
    def _key(t: torch.Tensor) -> int:
        return t.untyped_storage()._cdata

    def current(self) -> Call:
        return self.modules.top or self.outside

    # --- ops --------------------------------------------------------------------------------
    def record(self, func, args, kwargs, out) -> None:
        rule = costs.OP_COSTS.lookup(func)
        if rule is not None and rule.free:
            return
        call = self.current()
        name = op_name(func)
        call.ops[name] = call.ops.get(name, 0) + 1
        covered = call.rule is not None
        if rule is None:
            if not covered:
                call.uncosted[name] = call.uncosted.get(name, 0) + 1
            return
        if covered and not rule.counts_macs:
            return                                  # priced by the layer rule of its module
        cost = rule(args, kwargs, out)
        call.macs += cost.macs
        call.backward_macs += cost.backward_macs
        if cost.other_ops:
            call.other[cost.other_kind] = call.other.get(cost.other_kind, 0) + cost.other_ops
        for kind, ops in (cost.more or {}).items():
            call.other[kind] = call.other.get(kind, 0) + ops

    # --- saved tensors -------------------------------------------------------------------------
    def pack(self, t: torch.Tensor):
        try:
            key = self._key(t)
        except (RuntimeError, NotImplementedError):     # e.g. a tensor subclass without storage
            return t
        if key not in self.state and key not in self.storages:
            self.storages.add(key)
            self.kept.append(t)
            self.current().saved_bytes += t.untyped_storage().nbytes()
        return t

    # --- module calls --------------------------------------------------------------------------
    def pre(self, module, args, kwargs) -> Call:
        call = Call(module=module, depth=len(self.modules.frames))
        call.rule = costs.layer_rule(module)
        x = _first_tensor((args, kwargs))
        if x is not None:
            call.input_shape = tuple(x.shape)
        self.calls.append(call)
        return call

    def post(self, call: Call, module, args, kwargs, output) -> None:
        y = _first_tensor(output)
        if y is not None:
            call.output_shape = tuple(y.shape)
            call.output_bytes = y.numel() * y.element_size()
        if call.rule is not None and y is not None:
            x = _first_tensor((args, kwargs))
            cost = call.rule(module, x if x is not None else y, y)
            if cost.other_ops:
                call.other[cost.other_kind] = call.other.get(cost.other_kind, 0) + cost.other_ops

    def run(self, x: torch.Tensor) -> None:
        ops = OpRecorder(self.record, _fast_kernel if self.meta else None)
        with self.modules, torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t), \
                ops, (_FusedAttention() if self.meta else contextlib.nullcontext()):
            self.model(x)


def traced_copy(model: nn.Module, device: str, dtype: torch.dtype) -> nn.Module:
    """A copy of ``model`` on ``device`` with floating parameters and buffers in ``dtype``
    (:func:`cnnbook_lib.tracing.copy_model`).

    On ``meta`` nothing is copied but shapes. On a real device the values are copied from the
    model, or drawn at random (weights ~ N(0, 1/fan_in), running variances 1) where the model
    itself lives on ``meta``; shared parameters stay shared.
    """
    gen = torch.Generator().manual_seed(0)

    def make(t: torch.Tensor, name: str) -> torch.Tensor:
        dt = dtype if t.is_floating_point() else t.dtype
        if device == "meta":
            return torch.empty_like(t, device="meta", dtype=dt)
        if t.device.type != "meta":
            return t.detach().to(device=device, dtype=dt, copy=True)
        if not t.is_floating_point():
            return torch.zeros(t.shape, dtype=dt, device=device)
        if name.endswith("running_var"):
            return torch.ones(t.shape, dtype=dt, device=device)
        fan_in = max(1, t.numel() // max(1, t.shape[0])) if t.dim() > 1 else 1
        v = torch.randn(t.shape, generator=gen) / fan_in ** 0.5
        return v.to(device=device, dtype=dt)

    return copy_model(model, make)[0]
