"""MobileNet width and resolution explorer: MACs, parameters and where they live for MobileNet v1
at each width multiplier alpha and input resolution of Howard et al. (2017), against the
alpha^2 rho^2 rule and the accuracy the paper publishes. The view is ``js/mobilenet_explorer.js``.

The data holds, for each of the 16 settings, the totals and the MACs and parameters by layer kind
(the first, standard convolution; the depthwise and the pointwise convolutions; the dense
classifier) from :func:`cnnbook_lib.analysis.summarize` of ``architectures.mobilenet_v1``, and the
paper's Tables 6 and 7 (:data:`cnnbook_lib.published.MOBILENET_V1_WIDTH`, ``..._RESOLUTION``).
"""
from __future__ import annotations

from functools import lru_cache

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param

WIDTHS = ("1.0", "0.75", "0.5", "0.25")
RESOLUTIONS = ("224", "192", "160", "128")
KINDS = ("first", "depthwise", "pointwise", "dense")


def _kind(module) -> str | None:
    from torch import nn
    if isinstance(module, nn.Linear):
        return "dense"
    if isinstance(module, nn.Conv2d):
        if module.groups > 1:
            return "depthwise"
        return "pointwise" if module.kernel_size == (1, 1) else "first"
    return None


@lru_cache(maxsize=None)
def setting(width: str, resolution: str) -> dict:
    """Totals and per-kind MACs and parameters of MobileNet v1 at one setting."""
    import torch

    from .. import analysis, architectures
    with torch.device("meta"):
        model = architectures.build("mobilenet_v1", width=float(width))
    n = int(resolution)
    s = analysis.summarize(model, (1, 3, n, n))
    kinds = {name: _kind(m) for name, m in model.named_modules()}
    macs, params = dict.fromkeys(KINDS, 0), dict.fromkeys(KINDS, 0)
    for r in s.rows:
        k = kinds.get(r.name)
        if k:
            macs[k] += r.macs
            params[k] += r.params
    return {"macs": s.macs, "params": s.params, "kind_macs": macs, "kind_params": params}


def explorer_data() -> dict:
    """Every setting, and the paper's published figures by setting (``"1.0/224"`` keys)."""
    from .. import published
    paper = {}
    for w, (acc, macs, params) in published.MOBILENET_V1_WIDTH.items():
        paper[f"{w}/224"] = {"top1": acc, "macs_m": macs, "params_m": params, "table": 6}
    for res, (acc, macs, params) in published.MOBILENET_V1_RESOLUTION.items():
        paper.setdefault(f"1.0/{res}", {"top1": acc, "macs_m": macs, "params_m": params,
                                        "table": 7})
    return {"settings": {f"{w}/{r}": setting(w, r) for w in WIDTHS for r in RESOLUTIONS},
            "paper": paper}


def published_settings() -> int:
    """How many of the 16 settings the paper's Tables 6 and 7 publish (1.0 at 224 is in both)."""
    from .. import published
    return len({f"{w}/224" for w in published.MOBILENET_V1_WIDTH}
               | {f"1.0/{r}" for r in published.MOBILENET_V1_RESOLUTION})


def mobilenet_explorer() -> Interactive:
    """MobileNet v1 at a width multiplier and resolution: cost, where it lives, published accuracy."""
    return Interactive(
        name="mobilenet_explorer", title="MobileNet width and resolution explorer",
        minutes=3,
        description="MobileNet v1 (Howard et al. 2017) with every channel count times alpha and a "
                    "smaller input; counts from cnnbook_lib.analysis, accuracy from the paper's "
                    f"Tables 6 and 7 (which publish {published_settings()} of the "
                    f"{len(WIDTHS) * len(RESOLUTIONS)} settings).",
        params=[Param("width", "width multiplier α", "1.0", control="select", choices=WIDTHS),
                Param("resolution", "input resolution", "224", control="select",
                      choices=RESOLUTIONS)],
        outputs=[Output("macs", "MACs", "short"), Output("params", "parameters", "short"),
                 Output("alpha", "α", "ratio"), Output("rho", "ρ = resolution / 224", "ratio"),
                 Output("ratio", "MACs against the full network", "ratio"),
                 Output("rule", "α²ρ² rule (pointwise layers)", "ratio"),
                 Output("dw_rule", "αρ² rule (depthwise layers)", "ratio"),
                 Output("pointwise_share", "share of MACs in 1×1 convolutions", "ratio"),
                 Output("paper_top1", "paper: top-1 accuracy (%)", "text"),
                 Output("paper_macs", "paper: mult-adds", "text")],
        formulas=[Formula("rule", "pointwise cost ratio", "MACs'/MACs",
                          fm.width_resolution_ratio, subs={"alpha": "alpha", "rho": "rho"}),
                  Formula("dw_rule", "depthwise cost ratio", "MACs'/MACs",
                          fm.depthwise_width_resolution_ratio, subs={"alpha": "alpha", "rho": "rho"})],
        data=explorer_data(),
    )
