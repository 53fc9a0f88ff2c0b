"""What each interactive must show, computed independently of its JavaScript.

The interactives compute in JavaScript only (``cnnbook_lib/interactives/js``). The tests check
them against this module, which computes the same outputs with the library's own Python functions
(:mod:`cnnbook_lib.formulas`, :mod:`cnnbook_lib.algorithms`, :mod:`cnnbook_lib.analysis`
summaries), themselves tested against torch; the cells that a grid highlights are checked against
autograd in ``test_interactives.py``. Impossible settings must show the message of the library's
``ValueError``. Number formatting follows Python's own ``format`` rules (``f"{x:,}"``).
"""
from __future__ import annotations

import html
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from cnnbook_lib import formulas as fm
from cnnbook_lib.interactives.core import normalize  # Fractions to JSON numbers, nothing more


class Impossible(ValueError):
    """The expected explanation of an impossible setting."""


# ---------------------------------------------------------------------------------------------
# Controls and formatting
# ---------------------------------------------------------------------------------------------

_INT = re.compile(r"^-?\d+$")


def coerce(inter, raw: dict) -> tuple[dict, str | None]:
    """Parsed values, or the message for the first control that is not a valid value."""
    values: dict = {}
    for p in inter.params:
        s = str(raw.get(p.name, p.default)).strip()
        if p.kind == "int":
            if not _INT.match(s):
                return values, f"{p.label} must be a whole number, got '{s}'"
            x = int(s)
            if not p.min <= x <= p.max:
                return values, f"{p.label} must be between {p.min} and {p.max}, got {x}"
            values[p.name] = x
        else:
            names = [c[0] for c in p.choices]
            if s not in names:
                return values, f"{p.label} must be one of {', '.join(names)}, got '{s}'"
            values[p.name] = s
    return values, None


def _rounded(a, digits: int, shift: int = 0) -> tuple[int, str]:
    """``a >= 0`` as written (its repr), times ``10 ** shift``, rounded half up to ``digits``
    decimals: the whole part and the decimals' digits."""
    q = Decimal(repr(float(a))).scaleb(shift).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    whole, _, decimals = f"{q:f}".partition(".")
    return int(whole), decimals


def _fixed(a, digits: int, separators: bool = True) -> str:
    whole, decimals = _rounded(a, digits)
    return (f"{whole:,}" if separators else str(whole)) + "." + decimals


def _human(x, base: int, units: list[str]) -> str:
    i = 0
    while i < len(units) - 1 and x >= base ** (i + 1):
        i += 1
    if i == 0:
        return f"{int(x):,}" + (" " + units[0] if units[0] else "")

    def part(j):
        return _rounded(x, 2, -3 * j) if base == 1000 else _rounded(x / base ** j, 2)
    whole, decimals = part(i)
    if whole >= base and i < len(units) - 1:           # rounding reached the next unit
        i += 1
        whole, decimals = part(i)
    return f"{whole:,}.{decimals} {units[i]}"


def _signed(v, text: str) -> str:
    """The sign of ``v`` before ``text`` (its magnitude formatted), unless the text is all zeros."""
    return "-" + text if v < 0 and re.search("[1-9]", text) else text


def is_integer(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())


def _fmt_magnitude(a, kind: str) -> str:
    if kind == "int":
        return f"{int(a):,}" if is_integer(a) else _fixed(a, 3)
    if kind == "bytes":
        units = ["B", "KiB", "MiB", "GiB", "TiB"]
        return f"{int(a):,} B" if a < 1024 else f"{int(a):,} B (" + _human(a, 1024, units) + ")"
    if kind == "shortbytes":
        return _human(a, 1024, ["B", "KiB", "MiB", "GiB", "TiB"])
    if kind == "short":
        return _human(a, 1000, ["", "k", "M", "G", "T"])
    if kind == "ratio":
        return _fixed(a, 3)
    raise ValueError(kind)


def fmt(v, kind: str = "int") -> str:
    """How a value must read: ``73,856``, ``0.125``, ``1,048,576 B (1.00 MiB)``, ``3.20 M``; a
    negative value as its sign and then its magnitude, no sign where only zeros show."""
    if kind == "text" or isinstance(v, str):
        return str(v)
    if not math.isfinite(v):
        return {"inf": "Infinity", "-inf": "-Infinity"}.get(str(v), "NaN")
    return _signed(v, _fmt_magnitude(abs(v), kind))


def num_attr(v) -> str:
    """The ``data-value`` attribute a number must carry."""
    if isinstance(v, str):
        return html.escape(v, quote=True)
    if is_integer(v):
        return str(int(v))
    if not math.isfinite(v):
        return fmt(v)
    return _signed(v, _fixed(abs(v), 6, separators=False))


def expected(inter, raw: dict) -> dict:
    """``{"values", "error", "outputs", "figure"}`` that the view must compute for ``raw``."""
    values, error = coerce(inter, raw)
    if error is None:
        try:
            res = ORACLES[inter.name](dict(values), inter.data)
        except ValueError as e:
            error = str(e)
        else:
            return {"values": values, "error": None, "outputs": normalize(res["outputs"]),
                    "figure": normalize(res.get("figure", []))}
    return {"values": values, "error": error, "outputs": {}, "figure": []}


# ---------------------------------------------------------------------------------------------
# One oracle per interactive
# ---------------------------------------------------------------------------------------------


def conv_arithmetic(v: dict, data) -> dict:
    n, k, s, p, d = v["n"], v["k"], v["s"], v["p"], v["d"]
    eff = fm.effective_kernel_size(k, d)
    if v["mode"] == "convolution":
        out = fm.conv_output_size(n, k, s, p, d)
        i, j = min(v["out_i"], out - 1), min(v["out_j"], out - 1)
        rows = [i * s + t * d for t in range(k)]
        cols = [j * s + t * d for t in range(k)]
        size, cells, pad_taps = n + 2 * p, [], 0
        for r in range(size):
            for c in range(size):
                pad = r < p or r >= p + n or c < p or c >= p + n
                hl = r in rows and c in cols
                pad_taps += pad and hl
                cls = "padhl" if pad and hl else "hl" if hl else "pad" if pad else None
                if cls:
                    cells.append([r, c, cls])
        outputs = {"out": out, "eff": eff, "padded": size, "taps": k * k, "pad_taps": pad_taps,
                   "window": f"rows {rows[0] - p} to {rows[-1] - p}, columns {cols[0] - p} to "
                             f"{cols[-1] - p} (step {d})"}
        in_title = f"input {n}×{n}, padding {p} (grey)"
        caption = "Blue: the input cells the selected output cell reads (light blue: padding zeros)."
        side = size
    else:
        out = fm.conv_transpose_output_size(n, k, s, p, v["output_padding"], d)
        i, j = min(v["out_i"], out - 1), min(v["out_j"], out - 1)

        def sources(o):
            return sorted((o + p - t * d) // s for t in range(k)
                          if o + p - t * d >= 0 and (o + p - t * d) % s == 0 and (o + p - t * d) // s < n)
        cells = [[r, c, "hl"] for r in sources(i) for c in sources(j)]
        outputs = {"out": out, "eff": eff, "taps": len(cells)}
        in_title, side = f"input {n}×{n}", n
        caption = "Blue: the input cells that contribute to the selected output cell."
    outputs.update({"sel_max": out - 1, "cell": f"({i}, {j})"})
    return {"outputs": outputs, "figure": [
        {"kind": "grid", "title": in_title, "rows": side, "cols": side, "cells": cells, "caption": caption},
        {"kind": "grid", "title": f"output {out}×{out} (click a cell)", "rows": out, "cols": out,
         "cells": [[i, j, "sel"]], "click": "out_i,out_j"}]}


def layer_cost(v: dict, data) -> dict:
    k, st, pd = v["k"], v["stride"], v["padding"]
    ho = fm.conv_output_size(v["h"], k, st, pd)
    wo = fm.conv_output_size(v["w"], k, st, pd)
    bias = v["bias"] == "yes"
    params = fm.conv_params(v["c_in"], v["c_out"], k, v["groups"], bias)
    macs = fm.conv_macs(v["c_in"], v["c_out"], k, (ho, wo), v["groups"], v["batch"])
    flops = fm.conv_flops(v["c_in"], v["c_out"], k, (ho, wo), v["groups"], v["batch"])
    return {"outputs": {
        "h_out": ho, "w_out": wo, "beta": int(bias), "params": params, "macs": macs, "flops": flops,
        "elem_bytes": fm.bytes_per_element(v["dtype"]),
        "param_bytes": fm.tensor_bytes(params, v["dtype"]),
        "input_bytes": fm.conv_backward_cache_bytes(v["c_in"], (v["h"], v["w"]), v["batch"], v["dtype"]),
        "act_bytes": fm.conv_activation_bytes(v["c_out"], (ho, wo), v["batch"], v["dtype"]),
        "flops_per_param": Fraction(flops, params)}}


def factorization(v: dict, data) -> dict:
    ci, co, k, hw, g, r = v["c_in"], v["c_out"], v["k"], v["hw"], v["groups"], v["reduction"]

    def cost(a, b_, kk, groups=1):
        return (fm.conv_params(a, b_, kk, groups, bias=False), fm.conv_macs(a, b_, kk, hw, groups))
    std = cost(ci, co, k)
    dw, pw = cost(ci, ci, k, ci), cost(ci, co, 1)
    sep = (dw[0] + pw[0], dw[1] + pw[1])
    grp = cost(ci, co, k, g)
    if co % r:
        raise Impossible(f"bottleneck reduction {r} does not divide out_channels {co}")
    m = co // r
    parts = [cost(ci, m, 1), cost(m, m, k), cost(m, co, 1)]
    bot = (sum(x[0] for x in parts), sum(x[1] for x in parts))
    rows = [["standard", std], ["depthwise-separable", sep], [f"grouped (G={g})", grp],
            [f"bottleneck (1×1, {k}×{k}, 1×1; width {m})", bot]]
    return {"outputs": {
        "std_params": std[0], "std_macs": std[1], "sep_params": sep[0], "sep_macs": sep[1],
        "grp_params": grp[0], "grp_macs": grp[1], "bot_params": bot[0], "bot_macs": bot[1],
        "bot_width": m, "sep_ratio": fm.separable_cost_ratio(co, k),
        "grp_ratio": fm.grouped_cost_ratio(g), "bot_ratio": Fraction(bot[1], std[1])},
        "figure": [{"kind": "bars", "title": f"{ci}→{co} channels, {k}×{k} kernel, {hw}×{hw} output",
                    "series": ["parameters", "MACs"], "fmts": ["short", "short"],
                    "rows": [{"label": lab, "values": [c[0], c[1]]} for lab, c in rows]}]}


def receptive_stack(v: dict, data) -> dict:
    """Field size and jump from the library's recurrence; reached pixels by walking back."""
    layers, size = v["layers"], v["n"]
    sizes, table, geo = [size], [], []
    r, j, u = 1, 1, 0
    for i in range(1, layers + 1):
        k, s, d = v[f"k{i}"], v[f"s{i}"], v[f"d{i}"]
        p = d * (k - 1) // 2 if v["padding"] == "same" else 0
        try:
            size = fm.conv_output_size(size, k, s, p, d)
        except ValueError as e:
            raise Impossible(f"layer {i}: {e}") from None
        r, j, u = fm.receptive_field_step(r, j, u, k, s, d, p)
        sizes.append(size)
        geo.append((k, s, d, p))
        table.append([i, k, s, d, p, size, r, j])
    unit = min(v["unit"], size - 1)
    reach = {unit}
    for i in range(layers, 0, -1):
        k, s, d, p = geo[i - 1]
        reach = {o * s - p + t * d for o in reach for t in range(k)} & set(range(sizes[i - 1]))
    lo = unit * j - fm.receptive_field_padding(r, u)
    n0 = v["n"]
    cells = [[a, b, "hl"] if a in reach and b in reach else [a, b, "dim"]
             for a in range(n0) for b in range(n0)
             if (a in reach and b in reach) or (lo <= a < lo + r and lo <= b < lo + r)]
    return {"outputs": {"rf": r, "jump": j, "out_size": size, "unit_max": size - 1, "unit_sel": unit,
                        "reached": len(reach) ** 2, "first": lo},
            "figure": [
                {"kind": "table", "title": "layer by layer",
                 "columns": ["layer", "k", "s", "d", "p", "output size", "field r", "jump j"],
                 "rows": table},
                {"kind": "grid", "title": f"input {n0}×{n0}: pixels reaching output unit ({unit}, {unit})",
                 "rows": n0, "cols": n0, "cells": cells,
                 "caption": "Blue: input pixels with a path to the unit. Light blue: inside the "
                            "field's extent but skipped by dilation or cut by the border."}]}


def architecture_explorer(v: dict, data) -> dict:
    net = data[v["network"]]
    rows = list(net["rows"])
    if v["order"] == "macs":
        rows = sorted(rows, key=lambda row: -row[3])[:25]          # stable: model order on ties
    shape = "×".join(map(str, net["input"]))
    return {"outputs": {"params": net["params"], "macs": net["macs"], "flops": net["flops"],
                        "activation_bytes": net["activation_bytes"], "layers": len(net["rows"]),
                        "input": shape},
            "figure": [{"kind": "bars", "title": f"{v['network']}, input {shape}",
                        "series": ["parameters", "MACs", "activation memory"],
                        "fmts": ["short", "short", "shortbytes"],
                        "rows": [{"label": f"{r[0]} ({r[1]})", "values": [r[2], r[3], r[4]]}
                                 for r in rows]}]}


def conv_algorithms(v: dict, data) -> dict:
    """Counts of :mod:`cnnbook_lib.algorithms` (multiplications and workspace per method)."""
    from cnnbook_lib import algorithms
    ci, co, n, k, p, nb, m = v["c_in"], v["c_out"], v["hw"], v["k"], v["padding"], v["batch"], v["m"]
    out = fm.conv_output_size(n, k, 1, p)
    hf = n + 2 * p
    xs, ws = (nb, ci, n, n), (co, ci, k, k)
    direct = algorithms.multiplications("direct", xs, ws, padding=p)
    wino = fm.winograd_multiplications(ci, co, out, nb, m, k)
    fft = algorithms.multiplications("fft", xs, ws, padding=p)
    im2col_b = algorithms.extra_memory("im2col", xs, ws, padding=p)
    wino_b = fm.tensor_bytes(fm.winograd_workspace_elements(ci, co, out, nb, m, k))
    fft_b = algorithms.extra_memory("fft", xs, ws, padding=p)
    input_b = fm.tensor_bytes(xs)
    rows = [["direct", direct, 0], ["im2col + GEMM", direct, im2col_b],
            [f"FFT ({hf}×{hf})", fft, fft_b], [f"Winograd F({m}×{m}, {k}×{k})", wino, wino_b]]
    return {"outputs": {
        "out": out, "fft_size": hf, "tiles": fm.winograd_tiles(out, m),
        "direct": direct, "wino": wino, "fft": fft,
        "wino_saving": Fraction(direct, wino), "fft_saving": Fraction(direct, fft),
        "input_bytes": input_b, "im2col_bytes": im2col_b, "wino_bytes": wino_b, "fft_bytes": fft_b,
        "im2col_blowup": Fraction(im2col_b, input_b)},
        "figure": [{"kind": "bars",
                    "title": f"{ci}→{co} channels, {k}×{k} kernel, {n}×{n} input, batch {nb}",
                    "series": ["multiplications", "extra memory (float32)"],
                    "fmts": ["short", "shortbytes"],
                    "rows": [{"label": lab, "values": [mu, by]} for lab, mu, by in rows],
                    "caption": "FFT: 4 real multiplications per complex product, transforms not "
                               "counted. Winograd: transforms (additions) not counted."}]}


def erf_viewer(v: dict, data) -> dict:
    """Moments and mass counts of the recorded map by :mod:`cnnbook_lib.receptive.erf_stats`; the
    field by the library's recurrence."""
    import torch
    from cnnbook_lib.receptive import erf_stats as E
    m = data[f"{v['depth']}/{v['act']}/{v['skip']}"]
    n, vals = m["side"], m["values"]
    r, j, u = 1, 1, 0
    for _ in range(int(v["depth"])):
        r, j, u = fm.receptive_field_step(r, j, u, 3, 1, 1, 1)
    grid = torch.tensor(vals, dtype=torch.float64).reshape(n, n)
    prof = grid.sum(0)
    w = [x / float(prof.sum()) for x in prof.tolist()]
    mean, var = E.moments(torch.tensor(w, dtype=torch.float64))
    gauss = [math.exp(-((i - mean) ** 2) / (2 * var)) for i in range(n)]
    half, most = E.mass_classes(vals)
    lo = (n - r) // 2
    top = max(vals)
    offsets = [b - (n - 1) // 2 for b in range(n)]
    return {"outputs": {"rf": r, "std": math.sqrt(var), "half": half, "most": most,
                        "share": most / (r * r)},
            "figure": [
                {"kind": "heatmap", "title": f"input {n}×{n}: squared gradient of the central unit",
                 "rows": n, "cols": n, "values": [a / top for a in vals], "box": [lo, lo, r],
                 "scale": "share of the largest value",
                 "caption": "Colour: the squared gradient at each input pixel, as a share of the "
                            "largest. Orange square: the theoretical field."},
                {"kind": "lines", "title": "profile along one axis (the map summed over rows) and "
                                           "the Gaussian with its mean and variance",
                 "x": offsets, "xlabel": "offset from the centre [pixels]",
                 "ylabel": "share of the gradient",
                 "series": [{"name": "measured", "values": w},
                            {"name": "Gaussian", "values": [g / sum(gauss) for g in gauss]}]}]}


def dilation_explorer(v: dict, data) -> dict:
    """The exact path counts of :func:`cnnbook_lib.receptive.coverage` along one axis (the 2-D
    counts are their outer product); the field by the recurrence; the rule by formulas."""
    from cnnbook_lib import receptive
    k, rates = v["k"], [v[f"d{i}"] for i in range(1, v["layers"] + 1)]
    layers = [(k, 1, d) for d in rates]
    r = receptive.receptive_field(layers).size
    counts = receptive.coverage(layers, (r,), unit=(0,), counts=True)
    seen, most = int((counts > 0).sum()), int(counts.max())
    outputs = {"rf": r, "reached": seen * seen, "holes": r * r - seen * seen, "paths": most * most}
    verdict = "one layer: the rule needs two or more"
    if len(rates) >= 2:
        m2 = fm.hdc_max_gap(rates)
        if len(rates) >= 3:
            outputs["m3"] = fm.hdc_max_gap(rates[1:])
        outputs["m2"] = m2
        verdict = (f"M2 = {m2} ≤ K = {k}: no holes if r1 = 1" if fm.hdc_ok(rates, k) else
                   f"M2 = {m2} > K = {k}: not promised")
        if fm.hdc_ok(rates, k) and rates[0] > 1:
            verdict += f" (here r1 = {rates[0]})"
    outputs["verdict"] = verdict
    wide = 81                                      # wider fields: one axis, 81 pixels per row
    if r > wide:
        return {"outputs": outputs, "figure": [
            {"kind": "grid", "title": f"one axis of the field of the top unit: {r} pixels, {wide} "
                                      f"per row, rates {', '.join(map(str, rates))}",
             "rows": -(-r // wide), "cols": wide,
             "cells": [[i // wide, i % wide, "hl" if c else "sel"] for i, c in enumerate(counts)],
             "caption": "The field is too wide to draw as a square; its 2-D mask is this axis "
                        "times itself. Blue: pixels with a path to the unit. Orange: holes."}]}
    cells = [[a + 1, b + 1, "hl" if counts[a] and counts[b] else "sel"]
             for a in range(r) for b in range(r)]
    return {"outputs": outputs, "figure": [
        {"kind": "grid", "title": f"field of the top unit: {r}×{r} pixels, rates "
                                  f"{', '.join(map(str, rates))}",
         "rows": r + 2, "cols": r + 2, "cells": cells,
         "caption": "Blue: input pixels with a path to the unit. Orange: holes, inside the field "
                    "but reached by no path. Grey border: outside the field."}]}


def channel_shuffle(v: dict, data) -> dict:
    """Connectivity as a product of 0/1 matrices: each grouped layer block diagonal, each shuffle
    the permutation of the library's ``ChannelShuffle`` module (itself tested against torch)."""
    import numpy as np
    import torch
    from cnnbook_lib import architectures
    c, g, layers = v["channels"], v["groups"], v["layers"]
    fm.conv_params(c, c, 1, groups=g)              # the library's message when G does not divide C
    n = c // g
    block = np.array([[o // n == i // n for i in range(c)] for o in range(c)], dtype=int)
    order = architectures.ChannelShuffle(g)(torch.arange(c).view(1, c, 1, 1)).flatten().tolist()
    perm = np.zeros((c, c), dtype=int)
    perm[np.arange(c), order] = 1                  # new channel p is old channel order[p]

    def stack(m, shuffle):
        reach = block
        for _ in range(m - 1):
            reach = ((block @ (perm if shuffle else np.eye(c, dtype=int)) @ reach) > 0).astype(int)
        return reach

    reach = stack(layers, v["shuffle"] == "on")
    counts = reach.sum(1)
    needed = next((str(m) for m in range(1, 2 * c + 1) if stack(m, True).all()),
                  "never: one channel per group, a shuffle only permutes them")
    s = "s" if layers > 1 else ""
    return {"outputs": {"per_group": n, "reach_min": int(counts.min()), "reach_max": int(counts.max()),
                        "full": "yes" if reach.all() else "no", "needed": needed,
                        "macs_ratio": fm.grouped_cost_ratio(g)},
            "figure": [{"kind": "grid",
                        "title": f"{layers} grouped layer{s}, {c} channels in {g} group"
                                 f"{'s' if g > 1 else ''}, shuffle {v['shuffle']}: output channel "
                                 f"(row) × input channel (column)",
                        "rows": c, "cols": c,
                        "cells": [[o, i, "hl"] for o in range(c) for i in range(c) if reach[o, i]],
                        "caption": "Blue: the output channel depends on the input channel. Without "
                                   "shuffles the pattern stays block diagonal; with them it fills "
                                   "once C/G ≥ G."}]}


ACCURACY_METRICS = {"macs": "MACs per image", "params": "parameters",
                    "latency1": "latency, one image [ms]",
                    "latency32": "latency per image in a batch of 32 [ms]"}


def accuracy_trend(points) -> tuple[float, float, float]:
    """Least squares of y on log10(x), summed in list order: slope, intercept, correlation."""
    lx = [math.log10(p["x"]) for p in points]
    n = len(points)
    mx, my = sum(lx) / n, sum(p["y"] for p in points) / n
    sxx = syy = sxy = 0.0
    for x, p in zip(lx, points):
        dx, dy = x - mx, p["y"] - my
        sxx, syy, sxy = sxx + dx * dx, syy + dy * dy, sxy + dx * dy
    slope = sxy / sxx
    return slope, my - slope * mx, sxy / math.sqrt(sxx * syy)


def accuracy_compute(v: dict, data) -> dict:
    """The chart's points and trend from the embedded records (which ``test_interactives`` holds
    against :mod:`cnnbook_lib.published`, ``analysis`` and the latency record)."""
    metric = v["metric"]
    shown = [d for d in data["networks"] if (v["family"] == "all" or d["family"] == v["family"])
             and d[metric] is not None]
    if len(shown) < 3:
        raise ValueError(f"only {len(shown)} network(s) of this family have a recorded "
                         f"{ACCURACY_METRICS[metric]}: pick another family or metric")
    points = [{"label": d["name"], "x": d[metric], "y": d["top1"], "hl": d["name"] == v["highlight"]}
              for d in shown]
    slope, intercept, r = accuracy_trend(points)
    at = lambda x: intercept + slope * math.log10(x)  # noqa: E731
    h = next(d for d in data["networks"] if d["name"] == v["highlight"])
    if h[metric] is None:
        raise ValueError(f"{h['name']} has no recorded {ACCURACY_METRICS[metric]}: highlight "
                         f"another network")
    xs = [p["x"] for p in points]
    rows = sorted(([d["name"], d[metric], d["top1"], d["top1"] - at(d[metric])] for d in shown),
                  key=lambda row: row[1])
    return {"outputs": {"shown": len(shown), "slope": slope, "r": r, "h_metric": h[metric],
                        "h_top1": h["top1"], "h_resid": h["top1"] - at(h[metric])},
            "figure": [{"kind": "scatter", "title": f"top-1 accuracy against {ACCURACY_METRICS[metric]}",
                        "xlog": True, "xlabel": ACCURACY_METRICS[metric] + " (log scale)",
                        "ylabel": "top-1 accuracy [%]", "points": points,
                        "line": [[min(xs), at(min(xs))], [max(xs), at(max(xs))]],
                        "caption": "Dashed: least-squares trend of accuracy on the logarithm of the "
                                   "metric over the networks shown. Orange: the highlighted "
                                   "network; hover a point for its name."},
                       {"kind": "table", "title": "networks shown, by the metric",
                        "columns": ["network", ACCURACY_METRICS[metric], "top-1 %",
                                    "points above the trend"], "rows": rows}]}


def _memory_summary(name: str, dtype: str):
    import torch
    from cnnbook_lib import analysis, architectures
    from cnnbook_lib.architectures import input_size
    key = (name, dtype)
    if key not in _MEMORY:
        with torch.device("meta"):
            model = architectures.build(name)
        _MEMORY[key] = analysis.summarize(model, input_size(name), dtype=dtype, training=True)
    return _MEMORY[key]


_MEMORY: dict = {}


def training_memory(v: dict, data) -> dict:
    """``Summary.training_memory()`` of the library traced in the chosen dtype, or, for a mixed
    precision, ``analysis.mixed_precision_memory`` (traced in the half dtype)."""
    import torch
    from cnnbook_lib import analysis, architectures
    mixed = v["dtype"].startswith("mixed ")
    half = v["dtype"].split()[-1]
    s = _memory_summary(v["network"], half)
    if mixed:
        key = ("mixed", v["network"], half)
        if key not in _MEMORY:                     # one trace per network and dtype, batch 1
            with torch.device("meta"):
                model = architectures.build(v["network"])
            _MEMORY[key] = analysis.mixed_precision_memory(
                model, architectures.input_size(v["network"]), optimizer="sgd", half=half)
        # the optimizer changes only its float32 state (plain SGD keeps none)
        state = fm.optimizer_state_bytes(s.params, v["optimizer"], "float32")
        one = dict(_MEMORY[key], optimizer_state=state, total=_MEMORY[key]["total"] + state)
        parts = dict(one, activations=one["activations"] * v["batch"])   # the input's batch is 1
        parts["total"] = one["total"] + one["activations"] * (v["batch"] - 1)
    else:
        parts = dict(s.training_memory(batch_size=v["batch"], dtype=half, optimizer=v["optimizer"]),
                     half_weight_copies=0)
    per_image = s.training_memory(batch_size=1, dtype=half)["activations"]
    fixed = parts["weights"] + parts["gradients"] + parts["optimizer_state"] + parts["half_weight_copies"]
    budget = v["budget_gib"] * 1024 ** 3
    if fixed > budget:
        raise ValueError(f"weights, gradients, optimizer state{' and weight copies' if mixed else ''} "
                         f"alone need {fixed / 1024 ** 3:.2f} GiB, more than the {v['budget_gib']} "
                         f"GiB budget")
    total = parts["total"]
    outputs = {"params": s.params, "states": fm.optimizer_states(v["optimizer"]),
               "elem_bytes": fm.bytes_per_element(half),
               **{k: parts[k] for k in ("weights", "gradients", "optimizer_state",
                                        "half_weight_copies", "activations")},
               "total": total, "per_image": per_image, "fits": (budget - fixed) // per_image,
               "share": parts["activations"] / total}
    rows = [("weights", parts["weights"]), ("gradients", parts["gradients"]),
            ("optimizer state", parts["optimizer_state"])]
    if mixed:
        rows.append(("half-precision weight copies", parts["half_weight_copies"]))
    rows += [("saved activations", parts["activations"]), ("total", total)]
    return {"outputs": outputs,
            "figure": [{"kind": "bars", "title": f"{v['network']}, batch {v['batch']}, "
                                                 f"{v['optimizer']}, {v['dtype']}",
                        "series": ["bytes"], "fmts": ["shortbytes"],
                        "rows": [{"label": label, "values": [x]} for label, x in rows]}]}


def mobilenet_explorer(v: dict, data) -> dict:
    """Counts from the embedded settings (``test_interactives`` holds them against torch and the
    paper); the rules evaluated from the sympy expressions of :mod:`cnnbook_lib.formulas`."""
    s, full = data["settings"][f"{v['width']}/{v['resolution']}"], data["settings"]["1.0/224"]
    alpha, rho = float(v["width"]), int(v["resolution"]) / 224
    rule = float(fm.width_resolution_ratio.subs({fm.alpha_w: alpha, fm.rho_r: rho}))
    dw_rule = float(fm.depthwise_width_resolution_ratio.subs({fm.alpha_w: alpha, fm.rho_r: rho}))
    paper = data["paper"].get(f"{v['width']}/{v['resolution']}")
    kinds = [("first", "first convolution"), ("depthwise", "depthwise 3×3"),
             ("pointwise", "pointwise 1×1"), ("dense", "dense classifier")]
    return {"outputs": {"macs": s["macs"], "params": s["params"], "alpha": alpha, "rho": rho,
                        "ratio": s["macs"] / full["macs"], "rule": rule, "dw_rule": dw_rule,
                        "pointwise_share": s["kind_macs"]["pointwise"] / s["macs"],
                        "paper_top1": f"{paper['top1']} (Table {paper['table']})" if paper
                        else "not published for this setting",
                        "paper_macs": f"{paper['macs_m']} M" if paper else "—"},
            "figure": [{"kind": "bars", "title": f"MobileNet v1, α = {v['width']}, "
                                                 f"{v['resolution']}×{v['resolution']}",
                        "series": ["MACs", "parameters"], "fmts": ["short", "short"],
                        "rows": [{"label": label, "values": [s["kind_macs"][k], s["kind_params"][k]]}
                                 for k, label in kinds]},
                       {"kind": "table", "title": "counted ratio to the full network, by layer kind",
                        "columns": ["layer kind", "MACs ratio", "α²ρ²", "αρ²"],
                        "rows": [[label, s["kind_macs"][k] / full["kind_macs"][k], rule, dw_rule]
                                 for k, label in kinds]}]}


ORACLES = {f.__name__: f for f in (conv_arithmetic, layer_cost, factorization, receptive_stack,
                                   architecture_explorer, conv_algorithms, erf_viewer,
                                   dilation_explorer, channel_shuffle, accuracy_compute,
                                   training_memory, mobilenet_explorer)}
