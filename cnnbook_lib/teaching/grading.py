"""What the assignments' tests and the autograder run (:mod:`.assignments` writes the calls).

- :func:`grade`: a hidden test. The right answer and the typical mistakes are the test's own
  arguments (computed when the assignment was made, for its variant numbers); the student's answer
  is judged by the book's :class:`~cnnbook_lib.exercises.Check` logic, so the messages are the
  checks' messages. A failure raises ``AssertionError(message)``: one line.
- :func:`answered`: the public test the student runs with ``grader.check``: is there a number?
- :func:`this_notebook`: the notebook otter should read, whatever the student named it;
  :func:`one_line_checks`: the student's ``grader.check`` shows one line, like the autograder.
- :class:`Feedback`: an otter plugin, named in each autograder's configuration. Before the
  submission runs, an answer cell that does not parse is replaced by a cell that records the syntax
  error (so the question says "syntax error", not ``NameError``); after grading, each question's
  feedback is one line: the check's message.
"""
from __future__ import annotations

import glob
import html
import json
import os
import re
import sys

from ..exercises._core import Check, _number

ANSWER_CELL = re.compile(r"^\s*(?P<var>answer_\w+)\s*=", re.M)
_MARK = "CNNBOOK-FEEDBACK:"


class SyntaxErrorAnswer:
    """Stands for an answer cell that Python could not parse."""

    def __init__(self, message: str):
        self.message = message

    def __repr__(self) -> str:
        return f"<answer cell with a syntax error: {self.message}>"


def _message(env: dict, variable: str, expected, mistakes, rel_tol: float, unit: str):
    if variable not in env:
        return False, (f"No answer: `{variable}` is not defined (its cell was not run, or it raised "
                       "an error before the assignment).")
    value = env[variable]
    if isinstance(value, SyntaxErrorAnswer):
        return False, f"Syntax error in your answer cell: {value.message}."
    if value is Ellipsis:
        return False, f"No answer: replace the ... of `{variable}` with your number."
    check = Check(id=variable, chapter=0, difficulty="easy", question="",
                  answer=lambda: expected,
                  mistakes={hint: (lambda v=v: v) for hint, v in mistakes},
                  rel_tol=rel_tol, unit=unit)
    result = check(value)
    return result.correct, result.message


def grade(env: dict, variable: str, expected, mistakes=(), rel_tol: float = 0.0,
          unit: str = "") -> None:
    """A hidden test: passes silently on the right answer, else raises one line of feedback."""
    correct, message = _message(env, variable, expected, mistakes, rel_tol, unit)
    if not correct:
        raise AssertionError(f"{_MARK} {message}")


def answered(env: dict, variable: str) -> None:
    """The public test: the answer is a number (its value is judged only by the autograder)."""
    value = env.get(variable, None)
    if isinstance(value, SyntaxErrorAnswer):
        raise AssertionError(f"{_MARK} Syntax error in your answer cell: {value.message}.")
    if variable not in env:
        raise AssertionError(f"{_MARK} No answer: `{variable}` is not set; run its cell (and fix "
                             "the error it shows, if any).")
    if value is Ellipsis:
        raise AssertionError(f"{_MARK} No answer yet: replace the ... of `{variable}`.")
    number = _number(value)
    if number is None:
        raise AssertionError(f"{_MARK} Please answer with a number, not {value!r}.")


def this_notebook(assignment: str) -> str | None:
    """The path of the running notebook for ``otter.Notebook``: the one Jupyter names (JupyterLab
    and Notebook 7 set ``JPY_SESSION_NAME``), else the most recently saved notebook of this
    assignment in the working folder, whatever its file name."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb") and os.path.isfile(session):
        return session
    mine = []
    for path in glob.glob("*.ipynb"):
        try:
            with open(path, encoding="utf-8") as f:
                meta = json.load(f).get("metadata", {}).get("otter", {})
        except (OSError, ValueError):
            continue
        if meta.get("assignment_name") == assignment:
            mine.append(path)
    return max(mine, key=os.path.getmtime) if mine else None


class CheckLine(str):
    """What the student's ``grader.check`` shows: one line."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<p><strong>{html.escape(self)}</strong></p>"


def one_line_checks(grader):
    """Make ``grader.check`` (otter's, in the student's notebook) show one line per question, the
    check's message, instead of otter's doctest trace; returns ``grader``. otter's own calls
    (``check_all``, grading) pass their environment and get otter's result, untouched."""
    if getattr(type(grader), "_grading_mode", False):
        return grader
    check = grader.check

    def one_line(question, global_env=None):
        if global_env is not None:
            return check(question, global_env)
        result = check(question, sys._getframe(1).f_globals)   # otter reads the caller's globals
        return CheckLine(f"{result.name}: {feedback_line(result.summary(), ANSWERED)}")

    grader.check = one_line
    return grader


def syntax_error(source: str) -> str | None:
    """Python's message for a cell that does not parse (IPython magics excepted), else None."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        compile("\n".join(lines), "<answer cell>", "exec")
    except SyntaxError as e:
        return f"{e.msg} (line {e.lineno}: {(e.text or '').strip()})"
    return None


#: what a passed public test says: it only asked for a number
ANSWERED = "answered with a number; its value is judged by the autograder."


def feedback_line(summary: str, passed: str = "Correct.") -> str:
    """The one line a question's otter summary comes down to (``passed`` if every test passed)."""
    found = re.findall(rf"{_MARK} (.*)", summary)
    if found:
        return found[-1].strip()
    if "All test cases passed" in summary:
        return passed
    errors = re.findall(r"^\s*(\w+(?:Error|Exception)\b.*)$", summary, re.M)
    return errors[-1].strip() if errors else summary.strip().splitlines()[-1].strip()


try:
    from otter.plugins import AbstractOtterPlugin
except ImportError:                       # otter is needed only to make and grade assignments
    AbstractOtterPlugin = object


class Feedback(AbstractOtterPlugin):
    """Otter plugin: syntax errors in answer cells reported as such, one line per question."""

    def before_execution(self, submission):
        if isinstance(submission, str):
            return submission
        for cell in submission["cells"]:
            if cell.get("cell_type") != "code":
                continue
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            match = ANSWER_CELL.search(source)
            message = syntax_error(source) if match else None
            if message:
                cell["source"] = ("from cnnbook_lib.teaching.grading import SyntaxErrorAnswer\n"
                                  f"{match['var']} = SyntaxErrorAnswer({message!r})")
        return submission

    def after_grading(self, results):
        for test_file in results.results.values():
            lines = {public: f"{test_file.name}: "
                             f"{feedback_line(test_file.summary(public), ANSWERED if public else 'Correct.')}"
                     for public in (False, True)}
            test_file.summary = lambda public_only=False, lines=lines: lines[bool(public_only)]
