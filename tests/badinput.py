"""Bad-input harness: call a public function with one argument replaced by each bad value.

A public function must refuse a bad argument with a ``ValueError`` or ``TypeError`` (builtin, or
a subclass defined in ``cnnbook_lib``) whose message names the parameter, within one second of CPU time. It
fails the check if it returns anything, raises another exception (a sympy, numpy or torch
internal error reaching the user), raises a message that does not name the parameter, or takes
longer than the timeout (a hang in Python code is interrupted with ``signal.setitimer`` on the
main thread; a long call into C is timed when it returns).

Use it from any test file (``tests/`` is on ``sys.path`` under pytest)::

    from badinput import check_function

    def test_my_function_rejects_bad_input():
        check_function(mymodule.my_function,
                       dict(n=5, k=3, bias=True),         # a valid call, by keyword
                       kinds={"k": "pos_int"},            # optional: override the inferred kind
                       names={"n": ("input size",)},      # optional: other words that name it
                       skip=("callback",))                # optional: parameters not to perturb

``check_function`` first makes the valid call (it must succeed), then, for every parameter in
the valid call, replaces it by each value of :data:`BAD` for its kind and collects every
problem; it raises one ``AssertionError`` listing them all. The kind of a parameter is inferred
from its valid value (:func:`kind_of`): ``bool`` -> ``"flag"``, ``int`` -> ``"pos_int"`` (or
``"nonneg_int"`` when the value or the signature default is 0), ``float`` -> ``"number"``,
``str`` -> ``"choice"``, tensor -> ``"tensor"``, sequence of ints -> ``"shape"``, sequence of
floats -> ``"number_seq"``, callable -> ``"callable"``, mapping -> ``"mapping"``. Other
kinds: ``"nonneg_number"``, ``"device"``, ``"int_seq"`` (any length, entries >= 1),
``"path"``. Values that are valid for a particular parameter are dropped with
``allow={"threads": ("None",)}`` (by label); ``bad={"rotate": [("[3]", [3])]}`` replaces the
catalogue of a parameter by one's own ``(label, value)`` pairs.

``check_call(fn, kwargs, param, label, value)`` checks one call and returns a problem string or
``None``; ``bad_values(kind)`` lists ``(label, value)`` pairs (fresh objects each time).
``refuses(lambda: fn(...), TypeError, "names it")`` checks one call written out: it must raise
the given error (whose message matches the pattern) within the same CPU-time limit, and returns
the error.
"""
from __future__ import annotations

import inspect
import math
import re
import signal
import threading
import time
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch

TIMEOUT_S = 1.0
HUGE = 2 ** 80

_INT_BAD: list[tuple[str, Callable[[], Any]]] = [
    ("True", lambda: True), ("False", lambda: False),
    ("2.0", lambda: 2.0), ("2.5", lambda: 2.5), ("nan", lambda: math.nan),
    ("'3'", lambda: "3"), ("None", lambda: None), ("()", lambda: ()), ("[]", lambda: []),
    ("-1", lambda: -1), ("2**80", lambda: HUGE), ("-2**80", lambda: -HUGE),
    ("np.float64(2.0)", lambda: np.float64(2.0)), ("complex", lambda: 2 + 0j),
    ("(2.5, 3)", lambda: (2.5, 3)), ("('3', 3)", lambda: ("3", 3)),
    ("(None, 3)", lambda: (None, 3)), ("(True, 3)", lambda: (True, 3)),
    ("(-1, 3)", lambda: (-1, 3)), ("(2**80, 3)", lambda: (HUGE, 3)),
]
_ZERO_BAD = [("0", lambda: 0), ("(0, 3)", lambda: (0, 3))]
_FLAG_BAD = [
    ("'False'", lambda: "False"), ("'True'", lambda: "True"), ("''", lambda: ""),
    ("1", lambda: 1), ("0", lambda: 0), ("None", lambda: None), ("2.0", lambda: 2.0),
    ("()", lambda: ()), ("[True]", lambda: [True]),
]
_NUMBER_BAD = [
    ("True", lambda: True), ("False", lambda: False), ("'3'", lambda: "3"),
    ("None", lambda: None), ("()", lambda: ()), ("-1", lambda: -1), ("-1.5", lambda: -1.5),
    ("nan", lambda: math.nan), ("inf", lambda: math.inf), ("-inf", lambda: -math.inf),
    ("complex", lambda: 2 + 1j), ("[1.0]", lambda: [1.0]),
]
_POS_NUMBER_BAD = [("0", lambda: 0), ("0.0", lambda: 0.0)]
_CHOICE_BAD = [
    ("'no-such-value'", lambda: "no-such-value"), ("''", lambda: ""), ("None", lambda: None),
    ("3", lambda: 3), ("True", lambda: True), ("()", lambda: ()), ("['x']", lambda: ["x"]),
]
_TENSOR_BAD = [
    ("None", lambda: None), ("3", lambda: 3), ("'x'", lambda: "x"), ("True", lambda: True),
    ("nested list", lambda: [[[[1.0, 2.0], [3.0, 4.0]]]]),
    ("numpy array", lambda: np.zeros((1, 1, 4, 4))),
    ("0-d tensor", lambda: torch.tensor(1.0)), ("1-d tensor", lambda: torch.zeros(4)),
    ("2-d tensor", lambda: torch.zeros(4, 4)), ("5-d tensor", lambda: torch.zeros(1, 1, 1, 4, 4)),
    ("empty batch", lambda: torch.zeros(0, 1, 4, 4)),
    ("int64 tensor", lambda: torch.zeros(1, 1, 4, 4, dtype=torch.int64)),
    ("bool tensor", lambda: torch.zeros(1, 1, 4, 4, dtype=torch.bool)),
    ("complex tensor", lambda: torch.zeros(1, 1, 4, 4, dtype=torch.complex64)),
    ("meta tensor", lambda: torch.zeros(1, 1, 4, 4, device="meta")),
]
_SHAPE_BAD = [
    ("None", lambda: None), ("3", lambda: 3), ("'1,3,8,8'", lambda: "1,3,8,8"),
    ("()", lambda: ()), ("one entry short", lambda: (1, 3, 8)),
    ("float entry", lambda: (1, 3, 8, 8.0)), ("bool entry", lambda: (1, 3, 8, True)),
    ("str entry", lambda: (1, 3, 8, "8")), ("None entry", lambda: (1, 3, 8, None)),
    ("zero entry", lambda: (0, 3, 8, 8)), ("negative entry", lambda: (1, 3, 8, -8)),
    ("2**80 entry", lambda: (1, 3, 8, HUGE)), ("{1, 3}", lambda: {1, 3}),
]
_INT_SEQ_BAD = [
    ("None", lambda: None), ("'2'", lambda: "2"), ("()", lambda: ()),
    ("(2.5,)", lambda: (2.5,)), ("(True,)", lambda: (True,)), ("('2',)", lambda: ("2",)),
    ("(0,)", lambda: (0,)), ("(-2,)", lambda: (-2,)), ("(2**80,)", lambda: (HUGE,)),
]
_NUMBER_SEQ_BAD = [
    ("None", lambda: None), ("'1'", lambda: "1"), ("()", lambda: ()), ("3", lambda: 3),
    ("('x',)", lambda: ("x",)), ("(None,)", lambda: (None,)), ("(True,)", lambda: (True,)),
    ("(nan,)", lambda: (math.nan,)), ("(inf,)", lambda: (math.inf,)),
    ("(-1.0,)", lambda: (-1.0,)), ("(0.0,)", lambda: (0.0,)),
]
_CALLABLE_BAD = [("None", lambda: None), ("3", lambda: 3), ("'f'", lambda: "f"),
                 ("True", lambda: True)]
_MAPPING_BAD = [("None", lambda: None), ("3", lambda: 3), ("'x'", lambda: "x"),
                ("[]", lambda: []), ("{}", lambda: {}), ("True", lambda: True)]
_PATH_BAD = [("None", lambda: None), ("3", lambda: 3), ("True", lambda: True),
             ("2.5", lambda: 2.5), ("()", lambda: ()), ("['x']", lambda: ["x"])]
_DEVICE_BAD = [("'tpu'", lambda: "tpu"), ("'cuda:x'", lambda: "cuda:x"), ("''", lambda: ""),
               ("3.5", lambda: 3.5), ("True", lambda: True), ("()", lambda: ()),
               ("'meta'", lambda: "meta")]

#: Bad values by kind of parameter: ``(label, factory)`` pairs.
BAD: dict[str, list[tuple[str, Callable[[], Any]]]] = {
    "pos_int": _INT_BAD + _ZERO_BAD,
    "nonneg_int": _INT_BAD,
    "flag": _FLAG_BAD,
    "number": _NUMBER_BAD + _POS_NUMBER_BAD,
    "nonneg_number": _NUMBER_BAD,
    "choice": _CHOICE_BAD,
    "tensor": _TENSOR_BAD,
    "shape": _SHAPE_BAD,
    "int_seq": _INT_SEQ_BAD,
    "number_seq": _NUMBER_SEQ_BAD,
    "callable": _CALLABLE_BAD,
    "mapping": _MAPPING_BAD,
    "device": _DEVICE_BAD,
    "path": _PATH_BAD,
}


def bad_values(kind: str) -> list[tuple[str, Any]]:
    """``(label, value)`` pairs of the bad values of ``kind`` (fresh objects each call)."""
    if kind not in BAD:
        raise KeyError(f"unknown kind {kind!r}; known: {', '.join(BAD)}")
    return [(label, make()) for label, make in BAD[kind]]


def kind_of(value: Any, default: Any = inspect.Parameter.empty) -> str | None:
    """The kind of a parameter, inferred from a valid value (and the signature default);
    ``None`` when it cannot be inferred (e.g. a valid value of ``None``)."""
    if isinstance(value, (bool, np.bool_)):
        return "flag"
    if isinstance(value, (int, np.integer)):
        return "nonneg_int" if value == 0 or (type(default) is int and default == 0) else "pos_int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "choice"
    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, torch.device):
        return "device"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (tuple, list)) and value:
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return "shape"
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return "number_seq"
    if callable(value):
        return "callable"
    return None


class _Timeout(BaseException):
    """Raised by the alarm inside a call that runs too long (a BaseException, so that a
    library's ``except Exception`` cannot swallow it)."""


def _run_with_timeout(fn: Callable[[], Any], timeout: float) -> tuple[str, Any, float]:
    """Run ``fn()``; return (``"returned"`` | ``"raised"`` | ``"timeout"``, value, seconds).

    The limit is on the CPU time the process spends (``time.process_time``), so that a call
    which waits for a core on a busy machine is not taken for a slow one; a call that blocks
    without computing is stopped by a wall-clock limit ten times as long."""
    use_alarm = (hasattr(signal, "setitimer")
                 and threading.current_thread() is threading.main_thread())
    timers = ((signal.ITIMER_PROF, signal.SIGPROF, timeout),
              (signal.ITIMER_REAL, signal.SIGALRM, 10 * timeout)) if use_alarm else ()
    saved = []
    if use_alarm:
        def on_alarm(signum, frame):
            raise _Timeout()
        for which, signum, limit in timers:
            previous = signal.signal(signum, on_alarm)
            saved.append((which, signum, previous, signal.setitimer(which, limit)))
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        try:
            out = fn()
            outcome = ("returned", out)
        except _Timeout:
            outcome = ("timeout", None)
        except Exception as exc:      # noqa: BLE001 - judged by the caller
            outcome = ("raised", exc)
        finally:
            for which, *_ in saved:
                signal.setitimer(which, 0)
    except _Timeout:                  # an alarm fired between the call and the reset
        outcome = ("timeout", None)
    finally:
        for which, signum, previous, pending in saved:
            signal.signal(signum, previous)
            if pending[0] > 0:                # re-arm a timer that was running before
                spent = (time.process_time() - cpu_start if which == signal.ITIMER_PROF
                         else time.perf_counter() - start)
                left = max(pending[0] - spent, 1e-3)
                signal.setitimer(which, left, pending[1])
    cpu = time.process_time() - cpu_start
    if outcome[0] != "timeout" and cpu > timeout:
        outcome = ("timeout", outcome[1])
    return outcome[0], outcome[1], cpu


def refuses(call: Callable[[], Any], errors: type | tuple = (ValueError, TypeError),
            match: str | None = None, *, timeout: float = TIMEOUT_S) -> BaseException:
    """Run ``call()``: it must raise one of ``errors`` whose message matches the regular
    expression ``match`` (``re.search``), within ``timeout`` seconds of CPU time (a hang is
    interrupted); returns the error, else raises ``AssertionError``."""
    outcome, result, cpu = _run_with_timeout(call, timeout)
    if outcome == "timeout":
        raise AssertionError(f"took over {timeout:g} s of CPU time ({cpu:.2f} s) to refuse")
    if outcome == "returned":
        text = repr(result)
        raise AssertionError(f"returned {text[:80]}{'...' if len(text) > 80 else ''} "
                             f"instead of raising")
    if not isinstance(result, errors):
        raise AssertionError(f"raised {type(result).__module__}.{type(result).__name__}: "
                             f"{str(result)[:200]}") from result
    if match is not None and not re.search(match, str(result)):
        raise AssertionError(f"{type(result).__name__} message {str(result)[:200]!r} does not "
                             f"match {match!r}") from result
    return result


def _names(message: str, words: Iterable[str]) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(w)}(?![A-Za-z0-9_])", message)
               for w in words)


def _ours(exc: BaseException) -> bool:
    module = type(exc).__module__
    return isinstance(exc, (ValueError, TypeError)) and (
        module == "builtins" or module.startswith("cnnbook_lib"))


def check_call(fn: Callable[..., Any], kwargs: Mapping[str, Any], param: str, label: str,
               value: Any, *, names: Iterable[str] = (), timeout: float = TIMEOUT_S,
               args: tuple = ()) -> str | None:
    """Call ``fn(*args, **kwargs)`` with ``kwargs[param]`` replaced by ``value``.

    Returns ``None`` if it raised a ``ValueError``/``TypeError`` naming ``param`` (or one of
    ``names``) within ``timeout`` seconds, else a one-line description of the problem."""
    call_kwargs = dict(kwargs)
    call_kwargs[param] = value
    where = f"{getattr(fn, '__qualname__', fn)}({param}={label})"
    outcome, result, elapsed = _run_with_timeout(lambda: fn(*args, **call_kwargs), timeout)
    if outcome == "timeout":
        return f"{where}: took over {timeout:g} s of CPU time ({elapsed:.2f} s)"
    if outcome == "returned":
        text = repr(result)
        return f"{where}: returned {text[:80]}{'...' if len(text) > 80 else ''}"
    exc = result
    if not _ours(exc):
        return (f"{where}: raised {type(exc).__module__}.{type(exc).__name__}: "
                f"{str(exc)[:120]}")
    if not _names(str(exc), (param, *names)):
        return f"{where}: {type(exc).__name__} does not name {param!r}: {str(exc)[:120]}"
    return None


def check_function(fn: Callable[..., Any], valid: Mapping[str, Any], *,
                   kinds: Mapping[str, str] | None = None,
                   names: Mapping[str, Iterable[str]] | None = None,
                   allow: Mapping[str, Iterable[str]] | None = None,
                   bad: Mapping[str, Iterable[tuple[str, Any]]] | None = None,
                   skip: Iterable[str] = (), args: tuple = (),
                   timeout: float = TIMEOUT_S, check_valid: bool = True) -> int:
    """Check that ``fn`` rejects every bad value of every parameter in ``valid``.

    ``valid``: keyword arguments of a call that succeeds. ``args``: positional arguments
    passed first and never perturbed (e.g. ``self``). See the module docstring for ``kinds``,
    ``names``, ``allow``, ``bad`` and ``skip``. Returns the number of bad calls checked; raises
    ``AssertionError`` listing every problem."""
    kinds, names, allow = dict(kinds or {}), dict(names or {}), dict(allow or {})
    own = {param: list(values) for param, values in (bad or {}).items()}
    skip = set(skip)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    unknown = (set(kinds) | set(own) | set(allow) | set(names) | skip) - set(valid)
    assert not unknown, f"options given for parameters not in the valid call: {sorted(unknown)}"
    if check_valid:
        outcome, result, _ = _run_with_timeout(lambda: fn(*args, **valid), 60.0)
        assert outcome == "returned", (
            f"the valid call {getattr(fn, '__qualname__', fn)}(**{dict(valid)!r}) did not "
            f"succeed: {outcome} {result!r}")
    problems, count = [], 0
    for param, good in valid.items():
        if param in skip:
            continue
        default = inspect.Parameter.empty
        if sig is not None and param in sig.parameters:
            default = sig.parameters[param].default
        if param in own:
            values = own[param]
        else:
            kind = kinds.get(param) or kind_of(good, default)
            assert kind is not None, (
                f"cannot infer the kind of {param}={good!r} of "
                f"{getattr(fn, '__qualname__', fn)}: give kinds={{{param!r}: ...}}, bad= or skip")
            values = bad_values(kind)
        allowed = set(allow.get(param, ()))
        for label, value in values:
            if label in allowed:
                continue
            count += 1
            problem = check_call(fn, valid, param, label, value, names=names.get(param, ()),
                                 timeout=timeout, args=args)
            if problem:
                problems.append(problem)
    assert not problems, (f"{len(problems)} of {count} bad calls were not refused properly:\n  "
                          + "\n  ".join(problems))
    return count
