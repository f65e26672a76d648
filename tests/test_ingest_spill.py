"""Spilling (stage._Buffer.flush) writes each session's rows in buffer order, exactly what a stable sort of
the whole buffer by session gives (the order phase 2 relies on for "first row kept"), whether a part is in
time order or not; partitions therefore do not depend on how rows are grouped before the spill."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from tapescan.ingest.stage import STAGED, StageResult, StageTask, _Buffer


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
