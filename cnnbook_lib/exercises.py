"""Automatic answer checks for the book's exercises.

Each numeric exercise registers one :class:`Check`: the right answer, computed by the library (never
typed in), and the wrong answers that typical mistakes produce, each with a hint. A student calls

>>> from cnnbook_lib.exercises import check
>>> check("conv-out-size-1", 55)                     # doctest: +SKIP
Correct: 55.

and an instructor lists every check with :func:`list_checks`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from . import formulas as F


@dataclass
class Result:
    """Outcome of a check: ``correct`` and a message for the student."""

    exercise_id: str
    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.correct else "#b42318"
        return f'<p style="color:{colour}"><strong>{self.message}</strong></p>'


@dataclass
class Check:
    """One exercise's answer check."""

    id: str
    chapter: int
    difficulty: str                   # "easy", "medium" or "hard"
    question: str
    answer: Callable[[], float]       # the right answer, computed by the library
    mistakes: dict[str, Callable[[], float]] = field(default_factory=dict)   # hint -> wrong answer
    rel_tol: float = 0.0              # 0: exact integer answer
    unit: str = ""

    def expected(self) -> float:
        return self.answer()

    def _matches(self, value: float, target: float) -> bool:
        if self.rel_tol == 0:
            return value == target
        return math.isclose(value, target, rel_tol=self.rel_tol)

    def __call__(self, answer) -> Result:
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return Result(self.id, False, f"Please answer with a number, not {answer!r}.")
        if not math.isfinite(value):
            return Result(self.id, False, f"Please answer with a finite number, not {answer!r}.")
        unit = f" {self.unit}" if self.unit else ""
        if self._matches(value, self.expected()):
            return Result(self.id, True, f"Correct: {answer}{unit}.")
        for hint, wrong in self.mistakes.items():
            if self._matches(value, wrong()):
                return Result(self.id, False, f"Not quite: {hint}")
        return Result(self.id, False, "Not quite. Check each factor of the formula against the "
                                      "layer's settings and try again.")


CHECKS: dict[str, Check] = {}


def register(check_: Check) -> Check:
    """Add a check to the registry (ids are unique)."""
    if check_.id in CHECKS:
        raise ValueError(f"exercise id {check_.id!r} is already registered")
    if check_.difficulty not in ("easy", "medium", "hard"):
        raise ValueError(f"difficulty must be easy, medium or hard, got {check_.difficulty!r}")
    CHECKS[check_.id] = check_
    return check_


def check(exercise_id: str, answer) -> Result:
    """Check a student's answer; the result says right or wrong and, if wrong, why it may be."""
    if exercise_id not in CHECKS:
        raise ValueError(f"unknown exercise id {exercise_id!r}; valid: {', '.join(sorted(CHECKS))}")
    return CHECKS[exercise_id](answer)


def list_checks(chapter: int | None = None) -> list[dict]:
    """Every check (optionally of one chapter): id, chapter, difficulty, question."""
    return [dict(id=c.id, chapter=c.chapter, difficulty=c.difficulty, question=c.question)
            for c in sorted(CHECKS.values(), key=lambda c: (c.chapter, c.id))
            if chapter is None or c.chapter == chapter]


# ---------------------------------------------------------------------------------------------
# Chapter 1: convolution
# ---------------------------------------------------------------------------------------------

register(Check(
    id="conv-out-size-1", chapter=1, difficulty="easy",
    question="Output width of an 11x11, stride-4 convolution without padding on a 227-pixel input.",
    answer=lambda: F.conv_output_size(227, 11, 4),
    mistakes={
        "you forgot the +1: a kernel that fits exactly once still gives one output.":
            lambda: (227 - 11) // 4,
        "you divided the whole input by the stride; subtract the kernel first.":
            lambda: 227 // 4,
    },
))

register(Check(
    id="conv-params-1", chapter=1, difficulty="easy",
    question="Parameters of a 3x3 convolution from 64 to 128 channels, with bias.",
    answer=lambda: F.conv_params(64, 128, 3),
    mistakes={
        "you left out the biases (one per output channel).":
            lambda: F.conv_params(64, 128, 3, bias=False),
        "you counted one bias per input channel instead of one per output channel.":
            lambda: F.conv_params(64, 128, 3, bias=False) + 64,
        "each filter spans all input channels: multiply by C_in as well.":
            lambda: 128 * 9 + 128,
    },
))

register(Check(
    id="conv-macs-1", chapter=1, difficulty="medium",
    question="Multiply-accumulates of a 3x3 convolution, 64 to 128 channels, stride 1, padding 1, "
             "on a 56x56 input, batch 32.",
    answer=lambda: F.conv_macs(64, 128, 3, F.conv_output_size(56, 3, 1, 1), batch=32),
    mistakes={
        "that is the FLOP count: one multiply-accumulate is two FLOPs.":
            lambda: 2 * F.conv_macs(64, 128, 3, 56, batch=32),
        "you left out the batch of 32.":
            lambda: F.conv_macs(64, 128, 3, 56),
        "with padding 1 the output stays 56x56; you used the unpadded 54x54.":
            lambda: F.conv_macs(64, 128, 3, 54, batch=32),
    },
))
