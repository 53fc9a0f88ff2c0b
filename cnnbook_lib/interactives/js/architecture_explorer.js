// Architecture explorer: per-layer parameters, MACs and activation memory of one network. The data
// holds each network's summary (cnnbook_lib.analysis.summarize); in a kernel the widget traces the
// chosen network in Python and sends its summary through the "_data" trait.
import { fail, widget } from "./cb.js";

export const TOP = 25;

export function compute(v, data) {
  const net = data[v.network];
  if (!net) { fail(`tracing ${v.network} in the kernel…`); }
  let rows = net.rows;
  if (v.order === "macs") {
    rows = rows.map((row, i) => [row, i]).sort((a, b) => (b[0][3] - a[0][3]) || (a[1] - b[1]))
      .slice(0, TOP).map((x) => x[0]);
  }
  const shape = net.input.join("×");
  return {outputs: {params: net.params, macs: net.macs, flops: net.flops,
    activation_bytes: net.activation_bytes, layers: net.rows.length, input: shape},
  figure: [{kind: "bars", title: `${v.network}, input ${shape}`,
    series: ["parameters", "MACs", "activation memory"], fmts: ["short", "short", "shortbytes"],
    rows: rows.map((r) => ({label: `${r[0]} (${r[1]})`, values: [r[2], r[3], r[4]]}))}]};
}

export default widget(compute);
