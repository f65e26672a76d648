"""Vendor wall-clock times to UTC instants, with daylight saving handled exactly.

Vendors write naive local times (US Eastern for almost all). Converting them needs the UTC offset of each
row's day. Offsets change only on transition days, so every other row is converted with one offset per
day (a table lookup); rows on transition days go through Arrow's time-zone database, and rows whose local
time does not exist (the hour skipped in spring) or exists twice (the hour repeated in autumn) are
reported rather than guessed. In US zones these hours fall on Sunday nights, never in a session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tapescan.calendar import NS_PER_DAY, NS_PER_HOUR


@dataclass(frozen=True)
class Localized:
    """UTC nanoseconds per row, and which rows had a local time that does not exist or is ambiguous."""

    utc_ns: np.ndarray
    nonexistent: np.ndarray
    ambiguous: np.ndarray


def localize(local_ns: np.ndarray, tz: str) -> Localized:
    """Interpret naive local nanoseconds in zone `tz`."""
    n = len(local_ns)
    nonexistent = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    if n == 0:
        return Localized(np.zeros(0, dtype=np.int64), nonexistent, ambiguous)
    days = local_ns // NS_PER_DAY
    first, last = year_span(int(days.min()), int(days.max()))
    offsets, transition = _day_offsets(first, last, tz)
    index = days - first
    utc = local_ns - offsets[index]
    on_transition = transition[index]
    if on_transition.any():
        rows = np.flatnonzero(on_transition)
        naive = pa.array(local_ns[rows], pa.timestamp("ns"))
        earliest = _assume(naive, tz, "earliest")
        latest = _assume(naive, tz, "latest")
        differ = earliest != latest
        utc[rows] = earliest
        ambiguous[rows] = differ & (latest - earliest == NS_PER_HOUR)
        nonexistent[rows] = differ & ~ambiguous[rows]
    return Localized(utc, nonexistent, ambiguous)


def _assume(naive: pa.Array, tz: str, resolve: str) -> np.ndarray:
    aware = pc.assume_timezone(naive, timezone=tz, ambiguous=resolve, nonexistent=resolve)
    return aware.cast(pa.int64()).to_numpy()


def year_span(first_day: int, last_day: int) -> tuple[int, int]:
    """The whole calendar years (days since 1970) that hold [first_day, last_day]: a cache-friendly span."""
    years = np.array([first_day, last_day], dtype="datetime64[D]").astype("datetime64[Y]")
    start = years[0].astype("datetime64[D]").astype(np.int64)
    end = (years[1] + 1).astype("datetime64[D]").astype(np.int64) - 1
    return int(start), int(end)


@functools.lru_cache(maxsize=64)
def _day_offsets(first_day: int, last_day: int, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC offset (ns) at local noon of each day in [first_day, last_day]; and which days change offset."""
    noon_ns = np.arange(first_day - 1, last_day + 2, dtype=np.int64) * NS_PER_DAY + 12 * NS_PER_HOUR
    noons = pd.DatetimeIndex(noon_ns.astype("datetime64[ns]"))
    aware = noons.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").as_unit("ns")
    offsets = noon_ns - aware.asi8
    bad = aware.isna()
    changes = (offsets[1:-1] != offsets[:-2]) | (offsets[1:-1] != offsets[2:]) | bad[1:-1] | bad[:-2] | bad[2:]
    return offsets[1:-1], np.asarray(changes)
