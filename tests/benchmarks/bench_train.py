"""Train the LeNet-style network of ``cnnbook_lib.train`` on the 4,000 MNIST training digits
of ``cnnbook_lib.datasets`` on one CPU thread and report what the book promises: the test
accuracy on the 1,000 test digits, and the wall-clock and CPU time it took.

For each seed: a table of the epochs (training loss, training and test accuracy, wall seconds),
then the totals, with the machine (processor from /proc/cpuinfo, threads, load average before
and after) and the torch version. On a shared machine the wall time includes the time spent
waiting for a core; the CPU time (``time.process_time``) does not.

    python tests/benchmarks/bench_train.py [--seeds 0 1 2] [--threads 1] [--out FILE]

(with the library installed, ``pip install -e .``, or ``PYTHONPATH=.`` from the repository root)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform

import torch

from cnnbook_lib import datasets, train


def processor() -> str:
    """The processor's name from /proc/cpuinfo (Linux), else what platform reports."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def main(argv: list[str] | None = None) -> dict:
    settings = train.LENET_SETTINGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="seeds of the initial weights and of the shuffle (default: 0)")
    parser.add_argument("--epochs", type=int, default=settings["epochs"])
    parser.add_argument("--lr", type=float, default=settings["lr"])
    parser.add_argument("--batch-size", type=int, default=settings["batch_size"])
    parser.add_argument("--optimizer", choices=train.OPTIMIZERS, default=settings["optimizer"])
    parser.add_argument("--schedule", choices=train.SCHEDULES, default=settings["schedule"])
    parser.add_argument("--activation", choices=train.ACTIVATIONS, default="tanh")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="write the results as JSON here (default: print only)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    train_data, test_data = datasets.mnist("train"), datasets.mnist("test")
    machine = dict(processor=processor(), cpus=os.cpu_count(), threads=args.threads,
                   torch=torch.__version__, python=platform.python_version(),
                   date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    print(f"{machine['processor']}, {machine['cpus']} CPUs, {args.threads} thread(s), "
          f"torch {machine['torch']}")
    print(f"LeNet ({args.activation}) on MNIST: {len(train_data[0]):,} training and "
          f"{len(test_data[0]):,} test digits; {args.optimizer}, lr {args.lr:g} "
          f"({args.schedule}), batch {args.batch_size}, {args.epochs} epochs")
    runs = []
    for seed in args.seeds:
        before = load_average()
        model = train.lenet(activation=args.activation, seed=seed)
        h = train.fit(model, train_data, test_data, epochs=args.epochs, lr=args.lr,
                      batch_size=args.batch_size, optimizer=args.optimizer,
                      schedule=args.schedule, seed=seed, threads=args.threads, progress=False)
        after = load_average()
        print(f"\nseed {seed}")
        print(f"{'epoch':>5} {'loss':>8} {'train acc':>10} {'test acc':>9} {'wall s':>7}")
        for i in range(h.epochs):
            print(f"{i + 1:>5} {h.loss[i]:>8.4f} {h.train_accuracy[i]:>10.4f} "
                  f"{h.test_accuracy[i]:>9.4f} {h.epoch_wall_s[i]:>7.2f}")
        print(f"test accuracy {h.test_accuracy[-1]:.1%} in {h.wall_s:.1f} s wall, "
              f"{h.cpu_s:.1f} s CPU (load average before {before}, after {after})")
        runs.append(dict(seed=seed, history=h.to_dict(), load_before=before, load_after=after))
    if len(runs) > 1:
        accs = [r["history"]["test_accuracy"][-1] for r in runs]
        cpus = [r["history"]["cpu_s"] for r in runs]
        print(f"\n{len(runs)} seeds: test accuracy {min(accs):.1%} to {max(accs):.1%} "
              f"(mean {sum(accs) / len(accs):.2%}); CPU {min(cpus):.1f} to {max(cpus):.1f} s")
    result = dict(machine=machine, settings=dict(
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, optimizer=args.optimizer,
        schedule=args.schedule, activation=args.activation), runs=runs)
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
