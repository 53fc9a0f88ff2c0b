"""Dilation-rate explorer: the exact coverage of one unit of a dilated stack, holes highlighted,
and the rule of Wang et al. (2018) for rates without holes."""
from __future__ import annotations

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param

MAX_LAYERS = 5
#: the largest rate a control takes: enough for schedules such as 1, 3, 9, 27
MAX_RATE = 27


def dilation_explorer() -> Interactive:
    """Up to five stride-1 layers of one kernel size with their own dilation rates."""
    params = [
        Param("layers", "layers", 3, 1, MAX_LAYERS, buttons=True),
        Param("k", "kernel K", 3, 2, 4),
    ]
    defaults = {1: 2, 2: 2, 3: 2}
    for i in range(1, MAX_LAYERS + 1):
        params.append(Param(f"d{i}", f"rate r{i}", defaults.get(i, 1), 1, MAX_RATE,
                            visible_when=("layers", ">=", i)))
    return Interactive(
        name="dilation_explorer", title="Dilation-rate explorer",
        minutes=3,
        description="Stride-1 layers of a K×K kernel with dilation rates r1 (bottom) to rn (top). "
                    "The grid is the field of the top unit: blue pixels have a path to it, "
                    "orange ones are holes (a field wider than 81 pixels is drawn along one axis).",
        params=params,
        outputs=[Output("rf", "receptive field (pixels per side)"),
                 Output("reached", "pixels reaching the unit"),
                 Output("holes", "holes inside the field"),
                 Output("paths", "most paths from one pixel"),
                 Output("m3", "M3 of the rule", when=("layers", ">=", 3)),
                 Output("m2", "M2 of the rule", when=("layers", ">=", 2)),
                 Output("verdict", "rule of Wang et al.", fmt="text")],
        formulas=[Formula("m2", "maximum gap, last step", "M_2", fm.hdc_gap_step,
                          subs={"M": "m3", "r": "d2"}, when=("layers", ">=", 3))],
    )
