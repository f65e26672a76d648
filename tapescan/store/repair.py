"""`repair_store`: make a damaged store sound again without rebuilding it, losing no byte of data.

Under the writer lock, after a deep check, one new manifest generation is committed that drops every damaged
or missing session partition, rewrites the daily values of each month that lost a session or whose daily
file is damaged (recomputed from that month's healthy partitions, by the writer's `session_daily_values`),
and rewrites the symbols table's counts from the remaining bars (each symbol's adjustment, source and
attributes kept; a symbol left without bars leaves the table and is reported). Damaged files are moved, never
deleted, into `STORE/damaged/` under their own relative path, before the commit: a repair killed at any point
leaves either the old manifest (now naming missing files: repair again) or the repaired one, and never an
orphan that the next writer would delete. The dropped sessions can then be re-ingested into the same store.

A damaged symbols table is refused: the metadata it holds cannot be derived from the bars.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tapescan.errors import StoreError
from tapescan.store.daily import session_daily_values
from tapescan.store.integrity import read_table, write_parquet
from tapescan.store.lock import writer_lock
from tapescan.store.manifest import FileEntry, Manifest, load_manifest, new_file_name, save_manifest
from tapescan.store.schema import SYMBOLS
from tapescan.store.verify import DAMAGED_FOLDER, VerifyReport, file_problem, recount_symbols, verify_store
from tapescan.store.writer import COMPRESSION, TABLE_ROW_GROUP_ROWS, read_symbols


@dataclass
class RepairReport:
    """What `repair_store` found, dropped, moved and rewrote."""

    root: Path
    before: VerifyReport
    after: VerifyReport
    dropped: dict[str, list[str]] = field(default_factory=dict)  # session -> its symbols (from its daily values)
    moved: list[str] = field(default_factory=list)  # files moved into damaged/, relative to the store
    daily_rewritten: list[str] = field(default_factory=list)  # months (removed when no session is left)
    symbols_rewritten: bool = False
    symbols_removed: list[str] = field(default_factory=list)  # symbols left without bars

    @property
    def ok(self) -> bool:
        return self.after.ok

    def reingest(self) -> str:
        """What to run to get the dropped sessions back (empty when none was dropped)."""
        if not self.dropped:
            return ""
        return (
            f"re-ingest {', '.join(self.dropped)} with `tapescan ingest VENDOR FILES --store {self.root}` (the vendor "
            "files that hold those sessions: only the missing sessions are written, the others are no-ops); for a "
            f"synthetic store, `tapescan synth {self.root}` with its original arguments."
        )


def repair_store(root: Path) -> RepairReport:
    """Repair `root` in one commit (see the module docstring); StoreError, with nothing changed, when the
    symbols table is damaged."""
    with writer_lock(root):
        before = verify_store(root, deep=True)
        if before.ok:
            return RepairReport(root, before, before)
        manifest = load_manifest(root)
        symbols = _intact_symbols(root, manifest)
        report = RepairReport(root, before, before)
        damaged = {d.file for d in before.damage} & manifest.files()
        _commit(root, manifest, symbols, damaged, report)
    report.after = verify_store(root)
    return report


def _intact_symbols(root: Path, manifest: Manifest) -> pd.DataFrame:
    """The symbols table, refusing the repair when its file is damaged (its metadata cannot be recomputed)."""
    entry = manifest.symbols
    problem = file_problem(root, entry, deep=True) if entry is not None else None
    if problem:
        raise StoreError(
            f"cannot repair {root}: its symbols table {root / entry.file} is damaged ({problem}), and the symbols' "
            "adjustment, source and attributes cannot be recomputed from the bars. Restore that file from a backup "
            f"of the store, then run `tapescan verify {root} --repair` again if other files are damaged. Nothing "
            "was changed."
        )
    return read_symbols(root, manifest)


def _commit(root: Path, manifest: Manifest, symbols: pd.DataFrame, damaged: set[str], report: RepairReport) -> None:
    """Write the repaired tables, move the damaged files aside, commit the manifest, drop what it superseded."""
    generation = manifest.generation + 1
    dropped = sorted(d.key for d in report.before.damage if d.table == "bars_1m")
    months = sorted({key[:7] for key in dropped} | {d.key[:7] for d in report.before.damage if d.table == "daily"})
    report.dropped = {key: _session_symbols(root, manifest, key, damaged) for key in dropped}
    superseded = [manifest.bars_1m.pop(key).file for key in dropped]
    created: list[str] = []
    try:
        for month in months:
            superseded += _rewrite_daily(root, manifest, month, generation, created)
        report.daily_rewritten = months
        if manifest.symbols is not None and (dropped or manifest.symbols.file in damaged):
            superseded.append(manifest.symbols.file)
            manifest.symbols, report.symbols_removed = _recounted_symbols(root, manifest, symbols, generation, created)
            report.symbols_rewritten = True
        report.moved = [relative for relative in sorted(damaged) if _move_aside(root, relative)]
    except BaseException:
        for relative in created:
            (root / relative).unlink(missing_ok=True)
        raise
    manifest.generation = generation
    save_manifest(root, manifest)
    for relative in set(superseded) - damaged:
        (root / relative).unlink(missing_ok=True)


def _session_symbols(root: Path, manifest: Manifest, key: str, damaged: set[str]) -> list[str]:
    """The symbols of session `key` according to its month's daily values; empty when those are damaged too."""
    month = manifest.daily.get(key[:7])
    if month is None or month.file in damaged:
        return []
    values = read_table(root, month, columns=["date", "symbol"])
    same_day = pc.equal(values.column("date"), pa.scalar(dt.date.fromisoformat(key), pa.date32()))
    return values.filter(same_day).column("symbol").to_pylist()


def _write(root: Path, table_name: str, partition: str | None, table: pa.Table, generation: int,
           created: list[str]) -> FileEntry:
    """Write one new daily or symbols file the way the writer does (atomic, page checksums, size and digests)."""
    entry = FileEntry(file=new_file_name(table_name, partition, generation), rows=table.num_rows)
    created.append(entry.file)
    write_parquet(root, entry, table, row_group_size=TABLE_ROW_GROUP_ROWS, compression=COMPRESSION)
    return entry


def _rewrite_daily(root: Path, manifest: Manifest, month: str, generation: int, created: list[str]) -> list[str]:
    """Recompute `month`'s daily values from its remaining sessions' bars and write them (or drop the month when
    no session is left); return the superseded file."""
    old = manifest.daily.pop(month, None)
    parts = [session_daily_values(read_table(root, entry), dt.date.fromisoformat(key))
             for key, entry in sorted(manifest.bars_1m.items()) if key.startswith(month)]
    if parts:
        manifest.daily[month] = _write(root, "daily", month, pa.concat_tables(parts), generation, created)
    return [old.file] if old else []


def _recounted_symbols(root: Path, manifest: Manifest, symbols: pd.DataFrame, generation: int,
                       created: list[str]) -> tuple[FileEntry, list[str]]:
    """The symbols table with the counts of the remaining bars and each symbol's stored metadata; symbols with no
    bar left are removed (and returned). StoreError if bars belong to a symbol the table lacks."""
    counts = recount_symbols(root, manifest)
    unknown = counts.index.difference(symbols.index)
    if len(unknown):
        raise StoreError(f"cannot repair {root}: the symbols table lacks {', '.join(unknown[:5])}, which have bars; "
                         "restore the symbols table from a backup of the store. Nothing was changed.")
    table = symbols.loc[symbols.index.isin(counts.index)].copy()
    table["sessions"] = counts["sessions"].astype("int64")
    table["bars"] = counts["bars"].astype("int64")
    for column in ("first_session", "last_session"):
        table[column] = pd.to_datetime(counts[column]).dt.date
    arrow = pa.Table.from_pandas(table.reset_index(), schema=SYMBOLS, preserve_index=False)
    entry = _write(root, "symbols", None, arrow, generation, created)
    return entry, sorted(symbols.index.difference(table.index))


def _move_aside(root: Path, relative: str) -> bool:
    """Move a damaged file into STORE/damaged/ under its own relative path; False when it is missing."""
    source = root / relative
    if not os.path.lexists(source):
        return False
    target = root / DAMAGED_FOLDER / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(source, target)
    return True
