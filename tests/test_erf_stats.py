"""Tests of cnnbook_lib.receptive.erf_stats and the ERF variance formula.

Oracles: brute-force enumeration of sums of uniform taps, autograd on hand-written networks,
the analytic receptive field (the gradient is zero outside it), torch output shapes, and the
library's own ``erf_fraction``.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
import torch
from torch import nn

from cnnbook_lib import formulas as F, receptive
from cnnbook_lib.receptive import erf_stats as E


@pytest.mark.parametrize("depth, taps", [(0, 3), (1, 1), (1, 2), (3, 3), (4, 2), (2, 5), (3, 4)])
def test_variance_formula_is_the_variance_of_a_sum_of_uniform_taps(depth, taps):
    """Enumerate every choice of one tap per layer: the variance of the summed offsets."""
    sums = [sum(c) for c in itertools.product(range(taps), repeat=depth)] or [0]
    mean = Fraction(sum(sums), len(sums))
    var = sum((Fraction(x) - mean) ** 2 for x in sums) / len(sums)
    assert F.erf_variance_uniform_stack(depth, taps) == var
    assert F.rf_erf_variance.subs({F.rf_L: depth, F.k: taps}) == var


def test_variance_formula_refuses_bad_input():
    with pytest.raises(ValueError, match="layers"):
        F.erf_variance_uniform_stack(-1, 3)
    with pytest.raises(ValueError, match="taps"):
        F.erf_variance_uniform_stack(2, 0)


def _equal_weights(depth, taps):
    net = E.stack(depth, k=taps, dims=1, channels=1, relu=False)
    with torch.no_grad():
        for conv in net.convs:
            conv.weight.fill_(1.0 / taps)
    return net


@pytest.mark.parametrize("depth, taps", [(1, 3), (5, 3), (12, 3), (6, 2), (4, 5)])
def test_measured_variance_of_an_equal_weight_stack(depth, taps):
    width = 1 + depth * (taps - 1) + 6
    m = E.erf_map(_equal_weights(depth, taps), (1, 1, width), samples=1, reinitialize=False,
                  dtype=torch.float64)
    assert E.moments(m)[1] == pytest.approx(float(F.erf_variance_uniform_stack(depth, taps)),
                                            rel=1e-9, abs=1e-12)


def test_erf_map_is_the_normalized_gradient_of_the_central_unit():
    """Against autograd by hand: power 1 is |g|, power 2 is g**2, both normalized."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 5, padding=2))
    x = torch.randn(1, 2, 11, 11)
    for power in (1, 2):
        m = E.erf_map(net, x.shape, inputs=x, reinitialize=False, power=power)
        xs = x.clone().requires_grad_(True)
        y = net(xs)
        y[0, :, 5, 5].sum().backward()
        g = xs.grad.double().abs() ** power
        g = g.sum((0, 1))
        assert torch.allclose(m, g / g.sum(), rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("options", [dict(), dict(relu=False), dict(skip=True),
                                     dict(strides=[1, 2, 1, 2]), dict(dilations=[1, 2, 1, 2])])
def test_erf_map_lives_inside_the_theoretical_field(options):
    net = E.stack(4, channels=4, **options)
    rf = receptive.receptive_field(net, 31)
    box = rf.box(*(n // 2 for n in rf.output_hw))
    m = E.erf_map(net, (1, 1, 31, 31), samples=3)
    top, left, bottom, right = box
    inside = torch.zeros_like(m, dtype=torch.bool)
    inside[top:bottom + 1, left:right + 1] = True
    assert (m[~inside] == 0).all() and (m[inside] > 0).any()
    assert m.sum().item() == pytest.approx(1.0)
    assert torch.equal(E.profile(m, 0).nonzero().flatten()[[0, -1]], torch.tensor([top, bottom]))


def test_erf_map_leaves_the_model_and_the_random_state_alone():
    net = E.stack(3, channels=4)
    before = [p.clone() for p in net.parameters()]
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    a = E.erf_map(net, (1, 1, 15, 15), samples=2, seed=5)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), before))
    assert torch.equal(a, E.erf_map(net, (1, 1, 15, 15), samples=2, seed=5))   # seeded
    assert not torch.equal(a, E.erf_map(net, (1, 1, 15, 15), samples=2, seed=6))


def test_stack_shapes_and_skip_against_torch():
    net = E.stack(5, channels=6, in_channels=3, strides=[1, 2, 1, 1, 2], dilations=[1, 1, 3, 1, 1])
    y = net(torch.randn(2, 3, 33, 33))
    n = 33
    for k, s, d, p in net.layers:
        n = F.conv_output_size(n, k, s, p, d)
    assert y.shape == (2, 6, n, n)
    # with zero weights a skip stack is the identity on its input: the ERF is one pixel
    skip = E.stack(4, channels=1, relu=False, skip=True)
    with torch.no_grad():
        for conv in skip.convs:
            conv.weight.zero_()
    m = E.erf_map(skip, (1, 1, 9, 9), samples=1, reinitialize=False)
    assert m[4, 4] == 1 and m.sum() == 1


def test_profile_moments_gaussian():
    p = torch.tensor([0.0, 1.0, 2.0, 1.0, 0.0])
    mean, var = E.moments(p)
    assert mean == pytest.approx(2.0) and var == pytest.approx(0.5)
    g = E.gaussian(201, 100.0, 9.0)
    assert E.moments(g)[0] == pytest.approx(100.0) and E.moments(g)[1] == pytest.approx(9.0)
    m = torch.outer(p, torch.tensor([1.0, 3.0])) / 8
    assert torch.allclose(E.profile(m, 0), (p / p.sum()).double(), atol=0, rtol=1e-12)
    assert E.std(p) == pytest.approx(math.sqrt(0.5))
    with pytest.raises(ValueError):
        E.moments(torch.tensor([0.0, -1.0, 2.0]))
    with pytest.raises(ValueError):
        E.gaussian(5, 2.0, 0.0)


def test_mass_classes_agree_with_erf_fraction():
    torch.manual_seed(1)
    m = E.erf_map(E.stack(6, channels=4), (1, 1, 21, 21), samples=2)
    rf = receptive.receptive_field(E.stack(6, channels=4), 21)
    box = rf.box(10, 10)
    half, most = E.mass_classes(m.flatten().tolist())
    pixels = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    assert most / pixels == pytest.approx(receptive.erf_fraction(m.float(), box, 0.95))
    assert half / pixels == pytest.approx(receptive.erf_fraction(m.float(), box, 0.5))
    assert E.mass_classes([5, 0, 0, 5], (0.5, 1.0)) == [1, 2]


def test_bad_input():
    net = E.stack(2, channels=2)
    with pytest.raises(ValueError, match="power"):
        E.erf_map(net, (1, 1, 9, 9), power=3)
    with pytest.raises(ValueError, match="input_shape"):
        E.erf_map(net, (1, 9))
    with pytest.raises(ValueError, match="unit"):
        E.erf_map(net, (1, 1, 9, 9), unit=(9, 0))
    with pytest.raises(ValueError, match="strides"):
        E.stack(3, strides=[1, 2])
    with pytest.raises(ValueError, match="dims"):
        E.stack(3, dims=4)
