"""The one model copier of the traces: a structural copy of a module whose tensors are made anew
(on the meta device, or copied or drawn on a real one), sharing nothing the trace could change."""
from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn

Make = Callable[[torch.Tensor, str], torch.Tensor]


def copy_model(model: nn.Module, make: Make, *, requires_grad: bool | None = None,
               other: Callable[[torch.Tensor], torch.Tensor] | None = None
               ) -> tuple[nn.Module, dict[int, int]]:
    """A copy of ``model`` with each parameter and buffer replaced by ``make(tensor, name)``
    (``name`` its qualified name; a tensor shared by several modules is made once and stays
    shared), and each tensor held as a plain attribute by ``other(tensor)`` (default
    ``make(tensor, "")``). Parameters stay ``nn.Parameter``, with ``requires_grad`` as in
    ``model`` or as given. Returns the copy and ``{id of a copied parameter or buffer: id of the
    original}``.

    The copy is structural, several times faster than ``copy.deepcopy``: new module objects (the
    submodule tree and its sharing kept), containers (hook tables included) copied one level
    deep, every other attribute shared with ``model``.
    """
    memo: dict[int, torch.Tensor] = {}
    back: dict[int, int] = {}
    for name, prm in model.named_parameters(remove_duplicate=True):
        grad = prm.requires_grad if requires_grad is None else requires_grad
        memo[id(prm)] = nn.Parameter(make(prm, name), requires_grad=grad)
        back[id(memo[id(prm)])] = id(prm)
    for name, buf in model.named_buffers(remove_duplicate=True):
        memo[id(buf)] = make(buf, name)
        back[id(memo[id(buf)])] = id(buf)
    return _clone(model, memo, other or (lambda t: make(t, "")), {}), back


def on_meta(t: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """An empty tensor like ``t`` on the meta device (floating ones in ``dtype`` if given)."""
    dt = dtype if dtype is not None and t.is_floating_point() else t.dtype
    return torch.empty_like(t, device="meta", dtype=dt)


def _moved(value, memo: dict, make, done: dict, depth: int = 0):
    """``value`` with its tensors replaced by their copies (parameters and buffers from
    ``memo``, other tensors by ``make``) and its modules by theirs, looking into lists, tuples
    and dicts (RNNs keep their weights in a list, ``_flat_weights``); containers are new, other
    objects shared."""
    if isinstance(value, torch.Tensor):
        if id(value) not in memo:
            memo[id(value)] = make(value)
        return memo[id(value)]
    if isinstance(value, nn.Module):
        return _clone(value, memo, make, done)
    if depth > 2:
        return value
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(_moved(v, memo, make, done, depth + 1) for v in value)
    if isinstance(value, dict):
        new = copy.copy(value)
        for k, v in value.items():
            new[k] = _moved(v, memo, make, done, depth + 1)
        return new
    if isinstance(value, set):
        return set(value)
    return value


def _state(t: torch.Tensor, memo: dict, make) -> torch.Tensor:
    """The copy of a parameter or buffer: from ``memo``, or made now for a module held as a plain
    attribute outside the model's tree."""
    if id(t) not in memo:
        new = make(t)
        memo[id(t)] = nn.Parameter(new, t.requires_grad) if isinstance(t, nn.Parameter) else new
    return memo[id(t)]


def _clone(module: nn.Module, memo: dict, make, done: dict) -> nn.Module:
    """A structural copy of ``module``: new module objects, parameters and buffers from
    ``memo``, other attributes through :func:`_moved`."""
    if id(module) in done:
        return done[id(module)]
    new = object.__new__(type(module))
    done[id(module)] = new
    state = {}
    for key, value in module.__dict__.items():
        if key in ("_parameters", "_buffers"):
            value = type(value)((n, None if t is None else _state(t, memo, make))
                                for n, t in value.items())
        elif key == "_modules":
            value = type(value)((n, None if m is None else _clone(m, memo, make, done))
                                for n, m in value.items())
        else:
            value = _moved(value, memo, make, done)
        state[key] = value
    new.__setstate__(state)          # as unpickling does: RNNs rebuild their weight references
    return new
