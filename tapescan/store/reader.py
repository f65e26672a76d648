"""Reading the store: one session as dense [symbol x minute] arrays, one symbol over a date range, daily values.

Dense layout: every array of a :class:`SessionPanel` is C-ordered [symbol, minute], so one symbol's session
is contiguous (what the CPU kernels, parallel over symbols, want). Minute j of the regular session is the
bar stamped open + j minutes. Absent bars have mask False, NaN prices and volume 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tapescan import calendar
from tapescan.calendar import NS_PER_MINUTE
from tapescan.cpu_fallback.place import place_chunk
from tapescan.errors import StoreError
from tapescan.store.integrity import read_columns, read_files, read_table
from tapescan.store.manifest import FileEntry, Manifest
from tapescan.store.schema import DAILY, ET_NAME, PRICE_FIELDS

#: Extended-hours panels span 04:00-20:00 ET (widened if a stored bar lies outside).
EXTENDED_START = dt.time(4, 0)
EXTENDED_END = dt.time(20, 0)
#: What a panel holds besides the mask: every price and the volume (a read can leave out the open, which no scan
#: needs: one column less to decode).
PANEL_FIELDS = (*PRICE_FIELDS, "volume")
#: Read only the wanted symbols' row groups when they are fewer than this share of the session.
SUBSET_FILTER_SHARE = 0.125


@dataclass(frozen=True)
class SessionPanel:
    """One session of 1-minute bars for many symbols, as dense arrays [symbol x minute]."""

    date: dt.date
    symbols: np.ndarray  # str, shape [S]
    minutes: pd.DatetimeIndex  # bar starts (ET), length M
    open: np.ndarray | None  # float64 [S, M], NaN where absent; None when the read left it out (`without_open`)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # int64 [S, M], 0 where absent
    mask: np.ndarray  # bool [S, M], True where a bar exists

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape

    def rows(self, indices: list[int]) -> SessionPanel:
        """The panel of the symbols at `indices` (copies of their rows)."""
        return SessionPanel(self.date, self.symbols[indices], self.minutes,
                            None if self.open is None else self.open[indices], self.high[indices],
                            self.low[indices], self.close[indices], self.volume[indices], self.mask[indices])


def empty_arrays(shape: tuple[int, int], without_open: bool = False) -> dict[str, np.ndarray]:
    """New arrays of an empty panel by name: NaN prices (no open with `without_open`), volume 0, mask False."""
    arrays = {name: np.full(shape, np.nan) for name in PRICE_FIELDS if not (without_open and name == "open")}
    return {**arrays, "volume": np.zeros(shape, dtype=np.int64), "mask": np.zeros(shape, dtype=bool)}


def session_entry(manifest: Manifest, day: dt.date) -> FileEntry:
    """The manifest entry of one session's partition; StoreError naming what is stored when there is none."""
    entry = manifest.bars_1m.get(day.isoformat())
    if entry is None:
        stored = sorted(manifest.bars_1m)
        span = f"{stored[0]} to {stored[-1]}" if stored else "nothing yet"
        raise StoreError(f"the store holds no bars for the session {day} (it holds {span}).")
    return entry


@dataclass(frozen=True)
class SessionColumns:
    """One session's stored bars as flat columns, before they are placed into a panel.

    `codes` index `names` (the file's symbol dictionary); `lookup[code]` is the bar's panel row (-1: not
    wanted). A bar belongs in the panel when its row is >= 0 and its minute column ``(ts - minutes[0]) // 1
    minute`` lies inside the panel.
    """

    day: dt.date
    row_names: np.ndarray  # object [S]: the panel's symbols, in row order
    minutes: pd.DatetimeIndex  # the panel's bar starts (ET)
    lookup: np.ndarray  # int32 [len(names)]: panel row of each dictionary code, -1 if not wanted
    codes: np.ndarray  # int32 [N]
    ts: np.ndarray  # int64 [N], ns since the epoch
    table: pa.Table  # the rows as read: open, high, low, close, volume

    def column(self, name: str) -> np.ndarray:
        """One value column (open, high, low, close or volume) as a numpy array."""
        return self.table.column(name).to_numpy()


@dataclass(frozen=True)
class _Chunk:
    """One Arrow chunk of a session table (the whole file when read unfiltered, a row group or so when read with
    a symbol filter): zero-copy numpy views of its columns."""

    names: np.ndarray  # object: this chunk's symbol dictionary
    codes: np.ndarray  # int32 indices into `names`
    ts: np.ndarray  # int64 ns since the epoch
    values: tuple[np.ndarray | None, ...]  # open (None when not read), high, low, close (float64), volume (int64)


def _chunks(table: pa.Table) -> list[_Chunk]:
    """The table's chunks as numpy views, without concatenating them (a session is a few row groups)."""
    out = []
    for batch in table.to_batches():
        symbol = batch.column("symbol")
        values = tuple(batch.column(name).to_numpy() if name in batch.schema.names else None for name in PANEL_FIELDS)
        out.append(_Chunk(np.asarray(symbol.dictionary.to_pylist(), dtype=object),
                          symbol.indices.to_numpy().astype(np.int32, copy=False),
                          batch.column("ts").view(pa.int64()).to_numpy(), values))
    return out


def read_partition(root: Path, manifest: Manifest, day: dt.date, symbols: list[str] | None,
                   fields: tuple[str, ...] = PANEL_FIELDS) -> pa.Table:
    """The session's partition file: symbol, ts and the value columns `fields` (only the wanted symbols' row
    groups when few)."""
    entry = session_entry(manifest, day)
    filters = None
    if symbols:  # an empty list reads no rows' worth of filter (pyarrow refuses `in []`): the panel has no rows
        if len(symbols) * calendar.REGULAR_MINUTES < SUBSET_FILTER_SHARE * entry.rows:
            filters = [("symbol", "in", list(symbols))]
    columns = ["symbol", "ts", *fields]
    if filters is None:
        return read_columns(root, entry, columns, read_dictionary=["symbol"])
    return read_table(root, entry, columns=columns, filters=filters, read_dictionary=["symbol"])


def _row_names(chunks: list[_Chunk], minutes: pd.DatetimeIndex, symbols: list[str] | None) -> np.ndarray:
    """The panel's rows: `symbols` in order, or every symbol with a bar inside `minutes`, sorted."""
    if symbols is not None:
        return np.asarray(list(symbols), dtype=object)
    start, end = minutes[0].value, minutes[-1].value + NS_PER_MINUTE
    used = []
    for chunk in chunks:
        present = np.zeros(len(chunk.names), dtype=bool)
        present[chunk.codes[(chunk.ts >= start) & (chunk.ts < end)]] = True  # O(bars); np.unique sorts them
        used.append(chunk.names[present])
    return np.unique(np.concatenate(used)) if used else np.asarray([], dtype=object)


def read_session_columns(
    root: Path,
    manifest: Manifest,
    day: dt.date,
    symbols: list[str] | None = None,
    extended_hours: bool = False,
) -> SessionColumns:
    """The bars of one session as flat columns, with each wanted bar's panel row: what tapescan.gpu.panels
    places on the device."""
    table = read_partition(root, manifest, day, symbols)
    dictionary = table.column("symbol").combine_chunks()
    names = np.asarray(dictionary.dictionary.to_pylist(), dtype=object)
    codes = dictionary.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    minutes = minute_axis(day, extended_hours, ts)
    row_names = _row_names([_Chunk(names, codes, ts, ())], minutes, symbols)
    lookup = panel_rows(row_positions(row_names), names)
    return SessionColumns(day, row_names, minutes, lookup, codes, ts, table)


def read_session(
    root: Path,
    manifest: Manifest,
    day: dt.date,
    symbols: list[str] | None = None,
    extended_hours: bool = False,
    without_open: bool = False,
) -> SessionPanel:
    """Dense arrays of one session; rows follow `symbols` (all stored symbols, sorted, when None); `open` None
    with `without_open`. The Parquet columns are placed chunk by chunk from Arrow's own buffers (no intermediate
    copies)."""
    table = read_partition(root, manifest, day, symbols, PANEL_FIELDS[1:] if without_open else PANEL_FIELDS)
    return panel_from_table(day, table, symbols, extended_hours, without_open)


def panel_from_table(day: dt.date, table: pa.Table, symbols: list[str] | None, extended_hours: bool = False,
                     without_open: bool = False) -> SessionPanel:
    """The panel of `day` from its partition's columns as `read_partition` returns them (see `read_session`)."""
    chunks = _chunks(table)
    stamps = [chunk.ts for chunk in chunks] if extended_hours else []  # the regular axis needs none of them
    minutes = minute_axis(day, extended_hours, np.concatenate(stamps) if stamps else np.empty(0, np.int64))
    row_names = _row_names(chunks, minutes, symbols)
    shape = (len(row_names), len(minutes))
    out = empty_arrays(shape, without_open)
    rows = row_positions(row_names)
    for chunk in chunks:
        place_chunk(panel_rows(rows, chunk.names), chunk.codes, chunk.ts, minutes[0].value, *chunk.values,
                    *(out.get(name) for name in PANEL_FIELDS), out["mask"])
    return SessionPanel(date=day, symbols=row_names.astype(str), minutes=minutes,
                        **{name: out.get(name) for name in (*PANEL_FIELDS, "mask")})


def check_distinct(symbols: list[str] | np.ndarray | None) -> None:
    """StoreError naming a symbol that `symbols` (the rows asked for) lists more than once."""
    if symbols is not None and len(set(symbols)) != len(symbols):
        twice = pd.Index(symbols)[pd.Index(symbols).duplicated()][0]
        raise StoreError(f"the symbols to read name {twice} more than once; list each symbol once.")


def row_positions(row_names: np.ndarray) -> dict[str, int]:
    """Each panel row's symbol -> its row (StoreError when a symbol is a row twice)."""
    rows = {name: row for row, name in enumerate(row_names)}
    if len(rows) != len(row_names):
        check_distinct(row_names)
    return rows


def panel_rows(rows: dict[str, int], names: np.ndarray) -> np.ndarray:
    """The panel row of each of `names` (a chunk's symbol dictionary), -1 for a symbol that is not a row. A dict
    lookup per name: pandas' get_indexer builds a hash table of the rows for every chunk (2.7 -> 0.4 ms a
    2,000-symbol session)."""
    return np.fromiter((rows.get(name, -1) for name in names), dtype=np.int32, count=len(names))


def place_bars(day: dt.date, row_names: np.ndarray, steps: pd.DatetimeIndex, flat: np.ndarray,
               values: dict[str, np.ndarray]) -> SessionPanel:
    """A panel [symbol x step] with bar i of `values` (open, high, low, close, volume; the panel's open is None
    when `values` has none) in the cell at flat position `flat[i]` (row * steps + step); every other cell absent."""
    arrays = empty_arrays((len(row_names), len(steps)), without_open="open" not in values)
    for name, array in arrays.items():
        array.ravel()[flat] = True if name == "mask" else values[name]
    return SessionPanel(date=day, symbols=row_names, minutes=steps, open=arrays.pop("open", None), **arrays)


def minute_axis(day: dt.date, extended_hours: bool, ts: np.ndarray) -> pd.DatetimeIndex:
    """Bar starts of the panel: the regular session, or 04:00-20:00 ET widened to cover every bar in `ts`."""
    start, end = calendar.session_bounds(day)
    if extended_hours:
        start = pd.Timestamp(dt.datetime.combine(day, EXTENDED_START), tz=ET_NAME)
        end = pd.Timestamp(dt.datetime.combine(day, EXTENDED_END), tz=ET_NAME)
        if len(ts):
            start = min(start, pd.Timestamp(int(ts.min()), tz=ET_NAME))
            end = max(end, pd.Timestamp(int(ts.max()) + NS_PER_MINUTE, tz=ET_NAME))
    return pd.date_range(start, end, freq="1min", inclusive="left")


def read_bars(
    root: Path,
    manifest: Manifest,
    symbol: str,
    start: dt.date,
    end: dt.date,
    extended_hours: bool = False,
) -> pd.DataFrame:
    """Bars of one symbol over [start, end]: columns ts, open, high, low, close, volume (and `extended`)."""
    keys = [key for key in sorted(manifest.bars_1m) if start.isoformat() <= key <= end.isoformat()]
    entries = [manifest.bars_1m[key] for key in keys]
    columns = ["ts", *PRICE_FIELDS, "volume"] + (["extended"] if extended_hours else [])
    if not entries:
        return pd.DataFrame({name: [] for name in columns})
    condition = pc.field("symbol") == symbol
    if not extended_hours:
        condition = condition & ~pc.field("extended")
    table = read_files(root, entries, columns=columns, filter=condition)
    table = table.sort_by("ts")
    return table.to_pandas()


def read_daily(
    root: Path,
    manifest: Manifest,
    start: dt.date,
    end: dt.date,
    symbols: list[str] | None = None,
) -> pd.DataFrame:
    """Daily values over [start, end]: date, symbol, open, high, low, close, volume, vwap, bars."""
    months = [m for m in sorted(manifest.daily) if start.strftime("%Y-%m") <= m <= end.strftime("%Y-%m")]
    entries = [manifest.daily[m] for m in months]
    if not entries:
        return DAILY.empty_table().to_pandas()
    condition = (pc.field("date") >= pa.scalar(start, pa.date32())) & (pc.field("date") <= pa.scalar(end, pa.date32()))
    if symbols is not None:
        condition = condition & pc.field("symbol").isin(list(symbols))
    table = read_files(root, entries, filter=condition)
    table = table.sort_by([("date", "ascending"), ("symbol", "ascending")])
    return table.to_pandas()
