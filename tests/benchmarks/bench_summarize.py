"""How long analysis.summarize takes on ResNet-152-sized models (meta-device trace).

Prints a table and saves JSON. Usage: python tests/benchmarks/bench_summarize.py [--repeats 5] [--out F]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from cnnbook_lib import analysis, architectures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="bench-results/summarize.json")
    ap.add_argument("--models", nargs="*", default=["resnet50", "resnet152", "efficientnet_b7"])
    args = ap.parse_args()
    rows = []
    for name in args.models:
        with torch.device("meta"):                       # build without allocating weights
            model = architectures.build(name)
        analysis.summarize(model, (1, 3, 224, 224))      # warm-up (imports, first dispatch)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            s = analysis.summarize(model, (1, 3, 224, 224))
            times.append(time.perf_counter() - t0)
        rows.append(dict(model=name, layers=len(s.rows), params=s.params, macs=s.macs,
                         median_s=statistics.median(times), min_s=min(times), max_s=max(times)))
    print(f"{'model':<18}{'layers':>8}{'params':>14}{'MACs':>16}{'median s':>10}{'min s':>8}{'max s':>8}")
    for r in rows:
        print(f"{r['model']:<18}{r['layers']:>8}{r['params']:>14,}{r['macs']:>16,}"
              f"{r['median_s']:>10.3f}{r['min_s']:>8.3f}{r['max_s']:>8.3f}")
    meta = dict(torch=torch.__version__, python=platform.python_version(),
                machine=platform.machine(), cpus=torch.get_num_threads(),
                date=time.strftime("%Y-%m-%d"))
    print(f"torch {meta['torch']}, Python {meta['python']}, {meta['machine']}, {meta['cpus']} threads")
    import pathlib
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, rows=rows), indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
