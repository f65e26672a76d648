"""Properties of the synthetic market (tapescan.synth): schema, calendar, invariants and realism."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tapescan import calendar, synth

ET = "America/New_York"
# Thanksgiving week: a holiday (11-28) and an early close (11-29), 9 sessions in all.
START, END = datetime.date(2024, 11, 25), datetime.date(2024, 12, 6)
HOLIDAY, EARLY_CLOSE = datetime.date(2024, 11, 28), datetime.date(2024, 11, 29)

SCHEMA = pa.schema(
    [
        ("symbol", pa.string()),
        ("ts", pa.timestamp("ns", tz=ET)),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.int64()),
    ]
)


def _frame(sessions: list[tuple[datetime.date, pa.Table]]) -> pd.DataFrame:
    df = pa.concat_tables([t for _, t in sessions]).to_pandas()
    df["date"] = df["ts"].dt.date
    return df


@pytest.fixture(scope="module")
def small() -> tuple[list[synth.SynthSymbol], list[tuple[datetime.date, pa.Table]]]:
    universe = synth.make_universe(12, START, END, seed=7)
    return universe, list(synth.generate_sessions(universe, START, END, seed=7))


@pytest.fixture(scope="module")
def small_df(small) -> pd.DataFrame:
    return _frame(small[1])


@pytest.fixture(scope="module")
def market() -> tuple[list[synth.SynthSymbol], pd.DataFrame]:
    """~60 sessions x 300 symbols mixing real and synthetic tickers; per-session summaries only."""
    start, end = datetime.date(2024, 1, 2), datetime.date(2024, 3, 27)
    full = synth.make_universe(1200, start, end, seed=3)
    universe = [full[0]] + full[1::4][:299]
    daily, buckets = [], []
    for date, table in synth.generate_sessions(universe, start, end, seed=3):
        df = table.select(["symbol", "ts", "close", "volume"]).to_pandas()
        df["bucket"] = (df["ts"].dt.hour * 60 + df["ts"].dt.minute - 570) // 30
        day = df.groupby("symbol").agg(close=("close", "last"), volume=("volume", "sum"))
        daily.append(day.assign(date=date))
        buckets.append(df.groupby(["symbol", "bucket"])["close"].last().unstack("symbol").assign(date=date))
    closes = pd.concat(buckets).reset_index().set_index(["date", "bucket"]).sort_index().ffill()
    return universe, pd.concat(daily).reset_index(), closes


# ------------------------------------------------------------------------------------------ universe


def test_universe_order_names_and_groups():
    universe = synth.make_universe(600, START, END)
    names = [s.symbol for s in universe]
    assert names[:6] == ["SPY", "AAPL", "MSFT", "AMZN", "TSLA", "NVDA"]
    assert len(set(names)) == len(names)
    spy = universe[0]
    assert spy.beta == 1.0 and spy.idio_vol == 0.0 and spy.presence == 1.0 and 400 <= spy.start_price <= 500
    real = [s for s in universe if s.groups]
    synthetic = [s for s in universe[1:] if not s.groups]
    assert len(real) > 500 and all(set(s.groups) <= {"SP500", "NASDAQ100"} for s in real)
    assert all(s.symbol.startswith(("ZZ", "QX")) for s in synthetic)
    assert {"BRK.B", "BF.B"} <= set(names)
    assert universe[-2].symbol == "ZZIPO" and universe[-1].symbol == "ZZDLST"


def test_both_groups_at_n50():
    groups = [g for s in synth.make_universe(50, START, END) for g in s.groups]
    assert groups.count("SP500") >= 10 and groups.count("NASDAQ100") >= 10


def test_universe_parameters_span_realistic_ranges():
    universe = synth.make_universe(3000, START, END)
    beta = np.array([s.beta for s in universe])
    idio = np.array([s.idio_vol for s in universe[1:]])
    price = np.array([s.start_price for s in universe])
    volume = np.array([s.daily_volume for s in universe])
    presence = np.array([s.presence for s in universe])
    assert beta.min() >= 0.2 and beta.max() <= 2.5 and (beta > 1.5).mean() > 0.05
    assert idio.min() >= 0.008 and idio.max() <= 0.06
    assert (price < 1).any() and (price > 1000).any() and (price > 0).all()
    assert ((volume >= 1e6) & (volume <= 1e7)).mean() > 0.3
    assert presence.min() >= 0.3 and presence.max() == 1.0
    assert np.all(np.diff(presence[np.argsort(volume)]) >= 0)  # presence rises with volume


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="n_symbols"):
        synth.make_universe(0, START, END)
    with pytest.raises(ValueError, match="n_symbols"):
        synth.make_universe(20_001, START, END)
    assert len(synth.make_universe(20_000, START, END)) == 20_000


def test_no_special_symbols_for_tiny_universes_or_ranges():
    assert all(s.first_session is None and s.last_session is None for s in synth.make_universe(9, START, END))
    short = synth.make_universe(20, START, datetime.date(2024, 11, 27))
    assert all(s.first_session is None and s.last_session is None for s in short)


# ------------------------------------------------------------------------------------- determinism


def test_deterministic_and_seed_sensitive():
    def run(seed: int) -> list[pa.Table]:
        return [t for _, t in synth.synthesize(12, START, datetime.date(2024, 11, 27), seed=seed)]

    first, again, other = run(1), run(1), run(2)
    assert len(first) == 3
    assert all(a.equals(b) for a, b in zip(first, again, strict=True))
    assert not any(a.equals(b) for a, b in zip(first, other, strict=True))


# -------------------------------------------------------------------------------- schema & calendar


def test_schema_and_sort_order(small):
    for _, table in small[1]:
        assert table.schema.equals(SCHEMA)
        df = table.select(["symbol", "ts"]).to_pandas()
        assert df.equals(df.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True))
        assert not df.duplicated().any()


def test_sessions_follow_the_calendar(small, small_df):
    dates = [d for d, _ in small[1]]
    assert dates == list(calendar.sessions(START, END)["date"]) and HOLIDAY not in dates
    assert dates == sorted(dates)
    assert set(small_df["date"]) == set(dates)


def test_bars_are_whole_minutes_inside_the_session(small):
    bounds = calendar.sessions(START, END).set_index("date")
    for date, table in small[1]:
        ts = table.column("ts").to_pandas()
        assert (ts.dt.date == date).all()
        assert (ts.astype("int64") % 60_000_000_000 == 0).all()
        assert (ts >= bounds.loc[date, "open"]).all() and (ts < bounds.loc[date, "close"]).all()


def test_early_close_ends_before_1pm(small_df):
    day = small_df[small_df["date"] == EARLY_CLOSE]
    assert day["ts"].max() < pd.Timestamp("2024-11-29 13:00", tz=ET)
    assert (day["symbol"] == "SPY").sum() == 210


def test_spy_is_complete_every_session(small, small_df):
    spy = small_df[small_df["symbol"] == "SPY"]
    counts = spy.groupby("date").size()
    assert list(counts.index) == [d for d, _ in small[1]]
    assert (counts.drop(EARLY_CLOSE) == 390).all()


# ------------------------------------------------------------------------------------------ prices


def test_ohlc_invariants(small_df):
    df = small_df
    assert (df["low"] > 0).all()
    assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()
    assert (df[["open", "close"]].max(axis=1) <= df["high"]).all()
    assert (df["volume"] >= 1).all()
    for col in ["open", "high", "low", "close"]:  # cents at or above $1
        above = df.loc[df[col] >= 1, col]
        assert np.allclose(above, above.round(2), rtol=0, atol=1e-9)


def test_bars_open_at_the_previous_close(small_df):
    spy = small_df[small_df["symbol"] == "SPY"]
    for _, day in spy.groupby("date"):
        assert np.array_equal(day["open"].to_numpy()[1:], day["close"].to_numpy()[:-1])
    first_open = spy.groupby("date")["open"].first().to_numpy()[1:]
    last_close = spy.groupby("date")["close"].last().to_numpy()[:-1]
    assert np.all(np.abs(np.log(first_open / last_close)) < 0.05)  # overnight gaps are small


def test_listing_and_delisting(small, small_df):
    universe = {s.symbol: s for s in small[0]}
    ipo, gone = universe["ZZIPO"], universe["ZZDLST"]
    dates = [d for d, _ in small[1]]
    assert ipo.first_session == dates[len(dates) // 2] and gone.last_session == dates[2 * len(dates) // 3]
    ipo_dates = set(small_df.loc[small_df["symbol"] == "ZZIPO", "date"])
    gone_dates = set(small_df.loc[small_df["symbol"] == "ZZDLST", "date"])
    assert min(ipo_dates) == ipo.first_session
    assert max(gone_dates) == gone.last_session


def test_illiquid_symbol_has_missing_minutes():
    universe = synth.make_universe(1200, START, END)
    illiquid = min(universe, key=lambda s: s.presence)
    assert illiquid.presence < 0.5
    (_, table), *_ = synth.generate_sessions([universe[0], illiquid], START, START)
    counts = table.to_pandas().groupby("symbol").size()
    assert counts["SPY"] == 390
    assert 0.5 * illiquid.presence * 390 < counts[illiquid.symbol] < min(1.5 * illiquid.presence, 0.9) * 390


def test_volume_profile_is_u_shaped(small_df):
    df = small_df[small_df["date"] != EARLY_CLOSE]
    minute = df["ts"].dt.hour * 60 + df["ts"].dt.minute
    by_minute = df.groupby(minute)["volume"].mean()
    edges = by_minute[(by_minute.index < 600) | (by_minute.index >= 930)].mean()
    midday = by_minute[(by_minute.index >= 690) & (by_minute.index < 840)].mean()
    assert edges > 2 * midday


# ------------------------------------------------------------------------------------ realism (60 x 300)


def test_estimated_betas_match_configured(market):
    universe, _, closes = market
    returns = np.log(closes).diff().iloc[1:]
    spy = returns["SPY"]
    betas = {s.symbol: s.beta for s in universe[1:]}
    est = returns[list(betas)].apply(lambda r: r.cov(spy) / spy.var())
    rank = lambda x: np.argsort(np.argsort(np.asarray(x)))  # noqa: E731
    spearman = np.corrcoef(rank(est), rank(list(betas.values())))[0, 1]
    assert spearman > 0.8


def test_scan_ranges_are_populated(market):
    _, daily, _ = market
    closes = daily.pivot(index="date", columns="symbol", values="close")
    volumes = daily.pivot(index="date", columns="symbol", values="volume")
    last = closes.iloc[-1]
    assert (last > 1000).any() and (last < 1).any()
    assert (last.between(100, 1000)).mean() > 0.2
    adv10 = volumes.iloc[-10:].mean()
    assert adv10.between(1e6, 1e7).mean() > 0.25
    std = np.log(closes).diff().std()
    assert std.between(0.01, 0.10).mean() > 0.6


# -------------------------------------------------------------------------------------- extended hours


def test_extended_hours_add_sparse_bars_outside_the_session():
    start, end = datetime.date(2024, 11, 27), EARLY_CLOSE
    regular = _frame(list(synth.synthesize(6, start, end, seed=5)))
    extended = _frame(list(synth.synthesize(6, start, end, seed=5, extended_hours=True)))
    minute = extended["ts"].dt.hour * 60 + extended["ts"].dt.minute
    assert (minute < 570).any() and (minute >= 960).any()
    assert minute.min() >= 240 and minute.max() < 1200
    assert not ((extended["date"] == EARLY_CLOSE) & (minute >= 1020)).any()  # after-hours end at 17:00
    assert (extended["low"] <= extended[["open", "close"]].min(axis=1)).all() and (extended["low"] > 0).all()
    assert (extended[["open", "close"]].max(axis=1) <= extended["high"]).all()
    assert (extended["volume"] >= 1).all()
    outside = extended[(minute < 570) | (minute >= 960)]
    assert len(outside) < 0.5 * len(regular)  # sparse
    for _, day in extended.groupby("date"):
        assert day.sort_values(["symbol", "ts"], kind="stable").index.equals(day.index)


# ------------------------------------------------------------------------------------------- smoke


def test_smoke_2000_symbols():
    (date, table), *_ = synth.synthesize(2000, datetime.date(2024, 7, 3), datetime.date(2024, 7, 3))
    assert date == datetime.date(2024, 7, 3) and table.schema.equals(SCHEMA)
    assert table.column("symbol").unique().to_pylist().__len__() == 2000
    assert 0.7 * 2000 * 210 < table.num_rows <= 2000 * 210
