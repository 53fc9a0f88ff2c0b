"""One figure style for the whole book, and the few figure helpers the chapters share.

Chapters make a figure with :func:`figure` (a ``matplotlib`` figure in the book's style, detached
from pyplot's global state so it is shown only where the chapter glues it), draw on its axes, and
hand it to ``myst_nb.glue``. Helpers label axes with units, use log scales where counts span
orders of magnitude, and draw small arrays as annotated grids.

>>> from cnnbook_lib import plots
>>> fig, ax = plots.figure()
>>> plots.loglog_compare(ax, [1e-4, 1e-3], [2e-4, 1e-3], "predicted", "measured", unit="s")
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator, Sequence

import matplotlib
import matplotlib.ticker as mticker
import numpy as np

#: The book's rcParams: readable sizes, no top/right spines, a light grid, fixed fonts and DPI so
#: two builds produce the same pictures.
STYLE: dict = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.figsize": (6.4, 4.0),
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 6,
    "image.cmap": "viridis",
    "axes.prop_cycle": matplotlib.cycler(color=["#1f5fa8", "#d1495b", "#2e933c", "#edae49",
                                                "#66a182", "#8d6a9f", "#00798c", "#444444"]),
    "svg.hashsalt": "cnnbook",
}

#: Colours by role, so the same thing has the same colour in every chapter.
COLORS = {"formula": "#1f5fa8", "measured": "#d1495b", "torch": "#2e933c", "neutral": "#444444",
          "highlight": "#edae49"}


def apply_style() -> None:
    """Set the book's style globally (for a notebook session)."""
    matplotlib.rcParams.update(STYLE)


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The book's style inside a ``with`` block only."""
    with matplotlib.rc_context(STYLE):
        yield


def figure(ncols: int = 1, nrows: int = 1, *, width: float | None = None,
           height: float | None = None, **subplot_kw):
    """A styled figure and its axes (one ``Axes`` or an array), detached from pyplot.

    The figure is closed in pyplot right away, so a notebook shows it only where it is glued or
    returned, never twice.
    """
    import matplotlib.pyplot as plt

    w = width or STYLE["figure.figsize"][0]
    h = height or STYLE["figure.figsize"][1]
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=True, **subplot_kw)
    plt.close(fig)
    return fig, axes


def label(ax, x: str, y: str, *, xunit: str = "", yunit: str = "", title: str = "") -> None:
    """Axis labels with their units in brackets, e.g. ``time [s]``."""
    ax.set_xlabel(f"{x} [{xunit}]" if xunit else x)
    ax.set_ylabel(f"{y} [{yunit}]" if yunit else y)
    if title:
        ax.set_title(title)


def spans_orders(values: Sequence[float], orders: float = 2.0) -> bool:
    """Whether positive values span at least ``orders`` decades (then use a log axis)."""
    v = np.asarray([x for x in values if x > 0], dtype=float)
    return v.size > 1 and np.log10(v.max() / v.min()) >= orders


class ReadableLogFormatter(mticker.LogFormatter):
    """Tick labels of a log axis as plain numbers (``20``, ``50``, ``0.002``, ``10,000``) instead
    of ``2×10¹``. With a ``unit``, in engineering notation with SI prefixes (``100 µs``,
    ``2 ms``); without one, values from 10,000 up get a prefix (``20k``, ``1M``) and values
    below 0.001 a power of ten. Which minor ticks get a label is matplotlib's usual choice (all,
    some or none, by how many decades the axis spans)."""

    def __init__(self, unit: str = "", **kwargs):
        super().__init__(base=10.0, labelOnlyBase=False, **kwargs)
        self.unit = unit
        self._eng = mticker.EngFormatter(unit=unit, sep=" " if unit else "")

    def _num_to_string(self, x, vmin=None, vmax=None):
        x = float(f"{x:.3g}")                       # tick positions carry rounding noise
        if self.unit or x >= 1e4:
            return self._eng.format_eng(x)
        if x < 1e-3:
            exponent = math.floor(math.log10(x))
            mantissa = np.format_float_positional(round(x / 10.0 ** exponent, 2), trim="-")
            power = f"10^{{{exponent}}}"
            return f"${power}$" if mantissa == "1" else f"${mantissa}{{\\cdot}}{power}$"
        return str(int(x)) if x == int(x) else np.format_float_positional(x, trim="-")


def log_axes(ax, *, x: bool = True, y: bool = True, unit: str = "") -> None:
    """Log scale on the chosen axes with readable tick labels (:class:`ReadableLogFormatter`).

    Call it after any ``set_xscale``/``set_yscale`` (which reset the formatters); limits may be
    set before or after.
    """
    for on, axis, set_scale in ((x, ax.xaxis, ax.set_xscale), (y, ax.yaxis, ax.set_yscale)):
        if not on:
            continue
        set_scale("log")
        axis.set_major_formatter(ReadableLogFormatter(unit))
        axis.set_minor_formatter(ReadableLogFormatter(unit))


def grid_values(ax, array, *, title: str = "", cmap: str = "RdBu_r", fmt: str = "{:g}",
                symmetric: bool = True) -> None:
    """Draw a small 2-D array as coloured cells with each value written in its cell."""
    a = np.asarray(array, dtype=float)
    lim = float(np.abs(a).max()) or 1.0
    kw = dict(vmin=-lim, vmax=lim) if symmetric else {}
    ax.imshow(a, cmap=cmap, **kw)
    for (i, j), v in np.ndenumerate(a):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=9,
                color="white" if abs(v) > 0.6 * lim else "black")
    ax.set_xticks(range(a.shape[1]))
    ax.set_yticks(range(a.shape[0]))
    ax.grid(False)
    ax.tick_params(length=0, labelsize=8)
    if title:
        ax.set_title(title)


def identity_line(ax, lo: float, hi: float, *, label: str | None = None):
    """The dashed line y = x from ``lo`` to ``hi`` (perfect prediction), drawn once and behind
    the points. Several dashed segments drawn over each other with different ends look solid, so
    a figure with several groups of points draws this once for all of them."""
    if not (0 < lo < hi):
        raise ValueError(f"identity line needs 0 < lo < hi, got lo={lo!r}, hi={hi!r}")
    (line,) = ax.plot([lo, hi], [lo, hi], color=COLORS["neutral"], lw=1, ls="--", zorder=1,
                      label=label)
    return line


def family_colors(names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """A (colour, marker) pair for each name, in sorted order, from the book's colour cycle; the
    same names get the same pairs in every figure."""
    cycle = STYLE["axes.prop_cycle"].by_key()["color"]
    markers = "osD^v<>pP*"
    ordered = sorted(set(names))
    if len(ordered) > len(cycle):
        raise ValueError(f"at most {len(cycle)} families can be told apart, got {len(ordered)}")
    return {n: (cycle[i], markers[i]) for i, n in enumerate(ordered)}


def roofline(ax, peak: float, bandwidth: float, intensity: Sequence[float], *,
             flops_unit: float = 1e9, label_ceilings: bool = True) -> float:
    """Draw the roofline ``min(peak, I * bandwidth)`` over the range of ``intensity`` (FLOP/byte)
    on log axes, in GFLOP/s by default (``flops_unit``), and label its two ceilings and the ridge
    point ``I* = peak / bandwidth`` (a dotted vertical line). Returns the ridge point."""
    if not (peak > 0 and bandwidth > 0):
        raise ValueError(f"peak and bandwidth must be positive, got {peak!r} and {bandwidth!r}")
    i = np.asarray(intensity, dtype=float)
    if i.size == 0 or (i <= 0).any():
        raise ValueError("intensity must be a non-empty sequence of positive values")
    ridge = peak / bandwidth
    lo, hi = min(i.min(), ridge) / 2, max(i.max(), ridge) * 2
    x = np.logspace(np.log10(lo), np.log10(hi), 200)
    ax.plot(x, np.minimum(peak, x * bandwidth) / flops_unit, color=COLORS["neutral"], zorder=2,
            label="roofline")
    ax.axvline(ridge, color=COLORS["neutral"], lw=1, ls=":", zorder=1)
    log_axes(ax)
    if label_ceilings:
        ax.annotate(f"peak {peak / flops_unit:,.0f} GFLOP/s" if flops_unit == 1e9 else
                    f"peak {peak / flops_unit:,.3g}", (hi, peak / flops_unit),
                    textcoords="offset points", xytext=(-4, 5), ha="right", fontsize=8)
        x_bw = np.sqrt(lo * ridge)                       # halfway along the sloped part
        ax.annotate(f"bandwidth {bandwidth / 1e9:,.1f} GB/s", (x_bw, x_bw * bandwidth / flops_unit),
                    textcoords="offset points", xytext=(8, -6), ha="left", fontsize=8)
        ax.text(ridge, 0.03, f" ridge point {ridge:,.1f} FLOP/byte", rotation=90, fontsize=8,
                transform=ax.get_xaxis_transform(), ha="left", va="bottom")
    return ridge


def loglog_compare(ax, predicted: Sequence[float], measured: Sequence[float], xname: str,
                   yname: str, *, unit: str = "", labels: Sequence[str] | None = None,
                   color: str | None = None, marker: str = "o", name: str | None = None,
                   diagonal: bool = True) -> None:
    """Scatter ``measured`` against ``predicted`` on log-log axes with the line y = x
    (``diagonal=False`` leaves the line out, for a caller that draws :func:`identity_line` once
    over several groups)."""
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    if p.shape != m.shape:
        raise ValueError(f"predicted and measured differ in length: {p.shape} vs {m.shape}")
    if (p <= 0).any() or (m <= 0).any():
        raise ValueError("log-log comparison needs positive values")
    ax.scatter(p, m, color=color or COLORS["measured"], marker=marker, label=name, zorder=3)
    lo, hi = min(p.min(), m.min()) / 1.5, max(p.max(), m.max()) * 1.5
    if diagonal:
        identity_line(ax, lo, hi)
    log_axes(ax, unit=unit)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    if labels is not None:
        for x, y, text in zip(p, m, labels):
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    label(ax, xname, yname, xunit=unit, yunit=unit)
