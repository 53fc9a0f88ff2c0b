"""Inception v3 (Szegedy et al. 2016): factorized convolutions and grid reductions."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Parallel", "conv_bn_relu", "InceptionV3", "inception_v3"]


class Parallel(nn.ModuleList):
    """Branches applied to the same input, concatenated along the channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Every branch on ``x``, concatenated."""
        return torch.cat([branch(x) for branch in self], 1)


def conv_bn_relu(c_in: int, c_out: int, k: int | tuple[int, int], stride: int = 1,
         same: bool = True) -> nn.Sequential:
    """Inception v3's convolution: ``k`` (an int or ``(kh, kw)``) without bias, "same" padding
    (``same=False``: none), batch norm with eps 1e-3, ReLU."""
    kh, kw = (k, k) if isinstance(k, int) else k
    padding = ((kh - 1) // 2, (kw - 1) // 2) if same else 0
    return nn.Sequential(nn.Conv2d(c_in, c_out, (kh, kw), stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, eps=1e-3), nn.ReLU())


def _inception_a(c_in: int, pool: int) -> Parallel:
    """35 x 35 module (Szegedy et al. 2016, Figure 5): 1x1 | 1x1, 5x5 | 1x1, 3x3, 3x3 | avg
    pool, 1x1. (The figure factorizes the 5x5 into two 3x3s; the released model keeps a 5x5
    branch beside a double 3x3 one.)"""
    return Parallel([conv_bn_relu(c_in, 64, 1),
                     nn.Sequential(conv_bn_relu(c_in, 48, 1), conv_bn_relu(48, 64, 5)),
                     nn.Sequential(conv_bn_relu(c_in, 64, 1), conv_bn_relu(64, 96, 3), conv_bn_relu(96, 96, 3)),
                     nn.Sequential(nn.AvgPool2d(3, 1, 1), conv_bn_relu(c_in, pool, 1))])


def _reduction_a(c_in: int) -> Parallel:
    """35 -> 17 grid reduction (Figure 10): 3x3/2 | 1x1, 3x3, 3x3/2 | 3x3/2 max pool."""
    return Parallel([conv_bn_relu(c_in, 384, 3, 2, same=False),
                     nn.Sequential(conv_bn_relu(c_in, 64, 1), conv_bn_relu(64, 96, 3), conv_bn_relu(96, 96, 3, 2, same=False)),
                     nn.MaxPool2d(3, 2)])


def _inception_c(c_in: int, c7: int) -> Parallel:
    """17 x 17 module with 7x7 convolutions factorized into 1x7 and 7x1 (Figure 6)."""
    return Parallel([conv_bn_relu(c_in, 192, 1),
                     nn.Sequential(conv_bn_relu(c_in, c7, 1), conv_bn_relu(c7, c7, (1, 7)), conv_bn_relu(c7, 192, (7, 1))),
                     nn.Sequential(conv_bn_relu(c_in, c7, 1), conv_bn_relu(c7, c7, (7, 1)), conv_bn_relu(c7, c7, (1, 7)),
                                   conv_bn_relu(c7, c7, (7, 1)), conv_bn_relu(c7, 192, (1, 7))),
                     nn.Sequential(nn.AvgPool2d(3, 1, 1), conv_bn_relu(c_in, 192, 1))])


def _reduction_b(c_in: int) -> Parallel:
    """17 -> 8 grid reduction: 1x1, 3x3/2 | 1x1, 1x7, 7x1, 3x3/2 | 3x3/2 max pool."""
    return Parallel([nn.Sequential(conv_bn_relu(c_in, 192, 1), conv_bn_relu(192, 320, 3, 2, same=False)),
                     nn.Sequential(conv_bn_relu(c_in, 192, 1), conv_bn_relu(192, 192, (1, 7)),
                                   conv_bn_relu(192, 192, (7, 1)), conv_bn_relu(192, 192, 3, 2, same=False)),
                     nn.MaxPool2d(3, 2)])


def _inception_e(c_in: int) -> Parallel:
    """8 x 8 module with expanded outputs (Figure 7): the 3x3 branches end in a 1x3 and a 3x1
    convolution side by side, both kept."""
    def fork(c: int) -> Parallel:
        return Parallel([conv_bn_relu(c, 384, (1, 3)), conv_bn_relu(c, 384, (3, 1))])
    return Parallel([conv_bn_relu(c_in, 320, 1),
                     nn.Sequential(conv_bn_relu(c_in, 384, 1), fork(384)),
                     nn.Sequential(conv_bn_relu(c_in, 448, 1), conv_bn_relu(448, 384, 3), fork(384)),
                     nn.Sequential(nn.AvgPool2d(3, 1, 1), conv_bn_relu(c_in, 192, 1))])


class InceptionV3(nn.Module):
    """The network of :func:`inception_v3`. In training with ``aux_logits``, ``forward``
    returns ``(logits, aux)``, else the logits."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, dropout: float = 0.5):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_relu(3, 32, 3, 2, same=False), conv_bn_relu(32, 32, 3, same=False),
                                  conv_bn_relu(32, 64, 3), nn.MaxPool2d(3, 2), conv_bn_relu(64, 80, 1),
                                  conv_bn_relu(80, 192, 3, same=False), nn.MaxPool2d(3, 2))
        self.mixed_35 = nn.Sequential(_inception_a(192, 32), _inception_a(256, 64),
                                      _inception_a(288, 64), _reduction_a(288))
        self.mixed_17 = nn.Sequential(*(_inception_c(768, c7) for c7 in (128, 160, 160, 192)))
        self.aux_logits = aux_logits
        if aux_logits:   # on the last 17 x 17 module's output
            self.aux = nn.Sequential(nn.AvgPool2d(5, 3), conv_bn_relu(768, 128, 1),
                                     conv_bn_relu(128, 768, 5, same=False), nn.AdaptiveAvgPool2d(1),
                                     nn.Flatten(), nn.Linear(768, num_classes))
        self.mixed_8 = nn.Sequential(_reduction_b(768), _inception_e(1280), _inception_e(2048))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(2048, num_classes))

    def forward(self, x: torch.Tensor):
        """Logits; training with ``aux_logits``: ``(logits, aux)``."""
        x = self.mixed_17(self.mixed_35(self.stem(x)))
        aux = self.aux(x) if self.aux_logits and self.training else None
        x = self.head(self.mixed_8(x))
        return (x, aux) if aux is not None else x


def inception_v3(num_classes: int = 1000, variant: str = "torchvision",
                 aux_logits: bool = False) -> nn.Module:
    """Inception v3 of Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, "Rethinking the Inception
    architecture for computer vision", CVPR 2016, for 299 x 299 inputs.

    torchvision's ``inception_v3(weights=None, aux_logits=False, init_weights=False)``, a port of
    the released TensorFlow model: a stem of five convolutions (3x3/2, 3x3, padded 3x3, 1x1, 3x3)
    and two 3x3/2 max poolings (299 -> 35), three 35 x 35 modules, a grid reduction, four 17 x 17
    modules with factorized 7x7 convolutions, a grid reduction and two 8 x 8 modules with
    expanded outputs; every convolution without bias, with batch norm (eps 1e-3) and ReLU;
    dropout 0.5. 23,834,568 parameters and 5.71 G MACs at 299 x 299. The paper's Table 1 and
    figures describe the stem and the 35 x 35 modules a little differently from the released
    model (which keeps a 5x5 branch beside the double 3x3 one); we follow the model, so
    ``variant="paper"`` is the same network. ``aux_logits=True`` adds the auxiliary classifier
    on the last 17 x 17 map (5x5/3 average pool, 1x1 to 128, 5x5 to 768, the classifier; 27,161,264
    parameters in all), used only in training mode; torchvision enables it by default.
    """
    return InceptionV3(num_classes, aux_logits)
