"""`verify_store`: every file of a store against its manifest, and (deep) the derived tables against the bars.

Quick (a stat and two small reads per file): each file exists inside the store as a regular file with the
size and Parquet footer the manifest records, and the symbols table's bar count matches the manifest's.
Deep, in addition: each file's whole-content sha256, a full read verifying every page checksum, the daily
values recomputed from each session's bars, and the symbols table's sessions, bars and first/last session
recomputed from the bars. Damage is listed per file with the sessions it affects and what to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tapescan.errors import StoreDamagedError
from tapescan.store.daily import session_daily_values
from tapescan.store.integrity import check_content, checked_path, read_table
from tapescan.store.manifest import FileEntry, Manifest, load_manifest
from tapescan.store.writer import symbol_counts

#: Where `tapescan verify --repair` moves damaged files (their paths within the store kept).
DAMAGED_FOLDER = "damaged"


@dataclass(frozen=True)
class Damage:
    """One thing wrong with one store file."""

    file: str  # relative to the store
    table: str  # bars_1m, daily or symbols
    key: str | None  # the session (bars_1m), month (daily) or date (daily values that disagree) it concerns
    problem: str


@dataclass
class VerifyReport:
    """What `verify_store` checked and found."""

    root: Path
    deep: bool
    files: int = 0
    unrecorded: int = 0  # entries of schema version 1 manifests: no size or digests to check against
    damage: list[Damage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damage

    def affected(self) -> list[str]:
        """The sessions (bar partitions, daily values) and months (daily files) the damage concerns."""
        return sorted({d.key for d in self.damage if d.key})

    def advice(self) -> str:
        """What to do about the damage found (empty when there is none)."""
        if self.ok:
            return ""
        files = ", ".join(sorted({d.file for d in self.damage}))
        affected = ", ".join(self.affected()) or "the symbols table"
        return (
            f"Affected: {affected}. First run `tapescan verify {self.root} --repair`: it moves the damaged files "
            f"into {self.root / DAMAGED_FOLDER}, drops the damaged sessions, rewrites the daily values and the "
            "symbols table from the healthy bars, and names the sessions to re-ingest (a damaged symbols table "
            f"cannot be repaired: restore it from a backup). Otherwise restore {files} from a backup of "
            f"{self.root} (a copy of the same files), or rebuild the store from the vendor files into a new "
            "folder: `tapescan ingest VENDOR FILES --store NEW_STORE` (for a synthetic store, `tapescan synth "
            "NEW_STORE` with its original arguments). tapescan never merges new bars into a damaged file, so "
            "ingesting into this store fails until then."
        )


def verify_store(root: Path, deep: bool = False) -> VerifyReport:
    """Check every file `root`'s manifest lists (StoreDamagedError if the manifest itself is damaged)."""
    manifest = load_manifest(root)
    report = VerifyReport(root=root, deep=deep)
    entries = [(table, key, entry) for table in ("bars_1m", "daily")
               for key, entry in sorted(getattr(manifest, table).items())]
    entries += [("symbols", None, manifest.symbols)] if manifest.symbols else []
    healthy = {}
    for table, key, entry in entries:
        report.files += 1
        report.unrecorded += entry.size is None
        problem = file_problem(root, entry, deep)
        if problem:
            report.damage.append(Damage(entry.file, table, key, problem))
        else:
            healthy[entry.file] = entry
    if manifest.symbols is not None and manifest.symbols.file in healthy:
        symbols = read_table(root, manifest.symbols).to_pandas().set_index("symbol")
        _check_symbols(manifest, symbols, report, deep and all(e.file in healthy for e in manifest.bars_1m.values()))
    if deep:
        _check_daily(root, manifest, healthy, report)
    return report


def file_problem(root: Path, entry: FileEntry, deep: bool) -> str | None:
    """What is wrong with one file, or None."""
    try:
        checked_path(root, entry)
        if deep:
            check_content(root, entry)
            read_table(root, entry)
    except StoreDamagedError as error:
        return error.problem
    return None


def _check_symbols(manifest: Manifest, symbols: pd.DataFrame, report: VerifyReport, recount: bool) -> None:
    """The symbols table's bar total against the manifest; with `recount`, every symbol against the bars."""
    stored = int(symbols["bars"].sum())
    listed = sum(entry.rows for entry in manifest.bars_1m.values())
    file = manifest.symbols.file
    if stored != listed:
        report.damage.append(Damage(file, "symbols", None, f"it counts {stored:,} bars, the manifest {listed:,}"))
    if not recount:
        return
    recounted = recount_symbols(report.root, manifest)
    columns = list(recounted.columns)
    kept = symbols[columns].astype({"first_session": str, "last_session": str})
    every = kept.index.union(recounted.index)
    differ = every[(kept.reindex(every) != recounted[columns].reindex(every)).any(axis=1)].tolist()
    if differ:
        report.damage.append(Damage(file, "symbols", None, f"{len(differ)} symbol(s) disagree with the bars: "
                                                            f"{', '.join(differ[:5])}"))


def recount_symbols(root: Path, manifest: Manifest) -> pd.DataFrame:
    """Each symbol's sessions, bars and first and last session (ISO strings) counted from the bar partitions the
    manifest lists, indexed by symbol: what the symbols table must say (verify --deep compares, repair writes)."""
    counts = [symbol_counts(read_table(root, entry, columns=["symbol"])).rename_axis("symbol")
              .reset_index(name="bars").assign(day=key) for key, entry in manifest.bars_1m.items()]
    if not counts:
        return pd.DataFrame(columns=["sessions", "bars", "first_session", "last_session"]).rename_axis("symbol")
    return pd.concat(counts).groupby("symbol").agg(
        sessions=("day", "size"), bars=("bars", "sum"), first_session=("day", "min"), last_session=("day", "max")
    )


def _same_daily(stored: pd.DataFrame, expected: pd.DataFrame) -> bool:
    """Stored daily values equal to those recomputed, vwap to a relative 1e-12: stores written before the daily
    values came from the kernel (a plain left-to-right sum) hold numpy's pairwise sum, a few ulps away."""
    exact = [name for name in expected.columns if name != "vwap"]
    return stored[exact].equals(expected[exact]) and bool(np.allclose(
        stored["vwap"], expected["vwap"], rtol=1e-12, atol=0, equal_nan=True))


def _check_daily(root: Path, manifest: Manifest, healthy: dict[str, FileEntry], report: VerifyReport) -> None:
    """Each session's stored daily values against those recomputed from its bars."""
    months: dict[str, pd.DataFrame] = {}
    for key, entry in sorted(manifest.bars_1m.items()):
        month = manifest.daily.get(key[:7])
        if entry.file not in healthy or (month is not None and month.file not in healthy):
            continue
        day = dt.date.fromisoformat(key)
        expected = session_daily_values(read_table(root, entry), day).to_pandas()
        if month is None:
            stored = expected.iloc[:0]
        else:
            if month.file not in months:
                months[month.file] = read_table(root, month).to_pandas()
            frame = months[month.file]
            stored = frame[frame["date"] == day]
        if not _same_daily(stored.reset_index(drop=True), expected):
            report.damage.append(Damage(month.file if month else f"daily/month={key[:7]}", "daily", key,
                                        f"the daily values of {key} differ from those recomputed from its bars"))
