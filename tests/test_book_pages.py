"""Every page of the built book, opened in headless Chromium with the network blocked: no
external request, no console error, all math typeset, every interactive responds to its controls.

Needs the HTML build (``make test`` builds it before running pytest)."""
from __future__ import annotations

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
HTML = pathlib.Path(os.environ.get("CNNBOOK_HTML", ROOT / "_build" / "html"))
PAGES = sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
               if "_static" not in p.parts and "_sources" not in p.parts) if HTML.exists() else []

pytestmark = pytest.mark.browser


def test_the_watch_sees_what_a_page_asks_of_another_host(watched_page, tmp_path, serve):
    """The check below can fail: a page that loads a script and an image from elsewhere is seen
    asking for both, and gets neither (the test browser resolves no other host)."""
    (tmp_path / "leaky.html").write_text(
        '<html><body><img src="https://example.com/x.png"><script src="https://cdn.example.org/x.js">'
        '</script><script>console.error("on purpose")</script></body></html>', encoding="utf-8")
    base = serve(tmp_path)
    page, watch = watched_page(base)
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(base + "leaky.html", wait_until="load")
    assert sorted(watch.external) == ["https://cdn.example.org/x.js", "https://example.com/x.png"]
    assert sorted(failed) == sorted(watch.external)
    assert watch.errors and "on purpose" in watch.errors[-1]


def test_a_kept_page_keeps_nothing_of_the_last_test(book_page, tmp_path, serve):
    """The page that the tests below reuse from book page to book page forgets what a page stored,
    and its watch what it saw: the check can fail (the values are there before)."""
    from conftest import leave
    (tmp_path / "store.html").write_text(
        "<html><body><script>localStorage.setItem('k', 'v'); sessionStorage.setItem('k', 'v');"
        "document.cookie = 'k=v';</script></body></html>", encoding="utf-8")
    (tmp_path / "read.html").write_text("<html><body><p>read</p></body></html>", encoding="utf-8")
    base = serve(tmp_path)
    page, watch = book_page(base)
    kept = "() => [localStorage.getItem('k'), sessionStorage.getItem('k'), document.cookie]"
    page.goto(base + "store.html")
    page.goto(base + "read.html")
    assert page.evaluate(kept) == ["v", "v", "k=v"]
    watch.external.append("seen")
    leave(page)
    assert page.url == "about:blank"
    again, watch = book_page(base)
    assert again is page and watch.external == []
    page.goto(base + "read.html")
    assert page.evaluate(kept) == [None, None, ""]


def test_book_is_built():
    if not PAGES:
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"no built book in {HTML}: run `make book` first")
        pytest.skip(f"no built book in {HTML}: run `make book` first")
    assert "index.html" in PAGES and "intro.html" in PAGES


WAIT_FOR_MATH = """async () => {
  if (!window.MathJax) return 'no MathJax';
  if (window.MathJax.startup && window.MathJax.startup.promise) await window.MathJax.startup.promise;
  return 'ok';
}"""

UNRENDERED_MATH = """() => Array.from(document.querySelectorAll('.math'))
  .filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 60))"""

# Change one control (by index) of one interactive, report whether the interactive changed, and
# put the control back, so that every control is tried from the default state.
MOVE_CONTROL = """([root, i]) => {
  const controls = root.querySelectorAll('input, select');
  const c = controls[i];
  const before = root.innerHTML;
  const old = {value: c.value, index: c.selectedIndex, checked: c.checked};
  const fire = () => {
    c.dispatchEvent(new Event('input', {bubbles: true}));
    c.dispatchEvent(new Event('change', {bubbles: true}));
  };
  if (c.tagName === 'SELECT') {
    c.selectedIndex = (c.selectedIndex + 1) % c.options.length;
  } else if (c.type === 'checkbox') {
    c.checked = !c.checked;
  } else {
    const lo = c.min === '' ? -1e9 : Number(c.min), hi = c.max === '' ? 1e9 : Number(c.max);
    const step = c.step === '' || c.step === 'any' ? 1 : Number(c.step);
    let v = Number(c.value) + step;
    if (v > hi) v = Number(c.value) - step;
    if (v < lo) v = lo;
    c.value = String(v);
  }
  fire();
  const changed = root.innerHTML !== before;
  if (c.tagName === 'SELECT') c.selectedIndex = old.index;
  else if (c.type === 'checkbox') c.checked = old.checked;
  else c.value = old.value;
  fire();
  return {name: c.name || c.id || c.tagName, changed: changed};
}"""


@pytest.mark.parametrize("page_path", PAGES or ["(not built)"])
def test_page_offline_clean(page_path, serve, book_page):
    if not PAGES:
        pytest.skip("book not built")
    base = serve(HTML)
    page, watch = book_page(base)
    html = (HTML / page_path).read_text(encoding="utf-8")
    if 'http-equiv="Refresh"' in html:        # index.html only redirects to the first page
        target = html.split("url=", 1)[1].split('"', 1)[0]
        assert (HTML / target).exists()
        with page.expect_navigation(url=base + target):
            page.goto(base + page_path)
        page.wait_for_load_state("load")
    else:
        page.goto(base + page_path, wait_until="load")
    assert page.evaluate(WAIT_FOR_MATH) in ("ok", "no MathJax")
    page.wait_for_timeout(200)         # late scripts (theme, search) get to run
    # every static interactive has mounted its module (imported from a blob URL, asynchronously)
    page.wait_for_function("""() => Array.from(document.querySelectorAll('[data-cnnbook-static]'))
        .every(s => { const r = s.querySelector('[data-cnnbook-interactive]'); return r && r.cnnbookResult; })""",
                           timeout=15000)
    statics = page.evaluate("() => document.querySelectorAll('[data-cnnbook-static]').length")
    assert page.evaluate("() => document.querySelectorAll('[data-cnnbook-interactive]').length") == statics

    assert page.evaluate(UNRENDERED_MATH) == []
    unresponsive = []
    for root in page.query_selector_all("[data-cnnbook-interactive]"):
        n = root.evaluate("r => r.querySelectorAll('input, select').length")
        assert n > 0, f"interactive {root.get_attribute('data-cnnbook-interactive')} has no controls"
        for i in range(n):
            result = page.evaluate(MOVE_CONTROL, [root, i])
            if not result["changed"]:
                unresponsive.append((root.get_attribute("data-cnnbook-interactive"), result["name"]))
    assert unresponsive == [], f"controls that change nothing: {unresponsive}"
    assert watch.external == [], f"external requests: {watch.external}"
    assert watch.errors == [], f"console errors: {watch.errors}"


@pytest.mark.parametrize("page_path", PAGES or ["(not built)"])
def test_images_have_alternative_text(page_path):
    """No image's alt text is a file path or empty (a screen reader would read it out)."""
    if not PAGES:
        pytest.skip("book not built")
    import re
    html = (HTML / page_path).read_text(encoding="utf-8")
    bad = [tag for tag in re.findall(r"<img\b[^>]*>", html)
           if not re.search(r'alt="[^"]+"', tag) or re.search(r'alt="[^"]*\.(png|jpe?g|svg|gif)"', tag)]
    assert bad == [], bad[:3]


# ---------------------------------------------------------------------------------------------
# Paths and reading times (cnnbook_lib.sphinx_paths, cnnbook_lib.reading_time)
# ---------------------------------------------------------------------------------------------

import re  # noqa: E402

CHAPTER_PAGES = [p for p in PAGES if re.fullmatch(r"chapters/0\d/[^/]+\.html", p)]
LANDING_PAGES = [p for p in PAGES if re.fullmatch(r"chapters/0\d_[^/]+\.html", p)]
BADGE = re.compile(r'<span class="cnnbook-path" data-path="([^"]*)" data-minutes="([^"]*)"')


def _soup(page_path: str):
    bs4 = pytest.importorskip("bs4")
    return bs4.BeautifulSoup((HTML / page_path).read_text(encoding="utf-8"), "html.parser")


def _badge(page_path: str) -> tuple[str, int]:
    (path, minutes), = BADGE.findall((HTML / page_path).read_text(encoding="utf-8"))
    return path, int(minutes)


def simple_minutes(soup) -> float:
    """The reading-time rule counted again, more simply than the library does: the article's
    text split on spaces, with folded boxes, code, math, interactives and the badge taken out."""
    article = soup.find("article") or soup
    interactive = sum(float(el["data-minutes"]) for el in article.select("[data-cnnbook-static]"))
    for el in article.select("details:not([open]), script, style, nav, .cnnbook-path-line, .headerlink, "
                             ".citation-list, .dropdown, .toggle, .toctree-wrapper, [data-cnnbook-static]"):
        el.decompose()
    equations = len(article.select("div.math"))
    for el in article.select("div.math"):
        el.decompose()
    for el in article.select("span.math"):
        el.replace_with(" formula ")
    figures = len(article.find_all("figure")) + sum(1 for img in article.find_all("img")
                                                   if img.find_parent("figure") is None)
    code = sum(1 for pre in article.find_all("pre") for line in pre.get_text().splitlines() if line.strip())
    for pre in article.find_all("pre"):
        pre.decompose()
    words = len(article.get_text(" ").split())
    return words / 200 + (equations + figures) / 2 + code / 10 + interactive


def test_every_chapter_page_has_one_badge():
    if not CHAPTER_PAGES:
        pytest.skip("book not built")
    for page_path in CHAPTER_PAGES:
        html = (HTML / page_path).read_text(encoding="utf-8")
        found = BADGE.findall(html)
        assert len(found) == 1, f"{page_path}: {len(found)} badges"
        path, minutes = found[0]
        assert path in ("core", "deeper", "exercises") and int(minutes) >= 1, (page_path, found)
        text = re.sub(r"<[^>]+>", "", re.search(r'<span class="cnnbook-path".*?</p>', html, re.S)[0])
        label = {"core": "Core", "deeper": "Going deeper", "exercises": "Exercises"}[path]
        assert text.startswith(f"{label} · {minutes} min"), (page_path, text)


@pytest.mark.parametrize("page_path", CHAPTER_PAGES or ["(not built)"])
def test_badge_minutes_follow_the_rule(page_path):
    """The badge's minutes agree with a simple count of the page (exactly, for exercises: the sum
    of the times the exercises state)."""
    if not CHAPTER_PAGES:
        pytest.skip("book not built")
    path, minutes = _badge(page_path)
    soup = _soup(page_path)
    if path == "exercises":
        stated = []
        for ex in soup.select("div.exercise"):
            lead = ex.find("em")
            m = re.search(r"(\d+) minutes", lead.get_text()) if lead else None
            assert m, f"{page_path}: exercise {ex.get('id')} states no time"
            stated.append(int(m[1]))
        assert minutes == sum(stated)
    else:
        expected = simple_minutes(soup)
        assert abs(minutes - expected) <= max(2, 0.1 * expected), (page_path, minutes, expected)


def test_deeper_pages_name_core_sections_they_assume():
    if not CHAPTER_PAGES:
        pytest.skip("book not built")
    deeper = [p for p in CHAPTER_PAGES if _badge(p)[0] == "deeper" and not p.endswith("/deeper.html")]
    assert deeper, "no deeper page"
    for page_path in deeper:
        badge = _soup(page_path).select_one(".cnnbook-path")
        links = badge.select(".cnnbook-assumes a")
        assert links, f"{page_path} assumes nothing"
        for a in links:
            assert re.fullmatch(r"\d+(\.\d+)+", a.get_text()), a
            target = (HTML / page_path).parent / a["href"].split("#")[0]
            assert target.exists() and _badge(target.resolve().relative_to(HTML.resolve()).as_posix())[0] == "core"


def _path_table(page_path: str) -> dict[str, tuple[int, int]]:
    rows = _soup(page_path).select(".cnnbook-path-table tr[data-path]")
    return {r["data-path"]: (int(r["data-pages"]), int(r["data-minutes"])) for r in rows}


@pytest.mark.parametrize("page_path", LANDING_PAGES or ["(not built)"])
def test_landing_page_totals_are_the_sums_of_its_badges(page_path):
    if not LANDING_PAGES:
        pytest.skip("book not built")
    folder = page_path.split("_", 1)[0]                     # chapters/01_convolution.html -> chapters/01
    sums: dict[str, tuple[int, int]] = {}
    for p in CHAPTER_PAGES:
        if p.startswith(folder + "/"):
            path, minutes = _badge(p)
            pages, total = sums.get(path, (0, 0))
            sums[path] = (pages + 1, total + minutes)
    assert "core" in sums
    assert _path_table(page_path) == sums


def test_instructors_table_matches_the_landing_pages():
    if not LANDING_PAGES:
        pytest.skip("book not built")
    rows = {r["data-chapter"]: r for r in _soup("chapters/instructors.html").select(".cnnbook-reading-times tr[data-chapter]")}
    assert len(rows) == len(LANDING_PAGES)
    for page_path in LANDING_PAGES:
        table = _path_table(page_path)
        row = rows[page_path.removesuffix(".html")]
        for path in ("core", "deeper", "exercises"):
            assert int(row[f"data-{path}"]) == table.get(path, (0, 0))[1], (page_path, path)
    assert "200 per minute" in _soup("chapters/instructors.html").get_text()


@pytest.mark.parametrize("page_path", LANDING_PAGES or ["(not built)"])
def test_each_chapter_starts_at_section_one(page_path):
    """The landing page's own headings are not numbered: the chapter's first section is N.1, in
    the sidebar and in the first section's title."""
    if not LANDING_PAGES:
        pytest.skip("book not built")
    soup = _soup(page_path)
    n = int(re.search(r"chapters/0(\d)_", page_path)[1])
    chapter = next(li for li in soup.select("nav li.toctree-l1")
                   if li.find("a").get_text().startswith(f"{n}. "))
    first = chapter.select_one("li.toctree-l2 > a")
    assert first.get_text().startswith(f"{n}.1. "), first.get_text()
    target = (HTML / page_path).parent / first["href"]
    assert re.search(rf"<title>{n}\.1\. ", target.read_text(encoding="utf-8"))
    assert not soup.select("article section section"), "the landing page has numbered sub-headings"


def _runs_code(page_path: str) -> bool:
    """Whether the page's source is a notebook that runs code (its chapter source has a
    code cell)."""
    source = ROOT / page_path.replace(".html", ".md")
    return source.exists() and "```{code-cell}" in source.read_text(encoding="utf-8")


@pytest.mark.parametrize("page_path", CHAPTER_PAGES or ["(not built)"])
def test_every_page_that_runs_code_lists_its_checks_in_one_folded_box(page_path):
    """The machinery out of sight: a page's checks run when it is built and are listed, folded,
    at its end, one line each, all of which passed (a failing check fails the build)."""
    if page_path == "(not built)":
        pytest.skip("book not built")
    soup = _soup(page_path)
    boxes = soup.select("details.cnnbook-checked")
    if not _runs_code(page_path) or _badge(page_path)[0] == "exercises":
        assert len(boxes) <= 1
        return
    assert len(boxes) == 1, f"{page_path}: {len(boxes)} boxes of checks"
    box = boxes[0]
    assert not box.has_attr("open"), "the box is folded"
    lines = box.select("li")
    count = int(re.search(r"\((\d+) checks?", box.summary.get_text())[1])
    assert count == len(lines) >= 1
    # Nothing after the box but the page's footer: it is the page's last output.
    later = box.find_all_next(["p", "table", "figure", "div.math"])
    article_end = [el for el in later if el.find_parent("article") is not None
                   and el.find_parent("details") is None]
    assert not article_end, f"{page_path}: content after the box of checks"


def test_glued_numbers_read_in_the_weight_of_their_sentence(serve, book_page):
    """myst-nb styles glued text bold; the book's stylesheet sets it back."""
    page_path = "chapters/01/04_cost.html"
    if page_path not in PAGES:
        pytest.skip("book not built")
    base = serve(HTML)
    page, _ = book_page(base)
    page.goto(base + page_path)
    weights = page.evaluate("""() => Array.from(document.querySelectorAll('p span.pasted-text'))
        .map(el => [getComputedStyle(el).fontWeight, getComputedStyle(el.parentElement).fontWeight])""")
    assert len(weights) >= 3
    assert all(mine == parent for mine, parent in weights), weights
