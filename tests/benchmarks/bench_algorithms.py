"""The four convolution algorithms of ``cnnbook_lib.algorithms`` next to ``F.conv2d`` on CPU.

Stride 1, "same" padding, float32; 3x3 kernels (every method applies) and two large kernels
(Winograd F(2x2, 3x3) does not apply; FFT's cost does not grow with the kernel). For each layer:
the median time of each method (``cnnbook_lib.bench.measure``, fixed threads), its ratio to
``torch.nn.functional.conv2d``, the multiplications it performs and the workspace it needs.
These are teaching implementations: only im2col (one big GEMM) is expected to come near torch
(within 3x).

    python tests/benchmarks/bench_algorithms.py [--threads N] [--out FILE]

(with the library installed, ``pip install -e .``, or ``PYTHONPATH=.`` from the repository root)
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F

from cnnbook_lib import algorithms
from cnnbook_lib.bench import measure, metadata
from cnnbook_lib.bench.timing import conv_inputs

# (batch, channels in, channels out, size, kernel)
LAYERS = [(1, 16, 16, 32, 3), (1, 64, 64, 28, 3), (4, 64, 64, 28, 3), (1, 128, 128, 14, 3),
          (1, 32, 64, 56, 3), (1, 16, 16, 64, 9), (1, 8, 8, 128, 15)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: steadiest on a shared machine)")
    parser.add_argument("--repeats", type=int, default=7, help="samples per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    threads = args.threads
    meta = metadata("cpu")
    meta["threads"] = threads
    print(f"# {meta['device_name']} | torch {meta['torch_version']} | threads {threads}"
          f" | {meta['date']}")
    methods = ["torch", *algorithms.METHODS]
    rows = []
    with torch.inference_mode():
        for batch, c_in, c_out, hw, k in LAYERS:
            x, w = conv_inputs(c_in, c_out, k, hw, batch=batch)
            pad = k // 2
            ref = F.conv2d(x, w, padding=pad)
            row = dict(batch=batch, c_in=c_in, c_out=c_out, hw=hw, k=k)
            fns = {"torch": lambda: F.conv2d(x, w, padding=pad)}
            for name in algorithms.METHODS:
                if name == "winograd" and k != 3:
                    continue
                fns[name] = lambda name=name: algorithms.conv2d(x, w, name, padding=pad)
                row[f"{name}_max_rel_err"] = float((fns[name]() - ref).abs().max()
                                                   / ref.abs().max())
                row[f"{name}_mults"] = algorithms.multiplications(name, x.shape, w.shape,
                                                                  padding=pad)
                row[f"{name}_extra_bytes"] = algorithms.extra_memory(name, x.shape, w.shape,
                                                                     padding=pad)
            # Rounds interleave the methods, so that interference from other processes
            # falls on all of them alike; the result is the median over rounds.
            per_round = {name: [] for name in fns}
            for _ in range(args.rounds):
                for name in fns:
                    m = measure(fns[name], warmup=1, repeats=args.repeats, device="cpu",
                                threads=threads)
                    per_round[name].append(m.median)
            for name in fns:
                row[f"{name}_s"] = statistics.median(per_round[name])
                row[f"{name}_rounds_s"] = per_round[name]
            rows.append(row)

    print(f"{'layer':24s}" + "".join(f"{n:>11s}" for n in methods)
          + "".join(f"{'/' + n:>10s}" for n in methods[1:]))
    for r in rows:
        label = f"N{r['batch']} {r['c_in']}->{r['c_out']} {r['hw']}px {r['k']}x{r['k']}"
        times = "".join(f"{r[n + '_s'] * 1e3:9.2f}ms" if n + "_s" in r else f"{'n/a':>11s}"
                        for n in methods)
        ratios = "".join(f"{r[n + '_s'] / r['torch_s']:10.2f}" if n + "_s" in r else f"{'n/a':>10s}"
                         for n in methods[1:])
        print(f"{label:24s}{times}{ratios}")
    print("# ratios are method time / F.conv2d time; multiplications (winograd/direct):",
          ", ".join(f"{r['winograd_mults'] / r['direct_mults']:.3f}" for r in rows
                    if "winograd_mults" in r))
    worst = max(r["im2col_s"] / r["torch_s"] for r in rows if r["k"] == 3)
    print(f"# 3x3 layers: im2col is at most {worst:.2f}x slower than F.conv2d here"
          f" ({'within' if worst <= 3 else 'NOT within'} 3x); large kernels: FFT's time hardly"
          " grows with k, im2col's patch matrix grows with k^2")
    out = Path(args.out or "bench-results/algorithms-cpu.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(metadata=meta, rows=rows), indent=1) + "\n")
    print(f"# saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
