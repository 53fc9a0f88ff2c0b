"""Assignment variants: a graded assignment asks an exercise with other numbers than the book's.

The book, its library and the check registry are public, so ``CHECKS[id].expected()`` (or the
solution in the full edition) gives the book's answer to anyone. An assignment therefore grades a
*variant* of each exercise it can vary: the same question with numbers drawn from the instructor's
secret seed. The drawn numbers are printed in the student's notebook; the right answer and the
typical mistakes for them are computed here when the assignment is made and stored only in the
autograder's hidden tests. A student who looks the exercise up in :mod:`cnnbook_lib.exercises`
gets the book's numbers and no point; a student who works it out (with the library's formulas if
they like) gets the point.

Each :class:`Variant` names the check it varies and, as functions of its parameters, the question,
the answer and the mistakes the book's check knows; :func:`Variant.book` holds the book's own
parameters, with which the variant's answer is the check's (tests/test_assignment_variants.py).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from .. import formulas as F


@dataclass(frozen=True)
class Variant:
    """One exercise whose numbers an assignment can change."""

    check_id: str
    book: dict                                   # the book's parameters
    draw: Callable[[random.Random], dict]        # other parameters
    question: Callable[[dict], str]
    answer: Callable[[dict], float]
    mistakes: Callable[[dict], dict[str, float]]
    rel_tol: float = 0.0

    def parameters(self, seed: str) -> dict:
        """The assignment's parameters for ``seed``: drawn until the answer differs from the
        book's (and from every mistake of the book's numbers)."""
        rng = random.Random(f"{seed}:{self.check_id}")
        taken = {self.answer(self.book), *self.mistakes(self.book).values()}
        for _ in range(1000):
            params = self.draw(rng)
            if params != self.book and self.answer(params) not in taken:
                return params
        raise RuntimeError(f"no variant of {self.check_id} differs from the book's")


def _odd(rng, lo, hi):
    return rng.choice(range(lo | 1, hi + 1, 2))


VARIANTS: dict[str, Variant] = {}


def _register(v: Variant) -> None:
    VARIANTS[v.check_id] = v


_register(Variant(
    "conv-out-size-1", dict(n=227, k=11, s=4),
    lambda r: dict(n=r.randrange(150, 300), k=_odd(r, 5, 11), s=r.choice([2, 3, 4])),
    lambda p: f"Output width of a {p['k']}x{p['k']}, stride-{p['s']} convolution without padding "
              f"on a {p['n']}-pixel input.",
    lambda p: F.conv_output_size(p["n"], p["k"], p["s"]),
    lambda p: {"you forgot the +1 (a kernel that fits exactly once still gives one output).":
               (p["n"] - p["k"]) // p["s"],
               "you divided the whole input by the stride; subtract the kernel first.":
               p["n"] // p["s"]},
))

_register(Variant(
    "conv-params-1", dict(c_in=64, c_out=128, k=3),
    lambda r: dict(c_in=r.choice([16, 24, 32, 48, 96]), c_out=r.choice([40, 80, 160, 192]),
                   k=r.choice([3, 5])),
    lambda p: f"Parameters of a {p['k']}x{p['k']} convolution from {p['c_in']} to {p['c_out']} "
              f"channels, with bias.",
    lambda p: F.conv_params(p["c_in"], p["c_out"], p["k"]),
    lambda p: {"you left out the biases (one per output channel).":
               F.conv_params(p["c_in"], p["c_out"], p["k"], bias=False),
               "each filter spans all input channels: multiply by C_in as well.":
               p["c_out"] * p["k"] ** 2 + p["c_out"]},
))

_register(Variant(
    "conv-macs-1", dict(c_in=64, c_out=128, k=3, hw=56, batch=32),
    lambda r: dict(c_in=r.choice([16, 32, 48]), c_out=r.choice([64, 96, 192]), k=3,
                   hw=r.choice([14, 28, 40]), batch=r.choice([4, 8, 16])),
    lambda p: f"Multiply-accumulates of a 3x3 convolution, {p['c_in']} to {p['c_out']} channels, "
              f"stride 1, padding 1, on a {p['hw']}x{p['hw']} input, batch {p['batch']}.",
    lambda p: F.conv_macs(p["c_in"], p["c_out"], 3, F.conv_output_size(p["hw"], 3, 1, 1),
                          batch=p["batch"]),
    lambda p: {"that is the FLOP count: one multiply-accumulate is two FLOPs.":
               2 * F.conv_macs(p["c_in"], p["c_out"], 3, p["hw"], batch=p["batch"]),
               f"you left out the batch of {p['batch']}.":
               F.conv_macs(p["c_in"], p["c_out"], 3, p["hw"]),
               f"with padding 1 the output stays {p['hw']}x{p['hw']}; you used the unpadded size.":
               F.conv_macs(p["c_in"], p["c_out"], 3, p["hw"] - 2, batch=p["batch"])},
))

_register(Variant(
    "conv-dilated-out-1", dict(n=32, d=2),
    lambda r: dict(n=r.randrange(20, 70), d=r.choice([2, 3, 4])),
    lambda p: f"Output width of a 3x3 convolution with dilation {p['d']}, stride 1 and padding 1 "
              f"on a {p['n']}-pixel input.",
    lambda p: F.conv_output_size(p["n"], 3, 1, 1, p["d"]),
    lambda p: {"dilation spreads the kernel: its extent is d(k-1)+1, not k.":
               F.conv_output_size(p["n"], 3, 1, 1),
               "the dilated extent is d(k-1)+1, not d*k.": p["n"] + 2 - p["d"] * 3 + 1},
))

_register(Variant(
    "pool-out-1", dict(n=56, k=3, s=2),
    lambda r: dict(n=r.randrange(20, 120, 2), k=3, s=2),
    lambda p: f"Output width of {p['k']}x{p['k']} max pooling with stride {p['s']}, no padding "
              f"and ceil_mode=True on a {p['n']}-pixel input.",
    lambda p: F.pool_output_size(p["n"], p["k"], p["s"], ceil_mode=True),
    lambda p: {"with ceil_mode=True the division rounds up, so a last partial window is kept.":
               F.pool_output_size(p["n"], p["k"], p["s"]),
               "you forgot the +1 after the division.": (p["n"] - p["k"]) // p["s"]},
))

_register(Variant(
    "transposed-out-1", dict(n=7, k=4, s=2, p=1),
    lambda r: dict(n=r.randrange(5, 40), k=4, s=2, p=1),
    lambda p: f"Output width of a transposed convolution with kernel {p['k']}, stride {p['s']}, "
              f"padding {p['p']} and output_padding 0 on a {p['n']}-pixel input.",
    lambda p: F.conv_transpose_output_size(p["n"], p["k"], p["s"], p["p"]),
    lambda p: {"that is the ordinary convolution's output size; a transposed convolution "
               "enlarges.": F.conv_output_size(p["n"], p["k"], p["s"], p["p"]),
               "padding crops 2p outputs of a transposed convolution; you left it out.":
               F.conv_transpose_output_size(p["n"], p["k"], p["s"], 0)},
))

_register(Variant(
    "dense-params-1", dict(hw=32, c_in=3, c_out=16),
    lambda r: dict(hw=r.choice([8, 12, 16, 24]), c_in=r.choice([1, 3]), c_out=r.choice([4, 8, 12])),
    lambda p: f"Parameters of a dense layer (with bias) from a {p['hw']}x{p['hw']}x{p['c_in']} "
              f"image to a {p['hw']}x{p['hw']}x{p['c_out']} output.",
    lambda p: F.linear_params(p["hw"] ** 2 * p["c_in"], p["hw"] ** 2 * p["c_out"]),
    lambda p: {"you left out the biases (one per output feature).":
               F.linear_params(p["hw"] ** 2 * p["c_in"], p["hw"] ** 2 * p["c_out"], bias=False),
               "that is a 3x3 convolution's count; a dense layer connects every input to every "
               "output.": F.conv_params(p["c_in"], p["c_out"], 3)},
))

_register(Variant(
    "conv-activation-bytes-1", dict(c_in=64, c_out=128, hw=56, batch=32),
    lambda r: dict(c_in=r.choice([16, 32]), c_out=r.choice([48, 96, 192]),
                   hw=r.choice([14, 28, 40]), batch=r.choice([4, 8, 16])),
    lambda p: f"Bytes of the float32 output of a 3x3 convolution, {p['c_in']} to {p['c_out']} "
              f"channels, stride 1, padding 1, on {p['hw']}x{p['hw']} inputs, batch {p['batch']}.",
    lambda p: F.conv_activation_bytes(p["c_out"], F.conv_output_size(p["hw"], 3, 1, 1),
                                      p["batch"]),
    lambda p: {"that is the number of elements: float32 takes 4 bytes each.":
               F.conv_activation_bytes(p["c_out"], p["hw"], p["batch"]) // 4,
               f"you left out the batch of {p['batch']}.":
               F.conv_activation_bytes(p["c_out"], p["hw"], 1),
               f"that is the input ({p['c_in']} channels); the output has {p['c_out']}.":
               F.conv_activation_bytes(p["c_in"], p["hw"], p["batch"])},
))

_register(Variant(
    "im2col-bytes-1", dict(c_in=64, hw=56),
    lambda r: dict(c_in=r.choice([16, 32, 48, 96]), hw=r.choice([14, 28, 40])),
    lambda p: f"Bytes of the float32 im2col patch matrix of a 3x3 convolution on a "
              f"{p['c_in']}x{p['hw']}x{p['hw']} input, stride 1, padding 1, batch 1.",
    lambda p: F.im2col_bytes(p["c_in"], 3, F.conv_output_size(p["hw"], 3, 1, 1)),
    lambda p: {"every input value is copied into up to k*k columns: multiply the input by k^2.":
               F.tensor_bytes((1, p["c_in"], p["hw"], p["hw"])),
               "that is the number of elements: float32 takes 4 bytes each.":
               F.im2col_elements(p["c_in"], 3, p["hw"]),
               f"with padding 1 there are {p['hw']}x{p['hw']} output positions.":
               F.im2col_bytes(p["c_in"], 3, p["hw"] - 2)},
))


# Chapter 2: receptive fields ------------------------------------------------------------------

def _stack(p):
    return [(3, p["s"], 1, 1)] * p["layers"]


def _rf(p):
    from ..exercises.ch2 import _rf_stack
    return _rf_stack(_stack(p))


_register(Variant(
    "rf-cover-layers-1", dict(k=5, n=224),
    lambda r: dict(k=r.choice([3, 5, 7]), n=r.randrange(100, 400)),
    lambda p: f"Fewest stride-1 {p['k']}x{p['k']} convolutions (padding {p['k'] // 2}) after which "
              f"a unit sees every pixel of a {p['n']}-pixel-wide image.",
    lambda p: -(-(p["n"] - 1) // (p["k"] - 1)),
    lambda p: {f"each layer adds k - 1 = {p['k'] - 1} pixels to the field, not k = {p['k']}.":
               -(-p["n"] // p["k"]),
               "round up: with one layer fewer the field is still narrower than the image.":
               (p["n"] - 1) // (p["k"] - 1)},
))

_register(Variant(
    "rf-eff-stride-1", dict(layers=3, s=2),
    lambda r: dict(layers=r.choice([2, 4, 5]), s=r.choice([2, 3])),
    lambda p: f"Effective stride (jump) of {p['layers']} stacked 3x3 convolutions, each with "
              f"stride {p['s']} and padding 1.",
    lambda p: _rf(p)[1],
    lambda p: {"strides multiply, they do not add: the jump is the product of the strides.":
               p["layers"] * p["s"],
               "that is the jump before the last layer; the stack's jump includes every stride.":
               p["s"] ** (p["layers"] - 1)},
))

_register(Variant(
    "rf-eff-padding-1", dict(layers=3, s=2),
    lambda r: dict(layers=r.choice([2, 4, 5]), s=2),
    lambda p: f"Effective padding of {p['layers']} stacked 3x3 convolutions, each with stride "
              f"{p['s']} and padding 1.",
    lambda p: F.receptive_field_padding(*_rf(p)[::2]),
    lambda p: {"each padding counts in pixels of the map it pads: multiply it by the jump before "
               "its layer before adding.": p["layers"],
               "you multiplied each padding by the jump after its layer; use the jump before it.":
               sum(p["s"] ** (n + 1) for n in range(p["layers"])),
               "that is the start (the centre of the first field); the effective padding is "
               "(r - 1)/2 - u.": _rf(p)[2]},
))

_register(Variant(
    "rf-stack-params-1", dict(c=128, k=9),
    lambda r: dict(c=r.choice([32, 64, 96, 256]), k=r.choice([5, 7, 11, 13])),
    lambda p: f"Weights (no biases) of a stack of stride-1 3x3 convolutions, {p['c']} channels in "
              f"and out, whose receptive field equals that of one {p['k']}x{p['k']} layer.",
    lambda p: (p["k"] - 1) // 2 * F.conv_params(p["c"], p["c"], 3, bias=False),
    lambda p: {"that is the single large layer's count; the question asks for the stack of 3x3 "
               "layers.": F.conv_params(p["c"], p["c"], p["k"], bias=False),
               "leave the biases out, as the question says.":
               (p["k"] - 1) // 2 * F.conv_params(p["c"], p["c"], 3)},
))


def variant_of(check_id: str) -> Variant | None:
    """The assignment variant of a check, or None where the assignment cannot vary it."""
    return VARIANTS.get(check_id)
