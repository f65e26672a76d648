"""Writing a DataFrame to a .csv, .parquet or .json file atomically (no half-written file on failure).

Time-zone-aware timestamps are written as ISO 8601 with their offset (`2024-01-02T09:30:00-05:00`) in text
formats and as Arrow timestamps with their zone in Parquet; a `date` column of datetime.date as YYYY-MM-DD.
CSV text is formatted by tapescan/csvtext.py (Arrow's kernels), the same bytes as pandas' to_csv of iso_text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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


def write_frame_atomic(frame: pd.DataFrame, output: Path) -> None:
    """Write `frame` to `output`, its type from the suffix (.parquet, .csv, else JSON records)."""
    suffix = output.suffix.lower()
    with atomic_path(output) as tmp:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            with open(tmp, "wb") as fh:
                write_csv(frame, fh)
        else:
            iso_text(frame).to_json(tmp, orient="records", indent=1)
