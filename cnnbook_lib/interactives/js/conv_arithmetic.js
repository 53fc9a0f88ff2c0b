// Convolution arithmetic: the input, padding and output grids of a (transposed) convolution, the
// cells one output reads, and the output-size formula with the numbers substituted.
import { fail, widget } from "./cb.js";
import { conv_output, conv_transpose_output, effective_kernel } from "./formulas.js";

/** The input rows (or columns) that output position o reads, before padding is removed. */
function convTaps(o, k, s, d) {
  return Array.from({length: k}, (_, t) => o * s + t * d);
}

/** The input positions that contribute to output position o of a transposed convolution. */
function transposedSources(o, n, k, s, p, d) {
  const found = [];
  for (let t = 0; t < k; t++) {
    const q = o + p - t * d;
    if (q >= 0 && q % s === 0 && q / s < n) { found.push(q / s); }
  }
  return found.sort((a, b) => a - b);
}

export function compute(v) {
  const {n, k, s, p, d} = v, eff = effective_kernel(k, d), conv = v.mode === "convolution";
  let out, outputs, cells = [], title, caption;
  if (conv) {
    if (eff > n + 2 * p) {
      fail(`kernel ${k} (effective ${eff}) is larger than padded input ${n + 2 * p} (n=${n}, p=${p})`);
    }
    out = conv_output(n, k, s, p, d);
  } else {
    const op = v.output_padding;
    if (op >= s && op >= d) { fail(`output_padding ${op} must be smaller than either stride ${s} or dilation ${d}`); }
    out = conv_transpose_output(n, k, s, p, op, d);
    if (out < 1) {
      fail(`padding ${p} is too large: transposed output size would be ${out} (n=${n}, k=${k}, s=${s}, d=${d})`);
    }
  }
  const i = Math.min(v.out_i, out - 1), j = Math.min(v.out_j, out - 1);
  if (conv) {
    const rows = convTaps(i, k, s, d), cols = convTaps(j, k, s, d), size = n + 2 * p;
    let padTaps = 0;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const pad = r < p || r >= p + n || c < p || c >= p + n;
        const hl = rows.includes(r) && cols.includes(c);
        if (pad && hl) { padTaps++; }
        const cls = pad && hl ? "padhl" : hl ? "hl" : pad ? "pad" : null;
        if (cls) { cells.push([r, c, cls]); }
      }
    }
    outputs = {out, eff, padded: size, taps: k * k, pad_taps: padTaps,
      window: `rows ${rows[0] - p} to ${rows[k - 1] - p}, columns ${cols[0] - p} to ${cols[k - 1] - p} (step ${d})`};
    title = `input ${n}×${n}, padding ${p} (grey)`;
    caption = "Blue: the input cells the selected output cell reads (light blue: padding zeros).";
  } else {
    const rows = transposedSources(i, n, k, s, p, d), cols = transposedSources(j, n, k, s, p, d);
    for (const r of rows) { for (const c of cols) { cells.push([r, c, "hl"]); } }
    outputs = {out, eff, taps: rows.length * cols.length};
    title = `input ${n}×${n}`;
    caption = "Blue: the input cells that contribute to the selected output cell.";
  }
  outputs.sel_max = out - 1;
  outputs.cell = `(${i}, ${j})`;
  const side = conv ? n + 2 * p : n;
  return {outputs, figure: [
    {kind: "grid", title, rows: side, cols: side, cells, caption},
    {kind: "grid", title: `output ${out}×${out} (click a cell)`, rows: out, cols: out,
      cells: [[i, j, "sel"]], click: "out_i,out_j"}]};
}

export default widget(compute);
