"""Four ways to compute a convolution layer: direct, im2col + GEMM, FFT and Winograd.

Each function computes what ``torch.nn.functional.conv2d`` computes (a cross-correlation, NCHW,
``groups=1``, no dilation) and is written to be read, not to be fast:

* ``"direct"``: slide the kernel; for each of the ``k_h * k_w`` kernel offsets, one strided view
  of the input is multiplied by one ``C_out x C_in`` slice of the weights.
* ``"im2col"``: copy every receptive field into a column of a patch matrix
  (``C_in k_h k_w`` rows, ``N H_out W_out`` columns), then one matrix multiply
  (Chellapilla et al. 2006; Caffe; cuDNN's "implicit GEMM" avoids the copy).
* ``"fft"``: correlation is pointwise multiplication of spectra (Mathieu et al. 2014). The FFT
  size is the padded input, which is enough for the valid part of a circular correlation; a
  stride is applied by subsampling the stride-1 result.
* ``"winograd"``: F(2x2, 3x3) minimal filtering on 4x4 input tiles (Lavin & Gray 2016), with the
  transform matrices from :func:`cnnbook_lib.formulas.winograd_matrices`. Stride 1, 3x3 only.

:func:`multiplications` and :func:`extra_memory` give each method's cost, from
:mod:`cnnbook_lib.formulas`; :func:`winograd_fp16_error` measures how Winograd's transforms
amplify rounding in half precision.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Sequence

import numpy as np
import torch

from cnnbook_lib import formulas
from cnnbook_lib.validation import check_int, check_positive, check_str

__all__ = [
    "METHODS", "conv2d", "direct_conv2d", "im2col_conv2d", "fft_conv2d", "winograd_conv2d",
    "im2col_matrix", "multiplications", "fft_costs", "extra_memory", "winograd_fp16_error",
]

Pair = tuple[int, int]


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------

#: Largest tensor (elements) these readable implementations build: a padded input, an im2col
#: matrix or Winograd tiles beyond it would exhaust memory instead of failing fast.
MAX_ELEMENTS = 2 ** 31
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _pair(name: str, value, minimum: int) -> Pair:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(vals) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return check_int(name, vals[0], minimum), check_int(name, vals[1], minimum)


def _shape(name: str, shape, what: str) -> tuple[int, int, int, int]:
    """A 4-D shape of positive ints (a tuple, list or ``torch.Size``)."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 4:
        raise ValueError(f"{name} must be a 4-D shape {what}, got {shape!r}")
    return tuple(check_int(f"{name} entry", v, 1) for v in shape)


def _shapes(x_shape: Sequence[int], w_shape: Sequence[int], stride, padding,
            names: tuple[str, str] = ("x_shape", "w_shape")) -> tuple[Pair, Pair, Pair, Pair]:
    """Validate shapes; return (stride, padding, kernel, output size) as (h, w) pairs."""
    x_name, w_name = names
    x_shape = _shape(x_name, x_shape, "(N, C_in, H, W)")
    w_shape = _shape(w_name, w_shape, "(C_out, C_in, k_h, k_w)")
    if x_shape[1] != w_shape[1]:
        raise ValueError(f"{x_name} has {x_shape[1]} channels but {w_name} expects {w_shape[1]} "
                         "(groups are not supported here)")
    st = _pair("stride", stride, 1)
    pad = _pair("padding", padding, 0)
    kh, kw = w_shape[2], w_shape[3]
    out = formulas.conv_output_size((x_shape[2], x_shape[3]), (kh, kw), st, pad)
    return st, pad, (kh, kw), out


def _check_tensor(name: str, t, what: str) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor {what}, got {type(t).__name__}")
    if t.dim() != 4:
        raise ValueError(f"{name} must be 4-D {what}, got shape {tuple(t.shape)}")
    if t.dtype not in _FLOATS:
        raise ValueError(f"{name} must have a floating-point dtype, got {t.dtype}")
    if t.device.type == "meta":
        raise ValueError(f"{name} is on the meta device, which holds no values to convolve")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(t.shape)}")


def _check_tensors(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None) -> None:
    _check_tensor("input x", x, "(N, C_in, H, W)")
    _check_tensor("weight w", w, "(C_out, C_in, k_h, k_w)")
    if x.dtype != w.dtype:
        raise ValueError(f"input x dtype {x.dtype} differs from weight w dtype {w.dtype}")
    if x.device != w.device:
        raise ValueError(f"input x is on {x.device} but weight w on {w.device}")
    if bias is not None:
        if not isinstance(bias, torch.Tensor):
            raise TypeError(f"bias must be None or a torch.Tensor, got {type(bias).__name__}")
        if tuple(bias.shape) != (w.shape[0],):
            raise ValueError(f"bias must have shape ({w.shape[0]},), got {tuple(bias.shape)}")
        if bias.dtype != w.dtype or bias.device != w.device:
            raise ValueError(f"bias must have the weight's dtype and device ({w.dtype}, "
                             f"{w.device}), got {bias.dtype} on {bias.device}")


def _check_size(name: str, elements: int) -> None:
    if elements > MAX_ELEMENTS:
        raise ValueError(f"{name} would have {elements} elements, more than {MAX_ELEMENTS}: too "
                         "large for these reference implementations")


def _tensor_shapes(x: torch.Tensor, w: torch.Tensor | tuple, stride, padding,
                   w_name: str = "weight w"):
    w_shape = tuple(w.shape) if isinstance(w, torch.Tensor) else w
    st, pad, kernel, out = _shapes(tuple(x.shape), w_shape, stride, padding,
                                   names=("input x", w_name))
    n_img, c_in, h, wd = x.shape
    _check_size("the padded input (padding)", n_img * c_in * (h + 2 * pad[0]) * (wd + 2 * pad[1]))
    return st, pad, kernel, out


def _pad(x: torch.Tensor, pad: Pair) -> torch.Tensor:
    ph, pw = pad
    return torch.nn.functional.pad(x, (pw, pw, ph, ph)) if ph or pw else x


def _add_bias(y: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return y if bias is None else y + bias.view(1, -1, 1, 1)


# ---------------------------------------------------------------------------------------------
# Direct
# ---------------------------------------------------------------------------------------------

def direct_conv2d(x: torch.Tensor, w: torch.Tensor, stride=1, padding=0,
                  bias: torch.Tensor | None = None) -> torch.Tensor:
    """Direct convolution: ``y[n, o, i, j] = sum_{c,u,v} w[o, c, u, v] x[n, c, s i + u, s j + v]``.

    The sum over the kernel offsets ``(u, v)`` is a Python loop; at each offset the sum over
    channels is one tensor contraction over all images and output positions.
    """
    _check_tensors(x, w, bias)
    (sh, sw), pad, (kh, kw), (ho, wo) = _tensor_shapes(x, w, stride, padding)
    xp = _pad(x, pad)
    y = x.new_zeros((x.shape[0], w.shape[0], ho, wo))
    for u in range(kh):
        for v in range(kw):
            window = xp[:, :, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw]
            y += torch.einsum("nchw,oc->nohw", window, w[:, :, u, v])
    return _add_bias(y, bias)


# ---------------------------------------------------------------------------------------------
# im2col + GEMM
# ---------------------------------------------------------------------------------------------

def im2col_matrix(x: torch.Tensor, kernel: Pair, stride=1, padding=0) -> torch.Tensor:
    """The patch matrix, shape ``(N, C_in * k_h * k_w, H_out * W_out)``.

    Column ``i * W_out + j`` of image ``n`` holds the receptive field of output ``(i, j)``, in
    the order (channel, kernel row, kernel column) of a flattened weight:
    ``cols[n, (c, u, v), (i, j)] = x_padded[n, c, s_h i + u, s_w j + v]``.

    The six-index array on the right is a *view* of the padded input: moving one step in ``u``
    or ``i`` moves ``1`` or ``s_h`` rows, so both get the row stride (times ``s_h`` for ``i``).
    ``as_strided`` builds that view without copying; ``reshape`` then copies it into the patch
    matrix, each input value ``k_h k_w / (s_h s_w)`` times on average (what
    ``torch.nn.functional.unfold`` does).
    """
    _check_tensor("input x", x, "(N, C_in, H, W)")
    kh, kw = _pair("kernel", kernel, 1)
    (sh, sw), pad, _, (ho, wo) = _tensor_shapes(x, (1, x.shape[1], kh, kw), stride, padding,
                                                w_name="kernel")
    _check_size("the patch matrix (kernel)", x.shape[0] * x.shape[1] * kh * kw * ho * wo)
    xp = _pad(x, pad)
    n_str, c_str, h_str, w_str = xp.stride()
    windows = xp.as_strided((x.shape[0], x.shape[1], kh, kw, ho, wo),
                            (n_str, c_str, h_str, w_str, h_str * sh, w_str * sw))
    return windows.reshape(x.shape[0], x.shape[1] * kh * kw, ho * wo)   # the copy


def im2col_conv2d(x: torch.Tensor, w: torch.Tensor, stride=1, padding=0,
                  bias: torch.Tensor | None = None) -> torch.Tensor:
    """im2col + GEMM: ``Y (C_out x H_out W_out) = W (C_out x C_in k_h k_w) @ cols`` per image."""
    _check_tensors(x, w, bias)
    _, _, (kh, kw), (ho, wo) = _tensor_shapes(x, w, stride, padding)
    cols = im2col_matrix(x, (kh, kw), stride, padding)
    y = torch.matmul(w.reshape(w.shape[0], -1), cols)          # one (batched) GEMM
    return _add_bias(y.view(x.shape[0], w.shape[0], ho, wo), bias)


# ---------------------------------------------------------------------------------------------
# FFT
# ---------------------------------------------------------------------------------------------

def _fft_products(xf: torch.Tensor, wf: torch.Tensor) -> torch.Tensor:
    """Frequency-domain stage: ``Y[n, o] = sum_c X[n, c] * conj(W[o, c])`` at every frequency;
    one elementwise product of all images' spectra per (output channel, input channel) pair."""
    return torch.stack([(xf * w_o.conj()).sum(dim=1) for w_o in wf], dim=1)


def fft_conv2d(x: torch.Tensor, w: torch.Tensor, stride=1, padding=0,
               bias: torch.Tensor | None = None) -> torch.Tensor:
    """FFT convolution: correlation theorem on the padded input, then subsampling for stride.

    With ``L`` the padded size, circular correlation ``sum_u x[(i + u) mod L] w[u]`` equals the
    linear one for ``i <= L - k``: exactly the outputs a valid correlation keeps.
    """
    _check_tensors(x, w, bias)
    (sh, sw), pad, (kh, kw), (ho, wo) = _tensor_shapes(x, w, stride, padding)
    xp = _pad(x, pad)
    size = (xp.shape[2], xp.shape[3])
    xf = torch.fft.rfft2(xp, s=size)
    wf = torch.fft.rfft2(w, s=size)                 # the kernel, zero-padded to the FFT size
    y = torch.fft.irfft2(_fft_products(xf, wf), s=size)
    y = y[:, :, :size[0] - kh + 1:sh, :size[1] - kw + 1:sw][:, :, :ho, :wo]
    return _add_bias(y.to(x.dtype).contiguous(), bias)


# ---------------------------------------------------------------------------------------------
# Winograd
# ---------------------------------------------------------------------------------------------

def _winograd_tensors(m: int, r: int, dtype, device) -> tuple[torch.Tensor, ...]:
    a_t, g_mat, b_t = formulas.winograd_matrices(m, r)
    def as_tensor(mat) -> torch.Tensor:
        values = np.array(mat.evalf(), dtype=np.float64)
        return torch.tensor(values, dtype=dtype, device=device)

    return as_tensor(a_t), as_tensor(g_mat), as_tensor(b_t)


def _winograd_products(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Elementwise stage: ``M[n, o, t, ij] = sum_c U[o, c, ij] V[n, c, t, ij]``.

    For each of the ``(m + r - 1)^2`` tile positions ``ij`` this is one ``C_out x C_in`` matrix
    times a ``C_in x (N T)`` matrix: all of Winograd's multiplications happen here.
    """
    n_img, c_in, tiles, a, _ = v.shape
    u_ = u.permute(2, 3, 0, 1).reshape(a * a, u.shape[0], c_in)              # (a^2, O, C)
    v_ = v.permute(3, 4, 1, 0, 2).reshape(a * a, c_in, n_img * tiles)        # (a^2, C, N T)
    m_ = torch.bmm(u_, v_)                                                  # (a^2, O, N T)
    return m_.view(a, a, -1, n_img, tiles).permute(3, 2, 4, 0, 1)           # (N, O, T, a, a)


def winograd_conv2d(x: torch.Tensor, w: torch.Tensor, padding=0,
                    bias: torch.Tensor | None = None, m: int = 2) -> torch.Tensor:
    """Winograd F(m x m, r x r) convolution, stride 1: ``Y = A^T [(G g G^T) * (B^T d B)] A``.

    The output is cut into ``ceil(H_out/m) x ceil(W_out/m)`` tiles of ``m x m``; each reads a
    ``(m + r - 1)``-square input tile (the input is zero-extended at the bottom and right so the
    last tiles are whole, and their extra outputs are cropped). ``m=2`` is F(2x2, 3x3), the
    algorithm of cuDNN and of Lavin & Gray; ``m=4`` saves more multiplications but amplifies
    rounding errors (see :func:`winograd_fp16_error`).
    """
    _check_tensors(x, w, bias)
    if w.shape[2] != w.shape[3]:
        raise ValueError(f"winograd needs a square kernel, got {tuple(w.shape[2:])}")
    r = int(w.shape[2])
    _, pad, _, (ho, wo) = _tensor_shapes(x, w, 1, padding)
    m, r = formulas.algorithms._check_winograd(m, r, formulas.WINOGRAD_MAX_POINTS)
    _check_size("the input tiles (m)", x.shape[0] * x.shape[1]
                * formulas.winograd_tiles((ho, wo), m) * (m + r - 1) ** 2)
    a = m + r - 1
    th, tw = formulas.winograd_tile_grid((ho, wo), m)        # tiles per axis (ceil)
    xp = _pad(x, pad)
    extra_h, extra_w = th * m + r - 1 - xp.shape[2], tw * m + r - 1 - xp.shape[3]
    xp = torch.nn.functional.pad(xp, (0, extra_w, 0, extra_h))
    a_t, g_mat, b_t = _winograd_tensors(m, r, x.dtype, x.device)
    # Input tiles d[n, c, t, i, j]: a x a tiles at stride m (overlapping by r - 1), filled
    # with one strided copy per position (i, j) inside the tile, like im2col_matrix.
    d = x.new_empty((x.shape[0], x.shape[1], th, tw, a, a))
    for i in range(a):
        for j in range(a):
            d[..., i, j] = xp[:, :, i:i + m * (th - 1) + 1:m, j:j + m * (tw - 1) + 1:m]
    d = d.view(x.shape[0], x.shape[1], th * tw, a, a)
    v = torch.einsum("ij,nctjk,lk->nctil", b_t, d, b_t)      # input transform  B^T d B
    u = torch.einsum("ij,ocjk,lk->ocil", g_mat, w, g_mat)    # kernel transform G g G^T
    prod = _winograd_products(u, v)                          # (N, C_out, T, a, a)
    y = torch.einsum("ij,notjk,lk->notil", a_t, prod, a_t)   # output transform A^T M A
    y = y.view(x.shape[0], w.shape[0], th, tw, m, m).permute(0, 1, 2, 4, 3, 5)
    y = y.reshape(x.shape[0], w.shape[0], th * m, tw * m)[:, :, :ho, :wo]
    return _add_bias(y.contiguous(), bias)


# ---------------------------------------------------------------------------------------------
# One entry point
# ---------------------------------------------------------------------------------------------

def _winograd_entry(x, w, stride=1, padding=0, bias=None):
    _check_tensors(x, w, bias)
    if _pair("stride", stride, 1) != (1, 1):
        raise ValueError(f"winograd F(2x2, 3x3) supports stride 1 only, got stride {stride!r}")
    if tuple(w.shape[2:]) != (3, 3):
        raise ValueError(f"winograd F(2x2, 3x3) needs a 3x3 kernel, got {tuple(w.shape[2:])}")
    return winograd_conv2d(x, w, padding=padding, bias=bias, m=2)


METHODS: dict[str, Callable[..., torch.Tensor]] = {
    "direct": direct_conv2d,
    "im2col": im2col_conv2d,
    "fft": fft_conv2d,
    "winograd": _winograd_entry,
}


def _method(method: str) -> str:
    check_str("method", method)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    return method


def conv2d(x: torch.Tensor, w: torch.Tensor, method: str, stride=1, padding=0,
           bias: torch.Tensor | None = None) -> torch.Tensor:
    """Convolution by ``method`` (``"direct"``, ``"im2col"``, ``"fft"`` or ``"winograd"``).

    Same result as ``torch.nn.functional.conv2d(x, w, bias, stride, padding)`` up to rounding.
    Raises ``ValueError`` for an unknown method and for combinations a method does not support
    (Winograd F(2x2, 3x3): stride 1 and 3x3 kernels only).
    """
    return METHODS[_method(method)](x, w, stride=stride, padding=padding, bias=bias)


# ---------------------------------------------------------------------------------------------
# Costs
# ---------------------------------------------------------------------------------------------

def _costs_args(method: str, x_shape, w_shape, stride, padding):
    _method(method)
    st, pad, kernel, out = _shapes(x_shape, w_shape, stride, padding)
    if method == "winograd" and (st != (1, 1) or kernel != (3, 3)):
        raise ValueError(f"winograd F(2x2, 3x3) needs stride 1 and a 3x3 kernel, "
                         f"got stride {st} and kernel {kernel}")
    n_img, c_in = int(x_shape[0]), int(x_shape[1])
    fft_hw = (int(x_shape[2]) + 2 * pad[0], int(x_shape[3]) + 2 * pad[1])
    return n_img, c_in, int(w_shape[0]), kernel, out, fft_hw


def fft_costs(x_shape: Sequence[int], w_shape: Sequence[int], stride=1, padding=0
              ) -> dict[str, int]:
    """What FFT convolution costs, as separate fields.

    * ``complex_products``: pointwise products in the frequency domain,
      ``N C_in C_out H_f (floor(W_f/2) + 1)`` with ``(H_f, W_f)`` the padded input size;
    * ``real_multiplications``: 4 real multiplications per complex product;
    * ``transform_multiplications_estimate``: ``L log2 L`` real multiplications per 2-D real
      transform of ``L = H_f W_f`` points, for the ``N C_in`` input, ``C_out C_in`` kernel and
      ``N C_out`` inverse transforms (an estimate: the kernel spectra can be cached and FFT
      libraries differ).

    The stride does not reduce the work: the stride-1 result is computed and subsampled.
    """
    n_img, c_in, c_out, _, _, fft_hw = _costs_args("fft", x_shape, w_shape, stride, padding)
    products = formulas.fft_products(c_in, c_out, fft_hw, n_img)
    return {
        "complex_products": products,
        "real_multiplications": formulas.fft_real_multiplications(c_in, c_out, fft_hw, n_img),
        "transform_multiplications_estimate":
            formulas.fft_transform_multiplications(c_in, c_out, fft_hw, n_img),
    }


def multiplications(method: str, x_shape: Sequence[int], w_shape: Sequence[int], stride=1,
                    padding=0) -> int:
    """Multiplications performed by ``method`` on an input of ``x_shape`` and weights ``w_shape``.

    * direct, im2col: ``N C_out C_in k_h k_w H_out W_out`` (:func:`formulas.conv_macs`);
    * winograd: ``(m + r - 1)^2 = 16`` per 2x2 output tile per (C_in, C_out) pair, with
      ``ceil(H_out/2) ceil(W_out/2)`` tiles: an odd output size pays for a whole last tile
      (:func:`formulas.winograd_multiplications`). Transforms (additions and constant
      scalings) are not counted;
    * fft: the real multiplications of the pointwise complex products, 4 per product; the
      transforms are estimated apart in :func:`fft_costs`.
    """
    n_img, c_in, c_out, kernel, out, _ = _costs_args(method, x_shape, w_shape, stride, padding)
    if method in ("direct", "im2col"):
        return formulas.conv_macs(c_in, c_out, kernel, out, batch=n_img)
    if method == "winograd":
        return formulas.winograd_multiplications(c_in, c_out, out, n_img, m=2, r=3)
    return fft_costs(x_shape, w_shape, stride, padding)["real_multiplications"]


def extra_memory(method: str, x_shape: Sequence[int], w_shape: Sequence[int], stride=1,
                 padding=0, dtype="float32") -> int:
    """Bytes of workspace a method needs beyond its input, weights and output.

    * direct: 0 (zero padding can be handled by bounds checks; this module's readable version
      makes a padded copy, which it does not count);
    * im2col: the patch matrix, exactly (:func:`formulas.im2col_bytes`);
    * fft: the input, kernel and output spectra, complex, 2 reals each
      (:func:`formulas.fft_workspace_complex`);
    * winograd: transformed input tiles, kernels and products
      (:func:`formulas.winograd_workspace_elements`).
    """
    formulas.bytes_per_element(dtype)
    n_img, c_in, c_out, kernel, out, fft_hw = _costs_args(method, x_shape, w_shape, stride,
                                                          padding)
    if method == "direct":
        return 0
    if method == "im2col":
        return formulas.im2col_bytes(c_in, kernel, out, n_img, dtype)
    if method == "fft":
        return formulas.tensor_bytes(2 * formulas.fft_workspace_complex(c_in, c_out, fft_hw, n_img),
                                     dtype)
    return formulas.tensor_bytes(formulas.winograd_workspace_elements(c_in, c_out, out, n_img),
                                 dtype)


# ---------------------------------------------------------------------------------------------
# Numerical error of Winograd in half precision
# ---------------------------------------------------------------------------------------------

def winograd_fp16_error(scales: Sequence[float] = (1e-5, 1e-3, 1.0, 1e3, 1e4), *,
                        offset: float = 0.0, channels: int = 8, size: int = 16, batch: int = 2,
                        tiles: Sequence[int] = (2, 4), seed: int = 0):
    """Error of float16 Winograd and float16 direct convolution against a float64 reference.

    Inputs are ``scale * (offset + U(-1, 1))`` (``offset`` shifts the tile values away from zero,
    which makes the input transform subtract nearly equal numbers), weights ``U(-1, 1) / 3``.
    Every operation, transforms included, runs in float16. For each scale and each Winograd
    tile size ``m`` in ``tiles`` one row records the relative errors
    ``max |y - y_ref| / max |y_ref|`` and ``rms(y - y_ref) / rms(y_ref)`` of Winograd and of
    direct convolution, and whether the float16 result overflowed (inf or nan; its errors are
    then reported as ``inf``). Relative errors do not depend on the scale while values stay in
    float16's normal range; tiny inputs lose digits to subnormals and large ones overflow in the
    transformed domain first, earlier for F(4x4, 3x3), whose transforms have larger entries.

    Returns a ``pandas.DataFrame`` with columns scale, offset, m, max_abs_ref, winograd_max_rel,
    winograd_rms_rel, direct_max_rel, direct_rms_rel, overflow.
    """
    import pandas as pd

    if not isinstance(scales, (tuple, list)) or not scales:
        raise ValueError(f"scales must be a non-empty sequence of positive numbers, "
                         f"got {scales!r}")
    scales = [check_positive("scales entry", v) for v in scales]
    if isinstance(offset, bool) or not isinstance(offset, numbers.Real):
        raise TypeError(f"offset must be a finite number, got {offset!r}")
    if not math.isfinite(offset):
        raise ValueError(f"offset must be a finite number, got {offset!r}")
    channels = check_int("channels", channels, 1)
    size = check_int("size", size, 1)
    batch = check_int("batch", batch, 1)
    _check_size("the input (batch * channels * size^2)", batch * channels * size * size)
    _check_size("the weights (channels^2 * 9)", channels * channels * 9)
    if not isinstance(tiles, (tuple, list)) or not tiles:
        raise ValueError(f"tiles must be a non-empty sequence of tile sizes m, got {tiles!r}")
    tiles = [check_int("tiles entry", m, 1) for m in tiles]
    for m in tiles:
        formulas.algorithms._check_winograd(m, 3, formulas.WINOGRAD_MAX_POINTS)
    seed = check_int("seed", seed, 0)
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand((batch, channels, size, size), generator=gen, dtype=torch.float64) * 2 - 1
    w = (torch.rand((channels, channels, 3, 3), generator=gen, dtype=torch.float64) * 2 - 1) / 3

    def rel(y: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
        if not torch.isfinite(y).all():
            return float("inf"), float("inf")
        diff = y.double() - ref
        return (float(diff.abs().max() / ref.abs().max()),
                float(diff.pow(2).mean().sqrt() / ref.pow(2).mean().sqrt()))

    rows = []
    for scale in scales:
        x = scale * (offset + base)
        ref = direct_conv2d(x, w, padding=1)
        xh, wh = x.half(), w.half()
        d_max, d_rms = rel(direct_conv2d(xh, wh, padding=1), ref)
        for m in tiles:
            y = winograd_conv2d(xh, wh, padding=1, m=m)
            w_max, w_rms = rel(y, ref)
            rows.append(dict(scale=float(scale), offset=float(offset), m=int(m),
                             max_abs_ref=float(ref.abs().max()),
                             winograd_max_rel=w_max, winograd_rms_rel=w_rms,
                             direct_max_rel=d_max, direct_rms_rel=d_rms,
                             overflow=bool(not torch.isfinite(y).all())))
    return pd.DataFrame(rows)
