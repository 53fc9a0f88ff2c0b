"""cnnbook_lib.formulas checked against PyTorch: shapes, numel(), FlopCounterMode, F.unfold,
autograd's saved tensors. Shapes are computed on the meta device (no arithmetic)."""
import inspect
import re
from pathlib import Path
from fractions import Fraction

import pytest
import sympy as sp
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings, strategies as st
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import formulas as F

META = dict(device="meta")
small = st.integers(1, 7)
settings.register_profile("cnnbook", max_examples=60, deadline=None)
settings.load_profile("cnnbook")


def counted_flops(fn, *args, **kw) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args, **kw)
    return counter.get_total_flops()


@st.composite
def conv_configs(draw):
    """A random valid 2-D convolution (asymmetric kernels, padding, stride, dilation, groups)."""
    g = draw(st.integers(1, 4))
    c_in = g * draw(st.integers(1, 3))
    c_out = g * draw(st.integers(1, 3))
    kh, kw = draw(small), draw(small)
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    assume(dh * (kh - 1) + 1 <= h + 2 * ph and dw * (kw - 1) + 1 <= w + 2 * pw)
    return dict(c_in=c_in, c_out=c_out, k=(kh, kw), s=(sh, sw), p=(ph, pw), d=(dh, dw),
                g=g, hw=(h, w), batch=draw(st.integers(1, 3)), bias=draw(st.booleans()))


# --- output sizes -------------------------------------------------------------------------


@given(conv_configs())
def test_conv_output_size_matches_torch(c):
    x = torch.empty(c["batch"], c["c_in"], *c["hw"], **META)
    w = torch.empty(c["c_out"], c["c_in"] // c["g"], *c["k"], **META)
    y = TF.conv2d(x, w, stride=c["s"], padding=c["p"], dilation=c["d"], groups=c["g"])
    assert F.conv_output_size(c["hw"], c["k"], c["s"], c["p"], c["d"]) == tuple(y.shape[2:])
    # and axis by axis with plain ints
    for axis in range(2):
        assert F.conv_output_size(c["hw"][axis], c["k"][axis], c["s"][axis], c["p"][axis],
                                  c["d"][axis]) == y.shape[2 + axis]


@given(n=st.integers(1, 40), k=small, s=st.integers(1, 4), p=st.integers(0, 3),
       d=st.integers(1, 3), ceil_mode=st.booleans())
def test_pool_output_size_matches_torch(n, k, s, p, d, ceil_mode):
    """Valid and invalid configurations alike: torch raises exactly where we do. With
    ceil_mode a kernel larger than the padded input may still give one output."""
    assume(2 * p <= k)

    def ours(size, **kw):
        try:
            return F.pool_output_size(size, k, s, p, ceil_mode, **kw)
        except ValueError:
            return None

    def torchs(pool, size, **kw):
        try:
            return pool(torch.empty(1, 1, size, size, **META), k, s, p, ceil_mode=ceil_mode,
                        **kw).shape[2]
        except RuntimeError:
            return None

    for size in (n, n + 1):
        assert ours(size, d=d) == torchs(TF.max_pool2d, size, dilation=d)
        if d == 1:     # average pooling has no dilation and uses the same rule
            assert ours(size) == torchs(TF.avg_pool2d, size)


def test_pool_ceil_mode_drops_window_starting_in_padding():
    # n=5, k=2, s=2, p=1: ceil gives 4 windows but the 4th would start inside the right padding
    y = TF.max_pool2d(torch.empty(1, 1, 5, 5, **META), 2, 2, 1, ceil_mode=True)
    assert F.pool_output_size(5, 2, 2, 1, ceil_mode=True) == y.shape[2] == 3
    assert F.pool_output_size(5, 2, 2, 0, ceil_mode=True) == 3
    assert F.pool_output_size(5, 2, 2, 0, ceil_mode=False) == 2
    assert F.pool_output_size(5, 2) == 2          # stride defaults to the kernel


def test_pool_ceil_mode_kernel_larger_than_input():
    # a 2x2/2 window on a 1-pixel input: floor mode has no window, ceil mode keeps one
    y = TF.max_pool2d(torch.empty(1, 1, 1, 1, **META), 2, 2, ceil_mode=True)
    assert F.pool_output_size(1, 2, 2, ceil_mode=True) == y.shape[2] == 1
    with pytest.raises(RuntimeError):
        TF.max_pool2d(torch.empty(1, 1, 1, 1), 2, 2)
    with pytest.raises(ValueError, match=r"kernel 2 \(effective 2\) is larger than padded input 1"):
        F.pool_output_size(1, 2, 2)
    with pytest.raises(ValueError, match=r"kernel 3 \(effective 3\) is too large .* ceil_mode"):
        F.pool_output_size(1, 3, 1, ceil_mode=True)


@given(n=st.integers(1, 20), k=small, s=st.integers(1, 4), p=st.integers(0, 3),
       d=st.integers(1, 3), op=st.integers(0, 3), g=st.integers(1, 3))
def test_conv_transpose_output_size_matches_torch(n, k, s, p, d, op, g):
    assume(op < s or op < d)
    expected = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    assume(expected >= 1)
    x = torch.empty(1, 2 * g, n, n, **META)
    w = torch.empty(2 * g, 3, k, k, **META)
    y = TF.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    assert F.conv_transpose_output_size(n, k, s, p, op, d) == y.shape[2]


def test_alexnet_224_vs_227():
    # 224 with an 11x11 stride-4 kernel and no padding does not tile evenly; 227 does.
    assert (227 - 11) % 4 == 0 and (224 - 11) % 4 != 0
    assert F.conv_output_size(227, 11, 4) == 55
    assert F.conv_output_size(224, 11, 4) == 54
    assert F.conv_output_size(224, 11, 4, 2) == 55     # torchvision pads by 2


def test_effective_kernel():
    assert F.effective_kernel_size(3, 2) == 5
    assert F.effective_kernel_size(3, 4) == 9
    x = torch.empty(1, 1, 9, 9, **META)
    assert TF.conv2d(x, torch.empty(1, 1, 3, 3, **META), dilation=4).shape[2] == 1


# --- parameters and MACs -------------------------------------------------------------------


@given(conv_configs())
def test_conv_params_match_numel(c):
    layer = torch.nn.Conv2d(c["c_in"], c["c_out"], c["k"], groups=c["g"], bias=c["bias"], **META)
    assert F.conv_params(c["c_in"], c["c_out"], c["k"], c["g"], c["bias"]) == sum(
        p.numel() for p in layer.parameters())


@given(conv_configs())
def test_conv_macs_match_flop_counter(c):
    x = torch.empty(c["batch"], c["c_in"], *c["hw"], **META)
    w = torch.empty(c["c_out"], c["c_in"] // c["g"], *c["k"], **META)
    out_hw = F.conv_output_size(c["hw"], c["k"], c["s"], c["p"], c["d"])
    flops = counted_flops(TF.conv2d, x, w, stride=c["s"], padding=c["p"], dilation=c["d"],
                          groups=c["g"])
    macs = F.conv_macs(c["c_in"], c["c_out"], c["k"], out_hw, c["g"], c["batch"])
    assert 2 * macs == flops
    assert F.conv_flops(c["c_in"], c["c_out"], c["k"], out_hw, c["g"], c["batch"]) == flops


@given(n=st.integers(1, 12), k=small, s=st.integers(1, 3), g=st.integers(1, 3),
       batch=st.integers(1, 3))
def test_conv_transpose_macs_match_flop_counter(n, k, s, g, batch):
    x = torch.empty(batch, 2 * g, n, n + 2, **META)
    w = torch.empty(2 * g, 3, k, k, **META)
    flops = counted_flops(TF.conv_transpose2d, x, w, stride=s, groups=g)
    assert 2 * F.conv_transpose_macs(2 * g, 3 * g, k, (n, n + 2), g, batch) == flops


@given(fi=st.integers(1, 64), fo=st.integers(1, 64), batch=st.integers(1, 5), bias=st.booleans())
def test_linear_params_and_macs(fi, fo, batch, bias):
    layer = torch.nn.Linear(fi, fo, bias=bias, **META)
    assert F.linear_params(fi, fo, bias) == sum(p.numel() for p in layer.parameters())
    assert 2 * F.linear_macs(fi, fo, batch) == counted_flops(layer, torch.empty(batch, fi, **META))


def test_conv_1d_and_3d_kernels_reduce_to_products():
    layer = torch.nn.Conv3d(4, 6, (3, 5, 7), **META)
    assert F.conv_params(4, 6, (3, 5, 7)) == sum(p.numel() for p in layer.parameters())
    x = torch.empty(2, 4, 8, 9, 10, **META)
    y = layer(x)
    assert 2 * F.conv_macs(4, 6, (3, 5, 7), tuple(y.shape[2:]), batch=2) == counted_flops(layer, x)


# --- backward pass --------------------------------------------------------------------------


@pytest.mark.parametrize("groups", [1, 2, 4])
@pytest.mark.parametrize("input_grad", [True, False])
def test_conv_backward_macs(groups, input_grad):
    """Ungrouped: equals FlopCounterMode. Grouped: equals FlopCounterMode on the same layer split
    into one ungrouped convolution per group (an independent count), while FlopCounterMode on the
    grouped layer counts its weight gradient ``groups`` times."""
    torch.manual_seed(0)
    c_in, c_out, k, hw, batch = 8, 12, 3, (9, 7), 2
    x = torch.randn(batch, c_in, *hw, requires_grad=input_grad)
    w = torch.randn(c_out, c_in // groups, k, k, requires_grad=True)
    out_hw = F.conv_output_size(hw, k, 1, 1)
    ours = F.conv_backward_macs(c_in, c_out, k, out_hw, groups, batch, input_grad=input_grad)

    def backward_flops(fn):
        y = fn()
        grad = torch.ones_like(y)
        with FlopCounterMode(display=False) as counter:
            y.backward(grad)
        return counter.get_total_flops()

    def split():
        xs, ws = x.chunk(groups, 1), w.chunk(groups, 0)
        return torch.cat([TF.conv2d(a, b, padding=1) for a, b in zip(xs, ws)], 1)

    assert 2 * ours == backward_flops(split)
    grouped = backward_flops(lambda: TF.conv2d(x, w, padding=1, groups=groups))
    weight_grad = F.conv_macs(c_in, c_out, k, out_hw, groups, batch)
    assert grouped == 2 * (ours + (groups - 1) * weight_grad)


# --- memory -------------------------------------------------------------------------------


@given(c_in=st.integers(1, 6), k=small, h=st.integers(1, 16), s=st.integers(1, 3),
       p=st.integers(0, 3), batch=st.integers(1, 3))
def test_im2col_matches_unfold(c_in, k, h, s, p, batch):
    assume(k <= h + 2 * p)
    x = torch.empty(batch, c_in, h, h + 1, **META)
    cols = TF.unfold(x, k, padding=p, stride=s)
    out_hw = F.conv_output_size((h, h + 1), k, s, p)
    assert F.im2col_elements(c_in, k, out_hw, batch) == cols.numel()
    assert F.im2col_bytes(c_in, k, out_hw, batch, "float16") == 2 * cols.numel()


def test_activation_and_parameter_bytes():
    layer = torch.nn.Conv2d(64, 128, 3, padding=1)
    y = layer(torch.randn(2, 64, 14, 14))
    assert F.conv_activation_bytes(128, (14, 14), 2) == y.numel() * y.element_size()
    assert F.tensor_bytes(F.conv_params(64, 128, 3), "float32") == sum(
        p.numel() * p.element_size() for p in layer.parameters())
    assert F.tensor_bytes((2, 3), torch.bfloat16) == 12
    assert F.tensor_bytes(0) == 0


@given(c=st.integers(1, 9), h=st.integers(1, 12), w=st.integers(1, 12), batch=st.integers(1, 4),
       dtype=st.sampled_from([torch.float32, torch.float16, torch.bfloat16, torch.float64]))
def test_activation_bytes_come_from_the_shown_expressions(c, h, w, batch, dtype):
    """The numeric functions evaluate the expressions the book displays (not a second copy of
    the formula), and both equal numel() * element_size() of the tensor."""
    t = torch.empty(batch, c, h, w, dtype=dtype, **META)
    nbytes = t.numel() * t.element_size()
    name = str(dtype).replace("torch.", "")
    assert F.conv_activation_bytes(c, (h, w), batch, name) == nbytes
    assert F.conv_backward_cache_bytes(c, (h, w), batch, name) == nbytes
    subs = {F.N: batch, F.h_out: h, F.w_out: w, F.h_in: h, F.w_in: w, F.c_out: c, F.c_in: c,
            F.b: t.element_size()}
    assert F.EXPRESSIONS["conv_activation_bytes"].subs(subs) == nbytes
    assert F.EXPRESSIONS["conv_backward_cache_bytes"].subs(subs) == nbytes


def test_backward_cache_is_what_autograd_saves():
    """The conv keeps its input (for the weight gradient) and its weight (a parameter)."""
    layer = torch.nn.Conv2d(5, 7, 3, stride=2)
    x = torch.randn(3, 5, 11, 13, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        layer(x)
    params = {p.data_ptr() for p in layer.parameters()}
    activations = {t.data_ptr(): t.numel() * t.element_size() for t in saved
                   if t.data_ptr() not in params}
    assert F.conv_backward_cache_bytes(5, (11, 13), 3) == sum(activations.values())


# --- ratios -----------------------------------------------------------------------------------


@pytest.mark.parametrize("c_in,c_out,k", [(32, 64, 3), (16, 16, 5), (8, 24, 7)])
def test_separable_ratio_matches_counted_flops(c_in, c_out, k):
    x = torch.empty(1, c_in, 20, 20, **META)
    std = counted_flops(TF.conv2d, x, torch.empty(c_out, c_in, k, k, **META))
    dw = counted_flops(TF.conv2d, x, torch.empty(c_in, 1, k, k, **META), groups=c_in)
    y = torch.empty(1, c_in, 20 - k + 1, 20 - k + 1, **META)
    pw = counted_flops(TF.conv2d, y, torch.empty(c_out, c_in, 1, 1, **META))
    assert F.separable_cost_ratio(c_out, k) == Fraction(dw + pw, std)
    assert F.separable_cost_ratio(c_out, k) == Fraction(1, c_out) + Fraction(1, k * k)


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
def test_grouped_ratio_matches_counted_flops(groups):
    x = torch.empty(1, 8, 10, 10, **META)
    dense = counted_flops(TF.conv2d, x, torch.empty(16, 8, 3, 3, **META))
    grouped = counted_flops(TF.conv2d, x, torch.empty(16, 8 // groups, 3, 3, **META), groups=groups)
    assert F.grouped_cost_ratio(groups) == Fraction(grouped, dense) == Fraction(1, groups)


@pytest.mark.parametrize("c_in,r,c_out,k", [(192, 96, 128, 3), (192, 16, 32, 5), (64, 64, 64, 3),
                                             (32, 8, 48, 7)])
def test_bottleneck_ratio_matches_counted_flops(c_in, r, c_out, k):
    """A 1x1 reduction then the k x k layer, against the k x k layer alone (GoogLeNet's 3x3 and
    5x5 branches of inception 3a among them), by FlopCounterMode."""
    x = torch.empty(1, c_in, 12, 12, **META)
    direct = counted_flops(TF.conv2d, x, torch.empty(c_out, c_in, k, k, **META), padding=k // 2)
    reduced = (counted_flops(TF.conv2d, x, torch.empty(r, c_in, 1, 1, **META))
               + counted_flops(TF.conv2d, torch.empty(1, r, 12, 12, **META),
                               torch.empty(c_out, r, k, k, **META), padding=k // 2))
    value = F.bottleneck_ratio.subs({F.c_in: c_in, F.r_mid: r, F.c_out: c_out, F.k: k})
    assert value == sp.Rational(reduced, direct)


@pytest.mark.parametrize("c,k", [(16, 3), (8, 5), (24, 7)])
def test_spatial_separable_ratio_matches_counted_flops(c, k):
    x = torch.empty(1, c, 15, 15, **META)
    full = counted_flops(TF.conv2d, x, torch.empty(c, c, k, k, **META), padding=k // 2)
    pair = (counted_flops(TF.conv2d, x, torch.empty(c, c, k, 1, **META), padding=(k // 2, 0))
            + counted_flops(TF.conv2d, x, torch.empty(c, c, 1, k, **META), padding=(0, k // 2)))
    assert F.spatial_separable_ratio.subs(F.k, k) == sp.Rational(pair, full) == sp.Rational(2, k)


@pytest.mark.parametrize("c_in,c_out,t,hw", [(16, 24, 6, 14), (24, 24, 6, 7), (8, 16, 1, 9),
                                             (32, 16, 4, 5)])
def test_inverted_residual_macs_match_counted_flops(c_in, c_out, t, hw):
    """MobileNetV2's block (Sandler et al. 2018, Section 5: h w t d' (d' + k^2 + d'')) against
    FlopCounterMode on the library's block; with t = 1 the block has no expansion layer, and the
    formula's first term is then the cost of a 1x1 layer that is not there."""
    from torch.utils.flop_counter import FlopCounterMode
    from cnnbook_lib import architectures as A
    block = A.inverted_residual(c_in, c_out, 1, t).to("meta")
    with FlopCounterMode(display=False) as counter:
        block(torch.empty(1, c_in, hw, hw, **META))
    values = {F.c_in: c_in, F.c_out: c_out, F.t_exp: t, F.k: 3, F.h_out: hw, F.w_out: hw, F.N: 1}
    expected = int(F.inverted_residual_macs_expr.subs(values))
    if t == 1:
        expected -= F.conv_macs(c_in, c_in, 1, hw)
    assert counter.get_total_flops() == 2 * expected


def test_expressions_are_sympy_and_render():
    """Every expression typesets; every closed-form one (no sums over indexed tensors, which
    describe the operation element by element) also compiles to JavaScript."""
    for name, expr in F.EXPRESSIONS.items():
        assert isinstance(expr, sp.Basic), name
        assert sp.latex(expr)
        if not expr.atoms(sp.Indexed):
            assert sp.jscode(expr), name
    for name in ("conv_output", "conv_transpose_output", "pool_output_ceil", "conv_params",
                 "conv_macs", "separable_ratio"):
        assert not F.EXPRESSIONS[name].atoms(sp.Indexed)
    assert sp.simplify(F.separable_ratio - (1 / F.c_out + 1 / F.k ** 2)) == 0


def test_exact_for_huge_values():
    # 2**60 MACs would lose precision in floating point
    big = 2 ** 20
    assert F.conv_macs(big, big, 1, (2 ** 10, 2 ** 10)) == 2 ** 60


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("call,message", [
    (lambda: F.conv_output_size(5, 7), r"kernel 7 \(effective 7\) is larger than padded input 5 \(n=5, p=0\)"),
    (lambda: F.conv_output_size(5, 3, d=3), r"kernel 3 \(effective 7\) is larger than padded input 5"),
    (lambda: F.conv_output_size(0, 3), r"input size n must be a positive integer.*got 0"),
    (lambda: F.conv_output_size(8, 0), r"kernel k must be a positive integer.*got 0"),
    (lambda: F.conv_output_size(8, 3, 0), r"stride s must be a positive integer.*got 0"),
    (lambda: F.conv_output_size(8, 3, 1, -1), r"padding p must be an integer >= 0, got -1"),
    (lambda: F.conv_output_size(8, 3, d=0), r"dilation d must be a positive integer.*got 0"),
    (lambda: F.conv_output_size((8, 8), (3, 3, 3)), r"different lengths"),
    (lambda: F.pool_output_size(8, 2, 2, 2), r"padding 2 must be at most half the pooling kernel 2"),
    (lambda: F.conv_transpose_output_size(4, 3, 2, output_padding=2),
     r"output_padding 2 must be smaller than either stride 2 or dilation 1"),
    (lambda: F.conv_transpose_output_size(1, 1, 1, p=1), r"padding 1 is too large"),
    (lambda: F.conv_params(3, 64, 3, groups=2), r"groups 2 does not divide in_channels 3"),
    (lambda: F.conv_params(4, 6, 3, groups=4), r"groups 4 does not divide out_channels 6"),
    (lambda: F.conv_params(4, 6, 3, groups=0), r"groups must be a positive integer.*got 0"),
    (lambda: F.conv_macs(4, 8, 3, 0), r"output size out_hw must be a positive integer.*got 0"),
    (lambda: F.conv_macs(4, 8, 3, 5, batch=0), r"batch must be a positive integer.*got 0"),
    (lambda: F.linear_params(0, 3), r"in_features must be a positive integer.*got 0"),
    (lambda: F.tensor_bytes(10, "float128"), r"dtype 'float128' is unknown; valid: float64"),
])
def test_errors_name_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("call,message", [
    (lambda: F.conv_output_size(8.0, 3), r"input size n must be an integer, got 8.0"),
    (lambda: F.conv_output_size(True, 3), r"input size n must be an integer, got True"),
    (lambda: F.conv_output_size("8", 3), r"input size n must be an integer, got '8'"),
    (lambda: F.conv_params(3, 8, None), r"kernel k must be an integer, got None"),
    (lambda: F.tensor_bytes(10, 4), r"dtype must be a string"),
])
def test_wrong_types_are_type_errors(call, message):
    """A value of the wrong type is a TypeError (cnnbook_lib.validation), not a ValueError."""
    with pytest.raises(TypeError, match=message):
        call()


def test_torch_agrees_these_are_errors():
    """The configurations rejected above are rejected by torch too (where torch checks them)."""
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.empty(1, 1, 5, 5), torch.empty(1, 1, 7, 7))
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.empty(1, 3, 5, 5), torch.empty(64, 1, 3, 3), groups=2)
    with pytest.raises(RuntimeError):
        TF.conv_transpose2d(torch.empty(1, 1, 4, 4), torch.empty(1, 1, 3, 3), stride=2,
                            output_padding=2)
    with pytest.raises(RuntimeError):
        TF.max_pool2d(torch.empty(1, 1, 8, 8), 2, 2, 2)


@pytest.mark.parametrize("tokens, dim, heads, batch", [(1, 8, 1, 1), (50, 64, 4, 3), (196, 32, 8, 2)])
def test_attention_macs_match_flop_counter(tokens, dim, heads, batch):
    """Self-attention MACs against FlopCounterMode on torch's MultiheadAttention (with the
    attention weights computed, so the score and weighted-sum products run as bmm)."""
    from torch.utils.flop_counter import FlopCounterMode
    layer = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
    x = torch.randn(batch, tokens, dim)
    with FlopCounterMode(display=False) as counter:
        layer(x, x, x, need_weights=True)
    assert F.macs_to_flops(F.attention_macs(tokens, dim, batch)) == counter.get_total_flops()
    with pytest.raises(ValueError, match="tokens must be a positive integer"):
        F.attention_macs(0, dim)


def test_cross_correlation_expression_is_conv2d():
    """Expand the element formula for small sizes and evaluate it on numbers: torch's conv2d
    (stride 2, dilation 2, padding 1, bias) gives the same output at every position."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 7, 7, generator=gen, dtype=torch.float64)
    w = torch.randn(3, 2, 2, 2, generator=gen, dtype=torch.float64)
    bias = torch.randn(3, generator=gen, dtype=torch.float64)
    ref = TF.conv2d(x, w, bias, stride=2, padding=1, dilation=2)
    xp = TF.pad(x, (1, 1, 1, 1))[0]
    expr = F.cross_correlation_expr.subs({F.c_in: 2, F.k_h: 2, F.k_w: 2, F.s: 2, F.d: 2}).doit()
    fn = sp.lambdify((F.x_in, F.w_k, F.bias_v, F.o_ch, F.i_out, F.j_out), expr)
    for o in range(3):
        for i in range(ref.shape[2]):
            for j in range(ref.shape[3]):
                got = fn(xp.numpy(), w.numpy(), bias.numpy(), o, i, j)
                assert got == pytest.approx(ref[0, o, i, j].item(), rel=1e-12)


def test_true_convolution_is_correlation_with_flipped_kernel():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(6, 6, generator=gen, dtype=torch.float64)
    w = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    expr = F.true_convolution_expr.subs({F.k_h: 3, F.k_w: 3}).doit()
    fn = sp.lambdify((F.x_in, F.w_k, F.i_out, F.j_out), expr)
    ref = TF.conv2d(x[None, None], w.flip(0, 1)[None, None])[0, 0]
    for i in range(4):
        for j in range(4):      # output (i, j) of the valid part is centred at (i + 2, j + 2)
            assert fn(x.numpy(), w.numpy(), i + 2, j + 2) == pytest.approx(ref[i, j].item(), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Batch normalization, training memory, window spans, Winograd tiles, FFT multiplications,
# matmul MACs and the roofline's copy bandwidth and memory time
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 64, 2048])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_params_match_torch(channels, affine):
    for layer in (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d):
        bn = layer(channels, affine=affine, device="meta")
        assert F.batchnorm_params(channels, affine) == sum(p.numel() for p in bn.parameters())
    assert F.EXPRESSIONS["batchnorm_params"].subs(F.ch, channels) == 2 * channels
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        F.batchnorm_params(0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_tensor_bytes_match_torch(dtype):
    """The activation bytes of the per-layer summary: numel() * element_size()."""
    for shape in [(1, 3, 224, 224), (8, 64, 7, 5), (2, 0, 4), (10,)]:
        t = torch.empty(shape, dtype=dtype, device="meta")
        assert F.tensor_bytes(shape, dtype) == t.numel() * t.element_size()


@pytest.mark.parametrize("optimizer, make", [
    ("adam", lambda ps: torch.optim.Adam(ps)),
    ("adamw", lambda ps: torch.optim.AdamW(ps)),
    ("sgd_momentum", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1)),
])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_optimizer_state_bytes_match_torch(optimizer, make, dtype):
    """The state torch's optimizer really allocates after one step (per-parameter tensors; Adam's
    scalar step counters are not counted)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 5)).to(dtype)
    opt = make(model.parameters())
    model(torch.randn(2, 3, 6, 6, dtype=dtype)).sum().backward()
    opt.step()
    params = list(model.parameters())
    state = sum(v.numel() * v.element_size() for prm in params for v in opt.state[prm].values()
                if isinstance(v, torch.Tensor) and v.shape == prm.shape)
    count = sum(prm.numel() for prm in params)
    assert F.optimizer_state_bytes(count, optimizer, dtype) == state
    assert F.optimizer_state_bytes(0, optimizer, dtype) == 0
    with pytest.raises(ValueError, match="optimizer 'lbfgs' is unknown; valid: adam"):
        F.optimizer_state_bytes(count, "lbfgs")


@pytest.mark.parametrize("batch, new_batch", [(1, 1), (1, 8), (2, 8), (4, 2), (3, 5)])
def test_scaled_activation_bytes_match_torch(batch, new_batch):
    """Activations scale linearly with the batch: bytes of real tensors at two batch sizes."""
    per_image = [(64, 56, 56), (128, 28, 28), (1000,)]
    at = lambda n: sum(torch.empty((n,) + s, device="meta").numel() * 4 for s in per_image)  # noqa: E731
    assert F.scaled_activation_bytes(at(batch), batch, new_batch) == at(new_batch)
    assert F.scaled_activation_bytes(10, 3, 2) == 6           # floor(10 * 2 / 3)
    assert F.scaled_activation_bytes(0, 3, 2) == 0


@given(n_out=st.integers(1, 12), k=small, s=st.integers(1, 4), d=st.integers(1, 3))
def test_window_span_matches_conv1d(n_out, k, s, d):
    """The smallest input a stride-s, dilation-d convolution maps to n_out outputs."""
    span = F.window_span(n_out, k, s, d)
    w = torch.empty(1, 1, k, **META)
    assert TF.conv1d(torch.empty(1, 1, span, **META), w, stride=s, dilation=d).shape[-1] == n_out
    if span > d * (k - 1) + 1:
        assert TF.conv1d(torch.empty(1, 1, span - 1, **META), w, stride=s,
                         dilation=d).shape[-1] == n_out - 1


@given(n=st.integers(1, 30), k=small, s=st.integers(1, 4), d=st.integers(1, 2),
       p=st.integers(0, 3))
def test_window_overhang_turns_ceil_mode_into_floor_mode(n, k, s, d, p):
    """Padding the right by the overhang makes floor-mode max pooling give torch's ceil-mode
    output size; one element less loses the last window."""
    assume(2 * p <= k and d * (k - 1) + 1 <= n + 2 * p)
    x = torch.zeros(1, 1, n)
    n_out = TF.max_pool1d(x, k, s, p, d, ceil_mode=True).shape[-1]
    extra = F.window_overhang(n, n_out, k, s, p, d)
    padded = TF.pad(x, (p, p + extra))
    assert TF.max_pool1d(padded, k, s, 0, d).shape[-1] == n_out
    if extra:
        assert TF.max_pool1d(padded[..., :-1], k, s, 0, d).shape[-1] == n_out - 1
    assert F.window_overhang((n, n), (n_out, n_out), k, s, p, d) == (extra, extra)


@given(ho=st.integers(1, 40), wo=st.integers(1, 40), m=st.integers(1, 6))
def test_winograd_tile_grid_matches_torch_split(ho, wo, m):
    grid = (len(torch.arange(ho).split(m)), len(torch.arange(wo).split(m)))
    assert F.winograd_tile_grid((ho, wo), m) == grid
    assert F.winograd_tiles((ho, wo), m) == grid[0] * grid[1]


@pytest.mark.parametrize("c_in, c_out, hw, batch", [(1, 1, (4, 4), 1), (3, 5, (9, 6), 2),
                                                    (2, 4, (7, 7), 3)])
def test_fft_real_multiplications(c_in, c_out, hw, batch):
    """4 real products per complex product (the expansion of (a + ib)(c + id)), times the complex
    products counted from the spectra torch.fft.rfft2 returns."""
    a, b_, c, d_ = sp.symbols("a b c d", real=True)
    prod = sp.expand((a + sp.I * b_) * (c + sp.I * d_))
    real_mults = len(sp.Add.make_args(sp.re(prod))) + len(sp.Add.make_args(sp.im(prod)))
    spectrum = torch.fft.rfft2(torch.zeros(hw))
    complex_products = batch * c_in * c_out * spectrum.numel()
    assert F.fft_real_multiplications(c_in, c_out, hw, batch) == real_mults * complex_products


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (3, 7, 5), (64, 32, 128), (1024, 1024, 1024)])
def test_matmul_macs_match_flop_counter(m, k, n):
    a, b_ = torch.empty(m, k, **META), torch.empty(k, n, **META)
    assert F.macs_to_flops(F.matmul_macs(m, k, n)) == counted_flops(torch.mm, a, b_)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        F.matmul_macs(m, 0, n)


def test_copy_bandwidth_counts_read_and_write():
    """A copy reads the source and writes the destination: their bytes over the time."""
    src = torch.empty(3 * 2 ** 20, dtype=torch.float32, device="meta")
    dst = torch.empty_like(src)
    moved = src.numel() * src.element_size() + dst.numel() * dst.element_size()
    nbytes = src.numel() * src.element_size()
    assert F.copy_bandwidth(nbytes, 1.5e-3) == pytest.approx(moved / 1.5e-3, rel=1e-15)
    with pytest.raises(ValueError, match="seconds must be a positive"):
        F.copy_bandwidth(nbytes, 0)


def test_memory_time_is_the_memory_side_of_the_roofline():
    """The bytes of a layer's tensors (numel * element_size) over the bandwidth; when compute is
    negligible the roofline time is the memory time."""
    x = torch.empty(4, 16, 28, 28, **META)
    w = torch.empty(32, 16, 3, 3, **META)
    y = TF.conv2d(x, w)
    nbytes = sum(t.numel() * t.element_size() for t in (x, w, y))
    assert nbytes == F.conv_min_bytes(16, 32, 3, 28, 26, batch=4)
    bw = 2.0e12
    assert F.memory_time(nbytes, bw) == pytest.approx(nbytes / bw, rel=1e-15)
    assert F.roofline_time(1.0, nbytes, 1e30, bw) == F.memory_time(nbytes, bw)
    with pytest.raises(ValueError, match="bandwidth bw must be a positive"):
        F.memory_time(nbytes, 0)


# ---------------------------------------------------------------------------------------------
# One namespace over the concept modules; known bad inputs stay refused
# ---------------------------------------------------------------------------------------------
_ROOT = Path(__file__).resolve().parents[1]
_CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def _formulas_uses() -> dict[str, set[str]]:
    """Every attribute the book's code takes from ``cnnbook_lib.formulas``: ``F.x`` in a file
    that imports ``formulas as F``, ``formulas.x`` in a file that imports ``formulas``, read from
    the library's modules and the chapters' code cells (what the pages run). name -> files."""
    uses: dict[str, set[str]] = {}
    files = [*(_ROOT / "cnnbook_lib").rglob("*.py"), *(_ROOT / "chapters").rglob("*.md")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            text = "\n".join(_CODE_CELL.findall(text))
        if path.parent.name == "formulas" and path.parent.parent.name == "cnnbook_lib":
            continue                                   # the package itself
        prefixes = []
        if re.search(r"\bformulas as F\b", text):
            prefixes.append("F")
        if re.search(r"import (?:[\w, ]*\b)?formulas\b(?! as)|from cnnbook_lib import formulas\b(?! as)"
                     r"|import cnnbook_lib\.formulas\b(?! as)", text):
            prefixes.append("formulas")
        for prefix in prefixes:
            for name in re.findall(rf"(?<![\w.]){prefix}\.([A-Za-z_]\w*)", text):
                uses.setdefault(name, set()).add(str(path.relative_to(_ROOT)))
    return uses


def test_every_name_the_book_uses_is_public():
    """What the chapters and the library take from the formulas namespace exists there and is
    public (a renamed or removed formula fails here, not in a book build)."""
    uses = _formulas_uses()
    assert len(uses) > 50, "the scan found too few uses: the import patterns changed"
    submodules = {m.__name__.rsplit(".", 1)[1] for m in F.MODULES} | {"display"}
    missing = {name: sorted(where) for name, where in uses.items()
               if name not in submodules and name not in F.__all__}
    assert not missing, f"used but not public in cnnbook_lib.formulas: {missing}"
    private = [name for name, value in vars(F).items() if name.startswith("_")
               and not name.startswith("__") and not inspect.ismodule(value)]
    assert not private, f"private names in the public namespace: {private}"


def test_each_name_lives_in_one_concept_module():
    homes: dict[str, str] = {}
    for module in F.MODULES:
        for name in module.__all__:
            assert name not in homes, (name, homes.get(name), module.__name__)
            homes[name] = module.__name__
            assert getattr(F, name) is getattr(module, name), name
    public = [name for module in F.MODULES for name, value in vars(module).items()
              if not name.startswith("_") and callable(value) and getattr(value, "__module__", "")
              == module.__name__]
    assert set(public) <= set(homes), set(public) - set(homes)     # every function exported


@pytest.mark.parametrize("call", [
    lambda: F.conv_params(3, 8, 3, bias="False"),          # a non-empty string was True
    lambda: F.linear_params(3, 8, bias=1),
    lambda: F.pool_output_size(7, 3, 2, ceil_mode="False"),
    lambda: F.conv_backward_macs(3, 8, 3, 5, weight_grad=None),
    lambda: F.batchnorm_params(8, affine=0),
])
def test_flags_must_be_bools(call):
    with pytest.raises(TypeError, match="must be True or False"):
        call()


def test_absurd_winograd_sizes_fail_fast_before_any_cache():
    """Each refused within the bad-input harness's limit of CPU time (tests/badinput.py)."""
    from badinput import refuses
    for m in (2 ** 80, 2 ** 40, 40):
        refuses(lambda: F.winograd_matrices(m, 3), ValueError, r"\bm\b")
    refuses(lambda: F.winograd_identity_holds(6, 3),             # minutes of symbolic algebra
            ValueError, "too many")
    refuses(lambda: F.winograd_identity_holds(True, 3),          # not the cached result of m=1
            TypeError, "m must be an integer")
    refuses(lambda: F.winograd_matrices(2, 3, points=(0, 1, 1, sp.oo)),   # singular Vandermonde
            ValueError, "points must be distinct")


@pytest.mark.parametrize("call, name, error", [
    (lambda: F.conv_output_size((), 3), "input size n", ValueError),
    (lambda: F.conv_output_size(5, (3, 3), s=(1, 1, 1)), "stride s", ValueError),
    (lambda: F.conv_output_size(2 ** 80, 3), "input size n", ValueError),
    (lambda: F.tensor_bytes((2 ** 40, 2 ** 40)), "shape_or_numel", ValueError),
    (lambda: F.optimizer_states(["adam"]), "optimizer", TypeError),
    (lambda: F.receptive_field_step(1, 1, "0", 3), "start u", TypeError),
    (lambda: F.receptive_field_step(1, 1, float("nan"), 3), "start u", ValueError),
    (lambda: F.roofline_time("1e9", 1e6, 1e12, 1e11), "flops", TypeError),
    (lambda: F.copy_bandwidth(None, 1.0), "nbytes", TypeError),
    (lambda: F.macs_to_flops("21"), "macs", TypeError),
])
def test_no_internal_error_reaches_the_user(call, name, error):
    with pytest.raises(error) as info:
        call()
    assert name in str(info.value) and type(info.value) is error


def test_width_and_resolution_multipliers():
    """alpha^2 rho^2 for a pointwise layer and alpha rho^2 for a depthwise one, against the
    numeric MAC counts of a thinned layer on a smaller map (MobileNet v1's settings)."""
    for alpha, c, side, new_side in ((0.5, 64, 112, 80), (0.25, 128, 56, 32), (0.75, 512, 14, 12)):
        rho = new_side / side
        a = int(alpha * c)
        point = F.conv_macs(a, 2 * a, 1, (new_side, new_side)) / F.conv_macs(c, 2 * c, 1, (side, side))
        depth = (F.conv_macs(a, a, 3, (new_side, new_side), groups=a)
                 / F.conv_macs(c, c, 3, (side, side), groups=c))
        assert point == pytest.approx(float(F.width_resolution_ratio.subs({F.alpha_w: alpha, F.rho_r: rho})))
        assert depth == pytest.approx(float(F.depthwise_width_resolution_ratio.subs(
            {F.alpha_w: alpha, F.rho_r: rho})))
