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
])
def test_bad_arguments_are_explained(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training_step_memory(**kwargs)


def test_a_failing_step_reports_the_error():
    with pytest.raises(RuntimeError, match="failed"):
        training_step_memory("alexnet", (1, 3, 8, 8))      # too small for AlexNet's first layer
