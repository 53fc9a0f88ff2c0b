"""The one MyST parser and renderer (cnnbook_lib.myst), on small snippets; and the notebooks and
the handouts rendering the same snippet the same way."""
from __future__ import annotations

import pytest

from cnnbook_lib import myst, notebooks
from cnnbook_lib.teaching import handouts


# ---------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------

def test_parse_keeps_nested_fences_inside_their_directive():
    text = ("before\n````{solution} ex-a\n:class: dropdown\nprose\n```python\nx = 1\n```\n````\n"
            ":::{note} A title\ninner\n:::\nafter")
    blocks = myst.parse(text)
    assert blocks[0] == "before" and blocks[-1] == "after"
    solution, note = blocks[1], blocks[2]
    assert (solution.name, solution.arg, solution.options) == ("solution", "ex-a",
                                                                {"class": "dropdown"})
    assert solution.body == ["prose", "```python", "x = 1", "```"] and solution.fence == "````"
    assert (note.name, note.arg, note.body, note.fence) == ("note", "A title", ["inner"], ":::")


def test_an_unclosed_directive_is_an_error():
    with pytest.raises(ValueError, match="'exercise' is not closed"):
        myst.parse("```{exercise}\nno end")


def test_closes_needs_the_same_character_at_least_as_often():
    assert myst.closes("```", "```") and myst.closes("  ````  ", "```")
    assert not myst.closes("``", "```") and not myst.closes(":::", "```")
    assert not myst.closes("```python", "```")


def test_role_target_splits_text_and_target():
    assert myst.role_target("the figure <fig-edge>") == ("the figure", "fig-edge")
    assert myst.role_target("fig-edge") == ("", "fig-edge")
    assert myst.role_target("Fig. %s <fig-edge>") == ("Fig. %s", "fig-edge")


def test_labels_of_a_page():
    page = ("(sec-shapes)=\n## Output shapes\n\n```{math}\n:label: eq-out\nn + 1\n```\n\n"
            "```{glue:math} eq_glued\n:label: eq-glued\n```\n\n"
            "```{glue:figure} fig_key\n:name: fig-edge\n\nThe edge.\n```\n\n"
            "$$ a = b $$ (eq-dollar)\n\n```{exercise} Count\n:label: ex-a\n\nHow many?\n```\n")
    found = myst.labels(page)
    assert found["sec-shapes"] == myst.Label("section", title="Output shapes")
    assert found["eq-out"] == myst.Label("equation", latex="n + 1")
    assert found["eq-glued"] == myst.Label("equation", glue="eq_glued")
    assert found["eq-dollar"] == myst.Label("equation", latex="a = b")
    assert found["fig-edge"] == myst.Label("figure", title="The edge.")
    assert found["ex-a"] == myst.Label("exercise", title="Count")


def test_glue_text_formats_numbers_and_refuses_reprs():
    assert myst.glue_text({"text/plain": "0.123456"}, ".2f") == "0.12"
    assert myst.glue_text({"text/plain": "42"}, ",") == "42"
    assert myst.glue_text({"text/plain": "'73,856'"}) == "73,856"
    assert myst.glue_text({"text/plain": "'1234.5'"}, ",.0f") == "1,234"      # a glued string
    assert myst.glue_text({"text/plain": "<Figure size 640x480>"}) is None
    assert myst.glue_text(None) is None
    assert myst.glue_latex({"text/latex": "$\\displaystyle n = 3$"}) == "n = 3"


# ---------------------------------------------------------------------------------------------
# The renderer
# ---------------------------------------------------------------------------------------------

class Known(myst.References):
    """References that know a little, as a built page would."""

    def __init__(self):
        super().__init__()

    def glue(self, key):
        return {"n": {"text/plain": "'73,856'"}, "eq": {"text/latex": "$y = w x$"},
                "fig": {"text/plain": "<Figure>", "image/png": "iVBOR"}}.get(key)

    def citation(self, keys):
        table = {"dumoulin2016guide": ("DV16", "Dumoulin and Visin. A guide."),
                 "he2016deep": ("HZRS16", "He et al. Deep residual learning.")}
        return [table[k] for k in keys] if all(k in table for k in keys) else None

    def equation_number(self, label):
        return {"eq-out": "1.6"}.get(label)

    def equation_latex(self, label):
        return {"eq-line": "y = a x + b"}.get(label)

    def number(self, label):
        return {"fig-edge": "Fig. 1.1", "ex-a": "Exercise 1.1"}.get(label)

    def title(self, label):
        return {"sec-shapes": "Output shapes"}.get(label)

    def doc_title(self, target):
        return {"../03_shapes": "Shapes"}.get(target)

    def where(self, label):
        return {"eq-far": "Far away"}.get(label)


@pytest.mark.parametrize("source, expected", [
    ("{glue:text}`n` and {glue}`n`", "73,856 and 73,856"),
    ("{glue:text}`missing`", "(see the book)"),
    ("{glue:math}`eq`", "$y = w x$"),
    ("{cite}`dumoulin2016guide,he2016deep`", "[DV16; HZRS16]"),
    ("{cite:p}`dumoulin2016guide`", "[DV16]"),
    ("{cite}`unknown2020, other2021`", "[unknown2020; other2021]"),
    ("{eq}`eq-out`", "(1.6)"),
    ("{eq}`eq-line`", "$y = a x + b$"),
    ("{eq}`eq-far`", "the equation in the book's section “Far away”"),
    ("{eq}`eq-nowhere`", "the book's equation"),
    ("{numref}`fig-edge`", "Fig. 1.1"),
    ("{numref}`Figure %s <fig-edge>`", "Figure Fig. 1.1"),
    ("{ref}`sec-shapes`", "Output shapes"),
    ("{ref}`the shapes <sec-shapes>`", "the shapes"),
    ("{doc}`../03_shapes`", "Shapes"),
    ("{doc}`that page <../03_shapes>`", "that page"),
    ("{doc}`../99_unknown`", "../99_unknown"),
    ("{math}`k^2`, H{sub}`2`O, x{sup}`2`", "$k^2$, H<sub>2</sub>O, x<sup>2</sup>"),
    ("{term}`receptive field <rf>`, {abbr}`MAC (multiply-accumulate)`",
     "receptive field, MAC (multiply-accumulate)"),
])
def test_roles(source, expected):
    assert myst.render(source, Known()) == expected


def test_directives():
    text = myst.render(
        "(sec-x)=\n% a comment\n# Title\n\n"
        "```{exercise} Counting\n:label: ex-a\n\nHow many? See {eq}`eq-out`.\n```\n\n"
        "```{exercise}\nAnother one.\n```\n\n"
        ":::{note}\nA note.\n:::\n\n```{admonition} Learning objectives\n:class: tip\n\n* one\n```\n\n"
        "```{seealso}\nElsewhere.\n```\n\n"
        "```{math}\n:label: eq-out\nn + 1\n```\n\n```{glue:math} eq\n```\n\n"
        "```{glue:figure} fig\n:name: fig-edge\n\nThe edge. More.\n```\n\n"
        "```{figure} pics/x.png\nA drawing.\n```\n\n"
        "```{code-block} python\nx = {glue}`n`\n```\n\n```{glue:text} n\n```\n\n"
        "```{rubric} Further reading\n```\n\n```{toctree}\nchapters/01\n```\n\n"
        "```{unknown-directive}\nIts content.\n```", Known(), exercise_prefix="1.", exercises=3)
    for piece in ("# Title", "### Exercise 1.1: Counting\n\nHow many? See (1.6).",
                  "### Exercise 1.5\n\nAnother one.",
                  "> **Note**\n>\n> A note.", "> **Learning objectives**\n>\n> * one",
                  "> **See also**\n>\n> Elsewhere.", "$$\nn + 1 \\tag{1.6}\n$$", "$$\ny = w x\n$$",
                  "![The edge](attachment:fig.png)\n\n*Fig. 1.1: The edge. More.*",
                  "*Figure: A drawing. (see the book)*", "```python\nx = {glue}`n`\n```",
                  "73,856", "**Further reading**", "Its content."):
        assert piece in text, piece
    assert "(sec-x)=" not in text and "a comment" not in text and "chapters/01" not in text
    assert "\n\n\n" not in text


def test_solutions_and_the_bibliography():
    refs = Known()
    r = myst.Renderer(refs)
    assert r.markdown("```{solution-start} ex-a\n:class: dropdown\n```\nBecause.") == \
        "**Solution**\n\nBecause."
    assert r.markdown("```{solution-end}\n```\nAfter.") == "After."
    assert r.markdown("````{solution} ex-a\nShort.\n```python\nx = {glue}`n`\n```\n````") == \
        "**Solution**\n\nShort.\n```python\nx = {glue}`n`\n```"       # code stays code
    assert r.markdown("```{bibliography}\n```") == \
        "*The references are listed on the book's References page.*"
    r.markdown("As {cite}`he2016deep` showed.")
    assert myst.Renderer(refs).markdown("```{bibliography}\n```") == \
        "* [HZRS16] He et al. Deep residual learning."


def test_extra_directives_override_the_table():
    r = myst.Renderer(directives={"note": lambda renderer, d: f"NOTE({d.text})"})
    assert r.markdown(":::{note}\nx\n:::") == "NOTE(x)"


# ---------------------------------------------------------------------------------------------
# One rendering for the notebooks and the handouts
# ---------------------------------------------------------------------------------------------

SNIPPET = ("It has {glue:text}`n` weights; see {doc}`the other page <other>` and "
           "{ref}`the section <sec-a>`, as {cite}`dumoulin2016guide` says.\n\n"
           ":::{note}\nA note with {math}`k^2`.\n:::\n\n```{code-block} python\nx = 1\n```")


def test_notebooks_and_handouts_render_the_same_snippet_alike(tmp_path):
    (tmp_path / "chapters").mkdir()
    glue = {"n": {"text/plain": "'73,856'"}}
    cell = {"cell_type": "markdown", "metadata": {}, "source": SNIPPET}
    nb = notebooks.render({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                          notebooks.PageIndex(), glue={"n": {"data": glue["n"]}})
    refs = handouts.SourceReferences(tmp_path, glue, tmp_path / "chapters")
    handout = myst.Renderer(refs).markdown(SNIPPET)
    assert nb["cells"][0]["source"] == handout
    assert handout.startswith("It has 73,856 weights; see the other page and the section, as "
                              "[dumoulin2016guide] says.")
    assert "> **Note**\n>\n> A note with $k^2$." in handout and "```python\nx = 1\n```" in handout


def test_handout_citations_use_the_books_labels():
    refs = handouts.SourceReferences(handouts.book_root(), {}, handouts.book_root() / "chapters")
    assert myst.Renderer(refs).markdown("{cite}`dumoulin2016guide`") == "[DV16]"


def test_doc_links_to_the_online_page_when_its_address_is_known():
    class Online(Known):
        def doc_url(self, target):
            return {"../03_shapes": "https://book.example.org/chapters/03_shapes.html"}.get(target)

    assert myst.render("See {doc}`../03_shapes` and {doc}`that page <../03_shapes>`.", Online()) == \
        "See [Shapes](https://book.example.org/chapters/03_shapes.html) and " \
        "[that page](https://book.example.org/chapters/03_shapes.html)."
    assert myst.render("{doc}`../99_unknown`", Online()) == "../99_unknown"


def test_glued_markdown():
    class Glued(Known):
        def glue(self, key):
            return {"table": {"text/plain": "<Markdown>",
                              "text/markdown": "| a |\n| --- |\n| {numref}`ex-a`, {cite}`he2016deep` |"}}.get(key)

    assert myst.render("```{glue:md} table\n:format: myst\n```", Glued()) == \
        "| a |\n| --- |\n| Exercise 1.1, [HZRS16] |"
    assert myst.render("```{glue:md} table\n```", Glued()).endswith("| {numref}`ex-a`, {cite}`he2016deep` |")
    assert myst.render("```{glue:md} nothing\n```", Glued()) == "(see the book)"
