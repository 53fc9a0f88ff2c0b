"""torchvision's recorded weights metadata (cnnbook_lib.published) against the library's networks.

The metadata is torchvision's own (recorded with the versions in the data file, torchvision 0.29.1,
from each weight enum's ``.meta``): its parameter count and its ``_ops`` figure are an independent
oracle for ``architectures`` + ``analysis``, at the crop size torchvision evaluates at.
"""
from __future__ import annotations

import pytest
import torch

from cnnbook_lib import analysis, architectures, published

SHARED = [n for n in published.names() if n in architectures.names()]
#: torchvision's released Inception-v3 weights keep the auxiliary classifier (its num_params
#: counts it; evaluation does not run it, so its '_ops' do not).
AS_RELEASED = {"inception_v3": {"aux_logits": True}}


def test_metadata_is_recorded_with_versions():
    v = published.versions()
    assert v["torchvision"].startswith("0.29.1") and v["torch"].startswith("2.14.1")
    # every network the library builds in a torchvision variant has its metadata recorded
    missing = [n for n in architectures.names() if "torchvision" in architectures.variants(n)
               and n not in published.names()]
    assert not missing, f"re-record with python -m cnnbook_lib.published: {missing}"


@pytest.mark.parametrize("name", SHARED)
def test_torchvision_counts_match_the_library(name):
    """torchvision's num_params equals numel() of our network, and its '_ops' (multiply-adds, in
    billions to three decimals) equals our MAC count at torchvision's evaluation crop."""
    for weights in published._document()["weights"][name]:
        meta = published.torchvision_weights(name, weights)
        crop = int(meta["crop"])
        options = dict(AS_RELEASED.get(name, {}))
        if "input_size" in architectures.options(name):     # ViT's position embeddings
            options["input_size"] = crop
        with torch.device("meta"):
            model = architectures.build(name, **options)
        assert sum(p.numel() for p in model.parameters()) == meta["params"], (name, weights)
        model.eval()
        size = (1, 3, crop, crop)
        macs = analysis.summarize(model, size).macs
        assert round(macs / 1e9, 3) == pytest.approx(meta["ops_g"], abs=5e-4), (name, weights)


def test_top1_and_defaults():
    assert 50 < published.top1("alexnet") < published.top1("resnet50") < 100
    # V2 weights are later recipes: higher accuracy, same network
    assert published.top1("resnet50", "IMAGENET1K_V2") > published.top1("resnet50")
    assert published.torchvision_weights("resnet50")["default"]
    assert published.torchvision_weights("resnet50")["weights"] == "IMAGENET1K_V2"


@pytest.mark.parametrize("call, match", [
    (lambda: published.torchvision_weights("lenet5"), "no torchvision weights"),
    (lambda: published.torchvision_weights("resnet50", "V9"), "no weight set"),
    (lambda: published.top1("vgg16", "IMAGENET1K_FEATURES"), "no accuracy"),
])
def test_bad_lookups_are_explained(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_paper_figures_are_near_the_library_counts_and_cited():
    """Each paper's printed figure (rounded, sometimes of a slightly different layout) lies within
    10 % of the library's count of the default variant at its own input, and cites an entry of
    the bibliography."""
    from pathlib import Path

    from cnnbook_lib import analysis
    from cnnbook_lib.architectures import input_size
    bib = (Path(__file__).resolve().parents[1] / "chapters" / "references.bib").read_text()
    for name, fig in published.PAPER.items():
        assert "{" + fig["cite"] + "," in bib, name
        with torch.device("meta"):
            model = architectures.build(name)
        s = analysis.summarize(model, input_size(name))
        for key, ours in (("params", s.params), ("macs", s.macs)):
            if fig[key] is not None:
                assert abs(ours - fig[key]) / fig[key] < 0.10, (name, key, ours, fig[key])
    assert published.paper("squeezenet1_0") == dict(params=None, macs=None, cite=None, where=None)


# ShuffleNet V2's guideline tables (Ma et al., ECCV 2018, arXiv:1807.11164, Tables 1-4), checked
# against the paper's own captions and prose: a mistyped cell would break one of these.
G = published.SHUFFLENET_V2_GUIDELINES


def test_guideline_tables_are_complete():
    assert sorted(G) == ["G1", "G2", "G3", "G4"]
    for name, table in G.items():
        assert len(table["rows"]) >= 4, name
        for row, speeds in table["rows"].items():
            assert sorted(speeds) == ["ARM", "GPU"], (name, row)
            assert all(len(v) == 3 and all(x > 0 for x in v) for v in speeds.values()), (name, row)
            # a wider network is slower, in every row of every table
            assert all(list(v) == sorted(v, reverse=True) for v in speeds.values()), (name, row)


def test_guideline_tables_keep_the_flops_their_captions_fix():
    # Table 1: "the total FLOPs under the four ratios is fixed by varying the number of channels"
    for platform, pairs in G["G1"]["channels"].items():
        base = pairs["1:1"][0] * pairs["1:1"][1]
        for ratio, (c1, c2) in pairs.items():
            assert abs(c1 * c2 - base) / base < 0.06, (platform, ratio)
            assert abs(c2 / c1 - int(ratio.split(":")[1])) < 0.1 * int(ratio.split(":")[1])
    # Table 2: 1x1 group convolution, FLOPs h w c^2 / g fixed by the channel number c
    for platform, widths in G["G2"]["channels"].items():
        assert all(abs(c * c / g - widths[1] ** 2) / widths[1] ** 2 < 0.02 for g, c in widths.items())


def test_guideline_tables_say_what_the_paper_says():
    g1_gpu, g1_arm = (published.guideline_speeds("G1", p) for p in ("GPU", "ARM"))
    # G1: "when c1:c2 is approaching 1:1 ... the network evaluation speed is faster"
    for w in range(3):
        for p in ("GPU", "ARM"):
            col = list(published.guideline_speeds("G1", p, w).values())
            assert col == sorted(col, reverse=True)
    assert g1_gpu["1:12"] < g1_arm["1:12"] < 1
    # G2: "8 groups is more than two times slower than ... 1 group on GPU and up to 30% slower on ARM"
    assert published.guideline_speeds("G2", "GPU")[8] < 0.5
    assert max(1 - published.guideline_speeds("G2", "ARM", w)[8] for w in range(3)) == pytest.approx(0.30, abs=0.01)
    # G3: "4-fragment structure is 3x slower than 1-fragment. On ARM, the speed reduction is
    # relatively small"
    g3 = published.guideline_speeds("G3", "GPU")
    assert 1 / g3["4-fragment-series"] > 3 and 1 / g3["4-fragment-parallel"] > 3
    assert all(v > 0.8 for w in range(3) for v in published.guideline_speeds("G3", "ARM", w).values())
    # G4: "around 20% speedup is obtained on both GPU and ARM, after ReLU and shortcut are removed"
    for p in ("GPU", "ARM"):
        for w in range(3):
            assert 1.05 < published.guideline_speeds("G4", p, w)[(False, False)] < 1.25


@pytest.mark.parametrize("args, match", [(("G5", "GPU"), "unknown guideline"),
                                         (("G1", "TPU"), "platform"),
                                         (("G1", "GPU", 3), "width")])
def test_guideline_lookups_are_explained(args, match):
    with pytest.raises(ValueError, match=match):
        published.guideline_speeds(*args)
