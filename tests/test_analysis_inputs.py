"""Every public function of cnnbook_lib.analysis refuses bad arguments with a ValueError or
TypeError that names the parameter, quickly, before any tracing; never a returned number, never
an internal torch error."""
import numpy as np
import pytest
import torch
from badinput import refuses
from torch import nn

from cnnbook_lib import analysis

MODEL = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
GOOD = dict(input_size=(1, 3, 8, 8))

#: parameter -> bad values (each must be refused)
SUMMARIZE_BAD = {
    "model": ["resnet", None, 3, nn.Conv2d, [nn.ReLU()]],
    "input_size": [None, "1,3,8,8", b"13", (), (1,), (0, 3), (1, -3), (1.0, 3), (1, 3.5),
                   (True, 3, 8, 8), (1, 3, 8, None), (1, "3", 8, 8), 5, 5.0, {1, 3},
                   (2 ** 40, 3), (2 ** 20, 3, 2 ** 10, 2 ** 10), (1,) * 9, (1, np.float64(3))],
    "dtype": ["float128", "", 3, True, "int64", torch.int64, torch.bool, ["float32"]],
    "training": ["False", "True", 0, 1, None, 1.0, []],
    "input_requires_grad": ["True", 0, 1, None, np.int64(1)],
    "device": ["gpu", "", 3, None, True, "tpu", "cuda:7" if not torch.cuda.is_available() else 3],
}


def _call(param, value):
    kwargs = dict(GOOD)
    model = MODEL
    if param == "model":
        model = value
    else:
        kwargs[param] = value
    size = kwargs.pop("input_size")
    return analysis.summarize(model, size, **kwargs)


def _refused(fn, param):
    """Refused within the bad-input harness's limit of CPU time (tests/badinput.py)."""
    error = refuses(fn)
    message = str(error)
    assert param.split(".")[-1] in message, message
    # a message of ours, not one from torch, numpy or sympy internals
    assert error.__class__.__module__ == "builtins"
    return message


@pytest.mark.parametrize("param,value", [(p, v) for p, vs in SUMMARIZE_BAD.items() for v in vs],
                         ids=lambda v: repr(v)[:30])
def test_summarize_refuses(param, value):
    _refused(lambda: _call(param, value), param)


SUMMARY = analysis.summarize(MODEL, (2, 3, 8, 8))
TRAINING_MEMORY_BAD = {
    "batch_size": [0, -1, 2.5, True, "8", 2 ** 40, [8], np.float32(2)],
    "dtype": ["float128", 5, True, [], "floa"],
    "optimizer": ["lbfgs", None, 3, True, ""],
}


@pytest.mark.parametrize("param,value", [(p, v) for p, vs in TRAINING_MEMORY_BAD.items()
                                         for v in vs], ids=lambda v: repr(v)[:30])
def test_training_memory_refuses(param, value):
    _refused(lambda: SUMMARY.training_memory(**{param: value}), param)


def test_good_values_of_the_same_kinds_are_accepted():
    s = analysis.summarize(MODEL, [np.int64(1), 3, 8, 8], dtype=torch.float32,
                           training=np.bool_(False), device=torch.device("meta"))
    assert s.input_size == (1, 3, 8, 8) and s.dtype == "float32"
    assert analysis.summarize(MODEL, torch.Size([1, 3, 8, 8]), dtype="bfloat16").dtype == "bfloat16"
    mem = s.training_memory(batch_size=np.int32(4), dtype=torch.float16, optimizer="sgd")
    assert mem["weights"] == 2 * s.params and mem["optimizer_state"] == 0


@pytest.mark.parametrize("args", [("resnet",), (int,), (3,)])
def test_register_refuses_non_module_types(args):
    _refused(lambda: analysis.register(*args), "types")


@pytest.mark.parametrize("args", [(3,), ("",), (None,)])
def test_register_op_refuses_bad_names(args):
    _refused(lambda: analysis.register_op(*args), "names")


def test_register_refuses_a_rule_that_is_not_callable():
    _refused(lambda: analysis.register(nn.ReLU)("not a function"), "rule")
