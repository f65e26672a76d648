"""Why a row is rejected: the checks every parsed row goes through, in a fixed order (the first that
fails names the reason).

A row is a well-formed 1-minute bar when its fields parse, it is not an empty placeholder, it starts on a
whole minute, its local time exists unambiguously, it falls on an NYSE session day, its prices are
finite and positive, its volume is not negative, and low <= open, close <= high.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapescan import calendar
from tapescan.calendar import NS_PER_DAY, NS_PER_MINUTE
from tapescan.ingest.localtime import localize, year_span
from tapescan.ingest.parse import ParsedBlock
from tapescan.store.schema import ET_NAME

#: Reasons in the order they are checked; a row's code is its reason's position + 1 (0: accepted).
REASONS = (
    "wrong_column_count",
    "unparseable",
    "empty_bar",  # a vendor placeholder for a minute without trades (NaN or zero prices, zero volume)
    "not_on_minute",
    "nonexistent_local_time",
    "ambiguous_local_time",
    "non_session_day",
    "non_finite_price",
    "non_positive_price",
    "negative_volume",
    "high_below_low",
    "high_below_open_close",
    "low_above_open_close",
    "conflicting_duplicate",
)
CODE = {reason: code for code, reason in enumerate(REASONS, start=1)}
#: Reasons whose rows are counted but not copied to the quarantine file (they carry no information).
NOT_QUARANTINED = frozenset({"empty_bar"})

_CALENDAR_DAYS = (
    (dt.date(1900, 1, 1) - dt.date(1970, 1, 1)).days,
    (dt.date(2200, 12, 31) - dt.date(1970, 1, 1)).days,
)


@dataclass
class Classified:
    """Per parsed row: its reason code (0 = accepted), UTC time stamp and session day (days since 1970)."""

    reason: np.ndarray
    utc_ns: np.ndarray
    session_day: np.ndarray


def classify(block: ParsedBlock, tz: str) -> Classified:
    """Check every non-blank row of `block`, whose naive times are local to zone `tz`."""
    n = len(block.line)
    parsed = block.parsed
    utc = np.zeros(n, dtype=np.int64)
    nonexistent = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    localized = localize(block.local_ns[parsed], tz)
    utc[parsed] = localized.utc_ns
    nonexistent[parsed] = localized.nonexistent
    ambiguous[parsed] = localized.ambiguous
    day = np.zeros(n, dtype=np.int64)
    day[parsed] = _et_days(block.local_ns[parsed], localized.utc_ns, tz)
    on_session = np.zeros(n, dtype=bool)
    on_session[parsed] = _on_session_days(day[parsed])
    o, h, lo, c, v = block.open, block.high, block.low, block.close, block.volume
    prices = np.stack([o, h, lo, c])
    finite = np.isfinite(prices).all(axis=0)
    empty = (v == 0) & (np.isnan(prices).all(axis=0) | (prices == 0).all(axis=0))
    checks = [
        ~parsed,
        empty,
        block.local_ns % NS_PER_MINUTE != 0,
        nonexistent,
        ambiguous,
        ~on_session,
        ~finite,
        (prices <= 0).any(axis=0),
        v < 0,
        h < lo,
        (h < o) | (h < c),
        (lo > o) | (lo > c),
    ]
    codes = [CODE[name] for name in REASONS[1 : 1 + len(checks)]]
    with np.errstate(invalid="ignore"):
        reason = np.select(checks, codes, default=0).astype(np.uint8)
    reason[block.blank] = 0
    return Classified(reason=reason, utc_ns=utc, session_day=day)


def _et_days(local_ns: np.ndarray, utc_ns: np.ndarray, tz: str) -> np.ndarray:
    """The US Eastern calendar day of each instant (the store files bars under their ET session day)."""
    if tz == ET_NAME:
        return local_ns // NS_PER_DAY
    et_local = pc.local_timestamp(pa.array(utc_ns, pa.timestamp("ns", tz=ET_NAME)))
    return et_local.cast(pa.int64()).to_numpy() // NS_PER_DAY


def _on_session_days(days: np.ndarray) -> np.ndarray:
    """Whether each day (days since 1970) is an NYSE session; days beyond the calendar are not."""
    if len(days) == 0:
        return np.zeros(0, dtype=bool)
    first, last = year_span(int(days.min()), int(days.max()))
    lookup = _session_lookup(first, last)
    inside = (days >= first) & (days <= last)
    result = np.zeros(len(days), dtype=bool)
    result[inside] = lookup[days[inside] - first]
    return result


@functools.lru_cache(maxsize=64)
def _session_lookup(first: int, last: int) -> np.ndarray:
    """True at [day - first] for each session day in [first, last] (clamped to the calendar's range)."""
    lookup = np.zeros(last - first + 1, dtype=bool)
    low, high = max(first, _CALENDAR_DAYS[0]), min(last, _CALENDAR_DAYS[1])
    if low <= high:
        epoch = dt.date(1970, 1, 1)
        sessions = calendar.session_table(epoch + dt.timedelta(low), epoch + dt.timedelta(high))
        lookup[sessions.index.values.astype("datetime64[D]").astype(np.int64) - first] = True
    lookup.flags.writeable = False
    return lookup
