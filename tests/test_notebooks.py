"""Notebooks that read like the book (cnnbook_lib.notebooks).

* on made-up notebooks: every MyST construct the chapters use becomes Markdown a notebook shows;
* on the build: every downloadable notebook of the book (``_build/html/_sources``) and every
  notebook of ``_build/notebooks`` has no raw role, fence or undisplayable output, and shows the
  numbers the HTML page shows.
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest

from cnnbook_lib import notebooks as N

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
NOTEBOOKS = ROOT / "_build" / "notebooks"
BUILT = sorted((HTML / "_sources").rglob("*.ipynb")) if (HTML / "_sources").exists() else []


def _nb(*cells):
    return {"cells": list(cells), "metadata": {"jupytext": {"x": 1}}, "nbformat": 4, "nbformat_minor": 5}


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code(text, outputs=(), tags=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)} if tags else {}, "source": text,
            "outputs": list(outputs), "execution_count": 1}


PAGE = """
<div class="pasted-math math notranslate nohighlight" id="equation-eq-out">
<span class="eqno">(1.6)<a class="headerlink" href="#equation-eq-out">#</a></span></div>
<figure class="align-default" id="fig-edge">
<img alt="x" src="x.png" />
<figcaption>
<p><span class="caption-number">Fig. 1.1 </span><span class="caption-text">Edge.</span></p>
</figcaption></figure>
<div class="exercise admonition" id="ex-a">
<p class="admonition-title"><span class="caption-number">Exercise 1.1 </span></p></div>
<span class="bibtex-citation" id="id1">[<a class="reference internal" href="../references.html#id4"
 title="Vincent Dumoulin and Francesco Visin. A guide to convolution arithmetic.">DV16</a>]</span>
"""

GLUE = {"n_params": {"data": {"text/plain": "'73,856'"}},
        "ratio": {"data": {"text/plain": "0.123456"}},
        "eq": {"data": {"text/plain": "<Math>", "text/latex": "$\\displaystyle n_\\text{out} = 3$"}},
        "fig": {"data": {"text/plain": "<Figure>", "image/png": "iVBORw0KGgo="}}}


def test_myst_becomes_markdown():
    nb = _nb(
        md("(sec-x)=\n# Title\n\nIt has {glue:text}`n_params` parameters, ratio {glue:text}`ratio:.2f`, "
           "see {eq}`eq-out` and {cite}`dumoulin2016guide`, also {doc}`other <../x>`."),
        md("```{glue:math} eq\n:label: eq-out\n```\n\n```{glue:figure} fig\n:name: fig-edge\n\n"
           "The edge detector, {glue:text}`n_params`.\n```"),
        md("```{admonition} Learning objectives\n:class: tip\n\n* one\n* two\n```"),
        md("```{exercise}\n:label: ex-a\n\nHow many? Check with `check(\"x\", a)`.\n```\n\n"
           "```{solution-start} ex-a\n:class: dropdown\n```\n\nBecause 3."),
        code("print(3)"),
        md("```{solution-end}\n```\n\nAfter the solution."),
        md("```{bibliography}\n```"),
    )
    out = N.render(nb, N.PageIndex(PAGE), glue=GLUE)
    text = [c["source"] for c in out["cells"]]
    assert text[0].startswith("# Title") and "(sec-x)=" not in text[0]
    assert "It has 73,856 parameters, ratio 0.12, see (1.6) and [DV16], also other." in text[0]
    assert "$$\nn_\\text{out} = 3 \\tag{1.6}\n$$" in text[1]
    assert "![The edge detector, 73,856.](attachment:fig.png)" in text[1]
    assert "*Fig. 1.1: The edge detector, 73,856.*" in text[1]
    assert out["cells"][1]["attachments"] == {"fig.png": {"image/png": "iVBORw0KGgo="}}
    assert text[2].startswith("> **Learning objectives**") and "> * one" in text[2]
    assert text[3] == "### Exercise 1.1\n\nHow many? Check with `check(\"x\", a)`."
    assert text[4].startswith("<details>\n<summary><b>Solution</b>") and "Because 3." in text[4]
    assert text[4].endswith("</details>")
    assert out["cells"][5]["metadata"]["jupyter"] == {"source_hidden": True}    # no output to fold
    assert text[6] == "After the solution." and "solution-end" not in "".join(text)
    assert "[DV16] Vincent Dumoulin and Francesco Visin" in text[7]
    assert "jupytext" not in out["metadata"]
    assert N.problems(out) == []


def test_solutions_are_folded_under_their_exercise():
    """Full edition: a gated solution's Markdown is one folded ``<details>`` per cell, its code
    cells folded (source and outputs) and tagged, a ``{solution}`` directive folded too; the text
    around them stays open."""
    shown = {"output_type": "stream", "name": "stdout", "text": "3\n"}
    nb = _nb(md("```{exercise}\n:label: ex-a\n\nHow many?\n```\n\n```{solution-start} ex-a\n:class: dropdown\n```\n\n"
                "Because $k = 3$."),
             code("print(3)", [shown]),
             md("So 3.\n\n```{solution-end}\n```\n\nNext exercise.\n\n"
                "````{solution} ex-a\n:class: dropdown\n\nShort: 4.\n```python\nx = 4\n```\n````\n\nThe end."))
    cells = N.render(nb, N.PageIndex(PAGE))["cells"]
    kinds = [(c["cell_type"], c["source"].split("\n")[0]) for c in cells]
    assert kinds == [("markdown", "### Exercise 1.1"), ("markdown", "<details>"), ("code", "print(3)"),
                     ("markdown", "<details>"), ("markdown", "Next exercise."), ("markdown", "<details>"),
                     ("markdown", "The end.")]
    assert "Because $k = 3$." in cells[1]["source"] and "solution-start" not in cells[1]["source"]
    assert cells[2]["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert cells[2]["metadata"]["tags"] == ["solution"] and cells[2]["outputs"] == [shown]
    assert "So 3." in cells[3]["source"] and "Short: 4." in cells[5]["source"]
    assert "```python\nx = 4\n```" in cells[5]["source"] and ":class:" not in cells[5]["source"]
    assert N.problems({"cells": cells}) == []


def test_student_notebook_has_no_solution():
    nb = _nb(md("```{exercise}\n:label: ex-a\n\nHow many?\n```\n\n```{solution-start} ex-a\n:class: dropdown\n```\n\nBecause 3."),
             code("answer = 3"), md("Still the solution.\n\n```{solution-end}\n```\n\nNext exercise."))
    out = N.render(nb, N.PageIndex(PAGE), hide_solutions=True)
    allsrc = "\n".join(c["source"] for c in out["cells"])
    assert "How many?" in allsrc and "Next exercise." in allsrc
    assert "Because 3" not in allsrc and "answer = 3" not in allsrc and "Still the solution" not in allsrc


def test_outputs_a_reader_can_see():
    glue_out = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "k"}},
                "data": {"application/papermill.record/text/plain": "'1'"}}
    widget = {"output_type": "execute_result", "metadata": {},
              "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
                       "text/plain": "ConvArithmeticWidget('conv_arithmetic')",
                       "text/html": '<div class="cnnbook-static"><div class="cb-root"><noscript>Convolution '
                                    '&amp; arithmetic: this interactive needs JavaScript.</noscript></div>'}}
    shown = {"output_type": "execute_result", "metadata": {}, "data": {"text/plain": "5"}}
    nb = _nb(code("glue('k', 1)", [glue_out], tags=["remove-cell"]), code("w", [widget]), code("5", [shown]))
    index = N.PageIndex(docname="chapters/01/03_shapes")
    index.address = "https://example.org/book/"
    out = N.render(nb, index)
    cells = out["cells"]
    assert cells[0]["outputs"] == [] and cells[0]["metadata"]["jupyter"]["source_hidden"] is True
    note = cells[1]["outputs"][0]["data"]["text/markdown"]
    assert "run this cell" in note and "“Convolution & arithmetic”" in note
    assert "https://example.org/book/chapters/01/03_shapes.html" in note
    assert "Widget" not in note and "ConvArithmeticconv" not in note
    assert "https://example.org/book/chapters/01/03_shapes.html" in cells[1]["outputs"][0]["data"]["text/plain"]
    assert cells[2]["outputs"] == [shown]
    assert N.problems(out) == []


def test_interactive_note_without_html_or_address():
    """Only the widget's repr known: its name, whole, and the built page's file named."""
    widget = {"output_type": "display_data", "metadata": {},
              "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
                       "text/plain": "LayerCostWidget('layer_cost')"}}
    out = N.render(_nb(code("w", [widget])), N.PageIndex(docname="chapters/01/04_cost"))
    note = out["cells"][0]["outputs"][0]["data"]["text/markdown"]
    assert "“layer_cost”" in note and "LayerCost" not in note
    assert "chapters/01/04_cost.html" in note


@pytest.mark.parametrize("baseurl, repo, expected", [
    ("https://book.example.org/cnn", None, "https://book.example.org/cnn/"),
    ("", "https://github.com/CnnBook/cnn-book", "https://cnnbook.github.io/cnn-book/"),
    (None, "https://github.com/a/b.git", "https://a.github.io/b/"),
    (None, "https://gitlab.com/a/b", None), (None, None, None)])
def test_book_address(baseurl, repo, expected):
    assert N.book_address(baseurl, repo) == expected


def test_problems_finds_markup_and_kernel_only_outputs():
    bad = _nb(md("It has {glue:text}`k` values."), md("```{note}\nx\n```"),
              code("w", [{"output_type": "display_data", "metadata": {},
                          "data": {"application/vnd.jupyter.widget-view+json": {}}}]))
    found = N.problems(bad)
    assert len(found) == 4 and any("glue" in f for f in found) and any("fence" in f for f in found)


# ---------------------------------------------------------------------------------------------
# The built book
# ---------------------------------------------------------------------------------------------


def _require_build():
    if not BUILT:
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"no built book in {HTML}: run `make book` first")
        pytest.skip(f"no built book in {HTML}: run `make book` first")


@pytest.mark.book
@pytest.mark.parametrize("path", BUILT or ["(not built)"], ids=lambda p: str(p).split("_sources/")[-1])
def test_downloadable_notebooks_read_like_the_page(path):
    """No raw markup, every output displayable, and the numbers glued into the page are there."""
    _require_build()
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    assert N.problems(nb) == []
    doc = Path(path).relative_to(HTML / "_sources").with_suffix("")
    page = (HTML / doc).with_suffix(".html").read_text(encoding="utf-8")
    # compared as letters and digits only: Sphinx turns ' into ’ and -- into – in the page's text
    def bare(text: str) -> str:
        return re.sub(r"\W+", "", html.unescape(text))
    pasted = [re.sub(r"<[^>]+>", "", v) for v in re.findall(r'<span class="pasted-text">(.*?)</span>', page, re.S)]
    text = bare("\n".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                         for c in nb["cells"]))
    missing = [v for v in pasted if bare(v) and bare(v) not in text]
    assert missing == [], f"glued values of the page missing from its notebook: {missing[:5]}"
    copy = ROOT / "_build" / "notebooks" / doc.with_suffix(".ipynb")
    assert copy.exists() and json.loads(copy.read_text(encoding="utf-8")) == nb
    # opens with the install cell; imports no myst-nb; every solution folded; interactives named
    assert nb["cells"][0]["metadata"].get("tags") == ["install"] and "pip" in nb["cells"][0]["source"]
    sources = [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in nb["cells"]]
    assert not any("myst_nb" in s for c, s in zip(nb["cells"], sources) if c["cell_type"] == "code")
    for c, s in zip(nb["cells"], sources):
        if "solution" in c["metadata"].get("tags", []):
            assert c["metadata"]["jupyter"].get("source_hidden"), s[:80]
        if c["cell_type"] == "markdown":
            assert not re.search(r"^\*\*Solution\*\*", s, re.M), s[:80]
        for out in c.get("outputs", []):
            note = out.get("data", {}).get("text/markdown", "")
            note = note if isinstance(note, str) else "".join(note)
            if "The interactive “" in note:
                assert f"{doc.as_posix()}.html" in note and "Widget" not in note, note


@pytest.mark.book
@pytest.mark.slow
def test_downloaded_notebook_runs_outside_the_repository(tmp_path):
    """A reader's download runs top to bottom in a folder of their own, with only the package."""
    _require_build()
    import nbformat
    from nbclient import NotebookClient
    src = ROOT / "_build" / "notebooks" / "chapters" / "01" / "03_shapes.ipynb"
    nb = nbformat.read(src, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    assert any("interactive" in str(o.get("data", {})).lower() or "widget" in str(o.get("data", {}))
               for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_links_to_other_chapters_show_the_title_and_the_online_page():
    """``{doc}`../01/08_measuring``` from a chapter 3 page: the target's title, linked when the book
    has an address; never the raw path."""
    titles = {"chapters/01/08_measuring": "Measuring time", "chapters/03/06_flops_time": "FLOPs and time",
              "chapters/01_convolution": "Convolution"}
    nb = _nb(md("The roofline of {doc}`../01/08_measuring`, then {doc}`06_flops_time` and "
                "{doc}`/chapters/01_convolution`."))
    plain = N.render(nb, N.PageIndex(titles=titles, docname="chapters/03/06_flops_time"))
    assert plain["cells"][0]["source"] == \
        "The roofline of Measuring time, then FLOPs and time and Convolution."
    index = N.PageIndex(titles=titles, docname="chapters/03/06_flops_time")
    index.address = "https://example.org/book/"
    linked = N.render(nb, index)["cells"][0]["source"]
    assert "[Measuring time](https://example.org/book/chapters/01/08_measuring.html)" in linked
    assert "[Convolution](https://example.org/book/chapters/01_convolution.html)" in linked
    assert "../" not in linked


def test_a_page_that_measures_says_its_prose_numbers_are_the_builds():
    """A page that times the machine running it opens (under its title) with a note naming the
    build's machine, read from its glued ``measured on`` line; a page that only reads a shipped
    record (``measured_on(metadata)``) or measures nothing has none."""
    glue_out = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "m"}},
                "data": {"application/papermill.record/text/plain": "'measured on Some CPU, 1 thread, torch 9'"}}
    measuring = _nb(md("# Timing\n\nIt ran at {glue:text}`m`."),
                    code("page.glue_text('m', bench.measured_on(threads=1))", [glue_out]), md("More."))
    note = N.measurement_note(measuring)
    assert "measured when the book was built, on Some CPU, 1 thread, torch 9" in note
    out = N.for_download(N.render(measuring), measured=note)
    assert [c["cell_type"] for c in out["cells"]] == ["markdown", "markdown", "code", "markdown"]
    assert out["cells"][0]["source"].startswith("# Timing") and out["cells"][1]["source"] == note
    assert N.problems(out) == []
    assert N.measurement_note(_nb(md("# R"), code("bench.measured_on(record['metadata'])"))) is None
    assert N.measurement_note(_nb(md("# S"), code("print(3)"))) is None
    unnamed = N.measurement_note(_nb(code("x = bench.measured_on()")))
    assert "on the machine that built the book" in unnamed
    assert N.for_download(_nb(code("x")), measured=unnamed)["cells"][0]["source"] == unnamed


# ---------------------------------------------------------------------------------------------
# The downloaded notebooks in a fresh environment: the library's wheel and what it declares
# ---------------------------------------------------------------------------------------------

#: Downloaded notebooks run in the fresh environment (short pages that glue, import myst-nb's glue
#: in their code and show an interactive).
FRESH_PAGES = ["chapters/01/03_shapes", "chapters/01/02_operation"]


def _wheel(tmp: Path) -> Path:
    """The library's wheel, built (``pip wheel --no-deps``) from a copy of its sources."""
    import shutil
    import subprocess
    import sys
    src = tmp / "src"
    shutil.copytree(ROOT / "cnnbook_lib", src / "cnnbook_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "--no-index", "-q", "-w", str(tmp / "dist"), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("cnnbook_lib-*.whl")
    return wheel


def _requires(metadata_text: str) -> list[str]:
    import email.parser
    return email.parser.Parser().parsestr(metadata_text).get_all("Requires-Dist") or []


def _closure(requirements: list[str]) -> dict[str, "importlib.metadata.Distribution"]:
    """The distributions that ``requirements`` bring, with what they require in turn (markers and
    extras evaluated), as installed here; each must satisfy the range that asks for it."""
    import importlib.metadata as md
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    found: dict[str, md.Distribution] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        dist = found.get(name) or md.distribution(req.name)
        assert req.specifier.contains(dist.version, prereleases=True), \
            f"{req.name} {dist.version} is installed (requirements.txt), outside {req}"
        for wanted in [""] + sorted(req.extras):
            key = (name, wanted)
            if key in found.setdefault("__done__", set()):
                continue
            found["__done__"].add(key)
            todo += [(Requirement(r), wanted) for r in (dist.requires or [])]
        found[name] = dist
    found.pop("__done__", None)
    return found


def _fresh_environment(tmp: Path, wheel: Path) -> Path:
    """A new virtual environment holding the wheel and, linked from this one, only the
    distributions the wheel declares (torch among them) and nbclient/ipykernel to run a kernel:
    no myst-nb, no jupyter-book, no editable checkout. Returns its python."""
    import importlib.metadata as md
    import subprocess
    import sys
    import zipfile
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    with zipfile.ZipFile(wheel) as z:
        metadata = next(z.read(n).decode() for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        z.extractall(site)                                       # a pure-Python wheel's install
    dists = _closure(_requires(metadata) + ["nbclient", "ipykernel"])
    assert "torch" in dists and "myst-nb" not in dists and "jupyter-book" not in dists
    for dist in dists.values():
        top = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for name in top - {"__pycache__"}:
            real = Path(dist.locate_file(name))
            if real.exists() and not (site / name).exists():
                (site / name).symlink_to(real, target_is_directory=real.is_dir())
    return python


def _declared() -> list[str]:
    import tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


def test_declared_dependencies_agree_with_the_pins():
    """Every run-time dependency pyproject.toml declares is pinned in requirements.txt (or comes with
    one that is) inside the declared range; the version is the library's own."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    import tomllib
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", (ROOT / "requirements.txt").read_text(), re.M))
    pins = {canonicalize_name(k): v for k, v in pins.items()}
    closure = _closure(_declared())                     # also: each installed version is in range
    for text in _declared():
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name in pins:
            assert req.specifier.contains(pins[name]), f"requirements.txt pins {name}=={pins[name]}, outside {req}"
        else:
            assert name in closure, f"{req} is neither pinned nor installed"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cnnbook_lib.__version__"}


#: Imports of the book's build and instructors' tools (the ``book``, ``teaching`` and ``pdf``
#: extras), or guarded where they may be missing; a reader's notebook never needs them.
TOOL_IMPORTS = {"sphinx", "docutils", "sphinx_exercise", "myst_nb", "myst_parser", "jupyter_cache", "ipykernel",
                "pybtex", "nbformat", "nbclient",
                "jupytext", "yaml", "otter", "pypdf", "playwright", "torchvision"}


def test_every_run_time_import_of_the_library_is_declared():
    """Each third-party module the library imports is brought by a declared dependency (checked
    against the installed distributions that provide it), save the build's and tools' own."""
    import importlib.metadata as md
    import sys
    from packaging.utils import canonicalize_name
    provided = md.packages_distributions()
    closure = set(_closure(_declared()))
    missing = set()
    for path in (ROOT / "cnnbook_lib").rglob("*.py"):
        for module in re.findall(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", path.read_text(encoding="utf-8"), re.M):
            if module in sys.stdlib_module_names or module in TOOL_IMPORTS or module in ("cnnbook_lib", "__future__"):
                continue
            dists = {canonicalize_name(d) for d in provided.get(module, [])}
            if module in provided and not dists & closure:
                missing.add((module, path.relative_to(ROOT).as_posix()))
    assert not missing, f"imported but not brought by pyproject.toml's dependencies: {sorted(missing)}"


@pytest.mark.book
def test_downloaded_notebooks_run_with_the_wheel_alone(tmp_path):
    """The library builds as a wheel; in a fresh environment with only that wheel, what it declares
    (torch included) and a kernel, downloaded chapter notebooks run top to bottom in a folder outside
    the repository, with myst-nb absent; each opens with its install cell, which finds the library
    installed there and installs nothing."""
    _require_build()
    import subprocess
    wheel = _wheel(tmp_path / "wheel")
    python = _fresh_environment(tmp_path, wheel)
    work = tmp_path / "student"
    work.mkdir()
    for page in FRESH_PAGES:
        nb = json.loads((NOTEBOOKS / f"{page}.ipynb").read_text(encoding="utf-8"))
        first = nb["cells"][0]
        assert first["cell_type"] == "code" and "pip" in first["source"] and "--index-url" in first["source"]
        assert not any("myst_nb" in c["source"] for c in nb["cells"] if c["cell_type"] == "code")
        (work / Path(page).name).with_suffix(".ipynb").write_text(json.dumps(nb), encoding="utf-8")
    kernels = tmp_path / "jupyter" / "kernels" / "fresh"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh", "language": "python"}), encoding="utf-8")
    script = (
        "import json, sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "import importlib.util\n"
        "assert importlib.util.find_spec('myst_nb') is None, 'myst-nb is installed'\n"
        "import cnnbook_lib\n"
        "assert 'site-packages' in cnnbook_lib.__file__, cnnbook_lib.__file__\n"
        "for path in sys.argv[1:]:\n"
        "    nb = nbformat.read(path, as_version=4)\n"
        "    NotebookClient(nb, timeout=170, kernel_name='fresh', allow_errors=False,\n"
        "                   resources={'metadata': {'path': '.'}}).execute()\n"
        "    print(path, 'ran')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH")}
    env.update(JUPYTER_PATH=str(tmp_path / "jupyter"), JUPYTER_PLATFORM_DIRS="1", MPLBACKEND="Agg",
               PATH=f"{python.parent}:{env.get('PATH', '')}")
    run = subprocess.run([str(python), "-c", script, *sorted(p.name for p in work.glob("*.ipynb"))],
                         cwd=work, env=env, capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert run.stdout.count(" ran") == len(FRESH_PAGES)


def test_pages_import_only_what_the_wheel_brings():
    """A page's code imports the standard library, cnnbook_lib and what the library declares
    (myst-nb only as ``from myst_nb import glue``, which the download rewrites)."""
    import importlib.metadata as md
    import sys
    from packaging.utils import canonicalize_name
    from cnnbook_lib.glue import without_myst_nb
    provided = md.packages_distributions()
    closure = set(_closure(_declared()))
    bad = []
    for path in sorted((ROOT / "chapters").rglob("*.md")) + [ROOT / "intro.md"]:
        text = path.read_text(encoding="utf-8")
        for cell in re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", text, re.S | re.M):
            for module in re.findall(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", without_myst_nb(cell), re.M):
                if module in sys.stdlib_module_names or module in ("cnnbook_lib", "__future__"):
                    continue
                if module in provided and not {canonicalize_name(d) for d in provided[module]} & closure:
                    bad.append(f"{path.relative_to(ROOT)}: import {module}")
    assert not bad, bad
