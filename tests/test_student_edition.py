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


def test_solution_code_does_not_leak(builds):
    """The code of every solution in the full book appears nowhere in the student edition."""
    from bs4 import BeautifulSoup

    full, student = builds
    checked = 0
    for page in sorted((full / "chapters").rglob("*.html")):
        solutions = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select(".solution")
        if not solutions:
            continue
        twin = (student / page.relative_to(full)).read_text(encoding="utf-8")
        student_text = BeautifulSoup(twin, "html.parser").get_text()
        for solution in solutions:
            for pre in solution.select("pre"):
                code = pre.get_text().strip()
                if len(code) > 20:               # skip one-word snippets that prose may repeat
                    assert code not in student_text, f"{page.name}: solution code leaked: {code[:60]}"
                    checked += 1
    assert checked, "no solution code found to check"


def test_student_edition_is_labelled(builds):
    _, student = builds
    assert "student edition" in (student / "intro.html").read_text(encoding="utf-8")
