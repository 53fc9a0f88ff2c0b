"""Command line.

``python -m cnnbook_lib.bench sweep [--quick] [--device cpu|cuda] [--out FILE]``
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time

from cnnbook_lib.bench.sweep import run_sweep, save_results, sweep_configs
from cnnbook_lib.bench.timing import resolve_device


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m cnnbook_lib.bench",
                                     description="Time convolution layers and their roofline.")
    sub = parser.add_subparsers(dest="command", required=True)
    sw = sub.add_parser("sweep", help="time a sweep of convolution layers, write JSON")
    sw.add_argument("--quick", action="store_true", help="fewer, smaller layers")
    sw.add_argument("--device", choices=["cpu", "cuda"], default=None,
                    help="default: cuda when available, else cpu")
    sw.add_argument("--out", default=None,
                    help="output JSON (default: bench-results/sweep-<device>-<date>.json)")
    sw.add_argument("--label", default=None, help="a label stored in the result")
    sw.add_argument("--note", default=None,
                    help="a note stored in the metadata (e.g. that the machine was shared)")
    sw.add_argument("--threads", type=int, default=None, help="CPU threads (default: current)")
    sw.add_argument("--clock", choices=["wall", "thread"], default="wall",
                    help="CPU clock: wall (time.perf_counter) or thread (CPU time of the timing "
                         "thread, for a shared machine; needs --threads 1)")
    sw.add_argument("--repeats", type=int, default=None, help="samples per layer")
    sw.add_argument("--limit", type=int, default=None, help="only the first N configurations")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    try:
        device = resolve_device(args.device)
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    for flag, value in (("--threads", args.threads), ("--repeats", args.repeats),
                        ("--limit", args.limit)):
        if value is not None and value < 1:
            parser.error(f"{flag} must be >= 1, got {value}")
    configs = sweep_configs(args.quick, device)[:args.limit]
    started = time.perf_counter()
    try:
        doc = run_sweep(quick=args.quick, device=device, configs=configs, label=args.label,
                        threads=args.threads, repeats=args.repeats,
                        progress=not args.no_progress, argv=["python -m cnnbook_lib.bench", *argv],
                        note=args.note, clock=args.clock)
    except (TypeError, ValueError) as err:   # a value argparse let through but the sweep refuses
        parser.error(str(err))
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or f"bench-results/sweep-{device.type}-{stamp}.json"
    path = save_results(doc, out)
    noisy = sum(row["noisy"] for row in doc["rows"])
    details = doc["ceilings"]["details"]
    for key, value in details.items():
        if key.startswith("matmul_") and isinstance(value, dict) and not value.get("reaches_peak", True):
            print(f"warning: the {key[7:]} matmul of n={details['matmul_n']} ran slower than a "
                  f"smaller one ({value['rates']}): the matmul ladder did not reach its plateau",
                  file=sys.stderr)
    for key, value in details.items():
        if key.startswith("peak_") and isinstance(value, dict):
            print(f"{key[5:]} peak: {value['rate'] / 1e9:.1f} GFLOP/s from {value['kernel']} "
                  f"(spread {value['relative_iqr']:.1%})")
    print(f"{len(doc['rows'])} layers ({noisy} noisy) on {doc['metadata']['device_name']} "
          f"in {time.perf_counter() - started:.1f} s -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
