"""Interactives: one ES module each (``js/<name>.js``), live in Jupyter through anywidget and the
same module in the static book.

A chapter displays one by leaving it as the value of a cell::

    from cnnbook_lib import interactives
    w = interactives.conv_arithmetic()      # an anywidget.AnyWidget
    w                                       # live in JupyterLab, VS Code, Colab; static in the book
    w.k = 5                                 # moves the control
    w.result["outputs"]["out"]              # what the view computed

In a running kernel the widget view shows; in the built book the ``text/html`` rendering shows the
same module, mounted without a kernel. Formulas reach the JavaScript compiled from
:mod:`cnnbook_lib.formulas` by ``sympy.jscode`` (``js/formulas.js``). See :mod:`.core` for adding
an interactive in one file.
"""
from __future__ import annotations

from .accuracy import accuracy_compute as _accuracy_compute
from .algorithms import conv_algorithms as _conv_algorithms
from .architecture import architecture_explorer as _architecture_explorer
from .convolution import conv_arithmetic as _conv_arithmetic, factorization as _factorization
from .convolution import layer_cost as _layer_cost
from .core import Formula, Interactive, Output, Param, gallery_html
from .dilation import dilation_explorer as _dilation_explorer
from .erf import erf_viewer as _erf_viewer
from .memory import training_memory as _training_memory
from .mobilenet import mobilenet_explorer as _mobilenet_explorer
from .receptive_stack import receptive_stack as _receptive_stack
from .shuffle import channel_shuffle as _channel_shuffle

__all__ = ["Interactive", "Param", "Output", "Formula", "declarations", "examples", "gallery_html",
           "conv_arithmetic", "layer_cost", "receptive_stack", "factorization",
           "architecture_explorer", "conv_algorithms", "erf_viewer", "dilation_explorer",
           "channel_shuffle", "accuracy_compute", "training_memory",
           "mobilenet_explorer"]

_DECLARATIONS = {"conv_arithmetic": _conv_arithmetic, "layer_cost": _layer_cost,
                 "receptive_stack": _receptive_stack, "factorization": _factorization,
                 "architecture_explorer": _architecture_explorer, "conv_algorithms": _conv_algorithms,
                 "erf_viewer": _erf_viewer, "dilation_explorer": _dilation_explorer,
                 "channel_shuffle": _channel_shuffle, "accuracy_compute": _accuracy_compute,
                 "training_memory": _training_memory, "mobilenet_explorer": _mobilenet_explorer}


def declarations() -> dict[str, Interactive]:
    """The declaration of every interactive the library offers, by name."""
    return {name: make() for name, make in _DECLARATIONS.items()}


def examples() -> dict:
    """Every interactive the library offers, by name, as live widgets ready to display."""
    return {name: decl.widget() for name, decl in declarations().items()}


def conv_arithmetic(**values):
    """Input, padding and output grids of a (transposed) convolution (a live widget)."""
    return _conv_arithmetic().widget(**values)


def layer_cost(**values):
    """Parameters, MACs, FLOPs and memory of one Conv2d layer (a live widget)."""
    return _layer_cost().widget(**values)


def factorization(**values):
    """Standard vs depthwise-separable vs grouped vs bottleneck convolution (a live widget)."""
    return _factorization().widget(**values)


def receptive_stack(**values):
    """Receptive field, jump and reached input pixels of a stack of convolutions (a live widget)."""
    return _receptive_stack().widget(**values)


def dilation_explorer(**values):
    """Coverage, holes and the hybrid-dilated-convolution rule of a dilated stack (a live
    widget)."""
    return _dilation_explorer().widget(**values)


def conv_algorithms(**values):
    """Multiplications and workspace of the four convolution algorithms (a live widget)."""
    return _conv_algorithms().widget(**values)


def architecture_explorer(names: list[str] | None = None, **values):
    """Per-layer parameters, MACs and activation memory of the book's networks (a live widget)."""
    return _architecture_explorer(names).widget(**values)


def erf_viewer(**values):
    """Measured effective receptive field of a stack of 3x3 layers: depth, ReLU, skips (a live
    widget)."""
    return _erf_viewer().widget(**values)


def channel_shuffle(**values):
    """Channel connectivity of stacked grouped layers, with or without the channel shuffle (a
    live widget)."""
    return _channel_shuffle().widget(**values)


def accuracy_compute(**values):
    """Top-1 accuracy of the book's networks against MACs, parameters or latency, with a fitted
    trend (a live widget)."""
    return _accuracy_compute().widget(**values)


def training_memory(**values):
    """Memory of one training step by network, batch, optimizer and dtype, and the largest batch
    under a budget (a live widget)."""
    return _training_memory().widget(**values)


def mobilenet_explorer(**values):
    """MobileNet v1 at a width multiplier and resolution: MACs and parameters by layer kind, the
    alpha^2 rho^2 rule, the paper's accuracy (a live widget)."""
    return _mobilenet_explorer().widget(**values)
