"""A session's stored bars as a scan walks them: the flat columns of its partition, and where each row's bars lie.

The store writes every session's partition sorted by (symbol, ts) (tapescan/store/writer.py), so one symbol's
regular-session bars are one contiguous run of the flat columns. The CPU scan (tapescan/cpu_fallback/scan.py)
walks those runs where they are, in Arrow's own buffers: no dense panel is allocated, emptied and filled for it,
which cost a cold sweep about a fifth of its reading (bench/RESULTS.md). A scan of a :class:`SessionBars` gives
exactly what the scan of the same session's dense panel gives (tests/test_session_bars.py). A partition whose
bars are not sorted so (no tapescan writer makes one) is placed into a dense panel instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from tapescan.cpu_fallback.place import find_runs
from tapescan.store.manifest import Manifest
from tapescan.store.reader import (
    SessionPanel,
    minute_axis,
    panel_from_table,
    panel_rows,
    place_bars,
    read_partition,
    row_positions,
)

#: The value columns a scan reads (the open never).
SCAN_FIELDS = ("high", "low", "close", "volume")


@dataclass(frozen=True)
class SessionBars:
    """One regular session's stored bars for many symbols (the rows), flat: row s's bars, in time order, are
    first[s]:end[s] of the columns (first = end where it has none), minute[i] is bar i's panel minute (as in
    :class:`~tapescan.store.SessionPanel`, whose `date`, `symbols`, `minutes` and `shape` these mean too)."""

    date: dt.date
    symbols: np.ndarray  # str [S]
    minutes: pd.DatetimeIndex  # the regular session's bar starts (ET), length M
    high: np.ndarray | None  # float64 [N], the partition's bars in file order (None: read for the volumes only)
    low: np.ndarray | None
    close: np.ndarray | None
    volume: np.ndarray  # int64 [N]
    minute: np.ndarray  # int64 [N]: 0 .. M-1 for the bars of the rows' runs (other bars: not set)
    first: np.ndarray  # int64 [S]
    end: np.ndarray  # int64 [S]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.symbols), len(self.minutes)

    def to_panel(self) -> SessionPanel:
        """The same bars as a dense panel (without the open), for consumers other than the CPU scan."""
        if self.high is None:
            raise ValueError(f"the bars of {self.date} were read for their volumes only; read them with their prices")
        counts = self.end - self.first
        rows = np.repeat(np.arange(len(counts)), counts)
        bars = self.first[rows] + np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        return place_bars(self.date, self.symbols, self.minutes, rows * self.shape[1] + self.minute[bars],
                          {name: getattr(self, name)[bars] for name in SCAN_FIELDS})


def _whole(table: pa.Table, name: str) -> pa.Array:
    """One column as a single array: Arrow's own buffer when the file read gave one chunk (a whole-file read
    does), else the chunks concatenated."""
    column = table.column(name)
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def read_session_bars(root: Path, manifest: Manifest, day: dt.date, symbols: list[str],
                      volume_only: bool = False) -> SessionBars | SessionPanel:
    """The regular-session bars of `day` for the rows `symbols` (each once), as runs in the partition's flat
    columns, without the prices with `volume_only` (half the decoding, for clock volumes); the dense panel (without
    the open) when the partition is not sorted by (symbol, ts)."""
    fields = ("volume",) if volume_only else SCAN_FIELDS
    table = read_partition(root, manifest, day, symbols, fields)
    minutes = minute_axis(day, False, np.empty(0, np.int64))
    rows = row_positions(np.asarray(symbols, dtype=object))
    ts = _whole(table, "ts").view(pa.int64()).to_numpy()
    minute = np.empty(len(ts), dtype=np.int64)
    first = np.full(len(rows), -1, dtype=np.int64)
    end = np.zeros(len(rows), dtype=np.int64)
    offset = 0
    for chunk in table.column("symbol").chunks:
        names = np.asarray(chunk.dictionary.to_pylist(), dtype=object)
        codes = chunk.indices.to_numpy().astype(np.int32, copy=False)
        if not find_runs(panel_rows(rows, names), codes, ts, offset, minutes[0].value, len(minutes), minute, first,
                         end):
            if volume_only:
                table = read_partition(root, manifest, day, symbols, SCAN_FIELDS)
            return panel_from_table(day, table, symbols, without_open=True)
        offset += len(chunk)
    first[first < 0] = 0
    values = {name: _whole(table, name).to_numpy() if name in fields else None for name in SCAN_FIELDS}
    return SessionBars(day, np.asarray(symbols, dtype=str), minutes, **values, minute=minute, first=first, end=end)
