"""The student edition (``make student``) keeps every exercise and removes every solution.

Compares the two HTML builds that ``make test`` produces: ``_build/html`` and
``_build/student/html``."""
from __future__ import annotations

import functools
import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FULL = ROOT / "_build" / "html"
STUDENT = ROOT / "_build" / "student" / "html"


def _count(folder: pathlib.Path, pattern: str) -> dict[str, int]:
    found = {}
    for page in sorted((folder / "chapters").rglob("*.html")):
        n = len(re.findall(pattern, page.read_text(encoding="utf-8")))
        if n:
            found[page.relative_to(folder).as_posix()] = n
    return found


@pytest.fixture(scope="module")
def builds():
    missing = [str(p) for p in (FULL, STUDENT) if not (p / "index.html").exists()]
    if missing:
        message = f"not built: {', '.join(missing)} (run `make book` and `make student`)"
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":       # in CI both builds must exist
            pytest.fail(message)
        pytest.skip(message)
    return FULL, STUDENT


EXERCISE = r'class="[^"]*\bexercise\b[^"]*"'
SOLUTION = r'class="[^"]*\bsolution\b[^"]*"'


def test_exercises_kept_solutions_removed(builds):
    full, student = builds
    exercises = _count(full, EXERCISE)
    assert exercises, "the book has no exercises"
    assert _count(student, EXERCISE) == exercises
    assert _count(full, SOLUTION), "the full book shows no solutions"
    assert _count(student, SOLUTION) == {}


def test_solution_code_does_not_leak(builds):
    """The code of every solution in the full book appears nowhere in the student edition."""
    from bs4 import BeautifulSoup

    full, student = builds
    checked = 0
    for page in sorted((full / "chapters").rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        if not re.search(SOLUTION, html):
            continue
        student_text = _readable(student / page.relative_to(full))   # its text, tags and all
        for solution in BeautifulSoup(html, "html.parser").select(".solution"):
            for pre in solution.select("pre"):
                code = _normal(pre.get_text())
                if len(code) > 20:               # skip one-word snippets that prose may repeat
                    assert code in _readable(page), code[:60]           # the search can find it
                    assert code not in student_text, f"{page.name}: solution code leaked: {code[:60]}"
                    checked += 1
    assert checked, "no solution code found to check"


def test_student_edition_is_labelled(builds):
    _, student = builds
    assert "student edition" in (student / "intro.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Nothing of any solution anywhere in the student edition: pages, sources, notebooks, search index
# ---------------------------------------------------------------------------------------------

CHAPTERS = ROOT / "chapters"
TEXT_SUFFIXES = {".html", ".js", ".txt", ".md", ".ipynb", ".json"}
# Gated solutions (solution-start ... solution-end, the end directive's closing fence included)
# and plain {solution} directives, found here independently of the library's own stripper.
GATED = re.compile(r"^[ \t]*[`:]{3,}\{solution-start\}.*?^[ \t]*[`:]{3,}\{solution-end\}[^\n]*\n"
                   r"[ \t]*[`:]{3,}[ \t]*$", re.M | re.S)
PLAIN = re.compile(r"^[ \t]*(?P<fence>[`:]{3,})\{solution\}.*?^[ \t]*(?P=fence)[ \t]*$", re.M | re.S)
MIN_NEEDLE = 20              # shorter pieces (one call, one phrase) may also be in the exercises


def _normal(text: str) -> str:
    """Whitespace collapsed and the quotes and dashes of Sphinx's smartquotes made plain."""
    for fancy, plain in (("\u201c", '"'), ("\u201d", '"'), ("\u2018", "'"), ("\u2019", "'"),
                         ("\u2013", "--"), ("\u2014", "---"), ("\u00a0", " ")):
        text = text.replace(fancy, plain)
    return re.sub(r"\s+", " ", text).strip()


def _solution_blocks(text: str) -> list[str]:
    return [m.group(0) for m in GATED.finditer(text)] + [m.group(0) for m in PLAIN.finditer(text)]


def _without_solutions(text: str) -> str:
    return PLAIN.sub("", GATED.sub("", text))


def _pieces(line: str) -> list[str]:
    """The parts of a source line that survive rendering: split at MyST and Markdown markup."""
    return [p.strip() for p in re.split(r"[`${}*]", line) if len(p.strip()) >= MIN_NEEDLE]


@pytest.fixture(scope="module")
def solutions() -> dict[str, list[str]]:
    return solution_texts()


def solution_texts() -> dict[str, list[str]]:
    """Per solution ('page.md#n'): its distinctive pieces of text, none of which the chapters
    show outside solutions."""
    pages = {md: md.read_text(encoding="utf-8") for md in sorted(CHAPTERS.rglob("*.md"))}
    elsewhere = _normal(" ".join(_without_solutions(t) for t in pages.values()))
    found = {}
    for md, text in pages.items():
        for n, block in enumerate(_solution_blocks(text), 1):
            needles = []
            for line in block.splitlines():
                if re.match(r"\s*([`:]{3,}|:\w+:)", line):      # fences and directive options
                    continue
                needles += [p for p in map(_normal, _pieces(line)) if p not in elsewhere]
            assert needles, f"{md.name}: solution {n} has no distinctive text to look for"
            found[f"{md.relative_to(ROOT).as_posix()}#{n}"] = needles
    assert len(found) >= 11, f"expected the book's 11 solutions or more, found {len(found)}"
    return found


def _strings(value) -> list[str]:
    """Every string in a parsed JSON document (notebook sources, outputs, metadata)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@functools.lru_cache(maxsize=None)
def _readable(path: pathlib.Path) -> str:
    """What a reader of the file can see (read once per file and test session): text of HTML with
    and without its tags, every string of a JSON document (a notebook), raw text otherwise."""
    import html
    import json

    from bs4 import BeautifulSoup

    raw = path.read_text(encoding="utf-8", errors="replace")
    parts = [raw]
    if path.suffix == ".html":
        parts += [html.unescape(raw), BeautifulSoup(raw, "html.parser").get_text()]
    elif path.suffix in (".ipynb", ".json"):
        try:
            parts += _strings(json.loads(raw))
        except ValueError:
            pass
    return _normal("\n".join(parts))


def _leaks(folder: pathlib.Path, solutions: dict[str, list[str]]) -> list[str]:
    """'file: solution: text' for every piece of solution text found in a file under folder.

    GNU grep's search for many fixed strings at once (one pass over the files, where Python's
    ``in`` takes one pass per piece: 12 s for the student edition) finds the files that hold any
    piece; only those are then searched piece by piece for the report."""
    import subprocess
    import tempfile

    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "pieces").write_text("".join(n + "\n" for ns in solutions.values() for n in ns),
                                    encoding="utf-8")
        (tmp / "texts").mkdir()
        for i, path in enumerate(paths):
            (tmp / "texts" / str(i)).write_text(_readable(path), encoding="utf-8")
        grep = subprocess.run(["grep", "-F", "-l", "-r", "-f", "pieces", "texts"], cwd=tmp,
                              capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    assert grep.returncode in (0, 1), grep.stderr               # 1: no file holds any piece
    holding = [paths[int(line.split("/")[-1])] for line in grep.stdout.split()]
    leaks = []
    for path in sorted(holding):
        text = _readable(path)
        for solution, needles in solutions.items():
            leaks += [f"{path.relative_to(folder).as_posix()}: {solution}: {needle[:60]!r}"
                      for needle in needles if needle in text]
    return leaks


def test_every_solution_is_findable_in_the_full_book(builds, solutions):
    """The search below can fail: the full book shows some text of every solution in its page,
    its .md source and its .ipynb download."""
    full, _ = builds
    for solution, needles in solutions.items():
        page = solution.split("#")[0][: -len(".md")]
        for built in (full / f"{page}.html", full / "_sources" / f"{page}.md",
                      full / "_sources" / f"{page}.ipynb"):
            text = _readable(built)
            assert any(n in text for n in needles), f"{built.name}: {solution} not found"


def test_no_solution_text_in_any_file_of_the_student_edition(builds, solutions):
    """Pages, _sources (.md and .ipynb), downloads, search index, scripts: no solution text."""
    _, student = builds
    scanned = [p for p in student.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES]
    assert any(p.suffix == ".ipynb" for p in scanned) and any(p.suffix == ".md" for p in scanned)
    leaks = _leaks(student, solutions)
    assert not leaks, f"{len(leaks)} pieces of solution text in the student edition:\n" + \
        "\n".join(leaks[:30])


def test_leak_search_catches_a_planted_solution(builds, solutions, tmp_path):
    """Full-book files (with solutions) and a student page with one solution line pasted in are
    reported, each of them."""
    full, student = builds
    page = next(iter(solutions)).split("#")[0][: -len(".md")]
    planted = {"page.html": full / f"{page}.html", "source.md": full / "_sources" / f"{page}.md",
               "notebook.ipynb": full / "_sources" / f"{page}.ipynb"}
    for name, source in planted.items():
        (tmp_path / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    needle = next(iter(solutions.values()))[0]
    clean = (student / f"{page}.html").read_text(encoding="utf-8")
    (tmp_path / "clean.html").write_text(clean, encoding="utf-8")
    (tmp_path / "pasted.html").write_text(clean.replace("</main>", f"<p>{needle}</p></main>", 1),
                                          encoding="utf-8")
    reported = {leak.split(":")[0] for leak in _leaks(tmp_path, solutions)}
    assert reported == {"page.html", "source.md", "notebook.ipynb", "pasted.html"}


def _text_outside_solutions(page: pathlib.Path) -> str:
    """The text of an HTML page without the elements whose class names a solution."""
    from html.parser import HTMLParser

    class Outside(HTMLParser):
        VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "area", "col"}

        def __init__(self):
            super().__init__()
            self.depth, self.skip, self.parts = 0, [], []

        def handle_starttag(self, tag, attrs):
            if tag in self.VOID:
                return
            self.depth += 1
            if not self.skip and re.search(r"\bsolution\b", dict(attrs).get("class") or ""):
                self.skip.append(self.depth)

        def handle_endtag(self, tag):
            if tag in self.VOID:
                return
            if self.skip and self.skip[-1] == self.depth:
                self.skip.pop()
            self.depth -= 1

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = Outside()
    parser.feed(page.read_text(encoding="utf-8"))
    return " ".join(parser.parts)


def _search_index(folder: pathlib.Path) -> dict:
    import json

    text = (folder / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1: text.rindex(")")])


def test_search_index_has_no_word_found_only_in_solutions(builds, solutions):
    """Words of a page's solutions that its other text lacks are indexed for the page in the full
    book and not in the student edition."""
    from sphinx.search.en import SearchEnglish

    full, student = builds
    stem = SearchEnglish({}).stem
    indexes = {"full": _search_index(full), "student": _search_index(student)}
    for md in sorted({s.split("#")[0] for s in solutions}):
        text = (ROOT / md).read_text(encoding="utf-8")
        docname = md[: -len(".md")]

        def stems(chunk: str, shortest: int = 4) -> set[str]:
            chunk = "\n".join(l for l in chunk.splitlines() if not re.match(r"\s*([`:]{3,}|:\w+:)", l))
            return {stem(w.lower()) for w in re.findall(r"[A-Za-z]{%d,}" % shortest, chunk)}

        # every word of the rest of the page counts, short ones too ("fix" is the stem of "fixed"),
        # and so do the words of its cell outputs (a table's "Linear" column), read from the full
        # book's page with its solution blocks left out
        rest = _without_solutions(text) + "\n" + _text_outside_solutions(full / f"{docname}.html")
        only_in_solutions = stems("\n".join(_solution_blocks(text))) - stems(rest, 1)
        assert only_in_solutions, f"{md}: its solutions share every word with the rest of the page"
        found = {}
        for edition, index in indexes.items():
            doc = index["docnames"].index(docname)
            found[edition] = set()
            for term in only_in_solutions:
                docs = index["terms"].get(term, [])
                if doc in ([docs] if isinstance(docs, int) else docs):
                    found[edition].add(term)
        assert found["full"], f"{md}: no solution-only word indexed in the full book"
        assert not found["student"], f"{md}: solution words in the student search index: " \
                                     f"{sorted(found['student'])}"


def test_downloads_keep_the_exercises(builds):
    """Each page's download buttons point to files of the student edition that keep every
    exercise; no header button opens the full repository (or Binder on it); a Colab button opens
    the student edition's notebook as published (under student/ on the published site)."""
    full, student = builds
    for page in sorted((student / "chapters").rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        assert "btn-source-repository-button" not in html and "launch-buttons" not in html, page.name
        assert "mybinder" not in html, page.name
        for href in re.findall(r'href="(https?://[^"]*_sources/[^"]+)"', html):
            assert href.startswith("https://colab.research.google.com/") and "/student/_sources/" in href, href
        for href in re.findall(r'href="((?!https?://)[^"]*_sources/[^"]+)"', html):
            target = (page.parent / href).resolve()
            assert target.is_file() and target.is_relative_to(student.resolve()), href
            twin = full / target.relative_to(student.resolve())
            count = lambda p: len(re.findall(r"\{exercise\}", p.read_text(encoding="utf-8")))
            assert count(target) == count(twin), f"{href}: exercises lost"
    assert "btn-source-repository-button" in (full / "intro.html").read_text(encoding="utf-8")


def test_strippers_remove_both_kinds_of_solution_and_nothing_else():
    """The library's strippers (used by the build, the handouts and the assignments) on a page
    with a gated solution that spans cells, a plain solution with a nested fence, and lookalikes."""
    import nbformat
    import jupytext

    from cnnbook_lib.teaching.solutions import has_solutions, strip_markdown, strip_notebook

    page = (
        "# Page\n\n```{exercise}\n:label: ex-a\nKeep this exercise.\n```\n\n"
        "```{solution-start} ex-a\n:class: dropdown\n```\nGated prose.\n\n"
        "```{code-cell} ipython3\ngated_code = 1\n```\n\n:::{note}\nGated note.\n:::\n\n"
        "```{solution-end}\n```\n\nKeep this paragraph about solution-start.\n\n"
        "````{solution} ex-a\nPlain prose.\n```python\nplain_code = 2\n```\n````\n\n"
        ":::{solution} ex-a\nColon prose.\n:::\n\n```{code-cell} ipython3\nkept_code = 3\n```\n")
    for text in (strip_markdown(page),
                 "\n".join(c.source for c in strip_notebook(jupytext.reads(page, fmt="myst")).cells)):
        assert "Keep this exercise." in text and "Keep this paragraph" in text and "kept_code" in text
        for gone in ("Gated", "gated_code", "Plain prose", "plain_code", "Colon prose",
                     "{solution"):
            assert gone not in text, gone
    assert has_solutions(page) and not has_solutions(strip_markdown(page))
    assert strip_markdown("# No solutions\n\n\n\nhere\n") == "# No solutions\n\n\n\nhere\n"
    with pytest.raises(ValueError):
        strip_markdown("```{solution-start} ex-a\n```\nnever closed\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("```{solution-start} x\n```"),
                                         nbformat.v4.new_code_cell("leak = 1")])
    with pytest.raises(ValueError):
        strip_notebook(nb)
