// Channel-shuffle explorer: the channel connectivity of a stack of grouped layers, with or
// without ShuffleNet's channel shuffle (view the channels as groups x (C/G), transpose) between
// consecutive layers.
import { fail, widget } from "./cb.js";
import { grouped_ratio } from "./formulas.js";

function connectivity(c, g, layers, shuffle) {
  const n = c / g;
  // reach[o]: the set of input channels with a path to channel o, as an array of booleans
  let reach = Array.from({length: c}, (_, o) => Array.from({length: c}, (_, i) => i === o));
  for (let layer = 0; layer < layers; layer++) {
    if (layer > 0 && shuffle) {        // position p = i G + h holds channel h n + i
      reach = reach.map((_, p) => reach[(p % g) * n + Math.floor(p / g)]);
    }
    reach = reach.map((_, o) => {       // output o of a grouped layer reads its group's inputs
      const first = Math.floor(o / n) * n, row = Array(c).fill(false);
      for (let q = first; q < first + n; q++) {
        reach[q].forEach((on, i) => { if (on) { row[i] = true; } });
      }
      return row;
    });
  }
  return reach;
}

export function compute(v) {
  const {channels: c, groups: g, layers} = v, shuffle = v.shuffle === "on";
  if (c % g) { fail(`groups ${g} does not divide in_channels ${c}`); }
  const reach = connectivity(c, g, layers, shuffle);
  const counts = reach.map((row) => row.filter(Boolean).length);
  const full = counts.every((k) => k === c);
  let needed = "never: one channel per group, a shuffle only permutes them";
  for (let m = 1; m <= 2 * c; m++) {
    if (connectivity(c, g, m, true).every((row) => row.every(Boolean))) {
      needed = String(m);
      break;
    }
  }
  const cells = [];
  reach.forEach((row, o) => row.forEach((on, i) => { if (on) { cells.push([o, i, "hl"]); } }));
  return {outputs: {per_group: c / g, reach_min: Math.min(...counts), reach_max: Math.max(...counts),
    full: full ? "yes" : "no", needed, macs_ratio: grouped_ratio(g)},
  figure: [{kind: "grid", title: `${layers} grouped layer${layers > 1 ? "s" : ""}, ${c} channels in ` +
      `${g} group${g > 1 ? "s" : ""}, shuffle ${v.shuffle}: output channel (row) × input channel (column)`,
    rows: c, cols: c, cells,
    caption: "Blue: the output channel depends on the input channel. Without shuffles the " +
      "pattern stays block diagonal; with them it fills once C/G ≥ G."}]};
}

export default widget(compute);
