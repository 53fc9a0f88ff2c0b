"""A rounded answer to a large exact count is told to give the exact integer, not a generic
"Not quite"; the expected values come from torch, not from the library's formulas."""
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib.exercises import check


def _conv_macs_1() -> int:
    # the layer of "conv-macs-1": 3x3, 64 -> 128 channels, padding 1, 56x56 input, batch 32
    layer = torch.nn.Conv2d(64, 128, 3, padding=1, device="meta")
    with FlopCounterMode(display=False) as counter:
        layer(torch.empty(32, 64, 56, 56, device="meta"))
    return counter.get_total_flops() // 2


def test_exact_integer_is_correct():
    assert check("conv-macs-1", f"{_conv_macs_1():,}").correct


def test_rounded_large_count_asks_for_the_exact_integer():
    macs = _conv_macs_1()
    for rounded in (float(f"{macs:.1e}"), float(f"{macs:.3e}"), macs + 1):
        result = check("conv-macs-1", rounded)
        assert not result.correct
        assert "exact integer" in result.message


def test_a_known_mistake_keeps_its_own_hint():
    # twice the MACs is the FLOP count: the mistake's hint, not the rounding one
    result = check("conv-macs-1", 2 * _conv_macs_1())
    assert not result.correct and "FLOP" in result.message


def test_far_answers_and_small_counts_get_no_rounding_hint():
    assert "exact integer" not in check("conv-macs-1", _conv_macs_1() / 3).message
    # an output width of 55 is a small count: 54.9 is just wrong, not "rounded"
    width = torch.nn.functional.conv2d(torch.empty(1, 1, 227, 227, device="meta"),
                                       torch.empty(1, 1, 11, 11, device="meta"), stride=4).shape[-1]
    assert "exact integer" not in check("conv-out-size-1", width - 0.1).message
