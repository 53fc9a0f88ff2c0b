"""Argument checks of the analysis functions: every error names the parameter and its value."""
from __future__ import annotations

import operator

import torch

from .. import formulas as F

#: Floating dtypes a trace can run in.
TRACE_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
                "float64": torch.float64}


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """An integer (not a bool, not a float) in ``[minimum, maximum]``."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        value = operator.index(value)          # ints and NumPy integers
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        if minimum == 1:
            raise ValueError(f"{name} must be a positive integer (>= 1), got {value}")
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum:,}, got {value:,}")
    return value


def check_bool(name: str, value) -> bool:
    """A flag: ``True`` or ``False`` (NumPy booleans too), never ``"False"``, 0 or None."""
    if isinstance(value, bool):
        return value
    import numpy as np
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_str(name: str, value) -> str:
    """A string."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    return value


def check_dtype(name: str, value) -> str:
    """A dtype name (``"float32"``) or ``torch.dtype``; returns the name."""
    if isinstance(value, torch.dtype):
        value = str(value).replace("torch.", "")
    check_str(name, value)
    F.bytes_per_element(value)                  # the library's list; its error names the dtype
    return value


def check_trace_dtype(name: str, value) -> torch.dtype:
    """A floating dtype the trace can run in."""
    text = check_dtype(name, value)
    if text not in TRACE_DTYPES:
        raise ValueError(f"{name} {value!r} cannot run a trace; valid: {', '.join(TRACE_DTYPES)}")
    return TRACE_DTYPES[text]


#: Largest traced input: 2**31 - 1 per dimension and 2**40 elements on meta (shapes only),
#: 2**28 elements (1 GiB of float32) for a real trace.
MAX_DIM, MAX_META_NUMEL, MAX_REAL_NUMEL = 2 ** 31 - 1, 2 ** 40, 2 ** 28


def check_shape(name: str, value, real: bool) -> tuple[int, ...]:
    """A full input shape: a non-empty tuple/list/``torch.Size`` of positive integers."""
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list,
                                                                                  torch.Size)):
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
    numel, limit = 1, MAX_REAL_NUMEL if real else MAX_META_NUMEL
    for v in shape:
        numel *= v
    if numel > limit:
        raise ValueError(f"{name} {shape} has {numel:,} elements, more than the {limit:,} "
                         f"a {'real' if real else 'meta-device'} trace accepts")
    return shape


def check_device(name: str, value) -> torch.device:
    """``"meta"`` (default, shapes only), ``"cpu"``, or an available CUDA device."""
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
