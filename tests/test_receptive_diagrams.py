"""cnnbook_lib.receptive.diagrams: the numbers the chapter-2 diagrams draw, checked against a
brute-force count of paths (every choice of one tap per layer) and against torch's shapes."""
import itertools

import numpy as np
import pytest
import torch

from cnnbook_lib.receptive import diagrams as D


def brute_paths(layers, n):
    """Paths from each input position to the central output unit of 1-D convolutions (k, s, d, p)
    with weights 1, by enumerating one tap per layer (zero padding adds no path)."""
    sizes = [n]
    for k, s, d, p in layers:
        sizes.append((sizes[-1] + 2 * p - d * (k - 1) - 1) // s + 1)
    counts = np.zeros(n)
    top = sizes[-1] // 2
    for taps in itertools.product(*[range(k) for k, _, _, _ in layers]):
        pos, ok = top, True
        for (k, s, d, p), t, size in zip(reversed(layers), reversed(taps), reversed(sizes[:-1])):
            pos = pos * s - p + d * t
            ok = ok and 0 <= pos < size
        if ok:
            counts[pos] += 1
    return counts


@pytest.mark.parametrize("layers, n", [
    ([(3, 1, 1, 1)] * 3, 15),
    ([(3, 1, 1, 1), (3, 2, 1, 1), (3, 1, 1, 1)], 21),
    ([(3, 1, 2, 2)] * 3, 19),
    ([(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4)], 23),
    ([(2, 2, 1, 0), (5, 1, 1, 2)], 16),
])
def test_paths_1d_counts_every_choice_of_taps(layers, n):
    counts, _ = D.paths_1d(layers, n)
    assert np.array_equal(counts[0], brute_paths(layers, n))
    out = n
    for k, s, d, p in layers:                                  # map sizes are torch's
        out = torch.nn.functional.conv1d(torch.ones(1, 1, out), torch.ones(1, 1, k), stride=s,
                                         padding=p, dilation=d).shape[-1]
    assert len(counts[-1]) == out


def test_growth_rows_follow_the_brute_force_field():
    layers = [(3, 1, 1, 1), (3, 2, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1)]
    fig, rows = D.growth(layers)
    hit = np.flatnonzero(brute_paths(layers, 23))
    assert rows[-1]["size"] == hit[-1] - hit[0] + 1 == rows[0]["used"]
    assert [r["jump"] for r in rows] == [1, 1, 2, 2, 2]


def test_dilation_holes_count_the_reached_pixels():
    _, results = D.dilation_holes([(2, 2, 2), (1, 2, 4)])
    for res in results:
        layers = [(3, 1, d, d) for d in res["rates"]]
        hit = np.flatnonzero(brute_paths(layers, 31))
        assert (res["field"], res["reached"]) == (hit[-1] - hit[0] + 1, len(hit))
    assert results[0]["reached"] < results[0]["field"] and results[1]["reached"] == results[1]["field"]


def test_branch_alignment_and_union():
    _, widths = D.branch_alignment()
    assert widths["aligned"]["a + b"] == (3, 5.0)
    assert widths["misaligned"]["branch b"] == (3, 6.0) and widths["misaligned"]["a + b"] == (4, 5.5)
    _, fields = D.branch_union()
    assert fields == {"1×1": 1, "3×3": 3, "3×3, 3×3": 5, "pool 3×3, 1×1": 3, "concatenation": 5}


def test_photo_is_224_pixels():
    image = D.photo_224("chelsea")
    assert image.shape == (224, 224, 3) and 0 <= image.min() and image.max() <= 1


def test_photo_draws_the_central_unit_where_its_field_is():
    fig, found = D.fields_on_photo("resnet18", "chelsea", cols=2)
    drawn = [p.get_x() + p.get_width() / 2 for ax in fig.axes for p in ax.patches]
    for st, x in zip(found, drawn):
        lo, hi = st["span"]
        assert st["map"] == 224 // st["jump"] and st["unit"] == (st["map"] - 1) // 2
        assert x == st["centre"] == (lo + hi) / 2 and hi - lo + 1 == st["field"]
