"""The live path in a real client: JupyterLab on 127.0.0.1, a notebook made from a chapter page,
the interactive run in a kernel, a slider moved in Chromium, the value read from the page and then
from the kernel through the widget's traits.

Chromium may reach 127.0.0.1 only. JupyterLab and the kernel are those of this environment.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "01" / "03_shapes.md"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.browser

#: Appended to the notebook: reads the widget the page's cell displayed, from the kernel.
READ_TRAITS = ("w = [v for v in Out.values() if type(v).__name__ == 'ConvArithmeticWidget'][-1]\n"
               "print(f\"kernel: n={w.n} out={w.result['outputs']['out']}\")")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a notebook made from chapter page 1.3."""
    jupyter = BIN / "jupyter"
    if not jupyter.exists():
        pytest.skip("jupyter is not installed in this environment")
    root = tmp_path_factory.mktemp("lab")
    nb_path = root / "03_shapes.ipynb"
    subprocess.run([str(BIN / "jupytext"), "--to", "ipynb", str(CHAPTER), "-o", str(nb_path)],
                   check=True, capture_output=True)
    nb = json.loads(nb_path.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": READ_TRAITS})
    nb_path.write_text(json.dumps(nb))
    rendered = ROOT / "_build" / "notebooks" / "chapters" / "01" / "03_shapes.ipynb"
    if rendered.exists():                              # what `make lab` and the download serve
        (root / "rendered_03_shapes.ipynb").write_text(rendered.read_text(encoding="utf-8"), encoding="utf-8")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / ".config"), JUPYTER_RUNTIME_DIR=str(root / ".run"),
               PYTHONPATH=str(ROOT))
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--allow-root", "--LabApp.extension_manager=readonly", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("JupyterLab did not start: " + (root / "lab.log").read_text()[-2000:])
    if proc.poll() is not None:
        pytest.fail("JupyterLab exited: " + (root / "lab.log").read_text()[-2000:])
    yield base, token, nb_path.name
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_live_widget_in_jupyterlab(lab, chromium):
    from conftest import PageWatch
    base, token, notebook = lab
    context = chromium.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, base)
    try:
        page.goto(f"{base}lab/tree/{notebook}?reset&token={token}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90000)
        select = page.get_by_role("button", name="Select", exact=True)   # the kernel dialog, if asked
        try:
            select.wait_for(timeout=15000)
            select.click()
        except Exception:
            pass
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        root = page.locator('.jp-OutputArea [data-cnnbook-interactive="conv_arithmetic"]')
        root.wait_for(timeout=120000)
        out_cell = root.locator('tr[data-out="out"] td')
        assert out_cell.inner_text() == "3"                  # n=5, k=3, p=1, s=2: floor(5/2)+1
        root.locator('input[name="n"]').fill("9")            # move the slider
        page.wait_for_function("el => el.textContent === '5'", arg=out_cell.element_handle(),
                               timeout=10000)
        # the keyboard: a focused slider moves with the arrow keys (JupyterLab's own shortcuts,
        # such as ArrowUp for the cell above, must not take them), and back
        slider = root.locator('input[name="n"]')
        slider.focus()
        for key in ("ArrowRight", "ArrowUp"):
            page.keyboard.press(key)
        page.wait_for_function("el => el.value === '11'", arg=slider.element_handle(), timeout=10000)
        page.wait_for_function("el => el.textContent === '6'", arg=out_cell.element_handle(),
                               timeout=10000)                # floor((11 + 2 - 3) / 2) + 1
        for key in ("ArrowLeft", "ArrowDown"):
            page.keyboard.press(key)
        page.wait_for_function("el => el.textContent === '5'", arg=out_cell.element_handle(),
                               timeout=10000)
        # the kernel reads the same value through the widget's traits
        cells = page.locator(".jp-Notebook .jp-CodeCell")
        last = cells.nth(cells.count() - 1)                    # the appended cell (READ_TRAITS)
        output = last.locator(".jp-OutputArea").element_handle()
        page.wait_for_function("el => el.textContent.includes('kernel:') || el.textContent.includes('Error')",
                               arg=output, timeout=60000)      # Run All reached the last cell
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
        last.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")                   # run it again, staying on it
        page.wait_for_function("el => el.textContent.includes('kernel: n=9 out=5')", arg=output,
                               timeout=30000)
    except Exception as e:
        raise AssertionError(f"{e}\nconsole errors: {watch.errors[:10]}\nblocked: {watch.external[:10]}") from e
    finally:
        page.screenshot(path=str(Path(os.environ.get("CNNBOOK_SCREENSHOTS", "/tmp")) / "jupyterlab-live.png"))
        context.close()
    widget_errors = [e for e in watch.errors if "anywidget" in e.lower() or "cnnbook" in e.lower()]
    assert widget_errors == [], widget_errors


def test_rendered_notebook_reads_like_the_page(lab, chromium):
    """The notebook `make lab` opens shows the page's glued numbers and equations, not markup,
    before any cell runs."""
    import re
    from conftest import PageWatch
    base, token, _ = lab
    page_html = ROOT / "_build" / "html" / "chapters" / "01" / "03_shapes.html"
    if not (page_html.exists() and (ROOT / "_build" / "notebooks").exists()):
        message = "the book is not built (run `make book`)"
        if os.environ.get("CNNBOOK_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    pasted = [re.sub(r"<[^>]+>", "", v) for v in
              re.findall(r'<span class="pasted-text">(.*?)</span>', page_html.read_text(encoding="utf-8"))]
    number = next(v for v in pasted if re.search(r"\d", v))
    context = chromium.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    PageWatch(page, base)
    try:
        page.goto(f"{base}lab/tree/rendered_03_shapes.ipynb?reset&token={token}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-MarkdownCell .jp-RenderedMarkdown", timeout=90000)
        select = page.get_by_role("button", name="Select", exact=True)
        try:
            select.wait_for(timeout=10000)
            select.click()
        except Exception:
            pass
        page.wait_for_timeout(1500)
        text = page.locator(".jp-Notebook").inner_text()
        assert number in text, number
        assert "{glue" not in text and "{cite}" not in text and "```{" not in text
        assert page.locator(".jp-Notebook .jp-RenderedMarkdown mjx-container, "
                            ".jp-Notebook .jp-RenderedMarkdown .MathJax").count() > 0   # equations typeset
        page.screenshot(path=str(Path(os.environ.get("CNNBOOK_SCREENSHOTS", "/tmp")) / "jupyterlab-rendered.png"))
    finally:
        context.close()
