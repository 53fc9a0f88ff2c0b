"""Exercise checks: right answers agree with torch, every listed mistake is caught with its hint,
and no mistake coincides with the right answer (which would make a hint unreachable)."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import exercises
from cnnbook_lib.exercises import CHECKS, check, list_checks


@pytest.mark.parametrize("exercise_id", sorted(CHECKS))
def test_right_answer_passes_and_mistakes_get_their_hint(exercise_id):
    c = CHECKS[exercise_id]
    right = c.expected()
    assert check(exercise_id, right).correct
    wrongs = [wrong() for wrong in c.mistakes.values()]
    assert len(set(wrongs)) == len(wrongs), "two mistakes give the same value"
    for (hint, _), wrong in zip(c.mistakes.items(), wrongs):
        assert wrong != right, f"mistake '{hint}' equals the right answer"
        result = check(exercise_id, wrong)
        assert not result.correct and hint in result.message
    assert not check(exercise_id, right + 12345).correct


def test_answers_agree_with_torch():
    conv = torch.nn.Conv2d(64, 128, 3, padding=1)
    assert check("conv-params-1", sum(p.numel() for p in conv.parameters()))
    x = torch.empty(32, 64, 56, 56, device="meta")
    with FlopCounterMode(display=False) as counter:
        conv.to("meta")(x)
    assert check("conv-macs-1", counter.get_total_flops() // 2)
    y = torch.nn.functional.conv2d(torch.empty(1, 3, 227, 227, device="meta"),
                                   torch.empty(96, 3, 11, 11, device="meta"), stride=4)
    assert check("conv-out-size-1", y.shape[-1])


def test_bad_input():
    assert not check("conv-params-1", "many")
    assert "number" in str(check("conv-params-1", None))
    assert not check("conv-params-1", float("nan"))
    with pytest.raises(ValueError, match="unknown exercise id 'nope'; valid: "):
        check("nope", 1)
    with pytest.raises(ValueError, match="already registered"):
        exercises.register(CHECKS["conv-params-1"])


def test_list_checks():
    rows = list_checks()
    assert {r["id"] for r in rows} == set(CHECKS)
    assert all(r["difficulty"] in ("easy", "medium", "hard") for r in rows)
    assert all(r["chapter"] == 1 for r in list_checks(1))
    assert check("conv-params-1", 1)._repr_html_().startswith("<p")
