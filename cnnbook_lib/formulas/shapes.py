"""Output sizes along one spatial axis: convolution, pooling (floor and ceil mode), transposed
convolution, dilation, and the input extent a row of windows spans.

References: Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016); the
shape formulas in the documentation of ``torch.nn.Conv2d``, ``ConvTranspose2d`` and ``MaxPool2d``.
"""
from __future__ import annotations

from functools import partial

import sympy as sp

from .display import display_form

from ..validation import check_flag, check_int
from ._core import EXPRESSIONS, IntOrPair, _check_ksdp, _compile, _per_axis, d, k, n, n_o, op, p, s

__all__ = ["effective_kernel", "conv_output", "window_span_expr", "window_overhang_expr",
           "pool_output_ceil", "conv_transpose_output", "effective_kernel_size",
           "conv_output_size", "pool_output_size", "conv_transpose_output_size", "window_span",
           "window_overhang"]

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

# The display forms: these formulas as the book prints them (proven equal in the tests).
display_form("effective_kernel", r"k_\text{eff}", r"d(k - 1) + 1", effective_kernel)
display_form("conv_output", r"n_\text{out}",
             r"\left\lfloor \frac{n + 2p - d(k - 1) - 1}{s} \right\rfloor + 1", conv_output)
display_form("conv_output_undilated", r"n_\text{out}",
             r"\left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1", conv_output.subs(d, 1))
display_form("conv_transpose_output", r"n_\text{out}",
             r"(n - 1)s - 2p + d(k - 1) + p_\text{out} + 1", conv_transpose_output)
# Ceil mode, with m the rounded-up count (shown beside it in the book).
display_form("pool_output_ceil", r"n_\text{out}^\text{ceil}",
             r"\begin{cases} m - 1 & \text{if } s(m - 1) \ge n + p \\ m & \text{otherwise} "
             r"\end{cases}", pool_output_ceil, symbols={"m": _pool_ceil_raw})

EXPRESSIONS.update({
    "effective_kernel": effective_kernel,
    "conv_output": conv_output,
    "pool_output_ceil": pool_output_ceil,
    "conv_transpose_output": conv_transpose_output,
    "window_span": window_span_expr,
    "window_overhang": window_overhang_expr,
})

_effective_kernel = _compile(effective_kernel, (k, d))
_conv_output = _compile(conv_output, (n, k, s, p, d))
_pool_output_ceil = _compile(pool_output_ceil, (n, k, s, p, d))
_conv_transpose_output = _compile(conv_transpose_output, (n, k, s, p, op, d))
_window_span = _compile(window_span_expr, (n_o, k, s, d))
_window_overhang = _compile(window_overhang_expr, (n, n_o, k, s, p, d))


def effective_kernel_size(k: int, d: int = 1) -> int:
    """Extent of a dilated kernel: ``k + (k - 1)(d - 1)``."""
    return _effective_kernel(check_int("kernel k", k, 1), check_int("dilation d", d, 1))


def _conv_axis(n_: int, k_: int, s_: int, p_: int, d_: int) -> tuple[int, int, int, int, int]:
    n_ = check_int("input size n", n_, 1)
    k_, s_, d_, p_ = _check_ksdp(k_, s_, d_, p_)
    eff = _effective_kernel(k_, d_)
    if eff > n_ + 2 * p_:
        raise ValueError(
            f"kernel {k_} (effective {eff}) is larger than padded input {n_ + 2 * p_} "
            f"(n={n_}, p={p_})"
        )
    return n_, k_, s_, p_, d_


_NKSPD = ("input size n", "kernel k", "stride s", "padding p", "dilation d")


def _conv_output_axis(n_, k_, s_, p_, d_):
    return _conv_output(*_conv_axis(n_, k_, s_, p_, d_))


def conv_output_size(n: IntOrPair, k: IntOrPair, s: IntOrPair = 1, p: IntOrPair = 0,
                     d: IntOrPair = 1) -> int | tuple[int, ...]:
    """Output size of a convolution: ``floor((n + 2p - d(k-1) - 1) / s) + 1``.

    Any argument may be a tuple (one entry per spatial axis); the result is then a tuple.
    Raises ``ValueError`` if the (dilated) kernel does not fit the padded input.
    """
    return _per_axis(_conv_output_axis, _NKSPD, n, k, s, p, d)


def _pool_output_axis(ceil_mode: bool, n_, k_, s_, p_, d_):
    if not ceil_mode:
        n_, k_, s_, p_, d_ = _conv_axis(n_, k_, s_, p_, d_)
    else:                       # the kernel need not fit: checked on the output size below
        n_ = check_int("input size n", n_, 1)
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


def pool_output_size(n: IntOrPair, k: IntOrPair, s: IntOrPair | None = None, p: IntOrPair = 0,
                     ceil_mode: bool = False, d: IntOrPair = 1) -> int | tuple[int, ...]:
    """Output size of max/average pooling, as ``torch.nn.MaxPool2d`` computes it.

    ``s`` defaults to ``k``. With ``ceil_mode`` the division rounds up, except that a last window
    starting inside the right padding is dropped; a window may then overhang the padded input,
    so a kernel larger than the padded input still gives one output when
    ``d(k-1) + 1 < n + 2p + s`` (as in PyTorch). PyTorch requires ``p <= k // 2``.
    """
    ceil_mode = check_flag("ceil_mode", ceil_mode)
    if s is None:
        s = k
    return _per_axis(partial(_pool_output_axis, ceil_mode), _NKSPD,
                     n, k, s, p, d)


def _conv_transpose_output_axis(n_, k_, s_, p_, op_, d_):
    n_ = check_int("input size n", n_, 1)
    k_, s_, d_, p_ = _check_ksdp(k_, s_, d_, p_)
    op_ = check_int("output_padding", op_, 0)
    if op_ >= s_ and op_ >= d_:
        raise ValueError(
            f"output_padding {op_} must be smaller than either stride {s_} or dilation {d_}")
    out = _conv_transpose_output(n_, k_, s_, p_, op_, d_)
    if out < 1:
        raise ValueError(
            f"padding {p_} is too large: transposed output size would be {out} "
            f"(n={n_}, k={k_}, s={s_}, d={d_})")
    return out


def conv_transpose_output_size(n: IntOrPair, k: IntOrPair, s: IntOrPair = 1, p: IntOrPair = 0,
                               output_padding: IntOrPair = 0, d: IntOrPair = 1
                               ) -> int | tuple[int, ...]:
    """Output size of a transposed convolution: ``(n-1)s - 2p + d(k-1) + output_padding + 1``.

    ``output_padding`` must be smaller than the stride or the dilation (as in PyTorch): it picks
    one of the ``s`` input sizes that a strided convolution maps to the same output size.
    """
    names = ("input size n", "kernel k", "stride s", "padding p", "output_padding", "dilation d")
    return _per_axis(_conv_transpose_output_axis, names, n, k, s, p, output_padding, d)


def _window_span_axis(n_out_, k_, s_, d_):
    k_, s_, d_, _ = _check_ksdp(k_, s_, d_, 0)
    return _window_span(check_int("output size n_out", n_out_, 1), k_, s_, d_)


def window_span(n_out: IntOrPair, k: IntOrPair, s: IntOrPair = 1, d: IntOrPair = 1
                ) -> int | tuple[int, ...]:
    """Input extent covered by ``n_out`` windows of kernel ``k`` at stride ``s``, dilation ``d``:
    ``(n_out - 1) s + d(k - 1) + 1`` (any argument may be a tuple, one entry per axis)."""
    names = ("output size n_out", "kernel k", "stride s", "dilation d")
    return _per_axis(_window_span_axis, names, n_out, k, s, d)


def _window_overhang_axis(n_, n_out_, k_, s_, p_, d_):
    k_, s_, d_, p_ = _check_ksdp(k_, s_, d_, p_)
    return _window_overhang(check_int("input size n", n_, 1),
                            check_int("output size n_out", n_out_, 1), k_, s_, p_, d_)


def window_overhang(n: IntOrPair, n_out: IntOrPair, k: IntOrPair, s: IntOrPair = 1,
                    p: IntOrPair = 0, d: IntOrPair = 1) -> int | tuple[int, ...]:
    """How far the last of ``n_out`` windows reaches past the input of size ``n`` padded by ``p``
    on each side: ``max(0, (n_out - 1) s + d(k - 1) + 1 - (n + 2p))``, the extra bottom/right
    padding after which a ceil-mode pooling is a floor-mode one (any argument may be a tuple)."""
    names = ("input size n", "output size n_out", "kernel k", "stride s", "padding p", "dilation d")
    return _per_axis(_window_overhang_axis, names, n, n_out, k, s, p, d)
