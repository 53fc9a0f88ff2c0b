"""Published figures of the book's networks: torchvision's weights metadata, recorded.

``cnnbook_lib/data/torchvision-weights.json`` holds, for every torchvision classification network
the book builds, each released weight set's ImageNet-1K validation accuracy (top-1 and top-5, in
percent), torchvision's ``_ops`` figure (documented as "GFLOPS", but it counts multiply-adds), its
parameter count and the evaluation crop size, with the torchvision and torch versions that held
them. The chapters read it with :func:`torchvision_weights` and :func:`top1`; torchvision is never
imported by the book. Re-record in an environment that has torchvision with ::

    python -m cnnbook_lib.published --out cnnbook_lib/data/torchvision-weights.json
"""
from __future__ import annotations

import argparse
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "torchvision-weights.json"


@lru_cache(maxsize=None)
def _document() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def versions() -> dict[str, str]:
    """The torchvision and torch versions the metadata was recorded with."""
    return dict(_document()["recorded_with"])


def names() -> list[str]:
    """Networks with recorded torchvision weights."""
    return list(_document()["weights"])


def torchvision_weights(name: str, weights: str | None = None) -> dict[str, Any]:
    """The metadata of one weight set of network ``name`` (default: torchvision's DEFAULT):
    ``acc1``, ``acc5`` (percent), ``ops_g`` (torchvision's figure, multiply-adds in billions),
    ``params``, ``crop`` (pixels), ``default``, ``recipe``, and ``weights`` (its name)."""
    table = _document()["weights"]
    if name not in table:
        raise ValueError(f"no torchvision weights recorded for {name!r}; "
                         f"recorded: {', '.join(table)}")
    sets = table[name]
    if weights is None:
        weights = next(w for w, m in sets.items() if m["default"])
    if weights not in sets:
        raise ValueError(f"{name}: no weight set {weights!r}; recorded: {', '.join(sets)}")
    return {"weights": weights, **sets[weights]}


def top1(name: str, weights: str = "IMAGENET1K_V1") -> float:
    """Top-1 ImageNet-1K validation accuracy (percent) of ``name`` with ``weights`` (default: the
    first release, trained by the recipe closest to the paper's)."""
    acc = torchvision_weights(name, weights)["acc1"]
    if acc is None:
        raise ValueError(f"{name} {weights}: no accuracy recorded (a feature-extractor weight set)")
    return float(acc)


#: What each network's paper reports, in its own rounding, converted to parameters and MACs
#: (every paper here says "FLOPs" or "mult-adds" for multiply-accumulates). ``None``: the paper
#: gives no such figure. ``cite`` is the key in ``chapters/references.bib``; ``where`` the place.
PAPER: dict[str, dict[str, Any]] = {
    "lenet5": dict(params=60_000, macs=None, cite="lecun1998gradient", where="Section II.B"),
    "alexnet": dict(params=60e6, macs=None, cite="krizhevsky2012imagenet", where="abstract"),
    "vgg11": dict(params=133e6, macs=None, cite="simonyan2015very", where="Table 2"),
    "vgg13": dict(params=133e6, macs=None, cite="simonyan2015very", where="Table 2"),
    "vgg16": dict(params=138e6, macs=None, cite="simonyan2015very", where="Table 2"),
    "vgg19": dict(params=144e6, macs=None, cite="simonyan2015very", where="Table 2"),
    "googlenet": dict(params=None, macs=1.5e9, cite="szegedy2015going",
                      where="Section 1 (a budget of 1.5 billion multiply-adds)"),
    "resnet18": dict(params=None, macs=1.8e9, cite="he2016deep", where="Table 1"),
    "resnet34": dict(params=None, macs=3.6e9, cite="he2016deep", where="Table 1"),
    "resnet50": dict(params=None, macs=3.8e9, cite="he2016deep", where="Table 1"),
    "resnet101": dict(params=None, macs=7.6e9, cite="he2016deep", where="Table 1"),
    "resnet152": dict(params=None, macs=11.3e9, cite="he2016deep", where="Table 1"),
    "mobilenet_v1": dict(params=4.2e6, macs=569e6, cite="howard2017mobilenets", where="Table 6"),
    "efficientnet_b0": dict(params=5.3e6, macs=0.39e9, cite="tan2019efficientnet", where="Table 2"),
    "efficientnet_b1": dict(params=7.8e6, macs=0.70e9, cite="tan2019efficientnet", where="Table 2"),
    "efficientnet_b2": dict(params=9.2e6, macs=1.0e9, cite="tan2019efficientnet", where="Table 2"),
    "efficientnet_b3": dict(params=12e6, macs=1.8e9, cite="tan2019efficientnet", where="Table 2"),
    "efficientnet_b4": dict(params=19e6, macs=4.2e9, cite="tan2019efficientnet", where="Table 2"),
    "efficientnet_b5": dict(params=30e6, macs=9.9e9, cite="tan2019efficientnet", where="Table 2"),
    "efficientnet_b6": dict(params=43e6, macs=19e9, cite="tan2019efficientnet", where="Table 2"),
    "efficientnet_b7": dict(params=66e6, macs=37e9, cite="tan2019efficientnet", where="Table 2"),
    "mobilenet_v2": dict(params=3.4e6, macs=300e6, cite="sandler2018mobilenetv2", where="Table 4"),
    "resnext50_32x4d": dict(params=25.0e6, macs=4.2e9, cite="xie2017aggregated", where="Table 1"),
    "shufflenet_v2_x0_5": dict(params=1.4e6, macs=41e6, cite="ma2018shufflenet", where="Table 8"),
    "shufflenet_v2_x1_0": dict(params=2.3e6, macs=146e6, cite="ma2018shufflenet", where="Table 8"),
    "shufflenet_v2_x1_5": dict(params=3.5e6, macs=299e6, cite="ma2018shufflenet", where="Table 8"),
    "shufflenet_v2_x2_0": dict(params=7.4e6, macs=591e6, cite="ma2018shufflenet", where="Table 8"),
    "vit_b_16": dict(params=86e6, macs=None, cite="dosovitskiy2021image", where="Table 1"),
    "convnext_tiny": dict(params=28e6, macs=4.5e9, cite="liu2022convnet", where="Table 1"),
}


#: Howard et al. (2017), Table 6 (width multiplier, 224 x 224) and Table 7 (resolution, width 1):
#: ImageNet top-1 accuracy in percent, millions of mult-adds, millions of parameters. The paper
#: tabulates only these eight of its sixteen models (the others are points in its Figures 4-5).
MOBILENET_V1_WIDTH = {1.0: (70.6, 569, 4.2), 0.75: (68.4, 325, 2.6), 0.5: (63.7, 149, 1.3),
                      0.25: (50.6, 41, 0.5)}
MOBILENET_V1_RESOLUTION = {224: (70.6, 569, 4.2), 192: (69.1, 418, 4.2), 160: (67.2, 290, 4.2),
                           128: (64.4, 186, 4.2)}


def paper(name: str) -> dict[str, Any]:
    """What network ``name``'s paper reports (see :data:`PAPER`); an empty figure set when the
    book has not recorded one."""
    return dict(PAPER.get(name, dict(params=None, macs=None, cite=None, where=None)))


def _record() -> dict[str, Any]:                     # pragma: no cover - needs torchvision
    import torch
    import torchvision
    from torchvision import models

    from . import architectures
    out: dict[str, Any] = {}
    for name in architectures.names():
        try:
            enum = models.get_model_weights(name)
        except ValueError:
            continue                                  # not a torchvision network
        out[name] = {}
        for w in enum:
            meta, metrics = w.meta, w.meta["_metrics"]["ImageNet-1K"]
            keywords = getattr(w.transforms, "keywords", {})
            clean = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                     for k, v in metrics.items()}
            out[name][w.name] = {"acc1": clean["acc@1"], "acc5": clean["acc@5"],
                                 "ops_g": meta.get("_ops"), "params": meta["num_params"],
                                 "crop": keywords.get("crop_size"), "default": w == enum.DEFAULT,
                                 "recipe": meta.get("recipe")}
    doc = dict(_document())
    doc.update(recorded_with={"torchvision": torchvision.__version__, "torch": torch.__version__},
               weights=out)
    return doc


def main(argv: list[str] | None = None) -> int:              # pragma: no cover - needs torchvision
    parser = argparse.ArgumentParser(prog="python -m cnnbook_lib.published",
                                     description="Record torchvision's weights metadata.")
    parser.add_argument("--out", default=str(DATA))
    args = parser.parse_args(argv)
    Path(args.out).write_text(json.dumps(_record(), indent=1, allow_nan=False) + "\n",
                              encoding="utf-8")
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":                                   # pragma: no cover
    raise SystemExit(main())
