"""The module-stack hook set: which module call is in progress when an op runs."""
from __future__ import annotations

from typing import Any, Callable

from torch import nn


class ModuleStack:
    """Forward pre- and post-hooks on every module of ``model`` (each once, shared ones
    included) that keep the stack of calls in progress, innermost last, while the ``with``
    block runs.

    ``enter(module, args, kwargs)`` makes the frame pushed for a call (default: the module's
    qualified name, ``"<model>"`` for the root); ``leave(frame, module, args, kwargs, output)``
    is called when the call returns (also when it raises). A call whose frame is not on top
    (a hook that never saw it start) is ignored."""

    def __init__(self, model: nn.Module, enter: Callable | None = None,
                 leave: Callable | None = None):
        self.model = model
        self._enter = enter
        self._leave = leave
        self._modules: list[nn.Module] = []
        self.frames: list[Any] = []
        self._handles: list = []

    @property
    def top(self):
        """The frame of the innermost call in progress, or None outside every call."""
        return self.frames[-1] if self.frames else None

    def _pre(self, name: str):
        def hook(module, args, kwargs) -> None:
            frame = self._enter(module, args, kwargs) if self._enter else name
            self._modules.append(module)
            self.frames.append(frame)
        return hook

    def _post(self, module, args, kwargs, output) -> None:   # returns None: output kept
        if not self._modules or self._modules[-1] is not module:
            return
        self._modules.pop()
        frame = self.frames.pop()
        if self._leave is not None:
            self._leave(frame, module, args, kwargs, output)

    def __enter__(self) -> "ModuleStack":
        for name, m in self.model.named_modules():
            self._handles.append(m.register_forward_pre_hook(self._pre(name or "<model>"),
                                                             with_kwargs=True))
            self._handles.append(m.register_forward_hook(self._post, with_kwargs=True,
                                                         always_call=True))
        return self

    def __exit__(self, *exc) -> bool:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._modules.clear()
        self.frames.clear()
        return False
