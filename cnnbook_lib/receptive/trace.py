"""Receptive fields of plain layer lists and of traced models: the public functions."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from . import _check
from .axis import Axis
from .results import LayerRF, RF
from .tracer import _copy, _trace

# ---------------------------------------------------------------------------------------------
# Plain layer lists
# ---------------------------------------------------------------------------------------------


def _parse_layer(entry, index: int):
    where = f"layer {index + 1}"
    if isinstance(entry, (str, bytes)) or not isinstance(entry, (tuple, list)) \
            or not 2 <= len(entry) <= 4:
        raise ValueError(f"{where} must be (k, s), (k, s, d) or (k, s, d, p); got {entry!r}")
    values = list(entry) + [1, 0][len(entry) - 2:]
    out = []
    for label, value, minimum in zip(("kernel", "stride", "dilation", "padding"), values,
                                     (1, 1, 1, 0)):
        v = _check.per_axis(f"{where}: {label}", value, minimum)
        if len(v) not in (1, 2):
            raise ValueError(f"{where}: {label} must be an int or a (height, width) pair, "
                             f"got {value!r}")
        out.append(v * 2 if len(v) == 1 else v)
    return tuple(out)


def _from_layers(layers: Sequence, input_size) -> RF:
    axes = (Axis(), Axis())
    rows = []
    hw = None if input_size is None else _input_hw(input_size, 2)
    out = hw
    for index, entry in enumerate(layers):
        k, s, d, p = _parse_layer(entry, index)
        axes = tuple(a.step(k[x], s[x], d[x], p[x]) for x, a in enumerate(axes))
        rows.append(LayerRF(f"layer{index + 1}", "layer", k, s, d, p, axes))
        if out is not None:
            from .. import formulas
            out = formulas.conv_output_size(out, k, s, p, d)
    return RF(axes, tuple(rows), input_hw=hw, output_hw=out)


def _input_hw(input_size, n: int) -> tuple[int, ...]:
    if isinstance(input_size, (tuple, list)):
        if len(input_size) != n:
            raise ValueError(f"input_size must be an int or {n} sizes for a layer list, "
                             f"got {input_size!r}")
        return tuple(_check.integer("input_size", v) for v in input_size)
    return (_check.integer("input_size", input_size),) * n


def _spatial_dims(model: nn.Module) -> tuple[int, int]:
    """(number of spatial axes, input channels) from the model's first convolution (2, 3)."""
    for m in model.modules():
        for n, kinds in ((1, (nn.Conv1d, nn.ConvTranspose1d)), (2, (nn.Conv2d, nn.ConvTranspose2d)),
                         (3, (nn.Conv3d, nn.ConvTranspose3d))):
            if isinstance(m, kinds):
                return n, m.in_channels
    return 2, 3


def _input_shape(model: nn.Module, input_size) -> tuple[tuple[int, ...], int]:
    """The full input shape and the number of spatial axes."""
    n, c = _spatial_dims(model)
    if input_size is None:
        input_size = 224 if n == 2 else (64 if n == 3 else 1024)
    if isinstance(input_size, (tuple, list, torch.Size)):
        if isinstance(input_size, (str, bytes)) or not input_size:
            raise ValueError(f"input_size must be an int or a non-empty shape, got {input_size!r}")
        size = tuple(_check.integer("input_size", v) for v in input_size)
        if len(size) == n:
            return (1, c) + size, n
        if len(size) == n + 2:
            return size, n
        raise ValueError(f"input_size must be (N, C, ...) with {n} spatial sizes, or the "
                         f"{n} spatial sizes, got {input_size!r}")
    return (1, c) + (_check.integer("input_size", input_size),) * n, n


def _check_model_or_layers(model_or_layers):
    if isinstance(model_or_layers, (list, tuple)) and model_or_layers and \
            all(isinstance(m, nn.Module) for m in model_or_layers):
        return nn.Sequential(*model_or_layers)
    if isinstance(model_or_layers, nn.Module):
        return model_or_layers
    if not isinstance(model_or_layers, (list, tuple)):
        raise TypeError(f"model_or_layers must be a torch.nn.Module or a list of (k, s[, d[, p]]) "
                        f"tuples, got {type(model_or_layers).__name__}")
    return list(model_or_layers)


def receptive_field(model_or_layers: nn.Module | Sequence, input_size=None) -> RF:
    """Receptive field of a layer list or a model: size, jump (``.stride``), start, padding.

    ``model_or_layers`` is either a sequence of ``(k, s)``, ``(k, s, d)`` or ``(k, s, d, p)``
    tuples (padding 0 by default; each value an int or a (height, width) pair), or a
    ``torch.nn.Module`` (or a list of modules), traced once on the meta device with an input of
    ``input_size``: the full shape ``(N, C, ...)``, the spatial sizes, or an int (default 224;
    C and the number of spatial axes from the first convolution: 1-D, 2-D and 3-D nets). For a
    model, the field is that of the last spatial tensor: the trace follows convolutions,
    transposed convolutions, pooling, padding, slicing, upsampling (``interpolate``), layout-only
    permutes and reshapes (channels-last blocks, window partitions); it stops before the global
    operations of a classifier head (adaptive pooling, a linear layer over all positions) and
    reports the field before them (``stopped_at``); where an operation mixes every position and
    the result goes on as a map (attention, a squeeze-excitation gate, a global pool broadcast
    back) the field is global (``global_by`` names the operation); see the package docstring.

    Recurrence (per axis, ``k_eff = d (k - 1) + 1``): ``r' = r + (k_eff - 1) j``, ``j' = j s``,
    ``u' = u + ((k_eff - 1)/2 - p) j``; Araujo, Norris & Sim, Distill 2019.

    >>> receptive_field([(3, 1)] * 4).size
    9
    >>> receptive_field([(3, 1, d) for d in (1, 2, 4, 8)]).size
    31
    """
    model_or_layers = _check_model_or_layers(model_or_layers)
    if not isinstance(model_or_layers, nn.Module):
        return _from_layers(model_or_layers, input_size)
    model = model_or_layers
    shape, n = _input_shape(model, input_size)
    meta, _ = _copy(model)
    with torch.no_grad():
        rf, _, _ = _trace(meta, torch.empty(shape, device="meta"), n)
    return rf


def unclipped_input_size(model: nn.Module, channels: int | None = None,
                         max_tries: int = 64) -> tuple[int, ...]:
    """Smallest input size (tried in steps of the jump) at which the fields of the central
    output unit and of its diagonal neighbour (one period on) lie inside the input with a pixel
    to spare. A model whose field is global at the default size (224, or 256 and 64 for 1-D and
    3-D nets, or the first size it runs at) fits no input: that size is returned."""
    _check.module("model", model)
    n, c0 = _spatial_dims(model)
    c = c0 if channels is None else _check.integer("channels", channels)
    max_tries = _check.integer("max_tries", max_tries, 1, 10 ** 4)
    def trace(hw):
        """The field at spatial size ``hw``, or None where the model does not run on it."""
        try:
            return receptive_field(model, (1, c, *hw))
        except ValueError as error:
            if "does not run" not in str(error):
                raise
            return None

    rf = trace(({1: 256, 2: 224, 3: 64}[n],) * n)
    if rf is None:                          # a fixed-size model (position embeddings): find it
        sizes = [m * 2 ** e for e in range(3, 12) for m in (1, 3)]
        rf = next((r for size in sorted(sizes) if (r := trace((size,) * n)) is not None), None)
        if rf is None:
            raise ValueError("the model runs at no square input size from 8 to 6144; "
                             "give input_size")
    if rf.is_global:
        return (1, c, *rf.input_hw)
    hw = [max(16, a.size + 2) for a in rf.axes]
    for _ in range(max_tries):
        rf = trace(hw)
        if rf is None:
            hw = [2 * h for h in hw]                # too small for the network's kernels
            continue
        if rf.is_global:                    # windows that cover a small input: grow it
            hw = [2 * h for h in hw]
            continue
        ok = []
        for a, axis in enumerate(rf.axes):
            o, size = rf.output_hw[a], rf.input_hw[a]
            P = axis.period
            unit = (o // 2) // P * P
            lo, _ = axis.span(unit)
            _, hi = axis.span(unit + P)
            ok.append(lo >= 1 and hi <= size - 2 and o >= unit + P + 1)
        if all(ok):
            return (1, c, *hw)
        hw = [h + (0 if good else max(1, math.ceil(axis.jump * axis.period)))
              for h, good, axis in zip(hw, ok, rf.axes)]
    raise ValueError(f"no unclipped input size found up to {tuple(hw)}")
