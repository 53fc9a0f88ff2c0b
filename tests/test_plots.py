"""The figure helpers: style applied and restored, figures detached from pyplot, log axes."""
import matplotlib
import numpy as np
import pytest

from cnnbook_lib import plots


def test_style_is_scoped():
    before = matplotlib.rcParams["axes.spines.top"]
    with plots.style():
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["figure.dpi"] == plots.STYLE["figure.dpi"]
    assert matplotlib.rcParams["axes.spines.top"] == before


def test_figure_is_detached_from_pyplot():
    import matplotlib.pyplot as plt
    fig, axes = plots.figure(2, width=8, height=3)
    assert len(axes) == 2
    assert fig.number not in plt.get_fignums()
    assert tuple(fig.get_size_inches()) == (8, 3)


def test_label_adds_units():
    fig, ax = plots.figure()
    plots.label(ax, "time", "MACs", xunit="s")
    assert ax.get_xlabel() == "time [s]" and ax.get_ylabel() == "MACs"


def test_loglog_compare():
    fig, ax = plots.figure()
    plots.loglog_compare(ax, [1e-4, 1e-2], [2e-4, 1e-2], "predicted", "measured", unit="s",
                         labels=["a", "b"])
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_xlabel() == "predicted [s]"
    lo, hi = ax.get_xlim()
    assert lo < 1e-4 and hi > 1e-2
    with pytest.raises(ValueError, match="positive"):
        plots.loglog_compare(ax, [0, 1], [1, 1], "x", "y")
    with pytest.raises(ValueError, match="differ in length"):
        plots.loglog_compare(ax, [1, 2], [1], "x", "y")


def test_grid_values_writes_every_value():
    fig, ax = plots.figure()
    a = np.arange(6).reshape(2, 3) - 2
    plots.grid_values(ax, a)
    assert [t.get_text() for t in ax.texts] == [str(v) for v in a.ravel()]


def test_spans_orders():
    assert plots.spans_orders([1, 10, 1000])
    assert not plots.spans_orders([1, 2, 50])
    assert not plots.spans_orders([0, 5])


def _labels(ax, which="y"):
    ax.figure.canvas.draw()
    axis = ax.yaxis if which == "y" else ax.xaxis
    return ([t.get_text() for t in axis.get_majorticklabels() if t.get_text()],
            [t.get_text() for t in axis.get_minorticklabels() if t.get_text()])


def test_log_axes_label_ticks_as_plain_numbers():
    """A log axis spanning less than a decade labels its minor ticks 20, 30, 60, not 6×10¹."""
    fig, ax = plots.figure()
    ax.plot([15, 90], [15, 90])
    plots.log_axes(ax)
    ax.set_ylim(15, 90)
    major, minor = _labels(ax)
    assert ax.get_yscale() == "log"
    assert {"20", "30", "60"} <= set(minor) and "10" in major
    assert not any("times" in s or "×" in s or "^" in s for s in major + minor)
    ax.set_ylim(0.5, 5e4)
    major, _ = _labels(ax)
    assert {"1", "10", "100", "1000", "10k"} <= set(major)
    ax.set_ylim(2e-6, 2e-3)
    assert {"0.001", "$10^{\N{MINUS SIGN}4}$"} <= set(_labels(ax)[0])


def test_loglog_compare_ticks_carry_the_unit():
    fig, ax = plots.figure()
    plots.loglog_compare(ax, [1e-4, 1e-2], [2e-4, 1e-2], "predicted", "measured", unit="s")
    major, _ = _labels(ax, "x")
    assert {"100 µs", "1 ms", "10 ms"} <= set(major)


def test_identity_line_is_one_dashed_line():
    """Fig. 1.4: one dashed y = x for all families (several dashed copies overlap into a solid look)."""
    fig, ax = plots.figure()
    for part in ([1e-4, 1e-3], [2e-3, 1e-2]):
        plots.loglog_compare(ax, part, part, "predicted", "measured", unit="s", diagonal=False)
    line = plots.identity_line(ax, 1e-5, 1e-1)
    assert ax.get_lines() == [line]
    assert line.get_linestyle() == "--"
    assert list(line.get_xdata()) == list(line.get_ydata()) == [1e-5, 1e-1]
    with pytest.raises(ValueError, match="0 < lo < hi"):
        plots.identity_line(ax, 1, 1)
    fig, ax = plots.figure()
    plots.loglog_compare(ax, [1e-4, 1e-2], [2e-4, 1e-2], "p", "m")
    assert len(ax.get_lines()) == 1 and ax.get_lines()[0].get_linestyle() == "--"


def test_family_colors_are_stable_and_distinct():
    a = plots.family_colors(["dilated", "3x3", "grouped"])
    b = plots.family_colors(["grouped", "3x3", "dilated", "3x3"])
    assert a == b and len(set(a.values())) == 3
    with pytest.raises(ValueError, match="at most"):
        plots.family_colors([str(i) for i in range(20)])


def test_roofline_draws_ceilings_and_labels_the_ridge_point():
    fig, ax = plots.figure()
    ridge = plots.roofline(ax, peak=100e9, bandwidth=10e9, intensity=[0.5, 50])
    assert ridge == 10
    x, y = ax.get_lines()[0].get_data()
    assert np.allclose(y, np.minimum(100, x * 10))
    assert ax.get_lines()[1].get_xdata()[0] == 10            # the ridge point's vertical line
    texts = [t.get_text() for t in ax.texts]
    assert any("peak 100 GFLOP/s" in s for s in texts)
    assert any("bandwidth 10.0 GB/s" in s for s in texts)
    assert any("ridge point 10.0 FLOP/byte" in s for s in texts)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="positive"):
        plots.roofline(ax, 0, 1, [1])
    with pytest.raises(ValueError, match="intensity"):
        plots.roofline(ax, 1, 1, [])


def test_layer_blocks_draw_one_block_per_row():
    """Block heights are the output sides, widths grow with log2 of the channels (written above)."""
    import pandas as pd
    table = pd.DataFrame({"layer": ["conv1", "pool1", "block1", "fc1"],
                          "output": ["64×112×112", "64×56×56", "256×56×56", "1000"]})
    fig, ax = plots.figure()
    plots.layer_blocks(ax, table, title="t", labels=["a", "b", "c", "d"])
    bars = [p for p in ax.patches if p.get_height() > 0]
    assert [round(p.get_y() + p.get_height()) for p in bars] == [112, 56, 56, 1]
    widths = [p.get_width() for p in bars]
    assert np.allclose(widths, [0.3 + 0.12 * np.log2(c) for c in (64, 64, 256, 1000)])
    assert [t.get_text() for t in ax.texts] == ["64", "64", "256", "1000"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert ax.get_yscale() == "log" and ax.get_ylim()[1] == 112 * 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "convolution", "pooling", "block", "dense"]
    with pytest.raises(ValueError, match="2 labels for 4 layers"):
        plots.layer_blocks(ax, table, labels=["a", "b"])
    with pytest.raises(ValueError, match="no colour for the layer kind"):
        plots.layer_blocks(ax, pd.DataFrame({"layer": ["weird1"], "output": ["3×4×4"]}))


def test_category_grid_colours_equal_ids_alike():
    """Each id gets one colour (the same in a second grid given the first's mapping), and its
    text is readable on it (white on the darker colours)."""
    ids = np.array([[1, 2], [2, 3]])
    fig, axes = plots.figure(2)
    colours = plots.category_grid(axes[0], ids, title="t")
    assert colours == {1: plots.CATEGORY_COLORS[0], 2: plots.CATEGORY_COLORS[1],
                       3: plots.CATEGORY_COLORS[2]}
    image = axes[0].get_images()[0].get_array()
    assert np.allclose(image[0, 1], image[1, 0]) and not np.allclose(image[0, 0], image[1, 1])
    assert [t.get_text() for t in axes[0].texts] == ["1", "2", "2", "3"]
    assert axes[0].texts[0].get_color() == "white"                  # on dark blue
    again = plots.category_grid(axes[1], np.array([[3, 1]]), colors=colours)
    assert again == colours
    assert np.allclose(axes[1].get_images()[0].get_array()[0, 0], image[1, 1])
    with pytest.raises(ValueError, match="no colour for the ids \\[9\\]"):
        plots.category_grid(axes[1], np.array([[9]]), colors=colours)
    with pytest.raises(ValueError, match="at most 20 ids"):
        plots.category_grid(axes[1], np.arange(21).reshape(3, 7))
    with pytest.raises(ValueError, match="2-D"):
        plots.category_grid(axes[1], np.arange(3))


def test_outline_frames_the_cells_it_names():
    fig, ax = plots.figure()
    ax.imshow(np.zeros((6, 6)))
    rect = plots.outline(ax, 1, 2, 4, 3, color="#d62728", inset=0.1, fill_alpha=0.2)
    assert rect in ax.patches
    assert np.allclose(rect.get_xy(), (1.6, 0.6))
    assert np.isclose(rect.get_width(), 2.8) and np.isclose(rect.get_height(), 3.8)
    assert np.isclose(rect.get_facecolor()[3], 0.2)
    assert not plots.outline(ax, 0, 0, 1, 1, color="k").get_fill()
    with pytest.raises(ValueError, match="height and width"):
        plots.outline(ax, 0, 0, 0, 2, color="k")
    with pytest.raises(ValueError, match="inset"):
        plots.outline(ax, 0, 0, 2, 2, color="k", inset=1.0)


def test_weight_pattern_counts_distinct_weights_like_numel():
    """Dense, locally connected and convolution matrices of a 1-D layer (n=5, k=3): the count
    returned is the layer's numel(), shared weights get colours and absent ones the pale one."""
    import torch
    n, k = 5, 3
    m = n - k + 1
    dense = np.arange(m * n).reshape(m, n)
    local = -np.ones((m, n), dtype=int)
    conv = -np.ones((m, n), dtype=int)
    for i in range(m):
        local[i, i:i + k] = np.arange(k) + k * i
        conv[i, i:i + k] = np.arange(k)
    fig, axes = plots.figure(3)
    assert plots.weight_pattern(axes[0], dense) == torch.nn.Linear(n, m, bias=False).weight.numel()
    assert plots.weight_pattern(axes[1], local) == m * k
    assert plots.weight_pattern(axes[2], conv, legend=True) == torch.nn.Conv1d(1, 1, k, bias=False).weight.numel()
    rgb = axes[2].get_images()[0].get_array()
    assert np.allclose(rgb[0, 0], rgb[1, 1]) and not np.allclose(rgb[0, 0], rgb[0, 1])
    assert np.allclose(rgb[0, 4], matplotlib.colors.to_rgb(plots.NO_WEIGHT_COLOR))
    assert np.allclose(axes[1].get_images()[0].get_array()[0, 0],
                       matplotlib.colors.to_rgb(plots.FREE_WEIGHT_COLOR))
    labels = [t.get_text() for t in axes[2].get_legend().get_texts()]
    assert labels == ["no weight (always 0)"] + [f"shared weight {v}" for v in range(k)]
    with pytest.raises(ValueError, match="integer"):
        plots.weight_pattern(axes[0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="at most 10 shared"):
        plots.weight_pattern(axes[0], np.tile(np.arange(11), (2, 1)))


def test_window_positions_count_matches_torch():
    """The windows drawn are as many as torch's output size, and the unread cells are exactly
    the input cells that no output's receptive window touches (found with autograd)."""
    import random
    import torch
    rng = random.Random(1)
    for _ in range(40):
        n, k, s, p, d = rng.randint(1, 12), rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2)
        fig, ax = plots.figure()
        if d * (k - 1) + 1 > n + 2 * p:
            with pytest.raises(ValueError, match="larger than padded input"):
                plots.window_positions(ax, n, k, s, p, d)
            continue
        x = torch.zeros(1, 1, n, requires_grad=True)
        y = torch.nn.functional.conv1d(x, torch.ones(1, 1, k), stride=s, padding=p, dilation=d)
        y.sum().backward()
        assert plots.window_positions(ax, n, k, s, p, d) == y.shape[-1]
        red = [r for r in ax.patches if r.get_edgecolor()[:3] == matplotlib.colors.to_rgb(plots.COLORS["measured"])]
        assert len(red) == int((x.grad == 0).sum())
    with pytest.raises(ValueError, match="s must be"):
        plots.window_positions(ax, 5, 3, 0)


def test_box3d_draws_three_faces():
    fig, ax = plots.figure()
    front, top, side = plots.box3d(ax, 1, 2, 3, 4, 2, color="#1f5fa8", slant=0.5)
    assert len(ax.patches) == 3
    assert np.allclose(front.get_xy()[:4], [(1, 2), (4, 2), (4, 6), (1, 6)])
    assert np.allclose(top.get_xy()[2], (5, 7))            # back corner: depth 2 x slant 0.5
    with pytest.raises(ValueError, match="width, height"):
        plots.box3d(ax, 0, 0, 0, 1, 1, color="k")


def test_label_points_never_overlaps_two_names():
    """Names of crowded points: the first ones are drawn, none overlaps another, none leaves
    the axes; on a figure whose canvas is not Agg (as in a notebook's inline backend) too."""
    import matplotlib
    from matplotlib.figure import Figure
    from cnnbook_lib import plots
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    xs = [1, 1.01, 1.02, 5, 9]
    ys = [1, 1.01, 1.0, 5, 9.9]
    ax.scatter(xs, ys)
    ax.set_xlim(0, 10), ax.set_ylim(0, 10)
    drawn = plots.label_points(ax, xs, ys, ["first", "second", "third", "far", "edge-of-the-axes"])
    assert drawn[0] == "first" and "far" in drawn and "second" not in drawn
    assert "edge-of-the-axes" not in drawn                   # it would leave the axes
    boxes = [t.get_window_extent() for t in ax.texts]
    assert len(boxes) == len(drawn)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
