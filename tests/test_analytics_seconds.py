"""1-minute bars from 1-second bars against the oracle written from docs/spec/metrics.md "Derived bars" (k counted
in seconds): buckets aligned to the open, the last minute ending at an early close, seconds outside the
regular session and on a holiday left out, gaps, zero volume and constant prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapescan.analytics import seconds as seconds_module
from tapescan.analytics.seconds import minute_bars_from_seconds
from tapescan.errors import TapescanError
from tests import oracles

# A regular session, the 2024-11-29 early close (13:00) and the Thanksgiving holiday before it.
DAYS = {"2024-03-08": "16:00", "2024-11-29": "13:00", "2024-11-28": "16:00"}


@st.composite
def second_bars(draw) -> pd.DataFrame:
    """1-second bars of a few symbols in a stretch of up to 400 s that may straddle the open or the close."""
    day, close = draw(st.sampled_from(sorted(DAYS.items())))
    session_open = pd.Timestamp(f"{day} 09:30", tz="America/New_York")
    anchors = [session_open - pd.Timedelta(seconds=90), session_open + pd.Timedelta(seconds=3_000),
               pd.Timestamp(f"{day} {close}", tz="America/New_York") - pd.Timedelta(seconds=200)]
    anchor = draw(st.sampled_from(anchors))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frames = []
    for i in range(draw(st.integers(1, 4))):
        offsets = np.sort(rng.choice(400, size=int(rng.integers(1, 120)), replace=False))
        base = float(rng.choice([1.0, 42.5]))
        constant = rng.random() < 0.25
        close_ = base if constant else np.round(base * np.exp(np.cumsum(rng.normal(0, 0.001, len(offsets)))), 4)
        open_ = close_ if constant else np.round(close_ * np.exp(rng.normal(0, 0.0005, len(offsets))), 4)
        spread = 0.0 if constant else np.round(rng.random(len(offsets)) * 0.05, 4)
        frames.append(pd.DataFrame({
            "symbol": f"S{i}", "ts": anchor + pd.to_timedelta(offsets, unit="s"),
            "open": open_, "high": np.maximum(open_, close_) + spread, "low": np.minimum(open_, close_) - spread,
            "close": close_, "volume": np.where(rng.random(len(offsets)) < 0.2, 0, rng.integers(1, 500, len(offsets))),
        }))
    return pd.concat(frames, ignore_index=True).sample(frac=1, random_state=1)  # rows in any order


def assert_equals_oracle(got: pd.DataFrame, bars: pd.DataFrame) -> None:
    expected = oracles.derived_bars(bars, pd.Timedelta(seconds=60)).sort_values(["symbol", "ts"], ignore_index=True)
    assert len(got) == len(expected)
    if len(expected):
        pd.testing.assert_frame_equal(got.astype(expected.dtypes.to_dict()), expected, check_exact=True)


@settings(max_examples=30, deadline=None)
@given(bars=second_bars())
def test_minute_bars_from_seconds_equal_the_oracle(bars):
    assert_equals_oracle(minute_bars_from_seconds(bars, backend="cpu"), bars)


def test_batches_of_symbols_give_the_same_bars(monkeypatch):
    day = pd.Timestamp("2024-03-08 09:30", tz="America/New_York")
    bars = pd.DataFrame({
        "symbol": np.repeat([f"S{i}" for i in range(5)], 90),
        "ts": np.tile(day + pd.to_timedelta(np.arange(0, 180, 2), unit="s"), 5),
        "open": 10.0, "high": 10.5, "low": 9.5, "close": 10.25, "volume": np.arange(450) % 7,
    })
    monkeypatch.setattr(seconds_module, "SYMBOL_BATCH", 2)
    got = minute_bars_from_seconds(bars, backend="cpu")
    assert len(got) == 15 and list(got["volume"][:3]) == [int((np.arange(90) % 7)[i * 30 : i * 30 + 30].sum())
                                                          for i in range(3)]
    assert_equals_oracle(got, bars)


def test_the_last_minute_of_an_early_close_ends_at_13_00():
    ts = pd.Timestamp("2024-11-29 12:59:30", tz="America/New_York") + pd.to_timedelta([0, 29, 30, 31], unit="s")
    bars = pd.DataFrame({"symbol": "A", "ts": ts, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 5})
    got = minute_bars_from_seconds(bars, backend="cpu")
    assert list(got["ts"].dt.strftime("%H:%M")) == ["12:59"] and list(got["volume"]) == [10]


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.drop(columns="volume"), "missing column"),
    (lambda f: f.assign(ts=f["ts"].dt.tz_localize(None)), "time-zone aware"),
    (lambda f: f.assign(ts=f["ts"] + pd.Timedelta(milliseconds=500)), "row 0 .* not on a whole second"),
    (lambda f: pd.concat([f, f.iloc[[1]]], ignore_index=True), "row 3 .* repeats"),
    (lambda f: f.assign(close=[1.0, np.nan, 1.0]), "row 1 .* non-positive price"),
    (lambda f: f.assign(volume=[1.0, 2.0, -1.0]), "row 2 .* negative volume"),
])
def test_bad_second_bars_are_refused_naming_the_column_or_row(change, message):
    ts = pd.Timestamp("2024-03-08 10:00", tz="America/New_York") + pd.to_timedelta([0, 1, 2], unit="s")
    bars = pd.DataFrame({"symbol": "A", "ts": ts, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 5})
    with pytest.raises(TapescanError, match=message):
        minute_bars_from_seconds(change(bars), backend="cpu")
