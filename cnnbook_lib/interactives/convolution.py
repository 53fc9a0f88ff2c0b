"""Interactives about one convolution: its arithmetic, its cost, and its factorizations."""
from __future__ import annotations

from fractions import Fraction

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param

# ---------------------------------------------------------------------------------------------
# 1. Convolution arithmetic
# ---------------------------------------------------------------------------------------------


def _conv_arith(v: dict, data) -> dict:
    n, k, s, p, d = v["n"], v["k"], v["s"], v["p"], v["d"]
    eff = fm.effective_kernel_size(k, d)
    if v["mode"] == "convolution":
        out = fm.conv_output_size(n, k, s, p, d)
        i, j = min(v["out_i"], out - 1), min(v["out_j"], out - 1)
        rows = [i * s + t * d for t in range(k)]
        cols = [j * s + t * d for t in range(k)]
        size, cells, pad_taps = n + 2 * p, [], 0
        for r in range(size):
            for c in range(size):
                pad = r < p or r >= p + n or c < p or c >= p + n
                hl = r in rows and c in cols
                pad_taps += pad and hl
                cls = "padhl" if pad and hl else "hl" if hl else "pad" if pad else None
                if cls:
                    cells.append([r, c, cls])
        outputs = {"out": out, "eff": eff, "padded": size, "taps": k * k, "pad_taps": pad_taps,
                   "window": f"rows {rows[0] - p} to {rows[-1] - p}, columns {cols[0] - p} to "
                             f"{cols[-1] - p} (step {d})"}
        in_title = f"input {n}×{n}, padding {p} (grey)"
        caption = "Blue: the input cells the selected output cell reads (light blue: padding zeros)."
    else:
        op = v["output_padding"]
        out = fm.conv_transpose_output_size(n, k, s, p, op, d)
        i, j = min(v["out_i"], out - 1), min(v["out_j"], out - 1)

        def sources(o):
            found = []
            for t in range(k):
                q = o + p - t * d
                if q >= 0 and q % s == 0 and q // s < n:
                    found.append(q // s)
            return sorted(found)
        rows, cols = sources(i), sources(j)
        cells = [[r, c, "hl"] for r in rows for c in cols]
        outputs = {"out": out, "eff": eff, "taps": len(rows) * len(cols)}
        in_title = f"input {n}×{n}"
        caption = "Blue: the input cells that contribute to the selected output cell."
    cells_out = [[i, j, "sel"]]
    outputs.update({"sel_max": out - 1, "cell": f"({i}, {j})"})
    grid_in = {"kind": "grid", "title": in_title, "rows": n + 2 * p if v["mode"] == "convolution" else n,
               "cols": n + 2 * p if v["mode"] == "convolution" else n, "cells": cells,
               "caption": caption}
    grid_out = {"kind": "grid", "title": f"output {out}×{out} (click a cell)", "rows": out, "cols": out,
                "cells": cells_out, "click": "out_i,out_j"}
    return {"outputs": outputs, "figure": [grid_in, grid_out]}


_CONV_ARITH_JS = r"""
function (v, F, DATA, fail) {
  var n = v.n, k = v.k, s = v.s, p = v.p, d = v.d, out, i, j, rows = [], cols = [], cells = [], t, r, c;
  var eff = F.effective_kernel(k, d), outputs, inTitle, caption, conv = v.mode === "convolution";
  if (conv) {
    if (eff > n + 2 * p) {
      fail("kernel " + k + " (effective " + eff + ") is larger than padded input " + (n + 2 * p) +
           " (n=" + n + ", p=" + p + ")");
    }
    out = F.conv_output(n, k, s, p, d);
    i = Math.min(v.out_i, out - 1); j = Math.min(v.out_j, out - 1);
    for (t = 0; t < k; t++) { rows.push(i * s + t * d); cols.push(j * s + t * d); }
    var size = n + 2 * p, padTaps = 0;
    for (r = 0; r < size; r++) {
      for (c = 0; c < size; c++) {
        var pad = r < p || r >= p + n || c < p || c >= p + n;
        var hl = rows.indexOf(r) >= 0 && cols.indexOf(c) >= 0;
        if (pad && hl) { padTaps++; }
        var cls = pad && hl ? "padhl" : hl ? "hl" : pad ? "pad" : null;
        if (cls) { cells.push([r, c, cls]); }
      }
    }
    outputs = {out: out, eff: eff, padded: size, taps: k * k, pad_taps: padTaps,
               window: "rows " + (rows[0] - p) + " to " + (rows[k - 1] - p) + ", columns " + (cols[0] - p) +
                       " to " + (cols[k - 1] - p) + " (step " + d + ")"};
    inTitle = "input " + n + "×" + n + ", padding " + p + " (grey)";
    caption = "Blue: the input cells the selected output cell reads (light blue: padding zeros).";
  } else {
    var op = v.output_padding;
    if (op >= s && op >= d) {
      fail("output_padding " + op + " must be smaller than either stride " + s + " or dilation " + d);
    }
    out = F.conv_transpose_output(n, k, s, p, op, d);
    if (out < 1) {
      fail("padding " + p + " is too large: transposed output size would be " + out +
           " (n=" + n + ", k=" + k + ", s=" + s + ", d=" + d + ")");
    }
    i = Math.min(v.out_i, out - 1); j = Math.min(v.out_j, out - 1);
    var sources = function (o) {
      var found = [];
      for (var t = 0; t < k; t++) {
        var q = o + p - t * d;
        if (q >= 0 && q % s === 0 && q / s < n) { found.push(q / s); }
      }
      return found.sort(function (a, b) { return a - b; });
    };
    rows = sources(i); cols = sources(j);
    rows.forEach(function (r) { cols.forEach(function (c) { cells.push([r, c, "hl"]); }); });
    outputs = {out: out, eff: eff, taps: rows.length * cols.length};
    inTitle = "input " + n + "×" + n;
    caption = "Blue: the input cells that contribute to the selected output cell.";
  }
  outputs.sel_max = out - 1;
  outputs.cell = "(" + i + ", " + j + ")";
  var side = conv ? n + 2 * p : n;
  return {outputs: outputs, figure: [
    {kind: "grid", title: inTitle, rows: side, cols: side, cells: cells, caption: caption},
    {kind: "grid", title: "output " + out + "×" + out + " (click a cell)", rows: out, cols: out,
     cells: [[i, j, "sel"]], click: "out_i,out_j"}]};
}
"""


def conv_arithmetic() -> Interactive:
    """Input, padding and output grids of a (transposed) convolution along both axes."""
    conv, tr = ("mode", "==", "convolution"), ("mode", "==", "transposed")
    return Interactive(
        name="conv_arithmetic", title="Convolution arithmetic",
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
        compute=_conv_arith, js_compute=_CONV_ARITH_JS,
        js_formulas={
            "effective_kernel": (fm.effective_kernel, (fm.k, fm.d)),
            "conv_output": (fm.conv_output, (fm.n, fm.k, fm.s, fm.p, fm.d)),
            "conv_transpose_output": (fm.conv_transpose_output, (fm.n, fm.k, fm.s, fm.p, fm.op, fm.d)),
        },
    )


# ---------------------------------------------------------------------------------------------
# 2. Layer cost calculator
# ---------------------------------------------------------------------------------------------

_DTYPES = ["float32", "float16", "bfloat16", "float64", "int8"]


def _layer_cost(v: dict, data) -> dict:
    k, st, pd = v["k"], v["stride"], v["padding"]
    ho = fm.conv_output_size(v["h"], k, st, pd)
    wo = fm.conv_output_size(v["w"], k, st, pd)
    bias = v["bias"] == "yes"
    params = fm.conv_params(v["c_in"], v["c_out"], k, v["groups"], bias)
    macs = fm.conv_macs(v["c_in"], v["c_out"], k, (ho, wo), v["groups"], v["batch"])
    flops = fm.conv_flops(v["c_in"], v["c_out"], k, (ho, wo), v["groups"], v["batch"])
    return {"outputs": {
        "h_out": ho, "w_out": wo, "beta": int(bias), "params": params, "macs": macs, "flops": flops,
        "elem_bytes": fm.bytes_per_element(v["dtype"]),
        "param_bytes": fm.tensor_bytes(params, v["dtype"]),
        "input_bytes": fm.conv_backward_cache_bytes(v["c_in"], (v["h"], v["w"]), v["batch"], v["dtype"]),
        "act_bytes": fm.conv_activation_bytes(v["c_out"], (ho, wo), v["batch"], v["dtype"]),
        "flops_per_param": Fraction(flops, params),
    }}


_LAYER_COST_JS = r"""
function (v, F, DATA, fail) {
  var k = v.k, st = v.stride, pd = v.padding, eff = F.effective_kernel(k, 1);
  [v.h, v.w].forEach(function (n) {
    if (eff > n + 2 * pd) {
      fail("kernel " + k + " (effective " + eff + ") is larger than padded input " + (n + 2 * pd) +
           " (n=" + n + ", p=" + pd + ")");
    }
  });
  var ho = F.conv_output(v.h, k, st, pd, 1), wo = F.conv_output(v.w, k, st, pd, 1);
  if (v.c_in % v.groups) { fail("groups " + v.groups + " does not divide in_channels " + v.c_in); }
  if (v.c_out % v.groups) { fail("groups " + v.groups + " does not divide out_channels " + v.c_out); }
  var beta = v.bias === "yes" ? 1 : 0, b = DATA.dtype_bytes[v.dtype];
  var params = F.conv_params(v.c_in, v.c_out, k, k, v.groups, beta);
  var macs = F.conv_macs(v.c_in, v.c_out, k, k, ho, wo, v.groups, v.batch);
  var flops = F.flops(macs);
  return {outputs: {
    h_out: ho, w_out: wo, beta: beta, params: params, macs: macs, flops: flops, elem_bytes: b,
    param_bytes: F.tensor_bytes(params, b), input_bytes: F.input_bytes(v.batch, v.c_in, v.h, v.w, b),
    act_bytes: F.activation_bytes(v.batch, v.c_out, ho, wo, b), flops_per_param: flops / params}};
}
"""


def layer_cost() -> Interactive:
    """Parameters, MACs, FLOPs and memory of one 2-D convolution."""
    d1 = fm.conv_output.subs(fm.d, 1)
    return Interactive(
        name="layer_cost", title="Layer cost calculator",
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
            Output("flops_per_param", "FLOPs per parameter", "ratio"),
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
        compute=_layer_cost, js_compute=_LAYER_COST_JS,
        js_formulas={
            "effective_kernel": (fm.effective_kernel, (fm.k, fm.d)),
            "conv_output": (fm.conv_output, (fm.n, fm.k, fm.s, fm.p, fm.d)),
            "conv_params": (fm.conv_params_expr, (fm.c_in, fm.c_out, fm.k_h, fm.k_w, fm.g, fm.beta)),
            "conv_macs": (fm.conv_macs_expr,
                          (fm.c_in, fm.c_out, fm.k_h, fm.k_w, fm.h_out, fm.w_out, fm.g, fm.N)),
            "flops": (fm.flops_expr, (fm.macs_sym,)),
            "tensor_bytes": (fm.tensor_bytes_expr, (fm.numel, fm.b)),
            "input_bytes": (fm.conv_backward_cache_bytes_expr, (fm.N, fm.c_in, fm.h_in, fm.w_in, fm.b)),
            "activation_bytes": (fm.conv_activation_bytes_expr, (fm.N, fm.c_out, fm.h_out, fm.w_out, fm.b)),
        },
        data={"dtype_bytes": {t: fm.bytes_per_element(t) for t in _DTYPES}},
    )


# ---------------------------------------------------------------------------------------------
# 4. Factorization comparator
# ---------------------------------------------------------------------------------------------


def _factorization(v: dict, data) -> dict:
    ci, co, k, hw, g, r = v["c_in"], v["c_out"], v["k"], v["hw"], v["groups"], v["reduction"]

    def cost(a, b_, kk, groups=1):
        return (fm.conv_params(a, b_, kk, groups, bias=False), fm.conv_macs(a, b_, kk, hw, groups))
    std = cost(ci, co, k)
    dw, pw = cost(ci, ci, k, ci), cost(ci, co, 1)
    sep = (dw[0] + pw[0], dw[1] + pw[1])
    grp = cost(ci, co, k, g)
    if co % r:
        raise ValueError(f"bottleneck reduction {r} does not divide out_channels {co}")
    m = co // r
    parts = [cost(ci, m, 1), cost(m, m, k), cost(m, co, 1)]
    bot = (sum(x[0] for x in parts), sum(x[1] for x in parts))
    rows = [["standard", std], ["depthwise-separable", sep], [f"grouped (G={g})", grp],
            [f"bottleneck (1×1, {k}×{k}, 1×1; width {m})", bot]]
    return {"outputs": {
        "std_params": std[0], "std_macs": std[1], "sep_params": sep[0], "sep_macs": sep[1],
        "grp_params": grp[0], "grp_macs": grp[1], "bot_params": bot[0], "bot_macs": bot[1],
        "bot_width": m, "sep_ratio": fm.separable_cost_ratio(co, k),
        "grp_ratio": fm.grouped_cost_ratio(g), "bot_ratio": Fraction(bot[1], std[1])},
        "figure": [{"kind": "bars", "title": f"{ci}→{co} channels, {k}×{k} kernel, {hw}×{hw} output",
                    "series": ["parameters", "MACs"], "fmts": ["short", "short"],
                    "rows": [{"label": lab, "values": [c[0], c[1]]} for lab, c in rows]}]}


_FACTORIZATION_JS = r"""
function (v, F, DATA, fail) {
  var ci = v.c_in, co = v.c_out, k = v.k, hw = v.hw, g = v.groups, r = v.reduction;
  function cost(a, b, kk, groups) {
    if (a % groups) { fail("groups " + groups + " does not divide in_channels " + a); }
    if (b % groups) { fail("groups " + groups + " does not divide out_channels " + b); }
    return [F.conv_params(a, b, kk, kk, groups, 0), F.conv_macs(a, b, kk, kk, hw, hw, groups, 1)];
  }
  var std = cost(ci, co, k, 1), dw = cost(ci, ci, k, ci), pw = cost(ci, co, 1, 1);
  var sep = [dw[0] + pw[0], dw[1] + pw[1]], grp = cost(ci, co, k, g);
  if (co % r) { fail("bottleneck reduction " + r + " does not divide out_channels " + co); }
  var m = co / r, parts = [cost(ci, m, 1, 1), cost(m, m, k, 1), cost(m, co, 1, 1)];
  var bot = [parts[0][0] + parts[1][0] + parts[2][0], parts[0][1] + parts[1][1] + parts[2][1]];
  var rows = [["standard", std], ["depthwise-separable", sep], ["grouped (G=" + g + ")", grp],
              ["bottleneck (1×1, " + k + "×" + k + ", 1×1; width " + m + ")", bot]];
  return {outputs: {
    std_params: std[0], std_macs: std[1], sep_params: sep[0], sep_macs: sep[1],
    grp_params: grp[0], grp_macs: grp[1], bot_params: bot[0], bot_macs: bot[1], bot_width: m,
    sep_ratio: F.separable_ratio(co, k), grp_ratio: F.grouped_ratio(g), bot_ratio: bot[1] / std[1]},
    figure: [{kind: "bars", title: ci + "→" + co + " channels, " + k + "×" + k + " kernel, " + hw + "×" + hw + " output",
              series: ["parameters", "MACs"], fmts: ["short", "short"],
              rows: rows.map(function (x) { return {label: x[0], values: [x[1][0], x[1][1]]}; })}]};
}
"""


def factorization() -> Interactive:
    """Standard vs depthwise-separable vs grouped vs bottleneck convolution (no bias)."""
    return Interactive(
        name="factorization", title="Factorization comparator",
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
        compute=_factorization, js_compute=_FACTORIZATION_JS,
        js_formulas={
            "conv_params": (fm.conv_params_expr, (fm.c_in, fm.c_out, fm.k_h, fm.k_w, fm.g, fm.beta)),
            "conv_macs": (fm.conv_macs_expr,
                          (fm.c_in, fm.c_out, fm.k_h, fm.k_w, fm.h_out, fm.w_out, fm.g, fm.N)),
            "separable_ratio": (fm.separable_ratio, (fm.c_out, fm.k)),
            "grouped_ratio": (fm.grouped_ratio, (fm.g,)),
        },
    )
