"""Sphinx extension for the book: gated solutions removed whole from the student edition.

sphinx-exercise's ``hide_solutions`` drops the ``solution-start`` directive but keeps what
follows it (the solution's code cells) and the ``solution-end`` marker, which the HTML writer then
cannot handle. With this extension, each ``solution-start`` of a hidden edition leaves a marker, and
a transform deletes everything from the marker to its ``solution-end``, before sphinx-exercise
merges gated solutions. Used by ``make student``; a normal build is unchanged.

The pages are not all a student edition serves: Sphinx copies each page's source into ``_sources/``
(the ".md" download), sphinx-book-theme copies the executed notebook there (the ".ipynb"
download), and any other notebook may sit in the output. When solutions are hidden
(:mod:`cnnbook_lib.teaching.solutions` does the removing):

- an ``env-updated`` hook, before any page is written, removes the solutions from the executed
  notebooks that myst-nb keeps in ``jupyter_execute`` beside the output (what the download copies);
- a ``build-finished`` hook rewrites every Markdown source and notebook under the HTML output
  without its solutions;
- the launch and repository buttons, which open the full repository with its solutions, are left
  out of the pages.
"""
from __future__ import annotations

import json
import pathlib

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node


class hidden_solution_start(nodes.Element):
    """Where a hidden gated solution begins (removed before writing)."""


class HidingSolutionStart(SolutionStartDirective):
    """``solution-start`` that leaves a removal marker when solutions are hidden."""
    def run(self):
        """The marker when solutions are hidden, else sphinx-exercise's nodes."""
        out = super().run()            # keeps sphinx-exercise's bookkeeping of gated directives
        if self.config.hide_solutions:
            return [hidden_solution_start(label=self.arguments[0])]
        return out


class RemoveHiddenSolutions(SphinxTransform):
    """Deletes each hidden gated solution, marker to ``solution-end``."""
    default_priority = 5               # after sphinx-exercise checks the gates, before it merges

    def apply(self) -> None:
        """Remove every marked solution up to its ``solution-end``."""
        for start in list(self.document.findall(hidden_solution_start)):
            parent = start.parent
            i = parent.index(start)
            end = next((j for j in range(i + 1, len(parent))
                        if isinstance(parent[j], solution_end_node)), None)
            if end is None:
                raise ExtensionError(f"solution-start {start['label']!r} in {self.env.docname} has "
                                     "no solution-end at the same level")
            del parent[i:end + 1]


SOURCE_SUFFIXES = (".md", ".md.txt", ".myst", ".txt")
BUTTONS_TO_THE_REPOSITORY = {"launch-buttons", "launch-thebe", "source-buttons",
                             "source-repository-button", "source-file-button",
                             "source-edit-button", "source-issues-button"}


def _hiding(app) -> bool:
    return bool(app.config.hide_solutions) and app.builder.format == "html"


def drop_repository_buttons(app, pagename, templatename, context, doctree) -> None:
    """In the student edition, no header button leads to the full repository (or Binder on it)."""
    if _hiding(app) and "header_buttons" in context:
        context["header_buttons"][:] = [b for b in context["header_buttons"]
                                        if b.get("label") not in BUTTONS_TO_THE_REPOSITORY]


def _strip_tree(folder: pathlib.Path, *, sources: bool) -> None:
    """Rewrite every notebook under folder (and, with ``sources``, every Markdown source under a
    ``_sources`` folder) without its solutions."""
    from .teaching.solutions import strip_markdown, strip_notebook

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.name
        try:
            if name.endswith(".ipynb"):
                nb = json.loads(path.read_text(encoding="utf-8"))
                stripped = strip_notebook(nb)
                if stripped != nb:
                    path.write_text(json.dumps(stripped, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
            elif sources and name.endswith(SOURCE_SUFFIXES) and \
                    "_sources" in path.relative_to(folder).parts:
                text = path.read_text(encoding="utf-8")
                stripped = strip_markdown(text)
                if stripped != text:
                    path.write_text(stripped, encoding="utf-8")
        except ValueError as error:            # also a notebook that is not JSON
            raise ExtensionError(f"solutions not removed from {path}: {error}") from error


def strip_executed_notebooks(app, env):
    """Before any page is written, the executed notebooks myst-nb keeps for the pages (which the
    ".ipynb" download copies) lose their solutions, so nothing made from them holds one."""
    if _hiding(app):
        folder = getattr(getattr(env, "mystnb_config", None), "output_folder", None)
        if folder and pathlib.Path(folder).is_dir():
            _strip_tree(pathlib.Path(folder), sources=False)
    return []


def strip_written_sources(app, exception) -> None:
    """Rewrite every Markdown source and notebook of the HTML output without its solutions."""
    if exception is None and _hiding(app):
        _strip_tree(pathlib.Path(app.outdir), sources=True)


def setup(app):
    """Register the directive, node and transform with Sphinx."""
    app.setup_extension("sphinx_exercise")
    app.add_directive("solution-start", HidingSolutionStart, override=True)
    app.add_node(hidden_solution_start)
    app.add_transform(RemoveHiddenSolutions)
    app.connect("html-page-context", drop_repository_buttons, priority=900)
    app.connect("env-updated", strip_executed_notebooks)
    app.connect("build-finished", strip_written_sources, priority=900)   # after other writers
    return {"parallel_read_safe": True, "parallel_write_safe": True}
