// Factorization comparator: a standard convolution against its depthwise-separable, grouped and
// bottleneck replacements, in parameters and MACs (biases left out).
import { fail, widget } from "./cb.js";
import { conv_macs, conv_params, grouped_ratio, separable_ratio } from "./formulas.js";

export function compute(v) {
  const {c_in: ci, c_out: co, k, hw, groups: g, reduction: r} = v;
  function cost(a, b, kk, groups) {
    if (a % groups) { fail(`groups ${groups} does not divide in_channels ${a}`); }
    if (b % groups) { fail(`groups ${groups} does not divide out_channels ${b}`); }
    return [conv_params(a, b, kk, kk, groups, 0), conv_macs(a, b, kk, kk, hw, hw, groups, 1)];
  }
  const sum = (parts) => [0, 1].map((i) => parts.reduce((t, x) => t + x[i], 0));
  const std = cost(ci, co, k, 1), sep = sum([cost(ci, ci, k, ci), cost(ci, co, 1, 1)]);
  const grp = cost(ci, co, k, g);
  if (co % r) { fail(`bottleneck reduction ${r} does not divide out_channels ${co}`); }
  const m = co / r, bot = sum([cost(ci, m, 1, 1), cost(m, m, k, 1), cost(m, co, 1, 1)]);
  const rows = [["standard", std], ["depthwise-separable", sep], [`grouped (G=${g})`, grp],
    [`bottleneck (1×1, ${k}×${k}, 1×1; width ${m})`, bot]];
  return {outputs: {
    std_params: std[0], std_macs: std[1], sep_params: sep[0], sep_macs: sep[1],
    grp_params: grp[0], grp_macs: grp[1], bot_params: bot[0], bot_macs: bot[1], bot_width: m,
    sep_ratio: separable_ratio(co, k), grp_ratio: grouped_ratio(g), bot_ratio: bot[1] / std[1]},
  figure: [{kind: "bars", title: `${ci}→${co} channels, ${k}×${k} kernel, ${hw}×${hw} output`,
    series: ["parameters", "MACs"], fmts: ["short", "short"],
    rows: rows.map(([label, c]) => ({label, values: [c[0], c[1]]}))}]};
}

export default widget(compute);
