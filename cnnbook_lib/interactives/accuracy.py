"""Accuracy against compute: the book's networks with torchvision's published top-1 accuracy,
plotted against MACs, parameters or recorded latency, with the trend the reader can fit to a
chosen family. The view is ``js/accuracy_compute.js``.

The data is computed once per process: MACs and parameters by :func:`cnnbook_lib.analysis.summarize`
at the crop torchvision evaluated the accuracy at (its ``_ops`` figure equals these MACs, see
``tests/test_published.py``), the accuracy of each network's first released weights
(:func:`cnnbook_lib.published.top1`), and the median latencies of the shipped CPU record
(:func:`cnnbook_lib.bench.latency.load_latency`), taken at the network's own input.
"""
from __future__ import annotations

from functools import lru_cache

from .core import Interactive, Output, Param

#: Families the reader can restrict the chart to, by network name prefix.
FAMILIES = {"plain": ("alexnet", "vgg", "googlenet", "inception"),
            "residual": ("resnet", "resnext", "densenet", "regnet", "convnext", "vit"),
            "mobile": ("squeezenet", "mobilenet", "shufflenet"), "efficientnet": ("efficientnet",)}
FAMILY_NAMES = {"plain": "AlexNet, VGG, GoogLeNet, Inception-v3",
                "residual": "ResNet, ResNeXt, DenseNet, RegNet, ConvNeXt, ViT (skip connections)",
                "mobile": "SqueezeNet, MobileNet, ShuffleNet", "efficientnet": "EfficientNet"}


def family(name: str) -> str:
    """The family of network ``name`` (a key of :data:`FAMILIES`)."""
    for key, prefixes in FAMILIES.items():
        if name.startswith(prefixes):
            return key
    raise ValueError(f"no family for {name!r}")


@lru_cache(maxsize=None)
def chart_data() -> dict:
    """One record per network with torchvision V1 weights: name, family, crop, MACs, parameters,
    top-1 and the recorded latencies in milliseconds (None where the record has none)."""
    import torch

    from .. import analysis, architectures, published
    from ..bench.latency import load_latency
    from .architecture import network_summary
    lat = {(r["name"], r["batch"]): r["median_s"] for r in load_latency("cpu")["rows"]}
    nets = []
    for name in architectures.names():
        if name not in published.names() or \
                "IMAGENET1K_V1" not in published._document()["weights"][name]:
            continue
        meta = published.torchvision_weights(name, "IMAGENET1K_V1")
        crop = int(meta["crop"])
        if architectures.input_size(name)[-1] == crop:   # the explorer's summary, traced once
            s = network_summary(name)
            macs, params = s["macs"], s["params"]
        else:
            with torch.device("meta"):
                model = architectures.build(name)
            s = analysis.summarize(model, (1, 3, crop, crop))
            macs, params = s.macs, s.params
        nets.append({"name": name, "family": family(name), "crop": crop, "macs": macs,
                     "params": params, "top1": published.top1(name),
                     "latency1": 1e3 * lat[(name, 1)] if (name, 1) in lat else None,
                     "latency32": 1e3 * lat[(name, 32)] / 32 if (name, 32) in lat else None})
    return {"networks": nets}


def accuracy_compute() -> Interactive:
    """Top-1 accuracy against MACs, parameters or latency, with a fitted trend per family."""
    data = chart_data()
    names = [d["name"] for d in data["networks"]]
    return Interactive(
        name="accuracy_compute", title="Accuracy against compute",
        minutes=3,
        description="torchvision's ImageNet top-1 accuracy of each network's first released "
                    "weights against the chosen metric (MACs and parameters counted by the "
                    "library at torchvision's crop; latency from the book's CPU record at the "
                    "network's own input).",
        params=[Param("metric", "against", "macs", control="select",
                      choices=[("macs", "MACs"), ("params", "parameters"),
                               ("latency1", "latency, one image"),
                               ("latency32", "latency per image, batch 32")]),
                Param("family", "networks", "all", control="select",
                      choices=[("all", "all")] + list(FAMILY_NAMES.items())),
                Param("highlight", "highlight", "resnet50" if "resnet50" in names else names[0],
                      control="select", choices=names)],
        outputs=[Output("shown", "networks shown"),
                 Output("slope", "trend: accuracy points per tenfold of the metric", "ratio"),
                 Output("r", "correlation with the metric's logarithm", "ratio"),
                 Output("h_metric", "highlighted: metric", "short"),
                 Output("h_top1", "highlighted: top-1 %", "ratio"),
                 Output("h_resid", "highlighted: points above the trend", "ratio")],
        data=data,
    )
