"""Parquet result files (tapescan/frames.py, tapescan/cli/output.py): the same data as pandas' to_parquet, with
labels dictionary-encoded and numbers written plain (docs/OUTPUT.md)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow.parquet as pq

from tapescan.cli.output import frame_stream
from tapescan.frames import dictionary_columns, write_frame_atomic
from tapescan.scanner.engine import SCAN_SCHEMA

FRAME = pd.DataFrame({
    "date": [dt.date(2024, 1, 2), dt.date(2024, 1, 2), dt.date(2024, 1, 3)],
    "symbol": ["AAPL", "MSFT", "AAPL"],
    "price": [185.25, 370.5, 184.0],
    "volume": [100, 200, 300],
    "ts": pd.to_datetime(["2024-01-02 09:31", "2024-01-02 09:32", "2024-01-03 09:31"]).tz_localize("America/New_York"),
})


def encodings(path, column: int) -> tuple[str, ...]:
    return pq.read_metadata(path).row_group(0).column(column).encodings


def test_a_parquet_result_holds_what_pandas_wrote_with_only_labels_in_dictionaries(tmp_path):
    ours, theirs = tmp_path / "ours.parquet", tmp_path / "pandas.parquet"
    write_frame_atomic(FRAME, ours)
    FRAME.to_parquet(theirs, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(ours), pd.read_parquet(theirs))
    names = pq.read_schema(ours).names
    for column, name in enumerate(names):
        dictionary = "RLE_DICTIONARY" in encodings(ours, column)
        assert dictionary == (name in ("date", "symbol")), name


def test_a_streamed_sweep_file_dictionary_encodes_only_its_labels(tmp_path):
    assert dictionary_columns(SCAN_SCHEMA) == ["date", "time", "symbol"]
    output = tmp_path / "hits.parquet"
    hits = pd.DataFrame({name: pd.Series(dtype="float64") for name in SCAN_SCHEMA.names})
    hits = pd.concat([hits, pd.DataFrame({"date": [dt.date(2024, 1, 2)], "time": ["09:31"], "symbol": ["AAPL"],
                                          "price": [1.5], "session_volume": [10]})], ignore_index=True)
    hits["session_volume"] = hits["session_volume"].astype("Int64")
    with frame_stream(output, SCAN_SCHEMA) as write:
        write(hits)
    assert pq.read_table(output).num_rows == 1
    for column, name in enumerate(SCAN_SCHEMA.names):
        assert ("RLE_DICTIONARY" in encodings(output, column)) == (name in ("date", "time", "symbol")), name
