"""Fast convolution algorithms: Winograd's minimal filtering (its transform matrices derived
by Toom-Cook, its tiles, multiplications and workspace) and FFT convolution (spectrum sizes,
pointwise products, transform estimates). The formulas behind :mod:`cnnbook_lib.algorithms`.
"""
from __future__ import annotations

import math
from functools import lru_cache as _lru_cache
from typing import Sequence

import sympy as sp

from .display import display_form
from ..validation import check_int
from ._core import (EXPRESSIONS, MAX_INT, IntOrPair, N, _compile, _pos, _spatial_hw, c_in, c_out,
                   h_out, n_o, w_out)

__all__ = ["wino_m", "wino_r", "h_f", "w_f", "winograd_axis_tiles_expr", "winograd_tiles_expr",
           "winograd_mults_expr", "winograd_reduction_expr", "winograd_workspace_elements_expr",
           "rfft2_elements_expr", "fft_products_expr", "real_mults_per_complex_product",
           "fft_real_mults_expr", "fft_workspace_complex_expr", "rfft2_mults_estimate_expr",
           "winograd_matrices", "WINOGRAD_MAX_POINTS", "WINOGRAD_MAX_CHECK_POINTS",
           "winograd_identity_holds", "winograd_tiles", "winograd_tile_grid",
           "winograd_multiplications", "winograd_workspace_elements", "rfft2_elements",
           "fft_products", "fft_real_multiplications", "fft_workspace_complex",
           "fft_transform_multiplications"]

# Fast algorithms trade multiplications for additions and memory. Winograd's minimal filtering
# algorithm F(m, r) computes m outputs of an r-tap correlation with m + r - 1 multiplications
# instead of m * r (Winograd 1980; Lavin & Gray, "Fast algorithms for convolutional neural
# networks", CVPR 2016). The matrices are derived here by Toom-Cook, never typed in.

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
display_form("winograd_mults", r"\text{mults}",
             r"N C_\text{in} C_\text{out} \left\lceil \frac{H_\text{out}}{m} \right\rceil \left\lceil \frac{W_\text{out}}{m} \right\rceil (m + r - 1)^2",
             winograd_mults_expr)
#: Multiplication reduction of Winograd over direct convolution for whole tiles:
#: m^2 r^2 / (m + r - 1)^2
#: (2.25 for F(2x2, 3x3), 4 for F(4x4, 3x3)).
winograd_reduction_expr = (wino_m * wino_r) ** 2 / (wino_m + wino_r - 1) ** 2
display_form("winograd_reduction",
             r"\frac{\text{MACs}_\text{direct}}{\text{mults}_\text{Winograd}}",
             r"\frac{m^2 r^2}{(m + r - 1)^2}", winograd_reduction_expr)
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
    m, r = _check_winograd(m, r, WINOGRAD_MAX_POINTS)
    return tuple(mat.as_mutable() for mat in _winograd_matrices(m, r, _check_points(points, m, r)))


#: Largest ``m + r - 1`` (points, transform size) accepted by :func:`winograd_matrices`: beyond
#: a dozen points the transforms' entries explode and no library uses them.
WINOGRAD_MAX_POINTS = 32
#: Largest ``m + r - 1`` that :func:`winograd_identity_holds` checks: its symbolic 2-D check takes
#: seconds for F(4, 3) (6 points) and minutes for F(6, 3); larger tiles are checked numerically.
WINOGRAD_MAX_CHECK_POINTS = 6


def _check_winograd(m, r, max_points: int) -> tuple[int, int]:
    """Validate the tile size ``m`` and kernel size ``r`` of F(m, r) before any derivation."""
    m = check_int("output tile size m", m, 1)
    r = check_int("kernel size r", r, 1)
    if m + r - 1 > max_points:
        raise ValueError(f"m + r - 1 = {m + r - 1} points is too many (m={m}, r={r}); at most "
                         f"{max_points} here")
    return m, r


def _check_points(points, m: int, r: int) -> tuple | None:
    """Interpolation points: None (the default 0, 1, -1, 2, -2, ..., infinity) or m + r - 1
    distinct integers, one of which may be ``sympy.oo``."""
    if points is None:
        return None
    if not isinstance(points, (list, tuple)):
        raise TypeError(f"points must be a list or tuple of integers (and sympy.oo), "
                         f"got {points!r}")
    out = []
    for x in points:
        if x is sp.oo or (type(x) is float and x == math.inf):
            out.append(sp.oo)
        else:
            out.append(sp.Integer(check_int("points entry", x, -MAX_INT)))
    alpha = m + r - 1
    if len(out) != alpha:
        raise ValueError(f"points must have m + r - 1 = {alpha} entries, got {len(out)}")
    if len(set(out)) != len(out):
        raise ValueError(f"points must be distinct, got {points!r}")
    return tuple(out)


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


def winograd_identity_holds(m: int = 2, r: int = 3) -> bool:
    """Check symbolically that ``A^T [(G g) * (B^T d)]`` is the correlation
    ``y_i = sum_j g_j d_{i+j}`` for symbolic ``g`` and ``d``, in 1-D and in the nested 2-D form (``m + r - 1 <= 6``)."""
    return _winograd_identity_holds(*_check_winograd(m, r, WINOGRAD_MAX_CHECK_POINTS))


@_lru_cache(maxsize=None)
def _winograd_identity_holds(m: int, r: int) -> bool:
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
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    return _winograd_tiles(ho, wo, check_int("output tile size m", m, 1))


def winograd_tile_grid(out_hw: IntOrPair, m: int = 2) -> tuple[int, int]:
    """Output tiles of F(m x m, .) along each axis: ``(ceil(H_out / m), ceil(W_out / m))``."""
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    m = check_int("output tile size m", m, 1)
    return _winograd_axis_tiles(ho, m), _winograd_axis_tiles(wo, m)


def winograd_multiplications(c_in: int, c_out: int, out_hw: IntOrPair, batch: int = 1,
                             m: int = 2, r: int = 3) -> int:
    """Elementwise multiplications of Winograd F(m x m, r x r):
    ``N * C_in * C_out * ceil(H_out/m) * ceil(W_out/m) * (m + r - 1)^2``."""
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    ci, co = check_int("in_channels c_in", c_in, 1), check_int("out_channels c_out", c_out, 1)
    m, r = check_int("output tile size m", m, 1), check_int("kernel size r", r, 1)
    return _winograd_mults(ci, co, ho, wo, check_int("batch", batch, 1), m, r)


def winograd_workspace_elements(c_in: int, c_out: int, out_hw: IntOrPair, batch: int = 1,
                                m: int = 2, r: int = 3) -> int:
    """Elements of Winograd's transformed input V, kernels U and products M."""
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    ci, co = check_int("in_channels c_in", c_in, 1), check_int("out_channels c_out", c_out, 1)
    m, r = check_int("output tile size m", m, 1), check_int("kernel size r", r, 1)
    return _winograd_workspace(ci, co, ho, wo, check_int("batch", batch, 1), m, r)


def rfft2_elements(fft_hw: IntOrPair) -> int:
    """Complex values of ``torch.fft.rfft2`` of a real H_f x W_f array:
    ``H_f * (floor(W_f/2) + 1)``."""
    hf, wf = _spatial_hw("FFT size fft_hw", fft_hw)
    return _rfft2_elements(hf, wf)


def fft_products(c_in: int, c_out: int, fft_hw: IntOrPair, batch: int = 1) -> int:
    """Pointwise complex products of FFT convolution:
    ``N * C_in * C_out * H_f * (floor(W_f/2) + 1)``."""
    hf, wf = _spatial_hw("FFT size fft_hw", fft_hw)
    ci, co = check_int("in_channels c_in", c_in, 1), check_int("out_channels c_out", c_out, 1)
    return _fft_products(ci, co, hf, wf, check_int("batch", batch, 1))


def fft_real_multiplications(c_in: int, c_out: int, fft_hw: IntOrPair, batch: int = 1) -> int:
    """Real multiplications of the pointwise products of FFT convolution, 4 per complex product:
    ``4 N C_in C_out H_f (floor(W_f/2) + 1)``."""
    hf, wf = _spatial_hw("FFT size fft_hw", fft_hw)
    ci, co = check_int("in_channels c_in", c_in, 1), check_int("out_channels c_out", c_out, 1)
    return _fft_real_mults(ci, co, hf, wf, check_int("batch", batch, 1))


def fft_workspace_complex(c_in: int, c_out: int, fft_hw: IntOrPair, batch: int = 1) -> int:
    """Complex values of the input, kernel and output spectra of FFT convolution."""
    hf, wf = _spatial_hw("FFT size fft_hw", fft_hw)
    ci, co = check_int("in_channels c_in", c_in, 1), check_int("out_channels c_out", c_out, 1)
    return _fft_workspace(ci, co, hf, wf, check_int("batch", batch, 1))


def fft_transform_multiplications(c_in: int, c_out: int, fft_hw: IntOrPair, batch: int = 1) -> int:
    """Estimated real multiplications of the transforms of FFT convolution: ``N C_in`` forward
    input transforms, ``C_out C_in`` kernel transforms and ``N C_out`` inverse transforms, each
    ``L log2 L`` with ``L = H_f W_f`` (rounded up). An estimate: real FFT libraries differ."""
    hf, wf = _spatial_hw("FFT size fft_hw", fft_hw)
    ci = check_int("in_channels c_in", c_in, 1)
    co = check_int("out_channels c_out", c_out, 1)
    nb = check_int("batch", batch, 1)
    per = float(rfft2_mults_estimate_expr.subs({h_f: hf, w_f: wf}))
    return math.ceil((nb * ci + co * ci + nb * co) * per)
