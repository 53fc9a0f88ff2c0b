"""Parameters and multiply-accumulates of convolution, transposed convolution, dense and
batch-normalization layers, their backward pass, and the ratios of separable and grouped
convolutions. One MAC is two FLOPs; bias additions are not MACs (they are "other ops", as in
``torch.utils.flop_counter.FlopCounterMode``).
"""
from __future__ import annotations

from fractions import Fraction

import sympy as sp

from .display import display_form

from ..validation import check_flag, check_int
from ._core import (EXPRESSIONS, IntOrPair, N, _channels, _compile, _kernel_hw, _spatial_hw, beta,
                   c_in, c_out, ch, f_in, f_out, g, h_in, h_out, k, k_h, k_w, macs_sym, w_in,
                   w_out)

__all__ = ["conv_params_expr", "conv_macs_expr", "conv_transpose_macs_expr", "linear_params_expr",
           "linear_macs_expr", "batchnorm_params_expr", "flops_per_mac", "flops_expr",
           "conv_grad_input_macs_expr", "conv_grad_weight_macs_expr", "separable_ratio",
           "grouped_ratio", "conv_params", "conv_macs", "conv_flops", "macs_to_flops",
           "conv_transpose_macs", "conv_bias_adds", "conv_backward_macs", "linear_params",
           "linear_macs", "batchnorm_params", "separable_cost_ratio", "grouped_cost_ratio",
           "t_exp", "inverted_residual_macs_expr", "r_mid", "bottleneck_ratio",
           "spatial_separable_ratio", "alpha_w", "rho_r", "width_resolution_ratio",
           "depthwise_width_resolution_ratio"]

#: Parameters of a 2-D convolution: weights C_out * (C_in / G) * k_h * k_w, plus C_out biases.
conv_params_expr = c_out * (c_in / g) * k_h * k_w + beta * c_out

#: Multiply-accumulates of a 2-D convolution: one per weight per output position.
conv_macs_expr = N * c_out * h_out * w_out * (c_in / g) * k_h * k_w

#: Multiply-accumulates of a transposed convolution: every input position scatters a
#: (C_out / G) x k_h x k_w block.
conv_transpose_macs_expr = N * c_in * h_in * w_in * (c_out / g) * k_h * k_w

display_form("conv_params", r"\text{params}",
             r"\frac{C_\text{in}}{G} k_h k_w C_\text{out} + \beta C_\text{out}", conv_params_expr)
display_form("conv_macs", r"\text{MACs}",
             r"N \cdot \frac{C_\text{in}}{G} k_h k_w \cdot C_\text{out} H_\text{out} W_\text{out}",
             conv_macs_expr)

#: Parameters and MACs of a dense layer applied to N feature vectors.
linear_params_expr = f_in * f_out + beta * f_out
linear_macs_expr = N * f_in * f_out
#: Parameters of batch normalization with a learned scale and shift: 2 per channel (gamma, beta;
#: the running mean and variance are buffers, not parameters).
batchnorm_params_expr = 2 * ch

#: One MAC is two FLOPs.
flops_per_mac = sp.Integer(2)
flops_expr = flops_per_mac * macs_sym
display_form("linear_params", r"\text{params}", r"F_\text{in} F_\text{out} + \beta F_\text{out}",
             linear_params_expr)
display_form("linear_macs", r"\text{MACs}", r"N \cdot F_\text{in} F_\text{out}", linear_macs_expr)
display_form("flops", r"\text{FLOPs}", r"2 \cdot \text{MACs}", flops_expr)

#: Backward pass of a convolution, in MACs. The input gradient is a transposed convolution
#: with the same weights and the weight gradient a correlation of the input with the output
#: gradient; each performs exactly the forward pass's multiply-accumulates (grouped included).
conv_grad_input_macs_expr = conv_macs_expr
conv_grad_weight_macs_expr = conv_macs_expr

#: Depthwise-separable (k x k depthwise + 1 x 1 pointwise) over standard convolution, in MACs.
_depthwise_macs = N * c_in * h_out * w_out * k ** 2
_pointwise_macs = N * c_in * c_out * h_out * w_out
_standard_macs = N * c_in * c_out * h_out * w_out * k ** 2
separable_ratio = sp.simplify(sp.expand((_depthwise_macs + _pointwise_macs) / _standard_macs))
display_form("separable_ratio",
             r"\frac{\text{MACs}_\text{separable}}{\text{MACs}_\text{standard}}",
             r"\frac{1}{C_\text{out}} + \frac{1}{k^2}", separable_ratio)
#: Grouped over ungrouped convolution (parameters or MACs, without bias).
grouped_ratio = sp.simplify(conv_macs_expr / conv_macs_expr.subs(g, 1))
display_form("grouped_ratio", r"\frac{\text{MACs}(G)}{\text{MACs}(1)}", r"\dfrac{1}{G}",
             grouped_ratio)

#: Width r of a bottleneck: the channels a 1x1 reduction leaves for the expensive layer.
r_mid = sp.Symbol("r", integer=True, positive=True)
#: A 1x1 reduction from C_in to r channels, then the k x k layer from r to C_out, over the k x k
#: layer from C_in to C_out, in MACs (same output size): r / C_in + r / (k^2 C_out).
bottleneck_ratio = sp.expand(sp.simplify(
    (conv_macs_expr.subs({c_out: r_mid, k_h: 1, k_w: 1, g: 1})
     + conv_macs_expr.subs({c_in: r_mid, k_h: k, k_w: k, g: 1}))
    / conv_macs_expr.subs({k_h: k, k_w: k, g: 1})))
display_form("bottleneck_ratio", r"\frac{\text{MACs}_\text{reduced}}{\text{MACs}_\text{direct}}",
             r"\frac{r}{k^2 C_\text{out}} + \frac{r}{C_\text{in}}", bottleneck_ratio)
#: A k x 1 layer then a 1 x k layer, both C to C, over one k x k layer, in MACs: 2 / k.
spatial_separable_ratio = sp.simplify(
    (conv_macs_expr.subs({c_in: c_out, k_h: k, k_w: 1, g: 1})
     + conv_macs_expr.subs({c_in: c_out, k_h: 1, k_w: k, g: 1}))
    / conv_macs_expr.subs({c_in: c_out, k_h: k, k_w: k, g: 1}))
display_form("spatial_separable_ratio",
             r"\frac{\text{MACs}_{k\times1 \,+\, 1\times k}}{\text{MACs}_{k\times k}}",
             r"\dfrac{2}{k}", spatial_separable_ratio)

#: Expansion factor t of MobileNetV2's inverted residual block.
t_exp = sp.Symbol("t", integer=True, positive=True)


def _block_layer(ci, co, kk, groups):
    return conv_macs_expr.subs({c_in: ci, c_out: co, k_h: kk, k_w: kk, g: groups})


#: MACs of MobileNetV2's inverted residual block at stride 1 (Sandler et al. 2018, Section 5):
#: a 1x1 expansion from C_in to t C_in channels, a k x k depthwise convolution on them and a
#: linear 1x1 projection to C_out, all on H_out x W_out maps: N H W t C_in (C_in + k^2 + C_out).
inverted_residual_macs_expr = sp.factor(_block_layer(c_in, t_exp * c_in, 1, 1)
                                        + _block_layer(t_exp * c_in, t_exp * c_in, k, t_exp * c_in)
                                        + _block_layer(t_exp * c_in, c_out, 1, 1))
display_form("inverted_residual_macs", r"\text{MACs}_\text{block}",
             r"N H_\text{out} W_\text{out} \cdot t C_\text{in} \left(C_\text{in} + k^2 + C_\text{out}\right)",
             inverted_residual_macs_expr)

#: MobileNet's width multiplier alpha (channels times alpha) and resolution multiplier rho (map
#: side times rho), Howard et al. (2017), Section 3.3-3.4.
alpha_w = sp.Symbol("alpha", positive=True)
rho_r = sp.Symbol("rho", positive=True)
_thinner = {c_in: alpha_w * c_in, c_out: alpha_w * c_out, h_out: rho_r * h_out, w_out: rho_r * w_out}
#: MACs of a standard (or pointwise) layer after both multipliers, over before: alpha^2 rho^2.
width_resolution_ratio = sp.simplify(conv_macs_expr.subs(_thinner) / conv_macs_expr)
#: The same for a depthwise layer (G = C_in = C_out, so G scales with alpha too): alpha rho^2.
depthwise_width_resolution_ratio = sp.simplify(
    conv_macs_expr.subs({c_out: c_in, g: c_in}).subs(_thinner | {g: alpha_w * c_in})
    / conv_macs_expr.subs({c_out: c_in, g: c_in}))
display_form("width_resolution_ratio", r"\frac{\text{MACs}'}{\text{MACs}}", r"\alpha^2 \rho^2",
             width_resolution_ratio)
display_form("depthwise_width_resolution_ratio", r"\frac{\text{MACs}'}{\text{MACs}}",
             r"\alpha \rho^2", depthwise_width_resolution_ratio)

EXPRESSIONS.update({
    "width_resolution_ratio": width_resolution_ratio,
    "depthwise_width_resolution_ratio": depthwise_width_resolution_ratio,
    "conv_params": conv_params_expr,
    "conv_macs": conv_macs_expr,
    "conv_transpose_macs": conv_transpose_macs_expr,
    "linear_params": linear_params_expr,
    "linear_macs": linear_macs_expr,
    "batchnorm_params": batchnorm_params_expr,
    "flops": flops_expr,
    "conv_grad_input_macs": conv_grad_input_macs_expr,
    "conv_grad_weight_macs": conv_grad_weight_macs_expr,
    "separable_ratio": separable_ratio,
    "grouped_ratio": grouped_ratio,
    "inverted_residual_macs": inverted_residual_macs_expr,
    "bottleneck_ratio": bottleneck_ratio,
    "spatial_separable_ratio": spatial_separable_ratio,
})

_conv_params = _compile(conv_params_expr, (c_in, c_out, k_h, k_w, g, beta))
_conv_macs = _compile(conv_macs_expr, (c_in, c_out, k_h, k_w, h_out, w_out, g, N))
_conv_transpose_macs = _compile(conv_transpose_macs_expr, (c_in, c_out, k_h, k_w, h_in, w_in, g, N))
_linear_params = _compile(linear_params_expr, (f_in, f_out, beta))
_linear_macs = _compile(linear_macs_expr, (f_in, f_out, N))
_batchnorm_params = _compile(batchnorm_params_expr, (ch,))
_separable_ratio = _compile(separable_ratio, (c_out, k))
_grouped_ratio = _compile(grouped_ratio, (g,))


def conv_params(c_in: int, c_out: int, k: IntOrPair, groups: int = 1, bias: bool = True) -> int:
    """Parameters of a convolution: ``C_out * (C_in / G) * k_h * k_w + C_out`` (bias).

    ``k`` is an int (square kernel) or a tuple (``(k_h, k_w)``, or any rank for 1-D/3-D).
    """
    ci, co, gr = _channels(c_in, c_out, groups)
    kh, kw = _kernel_hw(k)
    return _conv_params(ci, co, kh, kw, gr, int(check_flag("bias", bias)))


def conv_macs(c_in: int, c_out: int, k: IntOrPair, out_hw: IntOrPair, groups: int = 1,
              batch: int = 1) -> int:
    """Multiply-accumulates of a convolution: ``N * C_out * H_out * W_out * (C_in / G) * k_h * k_w``.

    ``out_hw`` is the output's spatial size: an int (square) or a tuple of any rank.
    Bias additions are not MACs (see :func:`conv_bias_adds`).
    """
    ci, co, gr = _channels(c_in, c_out, groups)
    kh, kw = _kernel_hw(k)
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    return _conv_macs(ci, co, kh, kw, ho, wo, gr, check_int("batch", batch, 1))


def conv_flops(c_in: int, c_out: int, k: IntOrPair, out_hw: IntOrPair, groups: int = 1,
               batch: int = 1) -> int:
    """FLOPs of a convolution, 2 per MAC (the convention of ``FlopCounterMode``)."""
    return macs_to_flops(conv_macs(c_in, c_out, k, out_hw, groups, batch))


def macs_to_flops(macs: int) -> int:
    """Two FLOPs per multiply-accumulate."""
    return int(flops_per_mac) * check_int("macs", macs, 0)


def conv_transpose_macs(c_in: int, c_out: int, k: IntOrPair, in_hw: IntOrPair, groups: int = 1,
                        batch: int = 1) -> int:
    """MACs of a transposed convolution: ``N * C_in * H_in * W_in * (C_out / G) * k_h * k_w``."""
    ci, co, gr = _channels(c_in, c_out, groups)
    kh, kw = _kernel_hw(k)
    hi, wi = _spatial_hw("input size in_hw", in_hw)
    return _conv_transpose_macs(ci, co, kh, kw, hi, wi, gr, check_int("batch", batch, 1))


def conv_bias_adds(c_out: int, out_hw: IntOrPair, batch: int = 1) -> int:
    """Additions performed by a convolution's bias: one per output element."""
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    return check_int("batch", batch, 1) * check_int("out_channels c_out", c_out, 1) * ho * wo


def conv_backward_macs(c_in: int, c_out: int, k: IntOrPair, out_hw: IntOrPair, groups: int = 1,
                       batch: int = 1, input_grad: bool = True, weight_grad: bool = True) -> int:
    """MACs of a convolution's backward pass: input gradient plus weight gradient.

    Each equals the forward MACs, for grouped and depthwise convolutions too (a grouped weight
    gradient correlates C_in / G input channels with C_out / G output channels per group).
    ``FlopCounterMode`` in PyTorch counts the grouped weight gradient G times too high.
    """
    grads = (int(check_flag("input_grad", input_grad))
             + int(check_flag("weight_grad", weight_grad)))
    return conv_macs(c_in, c_out, k, out_hw, groups, batch) * grads


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a dense layer: ``F_in * F_out + F_out``."""
    return _linear_params(check_int("in_features", in_features, 1),
                          check_int("out_features", out_features, 1),
                          int(check_flag("bias", bias)))


def linear_macs(in_features: int, out_features: int, batch: int = 1) -> int:
    """MACs of a dense layer applied to ``batch`` vectors: ``N * F_in * F_out``."""
    return _linear_macs(check_int("in_features", in_features, 1),
                        check_int("out_features", out_features, 1),
                        check_int("batch", batch, 1))


def batchnorm_params(num_features: int, affine: bool = True) -> int:
    """Parameters of batch normalization: ``2 C`` (a scale and a shift per channel), 0 without
    ``affine``."""
    c = check_int("num_features", num_features, 1)
    return _batchnorm_params(c) if check_flag("affine", affine) else 0


def separable_cost_ratio(c_out: int, k: int) -> Fraction:
    """MACs of depthwise-separable over standard convolution: ``1/C_out + 1/k^2`` (exact)."""
    return Fraction(_separable_ratio(check_int("out_channels c_out", c_out, 1),
                                     check_int("kernel k", k, 1)))


def grouped_cost_ratio(groups: int) -> Fraction:
    """MACs (and weights) of a grouped over an ungrouped convolution: ``1/G`` (exact)."""
    return Fraction(_grouped_ratio(check_int("groups", groups, 1)))
