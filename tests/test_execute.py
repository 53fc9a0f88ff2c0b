"""Pages executed before the build (``cnnbook_lib.execute``) in kernels forked from a warm process
(``cnnbook_lib.forkkernel``). The oracles: an ordinary ipykernel started by Jupyter (the same
notebook must give the same outputs), and Jupyter Book itself (after the pages are executed into
its cache, its build must run none of them again)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from cnnbook_lib import execute, forkkernel

ROOT = Path(__file__).resolve().parents[1]

PAGE = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A page

```{code-cell} ipython3
import os, sys
print(os.path.exists("page.md"), os.path.basename(os.getcwd()))
print(os.environ.get("CNNBOOK_TEST_MARK"), sys.path[:1])
```

```{code-cell} ipython3
import torch
torch.manual_seed(0)
x = torch.randn(1, 3, 16, 16)
w = torch.randn(4, 3, 3, 3)
print(torch.get_num_threads() == os.cpu_count(), round(float(torch.conv2d(x, w).sum()), 3))
```

```{code-cell} ipython3
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(2, 1))
ax.plot([0, 1], [1, 0])
plt.show()
```

```{code-cell} ipython3
from myst_nb import glue
glue("answer", 42)
"loaded before this page" if "pandas" in sys.modules else "not loaded"
```
"""


@pytest.fixture(scope="module")
def warm():
    with execute.WarmKernels() as kernels:
        yield kernels


def _outputs(nb) -> list:
    """Every output of every code cell, without what differs between two runs of one kernel."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for output in cell.outputs:
                output = dict(output)
                output.pop("execution_count", None)
                if "data" in output:
                    data = dict(output["data"])
                    if "image/png" in data:               # same picture size, bytes may differ
                        data["image/png"] = len(data["image/png"]) > 100
                    output["data"] = data
                found.append(json.loads(json.dumps(output)))
    return found


def _run_in(path: Path, env: dict) -> nbformat.NotebookNode:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from jupyter_cache.executors.utils import single_nb_execution
        notebook = execute.read_page(path, execute.book_settings()["extensions"])
        result = single_nb_execution(notebook, cwd=str(path.parent), timeout=60, allow_errors=False)
        assert result.err is None, result.exc_string
        return notebook
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_a_forked_kernel_gives_the_outputs_of_an_ordinary_kernel(warm, tmp_path, monkeypatch):
    folder = tmp_path / "pages"
    folder.mkdir()
    page = folder / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    monkeypatch.setenv("CNNBOOK_TEST_MARK", "seen")
    forked = _outputs(_run_in(page, {}))                    # the warm kernels are in effect
    ordinary_env = {"JUPYTER_PATH": "", forkkernel.SERVER_ENV: ""}
    ordinary = _outputs(_run_in(page, ordinary_env))
    assert forked[0]["text"].startswith("True pages\nseen ")   # its folder, the caller's environment
    assert forked[1]["text"].startswith("True ")             # torch's threads, as in a new process
    assert forked[2]["output_type"] == "display_data" and forked[2]["data"]["image/png"] is True
    assert forked[3]["metadata"]["scrapbook"]["name"] == "answer"
    # the one intended difference: the warm kernel has pandas imported before the page runs
    assert forked[-1]["data"]["text/plain"] == "'loaded before this page'"
    assert ordinary[-1]["data"]["text/plain"] == "'not loaded'"
    assert forked[:-1] == ordinary[:-1]


def test_a_forked_kernel_starts_with_the_slow_imports_done(warm):
    """What makes it start fast (timed in the closing notes, not asserted here): torch, sympy and
    matplotlib are imported before the kernel runs its first cell; an ordinary kernel has none."""
    probe = "import sys; print(sorted(m for m in ('torch', 'sympy', 'matplotlib') if m in sys.modules))"

    def first_cell(env):
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            manager, client = start_new_kernel(kernel_name="python3")
            out = []
            try:
                client.execute_interactive(probe, timeout=120, output_hook=out.append)
            finally:
                client.stop_channels()
                manager.shutdown_kernel(now=True)
            return [m["content"]["text"] for m in out if m["msg_type"] == "stream"]
        finally:
            os.environ.clear()
            os.environ.update(saved)
    assert first_cell({}) == ["['matplotlib', 'sympy', 'torch']\n"]
    assert first_cell({"JUPYTER_PATH": "", forkkernel.SERVER_ENV: ""}) == ["[]\n"]


def test_an_interrupt_reaches_the_forked_kernel(warm):
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        assert manager.kernel_spec.argv[2] == "cnnbook_lib.forkkernel"
        msg_id = client.execute("import time\ntime.sleep(60)")
        time.sleep(1.0)
        start = time.perf_counter()
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = client.get_shell_msg(timeout=30)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.perf_counter() - start < 10
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_kernel_whose_launcher_is_killed_exits(warm):
    pids = []
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        reply = client.execute_interactive("import os; print(os.getpid())", timeout=30,
                                           output_hook=lambda msg: pids.append(msg))
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
    kernel_pid = int(next(m["content"]["text"] for m in pids if m["msg_type"] == "stream"))
    assert kernel_pid != manager.provisioner.process.pid      # forked, not the launcher
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(kernel_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the kernel outlived its launcher")
    manager.cleanup_resources()


def test_the_launcher_starts_an_ordinary_kernel_when_no_warm_process_listens(tmp_path, monkeypatch):
    forkkernel.kernel_spec(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv(forkkernel.SERVER_ENV, str(tmp_path / "nobody.sock"))
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        assert manager.kernel_spec.argv[2] == "cnnbook_lib.forkkernel"
        out = []
        client.execute_interactive("import sys; print('torch' in sys.modules)", timeout=60,
                                   output_hook=lambda msg: out.append(msg))
        assert [m["content"]["text"] for m in out if m["msg_type"] == "stream"] == ["False\n"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_book_pages_are_the_notebooks_of_the_table_of_contents():
    pages = execute.book_pages()
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert pages and all(p.exists() for p in pages)
    assert len(set(pages)) == len(pages)
    for page in pages:
        assert str(page.relative_to(ROOT).with_suffix("")) in toc
        assert "kernelspec:" in page.read_text(encoding="utf-8")[:400]
    # every chapter page with code is there: a source with a code cell that is not listed would
    # not be executed before the build
    listed = {p.relative_to(ROOT) for p in pages}
    for source in (ROOT / "chapters").rglob("*.md"):
        text = source.read_text(encoding="utf-8")
        if "```{code-cell}" in text and source.relative_to(ROOT).with_suffix("").as_posix() in toc:
            assert source.relative_to(ROOT) in listed


BOOK_CONFIG = """\
title: Tiny
execute:
  execute_notebooks: cache
  timeout: 60
  allow_errors: false
parse:
  myst_enable_extensions: [amsmath, dollarmath, colon_fence, deflist, substitution]
only_build_toc_files: true
"""

TOC = """\
format: jb-book
root: intro
chapters:
  - file: one
  - file: sub/two
"""


def test_the_book_build_runs_no_page_that_was_executed_before(warm, tmp_path):
    book = tmp_path / "book"
    (book / "sub").mkdir(parents=True)
    (book / "_config.yml").write_text(BOOK_CONFIG, encoding="utf-8")
    (book / "_toc.yml").write_text(TOC, encoding="utf-8")
    (book / "intro.md").write_text("# Tiny\n\nNo code here.\n", encoding="utf-8")
    (book / "one.md").write_text(PAGE.replace("# A page", "# One\n\nThe answer is {glue:text}`answer`."),
                                 encoding="utf-8")
    (book / "sub" / "two.md").write_text(PAGE.replace("# A page", "# Two\n\n$$x^2$$\n\n:::{note}\nA fence.\n:::")
                                         .replace("glue(\"answer\", 42)", "glue(\"answer2\", 43)"),
                                         encoding="utf-8")
    cache = execute.cache_folder(book)           # where the build below looks
    # warm=False: the kernels come from the module's warm process all the same (its kernel spec
    # and socket are in the environment), rather than from a second one started for this call
    result = execute.execute(root=book, cache_path=cache, jobs=2, warm=False, progress=lambda *_: None)
    assert sorted(result["ran"]) == ["one.md", "sub/two.md"] and not result["failed"]
    again = execute.execute(root=book, cache_path=cache, jobs=2, progress=lambda *_: None)
    assert sorted(again["cached"]) == ["one.md", "sub/two.md"] and not again["ran"]
    jb = Path(sys.executable).with_name("jupyter-book")
    log = subprocess.run([str(jb), "build", str(book), "--builder", "html", "-W", "-n", "-v"],
                         capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, JUPYTER_PATH="", **{forkkernel.SERVER_ENV: ""}))
    assert log.returncode == 0, log.stdout[-3000:] + log.stderr[-3000:]
    text = log.stdout + log.stderr
    assert "Executing notebook" not in text
    assert text.count("Using cached notebook") == 2
    html = (cache.parent / "html" / "one.html").read_text(encoding="utf-8")
    assert 'The answer is <span class="pasted-text">42</span>' in html      # the glued value


def test_a_failing_page_is_reported_not_cached_and_fails_the_command(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(BOOK_CONFIG, encoding="utf-8")
    (book / "_toc.yml").write_text("format: jb-book\nroot: bad\n", encoding="utf-8")
    (book / "bad.md").write_text(PAGE + "\n```{code-cell} ipython3\nraise ValueError('on purpose')\n```\n",
                                 encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "cnnbook_lib.execute", "--root", str(book), "--cold"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "ValueError: on purpose" in re.sub(r"\x1b\[[0-9;]*m", "", run.stdout)    # colours off
    assert "1 failed: bad.md" in run.stdout
    from jupyter_cache import get_cache
    assert get_cache(str(execute.cache_folder(book))).list_cache_records() == []   # not cached
