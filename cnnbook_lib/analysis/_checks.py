"""Argument checks of the analysis functions: those of :mod:`cnnbook_lib.validation`, under the
names this package uses."""
from __future__ import annotations

from ..validation import (MAX_DIM, MAX_META_NUMEL, MAX_REAL_NUMEL,  # noqa: F401
                          TRACE_DTYPES, check_device, check_dtype, check_int, check_shape,
                          check_str, check_trace_dtype)
from ..validation import check_flag as check_bool  # noqa: F401
