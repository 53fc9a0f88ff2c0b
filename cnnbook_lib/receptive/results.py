"""What the analytic trace returns: per-layer records and the receptive field of the model."""
from __future__ import annotations

from dataclasses import dataclass

from .axis import Axis, _num

Pair = tuple[int, int]


def _one(values):
    """A scalar when all axes agree (square fields), else the per-axis tuple."""
    values = tuple(values)
    return values[0] if all(v == values[0] for v in values) else values


@dataclass(frozen=True)
class LayerRF:
    """One layer of the trace and the field on its branch after it (one Axis per spatial axis).

    ``op`` is ``conv``, ``conv_transpose``, ``maxpool``, ``avgpool``, ``lppool``, ``pad``,
    ``slice``, ``roll``, ``upsample (<mode>)``, ``pixel_shuffle``, ``pixel_unshuffle``,
    ``window`` (mixing within windows), ``global`` (mixing of every position), ``layer`` (from a
    plain list) or the name of a merging operation (``add``, ``cat``, ...); k, s, d, p are
    per-axis tuples or ``None`` where they do not apply.
    """

    name: str
    op: str
    k: tuple | None
    s: tuple | None
    d: tuple | None
    p: tuple | None
    axes: tuple[Axis, ...]

    def row(self) -> dict:
        """A flat record for tables: square values as scalars, per-axis values as tuples."""
        def opt(v):
            return None if v is None else _one(v)
        return dict(name=self.name, op=self.op, k=opt(self.k), s=opt(self.s), d=opt(self.d),
                    p=opt(self.p), size=_one(a.size for a in self.axes),
                    jump=_one(_num(a.jump) for a in self.axes),
                    start=_one(_num(a.start) for a in self.axes))


class _AxesView:
    """Per-axis values shared by analytic and measured fields (a scalar when all axes agree)."""

    axes: tuple[Axis, ...]

    @property
    def size(self):
        """Receptive field size in input pixels (the largest of a period where fields are
        unevenly spaced; the whole input where the field is global)."""
        return _one(a.size for a in self.axes)

    @property
    def jump(self):
        """Jump, i.e. effective stride: input pixels between neighbouring units (an int, a
        Fraction after upsampling, 0 where every unit sees the same pixels)."""
        return _one(None if a.jump is None else a.jump for a in self.axes)

    stride = jump

    @property
    def start(self):
        """Centre of the first unit's field in input coordinates."""
        return _one(_num(a.start) for a in self.axes)

    @property
    def padding(self):
        """Effective padding ``(size - 1)/2 - start``: how far the first field reaches before
        the input."""
        return _one(a.padding for a in self.axes)

    def box(self, *index: int) -> tuple[int, ...]:
        """Field of the output unit at ``index`` (one int per axis) as first pixels then last
        pixels, inclusive: (top, left, bottom, right) for a 2-D map."""
        if len(index) != len(self.axes):
            raise ValueError(f"index needs {len(self.axes)} coordinates, got {index!r}")
        from ._check import MAX_INT, integer
        index = tuple(integer("index", i, -MAX_INT) for i in index)
        spans = [a.span(i) for a, i in zip(self.axes, index)]
        return tuple(lo for lo, _ in spans) + tuple(hi for _, hi in spans)


@dataclass(frozen=True, repr=False)
class RF(_AxesView):
    """Analytic receptive field of the last layer (or the last spatial tensor of a model).

    ``global_by`` names the operation after which every unit sees the whole input (attention, a
    squeeze-excitation gate, a global pool broadcast back); ``size`` is then the input's extent
    and ``jump`` 0. ``stopped_at`` names the global operation of a classifier head before which
    the trace stopped (the field is that of the tensor before it)."""

    axes: tuple[Axis, ...]
    layers: tuple[LayerRF, ...] = ()
    stopped_at: str | None = None
    notes: tuple[str, ...] = ()
    input_hw: tuple[int, ...] | None = None
    output_hw: tuple[int, ...] | None = None   # units along each axis of the last spatial tensor
    global_by: str | None = None

    @property
    def is_global(self) -> bool:
        """Whether every unit sees the whole input (see ``global_by``)."""
        return self.global_by is not None

    def __repr__(self) -> str:
        if self.is_global:
            where = "" if self.input_hw is None else \
                f" of the {' x '.join(map(str, self.input_hw))} input"
            return (f"RF(global: every unit sees all {self.size} pixels{where}, "
                    f"made global by {self.global_by})")
        def exact(v):
            return str(v) if not isinstance(v, tuple) else f"({', '.join(map(str, v))})"
        text = f"RF(size={self.size}, jump={exact(self.jump)}, start={self.start}"
        if any(a.period > 1 for a in self.axes):
            text += f", period={_one(a.period for a in self.axes)}"
        if self.stopped_at:
            text += f", stopped_at={self.stopped_at!r}"
        return text + ")"

    def rows(self) -> list[dict]:
        """Per-layer records (name, op, k, s, d, p, size, jump, start) for tables."""
        return [layer.row() for layer in self.layers]

    def clipped(self, *index: int) -> bool:
        """Whether unit ``index`` (default: the central unit) sees past the input's border."""
        if self.input_hw is None or self.output_hw is None:
            raise ValueError("clipped() needs input_size")
        if not index or all(i is None for i in index):
            index = tuple(n // 2 for n in self.output_hw)
        box = self.box(*index)
        n = len(self.axes)
        return any(box[a] < 0 or box[n + a] >= self.input_hw[a] for a in range(n))
