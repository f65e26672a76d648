"""The Data Manager as of a replay clock: visibility, the calendar, and metrics equal to the oracles."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tapescan import DataManager, LiveClock, ReplayClock
from tapescan.store import Store
from tapescan.synth import write_synthetic_market
from tests import oracles

ET = "America/New_York"


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Store:
    store = Store.create(tmp_path_factory.mktemp("dm") / "store")
    write_synthetic_market(store, 10, "2024-11-20", "2024-12-03", seed=4)
    return store


@pytest.fixture(scope="module")
def all_bars(market) -> pd.DataFrame:
    sessions = market.sessions()
    symbols = list(market.symbols()["symbol"])
    return pd.concat([market.read_bars(s, sessions[0], sessions[-1]).assign(symbol=s) for s in symbols],
                     ignore_index=True)


def manager(market: Store, now: str) -> DataManager:
    return DataManager(market, ReplayClock(pd.Timestamp(now, tz=ET)), backend="cpu")


def test_no_bar_is_returned_before_it_is_available(market):
    dm = manager(market, "2024-12-02 10:00:30")
    bars = dm.bars("AAPL", "2024-12-02", "2024-12-03")
    assert bars["ts"].max() == pd.Timestamp("2024-12-02 09:59", tz=ET)
    assert (bars["ts"] + pd.Timedelta(minutes=1) <= dm.now()).all()
    fifteen = dm.bars("AAPL", "2024-12-02", "2024-12-02", minutes=15)
    assert [t.strftime("%H:%M") for t in fifteen["ts"]] == ["09:30", "09:45"]  # 10:00-10:15 is not over


def test_a_derived_bar_of_an_early_close_is_available_at_the_close(market):
    dm = manager(market, "2024-11-29 13:00")
    hourly = dm.bars("AAPL", "2024-11-29", "2024-11-29", minutes=60)
    assert [t.strftime("%H:%M") for t in hourly["ts"]] == ["09:30", "10:30", "11:30", "12:30"]


def test_today_so_far_equals_the_oracle(market, all_bars):
    for now in ("2024-12-02 09:30", "2024-12-02 09:31", "2024-12-02 11:17", "2024-12-02 16:00"):
        dm = manager(market, now)
        for symbol in ("AAPL", "SPY", "ZZDLST"):
            mine = all_bars[all_bars["symbol"] == symbol]
            expected = oracles.intraday_as_of(mine[mine["ts"].dt.date == dm.today()], dm.now())
            if expected is None:
                assert dm.session_volume(symbol) is None and dm.day_high_low(symbol) is None
                continue
            assert dm.session_volume(symbol) == expected["session_volume"]
            assert dm.day_high_low(symbol) == (expected["session_high"], expected["session_low"])
            assert dm.last_price(symbol) == expected["price"]


def test_trailing_values_equal_the_oracle(market, all_bars):
    dm = manager(market, "2024-12-03 11:00")
    daily = market.read_daily("2024-11-20", "2024-12-03")
    sessions = market.sessions()
    for symbol in ("AAPL", "ZZIPO", "ZZDLST"):
        for days in (1, 3):
            expected = oracles.trailing_metrics(daily, sessions, dm.today(), symbol, days)
            got = dm.average_volume(symbol, days)
            assert (math.isnan(got) and math.isnan(expected["avg_volume"])) or got == pytest.approx(
                expected["avg_volume"], rel=1e-12)
            high, low = dm.historical_high_low(symbol, days=days)
            assert (math.isnan(high) and math.isnan(expected["hist_high"])) or (high, low) == (
                expected["hist_high"], expected["hist_low"])
            tod = dm.tod_average_volume(symbol, days)
            want = oracles.tod_avg_volume(all_bars, sessions, dm.today(), symbol, days, [dm.now().time()])[0]
            assert (math.isnan(tod) and math.isnan(want)) or tod == want
    assert all(math.isnan(v) for v in dm.historical_high_low("AAPL", years=1))  # the store starts in Nov 2024


def test_the_calendar_as_of_now(market):
    holiday = manager(market, "2024-11-28 12:00")
    assert holiday.holiday() == "Thanksgiving Day" and holiday.session_times() is None
    assert not holiday.is_market_open() and holiday.session_volume("AAPL") is None
    early = manager(market, "2024-11-29 12:59")
    assert early.is_market_open() and early.session_times()[1] == pd.Timestamp("2024-11-29 13:00", tz=ET)
    assert early.mode == "backtest" and DataManager(market).mode == "live"
    assert isinstance(DataManager(market).clock, LiveClock)


def test_a_stream_hands_out_each_bar_once_when_it_becomes_visible(market):
    clock = ReplayClock(pd.Timestamp("2024-12-02 09:30", tz=ET))
    stream = DataManager(market, clock, backend="cpu").new_bars(["AAPL", "SPY"])
    assert stream.poll().empty
    clock.advance(5)
    first = stream.poll()
    assert set(first["ts"].dt.strftime("%H:%M")) <= {"09:30", "09:31", "09:32", "09:33", "09:34"}
    assert stream.poll().empty
    clock.advance(1)
    second = stream.poll()
    assert set(second["ts"].dt.strftime("%H:%M")) <= {"09:35"} and len(second) >= 1
    clock.set(pd.Timestamp("2024-12-02 16:00", tz=ET))
    rest = stream.poll()
    day = pd.concat([first, second, rest])
    for symbol in ("AAPL", "SPY"):
        stored = market.read_bars(symbol, "2024-12-02", "2024-12-02")
        assert day[day["symbol"] == symbol]["ts"].tolist() == stored["ts"].tolist()


def test_repeated_calls_at_successive_clock_times_read_each_session_once(market, all_bars, monkeypatch):
    """A strategy asks on every clock advance: each session is read from the store at most once per manager
    (today's for its bars, earlier ones for the time-of-day averages), the daily values of a trailing window
    once per day, and the answers still equal the oracles."""
    reads: dict = {}
    read_session = Store.read_session

    def counted(self, day, *args, **kwargs):
        reads[pd.Timestamp(day).date()] = reads.get(pd.Timestamp(day).date(), 0) + 1
        return read_session(self, day, *args, **kwargs)

    def never(*args, **kwargs):
        raise AssertionError("today's bars are served from the resident session, not read per symbol")

    daily = market.read_daily("2024-11-20", "2024-12-03")
    daily_reads: list[tuple] = []
    read_daily = Store.read_daily

    def counted_daily(self, start, end, symbols=None):
        daily_reads.append((start, end, tuple(symbols or ())))
        return read_daily(self, start, end, symbols)

    monkeypatch.setattr(Store, "read_session", counted)
    monkeypatch.setattr(Store, "read_bars", never)
    monkeypatch.setattr(Store, "read_daily", counted_daily)
    sessions = market.sessions()
    clock = ReplayClock(pd.Timestamp("2024-11-27 09:30", tz=ET))
    dm = DataManager(market, clock, backend="cpu")
    stream = dm.new_bars(["AAPL", "SPY"])
    streamed = []
    days = ["2024-11-27", "2024-11-29", "2024-12-02", "2024-12-03"]
    for day in days:
        for minutes in [*range(1, 391, 37), 390]:  # 09:31 to 16:00 (tod is NaN before 09:31: no clock minute)
            clock.set(pd.Timestamp(f"{day} 09:30", tz=ET) + pd.Timedelta(minutes=minutes))
            streamed.append(stream.poll())
            for symbol in ("AAPL", "ZZIPO"):
                mine = all_bars[all_bars["symbol"] == symbol]
                expected = oracles.intraday_as_of(mine[mine["ts"].dt.date == dm.today()], dm.now())
                got = (dm.session_volume(symbol), dm.day_high_low(symbol), dm.last_price(symbol))
                assert got == ((None, None, None) if expected is None else (
                    expected["session_volume"], (expected["session_high"], expected["session_low"]),
                    expected["price"]))
                for n in (1, 3):
                    tod = dm.tod_average_volume(symbol, n)
                    want = oracles.tod_avg_volume(all_bars, sessions, dm.today(), symbol, n, [dm.now().time()])[0]
                    assert (math.isnan(tod) and math.isnan(want)) or tod == want
                    trailing = oracles.trailing_metrics(daily, sessions, dm.today(), symbol, n)
                    got = (dm.average_volume(symbol, n), *dm.historical_high_low(symbol, days=n))
                    want = (trailing["avg_volume"], trailing["hist_high"], trailing["hist_low"])
                    assert all((math.isnan(g) and math.isnan(w)) or g == pytest.approx(w, rel=1e-12)
                               for g, w in zip(got, want))
    trailing = {d for day in days for d in sessions[sessions.index(pd.Timestamp(day).date()) - 3:
                                                     sessions.index(pd.Timestamp(day).date()) + 1]}
    assert set(reads) <= trailing and set(reads.values()) == {1}, reads
    assert len(daily_reads) == len(set(daily_reads)) == len(days) * 2 * 2  # once per day, symbol and window
    day_bars = pd.concat(streamed)
    for symbol in ("AAPL", "SPY"):
        got = day_bars[day_bars["symbol"] == symbol]["ts"].tolist()
        stored = all_bars[(all_bars["symbol"] == symbol) & all_bars["ts"].dt.date.isin(
            [pd.Timestamp(d).date() for d in days])]
        assert got == stored["ts"].tolist()  # every bar of those sessions handed out once, in order


def test_bars_asked_on_every_advance_read_each_session_once_and_the_window_stays_bounded(market, all_bars,
                                                                                         monkeypatch):
    """bars() over the last sessions, asked at successive clock times, equals the oracle's visible bars, reads
    each session from the store once, and the resident window holds no more than the longest time-of-day
    window asked for plus today, however far the clock moves."""
    reads: dict = {}
    read_session = Store.read_session

    def counted(self, day, *args, **kwargs):
        reads[pd.Timestamp(day).date()] = reads.get(pd.Timestamp(day).date(), 0) + 1
        return read_session(self, day, *args, **kwargs)

    monkeypatch.setattr(Store, "read_session", counted)
    monkeypatch.setattr(Store, "read_bars", lambda *a, **k: pytest.fail("bars come from session panels"))
    sessions = market.sessions()
    clock = ReplayClock(pd.Timestamp(f"{sessions[2]} 09:30", tz=ET))
    dm = DataManager(market, clock, backend="cpu")
    for day in sessions[2:]:
        for minutes in (1, 61, 200, 390):
            clock.set(pd.Timestamp(f"{day} 09:30", tz=ET) + pd.Timedelta(minutes=minutes))
            dm.tod_average_volume("AAPL", 2)
            previous = sessions[sessions.index(day) - 2]
            for k in (1, 15):
                got = dm.bars("AAPL", previous, day, minutes=k)
                mine = all_bars[(all_bars["symbol"] == "AAPL") & all_bars["ts"].dt.date.between(previous, day)]
                want = oracles.derived_bars(mine, k)
                ends = want["ts"] + pd.Timedelta(minutes=k)
                close = pd.Timestamp(f"{day} 16:00", tz=ET) if day != pd.Timestamp("2024-11-29").date() else \
                    pd.Timestamp(f"{day} 13:00", tz=ET)
                visible = want[ends.where(want["ts"].dt.date != day, ends.clip(upper=close)) <= dm.now()]
                pd.testing.assert_frame_equal(got, visible.drop(columns="symbol").reset_index(drop=True),
                                              check_dtype=False)
        assert len(dm._resident.resident) <= 3  # tod window of 2 sessions, and today
    assert set(reads.values()) == {1}, reads
