"""The squeeze-and-excitation exercise of chapter 3 against torch: numel() of the library's block
and of torch's own dense layers, and torch's FLOP counter for its MACs."""
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import architectures
from cnnbook_lib.exercises import CHECKS, check
from cnnbook_lib.exercises.ch3 import SE_BLOCK


def test_se_params_against_numel():
    c, r = SE_BLOCK["channels"], SE_BLOCK["reduction"]
    block = architectures.SqueezeExcitation(c, c // r, act=torch.nn.ReLU)
    numel = sum(p.numel() for p in block.parameters())
    dense = torch.nn.Sequential(torch.nn.Linear(c, c // r), torch.nn.ReLU(), torch.nn.Linear(c // r, c))
    assert numel == sum(p.numel() for p in dense.parameters())
    assert check("se-params-1", numel)
    assert CHECKS["se-params-1"].expected() == numel
    assert not check("se-params-1", sum(p.numel() for p in dense[0].parameters())).correct


def test_se_macs_do_not_grow_with_the_map():
    """The dense layers' FLOPs (2 per MAC) are 2 * 2 C^2 / r whatever the map size."""
    c, r = SE_BLOCK["channels"], SE_BLOCK["reduction"]
    block = architectures.SqueezeExcitation(c, c // r, act=torch.nn.ReLU).to("meta")
    counts = []
    for hw in (7, 14, 28):
        with FlopCounterMode(display=False) as counter:
            block(torch.empty(1, c, hw, hw, device="meta"))
        counts.append(counter.get_total_flops())
    assert counts == [2 * 2 * c * (c // r)] * 3
