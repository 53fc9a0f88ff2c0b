"""The cost registries of cnnbook_lib.analysis: one rule per op (a second one is refused), the
``counts_macs`` flag, every rule exercised against an oracle, and attention whose mask is
learned (a relative-position bias) priced as torch runs it."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import analysis
from cnnbook_lib.analysis import costs as C
from cnnbook_lib.tracing import Rule

from test_analysis_models import autograd_saved_bytes

aten = torch.ops.aten


def flop_counter(model, x, backward=False) -> int:
    with FlopCounterMode(display=False) as counter:
        y = model(x)
        if backward:
            y.sum().backward()
    return counter.get_total_flops()


# ---------------------------------------------------------------------------------------------
# One rule per key
# ---------------------------------------------------------------------------------------------


def test_a_second_op_rule_is_refused():
    with pytest.raises(ValueError, match="'mm' already has a rule"):
        analysis.register_op("mm")(lambda args, kwargs, out: C.OpCost())
    with pytest.raises(ValueError, match="'relu' already has a rule"):
        analysis.register_op("relu_")(lambda args, kwargs, out: C.OpCost())   # in-place = relu
    with pytest.raises(ValueError, match="no ATen op named"):
        analysis.register_op("not_an_op")
    assert analysis.OP_COSTS["mm"].counts_macs


def test_a_second_layer_rule_is_refused():
    with pytest.raises(ValueError, match="ReLU' already has a rule"):
        analysis.register(nn.ReLU)(lambda m, x, y: C.Cost())


# ---------------------------------------------------------------------------------------------
# counts_macs: an op's MACs are counted inside a layer priced by its own rule
# ---------------------------------------------------------------------------------------------


@torch.library.custom_op("cnnbook_test::outer", mutates_args=())
def _outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., :, None] * b[..., None, :]


@_outer.register_fake
def _(a, b):
    return a.new_empty(a.shape + b.shape[-1:])


@torch.library.custom_op("cnnbook_test::outer_uncounted", mutates_args=())
def _outer_uncounted(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., :, None] * b[..., None, :]


@_outer_uncounted.register_fake
def _(a, b):
    return a.new_empty(a.shape + b.shape[-1:])


def _outer_cost(args, kwargs, out) -> C.OpCost:
    """An outer product: one multiplication per output element (counted as a MAC here)."""
    return C.OpCost(macs=out.numel())


class Fused(nn.Module):
    """A layer type with its own rule whose forward issues a product op."""

    def __init__(self, counted: bool):
        super().__init__()
        ops = torch.ops.cnnbook_test
        self.op = ops.outer if counted else ops.outer_uncounted

    def forward(self, x):
        return F.relu(self.op(x, x))


@pytest.fixture
def fused_rules():
    analysis.register_op(torch.ops.cnnbook_test.outer, counts_macs=True)(_outer_cost)
    analysis.register_op(torch.ops.cnnbook_test.outer_uncounted)(_outer_cost)
    analysis.register(Fused)(lambda m, x, y: C.Cost(y.numel(), "activation"))
    yield
    analysis.OP_COSTS.unregister(torch.ops.cnnbook_test.outer,
                                 torch.ops.cnnbook_test.outer_uncounted)
    analysis.COSTS.unregister(Fused)


def test_an_op_that_counts_macs_keeps_them_inside_a_layer_with_its_own_rule(fused_rules):
    s = analysis.summarize(Fused(counted=True), (2, 5))
    (row,) = s.rows
    assert row.macs == s.macs == 2 * 5 * 5                  # the op's rule: kept
    assert row.other_by_kind == {"activation": 50}          # the layer's rule: relu not twice
    assert row.ops == {"outer": 1, "relu": 1}


def test_an_op_that_does_not_count_macs_is_priced_by_its_layer(fused_rules):
    s = analysis.summarize(Fused(counted=False), (2, 5))
    assert s.macs == 0 and s.other_ops_by_kind == {"activation": 50}
    assert s.rows[0].ops == {"outer_uncounted": 1, "relu": 1} and not s.uncosted_ops


def test_the_library_mac_ops_are_flagged():
    flagged = {C.op_name(k) for k, r in analysis.OP_COSTS.items() if r.counts_macs}
    assert {"mm", "bmm", "addmm", "baddbmm", "mv", "dot", "vdot", "addmv", "convolution",
            "_convolution", "_native_multi_head_attention",
            "_scaled_dot_product_flash_attention_for_cpu"} <= flagged
    assert not flagged & {"relu", "add", "sum", "native_batch_norm", "view"}


# ---------------------------------------------------------------------------------------------
# Every rule exercised, each against an oracle
# ---------------------------------------------------------------------------------------------


class Fn(nn.Module):
    """A module with no layer rule: every op it issues is priced by its op rule."""

    def __init__(self, fn, *params):
        super().__init__()
        self.fn = fn
        self.ps = nn.ParameterList([nn.Parameter(p) for p in params])

    def forward(self, x):
        return self.fn(x, *self.ps)


def _attn(x):
    q = x.reshape(2, 2, 4, 3)
    return F.scaled_dot_product_attention(q, q, q)


def _mha(x):
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval().requires_grad_(False)
    return mha(x, x, x, need_weights=False)[0]


#: (rule name, function of x and parameters, input size, parameters, oracle on the summary)
#: oracles: "fcm" (FLOPs equal FlopCounterMode on the same model), or a function of the summary
OP_CASES = [
    ("mm", lambda x, w: x @ w, (3, 4), [torch.randn(4, 5)], "fcm"),
    ("bmm", lambda x, w: x @ w, (2, 3, 4), [torch.randn(2, 4, 5)], "fcm"),
    ("addmm", lambda x, w, b: F.linear(x, w, b), (3, 4), [torch.randn(5, 4), torch.randn(5)],
     "fcm"),
    ("baddbmm", lambda x, w, b: torch.baddbmm(b, x, w), (2, 3, 4),
     [torch.randn(2, 4, 5), torch.randn(2, 3, 5)], "fcm"),
    ("mv", lambda x, v: torch.mv(x, v), (3, 4), [torch.randn(4)], lambda s: s.macs == 12),
    ("dot", lambda x, v: torch.dot(x.flatten(), v), (1, 4), [torch.randn(4)],
     lambda s: s.macs == 4),
    ("convolution", lambda x, w: F.conv2d(x, w, padding=1), (1, 2, 5, 5),
     [torch.randn(3, 2, 3, 3)], "fcm"),
    ("_convolution", lambda x, w, b: aten._convolution(x, w, b, [1, 1], [0, 0], [1, 1], False,
                                                       [0, 0], 1, False, False, True, True),
     (1, 2, 5, 5), [torch.randn(3, 2, 3, 3), torch.randn(3)], "fcm"),
    ("_slow_conv2d_forward",
     lambda x, w, b: aten._slow_conv2d_forward(x, w, [3, 3], b, [1, 1], [0, 0]),
     (1, 2, 5, 5), [torch.randn(3, 2, 3, 3), torch.randn(3)],
     lambda s: s.macs == 3 * 2 * 9 * 9 and s.other_ops_by_kind == {"bias add": 27}),
    ("_scaled_dot_product_flash_attention_for_cpu", _attn, (2, 2, 4, 3), [],
     lambda s: s.macs == 2 * 2 * 2 * 4 * 4 * 3),
    ("_scaled_dot_product_flash_attention", lambda x: aten._scaled_dot_product_flash_attention(
        x, x, x)[0], (2, 2, 4, 8), [], "fcm"),
    ("_scaled_dot_product_efficient_attention",
     lambda x: aten._scaled_dot_product_efficient_attention(x, x, x, None, False)[0],
     (2, 2, 4, 8), [], "fcm"),
    ("_native_multi_head_attention", _mha, (2, 4, 8), [],
     lambda s: s.macs == 2 * (4 * 64 * 4 + 2 * 4 * 4 * 8)),
    ("relu", lambda x: F.relu(x), (2, 3), [], lambda s: s.other_ops_by_kind == {"activation": 6}),
    ("add", lambda x: x + x, (2, 3), [], lambda s: s.other_ops_by_kind == {"elementwise": 6}),
    ("sum", lambda x: x.sum(), (2, 3), [], lambda s: s.other_ops_by_kind == {"reduction": 6}),
    ("_softmax", lambda x: x.softmax(-1), (2, 3), [],
     lambda s: s.other_ops_by_kind == {"softmax": 18}),
    ("native_batch_norm", lambda x, w: F.batch_norm(x, None, None, w, None, training=True),
     (2, 3, 4), [torch.ones(3)], lambda s: s.other_ops_by_kind == {"batch norm": 48}),
    ("native_layer_norm", lambda x: F.layer_norm(x, (3,)), (2, 3), [],
     lambda s: s.other_ops_by_kind == {"normalization": 30}),
    ("max_pool2d_with_indices", lambda x: F.max_pool2d(x, 2), (1, 1, 4, 4), [],
     lambda s: s.other_ops_by_kind == {"pooling": 16}),
    ("avg_pool3d", lambda x: F.avg_pool3d(x, 2), (1, 1, 4, 4, 4), [],
     lambda s: s.other_ops_by_kind == {"pooling": 64}),
    ("_adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 2) + 0, (1, 2, 4, 4), [],
     lambda s: s.other_ops_by_kind == {"pooling": 32, "elementwise": 8}),
    ("upsample_linear1d", lambda x: F.interpolate(x, scale_factor=2, mode="linear"), (1, 1, 4),
     [], lambda s: s.other_ops_by_kind == {"interpolation": 16}),
    ("upsample_bilinear2d", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
     (1, 1, 2, 2), [], lambda s: s.other_ops_by_kind == {"interpolation": 64}),
    ("upsample_trilinear3d", lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"),
     (1, 1, 1, 1, 2), [], lambda s: s.other_ops_by_kind == {"interpolation": 8 * 16}),
    ("upsample_bicubic2d", lambda x: F.interpolate(x, scale_factor=2, mode="bicubic"),
     (1, 1, 2, 2), [], lambda s: s.other_ops_by_kind == {"interpolation": 256}),
    ("view", lambda x: x.view(-1).t(), (2, 3), [],
     lambda s: not any(r.ops for r in s.rows) and s.other_ops == 0 == s.macs),
]

#: the rules of ops that only a GPU or another backend dispatches (or that the dispatcher lowers
#: before a dispatch mode sees them, such as 1-D pooling): checked by calling them
DIRECT = {
    "max_pool1d": lambda: C.OP_COSTS["max_pool1d"](
        (torch.empty(1, 1, 6, device="meta"), [2]), {},
        torch.empty(1, 1, 3, device="meta")).other_ops == 6,
    "convolution_overrideable": lambda: C.OP_COSTS["convolution_overrideable"](
        (torch.empty(1, 2, 5, 5, device="meta"), torch.empty(3, 2, 3, 3, device="meta"), None,
         [1, 1], [0, 0], [1, 1], False, [0, 0], 1), {},
        torch.empty(1, 3, 3, 3, device="meta")).macs == 3 * 2 * 9 * 9,
    "cudnn_convolution": lambda: C.OP_COSTS["cudnn_convolution"](
        (torch.empty(1, 2, 5, 5, device="meta"), torch.empty(3, 2, 3, 3, device="meta"),
         [0, 0], [1, 1], [1, 1], 1, False, False, True), {},
        torch.empty(1, 3, 3, 3, device="meta")).macs == 3 * 2 * 9 * 9,
}


#: cases traced with real tensors on the CPU (no meta kernel, or a CPU-only fast path)
ON_CPU = {"_native_multi_head_attention", "_slow_conv2d_forward"}


def _summarize_case(fn, size, params, device="meta"):
    model = Fn(fn, *params)
    if device == "meta":
        return model, analysis.summarize(model, size)
    return model, analysis.summarize(model, size, device="cpu")


@pytest.mark.parametrize("name,fn,size,params,oracle", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_rule(name, fn, size, params, oracle):
    device = "cpu" if name in ON_CPU else "meta"
    model, s = _summarize_case(fn, size, params, device)
    assert not s.uncosted_ops
    if name != "view":
        assert name in {k for r in s.rows for k in r.ops}, s.rows
    if oracle == "fcm":
        x = torch.empty(size, device="meta")
        assert s.flops == flop_counter(model.to("meta"), x) > 0
    else:
        assert oracle(s), s


@pytest.mark.parametrize("name", list(DIRECT))
def test_op_rule_called_directly(name):
    assert DIRECT[name]()


def test_every_op_rule_is_exercised(monkeypatch):
    """Each rule of OP_COSTS runs in one of the cases above (or is called directly); each rule
    that returns MACs carries ``counts_macs``."""
    called: dict[int, Rule] = {}
    original = Rule.__call__

    def spy(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        called[id(self)] = self
        if isinstance(result, C.OpCost) and result.macs:
            assert self.counts_macs, self
        return result
    monkeypatch.setattr(Rule, "__call__", spy)
    for name, fn, size, params, _ in OP_CASES:
        _summarize_case(fn, size, params, "cpu" if name in ON_CPU else "meta")
    for check in DIRECT.values():
        check()
    missing = [sorted(C.op_name(k) for k in analysis.OP_COSTS.keys_of(r))[:3]
               for r in analysis.OP_COSTS.rules() if id(r) not in called and not r.free]
    assert not missing, missing


def test_every_layer_rule_is_exercised(monkeypatch):
    from cnnbook_lib import architectures as A
    called = set()
    original = Rule.__call__

    def spy(self, *args, **kwargs):
        called.add(id(self))
        return original(self, *args, **kwargs)
    monkeypatch.setattr(Rule, "__call__", spy)
    layers = [(nn.Conv2d(2, 2, 3), (1, 2, 5, 5)), (nn.BatchNorm2d(2), (1, 2, 5, 5)),
              (nn.ReLU(), (1, 2)), (nn.MaxPool2d(2), (1, 1, 4, 4)),
              (nn.AdaptiveAvgPool2d(1), (1, 1, 4, 4)), (nn.LocalResponseNorm(2), (1, 2, 3, 3)),
              (nn.Dropout(), (1, 2)), (nn.LayerNorm(3), (2, 3)), (A.LayerNorm2d(2), (1, 2, 3, 3)),
              (A.ChannelShuffle(2), (1, 4, 3, 3))]
    for layer, size in layers:
        s = analysis.summarize(layer, size)
        assert s.rows[0].counted and s.rows[0].type == type(layer).__name__
    missing = [[t.__name__ for t in analysis.COSTS.keys_of(r)][:3]
               for r in analysis.COSTS.rules() if id(r) not in called]
    assert not missing, missing


# ---------------------------------------------------------------------------------------------
# Attention with a learned mask (relative position bias, as in Swin, MaxViT, TinyViT)
# ---------------------------------------------------------------------------------------------


class BiasedWindowAttention(nn.Module):
    """Swin-style window attention whose relative-position bias, gathered from a learned table,
    is the ``attn_mask`` of ``scaled_dot_product_attention`` (as timm's blocks pass it)."""

    def __init__(self, dim=16, heads=2, window=4):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window),
                                            indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
        self.register_buffer("index", rel[..., 0] * (2 * window - 1) + rel[..., 1],
                             persistent=False)

    def forward(self, x):                                   # (windows, w*w, C)
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.table[self.index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.unsqueeze(0))
        return self.proj(y.transpose(1, 2).reshape(b, n, c))


def _math_flop_counter(model, x, backward=False) -> int:
    with sdpa_kernel(SDPBackend.MATH):
        return flop_counter(model, x, backward)


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_a_learned_attention_mask_is_priced_exactly_on_meta(training):
    torch.manual_seed(0)
    model = BiasedWindowAttention().train(training)
    size = (8, 16, 16)
    s = analysis.summarize(model, size, training=training)     # the meta device
    x = torch.randn(size)
    assert s.flops == _math_flop_counter(model, x) == 2 * s.macs
    n, d = 16, 8
    attn = next(r for r in s.rows if r.type == "BiasedWindowAttention")
    assert attn.macs == 2 * 8 * 2 * n * n * d and "bmm" in attn.ops       # the math kernel
    assert s.backward_flops == _math_flop_counter(model, x, backward=True) - s.flops
    assert s.saved_activation_bytes == autograd_saved_bytes(model, x)
    real = analysis.summarize(model, size, training=training, device="cpu")
    assert (real.flops, real.backward_flops, real.saved_activation_bytes, real.other_ops) == \
        (s.flops, s.backward_flops, s.saved_activation_bytes, s.other_ops)


def test_a_frozen_mask_keeps_the_fused_kernel():
    """The same block with its bias frozen: a CPU runs the fused kernel, and so does the trace
    (the attention matrix is not saved)."""
    model = BiasedWindowAttention()
    model.table.requires_grad_(False)
    s = analysis.summarize(model, (8, 16, 16), training=True)
    attn = next(r for r in s.rows if r.type == "BiasedWindowAttention")
    assert "_scaled_dot_product_flash_attention_for_cpu" in attn.ops and "bmm" not in attn.ops
    x = torch.randn(8, 16, 16)
    assert s.saved_activation_bytes == autograd_saved_bytes(model, x)
    assert s.flops == _math_flop_counter(model, x)
