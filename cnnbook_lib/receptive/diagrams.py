"""Diagrams of receptive fields for chapter 2, drawn from autograd and the recurrence.

Every picture here is computed, not drawn by hand: the cells a diagram colours are the input
positions with a nonzero gradient for one unit (positive weights, no non-linearity, as in
chapter 2's oracle), and the unit positions are those the recurrence gives. Each function returns
a styled figure (:func:`cnnbook_lib.plots.figure`) and the numbers it shows, so that a page can
check and glue them.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib
import matplotlib.patches  # noqa: F401  (matplotlib.patches.Rectangle)
import numpy as np
import torch
import torch.nn.functional as TF

from .. import plots

__all__ = ["paths_1d", "growth", "growth_curves", "dilation_holes", "branch_alignment",
           "branch_union", "fields_on_photo", "fields_by_stage", "FONT"]

#: text size of the diagrams (points): legible when a figure is shown 390 pixels wide
FONT = 13
_EMPTY, _FIELD = "#f2f2f2", plots.COLORS["formula"]


def paths_1d(layers: Sequence[tuple[int, int, int, int]], n: int, unit: int | None = None,
             pad_right: int = 0) -> tuple[list[np.ndarray], int]:
    """For 1-D convolutions ``(k, s, d, p)`` with every weight 1: the number of paths from each
    position of every map (input first) to ``unit`` of the last map (its central unit by
    default), by autograd. ``pad_right`` zero-pads the input on the right first."""
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    h = TF.pad(x, (0, pad_right)) if pad_right else x
    maps = [x]
    for k, s, d, p in layers:
        h = TF.conv1d(h, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p,
                      dilation=d)
        h.retain_grad()
        maps.append(h)
    unit = h.shape[-1] // 2 if unit is None else unit
    h[0, 0, unit].backward()
    return [m.grad[0, 0].round().numpy() for m in maps], unit


def growth(layers: Sequence[tuple[int, int, int, int]], n: int = 23):
    """One unit of the top layer and, in every map below it, the units it depends on, each map
    drawn at its units' centres in input pixels, so the jump shows as the spacing of the dots.
    Returns ``(fig, rows)``, rows holding each map's (size, jump) and field width in the input."""
    from . import receptive_field
    counts, top = paths_1d(layers, n)
    fig, ax = plots.figure(width=6.4, height=0.75 * (len(layers) + 1) + 1.0)
    rows = []
    for depth, count in enumerate(counts):
        rf = receptive_field(list(layers[:depth])) if depth else None
        size, jump, start = (rf.size, rf.jump, rf.start) if rf else (1, 1, 0)
        xs = start + jump * np.arange(len(count))
        on = count > 0
        ax.scatter(xs[~on], [depth] * int((~on).sum()), s=70, color="#d9d9d9", zorder=2)
        ax.scatter(xs[on], [depth] * int(on.sum()), s=90, color=_FIELD, zorder=3)
        if depth == len(layers):
            ax.scatter(xs[top], depth, marker="*", s=380, color=plots.COLORS["highlight"],
                       zorder=4, edgecolor="black", linewidth=0.6)
        ax.text(n + 0.4, depth, f"r={size}, j={jump}", va="center", fontsize=FONT)
        rows.append({"size": size, "jump": jump, "used": int(on.sum())})
    field = np.flatnonzero(counts[0] > 0)
    ax.axvspan(field[0] - 0.5, field[-1] + 0.5, color=plots.COLORS["highlight"], alpha=0.15,
               zorder=0)
    names = ["input"] + [f"layer {i}" + (f", s={s}" if s > 1 else "") for i, (k, s, _, _) in
                         enumerate(layers, 1)]
    ax.set_yticks(range(len(counts)), names, fontsize=FONT)
    ax.set_xlim(-1, n + 6.5)
    ax.set_ylim(-0.6, len(layers) + 0.6)
    ax.tick_params(axis="x", labelsize=FONT)
    ax.grid(False)
    ax.set_xlabel("input position [pixels]", fontsize=FONT)
    return fig, rows


def growth_curves(designs: dict[str, Sequence[tuple]], depth: int = 24, n: int = 224):
    """The field against depth for each repeating pattern of layers, on a log axis, with the
    image width ``n`` as a line. Returns ``(fig, curves)``."""
    from . import receptive_field
    fig, ax = plots.figure(width=6.6, height=3.8)
    curves = {}
    for name, pattern in designs.items():
        layers = [pattern[i % len(pattern)] for i in range(depth)]
        curves[name] = [receptive_field(layers[:L]).size for L in range(1, depth + 1)]
        ax.plot(range(1, depth + 1), curves[name], marker="o", ms=4, label=name)
    ax.axhline(n, color=plots.COLORS["neutral"], ls="--", lw=1)
    ax.text(1, n * 1.12, f"image width, {n} pixels", fontsize=FONT)
    ax.set_yscale("log")
    ax.tick_params(labelsize=FONT)
    ax.legend(fontsize=FONT - 1, loc="lower right")
    ax.set_xlabel("layers (convolutions and poolings)", fontsize=FONT)
    ax.set_ylabel("field [pixels]", fontsize=FONT)
    return fig, curves


def _path_rows(ax, counts: list[np.ndarray], title: str, vmax: float):
    width = max(len(c) for c in counts)
    grid = np.full((len(counts), width), np.nan)
    for depth, c in enumerate(counts):
        grid[depth, :len(c)] = np.where(c > 0, c, np.nan)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad=_EMPTY)
    image = ax.imshow(grid, cmap=cmap, vmin=1, vmax=vmax, origin="lower", aspect="auto",
                      interpolation="nearest")
    for depth in range(len(counts)):
        for x in range(width):
            ax.add_patch(matplotlib.patches.Rectangle((x - 0.5, depth - 0.5), 1, 1, fill=False,
                                                      lw=0.4, color="white"))
    ax.set_title(title, fontsize=FONT)
    ax.grid(False)
    ax.tick_params(labelsize=FONT)
    return image


def dilation_holes(rate_sets: Sequence[Sequence[int]], k: int = 3):
    """For each list of dilation rates (stride 1, "same" padding): the number of paths from
    every position of every map to the top layer's central unit; white cells get no path (the
    holes). Returns ``(fig, results)``, each result the rates, field and positions reached."""
    results, all_counts = [], []
    n = 5 + max(sum(d * (k - 1) for d in rates) for rates in rate_sets)
    for rates in rate_sets:
        layers = [(k, 1, d, d * (k - 1) // 2) for d in rates]
        counts, _ = paths_1d(layers, n)
        hit = np.flatnonzero(counts[0] > 0)
        results.append({"rates": tuple(rates), "field": int(hit[-1] - hit[0] + 1),
                        "reached": len(hit)})
        lo, hi = hit[0] - 1, hit[-1] + 2
        all_counts.append([c[lo:hi] for c in counts])
    vmax = max(c.max() for counts in all_counts for c in counts)
    fig, axes = plots.figure(1, len(rate_sets), width=6.0, height=2.0 * len(rate_sets) + 1.4)
    axes = np.atleast_1d(axes)
    for ax, counts, res in zip(axes, all_counts, results):
        image = _path_rows(ax, counts, f"rates {', '.join(map(str, res['rates']))}: field "
                           f"{res['field']},\n{res['reached']} pixels reached", vmax)
        ax.set_yticks(range(len(counts)), ["input"] + [f"d={d}" for d in res["rates"]])
    axes[-1].set_xlabel("input position in the field [pixels]", fontsize=FONT)
    bar = fig.colorbar(image, ax=list(axes), shrink=0.9, location="bottom", pad=0.12)
    bar.set_label("paths to the top unit", fontsize=FONT)
    bar.ax.tick_params(labelsize=FONT)
    return fig, results


def _branch_masks(n: int, aligned: bool) -> dict[str, np.ndarray]:
    """Input positions reaching unit n // 2 of branch a (3 taps, padding 1), branch b (3 taps,
    padding 1, or 2 zeros on the right and none on the left) and their sum."""
    masks = {}
    a, _ = paths_1d([(3, 1, 1, 1)], n, n // 2)
    b, _ = (paths_1d([(3, 1, 1, 1)], n, n // 2) if aligned
            else paths_1d([(3, 1, 1, 0)], n, n // 2, pad_right=2))
    masks["branch a"], masks["branch b"] = a[0] > 0, b[0] > 0
    masks["a + b"] = masks["branch a"] | masks["branch b"]
    return masks


def branch_alignment(n: int = 11):
    """The input pixels that reach unit ``n // 2`` of two branches and of their sum, aligned
    (both padded 1 on each side) and misaligned (one padded 2 on the right only). Returns
    ``(fig, widths)``: per case, the field of each branch and of the sum."""
    fig, axes = plots.figure(1, 2, width=7.0, height=3.4)
    colors = {"branch a": plots.COLORS["formula"], "branch b": plots.COLORS["measured"],
              "a + b": plots.COLORS["torch"]}
    widths = {}
    for ax, aligned in zip(axes, (True, False)):
        masks = _branch_masks(n, aligned)
        name = "aligned" if aligned else "misaligned"
        widths[name] = {}
        for row, (label, mask) in enumerate(masks.items()):
            hit = np.flatnonzero(mask)
            widths[name][label] = (int(hit[-1] - hit[0] + 1), float(hit.mean()))
            for x in range(n):
                ax.add_patch(matplotlib.patches.Rectangle(
                    (x - 0.45, 2 - row - 0.4), 0.9, 0.8,
                    color=colors[label] if mask[x] else _EMPTY))
            ax.plot(hit.mean(), 2 - row, marker="|", ms=22, mew=2.5, color="black")
        ax.axvline(n // 2, color=plots.COLORS["neutral"], ls=":", lw=1)
        ax.set_xlim(-0.7, n - 0.3)
        ax.set_ylim(-0.7, 2.7)
        ax.set_yticks([2, 1, 0], list(masks), fontsize=FONT)
        ax.set_xticks(range(0, n, 2))
        ax.tick_params(labelsize=FONT)
        ax.grid(False)
        ax.set_title(f"{name}: sum sees {widths[name]['a + b'][0]} pixels", fontsize=FONT)
        ax.set_xlabel("input position [pixels]", fontsize=FONT)
    return fig, widths


def branch_union(n: int = 15):
    """A block of four branches (1x1; 3x3; two 3x3; 3x3 average pooling then 1x1) whose outputs
    are concatenated: the number of paths from each input pixel to the central output unit, in
    2-D, with each branch's field outlined. Returns ``(fig, fields)``."""
    import matplotlib.patches as mpatches
    x = torch.ones(1, 1, n, n, dtype=torch.float64, requires_grad=True)
    one = lambda k: torch.ones(1, 1, k, k, dtype=torch.float64)   # noqa: E731
    branches = {
        "1×1": lambda t: TF.conv2d(t, one(1)),
        "3×3": lambda t: TF.conv2d(t, one(3), padding=1),
        "3×3, 3×3": lambda t: TF.conv2d(TF.conv2d(t, one(3), padding=1), one(3), padding=1),
        "pool 3×3, 1×1": lambda t: TF.conv2d(TF.avg_pool2d(t, 3, 1, 1) * 9, one(1)),
    }
    c = n // 2
    fields, total = {}, torch.zeros(n, n, dtype=torch.float64)
    for name, branch in branches.items():
        (g,) = torch.autograd.grad(branch(x)[0, 0, c, c], x)
        hit = np.argwhere(g[0, 0].numpy() > 0)
        fields[name] = int(hit[:, 0].max() - hit[:, 0].min() + 1)
        total += g[0, 0]
    hit = np.argwhere(total.numpy() > 0)
    fields["concatenation"] = int(hit[:, 0].max() - hit[:, 0].min() + 1)
    fig, ax = plots.figure(width=5.8, height=6.2)
    image = ax.imshow(total.numpy(), cmap="viridis")
    styles = ["-", "-", "--", ":"]
    colours = [plots.COLORS["highlight"], "#00e5ff", plots.COLORS["measured"], "#ff66cc"]
    insets = [0.0, 0.0, 0.0, -0.15]
    for (name, r), ls, col, inset in zip([(k, v) for k, v in fields.items()
                                          if k != "concatenation"], styles, colours, insets):
        ax.add_patch(mpatches.Rectangle((c - r / 2 - inset, c - r / 2 - inset), r + 2 * inset,
                                        r + 2 * inset, fill=False, lw=2.2, ls=ls, color=col,
                                        label=f"{name}: {r} × {r}"))
    ax.set_xlim(c - 4.5, c + 4.5)
    ax.set_ylim(c + 4.5, c - 4.5)
    ax.grid(False)
    ax.tick_params(labelsize=FONT)
    ax.legend(fontsize=FONT - 1, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
              title="branch fields (the concatenation's is the largest)",
              title_fontsize=FONT - 1)
    bar = fig.colorbar(image, ax=ax, shrink=0.85)
    bar.set_label("paths to the output unit", fontsize=FONT)
    bar.ax.tick_params(labelsize=FONT)
    ax.set_xlabel("column [pixels]", fontsize=FONT)
    ax.set_ylabel("row [pixels]", fontsize=FONT)
    return fig, fields


def photo_224(name: str = "chelsea") -> np.ndarray:
    """A photograph of :func:`cnnbook_lib.datasets.photo` scaled so its short side is 224
    pixels and cropped to the central 224 x 224, as (224, 224, 3) floats in [0, 1]."""
    from ..datasets import photo
    x = photo(name)
    h, w = x.shape[-2:]
    scale = 224 / min(h, w)
    x = TF.interpolate(x[None], size=(round(h * scale), round(w * scale)), mode="bilinear",
                       antialias=True, align_corners=False)[0]
    top, left = (x.shape[-2] - 224) // 2, (x.shape[-1] - 224) // 2
    return x[:, top:top + 224, left:left + 224].permute(1, 2, 0).clamp(0, 1).numpy()


def fields_on_photo(network: str = "resnet18", photo_name: str = "chelsea", cols: int = 3):
    """The field of the central unit of each stage of ``network`` drawn on a 224-pixel
    photograph, one panel per stage; the dots are the centres of the neighbouring units of the
    stage (the jump). The drawn unit is unit ``(m - 1) // 2`` of the stage's ``m``-unit map (its
    size read from a forward pass on the meta device), centred at ``start + unit * jump``.
    Returns ``(fig, stages)``: per stage its name, field, jump, padding, map size, unit, centre
    and span (first and last input pixel, inclusive)."""
    import matplotlib.patches as mpatches
    from .. import architectures
    from . import receptive_field
    from .stages import stages as stage_list
    image = photo_224(photo_name)
    with torch.device("meta"):
        model = architectures.build(network)
        rf = receptive_field(model, (1, 3, 224, 224))
        layers = stage_list(rf)
        sizes = {}

        def keep(name):
            def hook(module, inputs, output):
                sizes.setdefault(name, output.shape[-1])
            return hook
        hooks = [model.get_submodule(l.name).register_forward_hook(keep(l.name)) for l in layers]
        model(torch.empty(1, 3, 224, 224))
        for h in hooks:
            h.remove()
    found = []
    for l in layers:
        ax_ = l.axes[0]
        unit = (sizes[l.name] - 1) // 2
        found.append({"name": l.name, "field": ax_.size, "jump": ax_.jump, "padding": ax_.padding,
                      "map": sizes[l.name], "unit": unit,
                      "centre": float(ax_.start + unit * ax_.jump), "span": ax_.span(unit)})
    rows_ = -(-len(found) // cols)
    width = 7.2 if cols >= 3 else 5.2                  # two per row: legible 390 pixels wide
    fig, axes = plots.figure(cols, rows_, width=width, height=width / cols * rows_ + 0.55 * rows_)
    axes = np.atleast_1d(axes).ravel()
    for i, (ax, st) in enumerate(zip(axes, found)):
        ax.imshow(image, extent=(-0.5, 223.5, 223.5, -0.5))
        r, j, c = st["field"], st["jump"], st["centre"]
        ax.add_patch(mpatches.Rectangle((c - r / 2, c - r / 2), r, r, fill=False,
                                        lw=2.5, color=plots.COLORS["highlight"]))
        offsets = j * np.arange(-2, 3)
        gx, gy = np.meshgrid(c + offsets, c + offsets)
        inside = (gx >= 0) & (gx <= 223) & (gy >= 0) & (gy <= 223)
        ax.scatter(gx[inside], gy[inside], s=9, color="white", edgecolor="black", lw=0.4)
        lo, hi = min(-0.5, c - r / 2 - 4), max(223.5, c + r / 2 + 4)   # show the whole field
        ax.set_xlim(lo, hi)
        ax.set_ylim(hi, lo)
        ax.set_xticks([]), ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.grid(False)
        ax.set_title(f"stage {i}: r = {r}, j = {j}\nunit {st['unit']} of {st['map']}",
                     fontsize=FONT + 2)
    for ax in axes[len(found):]:
        ax.axis("off")
    return fig, found


def fields_by_stage(networks: Sequence[str]):
    """The field of each stage (the largest field at one jump, :func:`stages.stages`) against
    the stage's number, for each network, on a log axis with each network's input width as a
    mark. Returns ``(fig, fields)``: network -> list of (field, jump)."""
    from .. import architectures
    from . import receptive_field
    from .stages import stages as stage_list
    fig, ax = plots.figure(width=7.4, height=3.8)
    fields = {}
    for name in networks:
        with torch.device("meta"):
            model = architectures.build(name)
        size = architectures.input_size(name)
        rf = receptive_field(model, size)
        fields[name] = [(max(a.size for a in l.axes), max(a.jump for a in l.axes))
                        for l in stage_list(rf)]
        line, = ax.plot(range(len(fields[name])), [f for f, _ in fields[name]], marker="o",
                        label=name)
    ax.axhline(224, color=plots.COLORS["neutral"], ls="--", lw=1)
    ax.text(0, 224 * 1.1, "224 pixels", fontsize=FONT, ha="left", va="bottom")
    ax.set_yscale("log")
    ax.tick_params(labelsize=FONT)
    ax.legend(fontsize=FONT - 1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlabel("stage (each halves the map: the jump doubles)", fontsize=FONT)
    ax.set_ylabel("field of the stage's last unit [pixels]", fontsize=FONT)
    return fig, fields
