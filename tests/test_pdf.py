"""The PDF edition (``make pdf``): every page of the built book, in reading order, in one file that
reads like a book. Each test reads the produced PDF with pypdf and checks it against the built
HTML (an independent source): the pages and their order, code wrapped rather than clipped, links
kept inside the PDF, bookmarks, page numbers, the contents list, and the interactives' notes.

The book is printed once per test session (a few minutes). ``CNNBOOK_HTML`` points the tests at
another built book than ``_build/html``."""
from __future__ import annotations

import html as htmlmod
import math
import os
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("CNNBOOK_HTML", ROOT / "_build" / "html"))
MM = 72 / 25.4

# slow: the whole book is printed (make test-slow)
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _norm(text: str) -> str:
    """Text as compared here: ligatures undone, Sphinx's smart quotes plain, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip()


def _squash(text: str) -> str:
    """Text without any white space (a wrapped line reads as the line it was)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _titles() -> list[str]:
    """The title of every chapter's landing page and section, from the sources (of the pages the
    built book holds: the reading-order test checks that the PDF holds every built page)."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    titles = []
    for name in re.findall(r"file: (chapters/[\w/]+)", toc):
        if not (HTML / f"{name}.html").exists():
            continue
        text = (ROOT / f"{name}.md").read_text(encoding="utf-8")
        m = re.search(r"^# (.+)$", text, re.M)
        if m:
            titles.append(m.group(1).strip())
    return titles


class _Pre(HTMLParser):
    """The text of every <pre> a reader sees: none inside a folded <details> (a hidden code cell)."""

    def __init__(self):
        super().__init__()
        self.stack, self.blocks, self.depth = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("details", "pre"):
            self.stack.append((tag, tag == "details" and "open" not in dict(attrs)))
            if tag == "pre":
                self.depth += 1
                if self.depth == 1:
                    self.blocks.append([any(folded for _, folded in self.stack), ""])

    def handle_endtag(self, tag):
        if tag in ("details", "pre"):
            while self.stack:
                top, _ = self.stack.pop()
                if top == tag:
                    break
            if tag == "pre":
                self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.blocks[-1][1] += data


def _visible_code(page: str) -> list[str]:
    parser = _Pre()
    parser.feed(_article(page))
    return [text for folded, text in parser.blocks if not folded]


def _article(page: str) -> str:
    """The printed part of a built page: its article, without the theme's navigation."""
    text = (HTML / page).read_text(encoding="utf-8")
    m = re.search(r'<article class="bd-article"[^>]*>(.*)</article>', text, re.S)
    return m.group(1) if m else ""


@pytest.fixture(scope="module")
def book(tmp_path_factory, chromium):
    """The PDF printed from the built book: (summary returned by pdf.build, PdfReader, page texts)."""
    if not (HTML / "index.html").exists():
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":
            pytest.fail("no built book: run `make book` first")
        pytest.skip("no built book: run `make book` first")
    from pypdf import PdfReader

    from cnnbook_lib import pdf
    out = tmp_path_factory.mktemp("pdf") / "book.pdf"
    online = pdf.online_address(ROOT / "_config.yml")
    result = pdf.build(HTML, out, progress=lambda *_: None, browser=chromium, online_url=online)
    reader = PdfReader(str(out))
    return result, reader, [_page_text(p) for p in reader.pages]


def _page_text(page) -> dict:
    """A page's text runs: ``body`` (above the foot margin, in drawing order), ``foot`` (in it), and
    ``mono`` (monospaced runs as (left, right) in points, right estimated from the font's advance)."""
    body, foot, mono = [], [], []

    def visit(text, cm, tm, font, size):
        if not text.strip():
            if text:
                body.append(text)
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        (foot if y < 12 * MM else body).append(text)
        name = str((font or {}).get("/BaseFont", ""))
        if "Mono" in name:
            scale = size * math.hypot(tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3])
            mono.append((x, x + len(text.rstrip("\n")) * 0.602 * scale, text))   # DejaVu Sans Mono: 0.602 em

    page.extract_text(visitor_text=visit)
    return {"body": " ".join(body), "foot": " ".join(foot).strip(), "mono": mono,
            "width": float(page.mediabox.width)}


def _pages_of(result, path: str, texts) -> range:
    order, starts = result["html_pages"], result["starts"]
    i = order.index(path)
    end = starts[i + 1] if i + 1 < len(order) else len(texts)
    return range(starts[i], end)


def test_pdf_has_every_page_in_reading_order(book):
    result, reader, texts = book
    order = result["html_pages"]
    pages = sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                   if "_static" not in p.parts and "_sources" not in p.parts
                   and p.name not in ("index.html", "genindex.html", "search.html"))
    assert sorted(order) == pages                     # the "next" links reach every page once
    assert result["pages"] == len(reader.pages) >= len(order)
    assert result["starts"] == sorted(result["starts"])
    text = _norm(" ".join(t["body"] for t in texts))
    missing = [t for t in _titles() if _norm(t) not in text]
    assert missing == [], missing
    assert "{glue" not in text


def test_code_is_wrapped_not_clipped(book):
    """Every line of every code cell and text output of the built pages is in the PDF whole (a
    clipped line loses its end: Chromium drops what the margin hides), and no monospaced text runs
    past the right margin or starts left of the left one."""
    result, reader, texts = book
    clipped = []
    lines = 0
    for path in result["html_pages"]:
        printed = _squash("".join(texts[i]["body"] for i in _pages_of(result, path, texts)))
        for pre in _visible_code(path):
            for line in pre.splitlines():
                line = _squash(line)
                if not line:
                    continue
                lines += 1
                if line not in printed:
                    clipped.append(f"{path}: {line[:100]}")
    assert lines > 0
    assert clipped == [], f"{len(clipped)} of {lines} code lines not whole in the PDF: {clipped[:10]}"
    width = texts[0]["width"]
    outside = [(i + 1, round(left), round(right), text[:40]) for i, t in enumerate(texts)
               for left, right, text in t["mono"] if right > width - 14 * MM + 1 or left < 14 * MM - 1]
    assert outside == [], outside[:10]


def test_links_stay_in_the_pdf(book):
    """No link points at the temporary server; a link to another page of the book goes to its page
    in the PDF (or, for a file the PDF does not hold, to the online book); each page of the HTML
    has at least as many links inside the PDF as its article has links to pages of the book."""
    from pypdf.generic import ArrayObject
    result, reader, texts = book
    online = result["online_url"]
    assert online.startswith("https://")
    uris, internal = [], [0] * len(reader.pages)
    for index, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            action = annot.get("/A")
            if action is not None and action.get_object().get("/S") == "/URI":
                uris.append(str(action.get_object()["/URI"]))
                continue
            dest = annot.get("/Dest")
            assert isinstance(dest, ArrayObject), f"page {index + 1}: a link to a named destination {dest}"
            assert _target(reader, dest) is not None, f"page {index + 1}: a link to no page"
            internal[index] += 1
    local = [u for u in uris if re.match(r"https?://(127\.0\.0\.1|localhost)", u) or not re.match(r"\w+:", u)]
    assert local == [], local[:10]
    for path in result["html_pages"]:
        hrefs = re.findall(r'<a class="reference internal" href="([^"]+)"', _article(path))
        expected = sum(1 for h in hrefs if not h.startswith(("http", "mailto")))
        got = sum(internal[i] for i in _pages_of(result, path, texts))
        assert got >= expected, f"{path}: {got} links inside the PDF, {expected} in the page"
    assert sum(internal) > 0


def _target(reader, dest) -> int | None:
    """The index of the page an explicit destination ([page, /XYZ, ...]) points at."""
    if not hasattr(reader, "_page_index"):
        reader._page_index = {p.indirect_reference.idnum: i for i, p in enumerate(reader.pages)}
    ref = dest[0] if len(dest) else None
    return reader._page_index.get(getattr(ref, "idnum", None))


def _outline(reader, items=None, depth=0):
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            yield from _outline(reader, item, depth + 1)
        else:
            yield depth, item.title, reader.get_destination_page_number(item)


def test_bookmarks_for_chapters_and_sections(book):
    """The outline holds every page of the table of contents (chapters with their sections under
    them) and the pages' own sections, each pointing at the page that shows its title."""
    result, reader, texts = book
    marks = list(_outline(reader))
    titles = [_norm(t) for _, t, _ in marks]
    for title in _titles():
        assert any(t.endswith(_norm(title)) for t in titles), f"no bookmark for {title!r}"
    assert max(depth for depth, _, _ in marks) >= 2             # chapter > section > its sections
    for depth, title, page in marks:
        if title == "Contents":
            assert page == 1
            continue
        # the page, or the next when the heading is the last line of its page, shows the title; a
        # heading that wraps can come out of the PDF in pieces, and a formula in it not as text, so
        # the title's first two words, up to any formula, are compared without white space
        shown = _squash(_norm(texts[page]["body"] + (texts[page + 1]["body"] if page + 1 < len(texts) else "")))
        words = re.sub(r"^[\d.]+\s*", "", _norm(title)).split()[:2]     # "1.3. Shape arithmetic"
        opening = re.match(r"[\w',:;.()&-]*", "".join(words)).group(0)[:20]
        assert len(opening) >= 3 and opening in shown, f"bookmark {title!r} -> page {page + 1}"


def test_page_numbers(book):
    """Every page after the title page shows its own PDF page number at its foot, and only that."""
    result, reader, texts = book
    # (the foot may also hold glyphs of a tall formula that reach into it, never another number)
    wrong = [(i + 1, t["foot"]) for i, t in enumerate(texts)
             if i > 0 and re.findall(r"\d+", t["foot"]) != [str(i + 1)]]
    assert wrong == [], wrong[:10]


def test_contents_with_page_numbers(book):
    """The contents list names every page of the table of contents with the number of the page it
    starts on, and each entry is a link to that page."""
    result, reader, texts = book
    first = result["starts"][0]
    contents = _norm(" ".join(t["body"] for t in texts[:first]))
    assert "Contents" in contents
    for path, start in zip(result["html_pages"], result["starts"]):
        h1 = re.search(r"<h1>(.*?)</h1>", _article(path), re.S)
        if not h1:
            continue
        bare = re.sub(r'<span class="section-number">.*?</span>|<a class="headerlink".*?</a>', "", h1.group(1))
        title = _norm(htmlmod.unescape(re.sub(r"<[^>]+>", "", bare)))
        assert title in _norm(texts[start]["body"]), f"{path} does not start on page {start + 1}"
    for title in _titles():
        m = re.search(re.escape(_norm(title)) + r"[ .]*?(\d+)(?: |$)", contents)
        assert m, f"{title!r} not in the contents"
        assert _norm(title) in _norm(texts[int(m.group(1)) - 1]["body"]), (title, m.group(1))
    links = [_target(reader, a.get_object()["/Dest"]) for p in reader.pages[:first]
             for a in p.get("/Annots") or [] if a.get_object().get("/Dest") is not None]
    assert len(links) >= len(_titles())
    assert set(links) <= set(result["starts"])            # each entry goes to the first page of its page
    assert links == [number - 1 for _, _, number in result["contents"]]    # the page it names


def test_interactives_name_their_online_page(book):
    """Each interactive prints in its default state with a note giving its page's online address,
    one note per interactive of the built page."""
    result, reader, texts = book
    online = result["online_url"]
    for path in result["html_pages"]:
        n = _article(path).count("data-cnnbook-static")
        printed = _squash(" ".join(texts[i]["body"] for i in _pages_of(result, path, texts)))
        notes = printed.count(_squash("Interactive, shown in its default state"))
        assert notes == n, f"{path}: {notes} notes for {n} interactives"
        if n:
            assert printed.count(_squash(online + path)) >= n, path
