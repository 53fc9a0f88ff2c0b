"""Notebooks that read like the book: each page's executed notebook with MyST rendered for Jupyter.

A page of the book is a MyST Markdown notebook: its prose holds ``{glue:text}`` roles, ``{glue:math}``
and ``{glue:figure}`` fences, ``{cite}`` and ``{eq}`` roles, admonitions and exercise directives,
which Jupyter Book renders but JupyterLab, VS Code and Colab show as markup. :func:`render`
turns the executed notebook into a plain Jupyter notebook: every glued number, equation and
figure in place (figures as cell attachments), equation, figure and exercise numbers and
citations as the HTML page shows them (read from that page), directives as Markdown, plumbing
cells collapsed, glue records and kernel-only widget views replaced by what a reader can see
before running a cell. ``hide_solutions`` drops the gated solutions (the student edition).

As a Sphinx extension (listed in ``_config.yml``), it rewrites each page's downloadable
``_sources/<page>.ipynb`` when the HTML build finishes and writes the same notebooks to
``<outdir>/../notebooks`` (``_build/notebooks`` for the book), which ``make lab`` opens.
"""
from __future__ import annotations

import copy
import html as htmllib
import json
import re
from pathlib import Path

#: Output types JupyterLab, VS Code and Colab display without a kernel.
DISPLAYABLE = {"text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg",
               "image/svg+xml", "application/json"}

_FENCE = re.compile(r"^(?P<ticks>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
_ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<body>[^`]*)`")
_TARGET = re.compile(r"^\((?P<label>[\w:-]+)\)=\s*$")
_WIDGET = "application/vnd.jupyter.widget-view+json"
_RECORD = "application/papermill.record/"


class PageIndex:
    """Numbers and citations of one built HTML page (and the book's page titles)."""

    def __init__(self, page_html: str = "", titles: dict[str, str] | None = None, docname: str = "",
                 book_html: str = ""):
        """``page_html``: the page's own HTML (its citations, in order); ``book_html``: every page's
        HTML (equation, figure and exercise numbers are unique across the book)."""
        self.docname, self.titles = docname, titles or {}
        everything = page_html + book_html
        self.equations = dict(re.findall(r'id="equation-([\w:-]+)">\s*<span class="eqno">\(([^)]*)\)', everything))
        self.numbers = dict(re.findall(
            r'id="([\w:-]+)"[^>]*>\s*(?:<img[^>]*>\s*)?(?:<figcaption>\s*<p>|<p class="admonition-title">)'
            r'<span class="caption-number">([^<]*?)\s*</span>', everything, re.S))
        self.citations = [[(label, htmllib.unescape(title)) for title, label in
                           re.findall(r'<a class="reference internal"[^>]*title="([^"]*)">([^<]*)</a>', span)]
                          for span in re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', page_html, re.S)]
        self.cited: dict[str, str] = {}
        self._next_cite = 0
        # the tables of reading times the build filled in (cnnbook_lib.sphinx_paths), in order
        self.blocks = {"cnnbook-paths": re.findall(r'<div class="cnnbook-path-table"[^>]*>.*?</div>',
                                                   page_html, re.S),
                       "cnnbook-reading-times": re.findall(r'<div class="cnnbook-reading-times">.*?</div>',
                                                           page_html, re.S)}

    def cite(self, keys: str) -> str:
        """The next citation of the page, as the HTML shows it: ``[DV16]``."""
        if self._next_cite < len(self.citations):
            found = self.citations[self._next_cite]
            self._next_cite += 1
            for label, title in found:
                self.cited[label] = title
            return "[" + "; ".join(label for label, _ in found) + "]"
        return "[" + keys + "]"

    def doc_title(self, target: str) -> str:
        name = target.strip().lstrip("/")
        if not name.startswith("chapters") and self.docname:          # relative to this page
            name = str(Path(self.docname).parent / name)
        name = re.sub(r"\.md$", "", str(Path(name)))
        return self.titles.get(name, target)


# ---------------------------------------------------------------------------------------------
# Glue
# ---------------------------------------------------------------------------------------------


def glue_store(nb: dict) -> dict[str, dict]:
    """Every glued value of an executed notebook: name -> its mime bundle."""
    store = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            name = (out.get("metadata") or {}).get("scrapbook", {}).get("name")
            if name:
                store[name] = {k[len(_RECORD):] if k.startswith(_RECORD) else k: v
                               for k, v in out.get("data", {}).items()}
    return store


def _text(bundle: dict) -> str:
    text = bundle.get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else text
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":   # the repr of a string
        try:
            import ast
            return str(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            return text[1:-1]
    return text


def _latex(bundle: dict) -> str:
    tex = bundle.get("text/latex", "")
    tex = "".join(tex) if isinstance(tex, list) else tex
    tex = tex.strip()
    if tex.startswith("$$") and tex.endswith("$$"):
        tex = tex[2:-2]
    elif tex.startswith("$") and tex.endswith("$"):
        tex = tex[1:-1]
    return tex.replace("\\displaystyle", "").strip()


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


class _Renderer:
    def __init__(self, glue: dict[str, dict], index: PageIndex):
        self.glue, self.index = glue, index
        self.attachments: dict[str, dict] = {}
        self.exercises = 0

    def role(self, m: re.Match) -> str:
        name, body = m.group("name"), m.group("body")
        if name.startswith("glue"):
            key, _, spec = body.partition(":")
            bundle = self.glue.get(key.strip())
            if bundle is None:
                return f"`{body}`"
            if name == "glue:math":
                return f"${_latex(bundle)}$"
            value = _text(bundle)
            if spec:
                try:
                    return format(float(value), spec)
                except ValueError:
                    return value
            return value
        if name == "cite" or name.startswith("cite:"):
            return self.index.cite(body)
        if name == "eq":
            number = self.index.equations.get(body)
            return f"({number})" if number else f"({body})"
        if name in ("numref", "ref"):
            label = re.sub(r".*<(.*)>$", r"\1", body)
            number = self.index.numbers.get(label)
            text = re.sub(r"\s*<.*>$", "", body) if "<" in body else ""
            return (text.replace("%s", number) if text and number else number or text or label)
        if name == "doc":
            text, _, target = body.partition("<") if "<" in body else ("", "", body)
            target = target.rstrip(">")
            return text.strip() or self.index.doc_title(target)
        if name == "term":
            return re.sub(r"\s*<.*>$", "", body)
        return body                                   # {sub}, {sup}, {abbr}...: their text

    def inline(self, text: str) -> str:
        return _ROLE.sub(self.role, text)

    def directive(self, name: str, arg: str, options: dict, body: str) -> str:
        inner = self.markdown(body) if body.strip() else ""
        if name == "glue:math":
            bundle = self.glue.get(arg.strip())
            tex = _latex(bundle) if bundle else arg
            number = self.index.equations.get(options.get("label", ""))
            return f"$$\n{tex}" + (f" \\tag{{{number}}}" if number else "") + "\n$$"
        if name in ("glue:figure", "figure"):
            key = arg.strip()
            number = self.index.numbers.get(options.get("name", ""), "")
            caption = f"*{number}: {inner.strip()}*" if number else (f"*{inner.strip()}*" if inner.strip() else "")
            bundle = self.glue.get(key) if name == "glue:figure" else None
            if bundle and "image/png" in bundle:
                png = bundle["image/png"]
                fname = re.sub(r"[^\w-]", "_", key) + ".png"
                self.attachments[fname] = {"image/png": "".join(png) if isinstance(png, list) else png}
                alt = re.sub(r"[\[\]*_`]", "", inner.strip().split(". ")[0])[:120] or key
                return f"![{alt}](attachment:{fname})\n\n{caption}".strip()
            return caption
        if name == "math":
            return f"$$\n{body.strip()}\n$$"
        if name == "exercise":
            self.exercises += 1
            number = self.index.numbers.get(options.get("label", ""), f"Exercise {self.exercises}")
            title = f" ({self.inline(arg)})" if arg.strip() else ""
            return _quote(f"**{number}**{title}\n\n{inner}")
        if name == "bibliography":
            if not self.index.cited:
                return "*The references are listed on the book's References page.*"
            return "\n".join(f"* [{label}] {title}" for label, title in self.index.cited.items())
        if name in ("admonition", "note", "tip", "warning", "important", "caution", "hint",
                    "attention", "danger", "error", "seealso"):
            title = self.inline(arg) if name == "admonition" else name.capitalize()
            return _quote(f"**{title}**\n\n{inner}" if title else inner)
        if name in ("toctree", "tableofcontents", "contents"):
            return ""
        if name == "rubric":
            return f"**{self.inline(arg)}**"
        if name in self.index.blocks:                 # a table of reading times: as the page shows it
            found = self.index.blocks[name]
            table = found.pop(0) if found else ""
            if name == "cnnbook-reading-times":
                from .reading_time import RULE
                return f"{RULE}\n\n{table}".strip()
            return table
        return inner                                  # any other directive: its content

    def markdown(self, text: str) -> str:
        lines, out, i = text.split("\n"), [], 0
        while i < len(lines):
            line = lines[i]
            if _TARGET.match(line):
                i += 1
                continue
            m = _FENCE.match(line)
            if not m:
                out.append(self.inline(line))
                i += 1
                continue
            ticks, name, arg = m.group("ticks"), m.group("name"), m.group("arg")
            j, depth, body = i + 1, 0, []
            while j < len(lines):
                inner = _FENCE.match(lines[j])
                if inner and len(inner.group("ticks")) == len(ticks) and inner.group("ticks")[0] == ticks[0]:
                    depth += 1
                elif lines[j].strip() == ticks and depth == 0:
                    break
                elif lines[j].strip() == ticks:
                    depth -= 1
                body.append(lines[j])
                j += 1
            options: dict[str, str] = {}
            while body and re.match(r"^:[\w-]+:", body[0]):
                key, _, value = body.pop(0)[1:].partition(":")
                options[key] = value.strip()
            out.append(self.directive(name, arg, options, "\n".join(body)))
            i = j + 1
        return "\n".join(out)


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.strip().split("\n"))


# ---------------------------------------------------------------------------------------------
# Cells and notebooks
# ---------------------------------------------------------------------------------------------

_HIDE_SOURCE = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
_HIDE_OUTPUT = {"remove-cell", "remove-output", "hide-output", "hide-cell"}


def _output(out: dict) -> dict | None:
    """What a reader can see of one output before running its cell (None: nothing)."""
    data = out.get("data")
    if data is None:
        return out
    if (out.get("metadata") or {}).get("scrapbook") or all(k.startswith(_RECORD) for k in data):
        return None                                   # a glue record: shown in the prose instead
    if _WIDGET in data:                               # a live interactive: the kernel draws it
        name = re.sub(r"Widget\('?(\w+)'?\)$", r"\1", _text(data)).strip("'")
        return {"output_type": "display_data", "metadata": {},
                "data": {"text/markdown": f"*Interactive `{name}`: run this cell to use it here "
                                          "(it is live in the online book too).*",
                         "text/plain": f"Interactive {name}: run this cell to use it"}}
    kept = {k: v for k, v in data.items() if k in DISPLAYABLE}
    if not kept:
        return None
    new = dict(out, data=kept)
    return new


def _solution_spans(cells: list[dict]) -> set[int]:
    """Indices of the cells of gated solutions (solution-start ... solution-end), fences included."""
    inside, drop = False, set()
    for i, cell in enumerate(cells):
        src = _source(cell)
        if cell["cell_type"] == "markdown" and "{solution-start}" in src:
            inside = True
        if inside:
            drop.add(i)
        if cell["cell_type"] == "markdown" and "{solution-end}" in src:
            inside = False
    return drop


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _split_solutions(text: str, hide: bool) -> str:
    """Inside one markdown cell: drop (hide) or label the solution-start/-end fences."""
    def start(m):
        return "" if hide else "**Solution**\n"
    text = re.sub(r"^```\{solution-start\}[^\n]*\n(?::[^\n]*\n)*```[ \t]*$", start, text, flags=re.M)
    text = re.sub(r"^```\{solution-end\}[^\n]*\n```[ \t]*$", "", text, flags=re.M)
    return text


def render(nb: dict, index: PageIndex | None = None, hide_solutions: bool = False,
           glue: dict[str, dict] | None = None) -> dict:
    """The notebook a reader opens in Jupyter: see the module's docstring.

    ``glue``: name -> mime bundle of the page's glued values (myst-nb's ``<page>.glue.json``, whose
    entries are outputs); values glued in the notebook's own outputs are found too.
    """
    index = index or PageIndex()
    glue = {**glue_store(nb), **{k: (v.get("data", v) if isinstance(v, dict) else v)
                                 for k, v in (glue or {}).items()}}
    cells = nb.get("cells", [])
    dropped = _solution_spans(cells) if hide_solutions else set()
    out_cells = []
    for i, cell in enumerate(cells):
        if i in dropped:
            src = _source(cell)
            # keep what precedes a solution-start or follows a solution-end in the same cell
            before = src.split("```{solution-start}")[0] if "{solution-start}" in src else ""
            after = src.split("```{solution-end}")[-1].split("```", 1)[-1] if "{solution-end}" in src else ""
            if cell["cell_type"] == "markdown" and (before.strip() or after.strip()):
                cell = dict(cell, source=before + after)
            else:
                continue
        cell = copy.deepcopy(cell)
        if cell["cell_type"] == "markdown":
            r = _Renderer(glue, index)
            r.exercises = sum(1 for c in out_cells for _ in re.finditer(r"^> \*\*Exercise", _source(c), re.M))
            text = _split_solutions(_source(cell), hide_solutions)
            cell["source"] = r.markdown(text)
            if r.attachments:
                cell["attachments"] = r.attachments
            cell.get("metadata", {}).pop("tags", None)
        elif cell["cell_type"] == "code":
            tags = set(cell.get("metadata", {}).get("tags", []))
            outputs = [o for o in (_output(o) for o in cell.get("outputs", [])) if o is not None]
            cell["outputs"] = outputs
            jup = cell.setdefault("metadata", {}).setdefault("jupyter", {})
            if tags & _HIDE_SOURCE:
                jup["source_hidden"] = True
            if tags & _HIDE_OUTPUT and outputs:
                jup["outputs_hidden"] = True
        out_cells.append(cell)
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k not in ("jupytext", "mystnb", "widgets")}
    meta.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    return {"cells": out_cells, "metadata": meta, "nbformat": 4, "nbformat_minor": max(5, nb.get("nbformat_minor", 5))}


def problems(nb: dict) -> list[str]:
    """What a reader of ``nb`` in JupyterLab would see as markup or could not see at all."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        src = _source(cell)
        if cell["cell_type"] == "markdown":
            for pattern, what in [(r"\{glue", "a raw {glue} role or fence"), (r"^(```|:::)\{", "a directive fence"),
                                  (r"\{(cite|eq|doc|numref|ref)\}`", "a raw role")]:
                if re.search(pattern, src, re.M):
                    found.append(f"cell {i}: {what}: {src[:80]!r}")
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None and not (set(data) & DISPLAYABLE):
                found.append(f"cell {i}: an output with no displayable type: {sorted(data)}")
            if data is not None and (set(data) - DISPLAYABLE):
                found.append(f"cell {i}: an output type Jupyter cannot show without a kernel: "
                             f"{sorted(set(data) - DISPLAYABLE)}")
    return found


# ---------------------------------------------------------------------------------------------
# Sphinx
# ---------------------------------------------------------------------------------------------


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    sources = outdir / "_sources"
    notebooks = outdir.parent / "notebooks"
    executed = outdir.parent / "jupyter_execute"
    titles = {doc: title.astext() for doc, title in app.env.titles.items()}
    hide = bool(getattr(app.config, "hide_solutions", False))
    pages = {doc: (outdir / f"{doc}.html").read_text(encoding="utf-8")
             for doc in app.env.found_docs if (outdir / f"{doc}.html").exists()}
    book = "".join(pages.values())
    for doc in sorted(app.env.found_docs):
        src = sources / f"{doc}.ipynb"
        if not src.exists():
            continue
        index = PageIndex(pages.get(doc, ""), titles, doc, book_html=book)
        glue_file = executed / f"{doc}.glue.json"
        glue = json.loads(glue_file.read_text(encoding="utf-8")) if glue_file.exists() else {}
        nb = render(json.loads(src.read_text(encoding="utf-8")), index, hide_solutions=hide, glue=glue)
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        src.write_text(text, encoding="utf-8")
        target = notebooks / f"{doc}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _print_button(app, pagename, templatename, context, doctree) -> None:
    """The theme's ".pdf" download entry only prints the page: say so (``make pdf`` makes the book's PDF)."""
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if button.get("label") == "download-pdf-button":
                button["text"] = "print"
                button["tooltip"] = "Print this page or save it as PDF (the whole book: make pdf)"


def setup(app):
    """Rewrite the downloadable notebooks after an HTML build (see the module docstring)."""
    app.connect("build-finished", _build_finished, priority=900)
    app.connect("html-page-context", _print_button, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
