"""Display forms: each formula the book shows, written as a textbook prints it.

A sympy expression is the single source of truth of a formula, but ``sympy.latex`` prints its
terms in sympy's own order (``floor((-d(k-1) + n + 2p - 1)/s) + 1``). A person writes
``\\left\\lfloor \\frac{n + 2p - d(k-1) - 1}{s} \\right\\rfloor + 1``. So every displayed formula
has a *display form*: the LaTeX a person would write, kept beside its expression and registered
with :func:`display_form`. The book and the interactives show the display form; nothing shows
``sympy.latex`` of a formula.

A display form is only as good as its proof that it says the same as the expression. The proof
does not go through sympy's printer: :func:`parse` reads the book's own notation back into a
sympy expression (a small translator: fractions, floors and ceilings, powers, ``\\max``/``\\min``,
square roots, implicit multiplication), and :func:`same` compares the two, first by simplifying
their difference to zero and, where floors make that impossible, by evaluating both exactly
(rational arithmetic) at many random points of the symbols' domains.

The notation the translator reads
---------------------------------
* symbols are written as sympy prints them or with their subscripts in ``\\text{}``
  (``C_\\text{in}``, ``C_{in}`` and ``C_{\\text{in}}`` are the same symbol); a display form may
  also name extra spellings (``symbols={r"k_\\text{eff}": some_symbol}``);
* ``\\frac{a}{b}``, ``\\left\\lfloor x \\right\\rfloor``, ``\\lceil x \\rceil``, ``x^{e}``,
  ``\\sqrt{x}``, ``\\max(a, b)``, ``\\min(a, b)``, ``\\log_2 x`` is not read: write ``\\log_{2}(x)``;
* ``\\cdot`` and ``\\times`` multiply, and so does juxtaposition (``2p``, ``d(k-1)``);
* spacing commands (``\\,``, ``\\;``, ``\\quad``) are ignored.
Anything else raises :class:`DisplayParseError` naming what it could not read.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

__all__ = ["Display", "DisplayParseError", "DISPLAYS", "display_form", "form", "parse",
           "same", "check_same", "text_template"]


class DisplayParseError(ValueError):
    """A display form uses notation the translator does not read."""


# ---------------------------------------------------------------------------------------------
# The translator: the book's LaTeX back to a sympy expression
# ---------------------------------------------------------------------------------------------
_SPACING = (r"\,", r"\;", r"\:", r"\!", r"\quad", r"\qquad", "~", r"\ ")
_FUNCS = {r"\max": "Max", r"\min": "Min", r"\log": "log", r"\ln": "log", r"\exp": "exp"}
_OPEN = {"(": "(", "[": "(", r"\lfloor": "floor(", r"\lceil": "ceiling(", r"\{": "(",
         r"\lbrack": "("}
_CLOSE = {")": ")", "]": ")", r"\rfloor": ")", r"\rceil": ")", r"\}": ")", r"\rbrack": ")"}
_PRODUCT = {r"\cdot", r"\times"}
_COMMANDS = sorted({r"\frac", r"\sqrt", r"\left", r"\right", r"\lfloor", r"\rfloor", r"\lceil",
                    r"\rceil", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\big", r"\Big",
                    r"\{", r"\}", r"\lbrack", r"\rbrack", *_PRODUCT, *_FUNCS}, key=len, reverse=True)


def _normalize(tex: str) -> str:
    """One spelling of the same notation: no spaces, ``\\text``/``\\mathrm`` unwrapped inside
    subscripts, one-character subscripts braced, ``\\dfrac``/``\\tfrac`` as ``\\frac``."""
    out = tex
    for sp_cmd in (r"\qquad", r"\quad"):
        out = out.replace(sp_cmd, " ")
    out = re.sub(r"\\[,;:!]", " ", out)
    out = out.replace("~", " ")
    out = re.sub(r"\\[dt]frac", r"\\frac", out)
    # Subscripts: _\text{in} -> _{in}, _{\text{in}} -> _{in}, _x -> _{x}
    out = re.sub(r"_\s*\\(?:text|mathrm|textrm)\s*\{([^{}]*)\}", r"_{\1}", out)
    out = re.sub(r"_\s*\{\s*\\(?:text|mathrm|textrm)\s*\{([^{}]*)\}\s*\}", r"_{\1}", out)
    out = re.sub(r"_([A-Za-z0-9])", r"_{\1}", out)
    # Upright words elsewhere (\text{MACs}) are their letters.
    out = re.sub(r"\\(?:text|mathrm|textrm|operatorname)\s*\{([^{}]*)\}", r"\1", out)
    return re.sub(r"\s+", " ", out).strip()


def _symbol_spellings(symbols, extra: dict | None) -> list[tuple[str, sp.Symbol]]:
    """Every spelling of every symbol, longest first (so ``k_{h}`` wins over ``k``)."""
    table: dict[str, sp.Symbol] = {}
    for sym in symbols:
        for spelling in (sp.latex(sym), sym.name):
            table.setdefault(_normalize(spelling).replace(" ", ""), sym)
    for spelling, sym in (extra or {}).items():
        table[_normalize(spelling).replace(" ", "")] = sym
    return sorted(table.items(), key=lambda kv: -len(kv[0]))


class _Reader:
    """Recursive-descent reading of normalized LaTeX into Python source for ``parse_expr``."""

    def __init__(self, tex: str, spellings):
        self.s = tex.replace(" ", "")
        self.i = 0
        self.spellings = spellings
        self.used: dict[str, sp.Symbol] = {}

    def fail(self, what: str):
        raise DisplayParseError(f"cannot read {what} at position {self.i} of {self.s!r}")

    def peek(self, text: str) -> bool:
        return self.s.startswith(text, self.i)

    def command(self) -> str:
        """The command at the cursor: a known one (spaces are gone, so ``\\cdotC`` is
        ``\\cdot`` then ``C``), else the longest run of letters (for the error message)."""
        rest = self.s[self.i:]
        for name in _COMMANDS:
            if rest.startswith(name):
                return name
        m = re.match(r"\\[A-Za-z]+|\\.", rest)
        return m.group(0) if m else ""

    def group(self) -> list[tuple[str, str]]:
        """A ``{...}`` group (or one token) as a parenthesized token list."""
        if self.peek("{"):
            self.i += 1
            toks = self.sequence("}")
            self.i += 1
            return [("open", "(")] + toks + [("close", ")")]
        if self.i < len(self.s) and (self.s[self.i].isdigit()):
            self.i += 1
            return [("operand", self.s[self.i - 1])]
        one = self.atom()
        if one is None:
            self.fail("a group")
        return one

    def sequence(self, stop: str | None) -> list[tuple[str, str]]:
        toks: list[tuple[str, str]] = []
        while self.i < len(self.s):
            if stop is not None and self.peek(stop):
                return toks
            if self.peek(r"\right") and stop == "right":
                return toks
            got = self.atom()
            if got is None:
                return toks
            toks.extend(got)
        if stop not in (None, "right"):
            self.fail(f"the closing {stop!r}")
        return toks

    def atom(self) -> list[tuple[str, str]] | None:
        s, i = self.s, self.i
        if i >= len(s):
            return None
        for spelling, sym in self.spellings:
            if spelling and s.startswith(spelling, i):
                self.i += len(spelling)
                name = f"S{len(self.used)}" if sym not in self.used.values() else \
                    next(k for k, v in self.used.items() if v == sym)
                self.used[name] = sym
                return [("operand", name)]
        ch = s[i]
        if ch.isdigit() or (ch == "." and i + 1 < len(s) and s[i + 1].isdigit()):
            m = re.match(r"\d*\.?\d+", s[i:])
            self.i += len(m.group(0))
            return [("operand", m.group(0))]
        if ch in "+-=,":
            self.i += 1
            return [("op", {"=": "==", ",": ","}.get(ch, ch))]
        if ch == "/":
            self.i += 1
            return [("op", "/")]
        if ch == "^":
            self.i += 1
            return [("op", "**")] + self.group()
        if ch == "{":
            return self.group()
        if ch in "([":
            self.i += 1
            inner = self.sequence(")" if ch == "(" else "]")
            self.i += 1
            return [("open", "(")] + inner + [("close", ")")]
        if ch in ")]}":
            return None
        if ch == "\\":
            cmd = self.command()
            if cmd == r"\frac":
                self.i += len(cmd)
                num, den = self.group(), self.group()
                return [("open", "(")] + num + [("op", "/")] + den + [("close", ")")]
            if cmd == r"\sqrt":
                self.i += len(cmd)
                return [("func", "sqrt")] + self.group()
            if cmd == r"\left":
                self.i += len(cmd)
                opener = self.delimiter(_OPEN)
                inner = self.sequence("right")
                if not self.peek(r"\right"):
                    self.fail(r"\right")
                self.i += len(r"\right")
                self.delimiter(_CLOSE)
                return [("open", opener)] + inner + [("close", ")")]
            if cmd in (r"\lfloor", r"\lceil"):
                self.i += len(cmd)
                closer = r"\rfloor" if cmd == r"\lfloor" else r"\rceil"
                inner = self.sequence(closer)
                self.i += len(closer)
                return [("open", _OPEN[cmd])] + inner + [("close", ")")]
            if cmd in _PRODUCT:
                self.i += len(cmd)
                return [("op", "*")]
            if cmd in _FUNCS:
                self.i += len(cmd)
                if cmd == r"\log" and self.peek("_"):
                    self.i += 1
                    base = self.group()
                    arg = self.group() if not self.peek("(") else self.atom()
                    return [("func", "log")] + [("open", "(")] + arg[1:-1] + [("op", ",")] + \
                        base[1:-1] + [("close", ")")] if arg[0][0] == "open" else self.fail(r"\log_")
                return [("func", _FUNCS[cmd])]
            if cmd in (r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\big", r"\Big"):
                self.i += len(cmd)
                return self.atom()
            self.fail(f"the command {cmd!r}")
        self.fail(f"the character {ch!r}")
        return None

    def delimiter(self, table: dict[str, str]) -> str:
        for key in sorted(table, key=len, reverse=True):
            if self.peek(key):
                self.i += len(key)
                return table[key]
        if self.peek("."):
            self.i += 1
            return "("
        self.fail("a delimiter")
        return ""


def _join(tokens: list[tuple[str, str]]) -> str:
    """Python source, with ``*`` where two operands meet (implicit multiplication)."""
    out: list[str] = []
    prev = None
    for kind, text in tokens:
        starts = kind in ("operand", "open", "func")
        if starts and prev in ("operand", "close"):
            out.append("*")
        out.append(text)
        prev = kind
    return "".join(out)


def parse(tex: str, symbols, extra: dict | None = None) -> sp.Expr:
    """Read a display form back into sympy, with ``symbols`` (an iterable of sympy symbols) as
    the names it may use. Raises :class:`DisplayParseError` on notation it does not read."""
    reader = _Reader(_normalize(tex), _symbol_spellings(symbols, extra))
    tokens = reader.sequence(None)
    if reader.i != len(reader.s):
        reader.fail("the rest")
    source = _join(tokens)
    names = dict(reader.used)
    names.update(floor=sp.floor, ceiling=sp.ceiling, Max=sp.Max, Min=sp.Min, sqrt=sp.sqrt,
                 log=sp.log, exp=sp.exp)
    try:
        return parse_expr(source, local_dict=names, transformations=standard_transformations)
    except Exception as exc:  # a SyntaxError or TypeError from a malformed form
        raise DisplayParseError(f"{tex!r} read as {source!r}, which is not an expression: {exc}")


# ---------------------------------------------------------------------------------------------
# Equality by a route that does not go through the printer
# ---------------------------------------------------------------------------------------------
def _sample(sym: sp.Symbol, rng: random.Random):
    if sym.is_integer:
        if sym.is_positive:
            return sp.Integer(rng.randint(1, 64))
        if sym.is_nonnegative:
            return sp.Integer(rng.randint(0, 64))
        return sp.Integer(rng.randint(-64, 64))
    value = sp.Rational(rng.randint(1, 999), rng.randint(1, 97))
    if sym.is_positive or sym.is_nonnegative:
        return value
    return value if rng.random() < 0.5 else -value


def same(a: sp.Expr, b: sp.Expr, trials: int = 300, seed: int = 0) -> str:
    """How ``a`` and ``b`` were shown equal ("symbolic" or "N random points"); raises
    ``AssertionError`` with a point where they differ."""
    diff = sp.simplify(a - b)
    if diff == 0:
        return "symbolic"
    rng = random.Random(seed)
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda x: x.name)
    checked = 0
    for _ in range(trials * 3):
        point = {x: _sample(x, rng) for x in syms}
        try:
            va, vb = a.subs(point), b.subs(point)
        except ZeroDivisionError:
            continue
        if not (va.is_finite and vb.is_finite) or va.has(sp.zoo, sp.nan) or vb.has(sp.zoo, sp.nan):
            continue
        if sp.simplify(va - vb) != 0:
            shown = ", ".join(f"{x}={v}" for x, v in point.items())
            raise AssertionError(f"{a} and {b} differ at {shown}: {va} != {vb}")
        checked += 1
        if checked == trials:
            break
    if checked < trials // 2:
        raise AssertionError(f"{a} and {b}: only {checked} of {trials} points could be evaluated")
    return f"{checked} random points"


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Display:
    """A formula as the book shows it: ``lhs = tex``, proven equal to ``expr``."""

    name: str
    lhs: str
    tex: str
    expr: sp.Expr
    symbols: dict = field(default_factory=dict, compare=False)

    @property
    def latex(self) -> str:
        """The whole equation, ``lhs = tex`` (the right side alone if there is no lhs)."""
        return f"{self.lhs} = {self.tex}" if self.lhs else self.tex

    def parsed(self) -> sp.Expr:
        """The display form read back into sympy (see :func:`parse`)."""
        return parse(self.tex, self.expr.free_symbols, self.symbols)

    def check(self) -> str:
        """Prove the display form equal to its expression; return how (see :func:`same`)."""
        return same(self.parsed(), self.expr)

    def math(self):
        """The equation as an IPython ``Math`` object (for ``glue`` and ``display``)."""
        from IPython.display import Math
        return Math(self.latex)

    def template(self) -> list:
        """The right side as a plain-text template for the interactives (see
        :func:`text_template`)."""
        return text_template(self.tex, self.expr.free_symbols, self.symbols)


#: Every registered display form, by name.
DISPLAYS: dict[str, Display] = {}


def display_form(name: str, lhs: str, tex: str, expr: sp.Expr,
                 symbols: dict | None = None) -> Display:
    """Register the display form of ``expr`` under ``name``; a second registration of the same
    name raises ``ValueError`` (as torch's FLOP-counter registry does)."""
    if name in DISPLAYS:
        raise ValueError(f"a display form named {name!r} is already registered")
    form = Display(name, lhs, tex, sp.sympify(expr), dict(symbols or {}))
    DISPLAYS[name] = form
    return form


def form(name: str) -> Display:
    """The registered display form ``name``; the error lists close names."""
    try:
        return DISPLAYS[name]
    except KeyError:
        import difflib
        close = difflib.get_close_matches(name, DISPLAYS, n=5)
        raise ValueError(f"no display form named {name!r}"
                         + (f"; did you mean {', '.join(close)}?" if close else "")) from None


def check_same(tex: str, expr: sp.Expr, symbols: dict | None = None) -> str:
    """Prove a display form written in a page equal to the expression it shows (for derivation
    steps that are not library formulas); returns how, raises ``AssertionError`` if not."""
    return same(parse(tex, sp.sympify(expr).free_symbols, symbols), sp.sympify(expr))


# ---------------------------------------------------------------------------------------------
# Plain text for the interactives
# ---------------------------------------------------------------------------------------------
def text_template(tex: str, symbols, extra: dict | None = None) -> list:
    """A display form as the interactives' template: strings, and ``[symbol_name]`` where a
    symbol stands, in the display form's own order. It is made from the same reading as
    :func:`parse`: floors as ``⌊…⌋``, ``\\frac{a}{b}`` as ``(a)/(b)`` (no parentheses around a
    single symbol or number), products and juxtaposition as ``·``, powers as ``^``."""
    reader = _Reader(_normalize(tex), _symbol_spellings(symbols, extra))
    tokens = reader.sequence(None)
    if reader.i != len(reader.s):
        reader.fail("the rest")
    names = {name: sym.name for name, sym in reader.used.items()}
    # Drop the parentheses of a group that holds one operand: (a)/(b) -> a/b, x^(2) -> x^2.
    simplified: list[tuple[str, str]] = []
    for tok in tokens:
        simplified.append(tok)
        if (len(simplified) >= 3 and simplified[-1] == ("close", ")")
                and simplified[-2][0] == "operand" and simplified[-3] == ("open", "(")):
            operand = simplified[-2]
            del simplified[-3:]
            simplified.append(operand)
    simplified = _drop_redundant_parentheses(simplified)
    out: list = []
    closers: list[str] = []
    prev = None
    for kind, text in simplified:
        if kind in ("operand", "open", "func") and prev in ("operand", "close"):
            out.append("·")
        if kind == "operand":
            out.append([names[text]] if text in names else text)
        elif kind == "open":
            opener = {"floor(": "⌊", "ceiling(": "⌈"}.get(text, "(")
            closers.append({"⌊": "⌋", "⌈": "⌉"}.get(opener, ")"))
            out.append(opener)
        elif kind == "close":
            out.append(closers.pop() if closers else ")")
        elif kind == "func":
            out.append({"sqrt": "√", "Max": "max", "Min": "min"}.get(text, text))
        else:
            out.append({"**": "^", "*": "·", "-": " − ", "+": " + ", "==": " = ",
                        ",": ", ", "/": "/"}.get(text, text))
        prev = kind
    merged: list = []
    for seg in out:
        if isinstance(seg, str) and merged and isinstance(merged[-1], str):
            merged[-1] += seg
        else:
            merged.append(seg)
    return merged


def _drop_redundant_parentheses(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Remove a plain ``( … )`` that is the whole content of an enclosing bracket, or that holds
    no top-level sum and is neither a divisor, a base nor a function's argument:
    ``⌊((a + b)/s)⌋`` reads ``⌊(a + b)/s⌋``, ``(1/C) + (1/(k^2))`` reads ``1/C + 1/k^2``."""
    match: dict[int, int] = {}
    stack: list[int] = []
    for idx, (kind, _) in enumerate(tokens):
        if kind == "open":
            stack.append(idx)
        elif kind == "close" and stack:
            match[stack.pop()] = idx
    drop: set[int] = set()
    for start, end in match.items():
        if tokens[start][1] != "(":
            continue
        before = tokens[start - 1][0] if start > 0 else "open"
        after = tokens[end + 1][0] if end + 1 < len(tokens) else "close"
        whole = before == "open" and after == "close"
        depth, has_sum = 0, False
        for kind, text in tokens[start + 1:end]:
            depth += (kind == "open") - (kind == "close")
            if depth == 0 and kind == "op" and text in ("+", "-", ",", "=="):
                has_sum = True
        prev_text = tokens[start - 1][1] if start > 0 else ""
        next_text = tokens[end + 1][1] if end + 1 < len(tokens) else ""
        product = (not has_sum and prev_text not in ("/", "**") and next_text != "**"
                   and tokens[start - 1][0] != "func" if start > 0 else not has_sum)
        if whole or product:
            drop.update((start, end))
    return [tok for idx, tok in enumerate(tokens) if idx not in drop]
