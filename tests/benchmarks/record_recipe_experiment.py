"""Record chapter 4's training-recipe experiments (cnnbook_lib.recipe_experiment.run): a deep
narrow network with and without batch normalization and shortcuts, and LeNet on a small
training set with and without shifted copies, three seeds each, trained on one CPU thread;
writes the JSON that the chapter shows (cnnbook_lib/data/recipe-experiment-cpu.json) and
prints a table.

    python tests/benchmarks/record_recipe_experiment.py [--out PATH]

About 3.5 minutes of CPU time on one core of an AMD EPYC (torch 2.13).
"""
import argparse
import json
import statistics

import torch

from cnnbook_lib import recipe_experiment as R


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(R.RECORD))
    args = parser.parse_args()
    torch.set_num_threads(1)
    doc = R.run(seeds=(0, 1, 2))
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{'experiment':<10}{'config':<16}{'mean':>8}{'lowest':>8}{'highest':>8}{'CPU s':>8}")
    for r in doc["rows"]:
        acc = r["accuracy"]
        print(f"{r['experiment']:<10}{r['config']:<16}{statistics.mean(acc):>8.3f}{min(acc):>8.3f}"
              f"{max(acc):>8.3f}{sum(r['cpu_s']):>8.0f}")
    print("written to", args.out)


if __name__ == "__main__":
    main()
