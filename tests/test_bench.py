"""Tests of the timing harness: statistics, protocol logic, settings, roofline, JSON results.

No test asserts a speed: timings on a shared machine vary. GPU tests carry ``@pytest.mark.gpu``.
"""
from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from cnnbook_lib import bench
from cnnbook_lib.bench import roofline as roofline_mod
from cnnbook_lib.bench import sweep as sweep_mod
from cnnbook_lib.bench import timing
from cnnbook_lib.bench.roofline import Ceilings, ConvLayer, predict

ROOT = Path(__file__).resolve().parents[1]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


# ---------------------------------------------------------------------------------------------
# Measurement statistics
# ---------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1e-7, 1.0), min_size=1, max_size=50), st.floats(0.01, 1.0))
def test_statistics_match_numpy(samples, threshold):
    m = bench.Measurement.from_samples(samples, "cpu", noisy_threshold=threshold)
    q1, med, q3 = np.percentile(samples, [25, 50, 75])
    assert m.median == pytest.approx(np.median(samples), rel=1e-12)
    assert m.median == pytest.approx(med, rel=1e-12)
    assert m.iqr == pytest.approx(q3 - q1, rel=1e-9, abs=1e-15)
    assert (m.q1, m.q3) == (pytest.approx(q1), pytest.approx(q3))
    assert m.samples == list(map(float, samples))
    assert m.noisy == ((q3 - q1) / med > threshold)


def test_noisy_flag_on_hand_picked_samples():
    calm = bench.Measurement.from_samples([1.0, 1.01, 0.99, 1.0, 1.02], "cpu")
    assert not calm.noisy and calm.median == 1.0
    rough = bench.Measurement.from_samples([1.0, 2.0, 1.0, 3.0, 1.0, 2.5], "cpu")
    assert rough.noisy and rough.relative_iqr > 0.1
    with pytest.raises(ValueError, match="empty"):
        bench.Measurement.from_samples([], "cpu")
    with pytest.raises(ValueError, match="non-negative"):
        bench.Measurement.from_samples([1.0, -1.0], "cpu")


# ---------------------------------------------------------------------------------------------
# The CPU protocol, driven by a fake clock
# ---------------------------------------------------------------------------------------------

class FakeWork:
    """A callable whose every call advances a fake clock by the next duration."""

    def __init__(self, durations):
        self.durations = list(durations)
        self.now = 0.0
        self.calls = 0
        self.args = []

    def __call__(self, *args):
        self.args.append(args)
        self.now += self.durations[self.calls % len(self.durations)]
        self.calls += 1

    def clock(self):
        return self.now


def test_measure_calibrates_calls_per_sample():
    work = FakeWork([1e-4])
    m = bench.measure(work, warmup=3, repeats=7, device="cpu", min_sample_s=1e-3,
                      clock=work.clock)
    assert m.number == 10                      # ceil(1e-3 / 1e-4)
    assert work.calls == 3 + 7 * 10
    assert m.samples == pytest.approx([1e-4] * 7)
    assert m.warmup == 3 and not m.noisy


def test_measure_samples_are_block_means_and_inputs_rotate():
    durations = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    work = FakeWork(durations)
    sets = [("a",), ("b",), ("c",)]
    m = bench.measure(work, warmup=2, repeats=4, number=2, device="cpu", rotate=sets,
                      clock=work.clock)
    # after 2 warm-up calls, blocks of 2 calls: (3,4), (5,6), (1,2), (3,4)
    assert m.samples == pytest.approx([3.5, 5.5, 1.5, 3.5])
    assert m.median == pytest.approx(3.5)
    assert [a[0] for a in work.args] == ["a", "b", "c"] * 3 + ["a"]


def test_thread_clock_leaves_out_waiting():
    """The CPU-time clock counts work, not time spent off the core: a call that sleeps 5 ms
    takes 5 ms of wall time and almost no CPU time (the oracle is ``time.sleep`` itself)."""
    import time

    wall = bench.measure(lambda: time.sleep(5e-3), warmup=1, repeats=3, number=1, device="cpu")
    cpu = bench.measure(lambda: time.sleep(5e-3), warmup=1, repeats=3, number=1, device="cpu",
                        clock=timing.CLOCKS["thread"])
    assert wall.median >= 5e-3 > 10 * cpu.median
    m = bench.time_conv(4, 4, 3, 8, padding=1, threads=1, repeats=3, kernels=False,
                        clock="thread", device="cpu")
    assert m.config["clock"] == "thread" and m.median > 0
    with pytest.raises(ValueError, match="needs threads=1"):
        bench.time_conv(4, 4, 3, 8, padding=1, threads=2, clock="thread", device="cpu")
    with pytest.raises(ValueError, match="clock 'cpu' is unknown; valid: wall, thread"):
        bench.time_conv(4, 4, 3, 8, padding=1, threads=1, clock="cpu", device="cpu")


def test_measure_rejects_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        bench.measure(lambda: None, repeats=0, device="cpu")
    with pytest.raises(ValueError, match="number"):
        bench.measure(lambda: None, number=0, device="cpu")
    with pytest.raises(ValueError, match="device"):
        bench.measure(lambda: None, device="meta")


# ---------------------------------------------------------------------------------------------
# Settings are set and restored
# ---------------------------------------------------------------------------------------------

def _state():
    """The settings a measurement may change, read from torch itself."""
    mm, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(mm, "fp32_precision") and hasattr(cudnn, "conv"):      # torch's newer switches
        tf32 = (mm.fp32_precision, cudnn.conv.fp32_precision)
    else:
        tf32 = (mm.allow_tf32, cudnn.allow_tf32)
    return (torch.get_num_threads(), cudnn.benchmark, tf32)


def _last_level_cache_bytes() -> int:
    """The CPU's last-level cache as Linux lists it for the first CPU in sysfs
    (Documentation/ABI/testing/sysfs-devices-system-cpu): the largest data or unified cache of
    the highest level; the library's documented default where sysfs lists none."""
    caches = []
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        if kind in ("Data", "Unified"):
            scale = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}.get(size[-1:], 1)
            caches.append((level, int(size.rstrip("KMG")) * scale))
    if not caches:
        return timing.DEFAULT_CPU_CACHE_BYTES
    top = max(level for level, _ in caches)
    return max(size for level, size in caches if level == top)


def test_settings_restored_after_exception():
    before = _state()
    with pytest.raises(RuntimeError, match="inside"):
        with bench.bench_settings(threads=1, cudnn_benchmark=not before[1], tf32=True):
            assert torch.get_num_threads() == 1
            assert torch.backends.cudnn.benchmark == (not before[1])
            assert timing.tf32_enabled()
            raise RuntimeError("inside")
    assert _state() == before
    with bench.bench_settings(tf32=False):
        assert not timing.tf32_enabled()
    assert _state() == before
    with pytest.raises(ValueError, match="threads"):
        with bench.bench_settings(threads=0):
            pass
    assert _state() == before


def test_measure_fixes_and_records_threads():
    before = _state()
    seen = []
    m = bench.measure(lambda: seen.append(torch.get_num_threads()), warmup=1, repeats=3,
                      number=1, device="cpu", threads=1)
    assert set(seen) == {1} and m.threads == 1
    assert _state() == before


def test_time_conv_cpu_records_config_and_restores():
    before = _state()
    m = bench.time_conv(4, 8, 3, 12, batch=2, padding=1, groups=2, threads=1, repeats=5,
                        cudnn_benchmark=True, tf32=True, device="cpu")
    assert _state() == before
    assert m.median > 0 and len(m.samples) == 5 and m.device == "cpu"
    assert m.threads == 1 and m.config["threads"] == 1
    assert m.config["groups"] == 2 and m.config["layout"] == "NCHW"
    assert m.config["cudnn_benchmark"] is True and m.config["tf32"] is True
    assert any("conv" in name for name in m.kernels)
    # the inputs rotate past the CPU's last-level cache, as on CUDA past L2
    set_bytes = 4 * (2 * 4 * 12 * 12 + 8 * 2 * 3 * 3 + 2 * 8 * 12 * 12)     # x, w, y in float32
    assert m.config["set_bytes"] == set_bytes
    assert m.config["cache_bytes"] == _last_level_cache_bytes() > 0
    assert m.config["rotation_copies"] == bench.rotation_count(set_bytes, m.config["cache_bytes"])
    warm = bench.time_conv(4, 8, 3, 12, batch=2, padding=1, groups=2, threads=1, repeats=3,
                           kernels=False, rotate=False, device="cpu")
    assert warm.config["rotation_copies"] == 1


def test_cpu_rotation_exceeds_twice_the_cache():
    """The copies of a layer's inputs together exceed 2 x the last-level cache, one fewer would
    not (so every call reads memory, and no more memory is used than that needs)."""
    cache = _last_level_cache_bytes()
    for c, hw, groups in [(16, 28, 1), (64, 14, 64), (32, 56, 1)]:
        m = bench.time_conv(c, c, 3, hw, padding=1, groups=groups, threads=1, repeats=1,
                            warmup=0, kernels=False, device="cpu", min_sample_s=1e-4)
        copies, set_bytes = m.config["rotation_copies"], m.config["set_bytes"]
        assert set_bytes == ConvLayer(c, c, 3, hw, padding=1, groups=groups).min_bytes
        if copies < 256:                                      # not capped
            assert copies * set_bytes >= 2 * cache > (copies - 1) * set_bytes


def test_cpu_cache_size_from_sysfs(tmp_path):
    """The last-level cache is the largest data or unified cache of the highest level, read the
    way Linux writes it (an instruction cache never counts)."""
    for i, (level, kind, size) in enumerate([(1, "Data", "48K"), (1, "Instruction", "32K"),
                                             (2, "Unified", "2048K"), (3, "Unified", "32768K")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")
    assert timing._cpu_cache_bytes(str(tmp_path)) == (32 * 2 ** 20, "L3, /sys/devices/system/cpu")
    assert timing._parse_cache_size("1M") == 2 ** 20 and timing._parse_cache_size("512") == 512
    with pytest.raises(ValueError, match="cache size"):
        timing._parse_cache_size("lots")
    assert timing._cpu_cache_bytes(str(tmp_path / "none"))[0] == timing.DEFAULT_CPU_CACHE_BYTES
    # on this machine, whatever its caches: what sysfs lists, read here independently
    assert timing._cpu_cache_bytes()[0] == _last_level_cache_bytes()


def test_time_conv_validates_the_layer():
    with pytest.raises(ValueError, match="larger than padded input"):
        bench.time_conv(3, 3, 7, 4, device="cpu")
    with pytest.raises(ValueError, match="groups 3 does not divide"):
        bench.time_conv(4, 6, 3, 8, groups=3, device="cpu")
    with pytest.raises(ValueError, match="dtype"):
        bench.time_conv(4, 6, 3, 8, dtype="int7", device="cpu")


def test_conv_inputs_are_seeded_and_never_zero():
    x1, w1 = timing.conv_inputs(3, 4, 3, 8, seed=5)
    x2, w2 = timing.conv_inputs(3, 4, 3, 8, seed=5)
    x3, _ = timing.conv_inputs(3, 4, 3, 8, seed=6)
    assert torch.equal(x1, x2) and torch.equal(w1, w2) and not torch.equal(x1, x3)
    assert x1.abs().min() > 0 and w1.std() > 0
    xl, _ = timing.conv_inputs(3, 4, 3, 8, channels_last=True)
    assert xl.is_contiguous(memory_format=torch.channels_last)


def test_rotation_count():
    assert bench.rotation_count(10 * 2 ** 20, 50 * 2 ** 20) == 10    # 2 x 50 MiB / 10 MiB
    assert bench.rotation_count(3, 10) == 7                           # ceil(20 / 3)
    assert bench.rotation_count(2 ** 30, 50 * 2 ** 20) == 1
    assert bench.rotation_count(1, 2 ** 30) == 256                    # capped
    with pytest.raises(ValueError, match="bytes_per_set"):
        bench.rotation_count(0, 10)


# ---------------------------------------------------------------------------------------------
# Roofline
# ---------------------------------------------------------------------------------------------

def test_roofline_by_hand():
    layer = ConvLayer(c_in=64, c_out=128, k=3, hw=56, batch=2, padding=1)
    ceils = Ceilings(device="cpu", bandwidth=100e9, flops={"float32": 1e12})
    flops = 2 * (2 * 128 * 56 * 56) * (64 * 3 * 3)                 # 2 x outputs x MACs each
    nbytes = 4 * (2 * 64 * 56 * 56 + 128 * 64 * 3 * 3 + 2 * 128 * 56 * 56)
    pred = predict(layer, ceils)
    assert (pred.flops, pred.min_bytes) == (flops, nbytes) == (924_844_032, 5_111_808)
    assert pred.flops_only_s == pytest.approx(flops / 1e12)
    assert pred.memory_s == pytest.approx(nbytes / 100e9)
    assert pred.roofline_s == pytest.approx(max(flops / 1e12, nbytes / 100e9))
    assert pred.intensity == pytest.approx(flops / nbytes)
    assert pred.ridge == pytest.approx(10.0)
    assert pred.bound == "compute"


def test_roofline_memory_bound_depthwise_half():
    layer = dict(c_in=256, c_out=256, k=3, hw=14, batch=4, padding=1, groups=256, dtype="float16")
    ceils = Ceilings(device="cuda", bandwidth=2e12, flops={"float16": 500e12})
    flops = 2 * 4 * 256 * 14 * 14 * 9
    nbytes = 2 * (4 * 256 * 14 * 14 + 256 * 9 + 4 * 256 * 14 * 14)
    pred = predict(layer, ceils)
    assert pred.bound == "memory"
    assert pred.roofline_s == pytest.approx(nbytes / 2e12)
    assert pred.flops_only_s == pytest.approx(flops / 500e12)
    assert pred.roofline_s / pred.flops_only_s > 10        # what the naive model misses
    with pytest.raises(ValueError, match="no measured peak for dtype 'bfloat16'"):
        predict(dict(layer, dtype="bfloat16"), ceils)


def test_ceilings_cpu_small():
    before = _state()
    c = bench.ceilings("cpu", copy_bytes=4 * 2 ** 20, matmul_n=128, repeats=5, threads=1,
                       convs=((8, 12, 2),))
    assert _state() == before
    assert c.bandwidth > 0 and set(c.flops) == {"float32"} and c.flops["float32"] > 0
    assert c.details["threads"] == 1
    assert Ceilings.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    # the bandwidth is a copy's 2S/t at the median of its samples, the layers' statistic
    copy = c.details["copy"]
    assert c.bandwidth == pytest.approx(2 * 4 * 2 ** 20 / copy["median_s"], rel=1e-12)
    assert c.details["statistic"] == "median"
    # the peak is the fastest of the kernels timed, each rated at FLOPs (counted here by torch's
    # FLOP counter, not by the library's formulas) over its median time
    peak = c.details["peak_float32"]
    assert set(peak["candidates"]) == {"matmul n=32", "matmul n=64", "matmul n=128",
                                       "conv3x3 c=8 hw=12 batch=2"}
    assert c.flops["float32"] == max(peak["candidates"].values()) == peak["rate"]
    assert peak["candidates"][peak["kernel"]] == peak["rate"]
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        if peak["kernel"].startswith("matmul"):
            n = int(peak["kernel"].split("=")[1])
            torch.mm(torch.empty(n, n, device="meta"), torch.empty(n, n, device="meta"))
        else:
            torch.nn.functional.conv2d(torch.empty(2, 8, 12, 12, device="meta"),
                                       torch.empty(8, 8, 3, 3, device="meta"), padding=1)
    assert peak["flops"] == counter.get_total_flops()
    assert peak["rate"] == pytest.approx(peak["flops"] / peak["median_s"], rel=1e-12)
    assert peak["relative_iqr"] == pytest.approx(peak["iqr_s"] / peak["median_s"])
    assert bench.bound_spread(c) == max(peak["relative_iqr"], copy["relative_iqr"])
    # the matmul ladder is kept, with whether its largest size reached the plateau
    mm = c.details["matmul_float32"]
    rates = {int(n): r for n, r in mm["rates"].items()}
    assert sorted(rates) == [32, 64, 128] and rates[128] == peak["candidates"]["matmul n=128"]
    ramping = any(rates[128] < (1 - roofline_mod.PEAK_TOLERANCE) * rates[n] for n in (32, 64))
    assert mm["reaches_peak"] is (not ramping)


def test_ceilings_default_memory_stays_under_512_mib(monkeypatch):
    """Whatever last-level cache a machine reports, the copy's two buffers stay within 512 MiB."""
    sizes = []
    real_rand = torch.rand

    def spy(*shape, **kw):
        t = real_rand(*shape, **kw) if len(shape) != 1 or shape[0] < 2 ** 20 else None
        if t is None:                                 # the copy's source: record, make it small
            sizes.append(shape[0] * 4)
            t = real_rand(2 ** 10, **kw)
        return t

    monkeypatch.setattr(roofline_mod, "_cache_bytes", lambda dev: 8 * 2 ** 30)  # 8 GiB "L3"
    monkeypatch.setattr(roofline_mod.torch, "rand", spy)
    c = bench.ceilings("cpu", matmul_n=16, repeats=1, threads=1, convs=((2, 4, 1),))
    assert sizes == [roofline_mod.MAX_COPY_BYTES] and c.details["copy_bytes"] == 2 ** 28
    assert 2 * c.details["copy_bytes"] <= 512 * 2 ** 20
    with pytest.raises(ValueError):
        bench.ceilings("cpu", copy_bytes=2 ** 28 + 4, matmul_n=16, repeats=1)


def test_peak_check_rejects_a_size_still_ramping_up():
    tol = roofline_mod.PEAK_TOLERANCE
    assert roofline_mod._reaches_peak({256: 20e9, 512: 30e9, 1024: 31e9}, 1024)
    assert roofline_mod._reaches_peak({256: 20e9, 512: 30e9, 1024: 30e9 * (1 - tol)}, 1024)
    assert not roofline_mod._reaches_peak({256: 20e9, 512: 30e9, 1024: 30e9 * (1 - tol) * 0.99},
                                          1024)
    assert not roofline_mod._reaches_peak({256: 20e9, 512: 30e9, 1024: 25e9}, 1024, tolerance=0)
    assert roofline_mod._reaches_peak({64: 1e9}, 64)                 # nothing smaller to beat
    assert roofline_mod._ladder(1024) == [256, 512, 1024] and roofline_mod._ladder(2) == [1, 2]
    with pytest.raises(ValueError, match="rates must map"):
        roofline_mod._reaches_peak({256: 1e9}, 1024)


# ---------------------------------------------------------------------------------------------
# Sweep configurations and JSON results
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("quick", [True, False])
def test_sweep_covers_the_families(quick):
    configs = bench.sweep_configs(quick, "cpu")
    families = {c["family"] for c in configs}
    assert families >= {"3x3", "1x1", "depthwise", "grouped", "dilated", "strided", "channels"}
    grouped = [c for c in configs if c["family"] == "grouped"]
    assert {c["groups"] for c in grouped} >= {1, grouped[0]["c_in"]}
    assert any(c["c_in"] % 8 for c in configs) and any(c["c_in"] % 8 == 0 for c in configs)
    assert any(c["stride"] > 1 for c in configs) and any(c["dilation"] > 1 for c in configs)
    assert len({c["batch"] for c in configs if c["family"] == "3x3"}) >= 2
    assert {c["dtype"] for c in configs} == {"float32"}
    for c in configs:
        ConvLayer.from_mapping(c)                      # every layer is valid


def test_sweep_cuda_configs_cover_dtypes_and_layouts():
    configs = bench.sweep_configs(True, "cuda")
    assert {c["dtype"] for c in configs} == {"float32", "tf32", "float16", "bfloat16"}
    assert {c["channels_last"] for c in configs} == {False, True}
    assert {c["cudnn_benchmark"] for c in configs if c["family"] == "3x3"} == {False, True}


def _tiny_doc():
    configs = [dict(family="3x3", c_in=4, c_out=4, k=3, hw=8, padding=1, dtype="float32"),
               dict(family="depthwise", c_in=8, c_out=8, k=3, hw=8, padding=1, groups=8,
                    dtype="float32")]
    ceils = Ceilings(device="cpu", bandwidth=1e10, flops={"float32": 1e11})
    return bench.run_sweep(device="cpu", configs=configs, ceils=ceils, repeats=3,
                           progress=False, label="CPU: test")


def test_results_round_trip(tmp_path):
    doc = _tiny_doc()
    path = bench.save_results(doc, tmp_path / "r.json")
    text = path.read_text()
    hostname = socket.gethostname()
    if len(hostname) > 4:
        assert hostname not in text
    df = bench.load_results(path)
    assert len(df) == 2 and set(sweep_mod.ROW_KEYS) <= set(df.columns)
    assert df.attrs["label"] == "CPU: test" and df.attrs["metadata"]["device_type"] == "cpu"
    assert df.attrs["metadata"]["torch_version"] == torch.__version__
    flags = df.attrs["metadata"]["flags"]
    assert flags["cudnn_benchmark_default"] == torch.backends.cudnn.benchmark
    assert df.attrs["ceilings"]["flops"] == {"float32": 1e11}
    row = df.iloc[1]
    layer = ConvLayer(8, 8, 3, 8, padding=1, groups=8)
    assert row["flops"] == layer.flops and row["min_bytes"] == layer.min_bytes
    assert row["pred_roofline_s"] == pytest.approx(max(layer.flops / 1e11, layer.min_bytes / 1e10))
    assert row["median_s"] == pytest.approx(float(np.median(row["samples_s"])))
    assert row["warm_median_s"] == pytest.approx(float(np.median(row["warm_samples_s"])))
    for samples, noisy in [(row["samples_s"], row["noisy"]),
                           (row["warm_samples_s"], row["warm_noisy"])]:
        q1, med, q3 = np.percentile(samples, [25, 50, 75])
        assert noisy == bool((q3 - q1) / med > 0.1)               # the book's noise rule
    assert row["rotation_copies"] == bench.rotation_count(layer.min_bytes, row["cache_bytes"])
    assert df.attrs["metadata"]["note"] is None and "rotated" in df.attrs["protocol"]["cache"]
    assert json.loads(text) == doc


def test_validate_results_rejects_broken_documents():
    doc = _tiny_doc()
    bad = json.loads(json.dumps(doc))
    del bad["rows"][0]["median_s"]
    with pytest.raises(ValueError, match="row 0 lacks median_s"):
        bench.validate_results(bad)
    with pytest.raises(ValueError, match="schema"):
        bench.validate_results(dict(doc, schema="other"))
    with pytest.raises(ValueError, match="metadata lacks 'date'"):
        bench.validate_results(dict(doc, metadata={k: v for k, v in doc["metadata"].items()
                                                   if k != "date"}))


def test_shipped_results_load():
    names = bench.list_results()
    assert any("cpu" in name for name in names)
    assert all(name.startswith("sweep-") for name in names)     # not the folder's other data
    df = bench.load_results()
    assert len(df) > 10 and df.attrs["metadata"]["device_type"] in ("cpu", "cuda")
    cpu = bench.load_results(next(n for n in names if "cpu" in n))
    assert cpu.attrs["label"].startswith("CPU")
    assert (cpu["median_s"] > 0).all()
    assert (cpu["pred_roofline_s"] >= cpu["pred_flops_only_s"]).all()
    # recorded with the inputs rotated past the last-level cache, and the ceilings as medians
    assert (cpu["rotation_copies"] == [bench.rotation_count(b, c) for b, c in
                                       zip(cpu["min_bytes"], cpu["cache_bytes"])]).all()
    assert (cpu["rotation_copies"] > 1).any() and (cpu["cache_bytes"] > 0).all()
    meta, ceil = cpu.attrs["metadata"], cpu.attrs["ceilings"]
    assert meta["threads"] == 1 and meta["note"] and meta["cpu_cache_bytes"] > 0
    assert ceil["details"]["statistic"] == "median"
    n = ceil["details"]["matmul_n"]
    peak = ceil["details"]["peak_float32"]
    assert ceil["flops"]["float32"] == peak["rate"] == max(peak["candidates"].values())
    assert peak["candidates"][f"matmul n={n}"] == pytest.approx(
        2 * n ** 3 / ceil["details"]["matmul_float32"]["median_s"])
    with pytest.raises(FileNotFoundError, match="no result named"):
        bench.load_results("no-such-result")


def test_cli_sweep(tmp_path):
    out = tmp_path / "cli.json"
    proc = subprocess.run(
        [sys.executable, "-m", "cnnbook_lib.bench", "sweep", "--quick", "--device", "cpu",
         "--limit", "2", "--repeats", "3", "--threads", "1", "--no-progress", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    df = bench.load_results(out)
    assert len(df) == 2 and (df["threads"] == 1).all()
    assert df.attrs["metadata"]["quick"] is True and df.attrs["metadata"]["threads"] == 1
    assert "--quick" in df.attrs["metadata"]["command"]


# ---------------------------------------------------------------------------------------------
# CUDA
# ---------------------------------------------------------------------------------------------

@pytest.mark.gpu
@needs_cuda
def test_time_conv_cuda_rotates_and_names_kernels():
    before = _state()
    m = bench.time_conv(64, 64, 3, 28, batch=2, padding=1, device="cuda", tf32=True,
                        cudnn_benchmark=True, repeats=10)
    assert _state() == before
    assert m.device.startswith("cuda") and m.median > 0 and m.threads is None
    assert m.kernels, "no CUDA kernel captured"
    assert m.config["rotation_copies"] > 1       # a 0.5 MB working set is far below 2 x L2


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("dtype", ["float32", "tf32", "float16", "bfloat16"])
def test_time_conv_cuda_dtypes_and_layouts(dtype):
    for channels_last in (False, True):
        m = bench.time_conv(32, 32, 3, 16, padding=1, dtype=dtype, device="cuda",
                            channels_last=channels_last, repeats=5, kernels=False)
        assert m.config["layout"] == ("channels_last" if channels_last else "NCHW")
        assert m.config["tf32"] == (dtype == "tf32")


@pytest.mark.gpu
@needs_cuda
def test_measure_cuda_events_and_flush():
    a = torch.randn(1024, 1024, device="cuda")
    m = bench.measure(lambda: a @ a, warmup=2, repeats=5, device="cuda", flush_l2=True)
    assert len(m.samples) == 5 and all(s > 0 for s in m.samples)


@pytest.mark.gpu
@needs_cuda
def test_ceilings_cuda():
    c = bench.ceilings("cuda", copy_bytes=256 * 2 ** 20, matmul_n=2048, repeats=5)
    assert set(c.flops) == {"float32", "tf32", "float16", "bfloat16"}
    assert c.flops["float16"] > c.flops["float32"] and c.bandwidth > 1e11


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given without CUDA")
def test_cli_cuda_without_gpu_is_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "cnnbook_lib.bench", "sweep", "--device", "cuda"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "CUDA is not available" in proc.stderr


# ---------------------------------------------------------------------------------------------
# Roofline formulas (cnnbook_lib.formulas, "Roofline" section)
# ---------------------------------------------------------------------------------------------

def test_roofline_formulas_numeric_and_symbolic_agree():
    import sympy as sp

    from cnnbook_lib import formulas as fm

    values = {fm.work: 3e9, fm.traffic: 2e8, fm.peak_flops: 1e11, fm.bandwidth: 1e10}
    assert float(fm.roofline_time_expr.subs(values)) == pytest.approx(
        fm.roofline_time(3e9, 2e8, 1e11, 1e10)) == pytest.approx(0.03)
    assert fm.ridge_point(1e11, 1e10) == pytest.approx(10.0)
    assert fm.arithmetic_intensity(3e9, 2e8) == pytest.approx(15.0)
    # the closed-form intensity equals FLOPs / minimum bytes of a grouped, strided layer
    layer = ConvLayer(c_in=32, c_out=64, k=3, hw=20, batch=3, stride=2, padding=1, groups=4,
                      dtype="bfloat16")
    subs = {fm.N: 3, fm.c_in: 32, fm.c_out: 64, fm.k_h: 3, fm.k_w: 3, fm.h_in: 20, fm.w_in: 20,
            fm.h_out: layer.out_hw, fm.w_out: layer.out_hw, fm.g: 4, fm.b: 2}
    assert sp.nsimplify(fm.conv_intensity_expr.subs(subs)) == sp.Rational(layer.flops,
                                                                           layer.min_bytes)
    for name in ("conv_min_bytes", "roofline_time", "ridge_point", "winograd_mults",
                 "fft_products"):
        assert sp.jscode(fm.EXPRESSIONS[name])          # the interactives can compile them
    with pytest.raises(ValueError, match="bandwidth bw must be a positive"):
        fm.roofline_time(1, 1, 1, 0)
    with pytest.raises(ValueError, match="groups 3 does not divide"):
        fm.conv_min_bytes(4, 6, 3, 8, 6, groups=3)


def test_bad_arguments_are_refused_before_anything_runs():
    before = _state()
    with pytest.raises(TypeError, match="tf32 must be True or False"):
        bench.bench_settings(tf32="False")                 # refused at the call, not in the block
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        bench.measure(lambda: None, device="tpu")          # not torch's RuntimeError
    with pytest.raises(TypeError, match="kernels must be True or False"):
        bench.time_conv(2, 2, 3, 8, kernels="no", device="cpu")
    with pytest.raises(ValueError, match="repeats must be at most"):
        bench.measure(lambda: None, repeats=2 ** 40, device="cpu")
    with pytest.raises(TypeError, match="bandwidth must be a positive"):
        bench.Ceilings(device="cpu", bandwidth="fast", flops={"float32": 1e9})
    with pytest.raises(TypeError, match="name_or_path"):
        bench.load_results(3)
    assert _state() == before
    assert timing.as_device("cuda:1") == torch.device("cuda", 1)   # parsed, not required


@pytest.mark.parametrize("args, message", [
    (["--repeats", "0"], "--repeats must be >= 1"),
    (["--limit", "-1"], "--limit must be >= 1"),
    (["--threads", "100000"], "threads must be at most"),
    (["--device", "tpu"], "invalid choice"),
])
def test_command_line_refuses_bad_options(args, message, capsys, tmp_path):
    from cnnbook_lib.bench.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["sweep", "--quick", "--no-progress", "--out", str(tmp_path / "r.json"), *args])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def _torch_counts(row) -> tuple[int, int]:
    """A sweep row's FLOPs (torch's FLOP counter) and minimum bytes (each input, weight and output
    element once, from the tensors torch builds), on the meta device: independent of the
    library's formulas."""
    from torch.utils.flop_counter import FlopCounterMode
    dtype = torch.float16 if row["dtype"] == "float16" else (
        torch.bfloat16 if row["dtype"] == "bfloat16" else torch.float32)
    x = torch.empty(row["batch"], row["c_in"], row["hw"], row["hw"], device="meta", dtype=dtype)
    w = torch.empty(row["c_out"], row["c_in"] // row["groups"], row["k"], row["k"], device="meta",
                    dtype=dtype)
    with FlopCounterMode(display=False) as counter:
        y = torch.nn.functional.conv2d(x, w, stride=row["stride"], padding=row["padding"],
                                       dilation=row["dilation"], groups=row["groups"])
    nbytes = (x.numel() + w.numel() + y.numel()) * x.element_size()
    return counter.get_total_flops(), nbytes


@pytest.mark.parametrize("name", bench.list_results())
def test_no_shipped_row_beats_its_roofline_bound(name):
    """The roofline bound is a lower bound: no layer of a shipped sweep ran faster than
    max(FLOPs / peak, bytes / bandwidth) by more than the spread of its own samples and of the
    ceilings' measurements (the ceilings are medians like the layers' times)."""
    df = bench.load_results(name)
    ceils = bench.Ceilings.from_dict(df.attrs["ceilings"])
    spread = bench.bound_spread(ceils)
    assert "peak_rule" in ceils.details, "a sweep recorded before ceilings that bound"
    beaten = []
    for row in df.to_dict("records"):
        flops, nbytes = _torch_counts(row)
        assert (flops, nbytes) == (row["flops"], row["min_bytes"])
        bound = max(flops / ceils.peak(row["dtype"]), nbytes / ceils.bandwidth)
        allowed = spread + row["iqr_s"] / row["median_s"]
        if row["median_s"] < bound * (1 - allowed):
            beaten.append((row["family"], row["c_in"], row["hw"], row["median_s"], bound))
    assert not beaten, f"rows faster than their bound beyond the spread: {beaten}"


def test_bound_spread_of_old_and_new_records():
    assert bench.bound_spread({"details": {}}) == 0.0
    assert bench.bound_spread({"details": {"peak_float32": {"relative_iqr": 0.05},
                                           "copy": {"relative_iqr": 0.02}}}) == 0.05
    assert bench.bound_spread({"details": {"copy": {"relative_iqr": 0.02}}}, "float16") == 0.02
