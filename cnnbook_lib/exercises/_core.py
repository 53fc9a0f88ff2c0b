"""The registry of answer checks and the parsing of a student's answer."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable


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

    #: an exact-integer check whose answer is at least this large tells a student whose number is
    #: within :attr:`ROUNDED_TOL` of it (a rounded answer, 7.4e9 for 7,398,752,256) to give every
    #: digit, instead of the generic "Not quite"
    LARGE: int = 1000
    ROUNDED_TOL: float = 0.05

    def expected(self) -> float:
        """The right answer, computed now by the library."""
        return self.answer()

    def _matches(self, value: float, target: float) -> bool:
        if self.rel_tol == 0:
            return value == target
        return math.isclose(value, target, rel_tol=self.rel_tol)

    def __call__(self, answer) -> Result:
        value = _number(answer)
        if value is None:
            return Result(self.id, False, f"Please answer with a number, not {answer!r}.")
        if not math.isfinite(value):
            return Result(self.id, False, f"Please answer with a finite number, not {answer!r}.")
        unit = f" {self.unit}" if self.unit else ""
        if self._matches(value, self.expected()):
            shown = answer.strip() if isinstance(answer, str) else answer
            return Result(self.id, True, f"Correct: {shown}{unit}.")
        for hint, wrong in self.mistakes.items():
            if self._matches(value, wrong()):
                return Result(self.id, False, f"Not quite: {hint}")
        target = self.expected()
        if (self.rel_tol == 0 and abs(target) >= self.LARGE
                and math.isclose(value, target, rel_tol=self.ROUNDED_TOL)):
            return Result(self.id, False,
                          "Close, but this check wants the exact integer: give every digit of "
                          "your count (written out as 73,856, say, not rounded to 7.4e4).")
        return Result(self.id, False, "Not quite. Check each factor of the formula against the "
                                      "layer's settings and try again.")


def _number(answer) -> float | None:
    """A numeric answer: an int or float (not a bool), or a string of one as the book prints them
    (``"73,856"``, ``"73 856"``, ``"1.5e9"``, ``"0.125"``); None for anything else."""
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, str):
        text = answer.strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
            text = text.replace(",", "")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
            return None
        return float(text)
    try:
        return float(answer)
    except (TypeError, ValueError, OverflowError):
        return None


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


