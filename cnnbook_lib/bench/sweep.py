"""The sweep: many convolution layers timed in one run, with the ceilings that explain them.

A result is one JSON document::

    {"schema": "cnnbook-bench-sweep", "schema_version": 2, "label": ..., "metadata": {...},
     "ceilings": {...}, "protocol": {...}, "rows": [{layer fields, settings, formulas' counts,
     predictions, measured median/IQR/samples with inputs rotated past the cache (cold), the
     warm-cache median/IQR of the same layer, kernels}, ...]}

Version 2 added the cache rotation on the CPU (``rotation_copies``, ``cache_bytes``), the
warm-cache columns and median ceilings.

:func:`load_results` reads one (shipped in ``cnnbook_lib/data/`` or any path) into a table.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch

import cnnbook_lib
from cnnbook_lib.bench.machine import machine_info
from cnnbook_lib.bench.roofline import Ceilings, ConvLayer, ceilings, predict
from cnnbook_lib.bench.timing import (MAX_REPEATS, MAX_THREADS, _cpu_cache_bytes, _cpu_clock,
                                      _optional_int, as_device, resolve_device, time_conv)
from cnnbook_lib.validation import check_flag

__all__ = ["sweep_configs", "run_sweep", "metadata", "save_results", "load_results",
           "list_results", "validate_results", "SCHEMA", "SCHEMA_VERSION"]

SCHEMA = "cnnbook-bench-sweep"
SCHEMA_VERSION = 2
ROW_KEYS = ("family", "c_in", "c_out", "k", "hw", "batch", "stride", "padding", "groups",
            "dilation", "dtype", "layout", "cudnn_benchmark", "tf32", "out_hw", "macs", "flops",
            "min_bytes", "intensity", "pred_roofline_s", "pred_flops_only_s", "bound",
            "median_s", "iqr_s", "noisy", "samples_s", "kernels", "rotation_copies",
            "cache_bytes", "warm_median_s", "warm_iqr_s", "warm_noisy")


# ---------------------------------------------------------------------------------------------
# Which layers
# ---------------------------------------------------------------------------------------------

def _layer(family: str, c_in: int, c_out: int, k: int, hw: int, **kw) -> dict[str, Any]:
    layer = dict(family=family, c_in=c_in, c_out=c_out, k=k, hw=hw, batch=1, stride=1,
                 padding=(k // 2) * kw.get("dilation", 1), groups=1, dilation=1)
    layer.update(kw)
    return layer


def _layers(quick: bool, cuda: bool) -> list[dict[str, Any]]:
    """The layers of a sweep (dtype and layout are added per device)."""
    s = 4 if cuda else 1                              # GPUs get bigger batches
    big = (lambda q, f: q if quick else f)
    rows = []
    # standard 3x3 convolutions: channels, sizes and batches of ResNet-like stages
    for c, hw in big([(16, 56), (64, 28), (128, 14)],
                     [(16, 112), (32, 56), (64, 56), (128, 28), (256, 14), (512, 7)]):
        for batch in big([1, 8], [1, 8, 32]):
            rows.append(_layer("3x3", c, c, 3, hw, batch=batch * s))
    # channel counts that are and are not multiples of 8
    for c in big([63, 64, 65], [31, 32, 33, 63, 64, 65, 127, 128, 129]):
        rows.append(_layer("channels", c, c, 3, 28, batch=2 * s))
    # pointwise
    for c_in, c_out, hw in big([(64, 128, 28), (256, 64, 14)],
                               [(64, 128, 56), (64, 256, 56), (256, 64, 56), (512, 128, 28),
                                (1024, 256, 14)]):
        rows.append(_layer("1x1", c_in, c_out, 1, hw, batch=2 * s))
    # depthwise
    for c, hw in big([(64, 56), (256, 14)], [(32, 112), (64, 56), (128, 56), (256, 28), (512, 14)]):
        rows.append(_layer("depthwise", c, c, 3, hw, groups=c, batch=2 * s))
    # grouped: G from 1 (dense) to C (depthwise)
    c = 64 if quick else 128
    for gr in big([1, 4, 16, 64], [1, 2, 4, 8, 16, 32, 64, 128]):
        rows.append(_layer("grouped", c, c, 3, 28, groups=gr, batch=2 * s))
    # dilated
    for d in big([2, 4], [2, 4, 8]):
        rows.append(_layer("dilated", 64, 64, 3, 28, dilation=d, batch=2 * s))
    # strided
    for c_in, c_out, k, hw in big([(64, 128, 3, 56), (64, 128, 1, 56)],
                                  [(64, 128, 3, 56), (128, 256, 3, 28), (64, 128, 1, 56),
                                   (3, 64, 7, 224)]):
        rows.append(_layer("strided", c_in, c_out, k, hw, stride=2, batch=2 * s,
                           padding=k // 2))
    return rows


def sweep_configs(quick: bool = False, device="cpu") -> list[dict[str, Any]]:
    """Every configuration of a sweep: layer fields plus dtype, layout and cuDNN benchmark.

    CPU: float32, NCHW. CUDA: float32, tf32, float16 and bfloat16, each NCHW and channels_last,
    cuDNN benchmark off; the 3x3 family is repeated with benchmark on.
    """
    quick = check_flag("quick", quick)
    cuda = as_device(device).type == "cuda"           # no CUDA needed to list its configs
    configs = []
    for layer in _layers(quick, cuda):
        if not cuda:
            configs.append(dict(layer, dtype="float32", channels_last=False, cudnn_benchmark=False))
            continue
        for dtype in ("float32", "tf32", "float16", "bfloat16"):
            for channels_last in (False, True):
                benches = (False, True) if layer["family"] == "3x3" else (False,)
                for bench in benches:
                    configs.append(dict(layer, dtype=dtype, channels_last=channels_last,
                                        cudnn_benchmark=bench))
    return configs


# ---------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------

def _global_flags() -> dict[str, Any]:
    """Process-wide settings that change what a convolution or matmul computes or how fast."""
    from cnnbook_lib.bench.timing import _tf32_state

    kind, matmul_tf32, conv_tf32 = _tf32_state()
    cuda_matmul = torch.backends.cuda.matmul
    return {
        "cudnn_enabled": bool(torch.backends.cudnn.enabled),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark_default": bool(torch.backends.cudnn.benchmark),
        "tf32_api": kind, "tf32_matmul_default": matmul_tf32, "tf32_conv_default": conv_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "fp16_reduced_precision_reduction": bool(
            getattr(cuda_matmul, "allow_fp16_reduced_precision_reduction", False)),
        "bf16_reduced_precision_reduction": bool(
            getattr(cuda_matmul, "allow_bf16_reduced_precision_reduction", False)),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }


def metadata(device=None) -> dict[str, Any]:
    """What a reader needs to compare a result with theirs (no host name, no user name): the
    :func:`~cnnbook_lib.bench.machine.machine_info` of ``device`` and the settings around it."""
    dev = resolve_device(device)
    info = machine_info(dev)
    meta: dict[str, Any] = {
        "device_type": info["device_type"],
        "device_name": info["device_name"],
        "cpu_name": info["cpu_name"],
        "cpu_count": info["cpu_count"],
        "torch_version": info["torch_version"],
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available()
        else None,
        "mkldnn_enabled": bool(torch.backends.mkldnn.is_available()),
        "threads": info["threads"],
        "cpu_cache_bytes": _cpu_cache_bytes()[0], "cpu_cache_source": _cpu_cache_bytes()[1],
        "load_average": info["load_average"],
        "python_version": info["python_version"],
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cnnbook_lib_version": cnnbook_lib.__version__,
        "date": info["date"],
        "flags": _global_flags(),
    }
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        meta.update(gpu_memory_bytes=int(props.total_memory),
                    l2_cache_bytes=int(getattr(props, "L2_cache_size", 0)),
                    sm_count=int(props.multi_processor_count),
                    compute_capability=f"{props.major}.{props.minor}")
    return meta


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

def _row(config: dict[str, Any], ceils: Ceilings, **timing) -> dict[str, Any]:
    layer = ConvLayer.from_mapping(config)
    pred = predict(layer, ceils)
    args = dict(batch=layer.batch, stride=layer.stride, padding=layer.padding,
                groups=layer.groups, dilation=layer.dilation, dtype=layer.dtype,
                device=ceils.device, channels_last=config.get("channels_last", False),
                cudnn_benchmark=config.get("cudnn_benchmark", False), **timing)
    sizes = (layer.c_in, layer.c_out, layer.k, layer.hw)
    m = time_conv(*sizes, **args)                                  # cold: rotated inputs
    warm = time_conv(*sizes, **args, rotate=False, kernels=False)  # one input set
    return dict(
        family=config.get("family", ""), **layer.to_dict(), layout=m.config["layout"],
        cudnn_benchmark=m.config["cudnn_benchmark"], tf32=m.config["tf32"],
        threads=m.threads, rotation_copies=m.config["rotation_copies"],
        cache_bytes=m.config["cache_bytes"], set_bytes=m.config["set_bytes"],
        clock=m.config["clock"],
        out_hw=layer.out_hw, macs=layer.macs, flops=pred.flops, min_bytes=pred.min_bytes,
        intensity=pred.intensity, pred_roofline_s=pred.roofline_s,
        pred_flops_only_s=pred.flops_only_s, bound=pred.bound,
        median_s=m.median, iqr_s=m.iqr, q1_s=m.q1, q3_s=m.q3, noisy=m.noisy, number=m.number,
        repeats=len(m.samples), achieved_flops_per_s=pred.flops / m.median,
        achieved_bytes_per_s=pred.min_bytes / m.median, samples_s=m.samples, kernels=m.kernels,
        warm_median_s=warm.median, warm_iqr_s=warm.iqr, warm_noisy=warm.noisy,
        warm_samples_s=warm.samples)


def run_sweep(*, quick: bool = False, device=None, configs: Sequence[dict] | None = None,
              label: str | None = None, ceils: Ceilings | None = None,
              threads: int | None = None, repeats: int | None = None,
              progress: bool = True, argv: Sequence[str] | None = None,
              note: str | None = None, clock: str = "wall") -> dict[str, Any]:
    """Measure ceilings, then time every configuration twice (inputs rotated past the cache,
    then one warm input set); returns the JSON-ready document. ``note`` is stored in the
    metadata (e.g. that the machine was shared). ``clock`` (CPU): ``"wall"``, or ``"thread"``
    for the CPU time of the timing thread (needs ``threads=1``; see :mod:`~cnnbook_lib.bench.timing`)."""
    from tqdm.auto import tqdm

    quick = check_flag("quick", quick)
    progress = check_flag("progress", progress)
    dev = resolve_device(device)
    if configs is not None:
        if not isinstance(configs, (list, tuple)):
            raise ValueError(f"configs must be a list of layer configurations, got {configs!r}")
        for i, config in enumerate(configs):
            try:
                ConvLayer.from_mapping(config)
                for flag in ("channels_last", "cudnn_benchmark"):
                    check_flag(flag, config.get(flag, False))
            except (TypeError, ValueError) as err:
                raise type(err)(f"configs entry {i}: {err}") from None
    if label is not None and not isinstance(label, str):
        raise ValueError(f"label must be a string, got {label!r}")
    if note is not None and not isinstance(note, str):
        raise ValueError(f"note must be a string, got {note!r}")
    if ceils is not None and not isinstance(ceils, Ceilings):
        raise ValueError(f"ceils must be Ceilings (from ceilings()), got {ceils!r}")
    threads = _optional_int("threads", threads, 1, MAX_THREADS)
    repeats = _optional_int("repeats", repeats, 1, MAX_REPEATS)
    if argv is not None and (not isinstance(argv, (list, tuple))
                             or not all(isinstance(a, str) for a in argv)):
        raise ValueError(f"argv must be a list of strings, got {argv!r}")
    if dev.type == "cpu" and threads is None:
        threads = torch.get_num_threads()
    if dev.type == "cpu":
        _cpu_clock(clock, threads)
    configs = list(configs) if configs is not None else sweep_configs(quick, dev)
    started = _dt.datetime.now(_dt.timezone.utc)
    if ceils is None:
        ceils = ceilings(dev, threads=threads, **({} if dev.type == "cuda" else {"clock": clock}))
    rows = []
    bar = tqdm(configs, desc="sweep", unit="layer", disable=not progress, file=sys.stderr)
    for config in bar:
        bar.set_postfix_str(f"{config.get('family', '')} c={config['c_in']} hw={config['hw']}")
        timing = {} if dev.type == "cuda" else {"clock": clock}
        rows.append(_row(config, ceils, threads=threads, repeats=repeats, **timing))
    meta = metadata(dev)
    meta.update(threads=threads if dev.type == "cpu" else None, quick=bool(quick), note=note,
                wall_s=(_dt.datetime.now(_dt.timezone.utc) - started).total_seconds(),
                command=list(argv) if argv is not None else None)
    kind = "GPU" if dev.type == "cuda" else "CPU"
    return dict(
        schema=SCHEMA, schema_version=SCHEMA_VERSION,
        label=label or f"{kind}: {meta['device_name']} ({'quick' if quick else 'full'} sweep)",
        metadata=meta, ceilings=ceils.to_dict(),
        protocol=dict(
            timer="CUDA events" if dev.type == "cuda" else (
                "time.perf_counter (wall clock)" if clock == "wall" else
                "time.thread_time (CPU time of the one timing thread: time spent waiting for "
                "a core while other jobs ran is not counted)"),
            statistic="median", spread="IQR", noisy_if="IQR / median > 0.1",
            inputs="seeded standard normal (He-scaled weights)",
            cache=(f"median_s: inputs rotated over copies exceeding 2x the "
                   f"{'L2' if dev.type == 'cuda' else 'last-level'} cache (cache_bytes, "
                   f"rotation_copies per row); warm_median_s: one input set, warm cache"),
            ceilings="median of the samples, as for the layers",
            mode="forward, torch.inference_mode", bias=False),
        rows=rows)


# ---------------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------------

def validate_results(doc: dict[str, Any]) -> dict[str, Any]:
    """Check a result document's schema; raise ``ValueError`` naming what is wrong."""
    if not isinstance(doc, dict):
        raise ValueError(f"result doc must be a JSON object, got {type(doc).__name__}")
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"result doc: schema must be {SCHEMA!r}, got {doc.get('schema')!r}")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"result doc: schema_version {doc.get('schema_version')!r} is not "
                         f"{SCHEMA_VERSION}")
    for key in ("label", "metadata", "ceilings", "rows"):
        if key not in doc:
            raise ValueError(f"result doc lacks {key!r}")
    if not isinstance(doc["metadata"], dict):
        raise ValueError(f"result doc: metadata must be a JSON object, got {doc['metadata']!r}")
    for key in ("device_type", "device_name", "torch_version", "date", "threads"):
        if key not in doc["metadata"]:
            raise ValueError(f"result doc: metadata lacks {key!r}")
    try:
        Ceilings.from_dict(doc["ceilings"])
    except (TypeError, ValueError) as err:
        raise type(err)(f"result doc: ceilings: {err}") from None
    if not isinstance(doc["rows"], list):
        raise ValueError(f"result doc: rows must be a list, got {doc['rows']!r}")
    for i, row in enumerate(doc["rows"]):
        if not isinstance(row, dict):
            raise ValueError(f"result doc: row {i} must be a JSON object, got {row!r}")
        missing = [key for key in ROW_KEYS if key not in row]
        if missing:
            raise ValueError(f"result doc: row {i} lacks {', '.join(missing)}")
    return doc


def save_results(doc: dict[str, Any], path) -> Path:
    """Validate a sweep document and write it as JSON to ``path`` (folders created)."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ValueError(f"path must be a file path (str or os.PathLike), got {path!r}")
    validate_results(doc)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(validate_results(doc), indent=1) + "\n")
    return path


def list_results() -> list[str]:
    """Names of the sweep results shipped with the library (``cnnbook_lib/data/sweep-*.json``;
    the folder holds other package data too)."""
    data = resources.files("cnnbook_lib") / "data"
    if not data.is_dir():
        return []
    return sorted(p.name[:-5] for p in data.iterdir()
                  if p.name.startswith("sweep-") and p.name.endswith(".json"))


def load_results(name_or_path=None):
    """A sweep result as a ``pandas.DataFrame``, one row per layer configuration.

    ``None``: the shipped GPU result if there is one, else the shipped CPU result. A name
    (``"sweep-cpu-quick"``) is looked up in the package data; anything else is a file path.
    ``df.attrs`` holds ``label``, ``metadata``, ``ceilings``, ``protocol`` and ``source``.
    """
    import pandas as pd

    if name_or_path is not None and not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"name_or_path must be a result name or a file path, got "
                        f"{name_or_path!r}")
    if name_or_path is None:
        names = list_results()
        if not names:
            raise FileNotFoundError("no results are shipped in cnnbook_lib/data")
        gpu = [n for n in names if "cuda" in n or "gpu" in n]
        name_or_path = (gpu or names)[0]
    path = Path(name_or_path)
    if str(name_or_path) in list_results():
        text = (resources.files("cnnbook_lib") / "data" / f"{name_or_path}.json").read_text()
        source = f"cnnbook_lib/data/{name_or_path}.json"
    elif path.is_file():
        text, source = path.read_text(), str(path)
    else:
        raise FileNotFoundError(f"no result named {name_or_path!r}; shipped: "
                                f"{', '.join(list_results()) or 'none'}; nor is it a file")
    doc = validate_results(json.loads(text))
    df = pd.DataFrame(doc["rows"])
    df.attrs.update(label=doc["label"], metadata=doc["metadata"], ceilings=doc["ceilings"],
                    protocol=doc.get("protocol", {}), source=source)
    return df
