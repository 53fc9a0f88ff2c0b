"""Measured memory of a training step (cnnbook_lib.bench.memory), against numel() and the
optimizers' documented state (Adam: two moments per parameter; SGD with momentum: one)."""
from __future__ import annotations

import pytest
import torch

from cnnbook_lib import architectures
from cnnbook_lib.bench.memory import training_step_memory


def _weights_bytes(name: str) -> int:
    with torch.device("meta"):
        model = architectures.build(name)
    return sum(p.numel() * 4 for p in model.parameters())


@pytest.mark.parametrize("optimizer, states", [("adam", 2), ("sgd_momentum", 1), ("sgd", 0)])
def test_weights_gradients_and_optimizer_state(optimizer, states):
    m = training_step_memory("lenet5", (2, 1, 32, 32), optimizer=optimizer)
    w = _weights_bytes("lenet5")
    assert m["weights_bytes"] == m["gradients_bytes"] == w
    assert m["optimizer_state_bytes"] == states * w
    assert m["peak_rss_delta_bytes"] >= 0


def test_saved_activations_grow_with_the_batch():
    one, four = (training_step_memory("lenet5", (b, 1, 32, 32), optimizer="sgd")["saved_bytes"]
                 for b in (1, 4))
    assert one > 0
    assert four == pytest.approx(4 * one, rel=0.02)


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="nonet", shape=(1, 3, 8, 8)), "unknown network"),
    (dict(name="lenet5", shape=(1, 1, 32)), "shape"),
    (dict(name="lenet5", shape=(0, 1, 32, 32)), "shape"),
    (dict(name="lenet5", shape=(1, 1, 32, 32), optimizer="lamb"), "optimizer"),
    (dict(name="lenet5", shape=(1, 1, 32, 32), device="tpu"), "device"),
    (dict(name="lenet5", shape=(1, 1, 32, 32), autocast="float8"), "autocast"),
])
def test_bad_arguments_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training_step_memory(**kwargs)


def test_a_failing_step_reports_the_error():
    with pytest.raises(RuntimeError, match="failed"):
        training_step_memory("alexnet", (1, 3, 8, 8))      # too small for AlexNet's first layer


@pytest.mark.parametrize("name, shape", [("resnet18", (2, 3, 64, 64)), ("mobilenet_v2", (2, 3, 64, 64))])
def test_mixed_precision_step_against_the_formula(name, shape):
    """A real CPU training step under torch.autocast (bfloat16), measured with saved-tensor hooks,
    against analysis.mixed_precision_memory: the parameters, their gradients and Adam's state stay
    float32 (exactly), and what autograd saves is the half-precision activations plus the half
    copies of the convolution and linear weights (within 5%: a few small tensors, such as batch
    norm's per-channel statistics, stay float32 under CPU autocast)."""
    from cnnbook_lib import analysis
    m = training_step_memory(name, shape, optimizer="adam", autocast="bfloat16")
    with torch.device("meta"):
        model = architectures.build(name)
    f = analysis.mixed_precision_memory(model, shape, optimizer="adam", half="bfloat16")
    w = _weights_bytes(name)
    assert m["weights_bytes"] == m["gradients_bytes"] == f["weights"] == f["gradients"] == w
    assert m["optimizer_state_bytes"] == f["optimizer_state"] == 2 * w
    predicted = f["half_weight_copies"] + f["activations"]
    assert m["saved_bytes"] == pytest.approx(predicted, rel=0.05)
    # and not what halving everything would predict (the first edition's calculator)
    halved = analysis.summarize(model, shape, dtype="bfloat16", training=True)
    assert m["weights_bytes"] == 2 * halved.training_memory()["weights"]
    assert abs(m["saved_bytes"] - halved.saved_activation_bytes) > 0.05 * m["saved_bytes"]


def test_mixed_precision_refuses_what_it_cannot_price():
    from cnnbook_lib import analysis
    net = torch.nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match="half must be one of"):
        analysis.mixed_precision_memory(net, (1, 3, 8, 8), half="float32")
    with pytest.raises(ValueError, match="optimizer"):
        analysis.mixed_precision_memory(net, (1, 3, 8, 8), optimizer="lamb")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        analysis.autocast_weight_elements("resnet18")
    # the conv's 108 weights are cast; its bias is not kept, and a shared weight counts once
    assert analysis.autocast_weight_elements(net) == 4 * 3 * 3 * 3
    shared = torch.nn.Sequential(net, torch.nn.ReLU(), net)
    assert analysis.autocast_weight_elements(shared) == 108
    mha = torch.nn.MultiheadAttention(8, 2)
    assert analysis.autocast_weight_elements(mha) == 3 * 8 * 8 + 8 * 8
