"""The tracing core (cnnbook_lib.tracing): the registry, the copier, the module-stack hooks and
the two recorders, each checked against what torch itself does."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnbook_lib.tracing import (ModuleStack, OpRecorder, Registry, StopTrace, TensorFollower,
                                 copy_model, on_meta, op_key, op_name)

aten = torch.ops.aten

# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def test_a_second_rule_for_a_key_is_refused():
    reg = Registry("test", flags={"counts_macs": False}, key=op_key)
    reg.register("mm", counts_macs=True)(lambda *a: 1)
    with pytest.raises(ValueError, match="'mm' already has a rule"):
        reg.register("mm")(lambda *a: 2)
    with pytest.raises(ValueError, match="already has a rule"):       # by another spelling
        reg.register(aten.mm)(lambda *a: 2)
    with pytest.raises(ValueError, match="already has a rule"):       # nothing half-registered
        reg.register("bmm", "mm")(lambda *a: 2)
    assert "bmm" not in reg and reg["mm"]() == 1 and reg["mm"].counts_macs


def test_the_same_key_twice_in_one_registration_is_one_key():
    reg = Registry("test", key=op_key)
    reg.register("relu", "relu_", aten.relu)(lambda: None)
    assert list(reg) == [aten.relu] and len(reg.rules()) == 1


def test_unregister_frees_the_key():
    reg = Registry("test")
    reg.register("a")(str)
    reg.unregister("a")
    reg.register("a")(repr)
    assert reg["a"].fn is repr
    with pytest.raises(KeyError):
        reg.unregister("b")


def test_flags_and_rules_are_checked():
    reg = Registry("test", flags={"free": False})
    with pytest.raises(TypeError, match="no flag 'fre'"):
        reg.register("a", fre=True)
    with pytest.raises(TypeError, match="must be callable"):
        reg.register("a")("not a function")
    with pytest.raises(TypeError, match="at least one key"):
        reg.register()
    reg.register("a")(len)
    assert reg["a"].free is False
    with pytest.raises(AttributeError):
        reg["a"].counts_macs


def test_lookup_normalizes_overloads_and_in_place_ops():
    reg = Registry("test", key=op_key)
    reg.register("add")(len)
    assert reg.lookup(aten.add.Tensor) is reg.lookup(aten.add_.Scalar) is reg.lookup("add_")
    assert reg.lookup(aten.mul.Tensor) is None and reg.lookup([1]) is None
    assert op_name(aten.relu_.default) == "relu" and op_name(aten.__and__.Tensor) == "__and__"


@pytest.mark.parametrize("bad,error", [("", ValueError), ("no_such_op", ValueError),
                                       ("mm mm", ValueError), (3, TypeError), (None, TypeError)])
def test_op_key_refuses_what_is_not_an_op(bad, error):
    with pytest.raises(error):
        op_key(bad)


# ---------------------------------------------------------------------------------------------
# The copier
# ---------------------------------------------------------------------------------------------


class _Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.b.weight = self.a.weight                       # tied
        self.register_buffer("scale", torch.ones(4))
        self.table = torch.arange(4)                        # a plain tensor attribute
        self.helpers = [nn.Linear(4, 2)]                    # a module outside the tree

    def forward(self, x):
        return self.helpers[0](self.b(self.a(x)) * self.scale + self.table)


def test_copy_shares_nothing_and_keeps_ties():
    model = _Holder()
    model.a.weight.requires_grad_(False)
    copy, back = copy_model(model, lambda t, name: on_meta(t, torch.float16))
    assert copy is not model and copy.a is not model.a
    assert copy.a.weight is copy.b.weight and isinstance(copy.a.weight, nn.Parameter)
    assert copy.a.weight.device.type == "meta" and copy.a.weight.dtype == torch.float16
    assert copy.a.weight.requires_grad is False and copy.a.bias.requires_grad is True
    assert copy.table.device.type == "meta" and copy.table.dtype == torch.int64
    assert copy.helpers is not model.helpers and copy.helpers[0] is not model.helpers[0]
    assert copy.helpers[0].weight.device.type == "meta"
    originals = {id(t) for t in list(model.parameters()) + list(model.buffers())}
    assert set(back.values()) == originals and len(back) == len(originals)
    y = copy(torch.empty(2, 4, device="meta", dtype=torch.float16))
    assert y.shape == (2, 2) and model.a.weight.device.type == "cpu"


def test_copy_on_a_real_device_copies_values_and_can_freeze():
    model = _Holder()
    copy, _ = copy_model(model, lambda t, name: t.detach().clone(), requires_grad=False)
    x = torch.randn(3, 4)
    assert torch.equal(copy(x), model(x))
    assert not any(p.requires_grad for p in copy.parameters())
    with torch.no_grad():
        copy.a.weight.zero_()
    assert model.a.weight.abs().sum() > 0


def test_copy_keeps_hooks_and_rnn_weights():
    rnn = nn.LSTM(3, 5)
    seen = []
    rnn.register_forward_hook(lambda m, a, out: seen.append(m))
    copy, _ = copy_model(rnn, lambda t, name: on_meta(t))
    out, _ = copy(torch.empty(7, 2, 3, device="meta"))
    assert out.shape == (7, 2, 5) and seen == [copy]
    assert all(w.device.type == "meta" for w in copy._flat_weights)


# ---------------------------------------------------------------------------------------------
# The module stack
# ---------------------------------------------------------------------------------------------


def test_module_stack_names_the_innermost_call():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    inner = []
    model[1][0].register_forward_hook(lambda m, a, out: inner.append(list(stack.frames)))
    with ModuleStack(model) as stack:
        model(torch.ones(1, 2))
        assert stack.frames == []
    assert inner == [["<model>", "1", "1.0"]]
    assert not model._forward_hooks and not model[0]._forward_pre_hooks    # removed


def test_module_stack_frames_and_leave_see_every_call():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    shared = nn.ReLU()
    net = nn.Sequential(model, shared, shared)
    left = []
    with ModuleStack(net, enter=lambda m, a, k: type(m).__name__,
                     leave=lambda frame, m, a, k, out: left.append((frame, tuple(out.shape)))):
        net(torch.ones(4, 2))
    assert left == [("Linear", (4, 3)), ("ReLU", (4, 3)), ("Sequential", (4, 3)),
                    ("ReLU", (4, 3)), ("ReLU", (4, 3)), ("Sequential", (4, 3))]


def test_module_stack_unwinds_a_failing_call():
    class Bad(nn.Module):
        def forward(self, x):
            raise RuntimeError("no")
    net = nn.Sequential(nn.Identity(), Bad())
    with ModuleStack(net) as stack:
        with pytest.raises(RuntimeError):
            net(torch.ones(1))
        assert stack.frames == []


# ---------------------------------------------------------------------------------------------
# The recorders
# ---------------------------------------------------------------------------------------------


def test_op_recorder_sees_lowered_ops_and_can_replace_kernels():
    seen = []

    def replace(func, args, kwargs):
        return torch.zeros(args[0].shape) if func is aten.relu.default else None
    with OpRecorder(lambda func, a, k, out: seen.append(op_name(func)), replace):
        y = F.relu(F.linear(torch.ones(2, 3), torch.ones(4, 3)))
    assert "mm" in seen and seen[-1] == "relu" and y.abs().sum() == 0


class _Counting(TensorFollower):
    untracked = frozenset({torch.zeros_like})

    def follow(self, func, args, kwargs, tracked, outs):
        for t in outs:
            self.put(t, max(n for _, n in tracked) + 1)


def test_tensor_follower_numbers_the_ops_on_followed_tensors():
    x, w = torch.ones(3), torch.full((3,), 2.0)
    follower = _Counting()
    follower.put(x, 0)
    with follower:
        y = (x * w).relu()          # two followed ops
        z = torch.zeros_like(y)     # followed input, untracked output
        u = w + 1                   # not followed
    assert follower.count == 3 and follower.get(y) == 2
    assert follower.get(z) is None and follower.get(u) is None
    assert follower.uses[id(w)] == 0


def test_tensor_follower_stops_before_the_given_op():
    x = torch.ones(3)
    follower = _Counting(stop=1)
    follower.put(x, 0)
    with pytest.raises(StopTrace, match="relu"):
        with follower:
            (x + 1).relu()
