// The shared view of every interactive: parsing of control values, number formatting, the
// outputs table, formulas with numbers substituted, figure parts (grid, bars, table, scatter, heatmap, lines), the controls
// and their wiring to an anywidget model.
//
// An interactive module imports what it needs from here and exports
//   compute(values, data) -> {outputs: {...}, figure: [...]}   (calls fail(message) when impossible)
//   default {render({model, el})}                               (anywidget's front-end contract)
// Its declaration (parameters, outputs, formulas, title) arrives as the model's "_spec" trait and
// its embedded data as "_data"; each parameter is a trait of its own and the evaluation is written
// back to the "result" trait. In the static book a small model (createModel) stands in for the
// kernel's. Formulas come from ./formulas.js, generated from sympy: none is written here.

/** An impossible combination of controls, explained in plain words. */
export class Explanation extends Error {}

/** Stop the compute step with an explanation shown to the reader. */
export function fail(message) {
  throw new Explanation(message);
}

export function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
}

// Numbers. A value reads as JavaScript writes it (String(v), the shortest decimal that reads back
// as v), rounded half up to the digits shown: 999.9995 reads 1,000.000 and 1.0005 reads 1.001, at
// any magnitude (the digits are rounded as digits, not through v * 1000). Units move up when the
// rounding reaches the next one (999,999 reads 1.00 M, not 1,000.00 k). A negative value reads as
// its sign followed by its magnitude formatted as the positive value is ("-8.004", "-1.50 KiB");
// a value whose text shows no nonzero digit reads without a sign ("0.000" for -0.0004, never
// "-0.000"), and -0.0005 reads -0.001 as 0.0005 reads 0.001.

/** Round v to a whole number of 1/scale, half up (for drawing: widths, coordinates). */
function round(v, scale) {
  return Math.floor(v * scale + 0.5 + 1e-9);
}

/** Digits of a whole number with thousands separators: "1234567" to "1,234,567". */
function group(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** The whole part of v >= 0 with thousands separators, every digit (1e21 too). */
function commas(v) {
  const t = Math.trunc(v);
  return group(Number.isSafeInteger(t) ? String(t) : BigInt(t).toString());
}

/** 10 ** k for k = 0..22, each exact in a double. */
const POW10 = Array.from({length: 23}, (_, k) => Number("1e" + k));

/**
 * a >= 0 as written, times 10 ** shift, rounded half up to `digits` decimals:
 * [whole part (a Number, or a BigInt past 2^50), the decimals as text]. rounded(1.0005, 3) is
 * [1, "001"]. Away from a tie a double's product decides (its error, and the distance from a to
 * its written digits, are below t 2^-52); near one, and for large values, the written digits do.
 */
function rounded(a, digits, shift = 0) {
  const k = digits + shift;
  if (Math.abs(k) <= 22) {
    const t = k >= 0 ? a * POW10[k] : a / POW10[-k], f = t - Math.floor(t);
    if (t < 2 ** 50 && Math.abs(f - 0.5) > t * 2 ** -48 + 2 ** -40) {
      const q = Math.floor(t) + (f > 0.5 ? 1 : 0), whole = Math.floor(q / POW10[digits]);
      return [whole, String(q - whole * POW10[digits]).padStart(digits, "0")];
    }
  }
  const [mantissa, exponent] = a.toExponential().split("e");    // shortest digits, as String(a)
  const ds = mantissa.replace(".", "");
  const s = Number(exponent) - (ds.length - 1) + k;              // a 10^k = ds 10^s
  let n = BigInt(ds);
  if (s >= 0) { n *= 10n ** BigInt(s); } else { const d = 10n ** BigInt(-s); n = (n + d / 2n) / d; }
  const sc = 10n ** BigInt(digits);
  return [n / sc, String(n % sc).padStart(digits, "0")];
}

/** a >= 0 with `digits` decimals, with thousands separators or none: fixed(8.004, 3) is "8.004". */
function fixed(a, digits, separators = true) {
  const [whole, decimals] = rounded(a, digits);
  return (separators ? group(whole.toString()) : whole.toString()) + "." + decimals;
}

/**
 * x >= 0 in the largest unit it reaches (units[i] is base ** i), with 2 decimals; below base a
 * whole number, cut (999.9 reads "999", 0.5 B reads "0 B"). Base 1000 moves the decimal point of
 * the written digits; base 1024 divides, which is exact in binary.
 */
function human(x, base, units) {
  let i = 0;
  while (i < units.length - 1 && x >= base ** (i + 1)) { i++; }
  if (i === 0) { return commas(x) + (units[0] ? " " + units[0] : ""); }
  const part = (j) => (base === 1000 ? rounded(x, 2, -3 * j) : rounded(x / base ** j, 2));
  let [whole, decimals] = part(i);
  if (whole >= BigInt(base) && i < units.length - 1) { i++; [whole, decimals] = part(i); }
  return group(whole.toString()) + "." + decimals + " " + units[i];
}

/** The sign of v in front of text (v's magnitude as text), unless the text shows only zeros. */
function signed(v, text) {
  return v < 0 && /[1-9]/.test(text) ? "-" + text : text;
}

const BYTES = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Each format of a magnitude a >= 0. */
const FORMATS = {
  int: (a) => (Number.isInteger(a) ? commas(a) : fixed(a, 3)),
  bytes: (a) => (a < 1024 ? commas(a) + " B" : commas(a) + " B (" + human(a, 1024, BYTES) + ")"),
  shortbytes: (a) => human(a, 1024, BYTES),
  short: (a) => human(a, 1000, ["", "k", "M", "G", "T"]),
  ratio: (a) => fixed(a, 3),
};

/**
 * A displayed value as text: "int" (73,856 or 0.125), "bytes" (1,536 B (1.50 KiB)), "shortbytes"
 * (1.50 KiB), "short" (3.20 M), "ratio" (0.125), "text". Signs and rounding: see Numbers above;
 * NaN and infinities read as String(v).
 */
export function fmt(v, kind = "int") {
  if (kind === "text" || typeof v === "string") { return String(v); }
  if (!Object.prototype.hasOwnProperty.call(FORMATS, kind)) { throw new Error("unknown format " + kind); }
  return Number.isFinite(v) ? signed(v, FORMATS[kind](Math.abs(v))) : String(v);
}

/** Canonical text of a number for data-value attributes: integers in full, else 6 decimals. */
export function numAttr(v) {
  if (typeof v === "string") { return esc(v); }
  if (Number.isInteger(v)) { return Number.isSafeInteger(v) ? String(v) : BigInt(v).toString(); }
  if (!Number.isFinite(v)) { return String(v); }
  return signed(v, fixed(Math.abs(v), 6, false));
}

/** Whether a visibility condition [name, "==" or ">=", value] holds for parsed values. */
export function when(cond, values) {
  if (!cond) { return true; }
  const [name, op, ref] = cond;
  if (!(name in values)) { return false; }
  if (op === "==") { return values[name] === ref; }
  if (op === ">=") { return Number.isInteger(values[name]) && values[name] >= ref; }
  throw new Error("unknown condition operator " + op);
}

/** Parse raw control values (strings or numbers) against the declared parameters. */
export function coerce(spec, raw) {
  const values = {};
  for (const p of spec.params) {
    const s = String(p.name in raw ? raw[p.name] : p.default).trim();
    if (p.kind === "int") {
      if (!/^-?\d+$/.test(s)) { return [values, `${p.label} must be a whole number, got '${s}'`]; }
      const x = parseInt(s, 10);
      if (x < p.min || x > p.max) { return [values, `${p.label} must be between ${p.min} and ${p.max}, got ${x}`]; }
      values[p.name] = x;
    } else {
      const names = p.choices.map((c) => c[0]);
      if (!names.includes(s)) { return [values, `${p.label} must be one of ${names.join(", ")}, got '${s}'`]; }
      values[p.name] = s;
    }
  }
  return [values, null];
}

/** Coerce the raw values and run compute: {values, error, outputs, figure}. */
export function evaluate(spec, compute, raw, data) {
  const [values, error] = coerce(spec, raw);
  if (error !== null) { return {values, error, outputs: {}, figure: []}; }
  try {
    const res = compute({...values}, data);
    return {values, error: null, outputs: res.outputs, figure: res.figure || []};
  } catch (e) {
    if (!(e instanceof Explanation)) { throw e; }
    return {values, error: e.message, outputs: {}, figure: []};
  }
}

// ---------------------------------------------------------------------------------------------
// The view: outputs, formulas, figure parts (HTML strings, so node can check them too)
// ---------------------------------------------------------------------------------------------

function fill(template, mapping) {
  return template.map((seg) => (typeof seg === "string" ? seg
    : String(mapping && seg[0] in mapping ? mapping[seg[0]] : seg[0]))).join("");
}

function subsValues(f, res) {
  const out = {};
  for (const [sym, ref] of Object.entries(f.subs)) {
    if (typeof ref === "number") { out[sym] = ref; }
    else if (ref in res.values) { out[sym] = res.values[ref]; }
    else if (ref in res.outputs) { out[sym] = numAttr(res.outputs[ref]); }
  }
  return out;
}

/** v as a percentage of m > 0 to one decimal, for a bar's width (none for v <= 0). */
function pct(v, m) {
  const q = m > 0 && v > 0 ? round(v / m * 100, 10) : 0;
  return Math.floor(q / 10) + "." + (q % 10);
}

/** A grid of square cells; part.cells lists [row, column, class]; part.click names two params. */
export function grid(part) {
  const {rows, cols} = part;
  const cs = Math.max(5, Math.min(22, Math.floor(300 / Math.max(rows, cols))));
  const w = cols * cs, h = rows * cs;
  const click = part.click ? ` data-click="${esc(part.click)}"` : "";
  const o = [`<svg class="cb-grid" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" ` +
    `viewBox="0 0 ${w} ${h}" data-cs="${cs}"${click} role="img" aria-label="${esc(part.title)}">` +
    `<rect class="cb-bg" x="0" y="0" width="${w}" height="${h}"/>`];
  for (const [r, c, cls] of part.cells) {
    o.push(`<rect class="cb-${cls}" x="${c * cs}" y="${r * cs}" width="${cs}" height="${cs}" data-r="${r}" data-c="${c}"/>`);
  }
  let d = "";
  for (let i = 0; i <= rows; i++) { d += `M0 ${i * cs}H${w}`; }
  for (let i = 0; i <= cols; i++) { d += `M${i * cs} 0V${h}`; }
  return o.join("") + `<path class="cb-lines" d="${d}"/></svg>`;
}

/** Horizontal bars, one column per series, each scaled to its series' maximum. */
export function bars(part) {
  const maxes = part.series.map((s, i) => part.rows.reduce((m, row) => Math.max(m, row.values[i]), 0));
  let o = '<table class="cb-bars"><tr><th></th>' + part.series.map((s) => `<th>${esc(s)}</th>`).join("") + "</tr>";
  for (const row of part.rows) {
    o += `<tr><td class="cb-blabel">${esc(row.label)}</td>`;
    row.values.forEach((v, i) => {
      const text = fmt(v, part.fmts[i]);
      o += `<td><div class="cb-bar cb-s${i}" style="width:${pct(v, maxes[i])}%" data-value="${numAttr(v)}" ` +
        `title="${esc(text)}"></div><span class="cb-bval">${esc(text)}</span></td>`;
    });
    o += "</tr>";
  }
  return o + "</table>";
}

/** A plain table of numbers. */
export function table(part) {
  let o = '<table class="cb-table"><tr>' + part.columns.map((c) => `<th>${esc(c)}</th>`).join("") + "</tr>";
  for (const row of part.rows) {
    o += "<tr>" + row.map((v) => `<td>${esc(fmt(v, "int"))}</td>`).join("") + "</tr>";
  }
  return o + "</table>";
}

/**
 * A scatter plot (SVG): part.points lists {label, x, y, hl}; part.xlog puts x on a log scale;
 * part.line is an optional [[x0, y0], [x1, y1]] drawn dashed; part.xlabel, part.ylabel name the axes.
 */
export function scatter(part) {
  const W = 520, H = 300, L = 46, R = 12, T = 10, B = 36;
  const c1 = (v) => round(v, 10) / 10;                       // coordinates to 0.1 px
  const tx = (x) => (part.xlog ? Math.log10(x) : x);
  const xs = part.points.map((q) => tx(q.x)), ys = part.points.map((q) => q.y);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const padx = (x1 - x0) * 0.05, pady = (y1 - y0) * 0.08;
  [x0, x1, y0, y1] = [x0 - padx, x1 + padx, y0 - pady, y1 + pady];
  const px = (x) => L + (tx(x) - x0) / (x1 - x0) * (W - L - R);
  const py = (y) => T + (y1 - y) / (y1 - y0) * (H - T - B);
  const o = [`<svg class="cb-scatter" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(part.title)}">`,
    `<path class="cb-axis" d="M${L} ${T}V${H - B}H${W - R}"/>`];
  const xticks = [];
  if (part.xlog) {
    for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) { xticks.push(10 ** e); }
  } else {
    const step = 10 ** Math.floor(Math.log10((x1 - x0) / 2));
    for (let v = Math.ceil(x0 / step) * step; v <= x1; v += step) { xticks.push(v); }
  }
  for (const v of xticks) {
    o.push(`<text class="cb-tick" x="${c1(px(v))}" y="${H - B + 14}" text-anchor="middle">${esc(fmt(v, "short"))}</text>`);
  }
  const ystep = 10 ** Math.floor(Math.log10((y1 - y0) / 2)) * ((y1 - y0) / 10 ** Math.floor(Math.log10(y1 - y0)) < 3 ? 0.5 : 1);
  for (let v = Math.ceil(y0 / ystep) * ystep; v <= y1; v += ystep) {
    o.push(`<text class="cb-tick" x="${L - 4}" y="${c1(py(v) + 4)}" text-anchor="end">${esc(String(round(v, 100) / 100))}</text>`);
  }
  o.push(`<text class="cb-tick" x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle">${esc(part.xlabel)}</text>`,
    `<text class="cb-tick" x="12" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(T + H - B) / 2})">${esc(part.ylabel)}</text>`);
  if (part.line) {
    const [[a, b], [c, d]] = part.line;
    o.push(`<path class="cb-trend" d="M${c1(px(a))} ${c1(py(b))}L${c1(px(c))} ${c1(py(d))}"/>`);
  }
  for (const q of part.points) {
    const cx = c1(px(q.x)), cy = c1(py(q.y));
    o.push(`<circle class="${q.hl ? "cb-pt cb-pthl" : "cb-pt"}" cx="${cx}" cy="${cy}" r="${q.hl ? 5 : 3.5}"` +
      ` data-x="${numAttr(q.x)}" data-y="${numAttr(q.y)}"><title>${esc(q.label)}</title></circle>`);
    if (q.hl || part.points.length <= 12) {
      o.push(`<text class="cb-plabel" x="${cx + 5}" y="${cy - 5}">${esc(q.label)}</text>`);
    }
  }
  return o.join("") + "</svg>";
}

const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

/** The viridis colour of t in [0, 1] (linear between five stops), as rgb(). */
export function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i, c = VIRIDIS[i].map((a, j) => Math.round(a + f * (VIRIDIS[i + 1][j] - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * A heat map (SVG) with its colour scale: part.values holds rows × cols numbers in [0, 1], row by
 * row; part.box = [row, col, size] outlines a square; part.scale names the colour bar.
 */
export function heatmap(part) {
  const {rows, cols} = part, cs = Math.max(4, Math.min(18, Math.floor(300 / Math.max(rows, cols))));
  const w = cols * cs, h = rows * cs, bx = w + 14, W = w + 110;
  const o = [`<svg class="cb-heat" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" ` +
    `viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(part.title)}">`];
  part.values.forEach((v, i) => {
    o.push(`<rect x="${(i % cols) * cs}" y="${Math.floor(i / cols) * cs}" width="${cs}" height="${cs}" fill="${viridis(v)}"/>`);
  });
  if (part.box) {
    const [r, c, n] = part.box;
    o.push(`<rect class="cb-hbox" x="${c * cs}" y="${r * cs}" width="${n * cs}" height="${n * cs}"/>`);
  }
  for (let k = 0; k < 20; k++) {
    o.push(`<rect x="${bx}" y="${h - (k + 1) * h / 20}" width="14" height="${h / 20 + 0.5}" fill="${viridis((k + 0.5) / 20)}"/>`);
  }
  for (const t of [0, 0.5, 1]) {
    o.push(`<text class="cb-tick" x="${bx + 18}" y="${Math.min(h - 2, Math.max(10, h - t * h + 4))}">${t}</text>`);
  }
  o.push(`<text class="cb-tick" x="${bx + 44}" y="${h / 2}" text-anchor="middle" transform="rotate(90 ${bx + 44} ${h / 2})">${esc(part.scale)}</text>`);
  return o.join("") + "</svg>";
}

/** Line plot (SVG): part.x, part.series = [{name, values}], part.xlabel, part.ylabel. */
export function lines(part) {
  const W = 420, H = 240, L = 50, R = 10, T = 24, B = 36, x = part.x;
  const y1 = Math.max(...part.series.flatMap((s) => s.values)) * 1.08 || 1;
  const px = (v) => L + (v - x[0]) / (x[x.length - 1] - x[0] || 1) * (W - L - R);
  const py = (v) => T + (1 - v / y1) * (H - T - B);
  const c1 = (v) => round(v, 10) / 10;
  const o = [`<svg class="cb-lines-plot" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(part.title)}">`,
    `<path class="cb-axis" d="M${L} ${T}V${H - B}H${W - R}"/>`];
  const step = Math.max(1, Math.ceil((x[x.length - 1] - x[0]) / 8));
  for (let v = Math.ceil(x[0] / step) * step; v <= x[x.length - 1]; v += step) {
    o.push(`<text class="cb-tick" x="${c1(px(v))}" y="${H - B + 14}" text-anchor="middle">${v}</text>`);
  }
  for (const f of [0, 0.5, 1]) {
    o.push(`<text class="cb-tick" x="${L - 4}" y="${c1(py(f * y1 / 1.08) + 4)}" text-anchor="end">${fmt(f * y1 / 1.08, "ratio")}</text>`);
  }
  o.push(`<text class="cb-tick" x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle">${esc(part.xlabel)}</text>`,
    `<text class="cb-tick" x="12" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(T + H - B) / 2})">${esc(part.ylabel)}</text>`);
  part.series.forEach((s, i) => {
    const d = s.values.map((v, j) => `${j ? "L" : "M"}${c1(px(x[j]))} ${c1(py(v))}`).join("");
    o.push(`<path class="cb-line cb-s${i}" d="${d}"/>`,
      `<text class="cb-tick cb-ls${i}" x="${L + 8 + i * 150}" y="14">— ${esc(s.name)}</text>`);
  });
  return o.join("") + "</svg>";
}

const PARTS = {grid, bars, table, scatter, heatmap, lines};

/** HTML of one evaluation: the error (if any), the outputs, the formulas, the figure parts. */
export function renderView(spec, res) {
  let o = res.error ? `<div class="cb-error" role="alert">${esc(res.error)}</div>` : "";
  const fmts = {};
  o += '<table class="cb-outputs">';
  for (const out of spec.outputs) {
    fmts[out.key] = out.fmt;
    if (!when(out.when, res.values)) { continue; }
    const has = !res.error && out.key in res.outputs, v = res.outputs[out.key];
    o += `<tr data-out="${out.key}"><th>${esc(out.label)}</th><td data-value="${has ? numAttr(v) : ""}">` +
      `${has ? esc(fmt(v, out.fmt)) : "—"}</td></tr>`;
  }
  o += "</table>";
  if (res.error) { return o; }
  o += '<div class="cb-formulas">';
  for (const f of spec.formulas) {
    if (!when(f.when, res.values) || !(f.key in res.outputs)) { continue; }
    o += `<div class="cb-formula" data-formula="${f.key}"><span class="cb-flabel">${esc(f.label)}</span> ` +
      `<code>${esc(f.lhs + " = " + fill(f.template, null))}</code>`;
    if (Object.keys(f.subs).length) { o += ` = <code>${esc(fill(f.template, subsValues(f, res)))}</code>`; }
    o += ` = <b>${esc(fmt(res.outputs[f.key], fmts[f.key] || "int"))}</b></div>`;
  }
  o += '</div><div class="cb-figure">';
  for (const part of res.figure) {
    o += `<div class="cb-part" data-part="${part.kind}"><div class="cb-ptitle">${esc(part.title)}</div>` +
      `<div class="cb-scroll">${PARTS[part.kind](part)}</div>`;
    if (part.caption) { o += `<div class="cb-caption">${esc(part.caption)}</div>`; }
    o += "</div>";
  }
  return o + "</div>";
}

// ---------------------------------------------------------------------------------------------
// Controls and the model
// ---------------------------------------------------------------------------------------------

// On each control, data-lm-suppress-shortcuts: in JupyterLab, keys pressed on a focused control
// (arrow keys on a slider or a menu) go to the control, not to the notebook's command-mode
// shortcuts (ArrowUp would select the cell above). JupyterLab looks for it on the key's target.
const KEYS = 'data-lm-suppress-shortcuts="true"';

function controlHtml(p, value) {
  let o = `<label class="cb-control" data-param="${esc(p.name)}"><span>${esc(p.label)}</span> `;
  if (p.control === "select") {
    o += `<select name="${esc(p.name)}" ${KEYS}>` + p.choices.map(([v, t]) =>
      `<option value="${esc(v)}"${v === String(value) ? " selected" : ""}>${esc(t)}</option>`).join("") + "</select>";
  } else {
    o += `<input type="${p.control}" name="${esc(p.name)}" min="${p.min}" max="${p.max}" step="${p.step}" value="${esc(value)}" ${KEYS}>`;
    if (p.control === "range") {
      o += `<output>${esc(value)}</output>`;
      if (p.buttons) {
        o += `<button type="button" data-step="-${p.step}" data-target="${esc(p.name)}" aria-label="fewer">−</button>` +
          `<button type="button" data-step="${p.step}" data-target="${esc(p.name)}" aria-label="more">+</button>`;
      }
    }
  }
  return o + "</label>";
}

/**
 * A model for pages without a kernel, with the part of anywidget's model API the views use:
 * get, set, on/off("change:name"), save_changes (nothing to save), send (nothing to send to).
 */
export function createModel(state) {
  const values = {...state}, handlers = {};
  return {
    get: (key) => values[key],
    set(key, value) {
      if (values[key] === value) { return; }
      values[key] = value;
      for (const fn of handlers["change:" + key] || []) { fn(); }
    },
    on(event, fn) { (handlers[event] = handlers[event] || []).push(fn); },
    off(event, fn) { handlers[event] = (handlers[event] || []).filter((f) => f !== fn && fn !== undefined); },
    save_changes() {},
    send() {},
  };
}

/**
 * Draw the controls and view of one interactive into el and keep them, the model's traits and the
 * "result" trait in step. Returns the clean-up function anywidget calls when the view goes away.
 */
export function mount(model, el, compute) {
  const spec = model.get("_spec");
  el.classList.add("cnnbook-interactive");
  el.setAttribute("data-cnnbook-interactive", spec.name);
  if (spec.minutes) { el.setAttribute("data-minutes", String(spec.minutes)); }
  el.innerHTML = `<div class="cb-title">${esc(spec.title)}</div>` +
    (spec.description ? `<div class="cb-desc">${esc(spec.description)}</div>` : "") +
    '<div class="cb-controls">' + spec.params.map((p) => controlHtml(p, model.get(p.name))).join("") +
    '</div><div class="cb-view" aria-live="polite"></div>';
  const view = el.querySelector(".cb-view");
  const control = (name) => el.querySelector(`[name="${name}"]`);
  const raw = () => Object.fromEntries(spec.params.map((p) => [p.name, control(p.name).value]));
  let busy = false;

  function update() {
    const t0 = performance.now();
    let rawValues = raw(), res = evaluate(spec, compute, rawValues, model.get("_data"));
    const parsed = Object.fromEntries(spec.params.map((p) => {   // for visibility: ints where they parse
      const s = String(rawValues[p.name]).trim();
      return [p.name, p.kind === "int" && /^-?\d+$/.test(s) ? parseInt(s, 10) : s];
    }));
    let moved = false;
    for (const p of spec.params) {
      const box = el.querySelector(`[data-param="${p.name}"]`), c = control(p.name);
      box.hidden = !when(p.visible_when, parsed);
      if (p.max_from && !res.error && p.max_from in res.outputs) {
        c.max = String(res.outputs[p.max_from]);
        moved = moved || c.value !== rawValues[p.name];            // a smaller maximum moved a value
      }
      const out = box.querySelector("output");
      if (out) { out.textContent = c.value; }
    }
    if (moved) { rawValues = raw(); res = evaluate(spec, compute, rawValues, model.get("_data")); }
    view.innerHTML = renderView(spec, res);
    busy = true;
    try {                                   // valid control values and the result go to the model
      if (!res.error || Object.keys(res.values).length === spec.params.length) {
        for (const p of spec.params) { model.set(p.name, res.values[p.name]); }
      }
      model.set("result", res);
      model.save_changes();
    } finally { busy = false; }
    el.cnnbookResult = res;
    el.cnnbookUpdateMs = performance.now() - t0;
  }

  function fromModel() {                    // a trait set from Python (w.k = 5) or new data
    if (busy) { return; }
    for (const p of spec.params) {
      const c = control(p.name), v = model.get(p.name);
      if (v !== undefined && c.value !== String(v)) { c.value = String(v); }
    }
    update();
  }

  function set(name, value) {
    const c = control(name);
    c.value = String(value);
    c.dispatchEvent(new Event("input", {bubbles: true}));
  }

  el.addEventListener("input", update);
  el.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-step]");
    if (button) {
      const c = control(button.getAttribute("data-target"));
      const v = parseInt(c.value, 10) + parseInt(button.getAttribute("data-step"), 10);
      set(c.name, Math.max(parseInt(c.min, 10), Math.min(parseInt(c.max, 10), v)));
      return;
    }
    const svg = e.target.closest("svg[data-click]");
    if (svg) {
      const box = svg.getBoundingClientRect(), cs = parseFloat(svg.getAttribute("data-cs"));
      const scale = box.width / parseFloat(svg.getAttribute("width"));
      const [rowParam, colParam] = svg.getAttribute("data-click").split(",");
      set(rowParam, Math.floor((e.clientY - box.top) / scale / cs));
      set(colParam, Math.floor((e.clientX - box.left) / scale / cs));
    }
  });
  const events = spec.params.map((p) => "change:" + p.name).concat(["change:_data"]);
  for (const ev of events) { model.on(ev, fromModel); }
  el.cnnbookUpdate = update;
  update();
  return () => { for (const ev of events) { model.off(ev, fromModel); } };
}

/** The anywidget front end of an interactive whose compute step is compute. */
export function widget(compute) {
  return {render: ({model, el}) => mount(model, el, compute)};
}
