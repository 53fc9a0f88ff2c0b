"""Interactives declared once, rendered live (ipywidgets) and static (self-contained HTML + JS).

A chapter displays one by leaving it as the value of a cell::

    from cnnbook_lib import interactives
    interactives.conv_arithmetic()          # or interactives.examples()["conv_arithmetic"]

In a running kernel the widget view shows (recomputed in Python); in the built book the
``text/html`` rendering shows, and runs in the browser with formulas compiled from
:mod:`cnnbook_lib.formulas` by ``sympy.jscode``. See :mod:`.core` for declaring a new one.
"""
from __future__ import annotations

from .algorithms import conv_algorithms
from .architecture import architecture_explorer
from .convolution import conv_arithmetic, factorization, layer_cost
from .core import Formula, Interactive, Output, Param, gallery_html
from .receptive_stack import receptive_stack

__all__ = ["Interactive", "Param", "Output", "Formula", "examples", "gallery_html",
           "conv_arithmetic", "layer_cost", "receptive_stack", "factorization",
           "architecture_explorer", "conv_algorithms"]


def examples() -> dict[str, Interactive]:
    """Every interactive the library offers, by name, ready to display."""
    items = [conv_arithmetic(), layer_cost(), receptive_stack(), factorization(),
             architecture_explorer(), conv_algorithms()]
    return {i.name: i for i in items}
