"""Shared fixtures: a headless Chromium (Debian's package, never a downloaded browser) whose
pages may reach only a local server, and a local HTTP server for a folder. Hypothesis runs
without its per-example deadline: a wall-clock limit fails an example that waited for a core on
a busy machine, which says nothing about the code."""
from __future__ import annotations

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
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]


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
    """serve(folder) -> base URL of a 127.0.0.1 HTTP server for that folder."""
    servers = []

    def start(folder: pathlib.Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()


class PageWatch:
    """Blocks every request that does not go to ``base`` and records console errors."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.external: list[str] = []
        self.errors: list[str] = []
        page.route("**/*", self._route)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()


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
