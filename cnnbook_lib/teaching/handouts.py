"""Handouts: one solution-free notebook per chapter's exercises page, runnable anywhere.

    python -m cnnbook_lib.teaching.handouts OUTDIR [--root BOOK]

For each exercises page (``chapters/*/*exercises*.md``, or ``chapters/*exercises*.md``) it writes
``OUTDIR/chapter-NN-exercises.ipynb``:

- the solutions removed (:mod:`.solutions`);
- MyST turned into plain Markdown that JupyterLab, VS Code and Colab display, by
  :mod:`cnnbook_lib.myst` as in the downloadable notebooks: exercises become numbered headings,
  admonitions quotes, ``{glue}`` roles and directives the values the page computes (the page's
  code is run once to get them), ``{eq}`` references the equation's number as the book's last HTML
  build shows it (``_build/html``; without a build its LaTeX, or the section that holds it),
  ``{doc}`` and ``{ref}`` the title or text (a ``{doc}`` a link to the page in the online book when
  ``_config.yml`` gives its address), ``{cite}`` the labels the book shows;
- a first cell that installs the library where it is missing, as the downloaded notebooks' first
  cell does, and imports it (``import cnnbook_lib`` is all it needs: no path into the
  repository), the page's setup cells kept (myst-nb's ``glue`` replaced by
  :func:`cnnbook_lib.glue.glue`, which records nothing without myst-nb), and under
  each exercise one answer cell per automatic check, which runs as handed out.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sys

import nbformat

from .. import myst
from .solutions import strip_notebook

CHECK_ID = re.compile(r"""check\(\s*["'](?P<id>[\w.-]+)["']""")


def book_root() -> pathlib.Path:
    """The book's folder (the one that holds ``chapters/``) of this checkout of the library."""
    return pathlib.Path(__file__).resolve().parents[2]


def exercise_pages(root: pathlib.Path) -> list[pathlib.Path]:
    """Every exercises page of the book, in chapter order."""
    chapters = root / "chapters"
    return sorted(set(chapters.glob("*/*exercises*.md")) | set(chapters.glob("*exercises*.md")))


def _title(path: pathlib.Path) -> str | None:
    """The first level-1 heading of a MyST page."""
    if not path.exists():
        return None
    match = re.search(r"^# (.+)$", path.read_text(encoding="utf-8"), re.M)
    return match[1].strip() if match else None


def _chapter(page: pathlib.Path, root: pathlib.Path) -> tuple[str, str | None]:
    """(number, title) of the chapter a page belongs to, e.g. ("01", "Convolution: ...")."""
    folder = page.parent
    number = folder.name if folder.name.isdigit() else re.match(r"\d*", page.stem)[0] or page.stem
    overview = sorted((root / "chapters").glob(f"{number}_*.md"))
    return number, _title(overview[0]) if overview else None


# --- glued values -----------------------------------------------------------------------------

def glued_values(nb: dict, cwd: pathlib.Path, timeout: int = 300) -> dict[str, dict]:
    """Run a page's code (a notebook) and return what it glues: name -> output data bundle."""
    from nbclient import NotebookClient

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
                values[name] = {k[len(prefix):] if k.startswith(prefix) else k: v
                                for k, v in output.get("data", {}).items()}
    return values


def _build_glue(root: pathlib.Path) -> dict[str, dict]:
    """Glued values the last build of the book recorded (``_build/jupyter_execute``), if any."""
    values = {}
    for path in sorted((root / "_build" / "jupyter_execute").rglob("*.glue.json")):
        try:
            for name, output in json.loads(path.read_text(encoding="utf-8")).items():
                values[name] = output.get("data", {})
        except (ValueError, AttributeError):
            continue
    return values


# --- what the text refers to ------------------------------------------------------------------

class SourceReferences(myst.References):
    """The :class:`~cnnbook_lib.myst.References` of a handout, read from the book's sources:
    glued values, the labels of every chapter page (an equation's LaTeX, a section's title), page
    titles and the bibliography's labels. Numbers are left to the book (a handout has none)."""

    def __init__(self, root: pathlib.Path, glue: dict[str, dict], folder: pathlib.Path):
        super().__init__()
        self.root, self.folder, self.glued = root, folder, glue     # folder: {doc} targets
        self.labels: dict[str, tuple[pathlib.Path, myst.Label]] = {}
        for page in sorted((root / "chapters").rglob("*.md")):
            for label, found in myst.labels(page.read_text(encoding="utf-8")).items():
                self.labels[label] = (page, found)
        self.bib: dict[str, tuple[str, str]] = {}
        for path in _bib_files(root):
            self.bib.update(myst.bibliography(str(path)))
        self.address = _address(root)
        self.built = _built_numbers(root)

    def glue(self, key: str) -> dict | None:
        return self.glued.get(key)

    def citation(self, keys: list[str]) -> list[tuple[str, str]] | None:
        return [self.bib[k] for k in keys] if all(k in self.bib for k in keys) else None

    def equation_latex(self, label: str) -> str | None:
        _, found = self.labels.get(label, (None, None))
        if found is None or found.kind != "equation":
            return None
        return myst.glue_latex(self.glued.get(found.glue)) if found.glue else found.latex

    def equation_number(self, label: str) -> str | None:
        return self.built.equation_number(label) if self.built else None

    def number(self, label: str) -> str | None:
        return self.built.number(label) if self.built else None

    def title(self, label: str) -> str | None:
        _, found = self.labels.get(label, (None, None))
        return found.title if found is not None and found.kind == "section" else None

    def where(self, label: str) -> str | None:
        page, _ = self.labels.get(label, (None, None))
        return _title(page) if page else None

    def _doc(self, target: str) -> pathlib.Path:
        path = self.root / target.lstrip("/") if target.startswith("/") else self.folder / target
        return pathlib.Path(os.path.abspath(path.with_suffix(".md")))

    def doc_title(self, target: str) -> str | None:
        return _title(self._doc(target))

    def doc_url(self, target: str) -> str | None:
        path, root = self._doc(target), pathlib.Path(os.path.abspath(self.root))
        if not self.address or not path.exists() or not path.is_relative_to(root):
            return None
        return f"{self.address}{path.relative_to(root).with_suffix('').as_posix()}.html"


def _config(root: pathlib.Path) -> dict:
    config = root / "_config.yml"
    if not config.exists():
        return {}
    import yaml
    return yaml.safe_load(config.read_text(encoding="utf-8")) or {}


def _address(root: pathlib.Path) -> str | None:
    """The online book's address (``html.baseurl``, else the repository's GitHub Pages address)."""
    from ..notebooks import book_address

    config = _config(root)
    return book_address((config.get("html") or {}).get("baseurl"), (config.get("repository") or {}).get("url"))


def _install_cell(root: pathlib.Path) -> str:
    """The handout's first code cell: the downloaded notebooks' install cell (the library at this
    version, from the book's repository at this checkout's commit, unless it is installed)."""
    from .. import __version__
    from ..notebooks import _commit, install_source

    repository = _config(root).get("repository") or {}
    return install_source(__version__, repository.get("url"), _commit(root) or repository.get("branch"))


def _built_numbers(root: pathlib.Path):
    """The equation, figure and exercise numbers of the book's last HTML build (``_build/html``), as
    a :class:`~cnnbook_lib.notebooks.PageIndex`; ``None`` without a build."""
    from ..notebooks import PageIndex

    pages = sorted((root / "_build" / "html" / "chapters").rglob("*.html"))
    if not pages:
        return None
    return PageIndex(book_html="".join(p.read_text(encoding="utf-8", errors="replace") for p in pages))


def _bib_files(root: pathlib.Path) -> list[pathlib.Path]:
    """The BibTeX files ``_config.yml`` names (``bibtex_bibfiles``)."""
    names = _config(root).get("bibtex_bibfiles", [])
    return [root / name for name in names if (root / name).exists()]


# --- the handout --------------------------------------------------------------------------------

def _code(cell_source: str) -> str:
    from ..glue import without_myst_nb

    return without_myst_nb(cell_source)


def handout(page: pathlib.Path, root: pathlib.Path | None = None, *, glue: dict | None = None,
            book_title: str | None = None) -> nbformat.NotebookNode:
    """The handout notebook of one exercises page."""
    import jupytext

    from ..exercises import CHECKS

    root = pathlib.Path(root) if root else book_root()
    page = pathlib.Path(page)
    nb = strip_notebook(jupytext.read(page))
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    if glue is None:
        glue = _build_glue(root)
        if re.search(r"\{glue", sources) and any("glue(" in "".join(c["source"])
                                                   for c in nb["cells"] if c["cell_type"] == "code"):
            glue.update(glued_values(nb, page.parent))
    refs = SourceReferences(root, glue, page.parent)
    number, chapter = _chapter(page, root)
    renderer = myst.Renderer(refs, exercise_prefix=f"{int(number)}." if number.isdigit() else "")
    title = _title(page) or "Exercises"
    cells = [nbformat.v4.new_markdown_cell(
        f"# {f'Chapter {int(number)}: ' if number.isdigit() else ''}{title}\n\n"
        + (f"*{chapter}*" + (f", from *{book_title}*" if book_title else "") + ".\n\n"
           if chapter else "")
        + "A handout without solutions. Run the cells from the top; under each exercise with an "
        "automatic check, put your number in place of `...` and run the cell: the check says "
        "whether it is right and, if not, which typical mistake it matches."),
        nbformat.v4.new_code_cell(_install_cell(root) + "\nfrom cnnbook_lib.exercises import check")]
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            tags = [t for t in cell.get("metadata", {}).get("tags", [])
                    if t not in ("remove-cell", "remove-input", "hide-input", "hide-cell")]
            new = nbformat.v4.new_code_cell(_code(source))
            if tags:
                new.metadata["tags"] = tags
            cells.append(new)
            continue
        if title and re.match(rf"^# {re.escape(title)}\s*$", source.split("\n", 1)[0]):
            source = source.split("\n", 1)[1] if "\n" in source else ""   # the handout's title
        # one Markdown cell per exercise, each followed by its answer cells
        for part in re.split(r"(?m)^(?=[ \t]*(?:`{3,}|:{3,})\{exercise\})", source):
            if not part.strip():
                continue
            renderer.attachments = {}
            text = renderer.markdown(part)
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(text))
                if renderer.attachments:
                    cells[-1].attachments = renderer.attachments
            if myst.OPENING.match(part.lstrip("\n").splitlines()[0]) and "{exercise}" in part:
                exercise_text = part.split("\n", 1)[1]
                ids = list(dict.fromkeys(m["id"] for m in CHECK_ID.finditer(exercise_text)))
                if not ids:
                    cells.append(nbformat.v4.new_code_cell("# your work"))
                for check_id in ids:
                    question = CHECKS[check_id].question if check_id in CHECKS else ""
                    cells.append(nbformat.v4.new_code_cell(
                        f"answer = ...   # your number{': ' + question if question else ''}\n"
                        f'check("{check_id}", answer)'))
    out = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    nbformat.validate(out)
    return out


def handout_name(page: pathlib.Path, root: pathlib.Path) -> str:
    """The handout's file name, e.g. ``chapter-01-exercises.ipynb``."""
    number, _ = _chapter(page, root)
    return f"chapter-{number}-exercises.ipynb" if number.isdigit() else f"{page.stem}.ipynb"


def write_handouts(outdir, root=None) -> list[pathlib.Path]:
    """Write every exercises page's handout into ``outdir``; returns the paths written."""
    import yaml

    root = pathlib.Path(root) if root else book_root()
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    config = root / "_config.yml"
    book_title = yaml.safe_load(config.read_text(encoding="utf-8")).get("title") \
        if config.exists() else None
    pages = exercise_pages(root)
    if not pages:
        raise FileNotFoundError(f"no exercises page (chapters/*/*exercises*.md) under {root}")
    written = []
    for page in pages:
        path = outdir / handout_name(page, root)
        nbformat.write(handout(page, root, book_title=book_title), path)
        written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook_lib.teaching.handouts",
                                     description="Write one solution-free notebook per chapter's "
                                                 "exercises page.")
    parser.add_argument("outdir", help="folder for the notebooks (created if missing)")
    parser.add_argument("--root", default=None, help="the book's folder (default: this checkout)")
    args = parser.parse_args(argv)
    for path in write_handouts(args.outdir, args.root):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
