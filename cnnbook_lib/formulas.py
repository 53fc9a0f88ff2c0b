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
macs_sym = sp.Symbol("MACs", positive=True)

# ---------------------------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------------------------
#: Effective extent of a dilated kernel: k + (k - 1)(d - 1).
effective_kernel = d * (k - 1) + 1

#: Output size of a convolution (and of floor-mode pooling) along one axis.
conv_output = sp.floor((n + 2 * p - effective_kernel) / s) + 1

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
    "conv_params": conv_params_expr,
    "conv_macs": conv_macs_expr,
    "conv_transpose_macs": conv_transpose_macs_expr,
    "linear_params": linear_params_expr,
    "linear_macs": linear_macs_expr,
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
_tensor_bytes = _compile(tensor_bytes_expr, (numel, b))
_im2col_elements = _compile(im2col_elements_expr, (c_in, k_h, k_w, h_out, w_out, N))
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


# ---------------------------------------------------------------------------------------------
# Public numeric API
# ---------------------------------------------------------------------------------------------


def effective_kernel_size(k: int, d: int = 1) -> int:
    """Extent of a dilated kernel: ``k + (k - 1)(d - 1)``."""
    return _effective_kernel(_check_int("kernel", k, 1), _check_int("dilation", d, 1))


def _conv_axis(n_: int, k_: int, s_: int, p_: int, d_: int) -> tuple[int, int, int, int, int]:
    n_ = _check_int("input size n", n_, 1)
    k_ = _check_int("kernel", k_, 1)
    s_ = _check_int("stride", s_, 1)
    p_ = _check_int("padding", p_, 0)
    d_ = _check_int("dilation", d_, 1)
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
                     d: IntOrPair = 1):
    """Output size of a convolution: ``floor((n + 2p - d(k-1) - 1) / s) + 1``.

    Any argument may be a tuple (one entry per spatial axis); the result is then a tuple.
    Raises ``ValueError`` if the (dilated) kernel does not fit the padded input.
    """
    def one(n_, k_, s_, p_, d_):
        return _conv_output(*_conv_axis(n_, k_, s_, p_, d_))
    return _per_axis(one, n, k, s, p, d)


def pool_output_size(n: IntOrPair, k: IntOrPair, s: IntOrPair | None = None, p: IntOrPair = 0,
                     ceil_mode: bool = False, d: IntOrPair = 1):
    """Output size of max/average pooling, as ``torch.nn.MaxPool2d`` computes it.

    ``s`` defaults to ``k``. With ``ceil_mode`` the division rounds up, except that a last window
    starting inside the right padding is dropped. PyTorch requires ``p <= k // 2``.
    """
    if s is None:
        s = k

    def one(n_, k_, s_, p_, d_):
        n_, k_, s_, p_, d_ = _conv_axis(n_, k_, s_, p_, d_)
        if 2 * p_ > k_:
            raise ValueError(f"padding {p_} must be at most half the pooling kernel {k_}")
        return (_pool_output_ceil if ceil_mode else _conv_output)(n_, k_, s_, p_, d_)
    return _per_axis(one, n, k, s, p, d)


def conv_transpose_output_size(n: IntOrPair, k: IntOrPair, s: IntOrPair = 1, p: IntOrPair = 0,
                               output_padding: IntOrPair = 0, d: IntOrPair = 1):
    """Output size of a transposed convolution: ``(n-1)s - 2p + d(k-1) + output_padding + 1``.

    ``output_padding`` must be smaller than the stride or the dilation (as in PyTorch): it picks
    one of the ``s`` input sizes that a strided convolution maps to the same output size.
    """
    def one(n_, k_, s_, p_, op_, d_):
        n_ = _check_int("input size n", n_, 1)
        k_ = _check_int("kernel", k_, 1)
        s_ = _check_int("stride", s_, 1)
        p_ = _check_int("padding", p_, 0)
        op_ = _check_int("output_padding", op_, 0)
        d_ = _check_int("dilation", d_, 1)
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
    ci = _check_int("in_channels", c_in, 1)
    co = _check_int("out_channels", c_out, 1)
    gr = _check_int("groups", groups, 1)
    _check_groups(ci, co, gr)
    kh, kw = _kernel_hw(k)
    return _conv_params(ci, co, kh, kw, gr, int(bool(bias)))


def conv_macs(c_in: int, c_out: int, k: IntOrPair, out_hw: IntOrPair, groups: int = 1,
              batch: int = 1) -> int:
    """Multiply-accumulates of a convolution: ``N * C_out * H_out * W_out * (C_in / G) * k_h * k_w``.

    ``out_hw`` is the output's spatial size: an int (square) or a tuple of any rank.
    Bias additions are not MACs (see :func:`conv_bias_adds`).
    """
    ci = _check_int("in_channels", c_in, 1)
    co = _check_int("out_channels", c_out, 1)
    gr = _check_int("groups", groups, 1)
    _check_groups(ci, co, gr)
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
    ci = _check_int("in_channels", c_in, 1)
    co = _check_int("out_channels", c_out, 1)
    gr = _check_int("groups", groups, 1)
    _check_groups(ci, co, gr)
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
    return tensor_bytes((_check_int("batch", batch, 1), _check_int("out_channels", c_out, 1), ho, wo),
                        dtype)


def conv_backward_cache_bytes(c_in: int, in_hw: IntOrPair, batch: int = 1, dtype="float32") -> int:
    """Bytes a convolution saves for backward: its input, ``N * C_in * H_in * W_in * b``."""
    hi, wi = _spatial_hw("input size", in_hw)
    return tensor_bytes((_check_int("batch", batch, 1), _check_int("in_channels", c_in, 1), hi, wi),
                        dtype)


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


# =============================================================================================
# Receptive fields (section owned by cnnbook_lib.receptive)
# =============================================================================================


# =============================================================================================
# Convolution algorithms: Winograd, FFT (section owned by cnnbook_lib.algorithms)
# =============================================================================================


# =============================================================================================
# Roofline and arithmetic intensity (section owned by cnnbook_lib.bench)
# =============================================================================================
