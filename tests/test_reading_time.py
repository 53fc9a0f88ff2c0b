"""The reading-time rule (cnnbook_lib.reading_time): each term counted on synthetic pages whose
words, equations, figures, code lines and interactives are known, and the rounding."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest

from cnnbook_lib import reading_time as R


def words(n: int, start: int = 0) -> str:
    return " ".join(f"word{i}" for i in range(start, start + n))


def page(body: str) -> str:
    """A page shaped like the book's: theme frame around an <article>."""
    return (f'<html><head><title>A title</title><script>var x = "not words";</script></head><body>'
            f'<nav class="bd-docs-nav"><ul><li><a href="a.html">1.1. Sidebar entry words</a></li></ul></nav>'
            f'<article class="bd-article"><section id="s"><h1>Page title'
            f'<a class="headerlink" href="#s">#</a></h1>{body}</section></article>'
            f'<footer class="prev-next-footer"><a href="b.html">next page title</a></footer></body></html>')


CODE_CELL = ('<div class="cell docutils container"><div class="cell_input docutils container">'
             '<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span></span>'
             '{code}</pre></div></div></div></div>')
HIDDEN_CELL = ('<div class="cell tag_hide-input docutils container"><details class="admonition hide above-input">'
               '<summary>Show code cell source</summary><div class="cell_input docutils container">'
               '<div class="highlight"><pre>{code}</pre></div></div></details></div>')


def test_words_of_prose_only_inside_the_article():
    counts = R.count(page(f"<p>{words(199)}</p>"))
    assert counts.words == 199 + 2                # + "Page title"; the sidebar, footer, "#" are out
    assert counts.equations == counts.figures == counts.code_lines == counts.interactives == 0


def test_words_per_minute_and_rounding_up():
    # 2 title words + 398 = 400 words: exactly 2 minutes; one more word makes 3
    assert R.count(page(f"<p>{words(398)}</p>")).exact_minutes == 2
    assert R.reading_minutes(page(f"<p>{words(398)}</p>")) == 2
    assert R.reading_minutes(page(f"<p>{words(399)}</p>")) == 3
    assert R.reading_minutes(page("")) == 1           # never less than one minute


def test_inline_markup_does_not_split_words_and_inline_math_is_one_word():
    html = page('<p>a <strong>bold</strong> claim, <code>torch.nn</code> and '
                r'<span class="math notranslate nohighlight">\(k_h k_w C_\text{in} + 1\)</span> here.</p>')
    assert R.count(html).words == 2 + 7               # a bold claim, torch.nn and <formula> here.


def test_display_equations_half_a_minute_each():
    eq = r'<div class="math notranslate nohighlight" id="equation-x">\[a = b + c d e f\]<span class="eqno">(1.1)</span></div>'
    counts = R.count(page(f"<p>{words(198)}</p>" + eq * 3))
    assert (counts.words, counts.equations) == (200, 3)
    assert counts.exact_minutes == 1 + Fraction(3, 2)
    assert counts.minutes == 3


def test_figures_half_a_minute_each_and_captions_are_prose():
    fig = ('<figure class="align-default" id="fig-a"><img alt="A plot" src="a.png" />'
           '<figcaption><p><span class="caption-number">Fig. 1.1 </span>Four caption words here.</p>'
           '</figcaption></figure>')
    bare = '<div class="cell_output docutils container"><img alt="A plot" src="b.png" /></div>'
    counts = R.count(page(fig + fig + bare))
    assert counts.figures == 3                       # two figures, one plot outside a figure
    assert counts.words == 2 + 2 * 6                 # "Fig. 1.1 Four caption words here."
    assert counts.exact_minutes == Fraction(14, 200) + Fraction(3, 2)


def test_visible_code_lines_a_minute_per_ten():
    code = "\n".join(f"x{i} = {i}" for i in range(12)) + "\n\n"       # 12 lines and blank ones
    counts = R.count(page(CODE_CELL.format(code=code) + '<div class="cell_output"><pre>out 1\nout 2\n</pre></div>'))
    assert counts.code_lines == 14 and counts.words == 2
    assert counts.exact_minutes == Fraction(2, 200) + Fraction(14, 10)
    assert counts.minutes == 2


def test_folded_boxes_do_not_count():
    folded = ('<details class="cnnbook-checked"><summary>What this page checked</summary>'
              f'<ul><li>{words(500)}</li></ul></details>')
    hidden = HIDDEN_CELL.format(code="\n".join("y = 1" for _ in range(40)))
    toggled = f'<div class="admonition dropdown"><p class="admonition-title">Solution</p><p>{words(300)}</p></div>'
    refs = f'<div class="citation-list"><div class="citation"><p>{words(100)}</p></div></div>'
    badge = '<p class="cnnbook-path-line"><span class="cnnbook-path" data-path="core" data-minutes="3">Core · 3 min</span></p>'
    counts = R.count(page(folded + hidden + toggled + refs + badge))
    assert (counts.words, counts.code_lines, counts.figures) == (2, 0, 0)


def test_an_open_box_counts():
    box = f'<details open="open"><summary>Shown</summary><p>{words(10)}</p></details>'
    assert R.count(page(box)).words == 2 + 1 + 10


def test_interactives_add_their_stated_time_and_nothing_else():
    lines = "line\n" * 30
    static = ('<div class="cnnbook-static" data-cnnbook-static="layer_cost" data-minutes="3">'
              '<style>.cb { color: red }</style><div class="cb-root"><noscript>Layer cost: needs JS.</noscript>'
              '<div class="cnnbook-interactive" data-cnnbook-interactive="layer_cost" data-minutes="3">'
              f'<pre>{lines}</pre><p>{words(300)}</p><img src="x.png"></div></div>'
              '<script type="application/json" class="cb-config">{"esm": "export default 1"}</script></div>')
    counts = R.count(page(static + static))
    assert counts.interactives == 2 and counts.interactive_minutes == 6
    assert (counts.words, counts.code_lines, counts.figures) == (2, 0, 0)
    assert counts.minutes == math.ceil(Fraction(2, 200) + 6)


def test_an_interactive_without_a_stated_time_is_reported():
    counts = R.count(page('<div data-cnnbook-static="mystery"><p>x</p></div>'
                          '<div data-cnnbook-interactive="odd" data-minutes="soon"></div>'))
    assert counts.unstated == ("mystery", "odd") and counts.interactive_minutes == 0


def test_all_terms_add_exactly_before_rounding():
    body = (f"<p>{words(98)}</p>"                                            # 100 words: 1/2
            + '<div class="math">\\[x\\]</div>'                                  # 1/2
            + '<figure><img src="a.png"></figure>'                               # 1/2
            + CODE_CELL.format(code="a\nb\nc\nd\ne\n")                           # 1/2
            + '<div data-cnnbook-static="s" data-minutes="1.5"></div>')         # 3/2
    counts = R.count(page(body))
    assert counts.exact_minutes == Fraction(7, 2) and counts.minutes == 4


def test_a_fragment_without_an_article_counts_whole():
    assert R.count(f"<p>{words(5)}</p>").words == 5


def test_every_declared_interactive_states_its_time():
    from cnnbook_lib import interactives

    for name, decl in interactives.declarations().items():
        assert decl.minutes and decl.minutes > 0, name
        assert decl.spec()["minutes"] == decl.minutes
    html = interactives.declarations()["layer_cost"].to_html()
    assert R.count(html).interactive_minutes == interactives.declarations()["layer_cost"].minutes


def test_an_interactive_refuses_a_time_that_is_not_a_positive_number():
    from cnnbook_lib.interactives import Interactive, Param

    for bad in (0, -2, "3", True):
        with pytest.raises(ValueError):
            Interactive(name="layer_cost", title="t", params=[Param("k", "k", 3, 1, 7)], outputs=[],
                        module="layer_cost.js", minutes=bad)


EXERCISES = """<article class="bd-article">
<div class="exercise admonition" id="ex-a"><p class="admonition-title"><span class="caption-number">Exercise 1.1 </span></p>
<section id="exercise-content"><p><em>Easy, 5 minutes.</em> A question with <em>20 minutes</em> inside.</p></section></div>
<div class="solution dropdown admonition" id="sol-a"><p><em>45 minutes</em> of answer.</p></div>
<div class="exercise admonition" id="ex-b"><section><p><em>Hard, 30 minutes. Proof.</em> Prove it.</p></section></div>
<div class="exercise admonition" id="ex-c"><section><p><em>Medium, 10-15 minutes.</em> A range.</p></section></div>
<div class="exercise admonition" id="ex-d"><section><p><em>Hard, 1 hour. Measurement lab.</em></p></section></div>
<div class="exercise admonition" id="ex-e"><section><p>No estimate, <em>emphasis</em> only.</p></section></div>
</article>"""


def test_exercise_estimates_from_their_opening_emphasis():
    found = {e.label: e.minutes for e in R.exercise_estimates(EXERCISES)}
    assert found == {"ex-a": 5, "ex-b": 30, "ex-c": 15, "ex-d": 60, "ex-e": None}
    assert R.exercises_minutes(EXERCISES) == 5 + 30 + 15 + 60


@pytest.mark.parametrize("text, minutes", [("Easy, 5 minutes.", 5), ("Medium, 25 minutes. Code.", 25),
                                           ("10–20 minutes", 20), ("2 hours", 120), ("1 min", 1),
                                           ("Hard. Proof.", None)])
def test_parse_estimate(text, minutes):
    assert R.parse_estimate(text) == minutes


def test_the_stated_rule_names_the_constants():
    assert f"{R.WORDS_PER_MINUTE} per minute" in R.RULE
    assert f"{R.CODE_LINES_PER_MINUTE} visible lines of code" in R.RULE
    assert R.MINUTES_PER_EQUATION == R.MINUTES_PER_FIGURE == Fraction(1, 2) and "half a minute" in R.RULE


def test_downloaded_notebooks_show_the_tables_the_build_filled_in():
    from cnnbook_lib import notebooks as N

    table = ('<div class="cnnbook-path-table" data-chapter="chapters/09_x"><table><tr data-path="core" '
             'data-pages="2" data-minutes="30"><td>Core</td><td>2</td><td>30 min</td></tr></table></div>')
    times = '<div class="cnnbook-reading-times"><table><tr><td>9. X</td></tr></table></div>'
    nb = {"cells": [{"cell_type": "markdown", "metadata": {},
                     "source": "```{rubric} What this chapter covers\n```\n\n```{cnnbook-paths}\n```\n\n"
                               "```{cnnbook-reading-times}\n```\n"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = N.render(nb, N.PageIndex(f"<p>{table}</p><p>{times}</p>"))
    text = out["cells"][0]["source"]
    assert "**What this chapter covers**" in text and table in text and times in text
    assert R.RULE in text and N.problems(out) == []
