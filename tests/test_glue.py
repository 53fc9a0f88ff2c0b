"""cnnbook_lib.glue: myst-nb's glue in the build, and a glue that records nothing without myst-nb."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from cnnbook_lib import glue as G


def test_page_code_imports_the_library_glue():
    code = "import torch\nfrom myst_nb import glue\nif True:\n    from myst_nb import glue\nx = 1"
    out = G.without_myst_nb(code)
    assert "myst_nb" not in out.replace("myst-nb", "")
    assert out.splitlines()[1] == G.LIBRARY_IMPORT and out.splitlines()[3] == "    " + G.LIBRARY_IMPORT
    assert out.splitlines()[0] == "import torch" and out.endswith("x = 1")


def test_without_myst_nb_glue_records_nothing_and_shows_on_request():
    """In a Python where ``import myst_nb`` fails, the page toolkit's glue helpers still run."""
    script = textwrap.dedent("""\
        import sys
        sys.modules["myst_nb"] = None                 # import myst_nb raises ImportError
        from cnnbook_lib import glue as G, page
        assert not G.RECORDS
        assert G.glue("k", 3, display=False) is None
        assert page.glue_text("n", 12345) == "12,345"
        G.glue("shown", "a value shown")
        """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "a value shown"
