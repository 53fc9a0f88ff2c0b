"""Accuracies that papers report for the networks of chapter 4's 2020s pages (SENet, RegNet's
neighbours, ViT against ConvNeXt), kept in one place with their sources so that the pages glue
them instead of typing them. The ConvNeXt modernization steps' figures are in
:data:`.convnext_steps.PAPER_TABLE_10`.

Each table names its source: the key in ``chapters/references.bib`` and the place in the paper.
The numbers are as printed (percent; error rates stay error rates).
"""
from __future__ import annotations

__all__ = ["VIT_TABLE_5", "VIT_PRETRAINING_IMAGES", "CONVNEXT_TABLE_1", "SENET_TABLE_2", "SENET_TABLE_10", "SENET_TABLE_13",
           "ILSVRC2012_TOP5", "GOOGLENET_TABLE_5", "VGG_SINGLE_NET_TOP5", "VGG_TABLE_3",
           "BN_STEPS", "PAPER_COUNTS", "SOURCES"]

#: Where each table comes from.
SOURCES = {
    "VIT_TABLE_5": dict(cite="dosovitskiy2021image",
                        where="Appendix C, Table 5 (arXiv:2010.11929v2): ImageNet top-1 after "
                              "fine-tuning at 384 × 384, by pre-training data set"),
    "CONVNEXT_TABLE_1": dict(cite="liu2022convnet",
                             where="Table 1, page 6 (arXiv:2201.03545v2): ImageNet-1K top-1 at "
                                   "224 × 224"),
    "SENET_TABLE_2": dict(cite="hu2018squeeze",
                          where="Table 2 (arXiv:1709.01507v4): single-crop ImageNet validation "
                                "error, the authors' re-implemented baselines"),
    "SENET_TABLE_13": dict(cite="hu2018squeeze",
                           where="Table 13 (arXiv:1709.01507v4): SE-ResNet-50 with gates in one "
                                 "stage only, the ablation schedule"),
    "SENET_TABLE_10": dict(cite="hu2018squeeze",
                           where="Table 10 (arXiv:1709.01507v4): SE-ResNet-50 by reduction "
                                 "ratio, the ablation schedule (about 300 epochs)"),
    "ILSVRC2012_TOP5": dict(cite="krizhevsky2012imagenet",
                            where="abstract and Section 6: ILSVRC-2012 test set, top-5 error of "
                                  "the winning entry against the second-best entry"),
    "GOOGLENET_TABLE_5": dict(cite="szegedy2015going",
                              where="Table 5 (arXiv:1409.4842): top-5 error by number of models "
                                    "and crops"),
    "VGG_SINGLE_NET_TOP5": dict(cite="simonyan2015very",
                                where="Table 7 and Section 4.5 (arXiv:1409.1556v6): the best "
                                      "single network's top-5 test error, and a single "
                                      "GoogLeNet's as the VGG authors list it"),
    "VGG_TABLE_3": dict(cite="simonyan2015very",
                        where="Table 3 (arXiv:1409.1556v6): top-1 validation error, one test "
                              "scale, by configuration and training scale"),
    "BN_STEPS": dict(cite="ioffe2015batch",
                        where="Section 4.2.2 and the table of Figure 3 (arXiv:1502.03167v3): training "
                              "steps to reach Inception's maximum accuracy (72.2 %)"),
    "PAPER_COUNTS": dict(cite="hu2018squeeze; zhang2018shufflenet; szegedy2016rethinking",
                         where="SENet Tables 2 and 10; ShuffleNet Table 2 (1x); Inception-v3 "
                               "abstract"),
}

#: Krizhevsky et al. (2012): ILSVRC-2012 top-5 test error (percent) of their winning entry and of
#: the second-best entry.
ILSVRC2012_TOP5 = {"alexnet": 15.3, "second": 26.2}

#: Szegedy et al. (2015), Table 5: top-5 error (percent) of GoogLeNet by number of models and
#: crops per image. ``(models, crops) -> error``.
GOOGLENET_TABLE_5 = {(1, 1): 10.07, (1, 144): 7.89, (7, 144): 6.67}

#: Simonyan and Zisserman (2015), Section 4.5: "In terms of the single-net performance, our
#: architecture achieves the best result (7.0% test error), outperforming a single GoogLeNet by
#: 0.9%". Top-5 test error, percent.
VGG_SINGLE_NET_TOP5 = {"vgg": 7.0, "googlenet": 7.9}

#: Simonyan and Zisserman (2015), Table 3: top-1 validation error (percent) at one test scale, for
#: configurations A (11 layers), B (13), D (16) and E (19), trained at S = 256 and with scale
#: jitter S in [256, 512].
VGG_TABLE_3 = {
    "A": dict(layers=11, s256=29.6, jitter=None),
    "B": dict(layers=13, s256=28.7, jitter=None),
    "D": dict(layers=16, s256=27.0, jitter=25.6),
    "E": dict(layers=19, s256=27.3, jitter=25.5),
}

#: Ioffe and Szegedy (2015), Section 4.2.2: training steps (millions) for each network to reach
#: the 72.2 % top-1 that Inception reached. BN-Baseline: Inception with batch normalization and
#: nothing else changed; BN-x5: also a 5x learning rate, no dropout, no local response
#: normalization, less photometric distortion, faster decay, and more.
BN_STEPS = {"Inception": 31.0, "BN-Baseline": 13.3, "BN-x5": 2.1}

#: Operation and parameter counts that papers print for networks the library builds but
#: :data:`cnnbook_lib.published.PAPER` leaves blank: parameters, multiply-adds, and whether the
#: parameter figure is an upper bound ("less than 25 million").
PAPER_COUNTS = {
    "se_resnet50": dict(params=28.1e6, macs=3.87e9, params_bound=False, cite="hu2018squeeze",
                        where="Tables 2 and 10"),
    "shufflenet_v1": dict(params=None, macs=140e6, params_bound=False,
                          cite="zhang2018shufflenet", where="Table 2 (1x)"),
    "inception_v3": dict(params=25e6, macs=5e9, params_bound=True, cite="szegedy2016rethinking",
                         where="abstract"),
}

#: Dosovitskiy et al. (2021), Appendix C, Table 5: ImageNet top-1 (percent) of ViT-B/16 and
#: ViT-L/16 pre-trained on ImageNet (1.3 M images), ImageNet-21k (14 M) or JFT-300M (300 M), then
#: fine-tuned on ImageNet at 384 × 384.
VIT_TABLE_5 = {
    "vit_b_16": {"ImageNet": 77.91, "ImageNet-21k": 83.97, "JFT-300M": 84.15},
    "vit_l_16": {"ImageNet": 76.53, "ImageNet-21k": 85.15, "JFT-300M": 87.12},
}
#: Pre-training set sizes as the ViT paper states them (Section 4.1), in images.
VIT_PRETRAINING_IMAGES = {"ImageNet": 1.3e6, "ImageNet-21k": 14e6, "JFT-300M": 303e6}

#: Liu et al. (2022), Table 1, the rows at 224 × 224 this chapter compares: parameters (millions)
#: and "FLOPs" (multiply-adds, billions) as printed, ImageNet-1K top-1 (percent). ``"22k"``:
#: pre-trained on ImageNet-22K, then fine-tuned.
CONVNEXT_TABLE_1 = {
    "deit_s": dict(params_m=22, gflops=4.6, top1=79.8),
    "deit_b": dict(params_m=87, gflops=17.6, top1=81.8),
    "swin_t": dict(params_m=28, gflops=4.5, top1=81.3),
    "convnext_t": dict(params_m=29, gflops=4.5, top1=82.1),
    "convnext_t_22k": dict(params_m=29, gflops=4.5, top1=82.9),
}

#: Hu et al. (2018/2020), Table 2: ImageNet top-1 and top-5 error (percent) and GFLOPs
#: (multiply-adds) of the re-implemented ResNet-50 and of SE-ResNet-50 (reduction 16), trained
#: alike (100 epochs).
SENET_TABLE_2 = {
    "resnet50": dict(top1_err=24.80, top5_err=7.48, gflops=3.86),
    "se_resnet50": dict(top1_err=23.29, top5_err=6.62, gflops=3.87),
    "resnet101": dict(top1_err=23.17, top5_err=6.52, gflops=7.58),
}

#: Hu et al., Table 10: SE-ResNet-50 at reduction ratio r -> (top-1 error, top-5 error,
#: parameters in millions as printed); ``"resnet50"`` is the network without SE under the same
#: schedule. (The ablations of Section 6 drop the biases of the gate's dense layers.)
SENET_TABLE_10 = {
    2: (22.29, 6.00, 45.7), 4: (22.25, 6.09, 35.7), 8: (22.26, 5.99, 30.7),
    16: (22.28, 6.03, 28.1), 32: (22.72, 6.20, 26.9), "resnet50": (23.30, 6.55, 25.6),
}

#: Hu et al., Table 13: ResNet-50 with SE blocks in one stage only -> (top-1 error, top-5 error,
#: GFLOPs, parameters in millions as printed). The paper numbers the stages as ResNet does
#: (conv2_x ... conv5_x): its "stage 2" is the first bottleneck stage (256-channel outputs); it
#: reports no run with gates in the last stage alone.
SENET_TABLE_13 = {
    "none": (23.30, 6.55, 3.86, 25.6), "stage 2": (23.03, 6.48, 3.86, 25.6),
    "stage 3": (23.04, 6.32, 3.86, 25.7), "stage 4": (22.68, 6.22, 3.86, 26.4),
    "all": (22.28, 6.03, 3.87, 28.1),
}
