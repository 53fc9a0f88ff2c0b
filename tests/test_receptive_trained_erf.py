"""cnnbook_lib.receptive.trained_erf: the networks' fields by autograd, the ERF measurement's
invariants, the summary's statistics, and the shipped record."""
import statistics

import pytest
import torch

from cnnbook_lib.receptive import trained_erf as T


@pytest.mark.parametrize("variant", list(T.VARIANTS))
def test_field_of_the_last_map_is_what_autograd_reaches(variant):
    net = T.digit_net(variant, 0, depth=3, channels=4).double()
    x = torch.randn(1, 1, 21, 21, dtype=torch.float64, requires_grad=True)
    net.eval()
    y = net.features(x)
    assert y.shape[-2:] == (21, 21)
    (g,) = torch.autograd.grad(y[0, :, 10, 10].sum(), x)
    rows = torch.nonzero(g[0, 0].abs().sum(1) > 0).flatten()
    assert rows.max() - rows.min() + 1 <= 1 + 2 * (3 + 1)       # ReLUs may switch pixels off
    res = T.erf_width(net.float(), torch.randn(4, 1, 21, 21))
    assert res["field"] == 1 + 2 * (3 + 1)
    assert abs(float(res["map"].sum()) - 1) < 1e-9 and res["std"] > 0
    assert 0 < res["share95"] <= 1


def test_seed_fixes_the_weights_and_variants_are_checked():
    a, b = T.digit_net("residual + BN", 3), T.digit_net("residual + BN", 3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="variant"):
        T.digit_net("dense", 0)


def test_summarize_gives_mean_and_range_over_seeds():
    rows = [{"variant": "plain", "std_before": b, "std_after": a, "acc_after": c,
             "share_before": 0.5, "share_after": 0.4} for b, a, c in ((2, 1, .5), (4, 6, .7))]
    s = T.summarize(rows)["plain"]
    assert s["seeds"] == 2 and s["ratio"] == statistics.fmean([0.5, 1.5])
    assert (s["ratio_min"], s["ratio_max"]) == (0.5, 1.5) and s["acc_after"] == pytest.approx(0.6)


def test_the_record_holds_every_variant_for_three_seeds():
    record = T.recorded()
    assert record["machine"] and record["date"] and record["command"].startswith("python ")
    seeds = {(r["variant"], r["seed"]) for r in record["runs"]}
    assert all(len({s for v, s in seeds if v == name}) >= 3 for name in T.VARIANTS)
    assert set(record["maps"]) == set(T.VARIANTS)


def test_digits_are_14_by_14_and_standardized():
    x, y = T.digits("test")
    assert x.shape[1:] == (1, 14, 14) and len(x) == len(y) == 1000
