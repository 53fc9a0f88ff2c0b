"""``glue`` for the book's pages, wherever they run.

In the book's build, :func:`glue` is myst-nb's (``myst_nb.glue``): it records a value for the page's
``{glue:text}``, ``{glue:math}`` and ``{glue:figure}``. A downloaded notebook or a handout runs
without myst-nb (it is no dependency of the library): there the values are already written into
the notebook's text, and :func:`glue` only shows the value when asked to (``display=True``), as
myst-nb would, and records nothing.
"""
from __future__ import annotations

import re
from typing import Any

try:                                           # the book's build (and any environment with myst-nb)
    from myst_nb import glue as _myst_glue
except ImportError:                            # a reader's environment: the library alone
    _myst_glue = None

#: Whether glued values are recorded (myst-nb is importable).
RECORDS = _myst_glue is not None


def glue(name: str, variable: Any, display: bool = True) -> None:
    """myst-nb's ``glue(name, variable, display)`` where myst-nb is installed; elsewhere it shows
    ``variable`` if ``display`` and records nothing (the notebook's text already holds it)."""
    if _myst_glue is not None:
        return _myst_glue(name, variable, display=display)
    if display:
        from IPython.display import display as show
        show(variable)
    return None


#: The import a page's code makes of myst-nb's glue, and what a downloaded notebook makes instead.
MYST_NB_IMPORT = re.compile(r"^(?P<indent>[ \t]*)from myst_nb import glue[ \t]*$", re.M)
LIBRARY_IMPORT = "from cnnbook_lib.glue import glue   # myst-nb's glue in the book's build; here it records nothing"


def without_myst_nb(source: str) -> str:
    """A page's code with ``from myst_nb import glue`` replaced by this module's :func:`glue`."""
    return MYST_NB_IMPORT.sub(lambda m: m["indent"] + LIBRARY_IMPORT, source)
