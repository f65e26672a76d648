"""What each vendor's files look like: names, line layouts, time zones, adjustments.

`inspect(vendor, source, head, options)` reads a file's name and its first lines and returns a
:class:`FileInfo` (ticker, adjustment, attributes, line layout), or refuses the file with a message when
it is not what the vendor named on the command line delivers; when its lines have another vendor's shape,
the message names that vendor (a FirstRateData file given as `kibot`: use `tapescan ingest firstrate`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tapescan.errors import IngestError
from tapescan.ingest.blocks import iter_blocks
from tapescan.ingest.layout import BAR_FIELDS, DATE_AND_MS_OF_DAY, ISO, NATIVE, Layout, TimestampSpec
from tapescan.ingest.parse import cast_tolerant, parse_block
from tapescan.ingest.sources import Source
from tapescan.tickers import TICKER

ET_NAME = "America/New_York"
VENDORS = ("firstrate", "kibot", "backtestmarket", "thetadata", "csv")
#: The vendors whose files are recognisable by their lines, as their users know them.
VENDOR_TITLES = {"firstrate": "FirstRateData", "kibot": "Kibot", "backtestmarket": "BacktestMarket",
                 "thetadata": "ThetaData"}

#: The adjustment each vendor delivers when neither the file name nor --adjustment says otherwise.
DEFAULT_ADJUSTMENT = {
    "firstrate": None,  # always in the file name
    "kibot": "split_dividend",  # Kibot adjusts for splits and dividends unless unadjusted data was bought
    "backtestmarket": "unadjusted",
    "thetadata": "unadjusted",  # the terminal serves trades as they printed
    "csv": "unknown",
}

_FIRSTRATE_NAME = re.compile(
    r"^(?P<ticker>[A-Za-z0-9.^\-]+?)_(?P<period>[A-Za-z0-9\-]+)_(?P<timeframe>[A-Za-z0-9]+)_(?P<adj>[A-Za-z]+)\.(txt|csv)$"
)
_FIRSTRATE_ADJUSTMENTS = {"adjsplit": "split", "adjsplitdiv": "split_dividend", "unadjusted": "unadjusted"}
#: How the Theta Terminal's CSV headers begin (v3 and the fetcher's v2 files; a raw v2 response's columns).
_THETADATA_HEADS = (
    ("timestamp", *BAR_FIELDS, "count"),
    ("ms_of_day", *BAR_FIELDS, "count"),
)
_VENDOR_SUFFIXES = ("-DELISTED",)
_SNIFF_LINES = 50
_CSV_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%Y%m%d %H%M%S",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
)


@dataclass(frozen=True)
class IngestOptions:
    """Command-line choices that shape how files are read."""

    tz: str = ET_NAME
    dayfirst: bool | None = None  # None: detect (backtestmarket, csv)
    adjustment: str | None = None
    column_map: dict[str, str] = field(default_factory=dict)  # csv: bar field -> column name(s), '+'-joined
    symbol: str | None = None  # csv/backtestmarket: the ticker when the file has no symbol column


@dataclass(frozen=True)
class FileInfo:
    """What one file holds, as read from its name and first lines."""

    symbol: str | None  # None when the rows carry their own symbol column
    adjustment: str
    attributes: dict[str, str]
    layout: Layout
    tz: str | None = None  # the file's own time zone (a zoned Parquet timestamp), over --tz


def inspect(vendor: str, source: Source, head: str, options: IngestOptions) -> FileInfo:
    """Identify one file for `vendor`; IngestError naming the file when it is not that vendor's format (and
    the vendor to name instead, when its lines look like another vendor's)."""
    if source.is_parquet and vendor != "csv":
        raise IngestError(f"{source.label} is a Parquet file; ingest it with `tapescan ingest csv` (and --map).")
    try:
        info = _READERS[vendor](source, head, options)
        if not source.is_parquet:
            _check_sample(vendor, source, head, info.layout)
    except IngestError as error:
        other = _lookalike(head, vendor)
        if other is None:
            raise
        raise IngestError(
            f"{source.label} looks like a {VENDOR_TITLES[other]} file (first line {_lines(head)[0][:120]!r}), "
            f"which `tapescan ingest {vendor}` does not read; use `tapescan ingest {other}` for it."
        ) from error
    return info


def _lookalike(head: str, vendor: str) -> str | None:
    """The vendor other than `vendor` whose files' lines the first lines in `head` read as; None if none does.

    The fixed shapes are the readers' own layouts (so a file recognised as vendor Y's is one `ingest Y`
    reads); ThetaData's is the start of the Theta Terminal's CSV header."""
    lines = _lines(head)
    if not lines:
        return None
    header = _is_header(lines[0])
    names = tuple(name.strip().strip('"').lower() for name in lines[0].split(","))
    shapes = {
        "firstrate": lambda: _reads_as(head, _firstrate_layout(header)),
        "kibot": lambda: _reads_as(head, _kibot_layout(header)),
        "backtestmarket": lambda: _reads_as(head, *(_backtestmarket_layout(header, d) for d in (True, False))),
        "thetadata": lambda: names[: len(_THETADATA_HEADS[0])] in _THETADATA_HEADS,
    }
    return next((other for other, looks in shapes.items() if other != vendor and looks()), None)


def read_head(source: Source, limit: int = 1 << 14) -> str:
    """The first lines of a source (at most `limit` bytes, whole lines), as text; "" for Parquet."""
    if source.is_parquet:
        return ""
    for block in iter_blocks(source, block_bytes=limit):
        return block.decode("utf-8", errors="replace")
    return ""


def _lines(head: str) -> list[str]:
    return [line.strip("\r") for line in head.split("\n") if line.strip()][:_SNIFF_LINES]


def _is_header(line: str) -> bool:
    """A first line made of words, no digits: a header (vendors say 'no header', but some files have one)."""
    return bool(re.search(r"[A-Za-z]", line)) and not re.search(r"\d", line)


def _ticker(raw: str) -> tuple[str, dict[str, str]]:
    """Upper-cased ticker without vendor suffixes, which become attributes."""
    symbol = raw.upper()
    attributes: dict[str, str] = {}
    for suffix in _VENDOR_SUFFIXES:
        if symbol.endswith(suffix):
            symbol = symbol[: -len(suffix)]
            attributes = {"vendor_symbol": raw, suffix.strip("-").lower(): "true"}
    if not TICKER.fullmatch(symbol):
        raise IngestError(f"{raw!r} is not a ticker tapescan can store (letters, digits, '.', '-', '^').")
    return symbol, attributes


def _name_ticker(source: Source, separators: str) -> str:
    """The ticker at the start of a file name: up to the first separator, or the whole name without its
    extension. Dots stay in the ticker (the fetcher writes BRK.B_20240102_20240131_1m.csv)."""
    return re.split(separators, PurePosixPath(source.name).stem, maxsplit=1)[0]


def _adjustment(vendor: str, from_name: str | None, options: IngestOptions) -> str:
    return from_name or options.adjustment or DEFAULT_ADJUSTMENT[vendor]


def _fixed_layout(delimiter: str, columns: tuple[str, ...], timestamp: TimestampSpec, header: bool) -> Layout:
    return Layout(delimiter, columns, timestamp, {name: name for name in BAR_FIELDS}, header_lines=int(header))


# --- FirstRateData ---------------------------------------------------------------------------------


def _firstrate(source: Source, head: str, options: IngestOptions) -> FileInfo:
    match = _FIRSTRATE_NAME.match(source.name)
    if not match:
        raise IngestError(
            f"{source.label}: FirstRateData files are named TICKER_period_timeframe_adjustment.txt "
            "(e.g. AAPL_full_1min_adjsplitdiv.txt); this name does not say the ticker and adjustment. "
            "Keep the vendor's file names, or ingest it with `tapescan ingest csv --symbol ...`."
        )
    timeframe = match["timeframe"].lower()
    if timeframe != "1min":
        raise IngestError(
            f"{source.label} holds {timeframe} bars; the store keeps 1-minute bars (other intervals are "
            "derived from them). Ingest the 1min files of the bundle."
        )
    adjustment = _FIRSTRATE_ADJUSTMENTS.get(match["adj"].lower())
    if adjustment is None:
        raise IngestError(
            f"{source.label}: unknown adjustment {match['adj']!r} in the file name (expected adjsplit, "
            "adjsplitdiv or UNADJUSTED)."
        )
    symbol, attributes = _ticker(match["ticker"])
    header = _is_header(_lines(head)[0]) if _lines(head) else False
    return FileInfo(symbol, adjustment, attributes, _firstrate_layout(header))


def _firstrate_layout(header: bool) -> Layout:
    """`2024-01-02 09:30:00,o,h,l,c,v`."""
    return _fixed_layout(",", ("datetime", *BAR_FIELDS), TimestampSpec(("datetime",), ISO), header)


# --- Kibot -----------------------------------------------------------------------------------------


def _kibot(source: Source, head: str, options: IngestOptions) -> FileInfo:
    lines = _lines(head)
    header = bool(lines) and _is_header(lines[0])
    sample = lines[1 if header else 0 :]
    width = _common_width(sample, ",")
    kinds = {
        4: "tick data (Date,Time,Price,Size)",
        6: "tick data with bid/ask (Date,Time,Price,Bid,Ask,Size) or daily bars",
        10: "bid/ask 1-minute bars (quotes, not trades)",
    }
    if width != 7:
        found = kinds.get(width, f"{width} fields per line")
        raise IngestError(
            f"{source.label} holds {found}; tapescan ingests Kibot 1-minute trade bars "
            "(Date,Time,Open,High,Low,Close,Volume). Ingest the 1-minute files."
        )
    symbol, attributes = _ticker(_name_ticker(source, "_"))
    return FileInfo(symbol, _adjustment("kibot", None, options), attributes, _kibot_layout(header))


def _kibot_layout(header: bool) -> Layout:
    """`08/31/2011,09:30,o,h,l,c,v`."""
    return _fixed_layout(",", ("date", "time", *BAR_FIELDS), TimestampSpec(("date", "time"), "%m/%d/%Y %H:%M"), header)


def _common_width(lines: list[str], delimiter: str) -> int:
    """The most common number of fields among the sample lines (0 when there are none)."""
    widths = [line.count(delimiter) + 1 for line in lines]
    return max(set(widths), key=widths.count) if widths else 0


# --- BacktestMarket --------------------------------------------------------------------------------


def _backtestmarket(source: Source, head: str, options: IngestOptions) -> FileInfo:
    lines = _lines(head)
    header = bool(lines) and _is_header(lines[0])
    symbol, attributes = _ticker(options.symbol or _name_ticker(source, r"[_\- ]"))
    dayfirst = options.dayfirst if options.dayfirst is not None else _detect_dayfirst(source, ";")
    layout = _backtestmarket_layout(header, dayfirst)
    return FileInfo(symbol, _adjustment("backtestmarket", None, options), attributes, layout)


def _backtestmarket_layout(header: bool, dayfirst: bool) -> Layout:
    """`29/11/2024;09:30;o;h;l;c;v` (or month first)."""
    date_format = "%d/%m/%Y %H:%M" if dayfirst else "%m/%d/%Y %H:%M"
    return _fixed_layout(";", ("date", "time", *BAR_FIELDS), TimestampSpec(("date", "time"), date_format), header)


_DATE_PARTS = re.compile(rb"^(\d{1,2})/(\d{1,2})/\d{4}", re.MULTILINE)


def _detect_dayfirst(source: Source, delimiter: str) -> bool:
    """True for DD/MM dates: some first part above 12; False when some second part is. Reads until sure."""
    for block in iter_blocks(source):
        firsts, seconds = [], []
        for match in _DATE_PARTS.finditer(block):
            firsts.append(int(match[1]))
            seconds.append(int(match[2]))
        day_first = any(value > 12 for value in firsts)
        month_first = any(value > 12 for value in seconds)
        if day_first and month_first:
            raise IngestError(
                f"{source.label}: its dates are neither all DD/MM/YYYY nor all MM/DD/YYYY; fix the file."
            )
        if day_first or month_first:
            return day_first
    raise IngestError(
        f"{source.label}: every date in the file reads both as DD/MM/YYYY and as MM/DD/YYYY; say which with "
        "--dayfirst or --monthfirst."
    )


# --- ThetaData -------------------------------------------------------------------------------------


def _thetadata(source: Source, head: str, options: IngestOptions) -> FileInfo:
    lines = _lines(head)
    names = tuple(name.strip().strip('"').lower() for name in lines[0].split(",")) if lines else ()
    if "timestamp" in names:
        timestamp = TimestampSpec(("timestamp",), ISO)
    elif {"ms_of_day", "date"} <= set(names):
        timestamp = TimestampSpec(("date", "ms_of_day"), DATE_AND_MS_OF_DAY)
    else:
        raise IngestError(
            f"{source.label} does not start with a Theta Terminal CSV header (v3: timestamp,open,high,low,"
            "close,volume,...; v2: ms_of_day,open,...,date); save OHLC responses as CSV with their header."
        )
    _require_columns(source, names, BAR_FIELDS)
    fields = {name: name for name in BAR_FIELDS}
    symbol_column = next((name for name in ("symbol", "root") if name in names), None)
    symbol, attributes = (None, {}) if symbol_column else _ticker(_name_ticker(source, "_"))
    if symbol_column:
        fields["symbol"] = symbol_column
    layout = Layout(",", names, timestamp, fields, header_lines=1)
    return FileInfo(symbol, _adjustment("thetadata", None, options), attributes, layout)


def _require_columns(source: Source, names: tuple[str, ...], wanted: tuple[str, ...]) -> None:
    missing = [name for name in wanted if name not in names]
    if missing:
        raise IngestError(f"{source.label}: its header {list(names)} lacks the column(s) {missing}.")


# --- generic CSV -----------------------------------------------------------------------------------


def _csv(source: Source, head: str, options: IngestOptions) -> FileInfo:
    if source.is_parquet:
        return _parquet(source, options)
    lines = _lines(head)
    if not lines:
        raise IngestError(f"{source.label} is empty; remove it or download it again.")
    delimiter = max((",", ";", "\t", "|"), key=lines[0].count)
    columns = tuple(name.strip().strip('"') for name in lines[0].split(delimiter))
    fields, ts_columns = _mapped_fields(source, columns, options)
    sample = [line.split(delimiter) for line in lines[1:]]
    positions = [columns.index(name) for name in ts_columns]
    texts = [" ".join(row[i].strip().strip('"') for i in positions) for row in sample if len(row) == len(columns)]
    layout = Layout(delimiter, columns, TimestampSpec(ts_columns, _csv_time_format(source, texts, options)),
                    fields, header_lines=1)
    return _mapped_file(fields, layout, options)


def _parquet(source: Source, options: IngestOptions) -> FileInfo:
    """A Parquet file: columns by name; a timestamp column is used as it is (naive = local time in --tz)."""
    try:
        with source.open() as stream:
            parquet = pq.ParquetFile(stream)
            schema = parquet.schema_arrow
            columns = tuple(schema.names)
            fields, ts_columns = _mapped_fields(source, columns, options)
            sample = parquet.read_row_group(0, columns=list(ts_columns)).slice(0, _SNIFF_LINES) if parquet.num_row_groups else None
    except (pa.ArrowInvalid, OSError) as error:
        raise IngestError(f"{source.label} is not a readable Parquet file ({error}).") from error
    ts_type = schema.field(ts_columns[0]).type
    tz = None
    if len(ts_columns) == 1 and pa.types.is_timestamp(ts_type):
        timestamp = TimestampSpec(ts_columns, NATIVE)
        tz = ts_type.tz
    else:
        texts = [] if sample is None else [
            " ".join(str(value) for value in row) for row in zip(*(sample.column(name).to_pylist() for name in ts_columns))
        ]
        timestamp = TimestampSpec(ts_columns, _csv_time_format(source, texts, options))
    return _mapped_file(fields, Layout(",", columns, timestamp, fields), options, tz)


def _mapped_fields(
    source: Source, columns: tuple[str, ...], options: IngestOptions
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Bar field -> column (from --map, else the same name in any case), and the time stamp's columns."""
    by_lower = {name.lower(): name for name in columns}

    def column_for(field_name: str, default: str | None) -> str | None:
        wanted = options.column_map.get(field_name, default)
        if wanted is None:
            return None
        if wanted.lower() not in by_lower:
            raise IngestError(
                f"{source.label}: no column {wanted!r} for {field_name} (the header has {list(columns)}); "
                f"map it with --map {field_name}=COLUMN."
            )
        return by_lower[wanted.lower()]

    fields = {name: column_for(name, name) for name in BAR_FIELDS}
    symbol_column = column_for("symbol", "symbol" if "symbol" in by_lower else None)
    if symbol_column:
        fields["symbol"] = symbol_column
    elif not options.symbol:
        raise IngestError(
            f"{source.label} has no symbol column; name it with --map symbol=COLUMN or give --symbol TICKER."
        )
    return fields, _csv_time_columns(source, options, by_lower)


def _mapped_file(fields: dict[str, str], layout: Layout, options: IngestOptions, tz: str | None = None) -> FileInfo:
    symbol, attributes = (None, {}) if "symbol" in fields else _ticker(options.symbol or "")
    return FileInfo(symbol, _adjustment("csv", None, options), attributes, layout, tz)


def _csv_time_columns(source: Source, options: IngestOptions, by_lower: dict[str, str]) -> tuple[str, ...]:
    wanted = options.column_map.get("ts")
    if wanted is None:
        wanted = next((name for name in ("timestamp", "datetime", "ts", "time") if name in by_lower), None)
        if wanted is None and {"date", "time"} <= set(by_lower):
            wanted = "date+time"
    if wanted is None:
        raise IngestError(
            f"{source.label}: cannot tell which column holds the time stamp; map it with --map ts=COLUMN "
            "(or --map ts=DATE+TIME for separate date and time columns)."
        )
    missing = [part for part in wanted.split("+") if part.lower() not in by_lower]
    if missing:
        raise IngestError(f"{source.label}: no column(s) {missing} for the time stamp (--map ts={wanted}).")
    return tuple(by_lower[part.lower()] for part in wanted.split("+"))


def _csv_time_format(source: Source, texts: list[str], options: IngestOptions) -> str:
    """The first format that reads most sample time stamps: ISO 8601, or a common strptime layout.

    Counted with the parser the rows will go through (Arrow's), not Python's: `datetime.fromisoformat`
    also reads forms Arrow's ISO 8601 cast refuses (`20240308 09:30`), which would pick a format under
    which every row is unparseable.
    """
    values = pa.array(texts, pa.string())

    def reads(fmt: str) -> int:
        if fmt == ISO:
            parsed = cast_tolerant(values, pa.timestamp("ns"))
        else:
            parsed = pc.strptime(values, format=fmt, unit="ns", error_is_null=True)
        return len(values) - parsed.null_count

    formats = [ISO, *_CSV_TIME_FORMATS]
    if options.dayfirst:
        formats = [ISO, *(fmt.replace("%m/%d", "%d/%m") for fmt in _CSV_TIME_FORMATS)]
    best = max(formats, key=reads)
    if not texts or reads(best) * 2 < len(texts):
        raise IngestError(
            f"{source.label}: its time stamps (e.g. {texts[:1]}) are in no format tapescan knows; "
            "write them as YYYY-MM-DD HH:MM:SS."
        )
    return best


_READERS: dict[str, Callable[[Source, str, IngestOptions], FileInfo]] = {
    "firstrate": _firstrate,
    "kibot": _kibot,
    "backtestmarket": _backtestmarket,
    "thetadata": _thetadata,
    "csv": _csv,
}


def _check_sample(vendor: str, source: Source, head: str, layout: Layout) -> None:
    """Refuse a file whose first lines mostly do not parse as `layout`: it is not this vendor's format."""
    rows, good = _sample_counts(head, layout)
    if rows == 0 or good * 2 >= rows:  # a header-only file (a month without data) is fine
        return
    lines = head.split("\n")[layout.header_lines :]
    first = next((line.strip("\r") for line in lines if line.strip()), "")
    raise IngestError(
        f"{source.label} does not look like a {vendor} file: its first line {first[:120]!r} does not read as "
        f"{layout.delimiter.join(layout.columns)} ({layout.timestamp.describe()}). Check the vendor named "
        "on the command line."
    )


def _reads_as(head: str, *layouts: Layout) -> bool:
    """Whether the first lines after the header hold rows and mostly parse as one of `layouts`."""
    return any(rows and good * 2 >= rows for rows, good in (_sample_counts(head, layout) for layout in layouts))


def _sample_counts(head: str, layout: Layout) -> tuple[int, int]:
    """(rows, rows that parse) among the first lines after the header, read as `layout`."""
    lines = head.split("\n")[layout.header_lines : layout.header_lines + _SNIFF_LINES]
    block = parse_block("\n".join(lines).encode() + b"\n", layout, 1)
    return int((~block.blank).sum()) + len(block.wrong_columns), int(block.parsed.sum())
