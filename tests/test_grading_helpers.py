"""The assignments' grading helpers (cnnbook_lib.teaching.grading), without otter running."""
from __future__ import annotations

import json
import os

import nbformat
import pytest

from cnnbook_lib.teaching import grading


def test_grade_judges_with_the_checks_logic_and_fails_in_one_line():
    env = {"answer_x": 93, "answer_y": 92, "answer_z": ..., "answer_s": "73,856"}
    grading.grade(env, "answer_x", 93, [("you forgot the +1.", 92)])
    grading.grade(env, "answer_s", 73856)                       # the book's number formats
    with pytest.raises(AssertionError) as wrong:
        grading.grade(env, "answer_y", 93, [("you forgot the +1.", 92)])
    assert grading.feedback_line(str(wrong.value)) == "Not quite: you forgot the +1."
    with pytest.raises(AssertionError) as blank:
        grading.grade(env, "answer_z", 93)
    assert "No answer" in str(blank.value)
    with pytest.raises(AssertionError) as missing:
        grading.grade(env, "answer_w", 93)
    assert "not defined" in str(missing.value)
    env["answer_b"] = grading.SyntaxErrorAnswer("invalid syntax (line 1: answer_b = 1 +)")
    with pytest.raises(AssertionError) as broken:
        grading.grade(env, "answer_b", 1)
    assert grading.feedback_line(str(broken.value)).startswith("Syntax error in your answer cell")


def test_answered_accepts_any_number_and_nothing_else():
    grading.answered({"a": 1}, "a")
    grading.answered({"a": "1.5e9"}, "a")
    for value in ["many", [1, 2], None, ...]:
        with pytest.raises(AssertionError):
            grading.answered({"a": value}, "a")


def test_syntax_error_is_python_s_own_message():
    assert grading.syntax_error("answer_a = 3") is None
    assert grading.syntax_error("%time\nanswer_a = 3") is None
    message = grading.syntax_error("answer_a = 1 +")
    with pytest.raises(SyntaxError) as python:
        compile("answer_a = 1 +", "<cell>", "exec")
    assert message.startswith(python.value.msg)


def test_the_plugin_replaces_only_answer_cells_that_do_not_parse():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("answer_a = 1 +"),
        nbformat.v4.new_code_cell("answer_b = 2"),
        nbformat.v4.new_code_cell("x = (")])                      # not an answer cell: left alone
    out = grading.Feedback.before_execution(object.__new__(grading.Feedback), nb)
    env = {}
    exec(out.cells[0].source, env)
    assert isinstance(env["answer_a"], grading.SyntaxErrorAnswer)
    assert out.cells[1].source == "answer_b = 2" and out.cells[2].source == "x = ("


def test_this_notebook_finds_the_assignment_under_any_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    other = nbformat.v4.new_notebook(metadata={"otter": {"assignment_name": "chapter-02"}})
    mine = nbformat.v4.new_notebook(metadata={"otter": {"assignment_name": "chapter-01"}})
    nbformat.write(other, tmp_path / "chapter-02.ipynb")
    nbformat.write(mine, tmp_path / "my answers (1).ipynb")
    assert grading.this_notebook("chapter-01") == "my answers (1).ipynb"
    (tmp_path / "broken.ipynb").write_text("{", encoding="utf-8")      # unreadable: skipped
    assert grading.this_notebook("chapter-01") == "my answers (1).ipynb"
    assert grading.this_notebook("chapter-04") is None
    session = tmp_path / "renamed.ipynb"
    session.write_text(json.dumps(nbformat.v4.new_notebook()), encoding="utf-8")
    monkeypatch.setenv("JPY_SESSION_NAME", os.fspath(session))
    assert grading.this_notebook("chapter-01") == os.fspath(session)
