"""CSV text (tapescan/csvtext.py) is byte for byte what pandas wrote before: `iso_text(frame).to_csv(index=False)`,
the oracle here, for every column type tapescan writes (and the values that trip a compiled formatter: exponent
forms, -0.0, inf, NaN, quotes, commas, line breaks, offsets and NaT); written part by part it is the same file."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapescan.cli.output import frame_stream
from tapescan.csvtext import BLOCK_ROWS, header_text, write_csv
from tapescan.frames import iso_text, write_frame_atomic

ZONES = ["America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe", "Africa/Monrovia"]


def pandas_text(frame: pd.DataFrame, header: bool = True) -> bytes:
    """The oracle: the text tapescan wrote through pandas before the compiled writer."""
    return iso_text(frame).to_csv(index=False, header=header, lineterminator="\n").encode()


def csv_bytes(frame: pd.DataFrame, header: bool = True) -> bytes:
    sink = io.BytesIO()
    write_csv(frame, sink, header=header)
    return sink.getvalue()


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8) | st.sampled_from(
    ["", ",", '"', "\n", "\r", "a,b", 'say "hi"', "two\nlines", " ", "None", "nan"])
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1.0, 0.1, 1e16, 9999999999999998.0, 1e15, 1e10, 9999999999.999998, 12345678901.5, 1e-4,
     9.999999999999999e-05, 1e-5, 1e-6, 9.99e-7, 5e-324, 1e22, 100.0])


@st.composite
def timestamps(draw, rows: int) -> pd.Series:
    """Time-zone-aware timestamps in several zones (half-hour, DST and odd-second historical offsets), units and
    years (1 to 9999 in seconds), with NaT."""
    unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
    bound = {"s": 250_000_000_000, "ms": 250_000_000_000_000, "us": 250_000_000_000_000_000,
             "ns": 9_000_000_000_000_000_000}[unit]
    low = -62_000_000_000 * (bound // 250_000_000_000) if unit != "ns" else -bound
    ticks = draw(st.lists(st.integers(low, bound) | st.none(), min_size=rows, max_size=rows))
    values = np.array([np.datetime64("NaT") if t is None else np.datetime64(t, unit) for t in ticks],
                      dtype=f"datetime64[{unit}]")
    return pd.Series(values).dt.tz_localize("UTC").dt.tz_convert(draw(st.sampled_from(ZONES)))


@st.composite
def columns(draw, rows: int) -> pd.Series:
    """One column of any type tapescan writes as text."""
    kind = draw(st.sampled_from(["float64", "float32", "int64", "int32", "uint8", "Int64", "boolean", "bool", "str",
                                 "object str", "date", "timestamp", "mixed"]))
    if kind == "float64":
        return pd.Series(draw(st.lists(floats, min_size=rows, max_size=rows)), dtype="float64")
    if kind == "float32":
        return pd.Series(draw(st.lists(st.floats(width=32), min_size=rows, max_size=rows)), dtype="float32")
    if kind in ("int64", "int32", "uint8"):
        info = np.iinfo(kind)
        return pd.Series(draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=rows, max_size=rows)),
                         dtype=kind)
    if kind == "Int64":
        return pd.Series(draw(st.lists(st.integers(-2**63, 2**63 - 1) | st.none(), min_size=rows, max_size=rows)),
                         dtype="Int64")
    if kind in ("boolean", "bool"):
        cells = st.booleans() | st.none() if kind == "boolean" else st.booleans()
        return pd.Series(draw(st.lists(cells, min_size=rows, max_size=rows)), dtype=kind)
    if kind in ("str", "object str"):
        return pd.Series(draw(st.lists(texts | st.none(), min_size=rows, max_size=rows)),
                         dtype="str" if kind == "str" else object)
    if kind == "date":
        cells = st.dates() | st.none() | st.just(pd.NaT) | st.just(float("nan"))
        return pd.Series(draw(st.lists(cells, min_size=rows, max_size=rows)), dtype=object)
    if kind == "timestamp":
        return draw(timestamps(rows))
    cells = st.integers() | floats | texts | st.booleans() | st.dates() | st.datetimes() | st.none()
    return pd.Series(draw(st.lists(cells, min_size=rows, max_size=rows)), dtype=object)


@st.composite
def frames(draw) -> pd.DataFrame:
    rows = draw(st.integers(0, 12))
    names = draw(st.lists(texts | st.just("date"), min_size=1, max_size=5, unique=True))
    frame = pd.DataFrame({name: draw(columns(rows)) for name in names})
    cut = draw(st.integers(0, rows))  # a frame put together from parts holds columns of several Arrow chunks
    return pd.concat([frame.iloc[:cut], frame.iloc[cut:]], ignore_index=True) if draw(st.booleans()) else frame


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_the_text_is_the_pandas_text(frame):
    assert csv_bytes(frame) == pandas_text(frame)
    assert csv_bytes(frame, header=False) == pandas_text(frame, header=False)


def test_the_values_that_differ_between_formatters_are_written_as_pandas_writes_them():
    values = [0.0, -0.0, 1.0, -2.0, 0.1, 1e15, 1e16, 1.2345678901234568e17, 1e-4, 1e-5, 1.5e-7, 5e-324,
              float("inf"), float("-inf"), float("nan"), 1 / 3, 12345.678]
    frame = pd.DataFrame({"x": values, "n": pd.array([None, *range(len(values) - 1)], dtype="Int64")})
    text = csv_bytes(frame).decode()
    assert text.splitlines()[1:6] == ["0.0,", "-0.0,0", "1.0,1", "-2.0,2", "0.1,3"]
    assert "1e+16," in text and "1e-05," in text and "1.5e-07," in text and "\ninf," in text
    assert csv_bytes(frame) == pandas_text(frame)


def test_the_sweep_columns_and_timestamps_read_as_documented():
    frame = pd.DataFrame({"date": [dt.date(2024, 1, 2), None], "symbol": pd.Series(["A,B", 'Q"'], dtype="str"),
                          "ts": pd.Series(pd.to_datetime(["2024-01-02 14:30", None]).tz_localize("UTC"))
                          .dt.tz_convert("America/New_York"), "ok": [True, False]})
    assert csv_bytes(frame) == b'date,symbol,ts,ok\n2024-01-02,"A,B",2024-01-02T09:30:00-05:00,True\n,"Q""",,False\n'
    assert csv_bytes(frame) == pandas_text(frame)


def test_one_empty_field_alone_is_quoted_and_no_columns_give_empty_lines():
    frame = pd.DataFrame({"a": pd.Series(["", None, "x"], dtype="str")})
    assert csv_bytes(frame) == b'a\n""\n""\nx\n' == pandas_text(frame)
    empty = pd.DataFrame(index=range(2))
    assert csv_bytes(empty) == b"\n\n\n" == pandas_text(empty)


def test_many_blocks_join_into_one_text():
    rows = 2 * BLOCK_ROWS + 17
    frame = pd.DataFrame({"x": np.linspace(-1e5, 1e5, rows), "s": pd.Series(np.arange(rows).astype(str), dtype="str")})
    assert csv_bytes(frame) == pandas_text(frame)


def test_a_type_tapescan_does_not_write_is_refused_by_name():
    frame = pd.DataFrame({"span": pd.to_timedelta([1, 2], unit="s")})
    with pytest.raises(TypeError, match="'span'"):
        csv_bytes(frame)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(floats, max_size=6), min_size=1, max_size=4))
def test_a_streamed_file_is_the_one_shot_file(tmp_path, parts):
    frames_ = [pd.DataFrame({"date": [dt.date(2024, 1, 2 + i)] * len(values), "symbol": pd.Series(
        ["A,B"] * len(values), dtype="str"), "price": pd.Series(values, dtype="float64"),
        "volume": pd.array(range(len(values)), dtype="Int64")}) for i, values in enumerate(parts)]
    schema = pa.schema([("date", pa.date32()), ("symbol", pa.string()), ("price", pa.float64()),
                        ("volume", pa.int64())])
    streamed, whole = tmp_path / "streamed.csv", tmp_path / "whole.csv"
    with frame_stream(streamed, schema) as write:
        for frame in frames_:
            write(frame)
    write_frame_atomic(pd.concat(frames_, ignore_index=True), whole)
    assert streamed.read_bytes() == whole.read_bytes() == pandas_text(pd.concat(frames_, ignore_index=True))


def test_the_header_is_quoted_like_any_field():
    assert header_text(["a", "b,c", 'd"']) == b'a,"b,c","d"""\n'
