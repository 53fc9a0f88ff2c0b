"""Assignments (``python -m cnnbook_lib.teaching.assignments OUTDIR``): otter-grader's generate step
(``otter assign``) and autograde step (``otter run``, local, no Docker) on a made-up submission
with right, wrong and malformed answers. The grading in an environment made from the zip alone is
tests/test_autograder_env.py."""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from cnnbook_lib.exercises import CHECKS
from cnnbook_lib.teaching import assignments, handouts
from cnnbook_lib.teaching.variants import VARIANTS
from test_student_edition import _normal, solution_texts

ROOT = pathlib.Path(__file__).resolve().parents[1]
OTTER = pathlib.Path(sys.executable).with_name("otter")
ALL_IDS = {page: list(dict.fromkeys(re.findall(r'check\("([\w.-]+)"', page.read_text("utf-8"))))
           for page in handouts.exercise_pages(ROOT)}
# graded questions: the checks an assignment can ask with its own numbers; pages without one get
# no assignment
PAGE_IDS = {page: [i for i in ids if i in VARIANTS] for page, ids in ALL_IDS.items()
            if any(i in VARIANTS for i in ids)}
SEED = "test-assignments"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    if not OTTER.exists():
        message = "otter-grader is not installed (pip install -r requirements.txt)"
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":       # in CI it must be there
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("assignments")
    run = subprocess.run([sys.executable, "-m", "cnnbook_lib.teaching.assignments", str(work / "out"),
                          "--no-run-tests", "--seed", SEED],   # the right answers are graded below
                         cwd=work, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    made = dict(re.findall(r"^(master|student|autograder): (.+)$", run.stdout, re.M))
    assert made, run.stdout
    return work, sorted((work / "out").iterdir())


def test_one_assignment_per_exercises_page_with_one_question_per_check(generated):
    _, folders = generated
    assert len(folders) == len(PAGE_IDS) >= 1
    for folder, (page, ids) in zip(folders, PAGE_IDS.items()):
        name = folder.name
        student = nbformat.read(folder / "dist" / "student" / f"{name}.ipynb", as_version=4)
        tests = student.metadata["otter"]["tests"]
        assert set(tests) == {assignments.question(i) for i in ids}
        assert len(list((folder / "dist" / "autograder").glob(f"{name}-autograder_*.zip"))) == 1
        master = nbformat.read(folder / "source" / f"{name}.ipynb", as_version=4)
        text = "\n".join(c.source for c in student.cells)
        for check_id in ids:
            var = VARIANTS[check_id]
            params = var.parameters(SEED)
            expected = var.answer(params)
            # the master's solution is the variant's answer, computed by the library
            assert f"{assignments.variable(check_id)} = {expected!r}   # SOLUTION" in \
                "\n".join(c.source for c in master.cells)
            assert expected != CHECKS[check_id].expected()          # not the book's answer
            assert var.question(params) in text                     # the student sees the numbers
            # the student's copy holds the public test only (is it a number?), never the answer
            code = json.dumps(tests[assignments.question(check_id)])
            assert "answered(globals()" in code and "grade(" not in code
            assert not re.search(rf"\b{re.escape(str(expected))}\b", code)
            # the autograder's hidden test holds it
            zip_ = next((folder / "dist" / "autograder").glob(f"{name}-autograder_*.zip"))
            with zipfile.ZipFile(zip_) as zf:
                hidden = zf.read(f"tests/{assignments.question(check_id)}.py").decode()
            assert "'hidden': True" in hidden and f", {expected!r}, " in hidden


def test_student_notebook_holds_no_solution(generated):
    _, folders = generated
    needles = [n for pieces in solution_texts().values() for n in pieces]
    for folder in folders:
        student = nbformat.read(folder / "dist" / "student" / f"{folder.name}.ipynb", as_version=4)
        text = _normal("\n".join(c.source for c in student.cells))
        assert "expected()" not in text and "CHECKS" not in text and "SOLUTION" not in text
        assert not [n for n in needles if n in text]
        answers = re.findall(r"^answer_\w+ = (.*)$", "\n".join(c.source for c in student.cells), re.M)
        assert answers and set(answers) == {"..."}
        # otter finds the notebook under any name (no file name in its init cell)
        assert 'one_line_checks(otter.Notebook(this_notebook("' in text
        assert f'Notebook("{folder.name}' not in text


MALFORMED = ["1 +", "'fifty-five'", "[1, 2]", "...", "1 / 0", "None"]   # a syntax error, text, list,
# blank, an exception, nothing


def _submission(student: nbformat.NotebookNode, ids: list[str]) -> tuple[dict, dict]:
    """Fill the student notebook: answers cycle through right, wrong (off by one, or a typical
    mistake the check knows) and malformed. Returns (check id -> expected score, id -> kind)."""
    expected, kinds, wrong, bad = {}, {}, 0, 0
    for i, check_id in enumerate(ids):
        var = VARIANTS[check_id]
        params = var.parameters(SEED)
        right = var.answer(params)
        kind = ("right", "wrong", "malformed")[i % 3]
        if kind == "right":
            value = repr(right)
        elif kind == "wrong":
            mistakes = [m for m in var.mistakes(params).values() if m != right]
            value = repr(mistakes[0]) if wrong % 2 == 0 and mistakes else repr(right + 1)
            wrong += 1
        else:
            value = MALFORMED[bad % len(MALFORMED)]
            bad += 1
        line = f"{assignments.variable(check_id)} = ..."
        cell = next(cell for cell in student.cells if cell.source.strip() == line)
        cell.source = f"{assignments.variable(check_id)} = {value}"
        expected[assignments.question(check_id)] = 1.0 if kind == "right" else 0.0
        kinds[check_id] = kind
    return expected, kinds


def test_otter_grades_right_wrong_and_malformed_answers(generated):
    work, folders = generated
    for folder, ids in zip(folders, PAGE_IDS.values()):
        name = folder.name
        student = nbformat.read(folder / "dist" / "student" / f"{name}.ipynb", as_version=4)
        expected, kinds = _submission(student, ids)
        assert set(kinds.values()) == {"right", "wrong", "malformed"}
        submission = work / f"submission-{name}"
        submission.mkdir()
        nbformat.write(student, submission / f"{name}.ipynb")
        zip_ = next((folder / "dist" / "autograder").glob(f"{name}-autograder_*.zip"))
        results = submission / "results"
        results.mkdir()
        run = subprocess.run([str(OTTER), "run", "-a", str(zip_), "-o", str(results),
                              str(submission / f"{name}.ipynb")],
                             cwd=submission, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        report = json.loads((results / "results.json").read_text(encoding="utf-8"))
        scores = {t["name"]: t.get("score") for t in report["tests"] if t["name"] in expected}
        assert scores == expected
        right = sum(k == "right" for k in kinds.values())
        assert f"Total Score: {right:.3f} / {len(ids):.3f}" in run.stdout
        outputs = {t["name"]: t["output"] for t in report["tests"] if t["name"] in expected}
        assert all("\n" not in o for o in outputs.values())        # one line per question
        joined = "\n".join(outputs.values())
        assert "Not quite: " in joined              # a typical mistake gets the check's hint
        assert "Syntax error in your answer cell" in joined and "NameError" not in joined
        if sum(k == "malformed" for k in kinds.values()) > 1:     # MALFORMED[1] is text
            assert "Please answer with a number" in joined
    shutil.rmtree(work, ignore_errors=True)
