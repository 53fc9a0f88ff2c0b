"""Shared pieces of :mod:`cnnbook_lib.formulas`: the symbols, the expression registry, the
compiler from sympy to exact numeric functions, and the checks of compound arguments (a kernel
given as an int or a pair, channels that groups must divide); the scalar checks are those of
:mod:`cnnbook_lib.validation`, whose errors name the parameter and its value.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence, Union

import sympy as sp

from ..validation import MAX_INT, check_int

__all__ = ["IntOrPair", "n", "k", "s", "p", "d", "op", "k_h", "k_w", "h_in", "w_in", "h_out",
           "w_out", "c_in", "c_out", "g", "N", "beta", "f_in", "f_out", "b", "numel", "ch", "n_o",
           "macs_sym", "EXPRESSIONS", "MAX_INT"]

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

#: Symbolic expressions by name, for the book and the interactives (each concept module adds
#: its own).
EXPRESSIONS: dict[str, sp.Expr] = {}

# ---------------------------------------------------------------------------------------------
# From expression to numeric function
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


# ---------------------------------------------------------------------------------------------
# Checks of compound arguments (the scalar checks are those of cnnbook_lib.validation)
# ---------------------------------------------------------------------------------------------

def _pair(name: str, value: IntOrPair, length: int | None = None) -> tuple[int, ...]:
    """Turn an int or a sequence of ints into a tuple (an int is repeated ``length`` times)."""
    if isinstance(value, (list, tuple)):
        if length is not None and len(value) != length:
            raise ValueError(f"{name} must have {length} entries, got {value!r}")
        if len(value) == 0:
            raise ValueError(f"{name} must not be empty")
        return tuple(value)
    return (value,) * (length or 2)


def _check_groups(c_in_v: int, c_out_v: int, groups: int) -> None:
    if c_in_v % groups:
        raise ValueError(f"groups {groups} does not divide in_channels {c_in_v}")
    if c_out_v % groups:
        raise ValueError(f"groups {groups} does not divide out_channels {c_out_v}")


def _channels(c_in_v, c_out_v, groups) -> tuple[int, int, int]:
    """Validate in_channels ``c_in``, out_channels ``c_out`` and ``groups`` (which must divide
    both)."""
    ci = check_int("in_channels c_in", c_in_v, 1)
    co = check_int("out_channels c_out", c_out_v, 1)
    gr = check_int("groups", groups, 1)
    _check_groups(ci, co, gr)
    return ci, co, gr


def _check_ksdp(k_, s_, d_, p_) -> tuple[int, int, int, int]:
    """Validate kernel ``k``, stride ``s``, dilation ``d`` and padding ``p`` of one axis."""
    return (check_int("kernel k", k_, 1), check_int("stride s", s_, 1),
            check_int("dilation d", d_, 1), check_int("padding p", p_, 0))


def _per_axis(fn, names: Sequence[str], *args):
    """Apply a one-axis function to ints, or axis by axis when any argument is a tuple (every
    tuple argument must have the same, non-zero length). ``names`` name the arguments."""
    for a in args:
        if isinstance(a, (list, tuple)):
            break
    else:
        return fn(*args)
    lengths = {len(a) for a in args if isinstance(a, (list, tuple))}
    if len(lengths) > 1 or 0 in lengths:
        _axis_error(names, args)
    (length,) = lengths
    cols = [a if isinstance(a, (list, tuple)) else (a,) * length for a in args]
    return tuple(fn(*vals) for vals in zip(*cols))


def _axis_error(names: Sequence[str], args: tuple) -> None:
    """Raise the error of :func:`_per_axis` for an empty tuple or tuples of different lengths."""
    first = None
    for name, a in zip(names, args):
        if isinstance(a, (list, tuple)):
            if not a:
                raise ValueError(f"{name} must not be empty")
            if first is None:
                first = (name, len(a))
            elif len(a) != first[1]:
                raise ValueError(f"{name} has {len(a)} entries but {first[0]} has {first[1]}: "
                                 f"tuple arguments have different lengths")


def _kernel_hw(k_: IntOrPair, name: str = "kernel k") -> tuple[int, int]:
    """Reduce a kernel size of any rank to (k_h, k_w): an int is square,
    (k1, ..., kn) -> (k1*...*k(n-1), kn)."""
    ks = tuple(check_int(name, v, 1) for v in _pair(name, k_))
    return math.prod(ks[:-1]), ks[-1]


def _spatial_hw(name: str, hw: IntOrPair) -> tuple[int, int]:
    vals = tuple(check_int(name, v, 1) for v in _pair(name, hw))
    return math.prod(vals[:-1]), vals[-1]
