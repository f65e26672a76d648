"""The statistics of docs/spec/backtest.md "Valuation and metrics", for the portfolio and for each symbol's
account, from accumulators that take one session at a time (memory does not grow with the range).

Daily returns enter :class:`ReturnMoments` (Welford's running mean and sum of squared deviations, and the
downside sum of squares), so a sharpe over 25 years needs no series. Every function works on vectors of
accounts: the portfolio is a vector of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Sessions in a year, for annualising (docs/spec/backtest.md).
ANNUAL_SESSIONS = 252
STAT_NAMES = ("total_return_pct", "cagr_pct", "sharpe", "sortino", "max_drawdown_pct", "calmar", "trades",
              "win_rate_pct", "profit_factor", "expectancy", "exposure_pct")


@dataclass
class ReturnMoments:
    """Running moments of daily returns r per account: count, mean, sum of squared deviations (Welford), the sum
    of min(r, 0)^2 and the number of negative returns."""

    accounts: int
    count: int = 0
    mean: np.ndarray = field(init=False)
    squares: np.ndarray = field(init=False)
    downside: np.ndarray = field(init=False)
    negatives: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.mean = np.zeros(self.accounts)
        self.squares = np.zeros(self.accounts)
        self.downside = np.zeros(self.accounts)
        self.negatives = np.zeros(self.accounts, dtype=np.int64)

    def add(self, returns: np.ndarray) -> None:
        """One session's return of every account."""
        self.count += 1
        delta = returns - self.mean
        self.mean = self.mean + delta / self.count
        self.squares = self.squares + delta * (returns - self.mean)
        below = np.minimum(returns, 0.0)
        self.downside = self.downside + below * below
        self.negatives = self.negatives + (returns < 0)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, defined: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(defined, numerator / np.where(defined, denominator, 1.0), np.nan)


def equity_stats(initial: np.ndarray, final: np.ndarray, moments: ReturnMoments,
                 max_drawdown: np.ndarray) -> dict[str, np.ndarray]:
    """total_return_pct, cagr_pct, sharpe, sortino, max_drawdown_pct and calmar per account (NaN: undefined)."""
    sessions = moments.count
    growth = final / initial
    cagr = 100.0 * (growth ** (ANNUAL_SESSIONS / sessions) - 1.0) if sessions else np.full_like(growth, np.nan)
    root = np.sqrt(ANNUAL_SESSIONS)
    std = np.sqrt(moments.squares / (sessions - 1)) if sessions > 1 else np.zeros_like(growth)
    sharpe = _ratio(moments.mean, std, (std > 0) & (sessions > 1)) * root
    downside = np.sqrt(moments.downside / max(sessions, 1))
    sortino = _ratio(moments.mean, downside, moments.negatives > 0) * root
    drawdown = 100.0 * max_drawdown
    return {"total_return_pct": 100.0 * (growth - 1.0), "cagr_pct": cagr, "sharpe": sharpe, "sortino": sortino,
            "max_drawdown_pct": drawdown, "calmar": _ratio(cagr, drawdown, drawdown > 0)}


def trade_stats(pnl: pd.Series, groups: pd.Series | None = None, index: pd.Index | None = None) -> pd.DataFrame:
    """trades, win_rate_pct, profit_factor and expectancy from trade pnl, overall (one row) or per group."""
    frame = pd.DataFrame({"pnl": pnl.to_numpy(dtype=np.float64),
                          "group": 0 if groups is None else groups.to_numpy()})
    frame["win"] = frame["pnl"] > 0
    frame["gain"] = frame["pnl"].clip(lower=0.0)
    frame["loss"] = (-frame["pnl"]).clip(lower=0.0)
    frame["losing"] = frame["pnl"] < 0
    grouped = frame.groupby("group").agg(trades=("pnl", "size"), wins=("win", "sum"), gain=("gain", "sum"),
                                         loss=("loss", "sum"), losing=("losing", "sum"), total=("pnl", "sum"))
    grouped = grouped.reindex(pd.Index([0]) if index is None else index, fill_value=0)
    trades = grouped["trades"].to_numpy(dtype=np.float64)
    return pd.DataFrame({
        "trades": trades,
        "win_rate_pct": _ratio(100.0 * grouped["wins"].to_numpy(dtype=np.float64), trades, trades > 0),
        "profit_factor": _ratio(grouped["gain"].to_numpy(dtype=np.float64),
                                grouped["loss"].to_numpy(dtype=np.float64), grouped["losing"].to_numpy() > 0),
        "expectancy": _ratio(grouped["total"].to_numpy(dtype=np.float64), trades, trades > 0)},
        index=grouped.index)


def exposure_pct(bars: np.ndarray, exposed: np.ndarray) -> np.ndarray:
    """100 * bars closed with a position open / bars in the range (NaN without bars)."""
    return _ratio(100.0 * exposed, bars, bars > 0)
