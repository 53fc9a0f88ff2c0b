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
        with torch.device("meta"):
            model = architectures.build(name)
        assert sum(p.numel() for p in model.parameters()) == meta["params"]
        crop = meta["crop"]
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
