"""What the book's pages share: equations in their display forms, checks that run when a page is
built and are listed in a folded box at its end, and glue helpers.

A page imports this module once (``from cnnbook_lib import page``) instead of defining its own
prelude. Each page runs in its own kernel, so the list of checks belongs to that page.

Typical use in a page::

    page.glue_equation("eq_conv_out", "conv_output")          # a library formula's display form
    page.glue_equation("eq_last", lhs=r"t_\\text{last}",         # a derivation step of the page
                       tex=r"n + 2p - k_\\text{eff}", expr=last_start)
    page.check("the output size matches torch on 500 random layers", all(ok))
    ...
    page.checked_box()                                         # the page's last cell

Every check raises ``AssertionError`` when it fails, so a wrong claim stops the build.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable

import sympy as sp

from . import formulas
from .formulas.display import Display, check_same

#: Decimals a page's tables show for floats (pandas prints six by default, which reads as noise
#: in a table of ratios and megabytes); a column that needs more formats itself.
TABLE_DECIMALS = 3


def _table_style() -> None:
    try:
        import pandas as pd
    except ImportError:                     # pandas is optional for the library
        return
    pd.set_option("display.precision", TABLE_DECIMALS)
    pd.set_option("styler.format.precision", TABLE_DECIMALS)


_table_style()

__all__ = ["Check", "CHECKS", "check", "check_equal", "equation", "glue_equation", "glue_text",
           "checked_box", "checked_html", "reset"]


@dataclass(frozen=True)
class Check:
    """One check a page ran: what it claims, and how it was established."""

    what: str
    how: str = ""


#: The checks this page has run, in order.
CHECKS: list[Check] = []


def reset() -> None:
    """Forget the checks recorded so far (a page starts with none)."""
    CHECKS.clear()


def _record(what: str, how: str) -> None:
    if not any(c.what == what and c.how == how for c in CHECKS):
        CHECKS.append(Check(what, how))


def check(what: str, ok: bool | Callable[[], bool], how: str = "") -> None:
    """Record the check ``what`` (one line, as the reader will see it) and fail the build if it
    does not hold. ``ok`` may be a callable, evaluated here. ``how`` names the oracle and cases
    ("torch's conv2d, 500 random layers")."""
    if not isinstance(what, str) or not what.strip():
        raise ValueError("check needs a non-empty description 'what'")
    result = ok() if callable(ok) else ok
    if not bool(result):
        raise AssertionError(f"check failed: {what}" + (f" ({how})" if how else ""))
    _record(what, how)


def check_equal(what: str, got: Any, expected: Any, how: str = "") -> None:
    """Like :func:`check`, for ``got == expected``; the failure shows both values."""
    if got != expected:
        raise AssertionError(f"check failed: {what}: got {got!r}, expected {expected!r}"
                             + (f" ({how})" if how else ""))
    _record(what, how)


def equation(name: str | None = None, *, lhs: str | None = None, tex: str | None = None,
             expr: sp.Expr | None = None, symbols: dict | None = None):
    """An equation as the page displays it (an IPython ``Math``), proven equal to its sympy
    expression first.

    * ``equation("conv_output")``: the library's registered display form of that formula
      (:func:`cnnbook_lib.formulas.form`); ``lhs=`` may override its left side.
    * ``equation(lhs=..., tex=..., expr=...)``: a step of a derivation written in the page,
      proven equal to ``expr`` by :func:`cnnbook_lib.formulas.display.check_same`.
    """
    from IPython.display import Math
    if name is not None:
        if tex is not None or expr is not None:
            raise ValueError("give either a registered name or tex and expr, not both")
        form: Display = formulas.form(name)
        how = form.check()
        _record(f"the displayed equation \\({form.latex}\\) equals the library's formula "
                f"formulas.{name}", how)
        shown = lhs if lhs is not None else form.lhs
        return Math(f"{shown} = {form.tex}" if shown else form.tex)
    if tex is None or expr is None:
        raise ValueError("equation needs a registered name, or both tex and expr")
    how = check_same(tex, expr, symbols)
    label = f"{lhs} = {tex}" if lhs else tex
    _record(f"the displayed equation \\({label}\\) equals its sympy derivation", how)
    return Math(label)


def glue_equation(key: str, name: str | None = None, **kwargs) -> None:
    """Glue :func:`equation` under ``key`` for a ``{glue:math}`` directive."""
    from .glue import glue                  # myst-nb's in the build, a no-op without it
    glue(key, equation(name, **kwargs), display=False)


def glue_text(key: str, value: Any, spec: str = ",") -> str:
    """Glue ``value`` formatted with ``spec`` (``","`` for thousands separators, ``".1f"``...)
    under ``key`` for ``{glue:text}``; returns the text. Values are formatted in Python first
    (NumPy scalars included), so the page shows exactly this text."""
    from .glue import glue                  # myst-nb's in the build, a no-op without it
    if hasattr(value, "item"):
        value = value.item()
    text = value if isinstance(value, str) else format(value, spec)
    glue(key, text, display=False)
    return text


def checked_html(checks: list[Check] | None = None) -> str:
    """The folded box "What this page checked" as HTML: one line per check."""
    checks = CHECKS if checks is None else checks
    items = "".join(
        f"<li>{html.escape(c.what)}" + (f" <span class=\"cnnbook-how\">({html.escape(c.how)})"
                                          f"</span>" if c.how else "") + "</li>"
        for c in checks)
    return (f'<details class="cnnbook-checked"><summary>What this page checked '
            f'({len(checks)} check{"s" if len(checks) != 1 else ""}, all passed when the page '
            f'was built)</summary><ul class="mathjax_process">{items}</ul></details>')


def checked_box():
    """Display the folded box of this page's checks (the page's last cell, ``remove-input``);
    nothing when no check ran (a copy of the page whose checking cells were removed)."""
    from IPython.display import HTML
    if not CHECKS:      # a copy without the cells that check (a solution-free handout) shows none
        return None
    return HTML(checked_html())


def math(*parts):
    """One display made of proven equations (what :func:`equation` returns) and the LaTeX that
    joins them: a relation (``r"t \\geq"`` before a proven right side), a comma between two
    equations, a condition in words (``r"\\quad\\text{for every } (i, j)"``). Only the parts
    made by :func:`equation` are formulas; the strings must not carry one."""
    from IPython.display import Math
    return Math(" ".join(p if isinstance(p, str) else p.data for p in parts))


def glue_math(key: str, *parts) -> None:
    """Glue :func:`math` under ``key`` for a ``{glue:math}`` directive."""
    from .glue import glue                  # myst-nb's in the build, a no-op without it
    glue(key, math(*parts), display=False)


def mib(nbytes: float, spec: str = ",.1f") -> str:
    """Bytes as MiB text (``2**20`` bytes), for glue: ``mib(3 * 2**20)`` is ``"3.0"``."""
    return format(nbytes / 2 ** 20, spec)


def quiet_stderr():
    """A context manager that hides what C++ code writes to the process's stderr (torch's
    profiler prints start and stop lines there), so that it does not reach the page."""
    import contextlib
    import os

    @contextlib.contextmanager
    def hidden():
        saved = os.dup(2)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
    return hidden()


def counted_flops(fn: Callable[..., Any], *args, **kwargs) -> int:
    """The FLOPs that torch's own counter (``torch.utils.flop_counter.FlopCounterMode``) sees
    while ``fn(*args, **kwargs)`` runs: 2 per multiply-accumulate of a convolution or a matrix
    product. Works on the meta device, so nothing is computed."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return counter.get_total_flops()


# ---------------------------------------------------------------------------------------------
# Networks read as per-layer tables (chapter 4)
# ---------------------------------------------------------------------------------------------
#: The columns of a per-layer table (:func:`cnnbook_lib.exercises.layer_table`) and the headings
#: the book prints them under.
TABLE_COLUMNS = {"layer": "layer", "type": "type", "output": "output C×H×W", "volume": "volume",
                 "params": "parameters", "macs": "MACs", "activation_bytes": "output bytes"}
_COUNT_COLUMNS = ("volume", "params", "macs", "activation_bytes")


def show_table(table, before: tuple | list = ()):
    """A per-layer table (:func:`cnnbook_lib.exercises.layer_table`) as the book prints it: the
    columns of :data:`TABLE_COLUMNS` under their headings, counts with thousands separators, no
    index. ``before`` names extra columns of ``table`` shown first, under their own names (the
    paper's layer names, for instance)."""
    columns = list(before) + list(TABLE_COLUMNS)
    shown = table[columns].rename(columns=TABLE_COLUMNS)
    return shown.style.hide(axis="index").format(
        {TABLE_COLUMNS[c]: "{:,}" for c in _COUNT_COLUMNS})


def meta_model(name: str, **options):
    """The network ``name`` of :mod:`cnnbook_lib.architectures` (``build(name, **options)``)
    built on the meta device: its shapes are real, its weights take no memory, and a forward pass
    computes nothing."""
    import torch

    from . import architectures
    with torch.device("meta"):
        return architectures.build(name, **options)


def n_params(module) -> int:
    """The parameters of a module as torch counts them: ``numel()`` summed over
    ``module.parameters()``."""
    return sum(p.numel() for p in module.parameters())


def torch_counts(model, size) -> tuple[int, int]:
    """``(parameters, MACs)`` of ``model`` for one forward pass of an input of shape ``size``
    (batch first), both as torch counts them: :func:`n_params`, and half the FLOPs that
    :func:`counted_flops` (``FlopCounterMode``) sees, on the meta device. The independent count
    that a page compares the library's table with."""
    import torch
    flops = counted_flops(model, torch.empty(tuple(size), device="meta"))
    return n_params(model), flops // 2


def draw_shares(ax, table, title: str = "", fontsize: float = 8) -> None:
    """Each row's share of a per-layer table's parameters and of its MACs, in percent, as two bars
    per row from the input (top) to the output; rows with neither are left out. ``fontsize`` is
    the size of the row names (7 for long tables)."""
    import numpy as np

    from . import plots
    t = table[(table.params > 0) | (table.macs > 0)]
    y = np.arange(len(t))
    ax.barh(y - 0.2, 100 * t.params / t.params.sum(), 0.4, label="parameters",
            color=plots.COLORS["formula"])
    ax.barh(y + 0.2, 100 * t.macs / t.macs.sum(), 0.4, label="MACs",
            color=plots.COLORS["measured"])
    ax.set_yticks(y, t.layer, fontsize=fontsize)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower right")
    plots.label(ax, "share of the network's total", "", xunit="%", title=title)
