"""CSV text of a DataFrame formatted by Arrow's compiled kernels, byte for byte what pandas writes.

The text is what `iso_text(frame).to_csv(fh, index=False)` wrote before (docs/OUTPUT.md, "CSV text"):
floats at full precision in shortest round-trip digits (Python's repr: `1.0`, `0.1`, `1e-05`, `1e+16`, `-0.0`,
`inf`), NaN and missing values as empty fields, integers and nullable integers as digits, booleans as
`True`/`False`, dates as YYYY-MM-DD, time-zone-aware timestamps as `2024-01-02T09:30:00-05:00`, and text quoted
as Python's csv module does by default (QUOTE_MINIMAL). Arrow formats every cell; the few float cells whose
Arrow text differs from repr (exponent forms and the cells around them) and timestamps outside what Arrow's
formatting matches are formatted the way pandas does, so the bytes stay the same at several times the speed.
Rows are formatted and written in blocks, so that memory stays bounded for any frame.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections.abc import Iterable
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import infer_dtype

#: Rows formatted and written at a time: enough to amortise Arrow's per-call costs, few enough to stay small.
BLOCK_ROWS = 65_536
#: Float magnitudes from and below which both repr and Arrow write fixed notation: repr writes an exponent below
#: 1e-4 and from 1e16 (1e-05, 1e+16), Arrow below 1e-6 and from 1e10 (1.5e-7, 1e+10; its double-conversion
#: settings: decimal exponents -6 to 10). Cells outside are formatted by numpy, as pandas does.
FIXED_RANGE = (1e-4, 1e10)
#: Wall-clock seconds since 1970 of 1000-01-01 and 10000-01-01: the years every formatter writes with 4 digits.
WALL_YEARS = ((dt.date(1000, 1, 1) - dt.date(1970, 1, 1)).days * 86_400,
              ((dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days + 1) * 86_400)


def _csv_quotes(char: str) -> bool:
    """Whether Python's csv module (as pandas calls it: QUOTE_MINIMAL, "\\n" ends a line) quotes a field
    holding `char`; asked of the csv module itself, since Python versions differ (3.11 leaves "\\r" bare)."""
    sink = io.StringIO()
    csv.writer(sink, lineterminator="\n").writerow(["a" + char, "b"])
    return sink.getvalue().startswith('"')


#: The characters that make a field quoted.
QUOTED_CHARS = tuple(char for char in ',"\n\r' if _csv_quotes(char))


def iso_timestamps(column: pd.Series) -> pd.Series:
    """Time-zone-aware timestamps as ISO 8601 text with the offset (`2024-01-02T09:30:00-05:00`), NaT as NaN."""
    local = column.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return local.str.slice(0, -2) + ":" + local.str.slice(-2)


def _arrow(column: pd.Series) -> pa.Array:
    """A column as one Arrow array (a pandas column backed by Arrow may hold several chunks, e.g. after concat)."""
    values = pa.array(column, from_pandas=True)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _quoted(text: pa.Array) -> pa.Array:
    """Strings (no nulls) with the fields that need it quoted, inner quotes doubled."""
    needs = functools.reduce(pc.or_, (pc.match_substring(text, char) for char in QUOTED_CHARS))
    if not pc.any(needs).as_py():
        return text
    chosen = pc.replace_substring(pc.filter(text, needs), '"', '""')
    return pc.replace_with_mask(text, needs, pc.binary_join_element_wise('"', chosen, '"', ""))


def _numpy_text(values: np.ndarray) -> pa.Array:
    """Floats as pandas writes them (numpy's str; NaN empty): the reference for the cells Arrow writes otherwise."""
    text = values.astype(str).astype(object)
    text[np.isnan(values)] = ""
    return pa.array(text, pa.string())


def _float_text(values: np.ndarray) -> pa.Array:
    """float64 cells: Arrow's shortest round-trip digits, made repr's form (`1.0` not `1`); NaN as null (an empty
    field); the cells outside FIXED_RANGE go through numpy as pandas does. Other float widths through numpy whole."""
    if values.dtype != np.float64:
        return _numpy_text(values)
    text = pc.cast(pa.array(values, from_pandas=True), pa.string())
    with np.errstate(invalid="ignore"):
        finite, size = np.isfinite(values), np.abs(values)
        odd = finite & (values != 0) & ((size < FIXED_RANGE[0]) | (size >= FIXED_RANGE[1]))
        whole = finite & ~odd & (values == np.trunc(values))
    if whole.any():
        mask = pa.array(whole)
        text = pc.replace_with_mask(text, mask, pc.binary_join_element_wise(pc.filter(text, mask), "0", "."))
    if odd.any():
        text = pc.replace_with_mask(text, pa.array(odd), _numpy_text(values[odd]))
    return text


@functools.cache
def _clock_texts() -> pa.Array:
    """`HH:MM:SS` of every second of a day, taken by index (Arrow's strftime costs microseconds a value)."""
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)], pa.string())


def _timestamp_text(column: pd.Series) -> pa.Array:
    """Time-zone-aware timestamps as iso_timestamps writes them: the wall clock (pandas' zone conversion) floored
    to the second, its date cast by Arrow and its clock taken from a table, each distinct offset formatted by
    Python; years outside WALL_YEARS (which strftime does not pad alike) go through iso_timestamps."""
    missing = column.isna().to_numpy()
    wall = column.dt.tz_localize(None).to_numpy()
    per_second = np.timedelta64(1, "s") // np.timedelta64(1, np.datetime_data(wall.dtype)[0])
    utc = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().view("int64")
    seconds = np.where(missing, 0, wall.view("int64") // per_second)
    odd = ~missing & ((seconds < WALL_YEARS[0]) | (seconds >= WALL_YEARS[1]))
    seconds[odd] = 0
    days = pa.array((seconds // 86_400).astype(np.int32)).cast(pa.date32())
    offsets, which = np.unique(np.where(missing, 0, (wall.view("int64") - utc) // per_second), return_inverse=True)
    zones = [dt.datetime(2000, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=int(s)))).strftime("%z")
             for s in offsets]
    stamp = pc.binary_join_element_wise(pc.cast(days, pa.string()), pc.take(_clock_texts(), pa.array(seconds % 86_400)),
                                        "T")
    zone = pc.take(pa.array([z[:-2] + ":" + z[-2:] for z in zones], pa.string()), pa.array(which.ravel()))
    text = pc.binary_join_element_wise(stamp, zone, "")
    if odd.any():
        text = pc.replace_with_mask(text, pa.array(odd), pa.array(iso_timestamps(column[odd]).to_numpy(), pa.string()))
    return pc.if_else(pa.array(missing), "", text)


def _object_text(column: pd.Series) -> pa.Array:
    """Python objects: all strings, or all dates (no datetimes, which are dates too), through Arrow; any other
    mix as pandas writes it (str() of each, missing ones empty): Arrow would coerce a mix (0 to 1970-01-01)."""
    kind = infer_dtype(column, skipna=True)
    if kind == "string":
        return _quoted(_arrow(column).cast(pa.string()).fill_null(""))
    if kind == "date" and not any(issubclass(type_, dt.datetime) for type_ in set(map(type, column.tolist()))):
        return pc.cast(_arrow(column), pa.string()).fill_null("")
    text = ["" if pd.isna(value) is True else str(value) for value in column.tolist()]
    return _quoted(pa.array(text, pa.string()))


def _column_text(column: pd.Series) -> pa.Array:
    """One column's cells as CSV fields (strings; null for an empty field)."""
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _timestamp_text(column)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _float_text(column.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return pc.if_else(pa.array(column.to_numpy()), "True", "False")
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pc.cast(pa.array(column.to_numpy()), pa.string())
    if isinstance(dtype, pd.BooleanDtype):
        return pc.if_else(_arrow(column), "True", "False").fill_null("")
    if isinstance(dtype, pd.core.dtypes.dtypes.BaseMaskedDtype) and dtype.kind in "iu":
        return pc.cast(_arrow(column), pa.string()).fill_null("")
    if isinstance(dtype, pd.StringDtype):
        return _quoted(_arrow(column).cast(pa.string()).fill_null(""))
    if dtype == object:
        return _object_text(column)
    raise TypeError(f"CSV text: column {column.name!r} has dtype {dtype}, which tapescan does not write as text; "
                    "convert it (for example to str) first.")


def _lines(fields: list[pa.Array]) -> pa.Array:
    """Rows of fields (null: empty) joined into lines, each ending in "\\n" (one field alone and empty is `""`,
    as csv writes)."""
    if len(fields) == 1:
        fields = [pc.if_else(pc.equal(fields[0], ""), '""', fields[0]).fill_null('""')]
    lines = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="")
    return pc.binary_join_element_wise(lines, "", "\n")


def _text_bytes(lines: pa.Array) -> memoryview:
    """The concatenated text of a string array without nulls, straight from its data buffer."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    return memoryview(lines.buffers()[2])[offsets[lines.offset]:offsets[lines.offset + len(lines)]]


def header_text(names: Iterable[object]) -> bytes:
    """The header line of columns `names`, as pandas writes it."""
    fields = [pa.array([str(name)], pa.string()) for name in names]
    return bytes(_text_bytes(_lines([_quoted(field) for field in fields]))) if fields else b"\n"


def write_csv(frame: pd.DataFrame, sink: BinaryIO, header: bool = True) -> None:
    """Write `frame` as CSV text (UTF-8, "\\n" line ends, no index) to the binary file `sink`, block by block."""
    if header:
        sink.write(header_text(frame.columns))
    if len(frame.columns) == 0:
        sink.write(b"\n" * len(frame))
        return
    for start in range(0, len(frame), BLOCK_ROWS):
        block = frame.iloc[start:start + BLOCK_ROWS]
        sink.write(_text_bytes(_lines([_column_text(block.iloc[:, i]) for i in range(block.shape[1])])))
