"""The published site: both editions of the book in one folder, as the publishing workflow
(``.github/workflows/publish.yml``) pushes it to the repository's ``gh-pages`` branch, which GitHub
Pages serves and from which Colab opens the notebooks.

    python -m cnnbook_lib.site [--html _build/html] [--student _build/student/html] [--out _build/site]

Layout: the full edition at the root, the student edition under ``student/``; each page's
downloadable notebook at ``<edition>/_sources/<page>.ipynb``. Everything that points at the
published site (the Colab buttons, the PDF's and the notebooks' online addresses) is derived from
the one repository address in ``_config.yml`` (``repository.url``) with the functions here and in
:mod:`cnnbook_lib.notebooks`.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

#: The branch the publishing workflow pushes the site to (GitHub Pages serves it; Colab reads it).
PAGES_BRANCH = "gh-pages"
#: The student edition's folder in the site.
STUDENT_DIR = "student"
#: Colab's address for a notebook in a GitHub repository.
COLAB = "https://colab.research.google.com/github"


def repository_parts(url: str | None) -> tuple[str, str] | None:
    """(owner, name) of a GitHub repository address, else None."""
    m = re.match(r"^https?://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", (url or "").strip())
    return (m[1], m[2]) if m else None


def notebook_path(docname: str, student: bool = False) -> str:
    """Where the site holds page ``docname``'s downloadable notebook."""
    return (f"{STUDENT_DIR}/" if student else "") + f"_sources/{docname}.ipynb"


def colab_url(repository_url: str | None, docname: str, student: bool = False) -> str | None:
    """The Colab address that opens page ``docname``'s notebook as the workflow publishes it."""
    parts = repository_parts(repository_url)
    if parts is None:
        return None
    return f"{COLAB}/{parts[0]}/{parts[1]}/blob/{PAGES_BRANCH}/{notebook_path(docname, student)}"


def colab_links(html_dir: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """{page path: its Colab address} for every page of a built edition that has a Colab button
    (``skip``: top-level folders that are not part of it)."""
    links = {}
    for page in sorted(Path(html_dir).rglob("*.html")):
        rel = page.relative_to(html_dir).parts
        if "_static" in rel or "_sources" in rel or rel[0] in skip:
            continue
        m = re.search(r'href="(' + re.escape(COLAB) + r'/[^"]+)"', page.read_text(encoding="utf-8"))
        if m:
            links[page.relative_to(html_dir).as_posix()] = m.group(1)
    return links


def missing_notebooks(site: Path, repository_url: str | None = None) -> list[str]:
    """The Colab buttons of the site's pages whose notebook the site does not hold (at the path the
    button names within the published branch), and the downloadable notebooks with no button."""
    site = Path(site)
    problems = []
    for edition, folder in [("full", site), ("student", site / STUDENT_DIR)]:
        if not folder.is_dir():
            problems.append(f"{edition}: no edition at {folder}")
            continue
        links = colab_links(folder, skip=(STUDENT_DIR,) if edition == "full" else ())
        for page, url in links.items():
            m = re.match(re.escape(COLAB) + r"/([\w.-]+)/([\w.-]+)/blob/([\w.-]+)/(.+)$", url)
            if not m or m[3] != PAGES_BRANCH:
                problems.append(f"{edition} {page}: {url} is not on the {PAGES_BRANCH} branch")
                continue
            if repository_url and (m[1], m[2]) != repository_parts(repository_url):
                problems.append(f"{edition} {page}: {url} names another repository")
            if not (site / m[4]).is_file():
                problems.append(f"{edition} {page}: {url} opens {m[4]}, which the site lacks")
            doc = page[:-len(".html")]
            if m[4] != notebook_path(doc, edition == "student"):
                problems.append(f"{edition} {page}: {url} opens another page's notebook")
        for nb in sorted((folder / "_sources").rglob("*.ipynb")) if (folder / "_sources").is_dir() else []:
            page = nb.relative_to(folder / "_sources").with_suffix(".html").as_posix()
            if (folder / page).exists() and page not in links:
                problems.append(f"{edition} {page}: a notebook with no Colab button")
    return problems


def assemble(html: Path, student: Path, out: Path) -> Path:
    """Copy both built editions into ``out`` in the site's layout (and ``.nojekyll``, so GitHub Pages
    serves the folders that start with an underscore)."""
    html, student, out = Path(html), Path(student), Path(out)
    for folder, what in [(html, "make book"), (student, "make student")]:
        if not (folder / "index.html").exists():
            raise FileNotFoundError(f"no built edition in {folder}: run `{what}` first")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(html, out)
    shutil.copytree(student, out / STUDENT_DIR)
    (out / ".nojekyll").write_text("", encoding="utf-8")
    return out


def repository_url(config: Path = Path("_config.yml")) -> str | None:
    """``repository.url`` of the book's ``_config.yml``."""
    import yaml
    conf = yaml.safe_load(Path(config).read_text(encoding="utf-8")) if Path(config).exists() else {}
    return ((conf or {}).get("repository") or {}).get("url")


def workflow_commands(workflow: Path, repository: str | None = None) -> list[str]:
    """The shell commands of the publishing workflow's ``run`` steps, in order, up to its first
    step after them that uses an action (the upload), with ``${{ github.repository }}`` set to
    ``repository`` (OWNER/NAME)."""
    import yaml
    flow = yaml.safe_load(Path(workflow).read_text(encoding="utf-8"))
    (job,) = flow["jobs"].values()
    commands, started = [], False
    for step in job["steps"]:
        if "run" in step:
            started = True
            commands.append(step["run"].strip().replace("${{ github.repository }}", repository or ""))
        elif started:
            break
    return commands


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", default="_build/html", type=Path)
    ap.add_argument("--student", default="_build/student/html", type=Path)
    ap.add_argument("--out", default="_build/site", type=Path)
    ap.add_argument("--config", default="_config.yml", type=Path)
    ap.add_argument("--check-repository", metavar="OWNER/NAME",
                    help="stop unless _config.yml's repository.url is this GitHub repository")
    ap.add_argument("--run-workflow", metavar="WORKFLOW", type=Path,
                    help="run the workflow's commands here, in order, all but its upload")
    args = ap.parse_args(argv)
    url = repository_url(args.config)
    if args.check_repository is not None:
        parts = repository_parts(url)
        if parts is None or "/".join(parts).lower() != args.check_repository.lower():
            sys.exit(f"_config.yml's repository.url is {url}, but this is {args.check_repository}: "
                     "set repository.url to this repository's address")
        print(f"repository.url names this repository ({args.check_repository})")
        return
    if args.run_workflow is not None:
        import subprocess
        parts = repository_parts(url)
        for command in workflow_commands(args.run_workflow, "/".join(parts) if parts else ""):
            print(f"$ {command}", flush=True)
            subprocess.run(command, shell=True, check=True)
        print("every step of the workflow before its upload ran")
        return
    out = assemble(args.html, args.student, args.out)
    problems = missing_notebooks(out, url)
    if problems:
        sys.exit("the site is incomplete:\n  " + "\n  ".join(problems))
    print(f"the site is in {out}: the full edition at its root, the student edition in {STUDENT_DIR}/")


if __name__ == "__main__":
    main(sys.argv[1:])
