"""Execute the book's pages before Jupyter Book builds it: several at a time, each in a kernel
forked from a warm process (:mod:`cnnbook_lib.forkkernel`), into the execution cache the build
reads (``execute_notebooks: cache`` in ``_config.yml``).

    python -m cnnbook_lib.execute [--jobs N] [--cache _build/.jupyter_cache]

Jupyter Book executes one page at a time, each in a new kernel that spends seconds importing
torch, sympy and matplotlib before the page's first line runs. Here the pages run ``--jobs`` at a
time, and their kernels start with those imports done. Each page is read as myst-nb reads it and
executed as myst-nb executes it (its folder as working directory, the book's cell timeout, no
error allowed), then stored in jupyter-cache under the key myst-nb looks up, so the build that
follows finds every page executed and runs nothing again. A page already in the cache with the
same code is not run again; a page that fails is reported with its traceback and left out of the
cache, and the build then runs it again and reports it as it always does.

Exit status: 0 when every page ran, 1 when some page failed.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Pages executed at a time unless asked otherwise: one per core, at most this many (each runs in a
#: process of its own, with its own memory).
MAX_DEFAULT_JOBS = 4


def book_pages(root: Path = ROOT) -> list[Path]:
    """The pages of the table of contents (``_toc.yml``) that are notebooks (MyST Markdown with a
    kernel in its front matter, or ``.ipynb``), in the order of the table of contents."""
    import yaml
    from myst_nb.core.read import is_myst_markdown_notebook

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    names.append(node[key])
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(toc)
    pages = []
    for name in names:
        for suffix in (".md", ".ipynb"):
            path = root / f"{name}{suffix}"
            if path.exists():
                if suffix == ".ipynb" or is_myst_markdown_notebook(path.read_text(encoding="utf-8")):
                    pages.append(path)
                break
    return pages


def book_settings(root: Path = ROOT) -> dict:
    """What the build's execution follows, from ``_config.yml``: the Markdown extensions (they
    decide how a page is cut into cells), the cell timeout and whether errors are allowed."""
    import yaml
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    execute = config.get("execute", {}) or {}
    return {"extensions": list((config.get("parse", {}) or {}).get("myst_enable_extensions", [])),
            "timeout": execute.get("timeout", 30), "allow_errors": bool(execute.get("allow_errors", False)),
            "mode": execute.get("execute_notebooks", "auto")}


def cache_folder(root: Path = ROOT) -> Path:
    """Where Jupyter Book keeps a book's execution cache when it builds into the book's own folder."""
    return Path(root) / "_build" / ".jupyter_cache"


def read_page(path: Path, extensions: list[str]):
    """The page as myst-nb's reader makes it (the notebook whose code the cache key hashes)."""
    import nbformat
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return nbformat.reads(text, as_version=4)
    return read_myst_markdown_notebook(text, config=MdParserConfig(enable_extensions=set(extensions)),
                                       add_source_map=True, path=str(path))


def _run_one(source: str, cwd: str, timeout: int, allow_errors: bool) -> tuple[str, float, str | None]:
    """In a worker: execute one notebook (JSON) as myst-nb would; returns the executed notebook
    (JSON), the seconds it took, and the traceback if it failed."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = nbformat.reads(source, as_version=4)
    result = single_nb_execution(notebook, cwd=cwd, timeout=timeout, allow_errors=allow_errors,
                                 meta_override=True)
    error = None
    if result.err is not None:
        error = result.exc_string or f"{type(result.err).__name__}: {result.err}"
    return nbformat.writes(notebook), result.time, error


class WarmKernels:
    """A warm process (:func:`cnnbook_lib.forkkernel.serve`) and a kernel spec ``python3`` that
    starts its kernels from it, in effect (``JUPYTER_PATH``, ``CNNBOOK_KERNEL_SERVER``) inside the
    ``with`` block."""

    def __enter__(self):
        from cnnbook_lib import forkkernel
        self._dir = tempfile.TemporaryDirectory(prefix="cnnbook-kernels-")
        folder = self._dir.name
        forkkernel.kernel_spec(folder)
        self.socket = os.path.join(folder, "warm.sock")
        self._saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", forkkernel.SERVER_ENV)}
        self.process = subprocess.Popen([sys.executable, "-m", "cnnbook_lib.forkkernel", "serve", self.socket],
                                        stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        line = self.process.stdout.readline().strip()
        if line != "ready":
            self.process.kill()
            self._dir.cleanup()
            raise RuntimeError("the warm kernel process did not start (run `python -m "
                               "cnnbook_lib.forkkernel serve /tmp/s` to see why)")
        paths = [folder] + ([self._saved["JUPYTER_PATH"]] if self._saved["JUPYTER_PATH"] else [])
        os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
        os.environ[forkkernel.SERVER_ENV] = self.socket
        return self

    def __exit__(self, *exc):
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._dir.cleanup()
        return False


def execute(root: Path = ROOT, cache_path: Path | None = None, jobs: int | None = None,
            warm: bool = True, pages: list[Path] | None = None, progress=print) -> dict:
    """Execute every page of the book that the cache at ``cache_path`` does not hold yet into it.
    Returns ``{"ran": {page: seconds}, "cached": [page...], "failed": {page: traceback},
    "seconds": wall time}``, pages relative to ``root``."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    import nbformat

    root = Path(root)
    settings = book_settings(root)
    if settings["mode"] not in ("cache",):
        raise ValueError(f"_config.yml executes pages with execute_notebooks: {settings['mode']}; "
                         "only 'cache' reads what this stores")
    cache_path = Path(cache_path).resolve() if cache_path else cache_folder(root)
    cache = get_cache(str(cache_path))
    jobs = max(1, jobs or min(os.cpu_count() or 1, MAX_DEFAULT_JOBS))
    pages = book_pages(root) if pages is None else [Path(p).resolve() for p in pages]
    times_file = cache_path.parent / ".page-seconds.json"
    try:
        previous = json.loads(times_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}

    def rel(path: Path) -> str:
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    todo, cached = [], []
    for path in pages:
        notebook = read_page(path, settings["extensions"])
        try:
            cache.match_cache_notebook(notebook)
            cached.append(rel(path))
        except KeyError:
            todo.append((path, notebook))
    # The longest first (as they last took, else by the length of their code): the last pages to
    # finish are then short ones, and the workers finish together.
    def expected(item):
        path, notebook = item
        return previous.get(rel(path), sum(len(c.source) for c in notebook.cells if c.cell_type == "code") / 500)
    todo.sort(key=expected, reverse=True)

    ran, failed = {}, {}
    start = time.perf_counter()
    jobs = min(jobs, max(1, len(todo)))
    if todo:
        progress(f"executing {_pages(len(todo))}, {jobs} at a time"
                 + (f" ({len(cached)} already in the cache)" if cached else "")
                 + (", in kernels forked from a warm process" if warm else ""))
    context = WarmKernels() if warm and todo else None
    try:
        if context is not None:
            context.__enter__()
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=jobs,
                                                      mp_context=multiprocessing.get_context("spawn"))
        with pool:
            futures = {pool.submit(_run_one, nbformat.writes(notebook), str(path.parent), settings["timeout"],
                                   settings["allow_errors"]): (path, notebook) for path, notebook in todo}
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                path, notebook = futures[future]
                try:
                    executed, seconds, error = future.result()
                except Exception as exc:              # the worker itself died
                    executed, seconds, error = None, 0.0, f"{type(exc).__name__}: {exc}"
                if error is None:
                    cache.cache_notebook_bundle(
                        CacheBundleIn(nbformat.reads(executed, as_version=4), str(path),
                                      data={"execution_seconds": seconds}),
                        check_validity=False, overwrite=True)
                    ran[rel(path)] = seconds
                    progress(f"[{done}/{len(todo)}] {rel(path)}: {seconds:.1f} s")
                else:
                    failed[rel(path)] = error
                    progress(f"[{done}/{len(todo)}] {rel(path)}: FAILED\n{error}")
    finally:
        if context is not None:
            context.__exit__(None, None, None)
    seconds = time.perf_counter() - start
    if ran:
        previous.update(ran)
        times_file.parent.mkdir(parents=True, exist_ok=True)
        times_file.write_text(json.dumps(previous, indent=1, sort_keys=True), encoding="utf-8")
    return {"ran": ran, "cached": cached, "failed": failed, "seconds": seconds}


def _pages(n: int) -> str:
    return f"{n} page" + ("" if n == 1 else "s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help=f"pages executed at a time (default: one per CPU core, at most {MAX_DEFAULT_JOBS})")
    parser.add_argument("--cache", type=Path, default=None,
                        help="the build's jupyter-cache folder (default: _build/.jupyter_cache)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (default: this repository)")
    parser.add_argument("--cold", action="store_true",
                        help="start every kernel as Jupyter does (no warm process)")
    parser.add_argument("pages", nargs="*", type=Path, help="these pages only (default: every page of _toc.yml)")
    args = parser.parse_args(argv)
    result = execute(root=args.root.resolve(), cache_path=args.cache, jobs=args.jobs, warm=not args.cold,
                     pages=args.pages or None)
    busy = sum(result["ran"].values())
    print(f"executed {_pages(len(result['ran']))} in {result['seconds']:.0f} s ({busy:.0f} s of page time)"
          f"; {len(result['cached'])} already cached; {len(result['failed'])} failed"
          + (": " + ", ".join(result["failed"]) if result["failed"] else ""))
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
