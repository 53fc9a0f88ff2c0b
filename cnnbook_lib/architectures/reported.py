"""Accuracies that papers report for the networks of chapter 4's 2020s pages (SENet, RegNet's
neighbours, ViT against ConvNeXt), kept in one place with their sources so that the pages glue
them instead of typing them. The ConvNeXt modernization steps' figures are in
:data:`.convnext_steps.PAPER_TABLE_10`.

Each table names its source: the key in ``chapters/references.bib`` and the place in the paper.
The numbers are as printed (percent; error rates stay error rates).
"""
from __future__ import annotations

__all__ = ["VIT_TABLE_5", "VIT_PRETRAINING_IMAGES", "CONVNEXT_TABLE_1", "SENET_TABLE_2", "SENET_TABLE_10", "SENET_TABLE_13",
           "SOURCES"]

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
