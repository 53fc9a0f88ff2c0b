"""Whole-network latency: one forward pass of each of the book's networks, timed by the harness.

``python -m cnnbook_lib.bench.latency [--device cpu|cuda] [--batches 1 32] [--names ...]
[--threads N] [--clock wall|thread] [--repeats N] [--max-gmacs G] [--out FILE]`` times inference (``eval()``, ``torch.inference_mode``,
PyTorch's default random weights: latency does not depend on the values) of every network of
:mod:`cnnbook_lib.architectures` at the input it was designed for, at each batch size, and writes
a JSON document: the sweep's :func:`~cnnbook_lib.bench.sweep.metadata` (device, versions, threads,
date) plus the machine's load average, and one row per network and batch with its parameters and
MACs (from :func:`cnnbook_lib.analysis.summarize`) and the timing statistics (median, quartiles,
every sample, the noise flag). :func:`load_latency` reads a recorded document shipped in
``cnnbook_lib/data`` (``latency-cpu.json``; ``latency-cuda.json`` once recorded on a GPU).

The timing protocol is :func:`cnnbook_lib.bench.timing.measure` with one call per sample (a
forward pass of a network lasts milliseconds to seconds) and no input rotation: the input of a
network is one tensor and every layer reads what the previous one just wrote, as in deployment.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import torch

from .. import analysis, architectures
from ..validation import check_choice, check_int, check_positive
from .sweep import metadata
from .timing import CLOCKS, measure, resolve_device

#: Where recorded latency documents ship.
DATA = Path(__file__).resolve().parent.parent / "data"
FORMAT = "cnnbook-latency/1"
#: Largest batch size, and most passes (timed or warm-up), one timing may ask for.
MAX_BATCH, MAX_REPEATS = 4096, 1000
ROW_KEYS = ("name", "variant", "input", "batch", "params", "macs", "median_s", "q1_s", "q3_s",
            "iqr_s", "noisy", "repeats", "samples_s", "threads")


def _check_names(names) -> list[str]:
    valid = architectures.names()
    if names is None:
        return valid
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise TypeError(f"names must be a non-empty list of network names, got {names!r}")
    if not names:
        raise ValueError("names must be a non-empty list of network names, got an empty one")
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown network(s) {', '.join(map(str, unknown))}; "
                         f"valid: {', '.join(valid)}")
    return list(names)


def _check_batches(batches) -> list[int]:
    if isinstance(batches, (str, bytes)) or not isinstance(batches, (list, tuple)):
        raise TypeError(f"batches must be a non-empty list of positive integers, got {batches!r}")
    if not batches:
        raise ValueError("batches must be a non-empty list of positive integers, got an empty one")
    return [check_int("batch size", b, 1, MAX_BATCH) for b in batches]


def _check_clock(clock: str, threads: int | None) -> str:
    check_choice("clock", clock, CLOCKS)
    if clock == "thread" and threads != 1:
        raise ValueError(f"clock 'thread' counts one thread's CPU time: it needs threads=1, "
                         f"got threads={threads!r}")
    return clock


def time_network(name: str, batch: int = 1, *, device=None, repeats: int = 5, warmup: int = 1,
                 threads: int | None = None, clock: str = "wall", **options) -> dict[str, Any]:
    """Time one inference pass of network ``name`` at ``batch`` images of its own input size.

    Returns one row: name, variant, input shape, batch, parameters, MACs (per batch, from
    :func:`cnnbook_lib.analysis.summarize` on the meta device) and the timing statistics of
    :func:`~cnnbook_lib.bench.timing.measure` (one forward pass per sample). ``clock`` (CPU):
    ``"wall"``, or ``"thread"``, the CPU time of the one timing thread (``threads=1``), which a
    loaded machine disturbs less (it leaves out the time the thread waits for a core, not the
    time it loses to caches shared with other work).
    """
    _check_names([name])
    batch = _check_batches([batch])[0]
    repeats = check_int("repeats", repeats, 1, MAX_REPEATS)
    warmup = check_int("warmup", warmup, 0, MAX_REPEATS)
    dev = resolve_device(device)
    clock = _check_clock(clock, threads) if dev.type == "cpu" else "cuda events"
    shape = (batch, *architectures.input_size(name)[1:])
    with torch.device("meta"):
        meta_model = architectures.build(name, **options)
    summary = analysis.summarize(meta_model, shape)
    torch.manual_seed(0)
    model = architectures.build(name, **options).to(dev).eval()
    x = torch.randn(shape, device=dev)
    with torch.inference_mode():
        extra = {"clock": CLOCKS[clock]} if dev.type == "cpu" else {}
        m = measure(lambda: model(x), warmup=warmup, repeats=repeats, number=1, device=dev,
                    threads=threads, **extra)
    variant = options.get("variant", architectures.options(name)["variant"])
    return dict(name=name, variant=variant, input=list(shape), batch=batch,
                params=int(summary.params), macs=int(summary.macs),
                median_s=m.median, q1_s=m.q1, q3_s=m.q3, iqr_s=m.iqr, noisy=bool(m.noisy),
                repeats=len(m.samples), samples_s=list(m.samples), threads=m.threads, clock=clock)


def record(names: Sequence[str] | None = None, batches: Sequence[int] = (1, 32), *, device=None,
           repeats: int = 5, warmup: int = 1, threads: int | None = 1,
           max_gmacs: float | None = None, clock: str = "wall",
           progress: bool = True) -> dict[str, Any]:
    """Time every network of ``names`` (default: all of :func:`architectures.names`) at every
    batch size; returns the document :func:`save_latency` writes. ``max_gmacs`` skips the runs of
    more than that many billion MACs (listed under ``skipped`` with their MACs)."""
    names = _check_names(names)
    batches = _check_batches(batches)
    if max_gmacs is not None:
        check_positive("max_gmacs", max_gmacs)
    from tqdm.auto import tqdm
    dev = resolve_device(device)
    if dev.type == "cpu":
        _check_clock(clock, threads)
    meta = metadata(dev)
    meta["load_average_before"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    rows, skipped, jobs = [], [], []
    for n in names:
        for b in batches:
            macs = b * _macs(n)
            if max_gmacs is not None and macs > max_gmacs * 1e9:
                skipped.append({"name": n, "batch": b, "macs": macs,
                                "reason": f"over the {max_gmacs:g} G MAC budget of this record"})
            else:
                jobs.append((n, b))
    bar = tqdm(jobs, desc="latency", unit="run", disable=not progress, file=sys.stderr)
    for name, batch in bar:
        bar.set_postfix_str(f"{name} x{batch}")
        rows.append(time_network(name, batch, device=dev, repeats=repeats, warmup=warmup,
                                 threads=threads, clock=clock))
    meta["load_average_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    meta["threads"] = rows[0]["threads"] if rows else meta["threads"]
    return {"format": FORMAT, "metadata": meta,
            "protocol": {"repeats": repeats, "warmup": warmup, "calls_per_sample": 1,
                         "clock": clock if dev.type == "cpu" else "cuda events",
                         "mode": "eval + inference_mode", "weights": "PyTorch default init, seed 0",
                         "input": "torch.randn at the network's own input size"},
            "rows": rows, "skipped": skipped}


def _macs(name: str) -> int:
    """MACs of one image through network ``name`` at its own input size (meta device)."""
    with torch.device("meta"):
        model = architectures.build(name)
    return int(analysis.summarize(model, architectures.input_size(name)).macs)


def validate_latency(doc: dict[str, Any]) -> dict[str, Any]:
    """Check a latency document's structure; returns it, or raises ValueError naming the fault."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"not a latency document (format must be {FORMAT!r})")
    if not isinstance(doc.get("metadata"), dict) or "device_type" not in doc["metadata"]:
        raise ValueError("latency document has no metadata with a device_type")
    rows = doc.get("rows")
    if not isinstance(rows, list) or not rows:
        raise ValueError("latency document has no rows")
    for i, row in enumerate(rows):
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise ValueError(f"row {i} lacks {', '.join(missing)}")
        if not row["median_s"] > 0:
            raise ValueError(f"row {i} ({row['name']}): median_s must be positive")
    return doc


def save_latency(doc: dict[str, Any], path) -> Path:
    """Write a validated document as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(validate_latency(doc), indent=1) + "\n", encoding="utf-8")
    return path


def load_latency(name_or_path: str | os.PathLike = "cpu") -> dict[str, Any]:
    """A recorded document: ``"cpu"`` or ``"cuda"`` (``cnnbook_lib/data/latency-<device>.json``)
    or a path. Raises FileNotFoundError, naming the command that records it, when it is absent."""
    text = str(name_or_path)
    path = DATA / f"latency-{text}.json" if text in ("cpu", "cuda") else Path(text)
    if not path.is_file():
        raise FileNotFoundError(
            f"no latency record at {path}; record one with "
            f"`python -m cnnbook_lib.bench.latency --device {text if text in ('cpu', 'cuda') else 'cpu'}"
            f" --out {path}`")
    return validate_latency(json.loads(path.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook_lib.bench.latency",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--names", nargs="+", default=None, help="networks (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="CPU clock: wall, or thread (CPU time of one thread; --threads 1)")
    parser.add_argument("--max-gmacs", type=float, default=None,
                        help="skip runs of more than this many billion MACs")
    parser.add_argument("--out", default=None, help="JSON file (default: latency-<device>.json)")
    args = parser.parse_args(argv)
    try:
        doc = record(args.names, args.batches, device=args.device, repeats=args.repeats,
                     warmup=args.warmup, threads=args.threads,
                     max_gmacs=args.max_gmacs, clock=args.clock)
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    out = args.out or f"latency-{doc['metadata']['device_type']}.json"
    save_latency(doc, out)
    print(f"{'network':<22}{'batch':>6}{'MACs':>18}{'median ms':>12}{'GMAC/s':>9}")
    for r in doc["rows"]:
        print(f"{r['name']:<22}{r['batch']:>6}{r['macs']:>18,}{r['median_s'] * 1e3:>12.2f}"
              f"{r['macs'] / r['median_s'] / 1e9:>9.1f}{'  noisy' if r['noisy'] else ''}")
    for s in doc["skipped"]:
        print(f"{s['name']:<22}{s['batch']:>6}{s['macs']:>18,}  skipped: {s['reason']}")
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
