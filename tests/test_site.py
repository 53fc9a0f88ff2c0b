"""Routes to run the book: one repository address in _config.yml from which every other address
derives, Binder with a CPU-only torch, Colab buttons that open the notebooks the publishing
workflow publishes (both editions), and the workflow itself, whose steps before the upload are make
targets (``make publish-check`` runs them)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from cnnbook_lib import notebooks, pdf, site

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
HTML = Path(os.environ.get("CNNBOOK_HTML", ROOT / "_build" / "html"))
STUDENT = Path(os.environ.get("CNNBOOK_STUDENT_HTML", ROOT / "_build" / "student" / "html"))


def _config() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def test_repository_address_is_written_once():
    """The repository's address is in _config.yml once, and in no other file of the repository;
    the online book, the Colab buttons and the PDF's addresses are derived from it."""
    url = _config()["repository"]["url"]
    owner, name = site.repository_parts(url)
    assert CONFIG.read_text(encoding="utf-8").count(f"{owner}/{name}") == 1
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    elsewhere = [f for f in tracked if f != "_config.yml" and (ROOT / f).is_file()
                 and f"github.com/{owner}/{name}" in (ROOT / f).read_text(encoding="utf-8", errors="ignore")]
    assert elsewhere == []
    assert pdf.online_address(CONFIG) == f"https://{owner.lower()}.github.io/{name}/"
    assert pdf.online_address(CONFIG) == notebooks.book_address(None, url)
    assert site.colab_url(url, "chapters/01/03_shapes") == (
        f"https://colab.research.google.com/github/{owner}/{name}/blob/gh-pages/_sources/chapters/01/03_shapes.ipynb")
    assert site.colab_url(url, "a/b", student=True).endswith("/blob/gh-pages/student/_sources/a/b.ipynb")
    assert site.colab_url("https://gitlab.com/a/b", "x") is None


def test_binder_installs_the_cpu_torch_and_the_book():
    """binder/ pins the CPU-only build of requirements.txt's torch from PyTorch's CPU index,
    installs the rest of requirements.txt and the library, on the Python the workflow uses."""
    lines = [l.strip() for l in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    torch = re.search(r"^torch==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert f"--extra-index-url {notebooks.TORCH_CPU_INDEX}" in lines
    assert f"torch=={torch}+cpu" in lines
    assert "-r ../requirements.txt" in lines and (ROOT / "binder" / "../requirements.txt").exists()
    post = (ROOT / "binder" / "postBuild")
    assert os.access(post, os.X_OK) and "pip install --no-deps -e ." in post.read_text()
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["publish"]["steps"]
    python = next(s["with"]["python-version"] for s in steps if "setup-python" in s.get("uses", ""))
    assert runtime == f"python-{python}"
    assert _config()["launch_buttons"]["binderhub_url"].startswith("https://")


def test_workflow_builds_both_editions_then_publishes_the_site():
    """The workflow's steps before the upload are make targets of the Makefile (so they run here
    the same); it builds both editions and the site, and publishes make site's folder to the
    branch the Colab buttons read."""
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    on = flow.get("on", flow.get(True))                       # YAML 1.1 reads the key `on` as True
    assert "main" in on["push"]["branches"]
    steps = flow["jobs"]["publish"]["steps"]
    commands = site.workflow_commands(WORKFLOW, "o/r")
    assert commands == [s["run"].strip().replace("${{ github.repository }}", "o/r") for s in steps if "run" in s]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = []
    for command in commands:
        m = re.fullmatch(r"make ([\w-]+)(?: [A-Z_]+=\S+)*", command)
        assert m, f"not a make target: {command}"
        assert re.search(rf"^{m.group(1)}:", makefile, re.M), m.group(1)
        targets.append(m.group(1))
    assert targets.index("book") < targets.index("site") and targets.index("student") < targets.index("site")
    assert targets.index("install") < targets.index("check-repository")
    upload = steps[-1]
    assert upload["uses"].startswith("peaceiris/actions-gh-pages@")
    assert upload["with"]["publish_branch"] == site.PAGES_BRANCH
    assert Path(upload["with"]["publish_dir"]) == Path("_build/site")
    assert re.search(r"^site:.*\n(\t.*\n)*\t.*--out _build/site", makefile, re.M)
    assert flow["permissions"]["contents"] == "write"
    assert re.search(r"^publish-check:.*\n\t.*--run-workflow \.github/workflows/publish\.yml", makefile, re.M)


def test_check_repository_stops_in_another_repository():
    run = lambda repo: subprocess.run(["make", "-s", "check-repository", f"REPOSITORY={repo}"], cwd=ROOT,
                                      capture_output=True, text=True)
    owner, name = site.repository_parts(_config()["repository"]["url"])
    assert run(f"{owner}/{name}").returncode == 0
    bad = run("someone/else")
    assert bad.returncode != 0 and "repository.url" in bad.stderr


def _edition(folder: Path, pages: dict[str, str | None], notebooks_: list[str]) -> None:
    for page, colab in pages.items():
        (folder / page).parent.mkdir(parents=True, exist_ok=True)
        button = f'<a href="{colab}" class="btn">Colab</a>' if colab else ""
        (folder / page).write_text(f"<html><body>{button}</body></html>", encoding="utf-8")
    (folder / "index.html").write_text("<html></html>", encoding="utf-8")
    for nb in notebooks_:
        (folder / "_sources" / nb).parent.mkdir(parents=True, exist_ok=True)
        (folder / "_sources" / nb).write_text("{}", encoding="utf-8")


def test_site_holds_what_each_colab_button_opens(tmp_path):
    """make site's check (on two small editions): a button whose notebook the site lacks, one that
    opens another page's notebook, one on another branch and a notebook with no button are reported."""
    url = "https://github.com/o/r"
    full, student = tmp_path / "full", tmp_path / "student"
    _edition(full, {"a/p.html": site.colab_url(url, "a/p"), "a/q.html": site.colab_url(url, "a/q")},
             ["a/p.ipynb", "a/q.ipynb"])
    _edition(student, {"a/p.html": site.colab_url(url, "a/p", student=True)}, ["a/p.ipynb"])
    out = site.assemble(full, student, tmp_path / "site")
    assert (out / ".nojekyll").exists() and (out / "student" / "_sources" / "a" / "p.ipynb").exists()
    assert site.missing_notebooks(out, url) == []
    assert site.missing_notebooks(out, "https://github.com/x/y")          # another repository's buttons
    (out / "student" / "_sources" / "a" / "p.ipynb").unlink()
    (out / "a" / "q.html").write_text(f'<a href="{site.colab_url(url, "a/p")}">', encoding="utf-8")
    (out / "_sources" / "a" / "r.ipynb").write_text("{}")
    (out / "a" / "r.html").write_text("<html></html>")
    (out / "a" / "p.html").write_text(f'<a href="{site.colab_url(url, "a/p").replace("gh-pages", "main")}">')
    problems = "\n".join(site.missing_notebooks(out, url))
    assert "student a/p.html" in problems and "which the site lacks" in problems
    assert "full a/q.html" in problems and "another page's notebook" in problems
    assert "full a/r.html: a notebook with no Colab button" in problems
    assert "full a/p.html" in problems and "not on the gh-pages branch" in problems


def test_colab_button_added_to_both_editions(tmp_path):
    """The Sphinx handler adds a Colab button to a notebook page (to the launch group in the full
    edition, in a group of its own in the student edition) and none to a page with no notebook."""
    from types import SimpleNamespace

    from cnnbook_lib.sphinx_launch import add_colab_button
    url = "https://github.com/o/r"
    (tmp_path / "_sources" / "c").mkdir(parents=True)
    (tmp_path / "_sources" / "c" / "nb.ipynb").write_text("{}")
    for student in (False, True):
        app = SimpleNamespace(builder=SimpleNamespace(format="html"), outdir=str(tmp_path),
                              config=SimpleNamespace(html_theme_options={"repository_url": url},
                                                     hide_solutions=student))
        launch = [] if student else [{"type": "group", "label": "launch-buttons",
                                      "buttons": [{"text": "Binder", "url": "b"}]}]
        context = {"header_buttons": launch}
        add_colab_button(app, "c/nb", "page.html", context, None)
        links = [b["url"] for g in context["header_buttons"] for b in g["buttons"] if b["text"] == "Colab"]
        assert links == [site.colab_url(url, "c/nb", student=student)]
        plain = {"header_buttons": []}
        add_colab_button(app, "c/prose", "page.html", plain, None)
        assert plain["header_buttons"] == []


def test_built_editions_have_colab_buttons_that_resolve(tmp_path):
    """On the built book (both editions): every page with a notebook has a Colab button, and the
    site make site assembles holds, on the path each button names, the notebook it opens."""
    if not (HTML / "index.html").exists() or not (STUDENT / "index.html").exists():
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":
            pytest.fail("no built book (both editions): run `make book student` first")
        pytest.skip("no built book (both editions): run `make book student` first")
    out = site.assemble(HTML, STUDENT, tmp_path / "site")
    assert site.colab_links(out, skip=(site.STUDENT_DIR,)) and site.colab_links(out / site.STUDENT_DIR)
    assert site.missing_notebooks(out, _config()["repository"]["url"]) == []
