"""Argument checks of the receptive-field functions: those of :mod:`cnnbook_lib.validation`,
under the names this package uses. Sizes are capped at ``MAX_INT`` (``validation.MAX_EXTENT``,
2**20): the functions build index arrays of that length."""
from __future__ import annotations

from ..validation import MAX_EXTENT as MAX_INT
from ..validation import check_int, check_per_axis
from ..validation import check_module as module  # noqa: F401
from ..validation import check_number as number  # noqa: F401


def integer(name: str, value, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (see :func:`validation.check_int`)."""
    return check_int(name, value, minimum, maximum)


def per_axis(name: str, value, minimum: int, length: int | None = None) -> tuple[int, ...]:
    """An int or a non-empty tuple/list of ints (one per axis), each at most ``MAX_INT``."""
    return check_per_axis(name, value, minimum, length, MAX_INT)
