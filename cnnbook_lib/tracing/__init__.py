"""The tracing core that :mod:`cnnbook_lib.analysis` and :mod:`cnnbook_lib.receptive` share.

A model is traced by running a copy of it once, usually on the ``meta`` device (shapes only, no
data, no arithmetic), and watching what runs:

* :func:`copy_model` (:mod:`.copier`): the one copier, a structural copy whose parameters,
  buffers and tensor attributes are made anew (empty on ``meta``, or copied or drawn on a real
  device);
* :class:`ModuleStack` (:mod:`.modules`): the one hook set, forward pre- and post-hooks on every
  module that keep the calls in progress, so each op is attributed to the module that issued it;
* :class:`OpRecorder` and :class:`TensorFollower` (:mod:`.modes`): the recorders, one below
  autograd (every ATen op, as ``torch.utils.flop_counter`` sees them: costs) and one at the
  torch-function level (every function applied to a tensor derived from the input: receptive
  fields and coverage);
* :class:`Registry` (:mod:`.registry`): one registry per concern, keyed by op, rejecting a
  second rule for a key, with per-rule flags. The concerns are tables of small rules over this
  core: ``analysis.costs.OP_COSTS`` and ``analysis.costs.COSTS`` (cost),
  ``receptive.rules.RULES`` (receptive geometry), ``receptive.coverage.RULES`` (coverage).
"""
from __future__ import annotations

from .copier import copy_model, on_meta
from .modes import OpRecorder, StopTrace, TensorFollower, fname
from .modules import ModuleStack
from .registry import Registry, Rule, op_key, op_name

__all__ = ["copy_model", "on_meta", "ModuleStack", "OpRecorder", "TensorFollower", "StopTrace",
           "fname", "Registry", "Rule", "op_key", "op_name"]
