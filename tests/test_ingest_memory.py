"""Ingest memory stays bounded whatever the file: duplicates are settled per spilled batch, and `--workers`
is capped at the core count (docs/INGEST.md, "Memory")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tapescan.ingest import pipeline
from tapescan.ingest.pipeline import ingest, worker_count
from tapescan.store import Store
from tests.cli_process import tapescan

ROW = "2024-01-02 09:30:00,187.15,188.44,183.885,185.64,3458291\n"
IDENTICAL_ROWS = 2_500_000
#: Peak RSS growth allowed while ingesting IDENTICAL_ROWS with a 100,000-row budget, over the RSS left by a
#: one-row ingest (interpreter, libraries, compiled parser): a few budgets' worth of rows, measured 0.15 GB.
#: Merging the session's rows at once grew it by 0.47 GB.
GROWTH_MB = 350

#: In a fresh process: ingest a one-row file into one store, reset the peak RSS (Linux: /proc/self/clear_refs),
#: then ingest the big file into another with a 100,000-row budget; print the peak's growth and the counts.
_MEASURE = """
import json, re, sys
from pathlib import Path
from tapescan.ingest import pipeline
status = lambda field: int(re.search(field + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1]) // 1024
pipeline.ingest(sys.argv[1] + "-warm", "firstrate", [sys.argv[3]], workers=1)
Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
pipeline.BUDGET_ROWS = 100_000
source = pipeline.ingest(sys.argv[1], "firstrate", [sys.argv[2]], workers=1).sources[0]
print(json.dumps({"growth_mb": status("VmHWM") - before,
                  "read": source.rows_read, "stored": source.rows_stored, "duplicate": source.rows_duplicate}))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak RSS is reset through Linux's /proc")
def test_a_session_of_identical_rows_is_settled_in_bounded_memory(tmp_path: Path) -> None:
    folder, warm = tmp_path / "files", tmp_path / "warm"
    for path, rows in ((folder, IDENTICAL_ROWS), (warm, 1)):
        path.mkdir()
        (path / "AAPL_full_1min_UNADJUSTED.txt").write_text(ROW * rows)
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(tmp_path / "store"), str(folder), str(warm)],
                          capture_output=True, text=True, timeout=120, check=True)
    measured = json.loads(done.stdout.splitlines()[-1])
    assert (measured["read"], measured["stored"], measured["duplicate"]) == (IDENTICAL_ROWS, 1, IDENTICAL_ROWS - 1)
    assert measured["growth_mb"] < GROWTH_MB, measured


def _bar(minute: int, volume: int) -> str:
    return f"2024-01-02 09:{30 + minute:02d}:00,10.0,11.0,9.0,10.5,{volume}\n"


def _ingest_with_budget(tmp_path: Path, folder: Path, budget: int, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """Per-source counts, stored bars and quarantine text of an ingest of `folder` with a row budget."""
    monkeypatch.setattr(pipeline, "BUDGET_ROWS", budget)
    root = tmp_path / f"store-{budget}"
    report = ingest(root, "firstrate", [folder], workers=1)
    counts = [(s.source, s.rows_read, s.rows_stored, s.rows_duplicate, s.rejected_by_reason) for s in report.sources]
    quarantine = sorted(path.read_text() for path in (root / "quarantine").rglob("*.csv"))
    bars = Store(root).read_bars("AAPL", "2024-01-02", "2024-01-02", extended_hours=True)
    return counts, bars.to_dict("records"), quarantine


def test_settling_per_batch_counts_exactly_as_settling_at_once(tmp_path: Path, monkeypatch) -> None:
    """Identical repeats within and across files and batches, and a conflict whose rows are spread over
    batches: a 3-row budget gives the same counts, bars and quarantine as one batch per file."""
    folder = tmp_path / "files"
    (folder / "again").mkdir(parents=True)
    name = "AAPL_full_1min_UNADJUSTED.txt"
    (folder / name).write_text(_bar(0, 5) * 5 + _bar(1, 7) * 3 + _bar(2, 9) + _bar(1, 7) + _bar(3, 1) * 4)
    (folder / "again" / name).write_text(_bar(1, 7) * 2 + _bar(0, 6) + _bar(3, 1) + _bar(4, 2))
    small, large = (_ingest_with_budget(tmp_path, folder, budget, monkeypatch) for budget in (3, 1_000))
    assert small == large
    counts, bars, quarantine = small
    assert sum(c[2] for c in counts) == len(bars) == 4  # 09:31, 09:32, 09:33, 09:34
    assert sum(c[3] for c in counts) == 5 + 4  # 09:31 six times, 09:33 five times, each stored once
    assert sum(c[4].get("conflicting_duplicate", 0) for c in counts) == 6  # every 09:30 row
    assert sum(text.count("conflicting_duplicate") for text in quarantine) == 6


def test_workers_are_capped_at_the_core_count() -> None:
    cores = os.cpu_count() or 1
    assert worker_count(None) == cores
    assert worker_count(cores + 5) == cores
    assert worker_count(1) == 1


def test_workers_above_the_core_count_print_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "AAPL_full_1min_UNADJUSTED.txt").write_text(_bar(0, 5))
    cores = os.cpu_count() or 1
    done = tapescan("ingest", "firstrate", str(folder), "--store", str(tmp_path / "store"),
                    "--workers", str(cores + 3), timeout=120)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert f"--workers {cores + 3} is more than the {cores} CPU cores; using {cores}" in said
