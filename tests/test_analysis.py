"""cnnbook_lib.analysis.summarize checked against real PyTorch runs: shapes from forward hooks,
parameters from numel(), FLOPs from FlopCounterMode, backward FLOPs from FlopCounterMode on
backward (and on an equivalent split model for grouped convolutions), saved activations from
autograd's saved-tensor hooks."""
import pytest
import torch
import torch.nn.functional as TF
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import analysis


def mixed_model():
    """Conv with and without bias, BN, pooling (max, avg, adaptive, ceil_mode), groups,
    depthwise, dilation, stride, transposed conv, dropout, linear."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        nn.Conv2d(16, 32, 3, stride=2, padding=2, dilation=2, groups=4), nn.ReLU6(),
        nn.Conv2d(32, 32, 5, padding=2, groups=32), nn.Hardswish(),
        nn.ConvTranspose2d(32, 24, 4, stride=2, padding=1, groups=2), nn.SiLU(),
        nn.AvgPool2d(2, ceil_mode=True), nn.Conv2d(24, 40, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(40, 10),
    )


def real_flops(model, x, backward=False):
    if not backward:
        with FlopCounterMode(display=False) as c:
            model(x)
        return c.get_total_flops()
    y = model(x)
    with FlopCounterMode(display=False) as c:
        y.sum().backward()
    return c.get_total_flops()


def real_shapes(model, x):
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append((tuple(i[0].shape), tuple(o.shape))))
             for m in model.modules() if not list(m.children())]
    model(x)
    for h in hooks:
        h.remove()
    return shapes


def test_mixed_model_totals_match_torch():
    model = mixed_model().eval()
    size = (2, 3, 37, 41)
    s = analysis.summarize(model, size)
    x = torch.randn(size)
    assert s.params == sum(p.numel() for p in model.parameters())
    assert s.flops == real_flops(model, x) == 2 * s.macs
    assert s.unattributed_flops == 0
    assert [(r.input_shape, r.output_shape) for r in s.rows] == real_shapes(model, x)
    assert [r.type for r in s.rows] == [type(m).__name__ for m in model]
    assert s.activation_bytes == sum(4 * torch.Size(r.output_shape).numel() for r in s.rows)
    assert not s.uncounted
    # the other ops are reported apart, by kind, and not mixed into the FLOPs
    assert set(s.other_ops_by_kind) == {"bias add", "batch norm", "activation", "pooling"}
    bn = next(r for r in s.rows if r.type == "BatchNorm2d")
    assert bn.other_ops == 2 * torch.Size(bn.output_shape).numel() and bn.macs == 0


def test_other_ops_of_each_layer_follow_torch_shapes():
    """Each row's other ops from the input/output shapes of a real run and the module's own
    settings: a bias add per output element (none without bias), k_h * k_w ops per pooled output,
    one op per input element of adaptive pooling, two per element of batch norm, one per element
    of an activation, nothing for flatten and dropout."""
    model = mixed_model().eval()
    x = torch.randn(2, 3, 37, 41)
    s = analysis.summarize(model, x.shape)
    for m, (shape_in, shape_out), row in zip(model, real_shapes(model, x), s.rows):
        n_in, n_out = torch.Size(shape_in).numel(), torch.Size(shape_out).numel()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            expected = n_out if m.bias is not None else 0
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            kh, kw = nn.modules.utils._pair(m.kernel_size)
            expected = n_out * kh * kw
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            expected = n_in
        elif isinstance(m, nn.BatchNorm2d):
            expected = 2 * n_out
        elif isinstance(m, (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU)):
            expected = n_out
        else:
            expected = 0
        assert row.other_ops == expected, (row.name, row.type)
    assert s.other_ops == sum(r.other_ops for r in s.rows) == sum(s.other_ops_by_kind.values())


def test_summarize_leaves_the_model_alone():
    model = mixed_model().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    analysis.summarize(model, (1, 3, 32, 32))
    assert model.training
    for k, v in model.state_dict().items():
        assert v.device.type == "cpu" and torch.equal(v, before[k]), k


def test_backward_flops_match_flop_counter_without_groups():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2), nn.ReLU(),
                          nn.ConvTranspose2d(8, 4, 3, stride=2), nn.Flatten(), nn.LazyLinear(5))
    x = torch.randn(2, 3, 16, 16)
    model(x)                                  # materialize the lazy layer
    s = analysis.summarize(model, x.shape)
    assert s.backward_flops == real_flops(model, x, backward=True)
    first = s.rows[0]
    # the first layer computes no input gradient: only its weight gradient
    assert first.backward_macs == first.macs
    s2 = analysis.summarize(model, x.shape, input_requires_grad=True)
    assert s2.rows[0].backward_macs == 2 * first.macs
    assert s2.backward_flops == real_flops(model, x.requires_grad_(), backward=True)
    # a transposed convolution first: no input gradient unless the input needs one
    up = nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2), nn.ReLU(), nn.Conv2d(4, 2, 3))
    x = torch.randn(2, 3, 6, 5)
    for needs in (False, True):
        s = analysis.summarize(up, x.shape, input_requires_grad=needs)
        assert s.backward_flops == real_flops(up, x.clone().requires_grad_(needs), backward=True)


class Split(nn.Module):
    """A grouped convolution written as one ungrouped convolution per group."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        g = conv.groups
        self.parts = nn.ModuleList(
            nn.Conv2d(conv.in_channels // g, conv.out_channels // g, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, bias=False) for _ in range(g))

    def forward(self, x):
        return torch.cat([p(c) for p, c in zip(self.parts, x.chunk(len(self.parts), 1))], 1)


def test_backward_flops_are_right_for_grouped_convolutions():
    grouped = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 16, 3, groups=4, bias=False),
                            nn.Conv2d(16, 16, 3, groups=16, bias=False))
    split = nn.Sequential(grouped[0], Split(grouped[1]), Split(grouped[2]))
    x = torch.randn(2, 3, 12, 12)
    s = analysis.summarize(grouped, x.shape)
    assert s.flops == real_flops(grouped, x) == real_flops(split, x)
    # the split model is counted correctly by FlopCounterMode: the independent oracle
    assert s.backward_flops == real_flops(split, x, backward=True)
    # FlopCounterMode overcounts the grouped weight gradient by the number of groups
    r1, r2 = s.rows[1], s.rows[2]
    over = 2 * ((4 - 1) * r1.macs + (16 - 1) * r2.macs)
    assert real_flops(grouped, x, backward=True) == s.backward_flops + over


def autograd_saved_bytes(model, x):
    """Bytes autograd keeps for backward in a real CPU forward pass: every tensor the
    saved-tensor hooks see, grouped by storage (each storage once, whole), parameters and buffers
    left out (they are the model's state, not activations)."""
    state = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    storages = {}
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(
            lambda t: storages.setdefault(t.untyped_storage().data_ptr(), t) is None or t,
            lambda t: t):
        out = model(x)
    del out
    return sum(t.untyped_storage().nbytes() for ptr, t in storages.items() if ptr not in state)


def test_saved_activations_match_autograd():
    """Bytes kept for backward equal what autograd saves, batch norm's per-channel statistics
    included, parameters and running statistics left out."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.SiLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(16, 4)).train()
    x = torch.randn(4, 3, 20, 20)
    s = analysis.summarize(model, x.shape, training=True)
    assert s.saved_activation_bytes == autograd_saved_bytes(model, x)
    # the same in evaluation mode (batch norm then keeps its input, not batch statistics)
    s_eval = analysis.summarize(model.eval(), x.shape)
    assert s_eval.saved_activation_bytes == autograd_saved_bytes(model, x)
    model.train()
    assert sum(r.saved_bytes for r in s.rows) == s.saved_activation_bytes
    mem = s.training_memory(batch_size=8)
    assert mem["weights"] == 4 * s.params == mem["gradients"]
    assert mem["optimizer_state"] == 2 * mem["weights"]
    assert mem["activations"] == 2 * s.saved_activation_bytes
    assert mem["total"] == sum(v for k, v in mem.items() if k != "total")
    assert s.training_memory(optimizer="sgd")["optimizer_state"] == 0
    assert s.training_memory(dtype="bfloat16")["weights"] == 2 * s.params


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))

    def forward(self, x):
        return x * self.scale.view(1, 3, 1, 1)


class Shared(nn.Module):
    """One ReLU module called twice, a functional residual add, a module-level parameter."""

    def __init__(self):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(5))
        self.custom = Custom()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.relu = nn.ReLU()
        self.unused = nn.Linear(7, 7)         # never called, still counted in params

    def forward(self, x):
        x = self.relu(self.custom(x))
        return self.relu(self.conv(x) + x)


def test_reused_unknown_and_uncalled_modules():
    model = Shared()
    s = analysis.summarize(model, (1, 3, 8, 8))
    assert s.params == sum(p.numel() for p in model.parameters())
    assert s.uncounted == ["Custom"]
    relus = [r for r in s.rows if r.type == "ReLU"]
    assert len(relus) == 2 and relus[1].reused and not relus[0].reused
    assert s.flops == real_flops(model, torch.randn(1, 3, 8, 8))


def test_functional_matmul_is_counted_where_it_runs():
    """A functional matmul is a product like any other: in the module that issued it, in the
    headline FLOPs (it used to be left out, as ``unattributed_flops``)."""
    class Attn(nn.Module):
        def forward(self, x):
            return x @ x.transpose(-1, -2)
    s = analysis.summarize(Attn(), (2, 6, 4))
    assert s.macs == 2 * 6 * 6 * 4 and s.flops == real_flops(Attn(), torch.randn(2, 6, 4))
    assert s.unattributed_flops == 0
    assert s.rows[0].type == "Attn" and s.rows[0].macs == s.macs and s.rows[0].ops == {"bmm": 1}


def test_display():
    s = analysis.summarize(mixed_model(), (1, 3, 32, 32))
    text = str(s)
    assert "Conv2d" in text and f"{s.params:,}" in text and f"{s.macs:,}" in text
    html = s._repr_html_()
    assert "<table" in html and "ConvTranspose2d" in html
    df = s.to_dataframe()
    assert len(df) == len(s.rows) and int(df["macs"].sum()) == s.macs


@pytest.mark.parametrize("call,message", [
    (lambda: analysis.summarize("resnet", (1, 3, 8, 8)), "model must be a torch.nn.Module"),
    (lambda: analysis.summarize(nn.ReLU(), (0, 3)), "input_size entry must be a positive"),
    (lambda: analysis.summarize(nn.ReLU(), (3,)), "must include the batch dimension"),
    (lambda: analysis.summarize(nn.ReLU(), (1, 3), dtype="float128"), "dtype 'float128' is unknown"),
    (lambda: analysis.summarize(nn.ReLU(), (1, 3)).training_memory(optimizer="lbfgs"),
     "optimizer 'lbfgs' is unknown"),
])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_input_that_does_not_fit_reports_torch_error():
    with pytest.raises(RuntimeError, match="(?s)Conv2d failed on the meta device.*greater than.*"
                                           "device='cpu'"):
        analysis.summarize(nn.Conv2d(3, 4, 7), (1, 3, 5, 5))


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "googlenet", "alexnet"])
def test_real_networks_match_flop_counter(name):
    from cnnbook_lib import architectures
    with torch.device("meta"):
        model = architectures.build(name).eval()
    s = analysis.summarize(model, (2, 3, 224, 224))
    assert s.params == sum(p.numel() for p in model.parameters())
    assert s.flops == real_flops(model, torch.empty(2, 3, 224, 224, device="meta"))
    assert s.unattributed_flops == 0


def test_layer_and_group_norm_have_a_layer_rule():
    """nn.LayerNorm and nn.GroupNorm are counted as layers (5 ops per element, as the
    native_layer_norm operator rule), and so are the architectures' channel shuffle, permute
    and channels-first layer norm."""
    from cnnbook_lib import architectures as A
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), A.LayerNorm2d(8),
                          A.ChannelShuffle(2), A.Permute(0, 2, 3, 1), nn.LayerNorm(8))
    s = analysis.summarize(model, (2, 3, 6, 6))
    assert not s.uncounted and not s.uncosted_ops
    elements = 2 * 8 * 4 * 4
    norms = [r.other_ops for r in s.rows if "Norm" in r.type]
    assert norms == [5 * elements] * 3
    assert [r.other_ops for r in s.rows if r.type in ("ChannelShuffle", "Permute")] == [0, 0]
    assert s.flops == real_flops(model, torch.randn(2, 3, 6, 6))
