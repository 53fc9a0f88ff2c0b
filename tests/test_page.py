"""The per-layer table helpers that chapter 4's pages share (cnnbook_lib.page), checked against
torch: numel() for parameters, the FLOP counter for MACs, the meta device for shapes."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from cnnbook_lib import exercises, formulas as F, page, plots  # noqa: E402


@pytest.fixture(scope="module")
def lenet_table():
    return exercises.layer_table("lenet5", (1, 1, 32, 32), variant="modern")


def test_meta_model_builds_on_the_meta_device_with_real_shapes():
    model = page.meta_model("lenet5", variant="modern")
    assert all(p.device.type == "meta" for p in model.parameters())
    assert model(torch.empty(2, 1, 32, 32, device="meta")).shape == (2, 10)


def test_n_params_is_numel_over_the_parameters():
    conv = torch.nn.Conv2d(6, 16, 5)
    assert page.n_params(conv) == conv.weight.numel() + conv.bias.numel() == F.conv_params(6, 16, 5)
    assert page.n_params(torch.nn.ReLU()) == 0


def test_torch_counts_are_numel_and_half_the_flop_counter():
    conv = torch.nn.Conv2d(8, 4, 3, groups=2, device="meta")
    params, macs = page.torch_counts(conv, (3, 8, 10, 10))
    assert params == sum(p.numel() for p in conv.parameters())
    assert macs == F.conv_macs(8, 4, 3, 8, groups=2, batch=3)


def test_torch_counts_agree_with_the_table(lenet_table):
    params, macs = page.torch_counts(page.meta_model("lenet5", variant="modern"), (1, 1, 32, 32))
    assert (params, macs) == (lenet_table.params.sum(), lenet_table.macs.sum())


def test_show_table_prints_the_book_columns(lenet_table):
    styled = page.show_table(lenet_table)
    assert list(styled.data.columns) == list(page.TABLE_COLUMNS.values())
    html = styled.to_html()
    conv1 = lenet_table.set_index("layer").loc["conv1"]
    assert f"{conv1.macs:,}" in html and "output C×H×W" in html
    named = lenet_table.assign(name=lenet_table.layer.str.upper())
    assert list(page.show_table(named, before=["name"]).data.columns)[:2] == ["name", "layer"]


def test_draw_shares_draws_each_rows_share(lenet_table):
    fig, ax = plots.figure()
    page.draw_shares(ax, lenet_table, title="LeNet-5")
    weighted = lenet_table[(lenet_table.params > 0) | (lenet_table.macs > 0)]
    bars = ax.patches
    assert len(bars) == 2 * len(weighted)
    params_pct = [b.get_width() for b in bars[:len(weighted)]]
    assert sum(params_pct) == pytest.approx(100)
    assert params_pct[0] == pytest.approx(100 * weighted.params.iloc[0] / weighted.params.sum())
    assert [t.get_text() for t in ax.get_yticklabels()] == list(weighted.layer)
    matplotlib.pyplot.close(fig)


def test_pages_show_floats_with_three_decimals():
    """Tables on a page print floats to TABLE_DECIMALS places, not pandas' six."""
    import pandas as pd
    from cnnbook_lib import page
    df = pd.DataFrame({"ratio": [1 / 3]})
    assert page.TABLE_DECIMALS == 3
    assert "0.333" in df.style.to_html() and "0.333333" not in df.style.to_html()
    assert "0.333333" not in df.to_html()
