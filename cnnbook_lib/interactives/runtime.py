"""The JavaScript runtime of the static interactives, and its Python twin.

Both halves do the same generic work, so that one declaration renders identically in a kernel
(Python) and in the static book (JavaScript):

* ``coerce``: read raw control values, check each against its declared range or choices;
* ``evaluate``: run the interactive's compute step and catch the explanations it raises;
* ``render_view``: the HTML of the outputs table, the formulas with numbers substituted and the
  figure parts (``grid``, ``bars``, ``table``).

The tests run the JavaScript with node and assert that it produces the same strings as the
Python functions below. No formula appears here: formulas reach the JavaScript compiled from
sympy (:mod:`cnnbook_lib.interactives.jsgen`).
"""
from __future__ import annotations

import html
import math
import re
from fractions import Fraction

# ---------------------------------------------------------------------------------------------
# Python half
# ---------------------------------------------------------------------------------------------


class Explanation(ValueError):
    """An impossible combination of controls, explained in plain words."""


def esc(s) -> str:
    """``s`` as text, HTML-escaped (quotes included)."""
    return html.escape(str(s), quote=True)


def _round(v, scale: int) -> int:
    return math.floor(v * scale + 0.5 + 1e-9)


def _commas(v) -> str:
    return f"{int(v):,}"


def _fixed(q: int, digits: int) -> str:
    sc = 10 ** digits
    return f"{q // sc:,}.{q % sc:0{digits}d}"


def _human(x, base: int, units: list[str]) -> str:
    i = 0
    while i < len(units) - 1 and x >= base ** (i + 1):
        i += 1
    if i == 0:
        return _commas(x) + (" " + units[0] if units[0] else "")
    return _fixed(_round(x / base ** i, 100), 2) + " " + units[i]


def is_integer(v) -> bool:
    """Whether ``v`` is an int (not a bool) or an integral float."""
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())


def fmt(v, kind: str = "int") -> str:
    """Format a displayed value; the JavaScript ``fmt`` returns the same string."""
    if kind == "text" or isinstance(v, str):
        return str(v)
    if kind == "int":
        return _commas(v) if is_integer(v) else _fixed(_round(v, 1000), 3)
    if kind == "bytes":
        if v < 1024:
            return _commas(v) + " B"
        return _commas(v) + " B (" + _human(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB"]) + ")"
    if kind == "shortbytes":
        return _human(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB"])
    if kind == "short":
        return _human(v, 1000, ["", "k", "M", "G", "T"])
    if kind == "ratio":
        return _fixed(_round(v, 1000), 3)
    raise ValueError(f"unknown format {kind!r}")


def num_attr(v) -> str:
    """Canonical text of a number for ``data-value`` attributes (same in JavaScript)."""
    if isinstance(v, str):
        return esc(v)
    if is_integer(v):
        return str(int(v))
    q = _round(v, 1000000)
    return f"{q // 1000000}.{q % 1000000:06d}"


def normalize(v):
    """Fractions and integer floats to plain ints/floats, recursively (JSON-ready)."""
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else float(v)
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [normalize(x) for x in v]
    return v


def when(cond, values: dict) -> bool:
    """Whether a visibility condition ``(name, op, ref)`` holds for ``values``."""
    if not cond:
        return True
    name, op, ref = cond
    if name not in values:
        return False
    if op == "==":
        return values[name] == ref
    if op == ">=":
        return isinstance(values[name], int) and values[name] >= ref
    raise ValueError(f"unknown condition operator {op!r}")


_INT = re.compile(r"^-?\d+$")


def coerce(spec: dict, raw: dict) -> tuple[dict, str | None]:
    """Parse raw control values (strings or ints) against the declared parameters."""
    values: dict = {}
    for p in spec["params"]:
        r = raw.get(p["name"], p["default"])
        s = str(r).strip()
        if p["kind"] == "int":
            if not _INT.match(s):
                return values, f"{p['label']} must be a whole number, got '{s}'"
            x = int(s)
            if x < p["min"] or x > p["max"]:
                return values, f"{p['label']} must be between {p['min']} and {p['max']}, got {x}"
            values[p["name"]] = x
        else:
            if s not in [c[0] for c in p["choices"]]:
                return values, f"{p['label']} must be one of {', '.join(c[0] for c in p['choices'])}, got '{s}'"
            values[p["name"]] = s
    return values, None


def evaluate(spec: dict, compute, data, raw: dict) -> dict:
    """Coerce raw control values and compute the outputs, or the error to show."""
    values, error = coerce(spec, raw)
    if error is None:
        try:
            res = compute(dict(values), data)
        except ValueError as e:
            error = str(e)
        else:
            return {"values": values, "error": None, "outputs": normalize(res["outputs"]),
                    "figure": normalize(res.get("figure", []))}
    return {"values": values, "error": error, "outputs": {}, "figure": []}


def _fill(template: list, mapping: dict | None) -> str:
    mapping = mapping or {}
    return "".join(seg if isinstance(seg, str) else str(mapping.get(seg[0], seg[0]))
                   for seg in template)


def _subs_values(f: dict, res: dict) -> dict:
    out = {}
    for sym, ref in f["subs"].items():
        if isinstance(ref, int):
            out[sym] = ref
        elif ref in res["values"]:
            out[sym] = res["values"][ref]
        elif ref in res["outputs"]:
            out[sym] = num_attr(res["outputs"][ref])
    return out


def _pct(v, m) -> str:
    q = _round(v / m * 100, 10) if m else 0
    return f"{q // 10}.{q % 10}"


def _grid(part: dict) -> str:
    rows, cols = part["rows"], part["cols"]
    cs = max(5, min(22, 300 // max(rows, cols)))
    w, h = cols * cs, rows * cs
    click = f' data-click="{esc(part["click"])}"' if part.get("click") else ""
    o = (f'<svg class="cb-grid" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
         f'viewBox="0 0 {w} {h}" data-cs="{cs}"{click} role="img" aria-label="{esc(part["title"])}">'
         f'<rect class="cb-bg" x="0" y="0" width="{w}" height="{h}"/>')
    for r, c, cls in part["cells"]:
        o += (f'<rect class="cb-{cls}" x="{c * cs}" y="{r * cs}" width="{cs}" height="{cs}" '
              f'data-r="{r}" data-c="{c}"/>')
    d = "".join(f"M0 {y * cs}H{w}" for y in range(rows + 1))
    d += "".join(f"M{x * cs} 0V{h}" for x in range(cols + 1))
    return o + f'<path class="cb-lines" d="{d}"/></svg>'


def _bars(part: dict) -> str:
    series = part["series"]
    maxes = [max([row["values"][i] for row in part["rows"]] + [0]) for i in range(len(series))]
    o = '<table class="cb-bars"><tr><th></th>'
    o += "".join(f"<th>{esc(s)}</th>" for s in series) + "</tr>"
    for row in part["rows"]:
        o += f'<tr><td class="cb-blabel">{esc(row["label"])}</td>'
        for i, v in enumerate(row["values"]):
            text = fmt(v, part["fmts"][i])
            o += (f'<td><div class="cb-bar cb-s{i}" style="width:{_pct(v, maxes[i])}%" '
                  f'data-value="{num_attr(v)}" title="{esc(text)}"></div>'
                  f'<span class="cb-bval">{esc(text)}</span></td>')
        o += "</tr>"
    return o + "</table>"


def _table(part: dict) -> str:
    o = '<table class="cb-table"><tr>' + "".join(f"<th>{esc(c)}</th>" for c in part["columns"])
    o += "</tr>"
    for row in part["rows"]:
        o += "<tr>" + "".join(f"<td>{esc(fmt(v, 'int'))}</td>" for v in row) + "</tr>"
    return o + "</table>"


_PARTS = {"grid": _grid, "bars": _bars, "table": _table}


def render_view(spec: dict, res: dict) -> str:
    """HTML of the outputs, formulas and figure for one evaluation (identical in JavaScript)."""
    o = ""
    if res["error"]:
        o += f'<div class="cb-error" role="alert">{esc(res["error"])}</div>'
    o += '<table class="cb-outputs">'
    fmts = {}
    for out in spec["outputs"]:
        fmts[out["key"]] = out["fmt"]
        if not when(out["when"], res["values"]):
            continue
        has = not res["error"] and out["key"] in res["outputs"]
        v = res["outputs"].get(out["key"])
        o += (f'<tr data-out="{out["key"]}"><th>{esc(out["label"])}</th>'
              f'<td data-value="{num_attr(v) if has else ""}">{esc(fmt(v, out["fmt"])) if has else "—"}</td></tr>')
    o += "</table>"
    if res["error"]:
        return o
    o += '<div class="cb-formulas">'
    for f in spec["formulas"]:
        if not when(f["when"], res["values"]) or f["key"] not in res["outputs"]:
            continue
        o += (f'<div class="cb-formula" data-formula="{f["key"]}"><span class="cb-flabel">'
              f'{esc(f["label"])}</span> <code>{esc(f["lhs"] + " = " + _fill(f["template"], None))}</code>')
        if f["subs"]:
            o += f' = <code>{esc(_fill(f["template"], _subs_values(f, res)))}</code>'
        o += f' = <b>{esc(fmt(res["outputs"][f["key"]], fmts.get(f["key"], "int")))}</b></div>'
    o += '</div><div class="cb-figure">'
    for part in res["figure"]:
        o += f'<div class="cb-part" data-part="{part["kind"]}"><div class="cb-ptitle">{esc(part["title"])}</div>'
        o += _PARTS[part["kind"]](part)
        if part.get("caption"):
            o += f'<div class="cb-caption">{esc(part["caption"])}</div>'
        o += "</div>"
    return o + "</div>"


# ---------------------------------------------------------------------------------------------
# JavaScript half (same functions, same strings)
# ---------------------------------------------------------------------------------------------

JS_CORE = r"""
var CB = (function () {
  "use strict";
  function Explanation(message) { this.message = message; this.cbUser = true; }
  function fail(message) { throw new Explanation(message); }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/[<]/g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }
  function round(v, scale) { return Math.floor(v * scale + 0.5 + 1e-9); }
  function commas(v) {
    var t = Math.trunc(v), s = String(Math.abs(t)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (t < 0 ? "-" : "") + s;
  }
  function pad(x, n) { var s = String(x); while (s.length < n) { s = "0" + s; } return s; }
  function fixed(q, digits) {
    var sc = Math.pow(10, digits), i = Math.floor(q / sc);
    return commas(i) + "." + pad(q - i * sc, digits);
  }
  function human(x, base, units) {
    var i = 0;
    while (i < units.length - 1 && x >= Math.pow(base, i + 1)) { i++; }
    if (i === 0) { return commas(x) + (units[0] ? " " + units[0] : ""); }
    return fixed(round(x / Math.pow(base, i), 100), 2) + " " + units[i];
  }
  function fmt(v, kind) {
    if (kind === "text" || typeof v === "string") { return String(v); }
    if (kind === "int") { return Number.isInteger(v) ? commas(v) : fixed(round(v, 1000), 3); }
    if (kind === "bytes") {
      if (v < 1024) { return commas(v) + " B"; }
      return commas(v) + " B (" + human(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB"]) + ")";
    }
    if (kind === "shortbytes") { return human(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB"]); }
    if (kind === "short") { return human(v, 1000, ["", "k", "M", "G", "T"]); }
    if (kind === "ratio") { return fixed(round(v, 1000), 3); }
    throw new Error("unknown format " + kind);
  }
  function numAttr(v) {
    if (typeof v === "string") { return esc(v); }
    if (Number.isInteger(v)) { return String(v); }
    var q = round(v, 1000000), i = Math.floor(q / 1000000);
    return String(i) + "." + pad(q - i * 1000000, 6);
  }
  function when(cond, values) {
    if (!cond) { return true; }
    if (!(cond[0] in values)) { return false; }
    if (cond[1] === "==") { return values[cond[0]] === cond[2]; }
    if (cond[1] === ">=") { return Number.isInteger(values[cond[0]]) && values[cond[0]] >= cond[2]; }
    throw new Error("unknown condition operator " + cond[1]);
  }
  function coerce(spec, raw) {
    var values = {};
    for (var i = 0; i < spec.params.length; i++) {
      var p = spec.params[i];
      var r = (p.name in raw) ? raw[p.name] : p["default"];
      var s = String(r).trim();
      if (p.kind === "int") {
        if (!/^-?\d+$/.test(s)) { return [values, p.label + " must be a whole number, got '" + s + "'"]; }
        var x = parseInt(s, 10);
        if (x < p.min || x > p.max) {
          return [values, p.label + " must be between " + p.min + " and " + p.max + ", got " + x];
        }
        values[p.name] = x;
      } else {
        var names = p.choices.map(function (c) { return c[0]; });
        if (names.indexOf(s) < 0) {
          return [values, p.label + " must be one of " + names.join(", ") + ", got '" + s + "'"];
        }
        values[p.name] = s;
      }
    }
    return [values, null];
  }
  function evaluate(spec, compute, F, DATA, raw) {
    var c = coerce(spec, raw), values = c[0], error = c[1];
    if (error === null) {
      try {
        var copy = {}; for (var key in values) { copy[key] = values[key]; }
        var res = compute(copy, F, DATA, fail);
        return {values: values, error: null, outputs: res.outputs, figure: res.figure || []};
      } catch (e) {
        if (!(e instanceof Explanation)) { throw e; }
        error = e.message;
      }
    }
    return {values: values, error: error, outputs: {}, figure: []};
  }
  function fill(template, mapping) {
    mapping = mapping || {};
    return template.map(function (seg) {
      return typeof seg === "string" ? seg : String(seg[0] in mapping ? mapping[seg[0]] : seg[0]);
    }).join("");
  }
  function subsValues(f, res) {
    var out = {};
    Object.keys(f.subs).forEach(function (sym) {
      var ref = f.subs[sym];
      if (typeof ref === "number") { out[sym] = ref; }
      else if (ref in res.values) { out[sym] = res.values[ref]; }
      else if (ref in res.outputs) { out[sym] = numAttr(res.outputs[ref]); }
    });
    return out;
  }
  function pct(v, m) {
    var q = m ? round(v / m * 100, 10) : 0;
    return String(Math.floor(q / 10)) + "." + String(q % 10);
  }
  function grid(part) {
    var rows = part.rows, cols = part.cols;
    var cs = Math.max(5, Math.min(22, Math.floor(300 / Math.max(rows, cols))));
    var w = cols * cs, h = rows * cs, i;
    var click = part.click ? ' data-click="' + esc(part.click) + '"' : "";
    var o = ['<svg class="cb-grid" xmlns="http://www.w3.org/2000/svg" width="' + w + '" height="' + h +
      '" viewBox="0 0 ' + w + " " + h + '" data-cs="' + cs + '"' + click + ' role="img" aria-label="' +
      esc(part.title) + '"><rect class="cb-bg" x="0" y="0" width="' + w + '" height="' + h + '"/>'];
    for (i = 0; i < part.cells.length; i++) {
      var cell = part.cells[i];
      o.push('<rect class="cb-' + cell[2] + '" x="' + cell[1] * cs + '" y="' + cell[0] * cs + '" width="' +
        cs + '" height="' + cs + '" data-r="' + cell[0] + '" data-c="' + cell[1] + '"/>');
    }
    var d = "";
    for (i = 0; i <= rows; i++) { d += "M0 " + i * cs + "H" + w; }
    for (i = 0; i <= cols; i++) { d += "M" + i * cs + " 0V" + h; }
    return o.join("") + '<path class="cb-lines" d="' + d + '"/></svg>';
  }
  function bars(part) {
    var maxes = part.series.map(function (s, i) {
      return part.rows.reduce(function (m, row) { return Math.max(m, row.values[i]); }, 0);
    });
    var o = '<table class="cb-bars"><tr><th></th>';
    o += part.series.map(function (s) { return "<th>" + esc(s) + "</th>"; }).join("") + "</tr>";
    part.rows.forEach(function (row) {
      o += '<tr><td class="cb-blabel">' + esc(row.label) + "</td>";
      row.values.forEach(function (v, i) {
        var text = fmt(v, part.fmts[i]);
        o += '<td><div class="cb-bar cb-s' + i + '" style="width:' + pct(v, maxes[i]) + '%" data-value="' +
          numAttr(v) + '" title="' + esc(text) + '"></div><span class="cb-bval">' + esc(text) + "</span></td>";
      });
      o += "</tr>";
    });
    return o + "</table>";
  }
  function table(part) {
    var o = '<table class="cb-table"><tr>' + part.columns.map(function (c) { return "<th>" + esc(c) + "</th>"; }).join("");
    o += "</tr>";
    part.rows.forEach(function (row) {
      o += "<tr>" + row.map(function (v) { return "<td>" + esc(fmt(v, "int")) + "</td>"; }).join("") + "</tr>";
    });
    return o + "</table>";
  }
  var PARTS = {grid: grid, bars: bars, table: table};
  function renderView(spec, res) {
    var o = "", fmts = {};
    if (res.error) { o += '<div class="cb-error" role="alert">' + esc(res.error) + "</div>"; }
    o += '<table class="cb-outputs">';
    spec.outputs.forEach(function (out) {
      fmts[out.key] = out.fmt;
      if (!when(out.when, res.values)) { return; }
      var has = !res.error && (out.key in res.outputs), v = res.outputs[out.key];
      o += '<tr data-out="' + out.key + '"><th>' + esc(out.label) + '</th><td data-value="' +
        (has ? numAttr(v) : "") + '">' + (has ? esc(fmt(v, out.fmt)) : "—") + "</td></tr>";
    });
    o += "</table>";
    if (res.error) { return o; }
    o += '<div class="cb-formulas">';
    spec.formulas.forEach(function (f) {
      if (!when(f.when, res.values) || !(f.key in res.outputs)) { return; }
      o += '<div class="cb-formula" data-formula="' + f.key + '"><span class="cb-flabel">' + esc(f.label) +
        "</span> <code>" + esc(f.lhs + " = " + fill(f.template, null)) + "</code>";
      if (Object.keys(f.subs).length) { o += " = <code>" + esc(fill(f.template, subsValues(f, res))) + "</code>"; }
      o += " = <b>" + esc(fmt(res.outputs[f.key], fmts[f.key] || "int")) + "</b></div>";
    });
    o += '</div><div class="cb-figure">';
    res.figure.forEach(function (part) {
      o += '<div class="cb-part" data-part="' + part.kind + '"><div class="cb-ptitle">' + esc(part.title) + "</div>";
      o += PARTS[part.kind](part);
      if (part.caption) { o += '<div class="cb-caption">' + esc(part.caption) + "</div>"; }
      o += "</div>";
    });
    return o + "</div>";
  }
  return {fail: fail, fmt: fmt, numAttr: numAttr, when: when, coerce: coerce, evaluate: evaluate,
          renderView: renderView};
})();
"""

JS_DOM = r"""
CB.mount = function (root, spec, F, DATA, compute) {
  "use strict";
  var view = root.querySelector(".cb-view");
  function control(name) { return root.querySelector('[name="' + name + '"]'); }
  function raw() {
    var r = {};
    spec.params.forEach(function (p) { r[p.name] = control(p.name).value; });
    return r;
  }
  function update() {
    var t0 = performance.now();
    var rawValues = raw(), parsed = {};
    spec.params.forEach(function (p) {
      parsed[p.name] = p.kind === "int" && /^-?\d+$/.test(String(rawValues[p.name]).trim())
        ? parseInt(rawValues[p.name], 10) : rawValues[p.name];
    });
    var res = CB.evaluate(spec, compute, F, DATA, rawValues), clamped = false;
    spec.params.forEach(function (p) {
      var box = root.querySelector('[data-param="' + p.name + '"]');
      box.hidden = !CB.when(p.visible_when, parsed);
      if (p.max_from && !res.error && (p.max_from in res.outputs)) {
        control(p.name).max = String(res.outputs[p.max_from]);
        clamped = clamped || control(p.name).value !== rawValues[p.name];
      }
      var out = box.querySelector("output");
      if (out) { out.textContent = control(p.name).value; }
    });
    if (clamped) { res = CB.evaluate(spec, compute, F, DATA, raw()); }  // a maximum moved a value
    view.innerHTML = CB.renderView(spec, res);
    root.cnnbookResult = res;
    root.cnnbookUpdateMs = performance.now() - t0;
  }
  function set(name, value) {
    var el = control(name);
    el.value = String(value);
    el.dispatchEvent(new Event("input", {bubbles: true}));
  }
  root.addEventListener("input", update);
  root.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-step]");
    if (button) {
      var el = control(button.getAttribute("data-target"));
      var v = parseInt(el.value, 10) + parseInt(button.getAttribute("data-step"), 10);
      set(el.name, Math.max(parseInt(el.min, 10), Math.min(parseInt(el.max, 10), v)));
      return;
    }
    var svg = e.target.closest("svg[data-click]");
    if (svg) {
      var box = svg.getBoundingClientRect(), cs = parseFloat(svg.getAttribute("data-cs"));
      var scale = box.width / parseFloat(svg.getAttribute("width"));
      var names = svg.getAttribute("data-click").split(",");
      set(names[0], Math.floor((e.clientY - box.top) / scale / cs));
      set(names[1], Math.floor((e.clientX - box.left) / scale / cs));
    }
  });
  root.cnnbookUpdate = update;
  update();
};
"""

CSS = """
.cnnbook-interactive{font-family:system-ui,sans-serif;font-size:14px;border:1px solid #ccd;border-radius:6px;padding:10px;margin:1em 0;max-width:100%;overflow-x:auto}
.cnnbook-interactive [hidden]{display:none!important}
.cnnbook-interactive .cb-title{font-weight:600;margin-bottom:4px}
.cnnbook-interactive .cb-desc{color:#444;margin-bottom:6px}
.cnnbook-interactive .cb-controls{display:flex;flex-wrap:wrap;gap:6px 14px;margin-bottom:8px}
.cnnbook-interactive .cb-control{display:inline-flex;align-items:center;gap:4px}
.cnnbook-interactive .cb-control input[type=number]{width:6em}
.cnnbook-interactive .cb-control output{min-width:2em;font-variant-numeric:tabular-nums}
.cnnbook-interactive .cb-error{background:#fff3cd;border:1px solid #e0b000;padding:6px;margin:6px 0;border-radius:4px}
.cnnbook-interactive table{border-collapse:collapse;margin:6px 0}
.cnnbook-interactive th,.cnnbook-interactive td{padding:1px 8px;text-align:left;font-variant-numeric:tabular-nums}
.cnnbook-interactive .cb-outputs th{font-weight:normal;color:#444}
.cnnbook-interactive .cb-formula{margin:3px 0}
.cnnbook-interactive .cb-figure{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.cnnbook-interactive .cb-ptitle{font-weight:600;font-size:13px}
.cnnbook-interactive .cb-caption{font-size:12px;color:#555;max-width:320px}
.cnnbook-interactive .cb-bg{fill:#f4f6fa}
.cnnbook-interactive .cb-lines{stroke:#9aa3b5;stroke-width:1;fill:none}
.cnnbook-interactive .cb-pad{fill:#d9d9d9}
.cnnbook-interactive .cb-hl{fill:#3b7dd8}
.cnnbook-interactive .cb-padhl{fill:#8fb0e0}
.cnnbook-interactive .cb-sel{fill:#e0622a}
.cnnbook-interactive .cb-dim{fill:#cfe0f7}
.cnnbook-interactive svg[data-click]{cursor:pointer}
.cnnbook-interactive .cb-bars td{padding:1px 4px;min-width:9em;position:relative}
.cnnbook-interactive .cb-bars .cb-blabel{min-width:0;white-space:nowrap;font-size:12px}
.cnnbook-interactive .cb-bar{height:12px;display:inline-block;vertical-align:middle;margin-right:4px;max-width:7em}
.cnnbook-interactive .cb-s0{background:#3b7dd8}.cnnbook-interactive .cb-s1{background:#e0622a}.cnnbook-interactive .cb-s2{background:#3aa55d}
.cnnbook-interactive .cb-bval{font-size:11px;color:#333}
"""
