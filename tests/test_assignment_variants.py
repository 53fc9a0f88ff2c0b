"""Assignment variants (cnnbook_lib.teaching.variants): with the book's numbers each gives its
check's answer; with drawn numbers it differs from the book's answer, and torch agrees with it."""
from __future__ import annotations

import pytest
import torch

from cnnbook_lib.exercises import CHECKS
from cnnbook_lib.teaching.variants import VARIANTS

SEEDS = ["a", "b", "term-2027", "0"]


@pytest.mark.parametrize("check_id", sorted(VARIANTS))
def test_variant_with_the_books_numbers_is_the_check(check_id):
    v = VARIANTS[check_id]
    assert check_id in CHECKS
    assert v.answer(v.book) == CHECKS[check_id].expected()
    # its mistakes are mistakes the book's check knows (same values with the book's numbers)
    known = {m() for m in CHECKS[check_id].mistakes.values()}
    assert set(v.mistakes(v.book).values()) <= known


@pytest.mark.parametrize("check_id", sorted(VARIANTS))
def test_drawn_numbers_differ_from_the_books_and_depend_on_the_seed(check_id):
    v = VARIANTS[check_id]
    drawn = [v.parameters(seed) for seed in SEEDS]
    assert drawn[0] == v.parameters(SEEDS[0])                     # reproducible
    book = CHECKS[check_id].expected()
    assert all(v.answer(p) != book for p in drawn)
    assert len({tuple(sorted(p.items())) for p in drawn}) > 1    # the seed matters
    for p in drawn:
        assert v.question(p) != CHECKS[check_id].question


def _torch_answer(check_id: str, p: dict):
    """An independent oracle: the shape or numel() torch gives for the variant's layer."""
    if check_id == "conv-out-size-1":
        return torch.nn.Conv2d(1, 1, p["k"], p["s"])(torch.zeros(1, 1, p["n"], p["n"])).shape[-1]
    if check_id == "conv-dilated-out-1":
        conv = torch.nn.Conv2d(1, 1, 3, 1, 1, dilation=p["d"])
        return conv(torch.zeros(1, 1, p["n"], p["n"])).shape[-1]
    if check_id == "pool-out-1":
        pool = torch.nn.MaxPool2d(p["k"], p["s"], ceil_mode=True)
        return pool(torch.zeros(1, 1, p["n"], p["n"])).shape[-1]
    if check_id == "transposed-out-1":
        conv = torch.nn.ConvTranspose2d(1, 1, p["k"], p["s"], p["p"])
        return conv(torch.zeros(1, 1, p["n"], p["n"])).shape[-1]
    if check_id == "conv-params-1":
        return sum(t.numel() for t in torch.nn.Conv2d(p["c_in"], p["c_out"], p["k"]).parameters())
    if check_id == "dense-params-1":
        layer = torch.nn.Linear(p["hw"] ** 2 * p["c_in"], p["hw"] ** 2 * p["c_out"], device="meta")
        return sum(t.numel() for t in layer.parameters())
    if check_id == "conv-activation-bytes-1":
        conv = torch.nn.Conv2d(p["c_in"], p["c_out"], 3, 1, 1, device="meta")
        out = conv(torch.zeros(p["batch"], p["c_in"], p["hw"], p["hw"], device="meta"))
        return out.numel() * out.element_size()
    if check_id == "im2col-bytes-1":
        x = torch.zeros(1, p["c_in"], p["hw"], p["hw"])
        cols = torch.nn.functional.unfold(x, 3, padding=1)
        return cols.numel() * cols.element_size()
    if check_id == "rf-stack-params-1":
        stack = torch.nn.Sequential(*[torch.nn.Conv2d(p["c"], p["c"], 3, bias=False, device="meta")
                                      for _ in range((p["k"] - 1) // 2)])
        x = torch.zeros(1, 1, p["k"], p["k"], requires_grad=True)   # one field: one output pixel
        probe = torch.nn.Sequential(*[torch.nn.Conv2d(1, 1, 3, bias=False)
                                      for _ in range((p["k"] - 1) // 2)])
        assert probe(x).shape[-1] == 1                              # the stack sees k x k
        return sum(t.numel() for t in stack.parameters())
    if check_id == "rf-eff-stride-1":
        # the jump: moving the input by one output step moves it by the product of the strides
        net = torch.nn.Sequential(*[torch.nn.Conv2d(1, 1, 3, p["s"], 1) for _ in range(p["layers"])])
        n = 2 * p["s"] ** p["layers"]
        return n // net(torch.zeros(1, 1, n, n)).shape[-1]
    if check_id == "conv-macs-1":
        from torch.utils.flop_counter import FlopCounterMode
        conv = torch.nn.Conv2d(p["c_in"], p["c_out"], 3, 1, 1, bias=False, device="meta")
        with FlopCounterMode(display=False) as counter:
            conv(torch.zeros(p["batch"], p["c_in"], p["hw"], p["hw"], device="meta"))
        return counter.get_total_flops() // 2
    raise KeyError(check_id)


# the receptive-field recurrence of rf-cover-layers-1 and rf-eff-padding-1 is checked against
# gradients in tests/test_receptive*.py; here they are tied to the book's checks only
TORCH_ORACLE = sorted(set(VARIANTS) - {"rf-cover-layers-1", "rf-eff-padding-1"})


@pytest.mark.parametrize("check_id", TORCH_ORACLE)
def test_variant_answer_agrees_with_torch(check_id):
    v = VARIANTS[check_id]
    for p in [v.book, v.parameters(SEEDS[0]), v.parameters(SEEDS[1])]:
        assert v.answer(p) == _torch_answer(check_id, p), p
