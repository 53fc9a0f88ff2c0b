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
    "shufflenet_v2_x0_5": dict(params=1.4e6, macs=41e6, cite="ma2018shufflenet", where="Table 5"),
    "shufflenet_v2_x1_0": dict(params=2.3e6, macs=146e6, cite="ma2018shufflenet", where="Table 5"),
    "shufflenet_v2_x1_5": dict(params=3.5e6, macs=299e6, cite="ma2018shufflenet", where="Table 5"),
    "shufflenet_v2_x2_0": dict(params=7.4e6, macs=591e6, cite="ma2018shufflenet", where="Table 5"),
    "vit_b_16": dict(params=86e6, macs=None, cite="dosovitskiy2021image", where="Table 1"),
    "convnext_tiny": dict(params=28e6, macs=4.5e9, cite="liu2022convnet", where="Table 1"),
    "mobilenet_v3_large": dict(params=5.4e6, macs=219e6, cite="howard2019searching",
                               where="Table 3"),
    "mobilenet_v3_small": dict(params=2.5e6, macs=56e6, cite="howard2019searching",
                               where="Table 3"),
    "efficientnet_v2_s": dict(params=22e6, macs=8.8e9, cite="tan2021efficientnetv2",
                              where="Table 7 (at the 384-pixel evaluation size)"),
}


#: Howard et al. (2017), Table 6 (width multiplier, 224 x 224) and Table 7 (resolution, width 1):
#: ImageNet top-1 accuracy in percent, millions of mult-adds, millions of parameters. The paper
#: tabulates only these eight of its sixteen models (the others are points in its Figures 4-5).
MOBILENET_V1_WIDTH = {1.0: (70.6, 569, 4.2), 0.75: (68.4, 325, 2.6), 0.5: (63.7, 149, 1.3),
                      0.25: (50.6, 41, 0.5)}
MOBILENET_V1_RESOLUTION = {224: (70.6, 569, 4.2), 192: (69.1, 418, 4.2), 160: (67.2, 290, 4.2),
                           128: (64.4, 186, 4.2)}


#: Ma et al. (2018), Tables 1-4: the four experiments behind ShuffleNet V2's design guidelines,
#: as printed. Each experiment compares structures of equal FLOPs, each stacked ten times, on an
#: NVIDIA GTX 1080Ti with cuDNN 7.0 ("GPU", in batches per second; the batch size is not stated)
#: and on one thread of a Qualcomm Snapdragon 810 ("ARM", in images per second; Tables 2-4 head
#: this column "CPU"), each at three network widths, x1, x2 and x4. ``rows`` maps a structure to
#: its speeds, ``{"GPU": (x1, x2, x4), "ARM": (x1, x2, x4)}``; ``channels`` gives each row's channel
#: counts at width x1 on each platform where the table prints them; ``widths`` the columns' headers
#: where they are channel counts. ``hw`` is the map size the caption states (None: not stated).
SHUFFLENET_V2_GUIDELINES: dict[str, dict[str, Any]] = {
    "G1": dict(
        guideline="equal channel width minimizes memory access cost", where="Table 1", hw=56,
        channels={"GPU": {"1:1": (128, 128), "1:2": (90, 180), "1:6": (52, 312), "1:12": (36, 432)},
                  "ARM": {"1:1": (32, 32), "1:2": (22, 44), "1:6": (13, 78), "1:12": (9, 108)}},
        rows={"1:1": {"GPU": (1480, 723, 232), "ARM": (76.2, 21.7, 5.3)},
              "1:2": {"GPU": (1296, 586, 206), "ARM": (72.9, 20.5, 5.1)},
              "1:6": {"GPU": (876, 489, 189), "ARM": (69.1, 17.9, 4.6)},
              "1:12": {"GPU": (748, 392, 163), "ARM": (57.6, 15.1, 4.4)}}),
    "G2": dict(
        guideline="excessive group convolution increases memory access cost", where="Table 2", hw=56,
        channels={"GPU": {1: 128, 2: 180, 4: 256, 8: 360}, "ARM": {1: 64, 2: 90, 4: 128, 8: 180}},
        rows={1: {"GPU": (2451, 1289, 437), "ARM": (40.0, 10.2, 2.3)},
              2: {"GPU": (1725, 873, 341), "ARM": (35.0, 9.5, 2.2)},
              4: {"GPU": (1026, 644, 338), "ARM": (32.9, 8.7, 2.1)},
              8: {"GPU": (634, 445, 230), "ARM": (27.8, 7.5, 1.8)}}),
    "G3": dict(
        guideline="network fragmentation reduces the degree of parallelism", where="Table 3", hw=56,
        widths={"GPU": (128, 256, 512), "ARM": (64, 128, 256)},
        rows={"1-fragment": {"GPU": (2446, 1274, 434), "ARM": (40.2, 10.1, 2.3)},
              "2-fragment-series": {"GPU": (1790, 909, 336), "ARM": (38.6, 10.1, 2.2)},
              "4-fragment-series": {"GPU": (752, 745, 349), "ARM": (38.4, 10.1, 2.3)},
              "2-fragment-parallel": {"GPU": (1537, 803, 320), "ARM": (33.4, 9.1, 2.2)},
              "4-fragment-parallel": {"GPU": (691, 572, 292), "ARM": (35.0, 8.4, 2.1)}}),
    "G4": dict(
        guideline="element-wise operations are non-negligible", where="Table 4", hw=None,
        widths={"GPU": (32, 64, 128), "ARM": (32, 64, 128)},
        rows={(True, True): {"GPU": (2427, 2066, 1436), "ARM": (56.7, 16.9, 5.0)},
              (True, False): {"GPU": (2647, 2256, 1735), "ARM": (61.9, 18.8, 5.2)},
              (False, True): {"GPU": (2672, 2121, 1458), "ARM": (57.3, 18.2, 5.1)},
              (False, False): {"GPU": (2842, 2376, 1782), "ARM": (66.3, 20.2, 5.4)}}),
}
"""G4's rows are ``(ReLU, shortcut)``: whether the ResNet bottleneck unit keeps each."""


def guideline_speeds(guideline: str, platform: str, width: int = 0) -> dict[Any, float]:
    """One column of :data:`SHUFFLENET_V2_GUIDELINES` as speeds relative to the table's first row
    (equal widths, one group, one fragment, the unit with its ReLUs and shortcut):
    ``{row: speed / first row's speed}``. ``platform`` is
    ``"GPU"`` or ``"ARM"``; ``width`` the column, 0, 1 or 2 for x1, x2, x4."""
    if guideline not in SHUFFLENET_V2_GUIDELINES:
        raise ValueError(f"unknown guideline {guideline!r}; choose from {sorted(SHUFFLENET_V2_GUIDELINES)}")
    if platform not in ("GPU", "ARM"):
        raise ValueError(f"platform must be 'GPU' or 'ARM', not {platform!r}")
    if width not in (0, 1, 2):
        raise ValueError(f"width must be 0, 1 or 2 (the x1, x2 and x4 columns), not {width!r}")
    rows = SHUFFLENET_V2_GUIDELINES[guideline]["rows"]
    first = next(iter(rows.values()))[platform][width]
    return {row: speeds[platform][width] / first for row, speeds in rows.items()}


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
