"""Build and count every network of cnnbook_lib.architectures, and time it.

For each network (default variant, and ``variant="paper"`` where it differs): the time to build
it on the meta device, its parameters and MACs, and, when those modules exist, the time of
``analysis.summarize`` and of ``receptive.receptive_field`` (meta-device traces). The MACs are
``analysis.summarize``'s, or ``FlopCounterMode`` / 2 when it is missing or with ``--check``
(which also compares the two). Target: everything under 10 s on a laptop CPU.

Usage (after ``pip install -e .``, or with ``PYTHONPATH=.``):
    python tests/benchmarks/bench_architectures.py [--only resnet50 vgg16 ...] [--no-paper] [--check]
"""
from __future__ import annotations

import argparse
import importlib
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import architectures


def input_size(name: str, variant: str) -> tuple[int, int, int, int]:
    """The input each network was designed for."""
    if name == "lenet5":
        return (1, 1, 32, 32)
    if name == "alexnet" and variant == "paper":
        return (1, 3, 227, 227)
    if name in ("inception_v3", "xception"):
        return (1, 3, 299, 299)
    return (1, 3, 224, 224)


def optional(module: str):
    """Import ``cnnbook_lib.<module>`` if it exists (it is written separately)."""
    try:
        return importlib.import_module(f"cnnbook_lib.{module}")
    except ImportError:
        return None


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="networks to run (default: all)")
    ap.add_argument("--no-paper", action="store_true", help="skip the paper variants")
    ap.add_argument("--check", action="store_true", help="also count with FlopCounterMode")
    args = ap.parse_args()
    analysis, receptive = optional("analysis"), optional("receptive")
    summarize = getattr(analysis, "summarize", None)
    receptive_field = getattr(receptive, "receptive_field", None)

    runs = []
    for name in args.only or architectures.names():
        for variant in architectures.variants(name):
            if variant == architectures.variants(name)[0] or (variant == "paper" and not args.no_paper):
                runs.append((name, variant))

    header = (f"{'network':<19}{'variant':<12}{'input':>6}{'build s':>9}{'params':>14}{'MACs':>17}"
              f"{'count s':>9}{'summ. s':>9}{'RF s':>8}{'RF':>6}")
    print(header)
    print("-" * len(header))
    start = time.perf_counter()
    totals = dict(build=0.0, count=0.0, summarize=0.0, rf=0.0)
    for name, variant in runs:
        size = input_size(name, variant)
        with torch.device("meta"):
            model, t_build = timed(lambda: architectures.build(name, variant=variant).eval())
        n_params = sum(p.numel() for p in model.parameters())
        x = torch.empty(size, device="meta")

        def count():
            with FlopCounterMode(display=False) as counter:
                model(x)
            return counter.get_total_flops() // 2
        macs = t_count = t_sum = t_rf = None
        rf_size = ""
        if summarize is None or args.check:
            macs, t_count = timed(count)
        if summarize is not None:
            summary, t_sum = timed(lambda: summarize(model, size))
            if macs is not None and summary.macs != macs:
                print(f"  MISMATCH: summarize counts {summary.macs:,} MACs for {name}, "
                      f"FlopCounterMode {macs:,}")
            macs = summary.macs
        if receptive_field is not None:
            try:
                rf, t_rf = timed(lambda: receptive_field(model, size))
                rf_size = str(getattr(rf, "size", ""))
            except Exception as exc:   # report and go on: the table is the point
                rf_size = f"error: {type(exc).__name__}"
        for key, value in (("build", t_build), ("count", t_count), ("summarize", t_sum), ("rf", t_rf)):
            totals[key] += value or 0.0
        fmt = lambda t, w: f"{t:>{w}.3f}" if t is not None else f"{'-':>{w}}"   # noqa: E731
        print(f"{name:<19}{variant:<12}{size[-1]:>6}{t_build:>9.3f}{n_params:>14,}{macs:>17,}"
              f"{fmt(t_count, 9)}{fmt(t_sum, 9)}{fmt(t_rf, 8)}{rf_size:>6}")
    print("-" * len(header))
    print(f"{len(runs)} networks; build {totals['build']:.2f} s, count {totals['count']:.2f} s, "
          f"summarize {totals['summarize']:.2f} s, receptive field {totals['rf']:.2f} s; "
          f"total {time.perf_counter() - start:.2f} s (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")
    if summarize is None:
        print("cnnbook_lib.analysis.summarize not available: summarize not timed")


if __name__ == "__main__":
    main()
