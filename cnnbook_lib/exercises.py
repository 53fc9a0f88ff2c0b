"""Automatic answer checks for the book's exercises.

Each numeric exercise registers one :class:`Check`: the right answer, computed by the library (never
typed in), and the wrong answers that typical mistakes produce, each with a hint. A student calls

>>> from cnnbook_lib.exercises import check
>>> check("conv-out-size-1", 55)                     # doctest: +SKIP
Correct: 55.

and an instructor lists every check with :func:`list_checks`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

from . import formulas as F


@dataclass
class Result:
    """Outcome of a check: ``correct`` and a message for the student."""

    exercise_id: str
    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.correct else "#b42318"
        return f'<p style="color:{colour}"><strong>{self.message}</strong></p>'


@dataclass
class Check:
    """One exercise's answer check."""

    id: str
    chapter: int
    difficulty: str                   # "easy", "medium" or "hard"
    question: str
    answer: Callable[[], float]       # the right answer, computed by the library
    mistakes: dict[str, Callable[[], float]] = field(default_factory=dict)   # hint -> wrong answer
    rel_tol: float = 0.0              # 0: exact integer answer
    unit: str = ""

    def expected(self) -> float:
        """The right answer, computed now by the library."""
        return self.answer()

    def _matches(self, value: float, target: float) -> bool:
        if self.rel_tol == 0:
            return value == target
        return math.isclose(value, target, rel_tol=self.rel_tol)

    def __call__(self, answer) -> Result:
        value = _number(answer)
        if value is None:
            return Result(self.id, False, f"Please answer with a number, not {answer!r}.")
        if not math.isfinite(value):
            return Result(self.id, False, f"Please answer with a finite number, not {answer!r}.")
        unit = f" {self.unit}" if self.unit else ""
        if self._matches(value, self.expected()):
            shown = answer.strip() if isinstance(answer, str) else answer
            return Result(self.id, True, f"Correct: {shown}{unit}.")
        for hint, wrong in self.mistakes.items():
            if self._matches(value, wrong()):
                return Result(self.id, False, f"Not quite: {hint}")
        return Result(self.id, False, "Not quite. Check each factor of the formula against the "
                                      "layer's settings and try again.")


def _number(answer) -> float | None:
    """A numeric answer: an int or float (not a bool), or a string of one as the book prints them
    (``"73,856"``, ``"73 856"``, ``"1.5e9"``, ``"0.125"``); None for anything else."""
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, str):
        text = answer.strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
            text = text.replace(",", "")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
            return None
        return float(text)
    try:
        return float(answer)
    except (TypeError, ValueError, OverflowError):
        return None


CHECKS: dict[str, Check] = {}


def register(check_: Check) -> Check:
    """Add a check to the registry (ids are unique)."""
    if check_.id in CHECKS:
        raise ValueError(f"exercise id {check_.id!r} is already registered")
    if check_.difficulty not in ("easy", "medium", "hard"):
        raise ValueError(f"difficulty must be easy, medium or hard, got {check_.difficulty!r}")
    CHECKS[check_.id] = check_
    return check_


def check(exercise_id: str, answer) -> Result:
    """Check a student's answer; the result says right or wrong and, if wrong, why it may be."""
    if exercise_id not in CHECKS:
        raise ValueError(f"unknown exercise id {exercise_id!r}; valid: {', '.join(sorted(CHECKS))}")
    return CHECKS[exercise_id](answer)


def list_checks(chapter: int | None = None) -> list[dict]:
    """Every check (optionally of one chapter): id, chapter, difficulty, question."""
    return [dict(id=c.id, chapter=c.chapter, difficulty=c.difficulty, question=c.question)
            for c in sorted(CHECKS.values(), key=lambda c: (c.chapter, c.id))
            if chapter is None or c.chapter == chapter]


# ---------------------------------------------------------------------------------------------
# Chapter 1: convolution
# ---------------------------------------------------------------------------------------------

register(Check(
    id="conv-out-size-1", chapter=1, difficulty="easy",
    question="Output width of an 11x11, stride-4 convolution without padding on a 227-pixel input.",
    answer=lambda: F.conv_output_size(227, 11, 4),
    mistakes={
        # floor((227 - 11) / 4) happens to equal the output of a 224-pixel input
        "you forgot the +1 (a kernel that fits exactly once still gives one output), or you used "
        "the 224-pixel input that the AlexNet paper states: floor((224 - 11)/4) + 1 is 54 too. "
        "This layer gets 227 pixels.":
            lambda: (227 - 11) // 4,
        "you divided the whole input by the stride; subtract the kernel first.":
            lambda: 227 // 4,
        "that is (224 - 11)/4 + 1 without rounding down, for the AlexNet paper's 224-pixel input. "
        "This layer gets 227 pixels, and the floor makes every output size a whole number.":
            lambda: (224 - 11) / 4 + 1,
    },
))

register(Check(
    id="conv-params-1", chapter=1, difficulty="easy",
    question="Parameters of a 3x3 convolution from 64 to 128 channels, with bias.",
    answer=lambda: F.conv_params(64, 128, 3),
    mistakes={
        "you left out the biases (one per output channel).":
            lambda: F.conv_params(64, 128, 3, bias=False),
        "you counted one bias per input channel instead of one per output channel.":
            lambda: F.conv_params(64, 128, 3, bias=False) + 64,
        "each filter spans all input channels: multiply by C_in as well.":
            lambda: 128 * 9 + 128,
    },
))

register(Check(
    id="conv-macs-1", chapter=1, difficulty="medium",
    question="Multiply-accumulates of a 3x3 convolution, 64 to 128 channels, stride 1, padding 1, "
             "on a 56x56 input, batch 32.",
    answer=lambda: F.conv_macs(64, 128, 3, F.conv_output_size(56, 3, 1, 1), batch=32),
    mistakes={
        "that is the FLOP count: one multiply-accumulate is two FLOPs.":
            lambda: 2 * F.conv_macs(64, 128, 3, 56, batch=32),
        "you left out the batch of 32.":
            lambda: F.conv_macs(64, 128, 3, 56),
        "with padding 1 the output stays 56x56; you used the unpadded 54x54.":
            lambda: F.conv_macs(64, 128, 3, 54, batch=32),
    },
))

register(Check(
    id="conv-dilated-out-1", chapter=1, difficulty="easy",
    question="Output width of a 3x3 convolution with dilation 2, stride 1 and padding 1 on a "
             "32-pixel input.",
    answer=lambda: F.conv_output_size(32, 3, 1, 1, 2),
    mistakes={
        "dilation spreads the kernel: its extent is d(k-1)+1, not k.":
            lambda: F.conv_output_size(32, 3, 1, 1),
        "the dilated extent is d(k-1)+1, not d*k.":
            lambda: 32 + 2 - 2 * 3 + 1,
    },
))

register(Check(
    id="pool-out-1", chapter=1, difficulty="easy",
    question="Output width of 3x3 max pooling with stride 2, no padding and ceil_mode=True on a "
             "56-pixel input.",
    answer=lambda: F.pool_output_size(56, 3, 2, ceil_mode=True),
    mistakes={
        "with ceil_mode=True the division rounds up, so a last partial window is kept.":
            lambda: F.pool_output_size(56, 3, 2),
        "you forgot the +1 after the division.":
            lambda: (56 - 3) // 2,
    },
))

register(Check(
    id="transposed-out-1", chapter=1, difficulty="medium",
    question="Output width of a transposed convolution with kernel 4, stride 2, padding 1 and "
             "output_padding 0 on a 7-pixel input.",
    answer=lambda: F.conv_transpose_output_size(7, 4, 2, 1),
    mistakes={
        "that is the ordinary convolution's output size; a transposed convolution enlarges.":
            lambda: F.conv_output_size(7, 4, 2, 1),
        "padding crops 2p outputs of a transposed convolution; you left it out.":
            lambda: F.conv_transpose_output_size(7, 4, 2, 0),
        "padding crops 2p outputs of a transposed convolution; you added it instead.":
            lambda: (7 - 1) * 2 + 2 * 1 + 4,
    },
))

register(Check(
    id="dense-params-1", chapter=1, difficulty="easy",
    question="Parameters of a dense layer (with bias) from a 32x32x3 image to a 32x32x16 output.",
    answer=lambda: F.linear_params(32 * 32 * 3, 32 * 32 * 16),
    mistakes={
        "you left out the biases (one per output feature).":
            lambda: F.linear_params(32 * 32 * 3, 32 * 32 * 16, bias=False),
        "that is a 3x3 convolution's count; a dense layer connects every input to every output.":
            lambda: F.conv_params(3, 16, 3),
    },
))

register(Check(
    id="conv-activation-bytes-1", chapter=1, difficulty="medium",
    question="Bytes of the float32 output of a 3x3 convolution, 64 to 128 channels, stride 1, "
             "padding 1, on 56x56 inputs, batch 32.",
    answer=lambda: F.conv_activation_bytes(128, F.conv_output_size(56, 3, 1, 1), 32),
    mistakes={
        "that is the number of elements: float32 takes 4 bytes each.":
            lambda: F.conv_activation_bytes(128, 56, 32) // 4,
        "you left out the batch of 32.":
            lambda: F.conv_activation_bytes(128, 56, 1),
        "that is the input (64 channels); the output has 128.":
            lambda: F.conv_backward_cache_bytes(64, 56, 32),
    },
))

register(Check(
    id="im2col-bytes-1", chapter=1, difficulty="medium",
    question="Bytes of the float32 im2col patch matrix of a 3x3 convolution on a 64x56x56 input, "
             "stride 1, padding 1, batch 1.",
    answer=lambda: F.im2col_bytes(64, 3, F.conv_output_size(56, 3, 1, 1)),
    mistakes={
        "every input value is copied into up to k*k columns: multiply the input by k^2.":
            lambda: F.tensor_bytes((1, 64, 56, 56)),
        "that is the number of elements: float32 takes 4 bytes each.":
            lambda: F.im2col_elements(64, 3, 56),
        "with padding 1 there are 56x56 output positions, not 54x54.":
            lambda: F.im2col_bytes(64, 3, 54),
    },
))

register(Check(
    id="backward-flops-grouped-1", chapter=1, difficulty="hard",
    question="Backward-pass FLOPs (input gradient plus weight gradient) of a depthwise 3x3 "
             "convolution with 32 channels (groups=32), stride 1, padding 1, on 28x28 inputs, "
             "batch 8.",
    answer=lambda: F.macs_to_flops(F.conv_backward_macs(32, 32, 3, 28, groups=32, batch=8)),
    mistakes={
        "that is torch's FlopCounterMode figure: it counts the grouped weight gradient G times "
        "too high.":
            lambda: F.macs_to_flops(F.conv_macs(32, 32, 3, 28, groups=32, batch=8) * (1 + 32)),
        "those are MACs; one MAC is two FLOPs.":
            lambda: F.conv_backward_macs(32, 32, 3, 28, groups=32, batch=8),
        "a depthwise filter sees one input channel: divide by the groups.":
            lambda: F.macs_to_flops(F.conv_backward_macs(32, 32, 3, 28, batch=8)),
    },
))

register(Check(
    id="winograd-mults-1", chapter=1, difficulty="medium",
    question="Multiplications of Winograd F(2x2, 3x3) for a 3x3 convolution, 16 to 16 channels, "
             "on a 15x15 output, batch 1 (transforms not counted).",
    answer=lambda: F.winograd_multiplications(16, 16, 15),
    mistakes={
        "that is direct convolution's count; Winograd needs 16 products per 2x2 tile.":
            lambda: F.conv_macs(16, 16, 3, 15),
        "an odd output size still needs a whole last tile: ceil(15/2) tiles per axis, not floor.":
            lambda: 16 * 16 * (15 // 2) ** 2 * 16,
        "each tile needs (m+r-1)^2 = 16 products per channel pair, not 4.":
            lambda: 16 * 16 * 8 ** 2 * 4,
        "that is direct convolution's count divided by the ideal ratio m^2 r^2/(m+r-1)^2, as if "
        "(15/2)^2 = 56.25 tiles covered the output. Tiles are whole: ceil(15/2) = 8 per axis, and "
        "the last tile's extra outputs are computed too.":
            lambda: F.conv_macs(16, 16, 3, 15)
            / float(F.winograd_reduction_expr.subs({F.wino_m: 2, F.wino_r: 3})),
    },
))

register(Check(
    id="attention-macs-1", chapter=1, difficulty="medium",
    question="MACs of one self-attention layer of width 768 over the 16x16 patches of a 224x224 "
             "image, batch 1.",
    answer=lambda: F.attention_macs(F.conv_output_size(224, 16, 16) ** 2, 768),
    mistakes={
        "attention runs over patches, not pixels: 224/16 = 14 per axis.":
            lambda: F.attention_macs(224 * 224, 768),
        "you counted the scores and the weighted sum but not the four projections (4 T D^2).":
            lambda: 2 * (F.conv_output_size(224, 16, 16) ** 2) ** 2 * 768,
        "that is FLOPs; one MAC is two FLOPs.":
            lambda: F.macs_to_flops(F.attention_macs(F.conv_output_size(224, 16, 16) ** 2, 768)),
    },
))


# ---------------------------------------------------------------------------------------------
# Chapter 4: architectures, read as per-layer tables
# ---------------------------------------------------------------------------------------------

#: Layer types of a per-layer table and the prefix of their row names (conv1, pool1, fc1, ...).
_TABLE_KINDS = {"Conv2d": "conv", "PartialConv": "conv", "Linear": "fc", "MaxPool2d": "pool",
                "AvgPool2d": "pool", "Subsample": "pool", "AdaptiveAvgPool2d": "pool",
                "LocalResponseNorm": "lrn", "EuclideanRBF": "rbf"}

#: The columns of a per-layer table that an exercise may blank.
TABLE_COLUMNS = ("volume", "params", "macs", "activation_bytes")


def layer_table(name: str, input_size, **options):
    """Per-layer table of network ``name`` (built on the meta device, traced by
    :func:`cnnbook_lib.analysis.summarize` at ``input_size``, batch first).

    One row per top-level layer that computes or changes the shape: convolutions, dense layers,
    pooling (an adaptive pooling that keeps the shape is left out), normalization; activations,
    dropout and flattening are left out (they keep the volume and have no parameters). Rows are
    named by kind in order (``conv1``, ``pool1``, ``lrn1``, ``fc1``, ...). Columns: ``layer``,
    ``type``, ``output`` (C x H x W), ``volume`` (output elements per image), ``params``,
    ``macs``, ``activation_bytes`` (the output in the trace's dtype), and, not shown in the book's
    tables, ``module`` (the layer itself) and ``input`` (its input shape).
    """
    import pandas as pd
    import torch

    from . import analysis, architectures

    with torch.device("meta"):
        model = architectures.build(name, **options)
    s = analysis.summarize(model, input_size)
    groups: dict[str, list] = {}
    for r in s.rows:
        groups.setdefault(r.name.split(".")[0], []).append(r)
    modules, counters, rows = dict(model.named_children()), {}, []
    for top, group in groups.items():
        module = modules.get(top)
        kind = _TABLE_KINDS.get(type(module).__name__)
        own = next((r for r in group if r.name == top), group[-1])
        if kind is None or (kind == "pool" and own.input_shape == own.output_shape
                            and type(module).__name__.startswith("Adaptive")):
            if any(r.params or r.macs for r in group):
                raise ValueError(f"{name}: layer {top} ({type(module).__name__}) has a cost but "
                                 "no row kind in the table")
            continue
        counters[kind] = counters.get(kind, 0) + 1
        out = tuple(own.output_shape[1:])
        rows.append({"layer": f"{kind}{counters[kind]}", "type": type(module).__name__,
                     "output": "×".join(map(str, out)), "volume": math.prod(out),
                     "params": sum(r.params for r in group), "macs": sum(r.macs for r in group),
                     "activation_bytes": own.activation_bytes, "module": module,
                     "input": tuple(own.input_shape[1:])})
    table = pd.DataFrame(rows)
    table.attrs.update(params=s.params, macs=s.macs, network=name, input_size=tuple(input_size))
    return table


#: The fill-in-the-table exercises: the network, how it is built, its input, the blanked cells.
FILL_IN_TABLES = {
    "alexnet": dict(name="alexnet", options={"variant": "paper"}, input_size=(1, 3, 227, 227),
                    blanks=(("conv1", "volume"), ("pool1", "volume"), ("conv2", "params"),
                            ("conv2", "macs"), ("conv3", "params"), ("fc1", "params"),
                            ("conv5", "activation_bytes"))),
    "vgg16": dict(name="vgg16", options={}, input_size=(1, 3, 224, 224),
                  blanks=(("conv2", "macs"), ("pool1", "volume"), ("conv13", "params"),
                          ("fc1", "params"), ("conv1", "activation_bytes"))),
}

_TABLES: dict = {}


def _fill_in_source(table_id: str):
    if table_id not in FILL_IN_TABLES:
        raise ValueError(f"unknown table {table_id!r}; valid: {', '.join(FILL_IN_TABLES)}")
    if table_id not in _TABLES:
        spec = FILL_IN_TABLES[table_id]
        _TABLES[table_id] = layer_table(spec["name"], spec["input_size"], **spec["options"])
    return _TABLES[table_id]


def fill_in_check_id(table_id: str, layer: str, column: str) -> str:
    """The id of the check of one blank cell, e.g. ``table-alexnet-conv2-params``."""
    return f"table-{table_id}-{layer}-{column.replace('_', '-')}"


def fill_in_table(table_id: str):
    """The per-layer table of exercise ``table_id`` (:data:`FILL_IN_TABLES`) with its blank
    cells shown as ``??? (a)``, ``??? (b)``, ...; ``attrs["blanks"]`` maps each letter to the id of
    the check that grades it (``check(id, answer)``)."""
    spec = FILL_IN_TABLES.get(table_id)
    table = _fill_in_source(table_id)
    shown = table.drop(columns=["module", "input"]).astype(object)
    for c in TABLE_COLUMNS:
        shown[c] = [f"{v:,}" for v in table[c]]
    blanks = {}
    position = {layer: i for i, layer in enumerate(table.layer)}
    ordered = sorted(spec["blanks"], key=lambda b: (position[b[0]], TABLE_COLUMNS.index(b[1])))
    for letter, (layer, column) in zip("abcdefghijklmnopqrstuvwxyz", ordered):
        shown.loc[shown.layer == layer, column] = f"??? ({letter})"
        blanks[letter] = fill_in_check_id(table_id, layer, column)
    shown.attrs.update(table.attrs, blanks=blanks)
    return shown


def _cell(table_id: str, layer: str, column: str):
    table = _fill_in_source(table_id)
    return int(table.loc[table.layer == layer, column].iloc[0])


def _row(table_id: str, layer: str) -> dict:
    table = _fill_in_source(table_id)
    return table.loc[table.layer == layer].iloc[0].to_dict()


def _previous(table_id: str, layer: str) -> dict:
    table = _fill_in_source(table_id)
    i = int((table.layer == layer).to_numpy().argmax())
    return table.iloc[i - 1].to_dict()


def _fill_in_mistakes(table_id: str, layer: str, column: str) -> dict[str, Callable[[], float]]:
    """Wrong answers that typical mistakes give for one cell, each computed by the formulas."""
    r = _row(table_id, layer)
    m, out, inp = r["module"], r["output"], r["input"]
    c_out, h_out = (int(x) for x in out.split("×")[:2]) if "×" in out else (int(out), 1)
    right = _cell(table_id, layer, column)
    mistakes: dict[str, Callable[[], float]] = {}
    kind = type(m).__name__
    if column == "volume":
        mistakes["the volume counts every channel: C x H x W, not H x W."] = lambda: right // c_out
        if kind == "Conv2d":
            k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
            hint = "you forgot the +1 of the output size, floor((n + 2p - k)/s) + 1."
            if table_id == "alexnet" and layer == "conv1":   # 224 - 11 and 227 - 11 floor alike
                hint = ("you forgot the +1 of the output size, floor((n + 2p - k)/s) + 1, or you "
                        f"used the paper's 224-pixel input; this layer gets {inp[-1]} pixels.")
            mistakes[hint] = lambda: c_out * ((inp[-1] + 2 * p - k) // s) ** 2
        if kind == "MaxPool2d":
            k, s = m.kernel_size, m.stride
            other = F.pool_output_size(inp[-1], k, s, m.padding, not m.ceil_mode)
            if other != h_out:
                mistakes[f"this pooling rounds {'up' if m.ceil_mode else 'down'} "
                         f"(ceil_mode={m.ceil_mode})."] = lambda: c_out * other ** 2
            if k != s:
                mistakes[f"the windows overlap: the stride is {s}, not the window {k}."] = (
                    lambda: c_out * F.pool_output_size(inp[-1], k, k) ** 2)
            mistakes["that is the pooling's input; the row gives its output."] = (
                lambda: math.prod(inp))
    elif column == "params" and kind == "Conv2d":
        ci, co, k, g = m.in_channels, m.out_channels, m.kernel_size[0], m.groups
        mistakes["you left out the biases (one per output channel)."] = (
            lambda: F.conv_params(ci, co, k, g, bias=False))
        if g > 1:
            mistakes[f"this layer is grouped ({g} groups, one per GPU): each filter sees "
                     f"C_in/{g} channels."] = lambda: F.conv_params(ci, co, k)
        else:
            mistakes["each filter sees all the input channels: multiply by C_in."] = (
                lambda: F.conv_params(1, co, k))
            if table_id == "alexnet":
                mistakes["this layer is not grouped: conv3 sees the maps of both GPUs."] = (
                    lambda: F.conv_params(ci, co, k, 2))
    elif column == "params":
        fi, fo = m.in_features, m.out_features
        mistakes["you left out the biases (one per output unit)."] = (
            lambda: F.linear_params(fi, fo, bias=False))
        prev = _previous(table_id, layer)
        if prev["layer"].startswith("pool"):
            before = _previous(table_id, prev["layer"])["volume"]
            mistakes["the dense layer reads the pooled maps, not the maps before pooling."] = (
                lambda: F.linear_params(before, fo))
    elif column == "macs":
        ci, co, k, g = m.in_channels, m.out_channels, m.kernel_size[0], m.groups
        if g == 2:      # forgetting the two groups and counting FLOPs both double the MACs
            mistakes["that is twice the MACs: either you counted FLOPs (one MAC is two FLOPs) "
                     "or you ignored the grouping (2 groups: each filter sees C_in/2 "
                     "channels)."] = lambda: F.macs_to_flops(right)
        else:
            mistakes["that is the FLOP count: one MAC is two FLOPs."] = (
                lambda: F.macs_to_flops(right))
            if g > 1:
                mistakes[f"this layer is grouped ({g} groups): each filter sees C_in/{g} "
                         "channels."] = lambda: F.conv_macs(ci, co, k, h_out)
        mistakes["each output value is a dot product over (C_in/G) k^2 inputs: multiply by "
                 "C_in/G too."] = lambda: F.conv_macs(g, co, k, h_out, g)
        mistakes["bias additions are not multiply-accumulates: leave them out."] = (
            lambda: right + F.conv_bias_adds(co, h_out))
        if inp[-1] != h_out:
            mistakes["count one dot product per output position, not per input position."] = (
                lambda: F.conv_macs(ci, co, k, inp[-1], g))
    elif column == "activation_bytes":
        mistakes["that is the number of elements: float32 takes 4 bytes each."] = (
            lambda: _cell(table_id, layer, "volume"))
        mistakes["that is the layer's input; the row gives its output."] = (
            lambda: F.tensor_bytes(math.prod(inp), "float32"))
    return mistakes


class _LazyMistakes(dict):
    """The mistakes of one blank cell, computed on first use (tracing the network then, not when
    the module is imported)."""

    def __init__(self, table_id: str, layer: str, column: str):
        super().__init__()
        self._key, self._filled = (table_id, layer, column), False

    def _fill(self) -> None:
        if not self._filled:
            self._filled = True
            self.update(_fill_in_mistakes(*self._key))

    def items(self):
        self._fill()
        return super().items()

    def values(self):
        self._fill()
        return super().values()

    def keys(self):
        self._fill()
        return super().keys()

    def __iter__(self):
        self._fill()
        return super().__iter__()

    def __len__(self):
        self._fill()
        return super().__len__()

    def __getitem__(self, key):
        self._fill()
        return super().__getitem__(key)

    def __contains__(self, key):
        self._fill()
        return super().__contains__(key)


_COLUMN_WORDS = {"volume": "output volume (elements per image)", "params": "parameters",
                 "macs": "multiply-accumulates per image", "activation_bytes":
                 "bytes of the float32 output per image"}

for _table_id, _spec in FILL_IN_TABLES.items():
    for _layer, _column in _spec["blanks"]:
        register(Check(
            id=fill_in_check_id(_table_id, _layer, _column), chapter=4, difficulty="medium",
            question=f"The {_COLUMN_WORDS[_column]} of layer {_layer} of {_table_id} "
                     f"(cnnbook_lib.exercises.fill_in_table({_table_id!r})).",
            answer=lambda t=_table_id, l=_layer, c=_column: _cell(t, l, c),
            mistakes=_LazyMistakes(_table_id, _layer, _column)))


def _lenet5_c3_params(full: bool = False, bias: bool = True) -> int:
    from .architectures import LENET5_C3_TABLE
    if full:
        return F.conv_params(6, len(LENET5_C3_TABLE), 5, bias=bias)
    return sum(F.conv_params(len(inputs), 1, 5, bias=bias) for inputs in LENET5_C3_TABLE)


register(Check(
    id="lenet5-c3-params-1", chapter=4, difficulty="easy",
    question="Trainable parameters of LeNet-5's C3: 16 maps of 5x5 filters, each map connected to "
             "the S2 maps of Table I of LeCun et al. (1998), one bias per map.",
    answer=_lenet5_c3_params,
    mistakes={
        "that is a full C3 (every map sees all six S2 maps), the modern variant; the paper's "
        "Table I connects each map to only 3, 4 or 6 of them.": lambda: _lenet5_c3_params(True),
        "you left out the 16 biases.": lambda: _lenet5_c3_params(bias=False),
    },
))


def _alexnet_neurons(with_input: bool = False, with_pools: bool = False) -> int:
    if "alexnet-torchvision" not in _TABLES:
        _TABLES["alexnet-torchvision"] = layer_table("alexnet", (1, 3, 224, 224))
    table = _TABLES["alexnet-torchvision"]
    kinds = ("conv", "fc", "pool") if with_pools else ("conv", "fc")
    n = int(table.loc[table.layer.str.rstrip("0123456789").isin(kinds), "volume"].sum())
    return n + (3 * 224 * 224 if with_input else 0)


register(Check(
    id="alexnet-neurons-1", chapter=4, difficulty="medium",
    question="Neurons of torchvision's single-GPU AlexNet on a 224x224 input: the outputs of its "
             "five convolutional and three dense layers, per image.",
    answer=_alexnet_neurons,
    mistakes={
        "the input pixels are not neurons: leave the image out.":
            lambda: _alexnet_neurons(with_input=True),
        "pooling outputs are not counted as neurons (the paper counts the layers with weights).":
            lambda: _alexnet_neurons(with_pools=True),
    },
))


def _vgg16_shares(kind: str = "params") -> dict[str, float]:
    table = _fill_in_source("vgg16")
    fc = table.loc[table.layer.str.startswith("fc"), kind]
    total = table.attrs[kind]
    return {"head": 100 * fc.sum() / total, "fc1": 100 * fc.iloc[0] / total}


register(Check(
    id="vgg16-head-share-1", chapter=4, difficulty="easy", unit="%",
    question="Share of VGG-16's parameters in its three dense layers, in percent.",
    answer=lambda: _vgg16_shares()["head"], rel_tol=0.002,
    mistakes={
        "answer in percent, not as a fraction.": lambda: _vgg16_shares()["head"] / 100,
        "that is the first dense layer alone; the head has three.": lambda: _vgg16_shares()["fc1"],
        "that is the head's share of the MACs, not of the parameters.":
            lambda: _vgg16_shares("macs")["head"],
    },
))


# ---------------------------------------------------------------------------------------------
# Chapter 2: receptive fields
# ---------------------------------------------------------------------------------------------

def _rf_stack(layers, jump_after: bool = False):
    """(size, jump, start) of a list of (k, s, d, p) layers by the recurrence. With
    ``jump_after`` each layer's growth is multiplied by the jump *after* it (a typical mistake)."""
    r, j, u = 1, 1, 0
    for k_, s_, d_, p_ in layers:
        if jump_after:
            r, j = r + (F.effective_kernel_size(k_, d_) - 1) * j * s_, j * s_
        else:
            r, j, u = F.receptive_field_step(r, j, u, k_, s_, d_, p_)
    return r, j, u


_RESNET_STEM_BLOCK = [(7, 2, 1, 3), (3, 2, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1)]
_STRIDE2_STACK = [(3, 2, 1, 1)] * 3


def _stride1_layers_to_cover(k_: int, n_: int) -> int:
    """Fewest stride-1 layers of kernel k whose field is at least n pixels: ceil((n-1)/(k-1))."""
    return next(L for L in range(1, 10 * n_) if F.stride1_receptive_field(L, k_) >= n_)


register(Check(
    id="rf-size-1", chapter=2, difficulty="easy",
    question="Receptive field size after a 7x7 stride-2 convolution (padding 3), 3x3 stride-2 max "
             "pooling (padding 1) and two 3x3 stride-1 convolutions (padding 1).",
    answer=lambda: _rf_stack(_RESNET_STEM_BLOCK)[0],
    mistakes={
        "each layer adds (k - 1) steps of the jump before it, not (k - 1) pixels: multiply by "
        "the product of the earlier strides.":
            lambda: 1 + sum(k_ - 1 for k_, *_ in _RESNET_STEM_BLOCK),
        "you multiplied each layer's growth by the jump after it; use the jump before it (a "
        "layer's own stride only affects the layers after it).":
            lambda: _rf_stack(_RESNET_STEM_BLOCK, jump_after=True)[0],
        "the max-pooling layer is a layer of the recurrence too: its window and stride count.":
            lambda: _rf_stack([layer for layer in _RESNET_STEM_BLOCK if layer != (3, 2, 1, 1)])[0],
    },
))

register(Check(
    id="rf-cover-layers-1", chapter=2, difficulty="easy",
    question="Fewest stride-1 5x5 convolutions (padding 2) after which a unit sees every pixel of a "
             "224-pixel-wide image.",
    answer=lambda: _stride1_layers_to_cover(5, 224),
    mistakes={
        "each layer adds k - 1 = 4 pixels to the field, not k = 5.":
            lambda: math.ceil(224 / 5),
        "with stride 1 the field grows by a constant per layer; a logarithm counts layers only "
        "when the stride equals the kernel.":
            lambda: math.ceil(math.log(224, 5)),
        "round up: with one layer fewer the field is still narrower than the image.":
            lambda: (224 - 1) // (5 - 1),
    },
))

register(Check(
    id="rf-eff-stride-1", chapter=2, difficulty="easy",
    question="Effective stride (jump) of three stacked 3x3 convolutions, each with stride 2 and "
             "padding 1.",
    answer=lambda: _rf_stack(_STRIDE2_STACK)[1],
    mistakes={
        "strides multiply, they do not add: the jump is the product of the strides.":
            lambda: sum(s_ for _, s_, *_ in _STRIDE2_STACK),
        "that is the jump before the last layer; the stack's jump includes every stride.":
            lambda: _rf_stack(_STRIDE2_STACK[:-1])[1],
    },
))

register(Check(
    id="rf-eff-padding-1", chapter=2, difficulty="medium",
    question="Effective padding of three stacked 3x3 convolutions, each with stride 2 and "
             "padding 1.",
    answer=lambda: F.receptive_field_padding(*_rf_stack(_STRIDE2_STACK)[::2]),
    mistakes={
        "each padding counts in pixels of the map it pads: multiply it by the jump before its "
        "layer before adding.":
            lambda: sum(p_ for *_, p_ in _STRIDE2_STACK),
        "you multiplied each padding by the jump after its layer; use the jump before it.":
            lambda: sum(p_ * 2 ** (n_ + 1) for n_, (*_, p_) in enumerate(_STRIDE2_STACK)),
        "that is the start (the centre of the first field); the effective padding is "
        "(r - 1)/2 - u.":
            lambda: _rf_stack(_STRIDE2_STACK)[2],
    },
))

register(Check(
    id="rf-stack-params-1", chapter=2, difficulty="medium",
    question="Weights (no biases) of a stack of stride-1 3x3 convolutions, 128 channels in and out, "
             "whose receptive field equals that of one 9x9 layer.",
    answer=lambda: (9 - 1) // 2 * F.conv_params(128, 128, 3, bias=False),
    mistakes={
        "that is the single 9x9 layer's count; the question asks for the stack of 3x3 layers.":
            lambda: F.conv_params(128, 128, 9, bias=False),
        "n stacked 3x3 layers see 1 + 2n pixels: a 9-pixel field needs 4 layers, not 3.":
            lambda: 3 * F.conv_params(128, 128, 3, bias=False),
        "leave the biases out, as the question says.":
            lambda: (9 - 1) // 2 * F.conv_params(128, 128, 3),
    },
))


# ---------------------------------------------------------------------------------------------
# Chapter 3: 1x1, bottleneck and separable convolutions
# ---------------------------------------------------------------------------------------------

def _inception_3a() -> dict:
    """Channel numbers of GoogLeNet's inception 3a, as ``architectures`` stores them."""
    from . import architectures
    name, c_in, c1, c3r, c3, c5r, c5, pool_proj = architectures.GOOGLENET_STAGES[0][0]
    return dict(c_in=c_in, c1=c1, c3r=c3r, c3=c3, c5r=c5r, c5=c5, pool_proj=pool_proj)


def _bottleneck_weights(c: int, width: int) -> int:
    """Weights (no biases, no batch normalization) of a ResNet bottleneck block c-width-width-c."""
    return (F.conv_params(c, width, 1, bias=False) + F.conv_params(width, width, 3, bias=False)
            + F.conv_params(width, c, 1, bias=False))


#: The kernel of the rank exercise: its second row is twice its first.
RANK_KERNEL = ((1, 2, 3), (2, 4, 6), (1, 0, 1))


def _rank(kernel) -> int:
    import numpy as np
    return int(np.linalg.matrix_rank(np.array(kernel, dtype=float)))


register(Check(
    id="inception-5x5-macs-1", chapter=3, difficulty="easy",
    question="MACs of the 5x5 branch of GoogLeNet's inception 3a (paper variant: a 1x1 reduction "
             "from 192 to 16 channels, then a 5x5 convolution to 32 channels, padding 2) on a "
             "28x28 input, batch 1.",
    answer=lambda: (F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c5r"], 1, 28)
                    + F.conv_macs(_inception_3a()["c5r"], _inception_3a()["c5"], 5, 28)),
    mistakes={
        "that is the 5x5 layer applied to all 192 input channels, without the 1x1 reduction.":
            lambda: F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c5"], 5, 28),
        "you counted only the 5x5 layer; the 1x1 reduction in front of it costs MACs too.":
            lambda: F.conv_macs(_inception_3a()["c5r"], _inception_3a()["c5"], 5, 28),
        "that is FLOPs; one MAC is two FLOPs.":
            lambda: 2 * (F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c5r"], 1, 28)
                         + F.conv_macs(_inception_3a()["c5r"], _inception_3a()["c5"], 5, 28)),
        "that is torchvision's GoogLeNet, whose '5x5' branch has a 3x3 kernel; the paper's "
        "branch is 5x5.":
            lambda: (F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c5r"], 1, 28)
                     + F.conv_macs(_inception_3a()["c5r"], _inception_3a()["c5"], 3, 28)),
    },
))

register(Check(
    id="bottleneck-params-1", chapter=3, difficulty="easy",
    question="Weights (no biases, no batch normalization) of a ResNet bottleneck block with 1024 "
             "input and output channels and width 256 (1x1, 3x3, 1x1).",
    answer=lambda: _bottleneck_weights(1024, 256),
    mistakes={
        "that is two plain 3x3 layers at 1024 channels, the design the bottleneck replaces.":
            lambda: 2 * F.conv_params(1024, 1024, 3, bias=False),
        "you left out the last 1x1 layer, which expands the 256 channels back to 1024.":
            lambda: F.conv_params(1024, 256, 1, bias=False) + F.conv_params(256, 256, 3, bias=False),
        "the question leaves biases out (batch normalization follows every convolution).":
            lambda: (F.conv_params(1024, 256, 1) + F.conv_params(256, 256, 3)
                     + F.conv_params(256, 1024, 1)),
        "the 3x3 layer has a 3x3 kernel: multiply its channel pairs by 9.":
            lambda: (F.conv_params(1024, 256, 1, bias=False) + F.conv_params(256, 256, 1, bias=False)
                     + F.conv_params(256, 1024, 1, bias=False)),
    },
))

register(Check(
    id="kernel-rank-1", chapter=3, difficulty="easy",
    question="Rank of the 3x3 kernel with rows (1, 2, 3), (2, 4, 6), (1, 0, 1).",
    answer=lambda: _rank(RANK_KERNEL),
    mistakes={
        "the second row is twice the first, so the three rows are not independent.":
            lambda: len(RANK_KERNEL),
        "the third row is not a multiple of the first: the kernel is not an outer product.":
            lambda: 1,
    },
))

register(Check(
    id="asymmetric-saving-1", chapter=3, difficulty="medium",
    question="Fraction of the MACs saved (a number between 0 and 1) when a 7x7 layer from C to C "
             "channels is replaced by a 1x7 layer followed by a 7x1 layer, both C to C, all with "
             "the same output size.",
    answer=lambda: 1 - (F.conv_macs(64, 64, (1, 7), 17) + F.conv_macs(64, 64, (7, 1), 17))
                   / F.conv_macs(64, 64, 7, 17),
    mistakes={
        "that is the ratio of the costs; the saving is one minus the ratio.":
            lambda: (F.conv_macs(64, 64, (1, 7), 17) + F.conv_macs(64, 64, (7, 1), 17))
                    / F.conv_macs(64, 64, 7, 17),
        "that is the saving in percent; give it as a fraction between 0 and 1.":
            lambda: 100 * (1 - (F.conv_macs(64, 64, (1, 7), 17) + F.conv_macs(64, 64, (7, 1), 17))
                           / F.conv_macs(64, 64, 7, 17)),
        "that is the saving of two square 4x4 layers; the asymmetric pair costs 7 + 7 taps, not "
        "16 + 16.":
            lambda: 1 - 2 * F.conv_macs(64, 64, 4, 17) / F.conv_macs(64, 64, 7, 17),
    },
    rel_tol=1e-3,
))


def _naive_3a_macs() -> int:
    """MACs of the naive inception module with the widths of 3a: 1x1, 3x3 and 5x5 convolutions
    on the 28x28x192 input (the max pooling branch has no MACs)."""
    m = _inception_3a()
    return sum(F.conv_macs(m["c_in"], co, k, 28) for co, k in ((m["c1"], 1), (m["c3"], 3), (m["c5"], 5)))


def _reduced_3a_macs() -> int:
    """MACs of the paper's inception 3a: both reductions, the 3x3, the 5x5 and the projection."""
    m = _inception_3a()
    layers = ((m["c_in"], m["c1"], 1), (m["c_in"], m["c3r"], 1), (m["c3r"], m["c3"], 3),
              (m["c_in"], m["c5r"], 1), (m["c5r"], m["c5"], 5), (m["c_in"], m["pool_proj"], 1))
    return sum(F.conv_macs(ci, co, k, 28) for ci, co, k in layers)


register(Check(
    id="naive-inception-macs-1", chapter=3, difficulty="medium",
    question="MACs of a naive inception module with the widths of GoogLeNet's 3a (1x1 to 64, 3x3 "
             "to 128 and 5x5 to 32 channels, 'same' padding, and a 3x3 max pooling) on a 28x28x192 "
             "input, batch 1.",
    answer=_naive_3a_macs,
    mistakes={
        "that is the reduced module of the paper (with 1x1 reductions and a pooling projection); "
        "the naive module applies its 3x3 and 5x5 layers to all 192 channels.":
            lambda: _reduced_3a_macs(),
        "you left out the 1x1 branch; it is a convolution too.":
            lambda: _naive_3a_macs() - F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c1"], 1, 28),
        "that is FLOPs; one MAC is two FLOPs.":
            lambda: 2 * _naive_3a_macs(),
    },
))
