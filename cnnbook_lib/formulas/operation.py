"""What a convolution layer computes, element by element: the cross-correlation of
``torch.nn.Conv2d`` and the true (flipped-kernel) convolution of signal processing."""
from __future__ import annotations

import sympy as sp

from .display import display_form
from ._core import EXPRESSIONS, c_in, d, k_h, k_w, s

__all__ = ["x_in", "w_k", "bias_v", "o_ch", "c_ch", "i_out", "j_out", "u_k", "v_k",
           "cross_correlation_expr", "true_convolution_expr"]

x_in, w_k, bias_v = sp.IndexedBase("x"), sp.IndexedBase("w"), sp.IndexedBase("b")
o_ch, c_ch = sp.symbols("o c", integer=True, nonnegative=True)       # output / input channel
i_out, j_out = sp.symbols("i j", integer=True, nonnegative=True)     # output position
u_k, v_k = sp.symbols("u v", integer=True, nonnegative=True)         # kernel offset

#: What a convolution layer computes (a cross-correlation, as torch.nn.Conv2d): output channel o
#: at position (i, j) of an input already zero-padded, stride s, dilation d, one group.
cross_correlation_expr = sp.Sum(
    w_k[o_ch, c_ch, u_k, v_k] * x_in[c_ch, s * i_out + d * u_k, s * j_out + d * v_k],
    (c_ch, 0, c_in - 1), (u_k, 0, k_h - 1), (v_k, 0, k_w - 1)) + bias_v[o_ch]
#: True (flipped-kernel) convolution of one channel, stride 1, as in signal processing.
true_convolution_expr = sp.Sum(w_k[u_k, v_k] * x_in[i_out - u_k, j_out - v_k],
                               (u_k, 0, k_h - 1), (v_k, 0, k_w - 1))

# The display forms: the sums as a textbook prints them, channels outermost.
display_form("cross_correlation", r"y_{o,i,j}",
             r"\sum_{c=0}^{C_\text{in}-1} \sum_{u=0}^{k_h-1} \sum_{v=0}^{k_w-1} "
             r"w_{o,c,u,v}\, x_{c,\, si+du,\, sj+dv} + b_o", cross_correlation_expr)
display_form("true_convolution", r"(w * x)_{i,j}",
             r"\sum_{u=0}^{k_h-1} \sum_{v=0}^{k_w-1} w_{u,v}\, x_{i-u,\, j-v}",
             true_convolution_expr)

EXPRESSIONS["cross_correlation"] = cross_correlation_expr
EXPRESSIONS["true_convolution"] = true_convolution_expr
