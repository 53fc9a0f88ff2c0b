"""Hardware ceilings, measured, and the roofline prediction of a convolution layer.

``ceilings(device)`` measures the two numbers of the roofline model on this machine: memory
bandwidth (a large device-to-device copy, reading and writing each byte once) and matrix-multiply
throughput per dtype (square GEMMs). :func:`predict` then bounds a layer's run time by
``max(FLOPs / peak, bytes / bandwidth)`` with FLOPs and minimum bytes from
:mod:`cnnbook_lib.formulas`, next to the naive ``FLOPs / peak``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

import torch

from cnnbook_lib import formulas
from cnnbook_lib.bench.timing import bench_settings, measure, resolve_device, torch_dtype

__all__ = ["ConvLayer", "Ceilings", "Prediction", "ceilings", "predict"]


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
        formulas.conv_params(self.c_in, self.c_out, self.k, self.groups)   # validates
        formulas.bytes_per_element(self.dtype)
        _ = self.out_hw

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "ConvLayer":
        """A layer from a mapping (e.g. a sweep row); other keys are ignored."""
        names = {f.name for f in fields(cls)}
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

    def peak(self, dtype: str) -> float:
        """Measured peak FLOP/s of ``dtype``; ``ValueError`` if it was not measured."""
        if dtype not in self.flops:
            raise ValueError(f"no measured peak for dtype {dtype!r} on {self.device}; "
                             f"measured: {', '.join(self.flops)}")
        return self.flops[dtype]

    def to_dict(self) -> dict[str, Any]:
        """The ceilings as a plain dict (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Ceilings":
        """Ceilings from :meth:`to_dict`'s output (e.g. read back from JSON)."""
        return cls(device=values["device"], bandwidth=float(values["bandwidth"]),
                   flops={k: float(v) for k, v in values["flops"].items()},
                   details=dict(values.get("details", {})))


def ceilings(device=None, *, dtypes=None, copy_bytes: int | None = None,
             matmul_n: int | None = None, repeats: int | None = None,
             threads: int | None = None) -> Ceilings:
    """Measure memory bandwidth and matmul FLOP/s on ``device``.

    Bandwidth: ``dst.copy_(src)`` of ``copy_bytes`` (CPU 64 MiB, CUDA 1 GiB), counted as
    ``2 * copy_bytes`` moved (read + write). Matmul: ``n x n @ n x n`` (CPU n=1024, CUDA 8192),
    ``2 n^3`` FLOPs, for each dtype: ``("float32",)`` on CPU, float32, tf32, float16 and
    bfloat16 on CUDA (tf32 is float32 with TF32 allowed). A ceiling is the best sample, not
    the median: it is what the machine can reach, and interference only ever slows it down
    (``details`` keeps the medians and IQRs too).
    """
    dev = resolve_device(device)
    cuda = dev.type == "cuda"
    dtypes = tuple(dtypes or (("float32", "tf32", "float16", "bfloat16") if cuda else ("float32",)))
    copy_bytes = copy_bytes or (2 ** 30 if cuda else 64 * 2 ** 20)
    matmul_n = matmul_n or (8192 if cuda else 1024)
    repeats = repeats or (20 if cuda else 7)
    details: dict[str, Any] = {"copy_bytes": copy_bytes, "matmul_n": matmul_n}
    gen = torch.Generator(device=dev).manual_seed(1234)
    with torch.inference_mode(), bench_settings(threads=threads):
        if not cuda:
            details["threads"] = torch.get_num_threads()
        src = torch.rand(copy_bytes // 4, generator=gen, device=dev)
        dst = torch.empty_like(src)
        m = measure(lambda: dst.copy_(src), warmup=2, repeats=repeats, device=dev, number=1)
        bandwidth = formulas.copy_bandwidth(copy_bytes, min(m.samples))
        details["copy"] = {"best_s": min(m.samples), "median_s": m.median, "iqr_s": m.iqr,
                           "noisy": m.noisy}
        del src, dst
        peaks: dict[str, float] = {}
        for name in dtypes:
            storage = torch_dtype(name)
            a = torch.randn((matmul_n, matmul_n), generator=gen, device=dev).to(storage)
            b = torch.randn((matmul_n, matmul_n), generator=gen, device=dev).to(storage)
            with bench_settings(tf32=(name == "tf32")):
                m = measure(lambda: torch.mm(a, b), warmup=2, repeats=repeats, device=dev,
                            number=1)
            matmul_flops = formulas.macs_to_flops(formulas.matmul_macs(matmul_n, matmul_n, matmul_n))
            peaks[name] = matmul_flops / min(m.samples)
            details[f"matmul_{name}"] = {"best_s": min(m.samples), "median_s": m.median,
                                         "iqr_s": m.iqr, "noisy": m.noisy}
    return Ceilings(device=str(dev), bandwidth=bandwidth, flops=peaks, details=details)


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
    layer's FLOPs and minimum bytes from :mod:`cnnbook_lib.formulas` and the peak of its dtype."""
    if not isinstance(layer, ConvLayer):
        layer = ConvLayer.from_mapping(layer)
    peak = ceils.peak(layer.dtype)
    flops, nbytes = layer.flops, layer.min_bytes
    compute = formulas.flops_only_time(flops, peak)
    memory = formulas.memory_time(nbytes, ceils.bandwidth)
    return Prediction(
        flops=flops, min_bytes=nbytes, intensity=formulas.arithmetic_intensity(flops, nbytes),
        ridge=formulas.ridge_point(peak, ceils.bandwidth), compute_s=compute, memory_s=memory,
        roofline_s=formulas.roofline_time(flops, nbytes, peak, ceils.bandwidth),
        flops_only_s=compute, bound="compute" if compute >= memory else "memory")
