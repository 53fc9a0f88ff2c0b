"""Assignments that grade themselves, in otter-grader's format, one per exercises page.

    python -m cnnbook_lib.teaching.assignments OUTDIR [--root BOOK] [--no-run-tests]

For each exercises page it writes, under ``OUTDIR/chapter-NN/``:

- ``source/chapter-NN.ipynb``: the otter-assign master notebook. Every automatic check of the
  page (:mod:`cnnbook_lib.exercises`) is one question of one point; its solution is the answer the
  library computes (``CHECKS[id].expected()``, never a typed-in number) and its test is the check
  itself (``check(id, answer).correct``), so the grade and the book's ``check`` always agree;
- ``dist/student/chapter-NN.ipynb`` (with its public ``tests/``): the notebook to hand out, made by
  ``otter assign``, with ``answer_... = ...`` to fill in and ``grader.check(...)`` cells;
- ``dist/autograder/chapter-NN-autograder_*.zip``: the autograder. Grade a submission locally,
  without Docker, with ``otter run -a dist/autograder/chapter-NN-autograder_*.zip SUBMISSION.ipynb``
  (results in ``results.json``), or upload the zip to Gradescope.

Exercises without an automatic check (a timing experiment, a derivation) are kept as prompts
worth no points. The exercise text is the handout's (:mod:`.handouts`): plain Markdown, no solution.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import pathlib
import re
import shutil
import sys

import nbformat

from . import handouts

CHECK_CELL = re.compile(r'^answer = \.\.\..*\ncheck\("(?P<id>[\w.-]+)", answer\)\s*$')


def variable(check_id: str) -> str:
    """The Python name a student assigns the answer of a check to, e.g. ``answer_conv_out_size_1``."""
    return "answer_" + re.sub(r"\W", "_", check_id)


def question(check_id: str) -> str:
    """The otter question name of a check, e.g. ``conv_out_size_1``."""
    return re.sub(r"\W", "_", check_id)


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def master_notebook(page: pathlib.Path, root: pathlib.Path | None = None,
                    name: str | None = None) -> nbformat.NotebookNode:
    """The otter-assign master notebook of one exercises page."""
    from ..exercises import CHECKS

    root = pathlib.Path(root) if root else handouts.book_root()
    name = name or handouts.handout_name(page, root)[: -len(".ipynb")]
    handout = handouts.handout(page, root)
    config = "\n".join([
        "# ASSIGNMENT CONFIG",
        f"name: {name}",
        "init_cell: true",              # the student notebook starts with otter's grader
        "check_all_cell: true",
        "export_cell: false",           # submissions are the notebook itself, no PDF
        "generate: true",               # the autograder zip, for `otter run` or Gradescope
        "run_tests: true",              # otter assign runs the solutions through the tests
        "solutions_pdf: false",
        "template_pdf: false",
    ])
    cells = [_raw(config)]
    title, *rest = handout.cells[0].source.split("\n\n")
    cells.append(nbformat.v4.new_markdown_cell("\n\n".join([
        title + " (assignment)", *rest[:-1],
        "Each question below is an exercise's automatic check: assign your number to the "
        "`answer_...` variable in place of `...`, run the cell and the `grader.check` cell under "
        "it. Exercises without an automatic check are marked ungraded. The notebook needs the "
        "book's library and otter-grader (`pip install otter-grader==7.0.0`)."])))
    n_questions = 0
    for cell in handout.cells[1:]:
        source = cell.source
        match = CHECK_CELL.match(source) if cell.cell_type == "code" else None
        if match:
            check_id = match["id"]
            if check_id not in CHECKS:
                raise ValueError(f"{page}: exercise names an unknown check {check_id!r}")
            n_questions += 1
            cells += [
                _raw(f"# BEGIN QUESTION\nname: {question(check_id)}\npoints: 1"),
                nbformat.v4.new_markdown_cell(
                    f"**{check_id}** (1 point). {CHECKS[check_id].question}"),
                _raw("# BEGIN SOLUTION"),
                nbformat.v4.new_code_cell(
                    "# BEGIN SOLUTION NO PROMPT\nfrom cnnbook_lib.exercises import CHECKS\n"
                    "# END SOLUTION\n"
                    f'{variable(check_id)} = CHECKS["{check_id}"].expected()   # SOLUTION'),
                _raw("# END SOLUTION"),
                _raw("# BEGIN TESTS"),
                nbformat.v4.new_code_cell(
                    "from cnnbook_lib.exercises import check\n"
                    f'assert check("{check_id}", {variable(check_id)}).correct, '
                    f'check("{check_id}", {variable(check_id)}).message'),
                _raw("# END TESTS"),
                _raw("# END QUESTION"),
            ]
        elif cell.cell_type == "code" and source.strip() == "# your work":
            cells.append(nbformat.v4.new_markdown_cell(
                "*Ungraded: this exercise has no automatic check; answer it in the cell below.*"))
            cells.append(nbformat.v4.new_code_cell("# your work"))
        elif cell.cell_type == "code" and "from cnnbook_lib.exercises import check" in source \
                and "import cnnbook_lib\n" in source:
            continue                                    # the handout's own check import
        else:
            cells.append(cell)
    if not n_questions:
        raise ValueError(f"{page}: no exercise with an automatic check")
    return nbformat.v4.new_notebook(cells=cells, metadata=handout.metadata)


def write_assignment(page: pathlib.Path, outdir: pathlib.Path, root: pathlib.Path | None = None,
                     *, run_tests: bool = True) -> dict[str, pathlib.Path]:
    """Write the master notebook of a page and run ``otter assign`` on it."""
    from otter.assign import main as otter_assign

    root = pathlib.Path(root) if root else handouts.book_root()
    name = handouts.handout_name(page, root)[: -len("-exercises.ipynb")]
    folder = pathlib.Path(outdir) / name
    source, dist = folder / "source", folder / "dist"
    source.mkdir(parents=True, exist_ok=True)
    if (dist / "autograder").is_dir() or (dist / "student").is_dir():
        shutil.rmtree(dist)                             # an earlier run's output, not merged
    master = source / f"{name}.ipynb"
    nbformat.write(master_notebook(page, root, name), master)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        otter_assign(str(master), str(dist), no_pdfs=True, no_run_tests=not run_tests)
    zips = sorted((dist / "autograder").glob(f"{name}-autograder_*.zip"))
    if not zips:
        raise RuntimeError(f"otter assign made no autograder for {page}:\n{log.getvalue()}")
    return {"master": master, "student": dist / "student" / f"{name}.ipynb",
            "autograder": zips[-1]}


def write_assignments(outdir, root=None, *, run_tests: bool = True) -> list[dict]:
    """One otter assignment per exercises page of the book; returns their paths."""
    root = pathlib.Path(root) if root else handouts.book_root()
    pages = handouts.exercise_pages(root)
    if not pages:
        raise FileNotFoundError(f"no exercises page (chapters/*/*exercises*.md) under {root}")
    return [write_assignment(page, pathlib.Path(outdir), root, run_tests=run_tests)
            for page in pages]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook_lib.teaching.assignments",
                                     description="Write one otter-grader assignment per chapter's "
                                                 "exercises page.")
    parser.add_argument("outdir", help="folder for the assignments (created if missing)")
    parser.add_argument("--root", default=None, help="the book's folder (default: this checkout)")
    parser.add_argument("--no-run-tests", action="store_true",
                        help="do not run the solutions through the tests while generating")
    args = parser.parse_args(argv)
    for paths in write_assignments(args.outdir, args.root, run_tests=not args.no_run_tests):
        for kind, path in paths.items():
            print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
