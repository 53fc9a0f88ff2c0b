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


def layer_blocks(ax, table, *, title: str = "", labels: Sequence[str] | None = None,
                 kind_colors: dict | None = None, kind_names: dict | None = None) -> None:
    """A network drawn as one block per row of a per-layer table, from the input (left) on.

    ``table`` has the columns ``layer`` (a kind and a number or name: ``conv1``, ``pool2``,
    ``block3``, ``inception3a``) and ``output`` (``"C×H×W"``, or ``"F"`` for a dense layer), as
    made by :func:`cnnbook_lib.analysis.layer_table`. A block's height is the side H of the
    output map (log axis), its width grows with log2 of the channels C (written above it), its
    colour is its kind's. ``labels`` (default: the layer names) name the blocks on the x axis;
    ``kind_colors`` and ``kind_names`` add or replace kinds (colour, legend name).
    """
    colors = {"conv": COLORS["formula"], "pool": COLORS["neutral"], "lrn": COLORS["highlight"],
              "fc": COLORS["measured"], "rbf": COLORS["torch"], "block": COLORS["torch"],
              "inception": COLORS["torch"], "aux": COLORS["highlight"]}
    names = {"conv": "convolution", "pool": "pooling", "lrn": "response normalization",
             "fc": "dense", "rbf": "RBF output", "block": "block", "inception": "inception module",
             "aux": "auxiliary classifier"}
    colors.update(kind_colors or {})
    names.update(kind_names or {})

    def kind(layer: str) -> str:
        k = layer.rstrip("0123456789")
        return k if k in colors else next((c for c in colors if layer.startswith(c)), k)

    def dims(output: str) -> tuple[int, int]:
        parts = [int(v) for v in str(output).split("×")]
        return parts[0], parts[1] if len(parts) > 1 else 1

    layers, outputs = list(table["layer"]), list(table["output"])
    labels = layers if labels is None else list(labels)
    if len(labels) != len(layers):
        raise ValueError(f"{len(labels)} labels for {len(layers)} layers")
    unknown = sorted({kind(layer) for layer in layers} - set(colors))
    if unknown:
        raise ValueError(f"no colour for the layer kind(s) {', '.join(unknown)}; pass kind_colors")
    x, ticks = 0.0, []
    for layer, output, name in zip(layers, outputs, labels):
        c, h = dims(output)
        w = 0.3 + 0.12 * math.log2(c)
        ax.bar(x + w / 2, h - 0.5, width=w, bottom=0.5, color=colors[kind(layer)],
               edgecolor="white", linewidth=0.5)
        ax.annotate(f"{c}", (x + w / 2, h), textcoords="offset points", xytext=(0, 2),
                    ha="center", fontsize=7, rotation=90)
        ticks.append((x + w / 2, name))
        x += w + 0.15
    ax.set_yscale("log")
    log_axes(ax, x=False)
    ax.set_xticks([t for t, _ in ticks], [n for _, n in ticks], rotation=90, fontsize=8)
    ax.set_ylim(0.5, max(dims(o)[1] for o in outputs) * 4)
    ax.grid(axis="x", visible=False)
    for k in dict.fromkeys(kind(layer) for layer in layers):
        ax.bar(0, 0, color=colors[k], label=names.get(k, k))
    ax.legend(fontsize=8, loc="upper right", ncols=2)
    label(ax, "layer (block width grows with the channels, written above)",
          "side of the output map", yunit="pixels", title=title)


#: Qualitative colours for :func:`category_grid`, ordered so that neighbouring ids get unlike hues
#: (matplotlib's tab20, dark shades first, then the light ones).
CATEGORY_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                   "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                   "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"]


def _text_color(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color`` (by its relative luminance)."""
    r, g, b = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def category_grid(ax, ids, *, title: str = "", fmt: str = "{:g}",
                  colors: dict | None = None) -> dict:
    """Draw a small 2-D array of integer ids as cells, each id in its own colour and written in
    its cell: equal ids get equal colours, so copies of one value are seen at a glance (the
    pixels an im2col patch matrix copies). ``colors`` maps ids to colours (default: the ids in
    sorted order get :data:`CATEGORY_COLORS`); the mapping used is returned, for a second grid
    that must colour the same ids alike."""
    a = np.asarray(ids)
    if a.ndim != 2:
        raise ValueError(f"ids must be a 2-D array, got shape {a.shape}")
    keys = sorted({v.item() for v in a.ravel()})
    if colors is None:
        if len(keys) > len(CATEGORY_COLORS):
            raise ValueError(f"at most {len(CATEGORY_COLORS)} ids can be told apart by colour, "
                             f"got {len(keys)}")
        colors = {k: CATEGORY_COLORS[i] for i, k in enumerate(keys)}
    missing = [k for k in keys if k not in colors]
    if missing:
        raise ValueError(f"no colour for the ids {missing}")
    rgb = np.array([[matplotlib.colors.to_rgb(colors[v.item()]) for v in row] for row in a])
    ax.imshow(rgb)
    for (i, j), v in np.ndenumerate(a):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=9,
                color=_text_color(matplotlib.colors.to_hex(colors[v.item()])))
    ax.set_xticks(range(a.shape[1]))
    ax.set_yticks(range(a.shape[0]))
    ax.grid(False)
    ax.tick_params(length=0, labelsize=8)
    if title:
        ax.set_title(title)
    return dict(colors)


def outline(ax, row: int, col: int, height: int, width: int, *, color: str, inset: float = 0.0,
            lw: float = 2.0, fill_alpha: float = 0.0, label: str | None = None):
    """Outline a block of cells of an image drawn with ``imshow`` (cell (i, j) centred at (j, i)):
    rows ``row`` to ``row + height - 1`` and columns ``col`` to ``col + width - 1``. ``inset``
    (in cells) shrinks the frame so that overlapping blocks stay apart; ``fill_alpha`` > 0 also
    tints the block. Returns the rectangle."""
    from matplotlib.patches import Rectangle

    if height < 1 or width < 1:
        raise ValueError(f"a block needs height and width >= 1, got {height} x {width}")
    if not 0 <= inset < min(height, width) / 2:
        raise ValueError(f"inset {inset} must be >= 0 and smaller than half the block")
    rect = Rectangle((col - 0.5 + inset, row - 0.5 + inset), width - 2 * inset,
                     height - 2 * inset, fill=fill_alpha > 0, lw=lw, edgecolor=color,
                     facecolor=matplotlib.colors.to_rgba(color, fill_alpha), label=label,
                     zorder=3)
    ax.add_patch(rect)
    return rect


#: Colours of shared weights in :func:`weight_pattern` (matplotlib's tab10, which keeps ten hues
#: apart), the colour of a weight used once, and of an entry that is no weight at all.
SHARED_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#7f7f7f"]
FREE_WEIGHT_COLOR = "#5b6770"
NO_WEIGHT_COLOR = "#f2f2f2"


def weight_pattern(ax, ids, *, title: str = "", xlabel: str = "input", ylabel: str = "output",
                   legend: bool = False) -> int:
    """Draw a weight matrix by *which* weight sits in each entry, not by its value.

    ``ids`` is a 2-D integer array: a negative entry is no weight (a structural zero, drawn pale),
    equal non-negative ids are one weight used in several places (each such shared weight gets its
    own colour from :data:`SHARED_COLORS`), and an id used once is a free weight (drawn dark grey).
    Returns the number of distinct weights, which is what ``numel()`` of the layer counts.
    """
    a = np.asarray(ids)
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"ids must be a 2-D integer array, got {a.dtype} of shape {a.shape}")
    used, counts = np.unique(a[a >= 0], return_counts=True)
    shared = [int(v) for v, c in zip(used, counts) if c > 1]
    if len(shared) > len(SHARED_COLORS):
        raise ValueError(f"at most {len(SHARED_COLORS)} shared weights can be told apart by "
                         f"colour, got {len(shared)}")
    colour = {v: SHARED_COLORS[i] for i, v in enumerate(shared)}
    rgb = np.empty(a.shape + (3,))
    for (i, j), v in np.ndenumerate(a):
        c = NO_WEIGHT_COLOR if v < 0 else colour.get(int(v), FREE_WEIGHT_COLOR)
        rgb[i, j] = matplotlib.colors.to_rgb(c)
    ax.imshow(rgb, interpolation="nearest")
    ax.set_xticks(np.arange(-0.5, a.shape[1], 1), minor=True)
    ax.set_yticks(np.arange(-0.5, a.shape[0], 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.6, alpha=1)
    ax.grid(which="major", visible=False)
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.tick_params(which="both", length=0, labelsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend:
        from matplotlib.patches import Patch
        handles = [Patch(color=NO_WEIGHT_COLOR, label="no weight (always 0)")]
        if len(shared) < len(used):
            handles.append(Patch(color=FREE_WEIGHT_COLOR, label="a weight of its own"))
        handles += [Patch(color=colour[v], label=f"shared weight {v}") for v in shared]
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return int(used.size)


def window_positions(ax, n: int, k: int, s: int = 1, p: int = 0, d: int = 1, *,
                     title: str = "") -> int:
    """Draw one axis of a convolution: the ``n`` input cells with ``p`` padded cells on each side
    (hatched), and under them one row per window position, its taps (``k`` of them, ``d`` apart)
    filled and its span outlined. Input cells that no window reads (what the floor of the output
    size drops) are outlined in red. Returns the number of windows, counted position by position
    (starts 0, s, 2s, ... while the window fits), not from the formula."""
    from matplotlib.patches import Rectangle

    for name, v, lo in (("n", n, 1), ("k", k, 1), ("s", s, 1), ("p", p, 0), ("d", d, 1)):
        if int(v) != v or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    total, span = n + 2 * p, d * (k - 1) + 1
    if span > total:
        raise ValueError(f"kernel {k} (effective {span}) is larger than padded input {total} "
                         f"(n={n}, p={p})")
    starts = list(range(0, total - span + 1, s))
    read = {t + d * u for t in starts for u in range(k)}
    for c in range(total):
        padded = c < p or c >= p + n
        ax.add_patch(Rectangle((c, 0), 1, 1, facecolor="#d9d9d9" if padded else "white",
                               edgecolor=COLORS["neutral"], hatch="///" if padded else None, lw=0.8))
        if not padded:
            ax.text(c + 0.5, 0.5, str(c - p), ha="center", va="center", fontsize=7)
            if c not in read:
                ax.add_patch(Rectangle((c + 0.08, 0.08), 0.84, 0.84, fill=False,
                                       edgecolor=COLORS["measured"], lw=1.8))
    for row, t in enumerate(starts, start=1):
        y = -1.25 * row
        ax.add_patch(Rectangle((t, y + 0.15), span, 0.7, fill=False,
                               edgecolor=COLORS["formula"], lw=0.8))
        for u in range(k):
            ax.add_patch(Rectangle((t + d * u + 0.15, y + 0.3), 0.7, 0.4,
                                   facecolor=COLORS["formula"], edgecolor="none"))
        ax.text(-0.4, y + 0.5, f"out {row - 1}", ha="right", va="center", fontsize=7)
    ax.set_xlim(-2.6, total + 0.2)
    ax.set_ylim(-1.25 * len(starts) - 0.1, 1.1)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return len(starts)


def box3d(ax, x: float, y: float, width: float, height: float, depth: float, *, color: str,
          alpha: float = 1.0, lw: float = 0.8, slant: float = 0.5):
    """An oblique drawing of a box (a tensor of ``depth`` channels of ``height`` x ``width``
    cells): its front face has its lower left corner at ``(x, y)``, and the depth recedes up and
    to the right by ``slant`` per unit. Returns the (front, top, side) polygons."""
    from matplotlib.patches import Polygon

    if min(width, height) <= 0 or depth < 0:
        raise ValueError(f"a box needs width, height > 0 and depth >= 0, got {width}, {height}, "
                         f"{depth}")
    dx, dy = depth * slant, depth * slant
    face = matplotlib.colors.to_rgba(color, alpha)
    shade = tuple(0.8 * c for c in face[:3]) + (alpha,)
    light = tuple(c + 0.4 * (1 - c) for c in face[:3]) + (alpha,)
    front = Polygon([(x, y), (x + width, y), (x + width, y + height), (x, y + height)],
                    facecolor=face, edgecolor=COLORS["neutral"], lw=lw)
    top = Polygon([(x, y + height), (x + width, y + height), (x + width + dx, y + height + dy),
                   (x + dx, y + height + dy)], facecolor=light, edgecolor=COLORS["neutral"], lw=lw)
    side = Polygon([(x + width, y), (x + width + dx, y + dy), (x + width + dx, y + height + dy),
                    (x + width, y + height)], facecolor=shade, edgecolor=COLORS["neutral"], lw=lw)
    for poly in (top, side, front):
        ax.add_patch(poly)
    return front, top, side


def label_points(ax, xs: Sequence[float], ys: Sequence[float], names: Sequence[str], *,
                 fontsize: float = 8, offset: tuple[float, float] = (4, 3),
                 avoid: Sequence = (), avoid_points: bool = False) -> list[str]:
    """Name the points of a scatter plot without letting two names overlap: the points are
    named in the order given (put the ones that matter first), and a name whose box would
    overlap a name already drawn, an artist of ``avoid`` (a legend, say), a point (with
    ``avoid_points``) or leave the axes is left out. Returns the names drawn."""
    from matplotlib.transforms import Bbox

    ax.figure.draw_without_rendering()            # the layout, so that boxes are in pixels
    axes_box = ax.get_window_extent()
    drawn, boxes = [], [a.get_window_extent() for a in avoid]
    r = 3.5 * ax.figure.dpi / 72                  # a default marker's radius, in pixels
    if avoid_points:                              # no name over any point either
        boxes += [Bbox.from_bounds(px - r, py - r, 2 * r, 2 * r) for px, py in
                  ax.transData.transform(np.column_stack([xs, ys]).astype(float))]
    for x, y, name in zip(xs, ys, names):
        text = ax.annotate(name, (x, y), fontsize=fontsize, xytext=offset,
                           textcoords="offset points")
        box = text.get_window_extent().expanded(1.05, 1.15)
        inside = (axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1
                  and axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1)
        if not inside or any(box.overlaps(b) for b in boxes):
            text.remove()
            continue
        boxes.append(box)
        drawn.append(name)
    return drawn
