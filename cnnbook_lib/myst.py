"""MyST Markdown, read once for the whole library: the parser, and the renderer to plain Markdown.

The book's pages are MyST Markdown. Three things read them outside Sphinx: the downloadable
notebooks (:mod:`cnnbook_lib.notebooks`), the handouts (:mod:`cnnbook_lib.teaching.handouts`) and
the removal of solutions (:mod:`cnnbook_lib.teaching.solutions`). They share this module:

* the **parser**: :data:`OPENING` (a directive's opening fence), :func:`closes` (its closing
  fence), :data:`ROLE`, :data:`TARGET`, :func:`parse` (a text as lines and :class:`Directive`
  blocks, nested fences kept inside their directive) and :func:`labels` (what the labels of a page
  name: equations, figures, sections);
* the **renderer** :class:`Renderer`: MyST to the Markdown that JupyterLab, VS Code and Colab
  display (CommonMark, ``$`` math, a little HTML). Each role and each directive is one method in
  a table (:data:`Renderer.ROLES`, :data:`Renderer.DIRECTIVES`), so a citation, a cross-reference
  or an admonition looks the same in a notebook and in a handout. What the text alone cannot say
  (a glued value, an equation's number, a citation's label) it asks a :class:`References` object,
  which the notebooks fill from the built HTML page and the handouts from the book's sources.

How each construct is rendered:

=====================  ==========================================================================
``{glue:text}`k:fmt``  the glued value (formatted with ``fmt``), or "(see the book)"
``{glue:math}`` role   the glued equation in ``$...$``
glue:md                the glued Markdown (its MyST rendered too with ``:format: myst``)
``{cite}`a,b```        the labels the book shows, ``[DV16; HZRS16]`` (the keys if unknown)
``{eq}`label```        the equation's number ``(1.6)``; else its LaTeX ``$...$``; else "the book's
                       equation"
``{numref}```          the number (``Fig. 1.1``; ``%s`` in an explicit text replaced by it)
``{ref}``, ``{doc}``   the explicit text, else the section's or the page's title (a ``{doc}`` a
                       link to the page when its online address is known)
``{math}``             ``$...$``; ``{sub}``/``{sup}``: ``<sub>``/``<sup>``; ``{code}``: backticks
exercise               a heading ``### Exercise 1.3: title`` and the exercise's text
admonitions            a quote headed by the title in bold
math, glue:math        ``$$ ... $$``, tagged with the equation's number when it is known
figure, glue:figure    the image (a cell attachment) when it is at hand, and the caption
code-block             a fenced code block
solution (shown)       "**Solution**" and its text; ``solution-end`` leaves nothing
bibliography           the references cited above it, else a pointer to the References page
toctree and the like   nothing
=====================  ==========================================================================
"""
from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

# ---------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------

#: The opening line of a directive, backtick or colon fence: ```` ```{name} argument ````.
OPENING = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:.-]+)\}(?P<arg>.*)$")
#: A role: ``{name}`text```.
ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<body>[^`]*)`")
#: A target line: ``(label)=``.
TARGET = re.compile(r"^\s*\((?P<label>[\w:.-]+)\)=\s*$")
#: A comment line: ``% text``.
COMMENT = re.compile(r"^\s*%")
_OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):(?P<value>.*)$")
_ANY_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})")


def closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened with ``fence`` (the same character, at least as
    many times, nothing else on the line)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


@dataclass
class Directive:
    """One directive: ``name``, the ``arg`` after it, its ``:key: value`` ``options`` and the
    lines of its ``body`` (nested directives and code fences still in it)."""

    name: str
    arg: str = ""
    options: dict[str, str] = field(default_factory=dict)
    body: list[str] = field(default_factory=list)
    fence: str = "```"

    @property
    def text(self) -> str:
        """The body as one string."""
        return "\n".join(self.body)


def directive_at(lines: list[str], i: int) -> tuple[Directive, int]:
    """The directive that opens at ``lines[i]`` and the index of the line after its close.

    Fences opened inside the body (nested directives, code blocks) are matched before the
    directive's own closing fence. Raises ``ValueError`` if the directive is not closed."""
    match = OPENING.match(lines[i])
    if not match:
        raise ValueError(f"line {i + 1} opens no directive: {lines[i]!r}")
    d = Directive(match["name"], match["arg"].strip(), fence=match["fence"])
    j = i + 1
    while j < len(lines) and (option := _OPTION.match(lines[j])):
        d.options[option["key"]] = option["value"].strip()
        j += 1
    inner: list[str] = []                                # fences opened inside the body
    while j < len(lines):
        line = lines[j]
        if inner and closes(line, inner[-1]):
            inner.pop()
        elif not inner and closes(line, d.fence):
            return d, j + 1
        elif opening := _ANY_FENCE.match(line):
            inner.append(opening["fence"])
        d.body.append(line)
        j += 1
    raise ValueError(f"directive {d.name!r} is not closed")


def parse(text: str) -> list[str | Directive]:
    """The top-level blocks of ``text``: each line outside a directive as a string, each directive
    as a :class:`Directive`."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        if OPENING.match(lines[i]):
            d, i = directive_at(lines, i)
            out.append(d)
        else:
            out.append(lines[i])
            i += 1
    return out


def walk(text: str) -> Iterator[str | Directive]:
    """Every line and every directive of ``text``, nested directives included (a directive is
    yielded before the blocks of its body)."""
    for block in parse(text):
        yield block
        if isinstance(block, Directive):
            yield from walk(block.text)


def role_target(body: str) -> tuple[str, str]:
    """``"text <target>"`` as ``("text", "target")``; ``"target"`` as ``("", "target")``."""
    m = re.match(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", body, re.S)
    return (m["text"].strip(), m["target"].strip()) if m else ("", body.strip())


@dataclass
class Label:
    """What a label of a page names: ``kind`` is ``"equation"``, ``"figure"``, ``"exercise"`` or
    ``"section"``; ``latex`` the equation (or ``glue`` the name of a glued one); ``title`` a
    section's heading or a figure's caption."""

    kind: str
    latex: str = ""
    glue: str = ""
    title: str = ""


def labels(text: str) -> dict[str, Label]:
    """The labels one MyST page defines: ``math`` and ``glue:math`` directives with ``:label:``,
    ``$$ ... $$ (label)`` equations, figures with ``:name:``, exercises with ``:label:`` and
    targets ``(label)=`` before a heading."""
    found: dict[str, Label] = {}
    blocks = list(walk(text))
    for i, block in enumerate(blocks):
        if isinstance(block, Directive):
            label = block.options.get("label") or block.options.get("name")
            if not label:
                continue
            if block.name == "math":
                found[label] = Label("equation", latex=block.text.strip())
            elif block.name == "glue:math":
                found[label] = Label("equation", glue=block.arg)
            elif block.name in ("figure", "glue:figure"):
                found[label] = Label("figure", title=block.text.strip())
            elif block.name == "exercise":
                found[label] = Label("exercise", title=block.arg)
        elif m := TARGET.match(block):
            heading = next((b for b in blocks[i + 1:] if isinstance(b, str) and b.strip()), "")
            if h := re.match(r"^#+\s+(.*)$", heading):
                found.setdefault(m["label"], Label("section", title=h[1].strip()))
    for m in re.finditer(r"\$\$(?P<body>.+?)\$\$\s*\((?P<label>[\w.:-]+)\)", text, re.S):
        found[m["label"]] = Label("equation", latex=" ".join(m["body"].split()))
    return found


@functools.lru_cache(maxsize=8)
def bibliography(path: str) -> dict[str, tuple[str, str]]:
    """The entries of a BibTeX file as the book shows them: key -> (label, full reference), in
    the ``alpha`` style of sphinxcontrib-bibtex (``DV16``). Empty if the file or pybtex is
    missing."""
    try:
        import pybtex.database
        from pybtex.plugin import find_plugin
        bib = pybtex.database.parse_file(path)
    except (ImportError, OSError):
        return {}
    style = find_plugin("pybtex.style.formatting", "alpha")()
    return {e.key: (e.label, e.text.render_as("text"))
            for e in style.format_entries(bib.entries.values())}


# ---------------------------------------------------------------------------------------------
# Glued values
# ---------------------------------------------------------------------------------------------

def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def glue_text(bundle: dict | None, spec: str = "") -> str | None:
    """A glued value as text (``None`` if there is none, or only an object's repr), formatted
    with ``spec`` when it is a number: ``glue_text({"text/plain": "0.1234"}, ".2f") == "0.12"``."""
    if not bundle or "text/plain" not in bundle:
        return None
    text = _joined(bundle["text/plain"])
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None if text.startswith("<") else text
    if spec:
        for candidate in (value, _number(value)):
            try:
                return format(candidate, spec)
            except (TypeError, ValueError):
                continue
    return str(value)


def _number(value):
    try:
        return float(value.replace(",", "")) if isinstance(value, str) else value
    except ValueError:
        return value


def glue_latex(bundle: dict | None) -> str | None:
    """A glued equation as LaTeX, without its ``$`` delimiters and ``\\displaystyle``."""
    if not bundle or "text/latex" not in bundle:
        return None
    tex = _joined(bundle["text/latex"]).strip()
    tex = tex[2:-2] if tex.startswith("$$") and tex.endswith("$$") else tex.strip("$")
    return tex.replace("\\displaystyle", "").strip()


# ---------------------------------------------------------------------------------------------
# The renderer
# ---------------------------------------------------------------------------------------------

class References:
    """What the renderer cannot read from the text. Every method returns ``None`` when it does
    not know; subclasses fill in what they can (the built page, the book's sources).
    ``cited`` collects the references cited so far (label -> full reference), for a
    bibliography further down the page."""

    def __init__(self) -> None:
        self.cited: dict[str, str] = {}

    def glue(self, key: str) -> dict | None:
        """The mime bundle glued under ``key``."""
        return None

    def citation(self, keys: list[str]) -> list[tuple[str, str]] | None:
        """The (label, full reference) pairs the book shows for a ``{cite}`` of ``keys``."""
        return None

    def equation_number(self, label: str) -> str | None:
        """An equation's number, ``"1.6"``."""
        return None

    def equation_latex(self, label: str) -> str | None:
        """An equation's LaTeX."""
        return None

    def number(self, label: str) -> str | None:
        """The number of a figure, table or exercise as the book prints it, ``"Fig. 1.1"``."""
        return None

    def title(self, label: str) -> str | None:
        """The title of the section a ``{ref}`` label names."""
        return None

    def doc_title(self, target: str) -> str | None:
        """The title of the page a ``{doc}`` target names."""
        return None

    def doc_url(self, target: str) -> str | None:
        """The online address of the page a ``{doc}`` target names (a link in the Markdown)."""
        return None

    def where(self, label: str) -> str | None:
        """The title of the page or section that holds ``label`` (to point at an equation
        whose number and LaTeX are unknown)."""
        return None


ADMONITIONS = {"admonition": "", "note": "Note", "tip": "Tip", "hint": "Hint",
               "important": "Important", "warning": "Warning", "caution": "Caution",
               "attention": "Attention", "danger": "Danger", "error": "Error", "seealso": "See also"}
MISSING = "(see the book)"


def quote(text: str) -> str:
    """``text`` as a Markdown quote."""
    return "\n".join("> " + line if line else ">" for line in text.strip().split("\n"))


class Renderer:
    """MyST to plain Markdown (see the module's docstring for what becomes what).

    ``refs``: a :class:`References`. ``exercise_prefix``: the chapter's number and a dot
    (``"1."``) for exercises whose number the references do not know. ``exercises``: how many
    exercises came before (numbering continues from it). ``directives``: extra directive
    handlers, name -> function of (renderer, directive) returning Markdown.
    """

    def __init__(self, refs: References | None = None, *, exercise_prefix: str = "",
                 exercises: int = 0,
                 directives: dict[str, Callable[["Renderer", Directive], str]] | None = None):
        self.refs = refs or References()
        self.exercise_prefix, self.exercises = exercise_prefix, exercises
        self.extra = dict(directives or {})
        self.attachments: dict[str, dict] = {}       # images embedded in the cell

    # -- roles ---------------------------------------------------------------------------------
    def inline(self, text: str) -> str:
        """``text`` with its roles rendered."""
        return ROLE.sub(lambda m: self.role(m["name"], m["body"]), text)

    def role(self, name: str, body: str) -> str:
        """One role as Markdown."""
        if name.startswith("glue"):
            return self._glue_role(name, body)
        if name.startswith("cite"):
            return self._cite(body)
        handler = self.ROLES.get(name)
        return handler(self, body) if handler else role_target(body)[0] or body

    def _glue_role(self, name: str, body: str) -> str:
        key, _, spec = body.partition(":")
        bundle = self.refs.glue(key.strip())
        if name == "glue:math":
            latex = glue_latex(bundle)
            return f"${latex}$" if latex else MISSING
        value = glue_text(bundle, spec.strip())
        return value if value is not None else MISSING

    def _cite(self, body: str) -> str:
        keys = [k.strip() for k in body.split(",") if k.strip()]
        found = self.refs.citation(keys)
        if not found:
            return "[" + "; ".join(keys) + "]"
        for label, full in found:
            self.refs.cited[label] = full
        return "[" + "; ".join(label for label, _ in found) + "]"

    def _eq(self, body: str) -> str:
        label = body.strip()
        number = self.refs.equation_number(label)
        if number:
            return f"({number})"
        latex = self.refs.equation_latex(label)
        if latex:
            return f"${' '.join(latex.split())}$"
        where = self.refs.where(label)
        return f"the equation in the book's section “{where}”" if where else "the book's equation"

    def _numref(self, body: str) -> str:
        text, label = role_target(body)
        number = self.refs.number(label)
        if text:
            return text.replace("%s", number) if number else text.replace("%s", "").strip()
        return number or self.refs.title(label) or label

    def _ref(self, body: str) -> str:
        text, label = role_target(body)
        return text or self.refs.title(label) or self.refs.number(label) or label

    def _doc(self, body: str) -> str:
        text, target = role_target(body)
        title = text or self.refs.doc_title(target) or target
        url = self.refs.doc_url(target)
        return f"[{title}]({url})" if url else title

    ROLES: dict[str, Callable[["Renderer", str], str]] = {
        "eq": _eq, "numref": _numref, "ref": _ref, "doc": _doc,
        "math": lambda self, body: f"${body}$",
        "sub": lambda self, body: f"<sub>{body}</sub>",
        "sup": lambda self, body: f"<sup>{body}</sup>",
        "code": lambda self, body: f"`{body}`",
        "kbd": lambda self, body: f"`{body}`",
        "file": lambda self, body: f"`{body}`",
        "abbr": lambda self, body: body,
    }

    # -- directives ----------------------------------------------------------------------------
    def markdown(self, text: str) -> str:
        """``text`` (MyST) as Markdown."""
        out, code = [], None                         # code: the fence of a code block
        for block in parse(text):
            if isinstance(block, Directive):
                out += ["", self.directive(block), ""]
            elif code is not None:                    # a code block's lines stay as they are
                out.append(block)
                code = None if closes(block, code) else code
            elif fence := _ANY_FENCE.match(block):
                out.append(block)
                code = fence["fence"]
            elif not TARGET.match(block) and not COMMENT.match(block):
                out.append(self.inline(block))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")

    def directive(self, d: Directive) -> str:
        """One directive as Markdown."""
        if d.name in self.extra:
            return self.extra[d.name](self, d)
        if d.name in ADMONITIONS:
            return self._admonition(d)
        handler = self.DIRECTIVES.get(d.name)
        return handler(self, d) if handler else self.markdown(d.text)

    def _admonition(self, d: Directive) -> str:
        title = self.inline(d.arg) if d.name == "admonition" or d.arg else ADMONITIONS[d.name]
        inner = self.markdown(d.text)
        return quote(f"**{title}**\n\n{inner}" if title else inner)

    def _math(self, d: Directive) -> str:
        latex = glue_latex(self.refs.glue(d.arg)) if d.name == "glue:math" else d.text.strip()
        if not latex:
            return "(an equation: see the book)"
        number = self.refs.equation_number(d.options.get("label", ""))
        return f"$$\n{latex}" + (f" \\tag{{{number}}}" if number else "") + "\n$$"

    def _figure(self, d: Directive) -> str:
        caption = self.markdown(d.text).strip()
        number = self.refs.number(d.options.get("name", ""))
        bundle = self.refs.glue(d.arg) if d.name == "glue:figure" else None
        image = ""
        if bundle and "image/png" in bundle:
            name = re.sub(r"[^\w-]", "_", d.arg) + ".png"
            self.attachments[name] = {"image/png": _joined(bundle["image/png"])}
            alt = re.sub(r"[\[\]*_`]", "", caption.split(". ")[0])[:120] or d.arg
            image = f"![{alt}](attachment:{name})"
        text = f"{number or 'Figure'}: {caption}" if caption else (number or "")
        if text and not image:
            text += f" {MISSING}"
        return "\n\n".join(part for part in (image, f"*{text}*" if text else "") if part)

    def _exercise(self, d: Directive) -> str:
        self.exercises += 1
        number = (self.refs.number(d.options.get("label", ""))
                  or f"Exercise {self.exercise_prefix}{self.exercises}")
        title = f": {self.inline(d.arg)}" if d.arg else ""
        return f"### {number}{title}\n\n{self.markdown(d.text)}".strip()

    def _code(self, d: Directive) -> str:
        return "\n".join([f"```{d.arg}", *d.body, "```"])

    def _glue_directive(self, d: Directive) -> str:
        value = glue_text(self.refs.glue(d.arg))
        return value if value is not None else MISSING

    def _glue_markdown(self, d: Directive) -> str:
        bundle = self.refs.glue(d.arg) or {}
        if "text/markdown" not in bundle:
            return MISSING
        text = _joined(bundle["text/markdown"])
        return self.markdown(text) if d.options.get("format", "commonmark") == "myst" else text

    def _bibliography(self, d: Directive) -> str:
        if not self.refs.cited:
            return "*The references are listed on the book's References page.*"
        return "\n".join(f"* [{label}] {full}" for label, full in self.refs.cited.items())

    def _solution(self, d: Directive) -> str:
        return f"**Solution**\n\n{self.markdown(d.text)}".strip()

    DIRECTIVES: dict[str, Callable[["Renderer", Directive], str]] = {
        "math": _math, "glue:math": _math,
        "figure": _figure, "glue:figure": _figure, "image": _figure,
        "exercise": _exercise,
        "code-block": _code, "code": _code, "sourcecode": _code,
        "glue": _glue_directive, "glue:any": _glue_directive, "glue:text": _glue_directive,
        "glue:md": _glue_markdown,
        "bibliography": _bibliography,
        "solution": _solution, "solution-start": lambda self, d: "**Solution**",
        "solution-end": lambda self, d: "",
        "rubric": lambda self, d: f"**{self.inline(d.arg)}**",
        "toctree": lambda self, d: "", "tableofcontents": lambda self, d: "",
        "contents": lambda self, d: "",
    }


def render(text: str, refs: References | None = None, **options) -> str:
    """``text`` (MyST) as plain Markdown; ``options`` go to :class:`Renderer`."""
    return Renderer(refs, **options).markdown(text)
