"""The compiled parser for fixed vendor layouts gives exactly what the general (Arrow) path gives, or
gives up on the block; its oracle is the general path, an independent implementation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapescan.ingest import parse
from tapescan.ingest.fastparse import fast_layout, parse_fixed
from tapescan.ingest.layout import BAR_FIELDS, ISO, Layout, TimestampSpec
from tapescan.ingest.parse import ParsedBlock, parse_block

LAYOUTS = {
    "firstrate": Layout(",", ("datetime", *BAR_FIELDS), TimestampSpec(("datetime",), ISO), {f: f for f in BAR_FIELDS}),
    "kibot": Layout(",", ("date", "time", *BAR_FIELDS), TimestampSpec(("date", "time"), "%m/%d/%Y %H:%M"),
                    {f: f for f in BAR_FIELDS}),
    "backtestmarket": Layout(";", ("date", "time", *BAR_FIELDS), TimestampSpec(("date", "time"), "%d/%m/%Y %H:%M"),
                             {f: f for f in BAR_FIELDS}),
}

prices = st.one_of(
    st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False).map(str),
    st.decimals(min_value=0, max_value=10, places=6, allow_nan=False).map(str),
    st.floats(min_value=-5, max_value=1e6, allow_nan=False).map(repr),  # up to 17 significant digits
    st.sampled_from(["0", "-0", "1.", ".5", "1e3", "+1.5", "x", "", "007.50", "12345678901234567.5", "nan"]),
)
volumes = st.one_of(st.integers(-10, 10**12).map(str), st.sampled_from(["1.5", "", "1e3", "0", "9" * 19]))


@st.composite
def stamps(draw, name: str) -> str:
    year, month, day = draw(st.sampled_from([1677, 1990, 2024, 2030, 2262])), draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 24)), draw(st.integers(0, 60)), draw(st.sampled_from([0, 0, 0, 30, 60]))
    if name == "firstrate":
        return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    first, second_part = (month, day) if name == "kibot" else (day, month)
    separator = LAYOUTS[name].delimiter
    return f"{first:02d}/{second_part:02d}/{year:04d}{separator}{hour:02d}:{minute:02d}"


@st.composite
def blocks(draw, name: str) -> bytes:
    separator = LAYOUTS[name].delimiter
    valid = st.builds(
        lambda stamp, o, h, lo, c, v: separator.join([stamp, o, h, lo, c, v]),
        stamps(name), prices, prices, prices, prices, volumes,
    )
    junk = st.sampled_from(["", "garbage", separator.join(["1"] * 8), "2024-01-02 09:30:00"])
    lines = draw(st.lists(st.one_of(valid, valid, valid, junk), min_size=1, max_size=30))
    endings = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines), max_size=len(lines)))
    return "".join(line + end for line, end in zip(lines, endings)).encode()


def general_path(block: bytes, layout: Layout, first_line: int) -> ParsedBlock:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "fast_layout", lambda layout: None)
        return parse_block(block, layout, first_line)


def assert_same(fast: ParsedBlock, general: ParsedBlock) -> None:
    assert fast.lines == general.lines
    assert fast.wrong_columns == general.wrong_columns
    for name in ("line", "blank", "parsed"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(general, name), err_msg=name)
    ok = general.parsed
    for name in ("local_ns", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(fast, name)[ok], getattr(general, name)[ok], err_msg=name)
    rows = np.flatnonzero(~general.blank)
    assert fast.raw(rows) == general.raw(rows)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_the_vendor_layouts_have_a_compiled_shape(name):
    assert fast_layout(LAYOUTS[name]) is not None


@pytest.mark.parametrize("name", list(LAYOUTS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_parser_equals_the_general_path(name, data):
    block = data.draw(blocks(name))
    assert_same(parse_block(block, LAYOUTS[name], 7), general_path(block, LAYOUTS[name], 7))


CLEAN = {
    "firstrate": b"2024-01-02 09:30:00,187.15,188.44,183.885,185.64,3458291\r\n2024-02-29 16:00:00,0.0001,1,0.00005,0.5,0\n",
    "kibot": b"01/02/2024,09:30,187.15,188.44,183.885,185.64,3458291\n02/29/2024,16:00,-1.5,1,0.5,0.75,12\n",
    "backtestmarket": b"02/01/2024;09:30;187.15;188.44;183.885;185.64;3458291\n29/02/2024;16:00;1;1;1;1;1\r\n",
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_a_clean_block_takes_the_compiled_path_and_reads_the_same(name):
    layout = LAYOUTS[name]
    assert parse_fixed(CLEAN[name], fast_layout(layout), layout.delimiter) is not None
    assert_same(parse_block(CLEAN[name], layout, 1), general_path(CLEAN[name], layout, 1))


@pytest.mark.parametrize("odd", ["12345678901234567.5", "1e3", "x", "2024-02-30 09:30:00", ""])
def test_a_block_the_compiled_parser_cannot_read_exactly_goes_the_general_way(odd):
    layout = LAYOUTS["firstrate"]
    line = f"2024-01-02 09:31:00,{odd},2,1,1.5,10" if not odd.startswith("2024") else f"{odd},1,2,1,1.5,10"
    block = CLEAN["firstrate"] + line.encode() + b"\n"
    assert parse_fixed(block, fast_layout(layout), layout.delimiter) is None
    assert_same(parse_block(block, layout, 1), general_path(block, layout, 1))


@st.composite
def clean_blocks(draw, name: str) -> bytes:
    """Blocks whose every line the compiled parser must read: real dates and times, prices of at most 15
    significant digits."""
    separator = LAYOUTS[name].delimiter
    exact = st.decimals(min_value=-1000, max_value=10**8 - 1, places=draw(st.integers(0, 6)), allow_nan=False).map(str)
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        day = draw(st.dates(min_value=dt.date(1678, 1, 1), max_value=dt.date(2261, 12, 31)))
        hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
        if name == "firstrate":
            stamp = f"{day:%Y-%m-%d} {hour:02d}:{minute:02d}:{draw(st.integers(0, 59)):02d}"
        else:
            date = f"{day:%m/%d/%Y}" if name == "kibot" else f"{day:%d/%m/%Y}"
            stamp = f"{date}{separator}{hour:02d}:{minute:02d}"
        values = [draw(exact) for _ in range(4)] + [str(draw(st.integers(-10, 10**15 - 1)))]
        rows.append(separator.join([stamp, *values]) + draw(st.sampled_from(["\n", "\r\n"])))
    return "".join(rows).encode()


@pytest.mark.parametrize("name", list(LAYOUTS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_parser_reads_every_clean_block_exactly(name, data):
    layout = LAYOUTS[name]
    block = data.draw(clean_blocks(name))
    assert parse_fixed(block, fast_layout(layout), layout.delimiter) is not None
    assert_same(parse_block(block, layout, 3), general_path(block, layout, 3))


@pytest.mark.parametrize("odd", [
    b"2024-01-02 09:31:00,1,2,1\n",  # a short line: the line break comes where a price should end
    b"2024-01-02 09:31:00,1,2,1,1.5,10\r5\n",  # a carriage return inside the volume
    b"2024-01-02 09:31:00,1,2,1,1.5,10\r\r\n",  # two before the line break
    b"2024-01-02 09:31\n",  # a line break inside the time stamp
    b"2024-01-02 09:31:00,1,2,1,1.5,10,7\n",  # a field too many
])
def test_a_line_cut_short_or_run_on_sends_the_block_the_general_way(odd):
    """The compiled parser reads each line in one pass, finding its end as it goes: a line break or carriage
    return where a field should continue or end makes it give up, never read into the next line."""
    layout = LAYOUTS["firstrate"]
    block = CLEAN["firstrate"] + odd + b"2024-01-02 09:32:00,1,2,1,1.5,10\n"
    assert parse_fixed(block, fast_layout(layout), layout.delimiter) is None
    assert_same(parse_block(block, layout, 1), general_path(block, layout, 1))
