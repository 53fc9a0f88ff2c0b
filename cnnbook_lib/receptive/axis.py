"""The pure recurrence along one axis, and its generalisation to unevenly spaced fields.

An :class:`Axis` says which input pixels each unit of a feature map sees along one spatial axis.
For convolutions and pooling the fields are evenly spaced and three numbers describe them
(Araujo, Norris & Sim, Distill 2019): ``size`` r, ``jump`` j and ``start`` u, unit i seeing
``[u + i j - (r - 1)/2, u + i j + (r - 1)/2]``; a layer maps them by the recurrence of
:mod:`cnnbook_lib.formulas` (``receptive_field_step``).

Upsampling, transposed convolutions and window attention break the even spacing: after a
nearest 2x upsampling, units 2m and 2m + 1 see the same pixels. Their fields still repeat: with a
``period`` P and a shift Q (input pixels), unit ``i + P`` sees the field of unit i moved by Q. Such
an axis keeps the ``spans`` (first, last pixel) of units 0..P-1; its ``jump`` is the exact fraction
Q / P (1/2 after a 2x upsampling), its ``size`` the largest field of the period. Every layer is a
:class:`Gather`: output unit o reads the input units ``first(o)..last(o)`` (a range that also
repeats with a period), and the new spans are ``(lo(first(o)), hi(last(o)))``; on evenly spaced
fields a convolution's gather reproduces the recurrence exactly, so the formulas are used there.

An axis with ``jump == 0`` is *global*: every unit sees the same pixels (after attention, a
squeeze-excitation gate, a global pool broadcast back): its size is that of the whole input.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence, Union

from .. import formulas
from ._check import MAX_INT, integer

Number = Union[int, float]
#: The longest period followed exactly (a resampling by 1000/999 would need 999 units).
MAX_PERIOD = 4096


def _num(x) -> Number | None:
    """An exact value for display: int when integral, else float."""
    if x is None:
        return None
    x = Fraction(x)
    return int(x) if x.denominator == 1 else float(x)


def _fraction(name: str, value) -> Fraction:
    """An exact rational: int, Fraction or finite float; bools and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)) or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise TypeError(f"{name} must be a rational number, got {value!r}")
    value = Fraction(value)
    if abs(value.numerator) > MAX_INT ** 2 or value.denominator > MAX_INT:
        raise ValueError(f"{name} {value} is out of range")
    return value


def _exact(x) -> int | Fraction:
    x = Fraction(x)
    return int(x) if x.denominator == 1 else x


@dataclass(frozen=True)
class Gather:
    """Output unit o of a layer reads input units ``first(o)..last(o)`` along one axis; the ranges
    repeat every ``period`` output units, moved by ``shift`` input units:
    ``first(o) = table[o % period][0] + (o // period) * shift``."""

    period: int
    shift: int
    table: tuple[tuple[int, int], ...]

    def first(self, o: int) -> int:
        q, m = divmod(o, self.period)
        return self.table[m][0] + q * self.shift

    def last(self, o: int) -> int:
        q, m = divmod(o, self.period)
        return self.table[m][1] + q * self.shift

    @classmethod
    def conv(cls, k: int, s: int = 1, d: int = 1, p: int = 0) -> "Gather":
        """Convolution or pooling: unit o reads ``s o - p .. s o - p + d (k - 1)`` (a negative
        padding p crops)."""
        k, s, d = integer("kernel k", k), integer("stride s", s), integer("dilation d", d)
        p = integer("padding p", p, -MAX_INT)
        return cls(1, s, ((-p, -p + d * (k - 1)),))

    @classmethod
    def transposed(cls, k: int, s: int = 1, d: int = 1, p: int = 0) -> "Gather":
        """Transposed convolution: input unit i writes to outputs ``i s - p + d t``, t < k, so
        output o reads every i with ``i s = o + p - d t``; outputs o and o + s read i and i + 1."""
        k, s, d = integer("kernel k", k), integer("stride s", s), integer("dilation d", d)
        p = integer("padding p", p, 0)
        table = []
        for o in range(s):
            reads = [(o + p - d * t) // s for t in range(k) if (o + p - d * t) % s == 0]
            if not reads:
                raise ValueError(f"transposed convolution (kernel {k}, stride {s}, dilation {d}): "
                                 f"output units {o} mod {s} read no input unit, their field is "
                                 f"empty")
            table.append((min(reads), max(reads)))
        return cls(s, 1, tuple(table))

    @classmethod
    def resample(cls, scale: Fraction, offset: Fraction, taps: str | None) -> "Gather":
        """Upsampling or downsampling by interpolation: output unit o is taken at input coordinate
        ``c(o) = o scale + offset``; nearest (``taps=None``) reads ``floor(c)``, ``"linear"``
        also the next unit, ``"cubic"`` the units ``floor(c) - 1 .. floor(c) + 2``; where c is a
        whole number the other units have weight 0 and only ``c`` is read. Border clamps are not
        modelled (the first and last units may see less, as a padded convolution's do)."""
        scale, offset = _fraction("scale", scale), _fraction("offset", offset)
        if scale < 0:
            raise ValueError(f"scale must be >= 0, got {scale}")
        if taps not in (None, "linear", "cubic"):
            raise ValueError(f"taps must be None, 'linear' or 'cubic', got {taps!r}")
        period, shift = scale.denominator, scale.numerator
        if period > MAX_PERIOD:
            raise ValueError(f"resampling by {1 / scale} repeats only every {period} units; "
                             f"at most {MAX_PERIOD} are followed")
        before, after = {None: (0, 0), "linear": (0, 1), "cubic": (1, 2)}[taps]
        table = []
        for o in range(period):
            c = o * scale + offset
            lo = math.floor(c)
            table.append((lo, lo) if c == lo else (lo - before, lo + after))
        return cls(period, shift, tuple(table))

    @classmethod
    def window(cls, atoms: Sequence[tuple[int, int]], extent: int) -> "Gather":
        """Mixing within windows (window attention): the coordinate of a unit is a mixed-radix
        number whose digits ``atoms`` ((size, step) pairs) are mixed; the unit reads every unit
        that differs from it in those digits only. Mixing every digit reads the whole axis."""
        extent = integer("extent", extent)
        if not isinstance(atoms, (tuple, list)) or not all(
                isinstance(a, (tuple, list)) and len(a) == 2 for a in atoms):
            raise TypeError(f"atoms must be a sequence of (size, step) pairs, got {atoms!r}")
        atoms = [(integer("atoms: size", n), integer("atoms: step", st)) for n, st in atoms]
        atoms = [(n, st) for n, st in atoms if n > 1]
        span = sum((n - 1) * st for n, st in atoms)
        if span >= extent - 1:
            return cls(1, 0, ((0, extent - 1),))
        period = math.lcm(*(n * st for n, st in atoms)) if atoms else 1
        if period > MAX_PERIOD:
            raise ValueError(f"windows repeating every {period} units are not followed")
        table = []
        for c in range(period):
            lo = c - sum(((c // st) % n) * st for n, st in atoms)
            table.append((lo, lo + span))
        return cls(period, period, tuple(table))


@dataclass(frozen=True)
class Axis:
    """Receptive field along one axis: size r, jump j (exact), start u, and, where the fields
    are unevenly spaced, the ``spans`` (first, last input pixel) of units 0..period-1."""

    size: int = 1
    jump: int | Fraction = 1
    start: Fraction = Fraction(0)
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def period(self) -> int:
        """After how many units the fields repeat (moved by ``period * jump`` pixels)."""
        return len(self.spans) or 1

    @property
    def is_global(self) -> bool:
        """Whether every unit sees the same pixels (attention, a gate, a broadcast global pool)."""
        return self.jump == 0

    @property
    def padding(self) -> int | Fraction | None:
        """Effective padding ``(r - 1)/2 - u`` of the first unit (None where the start is
        unknown): how far its field reaches before the input."""
        if self.start is None:
            return None
        if self.spans or self.is_global:
            return -self.span(0)[0]
        return formulas.receptive_field_padding(self.size, self.start)

    def span(self, i: int = 0) -> tuple[int, int]:
        """First and last input pixel (inclusive) seen by unit ``i``."""
        i = integer("unit i", i, -MAX_INT)
        if self.spans:
            q, m = divmod(i, len(self.spans))
            shift = q * int(self.jump * len(self.spans))
            lo, hi = self.spans[m]
            return lo + shift, hi + shift
        first = self.start + i * self.jump - Fraction(self.size - 1, 2)
        return int(first), int(first) + self.size - 1

    def step(self, k: int, s: int = 1, d: int = 1, p: int = 0) -> "Axis":
        """The field after one more layer (kernel k, stride s, dilation d, padding p): the
        recurrence ``r' = r + (k_eff - 1) j``, ``j' = j s``, ``u' = u + ((k_eff - 1)/2 - p) j``."""
        k, s, d = integer("kernel k", k), integer("stride s", s), integer("dilation d", d)
        p = integer("padding p", p, 0)
        if not self.spans and isinstance(self.jump, int) and self.jump >= 1:
            r, j, u = formulas.receptive_field_step(self.size, self.jump, self.start, k, s, d, p)
            return Axis(r, j, Fraction(u))
        return self.gather(Gather.conv(k, s, d, p))

    def gather(self, g: Gather) -> "Axis":
        """The field after a layer whose output unit o reads input units g.first(o)..g.last(o)."""
        if self.is_global:
            return self
        P = g.period * (self.period // math.gcd(g.shift, self.period))
        lo = [self.span(g.first(o))[0] for o in range(P + 1)]
        hi = [self.span(g.last(o))[1] for o in range(P + 1)]
        if lo[P] - lo[0] != hi[P] - hi[0]:
            raise ValueError("fields whose first and last pixels move at different rates")
        return Axis.from_spans(lo[:P], hi[:P], lo[P] - lo[0])

    @classmethod
    def from_spans(cls, lo: Sequence[int], hi: Sequence[int], shift: int) -> "Axis":
        """The axis whose units 0..P-1 see ``lo[i]..hi[i]`` and unit i + P the field of unit i
        moved by ``shift``, in its shortest period (evenly spaced fields need none)."""
        if not isinstance(lo, (tuple, list)) or not isinstance(hi, (tuple, list)) or \
                not lo or len(lo) != len(hi):
            raise ValueError(f"lo and hi must be non-empty lists of the same length, "
                             f"got {lo!r} and {hi!r}")
        lo = [integer("lo", v, -MAX_INT ** 2, MAX_INT ** 2) for v in lo]
        hi = [integer("hi", v, -MAX_INT ** 2, MAX_INT ** 2) for v in hi]
        shift = integer("shift", shift, 0, MAX_INT ** 2)
        if any(h < l for l, h in zip(lo, hi)):
            raise ValueError("every span needs lo <= hi")
        P = len(lo)
        for p in (p for p in range(1, P + 1) if P % p == 0):
            if (shift * p) % P:
                continue
            move = shift * p // P
            ext = lambda t, i: t[i % P] + (i // P) * shift          # noqa: E731
            if all(ext(lo, m + p) == lo[m] + move and ext(hi, m + p) == hi[m] + move
                   for m in range(P)):
                break
        size = max(h - l + 1 for l, h in zip(lo[:p], hi[:p]))
        start = Fraction(lo[0] + hi[0], 2)
        if p == 1:
            return cls(hi[0] - lo[0] + 1, move, start)
        return cls(size, _exact(Fraction(move, p)), start, tuple(zip(lo[:p], hi[:p])))

    def clipped_to(self, n: int, units: int) -> "Axis":
        """The global axis whose every unit sees what the ``units`` units of this one see together,
        within an input of ``n`` pixels."""
        n, units = integer("n", n), integer("units", units)
        lo = max(0, self.span(0)[0])
        hi = min(n - 1, self.span(units - 1)[1])
        return Axis(hi - lo + 1, 0, Fraction(lo + hi, 2))


def merge(axes: Sequence[Axis]) -> Axis:
    """Align branches that meet (add, concatenate): the union of each unit's fields."""
    if not isinstance(axes, (tuple, list)) or not axes or \
            not all(isinstance(a, Axis) for a in axes):
        raise TypeError(f"axes must be a non-empty sequence of Axis, got {axes!r}")
    jumps = {Fraction(a.jump) for a in axes}
    if len(jumps) != 1:
        raise ValueError(f"branches with different jumps {sorted(_num(j) for j in jumps)} "
                         f"cannot be merged")
    P = math.lcm(*(a.period for a in axes))
    lo = [min(a.span(i)[0] for a in axes) for i in range(P)]
    hi = [max(a.span(i)[1] for a in axes) for i in range(P)]
    return Axis.from_spans(lo, hi, int(jumps.pop() * P))
