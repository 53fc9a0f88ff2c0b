"""The PDF edition: every page of the built HTML book, in reading order, printed by Chromium.

    python -m cnnbook_lib.pdf [--html _build/html] [--out _build/pdf/book.pdf] [--chromium /usr/bin/chromium]

Pages are taken in the order of the book's "next" links, starting at the root page, served from
127.0.0.1 with every other request blocked, printed once MathJax has typeset them and the
interactives have mounted, and joined into one file. An interactive prints in its default
state, followed by a line that points to the online book, where it is live. Navigation (sidebars,
header, footer buttons) is left out by the theme's print style and a little more print CSS here.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import threading
from pathlib import Path

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .bd-footer-article,
.prev-next-area, .header-article, .bd-header-article, .headerlink, .cell_input .copybtn,
.bd-search, #pst-back-to-top, .sidebar-toggle, .toggle-details__summary .tb-icon { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-page-width { max-width: 100% !important; }
html { font-size: 13px; }
.cnnbook-static { break-inside: avoid; }
.cnnbook-static .cb-print-note { font: italic 12px system-ui, sans-serif; color: #444; margin: -0.5em 0 1em; }
details.dropdown, .toggle-hidden { display: block !important; }
"""

READY = """() => (async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const statics = Array.from(document.querySelectorAll('[data-cnnbook-static]'));
  for (let i = 0; i < 100 && !statics.every(s => s.querySelector('[data-cnnbook-interactive]')); i++) {
    await new Promise(r => setTimeout(r, 50));
  }
  return statics.length;
})()"""

NOTE = """url => document.querySelectorAll('[data-cnnbook-static]').forEach(s => {
  const p = document.createElement('p'); p.className = 'cb-print-note';
  p.textContent = 'Interactive, shown in its default state: move its controls in the online book'
    + (url ? ' (' + url + ')' : '') + '.';
  s.after(p);
})"""


def reading_order(html_dir: Path) -> list[str]:
    """Pages in the order of the book's "next" links, from the root page (index.html's target)."""
    index = (html_dir / "index.html").read_text(encoding="utf-8")
    m = re.search(r'url=([^"]+)"', index)
    page = m.group(1) if m else "index.html"
    order, seen = [], set()
    while page and page not in seen and (html_dir / page).exists():
        order.append(page)
        seen.add(page)
        text = (html_dir / page).read_text(encoding="utf-8")
        nxt = re.search(r'<a class="right-next"\s+href="([^"#]+)"', text)
        page = str((Path(page).parent / nxt.group(1)).as_posix()) if nxt else None
        if page:
            parts = []
            for part in Path(page).parts:
                if part == "..":
                    parts.pop()
                elif part != ".":
                    parts.append(part)
            page = "/".join(parts)
    return order


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def build(html_dir: Path, out: Path, chromium: str = "/usr/bin/chromium", online_url: str = "",
          progress=print, browser=None) -> dict:
    """Print the book to ``out``; returns ``{"pages": n_pdf_pages, "html_pages": [...]}``.

    ``browser``: a Playwright Chromium browser to use (one is launched from ``chromium`` if None).
    """
    from pypdf import PdfReader, PdfWriter

    html_dir = Path(html_dir)
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"no built book in {html_dir}: run `make book` first")
    order = reading_order(html_dir)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out.parent.mkdir(parents=True, exist_ok=True)
    parts = []
    def print_pages(browser) -> None:
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:", "blob:"))
                   else r.abort())
        for i, path in enumerate(order, 1):
            page.goto(base + path, wait_until="load")
            page.evaluate(READY)
            page.add_style_tag(content=PRINT_CSS)
            page.evaluate(NOTE, online_url)
            page.emulate_media(media="print")
            part = out.parent / f".part-{i:03d}.pdf"
            page.pdf(path=str(part), format="A4", print_background=True,
                     margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
            parts.append(part)
            progress(f"[{i}/{len(order)}] {path}")
        page.close()

    try:
        if browser is not None:
            print_pages(browser)
        else:
            from playwright.sync_api import sync_playwright
            with sync_playwright() as pw:
                own = pw.chromium.launch(executable_path=chromium, args=[
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"])
                print_pages(own)
                own.close()
    finally:
        server.shutdown()
    writer = PdfWriter()
    for part in parts:
        writer.append(str(part))
    writer.add_metadata({"/Title": "Convolutional networks by the numbers"})
    with open(out, "wb") as f:
        writer.write(f)
    for part in parts:
        part.unlink()
    return {"pages": len(PdfReader(str(out)).pages), "html_pages": order}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", default="_build/html", type=Path)
    ap.add_argument("--out", default="_build/pdf/book.pdf", type=Path)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--online-url", default="", help="the online book's address, printed under each interactive")
    args = ap.parse_args(argv)
    result = build(args.html, args.out, args.chromium, args.online_url)
    print(f"wrote {args.out}: {result['pages']} pages from {len(result['html_pages'])} HTML pages")


if __name__ == "__main__":
    main(sys.argv[1:])
