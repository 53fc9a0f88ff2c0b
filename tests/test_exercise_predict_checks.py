"""Chapter 1's predict-then-check answers against torch's FLOP counter (an oracle independent of
the library's formulas)."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib.exercises import check


def _forward_flops(layer, shape):
    with FlopCounterMode(display=False) as counter:
        layer.to("meta")(torch.empty(*shape, device="meta"))
    return counter.get_total_flops()


def test_wider_lenet_second_conv():
    macs = _forward_flops(torch.nn.Conv2d(12, 16, 5), (1, 12, 14, 14)) // 2
    assert check("predict-lenet-wider-1", macs).correct
    narrow = _forward_flops(torch.nn.Conv2d(6, 16, 5), (1, 6, 14, 14)) // 2
    assert macs == 2 * narrow          # the prediction the exercise asks for first


def test_training_step_factor():
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False)
    x = torch.randn(1, 64, 32, 32, requires_grad=True)   # not a first layer: input gradient too
    with FlopCounterMode(display=False) as counter:
        y = conv(x)
        forward = counter.get_total_flops()
        y.sum().backward()
    factor = counter.get_total_flops() / forward
    assert factor == pytest.approx(3)
    assert check("predict-train-step-1", factor).correct


def test_doubling_both_channel_counts():
    small = _forward_flops(torch.nn.Conv2d(64, 64, 3, padding=1), (1, 64, 56, 56))
    large = _forward_flops(torch.nn.Conv2d(128, 128, 3, padding=1), (1, 128, 56, 56))
    assert check("predict-double-channels-1", large / small).correct
