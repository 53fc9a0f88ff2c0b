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
