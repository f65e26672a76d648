"""How a vendor's text lines map to bar fields: delimiter, column names, and how to build the time stamp."""

from __future__ import annotations

from dataclasses import dataclass

#: Fields every bar needs, besides its time stamp.
BAR_FIELDS = ("open", "high", "low", "close", "volume")

#: TimestampSpec.format values that are not strptime formats.
ISO = "iso8601"  # any ISO 8601 date-time, with a space or T, with or without fractions of a second
DATE_AND_MS_OF_DAY = "yyyymmdd+ms_of_day"  # ThetaData v2: an integer date and milliseconds since midnight
NATIVE = "native"  # a Parquet timestamp column (naive: local time; with a zone: converted to that zone's wall time)


@dataclass(frozen=True)
class TimestampSpec:
    """The columns that hold a row's local date and time (joined with a space), and their format."""

    fields: tuple[str, ...]
    format: str

    def describe(self) -> str:
        return f"{'+'.join(self.fields)} as {self.format}"


@dataclass(frozen=True)
class Layout:
    """One file's line layout.

    `columns` names every column in file order; `fields` maps each bar field (open, high, low, close,
    volume, and symbol when the file has a symbol column) to its column name.
    """

    delimiter: str
    columns: tuple[str, ...]
    timestamp: TimestampSpec
    fields: dict[str, str]
    header_lines: int = 0

    def column(self, field: str) -> str:
        return self.fields[field]

    @property
    def symbol_column(self) -> str | None:
        return self.fields.get("symbol")
