"""Declarations of interactives, and their two renderings from one ES module.

An interactive is one ES module file ``js/<name>.js`` that follows anywidget's front-end contract
(``export default {render({model, el})}``) and exports its compute step, plus a declaration here:
its parameters (:class:`Param`), the values it shows (:class:`Output`), the formulas it shows with
numbers substituted (:class:`Formula`), optional embedded ``data`` and optional ``live_data``
(Python work, e.g. a torch trace, done in the kernel when a control changes). The module is the only
place its compute step and its view are written; Python holds no copy of either.

It renders

* live, as an :class:`anywidget.AnyWidget` (:meth:`Interactive.widget`): one trait per parameter,
  ``result`` (the evaluation the view made), ``_spec`` (the declaration) and ``_data``; setting
  ``w.k = 5`` from Python moves the control, and moving the control updates ``w.k`` and ``w.result``;
* static, as self-contained HTML (:meth:`Interactive.to_html`): the same bundled module, imported
  from a blob URL and rendered on a stand-in model (``createModel`` of ``js/cb.js``); no kernel,
  no CDN, no network. This is what MyST's ``{anywidget}`` directive and marimo's export do.

Displaying an interactive or its widget gives both: the widget view for a running kernel and
``text/html`` for the built book (``_config.yml`` prefers ``text/html`` for the HTML builder).

Adding an interactive: write ``js/<name>.js`` (import helpers from ``./cb.js`` and formulas from
``./formulas.js``; add a formula to :data:`cnnbook_lib.interactives.jsgen.JS_FORMULAS` and run
``python -m cnnbook_lib.interactives`` to regenerate ``formulas.js``), declare it with
:class:`Interactive` in a Python function, and list it in :func:`cnnbook_lib.interactives.examples`.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

import sympy as sp

from ..validation import check_choice, check_int
from . import esm
from .jsgen import formula_template

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
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name) or self.name == "result":
            raise ValueError(f"parameter name {self.name!r} must be a lower-case identifier, not 'result'")
        if self.control not in ("range", "number", "select"):
            raise ValueError(f"control must be range, number or select, got {self.control!r}")
        if self.control == "select":
            self.choices = [tuple(map(str, c)) if isinstance(c, (tuple, list)) else (str(c), str(c))
                            for c in self.choices]
            if str(self.default) not in [c[0] for c in self.choices]:
                raise ValueError(f"default {self.default!r} of {self.name} is not a choice")
            self.default = str(self.default)
        elif not (isinstance(self.min, int) and isinstance(self.max, int) and isinstance(self.default, int)
                  and self.min <= self.default <= self.max):
            raise ValueError(f"default {self.default!r} of {self.name} outside [{self.min}, {self.max}]")

    @property
    def kind(self) -> str:
        """Value type of the control: ``"str"`` for a select, else ``"int"``."""
        return "str" if self.control == "select" else "int"

    def spec(self) -> dict:
        """The parameter as JSON-ready data."""
        return {"name": self.name, "label": self.label, "kind": self.kind, "default": self.default,
                "min": self.min, "max": self.max, "step": self.step, "control": self.control,
                "choices": [list(c) for c in self.choices], "visible_when": self.visible_when,
                "max_from": self.max_from, "buttons": self.buttons}

    def trait(self):
        """The synced trait that holds this control's value in a live widget."""
        import traitlets as T
        if self.kind == "str":
            return T.Enum([c[0] for c in self.choices], default_value=self.default).tag(sync=True)
        return T.Int(self.default, min=self.min, max=self.max).tag(sync=True)


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


def normalize(v):
    """Fractions and tuples to JSON-ready numbers and lists, recursively."""
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else float(v)
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [normalize(x) for x in v]
    return v


class Interactive:
    """One interactive: the declaration that goes with the ES module ``js/<module>.js``.

    ``data`` (a value, or a function called once when first needed) is embedded in the static page.
    ``live_data(values) -> dict``, if given, runs in the kernel whenever a control changes and its
    entries are merged into the widget's ``_data`` (e.g. the summary of the network just chosen),
    so that a live widget need not embed everything the static page does.
    """

    def __init__(self, name: str, title: str, params: Sequence[Param], outputs: Sequence[Output],
                 formulas: Sequence[Formula] = (), data: Any = None, description: str = "",
                 live_data: Callable[[dict], dict] | None = None, module: str | None = None,
                 minutes: float | None = None):
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names in {name}: {names}")
        self.name, self.title, self.description = name, title, description
        self.params, self.outputs, self.formulas = list(params), list(outputs), list(formulas)
        self.module = module or f"{name}.js"
        esm.source(self.module)                         # fail now if the module is missing
        self.live_data = live_data
        self._data = data
        self._data_ready = not callable(data)
        self._spec = None
        # the reader's time with it, which the page's reading time adds (cnnbook_lib.reading_time)
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                    or not minutes > 0):
            raise ValueError(f"minutes of {name} must be a positive number, got {minutes!r}")
        self.minutes = minutes

    @property
    def data(self):
        """The embedded data (a callable is computed on first access)."""
        if not self._data_ready:
            self._data = self._data()
            self._data_ready = True
        return self._data

    def spec(self) -> dict:
        """The declaration as JSON-ready data (built once: printing formulas takes time)."""
        if self._spec is None:
            self._spec = {"name": self.name, "title": self.title, "description": self.description,
                          "params": [p.spec() for p in self.params],
                          "outputs": [o.spec() for o in self.outputs],
                          "formulas": [f.spec() for f in self.formulas], "minutes": self.minutes}
        return self._spec

    def defaults(self) -> dict:
        """Default value of each parameter, by name."""
        return {p.name: p.default for p in self.params}

    def esm(self) -> str:
        """The bundled ES module (the interactive's file with ``cb.js`` and ``formulas.js`` inlined)."""
        return esm.bundle(self.module)

    def __repr__(self) -> str:
        return f"Interactive({self.name!r}, params={[p.name for p in self.params]})"

    def _checked(self, values: dict | None) -> dict:
        state = self.defaults()
        for key, value in (values or {}).items():
            param = next((p for p in self.params if p.name == key), None)
            if param is None:
                raise ValueError(f"{self.name} has no parameter {key!r}; parameters: "
                                 f"{', '.join(p.name for p in self.params)}")
            if param.kind == "str":
                check_choice(key, value, [c[0] for c in param.choices])
            else:
                check_int(key, value, param.min, param.max)
            state[key] = value
        return state

    # -- live ---------------------------------------------------------------------------------
    def widget(self, **values):
        """The live widget (an :class:`anywidget.AnyWidget`), with control values ``values``."""
        cls = _widget_class(self)
        state = self._checked(values)
        data = normalize(self.live_data(state)) if self.live_data else normalize(self.data)
        return cls(interactive=self, _spec=self.spec(), _data=data, **state)

    # -- static -------------------------------------------------------------------------------
    def to_html(self, values: dict | None = None) -> str:
        """Self-contained static HTML: the bundled module, its state, and a loader script."""
        state = self._checked(values)
        state.update({"_spec": self.spec(), "_data": normalize(self.data), "result": {}})
        config = _script_json({"esm": self.esm(), "state": state})
        loader = esm.source("static-loader.js").strip().rstrip(";")
        minutes = f' data-minutes="{self.minutes:g}"' if self.minutes is not None else ""
        return (f'<div class="cnnbook-static" data-cnnbook-static="{html.escape(self.name)}"{minutes}>'
                f"<style>{esm.css()}</style>"
                f'<div class="cb-root"><noscript>{html.escape(self.title)}: this interactive needs '
                f"JavaScript.</noscript></div>"
                f'<script type="application/json" class="cb-config">{config}</script>'
                f"<script>{loader}(document.currentScript.parentElement);</script></div>")

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude)


def _script_json(obj) -> str:
    """JSON safe inside a <script> element (it cannot close the element or open a comment)."""
    return (json.dumps(obj, separators=(",", ":"), sort_keys=True)
            .replace("</", "<\\/").replace("<!--", "<\\!--"))


_CLASSES: dict[str, type] = {}


def _widget_class(inter: Interactive) -> type:
    """The AnyWidget subclass of one interactive: a trait per parameter (made once per name)."""
    import traitlets as T

    key = inter.name
    if key not in _CLASSES:
        camel = "".join(part.title() for part in inter.name.split("_")) + "Widget"
        traits = {p.name: p.trait() for p in inter.params}
        traits.update(_esm=inter.esm(), _css=esm.css(),
                      _spec=T.Dict().tag(sync=True), _data=T.Any(None, allow_none=True).tag(sync=True),
                      result=T.Dict().tag(sync=True))
        _CLASSES[key] = type(camel, (_interactive_widget_base(),), traits)
    return _CLASSES[key]


def __getattr__(name):                    # ``core.InteractiveWidget``, built on first use
    if name == "InteractiveWidget":
        return _interactive_widget_base()
    raise AttributeError(name)


_BASE: list = []


def _interactive_widget_base() -> type:
    if not _BASE:
        import anywidget

        class InteractiveWidget(anywidget.AnyWidget):
            """A live interactive: control values and ``result`` are traits, synced with the view.

            ``result`` is ``{"values", "error", "outputs", "figure"}`` as the view last computed it
            (the compute step runs in the front end, so ``result`` follows once a view is shown).
            """

            def __init__(self, interactive: Interactive, **kwargs):
                self.interactive = interactive
                super().__init__(**kwargs)
                if interactive.live_data:
                    self.observe(self._live, names=[p.name for p in interactive.params])

            def _live(self, change):
                values = {p.name: getattr(self, p.name) for p in self.interactive.params}
                new = normalize(self.interactive.live_data(values))
                old = self._data or {}
                if any(old.get(k) != v for k, v in new.items()):
                    self._data = {**old, **new}

            def to_html(self) -> str:
                """The static rendering with this widget's current control values."""
                return self.interactive.to_html(
                    {p.name: getattr(self, p.name) for p in self.interactive.params})

            def _repr_mimebundle_(self, **kwargs):
                out = super()._repr_mimebundle_(**kwargs)
                data, meta = out if isinstance(out, tuple) else (out or {}, {})
                data = dict(data)
                data["text/html"] = self.to_html()
                return data, meta

            def __repr__(self) -> str:
                return f"{type(self).__name__}({self.interactive.name!r})"

        _BASE.append(InteractiveWidget)
    return _BASE[0]


def gallery_html(items, title: str = "Interactives") -> str:
    """A complete HTML page showing the static rendering of each interactive (or widget)."""
    items = items.values() if isinstance(items, dict) else items
    decls = [getattr(i, "interactive", i) for i in items]
    body = "\n".join(f"<section><h2>{html.escape(d.title)}</h2>\n{d.to_html()}</section>" for d in decls)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>")
