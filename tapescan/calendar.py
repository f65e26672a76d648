"""The NYSE trading calendar: which days are sessions, and when each regular session opens and closes.

Everything comes from pandas-market-calendars (`NYSE`), in America/New_York time (ET), including its
documented late opens and unscheduled early closes (see docs/CALENDAR.md). The schedule is built once, on
first use, for 1990-2040 and extended when a request falls outside; after that every query is a binary
search over numpy arrays, so the functions are cheap enough to call per bar or per symbol.
"""

from __future__ import annotations

import datetime
import functools
import re
import warnings
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from tapescan import calendar_cache
from tapescan.errors import CalendarError

ET = ZoneInfo("America/New_York")

DateLike = str | datetime.date | datetime.datetime | pd.Timestamp

# The span built on first use, and the widest span the calendar will extend to.
_DEFAULT_SPAN = (datetime.date(1990, 1, 1), datetime.date(2040, 12, 31))
_LIMITS = (datetime.date(1900, 1, 1), datetime.date(2200, 12, 31))
# Extra days built around an out-of-span request, so that neighbouring sessions are found too.
_MARGIN = datetime.timedelta(days=366)

_REGULAR_OPEN_MINUTE = 9 * 60 + 30
_REGULAR_CLOSE_MINUTE = 16 * 60
#: Minutes of a full regular session, 09:30-16:00 ET (an early close has fewer).
REGULAR_MINUTES = _REGULAR_CLOSE_MINUTE - _REGULAR_OPEN_MINUTE
#: Bar timestamps are int64 nanoseconds since the epoch; a day, an hour, a minute and a second of them.
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR
#: A 1-minute bar's span, as pandas arithmetic on timestamps wants it.
ONE_MINUTE = pd.Timedelta(minutes=1)

FALLBACK_CLOSURE_NAME = "Market closed (special closure)"

# pandas-market-calendars' holiday rule names -> the names the NYSE publishes. Unlisted rule names are
# shown as pmc spells them.
_HOLIDAY_NAMES = {
    "New Years Day": "New Year's Day",
    "New Years Day Before Saturday Trading Ceased": "New Year's Day",
    "Dr. Martin Luther King Jr. Day": "Martin Luther King Jr. Day",
    "Presidents Day": "Washington's Birthday",
    "Washingtons Birthday": "Washington's Birthday",
    "Lincolns Birthday": "Lincoln's Birthday",
    "Good Friday 1908+": "Good Friday",
    "Good Friday Before 1898": "Good Friday",
    "Good Friday 1899 to 1905": "Good Friday",
    "Memorial Day": "Memorial Day",
    "Juneteenth Starting at 2022": "Juneteenth National Independence Day",
    "July 4th": "Independence Day",
    "Labor Day": "Labor Day",
    "Columbus Day": "Columbus Day",
    "Election Day": "Election Day",
    "Veteran Day": "Veterans Day",
    "Thanksgiving": "Thanksgiving Day",
    "Thanksgiving Before 1939": "Thanksgiving Day",
    "Thanksgiving 1939 to 1941": "Thanksgiving Day",
    "Christmas": "Christmas Day",
}

# pmc lists one-off closures by date only; these are their causes (every one since 1990).
_SPECIAL_CLOSURES = {
    datetime.date(1994, 4, 27): "National Day of Mourning for President Richard Nixon",
    datetime.date(2001, 9, 11): "September 11 attacks",
    datetime.date(2001, 9, 12): "September 11 attacks",
    datetime.date(2001, 9, 13): "September 11 attacks",
    datetime.date(2001, 9, 14): "September 11 attacks",
    datetime.date(2004, 6, 11): "National Day of Mourning for President Ronald Reagan",
    datetime.date(2007, 1, 2): "National Day of Mourning for President Gerald Ford",
    datetime.date(2012, 10, 29): "Hurricane Sandy",
    datetime.date(2012, 10, 30): "Hurricane Sandy",
    datetime.date(2018, 12, 5): "National Day of Mourning for President George H. W. Bush",
    datetime.date(2025, 1, 9): "National Day of Mourning for President Jimmy Carter",
}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _utc_ns(instants: pd.Series) -> np.ndarray:
    """Time-zone-aware instants as int64 nanoseconds since the epoch (UTC)."""
    return instants.dt.tz_convert(None).to_numpy().astype("datetime64[ns]").view("int64")


@dataclass(frozen=True)
class _Schedule:
    """Sessions and weekday closures over [first, last], as sorted arrays for binary search."""

    first: datetime.date
    last: datetime.date
    days: np.ndarray  # datetime64[D], one per session, ascending
    open_ns: np.ndarray  # int64 UTC nanoseconds
    close_ns: np.ndarray
    closures: dict[datetime.date, str]  # weekday non-sessions -> holiday name

    @classmethod
    def load_or_build(cls, first: datetime.date, last: datetime.date) -> _Schedule:
        """The schedule over [first, last] from the on-disk copy (tapescan/calendar_cache.py), else built and
        stored there."""
        path = calendar_cache.path_for(first.isoformat(), last.isoformat(), (_HOLIDAY_NAMES, _SPECIAL_CLOSURES))
        stored = calendar_cache.load(path)
        if stored is not None:
            names = stored["closure_names"].tolist()
            return cls(first=first, last=last, days=stored["days"], open_ns=stored["open_ns"],
                       close_ns=stored["close_ns"],
                       closures=dict(zip(stored["closure_days"].astype(object), names, strict=True)))
        schedule = cls.build(first, last)
        closure_days = np.asarray(list(schedule.closures), dtype="datetime64[D]")
        calendar_cache.save(path, {"days": schedule.days, "open_ns": schedule.open_ns, "close_ns": schedule.close_ns,
                                   "closure_days": closure_days,
                                   "closure_names": np.asarray(list(schedule.closures.values()), dtype=str)})
        return schedule

    @classmethod
    def build(cls, first: datetime.date, last: datetime.date) -> _Schedule:
        """Ask pandas-market-calendars once for the whole span (about 0.3 s for 50 years)."""
        import pandas_market_calendars as mcal  # slow import, needed only here

        nyse = mcal.get_calendar("NYSE")
        with warnings.catch_warnings():  # pmc 5.5 uses pandas APIs that pandas 3.1 deprecates; not ours to fix
            warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
            schedule = nyse.schedule(first.isoformat(), last.isoformat())
        days = schedule.index.values.astype("datetime64[D]")
        weekdays = pd.bdate_range(first, last).values.astype("datetime64[D]")
        closed = np.setdiff1d(weekdays, days)
        rules = nyse.regular_holidays.holidays(first.isoformat(), last.isoformat(), return_name=True)
        rule_names = {day.date(): _HOLIDAY_NAMES.get(name, name) for day, name in rules.items()}
        closures = {
            day: rule_names.get(day) or _SPECIAL_CLOSURES.get(day, FALLBACK_CLOSURE_NAME)
            for day in closed.astype(object)
        }
        return cls(
            first=first,
            last=last,
            days=days,
            open_ns=_utc_ns(schedule["market_open"]),
            close_ns=_utc_ns(schedule["market_close"]),
            closures=closures,
        )

    def covers(self, first: datetime.date, last: datetime.date) -> bool:
        """Whether [first, last] lies inside the built span."""
        return self.first <= first and last <= self.last


class _Cache:
    """The one built schedule, widened (rebuilt) when a request falls outside it."""

    def __init__(self) -> None:
        self._schedule: _Schedule | None = None

    def get(self, first: datetime.date, last: datetime.date) -> _Schedule:
        """A schedule covering [first, last] plus a margin when it has to be widened."""
        for day in (first, last):
            if not _LIMITS[0] <= day <= _LIMITS[1]:
                raise CalendarError(
                    f"{day.isoformat()} is outside the calendar's range "
                    f"{_LIMITS[0].isoformat()} to {_LIMITS[1].isoformat()}."
                )
        current = self._schedule
        if current is not None and current.covers(first, last):
            return current
        low, high = _DEFAULT_SPAN if current is None else (current.first, current.last)
        if first < low:
            low = max(first - _MARGIN, _LIMITS[0])
        if last > high:
            high = min(last + _MARGIN, _LIMITS[1])
        self._schedule = _Schedule.load_or_build(low, high)
        return self._schedule


_CACHE = _Cache()


def to_date(value: DateLike) -> datetime.date:
    """The calendar date of `value`: a 'YYYY-MM-DD' string, a date, or a datetime/Timestamp.

    A time-zone-aware datetime is first converted to ET, so that an instant maps to its NYSE trading date;
    a naive one is taken as written.
    """
    if isinstance(value, datetime.datetime):  # includes pd.Timestamp; checked before date (its base)
        if pd.isna(value):
            raise CalendarError("a date is missing (NaT); give a date such as 2024-01-02.")
        if value.tzinfo is not None:
            value = value.astimezone(ET)
        return datetime.date(value.year, value.month, value.day)
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError as error:
            raise CalendarError(f"{value!r} is not a valid date: {error}.") from None
    raise CalendarError(f"{value!r} is not a date; write it as YYYY-MM-DD, for example 2024-01-02.")


def _day64(day: datetime.date) -> np.datetime64:
    """`day` as a numpy day, for searching the session array."""
    return np.datetime64(day, "D")


def _range(start: DateLike, end: DateLike) -> tuple[_Schedule, int, int]:
    """The schedule and the slice [i, j) of its sessions from `start` to `end` inclusive."""
    first, last = to_date(start), to_date(end)
    if first > last:
        raise CalendarError(f"the start {first.isoformat()} is after the end {last.isoformat()}.")
    schedule = _CACHE.get(first, last)
    i = int(np.searchsorted(schedule.days, _day64(first), side="left"))
    j = int(np.searchsorted(schedule.days, _day64(last), side="right"))
    return schedule, i, j


def _et_times(ns: np.ndarray) -> pd.DatetimeIndex:
    """UTC nanoseconds as ET timestamps."""
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(ET)


def sessions(start: DateLike, end: DateLike) -> pd.DataFrame:
    """Every session from `start` to `end` inclusive: date, open, close (ET), early_close, late_open.

    `early_close` means the close is before 16:00 ET, `late_open` that the open is after 09:30 ET.
    """
    schedule, i, j = _range(start, end)
    opens = _et_times(schedule.open_ns[i:j])
    closes = _et_times(schedule.close_ns[i:j])
    return pd.DataFrame(
        {
            "date": schedule.days[i:j].astype(object),
            "open": opens,
            "close": closes,
            "early_close": np.asarray(closes.hour * 60 + closes.minute < _REGULAR_CLOSE_MINUTE),
            "late_open": np.asarray(opens.hour * 60 + opens.minute > _REGULAR_OPEN_MINUTE),
        }
    )


def session_table(start: DateLike, end: DateLike) -> pd.DataFrame:
    """Sessions from `start` to `end` for vectorized lookups over millions of bars.

    Indexed by a naive datetime64[ns] `date` index (midnight of each session date); columns `open_ns` and
    `close_ns` are the session bounds as int64 nanoseconds since the epoch (UTC instants).
    """
    schedule, i, j = _range(start, end)
    index = pd.DatetimeIndex(schedule.days[i:j].astype("datetime64[ns]"), name="date")
    return pd.DataFrame(
        {"open_ns": schedule.open_ns[i:j].copy(), "close_ns": schedule.close_ns[i:j].copy()}, index=index
    )


def _position(day: datetime.date) -> tuple[_Schedule, int]:
    """The schedule (covering `day`) and the index of the first session on or after `day`."""
    schedule = _CACHE.get(day, day)
    return schedule, int(np.searchsorted(schedule.days, _day64(day), side="left"))


def is_session(day: DateLike) -> bool:
    """Whether the NYSE holds a regular session on `day`."""
    date = to_date(day)
    schedule, i = _position(date)
    return i < len(schedule.days) and schedule.days[i] == _day64(date)


def previous_session(day: DateLike) -> datetime.date:
    """The last session strictly before `day` (which need not be a session)."""
    date = to_date(day)
    schedule, i = _position(date)
    while i == 0:  # the built span starts after the answer: widen it backwards
        schedule = _CACHE.get(schedule.first - datetime.timedelta(days=1), date)
        i = int(np.searchsorted(schedule.days, _day64(date), side="left"))
    return schedule.days[i - 1].astype(object)


def next_session(day: DateLike) -> datetime.date:
    """The first session strictly after `day` (which need not be a session)."""
    date = to_date(day)
    schedule = _CACHE.get(date, date)
    i = int(np.searchsorted(schedule.days, _day64(date), side="right"))
    while i == len(schedule.days):  # the built span ends before the answer: widen it forwards
        schedule = _CACHE.get(date, schedule.last + datetime.timedelta(days=1))
        i = int(np.searchsorted(schedule.days, _day64(date), side="right"))
    return schedule.days[i].astype(object)


def sessions_before(day: DateLike, n: int) -> list[datetime.date]:
    """The `n` sessions immediately before `day` (excluded), oldest first: a look-back window."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise CalendarError(f"the number of sessions must be a whole number >= 0, not {n!r}.")
    date = to_date(day)
    schedule, i = _position(date)
    while i < n:  # not enough history built: widen it backwards
        schedule = _CACHE.get(schedule.first - datetime.timedelta(days=1), date)
        i = int(np.searchsorted(schedule.days, _day64(date), side="left"))
    return list(schedule.days[i - n : i].astype(object))


def holidays(start: DateLike, end: DateLike) -> pd.DataFrame:
    """Weekday full-day market closures from `start` to `end` inclusive: columns date, name."""
    first, last = to_date(start), to_date(end)
    if first > last:
        raise CalendarError(f"the start {first.isoformat()} is after the end {last.isoformat()}.")
    closures = _CACHE.get(first, last).closures
    rows = sorted((day, name) for day, name in closures.items() if first <= day <= last)
    return pd.DataFrame(rows, columns=["date", "name"]).astype({"date": object, "name": object})


def holiday_name(day: DateLike) -> str | None:
    """The name of the weekday market holiday on `day`, or None (a session or a weekend)."""
    date = to_date(day)
    return _CACHE.get(date, date).closures.get(date)


def _not_a_session(date: datetime.date) -> CalendarError:
    """An error naming `date`, why the market is closed, and the sessions either side."""
    name = holiday_name(date)
    reason = f"holiday: {name}" if name else f"weekend: {date.strftime('%A')}"
    return CalendarError(
        f"{date.isoformat()} is not an NYSE session ({reason}); the previous session is "
        f"{previous_session(date).isoformat()} and the next is {next_session(date).isoformat()}."
    )


@functools.lru_cache(maxsize=16384)
def et_ns(day: datetime.date, time: datetime.time) -> int:
    """`time` (ET wall clock) on `day` as ns since the epoch: integer time arithmetic for hot loops over sessions,
    where building pandas Timestamps costs a millisecond a session."""
    return pd.Timestamp(datetime.datetime.combine(day, time), tz=ET).value


def session_bounds(day: DateLike) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The regular session's (open, close) on `day`, in ET; CalendarError when it is not a session."""
    date = to_date(day)
    schedule, i = _position(date)
    if i == len(schedule.days) or schedule.days[i] != _day64(date):
        raise _not_a_session(date)
    return (
        pd.Timestamp(int(schedule.open_ns[i]), tz="UTC").tz_convert(ET),
        pd.Timestamp(int(schedule.close_ns[i]), tz="UTC").tz_convert(ET),
    )


def is_open(instant: datetime.datetime | pd.Timestamp) -> bool:
    """Whether a regular session is open at `instant` (open <= instant < close); it must carry a zone."""
    if not isinstance(instant, datetime.datetime) or pd.isna(instant):
        raise CalendarError(f"{instant!r} is not a date and time.")
    if instant.tzinfo is None:
        raise CalendarError(
            f"{instant} has no time zone; give an aware time such as '2024-01-02 10:00' in America/New_York."
        )
    moment = pd.Timestamp(instant)
    schedule = _CACHE.get(to_date(moment), to_date(moment))
    t = moment.value
    i = int(np.searchsorted(schedule.open_ns, t, side="right")) - 1
    return i >= 0 and t < int(schedule.close_ns[i])


def session_minutes(day: DateLike) -> pd.DatetimeIndex:
    """The 1-minute bar start times of the regular session on `day`, [open, close) in ET."""
    open_, close = session_bounds(day)
    return pd.date_range(open_, close, freq="min", inclusive="left", unit="ns")
