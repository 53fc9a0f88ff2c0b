// Receptive-field stack builder: field size and jump layer by layer, and the exact set of input
// pixels with a path to one output unit (holes from dilation included).
import { fail, widget } from "./cb.js";
import { conv_output, effective_kernel, rf_jump, rf_padding, rf_size, rf_start } from "./formulas.js";

export function compute(v) {
  const layer = (i) => {
    const k = v["k" + i], s = v["s" + i], d = v["d" + i];
    return {k, s, d, p: v.padding === "same" ? Math.floor(d * (k - 1) / 2) : 0};
  };
  let size = v.n, r = 1, j = 1, u = 0;
  const sizes = [size], table = [];
  for (let i = 1; i <= v.layers; i++) {
    const {k, s, d, p} = layer(i), eff = effective_kernel(k, d);
    if (eff > size + 2 * p) {
      fail(`layer ${i}: kernel ${k} (effective ${eff}) is larger than padded input ${size + 2 * p} (n=${size}, p=${p})`);
    }
    size = conv_output(size, k, s, p, d);
    [r, j, u] = [rf_size(r, j, k, d), rf_jump(j, s), rf_start(u, j, k, d, p)];
    sizes.push(size);
    table.push([i, k, s, d, p, size, r, j]);
  }
  const unit = Math.min(v.unit, size - 1);
  let reach = [unit];                                   // one axis; the 2-D set is its square
  for (let i = v.layers; i >= 1; i--) {
    const {k, s, d, p} = layer(i), found = new Set();
    for (const o of reach) {
      for (let t = 0; t < k; t++) {
        const q = o * s - p + t * d;
        if (q >= 0 && q < sizes[i - 1]) { found.add(q); }
      }
    }
    reach = [...found].sort((a, b) => a - b);
  }
  const lo = unit * j - rf_padding(r, u), n0 = v.n, inReach = new Set(reach), cells = [];
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n0; b++) {
      if (inReach.has(a) && inReach.has(b)) { cells.push([a, b, "hl"]); }
      else if (lo <= a && a < lo + r && lo <= b && b < lo + r) { cells.push([a, b, "dim"]); }
    }
  }
  return {outputs: {rf: r, jump: j, out_size: size, unit_max: size - 1, unit_sel: unit,
    reached: reach.length ** 2, first: lo},
  figure: [
    {kind: "table", title: "layer by layer",
      columns: ["layer", "k", "s", "d", "p", "output size", "field r", "jump j"], rows: table},
    {kind: "grid", title: `input ${n0}×${n0}: pixels reaching output unit (${unit}, ${unit})`,
      rows: n0, cols: n0, cells,
      caption: "Blue: input pixels with a path to the unit. Light blue: inside the field's extent " +
        "but skipped by dilation or cut by the border."}]};
}

export default widget(compute);
