"""Notebooks that read like the book: each page's executed notebook with MyST rendered for Jupyter.

A page of the book is a MyST Markdown notebook: its prose holds ``{glue:text}`` roles, ``{glue:math}``
and ``{glue:figure}`` fences, ``{cite}`` and ``{eq}`` roles, admonitions and exercise directives,
which Jupyter Book renders but JupyterLab, VS Code and Colab show as markup. :func:`render`
turns the executed notebook into a plain Jupyter notebook: every glued number, equation and
figure in place (figures as cell attachments), equation, figure and exercise numbers and
citations as the HTML page shows them (read from that page), directives as Markdown, plumbing
cells collapsed, glue records and kernel-only widget views replaced by what a reader can see
before running a cell, links to other pages as their titles (linked to the online book when
``_config.yml`` gives its address), and the page's ``from myst_nb import glue`` as the library's
glue (:mod:`cnnbook_lib.glue`), so the notebook needs nothing the library's wheel does not bring.
``hide_solutions`` drops the gated solutions (the student edition). :func:`for_download` then
opens the notebook with its install cell (the library at the book's version, and the route to a
CPU-only torch) and, on a page that times the machine running it, a note that the text's
numbers are the build's (:func:`measurement_note`).
The MyST is rendered by :mod:`cnnbook_lib.myst`, as in the handouts; the page's HTML supplies
what the sources cannot say (:class:`PageIndex`).

As a Sphinx extension (listed in ``_config.yml``), it rewrites each page's downloadable
``_sources/<page>.ipynb`` when the HTML build finishes and writes the same notebooks to
``<outdir>/../notebooks`` (``_build/notebooks`` for the book), which ``make lab`` opens.
"""
from __future__ import annotations

import copy
import html as htmllib
import json
import posixpath
import re
from pathlib import Path

from .glue import without_myst_nb
from .myst import Directive, References, Renderer
from .teaching.solutions import split_notebook, strip_notebook

#: Output types JupyterLab, VS Code and Colab display without a kernel.
DISPLAYABLE = {"text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg",
               "image/svg+xml", "application/json"}

_WIDGET = "application/vnd.jupyter.widget-view+json"
_RECORD = "application/papermill.record/"


class PageIndex(References):
    """Numbers and citations of one built HTML page (and the book's page and section titles):
    the :class:`~cnnbook_lib.myst.References` of the page's notebook."""

    def __init__(self, page_html: str = "", titles: dict[str, str] | None = None, docname: str = "",
                 book_html: str = "", sections: dict[str, str] | None = None):
        """``page_html``: the page's own HTML (its citations, in order); ``book_html``: every page's
        HTML (equation, figure and exercise numbers are unique across the book); ``titles``: page
        name -> title; ``sections``: label -> title of the section it names."""
        super().__init__()
        self.docname, self.titles, self.sections = docname, titles or {}, sections or {}
        self.address: str | None = None       # the online book's address (book_address), if any
        everything = page_html + book_html
        self.equations = dict(re.findall(r'id="equation-([\w:-]+)">\s*<span class="eqno">\(([^)]*)\)', everything))
        self.numbers = dict(re.findall(
            r'id="([\w:-]+)"[^>]*>\s*(?:<img[^>]*>\s*)?(?:<figcaption>\s*<p>|<p class="admonition-title">)'
            r'<span class="caption-number">([^<]*?)\s*</span>', everything, re.S))
        self.citations = [[(label, htmllib.unescape(title)) for title, label in
                           re.findall(r'<a class="reference internal"[^>]*title="([^"]*)">([^<]*)</a>', span)]
                          for span in re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', page_html, re.S)]
        self._next_cite = 0
        self.glued: dict[str, dict] = {}
        # the tables of reading times the build filled in (cnnbook_lib.sphinx_paths), in order
        self.blocks = {"cnnbook-paths": re.findall(r'<div class="cnnbook-path-table"[^>]*>.*?</div>',
                                                   page_html, re.S),
                       "cnnbook-reading-times": re.findall(r'<div class="cnnbook-reading-times">.*?</div>',
                                                           page_html, re.S)}

    def glue(self, key: str) -> dict | None:
        return self.glued.get(key)

    def citation(self, keys: list[str]) -> list[tuple[str, str]] | None:
        """The page's next citation as the HTML shows it (citations are met in page order)."""
        if self._next_cite < len(self.citations):
            self._next_cite += 1
            return self.citations[self._next_cite - 1]
        return None

    def equation_number(self, label: str) -> str | None:
        return self.equations.get(label)

    def number(self, label: str) -> str | None:
        return self.numbers.get(label)

    def title(self, label: str) -> str | None:
        return self.sections.get(label)

    def _doc(self, target: str) -> str:
        """A ``{doc}`` target as the page's name in the book (``chapters/01/08_measuring``)."""
        name = target.strip()
        if name.startswith("/"):
            name = name.lstrip("/")
        elif self.docname:                                              # relative to this page
            name = posixpath.join(posixpath.dirname(self.docname), name)
        return re.sub(r"\.(md|ipynb)$", "", posixpath.normpath(name))

    def doc_title(self, target: str) -> str | None:
        return self.titles.get(self._doc(target))

    def doc_url(self, target: str) -> str | None:
        name = self._doc(target)
        return f"{self.address}{name}.html" if self.address and name in self.titles else None


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


# ---------------------------------------------------------------------------------------------
# Markdown (cnnbook_lib.myst renders it; the page's HTML supplies numbers and citations)
# ---------------------------------------------------------------------------------------------


def _page_block(renderer: Renderer, d: Directive) -> str:
    """A table of reading times, as the built page shows it."""
    found = renderer.refs.blocks.get(d.name) if isinstance(renderer.refs, PageIndex) else None
    table = found.pop(0) if found else ""
    if d.name == "cnnbook-reading-times":
        from .reading_time import RULE
        return f"{RULE}\n\n{table}".strip()
    return table


#: Directives whose rendering the built page supplies.
PAGE_DIRECTIVES = {"cnnbook-paths": _page_block, "cnnbook-reading-times": _page_block}


# ---------------------------------------------------------------------------------------------
# Cells and notebooks
# ---------------------------------------------------------------------------------------------

_HIDE_SOURCE = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
_HIDE_OUTPUT = {"remove-cell", "remove-output", "hide-output", "hide-cell"}


def book_address(baseurl: str | None = None, repository_url: str | None = None) -> str | None:
    """The online book's address, ending in ``/``: ``html.baseurl`` of ``_config.yml`` when it is
    set, else the GitHub Pages address of a GitHub ``repository.url``
    (``https://github.com/OWNER/REPO`` -> ``https://OWNER.github.io/REPO/``), else ``None``."""
    if baseurl and baseurl.strip():
        return baseurl.strip().rstrip("/") + "/"
    m = re.match(r"^https?://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", (repository_url or "").strip())
    return f"https://{m[1].lower()}.github.io/{m[2]}/" if m else None


def page_address(docname: str, address: str | None) -> str:
    """Where page ``docname`` works as the book shows it: its online address when the book has one,
    else its file in the built book."""
    return f"{address}{docname}.html" if address else f"the book's HTML page {docname}.html"


def interactive_note(title: str, where: str | None = None) -> tuple[str, str]:
    """The (Markdown, plain text) a notebook shows in place of an interactive that no kernel has
    drawn yet: its title, how to use it here, and where it works without running anything
    (``where``: the page's online address, or a phrase naming its file in the built book)."""
    first = f"The interactive “{title}” appears here when this cell runs in Jupyter (run this cell to use it)"
    if where and where.startswith("http"):
        return (f"*{first}; it also works, with nothing to run, on this page of the online book: "
                f"[{where}]({where}).*",
                f"{first}; it also works, with nothing to run, on this page of the online book: {where}.")
    there = f"in {where}" if where else "on this page of the book's HTML edition"
    return f"*{first}; it also works, with nothing to run, {there}.*", \
        f"{first}; it also works, with nothing to run, {there}."


def _interactive_title(data: dict) -> str:
    """An interactive's title (its static HTML names it), else its name."""
    page = data.get("text/html", "")
    page = "".join(page) if isinstance(page, list) else page
    found = re.search(r"<noscript>(.*?): this interactive needs", page, re.S)
    if found:
        return htmllib.unescape(found[1]).strip()
    name = re.search(r"\(\s*'?\"?([\w-]+)'?\"?\s*\)\s*$", _text(data))
    return name[1] if name else (_text(data).strip() or "interactive")


def _output(out: dict, where: str | None = None) -> dict | None:
    """What a reader can see of one output before running its cell (None: nothing). ``where``:
    the page's online address (or its file in the built book), for an interactive's note."""
    data = out.get("data")
    if data is None:
        return out
    if (out.get("metadata") or {}).get("scrapbook") or all(k.startswith(_RECORD) for k in data):
        return None                                   # a glue record: shown in the prose instead
    if _WIDGET in data:                               # a live interactive: the kernel draws it
        markdown, plain = interactive_note(_interactive_title(data), where)
        return {"output_type": "display_data", "metadata": {},
                "data": {"text/markdown": markdown, "text/plain": plain}}
    kept = {k: v for k, v in data.items() if k in DISPLAYABLE}
    if not kept:
        return None
    new = dict(out, data=kept)
    return new


def fold_solution(markdown: str) -> str:
    """A solution's Markdown folded: an HTML ``<details>`` a reader opens with a click (JupyterLab,
    VS Code and Colab render it; the Markdown and math inside are rendered as usual)."""
    return (f"<details>\n<summary><b>Solution</b> (click to show)</summary>\n\n{markdown.strip()}\n\n"
            "</details>")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def render(nb: dict, index: PageIndex | None = None, hide_solutions: bool = False,
           glue: dict[str, dict] | None = None) -> dict:
    """The notebook a reader opens in Jupyter: see the module's docstring.

    ``glue``: name -> mime bundle of the page's glued values (myst-nb's ``<page>.glue.json``, whose
    entries are outputs); values glued in the notebook's own outputs are found too.
    """
    index = index or PageIndex()
    where = page_address(index.docname, index.address) if index.docname else None
    index.glued = {**glue_store(nb), **{k: (v.get("data", v) if isinstance(v, dict) else v)
                                        for k, v in (glue or {}).items()}}
    nb = strip_notebook(nb) if hide_solutions else split_notebook(nb)
    out_cells, exercises = [], 0
    for cell in nb.get("cells", []):
        cell = copy.deepcopy(cell)
        if cell["cell_type"] == "markdown":
            r = Renderer(index, exercises=exercises, directives=PAGE_DIRECTIVES)
            cell["source"] = r.markdown(_source(cell))
            if cell.get("metadata", {}).pop("cnnbook_solution", False):
                cell["source"] = fold_solution(cell["source"])
            exercises = r.exercises
            if r.attachments:
                cell["attachments"] = r.attachments
            cell.get("metadata", {}).pop("tags", None)
        elif cell["cell_type"] == "code":
            cell["source"] = without_myst_nb(_source(cell))
            tags = set(cell.get("metadata", {}).get("tags", []))
            outputs = [o for o in (_output(o, where) for o in cell.get("outputs", [])) if o is not None]
            cell["outputs"] = outputs
            solution = cell.setdefault("metadata", {}).pop("cnnbook_solution", False)
            jup = cell["metadata"].setdefault("jupyter", {})
            if tags & _HIDE_SOURCE or solution:             # a solution's code: folded, click to show
                jup["source_hidden"] = True
            if (tags & _HIDE_OUTPUT or solution) and outputs:
                jup["outputs_hidden"] = True
            if solution:
                cell["metadata"]["tags"] = sorted(set(cell["metadata"].get("tags", [])) | {"solution"})
        out_cells.append(cell)
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k not in ("jupytext", "mystnb", "widgets")}
    meta.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    return {"cells": out_cells, "metadata": meta, "nbformat": 4, "nbformat_minor": max(5, nb.get("nbformat_minor", 5))}


# ---------------------------------------------------------------------------------------------
# What a reader who runs the notebook needs to know first
# ---------------------------------------------------------------------------------------------

#: A call of :func:`cnnbook_lib.bench.machine.measured_on` that names the machine running the page
#: (not a shipped record's): the page measures when it runs.
MEASURES_HERE = re.compile(r"measured_on\(\s*(?:\)|threads\s*=|load\s*=|device\s*=)")


def measurement_note(nb: dict, glue: dict[str, dict] | None = None) -> str | None:
    """The note a page that measures on the machine running it opens with, in Markdown (``None``
    for a page that measures nothing): the numbers in its prose were measured when the book was
    built, on the machine the page named then (its glued ``measured on ...`` line), and a re-run
    times the reader's machine, so its tables and figures will differ from the prose."""
    if not any(cell.get("cell_type") == "code" and MEASURES_HERE.search(_source(cell))
               for cell in nb.get("cells", [])):
        return None
    store = {**glue_store(nb), **{k: (v.get("data", v) if isinstance(v, dict) else v)
                                  for k, v in (glue or {}).items()}}
    machines = [text for text in (_text(bundle) for bundle in store.values() if isinstance(bundle, dict))
                if text.startswith("measured on ")]
    machine = machines[0][len("measured on "):] if machines else "the machine that built the book"
    return ("> **Measured when the book was built.** The times and speeds quoted in this page's text "
            f"were measured when the book was built, on {machine}. The cells that measure time your "
            "machine when you run them: their tables and figures will show your numbers, which differ "
            "(another processor, other threads, another load), while the text keeps the book's.")


def _title_cell(cells: list[dict]) -> int:
    """The index of the cell with the page's title (a level-1 heading), else -1."""
    return next((i for i, c in enumerate(cells)
                 if c.get("cell_type") == "markdown" and re.search(r"^# ", _source(c), re.M)), -1)


#: The PyTorch index of CPU-only builds (pip's default torch on Linux is the CUDA build, several GB).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def install_source(version: str, repository_url: str | None = None, ref: str | None = None) -> str:
    """The code of a downloaded notebook's first cell: it installs the book's library, cnnbook-lib
    ``version``, from the book's repository at ``ref`` (the commit the book was built from, else its
    branch) unless the library is already installed, and states the route to a CPU-only torch."""
    if repository_url:
        spec = f"cnnbook-lib @ git+{repository_url.rstrip('/')}" + (f"@{ref}" if ref else "")
    else:
        spec = f"cnnbook-lib=={version}"
    return "\n".join([
        f"# Set-up: run this cell first (in Colab, or in any fresh Python environment). It installs the",
        f"# book's library, cnnbook-lib {version}, the version this notebook was built with, and all that",
        "# this notebook imports, unless the library is already installed.",
        "# PyTorch comes with it. On Linux pip's default torch is the CUDA build (several GB); for the",
        "# CPU-only build, which is all the book needs, run this first:",
        f"#     pip install torch --index-url {TORCH_CPU_INDEX}",
        "import importlib.util, subprocess, sys",
        "if importlib.util.find_spec(\"cnnbook_lib\") is None:",
        f"    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"{spec}\"])",
        "import cnnbook_lib",
        f"if cnnbook_lib.__version__ != \"{version}\":",
        f"    print(f\"This notebook was built with cnnbook-lib {version}; you have {{cnnbook_lib.__version__}}.\")",
    ])


def for_download(nb: dict, *, measured: str | None = None, install: str | None = None) -> dict:
    """A rendered notebook (:func:`render`) as a reader downloads it: the measurement note
    (:func:`measurement_note`) under its title when the page measures, and first of all the
    install cell (:func:`install_source`) when ``install`` is given."""
    nb = copy.deepcopy(nb)
    if measured:
        cell = {"cell_type": "markdown", "metadata": {}, "source": measured}
        nb["cells"].insert(_title_cell(nb["cells"]) + 1, cell)
    if install:
        nb["cells"].insert(0, {"cell_type": "code", "execution_count": None, "outputs": [],
                               "metadata": {"tags": ["install"]}, "source": install})
    return nb


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
    sections = {label: entry[2] for label, entry in
                app.env.domaindata.get("std", {}).get("labels", {}).items() if entry[2]}
    hide = bool(getattr(app.config, "hide_solutions", False))
    pages = {doc: (outdir / f"{doc}.html").read_text(encoding="utf-8")
             for doc in app.env.found_docs if (outdir / f"{doc}.html").exists()}
    book = "".join(pages.values())
    options = getattr(app.config, "html_theme_options", None) or {}
    address = book_address(getattr(app.config, "html_baseurl", ""), options.get("repository_url"))
    install = install_source(_version(), options.get("repository_url"),
                             _commit(app.srcdir) or options.get("repository_branch"))
    for doc in sorted(app.env.found_docs):
        src = sources / f"{doc}.ipynb"
        if not src.exists():
            continue
        index = PageIndex(pages.get(doc, ""), titles, doc, book_html=book, sections=sections)
        index.address = address
        glue_file = executed / f"{doc}.glue.json"
        glue = json.loads(glue_file.read_text(encoding="utf-8")) if glue_file.exists() else {}
        page_nb = json.loads(src.read_text(encoding="utf-8"))
        nb = for_download(render(page_nb, index, hide_solutions=hide, glue=glue),
                          measured=measurement_note(page_nb, glue), install=install)
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        src.write_text(text, encoding="utf-8")
        target = notebooks / f"{doc}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _version() -> str:
    from . import __version__
    return __version__


def _commit(folder) -> str | None:
    """The commit the book is built from (``None`` outside a git checkout)."""
    import subprocess
    try:
        run = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout.strip() if run.returncode == 0 and run.stdout.strip() else None


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
