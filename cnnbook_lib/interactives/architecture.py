"""Architecture explorer: per-layer parameters, MACs and activation memory of the book's networks.

The static page embeds the summaries (computed by :func:`cnnbook_lib.analysis.summarize` on
``cnnbook_lib.architectures.build(name)``, built on the meta device: no weights are allocated);
the live widget traces the chosen network in the kernel when the choice changes and sends its
summary to the view (``live_data``). The view is ``js/architecture_explorer.js``.
"""
from __future__ import annotations

from functools import lru_cache

from .core import Interactive, Output, Param


@lru_cache(maxsize=None)
def network_summary(name: str) -> dict:
    """Totals and the rows of layers with parameters or MACs, as embedded in the static page."""
    import torch

    from .. import analysis, architectures as A
    size = A.input_size(name)
    with torch.device("meta"):
        model = A.build(name)
    s = analysis.summarize(model, size)
    rows = [[r.name, r.type, r.params, r.macs, r.activation_bytes]
            for r in s.rows if r.params or r.macs]
    return {"input": list(size), "params": s.params, "macs": s.macs, "flops": s.flops,
            "activation_bytes": s.activation_bytes, "rows": rows}


def network_names() -> list[str]:
    """Names of the networks the explorer offers (:func:`architectures.names`)."""
    from .. import architectures as A
    return A.names()


def architecture_explorer(names: list[str] | None = None) -> Interactive:
    """Choose a network: per-layer bars of parameters, MACs and activation memory."""
    names = list(names or network_names())
    default = "resnet18" if "resnet18" in names else names[0]
    return Interactive(
        name="architecture_explorer", title="Architecture explorer",
        minutes=4,
        description="Layers with parameters or multiply-accumulates, from the meta-device trace "
                    "of cnnbook_lib.analysis.summarize. Activation memory: the layer's output, float32.",
        params=[Param("network", "network", default, control="select", choices=names),
                Param("order", "layers", "model", control="select",
                      choices=[("model", "all, in model order"), ("macs", "top 25 by MACs")])],
        outputs=[Output("input", "input shape", "text"), Output("params", "parameters"),
                 Output("macs", "MACs"), Output("flops", "FLOPs (conv + linear)"),
                 Output("activation_bytes", "activation memory (all outputs)", "bytes"),
                 Output("layers", "layers shown")],
        data=lambda: {name: network_summary(name) for name in names},
        live_data=lambda v: {v["network"]: network_summary(v["network"])},
    )
