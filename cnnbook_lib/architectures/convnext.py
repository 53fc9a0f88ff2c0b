"""ConvNeXt-T (Liu et al. 2022): a convolutional network modernized after the transformers."""
from __future__ import annotations

import torch
from torch import nn

from .blocks import drop_samples

__all__ = ["CONVNEXT_TINY", "Permute", "LayerNorm2d", "ConvNeXtBlock", "convnext_tiny"]


class Permute(nn.Module):
    """Reorder the dimensions (ConvNeXt's switch between channels-first and channels-last)."""

    def __init__(self, *dims: int):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x.permute(*dims)``."""
        return x.permute(*self.dims)

    def extra_repr(self) -> str:
        """The permutation, shown in the module's repr."""
        return f"dims={self.dims}"


class LayerNorm2d(nn.LayerNorm):
    """Layer normalization over the channels of an NCHW map, at each position (ConvNeXt's
    downsampling layers, as torchvision writes it: permute, normalize, permute back)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize each position's channel vector."""
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block (Liu et al. 2022, Figure 4): 7x7 depthwise convolution, layer norm over
    the channels (channels-last), 1x1 expansion to 4 times the channels as a dense layer, GELU,
    1x1 projection, a learned per-channel scale ("layer scale", initialized to 1e-6), stochastic
    depth, and the identity shortcut."""

    def __init__(self, dim: int, drop_prob: float = 0.0, layer_scale: float = 1e-6):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.block = nn.Sequential(nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Permute(0, 2, 3, 1),
                                   nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(),
                                   nn.Linear(4 * dim, dim), Permute(0, 3, 1, 2))
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + layer_scale * block(x)``, the scaled branch dropped per sample in training."""
        return x + drop_samples(self.layer_scale * self.block(x), self.drop_prob, self.training)


#: Liu et al. (2022), Section 3 and Table 9: ConvNeXt-T's channels and blocks per stage.
CONVNEXT_TINY = ((96, 3), (192, 3), (384, 9), (768, 3))


def convnext_tiny(num_classes: int = 1000, variant: str = "torchvision",
                  stochastic_depth: float = 0.1) -> nn.Module:
    """ConvNeXt-T of Liu, Mao, Wu, Feichtenhofer, Darrell & Xie, "A ConvNet for the 2020s",
    CVPR 2022.

    A 4x4/4 "patchify" convolution with layer norm, four stages of :class:`ConvNeXtBlock`
    (96, 192, 384, 768 channels; 3, 3, 9, 3 blocks) separated by downsampling layers (layer norm,
    2x2/2 convolution), global average pooling, layer norm and the classifier. Stochastic depth
    grows linearly from 0 to ``stochastic_depth`` over the blocks. torchvision's
    ``convnext_tiny`` layout, which is the authors' (``variant="paper"`` is the same network):
    28,589,128 parameters and 4.46 G MACs at 224 x 224 (the paper: 28 M and 4.5 G "FLOPs",
    multiply-adds).
    """
    total = sum(n for _, n in CONVNEXT_TINY)
    layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, CONVNEXT_TINY[0][0], 4, 4),
                                             LayerNorm2d(CONVNEXT_TINY[0][0], eps=1e-6))]
    block_id = 0
    for stage, (dim, n) in enumerate(CONVNEXT_TINY):
        blocks = []
        for _ in range(n):
            blocks.append(ConvNeXtBlock(dim, stochastic_depth * block_id / (total - 1)))
            block_id += 1
        layers.append(nn.Sequential(*blocks))
        if stage + 1 < len(CONVNEXT_TINY):
            layers.append(nn.Sequential(LayerNorm2d(dim, eps=1e-6),
                                        nn.Conv2d(dim, CONVNEXT_TINY[stage + 1][0], 2, 2)))
    last = CONVNEXT_TINY[-1][0]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), LayerNorm2d(last, eps=1e-6),
                         nn.Flatten(), nn.Linear(last, num_classes))
