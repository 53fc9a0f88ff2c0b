"""Receptive-field stack builder: field size and jump layer by layer, and the input pixels that
reach one output unit."""
from __future__ import annotations

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param

MAX_LAYERS = 6


def _padding(mode: str, k: int, d: int) -> int:
    return d * (k - 1) // 2 if mode == "same" else 0


def _rf_stack(v: dict, data) -> dict:
    layers, size = v["layers"], v["n"]
    sizes, table = [size], []
    r, j, u = 1, 1, 0
    for i in range(1, layers + 1):
        k, s, d = v[f"k{i}"], v[f"s{i}"], v[f"d{i}"]
        p = _padding(v["padding"], k, d)
        try:
            size = fm.conv_output_size(size, k, s, p, d)
        except ValueError as e:
            raise ValueError(f"layer {i}: {e}") from None
        r, j, u = fm.receptive_field_step(r, j, u, k, s, d, p)
        sizes.append(size)
        table.append([i, k, s, d, p, size, r, j])
    unit = min(v["unit"], size - 1)
    reach = [unit]                              # one axis; the 2-D set is its square
    for i in range(layers, 0, -1):
        k, s, d = v[f"k{i}"], v[f"s{i}"], v[f"d{i}"]
        p = _padding(v["padding"], k, d)
        found = set()
        for o in reach:
            for t in range(k):
                q = o * s - p + t * d
                if 0 <= q < sizes[i - 1]:
                    found.add(q)
        reach = sorted(found)
    lo = unit * j - fm.receptive_field_padding(r, u)     # first input pixel of the field
    reach_set = set(reach)
    n0 = v["n"]
    cells = []
    for a in range(n0):
        for b in range(n0):
            if a in reach_set and b in reach_set:
                cells.append([a, b, "hl"])
            elif lo <= a < lo + r and lo <= b < lo + r:
                cells.append([a, b, "dim"])
    return {"outputs": {"rf": r, "jump": j, "out_size": size, "unit_max": size - 1, "unit_sel": unit,
                        "reached": len(reach) ** 2, "first": lo},
            "figure": [
                {"kind": "table", "title": "layer by layer",
                 "columns": ["layer", "k", "s", "d", "p", "output size", "field r", "jump j"],
                 "rows": table},
                {"kind": "grid", "title": f"input {n0}×{n0}: pixels reaching output unit ({unit}, {unit})",
                 "rows": n0, "cols": n0, "cells": cells,
                 "caption": "Blue: input pixels with a path to the unit. Light blue: inside the "
                            "field's extent but skipped by dilation or cut by the border."}]}


_RF_JS = r"""
function (v, F, DATA, fail) {
  var layers = v.layers, size = v.n, sizes = [size], table = [], r = 1, j = 1, u = 0, i, t;
  function pad(k, d) { return v.padding === "same" ? Math.floor(d * (k - 1) / 2) : 0; }
  for (i = 1; i <= layers; i++) {
    var k = v["k" + i], s = v["s" + i], d = v["d" + i], p = pad(k, d), eff = F.effective_kernel(k, d);
    if (eff > size + 2 * p) {
      fail("layer " + i + ": kernel " + k + " (effective " + eff + ") is larger than padded input " +
           (size + 2 * p) + " (n=" + size + ", p=" + p + ")");
    }
    size = F.conv_output(size, k, s, p, d);
    var r2 = F.rf_size(r, j, k, d), j2 = F.rf_jump(j, s), u2 = F.rf_start(u, j, k, d, p);
    r = r2; j = j2; u = u2;
    sizes.push(size);
    table.push([i, k, s, d, p, size, r, j]);
  }
  var unit = Math.min(v.unit, size - 1), reach = [unit];
  for (i = layers; i >= 1; i--) {
    var kk = v["k" + i], ss = v["s" + i], dd = v["d" + i], pp = pad(kk, dd), found = {};
    reach.forEach(function (o) {
      for (t = 0; t < kk; t++) {
        var q = o * ss - pp + t * dd;
        if (q >= 0 && q < sizes[i - 1]) { found[q] = true; }
      }
    });
    reach = Object.keys(found).map(Number).sort(function (a, b) { return a - b; });
  }
  var lo = unit * j - F.rf_padding(r, u), n0 = v.n, cells = [], a, b;
  var inReach = {};
  reach.forEach(function (q) { inReach[q] = true; });
  for (a = 0; a < n0; a++) {
    for (b = 0; b < n0; b++) {
      if (inReach[a] && inReach[b]) { cells.push([a, b, "hl"]); }
      else if (lo <= a && a < lo + r && lo <= b && b < lo + r) { cells.push([a, b, "dim"]); }
    }
  }
  return {outputs: {rf: r, jump: j, out_size: size, unit_max: size - 1, unit_sel: unit,
                    reached: reach.length * reach.length, first: lo},
          figure: [
            {kind: "table", title: "layer by layer",
             columns: ["layer", "k", "s", "d", "p", "output size", "field r", "jump j"], rows: table},
            {kind: "grid", title: "input " + n0 + "×" + n0 + ": pixels reaching output unit (" + unit + ", " + unit + ")",
             rows: n0, cols: n0, cells: cells,
             caption: "Blue: input pixels with a path to the unit. Light blue: inside the " +
                      "field's extent but skipped by dilation or cut by the border."}]};
}
"""


def receptive_stack() -> Interactive:
    """A stack of up to six convolutions: receptive field size, jump, and reached input pixels."""
    params = [
        Param("layers", "layers", 3, 1, MAX_LAYERS, buttons=True),
        Param("n", "input size", 32, 4, 64),
        Param("padding", "padding", "same", control="select", choices=["same", "valid"]),
        Param("unit", "output unit", 3, 0, 63, max_from="unit_max"),
    ]
    defaults = {1: (3, 1), 2: (3, 2), 3: (3, 1)}
    for i in range(1, MAX_LAYERS + 1):
        k0, s0 = defaults.get(i, (3, 1))
        show = ("layers", ">=", i)
        params += [Param(f"k{i}", f"k{i}", k0, 1, 7, visible_when=show),
                   Param(f"s{i}", f"s{i}", s0, 1, 3, visible_when=show),
                   Param(f"d{i}", f"d{i}", 1, 1, 4, visible_when=show)]
    return Interactive(
        name="receptive_stack", title="Receptive-field stack builder",
        description="Square layers; 'same' padding is d(k-1)//2. Field size and jump follow the "
                    "recurrence r' = r + d(k-1) j, j' = j s.",
        params=params,
        outputs=[Output("rf", "receptive field r"), Output("jump", "jump j (input pixels)"),
                 Output("out_size", "output size"), Output("unit_sel", "output unit"),
                 Output("first", "first input pixel of its field"),
                 Output("reached", "input pixels reaching it")],
        formulas=[
            Formula("rf", "field size, one layer", "r'", fm.rf_size_step),
            Formula("jump", "jump, one layer", "j'", fm.rf_jump_step),
        ],
        compute=_rf_stack, js_compute=_RF_JS,
        js_formulas={
            "effective_kernel": (fm.effective_kernel, (fm.k, fm.d)),
            "conv_output": (fm.conv_output, (fm.n, fm.k, fm.s, fm.p, fm.d)),
            "rf_size": (fm.rf_size_step, (fm.rf_r, fm.rf_j, fm.k, fm.d)),
            "rf_jump": (fm.rf_jump_step, (fm.rf_j, fm.s)),
            "rf_start": (fm.rf_start_step, (fm.rf_u, fm.rf_j, fm.k, fm.d, fm.p)),
            "rf_padding": (fm.rf_padding_expr, (fm.rf_r, fm.rf_u)),
        },
    )
