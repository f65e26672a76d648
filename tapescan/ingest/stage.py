"""Phase 1 of an ingest: read, parse and check a group of files, and spill the good rows by session.

Vendor files hold one symbol over years; the store holds one session of all symbols per partition. The
transpose is an external shuffle: each task parses its files block by block and, whenever its buffer
reaches a row budget, writes the rows to Arrow IPC files in the staging folder, one file per month and one
record batch per session. Phase 2 (merge.py) then reads each session's batches from all files. Memory
stays at one buffer per worker whatever the bundle's size; the staging folder needs about as much disk as
the bundle's binary size (lz4-compressed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tapescan.fsio import disk_full_named
from tapescan.ingest.blocks import iter_blocks
from tapescan.ingest.parse import ParsedBlock, parse_block, parse_table
from tapescan.ingest.report import SourceCounts
from tapescan.ingest.sources import Source
from tapescan.ingest.validate import NOT_QUARANTINED, REASONS, classify
from tapescan.ingest.vendors import FileInfo

STAGED = pa.schema([
    ("symbol", pa.dictionary(pa.int32(), pa.string())),
    ("ts", pa.int64()),  # UTC nanoseconds
    ("open", pa.float64()),
    ("high", pa.float64()),
    ("low", pa.float64()),
    ("close", pa.float64()),
    ("volume", pa.int64()),
    ("source", pa.int32()),
    ("line", pa.int64()),
])
QUARANTINED = pa.schema([("source", pa.int32()), ("line", pa.int64()), ("reason", pa.string()), ("raw", pa.string())])
IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")
PARQUET_BATCH_ROWS = 1 << 20
_EPOCH = dt.date(1970, 1, 1)


def staged_date(day: int) -> dt.date:
    """The session of a staged day number (days since 1970, as StagedFile.days holds them)."""
    return _EPOCH + dt.timedelta(days=day)


@dataclass(frozen=True)
class StageTask:
    """Files for one worker task: (source id, source, what it holds), and where to spill."""

    task_id: int
    files: list[tuple[int, Source, FileInfo]]
    staging: Path
    tz: str
    budget_rows: int


@dataclass(frozen=True)
class StagedFile:
    """One spilled IPC file: record batch i holds the rows of session `days[i]` (days since 1970)."""

    path: Path
    days: tuple[int, ...]


@dataclass
class StageResult:
    """What a task read: per-source counts, spilled files, symbols seen, and its quarantine file."""

    counts: dict[int, SourceCounts]
    staged: list[StagedFile] = field(default_factory=list)
    symbols: set[str] = field(default_factory=set)
    quarantine: Path | None = None


class _Buffer:
    """Accepted rows waiting to be spilled, as per-block column arrays."""

    def __init__(self, task: StageTask) -> None:
        self.task = task
        self.parts: list[dict[str, np.ndarray]] = []
        self.rows = 0
        self.symbols: dict[str, int] = {}
        self.flushes = 0

    def code(self, symbol: str) -> int:
        return self.symbols.setdefault(symbol, len(self.symbols))

    def add(self, part: dict[str, np.ndarray]) -> None:
        self.parts.append(part)
        self.rows += len(part["ts"])

    def flush(self, result: StageResult) -> None:
        """Spill the buffer: rows grouped by session, in buffer order within a session (what a stable sort by
        session gives), one IPC file per month and one record batch per session."""
        if not self.rows:
            return
        dictionary = pa.array(list(self.symbols), pa.string())
        months: dict[str, list[tuple[int, pa.RecordBatch]]] = {}
        for day, slices in sorted(_day_slices(self.parts).items()):
            batch = _batch({name: _joined(part[name][start:end] for part, start, end in slices)
                            for name in STAGED.names}, dictionary)
            months.setdefault(f"{staged_date(day):%Y-%m}", []).append((day, batch))
        for month, batches in months.items():
            path = self.task.staging / month / f"t{self.task.task_id:06d}-{self.flushes:04d}.arrow"
            path.parent.mkdir(parents=True, exist_ok=True)
            with pa.ipc.new_file(path, STAGED, options=IPC_OPTIONS) as writer:
                for _, batch in batches:
                    writer.write_batch(batch)
            result.staged.append(StagedFile(path, tuple(day for day, _ in batches)))
        self.parts, self.rows = [], 0
        self.flushes += 1


def _day_slices(parts: list[dict[str, np.ndarray]]) -> dict[int, list[tuple[dict[str, np.ndarray], int, int]]]:
    """Session day -> the (part, start, end) row ranges holding it, in part order.

    Cheaper than sorting the whole buffer: a part (one block of one file) is almost always already in time
    order, so its sessions are contiguous runs and only a part that is not gets sorted (stably), on its own.
    Each row is then copied once, straight into its session's batch.
    """
    slices: dict[int, list[tuple[dict[str, np.ndarray], int, int]]] = {}
    for part in parts:
        days = part["day"]
        if (np.diff(days) < 0).any():
            order = np.argsort(days, kind="stable")
            part = {name: values[order] for name, values in part.items()}
            days = part["day"]
        bounds = np.flatnonzero(np.diff(days)) + 1
        for start, end in zip(np.r_[0, bounds], np.r_[bounds, len(days)]):
            slices.setdefault(int(days[start]), []).append((part, int(start), int(end)))
    return slices


def _joined(pieces: Iterator[np.ndarray]) -> np.ndarray:
    """One array of `pieces` (no copy for a single piece)."""
    pieces = list(pieces)
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def _batch(columns: dict[str, np.ndarray], dictionary: pa.Array) -> pa.RecordBatch:
    symbol = pa.DictionaryArray.from_arrays(pa.array(columns["symbol"], pa.int32()), dictionary)
    arrays = [symbol] + [pa.array(columns[name]) for name in STAGED.names[1:]]
    return pa.RecordBatch.from_arrays(arrays, schema=STAGED)


def stage(task: StageTask) -> StageResult:
    """Parse, check and spill every file of `task` (runs in a worker process); a full disk while spilling is a
    DiskFullError naming the store's disk (phase 1 commits nothing, so the store is as it was)."""
    with disk_full_named(task.staging.parent, "the ingest stopped before it committed anything, so the store is "
                                              "as it was."):
        return _stage(task)


def _stage(task: StageTask) -> StageResult:
    result = StageResult(counts={})
    buffer = _Buffer(task)
    quarantined: list[pa.RecordBatch] = []
    for source_id, source, info in task.files:
        counts = SourceCounts(source=source.label, symbol=info.symbol, adjustment=info.adjustment)
        result.counts[source_id] = counts
        _stage_source(source_id, source, info, task.tz, buffer, counts, quarantined, result)
        if buffer.rows >= task.budget_rows:
            buffer.flush(result)
    buffer.flush(result)
    if quarantined:
        result.quarantine = task.staging / "quarantine" / f"t{task.task_id:06d}.arrow"
        result.quarantine.parent.mkdir(parents=True, exist_ok=True)
        with pa.ipc.new_file(result.quarantine, QUARANTINED, options=IPC_OPTIONS) as writer:
            for batch in quarantined:
                writer.write_batch(batch)
    result.symbols.update(buffer.symbols)
    return result


def _stage_source(
    source_id: int, source: Source, info: FileInfo, tz: str, buffer: _Buffer, counts: SourceCounts,
    quarantined: list[pa.RecordBatch], result: StageResult,
) -> None:
    """Parse one file block by block into the buffer, counting and quarantining as it goes."""
    for parsed in _parsed_blocks(source, info, counts):
        checked = classify(parsed, info.tz or tz)
        rows = ~parsed.blank
        counts.blank_lines += int(parsed.blank.sum())
        counts.rows_read += int(rows.sum()) + len(parsed.wrong_columns)
        _quarantine_block(source_id, parsed, checked.reason, counts, quarantined)
        accepted = rows & (checked.reason == 0)
        if not accepted.any():
            continue
        if parsed.symbol is None:
            symbol_codes = np.full(int(accepted.sum()), buffer.code(info.symbol), dtype=np.int32)
        else:
            symbol_codes = np.array([buffer.code(s) for s in parsed.symbol[accepted]], dtype=np.int32)
        buffer.add({
            "symbol": symbol_codes, "ts": checked.utc_ns[accepted], "open": parsed.open[accepted],
            "high": parsed.high[accepted], "low": parsed.low[accepted], "close": parsed.close[accepted],
            "volume": parsed.volume[accepted], "source": np.full(int(accepted.sum()), source_id, dtype=np.int32),
            "line": parsed.line[accepted], "day": checked.session_day[accepted],
        })
        if buffer.rows >= buffer.task.budget_rows:
            buffer.flush(result)


def _parsed_blocks(source: Source, info: FileInfo, counts: SourceCounts) -> Iterator[ParsedBlock]:
    """The file's rows, block by block, with their line (text) or row (Parquet) numbers."""
    layout = info.layout
    if source.is_parquet:
        row = 1
        with source.open() as stream:
            for batch in pq.ParquetFile(stream).iter_batches(batch_size=PARQUET_BATCH_ROWS):
                yield parse_table(pa.Table.from_batches([batch]), layout, row)
                row += batch.num_rows
        return
    line = 1
    for block in iter_blocks(source):
        if line == 1 and layout.header_lines:
            block = _drop_lines(block, layout.header_lines)
            counts.header_lines = layout.header_lines
            line += layout.header_lines
            if not block:
                continue
        parsed = parse_block(block, layout, line)
        line += parsed.lines
        yield parsed


def _drop_lines(block: bytes, count: int) -> bytes:
    """`block` without its first `count` lines."""
    position = 0
    for _ in range(count):
        position = block.find(b"\n", position) + 1
        if position == 0:
            return b""
    return block[position:]


def _quarantine_block(
    source_id: int, parsed: ParsedBlock, reason: np.ndarray, counts: SourceCounts, quarantined: list[pa.RecordBatch]
) -> None:
    """Count rejected rows by reason, and keep the text of those worth keeping."""
    if parsed.wrong_columns:
        counts.reject("wrong_column_count", len(parsed.wrong_columns))
        lines, texts = zip(*parsed.wrong_columns)
        quarantined.append(_quarantine_batch(source_id, np.array(lines), "wrong_column_count", list(texts)))
    rejected = np.flatnonzero(reason)
    if not len(rejected):
        return
    codes, tallies = np.unique(reason[rejected], return_counts=True)
    for code, tally in zip(codes, tallies):
        name = REASONS[int(code) - 1]
        counts.reject(name, int(tally))
        if name in NOT_QUARANTINED:
            continue
        rows = rejected[reason[rejected] == code]
        quarantined.append(_quarantine_batch(source_id, parsed.line[rows], name, parsed.raw(rows)))


def _quarantine_batch(source_id: int, lines: np.ndarray, reason: str, raw: list[str]) -> pa.RecordBatch:
    n = len(raw)
    return pa.RecordBatch.from_arrays(
        [pa.array(np.full(n, source_id, dtype=np.int32)), pa.array(np.asarray(lines, dtype=np.int64)),
         pa.array([reason] * n, pa.string()), pa.array(raw, pa.string())],
        schema=QUARANTINED,
    )
