"""The declarative :class:`Interactive` and its two renderings.

An interactive is declared once: its parameters (:class:`Param`), the values it shows
(:class:`Output`), the formulas it shows with numbers substituted (:class:`Formula`), a compute
step written twice over the *same* formulas (``compute`` in Python calls the numeric functions of
:mod:`cnnbook_lib.formulas`; ``js_compute`` calls JavaScript compiled from their sympy
expressions, passed in ``js_formulas``), and optional embedded ``data``.

It then renders

* live, as an ipywidgets UI (:meth:`Interactive.widget`), recomputed in Python on every change;
* static, as self-contained HTML + JavaScript (:meth:`Interactive.to_html`): no external
  script, no network, updating on the controls' ``input`` events.

Displaying the object in a notebook (``_repr_mimebundle_``) gives both: the widget view for a
running kernel and ``text/html`` for the built book.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import sympy as sp

from . import runtime
from .jsgen import formula_template, js_functions

Cond = tuple  # (param name, "==" or ">=", value)


@dataclass
class Param:
    """One control. ``control`` is ``"range"``, ``"number"`` (integers) or ``"select"``."""

    name: str
    label: str
    default: Any
    min: int | None = None
    max: int | None = None
    step: int = 1
    control: str = "range"
    choices: Sequence = ()            # select: values, or (value, text) pairs
    visible_when: Cond | None = None  # shown only when the condition holds
    max_from: str | None = None       # an output key whose value becomes this control's maximum
    buttons: bool = False             # range: add "-" and "+" buttons

    def __post_init__(self):
        if self.control not in ("range", "number", "select"):
            raise ValueError(f"control must be range, number or select, got {self.control!r}")
        if self.control == "select":
            self.choices = [tuple(map(str, c)) if isinstance(c, (tuple, list)) else (str(c), str(c))
                            for c in self.choices]
            if str(self.default) not in [c[0] for c in self.choices]:
                raise ValueError(f"default {self.default!r} of {self.name} is not a choice")
            self.default = str(self.default)
        elif not (self.min <= self.default <= self.max):
            raise ValueError(f"default {self.default} of {self.name} outside [{self.min}, {self.max}]")

    @property
    def kind(self) -> str:
        """Value type of the control: ``"str"`` for a select, else ``"int"``."""
        return "str" if self.control == "select" else "int"

    def spec(self) -> dict:
        """The parameter as JSON-ready data."""
        return {"name": self.name, "label": self.label, "kind": self.kind, "default": self.default,
                "min": self.min, "max": self.max, "step": self.step, "control": self.control,
                "choices": [list(c) for c in self.choices], "visible_when": self.visible_when,
                "max_from": self.max_from}


@dataclass
class Output:
    """A displayed value: ``key`` in the compute result, format ``int``, ``bytes``, ``ratio``..."""

    key: str
    label: str
    fmt: str = "int"
    when: Cond | None = None

    def spec(self) -> dict:
        """The output as JSON-ready data."""
        return {"key": self.key, "label": self.label, "fmt": self.fmt, "when": self.when}


@dataclass
class Formula:
    """A formula shown as text, then with numbers substituted, then its value (output ``key``).

    ``subs`` maps each symbol name of ``expr`` to a parameter name, an output key or a number.
    """

    key: str
    label: str
    lhs: str
    expr: sp.Expr
    subs: dict[str, str | int] = field(default_factory=dict)
    when: Cond | None = None

    def spec(self) -> dict:
        """The formula as JSON-ready data, with its template for substitution."""
        return {"key": self.key, "label": self.label, "lhs": self.lhs,
                "template": formula_template(self.expr), "subs": dict(self.subs), "when": self.when}




class Interactive:
    """One interactive, declared once and rendered live (ipywidgets) or static (HTML + JS).

    ``compute(values, data) -> {"outputs": {...}, "figure": [...]}`` runs in Python and raises
    ``ValueError`` with a plain explanation for impossible combinations; ``js_compute`` is the
    source of a JavaScript function ``(v, F, DATA, fail)`` returning the same structure, where
    ``F`` holds the functions compiled from ``js_formulas`` (name -> (sympy expr, argument
    symbols)) and ``fail(message)`` raises an explanation. ``data`` (a value, or a function called
    once when first needed) is embedded as JSON in the static page.
    """

    def __init__(self, name: str, title: str, params: Sequence[Param], outputs: Sequence[Output],
                 compute: Callable[[dict, Any], dict], js_compute: str,
                 js_formulas: dict[str, tuple[sp.Expr, Sequence[sp.Symbol]]] | None = None,
                 formulas: Sequence[Formula] = (), data: Any = None, description: str = "",
                 live_compute: Callable[[dict, Any], dict] | None = None):
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names in {name}: {names}")
        self.name, self.title, self.description = name, title, description
        self.params, self.outputs, self.formulas = list(params), list(outputs), list(formulas)
        self.compute, self.js_compute = compute, js_compute
        self.live_compute = live_compute or compute
        self.js_formulas = dict(js_formulas or {})
        self._data = data
        self._data_ready = not callable(data)

    # -- declaration ------------------------------------------------------------------------
    @property
    def data(self):
        """The embedded data (a callable is computed on first access)."""
        if not self._data_ready:
            self._data = self._data()
            self._data_ready = True
        return self._data

    def spec(self) -> dict:
        """The declaration as JSON-ready data (built once: printing formulas takes time)."""
        if getattr(self, "_spec", None) is None:
            self._spec = {"name": self.name, "params": [p.spec() for p in self.params],
                          "outputs": [o.spec() for o in self.outputs],
                          "formulas": [f.spec() for f in self.formulas]}
        return self._spec

    def defaults(self) -> dict:
        """Default value of each parameter, by name."""
        return {p.name: p.default for p in self.params}

    def __repr__(self) -> str:
        return f"Interactive({self.name!r}, params={[p.name for p in self.params]})"

    # -- Python evaluation ------------------------------------------------------------------
    def evaluate(self, values: dict | None = None, *, live: bool = False) -> dict:
        """Result for the given control values (raw strings or ints; missing ones default).

        ``{"values", "error", "outputs", "figure"}``; ``error`` is the explanation shown when the
        combination is impossible. ``live=True`` uses the live compute step (e.g. recomputing
        an architecture's summary instead of reading the embedded data).
        """
        raw = self.defaults()
        raw.update(values or {})
        fn = self.live_compute if live else self.compute
        return runtime.evaluate(self.spec(), fn, None if live else self.data, raw)

    def render_view(self, values: dict | None = None, *, live: bool = False) -> str:
        """HTML of the view for the given control values."""
        return runtime.render_view(self.spec(), self.evaluate(values, live=live))

    # -- static rendering -------------------------------------------------------------------
    def js_source(self) -> str:
        """JavaScript that defines ``SPEC``, ``F`` (compiled formulas), ``DATA`` and ``compute``."""
        return ("var SPEC = " + _json(self.spec()) + ";\n"
                "var F = " + js_functions(self.js_formulas) + ";\n"
                "var DATA = " + _json(runtime.normalize(self.data)) + ";\n"
                "var compute = " + self.js_compute.strip() + ";\n")

    def js_module(self) -> str:
        """A CommonJS module (for node) exporting ``evaluate(raw)`` and ``render(result)``."""
        return (runtime.JS_CORE + self.js_source() +
                "module.exports = {evaluate: function (raw) { return CB.evaluate(SPEC, compute, F, DATA, raw); },\n"
                "  render: function (res) { return CB.renderView(SPEC, res); }, fmt: CB.fmt};\n")

    def to_html(self, values: dict | None = None) -> str:
        """Self-contained static HTML: controls, the view rendered for ``values``, and its script."""
        raw = self.defaults()
        raw.update(values or {})
        res = self.evaluate(raw)
        parts = [f'<div class="cnnbook-interactive" data-cnnbook-interactive="{runtime.esc(self.name)}">',
                 f"<style>{runtime.CSS}</style>",
                 f'<div class="cb-title">{runtime.esc(self.title)}</div>']
        if self.description:
            parts.append(f'<div class="cb-desc">{runtime.esc(self.description)}</div>')
        parts.append('<div class="cb-controls">')
        for p in self.params:
            parts.append(_control_html(p, raw[p.name], res["values"]))
        parts.append("</div>")
        parts.append(f'<div class="cb-view" aria-live="polite">{runtime.render_view(self.spec(), res)}</div>')
        script = ("(function (root) {\n" + runtime.JS_CORE + runtime.JS_DOM + self.js_source() +
                  "CB.mount(root, SPEC, F, DATA, compute);\n})(document.currentScript.parentElement);")
        parts.append("<script>" + _script_safe(script) + "</script></div>")
        return "\n".join(parts)

    # -- live rendering ---------------------------------------------------------------------
    def widget(self, values: dict | None = None):
        """An ipywidgets UI that recomputes in Python on every change."""
        import ipywidgets as W

        raw = self.defaults()
        raw.update(values or {})
        controls: dict[str, Any] = {}
        rows = []
        for p in self.params:
            style = {"description_width": "initial"}
            if p.control == "range":
                c = W.IntSlider(value=int(raw[p.name]), min=p.min, max=p.max, step=p.step,
                                description=p.label, style=style, continuous_update=True)
            elif p.control == "number":
                c = W.BoundedIntText(value=int(raw[p.name]), min=p.min, max=p.max, step=p.step,
                                     description=p.label, style=style,
                                     layout=W.Layout(width="auto"))
            else:
                c = W.Dropdown(options=[(t, v) for v, t in p.choices], value=str(raw[p.name]),
                               description=p.label, style=style)
            controls[p.name] = c
            rows.append(c)
        view = W.HTML()
        box = W.VBox([W.HTML(f"<b>{runtime.esc(self.title)}</b>"),
                      W.Box(rows, layout=W.Layout(display="flex", flex_flow="row wrap")), view])
        box.add_class("cnnbook-interactive-live")
        busy = {"on": False}

        def update(_change=None):
            if busy["on"]:
                return
            busy["on"] = True
            try:
                vals = {n: c.value for n, c in controls.items()}
                res = self.evaluate(vals, live=True)
                for p in self.params:
                    c = controls[p.name]
                    c.layout.display = None if runtime.when(p.visible_when, vals) else "none"
                    if p.max_from and not res["error"] and p.max_from in res["outputs"]:
                        c.max = int(res["outputs"][p.max_from])
                if any(controls[n].value != v for n, v in vals.items()):
                    res = self.evaluate({n: c.value for n, c in controls.items()}, live=True)
                view.value = (f'<div class="cnnbook-interactive"><style>{runtime.CSS}</style>'
                              f"{runtime.render_view(self.spec(), res)}</div>")
                box.result = res
            finally:
                busy["on"] = False

        for c in controls.values():
            c.observe(update, names="value")
        box.controls = controls
        box.view = view
        update()
        return box

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        bundle: dict = {}
        try:
            w = self.widget()
            bundle.update(w._repr_mimebundle_(include=include, exclude=exclude) or {})
        except ImportError:                      # no ipywidgets: the static page alone
            pass
        bundle["text/html"] = self.to_html()
        bundle.setdefault("text/plain", repr(self))
        return bundle


def _json(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def _script_safe(js: str) -> str:
    """Keep inline JavaScript from closing its <script> element or opening a comment."""
    return js.replace("</", "<\\/").replace("<!--", "<\\!--")


def _control_html(p: Param, value, parsed: dict) -> str:
    esc = runtime.esc
    hidden = "" if runtime.when(p.visible_when, parsed) else " hidden"
    o = f'<label class="cb-control" data-param="{esc(p.name)}"{hidden}><span>{esc(p.label)}</span> '
    if p.control == "select":
        o += f'<select name="{esc(p.name)}">'
        for v, t in p.choices:
            sel = " selected" if v == str(value) else ""
            o += f'<option value="{esc(v)}"{sel}>{esc(t)}</option>'
        o += "</select>"
    else:
        o += (f'<input type="{p.control}" name="{esc(p.name)}" min="{p.min}" max="{p.max}" '
              f'step="{p.step}" value="{esc(value)}">')
        if p.control == "range":
            o += f"<output>{esc(value)}</output>"
            if p.buttons:
                o += (f'<button type="button" data-step="-{p.step}" data-target="{esc(p.name)}" '
                      f'aria-label="fewer">−</button><button type="button" data-step="{p.step}" '
                      f'data-target="{esc(p.name)}" aria-label="more">+</button>')
    return o + "</label>"


def gallery_html(interactives: dict[str, Interactive] | Sequence[Interactive], title: str = "Interactives") -> str:
    """A complete HTML page showing the static rendering of each interactive."""
    items = interactives.values() if isinstance(interactives, dict) else interactives
    body = "\n".join(f"<section><h2>{runtime.esc(i.title)}</h2>\n{i.to_html()}</section>" for i in items)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{runtime.esc(title)}</title></head><body><h1>{runtime.esc(title)}</h1>\n{body}\n</body></html>")
