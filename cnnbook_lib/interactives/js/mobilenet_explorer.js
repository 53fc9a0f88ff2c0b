// MobileNet width and resolution explorer: MobileNet v1 at a width multiplier alpha and an input
// resolution, its MACs and parameters by layer kind, the alpha^2 rho^2 rule of its pointwise layers
// (and alpha rho^2 of its depthwise ones) against the counted ratio, and the paper's accuracy.
import { fail, widget } from "./cb.js";
import { depthwise_width_resolution_ratio, width_resolution_ratio } from "./formulas.js";

const KINDS = [["first", "first convolution"], ["depthwise", "depthwise 3×3"],
  ["pointwise", "pointwise 1×1"], ["dense", "dense classifier"]];

export function compute(v, data) {
  const s = data.settings[`${v.width}/${v.resolution}`], full = data.settings["1.0/224"];
  if (!s) { fail(`no MobileNet v1 at width ${v.width} and resolution ${v.resolution}`); }
  const alpha = parseFloat(v.width), rho = parseInt(v.resolution, 10) / 224;
  const paper = data.paper[`${v.width}/${v.resolution}`];
  return {outputs: {macs: s.macs, params: s.params, alpha, rho, ratio: s.macs / full.macs,
    rule: width_resolution_ratio(alpha, rho), dw_rule: depthwise_width_resolution_ratio(alpha, rho),
    pointwise_share: s.kind_macs.pointwise / s.macs,
    paper_top1: paper ? `${paper.top1} (Table ${paper.table})` : "not published for this setting",
    paper_macs: paper ? `${paper.macs_m} M` : "—"},
  figure: [{kind: "bars", title: `MobileNet v1, α = ${v.width}, ${v.resolution}×${v.resolution}`,
    series: ["MACs", "parameters"], fmts: ["short", "short"],
    rows: KINDS.map(([k, label]) => ({label, values: [s.kind_macs[k], s.kind_params[k]]}))},
  {kind: "table", title: "counted ratio to the full network, by layer kind",
    columns: ["layer kind", "MACs ratio", "α²ρ²", "αρ²"],
    rows: KINDS.map(([k, label]) => [label, s.kind_macs[k] / full.kind_macs[k],
      width_resolution_ratio(alpha, rho), depthwise_width_resolution_ratio(alpha, rho)])}]};
}

export default widget(compute);
