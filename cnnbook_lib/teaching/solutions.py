"""Solutions removed from MyST Markdown sources and from notebooks made of them.

The book's exercise pages give each solution as a *gated* sphinx-exercise solution::

    ```{solution-start} ex-c1-out-size
    :class: dropdown
    ```
    prose, code cells, ...
    ```{solution-end}
    ```

or, for short ones, as one ``{solution}`` directive. :func:`strip_markdown` deletes both kinds from
a MyST text, :func:`strip_notebook` from a notebook whose Markdown cells hold MyST (as jupytext and
myst-nb write them: a gated solution starts in one Markdown cell, spans code cells and ends in a
later Markdown cell). Used by the student edition (:mod:`cnnbook_lib.sphinx_solutions`), by the
handouts, the assignments and the downloadable notebooks. The directives are recognised by
:mod:`cnnbook_lib.myst`'s parser; the removal works line by line because a gated solution spans
cells.
"""
from __future__ import annotations

import copy
import re

from ..myst import OPENING, closes

SOLUTION_DIRECTIVES = {"solution"}                    # removed whole
GATE_START, GATE_END = "solution-start", "solution-end"


class _Stripper:
    """A line filter that drops solutions; its state carries over from one cell to the next."""

    def __init__(self) -> None:
        self.fence: str | None = None     # fence of the directive being skipped, if any
        self.gated = False                # between a solution-start and its solution-end
        self.ending = False               # the directive being skipped is the solution-end

    @property
    def inside(self) -> bool:
        """Whether the filter is inside a solution (code cells here are dropped)."""
        return self.gated or self.fence is not None

    def lines(self, text: str) -> list[str]:
        """The lines of ``text`` that are not part of a solution."""
        kept = []
        for line in text.splitlines(keepends=True):
            if self.fence is not None:                       # inside a directive being skipped
                if closes(line, self.fence):
                    self.fence = None
                    if self.ending:
                        self.gated = self.ending = False
                continue
            match = OPENING.match(line)
            name = match["name"] if match else None
            if self.gated:
                if name == GATE_END:
                    self.fence, self.ending = match["fence"], True
                elif name is not None:                       # any directive inside the solution
                    self.fence = match["fence"]
                continue
            if name == GATE_START:
                self.gated = True
                self.fence = match["fence"]
                continue
            if name in SOLUTION_DIRECTIVES:
                self.fence = match["fence"]
                continue
            kept.append(line)
        return kept


def strip_markdown(text: str) -> str:
    """``text`` (MyST Markdown) without its solutions; raises ValueError on an unclosed one."""
    if not has_solutions(text):
        return text
    stripper = _Stripper()
    out = "".join(stripper.lines(text))
    if stripper.inside:
        raise ValueError("a solution is not closed (solution-start without solution-end, or an "
                         "unclosed solution directive)")
    return re.sub(r"\n{3,}", "\n\n", out)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def strip_notebook(nb: dict) -> dict:
    """A copy of notebook ``nb`` (an nbformat dict) without solution cells or solution text.

    Code cells between a ``solution-start`` and its ``solution-end`` are dropped with their
    outputs; Markdown cells lose the solution lines and are dropped when nothing is left."""
    out = copy.deepcopy(nb)
    stripper = _Stripper()
    cells = []
    for cell in out.get("cells", []):
        if cell.get("cell_type") == "markdown":
            text = re.sub(r"\n{3,}", "\n\n", "".join(stripper.lines(_source(cell)))).strip("\n")
            if not text.strip():
                continue
            cell["source"] = text
            cells.append(cell)
        elif not stripper.inside:
            cells.append(cell)
    if stripper.inside:
        raise ValueError("a solution is not closed in the notebook")
    out["cells"] = cells
    return out


def has_solutions(text: str) -> bool:
    """Whether a MyST text holds a solution directive."""
    return any((m := OPENING.match(line)) and m["name"] in SOLUTION_DIRECTIVES | {GATE_START}
               for line in text.splitlines())


class _Splitter:
    """Splits MyST text into solution and non-solution parts; its state carries over from one
    cell to the next (a gated solution spans cells). The solution directives' own lines (their
    fences and options) belong to neither part."""

    def __init__(self) -> None:
        self.skip: str | None = None      # fence of a solution-start/solution-end being skipped
        self.ending = False               # ... and it is the solution-end
        self.gated = False                # between a solution-start and its solution-end
        self.single: str | None = None    # fence of a {solution} directive whose body this is
        self.options = False              # just after a solution directive's opening: its options

    @property
    def inside(self) -> bool:
        return self.gated or self.single is not None

    def parts(self, text: str) -> list[tuple[bool, str]]:
        """``text`` as (is a solution, text) parts, in order."""
        out: list[tuple[bool, list[str]]] = []

        def add(solution: bool, line: str) -> None:
            if out and out[-1][0] == solution:
                out[-1][1].append(line)
            else:
                out.append((solution, [line]))

        for line in text.splitlines(keepends=True):
            if self.skip is not None:
                if closes(line, self.skip):
                    self.skip = None
                    if self.ending:
                        self.gated = self.ending = False
                continue
            if self.options:
                if re.match(r"^\s*:[\w-]+:", line):
                    continue
                self.options = False
            if self.single is not None:
                if closes(line, self.single):
                    self.single = None
                else:
                    add(True, line)
                continue
            match = OPENING.match(line)
            name = match["name"] if match else None
            if self.gated:
                if name == GATE_END:
                    self.skip, self.ending = match["fence"], True
                else:
                    add(True, line)
                continue
            if name == GATE_START:
                self.gated, self.skip = True, match["fence"]
            elif name in SOLUTION_DIRECTIVES:
                self.single, self.options = match["fence"], True
            else:
                add(False, line)
        return [(solution, "".join(lines)) for solution, lines in out if "".join(lines).strip()]


def split_notebook(nb: dict) -> dict:
    """A copy of notebook ``nb`` whose Markdown cells are split where solutions start and end:
    each cell of a solution (its Markdown, and the code cells of a gated solution) gets
    ``metadata["cnnbook_solution"] = True`` and loses the solution directives' own lines."""
    out = copy.deepcopy(nb)
    splitter = _Splitter()
    cells = []
    for cell in out.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for solution, text in splitter.parts(_source(cell)):
                new = copy.deepcopy(cell)
                new["source"] = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
                if solution:
                    new.setdefault("metadata", {})["cnnbook_solution"] = True
                cells.append(new)
        else:
            if splitter.inside:
                cell.setdefault("metadata", {})["cnnbook_solution"] = True
            cells.append(cell)
    if splitter.inside:
        raise ValueError("a solution is not closed in the notebook")
    out["cells"] = cells
    return out
