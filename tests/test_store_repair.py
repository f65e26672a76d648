"""`tapescan verify STORE --repair`: a damaged store made sound in place, then completed by re-ingesting.

A small synthetic store (3 symbols, 4 sessions over two months) is copied per test and damaged (a garbled or
missing session partition, a garbled month of daily values, a garbled symbols table). The repair must move the
damaged file into STORE/damaged/, leave a store that `verify --deep` calls sound, and re-synthesizing with the
same arguments must give bars, daily values and symbols equal to those of the never-damaged store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tapescan.store import Store
from tapescan.store.manifest import load_manifest
from tests.cli_process import tapescan

START, END, DAY = "2024-11-27", "2024-12-03", "2024-12-02"
SYNTH = ["--symbols", "3", "--start", START, "--end", END, "--seed", "4"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "store"
    assert tapescan("synth", str(path), *SYNTH).returncode == 0
    return path


@pytest.fixture
def root(pristine, tmp_path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "store"))


def target(root: Path, table: str) -> str:
    """The relative path of DAY's partition, its month's daily values or the symbols table."""
    manifest = load_manifest(root)
    return {"bars_1m": manifest.bars_1m[DAY], "daily": manifest.daily[DAY[:7]], "symbols": manifest.symbols}[table].file


def garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 21] = bytes(b ^ 0x5A for b in data[middle:middle + 21])
    path.write_bytes(data)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the store (lock files aside), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def assert_same_data(root: Path, pristine: Path) -> None:
    """Bars, daily values and symbols equal those of the never-damaged store."""
    store, reference = Store(root), Store(pristine)
    assert store.sessions() == reference.sessions()
    pd.testing.assert_frame_equal(store.symbols(), reference.symbols())
    pd.testing.assert_frame_equal(store.read_daily(START, END), reference.read_daily(START, END))
    for symbol in reference.symbols()["symbol"]:
        pd.testing.assert_frame_equal(store.read_bars(symbol, START, END, extended_hours=True),
                                      reference.read_bars(symbol, START, END, extended_hours=True))


@pytest.mark.parametrize("table, how", [("bars_1m", "garbled"), ("bars_1m", "missing"), ("daily", "garbled")])
def test_repair_then_resynth_gives_the_undamaged_store(root, pristine, table, how):
    relative = target(root, table)
    if how == "missing":
        (root / relative).unlink()
    else:
        garble(root / relative)
    checked = tapescan("verify", str(root), "--deep")
    assert checked.returncode == 2 and f"tapescan verify {root} --repair" in " ".join(checked.stderr.split())

    repaired = tapescan("verify", str(root), "--repair")

    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    said = " ".join(repaired.stdout.split())
    assert "the store is sound." in said
    assert (f"re-ingest {DAY} with `tapescan ingest VENDOR FILES --store {root}`" in said) == (table == "bars_1m")
    assert (root / "damaged" / relative).exists() == (how == "garbled")
    assert not (root / relative).exists()
    assert tapescan("verify", str(root), "--deep").returncode == 0
    assert (DAY in [d.isoformat() for d in Store(root).sessions()]) == (table != "bars_1m")

    assert tapescan("synth", str(root), *SYNTH).returncode == 0
    assert tapescan("verify", str(root), "--deep").returncode == 0
    assert_same_data(root, pristine)


def test_repair_reports_the_dropped_session_and_its_symbols(pristine, root):
    garble(root / target(root, "bars_1m"))

    report = Store(root).repair()

    assert report.ok and report.symbols_rewritten
    assert report.dropped == {DAY: sorted(Store(pristine).symbols()["symbol"])}  # the undamaged store's
    assert report.daily_rewritten == [DAY[:7]]
    assert Store(root).verify(deep=True).ok


def test_repair_of_a_sound_store_changes_nothing(root):
    before = snapshot(root)

    repaired = tapescan("verify", str(root), "--repair")

    assert repaired.returncode == 0 and "nothing to repair" in repaired.stdout
    assert snapshot(root) == before


def test_repair_refuses_a_damaged_symbols_table_and_changes_nothing(root):
    garble(root / target(root, "bars_1m"))
    garble(root / target(root, "symbols"))
    before = snapshot(root)

    repaired = tapescan("verify", str(root), "--repair")

    said = " ".join(repaired.stderr.split())
    assert repaired.returncode == 2 and "Traceback" not in said
    assert "its symbols table" in said and "Restore that file from a backup" in said and "Nothing was changed" in said
    assert snapshot(root) == before
