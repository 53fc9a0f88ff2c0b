// The shared view of every interactive: parsing of control values, number formatting, the
// outputs table, formulas with numbers substituted, figure parts (grid, bars, table), the controls
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

function round(v, scale) {
  return Math.floor(v * scale + 0.5 + 1e-9);
}

function commas(v) {
  const t = Math.trunc(v);
  return (t < 0 ? "-" : "") + String(Math.abs(t)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function fixed(q, digits) {
  const sc = 10 ** digits, i = Math.floor(q / sc);
  return commas(i) + "." + String(q - i * sc).padStart(digits, "0");
}

function human(x, base, units) {
  let i = 0;
  while (i < units.length - 1 && x >= base ** (i + 1)) { i++; }
  if (i === 0) { return commas(x) + (units[0] ? " " + units[0] : ""); }
  return fixed(round(x / base ** i, 100), 2) + " " + units[i];
}

const BYTES = ["B", "KiB", "MiB", "GiB", "TiB"];

/** A displayed value as text: "int" (73,856 or 0.125), "bytes", "shortbytes", "short", "ratio", "text". */
export function fmt(v, kind = "int") {
  if (kind === "text" || typeof v === "string") { return String(v); }
  switch (kind) {
    case "int": return Number.isInteger(v) ? commas(v) : fixed(round(v, 1000), 3);
    case "bytes": return v < 1024 ? commas(v) + " B" : commas(v) + " B (" + human(v, 1024, BYTES) + ")";
    case "shortbytes": return human(v, 1024, BYTES);
    case "short": return human(v, 1000, ["", "k", "M", "G", "T"]);
    case "ratio": return fixed(round(v, 1000), 3);
    default: throw new Error("unknown format " + kind);
  }
}

/** Canonical text of a number for data-value attributes: integers as is, else 6 decimals. */
export function numAttr(v) {
  if (typeof v === "string") { return esc(v); }
  if (Number.isInteger(v)) { return String(v); }
  const q = round(v, 1e6), i = Math.floor(q / 1e6);
  return String(i) + "." + String(q - i * 1e6).padStart(6, "0");
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

function pct(v, m) {
  const q = m ? round(v / m * 100, 10) : 0;
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

const PARTS = {grid, bars, table, scatter};

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

function controlHtml(p, value) {
  let o = `<label class="cb-control" data-param="${esc(p.name)}"><span>${esc(p.label)}</span> `;
  if (p.control === "select") {
    o += `<select name="${esc(p.name)}">` + p.choices.map(([v, t]) =>
      `<option value="${esc(v)}"${v === String(value) ? " selected" : ""}>${esc(t)}</option>`).join("") + "</select>";
  } else {
    o += `<input type="${p.control}" name="${esc(p.name)}" min="${p.min}" max="${p.max}" step="${p.step}" value="${esc(value)}">`;
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
