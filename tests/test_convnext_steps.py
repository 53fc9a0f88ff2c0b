"""Tests of cnnbook_lib.architectures.convnext_steps: the networks between ResNet-50 and
ConvNeXt-T, against the paper's reported cost of each step and against the library's own
ResNet-50 and ConvNeXt-T.

Source of the reported figures: Liu, Mao, Wu, Feichtenhofer, Darrell & Xie, "A ConvNet for the
2020s", CVPR 2022, arXiv:2201.03545v2: Appendix C, Table 10 ("Detailed results for modernizing a
ResNet-50", page 13: top-1 mean and standard deviation over three seeds, GFLOPs to two decimals);
Section 2 (pages 3-5: the same accuracies to one decimal, in the text); Table 9 (page 13:
ResNet-50 25.6 x 10^6 and ConvNeXt-T 28.6 x 10^6 parameters). The paper's "FLOPs" are
multiply-adds. It prints no parameter count for any intermediate step: those counts are ours only
and are not compared with anything published. Counted here with torch's FlopCounterMode on the
meta device (MACs = FLOPs / 2), an oracle independent of the builders.
"""
from __future__ import annotations

import hashlib
import json

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import architectures as A
from cnnbook_lib.architectures import convnext_steps as S

#: torchvision 0.29.1 ``resnet50(weights=None)`` at 1x3x224x224: parameters and MACs (the
#: reference of tests/test_architectures.py, recorded there with its environment).
TORCHVISION_RESNET50 = (25_557_032, 4_089_184_256)
#: Section 2 of the paper (pages 3-5), the accuracy after each step as the text states it.
SECTION_2_TEXT = {"resnet50_original": 76.1, "resnet50": 78.8, "stage_ratio": 79.4,
                  "patchify_stem": 79.5, "wider": 80.5, "inverted": 80.6,
                  "move_up_depthwise": 79.9, "kernel_7": 80.6, "gelu": 80.6,
                  "fewer_activations": 81.3, "fewer_norms": 81.4, "layer_norm": 81.5,
                  "separate_downsampling": 82.0}
#: Table 9 (page 13): parameters of the two ends, in millions, as printed.
TABLE_9_PARAMS = {"resnet50": 25.6, "separate_downsampling": 28.6}


def counts(model: nn.Module) -> tuple[int, int]:
    """(parameters by numel(), MACs by FlopCounterMode) for one 224 x 224 image, meta device."""
    model = model.eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def meta_step(step: str, **kw) -> nn.Module:
    with torch.device("meta"):
        return S.convnext_step(step, **kw)


@pytest.fixture(scope="module")
def step_counts() -> dict[str, tuple[int, int]]:
    out = {s: counts(meta_step(s)) for s in S.STEPS}
    for k in (5, 9, 11):
        out[f"kernel_{k}"] = counts(meta_step("kernel_7", kernel=k))
    return out


def shapes_hash(model: nn.Module) -> str:
    shapes = [list(t.shape) for t in model.state_dict().values()]
    return hashlib.sha256(json.dumps(shapes).encode()).hexdigest()[:16]


def test_steps_are_the_papers_in_order():
    assert S.STEPS[0] == "resnet50" and S.STEPS[-1] == "separate_downsampling"
    assert set(S.STEPS) <= set(S.PAPER_TABLE_10) and set(S.STEPS) == set(S.STEP_TITLES)
    assert list(S.STEPS) == [k for k in S.PAPER_TABLE_10 if k in S.STEPS]


def test_table_10_agrees_with_the_text_of_section_2():
    # the same experiments printed twice in the paper: Table 10 to two decimals, Section 2 to one
    for step, text in SECTION_2_TEXT.items():
        assert round(S.PAPER_TABLE_10[step][0], 1) == pytest.approx(text), step


def test_generic_builder_with_resnet50s_design_is_torchvisions_resnet50():
    with torch.device("meta"):
        generic = S.build_config(S.StepConfig())
        library = A.resnet(50)
    assert counts(generic) == TORCHVISION_RESNET50
    assert shapes_hash(generic) == shapes_hash(library)
    assert counts(meta_step("resnet50")) == TORCHVISION_RESNET50


def test_last_step_is_convnext_tiny_exactly():
    with torch.device("meta"):
        tiny = A.build("convnext_tiny")
    last = meta_step("separate_downsampling")
    assert counts(last) == counts(tiny)
    assert shapes_hash(last) == shapes_hash(tiny)


@pytest.mark.parametrize("step", [s for s in S.STEPS if s not in ("layer_norm",
                                                                   "separate_downsampling")]
                         + ["kernel_5", "kernel_9", "kernel_11"])
def test_each_steps_macs_round_to_table_10(step, step_counts):
    # Table 10 prints GFLOPs (multiply-adds) to two decimals: ours must round to the same figure
    macs = step_counts[step][1]
    assert round(macs / 1e9, 2) == pytest.approx(S.PAPER_TABLE_10[step][2]), (step, macs)


def test_batch_norm_to_layer_norm_row_is_not_a_multiply_accumulate_change(step_counts):
    # Table 10 prints 4.46 G for "BN -> LN" after 4.15 G for "fewer norms". A normalization has
    # no products: swapping one for the other leaves the MACs (and, 2 per channel either way, the
    # parameters) unchanged. The paper does not explain its 0.31 G jump; the book reports it as
    # printed and this test records that our count does not reproduce it.
    assert step_counts["layer_norm"] == step_counts["fewer_norms"]
    assert round(step_counts["layer_norm"][1] / 1e9, 2) != S.PAPER_TABLE_10["layer_norm"][2]


def test_convnext_tiny_cost_against_tables_9_and_10(step_counts):
    # Table 10: 4.49 G; Table 1 and 9: 4.5 G; torch counts 4.456 G products of convolutions and
    # dense layers. The paper's counter is not documented; the gap is under 1 %.
    macs = step_counts["separate_downsampling"][1]
    assert abs(macs / 1e9 - S.PAPER_TABLE_10["separate_downsampling"][2]) / 4.49 < 0.01
    assert round(macs / 1e9, 1) == 4.5


@pytest.mark.parametrize("step", list(TABLE_9_PARAMS))
def test_end_parameters_round_to_table_9(step, step_counts):
    assert round(step_counts[step][0] / 1e6, 1) == TABLE_9_PARAMS[step]


def _modules(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


def test_each_step_changes_what_it_says():
    nets = {s: meta_step(s) for s in S.STEPS}
    stages = lambda m: [len(b) for b in m if isinstance(b, nn.Sequential)
                        and len(b) and isinstance(b[0], S.StepBlock)]
    assert stages(nets["stage_ratio"]) == [3, 3, 9, 3]
    stem = nets["patchify_stem"][0][0]
    assert (stem.kernel_size, stem.stride) == ((4, 4), (4, 4))
    assert not _modules(nets["patchify_stem"], nn.MaxPool2d)
    # depthwise: every 3x3 has one input channel per group
    dw = [c for c in _modules(nets["depthwise"], nn.Conv2d) if c.kernel_size == (3, 3)]
    assert dw and all(c.in_channels == c.groups for c in dw)
    assert nets["wider"][0][0].out_channels == 96
    # inverted: the blocks' outputs are 96 ... 768, their hidden layers four times wider
    outs = [b.body[-2].out_channels for b in _modules(nets["inverted"], S.StepBlock)]
    assert sorted(set(outs)) == [96, 192, 384, 768]
    # moved up: the first convolution of every block is the depthwise one
    assert all(b.body[0].groups == b.body[0].in_channels
               for b in _modules(nets["move_up_depthwise"], S.StepBlock))
    assert all(b.body[0].kernel_size == (7, 7) for b in _modules(nets["kernel_7"], S.StepBlock))
    assert not _modules(nets["gelu"], nn.ReLU) and _modules(nets["gelu"], nn.GELU)
    blocks = _modules(nets["fewer_activations"], S.StepBlock)
    assert all(len(_modules(b.body, nn.GELU)) == 1 and isinstance(b.act, nn.Identity)
               for b in blocks)
    assert all(len(_modules(b.body, nn.BatchNorm2d)) == 1
               for b in _modules(nets["fewer_norms"], S.StepBlock))
    assert not _modules(nets["layer_norm"], nn.BatchNorm2d)


@pytest.mark.parametrize("step", ["patchify_stem", "inverted", "layer_norm"])
def test_intermediate_steps_run_and_learn(step):
    torch.manual_seed(0)
    model = S.convnext_step(step, num_classes=5)
    x, y = torch.randn(2, 3, 64, 64), torch.tensor([1, 3])
    out = model(x)
    assert out.shape == (2, 5)
    nn.functional.cross_entropy(out, y).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_bad_arguments():
    with pytest.raises(ValueError):
        S.convnext_step("nonsense")
    with pytest.raises(ValueError):
        S.convnext_step("inverted", kernel=7)
    with pytest.raises(ValueError):
        S.convnext_step("resnet50", kernel=7)
    with pytest.raises(ValueError):
        S.convnext_step("separate_downsampling", kernel=5)
