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
def test_page_offline_clean(page_path, serve, watched_page):
    if not PAGES:
        pytest.skip("book not built")
    base = serve(HTML)
    page, watch = watched_page(base)
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


INTERACTIVE_PAGES = [p for p in PAGES if 'data-cnnbook-static' in (HTML / p).read_text(encoding="utf-8")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1300, 390])
@pytest.mark.parametrize("page_path", INTERACTIVE_PAGES or ["(not built)"])
def test_interactives_readable(page_path, width, scheme, serve, chromium):
    """In the book's light and dark mode, on a laptop and a phone: every interactive's text has a
    contrast of at least 4.5:1 and nothing sticks out of the screen."""
    from conftest import INTERACTIVE_LAYOUT, PageWatch
    if not INTERACTIVE_PAGES:
        pytest.skip("book not built")
    base = serve(HTML)
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    watch = PageWatch(page, base)
    page.add_init_script(f"localStorage.setItem('mode', '{scheme}'); localStorage.setItem('theme', '{scheme}');")
    page.goto(base + page_path, wait_until="load")
    page.wait_for_function("""() => Array.from(document.querySelectorAll('[data-cnnbook-static]'))
        .every(s => { const r = s.querySelector('[data-cnnbook-interactive]'); return r && r.cnnbookResult; })""",
                           timeout=15000)
    assert page.evaluate("() => document.documentElement.dataset.theme") == scheme
    report = page.evaluate(INTERACTIVE_LAYOUT)
    context.close()
    assert report["worst"] == [], report["worst"][:5]
    assert report["wide"] == [], report
    assert watch.errors == [] and watch.external == []


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
