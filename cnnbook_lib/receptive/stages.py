"""The receptive field of a network at the end of each of its stages, and the network cut there.

A *stage* is the run of layers that work at one resolution: all layers whose units are the same
number of input pixels apart (the same jump, or effective stride). Along every path the field only
grows, and at the end of a stage the branches have been merged, so the stage's field is the
largest among its layers' fields. :func:`stages` picks that layer for each jump of a traced
:class:`~cnnbook_lib.receptive.RF`; :func:`cut` returns the network computed up to a named
submodule, so that the gradient measurement can confirm the field there.
"""
from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn

from . import _check
from .results import LayerRF, RF

__all__ = ["stages", "cut", "Cut"]


def stages(rf: RF) -> list[LayerRF]:
    """For each jump of the trace (in increasing order), the layer with the largest field at
    that jump (the first one among equals): the field at the end of each stage. Layers with a
    fractional or unknown jump (after upsampling) and global layers are left out."""
    if not isinstance(rf, RF):
        raise TypeError(f"rf must be a receptive.RF, got {type(rf).__name__}")
    best: dict[int, LayerRF] = {}
    for layer in rf.layers:
        jumps = {a.jump for a in layer.axes}
        if len(jumps) != 1 or layer.op == "global":
            continue
        (jump,) = jumps
        if jump is None or jump == 0 or (isinstance(jump, Fraction) and jump.denominator != 1):
            continue
        jump = int(jump)
        size = max(a.size for a in layer.axes)
        if jump not in best or size > max(a.size for a in best[jump].axes):
            best[jump] = layer
    return [best[j] for j in sorted(best)]


class _Stop(Exception):
    pass


class Cut(nn.Module):
    """``model`` run up to the output of its submodule ``name``, which it returns."""

    def __init__(self, model: nn.Module, name: str):
        super().__init__()
        _check.module("model", model)
        try:
            model.get_submodule(name)
        except AttributeError:
            raise ValueError(f"the model has no submodule {name!r}") from None
        self.model, self.name = model, name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The output of submodule ``name`` when the model runs on ``x``."""
        seen = {}

        def grab(module, args, output):
            seen["out"] = output
            raise _Stop

        handle = self.model.get_submodule(self.name).register_forward_hook(grab)
        try:
            self.model(x)
        except _Stop:
            pass
        finally:
            handle.remove()
        if "out" not in seen:
            raise ValueError(f"submodule {self.name!r} did not run")
        return seen["out"]


def cut(model: nn.Module, name: str) -> Cut:
    """The network computed up to submodule ``name`` (see :class:`Cut`)."""
    return Cut(model, name)
