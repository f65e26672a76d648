"""Writing a DataFrame to a .csv, .parquet or .json file atomically (no half-written file on failure).

Time-zone-aware timestamps are written as ISO 8601 with their offset (`2024-01-02T09:30:00-05:00`) in text
formats and as Arrow timestamps with their zone in Parquet; a `date` column of datetime.date as YYYY-MM-DD.
CSV text is formatted by tapescan/csvtext.py (Arrow's kernels), the same bytes as pandas' to_csv of iso_text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tapescan.csvtext import iso_timestamps, write_csv
from tapescan.fsio import atomic_path


def iso_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose tz-aware timestamp columns are ISO 8601 strings with offsets."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = iso_timestamps(column)
        elif name == "date" and column.dtype == object:
            out[name] = column.astype(str)
    return out


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns of a Parquet result worth dictionary-encoding: labels (strings, dates), whose values repeat.
    Numbers are written plain: hashing millions of distinct doubles made writing a sweep's 3 million hits take
    1.43 s instead of 0.61 s, for a 4 % smaller file (bench/RESULTS.md)."""
    return [field.name for field in schema
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type) or pa.types.is_date(field.type)]


def write_frame_atomic(frame: pd.DataFrame, output: Path) -> None:
    """Write `frame` to `output`, its type from the suffix (.parquet, .csv, else JSON records)."""
    suffix = output.suffix.lower()
    with atomic_path(output) as tmp:
        if suffix == ".parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, tmp, use_dictionary=dictionary_columns(table.schema))
        elif suffix == ".csv":
            with open(tmp, "wb") as fh:
                write_csv(frame, fh)
        else:
            iso_text(frame).to_json(tmp, orient="records", indent=1)
