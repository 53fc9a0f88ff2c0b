"""Automatic answer checks for the book's exercises.

Each numeric exercise registers one :class:`Check`: the right answer, computed by the library (never
typed in), and the wrong answers that typical mistakes produce, each with a hint. A student calls

>>> from cnnbook_lib.exercises import check
>>> check("conv-out-size-1", 55)                     # doctest: +SKIP
Correct: 55.

and an instructor lists every check with :func:`list_checks`. The checks of chapter N live in
``chN.py``; the registry and the answer parsing in ``_core.py``.
"""
from __future__ import annotations

from ._core import CHECKS, Check, Result, check, list_checks, register
from . import ch1, ch2, ch3, ch4  # noqa: F401  (each registers its chapter's checks)
from .ch3 import RANK_KERNEL
from .ch4 import (FILL_IN_TABLES, TABLE_COLUMNS, fill_in_check_id, fill_in_table,  # noqa: F401
                  layer_table)

__all__ = ["CHECKS", "Check", "Result", "check", "list_checks", "register", "RANK_KERNEL",
           "FILL_IN_TABLES", "TABLE_COLUMNS", "fill_in_check_id", "fill_in_table", "layer_table"]
