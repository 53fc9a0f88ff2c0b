"""The rule registries of cnnbook_lib.receptive: the receptive-field rules (receptive.rules.RULES)
and the coverage rules (receptive.coverage.RULES). One rule per function (a second is refused),
and every rule exercised by a small model whose field or coverage is known."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook_lib.receptive import coverage, receptive_field
from cnnbook_lib.receptive.coverage import RULES as COVERAGE_RULES
from cnnbook_lib.receptive.rules import RULES
from cnnbook_lib.tracing import Rule


def test_a_second_rule_for_a_function_is_refused():
    with pytest.raises(ValueError, match="'conv2d' already has a rule"):
        RULES.register(F.conv2d)(lambda tr, op: None)
    with pytest.raises(ValueError, match="already has a rule"):
        COVERAGE_RULES.register(torch.roll)(lambda rec, op: None)
    with pytest.raises(TypeError, match="no flag"):
        RULES.register(torch.erf, counts_macs=True)


class Fn(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn = fn
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        return self.fn(x, *self.layers)


def _windows(x, conv):
    """Channels-last windows of 4 x 4 with attention inside each, padded first."""
    y = conv(x).permute(0, 2, 3, 1)                              # (1, 8, 8, C)
    y = F.pad(y, (0, 0, 0, 0, 0, 0))                             # pad of a channels-last map
    b, h, w, c = y.shape
    y = y.view(b, h // 4, 4, w // 4, 4, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, 16, c)
    y = F.scaled_dot_product_attention(y, y, y)
    return y.view(b, h // 4, w // 4, 4, 4, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


def _tokens(x, conv, fc):
    """A class token, slicing, a matrix product and a linear head."""
    t = conv(x).flatten(2).transpose(1, 2)                       # (1, 16, C)
    t = torch.cat([t.new_zeros(1, 1, t.shape[-1]), t], 1)
    scores = (t @ t.transpose(1, 2)).softmax(-1)                 # every token sees all
    return fc((scores @ t)[:, 0])


#: (rule, model, input size, what the field must be)
RF_CASES = [
    ("_layer", nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2)), 16, lambda rf: rf.size == 4),
    ("_pad_other_layout", Fn(_windows, nn.Conv2d(1, 4, 3, padding=1)), 8,
     lambda rf: rf.size == 6 and not rf.is_global),
    ("_global_pool", nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1)), 8,
     lambda rf: rf.size == 3 and "adaptive_avg_pool2d" in rf.stopped_at),
    ("_linear", Fn(lambda x, conv, fc: fc(conv(x).permute(0, 2, 3, 1)), nn.Conv2d(1, 4, 3),
                   nn.Linear(4, 5)), 8, lambda rf: rf.size == 3),
    ("_mixing", Fn(lambda x, conv: conv(x).softmax(1), nn.Conv2d(1, 2, 3)), 8,
     lambda rf: rf.size == 3),
    ("_reduce", Fn(lambda x, conv: conv(x) * conv(x).mean((2, 3), keepdim=True),
                   nn.Conv2d(1, 2, 3)), 8, lambda rf: rf.is_global),
    ("_matmul", Fn(_tokens, nn.Conv2d(1, 4, 2, 2), nn.Linear(4, 3)), 8, lambda rf: rf.is_global),
    ("_attention", Fn(_windows, nn.Conv2d(1, 4, 3, padding=1)), 8, lambda rf: rf.size == 6),
    ("_roll", Fn(lambda x, conv: torch.roll(conv(x), 1, 3), nn.Conv2d(1, 2, 3)), 8,
     lambda rf: rf.size == 3 and any("roll" in n for n in rf.notes)),
    ("_reshape", Fn(_windows, nn.Conv2d(1, 4, 3, padding=1)), 8, lambda rf: rf.size == 6),
    ("_permute", Fn(_windows, nn.Conv2d(1, 4, 3, padding=1)), 8, lambda rf: rf.size == 6),
    ("_expand", Fn(lambda x, conv: conv(x)[:, :1].expand(1, 3, 6, 6), nn.Conv2d(1, 2, 3)), 8,
     lambda rf: rf.size == 3),
    ("_cat", Fn(_tokens, nn.Conv2d(1, 4, 2, 2), nn.Linear(4, 3)), 8,
     lambda rf: rf.is_global and any("class token" in n for n in rf.notes)),
    ("_getitem", Fn(lambda x, conv: conv(x)[..., ::2, 1:], nn.Conv2d(1, 2, 3)), 9,
     lambda rf: rf.size == 3 and tuple(a.jump for a in rf.axes) == (2, 1)),
    ("_unbind", Fn(lambda x, conv: conv(x).unbind(1)[0], nn.Conv2d(1, 2, 3)), 8,
     lambda rf: rf.size == 3),
]


@pytest.mark.parametrize("rule,model,size,check", RF_CASES, ids=[c[0] for c in RF_CASES])
def test_receptive_rule(rule, model, size, check):
    rf = receptive_field(model, size)
    assert check(rf), rf


def test_unsupported_operations_are_refused():
    with pytest.raises(ValueError, match="flip is not modelled"):
        receptive_field(Fn(lambda x, conv: conv(x).flip(-1), nn.Conv2d(1, 2, 3)), 8)


def test_local_rules_are_skipped_on_a_global_field():
    """A roll or a flip after the field is global changes nothing (flag ``local``)."""
    def gated(x, conv):
        y = conv(x) * conv(x).mean((2, 3), keepdim=True)
        return torch.roll(y, 1, 3).flip(-1)
    rf = receptive_field(Fn(gated, nn.Conv2d(1, 2, 3)), 8)
    assert rf.is_global and not any("roll" in n for n in rf.notes)


def test_every_receptive_rule_is_exercised(monkeypatch):
    called = set()
    original = Rule.__call__

    def spy(self, *args, **kwargs):
        called.add(id(self))
        return original(self, *args, **kwargs)
    monkeypatch.setattr(Rule, "__call__", spy)
    for _, model, size, _ in RF_CASES:
        receptive_field(model, size)
    with pytest.raises(ValueError):
        test_unsupported_operations_are_refused()
        raise ValueError
    missing = [r.fn.__name__ for r in RULES.rules() if id(r) not in called]
    assert not missing, missing


# ---------------------------------------------------------------------------------------------
# Coverage rules
# ---------------------------------------------------------------------------------------------

COVERAGE_CASES = [
    ("_window_layer", nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2), nn.ReflectionPad2d(1)), 9,
     lambda c: c.sum() == 9),
    ("_adaptive", Fn(lambda x, conv: conv(x) * F.adaptive_avg_pool2d(conv(x), 1),
                     nn.Conv2d(1, 1, 3)), 8, lambda c: (c > 0).all()),      # a gate: global
    ("_mixing", Fn(lambda x, conv: conv(x).softmax(1), nn.Conv2d(1, 2, 3)), 7,
     lambda c: c.sum() == 9),
    ("_reduce", Fn(lambda x, conv: conv(x).sum(1, keepdim=True), nn.Conv2d(1, 2, 3)), 7,
     lambda c: c.sum() == 9),
    ("_permute", Fn(lambda x, conv: conv(x).transpose(0, 1), nn.Conv2d(1, 2, 3)), 7,
     lambda c: c.sum() == 9),
    ("_reshape", Fn(lambda x, conv: conv(x).view(1, 2, 1, 5, 5).flatten(1, 2),
                    nn.Conv2d(1, 2, 3)), 7, lambda c: c.sum() == 9),
    ("_getitem", Fn(lambda x, conv: conv(x)[:, :, 1:, ::2], nn.Conv2d(1, 2, 3)), 7,
     lambda c: c.sum() == 9),
]


@pytest.mark.parametrize("rule,model,size,check", COVERAGE_CASES,
                         ids=[c[0] for c in COVERAGE_CASES])
def test_coverage_rule(rule, model, size, check):
    c = coverage(model, size, counts=True)
    assert check(c), c


@pytest.mark.parametrize("fn,why", [
    (lambda x, conv: torch.roll(conv(x), 1, 3), "roll"),
    (lambda x, conv: conv(x).flatten(2), "reshapes the spatial"),
    (lambda x, conv: conv(x).mean(-1), "reduces the spatial"),
    (lambda x, conv: F.group_norm(conv(x), 1), "mixes spatial"),
], ids=["roll", "flatten", "mean", "group_norm"])
def test_coverage_refuses(fn, why):
    with pytest.raises(ValueError, match=why):
        coverage(Fn(fn, nn.Conv2d(1, 2, 3)), 7)


def test_every_coverage_rule_is_exercised(monkeypatch):
    called = set()
    original = Rule.__call__

    def spy(self, *args, **kwargs):
        called.add(id(self))
        return original(self, *args, **kwargs)
    monkeypatch.setattr(Rule, "__call__", spy)
    for _, model, size, _ in COVERAGE_CASES:
        coverage(model, size)
    with pytest.raises(ValueError):
        coverage(Fn(lambda x, conv: torch.roll(conv(x), 1, 3), nn.Conv2d(1, 2, 3)), 7)
    missing = [r.fn.__name__ for r in COVERAGE_RULES.rules() if id(r) not in called]
    assert not missing, missing
