"""Whole-network latency recording (cnnbook_lib.bench.latency): rows checked against torch's own
counts, documents validated, the shipped record consistent with the library's current counts."""
from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbook_lib import architectures
from cnnbook_lib.bench import latency as L


def _torch_counts(batch: int) -> tuple[int, int]:
    """Parameters by numel() and MACs by FlopCounterMode / 2 on a real forward pass."""
    torch.manual_seed(0)
    model = architectures.build("lenet5", variant="modern").eval()
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(batch, 1, 32, 32))
    return params, counter.get_total_flops() // 2


@pytest.mark.parametrize("batch", [1, 3])
def test_row_counts_agree_with_torch(batch):
    row = L.time_network("lenet5", batch, repeats=2, warmup=0, threads=1, variant="modern")
    assert set(L.ROW_KEYS) <= set(row)
    assert row["input"] == [batch, 1, 32, 32] and row["batch"] == batch
    assert row["variant"] == "modern"
    params, macs = _torch_counts(batch)
    assert row["params"] == params
    assert row["macs"] == macs
    assert row["repeats"] == len(row["samples_s"]) == 2
    assert min(row["samples_s"]) <= row["median_s"] <= max(row["samples_s"])
    assert row["q1_s"] <= row["median_s"] <= row["q3_s"]
    assert row["threads"] == 1


def test_record_save_load_round_trip(tmp_path):
    doc = L.record(["lenet5"], [1, 2], repeats=2, warmup=0, progress=False)
    assert doc["format"] == L.FORMAT
    meta = doc["metadata"]
    assert meta["device_type"] == "cpu" and meta["torch_version"] == torch.__version__
    assert meta["threads"] == 1
    assert [(r["name"], r["batch"]) for r in doc["rows"]] == [("lenet5", 1), ("lenet5", 2)]
    assert doc["rows"][1]["macs"] == 2 * doc["rows"][0]["macs"]
    path = L.save_latency(doc, tmp_path / "lat.json")
    assert L.load_latency(path) == json.loads(path.read_text())


def test_thread_clock_is_recorded():
    row = L.time_network("lenet5", 1, repeats=2, warmup=0, threads=1, clock="thread")
    assert row["clock"] == "thread" and row["median_s"] > 0


def test_budget_skips_the_largest_runs():
    doc = L.record(["lenet5", "alexnet"], [1], repeats=1, warmup=0, max_gmacs=0.01,
                   progress=False)
    assert [r["name"] for r in doc["rows"]] == ["lenet5"]
    assert [(s["name"], s["batch"]) for s in doc["skipped"]] == [("alexnet", 1)]
    assert doc["skipped"][0]["macs"] > 0.01e9


def test_missing_record_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m cnnbook_lib.bench.latency"):
        L.load_latency(tmp_path / "none.json")


@pytest.mark.parametrize("doc, match", [
    ({}, "format"),
    ({"format": L.FORMAT}, "metadata"),
    ({"format": L.FORMAT, "metadata": {"device_type": "cpu"}, "rows": []}, "no rows"),
    ({"format": L.FORMAT, "metadata": {"device_type": "cpu"}, "rows": [{"name": "x"}]}, "lacks"),
])
def test_validate_rejects_malformed_documents(doc, match):
    with pytest.raises(ValueError, match=match):
        L.validate_latency(doc)


@pytest.mark.parametrize("call, error, match", [
    (lambda: L.time_network("lenet", 1), ValueError, "unknown network"),
    (lambda: L.time_network("lenet5", 0), ValueError, "batch size"),
    (lambda: L.time_network("lenet5", True), TypeError, "batch size"),
    (lambda: L.time_network("lenet5", 1, repeats=0), ValueError, "repeats"),
    (lambda: L.time_network("lenet5", 1, warmup=-1), ValueError, "warmup"),
    (lambda: L.record("lenet5", [1], progress=False), TypeError, "names"),
    (lambda: L.record(["lenet5"], [], progress=False), ValueError, "batches"),
    (lambda: L.record(["lenet5"], "1", progress=False), TypeError, "batches"),
    (lambda: L.record(["lenet5"], [1], max_gmacs=0, progress=False), ValueError, "max_gmacs"),
    (lambda: L.record(["lenet5"], [1], clock="cpu", progress=False), ValueError, "clock"),
    (lambda: L.time_network("lenet5", 1, clock="thread", threads=2), ValueError, "threads=1"),
])
def test_bad_arguments_are_explained(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_command_line_writes_and_prints(tmp_path, capsys):
    out = tmp_path / "lat.json"
    assert L.main(["--names", "lenet5", "--batches", "1", "--repeats", "2", "--warmup", "0",
                   "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "lenet5" in printed and "saved" in printed
    assert L.load_latency(out)["rows"][0]["name"] == "lenet5"


def test_command_line_refuses_unknown_networks(capsys):
    with pytest.raises(SystemExit):
        L.main(["--names", "nonet", "--repeats", "1"])
    assert "unknown network" in capsys.readouterr().err


def test_shipped_cpu_record_matches_the_library():
    """The record shipped for the chapters is valid and counts what the library counts today
    (a record made before a network changed would be caught here)."""
    doc = L.load_latency("cpu")
    assert doc["metadata"]["device_type"] == "cpu"
    seen = set()
    for row in doc["rows"]:
        assert row["name"] in architectures.names()
        if row["name"] not in seen:      # one check per network keeps the test fast
            seen.add(row["name"])
            from cnnbook_lib import analysis
            with torch.device("meta"):
                model = architectures.build(row["name"], variant=row["variant"])
            s = analysis.summarize(model, tuple(row["input"]))
            assert (row["params"], row["macs"]) == (s.params, s.macs), row["name"]
