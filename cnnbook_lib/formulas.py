"""Formulas of convolution arithmetic and cost: the single place where each one is written.

Every formula is a sympy expression over the symbols below. The book displays them with
``sympy.latex``, the static interactives evaluate them through ``sympy.jscode``, and the numeric
functions at the end of this module are generated from them with ``sympy.lambdify``. The numeric
functions validate their inputs and raise ``ValueError`` naming the offending parameter.

Conventions (see the book's notation appendix):

* shapes are NCHW; ``n`` is one spatial size (height or width), ``k`` a kernel size;
* one multiply-accumulate (MAC) is two floating-point operations (FLOPs);
* bias additions are not part of a layer's MACs (they are "other ops", as in
  ``torch.utils.flop_counter.FlopCounterMode``);
* memory is counted in bytes, ``b`` bytes per element (4 for float32).

References: Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016);
the shape formulas in the documentation of ``torch.nn.Conv2d``, ``ConvTranspose2d`` and
``MaxPool2d``.
"""
from __future__ import annotations

import math
import operator
from fractions import Fraction
from typing import Sequence, Union

import sympy as sp

IntOrPair = Union[int, Sequence[int]]

# ---------------------------------------------------------------------------------------------
# Symbols
# ---------------------------------------------------------------------------------------------
_pos = dict(integer=True, positive=True)
_nonneg = dict(integer=True, nonnegative=True)

n = sp.Symbol("n", **_pos)                 # input size along one spatial axis
k = sp.Symbol("k", **_pos)                 # kernel size along that axis
s = sp.Symbol("s", **_pos)                 # stride
p = sp.Symbol("p", **_nonneg)              # zero padding on each side
d = sp.Symbol("d", **_pos)                 # dilation
op = sp.Symbol("p_out", **_nonneg)         # output_padding of a transposed convolution
k_h, k_w = sp.symbols("k_h k_w", **_pos)   # kernel height and width
h_in, w_in = sp.symbols("H_in W_in", **_pos)
h_out, w_out = sp.symbols("H_out W_out", **_pos)
c_in, c_out = sp.symbols("C_in C_out", **_pos)
g = sp.Symbol("G", **_pos)                 # groups
N = sp.Symbol("N", **_pos)                 # batch size
beta = sp.Symbol("beta", **_nonneg)        # 1 if the layer has a bias, else 0
f_in, f_out = sp.symbols("F_in F_out", **_pos)   # features of a dense (linear) layer
b = sp.Symbol("b", **_pos)                 # bytes per element
numel = sp.Symbol("numel", **_pos)         # number of elements of a tensor
ch = sp.Symbol("C", **_pos)                # channels (features) of a normalization layer
n_o = sp.Symbol("n_out", **_pos)           # output size along one spatial axis
macs_sym = sp.Symbol("MACs", positive=True)

# ---------------------------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------------------------
#: Effective extent of a dilated kernel: k + (k - 1)(d - 1).
effective_kernel = d * (k - 1) + 1

#: Output size of a convolution (and of floor-mode pooling) along one axis.
conv_output = sp.floor((n + 2 * p - effective_kernel) / s) + 1

#: Input extent spanned by n_out windows of a (dilated) kernel at stride s: (n_out - 1) s + k_eff.
window_span_expr = (n_o - 1) * s + effective_kernel
#: How far the last of n_out windows reaches past the padded input (0 when it fits): the extra
#: padding a ceil-mode pooling needs on the bottom/right to be computed as a floor-mode one.
window_overhang_expr = sp.Max(0, window_span_expr - (n + 2 * p))

#: Pooling with ``ceil_mode=True`` (PyTorch): round up, but drop a last window that would start
#: entirely in the right padding.
_pool_ceil_raw = sp.ceiling((n + 2 * p - effective_kernel) / s) + 1
pool_output_ceil = sp.Piecewise(
    (_pool_ceil_raw - 1, (_pool_ceil_raw - 1) * s >= n + p),
    (_pool_ceil_raw, True),
)

#: Output size of a transposed convolution along one axis.
conv_transpose_output = (n - 1) * s - 2 * p + effective_kernel + op

#: Parameters of a 2-D convolution: weights C_out * (C_in / G) * k_h * k_w, plus C_out biases.
conv_params_expr = c_out * (c_in / g) * k_h * k_w + beta * c_out

#: Multiply-accumulates of a 2-D convolution: one per weight per output position.
conv_macs_expr = N * c_out * h_out * w_out * (c_in / g) * k_h * k_w

#: Multiply-accumulates of a transposed convolution: every input position scatters a
#: (C_out / G) x k_h x k_w block.
conv_transpose_macs_expr = N * c_in * h_in * w_in * (c_out / g) * k_h * k_w

#: Parameters and MACs of a dense layer applied to N feature vectors.
linear_params_expr = f_in * f_out + beta * f_out
linear_macs_expr = N * f_in * f_out
#: Parameters of batch normalization with a learned scale and shift: 2 per channel (gamma, beta;
#: the running mean and variance are buffers, not parameters).
batchnorm_params_expr = 2 * ch

#: One MAC is two FLOPs.
flops_per_mac = sp.Integer(2)
flops_expr = flops_per_mac * macs_sym

#: Bytes of a tensor.
tensor_bytes_expr = numel * b
#: Bytes of the output activations of a convolution.
conv_activation_bytes_expr = N * c_out * h_out * w_out * b
#: Bytes a convolution keeps for its backward pass: its input (needed for the weight gradient).
conv_backward_cache_bytes_expr = N * c_in * h_in * w_in * b
#: Elements of the im2col patch matrix: one column of C_in * k_h * k_w values per output position.
im2col_elements_expr = N * c_in * k_h * k_w * h_out * w_out

#: Backward pass of a convolution, in MACs. The input gradient is a transposed convolution
#: with the same weights and the weight gradient a correlation of the input with the output
#: gradient; each performs exactly the forward pass's multiply-accumulates (grouped included).
conv_grad_input_macs_expr = conv_macs_expr
conv_grad_weight_macs_expr = conv_macs_expr

#: Depthwise-separable (k x k depthwise + 1 x 1 pointwise) over standard convolution, in MACs.
_depthwise_macs = N * c_in * h_out * w_out * k ** 2
_pointwise_macs = N * c_in * c_out * h_out * w_out
_standard_macs = N * c_in * c_out * h_out * w_out * k ** 2
separable_ratio = sp.simplify(sp.expand((_depthwise_macs + _pointwise_macs) / _standard_macs))
#: Grouped over ungrouped convolution (parameters or MACs, without bias).
grouped_ratio = sp.simplify(conv_macs_expr / conv_macs_expr.subs(g, 1))

#: Symbolic expressions by name, for the book and the interactives.
EXPRESSIONS: dict[str, sp.Expr] = {
    "effective_kernel": effective_kernel,
    "conv_output": conv_output,
    "pool_output_ceil": pool_output_ceil,
    "conv_transpose_output": conv_transpose_output,
    "window_span": window_span_expr,
    "window_overhang": window_overhang_expr,
    "conv_params": conv_params_expr,
    "conv_macs": conv_macs_expr,
    "conv_transpose_macs": conv_transpose_macs_expr,
    "linear_params": linear_params_expr,
    "linear_macs": linear_macs_expr,
    "batchnorm_params": batchnorm_params_expr,
    "flops": flops_expr,
    "tensor_bytes": tensor_bytes_expr,
    "conv_activation_bytes": conv_activation_bytes_expr,
    "conv_backward_cache_bytes": conv_backward_cache_bytes_expr,
    "im2col_elements": im2col_elements_expr,
    "conv_grad_input_macs": conv_grad_input_macs_expr,
    "conv_grad_weight_macs": conv_grad_weight_macs_expr,
    "separable_ratio": separable_ratio,
    "grouped_ratio": grouped_ratio,
}

# ---------------------------------------------------------------------------------------------
# Numeric functions generated from the expressions
# ---------------------------------------------------------------------------------------------


def _compile(expr: sp.Expr, args: Sequence[sp.Symbol]):
    """Lambdify ``expr``; the wrapper feeds it Fractions so divisions stay exact."""
    fn = sp.lambdify(args, expr, modules="math")

    def exact(*values):
        out = fn(*(Fraction(v) for v in values))
        if isinstance(out, Fraction) and out.denominator == 1:
            return int(out)
        return out

    exact.__name__ = getattr(fn, "__name__", "formula")
    exact.expr = expr
    return exact


_effective_kernel = _compile(effective_kernel, (k, d))
_conv_output = _compile(conv_output, (n, k, s, p, d))
_pool_output_ceil = _compile(pool_output_ceil, (n, k, s, p, d))
_conv_transpose_output = _compile(conv_transpose_output, (n, k, s, p, op, d))
_conv_params = _compile(conv_params_expr, (c_in, c_out, k_h, k_w, g, beta))
_conv_macs = _compile(conv_macs_expr, (c_in, c_out, k_h, k_w, h_out, w_out, g, N))
_conv_transpose_macs = _compile(conv_transpose_macs_expr, (c_in, c_out, k_h, k_w, h_in, w_in, g, N))
_linear_params = _compile(linear_params_expr, (f_in, f_out, beta))
_linear_macs = _compile(linear_macs_expr, (f_in, f_out, N))
_batchnorm_params = _compile(batchnorm_params_expr, (ch,))
_window_span = _compile(window_span_expr, (n_o, k, s, d))
_window_overhang = _compile(window_overhang_expr, (n, n_o, k, s, p, d))
_tensor_bytes = _compile(tensor_bytes_expr, (numel, b))
_im2col_elements = _compile(im2col_elements_expr, (c_in, k_h, k_w, h_out, w_out, N))
_conv_activation_bytes = _compile(conv_activation_bytes_expr, (c_out, h_out, w_out, N, b))
_conv_backward_cache_bytes = _compile(conv_backward_cache_bytes_expr, (c_in, h_in, w_in, N, b))
_separable_ratio = _compile(separable_ratio, (c_out, k))
_grouped_ratio = _compile(grouped_ratio, (g,))

#: Bytes per element of the dtypes the book uses.
DTYPE_BYTES: dict[str, int] = {
    "float64": 8, "float32": 4, "tf32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1,
    "int32": 4, "int64": 8, "bool": 1,
}

# ---------------------------------------------------------------------------------------------
# Validation helpers: every error names the parameter and its value
# ---------------------------------------------------------------------------------------------


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        value = operator.index(value)          # ints and NumPy integers; not floats or strings
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        if minimum == 1:
            raise ValueError(f"{name} must be a positive integer (>= 1), got {value}")
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def _pair(name: str, value: IntOrPair, length: int | None = None) -> tuple[int, ...]:
    """Turn an int or a sequence of ints into a tuple (an int is repeated ``length`` times)."""
    if isinstance(value, (list, tuple)):
        if length is not None and len(value) != length:
            raise ValueError(f"{name} must have {length} entries, got {value!r}")
        if len(value) == 0:
            raise ValueError(f"{name} must not be empty")
        return tuple(value)
    return (value,) * (length or 2)


def bytes_per_element(dtype) -> int:
    """Bytes of one element of ``dtype`` (a name such as ``"float32"`` or a ``torch.dtype``)."""
    name = str(dtype).replace("torch.", "")
    if name not in DTYPE_BYTES:
        raise ValueError(f"dtype {dtype!r} is unknown; valid: {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[name]


def _check_groups(c_in_v: int, c_out_v: int, groups: int) -> None:
    if c_in_v % groups:
        raise ValueError(f"groups {groups} does not divide in_channels {c_in_v}")
    if c_out_v % groups:
        raise ValueError(f"groups {groups} does not divide out_channels {c_out_v}")


def _channels(c_in_v, c_out_v, groups) -> tuple[int, int, int]:
    """Validate in_channels, out_channels and groups (which must divide both)."""
    ci = _check_int("in_channels", c_in_v, 1)
    co = _check_int("out_channels", c_out_v, 1)
    gr = _check_int("groups", groups, 1)
    _check_groups(ci, co, gr)
    return ci, co, gr


# ---------------------------------------------------------------------------------------------
# Public numeric API
# ---------------------------------------------------------------------------------------------


def effective_kernel_size(k: int, d: int = 1) -> int:
    """Extent of a dilated kernel: ``k + (k - 1)(d - 1)``."""
    return _effective_kernel(_check_int("kernel", k, 1), _check_int("dilation", d, 1))


def _check_ksdp(k_, s_, d_, p_) -> tuple[int, int, int, int]:
    """Validate kernel, stride, dilation and padding of one axis."""
    return (_check_int("kernel", k_, 1), _check_int("stride", s_, 1),
            _check_int("dilation", d_, 1), _check_int("padding", p_, 0))


def _conv_axis(n_: int, k_: int, s_: int, p_: int, d_: int) -> tuple[int, int, int, int, int]:
    n_ = _check_int("input size n", n_, 1)
    k_, s_, d_, p_ = _check_ksdp(k_, s_, d_, p_)
    eff = _effective_kernel(k_, d_)
    if eff > n_ + 2 * p_:
        raise ValueError(
            f"kernel {k_} (effective {eff}) is larger than padded input {n_ + 2 * p_} "
            f"(n={n_}, p={p_})"
        )
    return n_, k_, s_, p_, d_


def _per_axis(fn, *args):
    """Apply a one-axis function to ints, or axis by axis when any argument is a tuple."""
    lengths = {len(a) for a in args if isinstance(a, (list, tuple))}
    if not lengths:
        return fn(*args)
    if len(lengths) > 1:
        raise ValueError(f"tuple arguments have different lengths: {args!r}")
    (length,) = lengths
    cols = [a if isinstance(a, (list, tuple)) else (a,) * length for a in args]
    return tuple(fn(*vals) for vals in zip(*cols))


def conv_output_size(n: IntOrPair, k: IntOrPair, s: IntOrPair = 1, p: IntOrPair = 0,
                     d: IntOrPair = 1) -> int | tuple[int, ...]:
    """Output size of a convolution: ``floor((n + 2p - d(k-1) - 1) / s) + 1``.

    Any argument may be a tuple (one entry per spatial axis); the result is then a tuple.
    Raises ``ValueError`` if the (dilated) kernel does not fit the padded input.
    """
    def one(n_, k_, s_, p_, d_):
        return _conv_output(*_conv_axis(n_, k_, s_, p_, d_))
    return _per_axis(one, n, k, s, p, d)


def pool_output_size(n: IntOrPair, k: IntOrPair, s: IntOrPair | None = None, p: IntOrPair = 0,
                     ceil_mode: bool = False, d: IntOrPair = 1) -> int | tuple[int, ...]:
    """Output size of max/average pooling, as ``torch.nn.MaxPool2d`` computes it.

    ``s`` defaults to ``k``. With ``ceil_mode`` the division rounds up, except that a last window
    starting inside the right padding is dropped; a window may then overhang the padded input,
    so a kernel larger than the padded input still gives one output when
    ``d(k-1) + 1 < n + 2p + s`` (as in PyTorch). PyTorch requires ``p <= k // 2``.
    """
    if s is None:
        s = k

    def one(n_, k_, s_, p_, d_):
        if not ceil_mode:
            n_, k_, s_, p_, d_ = _conv_axis(n_, k_, s_, p_, d_)
        else:                   # the kernel need not fit: checked on the output size below
            n_ = _check_int("input size n", n_, 1)
            k_, s_, d_, p_ = _check_ksdp(k_, s_, d_, p_)
        if 2 * p_ > k_:
            raise ValueError(f"padding {p_} must be at most half the pooling kernel {k_}")
        if not ceil_mode:
            return _conv_output(n_, k_, s_, p_, d_)
        out = _pool_output_ceil(n_, k_, s_, p_, d_)
        if out < 1:
            raise ValueError(
                f"kernel {k_} (effective {_effective_kernel(k_, d_)}) is too large for padded "
                f"input {n_ + 2 * p_} even with ceil_mode (n={n_}, p={p_}, s={s_})")
        return out
    return _per_axis(one, n, k, s, p, d)


def conv_transpose_output_size(n: IntOrPair, k: IntOrPair, s: IntOrPair = 1, p: IntOrPair = 0,
                               output_padding: IntOrPair = 0, d: IntOrPair = 1
                               ) -> int | tuple[int, ...]:
    """Output size of a transposed convolution: ``(n-1)s - 2p + d(k-1) + output_padding + 1``.

    ``output_padding`` must be smaller than the stride or the dilation (as in PyTorch): it picks
    one of the ``s`` input sizes that a strided convolution maps to the same output size.
    """
    def one(n_, k_, s_, p_, op_, d_):
        n_ = _check_int("input size n", n_, 1)
        k_, s_, d_, p_ = _check_ksdp(k_, s_, d_, p_)
        op_ = _check_int("output_padding", op_, 0)
        if op_ >= s_ and op_ >= d_:
            raise ValueError(
                f"output_padding {op_} must be smaller than either stride {s_} or dilation {d_}")
        out = _conv_transpose_output(n_, k_, s_, p_, op_, d_)
        if out < 1:
            raise ValueError(
                f"padding {p_} is too large: transposed output size would be {out} "
                f"(n={n_}, k={k_}, s={s_}, d={d_})")
        return out
    return _per_axis(one, n, k, s, p, output_padding, d)


def window_span(n_out: IntOrPair, k: IntOrPair, s: IntOrPair = 1, d: IntOrPair = 1
                ) -> int | tuple[int, ...]:
    """Input extent covered by ``n_out`` windows of kernel ``k`` at stride ``s``, dilation ``d``:
    ``(n_out - 1) s + d(k - 1) + 1`` (any argument may be a tuple, one entry per axis)."""
    def one(n_out_, k_, s_, d_):
        k_, s_, d_, _ = _check_ksdp(k_, s_, d_, 0)
        return _window_span(_check_int("output size n_out", n_out_, 1), k_, s_, d_)
    return _per_axis(one, n_out, k, s, d)


def window_overhang(n: IntOrPair, n_out: IntOrPair, k: IntOrPair, s: IntOrPair = 1,
                    p: IntOrPair = 0, d: IntOrPair = 1) -> int | tuple[int, ...]:
    """How far the last of ``n_out`` windows reaches past the input of size ``n`` padded by ``p``
    on each side: ``max(0, (n_out - 1) s + d(k - 1) + 1 - (n + 2p))``, the extra bottom/right
    padding after which a ceil-mode pooling is a floor-mode one (any argument may be a tuple)."""
    def one(n_, n_out_, k_, s_, p_, d_):
        k_, s_, d_, p_ = _check_ksdp(k_, s_, d_, p_)
        return _window_overhang(_check_int("input size n", n_, 1),
                                _check_int("output size n_out", n_out_, 1), k_, s_, p_, d_)
    return _per_axis(one, n, n_out, k, s, p, d)


def _kernel_hw(k_: IntOrPair) -> tuple[int, int]:
    """Reduce a kernel size of any rank to (k_h, k_w): an int is square, (k1, ..., kn) -> (k1*...*k(n-1), kn)."""
    ks = _pair("kernel", k_)
    ks = tuple(_check_int("kernel", v, 1) for v in ks)
    return math.prod(ks[:-1]), ks[-1]


def _spatial_hw(name: str, hw: IntOrPair) -> tuple[int, int]:
    vals = tuple(_check_int(name, v, 1) for v in _pair(name, hw))
    return math.prod(vals[:-1]), vals[-1]


def conv_params(c_in: int, c_out: int, k: IntOrPair, groups: int = 1, bias: bool = True) -> int:
    """Parameters of a convolution: ``C_out * (C_in / G) * k_h * k_w + C_out`` (bias).

    ``k`` is an int (square kernel) or a tuple (``(k_h, k_w)``, or any rank for 1-D/3-D).
    """
    ci, co, gr = _channels(c_in, c_out, groups)
    kh, kw = _kernel_hw(k)
    return _conv_params(ci, co, kh, kw, gr, int(bool(bias)))


def conv_macs(c_in: int, c_out: int, k: IntOrPair, out_hw: IntOrPair, groups: int = 1,
              batch: int = 1) -> int:
    """Multiply-accumulates of a convolution: ``N * C_out * H_out * W_out * (C_in / G) * k_h * k_w``.

    ``out_hw`` is the output's spatial size: an int (square) or a tuple of any rank.
    Bias additions are not MACs (see :func:`conv_bias_adds`).
    """
    ci, co, gr = _channels(c_in, c_out, groups)
    kh, kw = _kernel_hw(k)
    ho, wo = _spatial_hw("output size", out_hw)
    return _conv_macs(ci, co, kh, kw, ho, wo, gr, _check_int("batch", batch, 1))


def conv_flops(c_in: int, c_out: int, k: IntOrPair, out_hw: IntOrPair, groups: int = 1,
               batch: int = 1) -> int:
    """FLOPs of a convolution, 2 per MAC (the convention of ``FlopCounterMode``)."""
    return macs_to_flops(conv_macs(c_in, c_out, k, out_hw, groups, batch))


def macs_to_flops(macs: int) -> int:
    """Two FLOPs per multiply-accumulate."""
    return int(flops_per_mac) * macs


def conv_transpose_macs(c_in: int, c_out: int, k: IntOrPair, in_hw: IntOrPair, groups: int = 1,
                        batch: int = 1) -> int:
    """MACs of a transposed convolution: ``N * C_in * H_in * W_in * (C_out / G) * k_h * k_w``."""
    ci, co, gr = _channels(c_in, c_out, groups)
    kh, kw = _kernel_hw(k)
    hi, wi = _spatial_hw("input size", in_hw)
    return _conv_transpose_macs(ci, co, kh, kw, hi, wi, gr, _check_int("batch", batch, 1))


def conv_bias_adds(c_out: int, out_hw: IntOrPair, batch: int = 1) -> int:
    """Additions performed by a convolution's bias: one per output element."""
    ho, wo = _spatial_hw("output size", out_hw)
    return _check_int("batch", batch, 1) * _check_int("out_channels", c_out, 1) * ho * wo


def conv_backward_macs(c_in: int, c_out: int, k: IntOrPair, out_hw: IntOrPair, groups: int = 1,
                       batch: int = 1, input_grad: bool = True, weight_grad: bool = True) -> int:
    """MACs of a convolution's backward pass: input gradient plus weight gradient.

    Each equals the forward MACs, for grouped and depthwise convolutions too (a grouped weight
    gradient correlates C_in / G input channels with C_out / G output channels per group).
    ``FlopCounterMode`` in PyTorch counts the grouped weight gradient G times too high.
    """
    fwd = conv_macs(c_in, c_out, k, out_hw, groups, batch)
    return fwd * (int(bool(input_grad)) + int(bool(weight_grad)))


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a dense layer: ``F_in * F_out + F_out``."""
    return _linear_params(_check_int("in_features", in_features, 1),
                          _check_int("out_features", out_features, 1), int(bool(bias)))


def linear_macs(in_features: int, out_features: int, batch: int = 1) -> int:
    """MACs of a dense layer applied to ``batch`` vectors: ``N * F_in * F_out``."""
    return _linear_macs(_check_int("in_features", in_features, 1),
                        _check_int("out_features", out_features, 1),
                        _check_int("batch", batch, 1))


def batchnorm_params(num_features: int, affine: bool = True) -> int:
    """Parameters of batch normalization: ``2 C`` (a scale and a shift per channel), 0 without
    ``affine``."""
    c = _check_int("num_features", num_features, 1)
    return _batchnorm_params(c) if affine else 0


def tensor_bytes(shape_or_numel, dtype="float32") -> int:
    """Bytes of a tensor of the given shape (or element count) and dtype."""
    if isinstance(shape_or_numel, (list, tuple)):
        count = math.prod(_check_int("shape entry", v, 0) for v in shape_or_numel)
    else:
        count = _check_int("numel", shape_or_numel, 0)
    if count == 0:
        return 0
    return _tensor_bytes(count, bytes_per_element(dtype))


def conv_activation_bytes(c_out: int, out_hw: IntOrPair, batch: int = 1, dtype="float32") -> int:
    """Bytes of a convolution's output: ``N * C_out * H_out * W_out * b``."""
    ho, wo = _spatial_hw("output size", out_hw)
    return _conv_activation_bytes(_check_int("out_channels", c_out, 1), ho, wo,
                                  _check_int("batch", batch, 1), bytes_per_element(dtype))


def conv_backward_cache_bytes(c_in: int, in_hw: IntOrPair, batch: int = 1, dtype="float32") -> int:
    """Bytes a convolution saves for backward: its input, ``N * C_in * H_in * W_in * b``."""
    hi, wi = _spatial_hw("input size", in_hw)
    return _conv_backward_cache_bytes(_check_int("in_channels", c_in, 1), hi, wi,
                                      _check_int("batch", batch, 1), bytes_per_element(dtype))


def im2col_elements(c_in: int, k: IntOrPair, out_hw: IntOrPair, batch: int = 1) -> int:
    """Elements of the im2col patch matrix: ``N * (C_in * k_h * k_w) * (H_out * W_out)``."""
    kh, kw = _kernel_hw(k)
    ho, wo = _spatial_hw("output size", out_hw)
    return _im2col_elements(_check_int("in_channels", c_in, 1), kh, kw, ho, wo,
                            _check_int("batch", batch, 1))


def im2col_bytes(c_in: int, k: IntOrPair, out_hw: IntOrPair, batch: int = 1, dtype="float32") -> int:
    """Bytes of the im2col patch matrix."""
    return tensor_bytes(im2col_elements(c_in, k, out_hw, batch), dtype)


def separable_cost_ratio(c_out: int, k: int) -> Fraction:
    """MACs of depthwise-separable over standard convolution: ``1/C_out + 1/k^2`` (exact)."""
    return Fraction(_separable_ratio(_check_int("out_channels", c_out, 1), _check_int("kernel", k, 1)))


def grouped_cost_ratio(groups: int) -> Fraction:
    """MACs (and weights) of a grouped over an ungrouped convolution: ``1/G`` (exact)."""
    return Fraction(_grouped_ratio(_check_int("groups", groups, 1)))


# ---------------------------------------------------------------------------------------------
# The operation itself, element by element
# ---------------------------------------------------------------------------------------------
x_in, w_k, bias_v = sp.IndexedBase("x"), sp.IndexedBase("w"), sp.IndexedBase("b")
o_ch, c_ch = sp.symbols("o c", integer=True, nonnegative=True)       # output / input channel
i_out, j_out = sp.symbols("i j", integer=True, nonnegative=True)     # output position
u_k, v_k = sp.symbols("u v", integer=True, nonnegative=True)         # kernel offset

#: What a convolution layer computes (a cross-correlation, as torch.nn.Conv2d): output channel o
#: at position (i, j) of an input already zero-padded, stride s, dilation d, one group.
cross_correlation_expr = sp.Sum(
    w_k[o_ch, c_ch, u_k, v_k] * x_in[c_ch, s * i_out + d * u_k, s * j_out + d * v_k],
    (c_ch, 0, c_in - 1), (u_k, 0, k_h - 1), (v_k, 0, k_w - 1)) + bias_v[o_ch]
#: True (flipped-kernel) convolution of one channel, stride 1, as in signal processing.
true_convolution_expr = sp.Sum(w_k[u_k, v_k] * x_in[i_out - u_k, j_out - v_k],
                               (u_k, 0, k_h - 1), (v_k, 0, k_w - 1))

EXPRESSIONS["cross_correlation"] = cross_correlation_expr
EXPRESSIONS["true_convolution"] = true_convolution_expr


# ---------------------------------------------------------------------------------------------
# Self-attention, for comparison with convolution
# ---------------------------------------------------------------------------------------------
tokens = sp.Symbol("T", **_pos)            # positions (tokens) a layer attends over
dim = sp.Symbol("D", **_pos)               # model width (channels) of attention

#: Multiply-accumulates of one multi-head self-attention layer on N sequences of T tokens of
#: width D: the Q, K, V and output projections (4 T D^2) plus the scores Q K^T and their weighted
#: sum of V (T^2 D each). The head count does not change it; softmax and scaling are other ops.
attention_macs_expr = N * (4 * tokens * dim ** 2 + 2 * tokens ** 2 * dim)

EXPRESSIONS["attention_macs"] = attention_macs_expr
_attention_macs = _compile(attention_macs_expr, (tokens, dim, N))


def attention_macs(tokens: int, dim: int, batch: int = 1) -> int:
    """MACs of a self-attention layer: ``N (4 T D^2 + 2 T^2 D)`` (Vaswani et al. 2017)."""
    return _attention_macs(_check_int("tokens", tokens, 1), _check_int("dim", dim, 1),
                           _check_int("batch", batch, 1))


# ---------------------------------------------------------------------------------------------
# Memory of a training step
# ---------------------------------------------------------------------------------------------
n_params = sp.Symbol("N_params", **_nonneg)   # parameters of a model
n_states = sp.Symbol("m_opt", **_nonneg)      # optimizer state tensors kept per parameter
act_bytes = sp.Symbol("A", **_nonneg)         # bytes of saved activations at batch N
batch_new = sp.Symbol("N_new", **_pos)        # the batch size to scale to

#: Optimizer state: ``m_opt`` values per parameter (Adam two moments, SGD with momentum one).
optimizer_state_bytes_expr = n_states * n_params * b
#: Saved activations grow linearly with the batch: ``floor(A N_new / N)`` bytes at batch N_new.
scaled_activation_bytes_expr = sp.floor(act_bytes * batch_new / N)

EXPRESSIONS.update({
    "optimizer_state_bytes": optimizer_state_bytes_expr,
    "scaled_activation_bytes": scaled_activation_bytes_expr,
})
_optimizer_state_bytes = _compile(optimizer_state_bytes_expr, (n_states, n_params, b))
_scaled_activation_bytes = _compile(scaled_activation_bytes_expr, (act_bytes, N, batch_new))

#: State tensors an optimizer keeps per parameter (each the parameter's shape and dtype).
OPTIMIZER_STATES: dict[str, int] = {"adam": 2, "adamw": 2, "sgd_momentum": 1, "sgd": 0}


def optimizer_states(optimizer: str) -> int:
    """State values ``optimizer`` keeps per parameter (``"adam"``, ``"adamw"``,
    ``"sgd_momentum"``, ``"sgd"``)."""
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"optimizer {optimizer!r} is unknown; valid: {', '.join(OPTIMIZER_STATES)}")
    return OPTIMIZER_STATES[optimizer]


def optimizer_state_bytes(params: int, optimizer: str = "adam", dtype="float32") -> int:
    """Bytes of an optimizer's state for ``params`` parameters: ``m_opt * N_params * b``."""
    states = optimizer_states(optimizer)
    count = _check_int("params", params, 0)
    if count == 0 or states == 0:
        return 0
    return _optimizer_state_bytes(states, count, bytes_per_element(dtype))


def scaled_activation_bytes(nbytes: int, batch: int, new_batch: int) -> int:
    """Saved-activation bytes ``nbytes`` measured at ``batch``, scaled linearly to ``new_batch``:
    ``floor(A N_new / N)``."""
    return _scaled_activation_bytes(_check_int("activation bytes", nbytes, 0),
                                    _check_int("batch", batch, 1),
                                    _check_int("new batch", new_batch, 1))


# =============================================================================================
# Receptive fields (section owned by cnnbook_lib.receptive)
# =============================================================================================
# One spatial axis of a stack of layers (Araujo, Norris & Sim, "Computing Receptive Fields of
# Convolutional Neural Networks", Distill 2019; Dumoulin & Visin 2016). After a layer, a unit's
# field has size r (input pixels), neighbouring units are j input pixels apart (the jump, or
# effective stride) and the first unit's field is centred on input coordinate u (the start; it may
# be fractional or negative). A layer with kernel k, stride s, dilation d and padding p maps
# (r, j, u) to the values below; the input itself is (1, 1, 0).
rf_r = sp.Symbol("r", **_pos)              # receptive field size before the layer
rf_j = sp.Symbol("j", **_pos)              # jump (effective stride) before the layer
rf_u = sp.Symbol("u", real=True)           # start: centre of the first unit's field
rf_L = sp.Symbol("L", **_pos)              # number of layers

#: Field size after a layer: the dilated kernel adds (k_eff - 1) steps of the incoming jump.
rf_size_step = rf_r + (effective_kernel - 1) * rf_j
#: Jump after a layer: strides multiply.
rf_jump_step = rf_j * s
#: Start after a layer: the first window is centred (k_eff - 1)/2 - p input steps to the right.
rf_start_step = rf_u + ((effective_kernel - 1) / 2 - p) * rf_j
#: Effective padding: how far the first unit's field reaches left of the input, (r - 1)/2 - u.
rf_padding_expr = (rf_r - 1) / 2 - rf_u
#: L stride-1 layers of kernel k: the field grows linearly, 1 + L (k - 1).
rf_stride1_closed = 1 + rf_L * (k - 1)

_rf_l, _rf_i = sp.symbols("l i", integer=True, positive=True)
_rf_k, _rf_s = sp.IndexedBase("k"), sp.IndexedBase("s")
#: Closed form of the size recurrence for any stack (k_l: effective kernel of layer l):
#: r = 1 + sum_l (k_l - 1) prod_{i<l} s_i.
rf_size_closed = 1 + sp.Sum((_rf_k[_rf_l] - 1) * sp.Product(_rf_s[_rf_i], (_rf_i, 1, _rf_l - 1)),
                            (_rf_l, 1, rf_L))

EXPRESSIONS.update({
    "rf_size_step": rf_size_step,
    "rf_jump_step": rf_jump_step,
    "rf_start_step": rf_start_step,
    "rf_padding": rf_padding_expr,
    "rf_stride1_closed": rf_stride1_closed,
    "rf_size_closed": rf_size_closed,
})

_rf_size_step = _compile(rf_size_step, (rf_r, rf_j, k, d))
_rf_jump_step = _compile(rf_jump_step, (rf_j, s))
_rf_start_step = _compile(rf_start_step, (rf_u, rf_j, k, d, p))
_rf_padding = _compile(rf_padding_expr, (rf_r, rf_u))
_rf_stride1_closed = _compile(rf_stride1_closed, (rf_L, k))


def _exact(value) -> Fraction | int:
    """Lambdify prints the coefficient 1/2 as a float; starts are multiples of 1/2, so the float
    is exact and converts back to a Fraction without loss."""
    value = Fraction(value)
    return int(value) if value.denominator == 1 else value


def receptive_field_step(r: int, j: int, u, k: int, s: int = 1, d: int = 1, p: int = 0):
    """One layer of the receptive-field recurrence along one axis: ``(r, j, u) -> (r', j', u')``.

    ``r' = r + (k_eff - 1) j``, ``j' = j s``, ``u' = u + ((k_eff - 1)/2 - p) j`` with
    ``k_eff = d (k - 1) + 1``. ``u`` (the start) is exact: an int or a ``Fraction``.
    """
    r = _check_int("receptive field size r", r, 1)
    j = _check_int("jump j", j, 1)
    k, s, d, p = _check_ksdp(k, s, d, p)
    u = Fraction(u)
    return (_rf_size_step(r, j, k, d), _rf_jump_step(j, s), _exact(_rf_start_step(u, j, k, d, p)))


def receptive_field_padding(r: int, u) -> int:
    """Effective padding ``(r - 1)/2 - u`` of a field of size ``r`` whose first unit is centred on
    ``u``: how many pixels the first unit's field reaches left of (above) the input."""
    return _exact(_rf_padding(_check_int("receptive field size r", r, 1), Fraction(u)))


def stride1_receptive_field(layers: int, k: int) -> int:
    """Receptive field of ``layers`` stride-1 layers of kernel ``k``: ``1 + L (k - 1)``."""
    return _rf_stride1_closed(_check_int("layers", layers, 0), _check_int("kernel", k, 1))


# =============================================================================================
# Convolution algorithms: Winograd, FFT (section owned by cnnbook_lib.algorithms)
# =============================================================================================
# Fast algorithms trade multiplications for additions and memory. Winograd's minimal filtering
# algorithm F(m, r) computes m outputs of an r-tap correlation with m + r - 1 multiplications
# instead of m * r (Winograd 1980; Lavin & Gray, "Fast algorithms for convolutional neural
# networks", CVPR 2016). The matrices are derived here by Toom-Cook, never typed in.
from functools import lru_cache as _lru_cache  # noqa: E402

wino_m = sp.Symbol("m", **_pos)            # output tile size of Winograd F(m x m, r x r)
wino_r = sp.Symbol("r", **_pos)            # kernel size of Winograd F(m x m, r x r)
h_f, w_f = sp.symbols("H_f W_f", **_pos)   # FFT size (the padded input) along each axis

#: Output tiles of Winograd F(m x m, r x r) along one axis of n_out outputs: ceil(n_out / m).
winograd_axis_tiles_expr = sp.ceiling(n_o / wino_m)
#: Output tiles of Winograd F(m x m, r x r) per image and channel: ceil(H_out/m) * ceil(W_out/m)
#: (a last partial tile is computed in full and cropped).
winograd_tiles_expr = (winograd_axis_tiles_expr.subs(n_o, h_out)
                       * winograd_axis_tiles_expr.subs(n_o, w_out))
#: Elementwise multiplications of Winograd F(m x m, r x r): (m + r - 1)^2 per tile per
#: (input channel, output channel) pair. The transforms use additions and constant scalings only.
winograd_mults_expr = N * c_in * c_out * winograd_tiles_expr * (wino_m + wino_r - 1) ** 2
#: Multiplication reduction of Winograd over direct convolution for whole tiles: m^2 r^2 / (m + r - 1)^2
#: (2.25 for F(2x2, 3x3), 4 for F(4x4, 3x3)).
winograd_reduction_expr = (wino_m * wino_r) ** 2 / (wino_m + wino_r - 1) ** 2
#: Elements of the transformed tensors Winograd keeps: input tiles V (N C_in T (m+r-1)^2),
#: transformed kernels U (C_out C_in (m+r-1)^2) and products M (N C_out T (m+r-1)^2).
winograd_workspace_elements_expr = ((N * c_in + N * c_out) * winograd_tiles_expr
                                    + c_in * c_out) * (wino_m + wino_r - 1) ** 2
#: Complex values of one real 2-D FFT of size H_f x W_f (``torch.fft.rfft2`` keeps half the
#: last axis, by Hermitian symmetry).
rfft2_elements_expr = h_f * (sp.floor(w_f / 2) + 1)
#: Pointwise complex products of FFT convolution: one per frequency per (C_in, C_out) pair
#: per image. The transforms are counted apart (see :func:`fft_transform_multiplications`).
fft_products_expr = N * c_in * c_out * rfft2_elements_expr
#: Real multiplications of one complex product: (a + ib)(c + id) = (ac - bd) + i(ad + bc).
real_mults_per_complex_product = sp.Integer(4)
#: Real multiplications of the pointwise products of FFT convolution.
fft_real_mults_expr = real_mults_per_complex_product * fft_products_expr
#: Complex values of the spectra FFT convolution keeps: input (N C_in), kernels (C_out C_in)
#: and output (N C_out), each of rfft2_elements.
fft_workspace_complex_expr = (N * c_in + c_out * c_in + N * c_out) * rfft2_elements_expr
#: Real multiplications of one real 2-D FFT of H_f W_f = L points, estimated as L log2 L: half
#: of a radix-2 complex FFT's (L/2) log2 L butterflies x 4 real multiplications, halved again
#: because the input is real. An order-of-magnitude estimate, not an exact count.
rfft2_mults_estimate_expr = h_f * w_f * sp.log(h_f * w_f, 2)

EXPRESSIONS.update({
    "winograd_axis_tiles": winograd_axis_tiles_expr,
    "winograd_tiles": winograd_tiles_expr,
    "winograd_mults": winograd_mults_expr,
    "winograd_reduction": winograd_reduction_expr,
    "winograd_workspace_elements": winograd_workspace_elements_expr,
    "rfft2_elements": rfft2_elements_expr,
    "fft_products": fft_products_expr,
    "fft_real_mults": fft_real_mults_expr,
    "fft_workspace_complex": fft_workspace_complex_expr,
    "rfft2_mults_estimate": rfft2_mults_estimate_expr,
})


def winograd_matrices(m: int = 2, r: int = 3, points: Sequence | None = None
                      ) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """Transform matrices ``(A^T, G, B^T)`` of Winograd's F(m, r), derived by Toom-Cook.

    One output tile is ``y = A^T [(G g) * (B^T d)]`` (``*`` elementwise) for a kernel ``g`` of r
    taps and an input tile ``d`` of ``m + r - 1`` values; in 2-D,
    ``Y = A^T [(G g G^T) * (B^T d B)] A``.

    Derivation. The linear convolution ``c = g * h`` of polynomials of degrees r-1 and m-1 has
    degree m+r-2, so it is fixed by its values at ``alpha = m + r - 1`` points (here 0, 1, -1,
    2, -2, ..., and infinity, where a polynomial "evaluates" to its leading coefficient). With
    Vandermonde matrices ``V_g`` (alpha x r), ``V_h`` (alpha x m), ``V`` (alpha x alpha):
    ``c = V^-1 [(V_g g) * (V_h h)] = M(g) h``. Correlation, which a CNN layer computes, is the
    transpose ``y = M(g)^T d = V_h^T [(V_g g) * (V^-T d)]``, so ``A^T = V_h^T``, ``G = V_g`` and
    ``B^T = V^-T``. Finally each row of ``B^T`` is scaled to integers and ``G`` takes the
    inverse scale, so the input transform needs additions only. For F(2, 3) this gives Lavin &
    Gray's matrices up to the sign of the last row of ``B^T`` and last column of ``A^T`` (a
    sign convention that cancels); we flip those signs to print the published matrices.
    """
    return tuple(mat.as_mutable() for mat in _winograd_matrices(
        _check_int("m", m, 1), _check_int("r", r, 1), None if points is None else tuple(points)))


@_lru_cache(maxsize=None)
def _winograd_matrices(m: int, r: int, points: tuple | None):
    alpha = m + r - 1
    if points is None:
        finite = [sp.Integer(0)]
        j = 1
        while len(finite) < alpha - 1:
            finite += [sp.Integer(j), sp.Integer(-j)]
            j += 1
        points = finite[:alpha - 1] + [sp.oo]
    points = list(points)
    if len(points) != alpha:
        raise ValueError(f"points must have m + r - 1 = {alpha} entries, got {len(points)}")

    def vandermonde(cols: int) -> sp.Matrix:
        rows = []
        for x in points:
            if x == sp.oo:
                rows.append([0] * (cols - 1) + [1])
            else:
                rows.append([sp.Integer(x) ** i for i in range(cols)])
        return sp.Matrix(rows)

    a_t = vandermonde(m).T
    g_mat = vandermonde(r)
    b_t = vandermonde(alpha).inv().T
    for i in range(alpha):                         # integer B^T rows, scale moved into G
        scale = sp.ilcm(1, *[sp.fraction(v)[1] for v in b_t.row(i)])
        b_t[i, :] = b_t.row(i) * scale
        g_mat[i, :] = g_mat.row(i) / scale
    if m == 2 and r == 3 and points == [0, 1, -1, sp.oo]:
        b_t[alpha - 1, :] = -b_t.row(alpha - 1)     # the published sign convention
        a_t[:, alpha - 1] = -a_t.col(alpha - 1)
    return a_t.as_immutable(), g_mat.as_immutable(), b_t.as_immutable()


@_lru_cache(maxsize=None)
def winograd_identity_holds(m: int = 2, r: int = 3) -> bool:
    """Check symbolically that ``A^T [(G g) * (B^T d)]`` is the correlation ``y_i = sum_j g_j d_{i+j}``
    for symbolic ``g`` and ``d``, in 1-D and in the nested 2-D form."""
    a_t, g_mat, b_t = winograd_matrices(m, r)
    alpha = m + r - 1
    gs = sp.Matrix(sp.symbols(f"g0:{r}"))
    ds = sp.Matrix(sp.symbols(f"d0:{alpha}"))
    y = a_t * (g_mat * gs).multiply_elementwise(b_t * ds)
    ok = all(sp.expand(y[i] - sum(gs[j] * ds[i + j] for j in range(r))) == 0 for i in range(m))
    g2 = sp.Matrix(r, r, lambda i, j: sp.Symbol(f"g{i}_{j}"))
    d2 = sp.Matrix(alpha, alpha, lambda i, j: sp.Symbol(f"d{i}_{j}"))
    y2 = a_t * (g_mat * g2 * g_mat.T).multiply_elementwise(b_t * d2 * b_t.T) * a_t.T
    for i in range(m):
        for j in range(m):
            ref = sum(g2[u, v] * d2[i + u, j + v] for u in range(r) for v in range(r))
            ok = ok and sp.expand(y2[i, j] - ref) == 0
    return bool(ok)


_winograd_axis_tiles = _compile(winograd_axis_tiles_expr, (n_o, wino_m))
_winograd_tiles = _compile(winograd_tiles_expr, (h_out, w_out, wino_m))
_winograd_mults = _compile(winograd_mults_expr, (c_in, c_out, h_out, w_out, N, wino_m, wino_r))
_winograd_workspace = _compile(winograd_workspace_elements_expr,
                               (c_in, c_out, h_out, w_out, N, wino_m, wino_r))
_rfft2_elements = _compile(rfft2_elements_expr, (h_f, w_f))
_fft_products = _compile(fft_products_expr, (c_in, c_out, h_f, w_f, N))
_fft_real_mults = _compile(fft_real_mults_expr, (c_in, c_out, h_f, w_f, N))
_fft_workspace = _compile(fft_workspace_complex_expr, (c_in, c_out, h_f, w_f, N))


def winograd_tiles(out_hw: IntOrPair, m: int = 2) -> int:
    """Output tiles of F(m x m, .): ``ceil(H_out / m) * ceil(W_out / m)``."""
    ho, wo = _spatial_hw("output size", out_hw)
    return _winograd_tiles(ho, wo, _check_int("m", m, 1))


def winograd_tile_grid(out_hw: IntOrPair, m: int = 2) -> tuple[int, int]:
    """Output tiles of F(m x m, .) along each axis: ``(ceil(H_out / m), ceil(W_out / m))``."""
    ho, wo = _spatial_hw("output size", out_hw)
    m = _check_int("m", m, 1)
    return _winograd_axis_tiles(ho, m), _winograd_axis_tiles(wo, m)


def winograd_multiplications(c_in: int, c_out: int, out_hw: IntOrPair, batch: int = 1,
                             m: int = 2, r: int = 3) -> int:
    """Elementwise multiplications of Winograd F(m x m, r x r):
    ``N * C_in * C_out * ceil(H_out/m) * ceil(W_out/m) * (m + r - 1)^2``."""
    ho, wo = _spatial_hw("output size", out_hw)
    return _winograd_mults(_check_int("in_channels", c_in, 1), _check_int("out_channels", c_out, 1),
                           ho, wo, _check_int("batch", batch, 1), _check_int("m", m, 1),
                           _check_int("r", r, 1))


def winograd_workspace_elements(c_in: int, c_out: int, out_hw: IntOrPair, batch: int = 1,
                                m: int = 2, r: int = 3) -> int:
    """Elements of Winograd's transformed input V, kernels U and products M."""
    ho, wo = _spatial_hw("output size", out_hw)
    return _winograd_workspace(_check_int("in_channels", c_in, 1),
                               _check_int("out_channels", c_out, 1), ho, wo,
                               _check_int("batch", batch, 1), _check_int("m", m, 1),
                               _check_int("r", r, 1))


def rfft2_elements(fft_hw: IntOrPair) -> int:
    """Complex values of ``torch.fft.rfft2`` of a real H_f x W_f array: ``H_f * (floor(W_f/2) + 1)``."""
    hf, wf = _spatial_hw("FFT size", fft_hw)
    return _rfft2_elements(hf, wf)


def fft_products(c_in: int, c_out: int, fft_hw: IntOrPair, batch: int = 1) -> int:
    """Pointwise complex products of FFT convolution: ``N * C_in * C_out * H_f * (floor(W_f/2) + 1)``."""
    hf, wf = _spatial_hw("FFT size", fft_hw)
    return _fft_products(_check_int("in_channels", c_in, 1), _check_int("out_channels", c_out, 1),
                         hf, wf, _check_int("batch", batch, 1))


def fft_real_multiplications(c_in: int, c_out: int, fft_hw: IntOrPair, batch: int = 1) -> int:
    """Real multiplications of the pointwise products of FFT convolution, 4 per complex product:
    ``4 N C_in C_out H_f (floor(W_f/2) + 1)``."""
    hf, wf = _spatial_hw("FFT size", fft_hw)
    return _fft_real_mults(_check_int("in_channels", c_in, 1), _check_int("out_channels", c_out, 1),
                           hf, wf, _check_int("batch", batch, 1))


def fft_workspace_complex(c_in: int, c_out: int, fft_hw: IntOrPair, batch: int = 1) -> int:
    """Complex values of the input, kernel and output spectra of FFT convolution."""
    hf, wf = _spatial_hw("FFT size", fft_hw)
    return _fft_workspace(_check_int("in_channels", c_in, 1), _check_int("out_channels", c_out, 1),
                          hf, wf, _check_int("batch", batch, 1))


def fft_transform_multiplications(c_in: int, c_out: int, fft_hw: IntOrPair, batch: int = 1) -> int:
    """Estimated real multiplications of the transforms of FFT convolution: ``N C_in`` forward
    input transforms, ``C_out C_in`` kernel transforms and ``N C_out`` inverse transforms, each
    ``L log2 L`` with ``L = H_f W_f`` (rounded up). An estimate: real FFT libraries differ."""
    hf, wf = _spatial_hw("FFT size", fft_hw)
    ci = _check_int("in_channels", c_in, 1)
    co = _check_int("out_channels", c_out, 1)
    nb = _check_int("batch", batch, 1)
    per = float(rfft2_mults_estimate_expr.subs({h_f: hf, w_f: wf}))
    return math.ceil((nb * ci + co * ci + nb * co) * per)


# =============================================================================================
# Roofline and arithmetic intensity (section owned by cnnbook_lib.bench)
# =============================================================================================
# The roofline model (Williams, Waterman & Patterson, CACM 2009): a kernel cannot run faster
# than its arithmetic at the peak FLOP rate, nor faster than its unavoidable memory traffic at
# the peak bandwidth. The unavoidable traffic of a convolution is reading its input and weights
# once and writing its output once.
peak_flops = sp.Symbol("P", positive=True)      # peak arithmetic throughput, FLOP/s
bandwidth = sp.Symbol("B_mem", positive=True)   # peak memory bandwidth, bytes/s
work = sp.Symbol("W_flops", positive=True)      # FLOPs of a kernel
traffic = sp.Symbol("Q", positive=True)         # bytes a kernel moves
seconds = sp.Symbol("t", positive=True)         # a measured time, seconds
copy_size = sp.Symbol("S", positive=True)       # bytes of the buffer a copy reads (and writes)
mm_m, mm_k, mm_n = sp.symbols("M_A K_A N_B", **_pos)   # A is M x K, B is K x N

#: Minimum bytes of a convolution: input + weights + output, each touched once
#: (``b * (N C_in H_in W_in + C_out (C_in/G) k_h k_w + N C_out H_out W_out)``; bias not counted).
conv_min_bytes_expr = b * (N * c_in * h_in * w_in + c_out * (c_in / g) * k_h * k_w
                           + N * c_out * h_out * w_out)
#: Arithmetic intensity: FLOPs per byte of minimum traffic.
arithmetic_intensity_expr = work / traffic
#: Convolution arithmetic intensity in closed form: ``2 MACs / minimum bytes``.
conv_intensity_expr = flops_per_mac * conv_macs_expr / conv_min_bytes_expr
#: Naive prediction: FLOPs over the peak FLOP rate, as if memory were free.
flops_only_time_expr = work / peak_flops
#: Memory time: the bytes a kernel moves over the peak bandwidth, as if arithmetic were free.
memory_time_expr = traffic / bandwidth
#: Roofline time: the larger of the compute time and the memory time.
roofline_time_expr = sp.Max(flops_only_time_expr, memory_time_expr)
#: Bandwidth of a copy of S bytes taking t seconds: each byte is read once and written once.
copy_bandwidth_expr = 2 * copy_size / seconds
#: Multiply-accumulates of a matrix product (M x K) @ (K x N): one per output per inner index.
matmul_macs_expr = mm_m * mm_k * mm_n
#: Ridge point: the intensity (FLOP/byte) at which a kernel stops being memory bound.
ridge_point_expr = peak_flops / bandwidth

EXPRESSIONS.update({
    "conv_min_bytes": conv_min_bytes_expr,
    "arithmetic_intensity": arithmetic_intensity_expr,
    "conv_intensity": conv_intensity_expr,
    "roofline_time": roofline_time_expr,
    "flops_only_time": flops_only_time_expr,
    "memory_time": memory_time_expr,
    "copy_bandwidth": copy_bandwidth_expr,
    "matmul_macs": matmul_macs_expr,
    "ridge_point": ridge_point_expr,
})

_conv_min_elements = _compile(conv_min_bytes_expr.subs(b, 1),
                              (c_in, c_out, k_h, k_w, h_in, w_in, h_out, w_out, g, N))
_memory_time = _compile(memory_time_expr, (traffic, bandwidth))
_copy_bandwidth = _compile(copy_bandwidth_expr, (copy_size, seconds))
_matmul_macs = _compile(matmul_macs_expr, (mm_m, mm_k, mm_n))


def conv_min_bytes(c_in: int, c_out: int, k: IntOrPair, in_hw: IntOrPair, out_hw: IntOrPair,
                   groups: int = 1, batch: int = 1, dtype="float32") -> int:
    """Minimum bytes a convolution moves: input, weights and output once each,
    ``b * (N C_in H_in W_in + C_out (C_in/G) k_h k_w + N C_out H_out W_out)``."""
    ci, co, gr = _channels(c_in, c_out, groups)
    kh, kw = _kernel_hw(k)
    hi, wi = _spatial_hw("input size", in_hw)
    ho, wo = _spatial_hw("output size", out_hw)
    elements = _conv_min_elements(ci, co, kh, kw, hi, wi, ho, wo, gr, _check_int("batch", batch, 1))
    return tensor_bytes(elements, dtype)


def _check_positive(name: str, value) -> float:
    value = float(value)
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def arithmetic_intensity(flops: float, nbytes: float) -> float:
    """FLOPs per byte: ``W / Q``."""
    return _check_positive("flops", flops) / _check_positive("bytes", nbytes)


def roofline_time(flops: float, nbytes: float, peak: float, bw: float) -> float:
    """Roofline lower bound on run time, seconds: ``max(W / P, Q / B)``."""
    return max(_check_positive("flops", flops) / _check_positive("peak FLOP/s", peak),
               _check_positive("bytes", nbytes) / _check_positive("bandwidth", bw))


def flops_only_time(flops: float, peak: float) -> float:
    """Naive prediction, seconds: ``W / P``."""
    return _check_positive("flops", flops) / _check_positive("peak FLOP/s", peak)


def ridge_point(peak: float, bw: float) -> float:
    """Intensity where the roofline bends, FLOP/byte: ``P / B``."""
    return _check_positive("peak FLOP/s", peak) / _check_positive("bandwidth", bw)


def memory_time(nbytes: float, bw: float) -> float:
    """Time to move ``nbytes`` at the peak bandwidth, seconds: ``Q / B``."""
    return float(_memory_time(_check_positive("bytes", nbytes), _check_positive("bandwidth", bw)))


def copy_bandwidth(nbytes: float, seconds: float) -> float:
    """Bandwidth of a copy of ``nbytes`` bytes that took ``seconds``, bytes/s: ``2 S / t`` (every
    byte read once and written once)."""
    return float(_copy_bandwidth(_check_positive("bytes", nbytes),
                                 _check_positive("seconds", seconds)))


def matmul_macs(m: int, k: int, n: int) -> int:
    """MACs of a matrix product ``(m x k) @ (k x n)``: ``M K N`` (FLOPs: :func:`macs_to_flops`)."""
    return _matmul_macs(_check_int("m", m, 1), _check_int("k", k, 1), _check_int("n", n, 1))
