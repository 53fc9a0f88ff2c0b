"""Effective-field viewer: the measured effective receptive field of a stack of 3x3 layers.

The maps are measured by :func:`cnnbook_lib.receptive.erf_stats.erf_map` (squared gradient of the
central unit, averaged over random weights and inputs) on stacks of
:func:`cnnbook_lib.receptive.erf_stats.stack`: eight channels, "same" padding, optional ReLUs and
optional skip connections around every layer. The static page embeds a map for every setting of
the controls, recorded when the page is built; the live widget measures the chosen setting again in
the kernel (``live_data``) with twice as many draws. The view is ``js/erf_viewer.js``.
"""
from __future__ import annotations

from functools import lru_cache

from .core import Interactive, Output, Param

DEPTHS = (1, 2, 4, 8, 16)
CHANNELS = 8
SCALE = 1000          # maps are embedded as integers, the largest value of each map is SCALE


def key(depth, act: str, skip: str) -> str:
    """The data key of one setting, e.g. ``"8/relu/on"``."""
    return f"{depth}/{act}/{skip}"


@lru_cache(maxsize=None)
def recorded_map(depth: int, act: str, skip: str, samples: int = 8, seed: int = 0) -> dict:
    """One measured map: its side (the field 2 depth + 1 and two pixels on each side) and its
    values, row by row, as integers scaled so that the largest is ``SCALE``."""
    import torch

    from ..receptive import erf_stats as E
    if act not in ("relu", "none") or skip not in ("on", "off"):
        raise ValueError(f"act must be 'relu' or 'none' and skip 'on' or 'off', got {act!r}, "
                         f"{skip!r}")
    net = E.stack(int(depth), channels=CHANNELS, relu=act == "relu", skip=skip == "on")
    side = 2 * int(depth) + 5
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # tiny tensors: other threads would only add waiting
    try:
        m = E.erf_map(net, (1, 1, side, side), samples=samples, seed=seed, power=2)
    finally:
        torch.set_num_threads(threads)
    values = (m / m.max() * SCALE).round().to(torch.int64).flatten().tolist()
    return {"side": side, "values": values}


def erf_viewer() -> Interactive:
    """Depth, ReLU on/off, skip on/off: the measured effective receptive field and its profile."""
    return Interactive(
        name="erf_viewer", title="Effective receptive field viewer",
        minutes=3,
        description="A stack of 3x3 convolutions (8 channels) at initialization: the squared "
                    "gradient of the central unit, averaged over random weights and inputs, as a "
                    "heat map with its colour scale (the orange square is the theoretical field) "
                    "and as a profile along one axis beside the Gaussian of the same variance.",
        params=[Param("depth", "layers", "8", control="select", choices=[str(d) for d in DEPTHS]),
                Param("act", "non-linearity", "relu", control="select",
                      choices=[("relu", "ReLU"), ("none", "none")]),
                Param("skip", "skip connections", "off", control="select",
                      choices=[("off", "off"), ("on", "on (h + f(h))")])],
        outputs=[Output("rf", "theoretical field r (pixels)"),
                 Output("std", "ERF standard deviation (pixels)", "ratio"),
                 Output("half", "pixels holding 50 %"), Output("most", "pixels holding 95 %"),
                 Output("share", "share of the field holding 95 %", "ratio")],
        data=lambda: {key(d, a, s): recorded_map(d, a, s)
                      for d in DEPTHS for a in ("relu", "none") for s in ("off", "on")},
        live_data=lambda v: {key(v["depth"], v["act"], v["skip"]):
                             recorded_map(int(v["depth"]), v["act"], v["skip"], samples=16)},
    )
