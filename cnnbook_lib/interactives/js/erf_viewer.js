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
  const top = sorted[0], lo = (n - r) / 2, x = [], measured = [], fitted = [];
  for (let b = 0; b < n; b++) { x.push(b - (n - 1) / 2); measured.push(w[b]); fitted.push(gauss[b] / gsum); }
  return {outputs: {rf: r, std: Math.sqrt(variance), half, most, share: most / (r * r)},
    figure: [
      {kind: "heatmap", title: `input ${n}×${n}: squared gradient of the central unit`,
        rows: n, cols: n, values: vals.map((a) => a / top), box: [lo, lo, r],
        scale: "share of the largest value",
        caption: "Colour: the squared gradient at each input pixel, as a share of the largest. " +
          "Orange square: the theoretical field."},
      {kind: "lines", title: "profile along one axis (the map summed over rows) and the Gaussian " +
        "with its mean and variance", x, xlabel: "offset from the centre [pixels]",
        ylabel: "share of the gradient",
        series: [{name: "measured", values: measured}, {name: "Gaussian", values: fitted}]}]};
}

export default widget(compute);
