"""Hardware ceilings, measured, and the roofline prediction of a convolution layer.

``ceilings(device)`` measures the two numbers of the roofline model on this machine: memory
bandwidth (a large device-to-device copy, reading and writing each byte once) and the peak
throughput per dtype (the fastest of square GEMMs and dense 3x3 convolutions), both as medians
like the layers' times. :func:`predict`
then bounds a layer's run time from below by ``max(FLOPs / peak, bytes / bandwidth)`` with FLOPs
and minimum bytes from :mod:`cnnbook_lib.formulas`, next to the naive ``FLOPs / peak``, and
classifies the layer as compute or memory bound by its arithmetic intensity against the ridge
point ``peak / bandwidth``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

import torch

from cnnbook_lib import formulas
from cnnbook_lib.bench.timing import (MAX_REPEATS, MAX_THREADS, NOISY_THRESHOLD, Measurement,
                                      _cache_bytes, _cpu_clock, _optional_int,
                                      bench_settings, measure,
                                      resolve_device, torch_dtype)
from cnnbook_lib.validation import check_int, check_positive

__all__ = ["ConvLayer", "Ceilings", "Prediction", "ceilings", "predict", "bound_spread"]


@dataclass(frozen=True)
class ConvLayer:
    """One 2-D convolution: square input ``hw`` and kernel ``k``; ``dtype`` may be ``"tf32"``."""

    c_in: int
    c_out: int
    k: int
    hw: int
    batch: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    dilation: int = 1
    dtype: str = "float32"

    def __post_init__(self):
        for name in ("c_in", "c_out", "k", "hw", "batch", "stride", "dilation", "groups"):
            check_int(name, getattr(self, name), 1)
        check_int("padding", self.padding, 0)
        formulas.conv_params(self.c_in, self.c_out, self.k, self.groups)   # groups divide
        if not isinstance(self.dtype, str):
            raise ValueError(f"dtype must be a dtype name such as 'float32', got {self.dtype!r}")
        formulas.bytes_per_element(self.dtype)
        _ = self.out_hw

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "ConvLayer":
        """A layer from a mapping (e.g. a sweep row); other keys are ignored."""
        if not isinstance(values, Mapping):
            raise ValueError(f"values must be a mapping of layer fields, got {values!r}")
        names = [f.name for f in fields(cls)]
        missing = [key for key in ("c_in", "c_out", "k", "hw") if key not in values]
        if missing:
            raise ValueError(f"values lacks {', '.join(missing)}")
        return cls(**{key: values[key] for key in names if key in values})

    @property
    def out_hw(self) -> int:
        """Output size (height = width), from :func:`formulas.conv_output_size`."""
        return formulas.conv_output_size(self.hw, self.k, self.stride, self.padding, self.dilation)

    @property
    def macs(self) -> int:
        """Multiply-accumulates, from :func:`formulas.conv_macs`."""
        return formulas.conv_macs(self.c_in, self.c_out, self.k, self.out_hw, self.groups,
                                  self.batch)

    @property
    def flops(self) -> int:
        """FLOPs, 2 per MAC, from :func:`formulas.conv_flops`."""
        return formulas.conv_flops(self.c_in, self.c_out, self.k, self.out_hw, self.groups,
                                   self.batch)

    @property
    def min_bytes(self) -> int:
        """Minimum bytes moved, from :func:`formulas.conv_min_bytes`."""
        return formulas.conv_min_bytes(self.c_in, self.c_out, self.k, self.hw, self.out_hw,
                                       self.groups, self.batch, self.dtype)

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOPs per minimum byte."""
        return formulas.arithmetic_intensity(self.flops, self.min_bytes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return asdict(self)


@dataclass
class Ceilings:
    """Measured peaks: ``bandwidth`` in bytes/s, ``flops[dtype]`` in FLOP/s."""

    device: str
    bandwidth: float
    flops: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be a device name such as 'cpu', got {self.device!r}")
        self.bandwidth = check_positive("bandwidth", self.bandwidth)
        if not isinstance(self.flops, Mapping) or not self.flops:
            raise ValueError(f"flops must map dtype names to FLOP/s, got {self.flops!r}")
        for key in self.flops:
            if not isinstance(key, str):
                raise ValueError(f"flops keys must be dtype names, got {key!r}")
        self.flops = {key: check_positive(f"flops[{key!r}]", value)
                      for key, value in self.flops.items()}
        if not isinstance(self.details, Mapping):
            raise ValueError(f"details must be a mapping, got {self.details!r}")

    def peak(self, dtype: str) -> float:
        """Measured peak FLOP/s of ``dtype``; ``ValueError`` if it was not measured."""
        if not isinstance(dtype, str) or dtype not in self.flops:
            raise ValueError(f"no measured peak for dtype {dtype!r} on {self.device}; "
                             f"measured: {', '.join(self.flops)}")
        return self.flops[dtype]

    def to_dict(self) -> dict[str, Any]:
        """The ceilings as a plain dict (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Ceilings":
        """Ceilings from :meth:`to_dict`'s output (e.g. read back from JSON)."""
        if not isinstance(values, Mapping):
            raise ValueError(f"values must be a mapping (Ceilings.to_dict()), got {values!r}")
        missing = [key for key in ("device", "bandwidth", "flops") if key not in values]
        if missing:
            raise ValueError(f"values lacks {', '.join(missing)}")
        try:
            return cls(device=values["device"], bandwidth=values["bandwidth"],
                       flops=values["flops"], details=dict(values.get("details", {})))
        except (ValueError, TypeError) as err:
            raise ValueError(f"values is not a valid ceilings mapping: {err}") from None


#: Largest buffer (bytes) :func:`ceilings` copies: the source and the destination together stay
#: within 512 MiB, whatever cache size the machine reports.
MAX_COPY_BYTES = 2 ** 28
#: Largest square matmul (n) :func:`ceilings` will allocate.
MAX_MATMUL_N = 2 ** 14
#: Largest square matmul size of the peak's ladder (the sizes are n/4, n/2 and n): on the CPU
#: that recorded the shipped sweep the rate stopped growing by 512 at one thread; 8192 on a GPU.
CPU_MATMUL_N = 2048
CUDA_MATMUL_N = 8192
#: Dense 3x3 convolutions (channels, square size, batch) timed beside the matmuls: a compute
#: ceiling is the fastest rate *any* kernel sustains, and on a CPU the convolution library's
#: direct 3x3 kernels can run faster than its matrix product (the shipped sweep of the first
#: edition had layers 30% above a matmul-only peak).
CPU_PEAK_CONVS = ((64, 28, 8), (128, 28, 8), (128, 14, 32))
CUDA_PEAK_CONVS = ((256, 28, 64), (256, 56, 32))
#: How far (a fraction) the largest size's rate may fall below a smaller size's and still count
#: as the plateau: the book's noise rule (an IQR of a tenth of the median) in the other direction.
PEAK_TOLERANCE = NOISY_THRESHOLD


def _ladder(n: int) -> list[int]:
    """The matmul sizes a peak is measured over: ``n / 4``, ``n / 2`` and ``n`` (those >= 1)."""
    return sorted({max(1, n // 4), max(1, n // 2), n})


def _reaches_peak(rates: Mapping[int, float], n: int,
                  tolerance: float = PEAK_TOLERANCE) -> bool:
    """Whether size ``n`` reached the plateau of a ladder of matmul sizes: its rate (FLOP/s) is
    not below any smaller size's rate by more than ``tolerance`` (a fraction). A size whose rate is
    still rising with n has not yet amortised the cost of moving its matrices."""
    if not isinstance(rates, Mapping) or n not in rates:
        raise ValueError(f"rates must map matrix sizes (including n={n!r}) to FLOP/s, "
                         f"got {rates!r}")
    tolerance = float(tolerance)
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be a fraction in [0, 1), got {tolerance!r}")
    smaller = [rate for size, rate in rates.items() if size < n]
    return all(rates[n] >= (1 - tolerance) * rate for rate in smaller)


def _summary(m: Measurement) -> dict[str, Any]:
    return {"median_s": m.median, "iqr_s": m.iqr, "best_s": min(m.samples), "noisy": m.noisy}


def _peak_candidates(dev: torch.device, name: str, matmul_n: int, convs, gen, repeats: int,
                     timed: dict) -> dict[str, dict[str, Any]]:
    """Time every compute-bound kernel of the peak for dtype ``name``: each matmul of the ladder
    and each dense 3x3 convolution of ``convs``. Returns, per kernel, its FLOPs, its timing
    summary and its rate (FLOPs over the median time)."""
    import torch.nn.functional as functional
    from cnnbook_lib.bench.timing import conv_inputs

    storage = torch_dtype(name)
    found: dict[str, dict[str, Any]] = {}
    for n in _ladder(matmul_n):
        a = torch.randn((n, n), generator=gen, device=dev).to(storage)
        b = torch.randn((n, n), generator=gen, device=dev).to(storage)
        with bench_settings(tf32=(name == "tf32")):
            m = measure(lambda: torch.mm(a, b), warmup=2, repeats=repeats, device=dev, **timed)
        flops = formulas.macs_to_flops(formulas.matmul_macs(n, n, n))
        found[f"matmul n={n}"] = dict(_summary(m), kind="matmul", n=n, flops=flops,
                                      rate=flops / m.median)
        del a, b
    for c, hw, batch in convs:
        x, w = conv_inputs(c, c, 3, hw, batch=batch, dtype="float32" if name == "tf32" else name,
                           device=dev)
        with bench_settings(tf32=(name == "tf32")):
            m = measure(lambda: functional.conv2d(x, w, padding=1), warmup=2, repeats=repeats,
                        device=dev, **timed)
        flops = formulas.conv_flops(c, c, 3, hw, batch=batch)
        found[f"conv3x3 c={c} hw={hw} batch={batch}"] = dict(
            _summary(m), kind="conv3x3", c=c, hw=hw, batch=batch, flops=flops,
            rate=flops / m.median)
        del x, w
    return found


def ceilings(device=None, *, dtypes=None, copy_bytes: int | None = None,
             matmul_n: int | None = None, repeats: int | None = None,
             threads: int | None = None, clock: str = "wall", convs=None) -> Ceilings:
    """Measure memory bandwidth and peak FLOP/s on ``device``.

    Bandwidth: ``dst.copy_(src)`` of ``copy_bytes`` (CPU: twice the last-level cache, at least
    64 MiB and at most :data:`MAX_COPY_BYTES`, 256 MiB, so that source and destination together
    never pass 512 MiB; CUDA 256 MiB), counted as ``2 * copy_bytes`` moved (read + write), at
    the median of its samples.

    Peak, for each dtype (``("float32",)`` on CPU; float32, tf32, float16 and bfloat16 on CUDA,
    tf32 being float32 with TF32 allowed): the fastest rate any compute-bound kernel sustains,
    a kernel's rate being its FLOPs over the median of its samples. The kernels are square
    matmuls of sizes ``n / 4``, ``n / 2`` and ``n`` (``2 n^3`` FLOPs; CPU n =
    :data:`CPU_MATMUL_N`, CUDA :data:`CUDA_MATMUL_N`) and dense 3x3 convolutions ``convs``
    (``(channels, size, batch)`` triples; :data:`CPU_PEAK_CONVS` or :data:`CUDA_PEAK_CONVS`), since
    a convolution library's direct kernels can outrun its matrix product. A layer timed by the
    same protocol then cannot beat its roofline bound by more than the two measurements' spread.

    ``details[f"peak_{dtype}"]`` names the kernel that set the peak (``kernel``), its rate and its
    spread (``relative_iqr``: IQR over median of its samples), and every kernel's rate
    (``candidates``); ``details[f"matmul_{dtype}"]`` keeps the matmul ladder
    (``rates``; ``reaches_peak``: whether size n's rate is not below a smaller size's by more
    than :data:`PEAK_TOLERANCE`). ``clock`` (CPU): ``"wall"`` or ``"thread"``, as in
    :func:`~cnnbook_lib.bench.time_conv`.
    """
    dev = resolve_device(device)
    cuda = dev.type == "cuda"
    if dtypes is not None:
        if not isinstance(dtypes, (list, tuple)) or not dtypes or not all(
                isinstance(name, str) for name in dtypes):
            raise ValueError(f"dtypes must be a non-empty list of dtype names, got {dtypes!r}")
        for name in dtypes:
            try:
                torch_dtype(name)
            except (TypeError, ValueError) as err:
                raise type(err)(f"dtypes: {err}") from None
    copy_bytes = _optional_int("copy_bytes", copy_bytes, 4, MAX_COPY_BYTES)
    matmul_n = _optional_int("matmul_n", matmul_n, 1, MAX_MATMUL_N)
    repeats = _optional_int("repeats", repeats, 1, MAX_REPEATS)
    threads = _optional_int("threads", threads, 1, MAX_THREADS)
    if convs is None:
        convs = CUDA_PEAK_CONVS if cuda else CPU_PEAK_CONVS
    if not isinstance(convs, (list, tuple)) or not all(
            isinstance(t, tuple) and len(t) == 3 for t in convs):
        raise ValueError(f"convs must be a list of (channels, size, batch) triples, got {convs!r}")
    convs = tuple((check_int("convs channels", c, 1, 4096), check_int("convs size", hw, 3, 4096),
                   check_int("convs batch", b, 1, 4096)) for c, hw, b in convs)
    clock_name, clock_fn = _cpu_clock(clock, threads) if not cuda else ("cuda events", None)
    dtypes = tuple(dtypes or (("float32", "tf32", "float16", "bfloat16") if cuda else ("float32",)))
    cache = _cache_bytes(dev)
    copy_bytes = copy_bytes or (2 ** 28 if cuda else
                                min(MAX_COPY_BYTES, max(64 * 2 ** 20, 2 * cache)))
    matmul_n = matmul_n or (CUDA_MATMUL_N if cuda else CPU_MATMUL_N)
    repeats = repeats or (20 if cuda else 9)
    details: dict[str, Any] = {"copy_bytes": copy_bytes, "matmul_n": matmul_n,
                               "cache_bytes": cache, "statistic": "median",
                               "peak_rule": "fastest median rate of the matmuls and convolutions",
                               "clock": clock_name}
    gen = torch.Generator(device=dev).manual_seed(1234)
    with torch.inference_mode(), bench_settings(threads=threads):
        if not cuda:
            details["threads"] = torch.get_num_threads()
        src = torch.rand(copy_bytes // 4, generator=gen, device=dev)
        dst = torch.empty_like(src)
        timed = {} if cuda else {"clock": clock_fn}
        m = measure(lambda: dst.copy_(src), warmup=2, repeats=repeats, device=dev, number=1,
                    **timed)
        bandwidth = formulas.copy_bandwidth(copy_bytes, m.median)
        details["copy"] = dict(_summary(m), relative_iqr=m.iqr / m.median)
        del src, dst
        peaks: dict[str, float] = {}
        for name in dtypes:
            found = _peak_candidates(dev, name, matmul_n, convs, gen, repeats, timed)
            best = max(found, key=lambda key: found[key]["rate"])
            peaks[name] = found[best]["rate"]
            details[f"peak_{name}"] = dict(
                kernel=best, rate=found[best]["rate"], flops=found[best]["flops"],
                median_s=found[best]["median_s"], iqr_s=found[best]["iqr_s"],
                relative_iqr=found[best]["iqr_s"] / found[best]["median_s"],
                candidates={key: v["rate"] for key, v in found.items()})
            rates = {v["n"]: v["rate"] for v in found.values() if v["kind"] == "matmul"}
            top = found[f"matmul n={matmul_n}"]
            details[f"matmul_{name}"] = dict(
                {k: top[k] for k in ("median_s", "iqr_s", "best_s", "noisy")},
                rates={str(n): r for n, r in rates.items()},
                reaches_peak=_reaches_peak(rates, matmul_n))
    return Ceilings(device=str(dev), bandwidth=bandwidth, flops=peaks, details=details)


def bound_spread(ceils: "Ceilings | Mapping[str, Any]", dtype: str = "float32") -> float:
    """The relative spread (IQR over median) of the measurements behind the ceilings of
    ``dtype``: the larger of the peak kernel's and the copy's. A layer measured by the same
    protocol may run faster than its roofline bound by about this fraction (plus its own spread)
    without contradicting it. Ceilings recorded before the spread was kept give 0."""
    if not isinstance(ceils, (Ceilings, Mapping)):
        raise ValueError(f"ceils must be Ceilings or their to_dict() mapping, got {ceils!r}")
    if not isinstance(dtype, str):
        raise ValueError(f"dtype must be a dtype name such as 'float32', got {dtype!r}")
    details = ceils.details if isinstance(ceils, Ceilings) else ceils.get("details", {})
    if not isinstance(details, Mapping):
        raise ValueError(f"ceils['details'] must be a mapping, got {details!r}")
    peak = details.get(f"peak_{dtype}", {})
    copy = details.get("copy", {})
    return max(float(peak.get("relative_iqr", 0.0)), float(copy.get("relative_iqr", 0.0)))


@dataclass(frozen=True)
class Prediction:
    """Roofline and FLOPs-only predictions of one layer, seconds."""

    flops: int
    min_bytes: int
    intensity: float
    ridge: float
    compute_s: float
    memory_s: float
    roofline_s: float
    flops_only_s: float
    bound: str             # "compute" or "memory"

    def to_dict(self) -> dict[str, Any]:
        """The prediction as a plain dict."""
        return asdict(self)


def predict(layer: ConvLayer | Mapping[str, Any], ceils: Ceilings) -> Prediction:
    """``max(FLOPs / peak, bytes / bandwidth)`` (roofline) and ``FLOPs / peak`` (naive), with the
    layer's FLOPs and minimum bytes from :mod:`cnnbook_lib.formulas` and the peak of its dtype.

    The roofline time is a lower bound, not a forecast: a kernel that reaches neither ceiling
    takes longer. ``bound`` classifies the layer: ``"memory"`` when its intensity is below the
    ridge point (the memory time is the larger term), else ``"compute"``."""
    if not isinstance(layer, ConvLayer):
        if not isinstance(layer, Mapping):
            raise ValueError(f"layer must be a ConvLayer or a mapping of its fields, "
                             f"got {layer!r}")
        try:
            layer = ConvLayer.from_mapping(layer)
        except (TypeError, ValueError) as err:
            raise type(err)(f"layer: {err}") from None
    if not isinstance(ceils, Ceilings):
        raise ValueError(f"ceils must be Ceilings (from ceilings() or Ceilings.from_dict), "
                         f"got {ceils!r}")
    peak = ceils.peak(layer.dtype)
    flops, nbytes = layer.flops, layer.min_bytes
    compute = formulas.flops_only_time(flops, peak)
    memory = formulas.memory_time(nbytes, ceils.bandwidth)
    return Prediction(
        flops=flops, min_bytes=nbytes, intensity=formulas.arithmetic_intensity(flops, nbytes),
        ridge=formulas.ridge_point(peak, ceils.bandwidth), compute_s=compute, memory_s=memory,
        roofline_s=formulas.roofline_time(flops, nbytes, peak, ceils.bandwidth),
        flops_only_s=compute, bound="compute" if compute >= memory else "memory")
