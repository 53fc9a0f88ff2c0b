"""Display forms: the translator reads the book's notation correctly (checked against sympy
expressions built directly, not printed), every registered form is equal to its expression, and
a wrong form is caught."""
import random

import pytest
import sympy as sp

from cnnbook_lib import formulas as F
from cnnbook_lib import page
from cnnbook_lib.formulas import display as D

a, b, c = sp.symbols("a b c", integer=True, positive=True)
x = sp.Symbol("x", positive=True)
C_in = sp.Symbol("C_in", integer=True, positive=True)


@pytest.mark.parametrize("tex, expected", [
    (r"\frac{a}{b}", a / b),
    (r"\dfrac{a + 1}{b}", (a + 1) / b),
    (r"\left\lfloor \frac{a}{b} \right\rfloor + 1", sp.floor(a / b) + 1),
    (r"\lceil a / b \rceil", sp.ceiling(a / b)),
    (r"2a", 2 * a),
    (r"a(b - 1)", a * (b - 1)),
    (r"(a + 1)(b + 1)", (a + 1) * (b + 1)),
    (r"a^2 b", a ** 2 * b),
    (r"a^{b + 1}", a ** (b + 1)),
    (r"a \cdot b \times c", a * b * c),
    (r"\max(0, a - b)", sp.Max(0, a - b)),
    (r"\min(a, b) + \sqrt{x}", sp.Min(a, b) + sp.sqrt(x)),
    (r"C_\text{in} a", C_in * a),
    (r"C_{\text{in}} a", C_in * a),
    (r"C_{in}\,a", C_in * a),
    (r"\frac{1}{a} + \frac{1}{b^2}", 1 / a + 1 / b ** 2),
    (r"\log_{2}(a)", sp.log(a, 2)),
])
def test_the_translator_reads_the_notation(tex, expected):
    got = D.parse(tex, [a, b, c, x, C_in])
    assert sp.simplify(got - expected) == 0, (tex, got)


# Element-wise notation: indexed tensors, sums, Kronecker's delta, remainders, cases, matrices.
u, v, i_, j_ = sp.symbols("u v i j", integer=True, nonnegative=True)
xt, wt = sp.IndexedBase("x"), sp.IndexedBase("w")


@pytest.mark.parametrize("tex, expected", [
    (r"x_{i, j + 1}", xt[i_, j_ + 1]),
    (r"w_u x_{ai + u}", wt[u] * xt[a * i_ + u]),
    (r"\sum_{u=0}^{b-1} w_u x_{i+u} + c", sp.Sum(wt[u] * xt[i_ + u], (u, 0, b - 1)) + c),
    (r"\sum_{u=0}^{b-1} \sum_{v=0}^{c-1} w_{u,v} x_{i+u, j+v}",
     sp.Sum(wt[u, v] * xt[i_ + u, j_ + v], (v, 0, c - 1), (u, 0, b - 1))),
    (r"\sum_{u=0}^{b-1} w_u \delta_{au, i}",
     sp.Sum(wt[u] * sp.KroneckerDelta(a * u, i_), (u, 0, b - 1))),
    (r"(a + b) \bmod c", sp.Mod(a + b, c)),
    (r"\begin{cases} x_{i/a} & \text{if } i \bmod a = 0 \text{ and } i < b, \\ 0 & \text{otherwise}"
     r"\end{cases}",
     sp.Piecewise((xt[i_ / a], sp.Eq(sp.Mod(i_, a), 0) & (i_ < b)), (0, True))),
    (r"\begin{cases} a & 0 \le i - a \le b - 1 \\ 0 & \text{otherwise} \end{cases}",
     sp.Piecewise((a, (i_ - a >= 0) & (i_ - a <= b - 1)), (0, True))),
    (r"\begin{bmatrix} a & 0 \\ b + c & \frac{1}{2} \end{bmatrix}",
     sp.Matrix([[a, 0], [b + c, sp.Rational(1, 2)]])),
])
def test_the_translator_reads_element_wise_notation(tex, expected):
    got = D.parse(tex, D.reading_symbols(expected) | {a, b, c})
    assert D.same(got, expected) == "symbolic", (tex, got)


def test_matrix_transpose_and_element_wise_product():
    m = sp.Matrix(2, 2, sp.symbols("m0:4"))
    q = sp.Matrix(2, 2, sp.symbols("q0:4"))
    got = D.parse(r"M^T \left[(M) \odot (Q^{T})\right] M", [], {"M": m, "Q": q})
    assert got == m.T * m.multiply_elementwise(q.T) * m
    # T is a transpose only where the expression has no symbol T
    T = sp.Symbol("T")
    assert D.parse(r"a^T", [a, T]) == a ** T


def test_nested_sums_in_another_order_and_relations_are_the_same():
    summed = sp.Sum(wt[u, v] * xt[u, v], (u, 0, a - 1), (v, 0, b - 1))
    nested = sp.Sum(sp.Sum(wt[u, v] * xt[u, v], (u, 0, a - 1)), (v, 0, b - 1))
    assert D.same(summed, nested) == "symbolic"
    with pytest.raises(AssertionError, match="compared symbolically"):
        D.same(summed, sp.Sum(wt[u, v] * xt[u, v], (u, 0, a - 1), (v, 0, b)))
    with pytest.raises(AssertionError, match="same shape"):
        D.same(sp.Matrix([[a, b]]), sp.Matrix([[a], [b]]))


def test_products_are_read_like_sums():
    st, kt = sp.IndexedBase("s"), sp.IndexedBase("k")
    l_, m_ = sp.symbols("l i", integer=True, positive=True)
    closed = 1 + sp.Sum((kt[l_] - 1) * sp.Product(st[m_], (m_, 1, l_ - 1)), (l_, 1, a))
    names = D.reading_symbols(closed)
    assert m_ in names                       # a product's variable is bound, yet readable
    assert D.parse(r"\prod_{i=1}^{a} s_i", names) == sp.Product(st[m_], (m_, 1, a))
    # an extra spelling may name an indexed tensor (kappa for the effective kernel k)
    got = D.parse(r"1 + \sum_{l=1}^{a} (\kappa_l - 1) \prod_{i=1}^{l-1} s_i", names,
                  {r"\kappa": kt})
    assert D.same(got, closed) == "symbolic"
    with pytest.raises(AssertionError):      # one factor too many
        D.same(D.parse(r"1 + \sum_{l=1}^{a} (k_l - 1) \prod_{i=1}^{l} s_i", names), closed)
    for tex in (r"\prod_{i} s_i", r"\prod_{i=1}^{a}"):
        with pytest.raises(D.DisplayParseError):
            D.parse(tex, names)


def test_an_underbrace_is_its_formula_and_its_label_is_not_read():
    got = D.parse(r"\underbrace{4a}_{\text{weights and a}} + \underbrace{a b}_\text{b times}"
                  r" + \underbrace{2(a + b)}_{\text{x_{1} {nested}}}", [a, b])
    assert D.same(got, 6 * a + a * b + 2 * b) == "symbolic"
    with pytest.raises(D.DisplayParseError):
        D.parse(r"\underbrace{a}_{\text{open}", [a])


@pytest.mark.parametrize("tex", [r"\sum_{u} w_u", r"\sum_{u=0}^{a-1}", r"x_", r"x",
                                 r"\begin{cases} a & a \end{cases}", r"\begin{align} a \end{align}",
                                 r"a \odot b"])
def test_unreadable_element_wise_notation_is_refused(tex):
    with pytest.raises(D.DisplayParseError):
        D.parse(tex, [a, b, u, xt[a], wt[u]])


@pytest.mark.parametrize("tex", [r"\frac{a}{b", r"\unknown{a}", r"a + q", r"\left( a"])
def test_unreadable_notation_is_refused_by_name(tex):
    with pytest.raises(D.DisplayParseError):
        D.parse(tex, [a, b])


def test_a_wrong_form_is_caught():
    # Off by one inside the floor: equal for many inputs, not for all.
    wrong = D.parse(r"\left\lfloor \frac{n + 2p - d(k - 1)}{s} \right\rfloor + 1",
                    F.conv_output.free_symbols)
    with pytest.raises(AssertionError, match="differ at"):
        D.same(wrong, F.conv_output)


def test_floors_are_compared_at_random_points_when_simplify_cannot():
    # floor(a/2) + floor((a+1)/2) = a holds for integers but sympy does not simplify it.
    how = D.same(sp.floor(a / 2) + sp.floor((a + 1) / 2), a)
    assert how.endswith("random points")


@pytest.mark.parametrize("name", sorted(F.DISPLAYS))
def test_every_display_form_equals_its_expression(name):
    form = F.form(name)
    form.check()
    # A display form is written by hand, not printed by sympy.
    assert form.tex.replace(" ", "") != sp.latex(form.expr).replace(" ", "")


@pytest.mark.parametrize("name", sorted(F.DISPLAYS))
def test_every_display_form_has_a_template_that_evaluates_like_it(name):
    """The interactives' text reads back (⌊⌋ as floor, · as a product) to the same value."""
    form = F.form(name)
    if form.expr.has(sp.Sum, sp.Indexed, sp.Piecewise):
        pytest.skip("element-wise formulas and cases are shown in pages, not in the interactives")
    template = form.template()
    names = {sym.name: sym for sym in form.expr.free_symbols}
    text = "".join(seg if isinstance(seg, str) else f"({seg[0]})" for seg in template)
    source = (text.replace("⌊", "floor(").replace("⌋", ")").replace("⌈", "ceiling(")
              .replace("⌉", ")").replace("·", "*").replace("^", "**").replace("−", "-")
              .replace("√", "sqrt").replace("max", "Max").replace("min", "Min"))
    rebuilt = sp.parse_expr(source, local_dict=names)
    rng = random.Random(1)
    for _ in range(50):
        point = {s: rng.randint(1, 40) for s in form.expr.free_symbols}
        assert rebuilt.subs(point) == form.expr.subs(point), (name, text)


def test_the_conv_output_template_reads_as_a_textbook_prints_it():
    text = "".join(s if isinstance(s, str) else s[0] for s in F.form("conv_output").template())
    assert text == "⌊(n + 2·p − d·(k − 1) − 1)/s⌋ + 1"


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        F.display_form("conv_output", "x", "n", F.n)


def test_an_unknown_name_suggests_close_ones():
    with pytest.raises(ValueError, match="conv_output"):
        F.form("conv_outpt")


def test_page_checks_record_and_fail():
    page.reset()
    page.check("one plus one is two", 1 + 1 == 2, "arithmetic")
    page.check_equal("a list", [1, 2], [1, 2])
    with pytest.raises(AssertionError, match="two is three"):
        page.check("two is three", 2 == 3)
    with pytest.raises(AssertionError, match="got 1, expected 2"):
        page.check_equal("one is two", 1, 2)
    html = page.checked_html()
    assert html.count("<li>") == 2 and "one plus one is two" in html and "(arithmetic)" in html
    assert html.startswith('<details class="cnnbook-checked">')


def test_page_equation_proves_before_it_shows():
    page.reset()
    math = page.equation("conv_output")
    assert r"\left\lfloor" in math.data and math.data.startswith(r"n_\text{out} =")
    shown = page.equation(lhs="t", tex=r"n + 2p - k", expr=F.n + 2 * F.p - F.k)
    assert shown.data == "t = n + 2p - k"
    with pytest.raises(AssertionError):
        page.equation(lhs="t", tex=r"n + 2p - k + 1", expr=F.n + 2 * F.p - F.k)
    assert len(page.CHECKS) == 2


def test_page_counted_flops_is_torchs_count_of_two_per_mac():
    import torch
    x = torch.empty(1, 8, 5, 5, device="meta")
    w = torch.empty(4, 2, 3, 3, device="meta")
    flops = page.counted_flops(torch.nn.functional.conv2d, x, w, groups=4)
    assert flops == 2 * F.conv_macs(8, 4, 3, 3, groups=4)


def test_symbols_are_written_as_the_book_writes_them_and_read_back():
    from cnnbook_lib.formulas import _core
    symbols = [v for v in vars(_core).values() if isinstance(v, sp.Symbol)]
    assert len(symbols) >= 20
    for sym in symbols:
        tex = D.symbol_tex(sym)
        assert D.parse(tex, [sym]) == sym, (sym, tex)
    assert D.symbol_tex(F.c_in) == r"C_\text{in}" and D.symbol_tex(F.k_h) == "k_{h}"
    assert D.symbol_tex(F.beta) == r"\beta"


def test_a_page_copy_without_checks_shows_no_box():
    page.reset()
    assert page.checked_box() is None
    page.check("a check", True)
    assert "a check" in page.checked_box().data
    page.reset()


def test_no_page_displays_an_equation_printed_by_sympy():
    """Every displayed equation comes from a display form (formulas or page.equation): no page
    calls sympy's LaTeX printer."""
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parents[1]
    pages = sorted((root / "chapters").rglob("*.md")) + [root / "intro.md"]
    assert len(pages) >= 40
    printed = [f"{p.relative_to(root)}:{i}" for p in pages
               for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
               if re.search(r"\blatex\(", line)]
    assert not printed, printed
