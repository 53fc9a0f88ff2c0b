"""Compile sympy expressions of :mod:`cnnbook_lib.formulas` to JavaScript functions.

The static interactives evaluate formulas in the browser with functions generated here by
``sympy.jscode``: no formula is ever written by hand in JavaScript. A formula is also shown as
text, with the numbers substituted, from a template printed from the same expression.
"""
from __future__ import annotations

from typing import Sequence

import sympy as sp
from sympy.printing.str import StrPrinter


def js_function(expr: sp.Expr, args: Sequence[sp.Symbol]) -> str:
    """JavaScript source ``function(a0, a1, ...) { return <expr>; }`` for ``expr(*args)``.

    The symbols are renamed to ``a0, a1, ...`` (same assumptions) so that any symbol name
    (``C_in``, ``beta``) is a valid JavaScript identifier. Raises ``ValueError`` if ``expr``
    has a free symbol that is not among ``args``.
    """
    names = [sp.Symbol(f"a{i}", **a.assumptions0) for i, a in enumerate(args)]
    renamed = sp.sympify(expr).xreplace(dict(zip(args, names)))
    missing = renamed.free_symbols - set(names)
    if missing:
        raise ValueError(f"expression {expr} has symbols {sorted(map(str, missing))} "
                         f"not among the arguments {[str(a) for a in args]}")
    code = sp.jscode(renamed)
    return f"function({', '.join(map(str, names))}) {{ return {code}; }}"


def js_functions(table: dict[str, tuple[sp.Expr, Sequence[sp.Symbol]]]) -> str:
    """A JavaScript object literal ``{name: function(...) {...}, ...}`` compiled from ``table``."""
    body = ",\n".join(f"  {name}: {js_function(expr, args)}" for name, (expr, args) in table.items())
    return "{\n" + body + "\n}"


class _TemplatePrinter(StrPrinter):
    """str() of an expression with every symbol printed as a marker ``\\x00name\\x00``."""

    def _print_Symbol(self, expr):
        return f"\x00{expr.name}\x00"


def formula_template(expr: sp.Expr) -> list:
    """The text of ``expr`` as segments: strings, and ``[symbol_name]`` where a symbol stands.

    ``"*"`` becomes ``"·"``. Both the Python and the JavaScript view fill the symbols in, with
    their names (the formula) or with numbers (the formula with numbers substituted).
    """
    text = _TemplatePrinter().doprint(expr).replace("**", "^").replace("*", "·")
    parts = text.split("\x00")
    out: list = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append([part])
        elif part:
            out.append(part)
    return out


def fill_template(template: list, values: dict | None = None) -> str:
    """Join a :func:`formula_template`, substituting ``values[name]`` where given."""
    values = values or {}
    return "".join(seg if isinstance(seg, str) else str(values.get(seg[0], seg[0]))
                   for seg in template)
