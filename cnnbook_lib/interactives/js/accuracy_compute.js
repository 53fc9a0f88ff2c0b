// Accuracy against compute: torchvision's top-1 accuracy of the book's networks against their
// MACs, parameters or recorded latency (log axis), with the least-squares trend of accuracy on
// the logarithm of the metric. The data holds one record per network (cnnbook_lib.published,
// cnnbook_lib.analysis.summarize at torchvision's crop, cnnbook_lib.bench.latency's record).
import { fail, widget } from "./cb.js";

export const METRICS = {macs: "MACs per image", params: "parameters",
  latency1: "latency, one image [ms]", latency32: "latency per image in a batch of 32 [ms]"};

/** Least squares of y on log10(x): slope, intercept and correlation, summed in list order. */
export function trend(points) {
  const n = points.length;
  let sx = 0, sy = 0;
  for (const p of points) { sx += Math.log10(p.x); sy += p.y; }
  const mx = sx / n, my = sy / n;
  let sxx = 0, syy = 0, sxy = 0;
  for (const p of points) {
    const dx = Math.log10(p.x) - mx, dy = p.y - my;
    sxx += dx * dx; syy += dy * dy; sxy += dx * dy;
  }
  const slope = sxy / sxx;
  return {slope, intercept: my - slope * mx, r: sxy / Math.sqrt(sxx * syy)};
}

export function compute(v, data) {
  const shown = data.networks.filter((d) => (v.family === "all" || d.family === v.family) &&
    d[v.metric] !== null);
  if (shown.length < 3) {
    fail(`only ${shown.length} network(s) of this family have a recorded ${METRICS[v.metric]}: pick another family or metric`);
  }
  const points = shown.map((d) => ({label: d.name, x: d[v.metric], y: d.top1, hl: d.name === v.highlight}));
  const t = trend(points);
  const xs = points.map((p) => p.x);
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const at = (x) => t.intercept + t.slope * Math.log10(x);
  const h = data.networks.find((d) => d.name === v.highlight);
  if (h[v.metric] === null) {
    fail(`${h.name} has no recorded ${METRICS[v.metric]}: highlight another network`);
  }
  const outputs = {shown: shown.length, slope: t.slope, r: t.r, h_metric: h[v.metric],
    h_top1: h.top1, h_resid: h.top1 - at(h[v.metric])};
  const rows = shown.map((d) => [d.name, d[v.metric], d.top1, d.top1 - at(d[v.metric])])
    .sort((a, b) => a[1] - b[1]);
  return {outputs,
    figure: [{kind: "scatter", title: `top-1 accuracy against ${METRICS[v.metric]}`, xlog: true,
      xlabel: METRICS[v.metric] + " (log scale)", ylabel: "top-1 accuracy [%]", points,
      line: [[lo, at(lo)], [hi, at(hi)]],
      caption: "Dashed: least-squares trend of accuracy on the logarithm of the metric over the " +
        "networks shown. Orange: the highlighted network; hover a point for its name."},
    {kind: "table", title: "networks shown, by the metric",
      columns: ["network", METRICS[v.metric], "top-1 %", "points above the trend"], rows}]};
}

export default widget(compute);
