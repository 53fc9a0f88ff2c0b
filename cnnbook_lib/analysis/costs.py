"""The two cost registries of :func:`cnnbook_lib.analysis.summarize` (each a
:class:`~cnnbook_lib.tracing.Registry`: one rule per key, a second registration raises).

* ``OP_COSTS``: one small function per ATen operator (keyed by its op packet; ``register_op``
  takes names or ops), called for every op dispatched during the trace (as
  ``torch/utils/flop_counter.py`` does). Matrix products, convolutions and attention give
  multiply-accumulates (MACs) and their backward MACs, and carry the flag ``counts_macs``; other
  operators give "other ops" of a named kind (element-wise, reduction, softmax, normalization,
  pooling, interpolation). Views, allocations and copies are free (flag ``free``). An operator
  without a rule is *uncosted*: the summary lists it by name with its count, never drops it.
* ``COSTS``: one function per layer type for the "other ops" of the classic layers (batch norm,
  activations, pooling, local response normalization), in the book's counting conventions.
  Ops dispatched inside such a layer are priced by the layer's rule, except the operators flagged
  ``counts_macs``, which are always counted where they are dispatched. A subclass uses its base's
  rule only when it does not override ``forward``; otherwise it is costed by the operators it
  executes.

Adding an operator is adding one function: ``@register_op("name", counts_macs=True)`` above a
function ``(args, kwargs, out) -> OpCost``.

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

from ..tracing import Registry, op_key, op_name

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


def _layer_type(t) -> type:
    if not (isinstance(t, type) and issubclass(t, nn.Module)):
        raise TypeError(f"register: types must be torch.nn.Module subclasses, got {t!r}")
    return t


#: layer type -> rule ``fn(module, input, output) -> Cost``
COSTS = Registry("analysis.COSTS", key=_layer_type)


def register(*types: type):
    """Register a layer rule (``fn(module, input, output) -> Cost``) for layer types; a type
    that already has a rule raises ``ValueError``."""
    if not types:
        raise TypeError("register: types must be torch.nn.Module subclasses, got none")
    return COSTS.register(*types)


def layer_rule(module: nn.Module) -> CostFn | None:
    """The rule for ``module``: its type's, or a base type's when ``forward`` is inherited."""
    cls = type(module)
    rule = COSTS.lookup(cls)
    if rule is not None:
        return rule
    for base in cls.__mro__[1:]:
        rule = COSTS.lookup(base)
        if rule is not None:
            return rule if cls.forward is base.forward else None
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


def _op(name):
    if isinstance(name, str) and not name:
        raise ValueError("register_op: names must be non-empty ATen op names, got ''")
    try:
        return op_key(name)
    except (TypeError, ValueError) as err:
        raise type(err)(f"register_op: names must be ATen ops or their names: {err}") from None


#: ATen op packet (an in-place variant counts as its out-of-place op) -> operator rule
OP_COSTS = Registry("analysis.OP_COSTS", flags={"counts_macs": False, "free": False}, key=_op)


def register_op(*names, counts_macs: bool = False):
    """Register an operator rule ``fn(args, kwargs, out) -> OpCost`` under ATen ops (names such
    as ``"mm"`` or ``torch.ops.aten.mm``). ``counts_macs``: the op's MACs are counted wherever it
    runs, also inside a layer priced by its own rule. An op that already has a rule raises
    ``ValueError``."""
    if not names:
        raise TypeError("register_op: names must be ATen ops or their names, got none")
    if not isinstance(counts_macs, bool):
        raise TypeError(f"register_op: counts_macs must be True or False, got {counts_macs!r}")
    return OP_COSTS.register(*names, counts_macs=counts_macs)


def _bias_adds(bias, out) -> int:
    return _numel(out.shape) if isinstance(bias, torch.Tensor) else 0


def _product(op, a: int, b: int, bias: int | None = None) -> OpCostFn:
    """Matrix products ``A B`` (``bias + A B``): torch's own FLOP formula for ``op``, halved;
    backward one product per operand that requires a gradient; the bias additions apart."""
    formula = flop_registry[op]

    def rule(args, kwargs, out) -> OpCost:
        macs = int(formula(*args, **kwargs, out_val=out)) // 2
        adds = _bias_adds(args[bias] if bias is not None else None, out)
        return OpCost(macs, macs * (_rg(args[a]) + _rg(args[b])), adds, "bias add" if adds else "")
    rule.__doc__ = _product.__doc__
    return rule


register_op("mm", counts_macs=True)(_product(aten.mm, 0, 1))
register_op("bmm", counts_macs=True)(_product(aten.bmm, 0, 1))
register_op("addmm", counts_macs=True)(_product(aten.addmm, 1, 2, bias=0))
register_op("baddbmm", counts_macs=True)(_product(aten.baddbmm, 1, 2, bias=0))


@register_op("mv", "dot", "vdot", "addmv", counts_macs=True)
def _vector_products(args, kwargs, out) -> OpCost:
    """Matrix-vector and dot products: one MAC per element of the matrix (or of the vectors)."""
    i = 1 if len(args) > 2 and isinstance(args[2], torch.Tensor) else 0
    a, b = args[i], args[i + 1]
    macs = _numel(a.shape)
    return OpCost(macs, macs * (_rg(a) + _rg(b)))


def _conv(bias: int | None, transposed: int | None = None) -> OpCostFn:
    """Convolution (and transposed): torch's forward formula (``conv_flop_count``); backward
    ours, forward MACs for the input gradient and for the weight gradient (correct for groups,
    unlike torch's); the bias additions apart. ``bias`` and ``transposed``: the positions of
    those arguments in the op's signature (None: it has none)."""
    def rule(args, kwargs, out) -> OpCost:
        x, w = args[0], args[1]
        flipped = transposed is not None and len(args) > transposed and bool(args[transposed])
        macs = _fc.conv_flop_count(x.shape, w.shape, out.shape, transposed=flipped) // 2
        adds = _bias_adds(args[bias] if bias is not None and len(args) > bias else None, out)
        return OpCost(macs, macs * (_rg(x) + _rg(w)), adds, "bias add" if adds else "")
    rule.__doc__ = _conv.__doc__
    return rule


register_op("convolution", "_convolution", "convolution_overrideable",
            counts_macs=True)(_conv(bias=2, transposed=6))
register_op("cudnn_convolution", counts_macs=True)(_conv(bias=None))
register_op("_slow_conv2d_forward", counts_macs=True)(_conv(bias=3))


@register_op("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
             "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
             "_scaled_dot_product_fused_attention_overrideable", counts_macs=True)
def _sdpa(args, kwargs, out) -> OpCost:
    """Fused attention ``softmax(Q K^T / sqrt(d)) V``: torch's ``sdpa_flop_count`` (two batched
    products) and ``sdpa_backward_flop_count`` (four), plus the softmax over the scores."""
    q, k, v = args[:3]
    macs = _fc.sdpa_flop_count(q.shape, k.shape, v.shape) // 2
    o = out[0] if isinstance(out, (tuple, list)) else out
    back = (_fc.sdpa_backward_flop_count(o.shape, q.shape, k.shape, v.shape) // 2
            if _rg(q) or _rg(k) or _rg(v) else 0)
    scores = _numel(q.shape[:-1]) * k.shape[-2]
    return OpCost(macs, back, SOFTMAX_OPS * scores, "softmax")


@register_op("_native_multi_head_attention", counts_macs=True)
def _native_mha(args, kwargs, out) -> OpCost:
    """The fused multi-head attention of ``nn.MultiheadAttention``'s inference fast path:
    Q, K, V projections (L E^2, S E^2, S E^2 MACs per batch), the scores and the weighted sum
    (2 L S E) and the output projection (L E^2); the softmax over the scores and the bias
    additions of the four projections (L E for Q and the output, S E each for K and V) apart.
    Inference only: no backward."""
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
    """``per`` other ops of ``kind`` per output element."""
    def rule(args, kwargs, out) -> OpCost:
        o = out[0] if isinstance(out, (tuple, list)) else out
        return OpCost(other_ops=per * _numel(o.shape), other_kind=kind)
    rule.__doc__ = f"{per} {kind} op(s) per output element."
    return rule


def _per_input(kind: str, per: int = 1) -> OpCostFn:
    """``per`` other ops of ``kind`` per input element."""
    def rule(args, kwargs, out) -> OpCost:
        return OpCost(other_ops=per * _numel(args[0].shape), other_kind=kind)
    rule.__doc__ = f"{per} {kind} op(s) per input element."
    return rule


register_op("relu", "relu6", "hardtanh", "gelu", "silu", "sigmoid", "tanh", "hardswish",
            "hardsigmoid", "leaky_relu", "elu", "celu", "selu", "mish", "softplus",
            "_prelu_kernel", "prelu", "threshold", "rrelu_with_noise", "glu",
            "log_sigmoid")(_per_output("activation"))
register_op("add", "sub", "rsub", "mul", "div", "neg", "abs", "exp", "log", "log1p", "sqrt",
            "rsqrt", "pow", "square", "clamp", "clamp_min", "clamp_max", "maximum", "minimum",
            "where", "reciprocal", "sign", "erf", "erfinv", "sin", "cos", "floor", "ceil", "round",
            "trunc", "remainder", "fmod", "lerp", "addcmul", "addcdiv", "masked_fill", "eq", "ne",
            "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not", "bitwise_and",
            "bitwise_or", "bitwise_not", "native_dropout", "bernoulli", "nan_to_num", "exp2",
            "atan2", "_weight_norm_interface", "sgn", "frac", "xlogy",
            "hypot")(_per_output("elementwise"))
register_op("mean", "sum", "amax", "amin", "max", "min", "var", "var_mean", "std", "std_mean",
            "norm", "linalg_vector_norm", "logsumexp", "prod", "argmax", "argmin", "cumsum",
            "cumprod", "any", "all", "aminmax", "_weight_norm")(_per_input("reduction"))
register_op("_softmax", "_safe_softmax", "softmax", "_log_softmax",
            "log_softmax")(_per_output("softmax", SOFTMAX_OPS))
register_op("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
            "_native_batch_norm_legit_functional", "_batch_norm_with_update",
            "_batch_norm_with_update_functional", "_batch_norm_no_update", "cudnn_batch_norm",
            "miopen_batch_norm", "native_batch_norm_backward")(_per_input("batch norm", 2))
register_op("native_layer_norm", "layer_norm", "native_group_norm", "group_norm", "rms_norm",
            "_fused_rms_norm", "instance_norm")(_per_input("normalization", NORM_OPS))


def _pooling(dims: int) -> OpCostFn:
    """Pooling over ``dims`` axes: k comparisons or additions per output element."""
    def rule(args, kwargs, out) -> OpCost:
        o = out[0] if isinstance(out, (tuple, list)) else out
        k = args[1]
        k = tuple(k) if isinstance(k, (tuple, list)) else (int(k),)
        window = _numel(k * dims if len(k) == 1 else k)
        return OpCost(other_ops=_numel(o.shape) * window, other_kind="pooling")
    rule.__doc__ = _pooling.__doc__
    return rule


register_op("max_pool1d", "max_pool1d_with_indices", "avg_pool1d")(_pooling(1))
register_op("max_pool2d", "max_pool2d_with_indices", "avg_pool2d")(_pooling(2))
register_op("max_pool3d", "max_pool3d_with_indices", "avg_pool3d")(_pooling(3))
register_op("adaptive_avg_pool1d", "adaptive_avg_pool2d", "_adaptive_avg_pool2d",
            "adaptive_avg_pool3d", "_adaptive_avg_pool3d", "adaptive_max_pool1d",
            "adaptive_max_pool2d", "adaptive_max_pool3d")(_per_input("pooling"))

#: interpolation: the points each output element mixes (2 per linear axis, 4 per cubic axis)
register_op("upsample_linear1d")(_per_output("interpolation", 2))
register_op("upsample_bilinear2d", "_upsample_bilinear2d_aa",
            "grid_sampler_2d")(_per_output("interpolation", 4))
register_op("upsample_trilinear3d", "grid_sampler_3d")(_per_output("interpolation", 8))
register_op("upsample_bicubic2d", "_upsample_bicubic2d_aa")(_per_output("interpolation", 16))


def _free_op(args, kwargs, out) -> OpCost:
    """Operators that do no arithmetic: views, allocations, copies, gathers, random fills. They
    are not listed among a layer's ops."""
    return OpCost()


OP_COSTS.register(*"""
view _unsafe_view reshape _reshape_alias t transpose permute expand expand_as squeeze unsqueeze
select slice split split_with_sizes unsafe_split unsafe_split_with_sizes unsafe_chunk chunk
unbind narrow as_strided alias detach clone contiguous _to_copy copy to lift_fresh empty
empty_like empty_strided new_empty new_empty_strided zeros zeros_like new_zeros ones ones_like
new_ones full full_like new_full fill zero arange linspace cat stack constant_pad_nd pad
reflection_pad1d reflection_pad2d reflection_pad3d replication_pad1d replication_pad2d
replication_pad3d flatten unflatten index_select gather index _unsafe_index index_put
_index_put_impl scatter masked_select roll flip repeat tile upsample_nearest1d upsample_nearest2d
upsample_nearest3d _upsample_nearest_exact1d _upsample_nearest_exact2d _upsample_nearest_exact3d
pixel_shuffle pixel_unshuffle channel_shuffle native_channel_shuffle embedding randn rand randint
normal uniform randperm diagonal triu tril movedim split_copy unfold im2col col2im
_local_scalar_dense scalar_tensor sym_size sym_stride sym_numel resize view_as_real
view_as_complex repeat_interleave one_hot set slice_scatter select_scatter
""".split(), free=True)(_free_op)

#: the names of the free operators
FREE_OPS = frozenset(op_name(k) for k in OP_COSTS.keys_of(_free_op))

_register_book_layers()
