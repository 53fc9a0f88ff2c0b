"""Tests of cnnbook_lib.receptive.stages: the field at the end of each stage, the network cut there.

Oracles: autograd (the theoretical-support measurement of ``gradient_receptive_field`` on the cut
network), torch's own intermediate outputs (forward hooks), hand-derived fields, and the table of
Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019
(github.com/google-research/receptive_field, RECEPTIVE_FIELD_TABLE.md: VGG-16 at 224 pixels,
conv1_2 ... pool5).

``test_every_stage_of_every_network_against_the_gradient`` confirms the stages that section 2.6
does not measure when the book is built (fields wider than its limit); it is slow (minutes for the
deepest networks) and runs one network per parameter.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnbook_lib import architectures, receptive
from cnnbook_lib.architectures import Residual
from cnnbook_lib.interactives.architecture import input_size
from cnnbook_lib.receptive import stages

PAGE_LIMIT = 20          # section 2.6 measures the stages with fields up to this size itself


def _traced(name):
    with torch.device("meta"):
        model = architectures.build(name)
    return model, receptive.receptive_field(model, input_size(name))


def test_stages_of_a_plain_stack_by_hand():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1),
                        nn.MaxPool2d(2), nn.Conv2d(2, 2, 3, padding=1), nn.MaxPool2d(2))
    rf = receptive.receptive_field(net, 32)
    got = [(layer.name, layer.axes[0].size, layer.axes[0].jump) for layer in stages.stages(rf)]
    # 3, 5 at jump 1; pooling 6 at jump 2, conv 10 at jump 2; pooling 12 at jump 4
    assert got == [("1", 5, 1), ("3", 10, 2), ("4", 12, 4)]


def test_stage_of_a_residual_network_is_its_last_merge():
    body = lambda: nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU(),   # noqa: E731
                                 nn.Conv2d(2, 2, 3, padding=1))
    net = nn.Sequential(nn.Conv2d(1, 2, 1), Residual(body()), Residual(body()))
    (stage,) = stages.stages(receptive.receptive_field(net, 24))
    assert stage.axes[0].size == 9
    cut = stages.cut(net, stage.name)
    g = receptive.gradient_receptive_field(cut, 24, erf_samples=0)
    assert g.axes == stage.axes


def test_cut_returns_the_submodule_output():
    torch.manual_seed(0)
    net = architectures.build("resnet18").eval()
    seen = {}
    net.get_submodule("3.1").register_forward_hook(lambda m, a, out: seen.setdefault("y", out))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        net(x)
        y = stages.cut(net, "3.1")(x)
    assert torch.equal(y, seen["y"]) and y.shape == (1, 128, 8, 8)
    with pytest.raises(ValueError, match="no submodule"):
        stages.cut(net, "9.9")
    with pytest.raises(TypeError):
        stages.stages("not a field")


def test_vgg16_stages_against_the_published_table():
    """Distill's table: pool1 6/2, pool2 16/4, pool3 44/8, pool4 100/16, pool5 212/32 (effective
    padding 2, 6, 18, 42, 90). Our stages end at the last convolution before each pooling, so
    the published pool fields are the next stage's; pool5 is our last stage."""
    _, rf = _traced("vgg16")
    by_jump = {layer.axes[0].jump: layer for layer in stages.stages(rf)}
    last = by_jump[32].axes[0]
    assert (last.size, last.jump, last.padding) == (212, 32, 90)
    pools = [layer for layer in rf.layers if layer.op == "maxpool"]
    assert [(p.axes[0].size, p.axes[0].jump, p.axes[0].padding) for p in pools] == \
        [(6, 2, 2), (16, 4, 6), (44, 8, 18), (100, 16, 42), (212, 32, 90)]
    # each pooling is one pixel step of the previous stage's jump past that stage's field
    for pool in pools[:-1]:
        j = pool.axes[0].jump
        assert pool.axes[0].size == by_jump[j // 2].axes[0].size + j // 2


@pytest.mark.slow
@pytest.mark.parametrize("name", architectures.names())
def test_every_stage_of_every_network_against_the_gradient(name):
    """Every stage with a field wider than the page's limit, measured along the first axis on a
    strip (the other axis narrow and clipped, which the first axis's field does not see)."""
    model, rf = _traced(name)
    if rf.is_global:
        pytest.skip(f"{name}: the field is global (every unit sees the whole input)")
    model = model.to_empty(device="cpu")
    for layer in stages.stages(rf):
        if max(a.size for a in layer.axes) <= PAGE_LIMIT:
            continue
        cut = stages.cut(model, layer.name)
        n = receptive.unclipped_input_size(cut)[2]
        channels = input_size(name)[1]
        for width in (64, 128, 256, n):
            try:
                g = receptive.gradient_receptive_field(cut, (1, channels, n, width),
                                                       erf_samples=0)
                break
            except ValueError as error:
                if "does not run" not in str(error):
                    raise
        assert not g.clipped_hw[0], (name, layer.name)
        assert g.axes[0] == layer.axes[0], (name, layer.name, g.axes[0], layer.axes[0])
