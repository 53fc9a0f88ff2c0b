"""Record chapter 3's training experiment (cnnbook_lib.layer_experiment.run): four kinds of layer
at matched MACs, three seeds each, trained on one CPU thread; writes the JSON that the chapter
shows (cnnbook_lib/data/layer-experiment-cpu.json) and prints a table.

    python tests/benchmarks/record_layer_experiment.py [--out PATH]

About 8 minutes of CPU time on one core of an AMD EPYC (torch 2.13).
"""
import argparse
import json
import statistics

from cnnbook_lib import layer_experiment as E


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(E.RECORD))
    args = parser.parse_args()
    doc = E.run()
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{'kind':<11}{'width':>6}{'MACs':>11}{'accuracy':>10}{'spread':>8}{'infer ms':>10}")
    for r in doc["rows"]:
        acc = r["accuracy"]
        print(f"{r['kind']:<11}{r['width']:>6}{r['macs']:>11,}{statistics.mean(acc):>10.3f}"
              f"{max(acc) - min(acc):>8.3f}{statistics.median(r['infer_ms']):>10.1f}")
    print("written to", args.out)


if __name__ == "__main__":
    main()
