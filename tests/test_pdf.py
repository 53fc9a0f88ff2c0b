"""The PDF edition (``make pdf``): every page of the built book, in reading order, in one file."""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _titles() -> list[str]:
    """The title of every chapter's landing page and section, from the sources."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    titles = []
    for name in re.findall(r"file: (chapters/[\w/]+)", toc):
        text = (ROOT / f"{name}.md").read_text(encoding="utf-8")
        m = re.search(r"^# (.+)$", text, re.M)
        if m:
            titles.append(m.group(1).strip())
    return titles


def test_pdf_has_every_page_in_reading_order(tmp_path, chromium):
    if not (HTML / "index.html").exists():
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":
            pytest.fail("no built book: run `make book` first")
        pytest.skip("no built book: run `make book` first")
    from pypdf import PdfReader
    from cnnbook_lib import pdf
    out = tmp_path / "book.pdf"
    result = pdf.build(HTML, out, progress=lambda *_: None, browser=chromium)
    order = result["html_pages"]
    pages = sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                   if "_static" not in p.parts and "_sources" not in p.parts
                   and p.name not in ("index.html", "genindex.html", "search.html"))
    assert sorted(order) == pages                     # the "next" links reach every page once
    reader = PdfReader(str(out))
    assert result["pages"] == len(reader.pages) >= len(order)
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))          # ligatures: "ﬁ" -> "fi"
    text = text.replace("\u2019", "'").replace("\u2018", "'")    # Sphinx's smart quotes
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    missing = [t for t in _titles() if re.sub(r"\s+", " ", t) not in text]
    assert missing == [], missing
    assert "Interactive, shown in its default state" in text     # interactives point online
    assert "{glue" not in text
