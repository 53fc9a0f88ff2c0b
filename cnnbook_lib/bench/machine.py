"""The machine a measurement ran on, and the line a page prints under the measurement.

:func:`machine_info` describes the machine this process runs on now (processor or GPU, cores,
torch threads, versions, load, date); :func:`~cnnbook_lib.bench.sweep.metadata`, the metadata of
every recorded JSON result, is built on it, so a record's metadata carries the same keys with
the same meaning. :func:`measured_on` renders either for a page::

    measured_on(threads=1)        # 'measured on AMD EPYC 7B13, 1 thread, torch 2.13.0+cpu'
    measured_on(load=True)        # '..., 2 threads, torch 2.13.0+cpu, load 1.9 on 2 cores'
    measured_on(doc["metadata"])  # 'recorded on AMD EPYC, 1 thread, torch 2.13.0+cpu, 2026-12-01'
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path
from typing import Any, Mapping

import torch

from cnnbook_lib.bench.timing import resolve_device
from cnnbook_lib.validation import check_flag, check_int

__all__ = ["MachineInfo", "machine_info", "measured_on", "cpu_name"]


def cpu_name() -> str:
    """The processor's name: the first ``model name`` of ``/proc/cpuinfo`` on Linux, else
    :func:`platform.processor` (or :func:`platform.machine` where that is empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class MachineInfo(dict):
    """What :func:`machine_info` returns: a plain ``dict`` of the machine this process runs on,
    now. :func:`measured_on` says "measured on" for one, and "recorded on" (with the date) for
    any other mapping, such as a record's metadata read back from JSON."""


def machine_info(device=None) -> MachineInfo:
    """The machine a measurement on ``device`` runs on (``None``: CUDA when available, else CPU):

    ``device_type`` (``"cpu"`` or ``"cuda"``), ``device_name`` (the GPU's name on CUDA,
    :func:`torch.cuda.get_device_name`; else the processor's), ``cpu_name`` (:func:`cpu_name`),
    ``cpu_count`` (logical cores, :func:`os.cpu_count`), ``threads``
    (:func:`torch.get_num_threads` now), ``torch_version``, ``load_average`` (the 1-, 5- and
    15-minute load averages of :func:`os.getloadavg` to 2 decimals, the first being the
    1-minute one; ``None`` where the system has none), ``python_version`` and ``date`` (UTC, ISO
    8601 to the second). No host or user name.
    """
    dev = resolve_device(device)
    cpu = cpu_name()
    return MachineInfo(
        device_type=dev.type,
        device_name=torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu,
        cpu_name=cpu,
        cpu_count=os.cpu_count(),
        threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        load_average=([round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg")
                      else None),
        python_version=platform.python_version(),
        date=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _day(date: str) -> str:
    """The UTC calendar day of an ISO 8601 time (``2026-12-01T22:14:55+00:00`` ->
    ``2026-12-01``); a time without a zone is taken as UTC; text that is no ISO time, as is."""
    try:
        t = _dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return date
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
    return t.date().isoformat()


def measured_on(info: Mapping[str, Any] | None = None, *, threads: int | None = None,
                load: bool = False, device=None) -> str:
    """One line naming the machine of a measurement, for the page that shows it.

    ``info=None`` describes this machine now (:func:`machine_info` of ``device``):
    ``"measured on AMD EPYC 7B13, 1 thread, torch 2.13.0"``. A :func:`machine_info` taken
    earlier reads the same. Any other mapping is a recorded measurement's metadata (``metadata``
    of a shipped JSON record): ``"recorded on AMD EPYC, 1 thread, torch 2.13.0+cpu,
    2026-12-01"``, every part from the record's own fields (``device_name``, ``threads``,
    ``torch_version``, ``date`` as its UTC day), none from this machine.

    ``threads`` overrides the recorded thread count (a measurement run under its own setting,
    e.g. ``timing.measure(..., threads=1)``); on CUDA the threads are named only when given.
    ``load=True`` adds the 1-minute load average and the logical cores,
    ``"load 1.9 on 2 cores"`` (nothing where the record or the system has no load average).
    ``device`` picks the device when ``info`` is ``None`` and must be ``None`` otherwise.
    """
    load = check_flag("load", load)
    if threads is not None:
        threads = check_int("threads", threads)
    if info is None:
        info = machine_info(device)
    elif device is not None:
        raise ValueError("device picks the machine only when info is None; the machine of info "
                         "is info's own")
    if not isinstance(info, Mapping):
        raise TypeError(f"info must be a dict (machine_info() or a record's metadata) or None, "
                        f"got {type(info).__name__}")
    name = info.get("device_name") or info.get("cpu_name")
    if not isinstance(name, str) or not name:
        raise ValueError("info names no device: it has neither device_name nor cpu_name")
    recorded = not isinstance(info, MachineInfo)
    parts = [("recorded on " if recorded else "measured on ") + name]
    shown = threads if threads is not None else (
        info.get("threads") if info.get("device_type") != "cuda" else None)
    if isinstance(shown, int) and not isinstance(shown, bool):
        parts.append(_plural(shown, "thread"))
    if info.get("torch_version"):
        parts.append(f"torch {info['torch_version']}")
    if load:
        averages = info.get("load_average") or info.get("load_average_before")
        if averages:
            cores = info.get("cpu_count")
            parts.append(f"load {averages[0]:.1f}" + (f" on {_plural(cores, 'core')}"
                                                     if isinstance(cores, int) else ""))
    if recorded and isinstance(info.get("date"), str) and info["date"]:
        parts.append(_day(info["date"]))
    return ", ".join(parts)
