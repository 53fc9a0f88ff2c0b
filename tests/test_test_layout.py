"""``make test`` runs the library's tests beside the book builds and the tests of the built book
after them (Makefile, ``BUILT_BOOK_TESTS``): a test file that reads ``_build`` but is missing from
that list would run before the book exists."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _listed() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    m = re.search(r"^BUILT_BOOK_TESTS\s*:=\s*(.+)$", makefile, re.M)
    assert m, "the Makefile defines BUILT_BOOK_TESTS"
    return set(m.group(1).split())


def test_every_test_of_the_built_book_waits_for_the_build():
    reading = {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")
               if re.search(r"""["'/]_build\b""", p.read_text(encoding="utf-8"))}
    assert reading, "the book's tests read _build"
    assert reading == _listed(), "update BUILT_BOOK_TESTS in the Makefile"
    assert all((ROOT / name).exists() for name in _listed())
