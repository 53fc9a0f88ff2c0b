"""Sphinx extension: the two paths through each chapter, and every page's reading time.

Each chapter page declares its path in its own front matter::

    ---
    cnnbook:
      path: deeper                      # core, deeper or exercises
      assumes: [chapters/01/04_cost]    # a deeper page: the core sections it builds on
    ---

(myst-parser turns front matter into the page's docinfo and Sphinx keeps it in
``env.metadata[docname]``; for a notebook page, jupytext puts the front matter in the notebook's
metadata and myst-nb passes it on the same way. Non-string values arrive as JSON text.)

The build then

* puts a badge under the title of every page that declares a path:
  ``<span class="cnnbook-path" data-path="core|deeper|exercises" data-minutes="N">``, read
  "Core · 14 min", "Going deeper · 25 min · assumes 1.3" (the assumed sections as links, numbered
  as the built table of contents numbers them) or "Exercises · 320 min";
* times each page from its *built* HTML by the one rule of :mod:`cnnbook_lib.reading_time` (an
  exercises page by the sum of its exercises' own estimates) when the HTML build finishes, and
  fills in the badges, the table of a chapter's landing page (directive ``cnnbook-paths``: each
  path's pages and minutes) and the instructors' table (directive ``cnnbook-reading-times``: the
  rule, and core, deeper and exercise minutes per chapter);
* lists a "Going deeper" page's sections with what each assumes (directive
  ``cnnbook-deeper-pages``).

A chapter is the nearest page above a page with a path, in the table of contents, that declares
none itself: its landing page.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

from . import reading_time

logger = logging.getLogger(__name__)

PATHS = ("core", "deeper", "exercises")
LABELS = {"core": "Core", "deeper": "Going deeper", "exercises": "Exercises"}
STATIC = Path(__file__).parent / "static"
CSS = "cnnbook-paths.css"
SEP = '<span class="cnnbook-path-sep" aria-hidden="true"> · </span>'


@dataclass(frozen=True)
class PageInfo:
    """A page's declared path and, for a deeper page, the docnames of the sections it assumes."""

    path: str
    assumes: tuple[str, ...] = ()


def page_info(env, docname: str) -> PageInfo | None:
    """The ``cnnbook`` front matter of a page, or None when it declares no path."""
    raw = env.metadata.get(docname, {}).get("cnnbook")
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = {"path": raw.strip()}            # `cnnbook: core` as a shorthand
    if not isinstance(raw, dict):
        return PageInfo(path=str(raw))
    assumes = raw.get("assumes") or ()
    if isinstance(assumes, str):
        assumes = (assumes,)
    return PageInfo(path=str(raw.get("path", "")), assumes=tuple(str(a).strip("/") for a in assumes))


def _infos(env) -> dict[str, PageInfo]:
    return {doc: info for doc in sorted(env.found_docs) if (info := page_info(env, doc)) is not None}


def _parents(env) -> dict[str, str]:
    return {child: parent for parent, children in env.toctree_includes.items() for child in children}


def _chapter_of(doc: str, infos: dict[str, PageInfo], parents: dict[str, str]) -> str | None:
    """The landing page of a page with a path: its nearest ancestor without one."""
    seen = set()
    while doc in parents and doc not in seen:
        seen.add(doc)
        doc = parents[doc]
        if doc not in infos:
            return doc
    return None


def _descendants(env, doc: str) -> list[str]:
    """Every page below ``doc`` in the table of contents, in reading order."""
    out = []
    for child in env.toctree_includes.get(doc, []):
        out.append(child)
        out.extend(_descendants(env, child))
    return out


def _number(env, doc: str) -> str:
    """The section number the built table of contents gives a page ("1.4"), or ""."""
    return ".".join(map(str, env.toc_secnumbers.get(doc, {}).get("", ())))


def _title(env, doc: str) -> str:
    title = env.titles.get(doc)
    return title.astext() if title is not None else doc


def _chapters(env, infos: dict[str, PageInfo]) -> dict[str, list[str]]:
    """Each landing page (in the book's order) and its pages that declare a path."""
    parents = _parents(env)
    chapters: dict[str, list[str]] = {}
    for doc in infos:
        landing = _chapter_of(doc, infos, parents)
        if landing is not None:
            chapters.setdefault(landing, [])
    order = {doc: i for i, doc in enumerate(_descendants(env, env.config.root_doc))}
    for landing in sorted(chapters, key=lambda d: order.get(d, len(order))):
        chapters[landing] = [d for d in _descendants(env, landing) if d in infos]
    return dict(sorted(chapters.items(), key=lambda kv: order.get(kv[0], len(order))))


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def check_paths(app, env) -> None:
    """Every path is known, a deeper page names the core sections it assumes, a core page
    assumes nothing, and every page of a chapter declares a path."""
    infos = _infos(env)
    for doc, info in infos.items():
        if info.path not in PATHS:
            logger.warning(f"cnnbook path {info.path!r} is not one of {', '.join(PATHS)}", location=doc)
        if info.path == "deeper" and not info.assumes and env.toctree_includes.get(doc) is None:
            logger.warning("a deeper page names the core sections it assumes (cnnbook: assumes: [...])",
                           location=doc)
        if info.path != "deeper" and info.assumes:
            logger.warning(f"only a deeper page assumes sections; this one is {info.path}", location=doc)
        for target in info.assumes:
            if target not in env.found_docs:
                logger.warning(f"assumes {target!r}, which is not a page of the book", location=doc)
            elif (infos.get(target) or PageInfo("")).path != "core":
                logger.warning(f"assumes {target!r}, which is not a core page", location=doc)
    for landing, pages in _chapters(env, infos).items():
        for doc in _descendants(env, landing):
            if doc not in infos:
                logger.warning("a page of a chapter declares its path in its front matter "
                               "(cnnbook: path: core, deeper or exercises)", location=doc)


# ---------------------------------------------------------------------------------------------
# The badge and the directives (written with the page; minutes filled in when the build ends)
# ---------------------------------------------------------------------------------------------


def _link(app, fromdoc: str, target: str) -> str:
    env = app.env
    number = _number(env, target) or _title(env, target)
    uri = app.builder.get_relative_uri(fromdoc, target)
    return (f'<a class="reference internal" href="{html.escape(uri)}" '
            f'title="{html.escape(_title(env, target))}">{html.escape(number)}</a>')


def badge_html(app, docname: str, info: PageInfo) -> str:
    """The badge of one page, its minutes still to be filled in."""
    parts = [f'<span class="cnnbook-path-name">{LABELS.get(info.path, info.path)}</span>',
             '<span class="cnnbook-minutes">… min</span>']
    if info.assumes:
        links = ", ".join(_link(app, docname, t) for t in info.assumes if t in app.env.found_docs)
        parts.append(f'<span class="cnnbook-assumes">assumes {links}</span>')
    label = {"core": "Core path; reading time by the book's rule",
             "deeper": "Going deeper, beyond the core path; reading time by the book's rule",
             "exercises": "Exercises; the sum of their own time estimates"}.get(info.path, info.path)
    return (f'<p class="cnnbook-path-line"><span class="cnnbook-path" data-path="{html.escape(info.path)}" '
            f'data-minutes="" title="{html.escape(label)}">'
            + SEP.join(parts) + "</span></p>")


class deeper_pages(nodes.General, nodes.Element):
    """Where a "Going deeper" page lists its sections (replaced when the page is written)."""


class CnnbookPaths(Directive):
    """The landing page's table of its chapter's paths, pages and minutes."""

    def run(self):
        env = self.state.document.settings.env
        return [nodes.raw("", f'<div class="cnnbook-path-table" data-chapter="{html.escape(env.docname)}">'
                              "</div>", format="html")]


class CnnbookReadingTimes(Directive):
    """The instructors' page: the reading-time rule, and each chapter's minutes by path."""

    def run(self):
        return [nodes.paragraph("", reading_time.RULE),
                nodes.raw("", '<div class="cnnbook-reading-times"></div>', format="html")]


class CnnbookDeeperPages(Directive):
    """A "Going deeper" page's sections, each with the core sections it assumes."""

    def run(self):
        return [deeper_pages("")]


def add_badge_and_lists(app, doctree, docname: str) -> None:
    """Put the badge under the page's title and write out a ``cnnbook-deeper-pages`` list."""
    env = app.env
    for node in list(doctree.findall(deeper_pages)):
        items = nodes.bullet_list(classes=["cnnbook-deeper-pages"])
        for child in env.toctree_includes.get(docname, []):
            info = page_info(env, child) or PageInfo("")
            uri = app.builder.get_relative_uri(docname, child)
            number = _number(env, child)
            para = nodes.paragraph()
            para += nodes.reference("", (number + " " if number else "") + _title(env, child),
                                    refuri=uri, internal=True)
            if app.builder.format == "html":
                para += nodes.raw("", f' (<span class="cnnbook-page-minutes" data-doc="{html.escape(child)}">'
                                      "</span>)", format="html")
            if info.assumes:
                para += nodes.Text("; assumes ")
                for i, target in enumerate(t for t in info.assumes if t in env.found_docs):
                    if i:
                        para += nodes.Text(", ")
                    para += nodes.reference("", f"{_number(env, target)} {_title(env, target)}".strip(),
                                            refuri=app.builder.get_relative_uri(docname, target),
                                            internal=True)
            items += nodes.list_item("", para)
        node.replace_self(items)
    info = page_info(env, docname)
    if info is None or app.builder.format != "html":
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        logger.warning("a page with a path has no title to put its badge under", location=docname)
        return
    section.insert(1, nodes.raw("", badge_html(app, docname, info), format="html"))


# ---------------------------------------------------------------------------------------------
# When the build ends: time every page from its HTML and fill in the badges and tables
# ---------------------------------------------------------------------------------------------

_BADGE_MINUTES = re.compile(r'(<span class="cnnbook-path" data-path="[^"]*" data-minutes=")[^"]*(")')
_BADGE_TEXT = re.compile(r'(<span class="cnnbook-minutes">)[^<]*(</span>)')
_PAGE_MINUTES = re.compile(r'(<span class="cnnbook-page-minutes" data-doc="([^"]+)">)[^<]*(</span>)')
_PATH_TABLE = re.compile(r'(<div class="cnnbook-path-table" data-chapter="([^"]+)">).*?(</div>)', re.S)
_READING_TIMES = re.compile(r'(<div class="cnnbook-reading-times">).*?(</div>)', re.S)


def _chapter_rows(pages: list[str], infos, minutes, exercises) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for path in PATHS:
        docs = [d for d in pages if infos[d].path == path]
        if docs:
            rows[path] = {"pages": len(docs), "minutes": sum(minutes[d] for d in docs),
                          "exercises": sum(exercises.get(d, 0) for d in docs)}
    return rows


def path_table(rows: dict[str, dict]) -> str:
    """The landing page's table: each path's pages and minutes."""
    body = []
    for path, row in rows.items():
        pages = f"{row['exercises']} exercises" if path == "exercises" else f"{row['pages']}"
        body.append(f'<tr data-path="{path}" data-pages="{row["pages"]}" data-minutes="{row["minutes"]}">'
                    f"<td>{LABELS[path]}</td><td>{pages}</td><td>{row['minutes']} min</td></tr>")
    return ('<table class="table cnnbook-paths"><thead><tr><th>Path</th><th>Pages</th>'
            "<th>Reading time</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def reading_times_table(env, chapters: dict[str, dict[str, dict]]) -> str:
    """The instructors' table: per chapter, core, deeper and exercise minutes."""
    body = []
    for landing, rows in chapters.items():
        number = _number(env, landing)
        name = html.escape((number + ". " if number else "") + _title(env, landing))
        cells, data = [], []
        for path in PATHS:
            row = rows.get(path)
            data.append(f'data-{path}="{row["minutes"] if row else 0}"')
            count = (f"{row['exercises']} exercises" if path == "exercises" else
                     f"{row['pages']} {'page' if row['pages'] == 1 else 'pages'}") if row else ""
            cells.append(f'<td><span class="cnnbook-nowrap">{row["minutes"]} min</span><br>{count}</td>'
                         if row else "<td>none yet</td>")
        body.append(f'<tr data-chapter="{html.escape(landing)}" {" ".join(data)}><td>{name}</td>'
                    + "".join(cells) + "</tr>")
    return ('<table class="table cnnbook-reading-times-table"><thead><tr><th>Chapter</th><th>Core</th>'
            "<th>Going deeper</th><th>Exercises</th></tr></thead><tbody>" + "".join(body)
            + "</tbody></table>")


def fill_reading_times(app, exception) -> None:
    """Time every page with a path from its written HTML and fill in badges and tables."""
    if exception is not None or app.builder.format != "html" or not hasattr(app.builder, "get_outfilename"):
        return
    env = app.env
    infos = _infos(env)
    files = {doc: Path(app.builder.get_outfilename(doc)) for doc in env.found_docs}
    pages = {doc: f.read_text(encoding="utf-8") for doc, f in files.items() if f.exists()}
    minutes: dict[str, int] = {}
    exercises: dict[str, int] = {}
    for doc, info in infos.items():
        if doc not in pages:
            continue
        if info.path == "exercises":
            found = reading_time.exercise_estimates(pages[doc])
            for ex in found:
                if ex.minutes is None:
                    logger.warning(f"exercise {ex.label} states no time estimate (open it with "
                                   "'*Medium, 15 minutes.*')", location=doc)
            exercises[doc] = len(found)
            minutes[doc] = reading_time.exercises_minutes(pages[doc])
        else:
            counts = reading_time.count(pages[doc])
            for name in counts.unstated:
                logger.warning(f"interactive {name} states no time (data-minutes)", location=doc)
            minutes[doc] = counts.minutes
    chapters = {landing: _chapter_rows([d for d in docs if d in minutes], infos, minutes, exercises)
                for landing, docs in _chapters(env, infos).items()}

    for doc, text in pages.items():
        new = text
        if doc in minutes:
            new = _BADGE_MINUTES.sub(lambda m: f"{m[1]}{minutes[doc]}{m[2]}", new, count=1)
            new = _BADGE_TEXT.sub(lambda m: f"{m[1]}{minutes[doc]} min{m[2]}", new, count=1)
        new = _PAGE_MINUTES.sub(lambda m: f"{m[1]}{minutes[m[2]]} min{m[3]}" if m[2] in minutes else m[0], new)
        new = _PATH_TABLE.sub(lambda m: m[1] + path_table(chapters.get(m[2], {})) + m[3], new)
        new = _READING_TIMES.sub(lambda m: m[1] + reading_times_table(env, chapters) + m[2], new)
        if new != text:
            files[doc].write_text(new, encoding="utf-8")


def _static(app) -> None:
    if app.builder.format == "html":
        app.config.html_static_path.append(str(STATIC))
        app.add_css_file(CSS)


def setup(app):
    """Register the directives and the handlers (see the module's docstring)."""
    app.add_node(deeper_pages)
    app.add_directive("cnnbook-paths", CnnbookPaths)
    app.add_directive("cnnbook-reading-times", CnnbookReadingTimes)
    app.add_directive("cnnbook-deeper-pages", CnnbookDeeperPages)
    app.connect("builder-inited", _static)
    app.connect("env-check-consistency", check_paths)
    app.connect("doctree-resolved", add_badge_and_lists)
    # before the downloadable notebooks are written from the pages (cnnbook_lib.notebooks, 900)
    app.connect("build-finished", fill_reading_times, priority=500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
