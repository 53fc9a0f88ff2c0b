"""Record the trained effective-field experiment (cnnbook_lib.receptive.trained_erf).

    python tests/benchmarks/record_trained_erf.py [--seeds 0 1 2] [--epochs 8] [--channels 16]

Trains the four digit networks (plain or residual, with or without batch norm) for every seed on
one CPU thread, prints a table and writes cnnbook_lib/data/trained_erf.json with the settings,
the machine (bench.machine.measured_on), the date, each run's numbers and the ERF maps of the
first seed.
"""
from __future__ import annotations

import argparse
import datetime
import json

from cnnbook_lib.bench.machine import measured_on
from cnnbook_lib.receptive import trained_erf as T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--out", default=str(T.RECORD))
    args = parser.parse_args()
    settings = dict(epochs=args.epochs, lr=3e-3, depth=6, channels=args.channels, probe=200, threads=1)
    rows = T.experiment(seeds=args.seeds, **settings)
    print(f"{'variant':<16}{'seed':>5}{'acc':>7}{'std before':>12}{'std after':>11}{'s':>7}")
    for r in rows:
        print(f"{r['variant']:<16}{r['seed']:>5}{r['acc_after']:>7.3f}{r['std_before']:>12.3f}"
              f"{r['std_after']:>11.3f}{r['seconds']:>7.1f}")
    first = min(args.seeds)
    record = {
        "command": "python tests/benchmarks/record_trained_erf.py "
                   f"--seeds {' '.join(map(str, args.seeds))} --epochs {args.epochs} "
                   f"--channels {args.channels}",
        "machine": measured_on(),
        "date": datetime.date.today().isoformat(),
        "settings": settings,
        "runs": [{k: v for k, v in r.items() if not k.startswith("map")} for r in rows],
        "maps": {r["variant"]: {"before": r["map_before"].tolist(),
                                "after": r["map_after"].tolist()}
                 for r in rows if r["seed"] == first},
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
