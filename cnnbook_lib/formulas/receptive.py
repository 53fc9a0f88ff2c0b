"""Receptive fields along one spatial axis: the recurrence over a stack of layers, its closed
forms, and the effective padding (the formulas behind :mod:`cnnbook_lib.receptive`).
"""
from __future__ import annotations

import math
import numbers
from fractions import Fraction

import sympy as sp

from ..validation import check_int
from ._core import EXPRESSIONS, MAX_INT, _check_ksdp, _compile, _pos, d, k, p, s
from .display import display_form
from .shapes import effective_kernel

__all__ = ["rf_r", "rf_j", "rf_u", "rf_L", "rf_size_step", "rf_jump_step", "rf_start_step",
           "rf_padding_expr", "rf_stride1_closed", "rf_size_closed", "receptive_field_step",
           "receptive_field_padding", "stride1_receptive_field", "rf_erf_variance",
           "erf_variance_uniform_stack"]

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
display_form("rf_size_step", "r'", r"r + d(k - 1)\, j", rf_size_step)
display_form("rf_jump_step", "j'", r"j \cdot s", rf_jump_step)
display_form("rf_start_step", "u'", r"u + \left(\frac{d(k - 1)}{2} - p\right) j", rf_start_step)
display_form("rf_padding", "P", r"\frac{r - 1}{2} - u", rf_padding_expr)
#: L stride-1 layers of kernel k: the field grows linearly, 1 + L (k - 1).
rf_stride1_closed = 1 + rf_L * (k - 1)
display_form("rf_stride1_closed", "r", r"1 + L(k - 1)", rf_stride1_closed)
#: Effective receptive field of L stride-1 layers of k equal taps, no non-linearity: the gradient
#: of one unit is the distribution of a sum of L independent uniforms on k values, whose variance
#: (pixels squared) is L (k^2 - 1)/12 (Luo et al., NeurIPS 2016, section 2.2).
rf_erf_variance = rf_L * (k ** 2 - 1) / 12
# The book writes the depth of this stack n, as Luo et al. do.
display_form("rf_erf_variance", r"\sigma_n^2", r"\frac{n\,(k^2 - 1)}{12}", rf_erf_variance,
             symbols={"n": rf_L})

_rf_l, _rf_i = sp.symbols("l i", integer=True, positive=True)
_rf_k, _rf_s = sp.IndexedBase("k"), sp.IndexedBase("s")
#: Closed form of the size recurrence for any stack (k_l: effective kernel of layer l):
#: r = 1 + sum_l (k_l - 1) prod_{i<l} s_i.
rf_size_closed = 1 + sp.Sum((_rf_k[_rf_l] - 1) * sp.Product(_rf_s[_rf_i], (_rf_i, 1, _rf_l - 1)),
                            (_rf_l, 1, rf_L))
# The book writes the effective kernel of layer l as kappa_l, so that k_l stays the kernel.
display_form("rf_size_closed", "r_L", r"1 + \sum_{l=1}^{L} (\kappa_l - 1) \prod_{i=1}^{l-1} s_i",
             rf_size_closed, symbols={r"\kappa": _rf_k})

EXPRESSIONS.update({
    "rf_size_step": rf_size_step,
    "rf_jump_step": rf_jump_step,
    "rf_start_step": rf_start_step,
    "rf_padding": rf_padding_expr,
    "rf_stride1_closed": rf_stride1_closed,
    "rf_size_closed": rf_size_closed,
    "rf_erf_variance": rf_erf_variance,
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


def _check_start(name: str, value) -> Fraction:
    """A start coordinate as an exact Fraction: an int, a Fraction or a finite float (a half
    is exact in binary); bools, strings, None, nan and inf are refused."""
    kind = type(value)
    if kind is not int and kind is not Fraction:       # the fast path: int and Fraction
        if isinstance(value, bool) or not isinstance(value, (numbers.Rational, float)):
            raise TypeError(f"{name} must be an int, a Fraction or a finite float, "
                             f"got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    value = Fraction(value)
    if abs(value.numerator) > MAX_INT * value.denominator:
        raise ValueError(f"{name} must be at most {MAX_INT} in size, got {value}")
    return value


def receptive_field_step(r: int, j: int, u, k: int, s: int = 1, d: int = 1, p: int = 0):
    """One layer of the receptive-field recurrence along one axis: ``(r, j, u) -> (r', j', u')``.

    ``r' = r + (k_eff - 1) j``, ``j' = j s``, ``u' = u + ((k_eff - 1)/2 - p) j`` with
    ``k_eff = d (k - 1) + 1``. ``u`` (the start) is exact: an int or a ``Fraction``.
    """
    r = check_int("receptive field size r", r, 1)
    j = check_int("jump j", j, 1)
    k, s, d, p = _check_ksdp(k, s, d, p)
    u = _check_start("start u", u)
    return (_rf_size_step(r, j, k, d), _rf_jump_step(j, s), _exact(_rf_start_step(u, j, k, d, p)))


def receptive_field_padding(r: int, u) -> int:
    """Effective padding ``(r - 1)/2 - u`` of a field of size ``r`` whose first unit is centred on
    ``u``: how many pixels the first unit's field reaches left of (above) the input."""
    r = check_int("receptive field size r", r, 1)
    return _exact(_rf_padding(r, _check_start("start u", u)))


def stride1_receptive_field(layers: int, k: int) -> int:
    """Receptive field of ``layers`` stride-1 layers of kernel ``k``: ``1 + L (k - 1)``."""
    return _rf_stride1_closed(check_int("layers", layers, 0), check_int("kernel k", k, 1))


def erf_variance_uniform_stack(layers: int, taps: int) -> Fraction:
    """Variance in pixels squared of the effective receptive field of ``layers`` stride-1 layers
    of ``taps`` equal taps without non-linearity, ``L (k^2 - 1)/12`` (exact)."""
    value = rf_erf_variance.subs({rf_L: check_int("layers", layers, 0),
                                  k: check_int("taps", taps, 1)})
    return Fraction(int(value.p), int(value.q))
