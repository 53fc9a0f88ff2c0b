"""The two recorders of a trace: every ATen op below autograd (a ``TorchDispatchMode``, for
costs), and every torch function applied to a tensor derived from the input (a
``TorchFunctionMode``, for the geometry of positions)."""
from __future__ import annotations

from typing import Callable

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves
from torch.utils._python_dispatch import TorchDispatchMode


class OpRecorder(TorchDispatchMode):
    """Sees each ATen op where it is dispatched (after composite ops such as ``linear``,
    ``matmul`` and ``einsum`` are lowered to ``mm``/``addmm``/``bmm``), as
    ``torch.utils.flop_counter`` does, and calls ``record(func, args, kwargs, out)`` after it
    ran. ``replace(func, args, kwargs)`` may return the output instead of running the kernel
    (None: run it), e.g. a fast stand-in for a slow meta kernel."""

    def __init__(self, record: Callable, replace: Callable | None = None):
        super().__init__()
        self.record = record
        self.replace = replace

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = self.replace(func, args, kwargs) if self.replace is not None else None
        if out is None:
            out = func(*args, **kwargs)
        self.record(func, args, kwargs, out)
        return out


class StopTrace(Exception):
    """Raised by :meth:`TensorFollower.stopping` at the operation a trace was told to stop
    before (the first op of a classifier head found by an earlier trace)."""


def fname(func) -> str:
    """A function's name as traces report it (``F.conv2d`` -> ``conv2d``)."""
    return getattr(func, "__name__", str(func)).strip("_")


class TensorFollower(TorchFunctionMode):
    """Follows the tensors derived from the input through every torch function.

    Each followed tensor has a node (``put``/``get``; what a node is depends on the trace).
    A function that reads no followed tensor runs untouched; for one that does, ``count``
    numbers it (the same numbering in every trace of the same model, so one trace can stop
    where another found the head: ``stop``), and :meth:`follow` gives the nodes of its tensor
    outputs. ``uses`` keeps, for every tensor seen (weights included), the number of the first
    followed operation at or after it appeared."""

    #: functions whose result depends on a tensor's shape, not its values: never followed
    untracked: frozenset = frozenset()

    def __init__(self, stop: int | None = None):
        super().__init__()
        self.stop = stop
        self.count = 0
        self.uses: dict[int, int] = {}
        self.nodes: dict[int, tuple[torch.Tensor, object]] = {}

    def get(self, t):
        entry = self.nodes.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def put(self, t: torch.Tensor, node) -> None:
        self.nodes[id(t)] = (t, node)

    # -- what a trace defines -----------------------------------------------------------------
    def stopping(self, func, tracked) -> None:
        """Called at operation number ``stop``: raise to end the trace there."""
        raise StopTrace(fname(func))

    def call(self, func, args, kwargs, tracked):
        """Run ``func`` (a trace may substitute another function or catch its errors)."""
        return func(*args, **kwargs)

    def follow(self, func, args, kwargs, tracked, outs) -> None:
        """Put the nodes of ``outs``, the tensor outputs of ``func``, given ``tracked``: the
        (tensor, node) pairs of its followed inputs."""
        raise NotImplementedError

    # -- the mode -----------------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        leaves = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        tracked = [(t, n) for t in leaves if (n := self.get(t)) is not None]
        for t in leaves:
            self.uses.setdefault(id(t), self.count)
        if tracked:
            self.count += 1
            if self.count - 1 == self.stop:
                self.stopping(func, tracked)
        out = self.call(func, args, kwargs, tracked)
        if not tracked or func in self.untracked:
            return out
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        if outs:
            self.follow(func, args, kwargs, tracked, outs)
        return out
