"""Handouts: one solution-free notebook per chapter's exercises page, runnable anywhere.

    python -m cnnbook_lib.teaching.handouts OUTDIR [--root BOOK]

For each exercises page (``chapters/*/*exercises*.md``, or ``chapters/*exercises*.md``) it writes
``OUTDIR/chapter-NN-exercises.ipynb``:

- the solutions removed (:mod:`.solutions`);
- MyST turned into plain Markdown that JupyterLab, VS Code and Colab display: exercises become
  numbered headings, admonitions quotes, ``{glue}`` roles and directives the values the page
  computes (the page's code is run once to get them), ``{eq}`` references the equation they
  name (or the section that holds it), ``{doc}`` and ``{ref}`` the title or text, ``{cite}`` the
  citation key;
- a first cell that imports the library (``import cnnbook_lib`` is all it needs: no path into the
  repository), the page's setup cells kept (myst-nb's ``glue`` replaced by a no-op), and under
  each exercise one answer cell per automatic check, which runs as handed out.
"""
from __future__ import annotations

import argparse
import ast
import json
import pathlib
import re
import sys

import nbformat

from .solutions import OPENING, _closes, strip_notebook

ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
               "error", "seealso", "admonition"}
ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<text>[^`]*)`")
CHECK_ID = re.compile(r"""check\(\s*["'](?P<id>[\w.-]+)["']""")
NO_OP_GLUE = "def glue(name, value, display=True):   # the book's glue: not needed in a handout\n" \
             "    return None"


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


def _plain(bundle: dict | None, fmt: str = "") -> str | None:
    """A glued value as text, formatted with ``fmt`` when it is a number."""
    if not bundle or "text/plain" not in bundle:
        return None
    text = "".join(bundle["text/plain"]) if isinstance(bundle["text/plain"], list) \
        else bundle["text/plain"]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None if text.startswith("<") else text          # an object's repr says nothing
    if fmt:
        try:
            return format(value, fmt)
        except (TypeError, ValueError):
            pass
    return str(value)


def _latex(bundle: dict | None) -> str | None:
    """A glued equation as LaTeX without its $ delimiters."""
    if not bundle or "text/latex" not in bundle:
        return None
    text = "".join(bundle["text/latex"]) if isinstance(bundle["text/latex"], list) \
        else bundle["text/latex"]
    return text.strip().strip("$").replace(r"\displaystyle", "").strip()


# --- equations and pages the text refers to ----------------------------------------------------

def equation_labels(root: pathlib.Path) -> dict[str, tuple[pathlib.Path, str, str]]:
    """label -> (page, kind, payload): kind "latex" (payload the equation) or "glue" (its name)."""
    labels = {}
    for page in sorted((root / "chapters").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r"^[`:]{3,}\{(?P<name>math|glue:math)\}(?P<arg>[^\n]*)\n"
                             r"(?P<opts>(?::[^\n]*\n)*)(?P<body>.*?)^[`:]{3,}\s*$", text, re.M | re.S):
            label = re.search(r"^:label:\s*(\S+)", m["opts"], re.M)
            if label:
                kind = "glue" if m["name"] == "glue:math" else "latex"
                labels[label[1]] = (page, kind, m["arg"].strip() if kind == "glue" else m["body"])
        for m in re.finditer(r"\$\$(?P<body>.+?)\$\$\s*\((?P<label>[\w.-]+)\)", text, re.S):
            labels[m["label"]] = (page, "latex", m["body"])
    return labels


class _Context:
    """What the Markdown conversion needs: glued values, equation labels, the book's root."""

    def __init__(self, root: pathlib.Path, glue: dict[str, dict], folder: pathlib.Path):
        self.root = root
        self.folder = folder                               # the page's folder ({doc} targets)
        self.glue = glue
        self.labels = equation_labels(root)
        self.exercises = 0
        self.prefix = ""                                   # "1." for exercise 1.3 of chapter 1

    def equation(self, label: str) -> str:
        page, kind, payload = self.labels.get(label, (None, "", ""))
        latex = _latex(self.glue.get(payload)) if kind == "glue" else " ".join(payload.split())
        if latex:
            return f"${latex}$"
        title = _title(page) if page else None
        return f"the equation in the book's section “{title}”" if title else "the book's equation"

    def role(self, match: re.Match) -> str:
        name, text = match["name"], match["text"]
        target = re.search(r"<([^>]+)>\s*$", text)
        shown = text[: target.start()].strip() if target else None
        if name.startswith("glue"):
            key, _, fmt = text.partition(":")
            bundle = self.glue.get(key.strip())
            if name == "glue:math":
                latex = _latex(bundle)
                return f"${latex}$" if latex else "(see the book)"
            value = _plain(bundle, fmt)
            return value if value is not None else "(see the book)"
        if name == "eq":
            return self.equation(text.strip())
        if name == "doc":
            if shown:
                return shown
            target = self.root / text.lstrip("/") if text.startswith("/") else self.folder / text
            return _title(target.with_suffix(".md")) or text
        if name in ("ref", "numref", "term", "abbr"):
            return shown or text
        if name.startswith("cite"):
            return "[" + ", ".join(k.strip() for k in text.split(",")) + "]"
        if name == "math":
            return f"${text}$"
        if name in ("sub", "sup"):
            return f"<{name}>{text}</{name}>"
        return f"`{text}`"


def _directive_block(lines: list[str], i: int) -> tuple[re.Match, list[str], dict, int]:
    """The directive opening at line i: (match, body lines, options, index after its close)."""
    match = OPENING.match(lines[i])
    fence = match["fence"]
    j, options, body = i + 1, {}, []
    while j < len(lines) and re.match(r"^\s*:[\w-]+:", lines[j]):
        key, _, value = lines[j].strip()[1:].partition(":")
        options[key] = value.strip()
        j += 1
    inner: list[str] = []                                # fences opened inside the body
    while j < len(lines):
        line = lines[j]
        opening = re.match(r"^\s*(?P<fence>`{3,}|:{3,})", line)
        if inner and _closes(line, inner[-1]):
            inner.pop()
        elif not inner and _closes(line, fence):
            return match, body, options, j + 1
        elif opening:
            inner.append(opening["fence"])
        body.append(line)
        j += 1
    raise ValueError(f"directive {match['name']!r} is not closed")


def markdown(text: str, ctx: _Context) -> str:
    """MyST text as plain Markdown (Jupyter's CommonMark with $ math)."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^\s*\([\w.-]+\)=\s*$", line) or re.match(r"^\s*%", line):
            i += 1                                          # targets and comments
            continue
        if not OPENING.match(line):
            out.append(ROLE.sub(ctx.role, line))
            i += 1
            continue
        match, body, options, i = _directive_block(lines, i)
        out += _directive(match, body, options, ctx)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def _directive(match: re.Match, body: list[str], options: dict, ctx: _Context) -> list[str]:
    name, arg = match["name"], match["arg"].strip()
    inner = markdown("\n".join(body), ctx)
    if name == "exercise":
        ctx.exercises += 1
        title = f": {ROLE.sub(ctx.role, arg)}" if arg else ""
        return ["", f"### Exercise {ctx.prefix}{ctx.exercises}{title}", "", inner, ""]
    if name in ADMONITIONS:
        heading = ROLE.sub(ctx.role, arg) if name == "admonition" else (arg or name.capitalize())
        quoted = [f"> {l}" if l else ">" for l in inner.splitlines()]
        return ["", f"> **{heading}**", ">", *quoted, ""]
    if name in ("math", "glue:math"):
        latex = _latex(ctx.glue.get(arg)) if name == "glue:math" else "\n".join(body).strip()
        return ["", f"$$\n{latex}\n$$" if latex else "(an equation: see the book)", ""]
    if name in ("code-block", "code", "sourcecode"):
        return [f"```{arg}", *body, "```"]
    if name in ("glue", "glue:any", "glue:text"):
        value = _plain(ctx.glue.get(arg))
        return ["", value if value is not None else "(see the book)", ""]
    if name in ("figure", "glue:figure", "image"):
        caption = inner.strip()
        return ["", f"*Figure: {caption} (see the book)*" if caption else "", ""]
    return ["", inner, ""]


# --- the handout --------------------------------------------------------------------------------

def _code(cell_source: str) -> str:
    return re.sub(r"^[ \t]*from myst_nb import glue[ \t]*$", NO_OP_GLUE, cell_source, flags=re.M)


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
    ctx = _Context(root, glue, page.parent)
    number, chapter = _chapter(page, root)
    ctx.prefix = f"{int(number)}." if number.isdigit() else ""
    title = _title(page) or "Exercises"
    cells = [nbformat.v4.new_markdown_cell(
        f"# {f'Chapter {int(number)}: ' if number.isdigit() else ''}{title}\n\n"
        + (f"*{chapter}*" + (f", from *{book_title}*" if book_title else "") + ".\n\n"
           if chapter else "")
        + "A handout without solutions. Run the cells from the top; under each exercise with an "
        "automatic check, put your number in place of `...` and run the cell: the check says "
        "whether it is right and, if not, which typical mistake it matches."),
        nbformat.v4.new_code_cell(
            "# The book's library is all this notebook needs: pip install it if this fails.\n"
            "import cnnbook_lib\nfrom cnnbook_lib.exercises import check")]
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
            text = markdown(part, ctx)
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(text))
            if OPENING.match(part.lstrip("\n").splitlines()[0]) and "{exercise}" in part:
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
