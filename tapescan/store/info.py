"""What a store holds: sessions (and the NYSE sessions it lacks), symbols, bars, adjustment, size on disk and
the last ingest.

Everything comes from the manifest, the symbols table, a walk over the folder's file sizes and the newest
ingest report, never from the bars, so that it costs the same few reads on a 10,000-symbol, 6,000-session
store as on a small one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.errors import StoreError
from tapescan.store.store import Store
from tapescan.store.writer import read_symbols

#: Where `tapescan ingest` saves its reports (the ingest pipeline imports it from here).
REPORTS_FOLDER = "reports"
#: Size on disk of files directly in the store folder (the manifest, locks) is counted under this name.
TOP_LEVEL_FILES = "other"
#: Columns of `symbol_coverage`.
COVERAGE_COLUMNS = ["symbol", "adjustment", "source", "first_session", "last_session", "sessions",
                    "missing_sessions", "bars", "attributes"]


@dataclass(frozen=True)
class IngestSummary:
    """The totals of one ingest report (STORE/reports/ingest-*.json)."""

    file: str
    vendor: str
    finished: str
    seconds: float
    files: int
    rows_read: int
    rows_stored: int
    rows_rejected: int
    rows_duplicate: int
    rejected_by_reason: dict[str, int]
    sessions_written: int
    bars_written: int
    symbols_added: int


@dataclass(frozen=True)
class StoreInfo:
    """A summary of a store, cheap to compute whatever its size."""

    path: str
    first_session: dt.date | None
    last_session: dt.date | None
    sessions: int
    missing_sessions: list[dt.date]  # NYSE sessions between the first and the last that the store lacks
    symbols: int
    bars: int
    adjustments: dict[str, int]  # symbols per price adjustment
    sources: dict[str, int]  # symbols per source (vendor)
    disk_bytes: dict[str, int]  # bytes per top-level folder, TOP_LEVEL_FILES for loose files
    ingest_reports: int
    last_ingest: IngestSummary | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: dates as YYYY-MM-DD, plus `disk_bytes_total`."""
        data = dataclasses.asdict(self)
        for key in ("first_session", "last_session"):
            data[key] = None if data[key] is None else data[key].isoformat()
        data["missing_sessions"] = [day.isoformat() for day in self.missing_sessions]
        data["disk_bytes_total"] = sum(self.disk_bytes.values())
        return data


def store_info(store: Store) -> StoreInfo:
    """Summarize `store` from its manifest, symbols table, file sizes and newest ingest report."""
    manifest = store.manifest()
    stored = sorted(dt.date.fromisoformat(key) for key in manifest.bars_1m)
    table = read_symbols(store.path, manifest)  # from the same manifest as the sessions: one consistent view
    reports = sorted((store.path / REPORTS_FOLDER).glob("ingest-*.json"))  # names start with a UTC time stamp
    return StoreInfo(
        path=str(store.path),
        first_session=stored[0] if stored else None,
        last_session=stored[-1] if stored else None,
        sessions=len(stored),
        missing_sessions=_missing_sessions(stored),
        symbols=len(table),
        bars=sum(entry.rows for entry in manifest.bars_1m.values()),
        adjustments=_counts(table["adjustment"]),
        sources=_counts(table["source"]),
        disk_bytes=_disk_bytes(store.path),
        ingest_reports=len(reports),
        last_ingest=read_ingest_summary(reports[-1]) if reports else None,
    )


def symbol_coverage(store: Store, symbols: list[str] | None = None) -> pd.DataFrame:
    """One row per symbol (all, or `symbols` in that order): adjustment, source, first and last session,
    sessions with bars, `missing_sessions` (NYSE sessions between its first and last that it has no bars in),
    bars, attributes (JSON). StoreError naming close matches for symbols the store does not hold."""
    table = store.symbols()
    if symbols is not None:
        wanted = [symbol.upper() for symbol in symbols]
        check_symbols(store, table["symbol"], wanted)
        table = table.set_index("symbol").loc[wanted].reset_index()
    spans = _calendar_sessions_between(table["first_session"], table["last_session"])
    table["missing_sessions"] = spans - table["sessions"]
    return table[COVERAGE_COLUMNS]


def check_symbols(store: Store, known: Iterable[str], wanted: list[str]) -> None:
    """StoreError naming every symbol of `wanted` that is not in `known`, with close matches to each."""
    known = list(known)
    present = set(known)
    unknown = [symbol for symbol in wanted if symbol not in present]
    if not unknown:
        return
    guesses = []
    for symbol in unknown:
        near = difflib.get_close_matches(symbol, known, n=3)
        if near:
            guesses.append(", ".join(near) + ("" if len(unknown) == 1 else f" (for {symbol})"))
    hint = f" Did you mean {'; '.join(guesses)}?" if guesses else ""
    raise StoreError(
        f"the store {store.path} has no symbol {', '.join(unknown)}.{hint} It holds {len(known)} symbols; "
        f"`tapescan info {store.path} --all-symbols` lists them."
    )


def read_ingest_summary(path: Path) -> IngestSummary:
    """The totals of the ingest report at `path`; StoreError if it is not one."""
    try:
        raw = json.loads(path.read_text())
        total = raw["total"]
        return IngestSummary(
            file=str(path),
            vendor=raw["vendor"],
            finished=raw["finished"],
            seconds=float(raw["seconds"]),
            files=int(total["files"]),
            rows_read=int(total["rows_read"]),
            rows_stored=int(total["rows_stored"]),
            rows_rejected=int(total["rows_rejected"]),
            rows_duplicate=int(total["rows_duplicate"]),
            rejected_by_reason={str(k): int(v) for k, v in total["rejected_by_reason"].items()},
            sessions_written=int(raw["sessions_written"]),
            bars_written=int(raw["bars_written"]),
            symbols_added=len(raw["symbols_added"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise StoreError(
            f"{path} is not a readable ingest report ({type(error).__name__}: {error}); move it out of "
            f"{path.parent} (reports are records of past ingests, not store data)."
        ) from error


def _missing_sessions(stored: list[dt.date]) -> list[dt.date]:
    """NYSE sessions from the first to the last of `stored` that `stored` lacks."""
    if not stored:
        return []
    have = set(stored)
    return [day for day in calendar.sessions(stored[0], stored[-1])["date"] if day not in have]


def _calendar_sessions_between(first: pd.Series, last: pd.Series) -> np.ndarray:
    """For each row, the number of NYSE sessions from `first` to `last` inclusive."""
    if first.empty:
        return np.zeros(0, dtype=np.int64)
    days = calendar.sessions(first.min(), last.max())["date"].to_numpy(dtype="datetime64[D]")
    starts = np.searchsorted(days, first.to_numpy(dtype="datetime64[D]"), side="left")
    ends = np.searchsorted(days, last.to_numpy(dtype="datetime64[D]"), side="right")
    return ends - starts


def _counts(column: pd.Series) -> dict[str, int]:
    """How many rows hold each value, most frequent first."""
    return {str(key): int(count) for key, count in column.value_counts().items()}


def _disk_bytes(root: Path) -> dict[str, int]:
    """Bytes of the files under `root`, per top-level folder (loose files under TOP_LEVEL_FILES)."""
    sizes: dict[str, int] = {}
    with os.scandir(root) as entries:
        for entry in entries:
            name = entry.name if entry.is_dir(follow_symlinks=False) else TOP_LEVEL_FILES
            sizes[name] = sizes.get(name, 0) + _tree_bytes(entry)
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def _tree_bytes(entry: os.DirEntry) -> int:
    """Bytes of a file, or of every file below a folder (symbolic links not followed)."""
    try:
        if not entry.is_dir(follow_symlinks=False):
            return entry.stat(follow_symlinks=False).st_size
        with os.scandir(entry.path) as entries:
            return sum(_tree_bytes(child) for child in entries)
    except FileNotFoundError:  # removed meanwhile by a writer (a superseded file, a finished staging folder)
        return 0
