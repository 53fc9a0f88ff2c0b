"""Shared fixtures: a headless Chromium (Debian's package, never a downloaded browser) whose
pages may reach only a local server, and a local HTTP server for a folder. Hypothesis runs
without its per-example deadline: a wall-clock limit fails an example that waited for a core on
a busy machine, which says nothing about the code."""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import pathlib
import shutil
import threading

import pytest
from hypothesis import settings

settings.register_profile("cnnbook", deadline=None)
settings.load_profile("cnnbook")

CHROMIUM = os.environ.get("CNNBOOK_CHROMIUM", "/usr/bin/chromium")
#: The browser reaches no host but 127.0.0.1 and localhost (it resolves no other name): whatever a page
#: asks of another host fails at once, as with the network cut off. PageWatch records the asking.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]


def _missing(reason: str):
    """Skip for a reader without the browser; fail in CI (CNNBOOK_REQUIRE_BROWSER=1)."""
    if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (CNNBOOK_REQUIRE_BROWSER=1)")
    pytest.skip(reason + "; run `make browser-deps` to install Chromium")


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium browser driven by Playwright."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"Chromium not found at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def serve():
    """serve(folder) -> base URL of a 127.0.0.1 HTTP server for that folder (one server per folder
    for the session, so that the pages of one folder share an origin and the browser's cache)."""
    servers: dict = {}

    def start(folder: pathlib.Path) -> str:
        folder = pathlib.Path(folder).resolve()
        if folder not in servers:
            handler = functools.partial(_QuietHandler, directory=str(folder))
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers[folder] = server
        return f"http://127.0.0.1:{servers[folder].server_address[1]}/"

    yield start
    for server in servers.values():
        server.shutdown()


class PageWatch:
    """Records every request a page makes that does not go to ``base`` (the browser of the
    ``chromium`` fixture gets no answer to any of them, see CHROMIUM_ARGS) and the console's
    errors. Requests are watched, not intercepted, so the browser's cache works as a reader's does
    (Playwright turns the cache off for a page whose requests it intercepts)."""

    def __init__(self, page, base: str):
        self.page = page
        self.reset(base)
        page.on("request", self._request)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def reset(self, base: str) -> None:
        """Watch for a new test: nothing seen yet, requests allowed to ``base``."""
        self.base = base
        self.external: list[str] = []
        self.errors: list[str] = []

    def _console(self, message):
        # The browser's own guess at an icon for a page that names none (the test pages made here;
        # the book names its favicon.svg) is not the page's error.
        if message.type == "error" and message.location.get("url") != self.base + "favicon.ico":
            self.errors.append(message.text)

    def _request(self, request):
        url = request.url
        if not url.startswith((self.base, "data:", "blob:", "about:")):
            self.external.append(url)


@pytest.fixture
def watched_page(chromium):
    """new(base) -> (page, watch): a fresh page limited to ``base``."""
    contexts = []

    def new(base: str):
        context = chromium.new_context()
        contexts.append(context)
        page = context.new_page()
        return page, PageWatch(page, base)

    yield new
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def _kept_pages(chromium):
    kept: dict = {}
    yield kept
    for page, _ in kept.values():
        page.context.close()


@pytest.fixture
def book_page(_kept_pages, chromium):
    """get(base, width=1300, scheme=None) -> (page, watch): the page of one browser context kept for
    the whole session per width and colour scheme, as a reader's browser goes from page to page of
    the book (cache warm, renderer already started: half the CPU time of a fresh context), with
    a watch reset for this test. ``scheme`` "light" or "dark" also sets the book's mode (the
    theme's stored choice) before every page's scripts run. After the test, the page's storage is
    cleared and it is left on about:blank; a page that cannot be left so is closed and replaced."""
    used = []

    def get(base: str, width: int = 1300, scheme: str | None = None):
        key = (width, scheme)
        if key not in _kept_pages:
            context = chromium.new_context(viewport={"width": width, "height": 900},
                                           color_scheme=scheme or "light")
            if scheme:
                context.add_init_script(f"localStorage.setItem('mode', '{scheme}'); "
                                        f"localStorage.setItem('theme', '{scheme}');")
            page = context.new_page()
            _kept_pages[key] = (page, PageWatch(page, base))
        page, watch = _kept_pages[key]
        watch.reset(base)
        used.append(key)
        return page, watch

    yield get
    for key in dict.fromkeys(used):
        page, _ = _kept_pages[key]
        try:
            leave(page)
        except Exception:                       # a crashed or hung page: the next test gets a new one
            del _kept_pages[key]
            with contextlib.suppress(Exception):
                page.context.close()


def leave(page) -> None:
    """What a kept page keeps of a test: nothing but the browser's cache (storage and cookies
    cleared, the page left for about:blank)."""
    if page.url.startswith("http"):
        page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
    page.context.clear_cookies()
    page.goto("about:blank")


#: In a page: every interactive's text against its background (WCAG contrast below 4.5:1 is listed)
#: and the interactives that stick out of the viewport.
INTERACTIVE_LAYOUT = r"""() => {
        const lum = c => { const m = c.match(/[\d.]+/g).map(Number).slice(0, 3).map(v => v / 255)
            .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
            return 0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]; };
        const bg = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
            if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; } return 'rgb(255,255,255)'; };
        const worst = [];
        document.querySelectorAll('[data-cnnbook-interactive] code, [data-cnnbook-interactive] th, ' +
            '[data-cnnbook-interactive] td, [data-cnnbook-interactive] .cb-title, [data-cnnbook-interactive] input, ' +
            '[data-cnnbook-interactive] select').forEach(el => {
            const a = lum(getComputedStyle(el).color), b = lum(bg(el));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            if (ratio < 4.5) worst.push([el.tagName, el.textContent.slice(0, 30), ratio.toFixed(2)]);
        });
        const wide = Array.from(document.querySelectorAll('[data-cnnbook-interactive]'))
            .filter(r => r.getBoundingClientRect().right > window.innerWidth + 1)
            .map(r => r.getAttribute('data-cnnbook-interactive'));
        return {worst, wide, scroll: document.documentElement.scrollWidth};
    }"""
