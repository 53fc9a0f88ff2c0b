"""The autograder grades in an environment made only from its own zip (issue: the autograder could
not run on Gradescope, its tests were public and gameable, its feedback a doctest trace).

One chapter's assignment is made; its zip is unpacked; a virtual environment is made from the zip's
``environment.yml`` alone (its pip lines: otter-grader, torch, and the library's wheel shipped in
the zip's ``files/``); ``otter run`` of that environment grades a submission with two right answers,
two wrong, one syntax error and the rest blank, saved under another name than the assignment's.

No internet here: the ``--extra-index-url`` line (PyTorch's CPU index, for Gradescope) is left
out and the same pinned torch comes from this machine's wheel store. Installing torch and the
scientific stack takes minutes on a busy machine, so the environment of a given set of pinned
requirements (the zip's lines other than the wheel) is kept in the user's cache folder
(``$XDG_CACHE_HOME/cnnbook/autograder-env/<hash of those lines>``, by default under ``~/.cache``)
and reused; the zip's wheel is reinstalled into it every run, so the library graded is the zip's.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import zipfile

import nbformat
import pytest
import yaml

from cnnbook_lib.teaching import assignments, variants

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / "chapters" / "01" / "10_exercises.md"
CACHE = (pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
         / "cnnbook" / "autograder-env")


def _pip_lines(env_yml: pathlib.Path) -> list[str]:
    env = yaml.safe_load(env_yml.read_text(encoding="utf-8"))
    pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, env
    return pip[0]


def _environment(unpacked: pathlib.Path) -> pathlib.Path:
    """A virtual environment with the zip's requirements (see the module's docstring)."""
    lines = _pip_lines(unpacked / "environment.yml")
    assert f"--extra-index-url {assignments.TORCH_INDEX}" in lines      # Gradescope's CPU torch
    wheels = [line for line in lines if line.endswith(".whl")]
    assert len(wheels) == 1 and wheels[0].startswith(assignments.AUTOGRADER_SOURCE + "/files/")
    wheel = unpacked / wheels[0][len(assignments.AUTOGRADER_SOURCE) + 1:]
    assert wheel.is_file(), f"the zip does not carry {wheels[0]}"
    pinned = sorted(line for line in lines if not line.startswith("--") and line not in wheels)
    assert any(re.fullmatch(r"torch==[\d.]+", line) for line in pinned), pinned
    assert any(line.startswith("otter-grader") for line in pinned), pinned
    key = hashlib.sha256("\n".join(pinned).encode()).hexdigest()[:12]
    venv = CACHE / key
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        run = subprocess.run([str(python), "-m", "pip", "install", "-q", *pinned, str(wheel)],
                             capture_output=True, text=True, timeout=1800)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        (venv / ".complete").write_text("\n".join(pinned) + "\n")
    run = subprocess.run([str(python), "-m", "pip", "install", "-q", "--force-reinstall",
                          "--no-deps", str(wheel)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr          # the wheel's dependencies
    where = subprocess.run([str(python), "-c", "import cnnbook_lib; print(cnnbook_lib.__file__)"],
                           capture_output=True, text=True, cwd=unpacked)
    assert str(venv) in where.stdout, where.stdout + where.stderr      # not this checkout's copy
    return venv


def _fill(student: nbformat.NotebookNode, answers: dict[str, str]) -> None:
    for var, text in answers.items():
        cell = next(c for c in student.cells if c.source.strip() == f"{var} = ...")
        cell.source = f"{var} = {text}"


def test_autograder_grades_in_an_environment_made_from_its_zip(tmp_path):
    start = time.monotonic()
    made = assignments.write_assignment(PAGE, tmp_path / "out", run_tests=False,
                                        seed="test-autograder-env")
    unpacked = tmp_path / "autograder"
    with zipfile.ZipFile(made["autograder"]) as zf:
        zf.extractall(unpacked)
    config = json.loads((unpacked / "otter_config.json").read_text(encoding="utf-8"))
    assert "cnnbook_lib.teaching.grading.Feedback" in config["plugins"]
    venv = _environment(unpacked)

    student = nbformat.read(made["student"], as_version=4)
    master = nbformat.read(made["master"], as_version=4)
    solutions = dict(re.findall(r"^(answer_\w+) = (.+?)\s+# SOLUTION$",
                                "\n".join(c.source for c in master.cells), re.M))
    graded = [v for v in solutions]
    assert len(graded) >= 5
    right, wrong, broken = graded[:2], graded[2:4], graded[4]
    answers = {v: solutions[v] for v in right}
    answers.update({v: f"{solutions[v]} + 1" for v in wrong})
    answers[broken] = "1 +"                                              # a syntax error
    # the book's own answer, read from the public registry, scores nothing
    book = {v: c for v in solutions
            for c in [next(i for i in variants.VARIANTS if assignments.variable(i) == v)]}
    cheat = graded[5] if len(graded) > 5 else None
    if cheat:
        answers[cheat] = f'__import__("cnnbook_lib.exercises").exercises.CHECKS["{book[cheat]}"].expected()'
    _fill(student, answers)
    submission = tmp_path / "submission"
    submission.mkdir()
    renamed = submission / "my work (1).ipynb"                          # not the assignment's name
    nbformat.write(student, renamed)
    results = tmp_path / "results"
    results.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run([str(venv / "bin" / "otter"), "run", "-a", str(made["autograder"]),
                          "-o", str(results), str(renamed)],
                         cwd=submission, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    report = json.loads((results / "results.json").read_text(encoding="utf-8"))
    tests = {t["name"]: t for t in report["tests"] if t["name"] != "Public Tests"}
    questions = {assignments.question(v[len("answer_"):]): v for v in graded}
    assert set(tests) == set(questions)
    total = sum(t["score"] for t in tests.values())
    assert total == 2, {n: (t["score"], t["output"]) for n, t in tests.items()}
    assert f"Total Score: 2.000 / {len(graded):.3f}" in run.stdout, run.stdout[-2000:]
    for name, t in tests.items():
        var = questions[name]
        output = t["output"]
        print(f"{t['score']:.0f}/{t['max_score']:.0f}  {output}")
        assert "\n" not in output and output.startswith(f"{name}: "), output
        assert "Traceback" not in output and "Failed example" not in output
        assert t["score"] == (1 if var in right else 0)
        if var in right:
            assert output == f"{name}: Correct."
        elif var == broken:
            assert "Syntax error in your answer cell: invalid syntax" in output, output
        elif var in wrong:
            assert "Not quite" in output or "Close, but" in output, output
        elif var == cheat:
            assert "Not quite" in output, output
        else:
            assert "No answer: replace the ..." in output, output
    public = next(t for t in report["tests"] if t["name"] == "Public Tests")["output"]
    assert "Syntax error in your answer cell" in public               # the public line too
    assert "Correct" not in public and "judged by the autograder" in public   # no verdict there
    print(f"graded in {time.monotonic() - start:.0f} s")
