"""Timing protocol: :func:`measure` for any callable, :func:`time_conv` for one convolution.

Cache rotation (both devices)
    A layer inside a network reads an input that another layer wrote a moment ago, from memory
    or from cache depending on its size; a timing loop that calls the same layer on the same
    tensors over and over finds them in cache every time, however large the cache and however
    small the layer. :func:`time_conv` therefore rotates its inputs over enough copies that
    together they exceed twice the largest cache (:func:`rotation_count`): the last-level cache of
    the CPU, read from ``/sys/devices/system/cpu``, or the L2 cache of the GPU. By the time a
    copy comes round again, the others have pushed it out, so every call reads from memory
    (DRAM), which is what the roofline's bandwidth ceiling assumes. ``rotate=False`` keeps one
    input set (the warm-cache case) for comparison. The copies and the cache size are recorded.
CPU protocol
    The thread count is fixed for the measurement (``torch.set_num_threads``), recorded and
    restored. After ``warmup`` calls, the number of calls per sample is chosen so that one sample
    lasts at least ``min_sample_s`` (the clock's resolution and Python's overhead then do not
    matter); each of ``repeats`` samples is the mean time of those calls. The clock is the wall
    clock (``time.perf_counter``) unless ``clock="thread"``: then it is the CPU time of the
    timing thread (``time.thread_time``), which on a shared machine leaves out the time the
    process spent waiting for a core while other jobs ran. It counts the computation of one
    thread only, so it requires ``threads=1`` (torch then runs every operator in the calling
    thread). Time the core spends stalled on memory is CPU time and is counted either way.
CUDA protocol
    Seeded random inputs (never zeros: some kernels skip zeros, and zeros draw less power),
    ``warmup`` calls, then each sample between two CUDA events on the current stream. A callable
    without rotation can instead ask for an L2 flush (a write of twice L2) before every sample,
    outside the events.
Both
    The median of the samples is the result, the interquartile range its spread, and a
    measurement whose IQR exceeds ``noisy_threshold`` times its median is flagged ``noisy``.
    cuDNN benchmark mode and TF32 are set per measurement and restored afterwards; the operators
    or kernels that ran are captured once per configuration with ``torch.profiler``.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from cnnbook_lib import formulas
from cnnbook_lib.validation import (MAX_INT, check_callable, check_choice, check_flag, check_int,
                                    check_positive)

__all__ = ["Measurement", "measure", "bench_settings", "time_conv", "resolve_device",
           "as_device", "rotation_count", "capture_kernels", "conv_inputs", "torch_dtype"]

NOISY_THRESHOLD = 0.1
#: CPU clocks a measurement may use: the wall clock, or the CPU time of the calling thread.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "thread": time.thread_time}
#: Limits on what a caller may ask for: more would run for hours or exhaust memory, never help.
MAX_REPEATS = 100_000            # warm-up calls, samples
MAX_NUMBER = 10 ** 9             # calls per sample
MAX_THREADS = 4096
MAX_SAMPLE_S = 10.0              # seconds one calibrated sample may last
MAX_ELEMENTS = 2 ** 32           # elements of the inputs a timing builds


def _optional_int(name: str, value, minimum: int, maximum: int = MAX_INT) -> int | None:
    return None if value is None else check_int(name, value, minimum, maximum)


def _check_sample_s(name: str, value) -> float:
    value = check_positive(name, value)
    if value > MAX_SAMPLE_S:
        raise ValueError(f"{name} must be at most {MAX_SAMPLE_S} s, got {value}")
    return value


@dataclass
class Measurement:
    """Timing of one configuration; times in seconds per call."""

    median: float
    iqr: float
    q1: float
    q3: float
    samples: list[float]
    device: str
    number: int = 1                 # calls averaged into one sample
    warmup: int = 0
    noisy: bool = False
    noisy_threshold: float = NOISY_THRESHOLD
    threads: int | None = None      # CPU threads used (None on CUDA)
    kernels: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_samples(cls, samples: Sequence[float], device: str, *,
                     noisy_threshold: float = NOISY_THRESHOLD, **extra) -> "Measurement":
        """Median, quartiles (linear interpolation, as ``numpy.percentile``) and the noisy flag."""
        if isinstance(samples, np.ndarray):
            samples = samples.tolist()
        if not isinstance(samples, (list, tuple)):
            raise TypeError(f"samples must be a list of times in seconds, got {samples!r}")
        if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in samples):
            raise TypeError(f"samples must be real numbers (seconds), got {samples!r}")
        if not isinstance(device, (str, torch.device)):
            raise TypeError(f"device must be a device name, got {device!r}")
        noisy_threshold = check_positive("noisy_threshold", noisy_threshold)
        arr = np.asarray(samples, dtype=float)
        if arr.size == 0:
            raise ValueError("samples must not be empty")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"samples must be finite, non-negative times, got {samples!r}")
        q1, median, q3 = (float(v) for v in np.percentile(arr, [25, 50, 75]))
        iqr = q3 - q1
        noisy = bool(median == 0 or iqr / median > noisy_threshold)
        return cls(median=median, iqr=iqr, q1=q1, q3=q3, samples=[float(v) for v in arr],
                   device=str(device), noisy=noisy, noisy_threshold=noisy_threshold, **extra)

    @property
    def relative_iqr(self) -> float:
        """``IQR / median`` (infinite for a zero median)."""
        return self.iqr / self.median if self.median else math.inf

    def to_dict(self) -> dict[str, Any]:
        """The measurement as a plain dict (JSON-ready)."""
        return asdict(self)


def as_device(device) -> torch.device:
    """``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device``) as a
    ``torch.device``, without asking whether it is available."""
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str) and device:
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError, TypeError):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}") from None
    elif isinstance(device, str):
        raise ValueError("device must be 'cpu' or 'cuda', got ''")
    else:
        raise TypeError(f"device must be 'cpu' or 'cuda' (a string or torch.device), "
                        f"got {device!r}")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return dev


def resolve_device(device=None) -> torch.device:
    """``None`` means CUDA when available, else CPU."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = as_device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available")
    return device


# ---------------------------------------------------------------------------------------------
# Global settings, set for a measurement and restored afterwards
# ---------------------------------------------------------------------------------------------

def _tf32_state() -> tuple:
    mm, conv = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(mm, "fp32_precision") and hasattr(conv, "conv"):
        return ("new", mm.fp32_precision, conv.conv.fp32_precision)
    return ("legacy", mm.allow_tf32, conv.allow_tf32)


def _set_tf32_state(state: tuple) -> None:
    kind, a, b = state
    if kind == "new":
        torch.backends.cuda.matmul.fp32_precision = a
        torch.backends.cudnn.conv.fp32_precision = b
    else:
        torch.backends.cuda.matmul.allow_tf32 = a
        torch.backends.cudnn.allow_tf32 = b


def _tf32_on(on: bool) -> tuple:
    kind = _tf32_state()[0]
    if kind == "new":
        value = "tf32" if on else "ieee"
        return ("new", value, value)
    return ("legacy", bool(on), bool(on))


def tf32_enabled() -> bool:
    """Whether float32 matmuls and convolutions may use TF32 now (both must)."""
    kind, a, b = _tf32_state()
    return (a == "tf32" and b == "tf32") if kind == "new" else bool(a and b)


def bench_settings(*, threads: int | None = None, cudnn_benchmark: bool | None = None,
                   tf32: bool | None = None) -> contextlib.AbstractContextManager:
    """Set CPU threads, cuDNN benchmark mode and TF32 (matmul and convolution) for the block;
    restore the previous values afterwards, also after an exception. ``None`` leaves a setting.
    The arguments are checked here, before the block."""
    if threads is not None:
        check_int("threads", threads, 1, MAX_THREADS)
    if cudnn_benchmark is not None:
        check_flag("cudnn_benchmark", cudnn_benchmark)
    if tf32 is not None:
        check_flag("tf32", tf32)
    return _bench_settings(threads, cudnn_benchmark, tf32)


@contextlib.contextmanager
def _bench_settings(threads: int | None, cudnn_benchmark: bool | None,
                    tf32: bool | None) -> Iterator[None]:
    saved_threads = torch.get_num_threads()
    saved_bench = torch.backends.cudnn.benchmark
    saved_tf32 = _tf32_state()
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        if cudnn_benchmark is not None:
            torch.backends.cudnn.benchmark = bool(cudnn_benchmark)
        if tf32 is not None:
            _set_tf32_state(_tf32_on(tf32))
        yield
    finally:
        torch.set_num_threads(saved_threads)
        torch.backends.cudnn.benchmark = saved_bench
        _set_tf32_state(saved_tf32)


# ---------------------------------------------------------------------------------------------
# measure
# ---------------------------------------------------------------------------------------------

def _cpu_clock(clock, threads: int | None) -> tuple[str, Callable[[], float]]:
    """The name and function of a CPU clock (see :data:`CLOCKS`); ``"thread"`` needs one thread."""
    check_choice("clock", clock, CLOCKS)
    if clock == "thread" and threads != 1:
        raise ValueError(f"clock 'thread' counts one thread's CPU time: it needs threads=1, "
                         f"got threads={threads!r}")
    return clock, CLOCKS[clock]


def rotation_count(bytes_per_set: int, cache_bytes: int, factor: float = 2.0,
                   max_copies: int = 256) -> int:
    """Copies of the inputs to rotate over so that together they exceed ``factor`` x the cache:
    ``ceil(factor * cache / bytes_per_set)``, at least 1 and at most ``max_copies``."""
    bytes_per_set = check_int("bytes_per_set", bytes_per_set, 1)
    cache_bytes = check_int("cache_bytes", cache_bytes, 0)
    factor = check_positive("factor", factor)
    max_copies = check_int("max_copies", max_copies, 1)
    return int(min(max_copies, max(1, math.ceil(factor * cache_bytes / bytes_per_set))))


def _l2_bytes(device: torch.device) -> int:
    props = torch.cuda.get_device_properties(device)
    return int(getattr(props, "L2_cache_size", 0) or 50 * 2 ** 20)


#: Cache size assumed when the CPU's cannot be read (larger than most last-level caches).
DEFAULT_CPU_CACHE_BYTES = 64 * 2 ** 20
_CPU_CACHE_DIR = "/sys/devices/system/cpu/cpu0/cache"
_SIZE_UNITS = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}


def _parse_cache_size(text: str) -> int:
    """Bytes of a size as Linux writes it in ``cache/index*/size`` (``"32768K"``, ``"1M"``)."""
    if not isinstance(text, str):
        raise ValueError(f"cache size must be a string such as '32768K', got {text!r}")
    value = text.strip().upper().removesuffix("B")
    unit = value[-1:] if value[-1:] in ("K", "M", "G") else ""
    digits = value[:len(value) - len(unit)]
    if not digits.isdigit():
        raise ValueError(f"cache size must be digits and a unit (K, M or G), got {text!r}")
    return int(digits) * _SIZE_UNITS[unit]


def _cpu_caches(root: str = _CPU_CACHE_DIR) -> list[tuple[int, str, int]]:
    """``(level, type, bytes)`` of every cache the first CPU reports (empty if none can be read)."""
    import pathlib

    caches = []
    for index in sorted(pathlib.Path(root).glob("index*")):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = _parse_cache_size((index / "size").read_text())
        except (OSError, ValueError):
            continue
        caches.append((level, kind, size))
    return caches


def _cpu_cache_bytes(root: str = _CPU_CACHE_DIR) -> tuple[int, str]:
    """Size of the CPU's last-level cache (the largest data or unified cache of the highest
    level) and where the number came from."""
    caches = [c for c in _cpu_caches(root) if c[1] in ("Data", "Unified")]
    if not caches:
        return DEFAULT_CPU_CACHE_BYTES, "assumed (no cache sizes in /sys)"
    level = max(c[0] for c in caches)
    return max(c[2] for c in caches if c[0] == level), f"L{level}, /sys/devices/system/cpu"


def _cache_bytes(device=None) -> int:
    """The cache :func:`time_conv` rotates its inputs past: the CPU's last-level cache or the
    GPU's L2, in bytes."""
    dev = resolve_device(device)
    return _l2_bytes(dev) if dev.type == "cuda" else _cpu_cache_bytes()[0]


def measure(fn: Callable[..., Any], *, warmup: int = 5, repeats: int = 30, device=None,
            rotate: Sequence[tuple] | None = None, number: int | None = None,
            min_sample_s: float = 1e-3, threads: int | None = None, flush_l2: bool = False,
            noisy_threshold: float = NOISY_THRESHOLD,
            clock: Callable[[], float] = time.perf_counter) -> Measurement:
    """Time ``fn`` by the protocol of this module; returns seconds per call.

    ``rotate``: argument tuples; call ``i`` runs ``fn(*rotate[i % len(rotate)])`` (else ``fn()``).
    ``number``: calls per sample (CPU default: calibrated so a sample lasts ``min_sample_s``;
    CUDA default 1). ``threads``: CPU threads during the measurement (default: the current
    count, recorded). ``flush_l2`` (CUDA): overwrite twice the L2 cache before every sample.
    ``clock`` (CPU) lets tests drive the protocol with a fake clock.
    """
    check_callable("fn", fn)
    warmup = check_int("warmup", warmup, 0, MAX_REPEATS)
    repeats = check_int("repeats", repeats, 1, MAX_REPEATS)
    dev = resolve_device(device)
    if rotate is not None and (not isinstance(rotate, (list, tuple))
                               or not all(isinstance(a, tuple) for a in rotate)):
        raise TypeError(f"rotate must be a list of argument tuples, got {rotate!r}")
    number = _optional_int("number", number, 1, MAX_NUMBER)
    min_sample_s = _check_sample_s("min_sample_s", min_sample_s)
    threads = _optional_int("threads", threads, 1, MAX_THREADS)
    flush_l2 = check_flag("flush_l2", flush_l2)
    noisy_threshold = check_positive("noisy_threshold", noisy_threshold)
    check_callable("clock", clock)
    args = list(rotate) if rotate else [()]
    state = {"i": 0}

    def call():
        a = args[state["i"] % len(args)]
        state["i"] += 1
        return fn(*a)

    if dev.type == "cpu":
        with bench_settings(threads=threads):
            used_threads = torch.get_num_threads()
            warm = []
            for _ in range(max(warmup, 1)):
                t0 = clock()
                call()
                warm.append(clock() - t0)
            if number is None:
                one = max(float(np.median(warm)), 1e-9)
                number = min(MAX_NUMBER, max(1, math.ceil(min_sample_s / one)))
            samples = []
            for _ in range(repeats):
                t0 = clock()
                for _ in range(number):
                    call()
                samples.append((clock() - t0) / number)
        return Measurement.from_samples(samples, str(dev), noisy_threshold=noisy_threshold,
                                        number=number, warmup=warmup, threads=used_threads)

    number = number or 1
    with torch.cuda.device(dev):
        flush = None
        if flush_l2:
            flush = torch.empty(2 * _l2_bytes(dev) // 4, dtype=torch.float32, device=dev)
        for _ in range(warmup):
            call()
        torch.cuda.synchronize(dev)
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(repeats)]
        for start, end in events:
            if flush is not None:
                flush.fill_(1.0)              # outside the events: evicts L2
            start.record()
            for _ in range(number):
                call()
            end.record()
        torch.cuda.synchronize(dev)
        samples = [start.elapsed_time(end) / 1e3 / number for start, end in events]
    return Measurement.from_samples(samples, str(dev), noisy_threshold=noisy_threshold,
                                    number=number, warmup=warmup, threads=None)


# ---------------------------------------------------------------------------------------------
# Kernel names
# ---------------------------------------------------------------------------------------------

def capture_kernels(fn: Callable[[], Any], device) -> list[str]:
    """Names of what ran in one call of ``fn``: CUDA kernels on CUDA, ``aten::`` operators on
    CPU (e.g. ``aten::mkldnn_convolution``), in first-seen order."""
    from torch.profiler import ProfilerActivity, profile

    check_callable("fn", fn)
    dev = resolve_device(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=activities) as prof:
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
    names: list[str] = []
    for event in prof.events():
        is_gpu = str(getattr(event, "device_type", "")).endswith("CUDA")
        keep = is_gpu if dev.type == "cuda" else event.name.startswith("aten::")
        if keep and event.name not in names:
            names.append(event.name)
    return names


# ---------------------------------------------------------------------------------------------
# time_conv
# ---------------------------------------------------------------------------------------------

_DTYPES = {"float32": torch.float32, "tf32": torch.float32, "float16": torch.float16,
           "bfloat16": torch.bfloat16, "float64": torch.float64}


def torch_dtype(dtype: str) -> torch.dtype:
    """The torch dtype of a dtype name; ``"tf32"`` is float32 storage."""
    if isinstance(dtype, torch.dtype):
        dtype = str(dtype).replace("torch.", "")
    return _DTYPES[check_choice("dtype", dtype, _DTYPES)]


def conv_inputs(c_in: int, c_out: int, k: int, hw: int, *, batch: int = 1, groups: int = 1,
                dtype: str = "float32", device="cpu", channels_last: bool = False,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random input and weight (standard normal, scaled like a He-initialised layer)."""
    formulas.conv_params(c_in, c_out, k, groups)              # validates channels, k, groups
    hw = check_int("hw", hw, 1)
    batch = check_int("batch", batch, 1)
    storage = torch_dtype(dtype)
    dev = resolve_device(device)
    channels_last = check_flag("channels_last", channels_last)
    seed = check_int("seed", seed, 0)
    elements = batch * c_in * hw * hw + c_out * (c_in // groups) * k * k
    if elements > MAX_ELEMENTS:
        raise ValueError(f"input and weight would have {elements} elements (batch={batch}, "
                         f"c_in={c_in}, hw={hw}, c_out={c_out}, k={k}): more than {MAX_ELEMENTS}")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn((batch, c_in, hw, hw), generator=gen)
    w = torch.randn((c_out, c_in // groups, k, k), generator=gen) * math.sqrt(
        2.0 / (c_in // groups * k * k))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return (x.to(device=dev, dtype=storage).contiguous(memory_format=fmt),
            w.to(device=dev, dtype=storage).contiguous(memory_format=fmt))


def time_conv(c_in: int, c_out: int, k: int, hw: int, *, batch: int = 1, stride: int = 1,
              padding: int = 0, groups: int = 1, dilation: int = 1, dtype: str = "float32",
              device=None, channels_last: bool = False, cudnn_benchmark: bool = False,
              tf32: bool = False, warmup: int | None = None, repeats: int | None = None,
              threads: int | None = None, seed: int = 0, kernels: bool = True,
              min_sample_s: float = 2e-3, rotate: bool = True,
              clock: str = "wall") -> Measurement:
    """Time ``torch.nn.functional.conv2d`` (forward, inference mode) on one layer.

    ``dtype="tf32"`` means float32 with TF32 allowed (same as ``tf32=True``). The inputs rotate
    over enough copies to exceed twice the largest cache, the CPU's last-level cache or the GPU's
    L2 (:func:`_cache_bytes`, :func:`rotation_count`), so every call reads them from memory;
    ``rotate=False`` keeps one input set (warm cache). ``clock`` (CPU): ``"wall"`` or
    ``"thread"`` (CPU time of the timing thread, with ``threads=1``). The returned ``Measurement.config``
    records every setting (``rotation_copies``, ``cache_bytes`` among them); ``.kernels`` what ran.
    """
    formulas.conv_params(c_in, c_out, k, groups)              # validates channels, k, groups
    hw = check_int("hw", hw, 1)
    batch = check_int("batch", batch, 1)
    torch_dtype(dtype)
    dev = resolve_device(device)
    channels_last = check_flag("channels_last", channels_last)
    cudnn_benchmark = check_flag("cudnn_benchmark", cudnn_benchmark)
    tf32 = check_flag("tf32", tf32) or dtype == "tf32"
    warmup = _optional_int("warmup", warmup, 0, MAX_REPEATS)
    repeats = _optional_int("repeats", repeats, 1, MAX_REPEATS)
    threads = _optional_int("threads", threads, 1, MAX_THREADS)
    seed = check_int("seed", seed, 0)
    kernels = check_flag("kernels", kernels)
    min_sample_s = _check_sample_s("min_sample_s", min_sample_s)
    rotate = check_flag("rotate", rotate)
    clock_name, clock_fn = _cpu_clock(clock, threads) if dev.type == "cpu" else (
        "cuda events", time.perf_counter)
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    out_hw = formulas.conv_output_size(hw, k, stride, padding, dilation)   # validates the layer
    if warmup is None:
        warmup = 10 if dev.type == "cuda" else 3
    if repeats is None:
        repeats = 50 if dev.type == "cuda" else 25
    name = "float32" if dtype == "tf32" else str(dtype).replace("torch.", "")
    elem = formulas.bytes_per_element(name)
    # one input, weight and output set: the layer's minimum traffic (validates channels, groups)
    set_bytes = formulas.conv_min_bytes(c_in, c_out, k, hw, out_hw, groups, batch, name)
    cache = _cache_bytes(dev)
    copies = rotation_count(set_bytes, cache) if rotate else 1
    sets = [conv_inputs(c_in, c_out, k, hw, batch=batch, groups=groups, dtype=name, device=dev,
                        channels_last=channels_last, seed=seed + i) for i in range(copies)]

    def conv(x, w):
        return torch.nn.functional.conv2d(x, w, None, stride, padding, dilation, groups)

    with torch.inference_mode(), bench_settings(threads=threads, cudnn_benchmark=cudnn_benchmark,
                                                tf32=tf32):
        used_threads = torch.get_num_threads()
        result = measure(conv, warmup=warmup, repeats=repeats, device=dev, rotate=sets,
                         min_sample_s=min_sample_s, clock=clock_fn)
        names = capture_kernels(lambda: conv(*sets[0]), dev) if kernels else []
    result.kernels = names
    result.config = dict(
        c_in=c_in, c_out=c_out, k=k, hw=hw, batch=batch, stride=stride, padding=padding,
        groups=groups, dilation=dilation, dtype=str(dtype), storage_dtype=name,
        bytes_per_element=elem, layout="channels_last" if channels_last else "NCHW",
        cudnn_benchmark=bool(cudnn_benchmark), tf32=tf32, device=str(dev),
        threads=used_threads if dev.type == "cpu" else None, rotation_copies=copies,
        cache_bytes=cache, set_bytes=set_bytes, clock=clock_name, seed=seed,
        warmup=warmup, repeats=repeats)
    return result
