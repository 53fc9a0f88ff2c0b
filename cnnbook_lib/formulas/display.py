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
* spacing commands (``\\,``, ``\\;``, ``\\quad``) are ignored;
* ``\\underbrace{x}_{\\text{words}}`` is ``x``: the label under the brace is not read;
* element-wise formulas: an indexed tensor of the expression is written with its indices as a
  subscript (``x_{c, si + du}``, ``w_u``), a sum as ``\\sum_{u=0}^{k-1}`` followed by its
  summand (which runs to the next ``+``, ``-``, ``=`` or comma outside brackets), nested sums
  in any order; a product ``\\prod_{i=1}^{l-1} s_i`` likewise (its factor runs as far);
  ``\\delta_{a,b}`` is Kronecker's delta and ``a \\bmod b`` the remainder;
* ``\\begin{cases} v & \\text{if } c \\\\ w & \\text{otherwise} \\end{cases}``, the conditions
  written with ``\\le``, ``\\ge``, ``<``, ``>``, ``=``, ``\\ne`` (chains such as
  ``0 \\le a - i \\le k - 1`` included) joined by ``\\text{ and }``;
* matrices (``bmatrix``, ``pmatrix``, ``matrix``; rows split by ``\\\\``, entries by ``&``), the
  transpose ``M^T`` (when ``T`` is not a symbol of the expression) and the element-wise product
  ``(a) \\odot (b)`` of two bracketed matrices.
Anything else raises :class:`DisplayParseError` naming what it could not read.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

__all__ = ["Display", "DisplayParseError", "DISPLAYS", "display_form", "form", "form_of", "symbol_tex", "parse",
           "same", "check_same", "text_template", "reading_symbols"]


class DisplayParseError(ValueError):
    """A display form uses notation the translator does not read."""


# ---------------------------------------------------------------------------------------------
# The translator: the book's LaTeX back to a sympy expression
# ---------------------------------------------------------------------------------------------
_SPACING = (r"\,", r"\;", r"\:", r"\!", r"\quad", r"\qquad", "~", r"\ ")
_FUNCS = {r"\max": "Max", r"\min": "Min", r"\log": "log", r"\ln": "log", r"\exp": "exp"}
_RELATIONS = {r"\leq": "Le", r"\le": "Le", r"\geq": "Ge", r"\ge": "Ge", r"\neq": "Ne",
              r"\ne": "Ne", "<": "Lt", ">": "Gt", "==": "Eq"}
_MATRICES = ("bmatrix", "pmatrix", "matrix")
_OPEN = {"(": "(", "[": "(", r"\lfloor": "floor(", r"\lceil": "ceiling(", r"\{": "(",
         r"\lbrack": "("}
_CLOSE = {")": ")", "]": ")", r"\rfloor": ")", r"\rceil": ")", r"\}": ")", r"\rbrack": ")"}
_PRODUCT = {r"\cdot", r"\times"}
_COMMANDS = sorted({r"\frac", r"\sqrt", r"\left", r"\right", r"\lfloor", r"\rfloor", r"\lceil",
                    r"\rceil", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\big", r"\Big",
                    r"\{", r"\}", r"\lbrack", r"\rbrack", r"\sum", r"\prod", r"\bmod", r"\delta",
                    r"\odot", r"\begin", r"\land", r"\otherwise", r"\underbrace",
                    *(k for k in _RELATIONS if k[0] == "\\"), *_PRODUCT, *_FUNCS},
                   key=len, reverse=True)


def _normalize(tex: str) -> str:
    """One spelling of the same notation: no spaces, ``\\text``/``\\mathrm`` unwrapped inside
    subscripts, one-character subscripts braced, ``\\dfrac``/``\\tfrac`` as ``\\frac``."""
    out = tex
    for sp_cmd in (r"\qquad", r"\quad"):
        out = out.replace(sp_cmd, " ")
    out = re.sub(r"\\[,;:!]", " ", out)
    out = out.replace("~", " ")
    out = re.sub(r"\\[dt]frac", r"\\frac", out)
    # The words of a condition: "if" is dropped, "and" is a conjunction, "otherwise" the last row.
    out = re.sub(r"\\text\s*\{\s*if\s*\}", " ", out)
    out = re.sub(r"\\text\s*\{\s*and\s*\}|\\wedge", r" \\land ", out)
    out = re.sub(r"\\text\s*\{\s*otherwise\s*\}", r" \\otherwise ", out)
    out = re.sub(r"\\top\b", "T", out)
    # Subscripts: _\text{in} -> _{in}, _{\text{in}} -> _{in}, _x -> _{x}
    out = re.sub(r"_\s*\\(?:text|mathrm|textrm)\s*\{([^{}]*)\}", r"_{\1}", out)
    out = re.sub(r"_\s*\{\s*\\(?:text|mathrm|textrm)\s*\{([^{}]*)\}\s*\}", r"_{\1}", out)
    out = re.sub(r"_([A-Za-z0-9])", r"_{\1}", out)
    # Upright words elsewhere (\text{MACs}) are their letters.
    out = re.sub(r"\\(?:text|mathrm|textrm|operatorname)\s*\{([^{}]*)\}", r"\1", out)
    return re.sub(r"\s+", " ", out).strip()


def _symbol_spellings(symbols, extra: dict | None) -> list[tuple[str, sp.Symbol]]:
    """Every spelling of every symbol, longest first (so ``k_{h}`` wins over ``k``). An indexed
    tensor (``x[c, i]`` among the symbols) is spelled by its base's name and stands for the
    base, which the reader then indexes with the subscript that follows."""
    table: dict[str, sp.Symbol] = {}
    bases = {sym.base for sym in symbols if isinstance(sym, sp.Indexed)}
    bases |= {sym for sym in symbols if isinstance(sym, sp.IndexedBase)}
    for base in bases:
        for spelling in (sp.latex(base.label), base.label.name):
            table[_normalize(spelling).replace(" ", "")] = base
    for sym in symbols:
        if isinstance(sym, (sp.Indexed, sp.IndexedBase)):
            continue
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
        # ^T is a transpose unless T is a symbol of the expression
        self.transpose = all(spelling != "T" for spelling, _ in spellings)

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

    def skip_group(self) -> None:
        """Step over a ``{...}`` group (or one character) without reading it."""
        if not self.peek("{"):
            self.i += 1
            return
        depth = 0
        while self.i < len(self.s):
            depth += (self.s[self.i] == "{") - (self.s[self.i] == "}")
            self.i += 1
            if depth == 0:
                return
        self.fail("the closing '}'")

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
        if s.startswith(("&", "\\\\", r"\end", r"\land", r"\otherwise"), i):
            return None                 # a column, a row, an environment or a condition ends
        for spelling, sym in self.spellings:
            if spelling and s.startswith(spelling, i):
                self.i += len(spelling)
                name = f"S{len(self.used)}" if sym not in self.used.values() else \
                    next(k for k, v in self.used.items() if v == sym)
                self.used[name] = sym
                if isinstance(sym, sp.IndexedBase):
                    if not self.peek("_"):
                        self.fail(f"the indices of {spelling!r}")
                    self.i += 1
                    return [("operand", name), ("index", "[")] + self.group()[1:-1] + \
                        [("close", "]")]
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
            if self.transpose and (self.peek("T") or self.peek("{T}")):
                self.i += 1 if self.peek("T") else 3
                return [("postfix", ".T")]
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
        if ch in "<>":
            self.i += 1
            return [("rel", ch)]
        if ch == "\\":
            cmd = self.command()
            if cmd in (r"\sum", r"\prod"):
                self.i += len(cmd)
                return self.summation(cmd)
            if cmd == r"\bmod":
                self.i += len(cmd)
                return [("op", "%")]
            if cmd == r"\odot":
                self.i += len(cmd)
                return [("op", "odot")]
            if cmd == r"\delta" and self.peek(r"\delta_"):
                self.i += len(cmd) + 1
                return [("func", "KroneckerDelta")] + self.group()
            if cmd in _RELATIONS:
                self.i += len(cmd)
                return [("rel", cmd)]
            if cmd == r"\begin":
                return self.environment()
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
            if cmd == r"\underbrace":
                self.i += len(cmd)
                inner = self.group()
                if self.peek("_"):          # the label under the brace is words, not a formula
                    self.i += 1
                    self.skip_group()
                return inner
            self.fail(f"the command {cmd!r}")
        self.fail(f"the character {ch!r}")
        return None

    def at_relation(self) -> bool:
        return self.i < len(self.s) and (self.s[self.i] in "<>" or self.command() in _RELATIONS)

    def until_separator(self) -> list[tuple[str, str]]:
        """Atoms up to the next ``+``, ``-``, ``=``, comma or relation outside brackets (the
        summand of a sum)."""
        toks: list[tuple[str, str]] = []
        while self.i < len(self.s) and not self.s.startswith(("+", "-", "=", ","), self.i) \
                and not self.at_relation():
            got = self.atom()
            if got is None:
                break
            toks.extend(got)
        return toks

    def summation(self, cmd: str = r"\sum") -> list[tuple[str, str]]:
        """``\\sum_{v=lo}^{hi} summand`` as ``Sum(summand, (v, lo, hi))``; ``\\prod`` alike as
        ``Product``."""
        if not self.peek("_{"):
            self.fail(rf"the limits of {cmd} (write {cmd}_{{v=lo}}^{{hi}})")
        self.i += 2
        lower = self.sequence("}")
        self.i += 1
        if ("op", "==") not in lower or not self.peek("^"):
            self.fail(rf"the limits of {cmd} (write {cmd}_{{v=lo}}^{{hi}})")
        at = lower.index(("op", "=="))
        self.i += 1
        upper = self.group()
        summand = self.until_separator()
        if not summand:
            self.fail(rf"the summand of {cmd}")
        name = "Sum" if cmd == r"\sum" else "Product"
        return [("operand", f"{name}({_join(summand)}, ({_join(lower[:at])}, "
                            f"{_join(lower[at + 1:])}, {_join(upper)}))")]

    def cell(self) -> list[tuple[str, str]]:
        """One entry of an environment; the words of a condition become ``word`` tokens."""
        toks: list[tuple[str, str]] = []
        while True:
            toks.extend(self.sequence(None))
            word = next((w for w in (r"\land", r"\otherwise") if self.peek(w)), None)
            if word is None:
                return toks
            self.i += len(word)
            toks.append(("word", word))

    def rows(self, end: str) -> list[list[list[tuple[str, str]]]]:
        """The rows of an environment, each a list of its ``&``-separated cells, up to ``end``."""
        rows: list[list[list[tuple[str, str]]]] = [[]]
        while True:
            cell = self.cell()
            if cell and cell[-1] == ("op", ","):
                cell = cell[:-1]               # punctuation at the end of a row
            if self.peek("&"):
                self.i += 1
                rows[-1].append(cell)
            elif self.peek("\\\\"):
                self.i += 2
                rows[-1].append(cell)
                rows.append([])
            elif self.peek(end):
                self.i += len(end)
                rows[-1].append(cell)
                return [row for row in rows if any(row)]
            else:
                self.fail(f"the end {end!r}")

    def environment(self) -> list[tuple[str, str]]:
        """``cases`` as ``Piecewise``, a matrix environment as ``Matrix``."""
        m = re.match(r"\\begin\{(\w+)\}", self.s[self.i:])
        if not m or m.group(1) not in ("cases", *_MATRICES):
            self.fail("an environment (cases, bmatrix, pmatrix and matrix are read)")
        self.i += m.end()
        name = m.group(1)
        rows = self.rows(r"\end{" + name + "}")
        if name in _MATRICES:
            return [("operand", "Matrix([" + ", ".join(
                "[" + ", ".join(_join(cell) for cell in row) + "]" for row in rows) + "])")]
        pieces = []
        for row in rows:
            if len(row) != 2:
                self.fail("a row of cases (write: value & condition)")
            pieces.append(f"({_join(row[0])}, {_condition(row[1], self)})")
        return [("operand", "Piecewise(" + ", ".join(pieces) + ")")]

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


def _condition(tokens: list[tuple[str, str]], reader: "_Reader") -> str:
    """A condition of ``cases``: relations (chains split into pairs) joined by ``and``."""
    if tokens == [("word", r"\otherwise")]:
        return "True"
    conjuncts: list[list[tuple[str, str]]] = [[]]
    for tok in tokens:
        if tok == ("word", r"\land"):
            conjuncts.append([])
        else:
            conjuncts[-1].append(tok)
    parts = []
    for conjunct in conjuncts:
        segments: list[list[tuple[str, str]]] = [[]]
        relations: list[str] = []
        for tok in conjunct:
            if tok[0] == "rel" or tok == ("op", "=="):
                relations.append(_RELATIONS[tok[1]])
                segments.append([])
            else:
                segments[-1].append(tok)
        if not relations or not all(segments):
            reader.fail("a condition (write relations such as 0 \\le a \\le k - 1)")
        parts += [f"{rel}({_join(a)}, {_join(b)})"
                  for a, rel, b in zip(segments, relations, segments[1:])]
    return parts[0] if len(parts) == 1 else "And(" + ", ".join(parts) + ")"


def _bracketed(tokens: list[tuple[str, str]], at: int, step: int) -> int:
    """The index where the bracketed group (or single operand) next to ``at`` ends, walking
    by ``step`` (-1: the group left of ``at``, +1: right of it)."""
    i, depth = at + step, 0
    while 0 <= i < len(tokens):
        kind = tokens[i][0]
        depth += (kind in ("open", "index")) - (kind == "close") if step > 0 else \
            (kind == "close") - (kind in ("open", "index"))
        if depth == 0 and kind not in ("func",):
            if step < 0 and i > 0 and tokens[i - 1][0] == "func":
                return i - 1
            if step > 0 and i + 1 < len(tokens) and tokens[i + 1][0] in ("index", "postfix"):
                i += 1
                continue
            return i
        i += step
    raise DisplayParseError(r"\odot needs a bracketed operand on each side")


def _hadamard(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(a) \\odot (b)`` as ``hadamard(a, b)``, the element-wise product of two matrices."""
    while ("op", "odot") in tokens:
        at = tokens.index(("op", "odot"))
        left, right = _bracketed(tokens, at, -1), _bracketed(tokens, at, +1)
        tokens = (tokens[:left] + [("func", "hadamard"), ("open", "(")] + tokens[left:at]
                  + [("op", ",")] + tokens[at + 1:right + 1] + [("close", ")")]
                  + tokens[right + 1:])
    return tokens


def _join(tokens: list[tuple[str, str]]) -> str:
    """Python source, with ``*`` where two operands meet (implicit multiplication)."""
    out: list[str] = []
    prev = None
    for kind, text in tokens:
        starts = kind in ("operand", "open", "func")
        if starts and prev in ("operand", "close", "postfix"):
            out.append("*")
        out.append(text)
        prev = kind
    return "".join(out)


def reading_symbols(expr) -> set:
    """The names a display form of ``expr`` may use: its free symbols, the variables of its sums
    and products (bound, so not free) and the entries of a matrix."""
    expr = sp.sympify(expr)
    names = set(expr.free_symbols)
    names |= {limit[0] for s in expr.atoms(sp.Sum, sp.Product) for limit in s.limits}
    return names


def parse(tex: str, symbols, extra: dict | None = None) -> sp.Expr:
    """Read a display form back into sympy, with ``symbols`` (an iterable of sympy symbols) as
    the names it may use. Raises :class:`DisplayParseError` on notation it does not read."""
    reader = _Reader(_normalize(tex), _symbol_spellings(symbols, extra))
    tokens = reader.sequence(None)
    if reader.i != len(reader.s):
        reader.fail("the rest")
    source = _join(_hadamard(tokens))
    names = dict(reader.used)
    names.update(floor=sp.floor, ceiling=sp.ceiling, Max=sp.Max, Min=sp.Min, sqrt=sp.sqrt,
                 log=sp.log, exp=sp.exp, Sum=sp.Sum, Product=sp.Product,
                 KroneckerDelta=sp.KroneckerDelta, Piecewise=sp.Piecewise, And=sp.And,
                 Le=sp.Le, Lt=sp.Lt, Ge=sp.Ge, Gt=sp.Gt, Eq=sp.Eq, Ne=sp.Ne, Matrix=sp.Matrix,
                 hadamard=lambda a, b: sp.Matrix(a).multiply_elementwise(sp.Matrix(b)))
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


def _canonical(expr):
    """One form of the same element-wise formula: nested sums flattened into one sum with its
    limits in alphabetical order (finite sums with constant limits commute), relations in
    sympy's canonical orientation."""
    def flatten(s: sp.Sum):
        function, limits = s.function, list(s.limits)
        while isinstance(function, sp.Sum):
            limits += list(function.limits)
            function = function.function
        bound = {limit[0] for limit in limits}
        if any((limit[1].free_symbols | limit[2].free_symbols) & bound for limit in limits):
            return s                    # a limit depends on another variable: keep the order
        return sp.Sum(function, *sorted(limits, key=lambda limit: limit[0].name))
    expr = expr.replace(lambda e: isinstance(e, sp.Sum), flatten)
    return expr.replace(lambda e: isinstance(e, sp.core.relational.Relational),
                        lambda r: r.canonical)


def same(a: sp.Expr, b: sp.Expr, trials: int = 300, seed: int = 0) -> str:
    """How ``a`` and ``b`` were shown equal ("symbolic" or "N random points"); raises
    ``AssertionError`` with a point where they differ. Matrices are compared entry by entry;
    expressions with sums over indexed tensors must agree symbolically."""
    a, b = _canonical(sp.sympify(a)), _canonical(sp.sympify(b))
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        if not (isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase)) \
                or a.shape != b.shape:
            raise AssertionError(f"{a} and {b} are not matrices of the same shape")
        hows = {same(x, y, trials, seed) for x, y in zip(a, b)}
        return "symbolic" if hows == {"symbolic"} else "entry by entry: " + ", ".join(sorted(hows))
    diff = sp.simplify(a - b)
    if diff == 0:
        return "symbolic"
    if a.has(sp.Sum, sp.Indexed) or b.has(sp.Sum, sp.Indexed):
        raise AssertionError(f"{a} and {b} differ (sums over indexed tensors are compared "
                             f"symbolically): their difference simplifies to {diff}")
    rng = random.Random(seed)
    syms = sorted(a.free_symbols | b.free_symbols, key=lambda x: x.name)
    checked = 0
    for _ in range(trials * 3):
        point = {x: _sample(x, rng) for x in syms}
        try:
            va, vb = a.xreplace(point), b.xreplace(point)   # exact; much faster than subs
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
        return parse(self.tex, reading_symbols(self.expr), self.symbols)

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
        return text_template(self.tex, reading_symbols(self.expr), self.symbols)


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


def form_of(expr: sp.Expr) -> Display:
    """The registered display form whose expression is ``expr`` (structurally equal), for code
    that holds an expression rather than a name (the interactives); ``ValueError`` if none."""
    expr = sp.sympify(expr)
    for candidate in DISPLAYS.values():
        if candidate.expr == expr:
            return candidate
    raise ValueError(f"no display form is registered for {expr}; register one with "
                     f"formulas.display_form beside the expression")


def symbol_tex(sym: sp.Symbol) -> str:
    """A symbol as the book writes it: a word subscript upright (``C_in`` as ``C_\\text{in}``),
    a Greek name as its letter (``beta`` as ``\\beta``), a one-letter subscript italic (``k_h``)."""
    name = sym.name
    base, _, sub = name.partition("_")
    greek = {"alpha", "beta", "gamma", "delta", "kappa", "rho", "sigma", "tau", "mu", "lambda"}
    base_tex = f"\\{base}" if base in greek else base
    if not sub:
        return base_tex
    if len(sub) == 1 or sub.isdigit():
        return f"{base_tex}_{{{sub}}}"
    return f"{base_tex}_\\text{{{sub}}}"


def check_same(tex: str, expr: sp.Expr, symbols: dict | None = None) -> str:
    """Prove a display form written in a page equal to the expression it shows (for derivation
    steps that are not library formulas); returns how, raises ``AssertionError`` if not."""
    return same(parse(tex, reading_symbols(expr), symbols), sp.sympify(expr))


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
