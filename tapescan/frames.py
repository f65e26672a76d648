"""Writing a DataFrame to a .csv, .parquet or .json file atomically (no half-written file on failure).

Time-zone-aware timestamps are written as ISO 8601 with their offset (`2024-01-02T09:30:00-05:00`) in text
formats and as Arrow timestamps with their zone in Parquet; a `date` column of datetime.date as YYYY-MM-DD.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tapescan.fsio import atomic_path


def iso_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose tz-aware timestamp columns are ISO 8601 strings with offsets."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            local = column.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
            out[name] = local.str.slice(0, -2) + ":" + local.str.slice(-2)
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
            iso_text(frame).to_csv(tmp, index=False)
        else:
            iso_text(frame).to_json(tmp, orient="records", indent=1)
