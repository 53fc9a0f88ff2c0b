"""The modernization of ResNet-50 into ConvNeXt-T (Liu et al. 2022, "A ConvNet for the 2020s",
CVPR 2022, Section 2 and Figure 2), one network per step.

:data:`STEPS` lists the steps in the paper's order; :func:`convnext_step` builds the network
reached after a step. The first is torchvision's ResNet-50 (:func:`.resnet.resnet`), the last
*is* :func:`.convnext.convnext_tiny`, parameter for parameter. The paper releases no code for the
intermediate networks; each is built here from the paper's description of its step (Section 2
and Figure 3). Where the text leaves a choice open, the docstring of :func:`convnext_step` says
which one is taken; none of these choices moves the multiply-accumulates by more than a few
parts in a thousand.

:data:`PAPER_TABLE_10` holds what the paper reports for each step: ImageNet-1K top-1 accuracy
(mean and standard deviation over three seeds) and "GFLOPs" (multiply-adds, counted by the
authors' tool), from its Appendix C, Table 10 (page 13 of arXiv:2201.03545v2); the same numbers,
rounded, label the bars of its Figure 2 (page 2). The paper prints no parameter count for the
intermediate steps, only for ResNet-50 and ConvNeXt-T (Table 9, page 13).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from .blocks import ConvBNAct
from .convnext import LayerNorm2d, convnext_tiny
from .resnet import resnet

__all__ = ["STEPS", "STEP_TITLES", "PAPER_TABLE_10", "PAPER_SOURCE", "StepConfig",
           "step_config", "build_config", "StepBlock", "convnext_step"]

#: The steps of the modernization, in the paper's order (Section 2, Figure 2, Table 10).
STEPS = ("resnet50", "stage_ratio", "patchify_stem", "depthwise", "wider", "inverted",
         "move_up_depthwise", "kernel_7", "gelu", "fewer_activations", "fewer_norms",
         "layer_norm", "separate_downsampling")

#: How the paper's Table 10 names each step (the book's tables print these).
STEP_TITLES = {
    "resnet50": "ResNet-50 (enhanced recipe)", "stage_ratio": "stage ratio (3, 3, 9, 3)",
    "patchify_stem": "\"patchify\" stem 4×4/4", "depthwise": "depthwise 3×3 convolution",
    "wider": "width 64 → 96", "inverted": "inverted bottleneck",
    "move_up_depthwise": "depthwise convolution moved up", "kernel_7": "kernel 3×3 → 7×7",
    "gelu": "ReLU → GELU", "fewer_activations": "fewer activations",
    "fewer_norms": "fewer normalizations", "layer_norm": "batch norm → layer norm",
    "separate_downsampling": "separate downsampling (ConvNeXt-T)",
}

#: Where :data:`PAPER_TABLE_10` comes from (the key in ``chapters/references.bib`` and the place).
PAPER_SOURCE = dict(cite="liu2022convnet",
                    where="Appendix C, Table 10, page 13 of arXiv:2201.03545v2 (rounded in "
                          "Figure 2, page 2)")

#: Liu et al. (2022), Appendix C, Table 10 ("Detailed results for modernizing a ResNet-50"), page
#: 13 of arXiv:2201.03545v2: step -> (ImageNet-1K top-1 in percent, its standard deviation over
#: three seeds or None where the table gives none, "GFLOPs" as printed). The paper's FLOPs are
#: multiply-adds. ``"resnet50_original"`` is the row "ResNet-50 (PyTorch)": torchvision's
#: weights, trained for 90 epochs; every other row uses the paper's 300-epoch recipe. The kernel
#: sizes 5, 9 and 11 are the rows the paper tried and did not adopt.
PAPER_TABLE_10 = {
    "resnet50_original": (76.13, None, 4.09),
    "resnet50": (78.82, 0.07, 4.09),
    "stage_ratio": (79.36, 0.07, 4.53),
    "patchify_stem": (79.51, 0.18, 4.42),
    "depthwise": (78.28, 0.08, 2.35),
    "wider": (80.50, 0.02, 5.27),
    "inverted": (80.64, 0.03, 4.64),
    "move_up_depthwise": (79.92, 0.08, 4.07),
    "kernel_5": (80.35, 0.08, 4.10),
    "kernel_7": (80.57, 0.14, 4.15),
    "kernel_9": (80.57, 0.06, 4.21),
    "kernel_11": (80.47, 0.11, 4.29),
    "gelu": (80.62, 0.14, 4.15),
    "fewer_activations": (81.27, 0.06, 4.15),
    "fewer_norms": (81.41, 0.09, 4.15),
    "layer_norm": (81.47, 0.09, 4.46),
    "separate_downsampling": (81.97, 0.06, 4.49),
    "swin_t": (81.30, None, 4.50),
}


@dataclass(frozen=True)
class StepConfig:
    """The design after one step: blocks per stage, stem, base width, block layout
    (``"bottleneck"``: 1×1 reduce, k×k, 1×1 expand; ``"inverted"``: 1×1 expand, depthwise k×k,
    1×1 reduce; ``"inverted_up"``: depthwise k×k first), depthwise or dense k×k, kernel size,
    activation, whether only one activation and one normalization stay in a block, batch or
    layer normalization."""

    counts: tuple[int, ...] = (3, 4, 6, 3)
    patchify: bool = False
    width: int = 64
    layout: str = "bottleneck"
    depthwise: bool = False
    kernel: int = 3
    act: type[nn.Module] = nn.ReLU
    fewer_acts: bool = False
    fewer_norms: bool = False
    layer_norm: bool = False


def step_config(step: str, kernel: int | None = None) -> StepConfig:
    """The design reached after ``step`` (one of :data:`STEPS` except the last, which is
    ConvNeXt-T itself); ``kernel`` overrides the depthwise kernel size from ``"kernel_7"`` on
    (the paper also tried 5, 9 and 11)."""
    if step not in STEPS[:-1]:
        raise ValueError(f"unknown step {step!r}; valid: {', '.join(STEPS[:-1])}")
    changes = {
        "stage_ratio": dict(counts=(3, 3, 9, 3)), "patchify_stem": dict(patchify=True),
        "depthwise": dict(depthwise=True), "wider": dict(width=96), "inverted": dict(layout="inverted"),
        "move_up_depthwise": dict(layout="inverted_up"), "kernel_7": dict(kernel=7),
        "gelu": dict(act=nn.GELU), "fewer_activations": dict(fewer_acts=True),
        "fewer_norms": dict(fewer_norms=True), "layer_norm": dict(layer_norm=True),
    }
    cfg = StepConfig()
    for name in STEPS[1:STEPS.index(step) + 1]:
        cfg = replace(cfg, **changes[name])
    if kernel is not None:
        if STEPS.index(step) < STEPS.index("kernel_7"):
            raise ValueError(f"{step}: the kernel size changes from step 'kernel_7' on")
        cfg = replace(cfg, kernel=kernel)
    return cfg


def _norm(cfg: StepConfig, c: int) -> nn.Module:
    return LayerNorm2d(c, eps=1e-6) if cfg.layer_norm else nn.BatchNorm2d(c)


class StepBlock(nn.Module):
    """One residual block of an intermediate step: the body of the step's layout, the shortcut
    (identity, or a strided 1×1 projection with its normalization where the shape changes), and
    an activation after the sum until "fewer activations" removes it."""

    def __init__(self, c_in: int, d: int, stride: int, cfg: StepConfig):
        super().__init__()
        k, act = cfg.kernel, cfg.act
        if cfg.layout == "bottleneck":           # 1x1 c_in -> d, k x k d -> d, 1x1 d -> 4d
            c_out, shapes = 4 * d, [(c_in, d, 1, 1, 1), (d, d, k, stride, d if cfg.depthwise else 1),
                                     (d, 4 * d, 1, 1, 1)]
        elif cfg.layout == "inverted":           # 1x1 c_in -> 4d, depthwise 4d, 1x1 4d -> d
            c_out, shapes = d, [(c_in, 4 * d, 1, 1, 1), (4 * d, 4 * d, k, stride, 4 * d),
                                (4 * d, d, 1, 1, 1)]
        else:                                    # depthwise c_in first, 1x1 c_in -> 4d, 4d -> d
            c_out, shapes = d, [(c_in, c_in, k, stride, c_in), (c_in, 4 * d, 1, 1, 1),
                                (4 * d, d, 1, 1, 1)]
        layers: list[nn.Module] = []
        for i, (a, b, kk, s, g) in enumerate(shapes):
            layers.append(nn.Conv2d(a, b, kk, s, (kk - 1) // 2, groups=g, bias=cfg.fewer_norms))
            # "fewer norms": one normalization, after the first (depthwise) convolution
            if not cfg.fewer_norms or i == 0:
                layers.append(_norm(cfg, b))
            # "fewer activations": one, between the two 1x1 convolutions (after the second layer)
            if (i < 2 and not cfg.fewer_acts) or (cfg.fewer_acts and i == 1):
                layers.append(act())
        self.body = nn.Sequential(*layers)
        self.shortcut = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                       _norm(cfg, c_out))
                         if stride != 1 or c_in != c_out else nn.Identity())
        self.act = nn.Identity() if cfg.fewer_acts else act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``act(body(x) + shortcut(x))``."""
        return self.act(self.body(x) + self.shortcut(x))


def convnext_step(step: str, num_classes: int = 1000, kernel: int | None = None) -> nn.Module:
    """The network after modernization step ``step`` of Liu et al. (2022), Section 2.

    * ``"resnet50"``: torchvision's ResNet-50 (stride in the 3×3 convolution, the ResNet-50 whose
      4.09 G multiply-adds the paper's Table 10 starts from).
    * ``"stage_ratio"``: (3, 3, 9, 3) bottlenecks per stage instead of (3, 4, 6, 3).
    * ``"patchify_stem"``: the 7×7/2 convolution and the max pooling replaced by one 4×4/4
      convolution (64 channels, keeping the stem's batch norm and ReLU: the paper does not say).
    * ``"depthwise"``: every bottleneck's 3×3 convolution depthwise (groups = channels).
    * ``"wider"``: base width 96 instead of 64 (bottleneck 96 ... 768, block outputs 384 ... 3072,
      Figure 3a; the stem gives 96 channels: the paper does not say).
    * ``"inverted"``: 1×1 expansion to four times the stage width, depthwise 3×3 there, 1×1
      back (Figure 3b); the residual stream is now 96 ... 768 channels wide.
    * ``"move_up_depthwise"``: the depthwise convolution first, on the narrow stream (Figure 3c).
    * ``"kernel_7"``: the depthwise kernel 7×7 (``kernel`` gives the paper's other tries).
    * ``"gelu"``: GELU for every ReLU.
    * ``"fewer_activations"``: one GELU per block, between the two 1×1 convolutions, none after
      the sum.
    * ``"fewer_norms"``: one batch norm per block, after the depthwise convolution (the 1×1
      convolutions get their biases back; the projection shortcuts keep their norm).
    * ``"layer_norm"``: layer norm over the channels for every batch norm.
    * ``"separate_downsampling"``: ConvNeXt-T, :func:`.convnext.convnext_tiny`: downsampling by
      layer norm and a 2×2/2 convolution between the stages, layer norms after the stem and the
      pooling, and the per-channel "layer scale" of the training recipe (Section 3.1).

    Until ``"separate_downsampling"`` a stage's first block downsamples (stride 2 in its k×k
    convolution, a strided 1×1 projection on the shortcut), as in ResNet.
    """
    if step == "resnet50":
        if kernel is not None:
            raise ValueError("resnet50: the kernel size changes from step 'kernel_7' on")
        return resnet(50, num_classes)
    if step == "separate_downsampling":
        if kernel is not None and kernel != 7:
            raise ValueError("separate_downsampling is ConvNeXt-T, whose kernel is 7")
        return convnext_tiny(num_classes)
    return build_config(step_config(step, kernel), num_classes)


def build_config(cfg: StepConfig, num_classes: int = 1000) -> nn.Module:
    """The network of one :class:`StepConfig` (``StepConfig()`` is ResNet-50 again, with
    torchvision's parameters and multiply-accumulates: the tests check it)."""
    c = cfg.width
    if cfg.patchify:
        stem: list[nn.Module] = [nn.Conv2d(3, c, 4, 4, bias=False), _norm(cfg, c), cfg.act()]
    else:
        stem = [ConvBNAct(3, c, 7, 2), nn.MaxPool2d(3, 2, 1)]
    layers = [nn.Sequential(*stem)]
    for stage, n in enumerate(cfg.counts):
        d = cfg.width * 2 ** stage
        blocks = []
        for i in range(n):
            blocks.append(StepBlock(c, d, 2 if stage > 0 and i == 0 else 1, cfg))
            c = 4 * d if cfg.layout == "bottleneck" else d
        layers.append(nn.Sequential(*blocks))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
