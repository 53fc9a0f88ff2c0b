"""Formulas of convolution arithmetic and cost: the single place where each one is written.

Every formula is a sympy expression over shared symbols. The book displays them with
``sympy.latex``, the static interactives evaluate them through ``sympy.jscode``, and the numeric
functions are generated from them with ``sympy.lambdify``. The numeric functions validate their
inputs with :mod:`cnnbook_lib.validation`: ``TypeError`` for an argument of the wrong type (``"3"``,
``3.0``, ``True`` for a size), ``ValueError`` for a value out of range, naming the parameter.

One public namespace, one module per concept (a reader finds a formula in a file of a few
hundred lines; everything is importable from ``cnnbook_lib.formulas`` itself):

* :mod:`~cnnbook_lib.formulas._core`: the symbols, ``EXPRESSIONS``, the compiler and the checks
  of compound arguments;
* :mod:`~cnnbook_lib.formulas.shapes`: output sizes (convolution, pooling, transposed, dilation);
* :mod:`~cnnbook_lib.formulas.cost`: parameters, MACs and FLOPs, backward, separable and grouped;
* :mod:`~cnnbook_lib.formulas.memory`: bytes of tensors, activations, im2col, optimizer state;
* :mod:`~cnnbook_lib.formulas.operation`: the convolution itself, element by element;
* :mod:`~cnnbook_lib.formulas.attention`: self-attention, for comparison;
* :mod:`~cnnbook_lib.formulas.receptive`: the receptive-field recurrence and its closed forms;
* :mod:`~cnnbook_lib.formulas.dilation`: dilated stacks and the hybrid-dilated-convolution rule;
* :mod:`~cnnbook_lib.formulas.algorithms`: Winograd and FFT convolution counts;
* :mod:`~cnnbook_lib.formulas.roofline`: arithmetic intensity and the roofline model.

Conventions (see the book's notation appendix):

* shapes are NCHW; ``n`` is one spatial size (height or width), ``k`` a kernel size;
* one multiply-accumulate (MAC) is two floating-point operations (FLOPs);
* bias additions are not part of a layer's MACs (they are "other ops", as in
  ``torch.utils.flop_counter.FlopCounterMode``);
* memory is counted in bytes, ``b`` bytes per element (4 for float32).

References: Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016);
the shape formulas in the documentation of ``torch.nn.Conv2d``, ``ConvTranspose2d`` and
``MaxPool2d``.
"""
from __future__ import annotations

import sympy as sp  # noqa: F401  (part of the namespace since formulas was one module)

from . import (_core, algorithms, attention, cost, dilation, memory, operation, receptive,
               roofline, shapes)
from ._core import *  # noqa: F401,F403
from .shapes import *  # noqa: F401,F403
from .cost import *  # noqa: F401,F403
from .memory import *  # noqa: F401,F403
from .operation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .receptive import *  # noqa: F401,F403
from . import display  # noqa: E402  (textbook display forms; formulas.display.form(name))
from .display import DISPLAYS, Display, display_form, form
from .dilation import *  # noqa: F401,F403
from .algorithms import *  # noqa: F401,F403
from .roofline import *  # noqa: F401,F403

#: The concept modules, in the order their names join this namespace.
MODULES = (_core, shapes, cost, memory, operation, attention, receptive, dilation, algorithms,
           roofline)

__all__ = [name for module in MODULES for name in module.__all__] + ["DISPLAYS", "Display", "display_form", "form"]
