"""What ingest does for speed leaves the store's bytes as they were (issue 15: same store as before).

- Spilling (stage._Buffer.flush) writes each session's rows in buffer order, exactly what a stable sort of
  the whole buffer by session gives (the order phase 2 relies on for "first row kept"), whether a part is
  in time order or not.
- A merged session with nothing to drop is written unfiltered: the same Parquet bytes as the filtered copy.
- Worker processes (forked on Linux) write the very files that one in-process worker writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa

from tapescan.ingest import ingest, pipeline
from tapescan.ingest.merge import merge_session
from tapescan.ingest.stage import STAGED, StageResult, StageTask, _Buffer
from tapescan.store.integrity import write_parquet
from tapescan.store.manifest import FileEntry, load_manifest
from tapescan.store.writer import BAR_ROW_GROUP_ROWS, COMPRESSION
from tests.test_ingest_safety import write_firstrate


def _part(rng: np.random.Generator, days: np.ndarray, source: int) -> dict[str, np.ndarray]:
    n = len(days)
    return {"symbol": rng.integers(0, 3, n).astype(np.int32), "ts": rng.integers(0, 10**15, n),
            **{name: rng.random(n) for name in ("open", "high", "low", "close")},
            "volume": rng.integers(0, 10**6, n), "source": np.full(n, source, dtype=np.int32),
            "line": np.arange(1, n + 1, dtype=np.int64), "day": days.astype(np.int64)}


def test_spilled_sessions_hold_the_buffer_stably_sorted_by_session(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    jan, feb = 19_723, 19_754  # 2024-01-01 and 2024-02-01 as days since 1970: two months, two files
    parts = [
        _part(rng, np.repeat([jan + 1, jan + 2, feb + 1], [5, 7, 3]), 0),  # in time order
        _part(rng, rng.choice([jan + 1, jan + 2, feb + 1, feb + 2], 5_000), 1),  # not in time order
        _part(rng, np.full(4, jan + 2), 2),  # one session
    ]
    buffer = _Buffer(StageTask(0, [], tmp_path, "America/New_York", 1_000))
    for symbol in ("A", "B", "C"):
        buffer.code(symbol)
    for part in parts:
        buffer.add(part)
    result = StageResult(counts={})
    buffer.flush(result)

    whole = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    order = np.argsort(whole["day"], kind="stable")
    expected = {name: values[order] for name, values in whole.items()}
    got_days: list[int] = []
    got_rows: dict[str, list[np.ndarray]] = {name: [] for name in STAGED.names}
    assert sorted(item.path.parent.name for item in result.staged) == ["2024-01", "2024-02"]
    for item in sorted(result.staged, key=lambda item: item.days):
        reader = pa.ipc.open_file(str(item.path))
        assert reader.schema.equals(STAGED)
        for index, day in enumerate(item.days):
            batch = reader.get_batch(index)
            got_days += [day] * batch.num_rows
            for name in STAGED.names:
                column = batch.column(name)
                got_rows[name].append(column.indices.to_numpy() if name == "symbol" else column.to_numpy())
    np.testing.assert_array_equal(got_days, expected["day"])
    for name in STAGED.names:
        np.testing.assert_array_equal(np.concatenate(got_rows[name]), expected[name])
    assert buffer.rows == 0 and buffer.parts == []


def _staged_batch(rng: np.random.Generator, symbols: pa.Array, rows_per_symbol: int, source: int) -> pa.RecordBatch:
    """A spilled batch of one session: every symbol's minutes in order (no duplicates)."""
    n = len(symbols) * rows_per_symbol
    minutes = np.tile(np.arange(rows_per_symbol, dtype=np.int64), len(symbols))
    codes = np.repeat(np.arange(len(symbols), dtype=np.int32), rows_per_symbol)
    price = rng.random(n) + 10
    arrays = [pa.DictionaryArray.from_arrays(pa.array(codes), symbols),
              pa.array(1_704_205_800_000_000_000 + minutes * 60_000_000_000),
              *(pa.array(price) for _ in range(4)), pa.array(rng.integers(0, 10**6, n)),
              pa.array(np.full(n, source, dtype=np.int32)), pa.array(np.arange(1, n + 1, dtype=np.int64))]
    return pa.RecordBatch.from_arrays(arrays, schema=STAGED)


def test_a_session_without_duplicates_is_written_as_the_filtered_copy_was(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    batches = [_staged_batch(rng, pa.array(["AAA", "BBB"]), 700, 0), _staged_batch(rng, pa.array(["CCC"]), 900, 1)]
    merged = merge_session(lambda: iter(batches))
    assert merged.bars.num_rows == 2_300 and merged.duplicate_count.sum() == 0
    filtered = merged.bars.filter(pa.array(np.ones(merged.bars.num_rows, dtype=bool)))  # what was written before
    digests = []
    for name, table in (("unfiltered", merged.bars), ("filtered", filtered)):
        entry = FileEntry(file=f"{name}.parquet", rows=table.num_rows)
        write_parquet(tmp_path, entry, table, row_group_size=BAR_ROW_GROUP_ROWS, compression=COMPRESSION)
        digests.append(entry.sha256)
    assert digests[0] == digests[1]


def test_worker_processes_write_the_same_bytes_as_one_worker(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "TASK_BYTES", (1, 1))  # one task per file, so both workers read some
    corpus = write_firstrate(tmp_path / "corpus", "2024-12-27", "2025-01-03", symbols=6)
    (corpus / "again").mkdir()  # a second file of one symbol: its rows are duplicates across files
    shutil.copy(corpus / "MSFT_full_1min_UNADJUSTED.txt", corpus / "again" / "MSFT_full_1min_UNADJUSTED.txt")
    digests = []
    for workers in (1, 2):
        root = tmp_path / f"store-{workers}"
        report = ingest(root, "firstrate", [corpus], workers=workers)
        assert report.total.rows_duplicate > 0  # settled across files, which two workers read apart
        manifest = load_manifest(root)
        digests.append({**{f"bars/{day}": entry.sha256 for day, entry in manifest.bars_1m.items()},
                        **{f"daily/{month}": entry.sha256 for month, entry in manifest.daily.items()},
                        "symbols": manifest.symbols.sha256})
    assert len(digests[0]) == 5 + 2 + 1  # five sessions, two months of daily values, the symbols table
    assert digests[0] == digests[1]
