// Effective-field viewer: the measured effective receptive field of a stack of 3x3 layers. The data
// holds one map per setting (integers, row by row, recorded by cnnbook_lib.receptive.erf_stats);
// in a kernel the widget measures the chosen setting again and sends it through "_data".
import { fail, widget } from "./cb.js";
import { rf_size } from "./formulas.js";

export const MASSES = [0.5, 0.95];

/** Fewest values (largest first) holding each share of the total, as erf_stats.mass_classes. */
export function massCounts(sorted, total) {
  return MASSES.map((m) => {
    let acc = 0, needed = 0;
    while (needed < sorted.length && acc < m * total * (1 - 1e-12)) { acc += sorted[needed]; needed++; }
    return Math.max(needed, 1);
  });
}

export function compute(v, data) {
  const map = data[`${v.depth}/${v.act}/${v.skip}`];
  if (!map) { fail("measuring this setting in the kernel…"); }
  const n = map.side, vals = map.values, depth = parseInt(v.depth, 10);
  let r = 1;
  for (let i = 0; i < depth; i++) { r = rf_size(r, 1, 3, 1); }
  const prof = new Array(n).fill(0);
  for (let a = 0; a < n; a++) { for (let b = 0; b < n; b++) { prof[b] += vals[a * n + b]; } }
  const total = prof.reduce((s, x) => s + x, 0);
  const w = prof.map((x) => x / total);
  let mean = 0;
  w.forEach((x, i) => { mean += x * i; });
  let variance = 0;
  w.forEach((x, i) => { variance += x * (i - mean) ** 2; });
  const gauss = w.map((x, i) => Math.exp(-((i - mean) ** 2) / (2 * variance)));
  const gsum = gauss.reduce((s, x) => s + x, 0);
  const sorted = [...vals].sort((a, b) => b - a);
  const [half, most] = massCounts(sorted, total);
  const t50 = sorted[half - 1], t95 = sorted[most - 1], lo = (n - r) / 2, cells = [], rows = [];
  for (let a = lo; a < lo + r; a++) {
    for (let b = lo; b < lo + r; b++) {
      const x = vals[a * n + b];
      cells.push([a, b, x >= t50 && x > 0 ? "hl" : (x >= t95 && x > 0 ? "padhl" : "dim")]);
    }
  }
  for (let b = lo; b < lo + r; b++) {
    rows.push({label: String(b - (n - 1) / 2), values: [w[b], gauss[b] / gsum]});
  }
  return {outputs: {rf: r, std: Math.sqrt(variance), half, most, share: most / (r * r)},
    figure: [
      {kind: "grid", title: `input ${n}×${n}: where the gradient of the central unit goes`,
        rows: n, cols: n, cells,
        caption: "Dark: the pixels holding half of the squared gradient; medium: 95 %; light: the " +
          "rest of the theoretical field."},
      {kind: "bars", title: "profile along one axis (summed over rows) and the Gaussian with its mean and variance",
        series: ["measured", "Gaussian"], fmts: ["ratio", "ratio"], rows}]};
}

export default widget(compute);
