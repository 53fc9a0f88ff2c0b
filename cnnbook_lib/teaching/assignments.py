"""Assignments that grade themselves, in otter-grader's format, one per exercises page.

    python -m cnnbook_lib.teaching.assignments OUTDIR [--root BOOK] [--no-run-tests]

For each exercises page it writes, under ``OUTDIR/chapter-NN/``:

- ``source/chapter-NN.ipynb``: the otter-assign master notebook (keep it, and the seed, private).
  Every automatic check of the page that :mod:`.variants` can vary is one question of one point,
  asked with numbers drawn from the instructor's seed (``--seed``, or ``CNNBOOK_ASSIGNMENT_SEED``;
  a fresh random one is written to ``source/SEED`` otherwise). Its public test only asks for a
  number; its hidden test (in the autograder zip only) holds the answer and the typical mistakes
  for those numbers, computed by the library now, and judges with the book's check logic
  (:func:`.grading.grade`). Reading ``CHECKS`` or the book's solutions gives the book's numbers,
  which score nothing. Checks without a variant stay as practice, worth no points, with the book's
  own ``check``;
- ``dist/student/chapter-NN.ipynb``: the notebook to hand out, made by ``otter assign``, with
  ``answer_... = ...`` to fill in and ``grader.check(...)`` cells; it finds itself under any name;
- ``dist/autograder/chapter-NN-autograder_*.zip``: the autograder. It carries the library's wheel
  and an ``environment.yml`` that installs it with a CPU-only torch (from
  https://download.pytorch.org/whl/cpu) and names the :class:`.grading.Feedback` plugin (one line of
  feedback per question, syntax errors reported as such). Upload it to Gradescope, or grade locally,
  without Docker, in an environment with the zip's requirements:
  ``otter run -a dist/autograder/chapter-NN-autograder_*.zip SUBMISSION.ipynb``.

Exercises without an automatic check (a timing experiment, a derivation) are kept as prompts
worth no points. The exercise text is the handout's (:mod:`.handouts`): plain Markdown, no solution.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import pathlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

import nbformat

from . import handouts
from .variants import variant_of

#: the CPU-only torch the autograder installs (Gradescope has no GPU)
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
#: where Gradescope unpacks the autograder zip; its ``files/`` hold the library's wheel
AUTOGRADER_SOURCE = "/autograder/source"
PYTHON_VERSION = "3.11"

CHECK_CELL = re.compile(r'^answer = \.\.\..*\ncheck\("(?P<id>[\w.-]+)", answer\)\s*$')


def variable(check_id: str) -> str:
    """The Python name a student assigns the answer of a check to, e.g. ``answer_conv_out_size_1``."""
    return "answer_" + re.sub(r"\W", "_", check_id)


def question(check_id: str) -> str:
    """The otter question name of a check, e.g. ``conv_out_size_1``."""
    return re.sub(r"\W", "_", check_id)


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def torch_requirement() -> str:
    """``torch==X`` as the book's requirements.txt pins it (the installed version otherwise)."""
    req = handouts.book_root() / "requirements.txt"
    if req.is_file():
        found = re.search(r"^torch==([^\s#]+)", req.read_text("utf-8"), re.M)
        if found:
            return f"torch=={found[1]}"
    import torch
    return f"torch=={torch.__version__.split('+')[0]}"


def build_wheel(outdir: pathlib.Path, root: pathlib.Path | None = None) -> pathlib.Path:
    """The library's wheel, built from a copy of this checkout (nothing is written into it)."""
    root = pathlib.Path(root) if root else handouts.book_root()
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (root / name).is_file():
                shutil.copy(root / name, src / name)
        shutil.copytree(root / "cnnbook_lib", src / "cnnbook_lib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                              "--no-build-isolation", "-q", "-w", str(outdir), str(src)],
                             capture_output=True, text=True)
        if run.returncode:
            raise RuntimeError(f"building the library's wheel failed:\n{run.stdout}{run.stderr}")
    from .. import __version__
    wheels = sorted(outdir.glob(f"cnnbook_lib-{__version__}-*.whl"))
    if not wheels:
        raise RuntimeError(f"no wheel of cnnbook_lib {__version__} in {outdir}")
    return wheels[-1]


def environment_yml(wheel_name: str) -> str:
    """The autograder's conda environment: the library's wheel (shipped in the zip) and a CPU
    torch; otter adds otter-grader itself."""
    return "\n".join([
        "name: otter-env",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON_VERSION}",
        "  - pip",
        "  - pip:",
        f"      - --extra-index-url {TORCH_INDEX}",
        f"      - {torch_requirement()}",
        f"      - {AUTOGRADER_SOURCE}/files/{wheel_name}",
        ""])


def new_seed() -> str:
    """A fresh secret seed for an assignment's numbers."""
    return secrets.token_hex(8)


def master_notebook(page: pathlib.Path, root: pathlib.Path | None = None,
                    name: str | None = None, seed: str | None = None,
                    wheel_name: str | None = None) -> nbformat.NotebookNode:
    """The otter-assign master notebook of one exercises page, its numbers drawn from ``seed``."""
    from ..exercises import CHECKS

    root = pathlib.Path(root) if root else handouts.book_root()
    name = name or handouts.handout_name(page, root)[: -len(".ipynb")]
    seed = seed if seed is not None else new_seed()
    handout = handouts.handout(page, root)
    extra = []
    if wheel_name:
        extra = ["environment: environment.yml", "python_version: " + repr(PYTHON_VERSION),
                 "autograder_files:", f"  - {wheel_name}"]
    config = "\n".join([
        "# ASSIGNMENT CONFIG",
        f"name: {name}",
        "init_cell: true",              # the student notebook starts with otter's grader
        "check_all_cell: true",
        "export_cell: false",           # submissions are the notebook itself, no PDF
        "generate:",                    # the autograder zip, for `otter run` or Gradescope
        "  show_hidden: true",          # hidden results reach students when grades are published
        "run_tests: true",              # otter assign runs the solutions through the tests
        "solutions_pdf: false",
        "template_pdf: false",
        "plugins:",
        "  - cnnbook_lib.teaching.grading.Feedback",
        *extra,
    ])
    cells = [_raw(config)]
    title, *rest = handout.cells[0].source.split("\n\n")
    cells.append(nbformat.v4.new_markdown_cell("\n\n".join([
        title + " (assignment)", *rest[:-1],
        "Each graded question below asks an exercise with **this assignment's numbers**, which "
        "differ from the book's: assign your number to the `answer_...` variable in place of "
        "`...`, run the cell and the `grader.check` cell under it. `grader.check` only tells you "
        "whether your answer is a number; the autograder judges it. Exercises marked practice "
        "keep the book's numbers and its `check`, and score nothing. The notebook needs the "
        "book's library and otter-grader (`pip install otter-grader==7.0.0`)."])))
    n_questions = 0
    for cell in handout.cells[1:]:
        source = cell.source
        match = CHECK_CELL.match(source) if cell.cell_type == "code" else None
        if match:
            check_id = match["id"]
            if check_id not in CHECKS:
                raise ValueError(f"{page}: exercise names an unknown check {check_id!r}")
            var = variant_of(check_id)
            if var is None:
                cells += [
                    nbformat.v4.new_markdown_cell(
                        f"*Practice, no points: the book's own check of `{check_id}`.*"),
                    nbformat.v4.new_code_cell(
                        f'from cnnbook_lib.exercises import check\nanswer = ...\n'
                        f'check("{check_id}", answer)'),
                ]
                continue
            n_questions += 1
            params = var.parameters(seed)
            expected = var.answer(params)
            mistakes = [(hint, value) for hint, value in var.mistakes(params).items()
                        if value != expected]
            cells += [
                _raw(f"# BEGIN QUESTION\nname: {question(check_id)}\npoints: [0, 1]"),
                nbformat.v4.new_markdown_cell(
                    f"**{check_id}** (1 point), with this assignment's numbers: "
                    f"{var.question(params)}"),
                _raw("# BEGIN SOLUTION"),
                nbformat.v4.new_code_cell(f"{variable(check_id)} = {expected!r}   # SOLUTION"),
                _raw("# END SOLUTION"),
                _raw("# BEGIN TESTS"),
                nbformat.v4.new_code_cell(
                    "from cnnbook_lib.teaching.grading import answered\n"
                    f'answered(globals(), "{variable(check_id)}")'),
                nbformat.v4.new_code_cell(
                    "# HIDDEN\nfrom cnnbook_lib.teaching.grading import grade\n"
                    f'grade(globals(), "{variable(check_id)}", {expected!r}, {mistakes!r}, '
                    f'{var.rel_tol!r})'),
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
        raise NoGradedQuestion(f"{page}: no exercise whose numbers the assignment can vary")
    return nbformat.v4.new_notebook(cells=cells, metadata=handout.metadata)


class NoGradedQuestion(ValueError):
    """An exercises page none of whose checks has an assignment variant."""


INIT_CELL = re.compile(r'^grader = otter\.Notebook\("(?P<nb>[^"]+)\.ipynb"\)$', re.M)


def _notebook_by_any_name(student: pathlib.Path, name: str) -> None:
    """otter's init cell names the notebook's file; make it find the notebook under any name."""
    nb = nbformat.read(student, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and INIT_CELL.search(cell.source):
            cell.source = INIT_CELL.sub(
                "from cnnbook_lib.teaching.grading import one_line_checks, this_notebook\n"
                f'grader = one_line_checks(otter.Notebook(this_notebook("{name}")))', cell.source)
            break
    else:
        raise RuntimeError(f"{student}: no otter init cell")
    nbformat.write(nb, student)


def write_assignment(page: pathlib.Path, outdir: pathlib.Path, root: pathlib.Path | None = None,
                     *, run_tests: bool = True, seed: str | None = None,
                     wheel: pathlib.Path | None = None) -> dict[str, pathlib.Path]:
    """Write the master notebook of a page and run ``otter assign`` on it."""
    from otter.assign import main as otter_assign

    root = pathlib.Path(root) if root else handouts.book_root()
    name = handouts.handout_name(page, root)[: -len("-exercises.ipynb")]
    folder = pathlib.Path(outdir).resolve() / name
    source, dist = folder / "source", folder / "dist"
    seed = seed or os.environ.get("CNNBOOK_ASSIGNMENT_SEED") or new_seed()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pathlib.Path(wheel) if wheel else build_wheel(pathlib.Path(tmp), root)
        notebook = master_notebook(page, root, name, seed, wheel.name)   # NoGradedQuestion first
        source.mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, source / wheel.name)
    if (dist / "autograder").is_dir() or (dist / "student").is_dir():
        shutil.rmtree(dist)                             # an earlier run's output, not merged
    (source / "SEED").write_text(seed + "\n", encoding="utf-8")
    (source / "environment.yml").write_text(environment_yml(wheel.name), encoding="utf-8")
    master = source / f"{name}.ipynb"
    nbformat.write(notebook, master)
    log = io.StringIO()
    here = os.getcwd()
    try:
        os.chdir(source)                        # otter copies files named relative to the master
        with contextlib.redirect_stdout(log):
            otter_assign(master.name, str(dist), no_pdfs=True,
                         no_run_tests=not run_tests)
    finally:
        os.chdir(here)
    zips = sorted((dist / "autograder").glob(f"{name}-autograder_*.zip"))
    if not zips:
        raise RuntimeError(f"otter assign made no autograder for {page}:\n{log.getvalue()}")
    student = dist / "student" / f"{name}.ipynb"
    _notebook_by_any_name(student, name)
    return {"master": master, "student": student, "autograder": zips[-1]}


def write_assignments(outdir, root=None, *, run_tests: bool = True,
                      seed: str | None = None) -> list[dict]:
    """One otter assignment per exercises page of the book that has a question whose numbers can
    be varied; returns their paths (pages without one are skipped, with a note on stderr)."""
    root = pathlib.Path(root) if root else handouts.book_root()
    pages = handouts.exercise_pages(root)
    if not pages:
        raise FileNotFoundError(f"no exercises page (chapters/*/*exercises*.md) under {root}")
    outdir = pathlib.Path(outdir)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(pathlib.Path(tmp), root)
        made = []
        for page in pages:
            try:
                made.append(write_assignment(page, outdir, root, run_tests=run_tests, seed=seed,
                                             wheel=wheel))
            except NoGradedQuestion as e:
                print(f"skipped: {e}", file=sys.stderr)
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook_lib.teaching.assignments",
                                     description="Write one otter-grader assignment per chapter's "
                                                 "exercises page.")
    parser.add_argument("outdir", help="folder for the assignments (created if missing)")
    parser.add_argument("--root", default=None, help="the book's folder (default: this checkout)")
    parser.add_argument("--no-run-tests", action="store_true",
                        help="do not run the solutions through the tests while generating")
    parser.add_argument("--seed", default=None,
                        help="the secret that draws the assignments' numbers (default: "
                             "$CNNBOOK_ASSIGNMENT_SEED, else a fresh random one, written to "
                             "OUTDIR/chapter-NN/source/SEED)")
    args = parser.parse_args(argv)
    for paths in write_assignments(args.outdir, args.root, run_tests=not args.no_run_tests,
                                   seed=args.seed):
        for kind, path in paths.items():
            print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
