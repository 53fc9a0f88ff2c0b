"""Argument checks shared by the whole library: one function per kind of argument.

Every public function of :mod:`cnnbook_lib` checks its arguments with these functions, so the
same bad value gets the same error wherever it is passed. One error type per kind of mistake:

* :class:`TypeError` when the argument has the wrong *type*: ``"3"``, ``3.0``, ``True`` or
  ``None`` where an integer is expected (a bool is not accepted as a number, and a float is
  not accepted as an integer even when it is whole); ``"False"`` or ``1`` where a flag is
  expected; ``3`` where a name (a string) is expected.
* :class:`ValueError` when the type is right but the *value* is out of range: ``0`` or ``-1``
  where a positive integer is expected, ``nan`` or ``inf`` where a positive number is expected,
  ``"adamw"`` where one of ``"sgd"``, ``"momentum"``, ``"adam"`` is expected.

Every message names the parameter, as the caller spells it (``"kernel k"``, ``"stride"``), and
says what is valid: ``kernel k must be a positive integer (>= 1), got 0``.

Largest integers. :data:`MAX_INT` is ``2**63 - 1``: tensor sizes in torch are int64, so a size
or count beyond it cannot describe a tensor and is refused. A function whose work grows with a
size passes a smaller ``maximum`` of its own and documents it (the receptive-field functions
accept kernel sizes, strides, paddings, dilations and input extents up to :data:`MAX_EXTENT`,
``2**20``, since they build index arrays of that length; the timing harness caps repeats and
threads). The limit is part of the message, so the caller sees why the value is refused.

Integers are accepted as Python ``int`` and anything with ``__index__`` (NumPy and torch
integer scalars); flags as ``bool`` and NumPy booleans; numbers as any real number except
``bool``.
"""
from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Callable, Iterable, Sequence

__all__ = ["MAX_INT", "MAX_EXTENT", "check_int", "check_flag", "check_positive", "check_nonnegative",
           "check_number",
           "check_choice", "check_str", "check_callable", "check_per_axis", "check_module",
           "check_dtype", "check_trace_dtype", "check_shape", "check_device", "TRACE_DTYPES",
           "MAX_DIM", "MAX_META_NUMEL", "MAX_REAL_NUMEL"]

#: Largest integer a size or count may be: torch's sizes are int64.
MAX_INT = 2 ** 63 - 1
#: Largest kernel, stride, dilation, padding or input extent of a receptive-field computation.
MAX_EXTENT = 2 ** 20


def _type_name(value: Any) -> str:
    return type(value).__name__


# ---------------------------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------------------------

def check_int(name: str, value: Any, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``.

    TypeError for a bool, float, string, None or any other non-integer; ValueError for an
    integer outside the range.
    """
    if type(value) is not int:                 # the fast path: a plain int
        try:
            if isinstance(value, bool):
                raise TypeError
            value = operator.index(value)      # ints and NumPy integers; not floats or strings
        except TypeError:
            raise TypeError(f"{name} must be an integer, got {value!r} "
                            f"({_type_name(value)})") from None
    if value < minimum:
        if minimum == 1:
            raise ValueError(f"{name} must be a positive integer (>= 1), got {value}")
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}, got {value:,}")
    return value


def check_flag(name: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False`` (or a NumPy bool); TypeError for ``"False"``,
    ``1``, ``None`` and every other value."""
    if value is True or value is False:
        return value
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def _real(name: str, value: Any, what: str) -> float:
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {value!r} ({_type_name(value)})")
    try:
        return float(value)
    except OverflowError:                      # an int too large for a float
        raise ValueError(f"{name} must be {what}, got {value!r}") from None


def check_positive(name: str, value: Any) -> float:
    """``value`` as a positive finite ``float``.

    TypeError for a bool, string, None or complex; ValueError for zero, a negative number,
    ``nan`` or ``inf``.
    """
    value = _real(name, value, "a positive finite number")
    if not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def check_nonnegative(name: str, value: Any) -> float:
    """``value`` as a finite ``float`` >= 0 (a momentum, a weight decay).

    TypeError for a bool, string, None or complex; ValueError for a negative number, ``nan``
    or ``inf``.
    """
    value = _real(name, value, "a finite number >= 0")
    if not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_number(name: str, value: Any, low: float, high: float, low_open: bool = True,
                 high_open: bool = False) -> float:
    """``value`` as a ``float`` in the interval from ``low`` to ``high``: ``(low, high]`` by
    default, a bound included or not as ``low_open`` and ``high_open`` say.

    TypeError for a bool, string, None or complex; ValueError for ``nan`` or a number outside
    the interval.
    """
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    value = _real(name, value, f"a number in {interval}")
    above = low < value if low_open else low <= value
    below = value < high if high_open else value <= high
    if not (above and below):
        raise ValueError(f"{name} must be a number in {interval}, got {value:g}")
    return value


def check_str(name: str, value: Any) -> str:
    """``value`` if it is a string; TypeError otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r} ({_type_name(value)})")
    return value


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of the strings ``choices``.

    TypeError for a value that is not a string; ValueError for a string that is not a choice.
    """
    choices = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(choices)}; got {value!r}")
    if value not in choices:
        raise ValueError(f"{name} {value!r} is unknown; valid: {', '.join(choices)}")
    return value


def check_callable(name: str, value: Any) -> Callable:
    """``value`` if it is callable; TypeError otherwise."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {value!r}")
    return value


def check_per_axis(name: str, value: Any, minimum: int, length: int | None = None,
                   maximum: int = MAX_INT) -> tuple[int, ...]:
    """An int, or a non-empty tuple/list of ints (one per axis), as a tuple of ints in
    ``[minimum, maximum]``; ValueError for an empty tuple or one of the wrong ``length``."""
    if isinstance(value, (tuple, list)):
        if not value or (length is not None and len(value) != length):
            want = "a non-empty tuple" if length is None else f"{length} values"
            raise ValueError(f"{name} must be an int or {want}, got {value!r}")
        return tuple(check_int(name, v, minimum, maximum) for v in value)
    return (check_int(name, value, minimum, maximum),)


# ---------------------------------------------------------------------------------------------
# Torch objects (torch is imported only when one of these is called)
# ---------------------------------------------------------------------------------------------

def check_module(name: str, value: Any):
    """``value`` if it is a ``torch.nn.Module``; TypeError otherwise."""
    from torch import nn
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {_type_name(value)}")
    return value


#: Floating dtypes a traced model can run in.
TRACE_DTYPES = ("float16", "bfloat16", "float32", "float64")


def check_dtype(name: str, value: Any) -> str:
    """A dtype name (``"float32"``) or ``torch.dtype``, returned as the name; TypeError for
    another type, ValueError for a name the library does not know."""
    if type(value).__name__ == "dtype" and type(value).__module__ == "torch":
        value = str(value).replace("torch.", "")
    from .formulas.memory import DTYPE_BYTES          # the library's list of dtypes
    return check_choice(name, value, DTYPE_BYTES)


def check_trace_dtype(name: str, value: Any):
    """A floating dtype a trace can run in, as a ``torch.dtype``."""
    import torch
    text = check_dtype(name, value)
    if text not in TRACE_DTYPES:
        raise ValueError(f"{name} {value!r} cannot run a trace; valid: {', '.join(TRACE_DTYPES)}")
    return getattr(torch, text)


#: Largest traced input: 2**31 - 1 per dimension and 2**40 elements on meta (shapes only),
#: 2**28 elements (1 GiB of float32) for a real trace.
MAX_DIM, MAX_META_NUMEL, MAX_REAL_NUMEL = 2 ** 31 - 1, 2 ** 40, 2 ** 28


def check_shape(name: str, value: Any, real: bool) -> tuple[int, ...]:
    """A full input shape, batch first: a non-empty tuple, list or ``torch.Size`` of positive
    integers (at most :data:`MAX_DIM` each) with at most :data:`MAX_REAL_NUMEL` elements for a
    ``real`` trace and :data:`MAX_META_NUMEL` for a meta-device one."""
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a tuple of positive integers such as (1, 3, 224, 224), "
                        f"got {value!r}")
    if len(value) == 0:
        raise ValueError(f"{name} must not be empty: give the full shape, batch first, "
                         f"such as (1, 3, 224, 224)")
    shape = tuple(check_int(f"{name} entry", v, 1, MAX_DIM) for v in value)
    if len(shape) < 2:
        raise ValueError(f"{name} must include the batch dimension, got {tuple(value)}: "
                         f"for one image use (1, C, H, W)")
    if len(shape) > 8:
        raise ValueError(f"{name} has {len(shape)} dimensions; at most 8 are supported")
    numel, limit = math.prod(shape), MAX_REAL_NUMEL if real else MAX_META_NUMEL
    if numel > limit:
        raise ValueError(f"{name} {shape} has {numel:,} elements, more than the {limit:,} "
                         f"a {'real' if real else 'meta-device'} trace accepts")
    return shape


def check_device(name: str, value: Any):
    """``"meta"`` (shapes only), ``"cpu"``, or an available CUDA device, as a ``torch.device``;
    TypeError for a value that is neither a string nor a device."""
    import torch
    if isinstance(value, torch.device):
        dev = value
    else:
        check_str(name, value)
        try:
            dev = torch.device(value)
        except RuntimeError:
            raise ValueError(f"{name} {value!r} is not a device; use 'meta' or 'cpu'") from None
    if dev.type not in ("meta", "cpu", "cuda"):
        raise ValueError(f"{name} {value!r} is not supported; use 'meta', 'cpu' or 'cuda'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} {value!r}: CUDA is not available on this machine")
    return dev
