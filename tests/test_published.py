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
    from cnnbook_lib.interactives.architecture import input_size
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
