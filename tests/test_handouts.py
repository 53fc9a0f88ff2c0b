"""Handouts (``python -m cnnbook_lib.teaching.handouts OUTDIR``): one notebook per exercises page,
without solutions, in plain Markdown, that runs top to bottom in a folder outside the repository."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import textwrap

import nbformat
import pytest

from cnnbook_lib.exercises import CHECKS
from cnnbook_lib.teaching import handouts
from test_student_edition import _normal, solution_texts

ROOT = pathlib.Path(__file__).resolve().parents[1]
RAW_ROLE = re.compile(r"\{[\w:.-]+\}`")
RAW_FENCE = re.compile(r"^\s*(`{3,}|:{3,})\{", re.M)


def _execute(nb, cwd: pathlib.Path):
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The handouts as the CLI writes them, from a working folder outside the repository."""
    work = tmp_path_factory.mktemp("handouts")
    assert not work.resolve().is_relative_to(ROOT)
    run = subprocess.run([sys.executable, "-m", "cnnbook_lib.teaching.handouts", str(work / "out")],
                         cwd=work, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return work, sorted((work / "out").glob("*.ipynb"))


def test_one_handout_per_exercises_page(written):
    _, paths = written
    pages = handouts.exercise_pages(ROOT)
    assert pages and len(paths) == len(pages)
    assert {p.name for p in paths} == {handouts.handout_name(p, ROOT) for p in pages}


def test_handouts_read_as_markdown_and_hold_every_exercise_and_check(written):
    _, paths = written
    for page, path in zip(handouts.exercise_pages(ROOT), paths):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        text = "\n".join(c.source for c in nb.cells)
        assert not RAW_ROLE.search(text), f"{path.name}: raw role {RAW_ROLE.search(text)[0]}"
        assert not RAW_FENCE.search(_markdown(nb)), f"{path.name}: a MyST directive fence"
        source = page.read_text(encoding="utf-8")
        assert len(re.findall(r"### Exercise ", text)) == source.count("{exercise}")
        ids = set(re.findall(r'check\("([\w.-]+)"', source))
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert ids and ids <= set(CHECKS)
        assert all(f'check("{i}", answer)' in code for i in ids), f"{path.name}: an answer cell missing"
        assert "../" not in code and str(ROOT) not in text, f"{path.name}: a path into the repository"


def test_handouts_hold_no_solution_text(written):
    _, paths = written
    needles = [n for pieces in solution_texts().values() for n in pieces]
    for path in paths:
        text = _normal("\n".join(c.source for c in nbformat.read(path, as_version=4).cells))
        leaked = [n for n in needles if n in text]
        assert not leaked, f"{path.name}: solution text {leaked[:3]}"
        assert not re.search(r"\{solution", text)


def test_handouts_run_top_to_bottom_outside_the_repository(written):
    work, paths = written
    for path in paths:
        nb = _execute(nbformat.read(path, as_version=4), cwd=work)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"]
        shown = " ".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
        assert "Please answer with a number" in shown          # the answer cells ran their checks


PAGE = textwrap.dedent('''\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---

    # Exercises

    ```{code-cell} ipython3
    :tags: [remove-cell]
    from myst_nb import glue
    from IPython.display import Math
    glue("c7_answer_size", f"{6 * 7:,}", display=False)
    glue("c7_eq", Math(r"y = w x"), display=False)
    ```

    (c7-exercises)=
    The layer has {glue:text}`c7_answer_size` outputs ({glue}`c7_answer_size`), as {eq}`eq-c7-line`
    and {glue:math}`c7_eq` say; see {doc}`other` and {cite}`lecun1998,he2016`.

    :::{note}
    A note with {ref}`a reference <c7-exercises>`.
    :::

    ```{exercise}
    :label: ex-c7-one

    How wide is the output? Check with `check("conv-out-size-1", answer)`.
    ```

    ```{solution-start} ex-c7-one
    :class: dropdown
    ```

    Gated solution prose that must never reach a handout.

    ```{code-cell} ipython3
    gated_solution_code = 1
    ```

    ```{solution-end}
    ```

    ````{solution} ex-c7-one
    Plain solution directive text that must never reach a handout.
    ```python
    plain_solution_code = 2
    ```
    ````

    ```{glue:math} c7_eq
    :label: eq-c7-glued
    ```
    ''')

OTHER = textwrap.dedent('''\
    # The other page

    ```{math}
    :label: eq-c7-line
    y = a x + b
    ```
    ''')


def test_myst_becomes_markdown_and_glue_its_values(tmp_path):
    """A made-up exercises page with glue, equations, roles, an admonition and both kinds of
    solution: its handout shows the values and no markup, and runs outside the book."""
    root = tmp_path / "book"
    (root / "chapters" / "07").mkdir(parents=True)
    (root / "chapters" / "07" / "05_exercises.md").write_text(PAGE, encoding="utf-8")
    (root / "chapters" / "07" / "other.md").write_text(OTHER, encoding="utf-8")
    (root / "chapters" / "07_lines.md").write_text("# Lines and more lines\n", encoding="utf-8")
    paths = handouts.write_handouts(tmp_path / "out", root)
    assert [p.name for p in paths] == ["chapter-07-exercises.ipynb"]
    nb = nbformat.read(paths[0], as_version=4)
    markdown, everything = _markdown(nb), "\n".join(c.source for c in nb.cells)
    assert not RAW_ROLE.search(everything) and not RAW_FENCE.search(markdown)
    assert "The layer has 42 outputs (42), as $y = a x + b$ and $y = w x$ say; see The other " \
           "page and [lecun1998; he2016]." in _normal(markdown)
    assert "> **Note**" in markdown and "A note with a reference." in markdown
    assert "### Exercise 7.1" in markdown and "$$\ny = w x\n$$" in markdown
    assert "*Lines and more lines*" in markdown and "(c7-exercises)=" not in markdown
    assert "solution" not in everything.replace("without solutions", "")
    assert 'check("conv-out-size-1", answer)' in everything
    work = tmp_path / "elsewhere"
    work.mkdir()
    _execute(nb, cwd=work)                      # myst-nb's glue is a no-op in the handout


def test_equation_numbers_and_links_from_the_built_book(tmp_path):
    """With a built book (``_build/html``) and an address in ``_config.yml``: ``{eq}`` shows the
    number the book prints, exercises their book numbers, ``{doc}`` a link to the online page."""
    root = tmp_path / "book"
    (root / "chapters" / "07").mkdir(parents=True)
    (root / "chapters" / "07" / "05_exercises.md").write_text(textwrap.dedent('''\
        # Exercises

        ```{exercise}
        :label: ex-c7-one

        With {eq}`eq-c7-line` and {eq}`eq-c7-other`, see {doc}`other` and {doc}`../06/01_far`.
        ```
        '''), encoding="utf-8")
    (root / "chapters" / "07" / "other.md").write_text(OTHER, encoding="utf-8")
    (root / "chapters" / "06").mkdir()
    (root / "chapters" / "06" / "01_far.md").write_text("# Far away\n", encoding="utf-8")
    (root / "_config.yml").write_text("title: T\nrepository:\n  url: https://github.com/someone/cnn\n",
                                      encoding="utf-8")
    built = root / "_build" / "html" / "chapters" / "07"
    built.mkdir(parents=True)
    (built / "other.html").write_text(
        '<div class="math" id="equation-eq-c7-line">\n<span class="eqno">(7.3)</span></div>'
        '<div class="math" id="equation-eq-c7-other">\n<span class="eqno">(7.4)</span></div>'
        '<div class="exercise admonition" id="ex-c7-one">\n<p class="admonition-title">'
        '<span class="caption-number">Exercise 7.5 </span></p></div>', encoding="utf-8")
    nb = nbformat.read(handouts.write_handouts(tmp_path / "out", root)[0], as_version=4)
    markdown = _markdown(nb)
    install = nb.cells[1].source                 # the install cell, as in the downloaded notebooks
    assert "git+https://github.com/someone/cnn" in install and "--index-url" in install
    assert "from cnnbook_lib.exercises import check" in install
    assert "### Exercise 7.5" in markdown
    assert "With (7.3) and (7.4), see [The other page](https://someone.github.io/cnn/chapters/07/other.html) " \
           "and [Far away](https://someone.github.io/cnn/chapters/06/01_far.html)." in markdown
