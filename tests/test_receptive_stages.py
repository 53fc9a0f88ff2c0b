"""Tests of cnnbook_lib.receptive.stages: the field at the end of each stage, the network cut there.

Oracles: autograd (the theoretical-support measurement of ``gradient_receptive_field`` on the cut
network), torch's own intermediate outputs (forward hooks), hand-derived fields, and the table of
Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019
(github.com/google-research/receptive_field, RECEPTIVE_FIELD_TABLE.md: VGG-16 at 224 pixels,
conv1_2 ... pool5).

``test_every_stage_of_every_network_against_the_gradient`` confirms the stages that section 2.6
does not measure when the book is built (fields wider than its limit); it is slow (minutes for the
deepest networks), runs one network per parameter, and is left to ``make test-all``;
``make test`` measures one network of each family.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnbook_lib import architectures, receptive
from cnnbook_lib.architectures import Residual
from cnnbook_lib.architectures import input_size
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


#: The families of the registry (a name belongs to the family of the longest prefix it has) and
#: the network of each that make test measures: its member with the fewest multiply-accumulates
#: (AlexNet's for ZFNet, GoogLeNet's for Inception v3, ResNet-18's for ResNeXt, as the book groups
#: them). test_every_stage_of_every_network_against_the_gradient (slow: make test-all) measures
#: every network. The ViT family's field is global from the first attention on; its
#: gradient check is test_architectures.test_vit_attention_field_is_global_by_the_gradient, on a
#: small network of the same class.
FAMILIES = {"lenet": "lenet5", "alexnet": "alexnet", "zfnet": "alexnet", "vgg": "vgg11",
            "googlenet": "googlenet", "inception": "googlenet", "resnet": "resnet18",
            "resnext": "resnet18", "squeezenet": "squeezenet1_1", "xception": "xception",
            "mobilenet": "mobilenet_v2", "shufflenet": "shufflenet_v2_x0_5",
            "efficientnet": "efficientnet_b0", "vit": None, "convnext": "convnext_tiny",
            "densenet": "densenet121", "se_resnet": "se_resnet50", "regnet": "regnet_y_400mf"}
SAMPLE = sorted({name for name in FAMILIES.values() if name})


def _family(name: str) -> str:
    prefixes = [f for f in FAMILIES if name.startswith(f)]
    assert prefixes, f"{name} belongs to no family of FAMILIES: add its family and sample"
    return max(prefixes, key=len)


def _measure(model, channels: int, n: int):
    """The gradient measurement on a strip n pixels tall and as narrow as the model runs at (the
    cheapest input that leaves the first axis unclipped)."""
    for width in (8, 16, 32, 64, 128, 256, n):
        try:
            return receptive.gradient_receptive_field(model, (1, channels, n, width),
                                                      erf_samples=0)
        except ValueError as error:
            if "does not run" not in str(error):
                raise
    raise AssertionError(f"the model runs on no strip {n} pixels tall")


def _check_stages(name: str, max_height: int | None = None) -> int:
    """Every stage of ``name`` with a field wider than the page's limit, measured along the first
    axis on a strip (the other axis narrow and clipped, which the first axis's field does not
    see), if the strip is at most ``max_height`` pixels tall; a global field, on the whole
    network at 64 x 64 pixels. Returns the number of measurements."""
    model, rf = _traced(name)
    model = model.to_empty(device="cpu")
    channels = input_size(name)[1]
    if rf.is_global:                    # at a small input, where it is global too
        size = (1, channels, 64, 64)
        g = receptive.gradient_receptive_field(model, size, erf_samples=0)
        at = receptive.receptive_field(model, size)
        assert at.is_global and g.support.all() and g.axes == at.axes, name
        return 1
    count = 0
    for layer in stages.stages(rf):
        if max(a.size for a in layer.axes) <= PAGE_LIMIT:
            continue
        cut = stages.cut(model, layer.name)
        # The size comes from the trace, but cannot hide an error of it: a field the trace
        # underestimates leaves the measured one cut off by the border, which autograd itself
        # reports (clipped_hw, asserted below), so the comparison is always with a whole field.
        n = receptive.unclipped_input_size(cut)[2]
        if max_height is not None and n > max_height:
            continue
        g = _measure(cut, channels, n)
        assert not g.clipped_hw[0], (name, layer.name)
        assert g.axes[0] == layer.axes[0], (name, layer.name, g.axes[0], layer.axes[0])
        count += 1
    return count


def test_the_sample_covers_every_family():
    """Every network of the registry belongs to a family of FAMILIES (so the sample measures a
    network of its family), and every sample is a network of the registry."""
    names = architectures.names()
    for name in names:
        _family(name)
    assert set(SAMPLE) <= set(names)


#: The tallest strip of the sample: the deepest stages of Xception and ConvNeXt-T (fields of
#: 923 to 1688 pixels) take a minute each and are left to the test of every network.
SAMPLE_HEIGHT = 600


@pytest.mark.parametrize("name", SAMPLE)
def test_every_stage_of_a_sample_of_networks_against_the_gradient(name):
    """make test's share of the test below: one network per family, its stages on strips of at
    most SAMPLE_HEIGHT pixels (at least one stage each)."""
    assert _check_stages(name, SAMPLE_HEIGHT) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("name", architectures.names())
def test_every_stage_of_every_network_against_the_gradient(name):
    """Every network, as the sample above."""
    if name == "vit_b_16":
        pytest.skip("vit_b_16: global from its first attention; measured on a small ViT in "
                    "test_architectures")
    assert _check_stages(name) >= 1
