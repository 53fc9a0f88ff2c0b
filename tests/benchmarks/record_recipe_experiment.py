"""Record chapter 4's training-recipe experiments (cnnbook_lib.recipe_experiment.run): a deep
narrow network with and without batch normalization and shortcuts, and LeNet on a small
training set with and without shifted copies (tested also on shifted test digits),
five seeds each, trained on one CPU thread;
writes the JSON that the chapter shows (cnnbook_lib/data/recipe-experiment-cpu.json) and
prints a table.

    python tests/benchmarks/record_recipe_experiment.py [--out PATH]

About 6 minutes of CPU time on one core of an AMD EPYC (torch 2.13).
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
    doc = R.run(seeds=R.SEEDS)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{'experiment':<10}{'config':<16}{'epoch 1':>8}{'mean':>8}{'lowest':>8}{'highest':>8}"
          f"{'loss':>8}{'shifted':>8}{'CPU s':>8}  per seed")
    for r in doc["rows"]:
        acc = r["accuracy"]
        shifted = r.get("shifted_accuracy")
        print(f"{r['experiment']:<10}{r['config']:<16}{statistics.mean(c[0] for c in r['curves']):>8.3f}"
              f"{statistics.mean(acc):>8.3f}{min(acc):>8.3f}{max(acc):>8.3f}"
              f"{statistics.mean(r['loss']):>8.3f}"
              f"{statistics.mean(shifted) if shifted else float('nan'):>8.3f}"
              f"{sum(r['cpu_s']):>8.0f}  {acc}")
    print("written to", args.out)


if __name__ == "__main__":
    main()
