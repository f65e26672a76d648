"""One block of text lines to typed columns, keeping track of every line.

Blocks of the fixed vendor layouts are first tried with the compiled parser (fastparse.py), which reads
a clean block in one pass and hands any other block over to the general path described here.
Arrow's CSV reader splits the block into string columns (lines with the wrong number of fields are set
aside with their text); the strings are then converted column by column. A column that converts cleanly
costs one vectorized cast; one that holds bad values is split in halves until the bad values are found, so
a few bad lines never slow a block down much and never take good lines with them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tapescan.ingest.fastparse import fast_layout, parse_fixed
from tapescan.ingest.layout import BAR_FIELDS, DATE_AND_MS_OF_DAY, ISO, NATIVE, Layout, TimestampSpec

#: Below this many values a failing cast is retried value by value.
_SCALAR_CAST_BELOW = 64
_NS_PER_MS = 1_000_000


@dataclass
class ParsedBlock:
    """The rows of one block; each array has one entry per line that had the right number of fields."""

    line: np.ndarray  # 1-based line number in the file
    blank: np.ndarray  # an empty line: not a row at all
    parsed: np.ndarray  # every field converted
    local_ns: np.ndarray  # naive local time, nanoseconds (0 where not parsed)
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    symbol: np.ndarray | None  # per-row symbols, when the file has a symbol column
    wrong_columns: list[tuple[int, str]]  # (line, text) of lines with a wrong number of fields
    lines: int  # physical lines in the block
    raw: Callable[[np.ndarray], list[str]]  # the text of some rows, for the quarantine (line ending dropped)


def _joined_fields(strings: pa.Table, delimiter: str) -> Callable[[np.ndarray], list[str]]:
    """Raw text of rows from the columns as read: fields re-joined with the file's delimiter."""

    def raw(rows: np.ndarray) -> list[str]:
        columns = [strings.column(i).take(pa.array(rows)).to_pylist() for i in range(strings.num_columns)]
        return [delimiter.join("" if v is None else str(v) for v in values) for values in zip(*columns)]

    return raw


def _line_slices(block: bytes, starts: np.ndarray, ends: np.ndarray) -> Callable[[np.ndarray], list[str]]:
    """Raw text of rows cut from the block itself."""

    def raw(rows: np.ndarray) -> list[str]:
        return [block[starts[row] : ends[row]].decode("utf-8", errors="replace") for row in rows]

    return raw


def parse_block(block: bytes, layout: Layout, first_line: int) -> ParsedBlock:
    """Parse `block` (whole lines) whose first line is line `first_line` of its file."""
    shape = fast_layout(layout)
    fixed = parse_fixed(block, shape, layout.delimiter) if shape is not None else None
    if fixed is not None:
        return _fixed_block(block, fixed, first_line)
    wrong: list[tuple[int, str]] = []

    def set_aside(row: pcsv.InvalidRow) -> str:
        wrong.append((row.number, row.text))
        return "skip"

    strings = pcsv.read_csv(
        io.BytesIO(block),
        read_options=pcsv.ReadOptions(column_names=list(layout.columns), use_threads=False, block_size=1 << 22),
        parse_options=pcsv.ParseOptions(
            delimiter=layout.delimiter, invalid_row_handler=set_aside, ignore_empty_lines=False
        ),
        convert_options=pcsv.ConvertOptions(
            column_types={name: pa.string() for name in layout.columns}, strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    lines = strings.num_rows + len(wrong)
    wrong_numbers = np.array([number for number, _ in wrong], dtype=np.int64)
    line = np.delete(np.arange(1, lines + 1, dtype=np.int64), wrong_numbers - 1) + (first_line - 1)
    blank = pc.equal(pc.utf8_length(strings.column(0)), 0).to_numpy(zero_copy_only=False)
    if strings.num_columns > 1:
        blank &= pc.equal(pc.utf8_length(strings.column(1)), 0).to_numpy(zero_copy_only=False)
    wrong_lines = [(number + first_line - 1, text) for number, text in wrong]
    return _converted(strings, layout, line, blank, wrong_lines, lines, _joined_fields(strings, layout.delimiter))


def _fixed_block(block: bytes, fixed: tuple[np.ndarray, ...], first_line: int) -> ParsedBlock:
    """A block that the compiled parser read whole: every line a row, every field converted."""
    local_ns, o, h, lo, c, v, starts, ends = fixed
    rows = len(local_ns)
    return ParsedBlock(
        line=np.arange(first_line, first_line + rows, dtype=np.int64), blank=np.zeros(rows, dtype=bool),
        parsed=np.ones(rows, dtype=bool), local_ns=local_ns, open=o, high=h, low=lo, close=c, volume=v,
        symbol=None, wrong_columns=[], lines=rows, raw=_line_slices(block, starts, ends),
    )


def parse_table(table: pa.Table, layout: Layout, first_row: int) -> ParsedBlock:
    """Convert typed or text columns (a Parquet row batch) whose first row is row `first_row` of its file."""
    rows = table.num_rows
    line = np.arange(first_row, first_row + rows, dtype=np.int64)
    return _converted(table, layout, line, np.zeros(rows, dtype=bool), [], rows, _joined_fields(table, ","))


def _converted(
    table: pa.Table, layout: Layout, line: np.ndarray, blank: np.ndarray, wrong: list[tuple[int, str]], lines: int,
    raw: Callable[[np.ndarray], list[str]],
) -> ParsedBlock:
    """Bar fields converted from `table`'s columns; values that do not convert are marked unparsed."""
    parsed = np.ones(table.num_rows, dtype=bool)
    values = {}
    for field in BAR_FIELDS:
        converted = cast_tolerant(table.column(layout.column(field)), pa.int64() if field == "volume" else pa.float64())
        parsed &= converted.is_valid().to_numpy(zero_copy_only=False)
        values[field] = converted.fill_null(0).to_numpy(zero_copy_only=False)
    stamps = _timestamps(table, layout.timestamp)
    parsed &= stamps.is_valid().to_numpy(zero_copy_only=False)
    symbol = None
    if layout.symbol_column is not None:
        names = cast_tolerant(table.column(layout.symbol_column), pa.string()).fill_null("")
        symbol_strings = pc.utf8_upper(pc.utf8_trim_whitespace(names))
        parsed &= pc.greater(pc.utf8_length(symbol_strings), 0).to_numpy(zero_copy_only=False)
        symbol = np.asarray(symbol_strings.to_numpy(zero_copy_only=False), dtype=object)
    return ParsedBlock(
        line=line, blank=blank, parsed=parsed & ~blank,
        local_ns=stamps.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False),
        open=values["open"], high=values["high"], low=values["low"], close=values["close"], volume=values["volume"],
        symbol=symbol, wrong_columns=wrong, lines=lines, raw=raw,
    )


def _timestamps(strings: pa.Table, spec: TimestampSpec) -> pa.Array:
    """Naive local timestamps (ns) from the spec's columns; null where a value does not parse."""
    if spec.format == NATIVE:
        stamps = _as_array(strings.column(spec.fields[0]))
        if stamps.type.tz is not None:
            stamps = pc.local_timestamp(stamps)
        return stamps.cast(pa.timestamp("ns"))
    if spec.format == DATE_AND_MS_OF_DAY:
        date_name, ms_name = spec.fields
        days = pc.strptime(_as_array(strings.column(date_name)), format="%Y%m%d", unit="ns", error_is_null=True)
        ms = cast_tolerant(strings.column(ms_name), pa.int64())
        return pc.add(days.cast(pa.int64()), pc.multiply(ms, _NS_PER_MS)).cast(pa.timestamp("ns"))
    columns = [_as_array(strings.column(name)) for name in spec.fields]
    text = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, " ")
    if spec.format == ISO:
        return cast_tolerant(text, pa.timestamp("ns"))
    return pc.strptime(text, format=spec.format, unit="ns", error_is_null=True)


def _as_array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def cast_tolerant(values: pa.ChunkedArray | pa.Array, to: pa.DataType) -> pa.Array:
    """`values` cast to `to`, with null wherever a value does not convert (Arrow's own rules decide)."""
    values = _as_array(values)
    try:
        return pc.cast(values, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if len(values) < _SCALAR_CAST_BELOW:
        return pa.array([_cast_scalar(values.slice(i, 1), to) for i in range(len(values))], to)
    half = len(values) // 2
    return pa.concat_arrays([cast_tolerant(values.slice(0, half), to), cast_tolerant(values.slice(half), to)])


def _cast_scalar(value: pa.Array, to: pa.DataType) -> object:
    try:
        return pc.cast(value, to)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
