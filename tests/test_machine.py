"""Tests of cnnbook_lib.bench.machine: the machine of a measurement and the line that names it.

The facts are read here by the test's own code (``/proc/cpuinfo``, ``torch.__version__``,
``os.cpu_count``), the recorded case from crafted metadata and from every shipped record.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

import pytest
import torch

import cnnbook_lib
from cnnbook_lib import bench
from cnnbook_lib.bench import machine as machine_mod
from cnnbook_lib.bench import sweep as sweep_mod
from cnnbook_lib.bench.machine import MachineInfo, machine_info, measured_on

DATA = Path(cnnbook_lib.__file__).with_name("data")


def _processor() -> str:
    """The processor's name as this test reads it: /proc/cpuinfo's 'model name' on Linux."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.partition(":")[2].strip() for line in cpuinfo.read_text().splitlines()
                 if line.split(":")[0].strip() == "model name"]
        if names:
            return names[0]
    return platform.processor() or platform.machine()


@pytest.fixture
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _records() -> list[Path]:
    return sorted(p for p in DATA.glob("*.json")
                  if isinstance(json.loads(p.read_text()).get("metadata"), dict))


# ---------------------------------------------------------------------------------------------
# machine_info: this machine, now
# ---------------------------------------------------------------------------------------------

def test_machine_info_names_this_machine(one_thread):
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    info = machine_info("cpu")
    after = dt.datetime.now(dt.timezone.utc)
    assert isinstance(info, MachineInfo) and isinstance(info, dict)
    assert info["device_type"] == "cpu"
    assert info["device_name"] == info["cpu_name"] == _processor()
    assert info["cpu_count"] == os.cpu_count()
    assert info["threads"] == 1 == torch.get_num_threads()
    assert info["torch_version"] == torch.__version__
    assert info["python_version"] == ".".join(map(str, sys.version_info[:3]))
    date = dt.datetime.fromisoformat(info["date"])
    assert date.utcoffset() == dt.timedelta(0) and before <= date <= after
    assert json.loads(json.dumps(info)) == dict(info)             # a record can store it as is
    assert not any("host" in key or "user" in key for key in info)


def test_machine_info_load_average(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (1.944, 0.5, 0.25), raising=False)
    assert machine_info("cpu")["load_average"] == [1.94, 0.5, 0.25]
    monkeypatch.delattr(os, "getloadavg", raising=False)             # a system without one
    assert machine_info("cpu")["load_average"] is None


def test_machine_info_threads_follow_torch():
    saved = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            assert machine_info("cpu")["threads"] == n
    finally:
        torch.set_num_threads(saved)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_machine_info_on_cuda_names_the_gpu():
    info = machine_info("cuda")
    assert info["device_type"] == "cuda" and info["cpu_name"] == _processor()
    assert info["device_name"] == torch.cuda.get_device_name(0)
    assert measured_on(device="cuda") == (f"measured on {torch.cuda.get_device_name(0)}, "
                                          f"torch {torch.__version__}")


def test_metadata_is_built_on_machine_info(monkeypatch):
    """The sweep's and the latency records' metadata take the machine from machine_info."""
    fake = MachineInfo(device_type="cpu", device_name="Fake CPU", cpu_name="Fake CPU", cpu_count=3,
                       threads=7, torch_version="0.0.1", load_average=[1.0, 2.0, 3.0],
                       python_version="3.0.0", date="2030-01-02T03:04:05+00:00")
    monkeypatch.setattr(sweep_mod, "machine_info", lambda dev: fake)
    meta = bench.metadata("cpu")
    assert {k: meta[k] for k in fake} == dict(fake)
    monkeypatch.undo()
    meta, info = bench.metadata("cpu"), machine_info("cpu")
    assert set(info) <= set(meta)
    assert all(meta[k] == info[k] for k in info if k not in ("date", "load_average"))


# ---------------------------------------------------------------------------------------------
# measured_on: this machine
# ---------------------------------------------------------------------------------------------

def test_measured_on_this_machine(one_thread):
    name, version = _processor(), torch.__version__
    assert measured_on(device="cpu") == f"measured on {name}, 1 thread, torch {version}"
    assert measured_on(threads=1, device="cpu") == f"measured on {name}, 1 thread, torch {version}"
    assert measured_on(threads=2, device="cpu") == f"measured on {name}, 2 threads, torch {version}"
    assert measured_on(threads=16, device="cpu") == f"measured on {name}, 16 threads, torch {version}"
    info = machine_info("cpu")                        # taken earlier, rendered later: the same
    assert measured_on(info) == f"measured on {name}, 1 thread, torch {version}"


def test_measured_on_with_load(monkeypatch, one_thread):
    monkeypatch.setattr(os, "getloadavg", lambda: (1.94, 7.0, 7.0), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert measured_on(load=True, device="cpu") == (f"measured on {_processor()}, 1 thread, "
                                                    f"torch {torch.__version__}, load 1.9 on 2 cores")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert measured_on(load=True, device="cpu").endswith(", load 1.9 on 1 core")
    monkeypatch.delattr(os, "getloadavg", raising=False)          # no load average: not named
    assert measured_on(load=True, device="cpu") == measured_on(device="cpu")


# ---------------------------------------------------------------------------------------------
# measured_on: a recorded measurement, from its own fields
# ---------------------------------------------------------------------------------------------

RECORD = {"device_type": "cpu", "device_name": "Imaginary CPU 9000", "cpu_name": "Imaginary CPU 9000",
          "cpu_count": 8, "threads": 4, "torch_version": "9.8.7", "load_average": [3.14, 1.0, 1.0],
          "python_version": "3.99.0", "date": "2031-02-03T23:59:59-02:00"}


def test_measured_on_a_record():
    assert measured_on(RECORD) == "recorded on Imaginary CPU 9000, 4 threads, torch 9.8.7, 2031-02-04"
    assert measured_on(RECORD, load=True) == ("recorded on Imaginary CPU 9000, 4 threads, torch 9.8.7, "
                                              "load 3.1 on 8 cores, 2031-02-04")
    assert measured_on(dict(RECORD, threads=1)) == ("recorded on Imaginary CPU 9000, 1 thread, "
                                                    "torch 9.8.7, 2031-02-04")
    assert measured_on(RECORD, threads=1).startswith("recorded on Imaginary CPU 9000, 1 thread,")
    assert measured_on(dict(RECORD, date="2031-02-03T10:00:00Z")).endswith(", 2031-02-03")
    assert measured_on(dict(RECORD, date="2031-02-03")).endswith(", 2031-02-03")
    latency = {k: v for k, v in RECORD.items() if k != "load_average"}
    latency["load_average_before"] = [0.26, 0.0, 0.0]                 # a latency record's name
    assert ", load 0.3 on 8 cores, 2031-02-04" in measured_on(latency, load=True)
    sparse = {"device_name": "Old CPU", "date": "2020-05-06T07:08:09+00:00"}   # fields missing
    assert measured_on(sparse, load=True) == "recorded on Old CPU, 2020-05-06"


def test_a_stored_machine_info_reads_as_recorded(one_thread):
    info = machine_info("cpu")
    stored = json.loads(json.dumps(info))
    assert measured_on(stored) == (f"recorded on {_processor()}, 1 thread, "
                                   f"torch {torch.__version__}, {info['date'][:10]}")


def test_a_cuda_record_names_threads_only_when_given():
    gpu = dict(RECORD, device_type="cuda", device_name="NVIDIA Imaginary 80GB", threads=16)
    assert measured_on(gpu) == "recorded on NVIDIA Imaginary 80GB, torch 9.8.7, 2031-02-04"
    assert measured_on(gpu, threads=1) == ("recorded on NVIDIA Imaginary 80GB, 1 thread, "
                                           "torch 9.8.7, 2031-02-04")


@pytest.mark.parametrize("path", _records(), ids=lambda p: p.name)
def test_shipped_records_render_their_device_and_date(path):
    meta = json.loads(path.read_text())["metadata"]
    day = dt.datetime.fromisoformat(meta["date"]).astimezone(dt.timezone.utc).date().isoformat()
    threads = meta["threads"]
    expected = (f"recorded on {meta['device_name']}, {threads} thread{'s' * (threads != 1)}, "
                f"torch {meta['torch_version']}, {day}")
    assert measured_on(meta) == expected
    assert measured_on(meta, load=True) == expected.replace(
        f", {day}", f", load {meta['load_average'][0]:.1f} on {meta['cpu_count']} cores, {day}")
    loaded = bench.load_results(path.stem) if path.stem in bench.list_results() else None
    if loaded is not None:                                           # as a chapter reads it
        assert measured_on(loaded.attrs["metadata"]) == expected


def test_some_records_ship():
    assert {p.name for p in _records()} >= {"latency-cpu.json", "sweep-cpu-quick.json"}


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(info=["AMD"]), TypeError, "info must be a dict"),
    (dict(info={"threads": 1}), ValueError, "names no device"),
    (dict(info=RECORD, device="cpu"), ValueError, "only when info is None"),
    (dict(threads=0), ValueError, "threads"),
    (dict(threads=1.0), TypeError, "threads"),
    (dict(threads=True), TypeError, "threads"),
    (dict(load="yes"), TypeError, "load"),
    (dict(device="tpu"), ValueError, "device"),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        measured_on(**kwargs)


def test_exported_from_bench():
    assert bench.machine_info is machine_mod.machine_info and bench.measured_on is measured_on
    assert {"machine_info", "measured_on", "MachineInfo"} <= set(bench.__all__)
