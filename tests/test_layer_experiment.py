"""Chapter 3's training experiment (cnnbook_lib.layer_experiment), checked against torch."""
import json

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import datasets, layer_experiment as E
from cnnbook_lib.architectures.shufflenet import ChannelShuffle


def _counted_macs(model: nn.Module) -> int:
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 1, 28, 28, device="meta"))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("kind", E.KINDS)
@pytest.mark.parametrize("width", [8, 24, 68])
def test_net_macs_is_what_torch_counts(kind, width):
    net = E.small_net(kind, width).to("meta")
    assert E.net_macs(kind, width) == _counted_macs(net)


@pytest.mark.parametrize("kind", E.KINDS)
def test_small_net_classifies_digits(kind):
    net = E.small_net(kind, 16).eval()
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_body_layers_are_the_named_kinds():
    def convs(kind):
        return [m for m in E.small_net(kind, 32).modules() if isinstance(m, nn.Conv2d)][1:]
    assert all(c.groups == 1 and c.kernel_size == (3, 3) for c in convs("standard"))
    sep = convs("separable")
    assert [c.groups for c in sep[:2]] == [32, 1] and sep[1].kernel_size == (1, 1)
    assert all(c.groups == E.GROUPS for c in convs("grouped"))
    assert sum(isinstance(m, ChannelShuffle) for m in E.small_net("grouped", 32).modules()) == 4
    bott = convs("bottleneck")
    assert [(c.in_channels, c.out_channels) for c in bott[:3]] == [(32, 8), (8, 8), (8, 32)]


def test_matched_width_is_closest_to_the_budget():
    budget = E.net_macs("standard", E.BUDGET_WIDTH)
    for kind in E.KINDS:
        w = E.matched_width(kind, budget)
        gap = abs(E.net_macs(kind, w) - budget)
        assert gap <= abs(E.net_macs(kind, w + 4) - budget)
        assert w == 4 or gap <= abs(E.net_macs(kind, w - 4) - budget)
        assert gap / budget < 0.07
    assert E.matched_width("standard", budget) == E.BUDGET_WIDTH


def test_seed_fixes_the_weights_and_leaves_the_global_state():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = E.small_net("separable", 16, 0), E.small_net("separable", 16, 0), E.small_net("separable", 16, 1)
    assert torch.rand(1) == before
    pa, pb, pc = (torch.cat([p.flatten() for p in n.parameters()]) for n in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_hard_digits_are_shifted_noisy_mnist():
    x, y = E.hard_digits("test")
    x0, y0 = datasets.mnist("test")
    assert x.shape == x0.shape and torch.equal(y, y0)
    assert x.min() >= 0 and x.max() <= 1 and not torch.equal(x, x0)
    assert torch.equal(E.hard_digits("test")[0], x)
    assert not torch.equal(E.hard_digits("train")[0][:len(x)], x)


@pytest.mark.parametrize("bad", [dict(kind="dense", width=8), dict(kind="standard", width=6),
                                 dict(kind="standard", width=0), dict(kind="standard", width=8.0)])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(ValueError):
        E.small_net(**bad)


def test_shipped_record_matches_the_library():
    doc = E.load_record()
    meta = doc["metadata"]
    assert meta["budget_macs"] == E.net_macs("standard", meta["budget_width"])
    assert [r["kind"] for r in doc["rows"]] == list(E.KINDS)
    assert len(meta["seeds"]) >= 3 and meta["device_name"]
    for r in doc["rows"]:
        assert r["width"] == E.matched_width(r["kind"], meta["budget_macs"])
        assert r["macs"] == E.net_macs(r["kind"], r["width"])
        assert r["params"] == sum(p.numel() for p in E.small_net(r["kind"], r["width"]).parameters())
        assert len(r["accuracy"]) == len(r["infer_ms"]) == len(meta["seeds"])
        assert all(0.1 < a <= 1 for a in r["accuracy"])


def test_load_record_refuses_other_json(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError):
        E.load_record(path)
