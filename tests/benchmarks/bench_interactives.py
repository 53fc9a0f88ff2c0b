"""Update time of the interactives per control change, in headless Chromium.

Each interactive's ES module runs in the browser (the static gallery page, network cut off: the
same module a live widget runs in JupyterLab). Every control is set to several values and its
``input`` event dispatched; the time of the synchronous update (evaluate + render + DOM + model
writes) is read with ``performance.now()`` around the dispatch. Target: under 5 ms.

Kernel side: the only Python work left in a live interactive is the architecture explorer's trace
of a newly chosen network (``live_data``); its time per network is printed too.

    python tests/benchmarks/bench_interactives.py [--all-networks] [--out bench-results/interactives.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from cnnbook_lib import interactives as I

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SMALL = ["lenet5", "alexnet", "vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0"]


def control_values(p):
    if p.control == "select":
        return [c[0] for c in p.choices][:6] + [p.default]
    return [p.max, p.min, (p.min + p.max) // 2, p.default]


def browser_times(decls) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "gallery.html"
        page_path.write_text(I.gallery_html(decls), encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file://", "blob:"))
                       else r.abort())
            page.goto(page_path.as_uri())
            page.wait_for_function("n => document.querySelectorAll('[data-cnnbook-interactive]').length === n",
                                   arg=len(decls))
            for index, inter in enumerate(decls):
                times = []
                for _ in range(3):
                    for p in inter.params:
                        for v in control_values(p):
                            times.append(page.evaluate("""([i, name, value]) => {
                                const root = document.querySelectorAll('[data-cnnbook-interactive]')[i];
                                const el = root.querySelector('[name="' + name + '"]');
                                el.value = value;
                                const t0 = performance.now();
                                el.dispatchEvent(new Event('input', {bubbles: true}));
                                return performance.now() - t0; }""", [index, p.name, str(v)]))
                out[inter.name] = times
            version = browser.version
            browser.close()
    out["_browser"] = version
    return out


def kernel_trace_times(names) -> dict[str, float]:
    from cnnbook_lib.interactives.architecture import network_summary
    out = {}
    for name in names:
        t0 = time.perf_counter()
        network_summary(name)
        out[name] = (time.perf_counter() - t0) * 1e3
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all-networks", action="store_true",
                    help="embed every network in the explorer (slower to prepare)")
    ap.add_argument("--out", default="bench-results/interactives.json")
    args = ap.parse_args()
    decls = I.declarations()
    names = None if args.all_networks else SMALL
    decls["architecture_explorer"] = I.architecture_explorer(names).interactive
    explorer_names = [c[0] for c in decls["architecture_explorer"].params[0].choices]
    kernel = kernel_trace_times(explorer_names)             # also fills the explorer's data
    items = list(decls.values())
    br = browser_times(items)
    version = br.pop("_browser")
    print(f"browser: Chromium {version}, {platform.machine()}, update time per control change")
    print(f"{'interactive':24} {'changes':>8} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    rows = {}
    for inter in items:
        t = sorted(br[inter.name])
        p95 = t[min(len(t) - 1, int(0.95 * len(t)))]
        rows[inter.name] = {"changes": len(t), "median_ms": statistics.median(t), "p95_ms": p95, "max_ms": t[-1]}
        print(f"{inter.name:24} {len(t):8d} {statistics.median(t):10.2f} {p95:8.2f} {t[-1]:8.2f}")
    print("target: under 5 ms per change")
    print("\nkernel: architecture explorer, trace of a newly chosen network (analysis.summarize, meta device)")
    for name, ms in kernel.items():
        print(f"  {name:22} {ms:8.1f} ms")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"browser": version, "machine": platform.machine(),
                               "date": time.strftime("%Y-%m-%d"), "update": rows, "kernel_trace_ms": kernel},
                              indent=1))
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
