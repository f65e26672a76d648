"""A compiled parser for the fixed vendor layouts, tried before the general (Arrow) path.

FirstRateData (`2024-01-02 09:30:00,o,h,l,c,v`), Kibot (`01/02/2024,09:30,o,h,l,c,v`) and BacktestMarket
(`02/01/2024;09:30;o;h;l;c;v`) lines have one fixed shape. For a block in which every line has exactly that
shape, one numba pass over the bytes yields the columns directly, without the string columns the general
path builds. The pass gives up on the whole block (returns None) at the first line it cannot read
*exactly* as Arrow would — a blank or short line, an exponent, more than 15 significant digits, an
impossible date, anything unexpected — and the block then takes the general path, which owns every rule
about rejected rows. Its results are therefore identical to the general path's (tests/test_ingest_fastparse.py).

Why exact: a price with at most 15 significant digits and at most 22 decimals is `m / 10**k` with `m` and
`10**k` both exact doubles, so the one division is correctly rounded, which is what Arrow's parser returns.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tapescan.calendar import NS_PER_SECOND
from tapescan.ingest.layout import BAR_FIELDS, ISO, Layout

ISO_DATETIME, MONTH_FIRST, DAY_FIRST = 0, 1, 2
_POWERS_OF_TEN = np.array([10.0**k for k in range(23)])
_MAX_DIGITS = 15


def fast_layout(layout: Layout) -> int | None:
    """The compiled shape that `layout` has, or None when it has none (the general path then parses)."""
    fields = BAR_FIELDS
    if layout.symbol_column is not None or layout.fields != {name: name for name in fields}:
        return None
    if layout.columns == ("datetime", *fields) and layout.timestamp.format == ISO:
        return ISO_DATETIME
    if layout.columns == ("date", "time", *fields):
        return {"%m/%d/%Y %H:%M": MONTH_FIRST, "%d/%m/%Y %H:%M": DAY_FIRST}.get(layout.timestamp.format)
    return None


def parse_fixed(block: bytes, shape: int, delimiter: str) -> tuple[np.ndarray, ...] | None:
    """(local_ns, open, high, low, close, volume, line_starts, line_ends) of every line, or None."""
    data = np.frombuffer(block, dtype=np.uint8)
    lines = block.count(b"\n")
    out_ns = np.empty(lines, dtype=np.int64)
    prices = np.empty((4, lines), dtype=np.float64)
    volume = np.empty(lines, dtype=np.int64)
    starts = np.empty(lines, dtype=np.int64)
    ends = np.empty(lines, dtype=np.int64)
    done = _parse(data, shape, ord(delimiter), _POWERS_OF_TEN, out_ns, prices, volume, starts, ends)
    if done != lines:
        return None
    return out_ns, prices[0], prices[1], prices[2], prices[3], volume, starts, ends


@njit(cache=True)
def _digits(data, at, count):
    """The value of `count` ASCII digits at `at`, or -1."""
    value = 0
    for i in range(at, at + count):
        c = data[i]
        if c < 48 or c > 57:
            return -1
        value = value * 10 + (c - 48)
    return value


@njit(cache=True)
def _days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True)
def _days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


@njit(cache=True)
def _stamp(data, at, end, shape, delim):
    """(local seconds, position after the time stamp and its delimiter), or (-1, -1)."""
    if shape == ISO_DATETIME:  # YYYY-MM-DD HH:MM:SS,
        if at + 20 > end or data[at + 4] != 45 or data[at + 7] != 45 or data[at + 10] != 32:
            return -1, -1
        if data[at + 13] != 58 or data[at + 16] != 58 or data[at + 19] != delim:
            return -1, -1
        y, mo, d = _digits(data, at, 4), _digits(data, at + 5, 2), _digits(data, at + 8, 2)
        h, mi, s = _digits(data, at + 11, 2), _digits(data, at + 14, 2), _digits(data, at + 17, 2)
        after = at + 20
    else:  # MM/DD/YYYY<d>HH:MM<d> or DD/MM/YYYY<d>HH:MM<d>
        if at + 17 > end or data[at + 2] != 47 or data[at + 5] != 47 or data[at + 10] != delim:
            return -1, -1
        if data[at + 13] != 58 or data[at + 16] != delim:
            return -1, -1
        first, second, y = _digits(data, at, 2), _digits(data, at + 3, 2), _digits(data, at + 6, 4)
        mo, d = (first, second) if shape == MONTH_FIRST else (second, first)
        h, mi, s = _digits(data, at + 11, 2), _digits(data, at + 14, 2), 0
        after = at + 17
    if y < 1678 or y > 2261 or mo < 1 or mo > 12 or d < 1 or h < 0 or h > 23 or mi < 0 or mi > 59 or s < 0 or s > 59:
        return -1, -1  # (years outside 1678-2261 do not fit nanosecond time stamps)
    if d > _days_in_month(y, mo):
        return -1, -1
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s, after


@njit(cache=True)
def _number(data, at, stop, powers, integer):
    """(value, position of the `stop` byte ending it), or (nan, -1) when it is not exactly readable.

    An integer (the volume, the line's last field) also ends at a carriage return; the caller checks what
    follows it.
    """
    n = len(data)
    negative = at < n and data[at] == 45
    i = at + 1 if negative else at
    mantissa = 0
    digits = 0
    decimals = -1
    while i < n:
        c = data[i]
        if c == stop or (integer and c == 13):
            break
        if c == 46 and decimals < 0 and not integer:
            decimals = 0
        elif 48 <= c <= 57:
            if mantissa > 0 or c != 48:
                digits += 1
            mantissa = mantissa * 10 + (c - 48)
            if decimals >= 0:
                decimals += 1
        else:
            return np.nan, -1  # another byte, a line break in a price field included (a short line)
        i += 1
    start_digits = at + 1 if negative else at
    if i == n or i == start_digits or data[start_digits] == 46 or data[i - 1] == 46 or digits > _MAX_DIGITS:
        return np.nan, -1  # no end, empty, ".5" or "5." (read only as Arrow surely reads them), or too many digits
    if decimals > 22:
        return np.nan, -1
    value = mantissa / powers[decimals] if decimals > 0 else float(mantissa)
    if negative:
        value = -value
    return value, i


@njit(cache=True)
def _parse(data, shape, delim, powers, out_ns, prices, volume, starts, ends):
    """Fill the outputs line by line, in one pass over each line's bytes; return the number of lines read
    (fewer: give up on the block)."""
    n = len(data)
    at = 0
    row = 0
    while at < n and row < len(out_ns):
        # a line break inside the stamp fails its checks: every byte of it is checked as a digit or a separator
        seconds, pos = _stamp(data, at, n, shape, delim)
        if pos < 0:
            return row
        for field in range(4):
            value, pos = _number(data, pos, delim, powers, False)
            if pos < 0:
                return row
            prices[field, row] = value
            pos += 1
        count, end = _number(data, pos, 10, powers, True)
        if end < 0:
            return row
        content_end = end
        if data[end] == 13:  # \r\n
            end += 1
            if end == n or data[end] != 10:
                return row
        volume[row] = np.int64(count)
        out_ns[row] = seconds * NS_PER_SECOND
        starts[row] = at
        ends[row] = content_end
        row += 1
        at = end + 1
    return row
