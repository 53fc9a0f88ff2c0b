"""Convolution algorithms compared: multiplications and workspace of direct, im2col, FFT and
Winograd convolution for one stride-1 layer (the counts of :mod:`cnnbook_lib.algorithms`)."""
from __future__ import annotations

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param


def conv_algorithms() -> Interactive:
    """Multiplications and workspace of the four convolution algorithms (stride 1, float32)."""
    return Interactive(
        name="conv_algorithms", title="Convolution algorithms compared",
        minutes=3,
        description="One stride-1 layer with a square kernel and input, float32. Direct and im2col "
                    "do the same multiplications; im2col pays in memory, FFT and Winograd trade "
                    "multiplications for transforms and workspace.",
        params=[
            Param("c_in", "C_in", 64, 1, 512, control="number"),
            Param("c_out", "C_out", 64, 1, 512, control="number"),
            Param("hw", "input size H=W", 56, 1, 224, control="number"),
            Param("k", "kernel k", 3, 1, 11),
            Param("padding", "padding", 1, 0, 5),
            Param("batch", "batch N", 1, 1, 32, control="number"),
            Param("m", "Winograd tile m", 2, 1, 6),
        ],
        outputs=[
            Output("out", "output size"),
            Output("direct", "direct / im2col: multiplications (MACs)"),
            Output("wino", "Winograd: multiplications"),
            Output("fft", "FFT: real multiplications of the products"),
            Output("wino_saving", "direct / Winograd", "ratio"),
            Output("fft_saving", "direct / FFT", "ratio"),
            Output("input_bytes", "input", "bytes"),
            Output("im2col_bytes", "im2col patch matrix", "bytes"),
            Output("im2col_blowup", "patch matrix / input", "ratio"),
            Output("wino_bytes", "Winograd workspace", "bytes"),
            Output("fft_bytes", "FFT spectra", "bytes"),
        ],
        formulas=[
            Formula("direct", "direct multiplications", "MACs", fm.conv_macs_expr,
                    {"N": "batch", "C_in": "c_in", "C_out": "c_out", "k_h": "k", "k_w": "k",
                     "G": 1, "H_out": "out", "W_out": "out"}),
            Formula("wino", "Winograd multiplications", "mults", fm.winograd_mults_expr,
                    {"N": "batch", "C_in": "c_in", "C_out": "c_out", "H_out": "out",
                     "W_out": "out", "m": "m", "r": "k"}),
        ],
    )
