"""Receptive fields: the analytic recurrence, traced graphs, and the measurement with autograd.

Along one spatial axis, a stack of layers is described after each layer by three numbers
(Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019,
https://distill.pub/2019/computing-receptive-fields/):

* ``size`` r: how many input pixels one unit sees;
* ``jump`` j (the effective stride): how many input pixels apart two neighbouring units are;
* ``start`` u: the input coordinate on which the first unit's field is centred (it may be
  fractional or negative), so unit i sees ``[u + i j - (r - 1)/2, u + i j + (r - 1)/2]``.
  The effective padding ``(r - 1)/2 - u`` says how far the first field reaches past the border.

A layer with kernel k, stride s, dilation d and padding p maps them by
``r' = r + (k_eff - 1) j``, ``j' = j s``, ``u' = u + ((k_eff - 1)/2 - p) j`` with
``k_eff = d (k - 1) + 1``; the input is ``(1, 1, 0)``. The expressions live in
:mod:`cnnbook_lib.formulas` (``rf_size_step`` and friends); :class:`Axis` applies them
(:mod:`.axis`, pure functions). Upsampling and transposed convolutions space the fields
unevenly; the axis then keeps the fields of one period of units and an exact fractional jump.

:func:`receptive_field` takes a plain list of layers or a ``torch.nn.Module``. A module runs once
on the meta device (no data, no arithmetic) under a ``TorchFunctionMode`` that follows every tensor
(:mod:`.tracer`, on the tracing core :mod:`cnnbook_lib.tracing`) and where its positions are
(:mod:`.layout`); what each operation does to a field is one small rule of a registry
(:mod:`.rules`):

* 1-D, 2-D and 3-D convolutions, transposed convolutions, max/average pooling, ``F.pad``,
  slicing and ``interpolate`` (nearest, linear, bicubic) are layers of the recurrence, with one
  field per spatial axis;
* operations that keep the positions (batch norm, activations, channel slicing) pass the field
  through; permutes and reshapes move the positions (a channels-last block, a window partition);
  a layer norm or linear layer over the channels of a channels-last tensor mixes no positions;
* a merge of several tensors (residual ``+``, Inception ``cat``) aligns the branches: the merged
  field of each unit is the union of its fields on the branches; the jumps must agree;
* an operation that mixes positions (attention, softmax or a normalization over positions, a
  reduction) makes each unit see what all the mixed units see: within windows (Swin) the field
  grows by the window; over every position the field is *global* (``RF.global_by`` names the
  operation; ``size`` is then the whole input). A global pool whose result multiplies the map (a
  squeeze-and-excitation gate) or is broadcast back over it makes it global too;
* a classifier head (adaptive pooling, a linear layer or mean over all positions, whose result
  never returns to a map) ends the trace: the field is that of the last spatial tensor and
  ``RF.stopped_at`` names the operation.

:func:`gradient_receptive_field` measures the same field with autograd (:mod:`.measure`): the
theoretical support (all weights ``1/fan_in``, activations and normalizations replaced by the
identity or by ``x + mean(x)``, max pooling by sum pooling, so no gradient can cancel or vanish)
and the effective receptive field of Luo et al., "Understanding the Effective Receptive Field in
Deep Convolutional Neural Networks" (NeurIPS 2016).

:func:`coverage` gives the exact set of input pixels with a path to one unit, or the number of
paths from each (:mod:`.coverage`): inside the field's extent a dilated stack can leave holes.
"""
from __future__ import annotations

from .axis import MAX_PERIOD, Axis, Gather, Number, merge
from .coverage import coverage, extent, holes
from .layout import Unfollowable
from .measure import GradientRF, erf_fraction, gradient_receptive_field
from .results import LayerRF, Pair, RF
from .ops import ATTENTION, GEOMETRY, GLOBAL, LINEAR, MATMUL, MIXING, REDUCE, UNSUPPORTED
from .trace import receptive_field, unclipped_input_size

__all__ = ["Axis", "Gather", "merge", "LayerRF", "RF", "GradientRF", "receptive_field",
           "unclipped_input_size", "gradient_receptive_field", "erf_fraction", "GEOMETRY",
           "GLOBAL", "UNSUPPORTED", "MIXING", "REDUCE", "MATMUL", "ATTENTION", "LINEAR",
           "MAX_PERIOD", "Unfollowable", "Pair", "Number", "coverage", "holes", "extent"]
