"""Tests for tapescan.calendar, checked against an independent golden file built with exchange_calendars."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tapescan import calendar as cal
from tapescan.cli import calendar_cmd
from tapescan.errors import CalendarError

GOLDEN = Path(__file__).parent / "data" / "nyse_golden_2000_2026.csv"
D = datetime.date

# Where pandas-market-calendars (ours) and exchange_calendars (the golden file) disagree, 2000-2026:
# date -> (open, close) that we expect, and why. See docs/CALENDAR.md for the verdict.
DOCUMENTED_DIFFERENCES = {
    "2001-09-17": ("09:33", "16:00", "reopening after 9/11: two minutes of silence before the bell"),
    "2001-10-08": ("09:31", "16:00", "moment of silence for Operation Enduring Freedom troops"),
    "2002-09-11": ("12:00", "16:00", "first anniversary of 9/11: opened at noon"),
    "2003-03-20": ("09:32", "16:00", "moment of silence for Operation Iraqi Freedom"),
    "2004-06-07": ("09:32", "16:00", "moment of silence for President Reagan"),
    "2005-06-01": ("09:30", "15:56", "trading halted at 15:56 by a systems communication problem"),
    "2006-12-27": ("09:32", "16:00", "moment of silence for President Ford"),
}


@pytest.fixture(scope="module")
def golden() -> pd.DataFrame:
    """The golden file, one row per weekday 2000-2026, every column as text."""
    return pd.read_csv(GOLDEN, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def ours() -> pd.DataFrame:
    """Our sessions 2000-2026 in the golden file's shape (ET HH:MM, 'true'/'false')."""
    frame = cal.sessions("2000-01-01", "2026-12-31")
    return pd.DataFrame(
        {
            "date": [d.isoformat() for d in frame["date"]],
            "open": frame["open"].dt.strftime("%H:%M"),
            "close": frame["close"].dt.strftime("%H:%M"),
            "early_close": frame["early_close"].map({True: "true", False: "false"}),
        }
    )


# --- agreement with the golden file -------------------------------------------------------------------


def test_golden_covers_every_weekday(golden: pd.DataFrame) -> None:
    assert list(golden["date"]) == list(pd.bdate_range("2000-01-01", "2026-12-31").strftime("%Y-%m-%d"))


def test_same_sessions_as_golden(golden: pd.DataFrame, ours: pd.DataFrame) -> None:
    assert list(ours["date"]) == list(golden.loc[golden["kind"] == "session", "date"])


def test_same_holidays_as_golden(golden: pd.DataFrame) -> None:
    expected = list(golden.loc[golden["kind"] == "holiday", "date"])
    assert [d.isoformat() for d in cal.holidays("2000-01-01", "2026-12-31")["date"]] == expected
    assert all(not cal.is_session(day) and cal.holiday_name(day) for day in expected)


def test_times_match_golden_except_documented(golden: pd.DataFrame, ours: pd.DataFrame) -> None:
    theirs = golden[golden["kind"] == "session"].set_index("date")[["open", "close", "early_close"]]
    mine = ours.set_index("date")
    differs = (theirs != mine).any(axis=1)
    assert sorted(theirs.index[differs]) == sorted(DOCUMENTED_DIFFERENCES)
    for day, (open_, close, _reason) in DOCUMENTED_DIFFERENCES.items():
        assert (mine.loc[day, "open"], mine.loc[day, "close"]) == (open_, close)
        assert mine.loc[day, "early_close"] == ("true" if close < "16:00" else "false")
        assert (theirs.loc[day, "open"], theirs.loc[day, "close"]) == ("09:30", "16:00")


def test_documented_late_opens_are_flagged() -> None:
    frame = cal.sessions("2000-01-01", "2026-12-31")
    late = {d.isoformat() for d in frame.loc[frame["late_open"], "date"]}
    assert late == {day for day, (open_, _, _) in DOCUMENTED_DIFFERENCES.items() if open_ != "09:30"}


# --- sessions and neighbours --------------------------------------------------------------------------


def test_is_session() -> None:
    assert cal.is_session("2024-01-02")
    assert not cal.is_session("2024-01-06")  # Saturday
    assert not cal.is_session("2024-12-25")  # Christmas
    assert cal.is_session(D(2021, 12, 31))  # New Year 2022 fell on a Saturday: no Friday holiday


def test_previous_and_next_across_long_weekend() -> None:
    # Memorial Day 2024 is Monday 27 May.
    assert cal.next_session("2024-05-24") == D(2024, 5, 28)
    assert cal.previous_session("2024-05-28") == D(2024, 5, 24)
    assert cal.previous_session("2024-05-26") == D(2024, 5, 24)


def test_previous_and_next_across_september_2001() -> None:
    assert cal.next_session("2001-09-10") == D(2001, 9, 17)
    assert cal.previous_session("2001-09-17") == D(2001, 9, 10)
    assert cal.next_session("2001-09-12") == D(2001, 9, 17)


def test_sessions_before() -> None:
    window = cal.sessions_before("2024-01-02", 5)
    assert window == [D(2023, 12, 22), D(2023, 12, 26), D(2023, 12, 27), D(2023, 12, 28), D(2023, 12, 29)]
    assert cal.sessions_before("2024-01-03", 1) == [D(2024, 1, 2)]
    assert cal.sessions_before("2024-01-03", 0) == []
    assert len(cal.sessions_before("2024-06-03", 252)) == 252
    with pytest.raises(CalendarError):
        cal.sessions_before("2024-01-03", -1)


def test_sessions_columns_and_range() -> None:
    frame = cal.sessions("2024-11-27", "2024-12-02")
    assert list(frame.columns) == ["date", "open", "close", "early_close", "late_open"]
    assert list(frame["date"]) == [D(2024, 11, 27), D(2024, 11, 29), D(2024, 12, 2)]
    assert str(frame["open"].dtype) == "datetime64[ns, America/New_York]"
    assert list(frame["early_close"]) == [False, True, False]
    assert isinstance(frame.index, pd.RangeIndex)
    with pytest.raises(CalendarError, match="after"):
        cal.sessions("2024-12-02", "2024-11-27")


def test_far_dates_extend_the_schedule() -> None:
    assert cal.next_session("2050-12-31") == D(2051, 1, 3)
    assert cal.previous_session("1985-01-01") == D(1984, 12, 31)


# --- holidays -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2022-06-20", "Juneteenth National Independence Day"),
        ("2012-10-29", "Hurricane Sandy"),
        ("2012-10-30", "Hurricane Sandy"),
        ("2025-01-09", "National Day of Mourning for President Jimmy Carter"),
        ("2001-09-11", "September 11 attacks"),
        ("2024-03-29", "Good Friday"),
        ("2024-02-19", "Washington's Birthday"),
        ("2024-01-01", "New Year's Day"),
        ("2024-07-04", "Independence Day"),
    ],
)
def test_holiday_names(day: str, name: str) -> None:
    assert cal.holiday_name(day) == name
    assert name in set(cal.holidays(day, day)["name"])


def test_holiday_name_none_on_sessions_and_weekends() -> None:
    assert cal.holiday_name("2021-12-31") is None
    assert cal.holiday_name("2024-01-06") is None


def test_every_closure_since_1990_has_a_real_name() -> None:
    """A fallback name means pmc lists a closure we have no name for: add it to _SPECIAL_CLOSURES."""
    names = cal.holidays("1990-01-01", "2040-12-31")["name"]
    assert cal.FALLBACK_CLOSURE_NAME not in set(names)
    assert not any(artefact in name for name in names for artefact in ("+", "Starting", "Years", "1908"))


# --- bounds, minutes, instants ------------------------------------------------------------------------


def test_session_bounds() -> None:
    open_, close = cal.session_bounds("2024-07-03")
    assert open_ == pd.Timestamp("2024-07-03 09:30", tz=cal.ET)
    assert close == pd.Timestamp("2024-07-03 13:00", tz=cal.ET)
    assert cal.session_bounds("2002-09-11")[0] == pd.Timestamp("2002-09-11 12:00", tz=cal.ET)


def test_session_bounds_on_holiday_explains() -> None:
    with pytest.raises(CalendarError) as caught:
        cal.session_bounds("2022-06-20")
    message = str(caught.value)
    assert "2022-06-20" in message and "Juneteenth" in message
    assert "2022-06-17" in message and "2022-06-21" in message


def test_session_bounds_on_weekend_explains() -> None:
    with pytest.raises(CalendarError, match="Saturday.*2024-01-05.*2024-01-08"):
        cal.session_bounds("2024-01-06")


def test_session_minutes() -> None:
    normal = cal.session_minutes("2024-01-02")
    assert len(normal) == 390
    assert normal[0] == pd.Timestamp("2024-01-02 09:30", tz=cal.ET)
    assert normal[-1] == pd.Timestamp("2024-01-02 15:59", tz=cal.ET)
    early = cal.session_minutes("2024-11-29")
    assert len(early) == 210
    assert early[-1] == pd.Timestamp("2024-11-29 12:59", tz=cal.ET)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2024-01-02 09:29:59", False),
        ("2024-01-02 09:30:00", True),
        ("2024-01-02 15:59:59", True),
        ("2024-01-02 16:00:00", False),
        ("2024-11-29 12:59:00", True),  # early close
        ("2024-11-29 13:00:00", False),
        ("2024-11-29 14:00:00", False),
        ("2024-01-06 12:00:00", False),  # Saturday
        ("2024-12-25 12:00:00", False),  # Christmas
    ],
)
def test_is_open(moment: str, expected: bool) -> None:
    assert cal.is_open(pd.Timestamp(moment, tz=cal.ET)) is expected


def test_is_open_other_zone_and_naive() -> None:
    assert cal.is_open(datetime.datetime(2024, 1, 2, 14, 30, tzinfo=datetime.UTC))
    with pytest.raises(CalendarError, match="time zone"):
        cal.is_open(datetime.datetime(2024, 1, 2, 10, 0))


@pytest.mark.parametrize("bad", ["2024-13-01", "2024/01/02", "20240102", "soon", "", 20240102, None, pd.NaT])
def test_to_date_rejects(bad: object) -> None:
    with pytest.raises(CalendarError):
        cal.to_date(bad)  # type: ignore[arg-type]


def test_to_date_accepts() -> None:
    assert cal.to_date("2024-01-02") == D(2024, 1, 2)
    assert cal.to_date(D(2024, 1, 2)) == D(2024, 1, 2)
    assert cal.to_date(datetime.datetime(2024, 1, 2, 23, 0)) == D(2024, 1, 2)
    assert cal.to_date(pd.Timestamp("2024-01-02 03:00", tz="UTC")) == D(2024, 1, 1)  # 22:00 ET the day before


def test_session_table_matches_sessions() -> None:
    frame = cal.sessions("2019-01-01", "2024-12-31")
    table = cal.session_table("2019-01-01", "2024-12-31")
    assert table.index.name == "date" and table.index.tz is None
    assert str(table.index.dtype) == "datetime64[ns]"
    assert list(table.index.date) == list(frame["date"])
    assert (table["open_ns"].to_numpy() == frame["open"].dt.tz_convert("UTC").astype("int64").to_numpy()).all()
    assert (table["close_ns"].to_numpy() == frame["close"].dt.tz_convert("UTC").astype("int64").to_numpy()).all()


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=D(1995, 1, 1), max_value=D(2035, 12, 31)))
def test_neighbours_property(day: datetime.date) -> None:
    after = cal.next_session(day)
    assert cal.previous_session(after) <= day < after
    assert cal.is_session(after)
    before = cal.previous_session(day)
    assert before < day and cal.is_session(before)


# --- the `tapescan calendar` command ------------------------------------------------------------------


@pytest.fixture()
def app() -> typer.Typer:
    """A typer app with only the calendar command, as tapescan's main registers it."""
    app = typer.Typer()
    app.command("calendar")(calendar_cmd.calendar)
    app.callback()(lambda: None)  # a group, as in tapescan main, so that `calendar` is a subcommand
    return app


def test_cli_prints_one_row_per_weekday(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["calendar", "--start", "2024-11-25", "--end", "2024-12-01"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "date,status,open,close,holiday"
    assert lines[1] == "2024-11-25,session,09:30,16:00,"
    assert lines[4] == "2024-11-28,holiday,,,Thanksgiving Day"
    assert lines[5] == "2024-11-29,early close,09:30,13:00,"
    assert len(lines) == 6


def test_cli_writes_file(app: typer.Typer, tmp_path: Path) -> None:
    output = tmp_path / "cal.csv"
    args = ["calendar", "--start", "2002-09-09", "--end", "2002-09-13", "--output", str(output)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(output, dtype=str, keep_default_na=False)
    assert list(frame["status"]) == ["session", "session", "late open", "session", "session"]
    assert frame.loc[2, "open"] == "12:00"


def test_cli_late_open_and_early_close(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["calendar", "--start", "1996-01-08", "--end", "1996-01-08"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[1] == '1996-01-08,"late open, early close",11:00,14:00,'


def test_cli_bad_date(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["calendar", "--start", "2024-02-30", "--end", "2024-03-01"])
    assert isinstance(result.exception, CalendarError)
    assert "2024-02-30" in str(result.exception)


def test_the_schedule_kept_on_disk_is_the_built_one(tmp_path, monkeypatch):
    """tapescan/calendar_cache.py: the stored schedule equals a fresh build; a damaged file is rebuilt; a folder
    that cannot be written only means building each time."""
    import datetime as dt

    from tapescan import calendar as cal
    from tapescan import calendar_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, last = dt.date(2000, 1, 1), dt.date(2003, 12, 31)  # holds the 2001 September closures
    built = cal._Schedule.build(first, last)

    def same(schedule) -> None:
        assert schedule.closures == built.closures and all(type(day) is dt.date for day in schedule.closures)
        for name in ("days", "open_ns", "close_ns"):
            ours, theirs = getattr(schedule, name), getattr(built, name)
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)

    same(cal._Schedule.load_or_build(first, last))  # built, then stored
    (path,) = (tmp_path / "cache" / "tapescan" / "calendar").iterdir()
    assert calendar_cache.load(path) is not None
    same(cal._Schedule.load_or_build(first, last))  # from the file
    path.write_bytes(b"not an npz")
    same(cal._Schedule.load_or_build(first, last))  # rebuilt
    assert calendar_cache.load(path) is not None
    (tmp_path / "cache").chmod(0o500)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache" / "sub"))
    try:
        same(cal._Schedule.load_or_build(first, last))
    finally:
        (tmp_path / "cache").chmod(0o700)
