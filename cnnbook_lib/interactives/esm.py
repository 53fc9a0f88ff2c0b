"""The interactives' ES modules (``js/*.js``), bundled into one module each.

An interactive's module imports the shared view (``./cb.js``) and the generated formulas
(``./formulas.js``). anywidget and the static page both take a single module as text, where relative
imports cannot resolve, so :func:`bundle` inlines each imported sibling module (a leaf: it imports
nothing itself) as a frozen namespace object and turns the ``import`` line into a destructuring of
it. Nothing is transpiled: the rest of the file is the file as written.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

JS = Path(__file__).with_name("js")

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.]+\.js)";[ \t]*$', re.M)
_EXPORT = re.compile(r"^export\s+(?:async\s+)?(function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)", re.M)


def source(filename: str) -> str:
    """Text of one file of ``js/``."""
    path = JS / filename
    if not path.is_file():
        raise ValueError(f"no module {filename!r} in {JS}; modules: "
                         f"{', '.join(sorted(p.name for p in JS.glob('*.js')))}")
    return path.read_text(encoding="utf-8")


def _namespace(filename: str) -> tuple[str, list[str]]:
    """A sibling module as ``const __name = (() => {...; return {exports}})();``."""
    text = source(filename)
    if _IMPORT.search(text):
        raise ValueError(f"{filename} imports another module; only leaf modules can be inlined")
    names = [m.group(2) for m in _EXPORT.finditer(text)]
    if "export default" in text or re.search(r"^export\s*\{", text, re.M):
        raise ValueError(f"{filename}: a shared module exports only named declarations")
    body = _EXPORT.sub(lambda m: m.group(0)[len("export"):].lstrip(), text)
    var = "__" + re.sub(r"\W", "_", filename[:-3])
    return (f"const {var} = (() => {{\n{body}\nreturn Object.freeze({{{', '.join(names)}}});\n}})();\n",
            names)


@functools.lru_cache(maxsize=None)
def bundle(filename: str) -> str:
    """One self-contained ES module: ``filename`` with its sibling imports inlined.

    The bundle also exports ``createModel`` (the model of pages without a kernel) from ``cb.js``.
    """
    text = source(filename)
    head, seen = [], {}
    for m in _IMPORT.finditer(text):
        dep = m.group(2)
        if dep not in seen:
            code, names = _namespace(dep)
            head.append(code)
            seen[dep] = names
        wanted = [w.strip() for w in m.group(1).split(",") if w.strip()]
        missing = [w for w in wanted if w not in seen[dep]]
        if missing:
            raise ValueError(f"{filename} imports {missing} that {dep} does not export")
    if "cb.js" not in seen:
        code, names = _namespace("cb.js")
        head.append(code)
        seen["cb.js"] = names
    body = _IMPORT.sub(lambda m: f"const {{{m.group(1).strip()}}} = __{m.group(2)[:-3]};", text)
    return "".join(head) + body + "\nexport const createModel = __cb.createModel;\n"


def css() -> str:
    """The shared style sheet of the interactives."""
    return source("cb.css") if (JS / "cb.css").is_file() else ""
