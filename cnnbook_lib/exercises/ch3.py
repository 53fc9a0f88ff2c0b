"""Chapter 3 checks: 1x1, bottleneck and separable convolutions."""
from __future__ import annotations

from typing import Callable

from .. import formulas as F
from ._core import Check, register

# ---------------------------------------------------------------------------------------------
# Chapter 3: 1x1, bottleneck and separable convolutions
# ---------------------------------------------------------------------------------------------

def _inception_3a() -> dict:
    """Channel numbers of GoogLeNet's inception 3a, as ``architectures`` stores them."""
    from .. import architectures
    name, c_in, c1, c3r, c3, c5r, c5, pool_proj = architectures.GOOGLENET_STAGES[0][0]
    return dict(c_in=c_in, c1=c1, c3r=c3r, c3=c3, c5r=c5r, c5=c5, pool_proj=pool_proj)


def _bottleneck_weights(c: int, width: int) -> int:
    """Weights (no biases, no batch normalization) of a ResNet bottleneck block c-width-width-c."""
    return (F.conv_params(c, width, 1, bias=False) + F.conv_params(width, width, 3, bias=False)
            + F.conv_params(width, c, 1, bias=False))


#: The kernel of the rank exercise: its second row is twice its first.
RANK_KERNEL = ((1, 2, 3), (2, 4, 6), (1, 0, 1))


def _rank(kernel) -> int:
    import numpy as np
    return int(np.linalg.matrix_rank(np.array(kernel, dtype=float)))


register(Check(
    id="inception-5x5-macs-1", chapter=3, difficulty="easy",
    question="MACs of the 5x5 branch of GoogLeNet's inception 3a (paper variant: a 1x1 reduction "
             "from 192 to 16 channels, then a 5x5 convolution to 32 channels, padding 2) on a "
             "28x28 input, batch 1.",
    answer=lambda: (F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c5r"], 1, 28)
                    + F.conv_macs(_inception_3a()["c5r"], _inception_3a()["c5"], 5, 28)),
    mistakes={
        "that is the 5x5 layer applied to all 192 input channels, without the 1x1 reduction.":
            lambda: F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c5"], 5, 28),
        "you counted only the 5x5 layer; the 1x1 reduction in front of it costs MACs too.":
            lambda: F.conv_macs(_inception_3a()["c5r"], _inception_3a()["c5"], 5, 28),
        "that is FLOPs; one MAC is two FLOPs.":
            lambda: 2 * (F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c5r"], 1, 28)
                         + F.conv_macs(_inception_3a()["c5r"], _inception_3a()["c5"], 5, 28)),
        "that is torchvision's GoogLeNet, whose '5x5' branch has a 3x3 kernel; the paper's "
        "branch is 5x5.":
            lambda: (F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c5r"], 1, 28)
                     + F.conv_macs(_inception_3a()["c5r"], _inception_3a()["c5"], 3, 28)),
    },
))

register(Check(
    id="bottleneck-params-1", chapter=3, difficulty="easy",
    question="Weights (no biases, no batch normalization) of a ResNet bottleneck block with 1024 "
             "input and output channels and width 256 (1x1, 3x3, 1x1).",
    answer=lambda: _bottleneck_weights(1024, 256),
    mistakes={
        "that is two plain 3x3 layers at 1024 channels, the design the bottleneck replaces.":
            lambda: 2 * F.conv_params(1024, 1024, 3, bias=False),
        "you left out the last 1x1 layer, which expands the 256 channels back to 1024.":
            lambda: F.conv_params(1024, 256, 1, bias=False) + F.conv_params(256, 256, 3, bias=False),
        "the question leaves biases out (batch normalization follows every convolution).":
            lambda: (F.conv_params(1024, 256, 1) + F.conv_params(256, 256, 3)
                     + F.conv_params(256, 1024, 1)),
        "the 3x3 layer has a 3x3 kernel: multiply its channel pairs by 9.":
            lambda: (F.conv_params(1024, 256, 1, bias=False) + F.conv_params(256, 256, 1, bias=False)
                     + F.conv_params(256, 1024, 1, bias=False)),
    },
))

register(Check(
    id="kernel-rank-1", chapter=3, difficulty="easy",
    question="Rank of the 3x3 kernel with rows (1, 2, 3), (2, 4, 6), (1, 0, 1).",
    answer=lambda: _rank(RANK_KERNEL),
    mistakes={
        "the second row is twice the first, so the three rows are not independent.":
            lambda: len(RANK_KERNEL),
        "the third row is not a multiple of the first: the kernel is not an outer product.":
            lambda: 1,
    },
))

register(Check(
    id="asymmetric-saving-1", chapter=3, difficulty="medium",
    question="Fraction of the MACs saved (a number between 0 and 1) when a 7x7 layer from C to C "
             "channels is replaced by a 1x7 layer followed by a 7x1 layer, both C to C, all with "
             "the same output size.",
    answer=lambda: 1 - (F.conv_macs(64, 64, (1, 7), 17) + F.conv_macs(64, 64, (7, 1), 17))
                   / F.conv_macs(64, 64, 7, 17),
    mistakes={
        "that is the ratio of the costs; the saving is one minus the ratio.":
            lambda: (F.conv_macs(64, 64, (1, 7), 17) + F.conv_macs(64, 64, (7, 1), 17))
                    / F.conv_macs(64, 64, 7, 17),
        "that is the saving in percent; give it as a fraction between 0 and 1.":
            lambda: 100 * (1 - (F.conv_macs(64, 64, (1, 7), 17) + F.conv_macs(64, 64, (7, 1), 17))
                           / F.conv_macs(64, 64, 7, 17)),
        "that is the saving of two square 4x4 layers; the asymmetric pair costs 7 + 7 taps, not "
        "16 + 16.":
            lambda: 1 - 2 * F.conv_macs(64, 64, 4, 17) / F.conv_macs(64, 64, 7, 17),
    },
    rel_tol=1e-3,
))


def _naive_3a_macs() -> int:
    """MACs of the naive inception module with the widths of 3a: 1x1, 3x3 and 5x5 convolutions
    on the 28x28x192 input (the max pooling branch has no MACs)."""
    m = _inception_3a()
    return sum(F.conv_macs(m["c_in"], co, k, 28) for co, k in ((m["c1"], 1), (m["c3"], 3), (m["c5"], 5)))


def _reduced_3a_macs() -> int:
    """MACs of the paper's inception 3a: both reductions, the 3x3, the 5x5 and the projection."""
    m = _inception_3a()
    layers = ((m["c_in"], m["c1"], 1), (m["c_in"], m["c3r"], 1), (m["c3r"], m["c3"], 3),
              (m["c_in"], m["c5r"], 1), (m["c5r"], m["c5"], 5), (m["c_in"], m["pool_proj"], 1))
    return sum(F.conv_macs(ci, co, k, 28) for ci, co, k in layers)


register(Check(
    id="naive-inception-macs-1", chapter=3, difficulty="medium",
    question="MACs of a naive inception module with the widths of GoogLeNet's 3a (1x1 to 64, 3x3 "
             "to 128 and 5x5 to 32 channels, 'same' padding, and a 3x3 max pooling) on a 28x28x192 "
             "input, batch 1.",
    answer=_naive_3a_macs,
    mistakes={
        "that is the reduced module of the paper (with 1x1 reductions and a pooling projection); "
        "the naive module applies its 3x3 and 5x5 layers to all 192 channels.":
            lambda: _reduced_3a_macs(),
        "you left out the 1x1 branch; it is a convolution too.":
            lambda: _naive_3a_macs() - F.conv_macs(_inception_3a()["c_in"], _inception_3a()["c1"], 1, 28),
        "that is FLOPs; one MAC is two FLOPs.":
            lambda: 2 * _naive_3a_macs(),
    },
))


# ---------------------------------------------------------------------------------------------
# Depthwise-separable convolutions and the inverted residual (chapters/03/04_depthwise), grouped
# convolutions (chapters/03/05_grouped)
# ---------------------------------------------------------------------------------------------

register(Check(
    id="separable-ratio-1", chapter=3, difficulty="easy",
    question="MACs of a depthwise-separable layer (3x3 depthwise on 128 channels, then a 1x1 "
             "layer from 128 to 256 channels) as a fraction of the MACs of the standard 3x3 layer "
             "from 128 to 256 channels with the same output size.",
    answer=lambda: float(F.separable_cost_ratio(256, 3)),
    mistakes={
        "that leaves out the 1x1 layer; it does most of the separable layer's work.":
            lambda: 1 / 9,
        "that leaves out the depthwise layer; it costs k^2 / C_out of the pointwise one.":
            lambda: 1 / 256,
        "that is the saving factor, standard over separable; the question asks for the fraction.":
            lambda: 1 / float(F.separable_cost_ratio(256, 3)),
        "the depthwise share is 1 / C_out (the output channels), not 1 / C_in.":
            lambda: 1 / 128 + 1 / 9,
    },
    rel_tol=1e-3,
))


def _inverted_residual_block_macs(c: int, t: int, hw: int) -> int:
    """MACs of MobileNetV2's stride-1 block c -> t c -> c, 3x3 depthwise (formulas)."""
    return int(F.inverted_residual_macs_expr.subs({F.N: 1, F.c_in: c, F.c_out: c, F.t_exp: t,
                                                   F.k: 3, F.h_out: hw, F.w_out: hw}))


#: The budget exercise: a 64-channel block on a 14x14 map under 15 million MACs.
BUDGET_BLOCK = dict(c=64, hw=14, budget=15_000_000)


def _largest_expansion(per_t: Callable[[int], float], budget: float) -> int:
    t = 0
    while per_t(t + 1) <= budget:
        t += 1
    return t


register(Check(
    id="expansion-budget-1", chapter=3, difficulty="medium",
    question="Largest integer expansion factor t of a MobileNetV2 block at stride 1 (1x1 from 64 to "
             "64 t channels, 3x3 depthwise, linear 1x1 back to 64) on a 14x14 map whose MACs stay "
             "within 15 million.",
    answer=lambda: _largest_expansion(
        lambda t: _inverted_residual_block_macs(BUDGET_BLOCK["c"], t, BUDGET_BLOCK["hw"]),
        BUDGET_BLOCK["budget"]),
    mistakes={
        "that rounds t up, and the block then exceeds the budget; round down.":
            lambda: _largest_expansion(
                lambda t: _inverted_residual_block_macs(64, t, 14), 15_000_000) + 1,
        "that counts FLOPs against a budget of MACs; one MAC is two FLOPs.":
            lambda: _largest_expansion(
                lambda t: 2 * _inverted_residual_block_macs(64, t, 14), 15_000_000),
        "you left out the projection back to 64 channels; it costs as much as the expansion.":
            lambda: _largest_expansion(
                lambda t: F.conv_macs(64, 64 * t, 1, 14)
                + F.conv_macs(64 * t, 64 * t, 3, 14, 64 * t), 15_000_000),
    },
))

register(Check(
    id="grouped-params-1", chapter=3, difficulty="easy",
    question="Weights (no bias) of AlexNet's second convolution in the paper's two-GPU network: "
             "96 input channels, 256 filters of 5x5, two groups.",
    answer=lambda: F.conv_params(96, 256, 5, groups=2, bias=False),
    mistakes={
        "that is the layer without groups; each filter sees only the 48 channels of its GPU.":
            lambda: F.conv_params(96, 256, 5, bias=False),
        "the question leaves the biases out.":
            lambda: F.conv_params(96, 256, 5, groups=2),
        "the groups divide the weights by G, not G^2: each filter still exists, with half the "
        "input channels.":
            lambda: F.conv_params(96, 256, 5, bias=False) // 4,
    },
))


def _pointwise_access(c: int, hw: int, groups: int) -> int:
    """Values a 1x1 layer from c to c channels in ``groups`` groups reads and writes on an hw x hw
    map, batch 1: its input, its weights and its output, once each (ShuffleNet V2's "MAC")."""
    return F.conv_min_bytes(c, c, 1, hw, hw, groups=groups, dtype="int8")   # one byte per value


register(Check(
    id="group-access-1", chapter=3, difficulty="medium",
    question="Values read and written (input, weights and output, once each; batch 1) by a 1x1 "
             "layer from 128 to 128 channels in 4 groups on a 56x56 map.",
    answer=lambda: _pointwise_access(128, 56, 4),
    mistakes={
        "the weights of a grouped layer are divided by G: each filter sees 128 / 4 channels.":
            lambda: _pointwise_access(128, 56, 1),
        "you counted only the input and output maps; the weights are read too.":
            lambda: 2 * 128 * 56 * 56,
        "that is bytes in float32; the question counts values.":
            lambda: 4 * _pointwise_access(128, 56, 4),
        "the weights are divided by G once, not G^2.":
            lambda: 2 * 128 * 56 * 56 + 128 * 128 // 16,
    },
))

#: The squeeze-and-excitation exercise: a block on 256 channels with reduction r = 4.
SE_BLOCK = dict(channels=256, reduction=4)


def _se_params(channels: int, reduction: int, bias: bool = True) -> int:
    """Parameters of a squeeze-and-excitation block: dense C -> C/r and C/r -> C (formulas)."""
    mid = channels // reduction
    return F.linear_params(channels, mid, bias) + F.linear_params(mid, channels, bias)


register(Check(
    id="se-params-1", chapter=3, difficulty="easy",
    question="Parameters (biases included) of a squeeze-and-excitation block on 256 channels with "
             "reduction r = 4: a dense layer from 256 to 64, a ReLU, a dense layer from 64 to 256.",
    answer=lambda: _se_params(SE_BLOCK["channels"], SE_BLOCK["reduction"]),
    mistakes={
        "the question includes the biases of both dense layers.":
            lambda: _se_params(SE_BLOCK["channels"], SE_BLOCK["reduction"], bias=False),
        "there are two dense layers, 256 to 64 and 64 back to 256; you counted one.":
            lambda: F.linear_params(256, 64),
        "each dense layer has one bias per output: 64 for the first, 256 for the second.":
            lambda: _se_params(SE_BLOCK["channels"], SE_BLOCK["reduction"], bias=False) + 2 * 256,
    },
))
