"""Update time of the interactives, live (Python) and static (in headless Chromium).

Python: time from setting one widget control to the re-rendered view (evaluation with the
numeric functions of cnnbook_lib.formulas plus HTML rendering), median over all controls and a
few values each. Targets: under 5 ms for the formula interactives.

Browser: the static gallery page, network cut off; each control is set and its ``input``
event dispatched; the time of the synchronous update (evaluate + render + DOM) is read from
``performance.now()`` around the dispatch. Target: under 16 ms (one frame).

    python tests/benchmarks/bench_interactives.py [--no-browser] [--all-networks]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cnnbook_lib import interactives as I

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def control_values(p):
    if p.control == "select":
        return [c[0] for c in p.choices][:6] + [p.default]
    return [p.max, p.min, (p.min + p.max) // 2, p.default]


def python_times(inter) -> list[float]:
    w = inter.widget()
    times = []
    for p in inter.params:
        for v in control_values(p):
            v = v if p.control == "select" else int(v)
            if w.controls[p.name].value == v:
                continue
            t0 = time.perf_counter()
            w.controls[p.name].value = v
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def browser_times(items) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "gallery.html"
        page_path.write_text(I.gallery_html(items), encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
                       else r.abort())
            page.goto(page_path.as_uri())
            for index, inter in enumerate(items):
                times = []
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
            browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--all-networks", action="store_true",
                    help="embed every network in the explorer (slower to prepare)")
    args = ap.parse_args()
    gallery = I.examples()
    if not args.all_networks:
        gallery["architecture_explorer"] = I.architecture_explorer(
            ["lenet5", "alexnet", "vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0"])
    gallery["architecture_explorer"].data               # trace the networks before timing
    items = list(gallery.values())
    for inter in items:
        if inter.name != "architecture_explorer":
            python_times(inter)                         # warm up
    py = {i.name: python_times(i) for i in items}
    br = {} if args.no_browser or not Path(CHROMIUM).exists() else browser_times(items)
    print(f"{'interactive':24} {'python median ms':>17} {'python max ms':>14} "
          f"{'browser median ms':>18} {'browser max ms':>15}")
    for inter in items:
        p = py[inter.name]
        b = br.get(inter.name)
        bcol = f"{statistics.median(b):18.2f} {max(b):15.2f}" if b else f"{'-':>18} {'-':>15}"
        print(f"{inter.name:24} {statistics.median(p):17.2f} {max(p):14.2f} {bcol}")
    print("targets: python < 5 ms for formula interactives (the explorer's first visit of a "
          "network traces it); browser < 16 ms")


if __name__ == "__main__":
    main()
