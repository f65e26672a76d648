"""vectorbt as a second, independent oracle for tapescan's trades (issue 14, "What it must show").

tapescan.simulate and vectorbt's Portfolio.from_signals (mapped as tests/peers/vectorbt_peer.py explains) run on the
same small random markets and signals: every trade must agree (entry and exit bars, prices, shares, fees, pnl,
return, relative 1e-9) except the trades of the two documented differences, which are worked out from the bars
and the spec's levels alone (`documented_difference`) and must differ in exactly the documented way: same entry,
same exit bar, vectorbt at the stop level where the spec fills at the open. Two hand-built markets show each
difference on its own, with the spec's numbers written out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tapescan
from tests.peers import require_peer
from tests.peers.peer_market import random_bars, random_signals
from tests.peers.vectorbt_peer import (
    TRADE_KEYS,
    TRADE_VALUES,
    Settings,
    documented_difference,
    run_vectorbt,
    vectorbt_trades,
)

require_peer("vectorbt")

RTOL = 1e-9
ATOL = 1e-9  # pnl of a trade that breaks even is 0 up to rounding
COSTS = {"slippage_pct": 0.05, "fee_pct": 0.1, "fee_per_order": 1.0}

CASES = {
    "long, stop loss and take profit": Settings(direction="long", stop_loss_pct=0.6, take_profit_pct=0.9, **COSTS),
    "long, trailing stop and take profit": Settings(direction="long", trailing_stop_pct=0.5, take_profit_pct=1.2,
                                                    **COSTS),
    "short, stop loss and take profit": Settings(direction="short", stop_loss_pct=0.6, take_profit_pct=0.9, **COSTS),
    "short, trailing stop": Settings(direction="short", trailing_stop_pct=0.5, **COSTS),
    "long, no stops": Settings(direction="long", **COSTS),
    # Reversals: vectorbt sends one order where the spec sends two, so no fee per order here (module docstring).
    "both, no stops": Settings(direction="both", slippage_pct=0.05, fee_pct=0.1),
}


def _simulate(bars: pd.DataFrame, signals: dict[str, np.ndarray], settings: Settings) -> pd.DataFrame:
    result = tapescan.simulate(bars, signals["long_entry"], signals["long_exit"], signals["short_entry"],
                               signals["short_exit"], **settings.tapescan())
    return result.trades


def _split(ours: pd.DataFrame, bars: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """tapescan's trades without and with a documented difference (the latter with its kind)."""
    kinds = [documented_difference(trade, bars, settings) for _, trade in ours.iterrows()]
    differs = np.array([kind is not None for kind in kinds], dtype=bool)
    different = ours[differs].assign(difference=[k for k in kinds if k is not None])
    return ours[~differs], different


def _assert_twins_agree(merged: pd.DataFrame, columns: list[str]) -> None:
    """Each column equals its vectorbt twin (suffix _vbt) in every merged row."""
    for column in columns:
        np.testing.assert_allclose(merged[column].to_numpy(np.float64), merged[f"{column}_vbt"].to_numpy(np.float64),
                                   rtol=RTOL, atol=ATOL, err_msg=column)


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame, bars: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Assert the agreement the module docstring states; the trades of documented differences are returned."""
    agreeing, different = _split(ours, bars, settings)
    both = agreeing.merge(theirs, on=TRADE_KEYS, how="outer", suffixes=("", "_vbt"), indicator=True)
    undocumented = both[both["_merge"] == "left_only"]
    extra = theirs.merge(agreeing[TRADE_KEYS], on=TRADE_KEYS, how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"].drop(columns="_merge")
    assert undocumented.empty, f"tapescan trades vectorbt does not have:\n{undocumented[TRADE_KEYS]}"
    # vectorbt's trades left over must be the documented differences: same entry, same exit bar, another price.
    paired = different.merge(extra, on=TRADE_KEYS, how="left", suffixes=("", "_vbt"), indicator="paired")
    assert (paired["paired"] == "both").all(), f"no vectorbt twin for:\n{paired[TRADE_KEYS + ['difference']]}"
    assert len(extra) == len(different), f"vectorbt trades tapescan does not have:\n{extra[TRADE_KEYS]}"
    _assert_twins_agree(paired, ["entry_price", "shares", "entry_fee"])
    assert (paired["exit_price"] != paired["exit_price_vbt"]).all(), "a documented difference that does not differ"
    _assert_twins_agree(both[both["_merge"] == "both"], TRADE_VALUES)
    return different


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize(("seed", "layout"), [(3, "time"), (17, "sequence")])
def test_tapescan_trades_agree_with_vectorbt_from_signals(name: str, seed: int, layout: str) -> None:
    """Random bars and signals; vectorbt on either layout of vectorbt_peer.widen (bar times, bar sequences)."""
    settings = CASES[name]
    bars = random_bars(seed)
    signals = random_signals(bars, seed + 1)
    ours = _simulate(bars, signals, settings)
    theirs = vectorbt_trades(*run_vectorbt(bars, **signals, settings=settings, layout=layout))
    assert len(ours) >= 20, "too few trades to compare anything"
    reasons = set(ours["exit_reason"])
    stops = {"stop_loss", "trailing_stop", "take_profit"}
    if any(getattr(settings, f"{kind}_pct") is not None for kind in stops):
        assert reasons & stops, f"no stop acted in {name}: the inputs do not exercise the stops"
    else:
        assert "signal" in reasons
    different = _compare(ours, theirs, bars, settings)
    if not (settings.stop_loss_pct or settings.trailing_stop_pct or settings.take_profit_pct):
        assert different.empty


# ------------------------------------------------------------------------------------------ the differences


def _hand_bars(rows: list[tuple[str, float, float, float, float]]) -> pd.DataFrame:
    """One symbol's bars from (ET start, open, high, low, close)."""
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close"])
    frame["ts"] = pd.to_datetime(frame["ts"]).dt.tz_localize("America/New_York")
    return frame.assign(symbol="AAA", volume=1_000)[["symbol", "ts", "open", "high", "low", "close", "volume"]]


def _hand_signals(bars: pd.DataFrame, entry_at: int, exit_at: int | None) -> dict[str, np.ndarray]:
    signals = {name: np.zeros(len(bars), dtype=bool) for name in ("long_entry", "long_exit", "short_entry",
                                                                  "short_exit")}
    signals["long_entry"][entry_at] = True
    if exit_at is not None:
        signals["long_exit"][exit_at] = True
    return signals


def test_difference_pending_signal_exit_and_a_stop_in_the_same_bar() -> None:
    """Entry signal at bar 0 fills at bar 1's open (100); exit signal at bar 1 is pending for bar 2, whose low
    (98.5) reaches the stop loss (99): the spec exits at bar 2's open (100, reason signal), vectorbt at 99."""
    bars = _hand_bars([("2024-03-07 09:30", 100.0, 100.2, 99.8, 100.0), ("2024-03-07 09:31", 100.0, 100.3, 99.9, 100.1),
                       ("2024-03-07 09:32", 100.0, 100.1, 98.5, 99.2), ("2024-03-07 09:33", 99.2, 99.4, 99.0, 99.3),
                       ("2024-03-07 09:34", 99.3, 99.5, 99.1, 99.4)])
    settings = Settings(direction="long", stop_loss_pct=1.0)
    signals = _hand_signals(bars, entry_at=0, exit_at=1)
    ours = _simulate(bars, signals, settings)
    theirs = vectorbt_trades(*run_vectorbt(bars, **signals, settings=settings))
    assert list(ours["exit_reason"]) == ["signal"]
    assert ours.loc[0, "entry_bar"] == theirs.loc[0, "entry_bar"] == bars["ts"][1]
    assert ours.loc[0, "exit_bar"] == theirs.loc[0, "exit_bar"] == bars["ts"][2]
    assert ours.loc[0, "exit_price"] == 100.0 and theirs.loc[0, "exit_price"] == pytest.approx(99.0, rel=RTOL)
    assert documented_difference(ours.iloc[0], bars, settings) == "pending signal exit and a stop inside the same bar"


def test_difference_gap_through_take_profit_with_the_stop_loss_inside_the_bar() -> None:
    """Entry at bar 1's open (100), held overnight; the next session opens at 101.5, beyond the take profit (101),
    and its first bar's low (98.8) reaches the stop loss (99): the spec exits at the open (101.5, take_profit),
    vectorbt at the stop loss (99)."""
    bars = _hand_bars([("2024-03-07 09:30", 100.0, 100.2, 99.8, 100.0), ("2024-03-07 09:31", 100.0, 100.3, 99.9, 100.1),
                       ("2024-03-08 09:30", 101.5, 101.6, 98.8, 99.5), ("2024-03-08 09:31", 99.5, 99.7, 99.3, 99.6),
                       ("2024-03-08 09:32", 99.6, 99.8, 99.4, 99.7)])
    settings = Settings(direction="long", stop_loss_pct=1.0, take_profit_pct=1.0)
    signals = _hand_signals(bars, entry_at=0, exit_at=None)
    ours = _simulate(bars, signals, settings)
    theirs = vectorbt_trades(*run_vectorbt(bars, **signals, settings=settings))
    assert list(ours["exit_reason"]) == ["take_profit"]
    assert ours.loc[0, "exit_bar"] == theirs.loc[0, "exit_bar"] == bars["ts"][2]
    assert ours.loc[0, "exit_price"] == 101.5 and theirs.loc[0, "exit_price"] == pytest.approx(99.0, rel=RTOL)
    assert documented_difference(ours.iloc[0], bars, settings) == (
        "gap through take profit and stop loss inside the same bar")
