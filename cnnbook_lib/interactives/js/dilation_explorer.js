// Dilation-rate explorer: the exact set of input pixels with a path to the top unit of a stack
// of stride-1 dilated layers, the holes inside its field, and the rule of Wang et al. (2018).
import { widget } from "./cb.js";
import { hdc_step, rf_size } from "./formulas.js";

/** Fields wider than this are drawn along one axis, WIDE pixels per row. */
export const WIDE = 81;

export function compute(v) {
  const k = v.k, rates = [];
  for (let i = 1; i <= v.layers; i++) { rates.push(v["d" + i]); }
  let r = 1;
  for (const d of rates) { r = rf_size(r, 1, k, d); }
  // sizes of the maps from the input (the field exactly) to the top (one unit)
  const sizes = [r];
  for (const d of rates) { sizes.push(sizes[sizes.length - 1] - d * (k - 1)); }
  let counts = [1];                                     // paths along one axis, from the top down
  for (let i = rates.length - 1; i >= 0; i--) {
    const d = rates[i], below = new Array(sizes[i]).fill(0);
    counts.forEach((c, o) => { for (let t = 0; t < k; t++) { below[o + d * t] += c; } });
    counts = below;
  }
  const seen = counts.filter((c) => c > 0).length, most = Math.max(...counts);
  const outputs = {rf: r, reached: seen * seen, holes: r * r - seen * seen, paths: most * most};
  let verdict = "one layer: the rule needs two or more";
  if (rates.length >= 2) {
    let m = rates[rates.length - 1];
    for (let i = rates.length - 2; i >= 1; i--) {
      if (i === 1) { outputs.m3 = m; }
      m = hdc_step(m, rates[i]);
    }
    outputs.m2 = m;
    verdict = m <= k ? `M2 = ${m} ≤ K = ${k}: no holes if r1 = 1` : `M2 = ${m} > K = ${k}: not promised`;
    if (m <= k && rates[0] > 1) { verdict += ` (here r1 = ${rates[0]})`; }
  }
  outputs.verdict = verdict;
  if (r > WIDE) {                       // too many cells for a square: one axis, WIDE per row
    const cells = counts.map((c, i) => [Math.floor(i / WIDE), i % WIDE, c > 0 ? "hl" : "sel"]);
    return {outputs, figure: [
      {kind: "grid", title: `one axis of the field of the top unit: ${r} pixels, ${WIDE} per row, ` +
        `rates ${rates.join(", ")}`, rows: Math.ceil(r / WIDE), cols: WIDE, cells,
        caption: "The field is too wide to draw as a square; its 2-D mask is this axis times " +
          "itself. Blue: pixels with a path to the unit. Orange: holes."}]};
  }
  const n = r + 2, cells = [];
  for (let a = 0; a < r; a++) {
    for (let b = 0; b < r; b++) {
      cells.push([a + 1, b + 1, counts[a] > 0 && counts[b] > 0 ? "hl" : "sel"]);
    }
  }
  return {outputs, figure: [
    {kind: "grid", title: `field of the top unit: ${r}×${r} pixels, rates ${rates.join(", ")}`,
      rows: n, cols: n, cells,
      caption: "Blue: input pixels with a path to the unit. Orange: holes, inside the field but " +
        "reached by no path. Grey border: outside the field."}]};
}

export default widget(compute);
