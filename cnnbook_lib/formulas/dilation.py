"""Dilated stacks: the field of a doubling schedule, and the hybrid-dilated-convolution rule.

With stride 1 the jump stays 1 and each layer adds ``d (k - 1)`` pixels to the field
(:mod:`.receptive`); with dilations ``1, 2, 4, ..., 2^(L-1)`` the sum is geometric,
``1 + (k - 1)(2^L - 1)``: ``2^(L+1) - 1`` for 3x3 kernels (Yu & Koltun, "Multi-Scale Context
Aggregation by Dilated Convolutions", ICLR 2016, Section 3).

Wang et al., "Understanding Convolution for Semantic Segmentation" (WACV 2018, Section 3.2),
give a rule for dilation rates ``r_1 .. r_n`` of kernel-``K`` layers that leaves no holes: the
maximum distance between two nonzero values, ``M_n = r_n`` and
``M_i = max(M_(i+1) - 2 r_i, M_(i+1) - 2 (M_(i+1) - r_i), r_i)``, must satisfy ``M_2 <= K``.
"""
from __future__ import annotations

from typing import Sequence

import sympy as sp

from ..validation import check_int
from ._core import EXPRESSIONS, _pos, k
from .display import display_form
from .receptive import rf_L

__all__ = ["rf_M", "hdc_r", "rf_dilated_doubling", "hdc_gap_step", "hdc_max_gap", "hdc_ok"]

#: Maximum distance between two nonzero values of the layers above (Wang et al. 2018).
rf_M = sp.Symbol("M", **_pos)
#: The dilation rate r_i of layer i in that rule.
hdc_r = sp.Symbol("r", **_pos)

#: Field of L stride-1 layers of kernel k with dilations 1, 2, 4, ..., 2^(L-1).
rf_dilated_doubling = 1 + (k - 1) * (2 ** rf_L - 1)
display_form("rf_dilated_doubling", "r_L", r"1 + (k - 1)(2^L - 1)", rf_dilated_doubling)
#: One step of the rule of Wang et al. 2018: M_i from M_(i+1) and the rate r_i of layer i.
hdc_gap_step = sp.Max(rf_M - 2 * hdc_r, rf_M - 2 * (rf_M - hdc_r), hdc_r)
display_form("hdc_gap_step", "M_i",
             r"\max\left(M_{i+1} - 2 r_i,\; M_{i+1} - 2(M_{i+1} - r_i),\; r_i\right)",
             hdc_gap_step, symbols={"M_{i+1}": rf_M, "r_i": hdc_r})

EXPRESSIONS.update({"rf_dilated_doubling": rf_dilated_doubling, "hdc_gap_step": hdc_gap_step})

_step = sp.lambdify((rf_M, hdc_r), hdc_gap_step, "math")


def _rates(rates: Sequence[int]) -> list[int]:
    if isinstance(rates, (str, bytes)) or not isinstance(rates, (tuple, list)):
        raise TypeError(f"rates must be a non-empty list of dilation rates, got {rates!r}")
    if not rates:
        raise ValueError("rates must be a non-empty list of dilation rates, got an empty one")
    return [check_int("rates: dilation rate", r, 1) for r in rates]


def hdc_max_gap(rates: Sequence[int]) -> int:
    """``M_2`` of the rule of Wang et al. 2018 for dilation rates ``r_1 .. r_n`` (n >= 2):
    ``M_n = r_n``, then ``M_i = max(M_(i+1) - 2 r_i, M_(i+1) - 2 (M_(i+1) - r_i), r_i)`` down to
    ``i = 2``. The rate ``r_1`` of the first layer does not enter."""
    rates = _rates(rates)
    if len(rates) < 2:
        raise ValueError(f"rates must hold at least two layers, got {rates!r}")
    m = rates[-1]
    for r in reversed(rates[1:-1]):
        m = int(_step(m, r))
    return m


def hdc_ok(rates: Sequence[int], kernel: int = 3) -> bool:
    """Whether dilation rates satisfy the rule ``M_2 <= K`` of Wang et al. 2018."""
    return hdc_max_gap(rates) <= check_int("kernel K", kernel, 1)
