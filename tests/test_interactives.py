"""Tests of cnnbook_lib.interactives: one ES module per interactive, live (anywidget) and static.

* node imports every interactive's module and evaluates it on hundreds of random settings: every
  number it shows equals the oracle (``interactive_oracles.py``: the library's Python functions),
  and every impossible setting shows the library's own ``ValueError`` message;
* the grids' highlighted cells equal the inputs autograd reaches; counts equal torch's numel;
* ``js/formulas.js`` is what sympy.jscode makes of ``cnnbook_lib.formulas`` today;
* the live widget is an ``anywidget.AnyWidget`` whose traits are the controls and the result;
* the static page (the same bundled module, no kernel) responds in headless Chromium with the
  network cut off, to every control of every interactive, with no console error.
The JupyterLab test of the live path is ``test_jupyterlab.py``.
"""
from __future__ import annotations

import functools
import html
import json
import math
import os
import random
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import interactive_oracles as O
from cnnbook_lib.interactives.core import normalize
from cnnbook_lib import formulas as fm
from cnnbook_lib import interactives as I
from cnnbook_lib.interactives import esm, jsgen
from cnnbook_lib.interactives.jsgen import fill_template, formula_template, js_function

NODE = shutil.which("node")
#: Without node the JavaScript checks are skipped for a reader, but in CI
#: (CNNBOOK_REQUIRE_BROWSER=1) they run and fail: a skip there would pass the interactives unchecked.
NODE_REQUIRED = os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1"
needs_node = pytest.mark.skipif(NODE is None and not NODE_REQUIRED, reason="node is not installed")
EVALUATE = Path(__file__).with_name("js") / "evaluate.mjs"

#: Networks the explorer embeds in these tests (the book's gallery embeds every one).
NETWORKS = ["lenet5", "alexnet", "resnet18", "mobilenet_v1", "efficientnet_b0"]
#: Every interactive the library declares, in its order (the gallery's).
NAMES = list(I.declarations())


def _node() -> str:
    if NODE is None:
        pytest.fail("node is not installed (required when CNNBOOK_REQUIRE_BROWSER=1)")
    return NODE


@functools.lru_cache(maxsize=None)
def _declarations():
    decl = I.declarations()
    decl["architecture_explorer"] = I.architecture_explorer(NETWORKS).interactive
    return decl


def example(name):
    return _declarations()[name]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def run_node(inter, raws: list[dict], tmp_path: Path, js_dir: Path = esm.JS) -> list[dict]:
    """Evaluate and render ``raws`` with the interactive's module (from ``js_dir``) in node."""
    inp = tmp_path / f"{inter.name}-input.json"
    inp.write_text(json.dumps({"module": str(js_dir / inter.module), "cb": str(js_dir / "cb.js"),
                               "spec": inter.spec(), "data": normalize(inter.data), "raws": raws}))
    out = subprocess.run([_node(), str(EVALUATE), str(inp)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def random_raw(inter, rng: random.Random, invalid: float = 0.02) -> dict:
    """Random control values: mostly valid, some out of range or not numbers."""
    raw = {}
    for p in inter.params:
        if p.control == "select":
            raw[p.name] = rng.choice(p.choices)[0]
        elif rng.random() < invalid:
            raw[p.name] = rng.choice([str(p.min - 1), str(p.max + 1), "", "2.5", "x"])
        else:
            x = rng.choice([p.min, p.max, rng.randint(p.min, p.max), rng.randint(p.min, min(p.max, p.min + 8))])
            raw[p.name] = x if rng.random() < 0.5 else str(x)
    try:                                                   # mostly groups that divide channels
        ci, co = int(raw["c_in"]), int(raw["c_out"])
    except (KeyError, ValueError):
        return raw
    if rng.random() < 0.7 and "groups" in raw:
        g = math.gcd(ci, co)
        raw["groups"] = rng.choice([d for d in range(1, g + 1) if g % d == 0])
    if rng.random() < 0.7 and "reduction" in raw:
        raw["reduction"] = rng.choice([d for d in range(1, 9) if co % d == 0])
    return raw


def assert_same(py, js, where=""):
    """JSON-equal, with floats compared to 1e-12 relative."""
    if isinstance(py, float) or isinstance(js, float):
        assert js == pytest.approx(py, rel=1e-12, abs=1e-15), where
    elif isinstance(py, dict):
        assert isinstance(js, dict) and set(py) == set(js), f"{where}: keys {set(py) ^ set(js)}"
        for k in py:
            assert_same(py[k], js[k], f"{where}.{k}")
    elif isinstance(py, (list, tuple)):
        assert isinstance(js, list) and len(py) == len(js), f"{where}: {py!r} != {js!r}"
        for i, (a, b) in enumerate(zip(py, js)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert py == js, f"{where}: expected {py!r}, the view computed {js!r}"


class ViewText(HTMLParser):
    """What a reader sees in a rendered view: output rows, formula results, the error."""

    def __init__(self, markup: str):
        super().__init__()
        self.rows, self.formulas, self.error = {}, {}, None
        self._row = self._formula = None
        self._in = None
        self._text = ""
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-out" in a:
            self._row = a["data-out"]
        elif tag == "td" and self._row:
            self._in, self._text, self._value = "td", "", a.get("data-value")
        elif tag == "div" and "data-formula" in a:
            self._formula = a["data-formula"]
        elif tag == "b" and self._formula:
            self._in, self._text = "b", ""
        elif tag == "div" and a.get("class") == "cb-error":
            self._in, self._text = "error", ""

    def handle_data(self, data):
        if self._in:
            self._text += data

    def handle_endtag(self, tag):
        if self._in == "td" and tag == "td":
            self.rows.setdefault(self._row, []).append((self._value, self._text))
            self._in, self._row = None, None
        elif self._in == "b" and tag == "b":
            self.formulas.setdefault(self._formula, []).append(self._text)
            self._in, self._formula = None, None
        elif self._in == "error" and tag == "div":
            self.error, self._in = self._text, None


def check_view(inter, exp: dict, markup: str, where: str) -> None:
    """The rendered view shows exactly the expected numbers, formatted, or the expected error."""
    view = ViewText(markup)
    assert view.error == exp["error"], where
    shown = [o for o in inter.outputs if O_when(o.when, exp["values"])]
    for out in shown:
        (value, text), = view.rows.pop(out.key)
        if exp["error"]:
            assert (value, text) == ("", "—"), where
        else:
            v = exp["outputs"][out.key]
            assert (html.unescape(value), text) == (html.unescape(O.num_attr(v)), O.fmt(v, out.fmt)), \
                f"{where}: {out.key}"
    assert view.rows == {}, f"{where}: rows that should be hidden: {list(view.rows)}"
    if not exp["error"]:
        fmts = {o.key: o.fmt for o in inter.outputs}
        for f in inter.formulas:
            if O_when(f.when, exp["values"]) and f.key in exp["outputs"]:
                assert O.fmt(exp["outputs"][f.key], fmts.get(f.key, "int")) in view.formulas[f.key], where


def O_when(cond, values) -> bool:
    if not cond:
        return True
    name, op, ref = cond
    if name not in values:
        return False
    return values[name] == ref if op == "==" else isinstance(values[name], int) and values[name] >= ref


def _samples(inter, count, seed):
    rng = random.Random(seed)
    if inter.name == "architecture_explorer":      # every choice, exhaustively
        return [{"network": n, "order": o} for n, _ in inter.params[0].choices
                for o, _ in inter.params[1].choices]
    if inter.name == "accuracy_compute":           # every metric and family, a few highlights
        highlights = [c for c, _ in inter.params[2].choices]
        return [{"metric": m, "family": f, "highlight": rng.choice(highlights)}
                for m, _ in inter.params[0].choices for f, _ in inter.params[1].choices
                for _ in range(3)]
    if inter.name == "mobilenet_explorer":         # every setting, exhaustively
        return [{"width": w, "resolution": r} for w, _ in inter.params[0].choices
                for r, _ in inter.params[1].choices]
    if inter.name == "erf_viewer":                 # every recorded map, exhaustively
        return [{"depth": d, "act": a, "skip": s} for d, _ in inter.params[0].choices
                for a, _ in inter.params[1].choices for s, _ in inter.params[2].choices]
    return [inter.defaults()] + [random_raw(inter, rng) for _ in range(count)]


# ---------------------------------------------------------------------------------------------
# Declarations, modules, bundles
# ---------------------------------------------------------------------------------------------


def test_examples_offer_every_interactive():
    import anywidget
    from cnnbook_lib import architectures
    decl = I.declarations()
    assert set(decl) == set(O.ORACLES), "every interactive needs its oracle, and only those"
    for name, inter in decl.items():
        assert inter.name == name and (esm.JS / inter.module).is_file()
        assert callable(getattr(I, name)), f"interactives.{name}() makes the live widget"
    network = decl["architecture_explorer"].params[0]
    assert [c[0] for c in network.choices] == architectures.names()
    w = I.layer_cost()
    assert isinstance(w, anywidget.AnyWidget) and w.interactive.name == "layer_cost"


def test_formulas_module_is_generated_from_sympy():
    """js/formulas.js is exactly what sympy.jscode makes of cnnbook_lib.formulas now."""
    assert jsgen.FORMULAS_JS.read_text(encoding="utf-8") == jsgen.formulas_module(), \
        "js/formulas.js is stale: run python -m cnnbook_lib.interactives"
    for name, (expr, args) in jsgen.JS_FORMULAS.items():
        assert f"export const {name} = {js_function(expr, args)};" in jsgen.formulas_module()


def test_modules_import_only_shared_helpers_and_generated_formulas():
    """No interactive module writes a formula: Math.floor/ceil appear only in formulas.js."""
    for path in esm.JS.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        imports = re.findall(r'^import .* from "(.*)";', text, re.M)
        assert set(imports) <= {"./cb.js", "./formulas.js"}, path.name
        if path.name not in ("formulas.js", "cb.js", "static-loader.js"):
            assert "export default widget(compute);" in text and "export function compute" in text, path.name
            assert not re.search(r"Math\.(floor|ceil)\(\(", text), path.name


def test_bundle_inlines_siblings():
    text = esm.bundle("layer_cost.js")
    assert not re.search(r"^import ", text, re.M)
    assert "export default widget(compute);" in text and "export const createModel" in text
    with pytest.raises(ValueError, match="no module"):
        esm.bundle("missing.js")


def test_formula_template_round_trip():
    t = formula_template(fm.conv_output)
    # The interactives print the textbook's display form, not sympy's term order.
    assert fill_template(t) == "⌊(n + 2·p − d·(k − 1) − 1)/s⌋ + 1"
    assert fill_template(t, dict(n=5, k=3, s=2, p=1, d=1)) == "⌊(5 + 2·1 − 1·(3 − 1) − 1)/2⌋ + 1"


def test_every_formula_of_every_interactive_has_a_display_form():
    """No formula line of an interactive is printed in sympy's order: each comes from a
    registered display form, whose template evaluates like the expression (test_display)."""
    from cnnbook_lib.formulas.display import form_of
    shown = 0
    for decl in I.declarations().values():
        for formula in decl.formulas:
            form_of(formula.expr)
            shown += 1
    assert shown >= 15


@needs_node
def test_js_function_is_sympy_jscode():
    """Compiled functions evaluate the expression; an unknown symbol is refused."""
    src = js_function(fm.pool_output_ceil, (fm.n, fm.k, fm.s, fm.p, fm.d))
    cases = [(n, k, s, p, 1) for n in (5, 6, 7, 224) for k in (2, 3) for s in (1, 2, 3) for p in (0, 1)
             if 2 * p <= k]
    script = f"const f = {src}; console.log(JSON.stringify({json.dumps(cases)}.map(a => f(...a))));"
    got = json.loads(subprocess.run([_node(), "-e", script], capture_output=True, text=True).stdout)
    assert got == [fm.pool_output_size(n, k, s, p, ceil_mode=True) for n, k, s, p, _ in cases]
    with pytest.raises(ValueError, match="not among the arguments"):
        js_function(fm.conv_output, (fm.n, fm.k))


@needs_node
@pytest.mark.parametrize("name", NAMES)
def test_bundle_runs_in_node(name, tmp_path):
    """The bundle (what anywidget and the static page load) imports and computes like the file."""
    inter = example(name)
    path = tmp_path / f"{name}.mjs"
    path.write_text(inter.esm(), encoding="utf-8")
    script = (f"const m = await import({json.dumps(path.as_uri())});"
              f"const data = {json.dumps(normalize(inter.data))};"
              f"const v = {json.dumps(O.coerce(inter, inter.defaults())[0])};"
              "const model = m.createModel({a: 1}); model.set('a', 2);"
              "console.log(JSON.stringify({out: m.compute(v, data).outputs, a: model.get('a'),"
              " render: typeof m.default.render}));")
    out = subprocess.run([_node(), "--input-type=module", "-e", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["render"] == "function" and got["a"] == 2
    assert_same(O.expected(inter, inter.defaults())["outputs"], got["out"], name)


@needs_node
def test_number_formatting(tmp_path):
    values = [0, 7, 999, 1000, 73856, 1234567, 10 ** 12, 0.5, 0.1235, 2 / 3, 1023, 1024, 1536,
              1048576, 3 * 1024 ** 3, 999_999, 1_000_000, 2.5e9]
    kinds = ["int", "bytes", "shortbytes", "short", "ratio"]
    script = (f"const cb = await import({json.dumps((esm.JS / 'cb.js').as_uri())});"
              f"console.log(JSON.stringify({json.dumps(values)}.map(v => {json.dumps(kinds)}"
              ".map(k => [cb.fmt(v, k), cb.numAttr(v)]))));")
    out = subprocess.run([_node(), "--input-type=module", "-e", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    for v, row in zip(values, got):
        assert row == [[O.fmt(v, k), O.num_attr(v)] for k in kinds], v


#: Every format of cb.fmt but "text".
FORMATS = ["int", "bytes", "shortbytes", "short", "ratio"]


def _js_numbers(values: list, cb_path: Path = esm.JS / "cb.js") -> list[list[str]]:
    """``[fmt(v, kind) for kind in FORMATS] + [numAttr(v)]`` for every v, from cb.js in node."""
    script = (f"const cb = await import({json.dumps(cb_path.as_uri())});"
              f"console.log(JSON.stringify({json.dumps(values)}.map(v => {json.dumps(FORMATS)}"
              ".map(k => cb.fmt(v, k)).concat([cb.numAttr(v)]))));")
    out = subprocess.run([_node(), "--input-type=module", "-e", script], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _decimal(x, places: int, base: int = 1, power: int = 0):
    """|x| as written (its repr) divided by ``base ** power``, rounded half up to ``places``."""
    from decimal import ROUND_HALF_UP, Decimal, localcontext
    with localcontext() as ctx:
        ctx.prec = 80
        q = Decimal(repr(abs(float(x)))) / Decimal(base) ** power
        return q.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _decimal_text(x, places: int) -> str:
    """|x| as written, rounded half up to ``places`` decimals, with thousands commas. Off a tie
    as written, and where the float is far finer than ``places`` decimals, this is also what
    Python's own ``f"{x:,.3f}"`` writes (it rounds the float's exact binary value)."""
    text = f"{_decimal(x, places):,f}"
    tie = (_decimal(x, places + 1) * 10 ** (places + 1)) % 10 == 5
    if not tie and abs(x) < 10 ** (9 - places):
        assert text == f"{abs(x):,.{places}f}", x
    return text


def _unit_text(x, base: int, units: list[str]) -> str:
    """|x| below ``base``: a whole number with commas in the first unit (cut, not rounded); else
    two decimals rounded half up in the first unit ``units[j]`` (``base ** j``) in which it reads
    below ``base`` (999,999 reads 1.00 M, not 1,000.00 k), or in the last."""
    if abs(x) < base:
        return f"{math.trunc(abs(x)):,}" + (f" {units[0]}" if units[0] else "")
    j = min([j for j in range(1, len(units)) if _decimal(x, 2, base, j) < base] + [len(units) - 1])
    return f"{_decimal(x, 2, base, j):,f} {units[j]}"


def _expected_numbers(x) -> list[str]:
    """What every format and the data-value attribute must read for x, by another route than
    cb.js's: Python's decimal rounding and format mini-language on the magnitude, then the sign
    in front unless the text shows only zeros."""
    whole = float(x).is_integer()
    byte_units = ["B", "KiB", "MiB", "GiB", "TiB"]
    texts = [
        f"{abs(int(x)):,}" if whole else _decimal_text(x, 3),                        # int
        f"{math.trunc(abs(x)):,} B" + ("" if abs(x) < 1024
                                       else f" ({_unit_text(x, 1024, byte_units)})"),  # bytes
        _unit_text(x, 1024, byte_units),                                              # shortbytes
        _unit_text(x, 1000, ["", "k", "M", "G", "T"]),                                # short
        _decimal_text(x, 3),                                                          # ratio
        str(abs(int(x))) if whole else _decimal_text(x, 6).replace(",", ""),          # numAttr
    ]
    return ["-" + t if x < 0 and re.search("[1-9]", t) else t for t in texts]


#: Values whose text is known by hand: [value, int, bytes, shortbytes, short, ratio, numAttr].
SIGNED_NUMBERS = [
    [-8.004, "-8.004", "-8 B", "-8 B", "-8", "-8.004", "-8.004000"],
    [-0.0004, "0.000", "0 B", "0 B", "0", "0.000", "-0.000400"],
    [-0.0000004, "0.000", "0 B", "0 B", "0", "0.000", "0.000000"],
    [-0.0005, "-0.001", "0 B", "0 B", "0", "-0.001", "-0.000500"],
    [-1234.5678, "-1,234.568", "-1,234 B (1.21 KiB)", "-1.21 KiB", "-1.23 k", "-1,234.568",
     "-1234.567800"],
    [-1e9, "-1,000,000,000", "-1,000,000,000 B (953.67 MiB)", "-953.67 MiB", "-1.00 G",
     "-1,000,000,000.000", "-1000000000"],
    [-0.5, "-0.500", "0 B", "0 B", "0", "-0.500", "-0.500000"],
    [0, "0", "0 B", "0 B", "0", "0.000", "0"],
    [0.5, "0.500", "0 B", "0 B", "0", "0.500", "0.500000"],
    [999.9995, "1,000.000", "999 B", "999 B", "999", "1,000.000", "999.999500"],
    [-999.9995, "-1,000.000", "-999 B", "-999 B", "-999", "-1,000.000", "-999.999500"],
    [1.0005, "1.001", "1 B", "1 B", "1", "1.001", "1.000500"],
    [-1536, "-1,536", "-1,536 B (1.50 KiB)", "-1.50 KiB", "-1.54 k", "-1,536.000", "-1536"],
    [-1005, "-1,005", "-1,005 B", "-1,005 B", "-1.01 k", "-1,005.000", "-1005"],
    [-999_999, "-999,999", "-999,999 B (976.56 KiB)", "-976.56 KiB", "-1.00 M", "-999,999.000",
     "-999999"],
    [-1_048_575, "-1,048,575", "-1,048,575 B (1.00 MiB)", "-1.00 MiB", "-1.05 M",
     "-1,048,575.000", "-1048575"],
    [-5274715.5945, "-5,274,715.595", "-5,274,715 B (5.03 MiB)", "-5.03 MiB", "-5.27 M",
     "-5,274,715.595", "-5274715.594500"],
]


def _signed_values() -> list:
    rng = random.Random(20260412)
    values = [row[0] for row in SIGNED_NUMBERS]
    values += [-1.5, -2 / 3, -0.1235, -1023.999, -1024, -1_000_000, -2.5e9, -10 ** 12, -73856,
               2.0005, -2.0005, -0.9999996, 0.0049, -0.0051, 123456789012.3455, -2 ** 60 - 0.5,
               -999_995, -999_994.9, 1e15 + 0.5, -1e18]
    for _ in range(300):                  # magnitudes from 1e-4 to 1e13, either sign
        values.append(round(rng.choice([-1, 1]) * rng.uniform(0, 1) * 10 ** rng.randint(-4, 13),
                            rng.randint(0, 9)))
    for _ in range(50):                   # whole numbers up to 1e15, either sign
        values.append(rng.randint(-10 ** rng.randint(1, 15), 10 ** rng.randint(1, 15)))
    return values


@needs_node
def test_number_formatting_signs():
    """Negative, zero and positive values in every format and in data-value attributes: the sign
    and then the magnitude as a positive value reads (no sign where only zeros show)."""
    for row, got in zip(SIGNED_NUMBERS, _js_numbers([row[0] for row in SIGNED_NUMBERS])):
        assert got == row[1:], row[0]
    values = _signed_values()
    got = dict(zip(map(repr, values), _js_numbers(values)))
    for v in values:
        assert got[repr(v)] == _expected_numbers(v), v
        assert got[repr(v)] == [O.fmt(v, k) for k in FORMATS] + [O.num_attr(v)], v   # the oracle
    positive = [v for v in values if v > 0]
    for v, negated in zip(positive, _js_numbers([-v for v in positive])):    # sign, then magnitude
        assert negated == ["-" + t if re.search("[1-9]", t) else t for t in got[repr(v)]], v


@needs_node
def test_bars_of_negative_values_are_empty(tmp_path):
    script = (f"const cb = await import({json.dumps((esm.JS / 'cb.js').as_uri())});"
              "console.log(cb.bars({series: ['s'], fmts: ['ratio'], rows: "
              "[{label: 'a', values: [-2.25]}, {label: 'b', values: [4]}]}));")
    out = subprocess.run([_node(), "--input-type=module", "-e", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert re.findall(r'width:([^%]*)%', out.stdout) == ["0.0", "100.0"]
    assert ">-2.250<" in out.stdout and 'data-value="-2.250000"' in out.stdout


# ---------------------------------------------------------------------------------------------
# The JavaScript against the library
# ---------------------------------------------------------------------------------------------


@needs_node
@pytest.mark.parametrize("name", NAMES)
def test_javascript_agrees_with_library(name, tmp_path):
    inter = example(name)
    raws = _samples(inter, 300, seed=NAMES.index(name))
    results = run_node(inter, raws, tmp_path)
    errors = 0
    for raw, got in zip(raws, results):
        exp = O.expected(inter, raw)
        assert_same(exp, got["res"], f"{name} {raw}")
        check_view(inter, exp, got["html"], f"{name} {raw}")
        errors += exp["error"] is not None
    if name not in ("architecture_explorer", "erf_viewer", "accuracy_compute",
                    "mobilenet_explorer"):   # both kinds of result reached
        assert 0 < errors < len(raws) * 0.8, errors


@needs_node
def test_agreement_check_catches_a_wrong_formula(tmp_path):
    """A generated formula that differs from the library's is caught (the check can fail)."""
    js = tmp_path / "js"
    shutil.copytree(esm.JS, js)
    table = dict(jsgen.JS_FORMULAS)
    table["conv_output"] = (fm.conv_output + 1, table["conv_output"][1])
    (js / "formulas.js").write_text(jsgen.formulas_module(table))
    inter = example("conv_arithmetic")
    raw = {"mode": "convolution", "n": 7, "k": 3, "s": 1, "p": 0, "d": 1}
    (got,) = run_node(inter, [raw], tmp_path, js_dir=js)
    assert got["res"]["outputs"]["out"] == 6 != O.expected(inter, raw)["outputs"]["out"] == 5


@needs_node
@pytest.mark.parametrize("name, raw, call", [
    ("conv_arithmetic", {"n": 3, "k": 5, "p": 0}, lambda: fm.conv_output_size(3, 5, 2, 0, 1)),
    ("conv_arithmetic", {"n": 4, "k": 3, "d": 3, "p": 1}, lambda: fm.conv_output_size(4, 3, 2, 1, 3)),
    ("conv_arithmetic", {"mode": "transposed", "s": 1, "d": 1, "output_padding": 1},
     lambda: fm.conv_transpose_output_size(5, 3, 1, 1, 1, 1)),
    ("conv_arithmetic", {"mode": "transposed", "n": 1, "k": 1, "p": 3},
     lambda: fm.conv_transpose_output_size(1, 1, 2, 3, 0, 1)),
    ("layer_cost", {"groups": 3}, lambda: fm.conv_params(64, 128, 3, 3)),
    ("layer_cost", {"c_in": 64, "c_out": 100, "groups": 8}, lambda: fm.conv_params(64, 100, 3, 8)),
    ("layer_cost", {"h": 5, "k": 11, "padding": 2}, lambda: fm.conv_output_size(5, 11, 1, 2)),
    ("factorization", {"groups": 5}, lambda: fm.conv_params(128, 128, 3, 5)),
    ("receptive_stack", {"n": 4, "padding": "valid", "k1": 5}, lambda: fm.conv_output_size(4, 5, 1, 0, 1)),
    ("conv_algorithms", {"hw": 2, "k": 7, "padding": 1}, lambda: fm.conv_output_size(2, 7, 1, 1)),
])
def test_impossible_combinations_are_explained(name, raw, call, tmp_path):
    inter = example(name)
    with pytest.raises(ValueError) as exc:
        call()
    message = str(exc.value)
    (got,) = run_node(inter, [raw], tmp_path)
    assert got["res"]["error"].endswith(message), (got["res"]["error"], message)
    assert got["res"]["error"] == O.expected(inter, raw)["error"]
    assert ViewText(got["html"]).error == got["res"]["error"]


@needs_node
def test_controls_are_checked_against_their_ranges(tmp_path):
    inter = example("layer_cost")
    got = run_node(inter, [{"c_in": "0"}, {"c_in": ""}, {"dtype": "float8"}, {"c_in": "2.5"}], tmp_path)
    assert [g["res"]["error"] for g in got[:2]] == ["C_in must be between 1 and 512, got 0",
                                                   "C_in must be a whole number, got ''"]
    assert got[2]["res"]["error"].startswith("dtype must be one of float32")
    assert got[3]["res"]["error"] == "C_in must be a whole number, got '2.5'"


@needs_node
def test_layer_cost_matches_torch_counts(tmp_path):
    """An independent oracle for one case: numel of a real Conv2d and its output shape."""
    import torch
    (got,) = run_node(example("layer_cost"), [{"c_in": 32, "c_out": 64, "k": 5, "h": 20, "w": 17,
                                               "stride": 2, "padding": 2, "groups": 4, "batch": 3}],
                      tmp_path)
    out = got["res"]["outputs"]
    conv = torch.nn.Conv2d(32, 64, 5, stride=2, padding=2, groups=4)
    y = conv(torch.zeros(3, 32, 20, 17))
    assert out["params"] == sum(p.numel() for p in conv.parameters())
    assert (out["h_out"], out["w_out"]) == tuple(y.shape[2:])
    assert out["act_bytes"] == y.numel() * 4
    assert out["macs"] == y.numel() * (32 // 4) * 25


@needs_node
def test_conv_arithmetic_window_matches_torch(tmp_path):
    """The highlighted cells are exactly the inputs with a nonzero gradient for that output."""
    import torch
    rng = random.Random(1)
    raws = [{"mode": rng.choice(["convolution", "transposed"]), "n": rng.randint(1, 8),
             "k": rng.randint(1, 4), "p": rng.randint(0, 2), "s": rng.randint(1, 3),
             "d": rng.randint(1, 3), "output_padding": 0, "out_i": rng.randint(0, 9),
             "out_j": rng.randint(0, 9)} for _ in range(40)]
    checked = 0
    for raw, got in zip(raws, run_node(example("conv_arithmetic"), raws, tmp_path)):
        res = got["res"]
        if res["error"]:
            continue
        n, k, p, s, d = (raw[x] for x in "nkpsd")
        x = torch.ones(1, 1, n, n, requires_grad=True)
        w = torch.ones(1, 1, k, k)
        conv = raw["mode"] == "convolution"
        y = (torch.nn.functional.conv2d(x, w, stride=s, padding=p, dilation=d) if conv
             else torch.nn.functional.conv_transpose2d(x, w, stride=s, padding=p, dilation=d))
        assert y.shape[-1] == res["outputs"]["out"]
        i, j = (min(raw[c], y.shape[-1] - 1) for c in ("out_i", "out_j"))
        y[0, 0, i, j].backward()
        reached = {(int(r), int(c)) for r, c in zip(*torch.nonzero(x.grad[0, 0], as_tuple=True))}
        shift = p if conv else 0
        shown = {(r - shift, c - shift) for r, c, cls in res["figure"][0]["cells"] if "hl" in cls}
        assert reached == {(r, c) for r, c in shown if 0 <= r < n and 0 <= c < n}, raw
        checked += 1
    assert checked >= 15


@needs_node
def test_receptive_stack_agrees_with_gradients(tmp_path):
    """Reached pixels = pixels with a nonzero gradient through a stack of ones-kernels."""
    import torch
    raw = {"layers": 3, "n": 20, "padding": "same", "unit": 4, "k1": 3, "s1": 2, "d1": 1,
           "k2": 3, "s2": 1, "d2": 2, "k3": 2, "s3": 2, "d3": 1}
    (got,) = run_node(example("receptive_stack"), [raw], tmp_path)
    res = got["res"]
    x = torch.ones(1, 1, 20, 20, requires_grad=True)
    y = x
    for i in (1, 2, 3):
        k, s, d = raw[f"k{i}"], raw[f"s{i}"], raw[f"d{i}"]
        y = torch.nn.functional.conv2d(y, torch.ones(1, 1, k, k), stride=s, padding=d * (k - 1) // 2,
                                       dilation=d)
    assert y.shape[-1] == res["outputs"]["out_size"]
    y[0, 0, 4, 4].backward()
    reached = {(int(r), int(c)) for r, c in zip(*torch.nonzero(x.grad[0, 0], as_tuple=True))}
    shown = {(r, c) for r, c, cls in res["figure"][1]["cells"] if cls == "hl"}
    assert shown == reached and res["outputs"]["reached"] == len(reached)
    assert res["outputs"]["rf"] == 1 + 2 * 1 + 4 * 2 + 1 * 2     # 1 + sum (k_eff - 1) * jump


@needs_node
def test_dilation_explorer_agrees_with_gradients(tmp_path):
    """Blue cells = pixels with a nonzero gradient for the top unit (ones-kernels, no padding);
    orange cells = the rest of the field; the largest gradient = the most paths."""
    import torch
    raws = [{"layers": 3, "k": 3, "d1": 2, "d2": 2, "d3": 2},
            {"layers": 4, "k": 2, "d1": 1, "d2": 3, "d3": 2, "d4": 5},
            {"layers": 3, "k": 3, "d1": 1, "d2": 2, "d3": 5},
            {"layers": 4, "k": 3, "d1": 1, "d2": 3, "d3": 9, "d4": 27}]     # the text's example
    for raw, got in zip(raws, run_node(example("dilation_explorer"), raws, tmp_path)):
        res = got["res"]
        r = res["outputs"]["rf"]
        x = torch.ones(1, 1, r, r, dtype=torch.float64, requires_grad=True)
        y = x
        for i in range(1, raw["layers"] + 1):
            y = torch.nn.functional.conv2d(y, torch.ones(1, 1, raw["k"], raw["k"],
                                                         dtype=torch.float64), dilation=raw[f"d{i}"])
        assert y.shape[-2:] == (1, 1)
        (g,) = torch.autograd.grad(y[0, 0, 0, 0], x)
        reached = {(int(a) + 1, int(b) + 1) for a, b in zip(*torch.nonzero(g[0, 0], as_tuple=True))}
        cells = res["figure"][0]["cells"]
        assert {(a, b) for a, b, cls in cells if cls == "hl"} == reached, raw
        assert sum(cls == "sel" for _, _, cls in cells) == res["outputs"]["holes"] == r * r - len(reached)
        assert res["outputs"]["paths"] == int(g.max())


@needs_node
def test_conv_algorithms_matches_torch_unfold(tmp_path):
    """The im2col patch matrix the algorithms interactive sizes is the one torch's unfold builds."""
    import torch
    raw = {"c_in": 6, "c_out": 10, "hw": 13, "k": 3, "padding": 1, "batch": 2, "m": 2}
    (got,) = run_node(example("conv_algorithms"), [raw], tmp_path)
    out = got["res"]["outputs"]
    xs, ws = (2, 6, 13, 13), (10, 6, 3, 3)
    cols = torch.nn.functional.unfold(torch.zeros(xs), 3, padding=1)
    assert out["im2col_bytes"] == cols.numel() * 4
    y = torch.nn.functional.conv2d(torch.zeros(xs), torch.zeros(ws), padding=1)
    assert out["out"] == y.shape[-1] and out["direct"] == y.numel() * 6 * 9


# ---------------------------------------------------------------------------------------------
# The live widget and the display bundle
# ---------------------------------------------------------------------------------------------


def test_widget_traits_are_the_controls():
    import traitlets
    w = I.conv_arithmetic(n=9)
    assert (w.n, w.k, w.mode) == (9, 3, "convolution")
    w.k = 5
    assert w.k == 5 and w.result == {}                 # the front end computes the result
    with pytest.raises(traitlets.TraitError):
        w.k = 99
    with pytest.raises(traitlets.TraitError):
        w.mode = "deconvolution"
    with pytest.raises(ValueError, match="no parameter 'q'"):
        I.conv_arithmetic(q=1)
    with pytest.raises(TypeError, match="n must be an integer"):
        I.conv_arithmetic(n=True)
    assert w._spec["name"] == "conv_arithmetic" and w._esm == w.interactive.esm()


def test_display_bundle_carries_widget_and_static_html():
    w = I.layer_cost(c_in=32)
    data, _meta = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"] == w.to_html() == w.interactive.to_html({"c_in": 32})


def test_explorer_traces_in_the_kernel_when_the_network_changes():
    w = I.architecture_explorer(["lenet5", "alexnet"])
    assert set(w._data) == {"lenet5"}
    w.network = "alexnet"
    assert set(w._data) == {"lenet5", "alexnet"}
    from cnnbook_lib import analysis, architectures
    s = analysis.summarize(architectures.build("alexnet"), (1, 3, 224, 224))
    assert (w._data["alexnet"]["params"], w._data["alexnet"]["macs"]) == (s.params, s.macs)


@pytest.mark.parametrize("name", NAMES)
def test_static_html_is_self_contained(name):
    page = example(name).to_html()
    minutes = example(name).minutes
    assert isinstance(minutes, (int, float)) and minutes > 0    # the reader's time it states
    assert page.startswith(f'<div class="cnnbook-static" data-cnnbook-static="{name}" '
                           f'data-minutes="{minutes}">')
    assert page.count("<script") == 2 and "document.currentScript" in page
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|<img\b|@import|https?://(?!www\.w3\.org/2000/svg)", page)
    assert page.index("</script>") > page.index("cb-config") and page.endswith("</script></div>")
    config = page.split('class="cb-config">', 1)[1].split("</script>", 1)[0]
    assert json.loads(config)["esm"] == example(name).esm()


# ---------------------------------------------------------------------------------------------
# Headless browser, network cut off
# ---------------------------------------------------------------------------------------------

WAIT_MOUNTED = """n => document.querySelectorAll('[data-cnnbook-interactive]').length === n &&
    Array.from(document.querySelectorAll('[data-cnnbook-interactive]')).every(r => r.cnnbookResult)"""


@pytest.fixture(scope="module")
def gallery_page(tmp_path_factory, chromium, serve):
    """The gallery of every interactive (plus a second instance of one), in headless Chromium
    with every non-local request blocked (fixtures from conftest.py)."""
    from conftest import PageWatch

    root = tmp_path_factory.mktemp("gallery")
    items = [example(n) for n in NAMES] + [example("conv_arithmetic")]    # two instances of one
    (root / "index.html").write_text(I.gallery_html(items), encoding="utf-8")
    base = serve(root)
    context = chromium.new_context()
    page = context.new_page()
    watch = PageWatch(page, base)
    page.goto(base + "index.html")
    page.wait_for_function(WAIT_MOUNTED, arg=len(items), timeout=20000)
    yield page, watch.external, watch.errors
    context.close()


def _browser_state(page, index):
    return page.evaluate("""i => {
        const root = document.querySelectorAll('[data-cnnbook-interactive]')[i];
        const raw = {};
        root.querySelectorAll('input[name], select[name]').forEach(el => { raw[el.name] = el.value; });
        return {raw: raw, res: root.cnnbookResult, view: root.querySelector('.cb-view').innerHTML,
                ms: root.cnnbookUpdateMs};
    }""", index)


def _check_display(page, inter, index, where):
    state = _browser_state(page, index)
    exp = O.expected(inter, state["raw"])
    assert_same(exp, state["res"], where)
    check_view(inter, exp, state["view"], where)
    return exp


def _set(page, index, name, value):
    page.evaluate("""([i, name, value]) => {
        const root = document.querySelectorAll('[data-cnnbook-interactive]')[i];
        const el = root.querySelector('[name="' + name + '"]');
        el.value = value;
        el.dispatchEvent(new Event('input', {bubbles: true}));
    }""", [index, name, str(value)])


@pytest.mark.browser
def test_browser_every_control_shows_library_values(gallery_page):
    page, blocked, console = gallery_page
    names = page.evaluate("""() => Array.from(document.querySelectorAll('[data-cnnbook-interactive]'))
                              .map(r => r.getAttribute('data-cnnbook-interactive'))""")
    assert names == NAMES + ["conv_arithmetic"]
    rng = random.Random(5)
    for index, name in enumerate(NAMES):
        inter = example(name)
        _check_display(page, inter, index, f"{name} on load")
        for p in inter.params:
            if p.control == "select":
                values = [c[0] for c in p.choices]
            else:
                values = [p.max, p.min, rng.randint(p.min, p.max)]
                if p.control == "number":
                    values.append(p.min - 1)            # out of range: an explanation, no crash
            for value in values + [p.default]:
                _set(page, index, p.name, value)
                exp = _check_display(page, inter, index, f"{name}.{p.name}={value}")
                if p.control == "number" and value == p.min - 1:
                    assert exp["error"] == f"{p.label} must be between {p.min} and {p.max}, got {value}"
                    text = page.locator("[data-cnnbook-interactive]").nth(index).locator(".cb-error").inner_text()
                    assert text == exp["error"]
    assert blocked == [] and console == []


@pytest.mark.browser
def test_browser_clicks_buttons_and_instances_are_independent(gallery_page):
    page, blocked, console = gallery_page
    first, second = 0, len(NAMES)
    before = _browser_state(page, second)["res"]
    conv = example("conv_arithmetic")
    for name, value in {"mode": "convolution", "n": 9, "k": 3, "p": 1, "s": 1, "d": 1}.items():
        _set(page, first, name, value)
    grid = page.locator("[data-cnnbook-interactive]").nth(first).locator("svg[data-click]")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    cs = float(grid.get_attribute("data-cs")) * box["width"] / float(grid.get_attribute("width"))
    grid.click(position={"x": 4.5 * cs, "y": 2.5 * cs})         # row 2, column 4
    exp = _check_display(page, conv, first, "after a click")
    assert exp["outputs"]["cell"] == "(2, 4)"
    assert _browser_state(page, second)["res"] == before         # the other instance is untouched
    rf = NAMES.index("receptive_stack")
    root = page.locator("[data-cnnbook-interactive]").nth(rf)
    _set(page, rf, "layers", 3)
    root.locator('button[data-target="layers"][aria-label="more"]').click()
    assert _browser_state(page, rf)["res"]["values"]["layers"] == 4
    assert root.locator('[data-param="k4"]').is_visible() and not root.locator('[data-param="k5"]').is_visible()
    _check_display(page, example("receptive_stack"), rf, "after +")
    assert blocked == [] and console == []


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_browser_phone_width_and_dark_mode(chromium, serve, tmp_path, scheme):
    """At 390 px nothing leaves the screen (wide parts scroll inside the interactive), and the
    text keeps its contrast in dark mode (the book's html[data-theme=dark])."""
    from conftest import INTERACTIVE_LAYOUT, PageWatch
    items = [example(n) for n in NAMES]
    page_html = I.gallery_html(items).replace("<html lang=\"en\">",
                                              f'<html lang="en" data-theme="{scheme}">')
    if scheme == "dark":
        page_html = page_html.replace("<body>", '<body style="background:#121212;color:#ddd">')
    (tmp_path / "index.html").write_text(page_html, encoding="utf-8")
    base = serve(tmp_path)
    context = chromium.new_context(viewport={"width": 390, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    watch = PageWatch(page, base)
    page.goto(base + "index.html")
    page.wait_for_function(WAIT_MOUNTED, arg=len(items), timeout=20000)
    report = page.evaluate(INTERACTIVE_LAYOUT)
    context.close()
    assert report["worst"] == [], report["worst"][:5]
    assert report["wide"] == [] and report["scroll"] <= 390, report
    assert watch.errors == [] and watch.external == []


def test_accuracy_chart_data_is_the_published_and_measured_figures():
    """The chart's records: torchvision's top-1 (cnnbook_lib.published), MACs and parameters
    equal to torchvision's own '_ops' and num_params (its metadata is the oracle here), latencies
    from the shipped record; its trend equals numpy's least-squares fit."""
    import numpy as np

    from cnnbook_lib import published
    from cnnbook_lib.bench.latency import load_latency
    data = example("accuracy_compute").data
    lat = {(r["name"], r["batch"]): r["median_s"] for r in load_latency("cpu")["rows"]}
    assert len(data["networks"]) >= 25
    for d in data["networks"]:
        meta = published.torchvision_weights(d["name"], "IMAGENET1K_V1")
        assert d["top1"] == meta["acc1"] and d["crop"] == meta["crop"]
        assert abs(d["macs"] / 1e9 - meta["ops_g"]) < 5e-4, d["name"]
        if d["name"] != "inception_v3":          # torchvision's count includes the aux head
            assert d["params"] == meta["params"], d["name"]
        assert d["latency1"] == (1e3 * lat[(d["name"], 1)] if (d["name"], 1) in lat else None)
    points = [{"x": d["macs"], "y": d["top1"]} for d in data["networks"]]
    slope, intercept, r = O.accuracy_trend(points)
    fit = np.polyfit(np.log10([p["x"] for p in points]), [p["y"] for p in points], 1)
    assert (slope, intercept) == pytest.approx(tuple(fit), rel=1e-9)
    assert r == pytest.approx(np.corrcoef(np.log10([p["x"] for p in points]),
                                          [p["y"] for p in points])[0, 1], rel=1e-9)


def test_training_memory_data_splits_saved_bytes_by_dtype():
    """Floating-point saved bytes scale with the dtype; the rest (max pooling's int64 indices:
    64 x 56 x 56 x 8 bytes in ResNet-18) does not; bfloat16 gives what its own trace gives."""
    from cnnbook_lib.interactives.memory import network_memory
    r18 = network_memory("resnet18")
    assert r18["other_saved"] == 64 * 56 * 56 * 8
    for name in ("resnet18", "vit_b_16"):
        m = network_memory(name)
        s = O._memory_summary(name, "bfloat16")
        assert 2 * m["float_saved"] + m["other_saved"] == s.saved_activation_bytes


def test_mobilenet_settings_against_torch_and_the_paper():
    """Each setting's totals are numel() and FlopCounterMode's; the per-kind split adds up; the
    eight settings the paper tabulates round to its Tables 6 and 7 (Howard et al. 2017)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from cnnbook_lib import architectures, published
    data = example("mobilenet_explorer").data
    for key in ("1.0/224", "0.5/160"):
        w, r = key.split("/")
        with torch.device("meta"):
            model = architectures.build("mobilenet_v1", width=float(w))
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, 3, int(r), int(r), device="meta"))
        s = data["settings"][key]
        assert s["params"] == sum(p.numel() for p in model.parameters())
        assert s["macs"] == counter.get_total_flops() // 2 == sum(s["kind_macs"].values())
    for key, fig in data["paper"].items():
        s = data["settings"][key]
        assert abs(s["macs"] / 1e6 - fig["macs_m"]) < 1 and abs(s["params"] / 1e6 - fig["params_m"]) < 0.05
    assert len(data["paper"]) == 7 and data["paper"]["1.0/224"]["top1"] == published.MOBILENET_V1_WIDTH[1.0][0]


@needs_node
def test_scatter_points_lie_inside_the_plot(tmp_path):
    """Every point and tick of the accuracy chart is drawn inside its SVG, where the data puts it
    (x on a log scale: a point's position follows log10 of its value)."""
    inter = example("accuracy_compute")
    got = run_node(inter, [inter.defaults()], tmp_path)[0]
    svg = re.search(r'<svg class="cb-scatter"[^>]*viewBox="0 0 (\d+) (\d+)"', got["html"])
    width, height = int(svg.group(1)), int(svg.group(2))
    points = [(float(x), float(y), float(v)) for x, y, v in re.findall(
        r'<circle class="cb-pt[^"]*" cx="([-\d.]+)" cy="([-\d.]+)" r="[\d.]+" data-x="([\d.e+]+)"',
        got["html"])]
    assert len(points) == got["res"]["outputs"]["shown"]
    assert all(0 <= x <= width and 0 <= y <= height for x, y, _ in points)
    (xa, _, va), (xb, _, vb) = min(points, key=lambda p: p[2]), max(points, key=lambda p: p[2])
    xm = next(p for p in points if va < p[2] < vb)
    frac = (math.log10(xm[2]) - math.log10(va)) / (math.log10(vb) - math.log10(va))
    assert (xm[0] - xa) / (xb - xa) == pytest.approx(frac, abs=0.01)
    ticks = [float(x) for x in re.findall(r'<text class="cb-tick" x="([-\d.]+)"', got["html"])]
    assert ticks and all(0 <= x <= width for x in ticks)
