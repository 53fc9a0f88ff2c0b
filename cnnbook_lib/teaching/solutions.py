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
