"""No bad input accepted: every public function of formulas, algorithms and bench refuses each
bad value of each parameter with a ValueError or TypeError that names the parameter, in under
a second (the harness is tests/badinput.py); and :mod:`cnnbook_lib.validation` makes the error
the same for the same input in every module (TypeError for a wrong type, ValueError for a value
out of range).

Public functions are discovered with ``inspect``; each needs an entry in :data:`CASES` (a
valid call, and where needed how its parameters are perturbed) or in :data:`SKIPPED` (with the
reason), so a new public function cannot escape the walk.
"""
from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest
import sympy as sp
import torch

from badinput import BAD, check_call, check_function
from cnnbook_lib import (algorithms, analysis, architectures, formulas, interactives, receptive,
                         validation as V)
from cnnbook_lib.bench import __main__ as cli
from cnnbook_lib.bench import roofline, sweep, timing


@dataclass
class Case:
    """A valid call of one public function and how to perturb it (see badinput.check_function)."""

    valid: dict[str, Any]
    kinds: dict[str, str] = field(default_factory=dict)
    names: dict[str, tuple] = field(default_factory=dict)
    allow: dict[str, tuple] = field(default_factory=dict)
    bad: dict[str, list] = field(default_factory=dict)
    skip: tuple = ()
    self: Callable[[], Any] | None = None       # makes the instance of a method
    fresh: Callable[[], dict] | None = None     # rebuilds valid arguments (tensors) per call


def _x(n=1, c=2, h=6, w=6, dtype=torch.float32):
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(0), dtype=dtype)


def _w(o=3, c=2, k=3, dtype=torch.float32):
    return torch.randn(o, c, k, k, generator=torch.Generator().manual_seed(1), dtype=dtype)


def _ceils():
    return roofline.Ceilings(device="cpu", bandwidth=1e10, flops={"float32": 1e11})


def _doc():
    return sweep.run_sweep(device="cpu", configs=[_CONFIG], ceils=_ceils(), repeats=2,
                           progress=False, threads=1)


_CONFIG = dict(family="3x3", c_in=2, c_out=2, k=3, hw=6, batch=1, stride=1, padding=1,
               groups=1, dilation=1, dtype="float32", channels_last=False,
               cudnn_benchmark=False)
_TENSOR = [(label, make()) for label, make in BAD["tensor"]]
_BIAS = [(label, v) for label, v in _TENSOR if label != "None"] + [
    ("wrong length", torch.zeros(5)), ("float64 bias", torch.zeros(3, dtype=torch.float64))]
_FN = [("None", None), ("3", 3), ("'f'", "f")]
_OPTIONAL = {"threads": ("None",)}

CASES: dict[str, Case] = {
    # ---- formulas: shapes -----------------------------------------------------------------
    "formulas.effective_kernel_size": Case(dict(k=3, d=2)),
    "formulas.conv_output_size": Case(dict(n=7, k=3, s=2, p=1, d=1)),
    "formulas.pool_output_size": Case(dict(n=7, k=3, s=2, p=1, ceil_mode=True, d=1),
                                      allow={"s": ("None",)}),
    "formulas.conv_transpose_output_size": Case(dict(n=4, k=3, s=2, p=1, output_padding=1, d=1)),
    "formulas.window_span": Case(dict(n_out=4, k=3, s=2, d=1)),
    "formulas.window_overhang": Case(dict(n=7, n_out=4, k=3, s=2, p=0, d=1)),
    # ---- formulas: cost -------------------------------------------------------------------
    "formulas.conv_params": Case(dict(c_in=4, c_out=6, k=3, groups=2, bias=True)),
    "formulas.conv_macs": Case(dict(c_in=4, c_out=6, k=3, out_hw=5, groups=2, batch=2)),
    "formulas.conv_flops": Case(dict(c_in=4, c_out=6, k=3, out_hw=5, groups=2, batch=2)),
    "formulas.macs_to_flops": Case(dict(macs=10), kinds={"macs": "nonneg_int"}),
    "formulas.conv_transpose_macs": Case(dict(c_in=4, c_out=6, k=3, in_hw=5, groups=2, batch=2)),
    "formulas.conv_bias_adds": Case(dict(c_out=6, out_hw=5, batch=2)),
    "formulas.conv_backward_macs": Case(dict(c_in=4, c_out=6, k=3, out_hw=5, groups=2, batch=2,
                                             input_grad=True, weight_grad=False)),
    "formulas.linear_params": Case(dict(in_features=8, out_features=4, bias=False)),
    "formulas.linear_macs": Case(dict(in_features=8, out_features=4, batch=3)),
    "formulas.batchnorm_params": Case(dict(num_features=8, affine=True)),
    "formulas.separable_cost_ratio": Case(dict(c_out=8, k=3)),
    "formulas.grouped_cost_ratio": Case(dict(groups=4)),
    # ---- formulas: memory -----------------------------------------------------------------
    "formulas.bytes_per_element": Case(dict(dtype="float16")),
    "formulas.tensor_bytes": Case(dict(shape_or_numel=(2, 3), dtype="float32"),
                                  kinds={"shape_or_numel": "nonneg_int"},
                                  allow={"shape_or_numel": ("()", "[]")}),
    "formulas.conv_activation_bytes": Case(dict(c_out=6, out_hw=5, batch=2, dtype="float16")),
    "formulas.conv_backward_cache_bytes": Case(dict(c_in=6, in_hw=5, batch=2, dtype="float16")),
    "formulas.im2col_elements": Case(dict(c_in=4, k=3, out_hw=5, batch=2)),
    "formulas.im2col_bytes": Case(dict(c_in=4, k=3, out_hw=5, batch=2, dtype="float16")),
    "formulas.optimizer_states": Case(dict(optimizer="adam")),
    "formulas.optimizer_state_bytes": Case(dict(params=100, optimizer="adam", dtype="float32"),
                                           kinds={"params": "nonneg_int"}),
    "formulas.scaled_activation_bytes": Case(dict(nbytes=1000, batch=2, new_batch=8),
                                             kinds={"nbytes": "nonneg_int"}),
    # ---- formulas: attention, receptive fields ----------------------------------------------
    "formulas.attention_macs": Case(dict(tokens=16, dim=8, batch=2)),
    "formulas.receptive_field_step": Case(
        dict(r=3, j=2, u=Fraction(1, 2), k=3, s=2, d=1, p=1),
        bad={"u": [("True", True), ("'0'", "0"), ("None", None), ("nan", math.nan),
                   ("inf", math.inf), ("()", ()), ("complex", 1j), ("2**80", 2 ** 80)]}),
    "formulas.receptive_field_padding": Case(
        dict(r=5, u=1), bad={"u": [("True", True), ("'0'", "0"), ("None", None),
                                   ("nan", math.nan), ("-inf", -math.inf), ("2**80", 2 ** 80)]}),
    "formulas.stride1_receptive_field": Case(dict(layers=3, k=3), kinds={"layers": "nonneg_int"}),
    "formulas.erf_variance_uniform_stack": Case(dict(layers=3, taps=3), kinds={"layers": "nonneg_int"}),
    "formulas.hdc_max_gap": Case(dict(rates=(1, 2, 5)), kinds={"rates": "int_seq"}),
    "formulas.hdc_ok": Case(dict(rates=(1, 2, 5), kernel=3), kinds={"rates": "int_seq"}),
    # ---- formulas: fast algorithms ----------------------------------------------------------
    "formulas.winograd_matrices": Case(
        dict(m=2, r=3, points=(0, 1, -1, sp.oo)),
        bad={"points": [("'0,1,-1'", "0,1,-1"), ("3", 3), ("too few", (0, 1, sp.oo)),
                        ("repeated", (0, 1, 1, sp.oo)), ("float", (0, 1.5, -1, sp.oo)),
                        ("bool", (0, True, -1, sp.oo)), ("None entry", (0, None, -1, sp.oo)),
                        ("()", ())]}),
    "formulas.winograd_identity_holds": Case(dict(m=2, r=3),
                                             bad={"m": [("20", 20), ("2**80", 2 ** 80),
                                                        ("True", True), ("2.0", 2.0)]}),
    "formulas.winograd_tiles": Case(dict(out_hw=5, m=2)),
    "formulas.winograd_tile_grid": Case(dict(out_hw=7, m=4)),
    "formulas.winograd_multiplications": Case(dict(c_in=2, c_out=3, out_hw=5, batch=2, m=2, r=3)),
    "formulas.winograd_workspace_elements": Case(dict(c_in=2, c_out=3, out_hw=5, batch=2, m=2,
                                                      r=3)),
    "formulas.rfft2_elements": Case(dict(fft_hw=9)),
    "formulas.fft_products": Case(dict(c_in=2, c_out=3, fft_hw=8, batch=2)),
    "formulas.fft_real_multiplications": Case(dict(c_in=2, c_out=3, fft_hw=8, batch=2)),
    "formulas.fft_workspace_complex": Case(dict(c_in=2, c_out=3, fft_hw=8, batch=2)),
    "formulas.fft_transform_multiplications": Case(dict(c_in=2, c_out=3, fft_hw=8, batch=2)),
    # ---- formulas: roofline ---------------------------------------------------------------
    "formulas.conv_min_bytes": Case(dict(c_in=4, c_out=6, k=3, in_hw=7, out_hw=5, groups=2,
                                         batch=2, dtype="float16")),
    "formulas.arithmetic_intensity": Case(dict(flops=3e9, nbytes=2e8)),
    "formulas.roofline_time": Case(dict(flops=3e9, nbytes=2e8, peak=1e11, bw=1e10)),
    "formulas.flops_only_time": Case(dict(flops=3e9, peak=1e11)),
    "formulas.ridge_point": Case(dict(peak=1e11, bw=1e10)),
    "formulas.memory_time": Case(dict(nbytes=2e8, bw=1e10)),
    "formulas.copy_bandwidth": Case(dict(nbytes=2e8, seconds=0.01)),
    "formulas.matmul_macs": Case(dict(m=4, k=5, n=6)),
    # ---- algorithms ---------------------------------------------------------------------------
    "algorithms.direct_conv2d": Case(dict(x=_x(), w=_w(), stride=1, padding=1,
                                          bias=torch.zeros(3)),
                                     kinds={"padding": "nonneg_int"}, bad={"bias": _BIAS}),
    "algorithms.im2col_conv2d": Case(dict(x=_x(), w=_w(), stride=2, padding=1,
                                          bias=torch.zeros(3)),
                                     kinds={"padding": "nonneg_int"}, bad={"bias": _BIAS}),
    "algorithms.fft_conv2d": Case(dict(x=_x(), w=_w(), stride=1, padding=1, bias=torch.zeros(3)),
                                  kinds={"padding": "nonneg_int"}, bad={"bias": _BIAS}),
    "algorithms.winograd_conv2d": Case(dict(x=_x(), w=_w(), padding=1, bias=torch.zeros(3), m=2),
                                       kinds={"padding": "nonneg_int"}, bad={"bias": _BIAS}),
    "algorithms.conv2d": Case(dict(x=_x(), w=_w(), method="im2col", stride=1, padding=1,
                                   bias=torch.zeros(3)),
                              kinds={"padding": "nonneg_int"}, bad={"bias": _BIAS}),
    "algorithms.im2col_matrix": Case(dict(x=_x(), kernel=3, stride=1, padding=0),
                                     kinds={"padding": "nonneg_int"}),
    "algorithms.fft_costs": Case(dict(x_shape=(2, 3, 8, 8), w_shape=(4, 3, 3, 3), stride=1,
                                      padding=1), kinds={"padding": "nonneg_int"}),
    "algorithms.multiplications": Case(dict(method="winograd", x_shape=(2, 3, 8, 8),
                                            w_shape=(4, 3, 3, 3), stride=1, padding=1),
                                       kinds={"padding": "nonneg_int"}),
    "algorithms.extra_memory": Case(dict(method="fft", x_shape=(2, 3, 8, 8), w_shape=(4, 3, 3, 3),
                                         stride=1, padding=1, dtype="float16"),
                                    kinds={"padding": "nonneg_int"}),
    "algorithms.winograd_fp16_error": Case(
        dict(scales=(1.0,), offset=0.0, channels=2, size=6, batch=1, tiles=(2,), seed=0),
        kinds={"offset": "nonneg_number", "seed": "nonneg_int", "tiles": "int_seq"},
        bad={"offset": [("True", True), ("'0'", "0"), ("None", None), ("nan", math.nan),
                        ("inf", math.inf)],
             "tiles": [("None", None), ("()", ()), ("(2.5,)", (2.5,)), ("(True,)", (True,)),
                       ("(0,)", (0,)), ("(2**80,)", (2 ** 80,)), ("'2'", "2")]}),
    # ---- bench.timing ---------------------------------------------------------------------
    "timing.resolve_device": Case(dict(device="cpu")),
    "timing.as_device": Case(dict(device="cuda:1")),              # no GPU needed to parse it
    "timing.bench_settings": Case(dict(threads=1, cudnn_benchmark=False, tf32=False),
                                  allow={"threads": ("None",), "cudnn_benchmark": ("None",),
                                         "tf32": ("None",)}),
    "timing.rotation_count": Case(dict(bytes_per_set=1000, cache_bytes=4000, factor=2.0,
                                       max_copies=8), kinds={"cache_bytes": "nonneg_int"}),
    "timing.measure": Case(
        dict(fn=lambda: None, warmup=1, repeats=2, device="cpu", rotate=[()], number=2,
             min_sample_s=1e-4, threads=1, flush_l2=False, noisy_threshold=0.1,
             clock=time.perf_counter),
        kinds={"warmup": "nonneg_int"}, allow=_OPTIONAL | {"number": ("None",)},
        bad={"rotate": [("3", 3), ("'ab'", "ab"), ("[3]", [3]), ("[None]", [None])],
             "fn": _FN, "clock": _FN}),
    "timing.capture_kernels": Case(dict(fn=lambda: torch.ones(2) + 1, device="cpu"),
                                   bad={"fn": _FN}),
    "timing.torch_dtype": Case(dict(dtype="bfloat16")),
    "timing.conv_inputs": Case(dict(c_in=4, c_out=2, k=3, hw=6, batch=1, groups=2,
                                    dtype="float32", device="cpu", channels_last=True, seed=0),
                               kinds={"seed": "nonneg_int"}),
    "timing.time_conv": Case(
        dict(c_in=2, c_out=2, k=3, hw=6, batch=1, stride=1, padding=1, groups=1, dilation=1,
             dtype="float32", device="cpu", channels_last=False, cudnn_benchmark=False,
             tf32=False, warmup=1, repeats=2, threads=1, seed=0, kernels=False,
             min_sample_s=1e-4),
        kinds={"seed": "nonneg_int", "warmup": "nonneg_int", "padding": "nonneg_int"},
        allow=_OPTIONAL | {"warmup": ("None",), "repeats": ("None",)}),
    "timing.Measurement.from_samples": Case(
        dict(samples=[1e-3, 2e-3, 3e-3], device="cpu", noisy_threshold=0.1),
        allow={"samples": ("(0.0,)",)},
        bad={"device": [("None", None), ("3", 3), ("True", True)]}),
    # ---- bench.roofline -------------------------------------------------------------------
    "roofline.ConvLayer": Case(dict(c_in=4, c_out=6, k=3, hw=8, batch=2, stride=2, padding=1,
                                    groups=2, dilation=1, dtype="float16"),
                               kinds={"padding": "nonneg_int"}),
    "roofline.ConvLayer.from_mapping": Case(dict(values=dict(c_in=4, c_out=6, k=3, hw=8))),
    "roofline.Ceilings": Case(dict(device="cpu", bandwidth=1e10, flops={"float32": 1e11},
                                   details={}),
                              bad={"flops": [("None", None), ("{}", {}), ("[]", []),
                                             ("negative", {"float32": -1.0}),
                                             ("str value", {"float32": "1e11"}),
                                             ("int key", {3: 1e11})],
                                   "details": [("None", None), ("3", 3), ("'x'", "x")],
                                   "device": [("None", None), ("3", 3), ("True", True)]}),
    "roofline.Ceilings.peak": Case(dict(dtype="float32"), self=_ceils,
                                   bad={"dtype": [("'float16'", "float16"), ("None", None),
                                                  ("3", 3), ("[]", [])]}),
    "roofline.Ceilings.from_dict": Case(
        dict(values=dict(device="cpu", bandwidth=1e10, flops={"float32": 1e11})),
        bad={"values": [("None", None), ("3", 3), ("{}", {}), ("'x'", "x"),
                        ("no flops", dict(device="cpu", bandwidth=1e10)),
                        ("bad bandwidth", dict(device="cpu", bandwidth="fast",
                                               flops={"float32": 1e11}))]}),
    "roofline.ceilings": Case(dict(device="cpu", dtypes=("float32",), copy_bytes=2 ** 16,
                                   matmul_n=16, repeats=2, threads=1),
                              allow=_OPTIONAL | {"copy_bytes": ("None",), "matmul_n": ("None",),
                                                 "repeats": ("None",)},
                              bad={"dtypes": [("'float32'", "float32"), ("3", 3), ("[3]", [3]),
                                              ("['float128']", ["float128"])]}),
    "roofline.bound_spread": Case(dict(ceils=_ceils(), dtype="float32"),
                                  bad={"ceils": [("None", None), ("3", 3), ("'x'", "x"),
                                                 ("bad details", {"details": 3})],
                                       "dtype": [("3", 3), ("None", None)]}),
    "roofline.predict": Case(dict(layer=roofline.ConvLayer(4, 6, 3, 8), ceils=_ceils()),
                             bad={"layer": [("None", None), ("3", 3), ("{}", {}),
                                            ("bad mapping", {"c_in": "4", "c_out": 6, "k": 3,
                                                             "hw": 8})],
                                  "ceils": [("None", None), ("3", 3), ("{}", {})]}),
    # ---- bench.sweep ----------------------------------------------------------------------
    "sweep.sweep_configs": Case(dict(quick=True, device="cpu")),
    "sweep.metadata": Case(dict(device="cpu")),
    "sweep.run_sweep": Case(
        dict(quick=True, device="cpu", configs=[_CONFIG], label="test", ceils=_ceils(),
             threads=1, repeats=2, progress=False, argv=["x"]),
        allow=_OPTIONAL | {"repeats": ("None",)},
        bad={"configs": [("3", 3), ("'x'", "x"), ("[3]", [3]), ("[{}]", [{}]),
                         ("bad config", [dict(_CONFIG, c_in="2")])],
             "label": [("3", 3), ("True", True)],
             "ceils": [("3", 3), ("{}", {})],
             "argv": [("3", 3), ("'python'", "python"), ("[3]", [3])]}),
    "sweep.validate_results": Case(dict(doc=None), fresh=lambda: dict(doc=_doc()),
                                   bad={"doc": [("None", None), ("3", 3), ("[]", []), ("{}", {}),
                                                ("'x'", "x")]}),
    "sweep.save_results": Case(dict(doc=None, path=None),
                               fresh=lambda: dict(doc=_doc(), path=_tmp_path() / "r.json"),
                               kinds={"path": "path"},
                               bad={"doc": [("None", None), ("3", 3), ("{}", {})]}),
    "sweep.load_results": Case(dict(name_or_path="sweep-cpu-quick"),
                               kinds={"name_or_path": "path"},
                               allow={"name_or_path": ("None",)}),
}

#: Public functions not walked, and why.
SKIPPED: dict[str, str] = {
    "timing.tf32_enabled": "takes no arguments",
    "sweep.list_results": "takes no arguments",
    "cli.main": "the command line: argparse checks argv and exits with status 2 and a usage line",
    "timing.Measurement": "a record of measured values, built by measure() from validated ones",
    "roofline.Prediction": "a record of predicted values, built by predict() from validated ones",
}

_MODULES: dict[str, ModuleType] = {"algorithms": algorithms, "timing": timing,
                                   "roofline": roofline, "sweep": sweep, "cli": cli}
_TMP: list = []


def _tmp_path():
    return _TMP[0]


def _public(module: ModuleType, prefix: str):
    """Public functions and classes defined in ``module``, and the public methods of those
    classes (by ``prefix.name`` or ``prefix.Class.method``)."""
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield f"{prefix}.{name}", obj
        elif inspect.isclass(obj):
            yield f"{prefix}.{name}", obj
            for attr, member in vars(obj).items():
                if attr.startswith("_") or isinstance(member, property):
                    continue
                if isinstance(member, (classmethod, staticmethod)) or inspect.isfunction(member):
                    method = getattr(obj, attr)
                    params = [p for p in inspect.signature(method).parameters if p != "self"]
                    if params:                      # to_dict(self) and the like take nothing
                        yield f"{prefix}.{name}.{attr}", method


def public_functions() -> dict[str, Callable]:
    """Every public function (and class, and method) of formulas, algorithms and bench."""
    found: dict[str, Callable] = {}
    for module in formulas.MODULES:
        found.update(_public(module, "formulas"))
    for prefix, module in _MODULES.items():
        found.update(_public(module, prefix))
    return found


PUBLIC = public_functions()


def test_every_public_function_has_an_entry():
    missing = sorted(set(PUBLIC) - set(CASES) - set(SKIPPED))
    assert not missing, f"public functions without a CASES or SKIPPED entry: {missing}"
    stale = sorted((set(CASES) | set(SKIPPED)) - set(PUBLIC))
    assert not stale, f"entries for functions that are not public (any more): {stale}"
    assert len(PUBLIC) >= 80, len(PUBLIC)


def test_every_public_formula_function_is_in_the_namespace():
    """The package's namespace holds every function of its concept modules (one namespace)."""
    for name, fn in PUBLIC.items():
        if name.startswith("formulas."):
            assert getattr(formulas, name.split(".")[-1]) is fn, name


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_refused(name, tmp_path):
    case = CASES[name]
    fn = PUBLIC[name]
    _TMP[:] = [tmp_path]
    valid = case.fresh() if case.fresh else case.valid
    args = (case.self(),) if case.self else ()
    kinds = dict(case.kinds)
    if "device" in valid and "device" not in case.bad:
        kinds.setdefault("device", "device")           # None (the default device) is valid
    count = check_function(fn, valid, kinds=kinds, names=case.names, allow=case.allow,
                           bad=case.bad, skip=case.skip, args=args)
    assert count >= len(valid), (name, count)


# ---------------------------------------------------------------------------------------------
# The harness itself: it must catch what it is meant to catch
# ---------------------------------------------------------------------------------------------

def _careful(n: int, flag: bool = True) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 2 ** 62:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not isinstance(flag, bool):
        raise TypeError(f"flag must be True or False, got {flag!r}")
    return n


def test_harness_accepts_a_careful_function():
    assert check_function(_careful, dict(n=3, flag=False)) > 20


def _spin(*args, **kwargs):
    while True:
        pass


@pytest.mark.parametrize("broken, problem", [
    (lambda n, flag=True: n, "returned"),                                       # no check at all
    (lambda n, flag=True: _careful(n) if flag else 0, "returned"),              # "False" is True
    (lambda n, flag=True: _careful(n + 0, flag), "does not name"),              # n + 0 on "3"
    (lambda n, flag=True: _careful(n, flag) if n != "3" else sp.sympify("3 +"), "sympy"),
    (lambda n, flag=True: [1, 2, 3, 4][n] and _careful(n, flag), "IndexError"),  # internal error
    (lambda n, flag=True: _spin() if n == 2 ** 80 else _careful(n, flag), "took over"),  # a hang
])
def test_harness_catches_a_broken_function(broken, problem):
    with pytest.raises(AssertionError, match=problem):
        check_function(broken, dict(n=3, flag=True), check_valid=False, timeout=0.3)


def test_harness_interrupts_a_hang_quickly():
    """Within a second of CPU time: a wall clock would count the time the hang waited for a
    core on a busy machine."""
    start = time.process_time()
    message = check_call(_spin, {"n": 1}, "n", "1", 1, timeout=0.2)
    assert "took over" in message and time.process_time() - start < 1.0


# ---------------------------------------------------------------------------------------------
# Beyond the catalogue: random mixtures of valid and invalid arguments never leak an internal
# error (the formulas and the shape-only functions of algorithms, which are fast to call)
# ---------------------------------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ANY = st.one_of(
    st.integers(-3, 12), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=True),
    st.booleans(), st.none(), st.text(max_size=3), st.just(()),
    st.tuples(st.integers(-2, 12), st.integers(-2, 12)),
    st.lists(st.integers(-2, 12), max_size=5), st.sampled_from(["float32", "adam", "fft"]))
_FUZZED = sorted(name for name in CASES
                 if (name.startswith("formulas.") and name != "formulas.winograd_identity_holds")
                 or name in ("algorithms.fft_costs", "algorithms.multiplications",
                             "algorithms.extra_memory"))


@pytest.mark.parametrize("name", _FUZZED)
def test_random_arguments_never_leak_an_internal_error(name):
    fn, valid = PUBLIC[name], CASES[name].valid

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries({param: st.one_of(st.just(value), _ANY)
                                  for param, value in valid.items()}))
    def check(kwargs):
        start = time.process_time()          # CPU time, as the harness limits it
        try:
            fn(**kwargs)
        except (ValueError, TypeError) as exc:
            assert type(exc).__module__ == "builtins", (kwargs, repr(exc))
        assert time.process_time() - start < 1.0, kwargs

    check()


# ---------------------------------------------------------------------------------------------
# cnnbook_lib.validation: one error type per kind of mistake, the same everywhere
# ---------------------------------------------------------------------------------------------
#: Values of the wrong type for an integer (TypeError) and integers out of range (ValueError).
#: (A tuple is left out: several functions take one integer per axis.)
WRONG_TYPE_INT = ["3", 3.0, True, None, np.float64(3.0), 3 + 0j]
OUT_OF_RANGE_INT = [0, -1, 2 ** 80]
#: The same for a flag.
WRONG_TYPE_FLAG = ["False", "True", 1, 0, None, 2.0]


@pytest.mark.parametrize("value", WRONG_TYPE_INT)
def test_check_int_refuses_a_wrong_type_with_type_error(value):
    with pytest.raises(TypeError, match=r"^kernel k must be an integer, got "):
        V.check_int("kernel k", value, 1)


@pytest.mark.parametrize("value, message", [
    (0, r"^kernel k must be a positive integer \(>= 1\), got 0$"),
    (-1, r"^kernel k must be a positive integer \(>= 1\), got -1$"),
    (2 ** 80, r"^kernel k must be at most 9,223,372,036,854,775,807, got "),
])
def test_check_int_refuses_a_value_out_of_range_with_value_error(value, message):
    with pytest.raises(ValueError, match=message):
        V.check_int("kernel k", value, 1)


def test_check_int_names_the_range_it_was_given():
    assert V.check_int("k", np.int64(3), 1) == 3 and type(V.check_int("k", np.int64(3))) is int
    with pytest.raises(ValueError, match=r"^padding must be an integer >= 0, got -1$"):
        V.check_int("padding", -1, 0)
    with pytest.raises(ValueError, match=r"^stride must be a positive integer \(>= 1\), got 0$"):
        V.check_int("stride", 0, 1, V.MAX_EXTENT)
    with pytest.raises(ValueError, match=r"^stride must be at most 1,048,576, got 1,048,577$"):
        V.check_int("stride", V.MAX_EXTENT + 1, 1, V.MAX_EXTENT)


def test_the_other_checks_split_type_and_value_the_same_way():
    assert V.check_flag("bias", np.bool_(True)) is True
    for bad in WRONG_TYPE_FLAG:
        with pytest.raises(TypeError, match="bias must be True or False"):
            V.check_flag("bias", bad)
    assert V.check_positive("lr", 1) == 1.0
    for bad in ("1", None, True, 1j):
        with pytest.raises(TypeError, match="lr must be a positive finite number"):
            V.check_positive("lr", bad)
    for bad in (0, -1.0, math.nan, math.inf, 2 ** 1100):
        with pytest.raises(ValueError, match="lr must be a positive finite number"):
            V.check_positive("lr", bad)
    assert V.check_choice("dtype", "float16", ("float16", "float32")) == "float16"
    with pytest.raises(TypeError, match="dtype must be a string, one of float16, float32"):
        V.check_choice("dtype", 16, ("float16", "float32"))
    with pytest.raises(ValueError, match="dtype 'float8' is unknown; valid: float16, float32"):
        V.check_choice("dtype", "float8", ("float16", "float32"))
    assert V.check_number("p", 0, 0, 1, low_open=False, high_open=True) == 0.0
    with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\), got 1"):
        V.check_number("p", 1, 0, 1, low_open=False, high_open=True)
    with pytest.raises(TypeError, match=r"p must be a number in \(0, 1\]"):
        V.check_number("p", "0.5", 0, 1)
    with pytest.raises(TypeError, match="fn must be callable"):
        V.check_callable("fn", 3)


def _tiny_model():
    return torch.nn.Conv2d(1, 1, 3)


#: One public function of each module that takes an integer, called with ``bad`` in its place.
INT_TAKERS: dict[str, Callable[[Any], Any]] = {
    "formulas": lambda bad: formulas.conv_output_size(8, bad),
    "algorithms": lambda bad: algorithms.im2col_matrix(_x(), kernel=bad),
    "bench.timing": lambda bad: timing.rotation_count(bad, 1000),
    "bench.roofline": lambda bad: roofline.ConvLayer(4, 4, bad, 8),
    "analysis": lambda bad: analysis.summarize(_tiny_model(), (1, 1, bad, 8)),
    "receptive": lambda bad: receptive.receptive_field([(bad, 1)]),
    "interactives": lambda bad: interactives.conv_arithmetic(n=bad),
    "architectures": lambda bad: architectures.build("lenet5", num_classes=bad),
}
#: The same for a flag.
FLAG_TAKERS: dict[str, Callable[[Any], Any]] = {
    "formulas": lambda bad: formulas.conv_params(3, 8, 3, bias=bad),
    "bench.timing": lambda bad: timing.measure(lambda: None, device="cpu", flush_l2=bad),
    "analysis": lambda bad: analysis.summarize(_tiny_model(), (1, 1, 8, 8), training=bad),
    "architectures": lambda bad: architectures.build("vgg11", batch_norm=bad),
}


@pytest.mark.parametrize("module", sorted(INT_TAKERS))
def test_the_same_bad_integer_gets_the_same_error_everywhere(module):
    call = INT_TAKERS[module]
    for bad in WRONG_TYPE_INT:
        with pytest.raises(TypeError, match="must be an integer"):
            call(bad)
    for bad in OUT_OF_RANGE_INT:
        with pytest.raises(ValueError):
            call(bad)


@pytest.mark.parametrize("module", sorted(FLAG_TAKERS))
def test_the_same_bad_flag_gets_the_same_error_everywhere(module):
    call = FLAG_TAKERS[module]
    for bad in WRONG_TYPE_FLAG:
        with pytest.raises(TypeError, match="must be True or False"):
            call(bad)


def test_the_old_check_modules_are_the_validation_module():
    from cnnbook_lib.analysis import _checks
    from cnnbook_lib.receptive import _check
    assert _checks.check_int is V.check_int and _checks.check_bool is V.check_flag
    assert _check.module is V.check_module and _check.number is V.check_number
    assert _check.MAX_INT == V.MAX_EXTENT
