"""The effective receptive field before and after training, on MNIST digits.

Luo et al. (NeurIPS 2016, section 4.2) report that the effective receptive field (ERF) of a
network *grows* during training. :func:`experiment` tests the claim on four small networks
(plain or residual, with or without batch normalization) that end, as theirs do, in a head that
pools every position of the last map: global average pooling and one linear layer. Each
network is trained with the book's loop (:func:`cnnbook_lib.train.fit`) on the 4,000 training
digits of :func:`cnnbook_lib.datasets.mnist`; the ERF of the central unit of the last
convolution is measured with :func:`cnnbook_lib.receptive.erf_stats.erf_map` (squared input
gradient, averaged over held-out digits) before and after training, for several seeds.

``tests/benchmarks/record_trained_erf.py`` runs the full experiment and writes
``cnnbook_lib/data/trained_erf.json``; :func:`recorded` reads it back.
"""
from __future__ import annotations

import json
import pathlib
import statistics
import time
from typing import Any, Sequence

import torch
from torch import nn

from . import erf_stats as E

__all__ = ["VARIANTS", "DigitNet", "digit_net", "erf_width", "run", "experiment", "summarize",
           "recorded", "RECORD", "digits"]

#: the four variants: name -> (residual, batch norm)
VARIANTS: dict[str, tuple[bool, bool]] = {
    "plain": (False, False),
    "plain + BN": (False, True),
    "residual": (True, False),
    "residual + BN": (True, True),
}
#: where the recorded full experiment lives (package data)
RECORD = pathlib.Path(__file__).resolve().parent.parent / "data" / "trained_erf.json"


class DigitNet(nn.Module):
    """A stem 3x3 convolution, ``depth`` 3x3 blocks, global average pooling and a linear head.

    A block is ``h = relu(bn(conv(h)))`` (plain) or ``h = h + relu(bn(conv(h)))`` (residual);
    without batch norm ``bn`` is the identity. Convolutions start from He's initialization
    (``kaiming_normal_``, zero bias), with which a plain ReLU stack trains without batch norm. Every convolution keeps the map size (padding 1,
    stride 1), so the central unit of :attr:`features`' output has a field of
    ``1 + 2 (depth + 1)`` pixels.
    """

    def __init__(self, depth: int = 6, channels: int = 16, residual: bool = False,
                 batchnorm: bool = False):
        super().__init__()
        self.residual = bool(residual)
        self.stem = nn.Conv2d(1, channels, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1, bias=not batchnorm)
                                   for _ in range(depth))
        self.norms = nn.ModuleList((nn.BatchNorm2d(channels) if batchnorm else nn.Identity())
                                   for _ in range(depth))
        self.head = nn.Linear(channels, 10)
        for conv in [self.stem, *self.convs]:          # He initialization, for ReLU networks
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map (N, channels, H, W)."""
        h = torch.relu(self.stem(x))
        for conv, norm in zip(self.convs, self.norms):
            y = torch.relu(norm(conv(h)))
            h = h + y if self.residual else y
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class _Features(nn.Module):
    def __init__(self, net: DigitNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


def digit_net(variant: str, seed: int, depth: int = 6, channels: int = 16) -> DigitNet:
    """The network of ``variant`` (a key of :data:`VARIANTS`) with initial weights from
    ``seed`` (the caller's random state is left as it was)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    residual, batchnorm = VARIANTS[variant]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DigitNet(depth, channels, residual, batchnorm)


def erf_width(net: DigitNet, images: torch.Tensor) -> dict[str, Any]:
    """The ERF of the central unit of ``net``'s last map, averaged over ``images``: its map
    (normalized to sum 1), its standard deviation in pixels (mean of the two axes' profiles)
    and the share of the theoretical field's pixels (clipped to the image) that hold 95 % of it."""
    from . import erf_fraction
    erf = E.erf_map(_Features(net), tuple(images.shape), inputs=images, reinitialize=False,
                    power=2)
    std = (E.std(E.profile(erf, 0)) + E.std(E.profile(erf, 1))) / 2
    r = 1 + 2 * (len(net.convs) + 1)
    c0, c1 = (n // 2 for n in erf.shape)
    h, w = erf.shape
    box = (max(0, c0 - r // 2), max(0, c1 - r // 2), min(h - 1, c0 + r // 2),
           min(w - 1, c1 + r // 2))                   # the field, clipped to the image
    return {"map": erf, "std": std, "share95": erf_fraction(erf.float(), box), "field": r}


def run(variant: str, seed: int, train: tuple, test: tuple, *, epochs: int = 8,
        lr: float = 3e-3, depth: int = 6, channels: int = 16, probe: int = 200,
        threads: int | None = 1) -> dict[str, Any]:
    """Train one network and measure its ERF before and after, on the first ``probe`` test
    digits. Returns the accuracies, ERF widths, maps and training time."""
    from ..train import evaluate, fit
    net = digit_net(variant, seed, depth, channels)
    probe_x = test[0][:probe]
    before = erf_width(net, probe_x)
    acc0 = evaluate(net, test).accuracy
    start = time.perf_counter()
    fit(net, train, None, epochs=epochs, lr=lr, batch_size=64, seed=seed, threads=threads,
        progress=False)
    seconds = time.perf_counter() - start
    after = erf_width(net, probe_x)
    return {"variant": variant, "seed": seed, "acc_before": acc0,
            "acc_after": evaluate(net, test).accuracy, "std_before": before["std"],
            "std_after": after["std"], "share_before": before["share95"],
            "share_after": after["share95"], "field": before["field"], "seconds": seconds,
            "map_before": before["map"], "map_after": after["map"]}


def experiment(seeds: Sequence[int] = (0, 1, 2), variants: Sequence[str] = tuple(VARIANTS),
               **options) -> list[dict[str, Any]]:
    """:func:`run` for every variant and seed on :func:`digits`."""
    train, test = digits("train"), digits("test")
    return [run(v, s, train, test, **options) for v in variants for s in seeds]


def digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST digits of ``split`` averaged 2 x 2 to 14 x 14 pixels (four times cheaper to train
    on) and standardized with MNIST's mean and standard deviation."""
    from ..datasets import mnist
    from ..train import MNIST_MEAN, MNIST_STD
    x, y = mnist(split)
    return (torch.nn.functional.avg_pool2d(x, 2) - MNIST_MEAN) / MNIST_STD, y


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per variant: mean, smallest and largest of the ERF width before and after, of their
    ratio after/before and of the accuracy after, over the seeds."""
    out: dict[str, dict[str, float]] = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        stats: dict[str, float] = {"seeds": len(mine)}
        for key, values in (("std_before", [r["std_before"] for r in mine]),
                            ("std_after", [r["std_after"] for r in mine]),
                            ("ratio", [r["std_after"] / r["std_before"] for r in mine]),
                            ("acc_after", [r["acc_after"] for r in mine]),
                            ("share_before", [r["share_before"] for r in mine]),
                            ("share_after", [r["share_after"] for r in mine])):
            stats[key] = statistics.fmean(values)
            stats[key + "_min"], stats[key + "_max"] = min(values), max(values)
        out[variant] = stats
    return out


def recorded(path: pathlib.Path | str | None = None) -> dict[str, Any]:
    """The recorded full experiment: its settings, machine, date and per-run numbers."""
    return json.loads(pathlib.Path(path or RECORD).read_text(encoding="utf-8"))
