"""Convolution algorithms compared: multiplications and workspace of direct, im2col, FFT and
Winograd convolution for one stride-1 layer (the counts of :mod:`cnnbook_lib.algorithms`)."""
from __future__ import annotations

from fractions import Fraction

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param


def _conv_algorithms(v: dict, data) -> dict:
    ci, co, n, k, p, nb, m = v["c_in"], v["c_out"], v["hw"], v["k"], v["padding"], v["batch"], v["m"]
    out = fm.conv_output_size(n, k, 1, p)
    hf = n + 2 * p
    direct = fm.conv_macs(ci, co, k, out, 1, nb)
    wino = fm.winograd_multiplications(ci, co, out, nb, m, k)
    fft = 4 * fm.fft_products(ci, co, hf, nb)
    im2col_b = fm.im2col_bytes(ci, k, out, nb)
    wino_b = fm.tensor_bytes(fm.winograd_workspace_elements(ci, co, out, nb, m, k))
    fft_b = fm.tensor_bytes(2 * fm.fft_workspace_complex(ci, co, hf, nb))
    input_b = fm.tensor_bytes((nb, ci, n, n))
    rows = [["direct", direct, 0], ["im2col + GEMM", direct, im2col_b],
            [f"FFT ({hf}×{hf})", fft, fft_b], [f"Winograd F({m}×{m}, {k}×{k})", wino, wino_b]]
    return {"outputs": {
        "out": out, "fft_size": hf, "tiles": fm.winograd_tiles(out, m),
        "direct": direct, "wino": wino, "fft": fft,
        "wino_saving": Fraction(direct, wino), "fft_saving": Fraction(direct, fft),
        "input_bytes": input_b, "im2col_bytes": im2col_b, "wino_bytes": wino_b, "fft_bytes": fft_b,
        "im2col_blowup": Fraction(im2col_b, input_b)},
        "figure": [{"kind": "bars",
                    "title": f"{ci}→{co} channels, {k}×{k} kernel, {n}×{n} input, batch {nb}",
                    "series": ["multiplications", "extra memory (float32)"],
                    "fmts": ["short", "shortbytes"],
                    "rows": [{"label": lab, "values": [mu, by]} for lab, mu, by in rows],
                    "caption": "FFT: 4 real multiplications per complex product, transforms not "
                               "counted. Winograd: transforms (additions) not counted."}]}


_CONV_ALGORITHMS_JS = r"""
function (v, F, DATA, fail) {
  var ci = v.c_in, co = v.c_out, n = v.hw, k = v.k, p = v.padding, nb = v.batch, m = v.m;
  if (k > n + 2 * p) {
    fail("kernel " + k + " (effective " + k + ") is larger than padded input " + (n + 2 * p) +
         " (n=" + n + ", p=" + p + ")");
  }
  var out = F.conv_output(n, k, 1, p, 1), hf = n + 2 * p, b = 4;
  var direct = F.conv_macs(ci, co, k, k, out, out, 1, nb);
  var wino = F.winograd_mults(ci, co, out, out, nb, m, k);
  var fft = 4 * F.fft_products(ci, co, hf, hf, nb);
  var im2colB = F.tensor_bytes(F.im2col_elements(ci, k, k, out, out, nb), b);
  var winoB = F.tensor_bytes(F.winograd_workspace(ci, co, out, out, nb, m, k), b);
  var fftB = F.tensor_bytes(2 * F.fft_workspace(ci, co, hf, hf, nb), b);
  var inputB = F.tensor_bytes(nb * ci * n * n, b);
  var rows = [["direct", direct, 0], ["im2col + GEMM", direct, im2colB],
              ["FFT (" + hf + "×" + hf + ")", fft, fftB],
              ["Winograd F(" + m + "×" + m + ", " + k + "×" + k + ")", wino, winoB]];
  return {outputs: {
    out: out, fft_size: hf, tiles: F.winograd_tiles(out, out, m),
    direct: direct, wino: wino, fft: fft, wino_saving: direct / wino, fft_saving: direct / fft,
    input_bytes: inputB, im2col_bytes: im2colB, wino_bytes: winoB, fft_bytes: fftB,
    im2col_blowup: im2colB / inputB},
    figure: [{kind: "bars",
              title: ci + "→" + co + " channels, " + k + "×" + k + " kernel, " + n + "×" + n + " input, batch " + nb,
              series: ["multiplications", "extra memory (float32)"], fmts: ["short", "shortbytes"],
              rows: rows.map(function (x) { return {label: x[0], values: [x[1], x[2]]}; }),
              caption: "FFT: 4 real multiplications per complex product, transforms not " +
                       "counted. Winograd: transforms (additions) not counted."}]};
}
"""


def conv_algorithms() -> Interactive:
    """Multiplications and workspace of the four convolution algorithms (stride 1, float32)."""
    return Interactive(
        name="conv_algorithms", title="Convolution algorithms compared",
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
        compute=_conv_algorithms, js_compute=_CONV_ALGORITHMS_JS,
        js_formulas={
            "conv_output": (fm.conv_output, (fm.n, fm.k, fm.s, fm.p, fm.d)),
            "conv_macs": (fm.conv_macs_expr,
                          (fm.c_in, fm.c_out, fm.k_h, fm.k_w, fm.h_out, fm.w_out, fm.g, fm.N)),
            "winograd_mults": (fm.winograd_mults_expr,
                               (fm.c_in, fm.c_out, fm.h_out, fm.w_out, fm.N, fm.wino_m, fm.wino_r)),
            "winograd_tiles": (fm.winograd_tiles_expr, (fm.h_out, fm.w_out, fm.wino_m)),
            "winograd_workspace": (fm.winograd_workspace_elements_expr,
                                   (fm.c_in, fm.c_out, fm.h_out, fm.w_out, fm.N, fm.wino_m,
                                    fm.wino_r)),
            "fft_products": (fm.fft_products_expr, (fm.c_in, fm.c_out, fm.h_f, fm.w_f, fm.N)),
            "fft_workspace": (fm.fft_workspace_complex_expr,
                              (fm.c_in, fm.c_out, fm.h_f, fm.w_f, fm.N)),
            "im2col_elements": (fm.im2col_elements_expr,
                                (fm.c_in, fm.k_h, fm.k_w, fm.h_out, fm.w_out, fm.N)),
            "tensor_bytes": (fm.tensor_bytes_expr, (fm.numel, fm.b)),
        },
    )
