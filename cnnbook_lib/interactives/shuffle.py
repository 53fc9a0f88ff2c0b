"""Channel-shuffle explorer: which input channels reach each output channel through a stack of
grouped 1x1 layers, with or without ShuffleNet's channel shuffle between them."""
from __future__ import annotations

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param


def channel_shuffle() -> Interactive:
    """Connectivity of stacked grouped layers (C channels, G groups), with or without shuffles."""
    return Interactive(
        name="channel_shuffle", title="Channel-shuffle explorer",
        minutes=3,
        description="A stack of grouped layers, all from C to C channels with G groups; with the "
                    "shuffle on, ShuffleNet's channel shuffle runs between consecutive layers.",
        params=[
            Param("channels", "channels C", 12, 2, 24),
            Param("groups", "groups G", 3, 1, 8),
            Param("layers", "grouped layers", 2, 1, 4, buttons=True),
            Param("shuffle", "shuffle between layers", "on", control="select",
                  choices=["on", "off"]),
        ],
        outputs=[
            Output("per_group", "channels per group C/G"),
            Output("reach_min", "fewest input channels reaching an output channel"),
            Output("reach_max", "most input channels reaching an output channel"),
            Output("full", "every output depends on every input", fmt="text"),
            Output("needed", "grouped layers with shuffles needed for that", fmt="text"),
            Output("macs_ratio", "MACs of each layer / an ungrouped layer", "ratio"),
        ],
        formulas=[
            Formula("macs_ratio", "grouped over ungrouped", "ratio", fm.grouped_ratio,
                    {"G": "groups"}),
        ],
    )
