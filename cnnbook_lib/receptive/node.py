"""What the receptive-field tracer knows about a followed tensor (:class:`_Node`), and one
operation as its rules see it (:class:`Op`)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .axis import Axis


@dataclass
class _Node:
    """What the tracer knows about a tensor derived from the input.

    A spatial tensor has a field per axis (``axes``), a ``layout`` (where its positions are; None
    when unknown, which only a global field can afford) and ``extent`` (units per axis).
    ``global_by`` names the operation after which every unit sees the whole input. A *head*
    tensor (``head=True``) has no position left (a pooled vector); ``source`` is the last spatial
    tensor before it, ``where`` the operation that pooled it, ``index`` that operation's number."""

    axes: tuple[Axis, ...]
    layout: tuple | None
    extent: tuple[int, ...]
    head: bool = False
    source: torch.Tensor | None = None
    where: str | None = None
    index: int | None = None
    global_by: str | None = None
    anchor: torch.Tensor | None = None   # the last channels-first tensor with this field
    origin: int = 0                      # shared by the copies that only move positions

    def __post_init__(self) -> None:
        if not self.origin:
            self.origin = id(self)

    @property
    def is_global(self) -> bool:
        return self.global_by is not None


@dataclass
class Op:
    """One operation on tensors derived from the input, as a rule sees it: the function and its
    arguments, ``tracked`` (the (tensor, node) pairs of its followed inputs), ``spatial`` (those
    with positions), ``x`` and ``node`` (the first of them) and ``outs`` (its tensor outputs)."""

    func: object
    name: str
    args: tuple
    kwargs: dict
    tracked: list
    spatial: list
    x: torch.Tensor
    node: _Node
    outs: list

    @property
    def out(self) -> torch.Tensor:
        return self.outs[0]

    @property
    def n(self) -> int:
        """The number of spatial axes."""
        return len(self.node.axes)
