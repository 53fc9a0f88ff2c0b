"""Receptive-field stack builder: field size and jump layer by layer, and the input pixels that
reach one output unit."""
from __future__ import annotations

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param

MAX_LAYERS = 6


def receptive_stack() -> Interactive:
    """A stack of up to six convolutions: receptive field size, jump, and reached input pixels."""
    params = [
        Param("layers", "layers", 3, 1, MAX_LAYERS, buttons=True),
        Param("n", "input size", 32, 4, 64),
        Param("padding", "padding", "same", control="select", choices=["same", "valid"]),
        Param("unit", "output unit", 3, 0, 63, max_from="unit_max"),
    ]
    defaults = {1: (3, 1), 2: (3, 2), 3: (3, 1)}
    for i in range(1, MAX_LAYERS + 1):
        k0, s0 = defaults.get(i, (3, 1))
        show = ("layers", ">=", i)
        params += [Param(f"k{i}", f"k{i}", k0, 1, 7, visible_when=show),
                   Param(f"s{i}", f"s{i}", s0, 1, 3, visible_when=show),
                   Param(f"d{i}", f"d{i}", 1, 1, 4, visible_when=show)]
    return Interactive(
        name="receptive_stack", title="Receptive-field stack builder",
        minutes=3,
        description="Square layers; 'same' padding is d(k-1)//2. Field size and jump follow the "
                    "recurrence r' = r + d(k-1) j, j' = j s.",
        params=params,
        outputs=[Output("rf", "receptive field r"), Output("jump", "jump j (input pixels)"),
                 Output("out_size", "output size"), Output("unit_sel", "output unit"),
                 Output("first", "first input pixel of its field"),
                 Output("reached", "input pixels reaching it")],
        formulas=[
            Formula("rf", "field size, one layer", "r'", fm.rf_size_step),
            Formula("jump", "jump, one layer", "j'", fm.rf_jump_step),
        ],
    )
