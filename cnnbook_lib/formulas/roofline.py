"""Roofline model and arithmetic intensity (the formulas behind :mod:`cnnbook_lib.bench`).

The roofline model (Williams, Waterman & Patterson, CACM 2009): a kernel cannot run faster
than its arithmetic at the peak FLOP rate, nor faster than its unavoidable memory traffic at
the peak bandwidth. The unavoidable traffic of a convolution is reading its input and weights
once and writing its output once.
"""
from __future__ import annotations

import sympy as sp

from .display import display_form
from ..validation import check_int, check_positive
from ._core import (EXPRESSIONS, IntOrPair, N, _channels, _compile, _kernel_hw, _pos, _spatial_hw,
                   b, c_in, c_out, g, h_in, h_out, k_h, k_w, w_in, w_out)
from .cost import conv_macs_expr, flops_per_mac
from .memory import tensor_bytes

__all__ = ["peak_flops", "bandwidth", "work", "traffic", "seconds", "copy_size", "mm_m", "mm_k",
           "mm_n", "conv_min_bytes_expr", "arithmetic_intensity_expr", "conv_intensity_expr",
           "flops_only_time_expr", "memory_time_expr", "roofline_time_expr", "copy_bandwidth_expr",
           "matmul_macs_expr", "ridge_point_expr", "conv_min_bytes", "arithmetic_intensity",
           "roofline_time", "flops_only_time", "ridge_point", "memory_time", "copy_bandwidth",
           "matmul_macs"]

peak_flops = sp.Symbol("P", positive=True)      # peak arithmetic throughput, FLOP/s
bandwidth = sp.Symbol("B_mem", positive=True)   # peak memory bandwidth, bytes/s
work = sp.Symbol("W_flops", positive=True)      # FLOPs of a kernel
traffic = sp.Symbol("Q", positive=True)         # bytes a kernel moves
seconds = sp.Symbol("t", positive=True)         # a measured time, seconds
copy_size = sp.Symbol("S", positive=True)       # bytes of the buffer a copy reads (and writes)
mm_m, mm_k, mm_n = sp.symbols("M_A K_A N_B", **_pos)   # A is M x K, B is K x N

#: Minimum bytes of a convolution: input + weights + output, each touched once
#: (``b * (N C_in H_in W_in + C_out (C_in/G) k_h k_w + N C_out H_out W_out)``; bias not counted).
conv_min_bytes_expr = b * (N * c_in * h_in * w_in + c_out * (c_in / g) * k_h * k_w
                           + N * c_out * h_out * w_out)
#: Arithmetic intensity: FLOPs per byte of minimum traffic.
arithmetic_intensity_expr = work / traffic
#: Convolution arithmetic intensity in closed form: ``2 MACs / minimum bytes``.
conv_intensity_expr = flops_per_mac * conv_macs_expr / conv_min_bytes_expr
#: Naive prediction: FLOPs over the peak FLOP rate, as if memory were free.
flops_only_time_expr = work / peak_flops
#: Memory time: the bytes a kernel moves over the peak bandwidth, as if arithmetic were free.
memory_time_expr = traffic / bandwidth
#: Roofline time: the larger of the compute time and the memory time.
roofline_time_expr = sp.Max(flops_only_time_expr, memory_time_expr)
#: Bandwidth of a copy of S bytes taking t seconds: each byte is read once and written once.
copy_bandwidth_expr = 2 * copy_size / seconds
#: Multiply-accumulates of a matrix product (M x K) @ (K x N): one per output per inner index.
matmul_macs_expr = mm_m * mm_k * mm_n
#: Ridge point: the intensity (FLOP/byte) at which a kernel stops being memory bound.
ridge_point_expr = peak_flops / bandwidth

# The display forms of the roofline model, as the book prints them.
display_form("flops_only_time", "t", r"\frac{W_\text{flops}}{P}", flops_only_time_expr)
display_form("memory_time", "t", r"\frac{Q}{B_\text{mem}}", memory_time_expr)
display_form("roofline_time", "t",
             r"\max\left(\frac{W_\text{flops}}{P},\, \frac{Q}{B_\text{mem}}\right)",
             roofline_time_expr)
display_form("arithmetic_intensity", "I", r"\frac{W_\text{flops}}{Q}", arithmetic_intensity_expr)
display_form("ridge_point", r"I^\ast", r"\frac{P}{B_\text{mem}}", ridge_point_expr)
display_form("conv_intensity", "I",
             r"\frac{2N \frac{C_\text{in}}{G} k_h k_w C_\text{out} H_\text{out} W_\text{out}}"
             r"{b\left(N C_\text{in} H_\text{in} W_\text{in} + \frac{C_\text{in}}{G} k_h k_w C_\text{out}"
             r" + N C_\text{out} H_\text{out} W_\text{out}\right)}", conv_intensity_expr)

EXPRESSIONS.update({
    "conv_min_bytes": conv_min_bytes_expr,
    "arithmetic_intensity": arithmetic_intensity_expr,
    "conv_intensity": conv_intensity_expr,
    "roofline_time": roofline_time_expr,
    "flops_only_time": flops_only_time_expr,
    "memory_time": memory_time_expr,
    "copy_bandwidth": copy_bandwidth_expr,
    "matmul_macs": matmul_macs_expr,
    "ridge_point": ridge_point_expr,
})

_conv_min_elements = _compile(conv_min_bytes_expr.subs(b, 1),
                              (c_in, c_out, k_h, k_w, h_in, w_in, h_out, w_out, g, N))
_memory_time = _compile(memory_time_expr, (traffic, bandwidth))
_copy_bandwidth = _compile(copy_bandwidth_expr, (copy_size, seconds))
_matmul_macs = _compile(matmul_macs_expr, (mm_m, mm_k, mm_n))


def conv_min_bytes(c_in: int, c_out: int, k: IntOrPair, in_hw: IntOrPair, out_hw: IntOrPair,
                   groups: int = 1, batch: int = 1, dtype="float32") -> int:
    """Minimum bytes a convolution moves: input, weights and output once each,
    ``b * (N C_in H_in W_in + C_out (C_in/G) k_h k_w + N C_out H_out W_out)``."""
    ci, co, gr = _channels(c_in, c_out, groups)
    kh, kw = _kernel_hw(k)
    hi, wi = _spatial_hw("input size in_hw", in_hw)
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    elements = _conv_min_elements(ci, co, kh, kw, hi, wi, ho, wo, gr, check_int("batch", batch, 1))
    return tensor_bytes(elements, dtype)


def arithmetic_intensity(flops: float, nbytes: float) -> float:
    """FLOPs per byte: ``W / Q``."""
    return check_positive("flops", flops) / check_positive("bytes nbytes", nbytes)


def roofline_time(flops: float, nbytes: float, peak: float, bw: float) -> float:
    """Roofline lower bound on run time, seconds: ``max(W / P, Q / B)``."""
    return max(check_positive("flops", flops) / check_positive("peak FLOP/s peak", peak),
               check_positive("bytes nbytes", nbytes) / check_positive("bandwidth bw", bw))


def flops_only_time(flops: float, peak: float) -> float:
    """Naive prediction, seconds: ``W / P``."""
    return check_positive("flops", flops) / check_positive("peak FLOP/s peak", peak)


def ridge_point(peak: float, bw: float) -> float:
    """Intensity where the roofline bends, FLOP/byte: ``P / B``."""
    return check_positive("peak FLOP/s peak", peak) / check_positive("bandwidth bw", bw)


def memory_time(nbytes: float, bw: float) -> float:
    """Time to move ``nbytes`` at the peak bandwidth, seconds: ``Q / B``."""
    return float(_memory_time(check_positive("bytes nbytes", nbytes),
                              check_positive("bandwidth bw", bw)))


def copy_bandwidth(nbytes: float, seconds: float) -> float:
    """Bandwidth of a copy of ``nbytes`` bytes that took ``seconds``, bytes/s: ``2 S / t`` (every
    byte read once and written once)."""
    return float(_copy_bandwidth(check_positive("bytes nbytes", nbytes),
                                 check_positive("seconds", seconds)))


def matmul_macs(m: int, k: int, n: int) -> int:
    """MACs of a matrix product ``(m x k) @ (k x n)``: ``M K N`` (FLOPs: :func:`macs_to_flops`)."""
    return _matmul_macs(check_int("m", m, 1), check_int("k", k, 1), check_int("n", n, 1))
