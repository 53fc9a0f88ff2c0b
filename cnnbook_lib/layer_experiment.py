"""Chapter 3's training experiment: the same small network built from four kinds of layer at
matched multiply-accumulates, trained on the same digits, compared on accuracy, MACs and time.

Every network is ``stem -> body(C) x2 -> max pool -> body(C) x2 -> global average -> dense``
on 28 x 28 one-channel digits; the stem is a 3x3 convolution from 1 to ``C`` channels with
stride 2 (28 -> 14), and ``body`` is one of :data:`KINDS`:

* ``"standard"``: a 3x3 convolution from ``C`` to ``C`` channels;
* ``"separable"``: a 3x3 depthwise convolution, then a 1x1 convolution (MobileNet v1's unit);
* ``"grouped"``: a 3x3 convolution in ``GROUPS`` groups, then the channel shuffle (ShuffleNet);
* ``"bottleneck"``: 1x1 from ``C`` to ``C/4``, 3x3 at ``C/4``, 1x1 back to ``C`` (ResNet's
  bottleneck, without the shortcut, as no other body has one).

Each convolution is followed by batch normalization and a ReLU. :func:`matched_width` picks,
for each kind, the width ``C`` (a multiple of 4) whose MACs (counted by
:func:`cnnbook_lib.analysis.summarize`) come closest to a budget. :func:`run` trains each
network with :func:`cnnbook_lib.train.fit` for several seeds and times its inference on the
CPU; :func:`load_record` reads the result recorded by ``tests/benchmarks/record_layer_experiment.py``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from cnnbook_lib import analysis, datasets, train
from cnnbook_lib.architectures.shufflenet import ChannelShuffle
from cnnbook_lib.bench import timing
from cnnbook_lib.bench.machine import machine_info

__all__ = ["KINDS", "GROUPS", "SETTINGS", "BUDGET_WIDTH", "small_net", "net_macs",
           "matched_width", "hard_digits", "run", "load_record", "RECORD"]

#: the four kinds of body layer, in the order the chapter introduces them
KINDS = ("standard", "bottleneck", "separable", "grouped")
#: the number of groups of the grouped body
GROUPS = 4
#: the width of the standard network whose MACs set the budget of the others
BUDGET_WIDTH = 24
#: the training settings of the experiment (for :func:`cnnbook_lib.train.fit`)
SETTINGS: dict[str, Any] = dict(epochs=6, lr=3e-3, batch_size=64, optimizer="adam",
                                schedule="cosine")
#: the recorded result shipped with the library
RECORD = Path(__file__).parent / "data" / "layer-experiment-cpu.json"


def _cba(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU()]


def _body(kind: str, c: int) -> list[nn.Module]:
    if kind == "standard":
        return _cba(c, c, 3)
    if kind == "separable":
        return _cba(c, c, 3, groups=c) + _cba(c, c, 1)
    if kind == "grouped":
        return _cba(c, c, 3, groups=GROUPS) + [ChannelShuffle(GROUPS)]
    if kind == "bottleneck":
        return _cba(c, c // 4, 1) + _cba(c // 4, c // 4, 3) + _cba(c // 4, c, 1)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def small_net(kind: str, width: int, seed: int = 0, num_classes: int = 10) -> nn.Sequential:
    """The experiment's network with body layers of ``kind`` and ``width`` channels; initial
    weights drawn from ``seed`` (the caller's random state is left as it was)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(width, int) or isinstance(width, bool) or width < 4 or width % 4:
        raise ValueError(f"width must be a positive multiple of 4, got {width!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = _cba(1, width, 3, stride=2)
        layers += _body(kind, width) + _body(kind, width) + [nn.MaxPool2d(2)]
        layers += _body(kind, width) + _body(kind, width)
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes)]
        return nn.Sequential(*layers)


def net_macs(kind: str, width: int) -> int:
    """Multiply-accumulates of one 28 x 28 digit through :func:`small_net` (analysis.summarize)."""
    return analysis.summarize(small_net(kind, width), (1, 1, 28, 28)).macs


def matched_width(kind: str, budget: int, widths: Sequence[int] = range(4, 257, 4)) -> int:
    """The width of ``kind`` (from ``widths``, ascending) whose :func:`net_macs` is closest to
    ``budget``. The MACs grow with the width, so the search stops at the first width over the
    budget."""
    best, best_gap = None, None
    for w in widths:
        macs = net_macs(kind, w)
        if best_gap is None or abs(macs - budget) < best_gap:
            best, best_gap = w, abs(macs - budget)
        if macs > budget:
            break
    return best


def hard_digits(split: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST digits (:func:`cnnbook_lib.datasets.mnist`) made harder: each shifted by up to 4
    pixels in each direction (zeros fill the edge) and covered with Gaussian noise of standard
    deviation 0.3, the draw fixed by ``seed`` and ``split``."""
    x, y = datasets.mnist(split)
    g = torch.Generator().manual_seed(seed * 2 + (split == "test"))
    shifts = torch.randint(-4, 5, (len(x), 2), generator=g)
    padded = nn.functional.pad(x, (4, 4, 4, 4))
    out = torch.stack([padded[i, :, 4 - a:32 - a, 4 - b:32 - b]
                       for i, (a, b) in enumerate(shifts.tolist())])
    out = out + 0.3 * torch.randn(out.shape, generator=g)
    return out.clamp(0, 1), y


def _time_inference(model: nn.Module, batch: torch.Tensor, repeats: int) -> float:
    model.eval()
    with torch.no_grad():
        m = timing.measure(lambda: model(batch), warmup=2, repeats=repeats, threads=1)
    return m.median


def run(kinds: Sequence[str] = KINDS, seeds: Sequence[int] = (0, 1, 2), *, budget_width: int =
        BUDGET_WIDTH, epochs: int | None = None, n_train: int | None = None,
        repeats: int = 15, threads: int = 1) -> dict[str, Any]:
    """Train every kind at the budget of the standard network of ``budget_width`` channels, for
    each seed, on :func:`hard_digits`; return a JSON-ready record: ``metadata`` (the machine,
    :func:`~cnnbook_lib.bench.machine.machine_info`, and the settings) and one ``rows`` entry
    per kind (width, params, MACs, per-seed test accuracy, training CPU seconds and inference
    time of a batch of 100 digits on one thread)."""
    settings = dict(SETTINGS, **({} if epochs is None else {"epochs": epochs}))
    x_train, y_train = hard_digits("train")
    x_test, y_test = hard_digits("test")
    if n_train is not None:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    budget = net_macs("standard", budget_width)
    rows = []
    for kind in kinds:
        width = matched_width(kind, budget)
        row: dict[str, Any] = dict(kind=kind, width=width, macs=net_macs(kind, width),
                                   params=sum(p.numel() for p in small_net(kind, width).parameters()),
                                   accuracy=[], train_cpu_s=[], infer_ms=[])
        for seed in seeds:
            model = small_net(kind, width, seed)
            hist = train.fit(model, (x_train, y_train), (x_test, y_test), seed=seed,
                             threads=threads, progress=False, **settings)
            row["accuracy"].append(hist.test_accuracy[-1])
            row["train_cpu_s"].append(hist.cpu_s)
            row["infer_ms"].append(1e3 * _time_inference(model, x_test[:100], repeats))
        rows.append(row)
    meta = dict(machine_info("cpu"), threads=threads, settings=settings, seeds=list(seeds),
                budget_width=budget_width, budget_macs=budget, n_train=len(x_train),
                n_test=len(x_test), data="hard_digits (MNIST shifted up to 4 px, noise 0.3)")
    return {"metadata": meta, "rows": rows}


def load_record(path: str | Path = RECORD) -> dict[str, Any]:
    """The recorded :func:`run` shipped with the library (or the JSON at ``path``)."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or "metadata" not in doc or "rows" not in doc:
        raise ValueError(f"{path} is not a layer-experiment record (needs metadata and rows)")
    return doc
