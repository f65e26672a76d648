"""The snapshot CSV: one file per session, one row per clock advance (docs/spec/interfaces.md "Replay config and
snapshot CSV"; the columns are listed in docs/REPLAY.md).

Times are ISO 8601 with their ET offset; queue and session_data times are event times (when an item is
delivered), first/last/pending bar times are bar stamps (starts). Empty cells mean "none". The file is
written aside and renamed into place when the session ends, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import csv
import functools
from pathlib import Path

import numpy as np
import pandas as pd

from tapescan import calendar
from tapescan.fsio import atomic_path, disk_full_named
from tapescan.stream.config import ReplayConfig, Roster
from tapescan.stream.queues import NONE, InputQueue
from tapescan.stream.session_data import SessionData


@functools.lru_cache(maxsize=65536)
def iso(ns: int) -> str:
    """ns since the epoch as ISO 8601 in ET with offset; '' for NONE."""
    if ns == NONE:
        return ""
    text = pd.Timestamp(ns, tz="UTC").tz_convert(calendar.ET).isoformat()
    return text


def _number(value: float) -> str:
    return "" if np.isnan(value) else repr(float(value))


def session_types(config: ReplayConfig, roster: Roster, symbol: str) -> list[str]:
    """Data types session_data holds for `symbol`: its input streams and the derived intervals."""
    return [*roster.streams[symbol], *(f"{k}m" for k in config.derived_intervals)]


def header(config: ReplayConfig, roster: Roster) -> list[str]:
    """The columns of a session's file: the symbols streamed when the session started, in row order."""
    columns = ["timestamp", "system_state", "system_mode", "session_date", "session_time", "session_active",
               "session_ended", "active_symbols"]
    for s in roster.symbols:
        columns += [f"{s}_volume", f"{s}_high", f"{s}_low", f"{s}_1m_bars",
                    *(f"{s}_{k}m_bars" for k in config.derived_intervals),
                    f"{s}_bar_quality", f"{s}_bars_updated", f"{s}_first_bar_ts", f"{s}_last_bar_ts",
                    f"{s}_pending_bar_ts"]
    for s in roster.symbols:
        for kind in roster.streams[s]:
            columns += [f"{s}_queue_{kind}_size", f"{s}_queue_{kind}_oldest", f"{s}_queue_{kind}_newest"]
    for s in roster.symbols:
        columns += [f"{s}_{kind}_session_newest_ts" for kind in session_types(config, roster, s)]
    return columns


class SnapshotWriter:
    """Writes one CSV per session into a folder, a row per call of `row`."""

    def __init__(self, folder: Path, config: ReplayConfig) -> None:
        self.folder, self.config = folder, config
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stack: contextlib.ExitStack | None = None
        self._writer = None

    def open(self, data: SessionData, roster: Roster) -> None:
        """Start the session's file; its columns are `roster`'s symbols (one added later joins the next file)."""
        self.close()
        self.roster = roster.copy()
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.folder / f"{data.date.isoformat()}.csv"))
        handle = self._stack.enter_context(open(tmp, "w", encoding="utf-8", newline=""))
        self._writer = csv.writer(handle)
        self._write(header(self.config, self.roster))

    def _write(self, cells: list) -> None:
        """One CSV row; a full disk is named (the run then stops and abandon() drops this session's file)."""
        with disk_full_named(self.folder, "this session's snapshot was dropped and the older ones are as they were "
                                          "(nothing half-written is left)."):
            self._writer.writerow(cells)

    def close(self) -> None:
        """Finish the current file (it appears under its final name)."""
        if self._stack is not None:
            self._stack.close()
            self._stack, self._writer = None, None

    def abandon(self) -> None:
        """Drop the current file (the run failed): no half-written snapshot is left behind."""
        if self._stack is not None:
            with contextlib.suppress(RuntimeError, OSError):  # OSError: closing the file on a full disk
                self._stack.__exit__(RuntimeError, RuntimeError("run failed"), None)
            self._stack, self._writer = None, None

    def row(self, clock: int, state: str, mode: str, data: SessionData, queues: dict[str, InputQueue]) -> None:
        config, roster = self.config, self.roster
        symbols = roster.symbols
        local = pd.Timestamp(clock, tz="UTC").tz_convert(calendar.ET)
        active = not data.session_ended and data.start.value <= clock <= data.end.value
        cells = [iso(clock), state, mode, data.date.isoformat(), local.strftime("%H:%M:%S"), active,
                 data.session_ended, len(data.symbols)]
        quality = data.bar_quality(clock)
        first, last = data.first_last_bar()
        minute_bars = data.mask.sum(axis=1)
        derived = {k: data.derived[k].count() for k in config.derived_intervals}
        smallest = min(config.derived_intervals) if config.derived_intervals else None
        pending = data.pending_bucket_start(smallest, clock) if smallest else np.full(len(symbols), NONE)
        updated = data.updated.get("1m", np.zeros(len(symbols), dtype=bool))
        for i in range(len(symbols)):
            volume = "" if not data.mask[i].any() else int(data.session_volume[i])
            cells += [volume, _number(data.session_high[i]), _number(data.session_low[i]), int(minute_bars[i]),
                      *(int(derived[k][i]) for k in config.derived_intervals), f"{quality[i]:.2f}",
                      bool(updated[i]), iso(int(first[i])), iso(int(last[i])), iso(int(pending[i]))]
        stats = {kind: q.per_symbol() for kind, q in queues.items()}
        for i, s in enumerate(symbols):
            for kind in roster.streams[s]:
                size, oldest, newest = stats[kind] if kind in stats else (np.zeros(len(symbols), int),) + (
                    np.full(len(symbols), NONE),) * 2
                cells += [int(size[i]), iso(int(oldest[i])), iso(int(newest[i]))]
        for i, s in enumerate(symbols):
            for kind in session_types(config, roster, s):
                newest = data.newest.get(kind)
                cells.append("" if newest is None else iso(int(newest[i])))
        self._write(cells)
