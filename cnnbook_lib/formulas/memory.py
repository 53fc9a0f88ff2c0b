"""Memory: bytes of tensors and dtypes, of a convolution's output and of what it saves for
backward, of the im2col patch matrix, of optimizer state, and saved activations scaled to
another batch size. Memory is counted in bytes, ``b`` bytes per element (4 for float32).
"""
from __future__ import annotations

import math

import sympy as sp

from .display import display_form
from ..validation import check_choice, check_int
from ._core import (EXPRESSIONS, MAX_INT, IntOrPair, N, _compile, _kernel_hw, _nonneg, _pos,
                   _spatial_hw, b, c_in, c_out, h_in, h_out, k_h, k_w, numel, w_in, w_out)

__all__ = ["tensor_bytes_expr", "conv_activation_bytes_expr", "conv_backward_cache_bytes_expr",
           "im2col_elements_expr", "DTYPE_BYTES", "bytes_per_element", "tensor_bytes",
           "conv_activation_bytes", "conv_backward_cache_bytes", "im2col_elements", "im2col_bytes",
           "n_params", "n_states", "act_bytes", "batch_new", "optimizer_state_bytes_expr",
           "scaled_activation_bytes_expr", "OPTIMIZER_STATES", "optimizer_states",
           "mem_budget", "mem_fixed", "max_batch_expr",
           "optimizer_state_bytes", "scaled_activation_bytes"]

#: Bytes of a tensor.
tensor_bytes_expr = numel * b
#: Bytes of the output activations of a convolution.
conv_activation_bytes_expr = N * c_out * h_out * w_out * b
display_form("conv_activation_bytes", r"\text{bytes}",
             r"N \cdot C_\text{out} H_\text{out} W_\text{out} \cdot b", conv_activation_bytes_expr)
#: Bytes a convolution keeps for its backward pass: its input (needed for the weight gradient).
conv_backward_cache_bytes_expr = N * c_in * h_in * w_in * b
#: Elements of the im2col patch matrix: one column of C_in * k_h * k_w values per output position.
im2col_elements_expr = N * c_in * k_h * k_w * h_out * w_out
display_form("im2col_elements", r"\text{elements}",
             r"C_\text{in} k_h k_w \cdot N H_\text{out} W_\text{out}", im2col_elements_expr)

EXPRESSIONS.update({
    "tensor_bytes": tensor_bytes_expr,
    "conv_activation_bytes": conv_activation_bytes_expr,
    "conv_backward_cache_bytes": conv_backward_cache_bytes_expr,
    "im2col_elements": im2col_elements_expr,
})

_tensor_bytes = _compile(tensor_bytes_expr, (numel, b))
_im2col_elements = _compile(im2col_elements_expr, (c_in, k_h, k_w, h_out, w_out, N))
_conv_activation_bytes = _compile(conv_activation_bytes_expr, (c_out, h_out, w_out, N, b))
_conv_backward_cache_bytes = _compile(conv_backward_cache_bytes_expr, (c_in, h_in, w_in, N, b))

#: Bytes per element of the dtypes the book uses.
DTYPE_BYTES: dict[str, int] = {
    "float64": 8, "float32": 4, "tf32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1,
    "int32": 4, "int64": 8, "bool": 1,
}


def bytes_per_element(dtype) -> int:
    """Bytes of one element of ``dtype`` (a name such as ``"float32"`` or a ``torch.dtype``)."""
    if type(dtype).__name__ == "dtype" and type(dtype).__module__ == "torch":
        dtype = str(dtype)
    if isinstance(dtype, str) and dtype.startswith("torch."):     # str(torch.float32)
        dtype = dtype[len("torch."):]
    return DTYPE_BYTES[check_choice("dtype", dtype, DTYPE_BYTES)]


def tensor_bytes(shape_or_numel, dtype="float32") -> int:
    """Bytes of a tensor of the given shape (or element count) and dtype."""
    size = bytes_per_element(dtype)
    if isinstance(shape_or_numel, (list, tuple)):
        count = math.prod(check_int("shape_or_numel entry", v, 0) for v in shape_or_numel)
        if count > MAX_INT:
            raise ValueError(f"shape_or_numel {tuple(shape_or_numel)} has {count} elements, "
                             f"more than a tensor can hold ({MAX_INT})")
    else:
        count = check_int("numel shape_or_numel", shape_or_numel, 0)
    if count == 0:
        return 0
    return _tensor_bytes(count, size)


def conv_activation_bytes(c_out: int, out_hw: IntOrPair, batch: int = 1, dtype="float32") -> int:
    """Bytes of a convolution's output: ``N * C_out * H_out * W_out * b``."""
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    return _conv_activation_bytes(check_int("out_channels c_out", c_out, 1), ho, wo,
                                  check_int("batch", batch, 1), bytes_per_element(dtype))


def conv_backward_cache_bytes(c_in: int, in_hw: IntOrPair, batch: int = 1, dtype="float32") -> int:
    """Bytes a convolution saves for backward: its input, ``N * C_in * H_in * W_in * b``."""
    hi, wi = _spatial_hw("input size in_hw", in_hw)
    return _conv_backward_cache_bytes(check_int("in_channels c_in", c_in, 1), hi, wi,
                                      check_int("batch", batch, 1), bytes_per_element(dtype))


def im2col_elements(c_in: int, k: IntOrPair, out_hw: IntOrPair, batch: int = 1) -> int:
    """Elements of the im2col patch matrix: ``N * (C_in * k_h * k_w) * (H_out * W_out)``."""
    kh, kw = _kernel_hw(k)
    ho, wo = _spatial_hw("output size out_hw", out_hw)
    return _im2col_elements(check_int("in_channels c_in", c_in, 1), kh, kw, ho, wo,
                            check_int("batch", batch, 1))


def im2col_bytes(c_in: int, k: IntOrPair, out_hw: IntOrPair, batch: int = 1, dtype="float32") -> int:
    """Bytes of the im2col patch matrix."""
    return tensor_bytes(im2col_elements(c_in, k, out_hw, batch), dtype)


# ---------------------------------------------------------------------------------------------
# Memory of a training step
# ---------------------------------------------------------------------------------------------
n_params = sp.Symbol("N_params", **_nonneg)   # parameters of a model
n_states = sp.Symbol("m_opt", **_nonneg)      # optimizer state tensors kept per parameter
act_bytes = sp.Symbol("A", **_nonneg)         # bytes of saved activations at batch N
batch_new = sp.Symbol("N_new", **_pos)        # the batch size to scale to

#: Optimizer state: ``m_opt`` values per parameter (Adam two moments, SGD with momentum one).
optimizer_state_bytes_expr = n_states * n_params * b
#: Saved activations grow linearly with the batch: ``floor(A N_new / N)`` bytes at batch N_new.
scaled_activation_bytes_expr = sp.floor(act_bytes * batch_new / N)
display_form("optimizer_state_bytes", r"M_\text{opt}", r"m_\text{opt} \cdot N_\text{params} \cdot b",
             optimizer_state_bytes_expr)
display_form("scaled_activation_bytes", r"M_\text{act}", r"\left\lfloor \frac{A \cdot N_\text{new}}{N} \right\rfloor",
             scaled_activation_bytes_expr)

#: Memory budget and the batch-independent bytes (weights, gradients, optimizer state).
mem_budget = sp.Symbol("M_budget", **_nonneg)
mem_fixed = sp.Symbol("M_fixed", **_nonneg)
#: The largest batch whose saved activations (A bytes at batch N) fit what the budget leaves.
max_batch_expr = sp.floor((mem_budget - mem_fixed) * N / act_bytes)

EXPRESSIONS.update({
    "max_batch": max_batch_expr,
    "optimizer_state_bytes": optimizer_state_bytes_expr,
    "scaled_activation_bytes": scaled_activation_bytes_expr,
})
_optimizer_state_bytes = _compile(optimizer_state_bytes_expr, (n_states, n_params, b))
_scaled_activation_bytes = _compile(scaled_activation_bytes_expr, (act_bytes, N, batch_new))

#: State tensors an optimizer keeps per parameter (each the parameter's shape and dtype).
OPTIMIZER_STATES: dict[str, int] = {"adam": 2, "adamw": 2, "sgd_momentum": 1, "sgd": 0}


def optimizer_states(optimizer: str) -> int:
    """State values ``optimizer`` keeps per parameter (``"adam"``, ``"adamw"``,
    ``"sgd_momentum"``, ``"sgd"``)."""
    return OPTIMIZER_STATES[check_choice("optimizer", optimizer, OPTIMIZER_STATES)]


def optimizer_state_bytes(params: int, optimizer: str = "adam", dtype="float32") -> int:
    """Bytes of an optimizer's state for ``params`` parameters: ``m_opt * N_params * b``."""
    states = optimizer_states(optimizer)
    count = check_int("params", params, 0)
    size = bytes_per_element(dtype)
    if count == 0 or states == 0:
        return 0
    return _optimizer_state_bytes(states, count, size)


def scaled_activation_bytes(nbytes: int, batch: int, new_batch: int) -> int:
    """Saved-activation bytes ``nbytes`` measured at ``batch``, scaled linearly to ``new_batch``:
    ``floor(A N_new / N)``."""
    return _scaled_activation_bytes(check_int("activation bytes nbytes", nbytes, 0),
                                    check_int("batch", batch, 1),
                                    check_int("new_batch", new_batch, 1))
