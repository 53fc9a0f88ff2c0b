"""Does the harness agree with other timers? Same layers, same inputs, same thread count.

CPU: ``cnnbook_lib.bench.time_conv`` (median) against ``torch.utils.benchmark.Timer``
(``blocked_autorange``, median). CUDA (when present): also ``triton.testing.do_bench`` in
median mode, if triton is importable. The timers run in alternating order, ``--rounds`` times,
and the median over rounds is compared; the ratios should sit within 5% of 1.

    python tests/benchmarks/bench_fidelity.py [--device cpu|cuda] [--threads N] [--out FILE]

(with the library installed, ``pip install -e .``, or ``PYTHONPATH=.`` from the repository root)
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F
import torch.utils.benchmark as tbench

from cnnbook_lib.bench import bench_settings, metadata, time_conv
from cnnbook_lib.bench.timing import conv_inputs, resolve_device

# (label, c_in, c_out, k, hw, batch, stride, padding, groups)
LAYERS = [
    ("3x3 64ch 28px", 64, 64, 3, 28, 1, 1, 1, 1),
    ("3x3 16ch 56px b8", 16, 16, 3, 56, 8, 1, 1, 1),
    ("1x1 256->64 14px b2", 256, 64, 1, 14, 2, 1, 0, 1),
    ("depthwise 64ch 56px b2", 64, 64, 3, 56, 2, 1, 1, 64),
    ("3x3 s2 64->128 56px", 64, 128, 3, 56, 1, 2, 1, 1),
]


def torch_timer(x, w, stride, padding, groups, threads, min_run_time) -> float:
    timer = tbench.Timer(stmt="F.conv2d(x, w, None, stride, padding, 1, groups)",
                         globals=dict(F=F, x=x, w=w, stride=stride, padding=padding,
                                      groups=groups), num_threads=threads)
    return timer.blocked_autorange(min_run_time=min_run_time).median


def triton_timer(x, w, stride, padding, groups):
    try:
        from triton.testing import do_bench
    except ImportError:
        return None
    fn = lambda: F.conv2d(x, w, None, stride, padding, 1, groups)  # noqa: E731
    return do_bench(fn, return_mode="median") / 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None)
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: steadiest on a shared machine)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-run-time", type=float, default=0.2,
                        help="seconds per torch.utils.benchmark measurement")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    dev = resolve_device(args.device)
    threads = args.threads
    meta = metadata(dev)
    meta["threads"] = threads if dev.type == "cpu" else None
    print(f"# {meta['device_name']} | torch {meta['torch_version']} | CUDA {meta['cuda_version']}"
          f" | cuDNN {meta['cudnn_version']} | threads {meta['threads']} | {meta['date']}")
    rows = []
    for label, c_in, c_out, k, hw, batch, stride, padding, groups in LAYERS:
        x, w = conv_inputs(c_in, c_out, k, hw, batch=batch, groups=groups, device=dev)
        ours, theirs, trit = [], [], []
        for i in range(args.rounds):
            def run_ours():
                m = time_conv(c_in, c_out, k, hw, batch=batch, stride=stride, padding=padding,
                              groups=groups, device=dev, threads=threads, kernels=False,
                              rotate=False)     # torch.utils.benchmark reuses one input (warm)
                ours.append(m.median)

            def run_theirs():
                with torch.inference_mode(), bench_settings(threads=threads):
                    theirs.append(torch_timer(x, w, stride, padding, groups, threads,
                                              args.min_run_time))
                    if dev.type == "cuda":
                        trit.append(triton_timer(x, w, stride, padding, groups))

            for run in ((run_ours, run_theirs) if i % 2 == 0 else (run_theirs, run_ours)):
                run()                                    # alternate which timer goes first
        row = dict(layer=label, harness_s=statistics.median(ours),
                   torch_benchmark_s=statistics.median(theirs), harness_rounds_s=ours,
                   torch_benchmark_rounds_s=theirs)
        row["ratio_torch"] = row["harness_s"] / row["torch_benchmark_s"]
        if trit and all(t is not None for t in trit):
            row["triton_s"] = statistics.median(trit)
            row["ratio_triton"] = row["harness_s"] / row["triton_s"]
        rows.append(row)

    print(f"{'layer':26s} {'harness':>11s} {'torch.utils':>11s} {'ratio':>7s}"
          + (f" {'triton':>11s} {'ratio':>7s}" if dev.type == "cuda" else ""))
    for r in rows:
        line = (f"{r['layer']:26s} {r['harness_s'] * 1e6:9.1f}us"
                f" {r['torch_benchmark_s'] * 1e6:9.1f}us {r['ratio_torch']:7.3f}")
        if "triton_s" in r:
            line += f" {r['triton_s'] * 1e6:9.1f}us {r['ratio_triton']:7.3f}"
        print(line)
    within = sum(abs(r["ratio_torch"] - 1) <= 0.05 for r in rows)
    print(f"# {within}/{len(rows)} layers within 5% of torch.utils.benchmark")
    out = Path(args.out or f"bench-results/fidelity-{dev.type}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(metadata=meta, rounds=args.rounds, rows=rows), indent=1) + "\n")
    print(f"# saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
