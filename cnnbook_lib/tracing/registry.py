"""Rules keyed by op: one :class:`Registry` per concern (cost, receptive geometry, coverage).

As in ``torch/utils/flop_counter.py``, each op maps to one small function, and adding an op is
adding one function::

    COSTS = Registry("cost", flags={"counts_macs": False})

    @COSTS.register("mm", "bmm", counts_macs=True)
    def _products(args, kwargs, out): ...

A key can be registered once: a second rule for it raises (``unregister`` it first), so two
modules can never both price ``mm`` and leave the result to import order. What a rule *is*
(counts multiply-accumulates, needs a known layout, ...) is a flag of the rule, not a second list
of op names that can drift from the first.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Hashable, Iterator

import torch


class Rule:
    """A registered function and its flags; calling it calls the function, and each flag reads
    as an attribute (``rule.counts_macs``)."""

    __slots__ = ("fn", "flags")

    def __init__(self, fn: Callable, flags: dict[str, Any]):
        self.fn = fn
        self.flags = flags

    def __getattr__(self, name: str):
        try:
            return self.flags[name]
        except KeyError:
            raise AttributeError(f"a rule has no flag {name!r}") from None

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        flags = ", ".join(f"{k}={v!r}" for k, v in self.flags.items())
        return f"Rule({getattr(self.fn, '__qualname__', self.fn)!r}{', ' if flags else ''}{flags})"


class Registry(Mapping):
    """Rules keyed by op, rejecting a second rule for a key.

    ``name`` says what the rules are for (it starts every error message); ``flags`` are the
    flags a rule may carry, with their defaults; ``key`` turns what a caller registers or looks
    up (an op name, an ATen op, a function) into the key (it raises ``TypeError`` or
    ``ValueError`` for something that is not one). The registry is a read-only mapping from
    keys to :class:`Rule`; :meth:`lookup` is the fast path of a trace.
    """

    def __init__(self, name: str, flags: dict[str, Any] | None = None,
                 key: Callable[[Any], Hashable] | None = None):
        self.name = name
        self.defaults = dict(flags or {})
        self._key = key if key is not None else (lambda k: k)
        self._rules: dict[Hashable, Rule] = {}
        self._cache: dict[Any, Rule | None] = {}

    # -- registering ------------------------------------------------------------------------
    def register(self, *keys, **flags) -> Callable[[Callable], Callable]:
        """A decorator that registers its function as the rule of every key in ``keys``, with
        ``flags``. Raises ``ValueError`` if a key already has a rule."""
        unknown = sorted(set(flags) - set(self.defaults))
        if unknown:
            raise TypeError(f"{self.name} rules have no flag {unknown[0]!r} (flags: "
                            f"{', '.join(self.defaults) or 'none'})")
        if not keys:
            raise TypeError(f"{self.name}: register needs at least one key")
        resolved = list(dict.fromkeys(self._key(k) for k in keys))

        def deco(fn: Callable) -> Callable:
            if not callable(fn):
                raise TypeError(f"{self.name}: the rule must be callable, got {fn!r}")
            for k in resolved:
                if k in self._rules:
                    raise ValueError(f"{self.name}: {_label(k)} already has a rule "
                                     f"({self._rules[k]!r}); unregister it first")
            rule = Rule(fn, {**self.defaults, **flags})
            for k in resolved:
                self._rules[k] = rule
            self._cache.clear()
            return fn
        return deco

    def unregister(self, *keys) -> None:
        """Remove the rules of ``keys`` (``KeyError`` for a key without one)."""
        resolved = [self._key(k) for k in keys]
        missing = [k for k in resolved if k not in self._rules]
        if missing:
            raise KeyError(f"{self.name}: {_label(missing[0])} has no rule")
        for k in resolved:
            del self._rules[k]
        self._cache.clear()

    # -- looking up -------------------------------------------------------------------------
    def lookup(self, x) -> Rule | None:
        """The rule for ``x`` (anything ``key`` accepts), or None; cached per ``x``."""
        try:
            return self._cache[x]
        except KeyError:
            pass
        except TypeError:                    # unhashable: never a key
            return None
        try:
            rule = self._rules.get(self._key(x))
        except (TypeError, ValueError):
            rule = None
        self._cache[x] = rule
        return rule

    def __getitem__(self, x) -> Rule:
        rule = self.lookup(x)
        if rule is None:
            raise KeyError(x)
        return rule

    def __contains__(self, x) -> bool:
        return self.lookup(x) is not None

    def __iter__(self) -> Iterator:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def rules(self) -> list[Rule]:
        """The distinct rules, in the order they were registered."""
        return list({id(r): r for r in self._rules.values()}.values())

    def keys_of(self, rule: Rule | Callable) -> list:
        """The keys registered to ``rule`` (a :class:`Rule` or its function)."""
        return [k for k, r in self._rules.items() if r is rule or r.fn is rule]

    def __repr__(self) -> str:
        return f"<Registry {self.name!r}: {len(self._rules)} keys>"


def _label(key) -> str:
    return repr(getattr(key, "__name__", key)) if not isinstance(key, str) else repr(key)


# ---------------------------------------------------------------------------------------------
# Keys of dispatch-level registries: ATen op packets
# ---------------------------------------------------------------------------------------------

_IN_PLACE: dict = {}


def op_key(op) -> torch._ops.OpOverloadPacket:
    """The registry key of an op: its ``OpOverloadPacket``, the out-of-place one for an in-place
    variant (``aten.relu_`` -> ``aten.relu``). ``op`` is an ``OpOverload`` (what a dispatch mode
    sees), an ``OpOverloadPacket`` or the name of an ATen op (``"mm"``)."""
    if isinstance(op, str):
        if not op or not op.isidentifier():
            raise ValueError(f"op names must be ATen op names, got {op!r}")
        packet = getattr(torch.ops.aten, op, None)
        if not isinstance(packet, torch._ops.OpOverloadPacket):
            raise ValueError(f"there is no ATen op named {op!r}")
    elif isinstance(op, torch._ops.OpOverload):
        packet = op.overloadpacket
    elif isinstance(op, torch._ops.OpOverloadPacket):
        packet = op
    else:
        raise TypeError(f"an op must be an ATen op or its name, got {type(op).__name__}")
    try:
        return _IN_PLACE[packet]
    except KeyError:
        pass
    name = packet.__name__
    out = packet
    if name.endswith("_") and not name.endswith("__"):
        namespace = getattr(torch.ops, packet._qualified_op_name.split("::")[0])
        plain = getattr(namespace, name[:-1], None)
        if isinstance(plain, torch._ops.OpOverloadPacket):
            out = plain
    _IN_PLACE[packet] = out
    return out


def op_name(op) -> str:
    """The name of an op as summaries list it: its packet name, without the trailing ``_`` of
    an in-place variant (``relu_`` -> ``relu``)."""
    packet = op.overloadpacket if isinstance(op, torch._ops.OpOverload) else op
    name = packet.__name__
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name
