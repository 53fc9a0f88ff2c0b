"""The per-layer table of a network, as the book's chapter 4 prints it: one row per layer or
block (convolution, pooling, dense layer, residual or inception block), with its output shape,
volume, parameters, MACs and activation memory, from one meta-device trace
(:func:`cnnbook_lib.analysis.summarize`). Exported as ``cnnbook_lib.analysis.layer_table``.
"""
from __future__ import annotations

import math

__all__ = ["TABLE_KINDS", "layer_table"]

#: Layer types of a per-layer table and the prefix of their row names (conv1, pool1, fc1, ...).
TABLE_KINDS = {"Conv2d": "conv", "PartialConv": "conv", "Linear": "fc", "MaxPool2d": "pool",
                "AvgPool2d": "pool", "Subsample": "pool", "AdaptiveAvgPool2d": "pool",
                "LocalResponseNorm": "lrn", "EuclideanRBF": "rbf", "ConvBNAct": "conv",
                "Residual": "block", "Inception": "inception", "InceptionAux": "aux",
                "Parallel": "inception"}

def _is_block_body(module) -> bool:
    """A plain ``nn.Sequential`` that is one block (a depthwise convolution with the layers
    around it: MobileNet's separable layer, the inverted residual or MBConv without shortcut)."""
    from torch import nn
    return any(isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels
               for m in module.children() for m in ([m] + list(m.children())))


def _is_conv_unit(module) -> bool:
    """A plain ``nn.Sequential`` of a convolution and its batch normalization (and activation),
    written without :class:`~cnnbook_lib.architectures.ConvBNAct` (Inception v3)."""
    from torch import nn
    children = list(module.children())
    return (len(children) >= 2 and isinstance(children[0], nn.Conv2d)
            and isinstance(children[1], nn.BatchNorm2d))


def _row_modules(model):
    """(path, child name, module) of each layer or block that gets a row, in order: plain
    containers (``nn.Sequential``, ``nn.ModuleDict``, ``nn.ModuleList``) are opened, except a
    Sequential that is one block body (:func:`_is_block_body`)."""
    from torch import nn
    found = []

    def visit(prefix, module):
        for child_name, child in module.named_children():
            path = f"{prefix}.{child_name}" if prefix else child_name
            if (type(child) in (nn.Sequential, nn.ModuleDict, nn.ModuleList)
                    and not (type(child) is nn.Sequential
                             and (_is_block_body(child) or _is_conv_unit(child)))):
                visit(path, child)
            else:
                found.append((path, child_name, child))
    visit("", model)
    return found


def layer_table(name: str, input_size, **options):
    """Per-layer table of network ``name`` (built on the meta device, traced by
    :func:`cnnbook_lib.analysis.summarize` at ``input_size``, batch first).

    One row per layer that computes or changes the shape: convolutions, dense layers, pooling
    (an adaptive pooling that keeps the shape is left out), normalization; activations, dropout
    and flattening are left out (they keep the volume and have no parameters). Plain containers
    are opened, so a network built of stages gets one row per unit inside them: a
    convolution with its batch normalization and activation (``ConvBNAct``, kind ``conv``), a
    residual or depthwise block (``block``), an inception module (``inception``, named by its
    module: ``inception3a``). Rows are named by kind in order (``conv1``, ``pool1``, ``lrn1``,
    ``fc1``, ``block1``, ...). Columns: ``layer``, ``type``, ``output`` (C x H x W), ``volume``
    (output elements per image), ``params``, ``macs``, ``activation_bytes`` (the output in the
    trace's dtype), and, not shown in the book's tables, ``module`` (the layer itself), ``input``
    (its input shape) and ``path`` (its name in the model).
    """
    import pandas as pd
    import torch

    from .. import architectures
    from . import summarize

    with torch.device("meta"):
        model = architectures.build(name, **options)
    s = summarize(model, input_size)
    units = _row_modules(model)
    shapes: dict[str, tuple] = {}

    def record(path):
        def hook(module, inputs, output):
            shapes.setdefault(path, (tuple(inputs[0].shape), output))
        return hook

    hooks = [m.register_forward_hook(record(path)) for path, _, m in units]
    try:
        with torch.no_grad():
            model(torch.empty(input_size, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    groups: dict[str, list] = {path: [] for path, _, _ in units}
    for r in s.rows:
        owner = next((p for p in groups if r.name == p or r.name.startswith(p + ".")), None)
        if owner is None:
            if r.params or r.macs:
                raise ValueError(f"{name}: module {r.name} has a cost but no row in the table")
            continue
        groups[owner].append(r)
    counters, rows = {}, []
    for path, child_name, module in units:
        group = groups[path]
        kind = TABLE_KINDS.get(type(module).__name__)
        if kind is None and type(module).__name__ == "Sequential":
            kind = "conv" if _is_conv_unit(module) else "block"
        if path not in shapes:
            if any(r.params or r.macs for r in group):
                raise ValueError(f"{name}: layer {path} has a cost but did not run")
            continue
        inp, out_tensor = shapes[path]
        out = tuple(out_tensor.shape)
        if kind is None or (kind == "pool" and inp == out
                            and type(module).__name__.startswith("Adaptive")):
            if any(r.params or r.macs for r in group):
                raise ValueError(f"{name}: layer {path} ({type(module).__name__}) has a cost but "
                                 "no row kind in the table")
            continue
        counters[kind] = counters.get(kind, 0) + 1
        label = f"{kind}{counters[kind]}" if child_name.isdigit() or kind != "inception" \
            else f"{kind}{child_name}"
        params = sum(p.numel() for p in module.parameters())
        rows.append({"layer": label, "type": type(module).__name__,
                     "output": "×".join(map(str, out[1:])), "volume": math.prod(out[1:]),
                     "params": params, "macs": sum(r.macs for r in group),
                     "activation_bytes": out_tensor.nbytes // out[0], "module": module,
                     "input": inp[1:], "path": path})
    table = pd.DataFrame(rows)
    table.attrs.update(params=s.params, macs=s.macs, network=name, input_size=tuple(input_size))
    return table
