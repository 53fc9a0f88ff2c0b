"""Training-memory calculator: weights, gradients, optimizer state and saved activations of one
training step, by network, batch size, optimizer and precision (one dtype for every tensor, or automatic mixed
precision); the largest batch under a budget.

The data is computed once per process by :func:`cnnbook_lib.analysis.summarize` in training mode
at each network's own input, batch 1, traced in float32 and in float16: the saved bytes that halve
are floating-point tensors, the rest (max pooling's int64 indices) keep their size. The view
(``js/training_memory.js``) evaluates the library's formulas (``tensor_bytes``,
``optimizer_state_bytes``, ``scaled_activation_bytes``, compiled from sympy) on them, as
``Summary.training_memory()`` does.
"""
from __future__ import annotations

from functools import lru_cache

from .. import formulas as fm
from .core import Formula, Interactive, Output, Param

#: The networks the calculator offers (each is traced twice when the page is built).
NETWORKS = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0",
            "convnext_tiny", "vit_b_16")
DTYPES = ("float32", "float16", "bfloat16")
#: the precisions the calculator offers: every tensor in one dtype, or automatic mixed precision
#: (``torch.autocast``: float32 parameters, gradients and optimizer state, half-precision copies of
#: the convolution and linear weights, half-precision activations; see
#: :mod:`cnnbook_lib.analysis.memory`)
PRECISIONS = ("float32", "mixed float16", "mixed bfloat16", "float16", "bfloat16")


@lru_cache(maxsize=None)
def network_memory(name: str) -> dict:
    """Parameters and the saved bytes per image (floating-point part, other part) of ``name``."""
    import torch

    from .. import analysis, architectures
    with torch.device("meta"):
        model = architectures.build(name)
    size = architectures.input_size(name)
    s32, s16 = (analysis.summarize(model, size, dtype=d, training=True) for d in ("float32", "float16"))
    a32, a16 = s32.saved_activation_bytes, s16.saved_activation_bytes
    float_saved = (a32 - a16) // 2                  # elements of the floating-point saved tensors
    other = a32 - 4 * float_saved
    if (a32 - a16) % 2 or other < 0:
        raise ValueError(f"{name}: saved bytes {a32} (float32) and {a16} (float16) do not split")
    return {"params": s32.params, "float_saved": float_saved, "other_saved": other,
            "cast_weights": analysis.autocast_weight_elements(model), "input": list(size)}


def memory_data(names=NETWORKS) -> dict:
    """The embedded data: per network :func:`network_memory`, the bytes of each dtype and the
    optimizers' state counts (:data:`cnnbook_lib.formulas.OPTIMIZER_STATES`)."""
    return {"networks": {n: network_memory(n) for n in names},
            "dtype_bytes": {d: fm.bytes_per_element(d) for d in DTYPES},
            "optimizer_states": dict(fm.OPTIMIZER_STATES)}


def training_memory(names=NETWORKS) -> Interactive:
    """Memory of one training step and the largest batch that fits a budget."""
    names = list(names)
    return Interactive(
        name="training_memory", title="Training-memory calculator",
        minutes=3,
        description="One training step: weights, their gradients, the optimizer's state and the "
                    "activations autograd saves (traced by cnnbook_lib.analysis at the network's "
                    "own input). 'float16' and 'bfloat16' put every tensor in that dtype; 'mixed' "
                    "is automatic mixed precision as torch.autocast runs it: float32 weights, "
                    "gradients and optimizer state, half-precision copies of the convolution and "
                    "linear weights, half-precision activations. Leaves out temporary buffers and "
                    "the allocator's slack, which a real process adds.",
        params=[Param("network", "network", "resnet50" if "resnet50" in names else names[0],
                      control="select", choices=names),
                Param("batch", "batch size", 32, 1, 512),
                Param("optimizer", "optimizer", "adam", control="select",
                      choices=list(fm.OPTIMIZER_STATES)),
                Param("dtype", "precision", "float32", control="select", choices=list(PRECISIONS)),
                Param("budget_gib", "memory budget (GiB)", 16, 1, 192, control="number")],
        outputs=[Output("params", "parameters"), Output("states", "optimizer values per parameter"),
                 Output("elem_bytes", "bytes per activation value"),
                 Output("weights", "weights", "bytes"), Output("gradients", "gradients", "bytes"),
                 Output("optimizer_state", "optimizer state", "bytes"),
                 Output("half_weight_copies", "half-precision weight copies", "bytes"),
                 Output("activations", "saved activations", "bytes"),
                 Output("total", "total", "bytes"),
                 Output("per_image", "saved activations per image", "bytes"),
                 Output("fits", "largest batch within the budget"),
                 Output("share", "activations' share of the total", "ratio")],
        formulas=[Formula("optimizer_state", "optimizer state", "M_opt",
                          fm.optimizer_state_bytes_expr,
                          subs={"m_opt": "states", "N_params": "params", "b": "elem_bytes"}),
                  Formula("activations", "saved activations", "M_act",
                          fm.scaled_activation_bytes_expr,
                          subs={"A": "per_image", "N": 1, "N_new": "batch"})],
        data=memory_data(names),
    )
