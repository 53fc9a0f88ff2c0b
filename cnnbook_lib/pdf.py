"""The PDF edition: every page of the built HTML book, in reading order, printed by Chromium.

    python -m cnnbook_lib.pdf [--html _build/html] [--out _build/pdf/book.pdf] [--config _config.yml]

Pages are taken in the order of the book's "next" links, starting at the root page, served from
127.0.0.1 with every other request blocked, printed once MathJax has typeset them and the
interactives have mounted, and joined into one file that reads like a book:

* a title page and a contents list with page numbers (each entry a link to its page);
* bookmarks (the PDF's outline): the book's table of contents, chapters holding their sections,
  and each page's own sections under it;
* page numbers at the foot of every page after the title page, the PDF's own page numbers;
* links between pages turned into links inside the PDF (to the very section, equation or exercise
  they name); a link to a file the PDF does not hold (a downloadable notebook, the index) goes to
  the online book; none is left pointing at the temporary server;
* code and text outputs wrapped at the right margin instead of clipped;
* every interactive printed in its default state, followed by a note with the address of its page
  in the online book, where it is live.

The online book's address comes from ``_config.yml`` (``html.baseurl``, else the GitHub Pages
address of ``repository.url``; see :func:`cnnbook_lib.notebooks.book_address`).
Navigation (sidebars, header, footer buttons) is left out by the theme's print style and a little
more print CSS here.
"""
from __future__ import annotations

import argparse
import functools
import html as htmlmod
import http.server
import posixpath
import re
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: The contents list links each entry to ``PAGE_LINK<printed page number>``, made a link to that page.
PAGE_LINK = "https://page.invalid/"
#: Page margins, in millimetres (the foot holds the page number).
MARGIN = {"top": 16, "bottom": 18, "left": 14, "right": 14}
MM = 72 / 25.4                      # PDF points per millimetre

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .bd-footer-article,
.prev-next-area, .header-article, .bd-header-article, .headerlink, .cell_input .copybtn,
.bd-search, #pst-back-to-top, .sidebar-toggle, .toggle-details__summary .tb-icon { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-page-width { max-width: 100% !important; }
html { font-size: 13px; }
.cnnbook-static { break-inside: avoid; }
.cnnbook-static .cb-print-note, .cb-print-note { font: italic 12px system-ui, sans-serif; color: #444; margin: -0.5em 0 1em; }
details.dropdown, .toggle-hidden { display: block !important; }
/* Code and text outputs wrap at the margin: paper does not scroll. */
pre, .highlight pre, .output pre, .cell_output pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere !important; word-break: break-all;
  overflow: visible !important; max-height: none !important; }
div.highlight, .cell_input, .cell_output, .output, div.cell, .docutils.container {
  overflow: visible !important; max-height: none !important; }
.table-wrapper, .pst-scrollable-table-container { overflow: visible !important; }
.table-wrapper table, .pst-scrollable-table-container table, .cell_output table {
  table-layout: auto; max-width: 100%; }
.cell_output table { font-size: 0.9em; }
.cell_output td, .cell_output th { overflow-wrap: break-word; }
/* No heading alone at the foot of a page, no short code block split over two. */
h1, h2, h3, h4 { break-after: avoid; }
.cell_input, div.highlight, figure, .math { break-inside: avoid; }
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
    + (url ? ', at ' + url : '') + '.';
  s.after(p);
})"""

#: Chromium writes a named destination for every element that a link in the same page targets:
#: a hidden list of links to every element with an id makes each one a destination, which the
#: links from other pages are then pointed at. Returns the page's sections (h2, h3) for bookmarks.
TARGETS = """() => {
  const box = document.createElement('div'); box.style.display = 'none';
  const ids = new Set();
  for (const e of document.querySelectorAll('.bd-article [id], article [id]')) {
    if (ids.has(e.id)) continue; ids.add(e.id);
    const a = document.createElement('a'); a.href = '#' + encodeURIComponent(e.id); box.appendChild(a);
  }
  document.body.appendChild(box);
  const sections = [];
  for (const h of document.querySelectorAll('article section > h2, article section > h3')) {
    const s = h.parentElement;
    const t = h.cloneNode(true); t.querySelectorAll('.headerlink').forEach(x => x.remove());
    sections.push({id: s.id, level: h.tagName === 'H2' ? 1 : 2, title: t.textContent.trim()});
  }
  return sections;
}"""

#: The book's table of contents, read from the root page's sidebar: [{href, title, children}].
TOC = """() => {
  const walk = ul => Array.from(ul.children).filter(li => li.tagName === 'LI').map(li => {
    const a = li.querySelector(':scope > a');
    const sub = li.querySelector(':scope > details > ul, :scope > ul');
    return {href: a ? a.getAttribute('href') : null, title: a ? a.textContent.trim() : '',
            children: sub ? walk(sub) : []};
  });
  const nav = document.querySelector('nav.bd-docs-nav');
  return nav ? Array.from(nav.querySelectorAll(':scope ul.bd-sidenav')).filter(
      u => !u.classList.contains('bd-sidenav__home-link')).flatMap(walk) : [];
}"""


def _join(page: str, href: str) -> str:
    """The book-relative path of ``href`` as written in page ``page`` (``..`` resolved)."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), href)).lstrip("./") \
        if not href.startswith("/") else href.lstrip("/")


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
        page = _join(page, nxt.group(1)) if nxt else None
    return order


def online_address(config: Path | None) -> str:
    """The online book's address (ending in ``/``) from ``_config.yml``, else ``""``."""
    if config is None or not Path(config).exists():
        return ""
    import yaml

    from .notebooks import book_address
    conf = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    return book_address((conf.get("html") or {}).get("baseurl"),
                        (conf.get("repository") or {}).get("url")) or ""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _front_html(title: str, entries: list[tuple[int, str, int]], online: str) -> str:
    """The title page and the contents list: ``entries`` are (depth, title, page number)."""
    rows = "\n".join(
        f'<div class="e d{depth}"><a href="{PAGE_LINK}{number}"><span class="t">{htmlmod.escape(text)}</span>'
        f'<span class="n">{number}</span></a></div>'
        for depth, text, number in entries)
    where = f'<p class="where">Online, with live interactives: {htmlmod.escape(online)}</p>' if online else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: {MARGIN['top']}mm {MARGIN['right']}mm {MARGIN['bottom']}mm {MARGIN['left']}mm; }}
body {{ font: 12px/1.45 system-ui, sans-serif; color: #111; margin: 0; }}
.title {{ break-after: page; padding-top: 35%; text-align: center; }}
.title h1 {{ font-size: 30px; margin: 0 0 1em; }} .where {{ color: #444; }}
h2 {{ font-size: 20px; margin: 0 0 1em; }}
.e a {{ display: flex; color: inherit; text-decoration: none; gap: .5em; }}
.e .t {{ flex: 1; overflow: hidden; white-space: nowrap; }}
.e .t::after {{ content: " . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . . ."; color: #999; }}
.e .n {{ min-width: 2.5em; text-align: right; }}
.d0 {{ font-weight: 600; margin-top: .7em; }} .d1 {{ padding-left: 1.5em; }} .d2 {{ padding-left: 3em; }}
</style></head><body>
<div class="title"><h1>{htmlmod.escape(title)}</h1>{where}</div>
<h2>Contents</h2>
{rows}
</body></html>"""


def _numbers_html(first: int, last: int) -> str:
    """One A4 page per number from ``first`` to ``last``, the number centred in the foot margin."""
    pages = "".join(f'<div class="p"><span>{n}</span></div>' for n in range(first, last + 1))
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 0; }} body {{ margin: 0; }}
.p {{ width: 210mm; height: 297mm; position: relative; break-after: page; overflow: hidden; }}
.p span {{ position: absolute; left: 0; right: 0; bottom: 8mm; text-align: center;
          font: 10px system-ui, sans-serif; color: #333; }}
</style></head><body>{pages}</body></html>"""


def _flatten_toc(nodes, order_set, depth=0, parent=None):
    for node in nodes:
        yield depth, node, parent
        yield from _flatten_toc(node["children"], order_set, depth + 1, node)


def build(html_dir: Path, out: Path, chromium: str = "/usr/bin/chromium", online_url: str = "",
          progress=print, browser=None, title: str | None = None) -> dict:
    """Print the book to ``out``; returns a summary: ``pages`` (of the PDF), ``html_pages`` (in
    reading order), ``starts`` (each HTML page's first PDF page, 0-based), ``contents`` (the
    contents list: depth, title, printed page number), ``links`` (counts of links made internal,
    sent online, and left external).

    ``browser``: a Playwright Chromium browser to use (one is launched from ``chromium`` if None).
    ``online_url``: the online book's address (``online_address(_config.yml)``), printed under each
    interactive and used for links to files the PDF does not hold.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import Fit
    from pypdf.generic import (ArrayObject, DictionaryObject, FloatObject, NameObject,
                               NullObject, NumberObject, TextStringObject)

    html_dir = Path(html_dir)
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"no built book in {html_dir}: run `make book` first")
    online_url = online_url.rstrip("/") + "/" if online_url else ""
    order = reading_order(html_dir)
    if title is None:
        found = re.search(r"<title>(.*?)</title>", (html_dir / order[0]).read_text(encoding="utf-8"), re.S)
        title = htmlmod.unescape(found.group(1)).split(" \u2014 ")[-1].strip() if found else "The book"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    margin = {k: f"{v}mm" for k, v in MARGIN.items()}
    parts, sections, toc, front = [], {}, [], {}
    front_part, numbers_part = out.parent / ".part-front.pdf", out.parent / ".part-numbers.pdf"

    def print_pages(browser) -> None:
        nonlocal toc
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:", "blob:"))
                   else r.abort())
        for i, path in enumerate(order, 1):
            page.goto(base + path, wait_until="load")
            page.evaluate(READY)
            if i == 1:
                toc = page.evaluate(TOC)
            page.add_style_tag(content=PRINT_CSS)
            page.evaluate(NOTE, online_url + path if online_url else "")
            sections[path] = page.evaluate(TARGETS)
            page.emulate_media(media="print")
            part = out.parent / f".part-{i:03d}.pdf"
            page.pdf(path=str(part), format="A4", print_background=True, margin=margin)
            parts.append(part)
            progress(f"[{i}/{len(order)}] {path}")
        # The contents list needs the page numbers, which need its own length: print it once with
        # the numbers it will hold if it keeps its length, and again if it did not.
        lengths = [len(PdfReader(str(p)).pages) for p in parts]
        front_pages = 2
        for _ in range(4):
            starts = _starts(front_pages, lengths)
            entries = _contents(toc, order, starts)
            page.set_content(_front_html(title, entries, online_url))
            page.pdf(path=str(front_part), format="A4", print_background=True, margin=margin)
            n = len(PdfReader(str(front_part)).pages)
            if n == front_pages:
                break
            front_pages = n
        total = front_pages + sum(lengths)
        page.set_content(_numbers_html(2, total))
        page.pdf(path=str(numbers_part), format="A4", margin={k: "0mm" for k in MARGIN})
        page.close()
        front.update(pages=front_pages, lengths=lengths, entries=entries)

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
    front_pages, lengths, entries = front["pages"], front["lengths"], front["entries"]
    starts = _starts(front_pages, lengths)
    start_of = dict(zip(order, starts))

    writer = PdfWriter()
    readers = [PdfReader(str(front_part))] + [PdfReader(str(p)) for p in parts]
    for reader in readers:
        for p in reader.pages:
            writer.add_page(p)
    # Where each element with an id landed: (page path, id) -> (PDF page index, left, top).
    targets = {}
    for path, reader, start in zip(order, readers[1:], starts):
        for name, dest in reader.named_destinations.items():
            try:
                local = reader.get_destination_page_number(dest)
            except Exception:
                continue
            targets[(path, unquote(str(name).lstrip("/")))] = (start + local, float(dest.get("/Left") or 0),
                                                                float(dest.get("/Top") or 0))

    def goto(index: int, left: float | None = None, top: float | None = None) -> ArrayObject:
        ref = writer.pages[index].indirect_reference
        if top is None:
            return ArrayObject([ref, NameObject("/Fit")])
        return ArrayObject([ref, NameObject("/XYZ"), FloatObject(left), FloatObject(top), NumberObject(0)])

    def resolve(path: str, fragment: str):
        """The destination of a link to ``path#fragment`` in the PDF, or None if it holds no such page."""
        if path not in start_of:
            return None
        if fragment and (path, fragment) in targets:
            return goto(*targets[(path, fragment)])
        return goto(start_of[path])

    counts = {"internal": 0, "online": 0, "external": 0}
    page_of = []                                   # the HTML page each PDF page came from
    for path, n in zip(order, lengths):
        page_of += [path] * n
    for index, page in enumerate(writer.pages):
        source = page_of[index - front_pages] if index >= front_pages else None
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            action = annot.get("/A")
            action = action.get_object() if action is not None else None
            dest = annot.get("/Dest")
            if action is not None and action.get("/S") == "/URI":
                url = str(action["/URI"])
                if url.startswith(PAGE_LINK) and url[len(PAGE_LINK):].isdigit():   # the contents list
                    del annot[NameObject("/A")]
                    annot[NameObject("/Dest")] = goto(int(url[len(PAGE_LINK):]) - 1)
                    counts["internal"] += 1
                elif url.startswith(base):
                    parts_ = urlsplit(url)
                    path = unquote(parts_.path.lstrip("/")) or order[0]
                    target = resolve(path, unquote(parts_.fragment))
                    if target is not None:
                        del annot[NameObject("/A")]
                        annot[NameObject("/Dest")] = target
                        counts["internal"] += 1
                    else:
                        action[NameObject("/URI")] = TextStringObject(
                            (online_url or "") + url[len(base):] if online_url else url[len(base):])
                        counts["online"] += 1
                else:
                    counts["external"] += 1
            elif dest is not None and not isinstance(dest, (ArrayObject, NullObject)):
                name = unquote(str(dest).lstrip("/"))
                target = resolve(source, name) if source is not None else None
                if target is not None:
                    annot[NameObject("/Dest")] = target
                    counts["internal"] += 1
    # Page numbers: the PDF's own, at the foot of every page after the title page.
    numbers = PdfReader(str(numbers_part))
    for index in range(1, len(writer.pages)):
        writer.pages[index].merge_page(numbers.pages[index - 1])
    # Bookmarks: the contents, and each page's sections under it.
    writer.add_outline_item(title="Contents", page_number=1)

    def add(nodes, parent, page_path):
        for node in nodes:
            href = node.get("href")
            path = _join(page_path, href.split("#")[0]) if href else None
            if path in start_of:
                item = writer.add_outline_item(title=node["title"], page_number=start_of[path], parent=parent)
                levels = {0: item}
                for s in sections.get(path, []):
                    t = targets.get((path, s["id"]))
                    if t is None:
                        continue
                    up = levels.get(s["level"] - 1, item)
                    levels[s["level"]] = writer.add_outline_item(
                        title=s["title"], page_number=t[0], parent=up, fit=Fit.xyz(t[1], t[2], 0))
                    levels = {k: v for k, v in levels.items() if k <= s["level"]}
                add(node["children"], item, page_path)
            else:
                add(node["children"], parent, page_path)

    add(toc, None, order[0])
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": title})
    with open(out, "wb") as f:
        writer.write(f)
    for part in parts + [front_part, numbers_part]:
        part.unlink()
    return {"pages": len(writer.pages), "html_pages": order, "starts": starts,
            "contents": entries, "links": counts, "online_url": online_url}


def _starts(front_pages: int, lengths: list[int]) -> list[int]:
    starts, at = [], front_pages
    for n in lengths:
        starts.append(at)
        at += n
    return starts


def _contents(toc, order, starts) -> list[tuple[int, str, int]]:
    """(depth, title, printed page number) of every page in the table of contents."""
    start_of = dict(zip(order, starts))
    entries = [(0, "Introduction", start_of[order[0]] + 1)]      # the root page, the sidebar's home link
    for depth, node, _ in _flatten_toc(toc, set(order)):
        path = _join(order[0], node["href"].split("#")[0]) if node.get("href") else None
        if path in start_of:
            entries.append((depth, node["title"], start_of[path] + 1))
    return entries


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", default="_build/html", type=Path)
    ap.add_argument("--out", default="_build/pdf/book.pdf", type=Path)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--config", default="_config.yml", type=Path,
                    help="the book's _config.yml, which gives the online book's address")
    ap.add_argument("--online-url", default=None,
                    help="the online book's address (default: from --config)")
    args = ap.parse_args(argv)
    online = args.online_url if args.online_url is not None else online_address(args.config)
    result = build(args.html, args.out, args.chromium, online)
    print(f"wrote {args.out}: {result['pages']} pages from {len(result['html_pages'])} HTML pages; "
          f"links: {result['links']}")


if __name__ == "__main__":
    main(sys.argv[1:])
