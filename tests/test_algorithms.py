"""Tests of cnnbook_lib.algorithms: every method against torch, counts against counters."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import algorithms as A
from cnnbook_lib import formulas

TOL = dict(rtol=1e-10, atol=1e-10)


def _data(n, c_in, c_out, h, w, k, seed=0, bias=True):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((n, c_in, h, w), generator=gen, dtype=torch.float64)
    wt = torch.randn((c_out, c_in, k, k), generator=gen, dtype=torch.float64)
    b = torch.randn((c_out,), generator=gen, dtype=torch.float64) if bias else None
    return x, wt, b


# ---------------------------------------------------------------------------------------------
# Correctness against torch.nn.functional.conv2d in float64
# ---------------------------------------------------------------------------------------------

@st.composite
def conv_configs(draw):
    k = draw(st.sampled_from([1, 2, 3, 5]))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    h = draw(st.integers(max(1, k - 2 * padding), 12))
    w = draw(st.integers(max(1, k - 2 * padding), 12))
    return dict(n=draw(st.integers(1, 3)), c_in=draw(st.integers(1, 6)),
                c_out=draw(st.integers(1, 6)), h=h, w=w, k=k, stride=stride, padding=padding,
                seed=draw(st.integers(0, 2 ** 16)))


@settings(max_examples=40, deadline=None)
@given(cfg=conv_configs(), method=st.sampled_from(["direct", "im2col", "fft"]))
def test_methods_match_torch(cfg, method):
    x, w, b = _data(cfg["n"], cfg["c_in"], cfg["c_out"], cfg["h"], cfg["w"], cfg["k"], cfg["seed"])
    ref = F.conv2d(x, w, b, stride=cfg["stride"], padding=cfg["padding"])
    out = A.conv2d(x, w, method, stride=cfg["stride"], padding=cfg["padding"], bias=b)
    assert out.shape == ref.shape and out.dtype == torch.float64
    torch.testing.assert_close(out, ref, **TOL)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 2), c_in=st.integers(1, 5), c_out=st.integers(1, 5),
       h=st.integers(1, 11), w=st.integers(1, 11), padding=st.integers(0, 2),
       bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_winograd_matches_torch(n, c_in, c_out, h, w, padding, bias, seed):
    if min(h, w) + 2 * padding < 3:
        return
    x, wt, b = _data(n, c_in, c_out, h, w, 3, seed, bias)
    ref = F.conv2d(x, wt, b, padding=padding)
    torch.testing.assert_close(A.conv2d(x, wt, "winograd", padding=padding, bias=b), ref, **TOL)


@pytest.mark.parametrize("m", [3, 4])
@pytest.mark.parametrize("hw", [(5, 5), (8, 9), (13, 7)])
def test_larger_winograd_tiles_match_torch(m, hw):
    x, w, b = _data(2, 3, 4, *hw, 3, seed=m)
    ref = F.conv2d(x, w, b, padding=1)
    torch.testing.assert_close(A.winograd_conv2d(x, w, padding=1, bias=b, m=m), ref,
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", ["direct", "im2col", "fft"])
@pytest.mark.parametrize("stride,padding", [((1, 2), (0, 1)), ((2, 1), (2, 0))])
def test_pairs_and_rectangular(method, stride, padding):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((2, 3, 9, 6), generator=gen, dtype=torch.float64)
    w = torch.randn((4, 3, 3, 2), generator=gen, dtype=torch.float64)
    ref = F.conv2d(x, w, stride=stride, padding=padding)
    torch.testing.assert_close(A.conv2d(x, w, method, stride, padding), ref, **TOL)


@pytest.mark.parametrize("method", list(A.METHODS))
def test_kernel_as_large_as_input(method):
    x, w, b = _data(1, 2, 3, 3, 3, 3, seed=5)
    torch.testing.assert_close(A.conv2d(x, w, method, bias=b), F.conv2d(x, w, b), **TOL)


def test_float32_close_to_torch():
    x, w, _ = _data(2, 8, 16, 14, 14, 3, seed=3)
    x, w = x.float(), w.float()
    ref = F.conv2d(x, w, padding=1)
    for method in A.METHODS:
        out = A.conv2d(x, w, method, padding=1)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

def test_unknown_method_lists_valid_ones():
    x, w, _ = _data(1, 1, 1, 4, 4, 3)
    with pytest.raises(ValueError, match="unknown method 'gemm'.*direct, im2col, fft, winograd"):
        A.conv2d(x, w, "gemm")
    with pytest.raises(ValueError, match="valid methods"):
        A.multiplications("gemm", x.shape, w.shape)


def test_winograd_rejects_stride_and_kernel():
    x, w, _ = _data(1, 2, 2, 8, 8, 3)
    with pytest.raises(ValueError, match="stride 1 only"):
        A.conv2d(x, w, "winograd", stride=2)
    _, w5, _ = _data(1, 2, 2, 8, 8, 5)
    with pytest.raises(ValueError, match="3x3 kernel"):
        A.conv2d(x, w5, "winograd")
    with pytest.raises(ValueError, match="winograd"):
        A.multiplications("winograd", x.shape, w.shape, stride=2)
    with pytest.raises(ValueError, match="winograd"):
        A.extra_memory("winograd", x.shape, w5.shape)


def test_shape_errors_name_the_parameter():
    x, w, _ = _data(1, 3, 2, 4, 4, 3)
    with pytest.raises(ValueError, match="3 channels but weight w expects 2"):
        A.conv2d(x, w[:, :2], "direct")
    with pytest.raises(ValueError, match="kernel 5 .* larger than padded input 4"):
        A.conv2d(x, _data(1, 3, 2, 4, 4, 5)[1], "im2col")
    with pytest.raises(ValueError, match=r"stride must be a positive integer \(>= 1\)"):
        A.conv2d(x, w, "fft", stride=0)
    with pytest.raises(ValueError, match="padding must be an integer >= 0"):
        A.conv2d(x, w, "direct", padding=-1)
    with pytest.raises(ValueError, match="4-D"):
        A.conv2d(x[0], w, "direct")
    with pytest.raises(ValueError, match="dtype"):
        A.conv2d(x.float(), w, "direct")


# ---------------------------------------------------------------------------------------------
# Multiplication counts against independent counters
# ---------------------------------------------------------------------------------------------

SHAPES = [((1, 2, 5, 5), (3, 2, 3, 3), 1, 0), ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1),
          ((1, 3, 9, 9), (2, 3, 3, 3), 1, 0), ((2, 4, 6, 6), (5, 4, 3, 3), 2, 1),
          ((1, 2, 8, 5), (3, 2, 1, 1), 1, 0)]


class ProductCounter(TorchDispatchMode):
    """Counts the scalar products that run: the elements of every ``mul`` (real or complex) and
    ``m k n`` per ``mm``/``bmm``. Unlike FlopCounterMode it also sees elementwise products."""

    def __init__(self):
        super().__init__()
        self.products = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        if name == "mul":
            self.products += out.numel()
        elif name in ("mm", "bmm"):
            self.products += args[0].numel() * args[1].shape[-1]
        return out


def _products(fn) -> int:
    with ProductCounter() as counter:
        fn()
    return counter.products


def _flop_count(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", SHAPES)
@pytest.mark.parametrize("method", ["direct", "im2col"])
def test_direct_im2col_counts_match_flop_counter(method, x_shape, w_shape, stride, padding):
    x, w = torch.randn(x_shape, dtype=torch.float64), torch.randn(w_shape, dtype=torch.float64)
    flops = _flop_count(lambda: A.conv2d(x, w, method, stride, padding))
    assert flops == 2 * A.multiplications(method, x_shape, w_shape, stride, padding)


@pytest.mark.parametrize("x_shape,w_shape", [((1, 1, 8, 5), (2, 1, 3, 3)),
                                             ((2, 3, 6, 7), (4, 3, 3, 3))])
def test_direct_count_matches_product_counter(x_shape, w_shape):
    """With C_in = 1 the einsum becomes an elementwise product, which FlopCounterMode misses."""
    x, w = torch.randn(x_shape, dtype=torch.float64), torch.randn(w_shape, dtype=torch.float64)
    assert _products(lambda: A.conv2d(x, w, "direct", padding=1)) == A.multiplications(
        "direct", x_shape, w_shape, padding=1)


def test_direct_count_matches_naive_loop():
    """Seven nested loops, one counter increment per multiplication; the loop's result is
    checked against torch so the count is the count of a real convolution."""
    x, w, _ = _data(2, 2, 3, 5, 4, 3, seed=9, bias=False)
    stride, padding = 2, 1
    xp = F.pad(x, (padding,) * 4)
    ho = (xp.shape[2] - 3) // stride + 1
    wo = (xp.shape[3] - 3) // stride + 1
    y = np.zeros((2, 3, ho, wo))
    count = 0
    for n in range(2):
        for o in range(3):
            for i in range(ho):
                for j in range(wo):
                    for c in range(2):
                        for u in range(3):
                            for v in range(3):
                                y[n, o, i, j] += float(w[o, c, u, v]) * float(
                                    xp[n, c, i * stride + u, j * stride + v])
                                count += 1
    np.testing.assert_allclose(y, F.conv2d(x, w, stride=stride, padding=padding).numpy(), 1e-12)
    assert count == A.multiplications("direct", x.shape, w.shape, stride, padding)


def _spy(monkeypatch, name):
    """Wrap a stage function of the algorithms module; record its FLOPs, inputs and output."""
    original = getattr(A, name)
    calls = []

    def wrapped(*args):
        with FlopCounterMode(display=False) as counter:
            out = original(*args)
        calls.append(dict(flops=counter.get_total_flops(), args=args, out=out))
        return out

    monkeypatch.setattr(A, name, wrapped)
    return calls


@pytest.mark.parametrize("x_shape,w_shape,stride,padding",
                         [s for s in SHAPES if s[1][2] == 3 and s[2] == 1])
def test_winograd_count_matches_products_stage(monkeypatch, x_shape, w_shape, stride, padding):
    calls = _spy(monkeypatch, "_winograd_products")
    x, w = torch.randn(x_shape, dtype=torch.float64), torch.randn(w_shape, dtype=torch.float64)
    out = A.conv2d(x, w, "winograd", padding=padding)
    torch.testing.assert_close(out, F.conv2d(x, w, padding=padding), **TOL)
    (call,) = calls
    assert call["flops"] == 2 * A.multiplications("winograd", x_shape, w_shape, padding=padding)
    # independent tile count: the output's tile origins, one loop per axis
    ho, wo = out.shape[2:]
    tiles = len(range(0, ho, 2)) * len(range(0, wo, 2))
    assert call["flops"] // 2 == x_shape[0] * x_shape[1] * w_shape[0] * tiles * 16
    # and 2.25x fewer than direct when the output tiles exactly
    if ho % 2 == 0 and wo % 2 == 0:
        direct = A.multiplications("direct", x_shape, w_shape, padding=padding)
        ratio = direct / (call["flops"] // 2)
        assert ratio == pytest.approx(2.25)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", SHAPES)
def test_fft_count_matches_products_stage(monkeypatch, x_shape, w_shape, stride, padding):
    x, w = torch.randn(x_shape, dtype=torch.float64), torch.randn(w_shape, dtype=torch.float64)
    stage = A._fft_products
    counted = []
    monkeypatch.setattr(A, "_fft_products",
                        lambda xf, wf: counted.append(_products(lambda: stage(xf, wf))) or
                        stage(xf, wf))
    out = A.conv2d(x, w, "fft", stride, padding)
    torch.testing.assert_close(out, F.conv2d(x, w, stride=stride, padding=padding), **TOL)
    costs = A.fft_costs(x_shape, w_shape, stride, padding)
    assert counted == [costs["complex_products"]]
    assert (A.multiplications("fft", x_shape, w_shape, stride, padding)
            == 4 * costs["complex_products"])
    assert costs["transform_multiplications_estimate"] > 0


# ---------------------------------------------------------------------------------------------
# Extra memory against the tensors the implementations allocate
# ---------------------------------------------------------------------------------------------

def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_im2col_memory_is_the_patch_matrix(x_shape, w_shape, stride, padding, dtype):
    cols = A.im2col_matrix(torch.randn(x_shape, dtype=dtype), w_shape[2:], stride, padding)
    assert _nbytes(cols) == A.extra_memory("im2col", x_shape, w_shape, stride, padding,
                                           dtype=str(dtype))
    assert A.extra_memory("direct", x_shape, w_shape, stride, padding) == 0


def test_fft_and_winograd_memory_match_allocated_tensors(monkeypatch):
    x_shape, w_shape = (2, 3, 7, 6), (4, 3, 3, 3)
    x, w = torch.randn(x_shape, dtype=torch.float64), torch.randn(w_shape, dtype=torch.float64)
    fft_calls = _spy(monkeypatch, "_fft_products")
    wino_calls = _spy(monkeypatch, "_winograd_products")
    A.conv2d(x, w, "fft", padding=1)
    A.conv2d(x, w, "winograd", padding=1)
    (f,), (g,) = fft_calls, wino_calls
    assert sum(_nbytes(t) for t in (*f["args"], f["out"])) == A.extra_memory(
        "fft", x_shape, w_shape, padding=1, dtype="float64")
    assert sum(_nbytes(t) for t in (*g["args"], g["out"])) == A.extra_memory(
        "winograd", x_shape, w_shape, padding=1, dtype="float64")


# ---------------------------------------------------------------------------------------------
# Winograd transforms
# ---------------------------------------------------------------------------------------------

def test_winograd_matrices_are_the_published_ones():
    """Lavin & Gray (2016), section 4.1, F(2x2, 3x3)."""
    a_t, g, b_t = formulas.winograd_matrices(2, 3)
    half = sp.Rational(1, 2)
    assert b_t == sp.Matrix([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
    assert g == sp.Matrix([[1, 0, 0], [half, half, half], [half, -half, half], [0, 0, 1]])
    assert a_t == sp.Matrix([[1, 1, 1, 0], [0, 1, -1, -1]])
    assert formulas.winograd_identity_holds(2, 3)


@pytest.mark.parametrize("m,r", [(2, 3), (4, 3), (3, 2), (2, 5)])
def test_winograd_transforms_compute_a_correlation_numerically(m, r):
    a_t, g, b_t = (np.array(mat.evalf(), dtype=float) for mat in formulas.winograd_matrices(m, r))
    rng = np.random.default_rng(m * 10 + r)
    kern, tile = rng.standard_normal(r), rng.standard_normal(m + r - 1)
    ref = np.correlate(tile, kern, mode="valid")
    np.testing.assert_allclose(a_t @ ((g @ kern) * (b_t @ tile)), ref, rtol=1e-12, atol=1e-12)
    assert formulas.winograd_reduction_expr.subs({formulas.wino_m: 2, formulas.wino_r: 3}) \
        == sp.Rational(9, 4)


def test_winograd_fp16_error_behaviour():
    table = A.winograd_fp16_error(scales=(1.0, 1e4), channels=4, size=8, batch=1)
    one = table[table.scale == 1.0].set_index("m")
    # rounding really happened in float16, and F(2x2) stays at direct's accuracy
    assert 1e-5 < one.loc[2, "winograd_rms_rel"] < 5 * one.loc[2, "direct_rms_rel"]
    # F(4x4, 3x3) amplifies rounding: its transforms have entries up to 5 and 1/24
    assert one.loc[4, "winograd_rms_rel"] > 2 * one.loc[2, "winograd_rms_rel"]
    big = table[table.scale == 1e4].set_index("m")
    assert big.loc[4, "overflow"] and np.isinf(big.loc[4, "winograd_max_rel"])
    assert not big.loc[2, "overflow"] and big.loc[2, "max_abs_ref"] < 65504


def test_algorithm_formulas_by_hand():
    assert formulas.winograd_tiles((5, 7)) == 3 * 4                       # ceil(5/2) ceil(7/2)
    assert formulas.winograd_multiplications(2, 3, (5, 7), batch=2) == 2 * 2 * 3 * 12 * 16
    assert formulas.winograd_multiplications(1, 1, 4, m=4) == 36         # one 6x6 tile
    assert formulas.rfft2_elements((8, 9)) == 8 * 5
    assert formulas.fft_products(3, 4, (8, 9), batch=2) == 2 * 3 * 4 * 40
    # one input, one kernel, one inverse transform of 16 points: 16 log2 16 = 64 each
    assert formulas.fft_transform_multiplications(1, 1, (4, 4)) == 192
    with pytest.raises(ValueError, match="points must have m \\+ r - 1 = 4"):
        formulas.winograd_matrices(2, 3, points=[0, 1, sp.oo])
    with pytest.raises(ValueError, match="output size"):
        formulas.winograd_tiles(0)


def test_bad_arguments_fail_fast_with_the_parameter_named():
    """Each refused within the bad-input harness's limit of CPU time (tests/badinput.py)."""
    from badinput import refuses
    x, w, _ = _data(1, 2, 2, 8, 8, 3)
    refuses(lambda: A.winograd_conv2d(x, w, padding=1, m=2 ** 80),     # no tile grid of 2**80
            ValueError, r"\bm\b")
    refuses(lambda: A.winograd_conv2d(x, w, padding=1, m=(2, 2)), TypeError, r"\bm\b")
    refuses(lambda: A.conv2d(x.tolist(), w, "direct"), TypeError,
            "input x must be a torch.Tensor")
    refuses(lambda: A.conv2d(x, w.long(), "im2col"), ValueError,
            "weight w must have a floating-point dtype")
    refuses(lambda: A.direct_conv2d(x, w, padding=2 ** 40),            # no 2**80-element copy
            ValueError, "padding")
    refuses(lambda: A.multiplications("direct", (1, 2, 8, 8.0), w.shape), TypeError, "x_shape")
    refuses(lambda: A.extra_memory(["fft"], x.shape, w.shape), TypeError, "method")
    refuses(lambda: A.winograd_fp16_error(tiles=(2.5,)), TypeError, "tiles")
