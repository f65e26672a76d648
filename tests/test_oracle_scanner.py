"""Tests of the scanner oracle itself (tests/oracle_scanner.py) on hand-built bars.

Every expectation is worked out here from docs/spec/metrics.md, not from the oracle's code.
"""

from __future__ import annotations

import datetime
import math
import statistics

import pandas as pd
import pytest

from tapescan.scanner import ScannerConfig
from tests import oracles
from tests.oracle_scanner import (
    COLUMNS,
    DTYPES,
    daily_table,
    oracle_scan,
    oracle_sweep,
    regular_bars,
    tod_avg_volume,
)

D = datetime.date(2024, 11, 20)  # a Wednesday session
PREV = datetime.date(2024, 11, 19)
# The 11 sessions before D, oldest first (no holiday in between).
HISTORY = [datetime.date(2024, 11, day) for day in (5, 6, 7, 8, 11, 12, 13, 14, 15, 18, 19)]


def bar(symbol: str, day: datetime.date, clock: str, close: float, volume: int = 100,
        high: float | None = None, low: float | None = None) -> dict:
    """One 1-minute bar stamped `clock` (ET) on `day`."""
    high = close if high is None else high
    low = close if low is None else low
    ts = pd.Timestamp(f"{day} {clock}", tz="America/New_York")
    return {"symbol": symbol, "ts": ts, "open": close, "high": high, "low": low, "close": close, "volume": volume}


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["symbol", "ts", "open", "high", "low", "close", "volume"])


def config(**fields) -> ScannerConfig:
    return ScannerConfig.model_validate(fields)


def t(text: str) -> datetime.time:
    return datetime.time.fromisoformat(text)


def test_visibility_at_t():
    """The bar stamped 10:30 becomes visible at 10:31, not at 10:30; with nothing visible the row has NaN."""
    bars = frame([
        bar("X", PREV, "15:59", 10.0),
        bar("X", D, "10:29", 10.5, 100, high=10.6, low=10.4),
        bar("X", D, "10:30", 11.0, 50, high=11.2, low=10.9),
    ])
    cfg = config(symbols=["X"])
    at_1030 = oracle_scan(bars, cfg, D, t("10:30"), ["X"]).iloc[0]
    assert at_1030["price"] == 10.5
    assert at_1030["session_volume"] == 100
    assert at_1030["change_pct"] == pytest.approx(100 * (10.5 / 10.0 - 1), rel=1e-12)
    assert at_1030["range_pct"] == pytest.approx(100 * (10.6 - 10.4) / 10.4, rel=1e-12)
    at_1031 = oracle_scan(bars, cfg, D, t("10:31"), ["X"]).iloc[0]
    assert at_1031["price"] == 11.0
    assert at_1031["session_volume"] == 150
    assert at_1031["range_pct"] == pytest.approx(100 * (11.2 - 10.4) / 10.4, rel=1e-12)
    assert (at_1031["date"], at_1031["time"], at_1031["symbol"]) == (D, "10:31", "X")
    before = oracle_scan(bars, cfg, D, t("10:29"), ["X"])
    assert len(before) == 1  # no filter needs intraday values: the row is still there
    assert math.isnan(before["price"].iloc[0]) and before["session_volume"].isna().iloc[0]
    assert math.isnan(before["rel_volume"].iloc[0]) and math.isnan(before["change_pct"].iloc[0])
    # A window of 10 sessions before D is not present for X: trailing metrics undefined.
    assert math.isnan(at_1031["avg_volume"]) and math.isnan(at_1031["avg_price"])


def test_inclusive_bounds_and_undefined_fails():
    """min <= value <= max both inclusive; an undefined change_pct (no prev close) fails even an open block."""
    bars = frame([bar("X", PREV, "15:59", 10.0), bar("X", D, "10:00", 10.5), bar("Y", D, "10:00", 20.0)])
    change = 100 * (10.5 / 10.0 - 1)
    scan = lambda **block: oracle_scan(  # noqa: E731
        bars, config(current_price_change_percentage=block), D, t("11:00"), ["X", "Y"]
    )["symbol"].tolist()
    assert scan(min=change, max=change) == ["X"]
    assert scan(min=math.nextafter(change, math.inf)) == []
    assert scan(max=math.nextafter(change, -math.inf)) == []
    assert scan() == ["X"]  # a block without bounds still rejects Y's undefined change_pct
    assert oracle_scan(bars, config(), D, t("11:00"), ["X", "Y"])["symbol"].tolist() == ["X", "Y"]


def test_universe_and_exclusions(tmp_path):
    """symbols ∪ groups − exclude, kept to the store's symbols; the whole store when neither is given."""
    bars = frame([bar("A", D, "10:00", 1.0)])
    store = ["A", "B", "C"]
    symbols = lambda cfg, root=None: oracle_scan(bars, cfg, D, t("12:00"), store, root)["symbol"].tolist()  # noqa: E731
    assert symbols(config(symbols=["A", "B", "Z"], exclude_symbols=["B"])) == ["A"]
    assert symbols(config(exclude_symbols=["C"])) == ["A", "B"]
    assert symbols(config()) == ["A", "B", "C"]
    (tmp_path / "groups").mkdir()
    (tmp_path / "groups" / "mine.txt").write_text("# mine\nC\nQ\n")
    grouped = ScannerConfig.model_validate({"symbols": ["A"], "symbols_group": ["MINE"]}, context={"groups": ["MINE"]})
    assert symbols(grouped, tmp_path) == ["A", "C"]


def history_bars(closes: list[float], bench: list[float], volumes: list[int], sessions: list[datetime.date]) -> list:
    """One bar a session (10:00) for A and the benchmark SPY."""
    rows = [bar("A", s, "10:00", c, v) for s, c, v in zip(sessions, closes, volumes)]
    return rows + [bar("SPY", s, "10:00", b, 1000) for s, b in zip(sessions, bench)]


def returns(closes: list[float]) -> list[float]:
    return [now / before - 1 for before, now in zip(closes, closes[1:])]


CLOSES = [10.0, 10.4, 10.1, 10.9, 11.3, 10.8, 11.0, 11.6, 11.2, 11.9, 12.1]
BENCH = [400.0, 404.0, 401.0, 406.0, 409.0, 405.0, 407.0, 411.0, 408.0, 413.0, 412.0]
VOLUMES = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100]


def test_absent_blocks_are_reported_with_10_session_windows():
    """No block: avg_volume, avg_price, std_pct, beta, correlation over W_10(D) (returns need 11 sessions)."""
    bars = frame(history_bars(CLOSES, BENCH, VOLUMES, HISTORY) + [bar("A", D, "09:30", 12.0)])
    row = oracle_scan(bars, config(symbols=["A"]), D, t("09:45"), ["A", "SPY"]).iloc[0]
    ra, rb = returns(CLOSES), returns(BENCH)
    assert row["avg_volume"] == pytest.approx(sum(VOLUMES[1:]) / 10, rel=1e-12)
    assert row["avg_price"] == pytest.approx(sum(CLOSES[1:]) / 10, rel=1e-12)
    assert row["std_pct"] == pytest.approx(100 * statistics.stdev(ra), rel=1e-12)
    assert row["beta"] == pytest.approx(statistics.covariance(ra, rb) / statistics.variance(rb), rel=1e-12)
    assert row["correlation"] == pytest.approx(statistics.correlation(ra, rb), rel=1e-12)
    assert row["change_pct"] == pytest.approx(100 * (12.0 / 12.1 - 1), rel=1e-12)

    short = frame(history_bars(CLOSES[1:], BENCH[1:], VOLUMES[1:], HISTORY[1:]))  # 10 sessions: no first return
    row = oracle_scan(short, config(symbols=["A"]), D, t("09:45"), ["A", "SPY"]).iloc[0]
    assert row["avg_volume"] == pytest.approx(sum(VOLUMES[1:]) / 10, rel=1e-12)
    assert all(math.isnan(row[m]) for m in ("std_pct", "beta", "correlation"))

    shorter = frame(history_bars(CLOSES[2:], BENCH[2:], VOLUMES[2:], HISTORY[2:]))  # 9 sessions
    row = oracle_scan(shorter, config(symbols=["A"]), D, t("09:45"), ["A", "SPY"]).iloc[0]
    assert all(math.isnan(row[m]) for m in ("avg_volume", "avg_price", "std_pct", "beta", "correlation"))


def test_block_days_and_missing_benchmark():
    """A block's days sets its window; the benchmark missing on a window session makes beta/correlation NaN."""
    rows = [r for r in history_bars(CLOSES, BENCH, VOLUMES, HISTORY) if not (r["symbol"] == "SPY" and
                                                                              r["ts"].date() == HISTORY[5])]
    cfg = config(symbols=["A"], average_volume={"days": 3}, standard_deviation={"days": 4})
    row = oracle_scan(frame(rows), cfg, D, t("16:00"), ["A", "SPY"]).iloc[0]
    assert row["avg_volume"] == pytest.approx((900 + 1000 + 1100) / 3, rel=1e-12)
    assert row["std_pct"] == pytest.approx(100 * statistics.stdev(returns(CLOSES[-5:])), rel=1e-12)
    assert math.isnan(row["beta"]) and math.isnan(row["correlation"])
    assert row["avg_price"] == pytest.approx(sum(CLOSES[1:]) / 10, rel=1e-12)  # absent block: 10 sessions


def test_rel_volume_and_tod_avg_volume():
    """rel_volume = session_volume / mean over W_N of the volume known by the same clock time."""
    two = HISTORY[-2:]
    rows = [bar("A", s, clock, 10.0, v) for s, vols in zip(two, [(100, 300, 50), (200, 100, 70)])
            for clock, v in zip(("09:30", "09:31", "09:32"), vols)]
    rows += [bar("A", D, "09:30", 10.0, 90), bar("A", D, "09:31", 10.0, 150)]
    bars = frame(rows)
    cfg = config(symbols=["A"], relative_volume={"days": 2})
    at_0932 = oracle_scan(bars, cfg, D, t("09:32"), ["A"]).iloc[0]
    assert at_0932["rel_volume"] == pytest.approx(240 / (((100 + 300) + (200 + 100)) / 2), rel=1e-12)
    at_0931 = oracle_scan(bars, cfg, D, t("09:31"), ["A"]).iloc[0]
    assert at_0931["rel_volume"] == pytest.approx(90 / ((100 + 200) / 2), rel=1e-12)
    assert oracle_scan(bars, cfg, D, t("09:30"), ["A"]).empty  # nothing visible at 09:30: undefined fails
    three = config(symbols=["A"], relative_volume={"days": 3})  # a window session missing: undefined
    assert oracle_scan(bars, three, D, t("09:32"), ["A"]).empty
    assert math.isnan(oracle_scan(bars, config(symbols=["A"]), D, t("09:32"), ["A"])["rel_volume"].iloc[0])

    regular = regular_bars(bars)
    clocks = [t("09:30"), t("09:31"), t("09:32"), t("09:33"), t("16:00")]
    mine = [regular[regular["date"] == s] for s in two]
    expected = oracles.tod_avg_volume(bars, [*two, D], D, "A", 2, clocks)
    assert tod_avg_volume(mine, tuple(two), clocks) == expected == [0.0, 150.0, 350.0, 410.0, 410.0]


def test_first_hit_and_ordering():
    """Sweep rows are (date, time, symbol) ordered; first-hit keeps a (D, symbol) pair at its first pass."""
    closes = [9.9, 10.1, 10.3, 9.8, 10.2]
    rows = [bar("A", PREV, "15:59", 10.0), bar("B", PREV, "15:59", 10.0)]
    rows += [bar("A", D, f"09:3{i}", c) for i, c in enumerate(closes)]
    rows += [bar("B", D, "09:30", 10.5)]
    bars = frame(rows)
    cfg = config(symbols=["B", "A"], start_time="09:30", end_time="09:40", current_price_change_percentage={"min": 0})
    full = oracle_sweep(bars, cfg, D, D, ["A", "B"])
    # A: visible close at T is closes[T - 09:31]; passes at 09:32, 09:33 and from 09:35; B passes from 09:31.
    a_times = ["09:32", "09:33"] + [f"09:{m}" for m in range(35, 41)]
    b_times = [f"09:{m}" for m in range(31, 41)]
    expected = sorted([(tm, "A") for tm in a_times] + [(tm, "B") for tm in b_times])
    assert list(zip(full["time"], full["symbol"])) == expected
    first = oracle_sweep(bars, cfg, D, D, ["A", "B"], first_hit=True)
    assert list(zip(first["time"], first["symbol"])) == [("09:31", "B"), ("09:32", "A")]


def test_early_close_and_interval_stepping():
    """Scan times step interval_minutes from start_time to end_time and never pass the close (13:00 on
    2024-11-29); the Thanksgiving holiday has no scans; store_sessions limits the sessions."""
    day27, day29 = datetime.date(2024, 11, 27), datetime.date(2024, 11, 29)
    bars = frame([bar("A", day27, "10:00", 1.0)])
    cfg = config(symbols=["A"], start_time="12:50", end_time="16:00", interval_minutes=5)
    out = oracle_sweep(bars, cfg, day27, day29, ["A"])
    on27 = out[out["date"] == day27]["time"].tolist()
    assert on27[0] == "12:50" and on27[-1] == "16:00" and len(on27) == (16 * 60 - (12 * 60 + 50)) // 5 + 1
    assert out[out["date"] == day29]["time"].tolist() == ["12:50", "12:55", "13:00"]
    assert set(out["date"]) == {day27, day29}
    only29 = oracle_sweep(bars, cfg, day27, day29, ["A"], store_sessions=[day29])
    assert only29["time"].tolist() == ["12:50", "12:55", "13:00"]
    sevens = oracle_sweep(bars, config(symbols=["A"], start_time="09:30", end_time="10:00", interval_minutes=7),
                          day27, day27, ["A"])
    assert sevens["time"].tolist() == ["09:30", "09:37", "09:44", "09:51", "09:58"]


def test_columns_and_dtypes_also_when_empty():
    bars = frame([bar("A", PREV, "15:59", 10.0), bar("A", D, "10:00", 10.5)])
    hit = oracle_scan(bars, config(), D, t("10:01"), ["A"])
    empty = oracle_sweep(bars, config(average_volume={"min": 1}), D, D, ["A"])
    for result in (hit, empty):
        assert list(result.columns) == COLUMNS
        assert {c: str(result[c].dtype) for c in COLUMNS} == {c: str(pd.Series([], dtype=d).dtype)
                                                             for c, d in DTYPES.items()}
    assert empty.empty and len(hit) == 1 and isinstance(hit["date"].iloc[0], datetime.date)


def test_regular_session_rule_matches_the_oracle():
    """regular_bars keeps open(D) <= start < close(D), like oracles.regular_session_bars; `extended` rows go."""
    day29 = datetime.date(2024, 11, 29)
    rows = [bar("A", D, clock, 1.0) for clock in ("09:29", "09:30", "15:59", "16:00")]
    rows += [bar("A", day29, clock, 2.0) for clock in ("12:59", "13:00")]
    bars = frame(rows)
    mine = regular_bars(bars)
    assert mine["ts"].tolist() == oracles.regular_session_bars(bars)["ts"].tolist()
    assert [ts.strftime("%m-%d %H:%M") for ts in mine["ts"]] == ["11-20 09:30", "11-20 15:59", "11-29 12:59"]
    flagged = bars.assign(extended=[False, False, True, False, False, False])
    assert len(regular_bars(flagged)) == 2
    columns = ["date", "symbol", "open", "high", "low", "close", "volume"]
    expected = oracles.daily_values(bars)[columns]
    pd.testing.assert_frame_equal(daily_table(mine)[columns], expected, check_dtype=False)
