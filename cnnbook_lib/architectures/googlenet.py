"""GoogLeNet, Inception v1 (Szegedy et al. 2015)."""
from __future__ import annotations

from functools import partial
from typing import Callable

import torch
from torch import nn

from .blocks import ConvBNAct, Inception, local_response_norm

__all__ = ["GOOGLENET_STAGES", "InceptionAux", "GoogLeNet", "googlenet"]


#: Inception modules of Szegedy et al. (2015), Table 1, by stage: name, input channels, #1x1,
#: #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj. Stages 4 and 5 start with a max pooling.
GOOGLENET_STAGES = (
    (("3a", 192, 64, 96, 128, 16, 32, 32), ("3b", 256, 128, 128, 192, 32, 96, 64)),
    (("4a", 480, 192, 96, 208, 16, 48, 64), ("4b", 512, 160, 112, 224, 24, 64, 64),
     ("4c", 512, 128, 128, 256, 24, 64, 64), ("4d", 512, 112, 144, 288, 32, 64, 64),
     ("4e", 528, 256, 160, 320, 32, 128, 128)),
    (("5a", 832, 256, 160, 320, 32, 128, 128), ("5b", 832, 384, 192, 384, 48, 128, 128)),
)


class InceptionAux(nn.Sequential):
    """GoogLeNet's auxiliary classifier: 5x5/3 average pool (torchvision: adaptive 4x4),
    1x1 convolution to 128 maps, a dense layer of 1024 with 70 % dropout, the classifier."""

    def __init__(self, c_in: int, num_classes: int, conv: Callable[..., nn.Module],
                 paper: bool = False):
        pool = nn.AvgPool2d(5, 3) if paper else nn.AdaptiveAvgPool2d(4)
        super().__init__(pool, conv(c_in, 128, 1), nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(),
                         nn.Dropout(0.7), nn.Linear(1024, num_classes))


class GoogLeNet(nn.Module):
    """The network of :func:`googlenet`. In training with ``aux_logits``, ``forward`` returns
    ``(logits, aux1, aux2)`` (aux1 after inception 4a, aux2 after 4d), else the logits."""

    def __init__(self, num_classes: int = 1000, paper: bool = False, aux_logits: bool = False):
        super().__init__()
        conv = partial(ConvBNAct, norm=False) if paper else partial(ConvBNAct, eps=1e-3)
        pool = partial(nn.MaxPool2d, 3, 2, ceil_mode=True)
        lrn = [local_response_norm()] if paper else []
        self.stem = nn.Sequential(conv(3, 64, 7, 2), pool(), *lrn, conv(64, 64, 1),
                                  conv(64, 192, 3), *lrn, pool())
        pools = (None, pool(), pool() if paper else nn.MaxPool2d(2, 2, ceil_mode=True))
        for stage, (modules, first) in enumerate(zip(GOOGLENET_STAGES, pools), start=3):
            seq = nn.Sequential(*([first] if first is not None else []))
            for name, *channels in modules:
                seq.add_module(name, Inception(*channels, k5=5 if paper else 3, conv=conv))
            setattr(self, f"inception{stage}", seq)
        self.aux_logits = aux_logits
        if aux_logits:   # on the outputs of inception 4a (512 maps) and 4d (528 maps)
            self.aux = nn.ModuleDict({"4a": InceptionAux(512, num_classes, conv, paper),
                                      "4d": InceptionAux(528, num_classes, conv, paper)})
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Dropout(0.4 if paper else 0.2), nn.Linear(1024, num_classes))

    def forward(self, x: torch.Tensor):
        """Logits; training with ``aux_logits``: ``(logits, aux_4a, aux_4d)``."""
        x = self.inception3(self.stem(x))
        aux = []
        for name, module in self.inception4.named_children():
            x = module(x)
            if self.aux_logits and self.training and name in ("4a", "4d"):
                aux.append(self.aux[name](x))
        x = self.head(self.inception5(x))
        return (x, *aux) if aux else x


def googlenet(num_classes: int = 1000, variant: str = "torchvision",
              aux_logits: bool = False) -> nn.Module:
    """GoogLeNet (Inception v1) of Szegedy et al., "Going deeper with convolutions", CVPR 2015.

    ``variant="torchvision"`` matches ``torchvision.models.googlenet(weights=None,
    aux_logits=False, init_weights=False)``: 6,624,904 parameters. torchvision differs from the
    paper: batch normalization (eps 1e-3) after every convolution, which then has no bias (the
    paper predates batch normalization); a 3x3 instead of 5x5 convolution in the "5x5" branch (a
    slip kept for compatibility with its weights); no local response normalization; a 2x2/2
    last pooling instead of 3x3/2 (both give 7x7); dropout 0.2 instead of 0.4; adaptive pooling
    in the auxiliary heads. torchvision enables the auxiliary classifiers by default when no
    weights are loaded; here ``aux_logits=True`` adds them (13,004,888 parameters with them,
    torchvision's count too), used only in training mode.

    ``variant="paper"``: biased convolutions with ReLU, 5x5 branches, local response
    normalization (Caffe's parameters), 3x3/2 poolings, dropout 0.4. The "ops" column of the
    paper's Table 1 gives each inception module's MACs (3a: 128 M ... 5b: 71 M).
    """
    return GoogLeNet(num_classes, paper=variant == "paper", aux_logits=aux_logits)
