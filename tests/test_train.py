"""cnnbook_lib.train: the training loop's determinism and bookkeeping, evaluate() against a
manual computation, the LeNet-style network on MNIST (the book's promise: at least 97% test
accuracy), the progress-bar rule, and the refusals."""
from __future__ import annotations

import json
import math
import os
import sys
import types

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from badinput import check_function
from cnnbook_lib import datasets, train

THREADS = 1


@pytest.fixture(scope="module")
def mnist_train():
    return datasets.mnist("train")


@pytest.fixture(scope="module")
def mnist_test():
    return datasets.mnist("test")


@pytest.fixture(scope="module")
def small(mnist_train, mnist_test):
    """600 training and 200 test digits: enough to see learning, quick to train."""
    (x, y), (xt, yt) = mnist_train, mnist_test
    return (x[:600], y[:600]), (xt[:200], yt[:200])


def _run(data, seed=0, model_seed=0, **options):
    settings = dict(epochs=2, lr=3e-3, batch_size=32, threads=THREADS, progress=False)
    settings.update(options)
    model = train.lenet(seed=model_seed)
    history = train.fit(model, data[0], data[1], seed=seed, **settings)
    return model, history


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------

def test_lenet_shapes_and_size():
    model = train.lenet()
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert train.lenet(num_classes=3)(torch.rand(2, 1, 28, 28)).shape == (2, 3)
    # LeNet-5's layer sizes, counted by hand: weights + biases of each layer
    by_hand = ((1 * 5 * 5 + 1) * 6 + (6 * 5 * 5 + 1) * 16        # C1, C3
               + (400 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10)  # C5, F6, output
    assert sum(p.numel() for p in model.parameters()) == by_hand == 61_706
    # and the shapes of the docstring, layer by layer
    shapes, x = [], torch.rand(2, 1, 28, 28)
    for layer in model:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert [s for s, layer in zip(shapes, model) if not isinstance(layer, nn.Tanh)] == [
        (1, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (400,), (120,),
        (84,), (10,)]


def test_lenet_seed_fixes_the_weights_and_leaves_the_global_generator():
    state = torch.random.get_rng_state()
    a, b, c = train.lenet(seed=3), train.lenet(seed=3), train.lenet(seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a[1].weight, c[1].weight)
    assert isinstance(train.lenet(activation="relu")[2], nn.ReLU)
    assert isinstance(train.lenet()[2], nn.Tanh)


def test_standardize():
    s = train.Standardize(0.5, 0.25)
    assert torch.equal(s(torch.tensor([0.5, 1.0])), torch.tensor([0.0, 2.0]))
    assert not list(s.parameters())


# ---------------------------------------------------------------------------------------------
# fit: bookkeeping and determinism
# ---------------------------------------------------------------------------------------------

def test_history_has_one_entry_per_epoch(small):
    model, h = _run(small, epochs=3)
    assert h.epochs == 3
    for values in (h.loss, h.train_accuracy, h.test_accuracy, h.test_loss, h.epoch_wall_s):
        assert len(values) == 3
    assert all(0.0 <= a <= 1.0 for a in h.train_accuracy + h.test_accuracy)
    assert h.loss[-1] < h.loss[0]                     # it learns
    assert h.test_accuracy[-1] > 0.5                  # far above chance (0.1)
    assert h.wall_s > 0 and h.cpu_s > 0 and h.wall_s >= sum(h.epoch_wall_s) * 0.99
    assert h.settings["threads"] == THREADS and h.settings["epochs"] == 3
    assert h.settings["train_examples"] == 600 and h.settings["test_examples"] == 200
    json.dumps(h.to_dict())
    # the last test accuracy is evaluate() on the trained model
    score = train.evaluate(model, small[1])
    assert score.accuracy == h.test_accuracy[-1]
    assert score.loss == pytest.approx(h.test_loss[-1], rel=1e-6)


def test_without_test_data_the_test_lists_are_empty(small):
    h = train.fit(train.lenet(), small[0], epochs=1, lr=1e-3, threads=THREADS, progress=False)
    assert len(h.loss) == len(h.train_accuracy) == 1
    assert h.test_accuracy == [] and h.test_loss == []


def test_two_seeded_runs_are_identical(small):
    m1, h1 = _run(small)
    m2, h2 = _run(small)
    for field in ("loss", "train_accuracy", "test_accuracy", "test_loss"):
        assert getattr(h1, field) == getattr(h2, field), field
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p1, p2)
    # and the seed matters: another shuffle gives another history
    _, h3 = _run(small, seed=1)
    assert h3.loss != h1.loss


def test_fit_leaves_the_callers_random_state_threads_and_mode(small):
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(784, 10))
    model.eval()
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    train.fit(model, small[0], small[1], epochs=1, lr=1e-3, threads=1, progress=False)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.get_num_threads() == threads
    assert not model.training


def test_sgd_and_constant_schedule_train_too(small):
    _, h = _run(small, optimizer="sgd", lr=0.05, schedule="constant")
    assert h.loss[-1] < h.loss[0] and h.settings["optimizer"] == "sgd"


def test_cosine_schedule_ends_at_zero(small):
    """The learning rate the optimizer used last: lr (1 + cos(pi k / K)) / 2 at k = K - 1."""
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))

        def forward(self, x):
            return self.net(x)

    model = Spy()
    original = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    torch.optim.Adam.step = step
    try:
        train.fit(model, small[0], epochs=2, lr=0.01, batch_size=100, progress=False)
    finally:
        torch.optim.Adam.step = original
    steps = 2 * 6
    expected = [0.01 * (1 + math.cos(math.pi * k / steps)) / 2 for k in range(steps)]
    assert seen == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_progress_bar_drawn_only_when_asked(small, capsys):
    train.fit(train.lenet(), small[0], epochs=1, lr=1e-3, batch_size=200, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "batch" in err
    train.fit(train.lenet(), small[0], epochs=1, lr=1e-3, batch_size=200, progress=False)
    assert capsys.readouterr().err == ""
    train.fit(train.lenet(), small[0], epochs=1, lr=1e-3, batch_size=200)   # auto: off here
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------

def test_evaluate_against_a_manual_computation(small):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.Dropout(0.9), nn.ReLU(),
                          nn.Linear(32, 10))
    x, y = small[1]
    model.train()
    model[1].eval()          # a mixed state, restored exactly
    modes = [m.training for m in model.modules()]
    score = train.evaluate(model, (x, y), batch_size=7)
    assert [m.training for m in model.modules()] == modes
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        logits = model(x)
    accuracy = (logits.argmax(1) == y).double().mean().item()
    loss = F.cross_entropy(logits.double(), y).item()
    assert score.accuracy == pytest.approx(accuracy, abs=1e-12)
    assert score.loss == pytest.approx(loss, rel=1e-5)
    # the TensorDataset form gives the same
    assert train.evaluate(model, torch.utils.data.TensorDataset(x, y), batch_size=7) == score
    # a model that is always right / always wrong
    class Oracle(nn.Module):
        def __init__(self, shift):
            super().__init__()
            self.shift, self.w = shift, nn.Parameter(torch.zeros(()))

        def forward(self, idx):
            return F.one_hot((idx[:, 0].long() + self.shift) % 10, 10).float() * 50

    labels = torch.arange(100) % 10
    inputs = labels.float()[:, None]
    assert train.evaluate(Oracle(0), (inputs, labels)).accuracy == 1.0
    assert train.evaluate(Oracle(1), (inputs, labels)).accuracy == 0.0


# ---------------------------------------------------------------------------------------------
# The promise: LeNet learns MNIST to 97% in seconds
# ---------------------------------------------------------------------------------------------

def test_lenet_reaches_97_percent_on_mnist(mnist_train, mnist_test):
    model = train.lenet(seed=0)
    history = train.fit(model, mnist_train, mnist_test, **train.LENET_SETTINGS, seed=0,
                        threads=1, progress=False)
    print(f"\nLeNet on MNIST: test accuracy {history.test_accuracy}, {history.wall_s:.1f} s wall, "
          f"{history.cpu_s:.1f} s CPU, torch {torch.__version__}")
    assert history.test_accuracy[-1] >= 0.97
    assert train.evaluate(model, mnist_test).accuracy == history.test_accuracy[-1]


# ---------------------------------------------------------------------------------------------
# The progress-bar rule
# ---------------------------------------------------------------------------------------------



def _fake_kernel(monkeypatch, allow_stdin):
    kernel = types.SimpleNamespace(_allow_stdin=allow_stdin)
    shell = types.SimpleNamespace(kernel=kernel)
    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: shell))


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def test_progress_rule(monkeypatch):
    mp = monkeypatch
    for name in ("CNNBOOK_PROGRESS", "CI", "PYTEST_CURRENT_TEST"):   # (pytest sets the last
        mp.delenv(name, raising=False)                               # one before the call)
    mp.setitem(sys.modules, "IPython", None)
    mp.setattr(sys, "stderr", _Stream(True))
    assert train.progress_default() is True                 # a terminal
    mp.setattr(sys, "stderr", _Stream(False))
    assert train.progress_default() is False                # a pipe or a log file
    mp.setenv("CNNBOOK_PROGRESS", "1")
    assert train.progress_default() is True                 # forced on
    mp.setattr(sys, "stderr", _Stream(True))
    mp.setenv("CNNBOOK_PROGRESS", "0")
    assert train.progress_default() is False                # forced off
    mp.delenv("CNNBOOK_PROGRESS")
    mp.setenv("CI", "true")
    assert train.progress_default() is False                # continuous integration
    mp.delenv("CI")
    _fake_kernel(mp, allow_stdin=True)
    mp.setattr(sys, "stderr", _Stream(False))
    assert train.progress_default() is True                 # a person's notebook
    _fake_kernel(mp, allow_stdin=False)
    assert train.progress_default() is False                # nbclient (the book build)


def test_under_pytest_the_bar_is_off():
    assert "PYTEST_CURRENT_TEST" in os.environ
    assert train.progress_default() is False


def _kernel_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("CNNBOOK_PROGRESS", "CI", "PYTEST_CURRENT_TEST")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(train.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env, root


def test_no_bar_when_nbclient_runs_a_notebook():
    """The book build runs its pages with nbclient: there, progress=None means off."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    env, root = _kernel_env()
    code = "from cnnbook_lib import train\nprint(train.progress_default())"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute(env=env, cwd=root)
    assert [o.get("text") for o in nb.cells[0].outputs] == ["False\n"]


@pytest.mark.slow
def test_bar_when_a_front_end_runs_the_cell():
    """JupyterLab and its kin send allow_stdin=True: there, progress=None means on."""
    manager = pytest.importorskip("jupyter_client.manager")
    env, root = _kernel_env()
    km, kc = manager.start_new_kernel(kernel_name="python3", env=env, cwd=root)
    try:
        out = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
        kc.execute_interactive("from cnnbook_lib import train\nprint(train.progress_default())",
                               allow_stdin=True, output_hook=hook, timeout=120)
        assert out == ["True\n"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------

def _tiny():
    torch.manual_seed(0)
    x, y = torch.rand(8, 1, 4, 4), torch.arange(8) % 3
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    return model, x, y


@pytest.mark.parametrize("options, param", [
    (dict(epochs=0), "epochs"), (dict(epochs=-1), "epochs"), (dict(epochs=2.0), "epochs"),
    (dict(lr=0.0), "lr"), (dict(lr=-1e-3), "lr"), (dict(lr=float("nan")), "lr"),
    (dict(batch_size=0), "batch_size"), (dict(optimizer="rmsprop"), "optimizer"),
    (dict(schedule="step"), "schedule"), (dict(seed=-1), "seed"), (dict(threads=0), "threads"),
    (dict(progress="yes"), "progress"),
])
def test_fit_refuses_bad_settings(options, param):
    model, x, y = _tiny()
    settings = dict(epochs=1, lr=1e-3, progress=False)
    settings.update(options)
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        train.fit(model, (x, y), **settings)


def test_unknown_optimizer_lists_the_choices():
    model, x, y = _tiny()
    with pytest.raises(ValueError) as info:
        train.fit(model, (x, y), epochs=1, lr=1e-3, optimizer="adamw")
    assert "'adam'" in str(info.value) and "'sgd'" in str(info.value)


def test_fit_refuses_bad_data():
    model, x, y = _tiny()
    with pytest.raises(ValueError, match=r"train_data.*differ in length \(8 and 7\)"):
        train.fit(model, (x, y[:7]), epochs=1, lr=1e-3)
    with pytest.raises(ValueError, match="test_data"):
        train.fit(model, (x, y), (x[:3], y), epochs=1, lr=1e-3)
    with pytest.raises(ValueError, match="train_data"):
        train.fit(model, (x, y + 5), epochs=1, lr=1e-3, progress=False)   # class 7 of 3
    with pytest.raises(ValueError, match="test_data"):
        train.fit(model, (x, y), (x, y + 5), epochs=1, lr=1e-3, progress=False)
    with pytest.raises(ValueError, match="model"):
        train.fit(lambda t: t, (x, y), epochs=1, lr=1e-3)


_X, _Y = torch.rand(8, 1, 4, 4), torch.arange(8) % 3
_BAD_DATA = [
    ("None", None), ("a tensor", _X), ("(X,)", (_X,)), ("(X, y, y)", (_X, _Y, _Y)),
    ("short y", (_X, _Y[:7])), ("int X", (_X.long(), _Y)), ("float y", (_X, _Y.float())),
    ("2-d y", (_X, _Y[:, None])), ("negative y", (_X, _Y - 1)),
    ("y beyond the logits", (_X, _Y + 3)), ("empty", (_X[:0], _Y[:0])),
    ("numpy", (_X.numpy(), _Y.numpy())), ("1-d X", (_X.flatten()[:8], _Y)),
]
_BAD_MODEL = [("None", None), ("3", 3), ("a function", lambda t: t),
              ("no parameters", nn.Flatten())]


def test_bad_input_harness():
    model, x, y = _tiny()
    check_function(train.fit, dict(model=model, train_data=(x, y), test_data=(x, y), epochs=1,
                                   lr=1e-3, batch_size=4, optimizer="sgd", schedule="constant",
                                   momentum=0.9, weight_decay=0.0, seed=0, threads=1,
                                   progress=False),
                   kinds={"weight_decay": "nonneg_number", "momentum": "nonneg_number"},
                   bad={"model": _BAD_MODEL, "train_data": _BAD_DATA, "test_data": _BAD_DATA},
                   allow={"test_data": ("None",), "progress": ("None",), "threads": ("None",)},
                   names={"model": ("model",)})
    check_function(train.evaluate, dict(model=model, data=(x, y), batch_size=4),
                   bad={"model": _BAD_MODEL[:3], "data": _BAD_DATA})
    check_function(train.lenet, dict(num_classes=10, activation="relu", seed=1),
                   allow={"seed": ("None",)})
