"""Tests of cnnbook_lib.receptive.coverage: the exact pixels (and path counts) of one unit.

Oracles: autograd. With positive weights and no non-linearity a network is linear with positive
coefficients, so the gradient of one output unit with respect to the input is positive exactly on
the pixels that have a path to it; with one channel, all-ones kernels, sum pooling and no bias the
gradient *is* the number of paths (an integer, exact in float64 at these sizes). Deep stacks whose
counts overflow int64 are checked against polynomial products in Python integers: the counts of a
stride-1 stack along one axis are the coefficients of the product of ``sum_t x^(d t)`` over its
layers. Published fields: Yu & Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions"
(ICLR 2016), Table 1 (receptive fields 3, 5, 9, 17, 33, 65, 67 of the context module with
dilations 1, 1, 2, 4, 8, 16, 1); van den Oord et al., "WaveNet: A Generative Model for Raw Audio"
(2016), Section 2.1 (dilations 1, 2, ..., 512 with kernel 2 give a receptive field of 1024).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from badinput import check_function
from cnnbook_lib.receptive import coverage, extent, holes, receptive_field

# ---------------------------------------------------------------------------------------------
# Oracle: autograd on a linear version of the stack
# ---------------------------------------------------------------------------------------------


def gradient(layers, shape, unit, weights="ones", seed=0):
    """Gradient of output ``unit`` w.r.t. a one-channel input of spatial ``shape``, for layers
    (k, s, d, p, kind) run as convolutions (kind "conv") or sum pooling (kind "pool")."""
    gen = torch.Generator().manual_seed(seed)
    n = len(shape)
    conv = {1: F.conv1d, 2: F.conv2d}[n]
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d}[n]
    x = torch.ones((1, 1) + tuple(shape), dtype=torch.float64, requires_grad=True)
    h = x
    for k, s, d, p, kind in layers:
        if kind == "pool":
            h = pool(h, k, s, p, count_include_pad=True) * k ** n
            continue
        w = torch.ones((1, 1) + (k,) * n, dtype=torch.float64)
        if weights == "random":
            w = 0.1 + torch.rand(w.shape, generator=gen, dtype=torch.float64)
        h = conv(h, w, stride=s, padding=p, dilation=d)
    (g,) = torch.autograd.grad(h[(0, 0) + tuple(unit)], x)
    return g[0, 0].numpy(), tuple(h.shape[2:])


def random_stack(rng, n_axes):
    """A random stack of 1-5 layers (convolutions and pooling) and an input it runs on."""
    layers = []
    for _ in range(rng.integers(1, 6)):
        if rng.random() < 0.25:
            k = int(rng.integers(2, 4))
            layers.append((k, int(rng.integers(1, k + 1)), 1, int(rng.integers(0, k // 2 + 1)),
                           "pool"))
        else:
            k, d = int(rng.integers(1, 6)), int(rng.integers(1, 5))
            layers.append((k, int(rng.integers(1, 4)), d, int(rng.integers(0, d * (k - 1) + 2)),
                           "conv"))
    size = []
    for _ in range(n_axes):
        need = 1
        for k, s, d, p, _ in reversed(layers):
            need = max(1, (need - 1) * s + d * (k - 1) + 1 - 2 * p)
        size.append(need + int(rng.integers(0, 25)))
    return layers, tuple(size)


SEEDS = range(240)


@pytest.mark.parametrize("seed", SEEDS)
def test_path_counts_and_mask_equal_the_gradient_on_random_stacks(seed):
    rng = np.random.default_rng(seed)
    n_axes = 1 if seed % 4 == 0 else 2
    layers, shape = random_stack(rng, n_axes)
    spec = [(k, s, d, p) for k, s, d, p, _ in layers]
    _, out = gradient(layers, shape, (0,) * n_axes)
    unit = tuple(int(rng.integers(0, o)) for o in out)
    g, _ = gradient(layers, shape, unit)
    counts = coverage(spec, shape, unit=unit, counts=True)
    assert counts.shape == shape and counts.dtype == np.int64
    assert np.array_equal(counts, g.astype(np.int64)) and np.array_equal(counts, g)
    g_random, _ = gradient(layers, shape, unit, weights="random", seed=seed)
    mask = coverage(spec, shape, unit=unit)
    assert mask.dtype == bool and np.array_equal(mask, g_random > 0)


def test_at_least_200_random_stacks_include_dilation_stride_padding_and_pooling():
    kinds = set()
    for seed in SEEDS:
        layers, _ = random_stack(np.random.default_rng(seed), 2)
        for k, s, d, p, kind in layers:
            kinds |= {kind, ("d>1" if d > 1 else "d=1"), ("s>1" if s > 1 else "s=1"),
                      ("p>0" if p > 0 else "p=0")}
    assert len(SEEDS) >= 200
    assert kinds == {"conv", "pool", "d>1", "d=1", "s>1", "s=1", "p>0", "p=0"}


# ---------------------------------------------------------------------------------------------
# Modules: branches, merges, pads, slices, pooling, 1-D causal stacks
# ---------------------------------------------------------------------------------------------


class Branched(nn.Module):
    """Two dilated branches added, a residual, a channel concatenation with a slice, a reflect
    pad, a pooling. With ``linear`` the ReLUs are the identity and max pooling is sum pooling,
    so that all-ones weights make the gradient count paths."""

    def __init__(self, d1, d2, linear=False):
        super().__init__()
        self.a = nn.Conv2d(1, 1, 3, padding=d1, dilation=d1, bias=False)
        self.b = nn.Conv2d(1, 1, 3, padding=d2, dilation=d2, bias=False)
        self.c = nn.Conv2d(2, 1, (3, 1), bias=False)
        self.linear = linear

    def act(self, x):
        return x if self.linear else torch.relu(x)

    def forward(self, x):
        y = self.act(self.a(x)) + self.b(x) + x              # branches and a residual
        y = torch.cat([y, y[:, :, :, :]], dim=1)             # a concatenation of channels
        y = F.pad(y, (1, 1, 2, 0), mode="reflect")
        y = self.c(y)
        if self.linear:
            return F.avg_pool2d(y, 2, 1) * 4
        return F.max_pool2d(y, 2, 1)


def ones(model):
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    return model.double()


def module_gradient(model, shape, unit):
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    y = model(x)
    (g,) = torch.autograd.grad(y[(0, slice(None)) + tuple(unit)].sum(), x)
    return g[0].sum(0).numpy(), tuple(y.shape[2:])


@pytest.mark.parametrize("d1, d2, size", [(1, 2, 13), (2, 3, 17), (1, 4, 12), (3, 3, 15)])
def test_branched_module_counts_equal_the_gradient(d1, d2, size):
    shape = (1, 1, size, size + 3)
    oracle = ones(Branched(d1, d2, linear=True))
    _, out = module_gradient(oracle, shape, (0, 0))
    for unit in [(o // 2 for o in out), (0, 0), tuple(o - 1 for o in out), (1, out[1] - 2)]:
        unit = tuple(unit)
        g, _ = module_gradient(oracle, shape, unit)
        counts = coverage(Branched(d1, d2), shape, unit=unit, counts=True)
        assert np.array_equal(counts, g), unit
        assert np.array_equal(coverage(Branched(d1, d2), shape, unit=unit), g > 0)


def test_a_squeeze_excitation_gate_makes_every_pixel_reach_the_unit():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
            self.fc = nn.Conv2d(1, 1, 1, bias=False)

        def forward(self, x):
            y = self.conv(x)
            return y * self.fc(F.adaptive_avg_pool2d(y, 1))

    shape = (1, 1, 11, 9)
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    model = ones(Gate())
    (g,) = torch.autograd.grad(model(x)[0, 0, 5, 4], x)
    mask = coverage(Gate(), shape)
    assert mask.all() and np.array_equal(mask, g[0, 0].numpy() > 0)
    plain = coverage(nn.Conv2d(1, 1, 3, padding=1), shape)
    assert plain.sum() == 9


def test_adaptive_pooling_windows_overlap_as_in_torch():
    class Pyramid(nn.Module):
        """Adaptive pooling to 3 x 4 bins added to a crop, so that its result stays a map (a
        pooling at the very end would be a classifier head, left out as receptive_field does)."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 1, bias=False)

        def forward(self, x):
            y = self.conv(x)
            return F.adaptive_avg_pool2d(y, (3, 4)) + y[:, :, :3, :4]

    shape = (1, 1, 10, 7)
    model = ones(Pyramid())
    for unit in [(0, 0), (1, 2), (2, 3)]:
        x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(model(x)[(0, 0) + unit], x)
        assert np.array_equal(coverage(Pyramid(), shape, unit=unit), g[0, 0].numpy() > 0)


def wavenet(dilations, linear=False):
    """Dilated causal convolutions of kernel 2: each pads d samples on the left only."""
    class Causal(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.d = d
            self.conv = nn.Conv1d(1, 1, 2, dilation=d, bias=False)

        def forward(self, x):
            y = self.conv(F.pad(x, (self.d, 0)))
            return y if linear else torch.tanh(y)
    return nn.Sequential(*[Causal(d) for d in dilations])


def test_wavenet_block_reaches_1024_past_samples_each_by_one_path():
    dilations = [2 ** i for i in range(10)]                  # 1, 2, ..., 512 (WaveNet, 2.1)
    n = 1500
    last = n - 1
    counts = coverage(wavenet(dilations), (1, 1, n), unit=(last,), counts=True)
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(ones(wavenet(dilations, linear=True))(x)[0, 0, last], x)
    assert np.array_equal(counts, g[0, 0].numpy())
    assert counts[n - 1024:].tolist() == [1] * 1024 and not counts[:n - 1024].any()
    assert extent(counts > 0) == (1024,) and not holes(counts > 0).any()
    # the same stack as a layer list without padding: the last unit of a valid stack
    valid = coverage([(2, 1, d) for d in dilations], (n,), unit=(n - 1023 - 1,), counts=True)
    assert np.array_equal(valid, counts)
    # causal: a unit in the middle sees only its past
    mid = coverage(wavenet(dilations), (1, 1, n), unit=(700,))
    assert mid[700] and not mid[701:].any() and mid.sum() == 701


def test_two_wavenet_blocks_overlap_by_one_sample():
    dilations = [2 ** i for i in range(10)] * 2
    mask = coverage(wavenet(dilations), (1, 1, 2600), unit=(2599,))
    assert extent(mask) == (2 * 1023 + 1,) and not holes(mask).any()


# ---------------------------------------------------------------------------------------------
# The book's networks: the mask against the gradient support of the library's measurement
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name, size", [("alexnet", 224), ("zfnet", 224), ("squeezenet1_0", 224),
                                        ("resnet18", 96), ("googlenet", 96), ("inception_v3", 96),
                                        ("lenet5", 32)])
def test_networks_mask_equals_the_measured_gradient_support(name, size):
    """gradient_receptive_field differentiates the network with all weights 1/fan_in, max pooling
    as sum pooling and activations as the identity: its support is the set of pixels with a path
    (an autograd oracle run on the real modules, heads left out in the same way)."""
    from cnnbook_lib import architectures
    from cnnbook_lib.receptive import gradient_receptive_field
    model = architectures.build(name)
    rf = receptive_field(model, size)
    unit = tuple(o // 2 for o in rf.output_hw)
    mask = coverage(model, size, unit=unit)
    measured = gradient_receptive_field(model, size, unit=unit, erf_samples=0)
    assert np.array_equal(mask, measured.support.numpy())
    rows, cols = np.nonzero(mask)
    box = rf.box(*unit)                                     # inside the recurrence's extent
    assert box[0] <= rows.min() and box[1] <= cols.min()
    assert rows.max() <= box[2] and cols.max() <= box[3]


@pytest.mark.slow
def test_every_network_is_covered_inside_its_field_or_refused_by_name():
    from cnnbook_lib import architectures
    refused = {}
    for name in architectures.names():
        model = architectures.build(name)
        size = 224 if name == "vit_b_16" else 128               # ViT runs at its own size only
        rf = receptive_field(model, size)
        try:
            mask = coverage(model, size)
        except ValueError as error:
            refused[name] = str(error)
            continue
        if rf.is_global:                                    # squeeze-excitation gates
            assert mask.all(), name
            continue
        rows, cols = np.nonzero(mask)
        box = rf.box(*(o // 2 for o in rf.output_hw))
        assert box[0] <= rows.min() and box[1] <= cols.min(), name
        assert rows.max() <= box[2] and cols.max() <= box[3], name
    # attention and channels-last blocks are not modelled, and say so
    assert set(refused) == {"vit_b_16", "convnext_tiny"}, refused
    assert "permute" in refused["convnext_tiny"] and "flatten" in refused["vit_b_16"]


# ---------------------------------------------------------------------------------------------
# Holes, extents and the published fields
# ---------------------------------------------------------------------------------------------


def test_yu_koltun_context_module_fields_table_1():
    dilations = [1, 1, 2, 4, 8, 16, 1]
    published = [3, 5, 9, 17, 33, 65, 67]                    # Yu & Koltun 2016, Table 1
    for depth, field in enumerate(published, start=1):
        layers = [(3, 1, d) for d in dilations[:depth]]
        mask = coverage(layers, 80)
        assert extent(mask) == (field, field) == (receptive_field(layers).size,) * 2
        assert not holes(mask).any()                         # the module has no gridding


def test_constant_dilation_leaves_holes_on_a_grid():
    mask = coverage([(3, 1, 2)] * 3, 21)
    assert extent(mask) == (13, 13)
    assert mask.sum() == 7 * 7 and holes(mask).sum() == 13 * 13 - 49
    rows, cols = np.nonzero(mask)
    assert set((rows - rows.min()) % 2) == {0} and set((cols - cols.min()) % 2) == {0}


def test_wang_et_al_hdc_examples():
    # Wang et al. 2018, Section 3.2: with K = 3, [1, 2, 5] works and [1, 2, 9] does not
    assert not holes(coverage([(3, 1, d) for d in (1, 2, 5)], 41)).any()
    assert holes(coverage([(3, 1, d) for d in (1, 2, 9)], 41)).any()


def test_extent_equals_the_recurrence_inside_the_input():
    rng = np.random.default_rng(7)
    for _ in range(40):
        layers = [(int(rng.integers(1, 5)), int(rng.integers(1, 3)), int(rng.integers(1, 4)))
                  for _ in range(rng.integers(1, 5))]
        rf = receptive_field(layers, 200)
        mask = coverage(layers, 200)
        assert extent(mask) == (rf.size, rf.size)
        box = rf.box(*(o // 2 for o in rf.output_hw))
        rows, cols = np.nonzero(mask)
        assert (rows.min(), cols.min(), rows.max(), cols.max()) == box


def test_counts_too_large_for_int64_are_exact_python_integers():
    dilations = [1, 2, 3] * 10                                # 30 layers of 5 taps
    layers = [(5, 1, d) for d in dilations]
    n = sum(4 * d for d in dilations) + 1
    counts = coverage(layers, (n,), counts=True)
    poly = [1]
    for d in dilations:                                       # multiply by sum_t x^(d t)
        step = [0] * (len(poly) + 4 * d)
        for i, c in enumerate(poly):
            for t in range(5):
                step[i + d * t] += c
        poly = step
    assert counts.dtype == object and max(poly) > 2 ** 63
    assert [int(c) for c in counts] == poly
    square = coverage(layers, n, counts=True)
    centre = square[n // 2]
    assert [int(c) for c in centre] == [poly[n // 2] * c for c in poly]


def test_holes_and_extent_of_empty_and_full_masks():
    assert not holes(np.zeros((3, 3), dtype=bool)).any()
    assert extent(np.zeros(4, dtype=bool)) == (0,)
    assert extent(np.ones((2, 5), dtype=bool)) == (2, 5)
    with pytest.raises(TypeError, match="mask"):
        holes(np.ones(3))


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def small_net():
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))


def test_coverage_of_a_layer_list_rejects_bad_arguments():
    check_function(coverage, dict(layers_or_model=[(3, 1, 2), (2, 2)], input_size=16,
                                  unit=(1, 2), counts=False),
                   skip=("layers_or_model",), allow={"unit": ("None",)})


def test_coverage_of_a_model_rejects_bad_arguments():
    check_function(coverage, dict(layers_or_model=small_net(), input_size=(1, 1, 16, 16),
                                  unit=(2, 3), counts=True),
                   skip=("layers_or_model",), allow={"unit": ("None",), "input_size": ("3",)})


@pytest.mark.parametrize("value", [None, 3, "3,1", [(3,)], [(0, 1)], [(3, 1, 0)],
                                   [(3, 1, 1, -1)], [(3, 1.5)], [nn.Conv2d(1, 1, 3), (3, 1)]])
def test_coverage_rejects_bad_layers(value):
    with pytest.raises((ValueError, TypeError), match="layer|model_or_layers"):
        coverage(value, 16)


def test_coverage_refuses_a_stack_larger_than_its_input_and_a_unit_outside():
    with pytest.raises(ValueError, match="input_size"):
        coverage([(3, 1, 4)] * 2, 10)
    with pytest.raises(ValueError, match="unit"):
        coverage([(3, 1)], 10, unit=(8, 0))
    with pytest.raises(ValueError, match="layer 1"):
        coverage([((3, 5), 1)], (10,))                        # two kernels for a 1-D stack


@pytest.mark.parametrize("model, word", [
    (nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)), "interpolate|upsample"),
    (nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(2), nn.Unflatten(2, (6, 6))), "flatten"),
    (nn.Sequential(nn.ConvTranspose2d(1, 1, 3)), "conv_transpose"),
])
def test_coverage_names_the_operation_it_cannot_follow(model, word):
    with pytest.raises(ValueError, match=word):
        coverage(model, (1, 1, 8, 8))


def test_a_classifier_head_is_left_out_like_receptive_field_does():
    features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
    for head in (nn.Sequential(nn.Flatten(), nn.Linear(18, 4)),               # fixed size
                 nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 4))):
        net = nn.Sequential(features, head)
        assert receptive_field(net, (1, 1, 8, 8)).stopped_at
        for unit in [(0, 0), (1, 2)]:
            assert np.array_equal(coverage(net, (1, 1, 8, 8), unit=unit),
                                  coverage(features, (1, 1, 8, 8), unit=unit))


def test_a_model_that_does_not_run_is_refused_naming_input_size():
    with pytest.raises(ValueError, match="input_size"):
        coverage(small_net(), (1, 3, 16, 16))


# ---------------------------------------------------------------------------------------------
# The formulas of dilated stacks (cnnbook_lib.formulas.dilation), checked against coverage
# ---------------------------------------------------------------------------------------------


def test_doubling_schedule_field_matches_the_recurrence_and_the_mask():
    from cnnbook_lib import formulas as F
    for kernel in (2, 3, 5):
        for depth in range(1, 8):
            layers = [(kernel, 1, 2 ** i) for i in range(depth)]
            field = int(F.rf_dilated_doubling.subs({F.k: kernel, F.rf_L: depth}))
            assert field == receptive_field(layers).size
            assert extent(coverage(layers, (field + 4,)))[0] == field


def test_hdc_rule_of_wang_et_al_is_sufficient_for_schedules_starting_at_rate_1():
    import itertools
    from cnnbook_lib import formulas as F
    assert F.hdc_max_gap([1, 2, 5]) == 2 and F.hdc_max_gap([1, 2, 9]) == 5   # Section 3.2
    verdicts = {}
    for kernel in (3, 5):
        for depth in (2, 3, 4):
            for rest in itertools.product(range(1, 8), repeat=depth - 1):
                rates = (1,) + rest
                n = sum(r * (kernel - 1) for r in rates) + 1
                no_holes = not holes(coverage([(kernel, 1, r) for r in rates], (n,))).any()
                ok = F.hdc_ok(rates, kernel)
                assert no_holes or not ok, (rates, kernel)           # never passes a hole
                increasing = list(rates) == sorted(rates)
                verdicts[increasing, ok, no_holes] = verdicts.get((increasing, ok, no_holes), 0) + 1
    assert sum(verdicts.values()) > 500
    assert verdicts[True, True, True] > 100 and verdicts[True, False, False] > 30
    assert verdicts[False, False, True] > 100          # unordered schedules: it is conservative
    # two rate-1 layers of 5 taps cover 9 pixels, more than the K = 5 the rule credits
    assert not F.hdc_ok([1, 1, 8], 5) and not holes(coverage([(5, 1, d) for d in (1, 1, 8)],
                                                             (41,))).any()
    # the rule does not look at r_1: a schedule starting at rate 2 passes it with holes
    assert F.hdc_ok([2, 2, 2]) and holes(coverage([(3, 1, 2)] * 3, (13,))).any()


def test_hdc_functions_reject_bad_arguments():
    from cnnbook_lib import formulas as F
    check_function(F.hdc_ok, dict(rates=[1, 2, 5], kernel=3),
                   allow={"rates": ("one entry short",)})
    with pytest.raises(ValueError, match="rates"):
        F.hdc_max_gap([3])
