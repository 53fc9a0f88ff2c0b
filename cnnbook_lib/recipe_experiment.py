"""Chapter 4's training recipes: torchvision's published ResNet-50 recipe, step by step, and
three small experiments on real digits that a CPU can run.

:data:`RESNET50_RECIPE` holds the published figures: the ImageNet top-1 accuracy of
torchvision's ResNet-50 after each increment of the recipe that took it from the
``IMAGENET1K_V1`` weights to the ``IMAGENET1K_V2`` weights (:data:`RECIPE_SOURCE`).

The experiments (:func:`run`), each for several seeds with :func:`cnnbook_lib.train.fit`:

* ``"depth"``: a narrow network of :data:`DEPTH` weighted layers (a 3x3 stem with stride 2,
  ``DEPTH - 2`` body convolutions in two-convolution blocks, a global average and a dense
  classifier; :func:`deep_net`) trained four ways: with or without batch normalization, with
  or without identity shortcuts around each block (batch normalization against none, and
  residual against plain, in one grid);
* ``"augment"``: :func:`cnnbook_lib.train.lenet` on a small training set of
  :data:`AUG_PER_CLASS` digits per class, each digit seen :data:`AUG_COPIES` times per epoch,
  either as identical copies or as copies shifted at random by up to :data:`AUG_SHIFT` pixels
  (:func:`shifted_copies`; the copies are drawn once, before training); each trained network
  is tested on MNIST's test digits as they are and on the same digits shifted by up to
  :data:`AUG_SHIFT` pixels (:func:`shifted_test`).

:func:`load_record` reads the result recorded by ``tests/benchmarks/record_recipe_experiment.py``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from cnnbook_lib import datasets, train
from cnnbook_lib.bench.machine import machine_info

__all__ = ["RECIPE_SOURCE", "RESNET50_RECIPE", "RECIPE_SETTINGS", "DEPTH", "WIDTH", "DEPTH_SETTINGS",
           "DEPTH_CONFIGS", "AUG_PER_CLASS", "AUG_COPIES", "AUG_SHIFT", "AUG_SETTINGS",
           "AUG_CONFIGS", "AUG_TEST_SEED", "SEEDS", "deep_net", "small_subset", "shifted_copies", "augment_data",
           "shifted_test", "train_depth", "train_augment", "augment_scores", "run", "load_record", "RECORD"]

#: where :data:`RESNET50_RECIPE` comes from (bib key of the book's references); ``runs``: each
#: row of the source's table is the best of this many training runs
RECIPE_SOURCE = dict(
    key="vryniotis2021recipe",
    title="How to Train State-Of-The-Art Models Using TorchVision's Latest Primitives",
    author="Vasilis Vryniotis", year=2021, publisher="PyTorch blog",
    url="https://pytorch.org/blog/how-to-train-state-of-the-art-models-using-torchvision-latest-primitives/",
    runs=3,
    note="table 'Break down of key accuracy improvements': ImageNet-1k validation top-1 (%), "
         "best of 3 runs unless denoted otherwise; the inference resize was tuned on the last "
         "model; repeated augmentation was added after the post first appeared")
#: (increment, ImageNet top-1 % after it), cumulative, in the order the source stacks them;
#: the first row is the IMAGENET1K_V1 weights, the last the IMAGENET1K_V2 weights
RESNET50_RECIPE: tuple[tuple[str, float], ...] = (
    ("baseline (V1 weights)", 76.130),
    ("LR optimizations", 76.494),
    ("TrivialAugment", 76.806),
    ("long training", 78.606),
    ("random erasing", 78.796),
    ("label smoothing", 79.114),
    ("mixup", 79.232),
    ("cutmix", 79.510),
    ("weight decay tuning", 80.036),
    ("FixRes mitigations", 80.196),
    ("EMA", 80.450),
    ("inference resize tuning", 80.674),
    ("repeated augmentation (V2 weights)", 80.858),
)
#: the two recipes' settings as the same source gives them: setting -> (V1 baseline, V2 final);
#: None where the baseline does not use the technique
RECIPE_SETTINGS: dict[str, tuple[Any, Any]] = {
    "images per batch (8 GPUs)": (256, 1024),
    "learning rate (SGD, momentum 0.9)": (0.1, 0.5),
    "schedule": ("step: /10 every 30 epochs", "cosine after 5 warm-up epochs"),
    "epochs": (90, 600),
    "weight decay": (1e-4, "2e-05, none on normalization layers"),
    "label smoothing": (None, 0.1),
    "mixup alpha": (None, 0.2),
    "cutmix alpha": (None, 1.0),
    "automatic augmentation": (None, "TrivialAugment (wide)"),
    "random erasing probability": (None, 0.1),
    "repeated augmentation (copies)": (None, 4),
    "EMA of the weights (decay, every n steps)": (None, "0.99998, every 32"),
    "training crop (pixels)": (224, 176),
    "evaluation resize, then crop (pixels)": ("256, 224", "232, 224"),
}

#: weighted layers of the deep network (stem, body convolutions, classifier)
DEPTH = 20
#: channels of the deep network
WIDTH = 16
#: training settings of the depth experiment (for :func:`cnnbook_lib.train.fit`)
DEPTH_SETTINGS: dict[str, Any] = dict(epochs=3, lr=0.05, batch_size=64, optimizer="sgd",
                                      momentum=0.9, schedule="cosine")
#: the depth experiment's four configurations: name -> (batch normalization, shortcuts)
DEPTH_CONFIGS: dict[str, tuple[bool, bool]] = {
    "plain": (False, False), "plain + BN": (True, False),
    "residual": (False, True), "residual + BN": (True, True)}
#: training digits per class of the augmentation experiment
AUG_PER_CLASS = 30
#: times each training digit is seen per epoch (as copies) in the augmentation experiment
AUG_COPIES = 8
#: largest shift, in pixels, of an augmented copy (each direction)
AUG_SHIFT = 3
#: training settings of the augmentation experiment
AUG_SETTINGS: dict[str, Any] = dict(train.LENET_SETTINGS)
#: the augmentation experiment's two configurations
AUG_CONFIGS = ("copies", "shifted copies")
#: seed of the shifts of the shifted test digits (:func:`shifted_test`), apart from the training seeds
AUG_TEST_SEED = 1000
#: the seeds of the recorded experiments
SEEDS = (0, 1, 2, 3, 4)
#: the recorded result shipped with the library
RECORD = Path(__file__).parent / "data" / "recipe-experiment-cpu.json"


class _Block(nn.Module):
    """Two 3x3 convolutions (each with batch normalization if ``bn``) with a ReLU after each;
    with ``shortcut`` the input is added before the second ReLU, as in ResNet's basic block."""

    def __init__(self, c: int, bn: bool, shortcut: bool):
        super().__init__()
        self.shortcut = shortcut
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=not bn)
        self.bn1 = nn.BatchNorm2d(c) if bn else nn.Identity()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=not bn)
        self.bn2 = nn.BatchNorm2d(c) if bn else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + x if self.shortcut else out)


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def deep_net(depth: int = DEPTH, width: int = WIDTH, *, bn: bool = True, shortcut: bool = True,
             seed: int = 0, num_classes: int = 10) -> nn.Sequential:
    """A narrow network of ``depth`` weighted layers for 28 x 28 one-channel digits: input
    standardization, a 3x3 convolution from 1 to ``width`` channels with stride 2 (28 -> 14),
    ``(depth - 2) / 2`` blocks of two 3x3 convolutions (:class:`_Block`; a 2x2 max pooling
    after the first half of them, 14 -> 7), a global average and a dense classifier.
    ``bn``: batch normalization after every convolution; ``shortcut``: identity shortcuts
    around every block. The initial weights come from ``seed`` (PyTorch's default
    initialization), the caller's random state left as it was."""
    if (isinstance(depth, bool) or not isinstance(depth, int) or depth < 4 or depth % 2):
        raise ValueError(f"depth must be an even integer >= 4, got {depth!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    bn, shortcut = _check_bool("bn", bn), _check_bool("shortcut", shortcut)
    blocks = (depth - 2) // 2
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = [train.Standardize(train.MNIST_MEAN, train.MNIST_STD),
                                   nn.Conv2d(1, width, 3, 2, 1, bias=not bn)]
        layers += [nn.BatchNorm2d(width)] if bn else []
        layers += [nn.ReLU()]
        for i in range(blocks):
            if i == blocks // 2:
                layers.append(nn.MaxPool2d(2))
            layers.append(_Block(width, bn, shortcut))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes)]
        return nn.Sequential(*layers)


def small_subset(per_class: int = AUG_PER_CLASS) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``per_class`` training digits of each class of :func:`datasets.mnist`
    ("train"), in class order."""
    x, y = datasets.mnist("train")
    idx = torch.cat([torch.nonzero(y == c).flatten()[:per_class] for c in range(10)])
    return x[idx], y[idx]


def shifted_copies(x: torch.Tensor, copies: int, shift: int, seed: int = 0) -> torch.Tensor:
    """``copies`` copies of every image of ``x`` (N, 1, H, W), copy ``k`` of all images first
    for k = 0, 1, ...; each copy moved by a random whole number of pixels from ``-shift`` to
    ``shift`` in each direction (zeros fill the edge), drawn from ``seed``. ``shift=0`` gives
    identical copies."""
    g = torch.Generator().manual_seed(seed)
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (shift, shift, shift, shift))
    out = []
    for _ in range(copies):
        d = torch.randint(-shift, shift + 1, (n, 2), generator=g).tolist()
        out.append(torch.stack([padded[i, :, shift - a:shift - a + h, shift - b:shift - b + w]
                                for i, (a, b) in enumerate(d)]))
    return torch.cat(out)


def augment_data(config: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The training set of the augmentation experiment for ``config`` (one of
    :data:`AUG_CONFIGS`): :func:`small_subset` as :data:`AUG_COPIES` identical copies, or as
    copies shifted by up to :data:`AUG_SHIFT` pixels (drawn from ``seed``)."""
    if config not in AUG_CONFIGS:
        raise ValueError(f"config must be one of {AUG_CONFIGS}, got {config!r}")
    x, y = small_subset()
    shift = AUG_SHIFT if config == "shifted copies" else 0
    return shifted_copies(x, AUG_COPIES, shift, seed), y.repeat(AUG_COPIES)


def shifted_test(seed: int = AUG_TEST_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST's test digits, each moved once by a random whole number of pixels from
    ``-AUG_SHIFT`` to ``AUG_SHIFT`` in each direction (:func:`shifted_copies`, drawn from
    ``seed``), with their labels."""
    x, y = datasets.mnist("test")
    return shifted_copies(x, 1, AUG_SHIFT, seed), y


def train_depth(config: str, seed: int, *, epochs: int | None = None,
                n_train: int | None = None, threads: int = 1) -> train.History:
    """Train :func:`deep_net` in ``config`` (a key of :data:`DEPTH_CONFIGS`) on MNIST's
    training digits (the first ``n_train`` if given) with :data:`DEPTH_SETTINGS`; the seed
    fixes the initial weights and the batches."""
    if config not in DEPTH_CONFIGS:
        raise ValueError(f"config must be one of {tuple(DEPTH_CONFIGS)}, got {config!r}")
    bn, shortcut = DEPTH_CONFIGS[config]
    x, y = datasets.mnist("train")
    if n_train is not None:
        x, y = x[:n_train], y[:n_train]
    settings = dict(DEPTH_SETTINGS, **({} if epochs is None else {"epochs": epochs}))
    model = deep_net(bn=bn, shortcut=shortcut, seed=seed)
    return train.fit(model, (x, y), datasets.mnist("test"), seed=seed, threads=threads,
                     progress=False, **settings)


def train_augment(config: str, seed: int, *, threads: int = 1) -> train.History:
    """Train :func:`cnnbook_lib.train.lenet` (initial weights from ``seed``) on
    :func:`augment_data` of ``config`` (copies drawn from ``seed``) with :data:`AUG_SETTINGS`,
    tested on MNIST's 1,000 test digits."""
    return augment_scores(config, seed, threads=threads)[0]


def augment_scores(config: str, seed: int, *,
                   threads: int = 1) -> tuple[train.History, train.Score]:
    """:func:`train_augment`'s history, and the trained network's score on the shifted test
    digits (:func:`shifted_test`)."""
    model = train.lenet(seed=seed)
    hist = train.fit(model, augment_data(config, seed), datasets.mnist("test"), seed=seed,
                     threads=threads, progress=False, **AUG_SETTINGS)
    return hist, train.evaluate(model, shifted_test())


def run(seeds: Sequence[int] = SEEDS, *, threads: int = 1) -> dict[str, Any]:
    """Both experiments for every seed; a JSON-ready record: ``metadata`` (the machine,
    :func:`~cnnbook_lib.bench.machine.machine_info`, and the settings) and ``rows``, one per
    configuration: ``experiment``, ``config``, per-seed final ``accuracy``, per-epoch
    ``curves`` (test accuracy), final training ``loss`` (the mean cross-entropy over the
    last epoch's examples, as it trained), per-epoch ``loss_curves`` and training ``cpu_s``; the augmentation rows also hold
    ``shifted_accuracy``, on the shifted test digits (:func:`augment_scores`)."""
    rows = []
    jobs = [("depth", c) for c in DEPTH_CONFIGS] + [("augment", c) for c in AUG_CONFIGS]
    for experiment, config in jobs:
        row: dict[str, Any] = dict(experiment=experiment, config=config, accuracy=[], curves=[],
                                   loss=[], loss_curves=[], cpu_s=[])
        if experiment == "augment":
            row["shifted_accuracy"] = []
        for seed in seeds:
            if experiment == "depth":
                hist = train_depth(config, seed, threads=threads)
            else:
                hist, shifted = augment_scores(config, seed, threads=threads)
                row["shifted_accuracy"].append(shifted.accuracy)
            row["accuracy"].append(hist.test_accuracy[-1])
            row["curves"].append(hist.test_accuracy)
            row["loss"].append(hist.loss[-1])
            row["loss_curves"].append(hist.loss)
            row["cpu_s"].append(hist.cpu_s)
        rows.append(row)
    meta = dict(machine_info("cpu"), threads=threads, seeds=list(seeds), depth=DEPTH,
                width=WIDTH, depth_settings=DEPTH_SETTINGS, aug_settings=AUG_SETTINGS,
                aug_per_class=AUG_PER_CLASS, aug_copies=AUG_COPIES, aug_shift=AUG_SHIFT,
                aug_test_seed=AUG_TEST_SEED,
                n_train=len(datasets.mnist("train")[1]), n_test=len(datasets.mnist("test")[1]))
    return {"metadata": meta, "rows": rows}


def load_record(path: str | Path = RECORD) -> dict[str, Any]:
    """The recorded :func:`run` shipped with the library (or the JSON at ``path``)."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or "metadata" not in doc or "rows" not in doc:
        raise ValueError(f"{path} is not a recipe-experiment record (needs metadata and rows)")
    return doc
