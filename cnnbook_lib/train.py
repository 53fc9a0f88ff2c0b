"""One small, readable training loop, shown once in the book and then called.

:func:`fit` trains a classifier with cross-entropy on tensors held in memory (mini-batches of a
seeded shuffle, Adam or SGD), measures the test accuracy after every epoch and returns a
:class:`History`. :func:`evaluate` measures accuracy and loss without changing the model.
:func:`lenet` builds a LeNet-style network for 28 x 28 one-channel digits (MNIST).

Determinism: for a given torch version, the same model (same initial weights), data and
arguments give the same :class:`History` numbers on one CPU thread (``threads=1``). The seed
drives the shuffle (a ``torch.Generator`` of its own) and every other random draw during
training (dropout, for instance: the global generator is seeded inside ``torch.random.fork_rng``,
so the caller's random state is left as it was). :func:`lenet` draws its initial weights from
its own ``seed`` the same way.

:data:`LENET_SETTINGS` holds the settings the book uses to train :func:`lenet` on MNIST.

Progress bar: ``progress=None`` shows one (tqdm) only when a person is watching; see
:func:`progress_default` for the rule.
"""
from __future__ import annotations

import math
import numbers
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OPTIMIZERS", "SCHEDULES", "ACTIVATIONS", "LENET_SETTINGS", "History", "Score",
           "Standardize", "fit", "evaluate", "lenet", "progress_default"]

#: the optimizers :func:`fit` knows
OPTIMIZERS = ("adam", "sgd")
#: the learning-rate schedules :func:`fit` knows
SCHEDULES = ("cosine", "constant")
#: the activations :func:`lenet` knows
ACTIVATIONS = ("tanh", "relu")
#: mean and standard deviation of the gray levels (in [0, 1]) of MNIST's 60,000 training
#: digits, the usual constants for standardising MNIST inputs
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
#: the settings of :func:`fit` with which :func:`lenet` learns the 4,000 training digits of
#: :func:`cnnbook_lib.datasets.mnist`: ``fit(lenet(), train, test, **LENET_SETTINGS)``
#: (measured with torch 2.13 on one core of an AMD EPYC: 98.0% test accuracy with seed 0,
#: 97.1% to 98.0% over seeds 0 to 4, about 9 s of CPU time; tests/benchmarks/bench_train.py)
LENET_SETTINGS: dict[str, Any] = dict(epochs=8, lr=3e-3, batch_size=64, optimizer="adam",
                                      schedule="cosine")
#: bounds that keep a mistyped argument from starting a run that never ends
_MOST = {"epochs": 100_000, "batch_size": 2 ** 31 - 1, "threads": 1024,
         "num_classes": 1_000_000, "seed": 2 ** 63 - 1}


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

class Score(NamedTuple):
    """What :func:`evaluate` measures: the fraction of examples classified correctly and the
    mean cross-entropy loss (natural log, per example)."""
    accuracy: float
    loss: float


@dataclass
class History:
    """What :func:`fit` did, one entry per epoch in each list.

    - ``loss``: mean training cross-entropy over the epoch's examples (each example's loss as
      computed in its mini-batch, before that batch's update).
    - ``train_accuracy``: fraction of the epoch's training examples that the model classified
      correctly when their batch was seen (training mode, before the batch's update): a running
      figure, not a separate pass over the training set.
    - ``test_accuracy``, ``test_loss``: :func:`evaluate` on ``test_data`` after the epoch
      (empty lists when there is no test data).
    - ``epoch_wall_s``: wall-clock seconds of each epoch, its test evaluation included.
    - ``wall_s``, ``cpu_s``: wall-clock and CPU seconds (``time.perf_counter`` and
      ``time.process_time``, the latter summed over the process's threads) of the whole call.
    - ``settings``: the arguments, the thread count, the number of examples and the torch version.
    """
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    epoch_wall_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.loss)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Argument checks: a refusal is a ValueError that names the parameter
# ---------------------------------------------------------------------------------------------

def _pos_int(param: str, value: object) -> int:
    most = _MOST.get(param)
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
            or (most is not None and value > most)):
        bound = "" if most is None else f" at most {most:,}"
        raise ValueError(f"{param} must be a positive integer{bound}; got {value!r}")
    return int(value)


def _seed(value: object, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not 0 <= value <= _MOST["seed"]):
        raise ValueError(f"seed must be an integer from 0 to 2**63 - 1"
                         f"{' or None' if allow_none else ''}; got {value!r}")
    return int(value)


def _pos_float(param: str, value: object) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{param} must be a finite number > 0; got {value!r}")
    return float(value)


def _nonneg_float(param: str, value: object) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0):
        raise ValueError(f"{param} must be a finite number >= 0; got {value!r}")
    return float(value)


def _choice(param: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{param} must be one of {', '.join(repr(c) for c in choices)}; "
                         f"got {value!r}")
    return value


def _model(value: object) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module; got {type(value).__name__}")
    return value


def _data(param: str, data: object) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` from a pair of tensors or a two-tensor ``TensorDataset``: X floating with a
    batch dimension first, y integer class indices >= 0 of shape (N,)."""
    if isinstance(data, torch.utils.data.TensorDataset):
        data = data.tensors
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{param} must be a pair (X, y) of tensors or a TensorDataset of two; "
                         f"got {type(data).__name__}")
    x, y = data
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(f"{param} must hold tensors (X, y); got "
                         f"({type(x).__name__}, {type(y).__name__})")
    if not x.is_floating_point() or x.ndim < 2 or x.is_meta:
        raise ValueError(f"{param}: X must be a floating-point tensor (N, ...) with data; got "
                         f"{x.dtype} of shape {tuple(x.shape)}")
    if y.ndim != 1 or y.dtype.is_floating_point or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"{param}: y must be an integer tensor of shape (N,) of class indices; "
                         f"got {y.dtype} of shape {tuple(y.shape)}")
    if len(x) != len(y):
        raise ValueError(f"{param}: X and y differ in length ({len(x)} and {len(y)})")
    if len(x) == 0:
        raise ValueError(f"{param} is empty")
    if y.min() < 0:
        raise ValueError(f"{param}: y holds a negative class index ({int(y.min())})")
    return x, y.long()


# ---------------------------------------------------------------------------------------------
# Progress bar
# ---------------------------------------------------------------------------------------------

def progress_default() -> bool:
    """Whether ``progress=None`` shows a progress bar here: only when a person is watching.

    The rule, first match wins:

    1. the environment variable ``CNNBOOK_PROGRESS`` set to ``0`` or ``1``: off or on;
    2. ``CI`` set (to anything but an empty string) or running under pytest
       (``PYTEST_CURRENT_TEST``): off;
    3. in a Jupyter kernel: on when the cell being run came from a front end that can answer
       ``input()`` (JupyterLab, Notebook, VS Code, Colab); off under nbclient, which runs the
       notebooks of the book build (jupyter-book, myst-nb, jupyter-cache), nbconvert and
       papermill and tells the kernel that no one can answer (``allow_stdin=False``);
    4. otherwise on when standard error, where tqdm draws, is a terminal.
    """
    forced = os.environ.get("CNNBOOK_PROGRESS", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    if os.environ.get("CI") or os.environ.get("PYTEST_CURRENT_TEST"):
        return False
    kernel = _jupyter_kernel()
    if kernel is not None:
        return bool(getattr(kernel, "_allow_stdin", False))
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):      # replaced or closed stream
        return False


def _jupyter_kernel() -> Any:
    """The running ipykernel, or None outside a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return getattr(shell, "kernel", None)


def _progress_bar(total: int, show: bool):
    if not show:
        return None
    if _jupyter_kernel() is not None:
        from tqdm.auto import tqdm           # the notebook widget
    else:
        from tqdm import tqdm
    return tqdm(total=total, unit="batch", leave=True)


# ---------------------------------------------------------------------------------------------
# Evaluation and training
# ---------------------------------------------------------------------------------------------

def _check_logits(param: str, logits: object, batch: int) -> None:
    """The model must return logits of shape (batch, classes)."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or len(logits) != batch:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"model must return logits of shape ({batch}, classes) for a batch of "
                         f"{batch} from {param}; got {shape}")


def _check_classes(param: str, labels: torch.Tensor, classes: int) -> None:
    """Every label of ``param`` must have its logit."""
    if int(labels.max()) >= classes:
        raise ValueError(f"{param} holds class {int(labels.max())} but the model returns "
                         f"{classes} logits (classes 0..{classes - 1})")


def _device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def evaluate(model: nn.Module, data: Any, batch_size: int = 1000) -> Score:
    """Accuracy and mean cross-entropy loss of ``model`` on ``data``.

    ``data``: ``(X, y)`` tensors (X: (N, ...) floating, y: (N,) class indices) or a
    ``TensorDataset`` of the two; ``model`` maps a batch of X to logits (B, classes). Runs in
    evaluation mode under ``torch.no_grad`` in batches of ``batch_size``, then puts every
    submodule back in the mode it was in. Returns ``Score(accuracy, loss)``.
    """
    model = _model(model)
    x, y = _data("data", data)
    batch_size = _pos_int("batch_size", batch_size)
    return _score(model, x, y, batch_size, "data")


def _score(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
           param: str) -> Score:
    """:func:`evaluate` on checked arguments (``param``: the data's name, for errors)."""
    device = _device(model)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    correct, loss_sum = 0, 0.0
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                xb = x[start:start + batch_size].to(device)
                yb = y[start:start + batch_size].to(device)
                logits = model(xb)
                if start == 0:
                    _check_logits(param, logits, len(xb))
                    _check_classes(param, y, logits.shape[1])
                loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
                correct += (logits.argmax(1) == yb).sum().item()
    finally:
        for m, mode in modes:
            m.training = mode
    return Score(correct / len(x), loss_sum / len(x))


def fit(model: nn.Module, train_data: Any, test_data: Any = None, *, epochs: int, lr: float,
        batch_size: int = 64, optimizer: str = "adam", schedule: str = "cosine",
        momentum: float = 0.9, weight_decay: float = 0.0, seed: int = 0, threads: int | None = None,
        progress: bool | None = None) -> History:
    """Train ``model`` (logits out) with cross-entropy on ``train_data``; return its
    :class:`History`.

    ``train_data``, ``test_data``: ``(X, y)`` tensors (X: (N, ...) floating, e.g.
    (N, 1, 28, 28); y: (N,) class indices) or a ``TensorDataset`` of the two. Each epoch visits
    the training examples once, in mini-batches of ``batch_size`` drawn from a fresh shuffle
    (the last batch may be smaller), taking one optimizer step per batch; then, if there is
    test data, :func:`evaluate` measures it. ``optimizer``: ``"adam"`` (``torch.optim.Adam``)
    or ``"sgd"`` (``torch.optim.SGD`` with ``momentum``), both with ``weight_decay``.
    ``schedule``: ``"cosine"`` lowers the learning rate after every step from ``lr`` to 0 along
    half a cosine, lr_k = lr (1 + cos(pi k / K)) / 2 for step k of K; ``"constant"`` keeps
    ``lr``. ``seed`` fixes the shuffle and any other random draw during training
    (not the initial weights: build the model with a seed, as :func:`lenet` does).
    ``threads``: the number of CPU threads torch uses during the call (restored after);
    ``None`` leaves it as it is. ``progress``: a tqdm bar; ``None`` decides by
    :func:`progress_default`.

    The model is trained in place, on the device of its parameters, and left in the mode it
    was in.
    """
    model = _model(model)
    x, y = _data("train_data", train_data)
    test = None if test_data is None else _data("test_data", test_data)
    epochs = _pos_int("epochs", epochs)
    lr = _pos_float("lr", lr)
    batch_size = _pos_int("batch_size", batch_size)
    optimizer = _choice("optimizer", optimizer, OPTIMIZERS)
    schedule = _choice("schedule", schedule, SCHEDULES)
    momentum = _nonneg_float("momentum", momentum)
    weight_decay = _nonneg_float("weight_decay", weight_decay)
    seed = _seed(seed)
    if threads is not None:
        threads = _pos_int("threads", threads)
    if progress is None:
        progress = progress_default()
    elif not isinstance(progress, bool):
        raise ValueError(f"progress must be True, False or None; got {progress!r}")

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    batches = math.ceil(len(x) / batch_size)
    steps = epochs * batches
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda k: 0.5 * (1 + math.cos(math.pi * k / steps)))
    else:
        scheduler = None

    saved_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    history = History(settings=dict(
        epochs=epochs, lr=lr, batch_size=batch_size, optimizer=optimizer, schedule=schedule,
        momentum=momentum,
        weight_decay=weight_decay, seed=seed, threads=torch.get_num_threads(),
        train_examples=len(x), test_examples=0 if test is None else len(test[0]),
        torch=torch.__version__))
    device = _device(model)
    was_training = model.training
    bar = _progress_bar(steps, progress)
    shuffle = torch.Generator().manual_seed(seed)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for epoch in range(epochs):
                start_epoch = time.perf_counter()
                model.train()
                order = torch.randperm(len(x), generator=shuffle)
                loss_sum, correct = 0.0, 0
                for start in range(0, len(x), batch_size):
                    idx = order[start:start + batch_size]
                    xb, yb = x[idx].to(device), y[idx].to(device)
                    logits = model(xb)
                    if epoch == 0 and start == 0:
                        _check_logits("train_data", logits, len(xb))
                        _check_classes("train_data", y, logits.shape[1])
                        if test is not None:
                            _check_classes("test_data", test[1], logits.shape[1])
                    loss = F.cross_entropy(logits, yb)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    if scheduler is not None:
                        scheduler.step()
                    loss_sum += loss.item() * len(idx)
                    correct += (logits.argmax(1) == yb).sum().item()
                    if bar is not None:
                        bar.update(1)
                history.loss.append(loss_sum / len(x))
                history.train_accuracy.append(correct / len(x))
                if test is not None:
                    score = _score(model, *test, 1000, "test_data")
                    history.test_accuracy.append(score.accuracy)
                    history.test_loss.append(score.loss)
                history.epoch_wall_s.append(time.perf_counter() - start_epoch)
                if bar is not None:
                    shown = {"epoch": epoch + 1, "loss": f"{history.loss[-1]:.3f}"}
                    if test is not None:
                        shown["test acc"] = f"{history.test_accuracy[-1]:.3f}"
                    bar.set_postfix(shown)
    finally:
        history.wall_s = time.perf_counter() - wall0
        history.cpu_s = time.process_time() - cpu0
        if bar is not None:
            bar.close()
        if threads is not None:
            torch.set_num_threads(saved_threads)
        model.train(was_training)
    return history


# ---------------------------------------------------------------------------------------------
# A LeNet-style network for 28 x 28 digits
# ---------------------------------------------------------------------------------------------

class Standardize(nn.Module):
    """``(x - mean) / std`` with fixed constants (no parameters): inputs with mean about 0 and
    variance about 1, which tanh units and a common learning rate suit (LeNet-5 scaled its
    inputs for the same reason)."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean, self.std = float(mean), float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"


def lenet(num_classes: int = 10, *, activation: str = "tanh",
          seed: int | None = 0) -> nn.Sequential:
    """A LeNet-style network for one-channel 28 x 28 digits with values in [0, 1] (MNIST):
    61,706 parameters for ten classes.

    Shapes for a batch of N::

        (N, 1, 28, 28)  standardize (x - 0.1307) / 0.3081   (fixed, no parameters)
                        conv 5x5, 6 maps, padding 2  -> (N, 6, 28, 28)   + activation
                        max pool 2x2                 -> (N, 6, 14, 14)
                        conv 5x5, 16 maps            -> (N, 16, 10, 10)  + activation
                        max pool 2x2                 -> (N, 16, 5, 5)
                        flatten                      -> (N, 400)
                        linear                       -> (N, 120)         + activation
                        linear                       -> (N, 84)          + activation
                        linear                       -> (N, num_classes) logits

    The layer sizes are LeNet-5's (LeCun et al. 1998): padding the 28 x 28 digit by 2 gives
    the paper's 32 x 32 input, and the 120-unit layer is its C5, a 5 x 5 convolution on a
    5 x 5 map, written as the linear layer it is. Unlike the paper: max pooling instead of
    trainable subsampling, a full C3, plain ``tanh`` (or ``activation="relu"``) and a linear
    output layer for cross-entropy: the "modern" LeNet-5 of ``cnnbook_lib.architectures``
    (``build("lenet5", variant="modern")``), which takes 32 x 32 inputs. The inputs are
    standardized with MNIST's training mean and standard deviation (:class:`Standardize`).

    ``seed``: the initial weights are drawn after ``torch.manual_seed(seed)`` without touching
    the caller's random state; ``None`` draws them from the global generator.
    """
    num_classes = _pos_int("num_classes", num_classes)
    activation = _choice("activation", activation, ACTIVATIONS)
    seed = _seed(seed, allow_none=True)
    act = nn.Tanh if activation == "tanh" else nn.ReLU

    def build() -> nn.Sequential:
        return nn.Sequential(
            Standardize(MNIST_MEAN, MNIST_STD),
            nn.Conv2d(1, 6, 5, padding=2), act(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), act(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), act(),
            nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),
        )

    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()
