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
