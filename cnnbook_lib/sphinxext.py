"""Sphinx extension for the book: gated solutions removed whole from the student edition.

sphinx-exercise's ``hide_solutions`` drops the ``solution-start`` directive but keeps what
follows it (the solution's code cells) and the ``solution-end`` marker, which the HTML writer then
cannot handle. With this extension, each ``solution-start`` of a hidden edition leaves a marker, and
a transform deletes everything from the marker to its ``solution-end``, before sphinx-exercise
merges gated solutions. Used by ``make student``; a normal build is unchanged.
"""
from __future__ import annotations

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


def setup(app):
    """Register the directive, node and transform with Sphinx."""
    app.setup_extension("sphinx_exercise")
    app.add_directive("solution-start", HidingSolutionStart, override=True)
    app.add_node(hidden_solution_start)
    app.add_transform(RemoveHiddenSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
