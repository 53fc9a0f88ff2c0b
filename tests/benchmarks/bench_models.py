"""analysis.summarize against independent counters on 35 models: the CNNs of
``cnnbook_lib.architectures`` and the transformer, ConvNeXt, timm-style, 1-D/3-D, U-Net and
detection models of ``tests/test_analysis_models.py``.

For each model: parameters; FLOPs against ``FlopCounterMode`` on the meta device (on the CPU
for models the meta device cannot run); saved-for-backward bytes against
``torch.autograd.graph.saved_tensors_hooks`` on a real CPU forward pass in training mode (at a
small resolution, each storage once, parameters and buffers left out); the receptive field from
``cnnbook_lib.receptive`` (or its error); the time of one ``summarize`` call. Prints a table and
saves JSON.

    python tests/benchmarks/bench_models.py [--only vit_like resnet50 ...] [--out FILE]

(with the library installed, ``pip install -e .``, or ``PYTHONPATH=.`` from the repository root)
"""
from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))   # tests/: the model zoo

from cnnbook_lib import analysis, architectures  # noqa: E402
from test_analysis_models import ZOO, autograd_saved_bytes  # noqa: E402

#: models the meta device cannot run (data-dependent ops): counted on the CPU
REAL = {"detection_head"}


def models() -> dict:
    """name -> (builder, size for FLOPs and timing, size for the saved-bytes check)."""
    out = {}
    for name in architectures.names():
        if name == "lenet5":
            sizes = ((1, 1, 32, 32), (1, 1, 32, 32))
        elif name in ("alexnet", "zfnet"):
            sizes = ((1, 3, 227, 227), (1, 3, 227, 227) if name == "zfnet" else (1, 3, 96, 96))
        else:
            sizes = ((1, 3, 224, 224), (1, 3, 64, 64))
        out[name] = (lambda name=name: architectures.build(name), *sizes)
    out.update(ZOO)
    return out


def flop_counter(model, size, device) -> int:
    x = torch.randn(size) if device == "cpu" else torch.empty(size, device="meta")
    with FlopCounterMode(display=False) as c:
        model(x)
    return c.get_total_flops()


def receptive(model, size) -> str:
    try:
        from cnnbook_lib import receptive as R
        rf = R.receptive_field(model, input_size=size)
    except Exception as err:      # noqa: BLE001 - the reason is the result
        return f"error: {type(err).__name__}: {str(err).splitlines()[0][:90]}"
    if getattr(rf, "is_global", False):
        return f"global, by {rf.global_by}"
    return f"{rf.size}"


def measure(name, build, size, mem_size) -> dict:
    device = "cpu" if name in REAL else "meta"
    torch.manual_seed(0)
    if device == "meta":
        with torch.device("meta"):
            model = build().eval()
    else:
        model = build().eval()
    analysis.summarize(model, size, device=device)                     # warm-up
    t0 = time.perf_counter()
    s = analysis.summarize(model, size, device=device)
    seconds = time.perf_counter() - t0
    counter = flop_counter(model, size, device)
    row = dict(model=name, input=list(size), device=device, params=s.params,
               params_numel=sum(p.numel() for p in model.parameters()), flops=s.flops,
               flop_counter=counter, flops_ratio=s.flops / counter if counter else None,
               summarize_s=seconds, uncosted_ops=s.uncosted_ops)
    torch.manual_seed(0)
    real_model = build().train()
    try:
        # the input summarize(device="cpu") draws, so data-dependent models keep the same boxes
        x = torch.randn(mem_size, generator=torch.Generator().manual_seed(0))
        real = autograd_saved_bytes(real_model, x)
        ours = analysis.summarize(real_model, mem_size, training=True,
                                  device="cpu" if name in REAL else "meta")
        row.update(mem_input=list(mem_size), saved_bytes=ours.saved_activation_bytes,
                   saved_hooks=real, saved_ratio=ours.saved_activation_bytes / real)
    except Exception as err:      # noqa: BLE001
        row.update(mem_input=list(mem_size), saved_error=f"{type(err).__name__}: {err}"[:120])
    row["receptive_field"] = receptive(model if device == "meta" else real_model.eval(), size)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--out", default="bench-results/models.json")
    args = ap.parse_args(argv)
    table = models()
    names = args.only or list(table)
    rows = []
    header = (f"{'model':<19}{'input':>14}{'params':>13}{'GFLOPs':>9}{'/FCM':>8}"
              f"{'saved MB':>10}{'/hooks':>8}{'summ. s':>8}  receptive field")
    print(header)
    print("-" * (len(header) + 20))
    for name in names:
        build, size, mem_size = table[name]
        r = measure(name, build, size, mem_size)
        rows.append(r)
        saved = (f"{r['saved_bytes'] / 1e6:>10.2f}{r['saved_ratio']:>8.4f}" if "saved_bytes" in r
                 else f"{'error':>10}{'':>8}")
        ratio = f"{r['flops_ratio']:.4f}" if r["flops_ratio"] is not None else "-"
        note = "*" if r["device"] == "cpu" else " "
        print(f"{name:<19}{'x'.join(map(str, r['input'])):>14}{r['params']:>13,}"
              f"{r['flops'] / 1e9:>9.3f}{ratio:>7}{note}{saved}{r['summarize_s']:>8.3f}  "
              f"{r['receptive_field']}")
    meta = dict(torch=torch.__version__, python=platform.python_version(),
                machine=platform.machine(), threads=torch.get_num_threads(),
                date=time.strftime("%Y-%m-%d %H:%M:%S"))
    print(f"/FCM: FlopCounterMode on the meta device (* on the CPU: data-dependent model). "
          f"saved MB at the memory input (training mode), /hooks: against saved_tensors_hooks "
          f"on the CPU.")
    worst = max(abs(r.get("saved_ratio", 1) - 1) for r in rows)
    print(f"{len(rows)} models; worst saved-bytes deviation {worst:.2%}; "
          f"torch {meta['torch']}, Python {meta['python']}, {meta['threads']} threads")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, rows=rows), indent=2))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
