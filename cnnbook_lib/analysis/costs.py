"""The two cost registries of :func:`cnnbook_lib.analysis.summarize`.

* ``OP_COSTS``: one small function per ATen operator, called for every op dispatched during the
  trace (as ``torch/utils/flop_counter.py`` does). Matrix products, convolutions and attention
  give multiply-accumulates (MACs) and their backward MACs; other operators give "other ops" of a
  named kind (element-wise, reduction, softmax, normalization, pooling, interpolation). Views,
  allocations and copies are free (``FREE_OPS``). An operator in neither is *uncosted*: the
  summary lists it by name with its count, never drops it.
* ``COSTS``: one function per layer type for the "other ops" of the classic layers (batch norm,
  activations, pooling, local response normalization), in the book's counting conventions.
  Ops dispatched inside such a layer are priced by the layer's rule, except the MAC operators,
  which are always counted where they are dispatched. A subclass uses its base's rule only when it
  does not override ``forward``; otherwise it is costed by the operators it executes.

Forward FLOPs use torch's own formulas (``torch.utils.flop_counter.flop_registry``): they equal
``FlopCounterMode`` for conv, matmul and attention. Backward MACs are ours: each operand that
requires a gradient costs one product of the forward size (``dL/dA = dL/dY B^T``,
``dL/dB = A^T dL/dY``; for a convolution the input gradient is a transposed convolution and the
weight gradient a correlation, each with the forward MACs). PyTorch's ``convolution_backward``
formula multiplies the weight gradient of a grouped convolution by all input channels instead of
those of one group, counting it ``groups`` times too high; we do not use it.

``FlopCounterMode`` has no formula for the CPU's fused attention
(``_scaled_dot_product_flash_attention_for_cpu``) nor for the inference fast path of
``nn.MultiheadAttention`` (``_native_multi_head_attention``), and counts them 0; here they get
torch's own attention formulas (``sdpa_flop_count``, ``sdpa_backward_flop_count``), and the
projections of the fast path. A fused attention's backward recomputes the scores ``Q K^T``:
five products to the forward's two (torch's formula, as ``FlopCounterMode`` counts the flash
kernel on CUDA).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.utils import flop_counter as _fc
from torch.utils.flop_counter import flop_registry

aten = torch.ops.aten


def _numel(shape) -> int:
    return math.prod(int(v) for v in shape)


def _rg(t) -> bool:
    return isinstance(t, torch.Tensor) and t.requires_grad


# ---------------------------------------------------------------------------------------------
# Layer rules (other ops of the classic layers)
# ---------------------------------------------------------------------------------------------


@dataclass
class Cost:
    """What a layer rule returns for one call: its other ops and their kind."""

    other_ops: int = 0
    other_kind: str = ""


CostFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], Cost]
COSTS: dict[type, CostFn] = {}


def register(*types: type):
    """Register a layer rule (``fn(module, input, output) -> Cost``) for layer types."""
    for t in types:
        if not (isinstance(t, type) and issubclass(t, nn.Module)):
            raise TypeError(f"register: types must be torch.nn.Module subclasses, got {t!r}")

    def deco(fn: CostFn) -> CostFn:
        if not callable(fn):
            raise TypeError(f"register: the rule must be callable, got {fn!r}")
        for t in types:
            COSTS[t] = fn
        return fn
    return deco


def layer_rule(module: nn.Module) -> CostFn | None:
    """The rule for ``module``: its type's, or a base type's when ``forward`` is inherited."""
    cls = type(module)
    if cls in COSTS:
        return COSTS[cls]
    for base in cls.__mro__[1:]:
        if base in COSTS:
            return COSTS[base] if cls.forward is base.forward else None
    return None


@register(nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
          nn.ConvTranspose3d, nn.Linear)
def _mac_layer(m, x, y) -> Cost:
    """Convolutions and dense layers: their MACs and bias additions come from the operators they
    dispatch (``convolution``, ``addmm``, ...), see ``OP_COSTS``."""
    return Cost()


@register(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
def _batchnorm(m, x, y) -> Cost:
    """Batch normalization: 2 ops per element (inference form: a folded scale and a shift)."""
    return Cost(2 * _numel(y.shape), "batch norm")


_ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU,
                nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Mish, nn.PReLU)


@register(*_ACTIVATIONS)
def _activation(m, x, y) -> Cost:
    """Element-wise activation: 1 op per element (whatever the function's own cost)."""
    return Cost(_numel(y.shape), "activation")


_POOL_DIMS = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3,
              nn.AvgPool1d: 1, nn.AvgPool2d: 2, nn.AvgPool3d: 3}


@register(*_POOL_DIMS)
def _pool(m, x, y) -> Cost:
    """Pooling: k_h * k_w comparisons (max) or additions (average) per output element."""
    dims = next(d for t, d in _POOL_DIMS.items() if isinstance(m, t))
    k = m.kernel_size
    window = _numel(k) if isinstance(k, (tuple, list)) else int(k) ** dims
    return Cost(_numel(y.shape) * window, "pooling")


@register(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
          nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
def _adaptive_pool(m, x, y) -> Cost:
    """Adaptive pooling: about one addition or comparison per input element."""
    return Cost(_numel(x.shape), "pooling")


@register(nn.LocalResponseNorm)
def _lrn(m, x, y) -> Cost:
    """Local response normalization: per element, a sum of ``size`` squares (2 * size ops) and
    3 more (scale, power, divide)."""
    return Cost(_numel(y.shape) * (2 * m.size + 3), "normalization")


@register(nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.Identity, nn.Flatten,
          nn.Unflatten, nn.ChannelShuffle, nn.PixelShuffle, nn.PixelUnshuffle)
def _free(m, x, y) -> Cost:
    """Layers that cost nothing at inference (views, copies, dropout in eval mode)."""
    return Cost()


@register(nn.LayerNorm, nn.GroupNorm, *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()))
def _norm(m, x, y) -> Cost:
    """Layer, group and RMS normalization: ``NORM_OPS`` ops per input element (mean, variance,
    normalize, scale, shift), as the operator rule of ``native_layer_norm`` counts them."""
    return Cost(NORM_OPS * _numel(x.shape), "normalization")


def _register_book_layers() -> None:
    """Rules for the layer types of :mod:`cnnbook_lib.architectures` that define their own
    ``forward``: the channel shuffle and the permutes move data only; ConvNeXt's channels-first
    layer norm is a layer norm."""
    from .. import architectures as A
    register(A.ChannelShuffle, A.Permute)(_free)
    register(A.LayerNorm2d)(_norm)


# ---------------------------------------------------------------------------------------------
# Operator rules
# ---------------------------------------------------------------------------------------------


@dataclass
class OpCost:
    """What an operator rule returns for one dispatched op."""

    macs: int = 0
    backward_macs: int = 0
    other_ops: int = 0
    other_kind: str = ""
    more: dict | None = None            # further kinds of other ops: kind -> ops


OpCostFn = Callable[[tuple, dict, object], OpCost]
#: operator name (``func._overloadpacket.__name__``, trailing ``_`` of in-place ops removed)
OP_COSTS: dict[str, OpCostFn] = {}


def register_op(*names: str):
    """Register an operator rule ``fn(args, kwargs, out) -> OpCost`` under ATen op names."""
    for n in names:
        if not isinstance(n, str) or not n:
            raise TypeError(f"register_op: names must be non-empty strings, got {n!r}")

    def deco(fn: OpCostFn) -> OpCostFn:
        for n in names:
            OP_COSTS[n] = fn
        return fn
    return deco


def _torch_macs(name: str, args, kwargs, out) -> int:
    """MACs from torch's own FLOP formula (FLOPs / 2, bias additions not included)."""
    formula = flop_registry[getattr(aten, name)]
    return int(formula(*args, **kwargs, out_val=out)) // 2


def _bias_adds(bias, out) -> int:
    return _numel(out.shape) if isinstance(bias, torch.Tensor) else 0


def _matmul_rule(a_pos: int, b_pos: int, bias_pos: int | None):
    def rule(args, kwargs, out, name) -> OpCost:
        macs = _torch_macs(name, args, kwargs, out)
        bias = args[bias_pos] if bias_pos is not None else None
        adds = _bias_adds(bias, out)
        return OpCost(macs, macs * (_rg(args[a_pos]) + _rg(args[b_pos])), adds,
                      "bias add" if adds else "")
    return rule


def _named(name: str, rule):
    OP_COSTS[name] = lambda args, kwargs, out: rule(args, kwargs, out, name)


_named("mm", _matmul_rule(0, 1, None))
_named("bmm", _matmul_rule(0, 1, None))
_named("addmm", _matmul_rule(1, 2, 0))
_named("baddbmm", _matmul_rule(1, 2, 0))


@register_op("mv", "dot", "vdot", "addmv")
def _vector_products(args, kwargs, out) -> OpCost:
    """Matrix-vector and dot products: one MAC per element of the matrix (or of the vectors)."""
    i = 1 if len(args) > 2 and isinstance(args[2], torch.Tensor) else 0
    a, b = args[i], args[i + 1]
    macs = _numel(a.shape)
    return OpCost(macs, macs * (_rg(a) + _rg(b)))


def _conv_rule(args, kwargs, out, name) -> OpCost:
    """Convolution (and transposed): torch's forward formula; backward ours, forward MACs for the
    input gradient and for the weight gradient (correct for groups, unlike torch's)."""
    macs = _torch_macs(name, args, kwargs, out)
    x, w, bias = args[0], args[1], args[2] if len(args) > 2 else None
    adds = _bias_adds(bias, out)
    return OpCost(macs, macs * (_rg(x) + _rg(w)), adds, "bias add" if adds else "")


for _name in ("convolution", "_convolution", "convolution_overrideable", "cudnn_convolution",
              "_slow_conv2d_forward"):
    _named(_name, _conv_rule)


def _sdpa_rule(args, kwargs, out, name) -> OpCost:
    """Fused attention ``softmax(Q K^T / sqrt(d)) V``: torch's ``sdpa_flop_count`` (two batched
    products) and ``sdpa_backward_flop_count`` (four), plus the softmax over the scores."""
    q, k, v = args[:3]
    macs = _fc.sdpa_flop_count(q.shape, k.shape, v.shape) // 2
    o = out[0] if isinstance(out, (tuple, list)) else out
    back = (_fc.sdpa_backward_flop_count(o.shape, q.shape, k.shape, v.shape) // 2
            if _rg(q) or _rg(k) or _rg(v) else 0)
    scores = _numel(q.shape[:-1]) * k.shape[-2]
    return OpCost(macs, back, SOFTMAX_OPS * scores, "softmax")


for _name in ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
              "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
              "_scaled_dot_product_fused_attention_overrideable"):
    _named(_name, _sdpa_rule)


@register_op("_native_multi_head_attention")
def _native_mha(args, kwargs, out) -> OpCost:
    """The fused multi-head attention of ``nn.MultiheadAttention``'s inference fast path:
    Q, K, V projections (L E^2, S E^2, S E^2 MACs per batch), the scores and the weighted sum
    (2 L S E) and the output projection (L E^2); the softmax over the scores and the bias
    additions of the four projections (L E for Q and the output, S E each for K and V) apart. Inference only: no
    backward."""
    q, k = args[0], args[1]
    e = q.shape[-1]
    n = _numel(q.shape[:-2])
    length, source = q.shape[-2], k.shape[-2]
    macs = n * (length * e * e + 2 * source * e * e + 2 * length * source * e + length * e * e)
    heads = int(args[4]) if len(args) > 4 else 1
    biases = n * e * (2 * length + 2 * source) if isinstance(args[6], torch.Tensor) else 0
    return OpCost(macs, 0, SOFTMAX_OPS * n * heads * length * source, "softmax",
                  more={"bias add": biases} if biases else None)


#: other ops per element: softmax (an exponential, an addition into the sum, a division)
SOFTMAX_OPS = 3
#: layer and group normalization: mean, variance, normalize, scale, shift (one op each)
NORM_OPS = 5


def _per_output(kind: str, per: int = 1) -> OpCostFn:
    def rule(args, kwargs, out) -> OpCost:
        o = out[0] if isinstance(out, (tuple, list)) else out
        return OpCost(other_ops=per * _numel(o.shape), other_kind=kind)
    return rule


def _per_input(kind: str, per: int = 1) -> OpCostFn:
    def rule(args, kwargs, out) -> OpCost:
        return OpCost(other_ops=per * _numel(args[0].shape), other_kind=kind)
    return rule


_ACTIVATION_OPS = ("relu", "relu6", "hardtanh", "gelu", "silu", "sigmoid", "tanh", "hardswish",
                   "hardsigmoid", "leaky_relu", "elu", "celu", "selu", "mish", "softplus",
                   "_prelu_kernel", "prelu", "threshold", "rrelu_with_noise", "glu", "log_sigmoid")
_ELEMENTWISE_OPS = ("add", "sub", "rsub", "mul", "div", "neg", "abs", "exp", "log", "log1p",
                    "sqrt", "rsqrt", "pow", "square", "clamp", "clamp_min", "clamp_max",
                    "maximum", "minimum", "where", "reciprocal", "sign", "erf", "erfinv", "sin",
                    "cos", "floor", "ceil", "round", "trunc", "remainder", "fmod", "lerp",
                    "addcmul", "addcdiv", "masked_fill", "eq", "ne", "lt", "le", "gt", "ge",
                    "logical_and", "logical_or", "logical_not", "bitwise_and", "bitwise_or",
                    "bitwise_not", "native_dropout", "bernoulli", "nan_to_num", "exp2", "atan2",
                    "_weight_norm_interface", "sgn", "frac", "xlogy", "hypot")
_REDUCTION_OPS = ("mean", "sum", "amax", "amin", "max", "min", "var", "var_mean", "std",
                  "std_mean", "norm", "linalg_vector_norm", "logsumexp", "prod", "argmax",
                  "argmin", "cumsum", "cumprod", "any", "all", "aminmax", "_weight_norm")
_BN_OPS = ("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
           "_native_batch_norm_legit_functional", "_batch_norm_with_update",
           "_batch_norm_with_update_functional", "_batch_norm_no_update", "cudnn_batch_norm",
           "miopen_batch_norm", "native_batch_norm_backward")
for _name in _ACTIVATION_OPS:
    OP_COSTS[_name] = _per_output("activation")
for _name in _ELEMENTWISE_OPS:
    OP_COSTS[_name] = _per_output("elementwise")
for _name in _REDUCTION_OPS:
    OP_COSTS[_name] = _per_input("reduction")
for _name in ("_softmax", "_safe_softmax", "softmax", "_log_softmax", "log_softmax"):
    OP_COSTS[_name] = _per_output("softmax", SOFTMAX_OPS)
for _name in _BN_OPS:
    OP_COSTS[_name] = _per_input("batch norm", 2)
for _name in ("native_layer_norm", "layer_norm", "native_group_norm", "group_norm", "rms_norm",
              "_fused_rms_norm", "native_instance_norm", "instance_norm"):
    OP_COSTS[_name] = _per_input("normalization", NORM_OPS)
OP_COSTS["_local_response_norm"] = _per_input("normalization", NORM_OPS)


def _window(args, dims: int) -> int:
    k = args[1]
    k = tuple(k) if isinstance(k, (tuple, list)) else (int(k),)
    return _numel(k * dims if len(k) == 1 else k)


for _dims in (1, 2, 3):
    def _pool_rule(args, kwargs, out, dims=_dims) -> OpCost:
        """Pooling: k comparisons or additions per output element."""
        o = out[0] if isinstance(out, (tuple, list)) else out
        return OpCost(other_ops=_numel(o.shape) * _window(args, dims), other_kind="pooling")
    for _name in (f"max_pool{_dims}d", f"max_pool{_dims}d_with_indices", f"avg_pool{_dims}d"):
        OP_COSTS[_name] = _pool_rule
    for _name in (f"adaptive_avg_pool{_dims}d", f"_adaptive_avg_pool{_dims}d",
                  f"adaptive_max_pool{_dims}d"):
        OP_COSTS[_name] = _per_input("pooling")

#: interpolation: the points each output element mixes (2 per linear axis, 4 per cubic axis)
for _name, _per in (("upsample_linear1d", 2), ("upsample_bilinear2d", 4), ("_upsample_bilinear2d_aa", 4),
                    ("upsample_trilinear3d", 8), ("upsample_bicubic2d", 16),
                    ("_upsample_bicubic2d_aa", 16), ("grid_sampler_2d", 4), ("grid_sampler_3d", 8)):
    OP_COSTS[_name] = _per_output("interpolation", _per)

#: Operators that do no arithmetic: views, allocations, copies, gathers, random fills.
FREE_OPS = frozenset("""
view _unsafe_view reshape _reshape_alias t transpose permute expand expand_as squeeze unsqueeze
select slice split split_with_sizes unsafe_split unsafe_split_with_sizes unsafe_chunk chunk unbind narrow as_strided alias detach clone contiguous
_to_copy copy to lift_fresh empty empty_like empty_strided new_empty new_empty_strided zeros
zeros_like new_zeros ones ones_like new_ones full full_like new_full fill zero arange linspace
cat stack constant_pad_nd pad reflection_pad1d reflection_pad2d reflection_pad3d
replication_pad1d replication_pad2d replication_pad3d flatten unflatten index_select gather index
_unsafe_index index_put _index_put_impl scatter masked_select roll flip repeat tile
upsample_nearest1d upsample_nearest2d upsample_nearest3d _upsample_nearest_exact1d
_upsample_nearest_exact2d _upsample_nearest_exact3d pixel_shuffle pixel_unshuffle
channel_shuffle native_channel_shuffle embedding randn rand randint normal uniform randperm
diagonal triu tril movedim split_copy unfold im2col col2im _local_scalar_dense
scalar_tensor sym_size sym_stride sym_numel resize _unsafe_view_copy view_as_real
view_as_complex repeat_interleave one_hot set slice_scatter select_scatter
""".split())


def op_name(func) -> str:
    """The registry key of an ATen op: its packet name, without the trailing ``_`` of an
    in-place variant (``relu_`` -> ``relu``)."""
    name = func._overloadpacket.__name__
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name


_register_book_layers()
