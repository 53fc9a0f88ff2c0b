"""Tests of cnnbook_lib.receptive and the receptive-field formulas.

Oracles: autograd (the gradient of one output unit is non-zero exactly on its receptive field),
torch's own output shapes, hand-derived stacks, and the published table of Araujo, Norris & Sim,
"Computing Receptive Fields of Convolutional Neural Networks", Distill 2019,
https://distill.pub/2019/computing-receptive-fields/ (the same table is in the README of
github.com/google-research/receptive_field): receptive field of alexnet_v2 195, vgg_16 212,
mobilenet_v1 315, resnet_v1_50 483, resnet_v1_101 1027, resnet_v1_152 1507, all with effective
stride 32 (TF-Slim models, measured at their last convolutional feature map).
"""
from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp
import torch
from hypothesis import given, settings, strategies as st, HealthCheck
from torch import nn

from cnnbook_lib import architectures, formulas, receptive
from cnnbook_lib.receptive import gradient_receptive_field, receptive_field, unclipped_input_size

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_matches_gradient(model, input_size=None, axes=(0, 1)):
    """The analytic field (size, jump, start, box of the unit) equals the measured one, and the
    trace describes the tensor that the measurement chose from torch's shapes."""
    g = gradient_receptive_field(model, input_size, erf_samples=0)
    rf = receptive_field(model, g.input_size)
    assert rf.output_hw == g.feature_shape[2:], (rf.output_hw, g.feature_shape)
    for a in axes:
        assert not g.clipped_hw[a], (g.boxes, g.input_size)
        assert g.axes[a] == rf.axes[a], (a, g.axes[a], rf.axes[a])
    box = rf.box(*g.unit)
    for a, (lo, hi) in zip((0, 1), ((0, 2), (1, 3))):
        if a in axes:
            assert (g.boxes[0][lo], g.boxes[0][hi]) == (box[lo], box[hi])
    return rf, g


# ---------------------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------------------


def test_recurrence_of_one_layer_by_hand():
    # 3x3, stride 2, padding 1 on the raw input: the first unit sees pixels -1..1 (centre 0)
    assert formulas.receptive_field_step(1, 1, 0, k=3, s=2, p=1) == (3, 2, 0)
    # then a 3x3 dilated by 2 without padding: k_eff 5, sees 4 more steps of 2 pixels
    assert formulas.receptive_field_step(3, 2, 0, k=3, s=1, d=2) == (11, 2, 4)
    # an even kernel puts the centre between two pixels
    assert formulas.receptive_field_step(1, 1, 0, k=2) == (2, 1, Fraction(1, 2))
    assert formulas.receptive_field_padding(11, 4) == 1


@pytest.mark.parametrize("bad, word", [(dict(k=0), "kernel"), (dict(s=0), "stride"),
                                       (dict(d=0), "dilation"), (dict(p=-1), "padding")])
def test_recurrence_errors_name_the_parameter(bad, word):
    args = dict(r=1, j=1, u=0, k=3, s=1, d=1, p=0) | bad
    with pytest.raises(ValueError, match=word):
        formulas.receptive_field_step(**args)


@given(st.lists(st.tuples(st.integers(1, 7), st.integers(1, 3), st.integers(1, 3)),
                min_size=1, max_size=6))
def test_closed_form_equals_recurrence(layers):
    """Distill's closed form r = 1 + sum_l (k_l - 1) prod_{i<l} s_i against the recurrence."""
    expr = formulas.rf_size_closed.subs(formulas.rf_L, len(layers)).doit()
    k, s = sp.IndexedBase("k"), sp.IndexedBase("s")
    values = {}
    for i, (k_, s_, d_) in enumerate(layers, start=1):
        values[k[i]] = formulas.effective_kernel_size(k_, d_)
        values[s[i]] = s_
    assert int(expr.subs(values)) == receptive_field(layers).size


@pytest.mark.parametrize("L", [0, 1, 2, 5, 13])
def test_stride1_closed_form(L):
    assert formulas.stride1_receptive_field(L, 3) == 1 + 2 * L
    assert receptive_field([(3, 1)] * L).size == formulas.stride1_receptive_field(L, 3)
    assert formulas.rf_stride1_closed.subs({formulas.rf_L: L, formulas.k: 3}) == 1 + 2 * L


def test_expressions_registered_for_the_book():
    for name in ("rf_size_step", "rf_jump_step", "rf_start_step", "rf_padding",
                 "rf_stride1_closed", "rf_size_closed"):
        assert name in formulas.EXPRESSIONS
        assert sp.latex(formulas.EXPRESSIONS[name])


# ---------------------------------------------------------------------------------------------
# Hand cases, checked by autograd
# ---------------------------------------------------------------------------------------------


def test_stride1_3x3_stack_is_1_plus_2L():
    for L in (1, 3, 6):
        net = nn.Sequential(*[nn.Conv2d(2, 2, 3, padding=1) for _ in range(L)])
        rf, g = assert_matches_gradient(net)
        assert rf.size == g.size == 1 + 2 * L and rf.jump == 1 and rf.start == 0


def test_dilations_1_2_4_8_give_31():
    layers = [(3, 1, d) for d in (1, 2, 4, 8)]
    assert receptive_field(layers).size == 31
    net = nn.Sequential(*[nn.Conv2d(1, 1, 3, dilation=d, padding=d) for d in (1, 2, 4, 8)])
    rf, g = assert_matches_gradient(net)
    assert g.size == 31


def test_layer_table_of_vgg16_by_hand():
    """The per-layer records: conv 3x3 adds 2 jumps, pool 2x2/2 adds 1 jump and doubles it."""
    vgg16 = []
    for convs in (2, 2, 3, 3, 3):
        vgg16 += [(3, 1, 1, 1)] * convs + [(2, 2)]
    rf = receptive_field(vgg16, 224)
    sizes = [row["size"] for row in rf.rows()]
    assert sizes[:6] == [3, 5, 6, 10, 14, 16]
    assert sizes[-1] == 212 and rf.jump == 32 and rf.padding == 90 and rf.output_hw == (7, 7)
    assert rf.rows()[0] == dict(name="layer1", op="layer", k=3, s=1, d=1, p=1, size=3, jump=1,
                                start=0)


def test_asymmetric_kernels_are_per_axis():
    net = nn.Sequential(nn.Conv2d(1, 2, (1, 7), padding=(0, 3)), nn.ReLU(),
                        nn.Conv2d(2, 2, (7, 1), stride=(2, 1), padding=(3, 0)),
                        nn.Conv2d(2, 1, 3, stride=(1, 2)))
    rf, g = assert_matches_gradient(net)
    # height: 1, 7, 7 + 2*2; width: 7, 7, 7 + 2*1; starts: one jump in (no padding) per axis
    assert rf.size == (11, 9) and rf.jump == 2 and rf.start == (2, 1)
    assert receptive_field([((1, 7), 1, 1, (0, 3)), ((7, 1), (2, 1), 1, (3, 0)),
                            (3, (1, 2))]).axes == rf.axes


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_even_kernel():
    # PyTorch's padding="same" puts the odd pixel of a 4-wide kernel on the right
    net = nn.Sequential(nn.Conv2d(1, 1, 4, padding="same"), nn.Conv2d(1, 1, 2, padding="same"))
    rf, g = assert_matches_gradient(net)
    assert rf.size == 5 and rf.start == 1


# ---------------------------------------------------------------------------------------------
# Random stacks: analytic == measured with autograd, and == the plain layer list
# ---------------------------------------------------------------------------------------------


@st.composite
def stacks(draw):
    layers, modules, c = [], [], 2
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg"]))
        k = draw(st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 4), st.integers(1, 4))))
        kk = k if isinstance(k, tuple) else (k, k)
        s = draw(st.integers(1, 3))
        d = draw(st.integers(1, 3)) if kind != "avg" else 1
        p = tuple(draw(st.integers(0, x // 2)) for x in kk)
        if kind == "conv":
            modules.append(nn.Conv2d(c, 3, k, s, p, d))
            c = 3
            modules.append(draw(st.sampled_from([nn.Identity(), nn.ReLU(), nn.BatchNorm2d(3),
                                                 nn.ReLU6(), nn.Sigmoid()])))
        elif kind == "max":
            modules.append(nn.MaxPool2d(k, s, p, d, ceil_mode=draw(st.booleans())))
        else:
            modules.append(nn.AvgPool2d(k, s, p, ceil_mode=draw(st.booleans())))
        layers.append((k, s, d, p))
    return layers, nn.Sequential(*modules)


@SETTINGS
@given(stacks())
def test_random_stacks_analytic_equals_gradient(stack):
    layers, net = stack
    rf, g = assert_matches_gradient(net)
    assert receptive_field(layers).axes == rf.axes
    # the trace's output size is torch's (the RF knows the feature map it describes)
    out = net(torch.zeros(g.input_size))
    assert rf.output_hw == tuple(out.shape[-2:])


# ---------------------------------------------------------------------------------------------
# Several paths
# ---------------------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    def __init__(self, c, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, stride, 1), nn.BatchNorm2d(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))
        self.shortcut = nn.Conv2d(c, c, 1, stride)

    def forward(self, x):
        out = self.body(x)
        out += self.shortcut(x)
        return torch.relu(out)


class InceptionLike(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.b1 = nn.Conv2d(c, 2, 1)
        self.b3 = nn.Sequential(nn.Conv2d(c, 2, 1), nn.Conv2d(2, 2, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(c, 2, 1), nn.Conv2d(2, 2, 3, padding=2, dilation=2),
                                nn.Conv2d(2, 2, (1, 7), padding=(0, 3)))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c, 2, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


class Offset(nn.Module):
    """Two branches of equal output size whose fields are not centred on the same pixel."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 1, 3, padding=1)                   # first field: -1..1
        self.b = nn.Conv2d(1, 1, 3)                              # after padding: -2..0

    def forward(self, x):
        return self.a(x) + self.b(nn.functional.pad(x, (2, 0, 2, 0)))


def test_residual_block():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), ResidualBlock(2, 2), ResidualBlock(2, 1))
    rf, g = assert_matches_gradient(net)
    # 3 -> body at stride 2: +2, +2*2 -> 9; second block +2*2 +2*2 -> 17
    assert rf.size == 17 and rf.jump == 2
    assert [row["op"] for row in rf.rows()].count("add") == 2


def test_inception_like_block_largest_branch_wins():
    net = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), InceptionLike(3))
    rf, g = assert_matches_gradient(net)
    # widest branch: 1x1, 3x3 dilated 2 (+4), then 1x7 along the width (+6)
    assert rf.size == (3 + 4, 3 + 4 + 6)


def test_merge_takes_the_union_of_offset_fields():
    rf, g = assert_matches_gradient(Offset())
    assert rf.size == 4 and rf.start == -0.5 and rf.padding == 2


def test_merge_rule_by_hand():
    a = receptive.Axis(3, 2, Fraction(0))        # -1..1
    b = receptive.Axis(5, 2, Fraction(-3))       # -5..-1
    assert receptive.merge([a, b]) == receptive.Axis(7, 2, Fraction(-2))
    with pytest.raises(ValueError, match="jumps"):
        receptive.merge([a, receptive.Axis(3, 4, Fraction(0))])


def test_squeeze_excitation_gate_makes_the_field_global():
    class SE(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(2, 2, 1), nn.Sigmoid())

        def forward(self, x):
            x = self.conv(x)
            return x * self.fc(x)

    net = SE()
    rf = receptive_field(net, 16)
    assert rf.is_global and rf.global_by == "fc.0 (adaptive_avg_pool2d)"
    assert rf.size == 16 and rf.jump == 0 and any("squeeze-excitation" in n for n in rf.notes)
    assert "global" in repr(rf) and "fc.0 (adaptive_avg_pool2d)" in repr(rf)
    # autograd agrees: through the gate every pixel reaches every unit
    g = gradient_receptive_field(net, 16, erf_samples=0)
    assert g.support.all() and g.axes == rf.axes


# ---------------------------------------------------------------------------------------------
# Published values (Distill 2019 / google-research/receptive_field) on our architectures
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, options, size", [
    ("vgg16", {}, 212),                       # vgg_16
    ("alexnet", {}, 195),                     # alexnet_v2 (same kernels and strides as torchvision's)
    ("alexnet", {"variant": "paper"}, 195),   # the two-GPU network of 2012, 227 x 227
    ("mobilenet_v1", {}, 315),                # mobilenet_v1
    # resnet_v1_*: TF-Slim puts the stride-2 in the last block of a stage, in its 3x3 convolution;
    # the paper (our variant="paper") in the first 1x1 of the first block of the next stage. Both
    # skip the same 3x3 steps, so both give 483, 1027, 1507. torchvision's "v1.5" layout (stride in
    # the first block's 3x3) gives 427 for ResNet-50, below.
    ("resnet50", {"variant": "paper"}, 483),
    ("resnet101", {"variant": "paper"}, 1027),
    ("resnet152", {"variant": "paper"}, 1507),
])
def test_published_receptive_fields(name, options, size):
    rf = receptive_field(architectures.build(name, **options),
                         227 if options.get("variant") == "paper" and name == "alexnet" else 224)
    assert rf.size == size and rf.jump == 32
    if name == "vgg16":
        assert rf.padding == 90       # the table's effective padding; PyTorch pads like TF here


def test_torchvision_resnet50_layout():
    """v1.5 (stride in the first block's 3x3): 56 pixels less than the paper's 483. By hand:
    conv1 7, pool 11, layer1 +3*2*4 = 35, layer2 +2*4 + 3*2*8 = 91, layer3 +2*8 + 5*2*16 = 267,
    layer4 +2*16 + 2*2*32 = 427."""
    rf = receptive_field(architectures.build("resnet50"))
    assert rf.size == 427 and rf.start == 0 and rf.stopped_at.endswith("(adaptive_avg_pool2d)")


def test_real_networks_analytic_equals_gradient():
    """Autograd on real networks, one axis at a time on a tall strip (the other axis clipped)."""
    for name, options in [("resnet18", {}), ("vgg11", {}), ("googlenet", {})]:
        model = architectures.build(name, **options)
        n = unclipped_input_size(model)[2]
        rf, g = assert_matches_gradient(model, (1, 3, n, 40), axes=(0,))
        assert g.size[0] == {"resnet18": 435, "vgg11": 150, "googlenet": 379}[name]


def test_fixed_size_head_does_not_limit_the_input_size():
    """LeNet-5's dense layers need 32 x 32; the field (of C5, which sees all 32 pixels) does not."""
    model = architectures.build("lenet5")
    at32, at64 = receptive_field(model, (1, 1, 32, 32)), receptive_field(model, (1, 1, 64, 64))
    assert at32.size == at64.size == 32 and at32.output_hw == (1, 1)
    assert any("failed" in note for note in at64.notes)
    # autograd through the paper's trainable subsampling and partial C3 connections: the model
    # runs at 32 x 32 only and flattens C5 into features for its dense layers, so C5 is measured;
    # it sees all 32 x 32 pixels; one output unit, so no jump can be measured
    g = gradient_receptive_field(model, (1, 1, 32, 32), erf_samples=0)
    assert g.size == 32 and g.support.all() and g.jump is None and g.clipped
    assert g.feature_shape == (1, 120, 1, 1) and g.unit == (0, 0)


# ---------------------------------------------------------------------------------------------
# Effective receptive field
# ---------------------------------------------------------------------------------------------


def test_erf_of_a_uniform_linear_stack_is_the_binomial_like_kernel():
    """With all weights 1 and no nonlinearity, d y / d x is the L-fold convolution of ones."""
    L = 4
    net = nn.Sequential(*[nn.Conv2d(1, 1, 3, bias=False) for _ in range(L)])
    with torch.no_grad():
        for m in net:
            m.weight.fill_(1.0)
    g = gradient_receptive_field(net, 16, erf_samples=2, erf_weights="model")
    v = torch.ones(1, 1, 1)
    for _ in range(L):
        v = torch.nn.functional.conv1d(v, torch.ones(1, 1, 3), padding=2)
    v = v.flatten().double()                        # 1 4 10 16 19 16 10 4 1
    expected = torch.outer(v, v) / v.sum() ** 2
    top, left, bottom, right = g.boxes[0]
    assert torch.allclose(g.erf[top:bottom + 1, left:right + 1], expected)
    assert g.erf.sum().item() == pytest.approx(1.0)


def test_erf_fraction_shrinks_with_depth():
    """Luo et al. (2016): the effective field grows like sqrt(L), the theoretical one like L."""
    def fraction(L):
        net = nn.Sequential(*[m for _ in range(L) for m in (nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())])
        return gradient_receptive_field(net, 2 * L + 8, erf_samples=3).erf_fraction
    shallow, deep = fraction(2), fraction(12)
    assert 0 < deep < shallow <= 1


def test_erf_fraction_by_hand():
    erf = torch.tensor([[0.7, 0.2], [0.05, 0.05]])
    assert receptive.erf_fraction(erf, (0, 0, 1, 1), 0.95) == 3 / 4
    assert receptive.erf_fraction(erf, (0, 0, 1, 1), 0.9) == 2 / 4
    assert receptive.erf_fraction(erf, (0, 0, 1, 1), 0.96) == 4 / 4
    assert receptive.erf_fraction(erf, (0, 0, 1, 1), 0.7) == 1 / 4
    assert receptive.erf_fraction(erf, (0, 0, 0, 1), 0.75) == 1 / 2    # row 0: 0.7 of 0.9
    assert receptive.erf_fraction(erf, (0, 0, 0, 1), 0.8) == 2 / 2
    with pytest.raises(ValueError, match="mass"):
        receptive.erf_fraction(erf, (0, 0, 1, 1), 0)


# ---------------------------------------------------------------------------------------------
# The caller's model is untouched; errors
# ---------------------------------------------------------------------------------------------


def test_measurement_does_not_change_the_model_or_the_random_state():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2))
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    gradient_receptive_field(net, 12, erf_samples=2)
    receptive_field(net, 12)
    assert net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.requires_grad and p.device.type == "cpu" for p in net.parameters())
    assert torch.equal(rng, torch.get_rng_state())


def test_errors():
    with pytest.raises(ValueError, match="layer 2 "):
        receptive_field([(3, 1), (3,)])
    with pytest.raises(ValueError, match="stride"):
        receptive_field([(3, 0)])
    with pytest.raises(ValueError, match="not modelled"):
        receptive_field(nn.Sequential(nn.Conv2d(4, 4, 3), nn.Unfold(2)), 16)

    class Flip(nn.Module):
        def forward(self, x):
            return x.flip(-1)

    class Repeat(nn.Module):
        def forward(self, x):
            return x.repeat(1, 1, 2, 1)

    with pytest.raises(ValueError, match="not modelled"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), Flip()), 16)
    with pytest.raises(ValueError, match="cannot follow"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), Repeat()), 16)
