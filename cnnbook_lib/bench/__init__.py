"""Timing harness, hardware ceilings, roofline model and the sweep command.

``python -m cnnbook_lib.bench sweep [--quick] [--device cpu|cuda] [--out FILE]`` times a
sweep of convolution layers; :func:`load_results` reads recorded sweeps for the chapters.

Modules: :mod:`~cnnbook_lib.bench.timing` (the protocol: :func:`measure`, :func:`time_conv`),
:mod:`~cnnbook_lib.bench.roofline` (:func:`ceilings`, :func:`predict`, :func:`bound_spread`),
:mod:`~cnnbook_lib.bench.sweep` (configurations, metadata, JSON results),
:mod:`~cnnbook_lib.bench.machine` (:func:`machine_info`, and :func:`measured_on`, the line a page
prints under a measurement: "measured on ..." or, for a record's metadata, "recorded on ...").
"""
from cnnbook_lib.bench.machine import MachineInfo, machine_info, measured_on
from cnnbook_lib.bench.roofline import (Ceilings, ConvLayer, Prediction, bound_spread, ceilings,
                                       predict)
from cnnbook_lib.bench.sweep import (list_results, load_results, metadata, run_sweep,
                                     save_results, sweep_configs, validate_results)
from cnnbook_lib.bench.timing import (Measurement, bench_settings, capture_kernels, measure,
                                      rotation_count, time_conv)

__all__ = ["Measurement", "measure", "time_conv", "bench_settings", "capture_kernels",
           "rotation_count", "ConvLayer", "Ceilings", "Prediction", "ceilings", "predict", "bound_spread",
           "sweep_configs", "run_sweep", "metadata", "save_results", "load_results",
           "list_results", "validate_results", "MachineInfo", "machine_info", "measured_on"]
