"""The interactives of the built book (``_build/html``) in Chromium, offline: readable in the book's
light and dark mode, on a laptop (1300 px) and a phone (390 px). Apart from ``test_book_pages.py``
so that the two xdist workers of ``make test`` share the browser work."""
from __future__ import annotations

import os
import pathlib

import pytest

from test_book_pages import PAGES        # every page of the build below

HTML = pathlib.Path(os.environ.get("CNNBOOK_HTML", pathlib.Path(__file__).resolve().parents[1] / "_build" / "html"))

pytestmark = pytest.mark.browser


INTERACTIVE_PAGES = [p for p in PAGES if 'data-cnnbook-static' in (HTML / p).read_text(encoding="utf-8")]


def _cases() -> list:
    """Every page in both modes at both widths. Each page's two cases that cover both modes and both
    widths run in make test (light at 1300 px and dark at 390 px, or the other way round, page by
    page in turn); the other two are marked slow (make test-slow)."""
    cases = []
    for i, page_path in enumerate(INTERACTIVE_PAGES or ["(not built)"]):
        for width in (1300, 390):
            for scheme in ("light", "dark"):
                quick = (width == 1300) == (scheme == ("light" if i % 2 == 0 else "dark"))
                cases.append(pytest.param(page_path, width, scheme, marks=() if quick else pytest.mark.slow))
    return cases


@pytest.mark.parametrize("page_path, width, scheme", _cases())
def test_interactives_readable(page_path, width, scheme, serve, book_page):
    """In the book's light and dark mode, on a laptop and a phone: every interactive's text has a
    contrast of at least 4.5:1 and nothing sticks out of the screen."""
    from conftest import INTERACTIVE_LAYOUT
    if not INTERACTIVE_PAGES:
        pytest.skip("book not built")
    base = serve(HTML)
    page, watch = book_page(base, width, scheme)
    page.goto(base + page_path, wait_until="load")
    page.wait_for_function("""() => Array.from(document.querySelectorAll('[data-cnnbook-static]'))
        .every(s => { const r = s.querySelector('[data-cnnbook-interactive]'); return r && r.cnnbookResult; })""",
                           timeout=15000)
    assert page.evaluate("() => document.documentElement.dataset.theme") == scheme
    report = page.evaluate(INTERACTIVE_LAYOUT)
    assert report["worst"] == [], report["worst"][:5]
    assert report["wide"] == [], report
    assert watch.errors == [] and watch.external == []
