"""Writing 1-minute bars into the store as one atomic transaction.

The unit of data is one symbol's bars in one session. Writing bars for a (symbol, session) that the store
already holds is a no-op when they are identical, replaces them when `replace=True`, and is refused
otherwise, so a re-run never duplicates and never silently overwrites. A symbol's price adjustment is fixed
by its first write; bars with another adjustment are refused.

A write updates, in one commit: the session partitions it touches, the daily values of those sessions,
and the symbols table (see manifest.py for how the commit is made atomic).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tapescan import calendar
from tapescan.calendar import NS_PER_DAY
from tapescan.errors import StoreConflictError, StoreError
from tapescan.store.daily import group_starts, session_daily_values
from tapescan.store.integrity import read_table, write_parquet
from tapescan.store.lock import writer_lock
from tapescan.store.manifest import FileEntry, Manifest, load_manifest, new_file_name, save_manifest
from tapescan.store.schema import ADJUSTMENTS, BARS_1M, DAILY, ET_NAME, SYMBOLS, conform_input_bars, sort_bars

#: Rows per Parquet row group in bar partitions (measured: docs/STORE.md "Row groups").
BAR_ROW_GROUP_ROWS = 262_144
#: Threads encoding Parquet files while the next session is merged.
FILE_WRITERS = 2
COMPRESSION = "zstd"
#: Rows per row group of the small tables (a month of daily values, the symbols table): one group.
TABLE_ROW_GROUP_ROWS = 1 << 20


@dataclass
class WriteReport:
    """What a write changed."""

    sessions_written: int = 0
    bars_written: int = 0
    bars_unchanged: int = 0
    symbols_added: list[str] = field(default_factory=list)
    symbols_replaced: int = 0


def write_bars(
    root: Path,
    bars: pa.Table | pd.DataFrame | Iterable[pa.Table],
    *,
    adjustment: str,
    source: str,
    replace: bool = False,
    attributes: Mapping[str, Mapping[str, str]] | None = None,
) -> WriteReport:
    """Write 1-minute bars (columns symbol, ts, open, high, low, close, volume) atomically into `root`.

    `bars` is one table, or an iterable of tables consumed one at a time (so that a long write needs the
    memory of one table); either way the whole write is one commit.
    """
    if adjustment not in ADJUSTMENTS:
        raise StoreError(f"adjustment {adjustment!r} is not one of {ADJUSTMENTS}.")
    if isinstance(bars, pd.DataFrame):
        bars = pa.Table.from_pandas(bars, preserve_index=False)
    tables = [bars] if isinstance(bars, pa.Table) else bars
    with writer_lock(root):
        manifest = load_manifest(root)
        remove_orphans(root, manifest)
        transaction = _Transaction(root, manifest, read_symbols(root, manifest))
        report = WriteReport()
        try:
            for table in tables:
                if table.num_rows == 0:
                    continue
                table, session_days = _with_session_days(conform_input_bars(table))
                transaction.check_adjustment(table, adjustment)
                for day, rows in _split_by_session(table, session_days):
                    transaction.write_session(day, rows, replace, report)
            transaction.commit(adjustment, source, attributes or {}, report)
        except BaseException:
            transaction.discard()
            raise
    return report


def _with_session_days(table: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """Add the `extended` flag; return the table and each row's session day (days since 1970-01-01).

    Refuses bars dated on a day that is not an NYSE session, and repeated (symbol, ts) pairs.
    """
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    days = et_days(ts)
    first, last = (dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in (days.min(), days.max()))
    sessions = calendar.session_table(first, last)
    session_days = sessions.index.values.astype("datetime64[D]").astype(np.int64)
    position = np.minimum(np.searchsorted(session_days, days), max(len(session_days) - 1, 0))
    known = session_days[position] == days if len(session_days) else np.zeros(len(days), dtype=bool)
    if not known.all():
        bad = int(np.argmax(~known))
        day = dt.date(1970, 1, 1) + dt.timedelta(days=int(days[bad]))
        raise StoreError(
            f"{int((~known).sum())} bar(s) fall on days that are not NYSE sessions; the first is "
            f"{table.column('symbol')[bad].as_py()} at {table.column('ts')[bad].as_py()} ({day:%A %Y-%m-%d}). "
            "Check the data's date format and time zone."
        )
    opens = sessions["open_ns"].to_numpy()[position]
    closes = sessions["close_ns"].to_numpy()[position]
    extended = (ts < opens) | (ts >= closes)
    return table.append_column("extended", pa.array(extended)), days


def et_days(utc_ns: np.ndarray) -> np.ndarray:
    """The New York calendar day (days since 1970-01-01) of each UTC instant (ns).

    Looked up among the UTC instants of New York midnights over the range, which is much faster than
    converting every instant to local time.
    """
    if len(utc_ns) == 0:
        return np.zeros(0, dtype=np.int64)
    days = np.arange(int(utc_ns.min()) // NS_PER_DAY - 1, int(utc_ns.max()) // NS_PER_DAY + 2, dtype=np.int64)
    local_midnights = pd.DatetimeIndex((days * NS_PER_DAY).astype("datetime64[ns]"))
    midnights = local_midnights.tz_localize(ET_NAME, ambiguous=False, nonexistent="shift_forward").as_unit("ns").asi8
    return days[np.searchsorted(midnights, utc_ns, side="right") - 1]


def _split_by_session(table: pa.Table, days: np.ndarray):
    """Yield (session date, its rows sorted by symbol and ts), refusing duplicate (symbol, ts)."""
    if (np.diff(days) < 0).any():
        order = np.argsort(days, kind="stable")
        table, days = table.take(pa.array(order)), days[order]
    bounds = np.flatnonzero(np.diff(days)) + 1
    for start, end in zip(np.r_[0, bounds], np.r_[bounds, len(days)]):
        rows = sort_bars(table.slice(start, end - start))
        _refuse_duplicates(rows)
        yield dt.date(1970, 1, 1) + dt.timedelta(days=int(days[start])), rows


def _refuse_duplicates(rows: pa.Table) -> None:
    """StoreError when a (symbol, ts) pair occurs twice in symbol/ts-sorted rows."""
    ts = rows.column("ts").cast(pa.int64()).to_numpy()
    same_symbol = np.zeros(len(ts), dtype=bool)
    starts = group_starts(rows.column("symbol"))
    same_symbol[1:] = True
    same_symbol[starts] = False
    repeated = same_symbol[1:] & (ts[1:] == ts[:-1])
    if repeated.any():
        at = int(np.argmax(repeated)) + 1
        raise StoreError(
            f"{int(repeated.sum())} bar(s) repeat a (symbol, ts) pair within one write; the first is "
            f"{rows.column('symbol')[at].as_py()} at {rows.column('ts')[at].as_py()}. Deduplicate first."
        )


def read_symbols(root: Path, manifest: Manifest) -> pd.DataFrame:
    """The symbols table as a DataFrame indexed by symbol (empty when nothing is stored)."""
    if manifest.symbols is None:
        return SYMBOLS.empty_table().to_pandas().set_index("symbol")
    return read_table(root, manifest.symbols).to_pandas().set_index("symbol")


def remove_orphans(root: Path, manifest: Manifest) -> None:
    """Delete data files and temporaries that no committed manifest references (left by a killed writer)."""
    live = manifest.files()
    for table in ("bars_1m", "daily", "symbols"):
        folder = root / table
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if path.is_file() and path.relative_to(root).as_posix() not in live:
                path.unlink()
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()


class _Transaction:
    """The files one write creates, and the table updates it will commit together."""

    def __init__(self, root: Path, manifest: Manifest, symbols: pd.DataFrame) -> None:
        self.root = root
        self.manifest = manifest
        self.generation = manifest.generation + 1
        self.symbols = symbols
        self.created: list[str] = []
        self.files = ThreadPoolExecutor(max_workers=FILE_WRITERS, thread_name_prefix="tapescan-write")
        self.pending: list[Future] = []
        self.superseded: list[str] = []
        self.daily_rows: dict[str, list[pa.Table]] = {}  # month -> new daily rows
        self.daily_dropped: dict[str, list[tuple[dt.date, pa.Array]]] = {}  # month -> (date, symbols) replaced
        self.touched: list[pd.DataFrame] = []  # per session: symbol, day, bars_delta, new_session

    def check_adjustment(self, table: pa.Table, adjustment: str) -> None:
        """Refuse to mix price adjustments for one symbol."""
        incoming = pc.unique(table.column("symbol")).to_pylist()
        stored = self.symbols["adjustment"].reindex(incoming).dropna()
        clash = stored[stored != adjustment]
        if len(clash):
            examples = ", ".join(f"{sym} ({adj})" for sym, adj in clash.head(5).items())
            raise StoreError(
                f"refusing to mix price adjustments: these bars are {adjustment!r} but {len(clash)} symbol(s) "
                f"are stored with another adjustment: {examples}. Use a separate store for differently "
                "adjusted data, or re-ingest the whole symbol with the adjustment it already has."
            )

    def _new_file(self, table_name: str, partition: str | None, table: pa.Table, row_group_rows: int) -> FileEntry:
        """Start writing a new data file in the background (Parquet encoding releases the GIL); the entry gets
        the file's size and digests when the write finishes (before the commit)."""
        entry = FileEntry(file=new_file_name(table_name, partition, self.generation), rows=table.num_rows)
        self.created.append(entry.file)
        self.pending.append(self.files.submit(write_parquet, self.root, entry, table,
                                              row_group_size=row_group_rows, compression=COMPRESSION))
        return entry

    def _finish_files(self) -> None:
        """Wait for every background file write; re-raise the first failure."""
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()

    def write_session(self, day: dt.date, rows: pa.Table, replace: bool, report: WriteReport) -> None:
        """Merge one session's incoming rows with what is stored; write the partition if anything changed."""
        key = day.isoformat()
        old_entry = self.manifest.bars_1m.get(key)
        old = read_table(self.root, old_entry) if old_entry else BARS_1M.empty_table()
        changed, unchanged_rows = _changed_symbols(old, rows, replace, day)
        report.bars_unchanged += unchanged_rows
        if not changed:
            return
        if old.num_rows == 0:  # a new session: everything incoming is new
            incoming = merged = rows
        else:
            changed_array = pa.array(sorted(changed), pa.string())
            incoming = rows.filter(pc.is_in(rows.column("symbol"), changed_array))
            keep_old = old.filter(pc.invert(pc.is_in(old.column("symbol"), changed_array)))
            merged = sort_bars(pa.concat_tables([keep_old, incoming]))
        self.manifest.bars_1m[key] = self._new_file("bars_1m", key, merged, BAR_ROW_GROUP_ROWS)
        if old_entry:
            self.superseded.append(old_entry.file)
        report.sessions_written += 1
        report.bars_written += incoming.num_rows
        self._account(day, old, incoming, changed, report)

    def _account(self, day: dt.date, old: pa.Table, incoming: pa.Table, changed: set[str], report: WriteReport) -> None:
        """Record daily values and symbol statistics for the changed symbols of one session."""
        symbols = sorted(changed)
        before = symbol_counts(old).reindex(symbols, fill_value=0)
        after = symbol_counts(incoming).reindex(symbols, fill_value=0)
        report.symbols_replaced += int((before > 0).sum())
        self.touched.append(pd.DataFrame({
            "symbol": symbols, "day": pd.Timestamp(day), "bars_delta": (after - before).to_numpy(),
            "new_session": (before == 0).to_numpy(),
        }))
        month = day.strftime("%Y-%m")
        self.daily_rows.setdefault(month, []).append(session_daily_values(incoming, day))
        self.daily_dropped.setdefault(month, []).append((day, pa.array(symbols, pa.string())))

    def _commit_daily(self) -> None:
        """Rewrite each touched month of the daily-values table."""
        for month, new_parts in self.daily_rows.items():
            old_entry = self.manifest.daily.get(month)
            old = read_table(self.root, old_entry) if old_entry else DAILY.empty_table()
            dropped = np.zeros(old.num_rows, dtype=bool)
            for day, symbols in self.daily_dropped[month]:
                same_day = pc.equal(old.column("date"), pa.scalar(day, pa.date32()))
                dropped |= pc.and_(same_day, pc.is_in(old.column("symbol"), symbols)).to_numpy(zero_copy_only=False)
            merged = pa.concat_tables([old.filter(pa.array(~dropped)), *new_parts])
            merged = merged.take(pc.sort_indices(merged, sort_keys=[("date", "ascending"), ("symbol", "ascending")]))
            self.manifest.daily[month] = self._new_file("daily", month, merged, TABLE_ROW_GROUP_ROWS)
            if old_entry:
                self.superseded.append(old_entry.file)

    def _commit_symbols(self, adjustment: str, source: str, attributes: Mapping[str, Mapping[str, str]], report: WriteReport) -> None:
        """Apply this write's per-symbol changes to the symbols table and write it."""
        table = self.symbols.copy()
        if self.touched:
            changes = pd.concat(self.touched).groupby("symbol").agg(
                first=("day", "min"), last=("day", "max"), sessions=("new_session", "sum"), bars=("bars_delta", "sum")
            )
            report.symbols_added.extend(changes.index.difference(table.index))
            table = table.reindex(table.index.union(changes.index))
            change = changes.reindex(table.index)
            new = table["adjustment"].isna()
            table["adjustment"] = table["adjustment"].where(~new, adjustment)
            table["source"] = table["source"].where(~new, source)
            table["attributes"] = table["attributes"].where(~new, "{}")
            for column, key, pick in (("first_session", "first", "min"), ("last_session", "last", "max")):
                both = pd.concat([pd.to_datetime(table[column]), change[key]], axis=1)
                table[column] = getattr(both, pick)(axis=1).dt.date
            for column in ("sessions", "bars"):
                table[column] = table[column].fillna(0).astype(np.int64) + change[column].fillna(0).astype(np.int64)
        for symbol, extra in attributes.items():
            if symbol in table.index:
                merged = {**json.loads(table.loc[symbol, "attributes"]), **extra}
                table.loc[symbol, "attributes"] = json.dumps(merged, sort_keys=True)
        table.index.name = "symbol"
        arrow = pa.Table.from_pandas(table.reset_index(), schema=SYMBOLS, preserve_index=False)
        if self.manifest.symbols is not None:
            self.superseded.append(self.manifest.symbols.file)
        self.manifest.symbols = self._new_file("symbols", None, arrow, TABLE_ROW_GROUP_ROWS)

    def commit(self, adjustment: str, source: str, attributes: Mapping[str, Mapping[str, str]], report: WriteReport) -> None:
        """Write daily values and symbols, then swap the manifest; finally drop superseded files."""
        if not self.created and not self._changes_attributes(attributes):
            self.files.shutdown()
            return
        self._commit_daily()
        self._commit_symbols(adjustment, source, attributes, report)
        self._finish_files()
        self.files.shutdown()
        self.manifest.generation = self.generation
        save_manifest(self.root, self.manifest)
        for relative in self.superseded:
            (self.root / relative).unlink(missing_ok=True)
        report.symbols_added.sort()

    def _changes_attributes(self, attributes: Mapping[str, Mapping[str, str]]) -> bool:
        """Whether merging `attributes` into the stored symbols' attributes would change any."""
        for symbol, extra in attributes.items():
            if symbol in self.symbols.index:
                stored = json.loads(self.symbols.loc[symbol, "attributes"])
                if {**stored, **extra} != stored:
                    return True
        return False

    def discard(self) -> None:
        """Remove the files of a transaction that will not be committed."""
        self.files.shutdown(wait=True, cancel_futures=True)
        for relative in self.created:
            (self.root / relative).unlink(missing_ok=True)


def _changed_symbols(old: pa.Table, rows: pa.Table, replace: bool, day: dt.date) -> tuple[set[str], int]:
    """Symbols whose incoming bars differ from the stored ones; and the count of identical incoming rows.

    Raises StoreError on a difference unless `replace`.
    """
    incoming = set(pc.unique(rows.column("symbol")).to_pylist())
    stored = set(pc.unique(old.column("symbol")).to_pylist()) if old.num_rows else set()
    overlap = sorted(incoming & stored)
    if not overlap:
        return incoming, 0
    overlap_array = pa.array(overlap, pa.string())
    old_part = old.filter(pc.is_in(old.column("symbol"), overlap_array))
    new_part = rows.filter(pc.is_in(rows.column("symbol"), overlap_array))
    if old_part.equals(new_part):
        return incoming - stored, new_part.num_rows
    differing = _differing_symbols(old_part, new_part)
    if differing and not replace:
        examples = ", ".join(differing[:5])
        raise StoreConflictError(
            f"the store already holds different bars for {len(differing)} symbol(s) on {day}: {examples}. "
            "Nothing was written. Pass replace=True to Store.write_bars to overwrite them.",
            day, differing,
        )
    same = set(overlap) - set(differing)
    unchanged = int(pc.sum(pc.is_in(new_part.column("symbol"), pa.array(sorted(same), pa.string()))).as_py() or 0)
    return (incoming - stored) | set(differing), unchanged


def _differing_symbols(old_part: pa.Table, new_part: pa.Table) -> list[str]:
    """Symbols whose rows differ between two symbol/ts-sorted tables holding the same symbols."""
    old_slices = _symbol_slices(old_part)
    new_slices = _symbol_slices(new_part)
    return [
        symbol for symbol, (start, length) in new_slices.items()
        if old_slices[symbol][1] != length
        or not old_part.slice(*old_slices[symbol]).equals(new_part.slice(start, length))
    ]


def symbol_counts(table: pa.Table) -> pd.Series:
    """Rows per symbol of a symbol-sorted table."""
    starts = group_starts(table.column("symbol"))
    names = table.column("symbol").take(pa.array(starts)).to_pylist()
    return pd.Series(np.diff(np.append(starts, table.num_rows)), index=names, dtype=np.int64)


def _symbol_slices(table: pa.Table) -> dict[str, tuple[int, int]]:
    """symbol -> (offset, length) of its run in a symbol-sorted table."""
    counts = symbol_counts(table)
    offsets = np.cumsum(counts.to_numpy()) - counts.to_numpy()
    return {name: (int(offset), int(length)) for name, offset, length in zip(counts.index, offsets, counts)}
