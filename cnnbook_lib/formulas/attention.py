"""Self-attention, for comparison with convolution (Vaswani et al., "Attention is all you
need", 2017)."""
from __future__ import annotations

import sympy as sp

from .display import display_form
from ..validation import check_int
from ._core import EXPRESSIONS, N, _compile, _pos

__all__ = ["tokens", "dim", "attention_macs_expr", "attention_macs"]

tokens = sp.Symbol("T", **_pos)            # positions (tokens) a layer attends over
dim = sp.Symbol("D", **_pos)               # model width (channels) of attention

#: Multiply-accumulates of one multi-head self-attention layer on N sequences of T tokens of
#: width D: the Q, K, V and output projections (4 T D^2) plus the scores Q K^T and their weighted
#: sum of V (T^2 D each). The head count does not change it; softmax and scaling are other ops.
attention_macs_expr = N * (4 * tokens * dim ** 2 + 2 * tokens ** 2 * dim)
display_form("attention_macs", r"\text{MACs}_\text{attn}", r"N\left(4TD^2 + 2T^2 D\right)",
             attention_macs_expr)

EXPRESSIONS["attention_macs"] = attention_macs_expr
_attention_macs = _compile(attention_macs_expr, (tokens, dim, N))


def attention_macs(tokens: int, dim: int, batch: int = 1) -> int:
    """MACs of a self-attention layer: ``N (4 T D^2 + 2 T^2 D)`` (Vaswani et al. 2017)."""
    return _attention_macs(check_int("tokens", tokens, 1), check_int("dim", dim, 1),
                           check_int("batch", batch, 1))
