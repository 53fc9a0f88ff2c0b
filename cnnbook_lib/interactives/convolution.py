"""Interactives about one convolution: its arithmetic, its cost, and its factorizations."""
from __future__ import annotations

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param

# ---------------------------------------------------------------------------------------------
# 1. Convolution arithmetic
# ---------------------------------------------------------------------------------------------


def conv_arithmetic() -> Interactive:
    """Input, padding and output grids of a (transposed) convolution along both axes."""
    conv, tr = ("mode", "==", "convolution"), ("mode", "==", "transposed")
    return Interactive(
        name="conv_arithmetic", title="Convolution arithmetic",
        minutes=4,
        description="Square input and kernel; the same padding, stride and dilation on both axes.",
        params=[
            Param("mode", "mode", "convolution", control="select",
                  choices=["convolution", "transposed"]),
            Param("n", "input size n", 5, 1, 12),
            Param("k", "kernel k", 3, 1, 5),
            Param("p", "padding p", 1, 0, 3),
            Param("s", "stride s", 2, 1, 3),
            Param("d", "dilation d", 1, 1, 3),
            Param("output_padding", "output_padding", 0, 0, 2, visible_when=tr),
            Param("out_i", "output row", 0, 0, 47, max_from="sel_max"),
            Param("out_j", "output column", 0, 0, 47, max_from="sel_max"),
        ],
        outputs=[
            Output("out", "output size"),
            Output("eff", "effective kernel d(k-1)+1"),
            Output("padded", "padded input n+2p", when=conv),
            Output("cell", "selected output cell", "text"),
            Output("window", "input window read", "text", when=conv),
            Output("taps", "input cells read", when=conv),
            Output("pad_taps", "of which padding zeros", when=conv),
            Output("taps", "input cells contributing", when=tr),
        ],
        formulas=[
            Formula("out", "output size", "n_out", fm.conv_output,
                    {"n": "n", "k": "k", "s": "s", "p": "p", "d": "d"}, when=conv),
            Formula("out", "output size", "n_out", fm.conv_transpose_output,
                    {"n": "n", "k": "k", "s": "s", "p": "p", "d": "d", "p_out": "output_padding"},
                    when=tr),
            Formula("eff", "effective kernel", "k_eff", fm.effective_kernel, {"k": "k", "d": "d"}),
        ],
    )


# ---------------------------------------------------------------------------------------------
# 2. Layer cost calculator
# ---------------------------------------------------------------------------------------------

_DTYPES = ["float32", "float16", "bfloat16", "float64", "int8"]


def layer_cost() -> Interactive:
    """Parameters, MACs, FLOPs and memory of one 2-D convolution."""
    d1 = fm.conv_output.subs(fm.d, 1)
    return Interactive(
        name="layer_cost", title="Layer cost calculator",
        minutes=3,
        description="One Conv2d layer with a square kernel. One MAC = 2 FLOPs; bias additions are "
                    "not MACs.",
        params=[
            Param("c_in", "C_in", 64, 1, 512, control="number"),
            Param("c_out", "C_out", 128, 1, 512, control="number"),
            Param("k", "kernel k", 3, 1, 11),
            Param("h", "H", 56, 1, 224, control="number"),
            Param("w", "W", 56, 1, 224, control="number"),
            Param("stride", "stride", 1, 1, 4),
            Param("padding", "padding", 1, 0, 5),
            Param("groups", "groups G", 1, 1, 512, control="number"),
            Param("batch", "batch N", 1, 1, 32, control="number"),
            Param("dtype", "dtype", "float32", control="select", choices=_DTYPES),
            Param("bias", "bias", "yes", control="select", choices=["yes", "no"]),
        ],
        outputs=[
            Output("h_out", "H_out"), Output("w_out", "W_out"),
            Output("params", "parameters"), Output("macs", "MACs"), Output("flops", "FLOPs"),
            Output("param_bytes", "parameter memory", "bytes"),
            Output("input_bytes", "input activations (kept for backward)", "bytes"),
            Output("act_bytes", "output activations", "bytes"),
            Output("flops_per_param", "FLOPs per parameter (biases included)", "ratio"),
        ],
        formulas=[
            Formula("h_out", "output height", "H_out", d1,
                    {"n": "h", "k": "k", "s": "stride", "p": "padding"}),
            Formula("w_out", "output width", "W_out", d1,
                    {"n": "w", "k": "k", "s": "stride", "p": "padding"}),
            Formula("params", "parameters", "params", fm.conv_params_expr,
                    {"C_in": "c_in", "C_out": "c_out", "k_h": "k", "k_w": "k", "G": "groups",
                     "beta": "beta"}),
            Formula("macs", "multiply-accumulates", "MACs", fm.conv_macs_expr,
                    {"N": "batch", "C_in": "c_in", "C_out": "c_out", "k_h": "k", "k_w": "k",
                     "G": "groups", "H_out": "h_out", "W_out": "w_out"}),
            Formula("flops", "floating-point operations", "FLOPs", fm.flops_expr, {"MACs": "macs"}),
            Formula("act_bytes", "output activation bytes", "bytes", fm.conv_activation_bytes_expr,
                    {"N": "batch", "C_out": "c_out", "H_out": "h_out", "W_out": "w_out",
                     "b": "elem_bytes"}),
        ],
        data={"dtype_bytes": {t: fm.bytes_per_element(t) for t in _DTYPES}},
    )


# ---------------------------------------------------------------------------------------------
# 4. Factorization comparator
# ---------------------------------------------------------------------------------------------


def factorization() -> Interactive:
    """Standard vs depthwise-separable vs grouped vs bottleneck convolution (no bias)."""
    return Interactive(
        name="factorization", title="Factorization comparator",
        minutes=3,
        description="Same input and output channels and output size; biases left out.",
        params=[
            Param("c_in", "C_in", 128, 1, 1024, control="number"),
            Param("c_out", "C_out", 128, 1, 1024, control="number"),
            Param("k", "kernel k", 3, 1, 7),
            Param("hw", "output size H=W", 56, 1, 224, control="number"),
            Param("groups", "groups G", 4, 1, 1024, control="number"),
            Param("reduction", "bottleneck reduction", 4, 1, 8),
        ],
        outputs=[
            Output("std_params", "standard: parameters"), Output("std_macs", "standard: MACs"),
            Output("sep_params", "separable: parameters"), Output("sep_macs", "separable: MACs"),
            Output("grp_params", "grouped: parameters"), Output("grp_macs", "grouped: MACs"),
            Output("bot_params", "bottleneck: parameters"), Output("bot_macs", "bottleneck: MACs"),
            Output("sep_ratio", "separable / standard MACs", "ratio"),
            Output("grp_ratio", "grouped / standard MACs", "ratio"),
            Output("bot_ratio", "bottleneck / standard MACs", "ratio"),
        ],
        formulas=[
            Formula("sep_ratio", "depthwise-separable over standard", "ratio", fm.separable_ratio,
                    {"C_out": "c_out", "k": "k"}),
            Formula("grp_ratio", "grouped over standard", "ratio", fm.grouped_ratio, {"G": "groups"}),
        ],
    )
