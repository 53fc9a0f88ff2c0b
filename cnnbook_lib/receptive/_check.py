"""Argument checks of the public functions: errors name the parameter."""
from __future__ import annotations

import operator

from torch import nn

#: Largest kernel, stride, dilation, padding or input extent accepted (larger ones are typos).
MAX_INT = 2 ** 20


def integer(name: str, value, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """``value`` as an int in ``[minimum, maximum]``; bools, floats and strings are refused."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got the bool {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r} "
                        f"({type(value).__name__})") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {value}")
    return value


def per_axis(name: str, value, minimum: int, length: int | None = None) -> tuple[int, ...]:
    """An int or a non-empty tuple/list of ints (one per axis)."""
    if isinstance(value, (tuple, list)):
        if not value or (length is not None and len(value) != length):
            want = "a non-empty tuple" if length is None else f"{length} values"
            raise ValueError(f"{name} must be an int or {want}, got {value!r}")
        return tuple(integer(name, v, minimum) for v in value)
    return (integer(name, value, minimum),)


def module(name: str, value) -> nn.Module:
    """A ``torch.nn.Module``."""
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def number(name: str, value, low: float, high: float, low_open: bool = True) -> float:
    """A real number in ``(low, high]`` (``[low, high]`` if not ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (low < value <= high if low_open else low <= value <= high):
        interval = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return float(value)
