"""Where the spatial positions of a feature map live in a tensor, through permutes and reshapes.

A layout describes each dimension of a tensor as a tuple of *atoms*, most significant first,
whose sizes multiply to the dimension's size. An atom ``(axis, size, step)`` of a spatial axis
means that the dimension's index contributes ``digit * step`` to the coordinate along that axis;
channels and batch are atoms of axis ``None`` (step 0); an atom whose axis is a ``frozenset`` is
*opaque*: the dimension holds positions of those axes in an order that is no longer known (a
class token concatenated to the patch tokens). An NCHW map is
``((None, N, 0),), ((None, C, 0),), ((0, H, 1),), ((1, W, 1),)``; permuting it to NHWC moves the
tuples; a Swin window partition ``(B, H/w, w, W/w, w, C) -> (B H/w W/w, w w, C)`` splits the H
atom into ``(0, H/w, w)`` and ``(0, w, 1)`` and puts the first in the batch dimension. Atoms of
size 1 are left out. Reshapes regroup the atoms in row-major order (:func:`regroup`).
"""
from __future__ import annotations

from typing import Sequence

Atom = tuple            # (axis: int | None | frozenset, size: int, step: int)
Layout = tuple          # one tuple of atoms per tensor dimension


class Unfollowable(ValueError):
    """A reshape that splits positions in a way a layout cannot describe."""


def plain(shape: Sequence[int], n: int) -> Layout:
    """Channels-first layout: the last ``n`` dimensions are the spatial axes 0..n-1."""
    lead = len(shape) - n
    dims = [((None, s, 0),) if s > 1 else () for s in shape[:lead]]
    dims += [((a, s, 1),) if s > 1 else () for a, s in enumerate(shape[lead:])]
    return tuple(dims)


def is_plain(layout: Layout, n: int) -> bool:
    """Whether the last ``n`` dimensions hold axes 0..n-1 in order and nothing else does."""
    if layout is None or len(layout) < n:
        return False
    lead = len(layout) - n
    if any(spatial(dim) for dim in layout[:lead]):
        return False
    return all(all(atom[0] == a and atom[2] == 1 for atom in dim) and len(dim) <= 1
               for a, dim in enumerate(layout[lead:]))


def spatial(dim: Sequence[Atom]) -> list[Atom]:
    """The atoms of a dimension that hold spatial positions (opaque ones included)."""
    return [atom for atom in dim if atom[0] is not None]


def axes_in(dims: Sequence[Sequence[Atom]]) -> set[int]:
    """The spatial axes that some atom of ``dims`` belongs to."""
    found = set()
    for dim in dims:
        for axis, _, _ in spatial(dim):
            found |= set(axis) if isinstance(axis, frozenset) else {axis}
    return found


def channels(size: int) -> tuple[Atom, ...]:
    """A dimension of ``size`` channels (no spatial position)."""
    return ((None, size, 0),) if size > 1 else ()


def _coalesce(atoms: Sequence[Atom]) -> list[Atom]:
    """Join neighbouring atoms that form one: channels with channels, digits of one axis that
    are contiguous (outer step = inner step * inner size), opaque with opaque."""
    out: list[Atom] = []
    for atom in atoms:
        if atom[1] == 1:
            continue
        if out:
            (a0, n0, s0), (a1, n1, s1) = out[-1], atom
            if a0 is None and a1 is None:
                out[-1] = (None, n0 * n1, 0)
                continue
            if isinstance(a0, frozenset) and isinstance(a1, frozenset):
                out[-1] = (a0 | a1, n0 * n1, 0)
                continue
            if a0 == a1 and isinstance(a0, int) and s0 == s1 * n1:
                out[-1] = (a0, n0 * n1, s1)
                continue
        out.append(atom)
    return out


def regroup(layout: Layout, shape: Sequence[int]) -> Layout:
    """The layout after a row-major reshape (view, reshape, flatten, unflatten, squeeze, ...)
    to ``shape``; raises :class:`Unfollowable` where a dimension would cut an atom unevenly."""
    queue = _coalesce([atom for dim in layout for atom in dim])
    out = []
    for n in shape:
        dim, need = [], int(n)
        while need > 1:
            if not queue:
                raise Unfollowable(f"reshape to {tuple(shape)}: sizes do not match")
            axis, size, step = queue.pop(0)
            if need % size == 0:
                dim.append((axis, size, step))
                need //= size
            elif size % need == 0:
                outer = size // need
                dim.append((axis, need, step * outer if isinstance(axis, int) else 0))
                queue.insert(0, (axis, outer, step))
                need = 1
            else:
                raise Unfollowable(f"reshape to {tuple(shape)} cuts a dimension of {size} "
                                   f"positions into pieces of {need}")
        out.append(tuple(_coalesce(dim)))
    if any(atom[1] > 1 for atom in queue):
        raise Unfollowable(f"reshape to {tuple(shape)}: sizes do not match")
    return tuple(out)


def permute(layout: Layout, order: Sequence[int]) -> Layout:
    """The layout after ``permute(order)``."""
    n = len(layout)
    return tuple(layout[o % n] for o in order)


def opaque(dim: Sequence[Atom], size: int) -> tuple[Atom, ...]:
    """A dimension of ``size`` entries that holds the positions of ``dim`` in an unknown order."""
    axes = axes_in([dim])
    return ((frozenset(axes), size, 0),) if axes else channels(size)
