"""Bad input to the public functions of cnnbook_lib.receptive: refused with a ValueError or
TypeError that names the parameter, within a second, never a number and never torch's own
error (harness: tests/badinput.py)."""
from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest
import torch
from torch import nn

from badinput import HUGE, check_call, check_function
from cnnbook_lib.receptive import (Axis, Gather, erf_fraction, gradient_receptive_field, merge,
                                   receptive_field, unclipped_input_size)


def small_net():
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))


def test_receptive_field_of_a_layer_list_rejects_bad_input_size():
    check_function(receptive_field, dict(model_or_layers=[(3, 1), (3, 2)], input_size=32),
                   skip=("model_or_layers",), allow={"input_size": ("None",)})


def test_receptive_field_of_a_model_rejects_bad_input_size():
    check_function(receptive_field, dict(model_or_layers=small_net(), input_size=(1, 1, 16, 16)),
                   skip=("model_or_layers",), allow={"input_size": ("None", "3")})


BAD_LAYERS = [
    ("None", None), ("int", 3), ("str", "3,1"), ("bytes", b"31"), ("dict", {"k": 3}),
    ("set", {3, 1}), ("float", 3.0),
    ("one value", [(3,)]), ("five values", [(3, 1, 1, 0, 0)]), ("str layer", ["31"]),
    ("dict layer", [{"k": 3, "s": 1}]), ("None layer", [None]), ("int layer", [3]),
    ("bool kernel", [(True, 1)]), ("float kernel", [(3.0, 1)]), ("str kernel", [("3", 1)]),
    ("None stride", [(3, None)]), ("zero kernel", [(0, 1)]), ("zero stride", [(3, 0)]),
    ("zero dilation", [(3, 1, 0)]), ("negative padding", [(3, 1, 1, -1)]),
    ("huge kernel", [(HUGE, 1)]), ("huge stride", [(3, HUGE)]), ("nan kernel", [(math.nan, 1)]),
    ("empty pair", [((), 1)]), ("triple kernel", [((3, 3, 3), 1)]),
    ("float in pair", [((3, 2.5), 1)]), ("bool in pair", [((3, False), 1)]),
    ("a module among tuples", [nn.Conv2d(1, 1, 3), (3, 1)]),
    ("second layer bad", [(3, 1), (3, 1.5)]),
]


@pytest.mark.parametrize("label, value", BAD_LAYERS, ids=[b[0] for b in BAD_LAYERS])
def test_receptive_field_rejects_bad_layers(label, value):
    with pytest.raises((ValueError, TypeError)) as info:
        receptive_field(value)
    assert type(info.value).__module__ == "builtins"
    assert re.search(r"layer|model_or_layers", str(info.value)), str(info.value)


def test_receptive_field_of_no_layers_is_the_input_pixel():
    """An empty stack is a valid stack: every unit sees its own pixel."""
    assert receptive_field([]).size == 1 and receptive_field(()).jump == 1


@pytest.mark.parametrize("shape", [(1, 3, 16, 16), (1, 1, 16), (2, 1, 16, 16, 16), (1, 1, 0, 16)])
def test_a_model_that_cannot_run_on_the_input_is_refused_without_torch_errors(shape):
    with pytest.raises(ValueError, match="input_size"):
        receptive_field(small_net(), shape)


def test_gradient_receptive_field_rejects_bad_arguments():
    valid = dict(model=small_net(), input_size=(1, 1, 12, 12), unit=(2, 3), erf_samples=0,
                 erf_weights="random", erf_mass=0.95, seed=0)
    check_function(gradient_receptive_field, valid, kinds={"erf_samples": "nonneg_int"},
                   allow={"input_size": ("None", "3"), "unit": ("None",)})


def test_gradient_receptive_field_refuses_a_unit_outside_the_map():
    with pytest.raises(ValueError, match="unit"):
        gradient_receptive_field(small_net(), (1, 1, 12, 12), unit=(6, 0), erf_samples=0)


def test_gradient_receptive_field_refuses_an_input_too_large_for_the_cpu():
    with pytest.raises(ValueError, match="input_size"):
        gradient_receptive_field(small_net(), (1, 1, 2 ** 15, 2 ** 15), erf_samples=0)


def test_unclipped_input_size_rejects_bad_arguments():
    check_function(unclipped_input_size, dict(model=small_net(), channels=1, max_tries=8),
                   allow={"channels": ("None",)})


def test_erf_fraction_rejects_bad_arguments():
    erf = torch.tensor([[0.7, 0.2], [0.05, 0.05]])
    check_function(erf_fraction, dict(erf=erf, box=(0, 0, 1, 1), mass=0.95),
                   kinds={"box": "shape"})


def test_axis_step_rejects_bad_layers():
    a = Axis(3, 2, Fraction(0))
    check_function(a.step, dict(k=3, s=2, d=1, p=1),
                   names={"k": ("kernel",), "s": ("stride",), "d": ("dilation",),
                          "p": ("padding",)})
    periodic = receptive_field(nn.Sequential(nn.Upsample(scale_factor=2)), 8).axes[0]
    assert periodic.period == 2
    check_function(periodic.step, dict(k=3, s=2, d=1, p=1),
                   names={"k": ("kernel",), "s": ("stride",), "d": ("dilation",),
                          "p": ("padding",)})


@pytest.mark.parametrize("value", [None, 3, "ab", [], (), [Axis(), None], [Axis(), 3]])
def test_merge_rejects_what_is_not_axes(value):
    problem = check_call(merge, {}, "axes", repr(value), value)
    assert problem is None, problem


@pytest.mark.parametrize("index", [(1.5, 2), (True, 1), ("1", 1), (None, 1), (1,), (1, 2, 3),
                                   (HUGE, 1)])
def test_box_rejects_bad_indices(index):
    rf = receptive_field([(3, 1)], 8)
    with pytest.raises((ValueError, TypeError), match="index"):
        rf.box(*index)
    with pytest.raises((ValueError, TypeError), match="index"):
        rf.clipped(*index)


def test_model_arguments_must_be_modules():
    for fn, name in ((gradient_receptive_field, "model"), (unclipped_input_size, "model")):
        for value in (None, 3, "net", [(3, 1)], torch.zeros(3)):
            problem = check_call(fn, {}, name, repr(value), value)
            assert problem is None, problem


LAYER_NAMES = {"k": ("kernel",), "s": ("stride",), "d": ("dilation",), "p": ("padding",)}


def test_gather_constructors_reject_bad_arguments():
    check_function(Gather.conv, dict(k=3, s=2, d=1, p=1), names=LAYER_NAMES,
                   allow={"p": ("-1", "(-1, 3)")})            # a negative padding crops
    check_function(Gather.transposed, dict(k=3, s=2, d=1, p=1), names=LAYER_NAMES)
    check_function(Gather.resample, dict(scale=Fraction(1, 2), offset=Fraction(-1, 4),
                                         taps="linear"),
                   kinds={"scale": "nonneg_number", "offset": "number"},
                   allow={"offset": ("-1", "-1.5", "0", "0.0"), "taps": ("None",)})
    check_function(Gather.window, dict(atoms=[(4, 1)], extent=16), skip=("atoms",))
    for atoms in (None, 3, "ab", [(4,)], [(4.0, 1)], [(True, 1)], [(4, 0)], [(HUGE, 1)]):
        problem = check_call(Gather.window, dict(extent=16), "atoms", repr(atoms), atoms)
        assert problem is None, problem


def test_axis_methods_reject_bad_arguments():
    a = receptive_field(nn.Sequential(nn.Upsample(scale_factor=2)), 8).axes[0]
    check_function(a.span, dict(i=3), names={"i": ("unit",)}, allow={"i": ("-1", "(-1, 3)")})
    check_function(a.clipped_to, dict(n=8, units=16))
    check_function(Axis.from_spans, dict(lo=[0, 0], hi=[0, 0], shift=1),
                   kinds={"lo": "int_seq", "hi": "int_seq"}, allow={"shift": ("0",)})
