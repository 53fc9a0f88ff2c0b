"""The student edition (``make student``) keeps every exercise and removes every solution.

Compares the two HTML builds that ``make test`` produces: ``_build/html`` and
``_build/student/html``."""
from __future__ import annotations

import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FULL = ROOT / "_build" / "html"
STUDENT = ROOT / "_build" / "student" / "html"


def _count(folder: pathlib.Path, pattern: str) -> dict[str, int]:
    found = {}
    for page in sorted((folder / "chapters").rglob("*.html")):
        n = len(re.findall(pattern, page.read_text(encoding="utf-8")))
        if n:
            found[page.relative_to(folder).as_posix()] = n
    return found


@pytest.fixture(scope="module")
def builds():
    missing = [str(p) for p in (FULL, STUDENT) if not (p / "index.html").exists()]
    if missing:
        message = f"not built: {', '.join(missing)} (run `make book` and `make student`)"
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":       # in CI both builds must exist
            pytest.fail(message)
        pytest.skip(message)
    return FULL, STUDENT


EXERCISE = r'class="[^"]*\bexercise\b[^"]*"'
SOLUTION = r'class="[^"]*\bsolution\b[^"]*"'


def test_exercises_kept_solutions_removed(builds):
    full, student = builds
    exercises = _count(full, EXERCISE)
    assert exercises, "the book has no exercises"
    assert _count(student, EXERCISE) == exercises
    assert _count(full, SOLUTION), "the full book shows no solutions"
    assert _count(student, SOLUTION) == {}


def test_student_edition_is_labelled(builds):
    _, student = builds
    assert "student edition" in (student / "intro.html").read_text(encoding="utf-8")
